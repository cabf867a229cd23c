/* frames.h -- the OS model's physical frame allocator.
 *
 * Manages the 4 KiB frames of a physical memory of `phys_mem_mib` MiB:
 * allocation of single frames and of naturally aligned 2 MiB (order-9) and
 * 1 GiB (order-18) blocks, a reference count per frame (page-cache and
 * copy-on-write sharing), and the policies:
 *   - FRAMES_SEQUENTIAL: the lowest free frame (or aligned block) first;
 *   - FRAMES_SHUFFLED: a seeded random free frame, as Linux's
 *     page_alloc.shuffle randomises the free lists;
 *   - FRAMES_BUDDY: a binary buddy allocator (orders 0..18) with free lists
 *     per order; a free block is split on demand and buddies merge when both
 *     are free, so fragmentation decides whether a 2 MiB block exists.
 * Frames 0..reserved-1 (the first `reserved_mib` MiB) are never handed out:
 * they stand for the kernel image and firmware.
 *
 * Exhaustion is the caller's business: an allocation returns FRAMES_NONE
 * and the OS model stops or reclaims (os.h).  Memory use: one 16-bit count
 * per frame plus the policy's free structures (a 16 GiB machine: ~8 MiB +
 * ~1 MiB of bitmaps). */
#ifndef MMUSIM_FRAMES_H
#define MMUSIM_FRAMES_H

#include "mmusim/cfg.h"
#include "mmusim/types.h"

#define FRAMES_NONE UINT64_MAX
#define FRAMES_ORDER_2M 9
#define FRAMES_ORDER_1G 18

typedef struct frames frames;

typedef struct frames_counters {
    uint64_t total;          /* frames managed (excluding the reserved ones) */
    uint64_t free;           /* frames free now */
    uint64_t allocs[3];      /* successful allocations of order 0, 9, 18 */
    uint64_t failures[3];    /* failed allocations of order 0, 9, 18 */
    uint64_t frees;          /* frames returned (a block of 2^k frames counts 2^k) */
} frames_counters;

/* phys_mem_mib >= reserved_mib + 4.  NULL on bad sizes or no host memory. */
frames *frames_create(frame_policy p, unsigned phys_mem_mib, unsigned reserved_mib, uint64_t seed);
void frames_free(frames *f);

/* Allocate a naturally aligned block of 2^order frames (order 0, 9 or 18);
 * returns its physical address, or FRAMES_NONE.  Every frame of the block
 * gets reference count 1.  The frames' contents are not touched (the
 * caller zeroes what it uses in the physical memory image). */
uint64_t frames_alloc(frames *f, unsigned order);

/* Drop one reference of the frame at pa; when the count reaches 0 the
 * frame is free again (and, for the buddy policy, merges with its buddy).
 * Returns the count left.  A block allocated with order k is released
 * frame by frame, 2^k calls. */
unsigned frames_put(frames *f, uint64_t pa);
/* Take another reference (page cache, fork). Returns the new count. */
unsigned frames_get(frames *f, uint64_t pa);
unsigned frames_refcount(const frames *f, uint64_t pa);

/* True when a free, naturally aligned block of 2^order frames exists. */
bool frames_can_alloc(const frames *f, unsigned order);

const frames_counters *frames_get_counters(const frames *f);
/* Zero the event counters (allocs, failures, frees); total and free are
 * gauges of the allocator's state and stay. */
void frames_reset_stats(frames *f);

#endif
