/* test_pageset.c -- the footprint set of `trace info` (model/src/pageset.h):
 * counts of distinct 4 KiB, 2 MiB and 1 GiB pages, across the change of a
 * chunk from its small set to its bitmap, against counts worked out by
 * hand and against sorting. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "pageset.h"

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

static pageset *S;

static void setup(void)
{
    S = pageset_create();
    cr_assert_not_null(S);
}

static void teardown(void)
{
    pageset_free(S);
}

TestSuite(pageset, .init = setup, .fini = teardown);

static void add(uint64_t space, uint64_t va)
{
    cr_assert_eq(pageset_add(S, space, va), 0);
}

static void expect(uint64_t p4k, uint64_t p2m, uint64_t p1g)
{
    cr_expect_eq(pageset_count(S, 12), p4k, "4k: %llu, want %llu", (unsigned long long)pageset_count(S, 12),
                 (unsigned long long)p4k);
    cr_expect_eq(pageset_count(S, 21), p2m, "2m: %llu, want %llu", (unsigned long long)pageset_count(S, 21),
                 (unsigned long long)p2m);
    cr_expect_eq(pageset_count(S, 30), p1g, "1g: %llu, want %llu", (unsigned long long)pageset_count(S, 30),
                 (unsigned long long)p1g);
}

Test(pageset, empty)
{
    expect(0, 0, 0);
}

Test(pageset, bytes_of_one_page_are_one_page)
{
    add(1, 0x401000);
    add(1, 0x401fff);
    add(1, 0x401800);
    expect(1, 1, 1);
}

Test(pageset, spaces_are_apart)
{
    /* The same address in three spaces: three pages, three 2 MiB and three
     * 1 GiB regions; space 0 (the kernel half's) is a space like any. */
    add(0, 0x7000);
    add(1, 0x7000);
    add(2, 0x7000);
    expect(3, 3, 3);
}

Test(pageset, chunk_and_region_boundaries)
{
    /* Pages on both sides of a 2 MiB boundary and of a 1 GiB boundary:
     * 0x3ffff000 (last page of GiB 0, region 511), 0x40000000 (first of
     * GiB 1, region 512), 0x401ff000 (last page of region 512), 0x40200000
     * (region 513). */
    add(5, 1 * GIB - 4 * KIB);
    add(5, 1 * GIB);
    add(5, 1 * GIB + 2 * MIB - 4 * KIB);
    add(5, 1 * GIB + 2 * MIB);
    expect(4, 3, 2);
}

Test(pageset, top_of_the_address_space)
{
    /* The last page of the 64-bit space: chunk number 2^34 - 1. */
    add(0, UINT64_MAX);
    add(0, UINT64_MAX - 4095);
    add(0, UINT64_MAX - 4096);
    expect(2, 1, 1);
}

Test(pageset, set_turns_into_bitmap_without_losing_a_page)
{
    /* Every third page of one GiB: 2^18 / 3 rounded up = 87382 pages, far
     * past the set's 6144-page limit; each 2 MiB region (512 pages) holds
     * some, so all 512 regions count.  Then every page again: no change.
     * Then the other pages: the whole GiB. */
    uint64_t base = 7 * GIB;
    for (uint64_t p = 0; p < (1u << 18); p += 3)
        add(9, base + p * 4 * KIB);
    expect(87382, 512, 1);
    for (uint64_t p = 0; p < (1u << 18); p += 3)
        add(9, base + p * 4 * KIB);
    expect(87382, 512, 1);
    for (uint64_t p = 0; p < (1u << 18); p++)
        add(9, base + p * 4 * KIB);
    expect(1u << 18, 512, 1);
}

Test(pageset, at_the_limit_of_the_set)
{
    /* 6144 pages fill the set's largest size to 3/4; the 6145th makes the
     * bitmap.  Pages 0, 2, 4, ...: regions 0..23 (512 pages = 256 of them
     * each) for 6144 pages, region 24 for the 6145th. */
    for (uint64_t p = 0; p < 6144; p++)
        add(3, p * 8 * KIB);
    expect(6144, 24, 1);
    add(3, 6144 * 8 * KIB);
    expect(6145, 25, 1);
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Distinct (space, va >> shift) among n pairs, by sorting. */
static uint64_t distinct(const uint64_t *pairs, size_t n, unsigned shift)
{
    uint64_t *t = malloc(2 * n * sizeof *t);
    cr_assert_not_null(t);
    for (size_t i = 0; i < n; i++) {
        t[2 * i] = pairs[2 * i];
        t[2 * i + 1] = pairs[2 * i + 1] >> shift;
    }
    qsort(t, n, 2 * sizeof *t, cmp_pair);
    uint64_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += i == 0 || t[2 * i] != t[2 * i - 2] || t[2 * i + 1] != t[2 * i - 1];
    free(t);
    return d;
}

Test(pageset, random_footprints_match_sorting)
{
    /* 400,000 pages of 6 spaces: clustered in a few GiB (some chunks turn
     * into bitmaps, some stay sets) and scattered over 2^47 bytes (one or
     * two pages per chunk). */
    enum { N = 400000 };
    uint64_t *pairs = malloc(2 * N * sizeof *pairs), x = 12345;
    cr_assert_not_null(pairs);
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = x >> 11, space = r % 6, va;
        if (x >> 63)
            va = (r >> 3) & ((1ull << 47) - 1);
        else
            va = (r % 3) * GIB + ((r >> 7) % (60000 * 4 * KIB));
        pairs[2 * i] = space;
        pairs[2 * i + 1] = va;
        add(space, va);
    }
    expect(distinct(pairs, N, 12), distinct(pairs, N, 21), distinct(pairs, N, 30));
    free(pairs);
}
