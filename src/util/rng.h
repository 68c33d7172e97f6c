/* rng.h: a small, fast, seedable random number generator (xoshiro256**, seeded by splitmix64).
 *
 * Each thread owns its own tg_rng_t: there is no shared state, so no lock. Streams for
 * different threads come from tg_rng_seed(rng, seed, stream) with distinct stream numbers,
 * so a run is reproducible from one seed. */
#ifndef TENGEN_UTIL_RNG_H
#define TENGEN_UTIL_RNG_H

#include <stdint.h>

typedef struct tg_rng_s {
    uint64_t s[4];
} tg_rng_t;

/* Seeds from (seed, stream): same pair, same sequence. */
void tg_rng_seed(tg_rng_t *rng, uint64_t seed, uint64_t stream);
uint64_t tg_rng_u64(tg_rng_t *rng);
/* Uniform integer in [0, n); n > 0. Unbiased (rejection). */
uint32_t tg_rng_below(tg_rng_t *rng, uint32_t n);
/* Uniform double in [0, 1). */
double tg_rng_uniform(tg_rng_t *rng);
/* Standard normal (Box-Muller). */
double tg_rng_normal(tg_rng_t *rng);
/* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang). Used for Dirichlet noise. */
double tg_rng_gamma(tg_rng_t *rng, double shape);
/* A seed from the clock and the process id, for runs that ask for no fixed seed. */
uint64_t tg_rng_entropy_seed(void);

#endif
