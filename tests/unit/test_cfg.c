/* test_cfg.c: config loading: values, defaults, expansion, and every error naming
 * file:line:col with a fix. */
#define _GNU_SOURCE
#include <stdlib.h>
#include "../../core/cfg.h"
#include "../../core/probe.h"
#include "t.h"

static char err[1024];
static struct cfg c;

static int load(const char *text)
{
	return cfg_load_text(&c, "t.json", text, strlen(text), err, sizeof err);
}

static void test_full_schema(void)
{
	setenv("T_REGION", "ap-south-1", 1);
	unsetenv("T_UNSET");
	int rc = load("{\n"
		      "  \"appliance\": {\"name\": \"edge-01\", \"region\": \"${T_REGION}\",\n"
		      "                \"labels\": {\"site\": \"lab\"}},\n"
		      "  \"web\": {\"listen\": \"${T_UNSET:-127.0.0.1:9}\"},\n"
		      "  \"limits\": {\"max_probes\": 10, \"max_inflight\": \"4\", \"history\": 7},\n"
		      "  \"probes\": [\n"
		      "    {\"name\": \"db\", \"kind\": \"tcp\", \"target\": \"127.0.0.1:5432\",\n"
		      "     \"interval\": \"1m30s\", \"timeout\": \"1500ms\", \"send\": \"a\\r\\n\\u00e9\"},\n"
		      "    {\"name\": \"dns\", \"kind\": \"dns\", \"target\": \"example.org\",\n"
		      "     \"record\": \"AAAA\", \"server\": \"127.0.0.1:53\",\n"
		      "     \"expect\": {\"rcode\": \"NXDOMAIN\"}}\n"
		      "  ]\n"
		      "}\n");
	if (rc)
		T_FAIL_AT("load failed: %s", err);
	ASSERT_STR_EQ(c.name, "edge-01");
	ASSERT_STR_EQ(c.region, "ap-south-1");
	ASSERT_EQ(c.nlabels, 1);
	ASSERT_STR_EQ(c.labels[0].key, "site");
	ASSERT_STR_EQ(c.listen, "127.0.0.1:9");
	ASSERT_EQ(c.max_probes, 10);
	ASSERT_EQ(c.max_inflight, 4);
	ASSERT_EQ(c.history, 7);
	ASSERT_EQ(c.nprobes, 2);
	ASSERT_EQ(c.probes[0].interval_us, 90000000);
	ASSERT_EQ(c.probes[0].timeout_us, 1500000);
	ASSERT_STR_EQ(*(const char **)c.probes[0].conf, "a\r\n\xc3\xa9");
	ASSERT_EQ(c.probes[1].interval_us, 30000000); /* default */
	ASSERT_EQ(c.probes[1].timeout_us, 5000000);
	ASSERT_STR_EQ(c.probes[1].ops->kind, "dns");
	cfg_free(&c);
}

static void test_defaults(void)
{
	ASSERT_EQ(load("{}"), 0);
	ASSERT_STR_EQ(c.listen, "127.0.0.1:8080");
	ASSERT_EQ(c.web_threads, 8);
	ASSERT_EQ(c.max_probes, 256);
	ASSERT_EQ(c.max_inflight, 64);
	ASSERT_EQ(c.history, 120);
	ASSERT_EQ(c.nprobes, 0);
	cfg_free(&c);
}

static void test_embedded_default_is_valid(void)
{
	int rc = cfg_load_text(&c, "default", cfg_default_json, strlen(cfg_default_json), err,
		sizeof err);
	if (rc)
		T_FAIL_AT("%s", err);
	ASSERT(c.nprobes >= 2);
	cfg_free(&c);
}

/* Each bad config and the exact position and words its error must have. */
static const struct {
	const char *text, *where, *words;
} bad[] = {
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h:1\",\n  \"intervall\": \"5s\"}]}",
		"t.json:2:3: ", "unknown key \"intervall\" in probe \"a\"; did you mean \"interval\"?"},
	{"{\"limts\": {}}", "t.json:1:2: ", "did you mean \"limits\"?"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tpc\", \"target\": \"h:1\"}]}", "t.json:1:35: ",
		"unknown probe kind \"tpc\"; did you mean \"tcp\"?"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\"}]}", "t.json:1:13: ",
		"probe \"a\" is missing \"target\""},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h:1\", \"interval\": \"5 s\"}]}",
		"t.json:1:71: ", "is not a duration"},
	/* a bare number: the unit it lacks is suggested */
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h:1\", \"interval\": 30}]}",
		"t.json:1:71: ", "\"interval\": 30 has no unit; write \"30s\" (or \"30ms\", \"30m\")"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h:1\", \"interval\": \"1s\", "
	 "\"timeout\": \"2s\"}]}", "t.json:1:13: ", "timeout 2s is longer than its interval 1s"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h\"}]}", "t.json:1:13: ",
		"must be \"host:port\""},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h:1\"},\n"
	 "{\"name\": \"a\", \"kind\": \"tcp\", \"target\": \"h:2\"}]}", "t.json:2:1: ",
		"probe name \"a\" is already used on line 1"},
	{"{\"web\": {\"listen\": \"${T_NOPE}\"}}", "t.json:1:20: ",
		"environment variable T_NOPE is not set"},
	{"{\"limits\": {\"max_probes\": 1}, \"probes\": [{\"name\": \"a\", \"kind\": \"tcp\", "
	 "\"target\": \"h:1\"}, {\"name\": \"b\", \"kind\": \"tcp\", \"target\": \"h:1\"}]}",
		"t.json:1:41: ", "2 probes configured but limits.max_probes is 1"},
	{"{\"limits\": {\"history\": 0}}", "t.json:1:24: ", "\"history\" must be between 1 and"},
	{"{\"appliance\": {\"labels\": {\"probe\": \"x\"}}}", "t.json:1:27: ",
		"label name \"probe\" is used by outpost itself"},
	{"{\"web\": {\"listen\": \"x\"}}", "t.json:1:20: ", "\"listen\" must be \"ip:port\""},
	{"{\"web\": {\"threads\": 2}}", "t.json:1:21: ", "\"threads\" must be between 3 and 64"},
	{"{\"web\": {}}\n{}", "t.json:2:1: ", "text after the top-level object"},
	{"{\"web\": {\"listen\": \"127.0.0.1:80\",}}", "t.json:1:", "invalid JSON"},
	{"{\"web\": {\"listen\": \"127.0.0.1:80\"}", "t.json:1:", "ends too early"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"dns\", \"target\": \"x\", \"record\": \"AAA\"}]}",
		"t.json:1:13: ", "record \"AAA\" is not one of"},
	{"{\"probes\": [{\"name\": \"a b\", \"kind\": \"dns\", \"target\": \"x\"}]}", "t.json:1:13: ",
		"names use letters"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"dns\", \"target\": \"x\", \"ip_protocol\": \"ip6\"}]}",
		"t.json:1:13: ", "\"ip_protocol\" does not apply to a dns probe"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"exec\", \"target\": \"x\", \"command\": [\"true\"], "
	 "\"ip_protocol\": \"ip4\"}]}", "t.json:1:13: ", "does not apply to an exec probe"},
	{"{\"limits\": {\"max_probes\": 1}, \"limits\": {}}", "t.json:1:31: ", "given twice"},
	{"", "t.json:1:1: ", "the file is empty"},
	{"{\"web\": {\"listen\": \"\"} \"limits\": {}}", "t.json:1:24: ", "invalid JSON"},
	{"{\"probes\": [{}, , {}]}", "t.json:1:17: ", "invalid JSON"},
	{"{\"appliance\": {\"name\": \"a\\u0000b\"}}", "t.json:1:24: ", "may not hold \\u0000"},
	{"{\"appliance\": {\"name\": \"\\ud83dx\"}}", "t.json:1:24: ", "half a surrogate pair"},
	{"{\"probes\": [{\"name\": \"a\", \"kind\": \"http\", \"target\": \"http://h/\", "
	 "\"headers\": {\"Host\": \"v.example\", \"connection\": \"keep-alive\"}}]}", "t.json:1:99: ",
		"header \"connection\" is set by outpost itself"},
};

static void test_errors(void)
{
	unsetenv("T_NOPE");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = load(bad[i].text);
		if (rc == 0) {
			cfg_free(&c);
			T_FAIL_AT("case %zu loaded, expected an error", i);
		}
		if (getenv("T_VERBOSE"))
			fprintf(stderr, "case %zu: %s\n", i, err);
		if (strncmp(err, bad[i].where, strlen(bad[i].where)))
			T_FAIL_AT("case %zu: \"%s\" does not start with \"%s\"", i, err, bad[i].where);
		if (!strstr(err, bad[i].words))
			T_FAIL_AT("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].words);
	}
}

static void test_durations(void)
{
	uint64_t us;
	ASSERT_EQ(cfg_parse_duration("250ms", &us), 0);
	ASSERT_EQ(us, 250000);
	ASSERT_EQ(cfg_parse_duration("1h2m3s", &us), 0);
	ASSERT_EQ(us, 3723000000ll);
	ASSERT_EQ(cfg_parse_duration("1.5s", &us), 0);
	ASSERT_EQ(us, 1500000);
	ASSERT_EQ(cfg_parse_duration("10", &us), OP_EINVAL);
	us = 7;
	ASSERT_EQ(cfg_parse_duration("0", &us), 0);
	ASSERT_EQ(us, 0);
	ASSERT_EQ(cfg_parse_duration("s", &us), OP_EINVAL);
	ASSERT_EQ(cfg_parse_duration("", &us), OP_EINVAL);
	ASSERT_EQ(cfg_parse_duration("2d12h", &us), 0); /* as Prometheus writes them */
	ASSERT_EQ(us, 216000000000ull);
	ASSERT_EQ(cfg_parse_duration("1w", &us), 0);
	ASSERT_EQ(us, 604800000000ull);
	ASSERT_EQ(cfg_parse_duration("5y", &us), OP_EINVAL);
}

static void test_expansion_escapes(void)
{
	setenv("T_X", "v", 1);
	ASSERT_EQ(load("{\"appliance\": {\"name\": \"a$${T_X}b${T_X}${T_NONE:-d}\"}}"), 0);
	ASSERT_STR_EQ(c.name, "a${T_X}bvd");
	cfg_free(&c);
}

int main(void)
{
	RUN(test_full_schema);
	RUN(test_defaults);
	RUN(test_embedded_default_is_valid);
	RUN(test_errors);
	RUN(test_durations);
	RUN(test_expansion_escapes);
	return T_DONE();
}
