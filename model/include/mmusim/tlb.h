/* tlb.h -- one level of translation lookaside buffer.
 *
 * A TLB level is one to MM_PS_COUNT set-associative arrays probed in
 * parallel; each array holds one or several page sizes (its `holds` bit set of
 * MM_PS_BIT(ps)).  An array holding several sizes is probed once per size,
 * indexing with the VPN of that size (vpn = va >> shift; set = vpn % sets),
 * as real shared 4K/2M arrays do.  Fully associative = one set.
 *
 * Entries are tagged by VPN, page shift and PCID; a global entry matches any
 * PCID.  An entry caches what hardware caches: the frame, the effective
 * permissions (AND of R/W and U/S, OR of XD along the walk), the dirty bit of
 * the leaf and the global bit.  A store that hits an entry with TLB_D clear
 * must re-walk to set D (the caller decides; the TLB only reports it).
 *
 * Replacement is repl.h's (LRU, tree-PLRU, FIFO, random, SRRIP), one repl
 * state per array; invalid ways are filled first, lowest way first.
 *
 * Lookup cost: for each array, for each size it holds, one set of `ways`
 * 64-bit compares.  No allocation after tlb_create. */
#ifndef MMUSIM_TLB_H
#define MMUSIM_TLB_H

#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Permission/state bits cached in an entry. */
#define TLB_W 0x01u  /* writable: R/W=1 at every level */
#define TLB_U 0x02u  /* user: U/S=1 at every level */
#define TLB_X 0x04u  /* executable: XD=0 at every level */
#define TLB_D 0x08u  /* leaf dirty bit is set */
#define TLB_G 0x10u  /* global */

typedef struct tlb_entry {
    uint64_t vpn;   /* va >> shift */
    uint64_t pfn;   /* pa >> shift (frame of the page's own size) */
    uint16_t pcid;  /* 0..4095 */
    uint8_t shift;  /* 12, 21, 22 or 30 */
    uint8_t perm;   /* TLB_* bits */
} tlb_entry;

typedef struct tlb_array_cfg {
    unsigned sets;     /* power of two, >= 1 */
    unsigned ways;     /* >= 1; an array with ways == 0 is absent */
    repl_policy repl;
    unsigned holds;    /* MM_PS_BIT set of page sizes it holds; nonzero */
} tlb_array_cfg;

typedef struct tlb_cfg {
    const char *name;          /* for messages, e.g. "dtlb" */
    unsigned narrays;          /* 1..MM_PS_COUNT */
    tlb_array_cfg array[MM_PS_COUNT];
    unsigned large_shift;      /* shift used for MM_PS_2M: 21, or 22 in x86-32 mode */
    uint64_t seed;             /* for REPL_RANDOM */
} tlb_cfg;

typedef struct tlb tlb;

/* Create; the config is copied.  Returns NULL if the config is invalid
 * (sets not a power of two, no ways, a size held by two arrays): callers
 * validate first with tlb_cfg_check, which writes a reason. */
tlb *tlb_create(const tlb_cfg *cfg, char *err, size_t errlen);
void tlb_free(tlb *t);

/* NULL if valid, else a static string saying what is wrong. */
const char *tlb_cfg_check(const tlb_cfg *cfg);

/* Look up va for pcid.  On a hit, updates the replacement state of that set
 * and returns the entry (valid until the next insert or flush); NULL on miss.
 * When several arrays could hit (they cannot in a consistent hierarchy),
 * the first array in config order wins. */
const tlb_entry *tlb_lookup(tlb *t, uint64_t va, uint16_t pcid);

/* Same as tlb_lookup without touching replacement state (for inspection). */
const tlb_entry *tlb_probe(const tlb *t, uint64_t va, uint16_t pcid);

/* True when the TLB has an array holding pages of size index ps. */
bool tlb_holds(const tlb *t, int ps);

/* Insert an entry into the array that holds its size.  If an entry with the
 * same vpn/shift/pcid (or a global one for the same vpn/shift) is already
 * there it is overwritten in place (its replacement state updated as a hit).
 * Otherwise a victim is chosen; when a valid entry is evicted it is copied to
 * *victim (if non-NULL) and true is returned.  Inserting a size the TLB does
 * not hold is a no-op returning false. */
bool tlb_insert(tlb *t, const tlb_entry *e, tlb_entry *victim);

/* Invalidation.  Each returns the number of valid entries removed. */
unsigned tlb_flush_all(tlb *t);                       /* every entry */
unsigned tlb_flush_nonglobal(tlb *t);                 /* non-global entries of every PCID */
unsigned tlb_flush_pcid(tlb *t, uint16_t pcid);       /* non-global entries of one PCID */
/* Entries whose page contains va: of PCID pcid, and also global entries when
 * include_global is true (INVLPG: true; INVPCID type 0: false). */
unsigned tlb_flush_va(tlb *t, uint64_t va, uint16_t pcid, bool include_global);
/* Remove one exact entry (vpn, shift, pcid or global); for inclusive
 * hierarchies back-invalidating an evicted entry.  Returns 1 if removed. */
unsigned tlb_remove(tlb *t, const tlb_entry *e);

/* Valid entries now held (all arrays). */
unsigned tlb_occupancy(const tlb *t);

/* Visit every valid entry (array order, set order, way order). */
void tlb_foreach(const tlb *t, void (*fn)(const tlb_entry *e, void *ctx), void *ctx);

#ifdef __cplusplus
}
#endif

#endif
