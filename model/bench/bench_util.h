/* bench_util.h -- what the benchmark programs share: the library's
 * monotonic clock in seconds, and the fixed xorshift64* stream their
 * synthetic workloads are drawn from (no seed: every run measures the same
 * workload). */
#ifndef MMUSIM_BENCH_UTIL_H
#define MMUSIM_BENCH_UTIL_H

#include <stdint.h>

#include "../src/base/clock.h"

/* Seconds on the library's monotonic clock (base/clock.h). */
static inline double now_s(void)
{
    return mm_clock_s();
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n), by multiply-shift (no modulo bias worth the name). */
static inline unsigned rnd_below(unsigned n)
{
    return (unsigned)((rnd() >> 32) * n >> 32);
}

#endif
