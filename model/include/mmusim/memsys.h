/* memsys.h -- the memory model that serves the walker's page-table reads.
 *
 * Two models:
 *  - MEMSYS_FIXED: every page-table read costs `fixed_latency` cycles.
 *  - MEMSYS_CACHES: up to MEMSYS_MAX_CACHES set-associative caches of
 *    page-table lines (line_bytes each), looked up in order (think L1d, L2,
 *    LLC); a read costs the latency of the first level that holds the line,
 *    or dram_latency when none does.  The line is then filled into every
 *    level above the one that served it (non-inclusive, fill on miss).
 *    Latencies are total load-to-use cycles of that level, not increments.
 *
 * A locked read-modify-write (the walker's A/D update) costs
 * `rmw_latency` cycles on top of making the line present, i.e. the line is
 * read as above (its latency is charged) and then rmw_latency is added.
 *
 * Reads are served in the order they are asked; the model holds no notion
 * of time besides the latencies it returns (the walker sums them). */
#ifndef MMUSIM_MEMSYS_H
#define MMUSIM_MEMSYS_H

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

typedef struct memsys_cache_cfg {
    const char *name;   /* "l1d", "l2", "llc": used in counter names */
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

/* Drop every cached line (e.g. between experiments). */
void memsys_flush(memsys *ms);

#ifdef __cplusplus
}
#endif

#endif
