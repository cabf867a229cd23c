/* mmu.h -- one CPU's memory-management unit: L1 iTLB and dTLB, the unified
 * L2 STLB, the page-walk caches and the walker pool, behind an in-order
 * front end that issues accesses at `issue_width` per cycle with at most
 * `max_outstanding` translations in flight.
 *
 * mmu_access is the replay hot path.  An L1 hit costs: one front-end slot
 * computation, one check of the pending-fill queue, one tlb_lookup and a
 * permission test -- no allocation, no indirect call.  Everything else
 * (STLB, walks, fills, faults) is out of line in mmu_access_slow.
 *
 * Timing (model/README.md, "The cycle contract"): an access issued at cycle
 * T completes at T + L1 latency on an L1 hit, at T + L1 + STLB latency on an
 * STLB hit, and at the walk's end E on a walk (the request reaches the
 * walker at T + L1 + STLB).  Fills of the L1/STLB take effect at the
 * completion cycle: an access issued before then misses and, with merging
 * on, joins the walk in flight.
 *
 * Faults are returned, not handled: the OS model (or the caller) fixes the
 * page table and calls mmu_access again, which walks again. */
#ifndef MMUSIM_MMU_H
#define MMUSIM_MMU_H

#include "mmusim/cfg.h"
#include "mmusim/memsys.h"
#include "mmusim/physmem.h"
#include "mmusim/stats.h"
#include "mmusim/tlb.h"
#include "mmusim/walker.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmu mmu;

/* How an access was translated. */
typedef enum mmu_where {
    MMU_L1_HIT = 0,
    MMU_STLB_HIT,
    MMU_WALK,
    MMU_MERGED,    /* joined a walk already in flight */
} mmu_where;

typedef struct mmu_result {
    mm_cycle issue;       /* cycle the front end issued the access */
    mm_cycle done;        /* cycle the translation completed (or the fault was raised) */
    uint64_t pa;
    bool fault;
    uint32_t error_code;  /* PF_* when fault; CR2 is the access's va */
    mmu_where where;
    unsigned shift;       /* page shift of the translation */
} mmu_result;

/* cpu: this MMU's CPU number (for messages and counter export).
 * The physical memory and the memory model are shared by every CPU; the
 * walker reaches them through walker_mem_physmem (mmu_set_walker_mem can
 * give it another port). */
mmu *mmu_create(const mm_config *cfg, unsigned cpu, physmem *pm, memsys *ms, char *err, size_t errlen);
/* An MMU for a host simulator that keeps the page tables in its own memory
 * (model/examples/embed_core.c): the walker reaches them only through
 * `port` (*port is copied; walker.h says what a port does); mmusim holds no
 * image and no memory model for it, and the walker's reads by source are
 * one counter, walker.pte_reads.port.
 *
 * Both return NULL with one line in err when the configuration breaks a rule
 * of the MMU's parts (cfg_validate_mmu's message), when a structure is too
 * large for the host, or when there is no image (mmu_create) or port. */
mmu *mmu_create_with_port(const mm_config *cfg, unsigned cpu, const walker_mem *port, char *err, size_t errlen);
void mmu_free(mmu *m);

/* Translate one access. */
void mmu_access(mmu *m, uint64_t va, mm_kind kind, mm_priv priv, mmu_result *out);

/* Raise the front end's next issue cycle to at least `cycle` (fault
 * handling time, a context-switch cost, instruction gaps). */
void mmu_advance(mmu *m, mm_cycle cycle);
/* The cycle at which everything issued so far has completed. */
mm_cycle mmu_now(const mmu *m);
/* Cycles the front end has held accesses back, in total, because
 * max_outstanding translations were in flight (rule 1(d)); a running total
 * that no counter reset touches (core.c splits its stalls with it). */
uint64_t mmu_frontend_waited(const mmu *m);

/* ---- context and invalidation (Intel SDM vol. 3A, 4.10.4) ---- */

/* A MOV to CR3: root table and PCID (ignored without PCID).  noflush set
 * (CR3 bit 63) keeps the entries of `pcid`; otherwise the non-global entries
 * of `pcid` (or of every PCID when PCID is off) are flushed from the TLBs
 * and page-walk caches. */
void mmu_write_cr3(mmu *m, uint64_t root, uint16_t pcid, bool noflush);

/* A context switch to address space `asid_owner` (any stable id: the OS
 * model's mm number) with root table `root`, following cfg.cpu.context:
 * nopcid flushes; pcid uses PCID owner%4095+1 with no-flush; recycle applies
 * Linux's dynamic-ASID algorithm (switch_mm_irqs_off / choose_new_asid):
 * reuse this CPU's slot for the owner if it still has one, else take the
 * next slot round-robin and flush it. */
void mmu_switch_to(mmu *m, uint64_t asid_owner, uint64_t root);

void mmu_invlpg(mmu *m, uint64_t va);
/* INVPCID types: 0 individual address, 1 single context, 2 all contexts
 * including globals, 3 all contexts except globals. */
void mmu_invpcid(mmu *m, unsigned type, uint16_t pcid, uint64_t va);
/* Everything, global entries included (CR4.PGE toggle). */
void mmu_flush_all(mmu *m);

/* Supervisor-access control: EFLAGS.AC for SMAP. */
void mmu_set_ac(mmu *m, bool ac);

const walk_regs *mmu_regs(const mmu *m);
/* The TLBs, for inspection (tlb_probe, tlb_occupancy, tlb_foreach).
 * Change them only through the mmu_* calls: the MMU keeps a memo of each
 * L1's last hit that a direct tlb_insert/remove/flush would leave stale. */
tlb *mmu_itlb(mmu *m);
tlb *mmu_dtlb(mmu *m);
tlb *mmu_stlb(mmu *m);
walker *mmu_walker(mmu *m);
/* Give the walker another memory port (*mem is copied; see walker_set_mem
 * and walker_mem), or with NULL the port it was created with again
 * (walker_mem_physmem on the image and memsys given to mmu_create, or
 * mmu_create_with_port's).  With a port of another
 * the MMU's image and memsys see no page-table traffic: INVLPG of a PTE
 * cache finds the entries through that port's peek too. */
void mmu_set_walker_mem(mmu *m, const walker_mem *mem);
pwc *mmu_pwc(mmu *m);

/* ---- observation: a tap on the L1 TLBs (for onepass.h) ----
 *
 * A tap sees every change the MMU makes to the contents and LRU order of
 * its L1 TLBs, in order, so that an outside model can replay them on other
 * L1 geometries.  It sees lookups at the granularity of whole accesses:
 * for each L1 lookup it reports the entry the access leaves in that L1
 * (the entry it hit, or the one its fill inserts), or that it leaves none
 * (a fault: an unusable entry it hit was removed).  Lookups answered by
 * the memo of the L1's last hit are not reported: they hit the entry the
 * previous reported lookup of that L1 left, which nothing has touched
 * since (any fill, removal or flush clears the memo).  Not reported:
 * back-invalidations by an inclusive STLB (stlb.inclusive), whose
 * occurrence depends on the L1s' own misses.
 *
 * Cost: with no tap, one test of a NULL pointer on the L1 lookups the
 * memo does not answer (one instruction), and one on the slow path; a
 * memo hit (most L1 hits) pays nothing. */

/* An invalidation of the L1 TLBs, as the tlb_flush_* call it makes. */
typedef enum mmu_flush_kind {
    MMU_FLUSH_ALL = 0,       /* tlb_flush_all */
    MMU_FLUSH_NONGLOBAL,     /* tlb_flush_nonglobal */
    MMU_FLUSH_PCID,          /* tlb_flush_pcid(pcid) */
    MMU_FLUSH_VA,            /* tlb_flush_va(va, pcid, include_global) */
} mmu_flush_kind;

typedef struct mmu_flush {
    mmu_flush_kind kind;
    uint16_t pcid;           /* PCID and VA: whose entries */
    bool include_global;     /* VA: global entries too (INVLPG) */
    uint64_t va;             /* VA: the address whose pages go */
} mmu_flush;

typedef struct mmu_tap {
    /* An access's lookup in L1 `l1` (0 iTLB, 1 dTLB), reported when the
     * access is done: va, the PCID it looked up with, its kind, `now` as
     * above (NULL: none), and the access's result (a merged access leaves
     * no entry either: it fills nothing itself). */
    void (*lookup)(void *ctx, unsigned cpu, unsigned l1, uint64_t va, uint16_t pcid, mm_kind kind,
                   const tlb_entry *now, const mmu_result *out);
    /* A flush, applied to both L1s (and the STLB); may be NULL. */
    void (*flush)(void *ctx, unsigned cpu, const mmu_flush *f);
    /* The replay is over (mmu_tap_end).  A fill lands when the CPU next
     * accesses or serializes; landed is false when this CPU did neither
     * after its last reported lookup, so that lookup's fill -- in any
     * configuration where it missed -- never reached the L1 (and evicted
     * nothing).  May be NULL. */
    void (*end)(void *ctx, unsigned cpu, bool landed);
    void *ctx;
    bool l1[2];              /* report lookups of the iTLB [0], the dTLB [1] */
} mmu_tap;

/* Install a tap (NULL: none); *tap must stay valid while installed. */
void mmu_set_tap(mmu *m, const mmu_tap *tap);
/* Tell the tap the replay is over (its `end`); the replay calls it. */
void mmu_tap_end(mmu *m);

/* The last walk this MMU made (for `mmusim walk` and tests). */
const walk_result *mmu_last_walk(const mmu *m);

/* Export counters into s under their report names (summed across CPUs when
 * several MMUs export into one list).  "cycles" is mmu_now less the clock
 * at the last mmu_reset_stats (0 before any). */
void mmu_export_stats(const mmu *m, stats *s);
/* The same with `cycles` given: the run time of a core model (core.h)
 * rather than the MMU's clock. */
void mmu_export_stats_at(const mmu *m, stats *s, mm_cycle cycles);
/* Zero the MMU's counters and its walker's (a warm-up's end) and start
 * "cycles" from now.  The TLBs, page-walk caches, walks and fills in
 * flight, the clock and the ASIDs are state and stay as they are. */
void mmu_reset_stats(mmu *m);

/* One access kind's counts so far (the export's dTLB-loads,
 * dTLB-load-misses, dtlb_load_misses.stlb_hit, ...): what the OS model
 * attributes to the process running (os_export_breakdown). */
typedef struct mmu_kind_counts {
    uint64_t lookups, misses, stlb_hits, walks_completed, faults, merged, rewalks;
} mmu_kind_counts;
void mmu_kind_counts_get(const mmu *m, mm_kind kind, mmu_kind_counts *out);

#ifdef __cplusplus
}
#endif

#endif
