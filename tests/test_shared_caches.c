/* test_shared_caches.c -- page-table reads and program data in one cache
 * hierarchy (memsys scope all): data evicts page-table lines and a walk
 * then misses them, the L1i is separate from the L1d, the per-level
 * data/page-table counters, the page-table-only mode.
 *
 * Latencies are distinct (l1i 3, l1d 4, l2 12, llc 40, dram 200) so a
 * latency names the level that served an access.  Every access is issued
 * 1000 cycles after the one before (tick), so every earlier fill has
 * arrived, except in hit_under_miss. */
#include <criterion/criterion.h>
#include <string.h>

#include "mmusim/memsys.h"
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/pwc.h"
#include "mmusim/stats.h"
#include "mmusim/walker.h"

#define L1I_LAT 3u
#define L1_LAT 4u
#define L2_LAT 12u
#define LLC_LAT 40u
#define DRAM_LAT 200u

static memsys *ms;
static mm_cycle clk;

static mm_cycle tick(void)
{
    return clk += 1000;
}

static void teardown(void)
{
    memsys_free(ms);
    ms = NULL;
    clk = 0;
}

TestSuite(shared, .fini = teardown);

/* scope all, LRU everywhere, 64-byte lines: l1d 1 set x 2 ways, l2 1 x 4,
 * llc 4 x 4, l1i 1 x 1. */
static memsys_cfg shared_cfg(void)
{
    memsys_cfg cfg = {
        .model = MEMSYS_CACHES,
        .scope = MEMSYS_SCOPE_ALL,
        .line_bytes = 64,
        .ncaches = 3,
        .cache = {
            {.name = "l1d", .sets = 1, .ways = 2, .latency = L1_LAT, .repl = REPL_LRU},
            {.name = "l2", .sets = 1, .ways = 4, .latency = L2_LAT, .repl = REPL_LRU},
            {.name = "llc", .sets = 4, .ways = 4, .latency = LLC_LAT, .repl = REPL_LRU},
        },
        .l1i = {.name = "l1i", .sets = 1, .ways = 1, .latency = L1I_LAT, .repl = REPL_LRU},
        .dram_latency = DRAM_LAT,
        .rmw_latency = 20,
        .seed = 1,
    };
    return cfg;
}

static void make(const memsys_cfg *cfg)
{
    ms = memsys_create(cfg, NULL, 0);
    cr_assert_not_null(ms);
}

static void expect_pt(uint64_t pa, unsigned lat, memsys_source src)
{
    memsys_source s = 99;
    cr_expect_eq(memsys_read(ms, pa, tick(), &s), lat, "page-table read %#llx", (unsigned long long)pa);
    cr_expect_eq(s, src, "page-table read %#llx source", (unsigned long long)pa);
}

static void expect_data(uint64_t pa, mm_kind kind, unsigned lat)
{
    cr_expect_eq(memsys_data(ms, pa, kind, tick()), lat, "kind %d %#llx", (int)kind, (unsigned long long)pa);
}

static const memsys_level_counters *level(unsigned l)
{
    return &memsys_get_counters(ms)->level[l];
}

static void expect_level(unsigned l, uint64_t dh, uint64_t dm, uint64_t ph, uint64_t pm)
{
    const memsys_level_counters *c = level(l);
    cr_expect_eq(c->data_hits, dh, "level %u data hits %llu", l, (unsigned long long)c->data_hits);
    cr_expect_eq(c->data_misses, dm, "level %u data misses %llu", l, (unsigned long long)c->data_misses);
    cr_expect_eq(c->pt_hits, ph, "level %u pt hits %llu", l, (unsigned long long)c->pt_hits);
    cr_expect_eq(c->pt_misses, pm, "level %u pt misses %llu", l, (unsigned long long)c->pt_misses);
}

/* A page-table line P, then a load and a store (write-allocate) of two
 * other lines: the 2-way l1d now holds the data, so P comes from l2. */
Test(shared, data_evicts_page_table_line_from_l1d)
{
    memsys_cfg cfg = shared_cfg();
    make(&cfg);
    expect_pt(0x1000, DRAM_LAT, 3);
    expect_data(0x2000, MM_LOAD, DRAM_LAT);
    expect_data(0x3000, MM_STORE, DRAM_LAT);   /* a store miss fills like a load */
    expect_pt(0x1000, L2_LAT, 1);
    /* l1d was {0x2000, 0x3000}; P's fill evicted 0x2000 (LRU): 0x3000 hits */
    expect_data(0x3000, MM_LOAD, L1_LAT);
    expect_data(0x2000, MM_LOAD, L2_LAT);
    expect_level(MEMSYS_LEVEL_L1D, 1, 3, 0, 2);
    expect_level(MEMSYS_LEVEL_L2, 1, 2, 1, 1);
    expect_level(MEMSYS_LEVEL_LLC, 0, 2, 0, 1);
    expect_level(MEMSYS_LEVEL_L1I, 0, 0, 0, 0);
}

/* Four data lines in P's llc set (4 ways) push P out of every level: the
 * next read of P is served by DRAM. */
Test(shared, data_evicts_page_table_line_to_dram)
{
    memsys_cfg cfg = shared_cfg();
    make(&cfg);
    expect_pt(0x1000, DRAM_LAT, 3);   /* line 0x40: llc set 0 */
    for (uint64_t j = 0; j < 4; j++)
        expect_data(0x10000 + j * 0x100, MM_LOAD, DRAM_LAT);   /* lines 0x400 + 4j: set 0 */
    expect_pt(0x1000, DRAM_LAT, 3);
    expect_level(MEMSYS_LEVEL_LLC, 0, 4, 0, 2);
}

/* Fetches go through the l1i then the shared l2/llc; loads never touch
 * the l1i, fetches never the l1d. */
Test(shared, l1i_is_separate)
{
    memsys_cfg cfg = shared_cfg();
    make(&cfg);
    cr_expect_eq(memsys_l1_latency(ms, MM_IFETCH), L1I_LAT);
    cr_expect_eq(memsys_l1_latency(ms, MM_LOAD), L1_LAT);
    cr_expect_eq(memsys_l1_latency(ms, MM_STORE), L1_LAT);
    expect_data(0x5000, MM_IFETCH, DRAM_LAT);
    expect_data(0x5000, MM_LOAD, L2_LAT);      /* the code line is in l2, not in l1d */
    expect_data(0x2000, MM_LOAD, DRAM_LAT);
    expect_data(0x3000, MM_LOAD, DRAM_LAT);    /* l1d: 0x5000 evicted */
    expect_data(0x5000, MM_IFETCH, L1I_LAT);   /* ... but the l1i still holds it */
    expect_data(0x6000, MM_IFETCH, DRAM_LAT);  /* the 1-way l1i now holds 0x6000 */
    expect_data(0x5000, MM_IFETCH, L2_LAT);
    expect_level(MEMSYS_LEVEL_L1I, 1, 3, 0, 0);
    expect_level(MEMSYS_LEVEL_L1D, 0, 3, 0, 0);
    expect_level(MEMSYS_LEVEL_L2, 2, 4, 0, 0);
}

/* A line still on its way (its fill arrives at 1000 + 200): a load at
 * 1050 waits 150 cycles for it, one at 1190 10 cycles; a hit never costs
 * less than the level's latency (1197: 4, not 3). */
Test(shared, hit_under_miss)
{
    memsys_cfg cfg = shared_cfg();
    make(&cfg);
    cr_expect_eq(memsys_data(ms, 0x2000, MM_LOAD, 1000), DRAM_LAT);
    cr_expect_eq(memsys_data(ms, 0x2008, MM_LOAD, 1050), 150);
    cr_expect_eq(memsys_data(ms, 0x2010, MM_LOAD, 1190), 10);
    cr_expect_eq(memsys_data(ms, 0x2018, MM_LOAD, 1197), L1_LAT);
    cr_expect_eq(memsys_data(ms, 0x2020, MM_LOAD, 1200), L1_LAT);
    expect_level(MEMSYS_LEVEL_L1D, 4, 1, 0, 0);
}

/* scope pagetables: data is not modelled and counts nothing; page-table
 * reads are served as before; the export has page-table counters only. */
Test(shared, pagetables_scope)
{
    memsys_cfg cfg = shared_cfg();
    cfg.scope = MEMSYS_SCOPE_PAGETABLES;
    make(&cfg);
    cr_expect_not(memsys_has_data(ms));
    cr_expect_eq(memsys_l1_latency(ms, MM_LOAD), 0);
    expect_data(0x2000, MM_LOAD, 0);
    expect_data(0x3000, MM_IFETCH, 0);
    expect_pt(0x1000, DRAM_LAT, 3);
    expect_pt(0x1000, L1_LAT, 0);
    expect_level(MEMSYS_LEVEL_L1D, 0, 0, 1, 1);
    stats *s = stats_create();
    memsys_export_stats(ms, s);
    static const char *const names[] = {"memsys.l1d.pt.hits", "memsys.l1d.pt.misses", "memsys.l2.pt.hits",
                                        "memsys.l2.pt.misses", "memsys.llc.pt.hits", "memsys.llc.pt.misses"};
    static const uint64_t vals[] = {1, 1, 0, 1, 0, 1};
    cr_assert_eq(stats_count(s), 6);
    for (size_t i = 0; i < 6; i++) {
        cr_expect_str_eq(stats_name(s, i), names[i]);
        cr_expect_eq(stats_value(s, i), vals[i], "%s", names[i]);
    }
    stats_free(s);
}

/* The export names every level, l1i first, data before page tables; a
 * reset zeroes the counters and keeps the lines. */
Test(shared, export_and_reset)
{
    memsys_cfg cfg = shared_cfg();
    make(&cfg);
    expect_data(0x5000, MM_IFETCH, DRAM_LAT);
    expect_pt(0x1000, DRAM_LAT, 3);
    expect_data(0x1000, MM_LOAD, L1_LAT);   /* a page-table line read as data */
    stats *s = stats_create();
    memsys_export_stats(ms, s);
    static const char *const names[] = {
        "memsys.l1i.data.hits", "memsys.l1i.data.misses", "memsys.l1d.data.hits", "memsys.l1d.data.misses",
        "memsys.l1d.pt.hits",   "memsys.l1d.pt.misses",   "memsys.l2.data.hits",  "memsys.l2.data.misses",
        "memsys.l2.pt.hits",    "memsys.l2.pt.misses",    "memsys.llc.data.hits", "memsys.llc.data.misses",
        "memsys.llc.pt.hits",   "memsys.llc.pt.misses",
    };
    static const uint64_t vals[] = {0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    cr_assert_eq(stats_count(s), 14);
    for (size_t i = 0; i < 14; i++) {
        cr_expect_str_eq(stats_name(s, i), names[i]);
        cr_expect_eq(stats_value(s, i), vals[i], "%s", names[i]);
    }
    stats_free(s);
    memsys_reset_stats(ms);
    expect_level(MEMSYS_LEVEL_L1D, 0, 0, 0, 0);
    expect_pt(0x1000, L1_LAT, 0);              /* still cached */
    expect_data(0x5000, MM_IFETCH, L1I_LAT);
    expect_level(MEMSYS_LEVEL_L1D, 0, 0, 1, 0);
    expect_level(MEMSYS_LEVEL_L1I, 1, 0, 0, 0);
}

/* ---- a walk through the shared hierarchy ------------------------------- */

/* x86-64, no page-walk cache (every walk reads four entries), one walker:
 * l1d 1 x 4 (holds a walk's four lines), l2 1 x 8, llc 64 x 8, LRU.
 * VA's indices 1 / 8 / 16 / 24 put its entries at byte 8, 64, 128, 192 of
 * their tables: lines 0, 1, 2, 3 of 4 KiB-aligned pages, so llc sets 0..3. */
#define VA 0x8202018000ull   /* pml4 1, pdpt 8, pd 16, pt 24 */
#define DATA 0x40000000ull   /* data lines: DATA + n * 64 is in llc set n % 64 */

Test(shared, walk_misses_line_evicted_by_data)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    physmem *pm = physmem_create(46, 0x10000000ull, 0x20000000ull, NULL, 0);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    memsys_cfg mc = shared_cfg();
    mc.cache[0] = (memsys_cache_cfg){.name = "l1d", .sets = 1, .ways = 4, .latency = L1_LAT, .repl = REPL_LRU};
    mc.cache[1] = (memsys_cache_cfg){.name = "l2", .sets = 1, .ways = 8, .latency = L2_LAT, .repl = REPL_LRU};
    mc.cache[2] = (memsys_cache_cfg){.name = "llc", .sets = 64, .ways = 8, .latency = LLC_LAT, .repl = REPL_LRU};
    make(&mc);
    pwc_cfg pc = {.design = PWC_NONE, .seed = 1};
    pwc *cache = pwc_create(&pc, m, NULL, 0);
    walker_physmem image = {.m = m, .pm = pm, .ms = ms};
    walker_mem port = walker_mem_physmem(&image);
    walker_cfg wc = {.walkers = 1, .merge = false, .pa_bits = 46};
    walker *w = walker_create(&wc, m, cache, &port, NULL, 0);
    cr_assert(pm && pt && cache && w);
    walk_regs regs = {.root = pgtable_root(pt), .wp = true};
    cr_assert_eq(pgtable_map(pt, VA, 0x200000, 4096, 12, PTE_RW | PTE_US), PGT_OK);

    walk_req q = {VA, MM_LOAD, MM_USER};
    walk_result r;
    walker_walk_now(w, &regs, &q, tick(), &r);   /* cold; sets the A bits */
    cr_assert_not(r.fault);
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq((r.step[i].entry_pa >> 6) & 63, i, "entry %u in llc set %u", i, i);
    walker_walk_now(w, &regs, &q, tick(), &r);
    cr_expect_eq(r.end - r.start, 4 * L1_LAT, "warm walk: four l1d hits");

    /* four data lines (llc sets 10..13) take the l1d: the walk reads l2 */
    for (uint64_t n = 10; n < 14; n++)
        expect_data(DATA + n * 64, MM_LOAD, DRAM_LAT);
    const walker_counters *wcn = walker_get_counters(w);
    uint64_t from_l2 = wcn->reads_by_src[1];
    walker_walk_now(w, &regs, &q, tick(), &r);
    cr_expect_eq(r.end - r.start, 4 * L2_LAT, "walk after the l1d was taken by data");
    cr_expect_eq(wcn->reads_by_src[1] - from_l2, 4);

    /* eight more (sets 20..27) take the l2 as well: the walk reads the llc */
    for (uint64_t n = 20; n < 28; n++)
        expect_data(DATA + n * 64, MM_LOAD, DRAM_LAT);
    walker_walk_now(w, &regs, &q, tick(), &r);
    cr_expect_eq(r.end - r.start, 4 * LLC_LAT, "walk after l1d and l2 were taken by data");

    /* eight in the leaf entry's llc set 3 evict it there too: DRAM */
    uint64_t from_dram = wcn->reads_by_src[3];
    for (uint64_t j = 0; j < 8; j++)
        expect_data(DATA + (3 + 64 * j) * 64, MM_LOAD, DRAM_LAT);
    walker_walk_now(w, &regs, &q, tick(), &r);
    cr_expect_eq(r.end - r.start, 3 * LLC_LAT + DRAM_LAT, "the leaf's line was evicted from every level");
    cr_expect_eq(wcn->reads_by_src[3] - from_dram, 1);
    cr_expect_eq(r.step[3].latency, DRAM_LAT);

    walker_free(w);
    pwc_free(cache);
    pgtable_free(pt);
    physmem_free(pm);
}
