/* test_result.c: latency quantiles against brute force, histogram buckets, the stable encoding. */
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

/* The spool's form of a result: every field back as it was; what a later build may write (an
 * unknown field, a field it made wider, a reason this build does not know) still reads; every
 * truncated prefix is refused, not read past. */
static void test_result_encoding_outlives_the_build(void)
{
	struct result r = {.wall_us = -1234567890123LL, .duration_us = 4000000000u, .ok = 0,
		.reason = REASON_CERT_HOSTNAME, .http_version = 11, .redirects = 3, .ssl = 1,
		.content_failed = 1, .http_status = -2, .content_length = -1, .body_bytes = 1ull << 40,
		.cert_expiry = 1803556800, .tls_cipher = 0xc02b, .tls_version = 12,
		.cert_verified = 0, .ip_protocol = 6, .tls_resumed = 1, .dns_replied = 1,
		.dns_rcode = 3, .dns_answers = 300, .dns_authority = 1, .dns_additional = 2,
		.dns_serial = 4294967295LL, .dns_tcp = 1};
	for (int i = 0; i < PHASE_COUNT; i++)
		r.phase_us[i] = 1000u * (uint32_t)i + 7;
	snprintf(r.detail, sizeof r.detail, "x509: wrong host \"%s\"", "b.example");
	uint8_t buf[600];
	size_t n = result_encode(buf, sizeof buf, &r);
	ASSERT(n > 0);
	struct result back;
	ASSERT_EQ(result_decode(buf, n, &back), 0);
	ASSERT(!memcmp(&back.wall_us, &r.wall_us, sizeof r.wall_us));
	ASSERT_EQ(back.duration_us, r.duration_us);
	ASSERT_EQ(back.reason, REASON_CERT_HOSTNAME);
	ASSERT_EQ(back.http_status, -2);
	ASSERT_EQ(back.content_length, -1);
	ASSERT_EQ(back.body_bytes, 1ull << 40);
	ASSERT_EQ(back.cert_expiry, 1803556800);
	ASSERT_EQ(back.tls_cipher, 0xc02b);
	ASSERT_EQ(back.ip_protocol, 6);
	ASSERT_EQ(back.tls_resumed, 1);
	ASSERT_EQ(back.dns_replied, 1);
	ASSERT_EQ(back.dns_rcode, 3);
	ASSERT_EQ(back.dns_answers, 300);
	ASSERT_EQ(back.dns_authority, 1);
	ASSERT_EQ(back.dns_additional, 2);
	ASSERT_EQ(back.dns_serial, 4294967295LL);
	ASSERT_EQ(back.dns_tcp, 1);
	ASSERT_EQ(back.phase_us[PHASE_TRANSFER], 4007);
	ASSERT_STR_EQ(back.detail, r.detail);
	/* a later build's record: an unknown field first, http_status (id 8) widened to 4 bytes
	 * holding -300, a reason this build has no label for */
	uint8_t later[700];
	size_t w = 0;
	later[w++] = 200, later[w++] = 3, later[w++] = 1, later[w++] = 2, later[w++] = 3;
	later[w++] = 8, later[w++] = 4;
	uint32_t v = (uint32_t)-300;
	for (int i = 0; i < 4; i++)
		later[w++] = (uint8_t)(v >> (8 * i));
	later[w++] = 64, later[w++] = 9;
	memcpy(later + w, "brand_new", 9);
	w += 9;
	ASSERT_EQ(result_decode(later, w, &back), 0);
	ASSERT_EQ(back.http_status, -300);
	ASSERT_EQ(back.reason, REASON_NONE);
	ASSERT_EQ(back.content_length, -1); /* absent: "none" */
	ASSERT_EQ(back.dns_serial, -1);
	/* every cut short: refused, or read as the whole fields before the cut */
	for (size_t k = 0; k < n; k++) {
		int rc = result_decode(buf, k, &back);
		if (rc == 0 && back.detail[0] && strcmp(back.detail, r.detail))
			T_FAIL_AT("prefix %zu gave detail \"%s\"", k, back.detail);
	}
	ASSERT_EQ(result_encode(buf, 40, &r), 0); /* no room: nothing, not half */
}

int main(void)
{
	RUN(test_loghist_vs_sorted);
	RUN(test_stats_buckets);
	RUN(test_result_encoding_outlives_the_build);
	return T_DONE();
}
