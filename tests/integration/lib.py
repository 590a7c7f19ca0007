"""Helpers for integration tests: start our binaries and mock servers on loopback, with every
wait bounded. Each test file calls run(globals()); each test_* prints PASS or FAIL."""
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPOST = os.environ.get("OUTPOST_BIN", os.path.join(ROOT, "build/linux-x86_64/outpost"))
TOOLS = os.path.join(ROOT, "build/tools")
_procs = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_tool(name, *args, lifetime=600):
    """Start build/tools/NAME and return (process, port) once it prints 'port N'."""
    p = subprocess.Popen([os.path.join(TOOLS, name), "-l", str(lifetime), *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    line = p.stdout.readline()
    if not line.startswith("port "):
        raise RuntimeError(f"{name} did not start: {line!r} {p.stderr.read()}")
    return p, int(line.split()[1])


def write(text, suffix=".json"):
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="outpost-test-")
    with os.fdopen(fd, "w") as f:
        f.write(text if isinstance(text, str) else json.dumps(text, indent=2))
    return path


def outpost_env(dns_port=None):
    """Environment for outpost: never the machine's resolver; a local one if given."""
    env = dict(os.environ)
    resolv = write(f"nameserver 127.0.0.1:{dns_port}\n" if dns_port else "", ".conf")
    env["OUTPOST_RESOLV_CONF"] = resolv
    return env


def outpost(*args, env=None, timeout=30):
    """Run the binary to completion; returns CompletedProcess."""
    return subprocess.run([OUTPOST, *args], capture_output=True, text=True,
                          env=env or outpost_env(), timeout=timeout)


def probe(*args, env=None, timeout=30):
    r = outpost("probe", *args, env=env, timeout=timeout)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from probe {args}: {r.stdout!r} {r.stderr!r}")
    return r.returncode, res


class Appliance:
    """outpost run on a config, with its web port."""

    def __init__(self, cfg, env=None, port=None, nofile=None, wrap=()):
        self.port = port or free_port()
        if isinstance(cfg, dict):
            cfg.setdefault("web", {})["listen"] = f"127.0.0.1:{self.port}"
        self.path = write(cfg)
        self.env = env or outpost_env()
        # nofile: (soft, hard) descriptor limits for the appliance; wrap: a command before it
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)) if nofile else None
        self.p = subprocess.Popen([*wrap, OUTPOST, "run", "-c", self.path], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  preexec_fn=limit)
        _procs.append(self.p)
        wait_for(lambda: self.get("/healthz")[0] == 200, 10, "appliance /healthz")

    def get(self, path, timeout=5):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def metrics(self):
        return parse_metrics(self.get("/metrics")[1])

    def signal(self, sig):
        self.p.send_signal(sig)

    def reload(self, cfg):
        """cfg over the config file, at this web address, and SIGHUP."""
        cfg.setdefault("web", {})["listen"] = f"127.0.0.1:{self.port}"
        with open(self.path, "w") as f:
            json.dump(cfg, f)
        self.signal(signal.SIGHUP)

    def stop(self, timeout=10):
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, err


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value}, plus lookups by name."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        if "{" in head:
            name, rest = head.split("{", 1)
            labels = {}
            for part in split_labels(rest[:-1]):
                k, v = part.split("=", 1)
                labels[k] = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        else:
            name, labels = head, {}
        out.setdefault(name, []).append((labels, float(value)))
    return out


def split_labels(s):
    parts, cur, q = [], "", False
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and q:
            cur += s[i:i + 2]
            i += 2
            continue
        if c == '"':
            q = not q
        if c == "," and not q:
            parts.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        parts.append(cur)
    return parts


def metric(m, name, **labels):
    for lab, v in m.get(name, []):
        if all(lab.get(k) == str(val) for k, val in labels.items()):
            return v
    return None


def zombies_of(pid):
    """Zombie children of process pid right now."""
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
                n += st[0] == "Z" and int(st[1]) == pid
            except OSError:
                pass
    return n


def wait_for(pred, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}")


def run(ns, time_limit=300):
    """Run every test_* in ns, each bounded by time_limit seconds."""
    passed = failed = 0
    only = os.environ.get("TEST_ONLY")
    for name, fn in list(ns.items()):
        if not name.startswith("test_") or not callable(fn) or (only and only not in name):
            continue

        def on_alarm(sig, frame):
            raise TimeoutError(f"{name} exceeded {time_limit}s")
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(time_limit)
        try:
            fn()
            print(f"PASS {name}", flush=True)
            passed += 1
        except Exception:
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
            failed += 1
        finally:
            signal.alarm(0)
            for p in _procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            _procs.clear()
    sys.exit(1 if failed else 0)


def tinyproxy(auth=None):
    """Debian's tinyproxy on loopback (BasicAuth when auth is "user password"); its port."""
    d, port = tempfile.mkdtemp(prefix="outpost-proxy-"), free_port()
    with open(f"{d}/tp.conf", "w") as f:
        f.write(f"Port {port}\nListen 127.0.0.1\nTimeout 10\nMaxClients 20\n"
                f"LogLevel Critical\n" + (f"BasicAuth {auth}\n" if auth else ""))
    _procs.append(subprocess.Popen(["tinyproxy", "-d", "-c", f"{d}/tp.conf"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "tinyproxy")
    return port


def promtool_check(text):
    """Prometheus' own linter on an exposition; raises with its complaints."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"promtool: {r.stdout}{r.stderr}")


class SlowDisk:
    """A directory (self.path) on a disk throttled to `iops` writes a second (cgroup v1 blkio,
    or v2 io.max) for the processes added, so a sync there takes about a second, as on a worn
    flash card. A context: on the way out the throttle is lifted, a process still running is
    killed, and the directory goes."""

    def __init__(self, prefix, iops=4):
        # a real disk, not tmpfs: the repository's build directory
        self.path = tempfile.mkdtemp(dir=os.path.join(ROOT, "build"), prefix=prefix)
        self.procs = []
        st = os.stat(self.path)
        dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
        sysdev = f"/sys/dev/block/{dev}"
        assert os.path.exists(sysdev), f"{self.path} is not on a block device ({dev})"
        if os.path.exists(f"{sysdev}/partition"):  # throttling applies to the whole disk
            dev = open(f"{sysdev}/../dev").read().strip()
        v1 = "/sys/fs/cgroup/blkio"
        if os.path.isdir(v1):
            self.dir = f"{v1}/outpost-slowdisk-{os.getpid()}"
            self.rule, self.off = "blkio.throttle.write_iops_device", f"{dev} 0"
            on = f"{dev} {iops}"
        else:
            assert "io" in open("/sys/fs/cgroup/cgroup.controllers").read().split(), \
                "this test needs block I/O throttling: cgroup v1 blkio or v2 io"
            with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
                f.write("+io")
            self.dir = f"/sys/fs/cgroup/outpost-slowdisk-{os.getpid()}"
            self.rule, self.off = "io.max", f"{dev} wiops=max"
            on = f"{dev} wiops={iops}"
        os.makedirs(self.dir, exist_ok=True)
        with open(f"{self.dir}/{self.rule}", "w") as f:
            f.write(on)

    def add(self, proc):
        self.procs.append(proc)
        with open(f"{self.dir}/cgroup.procs", "w") as f:
            f.write(str(proc.pid))

    def release(self):
        with open(f"{self.dir}/{self.rule}", "w") as f:
            f.write(self.off)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        try:
            os.rmdir(self.dir)
        except OSError:
            pass
        shutil.rmtree(self.path, ignore_errors=True)
