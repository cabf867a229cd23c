/* os_internal.h -- what the files of the OS model share (model/src/os/;
 * the API is mmusim/os.h).
 *
 * Structures:
 *  - mm: an address space.  Its page table `pt` holds the user half and, in
 *    its kernel-half top-level entries, pointers to init_mm's kernel tables
 *    (shared, never copied or freed by it).  With KPTI, `upt` is the user
 *    page table: its own root, whose user-half top-level entries mirror
 *    pt's (so every lower table is shared, as Linux's shadow PGD does).
 *    VMAs live in a vma_set (vma.h).
 *  - The page cache and the record of reclaimed anonymous pages are pair
 *    maps (base/pairmap.h): (file, page index) -> frame, and (mm id,
 *    virtual page number) -> 1.
 *  - Reclaim keeps a list of resident user mappings (mm id, va, level) in
 *    the order they were made and sweeps it with a clock hand (reclaim.c).
 *
 * Frames: every frame -- user pages, page-cache pages, page-table pages --
 * comes from the frame allocator (frames.h); a frame's reference count is
 * the number of page-table leaves mapping it plus one for the page cache
 * when it is cached.  Every frame of a huge page carries the count, so a
 * huge page can be split without redistributing references.
 *
 * Allocation never happens inside a page-table operation that could fail
 * half-way: each path first makes room (os_room: enough free frames for the
 * data pages and the tables the builder will need, reclaiming under
 * `exhaustion: reclaim`), then allocates, then maps.
 *
 * Where things are: the fault handler (fault.c) dispatches to demand-zero
 * pages (fault.c), huge pages (thp.c), copy-on-write (fork.c), the page
 * cache (pagecache.c), reclaimed pages (reclaim.c) and the kernel half
 * (kernel.c); every page-table change ends with the TLB invalidation of
 * shootdown.c.  Functions shared between files carry the os_ prefix and are
 * declared below, by file. */
#ifndef MMUSIM_OS_INTERNAL_H
#define MMUSIM_OS_INTERNAL_H

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../frames.h"
#include "mmusim/core.h"
#include "mmusim/memsys.h"
#include "mmusim/os.h"
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/tlb.h"
#include "../vma.h"
#include "mmusim/walker.h"

#include "../base/pairmap.h"

#define PAGE 4096ull
#define PAGE_MASK (~(PAGE - 1))
#define MAX_CPUS 64                    /* cpumask is one 64-bit word */
#define IMPLICIT_SPAN (2ull << 20)     /* an implicit VMA covers the 2 MiB-aligned region of the touch */
#define KPTI_USER_PCID 0x800u          /* Linux: user PCID = kernel PCID | (1 << X86_CR3_PTI_PCID_USER_BIT) */
#define PCID_OWNERS 4095u              /* CTX_PCID: mmu_switch_to maps owner n to PCID n % 4095 + 1 */
#define KPTI_PCID_OWNERS 2047u         /* ... and under KPTI kernel PCIDs stay below 0x800 */
/* Handler calls for one access before it is declared stuck.  The longest
 * legitimate chain is a kernel touch of a fresh implicit mapping: demand
 * fault in init_mm, then the vmalloc sync of a new top-level entry. */
#define MAX_FAULT_RETRIES 8
#define NO_ID UINT64_MAX
#define MAX_SHARERS 64                 /* reclaim passes over an anonymous page mapped more often */
#define ERR_LEN 256                    /* os_error's message */

#define PROT_ANY (OS_PROT_READ | OS_PROT_WRITE | OS_PROT_EXEC)

typedef struct mm {
    uint64_t id;            /* unique, never reused; init_mm is 0 */
    uint64_t owner;         /* the ASID owner given to mmu_switch_to (see os_owner_alloc) */
    unsigned users;         /* processes running in it */
    pgtable *pt;            /* user half + shared kernel half */
    pgtable *upt;           /* KPTI user page table, else NULL */
    vma_set vmas;
    bool declared;          /* the trace mapped something here: no implicit VMAs */
    uint64_t cpumask;       /* CPUs it is live on, or was since their last flush of it */
    uint64_t rss;           /* 4 KiB pages mapped (a huge page counts its size) */
    uint64_t huge[PAGING_MAX_LEVELS + 1];   /* huge leaves mapped, by level */
    uint64_t nswapped;      /* reclaimed pages not touched since */
} mm;

typedef struct proc {
    uint32_t pid;
    mm *mm;
} proc;

/* A user mapping made by a fault or a fork, for the reclaim clock.  Entries
 * go stale (munmap, exit, a split): they are checked when the hand reaches
 * them and dropped when stale (mm_id = NO_ID). */
typedef struct resident {
    uint64_t va;
    uint64_t mm_id;
    unsigned level;
} resident;

/* What the per-process counters attribute (counters.c): a CPU's counts,
 * or a process's share of them. */
typedef struct proc_counts {
    uint64_t instructions, stall, walk_cycles;
    mmu_kind_counts k[3];   /* by mm_kind */
} proc_counts;

/* A process's attributed counts; kept after it exits. */
typedef struct proc_stat {
    uint32_t pid;
    proc_counts c;
} proc_stat;

typedef struct os_cpu {
    mmu *mmu;
    unsigned ok;            /* bit p: an access at privilege p may go straight to the MMU */
    uint8_t pend_kind, pend_priv;   /* the access in mmu_access, for access_resume */
    uint64_t pend_va;
    os *os;
    unsigned index;
    mm *mm;                 /* current address space; NULL until the CPU first runs something */
    mm_priv priv;           /* KPTI: whose CR3 is loaded (user or kernel page table) */
    unsigned l1lat[3];      /* L1 TLB latency by mm_kind */
    uint64_t stall;         /* translation cycles beyond an L1 hit */
    bool timed;             /* data or core: an access continues after its translation (access.c) */
    bool data;              /* memsys_data models program data (memsys scope all) */
    core *core;             /* the core model, or NULL (core.model off) */
    mm_cycle charged;       /* end of the last cost charged (mmu_now does not see mmu_advance) */
    uint64_t instructions;
    uint32_t pid;
    bool has_pid;           /* runs process `pid` (false: init_mm after an exit) */
    proc_counts since;      /* this CPU's counts when `pid` last began running (os_attribute) */
    uint16_t kpcid;         /* kernel PCID of the current mm, as mmu_switch_to chose it */
    uint64_t *slot_owner;   /* CTX_RECYCLE: mm id in each ASID slot (mirrors mmu_switch_to) */
    bool *user_stale;       /* CTX_RECYCLE + KPTI: the slot was flushed, its user PCID not yet
                               (Linux's per-ASID user_pcid_flush_mask) */
} os_cpu;

struct os {
    mm_config cfg;
    const paging_mode *mode;
    physmem *pm;
    memsys *ms;
    frames *fr;
    pgtable_alloc talloc;
    unsigned ncpus;
    os_cpu *cpu;
    unsigned cur_cpu;       /* CPU of the record or access being handled: initiator of shootdowns */
    bool pcid;              /* cpu.context uses PCIDs */
    bool oom;
    bool untimed;           /* os_set_untimed: os_charge charges nothing */

    uint64_t user_top;      /* user space is [0, user_top) */
    uint64_t kernel_base;   /* kernel half is [kernel_base, kernel_end) */
    uint64_t kernel_end;
    unsigned kidx_first, kidx_end;   /* its top-level indices */
    uint64_t xd;            /* PTE_XD when the mode has it */

    mm *init;
    mm **by_id;
    size_t nids, capids;
    proc *procs;            /* sorted by pid */
    size_t nprocs, capprocs;
    bool kernel_declared;   /* a OS_MAP_KERNEL mmap was seen: no implicit kernel VMAs */

    pairmap cache;             /* (file, page index) -> frame */
    pairmap swapped;           /* (mm id, vpn) -> 1 */
    uint64_t next_shmem;
    resident *res;
    size_t nres, capres, hand;
    size_t cache_hand;
    bool cache_idle_maybe;  /* a cached page may have lost its last mapping */

    uint64_t *owner_free;   /* CTX_PCID: owner numbers freed by exits, reused last-in first-out */
    size_t nowner_free, capowner_free;
    uint64_t owner_next, owner_limit;

    uint64_t rss_total;
    os_counters c;
    proc_stat *pstat;       /* per-process counts, in order of first attribution */
    size_t npstat, cappstat;
    pairmap pstat_at;       /* (pid, 0) -> index in pstat */
    char err[ERR_LEN];      /* os_error */
};

static inline unsigned level_shift(const os *o, unsigned level)
{
    return o->mode->shift[level];
}

static inline uint64_t level_size(const os *o, unsigned level)
{
    return 1ull << o->mode->shift[level];
}

typedef enum fres {
    F_RETRY,   /* fixed: access again */
    F_SEGV,
    F_OOM,
} fres;

typedef struct unmap_ctx {
    os *o;
    mm *m;
    bool user;              /* user pages: RSS accounting */
    bool file;              /* the VMA is file- or shmem-backed */
    uint64_t lo, hi;        /* range of the leaves removed (Linux's mmu_gather start/end) */
    unsigned shift;         /* smallest page among them (the gather's stride) */
} unmap_ctx;

typedef struct keylist {
    uint64_t *k;
    size_t n, cap;
} keylist;

/* ---- machine.c ---- */
uint64_t os_frames_free_now(const os *o);
void os_put_frames(os *o, uint64_t pa, uint64_t n);   /* drop a reference to each of n frames from pa */
void os_get_frames(os *o, uint64_t pa, uint64_t n);   /* take one */
/* Cycles spent by `cpu` (front-end stall): costs charged back to back add
 * up, after everything issued so far.  _fault also counts handler cycles. */
void os_charge(os *o, unsigned cpu, uint64_t cycles);
void os_charge_fault(os *o, unsigned cpu, uint64_t cycles);
void os_cpu_update_ok(const os *o, os_cpu *c);        /* recompute c->ok (the hot path's test) */
void os_set_oom(os *o);                               /* physical memory ran out: the replay stops */
uint64_t os_entry_flags(const os *o, uint64_t e);     /* a leaf's flags as pgtable_map/protect take them */
int os_event_begin(os *o, unsigned cpu, const char *event);

/* ---- aspace.c ---- */
bool os_region_empty(const os *o, const pgtable *pt, uint64_t va, unsigned level);
void os_register_mm(os *o, mm *m);
mm *os_mm_lookup(const os *o, uint64_t id);           /* NULL once destroyed */
/* Make sure `data` frames plus the tables a leaf for va at `level` needs in
 * pt (pt may be NULL) are free, reclaiming under `exhaustion: reclaim`. */
bool os_room(os *o, const pgtable *pt, uint64_t va, unsigned level, uint64_t data);
mm *os_mm_new(os *o);                                 /* NULL when memory is exhausted */
void os_account(os *o, mm *m, unsigned level, bool add);   /* RSS of a leaf mapped or removed */
/* pgtable_map that cannot fail (room was made), plus accounting. */
void os_map_user(os *o, mm *m, uint64_t va, uint64_t pa, unsigned level, uint64_t flags);
void os_unmap_leaf(void *ctx, uint64_t va, unsigned level, uint64_t e, uint64_t epa);   /* ctx: unmap_ctx */
void os_mm_destroy(os *o, mm *m);
void os_mm_put(os *o, mm *m);                         /* a process's reference dropped */

/* ---- counters.c ---- */
/* Credit cpu's counts since its process began running to that process
 * (none when it runs none); call before the CPU's process changes. */
void os_attribute(os *o, unsigned cpu);
/* Forget every process's counts and take every CPU's copy anew: for a
 * counter reset (warm-up), after the CPUs' and MMUs' counters are zeroed. */
void os_breakdown_reset(os *o);
/* ---- context.c ---- */
uint64_t os_owner_alloc(os *o);
void os_owner_release(os *o, const mm *m);
void os_cpu_switch(os *o, unsigned cpu, mm *to);      /* make `to` current on cpu */

/* ---- kernel.c ---- */
void os_mirror_user(os *o, mm *m, uint64_t first, uint64_t last);   /* KPTI: user table follows pt */
void os_kpti_enter(os *o, os_cpu *c, mm_priv priv);
fres os_fault_kernel(os *o, unsigned cpu, mm *m, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv);
void os_kernel_unmap(os *o, uint64_t start, uint64_t end);
int os_kernel_mmap(os *o, const os_mapping *map, uint64_t start, uint64_t end);

/* ---- shootdown.c ---- */
/* Linux's flush_tlb_mm_range and flush_tlb_kernel_range. */
void os_flush_mm(os *o, unsigned initiator, mm *m, uint64_t start, uint64_t end, unsigned shift, bool full);
void os_flush_kernel(os *o, unsigned initiator, uint64_t start, uint64_t end);

/* ---- reclaim.c ---- */
void os_res_add(os *o, const mm *m, uint64_t va, unsigned level);   /* a new resident mapping */
bool os_reclaim_one(os *o);                           /* free at least one frame; false: nothing to free */
void os_drop_swapped(os *o, mm *m, uint64_t start, uint64_t end);
bool os_region_has_swapped(const os *o, const mm *m, uint64_t base, uint64_t size);
fres os_fault_reclaimed(os *o, unsigned cpu, mm *m, const vma *v, uint64_t page, bool write);

/* ---- pagecache.c ---- */
bool os_reclaim_cache_page(os *o);
void os_shmem_release_unused(os *o, const uint64_t *keys, size_t n);
void os_keylist_add_shmem(void *ctx, const vma *piece);   /* ctx: keylist; a vma_remove callback */
fres os_fault_file(os *o, unsigned cpu, mm *m, const vma *v, uint64_t page, bool write);

/* ---- process.c ---- */
proc *os_proc_find(os *o, uint32_t pid);
proc *os_proc_insert(os *o, uint32_t pid, mm *m);
proc *os_proc_get(os *o, uint32_t pid);               /* created if unknown; NULL out of memory */

/* ---- fork.c ---- */
fres os_fault_wp(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, unsigned level, uint64_t pa);

/* ---- thp.c ---- */
bool os_split_leaf_at(os *o, mm *m, uint64_t addr);
bool os_split_if_straddles(os *o, mm *m, uint64_t addr);
bool os_fault_huge(os *o, unsigned cpu, mm *m, const vma *v, uint64_t va, bool write);

/* ---- fault.c ---- */
uint64_t os_user_flags(const os *o, const vma *v, bool writable, bool dirty);
bool os_leaf_allows(const os *o, unsigned cpu, uint64_t leaf, mm_kind kind, mm_priv priv);
uint32_t os_prot_needed(mm_kind kind);
vma *os_implicit_vma(os *o, mm *m, uint64_t va, mm_kind kind, bool kernel);
vma *os_gain(os *o, mm *m, vma *v, mm_kind kind, bool kernel);
fres os_handle_fault(os *o, unsigned cpu, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv);

#endif
