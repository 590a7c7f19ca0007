"""Results pushed through the spool: a collector that fails its first deliveries gets every
result exactly once after the retries; and an appliance killed with SIGKILL fifty times while
it writes loses at most the unflushed batch each time, delivers nothing twice but the batch in
flight at a kill, and repairs torn segment tails on start-up."""
import json
import os
import random
import re
import shutil
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from lib import *


class Collector:
    """Takes POSTed JSON lines; answers 503 to the first `fail` requests, and what `judge` says
    of a batch's lines when it says (status, text) or (status, text, headers). Over TLS when
    given a server-side ssl context."""

    def __init__(self, fail=0, tls=None, judge=lambda lines: None):
        self.lines, self.fail, self.posts, self.answers = [], fail, 0, []
        self.auth = set()  # the Authorization headers seen
        self.times = []    # when each post came
        self.lock = threading.Lock()
        c = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                lines = [json.loads(l) for l in body.decode().splitlines() if l]
                with c.lock:
                    c.posts += 1
                    c.auth.add(self.headers.get("Authorization"))
                    status, text, *more = (503, b"") if c.posts <= c.fail else \
                        judge(lines) or (200, b"")
                    c.answers.append((status, len(lines)))
                    c.times.append(time.monotonic())
                    if status == 200:
                        c.lines += lines
                self.send_response(status)
                for k, v in (more[0] if more else {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *a):
                pass
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        if tls:  # the handshake is in accept(): one that fails is dropped there
            self.srv.socket = tls.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def keys(self):
        with self.lock:
            return [(l["probe"], l["timestamp"]) for l in self.lines]


def stamp(t):
    """A result's timestamp ("2026-11-30T15:38:22.123Z") in Unix seconds."""
    import calendar
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + t[19:-1])


def config(port, spool, n=3, interval="100ms"):
    _, tport = start_tool("mocktcp")
    return {"spool": {"dir": spool, "flush_every": "200ms", "max_bytes": 4194304},
            "exports": {"hub": {"type": "results_webhook",
                                "url": f"http://127.0.0.1:{port}/ingest", "batch": 20}},
            "probes": [{"name": f"p{i}", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                        "interval": interval, "timeout": "90ms"} for i in range(n)]}


def test_collector_that_fails_first_gets_everything_once():
    col = Collector(fail=3)
    cfg = config(col.port, tempfile.mkdtemp())
    cfg["appliance"] = {"name": "edge-hub", "region": "lab", "labels": {"site": "roof"}}
    app = Appliance(cfg)
    time.sleep(4)
    wait_for(lambda: metric(app.metrics(), "outpost_spool_pending_bytes", sink="hub") == 0, 30,
             "the backlog delivered")
    m = app.metrics()
    assert metric(m, "outpost_export_failures_total", sink="hub") >= 3, m
    keys = col.keys()
    eq(len(keys), len(set(keys)), "nothing twice")
    want = set()
    for i in range(3):
        res = json.loads(app.get(f"/api/v1/probes/p{i}/results?limit=1000")[1])["results"]
        want |= {(r["probe"], r["timestamp"]) for r in res}
    got = set(keys)
    # everything the appliance recorded reached the collector (results newer than the last
    # flush may still wait: compare up to the newest delivered)
    newest = max(t for _, t in got)
    eq({k for k in want if k[1] <= newest} - got, set(), "missing results")
    assert len(got) >= 90, len(got)
    line = col.lines[0]
    assert {"timestamp", "probe", "kind", "target", "success", "duration_ms", "phases"} <= set(line)
    # which appliance measured it: a hub hears many (as the webhook messages have it)
    eq(line["appliance"], {"name": "edge-hub", "region": "lab", "labels": {"site": "roof"}},
       "the appliance")
    promtool_check(app.get("/metrics")[1])


def test_a_refused_batch_is_dropped_and_the_rest_goes_on():
    """A collector that refuses a batch as such (400: an out-of-order sample, a timestamp from
    before the box's clock was set) would refuse it again: it is dropped and counted, and what
    follows is delivered. A 401 is a set-up to fix: those batches are kept and delivered once
    the collector takes them."""
    state = {"auth": False}

    def judge(lines):
        if any(l["probe"] == "p1" for l in lines):
            return 400, b"out of order sample\nfor series probe_success{probe=p1}\n"
        if state["auth"]:
            return 401, b"bad token"
    col = Collector(judge=judge)
    cfg = config(col.port, tempfile.mkdtemp(), interval="300ms")
    cfg["exports"]["hub"]["batch"] = 4
    # p1 runs once a minute: its one result rides in one batch, among others
    cfg["probes"][1]["interval"] = "60s"
    app = Appliance(cfg)

    def exports():
        return json.loads(app.get("/api/v1/exports")[1])["exports"][0]
    wait_for(lambda: exports()["refused"] >= 1, 15, "p1's batch refused")
    x = exports()
    eq(x["last_failure"]["reason"], "expect", "reason")
    detail = x["last_failure"]["detail"]
    n = int(detail.split()[0])
    results = "1 result" if n == 1 else f"{n} results"
    eq(detail, f"{results} dropped: the collector refused them with 400 (out of order sample)",
       "detail: the count and the collector's first line")
    eq(metric(app.metrics(), "outpost_export_refused_total", sink="hub"), n, "counted")
    # the export is not stuck behind the refused batch: what came after it arrives
    p1 = json.loads(app.get("/api/v1/probes/p1/results")[1])["results"][-1]["timestamp"]
    wait_for(lambda: sum(1 for k in col.keys() if k[1] > p1) >= 4, 20,
             "results after the refused batch delivered")
    wait_for(lambda: exports()["failing"] is False, 10, "the export no longer failing")
    got = col.keys()
    eq(len(got), len(set(got)), "nothing twice")
    eq([k for k in got if k[0] == "p1"], [], "p1's result was not taken")
    # a 401 keeps everything: nothing more is refused, and it all arrives once allowed
    before = len(got)
    state["auth"] = True
    wait_for(lambda: exports()["failing"] and exports()["pending_records"] >= 8, 20,
             "a backlog behind the 401")
    eq(exports()["refused"], n, "nothing dropped for a 401")
    assert "answered 401 (bad token)" in exports()["last_failure"]["detail"], exports()
    state["auth"] = False
    wait_for(lambda: exports()["pending_records"] == 0 and not exports()["failing"], 30,
             "the backlog delivered after the 401")
    got = col.keys()
    eq(len(got), len(set(got)), "nothing twice after the 401")
    assert len(got) >= before + 8, (before, len(got))
    app.stop()


def test_a_collector_that_asks_for_a_pause_gets_it():
    """429 with Retry-After (seconds, or a date): the next try waits that long, not the backoff's
    1 to 2 s, and then everything arrives."""
    for after in ("5", None):
        state = {"n": 0}

        def judge(lines):
            state["n"] += 1
            if state["n"] > 1:
                return None
            when = after or time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                          time.gmtime(time.time() + 6))
            return 429, b"slow down", {"Retry-After": when}
        col = Collector(judge=judge)
        app = Appliance(config(col.port, tempfile.mkdtemp(prefix="outpost-pause-")))
        wait_for(lambda: len(col.times) >= 2, 20, "the try after the pause")
        gap = col.times[1] - col.times[0]
        assert gap > 4.5, (after, gap, col.answers)
        wait_for(lambda: len(col.keys()) >= 20, 10, "results delivered")
        app.stop()


def test_a_collector_with_a_small_body_limit_gets_smaller_batches():
    """413: the body is over the collector's limit. The batch is halved until it passes, at
    once, and everything arrives; a single result still too large would be dropped as
    refused."""
    col = Collector(judge=lambda lines: (413, b"Payload Too Large") if len(lines) > 5 else None)
    cfg = config(col.port, tempfile.mkdtemp(), n=3, interval="100ms")
    app = Appliance(cfg)
    wait_for(lambda: len(col.keys()) >= 60, 20, "results delivered in smaller batches")
    x = json.loads(app.get("/api/v1/exports")[1])["exports"][0]
    eq(x["refused"], 0, "nothing dropped")
    import re
    assert re.fullmatch(r"the collector answered 413 \(Payload Too Large\); batches of \d+ "
                        r"from now on", x["last_failure"]["detail"]), x
    # each 413 was followed by half that batch or less, and none got through over the limit
    answers = col.answers
    for (status, n), (_, nxt) in zip(answers, answers[1:]):
        if status == 413:
            assert nxt <= n // 2, answers
    assert all(n <= 5 for status, n in answers if status == 200), answers
    keys = col.keys()
    eq(len(keys), len(set(keys)), "nothing twice")
    app.stop()


def test_a_backlog_of_traces_drains_at_once():
    """An OTLP batch fills the 16 KiB body with about six results, fewer than `batch`: the
    rest of a backlog still goes batch after batch at once, not one short batch a flush (which
    fell behind 50 results a second for good)."""
    state = {"down": True}
    col = Collector(judge=lambda lines: (503, b"") if state["down"] else None)
    cfg = config(col.port, tempfile.mkdtemp(), n=10, interval="200ms")
    cfg["spool"]["flush_every"] = "1s"
    cfg["exports"]["hub"]["type"] = "otlp"
    app = Appliance(cfg)

    def pending():
        return metric(app.metrics(), "outpost_spool_pending_records", sink="hub")
    wait_for(lambda: pending() >= 300, 20, "a backlog of 300 results")
    state["down"] = False
    # a flush a second, about six results a post: 300 results took over 50 s before
    wait_for(lambda: pending() < 60, 15, "the backlog delivered")
    spans = sum(len(l["resourceSpans"][0]["scopeSpans"][0]["spans"]) for l in col.lines)
    assert metric(app.metrics(), "outpost_export_results_total", sink="hub") >= 240 and \
        spans >= 240, spans
    app.stop()


def test_a_full_disk_keeps_the_newest_results():
    """The spool's medium fills before spool.max_bytes (a disk shared with other files): the
    oldest segment goes, as at max_bytes, counted, and the newest results are written and
    delivered. Before, nothing more was written once the disk was full."""
    import subprocess
    d = tempfile.mkdtemp(prefix="outpost-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", d], check=True)
    try:
        state = {"down": True}
        col = Collector(judge=lambda lines: (503, b"") if state["down"] else None)
        cfg = config(col.port, f"{d}/spool", n=20, interval="100ms")
        cfg["exports"]["hub"]["batch"] = 64
        app = Appliance(cfg)
        m = lambda name: metric(app.metrics(), name)
        # 200 results a second, 223 bytes each: the 192 KiB are full within about 4 s
        wait_for(lambda: m("outpost_spool_dropped_total") > 0, 20, "the oldest segment dropped")
        full = time.time()
        time.sleep(2)
        eq(app.get("/healthz")[0], 200, "healthy")
        state["down"] = False
        wait_for(lambda: metric(app.metrics(), "outpost_spool_pending_records", sink="hub") < 50,
                 30, "the backlog delivered")
        keys = col.keys()
        eq(len(keys), len(set(keys)), "nothing twice")
        newest = max(time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                     for _, t in keys)
        assert newest > full + 1, ("results written after the disk filled were delivered",
                                   newest, full)
        _, err = app.stop()
        assert "is full at" in err and "the oldest segment went to make room" in err, err
    finally:
        subprocess.run(["umount", "-l", d])


def test_a_card_that_fails_moves_the_spool_to_memory():
    """The spool's card fails under it: an ext4 on a loop device whose backing store fills,
    so its writes fail and the kernel remounts it read-only, as a worn SD card. The spool goes
    on in memory with what was not yet sent, and every result reaches the collector once;
    before, the exports stopped there. A start on the read-only card opens the spool in memory
    at once (before: "results are not exported")."""
    import subprocess
    back, card = tempfile.mkdtemp(prefix="outpost-back-"), tempfile.mkdtemp(prefix="outpost-card-")
    sh = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True)
    sh(f"mount -t tmpfs -o size=6m tmpfs {back} && truncate -s 64M {back}/img && "
       f"mkfs.ext4 -q -F {back}/img")
    loop = sh(f"losetup -f --show {back}/img").stdout.strip()
    name = f"card-{os.getpid()}"
    try:
        assert loop and sh(f"mount -o errors=remount-ro {loop} {card}").returncode == 0, \
            "needs root and a loop device"
        col = Collector()
        cfg = config(col.port, f"{card}/spool")
        cfg["appliance"] = {"name": name}
        app = Appliance(cfg)
        wait_for(lambda: len(col.keys()) > 20, 10, "deliveries from the card")
        sh(f"dd if=/dev/zero of={back}/filler bs=1M count=20")  # the card fails from here
        wait_for(lambda: metric(app.metrics(), "outpost_spool_medium_failed") == 1, 20,
                 "the spool moved to memory")
        n = len(col.keys())
        wait_for(lambda: len(col.keys()) > n + 60, 15, "deliveries after the move")
        rc, err = app.stop()
        assert f"spool: {card}/spool cannot be written: the spool goes on in memory" in err, err
        m = col.keys()
        eq(len(m), len(set(m)), "nothing twice")
        mounts = sh(f"grep {card} /proc/mounts").stdout
        assert "emergency_ro" in mounts or " ro," in mounts, f"the card read-only: {mounts}"
        # nothing lost at the move: each probe's results (every 100 ms) follow without a gap
        per = {}
        for probe, t in m:
            per.setdefault(probe, []).append(stamp(t))
        for probe, ts in per.items():
            ts.sort()
            gap = max(b - a for a, b in zip(ts, ts[1:]))
            assert gap < 0.35, f"{probe}: a gap of {gap:.3f} s in {len(ts)} results"
        # a start on the read-only card: the spool is in memory from the start
        col2 = Collector()
        cfg2 = config(col2.port, f"{card}/spool")
        cfg2["appliance"] = {"name": name}
        app = Appliance(cfg2)
        wait_for(lambda: len(col2.keys()) > 20, 10, "deliveries after a start on the card")
        eq(metric(app.metrics(), "outpost_spool_medium_failed"), 1, "said on /metrics")
        rc, err = app.stop()
        assert f"spool: {card}/spool: cannot be written: the spool is in memory at" in err, err
    finally:
        sh(f"umount -l {card}; losetup -d {loop}; umount -l {back}; "
           f"rm -rf /dev/shm/outpost-spool-{name}")


def test_two_outposts_of_one_name_do_not_share_a_spool():
    """A second outpost on the host with the same appliance.name and no spool.dir would write
    the first's memory spool (and cut its records as torn at its start): it is refused, said,
    and the first delivers on, each result once. (Before, the second took the log over: the
    first's deliveries stopped.)"""
    col, col2 = Collector(), Collector()
    name = f"twin-{os.getpid()}"
    cfg, cfg2 = config(col.port, None), config(col2.port, None)
    for c in cfg, cfg2:
        del c["spool"]["dir"]
        c["appliance"] = {"name": name}
    try:
        a = Appliance(cfg)
        wait_for(lambda: len(col.keys()) > 10, 10, "the first's deliveries")
        b = Appliance(cfg2)
        n = len(col.keys())
        wait_for(lambda: len(col.keys()) > n + 30, 10, "the first's deliveries beside the second")
        _, err = b.stop()
        assert f"outpost-spool-{name}: in use by another outpost process; results are not " \
               "exported (each outpost on a host needs its own appliance.name" in err, err
        eq(col2.keys(), [], "the second delivered nothing")
        a.stop()
        keys = col.keys()
        eq(len(keys), len(set(keys)), "nothing twice")
    finally:
        shutil.rmtree(f"/dev/shm/outpost-spool-{name}", ignore_errors=True)


def test_without_a_directory_the_spool_is_in_memory():
    """Also: a user:password in the collector's URL (as a hosted remote-write endpoint gives
    it) goes as Authorization: Basic, and the exports API shows the URL without it. A reload
    keeps the sink's counts, and a restart the probes' history."""
    state = {"down": False}
    col = Collector(judge=lambda lines: (503, b"") if state["down"] else None)
    cfg = config(col.port, None)
    del cfg["spool"]["dir"]
    cfg["appliance"] = {"name": "edge-ram"}
    cfg["exports"]["hub"]["url"] = f"http://12345:glc_t%2Bk@127.0.0.1:{col.port}/ingest"
    ram = ["/dev/shm/outpost-spool-edge-ram", "/tmp/outpost-spool-edge-ram"]
    for d in ram:  # an earlier run's, which would read back into the history
        shutil.rmtree(d, ignore_errors=True)
    app = Appliance(cfg)
    wait_for(lambda: len(col.keys()) >= 20, 10, "results delivered")
    assert os.path.isdir("/dev/shm/outpost-spool-edge-ram") or \
        os.path.isdir("/tmp/outpost-spool-edge-ram")
    eq(col.auth, {"Basic MTIzNDU6Z2xjX3Qraw=="}, "the URL's credential")  # "12345:glc_t+k"
    body = app.get("/api/v1/exports")[1]
    assert f"http://12345@127.0.0.1:{col.port}/ingest" in body and "glc" not in body, body
    # a reload (a probe added): the sink's counts go on, as a probe's and a channel's do (the
    # collector refuses meanwhile, so nothing more counts as sent)
    def sent_now():
        return json.loads(app.get("/api/v1/exports")[1])["exports"][0]["sent"]
    state["down"] = True
    n = len(col.keys())
    time.sleep(1.5)  # the last post before "down", and the once-a-second figure
    eq(len(col.keys()), n, "nothing accepted while down")
    sent = sent_now()
    cfg["probes"].append({"name": "added", "kind": "tcp", "target": cfg["probes"][0]["target"],
                          "interval": "1s"})
    app.reload(cfg)
    wait_for(lambda: "added" in app.get("/api/v1/probes")[1], 10, "the reload")
    time.sleep(1.5)  # the figure is taken once a second
    eq(sent_now(), sent, "sent, after the reload")
    assert sent >= 20, sent
    # a restart of the process finds the spool in memory, and the history in it
    before = history(app, "p0")
    app.stop()
    app = Appliance(cfg, port=app.port)
    after = history(app, "p0")
    assert len(before) >= 10, before
    eq([t for t in before if t not in after], [], "p0's history after a restart")
    app.stop()
    for d in ram:
        shutil.rmtree(d, ignore_errors=True)


def history(app, name):
    """A probe's history as the dashboard reads it: {unix ms: (duration ms, ok)}."""
    for p in json.loads(app.get("/api/v1/probes?history=240")[1])["probes"]:
        if p["name"] == name:
            return {h[0]: (h[1], h[2]) for h in p.get("history", [])}
    return None


def test_the_history_survives_a_restart_and_a_kill():
    """The dashboard's history goes on after a kill (as after a power cut) and a stop, read
    back from the spool on disk: a spool.dir without exports keeps the results for that
    alone. The last run is the last before the stop; the counters start again; a probe whose
    target moved starts with no history."""
    spool = tempfile.mkdtemp()
    _, tport = start_tool("mocktcp")
    cfg = {"spool": {"dir": spool, "flush_every": "200ms"},
           "probes": [{"name": n, "kind": "tcp", "target": f"127.0.0.1:{tport}",
                       "interval": "100ms", "timeout": "90ms"} for n in ("a", "b")]}
    cfg["probes"][1]["target"] = "127.0.0.1:1"  # b fails: its history is failures
    app = Appliance(cfg)
    wait_for(lambda: len(history(app, "a")) >= 30, 10, "30 runs")
    before = {n: history(app, n) for n in ("a", "b")}
    app.p.send_signal(signal.SIGKILL)
    app.p.wait()
    app = Appliance(cfg, port=app.port)
    after = {n: history(app, n) for n in ("a", "b")}
    for n in ("a", "b"):
        # all but the newest: the last 200 ms's batch may not have reached the medium
        newest = max(before[n])
        old = {t: v for t, v in before[n].items() if t < newest - 600}
        assert len(old) >= 20, before[n]
        missing = [t for t in old if after[n].get(t) != old[t]]
        eq(missing, [], f"{n}'s history before the kill, after it")
    assert all(ok == 0 for _, ok in after["b"].values()), after["b"]
    m = app.metrics()
    assert metric(m, "outpost_probe_runs_total", probe="a", result="success") < 30, m
    # a stop, a moved, both at 1h (b's first run half an hour away): b keeps all it had and
    # its last run is the last before the stop, with its time; a starts empty
    before = history(app, "b")
    _, err = app.stop()
    assert "results from before the start read back from the spool into the history (" in err, \
        err
    stopped = time.time() * 1000
    cfg["probes"][0]["target"] = f"localhost:{tport}"
    for p in cfg["probes"]:
        p["interval"] = "1h"
    app = Appliance(cfg, port=app.port)
    after = {n: history(app, n) for n in ("a", "b")}
    eq([t for t in before if t not in after["b"]], [], "b's history after a stop")
    assert all(t > stopped for t in after["a"]), (stopped, after["a"])
    b = json.loads(app.get("/api/v1/probes")[1])["probes"][1]
    eq((b["state"], b["last"]["success"], b["runs"]["failure"]), ("down", False, 0),
       "b's last run, from before the stop; no run counted in this process")
    app.stop()


def test_a_restart_goes_on_from_each_probes_last_run():
    """A probe at 30 s that ran just before a stop runs again 30 s after that run, not at the
    restart (a daily job is not run twice by an upgrade); one at 200 ms goes on at once. Before,
    every probe ran again at the start."""
    spool = tempfile.mkdtemp()
    _, tport = start_tool("mocktcp")
    cfg = {"spool": {"dir": spool, "flush_every": "200ms"},
           "probes": [{"name": "slow", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                       "interval": "30s", "timeout": "1s"},
                      {"name": "fast", "kind": "tcp", "target": f"127.0.0.1:{tport}",
                       "interval": "200ms", "timeout": "150ms"}]}
    app = Appliance(cfg)
    wait_for(lambda: len(history(app, "slow")) == 1, 10, "slow's first run")
    ran = list(history(app, "slow"))[0]
    rc, err = app.stop()
    eq(rc, 0, f"stopped: {err}")
    app = Appliance(cfg, port=app.port)
    time.sleep(3)
    m = app.metrics()
    runs = lambda n: sum(v for lab, v in m["outpost_probe_runs_total"] if lab["probe"] == n)
    eq(runs("slow"), 0, "slow waits for its interval from its last run")
    assert runs("fast") >= 5, runs("fast")
    eq(list(history(app, "slow")), [ran], "its last run, read back")
    app.stop()


def test_a_read_only_dev_shm_keeps_the_spool_in_memory_elsewhere():
    """A container whose /dev/shm cannot be written (in a mount namespace of the test's own):
    the spool in memory goes to /run (here a tmpfs of the namespace's) and results are
    delivered. Before, it failed to open and nothing was exported."""
    col = Collector()
    cfg = config(col.port, None)
    del cfg["spool"]["dir"]
    app = Appliance(cfg, wrap=["unshare", "-m", "sh", "-c",
                               "mount -t tmpfs -o ro,size=4k tmpfs /dev/shm && "
                               "mount -t tmpfs -o size=8m tmpfs /run && exec \"$@\"", "sh"])
    wait_for(lambda: len(col.keys()) >= 20, 10, "results delivered")
    _, err = app.stop()
    assert "results are not exported" not in err, err


def test_through_a_proxy_to_a_collector_that_wants_a_client_certificate():
    """A site's uplink is often a proxy, and a collector may want a client certificate: the
    export goes through a CONNECT tunnel with the proxy's password, presents its certificate and
    delivers. Beside it, the same export without the certificate and one with a wrong proxy
    password fail, and /api/v1/exports says why, without the password."""
    import ssl
    import certs
    d = certs.make()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{d}/good.pem", f"{d}/good.key")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(f"{d}/ca.pem")
    col = Collector(tls=ctx)
    proxy = tinyproxy("edge s3cret")
    url = f"https://127.0.0.1:{col.port}/ingest"
    mtls = {"ca_file": f"{d}/ca.pem", "cert_file": f"{d}/client.pem",
            "key_file": f"{d}/client.key"}
    cfg = config(0, tempfile.mkdtemp())
    cfg["exports"] = {
        "hub": {"type": "results_webhook", "url": url, "tls": mtls,
                "proxy": f"http://edge:s3cret@127.0.0.1:{proxy}"},
        "nocert": {"type": "results_webhook", "url": url, "tls": {"ca_file": f"{d}/ca.pem"},
                   "proxy": f"http://edge:s3cret@127.0.0.1:{proxy}"},
        "badpass": {"type": "results_webhook", "url": url, "tls": mtls,
                    "proxy": f"http://edge:wr0ng@127.0.0.1:{proxy}"}}
    app = Appliance(cfg)
    wait_for(lambda: len(col.keys()) >= 20, 15, "results delivered through the proxy")

    def exports():
        return {e["name"]: e for e in json.loads(app.get("/api/v1/exports")[1])["exports"]}
    wait_for(lambda: all(exports()[n]["last_failure"] for n in ("nocert", "badpass")), 15,
             "both failures published")
    ex = exports()
    hub, nocert, badpass = ex["hub"], ex["nocert"], ex["badpass"]
    eq(hub["last_failure"], None, "the export with its certificate never failed")
    assert hub["sent"] >= 20 and hub["failed"] == 0 and not hub["failing"], hub
    assert nocert["failing"] and badpass["failing"], ex
    assert nocert["sent"] == 0 and nocert["failed"] >= 1 and nocert["pending_records"] > 0, nocert
    assert nocert["oldest_pending"], nocert
    f = nocert["last_failure"]
    eq((f["probe"], f["kind"], f["target"], f["success"]), ("nocert", "export", url, False),
       "nocert's failure")
    eq(nocert["url"], url, "the export's URL")
    # Python's server answers a handshake without a certificate with an alert and closes with
    # our next records unread, which resets the connection: the alert is still named
    eq(f["reason"], "tls", "nocert's reason")
    assert f["detail"].startswith("alert handshake_failure from the server"), f
    f = badpass["last_failure"]
    eq(f["reason"], "connect", "badpass's failure")
    # (tinyproxy answers a wrong password with 401, a missing one with 407)
    assert "proxy refused CONNECT" in f["detail"] and "401 Unauthorized" in f["detail"], f
    text = app.get("/api/v1/exports")[1]
    assert "wr0ng" not in text and "s3cret" not in text, text
    m = app.metrics()
    assert metric(m, "outpost_export_failures_total", sink="badpass") >= 1, m
    app.stop()


def test_kill_loop_loses_at_most_the_unflushed_batch():
    col = Collector()
    spool = tempfile.mkdtemp()
    cfg = config(col.port, spool)
    kills, rng = [], random.Random(7)
    for k in range(50):
        app = Appliance(cfg)
        start = time.time()
        time.sleep(rng.uniform(0.3, 0.8))
        killed = time.time()
        app.p.send_signal(signal.SIGKILL)
        app.p.wait()
        kills.append((start, killed))
    app = Appliance(cfg)  # the last one drains the backlog
    wait_for(lambda: metric(app.metrics(), "outpost_spool_pending_bytes", sink="hub") == 0, 60,
             "the backlog delivered")
    corrupt = metric(app.metrics(), "outpost_spool_corrupt_total")
    app.stop()
    keys = col.keys()
    dups = len(keys) - len(set(keys))
    ts = {}
    for probe, t in set(keys):
        ts.setdefault(probe, []).append(time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))
                                        + float("0." + t[20:26]) - time.timezone)
    lost_tail, gaps = [], 0
    for start, killed in kills:
        for probe, times in ts.items():
            mine = sorted(x for x in times if start - 0.05 <= x <= killed)
            if not mine:
                lost_tail.append(killed - start)
                continue
            lost_tail.append(killed - mine[-1])
            gaps += sum(1 for a, b in zip(mine, mine[1:]) if b - a > 0.18)
    worst = max(lost_tail)
    per_kill = [round(t / 0.1) for t in lost_tail]
    print(f"# export: 50 SIGKILLs: {len(set(keys))} results delivered, {dups} twice, "
          f"{gaps} gaps inside a run, corrupt tails cut at the last start {int(corrupt or 0)}; results lost per "
          f"kill and probe: max {max(per_kill)}, mean {sum(per_kill) / len(per_kill):.1f} "
          f"(a batch is 200 ms = 2 results a probe)")
    eq(gaps, 0, "results missing inside a run")
    # the tail a kill may lose: the unflushed batch (200 ms) plus the run in flight (100 ms)
    assert worst <= 0.2 + 0.1 + 0.15, (worst, lost_tail)
    # at most the batch that was being delivered at each kill comes again
    assert dups <= 20 * 50, dups


def test_a_slow_disk_does_not_stall_the_loop():
    col = Collector()
    with SlowDisk("spool-slowdisk-") as disk:
        app = Appliance(config(col.port, disk.path))
        disk.add(app.p)
        m0 = app.metrics()
        time.sleep(6)
        m = app.metrics()
        slowest = metric(m, "outpost_disk_write_seconds_max")
        runs = sum(v for _, v in m["outpost_probe_runs_total"]) - \
            sum(v for _, v in m0["outpost_probe_runs_total"])
        skipped = sum(v for _, v in m["outpost_probe_skipped_total"])
        lag = metric(m, "outpost_sched_lag_seconds", quantile="0.99")
        print(f"# export: a disk at 4 writes/s: slowest sync {slowest:.2f} s; meanwhile {int(runs)} "
              f"runs of 180, {int(skipped)} skipped, scheduling lag p99 {lag * 1e3:.2f} ms")
        assert slowest >= 0.25, f"the disk was not slow ({slowest} s): the test shows nothing"
        assert runs >= 170 and skipped == 0, (runs, skipped)
        assert lag < 0.05, lag
        disk.release()
        wait_for(lambda: metric(app.metrics(), "outpost_spool_pending_bytes", sink="hub") == 0
                 and metric(app.metrics(), "outpost_disk_writes_pending") == 0, 30,
                 "the backlog delivered and synced")
        want = set()
        for i in range(3):
            res = json.loads(app.get(f"/api/v1/probes/p{i}/results?limit=1000")[1])["results"]
            want |= {(r["probe"], r["timestamp"]) for r in res}
        got = set(col.keys())
        newest = max(t for _, t in got)
        eq({k for k in want if k[1] <= newest} - got, set(), "missing results")
        rc, err = app.stop()
        eq(rc, 0, f"stopped cleanly: {err}")


def test_remote_write_backfills_an_outage_into_prometheus():
    """The receiver is down for the first seconds: the samples of the outage arrive later
    with their original timestamps."""
    import subprocess
    import urllib.parse
    pport = free_port()
    spool = tempfile.mkdtemp()
    cfg = config(1, spool, n=2, interval="200ms")
    # the appliance's labels go with every series, as on /metrics, in name order ("Zone"
    # sorts before "__name__")
    cfg["appliance"] = {"name": "edge-rw", "region": "lab", "labels": {"site": "roof", "Zone": "b"}}
    cfg["exports"] = {"prom": {"type": "remote_write",
                               "url": f"http://127.0.0.1:{pport}/api/v1/write", "batch": 32}}
    app = Appliance(cfg)
    outage_start = time.time()
    time.sleep(6)  # nothing listens: every attempt fails, the spool keeps the results
    m = app.metrics()
    assert metric(m, "outpost_export_failures_total", sink="prom") >= 1, m
    assert metric(m, "outpost_spool_pending_bytes", sink="prom") > 0, m
    d = tempfile.mkdtemp()
    with open(f"{d}/prometheus.yml", "w") as f:
        f.write("global: {}\nstorage:\n  tsdb:\n    out_of_order_time_window: 1h\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={d}/prometheus.yml",
                             f"--storage.tsdb.path={d}/data", "--web.enable-remote-write-receiver",
                             f"--web.listen-address=127.0.0.1:{pport}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import lib
    lib._procs.append(prom)
    prom_start = time.time()

    def query(q):
        url = f"http://127.0.0.1:{pport}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())["data"]["result"]
        except OSError:
            return None
    import urllib.request
    # the backoff may wait up to 16 s before the next attempt
    wait_for(lambda: query('probe_success{probe="p0"}[5m]'), 60, "samples in Prometheus")
    wait_for(lambda: metric(app.metrics(), "outpost_spool_pending_bytes", sink="prom") == 0, 60,
             "the backlog delivered")
    time.sleep(1)
    res = query('probe_success{probe="p0"}[5m]')
    ts = [float(t) for t, v in res[0]["values"]]
    labels = res[0]["metric"]
    eq((labels["appliance"], labels["region"], labels["kind"], labels.get("site"),
        labels.get("Zone")), ("edge-rw", "lab", "tcp", "roof", "b"), "labels")
    phase = query('outpost_probe_phase_seconds{probe="p0",phase="connect"}')
    eq((phase[0]["metric"].get("site"), phase[0]["metric"].get("Zone")), ("roof", "b"),
       "the phase series' labels")
    early = [t for t in ts if t < prom_start - 1]
    print(f"# export: remote_write: {len(ts)} samples of p0, {len(early)} from the "
          f"{prom_start - outage_start:.1f} s outage, first {ts[0] - outage_start:+.2f} s after "
          f"the start")
    assert len(early) >= 20, (len(early), ts[:5])  # 5 a second for 6 s, with their own times
    assert ts[0] - outage_start < 1.5, ts[0] - outage_start
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert max(gaps) < 0.45, max(gaps)  # every run of the outage is there
    phases = query('outpost_probe_phase_seconds{probe="p0",phase="connect"}[5m]')
    # (the probes run on: a result may have arrived between the two queries)
    phase_ts = [float(t) for t, v in phases[0]["values"] if float(t) <= ts[-1]] if phases else []
    eq(phase_ts, ts, "a phase sample for every probe_success sample")
    app.stop()


def test_an_otlp_partial_success_is_said_and_not_sent_again():
    """An OTLP collector answers 200 with partialSuccess: it took the request but rejected
    some spans. The batch is not sent again (the protocol forbids it) and the export's last
    failure says how many were rejected and why; a message with none rejected (a warning) is a
    success. Before, a partial success read as a plain one."""
    answers = [b'{"partialSuccess":{"rejectedSpans":"3","errorMessage":"span too old"}}',
               b'{"partialSuccess":{"errorMessage":"clock skew"}}']
    col = Collector(judge=lambda docs: (200, answers.pop(0)) if answers else None)
    cfg = config(col.port, tempfile.mkdtemp(), n=1, interval="300ms")
    cfg["exports"]["hub"]["type"] = "otlp"
    app = Appliance(cfg)
    wait_for(lambda: col.posts >= 4, 15, "four posts")
    e = json.loads(app.get("/api/v1/exports")[1])["exports"][0]
    app.stop()
    detail = e["last_failure"]["detail"]
    assert re.fullmatch(r"(1 result delivered, but the collector rejected 3 of its|\d+ results "
                        r"delivered, but the collector rejected 3 of their) spans \(span too "
                        r"old\)", detail), e
    eq(e["failing"], False, "a later batch went through whole")
    eq(e["failed"], 0, "no attempt counted failed")
    # nothing twice: each post carries new runs only
    ids = [s["traceId"] for doc in col.lines for rs in doc["resourceSpans"]
           for ss in rs["scopeSpans"] for s in ss["spans"] if not s.get("parentSpanId")]
    eq(len(ids), len(set(ids)), "every trace once")


def test_otlp_traces_decode_and_nest():
    """OTLP/HTTP JSON: each run a trace whose root span holds one child per phase, in order
    and inside it; the body decodes with the OpenTelemetry protobuf definitions (npm)."""
    import subprocess
    bodies = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append((self.path, self.headers.get("Content-Type"),
                           self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _, mport = start_tool("mockhttp")
    _, jport = start_tool("outpost-mock")
    cfg = {"appliance": {"name": "edge-ot", "region": "lab", "labels": {"site": "roof"}},
           "spool": {"dir": tempfile.mkdtemp(), "flush_every": "200ms"},
           "exports": {"traces": {"type": "otlp",
                                  "url": f"http://127.0.0.1:{srv.server_address[1]}/v1/traces",
                                  "headers": {"X-Api-Key": "k"}}},
           "probes": [{"name": "api", "kind": "http", "target": f"http://127.0.0.1:{mport}/delay/20",
                       "interval": "300ms", "timeout": "250ms"},
                      {"name": "down", "kind": "tcp", "target": f"127.0.0.1:{free_port()}",
                       "interval": "300ms", "timeout": "250ms"},
                      {"name": "jobs", "kind": "scenario", "target": f"http://127.0.0.1:{jport}",
                       "interval": "1s", "timeout": "900ms", "steps": [
                           {"name": "list", "request": {"url": "/jobs"}},
                           {"name": "missing", "request": {"url": "/jobs/job-999"}},
                           {"name": "after", "request": {"url": "/jobs"}, "always": True}]}]}
    app = Appliance(cfg)
    wait_for(lambda: len(bodies) >= 3 and b'probe jobs' in b"".join(b for _, _, b in bodies),
             15, "three exports with a scenario run")
    app.stop()
    path, ctype, raw = bodies[0]
    eq((path, ctype), ("/v1/traces", "application/json"), "request")
    r = subprocess.run(["node", os.path.join(ROOT, "tests/browser/otlp.js")], input=raw,
                       capture_output=True, timeout=60,
                       env={**os.environ, "NODE_PATH": os.path.join(ROOT, "build/npm/node_modules")})
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    out = json.loads(r.stdout)
    eq(out["valid"], True, "decodes")
    eq(out["traceIdBytes"], 16, "trace id")
    assert {"service.name", "outpost.appliance", "cloud.region", "site"} <= set(out["resource"]), out
    spans = [sp for _, _, b in bodies for sp in
             json.loads(b)["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    roots = {sp["spanId"]: sp for sp in spans if "parentSpanId" not in sp}
    kids = [sp for sp in spans if "parentSpanId" in sp]
    assert roots and kids, spans[:3]
    for k in kids:
        parent = roots[k["parentSpanId"]]
        eq(k["traceId"], parent["traceId"], "one trace per run")
        assert int(parent["startTimeUnixNano"]) <= int(k["startTimeUnixNano"]) <= \
            int(k["endTimeUnixNano"]) <= int(parent["endTimeUnixNano"]) + 1000, (parent, k)
    api = [sp for sp in roots.values() if sp["name"] == "probe api"]
    down = [sp for sp in roots.values() if sp["name"] == "probe down"]
    assert api and down, [sp["name"] for sp in roots.values()]
    eq(api[0]["status"]["code"], 1, "ok status")
    eq(down[0]["status"]["code"], 2, "error status")
    assert "refused" in down[0]["status"]["message"], down[0]
    names = [k["name"] for k in kids if k["parentSpanId"] == api[0]["spanId"]]
    order = ["resolve", "connect", "tls", "processing", "transfer"]
    eq(names, [n for n in order if n in names], "phases in order (those that took time)")
    assert "processing" in names, names
    proc = [k for k in kids if k["parentSpanId"] == api[0]["spanId"] and k["name"] == "processing"][0]
    assert (int(proc["endTimeUnixNano"]) - int(proc["startTimeUnixNano"])) / 1e6 >= 20, proc
    # a scenario's children are its steps, with their outcome; the skipped one is left out
    jobs = [sp for sp in roots.values() if sp["name"] == "probe jobs"][0]
    steps = [(k["name"], k["status"]["code"]) for k in kids if k["parentSpanId"] == jobs["spanId"]]
    eq(steps, [("step list", 1), ("step missing", 2), ("step after", 1)], "scenario steps")
    eq(jobs["status"]["code"], 2, "the scenario failed")
    print(f"# export: otlp: {len(bodies)} requests, {len(roots)} traces, {len(kids)} phase spans, "
          f"decoded by the OpenTelemetry protobuf definitions")


run(globals())
