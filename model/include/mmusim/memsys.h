/* memsys.h -- the memory model: the walker's page-table reads and, with
 * scope `all`, every data access and instruction fetch after translation.
 *
 * Two models:
 *  - MEMSYS_FIXED: every page-table read costs `fixed_latency` cycles.
 *  - MEMSYS_CACHES: up to MEMSYS_MAX_CACHES set-associative caches of
 *    lines (line_bytes each), looked up in order (think L1d, L2, LLC; see
 *    Scope for what they hold); a read costs the latency of the first level that holds the line,
 *    or dram_latency when none does.  The line is then filled into every
 *    level above the one that served it (non-inclusive, fill on miss).
 *    Latencies are total load-to-use cycles of that level, not increments.
 *
 * A locked read-modify-write (the walker's A/D update) costs
 * `rmw_latency` cycles on top of making the line present, i.e. the line is
 * read as above (its latency is charged) and then rmw_latency is added.
 *
 * Reads are served in the order they are asked; the model holds no notion
 * of time besides the latencies it returns (the walker sums them).
 *
 * Scope (MEMSYS_CACHES only; the fixed model serves page-table reads and
 * nothing else, whatever the scope).  MEMSYS_SCOPE_PAGETABLES: the caches hold
 * page-table lines only (studies of translation alone).  MEMSYS_SCOPE_ALL:
 * loads and stores go through the same l1d/l2/llc by physical address
 * (memsys_data), so page-table lines and program data evict each other;
 * instruction fetches go through their own L1i, then the same l2/llc.
 * Write policy: write-allocate (a store that misses fills the line into
 * every level above the one that served it, as a load does); write-back
 * with no write-back traffic modelled (no dirty bit: an eviction costs
 * nothing).  An access touches the line of its first byte only.
 *
 * One hierarchy serves every CPU of a machine (as the page-table-line
 * caches always have): with several CPUs their L1s and L2 are one shared
 * structure, a simplification of private per-core levels.
 *
 * Counters (memsys_counters): per level, hits and misses of data accesses
 * and of page-table reads separately.  A level counts only the accesses
 * that reach it (the levels above missed); a line still on its way (hit
 * under miss) counts as a hit. */
#ifndef MMUSIM_MEMSYS_H
#define MMUSIM_MEMSYS_H

#include "mmusim/stats.h"
#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MEMSYS_MAX_CACHES 3

typedef enum memsys_model {
    MEMSYS_FIXED = 0,
    MEMSYS_CACHES = 1,
} memsys_model;

const char *memsys_model_name(memsys_model m);   /* "fixed", "caches" */
int memsys_model_by_name(const char *name);      /* -1 if unknown */

/* What the caches hold (MEMSYS_CACHES). */
typedef enum memsys_scope {
    MEMSYS_SCOPE_PAGETABLES = 0,   /* page-table lines only */
    MEMSYS_SCOPE_ALL = 1,          /* page-table lines, program data, code (l1i) */
} memsys_scope;

const char *memsys_scope_name(memsys_scope s);   /* "pagetables", "all" */
int memsys_scope_by_name(const char *name);      /* -1 if unknown */

typedef struct memsys_cache_cfg {
    const char *name;   /* "l1d", "l2", "llc", "l1i": used in counter names */
    unsigned sets;      /* power of two >= 1 */
    unsigned ways;      /* 0 = level absent */
    unsigned latency;   /* cycles */
    repl_policy repl;
} memsys_cache_cfg;

typedef struct memsys_cfg {
    memsys_model model;
    unsigned fixed_latency;      /* MEMSYS_FIXED: cycles per read */
    unsigned line_bytes;         /* power of two, 8..4096 */
    unsigned ncaches;            /* 0..MEMSYS_MAX_CACHES */
    memsys_cache_cfg cache[MEMSYS_MAX_CACHES];
    memsys_scope scope;          /* MEMSYS_CACHES: what the caches hold */
    memsys_cache_cfg l1i;        /* SCOPE_ALL: instruction fetches (ways 0 = none: l2 first) */
    unsigned dram_latency;       /* cycles */
    unsigned rmw_latency;        /* extra cycles of a locked RMW */
    uint64_t seed;
} memsys_cfg;

typedef struct memsys memsys;

const char *memsys_cfg_check(const memsys_cfg *cfg);   /* NULL if valid */
memsys *memsys_create(const memsys_cfg *cfg, char *err, size_t errlen);
void memsys_free(memsys *ms);

/* Where a read was served: 0..ncaches-1 = that cache, ncaches = DRAM (or
 * the fixed-latency memory).  memsys_source_name gives "l1d", ..., "dram". */
typedef unsigned memsys_source;
const char *memsys_source_name(const memsys *ms, memsys_source s);
unsigned memsys_nsources(const memsys *ms);

/* Read the line holding pa, issued at cycle `now`; returns the latency in
 * cycles and where it was served via *src (if non-NULL).
 *
 * Each cached line remembers the cycle it arrives.  Reads are asked for in
 * the order the walker computes its walks, which is not always time order
 * (two walks overlap): a read at `now` of a line that arrives later waits
 * for it (hit under miss), but never longer than dram_latency -- its own
 * miss would have fetched the line by then. */
unsigned memsys_read(memsys *ms, uint64_t pa, mm_cycle now, memsys_source *src);
/* Locked read-modify-write of the line holding pa (A/D update): returns
 * the latency (the read's latency + rmw_latency). */
unsigned memsys_rmw(memsys *ms, uint64_t pa, mm_cycle now, memsys_source *src);

/* True when memsys_data models the access (MEMSYS_CACHES, scope all);
 * otherwise it costs nothing and nobody needs to call it. */
bool memsys_has_data(const memsys *ms);

/* A program access after translation: a load or store of the line holding
 * pa through l1d, l2, llc, or an instruction fetch through l1i, l2, llc,
 * issued at `now` (the cycle its translation completed).  Returns its
 * latency in cycles (same rules as memsys_read: the first level holding
 * the line, fills above it, hit under miss).  Cost of the common case, an
 * access to the same line as the previous lookup of that L1: one compare
 * and a counter (a memo of each L1's last hit, exact because touching the
 * most recently touched entry again changes no policy's victim order --
 * see mmu.c's l1_memo for the same argument). */
unsigned memsys_data(memsys *ms, uint64_t pa, mm_kind kind, mm_cycle now);

/* The L1 hit latency of a data access of `kind` (l1d, or l1i for fetches;
 * 0 when memsys_has_data is false): what the core model counts as no
 * stall. */
unsigned memsys_l1_latency(const memsys *ms, mm_kind kind);

/* Counters by level: [0] l1i, [1] l1d, [2] l2, [3] llc (MEMSYS_LEVEL_*). */
enum { MEMSYS_LEVEL_L1I = 0, MEMSYS_LEVEL_L1D, MEMSYS_LEVEL_L2, MEMSYS_LEVEL_LLC, MEMSYS_LEVELS };
typedef struct memsys_level_counters {
    uint64_t data_hits, data_misses;   /* loads, stores, fetches (memsys_data) */
    uint64_t pt_hits, pt_misses;       /* page-table reads and RMWs (memsys_read/_rmw) */
} memsys_level_counters;
typedef struct memsys_counters {
    memsys_level_counters level[MEMSYS_LEVELS];
} memsys_counters;
const memsys_counters *memsys_get_counters(const memsys *ms);
/* Zero the counters; cached lines and replacement state stay (warm-up). */
void memsys_reset_stats(memsys *ms);
/* Export memsys.<level>.{data,pt}.{hits,misses} for the present levels
 * (data and l1i only with scope all; nothing for the fixed model). */
void memsys_export_stats(const memsys *ms, stats *s);

/* Drop every cached line (e.g. between experiments). */
void memsys_flush(memsys *ms);

#ifdef __cplusplus
}
#endif

#endif
