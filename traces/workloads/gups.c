/* gups.c -- GUPS, HPCC RandomAccess's update rule on one stream.
 *
 * A table of 2^k 64-bit words, Table[i] = i, takes UPDATES updates
 *     ran = (ran << 1) ^ (ran's top bit ? POLY : 0);   Table[ran & (2^k - 1)] ^= ran
 * with ran starting at 1 and POLY = 7 (the primitive polynomial x^64 + x^2
 * + x + 1 of HPCC's generator).  HPCC runs 128 such streams interleaved to
 * hide latency; one stream is the same address pattern in another order.
 * Every update is a read-modify-write of a random word: one TLB miss per
 * update once the table outgrows the TLB's reach.
 *
 * The table is the largest power-of-two number of words within FOOTPRINT.
 * Prints the table's sum and xor (mod 2^64) after the updates. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "roi.h"
#include "wl.h"

#define GUPS_POLY UINT64_C(7)

static const wl_spec spec = {
    .name = "wl-gups",
    .iters = "UPDATES",
    .about = "HPCC RandomAccess: UPDATES random read-modify-writes of a table of 2^k words <= FOOTPRINT.\n"
             "Prints the table's sum and xor after the updates.\n",
    .min_footprint = 8,
};

int main(int argc, char **argv)
{
    wl_args a = wl_parse(&spec, argc, argv);
    uint64_t words = 1;
    while (words * 2 <= a.footprint / 8)
        words *= 2;
    uint64_t *table = wl_calloc(&spec, words, sizeof *table);
    for (uint64_t i = 0; i < words; i++)
        table[i] = i;

    MMUSIM_ROI_BEGIN();
    uint64_t ran = 1;
    for (uint64_t u = 0; u < a.iters; u++) {
        ran = (ran << 1) ^ ((ran >> 63) ? GUPS_POLY : 0);
        table[ran & (words - 1)] ^= ran;
    }
    MMUSIM_ROI_END();

    uint64_t sum = 0, x = 0;
    for (uint64_t i = 0; i < words; i++) {
        sum += table[i];
        x ^= table[i];
    }
    printf("gups words=%" PRIu64 " updates=%" PRIu64 " sum=0x%016" PRIx64 " xor=0x%016" PRIx64 "\n", words, a.iters,
           sum, x);
    free(table);
    return wl_finish(&spec);
}
