/* ev.c: event loop. I/O readiness comes from the platform poller; timers from a binary heap
 * indexed by the timer itself, so cancel is O(log n) and needs no search. */
#include "ev.h"
#include "../platform/plat.h"

struct ev_loop op_loop;

int ev_init(struct ev_loop *l, struct ev_timer **storage, uint32_t cap)
{
	OP_CHECK(l && storage && cap > 0, OP_EINVAL);
	*l = (struct ev_loop){.heap = storage, .heap_cap = cap, .now_us = plat_now_us()};
	return 0;
}

int ev_io_set(struct ev_io *io, unsigned mask)
{
	if (io->mask == mask)
		return 0;
	int rc = plat_poll_set(io->fd, mask, io);
	if (rc == 0)
		io->mask = mask;
	return rc;
}

void ev_io_close(struct ev_io *io)
{
	if (io->mask)
		plat_poll_forget(io->fd);
	io->mask = 0;
}

static int timer_less(const struct ev_timer *a, const struct ev_timer *b)
{
	if (a->when_us != b->when_us)
		return a->when_us < b->when_us;
	return (int32_t)(a->seq - b->seq) < 0;
}

static void heap_put(struct ev_loop *l, uint32_t i, struct ev_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void sift_up(struct ev_loop *l, uint32_t i)
{
	struct ev_timer *t = l->heap[i];
	while (i > 1 && timer_less(t, l->heap[i / 2])) {
		heap_put(l, i, l->heap[i / 2]);
		i /= 2;
	}
	heap_put(l, i, t);
}

static void sift_down(struct ev_loop *l, uint32_t i)
{
	struct ev_timer *t = l->heap[i];
	for (;;) {
		uint32_t c = i * 2;
		if (c > l->heap_len)
			break;
		if (c + 1 <= l->heap_len && timer_less(l->heap[c + 1], l->heap[c]))
			c++;
		if (!timer_less(l->heap[c], t))
			break;
		heap_put(l, i, l->heap[c]);
		i = c;
	}
	heap_put(l, i, t);
}

void ev_timer_cancel(struct ev_loop *l, struct ev_timer *t)
{
	uint32_t i = t->heap_idx;
	if (i == 0)
		return;
	OP_ASSERT(i <= l->heap_len && l->heap[i] == t);
	struct ev_timer *last = l->heap[l->heap_len--];
	t->heap_idx = 0;
	if (last == t)
		return;
	heap_put(l, i, last);
	sift_up(l, i);
	sift_down(l, last->heap_idx);
}

int ev_timer_at(struct ev_loop *l, struct ev_timer *t, uint64_t when_us)
{
	ev_timer_cancel(l, t);
	if (l->heap_len >= l->heap_cap)
		return OP_ENOMEM;
	t->when_us = when_us;
	t->seq = l->seq++;
	heap_put(l, ++l->heap_len, t);
	sift_up(l, l->heap_len);
	return 0;
}

uint64_t ev_next_deadline(const struct ev_loop *l)
{
	return l->heap_len ? l->heap[1]->when_us : UINT64_MAX;
}

int ev_run_once(struct ev_loop *l, int64_t max_wait_us)
{
	struct plat_event evs[64];
	int ran = 0;
	uint64_t now = plat_now_us();
	int64_t wait = max_wait_us;
	uint64_t next = ev_next_deadline(l);
	if (next != UINT64_MAX) {
		int64_t until = next > now ? (int64_t)(next - now) : 0;
		if (wait < 0 || until < wait)
			wait = until;
	}
	int n = plat_poll_wait(evs, (int)OP_ARRAY_LEN(evs), wait);
	l->now_us = plat_now_us();
	l->passes++;
	for (int i = 0; i < n; i++) {
		struct ev_io *io = evs[i].udata;
		/* A callback earlier in this batch may have removed this watch; new work is only
		 * started from timers, so a removed watch is never reused within one batch. */
		if (io->mask == 0)
			continue;
		io->cb(io, evs[i].events);
		ran++;
	}
	/* Fire only timers due at the start of this pass, so a callback that re-arms at "now"
	 * cannot starve I/O. */
	uint64_t limit = l->now_us;
	while (l->heap_len && l->heap[1]->when_us <= limit) {
		struct ev_timer *t = l->heap[1];
		ev_timer_cancel(l, t);
		t->cb(t);
		ran++;
	}
	return ran;
}
