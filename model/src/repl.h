/* repl.h -- replacement state of a set-associative structure.
 *
 * Shared by the TLBs, the page-walk caches and the page-table-line caches, so
 * every structure replaces the same, documented way.  The owner keeps the
 * valid bits and fills invalid ways first (lowest way first); this module only
 * orders the valid ways of each set.
 *
 * Policies:
 *  - LRU: per-way 64-bit use stamps; victim = smallest stamp.
 *  - tree-PLRU: ways-1 node bits per set (ways rounded up to a power of two,
 *    nodes in heap order, node 0 the root).  A bit of 0 means "the victim is
 *    on the left (lower ways)"; touching a way points every node on its path
 *    away from it.  Victim: follow the bits from the root; if the leaf reached
 *    is beyond `ways` (non-power-of-two ways), take the highest real way.
 *  - FIFO: per-way fill stamps; hits do not update; victim = oldest fill.
 *  - random: xorshift64* seeded per structure; victim = rand % ways.
 *  - SRRIP (Jaleel et al., ISCA 2010), 2-bit RRPV: fill at 2, hit sets 0;
 *    victim = lowest way with RRPV 3, ageing every way by one until one exists.
 * Ties in LRU/FIFO (equal stamps cannot happen: stamps are unique) -- n/a. */
#ifndef MMUSIM_REPL_H
#define MMUSIM_REPL_H

#include "mmusim/types.h"   /* repl_policy, repl_name, repl_by_name */

typedef struct repl repl;

repl *repl_create(repl_policy p, unsigned sets, unsigned ways, uint64_t seed);
void repl_free(repl *r);
repl_policy repl_get_policy(const repl *r);

/* A hit on (set, way). */
void repl_touch(repl *r, unsigned set, unsigned way);
/* (set, way) was just filled with a new entry. */
void repl_fill(repl *r, unsigned set, unsigned way);
/* The way to evict from a full set. */
unsigned repl_victim(repl *r, unsigned set);

#endif
