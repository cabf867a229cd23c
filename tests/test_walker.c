/* The walk loop, its timing, A/D updates, faults and the walker pool.
 * The memory port costs READ cycles per entry read and RMW per locked
 * read-modify-write, so every cycle count below is a sum done by hand. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "mmusim/paging.h"
#include "mmusim/pwc.h"
#include "mmusim/walker.h"

#define READ 100
#define RMW 30
#define PWC_LAT 1

static unsigned port_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, unsigned *src)
{
    (void)ctx, (void)pa, (void)level, (void)now;
    *src = 0;
    return READ;
}

static unsigned port_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, unsigned *src)
{
    (void)ctx, (void)pa, (void)level, (void)now;
    *src = 0;
    return RMW;
}

static physmem *pm;
static pgtable *pt;
static pwc *cache;
static walker *w;
static walk_regs regs;

/* Build the rig for a mode, a page-walk-cache design and a pool size. */
static void rig(paging_kind k, pwc_design d, unsigned walkers, bool merge)
{
    const paging_mode *m = paging_mode_get(k);
    pm = physmem_create(46, 0x10000000ull, 0x20000000ull);
    pt = pgtable_create(m, pm, NULL);
    pwc_cfg pc = {.design = d, .latency = PWC_LAT, .seed = 1};
    for (unsigned l = 2; l <= 5; l++)
        pc.level[l] = (pwc_array_cfg){.sets = 1, .ways = 4, .repl = REPL_LRU};
    pc.unified = (pwc_array_cfg){.sets = 4, .ways = 4, .repl = REPL_LRU};
    cache = pwc_create(&pc, m);
    walker_cfg wc = {.walkers = walkers, .merge = merge, .pa_bits = 46, .pwc_latency = PWC_LAT};
    walker_mem port = {.read = port_read, .rmw = port_rmw};
    w = walker_create(&wc, m, pm, cache, &port);
    regs = (walk_regs){.root = pgtable_root(pt), .pcid = 0, .wp = true, .smep = true, .smap = true};
}

static void rig_default(void)
{
    rig(PAGING_X86_64, PWC_NONE, 1, true);
}

static void unrig(void)
{
    walker_free(w);
    pwc_free(cache);
    pgtable_free(pt);
    physmem_free(pm);
}

static void map(uint64_t va, uint64_t pa, unsigned shift, uint64_t flags)
{
    cr_assert_eq(pgtable_map(pt, va, pa, 1ull << shift, shift, flags), PGT_OK);
}

static walk_result walk_now(uint64_t va, mm_kind kind, mm_priv priv, mm_cycle at)
{
    walk_result r;
    walk_req q = {va, kind, priv};
    walker_walk_now(w, &regs, &q, at, &r);
    return r;
}

/* No suite fixture: each test builds the rig it needs and tears it down. */

Test(walk, four_levels_then_accessed_bits)
{
    rig_default();
    map(0x7f0000001000ull, 0x200000, 12, PTE_RW | PTE_US);
    walk_result r = walk_now(0x7f0000001234ull, MM_LOAD, MM_USER, 0);
    cr_assert_not(r.fault);
    cr_assert_eq(r.nsteps, 4);
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq(r.step[i].level, 4 - i);
    /* PML4 index of 0x7f00_0000_1000 = bits 47:39 = 0xfe = 254. */
    cr_assert_eq(r.step[0].entry_pa, pgtable_root(pt) + 254 * 8);
    /* Nothing had A set: one RMW per level; a load leaves D clear. */
    cr_assert_eq(r.nwrites, 4);
    cr_assert_eq(r.end - r.start, 4 * READ + 4 * RMW);
    cr_assert_eq(r.pa, 0x200234);
    cr_assert_eq(r.shift, 12);
    cr_assert_eq(r.perm, TLB_W | TLB_U | TLB_X);
    cr_assert_eq(r.leaf, 0x200000ull | PTE_P | PTE_RW | PTE_US | PTE_A);
    /* Again: every A already set, no writes. */
    r = walk_now(0x7f0000001234ull, MM_LOAD, MM_USER, 1000);
    cr_assert_eq(r.nwrites, 0);
    cr_assert_eq(r.end - r.start, 4 * READ);
    cr_assert_eq(r.start, 1000);
    unrig();
}

Test(walk, store_sets_dirty_with_accessed)
{
    rig_default();
    map(0x5000, 0x9000, 12, PTE_RW | PTE_US | PTE_A);
    walk_result r = walk_now(0x5008, MM_STORE, MM_USER, 0);
    cr_assert_not(r.fault);
    /* Three upper levels need A; the leaf has A and needs D: four RMWs. */
    cr_assert_eq(r.nwrites, 4);
    cr_assert_eq(r.write[3].entry_pa, r.step[3].entry_pa);
    cr_assert_eq(r.write[3].value, 0x9000ull | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D);
    cr_assert(r.perm & TLB_D);
    r = walk_now(0x5008, MM_STORE, MM_USER, 0);
    cr_assert_eq(r.nwrites, 0);
    unrig();
}

Test(walk, two_mib_and_one_gib_leaves)
{
    rig_default();
    map(0x40000000, 0x80000000, 30, PTE_RW | PTE_US | PTE_A | PTE_D);
    map(0x200000, 0x400000, 21, PTE_US | PTE_A | PTE_D | PTE_G);
    walk_result r = walk_now(0x40000000 + 0x1234567, MM_LOAD, MM_USER, 0);
    cr_assert_eq(r.nsteps, 2);
    cr_assert_eq(r.leaf_level, 3);
    cr_assert_eq(r.shift, 30);
    cr_assert_eq(r.pa, 0x81234567);
    r = walk_now(0x2abcde, MM_LOAD, MM_USER, 0);
    cr_assert_eq(r.nsteps, 3);
    cr_assert_eq(r.leaf_level, 2);
    cr_assert_eq(r.shift, 21);
    cr_assert_eq(r.pa, 0x4abcde);
    cr_assert_eq(r.perm, TLB_U | TLB_X | TLB_D | TLB_G);
    unrig();
}

Test(walk, reserved_bit_fault)
{
    rig_default();
    map(0x3000, 0x7000, 12, PTE_RW | PTE_US);
    /* Set bit 50 (above MAXPHYADDR 46) in the PTE. */
    unsigned level;
    (void)pgtable_lookup(pt, 0x3000, &level, NULL);
    walk_result r = walk_now(0x3000, MM_LOAD, MM_USER, 0);
    uint64_t pte_pa = r.step[3].entry_pa;
    physmem_write64(pm, pte_pa, physmem_read64(pm, pte_pa) | (1ull << 50));
    r = walk_now(0x3000, MM_STORE, MM_USER, 0);
    cr_assert(r.fault);
    cr_assert_eq(r.error_code, PF_P | PF_RSVD | PF_WR | PF_US);   /* 0xf */
    cr_assert_eq(r.fault_level, 1);
    cr_assert_eq(r.nwrites, 0);
    unrig();
}

/* ---- every permission rule, with its error code ---- */

typedef struct fault_case {
    uint64_t flags;      /* leaf flags of the page at VA */
    int mapping;         /* 0 nothing mapped, 1 neighbour only (PTE absent), 2 page mapped */
    mm_kind kind;
    mm_priv priv;
    bool wp, smep, smap, ac;
    bool fault;
    uint32_t ec;
    unsigned level;      /* fault level */
} fault_case;

#define VA 0x601000ull

ParameterizedTestParameters(walk, rules)
{
    static fault_case cases[] = {
        /* not present at the PML4 (empty space): user load -> U = 0x4 */
        {0, 0, MM_LOAD, MM_USER, true, true, true, false, true, PF_US, 4},
        /* not present at the PTE; supervisor store -> W = 0x2 */
        {0, 1, MM_STORE, MM_SUPERVISOR, true, true, true, false, true, PF_WR, 1},
        /* user fetch, not present -> U|I = 0x14 */
        {0, 1, MM_IFETCH, MM_USER, true, true, true, false, true, PF_US | PF_ID, 1},
        /* user store to a read-only user page -> P|W|U = 0x7 */
        {PTE_US, 2, MM_STORE, MM_USER, true, true, true, false, true, PF_P | PF_WR | PF_US, 1},
        /* user load of a supervisor page -> P|U = 0x5 */
        {PTE_RW, 2, MM_LOAD, MM_USER, true, true, true, false, true, PF_P | PF_US, 1},
        /* user fetch from an XD page -> P|U|I = 0x15 */
        {PTE_RW | PTE_US | PTE_XD, 2, MM_IFETCH, MM_USER, true, true, true, false, true,
         PF_P | PF_US | PF_ID, 1},
        /* supervisor store to a read-only supervisor page, WP=1 -> P|W = 0x3 */
        {0, 2, MM_STORE, MM_SUPERVISOR, true, true, true, false, true, PF_P | PF_WR, 1},
        /* ... with WP=0 it is allowed */
        {0, 2, MM_STORE, MM_SUPERVISOR, false, true, true, false, false, 0, 0},
        /* SMEP: supervisor fetch from a user page -> P|I = 0x11 */
        {PTE_RW | PTE_US, 2, MM_IFETCH, MM_SUPERVISOR, true, true, true, false, true, PF_P | PF_ID, 1},
        /* ... without SMEP it is allowed */
        {PTE_RW | PTE_US, 2, MM_IFETCH, MM_SUPERVISOR, true, false, true, false, false, 0, 0},
        /* SMAP: supervisor load of a user page with AC=0 -> P = 0x1 */
        {PTE_RW | PTE_US, 2, MM_LOAD, MM_SUPERVISOR, true, true, true, false, true, PF_P, 1},
        /* ... with AC=1 it is allowed */
        {PTE_RW | PTE_US, 2, MM_LOAD, MM_SUPERVISOR, true, true, true, true, false, 0, 0},
        /* ... and without SMAP too */
        {PTE_RW | PTE_US, 2, MM_STORE, MM_SUPERVISOR, true, true, false, false, false, 0, 0},
        /* supervisor fetch from an XD supervisor page -> P|I = 0x11 */
        {PTE_RW | PTE_XD, 2, MM_IFETCH, MM_SUPERVISOR, true, true, true, false, true, PF_P | PF_ID, 1},
        /* allowed: user load, user store to RW page, supervisor store with WP */
        {PTE_US, 2, MM_LOAD, MM_USER, true, true, true, false, false, 0, 0},
        {PTE_RW | PTE_US, 2, MM_STORE, MM_USER, true, true, true, false, false, 0, 0},
        {PTE_RW, 2, MM_STORE, MM_SUPERVISOR, true, true, true, false, false, 0, 0},
    };
    return cr_make_param_array(fault_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fault_case *c, walk, rules)
{
    rig_default();
    if (c->mapping == 1)
        map(VA + 0x1000, 0x8000, 12, PTE_RW | PTE_US);
    else if (c->mapping == 2)
        map(VA, 0x8000, 12, c->flags);
    regs.wp = c->wp;
    regs.smep = c->smep;
    regs.smap = c->smap;
    regs.ac = c->ac;
    walk_result r = walk_now(VA + 0x10, c->kind, c->priv, 0);
    cr_assert_eq(r.fault, c->fault, "fault %d, expected %d (ec 0x%x)", r.fault, c->fault, r.error_code);
    if (c->fault) {
        cr_assert_eq(r.error_code, c->ec, "error code 0x%x, expected 0x%x", r.error_code, c->ec);
        cr_assert_eq(r.fault_level, c->level);
        cr_assert_eq(r.nwrites, 0, "a faulting walk sets no A/D bits");
    } else {
        cr_assert_eq(r.pa, 0x8010);
    }
    unrig();
}

Test(walk, x86_32_fetch_without_smep_has_no_id_bit)
{
    rig(PAGING_X86_32, PWC_NONE, 1, true);
    regs.smep = false;
    /* No XD in 32-bit paging and SMEP off: I/D stays 0 (SDM 4.7). */
    walk_result r = walk_now(0x00403004, MM_IFETCH, MM_USER, 0);
    cr_assert(r.fault);
    cr_assert_eq(r.error_code, PF_US);
    cr_assert_eq(r.fault_level, 2);
    unrig();
}

Test(walk, x86_32_two_level)
{
    rig(PAGING_X86_32, PWC_NONE, 1, true);
    map(0x00403000, 0x01234000, 12, PTE_RW | PTE_US | PTE_A | PTE_D);
    walk_result r = walk_now(0x00403004, MM_LOAD, MM_USER, 0);
    cr_assert_not(r.fault);
    cr_assert_eq(r.nsteps, 2);
    /* directory index 1 (4-byte entries), table index 3 */
    cr_assert_eq(r.step[0].entry_pa, pgtable_root(pt) + 1 * 4);
    cr_assert_eq(r.step[1].entry_pa & 0xfff, 3 * 4);
    cr_assert_eq(r.pa, 0x01234004);
    cr_assert_eq(r.nwrites, 1);   /* the PDE's A bit */
    unrig();
}

Test(walk, pae_pdpte_has_no_accessed_bit)
{
    rig(PAGING_PAE, PWC_NONE, 1, true);
    map(0xc0001000, 0x5000, 12, PTE_RW | PTE_US);
    walk_result r = walk_now(0xc0001000, MM_LOAD, MM_USER, 0);
    cr_assert_not(r.fault);
    cr_assert_eq(r.nsteps, 3);
    cr_assert_eq(r.step[0].entry_pa, pgtable_root(pt) + 3 * 8);   /* PDPT index 3 */
    cr_assert_eq(r.nwrites, 2);                                     /* PDE and PTE only */
    unrig();
}

/* ---- page-walk-cache skip depth per design ---- */

typedef struct skip_case {
    pwc_design design;
    /* cycles and steps of: same page table; same page directory */
    unsigned pt_cycles, pt_steps, pd_cycles, pd_steps, pwc_level_pt, pwc_level_pd;
} skip_case;

ParameterizedTestParameters(walk, skip_depth)
{
    static skip_case cases[] = {
        /* no cache: every walk reads 4 entries.  The other 2 MiB region's
         * PDE was never walked, so its A bit costs one RMW in every design. */
        {PWC_NONE, 4 * READ, 4, 4 * READ + RMW, 4, 0, 0},
        /* split: hit on the PD entry -> read the PTE only (lookup + 1 read);
         * another 2 MiB region: hit on the PDPT entry -> PD + PT */
        {PWC_SPLIT, PWC_LAT + READ, 1, PWC_LAT + 2 * READ + RMW, 2, 2, 3},
        {PWC_UNIFIED, PWC_LAT + READ, 1, PWC_LAT + 2 * READ + RMW, 2, 2, 3},
        /* PTE cache: no level skipped; cached upper entries cost PWC_LAT:
         * same PT: 3 hits + 1 read; other PD entry: PML4E, PDPTE hit, PDE and PTE read */
        {PWC_PTE, 3 * PWC_LAT + READ, 4, 2 * PWC_LAT + 2 * READ + RMW, 4, 0, 0},
    };
    return cr_make_param_array(skip_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(skip_case *c, walk, skip_depth)
{
    rig(PAGING_X86_64, c->design, 1, true);
    uint64_t f = PTE_RW | PTE_US | PTE_A | PTE_D;
    map(0x40000000, 0x1000000, 12, f);
    map(0x40001000, 0x1001000, 12, f);
    map(0x40200000, 0x1002000, 12, f);
    (void)walk_now(0x40000000, MM_LOAD, MM_USER, 0);   /* warms the caches, sets upper A bits */
    walk_result r = walk_now(0x40001000, MM_LOAD, MM_USER, 0);
    cr_assert_eq(r.end - r.start, c->pt_cycles);
    cr_assert_eq(r.nsteps, c->pt_steps);
    cr_assert_eq(r.pwc_level, c->pwc_level_pt);
    cr_assert_eq(r.pa, 0x1001000);
    r = walk_now(0x40200000, MM_LOAD, MM_USER, 0);
    cr_assert_eq(r.end - r.start, c->pd_cycles);
    cr_assert_eq(r.nsteps, c->pd_steps);
    cr_assert_eq(r.pwc_level, c->pwc_level_pd);
    cr_assert_eq(r.pa, 0x1002000);
    unrig();
}

Test(walk, cached_permissions_fold_into_result)
{
    rig(PAGING_X86_64, PWC_SPLIT, 1, true);
    map(0x40000000, 0x1000000, 12, PTE_RW | PTE_US | PTE_A | PTE_D);
    map(0x40001000, 0x1001000, 12, PTE_RW | PTE_US | PTE_A | PTE_D);
    walk_result r = walk_now(0x40000000, MM_LOAD, MM_USER, 0);
    /* Make the PDE read-only.  The PD entry cached before still says RW: a
     * real core uses the cached entry until it is invalidated, and so does
     * the model. */
    uint64_t pde_pa = r.step[2].entry_pa;
    physmem_write64(pm, pde_pa, physmem_read64(pm, pde_pa) & ~PTE_RW);
    r = walk_now(0x40001000, MM_STORE, MM_USER, 0);
    cr_assert_not(r.fault);
    cr_assert_eq(r.pwc_level, 2);
    cr_assert_eq(r.perm & (TLB_W | TLB_U), TLB_W | TLB_U);
    /* After the invalidation the walk reads the read-only PDE and faults. */
    cr_assert_eq(pwc_flush_va(cache, 0x40001000, 0), 3);
    r = walk_now(0x40001000, MM_STORE, MM_USER, 0);
    cr_assert(r.fault);
    cr_assert_eq(r.error_code, PF_P | PF_WR | PF_US);
    unrig();
}

/* ---- the pool: queueing, contention, merging, deferred fills ---- */

static walk_result request(uint64_t va, mm_cycle at)
{
    walk_result r;
    walk_req q = {va, MM_LOAD, MM_USER};
    walker_request(w, &regs, &q, at, &r);
    return r;
}

typedef struct pool_case {
    unsigned walkers;
    bool merge;
    bool same_page;
    mm_cycle b_start, b_end;
    bool b_merged;
} pool_case;

ParameterizedTestParameters(walk, pool)
{
    /* A requested at 10 walks 10..410 (4 reads, A/D preset).  B at 11: */
    static pool_case cases[] = {
        {1, true, false, 410, 810, false},   /* one walker: B waits for A */
        {2, true, false, 11, 411, false},    /* two walkers: B overlaps A */
        {1, true, true, 10, 410, true},      /* same page: B merges, ends with A */
        {2, true, true, 10, 410, true},
        {1, false, true, 410, 810, false},   /* merging off: B walks again after A */
    };
    return cr_make_param_array(pool_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(pool_case *c, walk, pool)
{
    rig(PAGING_X86_64, PWC_NONE, c->walkers, c->merge);
    uint64_t f = PTE_RW | PTE_US | PTE_A | PTE_D;
    map(0x40000000, 0x1000000, 12, f);
    map(0x40001000, 0x1001000, 12, f);
    /* Set the upper A bits first so both walks cost exactly 4 reads. */
    (void)walk_now(0x40000000, MM_LOAD, MM_USER, 0);
    walk_result a = request(0x40000000, 10);
    cr_assert_eq(a.start, 10);
    cr_assert_eq(a.end, 410);
    walk_result b = request(c->same_page ? 0x40000008 : 0x40001000, 11);
    cr_assert_eq(b.merged, c->b_merged);
    cr_assert_eq(b.start, c->b_start);
    cr_assert_eq(b.end, c->b_end);
    cr_assert_eq(b.request, 11);
    cr_assert_eq(b.pa, c->same_page ? 0x1000008 : 0x1001000);
    const walker_counters *k = walker_get_counters(w);
    cr_assert_eq(k->merged, c->b_merged ? 1 : 0);
    cr_assert_eq(k->walks, c->b_merged ? 2 : 3);   /* counting the warm-up walk */
    unrig();
}

/* Overlapping walks read memory as of their own cycles: B's reads of the
 * shared upper entries (cycles 11, 111, 211) come before A's locked updates
 * of them (issued at 410, 440, 470), so B reads A clear and updates them
 * too; a walk starting after A's updates sees them.  Two walkers, no page-
 * walk cache; leaves have A and D preset, upper entries start with A clear. */
typedef struct overlap_case {
    mm_cycle b_at;
    unsigned b_writes;
    mm_cycle b_end;
} overlap_case;

ParameterizedTestParameters(walk, overlapping_updates)
{
    static overlap_case cases[] = {
        {11, 3, 11 + 4 * READ + 3 * RMW},   /* all three reads precede A's updates */
        {300, 2, 300 + 4 * READ + 2 * RMW}, /* PML4E at 300, PDPTE at 400 read clear; PDE at 500 sees 470 */
        {500, 0, 500 + 4 * READ},           /* every update issued before B's reads */
    };
    return cr_make_param_array(overlap_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(overlap_case *c, walk, overlapping_updates)
{
    rig(PAGING_X86_64, PWC_NONE, 2, false);
    uint64_t f = PTE_RW | PTE_US | PTE_A | PTE_D;
    map(0x40000000, 0x1000000, 12, f);
    map(0x40001000, 0x1001000, 12, f);
    walk_result a = request(0x40000000, 10);
    cr_assert_eq(a.nwrites, 3);
    cr_assert_eq(a.end, 10 + 4 * READ + 3 * RMW);
    walk_result b = request(0x40001000, c->b_at);
    cr_assert_eq(b.nwrites, c->b_writes);
    cr_assert_eq(b.end, c->b_end);
    for (unsigned i = 0; i < b.nwrites; i++)
        cr_assert_eq(b.write[i].entry_pa, a.write[i].entry_pa);
    /* The image holds the OR of every update either way. */
    for (unsigned i = 0; i < 3; i++)
        cr_assert(physmem_read64(pm, a.step[i].entry_pa) & PTE_A);
    unrig();
}

/* A store's locked update sets A|D on a leaf whose A was already set: a
 * load that reads the leaf before the update (cycle 311 < 410) sees A set
 * and D clear -- it makes no update and its TLB fill is clean. */
Test(walk, update_logs_only_bits_it_sets)
{
    rig(PAGING_X86_64, PWC_NONE, 2, false);
    map(0x40000000, 0x1000000, 12, PTE_RW | PTE_US | PTE_A);
    (void)walk_now(0x40000000, MM_LOAD, MM_USER, 0);   /* sets the upper A bits */
    walk_result st;
    walk_req q = {0x40000000, MM_STORE, MM_USER};
    walker_request(w, &regs, &q, 10, &st);
    cr_assert_eq(st.nwrites, 1);
    cr_assert_eq(st.end, 10 + 4 * READ + RMW);
    walk_result ld = request(0x40000008, 11);
    cr_assert_eq(ld.nwrites, 0);
    cr_assert_eq(ld.end, 11 + 4 * READ);
    cr_assert_eq(ld.leaf, 0x1000000ull | PTE_P | PTE_RW | PTE_US | PTE_A);
    cr_assert_not(ld.perm & TLB_D);
    unrig();
}

Test(walk, pwc_fills_visible_only_after_walk_ends)
{
    rig(PAGING_X86_64, PWC_SPLIT, 2, true);
    uint64_t f = PTE_RW | PTE_US | PTE_A | PTE_D;
    map(0x40000000, 0x1000000, 12, f);
    map(0x40001000, 0x1001000, 12, f);
    map(0x40002000, 0x1002000, 12, f);
    walk_result a = request(0x40000000, 10);    /* 10..(10 + 1 + 4*100 + 3*30 A bits) */
    cr_assert_eq(a.end, 10 + PWC_LAT + 4 * READ + 3 * RMW);
    walk_result b = request(0x40001000, 11);    /* second walker, starts before A ends */
    cr_assert_eq(b.pwc_level, 0);
    cr_assert_eq(b.nsteps, 4);
    walk_result c = request(0x40002000, a.end); /* starts when A's fills land */
    cr_assert_eq(c.pwc_level, 2);
    cr_assert_eq(c.nsteps, 1);
    cr_assert_eq(walker_idle_at(w), c.end);
    unrig();
}
