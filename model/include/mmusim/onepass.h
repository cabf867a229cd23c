/* onepass.h -- exact one-pass simulation of many L1 TLB geometries.
 *
 * Configurations that differ only in the sets and ways of their L1 TLB
 * arrays are replayed once, on one of them, with a tap on its MMUs
 * (mmu_tap, mmu.h); the tap's stream of L1 events drives one LRU stack
 * model that gives, for every requested (sets, ways) of every array, the
 * L1 misses and evictions exactly -- the numbers a direct replay of each
 * configuration reports, counter for counter (tests/test_onepass.c).
 *
 * The algorithm.  For LRU, the content of a W-way set is the W most
 * recently used translations of that set (Mattson et al., "Evaluation
 * techniques for storage hierarchies", IBM Systems Journal 1970), so one
 * recency stack per set gives every associativity at once: a lookup at
 * depth d (1 = most recent) hits every set of at least d ways.  Each
 * power-of-two set count S has its own stacks (set = VPN mod S), so each
 * requested set count costs one stack update per lookup -- the
 * all-associativity simulation of Hill and Smith ("Evaluating
 * associativity in CPU caches", IEEE ToC 1989).  Stacks are cut at the
 * largest way count requested for the array: deeper is a miss for all.
 *
 * Invalidations (a fault that drops an unusable entry, CR3 writes, INVLPG,
 * INVPCID, shootdowns) leave holes: the entry's slot is emptied and
 * nothing moves, so a cache of W ways keeps "the first W slots, holes
 * included" (a W-way set with an invalid way).  A lookup that moves an
 * entry to the top pushes the slots above it down only as far as the
 * first hole, which it fills: exactly as a W-way set fills an invalid way
 * instead of evicting, for every W at once.  A fill evicts in a W-way set
 * iff it misses (depth > W) and the first W slots hold no hole.  A fill
 * lands when its CPU next accesses or serializes: the last fill of a
 * replay never does, so its evictions are taken back (mmu_tap.end).
 *
 * Cost.  One stack update per requested set count per reported lookup:
 * the MMU does not report the lookups its last-hit memo answers (depth 1
 * everywhere), and a lookup at depth 1 of the coarsest set count is at
 * depth 1 of every finer one (its sets split the coarse set), so it costs
 * one compare.  The replayed configuration is the one with the most L1
 * entries, which replays fastest.  bench_sweep prints the cost of 16
 * geometries against one replay.
 *
 * Exactness conditions.  The replayed configuration's stream of L1 events
 * must be that of every configuration.  It is when (checked by
 * onepass_applies):
 *  1. the configurations are equal except for {itlb,dtlb}.{4k,2m,1g}.sets
 *     and .ways (not replacement, holds or latency), differ in some of
 *     them, and an array is present (ways > 0) in all of them or in none;
 *  2. frontend.max_outstanding is 1 (a blocking core): accesses translate
 *     one at a time in program order and each fill lands before the next
 *     lookup, so the sequence of lookups, and of faults and their retries,
 *     is fixed by the trace and the page tables, not by the TLBs;
 *  3. stlb.inclusive is false: an inclusive STLB's back-invalidations
 *     depend on what the L1s missed;
 *  4. every array of an L1 whose geometry differs uses LRU;
 * and, checked during the pass (else the pass is not exact and the caller
 * replays directly):
 *  5. no page was reclaimed (os.reclaims = 0): reclaim reads the A bits,
 *     which only walks set, so with reclaim the OS's choices (and the
 *     faults that follow) would depend on the TLBs;
 *  6. every event fits the model: no merged walk, and an access leaves in
 *     the L1 the very translation its lookup found (no entry replaced by
 *     one of another size or globalness without an invalidation between).
 * The OS model invalidates as Linux does (a changed or removed mapping is
 * flushed before it is used again), so a cached entry is never more
 * permissive than the page table and every configuration takes the same
 * faults; the counter-for-counter tests check this on bundled traces with
 * context switches (PCID and not), fork/COW, munmap and THP.
 *
 * What a one-pass row holds (onepass_counters): every counter of the
 * direct run that is exact for each configuration -- the L1 misses and
 * evictions the stacks give for it, and the counters no L1 geometry can
 * change (lookups, faults, flush events, the OS's counters, instructions).
 * Counters that depend on the L1 misses (cycles, STLB, walks, page-walk
 * caches, stall cycles) are left out, not estimated:
 *   computed:  dTLB-load-misses, dTLB-store-misses, dtlb.hits, dtlb.misses,
 *              dtlb.evictions; iTLB-load-misses, itlb.hits, itlb.misses,
 *              itlb.evictions
 *   copied:    translations, dTLB-loads, dTLB-stores, iTLB-loads,
 *              page-faults, walker.faults, faults.*, flush.cr3,
 *              flush.cr3_noflush, flush.invlpg, flush.invpcid_*,
 *              flush.full, flush.asid_recycles, instructions, minor-faults,
 *              major-faults, rss.*, pagetable.*, thp.*, os.*, frames.*
 *   left out:  everything else (cycles, dtlb_load_misses.*,
 *              dtlb_store_misses.*, itlb_misses.*, stlb.*, tlb.*,
 *              walker.* but walker.faults, pwc.*, flush.tlb_entries,
 *              flush.pwc_entries, translation.stall_cycles). */
#ifndef MMUSIM_ONEPASS_H
#define MMUSIM_ONEPASS_H

#include "mmusim/cfg.h"
#include "mmusim/mmu.h"
#include "mmusim/replay.h"
#include "mmusim/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onepass onepass;

/* Conditions 1-4 above for cfgs[0..k), k >= 2.  False with the first
 * unmet condition in why (may be NULL). */
bool onepass_applies(const mm_config *cfgs, size_t k, char *why, size_t whylen);

/* The stacks for cfgs[0..k) (as for onepass_replay), for
 * cfgs[0].cpu.cpus CPUs; NULL out of memory.  An L1 whose geometry is the
 * same in all of them is not simulated: its counters are copied. */
onepass *onepass_create(const mm_config *cfgs, size_t k);
void onepass_free(onepass *op);

/* A tap feeding op, to install on every MMU of a machine built from any
 * of the cfgs (replay_opts.tap); valid while op lives. */
const mmu_tap *onepass_tap(onepass *op);

/* False once an event fell outside the model (condition 6). */
bool onepass_exact(const onepass *op);

/* Configuration i's row: from `tapped`, the counters of the tapped
 * replay, the copied counters as they are and the computed ones replaced,
 * in the same order; the others left out (see above).  False (out
 * untouched) if the pass was not exact or pages were reclaimed. */
bool onepass_counters(const onepass *op, size_t i, const stats *tapped, stats *out);

/* Replay o->traces once for cfgs[0..k), k >= 1, some of a set of
 * configurations onepass_applies accepts (a resumed sweep's remaining
 * points): like replay_run_multi, out[i] gets configuration i's counters
 * (the row above) and status[i] how it ended.  *exact false means the
 * pass could not be exact (conditions 5-6): out[] are all NULL, and the
 * caller replays directly.  o->tap must be NULL (this sets its own). */
replay_status onepass_replay(const mm_config *cfgs, size_t k, const replay_opts *o, stats **out,
                             replay_status *status, bool *exact, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
