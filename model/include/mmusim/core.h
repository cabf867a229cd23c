/* core.h -- a first-order core model: turns one CPU's instructions and
 * accesses into run time, so that `cycles` means how long the program ran
 * (model/README.md, "The cycle contract", rules 17-22).
 *
 * The core has a clock C (cycles from 0) and charges every cycle it spends
 * to exactly one cause:
 *  - base: n retired instructions advance C by n * core.cpi_milli / 1000
 *    (the remainder is carried to the next count, so the total is exact to
 *    one cycle).  The base CPI stands for everything the model does not
 *    time: dependences, branch mispredictions, L1 hits.
 *  - issue stall / translation stall: the core hands each access to the MMU
 *    no earlier than C (mmu_advance).  When the MMU's front end issues it
 *    later, C moves to the issue cycle: the part the front end waited for
 *    `frontend.max_outstanding` translations in flight to drop is
 *    translation stall, the rest (at most `frontend.issue_width` accesses
 *    per cycle) is issue stall.  A slow translation (STLB hit, walk) of a
 *    store or of an access that hits its L1 cache does not stall the core
 *    by itself: later instructions and accesses overlap it until the front
 *    end's limit binds -- the ROB/load-buffer limit of an out-of-order
 *    core, to first order.
 *  - data stall: a load stalls C by its data-cache latency beyond the L1d
 *    hit latency, an instruction fetch by its latency beyond the L1i hit
 *    (no memory-level parallelism: cache misses do not overlap each other,
 *    an upper bound on their cost); a store retires through the store
 *    buffer (taken as unbounded) and stalls nothing.  Such a blocking miss
 *    cannot start before its translation ends, so its translation time
 *    beyond an L1 TLB hit stalls C first (translation stall).
 *  - OS: a cost charged to the CPU (fault handler, context switch, TLB
 *    shootdown) first waits for every translation in flight (translation
 *    stall: the fault or switch is serializing), then advances C by the
 *    cost.
 * Run time = max(C, the MMU's last completion); the tail past C is
 * translation stall.  So, exactly:
 *   cycles = base + issue_stall + data_stall + translation_stall + os.
 *
 * With core.model off no core exists and `cycles` is the MMU's clock
 * (mmu_now), as before the core model. */
#ifndef MMUSIM_CORE_H
#define MMUSIM_CORE_H

#include "mmusim/cfg.h"
#include "mmusim/memsys.h"
#include "mmusim/mmu.h"
#include "mmusim/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct core core;

/* Counters (cycles), one struct so that a reset is one memset. */
typedef struct core_counters {
    uint64_t base_cycles, issue_stall_cycles, data_stall_cycles, translation_stall_cycles, os_cycles;
} core_counters;

/* The core of the CPU whose MMU is m; the L1 hit latencies come from ms
 * (memsys_l1_latency; NULL or no data caches: no data stalls).  m and ms
 * must outlive the core.  Always succeeds (the config was validated). */
core *core_create(const mm_config *cfg, mmu *m, const memsys *ms);
void core_free(core *k);

/* n instructions retired. */
void core_instructions(core *k, uint64_t n);
/* An access the MMU translated (r: its final, non-faulting attempt; it
 * was issued after the core's clock, as core_* keep the MMU's earliest
 * issue at C) whose data access took `latency` cycles (memsys_data; 0 when
 * the data caches are not modelled). */
void core_access(core *k, mm_kind kind, const mmu_result *r, unsigned latency);
/* `cycles` of OS work on this CPU, after every translation in flight;
 * returns the cycle it ends (the core's clock). */
mm_cycle core_charge(core *k, uint64_t cycles);

/* Run time so far: max(C, the MMU's last completion), less the clock at
 * the last core_reset_stats. */
mm_cycle core_cycles(const core *k);
/* The clock itself: max(C, the MMU's last completion), never reset (the
 * machine's clock for os_cycles). */
mm_cycle core_clock(const core *k);
/* The counters, the tail past C included in translation stall, so that
 * their sum is core_cycles. */
void core_get_counters(const core *k, core_counters *out);
/* Zero the counters and restart run time at the current clock; the clock
 * and carried remainder stay (warm-up). */
void core_reset_stats(core *k);
/* core.base_cycles, core.issue_stall_cycles, core.data_stall_cycles,
 * core.translation_stall_cycles, core.os_cycles (summed across CPUs).
 * `cycles` itself is the caller's to export (core_cycles). */
void core_export_stats(const core *k, stats *s);

#ifdef __cplusplus
}
#endif

#endif
