/* pageset.h -- an exact set of distinct 4 KiB pages of many address
 * spaces, compact enough to count a trace's footprint in any size.
 *
 * `trace info` counts the distinct pages a trace touches (footprint.4k,
 * .2m, .1g).  A hash set of (space, page) pairs costs ~90 bytes a page; a
 * 64 GiB footprint then needs 1.5 GB.  Here pages are grouped by 1 GiB
 * chunk (space, va >> 30), and a chunk keeps the 18-bit offsets of its
 * pages in an open-addressed set of 32-bit words while it has few, and in
 * a bitmap of 2^18 bits (32 KiB) once the set would outgrow it.
 *
 * Memory, per distinct 4 KiB page: at most 10.7 bytes in a chunk's set (it
 * is at least 3/8 full), at most 5.3 in a bitmap (which starts at 6,144
 * pages) and 0.125 when a chunk is full; plus the chunk's own 32 bytes in
 * a table at least 3/8 full (~85 bytes), shared by its pages.  Only
 * footprints of one or two pages per GiB pay mostly for chunks.
 *
 * The 2 MiB and 1 GiB counts are derived when asked: a 1 GiB page is a
 * chunk, a 2 MiB page a distinct value of offset >> 9 within one. */
#ifndef MMUSIM_PAGESET_H
#define MMUSIM_PAGESET_H

#include <stdint.h>

typedef struct pageset pageset;

pageset *pageset_create(void);   /* NULL out of host memory */
void pageset_free(pageset *s);

/* Add the 4 KiB page holding va in address space `space` (an id the
 * caller chooses, below UINT64_MAX).  0, or -1 out of host memory (the set is
 * unchanged). */
int pageset_add(pageset *s, uint64_t space, uint64_t va);

/* Distinct pages of 2^shift bytes (shift 12, 21 or 30) holding the pages
 * added, over all spaces. */
uint64_t pageset_count(const pageset *s, unsigned shift);

#endif
