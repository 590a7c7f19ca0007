/* evtrack.h: the bookkeeping of an end-to-end event pipeline: events posted here are matched
 * when they come back there, in a fixed table (a ring in posting order) sized at start-up.
 * No I/O and no clock of its own: callers pass monotonic microseconds. */
#ifndef EVTRACK_H
#define EVTRACK_H

#include <stdint.h>
#include <stddef.h>
#include "result.h"

#define EVT_WINDOWS 3 /* missing share over 1, 3 and 10 minutes */
#define EVT_WINDOW_MIN {1, 3, 10}

/* What is published (the snapshot copies it). */
struct evt_stats {
	uint64_t posted;      /* accepted by the collector (2xx) */
	uint64_t post_errors; /* not accepted after every retry */
	uint64_t received;    /* came back, first time */
	uint64_t lost;        /* not back within lost_after */
	uint64_t duplicates;  /* came back again */
	uint64_t foreign;     /* carried another appliance's app id */
	uint64_t unmatched;   /* our app id, an id not (or no longer) in the table */
	uint64_t late;        /* came back after being counted lost */
	uint64_t last_latency_us;
	uint64_t hist[OP_HIST_N + 1]; /* latency, OP_HIST_BOUNDS */
	double latency_sum_s;
	double missing_share[EVT_WINDOWS]; /* < 0: no settled event in the window */
	uint32_t window_events[EVT_WINDOWS];
	uint32_t pending, capacity;
	/* the subscription */
	uint8_t connected;
	uint64_t connects, disconnects;
	int64_t connected_since_wall_us;
	char last_error[OP_DETAIL_MAX];
};

enum evt_state { EVT_FREE, EVT_POSTING, EVT_POSTED, EVT_FAILED };

struct evt_entry {
	uint64_t id;
	uint64_t posted_us;   /* monotonic, when the post began */
	uint64_t received_us; /* 0 until it came back */
	uint8_t state;        /* enum evt_state */
	uint8_t lost;         /* counted lost */
	uint8_t excused;      /* expected back when a reload closed the subscription (evt_take) */
};

struct evt_table {
	struct evt_entry *e;
	uint32_t cap, next; /* next: the slot the next post takes (the oldest) */
	uint64_t lost_after_us, purge_after_us, settle_us;
	struct evt_stats st;
};

/* Entries needed to remember every event for purge_after at one per interval, with room for
 * retries and runs asked for by hand. */
uint32_t evt_capacity(uint64_t interval_us, uint64_t purge_after_us);
/* Set up over mem (cap entries, zeroed by the caller). */
void evt_init(struct evt_table *t, struct evt_entry *mem, uint32_t cap, uint64_t lost_after_us,
	uint64_t purge_after_us, uint64_t settle_us);
/* A post of event id begins (it may come back before the collector answers). */
void evt_post_begin(struct evt_table *t, uint64_t id, uint64_t now_us);
/* The collector accepted it (ok) or every attempt failed. */
void evt_post_end(struct evt_table *t, uint64_t id, int ok);
/* An event came back: id (valid only when ours_id), and whether its app id is ours. Returns
 * its latency in µs when it is a first arrival, else -1. */
int64_t evt_received(struct evt_table *t, uint64_t id, int ours_id, int ours_app,
	uint64_t now_us);
/* Once a second or so: count the lost, forget the purged, recompute the windows. */
void evt_tick(struct evt_table *t, uint64_t now_us);

/* Across a reload (the same process: the times are on the same monotonic clock). evt_keep
 * copies the events t remembers into out (room for t->cap), oldest first, and returns how
 * many. evt_take carries them and the counters st into t (set up by evt_init, perhaps with
 * another capacity: the newest that fit), at now_us. The subscription was closed for the
 * reload and may have missed what came back meanwhile, so an event still expected back, and
 * younger than the slowest return so far, is excused: counted if it comes, never lost nor
 * missing if it does not. */
uint32_t evt_keep(const struct evt_table *t, struct evt_entry *out);
void evt_take(struct evt_table *t, const struct evt_stats *st, const struct evt_entry *e,
	uint32_t n, uint64_t now_us);

#endif
