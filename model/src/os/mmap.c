/* mmap.c -- mmap (MAP_FIXED: what was there is unmapped first), munmap
 * and mprotect, of user ranges and of the kernel half's vmalloc ranges. */
#include "os_internal.h"

/* [start, end) of [addr, addr + len), page-aligned outward; false when
 * empty or wrapping. */
static bool page_range(uint64_t addr, uint64_t len, uint64_t *start, uint64_t *end)
{
    uint64_t e = addr + len;
    if (!len || e < addr || e > UINT64_MAX - PAGE)
        return false;
    *start = addr & PAGE_MASK;
    *end = (e + PAGE - 1) & PAGE_MASK;
    return true;
}

/* munmap of user [start, end): frames, page tables, VMAs, then the TLBs
 * over the range of the leaves actually removed (Linux's mmu_gather).
 * False when no frame was left to split a huge page at an end. */
static bool unmap_range(os *o, mm *m, uint64_t start, uint64_t end)
{
    size_t i = vma_first_ending_after(&m->vmas, start);
    if (i >= m->vmas.n || m->vmas.v[i].start >= end)
        return true;
    if (!os_split_if_straddles(o, m, start) || !os_split_if_straddles(o, m, end)) {
        os_set_oom(o);
        return false;
    }
    unmap_ctx u = {.o = o, .m = m, .user = true, .lo = UINT64_MAX, .shift = 64};
    for (i = vma_first_ending_after(&m->vmas, start); i < m->vmas.n && m->vmas.v[i].start < end; i++) {
        const vma *v = &m->vmas.v[i];
        uint64_t a = v->start > start ? v->start : start, b = v->end < end ? v->end : end;
        u.file = v->file != 0;
        pgtable_visit_leaves(m->pt, a, b - 1, os_unmap_leaf, &u);
    }
    if (u.hi) {
        pgtable_err e = pgtable_unmap(m->pt, start, end - start, NULL);
        assert(e == PGT_OK);
        (void)e;
        os_mirror_user(o, m, start, end - 1);
    }
    os_drop_swapped(o, m, start, end);
    keylist keys = {0};
    vma_remove(&m->vmas, start, end, os_keylist_add_shmem, &keys);
    if (u.hi)
        os_flush_mm(o, o->cur_cpu, m, u.lo, u.hi, u.shift, false);
    os_shmem_release_unused(o, keys.k, keys.n);
    free(keys.k);
    return true;
}

typedef struct prot_ctx {
    os *o;
    mm *m;
    const vma *v;
    uint32_t prot;
    bool kernel;
    uint64_t lo, hi;
    unsigned shift;
} prot_ctx;

/* The new permission bits of one leaf.  Adding write to a private mapping
 * leaves the leaf read-only: the write fault decides between reuse and
 * copy (copy-on-write pages stay protected). */
static void prot_leaf(void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)epa;
    prot_ctx *p = ctx;
    os *o = p->o;
    uint64_t old = os_entry_flags(o, e), nf = old;
    if (!p->kernel) {
        nf = (p->prot & PROT_ANY) ? nf | PTE_US : nf & ~PTE_US;
        if (!(p->prot & OS_PROT_WRITE))
            nf &= ~PTE_RW;
        else if (p->v->flags & OS_MAP_SHARED)
            nf |= PTE_RW;
    } else {
        nf = (p->prot & OS_PROT_WRITE) ? nf | PTE_RW : nf & ~PTE_RW;
    }
    nf = (p->prot & OS_PROT_EXEC) ? nf & ~o->xd : nf | o->xd;
    if (nf == old)
        return;
    uint64_t size = level_size(o, level);
    pgtable_protect(p->m->pt, va, size, nf & ~old, old & ~nf);
    if (va < p->lo)
        p->lo = va;
    if (va + size > p->hi)
        p->hi = va + size;
    if (level_shift(o, level) < p->shift)
        p->shift = level_shift(o, level);
}

static void protect_range(os *o, mm *m, uint64_t start, uint64_t end, uint32_t prot, bool kernel)
{
    size_t i = vma_first_ending_after(&m->vmas, start);
    if (i >= m->vmas.n || m->vmas.v[i].start >= end)
        return;
    if (!kernel && (!os_split_if_straddles(o, m, start) || !os_split_if_straddles(o, m, end))) {
        os_set_oom(o);
        return;
    }
    prot_ctx p = {.o = o, .m = m, .prot = prot, .kernel = kernel, .lo = UINT64_MAX, .shift = 64};
    for (; i < m->vmas.n && m->vmas.v[i].start < end; i++) {
        p.v = &m->vmas.v[i];
        uint64_t a = p.v->start > start ? p.v->start : start, b = p.v->end < end ? p.v->end : end;
        pgtable_visit_leaves(m->pt, a, b - 1, prot_leaf, &p);
    }
    vma_protect(&m->vmas, start, end, prot);
    if (p.hi && kernel)
        os_flush_kernel(o, o->cur_cpu, p.lo, p.hi);
    else if (p.hi)
        os_flush_mm(o, o->cur_cpu, m, p.lo, p.hi, p.shift, false);
}

int os_mmap(os *o, unsigned cpu, uint32_t pid, const os_mapping *map)
{
    int go = os_event_begin(o, cpu, "mmap");
    if (go <= 0)
        return go;
    uint64_t start, end;
    bool ok = page_range(map->addr, map->len, &start, &end);
    if (ok && (map->flags & OS_MAP_KERNEL))
        return os_kernel_mmap(o, map, start, end);
    proc *p = os_proc_get(o, pid);
    if (!p)
        return 0;
    mm *m = p->mm;
    if (!ok || end > o->user_top) {
        o->c.mmap_failures++;   /* virtual exhaustion: ENOMEM, not a replay error */
        return 0;
    }
    if (!unmap_range(o, m, start, end))   /* MAP_FIXED replaces what was there */
        return 0;
    vma nv = {.start = start, .end = end, .prot = map->prot, .flags = map->flags};
    if (!(map->flags & OS_MAP_ANON)) {
        nv.file = map->file;
        nv.pgoff = map->offset >> 12;
    } else if (map->flags & OS_MAP_SHARED) {
        nv.file = VMA_SHMEM + o->next_shmem++;
    } else {
        nv.pgoff = start >> 12;
    }
    vma_insert(&m->vmas, &nv);
    m->declared = true;
    o->c.mmaps++;
    return 0;
}

/* The address space and pages an munmap or mprotect of [addr, addr + len)
 * in pid changes: init_mm's for a range in the kernel half (wholly inside
 * it), else pid's, cut at the top of user space.  NULL when there is
 * nothing to change: an empty or wrapping range, one that straddles the
 * kernel half's end, or no memory left to create the process. */
static mm *range_target(os *o, uint32_t pid, uint64_t addr, uint64_t len, uint64_t *start, uint64_t *end,
                        bool *kernel)
{
    if (!page_range(addr, len, start, end))
        return NULL;
    *kernel = *start >= o->kernel_base;
    if (*kernel)
        return *end <= o->kernel_end ? o->init : NULL;
    proc *p = os_proc_get(o, pid);
    if (*end > o->user_top)
        *end = o->user_top;
    return p ? p->mm : NULL;
}

int os_munmap(os *o, unsigned cpu, uint32_t pid, uint64_t addr, uint64_t len)
{
    int go = os_event_begin(o, cpu, "munmap");
    if (go <= 0)
        return go;
    o->c.munmaps++;
    uint64_t start, end;
    bool kernel;
    mm *m = range_target(o, pid, addr, len, &start, &end, &kernel);
    if (m && kernel)
        os_kernel_unmap(o, start, end);
    else if (m)
        unmap_range(o, m, start, end);
    return 0;
}

int os_mprotect(os *o, unsigned cpu, uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot)
{
    int go = os_event_begin(o, cpu, "mprotect");
    if (go <= 0)
        return go;
    o->c.mprotects++;
    uint64_t start, end;
    bool kernel;
    mm *m = range_target(o, pid, addr, len, &start, &end, &kernel);
    if (m)
        protect_range(o, m, start, end, prot, kernel);
    return 0;
}
