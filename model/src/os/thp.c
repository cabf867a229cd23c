/* thp.c -- huge pages: a transparent huge page (or hugetlb page) at fault
 * time when the aligned region fits its VMA and the allocator has a block,
 * and splitting a huge leaf before a partial unmap or mprotect. */
#include "os_internal.h"

/* Split the huge leaf mapping addr down to 4 KiB around addr (Linux's
 * __split_huge_pmd), keeping the accounting.  False when no frame is left
 * for the tables. */
typedef struct split_ctx {
    os *o;
    mm *m;
} split_ctx;

static void split_account_leaf(void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)e;
    (void)epa;
    split_ctx *sp = ctx;
    os_account(sp->o, sp->m, level, true);
    os_res_add(sp->o, sp->m, va, level);
}

bool os_split_leaf_at(os *o, mm *m, uint64_t addr)
{
    unsigned level;
    uint64_t pa;
    if (!pgtable_lookup(m->pt, addr, &level, &pa) || level == 1)
        return true;
    if (!os_room(o, NULL, 0, 0, level - 1))
        return false;
    if (!pgtable_lookup(m->pt, addr, &level, &pa) || level == 1)   /* reclaim may have evicted it */
        return true;
    uint64_t size = level_size(o, level), base = addr & ~(size - 1);
    os_account(o, m, level, false);
    pgtable_err err = pgtable_protect(m->pt, addr & PAGE_MASK, PAGE, 0, 0);
    assert(err == PGT_OK);
    (void)err;
    pgtable_visit_leaves(m->pt, base, base + size - 1, split_account_leaf, &(split_ctx){o, m});
    return true;
}

/* Before unmapping or re-protecting from addr: split a huge leaf that
 * straddles addr. */
bool os_split_if_straddles(os *o, mm *m, uint64_t addr)
{
    unsigned level;
    uint64_t pa;
    if (addr >= o->user_top || !pgtable_lookup(m->pt, addr, &level, &pa) || level == 1)
        return true;
    if ((addr & (level_size(o, level) - 1)) == 0)
        return true;
    return os_split_leaf_at(o, m, addr);
}

/* Huge pages for a private anonymous fault: hugetlb (OS_MAP_HUGE) tries
 * 1 GiB then 2 MiB, THP 2 MiB, each only when the aligned region lies
 * wholly inside the VMA, nothing maps it yet, and the allocator has a free
 * block and os_room for the tables.  Returns true when it mapped one. */
bool os_fault_huge(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, bool write)
{
    const paging_mode *pm = o->mode;
    bool hugetlb = (v->flags & OS_MAP_HUGE) != 0;
    bool thp = o->cfg.os.thp == THP_ALWAYS || (o->cfg.os.thp == THP_MADVISE && (v->flags & OS_MAP_THP));
    if (!hugetlb && !thp)
        return false;
    for (unsigned level = hugetlb ? 3 : 2; level >= 2; level--) {
        if (level > pm->levels || !pm->leaf_ok[level])
            continue;
        unsigned order = pm->shift[level] - 12;
        if (order != FRAMES_ORDER_2M && order != FRAMES_ORDER_1G)
            continue;   /* x86-32's 4 MiB pages: no such block size */
        uint64_t size = level_size(o, level), base = va & ~(size - 1);
        if (base < v->start || v->end - base < size)
            continue;
        if (!os_region_empty(o, m->pt, va, level) || os_region_has_swapped(o, m, base, size))
            continue;
        if (!frames_can_alloc(o->fr, order)) {
            o->c.thp_fallbacks++;
            continue;
        }
        /* The block first: os_room for the tables must not count its frames. */
        uint64_t pa = frames_alloc(o->fr, order);
        assert(pa != FRAMES_NONE);
        if (!os_room(o, m->pt, va, level, 0)) {
            os_put_frames(o, pa, 1ull << order);
            o->c.thp_fallbacks++;
            continue;
        }
        os_map_user(o, m, base, pa, level, os_user_flags(o, v, true, write));
        if (level == 2)
            o->c.thp_2m++;
        else
            o->c.thp_1g++;
        o->c.faults_demand_zero++;
        os_charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return true;
    }
    return false;
}
