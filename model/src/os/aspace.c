/* aspace.c -- address spaces (Linux's mm): creation with init_mm's kernel
 * top-level entries, the pages they map (RSS, huge leaves), making room for
 * a new mapping (os_room), and tearing one down when its last process goes. */
#include "os_internal.h"

/* Tables pgtable_map will allocate to put a leaf for va at `level`. */
static unsigned tables_missing(const os *o, const pgtable *pt, uint64_t va, unsigned level)
{
    const paging_mode *m = o->mode;
    uint64_t table = pgtable_root(pt);
    for (unsigned l = m->levels; l > level; l--) {
        uint64_t e = paging_read_entry(m, o->pm, paging_entry_pa(m, l, table, va));
        if (!(e & PTE_P))
            return l - level;
        if (paging_is_leaf(m, l, e))
            return 0;
        table = paging_entry_addr(m, l, e);
    }
    return 0;
}

/* True when nothing maps va's region of `level`: neither an entry at that
 * level nor a larger leaf above it. */
bool os_region_empty(const os *o, const pgtable *pt, uint64_t va, unsigned level)
{
    const paging_mode *m = o->mode;
    uint64_t table = pgtable_root(pt);
    for (unsigned l = m->levels;; l--) {
        uint64_t e = paging_read_entry(m, o->pm, paging_entry_pa(m, l, table, va));
        if (!(e & PTE_P))
            return true;
        if (l == level || paging_is_leaf(m, l, e))
            return false;
        table = paging_entry_addr(m, l, e);
    }
}

void os_register_mm(os *o, mm *m)
{
    mm_grow(&o->by_id, &o->capids, o->nids, sizeof *o->by_id, 16);
    m->id = o->nids;
    o->by_id[o->nids++] = m;
}

mm *os_mm_lookup(const os *o, uint64_t id)
{
    return id < o->nids ? o->by_id[id] : NULL;
}

/* Make sure `data` frames plus the tables a leaf for va at `level` needs
 * in pt (pt may be NULL) are free, reclaiming under `exhaustion: reclaim`.
 * The need is recomputed after each reclaim, which may free tables on the
 * path; each reclaim frees at least one frame more than it can add. */
bool os_room(os *o, const pgtable *pt, uint64_t va, unsigned level, uint64_t data)
{
    for (;;) {
        uint64_t need = data + (pt ? tables_missing(o, pt, va, level) : 0);
        if (os_frames_free_now(o) >= need)
            return true;
        if (o->cfg.os.exhaustion != EXHAUST_RECLAIM || !os_reclaim_one(o))
            return false;
    }
}

/* A new address space with init_mm's kernel top-level entries (NULL when
 * memory is exhausted). */
mm *os_mm_new(os *o)
{
    if (!os_room(o, NULL, 0, 0, o->cfg.os.kpti ? 2 : 1))
        return NULL;
    mm *m = mm_xcalloc(1, sizeof *m);
    /* os_room made room for the roots: these cannot fail */
    m->pt = pgtable_create(o->mode, o->pm, &o->talloc, NULL, 0);
    if (o->cfg.os.kpti)
        m->upt = pgtable_create(o->mode, o->pm, &o->talloc, NULL, 0);
    assert(m->pt && (m->upt || !o->cfg.os.kpti));
    m->users = 1;
    m->owner = o->init ? os_owner_alloc(o) : 0;
    os_register_mm(o, m);
    if (o->init)
        for (unsigned i = o->kidx_first; i < o->kidx_end; i++) {
            uint64_t e = pgtable_root_entry(o->init->pt, i);
            if (e & PTE_P)
                pgtable_set_root_entry(m->pt, i, e);
        }
    return m;
}

void os_account(os *o, mm *m, unsigned level, bool add)
{
    uint64_t n = level_size(o, level) / PAGE;
    if (add) {
        m->rss += n;
        o->rss_total += n;
        if (o->rss_total > o->c.rss_pages_peak)
            o->c.rss_pages_peak = o->rss_total;
    } else {
        m->rss -= n;
        o->rss_total -= n;
    }
    if (level > 1)
        m->huge[level] += add ? 1 : (uint64_t)-1;
}

/* pgtable_map that cannot fail (os_room() was made), plus accounting. */
void os_map_user(os *o, mm *m, uint64_t va, uint64_t pa, unsigned level, uint64_t flags)
{
    pgtable_err e = pgtable_map(m->pt, va, pa, level_size(o, level), level_shift(o, level), flags);
    assert(e == PGT_OK);
    (void)e;
    os_mirror_user(o, m, va, va);
    os_account(o, m, level, true);
    os_res_add(o, m, va, level);
}

static void gather(unmap_ctx *u, uint64_t va, uint64_t size, unsigned shift)
{
    if (va < u->lo)
        u->lo = va;
    if (va + size > u->hi)
        u->hi = va + size;
    if (shift < u->shift)
        u->shift = shift;
}

void os_unmap_leaf(void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)epa;
    unmap_ctx *u = ctx;
    os *o = u->o;
    uint64_t size = level_size(o, level);
    os_put_frames(o, paging_entry_addr(o->mode, level, e), size / PAGE);
    if (u->user)
        os_account(o, u->m, level, false);
    if (u->file)
        o->cache_idle_maybe = true;
    gather(u, va, size, level_shift(o, level));
}

void os_mm_destroy(os *o, mm *m)
{
    keylist keys = {0};
    unmap_ctx u = {.o = o, .m = m, .user = m != o->init, .lo = UINT64_MAX, .shift = 64};
    for (size_t i = 0; i < m->vmas.n; i++) {
        const vma *v = &m->vmas.v[i];
        u.file = v->file != 0;
        os_keylist_add_shmem(&keys, v);
        pgtable_visit_leaves(m->pt, v->start, v->end - 1, os_unmap_leaf, &u);
    }
    os_drop_swapped(o, m, 0, o->user_top);
    vma_set_free(&m->vmas);
    o->by_id[m->id] = NULL;
    os_owner_release(o, m);
    os_shmem_release_unused(o, keys.k, keys.n);
    free(keys.k);
    pgtable_free(m->upt);
    pgtable_free(m->pt);
    free(m);
}

/* Drop a process's reference; the last one frees the address space (CPUs
 * still on it go to init_mm, as a lazy CPU does when its mm is torn down). */
void os_mm_put(os *o, mm *m)
{
    if (--m->users)
        return;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++)
        if (o->cpu[cpu].mm == m) {
            os_attribute(o, cpu);
            o->cpu[cpu].has_pid = false;
            os_cpu_switch(o, cpu, o->init);
        }
    os_mm_destroy(o, m);
}
