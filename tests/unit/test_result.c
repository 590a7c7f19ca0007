/* test_result.c: latency quantiles against brute force, histogram buckets. */
#include <stdlib.h>
#include "../../core/result.h"
#include "t.h"

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_loghist_vs_sorted(void)
{
	static uint64_t v[20000];
	struct loghist h = {0};
	srand(3);
	for (int i = 0; i < 20000; i++) {
		/* a long-tailed mix of µs values */
		v[i] = (uint64_t)(rand() % 1000) * (uint64_t)(1 + rand() % 1000) + 1;
		loghist_add(&h, v[i]);
	}
	qsort(v, 20000, sizeof v[0], cmp);
	const double qs[] = {0.5, 0.9, 0.99, 1.0};
	for (int k = 0; k < 4; k++) {
		uint64_t exact = v[(size_t)(qs[k] * 20000 + 0.5) - 1];
		uint64_t est = loghist_quantile(&h, qs[k]);
		/* upper bucket edge: never below the true value, at most 12.5 % above */
		if (est < exact || est > exact + exact / 8 + 1)
			T_FAIL_AT("q%.2f: estimate %llu, exact %llu", qs[k], (unsigned long long)est,
				(unsigned long long)exact);
	}
	ASSERT_EQ(loghist_quantile(&h, 1.0), v[19999]);
}

static void test_stats_buckets(void)
{
	struct probe_stats s = {0};
	struct result r = {.ok = 1, .duration_us = 3000};
	stats_add(&s, &r); /* 3 ms: bucket le=0.005 */
	r.duration_us = 20000000;
	r.ok = 0;
	r.reason = REASON_TIMEOUT;
	stats_add(&s, &r); /* 20 s: above the largest bound */
	ASSERT_EQ(s.hist[2], 1);
	ASSERT_EQ(s.hist[OP_HIST_N], 1);
	ASSERT_EQ(s.runs_ok, 1);
	ASSERT_EQ(s.runs_fail, 1);
	ASSERT_EQ(s.by_reason[REASON_TIMEOUT], 1);
	ASSERT_STR_EQ(reason_label(REASON_DNS_RCODE), "dns_rcode");
	ASSERT_EQ(s.last.reason, REASON_TIMEOUT);
}

int main(void)
{
	RUN(test_loghist_vs_sorted);
	RUN(test_stats_buckets);
	return T_DONE();
}
