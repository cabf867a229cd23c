/* pageset.c -- distinct 4 KiB pages by 1 GiB chunk (see pageset.h).
 *
 * Chunks live in an open-addressed table (linear probing, at most 3/4
 * full, doubled when it would be fuller).  A chunk's offsets live in an
 * open-addressed set of words `offset + 1` (0 = empty), also at most 3/4
 * full; when it would need more than SET_MAX slots the chunk turns into a
 * bitmap instead, which is no larger than that set. */
#include "pageset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SHIFT 30
#define OFFSET_BITS (CHUNK_SHIFT - 12)             /* 18: 4 KiB pages in a chunk */
#define BITMAP_WORDS ((1u << OFFSET_BITS) / 64)    /* 4096 words: 32 KiB */
#define SET_MAX (BITMAP_WORDS * 2)                  /* slots of 4 bytes: the bitmap's size */
#define SET_FIRST 4u

typedef struct chunk {
    uint64_t space1;     /* space + 1; 0 marks a free slot of the table */
    uint64_t number;     /* va >> 30 */
    uint32_t n;          /* pages */
    uint32_t cap;        /* slots of the set; 0 once the chunk is a bitmap */
    union {
        uint32_t *set;   /* cap slots of offset + 1 */
        uint64_t *bits;  /* BITMAP_WORDS words */
    } u;
} chunk;

struct pageset {
    chunk *t;
    size_t cap, n;       /* cap: a power of two */
    uint64_t pages;      /* distinct 4 KiB pages */
    chunk *last;         /* the chunk of the last page added: runs of one chunk are common */
};

static size_t chunk_hash(uint64_t k1, uint64_t k2)
{
    uint64_t h = (k2 ^ (k1 * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h ^ (h >> 31));
}

pageset *pageset_create(void)
{
    return calloc(1, sizeof(pageset));
}

void pageset_free(pageset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        if (s->t[i].space1)
            free(s->t[i].cap ? (void *)s->t[i].u.set : (void *)s->t[i].u.bits);
    free(s->t);
    free(s);
}

static chunk *table_slot(chunk *t, size_t cap, uint64_t k1, uint64_t k2)
{
    size_t i = chunk_hash(k1, k2) & (cap - 1);
    while (t[i].space1 && (t[i].space1 != k1 || t[i].number != k2))
        i = (i + 1) & (cap - 1);
    return &t[i];
}

static int table_grow(pageset *s)
{
    size_t cap = s->cap ? 2 * s->cap : 64;
    chunk *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->t[i].space1)
            *table_slot(t, cap, s->t[i].space1, s->t[i].number) = s->t[i];
    free(s->t);
    s->t = t;
    s->cap = cap;
    s->last = NULL;
    return 0;
}

static uint32_t *set_slot(uint32_t *set, uint32_t cap, uint32_t word)
{
    uint32_t i = (word * 0x9E3779B1u) >> 8 & (cap - 1);
    while (set[i] && set[i] != word)
        i = (i + 1) & (cap - 1);
    return &set[i];
}

/* Make room for one more offset in c: a larger set, or the bitmap.  0 or
 * -1 (c unchanged). */
static int chunk_grow(chunk *c)
{
    uint32_t cap = c->cap * 2;
    if (cap > SET_MAX) {
        uint64_t *bits = calloc(BITMAP_WORDS, sizeof *bits);
        if (!bits)
            return -1;
        for (uint32_t i = 0; i < c->cap; i++)
            if (c->u.set[i]) {
                uint32_t off = c->u.set[i] - 1;
                bits[off / 64] |= 1ull << (off % 64);
            }
        free(c->u.set);
        c->u.bits = bits;
        c->cap = 0;
        return 0;
    }
    uint32_t *set = calloc(cap, sizeof *set);
    if (!set)
        return -1;
    for (uint32_t i = 0; i < c->cap; i++)
        if (c->u.set[i])
            *set_slot(set, cap, c->u.set[i]) = c->u.set[i];
    free(c->u.set);
    c->u.set = set;
    c->cap = cap;
    return 0;
}

int pageset_add(pageset *s, uint64_t space, uint64_t va)
{
    assert(space < UINT64_MAX);
    uint64_t k1 = space + 1, k2 = va >> CHUNK_SHIFT;
    chunk *c = s->last;
    if (!c || c->space1 != k1 || c->number != k2) {
        if (4 * (s->n + 1) > 3 * s->cap && table_grow(s) != 0)
            return -1;
        c = table_slot(s->t, s->cap, k1, k2);
        if (!c->space1) {
            uint32_t *set = calloc(SET_FIRST, sizeof *set);
            if (!set)
                return -1;
            *c = (chunk){.space1 = k1, .number = k2, .cap = SET_FIRST, .u.set = set};
            s->n++;
        }
        s->last = c;
    }
    uint32_t off = (uint32_t)(va >> 12) & ((1u << OFFSET_BITS) - 1);
    if (!c->cap) {
        uint64_t bit = 1ull << (off % 64), *w = &c->u.bits[off / 64];
        if (!(*w & bit)) {
            *w |= bit;
            c->n++;
            s->pages++;
        }
        return 0;
    }
    uint32_t *slot = set_slot(c->u.set, c->cap, off + 1);
    if (*slot)
        return 0;
    if (4 * (c->n + 1) > 3 * c->cap) {
        if (chunk_grow(c) != 0)
            return -1;
        return pageset_add(s, space, va);   /* once: the chunk now has room */
    }
    *slot = off + 1;
    c->n++;
    s->pages++;
    return 0;
}

/* Distinct 2 MiB regions (offset >> 9) among a chunk's pages. */
static uint64_t chunk_count_2m(const chunk *c)
{
    uint64_t seen[(1u << (OFFSET_BITS - 9)) / 64] = {0};   /* 512 regions */
    if (c->cap) {
        for (uint32_t i = 0; i < c->cap; i++)
            if (c->u.set[i]) {
                uint32_t r = (c->u.set[i] - 1) >> 9;
                seen[r / 64] |= 1ull << (r % 64);
            }
    } else {
        for (uint32_t w = 0; w < BITMAP_WORDS; w++)
            if (c->u.bits[w]) {
                uint32_t r = w * 64 >> 9;   /* 8 words to a region */
                seen[r / 64] |= 1ull << (r % 64);
            }
    }
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++)
        n += (uint64_t)__builtin_popcountll(seen[i]);
    return n;
}

uint64_t pageset_count(const pageset *s, unsigned shift)
{
    if (shift == 12)
        return s->pages;
    if (shift == CHUNK_SHIFT)
        return s->n;
    uint64_t n = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->t[i].space1)
            n += chunk_count_2m(&s->t[i]);
    return n;
}
