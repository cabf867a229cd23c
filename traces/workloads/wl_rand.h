/* wl_rand.h -- the workloads' deterministic random numbers: SplitMix64
 * (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014), its finalizer as a bijective 64-bit mix, and a Zipf sampler.
 *
 * Header-only so that tests/test_workloads.c draws the same streams as the
 * kernels when it computes their results another way. */
#ifndef MMUSIM_WORKLOADS_WL_RAND_H
#define MMUSIM_WORKLOADS_WL_RAND_H

#include <math.h>
#include <stdint.h>

/* SplitMix64's finalizer: a bijection on 64-bit values that maps 0 to 0
 * (so distinct nonzero inputs give distinct nonzero outputs). */
static inline uint64_t wl_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

typedef struct wl_rng {
    uint64_t state;
} wl_rng;

static inline wl_rng wl_rng_seed(uint64_t seed)
{
    return (wl_rng){seed};
}

static inline uint64_t wl_next(wl_rng *r)
{
    r->state += 0x9E3779B97F4A7C15u;   /* the golden-ratio increment: full period 2^64 */
    return wl_mix(r->state);
}

/* Uniform in [0, n), n > 0.  The modulo bias is below n / 2^64: irrelevant here. */
static inline uint64_t wl_below(wl_rng *r, uint64_t n)
{
    return wl_next(r) % n;
}

/* Uniform double in [0, 1): the top 53 bits. */
static inline double wl_unit(wl_rng *r)
{
    return (double)(wl_next(r) >> 11) * 0x1.0p-53;
}

/* Zipf(theta) ranks in [0, n), rank 0 the most popular: the method of Gray
 * et al., "Quickly generating billion-record synthetic databases" (SIGMOD
 * 1994), which YCSB uses.  It needs zeta(n) = sum_{i=1..n} i^-theta; the
 * first WL_ZETA_EXACT terms are summed and the rest taken from the
 * Euler-Maclaurin formula (integral + end corrections), so setup costs
 * O(1) instead of n pow() calls (which a traced run would record) and
 * the relative error is below 1e-9 for theta < 1. */
typedef struct wl_zipf {
    uint64_t n;
    double theta, alpha, zetan, eta, half_pow_theta;
} wl_zipf;

enum { WL_ZETA_EXACT = 1024 };

static inline double wl_zeta(uint64_t n, double theta)
{
    uint64_t k = n < WL_ZETA_EXACT ? n : WL_ZETA_EXACT;
    double s = 0;
    for (uint64_t i = 1; i <= k; i++)
        s += pow((double)i, -theta);
    if (n > k) {   /* sum_{i=k+1..n} f(i) ~ int_k^n f + (f(n) - f(k)) / 2 + (f'(n) - f'(k)) / 12, f' = -theta x^(-theta-1) */
        double dn = (double)n, dk = (double)k;
        s += (pow(dn, 1 - theta) - pow(dk, 1 - theta)) / (1 - theta);
        s += (pow(dn, -theta) - pow(dk, -theta)) / 2;
        s -= theta * (pow(dn, -theta - 1) - pow(dk, -theta - 1)) / 12;
    }
    return s;
}

/* n >= 2, 0 < theta < 1. */
static inline wl_zipf wl_zipf_init(uint64_t n, double theta)
{
    wl_zipf z = {.n = n, .theta = theta, .alpha = 1 / (1 - theta), .zetan = wl_zeta(n, theta)};
    double zeta2 = wl_zeta(2, theta);
    z.eta = (1 - pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / z.zetan);
    z.half_pow_theta = pow(0.5, theta);
    return z;
}

static inline uint64_t wl_zipf_next(const wl_zipf *z, wl_rng *r)
{
    double u = wl_unit(r), uz = u * z->zetan;
    if (uz < 1)
        return 0;
    if (uz < 1 + z->half_pow_theta)
        return 1;
    uint64_t k = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1, z->alpha));
    return k < z->n ? k : z->n - 1;
}

#endif
