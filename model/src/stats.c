/* stats.c -- named, ordered counters (see stats.h).
 *
 * A list in insertion order plus an open-addressed index by name (load
 * factor <= 1/2), so exporting the few hundred counters of many CPUs is
 * linear, not quadratic. */
#include "mmusim/stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

typedef struct counter {
    char *name;
    uint64_t value;
} counter;

struct stats {
    counter *v;
    size_t n, cap;
    size_t *index;     /* slot -> position + 1 in v; 0 = empty */
    size_t icap;       /* power of two */
};

static uint64_t hash_name(const char *s)
{
    return fnv1a64(FNV1A64_INIT, s, strlen(s));
}

stats *stats_create(void)
{
    stats *s = mm_xcalloc(1, sizeof *s);
    s->icap = 256;
    s->index = mm_xcalloc(s->icap, sizeof *s->index);
    return s;
}

void stats_free(stats *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
    free(s->index);
    free(s);
}

/* Slot of `name` in the index: its own, or the empty one it would take. */
static size_t find(const stats *s, const char *name)
{
    size_t i = (size_t)hash_name(name) & (s->icap - 1);
    while (s->index[i] && strcmp(s->v[s->index[i] - 1].name, name) != 0)
        i = (i + 1) & (s->icap - 1);
    return i;
}

static void reindex(stats *s)
{
    free(s->index);
    s->icap *= 2;
    s->index = mm_xcalloc(s->icap, sizeof *s->index);
    for (size_t k = 0; k < s->n; k++)
        s->index[find(s, s->v[k].name)] = k + 1;
}

void stats_add(stats *s, const char *name, uint64_t v)
{
    size_t i = find(s, name);
    if (s->index[i]) {
        s->v[s->index[i] - 1].value += v;
        return;
    }
    mm_grow(&s->v, &s->cap, s->n, sizeof *s->v, 64);
    size_t len = strlen(name) + 1;
    char *copy = mm_xmalloc(len);
    memcpy(copy, name, len);
    s->v[s->n++] = (counter){copy, v};
    if (2 * s->n > s->icap)
        reindex(s);
    else
        s->index[i] = s->n;
}

void stats_addf(stats *s, uint64_t v, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    stats_add(s, name, v);
}

size_t stats_count(const stats *s) { return s->n; }
const char *stats_name(const stats *s, size_t i) { return s->v[i].name; }
uint64_t stats_value(const stats *s, size_t i) { return s->v[i].value; }

uint64_t stats_get(const stats *s, const char *name, bool *found)
{
    size_t i = find(s, name);
    if (found)
        *found = s->index[i] != 0;
    return s->index[i] ? s->v[s->index[i] - 1].value : 0;
}
