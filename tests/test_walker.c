/* The walk loop, its timing, A/D updates, faults and the walker pool.
 * The memory port costs READ cycles per entry read and RMW per locked
 * read-modify-write, so every cycle count below is a sum done by hand.
 * Most tests build tables with the C builder in a physmem image; the
 * `port` tests give the walker a port whose memory is a plain array. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "mmusim/paging.h"
#include "mmusim/pwc.h"
#include "mmusim/cfg.h"
#include "mmusim/mmu.h"
#include "mmusim/walker.h"

#define READ 100
#define RMW 30
#define PWC_LAT 1

/* The rig's port: the image's port without a memsys (values, 0 cycles)
 * with the latencies READ and RMW added. */
static walker_physmem image;
static walker_mem image_port;

static unsigned port_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value, unsigned *src)
{
    (void)ctx;
    return image_port.read(image_port.ctx, pa, level, now, value, src) + READ;
}

static unsigned port_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits, uint64_t *old,
                         unsigned *src)
{
    (void)ctx;
    return image_port.rmw(image_port.ctx, pa, level, now, bits, old, src) + RMW;
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
    pm = physmem_create(46, 0x10000000ull, 0x20000000ull, NULL, 0);
    pt = pgtable_create(m, pm, NULL, NULL, 0);
    pwc_cfg pc = {.design = d, .latency = PWC_LAT, .seed = 1};
    for (unsigned l = 2; l <= 5; l++)
        pc.level[l] = (pwc_array_cfg){.sets = 1, .ways = 4, .repl = REPL_LRU};
    pc.unified = (pwc_array_cfg){.sets = 4, .ways = 4, .repl = REPL_LRU};
    cache = pwc_create(&pc, m, NULL, 0);
    walker_cfg wc = {.walkers = walkers, .merge = merge, .pa_bits = 46, .pwc_latency = PWC_LAT};
    image = (walker_physmem){.m = m, .pm = pm, .ms = NULL};
    image_port = walker_mem_physmem(&image);
    walker_mem port = {.read = port_read, .rmw = port_rmw, .peek = image_port.peek, .ctx = image_port.ctx};
    w = walker_create(&wc, m, cache, &port, NULL, 0);
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

/* ---- a port of the test's own: the tables in a plain array ----
 *
 * Physical memory 0..0x8000 is arr[] (8-byte entries); no physmem.  One
 * 4-level path, built by hand: PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT
 * 0x4000; AVA = 0x100c0805123 has indices 2, 3, 4, 5 and offset 0x123.
 * Upper entries are P|RW|US without A; the PT maps indices 5, 6 and 7 to
 * frames 0x7000, 0x8000, 0x9000 (P|RW|US, no A) and index 8 to nothing.
 * A read of a level-L entry costs 10 * L cycles, a locked update 3 + L:
 * a cold walk reads for 40 + 30 + 20 + 10 = 100 and sets four A bits for
 * 7 + 6 + 5 + 4 = 22. */
#define AVA 0x100c0805123ull
#define AUP (PTE_P | PTE_RW | PTE_US)

typedef struct arr_port {
    uint64_t mem[0x8000 / 8];
    unsigned reads, rmws, peeks;
    uint64_t rmw_pa[8], rmw_bits[8];   /* the updates asked, in order */
} arr_port;

static arr_port ap;

static uint64_t *arr_entry(uint64_t pa)
{
    cr_assert(pa < sizeof ap.mem && pa % 8 == 0, "entry address 0x%llx outside the array", (unsigned long long)pa);
    return &ap.mem[pa / 8];
}

static unsigned arr_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value, unsigned *src)
{
    arr_port *p = ctx;
    (void)now;
    p->reads++;
    *value = *arr_entry(pa);
    *src = 0;
    return 10 * level;
}

static unsigned arr_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits, uint64_t *old,
                        unsigned *src)
{
    arr_port *p = ctx;
    (void)now;
    if (p->rmws < 8) {
        p->rmw_pa[p->rmws] = pa;
        p->rmw_bits[p->rmws] = bits;
    }
    p->rmws++;
    *old = *arr_entry(pa);
    *arr_entry(pa) = *old | bits;
    *src = 0;
    return 3 + level;
}

static uint64_t arr_peek(void *ctx, uint64_t pa)
{
    arr_port *p = ctx;
    p->peeks++;
    return *arr_entry(pa);
}

/* Entry addresses of AVA's path (the PTE of page `pte`, 5 by default). */
#define A_L4 (0x1000 + 2 * 8)
#define A_L3 (0x2000 + 3 * 8)
#define A_L2 (0x3000 + 4 * 8)
#define A_L1(pte) (0x4000 + (pte) * 8)
#define A_VA(pte) ((AVA & ~0x1ff000ull) | ((uint64_t)(pte) << 12))

static void arr_rig(pwc_design d, unsigned walkers)
{
    memset(&ap, 0, sizeof ap);
    *arr_entry(A_L4) = 0x2000 | AUP;
    *arr_entry(A_L3) = 0x3000 | AUP;
    *arr_entry(A_L2) = 0x4000 | AUP;
    for (unsigned i = 5; i <= 7; i++)
        *arr_entry(A_L1(i)) = (0x7000 + (i - 5) * 0x1000ull) | AUP;
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pwc_cfg pc = {.design = d, .latency = PWC_LAT, .seed = 1};
    pc.unified = (pwc_array_cfg){.sets = 4, .ways = 4, .repl = REPL_LRU};   /* the PTE cache's array */
    cache = d == PWC_NONE ? NULL : pwc_create(&pc, m, NULL, 0);
    walker_cfg wc = {.walkers = walkers, .merge = false, .pa_bits = 46, .pwc_latency = PWC_LAT};
    walker_mem port = {.read = arr_read, .rmw = arr_rmw, .peek = arr_peek, .ctx = &ap};
    w = walker_create(&wc, m, cache, &port, NULL, 0);
    cr_assert_not_null(w);
    regs = (walk_regs){.root = 0x1000, .wp = true, .smep = true, .smap = true};
}

static void arr_unrig(void)
{
    walker_free(w);
    pwc_free(cache);
}

Test(port, array_walk_sets_accessed_then_dirty, .fini = arr_unrig)
{
    arr_rig(PWC_NONE, 1);
    walk_result r = walk_now(AVA, MM_LOAD, MM_USER, 1000);
    cr_assert_not(r.fault);
    cr_assert_eq(r.pa, 0x7123);
    cr_assert_eq(r.nsteps, 4);
    cr_assert_eq(r.step[0].entry_pa, A_L4);
    cr_assert_eq(r.step[3].entry_pa, A_L1(5));
    cr_assert_eq(r.step[3].entry, 0x7000 | AUP, "the step holds the entry as read, before its update");
    cr_assert_eq(r.end, 1000 + 100 + 22);
    /* One update per level, top down, each asking for A only. */
    cr_assert_eq(ap.reads, 4);
    cr_assert_eq(ap.rmws, 4);
    const uint64_t path[4] = {A_L4, A_L3, A_L2, A_L1(5)};
    for (unsigned i = 0; i < 4; i++) {
        cr_assert_eq(ap.rmw_pa[i], path[i]);
        cr_assert_eq(ap.rmw_bits[i], PTE_A);
        cr_assert_eq(*arr_entry(path[i]) & (PTE_A | PTE_D), PTE_A);
    }
    cr_assert_eq(r.leaf, 0x7000 | AUP | PTE_A);
    cr_assert_eq(r.perm, TLB_W | TLB_U | TLB_X);

    /* A store: A everywhere already; the leaf's update asks for A|D. */
    r = walk_now(AVA, MM_STORE, MM_USER, 2000);
    cr_assert_not(r.fault);
    cr_assert_eq(r.end, 2000 + 100 + 4);
    cr_assert_eq(ap.rmws, 5);
    cr_assert_eq(ap.rmw_pa[4], A_L1(5));
    cr_assert_eq(ap.rmw_bits[4], PTE_A | PTE_D);
    cr_assert_eq(*arr_entry(A_L1(5)), 0x7000 | AUP | PTE_A | PTE_D);
    cr_assert(r.perm & TLB_D);
    cr_assert_eq(ap.peeks, 0, "no PTE cache: peek is never used");
}

/* The update ORs into the entry as it is then: a bit set by someone else
 * after the walk's read (here AVL bit 9, set between the read and the
 * update) is kept, and the walk's record still shows the entry as it read it. */
static unsigned arr_rmw_after_host_write(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits,
                                         uint64_t *old, unsigned *src)
{
    *arr_entry(pa) |= 1ull << 9;
    return arr_rmw(ctx, pa, level, now, bits, old, src);
}

Test(port, array_update_is_an_or_into_memory, .fini = arr_unrig)
{
    arr_rig(PWC_NONE, 1);
    walker_set_mem(w, &(walker_mem){.read = arr_read, .rmw = arr_rmw_after_host_write, .ctx = &ap});
    walk_result r = walk_now(AVA, MM_LOAD, MM_USER, 0);
    cr_assert_not(r.fault);
    cr_assert_eq(r.nwrites, 4);
    cr_assert_eq(r.write[3].value, 0x7000 | AUP | PTE_A);
    cr_assert_eq(*arr_entry(A_L1(5)), 0x7000 | AUP | PTE_A | (1ull << 9));
    cr_assert_eq(*arr_entry(A_L4), 0x2000 | AUP | PTE_A | (1ull << 9));
}

Test(port, array_faults_set_nothing, .fini = arr_unrig)
{
    arr_rig(PWC_NONE, 1);
    /* PTE index 8 is empty: not present at level 1, after four reads. */
    walk_result r = walk_now(A_VA(8), MM_STORE, MM_USER, 0);
    cr_assert(r.fault);
    cr_assert_eq(r.fault_level, 1);
    cr_assert_eq(r.error_code, PF_WR | PF_US);
    cr_assert_eq(r.end, 100);
    /* Read-only for a user store: a protection fault after four reads. */
    *arr_entry(A_L1(6)) &= ~PTE_RW;
    r = walk_now(A_VA(6), MM_STORE, MM_USER, 0);
    cr_assert(r.fault);
    cr_assert_eq(r.error_code, PF_P | PF_WR | PF_US);
    cr_assert_eq(r.end, 100);
    /* A reserved bit (bit 50 > MAXPHYADDR 46) in the PDE: three reads. */
    *arr_entry(A_L2) |= 1ull << 50;
    r = walk_now(A_VA(7), MM_LOAD, MM_USER, 0);
    cr_assert(r.fault);
    cr_assert_eq(r.fault_level, 2);
    cr_assert_eq(r.error_code, PF_P | PF_RSVD | PF_US);
    cr_assert_eq(r.end, 40 + 30 + 20);
    cr_assert_eq(ap.rmws, 0, "a faulting walk sets no A/D bit");
    cr_assert_eq(ap.reads, 4 + 4 + 3);
}

/* Timed walks with the array port: the walker's own log hides its later
 * updates from an overlapping walk's earlier reads.  Walk A (page 5) at 10
 * reads at 10, 50, 80, 100 and updates at 110, 117, 123, 128 (ends 132).
 * Walk B (page 6) at 11 reads the shared entries at 11, 51, 81 -- before
 * A's updates, though the array already holds them -- so B updates all
 * four of its entries too: 11 + 100 + 22.  Walk C (page 7) at 200 sees
 * A's bits and updates only its PTE: 200 + 100 + 4. */
Test(port, array_overlapping_walks_read_as_of_their_cycles, .fini = arr_unrig)
{
    arr_rig(PWC_NONE, 2);
    walk_result a = request(A_VA(5), 10);
    cr_assert_eq(a.end, 132);
    cr_assert_eq(a.nwrites, 4);
    walk_result b = request(A_VA(6), 11);
    cr_assert_eq(b.start, 11);
    cr_assert_eq(b.nwrites, 4);
    cr_assert_eq(b.end, 11 + 100 + 22);
    walk_result c = request(A_VA(7), 200);
    cr_assert_eq(c.nwrites, 1);
    cr_assert_eq(c.write[0].entry_pa, A_L1(7));
    cr_assert_eq(c.end, 200 + 100 + 4);
    cr_assert_eq(ap.rmws, 9);
}

/* A PTE cache takes hit entries' values from peek: the second walk hits
 * the three upper entries (PWC_LAT each), reads the PTE (10) and sets its
 * A bit (4). */
Test(port, array_pte_cache_hits_peek, .fini = arr_unrig)
{
    arr_rig(PWC_PTE, 1);
    walk_result r = walk_now(A_VA(5), MM_LOAD, MM_USER, 0);
    cr_assert_eq(r.end, 100 + 22);
    r = walk_now(A_VA(6), MM_LOAD, MM_USER, 1000);
    cr_assert_not(r.fault);
    cr_assert_eq(r.pa, 0x8123);
    cr_assert_eq(r.end, 1000 + 3 * PWC_LAT + 10 + 4);
    cr_assert_eq(ap.peeks, 3);
    cr_assert_eq(ap.reads, 5);
    cr_assert_eq(r.step[0].src, WALK_SRC_PTE_CACHE);
    cr_assert_eq(r.step[0].entry, 0x2000 | AUP | PTE_A, "the value peek gave");
    /* walker_path finds the same entries through peek, at no cost. */
    uint64_t pa[PAGING_MAX_LEVELS];
    cr_assert_eq(walker_path(w, regs.root, A_VA(6), pa), 4);
    cr_assert_eq(pa[0], A_L4);
    cr_assert_eq(pa[3], A_L1(6));
    cr_assert_eq(ap.reads, 5);
}

/* ---- constructors say why they refuse -------------------------------------- */

Test(port, constructors_say_why)
{
    char err[256] = "";
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    walker_mem full = {.read = arr_read, .rmw = arr_rmw, .peek = arr_peek, .ctx = &ap};
    walker_cfg wc = {.walkers = 0, .pa_bits = 46};
    cr_expect_null(walker_create(&wc, m, NULL, &full, err, sizeof err));
    cr_expect_str_eq(err, "walker: 0 walkers (1..64)");
    wc.walkers = 2;
    cr_expect_null(walker_create(&wc, m, NULL, &(walker_mem){.read = arr_read, .ctx = &ap}, err, sizeof err));
    cr_expect_str_eq(err, "walker: the memory port has no read or no rmw");
    pwc_cfg pc = {.design = PWC_PTE, .latency = 1, .seed = 1};
    pc.unified = (pwc_array_cfg){.sets = 4, .ways = 4, .repl = REPL_LRU};
    pwc *ptec = pwc_create(&pc, m, err, sizeof err);
    cr_assert_not_null(ptec, "%s", err);
    cr_expect_null(
        walker_create(&wc, m, ptec, &(walker_mem){.read = arr_read, .rmw = arr_rmw, .ctx = &ap}, err, sizeof err));
    cr_expect_str_eq(err, "walker: a PTE cache takes entry values from the memory port's peek, which is NULL");
    pwc_free(ptec);

    cr_expect_null(physmem_create(31, 0, 0, err, sizeof err));
    cr_expect_str_eq(err, "physmem: 31 physical address bits (32..52)");
    cr_expect_null(physmem_create(40, 0x1800, 0x4000, err, sizeof err));
    cr_expect_str_eq(err, "physmem: allocation range [0x1800, 0x4000) is not 4 KiB-aligned frames below 2^40");

    mm_config cfg;
    cr_assert_eq(cfg_load(&cfg, "skylake", err, sizeof err), 0, "%s", err);
    cr_expect_null(mmu_create(&cfg, 0, NULL, NULL, err, sizeof err));
    cr_expect_str_eq(err, "mmu: no physical memory image (an MMU on other memory is mmu_create_with_port's)");
    cr_expect_null(mmu_create_with_port(&cfg, 0, NULL, err, sizeof err));
    cr_expect_str_eq(err, "mmu: no memory port");
    /* The configuration's rules, as cfg_validate_mmu names them. */
    cr_assert_eq(cfg_set(&cfg, "dtlb.4k.sets=12", err, sizeof err), 0, "%s", err);
    cr_expect_null(mmu_create_with_port(&cfg, 0, &full, err, sizeof err));
    cr_expect_str_eq(err, "--set dtlb.4k.sets=12: 12 is not a power of two");
}

/* An MMU on the array's tables (mmu_create_with_port): a load of AVA misses
 * both TLBs and walks through the port -- 4 reads, 4 A updates -- then hits
 * the L1.  Its walker reads by source are one counter, pte_reads.port. */
Test(port, mmu_on_a_port_of_its_own)
{
    arr_rig(PWC_NONE, 1);
    walker_free(w);
    w = NULL;
    char err[256] = "";
    mm_config cfg;
    cr_assert_eq(cfg_load(&cfg, "skylake", err, sizeof err), 0, "%s", err);
    mmu *u = mmu_create_with_port(&cfg, 0, &(walker_mem){.read = arr_read, .rmw = arr_rmw, .peek = arr_peek, .ctx = &ap},
                                  err, sizeof err);
    cr_assert_not_null(u, "%s", err);
    mmu_write_cr3(u, 0x1000, 1, false);
    mmu_result r;
    mmu_access(u, AVA, MM_LOAD, MM_USER, &r);
    cr_assert_not(r.fault);
    cr_expect_eq(r.pa, 0x7123);
    cr_expect_eq(ap.reads, 4);
    cr_expect_eq(ap.rmws, 4);
    mmu_advance(u, r.done);
    mmu_access(u, AVA, MM_LOAD, MM_USER, &r);
    cr_expect_eq(r.where, MMU_L1_HIT);
    stats *s = stats_create();
    mmu_export_stats(u, s);
    cr_expect_eq(stats_get(s, "walker.pte_reads.port", NULL), 4);
    cr_expect_eq(stats_get(s, "dTLB-load-misses", NULL), 1);
    stats_free(s);
    mmu_free(u);
}
