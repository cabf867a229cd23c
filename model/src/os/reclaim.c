/* reclaim.c -- reclaim under `exhaustion: reclaim`: a clock over the list
 * of resident user mappings (in the order they were made) gives pages with
 * the accessed bit a second chance and evicts the first without it; an
 * evicted anonymous page is remembered, and its next touch is a major fault
 * (os_fault_reclaimed). */
#include "os_internal.h"

/* Still mapped as recorded?  Fills the mm, leaf entry and frame. */
static bool resident_live(const os *o, const resident *r, mm **mp, uint64_t *leaf, uint64_t *pa)
{
    mm *m = r->mm_id == NO_ID ? NULL : os_mm_lookup(o, r->mm_id);
    if (!m)
        return false;
    unsigned level;
    uint64_t e = pgtable_lookup(m->pt, r->va, &level, pa);
    if (!e || level != r->level)
        return false;
    *mp = m;
    *leaf = e;
    return true;
}

/* Drop stale and duplicate entries, keeping the clock order and hand. */
static void res_compact(os *o)
{
    pairmap seen = {0};
    size_t w = 0, hand = 0;
    for (size_t i = 0; i < o->nres; i++) {
        if (i == o->hand)
            hand = w;
        resident *r = &o->res[i];
        mm *m;
        uint64_t leaf, pa;
        if (!resident_live(o, r, &m, &leaf, &pa) || pairmap_get(&seen, r->mm_id, r->va, NULL))
            continue;
        pairmap_put(&seen, r->mm_id, r->va, 1);
        o->res[w++] = *r;
    }
    o->hand = o->hand >= o->nres ? w : hand;
    o->nres = w;
    pairmap_free(&seen);
}

void os_res_add(os *o, const mm *m, uint64_t va, unsigned level)
{
    if (o->cfg.os.exhaustion != EXHAUST_RECLAIM)
        return;
    if (o->nres >= 2 * o->rss_total + 4096)
        res_compact(o);
    mm_grow(&o->res, &o->capres, o->nres, sizeof *o->res, 256);
    o->res[o->nres++] = (resident){va, m->id, level};
}

/* Unmap one resident mapping.  A file page leaves the page cache with it
 * (its next touch reads it again: a file major fault); an anonymous page is
 * remembered as reclaimed in this mm (its next touch there is a
 * reclaimed-page major fault). */
static void evict(os *o, mm *m, uint64_t va, unsigned level, uint64_t pa, bool cached, uint64_t file, uint64_t idx)
{
    uint64_t size = level_size(o, level), n = size / PAGE;
    pgtable_unmap(m->pt, va, size, NULL);
    os_mirror_user(o, m, va, va);
    os_account(o, m, level, false);
    if (cached) {
        pairmap_del(&o->cache, file, idx);
        frames_put(o->fr, pa);   /* the mapping's reference */
        frames_put(o->fr, pa);   /* the cache's */
    } else {
        os_put_frames(o, pa, n);
        for (uint64_t i = 0; i < n; i++)
            pairmap_put(&o->swapped, m->id, (va >> 12) + i, 1);
        m->nswapped += n;
    }
    o->c.reclaims++;
    os_flush_mm(o, o->cur_cpu, m, va, va + size, level_shift(o, level), false);
}

/* The address spaces mapping anonymous frame pa at va with a leaf of
 * `level`: fork keeps a shared page at the same address, so looking the
 * address up in each process finds every sharer (Linux's anon rmap). */
static size_t anon_sharers(const os *o, uint64_t va, unsigned level, uint64_t pa, mm **out)
{
    size_t n = 0;
    for (size_t i = 0; i < o->nprocs && n < MAX_SHARERS; i++) {
        mm *m = o->procs[i].mm;
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen |= out[j] == m;
        unsigned l;
        uint64_t p;
        if (!seen && pgtable_lookup(m->pt, va, &l, &p) && l == level && p == pa)
            out[n++] = m;
    }
    return n;
}

/* Free at least one frame.  First an unmapped page-cache page; then the
 * clock: the hand sweeps the resident list in the order mappings were made;
 * a page whose leaf has the accessed bit set (in any of its mappings) gets a
 * second chance (A is cleared -- without a TLB flush, as x86 Linux's
 * ptep_clear_flush_young, so a page hot in the TLB looks cold), the first
 * one found with A clear is evicted.  Candidates are the pages eviction
 * frees: a private page from all the processes that share it, a file page
 * mapped once (plus the cache's reference).  Shared anonymous memory and
 * file pages mapped more than once are passed over.  There is no swap
 * cache: each sharer of an evicted page faults in a copy of its own.  Two
 * sweeps at most; false when nothing could be freed. */
bool os_reclaim_one(os *o)
{
    if (os_reclaim_cache_page(o)) {
        o->c.reclaims++;
        return true;
    }
    for (size_t budget = 2 * o->nres + 2; o->nres && budget; budget--) {
        if (o->hand >= o->nres)
            o->hand = 0;
        resident *r = &o->res[o->hand++];
        mm *m;
        uint64_t leaf, pa;
        if (!resident_live(o, r, &m, &leaf, &pa)) {
            r->mm_id = NO_ID;
            continue;
        }
        const vma *v = vma_find(&m->vmas, r->va);
        if (!v || v->file >= VMA_SHMEM)
            continue;
        uint64_t idx = 0, cpa = 0, size = level_size(o, r->level);
        bool cached = false;
        if (v->file) {
            idx = v->pgoff + ((r->va - v->start) >> 12);
            cached = pairmap_get(&o->cache, v->file, idx, &cpa) && cpa == pa;
        }
        unsigned refs = frames_refcount(o->fr, pa);
        mm *who[MAX_SHARERS] = {m};
        size_t n = 1;
        if (cached ? refs != 2 : refs > 1) {
            if (cached || refs > MAX_SHARERS || (n = anon_sharers(o, r->va, r->level, pa, who)) != refs)
                continue;
        }
        bool young = false;
        for (size_t i = 0; i < n; i++) {
            uint64_t e = pgtable_lookup(who[i]->pt, r->va, NULL, NULL);
            if (e & PTE_A) {
                pgtable_protect(who[i]->pt, r->va, size, 0, PTE_A);
                young = true;
            }
        }
        if (young)
            continue;
        resident victim = *r;
        r->mm_id = NO_ID;
        for (size_t i = 0; i < n; i++)
            evict(o, who[i], victim.va, victim.level, pa, cached, v->file, idx);
        return true;
    }
    return false;
}

void os_drop_swapped(os *o, mm *m, uint64_t start, uint64_t end)
{
    uint64_t first = start >> 12, last = (end >> 12) - 1;
    if (!m->nswapped)
        return;
    if (last - first < o->swapped.n) {
        for (uint64_t vpn = first; vpn <= last && m->nswapped; vpn++)
            if (pairmap_del(&o->swapped, m->id, vpn))
                m->nswapped--;
        return;
    }
    size_t n;
    pairmap_slot *s = pairmap_collect(&o->swapped, m->id, &n);
    for (size_t i = 0; i < n; i++)
        if (s[i].b >= first && s[i].b <= last) {
            pairmap_del(&o->swapped, s[i].a, s[i].b);
            m->nswapped--;
        }
    free(s);
}

bool os_region_has_swapped(const os *o, const mm *m, uint64_t base, uint64_t size)
{
    if (!m->nswapped)
        return false;
    if (size > IMPLICIT_SPAN)
        return true;   /* 1 GiB: do not look; map smaller pages */
    for (uint64_t va = base; va < base + size; va += PAGE)
        if (pairmap_get(&o->swapped, m->id, va >> 12, NULL))
            return true;
    return false;
}

/* The touch of a page reclaim evicted from m (a major fault): a new frame,
 * mapped as the VMA maps (a private page writable, clean unless written). */
fres os_fault_reclaimed(os *o, unsigned cpu, mm *m, const vma *v, uint64_t page, bool write)
{
    bool shared = (v->flags & OS_MAP_SHARED) != 0;
    if (!os_room(o, m->pt, page, 1, 1))
        return F_OOM;
    pairmap_del(&o->swapped, m->id, page >> 12);
    m->nswapped--;
    uint64_t pa = frames_alloc(o->fr, 0);
    os_map_user(o, m, page, pa, 1, os_user_flags(o, v, !shared, write));
    o->c.faults_reclaimed++;
    os_charge_fault(o, cpu, o->cfg.os.major_fault_cycles);
    return F_RETRY;
}
