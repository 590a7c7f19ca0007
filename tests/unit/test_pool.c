/* test_pool.c: fixed pools: order, zeroing, exhaustion counters, bounds. */
#include <stdlib.h>
#include "../../core/pool.h"
#include "t.h"

static void test_get_put_counts(void)
{
	static max_align_t mem[64];
	struct pool p;
	pool_init(&p, "t", "test", mem, 24, 8);
	ASSERT_EQ(p.cap, 8);
	void *items[8];
	for (int i = 0; i < 8; i++) {
		items[i] = pool_get(&p);
		ASSERT(items[i] != NULL);
		ASSERT_EQ(pool_index(&p, items[i]), i); /* config order */
	}
	ASSERT(pool_get(&p) == NULL);
	ASSERT_EQ(p.fails, 1);
	ASSERT_EQ(p.used, 8);
	ASSERT_EQ(p.max_used, 8);
	pool_put(&p, items[3]);
	pool_put(&p, items[5]);
	ASSERT_EQ(p.used, 6);
	memset(items[2], 0xAB, 24);
	void *again = pool_get(&p);
	ASSERT(again == items[5]); /* LIFO: the warmest item first */
	for (int i = 0; i < 24; i++)
		ASSERT_EQ(((unsigned char *)again)[i], 0);
	ASSERT_EQ(p.max_used, 8);
}

static void test_sizes_align(void)
{
	ASSERT_EQ(pool_bytes(1, 10) % sizeof(max_align_t), 0);
	ASSERT(pool_bytes(1, 10) >= 10 * sizeof(void *));
	static max_align_t mem[16];
	struct pool p;
	pool_init(&p, "t", "test", mem, 17, 4);
	for (int i = 0; i < 4; i++) {
		void *x = pool_get(&p);
		ASSERT_EQ((uintptr_t)x % sizeof(max_align_t), 0);
	}
}

static void test_churn(void)
{
	static max_align_t mem[1024];
	struct pool p;
	pool_init(&p, "t", "test", mem, 32, 100);
	void *held[100];
	int n = 0;
	srand(7);
	for (int i = 0; i < 100000; i++) {
		if (n < 100 && (n == 0 || rand() % 2)) {
			held[n] = pool_get(&p);
			ASSERT(held[n]);
			n++;
		} else {
			int k = rand() % n;
			pool_put(&p, held[k]);
			held[k] = held[--n];
		}
		ASSERT_EQ(p.used, n);
	}
	while (n)
		pool_put(&p, held[--n]);
	ASSERT_EQ(p.used, 0);
	ASSERT_EQ(p.fails, 0);
}

int main(void)
{
	RUN(test_get_put_counts);
	RUN(test_sizes_align);
	RUN(test_churn);
	return T_DONE();
}
