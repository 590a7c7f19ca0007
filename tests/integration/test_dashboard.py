"""The dashboard in Debian's headless chromium (playwright-core): every probe row shows its
state, latency and sparkline, a failing probe shows its reason, a TLS probe the days its
certificate has left, a refused reload its error, "run now" works with the token, the page
reads without JavaScript, and a screenshot is saved under build/."""
import json
import os
import signal
import socket
import subprocess
import tempfile
from lib import *
import certs
import lib


def test_dashboard_in_chromium():
    _, mport = start_tool("mockhttp")
    _, xport = start_tool("outpost-mock")
    d, tport = certs.make(), free_port()
    lib._procs.append(subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{tport}", "-rev", "-quiet", "-cert",
         f"{d}/good.pem", "-key", f"{d}/good.key"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL))
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", tport)) == 0, 10, "s_server")
    app = Appliance({
        "appliance": {"name": "edge-01", "region": "ap-south-1"},
        "web": {"token": "t0ken"},
        "probes": [
            {"name": "api", "kind": "http", "target": f"http://127.0.0.1:{mport}/json",
             "interval": "1s", "timeout": "900ms"},
            {"name": "slow", "kind": "http", "target": f"http://127.0.0.1:{mport}/delay/40",
             "interval": "1s", "timeout": "900ms"},
            {"name": "broken", "kind": "http", "target": f"http://127.0.0.1:{mport}/status/503",
             "interval": "1s", "timeout": "900ms"},
            {"name": "db", "kind": "tcp", "target": f"127.0.0.1:{free_port()}",
             "interval": "1s", "timeout": "900ms"},
            {"name": "resolve", "kind": "dns", "target": "localhost", "interval": "1s",
             "timeout": "900ms"},
            {"name": "socket", "kind": "ws", "target": f"ws://127.0.0.1:{xport}/echo",
             "send": "hi", "interval": "1s", "timeout": "900ms"},
            {"name": "events", "kind": "pipeline", "target": f"http://127.0.0.1:{xport}/events",
             "subscribe": f"ws://127.0.0.1:{xport}/subscribe", "interval": "1s",
             "timeout": "900ms"},
            {"name": "mail", "kind": "tcp", "target": f"localhost:{tport}",
             "tls": {"ca_file": f"{d}/ca.pem"}, "interval": "1s", "timeout": "900ms"}],
        "alarms": [{"name": "db-down", "probes": ["db"], "when": "failures"}],
        # deliveries that cannot get through: the page says which, and why
        "notifications": {"hook": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/"}},
        "spool": {"dir": tempfile.mkdtemp(), "flush_every": "200ms"},
        "exports": {"hub": {"type": "results_webhook",
                            "url": f"http://127.0.0.1:{free_port()}/ingest"}}})
    wait_for(lambda: len([1 for lab, v in app.metrics().get("probe_success", [])]) == 8, 10,
             "every probe ran")
    def two_runs_each():
        total = {}
        for lab, v in app.metrics()["outpost_probe_runs_total"]:
            total[lab["probe"]] = total.get(lab["probe"], 0) + v
        return len(total) == 8 and min(total.values()) >= 2
    wait_for(two_runs_each, 10, "two runs of every probe")
    # a config edit that does not load: the page says so, and why; the running config goes on
    good = open(app.path).read()
    with open(app.path, "w") as f:
        f.write(good.replace('"interval": "1s"', '"interval": "1 s"', 1))
    app.signal(signal.SIGHUP)
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="failure") == 1,
             10, "the reload refused")
    shot = os.path.join(ROOT, "build/dashboard.png")
    r = subprocess.run(["node", os.path.join(ROOT, "tests/browser/dashboard.js"),
                        f"http://127.0.0.1:{app.port}/", "t0ken", shot], capture_output=True,
                       text=True, timeout=120,
                       env={**os.environ, "NODE_PATH": os.path.join(ROOT, "build/npm/node_modules")})
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    rows = out["rows"]
    eq(sorted(rows), ["api", "broken", "db", "events", "mail", "resolve", "slow", "socket"],
       "rows")
    for name in ("api", "slow", "resolve", "socket", "events", "mail"):
        eq(rows[name]["state"], "up", name)
    for name in ("broken", "db"):
        eq(rows[name]["state"], "down", name)
    assert "status 503, expected 2xx" in rows["broken"]["reason"], rows["broken"]
    assert "connection refused" in rows["db"]["reason"], rows["db"]
    assert rows["slow"]["latency"].endswith(" ms") and float(rows["slow"]["latency"][:-3]) >= 40
    assert all(r["spark"] for r in rows.values()), rows
    ev = rows["events"]["events"] or ""
    assert " posted · " in ev and "subscription open" in ev, rows["events"]
    eq(rows["api"]["events"], None, "no event line on other kinds")
    # the test certificate is valid for 30 days from its making
    eq(rows["mail"]["cert"], "TLS 1.2 · certificate expires in 29 days", "certificate line")
    eq(rows["api"]["cert"], None, "no certificate line without TLS")
    eq(len(out["alarms"]), 1, "one alarm on the page")
    assert out["alarms"][0].startswith("db-down · db · firing") and "refused" in out["alarms"][0], out
    dl = sorted(out["deliveries"])
    eq(len(dl), 2, f"two deliveries failing: {dl}")
    assert dl[0].startswith("hook · webhook channel · 1 queued · failing") and \
        "refused" in dl[0], dl
    assert dl[1].startswith("hub · export · ") and " results pending · failing" in dl[1] and \
        "refused" in dl[1], dl
    eq(len(out["config"]), 1, "the refused reload on the page")
    assert out["config"][0].startswith("reload refused · the running config goes on") and \
        f'{app.path}:' in out["config"][0] and '"1 s" is not a duration' in out["config"][0], out
    assert out["run"].startswith("ok "), out
    assert out["detail_rows"] >= 2, out
    eq(out["phone_overflow"], False, "fits a phone screen")
    eq(sorted(out["noscript"]), sorted(rows), "rows without JavaScript")
    eq(out["noscript"]["broken"], "down", "state without JavaScript")
    eq(out["noscript_cert"]["mail"], rows["mail"]["cert"], "certificate line without JavaScript")
    eq(out["noscript_cert"]["api"], None, "no certificate line without TLS, without JavaScript")
    assert os.path.getsize(shot) > 10000
    print(f"# dashboard: screenshot {shot}")
    app.stop()


run(globals())
