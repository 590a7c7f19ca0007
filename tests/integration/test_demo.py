"""make demo's script inside a network namespace of its own (loopback only: no route to
anywhere else): every probe kind runs against the local mocks, the intended failure fails
with its reason, the rest succeed, and the pipeline's events come back."""
import json
import os
import shutil
import signal
import subprocess
import time
from lib import *


def test_demo_runs_with_no_outside_network():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise AssertionError("needs root and unshare(1) to make a network namespace")
    port = free_port()
    env = {**os.environ, "MOCK_PORT": str(free_port()), "DNS_PORT": str(free_port()),
           "OUTPOST_LISTEN": f"127.0.0.1:{port}"}
    log = os.path.join(ROOT, "build/test-logs/demo.log")
    fetch = (f"import urllib.request; print(urllib.request.urlopen("
             f"'http://127.0.0.1:{port}/api/v1/probes', timeout=5).read().decode())")
    script = (f"ip link set lo up; setsid {ROOT}/tools/demo.sh >{log} 2>&1 & pid=$!; sleep 9; "
              f"python3 -c \"{fetch}\"; ip -o link | wc -l; kill -TERM -$pid; wait")
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
                       env=env, timeout=60)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) >= 2, (r.stdout, r.stderr[-2000:])
    eq(lines[-1].strip(), "1", "interfaces in the namespace (loopback only)")
    probes = {p["name"]: p for p in json.loads(lines[-2])["probes"]}
    eq(len(probes), 11, "probes")
    kinds = {p["kind"] for p in probes.values()}
    eq(kinds, {"http", "tcp", "dns", "ws", "pipeline", "exec", "scenario"}, "every kind")
    for name, p in probes.items():
        assert p["last"] is not None, (name, p)
        if name == "maintenance-page":
            eq(p["state"], "down", name)
            eq(p["last"]["reason"], "expect", name)
        else:
            eq(p["state"], "up", f"{name}: {p['last']}")
    assert probes["event-pipeline"]["events"]["received"] >= 3, probes["event-pipeline"]
    print(f"# demo: {len(probes)} probes of {len(kinds)} kinds in a loopback-only namespace")


run(globals())
