/* test_evtrack.c: the pipeline's event table: counting cases by hand, then random streams
 * (posts, losses, duplicates, foreign and late events) checked against a brute-force model. */
#include <stdlib.h>
#include "t.h"
#include "../../core/evtrack.h"

#define S 1000000ull

static struct evt_entry mem[4096];

static void setup(struct evt_table *t, uint64_t interval_us)
{
	memset(mem, 0, sizeof mem);
	uint32_t cap = evt_capacity(interval_us, 15 * 60 * S);
	evt_init(t, mem, cap, 5 * 60 * S, 15 * 60 * S, 10 * S);
}

static void test_counts_by_hand(void)
{
	struct evt_table t;
	setup(&t, S);
	ASSERT(t.cap >= 901 && t.cap <= 4096);
	evt_post_begin(&t, 1, 100 * S);
	evt_post_end(&t, 1, 1);
	evt_post_begin(&t, 2, 101 * S);
	/* back before the collector answered: still counted, and the post completes later */
	ASSERT_EQ(evt_received(&t, 2, 1, 1, 101 * S + 40000), 40000);
	evt_post_end(&t, 2, 1);
	ASSERT_EQ(evt_received(&t, 1, 1, 1, 100 * S + 250000), 250000);
	ASSERT_EQ(evt_received(&t, 1, 1, 1, 100 * S + 260000), -1); /* duplicate */
	ASSERT_EQ(evt_received(&t, 9, 1, 0, 102 * S), -1);         /* foreign */
	ASSERT_EQ(evt_received(&t, 77, 1, 1, 102 * S), -1);        /* unknown id */
	ASSERT_EQ(evt_received(&t, 0, 0, 1, 102 * S), -1);         /* not one of our ids */
	evt_post_begin(&t, 3, 103 * S);
	evt_post_end(&t, 3, 0);
	evt_post_begin(&t, 4, 104 * S);
	evt_post_end(&t, 4, 1);
	evt_tick(&t, 104 * S + 5 * 60 * S); /* 4 is 5 minutes old now */
	ASSERT_EQ(t.st.posted, 3);
	ASSERT_EQ(t.st.post_errors, 1);
	ASSERT_EQ(t.st.received, 2);
	ASSERT_EQ(t.st.duplicates, 1);
	ASSERT_EQ(t.st.foreign, 1);
	ASSERT_EQ(t.st.unmatched, 2);
	ASSERT_EQ(t.st.lost, 1);
	ASSERT_EQ(t.st.last_latency_us, 250000);
	/* 4 comes back after all: late, and still a receipt with its latency */
	ASSERT_EQ(evt_received(&t, 4, 1, 1, 104 * S + 6 * 60 * S), 6 * 60 * S);
	ASSERT_EQ(t.st.late, 1);
	ASSERT_EQ(t.st.lost, 1);
	/* the 10-minute window holds 1, 2 and 4 (accepted, settled); all came back */
	evt_tick(&t, 104 * S + 6 * 60 * S);
	ASSERT_EQ(t.st.window_events[2], 3);
	ASSERT(t.st.missing_share[2] == 0);
	ASSERT(t.st.missing_share[0] < 0); /* nothing posted in the last minute */
	/* after purge_after everything is forgotten: a late copy is unmatched */
	evt_tick(&t, 120 * S + 15 * 60 * S);
	ASSERT_EQ(evt_received(&t, 1, 1, 1, 120 * S + 15 * 60 * S), -1);
	ASSERT_EQ(t.st.unmatched, 3);
	ASSERT_EQ(t.st.pending, 0);
}

/* Pending: accepted events still expected back. A post in flight is not one yet (with a
 * collector that rejects, there is one at almost any moment), nor is a failed one. */
static void test_pending_counts_accepted_events_only(void)
{
	struct evt_table t;
	setup(&t, S);
	evt_post_begin(&t, 1, 100 * S);
	evt_tick(&t, 100 * S);
	ASSERT_EQ(t.st.pending, 0);
	evt_post_end(&t, 1, 1);
	evt_post_begin(&t, 2, 101 * S);
	evt_post_end(&t, 2, 0);
	evt_tick(&t, 101 * S);
	ASSERT_EQ(t.st.pending, 1);
	evt_received(&t, 1, 1, 1, 101 * S);
	evt_tick(&t, 101 * S);
	ASSERT_EQ(t.st.pending, 0);
}

/* Random streams against a model that keeps everything. */
static void test_random_streams_match_a_model(void)
{
	srand(7);
	for (int round = 0; round < 20; round++) {
		struct evt_table t;
		uint64_t interval = (1 + (uint64_t)(rand() % 5)) * S;
		setup(&t, interval);
		enum { N = 600 };
		static uint64_t back_at[N]; /* 0: never */
		static int copies[N], accepted[N];
		uint64_t want_lost = 0, want_dup = 0, want_recv = 0, want_err = 0, want_ok = 0;
		uint64_t t0 = 1000 * S;
		for (int i = 0; i < N; i++) {
			accepted[i] = rand() % 20 != 0;
			int lost = rand() % 10 == 0;
			back_at[i] = lost ? 0 : t0 + (uint64_t)i * interval + (uint64_t)(rand() % 4000) * 1000;
			copies[i] = lost ? 0 : 1 + (rand() % 8 == 0);
			want_ok += accepted[i];
			want_err += !accepted[i];
		}
		/* replay in time order at 100 ms steps */
		uint64_t end = t0 + N * interval + 20 * 60 * S;
		int next_post = 0;
		for (uint64_t now = t0; now < end; now += 100000) {
			while (next_post < N && t0 + (uint64_t)next_post * interval <= now) {
				evt_post_begin(&t, (uint64_t)next_post + 1000, now);
				evt_post_end(&t, (uint64_t)next_post + 1000, accepted[next_post]);
				next_post++;
			}
			for (int i = 0; i < next_post; i++) {
				if (back_at[i] && back_at[i] <= now && back_at[i] > now - 100000) {
					for (int c = 0; c < copies[i]; c++)
						evt_received(&t, (uint64_t)i + 1000, 1, 1, back_at[i]);
				}
			}
			if ((now - t0) % S == 0)
				evt_tick(&t, now);
		}
		for (int i = 0; i < N; i++) {
			uint64_t posted = t0 + (uint64_t)i * interval;
			int late = back_at[i] && back_at[i] - posted >= 5 * 60 * S;
			if (!back_at[i] || late)
				want_lost += accepted[i];
			if (back_at[i]) {
				want_recv++;
				want_dup += (uint64_t)copies[i] - 1;
			}
		}
		ASSERT_EQ(t.st.posted, want_ok);
		ASSERT_EQ(t.st.post_errors, want_err);
		ASSERT_EQ(t.st.received, want_recv);
		ASSERT_EQ(t.st.duplicates, want_dup);
		ASSERT_EQ(t.st.lost, want_lost);
		ASSERT_EQ(t.st.foreign, 0);
		uint64_t h = 0;
		for (int b = 0; b <= OP_HIST_N; b++)
			h += t.st.hist[b];
		ASSERT_EQ(h, want_recv);
	}
}

/* The missing share over each window against a recount from the model. */
static void test_window_shares(void)
{
	struct evt_table t;
	setup(&t, S);
	uint64_t t0 = 50 * S;
	/* 20 minutes of one event a second; every 4th never comes back */
	for (int i = 0; i < 1200; i++) {
		uint64_t now = t0 + (uint64_t)i * S;
		evt_post_begin(&t, (uint64_t)i, now);
		evt_post_end(&t, (uint64_t)i, 1);
		if (i % 4)
			evt_received(&t, (uint64_t)i, 1, 1, now + 300000);
	}
	uint64_t now = t0 + 1200 * S;
	evt_tick(&t, now);
	static const uint32_t win[EVT_WINDOWS] = EVT_WINDOW_MIN;
	for (int w = 0; w < EVT_WINDOWS; w++) {
		uint32_t n = 0, miss = 0;
		for (int i = 0; i < 1200; i++) {
			uint64_t age = now - (t0 + (uint64_t)i * S);
			if (age >= 10 * S && age - 10 * S < win[w] * 60 * S)
				n++, miss += i % 4 == 0;
		}
		ASSERT_EQ(t.st.window_events[w], n);
		ASSERT(t.st.missing_share[w] > (double)miss / n - 1e-9 &&
			t.st.missing_share[w] < (double)miss / n + 1e-9);
	}
}

/* A reload: the counters go on, an event posted before it is matched after it, one that was
 * expected back is neither lost nor missing if the subscription (closed for the reload) missed
 * it, and a smaller table keeps the newest. */
static void test_a_reload_carries_the_books(void)
{
	struct evt_table t;
	setup(&t, S);
	for (uint64_t i = 1; i <= 6; i++) {
		evt_post_begin(&t, i, i * S);
		evt_post_end(&t, i, i != 6); /* 6 failed */
	}
	evt_received(&t, 1, 1, 1, 1 * S + 200000);
	evt_received(&t, 2, 1, 1, 2 * S + 200000);
	evt_tick(&t, 10 * 60 * S); /* 3 to 5 lost by now */
	evt_post_begin(&t, 7, 10 * 60 * S);
	evt_post_end(&t, 7, 1);
	evt_post_begin(&t, 8, 10 * 60 * S + S);
	evt_post_end(&t, 8, 1);
	evt_received(&t, 4, 1, 1, 10 * 60 * S + S); /* late */
	static struct evt_entry kept[4096];
	struct evt_stats st = t.st;
	uint32_t n = evt_keep(&t, kept);
	ASSERT_EQ(n, 8);
	ASSERT_EQ(kept[0].id, 1);
	ASSERT_EQ(kept[7].id, 8);

	/* the next engine's table: 7 slots, so the oldest (1) is not carried */
	static struct evt_entry mem2[7];
	struct evt_table u;
	evt_init(&u, mem2, 7, 5 * 60 * S, 15 * 60 * S, 10 * S);
	u.st.connected = 0;
	uint64_t now = 10 * 60 * S + 2 * S;
	evt_take(&u, &st, kept, n, now);
	ASSERT_EQ(u.st.posted, 7);
	ASSERT_EQ(u.st.post_errors, 1);
	ASSERT_EQ(u.st.received, 3);
	ASSERT_EQ(u.st.lost, 3);
	ASSERT_EQ(u.st.late, 1);
	ASSERT_EQ(u.st.capacity, 7);
	ASSERT_EQ(u.st.pending, 0); /* 7 and 8 are excused */
	ASSERT_EQ(evt_received(&u, 1, 1, 1, now), -1);
	ASSERT_EQ(u.st.unmatched, 1); /* 1 did not fit */
	/* 7 comes back on the new subscription: matched, its latency from its post */
	ASSERT_EQ(evt_received(&u, 7, 1, 1, now), 2 * S);
	ASSERT_EQ(evt_received(&u, 5, 1, 1, now), 10 * 60 * S - 3 * S); /* late, as before */
	ASSERT_EQ(u.st.late, 2);
	/* 8 never does: not lost; the window judges 7 (back) and not 8 */
	evt_tick(&u, 10 * 60 * S + 6 * 60 * S);
	ASSERT_EQ(u.st.lost, 3);
	ASSERT_EQ(u.st.window_events[2], 1);
	ASSERT(u.st.missing_share[2] == 0);
	/* a post after the reload takes the ring's next slot, as ever */
	evt_post_begin(&u, 9, 10 * 60 * S + 6 * 60 * S);
	evt_post_end(&u, 9, 1);
	evt_tick(&u, 10 * 60 * S + 12 * 60 * S);
	ASSERT_EQ(u.st.lost, 4);
}

/* Reloads hide no loss: an event pending at a reload longer than any event has taken to come
 * back is judged as ever; one younger than that is excused. */
static void test_a_reload_excuses_only_what_could_have_come_back(void)
{
	struct evt_table t;
	setup(&t, S);
	for (uint64_t i = 1; i <= 20; i++) { /* back within 200 ms, each */
		evt_post_begin(&t, i, i * S);
		evt_post_end(&t, i, 1);
		evt_received(&t, i, 1, 1, i * S + 200000);
	}
	evt_post_begin(&t, 21, 30 * S); /* lost on the way */
	evt_post_end(&t, 21, 1);
	evt_post_begin(&t, 22, 60 * S - 100000); /* on its way at the reload */
	evt_post_end(&t, 22, 1);
	static struct evt_entry kept[4096];
	struct evt_stats st = t.st;
	uint32_t n = evt_keep(&t, kept);
	struct evt_table u;
	static struct evt_entry mem2[4096];
	evt_init(&u, mem2, 4096, 5 * 60 * S, 15 * 60 * S, 10 * S);
	evt_take(&u, &st, kept, n, 60 * S);
	ASSERT_EQ(u.st.pending, 1); /* 21 is still expected; 22 excused */
	evt_tick(&u, 30 * S + 5 * 60 * S + S);
	ASSERT_EQ(u.st.lost, 1);    /* 21, as without the reload */
	evt_tick(&u, 60 * S + 5 * 60 * S + S);
	ASSERT_EQ(u.st.lost, 1);    /* not 22 */
}

int main(void)
{
	RUN(test_counts_by_hand);
	RUN(test_pending_counts_accepted_events_only);
	RUN(test_random_streams_match_a_model);
	RUN(test_window_shares);
	RUN(test_a_reload_carries_the_books);
	RUN(test_a_reload_excuses_only_what_could_have_come_back);
	return T_DONE();
}
