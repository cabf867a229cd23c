/* pairmap.h -- a hash map from pairs of 64-bit integers to 64-bit values.
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full; deletion by backward shift, so there are no tombstones
 * and a lookup stops at the first empty slot.  The slots are visible
 * (pairmap_slot, PAIRMAP_EMPTY) so that a caller can sweep them in place,
 * as reclaim's clock hand does over the page cache.
 *
 * The first key must never be PAIRMAP_EMPTY (UINT64_MAX): it marks a free
 * slot.  Out of host memory aborts: the model has no way to go on. */
#ifndef MMUSIM_PAIRMAP_H
#define MMUSIM_PAIRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAIRMAP_EMPTY UINT64_MAX

typedef struct pairmap_slot {
    uint64_t a, b, v;        /* key (a, b) -> value v; a == PAIRMAP_EMPTY: free */
} pairmap_slot;

/* Zero-initialised ({0}) is an empty map. */
typedef struct pairmap {
    pairmap_slot *s;
    size_t cap, n;           /* cap: slots, 0 or a power of two; n: entries */
} pairmap;

/* True if (a, b) is present; its value in *v (v may be NULL). */
bool pairmap_get(const pairmap *p, uint64_t a, uint64_t b, uint64_t *v);
/* Insert or replace (a, b) -> v. */
void pairmap_put(pairmap *p, uint64_t a, uint64_t b, uint64_t v);
/* Remove (a, b); false if it was absent. */
bool pairmap_del(pairmap *p, uint64_t a, uint64_t b);
/* Every entry whose first key is a, copied into a new array (free it);
 * *n gets their number.  O(capacity). */
pairmap_slot *pairmap_collect(const pairmap *p, uint64_t a, size_t *n);
/* Release the table; the map is empty again. */
void pairmap_free(pairmap *p);

#endif
