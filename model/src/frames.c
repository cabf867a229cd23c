/* frames.c -- the physical frame allocator (see frames.h).
 *
 * Frames are numbered pfn = pa >> 12 from 0; frames [0, base) are the
 * reserved ones, [base, nframes) are managed.  Every frame has a 16-bit
 * reference count, 0 exactly when the frame is free (or reserved).
 *
 * Free space is kept in `hbits`: a bitmap with summary levels, where bit i
 * of level l+1 is set iff word i of level l is nonzero.  Setting, clearing
 * and finding the first set bit at or after an index touch one word per
 * level: at most 5 levels for the 2^28 frames of 1 TiB.
 *
 * Sequential and shuffled policies share one layout:
 *   freebits        one bit per frame, set = free;
 *   free2m, free1g  free frames per 2 MiB (0..512) and 1 GiB (0..2^18) region;
 *   full2m, full1g  one bit per region, set = all its frames are free.
 * An order-9/18 allocation takes a region from full2m/full1g, so it costs
 * O(levels), not a search over frames.  A region that overlaps the reserved
 * frames or runs past the end of memory never reaches the full count, so it
 * is never handed out as a block.
 *   - sequential: the first set bit (lowest frame, lowest region).
 *   - shuffled: a uniformly random index (a frame in the managed range, or a
 *     region); if it is free, that one.  Otherwise the first free one after
 *     it (wrapping), found through the summary levels, and then a random
 *     free one of that bitmap word (64 frames or regions).  While memory is
 *     mostly free the probe nearly always hits and the choice is uniform;
 *     when it is mostly full, free frames that follow long allocated runs are
 *     favoured.  The point is Linux's page_alloc.shuffle: no physical
 *     contiguity between consecutive allocations, not exact uniformity.
 *     Random numbers are splitmix64 of the seed: the same seed and the same
 *     calls give the same frames.
 *
 * Buddy: blocks[k] (k = 0..18) has one bit per naturally aligned block of
 * 2^k frames, set = that block is free as a whole at order k.  Invariant:
 * every managed frame is either allocated or inside exactly one free block,
 * and two buddies below order 18 are never both free (they would have
 * merged).  The managed range is carved at creation into the largest
 * aligned blocks that fit (as Linux frees memblock memory), which keeps the
 * invariant.  Allocation takes the lowest-addressed free block of the
 * smallest order >= the one asked for (Linux takes the head of a LIFO free
 * list; address order is as deterministic and easier to follow) and splits
 * it, freeing the upper halves one order down each time.  A frame whose
 * count drops to 0 is freed at order 0 and merges upwards while its buddy
 * is free at the same order; a block whose buddy overlaps reserved frames or
 * the end of memory never merges.  Blocks of 2^k frames are released frame
 * by frame (frames.h); merging rebuilds the block as its last frame returns.
 *
 * Memory: 2 bytes of count per frame, plus one bit per frame (sequential,
 * shuffled) or about two bits per frame (buddy, all orders) and ~1/63 of
 * that for the summaries.  For 16 GiB: 8 MiB + 0.5 or 1 MiB.  For 1 TiB:
 * 512 MiB of counts, allocated with calloc so untouched pages stay
 * uncommitted. */
#include "frames.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

#define FRAME_SHIFT 12
#define FRAMES_PER_MIB 256u
#define FRAMES_MAX_MIB (1u << 20)      /* 1 TiB: the largest machine (2^28 frames) */
#define MAX_ORDER FRAMES_ORDER_1G      /* buddy orders 0..18 */
#define REF_MAX UINT16_MAX             /* a count that reaches it saturates */
#define NONE SIZE_MAX

/* ---- hbits: a bitmap with summary levels --------------------------------- */

#define HB_LEVELS 6   /* 64^6 = 2^36 bits, more than the 2^28 frames of 1 TiB */

typedef struct hbits {
    size_t nbits;              /* level 0 */
    unsigned nlevels;          /* the top level is one word */
    size_t nwords[HB_LEVELS];
    uint64_t *w[HB_LEVELS];    /* all levels in one allocation, owned by w[0] */
} hbits;

static int hb_init(hbits *h, size_t nbits)
{
    size_t total = 0, n = nbits ? nbits : 1;
    memset(h, 0, sizeof *h);
    h->nbits = n;
    do {
        assert(h->nlevels < HB_LEVELS);
        size_t words = (n + 63) / 64;
        h->nwords[h->nlevels++] = words;
        total += words;
        n = words;
    } while (n > 1);
    uint64_t *all = calloc(total, sizeof *all);
    if (!all)
        return -1;
    for (unsigned l = 0; l < h->nlevels; l++) {
        h->w[l] = all;
        all += h->nwords[l];
    }
    return 0;
}

static void hb_free(hbits *h)
{
    free(h->w[0]);
    memset(h, 0, sizeof *h);
}

static bool hb_test(const hbits *h, size_t i)
{
    return i < h->nbits && (h->w[0][i >> 6] >> (i & 63) & 1);
}

static void hb_set(hbits *h, size_t i)
{
    assert(i < h->nbits);
    for (unsigned l = 0; l < h->nlevels; l++, i >>= 6) {
        uint64_t *p = &h->w[l][i >> 6];
        bool was_empty = *p == 0;
        *p |= 1ull << (i & 63);
        if (!was_empty)
            break;   /* the levels above already say so */
    }
}

static void hb_clear(hbits *h, size_t i)
{
    assert(i < h->nbits);
    for (unsigned l = 0; l < h->nlevels; l++, i >>= 6) {
        uint64_t *p = &h->w[l][i >> 6];
        *p &= ~(1ull << (i & 63));
        if (*p)
            break;   /* the word still has bits: the levels above stay */
    }
}

/* The first set bit at index >= from, or NONE. */
static size_t hb_next(const hbits *h, size_t from)
{
    if (from >= h->nbits)
        return NONE;
    unsigned l = 0;
    size_t i = from;
    for (;;) {   /* up: the first level whose word at i has a set bit >= i */
        size_t wi = i >> 6;
        if (wi >= h->nwords[l])
            return NONE;
        uint64_t m = h->w[l][wi] & (~0ull << (i & 63));
        if (m) {
            i = wi << 6 | (size_t)__builtin_ctzll(m);
            break;
        }
        if (++l == h->nlevels)
            return NONE;
        i = wi + 1;   /* the next word of the level below */
    }
    while (l-- > 0)  /* down: the lowest set bit of each word */
        i = i << 6 | (size_t)__builtin_ctzll(h->w[l][i]);
    return i;
}

/* Set bits [lo, hi) of level 0 word by word, then rebuild the summaries
 * (creation only). */
static void hb_fill(hbits *h, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi;) {
        if ((i & 63) == 0 && hi - i >= 64) {
            h->w[0][i >> 6] = ~0ull;
            i += 64;
        } else {
            h->w[0][i >> 6] |= 1ull << (i & 63);
            i++;
        }
    }
    for (unsigned l = 1; l < h->nlevels; l++) {
        memset(h->w[l], 0, h->nwords[l] * sizeof(uint64_t));
        for (size_t j = 0; j < h->nwords[l - 1]; j++)
            if (h->w[l - 1][j])
                h->w[l][j >> 6] |= 1ull << (j & 63);
    }
}

/* ---- the allocator --------------------------------------------------------- */

struct frames {
    frame_policy policy;
    uint64_t nframes;          /* all frames, reserved ones included */
    uint64_t base;             /* the first managed frame */
    uint16_t *ref;             /* nframes reference counts */
    uint64_t rng;              /* splitmix64 state */
    frames_counters ctr;

    /* sequential, shuffled */
    hbits freebits, full2m, full1g;
    uint16_t *free2m;          /* per 2 MiB region */
    uint32_t *free1g;          /* per 1 GiB region */

    /* buddy */
    hbits blocks[MAX_ORDER + 1];
    uint64_t nblocks[MAX_ORDER + 1];   /* free blocks per order */
};

static uint64_t rnd(frames *f)
{
    return mm_splitmix64(&f->rng);
}

/* frames_counters slot of an order, or -1 for an order not supported. */
static int order_slot(unsigned order)
{
    switch (order) {
    case 0: return 0;
    case FRAMES_ORDER_2M: return 1;
    case FRAMES_ORDER_1G: return 2;
    default: return -1;
    }
}

static bool managed(const frames *f, uint64_t pfn)
{
    return pfn >= f->base && pfn < f->nframes;
}

/* ---- sequential, shuffled -------------------------------------------------- */

static void flat_take(frames *f, uint64_t pfn)
{
    hb_clear(&f->freebits, pfn);
    if (f->free2m[pfn >> 9]-- == 1u << 9)
        hb_clear(&f->full2m, pfn >> 9);
    if (f->free1g[pfn >> 18]-- == 1u << 18)
        hb_clear(&f->full1g, pfn >> 18);
}

static void flat_give(frames *f, uint64_t pfn)
{
    hb_set(&f->freebits, pfn);
    if (++f->free2m[pfn >> 9] == 1u << 9)
        hb_set(&f->full2m, pfn >> 9);
    if (++f->free1g[pfn >> 18] == 1u << 18)
        hb_set(&f->full1g, pfn >> 18);
}

/* A random set bit of h with index >= lo (see the top of the file). */
static size_t hb_pick_random(const hbits *h, size_t lo, frames *f)
{
    size_t start = lo + (size_t)(rnd(f) % (h->nbits - lo));
    if (hb_test(h, start))
        return start;
    size_t x = hb_next(h, start);
    if (x == NONE)
        x = hb_next(h, lo);
    if (x == NONE)
        return NONE;
    uint64_t w = h->w[0][x >> 6];
    for (unsigned k = (unsigned)(rnd(f) % (uint64_t)__builtin_popcountll(w)); k > 0; k--)
        w &= w - 1;   /* drop the k lowest set bits */
    return (x & ~(size_t)63) | (size_t)__builtin_ctzll(w);
}

static uint64_t flat_alloc(frames *f, unsigned order)
{
    bool shuffled = f->policy == FRAMES_SHUFFLED;
    size_t x;
    if (order == 0) {
        x = shuffled ? hb_pick_random(&f->freebits, (size_t)f->base, f) : hb_next(&f->freebits, 0);
    } else {
        hbits *h = order == FRAMES_ORDER_2M ? &f->full2m : &f->full1g;
        x = shuffled ? hb_pick_random(h, 0, f) : hb_next(h, 0);
    }
    if (x == NONE)
        return FRAMES_NONE;
    uint64_t pfn = (uint64_t)x << order;
    for (uint64_t i = 0; i < 1ull << order; i++)
        flat_take(f, pfn + i);
    return pfn;
}

/* ---- buddy ------------------------------------------------------------------ */

static void block_add(frames *f, unsigned k, uint64_t pfn)
{
    hb_set(&f->blocks[k], (size_t)(pfn >> k));
    f->nblocks[k]++;
}

static void block_del(frames *f, unsigned k, uint64_t pfn)
{
    hb_clear(&f->blocks[k], (size_t)(pfn >> k));
    f->nblocks[k]--;
}

static uint64_t buddy_alloc(frames *f, unsigned order)
{
    unsigned k = order;
    while (k <= MAX_ORDER && f->nblocks[k] == 0)
        k++;
    if (k > MAX_ORDER)
        return FRAMES_NONE;
    uint64_t pfn = (uint64_t)hb_next(&f->blocks[k], 0) << k;
    block_del(f, k, pfn);
    while (k > order) {   /* split: keep the lower half, free the upper one */
        k--;
        block_add(f, k, pfn + (1ull << k));
    }
    return pfn;
}

static void buddy_free(frames *f, uint64_t pfn)
{
    unsigned k = 0;
    for (; k < MAX_ORDER; k++) {
        uint64_t buddy = pfn ^ (1ull << k);
        if (!hb_test(&f->blocks[k], (size_t)(buddy >> k)))
            break;
        block_del(f, k, buddy);
        pfn &= ~(1ull << k);
    }
    block_add(f, k, pfn);
}

/* The managed range as the largest naturally aligned blocks that fit. */
static void buddy_carve(frames *f)
{
    for (uint64_t pfn = f->base; pfn < f->nframes;) {
        unsigned k = pfn ? (unsigned)__builtin_ctzll(pfn) : MAX_ORDER;
        if (k > MAX_ORDER)
            k = MAX_ORDER;
        while (pfn + (1ull << k) > f->nframes)
            k--;
        block_add(f, k, pfn);
        pfn += 1ull << k;
    }
}

/* ---- the interface -------------------------------------------------------- */

/* Sizes: reserved_mib + 4 <= phys_mem_mib <= FRAMES_MAX_MIB (1 TiB), else NULL. */
frames *frames_create(frame_policy p, unsigned phys_mem_mib, unsigned reserved_mib, uint64_t seed)
{
    if ((unsigned)p >= FRAMES_POLICY_COUNT || phys_mem_mib > FRAMES_MAX_MIB ||
        (uint64_t)reserved_mib + 4 > phys_mem_mib)
        return NULL;
    frames *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->policy = p;
    f->nframes = (uint64_t)phys_mem_mib * FRAMES_PER_MIB;
    f->base = (uint64_t)reserved_mib * FRAMES_PER_MIB;
    f->rng = seed;
    f->ctr.total = f->ctr.free = f->nframes - f->base;
    f->ref = calloc((size_t)f->nframes, sizeof *f->ref);
    if (!f->ref)
        goto fail;

    if (p == FRAMES_BUDDY) {
        for (unsigned k = 0; k <= MAX_ORDER; k++)
            if (hb_init(&f->blocks[k], (size_t)(f->nframes >> k)))
                goto fail;
        buddy_carve(f);
        return f;
    }

    size_t n2m = (size_t)((f->nframes + 511) >> 9), n1g = (size_t)((f->nframes + (1u << 18) - 1) >> 18);
    f->free2m = calloc(n2m, sizeof *f->free2m);
    f->free1g = calloc(n1g, sizeof *f->free1g);
    if (!f->free2m || !f->free1g || hb_init(&f->freebits, (size_t)f->nframes) || hb_init(&f->full2m, n2m) ||
        hb_init(&f->full1g, n1g))
        goto fail;
    hb_fill(&f->freebits, (size_t)f->base, (size_t)f->nframes);
    /* free frames per region: the overlap of [base, nframes) with it */
    for (size_t r = 0; r < n2m; r++) {
        uint64_t lo = (uint64_t)r << 9, hi = lo + 512;
        lo = lo > f->base ? lo : f->base;
        hi = hi < f->nframes ? hi : f->nframes;
        f->free2m[r] = (uint16_t)(hi > lo ? hi - lo : 0);
        f->free1g[r >> 9] += f->free2m[r];
        if (f->free2m[r] == 512)
            hb_set(&f->full2m, r);
    }
    for (size_t g = 0; g < n1g; g++)
        if (f->free1g[g] == 1u << 18)
            hb_set(&f->full1g, g);
    return f;

fail:
    frames_free(f);
    return NULL;
}

void frames_free(frames *f)
{
    if (!f)
        return;
    free(f->ref);
    free(f->free2m);
    free(f->free1g);
    hb_free(&f->freebits);
    hb_free(&f->full2m);
    hb_free(&f->full1g);
    for (unsigned k = 0; k <= MAX_ORDER; k++)
        hb_free(&f->blocks[k]);
    free(f);
}

/* An unsupported order returns FRAMES_NONE and is not counted. */
uint64_t frames_alloc(frames *f, unsigned order)
{
    int slot = order_slot(order);
    if (slot < 0)
        return FRAMES_NONE;
    uint64_t pfn = f->policy == FRAMES_BUDDY ? buddy_alloc(f, order) : flat_alloc(f, order);
    if (pfn == FRAMES_NONE) {
        f->ctr.failures[slot]++;
        return FRAMES_NONE;
    }
    uint64_t n = 1ull << order;
    for (uint64_t i = 0; i < n; i++) {
        assert(f->ref[pfn + i] == 0);
        f->ref[pfn + i] = 1;
    }
    f->ctr.free -= n;
    f->ctr.allocs[slot]++;
    return pfn << FRAME_SHIFT;
}

/* Counts saturate at 65535: a frame that reaches it is pinned for good --
 * gets and puts leave the count there and the frame is never freed.
 * Leaking a frame only costs the model memory; freeing a frame still in use
 * would corrupt it (Linux's refcount_t saturates for the same reason).
 * A pa outside the managed frames, or a put/get of a free frame (a caller
 * bug, asserted), changes nothing and returns 0. */
unsigned frames_put(frames *f, uint64_t pa)
{
    uint64_t pfn = pa >> FRAME_SHIFT;
    if (!managed(f, pfn))
        return 0;
    unsigned c = f->ref[pfn];
    assert(c > 0 && "frames_put of a free frame");
    if (c == 0 || c == REF_MAX)
        return c;
    f->ref[pfn] = (uint16_t)--c;
    if (c == 0) {
        if (f->policy == FRAMES_BUDDY)
            buddy_free(f, pfn);
        else
            flat_give(f, pfn);
        f->ctr.free++;
        f->ctr.frees++;
    }
    return c;
}

unsigned frames_get(frames *f, uint64_t pa)
{
    uint64_t pfn = pa >> FRAME_SHIFT;
    if (!managed(f, pfn))
        return 0;
    unsigned c = f->ref[pfn];
    assert(c > 0 && "frames_get of a free frame");
    if (c == 0 || c == REF_MAX)
        return c;
    f->ref[pfn] = (uint16_t)++c;
    return c;
}

unsigned frames_refcount(const frames *f, uint64_t pa)
{
    uint64_t pfn = pa >> FRAME_SHIFT;
    return managed(f, pfn) ? f->ref[pfn] : 0;
}

bool frames_can_alloc(const frames *f, unsigned order)
{
    int slot = order_slot(order);
    if (slot < 0)
        return false;
    if (f->policy == FRAMES_BUDDY) {
        for (unsigned k = order; k <= MAX_ORDER; k++)
            if (f->nblocks[k])
                return true;
        return false;
    }
    if (order == 0)
        return f->ctr.free > 0;
    return hb_next(order == FRAMES_ORDER_2M ? &f->full2m : &f->full1g, 0) != NONE;
}

const frames_counters *frames_get_counters(const frames *f)
{
    return &f->ctr;
}

void frames_reset_stats(frames *f)
{
    f->ctr = (frames_counters){.total = f->ctr.total, .free = f->ctr.free};
}
