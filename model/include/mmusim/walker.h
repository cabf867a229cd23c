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
 * Memory is reached through a small struct of callbacks (walker_mem) that
 * carries each entry's value and latency, so the same walker runs on
 * mmusim's memory image and memsys model, on a host simulator's memory
 * (the TLM wrapper), and on the seeded schedule of the RTL cross-check. */
#ifndef MMUSIM_WALKER_H
#define MMUSIM_WALKER_H

#include "mmusim/memsys.h"
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

/* Memory port of the walker: the only way it reaches the page tables.  The
 * walker holds no memory image; every entry value it uses comes from the
 * port, so the tables can live in mmusim's physical memory image
 * (walker_mem_physmem below), in a host simulator's memory (model/tlm), or
 * in an array of a test.  `level` (1..levels) is given for per-level
 * schedules; `now` is the cycle the walk wants the access.
 *
 * read: the entry at physical address pa (the paging mode's entry size: 8
 *   bytes, 4 in x86-32), little-endian, into *value; where it was served
 *   (a memsys_source, counted by the walker) into *src.  Returns the latency
 *   in cycles from `now` to the cycle the walk can take its next step.
 *
 * rmw: a locked read-modify-write that sets accessed/dirty bits.  The port
 *   ORs `bits` (PTE_A, PTE_D or both) into the entry at pa as one atomic
 *   access and stores the value the entry had just before into *old;
 *   latency and *src as for read.  Atomicity contract: the OR applies to
 *   the entry as it is at the update -- a change made by anyone since this
 *   walk read the entry is kept, and no write can fall between the update's
 *   read and its write -- and it only sets bits.  The walker decides each
 *   update on the entry as its own walk read it (rule 8 of the cycle
 *   contract): an entry it read with A clear gets the update even if
 *   another walk has set A since, as on x86 hardware.
 *
 * peek: the entry's current value, with no time and no side effect.  Only
 *   the PTE cache (pwc design pte) needs it: that cache keeps tags only, and
 *   a hit costs the page-walk-cache latency and takes the value from peek
 *   (model/README.md, "Known simplifications"); walker_path uses it to find
 *   the entries INVLPG drops from that cache.  May be NULL for a walker
 *   without a PTE cache.
 *
 * last_issue (may be NULL): the cycle the access just made was actually
 *   issued on the port (>= now; a port that can stall or is shared issues
 *   later than wanted).  NULL means accesses issue at `now`.
 *
 * Time.  The walker computes each walk whole, in request order, so it can
 * ask for a younger walk's read after an older walk's update even when the
 * read's cycle is the earlier one.  The port performs every access when it
 * is asked; the walker itself hides from a read the A/D bits that its own
 * updates issued after the read's cycle set (a log of recent updates, see
 * walker_request), so with any port a read sees exactly the walker's
 * updates issued before it.  Changes made by others (the OS model, a host
 * platform) are seen as they are when the access is asked. */
typedef struct walker_mem {
    unsigned (*read)(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value, unsigned *src);
    unsigned (*rmw)(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits, uint64_t *old,
                    unsigned *src);
    uint64_t (*peek)(void *ctx, uint64_t pa);
    void *ctx;
    mm_cycle (*last_issue)(void *ctx);
} walker_mem;

/* The port on mmusim's own memory: entry values from the physical memory
 * image `pm` (entries of paging mode `m`), latencies and sources from the
 * memory model `ms` (memsys_read, memsys_rmw), or 0 cycles from source 0
 * when ms is NULL.  The port returned refers to *p, which must stay valid
 * (and unchanged) while the port is in use. */
typedef struct walker_physmem {
    const paging_mode *m;
    physmem *pm;
    memsys *ms;
} walker_physmem;

walker_mem walker_mem_physmem(const walker_physmem *p);

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

/* c: the page-walk caches (NULL: none); with a PTE cache the port must
 * have peek.  *mem is copied. */
walker *walker_create(const walker_cfg *cfg, const paging_mode *m, pwc *c, const walker_mem *mem, char *err,
                      size_t errlen);
void walker_free(walker *w);

/* Replace the memory port (*mem is copied).  Walks are computed whole
 * inside walker_request/walker_walk_now, so a port changed between calls
 * applies from the next walk on.  The log of recent A/D updates stays: it
 * holds the walker's own updates, whichever port made them. */
void walker_set_mem(walker *w, const walker_mem *mem);

/* Request a walk at cycle `when`.  Fills *out with the result and its
 * timing.  A/D updates go to the port at once, but an entry read by a
 * later-computed walk at a cycle before an update's issue cycle does not
 * show that update's bits (the walker keeps a small log of recent
 * updates): walks are computed one after another, yet each reads memory as
 * of its own cycle.  Reads see the port's current values otherwise:
 * page-table changes by the OS are assumed to happen between walks. */
void walker_request(walker *w, const walk_regs *regs, const walk_req *req, mm_cycle when, walk_result *out);

/* The walk loop alone: no pool, no timing of the queue (start = when), no
 * page-walk-cache fills deferred -- they are applied at once, and its A/D
 * updates are visible to every later read.  Used by `mmusim walk`. */
void walker_walk_now(walker *w, const walk_regs *regs, const walk_req *req, mm_cycle when, walk_result *out);

/* Cycle at which every walk issued so far has ended. */
mm_cycle walker_idle_at(const walker *w);

/* The physical addresses of the entries a walk of va from `root` reads
 * without page-walk caches, top level first, into pa[]; returns how many
 * (it stops at a leaf or a not-present entry).  Values come from the
 * port's peek: no time, no side effect, no counter (for INVLPG of a PTE
 * cache, which is tagged by entry address). */
unsigned walker_path(const walker *w, uint64_t root, uint64_t va, uint64_t pa[PAGING_MAX_LEVELS]);

/* Apply every deferred page-walk-cache fill now (before a flush, so a flush
 * removes entries of walks already in flight too) -- flushes call this. */
void walker_drain(walker *w);

const walker_counters *walker_get_counters(const walker *w);
/* Zero the counters (a warm-up's end); walks in flight, the page-walk
 * cache and the active-cycle bookkeeping are state and stay. */
void walker_reset_stats(walker *w);
pwc *walker_pwc(walker *w);

/* Names of error-code bits for messages: "P W U RSVD I". */
void walker_ec_string(uint32_t ec, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
