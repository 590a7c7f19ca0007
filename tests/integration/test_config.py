"""outpost check-config and run: a broken config names file:line:col and the fix."""
from lib import *


def test_check_config_ok():
    path = write({"probes": [{"name": "a", "kind": "tcp", "target": "127.0.0.1:1"}]})
    r = outpost("check-config", path)
    eq(r.returncode, 0, r.stderr)
    assert "ok (1 probe;" in r.stdout, r.stdout


def test_unknown_key_names_place_and_fix():
    path = write('{\n  "probes": [\n    {"name": "db", "kind": "tcp", "target": "h:1",\n'
                 '     "timeuot": "5s"}\n  ]\n}\n')
    r = outpost("check-config", path)
    eq(r.returncode, 2, "exit")
    eq(r.stderr.strip(), f'{path}:4:6: unknown key "timeuot" in probe "db"; '
       'did you mean "timeout"?', "message")


def test_a_host_that_is_no_dns_name_is_refused_at_load():
    """A typo in a host fails the config with why, not each run with "invalid argument"."""
    long = "a" * 64
    for probe, words in (
            ({"kind": "http", "target": "http://api..example.org/health"},
             'the host "api..example.org" is not a DNS name: it has an empty label'),
            ({"kind": "tcp", "target": f"{long}.example.org:443"},
             "is not a DNS name: it has a label over 63 bytes"),
            ({"kind": "dns", "target": "example..org"},
             'the name to query, "example..org", has an empty label')):
        path = write('{"probes": [\n  ' + json.dumps({"name": "p", **probe}) + "\n]}")
        r = outpost("check-config", path)
        eq(r.returncode, 2, f"{probe}: exit")
        assert r.stderr.startswith(f"{path}:2:") and words in r.stderr, r.stderr


def test_the_usual_json_slips_are_named():
    """What a hand-edited file gets wrong most: each named where it is, with the fix."""
    for text, place, words in (
            ('// edge box in Lima\n{"probes": []}', "1:1", "a comment, which JSON has none of"),
            ("{'probes': []}", "1:2", "a string takes double quotes (\"...\"), not single"),
            ('{\n  probes: []}', "2:3", "a bare word; a key or a string takes double quotes"),
            ('{"probes": [{"name": "a", "kind": "tcp", "target": "h:1",\n  "interval": 5s}]}',
             "2:15", 'invalid JSON: 5s is not a JSON value; a string takes double quotes ("5s")'),
            ('{"probes": [{"name": "a", "kind": "tcp", "target": "h:1", "enabled": True}]}',
             "1:70", "true, false and null are lower case")):
        path = write(text)
        r = outpost("check-config", path)
        eq(r.returncode, 2, f"{text}: exit")
        assert r.stderr.startswith(f"{path}:{place}: ") and words in r.stderr, (text, r.stderr)


def test_a_file_not_in_utf8_is_named_and_a_bom_is_taken():
    latin1 = write("")
    with open(latin1, "wb") as f:
        f.write('{"appliance": {"name": "edge",\n  "region": "São Paulo"}}'.encode("latin-1"))
    r = outpost("check-config", latin1)
    eq(r.returncode, 2, "exit")
    eq(r.stderr.strip(), f"{latin1}:2:15: byte 0xe3 here is not UTF-8 (was the file saved as "
       "Latin-1 or another code page?); save it as UTF-8", "message")
    with open(latin1, "wb") as f:
        f.write('{"appliance": {"name": "edge",\n  "region": "São Paulo"}}'.encode("utf-8-sig"))
    r = outpost("check-config", latin1)
    eq(r.returncode, 0, r.stderr)


def test_run_refuses_bad_config():
    path = write('{"limits": {"max_probes": "lots"}}')
    r = outpost("run", "-c", path, timeout=10)
    eq(r.returncode, 2, "exit")
    assert f"{path}:1:27: " in r.stderr and "whole number" in r.stderr, r.stderr


def test_missing_file():
    r = outpost("check-config", "/nonexistent/outpost.json")
    eq(r.returncode, 2, "exit")
    eq(r.stderr.strip(), "/nonexistent/outpost.json: cannot read it: no such file", "missing")
    # what the operator can act on, not "cannot read the file"
    d = tempfile.mkdtemp()
    r = outpost("check-config", d)
    eq((r.returncode, r.stderr.strip()), (2, f"{d}: cannot read it: a directory, not a file"),
       "a directory")


def test_env_expansion_and_unset_variable():
    path = write('{"appliance": {"name": "${EDGE_NAME}"}}')
    env = outpost_env()
    env.pop("EDGE_NAME", None)
    r = outpost("check-config", path, env=env)
    eq(r.returncode, 2, "exit")
    assert "EDGE_NAME is not set" in r.stderr and "${EDGE_NAME:-value}" in r.stderr, r.stderr
    env["EDGE_NAME"] = "edge-07"
    eq(outpost("check-config", path, env=env).returncode, 0, "with the variable set")



def test_exports_and_channels_are_named_as_such():
    """An export's or a channel's bad URL or proxy names it as what it is, where it is."""
    base = '{"probes": [{"name": "a", "kind": "tcp", "target": "127.0.0.1:1"}],\n'
    cases = [
        ('"exports": {"hub": {"type": "results_webhook", "url": "http://h/x",\n'
         '  "proxy": "https://p:1"}}}',
         '2:20: export "hub": proxy "https://p:1" must be an http proxy like'),
        ('"notifications": {"n": {"type": "webhook", "url": "htp://x"}}}',
         '2:24: channel "n": url "htp://x" must be a URL like'),
    ]
    for text, want in cases:
        path = write(base + text)
        r = outpost("check-config", path)
        eq(r.returncode, 2, text)
        assert r.stderr.startswith(f"{path}:{want}"), r.stderr


run(globals())
