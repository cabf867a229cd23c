/* rng.h -- splitmix64, the one seeded random stream of the library.
 *
 * Every random choice of the model (replacement victims, shuffled frames,
 * the seeds of the parts of one structure, trace generators' seeds) comes
 * from splitmix64 (G. Steele, D. Lea, C. Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014; constants of Vigna's
 * reference code): a state advanced by the golden-ratio increment, then
 * mixed.  Its n-th output is a function of (seed, n) alone, which is how one
 * config seed gives each structure its own unrelated stream
 * (mm_splitmix64_nth). */
#ifndef MMUSIM_BASE_RNG_H
#define MMUSIM_BASE_RNG_H

#include <stdint.h>

#define MM_GOLDEN64 0x9e3779b97f4a7c15ull   /* 2^64 / golden ratio, odd */

/* splitmix64's output function (a bijection of 64-bit words). */
static inline uint64_t mm_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The next output of the stream whose state is *state. */
static inline uint64_t mm_splitmix64(uint64_t *state)
{
    return mm_mix64(*state += MM_GOLDEN64);
}

/* The n-th output (n >= 1) of the stream seeded by `seed`, in O(1). */
static inline uint64_t mm_splitmix64_nth(uint64_t seed, uint64_t n)
{
    return mm_mix64(seed + n * MM_GOLDEN64);
}

#endif
