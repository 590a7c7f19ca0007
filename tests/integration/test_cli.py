"""outpost probe: one-shot tcp and dns probes against local servers, and the CLI basics."""
import time
from lib import *


def test_version_and_help():
    r = outpost("--version")
    eq(r.returncode, 0, "exit")
    assert r.stdout.startswith("outpost "), r.stdout
    r = outpost("--help")
    eq(r.returncode, 0, "exit")
    assert "check-config" in r.stdout and "probe KIND TARGET" in r.stdout
    eq(outpost("frobnicate").returncode, 2, "unknown command")


def test_tcp_connect_ok():
    _, port = start_tool("mocktcp")
    rc, res = probe("tcp", f"127.0.0.1:{port}")
    eq(rc, 0, "exit")
    eq(res["success"], True, "success")
    eq(res["kind"], "tcp", "kind")
    assert res["phases"]["connect_ms"] > 0, res
    assert res["duration_ms"] >= res["phases"]["connect_ms"], res
    assert res["timestamp"].endswith("Z"), res


def test_tcp_refused():
    port = free_port()
    rc, res = probe("tcp", f"127.0.0.1:{port}")
    eq(rc, 1, "exit")
    eq(res["reason"], "refused", "reason")
    assert f"port {port}" in res["detail"], res


def test_tcp_send_expect():
    _, port = start_tool("mocktcp", "-m", "reply:+OK ready\r\n")
    rc, res = probe("tcp", f"127.0.0.1:{port}", "--send", "PING\r\n", "--expect", "+OK")
    eq(rc, 0, f"exit {res}")
    assert res["phases"]["processing_ms"] > 0, res


def test_tcp_expect_mismatch_names_what_came():
    _, port = start_tool("mocktcp", "-m", "reply:-ERR nope")
    rc, res = probe("tcp", f"127.0.0.1:{port}", "--send", "PING\r\n", "--expect", "+OK")
    eq(rc, 1, "exit")
    eq(res["reason"], "expect", "reason")
    assert "-ERR nope" in res["detail"], res


def test_tcp_banner_expect():
    _, port = start_tool("mocktcp", "-m", "banner:SSH-2.0-mock\r\n")
    rc, res = probe("tcp", f"127.0.0.1:{port}", "--expect", "SSH-2.0")
    eq(rc, 0, f"exit {res}")


def test_tcp_silent_server_times_out():
    _, port = start_tool("mocktcp", "-m", "silent")
    t0 = time.monotonic()
    rc, res = probe("tcp", f"127.0.0.1:{port}", "--expect", "x", "--timeout", "700ms")
    took = time.monotonic() - t0
    eq(rc, 1, "exit")
    eq(res["reason"], "timeout", "reason")
    assert "during processing" in res["detail"], res
    assert 0.6 < res["duration_ms"] / 1000 < 0.9, res
    assert took < 5, took



def test_tcp_server_that_floods_cannot_hold_the_loop():
    """A server that sends without end and never the expected text: the run still ends at
    its deadline (reads are taken in bounded rounds, so the timer gets its turn)."""
    _, port = start_tool("mocktcp", "-m", "flood")
    rc, res = probe("tcp", f"127.0.0.1:{port}", "--expect", "never", "--timeout", "1s")
    eq(res["reason"], "timeout", f"{res}")
    assert "during transfer" in res["detail"], res
    # held by an unbounded read loop, the deadline fired seconds late on this VM
    assert res["duration_ms"] < 1500, res

def test_dns_a_from_server():
    _, port = start_tool("mockdns", "svc.test:A:10.1.2.3", "svc.test:A:10.1.2.4")
    rc, res = probe("dns", "svc.test", "--server", f"127.0.0.1:{port}",
                    "--expect", '{"answer_contains": "10.1.2.4", "min_answers": 2}')
    eq(rc, 0, f"exit {res}")
    assert "10.1.2.3" in res["detail"] and "10.1.2.4" in res["detail"], res
    assert res["phases"]["resolve_ms"] > 0, res


def test_dns_answer_mismatch():
    _, port = start_tool("mockdns", "svc.test:A:10.1.2.3")
    rc, res = probe("dns", "svc.test", "--server", f"127.0.0.1:{port}",
                    "--expect", '{"answer_contains": "192.0.2.1"}')
    eq(rc, 1, "exit")
    eq(res["reason"], "dns_answer", "reason")
    assert "10.1.2.3" in res["detail"], res


def test_dns_rcodes():
    _, port = start_tool("mockdns", "gone.test:NXDOMAIN", "bad.test:SERVFAIL")
    rc, res = probe("dns", "gone.test", "--server", f"127.0.0.1:{port}")
    eq(res["reason"], "dns_rcode", "reason")
    assert "NXDOMAIN" in res["detail"], res
    rc, res = probe("dns", "gone.test", "--server", f"127.0.0.1:{port}",
                    "--expect", '{"rcode": "NXDOMAIN"}')
    eq(rc, 0, f"expected NXDOMAIN {res}")
    rc, res = probe("dns", "bad.test", "--server", f"127.0.0.1:{port}")
    assert "SERVFAIL" in res["detail"], res


def test_dns_truncated_retries_over_tcp():
    _, port = start_tool("mockdns", "big.test:TC", "big.test:TXT:served-over-tcp")
    rc, res = probe("dns", "big.test", "--record", "TXT", "--server", f"127.0.0.1:{port}")
    eq(rc, 0, f"exit {res}")
    assert "served-over-tcp" in res["detail"], res


def test_dns_stray_reply_ignored():
    _, port = start_tool("mockdns", "x.test:WRONGID", "x.test:AAAA:2001:db8::1")
    rc, res = probe("dns", "x.test", "--record", "AAAA", "--server", f"127.0.0.1:{port}")
    eq(rc, 0, f"exit {res}")
    assert "2001:db8::1" in res["detail"], res


def test_dns_silent_and_garbage_servers_time_out():
    _, port = start_tool("mockdns", "d.test:DROP", "g.test:GARBAGE")
    for name in ("d.test", "g.test"):
        t0 = time.monotonic()
        rc, res = probe("dns", name, "--server", f"127.0.0.1:{port}", "--timeout", "600ms")
        eq(rc, 1, "exit")
        eq(res["reason"], "timeout", f"reason for {name}")
        assert time.monotonic() - t0 < 5


def test_tcp_by_name_through_resolver():
    _, dport = start_tool("mockdns", "db.test:A:127.0.0.1")
    _, tport = start_tool("mocktcp")
    rc, res = probe("tcp", f"db.test:{tport}", env=outpost_env(dport))
    eq(rc, 0, f"exit {res}")
    assert res["phases"]["resolve_ms"] > 0, res
    rc, res = probe("tcp", f"nope.test:{tport}", env=outpost_env(dport))
    eq(res["reason"], "resolve", f"{res}")


def test_hosts_file_entries_it_cannot_keep_are_reported():
    _, tport = start_tool("mocktcp")
    env = outpost_env()
    # the first 64 names are kept (the board's OP_DNS_MAX_HOSTS); the rest are named on stderr
    names = [f"h{i}.test" for i in range(70)] + ["x" * 300]
    env["OUTPOST_HOSTS"] = write("".join(f"127.0.0.1 {n}\n" for n in names), ".hosts")
    r = outpost("probe", "tcp", f"h3.test:{tport}", env=env)
    eq(r.returncode, 0, r.stdout + r.stderr)
    assert "7 names left out (more than 64" in r.stderr, r.stderr
    # a file too big to read whole is not used, and says so
    env["OUTPOST_HOSTS"] = write("127.0.0.1 h3.test\n" + "# padding\n" * 2000, ".hosts")
    r = outpost("probe", "tcp", f"h3.test:{tport}", env=env)
    assert "is larger than 16383 bytes; not used" in r.stderr, r.stderr
    eq(json.loads(r.stdout)["reason"], "resolve", r.stdout)


def test_cname_chain_resolves():
    _, dport = start_tool("mockdns", "alias.test:CNAME:db.test", "alias.test:A:127.0.0.1")
    _, tport = start_tool("mocktcp")
    rc, res = probe("tcp", f"alias.test:{tport}", env=outpost_env(dport))
    eq(rc, 0, f"exit {res}")


def test_probe_option_errors():
    r = outpost("probe", "tcp", "127.0.0.1:1", "--sned", "x")
    eq(r.returncode, 2, "exit")
    assert 'did you mean "send"' in r.stderr, r.stderr


run(globals())
