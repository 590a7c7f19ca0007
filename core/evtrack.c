/* evtrack.c: posted events matched to returned ones.
 *
 * The table is a ring in posting order, so "older than X" is a walk from the oldest slot, and
 * a lookup by id scans at most cap entries (a few thousand at most: cheaper than keeping a
 * hash beside it, and nothing to get wrong). An entry's life:
 *
 *   FREE -> POSTING -> POSTED (accepted) -> [received | lost] -> purged: FREE
 *                   -> FAILED (every attempt failed)           -> purged: FREE */
#include <string.h>
#include "evtrack.h"

uint32_t evt_capacity(uint64_t interval_us, uint64_t purge_after_us)
{
	uint64_t n = purge_after_us / (interval_us ? interval_us : 1) + 1;
	return (uint32_t)(n + n / 8 + 16);
}

void evt_init(struct evt_table *t, struct evt_entry *mem, uint32_t cap, uint64_t lost_after_us,
	uint64_t purge_after_us, uint64_t settle_us)
{
	memset(t, 0, sizeof *t);
	t->e = mem;
	t->cap = cap;
	t->lost_after_us = lost_after_us;
	t->purge_after_us = purge_after_us;
	t->settle_us = settle_us;
	t->st.capacity = cap;
	for (int w = 0; w < EVT_WINDOWS; w++)
		t->st.missing_share[w] = -1;
}

static struct evt_entry *find(struct evt_table *t, uint64_t id)
{
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->e[i].state != EVT_FREE && t->e[i].id == id)
			return &t->e[i];
	return NULL;
}

void evt_post_begin(struct evt_table *t, uint64_t id, uint64_t now_us)
{
	/* the oldest slot: free unless the table is smaller than posting rate x purge_after,
	 * when the oldest event is forgotten early */
	struct evt_entry *e = &t->e[t->next];
	t->next = (t->next + 1) % t->cap;
	*e = (struct evt_entry){.id = id, .posted_us = now_us, .state = EVT_POSTING};
}

void evt_post_end(struct evt_table *t, uint64_t id, int ok)
{
	struct evt_entry *e = find(t, id);
	if (ok)
		t->st.posted++;
	else
		t->st.post_errors++;
	if (e)
		e->state = ok ? EVT_POSTED : EVT_FAILED;
}

int64_t evt_received(struct evt_table *t, uint64_t id, int ours_id, int ours_app,
	uint64_t now_us)
{
	if (!ours_app) {
		t->st.foreign++;
		return -1;
	}
	struct evt_entry *e = ours_id ? find(t, id) : NULL;
	if (!e) {
		t->st.unmatched++;
		return -1;
	}
	if (e->received_us) {
		t->st.duplicates++;
		return -1;
	}
	e->received_us = now_us > e->posted_us ? now_us : e->posted_us + 1;
	uint64_t lat = e->received_us - e->posted_us;
	t->st.received++;
	t->st.late += e->lost;
	t->st.last_latency_us = lat;
	t->st.hist[result_hist_bucket(lat)]++;
	t->st.latency_sum_s += lat / 1e6;
	return (int64_t)lat;
}

void evt_tick(struct evt_table *t, uint64_t now_us)
{
	static const uint32_t win_min[EVT_WINDOWS] = EVT_WINDOW_MIN;
	uint32_t n[EVT_WINDOWS] = {0}, missing[EVT_WINDOWS] = {0};
	uint32_t pending = 0;
	for (uint32_t i = 0; i < t->cap; i++) {
		struct evt_entry *e = &t->e[i];
		if (e->state == EVT_FREE)
			continue;
		uint64_t age = now_us > e->posted_us ? now_us - e->posted_us : 0;
		if (age >= t->purge_after_us) {
			e->state = EVT_FREE;
			continue;
		}
		if (e->state == EVT_FAILED || (e->excused && !e->received_us))
			continue;
		if (!e->received_us && !e->lost && age >= t->lost_after_us && e->state == EVT_POSTED) {
			e->lost = 1;
			t->st.lost++;
		}
		/* expected back: accepted (a post still in flight is not yet), not back, not lost */
		pending += e->state == EVT_POSTED && !e->received_us && !e->lost;
		/* the windows judge accepted events old enough to have come back (settle) */
		if (e->state != EVT_POSTED || age < t->settle_us)
			continue;
		for (int w = 0; w < EVT_WINDOWS; w++) {
			if (age - t->settle_us < (uint64_t)win_min[w] * 60000000u) {
				n[w]++;
				missing[w] += !e->received_us;
			}
		}
	}
	t->st.pending = pending;
	for (int w = 0; w < EVT_WINDOWS; w++) {
		t->st.window_events[w] = n[w];
		t->st.missing_share[w] = n[w] ? (double)missing[w] / n[w] : -1;
	}
}

uint32_t evt_keep(const struct evt_table *t, struct evt_entry *out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->cap; i++) {
		const struct evt_entry *e = &t->e[(t->next + i) % t->cap];
		if (e->state != EVT_FREE)
			out[n++] = *e;
	}
	return n;
}

void evt_take(struct evt_table *t, const struct evt_stats *st, const struct evt_entry *e,
	uint32_t n, uint64_t now_us)
{
	struct evt_stats keep = t->st; /* this table's own: its capacity, the subscription's state */
	t->st = *st;
	t->st.capacity = keep.capacity;
	t->st.connected = keep.connected;
	t->st.connected_since_wall_us = keep.connected_since_wall_us;
	/* An event still expected back is excused when it could have come back while nobody
	 * listened: when it is younger than the slowest return so far (the top of the highest
	 * latency bucket holding one; any age, when one was slower than the last bound or none
	 * came back yet). One older than that would have been lost or late anyway and is judged
	 * as ever, so reloads, however often, hide no loss. */
	static const double bounds[OP_HIST_N] = OP_HIST_BOUNDS;
	uint64_t slowest_us = UINT64_MAX;
	for (int b = OP_HIST_N - 1; b >= 0 && !st->hist[OP_HIST_N]; b--) {
		if (st->hist[b]) {
			slowest_us = (uint64_t)(bounds[b] * 1e6);
			break;
		}
	}
	uint32_t skip = n > t->cap ? n - t->cap : 0;
	memset(t->e, 0, t->cap * sizeof *t->e);
	t->next = 0;
	for (uint32_t i = skip; i < n; i++) {
		struct evt_entry *to = &t->e[t->next];
		t->next = (t->next + 1) % t->cap;
		*to = e[i];
		to->excused |= to->state != EVT_FAILED && !to->received_us && !to->lost &&
			now_us - to->posted_us <= slowest_us;
	}
	evt_tick(t, now_us);
}
