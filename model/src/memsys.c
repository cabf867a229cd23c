/* memsys.c -- the memory model serving page-table reads (see memsys.h).
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
 * below k are left alone, and nothing is written back or kept inclusive. */
#include "mmusim/memsys.h"

#include <stdlib.h>
#include <string.h>

#include "sa_array.h"

#define MEMSYS_MIN_LINE 8u
#define MEMSYS_MAX_LINE 4096u

struct memsys {
    memsys_model model;
    unsigned fixed_latency, dram_latency, rmw_latency;
    unsigned line_shift;                   /* log2(line_bytes) */
    unsigned ncaches;                      /* config slots; CACHES only */
    unsigned latency[MEMSYS_MAX_CACHES];
    sa_array *cache[MEMSYS_MAX_CACHES];    /* NULL = slot absent */
    char *name[MEMSYS_MAX_CACHES];         /* copies: the config's strings may not outlive it */
};

static const char *const memsys_model_names[] = {"fixed", "caches"};
#define MEMSYS_MODEL_COUNT (sizeof memsys_model_names / sizeof memsys_model_names[0])

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
static const char *const memsys_slot_err[MEMSYS_MAX_CACHES][MEMSYS_ERR_COUNT] = {
    MEMSYS_SLOT_ERRS("l1d"),
    MEMSYS_SLOT_ERRS("l2"),
    MEMSYS_SLOT_ERRS("llc"),
};

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
    for (unsigned i = 0; i < cfg->ncaches; i++) {
        const memsys_cache_cfg *c = &cfg->cache[i];
        if (c->ways == 0)
            continue;   /* absent: its other keys are unused */
        if (!sa_is_pow2(c->sets))
            return memsys_slot_err[i][MEMSYS_ERR_SETS];
        if (c->ways > SA_MAX_WAYS)
            return memsys_slot_err[i][MEMSYS_ERR_WAYS];
        if ((unsigned)c->repl >= REPL_COUNT)
            return memsys_slot_err[i][MEMSYS_ERR_REPL];
    }
    return NULL;
}

static char *memsys_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
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
    for (unsigned i = 0; i < cfg->ncaches; i++) {
        const memsys_cache_cfg *c = &cfg->cache[i];
        ms->latency[i] = c->latency;
        ms->name[i] = memsys_strdup(c->name ? c->name : memsys_slot_key[i]);
        if (!ms->name[i])
            goto fail;
        if (c->ways == 0)
            continue;
        ms->cache[i] = sa_create(c->sets, c->ways, c->repl, sa_seed(cfg->seed, i));
        if (!ms->cache[i])
            goto fail;
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
    for (unsigned i = 0; i < MEMSYS_MAX_CACHES; i++) {
        sa_free(ms->cache[i]);
        free(ms->name[i]);
    }
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

unsigned memsys_read(memsys *ms, uint64_t pa, mm_cycle now, memsys_source *src)
{
    if (ms->model != MEMSYS_CACHES) {
        if (src)
            *src = 0;
        return ms->fixed_latency;
    }
    uint64_t line = pa >> ms->line_shift;
    unsigned k = 0;   /* serving level; ncaches = DRAM */
    sa_entry *e = NULL;
    while (k < ms->ncaches && !(ms->cache[k] && (e = sa_lookup(ms->cache[k], line, line))))
        k++;
    unsigned lat = k < ms->ncaches ? ms->latency[k] : ms->dram_latency;
    if (k < ms->ncaches && e->val > now) {
        /* The line is still on its way (a fill asked for by a read that the
         * model computed first but that is later in time): wait for it, but
         * never longer than a miss of our own would take. */
        uint64_t wait = e->val - now;
        if (wait > lat)
            lat = wait < ms->dram_latency ? (unsigned)wait : ms->dram_latency;
        if (now + lat < e->val)
            e->val = now + lat;
    }
    for (unsigned i = 0; i < k; i++)
        if (ms->cache[i]) {
            sa_entry *f = sa_fill(ms->cache[i], line, line, NULL);
            f->val = now + lat;   /* the cycle the line arrives */
        }
    if (src)
        *src = k;
    return lat;
}

unsigned memsys_rmw(memsys *ms, uint64_t pa, mm_cycle now, memsys_source *src)
{
    return memsys_read(ms, pa, now, src) + ms->rmw_latency;
}

void memsys_flush(memsys *ms)
{
    for (unsigned i = 0; i < MEMSYS_MAX_CACHES; i++)
        if (ms->cache[i])
            sa_flush_if(ms->cache[i], NULL, NULL);
}
