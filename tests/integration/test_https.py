"""The http and tcp probes over TLS against openssl s_server with certificates made at test
time: phases, verification verdicts with distinct reasons, expiry reported even when
verification fails, insecure_skip_verify, cert_min_days, the TLS series on /metrics, and
STARTTLS against a server in the test and against OpenLDAP's slapd and MariaDB."""
import base64
import calendar
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from lib import *
import certs
import lib

D = certs.make()


def s_server(name, mode="-www", *opts):
    """mode -www answers HTTP; -rev sends each line back reversed (a TLS service that is not
    HTTP); opts go to s_server as they are."""
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", mode,
                          "-quiet", "-cert", f"{D}/{name}.pem", "-key", f"{D}/{name}.key",
                          *opts],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lib._procs.append(p)
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "s_server")
    return port


def https(port, *opts, host="localhost"):
    return probe("http", f"https://{host}:{port}/", "--tls", f'{{"ca_file": "{D}/ca.pem"}}',
                 *opts)


# Run in a network namespace of its own: openssl s_server behind a path with a fixed delay each
# way (delayline.py), probed by the appliance with tls.resume; prints its results.
DELAYED_TLS = r"""
import json, os, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, sys.argv[1])
import delayline
certs, outpost, delay = sys.argv[2], sys.argv[3], float(sys.argv[4])
line = delayline.DelayLine(delay)
server = subprocess.Popen(["openssl", "s_server", "-accept", "8443", "-www", "-quiet",
                           "-cert", f"{certs}/good.pem", "-key", f"{certs}/good.key"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
cfg = {"web": {"listen": "127.0.0.1:8080"}, "probes": [
    {"name": "p", "kind": "http", "target": f"https://{delayline.PEER}:8443/",
     "tls": {"insecure_skip_verify": True, "resume": True}, "interval": "1s",
     "timeout": "900ms"}]}
fd, path = tempfile.mkstemp(suffix=".json")
os.write(fd, json.dumps(cfg).encode())
os.close(fd)
time.sleep(0.5)  # s_server listening
app = subprocess.Popen([outpost, "run", "-c", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
rows, deadline = [], time.monotonic() + 15
while len(rows) < 4 and time.monotonic() < deadline:
    time.sleep(0.5)
    try:
        with urllib.request.urlopen("http://127.0.0.1:8080/api/v1/probes/p/results?limit=10",
                                    timeout=2) as r:
            rows = json.load(r)["results"]
    except OSError:
        pass
app.terminate()
server.terminate()
app.wait(timeout=10)
line.close()
print(json.dumps(rows))
"""


def test_each_phase_over_a_delayed_path():
    """Over a path 20 ms each way (a namespace of the test's own), each phase is its round
    trips: connect one (the handshake), a full TLS 1.2 handshake two, a resumed one one (what
    tls.resume saves), processing one (request out, answer in); the duration is their sum.
    The relay is a Python thread that a loaded host can hold back 20 ms more: each run must
    count its round trips (fewer than one more), the best run the path's own time."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise AssertionError("needs root and unshare(1) to make a network namespace")
    r = subprocess.run(["unshare", "-n", sys.executable, "-c", DELAYED_TLS,
                        os.path.dirname(os.path.abspath(__file__)), D, OUTPOST, "0.020"],
                       capture_output=True, text=True, timeout=120)
    rows = json.loads(r.stdout or "[]")[::-1]  # oldest first
    assert len(rows) >= 3, (r.stdout, r.stderr[-2000:])
    for i, res in enumerate(rows):
        eq(res["success"], True, f"run {i}: {res}")
        ph, resumed = res["phases"], res["tls"]["resumed"]
        eq(resumed, i > 0, f"run {i}: the first handshake is full, the others resume")
        trips = 1 if resumed else 2
        assert 40 <= ph["connect"] < 80, res
        assert 40 * trips <= ph["tls"] < 40 * trips + 40, res
        assert 40 <= ph["processing"] < 80, res
        assert sum(ph.values()) <= res["duration_ms"] < sum(ph.values()) + 3, res
    best = lambda phase, rs: min(x["phases"][phase] for x in rs)
    assert best("connect", rows) < 46, rows
    assert best("processing", rows) < 48, rows
    assert best("tls", rows[1:]) < 52, rows


def test_good_certificate_and_phases():
    port = s_server("good")
    rc, res = https(port)
    eq(rc, 0, f"{res}")
    ph = res["phases"]
    assert ph["tls"] > 0 and ph["connect"] > 0 and ph["processing"] > 0, res
    eq(res["tls"]["version"], "TLS 1.2", "version")
    assert res["tls"]["cipher"].startswith("TLS_ECDHE_ECDSA_WITH_"), res
    eq(res["tls"]["verified"], True, "verified")
    eq(res["http"]["ssl"], True, "ssl")
    # the expiry is the CA's or the leaf's, whichever is earlier: the leaf's 30 days
    left = res["tls"]["cert_expiry_unix"] - time.time()
    assert 29 * 86400 < left < 31 * 86400, left
    rc, res = https(port, host="127.0.0.1")  # IP SAN, no SNI
    eq(rc, 0, f"{res}")
    # a whole name ("localhost.", which skips the search list) is the same host to TLS
    rc, res = https(port, host="localhost.")
    eq((rc, res["reason"], res["tls"]["verified"]), (0, "", True), f"{res}")


def day():
    return "(" + time.strftime("%Y-%m-%dT", time.gmtime())


def test_distinct_reasons_and_expiry_on_failure():
    cases = {"expired": "cert_expired", "future": "cert_expired", "wronghost": "cert_hostname"}
    for name, reason in cases.items():
        port = s_server(name)
        before = day()
        rc, res = https(port)
        eq(rc, 1, name)
        eq(res["reason"], reason, f"{name}: {res}")
        if reason == "cert_expired":  # judged by this box's clock, which the detail shows
            verdict = "is not valid yet" if name == "future" else "has expired"
            assert any(res["detail"].startswith(f"certificate {verdict} by this box's clock {d}")
                       for d in (before, day())), res
        assert res["tls"]["cert_expiry_unix"] > 0, res
        if name == "expired":
            eq(res["tls"]["cert_expiry_unix"], calendar.timegm((2020, 2, 1, 0, 0, 0)),
               "expiry of the expired certificate")
    # named by its IP address, the server's certificate must carry that address (an IP SAN):
    # one for another host's name, from a trusted CA, is not enough
    rc, res = https(s_server("wronghost"), host="127.0.0.1")
    eq((res["reason"], res["detail"]), ("cert_hostname", "certificate is not for this IP address"),
       f"{res}")
    port = s_server("self")
    rc, res = https(port)
    eq(res["reason"], "cert_untrusted", f"{res}")
    # the system bundle does not trust our CA either
    rc, res = probe("http", f"https://localhost:{s_server('good')}/")
    eq(res["reason"], "cert_untrusted", f"{res}")


def test_an_ipv6_address_is_checked_against_the_certificate():
    """In a network namespace of the test's own (loopback only): https://[::1]/ verifies with a
    certificate that names ::1, and fails cert_hostname with one that names only 127.0.0.1."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise AssertionError("needs root and unshare(1) to make a network namespace")
    # the probe is tried again while s_server is still starting (refused), at most 10 times
    script = """ip link set lo up
openssl s_server -accept "[::1]:$PORT" -www -quiet -cert "$D/$CERT.pem" -key "$D/$CERT.key" \\
    >/dev/null 2>&1 &
srv=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.2
    res=$("$OUTPOST" probe http "https://[::1]:$PORT/" --tls "{\\"ca_file\\": \\"$D/ca.pem\\"}")
    case "$res" in *'"reason":"refused"'*) ;; *) break ;; esac
done
echo "$res"
kill $srv  # (sh -c has no job control: %1 would leave it running)"""
    out = {}
    for name in ("v6", "good"):
        env = {**outpost_env(), "PORT": str(free_port()), "D": D, "CERT": name,
               "OUTPOST": OUTPOST}
        r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True,
                           text=True, timeout=60, env=env)
        out[name] = json.loads(r.stdout.strip().splitlines()[-1])
    eq((out["v6"]["success"], out["v6"]["tls"]["verified"]), (True, True), f"{out['v6']}")
    eq((out["good"]["reason"], out["good"]["detail"]),
       ("cert_hostname", "certificate is not for this IP address"), f"{out['good']}")


def test_insecure_skip_verify_still_reports():
    """Also as the one-shot CLI's flag, --insecure (curl's), before other options."""
    port = s_server("expired")
    for opts in (["--tls", '{"insecure_skip_verify": true}'], ["--insecure", "--timeout", "5s"]):
        rc, res = probe("http", f"https://localhost:{port}/", *opts)
        eq(rc, 0, f"{opts}: {res}")
        eq(res["tls"]["verified"], False, "verified")
        eq(res["tls"]["cert_expiry_unix"], calendar.timegm((2020, 2, 1, 0, 0, 0)), "expiry")


def test_a_redirect_from_http_to_https_is_followed_and_verified():
    _, mport = start_tool("mockhttp")
    sport = s_server("good")
    url = f"http://127.0.0.1:{mport}/r?to=https:%2F%2Flocalhost:{sport}%2F"
    rc, res = probe("http", url, "--max_redirects", "1", "--tls", f'{{"ca_file": "{D}/ca.pem"}}')
    eq(rc, 0, f"{res}")
    eq((res["http"]["redirects"], res["http"]["ssl"], res["tls"]["verified"]), (1, True, True),
       f"{res}")
    assert res["phases"]["tls"] > 0, res
    # the hop to https verifies like an https target: the system bundle does not trust our CA
    rc, res = probe("http", url, "--max_redirects", "1")
    eq(res["reason"], "cert_untrusted", f"{res}")


def test_expect_ssl_checks_where_the_redirects_end():
    """blackbox_exporter's fail_if_not_ssl / fail_if_ssl: is the final request over TLS?"""
    _, mport = start_tool("mockhttp")
    sport = s_server("good")
    tls = ["--tls", f'{{"ca_file": "{D}/ca.pem"}}']
    up = f"http://127.0.0.1:{mport}/r?to=https:%2F%2Flocalhost:{sport}%2F"
    rc, res = probe("http", up, "--max_redirects", "1", *tls, "--expect", '{"ssl": true}')
    eq(rc, 0, f"{res}")
    rc, res = probe("http", f"http://127.0.0.1:{mport}/bytes/10", "--expect", '{"ssl": true}')
    eq((res["reason"], res["detail"]),
       ("expect", "ssl: the final request was plain http, expected TLS"), f"{res}")
    rc, res = https(sport, "--expect", '{"ssl": false}')
    eq(res["detail"], "ssl: the final request was over TLS, expected plain http", f"{res}")
    r = outpost("probe", "http", f"http://127.0.0.1:{mport}/", "--expect", '{"ssl": "yes"}')
    eq(r.returncode, 2, "exit")
    assert "expect.ssl is true (the final request must be over TLS" in r.stderr, r.stderr


def test_cert_min_days():
    port = s_server("good")
    rc, res = https(port, "--expect", '{"cert_min_days": 60}')
    eq(res["reason"], "expect", f"{res}")
    assert "cert_min_days" in res["detail"], res
    rc, res = https(port, "--expect", '{"cert_min_days": 7}')
    eq(rc, 0, f"{res}")


def test_tls_to_a_plain_port_fails_cleanly():
    _, port = start_tool("mockhttp")
    rc, res = probe("http", f"https://127.0.0.1:{port}/", "--tls", '{"insecure_skip_verify": true}',
                    "--timeout", "2s")
    eq(rc, 1, "exit")
    assert res["reason"] in ("tls", "timeout"), res
    _, port = start_tool("mocktcp", "-m", "close")
    rc, res = probe("http", f"https://127.0.0.1:{port}/", "--tls", '{"insecure_skip_verify": true}',
                    "--timeout", "2s")
    eq(res["reason"], "tls", f"{res}")


def test_a_refused_handshake_names_the_alert():
    """A server that speaks only TLS 1.3, one that shares no cipher suite, one that wants a
    client certificate: each failure names the alert the server sent, and what it means."""
    for opts, said in ((["-tls1_3"], "alert protocol_version from the server (it does not "
                        "accept TLS 1.2)"),
                       (["-tls1_2", "-cipher", "AES128-SHA256"], "alert handshake_failure from "
                        "the server (no cipher suite or curve in common, or mTLS)"),
                       (["-Verify", "1"], "alert handshake_failure from the server (no cipher "
                        "suite or curve in common, or mTLS)")):
        port = s_server("good", "-www", *opts)
        rc, res = https(port)
        eq((rc, res["reason"], res["detail"]), (1, "tls", said), " ".join(opts))


def test_a_chain_too_large_for_one_record_is_named():
    """A certificate with 900 names (over 16 KiB, so the server sends it over several records):
    the run fails saying so, not "mbedTLS error -0x7080"."""
    d = tempfile.mkdtemp(prefix="outpost-bigcert-")
    with open(f"{d}/san.cnf", "w") as f:
        f.write("[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=DNS:localhost," +
                ",".join(f"DNS:host{i:04d}.example.com" for i in range(900)) + "\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/big.key", "-out",
                    f"{d}/big.pem", "-days", "2", "-subj", "/CN=localhost", "-config",
                    f"{d}/san.cnf", "-extensions", "ext"], check=True, capture_output=True,
                   timeout=60)
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-www",
                          "-quiet", "-cert", f"{d}/big.pem", "-key", f"{d}/big.key"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lib._procs.append(p)
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "s_server")
    rc, res = probe("http", f"https://localhost:{port}/", "--insecure")
    eq((rc, res["reason"]), (1, "tls"), f"{res}")
    assert re.fullmatch(r"the server's certificate chain \(\d{5} bytes\) spans records, which "
                        r"mbedTLS cannot join", res["detail"]), res
    shutil.rmtree(d)


def serve_once(talk):
    """A server for one connection, on a port of its own (returned): talk(c) speaks on it, and
    the connection is closed after."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        c, _ = srv.accept()
        srv.close()
        c.settimeout(5)
        try:
            talk(c)
        except OSError:
            pass
        finally:
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def test_a_broken_handshake_is_named():
    """A server that answers the ClientHello with a ServerHello and then what no server should:
    a certificate that is not one, no Certificate message, a list whose length lies, data
    before the handshake is done. Each failure says which (it said "mbedTLS error -0x7a00")."""
    def hs(kind, body):
        return bytes([kind]) + struct.pack(">I", len(body))[1:] + body

    def record(body):
        return b"\x16\x03\x03" + struct.pack(">H", len(body)) + body
    hello = hs(2, b"\x03\x03" + os.urandom(32) + b"\x00\xc0\x2b\x00")  # ECDHE-ECDSA-AES128-GCM
    cert = b"not a certificate " * 16
    for sent, said in (
            (record(hello + hs(11, struct.pack(">I", len(cert) + 3)[1:] +
                                struct.pack(">I", len(cert))[1:] + cert)),
             "the server's certificate cannot be read (X.509 error -0x2180)"),
            (record(hello + hs(14, b"")), "bad or missing Certificate message"),
            (record(hello + hs(11, b"\x00\x00\x10\x00\x00\x05abc")),
             "bad or missing Certificate message"),
            (record(hello) + b"\x17\x03\x03\x00\x05hello",
             "a message out of place in the handshake")):
        def talk(c):
            c.recv(65536)  # the ClientHello
            c.sendall(sent)
            c.recv(100)
        rc, res = probe("http", f"https://localhost:{serve_once(talk)}/", "--insecure",
                        "--timeout", "3s")
        eq((rc, res["reason"], res["detail"]), (1, "tls", said), f"{res}")


def test_tls_broken_after_the_handshake_is_named():
    """A server whose bytes go bad after the handshake (a record whose MAC does not verify, as a
    middlebox that alters data makes; bytes that are not a record at all): the probe fails at
    recv and says what TLS saw, not just "I/O error"."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(f"{D}/good.pem", f"{D}/good.key")
    for bad, said in ((b"\x17\x03\x03\x00\x28" + os.urandom(40),
                       "a record failed its MAC (altered on the way?)"),
                      (b"HTTP/1.1 200 OK\r\n\r\n", "not a TLS record")):
        def talk(c):
            t = ctx.wrap_socket(c, server_side=True)
            t.recv(4096)
            os.write(t.fileno(), bad)  # under TLS, on the socket itself
            time.sleep(1)
        rc, res = https(serve_once(talk), "--timeout", "3s")
        eq((rc, res["reason"], res["detail"]), (1, "recv", said), f"{res}")


def record_server():
    """A TLS server whose whole answer reaches the client in one write: n one-byte records,
    then one record of 8000 bytes ending "READY". n comes as the path of an HTTP request (the
    answer then has a head; under /whole/ the head and the n+8000 bytes are one record), of a
    WebSocket upgrade (the answer is the reply message to the client's) or as a line of its own
    (tcp)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{D}/good.pem", f"{D}/good.key")
    srv = socket.create_server(("127.0.0.1", 0))

    def serve(c):
        c.settimeout(5)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        t = ctx.wrap_bio(inc, out, server_side=True)

        def more():
            c.sendall(out.read())
            d = c.recv(65536)
            if not d:
                raise EOFError
            inc.write(d)
        try:
            while True:
                try:
                    t.do_handshake()
                    c.sendall(out.read())
                    break
                except ssl.SSLWantReadError:
                    more()
            got = b""
            while not got.endswith(b"\n") or (got.startswith(b"GET") and b"\r\n\r\n" not in got):
                try:
                    got += t.read(4096)
                except ssl.SSLWantReadError:
                    more()
            tail = b"y" * 7995 + b"READY"
            if got.startswith(b"GET /ws/"):  # a WebSocket: a text message as the reply
                n = int(got.split()[1][4:])
                key = re.search(rb"Sec-WebSocket-Key: *(\S+)", got, re.I).group(1)
                accept = base64.b64encode(hashlib.sha1(
                    key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
                t.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                c.sendall(out.read())
                while True:  # the client's message
                    try:
                        if t.read(4096):
                            break
                    except ssl.SSLWantReadError:
                        more()
                t.write(b"\x81\x7e" + struct.pack(">H", n + len(tail)))
            elif got.startswith(b"GET /whole/"):  # the head and the body in one record
                n = int(got.split()[1][7:])
                t.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (n + len(tail)) +
                        b"x" * n + tail)
                n, tail = 0, b""
            elif got.startswith(b"GET"):
                n = int(got.split()[1][1:])
                t.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (n + len(tail)))
            else:
                n = int(got)
            for _ in range(n):
                t.write(b"x")
            t.write(tail)
            c.sendall(out.read())
            c.recv(1)  # until the client goes
        except (OSError, EOFError, ValueError):
            pass
        finally:
            c.close()

    def accept():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return srv


def test_a_record_read_in_part_is_read_to_its_end():
    """The readers take at most so much a turn, so a fast sender cannot hold the loop; when the
    turn ended inside a TLS record, the rest of it, already off the socket, waited for readiness
    the socket would never give again: a response whose last record came that way stalled to
    the timeout ("no result within 1000ms during transfer", 4159 of 8063 bytes). Whatever the
    records' layout, each run ends when the last byte is there."""
    srv = record_server()
    port = srv.getsockname()[1]
    for n in range(48, 72):
        rc, res = probe("http", f"https://localhost:{port}/{n}", "--insecure", "--timeout", "1s",
                        "--expect-body-contains", "READY")
        eq((rc, res["detail"], res["http"]["body_bytes"]), (0, "200", n + 8000), f"http, {n}")
        rc, res = probe("tcp", f"localhost:{port}", "--tls", '{"insecure_skip_verify": true}',
                        "--send", f"{n}\n", "--expect", "READY", "--timeout", "1s")
        eq((rc, res["reason"]), (0, ""), f"tcp, {n}: {res}")
        rc, res = probe("ws", f"wss://localhost:{port}/ws/{n}", "--insecure", "--send", "hi",
                        "--expect-contains", "READY", "--timeout", "1s")
        eq((rc, res["reason"], res["ws"]["message_bytes"]), (0, "", n + 8000), f"ws, {n}: {res}")
    # a record with the head and more body than the head's buffer had room for: the rest of it
    # waited in the TLS context while the reader waited for the socket (the timeout, "during
    # transfer")
    for n in (0, 200, 4000, 8000):
        rc, res = probe("http", f"https://localhost:{port}/whole/{n}", "--insecure", "--timeout",
                        "1s", "--expect-body-contains", "READY")
        eq((rc, res["detail"], res["http"]["body_bytes"]), (0, "200", n + 8000), f"whole, {n}")
    srv.close()


def test_client_certificate_for_mtls():
    """A server that requires a client certificate signed by its CA: without one the handshake
    fails with the server's alert; with tls.cert_file and key_file it goes through; one its CA
    did not sign is refused. A key that is not the certificate's, or one file without the
    other, is an error before anything runs."""
    port = s_server("good", "-www", "-Verify", "1", "-verify_return_error", "-CAfile",
                    f"{D}/ca.pem")
    rc, res = https(port)
    eq((rc, res["reason"]), (1, "tls"), f"{res}")
    assert res["detail"].startswith("alert handshake_failure from the server"), res

    def mtls(cert, key):
        return probe("http", f"https://localhost:{port}/", "--tls", json.dumps(
            {"ca_file": f"{D}/ca.pem", "cert_file": f"{D}/{cert}", "key_file": f"{D}/{key}"}))
    rc, res = mtls("client.pem", "client.key")
    eq((rc, res["http_status"], res["tls"]["verified"]), (0, 200, True), f"{res}")
    rc, res = mtls("self.pem", "self.key")
    eq((rc, res["reason"]), (1, "tls"), f"{res}")
    assert res["detail"].startswith("alert "), res
    r = outpost("probe", "http", f"https://localhost:{port}/", "--tls", json.dumps(
        {"ca_file": f"{D}/ca.pem", "cert_file": f"{D}/client.pem", "key_file": f"{D}/good.key"}))
    eq(r.returncode, 1, "exit")
    assert f"tls: key_file {D}/good.key is not the key of cert_file" in r.stderr, r.stderr
    r = outpost("probe", "http", f"https://localhost:{port}/", "--tls", json.dumps(
        {"cert_file": f"{D}/client.pem"}))
    eq(r.returncode, 2, "exit")
    assert 'a client certificate needs both "cert_file" and "key_file"' in r.stderr, r.stderr
    # an appliance: the same probe with and without its certificate, side by side
    base = {"kind": "http", "target": f"https://localhost:{port}/", "interval": "500ms",
            "timeout": "400ms", "tls": {"ca_file": f"{D}/ca.pem"}}
    app = Appliance({"probes": [
        dict(base, name="anonymous"),
        dict(base, name="mtls", tls={"ca_file": f"{D}/ca.pem", "cert_file": f"{D}/client.pem",
                                     "key_file": f"{D}/client.key"})]})
    wait_for(lambda: metric(app.metrics(), "probe_success", probe="mtls") == 1, 10, "mtls")
    wait_for(lambda: metric(app.metrics(), "probe_success", probe="anonymous") == 0, 10,
             "anonymous")
    app.stop()


def test_through_an_http_proxy():
    """Plain http goes to the proxy in absolute form; https tunnels through it with
    CONNECT and verifies the host's certificate, not the proxy's; a proxy that wants a password
    gets one from the URL, and without it its refusal is the failure."""
    _, mport = start_tool("mockhttp")
    sport = s_server("good")
    open_proxy, auth_proxy = tinyproxy(), tinyproxy("probe s3cret")
    rc, res = probe("http", f"http://127.0.0.1:{mport}/echo/x", "--proxy",
                    f"http://127.0.0.1:{open_proxy}")
    eq(rc, 0, f"{res}")
    rc, res = https(sport, "--proxy", f"http://127.0.0.1:{open_proxy}")
    eq((rc, res["http_status"], res["tls"]["verified"]), (0, 200, True), f"{res}")
    assert res["phases"]["connect"] > 0 and res["phases"]["tls"] > 0, res
    # a redirect from http to https goes through the proxy too: the second hop tunnels
    rc, res = probe("http", f"http://127.0.0.1:{mport}/r?to=https://localhost:{sport}/",
                    "--max_redirects", "1", "--tls", f'{{"ca_file": "{D}/ca.pem"}}', "--proxy",
                    f"http://127.0.0.1:{open_proxy}")
    eq((rc, res["http"]["redirects"], res["http"]["ssl"], res["tls"]["verified"]),
       (0, 1, True, True), f"{res}")
    # what the target saw: the proxy's Via on a plain request, and not the proxy's password
    app = Appliance({"probes": [{"name": "via", "kind": "http",
                                 "target": f"http://127.0.0.1:{mport}/echo/x",
                                 "proxy": f"http://probe:s3cret@127.0.0.1:{auth_proxy}",
                                 "expect": {"body_contains": "(tinyproxy/",
                                            "body_not_contains": "Proxy-Authorization"}}]})
    wait_for(lambda: metric(app.metrics(), "probe_success", probe="via") is not None, 10, "run")
    eq(metric(app.metrics(), "probe_success", probe="via"), 1, "through the proxy")
    app.stop()
    # a password the proxy wants: given (percent-encoded characters decoded), or missing
    rc, res = https(sport, "--proxy", f"http://prob%65:s3cret@127.0.0.1:{auth_proxy}")
    eq(rc, 0, f"{res}")
    rc, res = https(sport, "--proxy", f"http://127.0.0.1:{auth_proxy}")
    eq((rc, res["reason"]), (1, "connect"), f"{res}")
    eq(res["detail"], f"proxy refused CONNECT to localhost:{sport}: 407 Proxy Authentication "
       "Required", "detail")
    rc, res = probe("http", f"http://127.0.0.1:{mport}/bytes/5", "--proxy",
                    f"http://127.0.0.1:{auth_proxy}")
    eq(res["detail"], "status 407, expected 2xx", f"{res}")
    # tcp, plain and over TLS, through the tunnel
    _, tport = start_tool("mocktcp", "-m", "reply:+OK ready\r\n")
    rc, res = probe("tcp", f"127.0.0.1:{tport}", "--send", "hi\r\n", "--expect", "+OK",
                    "--proxy", f"http://127.0.0.1:{open_proxy}")
    eq(rc, 0, f"{res}")
    rc, res = probe("tcp", f"localhost:{sport}", "--tls", f'{{"ca_file": "{D}/ca.pem"}}',
                    "--proxy", f"http://127.0.0.1:{open_proxy}")
    eq((rc, res["tls"]["verified"]), (0, True), f"{res}")
    rc, res = probe("tcp", f"127.0.0.1:{tport}", "--proxy", f"http://127.0.0.1:{free_port()}")
    eq(res["reason"], "refused", f"{res}")
    # a proxy that is not there, broken ones, and one that is not a proxy URL
    rc, res = https(sport, "--proxy", f"http://127.0.0.1:{free_port()}")
    eq(res["reason"], "refused", f"{res}")
    for mode, reason, said in (
            ("reply:", "closed", "proxy: connection closed before its CONNECT reply"),
            ("reply:SSH-2.0-OpenSSH\r\n\r\n", "protocol",
             'proxy: not an HTTP response: "SSH-2.0-OpenSSH"'),
            ("reply:HTTP/1.1 200 OK\r\nProxy Agent: x\r\n\r\n", "protocol",
             'proxy: malformed header line: "Proxy Agent: x"'),
            ("reply:HTTP/1.1 200 OK\r\n\r\n\x16\x03", "protocol",
             "proxy: bytes after its CONNECT reply")):
        _, bad = start_tool("mocktcp", "-m", mode)
        rc, res = https(sport, "--proxy", f"http://127.0.0.1:{bad}", "--timeout", "2s")
        eq((rc, res["reason"], res["detail"]), (1, reason, said), mode)
    r = outpost("probe", "http", f"http://127.0.0.1:{mport}/", "--proxy", "https://u:s3cret@p:3128")
    eq(r.returncode, 2, "exit")
    assert 'proxy "https://p:3128" must be an http proxy like "http://host:3128"' in r.stderr, \
        r.stderr
    assert "s3cret" not in r.stderr, r.stderr  # the password stays out of the message


def test_session_resumption():
    port = s_server("good")
    tls = {"ca_file": f"{D}/ca.pem"}
    app = Appliance({"probes": [
        {"name": "resume", "kind": "http", "target": f"https://localhost:{port}/",
         "tls": {**tls, "resume": True}, "interval": "300ms", "timeout": "250ms"},
        {"name": "full", "kind": "http", "target": f"https://localhost:{port}/", "tls": tls,
         "interval": "300ms", "timeout": "250ms"}]})

    def handshakes(probe, kind):
        return metric(app.metrics(), "outpost_tls_handshakes_total", probe=probe, type=kind) or 0
    wait_for(lambda: handshakes("resume", "resumed") >= 3 and handshakes("full", "full") >= 4,
             10, "handshakes")
    eq(handshakes("resume", "full"), 1, "one full handshake, then resumptions")
    eq(handshakes("full", "resumed"), 0, "no resumption without tls.resume")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="resume"), 1, "resumed probe succeeds")
    assert metric(m, "probe_ssl_earliest_cert_expiry", probe="resume") > time.time(), \
        "expiry known after a resumed handshake"
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations")
    app.stop()


def test_missing_ca_file_is_a_config_error():
    r = outpost("probe", "http", "https://localhost:1/", "--tls", '{"ca_file": "/nonexistent.pem"}')
    eq(r.returncode, 2, "exit")
    assert "CA file \"/nonexistent.pem\" cannot be read" in r.stderr, r.stderr



def test_tcp_over_tls_checks_the_certificate_of_any_service():
    tls = ["--tls", f'{{"ca_file": "{D}/ca.pem"}}']
    port = s_server("good", "-rev")
    rc, res = probe("tcp", f"localhost:{port}", *tls)
    eq(rc, 0, f"{res}")
    assert res["phases"]["tls"] > 0 and res["phases"]["connect"] > 0, res
    eq((res["tls"]["version"], res["tls"]["verified"]), ("TLS 1.2", True), f"{res}")
    assert res["detail"].startswith("TLS 1.2; the chain expires in 3"), res  # 30 days
    # the conversation goes through TLS too
    rc, res = probe("tcp", f"localhost:{port}", *tls, "--send", "olleh\n", "--expect", "hello")
    eq(rc, 0, f"{res}")
    assert res["phases"]["processing"] > 0, res
    rc, res = probe("tcp", f"localhost:{port}", *tls, "--send", "olleh\n", "--expect", "bye",
                    "--timeout", "1s")
    eq(res["reason"], "timeout", f"{res}")
    rc, res = probe("tcp", f"localhost:{port}", *tls, "--cert_min_days", "60")
    eq(res["reason"], "expect", f"{res}")
    assert res["detail"].startswith("cert_min_days: the chain expires in"), res
    eq(probe("tcp", f"localhost:{port}", *tls, "--cert_min_days", "7")[0], 0, "7 days")
    for name, reason in (("expired", "cert_expired"), ("wronghost", "cert_hostname"),
                         ("self", "cert_untrusted")):
        rc, res = probe("tcp", f"localhost:{s_server(name, '-rev')}", *tls)
        eq(res["reason"], reason, f"{name}: {res}")
        assert res["tls"]["cert_expiry_unix"] > 0, res
    # TLS spoken to a plain port fails the handshake, not the appliance
    _, plain = start_tool("mocktcp", "-m", "reply:hello")
    rc, res = probe("tcp", f"127.0.0.1:{plain}", "--tls", '{"insecure_skip_verify": true}',
                    "--timeout", "2s")
    assert res["reason"] in ("tls", "timeout"), res
    # a certificate check needs TLS
    r = outpost("probe", "tcp", f"localhost:{port}", "--cert_min_days", "7")
    eq(r.returncode, 2, "exit")
    assert '"cert_min_days" checks a TLS certificate: add "tls": {}' in r.stderr, r.stderr


def mysql_greeting(ssl_ok):
    """A MySQL 8 Protocol::Handshake v10 packet, with CLIENT_SSL or without."""
    caps = 0x00fff7ff | (0x0800 if ssl_ok else 0)
    body = (b"\x0a8.0.36-test\0" + struct.pack("<I", 7) + b"abcdefgh\0" +
            struct.pack("<HBHH", caps & 0xffff, 0x21, 2, caps >> 16) + bytes([21]) + b"\0" * 10 +
            b"ijklmnopqrst\0caching_sha2_password\0")
    return struct.pack("<I", len(body))[:3] + b"\0" + body


def mysql_error(code, text):
    body = b"\xff" + struct.pack("<H", code) + text
    return struct.pack("<I", len(body))[:3] + b"\0" + body


LDAP_STARTTLS = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + b"1.3.6.1.4.1.1466.20037"


class StartTLS:
    """A server that speaks one protocol's plain dialogue, then TLS (Python's ssl, that is
    OpenSSL) with the test certificate, and then answers each line with "250 ok". refuse: the
    reply at the protocol's refusing step (REFUSE_AT, else the last) is this instead."""
    DIALOGUE = {
        "smtp": [(None, b"220-mail.test ESMTP\r\n220 ready\r\n"),
                 (b"EHLO ", b"250-mail.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
                 (b"STARTTLS\r\n", b"220 2.0.0 go ahead\r\n")],
        "imap": [(None, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
                 (b"a1 STARTTLS\r\n", b"* CAPABILITY IMAP4rev1\r\na1 OK begin TLS\r\n")],
        "pop3": [(None, b"+OK ready\r\n"), (b"STLS\r\n", b"+OK begin TLS\r\n")],
        "ftp": [(None, b"220 ftp ready\r\n"), (b"AUTH TLS\r\n", b"234 go\r\n")],
        "postgres": [(b"\0\0\0\x08\x04\xd2\x16\x2f", b"S")],
        # ExtendedResponse, success, with the responseName; a long-form length
        "ldap": [(LDAP_STARTTLS, b"\x30\x81\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00"
                  b"\x8a\x16" + b"1.3.6.1.4.1.1466.20037")],
        # the greeting; then SSLRequest, which has no answer
        "mysql": [(None, mysql_greeting(True)),
                  (b"\x20\0\0\x01\x01\x8a\0\0\0\0\0\x01\x21" + b"\0" * 23, b"")],
    }
    BINARY = ("postgres", "ldap", "mysql")
    REFUSE = {"smtp": b"454 4.7.0 TLS not available\r\n", "imap": b"a1 NO not now\r\n",
              "pop3": b"-ERR not now\r\n", "ftp": b"534 not now\r\n", "postgres": b"N",
              # resultCode 52 (unavailable), diagnosticMessage "not now"
              "ldap": b"\x30\x13\x02\x01\x01\x78\x0e\x0a\x01\x34\x04\x00\x04\x07not now",
              "mysql": mysql_error(1130, b"Host '127.0.0.1' is not allowed to connect")}
    REFUSE_AT = {"mysql": 0}

    def __init__(self, proto, refuse=None):
        self.proto = proto
        self.refuse = self.REFUSE[proto] if refuse is True else refuse
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(f"{D}/good.pem", f"{D}/good.key")
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.seen = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            c, _ = self.srv.accept()
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        c.settimeout(5)
        try:
            steps = self.DIALOGUE[self.proto]
            for i, (want, reply) in enumerate(steps):
                if want:
                    got = b""
                    # a binary request is read to its length and no further: the client's
                    # TLS hello may follow it at once
                    while len(got) < len(want) and (b"\n" not in got or self.proto in self.BINARY):
                        got += c.recv(len(want) - len(got) if self.proto in self.BINARY else 256)
                    self.seen.append(got)
                    assert got.startswith(want), got
                if self.refuse and i == self.REFUSE_AT.get(self.proto, len(steps) - 1):
                    c.sendall(self.refuse)
                    return
                c.sendall(reply)
            t = self.tls.wrap_socket(c, server_side=True)
            while t.recv(256):
                t.sendall(b"250 ok\r\n")
        except (OSError, AssertionError):
            pass
        finally:
            c.close()


def test_starttls_upgrades_a_plain_dialogue_then_verifies():
    tls = ["--tls", f'{{"ca_file": "{D}/ca.pem"}}']
    for proto in StartTLS.DIALOGUE:
        srv = StartTLS(proto)
        rc, res = probe("tcp", f"localhost:{srv.port}", "--starttls", proto, *tls)
        eq(rc, 0, f"{proto}: {res}")
        eq((res["tls"]["version"], res["tls"]["verified"]), ("TLS 1.2", True), f"{proto}: {res}")
        assert res["phases"]["tls"] > 0, res
        eq(len(srv.seen), len([w for w, _ in StartTLS.DIALOGUE[proto] if w]), f"{proto} steps")
    # after the upgrade, send and expect go through TLS
    srv = StartTLS("smtp")
    rc, res = probe("tcp", f"localhost:{srv.port}", "--starttls", "smtp", *tls,
                    "--send", "EHLO again\r\n", "--expect", "250 ok", "--cert_min_days", "7")
    eq(rc, 0, f"{res}")
    # without a CA that trusts it: the same verdicts as any TLS probe
    rc, res = probe("tcp", f"localhost:{srv.port}", "--starttls", "smtp")
    eq(res["reason"], "cert_untrusted", f"{res}")
    # a server that refuses fails at once, naming what it said
    for proto, refuse, said in (
            ("smtp", True, 'the server refused: "454 4.7.0 TLS not available\\x0d\\x0a"'),
            ("imap", True, 'the server refused: "a1 NO not now\\x0d\\x0a"'),
            ("postgres", True, 'the server refused: "N"'),
            ("ldap", True, 'the server refused: resultCode 52 "not now"'),
            ("ldap", b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00",
             "the server refused: resultCode 2"),
            ("ldap", b"220 smtp.test\r\n", 'not an LDAP response: "220 smtp.test\\x0d\\x0a"'),
            ("mysql", True,
             # (a message is cut at 40 bytes: the detail holds 96)
             'the server refused: error 1130 "Host \'127.0.0.1\' is not allowed to conne"'),
            ("mysql", mysql_greeting(False), "the server (8.0.36-test) does not offer TLS")):
        srv = StartTLS(proto, refuse=refuse)
        rc, res = probe("tcp", f"localhost:{srv.port}", "--starttls", proto, *tls)
        eq((res["reason"], res["detail"]), ("tls", f"STARTTLS ({proto}): {said}"), proto)
    # a server that hangs up before it agrees, or whose line never ends
    for refuse, reason, said in ((b"250-still thinking\r\n", "closed",
                                  "connection closed before the server agreed"),
                                 (b"250-" + b"x" * 2000, "protocol", "a line over 1280 bytes")):
        srv = StartTLS("smtp", refuse=refuse)
        rc, res = probe("tcp", f"localhost:{srv.port}", "--starttls", "smtp", *tls)
        eq((res["reason"], res["detail"]), (reason, f"STARTTLS (smtp): {said}"), said)
    r = outpost("probe", "tcp", "localhost:25", "--starttls", "xmpp")
    eq(r.returncode, 2, "exit")
    assert ('"starttls" is "smtp", "imap", "pop3", "ftp", "postgres", "ldap" or "mysql", '
            'not "xmpp"') in r.stderr, r.stderr

def slapd(tls):
    """OpenLDAP's slapd on loopback, with StartTLS on the test certificate or without TLS."""
    d, port = tempfile.mkdtemp(prefix="outpost-slapd-"), free_port()
    os.mkdir(f"{d}/db")
    with open(f"{d}/slapd.conf", "w") as f:
        f.write("include /etc/ldap/schema/core.schema\nmodulepath /usr/lib/ldap\n"
                f"moduleload back_mdb\npidfile {d}/pid\n" +
                (f"TLSCertificateFile {D}/good.pem\nTLSCertificateKeyFile {D}/good.key\n"
                 if tls else "") +
                f'database mdb\nsuffix "dc=test"\ndirectory {d}/db\n')
    lib._procs.append(subprocess.Popen(
        ["slapd", "-d", "0", "-f", f"{d}/slapd.conf", "-h", f"ldap://127.0.0.1:{port}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "slapd")
    return port


def mariadb():
    """MariaDB's server on loopback with TLS on the test certificate, in a fresh data dir."""
    d, port = tempfile.mkdtemp(prefix="outpost-mariadb-"), free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data", "--user=root",
                    "--skip-test-db"], check=True, capture_output=True, timeout=120)
    lib._procs.append(subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={d}/data", f"--socket={d}/sock",
         f"--pid-file={d}/pid", f"--port={port}", "--bind-address=127.0.0.1", "--user=root",
         "--skip-log-bin", f"--ssl-cert={D}/good.pem", f"--ssl-key={D}/good.key"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 60, "mariadbd")
    return port


def test_starttls_against_slapd_and_mariadb():
    """The binary dialogues against the real servers, not only against the test's own."""
    tls = ["--tls", f'{{"ca_file": "{D}/ca.pem"}}']
    for what, port, proto in (("slapd", slapd(True), "ldap"), ("mariadb", mariadb(), "mysql")):
        rc, res = probe("tcp", f"localhost:{port}", "--starttls", proto, *tls)
        eq((rc, res["reason"], res["tls"]["verified"]), (0, "", True), f"{what}: {res}")
    # a slapd without TLS answers the extended operation with protocolError
    rc, res = probe("tcp", f"localhost:{slapd(False)}", "--starttls", "ldap", *tls)
    eq((res["reason"], res["detail"]), ("tls", "STARTTLS (ldap): the server refused: "
                                        'resultCode 2 "unsupported extended operation"'), "slapd")


def test_metrics_tls_series():
    good, expired, rev = s_server("good"), s_server("expired"), s_server("good", "-rev")
    tls = {"ca_file": f"{D}/ca.pem"}
    app = Appliance({"probes": [
        {"name": "good", "kind": "http", "target": f"https://localhost:{good}/", "tls": tls,
         "interval": "1s", "timeout": "900ms"},
        {"name": "expired", "kind": "http", "target": f"https://localhost:{expired}/",
         "tls": tls, "interval": "1s", "timeout": "900ms"},
        {"name": "smtps", "kind": "tcp", "target": f"localhost:{rev}", "tls": tls,
         "interval": "1s", "timeout": "900ms"}],
        "modules": {"tls_connect": {"kind": "tcp", "tls": tls}}})
    wait_for(lambda: all(metric(app.metrics(), "probe_success", probe=p) is not None
                         for p in ("good", "expired", "smtps")), 10, "results")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="good"), 1, "good")
    eq(metric(m, "probe_success", probe="expired"), 0, "expired")
    eq(metric(m, "probe_ssl_earliest_cert_expiry", probe="expired"),
       calendar.timegm((2020, 2, 1, 0, 0, 0)), "expiry reported although verification failed")
    end = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", f"{D}/good.pem"],
                         capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    eq(metric(m, "probe_ssl_earliest_cert_expiry", probe="good"),
       calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT")),
       f"every digit of the leaf's NotAfter ({end}); it was printed to 9")
    assert metric(m, "probe_ssl_last_chain_expiry_timestamp_seconds", probe="good") > time.time()
    eq(metric(m, "probe_ssl_last_chain_expiry_timestamp_seconds", probe="expired"), None,
       "no verified chain")
    eq(metric(m, "probe_tls_version_info", probe="good", version="TLS 1.2"), 1, "version")
    eq(metric(m, "probe_http_ssl", probe="good"), 1, "ssl")
    assert metric(m, "probe_http_duration_seconds", probe="good", phase="tls") > 0
    # a TLS service that is not HTTP: the same TLS series, none of the HTTP ones
    eq(metric(m, "probe_success", probe="smtps"), 1, "tcp over TLS")
    assert metric(m, "probe_ssl_last_chain_expiry_timestamp_seconds", probe="smtps") > time.time()
    eq(metric(m, "probe_tls_version_info", probe="smtps", version="TLS 1.2"), 1, "tcp version")
    eq(metric(m, "probe_http_ssl", probe="smtps"), None, "no HTTP series for tcp")
    # which certificate: blackbox_exporter's labels, also for a chain that failed verification
    der = subprocess.run(["openssl", "x509", "-in", f"{D}/good.pem", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    leaf = [lab for lab, v in m["probe_ssl_last_chain_info"] if lab["probe"] == "smtps"]
    eq(len(leaf), 1, "one chain info series")
    eq({k: leaf[0][k] for k in ("fingerprint_sha256", "subject", "issuer", "subjectalternative",
                                "serialnumber")},
       {"fingerprint_sha256": hashlib.sha256(der).hexdigest(), "subject": "CN=localhost",
        "issuer": "CN=outpost test CA", "subjectalternative": "localhost,127.0.0.1",
        "serialnumber": "1000"}, "the leaf's identity")
    bad = [lab for lab, v in m["probe_ssl_last_chain_info"] if lab["probe"] == "expired"]
    eq(bad[0]["subject"], "CN=localhost", "the expired chain's leaf")
    s, body = app.get(f"/probe?module=tls_connect&target=localhost:{rev}")
    eq(s, 200, "/probe of a tcp module with TLS")
    one = parse_metrics(body)
    eq(metric(one, "probe_success"), 1, f"{body}")
    assert metric(one, "probe_ssl_earliest_cert_expiry") > time.time(), body
    eq(metric(one, "probe_ssl_last_chain_info", subject="CN=localhost"), 1, f"{body}")
    assert 0 < metric(m, "outpost_tls_arena_peak_bytes") <= metric(m, "outpost_tls_arena_bytes")
    eq(metric(m, "outpost_engine_allocs_total"), 0, "engine allocations with TLS")
    promtool_check(app.get("/metrics")[1])
    rc, _ = app.stop()
    eq(rc, 0, "exit")



def test_an_https_step_of_a_scenario_on_http():
    """A scenario whose target is plain http may name an https URL in a step (a login service
    elsewhere): that step goes over TLS, verified against the scenario's trust store. It was
    accepted at load and then failed every run ("https URL but the target is http")."""
    port = s_server("good")
    _, mport = start_tool("mockhttp")
    app = Appliance({"probes": [{
        "name": "mixed", "kind": "scenario", "target": f"http://127.0.0.1:{mport}",
        "interval": "1s", "timeout": "900ms", "tls": {"ca_file": f"{D}/ca.pem"},
        "steps": [{"name": "plain", "request": {"url": "/status/200"}},
                  {"name": "secure", "request": {"url": f"https://localhost:{port}/"},
                   "expect": {"body_contains": "s_server"}}]}]})
    wait_for(lambda: json.loads(app.get("/api/v1/probes/mixed/results?limit=1")[1])["results"],
             10, "a run")
    r = json.loads(app.get("/api/v1/probes/mixed/results?limit=1")[1])["results"][0]
    assert r["success"], r
    app.stop()

run(globals())
