/* types.h -- small value types shared by every part of the mmusim model.
 *
 * A memory reference is a value struct {va, kind, priv} (as Dinero IV's
 * d4memref is); page sizes are identified by their shift (12 = 4 KiB, 21 =
 * 2 MiB, 22 = 4 MiB, 30 = 1 GiB) and, where a bit set is handier, by an
 * index into MM_PS_* below.  Times are in core cycles, as uint64_t. */
#ifndef MMUSIM_TYPES_H
#define MMUSIM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mm_kind {
    MM_LOAD = 0,
    MM_STORE = 1,
    MM_IFETCH = 2,
} mm_kind;

typedef enum mm_priv {
    MM_USER = 0,       /* CPL 3 */
    MM_SUPERVISOR = 1, /* CPL 0-2 */
} mm_priv;

/* Page-size indices.  MM_PS_2M also names the 4 MiB leaf of x86-32 PSE
 * paging: it is "the page size of a leaf one level above the PTE", which is
 * the slot real cores give it (Intel's "2M/4M" TLB arrays). */
enum {
    MM_PS_4K = 0,
    MM_PS_2M = 1,
    MM_PS_1G = 2,
    MM_PS_COUNT = 3,
};

#define MM_PS_BIT(ps) (1u << (ps))

/* Index (MM_PS_*) of a page shift; -1 if the shift is not a page size. */
static inline int mm_ps_of_shift(unsigned shift)
{
    switch (shift) {
    case 12: return MM_PS_4K;
    case 21: case 22: return MM_PS_2M;
    case 30: return MM_PS_1G;
    default: return -1;
    }
}

/* Short name of a page-size index: "4k", "2m", "1g". */
const char *mm_ps_name(int ps);

/* Replacement policies of the set-associative structures (TLBs, page-walk
 * caches, page-table-line caches): their configurations name one; the
 * policies themselves live in repl.c. */
typedef enum repl_policy {
    REPL_LRU = 0,
    REPL_PLRU,
    REPL_FIFO,
    REPL_RANDOM,
    REPL_SRRIP,
    REPL_COUNT
} repl_policy;

/* Name <-> policy: "lru", "plru", "fifo", "random", "srrip".
 * repl_by_name returns -1 for an unknown name. */
const char *repl_name(repl_policy p);
int repl_by_name(const char *name);

/* Cycles: every time in the model is an absolute core-cycle number. */
typedef uint64_t mm_cycle;

/* Make room for one more element in a growable array: when *n == *cap,
 * double *cap (from `first`) and realloc *base.  Aborts when the host is out
 * of memory -- the model has no sensible way to go on. */
void mm_grow(void *base, size_t *cap, size_t n, size_t elem, size_t first);

/* Allocation for the model's own structures: when the host is out of
 * memory there is no sensible way to go on, so these abort instead of
 * returning NULL (as mm_grow does).  Sizes that come from input are bounded
 * by their readers before they get here. */
void *mm_xmalloc(size_t size);
void *mm_xcalloc(size_t n, size_t size);
void *mm_xrealloc(void *p, size_t size);
char *mm_xstrdup(const char *s);

/* Write a one-line message into the caller's error buffer (err may be NULL
 * or errlen 0: then nothing is written).  Returns -1, so a failing function
 * can `return mm_errf(err, errlen, "...", ...);`. */
int mm_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif
