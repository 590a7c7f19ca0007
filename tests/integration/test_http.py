"""The http probe against tools/mockhttp: phases, framing, redirects, assertions, and hostile
servers that must fail only the probe, with a reason, within its timeout."""
import socket
import threading
import time
import base64
import json
import zlib
from lib import *


def http(port, path, *opts, timeout="2s"):
    return probe("http", f"http://127.0.0.1:{port}{path}", "--timeout", timeout, *opts)


def test_phases_and_facts():
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/bytes/1000")
    eq(rc, 0, f"{res}")
    ph = res["phases"]
    assert ph["connect"] > 0 and ph["processing"] > 0, res
    total = sum(ph.values())
    assert abs(total - res["duration_ms"]) < 0.5, res
    eq(res["http_status"], 200, "status")
    eq(res["http"]["content_length"], 1000, "content length")
    eq(res["http"]["body_bytes"], 1000, "body")
    eq(res["http"]["version"], "1.1", "version")


def test_injected_delay_is_measured():
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/delay/150")
    eq(rc, 0, f"{res}")
    assert 149 <= res["phases"]["processing"] < 200, res


def test_framings():
    _, port = start_tool("mockhttp")
    # Transfer-Encoding overrides Content-Length, and only a final chunked makes the body
    # chunked (of the last such header); any other coding runs to the close
    for path, n, length in (("/chunked/70000", 70000, -1), ("/close/5000", 5000, -1),
                            ("/bytes/0", 0, 0), ("/te-close", 20, -1), ("/te-last", 5, -1),
                            ("/early", 3, 3)):  # interim 1xx responses are skipped
        rc, res = http(port, path)
        eq(rc, 0, f"{path}: {res}")
        eq(res["http"]["body_bytes"], n, path)
        eq(res["http"]["content_length"], length, path)


def test_status_expectations():
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/status/503")
    eq(rc, 1, "503 fails by default")
    eq(res["detail"], "status 503, expected 2xx", "detail")
    rc, res = http(port, "/status/503", "--expect-status", "200,5xx")
    eq(rc, 0, f"{res}")
    rc, res = http(port, "/status/302", "--expect-status", "300-399")
    eq(rc, 0, f"{res}")
    # an array of them, numbers and ranges (as blackbox_exporter's valid_status_codes list)
    for path, ok in (("/status/302", True), ("/status/200", True), ("/status/404", False)):
        rc, res = http(port, path, "--expect", '{"status": [200, "3xx"]}')
        eq(res["success"], ok, f"{path}: {res}")
    eq(res["detail"], "status 404, expected 200,3xx", "detail")


def test_head_reports_the_length_a_get_would_carry():
    """A HEAD answer's Content-Length is the length of what GET would send; it reads no body.
    Go's client (and so blackbox_exporter's probe_http_content_length) reports it; so do we."""
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/bytes/1000", "--method", "HEAD")
    eq(rc, 0, f"{res}")
    eq((res["http"]["content_length"], res["http"]["body_bytes"]), (1000, 0), f"{res}")


def test_redirects():
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/redirect/3")
    eq(rc, 1, "3xx reported without max_redirects")
    eq(res["http_status"], 302, "status")
    rc, res = http(port, "/redirect/3", "--max_redirects", "3")
    eq(rc, 0, f"{res}")
    eq(res["http"]["redirects"], 3, "redirects")
    rc, res = http(port, "/absredirect", "--max_redirects", "1",
                   "--expect", '{"header": {"X-Test": "hello"}}')
    eq(rc, 0, f"{res}")
    # Location as servers write it (mockhttp: "?to=" redirects there): each reaches the path
    # the server meant, which /echo/ sends back
    cases = {"/r?to=%2Fecho%2Fa%20b%22%7Bc%7D": "/echo/a%20b%22%7Bc%7D",  # bytes a URL cannot carry
             "/r?to=%2Fecho%2Fx%23frag": "/echo/x",                      # the fragment stays home
             "/echo/dir/page?to=y": "/echo/dir/y",                       # relative: its directory
             "/echo/dir/page?to=%3Fq%3D1": "/echo/dir/page?q=1",         # only a query
             f"/r?to=%2F%2F127.0.0.1:{port}%2Fecho%2Fsr": "/echo/sr",     # scheme-relative
             # dot segments resolved as a browser does (RFC 3986 5.2.4), not sent as they came
             "/echo/dir/sub/page?to=..%2Fup": "/echo/dir/up",
             "/echo/dir/page?to=.%2Fx%2F..%2Fy": "/echo/dir/y",
             "/r?to=%2Fecho%2Fa%2F.%2Fb%2F..%2Fc": "/echo/a/c"}
    for path, want in cases.items():
        rc, res = http(port, path, "--max_redirects", "1")
        eq((rc, res["http"]["redirects"]), (0, 1), f"{path}: {res}")
        rc, res = http(port, path, "--max_redirects", "1",
                       "--expect", json.dumps({"body_contains": want + "\n"}))
        eq(rc, 0, f"{path} should reach {want}: {res}")
    # credentials go only to the host they were configured for (echo shows what arrived)
    auth = json.dumps({"Authorization": "Bearer s3cret", "X-Other": "kept"})
    for path, sent in ((f"/r?to=http:%2F%2Flocalhost:{port}%2Fecho%2Fh", False),
                       ("/r?to=%2Fecho%2Fsame", True)):
        for text, want in (("Authorization: Bearer s3cret", sent), ("X-Other: kept", True)):
            rc, res = http(port, path, "--max_redirects", "1", "--headers", auth, "--expect",
                           json.dumps({"body_contains": text}))
            eq(rc == 0, want, f"{text} after {path}: {res}")
    rc, res = http(port, "/r?to=ftp:%2F%2Fh%2Ff", "--max_redirects", "1")
    eq((res["reason"], res["detail"]), ("protocol", 'redirect to unsupported "ftp://h/f"'), "ftp")
    # a POST redirected by 301, 302 or 303 (a form and its result page) is a GET from there on,
    # without the body, as browsers, curl and Go's client have it; 307 and 308 keep both
    for code, method, body in ((301, "GET", False), (302, "GET", False), (303, "GET", False),
                               (307, "POST", True), (308, "POST", True)):
        for text, want in ((f"\n{method} /echo/after HTTP/1.1", True),
                           ("Content-Length: 5", body), ("\r\n\r\nx=1&y", body)):
            rc, res = http(port, f"/code/{code}?to=%2Fecho%2Fafter", "--method", "POST",
                           "--body", "x=1&y", "--max_redirects", "1",
                           "--expect", json.dumps({"body_contains": text}))
            eq(rc == 0, want, f"{code}: {text!r}: {res}")


def test_a_user_and_password_in_the_url():
    """http://user:password@host/, as curl and Go's client take it (a collector's remote-write
    URL often carries one): sent as Authorization: Basic, percent-escapes decoded, to that host
    only; a configured Authorization wins; the password is never shown again (the result's
    target, the API, /metrics)."""
    _, port = start_tool("mockhttp")
    basic = "Authorization: Basic " + base64.b64encode(b"us@r:p:ss w").decode()
    url = f"http://us%40r:p%3Ass%20w@127.0.0.1:{port}"
    rc, res = probe("http", f"{url}/echo/a", "--expect", json.dumps({"body_contains": basic}))
    eq(rc, 0, f"{res}")
    eq(res["target"], f"http://us%40r@127.0.0.1:{port}/echo/a", "shown without the password")
    for path, sent in ((f"/r?to=http:%2F%2Flocalhost:{port}%2Fecho%2Fh", False),
                       ("/r?to=%2Fecho%2Fsame", True)):
        rc, res = probe("http", url + path, "--max_redirects", "1", "--expect",
                        json.dumps({"body_contains": basic}))
        eq(rc == 0, sent, f"after {path}: {res}")
    rc, res = probe("http", f"{url}/echo/c", "--headers", '{"Authorization": "Bearer t"}',
                    "--expect", json.dumps({"body_not_contains": "Basic"}))
    eq(rc, 0, f"a configured Authorization wins: {res}")
    app = Appliance({"probes": [{"name": "a", "kind": "http", "target": f"{url}/echo/d",
                                 "interval": "200ms"}]})
    wait_for(lambda: json.loads(app.get("/api/v1/probes/a/results?limit=1")[1])["results"],
             10, "a result")
    for path in ("/api/v1/probes", "/api/v1/probes/a/results?limit=1", "/metrics", "/"):
        body = app.get(path)[1]
        assert "p%3Ass" not in body and f"us%40r@127.0.0.1:{port}" in body, (path, body[:500])
    last = json.loads(app.get("/api/v1/probes/a/results?limit=1")[1])["results"][0]
    eq(last["success"], True, f"{last}")
    app.stop()


def test_body_and_header_assertions_name_the_failure():
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/headers", "--expect", '{"body_contains": "ok"}')
    eq(rc, 0, f"{res}")
    eq(res["http"]["last_modified"], 784111777, "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT")
    rc, res = http(port, "/headers", "--expect", '{"body_contains": "nope"}')
    eq(res["reason"], "expect", "reason")
    assert 'body_contains: "nope"' in res["detail"], res
    rc, res = http(port, "/headers", "--expect", '{"body_not_contains": "ok"}')
    assert "body_not_contains" in res["detail"], res
    rc, res = http(port, "/headers", "--expect", '{"header": {"X-Test": "^bye"}}')
    eq(res["detail"], 'header X-Test: "hello world" does not match /^bye/', "detail")
    rc, res = http(port, "/headers", "--expect", '{"header": {"x-test": "^hel+o w"}}')
    eq(rc, 0, f"{res}")
    # a header that comes twice passes when one of them matches (blackbox_exporter's rule)
    rc, res = http(port, "/headers", "--expect", '{"header": {"Set-Cookie": "Secure"}}')
    eq((rc, res["detail"]), (0, "200"), f"{res}")
    rc, res = http(port, "/headers", "--expect", '{"header": {"Set-Cookie": "SameSite"}}')
    eq(res["detail"], 'header Set-Cookie: "a=1; Path=/" (nor the others) does not match '
       '/SameSite/', "detail")
    # and one whose values must not match (fail_if_header_matches): a missing one is fine
    rc, res = http(port, "/headers", "--expect", '{"header_not": {"Set-Cookie": "HttpOnly"}}')
    eq((rc, res["detail"]), (1, 'header_not Set-Cookie: "s=2; Secure; HttpOnly" matches '
       '/HttpOnly/'), f"{res}")
    for check in ('{"X-Test": "^bye"}', '{"X-Missing": "x"}'):
        rc, res = http(port, "/headers", "--expect", '{"header_not": %s}' % check)
        eq((rc, res["detail"]), (0, "200"), f"{check}: {res}")
    # several headers in one object: each must hold, the first that does not is named
    rc, res = http(port, "/headers", "--expect", '{"header": {"X-Test": "hello", '
                   '"Content-Type": "^text/plain$", "Set-Cookie": "Secure"}, '
                   '"header_not": {"X-Test": "^bye", "Server": "."}}')
    eq((rc, res["detail"]), (0, "200"), f"{res}")
    rc, res = http(port, "/headers", "--expect",
                   '{"header": {"X-Test": "hello", "Content-Type": "json"}}')
    eq((rc, res["detail"]), (1, 'header Content-Type: "text/plain" does not match /json/'),
       f"{res}")
    rc, res = http(port, "/headers", "--expect",
                   '{"header_not": {"X-Test": "^bye", "Set-Cookie": "HttpOnly"}}')
    eq((rc, res["detail"]), (1, 'header_not Set-Cookie: "s=2; Secure; HttpOnly" matches '
       '/HttpOnly/'), f"{res}")
    many = json.dumps({"header": {f"X-H{i}": "." for i in range(17)}})
    r = outpost("probe", "http", f"http://127.0.0.1:{port}/headers", "--expect", many)
    eq(r.returncode, 2, "17 headers")
    assert '"header" and "header_not" take {"Name": "regex its value matches", ...}, 1 to 16 ' \
        'headers' in r.stderr, r.stderr
    rc, res = http(port, "/json", "--expect", '{"body_regex": "\\"id\\": *[0-9]+"}')
    eq(rc, 0, f"{res}")
    rc, res = http(port, "/json", "--expect", '{"body_regex": "\\"id\\": *[a-z]+"}')
    assert res["detail"].startswith("body_regex: /"), res
    # lists: every text and pattern must hold, the first that does not is named
    rc, res = http(port, "/json", "--expect", json.dumps({
        "body_contains": ["status", "items"], "body_not_contains": ["error", "down"],
        "body_regex": ["\"n\": *2", "\"id\": *8"], "body_not_regex": ["false", "null"]}))
    eq((rc, res["detail"]), (0, "200"), f"{res}")
    for check, detail in [
            ({"body_contains": ["status", "nope"]}, 'body_contains: "nope" not in the first 69 '
             'bytes'),
            ({"body_not_contains": ["error", "items"]}, 'body_not_contains: "items" found'),
            ({"body_regex": ["status", "^x"]}, 'body_regex: /^x/ matches nothing in the first '
             '69 bytes'),
            ({"body_not_regex": ["false", "tru+e"]}, 'body_not_regex: /tru+e/ matches in the '
             'first 69 bytes')]:
        rc, res = http(port, "/json", "--expect", json.dumps(check))
        eq((rc, res["detail"]), (1, detail), f"{check}: {res}")
    for check, error in [({"body_contains": []}, "a body check takes a text or a list of 1 to 16"),
                         ({"body_regex": ["ok", "("]}, 'pattern "(": missing'),
                         ({"body_contains": ""}, "a body check's text is 1 to 1024 bytes")]:
        r = outpost("probe", "http", f"http://127.0.0.1:{port}/json", "--expect",
                    json.dumps(check))
        eq(r.returncode, 2, f"{check}")
        assert error in r.stderr, (check, r.stderr)
    # an error page served with 200: a pattern that must not match (fail_if_body_matches_regexp)
    rc, res = http(port, "/json", "--expect", '{"body_not_regex": "\\"up\\": *true"}')
    eq((rc, res["reason"], res["detail"]), (1, "expect", 'body_not_regex: /"up": *true/ '
       'matches in the first 69 bytes'), f"{res}")
    rc, res = http(port, "/json", "--expect-body-not-regex", "[Ee]rror|maintenance")
    eq((rc, res["detail"]), (0, "200"), f"{res}")
    rc, res = http(port, "/json", "--expect", '{"body_regex": "\\"id\\": *[0-9]{1,3}}"}')
    eq(rc, 0, f"a counted repeat: {res}")
    rc, res = http(port, "/json", "--expect-body-regex", '(?i)"STATUS": *"OK"')
    eq(rc, 0, f"(?i): {res}")
    r = outpost("probe", "http", "http://x/", "--expect", '{"body_regex": "a{3,2}"}')
    assert "with n below m" in r.stderr, r.stderr
    rc, res = http(port, "/delay/30", "--expect", '{"max_latency": "5ms"}')
    assert "max_latency: took" in res["detail"], res


def test_a_coded_body_is_not_searched_as_if_plain():
    """A server may gzip a body the request did not ask to be coded (RFC 9110 12.5.3; a store
    of pre-compressed files does): its compressed bytes hold neither "ready" nor "error", so a
    search in them would fail body_contains and pass body_not_contains whatever the body says.
    Each body check says instead that it did not look; the status and header checks still
    apply."""
    _, port = start_tool("mockhttp")
    for exp, name in (('{"body_contains": "ready"}', "body_contains"),
                      ('{"body_not_contains": "error"}', "body_not_contains"),
                      ('{"body_regex": "re+ady"}', "body_regex"),
                      ('{"json": {"$.status": "ready"}}', "json")):
        rc, res = http(port, "/gzip", "--expect", exp)
        eq((rc, res["reason"], res["detail"]), (1, "expect", f"{name}: not checked: the body "
           'came gzip-encoded (try "compression": "gzip")'), name)
    rc, res = http(port, "/gzip", "--expect", '{"header": {"Content-Encoding": "^gzip$"}}')
    eq(rc, 0, f"no body check: {res}")
    eq(res["http"]["content_length"], 34, "the body counted as sent")


class CodedServer:
    """Bodies in the codings a probe may ask for, made by Python's zlib, each in one response
    on its own connection: /gzip/N, /deflate/N (zlib), /rawdeflate/N, /members/N (two gzip
    members), /chunked/N (gzip in 7-byte chunks), /plain/N, /br/N (a coding outpost does not
    decode), /badcrc/N, /cut/N (the stream's last 20 bytes left out), /zeros/N (N zero bytes,
    gzipped), /bomb/N (N MiB of zeros, gzipped a MiB a member: a thousandth of that sent).
    The text starts with "BEGIN" and ends with "END"; the Accept-Encoding of every
    request is kept."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.srv.settimeout(30)
        self.port = self.srv.getsockname()[1]
        self.accepts = []
        threading.Thread(target=self.serve, daemon=True).start()

    @staticmethod
    def text(n):
        words = [b"probe ", b"latency ", b"outpost ", b"window ", b"deflate\n", b"%d "]
        out, i, size = [b"BEGIN "], 0, 6  # (a running size: summing each turn took seconds)
        while size < n - 3:
            w = words[(i * 7919) % len(words)]
            out.append(w % i if b"%" in w else w)
            size += len(out[-1])
            i += 1
        return b"".join(out)[:n - 3] + b"END"

    @staticmethod
    def gz(d):
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return c.compress(d) + c.flush()

    def body(self, kind, n):
        d = b"\0" * n if kind == "zeros" else self.text(n)
        raw = zlib.compressobj(6, zlib.DEFLATED, -15)
        return {"gzip": lambda: ("gzip", self.gz(d)), "zeros": lambda: ("gzip", self.gz(d)),
                "deflate": lambda: ("deflate", zlib.compress(d)),
                "rawdeflate": lambda: ("deflate", raw.compress(d) + raw.flush()),
                "members": lambda: ("gzip", self.gz(d[:n // 2]) + self.gz(d[n // 2:])),
                "chunked": lambda: ("gzip", self.gz(d)), "plain": lambda: (None, d),
                "br": lambda: ("br", self.gz(d)),
                "bomb": lambda: ("gzip", self.gz(bytes(1 << 20)) * n),
                "badcrc": lambda: ("gzip", self.gz(d)[:-8] + b"\0\0\0\0" + self.gz(d)[-4:]),
                "cut": lambda: ("gzip", self.gz(d)[:-20])}[kind]()

    def serve(self):
        for _ in range(64):
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                data += c.recv(65536)
            head = data.split(b"\r\n\r\n")[0].decode()
            self.accepts.append([l.split(":", 1)[1].strip() for l in head.split("\r\n")
                                 if l.lower().startswith("accept-encoding:")])
            _, kind, n = head.split(" ")[1].split("/")
            coding, body = self.body(kind, int(n))
            hdr = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
            hdr += f"Content-Encoding: {coding}\r\n" if coding else ""
            if kind == "chunked":
                c.sendall((hdr + "Transfer-Encoding: chunked\r\n\r\n").encode())
                for i in range(0, len(body), 7):
                    c.sendall(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]))
                c.sendall(b"0\r\n\r\n")
            else:
                c.sendall((hdr + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            c.close()


def test_compression_decodes_the_body():
    """"compression" (blackbox_exporter's): the request asks for the coding, the body is
    decoded as it comes, and the checks and the length are the decoded body's; the length as
    sent stays content_length. gzip (one member or two, framed by length or chunks), zlib and
    raw deflate, bodies past the decoder's 32 KiB window."""
    s = CodedServer()
    for path, coding in (("/gzip/100000", "gzip"), ("/members/5000", "gzip"),
                         ("/chunked/40000", "gzip"), ("/deflate/70000", "deflate"),
                         ("/rawdeflate/3000", "deflate"), ("/gzip/3", "gzip")):
        n = int(path.split("/")[2])
        rc, res = http(s.port, path, "--compression", coding, "--expect",
                       '{"body_contains": "BEGIN", "body_regex": "^BEGIN (probe|latency) "}'
                       if n > 16384 else '{"body_regex": "END$"}')
        eq((rc, res["detail"]), (0, "200"), path)
        eq(res["http"]["body_bytes"], n, f"{path}: the decoded length")
        sent = len(s.body(path.split("/")[1], n)[1])
        eq(res["http"]["content_length"], -1 if "chunked" in path else sent,
           f"{path}: the length as sent")
        eq(s.accepts[-1], [coding], f"{path}: Accept-Encoding")
    # an Accept-Encoding of the probe's own is sent as it is, when it accepts the coding
    rc, res = http(s.port, "/gzip/100", "--compression", "gzip", "--headers",
                   "Accept-Encoding: br;q=1, gzip;q=0.5")
    eq((rc, s.accepts[-1]), (0, ["br;q=1, gzip;q=0.5"]), f"{res}")
    r = outpost("probe", "http", f"http://127.0.0.1:{s.port}/gzip/100", "--compression", "gzip",
                "--headers", "Accept-Encoding: br")
    assert r.returncode == 2 and "does not accept it" in r.stderr, r.stderr
    r = outpost("probe", "http", f"http://127.0.0.1:{s.port}/gzip/100", "--compression", "br")
    assert r.returncode == 2 and '"compression" is "gzip" or "deflate"' in r.stderr, r.stderr
    s.srv.close()


def test_compression_failures_say_what_came():
    """A body not in the coding asked for, or one whose stream is broken, cut short or decodes
    past max_body_kib, fails with what was wrong."""
    s = CodedServer()
    for path, opts, reason, detail in (
            ("/plain/100", (), "expect",
             "compression: the body came unencoded (no Content-Encoding), not gzip"),
            ("/br/100", (), "expect", "compression: the body came br-encoded, not gzip"),
            ("/deflate/100", (), "expect", "compression: the body came deflate-encoded, not gzip"),
            ("/badcrc/50000", (), "protocol",
             "gzip body: CRC-32 check failed, after 50000 bytes decoded"),
            ("/cut/50000", (), "protocol", "gzip body ends before its stream does, after "),
            ("/zeros/10000000", ("--max-body-kib", "64"), "too_large",
             "body larger than max_body_kib 64 once decoded")):
        rc, res = http(s.port, path, "--compression", "gzip", *opts)
        eq((rc, res["reason"]), (1, reason), f"{path}: {res}")
        assert res["detail"].startswith(detail), (path, res["detail"])
    s.srv.close()


def test_a_body_that_decodes_large_does_not_hold_the_loop():
    """A coded body may decode to a thousand times what came: read a KiB at a time and
    decoded a MiB a turn of the loop, so the other probes stay on time. Before, a turn took
    up to 64 reads of 4 KiB, 270 MB decoded: over a second of the loop held (the largest
    scheduling delay, outpost_sched_lag_max_seconds, of a probe due every 100 ms)."""
    s = CodedServer()
    _, port = start_tool("mockhttp")
    app = Appliance({"probes": [
        {"name": "bomb", "kind": "http", "target": f"http://127.0.0.1:{s.port}/bomb/300",
         "compression": "gzip", "max_body_kib": 1048576, "interval": "30s", "timeout": "20s"},
        {"name": "tick", "kind": "http", "target": f"http://127.0.0.1:{port}/",
         "interval": "100ms"}]})
    wait_for(lambda: metric(app.metrics(), "probe_http_uncompressed_body_length",
                            probe="bomb") is not None, 40, "the bomb's run")
    m = app.metrics()
    eq((metric(m, "probe_success", probe="bomb"),
        metric(m, "probe_http_uncompressed_body_length", probe="bomb")), (1, 300 << 20), "bomb")
    lag = metric(m, "outpost_sched_lag_max_seconds")
    assert lag < 0.5, f"the loop was held {lag} s"
    rc, _ = app.stop()
    eq(rc, 0, "stop")
    s.srv.close()


def test_compression_through_the_appliance():
    """A probe and a /probe module with compression: the series are blackbox_exporter's
    (probe_http_content_length as sent, probe_http_uncompressed_body_length decoded), the
    decoders come from a pool sized at start (one for the probe, max_inflight for the
    module), and the engine allocates nothing for them."""
    s = CodedServer()
    base = f"http://127.0.0.1:{s.port}"
    app = Appliance({"limits": {"max_probes": 4, "max_inflight": 3},
                     "modules": {"gz": {"kind": "http", "compression": "gzip"}},
                     "probes": [{"name": "gz", "kind": "http", "target": base + "/gzip/50000",
                                 "compression": "gzip", "interval": "1s"},
                                {"name": "plain", "kind": "http", "target": base + "/plain/10",
                                 "interval": "1s"}]})
    wait_for(lambda: metric(app.metrics(), "probe_success", probe="gz") is not None, 10,
             "a run of gz")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="gz"), 1, "gz")
    eq(metric(m, "probe_http_uncompressed_body_length", probe="gz"), 50000, "decoded")
    eq(metric(m, "probe_http_content_length", probe="gz"), len(s.body("gzip", 50000)[1]),
       "as sent")
    eq(metric(m, "outpost_pool_max", pool="inflaters"), 3, "inflaters: 1 + 3, at most 3")
    wait_for(lambda: metric(app.metrics(), "outpost_pool_peak", pool="inflaters") == 1, 5,
             "one decoder in use at the peak (the pool's series are published each second)")
    st, body = app.get(f"/probe?module=gz&target={base}/deflate/100")
    eq(st, 200, body)
    pm = parse_metrics(body)
    eq(metric(pm, "probe_success"), 0, "a deflate body to a gzip module")
    st, body = app.get(f"/probe?module=gz&target={base}/members/20000")
    eq(metric(parse_metrics(body), "probe_http_uncompressed_body_length"), 20000, body)
    eq(metric(app.metrics(), "outpost_engine_allocs_total"), 0, "allocations")
    eq(app.get("/healthz")[0], 200, "healthz")
    rc, _ = app.stop()
    eq(rc, 0, "exit")
    s.srv.close()


def test_json_and_version_assertions():
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/json", "--expect",
                   '{"json": {"$.status": "ok", "items[1].id": 8, "$.up": true}, '
                   '"http_version": "1.1"}')
    eq(rc, 0, f"{res}")
    rc, res = http(port, "/json", "--expect", '{"json": {"$.status": "degraded"}}')
    eq(res["detail"], 'json $.status: "ok", expected "degraded"', "detail")
    rc, res = http(port, "/json", "--expect", '{"json": {"items[9].id": 1}}')
    eq(res["detail"], "json items[9].id: absent", "detail")
    rc, res = http(port, "/headers", "--expect", '{"json": {"$.a": 1}}')
    eq(res["detail"], "json: the body is not JSON", "detail")
    rc, res = http(port, "/json", "--expect", '{"http_version": "1.0"}')
    eq(res["detail"], "http_version 1.1, expected 1.0", "detail")
    # as blackbox_exporter's valid_http_versions write it
    rc, res = http(port, "/json", "--expect", '{"http_version": "HTTP/1.1"}')
    eq(rc, 0, f"{res}")
    # a fraction or an exponent on either side compares by value ("n": 2 in the body)
    rc, res = http(port, "/json", "--expect", '{"json": {"$.n": 2.0, "items[0].id": 7e0}}')
    eq(rc, 0, f"{res}")
    rc, res = http(port, "/json", "--expect", '{"json": {"$.n": 2.5}}')
    eq(res["detail"], 'json $.n: "2", expected "2.5"', "detail")


def test_what_cannot_be_asked_is_a_config_error():
    """A method a server would not know, a body check on HEAD (whose response has no body),
    a JSON path the lookup cannot follow: each would fail or pass every run for a reason that
    is the config's; each is refused at load with the fix."""
    for args, want in (
            (("--method", "get"), 'method "get": methods are case-sensitive; write "GET"'),
            (("--method", "GET /x"), 'method "GET /x": it is not a token'),
            (("--method", "HEAD", "--expect", '{"body_not_contains": "error"}'),
             'a response to HEAD has no body, so expect.body_not_contains cannot be checked'),
            (("--expect", '{"json": {"$.items[": 1}}'),
             'json path "$.items[": an index is a whole number in brackets; a path reads like '
             '$.items[0].id'),
            (("--expect", '{"json": {"$..id": 1}}'), 'json path "$..id": an empty name'),
            (("--expect", '{"cert_min_days": 14}'), 'expect.cert_min_days checks a '
             'certificate, and a plain http target without redirects has none; use https'),
            (("--expect", '{"http_version": "2"}'), '"http_version" is "1.0" or "1.1", not "2": '
             'outpost asks in HTTP/1.1, so a server answers in one of those')):
        r = outpost("probe", "http", "http://127.0.0.1:9/", *args)
        eq(r.returncode, 2, f"{args}: exit")
        assert want in r.stderr, (args, r.stderr)
    r = outpost("probe", "http", "http://127.0.0.1:9/", "--method", "HEAD", "--expect",
                '{"header": {"ETag": "."}}', "--timeout", "1s")
    assert "HEAD" not in r.stderr, r.stderr
    # with redirects the final request may be https; when it is not, the run says so (it
    # passed before, a certificate check that checked nothing)
    _, port = start_tool("mockhttp")
    rc, res = http(port, "/redirect/1", "--max_redirects", "2", "--expect",
                   '{"cert_min_days": 14}')
    eq((rc, res["detail"]), (1, "cert_min_days: no certificate: the final request was plain "
                             "http"), "plain after the redirects")


def test_request_method_headers_body():
    _, port = start_tool("mocktcp", "-m", "echo")
    # an echo server answers with our own request: it is not HTTP, which the probe says
    rc, res = probe("http", f"http://127.0.0.1:{port}/x", "--method", "POST",
                    "--body", "hello", "--headers", '{"X-Probe": "1"}', "--timeout", "1s")
    eq(res["reason"], "protocol", f"{res}")
    assert "POST /x HTTP/1.1" in res["detail"], res


def test_the_request_target_is_the_urls_path_and_query():
    """The fragment stays with the client (RFC 9110 7.1): a server would read "#top" as part of
    the path; the scheme is read in any case; a space or a UTF-8 letter is percent-encoded."""
    _, port = start_tool("mockhttp")
    rc, res = probe("http", f"HTTP://127.0.0.1:{port}/echo/a?b=1#top", "--expect",
                    json.dumps({"body_contains": "GET /echo/a?b=1 HTTP/1.1\r\n"}))
    eq((rc, res["reason"], res["detail"]), (0, "", "200"), f"{res}")
    # what a request line cannot carry goes percent-encoded, as a browser sends it
    rc, res = probe("http", f"http://127.0.0.1:{port}/echo/a b/caf\u00e9", "--expect",
                    json.dumps({"body_contains": "GET /echo/a%20b/caf%C3%A9 HTTP/1.1\r\n"}))
    eq((rc, res["reason"], res["detail"]), (0, "", "200"), f"{res}")


def test_a_long_request_body_arrives_whole():
    """outpost probe --body: 1,500 bytes arrive as given (the command line's JSON once cut
    each argument at about 1,000 bytes, silently)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    got = []

    def serve():
        c, _ = srv.accept()
        c.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            data += c.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")][0]
        while len(body) < length:
            body += c.recv(65536)
        got.append(body)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        c.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    body = "b" * 1492 + "END-MARK"
    rc, res = probe("http", f"http://127.0.0.1:{srv.getsockname()[1]}/", "--method", "POST",
                    "--body", body)
    t.join(5)
    srv.close()
    eq((rc, got), (0, [body.encode()]), f"{res}")


def test_a_configured_host_replaces_ours():
    """A probe of one backend by its address, for its virtual host: the configured Host (and
    User-Agent) goes instead of outpost's own, once; two Host headers are a 400 to any
    server (RFC 9112 3.2)."""
    _, port = start_tool("mockhttp")
    for expect in ({"body_regex": "\r\nHost: api\\.example\\.net\r\n",
                    "body_not_contains": "Host: 127"},
                   {"body_contains": "\r\nUser-Agent: edge-check/2\r\n",
                    "body_not_contains": "outpost/"}):
        rc, res = probe("http", f"http://127.0.0.1:{port}/echo/x", "--headers",
                        '{"Host": "api.example.net", "User-Agent": "edge-check/2"}',
                        "--expect", json.dumps(expect))
        eq((rc, res["reason"]), (0, ""), f"{expect}: {res}")
    # on the command line also as curl's -H takes them, one header each time
    rc, res = probe("http", f"http://127.0.0.1:{port}/echo/x", "--headers", "X-Probe: 1",
                    "--headers", "Authorization:  Bearer t0k", "--expect", json.dumps(
                        {"body_contains": "\r\nX-Probe: 1\r\nAuthorization: Bearer t0k\r\n"}))
    eq((rc, res["reason"]), (0, ""), f"{res}")
    # without one, outpost's own, naming the target
    rc, res = probe("http", f"http://127.0.0.1:{port}/echo/x", "--expect",
                    json.dumps({"body_contains": f"Host: 127.0.0.1:{port}\r\nUser-Agent: outpost/"}))
    eq((rc, res["reason"]), (0, ""), f"{res}")


def test_hostile_servers_fail_with_reasons():
    _, port = start_tool("mockhttp")
    cases = {
        "/garbage": ("protocol", 'not an HTTP response: "SSH-2.0-NotHTTP"'),
        # the line at fault is named, not the head's first bytes
        "/badheader": ("protocol", 'malformed header line: "Content-Length : 2"'),
        "/truncated": ("closed", "Content-Length not reached"),
        # an interim response is not the response the close came before
        "/continue-close": ("closed", "closed after a 100 interim response, before the final one"),
        # a switch nobody asked for: said at once, not waited on to the timeout
        "/switch": ("protocol", "101 Switching Protocols to a request that asked for no upgrade"),
        "/badchunk": ("protocol", "bad chunked encoding"),
        "/twolengths": ("protocol", "conflicting Content-Length headers (5 and 7)"),
        "/badlength": ("protocol", 'bad Content-Length "1x"'),
        "/bigheader": ("too_large", "response head over"),
        "/head-nolf": ("closed", "inside the response head"),
        "/silent": ("timeout", "during processing"),
        # a refusal sent before the request was read, then a reset: the status is named
        "/reset": ("recv", "connection reset in the body of a 413 response"),
        "/manyheaders": ("too_large", "more than 64 headers"),
    }
    for path, (reason, words) in cases.items():
        t0 = time.monotonic()
        rc, res = http(port, path, timeout="1s")
        eq(rc, 1, path)
        eq(res["reason"], reason, f"{path}: {res}")
        assert words in res["detail"], (path, res)
        assert time.monotonic() - t0 < 4, path
    rc, res = http(port, "/endless", "--max_body_kib", "512", timeout="3s")
    eq(res["reason"], "too_large", f"{res}")
    rc, res = http(port, "/endless", "--max_body_kib", "1048576", timeout="500ms")
    eq(res["reason"], "timeout", f"{res}")


def test_nothing_listening():
    rc, res = http(free_port(), "/")
    eq(res["reason"], "refused", f"{res}")


def test_appliance_exports_blackbox_series_and_stays_healthy():
    _, port = start_tool("mockhttp")
    base = f"http://127.0.0.1:{port}"
    probes = [{"name": n, "kind": "http", "target": base + p, "interval": "500ms",
               "timeout": "400ms"} for n, p in (("ok", "/bytes/10"), ("bad", "/garbage"),
                                                ("big", "/bigheader"), ("slow", "/silent"),
                                                ("flood", "/endless"),
                                                ("dated", "/headers"))]
    probes[0]["max_redirects"] = 2
    app = Appliance({"probes": probes})
    wait_for(lambda: all(metric(app.metrics(), "outpost_probe_runs_total", probe=p["name"],
                                result="success") is not None and
                         sum(v for lab, v in app.metrics()["outpost_probe_runs_total"]
                             if lab["probe"] == p["name"]) >= 2 for p in probes), 15,
             "two runs of every probe")
    m = app.metrics()
    eq(metric(m, "probe_success", probe="ok"), 1, "ok")
    eq(metric(m, "probe_http_status_code", probe="ok"), 200, "status")
    eq(metric(m, "probe_http_content_length", probe="ok"), 10, "length")
    eq(metric(m, "probe_http_version", probe="ok"), 1.1, "version")
    eq(metric(m, "probe_http_ssl", probe="ok"), 0, "ssl")
    assert metric(m, "probe_http_duration_seconds", probe="ok", phase="processing") > 0
    # only when the server sent one, as blackbox_exporter does
    eq(metric(m, "probe_http_last_modified_timestamp_seconds", probe="dated"), 784111777,
       "Last-Modified")
    eq(metric(m, "probe_http_last_modified_timestamp_seconds", probe="ok"), None, "none sent")
    # blackbox_exporter's hash of the address: FNV-1a over its 4 bytes, every digit printed
    h = 2166136261
    for b in (127, 0, 0, 1):
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    eq(metric(m, "probe_ip_addr_hash", probe="ok"), h, "probe_ip_addr_hash")
    for p in ("bad", "big", "slow", "flood"):
        eq(metric(m, "probe_success", probe=p), 0, p)
    eq(metric(m, "outpost_engine_allocs_total"), 0, "allocations")
    promtool_check(app.get("/metrics")[1])
    eq(app.get("/healthz")[0], 200, "healthz")
    rc, _ = app.stop()
    eq(rc, 0, "exit")


run(globals())
