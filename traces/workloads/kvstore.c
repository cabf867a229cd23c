/* kvstore.c -- a key-value store's get/put mix: YCSB workload B (95% reads,
 * 5% updates) with scrambled Zipfian keys against an open-addressing hash
 * table.
 *
 * The table has C = 2^k slots of 16 bytes (key, value), linear probing,
 * key 0 marking a free slot.  The load phase inserts n = C/2 records, record
 * r with key mix(r + 1) (nonzero and distinct: wl_rand.h) and value r.  Each
 * of OPS operations then draws a Zipf(0.99) rank, scrambles it to record
 * mix(rank + 1) mod n (YCSB's "scrambled zipfian", so the popular records
 * are spread over the table rather than packed together), and with
 * probability 95% reads the record's value, else writes the operation's
 * number into it.  Operations are the region of interest.
 *
 * FOOTPRINT sets C: the power of two slots whose 16 bytes each fit.  Prints
 * the gets, the puts and the sum of the values the gets read. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "roi.h"
#include "wl.h"
#include "wl_rand.h"

#define KV_SEED UINT64_C(0x6b760a)
#define KV_THETA 0.99   /* YCSB's default Zipf constant */

enum { KV_GET_PERCENT = 95 };

typedef struct kv_slot {
    uint64_t key;   /* 0: free */
    uint64_t value;
} kv_slot;

static const wl_spec spec = {
    .name = "wl-kvstore",
    .iters = "OPS",
    .about = "Key-value store: OPS operations, 95% gets and 5% puts, on scrambled Zipf(0.99) keys of an\n"
             "open-addressing hash table of 16-byte slots within FOOTPRINT, half full.\n"
             "Prints the gets, the puts and the sum of the values the gets read.\n",
    .min_footprint = 4 * sizeof(kv_slot),
};

/* The slot holding key, or the free slot where it belongs.  The table is
 * never full (load factor 1/2), so the probe ends. */
static kv_slot *kv_find(kv_slot *t, uint64_t mask, uint64_t key)
{
    uint64_t i = key & mask;
    while (t[i].key != key && t[i].key != 0)
        i = (i + 1) & mask;
    return &t[i];
}

int main(int argc, char **argv)
{
    wl_args a = wl_parse(&spec, argc, argv);
    uint64_t slots = 1;
    while (slots * 2 <= a.footprint / sizeof(kv_slot))
        slots *= 2;
    uint64_t n = slots / 2, mask = slots - 1;
    kv_slot *t = wl_calloc(&spec, slots, sizeof *t);
    for (uint64_t r = 0; r < n; r++)
        *kv_find(t, mask, wl_mix(r + 1)) = (kv_slot){wl_mix(r + 1), r};
    wl_zipf z = wl_zipf_init(n, KV_THETA);
    wl_rng rng = wl_rng_seed(KV_SEED);
    uint64_t gets = 0, puts = 0, sum = 0;

    MMUSIM_ROI_BEGIN();
    for (uint64_t op = 0; op < a.iters; op++) {
        uint64_t rec = wl_mix(wl_zipf_next(&z, &rng) + 1) % n;
        kv_slot *s = kv_find(t, mask, wl_mix(rec + 1));
        if (wl_below(&rng, 100) < KV_GET_PERCENT) {
            sum += s->value;
            gets++;
        } else {
            s->value = op;
            puts++;
        }
    }
    MMUSIM_ROI_END();

    printf("kvstore slots=%" PRIu64 " records=%" PRIu64 " ops=%" PRIu64 " gets=%" PRIu64 " puts=%" PRIu64
           " getsum=%" PRIu64 "\n",
           slots, n, a.iters, gets, puts, sum);
    free(t);
    return wl_finish(&spec);
}
