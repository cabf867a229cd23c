/* sa_array.h -- a small set-associative array of tagged entries.
 *
 * The common core of the page-walk caches (split, unified and page-table-entry
 * designs) and of the page-table-line caches of the memory model: each of them
 * is "sets x ways entries, a 64-bit tag compared whole, a little owner data,
 * repl.h replacement".  The owner decides what a tag means (a packed
 * level/PCID/VA prefix, an entry's physical address, a line number) and which
 * bits choose the set: every call takes an `index` whose low log2(sets) bits
 * select the set, so the owner never computes a set number itself.
 *
 * Invariants: within a set, valid entries have distinct tags (sa_fill
 * overwrites a matching entry in place rather than adding a second copy);
 * invalid ways are filled first, lowest way first; only when the set is full
 * does repl_victim choose.  A hit (sa_lookup) and an overwrite touch the
 * replacement state; a new fill calls repl_fill.
 *
 * Cost: a lookup, fill or invalidate compares at most `ways` tags; the
 * predicate flush and the walkers visit every entry.  No allocation after
 * sa_create. */
#ifndef MMUSIM_SA_ARRAY_H
#define MMUSIM_SA_ARRAY_H

#include "repl.h"
#include "mmusim/types.h"

#define SA_MAX_WAYS 64   /* repl.h keeps a set's PLRU tree in one 64-bit word */

/* One entry.  tag/val/aux belong to the owner; valid to the array. */
typedef struct sa_entry {
    uint64_t tag;   /* owner-defined key, compared whole */
    uint64_t val;   /* owner data (PWC: the cached paging entry) */
    uint32_t aux;   /* owner data (PWC: cumulative permissions) */
    bool valid;
} sa_entry;

typedef struct sa_array sa_array;

/* True when (sets, ways) is a geometry sa_create accepts: sets a power of
 * two >= 1, ways 1..SA_MAX_WAYS. */
bool sa_geometry_ok(unsigned sets, unsigned ways);
static inline bool sa_is_pow2(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* A replacement seed for the array numbered `n` of a structure whose config
 * seed is `seed` (splitmix64 of both), so arrays of one structure draw
 * different, reproducible random streams. */
uint64_t sa_seed(uint64_t seed, unsigned n);

/* NULL on a bad geometry (see sa_geometry_ok) or out of memory. */
sa_array *sa_create(unsigned sets, unsigned ways, repl_policy p, uint64_t seed);
void sa_free(sa_array *a);
unsigned sa_sets(const sa_array *a);
unsigned sa_ways(const sa_array *a);

/* The valid entry tagged `tag` in the set chosen by `index`, or NULL.  A hit
 * touches the replacement state.  The pointer stays valid until the next
 * fill, invalidate or flush of the array. */
sa_entry *sa_lookup(sa_array *a, uint64_t index, uint64_t tag);

/* Make `tag` present in the set chosen by `index` and return its entry for
 * the owner to write val/aux into: the matching entry if there is one
 * (touched), else the lowest invalid way, else repl_victim's way (both
 * counted as a fill).  *evicted (if non-NULL) says whether a valid entry with
 * another tag was replaced. */
sa_entry *sa_fill(sa_array *a, uint64_t index, uint64_t tag, bool *evicted);

/* Remove the entry tagged `tag` in the set chosen by `index`; 1 if one was
 * there, else 0. */
unsigned sa_invalidate(sa_array *a, uint64_t index, uint64_t tag);

/* Selects entries for sa_flush_if and sa_count_if. */
typedef bool (*sa_pred)(const sa_entry *e, void *ctx);

/* Remove every valid entry for which pred is true (every one if pred is
 * NULL); returns how many were removed. */
unsigned sa_flush_if(sa_array *a, sa_pred pred, void *ctx);
/* Count valid entries for which pred is true (all if pred is NULL). */
unsigned sa_count_if(const sa_array *a, sa_pred pred, void *ctx);

/* Visit every valid entry in set order, ways in order within a set. */
void sa_foreach(const sa_array *a, void (*fn)(const sa_entry *e, void *ctx), void *ctx);

#endif
