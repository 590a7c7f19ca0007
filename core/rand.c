/* rand.c: xoshiro128** (Blackman and Vigna), seeded by splitmix64. */
#include "rand.h"
#include "../platform/plat.h"

static uint32_t s[4] = {1, 2, 3, 4};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void op_rand_seed(uint64_t seed)
{
	if (seed == 0 && plat_entropy(&seed, sizeof seed) != 0)
		seed = plat_now_us();
	uint64_t a = splitmix(&seed), b = splitmix(&seed);
	s[0] = (uint32_t)a, s[1] = (uint32_t)(a >> 32), s[2] = (uint32_t)b, s[3] = (uint32_t)(b >> 32);
	if (!(s[0] | s[1] | s[2] | s[3]))
		s[0] = 1;
}

static uint32_t rotl(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

uint32_t op_rand32(void)
{
	uint32_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 9;
	s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 11);
	return r;
}

uint64_t op_rand_below(uint64_t n)
{
	uint64_t x = ((uint64_t)op_rand32() << 32) | op_rand32();
	return x % n; /* bias is below 2^-32 for the spans used here */
}

uint64_t op_backoff_us(uint32_t attempt, uint64_t base_us, uint64_t cap_us)
{
	uint64_t w = attempt >= 32 ? cap_us : base_us << attempt;
	if (w > cap_us || w < base_us)
		w = cap_us;
	return w / 2 + op_rand_below(w / 2 + 1);
}
