/* Paging modes, x86 entry encodings and the page-table builder.
 * Every expected value is derived by hand in the comment beside it. */
#include <criterion/criterion.h>

#include "mmusim/paging.h"

static physmem *pm;

static void setup(void)
{
    pm = physmem_create(46, 0x10000000ull, 0x40000000ull, NULL, 0);
}

static void teardown(void)
{
    physmem_free(pm);
}

TestSuite(paging, .init = setup, .fini = teardown);

Test(paging, x86_32_indices)
{
    /* 0x00403004 = 0000000001 0000000011 000000000100: dir 1, table 3, offset 4. */
    const paging_mode *m = paging_mode_get(PAGING_X86_32);
    cr_assert_eq(paging_index(m, 2, 0x00403004), 1);
    cr_assert_eq(paging_index(m, 1, 0x00403004), 3);
    cr_assert_eq(0x00403004 & 0xfff, 4);
}

Test(paging, mode_invariants)
{
    for (int k = 0; k < PAGING_KIND_COUNT; k++) {
        const paging_mode *m = paging_mode_get(k);
        cr_assert_eq(m->shift[1], 12);
        for (unsigned l = 1; l < m->levels; l++)
            cr_assert_eq(m->shift[l + 1], m->shift[l] + m->idx_bits[l], "%s level %u", m->name, l);
        cr_assert_eq(m->va_bits, m->shift[m->levels] + m->idx_bits[m->levels], "%s", m->name);
        cr_assert_str_eq(m->linux_name[m->levels], "pgd");
        cr_assert_eq(paging_mode_by_name(m->name), m);
    }
}

Test(paging, canonical_addresses)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    cr_assert(paging_va_ok(m, 0x00007fffffffffffull));
    cr_assert_not(paging_va_ok(m, 0x0000800000000000ull));
    cr_assert(paging_va_ok(m, 0xffff800000000000ull));
    cr_assert_not(paging_va_ok(m, 0xfff0800000000000ull));
    const paging_mode *l5 = paging_mode_get(PAGING_LA57);
    cr_assert(paging_va_ok(l5, 0x00ffffffffffffffull));   /* bit 56 clear: top of the lower half */
    cr_assert(paging_va_ok(l5, 0xff00000000000000ull));
    cr_assert_not(paging_va_ok(paging_mode_get(PAGING_X86_32), 0x100000000ull));
}

Test(paging, pte_encoding_4k)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x1000, 0x5000, 0x1000, 12, PTE_RW | PTE_US | PTE_XD), PGT_OK);
    unsigned level;
    uint64_t pa;
    /* 0x5000 | P(1) | RW(2) | US(4) | XD(bit 63) */
    cr_assert_eq(pgtable_lookup(pt, 0x1234, &level, &pa), 0x8000000000005007ull);
    cr_assert_eq(level, 1);
    cr_assert_eq(pa, 0x5000);
    /* The intermediate entries point at fresh tables, P|RW|US = 0x7. */
    uint64_t top = pgtable_root_entry(pt, 0);
    cr_assert_eq(top & 0xfff, 0x7);
    pgtable_free(pt);
}

Test(paging, large_leaves_have_ps)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    unsigned level;
    uint64_t pa;
    cr_assert_eq(pgtable_map(pt, 0x40000000, 0x80000000, 1ull << 30, 30, PTE_RW), PGT_OK);
    /* 1 GiB leaf at the PDPT: 0x80000000 | P | RW | PS(0x80) = 0x80000083 */
    cr_assert_eq(pgtable_lookup(pt, 0x40000000 + 0x12345678, &level, &pa), 0x80000083ull);
    cr_assert_eq(level, 3);
    cr_assert_eq(pgtable_map(pt, 0x200000, 0x600000, 0x200000, 21, PTE_US), PGT_OK);
    cr_assert_eq(pgtable_lookup(pt, 0x3fffff, &level, &pa), 0x600085ull);   /* P|US|PS */
    cr_assert_eq(level, 2);
    cr_assert_eq(pa, 0x600000);
    pgtable_free(pt);
}

Test(paging, pse36_4m_entry)
{
    /* pa 0x1_2340_0000: bits 31:22 -> 0x23400000, bits 39:32 (=1) -> entry
     * bits 20:13 -> 0x2000; P|RW|PS = 0x83.  Entry 0x23402083. */
    physmem *big = physmem_create(40, 0x1000000, 0x2000000, NULL, 0);
    const paging_mode *m = paging_mode_get(PAGING_X86_32);
    pgtable *pt = pgtable_create(m, big, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x00400000, 0x123400000ull, 0x400000, 22, PTE_RW), PGT_OK);
    unsigned level;
    uint64_t pa;
    cr_assert_eq(pgtable_lookup(pt, 0x00400000, &level, &pa), 0x23402083ull);
    cr_assert_eq(level, 2);
    cr_assert_eq(pa, 0x123400000ull);
    cr_assert_eq(paging_rsvd_mask(m, 2, 0x23402083ull, 40), 1ull << 21);
    pgtable_free(pt);
    physmem_free(big);
}

Test(paging, reserved_bits)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    /* MAXPHYADDR 46: bits 51:46 reserved everywhere. */
    cr_assert_eq(paging_rsvd_mask(m, 1, PTE_P, 46), 0x000fc00000000000ull);
    /* 2 MiB leaf: also bits 20:13. */
    cr_assert_eq(paging_rsvd_mask(m, 2, PTE_P | PTE_PS, 46), 0x000fc00000000000ull | 0x1fe000ull);
    /* 1 GiB leaf: bits 29:13. */
    cr_assert_eq(paging_rsvd_mask(m, 3, PTE_P | PTE_PS, 46), 0x000fc00000000000ull | 0x3fffe000ull);
    /* PS in a PML4E is reserved. */
    cr_assert(paging_rsvd_mask(m, 4, PTE_P | PTE_PS, 46) & PTE_PS);
    /* PAE PDPTE: RW, US (2:1), bits 8:5 and XD reserved. */
    const paging_mode *pae = paging_mode_get(PAGING_PAE);
    uint64_t r = paging_rsvd_mask(pae, 3, PTE_P, 46);
    cr_assert(r & PTE_RW);
    cr_assert(r & PTE_US);
    cr_assert(r & PTE_A);
    cr_assert(r & PTE_XD);
    cr_assert_not(r & PTE_PCD);
}

/* §2 textbook check: a flat table for 4 GiB of 4 KiB pages is 8 MiB --
 * 2^32 / 2^12 = 2^20 PTEs of 8 bytes = 8 MiB = 2048 page tables. */
Test(paging, flat_4gib_table_is_8mib, .timeout = 60)
{
    const paging_mode *m = paging_mode_get(PAGING_PAE);
    physmem *p = physmem_create(46, 0x200000000ull, 0x400000000ull, NULL, 0);
    pgtable *pt = pgtable_create(m, p, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0, 0x100000000ull, 1ull << 32, 12, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_pages(pt, 1) * 4096, 8ull << 20);
    cr_assert_eq(pgtable_pages(pt, 2), 4);   /* one PD per GiB */
    cr_assert_eq(pgtable_pages(pt, 3), 1);   /* the PDPT */
    pgtable_free(pt);
    physmem_free(p);
}

/* §2 textbook check: 4 MiB text at 0, 4 MiB data above it, 4 MiB stack at
 * the top of a 32-bit space under 2-level paging: each 4 MiB region is one
 * directory entry's page table (dir 0, 1, 1023), plus the directory = 4. */
Test(paging, twelve_mib_process_needs_four_tables)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_32);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x00000000, 0x01000000, 4 << 20, 12, PTE_US), PGT_OK);
    cr_assert_eq(pgtable_map(pt, 0x00400000, 0x01400000, 4 << 20, 12, PTE_US | PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_map(pt, 0xffc00000, 0x01800000, 4 << 20, 12, PTE_US | PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_pages(pt, 1) + pgtable_pages(pt, 2), 4);
    cr_assert_eq(pgtable_bytes(pt), 4 * 4096);
    pgtable_free(pt);
}

/* 0x80000000 = PDPT index 2, PD index 0; 0x80200000 = PDPT index 2, PD
 * index 1: different PD entries, so the second needs its own page table. */
Test(paging, adjacent_2mib_regions_need_new_table)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    cr_assert_eq(paging_index(m, 3, 0x80000000), 2);
    cr_assert_eq(paging_index(m, 2, 0x80000000), 0);
    cr_assert_eq(paging_index(m, 3, 0x80200000), 2);
    cr_assert_eq(paging_index(m, 2, 0x80200000), 1);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x80000000, 0x1000000, 4096, 12, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_pages(pt, 1), 1);
    cr_assert_eq(pgtable_pages(pt, 2), 1);
    cr_assert_eq(pgtable_map(pt, 0x80200000, 0x1001000, 4096, 12, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_pages(pt, 1), 2);   /* a new page table */
    cr_assert_eq(pgtable_pages(pt, 2), 1);   /* the same page directory */
    pgtable_free(pt);
}

Test(paging, map_errors)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x1000, 0, 0x400000, 22, 0), PGT_ESIZE);       /* no 4 MiB pages */
    cr_assert_eq(pgtable_map(pt, 0x1000, 0, 0x200000, 21, 0), PGT_EALIGN);
    cr_assert_eq(pgtable_map(pt, 0x0000800000000000ull, 0, 4096, 12, 0), PGT_ERANGE);
    cr_assert_eq(pgtable_map(pt, 0x00007ffffffff000ull, 0, 8192, 12, 0), PGT_ERANGE);  /* crosses the hole */
    cr_assert_eq(pgtable_map(pt, 0x200000, 0x200000, 0x200000, 21, 0), PGT_OK);
    cr_assert_eq(pgtable_map(pt, 0x201000, 0x5000, 4096, 12, 0), PGT_EEXIST);
    cr_assert_eq(pgtable_map(pt, 0x7000, 1ull << 46, 4096, 12, 0), PGT_ERANGE);   /* PA too wide */
    cr_assert_eq(pgtable_map(pt, 0, 0, 1ull << 30, 30, 0), PGT_OK);
    cr_assert_eq(pgtable_map(pt, 0, 0, 4096, 30, 0), PGT_EALIGN);
    const paging_mode *pae = paging_mode_get(PAGING_PAE);
    pgtable *p2 = pgtable_create(pae, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(p2, 0, 0, 1ull << 30, 30, 0), PGT_ESIZE);   /* PAE has no 1 GiB pages */
    pgtable_free(p2);
    pgtable_free(pt);
}

Test(paging, large_page_over_small_frees_tables)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x200000, 0x1000000, 0x3000, 12, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_pages(pt, 1), 1);
    cr_assert_eq(pgtable_map(pt, 0x200000, 0x2000000, 0x200000, 21, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_pages(pt, 1), 0);
    unsigned level;
    cr_assert_neq(pgtable_lookup(pt, 0x201000, &level, NULL), 0);
    cr_assert_eq(level, 2);
    pgtable_free(pt);
}

Test(paging, unmap_splits_large_page_and_frees_empty_tables)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x40000000, 0x80000000, 0x200000, 21, PTE_RW | PTE_US), PGT_OK);
    uint64_t cleared;
    /* Unmapping one 4 KiB page of a 2 MiB leaf splits it into 512 PTEs and
     * clears one: a page table appears. */
    cr_assert_eq(pgtable_unmap(pt, 0x40001000, 0x1000, &cleared), PGT_OK);
    cr_assert_eq(cleared, 1);
    cr_assert_eq(pgtable_pages(pt, 1), 1);
    cr_assert_eq(pgtable_lookup(pt, 0x40001000, NULL, NULL), 0);
    uint64_t pa;
    unsigned level;
    cr_assert_eq(pgtable_lookup(pt, 0x40002000, &level, &pa), 0x80002007ull);  /* P|RW|US, no PS */
    cr_assert_eq(level, 1);
    cr_assert_eq(pa, 0x80002000ull);
    /* Unmapping the rest frees every table but the root. */
    cr_assert_eq(pgtable_unmap(pt, 0x40000000, 0x200000, &cleared), PGT_OK);
    cr_assert_eq(cleared, 511);
    cr_assert_eq(pgtable_pages(pt, 1) + pgtable_pages(pt, 2) + pgtable_pages(pt, 3), 0);
    cr_assert_eq(pgtable_pages(pt, 4), 1);
    pgtable_free(pt);
}

Test(paging, protect_changes_leaf_flags)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x10000, 0x20000, 0x4000, 12, PTE_RW | PTE_US), PGT_OK);
    cr_assert_eq(pgtable_protect(pt, 0x11000, 0x2000, PTE_XD, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_lookup(pt, 0x10000, NULL, NULL), 0x20007ull);
    cr_assert_eq(pgtable_lookup(pt, 0x11000, NULL, NULL), 0x8000000000021005ull);
    cr_assert_eq(pgtable_lookup(pt, 0x12000, NULL, NULL), 0x8000000000022005ull);
    cr_assert_eq(pgtable_lookup(pt, 0x13000, NULL, NULL), 0x23007ull);
    pgtable_free(pt);
}

Test(paging, shared_root_entry_is_not_freed)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *kernel = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(kernel, 0xffff888000000000ull, 0x100000, 4096, 12, PTE_RW | PTE_G), PGT_OK);
    unsigned idx = paging_index(m, 4, 0xffff888000000000ull);   /* 273 */
    cr_assert_eq(idx, 273);
    pgtable *proc = pgtable_create(m, pm, NULL, NULL, 0);
    pgtable_set_root_entry(proc, idx, pgtable_root_entry(kernel, idx));
    cr_assert_eq(pgtable_lookup(proc, 0xffff888000000000ull, NULL, NULL), 0x100103ull);  /* P|RW|G */
    pgtable_free(proc);   /* must not free the kernel's tables */
    cr_assert_eq(pgtable_lookup(kernel, 0xffff888000000000ull, NULL, NULL), 0x100103ull);
    cr_assert_eq(pgtable_pages(kernel, 1), 1);
    pgtable_free(kernel);
}

Test(paging, la57_walk_levels)
{
    const paging_mode *m = paging_mode_get(PAGING_LA57);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    /* bit 48 set: PML5 index 1 */
    cr_assert_eq(paging_index(m, 5, 0x0001000000000000ull), 1);
    cr_assert_eq(pgtable_map(pt, 0x0001000000000000ull, 0x3000, 4096, 12, 0), PGT_OK);
    for (unsigned l = 1; l <= 5; l++)
        cr_assert_eq(pgtable_pages(pt, l), 1, "level %u", l);
    pgtable_free(pt);
}

typedef struct seen_leaves {
    unsigned n;
    uint64_t va[8];
    unsigned level[8];
} seen_leaves;

static void note_leaf(void *ctx, uint64_t va, unsigned level, uint64_t entry, uint64_t entry_pa)
{
    seen_leaves *s = ctx;
    cr_assert(entry & PTE_P);
    cr_assert_neq(entry_pa, 0);
    cr_assert_lt(s->n, 8);
    s->va[s->n] = va;
    s->level[s->n++] = level;
}

/* The leaf visitor: a 2 MiB leaf at 0x40000000, 4 KiB leaves at 0x40200000
 * and 0x40201000, and a kernel leaf at 0xffffffff80000000.  A range that
 * starts inside the 2 MiB page and ends inside the second 4 KiB page sees
 * the 2 MiB leaf whole (level 2, not split: the table count stays) and both
 * 4 KiB leaves, in address order; the kernel half reports canonical
 * addresses. */
Test(paging, visit_leaves_in_order_without_splitting)
{
    const paging_mode *m = paging_mode_get(PAGING_X86_64);
    pgtable *pt = pgtable_create(m, pm, NULL, NULL, 0);
    cr_assert_eq(pgtable_map(pt, 0x40000000, 0x80000000, 2u << 20, 21, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_map(pt, 0x40200000, 0x5000, 0x2000, 12, PTE_RW), PGT_OK);
    cr_assert_eq(pgtable_map(pt, 0xffffffff80000000ull, 0x9000, 0x1000, 12, 0), PGT_OK);
    uint64_t tables = pgtable_pages(pt, 1);
    seen_leaves s = {0};
    pgtable_visit_leaves(pt, 0x40100000, 0x40201fff, note_leaf, &s);
    cr_assert_eq(s.n, 3);
    cr_expect_eq(s.va[0], 0x40000000);
    cr_expect_eq(s.level[0], 2);
    cr_expect_eq(s.va[1], 0x40200000);
    cr_expect_eq(s.va[2], 0x40201000);
    cr_expect_eq(s.level[2], 1);
    cr_expect_eq(pgtable_pages(pt, 1), tables);
    s = (seen_leaves){0};
    pgtable_visit_leaves(pt, 0xffff800000000000ull, 0xffffffffffffffffull, note_leaf, &s);
    cr_assert_eq(s.n, 1);
    cr_expect_eq(s.va[0], 0xffffffff80000000ull);
    pgtable_free(pt);
}
