/* paging.c -- paging modes as data, x86 entry encodings, and the page-table
 * builder (see paging.h).
 *
 * The builder's one mechanism is a recursive visit of a VA range over the
 * tree (visit_range): mapping descends creating tables; unmapping and
 * protecting visit the leaves in the range, splitting a large leaf that the
 * range covers only in part, and free tables left empty; a caller's visit
 * (pgtable_visit_leaves) hands each leaf to a callback, splitting nothing.  The builder frees
 * only tables it allocated: a top-level entry installed with
 * pgtable_set_root_entry (a shared kernel half) is not owned. */
#include "mmusim/paging.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- the modes -------------------------------------------------------- */

static const paging_mode modes[PAGING_KIND_COUNT] = {
    [PAGING_X86_64] = {
        .kind = PAGING_X86_64, .name = "x86-64", .levels = 4, .va_bits = 48,
        .entry_bytes = 8, .canonical = true, .has_xd = true,
        .idx_bits = {0, 9, 9, 9, 9}, .shift = {0, 12, 21, 30, 39},
        .leaf_ok = {false, true, true, true, false},
        .linux_name = {NULL, "pte", "pmd", "pud", "pgd"},
        .intel_name = {NULL, "PT", "PD", "PDPT", "PML4"},
    },
    [PAGING_LA57] = {
        .kind = PAGING_LA57, .name = "la57", .levels = 5, .va_bits = 57,
        .entry_bytes = 8, .canonical = true, .has_xd = true,
        .idx_bits = {0, 9, 9, 9, 9, 9}, .shift = {0, 12, 21, 30, 39, 48},
        .leaf_ok = {false, true, true, true, false, false},
        .linux_name = {NULL, "pte", "pmd", "pud", "p4d", "pgd"},
        .intel_name = {NULL, "PT", "PD", "PDPT", "PML4", "PML5"},
    },
    [PAGING_PAE] = {
        .kind = PAGING_PAE, .name = "pae", .levels = 3, .va_bits = 32,
        .entry_bytes = 8, .canonical = false, .has_xd = true,
        .idx_bits = {0, 9, 9, 2}, .shift = {0, 12, 21, 30},
        .leaf_ok = {false, true, true, false},
        .no_perm = {false, false, false, true},
        .linux_name = {NULL, "pte", "pmd", "pgd"},
        .intel_name = {NULL, "PT", "PD", "PDPT"},
    },
    [PAGING_X86_32] = {
        .kind = PAGING_X86_32, .name = "x86-32", .levels = 2, .va_bits = 32,
        .entry_bytes = 4, .canonical = false, .has_xd = false,
        .idx_bits = {0, 10, 10}, .shift = {0, 12, 22},
        .leaf_ok = {false, true, true},
        .linux_name = {NULL, "pte", "pgd"},
        .intel_name = {NULL, "PT", "PD"},
    },
};

const paging_mode *paging_mode_get(paging_kind k)
{
    assert((unsigned)k < PAGING_KIND_COUNT);
    return &modes[k];
}

const paging_mode *paging_mode_by_name(const char *name)
{
    for (int k = 0; k < PAGING_KIND_COUNT; k++)
        if (strcmp(modes[k].name, name) == 0)
            return &modes[k];
    return NULL;
}

bool paging_va_ok(const paging_mode *m, uint64_t va)
{
    if (!m->canonical)
        return va >> m->va_bits == 0;
    /* Canonical: bits 63..va_bits-1 all equal. */
    int64_t sva = (int64_t)(va << (64 - m->va_bits)) >> (64 - m->va_bits);
    return (uint64_t)sva == va;
}

/* A VA with bits above va_bits masked off (as the tree indexes it) back in
 * its canonical form: bit va_bits - 1 copied upwards. */
static uint64_t canonical(const paging_mode *m, uint64_t va)
{
    if (!m->canonical)
        return va;
    return (uint64_t)((int64_t)(va << (64 - m->va_bits)) >> (64 - m->va_bits));
}

static uint64_t bits(unsigned hi, unsigned lo)   /* mask of bits hi..lo */
{
    return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

uint64_t paging_rsvd_mask(const paging_mode *m, unsigned level, uint64_t entry, unsigned pa_bits)
{
    bool large = level > 1 && (entry & PTE_PS);
    if (m->entry_bytes == 4) {
        /* 32-bit paging: only a PSE-36 4 MiB PDE has reserved bits: bit 21,
         * and PA bits 39:32 (entry bits 20:13) above MAXPHYADDR. */
        if (!large)
            return 0;
        unsigned m32 = pa_bits < 40 ? pa_bits : 40;
        return (1ull << 21) | (m32 < 40 ? bits(20, 13 + (m32 - 32)) : 0);
    }
    /* 8-byte entries: PA bits above MAXPHYADDR (51:M for 4/5-level, where
     * 62:52 are ignored; 62:M for PAE, which has no ignored high bits). */
    uint64_t r = m->kind == PAGING_PAE ? bits(62, pa_bits) : (pa_bits < 52 ? bits(51, pa_bits) : 0);
    if (m->no_perm[level])          /* PAE PDPTE: RW, US, A, D, PS, G, XD reserved */
        r |= bits(2, 1) | bits(8, 5) | PTE_XD;
    else if (large && !m->leaf_ok[level])
        r |= PTE_PS;                /* PS in a PML4E/PML5E */
    else if (large)
        r |= bits(m->shift[level] - 1, 13);  /* large-page frame must be aligned (bit 12 is PAT) */
    return r;
}

uint64_t paging_entry_addr(const paging_mode *m, unsigned level, uint64_t entry)
{
    bool large = level > 1 && (entry & PTE_PS) && m->leaf_ok[level];
    if (m->entry_bytes == 4) {
        if (large)  /* PSE-36: PA[31:22] = entry[31:22], PA[39:32] = entry[20:13] */
            return (entry & 0xffc00000ull) | (((entry >> 13) & 0xffull) << 32);
        return entry & 0xfffff000ull;
    }
    return entry & bits(51, large ? m->shift[level] : 12);
}

uint64_t paging_read_entry(const paging_mode *m, const physmem *pm, uint64_t entry_pa)
{
    return m->entry_bytes == 8 ? physmem_read64(pm, entry_pa) : physmem_read32(pm, entry_pa);
}

void paging_write_entry(const paging_mode *m, physmem *pm, uint64_t entry_pa, uint64_t v)
{
    if (m->entry_bytes == 8)
        physmem_write64(pm, entry_pa, v);
    else
        physmem_write32(pm, entry_pa, (uint32_t)v);
}

/* ---- the builder ------------------------------------------------------ */

#define ROOT_MAX_ENTRIES 1024

struct pgtable {
    const paging_mode *m;
    physmem *pm;
    pgtable_alloc alloc;
    uint64_t root;
    uint64_t pages[PAGING_MAX_LEVELS + 1];   /* table pages per level */
    /* Top-level entries whose subtree this builder allocated. */
    uint8_t owned[ROOT_MAX_ENTRIES / 8];
};

static uint64_t builtin_alloc(void *ctx)
{
    return physmem_alloc_frame(ctx);
}

static void builtin_release(void *ctx, uint64_t pa)
{
    physmem_release_frame(ctx, pa);
}

static uint64_t table_alloc(pgtable *pt, unsigned level)
{
    uint64_t pa = pt->alloc.alloc(pt->alloc.ctx);
    if (pa != UINT64_MAX)
        pt->pages[level]++;
    return pa;
}

static void table_release(pgtable *pt, unsigned level, uint64_t pa)
{
    physmem_zero_frame(pt->pm, pa);
    pt->alloc.release(pt->alloc.ctx, pa);
    pt->pages[level]--;
}

static unsigned nentries(const paging_mode *m, unsigned level)
{
    return 1u << m->idx_bits[level];
}

pgtable *pgtable_create(const paging_mode *m, physmem *pm, const pgtable_alloc *alloc, char *err, size_t errlen)
{
    pgtable *pt = mm_xcalloc(1, sizeof *pt);
    pt->m = m;
    pt->pm = pm;
    if (alloc)
        pt->alloc = *alloc;
    else
        pt->alloc = (pgtable_alloc){builtin_alloc, builtin_release, pm};
    pt->root = table_alloc(pt, m->levels);
    if (pt->root == UINT64_MAX) {
        mm_errf(err, errlen, "pgtable: no frame left for the root table");
        free(pt);
        return NULL;
    }
    return pt;
}

static bool owned(const pgtable *pt, unsigned i)
{
    return (pt->owned[i / 8] >> (i % 8)) & 1;
}

static void set_owned(pgtable *pt, unsigned i, bool on)
{
    if (on)
        pt->owned[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        pt->owned[i / 8] &= (uint8_t)~(1u << (i % 8));
}

/* Release the table at `table` (holding level-`level` entries) and every
 * table below it. */
static void free_subtree(pgtable *pt, uint64_t table, unsigned level)
{
    const paging_mode *m = pt->m;
    if (level > 1) {
        for (unsigned i = 0; i < nentries(m, level); i++) {
            uint64_t e = paging_read_entry(m, pt->pm, table + (uint64_t)i * m->entry_bytes);
            if ((e & PTE_P) && !paging_is_leaf(m, level, e))
                free_subtree(pt, paging_entry_addr(m, level, e), level - 1);
        }
    }
    table_release(pt, level, table);
}

void pgtable_free(pgtable *pt)
{
    if (!pt)
        return;
    const paging_mode *m = pt->m;
    unsigned top = m->levels;
    for (unsigned i = 0; i < nentries(m, top); i++) {
        uint64_t e = paging_read_entry(m, pt->pm, pt->root + (uint64_t)i * m->entry_bytes);
        if (owned(pt, i) && (e & PTE_P) && !paging_is_leaf(m, top, e))
            free_subtree(pt, paging_entry_addr(m, top, e), top - 1);
    }
    table_release(pt, top, pt->root);
    free(pt);
}

const paging_mode *pgtable_mode(const pgtable *pt)
{
    return pt->m;
}

uint64_t pgtable_root(const pgtable *pt)
{
    return pt->root;
}

const char *pgtable_strerror(pgtable_err e)
{
    switch (e) {
    case PGT_OK: return "ok";
    case PGT_EALIGN: return "address or length not aligned to the page size";
    case PGT_ERANGE: return "address out of range for the paging mode";
    case PGT_ESIZE: return "page size not supported by the paging mode";
    case PGT_ENOMEM: return "out of frames for page tables";
    case PGT_EEXIST: return "range overlaps a larger page mapping";
    }
    return "?";
}

/* Encode a leaf at `level` for frame pa. */
static uint64_t make_leaf(const paging_mode *m, unsigned level, uint64_t pa, uint64_t flags)
{
    if (!m->has_xd)
        flags &= ~PTE_XD;
    if (m->entry_bytes == 8 || level == 1)
        return pa | flags | PTE_P | (level > 1 ? PTE_PS : 0);
    /* PSE-36 4 MiB PDE. */
    return (pa & 0xffc00000ull) | (((pa >> 32) & 0xffull) << 13) | flags | PTE_P | PTE_PS;
}

/* A non-leaf entry pointing at table `pa`: permissive, as Linux makes
 * them, so the leaf decides the permissions.  PAE PDPTEs carry only P. */
static uint64_t make_table_entry(const paging_mode *m, unsigned level, uint64_t pa)
{
    return m->no_perm[level] ? (pa | PTE_P) : (pa | PTE_P | PTE_RW | PTE_US);
}

/* Leaf flags of an existing leaf, as pgtable_map's `flags` would give them. */
static uint64_t leaf_flags(const paging_mode *m, uint64_t e)
{
    uint64_t f = e & PTE_FLAG_MASK;
    return m->entry_bytes == 4 ? (f & 0xfffu) : f;
}

static bool range_ok(const paging_mode *m, uint64_t va, uint64_t len)
{
    if (len == 0)
        return true;
    uint64_t last = va + len - 1;
    if (last < va || !paging_va_ok(m, va) || !paging_va_ok(m, last))
        return false;
    /* A canonical range must not straddle the hole. */
    return !m->canonical || ((va >> 63) == (last >> 63));
}

pgtable_err pgtable_map(pgtable *pt, uint64_t va, uint64_t pa, uint64_t len,
                        unsigned page_shift, uint64_t flags)
{
    const paging_mode *m = pt->m;
    unsigned leaf = 0;
    for (unsigned l = 1; l <= m->levels; l++)
        if (m->shift[l] == page_shift && m->leaf_ok[l])
            leaf = l;
    if (!leaf)
        return PGT_ESIZE;
    uint64_t psz = 1ull << page_shift;
    if ((va | pa | len) & (psz - 1))
        return PGT_EALIGN;
    if (!range_ok(m, va, len) || (len && (pa + len - 1) >> physmem_pa_bits(pt->pm)))
        return PGT_ERANGE;
    if (m->entry_bytes == 4 && (pa + len) > (leaf > 1 ? (1ull << 40) : (1ull << 32)))
        return PGT_ERANGE;
    flags &= PTE_FLAG_MASK;

    for (uint64_t off = 0; off < len; off += psz) {
        uint64_t v = va + off, table = pt->root;
        for (unsigned l = m->levels; l > leaf; l--) {
            uint64_t epa = paging_entry_pa(m, l, table, v);
            uint64_t e = paging_read_entry(m, pt->pm, epa);
            if (!(e & PTE_P)) {
                uint64_t t = table_alloc(pt, l - 1);
                if (t == UINT64_MAX)
                    return PGT_ENOMEM;
                e = make_table_entry(m, l, t);
                paging_write_entry(m, pt->pm, epa, e);
                if (l == m->levels)
                    set_owned(pt, paging_index(m, l, v), true);
            } else if (paging_is_leaf(m, l, e)) {
                return PGT_EEXIST;
            }
            table = paging_entry_addr(m, l, e);
        }
        uint64_t epa = paging_entry_pa(m, leaf, table, v);
        uint64_t old = paging_read_entry(m, pt->pm, epa);
        if ((old & PTE_P) && !paging_is_leaf(m, leaf, old))
            free_subtree(pt, paging_entry_addr(m, leaf, old), leaf - 1);
        paging_write_entry(m, pt->pm, epa, make_leaf(m, leaf, pa + off, flags));
    }
    return PGT_OK;
}

/* ---- range visits: unmap and protect ---------------------------------- */

typedef struct range_op {
    bool unmap;             /* else protect, or with fn a caller's visit */
    uint64_t set, clear;    /* protect */
    pgtable_leaf_fn fn;     /* a caller's visit: every leaf, none split */
    void *ctx;
    uint64_t leaves;        /* leaves cleared or changed */
    pgtable_err err;
} range_op;

static bool table_empty(const pgtable *pt, uint64_t table, unsigned level)
{
    for (unsigned i = 0; i < nentries(pt->m, level); i++)
        if (paging_read_entry(pt->m, pt->pm, table + (uint64_t)i * pt->m->entry_bytes) & PTE_P)
            return false;
    return true;
}

/* Replace the large leaf at entry epa (level `level`) by a table of leaves
 * one level down with the same frames and flags.  Returns false when no
 * frame is left.  Leaf flags survive except PS, which the smaller leaf
 * encodes itself. */
static bool split_leaf(pgtable *pt, unsigned level, uint64_t epa, uint64_t e)
{
    const paging_mode *m = pt->m;
    uint64_t t = table_alloc(pt, level - 1);
    if (t == UINT64_MAX)
        return false;
    uint64_t base = paging_entry_addr(m, level, e), flags = leaf_flags(m, e);
    uint64_t step = 1ull << m->shift[level - 1];
    for (unsigned i = 0; i < nentries(m, level - 1); i++)
        paging_write_entry(m, pt->pm, t + (uint64_t)i * m->entry_bytes,
                           make_leaf(m, level - 1, base + i * step, flags));
    paging_write_entry(m, pt->pm, epa, make_table_entry(m, level, t));
    return true;
}

/* Visit [lo, hi] (inclusive) in the table `table` of level-`level` entries
 * whose first entry maps `base`.  Returns false on error (op->err set). */
static bool visit_range(pgtable *pt, uint64_t table, unsigned level, uint64_t base,
                        uint64_t lo, uint64_t hi, range_op *op)
{
    const paging_mode *m = pt->m;
    uint64_t span = 1ull << m->shift[level];
    unsigned first = (unsigned)((lo - base) >> m->shift[level]);
    unsigned last = (unsigned)((hi - base) >> m->shift[level]);
    for (unsigned i = first; i <= last; i++) {
        uint64_t epa = table + (uint64_t)i * m->entry_bytes;
        uint64_t e = paging_read_entry(m, pt->pm, epa);
        if (!(e & PTE_P))
            continue;
        uint64_t ebase = base + i * span, elast = ebase + span - 1;
        bool whole = lo <= ebase && elast <= hi;
        if (op->fn && paging_is_leaf(m, level, e)) {
            op->fn(op->ctx, canonical(m, ebase), level, e, epa);
            continue;
        }
        if (paging_is_leaf(m, level, e) && !whole) {
            if (!split_leaf(pt, level, epa, e)) {
                op->err = PGT_ENOMEM;
                return false;
            }
            e = paging_read_entry(m, pt->pm, epa);
        }
        if (paging_is_leaf(m, level, e)) {
            if (op->unmap)
                paging_write_entry(m, pt->pm, epa, 0);
            else
                paging_write_entry(m, pt->pm, epa, make_leaf(m, level, paging_entry_addr(m, level, e),
                                                             (leaf_flags(m, e) | op->set) & ~op->clear));
            op->leaves++;
            continue;
        }
        uint64_t child = paging_entry_addr(m, level, e);
        if (!visit_range(pt, child, level - 1, ebase, lo > ebase ? lo : ebase, hi < elast ? hi : elast, op))
            return false;
        bool own = level < m->levels || owned(pt, i);
        if (op->unmap && own && table_empty(pt, child, level - 1)) {
            table_release(pt, level - 1, child);
            paging_write_entry(m, pt->pm, epa, 0);
            if (level == m->levels)
                set_owned(pt, i, false);
        }
    }
    return true;
}

static pgtable_err run_range(pgtable *pt, uint64_t va, uint64_t len, range_op *op)
{
    const paging_mode *m = pt->m;
    if ((va | len) & 0xfff)
        return PGT_EALIGN;
    if (!range_ok(m, va, len))
        return PGT_ERANGE;
    if (len == 0)
        return PGT_OK;
    /* Work on the VA with the sign extension removed: indices only use the
     * low va_bits bits, and the tree's base is 0. */
    uint64_t mask = m->va_bits == 64 ? ~0ull : (1ull << m->va_bits) - 1;
    uint64_t lo = va & mask, hi = (va + len - 1) & mask;
    visit_range(pt, pt->root, m->levels, 0, lo, hi, op);
    return op->err;
}

void pgtable_visit_leaves(pgtable *pt, uint64_t first, uint64_t last, pgtable_leaf_fn fn, void *ctx)
{
    const paging_mode *m = pt->m;
    uint64_t mask = m->va_bits == 64 ? ~0ull : (1ull << m->va_bits) - 1;
    range_op op = {.fn = fn, .ctx = ctx};
    visit_range(pt, pt->root, m->levels, 0, first & mask, last & mask, &op);
}

pgtable_err pgtable_unmap(pgtable *pt, uint64_t va, uint64_t len, uint64_t *cleared)
{
    range_op op = {.unmap = true};
    pgtable_err e = run_range(pt, va, len, &op);
    if (cleared)
        *cleared = op.leaves;
    return e;
}

pgtable_err pgtable_protect(pgtable *pt, uint64_t va, uint64_t len, uint64_t set, uint64_t clear)
{
    range_op op = {.set = set & PTE_FLAG_MASK, .clear = clear & PTE_FLAG_MASK};
    return run_range(pt, va, len, &op);
}

void pgtable_set_root_entry(pgtable *pt, unsigned index, uint64_t entry)
{
    assert(index < nentries(pt->m, pt->m->levels));
    paging_write_entry(pt->m, pt->pm, pt->root + (uint64_t)index * pt->m->entry_bytes, entry);
    set_owned(pt, index, false);
}

uint64_t pgtable_root_entry(const pgtable *pt, unsigned index)
{
    assert(index < nentries(pt->m, pt->m->levels));
    return paging_read_entry(pt->m, pt->pm, pt->root + (uint64_t)index * pt->m->entry_bytes);
}

uint64_t pgtable_lookup(const pgtable *pt, uint64_t va, unsigned *level, uint64_t *pa)
{
    const paging_mode *m = pt->m;
    uint64_t table = pt->root;
    for (unsigned l = m->levels; l >= 1; l--) {
        uint64_t e = paging_read_entry(m, pt->pm, paging_entry_pa(m, l, table, va));
        if (!(e & PTE_P))
            return 0;
        if (paging_is_leaf(m, l, e)) {
            if (level)
                *level = l;
            if (pa)
                *pa = paging_entry_addr(m, l, e);
            return e;
        }
        table = paging_entry_addr(m, l, e);
    }
    return 0;
}

uint64_t pgtable_pages(const pgtable *pt, unsigned level)
{
    return level <= PAGING_MAX_LEVELS ? pt->pages[level] : 0;
}

uint64_t pgtable_bytes(const pgtable *pt)
{
    uint64_t n = 0;
    for (unsigned l = 1; l <= pt->m->levels; l++)
        n += pt->pages[l];
    return n * 4096;
}
