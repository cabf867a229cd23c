/* tlb.c -- one level of translation lookaside buffer (see tlb.h).
 *
 * Storage is structure-of-arrays per array, slot = set * ways + way:
 *   key[slot]  TLB_KEY_VALID | vpn << 6 | shift, or 0 when the slot is invalid.
 *              A VA is 64 bits, so vpn < 2^52 and the packed field is < 2^58:
 *              bit 63 is free for the valid bit and distinct (vpn, shift)
 *              pairs never share a key.
 *   ptag[slot] pcid | mask << 16, where mask is 0xFFFF for a non-global entry
 *              and 0 for a global one, so "pcid matches or entry is global"
 *              is ((ptag ^ pcid) & (ptag >> 16)) == 0: no branch on TLB_G.
 *   ent[slot]  the entry as inserted; what lookups hand back.  Its contents
 *              mean nothing while key[slot] == 0.
 * key/ptag are the only arrays a lookup scans; ent is read on a hit only.
 *
 * A lookup walks a precomputed probe list, one (array, shift) pair per size
 * held, in config order and ascending size within an array, so the hot path
 * is at most MM_PS_COUNT set scans with no decoding of `holds`.
 *
 * Duplicates: tlb_insert overwrites the lowest entry of the same page that is
 * of the same PCID or where either entry is global, so a page has at most one
 * entry per PCID and at most one global entry.  Non-global entries of several
 * PCIDs may coexist; a global insert then replaces the lowest of them and the
 * others stay.  Lookups take the lowest matching way, so the answer is
 * deterministic in that (software-bug) case as well. */
#include "mmusim/tlb.h"

#include <assert.h>
#include <stdlib.h>

#include "base/rng.h"
#include "repl.h"

#define TLB_KEY_VALID (1ull << 63)
#define TLB_KEY_VPN_BITS 57          /* vpn field width: bits 6..62 */
#define TLB_PTAG_LOCAL 0xFFFF0000u   /* ptag mask half of a non-global entry */
#define TLB_MAX_WAYS 64              /* repl.h keeps a set's PLRU tree in one uint64_t */

struct tlb_array {
    unsigned ways;
    uint64_t set_mask;   /* sets - 1 (sets is a power of two) */
    size_t nslots;       /* sets * ways */
    repl *repl;
    uint64_t *key;       /* nslots */
    uint32_t *ptag;      /* nslots */
    tlb_entry *ent;      /* nslots */
};

/* One (array, page shift) pair a lookup must try. */
struct tlb_probe {
    struct tlb_array *a;
    unsigned shift;
};

struct tlb {
    tlb_cfg cfg;
    unsigned narr;                          /* present arrays, config order */
    struct tlb_array arr[MM_PS_COUNT];
    unsigned nprobe;                        /* = number of sizes held */
    struct tlb_probe probe[MM_PS_COUNT];    /* lookup order */
    struct tlb_array *ps_arr[MM_PS_COUNT];  /* array holding size ps, or NULL */
    unsigned ps_shift[MM_PS_COUNT];         /* 12, large_shift, 30 */
};

static inline uint64_t tlb_key(uint64_t vpn, unsigned shift)
{
    return TLB_KEY_VALID | vpn << 6 | shift;
}

static inline uint32_t tlb_ptag(uint16_t pcid, unsigned perm)
{
    return pcid | ((perm & TLB_G) ? 0u : TLB_PTAG_LOCAL);
}

static inline bool tlb_ptag_global(uint32_t ptag)
{
    return (ptag & TLB_PTAG_LOCAL) == 0;
}

/* Entry `pt` translates for `pcid`: same PCID, or global. */
static inline bool tlb_ptag_matches(uint32_t pt, uint16_t pcid)
{
    return ((pt ^ pcid) & (pt >> 16)) == 0;
}

/* Probe set `set` of array a for key k and pcid: the lowest matching way,
 * or -1 on a miss.  Scanning from way 0 and stopping at the first match
 * gives that way directly: a hit costs about half a set's compares, which
 * matters on the replay hot path (the L1 hit). */
static inline int tlb_set_match(const struct tlb_array *a, uint64_t set, uint64_t k, uint16_t pcid)
{
    size_t base = (size_t)set * a->ways;
    const uint64_t *key = &a->key[base];
    const uint32_t *pt = &a->ptag[base];
    for (unsigned w = 0; w < a->ways; w++)
        if (key[w] == k && tlb_ptag_matches(pt[w], pcid))
            return (int)w;
    return -1;
}

/* The matching code tlb_lookup and tlb_probe share: first (array, size) in
 * probe order whose set holds a translation of va for pcid.  On a hit
 * returns the array and writes the set and way. */
static inline struct tlb_array *tlb_find(const tlb *t, uint64_t va, uint16_t pcid,
                                         unsigned *set, unsigned *way)
{
    for (unsigned i = 0; i < t->nprobe; i++) {
        const struct tlb_probe *p = &t->probe[i];
        uint64_t vpn = va >> p->shift;
        uint64_t s = vpn & p->a->set_mask;
        int w = tlb_set_match(p->a, s, tlb_key(vpn, p->shift), pcid);
        if (w >= 0) {
            *set = (unsigned)s;
            *way = (unsigned)w;
            return p->a;
        }
    }
    return NULL;
}

const tlb_entry *tlb_lookup(tlb *t, uint64_t va, uint16_t pcid)
{
    unsigned set, way;
    struct tlb_array *a = tlb_find(t, va, pcid, &set, &way);
    if (!a)
        return NULL;
    repl_touch(a->repl, set, way);
    return &a->ent[(size_t)set * a->ways + way];
}

const tlb_entry *tlb_probe(const tlb *t, uint64_t va, uint16_t pcid)
{
    unsigned set, way;
    const struct tlb_array *a = tlb_find(t, va, pcid, &set, &way);
    return a ? &a->ent[(size_t)set * a->ways + way] : NULL;
}

/* ---- Configuration ---- */

/* Static messages naming the array slot: tlb_cfg_check returns them as is. */
_Static_assert(MM_PS_COUNT == 3, "one message per array slot");
#define TLB_ARRAY_MSG(what) {"array 0: " what, "array 1: " what, "array 2: " what}

const char *tlb_cfg_check(const tlb_cfg *cfg)
{
    static const char *const bad_sets[] = TLB_ARRAY_MSG("sets must be a power of two");
    static const char *const bad_ways[] = TLB_ARRAY_MSG("ways must be 0 (absent) to 64");
    static const char *const bad_repl[] = TLB_ARRAY_MSG("unknown replacement policy");
    static const char *const bad_holds[] = TLB_ARRAY_MSG("holds must be a nonempty set of 4k, 2m, 1g");
    static const char *const dup_holds[] = TLB_ARRAY_MSG("holds a page size an earlier array holds");

    if (cfg->narrays < 1 || cfg->narrays > MM_PS_COUNT)
        return "narrays must be 1..3";
    if (cfg->large_shift != 21 && cfg->large_shift != 22)
        return "large_shift must be 21 or 22";
    unsigned seen = 0;
    for (unsigned i = 0; i < cfg->narrays; i++) {
        const tlb_array_cfg *ac = &cfg->array[i];
        if (ac->ways == 0)
            continue;
        if (ac->sets == 0 || (ac->sets & (ac->sets - 1)) != 0)
            return bad_sets[i];
        if (ac->ways > TLB_MAX_WAYS)
            return bad_ways[i];
        if ((unsigned)ac->repl >= REPL_COUNT)
            return bad_repl[i];
        if (ac->holds == 0 || (ac->holds & ~((1u << MM_PS_COUNT) - 1)) != 0)
            return bad_holds[i];
        if (ac->holds & seen)
            return dup_holds[i];
        seen |= ac->holds;
    }
    return NULL;
}

/* Per-array random seed: a splitmix64 step of (seed, index), so arrays of
 * one TLB (and equal arrays of differently seeded TLBs) do not share a
 * victim sequence, and the result depends on nothing but the config. */
static uint64_t tlb_array_seed(uint64_t seed, unsigned i)
{
    return mm_splitmix64_nth(seed, i + 1);
}

tlb *tlb_create(const tlb_cfg *cfg, char *err, size_t errlen)
{
    const char *why = tlb_cfg_check(cfg);
    if (why) {
        mm_errf(err, errlen, "%s: %s", cfg->name ? cfg->name : "tlb", why);
        return NULL;
    }
    tlb *t = mm_xcalloc(1, sizeof *t);
    t->cfg = *cfg;
    t->ps_shift[MM_PS_4K] = 12;
    t->ps_shift[MM_PS_2M] = cfg->large_shift;
    t->ps_shift[MM_PS_1G] = 30;
    for (unsigned i = 0; i < cfg->narrays; i++) {
        const tlb_array_cfg *ac = &cfg->array[i];
        if (ac->ways == 0)
            continue;
        struct tlb_array *a = &t->arr[t->narr++];
        a->ways = ac->ways;
        a->set_mask = ac->sets - 1;
        a->nslots = (size_t)ac->sets * ac->ways;
        a->repl = repl_create(ac->repl, ac->sets, ac->ways, tlb_array_seed(cfg->seed, i));
        a->key = calloc(a->nslots, sizeof *a->key);
        a->ptag = calloc(a->nslots, sizeof *a->ptag);
        a->ent = calloc(a->nslots, sizeof *a->ent);
        if (!a->repl || !a->key || !a->ptag || !a->ent) {
            /* sets x ways come from the config: too large for the host is its error */
            mm_errf(err, errlen, "%s: %zu entries of %u ways: out of host memory", cfg->name ? cfg->name : "tlb",
                    a->nslots, a->ways);
            tlb_free(t);
            return NULL;
        }
        for (int ps = 0; ps < MM_PS_COUNT; ps++) {
            if (!(ac->holds & MM_PS_BIT(ps)))
                continue;
            t->ps_arr[ps] = a;
            t->probe[t->nprobe++] = (struct tlb_probe){a, t->ps_shift[ps]};
        }
    }
    return t;
}

void tlb_free(tlb *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->narr; i++) {
        struct tlb_array *a = &t->arr[i];
        repl_free(a->repl);
        free(a->key);
        free(a->ptag);
        free(a->ent);
    }
    free(t);
}

bool tlb_holds(const tlb *t, int ps)
{
    return ps >= 0 && ps < MM_PS_COUNT && t->ps_arr[ps] != NULL;
}

/* ---- Fill and invalidation ---- */

/* The array that holds entries of e's shift, or NULL.  A shift naming a
 * held size at another width (22 in a TLB whose large_shift is 21) could
 * never be looked up, so it counts as not held. */
static struct tlb_array *tlb_array_for(const tlb *t, unsigned shift)
{
    int ps = mm_ps_of_shift(shift);
    if (ps < 0 || t->ps_shift[ps] != shift)
        return NULL;
    return t->ps_arr[ps];
}

/* Way of set `set` holding "the same translation" as (k, pcid, global):
 * same key and same PCID, or either one global.  -1 if none.  Insert uses
 * it to overwrite in place, remove to find what to back-invalidate. */
static int tlb_set_same(const struct tlb_array *a, uint64_t set, uint64_t k, uint32_t pt)
{
    size_t base = (size_t)set * a->ways;
    for (unsigned w = 0; w < a->ways; w++) {
        uint32_t old = a->ptag[base + w];
        if (a->key[base + w] == k &&
            (old == pt || tlb_ptag_global(old) || tlb_ptag_global(pt)))
            return (int)w;
    }
    return -1;
}

bool tlb_insert(tlb *t, const tlb_entry *e, tlb_entry *victim)
{
    struct tlb_array *a = tlb_array_for(t, e->shift);
    if (!a)
        return false;
    assert(e->vpn < (1ull << TLB_KEY_VPN_BITS));
    uint64_t set = e->vpn & a->set_mask;
    size_t base = (size_t)set * a->ways;
    uint64_t k = tlb_key(e->vpn, e->shift);
    uint32_t pt = tlb_ptag(e->pcid, e->perm);
    bool evicted = false;

    int w = tlb_set_same(a, set, k, pt);
    if (w >= 0) {
        repl_touch(a->repl, (unsigned)set, (unsigned)w);
    } else {
        for (unsigned i = 0; i < a->ways; i++)
            if (a->key[base + i] == 0) {
                w = (int)i;
                break;
            }
        if (w < 0) {
            w = (int)repl_victim(a->repl, (unsigned)set);
            if (victim)
                *victim = a->ent[base + (unsigned)w];
            evicted = true;
        }
        repl_fill(a->repl, (unsigned)set, (unsigned)w);
    }
    a->key[base + (unsigned)w] = k;
    a->ptag[base + (unsigned)w] = pt;
    a->ent[base + (unsigned)w] = *e;
    return evicted;
}

unsigned tlb_remove(tlb *t, const tlb_entry *e)
{
    struct tlb_array *a = tlb_array_for(t, e->shift);
    if (!a)
        return 0;
    uint64_t set = e->vpn & a->set_mask;
    int w = tlb_set_same(a, set, tlb_key(e->vpn, e->shift), tlb_ptag(e->pcid, e->perm));
    if (w < 0)
        return 0;
    a->key[(size_t)set * a->ways + (unsigned)w] = 0;
    return 1;
}

/* Which entries a whole-TLB flush removes. */
enum tlb_flush_kind { TLB_FLUSH_ALL, TLB_FLUSH_NONGLOBAL, TLB_FLUSH_PCID };

static unsigned tlb_flush_where(tlb *t, enum tlb_flush_kind kind, uint16_t pcid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->narr; i++) {
        struct tlb_array *a = &t->arr[i];
        for (size_t s = 0; s < a->nslots; s++) {
            uint32_t pt = a->ptag[s];
            bool hit = a->key[s] != 0 &&
                       (kind == TLB_FLUSH_ALL ||
                        (!tlb_ptag_global(pt) && (kind == TLB_FLUSH_NONGLOBAL || (pt & 0xFFFFu) == pcid)));
            if (hit) {
                a->key[s] = 0;
                n++;
            }
        }
    }
    return n;
}

unsigned tlb_flush_all(tlb *t)
{
    return tlb_flush_where(t, TLB_FLUSH_ALL, 0);
}

unsigned tlb_flush_nonglobal(tlb *t)
{
    return tlb_flush_where(t, TLB_FLUSH_NONGLOBAL, 0);
}

unsigned tlb_flush_pcid(tlb *t, uint16_t pcid)
{
    return tlb_flush_where(t, TLB_FLUSH_PCID, pcid);
}

/* Only the one set per held size that could contain va is scanned. */
unsigned tlb_flush_va(tlb *t, uint64_t va, uint16_t pcid, bool include_global)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->nprobe; i++) {
        const struct tlb_probe *p = &t->probe[i];
        struct tlb_array *a = p->a;
        uint64_t vpn = va >> p->shift;
        size_t base = (size_t)(vpn & a->set_mask) * a->ways;
        uint64_t k = tlb_key(vpn, p->shift);
        for (unsigned w = 0; w < a->ways; w++) {
            uint32_t pt = a->ptag[base + w];
            if (a->key[base + w] != k)
                continue;
            if (tlb_ptag_global(pt) ? include_global : (pt & 0xFFFFu) == pcid) {
                a->key[base + w] = 0;
                n++;
            }
        }
    }
    return n;
}

/* ---- Inspection ---- */

unsigned tlb_occupancy(const tlb *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->narr; i++)
        for (size_t s = 0; s < t->arr[i].nslots; s++)
            n += t->arr[i].key[s] != 0;
    return n;
}

void tlb_foreach(const tlb *t, void (*fn)(const tlb_entry *e, void *ctx), void *ctx)
{
    for (unsigned i = 0; i < t->narr; i++)
        for (size_t s = 0; s < t->arr[i].nslots; s++)
            if (t->arr[i].key[s] != 0)
                fn(&t->arr[i].ent[s], ctx);
}
