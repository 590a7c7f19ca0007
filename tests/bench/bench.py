"""make bench: CPU per 1,000 HTTP and HTTPS probes for outpost, a bare C loop and
blackbox_exporter on the same local targets at the same pace, and the reported-latency error
against injected server delays and against the wire (tcpdump on lo). Prints figures; asserts
nothing."""
import bisect
import datetime
import glob
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from lib import (OUTPOST, TOOLS, Appliance, free_port, metric, outpost_env, parse_metrics,
                 start_tool, wait_for, _procs)
import certs

RATE = float(os.environ.get("BENCH_RATE", "100"))  # probes a second, for every contender
N = int(os.environ.get("BENCH_N", "1000"))
# the contenders take turns this many times and the medians are the figures: one 10 s sample
# moves by ±10 % with what else this shared host runs
REPS = int(os.environ.get("BENCH_REPS", "3"))


def cpu_ns(pid):
    """On-CPU time of every thread of pid (ns), from the scheduler's accounting."""
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except OSError:
            pass
    return total


def spawn(*args, **kw):
    p = subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    _procs.append(p)
    return p


def nginx(certdir):
    d = tempfile.mkdtemp(prefix="outpost-nginx-")
    port = free_port()
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {d}/nginx.pid; error_log stderr;
events {{}}
http {{ access_log off;
  server {{ listen 127.0.0.1:{port} ssl; ssl_protocols TLSv1.2;
    ssl_certificate {certdir}/good.pem; ssl_certificate_key {certdir}/good.key;
    location / {{ return 200 "ok\\n"; }} }} }}
""")
    spawn("nginx", "-p", d, "-c", f"{d}/nginx.conf", "-e", "stderr")
    import socket
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "nginx")
    return port


def blackbox():
    d = tempfile.mkdtemp(prefix="outpost-bbe-")
    port = free_port()
    with open(f"{d}/bb.yml", "w") as f:
        f.write("modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n"
                "    http:\n      tls_config: {insecure_skip_verify: true}\n")
    p = spawn("prometheus-blackbox-exporter", f"--config.file={d}/bb.yml",
              f"--web.listen-address=127.0.0.1:{port}")
    wait_for(lambda: get(f"http://127.0.0.1:{port}/metrics") is not None, 15, "blackbox")
    return p, port


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()
    except OSError:
        return None


def paced(n, fn):
    t0 = time.monotonic()
    for i in range(n):
        due = t0 + i / RATE
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        fn()


def bench_outpost(url, tls, resume=False):
    # 20 probes at 20/RATE s each: RATE probes a second in all, spread evenly
    interval_ms = int(20 * 1000 / RATE)
    probes = [{"name": f"b{i}", "kind": "http", "target": url,
               "interval": f"{interval_ms}ms", "timeout": f"{interval_ms - 1}ms"} for i in range(20)]
    if tls:
        for p in probes:
            p["tls"] = {"insecure_skip_verify": True, "resume": resume}
    app = Appliance({"limits": {"max_probes": 20, "max_inflight": 20}, "probes": probes})
    time.sleep(2)
    m0 = parse_metrics(app.get("/metrics")[1])
    c0 = cpu_ns(app.p.pid)
    time.sleep(N / RATE)
    c1 = cpu_ns(app.p.pid)
    m1 = parse_metrics(app.get("/metrics")[1])
    runs = metric(m1, "outpost_runs_started_total") - metric(m0, "outpost_runs_started_total")
    fails = sum(v for lab, v in m1["outpost_probe_runs_total"] if lab["result"] != "success")
    peak = metric(m1, "outpost_tls_arena_peak_bytes")
    app.stop()
    return (c1 - c0) / 1e9 / runs * 1000, runs, fails, peak


def bench_bare(scheme, port, path):
    p = subprocess.Popen([os.path.join(TOOLS, "bareloop"), scheme, "127.0.0.1", str(port), path,
                          str(N), str(RATE)], stdout=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(p.pid, 0)
    return (ru.ru_utime + ru.ru_stime) / N * 1000


def bench_blackbox(bport, bpid, url):
    q = f"http://127.0.0.1:{bport}/probe?module=http_2xx&target={url}"
    get(q)
    c0 = cpu_ns(bpid)
    ok = [0]

    def one():
        body = get(q)
        ok[0] += body is not None and "probe_success 1" in body
    paced(N, one)
    c1 = cpu_ns(bpid)
    return (c1 - c0) / 1e9 / N * 1000, ok[0]


DELAYS = (0, 10, 50, 200)
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "30"))
# idle: one stream of runs per delay, each every 500 ms (the CPU sleeps between runs);
# busy: five streams per delay every 100 ms (300 ms for 200 ms), about 160 runs a second
PACES = {"idle": (1, {0: 500, 10: 500, 50: 500, 200: 500}),
         "busy": (5, {0: 100, 10: 100, 50: 100, 200: 300})}


def summary(errs):
    errs = sorted(errs)
    return statistics.median(errs), errs[min(len(errs) - 1, int(len(errs) * 0.99))], len(errs)


class Wire:
    """What the wire saw: tcpdump on lo for one port, then each connection's packet times (the
    kernel's stamps, wall clock)."""

    def __init__(self, port):
        self.port = port
        self.path = tempfile.mktemp(prefix="outpost-wire-", suffix=".pcap")
        self.p = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-s", "160", "-w", self.path,
                                   "--time-stamp-precision=nano", f"tcp port {port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # "listening on lo": the capture is on; anything else (not root?) and it is not
        self.ok = "listening on" in self.p.stderr.readline()
        if not self.ok:
            self.p.kill()
            self.p.wait()

    def conns(self):
        """Each connection's {"syn", "req", "path", "first", "last"} (seconds); stops the
        capture."""
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=10)
        with open(self.path, "rb") as f:
            data = f.read()
        os.unlink(self.path)
        magic, = struct.unpack_from("<I", data)
        assert magic == 0xa1b23c4d and struct.unpack_from("<I", data, 20)[0] == 1, \
            "want a little-endian, nanosecond, Ethernet capture"
        done, live, off = [], {}, 24  # live: the latest connection of each client port
        while off + 16 <= len(data):
            sec, nsec, caplen, _ = struct.unpack_from("<IIII", data, off)
            pkt, off, t = data[off + 16:off + 16 + caplen], off + 16 + caplen, sec + nsec / 1e9
            ip = pkt[14:]
            ihl = (ip[0] & 15) * 4
            plen = struct.unpack_from(">H", ip, 2)[0] - ihl
            tcp = ip[ihl:]
            sport, dport = struct.unpack_from(">HH", tcp)
            doff, flags = (tcp[12] >> 4) * 4, tcp[13]
            payload, size = tcp[doff:], plen - doff
            client = dport if sport == self.port else sport
            # a SYN without ACK starts a connection (ports are reused), unless it is one
            # retransmitted before the request
            if flags & 0x12 == 0x02 and "req" in live.get(client, {"req": 0}):
                live[client] = {"syn": t}
                done.append(live[client])
            c = live.get(client, {})
            if size > 0 and sport != self.port and "req" not in c:
                words = payload.split(b" ")
                c["req"], c["path"] = t, words[1].decode(errors="replace") if len(words) > 1 else ""
            if size > 0 and sport == self.port:
                c.setdefault("first", t)
                c["last"] = t
        return [c for c in done if {"syn", "req", "first"} <= c.keys()]


def wall(stamp):
    """An RFC 3339 UTC result timestamp in seconds."""
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def against_wire(results, conns, d):
    """Each run against its connection on the wire (the first SYN to /delay/d within 10 ms of the
    run's start): reported - (SYN to the response's last byte), and how long the target held the
    request past d. Lists of ms."""
    by_syn = sorted((c for c in conns if c["path"] == f"/delay/{d}"),
                    key=lambda c: c["syn"])
    syns = [c["syn"] for c in by_syn]
    used, err, held = set(), [], []
    for r in results:
        t = wall(r["timestamp"])
        i = bisect.bisect_left(syns, t - 0.0005)  # the µs stamp was rounded down
        while i < len(by_syn) and (i in used or by_syn[i]["syn"] < t - 0.0005):
            i += 1
        if i == len(by_syn) or by_syn[i]["syn"] > t + 0.01:
            continue
        used.add(i)
        c = by_syn[i]
        err.append(r["duration_ms"] - (c["last"] - c["syn"]) * 1000)
        held.append((c["first"] - c["req"]) * 1000 - d)
    return err, held


def appliance_runs(mport, pace):
    """The appliance probing each delay at pace for LATENCY_SECONDS: its successful results."""
    copies, iv = PACES[pace]
    names = {d: [f"d{d}_{k}" for k in range(copies)] for d in DELAYS}
    probes = [{"name": n, "kind": "http", "target": f"http://127.0.0.1:{mport}/delay/{d}",
               "interval": f"{iv[d]}ms", "timeout": f"{iv[d] - 1}ms"}
              for d in DELAYS for n in names[d]]
    app = Appliance({"limits": {"max_probes": 64, "max_inflight": 64, "history": 400},
                     "probes": probes})
    time.sleep(LATENCY_SECONDS)
    runs = {}
    for d in DELAYS:
        runs[d] = []
        for n in names[d]:
            body = json.loads(app.get(f"/api/v1/probes/{n}/results?limit=400")[1])
            runs[d] += [r for r in body["results"] if r["success"]]
    app.stop()
    return runs


def latency_error(mport, pace):
    """Median and p99 of reported - injected delay (ms) per delay, through the appliance."""
    return {d: summary([r["duration_ms"] - d for r in runs])
            for d, runs in appliance_runs(mport, pace).items()}


def wire_error(mport, pace):
    """Per delay, from a run of its own under tcpdump (whose per-packet copy would weigh on the
    figures above): median and p99 of reported - wire time (ms), and the target's median hold
    past the delay."""
    wire = Wire(mport)
    if not wire.ok:
        return {d: (float("nan"),) * 2 + (0, float("nan")) for d in DELAYS}
    runs = appliance_runs(mport, pace)
    conns = wire.conns()
    out = {}
    for d in DELAYS:
        err, held = against_wire(runs[d], conns, d)
        out[d] = summary(err) + (statistics.median(held),)
    return out


def latency_error_bare(mport, pace):
    """The same for the bare C loop: one process per stream, at the same pace, side by side."""
    copies, iv = PACES[pace]
    procs = {(d, k): subprocess.Popen(
        [os.path.join(TOOLS, "bareloop"), "http", "127.0.0.1", str(mport), f"/delay/{d}",
         str(int(LATENCY_SECONDS * 1000 / iv[d])), str(1000 / iv[d])], stdout=subprocess.PIPE,
        text=True) for d in DELAYS for k in range(copies)}
    med = {d: [] for d in DELAYS}
    for (d, k), p in procs.items():
        words = p.communicate()[0].replace(",", "").split()
        med[d].append((float(words[3]) - d, float(words[6]) - d))
    # each process reports its own median and p99: the streams' medians and worst p99
    return {d: (statistics.median(m for m, _ in med[d]), max(q for _, q in med[d])) for d in DELAYS}


def main():
    d = certs.make()
    _, mport = start_tool("mockhttp", lifetime=3600)
    nport = nginx(d)
    bpid, bport = blackbox()
    http_url = f"http://127.0.0.1:{mport}/bytes/100"
    https_url = f"https://127.0.0.1:{nport}/"
    print(f"# {N} probes per contender at {RATE:.0f}/s, {REPS} turns each, taken in turn; CPU is "
          "user+sys of that process alone")
    rows = []
    for name, url, scheme, port, path in (("HTTP", http_url, "http", mport, "/bytes/100"),
                                          ("HTTPS", https_url, "https", nport, "/"),
                                          ("HTTPS, tls.resume", https_url, "https", nport, "/")):
        resume = name.endswith("resume")
        o, b, x = [], [], []
        for turn in range(REPS):
            cpu, runs, fails, peak = bench_outpost(url, scheme == "https", resume)
            o.append(cpu)
            line = (f"{name:17}  outpost {cpu:7.3f} ms CPU/probe ({int(runs)} runs, {int(fails)} "
                    f"failed{', TLS arena peak %d B' % peak if peak else ''})")
            if not resume:  # the others have no resumption to compare with
                b.append(bench_bare(scheme, port, path))
                cpu, ok = bench_blackbox(bport, bpid.pid, url)
                x.append(cpu)
                line += f"  bare loop {b[-1]:7.3f}  blackbox_exporter {x[-1]:7.3f} ({ok} ok)"
            print(line, flush=True)
        med = statistics.median
        # resumption is set against blackbox_exporter's HTTPS figure of the row before
        rows.append((name, med(o), med(b) if b else None, med(x) if x else rows[-1][3]))
    print()
    print("CPU seconds per 1,000 probes   outpost   bare C   blackbox   outpost/bare   outpost/blackbox"
          f"   (medians of {REPS})")
    for name, o, b, x in rows:
        bare = f"{b:8.3f}" if b else f"{'-':>8}"
        ratio = f"{o / b:14.2f}" if b else f"{'-':>14}"
        print(f"{name:30} {o:8.3f} {bare} {x:10.3f} {ratio} {o / x:18.3f}")
    print()
    for pace in PACES:
        copies, iv = PACES[pace]
        print(f"reported latency - injected delay (ms) against tools/mockhttp, {pace}: {copies} "
              f"stream(s) per delay, a run every {iv[0]} ms in each ({iv[200]} ms for 200 ms)")
        bare = latency_error_bare(mport, pace)
        wire = wire_error(mport, pace)
        for dly, (med, p99, n) in latency_error(mport, pace).items():
            bm, bp = bare[dly]
            wm, wp, wn, held = wire[dly]
            print(f"  delay {dly:3d} ms: outpost median {med:6.3f}  p99 {p99:6.3f}  ({n} runs)   "
                  f"bare C loop median {bm:6.3f}  p99 {bp:6.3f}   outpost - wire median "
                  f"{wm:6.3f}  p99 {wp:6.3f} ({wn} runs); target held {held:6.3f} past it")
    # SIGTERM, not SIGKILL: nginx's master takes its workers down with it
    for p in _procs:
        if p.poll() is None:
            p.terminate()
    for p in _procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    main()
