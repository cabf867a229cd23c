/* vma.c -- an address space's virtual memory areas (see vma.h).
 *
 * Invariant: v[0..n) is sorted by start, the areas are disjoint and each is
 * non-empty.  Every change keeps it; merging is applied locally around the
 * change, as Linux's vma_merge does, so no two adjacent compatible areas
 * survive an operation that touched them. */
#include "vma.h"

#include <stdlib.h>
#include <string.h>

void vma_set_free(vma_set *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

void vma_set_copy(vma_set *dst, const vma_set *src)
{
    dst->v = NULL;
    dst->n = dst->cap = 0;
    if (!src->n)
        return;
    mm_grow(&dst->v, &dst->cap, 0, sizeof *dst->v, src->n);
    memcpy(dst->v, src->v, src->n * sizeof *src->v);
    dst->n = src->n;
}

size_t vma_first_ending_after(const vma_set *s, uint64_t va)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].end <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

vma *vma_find(const vma_set *s, uint64_t va)
{
    size_t i = vma_first_ending_after(s, va);
    return i < s->n && s->v[i].start <= va ? &s->v[i] : NULL;
}

static void insert_at(vma_set *s, size_t i, const vma *v)
{
    mm_grow(&s->v, &s->cap, s->n, sizeof *s->v, 8);
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = *v;
    s->n++;
}

static void delete_at(vma_set *s, size_t i)
{
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

static uint64_t pages(uint64_t bytes)
{
    return bytes >> 12;
}

/* a directly followed by b, with the same everything and contiguous offsets. */
static bool can_merge(const vma *a, const vma *b)
{
    return a->end == b->start && a->prot == b->prot && a->flags == b->flags && a->implicit == b->implicit &&
           a->file == b->file && a->pgoff + pages(a->end - a->start) == b->pgoff;
}

/* Merge the areas in [lo, hi] (indices, clamped) with their right
 * neighbours where compatible. */
static void merge_range(vma_set *s, size_t lo, size_t hi)
{
    if (hi >= s->n)
        hi = s->n ? s->n - 1 : 0;
    for (size_t i = lo; i < s->n && i <= hi;) {
        if (i + 1 < s->n && can_merge(&s->v[i], &s->v[i + 1])) {
            s->v[i].end = s->v[i + 1].end;
            delete_at(s, i + 1);
            if (hi > 0)
                hi--;
        } else {
            i++;
        }
    }
}

void vma_insert(vma_set *s, const vma *v)
{
    size_t i = vma_first_ending_after(s, v->start);
    insert_at(s, i, v);
    merge_range(s, i ? i - 1 : 0, i + 1);
}

/* Split the area containing addr so that addr starts an area. */
static void split_at(vma_set *s, uint64_t addr)
{
    size_t i = vma_first_ending_after(s, addr);
    if (i >= s->n || s->v[i].start >= addr)
        return;
    vma right = s->v[i];
    right.pgoff += pages(addr - right.start);
    right.start = addr;
    s->v[i].end = addr;
    insert_at(s, i + 1, &right);
}

void vma_remove(vma_set *s, uint64_t start, uint64_t end, void (*removed)(void *ctx, const vma *piece), void *ctx)
{
    if (start >= end)
        return;
    split_at(s, start);
    split_at(s, end);
    size_t i = vma_first_ending_after(s, start);
    while (i < s->n && s->v[i].start < end) {
        if (removed)
            removed(ctx, &s->v[i]);
        delete_at(s, i);
    }
}

void vma_protect(vma_set *s, uint64_t start, uint64_t end, uint32_t prot)
{
    if (start >= end)
        return;
    split_at(s, start);
    split_at(s, end);
    size_t first = vma_first_ending_after(s, start), i = first;
    for (; i < s->n && s->v[i].start < end; i++)
        s->v[i].prot = prot;
    merge_range(s, first ? first - 1 : 0, i);
}
