/* physmem.c -- sparse physical memory image (see physmem.h).
 *
 * Frames live in an open-addressed hash table (linear probing, power-of-two
 * capacity, load factor <= 1/2, so an unsuccessful probe visits about two
 * slots on average).  Frames are never removed from the table: a released
 * frame keeps its storage and is zeroed when reallocated. */
#include "mmusim/physmem.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct frame_slot {
    uint64_t fn;      /* frame number + 1; 0 = empty slot */
    uint8_t *data;    /* PHYSMEM_FRAME_SIZE bytes */
} frame_slot;

struct physmem {
    unsigned pa_bits;
    frame_slot *slot;
    size_t cap;       /* power of two */
    size_t used;
    uint64_t next, limit;   /* bump allocator over [next, limit) */
    uint64_t *freelist;     /* released frames, used LIFO */
    size_t nfree, freecap;
};

static size_t hash_fn(uint64_t fn, size_t cap)
{
    /* Fibonacci hashing: frames of a table region are consecutive, and the
     * multiply spreads them across the table. */
    return (size_t)((fn * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

physmem *physmem_create(unsigned pa_bits, uint64_t alloc_base, uint64_t alloc_limit, char *err, size_t errlen)
{
    if (pa_bits < 32 || pa_bits > 52) {
        mm_errf(err, errlen, "physmem: %u physical address bits (32..52)", pa_bits);
        return NULL;
    }
    if ((alloc_base | alloc_limit) & (PHYSMEM_FRAME_SIZE - 1) || alloc_base > alloc_limit ||
        (alloc_limit && (alloc_limit - 1) >> pa_bits)) {
        mm_errf(err, errlen, "physmem: allocation range [0x%" PRIx64 ", 0x%" PRIx64 ") is not 4 KiB-aligned "
                "frames below 2^%u", alloc_base, alloc_limit, pa_bits);
        return NULL;
    }
    physmem *pm = mm_xcalloc(1, sizeof *pm);
    pm->pa_bits = pa_bits;
    pm->cap = 1024;
    pm->slot = mm_xcalloc(pm->cap, sizeof *pm->slot);
    pm->next = alloc_base;
    pm->limit = alloc_limit;
    return pm;
}

void physmem_free(physmem *pm)
{
    if (!pm)
        return;
    for (size_t i = 0; i < pm->cap; i++)
        free(pm->slot[i].data);
    free(pm->slot);
    free(pm->freelist);
    free(pm);
}

unsigned physmem_pa_bits(const physmem *pm)
{
    return pm->pa_bits;
}

static frame_slot *find_slot(const physmem *pm, uint64_t fn)
{
    size_t i = hash_fn(fn, pm->cap);
    for (;;) {
        frame_slot *s = &pm->slot[i];
        if (s->fn == fn + 1 || s->fn == 0)
            return s;
        i = (i + 1) & (pm->cap - 1);
    }
}

static void grow(physmem *pm)
{
    frame_slot *old = pm->slot;
    size_t oldcap = pm->cap;
    pm->cap *= 2;
    pm->slot = mm_xcalloc(pm->cap, sizeof *pm->slot);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].fn)
            *find_slot(pm, old[i].fn - 1) = old[i];
    free(old);
}

/* The frame's bytes, materialised (zeroed) if absent. */
static uint8_t *frame_for_write(physmem *pm, uint64_t pa)
{
    assert(pa >> pm->pa_bits == 0);
    uint64_t fn = pa >> PHYSMEM_FRAME_SHIFT;
    frame_slot *s = find_slot(pm, fn);
    if (s->fn == 0) {
        if (2 * (pm->used + 1) > pm->cap) {
            grow(pm);
            s = find_slot(pm, fn);
        }
        s->data = mm_xcalloc(1, PHYSMEM_FRAME_SIZE);
        s->fn = fn + 1;
        pm->used++;
    }
    return s->data;
}

static const uint8_t *frame_for_read(const physmem *pm, uint64_t pa)
{
    assert(pa >> pm->pa_bits == 0);
    const frame_slot *s = find_slot(pm, pa >> PHYSMEM_FRAME_SHIFT);
    return s->fn ? s->data : NULL;
}

uint32_t physmem_read32(const physmem *pm, uint64_t pa)
{
    assert((pa & 3) == 0);
    const uint8_t *f = frame_for_read(pm, pa);
    uint32_t v = 0;
    if (f)
        memcpy(&v, f + (pa & (PHYSMEM_FRAME_SIZE - 1)), sizeof v);
    return v;
}

uint64_t physmem_read64(const physmem *pm, uint64_t pa)
{
    assert((pa & 7) == 0);
    const uint8_t *f = frame_for_read(pm, pa);
    uint64_t v = 0;
    if (f)
        memcpy(&v, f + (pa & (PHYSMEM_FRAME_SIZE - 1)), sizeof v);
    return v;
}

void physmem_write32(physmem *pm, uint64_t pa, uint32_t v)
{
    assert((pa & 3) == 0);
    memcpy(frame_for_write(pm, pa) + (pa & (PHYSMEM_FRAME_SIZE - 1)), &v, sizeof v);
}

void physmem_write64(physmem *pm, uint64_t pa, uint64_t v)
{
    assert((pa & 7) == 0);
    memcpy(frame_for_write(pm, pa) + (pa & (PHYSMEM_FRAME_SIZE - 1)), &v, sizeof v);
}

void physmem_zero_frame(physmem *pm, uint64_t pa)
{
    assert((pa & (PHYSMEM_FRAME_SIZE - 1)) == 0);
    frame_slot *s = find_slot(pm, pa >> PHYSMEM_FRAME_SHIFT);
    if (s->fn)
        memset(s->data, 0, PHYSMEM_FRAME_SIZE);
}

uint64_t physmem_alloc_frame(physmem *pm)
{
    uint64_t pa;
    if (pm->nfree > 0) {
        pa = pm->freelist[--pm->nfree];
    } else {
        if (pm->next >= pm->limit || pm->next >> pm->pa_bits)
            return UINT64_MAX;
        pa = pm->next;
        pm->next += PHYSMEM_FRAME_SIZE;
    }
    physmem_zero_frame(pm, pa);
    return pa;
}

void physmem_release_frame(physmem *pm, uint64_t pa)
{
    mm_grow(&pm->freelist, &pm->freecap, pm->nfree, sizeof *pm->freelist, 64);
    pm->freelist[pm->nfree++] = pa;
}

size_t physmem_frames_present(const physmem *pm)
{
    return pm->used;
}
