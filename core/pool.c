/* pool.c: free-list pools over caller-provided memory. */
#include <string.h>
#include "pool.h"

struct pool op_pools[POOL_COUNT];

static size_t item_round(size_t size)
{
	size_t a = sizeof(max_align_t);
	if (size < sizeof(void *))
		size = sizeof(void *);
	return (size + a - 1) / a * a;
}

size_t pool_bytes(size_t item_size, uint32_t cap)
{
	return item_round(item_size) * cap;
}

void pool_init(struct pool *p, const char *name, const char *help, void *mem, size_t item_size,
	uint32_t cap)
{
	*p = (struct pool){.name = name, .help = help, .mem = mem, .item_size = item_round(item_size),
		.cap = cap};
	/* Thread the free list so the first get returns item 0: ids then follow config order. */
	for (uint32_t i = cap; i-- > 0;) {
		void **item = (void **)(p->mem + (size_t)i * p->item_size);
		*item = p->free_list;
		p->free_list = item;
	}
}

void *pool_get(struct pool *p)
{
	return pool_take(p, p->item_size);
}

void *pool_take(struct pool *p, size_t zero)
{
	void **item = p->free_list;
	if (!item) {
		p->fails++;
		return NULL;
	}
	p->free_list = *item;
	p->used++;
	if (p->used > p->max_used)
		p->max_used = p->used;
	memset(item, 0, OP_MIN(zero, p->item_size));
	return item;
}

void pool_put(struct pool *p, void *item)
{
	OP_ASSERT(item && (uint8_t *)item >= p->mem &&
		(uint8_t *)item < p->mem + (size_t)p->cap * p->item_size);
	OP_ASSERT(p->used > 0);
	*(void **)item = p->free_list;
	p->free_list = item;
	p->used--;
}

uint32_t pool_index(const struct pool *p, const void *item)
{
	return (uint32_t)(((const uint8_t *)item - p->mem) / p->item_size);
}

void pool_init_id(enum pool_id id, void *mem, size_t item_size, uint32_t cap)
{
	static const char *const names[] = {
#define OP_X(id_, name, help) name,
		OP_POOLS(OP_X)
#undef OP_X
	};
	static const char *const helps[] = {
#define OP_X(id_, name, help) help,
		OP_POOLS(OP_X)
#undef OP_X
	};
	pool_init(&op_pools[id], names[id], helps[id], mem, item_size, cap);
}
