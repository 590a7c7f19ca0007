/* test_regex.c: the regex matcher against a table of patterns and subjects, and its errors. */
#include "../../core/regex.h"
#include "t.h"

static const struct {
	const char *re, *s;
	int want;
} cases[] = {
	{"abc", "xxabcxx", 1}, {"abc", "ab", 0}, {"^abc", "xabc", 0}, {"^abc", "abcx", 1},
	{"abc$", "xabc", 1}, {"abc$", "abcx", 0}, {"a.c", "a-c", 1}, {"a.c", "a\nc", 0},
	{"ab*c", "ac", 1}, {"ab*c", "abbbc", 1}, {"ab+c", "ac", 0}, {"ab+c", "abbc", 1},
	{"ab?c", "abc", 1}, {"ab?c", "abbc", 0}, {"(ab)+$", "ababab", 1}, {"^(ab)+$", "ababa", 0},
	{"cat|dog", "hotdog", 1}, {"cat|dog", "bird", 0}, {"^(cat|dog)s?$", "dogs", 1},
	{"[0-9]+ms", "took 123ms", 1}, {"[^a-z]", "abc", 0}, {"[^a-z]", "abC", 1},
	{"\\d{", "1{", 1}, {"\\d\\d\\.\\d", "v12.5", 1}, {"\\w+@\\w+", "mail me@host", 1},
	{"\\s", "nospace", 0}, {"[a\\-z]", "-", 1}, {"[]x]", "]", 1}, {"x*", "", 1},
	{"\"status\": *\"ok\"", "{\"status\":  \"ok\"}", 1}, {"(a|b)*c", "ababab", 0},
	{"(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", 0},
	{"^$", "", 1}, {"^line2", "line1\nline2", 1}, {"(", "", -1}, {"a)", "", -1},
	{"*a", "", -1}, {"[a", "", -1}, {"\\1", "", -1},
	/* counted repeats, as Go's RE2 (so blackbox_exporter's patterns) reads them */
	{"\\d{3}", "ab123", 1}, {"^\\d{3}$", "12", 0}, {"^\\d{3}$", "1234", 0},
	{"^\\d{3}$", "123", 1}, {"^a{2,}$", "a", 0}, {"^a{2,}$", "aaaa", 1}, {"^a{2,3}$", "aaaa", 0},
	{"^a{2,3}$", "aaa", 1}, {"^a{2,3}$", "aa", 1}, {"^a{0,2}b", "b", 1}, {"^a{0,2}b$", "aaab", 0},
	{"^(ab){2}$", "abab", 1}, {"^(ab){2}$", "ababab", 0}, {"^a{0}b$", "b", 1},
	{"^a{0}b$", "ab", 0}, {"^a{0,}b$", "aaab", 1}, {"^(a|bc){1,2}$", "bca", 1},
	{"max-age=\\d{4,}", "max-age=31536000", 1}, {"max-age=\\d{4,}", "max-age=300", 0},
	{"a{", "a{", 1}, {"a{,2}", "a{,2}", 1}, {"a{x}", "a{x}", 1}, {"a{3,2}", "", -1},
	{"a{5000}", "", -1},
	/* a leading (?i): ASCII letters in either case, classes too ([^a] is no A either) */
	{"(?i)error", "An ERROR page", 1}, {"(?i)^ok$", "OK", 1}, {"(?i)[a-c]x", "Bx", 1},
	{"(?i)[^a]", "aA", 0}, {"(?i)\\d+ MS", "took 12 ms", 1}, {"error", "ERROR", 0},
	{"a(?i)b", "", -1}, {"(?s).", "", -1}, {"^(?:ab)+$", "abab", 1}, {"(?:a|b)c", "bc", 1},
	/* word boundaries */
	{"\\bok\\b", "it is ok.", 1}, {"\\bok\\b", "broken", 0}, {"\\bok\\b", "ok", 1},
	{"ok\\B", "okay", 1}, {"ok\\B", "ok!", 0}, {"\\b", "", 0}, {"^\\B$", "", 1},
	{"(?i)\\berror\\b", "Fatal Error: x", 1}, {"(?i)\\berror\\b", "errors", 0},
};

static void test_table(void)
{
	static struct op_regex re;
	char err[64];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = regex_compile(&re, cases[i].re, err, sizeof err);
		if (cases[i].want < 0) {
			if (rc == 0)
				T_FAIL_AT("case %zu /%s/ compiled, expected an error", i, cases[i].re);
			continue;
		}
		if (rc)
			T_FAIL_AT("case %zu /%s/: %s", i, cases[i].re, err);
		int got = regex_search(&re, cases[i].s, strlen(cases[i].s));
		if (got != cases[i].want)
			T_FAIL_AT("case %zu /%s/ on \"%s\": %d, want %d", i, cases[i].re, cases[i].s, got,
				cases[i].want);
	}
}

static void test_too_long(void)
{
	static struct op_regex re;
	char pat[1024], err[64];
	memset(pat, 'a', sizeof pat - 1);
	pat[sizeof pat - 1] = 0;
	ASSERT_EQ(regex_compile(&re, pat, err, sizeof err), OP_ETOOBIG);
}

int main(void)
{
	RUN(test_table);
	RUN(test_too_long);
	return T_DONE();
}
