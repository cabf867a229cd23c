/* One CPU's MMU: front end, TLB hierarchy timing, fills, context switches
 * and invalidation.  Latencies are set to round numbers so each cycle count
 * is a sum done by hand:
 *   L1 lookup 1, STLB lookup 8, no page-walk cache, memory 100 per read and
 *   100 + 20 per locked RMW, issue width 1. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <criterion/parameterized.h>

#include "mmusim/cfg.h"
#include "mmusim/memsys.h"
#include "mmusim/mmu.h"

#define L1 1
#define L2 8
#define READ 100
#define WALK4 (4 * READ)     /* a 4-level walk with A/D already set */

static mm_config cfg;
static physmem *pm;
static pgtable *pt;
static memsys *ms;
static mmu *m;

static void base_cfg(void)
{
    cfg_defaults(&cfg);
    cfg.itlb.latency = L1;
    cfg.dtlb.latency = L1;
    cfg.stlb.latency = L2;
    cfg.pwc.design = PWC_NONE;
    cfg.memsys.model = MEMSYS_FIXED;
    cfg.memsys.fixed_latency = READ;
    cfg.memsys.rmw_latency = 20;
    cfg.frontend.issue_width = 1;
    cfg.frontend.max_outstanding = 8;
    cfg.walker.walkers = 1;
    cfg.walker.merge = true;
    cfg.cpu.context = CTX_NOPCID;
}

/* Build the MMU from cfg (after the test has adjusted it). */
static void build(void)
{
    char err[256];
    cr_assert_eq(cfg_validate(&cfg, err, sizeof err), 0, "%s", err);
    pm = physmem_create(cfg.cpu.pa_bits, 0x10000000ull, 0x20000000ull, NULL, 0);
    pt = pgtable_create(cfg_mode(&cfg), pm, NULL, NULL, 0);
    ms = memsys_create(&cfg.memsys, NULL, 0);
    m = mmu_create(&cfg, 0, pm, ms, NULL, 0);
    cr_assert_not_null(m);
    mmu_write_cr3(m, pgtable_root(pt), 0, false);
}

static void teardown(void)
{
    mmu_free(m);
    memsys_free(ms);
    pgtable_free(pt);
    physmem_free(pm);
}

/* Map with A and D set everywhere below the root, so walks cost exactly
 * WALK4: the first walk of a region still sets the upper entries' A bits,
 * so `warm` walks it once with a supervisor load at a far-away cycle. */
#define F (PTE_RW | PTE_US | PTE_A | PTE_D)

static void map(uint64_t va, uint64_t pa, uint64_t flags)
{
    cr_assert_eq(pgtable_map(pt, va, pa, 4096, 12, flags), PGT_OK);
}

static mmu_result access(uint64_t va, mm_kind k)
{
    mmu_result r;
    mmu_access(m, va, k, MM_USER, &r);
    return r;
}

/* Set the upper entries' A bits through a walk, then flush everything so
 * the test starts cold at cycle `start`. */
static void warm(uint64_t va, mm_cycle start)
{
    (void)access(va, MM_LOAD);
    mmu_flush_all(m);
    mmu_advance(m, start);
}

static stats *st;
static uint64_t counter(const char *name)
{
    stats_free(st);
    st = stats_create();
    mmu_export_stats(m, st);
    bool found;
    uint64_t v = stats_get(st, name, &found);
    cr_assert(found, "no counter %s", name);
    return v;
}

/* Per kind: misses + rewalks = stlb_hit + walk_completed + faults + merged
 * (mmu.c, kind_counters), and the kind's counts as the test derived them:
 * {misses, rewalks, stlb_hit, walk_completed, faults, merged}. */
static void expect_kind(const char *perf_misses, const char *intel, const uint64_t want[6])
{
    static const char *const part[] = {"rewalks", "stlb_hit", "walk_completed", "faults", "merged"};
    uint64_t got[6];
    char name[96];
    got[0] = counter(perf_misses);
    for (unsigned i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "%s.%s", intel, part[i]);
        got[i + 1] = counter(name);
    }
    for (unsigned i = 0; i < 6; i++)
        cr_expect_eq(got[i], want[i], "%s: %s %" PRIu64 ", expected %" PRIu64, intel, i ? part[i - 1] : perf_misses,
                     got[i], want[i]);
    cr_expect_eq(got[0] + got[1], got[2] + got[3] + got[4] + got[5], "%s: misses + rewalks != the outcomes", intel);
}

static void fini(void)
{
    stats_free(st);
    st = NULL;
    teardown();
}

TestSuite(mmu, .init = base_cfg, .fini = fini);

Test(mmu, miss_walk_merge_then_hit)
{
    build();
    map(0x40000000, 0x1000000, F);
    warm(0x40000000, 1000);
    /* Issued at 1000: L1 miss, STLB miss, walk requested at 1009. */
    mmu_result a = access(0x40000000, MM_LOAD);
    cr_assert_eq(a.issue, 1000);
    cr_assert_eq(a.where, MMU_WALK);
    cr_assert_eq(a.done, 1000 + L1 + L2 + WALK4);
    /* Issued at 1001, the fill (at 1409) has not landed: it merges. */
    mmu_result b = access(0x40000040, MM_LOAD);
    cr_assert_eq(b.issue, 1001);
    cr_assert_eq(b.where, MMU_MERGED);
    cr_assert_eq(b.done, a.done);
    cr_assert_eq(b.pa, 0x1000040);
    /* After the fill: an L1 hit costs L1. */
    mmu_advance(m, a.done);
    mmu_result c = access(0x40000080, MM_LOAD);
    cr_assert_eq(c.where, MMU_L1_HIT);
    cr_assert_eq(c.done, c.issue + L1);
    cr_assert_eq(c.pa, 0x1000080);
    cr_assert_eq(counter("dTLB-loads"), 4);          /* warm-up + 3 */
    cr_assert_eq(counter("dTLB-load-misses"), 3);
    cr_assert_eq(counter("walker.merged"), 1);
    cr_assert_eq(counter("dtlb_load_misses.walk_completed"), 2);
    cr_assert_eq(counter("dtlb_load_misses.walk_completed_4k"), 2);
    /* 3 misses: the warm-up's walk and a's (completed), b's merge. */
    expect_kind("dTLB-load-misses", "dtlb_load_misses", (uint64_t[]){3, 0, 0, 2, 0, 1});
}

typedef struct contention_case {
    unsigned walkers, max_outstanding;
    mm_cycle b_issue, b_done;
} contention_case;

ParameterizedTestParameters(mmu, contention)
{
    /* A at 1000: request 1009, walk 1009..1409.  B (another page): */
    static contention_case cases[] = {
        /* one walker: B issues at 1001, requests at 1010, waits until 1409 */
        {1, 8, 1001, 1409 + WALK4},
        /* two walkers: B walks 1010..1410 */
        {2, 8, 1001, 1010 + WALK4},
        /* blocking core: B issues when A completes, 1409; requests 1418 */
        {2, 1, 1409, 1409 + L1 + L2 + WALK4},
    };
    return cr_make_param_array(contention_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(contention_case *c, mmu, contention)
{
    cfg.walker.walkers = c->walkers;
    cfg.frontend.max_outstanding = c->max_outstanding;
    build();
    map(0x40000000, 0x1000000, F);
    map(0x40001000, 0x1001000, F);
    warm(0x40000000, 1000);
    mmu_result a = access(0x40000000, MM_LOAD);
    cr_assert_eq(a.done, 1409);
    mmu_result b = access(0x40001000, MM_LOAD);
    cr_assert_eq(b.issue, c->b_issue);
    cr_assert_eq(b.done, c->b_done);
    cr_assert_eq(mmu_now(m), c->b_done);
}

Test(mmu, issue_width_limits_issue_rate)
{
    cfg.frontend.issue_width = 2;
    build();
    map(0x40000000, 0x1000000, F);
    warm(0x40000000, 5000);
    (void)access(0x40000000, MM_LOAD);
    mmu_advance(m, 10000);
    /* Two per cycle: 10000, 10000, 10001, 10001, 10002. */
    mm_cycle want[] = {10000, 10000, 10001, 10001, 10002};
    for (unsigned i = 0; i < 5; i++) {
        mmu_result r = access(0x40000000 + 8 * i, MM_LOAD);
        cr_assert_eq(r.where, MMU_L1_HIT);
        cr_assert_eq(r.issue, want[i], "access %u issued at %lu", i, (unsigned long)r.issue);
    }
}

Test(mmu, stlb_hit_refills_l1)
{
    /* A 1-entry L1 dTLB: B evicts A from L1; A then hits the STLB. */
    cfg.dtlb.tlb.array[0] = (tlb_array_cfg){.sets = 1, .ways = 1, .repl = REPL_LRU, .holds = MM_PS_BIT(MM_PS_4K)};
    build();
    map(0x40000000, 0x1000000, F);
    map(0x40001000, 0x1001000, F);
    warm(0x40000000, 0);
    (void)access(0x40000000, MM_LOAD);
    mmu_advance(m, 5000);
    (void)access(0x40001000, MM_LOAD);
    mmu_advance(m, 10000);
    mmu_result r = access(0x40000000, MM_LOAD);
    cr_assert_eq(r.where, MMU_STLB_HIT);
    cr_assert_eq(r.done, 10000 + L1 + L2);
    mmu_advance(m, 10100);
    r = access(0x40000000, MM_LOAD);
    cr_assert_eq(r.where, MMU_L1_HIT);
    cr_assert_eq(counter("dtlb_load_misses.stlb_hit"), 1);
    cr_assert_eq(counter("dtlb.evictions"), 2);   /* B evicted A, A evicted B */
    /* Misses: warm-up, A, B (walks), A again (STLB hit). */
    expect_kind("dTLB-load-misses", "dtlb_load_misses", (uint64_t[]){4, 0, 1, 3, 0, 0});
}

Test(mmu, store_to_clean_page_rewalks_to_set_dirty)
{
    build();
    map(0x40000000, 0x1000000, PTE_RW | PTE_US | PTE_A);
    warm(0x40000000, 0);
    mmu_result r = access(0x40000000, MM_LOAD);
    mmu_advance(m, r.done);
    r = access(0x40000000, MM_STORE);       /* L1 hit, but D is clear in the entry */
    cr_assert_eq(r.where, MMU_WALK);
    /* 4 reads + one locked RMW of the PTE (100 + 20). */
    cr_assert_eq(r.done - r.issue, L1 + WALK4 + READ + 20);
    cr_assert_eq(counter("tlb.dirty_rewalks"), 1);
    cr_assert(pgtable_lookup(pt, 0x40000000, NULL, NULL) & PTE_D);
    mmu_advance(m, r.done);
    r = access(0x40000000, MM_STORE);
    cr_assert_eq(r.where, MMU_L1_HIT);
    /* The store never missed: its walk is a re-walk, counted in
     * walk_completed (model/README.md says why) and in rewalks. */
    expect_kind("dTLB-store-misses", "dtlb_store_misses", (uint64_t[]){0, 1, 0, 1, 0, 0});
    /* The loads: the warm-up's and the first after the flush, both walks. */
    expect_kind("dTLB-load-misses", "dtlb_load_misses", (uint64_t[]){2, 0, 0, 2, 0, 0});
}

Test(mmu, fault_then_fix_then_retry_walks_again)
{
    build();
    mmu_result r = access(0x40000000, MM_STORE);
    cr_assert(r.fault);
    cr_assert_eq(r.error_code, PF_WR | PF_US);
    /* An empty root: one read (the PML4E), then the fault. */
    cr_assert_eq(r.done - r.issue, L1 + L2 + READ);
    cr_assert_eq(counter("page-faults"), 1);
    cr_assert_eq(counter("faults.ec_0x06"), 1);
    /* The handler runs after the fault is raised: the retry issues then
     * (issued earlier, it would merge with the faulting walk). */
    mmu_advance(m, r.done);
    map(0x40000000, 0x1000000, F);
    r = access(0x40000000, MM_STORE);
    cr_assert_not(r.fault);
    cr_assert_eq(r.pa, 0x1000000);
    cr_assert_eq(counter("walker.walks"), 2);
    expect_kind("dTLB-store-misses", "dtlb_store_misses", (uint64_t[]){2, 0, 0, 1, 1, 0});
}

/* A miss issued while a faulting walk of its page is in flight merges with
 * it and faults too: a fault, not a merge. */
Test(mmu, merge_onto_faulting_walk_is_a_fault)
{
    build();
    mmu_result a = access(0x40000000, MM_LOAD);
    mmu_result b = access(0x40000008, MM_LOAD);
    cr_assert(a.fault);
    cr_assert(b.fault);
    cr_assert_eq(b.where, MMU_MERGED);
    cr_assert_eq(counter("walker.merged"), 1);
    cr_assert_eq(counter("page-faults"), 2);
    expect_kind("dTLB-load-misses", "dtlb_load_misses", (uint64_t[]){2, 0, 0, 0, 2, 0});
}

Test(mmu, global_pages_survive_cr3_write)
{
    build();
    map(0x40000000, 0x1000000, F | PTE_G);
    map(0x40001000, 0x1001000, F);
    mmu_write_cr3(m, pgtable_root(pt), 0, false);
    warm(0x40000000, 0);
    (void)access(0x40000000, MM_LOAD);
    (void)access(0x40001000, MM_LOAD);
    mmu_write_cr3(m, pgtable_root(pt), 0, false);   /* no PCID: flushes non-global */
    mmu_advance(m, 100000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_L1_HIT);
    cr_assert_eq(access(0x40001000, MM_LOAD).where, MMU_WALK);
    cr_assert_eq(counter("flush.cr3"), 3);   /* build()'s, and the test's two */
}

Test(mmu, pcid_noflush_keeps_entries)
{
    cfg.cpu.context = CTX_PCID;
    build();
    map(0x40000000, 0x1000000, F);
    mmu_write_cr3(m, pgtable_root(pt), 1, false);
    warm(0x40000000, 0);
    (void)access(0x40000000, MM_LOAD);
    mmu_write_cr3(m, pgtable_root(pt), 2, false);    /* another PCID: no entry of PCID 2 */
    mmu_advance(m, 100000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_WALK);
    mmu_write_cr3(m, pgtable_root(pt), 1, true);     /* back to 1, no-flush: kept */
    mmu_advance(m, 200000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_L1_HIT);
    mmu_write_cr3(m, pgtable_root(pt), 1, false);    /* without no-flush: PCID 1 flushed */
    mmu_advance(m, 300000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_WALK);
    cr_assert_eq(counter("flush.cr3_noflush"), 1);
}

Test(mmu, asid_recycling)
{
    cfg.cpu.context = CTX_RECYCLE;
    cfg.cpu.nr_asids = 2;
    build();
    map(0x40000000, 0x1000000, F);
    uint64_t root = pgtable_root(pt);
    mmu_switch_to(m, 100, root);        /* A -> slot 0 (PCID 1), flushed */
    warm(0x40000000, 0);
    mmu_switch_to(m, 100, root);        /* warm's flush_all emptied everything; still slot 0 */
    (void)access(0x40000000, MM_LOAD);  /* A's entry, PCID 1 */
    mmu_switch_to(m, 200, root);        /* B -> slot 1 (PCID 2) */
    cr_assert_eq(mmu_regs(m)->pcid, 2);
    mmu_switch_to(m, 100, root);        /* A keeps slot 0: no flush */
    cr_assert_eq(mmu_regs(m)->pcid, 1);
    mmu_advance(m, 100000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_L1_HIT);
    mmu_switch_to(m, 300, root);        /* C takes slot 0 round-robin: A's entries flushed */
    cr_assert_eq(mmu_regs(m)->pcid, 1);
    mmu_switch_to(m, 100, root);        /* A lost its slot: takes slot 1 (B's), flushed */
    cr_assert_eq(mmu_regs(m)->pcid, 2);
    mmu_advance(m, 200000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_WALK);
    cr_assert_eq(counter("flush.asid_recycles"), 2);
}

Test(mmu, invlpg_removes_covering_pwc_entries)
{
    cfg.pwc.design = PWC_SPLIT;
    for (unsigned l = 2; l <= 5; l++)
        cfg.pwc.level[l] = (pwc_array_cfg){.sets = 1, .ways = 4, .repl = REPL_LRU};
    build();
    /* 0x40000000 and 0x80000000 share the PML4 entry (index 0) but have
     * their own PDPT entries (1 and 2) and PD entries. */
    map(0x40000000, 0x1000000, F);
    map(0x80000000, 0x1001000, F);
    (void)access(0x40000000, MM_LOAD);
    (void)access(0x80000000, MM_LOAD);
    mmu_advance(m, 100000);
    /* Page-walk-cache fills land when a later walk starts or at a
     * serializing instruction; drain them to look at the cache. */
    walker_drain(mmu_walker(m));
    pwc *c = mmu_pwc(m);
    cr_assert_eq(pwc_occupancy(c, 4), 1);
    cr_assert_eq(pwc_occupancy(c, 3), 2);
    cr_assert_eq(pwc_occupancy(c, 2), 2);
    mmu_invlpg(m, 0x40000000);
    /* Gone: the PML4E (it covers 0x40000000), its PDPTE and PDE. */
    cr_assert_eq(pwc_occupancy(c, 4), 0);
    cr_assert_eq(pwc_occupancy(c, 3), 1);
    cr_assert_eq(pwc_occupancy(c, 2), 1);
    mmu_advance(m, 200000);
    cr_assert_eq(access(0x80000000, MM_LOAD).where, MMU_L1_HIT);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_WALK);
    cr_assert_eq(counter("flush.invlpg"), 1);
}

Test(mmu, invpcid_types)
{
    cfg.cpu.context = CTX_PCID;
    build();
    map(0x40000000, 0x1000000, F | PTE_G);
    map(0x40001000, 0x1001000, F);
    mmu_write_cr3(m, pgtable_root(pt), 5, false);
    warm(0x40000000, 0);
    (void)access(0x40000000, MM_LOAD);
    (void)access(0x40001000, MM_LOAD);
    tlb *d = mmu_dtlb(m);
    mmu_invpcid(m, 0, 5, 0x40000000);         /* individual address: globals stay */
    cr_assert_not_null(tlb_probe(d, 0x40000000, 5));
    mmu_invpcid(m, 0, 5, 0x40001000);
    cr_assert_null(tlb_probe(d, 0x40001000, 5));
    (void)access(0x40001000, MM_LOAD);
    mmu_invpcid(m, 1, 5, 0);                  /* single context: non-global of PCID 5 */
    cr_assert_null(tlb_probe(d, 0x40001000, 5));
    cr_assert_not_null(tlb_probe(d, 0x40000000, 5));
    mmu_invpcid(m, 3, 0, 0);                  /* all but globals */
    cr_assert_not_null(tlb_probe(d, 0x40000000, 5));
    mmu_invpcid(m, 2, 0, 0);                  /* everything */
    cr_assert_null(tlb_probe(d, 0x40000000, 5));
    cr_assert_eq(tlb_occupancy(mmu_stlb(m)), 0);
}

Test(mmu, inclusive_stlb_back_invalidates)
{
    cfg.stlb_inclusive = true;
    cfg.stlb.tlb.array[0] = (tlb_array_cfg){.sets = 1, .ways = 1, .repl = REPL_LRU,
                                            .holds = MM_PS_BIT(MM_PS_4K) | MM_PS_BIT(MM_PS_2M)};
    cfg.stlb.tlb.array[1].ways = 0;
    build();
    map(0x40000000, 0x1000000, F);
    map(0x40001000, 0x1001000, F);
    warm(0x40000000, 0);
    (void)access(0x40000000, MM_LOAD);
    mmu_advance(m, 10000);
    (void)access(0x40001000, MM_LOAD);     /* evicts A from the STLB, and so from L1 */
    mmu_advance(m, 20000);
    cr_assert_eq(access(0x40000000, MM_LOAD).where, MMU_WALK);
    cr_assert_eq(counter("stlb.back_invalidations"), 1);
}

Test(mmu, deterministic_counters)
{
    /* Same inputs, same counters: two identical MMUs over a pseudo-random
     * stream give identical exports. */
    cfg.dtlb.tlb.array[0].repl = REPL_RANDOM;
    build();
    for (uint64_t p = 0; p < 64; p++)
        map(0x40000000 + p * 4096, 0x1000000 + p * 4096, F);
    /* Set the upper entries' A bits with a throw-away MMU, so both MMUs
     * below see the same page tables. */
    mmu *m3 = mmu_create(&cfg, 0, pm, ms, NULL, 0);
    mmu_write_cr3(m3, pgtable_root(pt), 0, false);
    mmu_result r0;
    mmu_access(m3, 0x40000000, MM_LOAD, MM_USER, &r0);
    mmu_free(m3);
    mmu *m2 = mmu_create(&cfg, 0, pm, ms, NULL, 0);
    mmu_write_cr3(m2, pgtable_root(pt), 0, false);
    uint64_t x = 12345;
    for (unsigned i = 0; i < 2000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t va = 0x40000000 + ((x >> 33) % 64) * 4096;
        mmu_result r1, r2;
        mmu_access(m, va, MM_LOAD, MM_USER, &r1);
        mmu_access(m2, va, MM_LOAD, MM_USER, &r2);
        cr_assert_eq(r1.done, r2.done);
    }
    stats *a = stats_create(), *b = stats_create();
    mmu_export_stats(m, a);
    mmu_export_stats(m2, b);
    cr_assert_eq(stats_count(a), stats_count(b));
    for (size_t i = 0; i < stats_count(a); i++)
        cr_assert_eq(stats_value(a, i), stats_value(b, i), "%s", stats_name(a, i));
    stats_free(a);
    stats_free(b);
    mmu_free(m2);
}

/* mmu_set_walker_mem: a port of the caller's serves the walks (the
 * entries' values from the image, 7 cycles a read), and NULL gives the
 * MMU's own port back (READ a read). */
typedef struct port7_ctx {
    walker_physmem image;   /* values only: no memsys */
    unsigned reads;
} port7_ctx;

static unsigned port7_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value, unsigned *src)
{
    port7_ctx *p = ctx;
    walker_mem values = walker_mem_physmem(&p->image);
    p->reads++;
    return values.read(values.ctx, pa, level, now, value, src) + 7;
}

static unsigned port7_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits, uint64_t *old,
                          unsigned *src)
{
    port7_ctx *p = ctx;
    walker_mem values = walker_mem_physmem(&p->image);
    return values.rmw(values.ctx, pa, level, now, bits, old, src) + 7;
}

Test(mmu, walker_mem_replaced_and_restored)
{
    build();
    map(0x400000, 0x800000, F);
    map(0x401000, 0x801000, F);
    warm(0x400000, 10000);
    port7_ctx ctx = {.image = {.m = cfg_mode(&cfg), .pm = pm, .ms = NULL}, .reads = 0};
    walker_mem mine = {.read = port7_read, .rmw = port7_rmw, .ctx = &ctx};
    mmu_set_walker_mem(m, &mine);
    mmu_result r = access(0x400000, MM_LOAD);
    cr_assert_eq(r.done - r.issue, L1 + L2 + 4 * 7);
    cr_assert_eq(ctx.reads, 4);
    mmu_set_walker_mem(m, NULL);
    mmu_advance(m, 20000);   /* the one walker is free again */
    r = access(0x401000, MM_LOAD);
    cr_assert_eq(r.done - r.issue, L1 + L2 + 4 * READ);
    cr_assert_eq(ctx.reads, 4);
}
