/* walker.h -- the page-walk unit: one walk loop for every paging mode, a pool
 * of `walkers` concurrent walkers with a FIFO request queue, walk merging,
 * hardware A/D updates, permission checks and page-fault error codes.
 *
 * Timing follows the cycle contract in model/README.md ("Walk timing"):
 * a request made at cycle R is served, in request order, by the walker that
 * frees up first, starting at S = max(R, that walker's free cycle); the walk
 * then costs the page-walk-cache lookup latency, each entry read's memory
 * latency, and each locked A/D read-modify-write's latency, in that order,
 * and ends at cycle E.  Page-walk-cache fills made by a walk become visible
 * to walks starting at or after E.
 *
 * Memory is reached through a small struct of callbacks (walker_mem), so the
 * same walker runs on the memsys model inside mmusim and on the seeded
 * latency schedule of the RTL cross-check harness. */
#ifndef MMUSIM_WALKER_H
#define MMUSIM_WALKER_H

#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/pwc.h"
#include "mmusim/tlb.h"
#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x86 page-fault error code bits (Intel SDM vol. 3A, 4.7). */
#define PF_P (1u << 0)     /* 0: not present; 1: protection or reserved-bit violation */
#define PF_WR (1u << 1)    /* the access was a write */
#define PF_US (1u << 2)    /* the access was a user-mode access */
#define PF_RSVD (1u << 3)  /* a reserved bit was set in some entry */
#define PF_ID (1u << 4)    /* the access was an instruction fetch */
#define PF_EC_COUNT 32     /* error codes counted: 0..31 */

/* Control-register state a walk depends on. */
typedef struct walk_regs {
    uint64_t root;     /* physical address of the top table (CR3's base) */
    uint16_t pcid;     /* CR3[11:0] when PCID is on, else 0 */
    bool wp;           /* CR0.WP */
    bool smep;         /* CR4.SMEP */
    bool smap;         /* CR4.SMAP */
    bool ac;           /* EFLAGS.AC (SMAP override for explicit supervisor accesses) */
} walk_regs;

typedef struct walk_req {
    uint64_t va;
    mm_kind kind;
    mm_priv priv;
} walk_req;

/* True when an access of `kind` at `priv` may not use a translation with
 * cumulative permissions `perm` (TLB_W|TLB_U|TLB_X).  Intel SDM vol. 3A,
 * 4.6; one arm per rule.  Shared by the walker and the TLB-hit fast path. */
static inline bool walk_perm_fault(const walk_regs *r, mm_kind kind, mm_priv priv, unsigned perm)
{
    bool user_page = (perm & TLB_U) != 0;
    if (priv == MM_USER) {
        if (!user_page)
            return true;                                 /* user access to a supervisor page */
        if (kind == MM_STORE && !(perm & TLB_W))
            return true;                                 /* user write to a read-only page */
        return kind == MM_IFETCH && !(perm & TLB_X);     /* user fetch from an XD page */
    }
    if (kind == MM_IFETCH)
        return !(perm & TLB_X) || (r->smep && user_page); /* XD; SMEP */
    if (kind == MM_STORE && r->wp && !(perm & TLB_W))
        return true;                                     /* CR0.WP: supervisor write to read-only */
    return r->smap && user_page && !r->ac;               /* SMAP: supervisor data access to user page */
}

/* Where one step's entry came from. */
#define WALK_SRC_PTE_CACHE 0xffu   /* a PWC_PTE hit; otherwise a memsys_source */

typedef struct walk_step {
    unsigned level;     /* 1..levels */
    uint64_t entry_pa;  /* physical address of the entry read */
    uint64_t entry;     /* its value as read (before any A/D update) */
    unsigned src;       /* memsys source, or WALK_SRC_PTE_CACHE */
    unsigned latency;   /* cycles this read cost */
} walk_step;

typedef struct walk_write {
    uint64_t entry_pa;
    uint64_t value;     /* the entry as this walk read it, with A (and D) set: the
                         * locked update ORs its A/D bits into the entry */
    unsigned latency;   /* cycles of the locked RMW */
} walk_write;

typedef struct walk_result {
    uint64_t va;
    bool fault;
    uint32_t error_code;   /* PF_* (valid when fault) */
    unsigned fault_level;  /* level of the entry that caused the fault */
    uint64_t leaf;         /* leaf entry as read, with the A/D bits this walk set (valid when !fault) */
    unsigned leaf_level;
    unsigned shift;        /* page shift of the leaf */
    uint64_t pa;           /* translated physical address of va */
    unsigned perm;         /* TLB_W|TLB_U|TLB_X|TLB_D|TLB_G for the TLB fill */
    unsigned pwc_level;    /* level of the page-walk-cache hit the walk started from; 0 = none */
    unsigned pwc_perm;     /* cumulative permissions the hit entry carried */
    unsigned nsteps;
    walk_step step[PAGING_MAX_LEVELS];
    unsigned nwrites;
    walk_write write[PAGING_MAX_LEVELS];
    bool merged;           /* served by merging with an earlier walk */
    mm_cycle request, start, end;
} walk_result;

/* Memory port of the walker.  read/rmw return the latency in cycles of one
 * access to the entry at pa (level given for per-level schedules) and set
 * *src; `now` is the cycle the walk wants the access.  The latency runs
 * from `now` to the cycle the walk can take its next step.
 *
 * last_issue (may be NULL): the cycle the access just made was actually
 * issued on the port (>= now; a port that can stall or is shared issues
 * later than wanted).  The walker uses it to order its reads against the
 * locked A/D updates of other walks: a read sees exactly the updates
 * issued before it.  NULL means accesses issue at `now`. */
typedef struct walker_mem {
    unsigned (*read)(void *ctx, uint64_t pa, unsigned level, mm_cycle now, unsigned *src);
    unsigned (*rmw)(void *ctx, uint64_t pa, unsigned level, mm_cycle now, unsigned *src);
    void *ctx;
    mm_cycle (*last_issue)(void *ctx);
} walker_mem;

typedef struct walker_cfg {
    unsigned walkers;    /* 1..64 */
    bool merge;
    unsigned pa_bits;    /* MAXPHYADDR for reserved-bit checks */
    unsigned pwc_latency;/* cycles of one page-walk-cache lookup (config pwc.latency) */
} walker_cfg;

typedef struct walker_counters {
    uint64_t walks;            /* walks performed (not counting merged requests) */
    uint64_t merged;           /* requests served by merging */
    uint64_t faults;           /* walks ending in a fault */
    uint64_t queue_cycles;     /* sum of S - R */
    uint64_t walk_cycles;      /* sum of E - S */
    uint64_t active_cycles;    /* cycles with at least one walk in progress */
    uint64_t reads_by_level[PAGING_MAX_LEVELS + 1];
    uint64_t reads_by_src[8];  /* memsys sources; index 7 = PTE cache */
    uint64_t ad_updates;       /* locked RMWs */
    uint64_t pwc_hits[PAGING_MAX_LEVELS + 1];  /* walks starting from a hit at this level */
    uint64_t pwc_misses;                       /* translation-cache lookups that missed */
    uint64_t pte_cache_hits, pte_cache_misses;
    uint64_t hist[16];         /* walk latency E - R: bucket b holds [2^b, 2^(b+1)), b=0 holds 0..1 */
    uint64_t error_codes[PF_EC_COUNT];
} walker_counters;

typedef struct walker walker;

walker *walker_create(const walker_cfg *cfg, const paging_mode *m, physmem *pm, pwc *c, const walker_mem *mem);
void walker_free(walker *w);

/* Replace the memory port (*mem is copied).  Walks are computed whole
 * inside walker_request/walker_walk_now, so a port changed between calls
 * applies from the next walk on.  For a caller that supplies the
 * page-table memory itself (the TLM wrapper's `mem` socket): its read/rmw
 * callbacks may update the entry at pa in the physmem image before they
 * return, because the walker reads the entry's value from the image only
 * after the callback (and ORs its A/D bits in after rmw). */
void walker_set_mem(walker *w, const walker_mem *mem);

/* Request a walk at cycle `when`.  Fills *out with the result and its
 * timing.  A/D updates are written to the physical memory image at once,
 * but an entry read by a later-computed walk at a cycle before an update's
 * issue cycle does not show that update's bits (the walker keeps a small
 * log of recent updates): walks are computed one after another, yet each
 * reads memory as of its own cycle.  Reads see the current image otherwise:
 * page-table changes by the OS are assumed to happen between walks. */
void walker_request(walker *w, const walk_regs *regs, const walk_req *req, mm_cycle when, walk_result *out);

/* The walk loop alone: no pool, no timing of the queue (start = when), no
 * page-walk-cache fills deferred -- they are applied at once, and its A/D
 * updates are visible to every later read.  Used by `mmusim walk`. */
void walker_walk_now(walker *w, const walk_regs *regs, const walk_req *req, mm_cycle when, walk_result *out);

/* Cycle at which every walk issued so far has ended. */
mm_cycle walker_idle_at(const walker *w);

/* Apply every deferred page-walk-cache fill now (before a flush, so a flush
 * removes entries of walks already in flight too) -- flushes call this. */
void walker_drain(walker *w);

const walker_counters *walker_get_counters(const walker *w);
pwc *walker_pwc(walker *w);

/* Names of error-code bits for messages: "P W U RSVD I". */
void walker_ec_string(uint32_t ec, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
