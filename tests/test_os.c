/* The OS model, driven through its API (os_switch, os_mmap, ..., os_access).
 * Every expected counter is derived by hand in the comment above its
 * check.  The machine is a Skylake-like one with a blocking in-order front
 * end (max_outstanding 1: each access issues after the previous one
 * completed, so every fill has landed and no walks merge), 4-level paging
 * unless a test says otherwise, 256 MiB of physical memory with the
 * sequential frame policy, 16 MiB of it reserved.
 *
 * A first touch of a page costs: an L1 miss, an STLB miss, a walk that
 * faults, the handler, then the retry: another L1 and STLB miss and a walk
 * that completes and fills the TLBs.  So N first touches are N faulting
 * walks plus N completed walks, and 2N dTLB lookups that miss. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "mmusim/cfg.h"
#include "frames.h"
#include "mmusim/os.h"
#include "mmusim/stats.h"

#define KIB4 4096ull
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define A 0x40000000ull                 /* a 1 GiB-aligned user address, valid in every mode */
#define K1 0xffffc90000000000ull        /* vmalloc area: top-level index 402 */
#define K2 0xffffc98000000000ull        /* the next top-level entry: index 403 */
#define RW (OS_PROT_READ | OS_PROT_WRITE)
#define MINOR 1000
#define MAJOR 100000
#define COW 2000

static mm_config cfg;
static os *o;

static void base_cfg(void)
{
    cfg_defaults(&cfg);
    cfg.cpu.cpus = 1;
    cfg.cpu.context = CTX_PCID;
    cfg.memsys.model = MEMSYS_FIXED;
    cfg.memsys.fixed_latency = 100;
    cfg.memsys.rmw_latency = 20;
    cfg.frontend.issue_width = 1;
    cfg.frontend.max_outstanding = 1;
    /* cfg_defaults may not set the OS keys yet: every one the model reads. */
    cfg.os.phys_mem_mib = 256;
    cfg.os.frames = FRAMES_SEQUENTIAL;
    cfg.os.exhaustion = EXHAUST_STOP;
    cfg.os.thp = THP_NEVER;
    cfg.os.minor_fault_cycles = MINOR;
    cfg.os.major_fault_cycles = MAJOR;
    cfg.os.cow_fault_cycles = COW;
    cfg.os.vmalloc_sync_cycles = 500;
    cfg.os.switch_cycles = 300;
    cfg.os.shootdown_cycles = 4000;
    cfg.os.flush_ceiling = 33;
    cfg.os.kpti = false;
    cfg.os.kernel_global = true;
    cfg.os.quantum = 10000;
}

static void teardown(void)
{
    os_free(o);
    o = NULL;
}

TestSuite(os, .init = base_cfg, .fini = teardown);

static void build(void)
{
    char err[256] = "";
    o = os_create(&cfg, err, sizeof err);
    cr_assert_not_null(o, "os_create: %s", err);
}

/* ---- events ---------------------------------------------------------------- */

/* An event the model must accept: rc 0, else the test fails with os_error. */
#define EVENT(call) cr_assert_eq((call), 0, "%s: %s", #call, os_error(o))

static void sw(unsigned cpu, uint32_t pid)
{
    EVENT(os_switch(o, cpu, pid));
}

static void map(uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags, uint32_t file)
{
    os_mapping m = {.addr = addr, .len = len, .prot = prot, .flags = flags, .file = file};
    EVENT(os_mmap(o, 0, pid, &m));
}

static void unmap(unsigned cpu, uint32_t pid, uint64_t addr, uint64_t len)
{
    EVENT(os_munmap(o, cpu, pid, addr, len));
}

static os_status acc(unsigned cpu, uint64_t va, mm_kind k, mm_priv p)
{
    mmu_result r;
    return os_access(o, cpu, va, 8, k, p, &r);
}

static void ok(unsigned cpu, uint64_t va, mm_kind k, mm_priv p)
{
    os_status s = acc(cpu, va, k, p);
    cr_assert_eq(s, OS_OK, "access 0x%llx on cpu %u: status %d", (unsigned long long)va, cpu, s);
}

static uint64_t stat(const char *name)
{
    stats *s = stats_create();
    os_export_stats(o, s);
    bool found = false;
    uint64_t v = stats_get(s, name, &found);
    stats_free(s);
    cr_assert(found, "no counter %s", name);
    return v;
}

#define cr_expect_stat(name, want)                                                                   \
    do {                                                                                             \
        uint64_t got_ = stat(name);                                                                  \
        cr_expect_eq(got_, (uint64_t)(want), "%s: %llu, expected %llu", name, (unsigned long long)got_, \
                     (unsigned long long)(want));                                                    \
    } while (0)

/* ---- demand paging, in every paging mode ------------------------------------ */

typedef struct mode_case {
    paging_kind mode;
    unsigned levels;
} mode_case;

ParameterizedTestParameters(os, demand_paging)
{
    static mode_case cases[] = {{PAGING_X86_64, 4}, {PAGING_LA57, 5}, {PAGING_PAE, 3}, {PAGING_X86_32, 2}};
    return cr_make_param_array(mode_case, cases, sizeof cases / sizeof cases[0]);
}

/* 16 distinct pages loaded once, then once more. */
ParameterizedTest(mode_case *c, os, demand_paging)
{
    cfg.cpu.mode = c->mode;
    build();
    sw(0, 1);
    map(1, A, 16 * KIB4, RW, OS_MAP_ANON, 0);
    for (uint64_t i = 0; i < 16; i++)
        ok(0, A + i * KIB4, MM_LOAD, MM_USER);
    /* One demand-zero fault per page; each a faulting walk and a retry. */
    cr_expect_stat("faults.demand_zero", 16);
    cr_expect_stat("minor-faults", 16);
    cr_expect_stat("major-faults", 0);
    cr_expect_stat("page-faults", 16);
    cr_expect_stat("walker.faults", 16);
    cr_expect_stat("walker.walks", 32);
    cr_expect_stat("dtlb_load_misses.walk_completed", 16);
    cr_expect_stat("faults.handler_cycles", 16 * MINOR);
    cr_expect_stat("rss.pages", 16);
    cr_expect_stat("rss.pages_peak", 16);
    /* The 16 pages are 16 consecutive sets of the 16-set dTLB: all hit now. */
    for (uint64_t i = 0; i < 16; i++)
        ok(0, A + i * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("dTLB-loads", 48);
    cr_expect_stat("dTLB-load-misses", 32);
    cr_expect_stat("dtlb.hits", 16);
    /* Tables: a root for init_mm and one for pid 1, and one table per lower
     * level on the path to the pages.  Frames: those, plus 16 pages. */
    cr_expect_stat("pagetable.pgd.pages", 2);
    cr_expect_stat("pagetable.pte.pages", 1);
    cr_expect_stat("pagetable.bytes", (c->levels + 1) * KIB4);
    cr_expect_stat("pagetable.pid1.bytes", c->levels * KIB4);
    cr_expect_stat("frames.allocs_4k", c->levels + 1 + 16);
    cr_expect_gt(stat("translation.stall_cycles"), 16 * MINOR);
}

/* ---- copy-on-write ----------------------------------------------------------- */

/* Parent pid 1 writes 4 pages, forks pid 2.  Child writes pages 0 and 1:
 * two users each, so two copies.  Parent writes page 0: the child copied
 * it, one user left: reuse.  Parent writes page 2: still shared: a copy.
 * The child exits; the parent writes page 3: one user left: reuse.
 * Totals: 4 demand-zero, 3 copies, 2 reuses; RSS peaks at 8 (4 + 4 mapped
 * in the child), ends at 4; after both exit every frame is free again. */
Test(os, cow_copy_and_reuse)
{
    build();
    uint64_t free0 = stat("frames.free");
    sw(0, 1);
    map(1, A, 4 * KIB4, RW, OS_MAP_ANON, 0);
    for (uint64_t i = 0; i < 4; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    EVENT(os_fork(o, 0, 1, 2));
    cr_expect_stat("os.forks", 1);
    cr_expect_stat("rss.pages", 8);
    sw(0, 2);
    ok(0, A, MM_STORE, MM_USER);
    ok(0, A + KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow", 2);
    sw(0, 1);
    ok(0, A, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow_reuse", 1);
    ok(0, A + 2 * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow", 3);
    EVENT(os_exit(o, 0, 2));
    ok(0, A + 3 * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow_reuse", 2);
    cr_expect_stat("faults.demand_zero", 4);
    cr_expect_stat("minor-faults", 4 + 3 + 2);
    cr_expect_stat("rss.pages", 4);
    cr_expect_stat("rss.pages_peak", 8);
    cr_expect_stat("page-faults", 4 + 3 + 2);
    /* The parent's page 1 is still write-protected though the child copied
     * it: one more reuse.  Pages 0, 2 and 3 are writable already. */
    for (uint64_t i = 0; i < 4; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow_reuse", 3);
    cr_expect_stat("page-faults", 4 + 3 + 3);
    EVENT(os_exit(o, 0, 1));
    cr_expect_stat("rss.pages", 0);
    cr_expect_stat("os.processes", 0);
    cr_expect_stat("frames.free", free0);
}

/* A child that execs drops its copy of the parent's address space: the
 * shared frames go back to one reference each, so the parent's writes
 * reuse; exec of a pid keeps the pid. */
Test(os, exec_drops_shared_frames)
{
    build();
    uint64_t free0 = stat("frames.free");
    sw(0, 1);
    map(1, A, 2 * KIB4, RW, OS_MAP_ANON, 0);
    ok(0, A, MM_STORE, MM_USER);
    ok(0, A + KIB4, MM_STORE, MM_USER);
    EVENT(os_fork(o, 0, 1, 2));
    EVENT(os_exec(o, 0, 2));
    ok(0, A, MM_STORE, MM_USER);
    ok(0, A + KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow", 0);
    cr_expect_stat("faults.cow_reuse", 2);
    cr_expect_stat("os.execs", 1);
    cr_expect_stat("os.processes", 2);
    cr_expect_stat("pagetable.pid2.bytes", KIB4);   /* a fresh root, nothing mapped */
    EVENT(os_exit(o, 0, 2));
    EVENT(os_exit(o, 0, 1));
    cr_expect_stat("frames.free", free0);
}

Test(os, fork_of_existing_child_is_an_error)
{
    build();
    sw(0, 1);
    sw(0, 2);
    cr_assert_eq(os_fork(o, 0, 1, 2), -1);
    cr_expect_str_eq(os_error(o), "fork: pid 1 forks child 2, which exists");
    cr_assert_eq(os_switch(o, 1, 3), -1);
    cr_expect_str_eq(os_error(o), "switch on cpu 1, but the machine has 1 CPU (cpu.cpus)");
}

/* ---- transparent huge pages ---------------------------------------------------- */

typedef struct thp_case {
    thp_policy thp;
    uint32_t flags;
    uint64_t faults, thp_2m, pte_pages, hits;
} thp_case;

ParameterizedTestParameters(os, thp)
{
    /* A 2 MiB-aligned 4 MiB anonymous region, each 4 KiB page loaded once:
     *  - 4 KiB pages: 1024 faults, one PT per 2 MiB (2), no hits;
     *  - THP: the first touch of each 2 MiB region maps a 2 MiB page (2
     *    faults, no PT); the retry fills the dTLB's 2M array, so the other
     *    511 touches of the region hit: 1022 hits. */
    static thp_case cases[] = {
        {THP_NEVER, OS_MAP_ANON, 1024, 0, 2, 0},
        {THP_ALWAYS, OS_MAP_ANON, 2, 2, 0, 1022},
        {THP_MADVISE, OS_MAP_ANON, 1024, 0, 2, 0},
        {THP_MADVISE, OS_MAP_ANON | OS_MAP_THP, 2, 2, 0, 1022},
    };
    return cr_make_param_array(thp_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(thp_case *c, os, thp)
{
    cfg.os.thp = c->thp;
    build();
    sw(0, 1);
    map(1, A, 4 * MIB, RW, c->flags, 0);
    for (uint64_t i = 0; i < 1024; i++)
        ok(0, A + i * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("faults.demand_zero", c->faults);
    cr_expect_stat("walker.faults", c->faults);
    cr_expect_stat("walker.walks", 2 * c->faults);
    cr_expect_stat("thp.faults_2m", c->thp_2m);
    cr_expect_stat("dtlb_load_misses.walk_completed_2m_4m", c->thp_2m);
    cr_expect_stat("dtlb_load_misses.walk_completed_4k", c->thp_2m ? 0 : 1024);
    cr_expect_stat("dtlb.hits", c->hits);
    cr_expect_stat("pagetable.pte.pages", c->pte_pages);
    cr_expect_stat("pagetable.pmd.pages", 1);
    cr_expect_stat("pagetable.pud.pages", 1);
    cr_expect_stat("rss.pages", 1024);
    cr_expect_stat("thp.bytes_2m", c->thp_2m * 2 * MIB);
    cr_expect_stat("thp.coverage_permille", c->thp_2m ? 1000 : 0);
}

/* munmap of the middle of a 2 MiB page splits it: 511 pages stay, as
 * 4 KiB pages under a new PT. */
Test(os, thp_split_on_partial_munmap)
{
    cfg.os.thp = THP_ALWAYS;
    build();
    sw(0, 1);
    map(1, A, 2 * MIB, RW, OS_MAP_ANON, 0);
    ok(0, A, MM_STORE, MM_USER);
    cr_expect_stat("thp.faults_2m", 1);
    unmap(0, 1, A + 100 * KIB4, KIB4);
    cr_expect_stat("rss.pages", 511);
    cr_expect_stat("thp.bytes_2m", 0);
    cr_expect_stat("pagetable.pte.pages", 1);
    cr_expect_eq(acc(0, A + 100 * KIB4, MM_LOAD, MM_USER), OS_SEGV);
    ok(0, A + 101 * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("faults.demand_zero", 1);   /* the rest is still mapped */
}

/* MAP_HUGETLB: a 1 GiB-aligned 1 GiB region is one 1 GiB page. */
Test(os, hugetlb_1g)
{
    cfg.os.phys_mem_mib = 2048;
    build();
    sw(0, 1);
    map(1, A, GIB, RW, OS_MAP_ANON | OS_MAP_HUGE, 0);
    ok(0, A + 12345 * KIB4, MM_STORE, MM_USER);
    ok(0, A + 99999 * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("thp.faults_1g", 1);
    cr_expect_stat("faults.demand_zero", 1);
    cr_expect_stat("pagetable.pmd.pages", 0);
    cr_expect_stat("thp.bytes_1g", GIB);
    cr_expect_stat("dtlb_store_misses.walk_completed_1g", 1);
}

/* ---- file mappings ------------------------------------------------------------ */

/* Pid 1 and pid 2 map the same 8 pages of file 7 shared, at different
 * addresses.  Pid 1's loads read every page in: 8 major faults.  Pid 2's
 * find them cached: 8 minor faults, same frames.  Pid 3 maps the file
 * private: a load maps the cached page read-only (minor), a store to it
 * copies it (COW); a store to a page it never touched copies at once
 * (a minor fault: the page was cached). */
Test(os, shared_file)
{
    build();
    uint64_t B = A + GIB;
    sw(0, 1);
    map(1, A, 8 * KIB4, RW, OS_MAP_SHARED, 7);
    for (uint64_t i = 0; i < 8; i++)
        ok(0, A + i * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("faults.file_major", 8);
    cr_expect_stat("major-faults", 8);
    sw(0, 2);
    map(2, B, 8 * KIB4, RW, OS_MAP_SHARED, 7);
    mmu_result r;
    for (uint64_t i = 0; i < 8; i++)
        cr_assert_eq(os_access(o, 0, B + i * KIB4, 8, MM_LOAD, MM_USER, &r), OS_OK);
    cr_expect_stat("faults.file_minor", 8);
    cr_expect_stat("os.page_cache_pages", 8);
    /* A store to a shared writable page needs no fault. */
    ok(0, B, MM_STORE, MM_USER);
    cr_expect_stat("page-faults", 16);
    sw(0, 3);
    map(3, A, 8 * KIB4, RW, 0, 7);
    ok(0, A, MM_LOAD, MM_USER);
    cr_expect_stat("faults.file_minor", 9);
    ok(0, A, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow", 1);
    ok(0, A + KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.file_minor", 10);
    cr_expect_stat("faults.file_major", 8);
    cr_expect_stat("os.page_cache_pages", 8);
    cr_expect_stat("rss.pages", 8 + 8 + 2);
}

/* ---- vmalloc sync ---------------------------------------------------------------- */

/* Pids 1 and 2 exist when two vmalloc mappings are made, each needing a
 * top-level entry of its own (indices 402 and 403).  Pid 1 touches both:
 * two sync faults, one per entry, however many pages it touches.  Pid 2
 * touches the first: one.  Pid 3, created afterwards, copied both entries
 * when it was created: none.  Total 3.  The kernel mappings are not
 * global here: a global entry cached while pid 1 ran would serve pid 2
 * from the TLB, without a walk, so without a fault (as on hardware). */
Test(os, vmalloc_sync_once_per_mm_and_entry)
{
    cfg.os.kernel_global = false;
    build();
    sw(0, 1);
    ok(0, A, MM_LOAD, MM_USER);
    sw(0, 2);
    ok(0, A, MM_LOAD, MM_USER);
    map(0, K1, 16 * KIB4, RW, OS_MAP_KERNEL | OS_MAP_ANON, 0);
    map(0, K2, 16 * KIB4, RW, OS_MAP_KERNEL | OS_MAP_ANON, 0);
    sw(0, 1);
    for (uint64_t i = 0; i < 16; i++) {
        ok(0, K1 + i * KIB4, MM_LOAD, MM_SUPERVISOR);
        ok(0, K2 + i * KIB4, MM_STORE, MM_SUPERVISOR);
    }
    cr_expect_stat("faults.vmalloc_sync", 2);
    sw(0, 2);
    for (uint64_t i = 0; i < 16; i++)
        ok(0, K1 + i * KIB4, MM_LOAD, MM_SUPERVISOR);
    cr_expect_stat("faults.vmalloc_sync", 3);
    sw(0, 3);
    ok(0, K1, MM_LOAD, MM_SUPERVISOR);
    ok(0, K2, MM_LOAD, MM_SUPERVISOR);
    cr_expect_stat("faults.vmalloc_sync", 3);
    /* The kernel pages were mapped eagerly: no demand faults for them, and
     * user mode may not touch them. */
    cr_expect_stat("faults.demand_zero", 2);
    cr_expect_eq(acc(0, K1, MM_LOAD, MM_USER), OS_SEGV);
}

/* ---- context switches ------------------------------------------------------------ */

typedef struct ctx_case {
    ctx_policy ctx;
    unsigned nr_asids, procs;
    uint64_t walks, hits, recycles;
} ctx_case;

ParameterizedTestParameters(os, context_switches)
{
    /* Pids 1..procs each load the same VA A (an implicit mapping each), in
     * turn on one CPU, then pid 1 loads A again.
     *  - nopcid: every switch flushes: the last load walks (3 walks done);
     *  - pcid: pid 1's entries survive under its PCID: the last load hits;
     *  - recycle, 2 ASIDs, 3 pids: pid 3 takes pid 1's slot (flushed), pid 1
     *    comes back to the next slot round-robin, pid 2's (flushed): walks;
     *  - recycle, 4 ASIDs: pid 1 still owns its slot: hits. */
    static ctx_case cases[] = {
        {CTX_NOPCID, 6, 2, 3, 0, 0},
        {CTX_PCID, 6, 2, 2, 1, 0},
        {CTX_RECYCLE, 2, 3, 4, 0, 2},
        {CTX_RECYCLE, 4, 3, 3, 1, 0},
    };
    return cr_make_param_array(ctx_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(ctx_case *c, os, context_switches)
{
    cfg.cpu.context = c->ctx;
    cfg.cpu.nr_asids = c->nr_asids;
    build();
    mmu_result first, last;
    sw(0, 1);
    cr_assert_eq(os_access(o, 0, A, 8, MM_LOAD, MM_USER, &first), OS_OK);
    for (uint32_t pid = 2; pid <= c->procs; pid++) {
        sw(0, pid);
        ok(0, A, MM_LOAD, MM_USER);
    }
    sw(0, 1);
    cr_assert_eq(os_access(o, 0, A, 8, MM_LOAD, MM_USER, &last), OS_OK);
    cr_expect_eq(last.pa, first.pa, "pid 1 sees its own page after the switches");
    cr_expect_eq(last.where == MMU_L1_HIT, c->hits == 1);
    cr_expect_stat("dtlb_load_misses.walk_completed", c->walks);
    cr_expect_stat("dtlb.hits", c->hits);
    cr_expect_stat("flush.asid_recycles", c->recycles);
    cr_expect_stat("os.switches", c->procs + 1);
    cr_expect_stat("os.implicit_vmas", c->procs);
    cr_expect_stat("faults.demand_zero", c->procs);
}

/* context: pcid gives live address spaces distinct PCIDs; the number of an
 * exited one is reused, and its PCID flushed first: pid 2 gets pid 1's old
 * PCID and must fault on A, not hit pid 1's stale translation. */
Test(os, pcid_reuse_flushes)
{
    build();
    sw(0, 1);
    ok(0, A, MM_LOAD, MM_USER);
    EVENT(os_exit(o, 0, 1));
    uint64_t invpcid0 = stat("flush.invpcid_1");
    sw(0, 2);
    cr_expect_stat("flush.invpcid_1", invpcid0 + 1);
    ok(0, A, MM_LOAD, MM_USER);
    cr_expect_stat("faults.demand_zero", 2);
    cr_expect_stat("dtlb.hits", 0);
}

/* ---- munmap flushes ------------------------------------------------------------ */

typedef struct unmap_case {
    uint64_t pages, invlpg, full;
} unmap_case;

ParameterizedTestParameters(os, munmap_flush_ceiling)
{
    /* 64 pages mapped and written; munmap of the first N: Linux
     * flush_tlb_mm_range invalidates page by page while N <= 33
     * (tlb_single_page_flush_ceiling), else reloads CR3 once. */
    static unmap_case cases[] = {{1, 1, 0}, {33, 33, 0}, {34, 0, 1}, {64, 0, 1}};
    return cr_make_param_array(unmap_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(unmap_case *c, os, munmap_flush_ceiling)
{
    build();
    sw(0, 1);
    map(1, A, 64 * KIB4, RW, OS_MAP_ANON, 0);
    for (uint64_t i = 0; i < 64; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    uint64_t invlpg0 = stat("flush.invlpg"), cr30 = stat("flush.cr3");
    unmap(0, 1, A, c->pages * KIB4);
    cr_expect_stat("flush.invlpg", invlpg0 + c->invlpg);
    cr_expect_stat("flush.cr3", cr30 + c->full);
    cr_expect_stat("os.munmaps", 1);
    cr_expect_stat("rss.pages", 64 - c->pages);
    /* Unmapping all 64 frees the PT, the PMD table and the PUD table. */
    cr_expect_stat("pagetable.pte.pages", c->pages == 64 ? 0 : 1);
    /* The first page is gone from the TLB too: a walk, then SIGSEGV. */
    cr_expect_eq(acc(0, A, MM_LOAD, MM_USER), OS_SEGV);
    cr_expect_stat("faults.segv", 1);
}

/* ---- physical exhaustion ---------------------------------------------------------- */

/* 20 MiB, 16 reserved: 1024 frames.  init_mm's root and pid 1's take 2.
 * Pages are written in order from a 2 MiB boundary: page 0 needs a PUD,
 * a PMD and a PT table and itself (4: 1018 left); pages 1..511 one each
 * (507 left); page 512 a new PT and itself (505 left); pages 513..1017
 * use the last 505.  Page 1018 finds none. */
Test(os, exhaustion_stop)
{
    cfg.os.phys_mem_mib = 20;
    build();
    cr_expect_stat("frames.total", 1024);
    sw(0, 1);
    map(1, A, 8 * MIB, RW, OS_MAP_ANON, 0);
    for (uint64_t i = 0; i < 1018; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("frames.free", 0);
    cr_expect_eq(acc(0, A + 1018 * KIB4, MM_STORE, MM_USER), OS_OOM);
    cr_expect_eq(acc(0, A, MM_LOAD, MM_USER), OS_OOM, "the replay stays stopped");
    cr_expect_stat("rss.pages", 1018);
    cr_expect_stat("os.out_of_memory", 1);
}

/* The same machine under reclaim, 1100 pages written.  The first shortage
 * (page 1018) sweeps the clock over pages 0..1017, clearing their A bits
 * (mapped with A set, as Linux does), wraps, and evicts page 0; each later
 * page evicts the next one in order.  Pages 1018..1023 need 1 frame each
 * (6 reclaims), page 1024 starts a third PT (2), pages 1025..1099 one each
 * (75): 83 reclaims, pages 0..82 out, 1017 resident.  Touching page 0
 * again is a major fault that evicts page 83. */
Test(os, exhaustion_reclaim)
{
    cfg.os.phys_mem_mib = 20;
    cfg.os.exhaustion = EXHAUST_RECLAIM;
    build();
    sw(0, 1);
    map(1, A, 8 * MIB, RW, OS_MAP_ANON, 0);
    for (uint64_t i = 0; i < 1100; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("os.reclaims", 83);
    cr_expect_stat("rss.pages", 1017);
    cr_expect_stat("faults.demand_zero", 1100);
    cr_expect_stat("major-faults", 0);
    ok(0, A, MM_LOAD, MM_USER);
    cr_expect_stat("faults.reclaimed", 1);
    cr_expect_stat("major-faults", 1);
    cr_expect_stat("os.reclaims", 84);
    cr_expect_stat("faults.handler_cycles", 1100 * MINOR + MAJOR);
    ok(0, A + 83 * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("faults.reclaimed", 2);
    ok(0, A + 1099 * KIB4, MM_LOAD, MM_USER);   /* resident */
    cr_expect_stat("faults.reclaimed", 2);
    cr_expect_stat("os.out_of_memory", 0);
}

/* Reclaim of pages a fork shares: a shared page is evicted from every
 * process mapping it at once (Linux's rmap), which frees its frame.
 * 1024 frames: roots of init_mm and pid 1 (2); pid 1 writes pages 0..999
 * (PUD, PMD, 2 PTs and 1000 pages: 18 left); the fork takes a root and 4
 * tables (13 left) and shares every page, read-only, the child's entries
 * old (A clear).  The child writes pages 0..99: pages 0..12 are copied
 * (the 13 free frames; pid 1's frames of them are single-user now).  Page
 * 13 finds none: the clock clears the A bits of pid 1's 1000 leaves, of the
 * child's copies 0..12, reaches the child's page 13 (A clear, and A clear
 * in pid 1 now) and evicts it from both (2 reclaims, one frame).  The
 * child's write then finds page 13 gone: a reclaimed-page fault that takes
 * the frame just freed.  Page 14 is next on the clock when the child writes
 * it: the same again.  So pages 13..99 are each evicted from both processes
 * (174 reclaims) and faulted back into the child (87 reclaimed-page
 * faults).  RSS: pid 1 keeps 1000 - 87 pages, the child all 1000. */
Test(os, reclaim_shared_after_fork)
{
    cfg.os.phys_mem_mib = 20;
    cfg.os.exhaustion = EXHAUST_RECLAIM;
    build();
    uint64_t free0 = stat("frames.free");
    sw(0, 1);
    map(1, A, 8 * MIB, RW, OS_MAP_ANON, 0);
    for (uint64_t i = 0; i < 1000; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("frames.free", 18);
    EVENT(os_fork(o, 0, 1, 2));
    cr_expect_stat("frames.free", 13);
    sw(0, 2);
    for (uint64_t i = 0; i < 100; i++)
        ok(0, A + i * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow", 13);
    cr_expect_stat("faults.reclaimed", 87);
    cr_expect_stat("os.reclaims", 174);
    cr_expect_stat("rss.pages", 913 + 1000);
    cr_expect_stat("os.out_of_memory", 0);
    /* Pid 1's page 13 was evicted too: reading it is a major fault. */
    sw(0, 1);
    ok(0, A + 13 * KIB4, MM_LOAD, MM_USER);
    cr_expect_stat("faults.reclaimed", 88);
    EVENT(os_exit(o, 0, 2));
    EVENT(os_exit(o, 0, 1));
    cr_expect_stat("frames.free", free0);
}

/* ---- virtual exhaustion -------------------------------------------------------------- */

ParameterizedTestParameters(os, virtual_exhaustion)
{
    static mode_case cases[] = {{PAGING_X86_32, 2}, {PAGING_PAE, 3}};
    return cr_make_param_array(mode_case, cases, sizeof cases / sizeof cases[0]);
}

/* 32-bit user space is [0, 3 GiB): 3 GiB from 4 KiB does not fit. */
ParameterizedTest(mode_case *c, os, virtual_exhaustion)
{
    cfg.cpu.mode = c->mode;
    build();
    sw(0, 1);
    map(1, KIB4, 3 * GIB, RW, OS_MAP_ANON, 0);   /* fails: not a replay error */
    cr_expect_stat("os.mmap_failures", 1);
    map(1, A, GIB, RW, OS_MAP_ANON, 0);
    cr_expect_stat("os.mmaps", 1);
    ok(0, A + 5 * KIB4, MM_STORE, MM_USER);
    cr_expect_eq(acc(0, KIB4, MM_LOAD, MM_USER), OS_SEGV, "the failed mapping does not exist");
    cr_expect_eq(acc(0, 0xC0001000ull, MM_LOAD, MM_USER), OS_SEGV, "kernel space");
}

/* ---- shootdowns ------------------------------------------------------------------ */

/* Pid 1 runs on CPUs 0 and 1.  CPU 1 caches page A; CPU 0 unmaps it: one
 * shootdown round to one target; each CPU invalidates the one page (2
 * INVLPGs); CPU 1's next access walks and faults instead of hitting. */
Test(os, shootdown_two_cpus)
{
    cfg.cpu.cpus = 2;
    build();
    sw(0, 1);
    sw(1, 1);
    map(1, A, 4 * KIB4, RW, OS_MAP_ANON, 0);
    ok(0, A, MM_STORE, MM_USER);
    ok(1, A, MM_LOAD, MM_USER);
    ok(1, A, MM_LOAD, MM_USER);
    cr_expect_stat("dtlb.hits", 1);
    mm_cycle before = mmu_now(os_mmu(o, 0));
    unmap(0, 1, A, 4 * KIB4);
    cr_expect_stat("os.shootdowns", 1);
    cr_expect_stat("os.shootdown_targets", 1);
    cr_expect_stat("flush.invlpg", 2);
    mmu_result r;
    cr_expect_eq(os_access(o, 1, A, 8, MM_LOAD, MM_USER, &r), OS_SEGV);
    cr_expect_neq(r.where, MMU_L1_HIT);
    cr_expect_stat("dtlb.hits", 1);
    /* The initiator pays for the IPI round before its next access. */
    cr_expect_eq(os_access(o, 0, A, 8, MM_LOAD, MM_USER, &r), OS_SEGV);
    cr_expect_geq(r.issue, before + 4000);
}

/* A COW fault in an mm live on another CPU shoots that CPU's entry down. */
Test(os, cow_fault_shoots_down)
{
    cfg.cpu.cpus = 2;
    build();
    sw(0, 1);
    map(1, A, KIB4, RW, OS_MAP_ANON, 0);
    ok(0, A, MM_STORE, MM_USER);
    EVENT(os_fork(o, 0, 1, 2));
    sw(1, 1);
    ok(1, A, MM_LOAD, MM_USER);   /* CPU 1 caches the read-only page */
    sw(0, 2);
    ok(0, A, MM_STORE, MM_USER);  /* the child copies: pid 1 not involved */
    cr_expect_stat("os.shootdowns", 0);
    sw(0, 1);
    ok(0, A, MM_STORE, MM_USER);  /* pid 1 reuses its page, live on CPU 1 too */
    cr_expect_stat("faults.cow_reuse", 1);
    cr_expect_stat("os.shootdowns", 1);
    cr_expect_stat("os.shootdown_targets", 1);
}

/* ---- KPTI ----------------------------------------------------------------------- */

typedef struct kpti_case {
    ctx_policy ctx;
    bool global;
    uint64_t hits;
} kpti_case;

ParameterizedTestParameters(os, kpti)
{
    /* user A, kernel K, user A, kernel K, user A: 5 privilege changes
     * (the switch leaves the CPU in the kernel).  With PCIDs the second
     * and third user loads and the second kernel load hit (3); without,
     * each CR3 write flushes: only a global kernel entry survives (1). */
    static kpti_case cases[] = {{CTX_PCID, true, 3}, {CTX_NOPCID, true, 1}, {CTX_NOPCID, false, 0}};
    return cr_make_param_array(kpti_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(kpti_case *c, os, kpti)
{
    cfg.os.kpti = true;
    cfg.cpu.context = c->ctx;
    cfg.os.kernel_global = c->global;
    build();
    map(0, K1, KIB4, RW, OS_MAP_KERNEL | OS_MAP_ANON, 0);
    sw(0, 1);
    ok(0, A, MM_LOAD, MM_USER);
    ok(0, K1, MM_LOAD, MM_SUPERVISOR);
    ok(0, A, MM_LOAD, MM_USER);
    ok(0, K1, MM_LOAD, MM_SUPERVISOR);
    ok(0, A, MM_LOAD, MM_USER);
    cr_expect_stat("os.kpti_cr3_writes", 5);
    cr_expect_stat("dtlb.hits", c->hits);
    cr_expect_stat("faults.vmalloc_sync", 0);
    /* The user page table has no kernel half. */
    cr_expect_eq(acc(0, K1, MM_LOAD, MM_USER), OS_SEGV);
    cr_expect_stat("pagetable.pid1.bytes", 5 * KIB4);   /* two roots; PUD, PMD and PT shared */
}

/* ---- segfaults and implicit mappings ------------------------------------------------ */

/* With mmaps declared: outside every VMA, a write to a read-only VMA, a
 * fetch from a non-executable one, a user access to the kernel: four
 * SEGVs, each counted and skipped. */
Test(os, segfaults)
{
    build();
    sw(0, 1);
    map(1, A, 4 * KIB4, RW, OS_MAP_ANON, 0);
    map(1, A + MIB, 4 * KIB4, OS_PROT_READ, OS_MAP_ANON, 0);
    ok(0, A, MM_STORE, MM_USER);
    cr_expect_eq(acc(0, A + 2 * MIB, MM_LOAD, MM_USER), OS_SEGV);
    ok(0, A + MIB, MM_LOAD, MM_USER);
    cr_expect_eq(acc(0, A + MIB, MM_STORE, MM_USER), OS_SEGV);
    cr_expect_eq(acc(0, A, MM_IFETCH, MM_USER), OS_SEGV);
    cr_expect_eq(acc(0, 0xffff888000000000ull, MM_LOAD, MM_USER), OS_SEGV);
    cr_expect_stat("faults.segv", 4);
    cr_expect_stat("os.implicit_vmas", 0);
    /* mprotect adds write: the page faults once more and is reused. */
    EVENT(os_mprotect(o, 0, 1, A + MIB, 4 * KIB4, RW));
    ok(0, A + MIB, MM_STORE, MM_USER);
    cr_expect_stat("faults.cow_reuse", 1);
    cr_expect_stat("faults.segv", 4);
}

/* Linux's VMA rules: mprotect of the middle splits an area in three, back
 * to the old protection merges them again; munmap of the middle leaves two.
 * Taking write away write-protects the mapped page and flushes it: the next
 * store is a SEGV, not a TLB hit. */
Test(os, vma_split_and_merge)
{
    build();
    sw(0, 1);
    map(1, A, 16 * KIB4, RW, OS_MAP_ANON, 0);
    ok(0, A + 5 * KIB4, MM_STORE, MM_USER);
    cr_expect_stat("os.vmas", 1);
    EVENT(os_mprotect(o, 0, 1, A + 4 * KIB4, 4 * KIB4, OS_PROT_READ));
    cr_expect_stat("os.vmas", 3);
    cr_expect_stat("flush.invlpg", 1);   /* the one mapped page that changed */
    cr_expect_eq(acc(0, A + 5 * KIB4, MM_STORE, MM_USER), OS_SEGV);
    ok(0, A + 5 * KIB4, MM_LOAD, MM_USER);
    EVENT(os_mprotect(o, 0, 1, A + 4 * KIB4, 4 * KIB4, RW));
    cr_expect_stat("os.vmas", 1);
    unmap(0, 1, A + 4 * KIB4, 4 * KIB4);
    cr_expect_stat("os.vmas", 2);
    /* mmap over the hole and its neighbours replaces them (MAP_FIXED). */
    map(1, A, 16 * KIB4, OS_PROT_READ, OS_MAP_ANON, 0);
    cr_expect_stat("os.vmas", 1);
    cr_expect_eq(acc(0, A, MM_STORE, MM_USER), OS_SEGV);
}

/* Without mmap records (a lackey trace): the first touch makes a 2 MiB
 * implicit VMA, executable when it is a fetch; it gains a permission the
 * first time an access needs it; nothing segfaults. */
Test(os, implicit_vmas)
{
    build();
    ok(0, 0x401000, MM_IFETCH, MM_USER);   /* CPU 0 never switched: pid 0 */
    ok(0, 0x402000, MM_STORE, MM_USER);
    ok(0, 0x7ffe1000, MM_STORE, MM_USER);
    ok(0, 0x7ffe2000, MM_IFETCH, MM_USER); /* gains exec */
    cr_expect_stat("os.implicit_vmas", 2);
    cr_expect_stat("os.processes", 1);
    cr_expect_stat("faults.segv", 0);
    cr_expect_stat("faults.demand_zero", 4);
}

/* An access across a page boundary translates both pages: two faults. */
Test(os, straddling_access)
{
    build();
    sw(0, 1);
    mmu_result r;
    cr_assert_eq(os_access(o, 0, A + KIB4 - 4, 8, MM_LOAD, MM_USER, &r), OS_OK);
    cr_expect_stat("faults.demand_zero", 2);
    cr_expect_stat("dTLB-loads", 4);
    cr_expect_eq(r.pa & 0xfff, 0, "the result is the second page's, from its first byte");
}

/* Every event names a CPU the machine has; a bad one is refused with
 * os_error's message, and the machine is unchanged. */
Test(os, bad_events)
{
    build();
    os_mapping m = {.addr = A, .len = KIB4, .prot = RW, .flags = OS_MAP_ANON};
    cr_expect_eq(os_switch(o, 3, 1), -1);
    cr_expect_str_eq(os_error(o), "switch on cpu 3, but the machine has 1 CPU (cpu.cpus)");
    cr_expect_eq(os_mmap(o, 1, 1, &m), -1);
    cr_expect_str_eq(os_error(o), "mmap on cpu 1, but the machine has 1 CPU (cpu.cpus)");
    cr_expect_eq(os_invlpg(o, 64, A), -1);
    cr_expect_str_eq(os_error(o), "invlpg on cpu 64, but the machine has 1 CPU (cpu.cpus)");
    cr_expect_stat("os.mmaps", 0);
    cr_expect_stat("os.processes", 0);
    char err[256] = "";
    cfg.os.phys_mem_mib = 8;
    cr_expect_null(os_create(&cfg, err, sizeof err));
    cr_expect(strstr(err, "phys_mem_mib") != NULL, "%s", err);
}

/* Report order and names do not depend on the run: two identical runs give
 * identical lists. */
Test(os, export_is_deterministic)
{
    cfg.cpu.cpus = 2;
    stats *s[2];
    for (int run = 0; run < 2; run++) {
        build();
        sw(0, 5);
        sw(1, 3);
        ok(0, A, MM_STORE, MM_USER);
        ok(1, A, MM_STORE, MM_USER);
        s[run] = stats_create();
        os_export_stats(o, s[run]);
        teardown();
    }
    cr_assert_eq(stats_count(s[0]), stats_count(s[1]));
    for (size_t i = 0; i < stats_count(s[0]); i++) {
        cr_expect_str_eq(stats_name(s[0], i), stats_name(s[1], i));
        cr_expect_eq(stats_value(s[0], i), stats_value(s[1], i), "%s", stats_name(s[0], i));
    }
    /* Per-process page-table memory in pid order. */
    size_t i3 = SIZE_MAX, i5 = SIZE_MAX;
    for (size_t i = 0; i < stats_count(s[0]); i++) {
        if (!strcmp(stats_name(s[0], i), "pagetable.pid3.bytes"))
            i3 = i;
        if (!strcmp(stats_name(s[0], i), "pagetable.pid5.bytes"))
            i5 = i;
    }
    cr_expect(i3 < i5);
    stats_free(s[0]);
    stats_free(s[1]);
}
