/* test_tlb.c -- set indexing, replacement order, page sizes, PCID tagging,
 * flushes and config checks of tlb.c.  Every expected value below is derived
 * by hand in the comment next to it, not read back from the implementation. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <string.h>

#include "mmusim/tlb.h"

#define PS4K MM_PS_BIT(MM_PS_4K)
#define PS2M MM_PS_BIT(MM_PS_2M)
#define PS1G MM_PS_BIT(MM_PS_1G)

/* The TLB under test; the fixture frees it whatever the test did. */
static tlb *t;

static void t_reset(void) { t = NULL; }
static void t_free(void) { tlb_free(t); t = NULL; }

/* One array of sets x ways holding `holds`, 2M shift 21. */
static tlb_cfg cfg1(unsigned sets, unsigned ways, repl_policy r, unsigned holds)
{
    tlb_cfg c = {.name = "test", .narrays = 1, .large_shift = 21, .seed = 1};
    c.array[0] = (tlb_array_cfg){.sets = sets, .ways = ways, .repl = r, .holds = holds};
    return c;
}

static tlb *mk(const tlb_cfg *c)
{
    cr_assert_null(tlb_cfg_check(c), "config rejected: %s", tlb_cfg_check(c));
    tlb *x = tlb_create(c, NULL, 0);
    cr_assert_not_null(x);
    return x;
}

/* pfn is derived from vpn and shift so a lookup that returns the wrong entry
 * shows in the pfn too. */
static tlb_entry ent(uint64_t va, unsigned shift, uint16_t pcid, unsigned perm)
{
    uint64_t vpn = va >> shift;
    return (tlb_entry){.vpn = vpn, .pfn = 0x5000 + vpn * 3 + shift, .pcid = pcid,
                       .shift = (uint8_t)shift, .perm = (uint8_t)perm};
}

/* Insert into t; returns whether something was evicted, victim in *v. */
static bool ins(uint64_t va, unsigned shift, uint16_t pcid, unsigned perm, tlb_entry *v)
{
    tlb_entry e = ent(va, shift, pcid, perm);
    return tlb_insert(t, &e, v);
}

static void expect_hit(uint64_t va, uint16_t pcid, uint64_t page_va, unsigned shift)
{
    const tlb_entry *e = tlb_probe(t, va, pcid);
    cr_assert_not_null(e, "va %#llx pcid %u should hit", (unsigned long long)va, pcid);
    cr_expect_eq(e->shift, shift, "va %#llx: shift %u, want %u", (unsigned long long)va, e->shift, shift);
    cr_expect_eq(e->vpn, page_va >> shift, "va %#llx: vpn %#llx", (unsigned long long)va,
                 (unsigned long long)e->vpn);
    cr_expect_eq(e->pfn, ent(page_va, shift, 0, 0).pfn);
}

/* Perm of the entry answering va for pcid; the test fails on a miss. */
static unsigned probe_perm(uint64_t va, uint16_t pcid)
{
    const tlb_entry *e = tlb_probe(t, va, pcid);
    cr_assert_not_null(e, "va %#llx pcid %u should hit", (unsigned long long)va, pcid);
    return e->perm;
}

static void expect_miss(uint64_t va, uint16_t pcid)
{
    cr_expect_null(tlb_probe(t, va, pcid), "va %#llx pcid %u should miss", (unsigned long long)va, pcid);
}

TestSuite(tlb, .init = t_reset, .fini = t_free);

/* ---- Set indexing ---- */

/* 4 sets x 2 ways of 4 KiB, LRU: set = vpn & 3.  0x0000, 0x4000, 0x8000 are
 * vpn 0, 4, 8: all set 0.  0x1000 is vpn 1: set 1. */
Test(tlb, set_index_conflicts_only_within_a_set)
{
    tlb_cfg c = cfg1(4, 2, REPL_LRU, PS4K);
    t = mk(&c);
    tlb_entry v;
    cr_assert_not(ins(0x0000, 12, 0, 0, &v));
    cr_assert_not(ins(0x1000, 12, 0, 0, &v));   /* set 1 */
    cr_assert_not(ins(0x4000, 12, 0, 0, &v));   /* set 0 now full */
    cr_assert_not(ins(0x5000, 12, 0, 0, &v));   /* vpn 5: set 1, second way */
    cr_assert_eq(tlb_occupancy(t), 4);
    /* Set 0 holds vpn 0 (older) and 4: vpn 8 evicts vpn 0 under LRU. */
    cr_assert(ins(0x8000, 12, 0, 0, &v));
    cr_expect_eq(v.vpn, 0);
    cr_expect_eq(v.shift, 12);
    cr_expect_eq(tlb_occupancy(t), 4);
    expect_miss(0x0000, 0);
    expect_hit(0x4000, 0, 0x4000, 12);
    expect_hit(0x8abc, 0, 0x8000, 12);
    expect_hit(0x1000, 0, 0x1000, 12);            /* set 1 untouched */
    expect_hit(0x5fff, 0, 0x5000, 12);
}

/* ---- Replacement order ----
 *
 * One set of `ways` 4 KiB entries; page X (a letter) is va (X - 'A' + 1) << 12,
 * all in set 0.  Script steps, space separated:
 *   iX    insert X, expect no eviction     iX>Y  insert X, expect Y evicted
 *   lX    tlb_lookup X, expect a hit       pX    tlb_probe X, expect a hit
 *   mX    tlb_probe X, expect a miss */
struct repl_case {
    repl_policy repl;
    unsigned ways;
    char script[96];   /* inline: Criterion copies parameters into the
                          test's process, where a pointer would dangle */
};

static uint64_t page_va(char x) { return (uint64_t)(x - 'A' + 1) << 12; }

static void run_script(const char *script)
{
    char step[8];
    int n;
    for (const char *s = script; sscanf(s, "%7s%n", step, &n) == 1; s += n) {
        char op = step[0], x = step[1];
        tlb_entry v;
        switch (op) {
        case 'i': {
            bool ev = ins(page_va(x), 12, 0, 0, &v);
            if (step[2] == '>') {
                cr_assert(ev, "%s: nothing evicted", step);
                cr_assert_eq(v.vpn, page_va(step[3]) >> 12, "%s: evicted %c", step,
                             (char)('A' + v.vpn - 1));
            } else {
                cr_assert_not(ev, "%s: evicted %c", step, (char)('A' + v.vpn - 1));
            }
            break;
        }
        case 'l':
            cr_assert_not_null(tlb_lookup(t, page_va(x), 0), "%s: miss", step);
            break;
        case 'p':
            cr_assert_not_null(tlb_probe(t, page_va(x), 0), "%s: miss", step);
            break;
        case 'm':
            cr_assert_null(tlb_probe(t, page_va(x), 0), "%s: hit", step);
            break;
        default:
            cr_assert_fail("bad step %s", step);
        }
    }
}

ParameterizedTestParameters(tlb, victim_order)
{
    static struct repl_case cases[] = {
        /* LRU, stamps in brackets: A1 B2 C3 D4; lookup A -> 5, C -> 6.
         * Smallest is B(2): E evicts B (E=7).  Then A5 E7 C6 D4: F evicts D. */
        {REPL_LRU, 4, "iA iB iC iD lA lC iE>B iF>D pA pC pE pF mB mD"},
        /* LRU: a probe is not a use.  A1 B2; probe A; C evicts A. */
        {REPL_LRU, 2, "iA iB pA iC>A"},
        /* LRU: re-inserting a present page is a hit in place (no eviction):
         * A1 B2; insert A again -> A3; C evicts B. */
        {REPL_LRU, 2, "iA iB iA iC>B pA"},
        /* FIFO: fill order A B C D; hits change nothing.  E evicts A, F
         * evicts B, G evicts C, despite the lookups of A, B and C. */
        {REPL_FIFO, 4, "iA iB iC iD lA lB lA lC iE>A iF>B lC iG>C pD"},
        /* tree-PLRU, 4 ways.  Nodes n0 (root), n1 (ways 0,1), n2 (ways 2,3);
         * bit 0 = victim on the left.  Touch/fill of a way sets each node on
         * its path to point away from it.  State written n0 n1 n2.
         *   fill A w0: 1 1 0   fill B w1: 1 0 0
         *   fill C w2: 0 0 1   fill D w3: 0 0 0
         *   lookup A (w0):            1 1 0
         *   E: n0=1 right, n2=0 left -> w2 = C;  fill w2: 0 1 1
         *   F: n0=0 left,  n1=1 right -> w1 = B; fill w1: 1 0 1
         *   G: n0=1 right, n2=1 right -> w3 = D; fill w3: 0 0 0
         *   H: n0=0 left,  n1=0 left  -> w0 = A.
         * (True LRU would have evicted B first: the tree forgets the order
         * of C and D against B.) */
        {REPL_PLRU, 4, "iA iB iC iD lA iE>C iF>B iG>D iH>A"},
        /* tree-PLRU, 8 ways.  Nodes n0 root; n1 (w0-3), n2 (w4-7); n3 (w0,1),
         * n4 (w2,3), n5 (w4,5), n6 (w6,7).  State n0..n6.
         *   fill A..H into w0..w7: each node's last writer is its highest
         *     way, a right child, so every bit is 0:      0 0 0 0 0 0 0
         *   lookup A (w0): n0=1 n1=1 n3=1                   1 1 0 1 0 0 0
         *   lookup E (w4): n0=0 n2=1 n5=1                   0 1 1 1 0 1 0
         *   I: n0=0 left, n1=1 right (n4), n4=0 left -> w2 = C
         *      fill w2: n0=1 n1=0 n4=1                      1 0 1 1 1 1 0
         *   J: n0=1 right, n2=1 right (n6), n6=0 left -> w6 = G
         *      fill w6: n0=0 n2=0 n6=1                      0 0 0 1 1 1 1
         *   K: n0=0 left, n1=0 left (n3), n3=1 right -> w1 = B */
        {REPL_PLRU, 8, "iA iB iC iD iE iF iG iH lA lE iI>C iJ>G iK>B pA pE"},
        /* SRRIP, RRPV per way in brackets.
         *   fill A B C D at 2:           [2 2 2 2]
         *   lookup B -> 0:               [2 0 2 2]
         *   E: no 3, age once:           [3 1 3 3] -> w0 = A; fill [2 1 3 3]
         *   F: w2 is 3 -> C;                                 fill [2 1 2 3]
         *   G: w3 is 3 -> D;                                 fill [2 1 2 2]
         *   H: no 3, age once:           [3 2 3 3] -> w0 = E; fill [2 2 3 3]
         *   I: w2 is 3 -> F.  B, hit once, outlived four fills. */
        {REPL_SRRIP, 4, "iA iB iC iD lB iE>A iF>C iG>D iH>E iI>F pB pG"},
    };
    return cr_make_param_array(struct repl_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct repl_case *rc, tlb, victim_order)
{
    tlb_cfg c = cfg1(1, rc->ways, rc->repl, PS4K);
    t = mk(&c);
    run_script(rc->script);
}

/* Victim sequence of a random-replacement 1 x 8 TLB seeded `seed`: fill
 * 8 pages, then insert 64 more, recording the evicted vpn of each. */
static void random_victims(uint64_t seed, uint64_t out[64])
{
    tlb_cfg c = cfg1(1, 8, REPL_RANDOM, PS4K);
    c.seed = seed;
    tlb *saved = t;
    t = mk(&c);
    for (uint64_t p = 0; p < 8; p++)
        cr_assert_not(ins(p << 12, 12, 0, 0, NULL));
    for (uint64_t p = 8; p < 72; p++) {
        tlb_entry v;
        cr_assert(ins(p << 12, 12, 0, 0, &v));
        cr_assert_lt(v.vpn, p, "victim must be a page inserted earlier");
        cr_assert_null(tlb_probe(t, v.vpn << 12, 0), "victim must be gone");
        out[p - 8] = v.vpn;
    }
    cr_assert_eq(tlb_occupancy(t), 8);
    tlb_free(t);
    t = saved;
}

/* Same seed: identical sequences.  Different seed: 64 victims out of 8 ways
 * agree by chance with probability 8^-64, so a difference is certain for a
 * working generator; equal sequences mean the seed is ignored. */
Test(tlb, random_is_deterministic_per_seed)
{
    uint64_t a[64], b[64], c[64];
    random_victims(42, a);
    random_victims(42, b);
    random_victims(43, c);
    cr_expect_arr_eq(a, b, sizeof a);
    cr_expect(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43 gave the same victims");
}

/* ---- Page sizes ---- */

/* One array of 16 sets x 4 ways holding 4k and 2m. */
Test(tlb, mixed_sizes_share_an_array)
{
    tlb_cfg c = cfg1(16, 4, REPL_LRU, PS4K | PS2M);
    t = mk(&c);
    cr_assert(tlb_holds(t, MM_PS_4K) && tlb_holds(t, MM_PS_2M) && !tlb_holds(t, MM_PS_1G));
    /* 2 MiB page 0x40000000..0x401FFFFF: vpn 0x200, set 0. */
    cr_assert_not(ins(0x40000000, 21, 0, TLB_W, NULL));
    expect_hit(0x40000000, 0, 0x40000000, 21);
    expect_hit(0x401FF000, 0, 0x40000000, 21);
    expect_hit(0x401FFFFF, 0, 0x40000000, 21);
    expect_miss(0x40200000, 0);
    expect_miss(0x3FFFF000, 0);
    /* A 4 KiB page with the same vpn number (0x200 << 12 = 0x200000) and the
     * same set: the key includes the shift, so the two do not merge. */
    cr_assert_not(ins(0x200000, 12, 0, 0, NULL));
    expect_hit(0x200000, 0, 0x200000, 12);
    expect_hit(0x40000000, 0, 0x40000000, 21);
    /* A 4 KiB page inside the 2 MiB one: sizes are probed 4k first, so it
     * wins where it applies and the 2 MiB entry answers elsewhere. */
    cr_assert_not(ins(0x40001000, 12, 0, 0, NULL));
    expect_hit(0x40001234, 0, 0x40001000, 12);
    expect_hit(0x40002000, 0, 0x40000000, 21);
    cr_expect_eq(tlb_occupancy(t), 3);
}

/* Split arrays 4k: 1x2, 2m: 1x2, 1g: 1x2.  Filling one array never evicts
 * from another. */
Test(tlb, split_arrays_hold_only_their_size)
{
    tlb_cfg c = {.narrays = 3, .large_shift = 21};
    c.array[0] = (tlb_array_cfg){1, 2, REPL_LRU, PS4K};
    c.array[1] = (tlb_array_cfg){1, 2, REPL_LRU, PS2M};
    c.array[2] = (tlb_array_cfg){1, 2, REPL_LRU, PS1G};
    t = mk(&c);
    tlb_entry v;
    cr_assert_not(ins(0x1000, 12, 0, 0, &v));
    cr_assert_not(ins(0x2000, 12, 0, 0, &v));
    cr_assert_not(ins(0x00200000, 21, 0, 0, &v));
    cr_assert_not(ins(0x00400000, 21, 0, 0, &v));
    cr_assert_not(ins(0x40000000, 30, 0, 0, &v));
    cr_assert_not(ins(0x80000000, 30, 0, 0, &v));
    cr_assert_eq(tlb_occupancy(t), 6);
    expect_hit(0x1000, 0, 0x1000, 12);
    expect_hit(0x003FF000, 0, 0x00200000, 21);
    expect_hit(0xBFFFF000, 0, 0x80000000, 30);
    /* A third 4 KiB page evicts a 4 KiB page (LRU: 0x1000), nothing else. */
    cr_assert(ins(0x3000, 12, 0, 0, &v));
    cr_expect_eq(v.shift, 12);
    cr_expect_eq(v.vpn, 1);
    cr_expect_eq(tlb_occupancy(t), 6);
}

/* 4k and 2m arrays, 1g absent (ways 0, other fields garbage on purpose). */
Test(tlb, unheld_size_is_not_inserted)
{
    tlb_cfg c = {.narrays = 3, .large_shift = 21};
    c.array[0] = (tlb_array_cfg){4, 2, REPL_LRU, PS4K};
    c.array[1] = (tlb_array_cfg){2, 2, REPL_LRU, PS2M};
    c.array[2] = (tlb_array_cfg){3, 0, REPL_COUNT, 0xff};
    t = mk(&c);
    cr_assert(tlb_holds(t, MM_PS_4K));
    cr_assert(tlb_holds(t, MM_PS_2M));
    cr_assert_not(tlb_holds(t, MM_PS_1G));
    cr_assert_not(tlb_holds(t, -1));
    cr_assert_not(tlb_holds(t, MM_PS_COUNT));
    cr_assert_not(ins(0x40000000, 30, 0, 0, NULL));
    /* 4 MiB (shift 22) is the 2M slot's size only with large_shift 22. */
    cr_assert_not(ins(0x00400000, 22, 0, 0, NULL));
    cr_expect_eq(tlb_occupancy(t), 0);
    expect_miss(0x40000000, 0);
    expect_miss(0x00400000, 0);
}

/* Array 0 holds 2m, array 1 holds 4k: where both pages cover a va, array 0
 * (config order) answers even though 4k is the smaller size. */
Test(tlb, first_array_in_config_order_wins)
{
    tlb_cfg c = {.narrays = 2, .large_shift = 21};
    c.array[0] = (tlb_array_cfg){2, 2, REPL_LRU, PS2M};
    c.array[1] = (tlb_array_cfg){4, 2, REPL_LRU, PS4K};
    t = mk(&c);
    cr_assert_not(ins(0x00200000, 21, 0, 0, NULL));
    cr_assert_not(ins(0x00201000, 12, 0, 0, NULL));
    expect_hit(0x00201000, 0, 0x00200000, 21);
    cr_expect_eq(tlb_occupancy(t), 2);
}

/* x86-32 PSE: large_shift 22, so the 2m slot holds 4 MiB pages.  The page
 * at vpn 1 covers 0x00400000..0x007FFFFF. */
Test(tlb, x86_32_large_page_is_4m)
{
    tlb_cfg c = cfg1(8, 2, REPL_LRU, PS4K | PS2M);
    c.large_shift = 22;
    t = mk(&c);
    cr_assert_not(ins(0x00400000, 22, 3, TLB_W | TLB_U, NULL));
    expect_hit(0x00400000, 3, 0x00400000, 22);
    expect_hit(0x00600000, 3, 0x00400000, 22);   /* past a 2 MiB boundary */
    expect_hit(0x007FFFFF, 3, 0x00400000, 22);
    expect_miss(0x003FF000, 3);
    expect_miss(0x00800000, 3);
    /* 2 MiB pages are not this TLB's large size. */
    cr_assert_not(ins(0x00200000, 21, 3, 0, NULL));
    cr_expect_eq(tlb_occupancy(t), 1);
}

/* ---- Entry contents ---- */

Test(tlb, perm_bits_round_trip)
{
    tlb_cfg c = cfg1(4, 4, REPL_LRU, PS4K | PS2M);
    t = mk(&c);
    cr_assert_not(ins(0x1000, 12, 5, TLB_W | TLB_U, NULL));         /* clean */
    cr_assert_not(ins(0x2000, 12, 5, TLB_W | TLB_X | TLB_D, NULL));
    cr_assert_not(ins(0x3000, 12, 5, 0, NULL));                     /* read-only, NX, supervisor */
    const tlb_entry *e = tlb_lookup(t, 0x1fff, 5);
    cr_assert_not_null(e);
    cr_expect_eq(e->perm, TLB_W | TLB_U);
    cr_expect_eq(e->perm & TLB_D, 0, "a clean entry must stay clean");
    cr_expect_eq(e->pcid, 5);
    cr_expect_eq(e->pfn, ent(0x1000, 12, 0, 0).pfn);
    e = tlb_lookup(t, 0x2000, 5);
    cr_assert_not_null(e);
    cr_expect_eq(e->perm, TLB_W | TLB_X | TLB_D);
    e = tlb_lookup(t, 0x3000, 5);
    cr_assert_not_null(e);
    cr_expect_eq(e->perm, 0);
    /* Re-walk sets D: the insert overwrites in place. */
    cr_assert_not(ins(0x1000, 12, 5, TLB_W | TLB_U | TLB_D, NULL));
    cr_expect_eq(tlb_occupancy(t), 3);
    e = tlb_probe(t, 0x1000, 5);
    cr_assert_not_null(e);
    cr_expect_eq(e->perm, TLB_W | TLB_U | TLB_D);
}

/* 2 sets x 2 ways: vpn 3 -> set 1; vpn 0, 2 -> set 0 (ways 0, 1). */
static void collect(const tlb_entry *e, void *ctx)
{
    uint64_t **p = ctx;
    *(*p)++ = e->vpn;
}

Test(tlb, foreach_visits_in_set_then_way_order)
{
    tlb_cfg c = cfg1(2, 2, REPL_LRU, PS4K);
    t = mk(&c);
    ins(0x3000, 12, 0, 0, NULL);
    ins(0x0000, 12, 0, 0, NULL);
    ins(0x2000, 12, 0, 0, NULL);
    uint64_t got[4] = {0}, *p = got;
    tlb_foreach(t, collect, &p);
    cr_assert_eq(p - got, 3);
    cr_expect_eq(got[0], 0);
    cr_expect_eq(got[1], 2);
    cr_expect_eq(got[2], 3);
}

/* 4 sets x 4 ways: both 4 KiB copies (vpn 1) and the 2 MiB page (vpn 1)
 * share set 1 without eviction. */
Test(tlb, remove_exact_entry)
{
    tlb_cfg c = cfg1(4, 4, REPL_LRU, PS4K | PS2M);
    t = mk(&c);
    cr_assert_not(ins(0x1000, 12, 1, 0, NULL));
    cr_assert_not(ins(0x1000, 12, 2, 0, NULL));
    cr_assert_not(ins(0x00200000, 21, 1, 0, NULL));
    tlb_entry e = ent(0x1000, 12, 3, 0);
    cr_expect_eq(tlb_remove(t, &e), 0, "pcid 3 has no entry");
    e = ent(0x1000, 21, 1, 0);                  /* vpn 0 at 2 MiB: absent */
    cr_expect_eq(tlb_remove(t, &e), 0);
    e = ent(0x1000, 12, 2, 0);
    cr_expect_eq(tlb_remove(t, &e), 1);
    cr_expect_eq(tlb_remove(t, &e), 0, "already gone");
    expect_miss(0x1000, 2);
    expect_hit(0x1000, 1, 0x1000, 12);
    cr_expect_eq(tlb_occupancy(t), 2);
}

/* ---- PCID tagging ---- */

Test(tlb, pcid_tags_and_global)
{
    tlb_cfg c = cfg1(4, 4, REPL_LRU, PS4K);
    t = mk(&c);
    ins(0x1000, 12, 1, TLB_W, NULL);
    ins(0x2000, 12, 1, TLB_G, NULL);
    expect_hit(0x1000, 1, 0x1000, 12);
    expect_miss(0x1000, 2);
    expect_miss(0x1000, 0);
    expect_hit(0x2000, 1, 0x2000, 12);
    expect_hit(0x2000, 2, 0x2000, 12);
    expect_hit(0x2000, 4095, 0x2000, 12);
    /* Another PCID's copy of page 0x1000 coexists with pcid 1's. */
    cr_assert_not(ins(0x1000, 12, 2, 0, NULL));
    cr_expect_eq(tlb_occupancy(t), 3);
    cr_expect_eq(probe_perm(0x1000, 2), 0);
    cr_expect_eq(probe_perm(0x1000, 1), TLB_W);
}

/* Insert merges "the same translation": a global insert replaces a PCID's
 * entry for the page and a PCID's insert replaces a global one. */
Test(tlb, insert_merges_with_global)
{
    tlb_cfg c = cfg1(1, 4, REPL_LRU, PS4K);
    t = mk(&c);
    ins(0x1000, 12, 1, 0, NULL);
    cr_assert_not(ins(0x1000, 12, 9, TLB_G, NULL));
    cr_expect_eq(tlb_occupancy(t), 1);
    cr_expect_eq(probe_perm(0x1000, 1), TLB_G);
    cr_assert_not(ins(0x1000, 12, 2, TLB_W, NULL));
    cr_expect_eq(tlb_occupancy(t), 1);
    expect_miss(0x1000, 1);
    cr_expect_eq(probe_perm(0x1000, 2), TLB_W);
}

/* Two PCIDs' copies of a page, pcid 1 in way 0 and pcid 2 in way 1; a global
 * insert replaces the lowest (way 0) and leaves way 1.  A lookup for pcid 2
 * then matches both ways; the lowest way answers, so it sees the global --
 * the newest translation -- not its stale copy. */
Test(tlb, global_over_two_pcids_lowest_way_answers)
{
    tlb_cfg c = cfg1(1, 4, REPL_LRU, PS4K);
    t = mk(&c);
    ins(0x1000, 12, 1, 0, NULL);
    ins(0x1000, 12, 2, TLB_W, NULL);
    cr_assert_not(ins(0x1000, 12, 1, TLB_G | TLB_X, NULL));
    cr_expect_eq(tlb_occupancy(t), 2);
    cr_expect_eq(probe_perm(0x1000, 1), TLB_G | TLB_X);
    cr_expect_eq(probe_perm(0x1000, 2), TLB_G | TLB_X);
    cr_expect_eq(probe_perm(0x1000, 3), TLB_G | TLB_X);
    /* Dropping the global uncovers pcid 2's own entry. */
    cr_expect_eq(tlb_flush_va(t, 0x1000, 0, true), 1);
    cr_expect_eq(probe_perm(0x1000, 2), TLB_W);
}

/* Fixture for the flush cases, 4 sets x 4 ways holding 4k and 2m:
 *   E0  va 0x1000    4K  pcid 1            (set 1)
 *   E1  va 0x1000    4K  pcid 2            (set 1)
 *   E2  va 0x2000    4K  pcid 1 global     (set 2)
 *   E3  va 0x3000    4K  pcid 2            (set 3)
 *   E4  va 0x200000  2M  pcid 1            (vpn 1: set 1) */
static const struct {
    uint64_t va;
    unsigned shift;
    uint16_t pcid;
    unsigned perm;
    uint64_t probe_va;   /* a va only this entry can answer, with pcid */
} fx[] = {
    {0x1000, 12, 1, 0, 0x1000},
    {0x1000, 12, 2, 0, 0x1800},
    {0x2000, 12, 1, TLB_G, 0x2000},
    {0x3000, 12, 2, 0, 0x3000},
    {0x200000, 21, 1, 0, 0x3ff000},
};
#define NFX (sizeof fx / sizeof fx[0])

static void fx_setup(void)
{
    tlb_cfg c = cfg1(4, 4, REPL_LRU, PS4K | PS2M);
    t = tlb_create(&c, NULL, 0);
    cr_assert_not_null(t);
    for (unsigned i = 0; i < NFX; i++)
        cr_assert_not(ins(fx[i].va, fx[i].shift, fx[i].pcid, fx[i].perm, NULL));
    cr_assert_eq(tlb_occupancy(t), NFX);
}

enum flush_op { F_ALL, F_NONGLOBAL, F_PCID, F_VA };

struct flush_case {
    enum flush_op op;
    uint64_t va;
    uint16_t pcid;
    bool include_global;
    unsigned removed;   /* bit i: fx[i] removed */
};

ParameterizedTestParameters(flush, removes_exactly)
{
    static struct flush_case cases[] = {
        {F_ALL, 0, 0, false, 0x1f},
        {F_NONGLOBAL, 0, 0, false, 0x1b},      /* all but E2 */
        {F_PCID, 0, 1, false, 0x11},           /* E0, E4; global E2 stays */
        {F_PCID, 0, 2, false, 0x0a},           /* E1, E3 */
        {F_PCID, 0, 7, false, 0x00},
        {F_VA, 0x1000, 1, false, 0x01},        /* E0 only: E1 is pcid 2 */
        {F_VA, 0x1fff, 2, true, 0x02},         /* any byte of the page; E1 */
        {F_VA, 0x1000, 3, true, 0x00},
        {F_VA, 0x2000, 1, false, 0x00},        /* INVPCID type 0 keeps globals */
        {F_VA, 0x2abc, 7, true, 0x04},         /* INVLPG: global, any pcid */
        {F_VA, 0x3ff000, 1, false, 0x10},      /* inside E4's 2 MiB page */
        {F_VA, 0x201000, 2, true, 0x00},       /* E4 is pcid 1 */
        {F_VA, 0x4000, 1, true, 0x00},         /* nothing there */
    };
    return cr_make_param_array(struct flush_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct flush_case *fc, flush, removes_exactly, .init = fx_setup, .fini = t_free)
{
    unsigned n = 0;
    switch (fc->op) {
    case F_ALL: n = tlb_flush_all(t); break;
    case F_NONGLOBAL: n = tlb_flush_nonglobal(t); break;
    case F_PCID: n = tlb_flush_pcid(t, fc->pcid); break;
    case F_VA: n = tlb_flush_va(t, fc->va, fc->pcid, fc->include_global); break;
    }
    unsigned want = (unsigned)__builtin_popcount(fc->removed);
    cr_expect_eq(n, want, "returned %u, want %u", n, want);
    cr_expect_eq(tlb_occupancy(t), NFX - want);
    for (unsigned i = 0; i < NFX; i++) {
        bool gone = tlb_probe(t, fx[i].probe_va, fx[i].pcid) == NULL;
        cr_expect_eq(gone, (fc->removed >> i) & 1, "E%u %s", i, gone ? "removed" : "kept");
    }
}

/* ---- Config checks ---- */

struct bad_cfg {
    tlb_cfg cfg;       /* .name stays NULL: see struct repl_case */
    char why[64];
};

#define ONE(s, w, r, h) {.narrays = 1, .large_shift = 21, .array = {{s, w, r, h}}}

ParameterizedTestParameters(cfg, rejects)
{
    static struct bad_cfg cases[] = {
        {ONE(3, 4, REPL_LRU, PS4K), "array 0: sets must be a power of two"},
        {ONE(0, 4, REPL_LRU, PS4K), "array 0: sets must be a power of two"},
        {ONE(12, 4, REPL_LRU, PS4K), "array 0: sets must be a power of two"},
        {ONE(4, 65, REPL_LRU, PS4K), "array 0: ways must be 0 (absent) to 64"},
        {ONE(4, 4, REPL_COUNT, PS4K), "array 0: unknown replacement policy"},
        {ONE(4, 4, REPL_LRU, 0), "array 0: holds must be a nonempty set of 4k, 2m, 1g"},
        {ONE(4, 4, REPL_LRU, PS4K | 8), "array 0: holds must be a nonempty set of 4k, 2m, 1g"},
        {{.narrays = 2, .large_shift = 21,
          .array = {{4, 4, REPL_LRU, PS4K}, {6, 4, REPL_LRU, PS2M}}},
         "array 1: sets must be a power of two"},
        {{.narrays = 2, .large_shift = 21,
          .array = {{4, 4, REPL_LRU, PS4K | PS2M}, {4, 4, REPL_LRU, PS2M}}},
         "array 1: holds a page size an earlier array holds"},
        {{.narrays = 3, .large_shift = 21,
          .array = {{4, 4, REPL_LRU, PS1G}, {0, 0, REPL_LRU, 0}, {4, 4, REPL_LRU, PS4K | PS1G}}},
         "array 2: holds a page size an earlier array holds"},
        {{.narrays = 0, .large_shift = 21}, "narrays must be 1..3"},
        {{.narrays = 4, .large_shift = 21}, "narrays must be 1..3"},
        {{.narrays = 1, .large_shift = 20, .array = {{4, 4, REPL_LRU, PS4K}}},
         "large_shift must be 21 or 22"},
    };
    return cr_make_param_array(struct bad_cfg, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_cfg *bc, cfg, rejects)
{
    const char *why = tlb_cfg_check(&bc->cfg);
    cr_assert_not_null(why, "accepted; want \"%s\"", bc->why);
    cr_expect_str_eq(why, bc->why);
    char err[256] = "";
    cr_expect_null(tlb_create(&bc->cfg, err, sizeof err));
    char want[256];
    snprintf(want, sizeof want, "%s: %s", bc->cfg.name ? bc->cfg.name : "tlb", bc->why);
    cr_expect_str_eq(err, want);
}

Test(cfg, accepts)
{
    /* Skylake-like STLB: 4k slot holds 4k+2m, 2m slot absent, 1g slot. */
    tlb_cfg c = {.narrays = 3, .large_shift = 21,
                 .array = {{128, 12, REPL_LRU, PS4K | PS2M}, {0, 0, REPL_LRU, 0},
                           {4, 4, REPL_PLRU, PS1G}}};
    cr_expect_null(tlb_cfg_check(&c));
    /* Fully associative, 64 ways; x86-32. */
    tlb_cfg f = ONE(1, 64, REPL_SRRIP, PS4K | PS2M);
    f.large_shift = 22;
    cr_expect_null(tlb_cfg_check(&f));
    tlb *x = tlb_create(&f, NULL, 0);
    cr_assert_not_null(x);
    tlb_free(x);
}
