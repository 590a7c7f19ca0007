/* test_json.c: values found at JSON paths in bodies a server sends (well formed, malformed and
 * too big), and the reasons a json check gives when it fails. */
#include <stdlib.h>
#include "../../core/json.h"
#include "t.h"

/* Each body is copied into a buffer of exactly its size, so a read past it is caught. */
static const char *value(const char *body, const char *path, char *out, size_t cap)
{
	size_t len = strlen(body), vlen;
	char *copy = malloc(len ? len : 1);
	memcpy(copy, body, len);
	const char *val;
	int rc = json_values(copy, len, &path, 1, &val, &vlen);
	const char *r = rc != 0 ? "(not JSON)" : !val ? "(absent)" : out;
	if (rc == 0 && val)
		snprintf(out, cap, "%.*s", (int)vlen, val);
	free(copy);
	return r;
}

static void test_paths(void)
{
	static const struct {
		const char *body, *path, *want;
	} cases[] = {
		{"{\"status\":\"ok\"}", "$.status", "ok"},
		{"{\"status\":\"ok\"}", "status", "ok"},
		{"{\"a\":{\"b\":[0,{\"c\":\"deep\"}]}}", "$.a.b[1].c", "deep"},
		{"{\"items\":[{\"id\":1},{\"id\":7}]}", "items[1].id", "7"},
		{"[[true,false],[]]", "[0][1]", "false"},
		{"[[true,false],[]]", "$[1]", "[]"},
		{"{\"n\": -1.5e3 }", "$.n", "-1.5e3"},
		{"{\"s\":\"a\\\"b\"}", "$.s", "a\\\"b"}, /* as sent: escapes are not decoded */
		{"{\"a\":1,\"a\":2}", "$.a", "1"},       /* the first of duplicate keys */
		{"{\"a\":1}", "$", "{\"a\":1}"},
		{"{\"a\":1}", "$.b", "(absent)"},
		{"{\"a\":[1,2]}", "$.a[2]", "(absent)"},
		{"{\"a\":[1,2]}", "$.a[-1]", "(absent)"},
		{"{\"a\":[1,2]}", "$.a.x", "(absent)"},
		{"{\"a\":1}", "$.a[0]", "(absent)"},
		{"{\"a\":1}", "$..a", "(absent)"},
		{"", "$.a", "(absent)"},
		/* what jsmn takes but JSON is not: the separators are checked */
		{"{\"a\" 1}", "$.a", "(not JSON)"},
		{"{\"a\":1 \"b\":2}", "$.b", "(not JSON)"},
		{"[1 2]", "[1]", "(not JSON)"},
		{"{\"a\":1,}", "$.a", "(not JSON)"},
		{"{\"a\"::1}", "$.a", "(not JSON)"},
		/* found by fuzzing: keys without separators made the lookup read past the body */
		{"{\"stctus\"\":ok\",\"n\"\"::ok\",\"n\":9}", "a", "(not JSON)"},
		{"{\"a\":[1,2", "$.a", "(not JSON)"},
	};
	char out[64];
	int wrong = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = value(cases[i].body, cases[i].path, out, sizeof out);
		if (strcmp(got, cases[i].want))
			wrong++, fprintf(stderr, "  %s in %s: \"%s\", want \"%s\"\n", cases[i].path,
				cases[i].body, got, cases[i].want);
	}
	ASSERT_EQ(wrong, 0);
}

/* A token array outlives each parse. On bodies jsmn takes without their separators, the lookup
 * once walked past the tokens of its own parse into those a bigger body had left, and read
 * past the end of its body (fuzzing found it). json_values rejects such bodies now; the lookup
 * itself must stay inside its tokens all the same: a big body goes first, then malformed ones,
 * parsed by jsmn alone. */
static void test_lookup_stays_inside_its_tokens(void)
{
	static jsmntok_t toks[512];
	static char big[4096];
	size_t n = 0;
	n += (size_t)snprintf(big + n, sizeof big - n, "{\"pad\":\"%0*d\",\"items\":[", 2000, 0);
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"id\":%d}", i ? "," : "", i);
	n += (size_t)snprintf(big + n, sizeof big - n, "]}");
	static const char *bad[] = {"{\"stctus\"\":ok\",\"n\"\"::ok\",\"n\":9}",
		"{\"items\" \"a\" \"b\" \"c\"}", "{\"items\":[1 2 3 4]}", "[[1 2] [3]]"};
	static const char *paths[] = {"items[3].id", "$.a.b[1].c", "[0][0]", "$.n", "$.id"};
	for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
		for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
			jsmn_parser jp;
			jsmn_init(&jp);
			ASSERT(jsmn_parse(&jp, big, n, toks, 512) > 100);
			size_t len = strlen(bad[b]);
			char *copy = malloc(len); /* exactly the body */
			memcpy(copy, bad[b], len);
			jsmn_init(&jp);
			int nt = jsmn_parse(&jp, copy, len, toks, 512);
			int at = json_path_find(copy, toks, nt, paths[p]);
			free(copy);
			ASSERT(nt > 0);
			ASSERT(at < nt);
		}
	}
}

static void test_unescape(void)
{
	static const struct {
		const char *in, *want; /* want NULL: rejected */
	} cases[] = {
		{"plain", "plain"},
		{"a\\/b\\\"c\\\\d", "a/b\"c\\d"},
		{"\\b\\f\\n\\r\\t", "\b\f\n\r\t"},
		{"caf\\u00e9 \\u20ac", "caf\xc3\xa9 \xe2\x82\xac"},
		{"\\ud83d\\ude00", "\xf0\x9f\x98\x80"}, /* a surrogate pair: one emoji */
		{"raw \xc3\xa9", "raw \xc3\xa9"},        /* UTF-8 bytes pass as they are */
		{"\\x", NULL},
		{"end\\", NULL},
		{"\\u12", NULL},
		{"\\u12g4", NULL},
		{"\\ud83d", NULL},         /* a high surrogate alone */
		{"\\ude00", NULL},         /* a low one alone */
		{"\\ud83d\\u0041", NULL}, /* a high one and no low one */
		{"nul\\u0000", NULL},
	};
	char out[32];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = json_unescape(cases[i].in, strlen(cases[i].in), out, sizeof out);
		if (!cases[i].want && n >= 0)
			T_FAIL_AT("\"%s\" decoded to \"%s\", want a rejection", cases[i].in, out);
		if (cases[i].want && (n < 0 || strcmp(out, cases[i].want) || (size_t)n != strlen(out)))
			T_FAIL_AT("\"%s\": %d \"%s\", want \"%s\"", cases[i].in, n, n < 0 ? "" : out,
				cases[i].want);
	}
	/* the room counts the terminating NUL */
	ASSERT_EQ(json_unescape("abcd", 4, out, 5), 4);
	ASSERT_EQ(json_unescape("abcd", 4, out, 4), -1);
	ASSERT_EQ(json_unescape("\\u20ac", 6, out, 4), 3);
	ASSERT_EQ(json_unescape("\\u20ac", 6, out, 3), -1);
	ASSERT_EQ(json_unescape("", 0, out, 0), -1);
}

static void test_expect_reasons(void)
{
	struct json_checks c = {.n = 2, .path = {"$.status", "$.n"}, .value = {"ok", "2"}};
	char why[128];
	ASSERT_EQ(json_expect("{\"status\":\"ok\",\"n\":2}", 21, &c, why, sizeof why), 0);
	ASSERT_EQ(json_expect("{\"status\":\"ok\",\"n\":3}", 21, &c, why, sizeof why), -1);
	ASSERT_STR_EQ(why, "json $.n: \"3\", expected \"2\"");
	ASSERT_EQ(json_expect("{\"status\":\"ok\"}", 15, &c, why, sizeof why), -1);
	ASSERT_STR_EQ(why, "json $.n: absent");
	/* strings compare as what they say, escapes decoded */
	struct json_checks esc = {.n = 2, .path = {"$.name", "$.p"}, .value = {"caf\xc3\xa9", "a/b"}};
	const char *escaped = "{\"name\":\"caf\\u00e9\",\"p\":\"a\\/b\"}";
	ASSERT_EQ(json_expect(escaped, strlen(escaped), &esc, why, sizeof why), 0);
	esc.value[1] = "a\\/b";
	ASSERT_EQ(json_expect(escaped, strlen(escaped), &esc, why, sizeof why), -1);
	ASSERT_STR_EQ(why, "json $.p: \"a/b\", expected \"a\\/b\"");
	ASSERT_EQ(json_expect("<html>", 6, &c, why, sizeof why), -1);
	ASSERT_STR_EQ(why, "json: the body is not JSON");
	/* a valid body with more values than the token array holds says so, not "not JSON" */
	static char big[8 * OP_JSON_BODY_TOKENS];
	size_t n = 0;
	big[n++] = '[';
	for (int i = 0; i < OP_JSON_BODY_TOKENS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, i ? ",%d" : "%d", i % 10);
	big[n++] = ']';
	char want[64];
	snprintf(want, sizeof want, "more than %d values in the body", OP_JSON_BODY_TOKENS);
	ASSERT_EQ(json_expect(big, n, &c, why, sizeof why), -1);
	ASSERT_CONTAINS(why, want);
}

/* Numbers with a fraction or an exponent compare by value (2.0 is 2, 1.5e3 is 1500);
 * integers as text, so ids past a double's 53 bits stay exact; a string is never a number. */
static void test_numbers_compare_by_value(void)
{
	static const struct {
		const char *body, *want;
		int ok;
	} cases[] = {
		{"{\"v\":2.0}", "2", 0},
		{"{\"v\":2}", "2.0", 0},
		{"{\"v\":1.5e3}", "1500", 0},
		{"{\"v\":-0.5}", "-5E-1", 0},
		{"{\"v\":1.5e3}", "1500.5", -1},
		{"{\"v\":2.0}", "two", -1},
		{"{\"v\":\"2.0\"}", "2", -1},                /* a string is its text */
		{"{\"v\":9007199254740993}", "9007199254740992", -1}, /* one double apart */
		{"{\"v\":0x10}", "16", -1},                    /* not JSON at all */
	};
	int wrong = 0;
	char why[128];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct json_checks c = {.n = 1, .path = {"$.v"}, .value = {cases[i].want}};
		int rc = json_expect(cases[i].body, strlen(cases[i].body), &c, why, sizeof why);
		if (rc != cases[i].ok)
			wrong++, fprintf(stderr, "  %s against %s: %d, want %d\n", cases[i].body,
				cases[i].want, rc, cases[i].ok);
	}
	ASSERT_EQ(wrong, 0);
}

/* A path the lookup cannot follow is a config error, not a check that is always "absent". */
static void test_path_faults(void)
{
	static const char *const good[] = {"$", "$.a", "a", "$.a.b[0].c", "items[12].id", "[0][1]",
		"$[1]", "$.a-b_c"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ASSERT_EQ(json_path_fault(good[i]), NULL);
	ASSERT_CONTAINS(json_path_fault("$.a["), "an index is a whole number in brackets");
	ASSERT_CONTAINS(json_path_fault("$.a[x]"), "an index is a whole number");
	ASSERT_CONTAINS(json_path_fault("$.a[-1]"), "an index is a whole number");
	ASSERT_CONTAINS(json_path_fault("$..a"), "an empty name (two dots in a row");
	ASSERT_CONTAINS(json_path_fault("$.a."), "an empty name");
	ASSERT_CONTAINS(json_path_fault("$.a]"), "a ] without its [");
	ASSERT_CONTAINS(json_path_fault("$.a]"), "; a path reads like $.items[0].id");
}

/* jsmn takes any bare word that starts like a value; only RFC 8259's are JSON. */
static void test_bare_values(void)
{
	static const char *ok[] = {"0", "-0", "12", "-3.25", "1e9", "2.5E-3", "1E+2", "true",
		"false", "null"};
	static const char *bad[] = {"5s", "01", "1.", ".5", "1e", "-", "1.2.3", "tru", "nulls",
		"0x10", "+1", "1e+"};
	char doc[64];
	jsmntok_t t[4];
	int at;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int n = snprintf(doc, sizeof doc, "[%s]", ok[i]);
		if (json_parse(doc, (size_t)n, t, 4) != 2)
			T_FAIL_AT("%s was refused", ok[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int n = snprintf(doc, sizeof doc, "{\"a\": %s}", bad[i]);
		jsmn_parser p;
		jsmn_init(&p);
		int nt = jsmn_parse(&p, doc, (size_t)n, t, 4);
		if (nt < 0)
			continue; /* jsmn refused it itself */
		if (json_check(doc, t, nt, &at) != -2 || at != 6)
			T_FAIL_AT("%s was taken", bad[i]);
	}
}

/* Whatever bytes go in (a command's output), JSON comes out: control bytes escaped, bytes that
 * are not UTF-8 replaced, UTF-8 kept. */
static void test_quote_any_bytes(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{"a\0b", 3, "\"a\\u0000b\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
			"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
		{"\xff\xfe", 2, "\"\\ufffd\\ufffd\""},
		{"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},         /* overlong '/' */
		{"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""}, /* a surrogate */
		{"ok\xe2\x82", 4, "\"ok\\ufffd\\ufffd\""},      /* cut short at the end */
		{"\x1b[31m\"\\", 7, "\"\\u001b[31m\\\"\\\\\""},
	};
	char out[128];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_quote_n(out, sizeof out, cases[i].in, cases[i].n);
		ASSERT_STR_EQ(out, cases[i].out);
		jsmntok_t t[2];
		ASSERT_EQ(json_parse(out, strlen(out), t, 2), 1);
	}
	/* a small buffer cuts between characters, never inside one, and still closes the string */
	json_quote_n(out, 12, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9);
	ASSERT_STR_EQ(out, "\"\xe2\x82\xac\"");
}

int main(void)
{
	RUN(test_paths);
	RUN(test_lookup_stays_inside_its_tokens);
	RUN(test_unescape);
	RUN(test_expect_reasons);
	RUN(test_numbers_compare_by_value);
	RUN(test_path_faults);
	RUN(test_bare_values);
	RUN(test_quote_any_bytes);
	return T_DONE();
}
