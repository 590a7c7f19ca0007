"""The scenario probe against outpost-mock's job API: list, submit, poll until completed,
fetch and verify the output, clean up. It passes; a failed job, a wrong output (sha256), a
poll deadline and a 500 each fail naming the step and the assertion; the cleanup step runs
after a failure; three concurrent runs submit three jobs and pass only together."""
import hashlib
import http.server
import json
import threading
import time
import urllib.request
import zlib
from lib import *

OUTPUT = "outpost-mock job output for spec=hello\n"


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def steps(within="3s"):
    return [
        {"name": "list", "request": {"url": "/jobs"}, "expect": {"status": 200,
                                                                   "body_contains": "jobs"}},
        # a JSON body goes as application/json (the mock, as Spring, answers 415 otherwise)
        {"name": "submit", "request": {"method": "POST", "url": "/jobs",
                                       "body": "{\"spec\": \"{{spec}}\"}"},
         "expect": {"status": 201}, "capture": {"job_id": "$.id"}},
        {"name": "wait", "request": {"url": "/jobs/{{job_id}}"},
         "poll": {"every": "50ms", "within": within,
                  "until": {"json": {"$.state": "completed"}},
                  "fail_when": {"json": {"$.state": "failed"}}}},
        {"name": "describe", "request": {"url": "/jobs/{{job_id}}"},
         "expect": {"json": {"$.spec": "hello"}}},
        {"name": "get-output", "request": {"url": "/jobs/{{job_id}}/output"},
         "verify": {"sha256": hashlib.sha256(OUTPUT.encode()).hexdigest(), "contains": "hello"}},
        {"name": "cleanup", "request": {"method": "DELETE", "url": "/jobs/{{job_id}}"},
         "expect": {"status": 204}, "always": True},
    ]


def scenario(mock, **extra):
    p = {"name": "jobs", "kind": "scenario", "target": f"http://127.0.0.1:{mock}",
         "interval": "1500ms", "timeout": "1400ms", "vars": {"spec": "hello"},
         "steps": steps(extra.pop("within", "1s"))}
    p.update(extra)
    return {"probes": [p]}


def results(app):
    return json.loads(app.get("/api/v1/probes/jobs/results")[1])["results"]


def last_run(app, n=1):
    wait_for(lambda: len(results(app)) >= n, 10, f"{n} runs")
    return results(app)[0]


def test_the_canary_flow_passes_with_step_series():
    _, mock = start_tool("outpost-mock")
    get_json(f"http://127.0.0.1:{mock}/config?JOB_DELAY_MS=200")
    app = Appliance(scenario(mock))
    r = last_run(app)
    eq((r["success"], r["detail"]), (True, "6 steps passed"), f"{r}")
    time.sleep(1.1)  # the step series are published once a second
    m = app.metrics()
    for step in ("list", "submit", "wait", "describe", "get-output", "cleanup"):
        eq(metric(m, "outpost_scenario_step_success", probe="jobs", step=step), 1, step)
    wait = metric(m, "outpost_scenario_step_duration_seconds", probe="jobs", step="wait")
    assert 0.15 <= wait <= 0.5, wait  # the job takes 200 ms to complete: polled until then
    p = json.loads(app.get("/api/v1/probes")[1])["probes"][0]
    eq([s["state"] for s in p["steps"]], ["passed"] * 6, "steps in the API")
    eq(get_json(f"http://127.0.0.1:{mock}/jobs")["jobs"], [], "cleaned up")
    promtool_check(app.get("/metrics")[1])


def test_every_step_goes_through_the_proxy():
    _, mock = start_tool("outpost-mock")
    get_json(f"http://127.0.0.1:{mock}/config?JOB_DELAY_MS=200")
    app = Appliance(scenario(mock, proxy=f"http://127.0.0.1:{tinyproxy()}"))
    r = last_run(app)
    eq((r["success"], r["detail"]), (True, "6 steps passed"), f"{r}")
    app.stop()
    # a proxy that is not there: the first step cannot connect, though the target is up
    app = Appliance(scenario(mock, proxy=f"http://127.0.0.1:{free_port()}"))
    r = last_run(app)
    eq((r["success"], r["reason"]), (False, "refused"), f"{r}")
    assert r["detail"].startswith('step "list":'), r


def test_failures_name_the_step_and_cleanup_still_runs():
    _, mock = start_tool("outpost-mock")
    base = f"http://127.0.0.1:{mock}"
    cases = [
        ("JOB_DELAY_MS=100&JOB_FAIL_PERCENT=100", 'step "wait": fail_when matched'),
        ("JOB_DELAY_MS=100&JOB_WRONG_OUTPUT_PERCENT=100", 'step "get-output": body sha256 mismatch'),
        ("JOB_DELAY_MS=5000", 'step "wait": not done within 1.0 s'),
    ]
    for faults, detail in cases:
        get_json(f"{base}/config?JOB_FAIL_PERCENT=0&JOB_WRONG_OUTPUT_PERCENT=0&JOB_ERROR_PERCENT=0")
        get_json(f"{base}/config?{faults}")
        app = Appliance(scenario(mock))
        r = last_run(app)
        app.stop()
        eq(r["success"], False, faults)
        assert r["detail"].startswith(detail), (faults, r["detail"])
        eq(r["reason"], "expect", faults)
        # the "always" step deleted the job the failed run submitted
        eq(get_json(f"{base}/jobs")["jobs"], [], f"cleanup after {faults}")
    # a 500 from the API names the status
    get_json(f"{base}/config?JOB_DELAY_MS=100&JOB_WRONG_OUTPUT_PERCENT=0&JOB_ERROR_PERCENT=100")
    app = Appliance(scenario(mock))
    r = last_run(app)
    eq(r["detail"], 'step "list": status 500, expected 200', "500")
    # nothing listening: the step names the connection failure
    app.stop()
    app = Appliance(scenario(free_port()))
    r = last_run(app)
    assert r["detail"].startswith('step "list": 127.0.0.1 port') and r["reason"] == "refused", r


def test_a_capture_says_why_it_found_nothing():
    _, mock = start_tool("outpost-mock")
    get_json(f"http://127.0.0.1:{mock}/config?JOB_DELAY_MS=100")
    cases = [("/json", "$.items[1]", "6 steps passed"),  # found: the run goes on
             ("/json", "$.missing", 'step "probe": capture x: $.missing absent'),
             ("/bytes/40", "$.x", 'step "probe": capture x: the body is not JSON')]
    for url, path, detail in cases:
        p = scenario(mock)
        p["probes"][0]["steps"].insert(0, {"name": "probe", "request": {"url": url},
                                           "capture": {"x": path}})
        app = Appliance(p)
        r = last_run(app)
        app.stop()
        eq(r["detail"], detail.replace("6 steps", "7 steps"), url + path)


def test_a_location_header_leads_to_the_job():
    """Submit answers 201 with the job's whole URL in Location: captured from the header, it is
    where the later steps go (replacing the value "vars" started it with)."""
    _, mock = start_tool("outpost-mock")
    get_json(f"http://127.0.0.1:{mock}/config?JOB_DELAY_MS=100")
    p = scenario(mock, vars={"spec": "hello", "job": "http://127.0.0.1:1/nowhere"})
    st = p["probes"][0]["steps"]
    st[1]["capture"] = {"job": "header:Location"}
    for s in st[2:]:
        s["request"]["url"] = s["request"]["url"].replace("/jobs/{{job_id}}", "{{job}}")
    app = Appliance(p)
    r = last_run(app)
    eq((r["success"], r["detail"]), (True, "6 steps passed"), "via Location")
    # a header that is not there fails the capture by name
    st[1]["capture"] = {"job": "header:X-Job"}
    app.stop()
    app = Appliance(p)
    r = last_run(app)
    eq(r["detail"], 'step "submit": capture job: header X-Job absent', "absent header")
    app.stop()
    # a value that is no URL fails the step that would go there, when it is known
    st[1]["capture"] = {"job": "$.id"}
    app = Appliance(p)
    r = last_run(app)
    assert (r["detail"].startswith('step "wait": url "job-') and
            r["detail"].endswith('" is not an http(s) URL')), r
    app.stop()


TOKEN = "eyJ" + "x" * 1500  # a bearer token as long as a real JWT gets


class Hostile(http.server.BaseHTTPRequestHandler):
    """An API whose values are built to break the next request: a space, quotes and angle
    brackets for a URL, a line break (a header of its choosing) for a header, a long token,
    and one value too big to keep. It records every request it is sent."""
    seen = []
    values = {"path": 'a b"<x>/c?q=1&r=2', "crlf": "v\r\nX-Evil: 1", "token": TOKEN,
              "huge": "h" * 5000}

    def do_GET(self):
        Hostile.seen.append((self.path, dict(self.headers)))
        body = json.dumps(Hostile.values).encode()  # the line break as \r\n: decoded
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_captured_values_are_made_safe_for_where_they_go():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"

    def run_steps(*later):
        Hostile.seen.clear()
        steps = [{"name": "start", "request": {"url": "/start"},
                  "capture": {"path": "$.path", "crlf": "$.crlf", "token": "$.token"}}]
        steps += list(later)
        app = Appliance({"probes": [{"name": "jobs", "kind": "scenario", "target": base,
                                     "interval": "2s", "timeout": "1s", "steps": steps}]})
        r = last_run(app)
        app.stop()
        return r, list(Hostile.seen)

    # into a URL: percent-encoded where it would not be valid, the query left as it is;
    # into a header: a 1.5 KB token whole
    r, seen = run_steps({"name": "item", "request": {"url": "/item/{{path}}"}},
                        {"name": "auth", "request": {"url": "/me", "headers": {
                            "Authorization": "Bearer {{token}}"}}})
    eq((r["success"], r["detail"]), (True, "3 steps passed"), f"{r}")
    eq(seen[1][0], "/item/a%20b%22%3Cx%3E/c?q=1&r=2", "the URL sent")
    eq(seen[2][1].get("Authorization"), "Bearer " + TOKEN, "the token sent")
    # a line break from the server never reaches a header: the step fails, nothing is sent
    r, seen = run_steps({"name": "inject", "request": {"url": "/x", "headers": {
        "X-Id": "{{crlf}}"}}})
    eq(r["detail"], 'step "inject": {{crlf}} holds a control character: not put in a header',
       f"{r}")
    eq(len(seen), 1, "no request for the step")
    # a value too big for the run's room fails its capture by name, not cut short
    r, _ = run_steps({"name": "big", "request": {"url": "/big"}, "capture": {"h": "$.huge"}})
    eq(r["detail"], 'step "big": capture h: 5000 bytes do not fit (the values of a run hold '
       '4096 bytes in all)', f"{r}")
    srv.shutdown()


def test_the_targets_user_and_password_go_to_its_host_only():
    """A scenario whose target carries user:password@: its steps on that host send it as
    Authorization: Basic (a relative URL, or the host written out); a step on another host
    does not; the API shows the target without the password."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    Hostile.seen.clear()
    app = Appliance({"probes": [{
        "name": "jobs", "kind": "scenario", "target": f"http://op:s3cret@127.0.0.1:{port}",
        "interval": "2s", "timeout": "1s",
        "steps": [{"name": "rel", "request": {"url": "/a"}},
                  {"name": "same", "request": {"url": f"http://127.0.0.1:{port}/b"}},
                  {"name": "other", "request": {"url": f"http://localhost:{port}/c"}}]}]})
    r = last_run(app)
    eq(r["success"], True, f"{r}")
    sent = {path: h.get("Authorization") for path, h in Hostile.seen[:3]}
    eq(sent, {"/a": "Basic b3A6czNjcmV0", "/b": "Basic b3A6czNjcmV0", "/c": None},
       "the credential where it belongs")
    body = app.get("/api/v1/probes")[1]
    assert f"http://op@127.0.0.1:{port}" in body and "s3cret" not in body, body[:400]
    app.stop()
    srv.shutdown()


def test_a_request_head_past_its_bound_fails_that_run_only():
    _, mock = start_tool("outpost-mock")
    pad = {"X-Pad": "x" * 2000, "X-V": "{{v1}}{{v2}}{{v3}}{{v4}}"}
    p = {"name": "jobs", "kind": "scenario", "target": f"http://127.0.0.1:{mock}",
         "interval": "1s", "timeout": "900ms", "vars": {f"v{i}": "v" * 250 for i in range(1, 5)},
         "steps": [{"name": "big", "request": {"method": "POST", "url": "/" + "p" * 990,
                                                "headers": pad, "body": "b"}}]}
    app = Appliance({"probes": [p]})
    r = last_run(app)
    eq((r["reason"], r["detail"]),
       ("too_large", 'step "big": request head larger than 4096 bytes'), f"{r}")
    wait_for(lambda: len(results(app)) >= 2, 5, "a second run")  # the loop goes on
    eq(app.get("/healthz")[0], 200, "healthy")


def test_concurrency_three_runs_at_once():
    _, mock = start_tool("outpost-mock")
    base = f"http://127.0.0.1:{mock}"
    get_json(f"{base}/config?JOB_DELAY_MS=300")
    app = Appliance(scenario(mock, concurrency=3, interval="3s", timeout="2s", within="1s"))
    r = last_run(app)
    eq((r["success"], r["detail"]), (True, "6 steps passed in 3 concurrent runs"), f"{r}")
    # three jobs were submitted at once: while they ran, the list showed three
    # (the whole run takes about the job's 300 ms, not three times it)
    assert r["duration_ms"] < 900, r
    # one of three runs failing fails the scenario
    get_json(f"{base}/config?JOB_FAIL_PERCENT=34&SEED=5")
    wait_for(lambda: not results(app)[0]["success"], 15, "a failed concurrent run")
    assert "fail_when matched" in results(app)[0]["detail"], results(app)[0]
    eq(metric(app.metrics(), "outpost_pool_failures_total", pool="runs"), 0, "run slots")


class Gzipped(http.server.BaseHTTPRequestHandler):
    """A JSON API that codes its answers gzip when the request accepts it (and /coded/ ones
    always), each sent in two parts 300 ms apart, so that runs at once decode at once. It
    records each request's path and Accept-Encoding."""
    protocol_version = "HTTP/1.1"
    seen = []

    def do_GET(self):
        Gzipped.seen.append((self.path, self.headers.get("Accept-Encoding")))
        name = self.path.rsplit("/", 1)[-1]
        body = (OUTPUT if name.startswith("j") else json.dumps({"id": "j42"})).encode()
        coded = "gzip" in (self.headers.get("Accept-Encoding") or "") or "/coded/" in self.path
        if coded:
            z = zlib.compressobj(6, zlib.DEFLATED, 31)
            body = z.compress(body) + z.flush()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if coded:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        time.sleep(0.3)
        self.wfile.write(body[len(body) // 2:])

    def log_message(self, *args):
        pass


def test_a_step_decodes_the_compression_it_asks_for():
    """A step with "compression": "gzip" asks for it and captures from, and verifies, the body
    decoded; a step without it asks for none; one whose server codes anyway fails naming the
    coding. Two runs at once decode at once (a decoder for each lane)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gzipped)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    steps = [{"name": "submit", "request": {"url": "/submit", "compression": "gzip"},
              "capture": {"id": "$.id"}},
             {"name": "output", "request": {"url": "/out/{{id}}", "compression": "gzip"},
              "verify": {"sha256": hashlib.sha256(OUTPUT.encode()).hexdigest()}},
             {"name": "plain", "request": {"url": "/out/j1"}, "verify": {"equals": OUTPUT}}]
    p = {"name": "jobs", "kind": "scenario", "target": f"http://127.0.0.1:{srv.server_address[1]}",
         "interval": "3s", "timeout": "2500ms", "concurrency": 2, "steps": steps}
    app = Appliance({"probes": [p]})
    r = last_run(app)
    eq((r["success"], r["detail"]), (True, "3 steps passed in 2 concurrent runs"), f"{r}")
    seen = sorted(set(Gzipped.seen))
    eq(seen, [("/out/j1", None), ("/out/j42", "gzip"), ("/submit", "gzip")], "asked for")
    # (the series are published once a second: the run's peak may come in the next)
    wait_for(lambda: metric(app.metrics(), "outpost_pool_peak", pool="inflaters") >= 2, 3,
             "two decoders taken at once")
    m = app.metrics()
    eq(metric(m, "outpost_pool_max", pool="inflaters"), 2, "decoders, one a lane")
    eq(metric(m, "outpost_pool_peak", pool="inflaters"), 2, "decoders taken at once")
    eq(metric(m, "outpost_pool_failures_total", pool="inflaters"), 0, "decoders")
    app.stop()
    # coded though not asked for: not read as if it were JSON, or text
    p["concurrency"] = 1
    hint = 'not read: the body came gzip-encoded (try "compression": "gzip")'
    for step, detail in [({"capture": {"id": "$.id"}}, f'step "s": capture id: {hint}'),
                         ({"verify": {"contains": "job"}}, f'step "s": verify: {hint}')]:
        p["steps"] = [dict(name="s", request={"url": "/coded/j1"}, **step)]
        app = Appliance({"probes": [p]})
        r = last_run(app)
        eq(r["detail"], detail, f"{r}")
        app.stop()
    srv.shutdown()


def test_config_errors():
    bad = [
        ({"steps": []}, '"steps" is a list of 1 to 12 steps'),
        ({"steps": [{"name": "a", "request": {"url": "jobs"}}]}, 'must start with "/"'),
        ({"steps": [{"name": "a", "request": {"url": "/x"}, "capture": {"id": "id"}}]},
         'neither a JSON path'),
        ({"steps": [{"name": "a", "request": {"url": "/x"}, "verify": {"sha256": "abc"}}]},
         '64 hex digits'),
        ({"vars": {f"v{i}": "x" for i in range(8)},
          "steps": [{"name": f"s{j}", "request": {"url": "/x"},
                     "capture": {f"c{j}_{i}": "$.a" for i in range(4)}} for j in range(3)]},
         'step "s2": capture "c2_0" would be variable 17; a scenario holds 16'),
        # a value no run can hold: each run would fail there ("{{jobid}} is not set")
        ({"steps": [{"name": "submit", "request": {"url": "/jobs"}, "capture": {"job_id": "$.id"}},
                    {"name": "get", "request": {"url": "/jobs/{{jobid}}"}}]},
         'step "get": {{jobid}} is neither in "vars" nor captured by a step; did you mean '
         '{{job_id}}?'),
        ({"steps": [{"name": "get", "request": {"url": "/x", "headers": {"If-Match": "{{etag}}"}}},
                    {"name": "head", "request": {"url": "/x"}, "capture": {"etag": "header:ETag"}}]},
         'step "get": {{etag}} is captured by step "head", which runs after it'),
        ({"steps": [{"name": "page", "request": {"url": "/items?after={{cursor}}"},
                     "capture": {"cursor": "$.next"}}]},
         'step "page": {{cursor}} is captured by this step, after its request: give it a first '
         'value in "vars"'),
        ({"steps": [{"name": "wait", "request": {"url": "/x"},
                     "poll": {"within": "20s", "until": {"status": 200}}}]},
         'step "wait": poll "within" 20.0 s is not shorter than the scenario\'s timeout 5.0 s, '
         'which ends the run first; raise "timeout"'),
        ({"steps": [{"name": "get", "request": {"url": "/x", "compression": "br"}}]},
         '"compression" is "gzip" or "deflate" (or "identity", none), not "br": outpost '
         'decodes only those'),
        ({"steps": [{"name": "get", "request": {"url": "/x", "compression": "gzip",
                                                "headers": {"Accept-Encoding": "identity"}}}]},
         'step "get": compression "gzip", but headers\' Accept-Encoding does not accept it'),
    ]
    for extra, text in bad:
        p = {"name": "s", "kind": "scenario", "target": "http://127.0.0.1:1"}
        p.update(extra)
        r = outpost("check-config", write({"probes": [p]}))
        eq(r.returncode, 2, f"{extra}")
        assert text in r.stderr, (extra, r.stderr)


run(globals())
