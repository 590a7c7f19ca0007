/* test_slo.c: the sliding windows against brute-force recomputation over random result
 * streams, with gaps, bursts and a clock that steps back. */
#include <stdlib.h>
#include "../../core/slo.h"
#include "t.h"

#define EVENTS 20000
static struct {
	uint32_t minute;
	int ok;
	uint64_t lat;
} ev[EVENTS];

static void test_windows_vs_brute_force(void)
{
	static struct slo_bucket ring[1440];
	struct slo_target t = {.availability = 0.99, .latency_p = 0.9, .latency_max_us = 300000,
		.nwin = 3, .win_min = {5, 60, 1440}};
	struct slo s;
	slo_init(&s, &t, ring);
	srand(11);
	uint32_t now = 29000000, newest = 0;
	for (int i = 0; i < EVENTS; i++) {
		int r = rand() % 100;
		if (r < 60)
			;                           /* same minute */
		else if (r < 95)
			now += 1 + rand() % 3;      /* the next few minutes */
		else if (r < 99)
			now += 30 + rand() % 2000;  /* a gap, sometimes longer than a day */
		else
			now -= rand() % 3;          /* the wall clock stepped back */
		ev[i].minute = now;
		ev[i].ok = rand() % 100 < 95;
		ev[i].lat = (uint64_t)(rand() % 600000);
		slo_add(&s, now, ev[i].ok, ev[i].lat);
		if (now > newest)
			newest = now;
		if (i % 97)
			continue;
		/* brute force: every event within (newest - W, newest] that was not too old to
		 * count when it arrived */
		for (int w = 0; w < 3; w++) {
			uint32_t W = t.win_min[w], total = 0, ok = 0, fast = 0;
			uint32_t seen_newest = 0;
			for (int k = 0; k <= i; k++) {
				if (ev[k].minute > seen_newest)
					seen_newest = ev[k].minute;
				int counted = ev[k].minute + 1440 > seen_newest; /* not dropped at arrival */
				if (counted && ev[k].minute + W > newest && ev[k].minute <= newest) {
					total++;
					ok += ev[k].ok;
					fast += ev[k].lat <= t.latency_max_us;
				}
			}
			struct slo_view v;
			slo_view(&s, w, &v);
			if (v.total != total)
				T_FAIL_AT("event %d window %u: total %u, brute force %u", i, W, v.total, total);
			double avail = total ? (double)ok / total : 1.0;
			double fr = total ? (double)fast / total : 1.0;
			if (v.availability != avail || v.fast_ratio != fr)
				T_FAIL_AT("event %d window %u: %.6f/%.6f vs %.6f/%.6f", i, W, v.availability,
					v.fast_ratio, avail, fr);
		}
	}
}

static void test_view_math(void)
{
	static struct slo_bucket ring[5];
	struct slo_target t = {.availability = 0.9, .latency_p = 0.5, .latency_max_us = 100000,
		.nwin = 1, .win_min = {5}};
	struct slo s;
	slo_init(&s, &t, ring);
	for (int i = 0; i < 10; i++)
		slo_add(&s, 100, i != 0, i < 6 ? 20000 : 400000); /* 1 failure, 6 fast */
	struct slo_view v;
	slo_view(&s, 0, &v);
	ASSERT_EQ(v.total, 10);
	ASSERT(v.availability > 0.899 && v.availability < 0.901);
	ASSERT(v.budget_remaining > -0.001 && v.budget_remaining < 0.001); /* 1 of 1 allowed */
	ASSERT_EQ(v.met, 1);
	ASSERT(v.latency_q_s == 0.025); /* the median falls in the 10-25 ms bucket */
	slo_add(&s, 101, 0, 20000);
	slo_view(&s, 0, &v);
	ASSERT_EQ(v.met, 0);
	ASSERT(v.budget_remaining < 0);
	slo_advance(&s, 105); /* minute 100 leaves the 5-minute window (100, 105] */
	slo_view(&s, 0, &v);
	ASSERT_EQ(v.total, 1);
	slo_advance(&s, 106);
	slo_view(&s, 0, &v);
	ASSERT_EQ(v.total, 0);
	ASSERT(v.availability == 1.0);
}

/* A box that booted with a date a year ahead, then had its clock set right: the runs after the
 * step are counted at once, not after a year. A step back within the longest window keeps
 * what the windows hold. */
static void test_a_clock_set_back_a_long_way(void)
{
	static struct slo_bucket ring[60];
	struct slo_target t = {.availability = 0.9, .nwin = 2, .win_min = {5, 60}};
	struct slo s;
	slo_init(&s, &t, ring);
	uint32_t ahead = 29000000 + 525600;
	for (int i = 0; i < 4; i++)
		slo_add(&s, ahead, 0, 1000);
	slo_add(&s, ahead - 30, 1, 1000); /* back 30 minutes: inside the hour */
	struct slo_view v;
	slo_view(&s, 1, &v);
	ASSERT_EQ(v.total, 5);
	slo_view(&s, 0, &v);
	ASSERT_EQ(v.total, 4); /* the 5-minute window is still the one ending at `ahead` */
	slo_add(&s, 29000000, 1, 1000);
	slo_add(&s, 29000000, 1, 1000);
	for (int w = 0; w < 2; w++) {
		slo_view(&s, w, &v);
		ASSERT_EQ(v.total, 2);
		ASSERT(v.availability == 1.0);
	}
	slo_advance(&s, 29000005);
	slo_view(&s, 0, &v);
	ASSERT_EQ(v.total, 0);
	slo_view(&s, 1, &v);
	ASSERT_EQ(v.total, 2);
}

/* The windows carried over (a reload, a restart): exported from one, merged into a fresh one,
 * every window says the same, and a shorter window set takes only its share. */
static void test_export_and_merge_carry_the_windows(void)
{
	static struct slo_bucket ring[1440], ring2[1440], ring3[60], out[1440];
	struct slo_target t = {.availability = 0.99, .latency_p = 0.9, .latency_max_us = 300000,
		.nwin = 3, .win_min = {5, 60, 1440}};
	struct slo_target t3 = t;
	t3.nwin = 2;
	struct slo a, b, c;
	slo_init(&a, &t, ring);
	srand(7);
	uint32_t now = 29000000;
	for (int i = 0; i < 5000; i++) {
		now += rand() % 3 == 0;
		slo_add(&a, now, rand() % 10 != 0, (uint64_t)(rand() % 600000));
	}
	uint32_t n = slo_export(&a, out, 1440);
	ASSERT(n > 1000 && n <= 1440);
	for (uint32_t i = 1; i < n; i++)
		ASSERT(out[i].minute > out[i - 1].minute);
	slo_init(&b, &t, ring2);
	slo_init(&c, &t3, ring3);
	for (uint32_t i = 0; i < n; i++) {
		slo_merge(&b, &out[i]);
		slo_merge(&c, &out[i]);
	}
	for (int w = 0; w < 3; w++) {
		struct slo_view va, vb, vc;
		slo_view(&a, w, &va);
		slo_view(&b, w, &vb);
		if (va.total != vb.total || va.availability != vb.availability ||
			va.fast_ratio != vb.fast_ratio || va.latency_q_s != vb.latency_q_s)
			T_FAIL_AT("window %d: %u/%f vs %u/%f", w, va.total, va.availability, vb.total,
				vb.availability);
		if (w < 2) {
			slo_view(&c, w, &vc);
			ASSERT_EQ(vc.total, va.total);
		}
	}
}

/* Records under keys: each window set takes its own; another latency bound, another build's
 * layout or a torn buffer gives nothing (and reads nothing past the end). */
static void test_keep_records(void)
{
	static struct slo_bucket r1[60], r2[60], r3[60];
	static uint8_t buf[2 * (sizeof(struct slo_bucket) * 60 + 64) + 64];
	struct slo_target t = {.availability = 0.9, .latency_max_us = 1000, .nwin = 1,
		.win_min = {60}};
	struct slo_target other = t;
	other.latency_max_us = 2000;
	struct slo a, b, c;
	slo_init(&a, &t, r1);
	slo_init(&b, &t, r2);
	for (uint32_t m = 1000; m < 1030; m++) {
		slo_add(&a, m, 1, 500);
		slo_add(&b, m, m % 2, 500);
		slo_add(&b, m, 0, 500);
	}
	struct slo_keep k = {.buf = buf, .cap = sizeof buf};
	size_t need = slo_keep_start(&k, 1796000000) + slo_keep_bytes(&a, "probe\na") +
		slo_keep_bytes(&b, "b");
	ASSERT(need <= sizeof buf);
	ASSERT_EQ(slo_keep_saved_s(&k), 1796000000);
	slo_keep_put(&k, "probe\na", &a);
	slo_keep_put(&k, "b", &b);
	struct slo_view v;
	slo_init(&c, &t, r3);
	ASSERT_EQ(slo_keep_take(&k, "b", &c), 1);
	slo_view(&c, 0, &v);
	ASSERT_EQ(v.total, 60);
	slo_init(&c, &t, r3);
	ASSERT_EQ(slo_keep_take(&k, "probe\na", &c), 1);
	slo_view(&c, 0, &v);
	ASSERT_EQ(v.total, 30);
	ASSERT(v.availability == 1.0);
	slo_init(&c, &t, r3);
	ASSERT_EQ(slo_keep_take(&k, "probe\n", &c), 0); /* a prefix is not the key */
	slo_init(&c, &other, r3);
	ASSERT_EQ(slo_keep_take(&k, "b", &c), 0);         /* "fast" was counted for 1 ms */
	for (size_t cut = 0; cut < k.len; cut += 7) {     /* torn anywhere */
		struct slo_keep torn = {.buf = buf, .len = cut, .cap = cut};
		ASSERT(slo_keep_saved_s(&torn) == (cut < 16 ? -1 : 1796000000));
		slo_init(&c, &t, r3);
		slo_keep_take(&torn, "b", &c);
		slo_view(&c, 0, &v);
		ASSERT(v.total == 0 || (v.total == 60 && cut == k.len));
	}
	buf[0] ^= 1; /* another layout */
	slo_init(&c, &t, r3);
	ASSERT_EQ(slo_keep_take(&k, "b", &c), 0);
}

int main(void)
{
	RUN(test_windows_vs_brute_force);
	RUN(test_view_math);
	RUN(test_a_clock_set_back_a_long_way);
	RUN(test_export_and_merge_carry_the_windows);
	RUN(test_keep_records);
	return T_DONE();
}
