/* hashjoin.c -- a hash join: build a chained hash table on relation R,
 * probe it with relation S (the "no partitioning" join of Blanas, Li &
 * Patel, SIGMOD 2011, on one thread).
 *
 * R holds n tuples (key, payload) with key = mix(i + 1) and payload i, for
 * i < n: distinct keys spread uniformly (mix is a bijection, wl_rand.h).
 * The build links every tuple into the chain of bucket key mod B (B the
 * power of two <= n); the probe draws PROBES tuples of S with key
 * mix(j + 1), j uniform in [0, 2n), walks the key's chain and adds up the
 * payloads of the matching R tuples -- so about half of the probes match.
 * The build and the probe are the region of interest; S is generated as it
 * is probed (a scan of a stored S would only add a sequential stream).
 *
 * FOOTPRINT sets n: 16-byte tuples (key, payload, next link) and 4-byte
 * bucket heads, 20 bytes per tuple.  Prints the matches and the sum of the
 * matched payloads. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "roi.h"
#include "wl.h"
#include "wl_rand.h"

#define HJ_SEED UINT64_C(0x686a0a)
#define HJ_NIL UINT32_MAX   /* end of a chain */

enum { HJ_BYTES_PER_TUPLE = 20 };

typedef struct hj_tuple {
    uint64_t key;
    uint32_t payload;
    uint32_t next;   /* index of the next tuple in the bucket's chain, or HJ_NIL */
} hj_tuple;

static const wl_spec spec = {
    .name = "wl-hashjoin",
    .iters = "PROBES",
    .about = "Hash join: builds a chained hash table on R (20 bytes per tuple within FOOTPRINT) and probes\n"
             "it with PROBES tuples of S, about half of which match.  Prints the matches and the sum of\n"
             "the matched payloads.\n",
    .min_footprint = HJ_BYTES_PER_TUPLE,
};

int main(int argc, char **argv)
{
    wl_args a = wl_parse(&spec, argc, argv);
    uint64_t n = a.footprint / HJ_BYTES_PER_TUPLE;
    if (n > HJ_NIL - 1)
        n = HJ_NIL - 1;
    uint64_t buckets = 1;
    while (buckets * 2 <= n)
        buckets *= 2;
    hj_tuple *r = wl_calloc(&spec, n, sizeof *r);
    uint32_t *head = wl_calloc(&spec, buckets, sizeof *head);
    for (uint64_t i = 0; i < n; i++)
        r[i] = (hj_tuple){.key = wl_mix(i + 1), .payload = (uint32_t)i};
    for (uint64_t b = 0; b < buckets; b++)
        head[b] = HJ_NIL;
    wl_rng rng = wl_rng_seed(HJ_SEED);
    uint64_t matches = 0, sum = 0;

    MMUSIM_ROI_BEGIN();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t b = r[i].key & (buckets - 1);
        r[i].next = head[b];
        head[b] = (uint32_t)i;
    }
    for (uint64_t p = 0; p < a.iters; p++) {
        uint64_t key = wl_mix(wl_below(&rng, 2 * n) + 1);
        for (uint32_t t = head[key & (buckets - 1)]; t != HJ_NIL; t = r[t].next)
            if (r[t].key == key) {
                matches++;
                sum += r[t].payload;
            }
    }
    MMUSIM_ROI_END();

    printf("hashjoin tuples=%" PRIu64 " buckets=%" PRIu64 " probes=%" PRIu64 " matches=%" PRIu64
           " payloadsum=%" PRIu64 "\n",
           n, buckets, a.iters, matches, sum);
    free(r);
    free(head);
    return wl_finish(&spec);
}
