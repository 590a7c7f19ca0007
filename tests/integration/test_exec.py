"""The exec probe: exit codes, output checks, environment, timeouts that kill the whole
process group (even one that ignores SIGTERM), missing programs, floods that cannot hold the
loop, and no zombies or descriptor growth under many probes."""
import json
import os
import re
import tempfile
import time
import uuid
from lib import *


def run_exec(*opts, timeout="5s"):
    return probe("exec", "job", "--timeout", timeout, *opts)


def test_success_failure_and_output():
    rc, res = run_exec("--command", '["sh", "-c", "echo ready; exit 0"]',
                       "--expect", '{"contains": "ready"}')
    eq(rc, 0, f"{res}")
    rc, res = run_exec("--command", '["sh", "-c", "echo bad disk >&2; exit 3"]')
    eq((rc, res["reason"]), (1, "exec"), f"{res}")
    eq(res["detail"], 'exit 3; output ends "bad disk|"', "detail")
    rc, res = run_exec("--command", '["sh", "-c", "exit 3"]', "--success_exit_codes", "[0, 3]")
    eq(rc, 0, f"{res}")
    rc, res = run_exec("--command", '["sh", "-c", "echo $GREETING; pwd"]',
                       "--env", '{"GREETING": "hej"}', "--cwd", "/tmp",
                       "--expect", '{"regex": "^hej\\\\n/tmp$"}')
    eq(rc, 0, f"{res}")
    rc, res = run_exec("--command", '["sh", "-c", "echo nope"]', "--expect", '{"regex": "^yes"}')
    eq(res["reason"], "expect", f"{res}")
    # a signal is told apart from an exit code of 128 + that signal
    selfkill = write("#!/bin/sh\nkill -KILL $$\n", ".sh")
    os.chmod(selfkill, 0o755)
    rc, res = run_exec("--command", json.dumps([selfkill]))
    eq(res["detail"], 'killed by signal 9; output ends ""', f"{res}")
    rc, res = run_exec("--command", '["sh", "-c", "exit 137"]')
    eq(res["detail"], 'exit 137; output ends ""', f"{res}")
    # the program is looked for in the PATH the command gets, as env(1) would
    bindir = tempfile.mkdtemp(prefix="outpost-bin-")
    with open(f"{bindir}/outpost-only-here", "w") as f:
        f.write("#!/bin/sh\necho found\n")
    os.chmod(f"{bindir}/outpost-only-here", 0o755)
    rc, res = run_exec("--command", '["outpost-only-here"]',
                       "--env", json.dumps({"PATH": f"/usr/bin:{bindir}:/bin"}))
    eq((rc, res["detail"]), (0, "exit 0, 6 bytes of output"), f"{res}")


def test_cli_dash_dash_form():
    r = outpost("probe", "exec", "--timeout", "3s", "--", "sh", "-c", "echo via-cli; exit 4")
    eq(r.returncode, 1, r.stderr)
    res = json.loads(r.stdout)
    eq((res["target"], res["detail"]), ("sh", 'exit 4; output ends "via-cli|"'), "result")
    eq(res["output"], "via-cli\n", "the output, as run --dry-run shows it")
    # whatever bytes a command writes, the result is JSON: a NUL, a stray byte, an escape
    r = outpost("probe", "exec", "--", "printf", "a\\000b\\377c\\033[0m caf\u00e9\\n")
    res = json.loads(r.stdout)
    eq(res["output"], "a\x00b\ufffdc\x1b[0m caf\u00e9\n", "output")


def test_dry_run_and_disabled():
    path = write({"probes": [
        {"name": "ok", "kind": "exec", "target": "t", "command": ["sh", "-c", "echo fine"],
         "service": "backup", "groups": ["nightly", "storage"]},
        {"name": "bad", "kind": "exec", "target": "t", "command": ["false"]},
        {"name": "off", "kind": "exec", "target": "t", "command": ["false"], "disabled": True}]})
    r = outpost("run", "--dry-run", "-c", path)
    eq(r.returncode, 1, "one failed")
    rows = {x["probe"]: x for x in map(json.loads, r.stdout.splitlines())}
    eq(sorted(rows), ["bad", "ok"], "the enabled probes ran once")
    eq((rows["ok"]["success"], rows["bad"]["success"]), (True, False), "results")
    ev = rows["ok"]["event"]
    eq((ev["service"], ev["groups"], ev["succeeded"]), ("backup", ["nightly", "storage"], True),
       "the SLA event")
    assert ev["timestamp"].isdigit() and float(ev["testExecutionSecs"]) >= 0, ev
    eq((rows["bad"]["event"]["service"], rows["bad"]["event"]["groups"]), ("bad", []),
       "defaults: the name, no groups")
    assert "off is disabled" in r.stderr, r.stderr
    path = write({"probes": [{"name": "ok", "kind": "exec", "target": "t", "command": ["true"]}]})
    eq(outpost("run", "--dry-run", "-c", path).returncode, 0, "all succeeded")


def test_missing_program():
    rc, res = run_exec("--command", '["no-such-program-outpost"]')
    eq(res["detail"], "no-such-program-outpost: no such program", "detail")
    # each reason a command cannot start is told apart (a missing cwd read as a missing
    # program, and a script without "#!" as an i/o error)
    rc, res = run_exec("--command", '["true"]', "--cwd", "/no-such-dir-outpost")
    eq(res["detail"], "cwd /no-such-dir-outpost: no such directory", "detail")
    script = write("echo hi\n", ".sh")
    for mode, why in ((0o755, "not an executable (a script needs a #! line)"),
                      (0o644, "permission denied (not executable?)")):
        os.chmod(script, mode)
        rc, res = run_exec("--command", json.dumps([script]))
        eq(res["detail"], f"{script}: {why}", "detail")


def alive(marker):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        return True
            except OSError:
                pass
    return False


def test_timeout_kills_the_group_even_if_it_ignores_sigterm():
    marker = "outpost-test-" + uuid.uuid4().hex[:8]
    t0 = time.monotonic()
    rc, res = run_exec("--command",
                       f'["sh", "-c", "trap \\"\\" TERM; sleep 30 & sleep 31; : {marker}"]',
                       timeout="700ms")
    eq(res["reason"], "timeout", f"{res}")
    assert time.monotonic() - t0 < 5
    wait_for(lambda: not alive(marker), 5, "the command and its children gone")


def test_a_run_ends_when_the_command_exits_and_takes_what_it_left_with_it():
    # a child in the background that holds the output open: the run ends with the command
    # (not at the timeout), with all it wrote, and the child does not outlive it
    held, loose = ("outpost-test-" + uuid.uuid4().hex[:8] for _ in range(2))
    t0 = time.monotonic()
    rc, res = run_exec("--command", f'["sh", "-c", "echo one; sh -c \'sleep 30\' {held} & echo two"]',
                       timeout="5s")
    eq((rc, res["detail"]), (0, "exit 0, 8 bytes of output"), f"{res}")
    assert res["duration_ms"] < 1000 and time.monotonic() - t0 < 4, res
    wait_for(lambda: not alive(held), 3, "the child that held the output gone")
    # one that let go of the output is not left running either
    rc, res = run_exec("--command", f'["sh", "-c", "sh -c \'sleep 30\' {loose} >/dev/null 2>&1 & exit 2"]')
    eq(res["detail"], 'exit 2; output ends ""', f"{res}")
    wait_for(lambda: not alive(loose), 3, "the child that let go of the output gone")
    # one that closes its output and runs on is waited for
    rc, res = run_exec("--command", '["sh", "-c", "echo bye; exec >&- 2>&-; sleep 0.4"]')
    eq((rc, res["detail"]), (0, "exit 0, 4 bytes of output"), f"{res}")
    assert 400 <= res["duration_ms"] < 1500, res


def test_flood_is_bounded_and_the_loop_stays_responsive():
    _, mport = start_tool("mockhttp")
    app = Appliance({"probes": [
        {"name": "flood", "kind": "exec", "target": "yes", "interval": "3s", "timeout": "2s",
         "command": ["sh", "-c", "yes outpost-flood"], "max_output": 1000},
        {"name": "web", "kind": "http", "target": f"http://127.0.0.1:{mport}/bytes/10",
         "interval": "200ms", "timeout": "150ms"}]})
    wait_for(lambda: metric(app.metrics(), "probe_success", probe="flood") is not None, 8,
             "the flood's first run to end")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="flood"), 0, "flood timed out")
    eq(metric(m, "outpost_probe_runs_total", probe="flood", result="timeout"), 1, "timeout")
    # the http probe kept its 200 ms cadence while the flood ran
    assert metric(m, "outpost_probe_runs_total", probe="web", result="success") >= 9
    eq(metric(m, "outpost_probe_skipped_total", probe="web"), 0, "no skips")
    eq(app.get("/healthz")[0], 200, "healthz")
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations")
    s, body = app.get("/api/v1/probes/flood/results?limit=1")
    ev = json.loads(body)["results"][0]["event"]
    eq((ev["service"], ev["succeeded"]), ("flood", False), "event in the results API")
    app.stop()


def test_graceful_stop_waits_for_running_commands():
    import signal
    for grace, finished, interrupted in (("10s", 1, 0), ("300ms", 0, 1)):
        app = Appliance({"shutdown_grace": grace, "probes": [
            {"name": "job", "kind": "exec", "target": "job", "interval": "10s", "timeout": "9s",
             "command": ["sh", "-c", "sleep 1.5; echo done"]}]})
        wait_for(lambda: metric(app.metrics(), "outpost_probes_inflight") == 1, 5, "running")
        t0 = time.monotonic()
        app.signal(signal.SIGTERM)
        out, err = app.p.communicate(timeout=15)
        took = time.monotonic() - t0
        eq(app.p.returncode, 0, "exit")
        runs = "1 run" if finished == 1 else f"{finished} runs"
        assert f"{runs} finished in the grace period, {interrupted} interrupted" in err, err
        if finished:
            assert 0.3 < took < 5, took   # waited for the command
        else:
            assert took < 1.5, took       # cut at the grace


def test_an_interrupted_runs_output_is_kept_as_no_verdict():
    """A stop (or a reload) that cuts a job keeps its output, under a name that says so: an
    interrupted run is no verdict anywhere else, and whatever reads the names (an SLA runner's
    collector counts _FAILURE) must not count the upgrade of the box as the job failing."""
    import signal
    logs = tempfile.mkdtemp(prefix="outpost-logs-")
    cfg = {"shutdown_grace": "300ms", "logs": {"dir": logs}, "probes": [
        {"name": "job", "kind": "exec", "target": "job", "interval": "1h", "timeout": "50s",
         "command": ["sh", "-c", "echo started; sleep 30"]}]}
    app = Appliance(cfg)
    wait_for(lambda: metric(app.metrics(), "outpost_probes_inflight") == 1, 5, "running")
    time.sleep(0.3)  # it has written its first line
    app.signal(signal.SIGTERM)
    _, err = app.p.communicate(timeout=15)
    assert "0 runs finished in the grace period, 1 interrupted" in err, err
    on_disk = os.listdir(os.path.join(logs, "job"))
    assert len(on_disk) == 1 and re.fullmatch(r"\d{10}_INTERRUPTED", on_disk[0]), on_disk
    with open(os.path.join(logs, "job", on_disk[0])) as f:
        eq(f.read(), "started\n", "its output")
    cfg["probes"][0]["disabled"] = True
    app = Appliance(cfg)  # found again after the restart, and listed as no verdict
    listed = json.loads(app.get("/api/v1/probes/job/logs")[1])["logs"]
    eq([(o["object"], o["succeeded"]) for o in listed], [(f"job/{on_disk[0]}", None)], "listed")
    app.stop()


def test_a_full_disk_keeps_the_newest_log_objects():
    """The log store's medium fills before logs.max_bytes: the oldest objects go to make room,
    as at max_bytes, and each new run's output is still kept (before, none was, and every run
    said so on stderr)."""
    import subprocess
    d = tempfile.mkdtemp(prefix="outpost-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], check=True)
    try:
        cfg = {"logs": {"dir": f"{d}/logs", "max_bytes": 1 << 20}, "probes": [
            {"name": "report", "kind": "exec", "target": "report", "interval": "200ms",
             "timeout": "190ms", "command": ["sh", "-c", "printf 'line %07999d' $$"]}]}
        app = Appliance(cfg)
        wait_for(lambda: (metric(app.metrics(), "outpost_logs_deleted_total") or 0) >= 3, 20,
                 "the oldest objects deleted for room")
        time.sleep(1)
        listed = json.loads(app.get("/api/v1/probes/report/logs")[1])["logs"]
        newest = json.loads(app.get("/api/v1/probes/report/results?limit=1")[1])["results"][0]
        on_disk = os.listdir(f"{d}/logs/report")
        eq(sorted(o["object"].split("/")[1] for o in listed), sorted(on_disk), "index and disk")
        # the newest run's output is there (names carry the run's second)
        second = int(time.mktime(time.strptime(newest["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
                     - time.timezone)
        assert any(f.startswith(str(second)) or f.startswith(str(second - 1))
                   for f in on_disk), (second, on_disk)
        _, err = app.stop()
        assert err.count("cannot write") <= 1, err
    finally:
        subprocess.run(["umount", "-l", d])


def test_log_store_keeps_bounded_objects_across_restarts():
    logs = tempfile.mkdtemp()
    cfg = {"logs": {"dir": logs, "max_bytes": 4096, "max_objects": 50}, "probes": [
        {"name": "report", "kind": "exec", "target": "report", "service": "nightly-report",
         "interval": "1s", "timeout": "900ms",
         "command": ["sh", "-c", "printf 'line %0999d' 7; test $(( $(date +%s) % 3 )) -ne 0"]}]}
    app = Appliance(cfg)
    wait_for(lambda: (metric(app.metrics(), "outpost_logs_deleted_total") or 0) >= 2, 15,
             "rotation")
    m = app.metrics()
    on_disk = sorted(os.listdir(os.path.join(logs, "nightly-report")))
    listed = json.loads(app.get("/api/v1/probes/report/logs")[1])["logs"]
    print(f"# exec: log store {int(metric(m, 'outpost_logs_bytes'))} bytes in "
          f"{len(on_disk)} objects, {int(metric(m, 'outpost_logs_deleted_total'))} deleted")
    assert metric(m, "outpost_logs_bytes") <= 4096, m["outpost_logs_bytes"]
    assert 2 <= len(on_disk) <= 4, on_disk  # 1004-byte outputs in 4096 bytes
    eq(sorted(o["object"].split("/")[1] for o in listed), on_disk, "index and disk agree")
    assert all(re.fullmatch(r"\d{10}_(SUCCESS|FAILURE)", f) for f in on_disk), on_disk
    newest = listed[0]
    status, body = app.get(newest["url"])
    eq((status, len(body)), (200, 1004), "the object")
    assert body.startswith("line 000"), body[:20]
    eq(app.get("/logs/nightly-report/../../etc/passwd")[0], 404, "nothing outside the store")
    app.stop()
    app = Appliance(cfg)  # the objects are found again
    listed2 = json.loads(app.get("/api/v1/probes/report/logs")[1])["logs"]
    assert newest["object"] in {o["object"] for o in listed2}, (listed, listed2)
    app.stop()
    # restarted with room for fewer objects than the disk holds: the newest stays, the rest
    # are deleted at start-up (not left on the disk unindexed)
    before = sorted(os.listdir(os.path.join(logs, "nightly-report")))
    assert len(before) >= 2, before
    cfg["logs"].update(max_bytes=1 << 20, max_objects=1)
    cfg["probes"][0]["disabled"] = True
    app = Appliance(cfg)
    listed3 = json.loads(app.get("/api/v1/probes/report/logs")[1])["logs"]
    eq(([o["object"] for o in listed3], os.listdir(os.path.join(logs, "nightly-report"))),
       ([f"nightly-report/{before[-1]}"], [before[-1]]), "the newest, alone")
    eq(metric(app.metrics(), "outpost_logs_deleted_total"), len(before) - 1, "deleted")
    app.stop()
    # and a new run's object replaces it
    cfg["probes"][0]["disabled"] = False
    app = Appliance(cfg)
    wait_for(lambda: (metric(app.metrics(), "outpost_logs_deleted_total") or 0) >= 1, 5,
             "a run's object replacing it")
    after = os.listdir(os.path.join(logs, "nightly-report"))
    eq(len(after), 1, "one object")
    assert after[0] > before[-1], (before, after)
    app.stop()


def test_delay_waits_after_each_run_ends():
    app = Appliance({"probes": [
        {"name": "job", "kind": "exec", "target": "job", "delay": "500ms", "timeout": "5s",
         "command": ["sh", "-c", "sleep 0.3"]}]})
    wait_for(lambda: len(json.loads(app.get("/api/v1/probes/job/results")[1])["results"]) >= 4,
             10, "four runs")
    res = json.loads(app.get("/api/v1/probes/job/results")[1])["results"][::-1]
    import datetime
    t = [datetime.datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp()
         for r in res]
    gaps = [b - a for a, b in zip(t, t[1:])]
    # each run takes 0.3 s and the next starts 0.5 s after it ends
    assert all(0.78 <= g <= 1.0 for g in gaps), gaps
    bad = write({"probes": [{"name": "x", "kind": "exec", "target": "x", "command": ["true"],
                             "interval": "1s", "delay": "1s"}]})
    r = outpost("check-config", bad)
    assert r.returncode == 2 and "not both" in r.stderr, r.stderr


def test_many_commands_no_zombies_no_fd_growth():
    app = Appliance({"limits": {"max_probes": 50, "max_inflight": 50}, "probes": [
        {"name": f"e{i}", "kind": "exec", "target": "true", "interval": "500ms",
         "timeout": "400ms", "command": ["sh", "-c", "echo ok" if i % 5 else "sleep 5"]}
        for i in range(50)]})
    pid = app.p.pid
    time.sleep(2)
    fds0 = len(os.listdir(f"/proc/{pid}/fd"))
    time.sleep(6)
    fds1 = len(os.listdir(f"/proc/{pid}/fd"))
    seen = []
    for _ in range(10):
        seen.append(zombies_of(pid))
        time.sleep(0.1)
    m = app.metrics()
    runs = sum(v for lab, v in m["outpost_probe_runs_total"])
    print(f"# exec: 50 probes at 500 ms for 8 s: {int(runs)} runs, descriptors {fds0} -> {fds1}, "
          f"zombies seen {seen}, lag p99 {metric(m, 'outpost_sched_lag_seconds', quantile='0.99') * 1e3:.2f} ms")
    assert runs >= 500, runs
    # a finished run's zombie lives until the next reap pass (2 ms), a stopped one's until
    # its SIGCHLD reaches the loop: a few at a moment, never a growing number
    assert max(seen) <= 5, seen
    assert abs(fds1 - fds0) <= 12, (fds0, fds1)
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations")
    rc, _ = app.stop()
    eq(rc, 0, "exit")
    wait_for(lambda: not alive("sleep 5"), 5, "stopped commands reaped at exit")


run(globals())
