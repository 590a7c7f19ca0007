"""outpost run: the appliance with its web server: /healthz, /metrics (checked by promtool),
reload on SIGHUP (good and bad configs), clean stop, and the embedded default config."""
import json
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from lib import *


def config(tcp_port, dns_port, closed_port):
    return {
        "appliance": {"name": "edge-01", "region": "ap-south-1", "labels": {"site": "lab"}},
        "limits": {"max_probes": 8, "max_inflight": 4, "history": 10},
        "probes": [
            {"name": "up", "kind": "tcp", "target": f"127.0.0.1:{tcp_port}",
             "interval": "500ms", "timeout": "400ms"},
            {"name": "down", "kind": "tcp", "target": f"127.0.0.1:{closed_port}",
             "interval": "500ms", "timeout": "400ms"},
            {"name": "dns", "kind": "dns", "target": "svc.test", "server": f"127.0.0.1:{dns_port}",
             "expect": {"answer_contains": "10.9.8.7"}, "interval": "500ms", "timeout": "400ms"},
        ],
    }


def ran(app, probe, n=1):
    def ok():
        m = app.metrics()
        total = sum(v for lab, v in m.get("outpost_probe_runs_total", []) if lab["probe"] == probe)
        return total >= n
    return ok


def test_metrics_and_healthz():
    _, tport = start_tool("mocktcp")
    _, dport = start_tool("mockdns", "svc.test:A:10.9.8.7")
    app = Appliance(config(tport, dport, free_port()))
    for p in ("up", "down", "dns"):
        wait_for(ran(app, p, 2), 10, f"two runs of {p}")
    status, body = app.get("/healthz")
    eq(status, 200, "healthz")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="up", kind="tcp", appliance="edge-01",
              region="ap-south-1", site="lab"), 1, "up")
    eq(metric(m, "probe_success", probe="down"), 0, "down")
    eq(metric(m, "probe_success", probe="dns", kind="dns"), 1, "dns")
    assert metric(m, "probe_dns_lookup_time_seconds", probe="dns") > 0
    assert metric(m, "outpost_probe_runs_total", probe="down", result="refused") >= 2
    eq(metric(m, "outpost_probe_runs_total", probe="up", result="success"),
       metric(m, "outpost_probe_duration_seconds_count", probe="up"), "histogram count")
    eq(metric(m, "outpost_pool_max", pool="probes"), 8, "probe pool size")
    eq(metric(m, "outpost_pool_max", pool="runs"), 4, "run pool size")
    assert metric(m, "outpost_history_bytes") > 8 * 10 * 100, "history reserved"
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations")
    assert metric(m, "outpost_build_info") == 1
    # the page shows every probe and the failure reason
    status, page = app.get("/")
    eq(status, 200, "index")
    assert "connection refused" in page and ">up<" in page and ">down<" in page, page[:500]
    # Prometheus' own linter accepts the exposition
    text = app.get("/metrics")[1]
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    eq(r.returncode, 0, f"promtool: {r.stdout}{r.stderr}")
    rc, err = app.stop()
    eq(rc, 0, f"exit status, stderr: {err}")
    assert "stopping" in err



def test_the_longest_labels_keep_the_exposition_valid():
    """Eight appliance labels of the longest names and values the config takes, every
    character a quote (escaped: doubled), a target of 255 characters: no series line is cut."""
    labels = {f"k{i}_" + "x" * 59: '"' * 62 for i in range(8)}
    target = ".".join(["h" * 61] * 3 + ["h" * 63]) + ":65000"  # labels a DNS name can have
    app = Appliance({"appliance": {"name": "a" * 63, "region": "r" * 63, "labels": labels},
                     "probes": [{"name": "p" * 63, "kind": "tcp", "target": target,
                                 "interval": "1s"}]})
    wait_for(lambda: metric(app.metrics(), "probe_success") is not None, 10, "a result")
    text = app.get("/metrics")[1]
    promtool_check(text)  # a cut label broke every line here before (invalid escape '\\}')
    eq(metric(parse_metrics(text), "probe_success", **{next(iter(labels)): '"' * 62}), 0,
       "the labels whole")
    app.stop()

def test_reload_good_and_bad():
    _, tport = start_tool("mocktcp")
    _, dport = start_tool("mockdns", "svc.test:A:10.9.8.7")
    cfg = config(tport, dport, free_port())
    app = Appliance(cfg)
    wait_for(ran(app, "up"), 10, "first run")
    # a good new config: a probe added
    cfg["probes"].append({"name": "added", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                          "interval": "500ms", "timeout": "400ms"})
    wait_for(lambda: metric(app.metrics(), "outpost_runs_started_total") >= 20, 10, "20 runs")
    m = app.metrics()
    before = metric(m, "outpost_probe_runs_total", probe="up", result="success")
    started = metric(m, "outpost_runs_started_total")
    lag = metric(m, "outpost_sched_lag_seconds_count")
    app.reload(cfg)
    wait_for(ran(app, "added"), 10, "the added probe's first run")
    # an unchanged probe keeps its counters across the reload, and the appliance its own
    m = app.metrics()
    assert metric(m, "outpost_probe_runs_total", probe="up", result="success") >= before
    assert metric(m, "outpost_runs_started_total") >= started, (started, m)
    assert metric(m, "outpost_sched_lag_seconds_count") >= lag, (lag, m)
    eq(metric(app.metrics(), "outpost_config_reloads_total", result="success"), 1, "reloads")
    # a broken config is refused; the running one goes on
    with open(app.path, "w") as f:
        f.write('{"probes": [{"name": "x", "kind": "tcp", "target": "h:1", "intervall": "1s"}]}')
    app.signal(signal.SIGHUP)
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="failure") == 1,
             10, "failed reload counted")
    before = metric(app.metrics(), "outpost_probe_runs_total", probe="added", result="success")
    wait_for(lambda: metric(app.metrics(), "outpost_probe_runs_total", probe="added",
                            result="success") > before, 10, "old config still running")
    # a config that parses but names a CA file that does not load is refused too, once the
    # engine tries it: the running config goes on with its counters
    bad_ca = write("not a certificate\n", ".pem")
    broken = json.loads(json.dumps(cfg))
    broken["probes"].append({"name": "tls", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                             "tls": {"ca_file": bad_ca}})
    write_to(app.path, broken)
    before = metric(app.metrics(), "outpost_probe_runs_total", probe="added", result="success")
    app.signal(signal.SIGHUP)
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="failure") == 2,
             10, "the second failed reload counted")
    wait_for(lambda: metric(app.metrics(), "outpost_probe_runs_total", probe="added",
                            result="success") > before, 10, "old config still running")
    assert metric(app.metrics(), "outpost_probe_runs_total", probe="tls") is None
    rc, err = app.stop()
    eq(rc, 0, "exit")
    assert "reload refused" in err and "did you mean \"interval\"" in err, err
    assert (f"reload refused, keeping the running config: tls: CA file {bad_ca} holds no PEM "
            "or DER certificate") in err, err


def test_a_reload_lets_runs_in_progress_finish():
    """Runs in progress at a reload finish under the config they started with and are recorded
    as ever; one still running after the reload's wait (5 s) is interrupted, which counts
    neither for nor against its probe (before, every run in progress failed as `interrupted`
    at each reload, in the history, the objectives, the alarms and the exports). Each keeps its
    schedule (before, every probe ran again at every reload, whatever its interval)."""
    _, mport = start_tool("mockhttp")
    cfg = {"probes": [
        {"name": "job", "kind": "exec", "target": "job", "interval": "1h", "timeout": "9s",
         "command": ["sh", "-c", "sleep 4; echo done"]},
        {"name": "web", "kind": "http", "target": f"http://127.0.0.1:{mport}/delay/4000",
         "interval": "1h", "timeout": "6s"},
        {"name": "long", "kind": "exec", "target": "long", "interval": "1h", "timeout": "50s",
         "command": ["sleep", "40"]}]}
    app = Appliance(cfg)
    # first runs start within 3 s (spread), each of these lasts 4 s or more
    wait_for(lambda: metric(app.metrics(), "outpost_probes_inflight") == 3, 8, "three running")
    t0 = time.monotonic()
    app.reload(cfg)
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="success") == 1,
             10, "the reload")
    took = time.monotonic() - t0
    assert 4.5 < took < 8, f"the reload waited {took:.1f} s for the long run, not 5"
    m = app.metrics()
    for name in ("job", "web"):
        eq((metric(m, "outpost_probe_runs_total", probe=name, result="success"),
            metric(m, "outpost_probe_runs_total", probe=name, result="interrupted")), (1, None),
           f"{name}: finished, not interrupted")
    eq(metric(m, "outpost_probe_runs_total", probe="long", result="interrupted"), 1,
       "the long run interrupted, and counted so")
    eq(metric(m, "probe_success", probe="long"), None, "no verdict on the long run's target")
    s, body = app.get("/api/v1/probes/long/results")
    eq(json.loads(body)["results"], [], "nothing in the long run's history")
    # an unchanged probe keeps its schedule: these hourly ones do not run again for the reload
    time.sleep(2)
    m = app.metrics()
    eq((metric(m, "outpost_probes_inflight"), metric(m, "outpost_runs_started_total")), (0, 3),
       "no run started since the reload")
    rc, err = app.stop()
    eq(rc, 0, "exit")


def test_reload_moves_the_web_server_or_keeps_it():
    """A reload with another listen address moves the dashboard there; one whose address is
    taken keeps it where it was (the API and /metrics stay up) and says so; the next reload
    tries the new address again."""
    _, tport = start_tool("mocktcp")
    cfg = {"probes": [{"name": "up", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                       "interval": "500ms", "timeout": "400ms"}]}
    app = Appliance(cfg)
    old = app.port

    def reload_to(port):
        cfg["web"]["listen"] = f"127.0.0.1:{port}"
        write_to(app.path, cfg)
        app.signal(signal.SIGHUP)
    new = free_port()
    reload_to(new)
    app.port = new
    wait_for(lambda: app.get("/healthz")[0] == 200, 10, "serving at the new address")
    app.port = old
    eq(app.get("/healthz")[0], 0, "the old address let go")
    # an address that is taken: still serving where it was
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    reload_to(taken.getsockname()[1])
    app.port = new
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="success") == 2,
             10, "the second reload")
    eq(app.get("/healthz")[0], 200, "still serving at the address it had")
    # the address is free again: the next reload takes it
    later = taken.getsockname()[1]
    taken.close()
    reload_to(later)
    app.port = later
    wait_for(lambda: app.get("/healthz")[0] == 200, 10, "serving at the freed address")
    rc, err = app.stop()
    eq(rc, 0, "exit")
    assert f"still serving at http://127.0.0.1:{new}/" in err, err


def write_to(path, cfg):
    import json
    with open(path, "w") as f:
        json.dump(cfg, f)


def test_embedded_default_config():
    port = free_port()
    env = outpost_env()
    env["OUTPOST_LISTEN"] = f"127.0.0.1:{port}"
    env.pop("OUTPOST_CONFIG", None)
    p = subprocess.Popen([OUTPOST, "run"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    app = Appliance.__new__(Appliance)
    app.port, app.p = port, p
    try:
        wait_for(lambda: app.get("/healthz")[0] == 200, 10, "healthz")
        # the default probes check the appliance's own web port and resolve localhost
        wait_for(lambda: metric(app.metrics(), "probe_success", probe="self-web") == 1, 15,
                 "self-web up")
        wait_for(lambda: metric(app.metrics(), "probe_success", probe="resolve-localhost") == 1,
                 15, "resolve-localhost up")
        wait_for(lambda: metric(app.metrics(), "probe_success", probe="self-http") == 1, 15,
                 "self-http up")
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
    eq(p.returncode, 0, "exit")
    assert f"dashboard at http://127.0.0.1:{port}/" in err, err


def test_port_in_use_is_a_clear_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    path = write({"web": {"listen": f"127.0.0.1:{port}"}})
    r = outpost("run", "-c", path, timeout=10)
    s.close()
    eq(r.returncode, 1, "exit")
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr, r.stderr


def test_more_due_runs_than_run_slots_wait_their_turn():
    """Six probes whose runs each hold a slot for 500 ms, due six times a second, on two run
    slots: runs wait in turn (never more than two at once), the ones that cannot be had are
    counted skipped, and every probe still gets its share; none starves, none is lost."""
    _, port = start_tool("mocktcp", "-m", "silent")
    app = Appliance({"limits": {"max_probes": 6, "max_inflight": 2},
                     "probes": [{"name": f"p{i}", "kind": "tcp", "target": f"127.0.0.1:{port}",
                                 "expect": "never", "interval": "1s", "timeout": "500ms"}
                                for i in range(6)]})
    inflight, waiting = set(), set()
    t_end = time.monotonic() + 6
    while time.monotonic() < t_end:
        m = app.metrics()
        inflight.add(metric(m, "outpost_probes_inflight"))
        waiting.add(metric(m, "outpost_probes_waiting"))
        time.sleep(0.1)
    m = app.metrics()
    runs = {}
    for lab, v in m["outpost_probe_runs_total"]:
        runs[lab["probe"]] = runs.get(lab["probe"], 0) + v
        eq(v == 0 or lab["result"] == "timeout", True, f"only timeouts: {lab} {v}")
    skipped = sum(v for _, v in m["outpost_probe_skipped_total"])
    print(f"# two slots, six probes: runs {sorted(runs.values())}, skipped {skipped:.0f}, "
          f"inflight seen {sorted(inflight)}, waiting seen {sorted(waiting)}")
    eq(max(inflight), 2, "never more than two runs at once")
    assert max(waiting) >= 1, waiting
    eq(sorted(runs), [f"p{i}" for i in range(6)], "every probe ran")
    # two slots free four runs a second: about 24 in 6 s, shared out
    assert min(runs.values()) >= 2 and sum(runs.values()) >= 16, runs
    assert skipped >= 6, skipped
    eq(metric(m, "outpost_pool_failures_total", pool="runs"), 0, "no pool failure")
    rc, _ = app.stop()
    eq(rc, 0, "exit")


def test_healthz_recovers_after_freeze():
    # SIGSTOP freezes every thread; after SIGCONT the loop's heartbeat must resume and
    # /healthz answer 200 again (a stall longer than 5 s answers 503 meanwhile). The runs the
    # freeze missed are counted skipped, not made up in a burst.
    _, tport = start_tool("mocktcp")
    app = Appliance({"probes": [{"name": "up", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                                 "interval": "200ms", "timeout": "150ms"}]})

    def counts():
        m = app.metrics()
        return (sum(v for _, v in m["outpost_probe_runs_total"]),
                metric(m, "outpost_probe_skipped_total", probe="up"))
    time.sleep(1)
    runs0, skipped0 = counts()
    app.signal(signal.SIGSTOP)
    time.sleep(2)
    app.signal(signal.SIGCONT)
    wait_for(lambda: app.get("/healthz")[0] == 200, 5, "recovery")
    # the series are published each second: the first after the wake may be from before it
    # (CI, loaded, saw skipped 0); made-up runs would show as fewer skipped
    wait_for(lambda: counts()[1] > skipped0, 5, "the skipped runs counted")
    runs1, skipped1 = counts()
    time.sleep(1)
    runs2, skipped2 = counts()
    print(f"# a 2 s freeze at a 200 ms interval: skipped {skipped1 - skipped0:.0f}, runs "
          f"{runs1 - runs0:.0f} around it and {runs2 - runs1:.0f} in the second after")
    assert 8 <= skipped1 - skipped0 <= 12, (skipped0, skipped1)
    assert 3 <= runs2 - runs1 <= 7 and skipped2 == skipped1, (runs1, runs2, skipped1, skipped2)
    rc, err = app.stop()
    eq(rc, 0, f"exit; stderr: {err}")



def test_a_new_resolv_conf_is_followed():
    """A DHCP client rewrites /etc/resolv.conf when the uplink changes (a cellular failover): the
    appliance asks the new servers from then on, as the C library does, with no restart."""
    _, first = start_tool("mockdns", "svc.test:A:10.1.2.3")
    _, second = start_tool("mockdns", "svc.test:A:10.9.9.9")
    env = outpost_env(first)
    resolv = env["OUTPOST_RESOLV_CONF"]
    app = Appliance({"probes": [{"name": "svc", "kind": "dns", "target": "svc.test",
                                 "interval": "200ms", "timeout": "150ms"}]}, env=env)

    def answer():
        r = json.loads(app.get("/api/v1/probes/svc/results?limit=1")[1])["results"]
        return r[0]["detail"] if r else ""
    wait_for(lambda: answer() == "10.1.2.3", 10, "the first server's answer")
    # replaced as DHCP clients do it: a new file renamed over the old
    with open(resolv + ".new", "w") as f:
        f.write(f"nameserver 127.0.0.1:{second}\n")
    os.rename(resolv + ".new", resolv)
    wait_for(lambda: answer() == "10.9.9.9", 5, "the new server's answer")
    app.stop()


def test_a_low_descriptor_limit_is_said_and_not_blamed_on_the_target():
    """A box whose descriptor limit is below what the config can hold at once: outpost raises
    its soft limit as far as the hard one allows, says once what is short and how to fix it,
    and a run that finds no descriptor fails as no_slot ("out of file descriptors"), not as
    the target's connect failure. The web server goes on answering."""
    _, hport = start_tool("mockhttp")
    probes = [{"name": f"p{i}", "kind": "http", "target": f"http://127.0.0.1:{hport}/silent",
               "interval": "1s", "timeout": "900ms"} for i in range(30)]
    app = Appliance({"probes": probes}, nofile=(24, 24))

    def reasons():
        body = json.loads(app.get("/api/v1/probes")[1])
        return [((p.get("last") or {}).get("reason"), (p.get("last") or {}).get("detail", ""))
                for p in body["probes"]]
    wait_for(lambda: any(r == "no_slot" for r, _ in reasons()), 10, "a run without a descriptor")
    got = reasons()
    short = [d for r, d in got if r == "no_slot"]
    assert all("out of file descriptors (ulimit -n)" in d for d in short), got
    assert not [d for r, d in got if r in ("connect", "resolve")], got
    eq(app.get("/healthz")[0], 200, "healthz")
    _, err = app.stop()
    said = [l for l in err.splitlines() if "the descriptor limit is 24 (ulimit -n)" in l]
    eq(len(said), 1, f"said once: {err}")
    assert "LimitNOFILE=" in said[0], said

    # a soft limit below the hard one is raised, and nothing is said
    app = Appliance({"probes": probes[:2]}, nofile=(24, 4096))
    limits = open(f"/proc/{app.p.pid}/limits").read()
    soft = int(re.search(r"^Max open files\s+(\d+)", limits, re.M).group(1))
    assert 24 < soft <= 4096, limits
    _, err = app.stop()
    assert "descriptor limit" not in err, err


def test_the_systemd_unit_verifies():
    """board/linux-x86_64/outpost.service, as README's install steps place it, passes
    systemd-analyze verify with nothing said (an unknown key or a bad value is only a warning
    there), and stops outpost with more time than its default shutdown grace, signalling outpost
    alone."""
    unit = open(os.path.join(ROOT, "board/linux-x86_64/outpost.service")).read()
    assert "ExecStart=/usr/local/bin/outpost run -c /etc/outpost/outpost.json\n" in unit, unit
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))
    assert stop > 30, stop
    # the stop's SIGTERM to outpost alone: with the default (control-group) systemd signals the
    # exec commands in progress too, and they do not get to finish within the grace
    assert re.search(r"^KillMode=mixed$", unit, re.M), unit
    d = tempfile.mkdtemp(prefix="outpost-unit-")
    cfg = write({"probes": []})
    with open(f"{d}/outpost.service", "w") as f:
        f.write(unit.replace("/usr/local/bin/outpost", OUTPOST).replace(
            "/etc/outpost/outpost.json", cfg))
    r = subprocess.run(["systemd-analyze", "verify", f"{d}/outpost.service"],
                       capture_output=True, text=True, timeout=30)
    eq((r.returncode, r.stdout + r.stderr), (0, ""), "systemd-analyze verify")

run(globals())
