/* ev.h: the single-threaded event loop: descriptor watches and a timer heap (like Redis ae). */
#ifndef EV_H
#define EV_H

#include "op.h"

struct ev_io;
struct ev_timer;
typedef void ev_io_fn(struct ev_io *io, unsigned events);
typedef void ev_timer_fn(struct ev_timer *t);

/* A descriptor watch; caller-allocated, lives inside the object that owns the descriptor. */
struct ev_io {
	int fd;
	unsigned mask;
	ev_io_fn *cb;
};

/* A one-shot timer; caller-allocated. heap_idx is 0 when not armed. */
struct ev_timer {
	uint64_t when_us;
	uint32_t heap_idx;
	uint32_t seq; /* ties broken by arming order, so equal deadlines fire FIFO */
	ev_timer_fn *cb;
};

struct ev_loop {
	struct ev_timer **heap; /* 1-based binary min-heap */
	uint32_t heap_len, heap_cap;
	uint32_t seq;
	uint64_t now_us;     /* time at the start of this loop pass */
	uint64_t passes;
	int stop;
};

/* Reserve a heap for cap timers in storage (cap + 1 pointers). Returns 0 or OP_EINVAL. */
int ev_init(struct ev_loop *l, struct ev_timer **storage, uint32_t cap);

/* Watch io->fd for mask (PLAT_READ|PLAT_WRITE); 0 removes it. Returns 0 or a negative code. */
int ev_io_set(struct ev_io *io, unsigned mask);

/* The descriptor is about to be closed: drop its watch (cheaper than ev_io_set(io, 0)). */
void ev_io_close(struct ev_io *io);

/* Arm t to fire at when_us (monotonic). Re-arming an armed timer moves it.
 * Returns 0, or OP_ENOMEM when the heap is full (a sizing bug: counted, never silent). */
int ev_timer_at(struct ev_loop *l, struct ev_timer *t, uint64_t when_us);
void ev_timer_cancel(struct ev_loop *l, struct ev_timer *t);
static inline int ev_timer_armed(const struct ev_timer *t) { return t->heap_idx != 0; }

/* Deadline of the earliest timer, or UINT64_MAX. */
uint64_t ev_next_deadline(const struct ev_loop *l);

/* One pass: wait for I/O until the next timer (at most max_wait_us), dispatch I/O, then fire
 * due timers. Returns the number of callbacks run. */
int ev_run_once(struct ev_loop *l, int64_t max_wait_us);

#endif

/* The engine's one loop (the appliance is single-threaded for all probe work). */
extern struct ev_loop op_loop;
