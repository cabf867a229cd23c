/* test_onepass.c -- exact one-pass simulation of L1 TLB geometries
 * (onepass.h) and its use by `mmusim sweep`.
 *
 *  - The LRU stacks on tiny reference strings fed through the tap, each
 *    expectation derived by hand from LRU sets of the given geometry:
 *    hits and evictions, set selection by low VPN bits, invalidation holes
 *    (INVLPG, PCID and non-global flushes), faults, PCIDs and global
 *    entries, a last fill that never lands.
 *  - onepass_applies: which configuration sets qualify.
 *  - Counter for counter: on bundled traces (context switches with and
 *    without PCID, ASID recycling, KPTI, fork and copy-on-write, THP, two
 *    CPUs, time sharing) and 4 x 4 geometry grids, every counter of every
 *    one-pass row equals that of a direct replay, and every counter the
 *    row leaves out is one onepass.h lists as left out.
 *  - The fallback: with page reclaim the pass is not exact.
 *  - `mmusim sweep`: a qualifying spec makes `onepass` rows whose counters
 *    are those of `mmusim run`; specs that do not qualify (or opt out)
 *    make `direct` rows; an opt-out re-run replaces one-pass rows; a bad
 *    `onepass:` value is a line-numbered spec error. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/cfg.h"
#include "mmusim/onepass.h"
#include "mmusim/replay.h"
#include "mmusim/stats.h"
#include "mmusim/sweep.h"
#include "support/run_prog.h"
#include "support/scratch.h"

#define TRACES MMUSIM_SOURCE_DIR "/traces/"
#define MAXCFG 16

/* The Skylake preset with a blocking core, then `common` and `extra`
 * (KEY=VALUE assignments separated by spaces; either may be NULL). */
static void make_config(mm_config *c, const char *common, const char *extra)
{
    char err[4608], a[128];
    cr_assert_eq(cfg_load(c, CFG_DEFAULT_PRESET, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_set(c, "frontend.max_outstanding=1", err, sizeof err), 0, "%s", err);
    const char *lists[2] = {common, extra};
    for (unsigned l = 0; l < 2; l++)
        for (const char *p = lists[l]; p && *p; p += strspn(p, " ")) {
            size_t len = strcspn(p, " ");
            snprintf(a, sizeof a, "%.*s", (int)len, p);
            cr_assert_eq(cfg_set(c, a, err, sizeof err), 0, "%s", err);
            p += len;
        }
    cr_assert_eq(cfg_validate(c, err, sizeof err), 0, "%s", err);
}

/* ---- the stacks on hand-derived reference strings ---------------------- */

/* The geometries every string runs on: (dtlb.4k.sets, dtlb.4k.ways). */
#define NGEOM 5
static const unsigned geom[NGEOM][2] = {{1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}};

/* Text inline: Criterion copies the parameters into the test's process. */
typedef struct refstring {
    char events[80];
    /* Per geometry: L1 dTLB misses, evictions, by hand from LRU sets. */
    unsigned misses[NGEOM], evictions[NGEOM];
} refstring;

/* Events, separated by spaces, each an operation and a page (a VPN of a
 * 4 KiB page), "@PCID" (default 1) and "g" for a global entry:
 *   L3 / S3  a load / store that leaves page 3's entry in the L1
 *   X3       a load that faults (an entry it hit is dropped)
 *   I3       INVLPG of page 3 (current PCID, and global entries)
 *   P@2      flush PCID 2's non-global entries
 *   N        flush every non-global entry
 *   E        the replay ends right after the last event (its fill never lands) */
ParameterizedTestParameters(stacks, hand_derived)
{
    static refstring r[] = {
        /* LRU: 0 1 2 0.  1 set: 1 way misses all, evicting 3 times; 2 ways
         * miss all (2 evicts 0, 0 evicts 1); 3 ways hit the last 0.  2 sets
         * (page 1 alone in set 1): 1 way: 2 evicts 0, 0 evicts 2; 2 ways
         * keep 0 and 2. */
        {"L0 L1 L2 L0", {4, 4, 3, 4, 3}, {3, 2, 0, 2, 0}},
        /* Set = VPN mod sets: 0 2 4 share set 0 of 2. */
        {"L0 L2 L4 L1 L0", {5, 5, 5, 5, 5}, {4, 3, 2, 3, 2}},
        /* INVLPG leaves a hole: with 2 ways, 2 fills it (no eviction) and 0
         * still hits; with 1 way the set is empty, 2 evicts nothing. */
        {"L0 L1 I1 L2 L0", {4, 3, 3, 4, 3}, {2, 0, 0, 2, 0}},
        /* A fault on present page 0 hits and drops it (2 ways, or 2 sets);
         * on 1 way x 1 set page 0 is gone already: a miss. */
        {"L0 L1 X0 L2 L1", {5, 3, 3, 3, 3}, {3, 0, 0, 0, 0}},
        /* A fault on a page no TLB holds misses everywhere. */
        {"L0 X5 L0", {2, 2, 2, 2, 2}, {0, 0, 0, 0, 0}},
        /* Page 0 of PCID 1 and of PCID 2 are two entries. */
        {"L0@1 L0@2 L0@1", {3, 2, 2, 3, 2}, {2, 0, 0, 2, 0}},
        /* A global entry survives the non-global flush and serves PCID 2;
         * page 1's entry goes, leaving a hole. */
        {"L0g L1 N L0g@2 L1@2", {4, 3, 3, 3, 3}, {2, 0, 0, 0, 0}},
        /* A PCID flush takes PCID 1's entries only. */
        {"L0@1 L1@2 P@1 L0@1 L1@2", {4, 3, 3, 3, 3}, {3, 0, 0, 0, 0}},
        /* The last fill never lands: page 2 evicts nothing. */
        {"L0 L1 L2 E", {3, 3, 3, 3, 3}, {1, 0, 0, 0, 0}},
        /* Stores are lookups too (store misses are checked below). */
        {"L0 S1 S0 L1", {4, 2, 2, 2, 2}, {3, 0, 0, 0, 0}},
    };
    return cr_make_param_array(refstring, r, sizeof r / sizeof r[0]);
}

/* Feed one event to the tap; counts loads and stores. */
static void feed(const mmu_tap *tap, const char *ev, uint64_t *loads, uint64_t *stores)
{
    char op = ev[0];
    char *end;
    unsigned long page = strtoul(ev + 1, &end, 10);
    const char *at = strchr(ev, '@');
    uint16_t pcid = at ? (uint16_t)atoi(at + 1) : 1;
    bool global = strchr(ev, 'g') != NULL;
    tlb_entry e = {.vpn = page, .pfn = page + 100, .pcid = pcid, .shift = 12,
                   .perm = TLB_W | TLB_U | TLB_D | (global ? TLB_G : 0)};
    mmu_result res = {0};
    mmu_flush f = {.pcid = pcid, .va = page << 12};
    switch (op) {
    case 'L':
    case 'S':
        *(op == 'L' ? loads : stores) += 1;
        tap->lookup(tap->ctx, 0, 1, page << 12 | 0x123, pcid, op == 'L' ? MM_LOAD : MM_STORE, &e, &res);
        break;
    case 'X':
        ++*loads;
        res.fault = true;
        tap->lookup(tap->ctx, 0, 1, page << 12, pcid, MM_LOAD, NULL, &res);
        break;
    case 'I':
        f.kind = MMU_FLUSH_VA;
        f.include_global = true;
        tap->flush(tap->ctx, 0, &f);
        break;
    case 'P':
        f.kind = MMU_FLUSH_PCID;
        tap->flush(tap->ctx, 0, &f);
        break;
    case 'N':
        f.kind = MMU_FLUSH_NONGLOBAL;
        tap->flush(tap->ctx, 0, &f);
        break;
    case 'E':
        tap->end(tap->ctx, 0, false);
        break;
    default:
        cr_assert_fail("bad event %s", ev);
    }
}

ParameterizedTest(refstring *r, stacks, hand_derived)
{
    mm_config cfgs[NGEOM];
    for (unsigned i = 0; i < NGEOM; i++) {
        char g[64];
        snprintf(g, sizeof g, "dtlb.4k.sets=%u dtlb.4k.ways=%u", geom[i][0], geom[i][1]);
        make_config(&cfgs[i], NULL, g);
    }
    char why[256];
    cr_assert(onepass_applies(cfgs, NGEOM, why, sizeof why), "%s", why);
    onepass *op = onepass_create(cfgs, NGEOM);
    cr_assert_not_null(op);
    const mmu_tap *tap = onepass_tap(op);
    cr_assert(tap->l1[1] && !tap->l1[0], "only the dTLB varies");
    uint64_t loads = 0, stores = 0;
    char ev[80];
    snprintf(ev, sizeof ev, "%s", r->events);
    for (char *save, *t = strtok_r(ev, " ", &save); t; t = strtok_r(NULL, " ", &save))
        feed(tap, t, &loads, &stores);
    cr_assert(onepass_exact(op));

    /* The replay's counters as onepass_counters reads them. */
    stats *tapped = stats_create();
    stats_add(tapped, "cycles", 12345);
    stats_add(tapped, "dTLB-loads", loads);
    stats_add(tapped, "dTLB-load-misses", 0);
    stats_add(tapped, "dTLB-stores", stores);
    stats_add(tapped, "dTLB-store-misses", 0);
    stats_add(tapped, "page-faults", 7);
    stats_add(tapped, "dtlb.hits", 0);
    stats_add(tapped, "dtlb.misses", 0);
    stats_add(tapped, "dtlb.evictions", 0);
    stats_add(tapped, "stlb.hits", 99);
    for (unsigned i = 0; i < NGEOM; i++) {
        stats *row = stats_create();
        cr_assert(onepass_counters(op, i, tapped, row));
        bool found;
        stats_get(row, "cycles", &found);
        cr_expect_not(found, "cycles depend on the geometry: left out");
        stats_get(row, "stlb.hits", &found);
        cr_expect_not(found, "STLB hits depend on the L1 misses: left out");
        cr_expect_eq(stats_get(row, "page-faults", NULL), 7);
        uint64_t m = stats_get(row, "dtlb.misses", NULL);
        cr_expect_eq(m, r->misses[i], "%s, %u sets x %u ways: %" PRIu64 " misses, by hand %u", r->events,
                     geom[i][0], geom[i][1], m, r->misses[i]);
        cr_expect_eq(stats_get(row, "dtlb.evictions", NULL), r->evictions[i], "%s, %u x %u: evictions",
                     r->events, geom[i][0], geom[i][1]);
        cr_expect_eq(stats_get(row, "dtlb.hits", NULL), loads + stores - m);
        cr_expect_eq(stats_get(row, "dTLB-load-misses", NULL) + stats_get(row, "dTLB-store-misses", NULL), m);
        stats_free(row);
    }
    stats_free(tapped);
    onepass_free(op);
}

/* "L0 S1 S0 L1": on 1 way x 1 set every lookup misses, 2 of them stores;
 * with 2 ways only the first touches of 0 (load) and 1 (store) miss. */
Test(stacks, misses_by_kind)
{
    mm_config cfgs[2];
    make_config(&cfgs[0], NULL, "dtlb.4k.sets=1 dtlb.4k.ways=1");
    make_config(&cfgs[1], NULL, "dtlb.4k.sets=1 dtlb.4k.ways=2");
    onepass *op = onepass_create(cfgs, 2);
    cr_assert_not_null(op);
    uint64_t loads = 0, stores = 0;
    const char *ev[] = {"L0", "S1", "S0", "L1"};
    for (unsigned i = 0; i < 4; i++)
        feed(onepass_tap(op), ev[i], &loads, &stores);
    stats *tapped = stats_create();
    stats_add(tapped, "dTLB-load-misses", 0);
    stats_add(tapped, "dTLB-store-misses", 0);
    const unsigned want[2][2] = {{2, 2}, {1, 1}};
    for (unsigned i = 0; i < 2; i++) {
        stats *row = stats_create();
        cr_assert(onepass_counters(op, i, tapped, row));
        cr_expect_eq(stats_get(row, "dTLB-load-misses", NULL), want[i][0]);
        cr_expect_eq(stats_get(row, "dTLB-store-misses", NULL), want[i][1]);
        stats_free(row);
    }
    stats_free(tapped);
    onepass_free(op);
}

/* ---- which configuration sets qualify ---------------------------------- */

typedef struct qualify {
    char a[96], b[96];   /* the two configurations' assignments */
    bool applies;
    char why[48];        /* a piece of the reason when not */
} qualify;

ParameterizedTestParameters(applies, conditions)
{
    static qualify q[] = {
        {"dtlb.4k.sets=8", "dtlb.4k.sets=32 dtlb.4k.ways=6", true, ""},
        {"itlb.4k.ways=2 dtlb.2m.sets=2", "itlb.4k.ways=8 dtlb.2m.sets=4", true, ""},
        {"dtlb.4k.sets=8", "dtlb.4k.sets=8 stlb.4k.sets=64", false, "stlb.4k.sets"},
        {"dtlb.4k.ways=2", "dtlb.4k.ways=4 dtlb.latency=2", false, "dtlb.latency"},
        {"dtlb.4k.ways=2 dtlb.4k.replacement=plru", "dtlb.4k.ways=4 dtlb.4k.replacement=plru", false, "LRU"},
        {"dtlb.4k.ways=2 frontend.max_outstanding=2", "dtlb.4k.ways=4 frontend.max_outstanding=2", false,
         "max_outstanding"},
        {"dtlb.4k.ways=2 stlb.inclusive=true", "dtlb.4k.ways=4 stlb.inclusive=true", false, "inclusive"},
        {"dtlb.1g.ways=4", "dtlb.1g.ways=0", false, "absent"},
        {"dtlb.4k.ways=4", "dtlb.4k.ways=4", false, "do not differ"},
    };
    return cr_make_param_array(qualify, q, sizeof q / sizeof q[0]);
}

ParameterizedTest(qualify *q, applies, conditions)
{
    mm_config c[2];
    make_config(&c[0], NULL, q->a);
    make_config(&c[1], NULL, q->b);
    char why[256] = "";
    cr_expect_eq(onepass_applies(c, 2, why, sizeof why), q->applies, "%s | %s: %s", q->a, q->b, why);
    if (!q->applies)
        cr_expect_not_null(strstr(why, q->why), "want '%s' in: %s", q->why, why);
    cr_expect_not(onepass_applies(c, 1, NULL, 0), "one configuration: nothing to gain");
}

/* ---- counter for counter against direct replays ------------------------ */

typedef struct workload {
    char traces[2][24];   /* names under traces/ */
    unsigned n;
    char common[96];      /* KEY=VALUE ... every configuration gets */
    char keys[2][16];     /* the grid: keys[0] x keys[1] */
    unsigned vals[2][4];
    bool sanitized;       /* run in sanitized builds too (see below) */
} workload;

/* AddressSanitizer makes a replay about 10 times slower; there the
 * workloads marked `sanitized` run, which between them take every path
 * of the stacks and the tap (non-global, PCID and address flushes, faults
 * on held entries, global entries, the iTLB, two CPUs); the others add
 * traces, not code. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#else
#define SANITIZED_BUILD 0
#endif

ParameterizedTestParameters(exact, same_counters_as_direct)
{
    static workload w[] = {
        {{"gzip.trace.zst"}, 1, "os.thp=never", {"dtlb.4k.sets", "dtlb.4k.ways"}, {{4, 8, 16, 32}, {2, 4, 6, 8}},
         false},
        /* Context switches flush every non-global entry (no PCID). */
        {{"procs-rr.trace.zst"}, 1, "os.thp=never cpu.context=nopcid",
         {"dtlb.4k.sets", "dtlb.4k.ways"}, {{1, 4, 16, 64}, {1, 3, 8, 16}}, true},
        /* Two dynamic ASIDs for four processes: recycling flushes a PCID;
         * kernel entries not global. */
        {{"procs-rr.trace.zst"}, 1, "cpu.context=recycle cpu.nr_asids=2 os.kernel_global=false",
         {"dtlb.4k.sets", "dtlb.4k.ways"}, {{4, 8, 16, 32}, {2, 4, 6, 8}}, false},
        /* fork: copy-on-write faults drop unusable entries; INVLPG. */
        {{"fork-cow.trace.zst"}, 1, "os.thp=never", {"dtlb.4k.sets", "dtlb.4k.ways"}, {{2, 4, 8, 16}, {1, 2, 4, 8}},
         true},
        /* Kernel accesses (global entries), vmalloc sync faults, KPTI's
         * CR3 writes, PCIDs. */
        {{"vmalloc.trace.zst"}, 1, "cpu.context=pcid os.kpti=true", {"dtlb.4k.sets", "dtlb.4k.ways"},
         {{4, 8, 16, 32}, {2, 4, 6, 8}}, true},
        /* 2 MiB pages: the 2m array's geometry. */
        {{"zipf.trace.zst"}, 1, "os.thp=always", {"dtlb.2m.sets", "dtlb.2m.ways"}, {{1, 2, 4, 8}, {1, 2, 4, 8}},
         false},
        /* Two CPUs, one trace each; the iTLB's geometry. */
        {{"python3.trace.zst", "chase.trace.zst"}, 2, "cpu.cpus=2 os.thp=never", {"itlb.4k.sets", "itlb.4k.ways"},
         {{4, 8, 16, 32}, {1, 2, 4, 8}}, true},
        /* Two traces time-sharing CPU 0: the replay's own switches. */
        {{"python3.trace.zst", "chase.trace.zst"}, 2, "cpu.cpus=1 os.quantum=20000 cpu.context=nopcid",
         {"dtlb.4k.sets", "dtlb.4k.ways"}, {{4, 8, 16, 32}, {2, 4, 6, 8}}, false},
    };
    return cr_make_param_array(workload, w, sizeof w / sizeof w[0]);
}

/* Counters onepass.h says a one-pass row leaves out. */
static bool left_out(const char *name)
{
    static const char *const prefix[] = {"dtlb_load_misses.", "dtlb_store_misses.", "itlb_misses.", "stlb.",
                                         "tlb.", "walker.", "pwc.",
                                         "core.", "memsys."};   /* walks' cache lines differ by geometry */
    static const char *const exact[] = {"cycles", "flush.tlb_entries", "flush.pwc_entries",
                                        "translation.stall_cycles"};
    if (!strcmp(name, "walker.faults"))
        return false;
    if (report_is_breakdown(name))
        return true;   /* a one-pass row has totals only (cpuN.*, pidN.* are direct runs') */
    for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
        if (!strncmp(name, prefix[i], strlen(prefix[i])))
            return true;
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (!strcmp(name, exact[i]))
            return true;
    return false;
}

ParameterizedTest(workload *w, exact, same_counters_as_direct)
{
    if (SANITIZED_BUILD && !w->sanitized)
        cr_skip_test("sanitized build: %s is run by the optimised build", w->traces[0]);
    char paths[2][256];
    const char *t[2];
    for (unsigned i = 0; i < w->n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s%s", TRACES, w->traces[i]);
        t[i] = paths[i];
    }
    mm_config cfgs[MAXCFG];
    for (unsigned i = 0; i < MAXCFG; i++) {
        char g[96];
        snprintf(g, sizeof g, "%s=%u %s=%u", w->keys[0], w->vals[0][i / 4], w->keys[1], w->vals[1][i % 4]);
        make_config(&cfgs[i], w->common, g);
    }
    char why[256], err[4608];
    cr_assert(onepass_applies(cfgs, MAXCFG, why, sizeof why), "%s", why);
    replay_opts o = {.traces = t, .ntraces = w->n};
    stats *direct[MAXCFG], *one[MAXCFG];
    replay_status sd[MAXCFG], so[MAXCFG];
    bool exact;
    cr_assert_eq(onepass_replay(cfgs, MAXCFG, &o, one, so, &exact, err, sizeof err), REPLAY_DONE, "%s", err);
    cr_assert(exact, "%s: the pass was not exact", w->traces[0]);
    cr_assert_eq(replay_run_multi(cfgs, MAXCFG, &o, direct, sd, err, sizeof err), REPLAY_DONE, "%s", err);

    const char *l1 = w->keys[0][0] == 'i' ? "itlb.misses" : "dtlb.misses";
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < MAXCFG; i++) {
        cr_expect_eq(so[i], sd[i]);
        /* The row is the direct counters in their order, some left out. */
        size_t j = 0, n = stats_count(direct[i]);
        for (size_t r = 0; r < stats_count(one[i]); r++, j++) {
            const char *name = stats_name(one[i], r);
            while (j < n && strcmp(stats_name(direct[i], j), name)) {
                cr_expect(left_out(stats_name(direct[i], j)), "%s, config %u: %s missing from the row",
                          w->traces[0], i, stats_name(direct[i], j));
                j++;
            }
            cr_assert_lt(j, n, "%s, config %u: %s not a direct counter (or out of order)", w->traces[0], i, name);
            cr_expect_eq(stats_value(one[i], r), stats_value(direct[i], j),
                         "%s, config %u (%s=%u, %s=%u): %s: one pass %" PRIu64 ", direct %" PRIu64, w->traces[0],
                         i, w->keys[0], w->vals[0][i / 4], w->keys[1], w->vals[1][i % 4], name,
                         stats_value(one[i], r), stats_value(direct[i], j));
        }
        for (; j < n; j++)
            cr_expect(left_out(stats_name(direct[i], j)), "%s: %s missing from the row", w->traces[0],
                      stats_name(direct[i], j));
        bool found;
        uint64_t m = stats_get(one[i], l1, &found);
        cr_expect(found, "%s in the row", l1);
        lo = m < lo ? m : lo;
        hi = m > hi ? m : hi;
        stats_free(one[i]);
        stats_free(direct[i]);
    }
    cr_expect_lt(lo, hi, "%s: the grid changes nothing: a vacuous check", w->traces[0]);
}

/* Reclaim decides by A bits, which only walks set: the pass cannot be
 * exact, and says so instead of answering. */
Test(exact, reclaim_falls_back)
{
    mm_config cfgs[2];
    const char *common = "os.thp=never os.exhaustion=reclaim os.phys_mem_mib=24";
    make_config(&cfgs[0], common, "dtlb.4k.ways=2");
    make_config(&cfgs[1], common, "dtlb.4k.ways=8");
    const char *t[1] = {TRACES "procs-rr.trace.zst"};
    replay_opts o = {.traces = t, .ntraces = 1};
    stats *out[2];
    replay_status st[2];
    bool exact = true;
    char err[4608];
    cr_assert_eq(onepass_replay(cfgs, 2, &o, out, st, &exact, err, sizeof err), REPLAY_DONE, "%s", err);
    cr_expect_not(exact);
    cr_expect_null(out[0]);
    cr_expect_null(out[1]);
    /* Direct replays show why: the reclaim counts differ. */
    cr_assert_eq(replay_run_multi(cfgs, 2, &o, out, st, err, sizeof err), REPLAY_DONE, "%s", err);
    cr_expect_gt(stats_get(out[0], "os.reclaims", NULL), 0);
    stats_free(out[0]);
    stats_free(out[1]);
}

/* ---- mmusim sweep ------------------------------------------------------ */

static char out[1 << 16], err[1 << 12];

#define scratch(dir) scratch_make(dir, "test_onepass")
#define rm_rf scratch_remove
#define write_text scratch_write

static char *slurp(const char *path)
{
    char *b = scratch_slurp(path);
    cr_assert_not_null(b, "%s", path);
    return b;
}

/* `mmusim sweep SPEC --out DIR/res` on spec text; returns its status. */
static int sweep_text(const char *dir, const char *text)
{
    char spec[128], line[512];
    snprintf(spec, sizeof spec, "%s/spec.yaml", dir);
    write_text(spec, text);
    snprintf(line, sizeof line, "\"$M\" sweep '%s' --jobs 2 --out '%s/res'", spec, dir);
    return prog_capture(line, dir, out, sizeof out, err, sizeof err);
}

/* How many rows of DIR/res/results.csv have method m; all rows in *rows. */
static unsigned rows_with_method(const char *dir, const char *m, unsigned *rows)
{
    char path[128];
    snprintf(path, sizeof path, "%s/res/results.csv", dir);
    char *csv = slurp(path);
    char *header_end = strchr(csv, '\n');
    cr_assert_not_null(header_end);
    *header_end = 0;
    /* The column of "method". */
    unsigned col = 0, c = 0;
    bool found = false;
    for (char *p = csv; p && !found; p = strchr(p, ','), c++) {
        p += *p == ',';
        if (!strncmp(p, "method,", 7)) {
            col = c;
            found = true;
        }
    }
    cr_assert(found, "no method column: %s", csv);
    unsigned n = 0;
    *rows = 0;
    for (char *l = header_end + 1; *l; l = strchr(l, '\n') + 1) {
        char *f = l;
        for (unsigned i = 0; i < col; i++)
            f = strchr(f, ',') + 1;
        n += !strncmp(f, m, strlen(m)) && f[strlen(m)] == ',';
        ++*rows;
    }
    free(csv);
    return n;
}

#define SPEC_TRACE "traces: [" TRACES "procs-rr.trace.zst]\n"

Test(sweep, qualifying_spec_makes_onepass_rows_equal_to_mmusim_run)
{
    char dir[64];
    scratch(dir);
    cr_assert_eq(sweep_text(dir, SPEC_TRACE "set: {frontend.max_outstanding: 1, os.thp: never}\n"
                                            "params:\n  dtlb.4k.sets: [4, 16]\n  dtlb.4k.ways: [2, 6]\n"),
                 0, "%s", err);
    unsigned rows;
    cr_expect_eq(rows_with_method(dir, "onepass", &rows), 4);
    cr_expect_eq(rows, 4);

    /* The run file of point (16 sets, 6 ways): each counter member is the
     * value `mmusim run` reports for that point; cycles are left out. */
    mm_config c;
    make_config(&c, "os.thp=never", "dtlb.4k.sets=16 dtlb.4k.ways=6");
    uint64_t th;
    char msg[512], id[17], path[160];
    cr_assert_eq(sweep_hash_file(TRACES "procs-rr.trace.zst", &th, msg, sizeof msg), 0, "%s", msg);
    sweep_id_text(sweep_run_id(&c, th), id);
    snprintf(path, sizeof path, "%s/res/runs/%s.json", dir, id);
    char *run = slurp(path);
    cr_expect_not_null(strstr(run, "\n  \"method\": \"onepass\",\n"), "%s", run);
    cr_expect_null(strstr(run, "\"cycles\""), "cycles in a one-pass row");
    cr_assert_eq(prog_capture("\"$M\" run --json --set frontend.max_outstanding=1 --set os.thp=never "
                              "--set dtlb.4k.sets=16 --set dtlb.4k.ways=6 " TRACES "procs-rr.trace.zst",
                              dir, out, sizeof out, err, sizeof err),
                 0, "%s", err);
    unsigned checked = 0;
    for (char *l = strchr(run, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        const char *m = l + 1;
        size_t len = strcspn(m, "\n");
        if (len && m[len - 1] == ',')
            len--;
        static const char *const not_counters[] = {"  \"id\"", "  \"trace\"", "  \"status\"", "  \"method\"",
                                                   "  \"param.", "  \"config.", "}"};
        bool skip = false;
        for (size_t i = 0; i < sizeof not_counters / sizeof *not_counters; i++)
            skip = skip || !strncmp(m, not_counters[i], strlen(not_counters[i]));
        if (skip)
            continue;
        /* The same member in the report, as a whole line. */
        char want[256];
        snprintf(want, sizeof want, "\n%.*s", (int)len, m);
        char *hit = strstr(out, want);
        cr_expect(hit && (hit[len + 1] == ',' || hit[len + 1] == '\n'), "%.*s: not in mmusim run's report",
                  (int)len, m);
        checked++;
    }
    cr_expect_gt(checked, 40);
    free(run);
    rm_rf(dir);
}

typedef struct direct_spec {
    char text[200];
} direct_spec;

ParameterizedTestParameters(sweep, other_specs_make_direct_rows)
{
    static direct_spec d[] = {
        /* An STLB key swept. */
        {SPEC_TRACE "set: {frontend.max_outstanding: 1}\nparams:\n  dtlb.4k.ways: [2, 4]\n"
                    "  stlb.4k.sets: [64, 128]\n"},
        /* Tree-PLRU dTLB. */
        {SPEC_TRACE "set: {frontend.max_outstanding: 1, dtlb.4k.replacement: plru}\n"
                    "params:\n  dtlb.4k.ways: [2, 4]\n"},
        /* A non-blocking core (the preset's 72 translations in flight). */
        {SPEC_TRACE "params:\n  dtlb.4k.ways: [2, 4]\n"},
        /* Opted out. */
        {SPEC_TRACE "onepass: false\nset: {frontend.max_outstanding: 1}\nparams:\n  dtlb.4k.ways: [2, 4]\n"},
    };
    return cr_make_param_array(direct_spec, d, sizeof d / sizeof d[0]);
}

ParameterizedTest(direct_spec *d, sweep, other_specs_make_direct_rows)
{
    char dir[64];
    scratch(dir);
    cr_assert_eq(sweep_text(dir, d->text), 0, "%s", err);
    unsigned rows, direct = rows_with_method(dir, "direct", &rows);
    cr_expect_gt(rows, 0);
    cr_expect_eq(direct, rows, "%s", d->text);
    rm_rf(dir);
}

/* One-pass rows lack counters a direct sweep writes: an opted-out re-run
 * in the same folder replays them; a one-pass re-run keeps direct rows. */
Test(sweep, opt_out_rerun_replaces_onepass_rows)
{
    char dir[64];
    scratch(dir);
    static const char body[] = "set: {frontend.max_outstanding: 1}\nparams:\n  dtlb.4k.ways: [2, 4, 8]\n";
    char spec[3][256];
    static const char *const opt[3] = {"onepass: true\n", "onepass: false\n", ""};
    for (unsigned i = 0; i < 3; i++)
        snprintf(spec[i], sizeof spec[i], "%s%s%s", SPEC_TRACE, opt[i], body);
    cr_assert_eq(sweep_text(dir, spec[0]), 0, "%s", err);
    unsigned rows;
    cr_expect_eq(rows_with_method(dir, "onepass", &rows), 3);
    cr_assert_eq(sweep_text(dir, spec[1]), 0, "%s", err);
    cr_expect_not_null(strstr(out, "3 runs: 3 done now, 0 skipped"), "%s", out);
    cr_expect_eq(rows_with_method(dir, "direct", &rows), 3);
    cr_assert_eq(sweep_text(dir, spec[2]), 0, "%s", err);
    cr_expect_not_null(strstr(out, "3 runs: 0 done now, 3 skipped"), "%s", out);
    cr_expect_eq(rows_with_method(dir, "direct", &rows), 3);
    rm_rf(dir);
}

/* Resuming recomputes the missing runs (by one pass over the rest, or
 * for a single run) into the very same files. */
Test(sweep, resume_rewrites_identical_run_files)
{
    char dir[64];
    scratch(dir);
    static const char spec[] = SPEC_TRACE "set: {frontend.max_outstanding: 1}\n"
                                          "params:\n  dtlb.4k.sets: [4, 16]\n  dtlb.4k.ways: [2, 6]\n";
    cr_assert_eq(sweep_text(dir, spec), 0, "%s", err);
    char runs[128], cmd[256];
    snprintf(runs, sizeof runs, "%s/res/runs", dir);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s/first'", runs, dir);
    cr_assert_eq(system(cmd), 0);
    /* Delete one run file, then three: resume each time. */
    static const char *const del[2] = {"ls | head -1 | xargs rm", "ls | head -3 | xargs rm"};
    static const char *const want[2] = {"4 runs: 1 done now, 3 skipped", "4 runs: 3 done now, 1 skipped"};
    for (unsigned i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "cd '%s' && %s", runs, del[i]);
        cr_assert_eq(system(cmd), 0);
        cr_assert_eq(sweep_text(dir, spec), 0, "%s", err);
        cr_expect_not_null(strstr(out, want[i]), "want '%s' in: %s", want[i], out);
        snprintf(cmd, sizeof cmd, "diff -r '%s/first' '%s'", dir, runs);
        cr_expect_eq(system(cmd), 0, "resumed run files differ");
    }
    rm_rf(dir);
}

Test(sweep, bad_onepass_value_names_its_line)
{
    char dir[64];
    scratch(dir);
    cr_assert_eq(sweep_text(dir, SPEC_TRACE "params:\n  dtlb.4k.ways: [2, 4]\nonepass: maybe\n"), 2, "%s", out);
    char want[128];
    snprintf(want, sizeof want, "%s/spec.yaml:4: onepass: expected true or false, got 'maybe'", dir);
    cr_expect_not_null(strstr(err, want), "want '%s' in: %s", want, err);
    cr_expect_eq(prog_lines(err), 1, "%s", err);
    rm_rf(dir);
}
