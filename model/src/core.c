/* core.c -- the first-order core model (see core.h for the model).
 *
 * Invariant: the MMU's earliest issue cycle (mmu_advance) is >= C after
 * every call, so an access handed to the MMU issues at or after C, and
 * every increase of C is added to exactly one counter:
 *   C - start == base + issue_stall + data_stall + translation_stall + os
 * (translation_stall without the tail; core_get_counters adds it). */
#include "mmusim/core.h"

#include <stdlib.h>
#include <string.h>

struct core {
    mmu *m;
    unsigned cpi_milli;
    unsigned l1_lat[3];      /* by mm_kind: the L1 hit latency (no stall) */
    unsigned tlb_lat[3];     /* by mm_kind: the L1 TLB hit latency */
    mm_cycle clock;          /* C */
    mm_cycle start;          /* C at the last reset */
    uint64_t milli;          /* base-cycle remainder carried, < 1000 */
    uint64_t waited_seen;    /* mmu_frontend_waited when C last caught up with the MMU */
    core_counters c;
};

core *core_create(const mm_config *cfg, mmu *m, const memsys *ms)
{
    core *k = mm_xcalloc(1, sizeof *k);
    k->m = m;
    k->cpi_milli = cfg->core.cpi_milli;
    k->tlb_lat[MM_LOAD] = k->tlb_lat[MM_STORE] = cfg->dtlb.latency;
    k->tlb_lat[MM_IFETCH] = cfg->itlb.latency;
    if (ms)
        for (unsigned kind = 0; kind < 3; kind++)
            k->l1_lat[kind] = memsys_l1_latency(ms, (mm_kind)kind);
    k->waited_seen = mmu_frontend_waited(m);
    return k;
}

void core_free(core *k)
{
    free(k);
}

void core_instructions(core *k, uint64_t n)
{
    uint64_t milli = k->milli + n * k->cpi_milli;
    uint64_t whole = milli / 1000;
    k->milli = milli % 1000;
    if (whole) {
        k->clock += whole;
        k->c.base_cycles += whole;
        mmu_advance(k->m, k->clock);
    }
}

/* The front end held an access until `issue` > C: for the translations
 * in flight (max_outstanding) as far as the MMU says so, else for issue
 * width.  Out of line, as is data_stall: the common access (issued at C,
 * an L1 hit) then costs two compares and no call. */
__attribute__((noinline)) static void held(core *k, mm_cycle issue)
{
    uint64_t d = issue - k->clock;
    uint64_t waited = mmu_frontend_waited(k->m);
    uint64_t w = waited - k->waited_seen;
    k->waited_seen = waited;
    if (w > d)
        w = d;
    k->c.translation_stall_cycles += w;
    k->c.issue_stall_cycles += d - w;
    k->clock = issue;
}

/* A load or fetch that misses its L1 cache blocks the core until its data
 * arrive.  Its cache access starts when its translation ends, so the
 * translation's time beyond an L1 TLB hit is on that path too: translation
 * stall, then `stall` cycles of data stall.  (C is the access's issue cycle
 * here: the MMU issues at C or later, and held() caught C up.) */
__attribute__((noinline)) static void data_stall(core *k, mm_kind kind, const mmu_result *r, uint64_t stall)
{
    mm_cycle hit_done = r->issue + k->tlb_lat[kind];
    if (r->done > hit_done) {
        k->clock += r->done - hit_done;
        k->c.translation_stall_cycles += r->done - hit_done;
    }
    k->clock += stall;
    k->c.data_stall_cycles += stall;
    mmu_advance(k->m, k->clock);
}

void core_access(core *k, mm_kind kind, const mmu_result *r, unsigned latency)
{
    if (r->issue > k->clock)
        held(k, r->issue);
    if (kind != MM_STORE && latency > k->l1_lat[kind])
        data_stall(k, kind, r, latency - k->l1_lat[kind]);
}

mm_cycle core_charge(core *k, uint64_t cycles)
{
    mm_cycle now = mmu_now(k->m);
    if (now > k->clock) {
        k->c.translation_stall_cycles += now - k->clock;
        k->clock = now;
    }
    k->waited_seen = mmu_frontend_waited(k->m);
    k->clock += cycles;
    k->c.os_cycles += cycles;
    mmu_advance(k->m, k->clock);
    return k->clock;
}

/* Cycles the MMU runs past C (translations still in flight). */
static uint64_t tail(const core *k)
{
    mm_cycle now = mmu_now(k->m);
    return now > k->clock ? now - k->clock : 0;
}

mm_cycle core_clock(const core *k)
{
    return k->clock + tail(k);
}

mm_cycle core_cycles(const core *k)
{
    return core_clock(k) - k->start;
}

void core_get_counters(const core *k, core_counters *out)
{
    *out = k->c;
    out->translation_stall_cycles += tail(k);
}

void core_reset_stats(core *k)
{
    memset(&k->c, 0, sizeof k->c);
    k->start = k->clock;
}

void core_export_stats(const core *k, stats *s)
{
    core_counters c;
    core_get_counters(k, &c);
    stats_add(s, "core.base_cycles", c.base_cycles);
    stats_add(s, "core.issue_stall_cycles", c.issue_stall_cycles);
    stats_add(s, "core.data_stall_cycles", c.data_stall_cycles);
    stats_add(s, "core.translation_stall_cycles", c.translation_stall_cycles);
    stats_add(s, "core.os_cycles", c.os_cycles);
}
