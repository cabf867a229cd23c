/* os.c -- the OS model: processes, address spaces, the page-fault handler,
 * page cache, reclaim and TLB invalidation (see os.h).
 *
 * Structures:
 *  - mm: an address space.  Its page table `pt` holds the user half and, in
 *    its kernel-half top-level entries, pointers to init_mm's kernel tables
 *    (shared, never copied or freed by it).  With KPTI, `upt` is the user
 *    page table: its own root, whose user-half top-level entries mirror
 *    pt's (so every lower table is shared, as Linux's shadow PGD does).
 *    VMAs live in a vma_set (vma.h).
 *  - The page cache and the record of reclaimed anonymous pages are one
 *    hash map type keyed by a pair: (file, page index) -> frame, and
 *    (mm id, virtual page number) -> 1.
 *  - Reclaim keeps a list of resident user mappings (mm id, va, level) in
 *    the order they were made and sweeps it with a clock hand (below).
 *
 * Frames: every frame -- user pages, page-cache pages, page-table pages --
 * comes from the frame allocator (frames.h); a frame's reference count is
 * the number of page-table leaves mapping it plus one for the page cache
 * when it is cached.  Every frame of a huge page carries the count, so a
 * huge page can be split without redistributing references.
 *
 * Allocation never happens inside a page-table operation that could fail
 * half-way: each path first makes room (room(): enough free frames for the
 * data pages and the tables the builder will need, reclaiming under
 * `exhaustion: reclaim`), then allocates, then maps.
 *
 * TLB invalidation follows Linux: INVLPG per page up to flush_ceiling
 * pages over the range of leaves actually changed, else a CR3 reload, on
 * every CPU of the mm's cpumask; a CPU where the mm is not current (its
 * entries linger under its PCID) is cleaned with INVPCID instead.
 *
 * Hot path: os_access tests one per-CPU bit mask (the CPU has a current
 * address space, the right KPTI CR3 is loaded, memory is not exhausted) and
 * that the access stays in one page, calls mmu_access, and returns when the
 * L1 TLB hit.  A miss or fault continues in access_resume; everything else
 * goes to access_slow. */
#include "mmusim/os.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/frames.h"
#include "mmusim/memsys.h"
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/tlb.h"
#include "mmusim/vma.h"
#include "mmusim/walker.h"

#define PAGE 4096ull
#define PAGE_MASK (~(PAGE - 1))
#define MAX_CPUS 64
#define IMPLICIT_SPAN (2ull << 20)     /* an implicit VMA covers the 2 MiB-aligned region of the touch */
#define KPTI_USER_PCID 0x800u          /* Linux: user PCID = kernel PCID | (1 << X86_CR3_PTI_PCID_USER_BIT) */
#define PCID_OWNERS 4095u              /* CTX_PCID: mmu_switch_to maps owner n to PCID n % 4095 + 1 */
#define KPTI_PCID_OWNERS 2047u         /* ... and under KPTI kernel PCIDs stay below 0x800 */
/* Handler calls for one access before it is declared stuck.  The longest
 * legitimate chain is a kernel touch of a fresh implicit mapping: demand
 * fault in init_mm, then the vmalloc sync of a new top-level entry. */
#define MAX_FAULT_RETRIES 8
#define NO_ID UINT64_MAX
#define MAX_SHARERS 64                 /* reclaim passes over an anonymous page mapped more often */

#define PROT_ANY (TR_PROT_READ | TR_PROT_WRITE | TR_PROT_EXEC)

/* ---- a hash map keyed by a pair of integers --------------------------- */

/* Open addressing, linear probing, power-of-two capacity, load <= 1/2,
 * deletion by backward shift (no tombstones).  a == PMAP_EMPTY marks a free
 * slot; keys never use it (mm ids and file ids are far smaller). */
#define PMAP_EMPTY UINT64_MAX

typedef struct pmap_slot {
    uint64_t a, b, v;
} pmap_slot;

typedef struct pmap {
    pmap_slot *s;
    size_t cap, n;
} pmap;

static size_t pmap_home(const pmap *p, uint64_t a, uint64_t b)
{
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (size_t)h & (p->cap - 1);
}

static pmap_slot *pmap_slot_of(const pmap *p, uint64_t a, uint64_t b)
{
    if (!p->cap)
        return NULL;
    for (size_t i = pmap_home(p, a, b);; i = (i + 1) & (p->cap - 1)) {
        pmap_slot *s = &p->s[i];
        if (s->a == PMAP_EMPTY)
            return NULL;
        if (s->a == a && s->b == b)
            return s;
    }
}

static bool pmap_get(const pmap *p, uint64_t a, uint64_t b, uint64_t *v)
{
    const pmap_slot *s = pmap_slot_of(p, a, b);
    if (s && v)
        *v = s->v;
    return s != NULL;
}

static void pmap_put(pmap *p, uint64_t a, uint64_t b, uint64_t v);

static void pmap_resize(pmap *p, size_t cap)
{
    pmap old = *p;
    p->s = malloc(cap * sizeof *p->s);
    if (!p->s)
        abort();   /* out of host memory: the model cannot go on */
    memset(p->s, 0xff, cap * sizeof *p->s);
    p->cap = cap;
    p->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.s[i].a != PMAP_EMPTY)
            pmap_put(p, old.s[i].a, old.s[i].b, old.s[i].v);
    free(old.s);
}

static void pmap_put(pmap *p, uint64_t a, uint64_t b, uint64_t v)
{
    if (2 * (p->n + 1) > p->cap)
        pmap_resize(p, p->cap ? 2 * p->cap : 64);
    size_t i = pmap_home(p, a, b);
    while (p->s[i].a != PMAP_EMPTY && !(p->s[i].a == a && p->s[i].b == b))
        i = (i + 1) & (p->cap - 1);
    if (p->s[i].a == PMAP_EMPTY)
        p->n++;
    p->s[i] = (pmap_slot){a, b, v};
}

static bool pmap_del(pmap *p, uint64_t a, uint64_t b)
{
    pmap_slot *s = pmap_slot_of(p, a, b);
    if (!s)
        return false;
    size_t mask = p->cap - 1, i = (size_t)(s - p->s), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (p->s[j].a == PMAP_EMPTY)
            break;
        size_t k = pmap_home(p, p->s[j].a, p->s[j].b);
        /* Entry j may stay where it is when its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            p->s[i] = p->s[j];
            i = j;
        }
    }
    p->s[i].a = PMAP_EMPTY;
    p->n--;
    return true;
}

static void pmap_free(pmap *p)
{
    free(p->s);
    memset(p, 0, sizeof *p);
}

/* The (b, v) of every entry whose first key is a, into a new array. */
static pmap_slot *pmap_collect(const pmap *p, uint64_t a, size_t *n)
{
    pmap_slot *out = NULL;
    size_t cap = 0;
    *n = 0;
    for (size_t i = 0; i < p->cap; i++)
        if (p->s[i].a == a) {
            mm_grow(&out, &cap, *n, sizeof *out, 16);
            out[(*n)++] = p->s[i];
        }
    return out;
}

/* ---- the machine ------------------------------------------------------ */

typedef struct mm {
    uint64_t id;            /* unique, never reused; init_mm is 0 */
    uint64_t owner;         /* the ASID owner given to mmu_switch_to (see owner_alloc) */
    unsigned users;         /* processes running in it */
    pgtable *pt;            /* user half + shared kernel half */
    pgtable *upt;           /* KPTI user page table, else NULL */
    vma_set vmas;
    bool declared;          /* the trace mapped something here: no implicit VMAs */
    uint64_t cpumask;       /* CPUs it is live on, or was since their last flush of it */
    uint64_t rss;           /* 4 KiB pages mapped (a huge page counts its size) */
    uint64_t huge[PAGING_MAX_LEVELS + 1];   /* huge leaves mapped, by level */
    uint64_t nswapped;      /* reclaimed pages not touched since */
} mm;

typedef struct proc {
    uint32_t pid;
    mm *mm;
} proc;

/* A user mapping made by a fault or a fork, for the reclaim clock.  Entries
 * go stale (munmap, exit, a split): they are checked when the hand reaches
 * them and dropped when stale (mm_id = NO_ID). */
typedef struct resident {
    uint64_t va;
    uint64_t mm_id;
    unsigned level;
} resident;

typedef struct os_cpu {
    mmu *mmu;
    unsigned ok;            /* bit p: an access at privilege p may go straight to the MMU */
    uint8_t pend_kind, pend_priv;   /* the access in mmu_access, for access_resume */
    uint64_t pend_va;
    os *os;
    unsigned index;
    mm *mm;                 /* current address space; NULL until the CPU first runs something */
    mm_priv priv;           /* KPTI: whose CR3 is loaded (user or kernel page table) */
    unsigned l1lat[3];      /* L1 TLB latency by mm_kind */
    uint64_t stall;         /* translation cycles beyond an L1 hit */
    mm_cycle charged;       /* end of the last cost charged (mmu_now does not see mmu_advance) */
    uint64_t instructions;
    uint32_t pid;
    bool has_pid;           /* runs process `pid` (false: init_mm after an exit) */
    uint16_t kpcid;         /* kernel PCID of the current mm, as mmu_switch_to chose it */
    uint64_t *slot_owner;   /* CTX_RECYCLE: mm id in each ASID slot (mirrors mmu_switch_to) */
    bool *user_stale;       /* CTX_RECYCLE + KPTI: the slot was flushed, its user PCID not yet
                               (Linux's per-ASID user_pcid_flush_mask) */
} os_cpu;

struct os {
    mm_config cfg;
    const paging_mode *mode;
    physmem *pm;
    memsys *ms;
    frames *fr;
    pgtable_alloc talloc;
    unsigned ncpus;
    os_cpu *cpu;
    unsigned cur_cpu;       /* CPU of the record or access being handled: initiator of shootdowns */
    bool pcid;              /* cpu.context uses PCIDs */
    bool oom;

    uint64_t user_top;      /* user space is [0, user_top) */
    uint64_t kernel_base;   /* kernel half is [kernel_base, kernel_end) */
    uint64_t kernel_end;
    unsigned kidx_first, kidx_end;   /* its top-level indices */
    uint64_t xd;            /* PTE_XD when the mode has it */

    mm *init;
    mm **by_id;
    size_t nids, capids;
    proc *procs;            /* sorted by pid */
    size_t nprocs, capprocs;
    bool kernel_declared;   /* a TR_MAP_KERNEL mmap was seen: no implicit kernel VMAs */

    pmap cache;             /* (file, page index) -> frame */
    pmap swapped;           /* (mm id, vpn) -> 1 */
    uint64_t next_shmem;
    resident *res;
    size_t nres, capres, hand;
    size_t cache_hand;
    bool cache_idle_maybe;  /* a cached page may have lost its last mapping */

    uint64_t *owner_free;   /* CTX_PCID: owner numbers freed by exits, reused last-in first-out */
    size_t nowner_free, capowner_free;
    uint64_t owner_next, owner_limit;

    uint64_t rss_total;
    os_counters c;
};

/* ---- small helpers ------------------------------------------------------ */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort();   /* out of host memory */
    return p;
}

static unsigned level_shift(const os *o, unsigned level)
{
    return o->mode->shift[level];
}

static uint64_t level_size(const os *o, unsigned level)
{
    return 1ull << o->mode->shift[level];
}

/* Sign-extend a masked address back to its canonical form. */
static uint64_t canon(const os *o, uint64_t va)
{
    unsigned b = o->mode->va_bits;
    if (!o->mode->canonical)
        return va;
    return (uint64_t)((int64_t)(va << (64 - b)) >> (64 - b));
}

static uint64_t frames_free_now(const os *o)
{
    return frames_get_counters(o->fr)->free;
}

static void put_frames(os *o, uint64_t pa, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        frames_put(o->fr, pa + i * PAGE);
}

static void get_frames(os *o, uint64_t pa, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        frames_get(o->fr, pa + i * PAGE);
}

/* Page-table frames come from the frame allocator too. */
static uint64_t table_alloc(void *ctx)
{
    os *o = ctx;
    uint64_t pa = frames_alloc(o->fr, 0);
    if (pa == FRAMES_NONE)
        return UINT64_MAX;
    physmem_zero_frame(o->pm, pa);
    return pa;
}

static void table_release(void *ctx, uint64_t pa)
{
    os *o = ctx;
    frames_put(o->fr, pa);
}

/* Cycles spent by `cpu` (front-end stall): costs charged back to back add
 * up, after everything issued so far. */
static void charge(os *o, unsigned cpu, uint64_t cycles)
{
    os_cpu *c = &o->cpu[cpu];
    mm_cycle t = mmu_now(c->mmu);
    if (c->charged > t)
        t = c->charged;
    c->charged = t + cycles;
    mmu_advance(c->mmu, c->charged);
}

static void charge_fault(os *o, unsigned cpu, uint64_t cycles)
{
    charge(o, cpu, cycles);
    o->c.fault_cycles += cycles;
}

static void cpu_update_ok(const os *o, os_cpu *c)
{
    if (o->oom || !c->mm)
        c->ok = 0;
    else if (o->cfg.os.kpti)
        c->ok = 1u << c->priv;
    else
        c->ok = 3;
}

static void set_oom(os *o)
{
    o->oom = true;
    for (unsigned i = 0; i < o->ncpus; i++)
        cpu_update_ok(o, &o->cpu[i]);
}

/* The flag bits of a leaf as pgtable_map/protect take them. */
static uint64_t entry_flags(const os *o, uint64_t e)
{
    uint64_t f = e & PTE_FLAG_MASK;
    return o->mode->entry_bytes == 4 ? (f & 0xfffu) : f;
}

/* ---- page-table reading ------------------------------------------------ */

typedef void (*leaf_fn)(os *o, void *ctx, uint64_t va, unsigned level, uint64_t entry, uint64_t entry_pa);

static void visit_table(os *o, uint64_t table, unsigned level, uint64_t base, uint64_t lo, uint64_t hi,
                        leaf_fn fn, void *ctx)
{
    const paging_mode *m = o->mode;
    unsigned sh = m->shift[level];
    uint64_t first = (lo - base) >> sh, last = (hi - base) >> sh;
    for (uint64_t i = first; i <= last; i++) {
        uint64_t epa = table + i * m->entry_bytes;
        uint64_t e = paging_read_entry(m, o->pm, epa);
        if (!(e & PTE_P))
            continue;
        uint64_t ebase = base + (i << sh), elast = ebase + (1ull << sh) - 1;
        if (paging_is_leaf(m, level, e))
            fn(o, ctx, canon(o, ebase), level, e, epa);
        else
            visit_table(o, paging_entry_addr(m, level, e), level - 1, ebase, lo > ebase ? lo : ebase,
                        hi < elast ? hi : elast, fn, ctx);
    }
}

/* Call fn for every leaf of pt that maps a byte of [first, last] (one half
 * of the address space).  Only present entries are descended, so a sparse
 * range costs what is mapped in it.  fn may rewrite the leaf it is given
 * but must not add or free tables. */
static void visit_leaves(os *o, const pgtable *pt, uint64_t first, uint64_t last, leaf_fn fn, void *ctx)
{
    uint64_t mask = (1ull << o->mode->va_bits) - 1;
    visit_table(o, pgtable_root(pt), o->mode->levels, 0, first & mask, last & mask, fn, ctx);
}

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
static bool region_empty(const os *o, const pgtable *pt, uint64_t va, unsigned level)
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

/* KPTI: copy pt's top-level user entries covering [first, last] into upt. */
static void mirror_user(os *o, mm *m, uint64_t first, uint64_t last)
{
    if (!m->upt)
        return;
    unsigned top = o->mode->levels;
    for (unsigned i = paging_index(o->mode, top, first); i <= paging_index(o->mode, top, last); i++)
        pgtable_set_root_entry(m->upt, i, pgtable_root_entry(m->pt, i));
}

/* ---- address spaces ---------------------------------------------------- */

/* CTX_PCID: mmu_switch_to gives owner n the PCID n % 4095 + 1, so live
 * address spaces get distinct owner numbers below owner_limit: fresh ones
 * first, then numbers their exit freed, whose PCID is flushed everywhere at
 * reuse (the dead mm's entries may linger).  When more address spaces are
 * live than there are numbers, the extra ones share the last number and
 * are flushed at every switch-in.  The other policies key on the mm id. */
static uint64_t owner_alloc(os *o)
{
    if (o->cfg.cpu.context != CTX_PCID)
        return o->nids;   /* the id register_mm is about to give */
    if (o->nowner_free) {
        uint64_t n = o->owner_free[--o->nowner_free];
        uint16_t pcid = (uint16_t)(n % PCID_OWNERS + 1);
        for (unsigned i = 0; i < o->ncpus; i++) {
            mmu_invpcid(o->cpu[i].mmu, 1, pcid, 0);
            if (o->cfg.os.kpti)
                mmu_invpcid(o->cpu[i].mmu, 1, pcid | KPTI_USER_PCID, 0);
        }
        return n;
    }
    return o->owner_next < o->owner_limit - 1 ? o->owner_next++ : o->owner_limit - 1;
}

static bool owner_shared(const os *o, const mm *m)
{
    return o->cfg.cpu.context == CTX_PCID && m->owner == o->owner_limit - 1;
}

static void owner_release(os *o, const mm *m)
{
    if (o->cfg.cpu.context != CTX_PCID || m == o->init || owner_shared(o, m))
        return;
    mm_grow(&o->owner_free, &o->capowner_free, o->nowner_free, sizeof *o->owner_free, 64);
    o->owner_free[o->nowner_free++] = m->owner;
}

static void register_mm(os *o, mm *m)
{
    mm_grow(&o->by_id, &o->capids, o->nids, sizeof *o->by_id, 16);
    m->id = o->nids;
    o->by_id[o->nids++] = m;
}

static mm *mm_lookup(const os *o, uint64_t id)
{
    return id < o->nids ? o->by_id[id] : NULL;
}

static bool reclaim_one(os *o);

/* Make sure `data` frames plus the tables a leaf for va at `level` needs
 * in pt (pt may be NULL) are free, reclaiming under `exhaustion: reclaim`.
 * The need is recomputed after each reclaim, which may free tables on the
 * path; each reclaim frees at least one frame more than it can add. */
static bool room(os *o, const pgtable *pt, uint64_t va, unsigned level, uint64_t data)
{
    for (;;) {
        uint64_t need = data + (pt ? tables_missing(o, pt, va, level) : 0);
        if (frames_free_now(o) >= need)
            return true;
        if (o->cfg.os.exhaustion != EXHAUST_RECLAIM || !reclaim_one(o))
            return false;
    }
}

/* A new address space with init_mm's kernel top-level entries (NULL when
 * memory is exhausted). */
static mm *mm_new(os *o)
{
    if (!room(o, NULL, 0, 0, o->cfg.os.kpti ? 2 : 1))
        return NULL;
    mm *m = xcalloc(1, sizeof *m);
    m->pt = pgtable_create(o->mode, o->pm, &o->talloc);
    if (o->cfg.os.kpti)
        m->upt = pgtable_create(o->mode, o->pm, &o->talloc);
    assert(m->pt && (m->upt || !o->cfg.os.kpti));
    m->users = 1;
    m->owner = o->init ? owner_alloc(o) : 0;
    register_mm(o, m);
    if (o->init)
        for (unsigned i = o->kidx_first; i < o->kidx_end; i++) {
            uint64_t e = pgtable_root_entry(o->init->pt, i);
            if (e & PTE_P)
                pgtable_set_root_entry(m->pt, i, e);
        }
    return m;
}

static void account(os *o, mm *m, unsigned level, bool add)
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

/* ---- the reclaim list -------------------------------------------------- */

/* Still mapped as recorded?  Fills the mm, leaf entry and frame. */
static bool resident_live(const os *o, const resident *r, mm **mp, uint64_t *leaf, uint64_t *pa)
{
    mm *m = r->mm_id == NO_ID ? NULL : mm_lookup(o, r->mm_id);
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
    pmap seen = {0};
    size_t w = 0, hand = 0;
    for (size_t i = 0; i < o->nres; i++) {
        if (i == o->hand)
            hand = w;
        resident *r = &o->res[i];
        mm *m;
        uint64_t leaf, pa;
        if (!resident_live(o, r, &m, &leaf, &pa) || pmap_get(&seen, r->mm_id, r->va, NULL))
            continue;
        pmap_put(&seen, r->mm_id, r->va, 1);
        o->res[w++] = *r;
    }
    o->hand = o->hand >= o->nres ? w : hand;
    o->nres = w;
    pmap_free(&seen);
}

static void res_add(os *o, const mm *m, uint64_t va, unsigned level)
{
    if (o->cfg.os.exhaustion != EXHAUST_RECLAIM)
        return;
    if (o->nres >= 2 * o->rss_total + 4096)
        res_compact(o);
    mm_grow(&o->res, &o->capres, o->nres, sizeof *o->res, 256);
    o->res[o->nres++] = (resident){va, m->id, level};
}

/* pgtable_map that cannot fail (room() was made), plus accounting. */
static void map_user(os *o, mm *m, uint64_t va, uint64_t pa, unsigned level, uint64_t flags)
{
    pgtable_err e = pgtable_map(m->pt, va, pa, level_size(o, level), level_shift(o, level), flags);
    assert(e == PGT_OK);
    (void)e;
    mirror_user(o, m, va, va);
    account(o, m, level, true);
    res_add(o, m, va, level);
}

/* ---- TLB invalidation -------------------------------------------------- */

/* The kernel PCID under which CPU c may hold entries of m; false when it
 * holds none. */
static bool mm_pcid_on(const os *o, const os_cpu *c, const mm *m, uint16_t *pcid)
{
    if (c->mm == m) {
        *pcid = c->kpcid;
        return true;
    }
    switch (o->cfg.cpu.context) {
    case CTX_PCID:
        *pcid = (uint16_t)(m->owner % PCID_OWNERS + 1);
        return true;
    case CTX_RECYCLE:
        for (unsigned a = 0; a < o->cfg.cpu.nr_asids; a++)
            if (c->slot_owner[a] == m->id) {
                *pcid = (uint16_t)(a + 1);
                return true;
            }
        return false;
    default:
        return false;   /* without PCIDs, switching away flushed it */
    }
}

/* Invalidate m's translations of [start, end), one per 1 << shift bytes,
 * or all of them (full), on one CPU.  Where m is current, as Linux's
 * flush_tlb_func does: INVLPG per page, or a CR3 reload; elsewhere (its
 * entries linger under its PCID) INVPCID.  With KPTI and PCIDs the user
 * PCID is cleaned too (Linux: invpcid_flush_one of the user PCID). */
static void cpu_flush(os *o, unsigned cpu, mm *m, uint64_t start, uint64_t end, unsigned shift, bool full)
{
    os_cpu *c = &o->cpu[cpu];
    uint16_t pcid;
    if (!mm_pcid_on(o, c, m, &pcid)) {
        m->cpumask &= ~(1ull << cpu);
        return;
    }
    bool both = o->cfg.os.kpti && o->pcid;
    if (c->mm == m) {
        uint64_t root = mmu_regs(c->mmu)->root;
        uint16_t cur = mmu_regs(c->mmu)->pcid, other = cur ^ KPTI_USER_PCID;
        if (full) {
            mmu_write_cr3(c->mmu, root, cur, false);
            if (both)
                mmu_invpcid(c->mmu, 1, other, 0);
        } else {
            for (uint64_t va = start; va < end; va += 1ull << shift) {
                mmu_invlpg(c->mmu, va);
                if (both)
                    mmu_invpcid(c->mmu, 0, other, va);
            }
        }
        return;
    }
    if (full) {
        mmu_invpcid(c->mmu, 1, pcid, 0);
        if (both)
            mmu_invpcid(c->mmu, 1, pcid | KPTI_USER_PCID, 0);
        m->cpumask &= ~(1ull << cpu);   /* nothing of m left there */
    } else {
        for (uint64_t va = start; va < end; va += 1ull << shift) {
            mmu_invpcid(c->mmu, 0, pcid, va);
            if (both)
                mmu_invpcid(c->mmu, 0, pcid | KPTI_USER_PCID, va);
        }
    }
}

/* Linux flush_tlb_mm_range(): the range page by page when it has at most
 * flush_ceiling pages of 1 << shift bytes, else all of m's entries; on
 * every CPU in m's cpumask.  The other CPUs are one shootdown round. */
static void flush_mm(os *o, unsigned initiator, mm *m, uint64_t start, uint64_t end, unsigned shift, bool full)
{
    if (!full && end <= start)
        return;
    if (!full && ((end - start) >> shift) > o->cfg.os.flush_ceiling)
        full = true;
    unsigned targets = 0;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++) {
        if (!((m->cpumask >> cpu) & 1))
            continue;
        if (cpu != initiator)
            targets++;
        cpu_flush(o, cpu, m, start, end, shift, full);
    }
    if (targets) {
        o->c.shootdowns++;
        o->c.shootdown_targets += targets;
        charge(o, initiator, o->cfg.os.shootdown_cycles);
    }
}

/* Linux flush_tlb_kernel_range(): on every CPU, INVLPG per page up to the
 * ceiling, else flush_tlb_all.  Non-global kernel entries are cached under
 * every PCID, which INVLPG does not reach: then all non-global entries go. */
static void flush_kernel(os *o, unsigned initiator, uint64_t start, uint64_t end)
{
    bool full = ((end - start) >> 12) > o->cfg.os.flush_ceiling;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++) {
        mmu *u = o->cpu[cpu].mmu;
        if (full)
            mmu_flush_all(u);
        else if (!o->cfg.os.kernel_global && o->pcid)
            mmu_invpcid(u, 3, 0, 0);
        else
            for (uint64_t va = start; va < end; va += PAGE)
                mmu_invlpg(u, va);
    }
    if (o->ncpus > 1) {
        o->c.shootdowns++;
        o->c.shootdown_targets += o->ncpus - 1;
        charge(o, initiator, o->cfg.os.shootdown_cycles);
    }
}

/* ---- reclaim ------------------------------------------------------------ */

/* A cached file page nobody maps (only the cache's reference left): drop
 * it.  The scan resumes where it stopped; a fruitless full scan is not
 * repeated until a cached page loses a mapping again. */
static bool reclaim_cache_page(os *o)
{
    if (!o->cache_idle_maybe || !o->cache.n)
        return false;
    for (size_t k = 0; k < o->cache.cap; k++) {
        size_t i = (o->cache_hand + k) & (o->cache.cap - 1);
        pmap_slot s = o->cache.s[i];
        if (s.a == PMAP_EMPTY || s.a >= VMA_SHMEM || frames_refcount(o->fr, s.v) != 1)
            continue;
        o->cache_hand = i + 1;
        pmap_del(&o->cache, s.a, s.b);
        frames_put(o->fr, s.v);
        return true;
    }
    o->cache_idle_maybe = false;
    return false;
}

/* Unmap one resident mapping.  A file page leaves the page cache with it
 * (its next touch reads it again: a file major fault); an anonymous page is
 * remembered as reclaimed in this mm (its next touch there is a
 * reclaimed-page major fault). */
static void evict(os *o, mm *m, uint64_t va, unsigned level, uint64_t pa, bool cached, uint64_t file, uint64_t idx)
{
    uint64_t size = level_size(o, level), n = size / PAGE;
    pgtable_unmap(m->pt, va, size, NULL);
    mirror_user(o, m, va, va);
    account(o, m, level, false);
    if (cached) {
        pmap_del(&o->cache, file, idx);
        frames_put(o->fr, pa);   /* the mapping's reference */
        frames_put(o->fr, pa);   /* the cache's */
    } else {
        put_frames(o, pa, n);
        for (uint64_t i = 0; i < n; i++)
            pmap_put(&o->swapped, m->id, (va >> 12) + i, 1);
        m->nswapped += n;
    }
    o->c.reclaims++;
    flush_mm(o, o->cur_cpu, m, va, va + size, level_shift(o, level), false);
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
static bool reclaim_one(os *o)
{
    if (reclaim_cache_page(o)) {
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
            cached = pmap_get(&o->cache, v->file, idx, &cpa) && cpa == pa;
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

/* ---- page cache and shared anonymous memory ---------------------------- */

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
static void shmem_release_unused(os *o, const uint64_t *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (shmem_in_use(o, keys[k]))
            continue;
        size_t np;
        pmap_slot *pages = pmap_collect(&o->cache, keys[k], &np);
        for (size_t i = 0; i < np; i++) {
            pmap_del(&o->cache, pages[i].a, pages[i].b);
            frames_put(o->fr, pages[i].v);
        }
        free(pages);
    }
}

typedef struct keylist {
    uint64_t *k;
    size_t n, cap;
} keylist;

static void keylist_add_shmem(void *ctx, const vma *piece)
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

/* ---- tearing down ------------------------------------------------------- */

typedef struct unmap_ctx {
    mm *m;
    bool user;              /* user pages: RSS accounting */
    bool file;              /* the VMA is file- or shmem-backed */
    uint64_t lo, hi;        /* range of the leaves removed (Linux's mmu_gather start/end) */
    unsigned shift;         /* smallest page among them (the gather's stride) */
} unmap_ctx;

static void gather(unmap_ctx *u, uint64_t va, uint64_t size, unsigned shift)
{
    if (va < u->lo)
        u->lo = va;
    if (va + size > u->hi)
        u->hi = va + size;
    if (shift < u->shift)
        u->shift = shift;
}

static void unmap_leaf(os *o, void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)epa;
    unmap_ctx *u = ctx;
    uint64_t size = level_size(o, level);
    put_frames(o, paging_entry_addr(o->mode, level, e), size / PAGE);
    if (u->user)
        account(o, u->m, level, false);
    if (u->file)
        o->cache_idle_maybe = true;
    gather(u, va, size, level_shift(o, level));
}

static void drop_swapped(os *o, mm *m, uint64_t start, uint64_t end)
{
    uint64_t first = start >> 12, last = (end >> 12) - 1;
    if (!m->nswapped)
        return;
    if (last - first < o->swapped.n) {
        for (uint64_t vpn = first; vpn <= last && m->nswapped; vpn++)
            if (pmap_del(&o->swapped, m->id, vpn))
                m->nswapped--;
        return;
    }
    size_t n;
    pmap_slot *s = pmap_collect(&o->swapped, m->id, &n);
    for (size_t i = 0; i < n; i++)
        if (s[i].b >= first && s[i].b <= last) {
            pmap_del(&o->swapped, s[i].a, s[i].b);
            m->nswapped--;
        }
    free(s);
}

static void mm_destroy(os *o, mm *m)
{
    keylist keys = {0};
    unmap_ctx u = {.m = m, .user = m != o->init, .lo = UINT64_MAX, .shift = 64};
    for (size_t i = 0; i < m->vmas.n; i++) {
        const vma *v = &m->vmas.v[i];
        u.file = v->file != 0;
        keylist_add_shmem(&keys, v);
        visit_leaves(o, m->pt, v->start, v->end - 1, unmap_leaf, &u);
    }
    drop_swapped(o, m, 0, o->user_top);
    vma_set_free(&m->vmas);
    o->by_id[m->id] = NULL;
    owner_release(o, m);
    shmem_release_unused(o, keys.k, keys.n);
    free(keys.k);
    pgtable_free(m->upt);
    pgtable_free(m->pt);
    free(m);
}

/* ---- context switches --------------------------------------------------- */

/* Make `to` current on cpu: mmu_switch_to under the PCID policy, and the
 * cpumask bookkeeping the flush policy implies. */
static void cpu_switch(os *o, unsigned cpu, mm *to)
{
    os_cpu *c = &o->cpu[cpu];
    mm *from = c->mm;
    uint64_t bit = 1ull << cpu;
    if (from == to)
        return;
    mmu_switch_to(c->mmu, to->owner, pgtable_root(to->pt));
    uint16_t pcid = mmu_regs(c->mmu)->pcid;
    bool flushed = false;
    switch (o->cfg.cpu.context) {
    case CTX_NOPCID:
        flushed = true;   /* every non-global entry went: from's too */
        if (from)
            from->cpumask &= ~bit;
        break;
    case CTX_PCID:
        if (owner_shared(o, to)) {   /* the PCID may hold another mm's entries */
            mmu_invpcid(c->mmu, 1, pcid, 0);
            if (o->cfg.os.kpti)
                mmu_invpcid(c->mmu, 1, pcid | KPTI_USER_PCID, 0);
        }
        break;
    default: {
        /* choose_new_asid() kept this mm's slot, or took one and flushed it. */
        uint64_t *slot = &c->slot_owner[pcid - 1];
        flushed = *slot != to->id;
        if (flushed && *slot != NO_ID) {
            mm *prev = mm_lookup(o, *slot);
            if (prev)
                prev->cpumask &= ~bit;
        }
        *slot = to->id;
        break;
    }
    }
    if (flushed && c->user_stale)
        c->user_stale[pcid - 1] = true;
    to->cpumask |= bit;
    c->mm = to;
    c->kpcid = pcid;
    c->priv = MM_SUPERVISOR;
    cpu_update_ok(o, c);
}

/* KPTI: the privilege changes, so does CR3 (no-flush with PCIDs, except the
 * first return to user after the kernel PCID was flushed). */
static void kpti_enter(os *o, os_cpu *c, mm_priv priv)
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
    cpu_update_ok(o, c);
}

/* Drop a process's reference; the last one frees the address space (CPUs
 * still on it go to init_mm, as a lazy CPU does when its mm is torn down). */
static void mm_put(os *o, mm *m)
{
    if (--m->users)
        return;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++)
        if (o->cpu[cpu].mm == m) {
            o->cpu[cpu].has_pid = false;
            cpu_switch(o, cpu, o->init);
        }
    mm_destroy(o, m);
}

/* ---- processes ---------------------------------------------------------- */

static size_t proc_pos(const os *o, uint32_t pid)
{
    size_t lo = 0, hi = o->nprocs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->procs[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static proc *proc_find(os *o, uint32_t pid)
{
    size_t i = proc_pos(o, pid);
    return i < o->nprocs && o->procs[i].pid == pid ? &o->procs[i] : NULL;
}

static proc *proc_insert(os *o, uint32_t pid, mm *m)
{
    size_t i = proc_pos(o, pid);
    mm_grow(&o->procs, &o->capprocs, o->nprocs, sizeof *o->procs, 16);
    memmove(&o->procs[i + 1], &o->procs[i], (o->nprocs - i) * sizeof *o->procs);
    o->procs[i] = (proc){pid, m};
    o->nprocs++;
    return &o->procs[i];
}

/* The process, created with an empty address space if unknown (NULL when
 * memory is exhausted: the replay stops). */
static proc *proc_get(os *o, uint32_t pid)
{
    proc *p = proc_find(o, pid);
    if (p)
        return p;
    mm *m = mm_new(o);
    if (!m) {
        set_oom(o);
        return NULL;
    }
    return proc_insert(o, pid, m);
}

static void proc_remove(os *o, uint32_t pid)
{
    size_t i = proc_pos(o, pid);
    memmove(&o->procs[i], &o->procs[i + 1], (o->nprocs - i - 1) * sizeof *o->procs);
    o->nprocs--;
}

/* ---- leaf permissions -------------------------------------------------- */

/* A user leaf for VMA v.  Like Linux's vm_page_prot, A is set; D with a
 * write fault.  PROT_NONE is a supervisor-only entry, so user accesses
 * take a protection fault. */
static uint64_t user_flags(const os *o, const vma *v, bool writable, bool dirty)
{
    uint64_t f = PTE_A;
    if (v->prot & PROT_ANY)
        f |= PTE_US;
    if (writable && (v->prot & TR_PROT_WRITE)) {
        f |= PTE_RW;
        if (dirty)
            f |= PTE_D;
    }
    if (!(v->prot & TR_PROT_EXEC))
        f |= o->xd;
    return f;
}

/* Kernel leaves carry A and D (Linux's PAGE_KERNEL) and G per config. */
static uint64_t kernel_flags(const os *o, const vma *v)
{
    uint64_t f = PTE_A | PTE_D;
    if (v->prot & TR_PROT_WRITE)
        f |= PTE_RW;
    if (o->cfg.os.kernel_global)
        f |= PTE_G;
    if (!(v->prot & TR_PROT_EXEC))
        f |= o->xd;
    return f;
}

/* Would the walker allow the access on this leaf (intermediate entries are
 * always permissive)? */
static bool leaf_allows(const os *o, unsigned cpu, uint64_t leaf, mm_kind kind, mm_priv priv)
{
    unsigned perm = ((leaf & PTE_RW) ? TLB_W : 0) | ((leaf & PTE_US) ? TLB_U : 0) |
                    ((leaf & o->xd) ? 0 : TLB_X);
    return !walk_perm_fault(mmu_regs(o->cpu[cpu].mmu), kind, priv, perm);
}

static uint32_t prot_needed(mm_kind kind)
{
    return kind == MM_STORE ? TR_PROT_WRITE : kind == MM_IFETCH ? TR_PROT_EXEC : PROT_ANY;
}

/* ---- the fault handler -------------------------------------------------- */

typedef enum fres {
    F_RETRY,   /* fixed: access again */
    F_SEGV,
    F_OOM,
} fres;

/* An implicit VMA for a touch at va (os.h): the 2 MiB-aligned region,
 * clipped to the half and to the neighbours. */
static vma *implicit_vma(os *o, mm *m, uint64_t va, mm_kind kind, bool kernel)
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
              .prot = TR_PROT_READ | TR_PROT_WRITE | (kind == MM_IFETCH ? TR_PROT_EXEC : 0),
              .flags = TR_MAP_ANON | (kernel ? TR_MAP_KERNEL : 0), .implicit = true};
    vma_insert(&m->vmas, &nv);
    o->c.implicit_vmas++;
    return vma_find(&m->vmas, va);
}

/* An implicit VMA gains the permission an access needs; present leaves
 * gain it too (no flush: permissions only grow, and the MMU re-walks a
 * cached entry that denies).  Write access reaches leaves through write
 * faults, which keep copy-on-write intact. */
static vma *gain(os *o, mm *m, vma *v, mm_kind kind, bool kernel)
{
    uint64_t start = v->start, len = v->end - v->start;
    uint32_t add = kind == MM_STORE ? TR_PROT_WRITE : kind == MM_IFETCH ? TR_PROT_EXEC : TR_PROT_READ;
    v->prot |= add;
    if (add == TR_PROT_EXEC && o->xd)
        pgtable_protect(m->pt, start, len, 0, o->xd);
    if (add == TR_PROT_READ && !kernel)
        pgtable_protect(m->pt, start, len, PTE_US, 0);
    return vma_find(&m->vmas, start);
}

/* Split the huge leaf mapping addr down to 4 KiB around addr (Linux's
 * __split_huge_pmd), keeping the accounting.  False when no frame is left
 * for the tables. */
static void split_account_leaf(os *o, void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)e;
    (void)epa;
    mm *m = ctx;
    account(o, m, level, true);
    res_add(o, m, va, level);
}

static bool split_leaf_at(os *o, mm *m, uint64_t addr)
{
    unsigned level;
    uint64_t pa;
    if (!pgtable_lookup(m->pt, addr, &level, &pa) || level == 1)
        return true;
    if (!room(o, NULL, 0, 0, level - 1))
        return false;
    if (!pgtable_lookup(m->pt, addr, &level, &pa) || level == 1)   /* reclaim may have evicted it */
        return true;
    uint64_t size = level_size(o, level), base = addr & ~(size - 1);
    account(o, m, level, false);
    pgtable_err err = pgtable_protect(m->pt, addr & PAGE_MASK, PAGE, 0, 0);
    assert(err == PGT_OK);
    (void)err;
    visit_leaves(o, m->pt, base, base + size - 1, split_account_leaf, m);
    return true;
}

/* Before unmapping or re-protecting from addr: split a huge leaf that
 * straddles addr. */
static bool split_if_straddles(os *o, mm *m, uint64_t addr)
{
    unsigned level;
    uint64_t pa;
    if (addr >= o->user_top || !pgtable_lookup(m->pt, addr, &level, &pa) || level == 1)
        return true;
    if ((addr & (level_size(o, level) - 1)) == 0)
        return true;
    return split_leaf_at(o, m, addr);
}

static bool region_has_swapped(const os *o, const mm *m, uint64_t base, uint64_t size)
{
    if (!m->nswapped)
        return false;
    if (size > IMPLICIT_SPAN)
        return true;   /* 1 GiB: do not look; map smaller pages */
    for (uint64_t va = base; va < base + size; va += PAGE)
        if (pmap_get(&o->swapped, m->id, va >> 12, NULL))
            return true;
    return false;
}

/* Huge pages for a private anonymous fault: hugetlb (TR_MAP_HUGE) tries
 * 1 GiB then 2 MiB, THP 2 MiB, each only when the aligned region lies
 * wholly inside the VMA, nothing maps it yet, and the allocator has a free
 * block and room for the tables.  Returns true when it mapped one. */
static bool fault_huge(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, bool write)
{
    const paging_mode *pm = o->mode;
    bool hugetlb = (v->flags & TR_MAP_HUGE) != 0;
    bool thp = o->cfg.os.thp == THP_ALWAYS || (o->cfg.os.thp == THP_MADVISE && (v->flags & TR_MAP_THP));
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
        if (!region_empty(o, m->pt, va, level) || region_has_swapped(o, m, base, size))
            continue;
        if (!frames_can_alloc(o->fr, order)) {
            o->c.thp_fallbacks++;
            continue;
        }
        /* The block first: room for the tables must not count its frames. */
        uint64_t pa = frames_alloc(o->fr, order);
        assert(pa != FRAMES_NONE);
        if (!room(o, m->pt, va, level, 0)) {
            put_frames(o, pa, 1ull << order);
            o->c.thp_fallbacks++;
            continue;
        }
        map_user(o, m, base, pa, level, user_flags(o, v, true, write));
        if (level == 2)
            o->c.thp_2m++;
        else
            o->c.thp_1g++;
        o->c.faults_demand_zero++;
        charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return true;
    }
    return false;
}

/* A not-present user page inside VMA v. */
static fres fault_missing(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, mm_kind kind)
{
    uint64_t page = va & PAGE_MASK;
    bool write = kind == MM_STORE, shared = (v->flags & TR_MAP_SHARED) != 0;
    vma vc = *v;   /* room() may reclaim; the VMA set does not change, but keep a copy */

    if (m->nswapped && pmap_get(&o->swapped, m->id, page >> 12, NULL)) {
        if (!room(o, m->pt, page, 1, 1))
            return F_OOM;
        pmap_del(&o->swapped, m->id, page >> 12);
        m->nswapped--;
        uint64_t pa = frames_alloc(o->fr, 0);
        map_user(o, m, page, pa, 1, user_flags(o, &vc, !shared, write));
        o->c.faults_reclaimed++;
        charge_fault(o, cpu, o->cfg.os.major_fault_cycles);
        return F_RETRY;
    }

    if (!vc.file) {   /* private anonymous */
        if (fault_huge(o, cpu, m, &vc, va, write))
            return F_RETRY;
        if (!room(o, m->pt, page, 1, 1))
            return F_OOM;
        uint64_t pa = frames_alloc(o->fr, 0);
        map_user(o, m, page, pa, 1, user_flags(o, &vc, true, write));
        o->c.faults_demand_zero++;
        charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return F_RETRY;
    }

    /* File or shared anonymous memory: through the page cache.  A write to
     * a private file page copies it at once (Linux do_cow_fault). */
    bool shmem = vc.file >= VMA_SHMEM, cow = write && !shared;
    uint64_t idx = vc.pgoff + ((page - vc.start) >> 12);
    if (!room(o, m->pt, page, 1, 1 + cow))
        return F_OOM;
    uint64_t pa;
    bool hit = pmap_get(&o->cache, vc.file, idx, &pa);
    if (!hit) {
        pa = frames_alloc(o->fr, 0);   /* this reference is the cache's */
        pmap_put(&o->cache, vc.file, idx, pa);
    }
    uint64_t cycles = hit || shmem ? o->cfg.os.minor_fault_cycles : o->cfg.os.major_fault_cycles;
    if (cow) {
        map_user(o, m, page, frames_alloc(o->fr, 0), 1, user_flags(o, &vc, true, true));
        o->cache_idle_maybe = true;
        cycles += o->cfg.os.cow_fault_cycles;
    } else {
        frames_get(o->fr, pa);
        map_user(o, m, page, pa, 1, user_flags(o, &vc, shared, write));
    }
    if (hit)
        o->c.faults_file_minor++;
    else if (shmem)
        o->c.faults_demand_zero++;
    else
        o->c.faults_file_major++;
    charge_fault(o, cpu, cycles);
    return F_RETRY;
}

/* A write to a present read-only page of a writable VMA: copy-on-write.
 * One reference left (the other side exited or copied already): restore
 * write access to the whole leaf; otherwise split a huge leaf and copy the
 * 4 KiB page.  Either way the address is invalidated on the mm's CPUs. */
static fres fault_wp(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, unsigned level, uint64_t pa)
{
    uint64_t size = level_size(o, level), base = va & ~(size - 1), page = va & PAGE_MASK;
    if (v->flags & TR_MAP_SHARED) {
        /* Shared mappings write in place (a shared file's write-notify fault). */
        pgtable_protect(m->pt, base, size, PTE_RW | PTE_D, 0);
        o->c.faults_file_minor++;
        charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return F_RETRY;
    }
    if (frames_refcount(o->fr, pa) == 1) {
        pgtable_protect(m->pt, base, size, PTE_RW | PTE_D | PTE_A, 0);
        o->c.faults_cow_reuse++;
        charge_fault(o, cpu, o->cfg.os.cow_fault_cycles);
        flush_mm(o, cpu, m, base, base + size, level_shift(o, level), false);
        return F_RETRY;
    }
    if (level > 1 && !split_leaf_at(o, m, page))
        return F_OOM;
    vma vc = *v;
    if (!room(o, m->pt, page, 1, 1))
        return F_OOM;
    uint64_t old;
    uint64_t leaf = pgtable_lookup(m->pt, page, &level, &old);
    if (!leaf || level != 1 || (leaf & PTE_RW))
        return F_RETRY;   /* changed while making room: fault again */
    uint64_t copy = frames_alloc(o->fr, 0);
    pgtable_err e = pgtable_map(m->pt, page, copy, PAGE, 12, user_flags(o, &vc, true, true));
    assert(e == PGT_OK);
    (void)e;
    res_add(o, m, page, 1);
    frames_put(o->fr, old);
    if (vc.file)
        o->cache_idle_maybe = true;
    o->c.faults_cow++;
    charge_fault(o, cpu, o->cfg.os.cow_fault_cycles);
    flush_mm(o, cpu, m, page, page + PAGE, 12, false);
    return F_RETRY;
}

static fres fault_user(os *o, unsigned cpu, mm *m, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv)
{
    if (m == o->init)
        return F_SEGV;   /* no process on this CPU */
    vma *v = vma_find(&m->vmas, va);
    if (!v) {
        if (m->declared || !(v = implicit_vma(o, m, va, kind, false)))
            return F_SEGV;
    }
    if (!(v->prot & prot_needed(kind))) {
        if (!v->implicit)
            return F_SEGV;
        v = gain(o, m, v, kind, false);
    }
    if (ec & PF_RSVD)
        return F_SEGV;
    unsigned level;
    uint64_t pa;
    uint64_t leaf = pgtable_lookup(m->pt, va, &level, &pa);
    if (!leaf)
        return fault_missing(o, cpu, m, v, va, kind);
    if (!(ec & PF_P)) {
        mirror_user(o, m, va, va);   /* present in pt: KPTI's user table was behind */
        return F_RETRY;
    }
    if (kind == MM_STORE && !(leaf & PTE_RW) && (v->prot & TR_PROT_WRITE))
        return fault_wp(o, cpu, m, v, va, level, pa);
    if (leaf_allows(o, cpu, leaf, kind, priv))
        return F_RETRY;   /* an implicit VMA just gained the permission */
    return F_SEGV;        /* SMEP, SMAP, or a permission the VMA denies */
}

/* A supervisor fault in the kernel half: a vmalloc sync when init_mm has a
 * top-level entry this mm lacks; else init_mm's VMA decides. */
static fres fault_kernel(os *o, unsigned cpu, mm *m, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv)
{
    if (priv == MM_USER)
        return F_SEGV;
    mm *k = o->init;
    unsigned idx = paging_index(o->mode, o->mode->levels, va);
    uint64_t ke = pgtable_root_entry(k->pt, idx);
    if (m != k && (ke & PTE_P) && pgtable_root_entry(m->pt, idx) != ke) {
        pgtable_set_root_entry(m->pt, idx, ke);
        o->c.faults_vmalloc_sync++;
        charge_fault(o, cpu, o->cfg.os.vmalloc_sync_cycles);
        return F_RETRY;
    }
    vma *v = vma_find(&k->vmas, va);
    if (!v) {
        if (o->kernel_declared || !(v = implicit_vma(o, k, va, kind, true)))
            return F_SEGV;
    }
    if (!(v->prot & prot_needed(kind))) {
        if (!v->implicit)
            return F_SEGV;
        v = gain(o, k, v, kind, true);
    }
    unsigned level;
    uint64_t pa;
    uint64_t leaf = pgtable_lookup(k->pt, va, &level, &pa);
    if (!leaf) {
        /* An implicit kernel mapping, or a kernel mmap not fully mapped
         * when memory ran short: map the page in init_mm. */
        uint64_t page = va & PAGE_MASK;
        vma vc = *v;
        if (!room(o, k->pt, page, 1, 1))
            return F_OOM;
        pgtable_err e = pgtable_map(k->pt, page, frames_alloc(o->fr, 0), PAGE, 12, kernel_flags(o, &vc));
        assert(e == PGT_OK);
        (void)e;
        o->c.faults_demand_zero++;
        charge_fault(o, cpu, o->cfg.os.minor_fault_cycles);
        return F_RETRY;
    }
    if (!(ec & PF_P) || leaf_allows(o, cpu, leaf, kind, priv))
        return F_RETRY;
    return F_SEGV;
}

static fres handle_fault(os *o, unsigned cpu, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv)
{
    mm *m = o->cpu[cpu].mm;
    if (!paging_va_ok(o->mode, va))
        return F_SEGV;
    if (va >= o->kernel_base)
        return fault_kernel(o, cpu, m, va, ec, kind, priv);
    if (va >= o->user_top)
        return F_SEGV;
    return fault_user(o, cpu, m, va, ec, kind, priv);
}

/* ---- accesses ------------------------------------------------------------ */

/* Translate the page of va, handling faults; issued: out already holds the
 * first attempt's result. */
static os_status translate(os *o, unsigned cpu, uint64_t va, mm_kind kind, mm_priv priv, mmu_result *out,
                           bool issued)
{
    os_cpu *c = &o->cpu[cpu];
    if (!issued)
        mmu_access(c->mmu, va, kind, priv, out);
    mm_cycle first = out->issue;
    for (unsigned tries = 0; out->fault; tries++) {
        /* The fault is an exception: the handler and the retry start after
         * everything in flight has completed, so the retry cannot merge
         * with the walk that faulted. */
        charge(o, cpu, 0);
        fres r = F_SEGV;
        if (tries < MAX_FAULT_RETRIES)
            r = handle_fault(o, cpu, va, out->error_code, kind, priv);
        else
            assert(!"page fault not resolved by the handler");
        if (r == F_OOM) {
            set_oom(o);
            return OS_OOM;
        }
        if (r == F_SEGV) {
            o->c.faults_segv++;
            c->stall += out->done - first - c->l1lat[kind];
            return OS_SEGV;
        }
        mmu_access(c->mmu, va, kind, priv, out);
    }
    c->stall += out->done - first - c->l1lat[kind];
    return OS_OK;
}

/* Everything but a single-page access on a prepared CPU: make the CPU
 * ready (its first process, the KPTI CR3), then translate page by page. */
__attribute__((noinline)) static os_status access_slow(os *o, unsigned cpu, uint64_t va, uint32_t size,
                                                       mm_kind kind, mm_priv priv, mmu_result *out)
{
    os_cpu *c = &o->cpu[cpu];
    if (o->oom)
        return OS_OOM;
    o->cur_cpu = cpu;
    if (!c->mm) {
        /* A CPU that never switched runs pid 0. */
        proc *p = proc_get(o, 0);
        if (!p)
            return OS_OOM;
        cpu_switch(o, cpu, p->mm);
        c->pid = 0;
        c->has_pid = true;
    }
    if (o->cfg.os.kpti && c->priv != priv)
        kpti_enter(o, c, priv);
    uint64_t last = va + (size ? size - 1 : 0);
    if (last < va)
        last = UINT64_MAX;
    for (uint64_t a = va;;) {
        os_status s = translate(o, cpu, a, kind, priv, out, false);
        if (s != OS_OK)
            return s;
        uint64_t next = (a | (PAGE - 1)) + 1;
        if (next == 0 || next > last)
            return OS_OK;
        a = next;
    }
}

/* The hot path's access missed the L1 TLB or faulted: finish it. */
__attribute__((noinline)) static os_status access_resume(os_cpu *c, mmu_result *out)
{
    os *o = c->os;
    o->cur_cpu = c->index;
    return translate(o, c->index, c->pend_va, (mm_kind)c->pend_kind, (mm_priv)c->pend_priv, out, true);
}

/* Only c and out live across the call (the rest is parked in c), so the
 * L1-hit path saves two registers, not seven. */
os_status os_access(os *o, unsigned cpu, uint64_t va, uint32_t size, mm_kind kind, mm_priv priv, mmu_result *out)
{
    assert(cpu < o->ncpus);
    os_cpu *c = &o->cpu[cpu];
    if (__builtin_expect(!((c->ok >> priv) & 1) || (va & (PAGE - 1)) + size > PAGE, 0))
        return access_slow(o, cpu, va, size, kind, priv, out);
    c->pend_va = va;
    c->pend_kind = (uint8_t)kind;
    c->pend_priv = (uint8_t)priv;
    mmu_access(c->mmu, va, kind, priv, out);
    if (__builtin_expect(out->where == MMU_L1_HIT, 1))
        return OS_OK;
    return access_resume(c, out);
}

void os_instructions(os *o, unsigned cpu, uint64_t n)
{
    assert(cpu < o->ncpus);
    o->cpu[cpu].instructions += n;
}

/* ---- OS events ------------------------------------------------------------ */

/* [start, end) of a record's range, page-aligned outward; false when empty
 * or wrapping. */
static bool record_range(const trace_rec *r, uint64_t *start, uint64_t *end)
{
    uint64_t e = r->addr + r->len;
    if (!r->len || e < r->addr || e > UINT64_MAX - PAGE)
        return false;
    *start = r->addr & PAGE_MASK;
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
    if (!split_if_straddles(o, m, start) || !split_if_straddles(o, m, end)) {
        set_oom(o);
        return false;
    }
    unmap_ctx u = {.m = m, .user = true, .lo = UINT64_MAX, .shift = 64};
    for (i = vma_first_ending_after(&m->vmas, start); i < m->vmas.n && m->vmas.v[i].start < end; i++) {
        const vma *v = &m->vmas.v[i];
        uint64_t a = v->start > start ? v->start : start, b = v->end < end ? v->end : end;
        u.file = v->file != 0;
        visit_leaves(o, m->pt, a, b - 1, unmap_leaf, &u);
    }
    if (u.hi) {
        pgtable_err e = pgtable_unmap(m->pt, start, end - start, NULL);
        assert(e == PGT_OK);
        (void)e;
        mirror_user(o, m, start, end - 1);
    }
    drop_swapped(o, m, start, end);
    keylist keys = {0};
    vma_remove(&m->vmas, start, end, keylist_add_shmem, &keys);
    if (u.hi)
        flush_mm(o, o->cur_cpu, m, u.lo, u.hi, u.shift, false);
    shmem_release_unused(o, keys.k, keys.n);
    free(keys.k);
    return true;
}

typedef struct kunmap_ctx {
    uint64_t lo, hi;
} kunmap_ctx;

/* Kernel leaves are cleared in place: like vunmap, the kernel's page
 * tables are never freed (every mm shares them). */
static void kunmap_leaf(os *o, void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    kunmap_ctx *u = ctx;
    uint64_t size = level_size(o, level);
    paging_write_entry(o->mode, o->pm, epa, 0);
    put_frames(o, paging_entry_addr(o->mode, level, e), size / PAGE);
    if (va < u->lo)
        u->lo = va;
    if (va + size > u->hi)
        u->hi = va + size;
}

static void kernel_unmap(os *o, uint64_t start, uint64_t end)
{
    kunmap_ctx u = {UINT64_MAX, 0};
    visit_leaves(o, o->init->pt, start, end - 1, kunmap_leaf, &u);
    vma_remove(&o->init->vmas, start, end, NULL, NULL);
    if (u.hi)
        flush_kernel(o, o->cur_cpu, u.lo, u.hi);
}

typedef struct prot_ctx {
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
static void prot_leaf(os *o, void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)epa;
    prot_ctx *p = ctx;
    uint64_t old = entry_flags(o, e), nf = old;
    if (!p->kernel) {
        nf = (p->prot & PROT_ANY) ? nf | PTE_US : nf & ~PTE_US;
        if (!(p->prot & TR_PROT_WRITE))
            nf &= ~PTE_RW;
        else if (p->v->flags & TR_MAP_SHARED)
            nf |= PTE_RW;
    } else {
        nf = (p->prot & TR_PROT_WRITE) ? nf | PTE_RW : nf & ~PTE_RW;
    }
    nf = (p->prot & TR_PROT_EXEC) ? nf & ~o->xd : nf | o->xd;
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
    if (!kernel && (!split_if_straddles(o, m, start) || !split_if_straddles(o, m, end))) {
        set_oom(o);
        return;
    }
    prot_ctx p = {.m = m, .prot = prot, .kernel = kernel, .lo = UINT64_MAX, .shift = 64};
    for (; i < m->vmas.n && m->vmas.v[i].start < end; i++) {
        p.v = &m->vmas.v[i];
        uint64_t a = p.v->start > start ? p.v->start : start, b = p.v->end < end ? p.v->end : end;
        visit_leaves(o, m->pt, a, b - 1, prot_leaf, &p);
    }
    vma_protect(&m->vmas, start, end, prot);
    if (p.hi && kernel)
        flush_kernel(o, o->cur_cpu, p.lo, p.hi);
    else if (p.hi)
        flush_mm(o, o->cur_cpu, m, p.lo, p.hi, p.shift, false);
}

static int ev_switch(os *o, const trace_rec *r)
{
    proc *p = proc_get(o, r->pid);
    if (!p)
        return 0;
    os_cpu *c = &o->cpu[r->cpu];
    if (c->has_pid && c->pid == r->pid && c->mm == p->mm)
        return 0;
    cpu_switch(o, r->cpu, p->mm);
    c->pid = r->pid;
    c->has_pid = true;
    charge(o, r->cpu, o->cfg.os.switch_cycles);
    o->c.switches++;
    return 0;
}

typedef struct fork_ctx {
    mm *parent, *child;
    const vma *v;
} fork_ctx;

/* copy_present_pte(): a private writable page becomes read-only in both;
 * the child's entry is old (A clear), and clean for shared mappings. */
static void fork_leaf(os *o, void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa)
{
    (void)epa;
    fork_ctx *f = ctx;
    uint64_t size = level_size(o, level), pa = paging_entry_addr(o->mode, level, e);
    uint64_t flags = entry_flags(o, e);
    bool shared = (f->v->flags & TR_MAP_SHARED) != 0;
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
    get_frames(o, pa, size / PAGE);
    account(o, f->child, level, true);
    res_add(o, f->child, va, level);
}

/* dup_mmap(): the child gets copies of the parent's user page tables (huge
 * leaves stay huge) over its VMAs; then the parent's TLB entries are
 * flushed (flush_tlb_mm), since its writable pages became read-only. */
static mm *mm_fork(os *o, unsigned cpu, mm *p)
{
    uint64_t tables = 0;
    for (unsigned l = 1; l < o->mode->levels; l++)
        tables += pgtable_pages(p->pt, l);
    if (!room(o, NULL, 0, 0, tables + (o->cfg.os.kpti ? 2 : 1)))
        return NULL;
    mm *c = mm_new(o);
    if (!c)
        return NULL;
    vma_set_copy(&c->vmas, &p->vmas);
    c->declared = p->declared;
    fork_ctx f = {p, c, NULL};
    for (size_t i = 0; i < p->vmas.n; i++) {
        f.v = &p->vmas.v[i];
        visit_leaves(o, p->pt, f.v->start, f.v->end - 1, fork_leaf, &f);
    }
    mirror_user(o, c, 0, o->user_top - 1);
    if (p->nswapped) {
        size_t n;
        pmap_slot *s = pmap_collect(&o->swapped, p->id, &n);
        for (size_t i = 0; i < n; i++)
            pmap_put(&o->swapped, c->id, s[i].b, 1);
        c->nswapped = n;
        free(s);
    }
    flush_mm(o, cpu, p, 0, 0, 12, true);
    return c;
}

static int ev_fork(os *o, const trace_rec *r, char *err, size_t errlen)
{
    if (r->child == r->pid || proc_find(o, r->child))
        return mm_errf(err, errlen, "fork: pid %" PRIu32 " forks child %" PRIu32 ", which exists", r->pid, r->child);
    proc *p = proc_get(o, r->pid);
    if (!p)
        return 0;
    mm *c = mm_fork(o, r->cpu, p->mm);
    if (!c) {
        set_oom(o);
        return 0;
    }
    proc_insert(o, r->child, c);
    o->c.forks++;
    return 0;
}

static int ev_exec(os *o, const trace_rec *r)
{
    proc *p = proc_get(o, r->pid);
    if (!p)
        return 0;
    mm *old = p->mm, *m = mm_new(o);
    if (!m) {
        set_oom(o);
        return 0;
    }
    p->mm = m;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++)
        if (o->cpu[cpu].has_pid && o->cpu[cpu].pid == r->pid)
            cpu_switch(o, cpu, m);
    mm_put(o, old);
    o->c.execs++;
    return 0;
}

static int ev_exit(os *o, const trace_rec *r)
{
    o->c.exits++;
    proc *p = proc_find(o, r->pid);
    if (!p)
        return 0;
    mm *m = p->mm;
    proc_remove(o, r->pid);
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++) {
        os_cpu *c = &o->cpu[cpu];
        if (c->has_pid && c->pid == r->pid) {
            c->has_pid = false;
            cpu_switch(o, cpu, o->init);
        }
    }
    mm_put(o, m);
    return 0;
}

/* A vmalloc mapping: in init_mm, mapped at once.  Address spaces created
 * before it lack any new top-level entry it needed (vmalloc sync faults). */
static int ev_kernel_mmap(os *o, const trace_rec *r, uint64_t start, uint64_t end)
{
    if (start < o->kernel_base || end > o->kernel_end) {
        o->c.mmap_failures++;
        return 0;
    }
    kernel_unmap(o, start, end);
    vma nv = {.start = start, .end = end, .pgoff = start >> 12, .prot = r->prot,
              .flags = (r->flags & ~(uint32_t)TR_MAP_SHARED) | TR_MAP_ANON};
    mm *k = o->init;
    vma_insert(&k->vmas, &nv);
    o->kernel_declared = true;
    o->c.mmaps++;
    for (uint64_t page = start; page < end; page += PAGE) {
        if (!room(o, k->pt, page, 1, 1)) {
            set_oom(o);
            break;
        }
        pgtable_err e = pgtable_map(k->pt, page, frames_alloc(o->fr, 0), PAGE, 12, kernel_flags(o, &nv));
        assert(e == PGT_OK);
        (void)e;
    }
    return 0;
}

static int ev_mmap(os *o, const trace_rec *r)
{
    uint64_t start, end;
    bool ok = record_range(r, &start, &end);
    if (ok && (r->flags & TR_MAP_KERNEL))
        return ev_kernel_mmap(o, r, start, end);
    proc *p = proc_get(o, r->pid);
    if (!p)
        return 0;
    mm *m = p->mm;
    if (!ok || end > o->user_top) {
        o->c.mmap_failures++;   /* virtual exhaustion: ENOMEM, not a replay error */
        return 0;
    }
    if (!unmap_range(o, m, start, end))   /* MAP_FIXED replaces what was there */
        return 0;
    vma nv = {.start = start, .end = end, .prot = r->prot, .flags = r->flags};
    if (!(r->flags & TR_MAP_ANON)) {
        nv.file = r->file_id;
        nv.pgoff = r->offset >> 12;
    } else if (r->flags & TR_MAP_SHARED) {
        nv.file = VMA_SHMEM + o->next_shmem++;
    } else {
        nv.pgoff = start >> 12;
    }
    vma_insert(&m->vmas, &nv);
    m->declared = true;
    o->c.mmaps++;
    return 0;
}

static int ev_munmap(os *o, const trace_rec *r)
{
    o->c.munmaps++;
    uint64_t start, end;
    if (!record_range(r, &start, &end))
        return 0;
    if (start >= o->kernel_base) {
        if (end <= o->kernel_end)
            kernel_unmap(o, start, end);
        return 0;
    }
    proc *p = proc_get(o, r->pid);
    if (p)
        unmap_range(o, p->mm, start, end < o->user_top ? end : o->user_top);
    return 0;
}

static int ev_mprotect(os *o, const trace_rec *r)
{
    o->c.mprotects++;
    uint64_t start, end;
    if (!record_range(r, &start, &end))
        return 0;
    if (start >= o->kernel_base) {
        if (end <= o->kernel_end)
            protect_range(o, o->init, start, end, r->prot, true);
        return 0;
    }
    proc *p = proc_get(o, r->pid);
    if (p)
        protect_range(o, p->mm, start, end < o->user_top ? end : o->user_top, r->prot, false);
    return 0;
}

int os_event(os *o, const trace_rec *r, char *err, size_t errlen)
{
    if (r->kind == TR_ACCESS)
        return mm_errf(err, errlen, "os_event: an access record is not an OS event");
    if (r->cpu >= o->ncpus)
        return mm_errf(err, errlen, "%s record on cpu %u, but the machine has %u CPU%s (cpu.cpus)",
                       trace_kind_name((trace_kind)r->kind), r->cpu, o->ncpus, o->ncpus == 1 ? "" : "s");
    if (o->oom)
        return 0;   /* the replay is ending */
    o->cur_cpu = r->cpu;
    mmu *u = o->cpu[r->cpu].mmu;
    switch (r->kind) {
    case TR_INSTR:
        os_instructions(o, r->cpu, r->count);
        return 0;
    case TR_SWITCH:
        return ev_switch(o, r);
    case TR_FORK:
        return ev_fork(o, r, err, errlen);
    case TR_EXEC:
        return ev_exec(o, r);
    case TR_EXIT:
        return ev_exit(o, r);
    case TR_MMAP:
        return ev_mmap(o, r);
    case TR_MUNMAP:
        return ev_munmap(o, r);
    case TR_MPROTECT:
        return ev_mprotect(o, r);
    case TR_CR3: {
        /* The recorded value names the recording machine's tables: reload
         * this CPU's root and PCID with the recorded no-flush bit. */
        const walk_regs *g = mmu_regs(u);
        mmu_write_cr3(u, g->root, g->pcid, r->noflush);
        return 0;
    }
    case TR_INVLPG:
        mmu_invlpg(u, r->addr);
        return 0;
    default:
        return mm_errf(err, errlen, "os_event: unknown record kind %u", r->kind);
    }
}

/* ---- the machine ---------------------------------------------------------- */

os *os_create(const mm_config *cfg, char *err, size_t errlen)
{
    const paging_mode *mode = cfg_mode(cfg);
    unsigned mib = cfg->os.phys_mem_mib;
    if (cfg->cpu.cpus < 1 || cfg->cpu.cpus > MAX_CPUS) {
        mm_errf(err, errlen, "cpu.cpus: %u CPUs (the OS model handles 1..%d)", cfg->cpu.cpus, MAX_CPUS);
        return NULL;
    }
    if (mib < OS_MIN_PHYS_MIB) {
        mm_errf(err, errlen, "os.phys_mem_mib: %u MiB is too small (at least %d: %d are reserved for the kernel)",
                mib, OS_MIN_PHYS_MIB, OS_RESERVED_MIB);
        return NULL;
    }
    uint64_t pa_limit = mode->kind == PAGING_X86_32 ? 1ull << 32 : 1ull << cfg->cpu.pa_bits;
    if (((uint64_t)mib << 20) > pa_limit) {
        mm_errf(err, errlen, "os.phys_mem_mib: %u MiB does not fit the physical address space (%s%" PRIu64 " MiB)",
                mib, mode->kind == PAGING_X86_32 ? "x86-32 page tables reach " : "cpu.pa_bits gives ",
                pa_limit >> 20);
        return NULL;
    }
    os *o = xcalloc(1, sizeof *o);
    o->cfg = *cfg;
    o->mode = mode;
    o->ncpus = cfg->cpu.cpus;
    o->pcid = cfg->cpu.context != CTX_NOPCID;
    o->xd = mode->has_xd ? PTE_XD : 0;
    if (mode->canonical) {
        o->user_top = 1ull << (mode->va_bits - 1);
        o->kernel_base = ~0ull << (mode->va_bits - 1);
        o->kernel_end = 0ull - PAGE;   /* the last page stays out: areas' ends must not wrap */
    } else {
        o->user_top = o->kernel_base = 0xC0000000ull;   /* the 3G/1G split */
        o->kernel_end = 1ull << 32;
    }
    o->owner_next = 1;   /* 0 is init_mm's */
    o->owner_limit = cfg->os.kpti ? KPTI_PCID_OWNERS : PCID_OWNERS;
    o->kidx_first = paging_index(mode, mode->levels, o->kernel_base);
    o->kidx_end = 1u << mode->idx_bits[mode->levels];
    o->pm = physmem_create(cfg->cpu.pa_bits, 0, 0);
    o->fr = frames_create(cfg->os.frames, mib, OS_RESERVED_MIB, cfg->seed);
    o->ms = memsys_create(&cfg->memsys);
    o->talloc = (pgtable_alloc){table_alloc, table_release, o};
    o->cpu = xcalloc(o->ncpus, sizeof *o->cpu);
    if (!o->pm || !o->fr || !o->ms) {
        mm_errf(err, errlen, "os: cannot create the machine (physical memory, frames or memory model)");
        os_free(o);
        return NULL;
    }
    for (unsigned i = 0; i < o->ncpus; i++) {
        os_cpu *c = &o->cpu[i];
        c->mmu = mmu_create(cfg, i, o->pm, o->ms);
        if (!c->mmu) {
            mm_errf(err, errlen, "os: cannot create the MMU of cpu %u", i);
            os_free(o);
            return NULL;
        }
        c->os = o;
        c->index = i;
        c->l1lat[MM_LOAD] = c->l1lat[MM_STORE] = cfg->dtlb.latency;
        c->l1lat[MM_IFETCH] = cfg->itlb.latency;
        c->priv = MM_SUPERVISOR;
        if (cfg->cpu.context == CTX_RECYCLE) {
            c->slot_owner = xcalloc(cfg->cpu.nr_asids ? cfg->cpu.nr_asids : 1, sizeof *c->slot_owner);
            for (unsigned a = 0; a < cfg->cpu.nr_asids; a++)
                c->slot_owner[a] = NO_ID;
            if (cfg->os.kpti)
                c->user_stale = xcalloc(cfg->cpu.nr_asids ? cfg->cpu.nr_asids : 1, sizeof *c->user_stale);
        }
    }
    o->init = mm_new(o);
    if (!o->init) {
        mm_errf(err, errlen, "os: no frame for init_mm's page table");
        os_free(o);
        return NULL;
    }
    return o;
}

void os_free(os *o)
{
    if (!o)
        return;
    for (size_t id = 1; id < o->nids; id++)
        if (o->by_id[id])
            mm_destroy(o, o->by_id[id]);
    if (o->init)
        mm_destroy(o, o->init);
    for (unsigned i = 0; o->cpu && i < o->ncpus; i++) {
        mmu_free(o->cpu[i].mmu);
        free(o->cpu[i].slot_owner);
        free(o->cpu[i].user_stale);
    }
    free(o->cpu);
    free(o->by_id);
    free(o->procs);
    free(o->res);
    free(o->owner_free);
    pmap_free(&o->cache);
    pmap_free(&o->swapped);
    memsys_free(o->ms);
    frames_free(o->fr);
    physmem_free(o->pm);
    free(o);
}

mm_cycle os_cycles(const os *o)
{
    mm_cycle t = 0;
    for (unsigned i = 0; i < o->ncpus; i++) {
        mm_cycle n = mmu_now(o->cpu[i].mmu);
        if (n > t)
            t = n;
    }
    return t;
}

unsigned os_cpus(const os *o)
{
    return o->ncpus;
}

mmu *os_mmu(os *o, unsigned cpu)
{
    assert(cpu < o->ncpus);
    return o->cpu[cpu].mmu;
}

const os_counters *os_get_counters(const os *o)
{
    return &o->c;
}

/* ---- counters out --------------------------------------------------------- */

static void export_pagetables(const os *o, stats *s)
{
    const paging_mode *pm = o->mode;
    uint64_t per_level[PAGING_MAX_LEVELS + 1] = {0}, bytes = 0;
    for (size_t id = 0; id < o->nids; id++) {
        const mm *m = o->by_id[id];
        if (!m)
            continue;
        for (unsigned l = 1; l <= pm->levels; l++)
            per_level[l] += pgtable_pages(m->pt, l) + (m->upt ? pgtable_pages(m->upt, l) : 0);
        bytes += pgtable_bytes(m->pt) + (m->upt ? pgtable_bytes(m->upt) : 0);
    }
    stats_add(s, "pagetable.bytes", bytes);
    for (unsigned l = pm->levels; l >= 1; l--)
        stats_addf(s, per_level[l], "pagetable.%s.pages", pm->linux_name[l]);
    for (size_t i = 0; i < o->nprocs; i++) {
        const mm *m = o->procs[i].mm;
        stats_addf(s, pgtable_bytes(m->pt) + (m->upt ? pgtable_bytes(m->upt) : 0), "pagetable.pid%" PRIu32 ".bytes",
                   o->procs[i].pid);
    }
}

void os_export_stats(const os *o, stats *s)
{
    const os_counters *c = &o->c;
    uint64_t instructions = 0, stall = 0;
    for (unsigned i = 0; i < o->ncpus; i++) {
        mmu_export_stats(o->cpu[i].mmu, s);
        instructions += o->cpu[i].instructions;
        stall += o->cpu[i].stall;
    }
    stats_add(s, "instructions", instructions);
    stats_add(s, "translation.stall_cycles", stall);

    stats_add(s, "minor-faults", c->faults_demand_zero + c->faults_cow + c->faults_cow_reuse + c->faults_file_minor +
                                     c->faults_vmalloc_sync);
    stats_add(s, "major-faults", c->faults_file_major + c->faults_reclaimed);
    stats_add(s, "faults.demand_zero", c->faults_demand_zero);
    stats_add(s, "faults.cow", c->faults_cow);
    stats_add(s, "faults.cow_reuse", c->faults_cow_reuse);
    stats_add(s, "faults.file_minor", c->faults_file_minor);
    stats_add(s, "faults.file_major", c->faults_file_major);
    stats_add(s, "faults.reclaimed", c->faults_reclaimed);
    stats_add(s, "faults.vmalloc_sync", c->faults_vmalloc_sync);
    stats_add(s, "faults.segv", c->faults_segv);
    stats_add(s, "faults.handler_cycles", c->fault_cycles);

    stats_add(s, "rss.pages", o->rss_total);
    stats_add(s, "rss.pages_peak", c->rss_pages_peak);
    export_pagetables(o, s);

    uint64_t huge[PAGING_MAX_LEVELS + 1] = {0};
    for (size_t id = 0; id < o->nids; id++)
        if (o->by_id[id])
            for (unsigned l = 2; l <= o->mode->levels; l++)
                huge[l] += o->by_id[id]->huge[l];
    uint64_t b2m = huge[2] * level_size(o, 2), b1g = o->mode->levels >= 3 ? huge[3] * level_size(o, 3) : 0;
    uint64_t mapped = o->rss_total * PAGE;
    stats_add(s, "thp.bytes_2m", b2m);
    stats_add(s, "thp.bytes_1g", b1g);
    stats_add(s, "thp.coverage_permille", mapped ? (b2m + b1g) * 1000 / mapped : 0);
    stats_add(s, "thp.faults_2m", c->thp_2m);
    stats_add(s, "thp.faults_1g", c->thp_1g);
    stats_add(s, "thp.fallbacks", c->thp_fallbacks);

    uint64_t vmas = 0;
    for (size_t id = 1; id < o->nids; id++)
        if (o->by_id[id])
            vmas += o->by_id[id]->vmas.n;
    stats_add(s, "os.processes", o->nprocs);
    stats_add(s, "os.vmas", vmas);
    stats_add(s, "os.switches", c->switches);
    stats_add(s, "os.forks", c->forks);
    stats_add(s, "os.execs", c->execs);
    stats_add(s, "os.exits", c->exits);
    stats_add(s, "os.mmaps", c->mmaps);
    stats_add(s, "os.mmap_failures", c->mmap_failures);
    stats_add(s, "os.munmaps", c->munmaps);
    stats_add(s, "os.mprotects", c->mprotects);
    stats_add(s, "os.implicit_vmas", c->implicit_vmas);
    stats_add(s, "os.shootdowns", c->shootdowns);
    stats_add(s, "os.shootdown_targets", c->shootdown_targets);
    stats_add(s, "os.reclaims", c->reclaims);
    stats_add(s, "os.kpti_cr3_writes", c->kpti_cr3_writes);
    stats_add(s, "os.page_cache_pages", o->cache.n);
    stats_add(s, "os.out_of_memory", o->oom);

    const frames_counters *f = frames_get_counters(o->fr);
    static const char *const order_name[3] = {"4k", "2m", "1g"};
    stats_add(s, "frames.total", f->total);
    stats_add(s, "frames.free", f->free);
    for (unsigned i = 0; i < 3; i++)
        stats_addf(s, f->allocs[i], "frames.allocs_%s", order_name[i]);
    for (unsigned i = 0; i < 3; i++)
        stats_addf(s, f->failures[i], "frames.failures_%s", order_name[i]);
    stats_add(s, "frames.frees", f->frees);
}
