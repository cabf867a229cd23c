/* physmem.h -- the simulated physical memory image.
 *
 * A sparse byte-addressable memory of 4 KiB frames: a frame exists once it is
 * written (reads of a never-written frame return zeros, as freshly zeroed
 * memory would).  Page-table pages live here with their real x86 encodings,
 * and every walk reads them from here.  Frames are found through an
 * open-addressed hash table keyed by frame number, so memory use is
 * proportional to the frames touched, not to the physical address space.
 *
 * The image also carries a simple frame allocator for page-table pages
 * (physmem_alloc_frame): a bump pointer over [alloc_base, alloc_limit) with a
 * free list.  The OS model may replace it with its own allocator by handing
 * the page-table builder a different allocation callback. */
#ifndef MMUSIM_PHYSMEM_H
#define MMUSIM_PHYSMEM_H

#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct physmem physmem;

#define PHYSMEM_FRAME_SHIFT 12
#define PHYSMEM_FRAME_SIZE (1u << PHYSMEM_FRAME_SHIFT)

/* pa_bits: width of a physical address (MAXPHYADDR), 32..52.
 * alloc_base/alloc_limit: the byte range physmem_alloc_frame hands out,
 * both 4 KiB aligned. */
physmem *physmem_create(unsigned pa_bits, uint64_t alloc_base, uint64_t alloc_limit, char *err, size_t errlen);
void physmem_free(physmem *pm);

unsigned physmem_pa_bits(const physmem *pm);

/* Aligned 4- and 8-byte accesses (pa must be naturally aligned and below
 * 2^pa_bits; checked with assert). */
uint32_t physmem_read32(const physmem *pm, uint64_t pa);
uint64_t physmem_read64(const physmem *pm, uint64_t pa);
void physmem_write32(physmem *pm, uint64_t pa, uint32_t v);
void physmem_write64(physmem *pm, uint64_t pa, uint64_t v);

/* Zero the 4 KiB frame at pa (pa frame-aligned). */
void physmem_zero_frame(physmem *pm, uint64_t pa);

/* Allocate a zeroed 4 KiB frame from the built-in allocator; returns its
 * physical address, or UINT64_MAX when [alloc_base, alloc_limit) is
 * exhausted.  physmem_release_frame puts a frame back on the free list. */
uint64_t physmem_alloc_frame(physmem *pm);
void physmem_release_frame(physmem *pm, uint64_t pa);

/* Frames currently materialised in the image (for memory accounting). */
size_t physmem_frames_present(const physmem *pm);

#ifdef __cplusplus
}
#endif

#endif
