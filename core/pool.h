/* pool.h: fixed-size object pools carved from one start-up arena, with used/max/fail counters
 * for /metrics. After start-up nothing in the engine allocates; a full pool fails the caller. */
#ifndef POOL_H
#define POOL_H

#include "op.h"

/* Every pool the engine has: id, metric name, what one item is. */
#define OP_POOLS(X)                                               \
	X(PROBE, "probes", "configured probe slots")              \
	X(RUN, "runs", "probe runs in flight (one connection each)") \
	X(DNSQ, "dns_queries", "DNS queries in flight")                \
	X(INFLATE, "inflaters", "decoders of compressed response bodies in flight")

enum pool_id {
#define OP_X(id, name, help) POOL_##id,
	OP_POOLS(OP_X)
#undef OP_X
	POOL_COUNT
};

struct pool {
	const char *name;
	const char *help;
	uint8_t *mem;
	void *free_list;
	size_t item_size;
	uint32_t cap, used, max_used, fails;
};

/* Storage needed for cap items of size item_size (items are rounded up for alignment). */
size_t pool_bytes(size_t item_size, uint32_t cap);
/* Lay a pool over mem (pool_bytes long). */
void pool_init(struct pool *p, const char *name, const char *help, void *mem, size_t item_size,
	uint32_t cap);
/* Lay engine pool id (its name and help from OP_POOLS) over mem. */
void pool_init_id(enum pool_id id, void *mem, size_t item_size, uint32_t cap);
/* Take a zeroed item, or NULL when the pool is empty (counted in fails). O(1). */
void *pool_get(struct pool *p);
/* The same with only the first zero bytes zeroed; the rest holds what its last user left. */
void *pool_take(struct pool *p, size_t zero);
/* Return an item taken from this pool. */
void pool_put(struct pool *p, void *item);
/* Index of an item in its pool (0..cap-1), for stable ids. */
uint32_t pool_index(const struct pool *p, const void *item);

/* The engine's pools, by id. */
extern struct pool op_pools[POOL_COUNT];

#endif
