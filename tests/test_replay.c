/* test_replay.c -- trace replay (replay.h) and `mmusim run`.
 *
 * Scenario traces are written here with the trace writer, replayed with
 * replay_run into a temporary file as JSON, and the counters are read back
 * from the JSON text.  Every expectation is derived by hand in the comment
 * above its test from the rules of os.h and mmu.h.  Unless a test says
 * otherwise the machine is the Skylake preset with one CPU, no THP and a
 * blocking front end (frontend.max_outstanding 1): each access issues when
 * the previous one has completed, so every TLB fill has landed before the
 * next lookup and no access merges with a walk in flight -- the counts are
 * then those of the TLB's contents alone.
 *
 * The LRU test replays a real program (recorded here under valgrind's
 * lackey) on a dTLB reduced to one 4 KiB array and compares its misses with
 * a few lines of independent LRU simulation; the CLI tests run the mmusim
 * binary. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, fork, kill, nanosleep */

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmusim/cfg.h"
#include "mmusim/replay.h"
#include "mmusim/trace.h"
#include "mmusim/trace_import.h"

#ifndef MMUSIM_SOURCE_DIR
#error "MMUSIM_SOURCE_DIR must name the repository root"
#endif
#ifndef MMUSIM_BIN_DIR
#error "MMUSIM_BIN_DIR must name the directory of the mmusim binary"
#endif

#define TRACES MMUSIM_SOURCE_DIR "/traces/"
#include "support/run_prog.h"
#define PAGE 4096ull

/* ---- fixture: a temporary directory --------------------------------------- */

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mmusim_replay_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(replay, .init = setup, .fini = teardown);
TestSuite(workload, .init = setup, .fini = teardown);
TestSuite(lru, .init = setup, .fini = teardown);
TestSuite(run_cli, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------- */

#define SW(c, p) ((trace_rec){.kind = TR_SWITCH, .cpu = (c), .pid = (p)})
#define FORK(p, ch) ((trace_rec){.kind = TR_FORK, .pid = (p), .child = (ch)})
#define MMAP(p, a, l, pr, fl) \
    ((trace_rec){.kind = TR_MMAP, .pid = (p), .addr = (a), .len = (l), .prot = (pr), .flags = (fl)})
#define MMAP_FILE(p, a, l, pr, fl, file, off)                                                             \
    ((trace_rec){.kind = TR_MMAP, .pid = (p), .addr = (a), .len = (l), .prot = (pr), .flags = (fl), \
                 .file_id = (file), .offset = (off)})
#define LD(v) ((trace_rec){.kind = TR_ACCESS, .acc = MM_LOAD, .size = 8, .va = (v)})
#define ST(v) ((trace_rec){.kind = TR_ACCESS, .acc = MM_STORE, .size = 8, .va = (v)})
#define RW (TR_PROT_READ | TR_PROT_WRITE)

/* A growable list of records. */
typedef struct recs {
    trace_rec *v;
    size_t n, cap;
} recs;

static void put(recs *r, trace_rec x)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        cr_assert_not_null(r->v);
    }
    r->v[r->n++] = x;
}

/* Write records into dir/NAME with the trace writer; returns the path
 * (static storage, one of 4). */
static const char *write_trace(const char *name, const trace_rec *v, size_t n, unsigned frame_records)
{
    static char paths[4][160];
    static int k;
    char *path = paths[k++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    trace_meta meta = {0};
    snprintf(meta.source, sizeof meta.source, "test_replay");
    char err[512] = "";
    trace_writer *w = trace_writer_open(path, &meta, frame_records, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(trace_write(w, &v[i]), 0, "%s", trace_writer_error(w));
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);
    return path;
}

static const char *write_recs(const char *name, recs *r)
{
    const char *p = write_trace(name, r->v, r->n, 0);
    free(r->v);
    *r = (recs){0};
    return p;
}

/* Write `text` into the file at path. */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0, "%s", path);
}

/* The Skylake preset, then the --set assignments of `sets` (NULL-ended). */
static void config(mm_config *c, const char *const *sets)
{
    char err[512] = "";
    cr_assert_eq(cfg_load(c, "skylake", err, sizeof err), 0, "%s", err);
    for (; sets && *sets; sets++)
        cr_assert_eq(cfg_set(c, *sets, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(c, err, sizeof err), 0, "%s", err);
}

/* The test machine of the header comment, plus `extra` (NULL-ended). */
static void base_config(mm_config *c, const char *const *extra)
{
    config(c, (const char *const[]){"cpu.cpus=1", "frontend.max_outstanding=1", "os.thp=never", NULL});
    char err[512] = "";
    for (; extra && *extra; extra++)
        cr_assert_eq(cfg_set(c, *extra, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(c, err, sizeof err), 0, "%s", err);
}

static char *slurp_file(FILE *f)
{
    fflush(f);
    long len = ftell(f);
    cr_assert_geq(len, 0);
    char *s = malloc((size_t)len + 1);
    cr_assert_not_null(s);
    rewind(f);
    cr_assert_eq(fread(s, 1, (size_t)len, f), (size_t)len);
    s[len] = 0;
    return s;
}

/* Replay with options *o (its out and title set here); the output text in
 * *out (malloc'd), the error in err. */
static replay_status replay_opts_to(const mm_config *c, replay_opts *o, char **out, char *err, size_t errlen)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    o->out = f;
    o->title = "test";
    err[0] = 0;
    replay_status st = replay_run(c, o, err, errlen);
    *out = slurp_file(f);
    fclose(f);
    return st;
}

/* Replay `traces` with the given format and interval. */
static replay_status replay_to(const mm_config *c, const char *const *traces, unsigned n, report_format fmt,
                               uint64_t interval, volatile sig_atomic_t *stop, char **out, char *err, size_t errlen)
{
    replay_opts o = {.traces = traces, .ntraces = n, .format = fmt, .interval = interval, .stop = stop};
    return replay_opts_to(c, &o, out, err, errlen);
}

/* Replay into JSON and expect REPLAY_DONE. */
static char *replay_json(const mm_config *c, const char *const *traces, unsigned n)
{
    char err[4608], *out;
    replay_status st = replay_to(c, traces, n, REPORT_JSON, 0, NULL, &out, err, sizeof err);
    cr_assert_eq(st, REPLAY_DONE, "status %d: %s", st, err);
    return out;
}

/* The counter `name` of a JSON report; the test fails if it is absent. */
static uint64_t jget(const char *json, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "\n  \"%s\": ", name);
    const char *p = strstr(json, key);
    cr_assert_not_null(p, "no counter %s in the report", name);
    return strtoull(p + strlen(key), NULL, 10);
}

static bool jhas(const char *json, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "\n  \"%s\": ", name);
    return strstr(json, key) != NULL;
}

#define EXPECT_COUNTER(json, name, v) \
    cr_expect_eq(jget(json, name), (uint64_t)(v), "%s = %" PRIu64 ", expected %" PRIu64, name, jget(json, name), \
                 (uint64_t)(v))

/* ---- single-process scenarios ----------------------------------------------- */

/* One process maps 16 pages and loads each (first pass), loads each again
 * (second pass), then stores to each.
 *  - First pass: the load misses the dTLB, the walk finds the PTE not
 *    present (error code 0x04: user read), the handler maps a zeroed frame
 *    (a demand-zero minor fault) and the load retries: a second lookup,
 *    which misses again (faults are not cached) and walks to completion.
 *    16 x (2 lookups, 2 misses, 1 faulting walk, 1 completed walk).
 *  - Second pass: 16 consecutive pages are 16 different sets of the 16-set
 *    dTLB: all hit.
 *  - Stores: the pages were mapped writable but clean by the load faults;
 *    the dTLB entry holds D = 0, so each store hits an entry it cannot use
 *    and re-walks to set D (a dirty re-walk, counted as a hit, not a miss).
 * Totals: dTLB-loads 48, dTLB-load-misses 32, dTLB-stores 16,
 * dTLB-store-misses 0, dirty re-walks 16, load walks completed 16,
 * page-faults 16 = minor-faults = demand-zero faults, RSS 16 pages in one
 * page-table page. */
Test(replay, demand_paging)
{
    const uint64_t A = 0x10000000;
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, MMAP(1, A, 16 * PAGE, RW, TR_MAP_ANON));
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t i = 0; i < 16; i++)
            put(&r, LD(A + i * PAGE + 8));
    for (uint64_t i = 0; i < 16; i++)
        put(&r, ST(A + i * PAGE));
    const char *t[] = {write_recs("demand.trace", &r)};
    mm_config c;
    base_config(&c, NULL);
    char *j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "dTLB-loads", 48);
    EXPECT_COUNTER(j, "dTLB-load-misses", 32);
    EXPECT_COUNTER(j, "dTLB-stores", 16);
    EXPECT_COUNTER(j, "dTLB-store-misses", 0);
    EXPECT_COUNTER(j, "tlb.dirty_rewalks", 16);
    EXPECT_COUNTER(j, "dtlb_load_misses.walk_completed", 16);
    EXPECT_COUNTER(j, "walker.faults", 16);
    EXPECT_COUNTER(j, "faults.ec_0x04", 16);
    EXPECT_COUNTER(j, "page-faults", 16);
    EXPECT_COUNTER(j, "minor-faults", 16);
    EXPECT_COUNTER(j, "major-faults", 0);
    EXPECT_COUNTER(j, "faults.demand_zero", 16);
    EXPECT_COUNTER(j, "rss.pages", 16);
    EXPECT_COUNTER(j, "pagetable.pte.pages", 1);
    EXPECT_COUNTER(j, "os.mmaps", 1);
    EXPECT_COUNTER(j, "os.implicit_vmas", 0);
    EXPECT_COUNTER(j, "os.switches", 1);
    free(j);
}

/* fork + copy-on-write.  Process 1 maps 8 pages and stores to each (8
 * demand-zero faults), forks process 2 (both now map the 8 frames
 * read-only, each frame with 2 users), then:
 *   child  stores to pages 0-3: frames shared -> 4 COW copies;
 *   parent stores to pages 0-3: the child has copied, one user left ->
 *                               4 reuses (write access restored);
 *   parent stores to pages 4-7: still shared -> 4 copies;
 *   child  stores to pages 4-7: the parent copied -> 4 reuses.
 * Every one of the 16 stores after the fork is a protection fault on a
 * present page (error code 0x07: present, write, user).  Minor faults: 8
 * demand-zero + 8 copies + 8 reuses = 24.  Frames in use for data: the 8
 * originals and the 8 copies, each process mapping 8: RSS 16.  Switches:
 * the four TR_SWITCH records, each to another process. */
Test(replay, fork_cow)
{
    const uint64_t A = 0x20000000;
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, MMAP(1, A, 8 * PAGE, RW, TR_MAP_ANON));
    for (uint64_t i = 0; i < 8; i++)
        put(&r, ST(A + i * PAGE));
    put(&r, FORK(1, 2));
    put(&r, SW(0, 2));
    for (uint64_t i = 0; i < 4; i++)
        put(&r, ST(A + i * PAGE));
    put(&r, SW(0, 1));
    for (uint64_t i = 0; i < 8; i++)
        put(&r, ST(A + i * PAGE));
    put(&r, SW(0, 2));
    for (uint64_t i = 4; i < 8; i++)
        put(&r, ST(A + i * PAGE));
    const char *t[] = {write_recs("cow.trace", &r)};
    mm_config c;
    base_config(&c, NULL);
    char *j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "faults.demand_zero", 8);
    EXPECT_COUNTER(j, "faults.cow", 8);
    EXPECT_COUNTER(j, "faults.cow_reuse", 8);
    EXPECT_COUNTER(j, "faults.ec_0x06", 8);
    EXPECT_COUNTER(j, "faults.ec_0x07", 16);
    EXPECT_COUNTER(j, "minor-faults", 24);
    EXPECT_COUNTER(j, "rss.pages", 16);
    EXPECT_COUNTER(j, "os.forks", 1);
    EXPECT_COUNTER(j, "os.processes", 2);
    EXPECT_COUNTER(j, "os.switches", 4);
    EXPECT_COUNTER(j, "faults.segv", 0);
    free(j);
}

/* A file shared by two processes.  Process 1 maps pages 0-3 of file 7
 * (shared, read-only) and loads each: the page cache is empty, so 4 major
 * faults read them in.  Process 2 maps the same file at another address
 * from offset 4096 (file pages 1-4) and loads each: pages 1-3 are cached
 * (3 minor faults mapping the same frames), page 4 is not (1 major fault).
 * Page cache: file pages 0-4, 5 pages.  Each process maps 4 pages: RSS 8. */
Test(replay, shared_file)
{
    const uint64_t A = 0x7f0000000000, B = 0x7f1000000000;
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, MMAP_FILE(1, A, 4 * PAGE, TR_PROT_READ, TR_MAP_SHARED, 7, 0));
    for (uint64_t i = 0; i < 4; i++)
        put(&r, LD(A + i * PAGE));
    put(&r, SW(0, 2));
    put(&r, MMAP_FILE(2, B, 4 * PAGE, TR_PROT_READ, TR_MAP_SHARED, 7, PAGE));
    for (uint64_t i = 0; i < 4; i++)
        put(&r, LD(B + i * PAGE));
    const char *t[] = {write_recs("file.trace", &r)};
    mm_config c;
    base_config(&c, NULL);
    char *j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "faults.file_major", 5);
    EXPECT_COUNTER(j, "faults.file_minor", 3);
    EXPECT_COUNTER(j, "major-faults", 5);
    EXPECT_COUNTER(j, "minor-faults", 3);
    EXPECT_COUNTER(j, "os.page_cache_pages", 5);
    EXPECT_COUNTER(j, "rss.pages", 8);
    EXPECT_COUNTER(j, "faults.demand_zero", 0);
    free(j);
}

/* Context switches between two processes under each PCID policy.  Both
 * map 8 pages at the same address and take turns, 3 rounds of "switch,
 * load the 8 pages".  Round 1 faults every page in: per process 8 x (2
 * lookups, 2 misses) = 16 misses, 32 in all.  Rounds 2 and 3: without
 * PCIDs every switch flushes, so each process misses its 8 pages again --
 * 16 misses a round, 32 more; with PCIDs both processes' entries stay (8
 * consecutive pages in 8 sets, 2 PCIDs each, 4 ways): no more misses.
 * recycle with 1 dynamic ASID behaves as nopcid (each switch reuses the
 * slot for the other process and flushes it), with 2 as pcid.
 * Lookups are the same under every policy: 32 in round 1, 16 a round
 * after: 64.  CR3 writes: one per switch, 6: flushing ones under nopcid,
 * and under recycle the first use of each slot plus every reuse. */
typedef struct ctx_case {
    char policy[16];
    unsigned nr_asids;
    uint64_t misses, flushing_cr3;
} ctx_case;

ParameterizedTestParameters(replay, context_switches)
{
    static ctx_case cases[] = {
        {"nopcid", 6, 64, 6},
        {"pcid", 6, 32, 0},
        {"recycle", 1, 64, 6},
        {"recycle", 2, 32, 2},
    };
    return cr_make_param_array(ctx_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(ctx_case *p, replay, context_switches)
{
    const uint64_t A = 0x30000000;
    recs r = {0};
    for (uint32_t pid = 1; pid <= 2; pid++)
        put(&r, MMAP(pid, A, 8 * PAGE, RW, TR_MAP_ANON));
    for (int round = 0; round < 3; round++)
        for (uint32_t pid = 1; pid <= 2; pid++) {
            put(&r, SW(0, pid));
            for (uint64_t i = 0; i < 8; i++)
                put(&r, LD(A + i * PAGE));
        }
    const char *t[] = {write_recs("ctx.trace", &r)};
    char ctx[48], asids[48];
    snprintf(ctx, sizeof ctx, "cpu.context=%s", p->policy);
    snprintf(asids, sizeof asids, "cpu.nr_asids=%u", p->nr_asids);
    mm_config c;
    base_config(&c, (const char *const[]){ctx, asids, NULL});
    char *j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "dTLB-loads", 64);
    EXPECT_COUNTER(j, "dTLB-load-misses", p->misses);
    EXPECT_COUNTER(j, "faults.demand_zero", 16);
    EXPECT_COUNTER(j, "os.switches", 6);
    EXPECT_COUNTER(j, "flush.cr3", p->flushing_cr3);
    EXPECT_COUNTER(j, "flush.cr3_noflush", 6 - p->flushing_cr3);
    free(j);
}

/* ---- several traces: one workload ------------------------------------------ */

/* A lackey-like trace (no events): n loads of one page. */
static const char *plain_trace(const char *name, unsigned n, uint64_t va)
{
    recs r = {0};
    for (unsigned i = 0; i < n; i++)
        put(&r, LD(va + 8 * (i % 64)));
    return write_recs(name, &r);
}

/* Two traces without events, 10 and 7 loads, on one CPU with quantum 3:
 * they are pids 1000 and 1001 and time-share CPU 0, round robin, 3
 * accesses a turn:
 *   turns  A:3  B:3  A:3  B:3  A:3  B:1 (B ends)  A:1 (A ends)
 * Each turn runs a process the CPU was not running, so each starts with a
 * switch: 7 switches (the first puts pid 1000 on the idle CPU).  Each
 * process faults its page in once. */
Test(workload, time_sharing)
{
    const char *t[] = {plain_trace("a.trace", 10, 0x400000), plain_trace("b.trace", 7, 0x400000)};
    mm_config c;
    base_config(&c, (const char *const[]){"os.quantum=3", NULL});
    char *j = replay_json(&c, t, 2);
    EXPECT_COUNTER(j, "os.switches", 7);
    EXPECT_COUNTER(j, "os.processes", 2);
    EXPECT_COUNTER(j, "faults.demand_zero", 2);
    EXPECT_COUNTER(j, "dTLB-loads", 17 + 2);   /* + one retry per fault */
    cr_expect(jhas(j, "pagetable.pid1000.bytes") && jhas(j, "pagetable.pid1001.bytes"), "pids 1000 and 1001");
    free(j);
}

/* The same traces with 2 CPUs: trace i runs on CPU i, interleaved record by
 * record; each CPU switches once, to its process. */
Test(workload, one_cpu_each)
{
    const char *t[] = {plain_trace("a.trace", 10, 0x400000), plain_trace("b.trace", 7, 0x400000)};
    mm_config c;
    base_config(&c, (const char *const[]){"cpu.cpus=2", "os.quantum=3", NULL});
    char *j = replay_json(&c, t, 2);
    EXPECT_COUNTER(j, "os.switches", 2);
    EXPECT_COUNTER(j, "os.processes", 2);
    EXPECT_COUNTER(j, "dTLB-loads", 17 + 2);
    cr_expect(jhas(j, "pagetable.pid1000.bytes") && jhas(j, "pagetable.pid1001.bytes"), "pids 1000 and 1001");
    free(j);
}

/* A threaded lackey log (trace record --threads): its two threads are
 * one process on CPUs 0 and 1.  Thread 1 stores to page A (a demand-zero
 * fault), thread 2 loads A and B: A is already mapped -- one address
 * space -- so CPU 1 walks without a fault; B faults once.  Page faults 2,
 * not 3; one process; each CPU's own lookups. */
Test(workload, threads_share_an_address_space)
{
    const char *log = "--9--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))\n"
                      " S 10000000,8\n"
                      "--9--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))\n"
                      " L 10000008,8\n"
                      " L 10001000,8\n";
    char lpath[160], tpath[160], err[512] = "";
    snprintf(lpath, sizeof lpath, "%s/threads.log", dir);
    snprintf(tpath, sizeof tpath, "%s/threads.trace", dir);
    write_text(lpath, log);
    trace_meta meta = {0};
    trace_writer *w = trace_writer_open(tpath, &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(trace_import(IMPORT_LACKEY, lpath, trace_writer_sink(w), &meta, err, sizeof err), 0, "%s", err);
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);
    const char *t[] = {tpath};
    mm_config c;
    base_config(&c, (const char *const[]){"cpu.cpus=2", NULL});
    char *j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "os.processes", 1);
    EXPECT_COUNTER(j, "page-faults", 2);
    EXPECT_COUNTER(j, "cpu0.page-faults", 1);
    EXPECT_COUNTER(j, "cpu1.page-faults", 1);
    EXPECT_COUNTER(j, "cpu0.dTLB-stores", 2);           /* A and its retry after the fault */
    EXPECT_COUNTER(j, "cpu1.dTLB-loads", 3);            /* A, B, B's retry */
    EXPECT_COUNTER(j, "cpu1.dTLB-load-misses", 3);
    EXPECT_COUNTER(j, "cpu1.dtlb_load_misses.walk_completed", 2);
    cr_expect(jhas(j, "pagetable.pid1000.bytes"), "the process is pid 1000");
    free(j);
    /* The same trace on one CPU is refused: it names CPU 1. */
    base_config(&c, NULL);
    char *o = NULL;
    replay_opts ro = {.traces = t, .ntraces = 1, .format = REPORT_JSON};
    cr_assert_eq(replay_opts_to(&c, &ro, &o, err, sizeof err), REPLAY_ERROR);
    cr_assert(strstr(err, "CPU 1, but the configuration has 1 (cpu.cpus)"), "%s", err);
    free(o);
}

/* Processes of different traces stay apart.  A trace with its own events
 * (switch to pid 1001, one load) as trace 0 beside a plain trace as trace
 * 1 (pid 1001 by the rule 1000+i): the plain trace took 1001 first, so
 * trace 0's pid 1001 becomes 1*1000000 + 1001.  The other way round there
 * is no clash (the plain trace is pid 1000).  Two copies of a trace of 4
 * processes: 8 processes, the second copy's renamed 2*1000000 + pid. */
Test(workload, pids_kept_apart)
{
    recs r = {0};
    put(&r, SW(0, 1001));
    put(&r, LD(0x400000));
    const char *own = write_recs("own.trace", &r);
    const char *plain = plain_trace("plain.trace", 5, 0x400000);
    mm_config c;
    base_config(&c, NULL);
    const char *t[] = {own, plain};
    char *j = replay_json(&c, t, 2);
    EXPECT_COUNTER(j, "os.processes", 2);
    cr_expect(jhas(j, "pagetable.pid1001.bytes") && jhas(j, "pagetable.pid1001001.bytes"), "%s", j);
    free(j);

    const char *t2[] = {plain, own};
    j = replay_json(&c, t2, 2);
    EXPECT_COUNTER(j, "os.processes", 2);
    cr_expect(jhas(j, "pagetable.pid1000.bytes") && jhas(j, "pagetable.pid1001.bytes"), "%s", j);
    free(j);

    const char *t3[] = {TRACES "procs-rr.trace.zst", TRACES "procs-rr.trace.zst"};
    j = replay_json(&c, t3, 2);
    EXPECT_COUNTER(j, "os.processes", 8);
    for (uint32_t pid = 1001; pid <= 1004; pid++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "pagetable.pid%u.bytes", pid);
        snprintf(b, sizeof b, "pagetable.pid%u.bytes", 2000000 + pid);
        cr_expect(jhas(j, a) && jhas(j, b), "pids %u and %u", pid, 2000000 + pid);
    }
    free(j);
}

/* ---- interval rows, determinism, errors, stop -------------------------------- */

/* Split a CSV line in place into at most max fields. */
static size_t csv_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = 0;
    }
    return n;
}

/* -I rows: the deltas of every counter sum to the counter's total in the
 * one-report JSON of the same replay (a trace with a fork, switches and
 * exits, so counters of every kind move; gauges such as rss.pages have
 * negative deltas when they fall).  Rows: one per 10007 accesses and one
 * for the rest; the accesses column runs to the trace's total. */
Test(replay, interval_rows_sum_to_totals)
{
    const char *t[] = {TRACES "fork-cow.trace.zst"};
    mm_config c;
    config(&c, NULL);
    char *j = replay_json(&c, t, 1);
    char err[4608], *csv;
    const uint64_t N = 10007;
    cr_assert_eq(replay_to(&c, t, 1, REPORT_CSV, N, NULL, &csv, err, sizeof err), REPLAY_DONE, "%s", err);

    enum { MAXF = 1024 };
    static char *head[MAXF], *row[MAXF];
    static int64_t sum[MAXF];
    memset(sum, 0, sizeof sum);
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    cr_assert_not_null(line);
    size_t nh = csv_fields(line, head, MAXF);
    cr_assert_str_eq(head[0], "interval");
    cr_assert_str_eq(head[1], "accesses");
    cr_assert_str_eq(head[2], "cycles");
    uint64_t rows = 0, last_acc = 0, short_rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        size_t n = csv_fields(line, row, MAXF);
        cr_assert_eq(n, nh, "row %" PRIu64 ": %zu fields, header %zu", rows + 1, n, nh);
        cr_assert_eq(strtoull(row[0], NULL, 10), ++rows);
        last_acc = strtoull(row[1], NULL, 10);
        short_rows += last_acc != rows * N;   /* only the last row may end early */
        for (size_t i = 3; i < n; i++)
            sum[i] += strtoll(row[i], NULL, 10);
    }
    cr_expect_eq(last_acc, 250000, "accesses column ends at %" PRIu64, last_acc);
    cr_expect_eq(rows, (250000 + N - 1) / N);
    cr_expect_eq(short_rows, 1);
    size_t checked = 0;
    for (size_t i = 3; i < nh; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", head[i]);
        char *d = strstr(name, ".delta");
        if (d && d[6] == 0)
            *d = 0;   /* "cycles.delta": the counter "cycles" */
        cr_expect_eq((uint64_t)sum[i], jget(j, name), "%s: rows sum to %" PRId64 ", total %" PRIu64, name, sum[i],
                     jget(j, name));
        checked++;
    }
    cr_expect_gt(checked, 100);
    free(csv);
    free(j);
}

/* Same trace and config, twice: byte-identical JSON.  One trace with its
 * own processes (4 processes round robin), and a time-shared workload of
 * two lackey traces. */
Test(replay, deterministic)
{
    mm_config c;
    config(&c, (const char *const[]){"cpu.cpus=1", "os.quantum=50000", NULL});
    const char *t1[] = {TRACES "procs-rr.trace.zst"};
    const char *t2[] = {TRACES "gzip.trace.zst", TRACES "sort.trace.zst"};
    char *a = replay_json(&c, t1, 1), *b = replay_json(&c, t1, 1);
    cr_expect_str_eq(a, b);
    free(a);
    free(b);
    a = replay_json(&c, t2, 2);
    b = replay_json(&c, t2, 2);
    cr_expect_str_eq(a, b);
    cr_expect_gt(jget(a, "os.switches"), 100);
    free(a);
    free(b);
}

/* A trace cut in the middle: REPLAY_ERROR with the reader's message, which
 * names the file and the byte offset; no report is written. */
Test(replay, truncated_trace)
{
    recs r = {0};
    put(&r, SW(0, 1));
    for (uint64_t i = 0; i < 20000; i++)
        put(&r, LD(0x10000000 + (i * 7919 % 4096) * PAGE));
    const char *full = write_trace("full.trace", r.v, r.n, 1000);
    free(r.v);
    struct stat sb;
    cr_assert_eq(stat(full, &sb), 0);
    char cut[160];
    snprintf(cut, sizeof cut, "%s/cut.trace", dir);
    FILE *in = fopen(full, "rb"), *o = fopen(cut, "wb");
    cr_assert(in && o);
    for (off_t i = 0; i < sb.st_size / 2; i++)
        fputc(fgetc(in), o);
    fclose(in);
    fclose(o);
    const char *t[] = {cut};
    mm_config c;
    base_config(&c, NULL);
    char err[4608], *out;
    cr_assert_eq(replay_to(&c, t, 1, REPORT_JSON, 0, NULL, &out, err, sizeof err), REPLAY_ERROR);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s: offset ", cut);
    cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "%s", err);
    cr_expect_str_eq(out, "");
    free(out);
}

/* A record the OS model refuses (a second fork of an existing child), and
 * a CPU the machine does not have: REPLAY_ERROR naming file and record. */
Test(replay, bad_records)
{
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, FORK(1, 2));
    put(&r, FORK(1, 2));
    const char *t[] = {write_recs("fork2.trace", &r)};
    mm_config c;
    base_config(&c, NULL);
    char err[4608], *out;
    cr_assert_eq(replay_to(&c, t, 1, REPORT_JSON, 0, NULL, &out, err, sizeof err), REPLAY_ERROR);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s: record 2: ", t[0]);
    cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "%s", err);
    free(out);

    put(&r, SW(0, 1));
    put(&r, LD(0x1000));
    trace_rec far = LD(0x2000);
    far.cpu = 5;
    put(&r, far);
    t[0] = write_recs("cpu5.trace", &r);
    cr_assert_eq(replay_to(&c, t, 1, REPORT_JSON, 0, NULL, &out, err, sizeof err), REPLAY_ERROR);
    snprintf(prefix, sizeof prefix, "%s: record 2: CPU 5", t[0]);
    cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "%s", err);
    free(out);
}

/* Out of memory under exhaustion=stop.  24 MiB of which 16 are reserved:
 * 2048 frames, fewer than the 16384 pages the process stores to.  Every
 * page that fits takes 2 lookups (the faulting one and the retry); the
 * access that finds no frame takes 1 (its fault cannot be handled) and
 * the replay stops there: dTLB-stores = 2 x demand-zero faults + 1.  The
 * report is still written.  Under exhaustion=reclaim the same trace
 * completes. */
Test(replay, out_of_memory)
{
    const uint64_t A = 0x40000000;
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, MMAP(1, A, 16384 * PAGE, RW, TR_MAP_ANON));
    for (uint64_t i = 0; i < 16384; i++)
        put(&r, ST(A + i * PAGE));
    const char *t[] = {write_recs("oom.trace", &r)};
    mm_config c;
    base_config(&c, (const char *const[]){"os.phys_mem_mib=24", "os.exhaustion=stop", NULL});
    char err[4608], *j;
    cr_assert_eq(replay_to(&c, t, 1, REPORT_JSON, 0, NULL, &j, err, sizeof err), REPLAY_OOM, "%s", err);
    uint64_t dz = jget(j, "faults.demand_zero");
    cr_expect(dz > 1000 && dz < 2048, "%" PRIu64 " pages", dz);
    EXPECT_COUNTER(j, "dTLB-stores", 2 * dz + 1);
    EXPECT_COUNTER(j, "os.out_of_memory", 1);
    EXPECT_COUNTER(j, "rss.pages", dz);
    free(j);

    base_config(&c, (const char *const[]){"os.phys_mem_mib=24", "os.exhaustion=reclaim", NULL});
    j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "faults.demand_zero", 16384);
    cr_expect_gt(jget(j, "os.reclaims"), 0);
    free(j);
}

/* *stop already set: REPLAY_STOPPED before any record, with the report. */
Test(replay, stop_flag)
{
    volatile sig_atomic_t stop = 1;
    const char *t[] = {TRACES "zipf.trace.zst"};
    mm_config c;
    base_config(&c, NULL);
    char err[4608], *j;
    cr_assert_eq(replay_to(&c, t, 1, REPORT_JSON, 0, &stop, &j, err, sizeof err), REPLAY_STOPPED, "%s", err);
    EXPECT_COUNTER(j, "dTLB-loads", 0);
    free(j);
}

/* ---- progress ----------------------------------------------------------------- */

/* What the progress callback saw. */
typedef struct calls {
    size_t n, ends;
    replay_progress last;
    bool went_down, end_not_last, total_changed;
} calls;

static void note_progress(const replay_progress *p, void *ctx)
{
    calls *c = ctx;
    if (c->n && p->accesses < c->last.accesses)
        c->went_down = true;
    if (c->n && p->total != c->last.total)
        c->total_changed = true;
    if (c->ends)
        c->end_not_last = true;
    c->ends += p->end;
    c->last = *p;
    c->n++;
}

/* gups: 500002 records (250000 accesses, each after its instruction
 * count), so a call at records 65536, 131072, ... 458752 -- 7 -- and the
 * end's, with every access; the total is the footer's from the first call.
 * The same with two machines at once (replay_run_multi). */
Test(replay, progress_every_64k_records_then_the_end)
{
    const char *t[] = {TRACES "gups.trace.zst"};
    mm_config c[2];
    base_config(&c[0], NULL);
    base_config(&c[1], (const char *const[]){"dtlb.4k.ways=8", NULL});
    for (unsigned k = 1; k <= 2; k++) {
        calls seen = {0};
        FILE *f = tmpfile();
        cr_assert_not_null(f);
        replay_opts o = {.traces = t, .ntraces = 1, .format = REPORT_JSON, .out = f, .title = "test",
                         .progress = note_progress, .progress_ctx = &seen};
        char err[4608] = "";
        stats *out[2];
        replay_status st[2];
        replay_status rs = k == 1 ? replay_run(&c[0], &o, err, sizeof err)
                                  : replay_run_multi(c, 2, &o, out, st, err, sizeof err);
        cr_assert_eq(rs, REPLAY_DONE, "%s", err);
        fclose(f);
        for (unsigned i = 0; k == 2 && i < 2; i++)
            stats_free(out[i]);
        cr_assert_eq(seen.n, 500002 / REPLAY_PROGRESS_RECORDS + 1, "%u machines: %zu calls", k, seen.n);
        cr_assert_eq(seen.ends, 1);
        cr_assert_not(seen.end_not_last);
        cr_assert_not(seen.went_down);
        cr_assert_not(seen.total_changed);
        cr_assert(seen.last.end);
        cr_assert_eq(seen.last.accesses, 250000);
        cr_assert_eq(seen.last.total, 250000);
    }
}

/* A replay stopped before its first record still ends with the end call. */
Test(replay, progress_end_call_when_stopped)
{
    volatile sig_atomic_t stop = 1;
    const char *t[] = {TRACES "gups.trace.zst"};
    mm_config c;
    base_config(&c, NULL);
    calls seen = {0};
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    replay_opts o = {.traces = t, .ntraces = 1, .format = REPORT_JSON, .out = f, .stop = &stop, .title = "test",
                     .progress = note_progress, .progress_ctx = &seen};
    char err[4608] = "";
    cr_assert_eq(replay_run(&c, &o, err, sizeof err), REPLAY_STOPPED, "%s", err);
    fclose(f);
    cr_assert_eq(seen.n, 1);
    cr_assert(seen.last.end);
    cr_assert_eq(seen.last.accesses, 0);
    cr_assert_eq(seen.last.total, 250000);
}

/* ---- the dTLB against an independent LRU model -------------------------------- */

/* A small program: sequential stores over 1 MiB (256 pages), random loads
 * over it (which thrash a 64-entry TLB), and 8-byte loads that straddle
 * page boundaries (each translates two pages). */
static const char prog_c[] =
    "#include <stdint.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "int main(void)\n"
    "{\n"
    "    size_t n = 1 << 20;\n"
    "    unsigned char *buf = malloc(n + 8192);\n"
    "    unsigned char *b = (unsigned char *)(((uintptr_t)buf + 4095) & ~(uintptr_t)4095);\n"
    "    uint64_t sum = 0, x = 12345;\n"
    "    for (size_t i = 0; i < n; i += 64)\n"
    "        b[i] = (unsigned char)i;\n"
    "    for (int k = 0; k < 20000; k++) {\n"
    "        x = x * 6364136223846793005ull + 1442695040888963407ull;\n"
    "        sum += b[(x >> 33) % n];\n"
    "    }\n"
    "    for (size_t p = 1; p < 200; p++) {\n"
    "        uint64_t v;\n"
    "        memcpy(&v, b + p * 4096 - 3, 8);\n"
    "        sum += v;\n"
    "    }\n"
    "    printf(\"%llu\\n\", (unsigned long long)sum);\n"
    "    free(buf);\n"
    "    return 0;\n"
    "}\n";

#define LRU_SETS 16
#define LRU_WAYS 4

/* The independent model: a set-associative LRU array of virtual page
 * numbers (index = vpn mod sets), each set an MRU-first list. */
typedef struct lru_tlb {
    uint64_t way[LRU_SETS][LRU_WAYS];
    unsigned n[LRU_SETS];
} lru_tlb;

static bool lru_access(lru_tlb *t, uint64_t vpn)
{
    unsigned s = (unsigned)(vpn % LRU_SETS), i;
    uint64_t *w = t->way[s];
    for (i = 0; i < t->n[s] && w[i] != vpn; i++)
        ;
    bool hit = i < t->n[s];
    if (!hit && t->n[s] < LRU_WAYS)
        t->n[s]++;
    if (i == LRU_WAYS)
        i--;   /* miss in a full set: the LRU way goes */
    memmove(w + 1, w, i * sizeof *w);
    w[0] = vpn;
    return hit;
}

/* Pages touched so far (any kind): an open-addressing set. */
typedef struct page_set {
    uint64_t *v;
    size_t cap, n;
} page_set;

static bool page_first_touch(page_set *s, uint64_t vpn)
{
    if (2 * (s->n + 1) > s->cap) {
        page_set old = *s;
        s->cap = old.cap ? 2 * old.cap : 1024;
        s->v = calloc(s->cap, sizeof *s->v);
        cr_assert_not_null(s->v);
        s->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.v[i])
                page_first_touch(s, old.v[i] - 1);
        free(old.v);
    }
    size_t i = (size_t)((vpn + 1) * 0x9E3779B97F4A7C15ull >> 20) & (s->cap - 1);
    for (; s->v[i]; i = (i + 1) & (s->cap - 1))
        if (s->v[i] == vpn + 1)
            return false;
    s->v[i] = vpn + 1;
    s->n++;
    return true;
}

/* The program's trace, replayed on a machine whose dTLB is one 4 KiB array
 * of 16 sets x 4 ways, LRU, with no STLB, must miss exactly as an LRU
 * array fed the same data pages does, once these differences are counted:
 *  - Faults.  The first touch of a page by a load or store is a lookup that
 *    misses, a walk that faults, the handler, and a retry: a second lookup
 *    that misses again (the not-present PTE was never cached) and walks.
 *    The LRU array sees one miss.  Every other data access finds its page
 *    mapped: the first touch of any page, by a data access or an
 *    instruction fetch, maps it readable and writable (implicit VMAs are
 *    read/write, and executable when an ifetch made them; a VMA that gains
 *    exec later changes PTEs without a flush).  So the MMU misses once
 *    more per data access that is the first touch of its page.
 *  - Straddling accesses are translated page by page: one lookup per page
 *    touched, in address order -- the model does the same.
 *  - A store to a page first loaded finds a dTLB entry with D clear: the
 *    MMU counts a hit, drops the entry and re-walks, and the fill puts the
 *    same page back as most recently used -- an LRU hit exactly.
 *  - Timing: with max_outstanding 1 every fill lands before the next
 *    lookup, so no access misses on a fill in flight; no STLB, so every
 *    miss walks and fills only the L1; THP never, so every page is 4 KiB;
 *    one process, so no flush after its first CR3 load.
 * Hence: dTLB-load-misses + dTLB-store-misses = LRU misses + first-touch
 * data pieces, and dTLB-loads + dTLB-stores = data pieces + the same. */
Test(lru, dtlb_matches_independent_lru)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    char src[128], bin[128], log[128], cmd[768];
    snprintf(src, sizeof src, "%s/prog.c", dir);
    snprintf(bin, sizeof bin, "%s/prog", dir);
    snprintf(log, sizeof log, "%s/lackey.log", dir);
    write_text(src, prog_c);
    snprintf(cmd, sizeof cmd, "cc -O1 -o '%s' '%s'", bin, src);
    if (system(cmd) != 0)
        cr_skip_test("cannot compile with cc");
    snprintf(cmd, sizeof cmd, "valgrind --tool=lackey --trace-mem=yes --log-file='%s' '%s' >/dev/null", log, bin);
    cr_assert_eq(system(cmd), 0);

    /* lackey log -> trace file, through the importer and the writer. */
    char trace[128], err[4608] = "";
    snprintf(trace, sizeof trace, "%s/prog.trace", dir);
    trace_meta meta = {0};
    snprintf(meta.source, sizeof meta.source, "lackey");
    trace_writer *w = trace_writer_open(trace, &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(trace_import(IMPORT_LACKEY, log, trace_writer_sink(w), NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);

    /* The model, over the trace as the replay reads it. */
    static lru_tlb model;
    memset(&model, 0, sizeof model);
    page_set touched = {0};
    uint64_t pieces = 0, misses = 0, first_data = 0, straddles = 0;
    trace_reader *r = trace_reader_open(trace, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    trace_rec rec;
    int rc;
    while ((rc = trace_next(r, &rec)) > 0) {
        if (rec.kind != TR_ACCESS)
            continue;
        cr_assert_lt(rec.va, 1ull << 47, "a kernel-half address in a user trace");
        uint64_t first = rec.va >> 12, last = (rec.va + rec.size - 1) >> 12;
        straddles += rec.acc != MM_IFETCH && last != first;
        for (uint64_t p = first; p <= last; p++) {
            bool fresh = page_first_touch(&touched, p);
            if (rec.acc == MM_IFETCH)
                continue;
            pieces++;
            if (!lru_access(&model, p))
                misses++;
            first_data += fresh;
        }
    }
    cr_assert_eq(rc, 0, "%s", trace_reader_error(r));
    trace_reader_close(r);
    free(touched.v);
    cr_assert_geq(straddles, 199, "the program's straddling loads are in the trace");
    cr_assert_gt(misses, 1000, "the random loads thrash the 64-entry array");

    mm_config c;
    base_config(&c, (const char *const[]){"dtlb.4k.sets=16", "dtlb.4k.ways=4", "dtlb.4k.replacement=lru",
                                          "dtlb.2m.ways=0", "dtlb.1g.ways=0", "stlb.4k.ways=0", "stlb.2m.ways=0",
                                          "stlb.1g.ways=0", NULL});
    const char *t[] = {trace};
    char *j = replay_json(&c, t, 1);
    EXPECT_COUNTER(j, "faults.segv", 0);
    cr_expect_eq(jget(j, "dTLB-loads") + jget(j, "dTLB-stores"), pieces + first_data,
                 "lookups %" PRIu64 " + %" PRIu64 ", model %" PRIu64 " pieces + %" PRIu64 " faults",
                 jget(j, "dTLB-loads"), jget(j, "dTLB-stores"), pieces, first_data);
    cr_expect_eq(jget(j, "faults.ec_0x04") + jget(j, "faults.ec_0x06"), first_data);
    uint64_t mmu_misses = jget(j, "dTLB-load-misses") + jget(j, "dTLB-store-misses");
    cr_expect_eq(mmu_misses, misses + first_data,
                 "MMU misses %" PRIu64 ", LRU misses %" PRIu64 " + first-touch data faults %" PRIu64, mmu_misses,
                 misses, first_data);
    free(j);
}

/* ---- mmusim run --------------------------------------------------------------- */

static char out[1 << 20], errbuf[1 << 12];


/* Run `mmusim ARGS`; its exit status, stdout and stderr in out/errbuf. */
static int run(const char *args)
{
    char line[4096];
    snprintf(line, sizeof line, "\"$M\" %s", args);
    return prog_capture(line, dir, out, sizeof out, errbuf, sizeof errbuf);
}



/* ---- phases: --skip, --warmup, --max, --roi (replay.h, Phases) ------------------
 *
 * The machine is the test machine of the header comment (one CPU, blocking
 * front end, no THP; Skylake's dTLB: 16 sets x 4 ways of 4 KiB pages, so
 * the 16 consecutive pages used here never evict each other).  A page is
 * touched in one of three ways, whose counts follow from the demand_paging
 * test above:
 *  - first touch in the measurement (not mapped): a miss, a faulting walk,
 *    the handler, a retry that misses again and walks to completion --
 *    2 lookups, 2 misses, 1 completed walk, 1 page fault;
 *  - mapped (by a skipped or warm-up touch) but not in the TLBs (a skipped
 *    touch fills none): 1 lookup, 1 miss, 1 completed walk, no fault;
 *  - in the dTLB (touched in the warm-up or earlier in the measurement):
 *    1 lookup, a hit.
 * Skipped records leave no TLB entry and no count; warm-up records leave
 * TLB entries but no count. */

#define PH_A 0x10000000ull
#define PG(i) (PH_A + (uint64_t)(i) * PAGE)
#define INSTR(n) ((trace_rec){.kind = TR_INSTR, .count = (n)})
#define ROI(w) ((trace_rec){.kind = TR_ROI, .roi = (w)})

/* Process 1 on CPU 0 with 16 pages mapped at PH_A, then loads of the pages
 * `pages` (-1 ends; -2 is an ROI begin marker, -3 an end marker). */
static const char *phase_trace(const char *name, const int *pages)
{
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, MMAP(1, PH_A, 16 * PAGE, RW, TR_MAP_ANON));
    for (; *pages != -1; pages++)
        put(&r, *pages == -2 ? ROI(TR_ROI_BEGIN) : *pages == -3 ? ROI(TR_ROI_END) : LD(PG(*pages) + 8));
    return write_recs(name, &r);
}

/* Replay one trace with phases into JSON; the status must be `want`. */
static char *replay_phases(const char *trace, uint64_t skip, uint64_t warmup, uint64_t max, bool roi,
                           replay_status want, char *err, size_t errlen)
{
    mm_config c;
    base_config(&c, NULL);
    const char *t[] = {trace};
    replay_opts o = {.traces = t, .ntraces = 1, .format = REPORT_JSON, .skip = skip, .warmup = warmup, .max = max,
                     .roi = roi};
    char *text;
    replay_status st = replay_opts_to(&c, &o, &text, err, errlen);
    cr_assert_eq(st, want, "status %d: %s", st, err);
    return text;
}

/* No instruction counts: the units are accesses.  --skip 4 --warmup 4
 * --max 8 on the loads of pages
 *   skip:    0 1 2 3        (mapped by the OS model only)
 *   warm-up: 0 1 4 5        (0, 1: walks; 4, 5: faults; all now in the dTLB)
 *   measure: 0 1 4 5 2 3 6 7
 *   after:   8              (not replayed: --max reached)
 * Measured: 0 1 4 5 hit (4 lookups); 2 3 are mapped but not cached (2
 * lookups, 2 misses, 2 walks); 6 7 are first touches (4 lookups, 4 misses,
 * 2 walks, 2 faults).  dTLB-loads 10, dTLB-load-misses 6, walks completed
 * 4, page faults 2 (demand-zero), no STLB hit (none of the 6 missed pages
 * was ever filled in the STLB).  Gauges are state: 8 pages resident
 * (the peak restarts at the reset: 6, then 8); the switch and the mmap
 * happened in the skipped part, so os.switches and os.mmaps are 0; the
 * frame allocator counts the 2 data frames of the measured faults (the
 * page-table pages were allocated in the skip). */
Test(replay, phases_in_accesses)
{
    const char *t = phase_trace("ph.trace", (const int[]){0, 1, 2, 3, 0, 1, 4, 5, 0, 1, 4, 5, 2, 3, 6, 7, 8, -1});
    char err[4608];
    char *j = replay_phases(t, 4, 4, 8, false, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 10);
    EXPECT_COUNTER(j, "dTLB-load-misses", 6);
    EXPECT_COUNTER(j, "dtlb_load_misses.walk_completed", 4);
    EXPECT_COUNTER(j, "walker.faults", 2);
    EXPECT_COUNTER(j, "page-faults", 2);
    EXPECT_COUNTER(j, "faults.demand_zero", 2);
    EXPECT_COUNTER(j, "stlb.hits", 0);
    EXPECT_COUNTER(j, "stlb.misses", 6);
    EXPECT_COUNTER(j, "instructions", 0);
    EXPECT_COUNTER(j, "rss.pages", 8);
    EXPECT_COUNTER(j, "rss.pages_peak", 8);
    EXPECT_COUNTER(j, "os.switches", 0);
    EXPECT_COUNTER(j, "os.mmaps", 0);
    EXPECT_COUNTER(j, "frames.allocs_4k", 2);
    free(j);

    /* Without phases the same trace counts everything: 17 loads, of which
     * 9 pages first touched (18 lookups) and the other 8 hit: 26 lookups. */
    j = replay_phases(t, 0, 0, 0, false, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 26);
    EXPECT_COUNTER(j, "page-faults", 9);
    free(j);
}

/* With instruction counts the units are instructions, and a count that
 * crosses a phase's end is split.  Records (instr n = a count of n):
 *   instr 10, load 0, instr 10, load 1, instr 10, load 0, load 1, load 2,
 *   instr 10, load 3
 * --skip 15 --warmup 10 --max 12:
 *   skip 15:    instr 10, load 0, 5 of the second instr 10
 *   warm-up 10: its other 5, load 1, 5 of the third instr 10
 *   measure 12: its other 5, load 0 (mapped, not cached: 1 miss, a walk),
 *               load 1 (in the dTLB: a hit), load 2 (first touch: 2
 *               lookups, 2 misses, a fault), 7 of the last instr 10 --
 *               the 12th instruction ends the run: load 3 is not replayed.
 * instructions 12, dTLB-loads 4, dTLB-load-misses 3, 2 walks completed,
 * 1 page fault, 3 pages resident. */
Test(replay, phases_in_instructions_split_counts)
{
    recs r = {0};
    put(&r, SW(0, 1));
    put(&r, MMAP(1, PH_A, 16 * PAGE, RW, TR_MAP_ANON));
    const trace_rec body[] = {INSTR(10), LD(PG(0)), INSTR(10), LD(PG(1)), INSTR(10), LD(PG(0)),
                              LD(PG(1)), LD(PG(2)), INSTR(10), LD(PG(3))};
    for (size_t i = 0; i < sizeof body / sizeof body[0]; i++)
        put(&r, body[i]);
    const char *t = write_recs("ins.trace", &r);
    char err[4608];
    char *j = replay_phases(t, 15, 10, 12, false, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "instructions", 12);
    EXPECT_COUNTER(j, "dTLB-loads", 4);
    EXPECT_COUNTER(j, "dTLB-load-misses", 3);
    EXPECT_COUNTER(j, "dtlb_load_misses.walk_completed", 2);
    EXPECT_COUNTER(j, "page-faults", 1);
    EXPECT_COUNTER(j, "rss.pages", 3);
    free(j);
    /* --skip 20 --warmup 10, no --max: the skip ends exactly after the
     * second count; the warm-up is load 1 and the third count whole; the
     * measurement is load 0 (a walk), load 1 (a hit), load 2 (a fault),
     * instr 10, load 3 (a fault): instructions 10, dTLB-loads 6, misses 5,
     * page faults 2. */
    j = replay_phases(t, 20, 10, 0, false, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "instructions", 10);
    EXPECT_COUNTER(j, "dTLB-loads", 6);
    EXPECT_COUNTER(j, "dTLB-load-misses", 5);
    EXPECT_COUNTER(j, "page-faults", 2);
    free(j);
}

/* --roi: loads of pages 0, 1, then the begin marker, 0, 2, 2, the end
 * marker, 3.  Measured: 0 (mapped before the ROI, not cached: 1 lookup, 1
 * miss), 2 (a fault: 2 and 2), 2 (a hit); 3 is after the end: not replayed.
 * dTLB-loads 4, misses 3, 2 walks completed, 1 fault, 3 pages resident.
 * With --warmup 1 (counted from the begin marker) load 0 warms the dTLB
 * and the measurement is 2 (fault), 2 (hit): loads 3, misses 2.  With
 * --skip 1 --max 1: load 0 skipped, load 2 measured (2 lookups), then the
 * run ends before the end marker: loads 2, misses 2. */
Test(replay, roi_markers)
{
    const char *t = phase_trace("roi.trace", (const int[]){0, 1, -2, 0, 2, 2, -3, 3, -1});
    char err[4608];
    char *j = replay_phases(t, 0, 0, 0, true, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 4);
    EXPECT_COUNTER(j, "dTLB-load-misses", 3);
    EXPECT_COUNTER(j, "dtlb_load_misses.walk_completed", 2);
    EXPECT_COUNTER(j, "page-faults", 1);
    EXPECT_COUNTER(j, "rss.pages", 3);
    free(j);
    j = replay_phases(t, 0, 1, 0, true, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 3);
    EXPECT_COUNTER(j, "dTLB-load-misses", 2);
    free(j);
    j = replay_phases(t, 1, 0, 1, true, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 2);
    EXPECT_COUNTER(j, "dTLB-load-misses", 2);
    free(j);
    /* Without --roi the markers change nothing: 6 loads, 4 pages first
     * touched (8 lookups) and 2 hits. */
    j = replay_phases(t, 0, 0, 0, false, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 10);
    free(j);
}

/* The errors: one line naming the trace. */
Test(replay, phase_errors)
{
    const char *plain = phase_trace("plain.trace", (const int[]){0, 1, -1});
    const char *roi = phase_trace("early.trace", (const int[]){-3, 0, -2, 1, 2, -3, 3, -1});
    char err[4608], want[4800];
    /* --roi and no begin marker. */
    free(replay_phases(plain, 0, 0, 0, true, REPLAY_ERROR, err, sizeof err));
    snprintf(want, sizeof want, "%s: --roi: no ROI begin marker in the trace", plain);
    cr_expect_str_eq(err, want);
    /* A warm-up longer than the trace: 2 of its 5 accesses. */
    free(replay_phases(plain, 0, 5, 0, false, REPLAY_ERROR, err, sizeof err));
    snprintf(want, sizeof want, "%s: the trace ends during --warmup (after 2 of its 5 accesses): nothing is measured",
             plain);
    cr_expect_str_eq(err, want);
    /* A skip longer than the trace. */
    free(replay_phases(plain, 3, 0, 0, false, REPLAY_ERROR, err, sizeof err));
    snprintf(want, sizeof want, "%s: the trace ends during --skip (after 2 of its 3 accesses): nothing is measured",
             plain);
    cr_expect_str_eq(err, want);
    /* The end marker before the begin marker changes nothing; the ROI's
     * own end comes after 2 accesses of a 5-access warm-up. */
    free(replay_phases(roi, 0, 5, 0, true, REPLAY_ERROR, err, sizeof err));
    snprintf(want, sizeof want, "%s: the ROI ends during --warmup (after 2 of its 5 accesses): nothing is measured",
             roi);
    cr_expect_str_eq(err, want);
    /* --max beyond the trace is no error: the measurement ends with it. */
    char *j = replay_phases(plain, 0, 0, 100, false, REPLAY_DONE, err, sizeof err);
    EXPECT_COUNTER(j, "dTLB-loads", 4);
    free(j);
}

/* Interval rows start after the warm-up.  --warmup 4 on loads of pages
 * 0 1 2 3 (warm-up: 4 faults), then 0 1 2 3 4 5 with -I 3: row 1 is
 * loads 0 1 2 (3 hits: dTLB-loads 3, accesses 3), row 2 is 3 (a hit), 4
 * and 5 (faults: 2 lookups each): dTLB-loads 5, accesses 6.  The rows'
 * deltas sum to the report's counters. */
Test(replay, interval_rows_start_after_warmup)
{
    const char *t = phase_trace("ivl.trace", (const int[]){0, 1, 2, 3, 0, 1, 2, 3, 4, 5, -1});
    mm_config c;
    base_config(&c, NULL);
    const char *tt[] = {t};
    replay_opts o = {.traces = tt, .ntraces = 1, .format = REPORT_CSV, .interval = 3, .warmup = 4};
    char err[4608], *csv;
    cr_assert_eq(replay_opts_to(&c, &o, &csv, err, sizeof err), REPLAY_DONE, "%s", err);
    enum { MAXF = 1024 };
    static char *head[MAXF], *row[MAXF];
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    cr_assert_not_null(line);
    size_t nh = csv_fields(line, head, MAXF), col = 0;
    for (size_t i = 0; i < nh; i++)
        if (!strcmp(head[i], "dTLB-loads"))
            col = i;
    cr_assert_gt(col, 0);
    static const uint64_t want_acc[] = {3, 6}, want_loads[] = {3, 5};
    size_t rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        cr_assert_lt(rows, 2, "a third row: %s", line);
        csv_fields(line, row, MAXF);
        cr_expect_eq(strtoull(row[1], NULL, 10), want_acc[rows], "row %zu: accesses %s", rows + 1, row[1]);
        cr_expect_eq(strtoull(row[col], NULL, 10), want_loads[rows], "row %zu: dTLB-loads %s", rows + 1, row[col]);
        rows++;
    }
    cr_expect_eq(rows, 2);
    free(csv);
}

/* replay_run_multi takes the phases too: both machines see the
 * measurement of phases_in_accesses. */
Test(replay, phases_multi)
{
    const char *t = phase_trace("phm.trace", (const int[]){0, 1, 2, 3, 0, 1, 4, 5, 0, 1, 4, 5, 2, 3, 6, 7, 8, -1});
    mm_config c[2];
    base_config(&c[0], NULL);
    base_config(&c[1], (const char *const[]){"walker.walkers=1", NULL});
    const char *tt[] = {t};
    replay_opts o = {.traces = tt, .ntraces = 1, .skip = 4, .warmup = 4, .max = 8};
    stats *res[2];
    replay_status st[2];
    char err[4608];
    cr_assert_eq(replay_run_multi(c, 2, &o, res, st, err, sizeof err), REPLAY_DONE, "%s", err);
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(st[i], REPLAY_DONE, "machine %d", i);
        cr_expect_eq(stats_get(res[i], "dTLB-loads", NULL), 10, "machine %d", i);
        cr_expect_eq(stats_get(res[i], "dTLB-load-misses", NULL), 6, "machine %d", i);
        cr_expect_eq(stats_get(res[i], "page-faults", NULL), 2, "machine %d", i);
        stats_free(res[i]);
    }
}

/* The count syntax of --skip/--warmup/--max and the sweep keys. */
Test(replay, parse_count)
{
    uint64_t v = 0;
    cr_expect_eq(replay_parse_count("0", &v), 0);
    cr_expect_eq(v, 0);
    cr_expect_eq(replay_parse_count("250", &v), 0);
    cr_expect_eq(v, 250);
    cr_expect_eq(replay_parse_count("3K", &v), 0);
    cr_expect_eq(v, 3000);
    cr_expect_eq(replay_parse_count("20M", &v), 0);
    cr_expect_eq(v, 20000000);
    cr_expect_eq(replay_parse_count("7G", &v), 0);
    cr_expect_eq(v, 7000000000ull);
    cr_expect_eq(replay_parse_count("18446744073709551615", &v), 0);
    cr_expect_eq(v, UINT64_MAX);
    static const char *const bad[] = {"", "K", "1k", "1KB", "1T", "-1", "+1", " 1", "1 ", "0x10",
                                      "18446744073709551616", "18446744073709552K", "1.5M"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(replay_parse_count(bad[i], &v), -1, "'%s' accepted", bad[i]);
}

/* The command line: the options reach the replay; a bad count is one line
 * and exit status 2; --roi on a trace without a marker names the file. */
Test(run_cli, phases)
{
    const char *t = phase_trace("cli.trace", (const int[]){0, 1, 2, 3, 0, 1, 4, 5, 0, 1, 4, 5, 2, 3, 6, 7, 8, -1});
    char cmd[512];
    snprintf(cmd, sizeof cmd, "run --json --set cpu.cpus=1 --set frontend.max_outstanding=1 --set os.thp=never "
                              "--skip 4 --warmup 4 --max 8 %s", t);
    cr_assert_eq(run(cmd), 0, "%s", errbuf);
    EXPECT_COUNTER(out, "dTLB-loads", 10);
    EXPECT_COUNTER(out, "page-faults", 2);
    snprintf(cmd, sizeof cmd, "run --skip 10X %s", t);
    cr_expect_eq(run(cmd), 2);
    cr_expect_str_eq(errbuf, "mmusim: run: --skip 10X: expected a count: digits with an optional K, M or G suffix "
                             "(10^3, 10^6, 10^9)\n");
    snprintf(cmd, sizeof cmd, "run --max 0 %s", t);
    cr_expect_eq(run(cmd), 2);
    cr_expect_str_eq(errbuf, "mmusim: run: --max 0: expected a count of at least 1\n");
    snprintf(cmd, sizeof cmd, "run --roi %s", t);
    cr_expect_eq(run(cmd), 2);
    char want[512];
    snprintf(want, sizeof want, "mmusim: %s: --roi: no ROI begin marker in the trace\n", t);
    cr_expect_str_eq(errbuf, want);
    cr_expect_str_eq(out, "");
}

/* From a pipe, an ROI begin marker first (as `trace record --roi` writes)
 * and instruction counts before the first access: the read-ahead keeps the
 * marker before the counts after it.  Records: instr 5, roi begin, instr 7,
 * load 0, instr 3, load 1.  --roi --warmup 7: the warm-up is the 7 after
 * the marker (the 5 before it are skipped); measured: load 0 (first
 * touch: 2 lookups), instr 3, load 1 (2 lookups): instructions 3,
 * dTLB-loads 4. */
Test(run_cli, roi_from_a_pipe)
{
    recs r = {0};
    put(&r, INSTR(5));
    put(&r, ROI(TR_ROI_BEGIN));
    put(&r, INSTR(7));
    put(&r, LD(PG(0)));
    put(&r, INSTR(3));
    put(&r, LD(PG(1)));
    const char *t = write_recs("pipe.trace", &r);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "run --json --set cpu.cpus=1 --set frontend.max_outstanding=1 --set os.thp=never "
                              "--roi --warmup 7 - < %s", t);
    cr_assert_eq(run(cmd), 0, "%s", errbuf);
    EXPECT_COUNTER(out, "instructions", 3);
    EXPECT_COUNTER(out, "dTLB-loads", 4);
}

/* Remove from s the line that starts after the newline of `key`. */
static void drop_line(char *s, const char *key)
{
    char *at = strstr(s, key);
    cr_assert_not_null(at, "%s", key);
    char *next = strchr(at + 1, '\n');
    cr_assert_not_null(next);
    memmove(at, next, strlen(next) + 1);
}

/* Remove from s every line that holds `part`. */
static void drop_lines_with(char *s, const char *part)
{
    for (char *at; (at = strstr(s, part));) {
        while (at > s && at[-1] != '\n')
            at--;
        char *next = strchr(at, '\n');
        cr_assert_not_null(next);
        memmove(at, next + 1, strlen(next + 1) + 1);
    }
}

/* The JSON report of `mmusim ARGS` with its title line removed (it names
 * the traces as given: a file, or "-"); the exit status must be `status`. */
static char *run_json_untitled(const char *args, int status)
{
    cr_assert_eq(run(args), status, "%s", errbuf);
    char *j = strdup(out);
    cr_assert_not_null(j);
    drop_line(j, "\n  \"title\": ");
    drop_line(j, "\n  \"trace_hash\": ");   /* a pipe's is null */
    return j;
}

/* No arguments: the bundled default trace on the default preset, as perf
 * stat prints. */
Test(run_cli, default_trace)
{
    cr_assert_eq(run("run"), 0, "%s", errbuf);
    cr_expect(strstr(out, "Performance counter stats for '") && strstr(out, "sqlite3.trace.zst") &&
                  strstr(out, "' on skylake:"),
              "%s", out);
    cr_expect(strstr(out, "dTLB-load-misses") && strstr(out, "% of all dTLB cache accesses"), "%s", out);
    cr_expect_str_eq(errbuf, "");
}

Test(run_cli, json)
{
    cr_assert_eq(run("run --json " TRACES "fork-cow.trace.zst"), 0, "%s", errbuf);
    cr_expect_eq(out[0], '{');
    cr_expect_eq(strcmp(out + strlen(out) - 2, "}\n"), 0);
    cr_expect_gt(jget(out, "dTLB-loads"), 0);
    EXPECT_COUNTER(out, "os.forks", 1);
    cr_expect(strstr(out, "\n  \"config.os.quantum\": 100000"), "%s", out);
}

Test(run_cli, bad_trace_is_one_line)
{
    cr_assert_eq(run("run /nonexistent/x.trace"), 2);
    cr_expect_str_eq(out, "");
    cr_expect_eq(prog_lines(errbuf), 1, "%s", errbuf);
    cr_expect_eq(strncmp(errbuf, "mmusim: /nonexistent/x.trace: ", 30), 0, "%s", errbuf);
    cr_assert_eq(run("run -I 0"), 2);
    cr_expect_eq(prog_lines(errbuf), 1, "%s", errbuf);
    cr_assert_eq(run("run --set os.quantum=0"), 2);
    cr_expect_eq(prog_lines(errbuf), 1, "%s", errbuf);
    cr_assert_eq(run("run --frobnicate"), 2);
    cr_expect_eq(prog_lines(errbuf), 1, "%s", errbuf);
}

/* -I: a CSV header and one row per 1 M accesses, the last for the rest:
 * sqlite3 has 5.37 M accesses, 6 rows. */
Test(run_cli, interval_csv)
{
    cr_assert_eq(run("run -I 1000000 " TRACES "sqlite3.trace.zst"), 0, "%s", errbuf);
    cr_expect_eq(strncmp(out, "interval,accesses,cycles,cycles.delta,translations,", 51), 0, "%.200s", out);
    cr_expect_eq(prog_lines(out), 7, "%s", out);
    char *last = strrchr(out, '\n');
    *last = 0;
    last = strrchr(out, '\n') + 1;
    cr_expect_eq(strncmp(last, "6,5368764,", 10), 0, "%.100s", last);
}

Test(run_cli, help)
{
    cr_assert_eq(run("run --help"), 0);
    cr_expect(strstr(out, "usage: mmusim run") && strstr(out, "Exit status"), "%s", out);
    cr_assert_eq(run("--help"), 0);
    cr_expect(strstr(out, "  run "), "%s", out);
}

/* Out of memory: exit status 3, the report still printed.  GUPS touches
 * 1 GiB; 32 MiB (16 reserved) hold 4096 frames. */
Test(run_cli, out_of_memory_exits_3)
{
    cr_assert_eq(run("run --all --set os.phys_mem_mib=32 " TRACES "gups.trace.zst"), 3, "%s", errbuf);
    cr_expect(strstr(out, "os.out_of_memory"), "%s", out);
    cr_expect(strstr(errbuf, "out of physical memory"), "%s", errbuf);
    cr_expect_eq(prog_lines(errbuf), 1, "%s", errbuf);
}

/* Ctrl-C: the counters so far and exit status 130.  The workload is 40
 * copies of the sqlite3 trace (seconds of replay); SIGINT comes after
 * 0.4 s. */
Test(run_cli, interrupt_prints_report)
{
    char o[200], e[200];
    snprintf(o, sizeof o, "%s/stdout", dir);
    snprintf(e, sizeof e, "%s/stderr", dir);
    enum { COPIES = 40 };
    char *argv[COPIES + 3];
    argv[0] = MMUSIM_PROG;
    argv[1] = "run";
    for (int i = 0; i < COPIES; i++)
        argv[2 + i] = TRACES "sqlite3.trace.zst";
    argv[COPIES + 2] = NULL;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(99);
        execv(MMUSIM_PROG, argv);
        _exit(98);
    }
    struct timespec ts = {0, 400 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cr_assert_eq(kill(pid, SIGINT), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    prog_slurp(o, out, sizeof out);
    prog_slurp(e, errbuf, sizeof errbuf);
    cr_assert(WIFEXITED(st), "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    cr_expect_eq(WEXITSTATUS(st), 130, "%s", errbuf);
    cr_expect(strstr(out, "Performance counter stats for '"), "%s", out);
    cr_expect(strstr(errbuf, "interrupted"), "%s", errbuf);
}

/* ---- read-ahead of a pipe -------------------------------------------------- */

/* A pipe's first records up to its first access decide whether it carries
 * its own processes; the instruction counts among them are folded (one sum
 * per CPU), so any number of them takes constant memory.  The counters are
 * those of the same trace read from a file, whose footer decides at once:
 * here 40,000 counts of 3 on cpu 0 and, before every 5,000th of them, one
 * of 5 on cpu 1 (8 in all; a plain trace: all on the process's CPU 0), then
 * an access and 2 more counts of 1, so instructions = 120,000 + 40 + 2 =
 * 120,042. */
Test(run_cli, pipe_prefix_of_counts_is_folded)
{
    recs r = {0};
    for (int i = 0; i < 40000; i++) {
        put(&r, (trace_rec){.kind = TR_INSTR, .count = 3});
        if (i % 5000 == 0)
            put(&r, (trace_rec){.kind = TR_INSTR, .cpu = 1, .count = 5});
    }
    put(&r, LD(0x10000));
    put(&r, (trace_rec){.kind = TR_INSTR, .count = 1});
    put(&r, (trace_rec){.kind = TR_INSTR, .count = 1});
    const char *t = write_recs("prefix.trace", &r);
    char args[400];
    snprintf(args, sizeof args, "run --json %s", t);
    char *file = run_json_untitled(args, 0);
    snprintf(args, sizeof args, "run --json - < %s", t);
    char *pipe = run_json_untitled(args, 0);
    EXPECT_COUNTER(file, "instructions", 120042);
    cr_expect_str_eq(pipe, file);
    /* Beside a second (plain) trace, each on its CPU, records taking turns:
     * the pipe's access still comes at its 40,009th turn. */
    snprintf(args, sizeof args, "run --json --set cpu.cpus=2 %s " TRACES "gzip.trace.zst", t);
    free(file);
    file = run_json_untitled(args, 0);
    snprintf(args, sizeof args, "run --json --set cpu.cpus=2 - " TRACES "gzip.trace.zst < %s", t);
    free(pipe);
    pipe = run_json_untitled(args, 0);
    cr_expect_str_eq(pipe, file);
    /* Where the turns show: beside GUPS (own processes, also on CPU 0) in
     * 32 MiB, the replay stops out of memory after some 14,000 turns each,
     * long before the pipe's access, which must not have happened: every
     * counter is the file's but the instructions.  Those the pipe retires
     * before its first access are credited at its first turns (all 120,040
     * of them: GUPS's alone plus those), the file's as they come.  The core
     * model would turn that earlier credit into earlier base cycles (and a
     * different interleaving of time): it is off here, as the claim is
     * about the counts. */
    snprintf(args, sizeof args, "run --json --set cpu.cpus=2 --set os.phys_mem_mib=32 --set core.model=off %s " TRACES "gups.trace.zst", t);
    free(file);
    file = run_json_untitled(args, 3);
    snprintf(args, sizeof args, "run --json --set cpu.cpus=2 --set os.phys_mem_mib=32 --set core.model=off - " TRACES "gups.trace.zst < %s", t);
    free(pipe);
    pipe = run_json_untitled(args, 3);
    char *solo = run_json_untitled("run --json --set cpu.cpus=2 --set os.phys_mem_mib=32 --set core.model=off " TRACES "gups.trace.zst", 3);
    cr_expect_eq(jget(pipe, "instructions"), jget(solo, "instructions") + 120040);
    cr_expect_lt(jget(file, "instructions"), jget(pipe, "instructions"));
    cr_expect_eq(jget(file, "page-faults"), jget(solo, "page-faults"));
    /* The instructions, per CPU and process too, and the metrics made of them. */
    drop_lines_with(file, "instructions\": ");
    drop_lines_with(pipe, "instructions\": ");
    drop_lines_with(file, "\"metrics\": ");
    drop_lines_with(pipe, "\"metrics\": ");
    cr_expect_str_eq(pipe, file);
    free(solo);
    free(file);
    free(pipe);
}

/* A pipe with its own processes (an event before its first access) names
 * real CPUs: the first count on a CPU the machine lacks is the error, at
 * its own record number although it was folded.  Records: 0-4 counts on
 * cpu 0, 5 a count on cpu 3, 6 a count on cpu 0, 7 a switch. */
Test(run_cli, pipe_prefix_bad_cpu_names_its_record)
{
    recs r = {0};
    for (int i = 0; i < 5; i++)
        put(&r, (trace_rec){.kind = TR_INSTR, .count = 1});
    put(&r, (trace_rec){.kind = TR_INSTR, .cpu = 3, .count = 1});
    put(&r, (trace_rec){.kind = TR_INSTR, .count = 1});
    put(&r, SW(0, 7));
    put(&r, LD(0x10000));
    const char *t = write_recs("badcpu.trace", &r);
    char args[400];
    snprintf(args, sizeof args, "run --set cpu.cpus=2 - < %s", t);
    cr_assert_eq(run(args), 2, "%s", errbuf);
    cr_expect_str_eq(errbuf, "mmusim: <stdin>: record 5: CPU 3, but the configuration has 2 (cpu.cpus)\n");
    /* From the file (no read-ahead): the same record. */
    snprintf(args, sizeof args, "run --set cpu.cpus=2 %s", t);
    cr_assert_eq(run(args), 2, "%s", errbuf);
    char want[400];
    snprintf(want, sizeof want, "mmusim: %s: record 5: CPU 3, but the configuration has 2 (cpu.cpus)\n", t);
    cr_expect_str_eq(errbuf, want);
}

/* Memory stays bounded by the machine, not the trace: 10 M instruction
 * counts before any access (the 860 MB case), from a file and
 * from a pipe, replayed within 200 MB of address space.  (Not under
 * AddressSanitizer, which reserves terabytes of address space.) */
Test(run_cli, long_prefix_in_bounded_memory)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("address space limits do not apply under AddressSanitizer");
#else
    char path[200];
    snprintf(path, sizeof path, "%s/instr10m.trace", dir);
    trace_meta meta = {0};
    char err[512];
    trace_writer *w = trace_writer_open(path, &meta, 1u << 24, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    trace_rec in = {.kind = TR_INSTR, .count = 2};
    for (int i = 0; i < 10000000; i++)
        cr_assert_eq(trace_write(w, &in), 0);
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);
    char line[600];
    snprintf(line, sizeof line, "ulimit -v 204800; \"$M\" run --json %s", path);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, errbuf, sizeof errbuf), 0, "%s", errbuf);
    EXPECT_COUNTER(out, "instructions", 20000000);
    snprintf(line, sizeof line, "ulimit -v 204800; \"$M\" run --json - < %s", path);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, errbuf, sizeof errbuf), 0, "%s", errbuf);
    EXPECT_COUNTER(out, "instructions", 20000000);
#endif
}
