/* fork.c -- fork and copy-on-write: the child gets copies of the parent's
 * user page tables with private writable pages read-only in both, and a
 * write fault on such a page copies it or, when one user is left, restores
 * write access. */
#include "os_internal.h"

typedef struct fork_ctx {
    os *o;
    mm *parent, *child;
    const vma *v;
} fork_ctx;

/* copy_present_pte(): a private writable page becomes read-only in both;
 * the child's entry is old (A clear), and clean for shared mappings. */
static void fork_leaf(void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)epa;
    fork_ctx *f = ctx;
    os *o = f->o;
    uint64_t size = level_size(o, level), pa = paging_entry_addr(o->mode, level, e);
    uint64_t flags = os_entry_flags(o, e);
    bool shared = (f->v->flags & OS_MAP_SHARED) != 0;
    if (!shared && (flags & PTE_RW)) {
        pgtable_protect(f->parent->pt, va, size, 0, PTE_RW);
        flags &= ~PTE_RW;
    }
    flags &= ~PTE_A;
    if (shared)
        flags &= ~PTE_D;
    pgtable_err err = pgtable_map(f->child->pt, va, pa, size, level_shift(o, level), flags);
    assert(err == PGT_OK);
    (void)err;
    os_get_frames(o, pa, size / PAGE);
    os_account(o, f->child, level, true);
    os_res_add(o, f->child, va, level);
}

/* dup_mmap(): the child gets copies of the parent's user page tables (huge
 * leaves stay huge) over its VMAs; then the parent's TLB entries are
 * flushed (flush_tlb_mm), since its writable pages became read-only. */
static mm *mm_fork(os *o, unsigned cpu, mm *p)
{
    uint64_t tables = 0;
    for (unsigned l = 1; l < o->mode->levels; l++)
        tables += pgtable_pages(p->pt, l);
    if (!os_room(o, NULL, 0, 0, tables + (o->cfg.os.kpti ? 2 : 1)))
        return NULL;
    mm *c = os_mm_new(o);
    if (!c)
        return NULL;
    vma_set_copy(&c->vmas, &p->vmas);
    c->declared = p->declared;
    fork_ctx f = {o, p, c, NULL};
    for (size_t i = 0; i < p->vmas.n; i++) {
        f.v = &p->vmas.v[i];
        pgtable_visit_leaves(p->pt, f.v->start, f.v->end - 1, fork_leaf, &f);
    }
    os_mirror_user(o, c, 0, o->user_top - 1);
    if (p->nswapped) {
        size_t n;
        pairmap_slot *s = pairmap_collect(&o->swapped, p->id, &n);
        for (size_t i = 0; i < n; i++)
            pairmap_put(&o->swapped, c->id, s[i].b, 1);
        c->nswapped = n;
        free(s);
    }
    os_flush_mm(o, cpu, p, 0, 0, 12, true);
    return c;
}

int os_fork(os *o, unsigned cpu, uint32_t pid, uint32_t child)
{
    int go = os_event_begin(o, cpu, "fork");
    if (go <= 0)
        return go;
    if (child == pid || os_proc_find(o, child))
        return mm_errf(o->err, sizeof o->err, "fork: pid %" PRIu32 " forks child %" PRIu32 ", which exists", pid,
                       child);
    proc *p = os_proc_get(o, pid);
    if (!p)
        return 0;
    mm *c = mm_fork(o, cpu, p->mm);
    if (!c) {
        os_set_oom(o);
        return 0;
    }
    os_proc_insert(o, child, c);
    o->c.forks++;
    return 0;
}

/* A write to a present read-only page of a writable VMA: copy-on-write.
 * One reference left (the other side exited or copied already): restore
 * write access to the whole leaf; otherwise split a huge leaf and copy the
 * 4 KiB page.  Either way the address is invalidated on the mm's CPUs. */
fres os_fault_wp(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, unsigned level, uint64_t pa)
{
    uint64_t size = level_size(o, level), base = va & ~(size - 1), page = va & PAGE_MASK;
    if (v->flags & OS_MAP_SHARED) {
        /* Shared mappings write in place (a shared file's write-notify fault). */
        pgtable_protect(m->pt, base, size, PTE_RW | PTE_D, 0);
        o->c.faults_file_minor++;
        os_charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return F_RETRY;
    }
    if (frames_refcount(o->fr, pa) == 1) {
        pgtable_protect(m->pt, base, size, PTE_RW | PTE_D | PTE_A, 0);
        o->c.faults_cow_reuse++;
        os_charge_fault(o, cpu, o->cfg.os.cow_fault_cycles);
        os_flush_mm(o, cpu, m, base, base + size, level_shift(o, level), false);
        return F_RETRY;
    }
    if (level > 1 && !os_split_leaf_at(o, m, page))
        return F_OOM;
    vma vc = *v;
    if (!os_room(o, m->pt, page, 1, 1))
        return F_OOM;
    uint64_t old;
    uint64_t leaf = pgtable_lookup(m->pt, page, &level, &old);
    if (!leaf || level != 1 || (leaf & PTE_RW))
        return F_RETRY;   /* changed while making os_room: fault again */
    uint64_t copy = frames_alloc(o->fr, 0);
    pgtable_err e = pgtable_map(m->pt, page, copy, PAGE, 12, os_user_flags(o, &vc, true, true));
    assert(e == PGT_OK);
    (void)e;
    os_res_add(o, m, page, 1);
    frames_put(o->fr, old);
    if (vc.file)
        o->cache_idle_maybe = true;
    o->c.faults_cow++;
    os_charge_fault(o, cpu, o->cfg.os.cow_fault_cycles);
    os_flush_mm(o, cpu, m, page, page + PAGE, 12, false);
    return F_RETRY;
}
