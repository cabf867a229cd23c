/* vma.h -- the virtual memory areas of one address space (Linux's
 * vm_area_struct list), for the OS model (os.h).
 *
 * A VMA set is a sorted array of disjoint [start, end) ranges, each with its
 * protection (OS_PROT_*), its mapping flags (OS_MAP_*) and its backing object
 * in the page cache.  The operations follow Linux's split and merge rules:
 * removing or re-protecting part of an area splits it (the right piece's
 * file offset moves with it), and areas that touch and agree in every field,
 * with contiguous offsets, are merged (vma_merge), so mprotect back to the
 * old protection leaves one area again.
 *
 * Lookups are a binary search; insertion and removal move the tail of the
 * array (O(areas)), which suits the tens to thousands of areas traces make. */
#ifndef MMUSIM_VMA_H
#define MMUSIM_VMA_H

#include "mmusim/types.h"

/* Backing-object ids at or above VMA_SHMEM name shared anonymous memory
 * (one per mmap call); below it they are the 32-bit file ids of os_mmap. */
#define VMA_SHMEM (1ull << 32)

typedef struct vma {
    uint64_t start, end;   /* [start, end), 4 KiB aligned, start < end */
    uint64_t file;         /* page-cache object (file id or VMA_SHMEM + n); 0 for private anonymous */
    uint64_t pgoff;        /* page index in `file` of `start`; private anonymous: start >> 12 */
    uint32_t prot;         /* OS_PROT_* */
    uint32_t flags;        /* OS_MAP_* */
    bool implicit;         /* made on first touch (os.h): gains permissions on demand */
} vma;

typedef struct vma_set {
    vma *v;                /* sorted by start; disjoint */
    size_t n, cap;
} vma_set;

/* A zeroed vma_set is empty and valid. */
void vma_set_free(vma_set *s);
/* dst (empty or freed) becomes a copy of src. */
void vma_set_copy(vma_set *dst, const vma_set *src);

/* The area containing va, or NULL.  The pointer is valid until the next
 * change of the set. */
vma *vma_find(const vma_set *s, uint64_t va);
/* Index of the first area that ends after va (s->n when none). */
size_t vma_first_ending_after(const vma_set *s, uint64_t va);

/* Add an area that overlaps none of the set's, merging it with compatible
 * neighbours. */
void vma_insert(vma_set *s, const vma *v);

/* Remove [start, end) from every area it overlaps, splitting an area it
 * cuts in two.  `removed` (may be NULL) sees each removed piece first. */
void vma_remove(vma_set *s, uint64_t start, uint64_t end, void (*removed)(void *ctx, const vma *piece), void *ctx);

/* Give the parts of areas inside [start, end) protection `prot` (holes stay
 * holes), splitting at the ends and merging afterwards. */
void vma_protect(vma_set *s, uint64_t start, uint64_t end, uint32_t prot);

#endif
