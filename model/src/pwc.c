/* pwc.c -- page-walk caches (see pwc.h): split and unified translation caches
 * and the page-table-entry cache of Barr, Cox & Rixner (ISCA 2010).
 *
 * All three designs are built from sa_array (one small set-associative tagged
 * array type), so they share lookup, fill, replacement and flush code:
 *
 *   SPLIT:   arr[L] for L = 2..levels (NULL where level L has ways == 0);
 *            tag = pwc_tag(L, pcid, prefix_L(va)), set from the prefix's low bits.
 *   UNIFIED: arr[0]; the same tags, so entries of different levels never
 *            match each other; set from the low bits of the level's prefix.
 *   PTE:     arr[0]; tag = the entry's physical address; set from
 *            pa >> log2(entry_bytes), i.e. the entry's index in physical
 *            memory, so the consecutive entries of one table (the ones
 *            neighbouring VAs use) spread over consecutive sets.
 *
 * A VA prefix at level L is va bits [va_bits-1 : shift[L]]: the bits above
 * va_bits (the sign extension of a canonical address) are masked off, so an
 * upper-half kernel address has one prefix however it is extended.
 *
 * Translation-cache tag layout (one 64-bit word, compared whole):
 *   bits  0..39  VA prefix (at most 57 - 21 = 36 bits: LA57's level-2 prefix)
 *   bits 40..55  PCID
 *   bits 56..58  level */
#include "mmusim/pwc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sa_array.h"

#define PWC_TAG_PCID_SHIFT 40
#define PWC_TAG_LEVEL_SHIFT 56
#define PWC_TAG_PREFIX_MASK ((1ull << PWC_TAG_PCID_SHIFT) - 1)
#define PWC_MAX_LATENCY 1000u

/* arr[] slot of the one array of UNIFIED and PTE; level slots are 2..5. */
#define PWC_ONE 0

struct pwc {
    pwc_design design;
    const paging_mode *m;
    uint64_t va_mask;        /* low va_bits bits set */
    unsigned pte_shift;      /* PTE: log2(entry_bytes) */
    sa_array *arr[PAGING_MAX_LEVELS + 1];
};

static const char *const pwc_design_names[PWC_DESIGN_COUNT] = {"none", "split", "unified", "pte"};

const char *pwc_design_name(pwc_design d)
{
    return (unsigned)d < PWC_DESIGN_COUNT ? pwc_design_names[d] : "?";
}

int pwc_design_by_name(const char *name)
{
    for (int i = 0; i < PWC_DESIGN_COUNT; i++)
        if (strcmp(name, pwc_design_names[i]) == 0)
            return i;
    return -1;
}

/* ---- config ------------------------------------------------------------ */

/* Messages per array, indexed like arr[]: 0 = "unified", 2..5 = the
 * config key of that level's split cache. */
enum { PWC_ERR_SETS, PWC_ERR_WAYS, PWC_ERR_REPL, PWC_ERR_COUNT };
#define PWC_ARRAY_ERRS(key)                                   \
    {                                                         \
        "pwc." key ".sets must be a power of two",            \
        "pwc." key ".ways must be at most 64",                \
        "pwc." key ".replacement is not a known policy",      \
    }
static const char *const pwc_array_err[PAGING_MAX_LEVELS + 1][PWC_ERR_COUNT] = {
    [PWC_ONE] = PWC_ARRAY_ERRS("unified"),
    [2] = PWC_ARRAY_ERRS("pd"),
    [3] = PWC_ARRAY_ERRS("pdpt"),
    [4] = PWC_ARRAY_ERRS("pml4"),
    [5] = PWC_ARRAY_ERRS("pml5"),
};

/* An absent array (ways 0) has nothing to check: its other keys are unused. */
static const char *pwc_array_check(const pwc_array_cfg *a, unsigned slot)
{
    if (a->ways == 0)
        return NULL;
    if (!sa_is_pow2(a->sets))
        return pwc_array_err[slot][PWC_ERR_SETS];
    if (a->ways > SA_MAX_WAYS)
        return pwc_array_err[slot][PWC_ERR_WAYS];
    if ((unsigned)a->repl >= REPL_COUNT)
        return pwc_array_err[slot][PWC_ERR_REPL];
    return NULL;
}

const char *pwc_cfg_check(const pwc_cfg *cfg, const paging_mode *m)
{
    if ((unsigned)cfg->design >= PWC_DESIGN_COUNT)
        return "pwc.design must be one of none, split, unified, pte";
    if (cfg->latency > PWC_MAX_LATENCY)
        return "pwc.latency must be at most 1000";
    /* Without a mode, check every level a mode could use. */
    unsigned levels = m ? m->levels : PAGING_MAX_LEVELS;
    switch (cfg->design) {
    case PWC_SPLIT:
        for (unsigned l = 2; l <= levels; l++) {
            const char *err = pwc_array_check(&cfg->level[l], l);
            if (err)
                return err;
        }
        return NULL;
    case PWC_UNIFIED:
    case PWC_PTE:
        return pwc_array_check(&cfg->unified, PWC_ONE);
    default:
        return NULL;
    }
}

/* ---- create ------------------------------------------------------------ */

pwc *pwc_create(const pwc_cfg *cfg, const paging_mode *m, char *err, size_t errlen)
{
    const char *why = m ? pwc_cfg_check(cfg, m) : "no paging mode";
    if (why) {
        mm_errf(err, errlen, "pwc: %s", why);
        return NULL;
    }
    /* The prefix of the deepest cached level must fit its tag field. */
    assert(m->va_bits - m->shift[2] <= PWC_TAG_PCID_SHIFT);
    pwc *c = mm_xcalloc(1, sizeof *c);
    c->design = cfg->design;
    c->m = m;
    c->va_mask = m->va_bits >= 64 ? UINT64_MAX : (1ull << m->va_bits) - 1;
    c->pte_shift = m->entry_bytes == 4 ? 2 : 3;

    const pwc_array_cfg *a;
    switch (cfg->design) {
    case PWC_SPLIT:
        for (unsigned l = 2; l <= m->levels; l++) {
            a = &cfg->level[l];
            if (a->ways == 0)
                continue;
            c->arr[l] = sa_create(a->sets, a->ways, a->repl, sa_seed(cfg->seed, l));
            if (!c->arr[l])
                goto fail;
        }
        break;
    case PWC_UNIFIED:
    case PWC_PTE:
        a = &cfg->unified;
        if (a->ways == 0)
            break;
        c->arr[PWC_ONE] = sa_create(a->sets, a->ways, a->repl, sa_seed(cfg->seed, PWC_ONE));
        if (!c->arr[PWC_ONE])
            goto fail;
        break;
    default:
        break;
    }
    return c;
fail:   /* sets x ways come from the config: too large for the host is its error */
    mm_errf(err, errlen, "pwc: %s: out of host memory", pwc_design_name(cfg->design));
    pwc_free(c);
    return NULL;
}

void pwc_free(pwc *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i <= PAGING_MAX_LEVELS; i++)
        sa_free(c->arr[i]);
    free(c);
}

pwc_design pwc_get_design(const pwc *c)
{
    return c->design;
}

/* ---- translation caches ----------------------------------------------- */

static uint64_t pwc_prefix(const pwc *c, uint64_t va, unsigned level)
{
    return (va & c->va_mask) >> c->m->shift[level];
}

static uint64_t pwc_tag(unsigned level, uint16_t pcid, uint64_t prefix)
{
    return (uint64_t)level << PWC_TAG_LEVEL_SHIFT | (uint64_t)pcid << PWC_TAG_PCID_SHIFT | prefix;
}

static unsigned pwc_tag_level(uint64_t tag)
{
    return (unsigned)(tag >> PWC_TAG_LEVEL_SHIFT);
}

static uint16_t pwc_tag_pcid(uint64_t tag)
{
    return (uint16_t)(tag >> PWC_TAG_PCID_SHIFT);
}

/* The array holding level-`level` translation entries, NULL if none. */
static sa_array *pwc_array_of(const pwc *c, unsigned level)
{
    switch (c->design) {
    case PWC_SPLIT:
        return c->arr[level];
    case PWC_UNIFIED:
        return c->arr[PWC_ONE];
    default:
        return NULL;
    }
}

static bool pwc_is_translation(const pwc *c)
{
    return c->design == PWC_SPLIT || c->design == PWC_UNIFIED;
}

pwc_hit pwc_lookup(pwc *c, uint64_t va, uint16_t pcid)
{
    pwc_hit h = {0};
    if (!pwc_is_translation(c))
        return h;
    /* Hardware probes every level at once and keeps the deepest hit; probing
     * deepest first and stopping at the first hit gives the same answer and
     * touches the replacement state of that one entry only. */
    for (unsigned l = 2; l <= c->m->levels; l++) {
        sa_array *a = pwc_array_of(c, l);
        if (!a)
            continue;
        uint64_t prefix = pwc_prefix(c, va, l);
        const sa_entry *e = sa_lookup(a, prefix, pwc_tag(l, pcid, prefix));
        if (e) {
            h.level = l;
            h.entry = e->val;
            h.perm = e->aux;
            return h;
        }
    }
    return h;
}

void pwc_fill(pwc *c, uint64_t va, uint16_t pcid, unsigned level, uint64_t entry, unsigned perm)
{
    if (!pwc_is_translation(c))
        return;
    /* Level 1 holds leaves (TLB material) and the top is `levels`. */
    assert(level >= 2 && level <= c->m->levels);
    if (level < 2 || level > c->m->levels)
        return;
    sa_array *a = pwc_array_of(c, level);
    if (!a)
        return;
    uint64_t prefix = pwc_prefix(c, va, level);
    sa_entry *e = sa_fill(a, prefix, pwc_tag(level, pcid, prefix), NULL);
    e->val = entry;
    e->aux = perm;
}

/* ---- PTE cache --------------------------------------------------------- */

bool pwc_pte_lookup(pwc *c, uint64_t entry_pa)
{
    if (c->design != PWC_PTE || !c->arr[PWC_ONE])
        return false;
    return sa_lookup(c->arr[PWC_ONE], entry_pa >> c->pte_shift, entry_pa) != NULL;
}

void pwc_pte_fill(pwc *c, uint64_t entry_pa)
{
    if (c->design != PWC_PTE || !c->arr[PWC_ONE])
        return;
    /* Timing only: the walker reads the value from memory, so none is kept. */
    sa_fill(c->arr[PWC_ONE], entry_pa >> c->pte_shift, entry_pa, NULL);
}

/* ---- invalidation ------------------------------------------------------ */

unsigned pwc_flush_all(pwc *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i <= PAGING_MAX_LEVELS; i++)
        if (c->arr[i])
            n += sa_flush_if(c->arr[i], NULL, NULL);
    return n;
}

static bool pwc_pred_pcid(const sa_entry *e, void *ctx)
{
    return pwc_tag_pcid(e->tag) == *(const uint16_t *)ctx;
}

/* PTE-cache entries carry no PCID (they are tagged by physical address), so
 * a PCID flush must drop them all: any of them may belong to that PCID's
 * tables. */
unsigned pwc_flush_pcid(pwc *c, uint16_t pcid)
{
    if (c->design == PWC_PTE)
        return pwc_flush_all(c);
    unsigned n = 0;
    for (unsigned i = 0; i <= PAGING_MAX_LEVELS; i++)
        if (c->arr[i])
            n += sa_flush_if(c->arr[i], pwc_pred_pcid, &pcid);
    return n;
}

/* At most one entry per level covers va for a PCID, so each level is one
 * tagged invalidate, not a scan.  PTE design: 0 -- the cache knows no VAs;
 * the walker calls pwc_flush_pte_addrs with the entry addresses instead. */
unsigned pwc_flush_va(pwc *c, uint64_t va, uint16_t pcid)
{
    if (!pwc_is_translation(c))
        return 0;
    unsigned n = 0;
    for (unsigned l = 2; l <= c->m->levels; l++) {
        sa_array *a = pwc_array_of(c, l);
        if (!a)
            continue;
        uint64_t prefix = pwc_prefix(c, va, l);
        n += sa_invalidate(a, prefix, pwc_tag(l, pcid, prefix));
    }
    return n;
}

unsigned pwc_flush_pte_addrs(pwc *c, const uint64_t *entry_pa, unsigned n)
{
    if (c->design != PWC_PTE || !c->arr[PWC_ONE])
        return 0;
    unsigned removed = 0;
    for (unsigned i = 0; i < n; i++)
        removed += sa_invalidate(c->arr[PWC_ONE], entry_pa[i] >> c->pte_shift, entry_pa[i]);
    return removed;
}

/* ---- inspection -------------------------------------------------------- */

static bool pwc_pred_level(const sa_entry *e, void *ctx)
{
    return pwc_tag_level(e->tag) == *(const unsigned *)ctx;
}

/* Level 0 counts every valid entry in every design. */
unsigned pwc_occupancy(const pwc *c, unsigned level)
{
    if (level == 0) {
        unsigned n = 0;
        for (unsigned i = 0; i <= PAGING_MAX_LEVELS; i++)
            if (c->arr[i])
                n += sa_count_if(c->arr[i], NULL, NULL);
        return n;
    }
    if (!pwc_is_translation(c) || level < 2 || level > c->m->levels)
        return 0;
    const sa_array *a = pwc_array_of(c, level);
    if (!a)
        return 0;
    return sa_count_if(a, pwc_pred_level, &level);
}

typedef struct pwc_foreach_ctx {
    const pwc *c;
    void (*fn)(unsigned level, uint16_t pcid, uint64_t va_base, uint64_t entry, void *ctx);
    void *ctx;
} pwc_foreach_ctx;

static void pwc_foreach_one(const sa_entry *e, void *ctx)
{
    const pwc_foreach_ctx *f = ctx;
    unsigned level = pwc_tag_level(e->tag);
    uint64_t prefix = e->tag & PWC_TAG_PREFIX_MASK;
    f->fn(level, pwc_tag_pcid(e->tag), prefix << f->c->m->shift[level], e->val, f->ctx);
}

/* Arrays in level order (SPLIT: 2, 3, ...).  va_base is not sign-extended.
 * The PTE design has no translation entries: nothing is visited. */
void pwc_foreach(const pwc *c,
                 void (*fn)(unsigned level, uint16_t pcid, uint64_t va_base, uint64_t entry, void *ctx),
                 void *ctx)
{
    if (!pwc_is_translation(c))
        return;
    pwc_foreach_ctx f = {c, fn, ctx};
    for (unsigned i = 0; i <= PAGING_MAX_LEVELS; i++)
        if (c->arr[i])
            sa_foreach(c->arr[i], pwc_foreach_one, &f);
}
