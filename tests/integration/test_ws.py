"""The ws probe against an independent server (the npm ws package) over ws:// and wss://:
echo, fragments, pings, large messages and the bound, server-initiated close; and against a
broken server written here (wrong accept key, oversized control frames, masked frames,
garbage): each fails with a reason, and the appliance keeps running."""
import json
import os
import socket
import subprocess
import time
import threading
import urllib.request
from lib import *
import certs

HERE = os.path.dirname(os.path.abspath(__file__))


def ws_server(*args):
    p = subprocess.Popen(["node", os.path.join(HERE, "wsserver.js"), *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import lib
    lib._procs.append(p)
    line = p.stdout.readline()
    if not line.startswith("port "):
        raise RuntimeError(f"wsserver did not start: {line!r} {p.stderr.read()}")
    return int(line.split()[1])


def stats(port, scheme="http"):
    import ssl
    ctx = ssl._create_unverified_context() if scheme == "https" else None
    with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/stats", timeout=5,
                                context=ctx) as r:
        return json.loads(r.read())


def test_echo_and_clean_close():
    port = ws_server()
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--send", "hello outpost",
                    "--expect-contains", "outpost")
    eq(rc, 0, f"{res}")
    ph = res["phases"]
    assert ph["connect"] > 0 and ph["processing"] > 0 and ph["transfer"] > 0, res
    eq(res["ws"]["message_bytes"], 13, "reply size")
    # the server saw our close with 1000
    wait_for(lambda: stats(port)["closes"].get("1000") == 1, 5, "close 1000 at the server")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/")  # no message: upgrade and close
    eq(rc, 0, f"{res}")


def test_expectations_name_the_failure():
    port = ws_server()
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--send", '{"state":"ok","n":3}',
                    "--expect-json", '{"$.state":"ok","$.n":4}')
    eq(rc, 1, "json mismatch")
    eq(res["reason"], "expect", "reason")
    eq(res["detail"], 'json $.n: "3", expected "4"', "detail")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--send", "abc",
                    "--expect-regex", "^b")
    eq((rc, res["reason"]), (1, "expect"), f"{res}")
    assert "regex" in res["detail"], res
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--send", "abc",
                    "--expect-contains", "xyz")
    eq((rc, res["reason"], res["detail"]), (1, "expect", 'contains: "xyz" not in the reply'),
       f"{res}")


def test_a_user_and_password_in_the_url():
    """ws://user:password@host/ goes as Authorization: Basic on the upgrade, and the result
    shows the URL without the password."""
    port = ws_server()
    rc, res = probe("ws", f"ws://op:s%3Acret@127.0.0.1:{port}/auth", "--send", "who",
                    "--expect-contains", "Basic b3A6czpjcmV0")  # base64 of "op:s:cret"
    eq(rc, 0, f"{res}")
    eq(res["target"], f"ws://op@127.0.0.1:{port}/auth", "shown without the password")


def test_fragments_pings_and_large_messages():
    port = ws_server()
    msg = "fragmented-" + "y" * 900
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/frag", "--send", msg,
                    "--expect-contains", "y" * 900)
    eq(rc, 0, f"{res}")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/ping", "--send", "p", "--expect-contains", "p")
    eq(rc, 0, f"{res}")
    wait_for(lambda: stats(port)["pongs"] >= 1, 5, "our pong at the server")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/big?n=16000", "--send", "x")
    eq(rc, 0, f"{res}")
    eq(res["ws"]["message_bytes"], 16000, "large message")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/big?n=5000", "--send", "x",
                    "--max-message", "4096")
    eq((rc, res["reason"]), (1, "protocol"), f"{res}")
    assert "max_message" in res["detail"] and "1009" in res["detail"], res
    wait_for(lambda: stats(port)["closes"].get("1009") == 1, 5, "close 1009 at the server")


def test_a_close_left_unanswered_keeps_the_verdict():
    """The reply is in and checked; a server that never answers our close costs the close's
    grace (1 s), not the verdict."""
    port = ws_server()
    t0 = time.monotonic()
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/noclose", "--send", "hi",
                    "--expect-contains", "hi", "--timeout", "5s")
    eq((rc, res["success"], res["detail"]), (0, True, "server did not answer the close"),
       f"{res}")
    assert 0.9 < time.monotonic() - t0 < 4, time.monotonic() - t0
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/noclose", "--send", "hi",
                    "--expect-contains", "no", "--timeout", "5s")
    eq((rc, res["reason"], res["detail"]), (1, "expect", 'contains: "no" not in the reply'),
       f"{res}")


def test_server_initiated_close():
    port = ws_server()
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/close?code=4001", "--send", "x")
    eq((rc, res["reason"]), (1, "closed"), f"{res}")
    eq(res["detail"], "server closed with 4001: bye", "detail")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/drop?ms=100", "--send", "x")
    eq((rc, res["reason"]), (1, "closed"), f"{res}")
    assert "without a close frame" in res["detail"], res


def test_wss_against_node():
    d = certs.make()
    port = ws_server(f"{d}/good.pem", f"{d}/good.key")
    rc, res = probe("ws", f"wss://localhost:{port}/echo", "--send", "secure",
                    "--expect-contains", "secure", "--tls-ca-file", f"{d}/ca.pem")
    eq(rc, 0, f"{res}")
    assert res["phases"]["tls"] > 0, res
    eq(res["tls"]["verified"], True, "verified")
    rc, res = probe("ws", f"wss://localhost:{port}/echo", "--send", "x")  # system CAs only
    eq((rc, res["reason"]), (1, "cert_untrusted"), f"{res}")


def test_through_an_http_proxy():
    """ws and wss alike tunnel through the proxy with CONNECT; wss verifies the target."""
    d = certs.make()
    port, sport = ws_server(), ws_server(f"{d}/good.pem", f"{d}/good.key")
    proxy = f"http://127.0.0.1:{tinyproxy()}"
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--send", "via", "--expect-contains",
                    "via", "--proxy", proxy)
    eq(rc, 0, f"{res}")
    rc, res = probe("ws", f"wss://localhost:{sport}/echo", "--send", "via",
                    "--expect-contains", "via", "--tls-ca-file", f"{d}/ca.pem", "--proxy", proxy)
    eq((rc, res["tls"]["verified"]), (0, True), f"{res}")
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--proxy",
                    f"http://127.0.0.1:{free_port()}")
    eq(res["reason"], "refused", f"{res}")


def broken_server(reply):
    """A TCP server answering each upgrade request with reply(key) bytes; returns its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(30)

    def serve():
        for _ in range(8):
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.settimeout(5)
            req = b""
            try:
                while b"\r\n\r\n" not in req:
                    req += c.recv(4096)
                key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n")
                       if l.lower().startswith(b"sec-websocket-key:")][0]
                c.sendall(reply(key))
                while c.recv(4096):  # until the client goes
                    pass
            except OSError:
                pass
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def accept_for(key):
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                            .digest())


def upgrade(key, accept=None):
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + (accept or accept_for(key)) + b"\r\n\r\n")


def test_broken_servers_fail_with_reasons():
    cases = [
        ("wrong accept", lambda k: upgrade(k, b"AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
         "protocol", "Sec-WebSocket-Accept does not match"),
        ("not 101", lambda k: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
         "protocol", "status 200, not 101"),
        ("garbage", lambda k: b"\x00\x01garbage\r\n\r\n", "protocol",
         'upgrade: not an HTTP response: "\\x00\\x01garbage"'),
        # the line at fault is named
        ("bad header", lambda k: upgrade(k)[:-2] + b"Sec WebSocket: x\r\n\r\n", "protocol",
         'upgrade: malformed header line: "Sec WebSocket: x"'),
        ("101 without upgrade", lambda k: b"HTTP/1.1 101 Switching Protocols\r\n"
         b"Sec-WebSocket-Accept: " + accept_for(k) + b"\r\n\r\n", "protocol",
         "101 without Upgrade: websocket and Connection: upgrade"),
        ("unasked extension", lambda k: upgrade(k)[:-2] +
         b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", "protocol",
         "server chose an extension none was offered"),
        # a subprotocol is the client's to offer (RFC 6455 4.1): none was
        ("unasked subprotocol", lambda k: upgrade(k)[:-2] +
         b"Sec-WebSocket-Protocol: mqtt\r\n\r\n", "protocol",
         'server chose subprotocol "mqtt", which was not offered'),
        ("big ping", lambda k: upgrade(k) + b"\x89\x7e\x00\xc8" + b"p" * 200,
         "protocol", "control frame over 125 bytes"),
        ("masked", lambda k: upgrade(k) + b"\x81\x81abcd\x00", "protocol", "masked frame"),
        ("reserved bits", lambda k: upgrade(k) + b"\xc1\x01a", "protocol", "reserved bits"),
        ("bad utf8", lambda k: upgrade(k) + b"\x81\x02\xc0\xaf", "protocol", "not UTF-8"),
        ("silent", lambda k: upgrade(k), "timeout", ""),
    ]
    for name, reply, reason, detail in cases:
        port = broken_server(reply)
        rc, res = probe("ws", f"ws://127.0.0.1:{port}/", "--send", "x", "--timeout", "1s")
        eq((rc, res["reason"]), (1, reason), f"{name}: {res}")
        assert detail in res["detail"], (name, res)
    # one that was offered goes through: the npm ws server picks the first it knows
    port = ws_server()
    rc, res = probe("ws", f"ws://127.0.0.1:{port}/echo", "--send", "x", "--headers",
                    "Sec-WebSocket-Protocol: graphql-transport-ws, graphql-ws")
    eq((rc, res["reason"]), (0, ""), f"{res}")


run(globals())
