"""The JSON API under /api/v1/: shapes, status codes, auth, errors, the OpenAPI document
(validated by an npm validator), and a page of 500 probes."""
import json
import os
import subprocess
import time
import urllib.request
from lib import *

NODE_PATH = os.path.join(ROOT, "build/npm/node_modules")


def call(app, method, path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{app.port}{path}", method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def appliance(mport, token="t0ken", extra=()):
    probes = [{"name": "api", "kind": "http", "target": f"http://127.0.0.1:{mport}/json",
               "interval": "1s", "timeout": "900ms"},
              {"name": "broken", "kind": "http", "target": f"http://127.0.0.1:{mport}/status/503",
               "interval": "1s", "timeout": "900ms"}, *extra]
    web = {"token": token} if token else {}
    return Appliance({"appliance": {"name": "edge-9", "region": "eu-1", "labels": {"site": "x"}},
                      "web": web, "probes": probes})


def test_read_endpoints():
    _, mport = start_tool("mockhttp")
    app = appliance(mport)
    wait_for(lambda: call(app, "GET", "/api/v1/probes/api/results")[1]["results"], 10, "results")
    wait_for(lambda: len(call(app, "GET", "/api/v1/probes/api/results")[1]["results"]) >= 2, 10,
             "two results")
    s, a = call(app, "GET", "/api/v1/appliance")
    eq(s, 200, "appliance")
    eq((a["name"], a["region"], a["labels"]), ("edge-9", "eu-1", {"site": "x"}), "identity")
    eq(a["limits"]["history"], 120, "limits")
    assert a["pools"]["runs"]["max"] == 64 and a["writes_enabled"] is True, a
    s, p = call(app, "GET", "/api/v1/probes?history=5")
    eq(s, 200, "probes")
    by = {x["name"]: x for x in p["probes"]}
    eq(by["api"]["state"], "up", "api up")
    eq(by["broken"]["state"], "down", "broken down")
    eq(by["broken"]["last_failure"]["detail"], "status 503, expected 2xx", "reason")
    assert 1 <= len(by["api"]["history"]) <= 5 and by["api"]["success_ratio"] == 1.0, by["api"]
    # one probe alone: the same object the list holds
    s, one = call(app, "GET", "/api/v1/probes/broken")
    eq((s, one["name"], one["kind"], one["last_failure"]["detail"], "history" in one),
       (200, "broken", by["broken"]["kind"], "status 503, expected 2xx", False), "one probe")
    s, one = call(app, "GET", "/api/v1/probes/api?history=2")
    assert s == 200 and 1 <= len(one["history"]) <= 2, one
    s, r = call(app, "GET", "/api/v1/probes/api/results?limit=1")
    eq(len(r["results"]), 1, "limit")
    row = r["results"][0]
    eq(sorted(row), sorted(["timestamp", "probe", "kind", "target", "region", "success",
                            "duration_ms", "phases", "reason", "detail", "http_status", "http"]),
       "row")
    eq((row["http"]["version"], row["http"]["redirects"], row["http"]["ssl"]), ("1.1", 0, False),
       "the response's facts")
    assert row["http"]["body_bytes"] > 0 and row["http"]["content_length"] > 0, row
    eq((row["probe"], row["region"], row["success"]), ("api", "eu-1", True), "row values")
    newest = row["timestamp"]
    s, r = call(app, "GET", f"/api/v1/probes/api/results?since={newest}")
    assert all(x["timestamp"] >= newest for x in r["results"]) and r["results"], r
    s, r = call(app, "GET", "/api/v1/probes/api/results?since=2999-01-01T00:00:00Z")
    eq(r["results"], [], "nothing in the future")
    for path, code in (("/api/v1/probes/nope/results", 404), ("/api/v1/nope", 404),
                       ("/api/v1/probes/nope", 404), ("/api/v1/probes/api?history=x", 400),
                       ("/api/v1/probes?history=x", 400),
                       ("/api/v1/probes/api/results?limit=-1", 400),
                       ("/api/v1/probes/api/results?since=yesterday", 400)):
        s, e = call(app, "GET", path)
        eq(s, code, path)
        assert set(e) == {"error", "detail"}, e
    eq(call(app, "GET", "/api/v1/probes/api/run")[0], 405, "GET on a POST endpoint")
    app.stop()


def test_head_gets_the_head_alone():
    """HEAD answers as GET does with no body (RFC 9110 9.3.2): a body left in would be read as
    the next answer on the same kept-alive connection, as a balancer's health check keeps it.
    A 405 names the methods in Allow."""
    import http.client
    _, mport = start_tool("mockhttp")
    app = appliance(mport)
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    for path in ("/healthz", "/metrics", "/", "/assets/app.js", "/api/v1/appliance",
                 "/api/v1/probes", "/api/v1/probes/api/results", "/api/v1/silences",
                 "/probe?module=nope&target=x", "/api/v1/nope"):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        conn.request("HEAD", path)
        h = conn.getresponse()
        eq((h.status, h.read()), (r.status, b""), f"HEAD {path}")
        eq(h.getheader("Content-Type"), r.getheader("Content-Type"), f"HEAD {path} type")
        if r.getheader("Content-Length") and not path.startswith(("/api/v1/probes", "/api/v1/app")):
            eq(h.getheader("Content-Length"), str(len(body)), f"HEAD {path} length")
        # the next answer on the connection is whole and its own
        conn.request("GET", "/healthz")
        n = conn.getresponse()
        eq((n.status, n.read()[:3]), (200, b"ok:"), f"the answer after HEAD {path}")
    for method, path, allow in (("GET", "/api/v1/reload", "POST"),
                                ("DELETE", "/api/v1/probes", "GET, HEAD"),
                                ("PUT", "/api/v1/silences", "GET, POST, HEAD")):
        conn.request(method, path)
        r = conn.getresponse()
        eq((r.status, r.getheader("Allow")), (405, allow), f"{method} {path}")
        eq(json.loads(r.read())["error"], "method_not_allowed", f"{method} {path} body")
    conn.close()
    app.stop()


def shape(x):
    """A JSON value's keys all the way down, without the values."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    return type(x).__name__


def test_the_command_line_prints_the_apis_row():
    """outpost probe is where an operator first sees a result, and where a script for the API or
    a collector's results_webhook is written: its line is the row the API and the collectors
    get, key for key (a success, a failure, a WebSocket run)."""
    _, mport = start_tool("mockhttp")
    _, wport = start_tool("outpost-mock")
    extra = [{"name": "ws", "kind": "ws", "target": f"ws://127.0.0.1:{wport}/echo",
              "interval": "1h", "send": "hi"}]
    app = appliance(mport, extra=extra)
    for name, args in (("api", ["http", f"http://127.0.0.1:{mport}/json"]),
                       ("broken", ["http", f"http://127.0.0.1:{mport}/status/503"]),
                       ("ws", ["ws", f"ws://127.0.0.1:{wport}/echo", "--send", "hi"])):
        s, row = call(app, "POST", f"/api/v1/probes/{name}/run", "t0ken")
        eq(s, 200, f"{name}: {row}")
        _, line = probe(*args)
        eq(shape(line), shape(row), f"outpost probe {args[0]} against the API's row of {name}")
        eq((line["success"], line.get("http_status")), (row["success"], row.get("http_status")),
           name)
    app.stop()


def test_writes_need_the_token():
    _, mport = start_tool("mockhttp")
    app = appliance(mport)
    s, e = call(app, "POST", "/api/v1/probes/api/run")
    eq(s, 401, "no token")
    eq(call(app, "POST", "/api/v1/probes/api/run", "wrong")[0], 401, "wrong token")
    t0 = time.time()
    s, r = call(app, "POST", "/api/v1/probes/api/run", "t0ken")
    eq(s, 200, f"{r}")
    eq((r["probe"], r["success"], r["http_status"]), ("api", True, 200), "result")
    assert abs(time.mktime(time.strptime(r["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) -
               time.mktime(time.gmtime(t0))) < 5
    eq(call(app, "POST", "/api/v1/probes/nope/run", "t0ken")[0], 404, "unknown probe")
    # the run went into the probe's history
    s, r2 = call(app, "GET", "/api/v1/probes/api/results?limit=5")
    assert any(x["timestamp"] == r["timestamp"] for x in r2["results"]), r2
    eq(call(app, "GET", "/api/v1/appliance")[1]["last_reload"], None, "no reload yet")
    s, r = call(app, "POST", "/api/v1/reload", "t0ken")
    eq((s, r), (200, {"status": "reloaded", "probes": 2}), "the reload's outcome")
    eq(metric(app.metrics(), "outpost_config_reloads_total", result="success"), 1, "counted")
    app.stop()


def test_a_reload_says_why_it_was_refused():
    """A script that writes the config and asks for a reload learns the outcome: the error
    with file:line:col when the file is broken (the running config goes on), and
    /api/v1/appliance keeps the last outcome for whoever looks later (it answered 202, and
    the error was on stderr only)."""
    _, mport = start_tool("mockhttp")
    app = appliance(mport)
    good = open(app.path).read()
    with open(app.path, "w") as f:
        f.write(good.replace('"interval": "1s"', '"interval": "1 s"', 1))
    s, r = call(app, "POST", "/api/v1/reload", "t0ken")
    eq((s, r["error"]), (422, "reload refused, keeping the running config"), f"{r}")
    assert r["detail"].startswith(app.path + ":18:19: ") and '"1 s"' in r["detail"], r
    last = call(app, "GET", "/api/v1/appliance")[1]["last_reload"]
    eq((last["ok"], last["error"]), (False, r["detail"]), "kept for later")
    eq(metric(app.metrics(), "outpost_config_last_reload_successful"), 0, "a gauge to alert on")
    eq(call(app, "GET", "/api/v1/probes")[1]["probes"][0]["name"], "api", "still running")
    with open(app.path, "w") as f:
        f.write(good)
    s, r = call(app, "POST", "/api/v1/reload", "t0ken")
    eq(s, 200, f"{r}")
    last = call(app, "GET", "/api/v1/appliance")[1]["last_reload"]
    eq((last["ok"], last["error"]), (True, ""), "the next one took")
    m = app.metrics()
    eq(metric(m, "outpost_config_last_reload_successful"), 1, "and the gauge says so")
    eq((metric(m, "outpost_config_reloads_total", result="failure"),
        metric(m, "outpost_config_reloads_total", result="success")), (1, 1), "counted")
    app.stop()


def test_run_now_while_it_runs_is_busy():
    """"Run now" on a probe already running answers 409 at once rather than queue behind it;
    the run it waited for comes back whole."""
    import threading
    _, mport = start_tool("mockhttp")
    app = appliance(mport, extra=[{"name": "slow", "kind": "http", "interval": "30s",
                                   "target": f"http://127.0.0.1:{mport}/delay/1500",
                                   "timeout": "5s"}])
    # (its first scheduled run comes within a second of start; the next one 30 s later)
    wait_for(lambda: sum(v for lab, v in app.metrics().get("outpost_probe_runs_total", [])
                         if lab["probe"] == "slow") == 1, 5, "the scheduled run")
    got = []
    t = threading.Thread(target=lambda: got.append(call(app, "POST", "/api/v1/probes/slow/run",
                                                        "t0ken")))
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    s, e = call(app, "POST", "/api/v1/probes/slow/run", "t0ken")
    eq((s, e["error"]), (409, "busy"), f"{e}")
    assert time.monotonic() - t0 < 0.5, "answered at once"
    t.join(10)
    eq((got[0][0], got[0][1]["success"]), (200, True), f"{got}")
    assert got[0][1]["duration_ms"] >= 1500, got
    app.stop()


def test_idle_connections_do_not_hold_the_web_server():
    """Connections that send nothing (a browser's preconnects, a balancer's checks) each hold
    one of the web server's 8 threads until their request times out: six of them leave /metrics
    answering at once, not after the 10 s they held it with 4 threads."""
    import socket
    _, mport = start_tool("mockhttp")
    app = appliance(mport)
    idle = [socket.create_connection(("127.0.0.1", app.port)) for _ in range(6)]
    time.sleep(0.3)
    t0 = time.monotonic()
    s, body = app.get("/metrics", timeout=15)
    took = time.monotonic() - t0
    eq(s, 200, "metrics")
    assert took < 2, f"/metrics took {took:.1f} s behind six idle connections"
    for k in idle:
        k.close()
    app.stop()


def test_writes_off_without_a_token():
    _, mport = start_tool("mockhttp")
    app = appliance(mport, token=None)
    s, e = call(app, "POST", "/api/v1/reload", "anything")
    eq(s, 403, "forbidden")
    assert "web.token" in e["detail"], e
    app.stop()


def test_page_basic_auth():
    import base64
    _, mport = start_tool("mockhttp")
    port = free_port()
    app_cfg = {"web": {"listen": f"127.0.0.1:{port}", "token": "t0ken", "user": "ops",
                       "password": "pa55"},
               "probes": [{"name": "api", "kind": "http",
                           "target": f"http://127.0.0.1:{mport}/json"}]}
    path = write(app_cfg)
    p = subprocess.Popen([OUTPOST, "run", "-c", path], env=outpost_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import lib
    lib._procs.append(p)

    def status(path, auth=None):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return 0
    wait_for(lambda: status("/healthz") == 200, 10, "healthz without auth")
    good = "Basic " + base64.b64encode(b"ops:pa55").decode()
    bad = "Basic " + base64.b64encode(b"ops:nope").decode()
    for path in ("/", "/metrics", "/api/v1/probes"):
        eq(status(path), 401, f"{path} without credentials")
        eq(status(path, bad), 401, f"{path} with a wrong password")
        eq(status(path, good), 200, f"{path} with credentials")
    eq(status("/api/v1/probes", "Bearer t0ken"), 200, "the API token passes too")
    p.terminate()
    p.wait(timeout=10)


def test_openapi_document_validates_and_matches():
    _, mport = start_tool("mockhttp")
    app = appliance(mport)
    r = subprocess.run(["node", os.path.join(ROOT, "tests/browser/openapi.js"),
                        f"http://127.0.0.1:{app.port}/api/v1/openapi.json"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "NODE_PATH": NODE_PATH})
    out = json.loads(r.stdout)
    eq(out["valid"], True, f"{out}")
    eq(out["paths"], {"/appliance": ["get"], "/probes": ["get"], "/probes/{name}": ["get"],
                      "/probes/{name}/results": ["get"], "/probes/{name}/logs": ["get"],
                      "/probes/{name}/run": ["post"], "/alarms": ["get"], "/exports": ["get"],
                      "/silences": ["get", "post"], "/notify/test": ["post"],
                      "/reload": ["post"], "/openapi.json": ["get"]}, "paths")
    # every documented GET without parameters answers
    for path, methods in out["paths"].items():
        if "get" in methods and "{" not in path:
            eq(app.get("/api/v1" + path)[0], 200, path)
    app.stop()


def test_500_probes_page_stays_usable():
    _, mport = start_tool("mockhttp")
    extra = [{"name": f"p{i:03d}", "kind": "http", "target": f"http://127.0.0.1:{mport}/bytes/10",
              "interval": "10s", "timeout": "5s"} for i in range(498)]
    app = Appliance({"limits": {"max_probes": 500}, "probes": [
        {"name": "api", "kind": "http", "target": f"http://127.0.0.1:{mport}/json"},
        {"name": "broken", "kind": "http", "target": f"http://127.0.0.1:{mport}/status/503"},
        *extra]})
    time.sleep(11)  # every probe has run
    sizes, times = [], []
    for _ in range(5):
        t0 = time.monotonic()
        s, body = app.get("/api/v1/probes?history=60")
        times.append(time.monotonic() - t0)
        sizes.append(len(body))
        eq(s, 200, "probes")
    n = len(json.loads(body)["probes"])
    eq(n, 500, "probes listed")
    times.sort()
    print(f"# api: /api/v1/probes?history=60 with 500 probes: {sizes[-1]} bytes, "
          f"median {times[2] * 1000:.1f} ms")
    t0 = time.monotonic()
    s, page = app.get("/")
    print(f"# api: / with 500 probes: {len(page)} bytes in {(time.monotonic() - t0) * 1000:.1f} ms")
    eq(metric(app.metrics(), "outpost_engine_allocs_total"), 0, "engine allocations")
    app.stop()


run(globals())
