"""Objectives: availability and latency over sliding windows, on /metrics and in the API, with
a default objective for every probe and per-probe overrides; config errors."""
import json
import os
import signal
import tempfile
import time
import urllib.request
from lib import *


def test_objectives_on_metrics_and_api():
    _, mport = start_tool("mockhttp")
    base = f"http://127.0.0.1:{mport}"
    app = Appliance({
        "objective": {"availability": 0.99, "windows": ["5m", "1h"]},
        "probes": [
            {"name": "up", "kind": "http", "target": base + "/bytes/10", "interval": "300ms",
             "timeout": "250ms"},
            {"name": "down", "kind": "http", "target": base + "/status/500", "interval": "300ms",
             "timeout": "250ms"},
            {"name": "slow", "kind": "http", "target": base + "/delay/60", "interval": "300ms",
             "timeout": "250ms",
             "objective": {"availability": 0.9, "latency": {"p": 0.9, "max": "20ms"},
                           "windows": ["10m"]}}]})
    wait_for(lambda: (metric(app.metrics(), "outpost_objective_availability", probe="slow",
                             window="10m") or 0) > 0 and
             sum(v for lab, v in app.metrics()["outpost_probe_runs_total"]
                 if lab["probe"] == "down") >= 3, 10, "runs")
    m = app.metrics()
    eq(metric(m, "outpost_objective_availability", probe="up", window="5m"), 1, "up 5m")
    eq(metric(m, "outpost_objective_availability", probe="up", window="1h"), 1, "up 1h")
    eq(metric(m, "outpost_objective_met", probe="up", window="5m"), 1, "up met")
    eq(metric(m, "outpost_objective_error_budget_remaining", probe="up", window="5m"), 1,
       "untouched budget")
    eq(metric(m, "outpost_objective_availability", probe="down", window="5m"), 0, "down")
    eq(metric(m, "outpost_objective_met", probe="down", window="5m"), 0, "down missed")
    assert metric(m, "outpost_objective_error_budget_remaining", probe="down", window="5m") < 0
    # the latency objective: 60 ms runs against a 20 ms limit
    eq(metric(m, "outpost_objective_met", probe="slow", window="10m"), 0, "slow missed")
    assert metric(m, "outpost_objective_latency_seconds", probe="slow", window="10m",
                  quantile="0.9") >= 0.05
    eq(metric(m, "outpost_objective_availability", probe="slow", window="5m"), None,
       "override replaces the default windows")
    promtool_check(app.get("/metrics")[1])
    s, body = app.get("/api/v1/probes")
    slow = {p["name"]: p for p in json.loads(body)["probes"]}["slow"]["objective"]
    eq((slow["availability"], slow["latency"]["p"], slow["latency"]["max_ms"]), (0.9, 0.9, 20.0),
       "targets")
    w = slow["windows"][0]
    eq((w["window"], w["met"], w["availability"]), ("10m", False, 1.0), "window")
    assert w["runs"] >= 2 and w["within_max"] == 0 and w["latency_ms"] >= 50, w
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations")
    app.stop()


def test_windows_outlive_a_reload_and_a_restart():
    """A probe keeps its objective's windows across a reload (while its name, kind and target
    are unchanged) and, with state_dir, across a stop and a start; a probe whose target
    changed starts again. Before, every reload and restart emptied every window."""
    _, mport = start_tool("mockhttp")
    base = f"http://127.0.0.1:{mport}"
    state = tempfile.mkdtemp(prefix="outpost-slo-")

    def cfg(moved_to, interval):
        return {"state_dir": state, "objective": {"availability": 0.9, "windows": ["5m"]},
                "probes": [{"name": "down", "kind": "http", "target": base + "/status/500",
                            "interval": interval, "timeout": "150ms"},
                           {"name": "moved", "kind": "http", "target": base + moved_to,
                            "interval": interval, "timeout": "150ms"}]}

    def runs(app):
        body = json.loads(app.get("/api/v1/probes")[1])
        return {p["name"]: p["objective"]["windows"][0]["runs"] for p in body["probes"]}
    app = Appliance(cfg("/status/500", "200ms"))
    wait_for(lambda: min(runs(app).values()) >= 10, 15, "ten runs of each")
    before = runs(app)
    # the reload: one run an hour from now on, so the windows can only hold what was kept
    app.reload(cfg("/status/501", "1h"))
    wait_for(lambda: "/status/501" in app.get("/api/v1/probes")[1], 10, "the reload")
    time.sleep(1.5)  # each probe's first run under the new config
    after = runs(app)
    assert after["down"] >= before["down"], (before, after)
    assert after["moved"] <= 1, (before, after)
    rc, err = app.stop()
    eq(rc, 0, f"exit {err}")
    # a stop and a start with the same state_dir
    app = Appliance(cfg("/status/501", "1h"))
    time.sleep(1.5)
    again = runs(app)
    assert again["down"] >= before["down"], (before, again)
    m = app.metrics()
    eq(metric(m, "outpost_objective_availability", probe="down", window="5m"), 0, "down")
    app.stop()


def test_windows_outlive_a_kill_through_the_spool():
    """A kill (as a power cut) leaves no saved windows; the spool on disk holds the results,
    and the next start counts them again into the objective's windows and into the alarms'
    failure counts: a rule that had seen 8 failures of 8 fires on the first run after the
    start. A stop and a start after that count nothing twice (the saved windows hold the
    runs until the stop, the spool those after it). Before, a kill emptied every window."""
    _, mport = start_tool("mockhttp")
    state = tempfile.mkdtemp(prefix="outpost-slo-")
    spool = tempfile.mkdtemp(prefix="outpost-spool-")

    def cfg(interval):
        return {"state_dir": state, "spool": {"dir": spool, "flush_every": "200ms"},
                "web": {"token": "t0k"},
                "objective": {"availability": 0.9, "windows": ["5m"]},
                "probes": [{"name": "down", "kind": "http",
                            "target": f"http://127.0.0.1:{mport}/status/500",
                            "interval": interval, "timeout": "150ms"}],
                "alarms": [{"name": "eight", "probes": ["down"], "when": "failures", "n": 8,
                            "of": 8}]}

    def runs(app):
        return json.loads(app.get("/api/v1/probes")[1])["probes"][0]["objective"]["windows"][0][
            "runs"]

    def alarm(app):
        return json.loads(app.get("/api/v1/alarms")[1])["alarms"][0]["state"]

    def ran(app):  # this process's first run
        return json.loads(app.get("/api/v1/probes")[1])["probes"][0]["runs"]["failure"] >= 1

    def run_now(app):
        # a restart goes on from the last run (an hour from it at 1h): one run, asked for
        req = urllib.request.Request(f"http://127.0.0.1:{app.port}/api/v1/probes/down/run",
                                     method="POST", data=b"",
                                     headers={"Authorization": "Bearer t0k"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    app = Appliance(cfg("200ms"))
    wait_for(lambda: runs(app) >= 20, 15, "twenty runs")
    before = runs(app)
    app.p.send_signal(signal.SIGKILL)
    app.p.wait()
    # without the saved alarm state (it says firing) the rule starts at ok: only the failures
    # counted again from the spool can fire it on the next start's first run
    os.remove(os.path.join(state, "alarms.state"))
    app = Appliance(cfg("1h"))
    eq(run_now(app), 200, "run now")
    wait_for(lambda: ran(app), 5, "the first run after the start")
    after = runs(app)
    # all but the unflushed batch (the 200 ms before the kill), and those after the reading
    assert before - 2 <= after - 1 <= before + 3, (before, after)
    eq(alarm(app), "firing", "8 of 8, with the first run after the start")
    rc, err = app.stop()
    eq(rc, 0, f"exit {err}")
    app = Appliance(cfg("1h"))
    eq(run_now(app), 200, "run now")
    wait_for(lambda: ran(app), 5, "the first run after the second start")
    eq(runs(app), after + 1, "nothing counted twice")
    app.stop()


def test_objective_config_errors():
    cases = [
        ({"objective": {"availability": 1.5}}, "between 0 and 1"),
        ({"objective": {"availability": 0.9, "windows": ["1h", "5m"]}}, "shortest to longest"),
        ({"objective": {"availability": 0.9, "windows": ["90s"]}}, "whole minutes"),
        ({"objective": {"latency": {"p": 0.9}}}, "needs both"),
        ({"objective": {"availabilty": 0.9}}, 'did you mean "availability"'),
    ]
    for cfg, words in cases:
        r = outpost("check-config", write(cfg))
        eq(r.returncode, 2, f"{cfg}")
        assert words in r.stderr, (cfg, r.stderr)


run(globals())
