/* mmu.c -- one CPU's MMU: front end, TLB hierarchy, walker pool, context
 * switches and invalidation (see mmu.h and model/README.md).
 *
 * Time: accesses are processed in program order.  Each gets an issue cycle
 * from the front end (in order, issue_width per cycle, at most
 * max_outstanding in flight); its lookups happen at that cycle and its fills
 * are queued with the cycle they take effect (the completion cycle).  Before
 * an access looks anything up, fills due at or before its issue cycle are
 * applied -- so an access issued while a walk is in flight misses, and can
 * merge with the walk, as in hardware.
 *
 * Invariant: next_fill == the smallest `at` in the pending-fill list, or
 * UINT64_MAX when it is empty; the hot path tests only next_fill. */
#include "mmusim/mmu.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/pwc.h"

#define MAX_OUTSTANDING 256
#define MAX_ASIDS 4096

/* Fill targets. */
#define FILL_ITLB 1u
#define FILL_DTLB 2u
#define FILL_STLB 4u

typedef struct pending_fill {
    mm_cycle at;
    uint64_t seq;       /* queue order, to apply same-cycle fills in order */
    tlb_entry e;
    unsigned targets;
} pending_fill;

/* Per access kind (load, store, ifetch) counters, in perf/Intel terms.
 * Every access that leaves the L1 hit path ends in exactly one of
 * stlb_hits, walks_completed, faults (a walk, or a merge onto one, that
 * found no usable translation) and merged (served by another walk's
 * translation); it got there by an L1 miss (l1_misses) or by an L1 hit on
 * an entry it could not use (rewalks: a store to a clean page, stale
 * permissions).  So l1_misses + rewalks = stlb_hits + walks_completed +
 * faults + merged, per kind (tests/test_counters.c). */
typedef struct kind_counters {
    uint64_t lookups, l1_misses, stlb_hits, walks_completed, walks_by_ps[MM_PS_COUNT];
    uint64_t walk_pending, walk_active, faults, merged, rewalks;
    mm_cycle active_until;
} kind_counters;

typedef struct mmu_counters {
    kind_counters k[3];
    /* Translations and L1 hits are derived at export: lookups per kind,
     * and lookups - l1_misses (every lookup either hits or misses). */
    uint64_t l1_evictions[2];                 /* [0] itlb, [1] dtlb */
    uint64_t stlb_lookups, stlb_hits, stlb_evictions, back_invalidations;
    uint64_t dirty_rewalks, perm_rewalks;
    uint64_t cr3_writes, cr3_noflush, invlpg, invpcid[4], full_flushes, asid_recycles;
    uint64_t tlb_entries_flushed, pwc_entries_flushed;
    uint64_t page_faults;
} mmu_counters;

/* The last entry each L1 TLB returned (a copy).  A lookup of the same page
 * needs no set scan and no replacement update: that entry is the most
 * recently used of its set, and touching it again changes no policy's
 * victim order (LRU order, PLRU bits, SRRIP's RRPV 0; FIFO and random ignore
 * hits).  Invariant: valid only while the TLB is unchanged since -- every
 * fill, removal and flush clears it (apply_fill, drop_unusable,
 * serialize). */
typedef struct l1_memo {
    tlb_entry e;
    uint16_t pcid;      /* PCID of the lookup that found it */
    bool valid;
} l1_memo;

struct mmu {
    mm_config cfg;
    unsigned cpu;
    const paging_mode *mode;
    memsys *ms;
    walker_physmem own_port;          /* pm and ms, for the port on them */
    walker_mem home;                  /* the port the MMU was created with (own_port's, or the caller's) */
    tlb *itlb, *dtlb, *stlb;
    pwc *pwc;
    walker *walker;
    walk_regs regs;
    unsigned l1_lat[3];               /* by mm_kind: dtlb, dtlb, itlb latency */
    unsigned stlb_lat;

    /* front end */
    mm_cycle *issued;                 /* ring of the last issue_width issue cycles */
    unsigned issued_pos;
    mm_cycle last_issue, min_issue, now;
    /* Completion cycles of the translations in flight.  L1 hits complete
     * within max L1 latency cycles of their issue, so at most
     * hit_window = issue_width * that latency of them are ever in flight,
     * and they are among the last hit_window hits: `hits` keeps those (a
     * ring, overwritten in place).  Everything else (STLB hits, walks,
     * faults) is in the min-heap.  While nheap + hit_window <
     * max_outstanding the limit cannot bind and the hits are not even
     * looked at -- the common case costs one store per access. */
    mm_cycle hits[MAX_OUTSTANDING];
    unsigned hit_window, hit_pos;
    mm_cycle heap[MAX_OUTSTANDING];
    unsigned nheap;
    uint64_t waited;                  /* mmu_frontend_waited: a running total, never reset */

    /* pending fills */
    pending_fill *fills;
    size_t nfills, capfills;
    uint64_t fill_seq;
    mm_cycle next_fill;

    /* Linux-style dynamic ASIDs */
    uint64_t asid_owner[MAX_ASIDS];
    bool asid_used[MAX_ASIDS];
    unsigned next_asid;

    walk_result last;
    mmu_counters c;
    mm_cycle cycle_base;              /* mmu_now at the last mmu_reset_stats: "cycles" counts from it */
    l1_memo memo[2];                  /* [0] iTLB, [1] dTLB */

    /* The tap (mmu.h), if any, and per L1 the tap when it reports that
     * L1's lookups, else NULL: the one pointer the lookup path tests. */
    const mmu_tap *tap;
    const mmu_tap *l1_tap[2];
    /* Lookups made (all kinds) when the last reported one was, or
     * UINT64_MAX once the MMU serialized since: mmu_tap_end's "did the
     * CPU do anything after it". */
    uint64_t tap_mark;
};

/* The MMU of mmu_create (pm != NULL: the port on the image and memsys) or
 * of mmu_create_with_port (port != NULL).  NULL with err filled: a rule of
 * the configuration the MMU's parts break (as cfg_validate_mmu says it),
 * or structures too large for the host. */
static mmu *mmu_build(const mm_config *cfg, unsigned cpu, physmem *pm, memsys *ms, const walker_mem *port,
                      char *err, size_t errlen)
{
    if (cfg_validate_mmu(cfg, err, errlen) != 0)
        return NULL;
    mmu *m = mm_xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->cpu = cpu;
    m->mode = cfg_mode(cfg);
    m->ms = ms;
    m->own_port = (walker_physmem){.m = m->mode, .pm = pm, .ms = ms};
    /* Each CPU's random replacement gets its own stream. */
    tlb_cfg t;
    t = cfg->itlb.tlb;
    t.seed += cpu * 0x100;
    if (!(m->itlb = tlb_create(&t, err, errlen)))
        goto fail;
    t = cfg->dtlb.tlb;
    t.seed += cpu * 0x100;
    if (!(m->dtlb = tlb_create(&t, err, errlen)))
        goto fail;
    t = cfg->stlb.tlb;
    t.seed += cpu * 0x100;
    if (!(m->stlb = tlb_create(&t, err, errlen)))
        goto fail;
    pwc_cfg pc = cfg->pwc;
    pc.seed += cpu * 0x100;
    if (!(m->pwc = pwc_create(&pc, m->mode, err, errlen)))
        goto fail;
    walker_cfg wc = {.walkers = cfg->walker.walkers, .merge = cfg->walker.merge,
                     .pa_bits = cfg->cpu.pa_bits, .pwc_latency = cfg->pwc.latency};
    m->home = port ? *port : walker_mem_physmem(&m->own_port);
    if (!(m->walker = walker_create(&wc, m->mode, m->pwc, &m->home, err, errlen)))
        goto fail;
    m->issued = mm_xmalloc(cfg->frontend.issue_width * sizeof *m->issued);
    /* all-ones: "issue_width accesses ago, plus one" is cycle 0 */
    memset(m->issued, 0xff, cfg->frontend.issue_width * sizeof *m->issued);
    m->regs.wp = cfg->cpu.wp;
    m->regs.smep = cfg->cpu.smep;
    m->regs.smap = cfg->cpu.smap;
    m->l1_lat[MM_LOAD] = m->l1_lat[MM_STORE] = cfg->dtlb.latency;
    m->l1_lat[MM_IFETCH] = cfg->itlb.latency;
    m->stlb_lat = cfg->stlb.latency;
    unsigned l1_max = cfg->itlb.latency > cfg->dtlb.latency ? cfg->itlb.latency : cfg->dtlb.latency;
    m->hit_window = cfg->frontend.issue_width * (l1_max ? l1_max : 1);
    if (m->hit_window > MAX_OUTSTANDING)
        m->hit_window = MAX_OUTSTANDING;
    m->next_fill = UINT64_MAX;
    return m;
fail:
    mmu_free(m);
    return NULL;
}

mmu *mmu_create(const mm_config *cfg, unsigned cpu, physmem *pm, memsys *ms, char *err, size_t errlen)
{
    if (!pm) {
        mm_errf(err, errlen, "mmu: no physical memory image (an MMU on other memory is mmu_create_with_port's)");
        return NULL;
    }
    return mmu_build(cfg, cpu, pm, ms, NULL, err, errlen);
}

mmu *mmu_create_with_port(const mm_config *cfg, unsigned cpu, const walker_mem *port, char *err, size_t errlen)
{
    if (!port) {
        mm_errf(err, errlen, "mmu: no memory port");
        return NULL;
    }
    return mmu_build(cfg, cpu, NULL, NULL, port, err, errlen);
}

void mmu_free(mmu *m)
{
    if (!m)
        return;
    tlb_free(m->itlb);
    tlb_free(m->dtlb);
    tlb_free(m->stlb);
    walker_free(m->walker);
    pwc_free(m->pwc);
    free(m->issued);
    free(m->fills);
    free(m);
}

/* ---- front end ---- */

static void heap_push(mmu *m, mm_cycle v)
{
    unsigned i = m->nheap++;
    while (i > 0 && m->heap[(i - 1) / 2] > v) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = v;
}

static mm_cycle heap_pop(mmu *m)
{
    mm_cycle top = m->heap[0], v = m->heap[--m->nheap];
    unsigned i = 0;
    for (;;) {
        unsigned c = 2 * i + 1;
        if (c >= m->nheap)
            break;
        if (c + 1 < m->nheap && m->heap[c + 1] < m->heap[c])
            c++;
        if (m->heap[c] >= v)
            break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    m->heap[i] = v;
    return top;
}

/* The cycle the next access issues: in order, at most issue_width per
 * cycle, and only once fewer than max_outstanding translations are in
 * flight. */
/* The exact check behind the common case: count the hits still in flight
 * at t as well, and move t to the earliest completion until fewer than
 * max_outstanding remain. */
__attribute__((noinline)) static mm_cycle frontend_wait(mmu *m, mm_cycle t)
{
    for (;;) {
        unsigned n = m->nheap;
        mm_cycle earliest = m->nheap ? m->heap[0] : UINT64_MAX;
        for (unsigned i = 0; i < m->hit_window; i++)
            if (m->hits[i] > t) {
                n++;
                if (m->hits[i] < earliest)
                    earliest = m->hits[i];
            }
        if (n < m->cfg.frontend.max_outstanding)
            return t;
        t = earliest;
        while (m->nheap && m->heap[0] <= t)
            heap_pop(m);
    }
}

static inline mm_cycle frontend_issue(mmu *m)
{
    mm_cycle t = m->last_issue;
    mm_cycle slot = m->issued[m->issued_pos] + 1;   /* issue_width accesses ago, plus one */
    if (slot > t)   /* the ring starts all-ones: slot 0 for the first accesses */
        t = slot;
    if (m->min_issue > t)
        t = m->min_issue;
    /* Forget walks completed by t; if max_outstanding translations are
     * still in flight, wait for the earliest to complete. */
    while (m->nheap && m->heap[0] <= t)
        heap_pop(m);
    if (m->nheap + m->hit_window >= m->cfg.frontend.max_outstanding) {
        mm_cycle w = frontend_wait(m, t);
        m->waited += w - t;
        t = w;
    }
    m->issued[m->issued_pos] = t;
    m->issued_pos = m->issued_pos + 1 == m->cfg.frontend.issue_width ? 0 : m->issued_pos + 1;
    m->last_issue = t;
    return t;
}

/* An L1 hit completes at `done`. */
static inline void frontend_hit(mmu *m, mm_cycle done)
{
    m->hits[m->hit_pos] = done;
    m->hit_pos = m->hit_pos + 1 == m->hit_window ? 0 : m->hit_pos + 1;
    if (done > m->now)
        m->now = done;
}

/* Any other translation (STLB hit, walk, fault) completes at `done`. */
static inline void frontend_complete(mmu *m, mm_cycle done)
{
    heap_push(m, done);
    if (done > m->now)
        m->now = done;
}

/* ---- fills ---- */

/* The pending fills are a binary min-heap on (at, seq): fills land in cycle
 * order, same-cycle fills in the order they were queued. */
static bool fill_before(const pending_fill *a, const pending_fill *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void queue_fill(mmu *m, mm_cycle at, const tlb_entry *e, unsigned targets)
{
    mm_grow(&m->fills, &m->capfills, m->nfills, sizeof *m->fills, 16);
    pending_fill f = {at, m->fill_seq++, *e, targets};
    size_t i = m->nfills++;
    while (i > 0 && fill_before(&f, &m->fills[(i - 1) / 2])) {
        m->fills[i] = m->fills[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->fills[i] = f;
    m->next_fill = m->fills[0].at;
}

static pending_fill pop_fill(mmu *m)
{
    pending_fill top = m->fills[0], last = m->fills[--m->nfills];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->nfills)
            break;
        if (c + 1 < m->nfills && fill_before(&m->fills[c + 1], &m->fills[c]))
            c++;
        if (!fill_before(&m->fills[c], &last))
            break;
        m->fills[i] = m->fills[c];
        i = c;
    }
    if (m->nfills)
        m->fills[i] = last;
    return top;
}

static void insert_l1(mmu *m, unsigned which, const tlb_entry *e)
{
    tlb *t = which ? m->dtlb : m->itlb;
    tlb_entry victim;
    if (tlb_insert(t, e, &victim))
        m->c.l1_evictions[which]++;
}

static void apply_fill(mmu *m, const pending_fill *f)
{
    m->memo[0].valid = m->memo[1].valid = false;
    if (f->targets & FILL_STLB) {
        tlb_entry victim;
        if (tlb_insert(m->stlb, &f->e, &victim)) {
            m->c.stlb_evictions++;
            if (m->cfg.stlb_inclusive)
                m->c.back_invalidations += tlb_remove(m->itlb, &victim) + tlb_remove(m->dtlb, &victim);
        }
    }
    if (f->targets & FILL_ITLB)
        insert_l1(m, 0, &f->e);
    if (f->targets & FILL_DTLB)
        insert_l1(m, 1, &f->e);
}

/* Apply every fill due at or before t, in (cycle, queue) order. */
__attribute__((noinline)) static void apply_fills(mmu *m, mm_cycle t)
{
    while (m->nfills && m->fills[0].at <= t) {
        pending_fill f = pop_fill(m);
        apply_fill(m, &f);
    }
    m->next_fill = m->nfills ? m->fills[0].at : UINT64_MAX;
}

/* ---- translation ---- */

static void kind_walk_active(kind_counters *k, mm_cycle from, mm_cycle to)
{
    k->walk_pending += to - from;
    if (from >= k->active_until)
        k->walk_active += to - from;
    else if (to > k->active_until)
        k->walk_active += to - k->active_until;
    if (to > k->active_until)
        k->active_until = to;
}

static inline bool entry_usable(const mmu *m, const tlb_entry *e, mm_kind kind, mm_priv priv)
{
    if (walk_perm_fault(&m->regs, kind, priv, e->perm))
        return false;
    return kind != MM_STORE || (e->perm & TLB_D);
}

static inline uint64_t entry_pa(const tlb_entry *e, uint64_t va)
{
    return (e->pfn << e->shift) | (va & ((1ull << e->shift) - 1));
}

/* An L1 hit on usable entry e: it completes L1 latency after issue. */
static inline __attribute__((always_inline)) void l1_hit(mmu *m, const tlb_entry *e, uint64_t va, mm_kind kind,
                                                         mm_cycle t, mmu_result *out)
{
    out->done = t + m->l1_lat[kind];
    out->pa = entry_pa(e, va);
    out->where = MMU_L1_HIT;
    out->shift = e->shift;
    frontend_hit(m, out->done);
}

/* Count why a cached entry could not be used; the caller re-walks. */
static void drop_unusable(mmu *m, tlb *t, const tlb_entry *e, mm_kind kind, mm_priv priv)
{
    if (walk_perm_fault(&m->regs, kind, priv, e->perm))
        m->c.perm_rewalks++;
    else
        m->c.dirty_rewalks++;
    tlb_entry copy = *e;
    m->memo[0].valid = m->memo[1].valid = false;
    tlb_remove(t, &copy);
    if (t != m->stlb)
        tlb_remove(m->stlb, &copy);
}

__attribute__((noinline)) static void mmu_access_slow(mmu *m, uint64_t va, mm_kind kind, mm_priv priv, mm_cycle t,
                            const tlb_entry *l1e, mmu_result *out)
{
    kind_counters *k = &m->c.k[kind];
    tlb *l1 = kind == MM_IFETCH ? m->itlb : m->dtlb;
    unsigned l1_target = kind == MM_IFETCH ? FILL_ITLB : FILL_DTLB;
    mm_cycle at = t + m->l1_lat[kind];

    if (l1e) {
        /* Hit, but the cached permissions or a clean D bit force a walk. */
        drop_unusable(m, l1, l1e, kind, priv);
        k->rewalks++;
    } else {
        k->l1_misses++;
        m->c.stlb_lookups++;
        at += m->stlb_lat;
        const tlb_entry *se = tlb_lookup(m->stlb, va, m->regs.pcid);
        if (se && entry_usable(m, se, kind, priv)) {
            m->c.stlb_hits++;
            k->stlb_hits++;
            out->done = at;
            out->pa = entry_pa(se, va);
            out->where = MMU_STLB_HIT;
            out->shift = se->shift;
            queue_fill(m, at, se, l1_target);
            frontend_complete(m, at);
            return;
        }
        if (se)
            drop_unusable(m, m->stlb, se, kind, priv);
    }

    walk_req req = {va, kind, priv};
    walker_request(m->walker, &m->regs, &req, at, &m->last);
    const walk_result *r = &m->last;
    out->done = r->end;
    kind_walk_active(k, at, r->end);
    if (r->merged) {
        k->merged += !r->fault;   /* a merge onto a faulting walk is a fault */
        out->where = MMU_MERGED;
    } else {
        out->where = MMU_WALK;
    }
    if (r->fault) {
        out->fault = true;
        out->error_code = r->error_code;
        k->faults++;
        m->c.page_faults++;
    } else {
        out->pa = r->pa;
        out->shift = r->shift;
        if (!r->merged) {
            k->walks_completed++;
            k->walks_by_ps[mm_ps_of_shift(r->shift)]++;
            tlb_entry e = {.vpn = va >> r->shift, .pfn = r->pa >> r->shift, .pcid = m->regs.pcid,
                           .shift = (uint8_t)r->shift, .perm = (uint8_t)r->perm};
            queue_fill(m, r->end, &e, l1_target | FILL_STLB);
        }
    }
    frontend_complete(m, out->done);
}

static uint64_t lookups_made(const mmu *m)
{
    return m->c.k[MM_LOAD].lookups + m->c.k[MM_STORE].lookups + m->c.k[MM_IFETCH].lookups;
}

/* The entry the L1 fill queued as number seq will insert, or NULL when
 * no such fill is pending (none was queued).  Fills queued by an access
 * land after it (at its completion), so its own fill is still queued. */
static const tlb_entry *queued_l1_fill(const mmu *m, uint64_t seq)
{
    for (size_t i = 0; i < m->nfills; i++)
        if (m->fills[i].seq == seq && (m->fills[i].targets & (FILL_ITLB | FILL_DTLB)))
            return &m->fills[i].e;
    return NULL;
}

/* The end of mmu_access when a tap reports this L1's lookups: finish the
 * access as mmu_access would, then report what it left in the L1. */
__attribute__((noinline)) static void mmu_access_tapped(mmu *m, uint64_t va, mm_kind kind, mm_priv priv,
                                                        mm_cycle t, const tlb_entry *e, mmu_result *out)
{
    const unsigned which = kind != MM_IFETCH;
    const uint16_t pcid = m->regs.pcid;
    tlb_entry hit;
    const tlb_entry *now;
    if (e && entry_usable(m, e, kind, priv)) {
        hit = *e;
        now = &hit;
        l1_hit(m, e, va, kind, t, out);
    } else {
        uint64_t seq = m->fill_seq;
        mmu_access_slow(m, va, kind, priv, t, e, out);
        now = queued_l1_fill(m, seq);
    }
    const mmu_tap *tap = m->l1_tap[which];
    tap->lookup(tap->ctx, m->cpu, which, va, pcid, kind, now, out);
    m->tap_mark = lookups_made(m);
}

void mmu_access(mmu *m, uint64_t va, mm_kind kind, mm_priv priv, mmu_result *out)
{
    mm_cycle t = frontend_issue(m);
    if (t >= m->next_fill)
        apply_fills(m, t);
    m->c.k[kind].lookups++;
    out->issue = t;
    out->fault = false;
    out->error_code = 0;
    const unsigned which = kind != MM_IFETCH;
    l1_memo *mo = &m->memo[which];
    const tlb_entry *e;
    if (mo->valid && (va >> mo->e.shift) == mo->e.vpn && mo->pcid == m->regs.pcid) {
        e = &mo->e;
    } else {
        e = tlb_lookup(which ? m->dtlb : m->itlb, va, m->regs.pcid);
        if (e) {
            mo->e = *e;
            mo->pcid = m->regs.pcid;
            mo->valid = true;
        }
        /* The tap's one test on the L1-hit path (a memo hit never
         * reaches it: mmu.h says why it need not be reported). */
        if (__builtin_expect(m->l1_tap[which] != NULL, 0)) {
            mmu_access_tapped(m, va, kind, priv, t, e, out);
            return;
        }
    }
    if (__builtin_expect(e && entry_usable(m, e, kind, priv), 1)) {
        l1_hit(m, e, va, kind, t, out);
        return;
    }
    /* An unusable memo hit: removed and re-walked, so reported too. */
    if (__builtin_expect(m->l1_tap[which] != NULL, 0)) {
        mmu_access_tapped(m, va, kind, priv, t, e, out);
        return;
    }
    mmu_access_slow(m, va, kind, priv, t, e, out);
}

void mmu_set_tap(mmu *m, const mmu_tap *tap)
{
    m->tap = tap;
    for (unsigned i = 0; i < 2; i++)
        m->l1_tap[i] = tap && tap->lookup && tap->l1[i] ? tap : NULL;
    m->tap_mark = UINT64_MAX;
}

void mmu_tap_end(mmu *m)
{
    if (m->tap && m->tap->end)
        m->tap->end(m->tap->ctx, m->cpu, m->tap_mark != lookups_made(m));
}

/* Report a flush of the L1s to the tap. */
static void tap_flush(const mmu *m, mmu_flush_kind kind, uint16_t pcid, uint64_t va, bool include_global)
{
    if (!m->tap || !m->tap->flush)
        return;
    mmu_flush f = {.kind = kind, .pcid = pcid, .include_global = include_global, .va = va};
    m->tap->flush(m->tap->ctx, m->cpu, &f);
}

void mmu_advance(mmu *m, mm_cycle cycle)
{
    if (cycle > m->min_issue)
        m->min_issue = cycle;
}

mm_cycle mmu_now(const mmu *m)
{
    return m->now > m->last_issue ? m->now : m->last_issue;
}

uint64_t mmu_frontend_waited(const mmu *m)
{
    return m->waited;
}

/* ---- context and invalidation ---- */

/* MOV CR3, INVLPG and INVPCID are serializing: every translation in flight
 * completes and lands in the TLBs and page-walk caches before the flush. */
static void serialize(mmu *m)
{
    m->memo[0].valid = m->memo[1].valid = false;
    m->tap_mark = UINT64_MAX;   /* pending fills land now */
    mm_cycle t = mmu_now(m);
    mmu_advance(m, t);
    apply_fills(m, UINT64_MAX);
    walker_drain(m->walker);
}

static void count_flush(mmu *m, unsigned tlb_entries, unsigned pwc_entries)
{
    m->c.tlb_entries_flushed += tlb_entries;
    m->c.pwc_entries_flushed += pwc_entries;
}

static bool pcid_on(const mmu *m)
{
    return m->cfg.cpu.context != CTX_NOPCID;
}

void mmu_write_cr3(mmu *m, uint64_t root, uint16_t pcid, bool noflush)
{
    serialize(m);
    m->regs.root = root;
    m->regs.pcid = pcid_on(m) ? pcid : 0;
    m->c.cr3_writes++;
    if (pcid_on(m) && noflush) {
        m->c.cr3_noflush++;
        return;
    }
    unsigned n = 0, p = 0;
    if (!pcid_on(m)) {
        tap_flush(m, MMU_FLUSH_NONGLOBAL, 0, 0, false);
        n = tlb_flush_nonglobal(m->itlb) + tlb_flush_nonglobal(m->dtlb) + tlb_flush_nonglobal(m->stlb);
        p = pwc_flush_all(m->pwc);
    } else {
        tap_flush(m, MMU_FLUSH_PCID, pcid, 0, false);
        n = tlb_flush_pcid(m->itlb, pcid) + tlb_flush_pcid(m->dtlb, pcid) + tlb_flush_pcid(m->stlb, pcid);
        /* PA-tagged entries carry no PCID: a flushing CR3 write drops them all. */
        p = pwc_get_design(m->pwc) == PWC_PTE ? pwc_flush_all(m->pwc) : pwc_flush_pcid(m->pwc, pcid);
    }
    count_flush(m, n, p);
}

void mmu_switch_to(mmu *m, uint64_t owner, uint64_t root)
{
    switch (m->cfg.cpu.context) {
    case CTX_NOPCID:
        mmu_write_cr3(m, root, 0, false);
        return;
    case CTX_PCID:
        mmu_write_cr3(m, root, (uint16_t)(owner % 4095 + 1), true);
        return;
    case CTX_RECYCLE: {
        /* Linux choose_new_asid(): keep the slot this mm had on this CPU,
         * else take the next one round-robin and flush what it held.  The
         * hardware PCID is the slot number + 1 (kern_pcid()). */
        unsigned n = m->cfg.cpu.nr_asids;
        for (unsigned a = 0; a < n; a++)
            if (m->asid_used[a] && m->asid_owner[a] == owner) {
                mmu_write_cr3(m, root, (uint16_t)(a + 1), true);
                return;
            }
        unsigned a = m->next_asid;
        m->next_asid = (a + 1) % n;
        if (m->asid_used[a])
            m->c.asid_recycles++;
        m->asid_used[a] = true;
        m->asid_owner[a] = owner;
        mmu_write_cr3(m, root, (uint16_t)(a + 1), false);
        return;
    }
    default:
        assert(0);
    }
}

static unsigned pwc_flush_address(mmu *m, uint64_t va, uint16_t pcid)
{
    if (pwc_get_design(m->pwc) == PWC_PTE) {
        /* PA-tagged: the entries a walk of va reads, from the walker's port. */
        uint64_t pa[PAGING_MAX_LEVELS];
        return pwc_flush_pte_addrs(m->pwc, pa, walker_path(m->walker, m->regs.root, va, pa));
    }
    return pwc_flush_va(m->pwc, va, pcid);
}

void mmu_invlpg(mmu *m, uint64_t va)
{
    serialize(m);
    m->c.invlpg++;
    uint16_t pcid = m->regs.pcid;
    tap_flush(m, MMU_FLUSH_VA, pcid, va, true);
    unsigned n = tlb_flush_va(m->itlb, va, pcid, true) + tlb_flush_va(m->dtlb, va, pcid, true) +
                 tlb_flush_va(m->stlb, va, pcid, true);
    count_flush(m, n, pwc_flush_address(m, va, pcid));
}

void mmu_invpcid(mmu *m, unsigned type, uint16_t pcid, uint64_t va)
{
    assert(type < 4);
    serialize(m);
    m->c.invpcid[type]++;
    unsigned n = 0, p = 0;
    switch (type) {
    case 0: /* individual address, not globals */
        tap_flush(m, MMU_FLUSH_VA, pcid, va, false);
        n = tlb_flush_va(m->itlb, va, pcid, false) + tlb_flush_va(m->dtlb, va, pcid, false) +
            tlb_flush_va(m->stlb, va, pcid, false);
        p = pwc_flush_address(m, va, pcid);
        break;
    case 1: /* single context */
        tap_flush(m, MMU_FLUSH_PCID, pcid, 0, false);
        n = tlb_flush_pcid(m->itlb, pcid) + tlb_flush_pcid(m->dtlb, pcid) + tlb_flush_pcid(m->stlb, pcid);
        p = pwc_get_design(m->pwc) == PWC_PTE ? pwc_flush_all(m->pwc) : pwc_flush_pcid(m->pwc, pcid);
        break;
    case 2: /* all contexts, globals too */
        tap_flush(m, MMU_FLUSH_ALL, 0, 0, false);
        n = tlb_flush_all(m->itlb) + tlb_flush_all(m->dtlb) + tlb_flush_all(m->stlb);
        p = pwc_flush_all(m->pwc);
        break;
    case 3: /* all contexts except globals */
        tap_flush(m, MMU_FLUSH_NONGLOBAL, 0, 0, false);
        n = tlb_flush_nonglobal(m->itlb) + tlb_flush_nonglobal(m->dtlb) + tlb_flush_nonglobal(m->stlb);
        p = pwc_flush_all(m->pwc);
        break;
    }
    count_flush(m, n, p);
}

void mmu_flush_all(mmu *m)
{
    serialize(m);
    m->c.full_flushes++;
    tap_flush(m, MMU_FLUSH_ALL, 0, 0, false);
    count_flush(m, tlb_flush_all(m->itlb) + tlb_flush_all(m->dtlb) + tlb_flush_all(m->stlb),
                pwc_flush_all(m->pwc));
}

void mmu_set_ac(mmu *m, bool ac)
{
    m->regs.ac = ac;
}

const walk_regs *mmu_regs(const mmu *m) { return &m->regs; }
tlb *mmu_itlb(mmu *m) { return m->itlb; }
tlb *mmu_dtlb(mmu *m) { return m->dtlb; }
tlb *mmu_stlb(mmu *m) { return m->stlb; }
walker *mmu_walker(mmu *m) { return m->walker; }
pwc *mmu_pwc(mmu *m) { return m->pwc; }
const walk_result *mmu_last_walk(const mmu *m) { return &m->last; }

void mmu_set_walker_mem(mmu *m, const walker_mem *mem)
{
    walker_set_mem(m->walker, mem ? mem : &m->home);
}

/* ---- counters out ---- */

static void export_kind(stats *s, const kind_counters *k, const char *intel)
{
    stats_addf(s, k->stlb_hits, "%s.stlb_hit", intel);
    stats_addf(s, k->walks_completed, "%s.walk_completed", intel);
    stats_addf(s, k->walks_by_ps[MM_PS_4K], "%s.walk_completed_4k", intel);
    stats_addf(s, k->walks_by_ps[MM_PS_2M], "%s.walk_completed_2m_4m", intel);
    stats_addf(s, k->walks_by_ps[MM_PS_1G], "%s.walk_completed_1g", intel);
    stats_addf(s, k->walk_pending, "%s.walk_pending", intel);
    stats_addf(s, k->walk_active, "%s.walk_active", intel);
    stats_addf(s, k->merged, "%s.merged", intel);
    stats_addf(s, k->faults, "%s.faults", intel);
    stats_addf(s, k->rewalks, "%s.rewalks", intel);
}

void mmu_kind_counts_get(const mmu *m, mm_kind kind, mmu_kind_counts *out)
{
    const kind_counters *k = &m->c.k[kind];
    *out = (mmu_kind_counts){k->lookups, k->l1_misses, k->stlb_hits, k->walks_completed, k->faults, k->merged,
                             k->rewalks};
}

void mmu_reset_stats(mmu *m)
{
    /* active_until is when the last counted walk of a kind ends: keeping
     * it, a walk in flight at the reset counts only its cycles after its
     * own start, as before, and walk_active never counts a cycle twice. */
    mm_cycle until[3];
    for (unsigned k = 0; k < 3; k++)
        until[k] = m->c.k[k].active_until;
    memset(&m->c, 0, sizeof m->c);
    for (unsigned k = 0; k < 3; k++)
        m->c.k[k].active_until = until[k];
    m->cycle_base = mmu_now(m);
    walker_reset_stats(m->walker);
}

void mmu_export_stats(const mmu *m, stats *s)
{
    mmu_export_stats_at(m, s, mmu_now(m) - m->cycle_base);
}

void mmu_export_stats_at(const mmu *m, stats *s, mm_cycle cycles)
{
    const mmu_counters *c = &m->c;
    const kind_counters *ld = &c->k[MM_LOAD], *st = &c->k[MM_STORE], *in = &c->k[MM_IFETCH];
    stats_add(s, "cycles", cycles);
    stats_add(s, "translations", ld->lookups + st->lookups + in->lookups);
    stats_add(s, "dTLB-loads", ld->lookups);
    stats_add(s, "dTLB-load-misses", ld->l1_misses);
    stats_add(s, "dTLB-stores", st->lookups);
    stats_add(s, "dTLB-store-misses", st->l1_misses);
    stats_add(s, "iTLB-loads", in->lookups);
    stats_add(s, "iTLB-load-misses", in->l1_misses);
    stats_add(s, "page-faults", c->page_faults);
    export_kind(s, ld, "dtlb_load_misses");
    export_kind(s, st, "dtlb_store_misses");
    export_kind(s, in, "itlb_misses");

    stats_add(s, "itlb.hits", in->lookups - in->l1_misses);
    stats_add(s, "itlb.misses", in->l1_misses);
    stats_add(s, "itlb.evictions", c->l1_evictions[0]);
    stats_add(s, "dtlb.hits", ld->lookups + st->lookups - ld->l1_misses - st->l1_misses);
    stats_add(s, "dtlb.misses", ld->l1_misses + st->l1_misses);
    stats_add(s, "dtlb.evictions", c->l1_evictions[1]);
    stats_add(s, "stlb.hits", c->stlb_hits);
    stats_add(s, "stlb.misses", c->stlb_lookups - c->stlb_hits);
    stats_add(s, "stlb.evictions", c->stlb_evictions);
    stats_add(s, "stlb.back_invalidations", c->back_invalidations);
    stats_add(s, "tlb.dirty_rewalks", c->dirty_rewalks);
    stats_add(s, "tlb.permission_rewalks", c->perm_rewalks);

    const walker_counters *w = walker_get_counters(m->walker);
    const paging_mode *pm = m->mode;
    stats_add(s, "walker.walks", w->walks);
    stats_add(s, "walker.merged", w->merged);
    stats_add(s, "walker.faults", w->faults);
    stats_add(s, "walker.queue_cycles", w->queue_cycles);
    stats_add(s, "walker.walk_cycles", w->walk_cycles);
    stats_add(s, "walker.active_cycles", w->active_cycles);
    stats_add(s, "walker.ad_updates", w->ad_updates);
    for (unsigned l = pm->levels; l >= 1; l--)
        stats_addf(s, w->reads_by_level[l], "walker.pte_reads.%s", pm->linux_name[l]);
    if (m->ms) {
        for (unsigned i = 0; i < memsys_nsources(m->ms); i++)
            stats_addf(s, w->reads_by_src[i], "walker.pte_reads.%s", memsys_source_name(m->ms, i));
    } else {
        /* A caller's port (mmu_create_with_port): its sources are its own. */
        uint64_t n = 0;
        for (unsigned i = 0; i < 7; i++)
            n += w->reads_by_src[i];
        stats_add(s, "walker.pte_reads.port", n);
    }
    stats_add(s, "walker.pte_reads.pte_cache", w->reads_by_src[7]);
    for (unsigned b = 0; b < 16; b++) {
        if (b == 0)
            stats_add(s, "walker.latency.0-1", w->hist[0]);
        else if (b == 15)
            stats_add(s, "walker.latency.32768+", w->hist[15]);
        else
            stats_addf(s, w->hist[b], "walker.latency.%u-%u", 1u << b, (2u << b) - 1);
    }
    for (unsigned l = pm->levels; l >= 2; l--)
        stats_addf(s, w->pwc_hits[l], "pwc.%s.hits", pm->linux_name[l]);
    stats_add(s, "pwc.misses", w->pwc_misses);
    stats_add(s, "pwc.pte_cache.hits", w->pte_cache_hits);
    stats_add(s, "pwc.pte_cache.misses", w->pte_cache_misses);

    stats_add(s, "flush.cr3", c->cr3_writes - c->cr3_noflush);
    stats_add(s, "flush.cr3_noflush", c->cr3_noflush);
    stats_add(s, "flush.invlpg", c->invlpg);
    for (unsigned i = 0; i < 4; i++)
        stats_addf(s, c->invpcid[i], "flush.invpcid_%u", i);
    stats_add(s, "flush.full", c->full_flushes);
    stats_add(s, "flush.asid_recycles", c->asid_recycles);
    stats_add(s, "flush.tlb_entries", c->tlb_entries_flushed);
    stats_add(s, "flush.pwc_entries", c->pwc_entries_flushed);
    for (unsigned ec = 0; ec < PF_EC_COUNT; ec++)
        stats_addf(s, w->error_codes[ec], "faults.ec_0x%02x", ec);
}
