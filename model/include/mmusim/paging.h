/* paging.h -- paging modes as data, x86 entry encodings, and the page-table
 * builder.
 *
 * A paging mode is decoded into {levels, index bits per level, entry size,
 * which levels may hold leaves, address widths} (as Spike's walk() does), so
 * x86-64 4-level, LA57 5-level, PAE 3-level and x86-32 2-level all go through
 * one walk loop and one builder.  Levels are numbered by depth from the leaf:
 * level 1 holds PTEs (index at bit 12), level 2 PMDs (PDEs), level 3 PUDs
 * (PDPTEs), level 4 P4Ds/PML4Es, level 5 PML5Es.  The top level of a mode is
 * `levels`.  Names follow Linux, counted from the top: the top level is
 * always "pgd" (so 4-level names are pgd/pud/pmd/pte, as Linux folds p4d).
 *
 * The builder writes real x86 entries into the physical memory image,
 * allocating 4 KiB table pages on demand, and keeps a count of table pages per
 * level, so page-table memory can be reported. */
#ifndef MMUSIM_PAGING_H
#define MMUSIM_PAGING_H

#include "mmusim/physmem.h"
#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- x86 paging-entry bits (Intel SDM vol. 3A, 4.5) ------------------ */
#define PTE_P (1ull << 0)    /* present */
#define PTE_RW (1ull << 1)   /* writable */
#define PTE_US (1ull << 2)   /* user accessible */
#define PTE_PWT (1ull << 3)  /* page-level write-through */
#define PTE_PCD (1ull << 4)  /* page-level cache disable */
#define PTE_A (1ull << 5)    /* accessed */
#define PTE_D (1ull << 6)    /* dirty (leaves only) */
#define PTE_PS (1ull << 7)   /* page size: leaf above level 1 (PAT at level 1) */
#define PTE_G (1ull << 8)    /* global (leaves only) */
#define PTE_XD (1ull << 63)  /* execute disable (8-byte entries only) */

/* The flag bits a caller may pass to pgtable_map/protect. */
#define PTE_FLAG_MASK (PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | PTE_XD)

#define PAGING_MAX_LEVELS 5

typedef enum paging_kind {
    PAGING_X86_64 = 0, /* 4-level, 48-bit VA */
    PAGING_LA57 = 1,   /* 5-level, 57-bit VA */
    PAGING_PAE = 2,    /* 3-level, 32-bit VA, 8-byte entries */
    PAGING_X86_32 = 3, /* 2-level, 32-bit VA, 4-byte entries, PSE */
    PAGING_KIND_COUNT
} paging_kind;

/* A paging mode.  Arrays are indexed by level (1..levels); index 0 unused.
 * Invariant: shift[1] == 12 and shift[l+1] == shift[l] + idx_bits[l];
 * va_bits == shift[levels] + idx_bits[levels]. */
typedef struct paging_mode {
    paging_kind kind;
    const char *name;        /* "x86-64", "la57", "pae", "x86-32" */
    unsigned levels;         /* 2..5 */
    unsigned va_bits;        /* linear-address width */
    unsigned entry_bytes;    /* 8, or 4 for x86-32 */
    bool canonical;          /* VA must be sign-extended from bit va_bits-1 */
    bool has_xd;             /* entries carry XD (bit 63) */
    unsigned idx_bits[PAGING_MAX_LEVELS + 1];
    unsigned shift[PAGING_MAX_LEVELS + 1];    /* VA bit where the level's index starts */
    bool leaf_ok[PAGING_MAX_LEVELS + 1];      /* level may map a page (PS=1 above level 1) */
    bool no_perm[PAGING_MAX_LEVELS + 1];      /* entry has no R/W, U/S, XD (PAE PDPTE) */
    const char *linux_name[PAGING_MAX_LEVELS + 1];  /* pgd/p4d/pud/pmd/pte */
    const char *intel_name[PAGING_MAX_LEVELS + 1];  /* PML5/PML4/PDPT/PD/PT */
} paging_mode;

/* The static description of a mode. */
const paging_mode *paging_mode_get(paging_kind k);
/* Look a mode up by its name; NULL if unknown. */
const paging_mode *paging_mode_by_name(const char *name);

/* Index of va at `level`. */
static inline unsigned paging_index(const paging_mode *m, unsigned level, uint64_t va)
{
    return (unsigned)((va >> m->shift[level]) & ((1ull << m->idx_bits[level]) - 1));
}

/* True when va is a legal linear address of the mode (below 2^va_bits, or
 * canonical for the 64-bit modes). */
bool paging_va_ok(const paging_mode *m, uint64_t va);

/* Page shift of a leaf found at `level` (12, 21, 22 or 30). */
static inline unsigned paging_leaf_shift(const paging_mode *m, unsigned level)
{
    return m->shift[level];
}

/* Reserved-bit mask of an entry at `level` given its value (the mask depends
 * on PS), for physical-address width pa_bits.  A present entry with any of
 * these bits set causes a RSVD page fault. */
uint64_t paging_rsvd_mask(const paging_mode *m, unsigned level, uint64_t entry, unsigned pa_bits);

/* Physical address the entry points at: the next table (non-leaf) or the
 * page frame base (leaf).  Handles PSE-36 4 MiB entries. */
uint64_t paging_entry_addr(const paging_mode *m, unsigned level, uint64_t entry);

/* True when a present entry at `level` is a leaf. */
static inline bool paging_is_leaf(const paging_mode *m, unsigned level, uint64_t entry)
{
    return level == 1 || (m->leaf_ok[level] && (entry & PTE_PS));
}

/* Read the entry of table `table_pa` at index `idx` (entry_bytes wide). */
uint64_t paging_read_entry(const paging_mode *m, const physmem *pm, uint64_t entry_pa);
void paging_write_entry(const paging_mode *m, physmem *pm, uint64_t entry_pa, uint64_t v);

/* Physical address of the entry for va in the table at table_pa. */
static inline uint64_t paging_entry_pa(const paging_mode *m, unsigned level, uint64_t table_pa, uint64_t va)
{
    return table_pa + (uint64_t)paging_index(m, level, va) * m->entry_bytes;
}

/* ---- the page-table builder ------------------------------------------- */

typedef struct pgtable pgtable;

/* Frame allocation for table pages.  Returns a 4 KiB-aligned physical
 * address of a zeroed frame, or UINT64_MAX when none is left. */
typedef struct pgtable_alloc {
    uint64_t (*alloc)(void *ctx);
    void (*release)(void *ctx, uint64_t pa);
    void *ctx;
} pgtable_alloc;

/* Create an empty address space (its root table is allocated at once).
 * alloc may be NULL: the physmem built-in allocator is used. */
pgtable *pgtable_create(const paging_mode *m, physmem *pm, const pgtable_alloc *alloc, char *err, size_t errlen);
/* Free the builder and release every table page it allocated. */
void pgtable_free(pgtable *pt);

const paging_mode *pgtable_mode(const pgtable *pt);
/* Physical address of the root table (what CR3 points at). */
uint64_t pgtable_root(const pgtable *pt);

typedef enum pgtable_err {
    PGT_OK = 0,
    PGT_EALIGN,    /* va, pa or length not aligned to the page size */
    PGT_ERANGE,    /* va range outside the mode's address space, or pa too wide */
    PGT_ESIZE,     /* page size not a leaf size of this mode */
    PGT_ENOMEM,    /* no frame for a table page */
    PGT_EEXIST,    /* a larger leaf already maps part of the range */
} pgtable_err;

const char *pgtable_strerror(pgtable_err e);

/* Map [va, va+len) to [pa, pa+len) with pages of 1<<page_shift bytes and
 * the given PTE_* flags (P is implied; PS is set for large leaves).  Existing
 * smaller mappings under a new large leaf are replaced (their tables freed).
 * Intermediate entries are created present, writable and user (permissions
 * are decided at the leaf, as Linux does), without XD. */
pgtable_err pgtable_map(pgtable *pt, uint64_t va, uint64_t pa, uint64_t len,
                        unsigned page_shift, uint64_t flags);

/* Remove every leaf mapping in [va, va+len) (4 KiB aligned).  A large leaf
 * only partly inside the range is split first.  Tables left empty are freed.
 * Returns the number of leaf entries cleared via *cleared if non-NULL. */
pgtable_err pgtable_unmap(pgtable *pt, uint64_t va, uint64_t len, uint64_t *cleared);

/* Change flags of every leaf in [va, va+len): set `set`, clear `clear`. */
pgtable_err pgtable_protect(pgtable *pt, uint64_t va, uint64_t len, uint64_t set, uint64_t clear);

/* Call fn for every leaf that maps a byte of [first, last] (inclusive, one
 * half of a canonical space), in address order, with the leaf's first
 * virtual address (canonical), its level, its entry and the entry's
 * physical address.  Only present entries are descended, so a sparse range
 * costs what is mapped in it; a large leaf partly in the range is visited
 * whole, not split.  fn may rewrite the leaf it is given (through
 * paging_write_entry or pgtable_protect of exactly that leaf's range) but
 * must not add or free tables. */
typedef void (*pgtable_leaf_fn)(void *ctx, uint64_t va, unsigned level, uint64_t entry, uint64_t entry_pa);
void pgtable_visit_leaves(pgtable *pt, uint64_t first, uint64_t last, pgtable_leaf_fn fn, void *ctx);

/* Set a non-leaf entry directly (the OS model uses this to share the kernel
 * half and to copy top-level entries from init_mm). */
void pgtable_set_root_entry(pgtable *pt, unsigned index, uint64_t entry);
uint64_t pgtable_root_entry(const pgtable *pt, unsigned index);

/* Functional translation without TLBs or timing: the leaf entry for va (0 if
 * unmapped), its level via *level and page frame base via *pa. */
uint64_t pgtable_lookup(const pgtable *pt, uint64_t va, unsigned *level, uint64_t *pa);

/* Table pages currently allocated at `level` (the root counts at `levels`);
 * bytes = pages * 4096 (PAE's 32-byte PDPT is counted as one page). */
uint64_t pgtable_pages(const pgtable *pt, unsigned level);
uint64_t pgtable_bytes(const pgtable *pt);

#ifdef __cplusplus
}
#endif

#endif
