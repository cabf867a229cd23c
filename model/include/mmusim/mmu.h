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
 * The physical memory and the memory model are shared by every CPU. */
mmu *mmu_create(const mm_config *cfg, unsigned cpu, physmem *pm, memsys *ms);
void mmu_free(mmu *m);

/* Translate one access. */
void mmu_access(mmu *m, uint64_t va, mm_kind kind, mm_priv priv, mmu_result *out);

/* Raise the front end's next issue cycle to at least `cycle` (fault
 * handling time, a context-switch cost, instruction gaps). */
void mmu_advance(mmu *m, mm_cycle cycle);
/* The cycle at which everything issued so far has completed. */
mm_cycle mmu_now(const mmu *m);

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
pwc *mmu_pwc(mmu *m);

/* The last walk this MMU made (for `mmusim walk` and tests). */
const walk_result *mmu_last_walk(const mmu *m);

/* Export counters into s under their report names (summed across CPUs when
 * several MMUs export into one list). */
void mmu_export_stats(const mmu *m, stats *s);

#endif
