/* t.h: the unit-test harness. Each case prints "PASS name" or "FAIL name"; tests/run.sh counts
 * them. ASSERT_* print both values and the place, then end the case. */
#ifndef T_H
#define T_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed, t_case_failed;

#define T_FAIL_AT(...)                                                   \
	do {                                                             \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);        \
		fprintf(stderr, __VA_ARGS__);                            \
		fprintf(stderr, "\n");                                   \
		t_case_failed = 1;                                       \
		return;                                                  \
	} while (0)

#define ASSERT(c)                                                        \
	do {                                                             \
		if (!(c))                                                \
			T_FAIL_AT("expected %s", #c);                    \
	} while (0)

#define ASSERT_EQ(a, b)                                                  \
	do {                                                             \
		long long t_a = (long long)(a), t_b = (long long)(b);    \
		if (t_a != t_b)                                          \
			T_FAIL_AT("%s == %s: %lld != %lld", #a, #b, t_a, t_b); \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                              \
	do {                                                             \
		const char *t_a = (a), *t_b = (b);                       \
		if (!t_a || !t_b || strcmp(t_a, t_b))                    \
			T_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b,  \
				t_a ? t_a : "(null)", t_b ? t_b : "(null)"); \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                     \
	do {                                                             \
		const char *t_h = (hay), *t_n = (needle);                \
		if (!t_h || !strstr(t_h, t_n))                           \
			T_FAIL_AT("\"%s\" does not contain \"%s\"",      \
				t_h ? t_h : "(null)", t_n);              \
	} while (0)

#define RUN(fn)                                                          \
	do {                                                             \
		t_case_failed = 0;                                       \
		fn();                                                    \
		printf("%s %s\n", t_case_failed ? "FAIL" : "PASS", #fn); \
		fflush(stdout);                                          \
		if (t_case_failed)                                       \
			t_failed++;                                      \
		else                                                     \
			t_passed++;                                      \
	} while (0)

#define T_DONE() (t_failed ? 1 : 0)

#endif
