/* memsys.c -- the memory model: page-table reads and program data (see memsys.h).
 *
 * MEMSYS_FIXED: one source, "mem", costing fixed_latency per read.
 * MEMSYS_CACHES: one sa_array per present cache level, tagged by the line
 * number (pa / line_bytes) with the set from its low bits; sources are the
 * configured cache slots in order, then "dram".  Source numbers are config
 * slot numbers, so an absent slot (ways 0) keeps its number and name but
 * never serves a read.
 *
 * Fill policy (non-inclusive, fill on miss): a read served by level k (or by
 * DRAM, k = ncaches) fills the line into every present level above k; levels
 * below k are left alone, and nothing is written back or kept inclusive.
 *
 * Paths: page-table reads and loads/stores look up slots 0..ncaches-1
 * (l1d, l2, llc); instruction fetches look up the l1i, then slots
 * 1..ncaches-1.  Both are the same loop over a path of levels (serve).
 *
 * Memo: each level remembers, per set, the entry that set's last lookup
 * hit (cleared by a miss in the set, a fill into it, a flush).  A lookup
 * of that line takes the entry from the memo without a set scan or a
 * replacement update: it is the most recently touched entry of its set,
 * and touching it again changes no policy's victim order (LRU order, PLRU
 * bits, SRRIP's RRPV 0; FIFO and random ignore hits), so the memo changes
 * no result, only the cost.  Per set rather than one per level, because a
 * program alternates between a few lines (stack, one or two arrays) that
 * mostly live in different sets. */
#include "mmusim/memsys.h"

#include <stdlib.h>
#include <string.h>

#include "sa_array.h"

#define MEMSYS_MIN_LINE 8u
#define MEMSYS_MAX_LINE 4096u

/* One cache level.  Levels 0..MEMSYS_MAX_CACHES-1 are the config slots
 * (l1d, l2, llc); level L1I_LEVEL is the l1i. */
typedef struct memo {
    uint64_t line;                         /* meaningful while e != NULL */
    sa_entry *e;                           /* the entry the set's last lookup hit */
} memo;

typedef struct mlevel {
    sa_array *cache;                       /* NULL = absent */
    unsigned latency;
    memsys_level_counters *c;              /* into memsys.c */
    uint64_t set_mask;                     /* sets - 1 */
    memo *memo;                            /* one per set */
} mlevel;

#define L1I_LEVEL MEMSYS_MAX_CACHES
#define NLEVELS (MEMSYS_MAX_CACHES + 1)

struct memsys {
    memsys_model model;
    memsys_scope scope;
    bool data;                             /* memsys_has_data */
    unsigned fixed_latency, dram_latency, rmw_latency;
    unsigned line_shift;                   /* log2(line_bytes) */
    unsigned ncaches;                      /* config slots; CACHES only */
    mlevel lv[NLEVELS];
    mlevel *path[2][MEMSYS_MAX_CACHES];    /* [0] data and page tables, [1] fetches */
    mlevel *l1[3];                         /* by mm_kind: the first level of its path (data) */
    memo no_memo;                          /* the memo of an absent L1: never matches */
    char *name[MEMSYS_MAX_CACHES];         /* copies: the config's strings may not outlive it */
    memsys_counters c;
};

static const char *const memsys_model_names[] = {"fixed", "caches"};
#define MEMSYS_MODEL_COUNT (sizeof memsys_model_names / sizeof memsys_model_names[0])

static const char *const memsys_scope_names[] = {"pagetables", "all"};
#define MEMSYS_SCOPE_COUNT (sizeof memsys_scope_names / sizeof memsys_scope_names[0])

const char *memsys_scope_name(memsys_scope s)
{
    return (unsigned)s < MEMSYS_SCOPE_COUNT ? memsys_scope_names[s] : "?";
}

int memsys_scope_by_name(const char *name)
{
    for (unsigned i = 0; i < MEMSYS_SCOPE_COUNT; i++)
        if (strcmp(name, memsys_scope_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *memsys_model_name(memsys_model m)
{
    return (unsigned)m < MEMSYS_MODEL_COUNT ? memsys_model_names[m] : "?";
}

int memsys_model_by_name(const char *name)
{
    for (unsigned i = 0; i < MEMSYS_MODEL_COUNT; i++)
        if (strcmp(name, memsys_model_names[i]) == 0)
            return (int)i;
    return -1;
}

/* Config keys of the cache slots (cfg.h: memsys.l1d/l2/llc), used in
 * messages and as the name of a slot whose cfg name is NULL. */
static const char *const memsys_slot_key[MEMSYS_MAX_CACHES] = {"l1d", "l2", "llc"};

enum { MEMSYS_ERR_SETS, MEMSYS_ERR_WAYS, MEMSYS_ERR_REPL, MEMSYS_ERR_COUNT };
#define MEMSYS_SLOT_ERRS(key)                                 \
    {                                                         \
        "memsys." key ".sets must be a power of two",         \
        "memsys." key ".ways must be at most 64",             \
        "memsys." key ".replacement is not a known policy",   \
    }
static const char *const memsys_slot_err[NLEVELS][MEMSYS_ERR_COUNT] = {
    MEMSYS_SLOT_ERRS("l1d"),
    MEMSYS_SLOT_ERRS("l2"),
    MEMSYS_SLOT_ERRS("llc"),
    MEMSYS_SLOT_ERRS("l1i"),
};

static const char *memsys_cache_check(const memsys_cache_cfg *c, unsigned i)
{
    if (c->ways == 0)
        return NULL;   /* absent: its other keys are unused */
    if (!sa_is_pow2(c->sets))
        return memsys_slot_err[i][MEMSYS_ERR_SETS];
    if (c->ways > SA_MAX_WAYS)
        return memsys_slot_err[i][MEMSYS_ERR_WAYS];
    if ((unsigned)c->repl >= REPL_COUNT)
        return memsys_slot_err[i][MEMSYS_ERR_REPL];
    return NULL;
}

/* The cache keys are checked only for MEMSYS_CACHES: the fixed model never
 * reads them, so a zeroed cache part is a valid fixed config. */
const char *memsys_cfg_check(const memsys_cfg *cfg)
{
    if ((unsigned)cfg->model >= MEMSYS_MODEL_COUNT)
        return "memsys.model must be one of fixed, caches";
    if (cfg->model != MEMSYS_CACHES)
        return NULL;
    if (!sa_is_pow2(cfg->line_bytes) || cfg->line_bytes < MEMSYS_MIN_LINE ||
        cfg->line_bytes > MEMSYS_MAX_LINE)
        return "memsys.line_bytes must be a power of two from 8 to 4096";
    if (cfg->ncaches > MEMSYS_MAX_CACHES)
        return "memsys has at most 3 caches (l1d, l2, llc)";
    if ((unsigned)cfg->scope >= MEMSYS_SCOPE_COUNT)
        return "memsys.scope must be one of pagetables, all";
    for (unsigned i = 0; i < cfg->ncaches; i++) {
        const char *why = memsys_cache_check(&cfg->cache[i], i);
        if (why)
            return why;
    }
    return cfg->scope == MEMSYS_SCOPE_ALL ? memsys_cache_check(&cfg->l1i, L1I_LEVEL) : NULL;
}

/* Level i of ms from its config c; false when too large for the host. */
static bool level_init(memsys *ms, unsigned i, const memsys_cache_cfg *c, uint64_t seed)
{
    static const unsigned counter_of[NLEVELS] = {MEMSYS_LEVEL_L1D, MEMSYS_LEVEL_L2, MEMSYS_LEVEL_LLC,
                                                 MEMSYS_LEVEL_L1I};
    mlevel *l = &ms->lv[i];
    l->latency = c->latency;
    l->c = &ms->c.level[counter_of[i]];
    if (c->ways == 0)
        return true;
    l->cache = sa_create(c->sets, c->ways, c->repl, sa_seed(seed, i));
    l->set_mask = c->sets - 1;
    l->memo = calloc(c->sets, sizeof *l->memo);
    return l->cache != NULL && l->memo != NULL;
}

memsys *memsys_create(const memsys_cfg *cfg, char *err, size_t errlen)
{
    const char *why = memsys_cfg_check(cfg);
    if (why) {
        mm_errf(err, errlen, "memsys: %s", why);
        return NULL;
    }
    memsys *ms = mm_xcalloc(1, sizeof *ms);
    ms->model = cfg->model;
    ms->fixed_latency = cfg->fixed_latency;
    ms->dram_latency = cfg->dram_latency;
    ms->rmw_latency = cfg->rmw_latency;
    if (cfg->model != MEMSYS_CACHES)
        return ms;
    while ((1u << ms->line_shift) < cfg->line_bytes)
        ms->line_shift++;
    ms->ncaches = cfg->ncaches;
    ms->scope = cfg->scope;
    for (unsigned i = 0; i < cfg->ncaches; i++) {
        ms->name[i] = mm_xstrdup(cfg->cache[i].name ? cfg->cache[i].name : memsys_slot_key[i]);
        if (!level_init(ms, i, &cfg->cache[i], cfg->seed))
            goto fail;
        ms->path[0][i] = ms->path[1][i] = &ms->lv[i];
    }
    if (cfg->ncaches && ms->scope == MEMSYS_SCOPE_ALL) {
        if (!level_init(ms, L1I_LEVEL, &cfg->l1i, cfg->seed))
            goto fail;
        ms->path[1][0] = &ms->lv[L1I_LEVEL];
        ms->data = true;
        for (unsigned k = 0; k < 3; k++) {
            ms->l1[k] = ms->path[k == MM_IFETCH][0];
            if (!ms->l1[k]->memo)
                ms->l1[k]->memo = &ms->no_memo;   /* set_mask 0; e stays NULL */
        }
    }
    return ms;
fail:   /* sets x ways come from the config: too large for the host is its error */
    mm_errf(err, errlen, "memsys: the page-table-line caches: out of host memory");
    memsys_free(ms);
    return NULL;
}

void memsys_free(memsys *ms)
{
    if (!ms)
        return;
    for (unsigned i = 0; i < NLEVELS; i++) {
        sa_free(ms->lv[i].cache);
        if (ms->lv[i].memo != &ms->no_memo)
            free(ms->lv[i].memo);
    }
    for (unsigned i = 0; i < MEMSYS_MAX_CACHES; i++)
        free(ms->name[i]);
    free(ms);
}

unsigned memsys_nsources(const memsys *ms)
{
    return ms->model == MEMSYS_CACHES ? ms->ncaches + 1 : 1;
}

const char *memsys_source_name(const memsys *ms, memsys_source s)
{
    if (ms->model != MEMSYS_CACHES)
        return s == 0 ? "mem" : "?";
    if (s < ms->ncaches)
        return ms->name[s];
    return s == ms->ncaches ? "dram" : "?";
}

/* Serve `line` at `now` along `path` (ncaches levels, absent ones
 * skipped): the latency of the first level holding it, else DRAM's; fill
 * it into the present levels above; count a miss at each level it missed
 * and a hit where it was found (*pt: page-table counters, else data).
 * *served = the serving level's position on the path (ncaches = DRAM). */
static unsigned serve(memsys *ms, mlevel *const *path, uint64_t line, mm_cycle now, bool pt, unsigned *served)
{
    unsigned k = 0;   /* serving position; ncaches = DRAM */
    sa_entry *e = NULL;
    for (; k < ms->ncaches; k++) {
        mlevel *l = path[k];
        if (!l->cache)
            continue;
        memo *m = &l->memo[line & l->set_mask];
        if (m->e && m->line == line) {
            e = m->e;
            break;
        }
        e = sa_lookup(l->cache, line, line);
        m->line = line;
        m->e = e;
        if (e)
            break;
        if (pt)
            l->c->pt_misses++;
        else
            l->c->data_misses++;
    }
    unsigned lat = ms->dram_latency;
    if (k < ms->ncaches) {
        mlevel *l = path[k];
        lat = l->latency;
        if (pt)
            l->c->pt_hits++;
        else
            l->c->data_hits++;
        if (e->val > now) {
            /* The line is still on its way (a fill asked for by a read that
             * the model computed first but that is later in time): wait for
             * it, but never longer than a miss of our own would take. */
            uint64_t wait = e->val - now;
            if (wait > lat)
                lat = wait < ms->dram_latency ? (unsigned)wait : ms->dram_latency;
            if (now + lat < e->val)
                e->val = now + lat;
        }
    }
    for (unsigned i = 0; i < k; i++) {
        mlevel *l = path[i];
        if (l->cache) {
            sa_entry *f = sa_fill(l->cache, line, line, NULL);
            f->val = now + lat;   /* the cycle the line arrives */
            l->memo[line & l->set_mask].e = NULL;   /* the fill may have aged or evicted it */
        }
    }
    *served = k;
    return lat;
}

unsigned memsys_read(memsys *ms, uint64_t pa, mm_cycle now, memsys_source *src)
{
    if (ms->model != MEMSYS_CACHES) {
        if (src)
            *src = 0;
        return ms->fixed_latency;
    }
    unsigned k;
    unsigned lat = serve(ms, ms->path[0], pa >> ms->line_shift, now, true, &k);
    if (src)
        *src = k;
    return lat;
}

unsigned memsys_rmw(memsys *ms, uint64_t pa, mm_cycle now, memsys_source *src)
{
    return memsys_read(ms, pa, now, src) + ms->rmw_latency;
}

bool memsys_has_data(const memsys *ms)
{
    return ms->data;
}

unsigned memsys_data(memsys *ms, uint64_t pa, mm_kind kind, mm_cycle now)
{
    if (__builtin_expect(!ms->data, 0))
        return 0;
    uint64_t line = pa >> ms->line_shift;
    mlevel *l1 = ms->l1[kind];
    const memo *m = &l1->memo[line & l1->set_mask];
    if (__builtin_expect(m->line == line && m->e && m->e->val <= now, 1)) {
        l1->c->data_hits++;
        return l1->latency;
    }
    unsigned k;
    return serve(ms, ms->path[kind == MM_IFETCH], line, now, false, &k);
}

unsigned memsys_l1_latency(const memsys *ms, mm_kind kind)
{
    if (!memsys_has_data(ms))
        return 0;
    const mlevel *l1 = ms->path[kind == MM_IFETCH][0];
    return l1->cache ? l1->latency : 0;
}

const memsys_counters *memsys_get_counters(const memsys *ms)
{
    return &ms->c;
}

void memsys_reset_stats(memsys *ms)
{
    memset(&ms->c, 0, sizeof ms->c);
}

void memsys_export_stats(const memsys *ms, stats *s)
{
    if (ms->model != MEMSYS_CACHES)
        return;
    bool data = memsys_has_data(ms);
    /* l1i first: the order of the levels a fetch and a load go through */
    if (data && ms->lv[L1I_LEVEL].cache) {
        const memsys_level_counters *c = ms->lv[L1I_LEVEL].c;
        stats_add(s, "memsys.l1i.data.hits", c->data_hits);
        stats_add(s, "memsys.l1i.data.misses", c->data_misses);
    }
    for (unsigned i = 0; i < ms->ncaches; i++) {
        const mlevel *l = &ms->lv[i];
        if (!l->cache)
            continue;
        if (data) {
            stats_addf(s, l->c->data_hits, "memsys.%s.data.hits", ms->name[i]);
            stats_addf(s, l->c->data_misses, "memsys.%s.data.misses", ms->name[i]);
        }
        stats_addf(s, l->c->pt_hits, "memsys.%s.pt.hits", ms->name[i]);
        stats_addf(s, l->c->pt_misses, "memsys.%s.pt.misses", ms->name[i]);
    }
}

void memsys_flush(memsys *ms)
{
    for (unsigned i = 0; i < NLEVELS; i++)
        if (ms->lv[i].cache) {
            sa_flush_if(ms->lv[i].cache, NULL, NULL);
            memset(ms->lv[i].memo, 0, (ms->lv[i].set_mask + 1) * sizeof *ms->lv[i].memo);
        }
}
