/* kernel.c -- the kernel half: init_mm holds the kernel mappings, every
 * address space copies its top-level entries when created, and a vmalloc
 * mapping made later is synced lazily, by a fault (Linux's vmalloc_fault);
 * kernel pages are unmapped in place and never freed as tables.  With KPTI
 * each address space also has a user page table without the kernel half,
 * and every change of privilege writes CR3. */
#include "os_internal.h"

/* KPTI: copy pt's top-level user entries covering [first, last] into upt. */
void os_mirror_user(os *o, mm *m, uint64_t first, uint64_t last)
{
    if (!m->upt)
        return;
    unsigned top = o->mode->levels;
    for (unsigned i = paging_index(o->mode, top, first); i <= paging_index(o->mode, top, last); i++)
        pgtable_set_root_entry(m->upt, i, pgtable_root_entry(m->pt, i));
}

/* KPTI: the privilege changes, so does CR3 (no-flush with PCIDs, except the
 * first return to user after the kernel PCID was flushed). */
void os_kpti_enter(os *o, os_cpu *c, mm_priv priv)
{
    mm *m = c->mm;
    if (priv == MM_USER) {
        bool *stale = c->user_stale ? &c->user_stale[c->kpcid - 1] : NULL;
        mmu_write_cr3(c->mmu, pgtable_root(m->upt), (uint16_t)(c->kpcid | KPTI_USER_PCID), !(stale && *stale));
        if (stale)
            *stale = false;
    } else {
        mmu_write_cr3(c->mmu, pgtable_root(m->pt), c->kpcid, true);
    }
    c->priv = priv;
    o->c.kpti_cr3_writes++;
    os_cpu_update_ok(o, c);
}

/* Kernel leaves carry A and D (Linux's PAGE_KERNEL) and G per config. */
static uint64_t kernel_flags(const os *o, const vma *v)
{
    uint64_t f = PTE_A | PTE_D;
    if (v->prot & OS_PROT_WRITE)
        f |= PTE_RW;
    if (o->cfg.os.kernel_global)
        f |= PTE_G;
    if (!(v->prot & OS_PROT_EXEC))
        f |= o->xd;
    return f;
}

/* A supervisor fault in the kernel half: a vmalloc sync when init_mm has a
 * top-level entry this mm lacks; else init_mm's VMA decides. */
fres os_fault_kernel(os *o, unsigned cpu, mm *m, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv)
{
    if (priv == MM_USER)
        return F_SEGV;
    mm *k = o->init;
    unsigned idx = paging_index(o->mode, o->mode->levels, va);
    uint64_t ke = pgtable_root_entry(k->pt, idx);
    if (m != k && (ke & PTE_P) && pgtable_root_entry(m->pt, idx) != ke) {
        pgtable_set_root_entry(m->pt, idx, ke);
        o->c.faults_vmalloc_sync++;
        os_charge_fault(o, cpu, o->cfg.os.vmalloc_sync_cycles);
        return F_RETRY;
    }
    vma *v = vma_find(&k->vmas, va);
    if (!v) {
        if (o->kernel_declared || !(v = os_implicit_vma(o, k, va, kind, true)))
            return F_SEGV;
    }
    if (!(v->prot & os_prot_needed(kind))) {
        if (!v->implicit)
            return F_SEGV;
        v = os_gain(o, k, v, kind, true);
    }
    unsigned level;
    uint64_t pa;
    uint64_t leaf = pgtable_lookup(k->pt, va, &level, &pa);
    if (!leaf) {
        /* An implicit kernel mapping, or a kernel mmap not fully mapped
         * when memory ran short: map the page in init_mm. */
        uint64_t page = va & PAGE_MASK;
        vma vc = *v;
        if (!os_room(o, k->pt, page, 1, 1))
            return F_OOM;
        pgtable_err e = pgtable_map(k->pt, page, frames_alloc(o->fr, 0), PAGE, 12, kernel_flags(o, &vc));
        assert(e == PGT_OK);
        (void)e;
        o->c.faults_demand_zero++;
        os_charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return F_RETRY;
    }
    if (!(ec & PF_P) || os_leaf_allows(o, cpu, leaf, kind, priv))
        return F_RETRY;
    return F_SEGV;
}

typedef struct kunmap_ctx {
    os *o;
    uint64_t lo, hi;
} kunmap_ctx;

/* Kernel leaves are cleared in place: like vunmap, the kernel's page
 * tables are never freed (every mm shares them). */
static void kunmap_leaf(void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    kunmap_ctx *u = ctx;
    os *o = u->o;
    uint64_t size = level_size(o, level);
    paging_write_entry(o->mode, o->pm, epa, 0);
    os_put_frames(o, paging_entry_addr(o->mode, level, e), size / PAGE);
    if (va < u->lo)
        u->lo = va;
    if (va + size > u->hi)
        u->hi = va + size;
}

void os_kernel_unmap(os *o, uint64_t start, uint64_t end)
{
    kunmap_ctx u = {o, UINT64_MAX, 0};
    pgtable_visit_leaves(o->init->pt, start, end - 1, kunmap_leaf, &u);
    vma_remove(&o->init->vmas, start, end, NULL, NULL);
    if (u.hi)
        os_flush_kernel(o, o->cur_cpu, u.lo, u.hi);
}

/* A vmalloc mapping: in init_mm, mapped at once.  Address spaces created
 * before it lack any new top-level entry it needed (vmalloc sync faults). */
int os_kernel_mmap(os *o, const os_mapping *map, uint64_t start, uint64_t end)
{
    if (start < o->kernel_base || end > o->kernel_end) {
        o->c.mmap_failures++;
        return 0;
    }
    os_kernel_unmap(o, start, end);
    vma nv = {.start = start, .end = end, .pgoff = start >> 12, .prot = map->prot,
              .flags = (map->flags & ~(uint32_t)OS_MAP_SHARED) | OS_MAP_ANON};
    mm *k = o->init;
    vma_insert(&k->vmas, &nv);
    o->kernel_declared = true;
    o->c.mmaps++;
    for (uint64_t page = start; page < end; page += PAGE) {
        if (!os_room(o, k->pt, page, 1, 1)) {
            os_set_oom(o);
            break;
        }
        pgtable_err e = pgtable_map(k->pt, page, frames_alloc(o->fr, 0), PAGE, 12, kernel_flags(o, &nv));
        assert(e == PGT_OK);
        (void)e;
    }
    return 0;
}
