/* test_pwc.c -- page-walk caches: skip depth per design, VA prefixes per
 * paging mode, PCIDs, flushes, replacement, the PTE cache and config checks.
 *
 * Expectations are derived by hand from the prefix rule of pwc.h: the level-L
 * prefix of va is va bits [va_bits-1 : shift[L]] (x86-64: PD 21, PDPT 30,
 * PML4 39). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <criterion/parameterized.h>

#include "mmusim/pwc.h"
#include "mmusim/tlb.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* A user VA; its PD/PDPT/PML4 regions are [VA_A & ~(2M-1)], etc. */
#define VA_A 0x00007f0012345000ull

static pwc *c;

static void teardown(void)
{
    pwc_free(c);
    c = NULL;
}

TestSuite(pwc, .fini = teardown);

/* Every array of the config gets (sets, ways, LRU). */
static pwc_cfg cfg_of(pwc_design d, unsigned sets, unsigned ways)
{
    pwc_cfg cfg = {.design = d, .latency = 1, .seed = 42};
    for (unsigned l = 2; l <= PAGING_MAX_LEVELS; l++)
        cfg.level[l] = (pwc_array_cfg){.sets = sets, .ways = ways, .repl = REPL_LRU};
    cfg.unified = (pwc_array_cfg){.sets = sets, .ways = ways, .repl = REPL_LRU};
    return cfg;
}

static pwc *make(pwc_design d, paging_kind k, unsigned sets, unsigned ways)
{
    pwc_cfg cfg = cfg_of(d, sets, ways);
    pwc *p = pwc_create(&cfg, paging_mode_get(k), NULL, 0);
    cr_assert_not_null(p);
    return p;
}

static unsigned hit_level(uint64_t va, uint16_t pcid)
{
    return pwc_lookup(c, va, pcid).level;
}

Test(pwc, design_names)
{
    for (int d = 0; d < PWC_DESIGN_COUNT; d++)
        cr_expect_eq(pwc_design_by_name(pwc_design_name((pwc_design)d)), d);
    cr_expect_str_eq(pwc_design_name(PWC_UNIFIED), "unified");
    cr_expect_eq(pwc_design_by_name("uptc"), -1);
}

/* ---- skip depth per design ------------------------------------------- */

typedef struct depth_case {
    pwc_design design;
    unsigned same_va;     /* lookup of VA_A after filling its PML4 and PD entries */
    unsigned next_pd;     /* VA_A + 2 MiB: other PD entry, same PDPT/PML4 prefix */
    unsigned other_512g;  /* VA_A + 512 GiB: another PML4 entry */
} depth_case;

ParameterizedTestParameters(pwc, deepest_hit)
{
    static depth_case cases[] = {
        {PWC_SPLIT, 2, 4, 0},
        {PWC_UNIFIED, 2, 4, 0},
        {PWC_NONE, 0, 0, 0},   /* nothing is cached */
        {PWC_PTE, 0, 0, 0},    /* skips no level: pwc_lookup always misses */
    };
    return cr_make_param_array(depth_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(depth_case *p, pwc, deepest_hit)
{
    c = make(p->design, PAGING_X86_64, 4, 4);
    pwc_fill(c, VA_A, 0, 4, 0x1003, TLB_W | TLB_U);
    pwc_fill(c, VA_A, 0, 2, 0x2003, TLB_U);
    cr_expect_eq(hit_level(VA_A, 0), p->same_va);
    cr_expect_eq(hit_level(VA_A + 2 * MiB, 0), p->next_pd);
    cr_expect_eq(hit_level(VA_A + 512 * GiB, 0), p->other_512g);
}

/* The hit carries the deepest entry's value and permissions, not another
 * level's. */
Test(pwc, hit_returns_entry_and_perm)
{
    c = make(PWC_SPLIT, PAGING_X86_64, 4, 4);
    pwc_fill(c, VA_A, 0, 3, 0xabc003, TLB_W | TLB_U | TLB_X);
    pwc_fill(c, VA_A, 0, 2, 0xdef003, TLB_U);
    pwc_hit h = pwc_lookup(c, VA_A + 4 * KiB, 0);
    cr_expect_eq(h.level, 2);
    cr_expect_eq(h.entry, 0xdef003);
    cr_expect_eq(h.perm, TLB_U);
    h = pwc_lookup(c, VA_A + 2 * MiB, 0);
    cr_expect_eq(h.level, 3);
    cr_expect_eq(h.entry, 0xabc003);
    cr_expect_eq(h.perm, TLB_W | TLB_U | TLB_X);
    /* Refilling the same entry overwrites it in place. */
    pwc_fill(c, VA_A, 0, 2, 0x777003, TLB_W);
    h = pwc_lookup(c, VA_A, 0);
    cr_expect_eq(h.entry, 0x777003);
    cr_expect_eq(h.perm, TLB_W);
    cr_expect_eq(pwc_occupancy(c, 2), 1);
}

/* 0x80000000 and 0x80200000: PD prefixes 0x400 and 0x401, one PDPT prefix 2. */
Test(pwc, prefixes_pd_vs_pdpt)
{
    c = make(PWC_SPLIT, PAGING_X86_64, 4, 4);
    pwc_fill(c, 0x80000000, 0, 2, 0x5003, 7);
    pwc_fill(c, 0x80000000, 0, 3, 0x6003, 7);
    cr_expect_eq(hit_level(0x80000000, 0), 2);
    cr_expect_eq(hit_level(0x801ff000, 0), 2);   /* same 2 MiB region */
    cr_expect_eq(hit_level(0x80200000, 0), 3);   /* next PD entry, same PDPT entry */
    cr_expect_eq(hit_level(0xbffff000, 0), 3);   /* last 4 KiB of the 1 GiB region */
    cr_expect_eq(hit_level(0xc0000000, 0), 0);   /* next PDPT entry */
    cr_expect_eq(hit_level(0x7ffff000, 0), 0);
}

/* ---- PCID and flushes ------------------------------------------------ */

ParameterizedTestParameters(pwc, pcid_tagging)
{
    static pwc_design designs[] = {PWC_SPLIT, PWC_UNIFIED};
    return cr_make_param_array(pwc_design, designs, 2);
}

ParameterizedTest(pwc_design *d, pwc, pcid_tagging)
{
    c = make(*d, PAGING_X86_64, 4, 4);
    pwc_fill(c, VA_A, 1, 2, 0x1003, 7);
    pwc_fill(c, VA_A, 1, 3, 0x2003, 7);
    pwc_fill(c, VA_A, 2, 4, 0x3003, 7);
    cr_expect_eq(hit_level(VA_A, 1), 2);
    cr_expect_eq(hit_level(VA_A, 2), 4);   /* pcid 1's deeper entries are not 2's */
    cr_expect_eq(hit_level(VA_A, 3), 0);
    cr_expect_eq(pwc_flush_pcid(c, 1), 2);
    cr_expect_eq(hit_level(VA_A, 1), 0);
    cr_expect_eq(hit_level(VA_A, 2), 4);
    cr_expect_eq(pwc_flush_pcid(c, 1), 0);
    cr_expect_eq(pwc_flush_all(c), 1);
    cr_expect_eq(pwc_occupancy(c, 0), 0);
}

ParameterizedTestParameters(pwc, flush_va)
{
    static pwc_design designs[] = {PWC_SPLIT, PWC_UNIFIED};
    return cr_make_param_array(pwc_design, designs, 2);
}

/* flush_va(VA_A, 0) removes pcid 0's entries covering VA_A at levels 2, 3,
 * 4 and nothing else: not the PD entry of the next 2 MiB region, nor pcid
 * 1's entry for the same VA. */
ParameterizedTest(pwc_design *d, pwc, flush_va)
{
    c = make(*d, PAGING_X86_64, 8, 4);
    for (unsigned l = 2; l <= 4; l++)
        pwc_fill(c, VA_A, 0, l, 0x1003 + l, 7);
    pwc_fill(c, VA_A + 2 * MiB, 0, 2, 0x9003, 7);
    pwc_fill(c, VA_A, 1, 2, 0xa003, 7);
    cr_expect_eq(pwc_occupancy(c, 0), 5);
    cr_expect_eq(pwc_flush_va(c, VA_A + 0x123, 0), 3);
    cr_expect_eq(hit_level(VA_A, 0), 0);
    cr_expect_eq(hit_level(VA_A + 2 * MiB, 0), 2);
    cr_expect_eq(hit_level(VA_A, 1), 2);
    cr_expect_eq(pwc_occupancy(c, 2), 2);
    cr_expect_eq(pwc_occupancy(c, 3), 0);
    cr_expect_eq(pwc_occupancy(c, 4), 0);
    cr_expect_eq(pwc_flush_va(c, VA_A, 0), 0);
}

/* ---- replacement ----------------------------------------------------- */

/* A 1-set, 2-way PD cache with LRU: after A, B, hit A, filling C evicts B. */
Test(pwc, lru_evicts_least_recently_used)
{
    pwc_cfg cfg = cfg_of(PWC_SPLIT, 1, 0);
    cfg.level[2] = (pwc_array_cfg){.sets = 1, .ways = 2, .repl = REPL_LRU};
    c = pwc_create(&cfg, paging_mode_get(PAGING_X86_64), NULL, 0);
    cr_assert_not_null(c);
    uint64_t a = 0x40000000, b = a + 2 * MiB, cc = a + 4 * MiB;
    pwc_fill(c, a, 0, 2, 0xa003, 7);
    pwc_fill(c, b, 0, 2, 0xb003, 7);
    cr_expect_eq(hit_level(a, 0), 2);
    pwc_fill(c, cc, 0, 2, 0xc003, 7);
    cr_expect_eq(pwc_occupancy(c, 2), 2);
    cr_expect_eq(hit_level(b, 0), 0);
    cr_expect_eq(hit_level(a, 0), 2);
    cr_expect_eq(hit_level(cc, 0), 2);
    /* Levels with ways 0 cache nothing. */
    pwc_fill(c, a, 0, 3, 0xd003, 7);
    cr_expect_eq(pwc_occupancy(c, 3), 0);
}

/* An invalidated way is refilled before any valid entry is evicted. */
Test(pwc, invalid_way_filled_first)
{
    pwc_cfg cfg = cfg_of(PWC_SPLIT, 1, 2);
    c = pwc_create(&cfg, paging_mode_get(PAGING_X86_64), NULL, 0);
    cr_assert_not_null(c);
    uint64_t a = 0x40000000, b = a + 2 * MiB, cc = a + 4 * MiB;
    pwc_fill(c, a, 0, 2, 1, 7);
    pwc_fill(c, b, 0, 2, 2, 7);
    cr_expect_eq(pwc_flush_va(c, b, 0), 1);
    pwc_fill(c, cc, 0, 2, 3, 7);   /* A is LRU but the empty way is taken */
    cr_expect_eq(hit_level(a, 0), 2);
    cr_expect_eq(hit_level(cc, 0), 2);
}

/* In a unified cache every level competes for the same ways. */
Test(pwc, unified_levels_share_ways)
{
    pwc_cfg cfg = cfg_of(PWC_UNIFIED, 1, 2);
    c = pwc_create(&cfg, paging_mode_get(PAGING_X86_64), NULL, 0);
    cr_assert_not_null(c);
    pwc_fill(c, VA_A, 0, 2, 2, 7);
    pwc_fill(c, VA_A, 0, 3, 3, 7);
    pwc_fill(c, VA_A, 0, 4, 4, 7);   /* evicts the level-2 entry (LRU) */
    cr_expect_eq(pwc_occupancy(c, 2), 0);
    cr_expect_eq(pwc_occupancy(c, 3), 1);
    cr_expect_eq(pwc_occupancy(c, 4), 1);
    cr_expect_eq(hit_level(VA_A, 0), 3);
}

typedef struct seen {
    unsigned n;
    unsigned level[16];
    uint16_t pcid[16];
    uint64_t va_base[16];
    uint64_t entry[16];
} seen;

static void record(unsigned level, uint16_t pcid, uint64_t va_base, uint64_t entry, void *ctx)
{
    seen *s = ctx;
    if (s->n < 16) {
        s->level[s->n] = level;
        s->pcid[s->n] = pcid;
        s->va_base[s->n] = va_base;
        s->entry[s->n] = entry;
    }
    s->n++;
}

/* Random replacement is reproducible: two caches with one seed end up with
 * the same contents after the same fills. */
Test(pwc, random_replacement_is_seeded)
{
    pwc_cfg cfg = cfg_of(PWC_SPLIT, 2, 4);
    cfg.level[2].repl = REPL_RANDOM;
    c = pwc_create(&cfg, paging_mode_get(PAGING_X86_64), NULL, 0);
    pwc *d = pwc_create(&cfg, paging_mode_get(PAGING_X86_64), NULL, 0);
    cr_assert(c && d);
    for (uint64_t i = 0; i < 64; i++) {
        pwc_fill(c, i * 2 * MiB, 0, 2, i, 7);
        pwc_fill(d, i * 2 * MiB, 0, 2, i, 7);
    }
    seen s1 = {0}, s2 = {0};
    pwc_foreach(c, record, &s1);
    pwc_foreach(d, record, &s2);
    cr_expect_eq(s1.n, 8);
    cr_expect_eq(s2.n, 8);
    cr_expect_arr_eq(s1.entry, s2.entry, sizeof s1.entry);
    pwc_free(d);
}

/* foreach: split arrays in level order, va_base = prefix << shift. */
Test(pwc, foreach_reports_entries)
{
    c = make(PWC_SPLIT, PAGING_X86_64, 1, 4);
    pwc_fill(c, 0x80201000, 5, 3, 0x3003, 7);
    pwc_fill(c, 0x80201000, 5, 2, 0x2003, 7);
    /* Kernel half: the sign extension is not part of the prefix. */
    pwc_fill(c, 0xffff888000001000ull, 0, 4, 0x4003, 7);
    seen s = {0};
    pwc_foreach(c, record, &s);
    cr_assert_eq(s.n, 3);
    cr_expect_eq(s.level[0], 2);
    cr_expect_eq(s.va_base[0], 0x80200000);
    cr_expect_eq(s.pcid[0], 5);
    cr_expect_eq(s.entry[0], 0x2003);
    cr_expect_eq(s.level[1], 3);
    cr_expect_eq(s.va_base[1], 0x80000000);
    cr_expect_eq(s.level[2], 4);
    cr_expect_eq(s.va_base[2], 0x0000888000000000ull);
    cr_expect_eq(hit_level(0xffff888012345000ull, 0), 4);
}

/* ---- the PTE cache --------------------------------------------------- */

Test(pwc, pte_cache)
{
    c = make(PWC_PTE, PAGING_X86_64, 16, 4);
    uint64_t pa = 0x12345ff8;
    cr_expect_not(pwc_pte_lookup(c, pa));
    pwc_pte_fill(c, pa);
    cr_expect(pwc_pte_lookup(c, pa));
    cr_expect_not(pwc_pte_lookup(c, pa + 8));
    cr_expect_not(pwc_pte_lookup(c, pa + 0x1000));
    cr_expect_eq(pwc_occupancy(c, 0), 1);
    cr_expect_eq(pwc_occupancy(c, 2), 0);
    /* Translation-cache calls do nothing here. */
    pwc_fill(c, VA_A, 0, 2, 0x1003, 7);
    cr_expect_eq(hit_level(VA_A, 0), 0);
    cr_expect_eq(pwc_flush_va(c, VA_A, 0), 0);
    seen s = {0};
    pwc_foreach(c, record, &s);
    cr_expect_eq(s.n, 0);
    uint64_t addrs[] = {pa + 8, pa};
    cr_expect_eq(pwc_flush_pte_addrs(c, addrs, 2), 1);
    cr_expect_not(pwc_pte_lookup(c, pa));
    cr_expect_eq(pwc_occupancy(c, 0), 0);
}

/* Entries carry no PCID, so a PCID flush drops them all. */
Test(pwc, pte_cache_pcid_flush_drops_all)
{
    c = make(PWC_PTE, PAGING_X86_64, 16, 4);
    pwc_pte_fill(c, 0x1000);
    pwc_pte_fill(c, 0x2008);
    cr_expect_eq(pwc_flush_pcid(c, 3), 2);
    cr_expect_eq(pwc_occupancy(c, 0), 0);
}

/* 4-byte x86-32 entries: neighbours are distinct entries. */
Test(pwc, pte_cache_4byte_entries)
{
    c = make(PWC_PTE, PAGING_X86_32, 1, 2);
    pwc_pte_fill(c, 0x1000);
    pwc_pte_fill(c, 0x1004);
    cr_expect(pwc_pte_lookup(c, 0x1000));
    cr_expect(pwc_pte_lookup(c, 0x1004));
    cr_expect_eq(pwc_occupancy(c, 0), 2);
}

/* PTE-cache calls do nothing for the translation-cache designs. */
Test(pwc, pte_calls_ignored_by_translation_caches)
{
    c = make(PWC_SPLIT, PAGING_X86_64, 4, 4);
    pwc_pte_fill(c, 0x1000);
    cr_expect_not(pwc_pte_lookup(c, 0x1000));
    uint64_t pa = 0x1000;
    cr_expect_eq(pwc_flush_pte_addrs(c, &pa, 1), 0);
    cr_expect_eq(pwc_occupancy(c, 0), 0);
}

/* ---- other paging modes ---------------------------------------------- */

/* LA57: level 5 covers 256 TiB (bit 48); canonical from bit 56. */
Test(pwc, la57_five_levels)
{
    c = make(PWC_SPLIT, PAGING_LA57, 4, 4);
    uint64_t va = (3ull << 48) | (7ull << 39) | 0x1000;
    pwc_fill(c, va, 0, 5, 0x5003, 7);
    cr_expect_eq(hit_level(va, 0), 5);
    cr_expect_eq(hit_level(va + (1ull << 39), 0), 5);   /* other PML4 entry, same PML5 entry */
    cr_expect_eq(hit_level(va + (1ull << 48), 0), 0);   /* next PML5 entry */
    pwc_fill(c, va, 0, 4, 0x4003, 7);
    cr_expect_eq(hit_level(va, 0), 4);
    cr_expect_eq(hit_level(va + (1ull << 39), 0), 5);
    /* A kernel address sign-extended from bit 56. */
    uint64_t k = 0xff11000000000000ull;
    pwc_fill(c, k, 0, 5, 0x6003, 7);
    cr_expect_eq(hit_level(k + 0x123000, 0), 5);
    cr_expect_eq(hit_level(k & ~(1ull << 48), 0), 0);
    cr_expect_eq(pwc_flush_va(c, va, 0), 2);
    cr_expect_eq(pwc_occupancy(c, 5), 1);
}

/* PAE: 3 levels, the 4-entry PDPT at bit 30; levels 4 and 5 do not exist. */
Test(pwc, pae_three_levels)
{
    c = make(PWC_UNIFIED, PAGING_PAE, 4, 4);
    pwc_fill(c, 0xc0000000, 0, 3, 0x3001, 7);
    cr_expect_eq(hit_level(0xc0200000, 0), 3);
    cr_expect_eq(hit_level(0xfffff000, 0), 3);
    cr_expect_eq(hit_level(0x80000000, 0), 0);
    pwc_fill(c, 0xc0000000, 0, 2, 0x2003, 7);
    cr_expect_eq(hit_level(0xc01ff000, 0), 2);
    cr_expect_eq(hit_level(0xc0200000, 0), 3);
    cr_expect_eq(pwc_occupancy(c, 4), 0);
    cr_expect_eq(pwc_flush_va(c, 0xc0000000, 0), 2);
}

/* x86-32: only the page directory (level 2, 4 MiB per entry) is cached. */
Test(pwc, x86_32_two_levels)
{
    c = make(PWC_SPLIT, PAGING_X86_32, 4, 4);
    pwc_fill(c, 0x00400000, 0, 2, 0x1007, 7);
    cr_expect_eq(hit_level(0x007ff000, 0), 2);
    cr_expect_eq(hit_level(0x00800000, 0), 0);
    cr_expect_eq(hit_level(0x00000000, 0), 0);
    for (unsigned l = 3; l <= PAGING_MAX_LEVELS; l++)
        cr_expect_eq(pwc_occupancy(c, l), 0);
    cr_expect_eq(pwc_occupancy(c, 0), 1);
    cr_expect_eq(pwc_flush_va(c, 0x00400000, 0), 1);
}

/* ---- config ---------------------------------------------------------- */

#define SLOT_NONE 99u   /* no array changed */
#define SLOT_UNIFIED 0u

typedef struct check_case {
    pwc_design design;
    paging_kind mode;
    unsigned latency;
    unsigned slot;      /* 0 = unified, 2..5 = that split level, SLOT_NONE */
    pwc_array_cfg arr;  /* what the slot is set to */
    /* Expected message, "" = valid.  Held inline: Criterion runs each case
     * in a fresh process, where pointers into the parent's image are stale. */
    char want[64];
} check_case;

ParameterizedTestParameters(pwc, cfg_check)
{
    static check_case cases[] = {
        {PWC_SPLIT, PAGING_X86_64, 1, SLOT_NONE, {0}, ""},
        {(pwc_design)PWC_DESIGN_COUNT, PAGING_X86_64, 1, SLOT_NONE, {0}, "pwc.design must be one of none, split, unified, pte"},
        {PWC_SPLIT, PAGING_X86_64, 1000, SLOT_NONE, {0}, ""},
        {PWC_SPLIT, PAGING_X86_64, 1001, SLOT_NONE, {0}, "pwc.latency must be at most 1000"},
        {PWC_SPLIT, PAGING_X86_64, 1, 2, {3, 4, REPL_LRU}, "pwc.pd.sets must be a power of two"},
        {PWC_SPLIT, PAGING_X86_64, 1, 3, {0, 2, REPL_LRU}, "pwc.pdpt.sets must be a power of two"},
        {PWC_SPLIT, PAGING_X86_64, 1, 4, {1, 65, REPL_LRU}, "pwc.pml4.ways must be at most 64"},
        {PWC_SPLIT, PAGING_X86_64, 1, 4, {1, 64, REPL_PLRU}, ""},
        {PWC_SPLIT, PAGING_X86_64, 1, 2, {4, 4, (repl_policy)REPL_COUNT}, "pwc.pd.replacement is not a known policy"},
        /* Level 5 exists only in LA57. */
        {PWC_SPLIT, PAGING_X86_64, 1, 5, {3, 4, REPL_LRU}, ""},
        {PWC_SPLIT, PAGING_LA57, 1, 5, {3, 4, REPL_LRU}, "pwc.pml5.sets must be a power of two"},
        {PWC_SPLIT, PAGING_X86_32, 1, 3, {3, 4, REPL_LRU}, ""},
        /* An absent array's other keys are unused. */
        {PWC_SPLIT, PAGING_X86_64, 1, 2, {0, 0, REPL_LRU}, ""},
        {PWC_UNIFIED, PAGING_X86_64, 1, SLOT_UNIFIED, {6, 4, REPL_LRU}, "pwc.unified.sets must be a power of two"},
        {PWC_PTE, PAGING_PAE, 1, SLOT_UNIFIED, {8, 100, REPL_LRU}, "pwc.unified.ways must be at most 64"},
        /* Unified designs ignore the split arrays and vice versa. */
        {PWC_UNIFIED, PAGING_X86_64, 1, 2, {3, 4, REPL_LRU}, ""},
        {PWC_SPLIT, PAGING_X86_64, 1, SLOT_UNIFIED, {3, 4, REPL_LRU}, ""},
        {PWC_NONE, PAGING_LA57, 1, 2, {3, 99, REPL_LRU}, ""},
    };
    return cr_make_param_array(check_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(check_case *p, pwc, cfg_check)
{
    pwc_cfg cfg = cfg_of(p->design, 4, 4);
    cfg.latency = p->latency;
    if (p->slot == SLOT_UNIFIED)
        cfg.unified = p->arr;
    else if (p->slot != SLOT_NONE)
        cfg.level[p->slot] = p->arr;
    const paging_mode *m = paging_mode_get(p->mode);
    const char *err = pwc_cfg_check(&cfg, m);
    if (p->want[0])
        cr_expect_str_eq(err ? err : "(null)", p->want);
    else
        cr_expect_null(err, "unexpected error: %s", err ? err : "");
    /* pwc_create accepts exactly the valid configs, and says why not. */
    char why[256] = "";
    c = pwc_create(&cfg, m, why, sizeof why);
    cr_expect_eq(c != NULL, p->want[0] == '\0');
    if (p->want[0]) {
        char want[256];
        snprintf(want, sizeof want, "pwc: %s", p->want);
        cr_expect_str_eq(why, want);
    }
}
