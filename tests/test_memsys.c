/* test_memsys.c -- the page-table memory model: fixed latency, the cache
 * hierarchy's serving level, latency and fills, locked RMWs, source names and
 * config checks.  Latencies are chosen distinct (4, 12, 40, 200, rmw 20) so a
 * latency names the level that served the read. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "mmusim/memsys.h"

#define L1_LAT 4u
#define L2_LAT 12u
#define LLC_LAT 40u
#define DRAM_LAT 200u
#define RMW_LAT 20u

static memsys *ms;

static void teardown(void)
{
    memsys_free(ms);
    ms = NULL;
}

TestSuite(memsys, .fini = teardown);

/* Three levels, 64-byte lines: l1d 4x2, l2 16x4, llc 64x8, all LRU. */
static memsys_cfg caches_cfg(void)
{
    memsys_cfg cfg = {
        .model = MEMSYS_CACHES,
        .line_bytes = 64,
        .ncaches = 3,
        .cache = {
            {.name = "l1d", .sets = 4, .ways = 2, .latency = L1_LAT, .repl = REPL_LRU},
            {.name = "l2", .sets = 16, .ways = 4, .latency = L2_LAT, .repl = REPL_LRU},
            {.name = "llc", .sets = 64, .ways = 8, .latency = LLC_LAT, .repl = REPL_LRU},
        },
        .dram_latency = DRAM_LAT,
        .rmw_latency = RMW_LAT,
        .seed = 1,
    };
    return cfg;
}

static memsys *make(const memsys_cfg *cfg)
{
    memsys *m = memsys_create(cfg, NULL, 0);
    cr_assert_not_null(m);
    return m;
}

/* Each read in these tests is issued 1000 cycles after the one before, so
 * every earlier fill has arrived (see hit_under_miss for reads that overlap). */
static mm_cycle clk;
static mm_cycle tick(void)
{
    return clk += 1000;
}

/* Read pa and check both the latency and the serving source. */
static void expect_read(uint64_t pa, unsigned lat, memsys_source src)
{
    memsys_source s = 99;
    cr_expect_eq(memsys_read(ms, pa, tick(), &s), lat, "read %#llx latency", (unsigned long long)pa);
    cr_expect_eq(s, src, "read %#llx source", (unsigned long long)pa);
}

Test(memsys, model_names)
{
    cr_expect_str_eq(memsys_model_name(MEMSYS_FIXED), "fixed");
    cr_expect_str_eq(memsys_model_name(MEMSYS_CACHES), "caches");
    cr_expect_eq(memsys_model_by_name("caches"), MEMSYS_CACHES);
    cr_expect_eq(memsys_model_by_name("fixed"), MEMSYS_FIXED);
    cr_expect_eq(memsys_model_by_name("dram"), -1);
}

/* The fixed model ignores every cache key: a zeroed cache part is fine. */
Test(memsys, fixed_latency)
{
    memsys_cfg cfg = {.model = MEMSYS_FIXED, .fixed_latency = 150, .rmw_latency = RMW_LAT};
    ms = make(&cfg);
    cr_expect_eq(memsys_nsources(ms), 1);
    cr_expect_str_eq(memsys_source_name(ms, 0), "mem");
    for (int i = 0; i < 3; i++)
        expect_read(0x1000, 150, 0);
    expect_read(0xdeadbeef8, 150, 0);
    memsys_source s = 99;
    cr_expect_eq(memsys_rmw(ms, 0x1000, tick(), &s), 150 + RMW_LAT);
    cr_expect_eq(s, 0);
    cr_expect_eq(memsys_read(ms, 0x2000, tick(), NULL), 150);
}

Test(memsys, source_names)
{
    memsys_cfg cfg = caches_cfg();
    char l2name[8] = "L2$";
    cfg.cache[1].name = l2name;
    cfg.cache[2].name = NULL;   /* falls back to the slot's key */
    ms = make(&cfg);
    l2name[0] = 'X';            /* names are copied at create */
    cr_expect_eq(memsys_nsources(ms), 4);
    cr_expect_str_eq(memsys_source_name(ms, 0), "l1d");
    cr_expect_str_eq(memsys_source_name(ms, 1), "L2$");
    cr_expect_str_eq(memsys_source_name(ms, 2), "llc");
    cr_expect_str_eq(memsys_source_name(ms, 3), "dram");
}

/* Miss everywhere, then an L1 hit; any pa in the same 64-byte line hits. */
Test(memsys, first_read_dram_then_l1)
{
    memsys_cfg cfg = caches_cfg();
    ms = make(&cfg);
    expect_read(0x10040, DRAM_LAT, 3);
    expect_read(0x10040, L1_LAT, 0);
    expect_read(0x10078, L1_LAT, 0);    /* last entry of the line */
    expect_read(0x10080, DRAM_LAT, 3);  /* next line */
    expect_read(0x10038, DRAM_LAT, 3);  /* previous line */
}

/* l1d of one 1-way set: B evicts A from l1d, but l2 still holds A. */
Test(memsys, l1_eviction_served_by_l2)
{
    memsys_cfg cfg = caches_cfg();
    cfg.cache[0].sets = 1;
    cfg.cache[0].ways = 1;
    ms = make(&cfg);
    expect_read(0x1000, DRAM_LAT, 3);
    expect_read(0x2000, DRAM_LAT, 3);
    expect_read(0x1000, L2_LAT, 1);
    expect_read(0x1000, L1_LAT, 0);     /* the l2 hit filled l1d */
    expect_read(0x2000, L2_LAT, 1);
}

/* A line only the llc still holds is served there and refilled above. */
Test(memsys, llc_serves_and_fills_above)
{
    memsys_cfg cfg = caches_cfg();
    cfg.cache[0].sets = cfg.cache[1].sets = 1;
    cfg.cache[0].ways = cfg.cache[1].ways = 1;
    ms = make(&cfg);
    expect_read(0x1000, DRAM_LAT, 3);
    expect_read(0x2000, DRAM_LAT, 3);
    expect_read(0x1000, LLC_LAT, 2);
    expect_read(0x1000, L1_LAT, 0);
    expect_read(0x2000, LLC_LAT, 2);    /* refilling A pushed B out of l1d and l2 */
}

/* LRU in l1d (1 set, 2 ways): A, B, A, C evicts B, not A. */
Test(memsys, l1_lru)
{
    memsys_cfg cfg = caches_cfg();
    cfg.cache[0].sets = 1;
    ms = make(&cfg);
    expect_read(0x1000, DRAM_LAT, 3);
    expect_read(0x2000, DRAM_LAT, 3);
    expect_read(0x1000, L1_LAT, 0);
    expect_read(0x3000, DRAM_LAT, 3);
    expect_read(0x1000, L1_LAT, 0);
    expect_read(0x2000, L2_LAT, 1);
}

/* A slot with ways 0 keeps its number and name but never serves a read. */
Test(memsys, absent_level_skipped)
{
    memsys_cfg cfg = caches_cfg();
    cfg.cache[0].sets = 1;
    cfg.cache[0].ways = 1;
    cfg.cache[1].ways = 0;
    ms = make(&cfg);
    cr_expect_eq(memsys_nsources(ms), 4);
    cr_expect_str_eq(memsys_source_name(ms, 1), "l2");
    expect_read(0x1000, DRAM_LAT, 3);
    expect_read(0x2000, DRAM_LAT, 3);
    expect_read(0x1000, LLC_LAT, 2);
}

/* No caches at all: every read goes to DRAM, the only source. */
Test(memsys, no_caches)
{
    memsys_cfg cfg = caches_cfg();
    cfg.ncaches = 0;
    ms = make(&cfg);
    cr_expect_eq(memsys_nsources(ms), 1);
    cr_expect_str_eq(memsys_source_name(ms, 0), "dram");
    expect_read(0x1000, DRAM_LAT, 0);
    expect_read(0x1000, DRAM_LAT, 0);
}

/* A locked RMW costs the read (which makes the line present) + rmw_latency. */
Test(memsys, rmw_adds_rmw_latency)
{
    memsys_cfg cfg = caches_cfg();
    ms = make(&cfg);
    memsys_source s = 99;
    cr_expect_eq(memsys_rmw(ms, 0x5008, tick(), &s), DRAM_LAT + RMW_LAT);
    cr_expect_eq(s, 3);
    cr_expect_eq(memsys_rmw(ms, 0x5010, tick(), &s), L1_LAT + RMW_LAT);
    cr_expect_eq(s, 0);
    expect_read(0x5000, L1_LAT, 0);
}

Test(memsys, flush_drops_every_line)
{
    memsys_cfg cfg = caches_cfg();
    ms = make(&cfg);
    expect_read(0x1000, DRAM_LAT, 3);
    expect_read(0x1000, L1_LAT, 0);
    memsys_flush(ms);
    expect_read(0x1000, DRAM_LAT, 3);
}

/* Random replacement is reproducible from the seed. */
Test(memsys, random_replacement_is_seeded)
{
    memsys_cfg cfg = caches_cfg();
    for (unsigned i = 0; i < 3; i++) {
        cfg.cache[i].sets = 1;
        cfg.cache[i].repl = REPL_RANDOM;
    }
    ms = make(&cfg);
    memsys *other = make(&cfg);
    unsigned total = 0;
    for (uint64_t i = 0; i < 200; i++) {
        uint64_t pa = ((i * 7) % 23) * 64;
        unsigned a = memsys_read(ms, pa, tick(), NULL);
        cr_expect_eq(a, memsys_read(other, pa, tick(), NULL), "read %llu", (unsigned long long)i);
        total += a;
    }
    cr_expect_gt(total, 0);
    memsys_free(other);
}

/* ---- line size ------------------------------------------------------- */

typedef struct line_case {
    unsigned line_bytes;
    uint64_t first, second;
    bool same_line;
} line_case;

ParameterizedTestParameters(memsys, line_bytes)
{
    static line_case cases[] = {
        {64, 0x1000, 0x103f, true},
        {64, 0x1000, 0x1040, false},
        {8, 0x1000, 0x1007, true},
        {8, 0x1000, 0x1008, false},
        {4096, 0x1000, 0x1ff8, true},
        {4096, 0x1000, 0x2000, false},
    };
    return cr_make_param_array(line_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(line_case *p, memsys, line_bytes)
{
    memsys_cfg cfg = caches_cfg();
    cfg.line_bytes = p->line_bytes;
    ms = make(&cfg);
    expect_read(p->first, DRAM_LAT, 3);
    if (p->same_line)
        expect_read(p->second, L1_LAT, 0);
    else
        expect_read(p->second, DRAM_LAT, 3);
}

/* ---- config ---------------------------------------------------------- */

#define SLOT_NONE 99u

typedef struct check_case {
    memsys_model model;
    unsigned line_bytes;
    unsigned ncaches;
    unsigned slot;            /* cache slot changed, or SLOT_NONE */
    unsigned sets, ways;
    repl_policy repl;
    /* Expected message, "" = valid.  Held inline: Criterion runs each case
     * in a fresh process, where pointers into the parent's image are stale. */
    char want[64];
} check_case;

#define LINE_ERR "memsys.line_bytes must be a power of two from 8 to 4096"

ParameterizedTestParameters(memsys, cfg_check)
{
    static check_case cases[] = {
        {MEMSYS_CACHES, 64, 3, SLOT_NONE, 0, 0, REPL_LRU, ""},
        {(memsys_model)2, 64, 3, SLOT_NONE, 0, 0, REPL_LRU, "memsys.model must be one of fixed, caches"},
        {MEMSYS_CACHES, 0, 3, SLOT_NONE, 0, 0, REPL_LRU, LINE_ERR},
        {MEMSYS_CACHES, 4, 3, SLOT_NONE, 0, 0, REPL_LRU, LINE_ERR},
        {MEMSYS_CACHES, 48, 3, SLOT_NONE, 0, 0, REPL_LRU, LINE_ERR},
        {MEMSYS_CACHES, 8192, 3, SLOT_NONE, 0, 0, REPL_LRU, LINE_ERR},
        {MEMSYS_CACHES, 8, 3, SLOT_NONE, 0, 0, REPL_LRU, ""},
        {MEMSYS_CACHES, 4096, 3, SLOT_NONE, 0, 0, REPL_LRU, ""},
        {MEMSYS_CACHES, 64, 4, SLOT_NONE, 0, 0, REPL_LRU, "memsys has at most 3 caches (l1d, l2, llc)"},
        {MEMSYS_CACHES, 64, 0, SLOT_NONE, 0, 0, REPL_LRU, ""},
        {MEMSYS_CACHES, 64, 3, 0, 3, 2, REPL_LRU, "memsys.l1d.sets must be a power of two"},
        {MEMSYS_CACHES, 64, 3, 0, 0, 2, REPL_LRU, "memsys.l1d.sets must be a power of two"},
        {MEMSYS_CACHES, 64, 3, 1, 16, 65, REPL_LRU, "memsys.l2.ways must be at most 64"},
        {MEMSYS_CACHES, 64, 3, 1, 16, 64, REPL_PLRU, ""},
        {MEMSYS_CACHES, 64, 3, 2, 16, 4, (repl_policy)REPL_COUNT, "memsys.llc.replacement is not a known policy"},
        /* Absent and unused slots have nothing to check. */
        {MEMSYS_CACHES, 64, 3, 1, 0, 0, REPL_LRU, ""},
        {MEMSYS_CACHES, 64, 2, 2, 3, 4, REPL_LRU, ""},
        /* The fixed model reads no cache key. */
        {MEMSYS_FIXED, 0, 7, 0, 3, 99, REPL_LRU, ""},
    };
    return cr_make_param_array(check_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(check_case *p, memsys, cfg_check)
{
    memsys_cfg cfg = caches_cfg();
    cfg.model = p->model;
    cfg.line_bytes = p->line_bytes;
    cfg.ncaches = p->ncaches;
    if (p->slot != SLOT_NONE) {
        cfg.cache[p->slot].sets = p->sets;
        cfg.cache[p->slot].ways = p->ways;
        cfg.cache[p->slot].repl = p->repl;
    }
    const char *err = memsys_cfg_check(&cfg);
    if (p->want[0])
        cr_expect_str_eq(err ? err : "(null)", p->want);
    else
        cr_expect_null(err, "unexpected error: %s", err ? err : "");
    /* memsys_create accepts exactly the valid configs, and says why not. */
    char why[256] = "";
    ms = memsys_create(&cfg, why, sizeof why);
    cr_expect_eq(ms != NULL, p->want[0] == '\0');
    if (p->want[0]) {
        char want[256];
        snprintf(want, sizeof want, "memsys: %s", p->want);
        cr_expect_str_eq(why, want);
    }
}

/* Reads that overlap in time: a line asked for at cycle 0 arrives in l1d at
 * DRAM_LAT; a read at cycle 50 waits for it (DRAM_LAT - 50), a read at
 * DRAM_LAT + 10 hits.  A read computed later but issued earlier in time
 * (cycle 0 after a fill asked at cycle 1000) costs no more than DRAM_LAT,
 * and moves the line's arrival earlier for the reads after it. */
Test(memsys, hit_under_miss)
{
    memsys_cfg cfg = caches_cfg();
    ms = make(&cfg);
    memsys_source s;
    cr_expect_eq(memsys_read(ms, 0x1000, 0, &s), DRAM_LAT);
    cr_expect_eq(memsys_read(ms, 0x1008, 50, &s), DRAM_LAT - 50);
    cr_expect_eq(s, 0);
    cr_expect_eq(memsys_read(ms, 0x1000, DRAM_LAT + 10, &s), L1_LAT);
    cr_expect_eq(memsys_read(ms, 0x9000, 1000, &s), DRAM_LAT);          /* arrives 1000 + DRAM_LAT */
    cr_expect_eq(memsys_read(ms, 0x9000, 0, &s), DRAM_LAT);             /* capped: its own miss */
    cr_expect_eq(memsys_read(ms, 0x9000, 10, &s), DRAM_LAT - 10);       /* now arrives at DRAM_LAT */
}
