/* test_frames.c -- the physical frame allocator: the three policies'
 * placement, reference counts, the buddy allocator's splitting and merging,
 * fragmentation, exhaustion and large memories.
 *
 * Addresses are derived by hand from frames.h: frame n is at n * 4 KiB,
 * the first reserved_mib MiB (256 frames per MiB) are never handed out,
 * order-9 blocks are 2 MiB-aligned and order-18 blocks 1 GiB-aligned. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdlib.h>
#include <string.h>

#include "frames.h"

#define KIB4 0x1000ull
#define MIB 0x100000ull
#define MIB2 0x200000ull
#define GIB 0x40000000ull

static frames *fr;

static void teardown(void)
{
    frames_free(fr);
    fr = NULL;
}

TestSuite(frames, .fini = teardown);

static frames *make(frame_policy p, unsigned phys_mib, unsigned reserved_mib, uint64_t seed)
{
    frames *f = frames_create(p, phys_mib, reserved_mib, seed);
    cr_assert_not_null(f, "frames_create(%d, %u, %u)", (int)p, phys_mib, reserved_mib);
    return f;
}

static const frames_counters *ctr(void)
{
    return frames_get_counters(fr);
}

/* Every policy, for the cases that hold for all of them.  Parameters are
 * copied into Criterion's worker processes: values only, no pointers. */
typedef struct policy_param {
    frame_policy policy;
} policy_param;

static policy_param all_policies[] = {{FRAMES_SEQUENTIAL}, {FRAMES_SHUFFLED}, {FRAMES_BUDDY}};
#define ALL_POLICIES cr_make_param_array(policy_param, all_policies, sizeof all_policies / sizeof all_policies[0])

/* Allocate every free frame one by one (n of them); check each is a
 * managed, aligned frame never handed out before; then the next fails.
 * The addresses go to out[] when out is not NULL. */
static void alloc_all(uint64_t n, unsigned phys_mib, unsigned reserved_mib, uint64_t *out)
{
    uint64_t nframes = (uint64_t)phys_mib * 256;
    unsigned char *seen = calloc(nframes, 1);
    cr_assert_not_null(seen);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pa = frames_alloc(fr, 0);
        cr_assert_neq(pa, FRAMES_NONE, "allocation %llu of %llu failed", (unsigned long long)i,
                      (unsigned long long)n);
        cr_assert_eq(pa % KIB4, 0);
        cr_assert_geq(pa, reserved_mib * MIB, "%#llx is reserved", (unsigned long long)pa);
        cr_assert_lt(pa, phys_mib * MIB);
        cr_assert_eq(seen[pa / KIB4], 0, "%#llx handed out twice", (unsigned long long)pa);
        seen[pa / KIB4] = 1;
        if (out)
            out[i] = pa;
    }
    uint64_t fails = ctr()->failures[0];
    cr_assert_eq(frames_alloc(fr, 0), FRAMES_NONE);
    cr_assert_eq(ctr()->failures[0], fails + 1);
    cr_assert_eq(ctr()->free, 0);
    free(seen);
}

/* ---- creation ------------------------------------------------------------ */

Test(frames, create_rejects_bad_sizes)
{
    cr_assert_null(frames_create(FRAMES_BUDDY, 7, 4, 1));            /* fewer than 4 MiB managed */
    cr_assert_null(frames_create(FRAMES_SEQUENTIAL, 3, 0, 1));
    cr_assert_null(frames_create(FRAMES_SHUFFLED, 8, 8, 1));
    cr_assert_null(frames_create(FRAMES_BUDDY, 8, UINT32_MAX, 1));   /* reserved + 4 does not wrap */
    cr_assert_null(frames_create(FRAMES_BUDDY, (1u << 20) + 1, 4, 1)); /* above 1 TiB */
    cr_assert_null(frames_create(FRAMES_POLICY_COUNT, 8, 4, 1));
    fr = make(FRAMES_SEQUENTIAL, 4, 0, 1);                            /* the smallest */
    cr_assert_eq(ctr()->total, 1024);
    cr_assert_eq(frames_alloc(fr, 0), 0);                             /* frame 0 when nothing is reserved */
}

ParameterizedTestParameters(frames, fresh_counters)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, fresh_counters)
{
    fr = make(pp->policy, 8, 4, 1);
    const frames_counters *c = ctr();
    cr_assert_eq(c->total, 1024);   /* (8 - 4) MiB * 256 */
    cr_assert_eq(c->free, 1024);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(c->allocs[i], 0);
        cr_assert_eq(c->failures[i], 0);
    }
    cr_assert_eq(c->frees, 0);
    cr_assert(frames_can_alloc(fr, 0));
    cr_assert(frames_can_alloc(fr, 9));     /* [4 MiB, 6 MiB) and [6, 8) are free */
    cr_assert_not(frames_can_alloc(fr, 18));
}

/* ---- sequential ------------------------------------------------------------ */

Test(frames, sequential_ascending_after_reserved)
{
    fr = make(FRAMES_SEQUENTIAL, 8, 1, 1);
    for (uint64_t i = 0; i < 300; i++)
        cr_assert_eq(frames_alloc(fr, 0), MIB + i * KIB4, "allocation %llu", (unsigned long long)i);
    cr_assert_eq(ctr()->allocs[0], 300);
    cr_assert_eq(ctr()->free, 7 * 256 - 300);
    /* the lowest free frame first: a returned frame is the next one out */
    cr_assert_eq(frames_put(fr, MIB + 7 * KIB4), 0);
    cr_assert_eq(frames_put(fr, MIB + 3 * KIB4), 0);
    cr_assert_eq(frames_alloc(fr, 0), MIB + 3 * KIB4);
    cr_assert_eq(frames_alloc(fr, 0), MIB + 7 * KIB4);
    cr_assert_eq(frames_alloc(fr, 0), MIB + 300 * KIB4);
}

/* Order 9 wants a wholly free, aligned 2 MiB region: [0, 2 MiB) holds the
 * reserved MiB, so the first is at 2 MiB; a region with one frame taken
 * is skipped until that frame returns. */
Test(frames, sequential_order9_regions)
{
    fr = make(FRAMES_SEQUENTIAL, 8, 1, 1);
    cr_assert_eq(frames_alloc(fr, 9), 2 * MIB);
    cr_assert_eq(frames_refcount(fr, 2 * MIB + 511 * KIB4), 1);
    cr_assert_eq(frames_alloc(fr, 0), MIB);           /* order 0 still lowest first */
    /* take one frame of [4, 6) MiB: hand out [1 MiB + 4 KiB, 2 MiB) first */
    for (unsigned i = 1; i < 256; i++)
        cr_assert_eq(frames_alloc(fr, 0), MIB + i * KIB4);
    cr_assert_eq(frames_alloc(fr, 0), 4 * MIB);
    cr_assert_eq(frames_alloc(fr, 9), 6 * MIB);
    cr_assert_not(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_alloc(fr, 9), FRAMES_NONE);
    cr_assert_eq(ctr()->failures[1], 1);
    cr_assert_eq(ctr()->allocs[1], 2);
    cr_assert_eq(frames_put(fr, 4 * MIB), 0);
    cr_assert(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_alloc(fr, 9), 4 * MIB);
    /* a block comes back frame by frame */
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(frames_put(fr, 2 * MIB + i * KIB4), 0);
    cr_assert_eq(ctr()->frees, 1 + 512);
    cr_assert_eq(frames_alloc(fr, 9), 2 * MIB);
}

/* ---- reference counts ---------------------------------------------------- */

ParameterizedTestParameters(frames, refcounts)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, refcounts)
{
    fr = make(pp->policy, 8, 4, 3);
    uint64_t pa = frames_alloc(fr, 0);
    cr_assert_neq(pa, FRAMES_NONE);
    cr_assert_eq(frames_refcount(fr, pa), 1);
    cr_assert_eq(frames_refcount(fr, pa + 0xfff), 1);   /* any address in the frame */
    cr_assert_eq(frames_get(fr, pa), 2);
    cr_assert_eq(frames_get(fr, pa), 3);
    cr_assert_eq(frames_put(fr, pa), 2);
    cr_assert_eq(frames_put(fr, pa), 1);
    cr_assert_eq(ctr()->free, 1023);
    cr_assert_eq(ctr()->frees, 0);
    cr_assert_eq(frames_put(fr, pa), 0);
    cr_assert_eq(frames_refcount(fr, pa), 0);
    cr_assert_eq(ctr()->free, 1024);
    cr_assert_eq(ctr()->frees, 1);
    /* back in the pool: all 1024 frames can be had again, each once */
    alloc_all(1024, 8, 4, NULL);
    cr_assert_eq(ctr()->allocs[0], 1025);
}

/* Blocks: every frame of the block has its own count. */
ParameterizedTestParameters(frames, block_refcounts)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, block_refcounts)
{
    fr = make(pp->policy, 8, 4, 3);
    uint64_t pa = frames_alloc(fr, 9);
    cr_assert_neq(pa, FRAMES_NONE);
    cr_assert_eq(pa % MIB2, 0);
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(frames_refcount(fr, pa + i * KIB4), 1);
    cr_assert_eq(frames_get(fr, pa + 5 * KIB4), 2);
    cr_assert_eq(ctr()->free, 512);
    for (unsigned i = 0; i < 512; i++)
        frames_put(fr, pa + i * KIB4);
    cr_assert_eq(ctr()->free, 1023);      /* frame 5 still has a user */
    cr_assert_eq(frames_refcount(fr, pa + 5 * KIB4), 1);
    /* the other 2 MiB region is the only whole one now */
    uint64_t other = frames_alloc(fr, 9);
    cr_assert_neq(other, FRAMES_NONE);
    cr_assert_neq(other, pa);
    cr_assert_not(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_put(fr, pa + 5 * KIB4), 0);
    cr_assert(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_alloc(fr, 9), pa);
    cr_assert_eq(ctr()->free, 0);
    cr_assert_eq(ctr()->frees, 512);
}

/* A count at 65535 saturates: it stays there and the frame is never freed. */
ParameterizedTestParameters(frames, refcount_saturates)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, refcount_saturates)
{
    fr = make(pp->policy, 8, 4, 3);
    uint64_t pa = frames_alloc(fr, 0);
    for (unsigned want = 2; want <= 65535; want++)
        cr_assert_eq(frames_get(fr, pa), want);
    cr_assert_eq(frames_get(fr, pa), 65535);
    cr_assert_eq(frames_get(fr, pa), 65535);
    cr_assert_eq(frames_put(fr, pa), 65535);
    for (unsigned i = 0; i < 70000; i++)
        frames_put(fr, pa);
    cr_assert_eq(frames_refcount(fr, pa), 65535);
    cr_assert_eq(ctr()->free, 1023);
    cr_assert_eq(ctr()->frees, 0);
    /* the pinned frame is never handed out again */
    uint64_t *got = calloc(1023, sizeof *got);
    cr_assert_not_null(got);
    alloc_all(1023, 8, 4, got);
    for (unsigned i = 0; i < 1023; i++)
        cr_assert_neq(got[i], pa);
    free(got);
}

/* Addresses that are not managed frames: counts read 0, get/put do nothing. */
ParameterizedTestParameters(frames, unmanaged_addresses)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, unmanaged_addresses)
{
    fr = make(pp->policy, 8, 4, 3);
    const uint64_t bad[] = {0, 4 * MIB - KIB4, 8 * MIB, UINT64_MAX - 0xfff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(frames_refcount(fr, bad[i]), 0);
        cr_assert_eq(frames_get(fr, bad[i]), 0);
        cr_assert_eq(frames_put(fr, bad[i]), 0);
    }
    cr_assert_eq(ctr()->free, 1024);
    cr_assert_eq(ctr()->frees, 0);
}

/* Orders other than 0, 9, 18 are refused and not counted. */
ParameterizedTestParameters(frames, other_orders_refused)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, other_orders_refused)
{
    fr = make(pp->policy, 8, 4, 3);
    const unsigned orders[] = {1, 8, 10, 17, 19, 64};
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        cr_assert_eq(frames_alloc(fr, orders[i]), FRAMES_NONE, "order %u", orders[i]);
        cr_assert_not(frames_can_alloc(fr, orders[i]));
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ctr()->failures[i] + ctr()->allocs[i], 0);
    cr_assert_eq(ctr()->free, 1024);
}

/* ---- shuffled ------------------------------------------------------------ */

#define SEQ_LEN 256

static void shuffled_sequence(uint64_t seed, uint64_t *out)
{
    frames *f = make(FRAMES_SHUFFLED, 64, 4, seed);
    for (int i = 0; i < SEQ_LEN; i++) {
        out[i] = frames_alloc(f, 0);
        cr_assert_neq(out[i], FRAMES_NONE);
    }
    frames_free(f);
}

Test(frames, shuffled_deterministic_per_seed)
{
    static uint64_t a[SEQ_LEN], b[SEQ_LEN], c[SEQ_LEN];
    shuffled_sequence(42, a);
    shuffled_sequence(42, b);
    shuffled_sequence(43, c);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "same seed, different frames");
    unsigned same = 0, ascending = 0;
    for (int i = 0; i < SEQ_LEN; i++) {
        same += a[i] == c[i];
        ascending += i > 0 && a[i] == a[i - 1] + KIB4;
    }
    /* 15360 frames: two seeds agree on a position about 1 in 15360 times */
    cr_assert_lt(same, 4, "seeds 42 and 43 agree on %u of %d frames", same, SEQ_LEN);
    cr_assert_lt(ascending, 4, "%u of %d allocations followed the previous frame", ascending, SEQ_LEN);
}

/* Every frame exactly once, in any order; then exhaustion.  Run twice over
 * a pool with holes (every third frame returned) to exercise the probe's
 * fallback search. */
Test(frames, shuffled_never_double_allocates)
{
    fr = make(FRAMES_SHUFFLED, 8, 4, 9);
    uint64_t *got = calloc(1024, sizeof *got);
    cr_assert_not_null(got);
    alloc_all(1024, 8, 4, got);
    unsigned in_order = 0;
    for (int i = 1; i < 1024; i++)
        in_order += got[i] > got[i - 1];
    cr_assert_lt(in_order, 700, "%u of 1023 steps went up: not shuffled", in_order);
    for (int i = 0; i < 1024; i += 3)
        cr_assert_eq(frames_put(fr, got[i]), 0);
    cr_assert_eq(ctr()->free, 342);
    alloc_all(342, 8, 4, NULL);
    free(got);
}

/* Order-9 blocks: each aligned, distinct, inside memory; not in address
 * order; 64 MiB with 4 reserved has 30 wholly free 2 MiB regions. */
Test(frames, shuffled_order9_blocks)
{
    fr = make(FRAMES_SHUFFLED, 64, 4, 5);
    bool seen[32] = {false};
    unsigned in_order = 0;
    uint64_t prev = 0;
    for (int i = 0; i < 30; i++) {
        uint64_t pa = frames_alloc(fr, 9);
        cr_assert_neq(pa, FRAMES_NONE);
        cr_assert_eq(pa % MIB2, 0);
        cr_assert_geq(pa, 4 * MIB);
        cr_assert_lt(pa, 64 * MIB);
        cr_assert_not(seen[pa / MIB2]);
        seen[pa / MIB2] = true;
        in_order += pa > prev;
        prev = pa;
    }
    cr_assert_lt(in_order, 25);
    cr_assert_not(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_alloc(fr, 9), FRAMES_NONE);
    cr_assert_eq(ctr()->allocs[1], 30);
    cr_assert_eq(ctr()->failures[1], 1);
    cr_assert_eq(ctr()->free, 0);
}

/* ---- buddy ------------------------------------------------------------------ */

/* phys 8 MiB, reserved 4: frames 1024..2047 form one order-10 block.
 * Allocating order 0 splits it down: 1024 is handed out and 1025 (order 0),
 * 1026 (1), 1028 (2), ... 1280 (8), 1536 (9) are left free. */
Test(frames, buddy_split_merge)
{
    fr = make(FRAMES_BUDDY, 8, 4, 1);
    cr_assert_eq(frames_alloc(fr, 0), 4 * MIB);             /* frame 1024 */
    cr_assert_eq(frames_alloc(fr, 0), 4 * MIB + KIB4);      /* 1025, the order-0 buddy */
    cr_assert_eq(frames_alloc(fr, 0), 4 * MIB + 2 * KIB4);  /* 1026: splits the order-1 block 1026 */
    cr_assert(frames_can_alloc(fr, 9));                     /* 1536 */
    cr_assert_eq(frames_alloc(fr, 9), 6 * MIB);
    cr_assert_not(frames_can_alloc(fr, 9));                 /* 1024..1535 is split */
    cr_assert(frames_can_alloc(fr, 0));
    /* free 1024 and 1026: neither can merge up to order 9 while 1025 is out */
    cr_assert_eq(frames_put(fr, 4 * MIB), 0);
    cr_assert_eq(frames_put(fr, 4 * MIB + 2 * KIB4), 0);
    cr_assert_not(frames_can_alloc(fr, 9));
    /* order 0 takes the lowest order-0 block: 1024, just freed */
    cr_assert_eq(frames_alloc(fr, 0), 4 * MIB);
    cr_assert_eq(frames_put(fr, 4 * MIB), 0);
    /* the last buddy returns: 1024+1025 -> order 1, +1026 -> 2, ... -> order 9 */
    cr_assert_eq(frames_put(fr, 4 * MIB + KIB4), 0);
    cr_assert(frames_can_alloc(fr, 9));
    cr_assert_not(frames_can_alloc(fr, 18));
    cr_assert_eq(frames_alloc(fr, 9), 4 * MIB);
    cr_assert_eq(ctr()->free, 0);
    cr_assert_eq(frames_alloc(fr, 0), FRAMES_NONE);
    /* both order-9 blocks back, frame by frame: they merge into order 10 */
    for (unsigned i = 0; i < 1024; i++)
        cr_assert_eq(frames_put(fr, 4 * MIB + i * KIB4), 0);
    cr_assert_eq(ctr()->free, 1024);
    cr_assert_eq(frames_alloc(fr, 9), 4 * MIB);
    cr_assert_eq(frames_alloc(fr, 9), 6 * MIB);
    cr_assert_eq(ctr()->allocs[0], 4);
    cr_assert_eq(ctr()->allocs[1], 4);
    cr_assert_eq(ctr()->failures[0], 1);
}

/* Memory that is not a power of two: phys 7 MiB, reserved 1 -> frames
 * 256..1791 carve into 256 (order 8), 512 (9), 1024 (9), 1536 (8). */
Test(frames, buddy_carves_unaligned_memory)
{
    fr = make(FRAMES_BUDDY, 7, 1, 1);
    cr_assert_eq(ctr()->total, 1536);
    cr_assert_eq(frames_alloc(fr, 9), 2 * MIB);
    cr_assert_eq(frames_alloc(fr, 9), 4 * MIB);
    cr_assert_eq(frames_alloc(fr, 9), FRAMES_NONE);
    /* order 0: the lowest block of the smallest free order (8): 256 */
    cr_assert_eq(frames_alloc(fr, 0), MIB);
    cr_assert_eq(frames_alloc(fr, 0), MIB + KIB4);
    /* the 1536 block never merges with 1024 (its buddy 1536..2047 runs past the end) */
    for (unsigned i = 0; i < 512; i++)
        frames_put(fr, 4 * MIB + i * KIB4);
    cr_assert_eq(frames_alloc(fr, 9), 4 * MIB);
}

/* All frames as order 0, every other one freed: half the memory is free,
 * yet no 2 MiB block exists.  Returning the other halves of one region
 * makes one. */
ParameterizedTestParameters(frames, fragmentation)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, fragmentation)
{
    fr = make(pp->policy, 8, 4, 11);
    uint64_t *got = calloc(1024, sizeof *got);
    cr_assert_not_null(got);
    alloc_all(1024, 8, 4, got);
    for (uint64_t pa = 4 * MIB; pa < 8 * MIB; pa += 2 * KIB4)
        cr_assert_eq(frames_put(fr, pa), 0);
    cr_assert_eq(ctr()->free, 512);
    cr_assert(frames_can_alloc(fr, 0));
    cr_assert_not(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_alloc(fr, 9), FRAMES_NONE);
    cr_assert_eq(ctr()->failures[1], 1);
    for (uint64_t pa = 6 * MIB + KIB4; pa < 8 * MIB; pa += 2 * KIB4)
        cr_assert_eq(frames_put(fr, pa), 0);
    cr_assert(frames_can_alloc(fr, 9));
    cr_assert_eq(frames_alloc(fr, 9), 6 * MIB);
    free(got);
}

/* ---- exhaustion -------------------------------------------------------------- */

ParameterizedTestParameters(frames, exhaustion)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, exhaustion)
{
    fr = make(pp->policy, 8, 4, 13);
    cr_assert_neq(frames_alloc(fr, 9), FRAMES_NONE);
    alloc_all(512, 8, 4, NULL);
    cr_assert_eq(frames_alloc(fr, 9), FRAMES_NONE);
    cr_assert_eq(frames_alloc(fr, 18), FRAMES_NONE);
    cr_assert_eq(frames_alloc(fr, 0), FRAMES_NONE);
    const frames_counters *c = ctr();
    cr_assert_eq(c->allocs[0], 512);
    cr_assert_eq(c->allocs[1], 1);
    cr_assert_eq(c->failures[0], 2);   /* alloc_all's and the last one */
    cr_assert_eq(c->failures[1], 1);
    cr_assert_eq(c->failures[2], 1);
    cr_assert_not(frames_can_alloc(fr, 0));
    cr_assert_eq(c->free, 0);
}

/* ---- 1 GiB blocks and large memories ------------------------------------------ */

/* phys 2 GiB, reserved 4 MiB: [1, 2) GiB is the only wholly free 1 GiB region. */
ParameterizedTestParameters(frames, order18)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, order18)
{
    fr = make(pp->policy, 2048, 4, 17);
    cr_assert(frames_can_alloc(fr, 18));
    cr_assert_eq(frames_alloc(fr, 18), GIB);
    cr_assert_not(frames_can_alloc(fr, 18));
    cr_assert_eq(frames_alloc(fr, 18), FRAMES_NONE);
    cr_assert_eq(ctr()->free, (2048 - 4) * 256 - (1u << 18));
    cr_assert_eq(frames_refcount(fr, GIB + (1u << 18) * KIB4 - KIB4), 1);
    uint64_t pa = frames_alloc(fr, 9);
    cr_assert_lt(pa, GIB);
    cr_assert_eq(frames_put(fr, pa), 0);   /* one frame back: its region stays broken */
    for (uint64_t i = 0; i < 1u << 18; i++)
        frames_put(fr, GIB + i * KIB4);
    cr_assert(frames_can_alloc(fr, 18));
    cr_assert_eq(frames_alloc(fr, 18), GIB);
    cr_assert_eq(ctr()->allocs[2], 2);
    cr_assert_eq(ctr()->failures[2], 1);
    cr_assert_eq(ctr()->frees, (1u << 18) + 1);
}

typedef struct big_param {
    frame_policy policy;
    unsigned phys_mib;
} big_param;

ParameterizedTestParameters(frames, large_memory)
{
    static big_param cases[] = {
        {FRAMES_SEQUENTIAL, 16384}, {FRAMES_SHUFFLED, 16384}, {FRAMES_BUDDY, 16384},
        {FRAMES_SEQUENTIAL, 1u << 20}, {FRAMES_SHUFFLED, 1u << 20}, {FRAMES_BUDDY, 1u << 20},
    };
    return cr_make_param_array(big_param, cases, sizeof cases / sizeof cases[0]);
}

/* 16 GiB and 1 TiB: counts and the top of memory are right, blocks of each
 * order come and go. */
ParameterizedTest(big_param *bp, frames, large_memory)
{
    fr = make(bp->policy, bp->phys_mib, 4, 19);
    uint64_t frames_total = (uint64_t)(bp->phys_mib - 4) * 256;
    cr_assert_eq(ctr()->total, frames_total);
    uint64_t g = frames_alloc(fr, 18), m = frames_alloc(fr, 9), k = frames_alloc(fr, 0);
    cr_assert_neq(g, FRAMES_NONE);
    cr_assert_neq(m, FRAMES_NONE);
    cr_assert_neq(k, FRAMES_NONE);
    cr_assert_eq(g % GIB, 0);
    cr_assert_eq(m % MIB2, 0);
    cr_assert_lt(g, (uint64_t)bp->phys_mib * MIB);
    cr_assert_lt(m, (uint64_t)bp->phys_mib * MIB);
    cr_assert_lt(k, (uint64_t)bp->phys_mib * MIB);
    cr_assert_geq(k, 4 * MIB);
    cr_assert_eq(ctr()->free, frames_total - (1u << 18) - 512 - 1);
    frames_put(fr, k);
    for (unsigned i = 0; i < 512; i++)
        frames_put(fr, m + i * KIB4);
    cr_assert_eq(ctr()->free, frames_total - (1u << 18));
    if (bp->policy != FRAMES_SHUFFLED) {
        /* sequential: the first whole regions, then the lowest free frame;
         * buddy: base 1024 carves into blocks of order 10, 11, ... 17, then
         * order-18 blocks from 1 GiB; order 9 splits the order-10 block at
         * 4 MiB, order 0 the order-9 block left at 6 MiB */
        cr_assert_eq(g, GIB);
        cr_assert_eq(m, 4 * MIB);
        cr_assert_eq(k, 6 * MIB);
        cr_assert_eq(frames_alloc(fr, 0), 4 * MIB);   /* m has returned */
    }
}

/* ---- random operations against a shadow model ------------------------------------ */

/* 20000 random allocations (order 0 and 9), gets and puts on phys 16 MiB
 * with 1 MiB reserved, in phases that fill memory and drain it, checked
 * against a plain array of counts: no frame is
 * handed out twice, the free count matches, and an order-9 block is
 * available exactly when some aligned 2 MiB region is wholly free (for the
 * buddy policy: merging leaves no whole region unmerged). */
#define SHADOW_PHYS 16u
#define SHADOW_FRAMES (SHADOW_PHYS * 256u)

static bool shadow_region_free(const unsigned *ref)
{
    for (unsigned r = 1; r < SHADOW_FRAMES / 512; r++) {   /* region 0 holds the reserved MiB */
        unsigned i = 0;
        while (i < 512 && ref[r * 512 + i] == 0)
            i++;
        if (i == 512)
            return true;
    }
    return false;
}

ParameterizedTestParameters(frames, random_ops_match_shadow)
{
    return ALL_POLICIES;
}

ParameterizedTest(policy_param *pp, frames, random_ops_match_shadow)
{
    fr = make(pp->policy, SHADOW_PHYS, 1, 23);
    static unsigned ref[SHADOW_FRAMES];
    static uint64_t live[SHADOW_FRAMES];   /* frames with a count, unordered */
    unsigned nlive = 0;
    uint64_t nfree = SHADOW_FRAMES - 256, x = 12345;
    for (unsigned i = 0; i < 256; i++)
        ref[i] = 1;   /* reserved: never free in the shadow */
    for (int op = 0; op < 20000; op++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(x >> 33) % 100;
        unsigned alloc_pct = (op / 2500) % 2 ? 20 : 60;   /* phases that fill and drain */
        if (r < alloc_pct || nlive == 0) {
            unsigned order = r < 5 ? 9 : 0;
            bool expect = order == 9 ? shadow_region_free(ref) : nfree > 0;
            cr_assert_eq(frames_can_alloc(fr, order), expect, "op %d: can_alloc(%u)", op, order);
            uint64_t pa = frames_alloc(fr, order);
            cr_assert_eq(pa != FRAMES_NONE, expect, "op %d: alloc(%u)", op, order);
            if (pa == FRAMES_NONE)
                continue;
            for (unsigned k = 0; k < 1u << order; k++) {
                uint64_t pfn = pa / KIB4 + k;
                cr_assert_lt(pfn, SHADOW_FRAMES);
                cr_assert_eq(ref[pfn], 0, "op %d: frame %llu handed out twice", op, (unsigned long long)pfn);
                ref[pfn] = 1;
                live[nlive++] = pfn;
            }
            nfree -= 1u << order;
        } else {
            unsigned j = (unsigned)(x >> 20) % nlive;
            uint64_t pfn = live[j];
            if (r < alloc_pct + 5) {
                ref[pfn]++;
                cr_assert_eq(frames_get(fr, pfn * KIB4), ref[pfn]);
            } else {
                ref[pfn]--;
                cr_assert_eq(frames_put(fr, pfn * KIB4), ref[pfn]);
                if (ref[pfn] == 0) {
                    live[j] = live[--nlive];
                    nfree++;
                }
            }
        }
        cr_assert_eq(ctr()->free, nfree, "op %d", op);
    }
}
