/* alloc_count.c: counts heap allocations made by the engine thread, to prove the engine does
 * not allocate in steady state. Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "../plat.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static _Thread_local int engine_thread;
static atomic_ullong engine_allocs;

void plat_engine_thread(void)
{
	engine_thread = 1;
}

uint64_t plat_engine_allocs(void)
{
	return atomic_load(&engine_allocs);
}

void *__wrap_malloc(size_t n)
{
	if (engine_thread)
		atomic_fetch_add(&engine_allocs, 1);
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (engine_thread)
		atomic_fetch_add(&engine_allocs, 1);
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (engine_thread)
		atomic_fetch_add(&engine_allocs, 1);
	return __real_realloc(p, n);
}
