/* pairmap.c -- hash map of integer pairs (see pairmap.h). */
#include "pairmap.h"

#include <stdlib.h>
#include <string.h>

#include "mmusim/types.h"

static size_t slot_home(const pairmap *p, uint64_t a, uint64_t b)
{
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (size_t)h & (p->cap - 1);
}

static pairmap_slot *slot_of(const pairmap *p, uint64_t a, uint64_t b)
{
    if (!p->cap)
        return NULL;
    for (size_t i = slot_home(p, a, b);; i = (i + 1) & (p->cap - 1)) {
        pairmap_slot *s = &p->s[i];
        if (s->a == PAIRMAP_EMPTY)
            return NULL;
        if (s->a == a && s->b == b)
            return s;
    }
}

bool pairmap_get(const pairmap *p, uint64_t a, uint64_t b, uint64_t *v)
{
    const pairmap_slot *s = slot_of(p, a, b);
    if (s && v)
        *v = s->v;
    return s != NULL;
}

static void resize(pairmap *p, size_t cap)
{
    pairmap old = *p;
    p->s = mm_xmalloc(cap * sizeof *p->s);
    memset(p->s, 0xff, cap * sizeof *p->s);
    p->cap = cap;
    p->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.s[i].a != PAIRMAP_EMPTY)
            pairmap_put(p, old.s[i].a, old.s[i].b, old.s[i].v);
    free(old.s);
}

void pairmap_put(pairmap *p, uint64_t a, uint64_t b, uint64_t v)
{
    if (2 * (p->n + 1) > p->cap)
        resize(p, p->cap ? 2 * p->cap : 64);
    size_t i = slot_home(p, a, b);
    while (p->s[i].a != PAIRMAP_EMPTY && !(p->s[i].a == a && p->s[i].b == b))
        i = (i + 1) & (p->cap - 1);
    if (p->s[i].a == PAIRMAP_EMPTY)
        p->n++;
    p->s[i] = (pairmap_slot){a, b, v};
}

bool pairmap_del(pairmap *p, uint64_t a, uint64_t b)
{
    pairmap_slot *s = slot_of(p, a, b);
    if (!s)
        return false;
    size_t mask = p->cap - 1, i = (size_t)(s - p->s), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (p->s[j].a == PAIRMAP_EMPTY)
            break;
        size_t k = slot_home(p, p->s[j].a, p->s[j].b);
        /* Entry j may stay where it is when its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            p->s[i] = p->s[j];
            i = j;
        }
    }
    p->s[i].a = PAIRMAP_EMPTY;
    p->n--;
    return true;
}

void pairmap_free(pairmap *p)
{
    free(p->s);
    memset(p, 0, sizeof *p);
}

/* The (b, v) of every entry whose first key is a, into a new array. */
pairmap_slot *pairmap_collect(const pairmap *p, uint64_t a, size_t *n)
{
    pairmap_slot *out = NULL;
    size_t cap = 0;
    *n = 0;
    for (size_t i = 0; i < p->cap; i++)
        if (p->s[i].a == a) {
            mm_grow(&out, &cap, *n, sizeof *out, 16);
            out[(*n)++] = p->s[i];
        }
    return out;
}
