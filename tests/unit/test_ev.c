/* test_ev.c: the timer heap against a brute-force model, and loop dispatch. */
#include <stdlib.h>
#include "../../core/ev.h"
#include "../../platform/plat.h"
#include "t.h"

#define N 500
static struct ev_timer timers[N];
static struct ev_timer *heap[N + 1];
static int fired[N], nfired;

static void on_fire(struct ev_timer *t)
{
	fired[nfired++] = (int)(t - timers);
}

static void test_heap_model(void)
{
	struct ev_loop l;
	ASSERT_EQ(ev_init(&l, heap, N), 0);
	uint64_t when[N];
	int armed[N] = {0};
	srand(1);
	for (int step = 0; step < 20000; step++) {
		int i = rand() % N;
		if (rand() % 3 == 0) {
			ev_timer_cancel(&l, &timers[i]);
			armed[i] = 0;
		} else {
			when[i] = (uint64_t)(rand() % 1000);
			ASSERT_EQ(ev_timer_at(&l, &timers[i], when[i]), 0);
			armed[i] = 1;
		}
		/* the earliest armed timer is at the top */
		uint64_t min = UINT64_MAX;
		for (int k = 0; k < N; k++)
			if (armed[k] && when[k] < min)
				min = when[k];
		ASSERT_EQ(ev_next_deadline(&l), (long long)min);
		for (int k = 0; k < N; k++)
			ASSERT_EQ(ev_timer_armed(&timers[k]), armed[k]);
	}
}

static void test_fifo_for_equal_deadlines(void)
{
	struct ev_loop l;
	memset(timers, 0, sizeof timers);
	ev_init(&l, heap, N);
	ASSERT_EQ(plat_poll_init(8), 0);
	nfired = 0;
	for (int i = 0; i < 10; i++) {
		timers[i].cb = on_fire;
		ev_timer_at(&l, &timers[i], 5);
	}
	ev_run_once(&l, 0);
	ASSERT_EQ(nfired, 10);
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(fired[i], i);
	plat_poll_deinit();
}

static void test_full_heap_refuses(void)
{
	struct ev_loop l;
	static struct ev_timer *small[4];
	static struct ev_timer t[4];
	ev_init(&l, small, 3);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(ev_timer_at(&l, &t[i], 10), 0);
	ASSERT_EQ(ev_timer_at(&l, &t[3], 10), OP_ENOMEM);
	ev_timer_cancel(&l, &t[1]);
	ASSERT_EQ(ev_timer_at(&l, &t[3], 1), 0);
	ASSERT_EQ(ev_next_deadline(&l), 1);
}

int main(void)
{
	RUN(test_heap_model);
	RUN(test_fifo_for_equal_deadlines);
	RUN(test_full_heap_refuses);
	return T_DONE();
}
