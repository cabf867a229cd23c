/* walker.c -- the page-walk unit (see walker.h and model/README.md, "The
 * cycle contract").
 *
 * One loop walks every paging mode: it starts at the deepest page-walk-cache
 * hit (or the root), reads one entry per level through the memory port
 * (which supplies the value and the latency), checks present and reserved bits, folds
 * R/W, U/S and XD into the cumulative permissions, and stops at a leaf.  The
 * leaf's permissions are checked against the access (each rule is one arm of
 * perm_fault), then A and D are set by locked read-modify-writes.
 *
 * The pool: walker units are served FIFO in request order -- a request takes
 * the unit that frees up first.  Walks in flight are kept until they have
 * ended, for merging (a request for the same 4 KiB page, PCID, kind and
 * privilege as a walk in flight completes with it) and for their deferred
 * page-walk-cache fills, which become visible to walks starting at or after
 * the walk's end.
 *
 * The A/D log lives here, not in a port: the out-of-time-order computation
 * it makes up for is the walker's own, so every port gets it.  A port only
 * performs accesses when asked (walker.h, "Time"). */
#include "mmusim/walker.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/tlb.h"

#define MAX_WALKERS 64
#define SRC_SLOT_PTE_CACHE 7   /* reads_by_src index of PTE-cache hits */

/* One entry of the A/D update log: the earliest issue cycle of a locked
 * update that set A, and of one that set D, in the entry at pa
 * (MM_CYCLE_NONE: none logged).  Invariant: a logged bit was clear in the
 * entry before that cycle (the first updater read it clear, and walks never
 * clear A/D), so a read issued before it must not see the bit. */
typedef struct ad_log {
    uint64_t pa;
    mm_cycle a_at, d_at;
} ad_log;

#define MM_CYCLE_NONE UINT64_MAX

/* A walk in fl: the fields every request scans (the merge key, the end
 * cycle, whether its fills are applied), 24 bytes, apart from its walk
 * record (flr, same index, ~300 bytes), which only a merge and a fill
 * read. */
typedef struct inflight {
    mm_cycle end;
    uint64_t vpn;       /* va >> 12; the merge key is (vpn, pcid, kind, priv) */
    uint16_t pcid;
    uint8_t kind, priv;
    bool filled;        /* page-walk-cache fills applied */
} inflight;

struct walker {
    walker_cfg cfg;
    const paging_mode *m;
    pwc *pwc;
    walker_mem mem;
    mm_cycle free_at[MAX_WALKERS];   /* cycle each unit finishes its last walk */
    mm_cycle active_until;           /* end of the union of walk intervals so far */
    inflight *fl;                    /* walks not yet known to be finished */
    walk_result *flr;                /* their walk records, by the same index */
    size_t *due;                     /* retire()'s scratch: indexes into fl */
    size_t nfl, capfl;               /* fl, flr and due all have capfl elements */
    /* Invariants: unfilled_end <= end of every unfilled walk in fl, and
     * filled_end <= end of every filled walk in fl (UINT64_MAX when none),
     * so retire() and prune() return at once when nothing is due. */
    mm_cycle unfilled_end, filled_end;
    /* Updates that reads of walks still to be computed might precede: walks
     * start in request order at nondecreasing cycles, so an entry whose
     * cycles are all <= the current walk's start is visible to every later
     * read and is dropped (log_prune).  Small: at most walkers x levels. */
    ad_log *log;
    size_t nlog, caplog;
    walker_counters c;
};

walker *walker_create(const walker_cfg *cfg, const paging_mode *m, pwc *c, const walker_mem *mem, char *err,
                      size_t errlen)
{
    if (cfg->walkers < 1 || cfg->walkers > MAX_WALKERS) {
        mm_errf(err, errlen, "walker: %u walkers (1..%d)", cfg->walkers, MAX_WALKERS);
        return NULL;
    }
    if (!m || !mem || !mem->read || !mem->rmw) {
        mm_errf(err, errlen, "walker: %s", !m ? "no paging mode" : "the memory port has no read or no rmw");
        return NULL;
    }
    if (!mem->peek && c && pwc_get_design(c) == PWC_PTE) {
        mm_errf(err, errlen, "walker: a PTE cache takes entry values from the memory port's peek, which is NULL");
        return NULL;
    }
    walker *w = mm_xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    w->m = m;
    w->pwc = c;
    w->mem = *mem;
    w->unfilled_end = w->filled_end = UINT64_MAX;
    return w;
}

void walker_free(walker *w)
{
    if (!w)
        return;
    free(w->fl);
    free(w->flr);
    free(w->due);
    free(w->log);
    free(w);
}

void walker_set_mem(walker *w, const walker_mem *mem)
{
    assert(mem->read && mem->rmw && (mem->peek || !w->pwc || pwc_get_design(w->pwc) != PWC_PTE));
    w->mem = *mem;
}

/* ---- the port on the physical memory image ---- */

static unsigned physmem_read_cb(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value,
                                unsigned *src)
{
    (void)level;
    const walker_physmem *p = ctx;
    *value = paging_read_entry(p->m, p->pm, pa);
    if (!p->ms) {
        *src = 0;
        return 0;
    }
    return memsys_read(p->ms, pa, now, src);
}

/* Atomic by construction: nothing else runs between the read and the
 * write of the image. */
static unsigned physmem_rmw_cb(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits, uint64_t *old,
                               unsigned *src)
{
    (void)level;
    const walker_physmem *p = ctx;
    *old = paging_read_entry(p->m, p->pm, pa);
    paging_write_entry(p->m, p->pm, pa, *old | bits);
    if (!p->ms) {
        *src = 0;
        return 0;
    }
    return memsys_rmw(p->ms, pa, now, src);
}

static uint64_t physmem_peek_cb(void *ctx, uint64_t pa)
{
    const walker_physmem *p = ctx;
    return paging_read_entry(p->m, p->pm, pa);
}

walker_mem walker_mem_physmem(const walker_physmem *p)
{
    return (walker_mem){.read = physmem_read_cb, .rmw = physmem_rmw_cb, .peek = physmem_peek_cb,
                        .ctx = (void *)p};
}

const walker_counters *walker_get_counters(const walker *w)
{
    return &w->c;
}

void walker_reset_stats(walker *w)
{
    memset(&w->c, 0, sizeof w->c);
}

pwc *walker_pwc(walker *w)
{
    return w->pwc;
}

void walker_ec_string(uint32_t ec, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s %s%s%s", (ec & PF_P) ? "protection" : "not-present",
             (ec & PF_WR) ? "write" : "read", (ec & PF_US) ? "user" : "supervisor",
             (ec & PF_RSVD) ? " RSVD" : "", (ec & PF_ID) ? " ifetch" : "");
}

static uint32_t access_ec(const walker *w, const walk_regs *r, const walk_req *q)
{
    uint32_t ec = 0;
    if (q->kind == MM_STORE)
        ec |= PF_WR;
    if (q->priv == MM_USER)
        ec |= PF_US;
    /* I/D is reported only when XD or SMEP makes fetches special. */
    if (q->kind == MM_IFETCH && (w->m->has_xd || r->smep))
        ec |= PF_ID;
    return ec;
}

/* Fold one present entry's R/W, U/S and XD into cumulative permissions
 * (PAE PDPTEs carry none). */
static unsigned fold_perm(const paging_mode *m, unsigned level, uint64_t e, unsigned perm)
{
    if (m->no_perm[level])
        return perm;
    if (!(e & PTE_RW))
        perm &= ~TLB_W;
    if (!(e & PTE_US))
        perm &= ~TLB_U;
    if (m->has_xd && (e & PTE_XD))
        perm &= ~TLB_X;
    return perm;
}

static unsigned hist_bucket(uint64_t cycles)
{
    unsigned b = 0;
    while (cycles > 1 && b < 15) {
        cycles >>= 1;
        b++;
    }
    return b;
}

static bool log_visible(mm_cycle at, mm_cycle t)
{
    return at == MM_CYCLE_NONE || at <= t;
}

static void log_prune(walker *w, mm_cycle start)
{
    for (size_t i = 0; i < w->nlog;) {
        if (log_visible(w->log[i].a_at, start) && log_visible(w->log[i].d_at, start))
            w->log[i] = w->log[--w->nlog];
        else
            i++;
    }
}

/* Entry e, as the port gave it for pa, as a read issued at cycle t sees it. */
static uint64_t entry_at(const walker *w, uint64_t pa, uint64_t e, mm_cycle t)
{
    for (size_t i = 0; i < w->nlog; i++) {
        if (w->log[i].pa != pa)
            continue;
        if (!log_visible(w->log[i].a_at, t))
            e &= ~PTE_A;
        if (!log_visible(w->log[i].d_at, t))
            e &= ~PTE_D;
        break;
    }
    return e;
}

/* Log a locked update issued at cycle t that ORed `bits` into the entry
 * at pa, whose value just before was `old` (the port's answer) -- when
 * walks are timed (walker_request), not for walker_walk_now, whose walks
 * are each complete before the next. */
static void log_update(walker *w, uint64_t pa, uint64_t old, uint64_t bits, mm_cycle t, bool timed)
{
    if (!timed)
        return;
    size_t i = 0;
    while (i < w->nlog && w->log[i].pa != pa)
        i++;
    if (i == w->nlog) {
        mm_grow(&w->log, &w->caplog, w->nlog, sizeof *w->log, 8);
        w->log[w->nlog++] = (ad_log){.pa = pa, .a_at = MM_CYCLE_NONE, .d_at = MM_CYCLE_NONE};
    }
    /* Log a bit only if this update may be the first to set it: set in
     * memory with no logged update, it was set before any walk still
     * computed (a store's update sets A|D on a leaf whose A was set long
     * ago: reads before it must still see A). */
    if ((bits & PTE_A) && (!(old & PTE_A) || w->log[i].a_at != MM_CYCLE_NONE) && t < w->log[i].a_at)
        w->log[i].a_at = t;
    if ((bits & PTE_D) && (!(old & PTE_D) || w->log[i].d_at != MM_CYCLE_NONE) && t < w->log[i].d_at)
        w->log[i].d_at = t;
}

static mm_cycle issued_at(const walker *w, mm_cycle now)
{
    return w->mem.last_issue ? w->mem.last_issue(w->mem.ctx) : now;
}

/* The walk loop.  Fills r from cycle `start`; does not touch the pool. */
static void walk(walker *w, const walk_regs *regs, const walk_req *q, mm_cycle start, bool timed, walk_result *r)
{
    const paging_mode *m = w->m;
    pwc_design design = w->pwc ? pwc_get_design(w->pwc) : PWC_NONE;
    unsigned pwc_lat = design == PWC_NONE ? 0 : w->cfg.pwc_latency;
    mm_cycle t = start;
    unsigned level = m->levels;
    uint64_t table = regs->root;
    unsigned perm = TLB_W | TLB_U | TLB_X;

    memset(r, 0, sizeof *r);
    r->va = q->va;
    r->start = start;

    if (design == PWC_SPLIT || design == PWC_UNIFIED) {
        pwc_hit h = pwc_lookup(w->pwc, q->va, regs->pcid);
        t += pwc_lat;
        if (h.level) {
            w->c.pwc_hits[h.level]++;
            r->pwc_level = h.level;
            level = h.level - 1;
            table = paging_entry_addr(m, h.level, h.entry);
            perm = r->pwc_perm = h.perm;
        } else {
            w->c.pwc_misses++;
        }
    }

    uint64_t entry = 0;
    for (;; level--) {
        walk_step *s = &r->step[r->nsteps++];
        s->level = level;
        s->entry_pa = paging_entry_pa(m, level, table, q->va);
        uint64_t value;
        mm_cycle at;
        if (design == PWC_PTE && pwc_pte_lookup(w->pwc, s->entry_pa)) {
            w->c.pte_cache_hits++;
            s->src = WALK_SRC_PTE_CACHE;
            s->latency = pwc_lat;
            w->c.reads_by_src[SRC_SLOT_PTE_CACHE]++;
            value = w->mem.peek(w->mem.ctx, s->entry_pa);
            at = t;
        } else {
            if (design == PWC_PTE)
                w->c.pte_cache_misses++;
            s->latency = w->mem.read(w->mem.ctx, s->entry_pa, level, t, &value, &s->src);
            w->c.reads_by_src[s->src < SRC_SLOT_PTE_CACHE ? s->src : SRC_SLOT_PTE_CACHE - 1]++;
            at = issued_at(w, t);
        }
        w->c.reads_by_level[level]++;
        t += s->latency;
        entry = s->entry = entry_at(w, s->entry_pa, value, at);

        if (!(entry & PTE_P)) {
            r->fault = true;
            r->error_code = access_ec(w, regs, q);
            break;
        }
        if (entry & paging_rsvd_mask(m, level, entry, w->cfg.pa_bits)) {
            r->fault = true;
            r->error_code = PF_P | PF_RSVD | access_ec(w, regs, q);
            break;
        }
        perm = fold_perm(m, level, entry, perm);
        if (paging_is_leaf(m, level, entry))
            break;
        table = paging_entry_addr(m, level, entry);
        assert(level > 1);
    }

    if (!r->fault && walk_perm_fault(regs, q->kind, q->priv, perm)) {
        r->fault = true;
        r->error_code = PF_P | access_ec(w, regs, q);
    }
    if (r->fault) {
        r->fault_level = level;
        w->c.faults++;
        w->c.error_codes[r->error_code & (PF_EC_COUNT - 1)]++;
        r->end = t;
        return;
    }

    /* Hardware A/D updates: locked RMWs, top-down, after the leaf check,
     * decided on the entries as this walk read them (an update another walk
     * issued after our read does not save ours, as in hardware). */
    r->leaf = r->step[r->nsteps - 1].entry;
    for (unsigned i = 0; i < r->nsteps; i++) {
        walk_step *s = &r->step[i];
        if (m->no_perm[s->level])
            continue;   /* PAE PDPTEs have no A bit */
        uint64_t want = PTE_A;
        if (i == r->nsteps - 1 && q->kind == MM_STORE)
            want |= PTE_D;
        if ((s->entry & want) == want)
            continue;
        walk_write *wr = &r->write[r->nwrites++];
        unsigned src;
        uint64_t old;
        wr->entry_pa = s->entry_pa;
        wr->value = s->entry | want;
        wr->latency = w->mem.rmw(w->mem.ctx, s->entry_pa, s->level, t, want, &old, &src);
        log_update(w, s->entry_pa, old, want, issued_at(w, t), timed);
        t += wr->latency;
        w->c.ad_updates++;
        if (i == r->nsteps - 1)
            r->leaf |= want;
    }

    r->leaf_level = level;
    r->shift = paging_leaf_shift(m, level);
    r->pa = paging_entry_addr(m, level, r->leaf) | (q->va & ((1ull << r->shift) - 1));
    r->perm = perm | ((r->leaf & PTE_D) ? TLB_D : 0) | ((r->leaf & PTE_G) ? TLB_G : 0);
    r->end = t;
}

/* Cache the walk's valid non-leaf entries in the page-walk caches. */
static void fill_pwc(walker *w, const walk_result *r, uint16_t pcid)
{
    pwc_design design = w->pwc ? pwc_get_design(w->pwc) : PWC_NONE;
    if (design == PWC_NONE)
        return;
    const paging_mode *m = w->m;
    /* The skipped levels' permissions are those the hit entry carried. */
    unsigned perm = r->pwc_level ? r->pwc_perm : TLB_W | TLB_U | TLB_X;
    for (unsigned i = 0; i < r->nsteps; i++) {
        const walk_step *s = &r->step[i];
        uint64_t e = s->entry;
        if (!(e & PTE_P) || (e & paging_rsvd_mask(m, s->level, e, w->cfg.pa_bits)) ||
            paging_is_leaf(m, s->level, e))
            break;
        perm = fold_perm(m, s->level, e, perm);
        /* Cache the entry as it is after the walk's own A update. */
        for (unsigned j = 0; j < r->nwrites; j++)
            if (r->write[j].entry_pa == s->entry_pa)
                e = r->write[j].value;
        if (design == PWC_PTE)
            pwc_pte_fill(w->pwc, s->entry_pa);
        else
            pwc_fill(w->pwc, r->va, pcid, s->level, e, perm);
    }
}

/* Apply deferred fills of walks that ended at or before `t` (every one if
 * `all`), oldest end first, and of equal ends the one earlier in fl. */
static void retire(walker *w, mm_cycle t, bool all)
{
    if (!all && t < w->unfilled_end)
        return;
    size_t n = 0;
    mm_cycle rest = UINT64_MAX;   /* the earliest end of the unfilled walks not due */
    for (size_t i = 0; i < w->nfl; i++) {
        const inflight *f = &w->fl[i];
        if (f->filled)
            continue;
        if (all || f->end <= t)
            w->due[n++] = i;
        else if (f->end < rest)
            rest = f->end;
    }
    /* Stable insertion sort by end (due[] is in fl order): few are due at once. */
    for (size_t k = 1; k < n; k++) {
        size_t x = w->due[k], j = k;
        for (; j > 0 && w->fl[w->due[j - 1]].end > w->fl[x].end; j--)
            w->due[j] = w->due[j - 1];
        w->due[j] = x;
    }
    for (size_t k = 0; k < n; k++) {
        inflight *f = &w->fl[w->due[k]];
        fill_pwc(w, &w->flr[w->due[k]], f->pcid);
        f->filled = true;
        if (f->end < w->filled_end)
            w->filled_end = f->end;
    }
    w->unfilled_end = rest;
}

/* Forget walks whose fills are applied and that ended at or before the
 * request cycle `when`: no request from now on can merge with them.  (Not
 * the start cycle of a queued walk, which can run far ahead of the
 * requests still to come.)  Only filled walks go, so nothing is due before
 * the earliest end of a filled walk. */
static void prune(walker *w, mm_cycle when)
{
    if (when < w->filled_end)
        return;
    /* Swap-remove.  The order of fl matters: a merge takes the first match
     * (request cycles can go back by up to the STLB latency, so an ended
     * walk of the same key can still match), and retire() breaks ties of
     * end cycle by it.  It is decided by the requests alone. */
    w->filled_end = UINT64_MAX;
    for (size_t i = 0; i < w->nfl;) {
        if (w->fl[i].filled && w->fl[i].end <= when) {
            if (i != --w->nfl) {
                w->fl[i] = w->fl[w->nfl];
                w->flr[i] = w->flr[w->nfl];
            }
            continue;
        }
        if (w->fl[i].filled && w->fl[i].end < w->filled_end)
            w->filled_end = w->fl[i].end;
        i++;
    }
}

static void account(walker *w, const walk_result *r)
{
    w->c.walks++;
    w->c.queue_cycles += r->start - r->request;
    w->c.walk_cycles += r->end - r->start;
    if (r->start >= w->active_until)
        w->c.active_cycles += r->end - r->start;
    else if (r->end > w->active_until)
        w->c.active_cycles += r->end - w->active_until;
    if (r->end > w->active_until)
        w->active_until = r->end;
    w->c.hist[hist_bucket(r->end - r->request)]++;
}

void walker_request(walker *w, const walk_regs *regs, const walk_req *req, mm_cycle when, walk_result *out)
{
    prune(w, when);
    if (w->cfg.merge) {
        /* The page first: it tells walks apart, the rest rarely does. */
        const uint64_t vpn = req->va >> 12;
        for (size_t i = 0; i < w->nfl; i++) {
            const inflight *f = &w->fl[i];
            if (f->vpn == vpn && f->end > when && f->pcid == regs->pcid && f->kind == req->kind &&
                f->priv == req->priv) {
                const walk_result *r = &w->flr[i];
                *out = *r;
                out->va = req->va;
                out->pa = r->fault ? 0 : (r->pa & ~((1ull << r->shift) - 1)) | (req->va & ((1ull << r->shift) - 1));
                out->merged = true;
                out->request = when;
                w->c.merged++;
                return;
            }
        }
    }
    unsigned u = 0;
    for (unsigned i = 1; i < w->cfg.walkers; i++)
        if (w->free_at[i] < w->free_at[u])
            u = i;
    mm_cycle start = when > w->free_at[u] ? when : w->free_at[u];
    retire(w, start, false);
    log_prune(w, start);
    walk(w, regs, req, start, true, out);
    out->request = when;
    w->free_at[u] = out->end;
    account(w, out);

    if (w->nfl == w->capfl) {
        mm_grow(&w->fl, &w->capfl, w->nfl, sizeof *w->fl, 16);
        w->flr = mm_xrealloc(w->flr, w->capfl * sizeof *w->flr);
        w->due = mm_xrealloc(w->due, w->capfl * sizeof *w->due);
    }
    w->flr[w->nfl] = *out;
    w->fl[w->nfl++] = (inflight){.end = out->end, .vpn = out->va >> 12, .pcid = regs->pcid,
                                 .kind = (uint8_t)req->kind, .priv = (uint8_t)req->priv};
    if (out->end < w->unfilled_end)
        w->unfilled_end = out->end;
}

void walker_walk_now(walker *w, const walk_regs *regs, const walk_req *req, mm_cycle when, walk_result *out)
{
    walk(w, regs, req, when, false, out);
    out->request = when;
    account(w, out);
    fill_pwc(w, out, regs->pcid);
}

mm_cycle walker_idle_at(const walker *w)
{
    mm_cycle t = 0;
    for (unsigned i = 0; i < w->cfg.walkers; i++)
        if (w->free_at[i] > t)
            t = w->free_at[i];
    return t;
}

unsigned walker_path(const walker *w, uint64_t root, uint64_t va, uint64_t pa[PAGING_MAX_LEVELS])
{
    const paging_mode *m = w->m;
    uint64_t table = root;
    unsigned n = 0;
    for (unsigned l = m->levels; l >= 1; l--) {
        pa[n] = paging_entry_pa(m, l, table, va);
        uint64_t e = w->mem.peek(w->mem.ctx, pa[n++]);
        if (!(e & PTE_P) || paging_is_leaf(m, l, e))
            break;
        table = paging_entry_addr(m, l, e);
    }
    return n;
}

void walker_drain(walker *w)
{
    retire(w, UINT64_MAX, true);
    /* Flushes follow page-table changes: start afresh from memory. */
    w->nlog = 0;
}
