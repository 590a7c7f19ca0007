/* rand.h: a fast non-cryptographic generator (xoshiro128**) seeded from platform entropy, for
 * jitter, DNS ids and test data. Not for keys: TLS uses mbedTLS's own DRBG. */
#ifndef RAND_H
#define RAND_H

#include <stdint.h>

/* Seed from plat_entropy (or from seed when non-zero, for reproducible tests). */
void op_rand_seed(uint64_t seed);
uint32_t op_rand32(void);
/* Uniform in [0, n) (n > 0). */
uint64_t op_rand_below(uint64_t n);
/* The wait before attempt number attempt (0 first) of a retry: base doubled per attempt up to
 * cap, jittered over its upper half (so many appliances do not come back in step). */
uint64_t op_backoff_us(uint32_t attempt, uint64_t base_us, uint64_t cap_us);

#endif
