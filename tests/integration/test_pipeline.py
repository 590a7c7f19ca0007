"""The pipeline probe against outpost-mock with fixed faults: every counter agrees with what
the mock says it did, losses are within binomial bounds, latencies match the injected delay;
retries ride out a collector that rejects half the posts; and a subscription that is cut every
second reconnects without leaking descriptors, query slots or memory; and posts over https with
the subscription over wss, verified (or refused, and why) against the test CA."""
import json
import math
import os
import ssl
import subprocess
import time
import urllib.request
from lib import *
import certs

HERE = os.path.dirname(os.path.abspath(__file__))


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def pipeline(mock, **extra):
    p = {"name": "pipe", "kind": "pipeline", "target": f"http://127.0.0.1:{mock}/events",
         "subscribe": f"ws://127.0.0.1:{mock}/subscribe", "interval": "100ms",
         "timeout": "90ms", "lost_after": "2s", "settle": "1s"}
    p.update(extra)
    return {"appliance": {"name": "edge-test"}, "probes": [p]}


def ev(m, name):
    return metric(m, name, probe="pipe")


def wsserver(*cert_key):
    """Start tests/integration/wsserver.js (the npm ws package), over TLS when given a
    certificate and key; its port."""
    p = subprocess.Popen(["node", os.path.join(HERE, "wsserver.js"), *cert_key],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import lib
    lib._procs.append(p)
    return int(p.stdout.readline().split()[1])


def test_counters_match_the_mock_faults():
    mock_p, mock = start_tool("outpost-mock")
    base = f"http://127.0.0.1:{mock}"
    get_json(f"{base}/config?SEED=7&LOSS_PERCENT=20&ADD_LATENCY_PERCENT=100&ADD_LATENCY_MIN_MS=150"
             f"&ADD_LATENCY_MAX_MS=150&DUPLICATE_PERCENT=10&FOREIGN_PERCENT=10")
    app = Appliance(pipeline(mock))
    wait_for(lambda: get_json(f"{base}/stats")["posted"] >= 100, 30, "100 events posted")
    # stop accepting: from here on no new event enters the books, the rest settles
    get_json(f"{base}/config?REJECT_PERCENT=100")
    time.sleep(0.5)
    st = get_json(f"{base}/stats")

    def settled():
        m = app.metrics()
        return ev(m, "outpost_events_pending") == 0 and ev(m, "probe_events_received_total") == \
            st["delivered"] and ev(m, "probe_events_lost_total") == st["dropped"]
    try:
        wait_for(settled, 10, "every event back or counted lost")
    except AssertionError:
        m = app.metrics()
        raise AssertionError(f"not settled: mock {st}, now {get_json(f'{base}/stats')}; "
                             f"pending {ev(m, 'outpost_events_pending')}, received "
                             f"{ev(m, 'probe_events_received_total')}, lost "
                             f"{ev(m, 'probe_events_lost_total')}, posted "
                             f"{ev(m, 'probe_events_posted_total')}")
    time.sleep(1.2)  # one more publication: counters that lag would show here
    m = app.metrics()
    print(f"# pipeline: mock {st}")
    eq(ev(m, "probe_events_posted_total"), st["posted"], "posted")
    eq(ev(m, "probe_events_received_total"), st["delivered"], "received")
    eq(ev(m, "probe_events_lost_total"), st["dropped"], "lost")
    eq(ev(m, "probe_events_duplicates_total"), st["duplicated"], "duplicates")
    eq(ev(m, "probe_wrong_appid_total"), st["foreign"], "foreign app ids")
    eq(ev(m, "outpost_events_unmatched_total"), 0, "unmatched")
    assert st["duplicated"] > 0 and st["foreign"] > 0, st
    # the dice are seeded, but check the loss is what 20 % means: within 4.5 sigma
    n = st["posted"]
    sd = math.sqrt(n * 0.2 * 0.8)
    assert abs(st["dropped"] - 0.2 * n) <= 4.5 * sd, (st["dropped"], n)
    # latency: the injected 150 ms, within 5 ms, for the latest and on average
    lat = ev(m, "probe_event_latency_seconds")
    mean = ev(m, "outpost_event_latency_seconds_sum") / ev(m, "outpost_event_latency_seconds_count")
    print(f"# pipeline: {n} events, latest latency {lat * 1e3:.2f} ms, mean {mean * 1e3:.2f} ms")
    assert 0.150 <= lat <= 0.155, lat
    assert 0.150 <= mean <= 0.155, mean
    eq(metric(m, "outpost_event_latency_seconds_bucket", probe="pipe", le="0.1"), 0, "none < 100 ms")
    eq(metric(m, "outpost_event_latency_seconds_bucket", probe="pipe", le="0.25"), st["delivered"],
       "all < 250 ms")
    # rejected posts are post errors and failed runs with the collector's answer
    wait_for(lambda: ev(app.metrics(), "probe_event_post_errors_total") > 0, 5, "post errors")
    m = app.metrics()
    assert metric(m, "outpost_probe_runs_total", probe="pipe", result="expect") > 0, m
    share = metric(m, "probe_events_missing_share", probe="pipe", window="1m")
    assert share is not None and abs(share - st["dropped"] / n) < 0.01, (share, st)
    promtool_check(app.get("/metrics")[1])
    # the same counters in the API the dashboard reads
    p = json.loads(app.get("/api/v1/probes")[1])["probes"][0]
    eq(p["events"]["received"], st["delivered"], "api received")
    eq(p["events"]["subscription"]["connected"], True, "api subscription")
    eq(ev(m, "outpost_engine_allocs_total") or metric(m, "outpost_engine_allocs_total"), 0,
       "engine allocations")


def test_a_reload_keeps_the_books():
    """A reload (any config edit) closes the subscription and opens it again: the counters go
    on, events posted before it and back after it are matched with their latency (not
    unmatched), and none is counted lost for the moment nobody listened."""
    mock_p, mock = start_tool("outpost-mock")
    base = f"http://127.0.0.1:{mock}"
    get_json(f"{base}/config?LOSS_PERCENT=0&DUPLICATE_PERCENT=0&FOREIGN_PERCENT=0"
             f"&ADD_LATENCY_PERCENT=100&ADD_LATENCY_MIN_MS=800&ADD_LATENCY_MAX_MS=800")
    cfg = pipeline(mock, lost_after="3s")
    app = Appliance(cfg)
    wait_for(lambda: ev(app.metrics(), "probe_events_received_total") >= 15, 15, "events back")
    before = ev(app.metrics(), "probe_events_received_total")
    # an edit elsewhere in the config: about eight events are on their way back meanwhile
    cfg["probes"].append({"name": "other", "kind": "tcp", "target": f"127.0.0.1:{mock}",
                          "interval": "1s"})
    app.reload(cfg)
    wait_for(lambda: metric(app.metrics(), "outpost_config_reloads_total", result="success") == 1,
             10, "the reload")
    m = app.metrics()
    assert ev(m, "probe_events_received_total") >= before, (before, m)
    share = metric(m, "probe_events_missing_share", probe="pipe", window="1m")
    eq(share, 0, "the 1-minute window right after the reload")
    time.sleep(1.5)  # what was posted before the reload is back by now
    get_json(f"{base}/config?REJECT_PERCENT=100")
    time.sleep(0.5)
    st = get_json(f"{base}/stats")
    wait_for(lambda: ev(app.metrics(), "outpost_events_pending") == 0, 10, "nothing pending")
    time.sleep(1.2)  # one more publication
    m = app.metrics()
    print(f"# pipeline across a reload: mock {st}, received "
          f"{ev(m, 'probe_events_received_total')}, before the reload {before}")
    eq(ev(m, "outpost_events_unmatched_total"), 0, "unmatched")
    eq(ev(m, "probe_events_lost_total"), 0, "lost")
    # a post the reload interrupted may have reached the mock: at most one apart
    assert 0 <= st["posted"] - ev(m, "probe_events_posted_total") <= 1, (st, m)
    # one sent in the instant the subscription was closed would not be seen: at most one
    assert 0 <= st["delivered"] - ev(m, "probe_events_received_total") <= 1, (st, m)
    lat = ev(m, "outpost_event_latency_seconds_sum") / ev(m, "outpost_event_latency_seconds_count")
    assert 0.8 <= lat <= 0.81, lat


def test_retries_ride_out_rejections():
    mock_p, mock = start_tool("outpost-mock")
    base = f"http://127.0.0.1:{mock}"
    get_json(f"{base}/config?SEED=3&REJECT_PERCENT=50&LOSS_PERCENT=0&ADD_LATENCY_PERCENT=0"
             f"&DUPLICATE_PERCENT=0&FOREIGN_PERCENT=0")
    # every setting can come from the environment (the documented example)
    env = outpost_env()
    env.update(WEBSOCKET_URL=f"ws://127.0.0.1:{mock}/subscribe", PROBE_WEBHOOK_TOKEN="s3cret",
               PROBE_DATASET_ID="dataset-42")
    app = Appliance(pipeline(mock, interval="1s", timeout="900ms", subscribe="${WEBSOCKET_URL}",
                             app_id="${PROBE_DATASET_ID}",
                             headers={"Authorization": "Bearer ${PROBE_WEBHOOK_TOKEN}"}), env=env)
    wait_for(lambda: get_json(f"{base}/stats")["rejected"] >= 6, 20, "rejections")
    wait_for(lambda: len(json.loads(app.get("/api/v1/probes/pipe/results")[1])["results"]) >= 6,
             10, "six runs")
    res = json.loads(app.get("/api/v1/probes/pipe/results")[1])["results"]
    retried = [r for r in res if r["success"] and "after retries" in r["detail"]]
    assert retried, res
    # every accepted post is an event on the books, whatever attempt it took
    wait_for(lambda: ev(app.metrics(), "probe_events_posted_total") ==
             get_json(f"{base}/stats")["posted"], 5, "posted agrees")
    # the events came back under the app id from the environment, none counted foreign
    wait_for(lambda: ev(app.metrics(), "probe_events_received_total") >= 3, 5, "events back")
    eq(ev(app.metrics(), "probe_wrong_appid_total"), 0, "foreign")


def test_events_go_as_json_unless_the_headers_say_otherwise():
    """A JSON collector takes what is said to be JSON (outpost-mock answers 415 otherwise, as
    Spring and ASP.NET do): the posts say application/json, with an Authorization beside it,
    and a Content-Type in "headers" is the one sent, alone."""
    _, mock = start_tool("outpost-mock")
    for headers, detail in (({"Authorization": "Bearer x"}, "accepted (200)"),
                            ({"Content-Type": "text/plain"}, "415")):
        app = Appliance(pipeline(mock, interval="1h", timeout="2s", headers=headers))
        wait_for(lambda: json.loads(app.get("/api/v1/probes/pipe/results")[1])["results"], 10,
                 "the run")
        r = json.loads(app.get("/api/v1/probes/pipe/results")[1])["results"][0]
        assert detail in r["detail"], (headers, r)
        app.stop()


def test_an_app_id_survives_a_collector_that_re_encodes_the_event():
    """An app id with a quote and non-ASCII letters goes into the event as JSON, and comes back
    from a collector that re-encodes events (every non-ASCII letter as \\uXXXX) as ours: no
    rejected posts, no foreign events."""
    port = wsserver()
    app = Appliance({"probes": [{
        "name": "pipe", "kind": "pipeline", "target": f"http://127.0.0.1:{port}/publish?ascii=1",
        "subscribe": f"ws://127.0.0.1:{port}/events", "app_id": 'caf\u00e9 \"\u00e9t\u00e9\"',
        "interval": "200ms", "timeout": "150ms", "lost_after": "2s", "settle": "500ms"}]})
    wait_for(lambda: (ev(app.metrics(), "probe_events_received_total") or 0) >= 3, 10,
             "events back")
    m = app.metrics()
    eq(ev(m, "probe_wrong_appid_total"), 0, "foreign")
    eq(ev(m, "probe_event_post_errors_total"), 0, "post errors")
    app.stop()


def test_over_https_and_wss():
    """Posts over https and the subscription over wss, both verified against the test CA, with
    a subscribe_message, directly and through a proxy's tunnels; a subscription whose
    certificate is not trusted fails the runs and says why."""
    d = certs.make()
    port = wsserver(f"{d}/good.pem", f"{d}/good.key")
    probe = {"kind": "pipeline", "target": f"https://localhost:{port}/publish",
             "subscribe": f"wss://localhost:{port}/events", "subscribe_message": "hello",
             "interval": "200ms", "timeout": "150ms", "lost_after": "2s", "settle": "500ms"}
    tls = {"ca_file": f"{d}/ca.pem"}
    app = Appliance({"probes": [{**probe, "name": "pipe", "tls": tls},
                                {**probe, "name": "untrusted"},
                                {**probe, "name": "proxied", "tls": tls,
                                 "proxy": f"http://127.0.0.1:{tinyproxy()}"}]})
    for name in ("pipe", "proxied"):
        wait_for(lambda: (metric(app.metrics(), "probe_events_received_total", probe=name)
                          or 0) >= 3, 10, f"{name}: events back over wss")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="pipe"), 1, "success")
    eq(ev(m, "probe_wrong_appid_total"), 0, "foreign")
    stats = json.loads(urllib.request.urlopen(
        f"https://localhost:{port}/stats", timeout=5,
        context=ssl.create_default_context(cafile=f"{d}/ca.pem")).read())
    assert "hello" in stats["said"], stats
    probes = {p["name"]: p for p in json.loads(app.get("/api/v1/probes")[1])["probes"]}
    sub = probes["untrusted"]["events"]["subscription"]
    eq((sub["connected"], sub["connects"]), (False, 0), "untrusted subscription")
    eq(sub["last_error"], "certificate is not signed by a trusted CA", "why")
    body = json.loads(app.get("/api/v1/probes/untrusted/results")[1])
    assert body["results"] and not any(r["success"] for r in body["results"]), body
    app.stop()


def via_wsserver(port, subscribe, **extra):
    """A pipeline probe that posts to wsserver.js's /publish and subscribes at subscribe."""
    p = {"name": "pipe", "kind": "pipeline", "target": f"http://127.0.0.1:{port}/publish",
         "subscribe": subscribe, "interval": "200ms", "timeout": "150ms"}
    p.update(extra)
    return {"probes": [p]}


def test_a_silent_subscription_is_pinged_then_dropped():
    """A quiet subscription is pinged every ping_every; one whose server answers nothing, not
    even a pong, for 2.5 pings is closed and opened again."""
    port = wsserver()

    def app(path):
        # one post at start-up, then none for a minute: the subscription is quiet
        return Appliance(via_wsserver(port, f"ws://127.0.0.1:{port}{path}", interval="60s",
                                      timeout="1s", ping_every="1s"))
    a = app("/events")
    wait_for(lambda: get_json(f"http://127.0.0.1:{port}/stats")["pings"] >= 3, 10, "pings")
    eq(ev(a.metrics(), "outpost_event_subscription_connects_total"), 1, "pongs keep it open")
    a.stop()
    def conns():
        return get_json(f"http://127.0.0.1:{port}/stats")["connections"]
    before = conns()
    b = app("/events?mute=200")
    wait_for(lambda: conns() == before + 1, 10, "the first connection")
    t0 = time.monotonic()
    wait_for(lambda: conns() == before + 2, 15, "a reconnect")
    took = time.monotonic() - t0
    print(f"# pipeline: a muted subscription was replaced after {took:.1f} s (ping_every 1s)")
    # silence is judged once a second, from 2.5 s on; the backoff adds at most 0.5 s
    assert 2.5 <= took < 5.5, took
    wait_for(lambda: ev(b.metrics(), "outpost_event_subscription_connects_total") == 2, 5,
             "outpost to count the second connection")
    b.stop()


def test_a_subscription_that_cannot_connect_says_why():
    port = wsserver()
    app = Appliance(via_wsserver(port, f"ws://127.0.0.1:{free_port()}/events"))

    def sub():
        return json.loads(app.get("/api/v1/probes")[1])["probes"][0]["events"]["subscription"]
    wait_for(lambda: sub()["last_error"], 10, "a subscription error")
    s = sub()
    eq((s["connected"], s["connects"]), (False, 0), f"{s}")
    assert s["last_error"].startswith("connect: ") and "refused" in s["last_error"], s
    app.stop()
    # a server that takes the connection and the upgrade request and answers nothing: the
    # subscription gives up within the probe's timeout and says so; the loop stays healthy
    _, mport = start_tool("mockhttp")
    app = Appliance(via_wsserver(port, f"ws://127.0.0.1:{mport}/silent"))
    wait_for(lambda: sub()["last_error"], 10, "a subscription error")
    s = sub()
    eq((s["connected"], s["connects"], s["last_error"]),
       (False, 0, "subscription not open within the probe's timeout"), f"{s}")
    eq(app.get("/healthz")[0], 200, "healthy")
    app.stop()
    # a name that does not resolve (no nameserver is configured for the tests)
    app = Appliance(via_wsserver(port, "ws://events.invalid/subscribe"))
    wait_for(lambda: sub()["last_error"], 10, "a subscription error")
    s = sub()
    assert s["last_error"].startswith("resolve events.invalid: "), s
    app.stop()


def test_posts_and_subscription_through_a_proxy():
    port = wsserver()
    app = Appliance(via_wsserver(port, f"ws://127.0.0.1:{port}/events",
                                 proxy=f"http://127.0.0.1:{tinyproxy()}"))
    wait_for(lambda: (ev(app.metrics(), "probe_events_received_total") or 0) >= 3, 10,
             "events back through the proxy")
    app.stop()
    # a proxy that is not there: the subscription says so, and the posts fail
    app = Appliance(via_wsserver(port, f"ws://127.0.0.1:{port}/events",
                                 proxy=f"http://127.0.0.1:{free_port()}"))
    wait_for(lambda: json.loads(app.get("/api/v1/probes")[1])["probes"][0]["events"][
        "subscription"]["last_error"].startswith("connect: "), 10, "the subscription's error")
    wait_for(lambda: metric(app.metrics(), "outpost_probe_runs_total", probe="pipe",
                            result="refused"), 10, "refused posts")
    app.stop()


def test_config_errors():
    """What no run could do well is refused at load, with the fix."""
    bad = [({"body": "{}"}, '"body" must carry the event id: put {{id}} in it'),
           ({"body": '{"id": "{{id}}", "t": {{sent_at}}}'},
            '"body": {{sent_at}} is not one of {{id}}, {{app_id}}, {{sent_ms}}; did you mean '
            '{{sent_ms}}?'),
           ({"id_path": "$.event..id"}, 'id_path "$.event..id": an empty name')]
    for extra, text in bad:
        p = {"name": "p", "kind": "pipeline", "target": "http://127.0.0.1:1/events",
             "subscribe": "ws://127.0.0.1:1/subscribe", **extra}
        r = outpost("check-config", write({"probes": [p]}))
        eq(r.returncode, 2, f"{extra}")
        assert text in r.stderr, (extra, r.stderr)


def test_flapping_subscription_reconnects_without_leaks():
    port = wsserver()
    app = Appliance(via_wsserver(port, f"ws://127.0.0.1:{port}/events?drop=1000",
                                 lost_after="2s", purge_after="4s", settle="500ms"))
    pid = app.p.pid
    time.sleep(2)
    fds0 = len(os.listdir(f"/proc/{pid}/fd"))
    wait_for(lambda: ev(app.metrics(), "outpost_event_subscription_connects_total") >= 6, 30,
             "six connections")
    fds1 = len(os.listdir(f"/proc/{pid}/fd"))
    m = app.metrics()
    print(f"# pipeline: flapping subscription: {int(ev(m, 'outpost_event_subscription_connects_total'))} "
          f"connections, descriptors {fds0} -> {fds1}, pending {int(ev(m, 'outpost_events_pending'))}, "
          f"lost {int(ev(m, 'probe_events_lost_total'))}")
    assert abs(fds1 - fds0) <= 1, (fds0, fds1)
    # nothing held beyond what is in flight: the DNS query pool is idle, the table bounded
    eq(metric(m, "outpost_pool_used", pool="dns_queries"), 0, "dns queries")
    assert metric(m, "outpost_pool_failures_total", pool="runs") == 0, m
    assert ev(m, "outpost_events_pending") <= 2 / 0.2 + 2, m
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations")
    assert ev(m, "probe_events_received_total") > 0, m
    rc, _ = app.stop()
    eq(rc, 0, "exit")


run(globals())
