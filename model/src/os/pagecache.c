/* pagecache.c -- the page cache: file pages keyed by (file id, page index),
 * and shared anonymous memory (Linux's shmem objects, one per
 * MAP_SHARED|MAP_ANONYMOUS mapping); the faults that go through it, and
 * dropping cached pages nobody maps. */
#include "os_internal.h"

/* A cached file page nobody maps (only the cache's reference left): drop
 * it.  The scan resumes where it stopped; a fruitless full scan is not
 * repeated until a cached page loses a mapping again. */
bool os_reclaim_cache_page(os *o)
{
    if (!o->cache_idle_maybe || !o->cache.n)
        return false;
    for (size_t k = 0; k < o->cache.cap; k++) {
        size_t i = (o->cache_hand + k) & (o->cache.cap - 1);
        pairmap_slot s = o->cache.s[i];
        if (s.a == PAIRMAP_EMPTY || s.a >= VMA_SHMEM || frames_refcount(o->fr, s.v) != 1)
            continue;
        o->cache_hand = i + 1;
        pairmap_del(&o->cache, s.a, s.b);
        frames_put(o->fr, s.v);
        return true;
    }
    o->cache_idle_maybe = false;
    return false;
}

static bool shmem_in_use(const os *o, uint64_t key)
{
    for (size_t id = 0; id < o->nids; id++) {
        const mm *m = o->by_id[id];
        if (!m)
            continue;
        for (size_t i = 0; i < m->vmas.n; i++)
            if (m->vmas.v[i].file == key)
                return true;
    }
    return false;
}

/* Shared anonymous memory lives while a VMA names it (Linux's shmem file
 * of a MAP_SHARED|MAP_ANONYMOUS mapping). */
void os_shmem_release_unused(os *o, const uint64_t *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (shmem_in_use(o, keys[k]))
            continue;
        size_t np;
        pairmap_slot *pages = pairmap_collect(&o->cache, keys[k], &np);
        for (size_t i = 0; i < np; i++) {
            pairmap_del(&o->cache, pages[i].a, pages[i].b);
            frames_put(o->fr, pages[i].v);
        }
        free(pages);
    }
}

void os_keylist_add_shmem(void *ctx, const vma *piece)
{
    keylist *l = ctx;
    if (piece->file < VMA_SHMEM)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->k[i] == piece->file)
            return;
    mm_grow(&l->k, &l->cap, l->n, sizeof *l->k, 4);
    l->k[l->n++] = piece->file;
}

/* A not-present page of a file or of shared anonymous memory (v->file):
 * through the page cache.  A miss reads the page in (a major fault; shared
 * anonymous memory is zero-filled: a minor one).  A write to a private
 * file page copies it at once (Linux's do_cow_fault). */
fres os_fault_file(os *o, unsigned cpu, mm *m, const vma *v, uint64_t page, bool write)
{
    bool shared = (v->flags & OS_MAP_SHARED) != 0;
    bool shmem = v->file >= VMA_SHMEM, cow = write && !shared;
    uint64_t idx = v->pgoff + ((page - v->start) >> 12);
    if (!os_room(o, m->pt, page, 1, 1 + cow))
        return F_OOM;
    uint64_t pa;
    bool hit = pairmap_get(&o->cache, v->file, idx, &pa);
    if (!hit) {
        pa = frames_alloc(o->fr, 0);   /* this reference is the cache's */
        pairmap_put(&o->cache, v->file, idx, pa);
    }
    uint64_t cycles = hit || shmem ? o->cfg.os.minor_fault_cycles : o->cfg.os.major_fault_cycles;
    if (cow) {
        os_map_user(o, m, page, frames_alloc(o->fr, 0), 1, os_user_flags(o, v, true, true));
        o->cache_idle_maybe = true;
        cycles += o->cfg.os.cow_fault_cycles;
    } else {
        frames_get(o->fr, pa);
        os_map_user(o, m, page, pa, 1, os_user_flags(o, v, shared, write));
    }
    if (hit)
        o->c.faults_file_minor++;
    else if (shmem)
        o->c.faults_demand_zero++;
    else
        o->c.faults_file_major++;
    os_charge_fault(o, cpu, cycles);
    return F_RETRY;
}
