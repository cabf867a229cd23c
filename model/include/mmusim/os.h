/* os.h -- the OS model: processes and their address spaces, the page
 * tables it builds and changes, the page-fault handler, and the CPUs' MMUs.
 *
 * One `os` is one machine: `cfg.cpu.cpus` MMUs (own TLBs, page-walk caches,
 * walkers), one physical memory image, one memory model and one frame
 * allocator shared by all.  It follows Linux's behaviour where the issue
 * asks for it:
 *
 *  - Address spaces (mm): a page table (pgtable), VMAs from
 *    os_mmap/os_munmap/os_mprotect, an ASID owner id for mmu_switch_to, RSS, and the
 *    set of CPUs it has been live on since their last full flush (Linux's
 *    mm_cpumask), which decides TLB shootdowns.
 *  - Traces without mmap events get implicit anonymous mappings on first
 *    touch: a VMA covering the 2 MiB-aligned region around the address,
 *    read/write, executable when first touched by an instruction fetch; an
 *    implicit VMA gains a permission the first time an access needs it
 *    (it stands for a mapping the trace did not describe), so lackey and
 *    ChampSim traces never segfault.
 *  - Demand paging: a first touch is an MMU access that faults (not
 *    present); os_access calls the handler, which allocates a zeroed frame,
 *    maps it with the VMA's permissions, charges minor_fault_cycles to that
 *    CPU (mmu_advance), and retries the access, which walks again.
 *  - THP: with thp always (or madvise on OS_MAP_THP ranges), an anonymous
 *    fault in a 2 MiB-aligned region wholly inside one VMA maps a 2 MiB page
 *    when the allocator has a free 2 MiB block.  OS_MAP_HUGE maps 1 GiB
 *    pages where a 1 GiB-aligned region fits, else 2 MiB.
 *  - fork copies the parent's user page tables into a new mm; private
 *    writable pages become read-only in both (copy-on-write), frames gain a
 *    reference, and the parent's TLB entries for them are flushed.  A write
 *    fault on such a page copies the frame, or, when the frame has a single
 *    user left, restores write access; then it invalidates that address
 *    (INVLPG on this CPU, shootdowns to the other CPUs of the mm).
 *  - File mappings: one page cache keyed by (file_id, page index).  The
 *    first touch of an uncached file page is a major fault (major_fault_cycles,
 *    frame added to the cache); a touch of a cached page from any process is
 *    a minor fault mapping the same frame.  Private file pages are COW.
 *  - munmap/mprotect invalidate page by page up to `flush_ceiling` pages and
 *    flush the mm's TLB entries above it (tlb_single_page_flush_ceiling).
 *  - Kernel half: one init_mm page table holds the kernel mappings (global
 *    when kernel_global); every mm copies init_mm's top-level kernel entries
 *    when it is created.  A vmalloc mapping (OS_MAP_KERNEL) made later may
 *    need a top-level entry that older mms lack: their first kernel access
 *    faults and the handler copies the entry from init_mm -- a vmalloc sync
 *    fault, counted once per mm and entry.
 *  - KPTI (optional): each mm has a user page table without the kernel half
 *    (user PCID = kernel PCID | 0x800, as Linux); every change of privilege
 *    between consecutive accesses of a CPU writes CR3 (no-flush with PCID).
 *  - Context switches: os_switch writes CR3 by mmu_switch_to under the
 *    configured PCID policy and charges switch_cycles.
 *  - Physical exhaustion: exhaustion stop ends the replay (os_access returns
 *    OS_OOM, the report says so); reclaim evicts a resident user page
 *    (clock order over frames), unmapping it with invalidation; the next
 *    touch is a major fault.  Virtual exhaustion: an mmap that does not fit
 *    the mode's user space (3 GiB in 32-bit mode) fails and is counted.
 *  - Several CPUs: each CPU runs one process at a time; page tables, page
 *    cache and frames are shared.  Unmapping or a COW fault in an mm live on
 *    other CPUs sends shootdowns: each target CPU invalidates (INVLPG or
 *    flush), and the initiator is charged shootdown_cycles per round.
 *
 * Processes are created implicitly: the first event naming an unknown pid
 * (or an access on a CPU that never switched: pid 0 of that CPU's first
 * trace) creates it with an empty address space. */
#ifndef MMUSIM_OS_H
#define MMUSIM_OS_H

#include "mmusim/cfg.h"
#include "mmusim/mmu.h"
#include "mmusim/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct os os;

/* The first OS_RESERVED_MIB MiB of physical memory stand for the kernel
 * image and firmware: their frames are never allocated.  frames.h manages
 * at least 4 MiB above them, so os.phys_mem_mib is at least
 * OS_MIN_PHYS_MIB (cfg.c's range of the key). */
#define OS_RESERVED_MIB 16
#define OS_MIN_PHYS_MIB (OS_RESERVED_MIB + 4)

/* mmap/mprotect protection bits (as PROT_*). */
#define OS_PROT_READ 1u
#define OS_PROT_WRITE 2u
#define OS_PROT_EXEC 4u

/* mmap flags. */
#define OS_MAP_ANON 0x01u     /* anonymous (else file-backed: file, offset) */
#define OS_MAP_SHARED 0x02u   /* shared (else private) */
#define OS_MAP_HUGE 0x04u     /* MAP_HUGETLB: 1 GiB pages where aligned, else 2 MiB */
#define OS_MAP_THP 0x08u      /* madvise(MADV_HUGEPAGE) on the range */
#define OS_MAP_KERNEL 0x10u   /* a kernel mapping (vmalloc space), in init_mm; the pid is ignored */

/* One mmap: [addr, addr + len), page-aligned outward. */
typedef struct os_mapping {
    uint64_t addr, len;
    uint32_t prot;            /* OS_PROT_* */
    uint32_t flags;           /* OS_MAP_*; other bits are kept, not interpreted */
    uint32_t file;            /* file-backed: the file's id (the page cache's key) */
    uint64_t offset;          /* file-backed: byte offset of addr in the file */
} os_mapping;

/* What os_access did with an access. */
typedef enum os_status {
    OS_OK = 0,        /* translated (after any faults it took) */
    OS_SEGV,          /* no VMA, or a permission the VMA does not give: counted, skipped */
    OS_OOM,           /* physical memory exhausted under `exhaustion: stop` */
} os_status;

typedef struct os_counters {
    uint64_t faults_demand_zero;   /* anonymous first touch */
    uint64_t faults_cow;           /* write to a COW page: copied */
    uint64_t faults_cow_reuse;     /* write to a COW page with one user left: write restored */
    uint64_t faults_file_minor;    /* file page found in the page cache */
    uint64_t faults_file_major;    /* file page read in */
    uint64_t faults_reclaimed;     /* touch of a page reclaimed earlier (major) */
    uint64_t faults_vmalloc_sync;  /* kernel top-level entry copied from init_mm */
    uint64_t faults_segv;          /* protection violation or no VMA */
    uint64_t implicit_vmas;        /* implicit mappings made on first touch */
    uint64_t thp_2m, thp_1g;       /* huge pages mapped */
    uint64_t thp_fallbacks;        /* THP-eligible faults that got 4 KiB (no free 2 MiB block) */
    uint64_t switches, forks, execs, exits;
    uint64_t mmaps, mmap_failures, munmaps, mprotects;
    uint64_t shootdowns;           /* IPI rounds sent */
    uint64_t shootdown_targets;    /* CPUs interrupted */
    uint64_t reclaims;             /* pages evicted */
    uint64_t kpti_cr3_writes;
    uint64_t fault_cycles;         /* handler cycles charged */
    uint64_t rss_pages_peak;
} os_counters;

/* Build the machine: frames, physical memory image, memory model, init_mm
 * and one MMU per CPU.  NULL with err filled on failure.  cfg_validate
 * checks every rule of the config this relies on (with the key's
 * location); the checks here are a backstop for programs that skip it. */
os *os_create(const mm_config *cfg, char *err, size_t errlen);
void os_free(os *o);

/* ---- events: processes, address spaces, TLB maintenance --------------
 *
 * `cpu` is the CPU an event happens on: it is charged the event's costs
 * and initiates any shootdown.  A pid names a process; an unknown pid is
 * created with an empty address space.  Each returns 0, or -1 when the
 * model cannot apply the event (os_error says why: a CPU the machine lacks,
 * a fork of a child pid that exists).  Once physical memory ran out under
 * `exhaustion: stop` (os_access returned OS_OOM) events are ignored: the
 * replay is ending. */

/* `cpu` now runs process `pid` (a context switch: CR3 under the PCID
 * policy, switch_cycles charged; nothing if it already runs it). */
int os_switch(os *o, unsigned cpu, uint32_t pid);
/* Process pid forks `child` (a new pid): copy-on-write address space. */
int os_fork(os *o, unsigned cpu, uint32_t pid, uint32_t child);
/* pid's address space is replaced by an empty one. */
int os_exec(os *o, unsigned cpu, uint32_t pid);
/* pid exits; CPUs running it go to init_mm. */
int os_exit(os *o, unsigned cpu, uint32_t pid);
/* mmap(MAP_FIXED) in pid (or in init_mm with OS_MAP_KERNEL); a range the
 * address space cannot hold is a failed mmap (counted), not an error. */
int os_mmap(os *o, unsigned cpu, uint32_t pid, const os_mapping *map);
int os_munmap(os *o, unsigned cpu, uint32_t pid, uint64_t addr, uint64_t len);
int os_mprotect(os *o, unsigned cpu, uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot);
/* A CR3 write on cpu reloading its current root and PCID (a recorded CR3
 * value names the recording machine's tables, not these), with or without
 * the no-flush bit. */
int os_reload_cr3(os *o, unsigned cpu, bool noflush);
/* INVLPG of va on cpu. */
int os_invlpg(os *o, unsigned cpu, uint64_t va);

/* Why the last event returned -1. */
const char *os_error(const os *o);

/* Retire `n` instructions on `cpu` (for MPKI; and the front end's clock
 * does not move). */
void os_instructions(os *o, unsigned cpu, uint64_t n);

/* The replay hot path: translate one access of `size` bytes on `cpu`,
 * taking and handling page faults (and retrying) as needed; an access that
 * straddles a 4 KiB boundary is translated page by page.  *out is the
 * last translation's result.  Must stay cheap when the first L1 TLB lookup
 * hits: one call into mmu_access and a few compares. */
os_status os_access(os *o, unsigned cpu, uint64_t va, uint32_t size, mm_kind kind, mm_priv priv, mmu_result *out);

/* ---- skipping and warming up (mmusim run --skip/--warmup, replay.h) ----
 *
 * A skipped access drives only the OS model: os_touch reads the current
 * page table in software (pgtable_lookup, the table the CPU's CR3 would
 * point at) and hands a missing or forbidding leaf to the fault handler
 * with the error code a walk would report, until the access is allowed --
 * so VMAs, page tables, frames, the page cache, RSS and copy-on-write
 * state end up as os_access would leave them.  It does not touch the
 * MMU: no TLB, page-walk-cache or memory-model state, no walk, no
 * accessed or dirty bit set (the first walks after the skip set them), no
 * MMU counter.  Events (os_switch, os_fork, ...) of the skipped part are
 * applied as usual: their CR3 writes and invalidations reach the MMUs,
 * whose TLBs hold nothing a skipped access put there.  Returns as
 * os_access does (OS_SEGV counted, OS_OOM under `exhaustion: stop`). */
os_status os_touch(os *o, unsigned cpu, uint64_t va, uint32_t size, mm_kind kind, mm_priv priv);
/* While untimed, the OS model charges no cycles to the CPUs' clocks
 * (fault handler, context switch, shootdowns): skipped records take no
 * simulated time. */
void os_set_untimed(os *o, bool untimed);
/* Zero every event counter of the machine (the end of a warm-up): each
 * MMU's and walker's (mmu_reset_stats: "cycles" counts from now), the
 * instructions and translation stalls of each CPU, the OS model's fault
 * and event counters, the frame allocator's.  State stays: TLB, cache and
 * page-table contents, walks in flight, clocks, processes, RSS,
 * page-table bytes, THP coverage, the page cache.  Peaks (rss.pages_peak)
 * restart from the current value. */
void os_reset_stats(os *o);

/* Cycles: the latest completion over all CPUs (the machine's clock, not
 * reset by os_reset_stats). */
mm_cycle os_cycles(const os *o);
unsigned os_cpus(const os *o);
mmu *os_mmu(os *o, unsigned cpu);

const os_counters *os_get_counters(const os *o);

/* Every counter of the machine: each MMU's (summed over CPUs), the OS's
 * (faults by kind, RSS and its peak, page-table memory per level and per
 * process, THP coverage = bytes mapped by huge pages / bytes mapped,
 * translation stall cycles), the frame allocator's. */
void os_export_stats(const os *o, stats *s);

/* The breakdown of those counters: every CPU's MMU counters, instructions
 * and translation.stall_cycles as cpuN.NAME (they sum to the totals), then
 * for every process that ran, by pid, what was counted while it ran (TLB
 * lookups and misses by kind, their STLB hits, walks, merges, faults and
 * re-walks, page faults, walk and stall cycles, instructions) as
 * pidN.NAME.  Attribution: a CPU's counts go to the process it runs; what
 * a CPU counts while it runs none goes to no process (counters.c). */
void os_export_breakdown(const os *o, stats *s);
/* The names a process's counters have, as pid0.NAME with value 0. */
void os_proc_counter_names(stats *s);

#ifdef __cplusplus
}
#endif

#endif
