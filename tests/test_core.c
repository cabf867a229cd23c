/* test_core.c -- the first-order core model (core.h): its cycle arithmetic
 * on a hand-made access sequence through the OS model, the identity
 * cycles = base + issue + data + translation + os, and the off switches
 * that give back the MMU-only cycles of earlier releases.
 *
 * The machine: one CPU, issue_width 1, max_outstanding 1, base CPI 0.5
 * (cpi_milli 500), L1 TLB latency 1; caches LRU with one set each so that
 * what they hold depends on recency only: l1d 4 ways (4 cycles), l1i 2 ways
 * (3 cycles), l2 8 ways (12), llc 16 ways (40), DRAM 200. */
#include <criterion/criterion.h>
#include <string.h>

#include "mmusim/cfg.h"
#include "mmusim/os.h"
#include "mmusim/stats.h"
#include "support/run_prog.h"

#define A 0x40000000ull          /* data page */
#define B (A + 0x1000)           /* stored-to page */
#define CODE (A + 0x10000)       /* code page */
#define MINOR 1000

static mm_config cfg;
static os *o;

static void teardown(void)
{
    os_free(o);
    o = NULL;
}

TestSuite(core, .fini = teardown);

static void machine(core_model model)
{
    cfg_defaults(&cfg);
    cfg.cpu.cpus = 1;
    cfg.cpu.context = CTX_PCID;
    cfg.frontend.issue_width = 1;
    cfg.frontend.max_outstanding = 1;
    cfg.itlb.latency = cfg.dtlb.latency = 1;
    cfg.memsys.model = MEMSYS_CACHES;
    cfg.memsys.scope = MEMSYS_SCOPE_ALL;
    cfg.memsys.cache[0] = (memsys_cache_cfg){.sets = 1, .ways = 4, .latency = 4, .repl = REPL_LRU};
    cfg.memsys.cache[1] = (memsys_cache_cfg){.sets = 1, .ways = 8, .latency = 12, .repl = REPL_LRU};
    cfg.memsys.cache[2] = (memsys_cache_cfg){.sets = 1, .ways = 16, .latency = 40, .repl = REPL_LRU};
    cfg.memsys.l1i = (memsys_cache_cfg){.sets = 1, .ways = 2, .latency = 3, .repl = REPL_LRU};
    cfg.memsys.dram_latency = 200;
    cfg.core.model = model;
    cfg.core.cpi_milli = 500;
    cfg.os.phys_mem_mib = 256;
    cfg.os.thp = THP_NEVER;
    cfg.os.minor_fault_cycles = MINOR;
    char err[CFG_ERR_MAX];
    cr_assert_eq(cfg_validate(&cfg, err, sizeof err), 0, "%s", err);
    o = os_create(&cfg, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
}

static void acc(uint64_t va, mm_kind k)
{
    mmu_result r;
    cr_assert_eq(os_access(o, 0, va, 8, k, MM_USER, &r), OS_OK, "access %#llx", (unsigned long long)va);
}

/* The counters the tests follow. */
enum { C_CYCLES, C_BASE, C_ISSUE, C_DATA, C_TRANS, C_OS, C_COUNT };
static const char *const names[C_COUNT] = {
    "cycles", "core.base_cycles", "core.issue_stall_cycles", "core.data_stall_cycles",
    "core.translation_stall_cycles", "core.os_cycles",
};

static void snap(uint64_t v[C_COUNT])
{
    stats *s = stats_create();
    os_export_stats(o, s);
    for (unsigned i = 0; i < C_COUNT; i++) {
        bool found = false;
        v[i] = stats_get(s, names[i], &found);
        cr_assert(found, "no counter %s", names[i]);
    }
    stats_free(s);
    cr_assert_eq(v[C_CYCLES], v[C_BASE] + v[C_ISSUE] + v[C_DATA] + v[C_TRANS] + v[C_OS],
                 "cycles %llu are not the sum of their causes", (unsigned long long)v[C_CYCLES]);
}

/* Faults in the three pages (a store makes B dirty), then leaves line A in
 * the l1d, line CODE in the l1i, and the core 10 cycles past everything
 * in flight (20 instructions). */
static void warm_up(void)
{
    acc(A, MM_LOAD);
    acc(B, MM_STORE);
    acc(CODE, MM_IFETCH);
    acc(CODE, MM_IFETCH);
    acc(A, MM_LOAD);
    acc(A, MM_LOAD);
    os_instructions(o, 0, 20);
}

/* Hand-derived, from C0 = the core's clock after the warm-up (every access
 * an L1 TLB hit, so the MMU adds 1 cycle and never waits for a walk):
 *   3 instructions      base 1 (1.5: 0.5 carried)               C0+1
 *   load A              issues at C0+1, l1d hit: no stall
 *   load A              issue width 1: issues at C0+2           issue 1
 *   store B+0x800       issues at C0+3 (issue 1); a DRAM miss,
 *                       but a store retires: no stall
 *   1 instruction       base 1 (0.5 + 0.5)                      C0+4
 *   load A+0x800        DRAM: 200 - 4 (l1d hit) = 196 stall     C0+200
 *   fetch CODE          l1i hit: no stall
 *   fetch CODE+0x800    issues at C0+201 (issue 1); DRAM:
 *                       200 - 3 (l1i hit) = 197 stall           C0+398
 *   load B+0x800        the store allocated it in l1d: no stall
 *   20 instructions     base 10                                 C0+408
 * so +408 cycles: base 12, issue 3, data 393, translation 0, os 0. */
Test(core, cycle_arithmetic)
{
    machine(CORE_FIRST_ORDER);
    warm_up();
    uint64_t v0[C_COUNT], v1[C_COUNT];
    snap(v0);
    os_instructions(o, 0, 3);
    acc(A, MM_LOAD);
    acc(A, MM_LOAD);
    acc(B + 0x800, MM_STORE);
    os_instructions(o, 0, 1);
    acc(A + 0x800, MM_LOAD);
    acc(CODE, MM_IFETCH);
    acc(CODE + 0x800, MM_IFETCH);
    acc(B + 0x800, MM_LOAD);
    os_instructions(o, 0, 20);
    snap(v1);
    static const uint64_t want[C_COUNT] = {408, 12, 3, 393, 0, 0};
    for (unsigned i = 0; i < C_COUNT; i++)
        cr_expect_eq(v1[i] - v0[i], want[i], "%s: +%llu, want +%llu", names[i],
                     (unsigned long long)(v1[i] - v0[i]), (unsigned long long)want[i]);
}

/* A load that misses the l1d blocks the core, and its cache access starts
 * when its walk ends: after INVLPG of A, a load of the uncached line
 * A+0x400 walks (r.done - r.issue cycles, the L1 TLB's 1 of them a hit's)
 * and then reads DRAM (200 - 4 = 196 data stall).  So translation stall
 * grows by exactly r.done - r.issue - 1 and data stall by 196.  A store
 * that walks stalls nothing: 200 instructions later (100 base cycles, far
 * more than the walk) translation stall has not grown. */
Test(core, blocking_miss_waits_for_its_walk)
{
    machine(CORE_FIRST_ORDER);
    warm_up();
    uint64_t v0[C_COUNT], v1[C_COUNT], v2[C_COUNT];
    snap(v0);
    cr_assert_eq(os_invlpg(o, 0, A), 0);
    mmu_result r;
    cr_assert_eq(os_access(o, 0, A + 0x400, 8, MM_LOAD, MM_USER, &r), OS_OK);
    cr_assert_eq(r.where, MMU_WALK);
    cr_assert_gt(r.done - r.issue, 1);
    snap(v1);
    cr_expect_eq(v1[C_TRANS] - v0[C_TRANS], r.done - r.issue - 1);
    cr_expect_eq(v1[C_DATA] - v0[C_DATA], 196);
    cr_expect_eq(v1[C_CYCLES] - v0[C_CYCLES], (r.done - r.issue - 1) + 196 + (v1[C_OS] - v0[C_OS]));
    cr_assert_eq(os_invlpg(o, 0, B), 0);
    cr_assert_eq(os_access(o, 0, B + 0x400, 8, MM_STORE, MM_USER, &r), OS_OK);
    cr_assert_eq(r.where, MMU_WALK);
    cr_assert_lt(r.done - r.issue, 100);
    os_instructions(o, 0, 200);
    snap(v2);
    cr_expect_eq(v2[C_TRANS] - v1[C_TRANS], 0);
    cr_expect_eq(v2[C_DATA] - v1[C_DATA], 0);
    cr_expect_eq(v2[C_BASE] - v1[C_BASE], 100);
}

/* A first touch: the walk that faults, the handler (os), the walk again.
 * The core waits for the faulting walk (translation), spends MINOR cycles
 * in the handler, and the retry's walk is still in flight at the end
 * (translation again): translation = cycles - os - data, exactly. */
Test(core, fault_is_translation_then_os)
{
    machine(CORE_FIRST_ORDER);
    warm_up();
    uint64_t v0[C_COUNT], v1[C_COUNT];
    snap(v0);
    acc(A + 0x20000, MM_LOAD);   /* a new page */
    snap(v1);
    cr_expect_eq(v1[C_OS] - v0[C_OS], MINOR);
    cr_expect_eq(v1[C_BASE] - v0[C_BASE], 0);
    cr_expect_eq(v1[C_ISSUE] - v0[C_ISSUE], 0);
    cr_expect_gt(v1[C_TRANS] - v0[C_TRANS], 0);
    cr_expect_eq(v1[C_CYCLES] - v0[C_CYCLES],
                 MINOR + (v1[C_TRANS] - v0[C_TRANS]) + (v1[C_DATA] - v0[C_DATA]));
}

/* core.model off: no core counters, and `cycles` is the MMU's clock: the
 * same sequence costs what the front end alone gives (instructions and
 * data misses cost nothing), here 1 cycle per access after the warm-up. */
Test(core, off_is_the_mmu_clock)
{
    machine(CORE_OFF);
    warm_up();
    stats *s = stats_create();
    os_export_stats(o, s);
    bool found = true;
    stats_get(s, "core.base_cycles", &found);
    cr_expect_not(found, "core counters without the core model");
    uint64_t c0 = stats_get(s, "cycles", NULL);
    stats_free(s);
    os_instructions(o, 0, 1000);
    acc(A + 0x800, MM_LOAD);
    acc(A + 0xc00, MM_LOAD);
    s = stats_create();
    os_export_stats(o, s);
    cr_expect_eq(stats_get(s, "cycles", NULL) - c0, 2);
    stats_free(s);
}

/* ---- the off switches against an earlier release's numbers ------------- */

static char out[1 << 16], err[1 << 12];

static uint64_t jget(const char *json, const char *name, bool *found)
{
    char key[128];
    snprintf(key, sizeof key, "\n  \"%s\": ", name);
    const char *p = strstr(json, key);
    *found = p != NULL;
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* mmusim 0.1.0 before the shared caches and the core model (the golden
 * files of that release) reported these for chase.trace.zst on skylake. */
Test(core, off_switches_reproduce_mmu_only_counters)
{
    int st = prog_capture("\"$M\" run --set memsys.scope=pagetables --set core.model=off --json " MMUSIM_SOURCE_DIR
                          "/traces/chase.trace.zst",
                          NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(st, 0, "%s", err);
    static const struct {
        const char *name;
        uint64_t v;
    } old[] = {
        {"cycles", 12938952},          {"translation.stall_cycles", 43459791}, {"instructions", 750000},
        {"walker.pte_reads.l1d", 158051}, {"walker.pte_reads.l2", 17},          {"walker.pte_reads.dram", 516},
    };
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
        bool found;
        cr_expect_eq(jget(out, old[i].name, &found), old[i].v, "%s", old[i].name);
        cr_expect(found, "%s", old[i].name);
    }
    bool found;
    jget(out, "core.base_cycles", &found);
    cr_expect_not(found);
    jget(out, "memsys.l1d.data.hits", &found);
    cr_expect_not(found);
}
