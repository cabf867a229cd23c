/* pwc.h -- page-walk caches, in the taxonomy of Barr, Cox & Rixner,
 * "Translation Caching: Skip, Don't Walk (the Page Table)", ISCA 2010.
 *
 * Designs:
 *  - PWC_NONE: no caching; every walk reads every level.
 *  - PWC_SPLIT: a split translation cache (Intel's paging-structure caches):
 *    one cache per non-leaf level L (2..levels) holding level-L entries,
 *    tagged by PCID and the VA prefix that selects the entry, i.e. va bits
 *    [va_bits-1 : shift[L]].  Each level has its own sets/ways.
 *  - PWC_UNIFIED: a unified translation cache: one array holding entries of
 *    every non-leaf level, tagged by (level, PCID, VA prefix of that level).
 *    The set index is taken from the low bits of the prefix.
 *  - PWC_PTE: a page-table-entry cache (Barr's UPTC, like AMD's page
 *    directory cache generalised): one array tagged by the physical address
 *    of a non-leaf entry.  It skips no level: the walker probes it at each
 *    step, and a hit saves that step's memory access.
 *
 * Only present, non-leaf entries without reserved bits are cached.  Cached
 * translation entries carry the cumulative permissions of the path down to
 * and including them (TLB_W | TLB_U | TLB_X) and the entry value itself, so a
 * walk that skips levels still computes permissions exactly.
 *
 * A walk starts at the deepest hit: pwc_lookup returns the lowest level L
 * whose entry for va is cached; the walker then reads level L-1's entry from
 * the table the cached entry points at.
 *
 * Global bit: non-leaf entries have none, so every translation-cache entry is
 * flushed by a flush of its PCID; a CR3 write without PCID flushes them all. */
#ifndef MMUSIM_PWC_H
#define MMUSIM_PWC_H

#include "mmusim/paging.h"
#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pwc_design {
    PWC_NONE = 0,
    PWC_SPLIT,
    PWC_UNIFIED,
    PWC_PTE,
    PWC_DESIGN_COUNT
} pwc_design;

const char *pwc_design_name(pwc_design d);       /* "none", "split", "unified", "pte" */
int pwc_design_by_name(const char *name);        /* -1 if unknown */

typedef struct pwc_array_cfg {
    unsigned sets;   /* power of two >= 1 */
    unsigned ways;   /* 0 = this cache absent */
    repl_policy repl;
} pwc_array_cfg;

typedef struct pwc_cfg {
    pwc_design design;
    unsigned latency;                             /* cycles for one lookup (all arrays probed in parallel) */
    pwc_array_cfg level[PAGING_MAX_LEVELS + 1];   /* PWC_SPLIT: per level 2..5 */
    pwc_array_cfg unified;                        /* PWC_UNIFIED and PWC_PTE use this */
    uint64_t seed;
} pwc_cfg;

typedef struct pwc pwc;

/* A cached translation entry. */
typedef struct pwc_hit {
    unsigned level;   /* level of the cached entry (2..levels); 0 = miss */
    uint64_t entry;   /* the entry's value: points at level-1's table */
    unsigned perm;    /* cumulative TLB_W|TLB_U|TLB_X down to this entry */
} pwc_hit;

/* NULL if valid, else a static string saying what is wrong. */
const char *pwc_cfg_check(const pwc_cfg *cfg, const paging_mode *m);
pwc *pwc_create(const pwc_cfg *cfg, const paging_mode *m, char *err, size_t errlen);
void pwc_free(pwc *c);
pwc_design pwc_get_design(const pwc *c);

/* Translation caches (SPLIT, UNIFIED): the deepest cached entry for va.
 * Updates replacement state of the hit entry only.  For NONE and PTE returns
 * a miss (level 0). */
pwc_hit pwc_lookup(pwc *c, uint64_t va, uint16_t pcid);

/* Translation caches: cache the level-`level` entry for va. */
void pwc_fill(pwc *c, uint64_t va, uint16_t pcid, unsigned level, uint64_t entry, unsigned perm);

/* PTE cache (PTE design only; false otherwise): is the entry at entry_pa
 * cached?  A hit updates replacement state. */
bool pwc_pte_lookup(pwc *c, uint64_t entry_pa);
void pwc_pte_fill(pwc *c, uint64_t entry_pa);

/* Invalidation.  Return the number of entries removed. */
unsigned pwc_flush_all(pwc *c);
unsigned pwc_flush_pcid(pwc *c, uint16_t pcid);
/* Every translation-cache entry of pcid whose VA prefix covers va (the
 * entries a walk of va could use); for the PTE design, the entries whose
 * physical addresses are given (the walker supplies the entry addresses of
 * va's path) -- see pwc_flush_pte_addrs. */
unsigned pwc_flush_va(pwc *c, uint64_t va, uint16_t pcid);
unsigned pwc_flush_pte_addrs(pwc *c, const uint64_t *entry_pa, unsigned n);

/* Valid entries at `level` (SPLIT/UNIFIED: by entry level; PTE: level 0 =
 * all).  For tests and the cross-check of cache contents. */
unsigned pwc_occupancy(const pwc *c, unsigned level);

/* Visit every valid translation entry (level, pcid, va prefix shifted back
 * to an address, i.e. prefix << shift[level]) in array/set/way order. */
void pwc_foreach(const pwc *c,
                 void (*fn)(unsigned level, uint16_t pcid, uint64_t va_base, uint64_t entry, void *ctx),
                 void *ctx);

#ifdef __cplusplus
}
#endif

#endif
