/* fault.c -- the page-fault handler: a fault in the kernel half goes to
 * kernel.c; in the user half it finds the VMA (or makes an implicit one for
 * a trace that declares no mappings), then hands a missing page to the
 * demand-zero, huge-page, page-cache or reclaimed-page path, and a write to
 * a read-only page to copy-on-write (fork.c). */
#include "os_internal.h"

/* A user leaf for VMA v.  Like Linux's vm_page_prot, A is set; D with a
 * write fault.  PROT_NONE is a supervisor-only entry, so user accesses
 * take a protection fault. */
uint64_t os_user_flags(const os *o, const vma *v, bool writable, bool dirty)
{
    uint64_t f = PTE_A;
    if (v->prot & PROT_ANY)
        f |= PTE_US;
    if (writable && (v->prot & OS_PROT_WRITE)) {
        f |= PTE_RW;
        if (dirty)
            f |= PTE_D;
    }
    if (!(v->prot & OS_PROT_EXEC))
        f |= o->xd;
    return f;
}

/* Would the walker allow the access on this leaf (intermediate entries are
 * always permissive)? */
bool os_leaf_allows(const os *o, unsigned cpu, uint64_t leaf, mm_kind kind, mm_priv priv)
{
    unsigned perm = ((leaf & PTE_RW) ? TLB_W : 0) | ((leaf & PTE_US) ? TLB_U : 0) |
                    ((leaf & o->xd) ? 0 : TLB_X);
    return !walk_perm_fault(mmu_regs(o->cpu[cpu].mmu), kind, priv, perm);
}

uint32_t os_prot_needed(mm_kind kind)
{
    return kind == MM_STORE ? OS_PROT_WRITE : kind == MM_IFETCH ? OS_PROT_EXEC : PROT_ANY;
}

/* An implicit VMA for a touch at va (os.h): the 2 MiB-aligned region,
 * clipped to the half and to the neighbours. */
vma *os_implicit_vma(os *o, mm *m, uint64_t va, mm_kind kind, bool kernel)
{
    uint64_t bottom = kernel ? o->kernel_base : 0, top = kernel ? o->kernel_end : o->user_top;
    if (va >= top)
        return NULL;
    uint64_t lo = va & ~(IMPLICIT_SPAN - 1), hi = lo + IMPLICIT_SPAN;
    if (lo < bottom)
        lo = bottom;
    if (hi > top || hi < lo)
        hi = top;
    size_t i = vma_first_ending_after(&m->vmas, va);
    if (i < m->vmas.n && m->vmas.v[i].start < hi)
        hi = m->vmas.v[i].start;
    if (i > 0 && m->vmas.v[i - 1].end > lo)
        lo = m->vmas.v[i - 1].end;
    vma nv = {.start = lo, .end = hi, .pgoff = lo >> 12,
              .prot = OS_PROT_READ | OS_PROT_WRITE | (kind == MM_IFETCH ? OS_PROT_EXEC : 0),
              .flags = OS_MAP_ANON | (kernel ? OS_MAP_KERNEL : 0), .implicit = true};
    vma_insert(&m->vmas, &nv);
    o->c.implicit_vmas++;
    return vma_find(&m->vmas, va);
}

/* An implicit VMA gains the permission an access needs; present leaves
 * os_gain it too (no flush: permissions only grow, and the MMU re-walks a
 * cached entry that denies).  Write access reaches leaves through write
 * faults, which keep copy-on-write intact. */
vma *os_gain(os *o, mm *m, vma *v, mm_kind kind, bool kernel)
{
    uint64_t start = v->start, len = v->end - v->start;
    uint32_t add = kind == MM_STORE ? OS_PROT_WRITE : kind == MM_IFETCH ? OS_PROT_EXEC : OS_PROT_READ;
    v->prot |= add;
    if (add == OS_PROT_EXEC && o->xd)
        pgtable_protect(m->pt, start, len, 0, o->xd);
    if (add == OS_PROT_READ && !kernel)
        pgtable_protect(m->pt, start, len, PTE_US, 0);
    return vma_find(&m->vmas, start);
}

/* A not-present user page inside VMA v: a page reclaimed earlier
 * (reclaim.c), a private anonymous page (a huge one if thp.c can, else a
 * zeroed 4 KiB frame), or a page of a file or of shared memory
 * (pagecache.c). */
static fres fault_missing(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, mm_kind kind)
{
    uint64_t page = va & PAGE_MASK;
    bool write = kind == MM_STORE;
    vma vc = *v;   /* os_room() may reclaim; the VMA set does not change, but keep a copy */

    if (m->nswapped && pairmap_get(&o->swapped, m->id, page >> 12, NULL))
        return os_fault_reclaimed(o, cpu, m, &vc, page, write);
    if (vc.file)
        return os_fault_file(o, cpu, m, &vc, page, write);
    if (os_fault_huge(o, cpu, m, &vc, va, write))
        return F_RETRY;
    if (!os_room(o, m->pt, page, 1, 1))
        return F_OOM;
    uint64_t pa = frames_alloc(o->fr, 0);
    os_map_user(o, m, page, pa, 1, os_user_flags(o, &vc, true, write));
    o->c.faults_demand_zero++;
    os_charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
    return F_RETRY;
}

static fres fault_user(os *o, unsigned cpu, mm *m, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv)
{
    if (m == o->init)
        return F_SEGV;   /* no process on this CPU */
    vma *v = vma_find(&m->vmas, va);
    if (!v) {
        if (m->declared || !(v = os_implicit_vma(o, m, va, kind, false)))
            return F_SEGV;
    }
    if (!(v->prot & os_prot_needed(kind))) {
        if (!v->implicit)
            return F_SEGV;
        v = os_gain(o, m, v, kind, false);
    }
    if (ec & PF_RSVD)
        return F_SEGV;
    unsigned level;
    uint64_t pa;
    uint64_t leaf = pgtable_lookup(m->pt, va, &level, &pa);
    if (!leaf)
        return fault_missing(o, cpu, m, v, va, kind);
    if (!(ec & PF_P)) {
        os_mirror_user(o, m, va, va);   /* present in pt: KPTI's user table was behind */
        return F_RETRY;
    }
    if (kind == MM_STORE && !(leaf & PTE_RW) && (v->prot & OS_PROT_WRITE))
        return os_fault_wp(o, cpu, m, v, va, level, pa);
    if (os_leaf_allows(o, cpu, leaf, kind, priv))
        return F_RETRY;   /* an implicit VMA just gained the permission */
    return F_SEGV;        /* SMEP, SMAP, or a permission the VMA denies */
}

fres os_handle_fault(os *o, unsigned cpu, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv)
{
    mm *m = o->cpu[cpu].mm;
    if (!paging_va_ok(o->mode, va))
        return F_SEGV;
    if (va >= o->kernel_base)
        return os_fault_kernel(o, cpu, m, va, ec, kind, priv);
    if (va >= o->user_top)
        return F_SEGV;
    return fault_user(o, cpu, m, va, ec, kind, priv);
}
