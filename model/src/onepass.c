/* onepass.c -- exact one-pass simulation of many L1 TLB geometries (see
 * onepass.h for the algorithm and the conditions).
 *
 * Layout.  Per simulated L1, per array slot (tlb_cfg order: 4k, 2m, 1g), one
 * "family" per requested set count.  A family keeps, per CPU and set, a
 * recency stack of wmax slots (wmax = the array's largest requested way
 * count), most recent first, each slot one 64-bit word (so a set of 8
 * ways is one cache line):
 *   OP_VALID | OP_GLOBAL or PCID << OP_PCID_SHIFT | ps << OP_PS_SHIFT | VPN
 * (a global entry serves every PCID, so its PCID field is 0), or 0: a hole
 * (an invalid way in every cache of more ways than its depth).  The VPN
 * field keeps the low 48 bits of va >> shift, which identify the page of
 * any canonical address (bits 63..56 of va equal); a non-canonical address
 * has no translation.  Two histograms per family, summed over CPUs:
 *   hist[kind][d]  lookups of that kind whose translation was at depth d
 *                  (0-based; d = wmax: deeper, or absent);
 *   evict[d]       fills by min(depth, first hole): a fill evicts in a
 *                  W-way set iff that minimum is >= W.
 * Invariant: for every requested W <= wmax, the first W slots of a stack,
 * holes included, are exactly what a W-way LRU set of that geometry holds
 * (a hole where the set has an invalid way), in recency order.
 *
 * Configuration i's counts are then sums over its arrays: misses of kind k
 * = lookups found nowhere + sum over depths >= W of hist, evictions the
 * same over evict -- so k configurations cost one stack update per family
 * per lookup, plus O(k) at the end. */
#include "mmusim/onepass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_VALID (1ull << 63)
#define OP_GLOBAL (1ull << 62)
#define OP_PCID_SHIFT 50                               /* PCIDs are 12 bits: 50..61 */
#define OP_PCID_MASK (0xFFFull << OP_PCID_SHIFT)
#define OP_PS_SHIFT 48                                 /* page-size index: 48..49 */
#define OP_VPN_MASK ((1ull << OP_PS_SHIFT) - 1)
#define OP_KINDS 3                  /* mm_kind values */
#define OP_L1S 2                    /* [0] iTLB, [1] dTLB, as mmu_tap's l1 */

typedef struct op_family {
    unsigned sets;       /* power of two */
    uint64_t *slot;      /* [cpus][sets][wmax] */
    uint64_t *hist;      /* [OP_KINDS][wmax + 1] */
    uint64_t *evict;     /* [wmax + 1] */
} op_family;

typedef struct op_array {
    unsigned holds;      /* MM_PS_BIT set; 0: the array is absent */
    unsigned wmax;       /* largest requested ways: the stacks' depth */
    unsigned nfam;
    op_family *fam;
    unsigned coarsest;   /* the family with the fewest sets */
    unsigned *last;      /* [cpus][nfam]: the evict[] index of the CPU's last fill here */
} op_array;

typedef struct op_l1 {
    bool on;                           /* the configurations differ in this L1: simulate it */
    op_array arr[MM_PS_COUNT];         /* by slot */
    int slot_of[MM_PS_COUNT];          /* the slot holding page size ps, or -1 */
    unsigned shift[MM_PS_COUNT];       /* page shift of size ps: 12, large_shift, 30 */
    unsigned *used;                    /* [cpus]: bit a set once array a had a fill on that CPU
                                          (before, its stacks are all holes: nothing to look at) */
    uint64_t nowhere[OP_KINDS];        /* lookups of a size no array holds, or faults found in no stack */
} op_l1;

/* Where configuration i sits: per L1 and slot, its family and its ways. */
typedef struct op_point {
    unsigned fam[OP_L1S][MM_PS_COUNT];
    unsigned ways[OP_L1S][MM_PS_COUNT];
} op_point;

/* A CPU's last reported lookup, if it filled: the array it filled, whose
 * `last` indices undo its evictions should its fill never land. */
typedef struct op_cpu {
    op_array *filled;    /* NULL: the last lookup filled nothing */
} op_cpu;

struct onepass {
    unsigned cpus;
    op_cpu *cpu;         /* [cpus] */
    op_l1 l1[OP_L1S];
    op_point *pt;
    size_t npt;
    bool exact;          /* every event so far fitted the model */
    mmu_tap tap;
};

/* ---- applicability ------------------------------------------------------ */

/* The keys one-pass may vary: {itlb,dtlb}.{4k,2m,1g}.{sets,ways}. */
static bool op_geometry_key(const char *key)
{
    if (strncmp(key, "itlb.", 5) != 0 && strncmp(key, "dtlb.", 5) != 0)
        return false;
    key += 5;
    if (strncmp(key, "4k.", 3) != 0 && strncmp(key, "2m.", 3) != 0 && strncmp(key, "1g.", 3) != 0)
        return false;
    return !strcmp(key + 3, "sets") || !strcmp(key + 3, "ways");
}

/* A config's non-geometry keys and values, in table order. */
typedef struct op_keys {
    char **kv;           /* "key=value" */
    size_t n, cap;
} op_keys;

static void op_keys_add(const char *key, const char *value, void *ctx)
{
    op_keys *k = ctx;
    if (op_geometry_key(key))
        return;
    size_t len = strlen(key) + strlen(value) + 2;
    char *s = mm_xmalloc(len);
    snprintf(s, len, "%s=%s", key, value);
    mm_grow(&k->kv, &k->cap, k->n, sizeof *k->kv, 128);
    k->kv[k->n++] = s;
}

static void op_keys_free(op_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->kv[i]);
    free(k->kv);
}

/* The first non-geometry key=value where a and b differ, or NULL (equal). */
static char *op_first_difference(const mm_config *a, const mm_config *b, char *buf, size_t len)
{
    op_keys ka = {0}, kb = {0};
    cfg_foreach(a, op_keys_add, &ka);
    cfg_foreach(b, op_keys_add, &kb);
    char *diff = NULL;
    for (size_t i = 0; i < ka.n || i < kb.n; i++)
        if (i >= ka.n || i >= kb.n || strcmp(ka.kv[i], kb.kv[i]) != 0) {
            snprintf(buf, len, "%s", i < kb.n ? kb.kv[i] : ka.kv[i]);
            diff = buf;
            break;
        }
    op_keys_free(&ka);
    op_keys_free(&kb);
    return diff;
}

static const tlb_cfg *op_l1_cfg(const mm_config *c, unsigned l1)
{
    return l1 ? &c->dtlb.tlb : &c->itlb.tlb;
}

/* True when some configuration's L1 `l1` has another geometry than cfgs[0]'s. */
static bool op_l1_varies(const mm_config *cfgs, size_t k, unsigned l1)
{
    const tlb_cfg *t0 = op_l1_cfg(&cfgs[0], l1);
    for (size_t i = 1; i < k; i++) {
        const tlb_cfg *t = op_l1_cfg(&cfgs[i], l1);
        for (unsigned a = 0; a < MM_PS_COUNT; a++)
            if (t->array[a].sets != t0->array[a].sets || t->array[a].ways != t0->array[a].ways)
                return true;
    }
    return false;
}

static bool op_why(char *why, size_t len, const char *fmt, const char *arg)
{
    if (why && len)
        snprintf(why, len, fmt, arg);
    return false;
}

bool onepass_applies(const mm_config *cfgs, size_t k, char *why, size_t whylen)
{
    static const char *const l1_name[OP_L1S] = {"itlb", "dtlb"};
    char diff[512];
    if (k < 2)
        return op_why(why, whylen, "%s", "fewer than two configurations");
    for (size_t i = 1; i < k; i++)
        if (op_first_difference(&cfgs[0], &cfgs[i], diff, sizeof diff))
            return op_why(why, whylen, "the configurations differ in %s, not only in L1 TLB sets and ways", diff);
    if (!op_l1_varies(cfgs, k, 0) && !op_l1_varies(cfgs, k, 1))
        return op_why(why, whylen, "%s", "the configurations do not differ in L1 TLB geometry");
    if (cfgs[0].frontend.max_outstanding != 1)
        return op_why(why, whylen, "%s", "frontend.max_outstanding is not 1 (a non-blocking core)");
    if (cfgs[0].stlb_inclusive)
        return op_why(why, whylen, "%s", "stlb.inclusive is true (back-invalidations follow the L1 misses)");
    for (unsigned l1 = 0; l1 < OP_L1S; l1++) {
        if (!op_l1_varies(cfgs, k, l1))
            continue;
        for (unsigned a = 0; a < MM_PS_COUNT; a++) {
            bool present = op_l1_cfg(&cfgs[0], l1)->array[a].ways > 0;
            for (size_t i = 0; i < k; i++) {
                const tlb_array_cfg *ac = &op_l1_cfg(&cfgs[i], l1)->array[a];
                if ((ac->ways > 0) != present)
                    return op_why(why, whylen, "an array of the %s is absent (ways 0) in some configurations only",
                                  l1_name[l1]);
                if (present && ac->repl != REPL_LRU)
                    return op_why(why, whylen, "the %s's replacement is not LRU", l1_name[l1]);
            }
        }
    }
    return true;
}

/* ---- the stacks --------------------------------------------------------- */

/* The slot word of page vpn (of size index ps) for PCID pcid, or global. */
static inline uint64_t op_key(uint64_t vpn, int ps, uint16_t pcid, bool global)
{
    uint64_t k = OP_VALID | (uint64_t)ps << OP_PS_SHIFT | (vpn & OP_VPN_MASK);
    return global ? k | OP_GLOBAL : k | ((uint64_t)pcid << OP_PCID_SHIFT & OP_PCID_MASK);
}

static inline uint64_t op_entry_key(const tlb_entry *e, int ps)
{
    return op_key(e->vpn, ps, e->pcid, (e->perm & TLB_G) != 0);
}

/* Canonical for 57-bit (so for 48-bit) addressing: the only addresses
 * that translate, and the ones whose VPNs the 48-bit field keeps apart. */
static inline bool op_canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 7) >> 7) == va;
}

/* The depth of the first slot equal to a or b in the stack k of w slots
 * (w: none), and in *hole the first hole above it (w: none). */
static inline unsigned op_find(const uint64_t *k, unsigned w, uint64_t a, uint64_t b, unsigned *hole)
{
    unsigned h = w;
    for (unsigned i = 0; i < w; i++) {
        if (k[i] == a || k[i] == b) {
            *hole = h;
            return i;
        }
        if (k[i] == 0 && h == w)
            h = i;
    }
    *hole = h;
    return w;
}

/* Make key the most recent, given its depth p and the first hole h above
 * it: slots above push down to the first hole, which they fill (then the
 * entry's old slot becomes a hole), else to the entry's old slot (else
 * the deepest slot falls off). */
static inline void op_to_top(uint64_t *k, unsigned w, unsigned p, unsigned h, uint64_t key)
{
    unsigned q = h < p ? h : (p < w ? p : w - 1);
    for (unsigned i = q; i > 0; i--)   /* a few slots: a loop beats a memmove call */
        k[i] = k[i - 1];
    if (h < p && p < w)
        k[p] = 0;
    k[0] = key;
}

static inline uint64_t *op_set(const op_array *A, const op_family *F, unsigned cpu, uint64_t vpn)
{
    return F->slot + ((size_t)cpu * F->sets + (size_t)(vpn & (F->sets - 1))) * A->wmax;
}

/* Does any stack of array A on this CPU hold a translation of a size
 * other than `skip` (-1: any size) that a lookup of va with pcid would
 * match?  (The real TLB would have found it there.) */
static bool op_array_matches(const op_l1 *L, const op_array *A, unsigned cpu, uint64_t va, uint16_t pcid, int skip)
{
    for (int ps = 0; ps < MM_PS_COUNT; ps++) {
        if (!(A->holds & MM_PS_BIT(ps)) || ps == skip)
            continue;
        uint64_t vpn = va >> L->shift[ps];
        uint64_t kn = op_key(vpn, ps, pcid, false), kg = op_key(vpn, ps, 0, true);
        for (unsigned f = 0; f < A->nfam; f++) {
            unsigned h;
            if (op_find(op_set(A, &A->fam[f], cpu, vpn), A->wmax, kn, kg, &h) < A->wmax)
                return true;
        }
    }
    return false;
}

/* Would tlb_insert of global `key` overwrite, in place, an entry of the
 * same page of another PCID in some family?  (Not a stack move.) */
static bool op_global_replaces(const op_array *A, unsigned cpu, uint64_t vpn, uint64_t key)
{
    const uint64_t page = key & ~(OP_GLOBAL | OP_PCID_MASK);
    for (unsigned f = 0; f < A->nfam; f++) {
        const uint64_t *k = op_set(A, &A->fam[f], cpu, vpn);
        for (unsigned i = 0; i < A->wmax; i++)
            if (k[i] != key && (k[i] & ~(OP_GLOBAL | OP_PCID_MASK)) == page && k[i])
                return true;
    }
    return false;
}

/* An access left `now` in the L1: a lookup at its depth in each family,
 * then it is the most recent. */
static void op_fill(onepass *op, op_l1 *L, unsigned cpu, uint64_t va, uint16_t pcid, mm_kind kind,
                    const tlb_entry *now)
{
    int ps = mm_ps_of_shift(now->shift);
    int slot = ps >= 0 && L->shift[ps] == now->shift ? L->slot_of[ps] : -1;
    if (!op_canonical(va)) {
        op->exact = false;       /* cannot be: no translation */
        return;
    }
    /* A translation of another size for the same address (in another
     * array, or another size of this one) would have been found first. */
    unsigned others = L->used[cpu] & ~(slot >= 0 ? 1u << slot : 0u);
    for (int a = 0; others >> a; a++)
        if ((others >> a & 1) && op_array_matches(L, &L->arr[a], cpu, va, pcid, -1))
            op->exact = false;
    if (slot >= 0 && (L->arr[slot].holds & (L->arr[slot].holds - 1)) &&
        op_array_matches(L, &L->arr[slot], cpu, va, pcid, ps))
        op->exact = false;
    if (slot < 0) {
        L->nowhere[kind]++;      /* a size this L1 does not cache: the fill is a no-op */
        return;
    }
    op_array *A = &L->arr[slot];
    const unsigned w = A->wmax;
    const uint64_t key = op_entry_key(now, ps);
    L->used[cpu] |= 1u << slot;
    /* Slot 0 of a set holds its last filled translation while that stays
     * valid.  A set of the coarsest family is a union of sets of every
     * finer one (set counts are powers of two), so the translation last
     * filled there was last filled in its finer sets too: depth 0
     * everywhere.  Depth 0 is a hit and no eviction for every W >= 1 and
     * moves nothing: nothing to do. */
    if (*op_set(A, &A->fam[A->coarsest], cpu, now->vpn) == key)
        return;
    /* The lookup matches its PCID's entry or a global one. */
    const uint64_t kn = op_key(now->vpn, ps, pcid, false), kg = op_key(now->vpn, ps, 0, true);
    for (unsigned f = 0; f < A->nfam; f++) {
        op_family *F = &A->fam[f];
        uint64_t *k = op_set(A, F, cpu, now->vpn);
        unsigned p = 0, e = 0;
        if (k[0] != key) {   /* else the most recent already: nothing moves */
            unsigned h;
            p = op_find(k, w, kn, kg, &h);
            if (p < w && k[p] != key)
                op->exact = false;   /* the lookup found another translation than the one left */
            e = p < h ? p : h;
            op_to_top(k, w, p, h, key);
        }
        F->hist[kind * (w + 1) + p]++;
        F->evict[e]++;
        A->last[(size_t)cpu * A->nfam + f] = e;
    }
    op->cpu[cpu].filled = A;
    if ((key & OP_GLOBAL) && op_global_replaces(A, cpu, now->vpn, key))
        op->exact = false;
}

/* An access faulted: its lookup hit or missed like any other, and an
 * entry it hit was unusable and is gone (a hole).  The lookup counts
 * against the first array (in probe order) that holds a match anywhere;
 * found in none, it missed in every configuration. */
static void op_fault(onepass *op, op_l1 *L, unsigned cpu, uint64_t va, uint16_t pcid, mm_kind kind)
{
    bool counted = false;
    for (int a = 0; op_canonical(va) && a < MM_PS_COUNT; a++) {
        op_array *A = &L->arr[a];
        if (!(L->used[cpu] >> a & 1) || !op_array_matches(L, A, cpu, va, pcid, -1))
            continue;
        if (counted) {
            op->exact = false;   /* matches in two arrays: not a consistent hierarchy */
            continue;
        }
        counted = true;
        const unsigned w = A->wmax;
        for (unsigned f = 0; f < A->nfam; f++) {
            op_family *F = &A->fam[f];
            unsigned depth = w;
            for (int ps = 0; ps < MM_PS_COUNT; ps++) {
                if (!(A->holds & MM_PS_BIT(ps)))
                    continue;
                uint64_t vpn = va >> L->shift[ps];
                uint64_t *k = op_set(A, F, cpu, vpn);
                unsigned h, p = op_find(k, w, op_key(vpn, ps, pcid, false), op_key(vpn, ps, 0, true), &h);
                if (p < w) {
                    if (depth < w)
                        op->exact = false;   /* two sizes of one address in one array */
                    k[p] = 0;
                    depth = p;
                }
            }
            F->hist[kind * (w + 1) + depth]++;
        }
    }
    if (!counted)
        L->nowhere[kind]++;
}

/* ---- the tap ------------------------------------------------------------ */

static void op_on_lookup(void *ctx, unsigned cpu, unsigned l1, uint64_t va, uint16_t pcid, mm_kind kind,
                         const tlb_entry *now, const mmu_result *out)
{
    onepass *op = ctx;
    op_l1 *L = &op->l1[l1];
    if (!L->on || cpu >= op->cpus)
        return;
    op->cpu[cpu].filled = NULL;
    if (now)
        op_fill(op, L, cpu, va, pcid, kind, now);
    else if (out->fault)
        op_fault(op, L, cpu, va, pcid, kind);
    else
        op->exact = false;   /* merged into a walk in flight: not a blocking core */
}

/* Does slot word s go in flush f (of every size but VA's)? */
static inline bool op_flushed(const mmu_flush *f, uint64_t s)
{
    switch (f->kind) {
    case MMU_FLUSH_ALL:
        return true;
    case MMU_FLUSH_NONGLOBAL:
        return !(s & OP_GLOBAL);
    case MMU_FLUSH_PCID:
        return !(s & OP_GLOBAL) && (s & OP_PCID_MASK) >> OP_PCID_SHIFT == f->pcid;
    case MMU_FLUSH_VA:
        break;
    }
    return false;
}

static void op_flush_array(const op_l1 *L, op_array *A, unsigned cpu, const mmu_flush *f)
{
    const unsigned w = A->wmax;
    for (unsigned i = 0; i < A->nfam; i++) {
        op_family *F = &A->fam[i];
        if (f->kind != MMU_FLUSH_VA) {
            uint64_t *k = F->slot + (size_t)cpu * F->sets * w;
            for (size_t s = 0; s < (size_t)F->sets * w; s++)
                if (k[s] && op_flushed(f, k[s]))
                    k[s] = 0;
            continue;
        }
        /* INVLPG / INVPCID 0: the one set per size that could hold the
         * page: its PCID's entry, and with include_global the global one. */
        if (!op_canonical(f->va))
            return;
        for (int ps = 0; ps < MM_PS_COUNT; ps++) {
            if (!(A->holds & MM_PS_BIT(ps)))
                continue;
            uint64_t vpn = f->va >> L->shift[ps];
            uint64_t kn = op_key(vpn, ps, f->pcid, false), kg = f->include_global ? op_key(vpn, ps, 0, true) : 0;
            uint64_t *k = op_set(A, F, cpu, vpn);
            for (unsigned s = 0; s < w; s++)
                if (k[s] == kn || (kg && k[s] == kg))
                    k[s] = 0;
        }
    }
}

/* The replay ended: a last fill that never landed evicted nothing. */
static void op_on_end(void *ctx, unsigned cpu, bool landed)
{
    onepass *op = ctx;
    if (cpu >= op->cpus || landed || !op->cpu[cpu].filled)
        return;
    op_array *A = op->cpu[cpu].filled;
    for (unsigned f = 0; f < A->nfam; f++)
        A->fam[f].evict[A->last[(size_t)cpu * A->nfam + f]]--;
    op->cpu[cpu].filled = NULL;
}

static void op_on_flush(void *ctx, unsigned cpu, const mmu_flush *f)
{
    onepass *op = ctx;
    if (cpu >= op->cpus)
        return;
    for (unsigned l1 = 0; l1 < OP_L1S; l1++) {
        op_l1 *L = &op->l1[l1];
        for (unsigned a = 0; L->on && a < MM_PS_COUNT; a++)
            if (L->used[cpu] >> a & 1)
                op_flush_array(L, &L->arr[a], cpu, f);
    }
}

/* ---- create / free ------------------------------------------------------ */

/* The family of set count `sets` in A, added if new. */
static unsigned op_family_of(op_array *A, unsigned sets)
{
    for (unsigned f = 0; f < A->nfam; f++)
        if (A->fam[f].sets == sets)
            return f;
    if (sets < A->fam[A->coarsest].sets)
        A->coarsest = A->nfam;
    A->fam[A->nfam].sets = sets;
    return A->nfam++;
}

static int op_array_alloc(op_array *A, unsigned cpus)
{
    if (!(A->last = calloc((size_t)cpus * A->nfam, sizeof *A->last)))
        return -1;
    for (unsigned f = 0; f < A->nfam; f++) {
        op_family *F = &A->fam[f];
        F->slot = calloc((size_t)cpus * F->sets * A->wmax, sizeof *F->slot);
        F->hist = calloc((size_t)OP_KINDS * (A->wmax + 1), sizeof *F->hist);
        F->evict = calloc(A->wmax + 1, sizeof *F->evict);
        if (!F->slot || !F->hist || !F->evict)
            return -1;
    }
    return 0;
}

/* Set up L1 `l1` from cfgs[0..k): its arrays, each with one family per
 * distinct set count and the largest way count; each point's place. */
static int op_l1_init(onepass *op, const mm_config *cfgs, size_t k, unsigned l1)
{
    op_l1 *L = &op->l1[l1];
    const tlb_cfg *t0 = op_l1_cfg(&cfgs[0], l1);
    L->shift[MM_PS_4K] = 12;
    L->shift[MM_PS_2M] = t0->large_shift;
    L->shift[MM_PS_1G] = 30;
    for (int ps = 0; ps < MM_PS_COUNT; ps++)
        L->slot_of[ps] = -1;
    if (!(L->used = calloc(op->cpus, sizeof *L->used)))
        return -1;
    for (unsigned a = 0; a < MM_PS_COUNT && a < t0->narrays; a++) {
        if (t0->array[a].ways == 0)
            continue;   /* absent in every configuration (onepass_applies) */
        op_array *A = &L->arr[a];
        A->holds = t0->array[a].holds;
        for (int ps = 0; ps < MM_PS_COUNT; ps++)
            if (A->holds & MM_PS_BIT(ps))
                L->slot_of[ps] = (int)a;
        if (!(A->fam = calloc(k, sizeof *A->fam)))
            return -1;
        for (size_t i = 0; i < k; i++) {
            const tlb_array_cfg *ac = &op_l1_cfg(&cfgs[i], l1)->array[a];
            op->pt[i].fam[l1][a] = op_family_of(A, ac->sets);
            op->pt[i].ways[l1][a] = ac->ways;
            if (ac->ways > A->wmax)
                A->wmax = ac->ways;
        }
        if (op_array_alloc(A, op->cpus) != 0)
            return -1;
    }
    return 0;
}

onepass *onepass_create(const mm_config *cfgs, size_t k)
{
    onepass *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->cpus = cfgs[0].cpu.cpus;
    op->exact = true;
    op->npt = k;
    op->pt = calloc(k, sizeof *op->pt);
    op->cpu = calloc(op->cpus, sizeof *op->cpu);
    if (!op->pt || !op->cpu) {
        onepass_free(op);
        return NULL;
    }
    for (unsigned l1 = 0; l1 < OP_L1S; l1++) {
        op->l1[l1].on = op_l1_varies(cfgs, k, l1);
        if (op->l1[l1].on && op_l1_init(op, cfgs, k, l1) != 0) {
            onepass_free(op);
            return NULL;
        }
    }
    op->tap = (mmu_tap){.lookup = op_on_lookup, .flush = op_on_flush, .end = op_on_end, .ctx = op,
                        .l1 = {op->l1[0].on, op->l1[1].on}};
    return op;
}

void onepass_free(onepass *op)
{
    if (!op)
        return;
    for (unsigned l1 = 0; l1 < OP_L1S; l1++)
        for (unsigned a = 0; a < MM_PS_COUNT; a++) {
            op_array *A = &op->l1[l1].arr[a];
            for (unsigned f = 0; A->fam && f < A->nfam; f++) {
                free(A->fam[f].slot);
                free(A->fam[f].hist);
                free(A->fam[f].evict);
            }
            free(A->fam);
            free(A->last);
        }
    for (unsigned l1 = 0; l1 < OP_L1S; l1++)
        free(op->l1[l1].used);
    free(op->pt);
    free(op->cpu);
    free(op);
}

const mmu_tap *onepass_tap(onepass *op)
{
    return &op->tap;
}

bool onepass_exact(const onepass *op)
{
    return op->exact;
}

/* ---- results ------------------------------------------------------------ */

/* L1 misses by kind and evictions of configuration i. */
static void op_l1_counts(const onepass *op, size_t i, unsigned l1, uint64_t miss[OP_KINDS], uint64_t *evict)
{
    const op_l1 *L = &op->l1[l1];
    for (unsigned kd = 0; kd < OP_KINDS; kd++)
        miss[kd] = L->nowhere[kd];
    *evict = 0;
    for (unsigned a = 0; a < MM_PS_COUNT; a++) {
        const op_array *A = &L->arr[a];
        if (!A->holds)
            continue;
        const op_family *F = &A->fam[op->pt[i].fam[l1][a]];
        for (unsigned d = op->pt[i].ways[l1][a]; d <= A->wmax; d++) {
            for (unsigned kd = 0; kd < OP_KINDS; kd++)
                miss[kd] += F->hist[kd * (A->wmax + 1) + d];
            *evict += F->evict[d];
        }
    }
}

/* What a row does with a counter of the tapped replay. */
enum { OP_DROP = 0, OP_COPY, OP_COMPUTE };

/* Counters no L1 geometry changes (onepass.h says why); a name ending in
 * '*' is a prefix. */
static const char *const op_copied[] = {
    "translations", "dTLB-loads", "dTLB-stores", "iTLB-loads",   /* one lookup per access and retry */
    "page-faults", "walker.faults", "faults.*",                  /* faults: the page tables' */
    "flush.cr3", "flush.cr3_noflush", "flush.invlpg", "flush.invpcid_*", "flush.full",
    "flush.asid_recycles",                                       /* OS events */
    "instructions", "minor-faults", "major-faults", "rss.*", "pagetable.*", "thp.*", "os.*", "frames.*",
};

/* The counters of each L1 the stacks give (copied when its geometry is fixed). */
static const char *const op_l1_names[OP_L1S][5] = {
    {"iTLB-load-misses", "itlb.hits", "itlb.misses", "itlb.evictions", NULL},
    {"dTLB-load-misses", "dTLB-store-misses", "dtlb.hits", "dtlb.misses", "dtlb.evictions"},
};

static bool op_name_in(const char *name, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(name, pattern, n - 1) == 0;
    return strcmp(name, pattern) == 0;
}

static int op_class(const onepass *op, const char *name, unsigned *l1)
{
    for (unsigned j = 0; j < OP_L1S; j++)
        for (unsigned i = 0; i < 5 && op_l1_names[j][i]; i++)
            if (!strcmp(name, op_l1_names[j][i])) {
                *l1 = j;
                return op->l1[j].on ? OP_COMPUTE : OP_COPY;
            }
    for (size_t i = 0; i < sizeof op_copied / sizeof *op_copied; i++)
        if (op_name_in(name, op_copied[i]))
            return OP_COPY;
    return OP_DROP;
}

bool onepass_counters(const onepass *op, size_t i, const stats *tapped, stats *out)
{
    if (!op->exact || i >= op->npt || stats_get(tapped, "os.reclaims", NULL) != 0)
        return false;
    uint64_t miss[OP_L1S][OP_KINDS] = {{0}}, evict[OP_L1S] = {0};
    for (unsigned l1 = 0; l1 < OP_L1S; l1++)
        if (op->l1[l1].on)
            op_l1_counts(op, i, l1, miss[l1], &evict[l1]);
    /* Lookups are fixed; hits are the lookups that did not miss. */
    const uint64_t lookups[OP_L1S] = {
        stats_get(tapped, "iTLB-loads", NULL),
        stats_get(tapped, "dTLB-loads", NULL) + stats_get(tapped, "dTLB-stores", NULL),
    };
    for (size_t j = 0; j < stats_count(tapped); j++) {
        const char *name = stats_name(tapped, j);
        unsigned l1 = 0;
        int c = op_class(op, name, &l1);
        if (c == OP_DROP)
            continue;
        uint64_t v = stats_value(tapped, j);
        if (c == OP_COMPUTE) {
            const uint64_t *m = miss[l1];
            if (!strcmp(name, "dTLB-load-misses"))
                v = m[MM_LOAD];
            else if (!strcmp(name, "dTLB-store-misses"))
                v = m[MM_STORE];
            else if (!strcmp(name, "iTLB-load-misses"))
                v = m[MM_IFETCH];
            else if (strstr(name, ".evictions"))
                v = evict[l1];
            else if (strstr(name, ".misses"))
                v = m[MM_LOAD] + m[MM_STORE] + m[MM_IFETCH];
            else   /* .hits */
                v = lookups[l1] - (m[MM_LOAD] + m[MM_STORE] + m[MM_IFETCH]);
        }
        stats_add(out, name, v);
    }
    return true;
}

/* ---- the driver --------------------------------------------------------- */

/* Every configuration gives the same event stream: replay the one with
 * the most L1 entries, which misses least and so replays fastest. */
static size_t op_fastest(const mm_config *cfgs, size_t k)
{
    size_t best = 0;
    uint64_t most = 0;
    for (size_t i = 0; i < k; i++) {
        uint64_t n = 0;
        for (unsigned l1 = 0; l1 < OP_L1S; l1++)
            for (unsigned a = 0; a < MM_PS_COUNT; a++)
                n += (uint64_t)op_l1_cfg(&cfgs[i], l1)->array[a].sets * op_l1_cfg(&cfgs[i], l1)->array[a].ways;
        if (n > most) {
            most = n;
            best = i;
        }
    }
    return best;
}

replay_status onepass_replay(const mm_config *cfgs, size_t k, const replay_opts *o, stats **out,
                             replay_status *status, bool *exact, char *err, size_t errlen)
{
    for (size_t i = 0; i < k; i++) {
        out[i] = NULL;
        status[i] = REPLAY_ERROR;
    }
    *exact = false;
    onepass *op = onepass_create(cfgs, k);
    if (!op) {
        mm_errf(err, errlen, "out of host memory");
        return REPLAY_ERROR;
    }
    replay_opts to = *o;
    to.tap = onepass_tap(op);
    stats *tapped = NULL;
    replay_status st0;
    replay_status rs = replay_run_multi(&cfgs[op_fastest(cfgs, k)], 1, &to, &tapped, &st0, err, errlen);
    if (rs != REPLAY_ERROR && rs != REPLAY_STOPPED) {
        bool ok = true;
        for (size_t i = 0; i < k && ok; i++) {
            if (!(out[i] = stats_create())) {
                rs = REPLAY_ERROR;
                mm_errf(err, errlen, "out of host memory");
                break;
            }
            ok = onepass_counters(op, i, tapped, out[i]);
            status[i] = st0;
        }
        *exact = ok && rs != REPLAY_ERROR;
        if (!*exact)
            for (size_t i = 0; i < k; i++) {
                stats_free(out[i]);
                out[i] = NULL;
                status[i] = REPLAY_ERROR;
            }
    }
    stats_free(tapped);
    onepass_free(op);
    return rs;
}
