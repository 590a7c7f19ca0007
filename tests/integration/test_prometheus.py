"""A real Prometheus (Debian's) scrapes /probe with a blackbox-style relabel config and
ingests probe_success and the phase series; /probe's answers in detail."""
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from lib import *


def query(port, q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]["result"]
    except OSError:
        return []


def test_prometheus_scrapes_probe_endpoint():
    _, mport = start_tool("mockhttp")
    app = Appliance({"modules": {"http_2xx": {"kind": "http", "max_redirects": 2}},
                     "probes": []})
    up = f"http://127.0.0.1:{mport}/redirect/1"
    down = f"http://127.0.0.1:{mport}/status/500"
    pport = free_port()
    d = tempfile.mkdtemp(prefix="outpost-prom-")
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write(f"""global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs: [{{targets: ["{up}", "{down}"]}}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{app.port}
""")
    prom = subprocess.Popen(["prometheus", f"--config.file={d}/prometheus.yml",
                             f"--storage.tsdb.path={d}/data",
                             f"--web.listen-address=127.0.0.1:{pport}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import lib
    lib._procs.append(prom)

    def both_scraped():
        return len(query(pport, "probe_success")) == 2
    wait_for(both_scraped, 60, "Prometheus to scrape both targets")
    res = {r["metric"]["instance"]: float(r["value"][1]) for r in query(pport, "probe_success")}
    eq(res, {up: 1.0, down: 0.0}, "probe_success by instance")
    for r in query(pport, "probe_success"):
        eq(r["metric"]["job"], "blackbox", "job label")
    phases = {r["metric"]["phase"] for r in
              query(pport, f'probe_http_duration_seconds{{instance="{up}"}}')}
    eq(phases, {"resolve", "connect", "tls", "processing", "transfer"}, "phases")
    eq(float(query(pport, f'probe_http_redirects{{instance="{up}"}}')[0]["value"][1]), 1.0,
       "redirects")
    eq(float(query(pport, f'probe_http_status_code{{instance="{down}"}}')[0]["value"][1]),
       500.0, "status")
    # the appliance's own history is untouched by on-demand runs
    eq(metric(app.metrics(), "outpost_probes_configured"), 0, "configured probes")
    eq(metric(app.metrics(), "outpost_engine_allocs_total"), 0, "engine allocations")
    app.stop()


def test_probe_endpoint_answers():
    _, mport = start_tool("mockhttp")
    _, tport = start_tool("mocktcp")
    app = Appliance({"modules": {"http_2xx": {"kind": "http", "timeout": "300ms"},
                                 "tcp": {"kind": "tcp"}}, "probes": []})
    s, body = app.get(f"/probe?module=tcp&target=127.0.0.1:{tport}")
    eq(s, 200, body)
    m = parse_metrics(body)
    eq(m["probe_success"], [({}, 1.0)], f"bare probe_success: {body}")
    promtool_check(body)
    # the module's timeout caps the scrape's
    s, body = app.get(f"/probe?module=http_2xx&target=http://127.0.0.1:{mport}/silent&debug=true")
    eq(s, 200, body)
    assert "timeout=0.300s" in body and "result: failure (timeout)" in body, body
    eq(app.get("/probe?module=http_2xx")[0], 400, "no target")
    s, body = app.get("/probe?module=http_2xx&target=http://x/" + "a" * 300)
    eq((s, body), (400, "Target parameter is longer than 255 bytes\n"), "a long target")
    s, body = app.get("/probe?module=nope&target=x")
    eq(s, 400, "unknown module")
    assert 'Unknown module "nope"' in body
    s, body = app.get("/probe?module=http_2xx&target=ftp://x/")
    eq(s, 400, "bad target")
    assert "must be a URL" in body, body
    # a target without a scheme is http://, as blackbox_exporter takes it (?target=google.com)
    s, body = app.get(f"/probe?module=http_2xx&target=127.0.0.1:{mport}/status/200")
    eq((s, parse_metrics(body).get("probe_success")), (200, [({}, 1.0)]), body)
    app.stop()


def test_a_dns_module_asks_each_target_server():
    """blackbox_exporter's dns shape: the module names the query, each target is a server;
    and its dns series: whether a reply came, the count of each section, the phases, and a
    zone's serial."""
    _, dport = start_tool("mockdns", "svc.test:A:10.1.2.3",
                          "svc.test:SOA:ns1.svc.test hostmaster.svc.test 2026120107",
                          "gone.svc.test:NXDOMAIN")
    app = Appliance({"modules": {"dns_svc": {"kind": "dns", "query_name": "svc.test",
                                             "expect": {"answer_contains": "10.1.2.3"}},
                                 "dns_soa": {"kind": "dns", "query_name": "svc.test",
                                             "record": "SOA"},
                                 "dns_gone": {"kind": "dns", "query_name": "gone.svc.test",
                                              "expect": {"rcode": "NXDOMAIN"}}},
                     "probes": []})
    s, body = app.get(f"/probe?module=dns_svc&target=127.0.0.1:{dport}&debug=true")
    eq(s, 200, body)
    assert "result: success" in body and "detail: 10.1.2.3" in body, body
    assert "\nprobe_ip_protocol 4\n" in body, body  # the server's address, as blackbox's
    s, body = app.get(f"/probe?module=dns_svc&target=127.0.0.1:{dport}")
    m = parse_metrics(body)
    # blackbox_exporter's dns series, which its users' dashboards and alerts read
    for name, want in (("probe_dns_query_succeeded", 1), ("probe_dns_answer_rrs", 1),
                       ("probe_dns_authority_rrs", 0), ("probe_dns_additional_rrs", 0)):
        eq(m.get(name), [({}, want)], name)
    phases = {lab["phase"]: v for lab, v in m["probe_dns_duration_seconds"]}
    eq(sorted(phases), ["connect", "request", "resolve"], "phases")
    assert 0 < phases["request"] <= m["probe_duration_seconds"][0][1], body
    assert "probe_dns_serial" not in m, body  # no SOA asked
    s, body = app.get("/probe?module=dns_soa&target=127.0.0.1:%d" % dport)
    m = parse_metrics(body)
    eq((m.get("probe_success"), m.get("probe_dns_serial")), ([({}, 1)], [({}, 2026120107)]),
       body)
    s, body = app.get("/probe?module=dns_gone&target=127.0.0.1:%d" % dport)
    m = parse_metrics(body)
    eq([m.get(n) for n in ("probe_success", "probe_dns_answer_rrs", "probe_dns_authority_rrs")],
       [[({}, 1)], [({}, 0)], [({}, 1)]], body)
    s, body = app.get("/probe?module=dns_svc&target=svc.test")
    eq(s, 400, body)
    assert "the target (with query_name, the server) \"svc.test\" must be an IP address" in body, \
        body
    app.stop()
    r = outpost("check-config", write({"probes": [{"name": "d", "kind": "dns", "target": "1.1.1.1",
                                                   "query_name": "x.test", "server": "1.1.1.1"}]}))
    assert 'with "query_name" the target is the server to ask; remove "server"' in r.stderr, \
        r.stderr


def test_probe_scrapes_of_slow_targets_leave_metrics_answering():
    """Eight /probe scrapes at once of a target that takes 2 s: six run (each holds a web
    thread while it waits), the other two are told 503 at once, and /metrics and the
    dashboard still answer meanwhile, from the two threads kept for them. A reload to
    web.threads 12 lets ten run at once."""
    import threading
    _, mport = start_tool("mockhttp")
    cfg = {"modules": {"http_2xx": {"kind": "http", "timeout": "5s"}}, "probes": []}
    app = Appliance(cfg)

    def burst(n):
        got = []

        def scrape():
            t0 = time.monotonic()
            s, _ = app.get(f"/probe?module=http_2xx&target=http://127.0.0.1:{mport}/delay/2000",
                           timeout=10)
            got.append((s, time.monotonic() - t0))
        threads = [threading.Thread(target=scrape) for _ in range(n)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        s, _ = app.get("/metrics", timeout=10)
        took = time.monotonic() - t0
        for t in threads:
            t.join(10)
        eq(s, 200, "metrics")
        assert took < 1, f"/metrics took {took:.1f} s"
        assert all(d < 1 for c, d in got if c == 503), got
        return sorted(c for c, _ in got)
    eq(burst(8), [200] * 6 + [503] * 2, "8 threads")
    cfg["web"] = {"threads": 12}
    app.reload(cfg)
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="success") == 1,
             5, "the reload")
    eq(burst(12), [200] * 10 + [503] * 2, "12 threads")
    app.stop()


def test_reloads_and_a_stop_while_scrapes_wait():
    """Twelve scrapers call /probe without a pause while three reloads move the web server to
    another port and back: it serves at each new address within seconds. (It used to hang for
    good: a scrape that came in the reload's middle waited on a run the stopped loop would
    never start, and the stop of the web server waited on it.) Then a stop, the scrapers still
    asking: it waits for the runs in progress (300 ms), not for the whole grace (20 s), which
    new runs would fill."""
    import threading
    _, mport = start_tool("mockhttp")
    ports = [free_port(), free_port()]
    cfg = {"modules": {"http_2xx": {"kind": "http", "timeout": "5s"}}, "probes": [],
           "shutdown_grace": "20s"}
    app = Appliance(cfg, port=ports[0])
    done = threading.Event()
    answered = []

    def scrape(k):
        for i in range(3000):
            if done.is_set():
                return
            port = ports[(i + k) % 2]
            url = f"http://127.0.0.1:{port}/probe?module=http_2xx&target=" \
                  f"http://127.0.0.1:{mport}/delay/300"
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    answered.append(r.status)
            except urllib.error.HTTPError as e:
                answered.append(e.code)
            except OSError:
                time.sleep(0.005)
    threads = [threading.Thread(target=scrape, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    try:
        for n in range(1, 4):
            time.sleep(0.3)
            app.port = ports[n % 2]
            app.reload(cfg)
            wait_for(lambda: app.get("/healthz", timeout=1)[0] == 200, 10,
                     f"serving at the new address after reload {n}")
        time.sleep(0.5)
        t0 = time.monotonic()
        rc, _ = app.stop(timeout=30)
        took = time.monotonic() - t0
    finally:
        done.set()
        for t in threads:
            t.join(15)
    assert 200 in answered, "no scrape was answered"
    eq(rc, 0, "exit")
    assert took < 10, f"the stop took {took:.1f} s"


def test_a_scrape_that_finds_every_run_slot_busy_keeps_its_budget():
    """With every run slot held (limits.max_inflight 1, a scheduled run of 20 s), a scrape with
    a 3 s timeout is answered within its budget (2.5 s) as a failure that says why, rather
    than after the slot frees (it was answered 20 s later, long after Prometheus gave up)."""
    _, mport = start_tool("mockhttp")
    cfg = {"limits": {"max_inflight": 1}, "shutdown_grace": "0s",
           "modules": {"http_2xx": {"kind": "http", "timeout": "5s"}},
           "probes": [{"name": "hog", "kind": "http", "target":
                       f"http://127.0.0.1:{mport}/delay/20000", "interval": "30s",
                       "timeout": "25s"}]}
    app = Appliance(cfg)
    wait_for(lambda: metric(app.metrics(), "outpost_probes_inflight") == 1, 5, "the hog's run")
    req = urllib.request.Request(
        f"http://127.0.0.1:{app.port}/probe?module=http_2xx&debug=true&"
        f"target=http://127.0.0.1:{mport}/status/200",
        headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=15) as r:
        body = r.read().decode()
    took = time.monotonic() - t0
    assert took < 5, f"answered after {took:.1f} s"
    assert "result: failure (no free run slot)" in body, body
    assert "no run slot came free within the timeout" in body, body
    assert "\nprobe_success 0\n" in body, body
    app.stop()


def test_module_errors_at_load():
    path = write({"modules": {"m": {"kind": "http", "max_redirect": 1}}})
    r = outpost("check-config", path)
    eq(r.returncode, 2, "exit")
    assert 'module "m": unknown key "max_redirect"' in r.stderr and "max_redirects" in r.stderr, \
        r.stderr
    path = write({"modules": {"m": {"kind": "http", "target": "http://x/"}}})
    r = outpost("check-config", path)
    assert '"name" and "target" come from each request' in r.stderr, r.stderr


run(globals())
