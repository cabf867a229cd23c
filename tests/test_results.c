/* test_results.c -- what a replay reports: the per-kind identity of the TLB
 * miss counters, per-CPU and per-process counters against the totals and
 * the traces' own counts, the derived metrics, the text views (summary,
 * --all, -e) and the JSON report's header (schema, version, trace hash,
 * config lists). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/cfg.h"
#include "mmusim/replay.h"
#include "mmusim/report.h"
#include "mmusim/stats.h"
#include "mmusim/trace.h"
#include "mmusim/version.h"

#include "support/run_prog.h"

#define TRACES MMUSIM_SOURCE_DIR "/traces/"

static const char *const kinds[3][2] = {
    {"dTLB-load-misses", "dtlb_load_misses"},
    {"dTLB-store-misses", "dtlb_store_misses"},
    {"iTLB-load-misses", "itlb_misses"},
};

/* The counters replay_run would report for these traces on cfg. */
static stats *replay_stats(const mm_config *cfg, const char *const *traces, unsigned n)
{
    char err[4608];
    replay_opts o = {.traces = traces, .ntraces = n};
    stats *out[1];
    replay_status st[1];
    cr_assert_eq(replay_run_multi(cfg, 1, &o, out, st, err, sizeof err), REPLAY_DONE, "%s", err);
    return out[0];
}

static uint64_t get(const stats *s, const char *fmt, const char *a, const char *b)
{
    char name[256];
    snprintf(name, sizeof name, fmt, a, b);
    bool found;
    uint64_t v = stats_get(s, name, &found);
    cr_assert(found, "no counter %s", name);
    return v;
}

/* misses + rewalks = stlb_hit + walk_completed + faults + merged, per kind,
 * for the counters under `prefix` ("" for the totals, "cpu0.", "pid1000."). */
static void expect_identity(const stats *s, const char *prefix, const char *what)
{
    for (unsigned k = 0; k < 3; k++) {
        uint64_t misses = get(s, "%s%s", prefix, kinds[k][0]);
        char base[128];
        snprintf(base, sizeof base, "%s%s", prefix, kinds[k][1]);
        uint64_t rewalks = get(s, "%s.%s", base, "rewalks"), stlb = get(s, "%s.%s", base, "stlb_hit"),
                 walks = get(s, "%s.%s", base, "walk_completed"), faults = get(s, "%s.%s", base, "faults"),
                 merged = get(s, "%s.%s", base, "merged");
        cr_expect_eq(misses + rewalks, stlb + walks + faults + merged,
                     "%s: %s: misses %" PRIu64 " + rewalks %" PRIu64 " != stlb_hit %" PRIu64 " + walk_completed %" PRIu64
                     " + faults %" PRIu64 " + merged %" PRIu64,
                     what, base, misses, rewalks, stlb, walks, faults, merged);
    }
}

/* The prefixes ("cpu0.", "pid1001.") of s's breakdown counters, once each. */
static unsigned prefixes(const stats *s, char out[][24], unsigned max)
{
    unsigned n = 0;
    for (size_t i = 0; i < stats_count(s); i++) {
        const char *name = stats_name(s, i);
        if (!report_is_breakdown(name))
            continue;
        size_t len = (size_t)(strchr(name, '.') - name) + 1;
        bool seen = false;
        for (unsigned j = 0; j < n && !seen; j++)
            seen = strlen(out[j]) == len && !strncmp(out[j], name, len);
        if (!seen && n < max)
            snprintf(out[n++], 24, "%.*s", (int)len, name);
    }
    return n;
}

/* For every breakdown counter PREFIXN.X of the kind `kind` ("cpu" or
 * "pid"), the sum over N equals the total X. */
static void expect_sums(const stats *s, const char *kind, const char *what)
{
    stats *sum = stats_create();
    for (size_t i = 0; i < stats_count(s); i++) {
        const char *name = stats_name(s, i);
        if (report_is_breakdown(name) && !strncmp(name, kind, 3))
            stats_add(sum, strchr(name, '.') + 1, stats_value(s, i));
    }
    cr_expect_gt(stats_count(sum), 0, "%s: no %s counters", what, kind);
    for (size_t i = 0; i < stats_count(sum); i++) {
        bool found;
        uint64_t total = stats_get(s, stats_name(sum, i), &found);
        cr_expect(found, "%s: %sN.%s has no total", what, kind, stats_name(sum, i));
        cr_expect_eq(stats_value(sum, i), total, "%s: sum of %sN.%s = %" PRIu64 ", total %" PRIu64, what, kind,
                     stats_name(sum, i), stats_value(sum, i), total);
    }
    stats_free(sum);
}

/* Every bundled trace on the default preset: the identity holds for the
 * totals, every CPU and every process, and the CPUs sum to the totals. */
Test(results, identity_and_cpu_sums_on_every_bundled_trace)
{
    mm_config cfg;
    cfg_defaults(&cfg);
    DIR *d = opendir(TRACES);
    cr_assert_not_null(d);
    unsigned ntraces = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 11 || strcmp(e->d_name + len - 10, ".trace.zst"))
            continue;
        char path[512];
        snprintf(path, sizeof path, TRACES "%s", e->d_name);
        const char *t[] = {path};
        stats *s = replay_stats(&cfg, t, 1);
        expect_identity(s, "", e->d_name);
        char pre[256][24];
        unsigned n = prefixes(s, pre, 256);
        for (unsigned i = 0; i < n; i++)
            expect_identity(s, pre[i], e->d_name);
        expect_sums(s, "cpu", e->d_name);
        stats_free(s);
        ntraces++;
    }
    closedir(d);
    cr_expect_geq(ntraces, 12, "only %u bundled traces found", ntraces);
}

static uint64_t footer_instructions(const char *path)
{
    char err[512];
    trace_reader *r = trace_reader_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    uint64_t n = trace_reader_meta(r)->instructions;
    trace_reader_close(r);
    return n;
}

/* Two plain traces on two CPUs: trace i is pid 1000+i on CPU i, so each
 * CPU's and each process's instructions are that trace's own (its
 * footer's count), and everything a CPU counted is its process's. */
Test(results, two_cpus_two_processes)
{
    mm_config cfg;
    cfg_defaults(&cfg);
    char err[512];
    cr_assert_eq(cfg_set(&cfg, "cpu.cpus=2", err, sizeof err), 0, "%s", err);
    const char *t[] = {TRACES "gzip.trace.zst", TRACES "sqlite3.trace.zst"};
    stats *s = replay_stats(&cfg, t, 2);
    uint64_t i0 = footer_instructions(t[0]), i1 = footer_instructions(t[1]);
    cr_expect_eq(get(s, "%s%s", "cpu0.", "instructions"), i0);
    cr_expect_eq(get(s, "%s%s", "cpu1.", "instructions"), i1);
    cr_expect_eq(get(s, "%s%s", "pid1000.", "instructions"), i0);
    cr_expect_eq(get(s, "%s%s", "pid1001.", "instructions"), i1);
    static const char *const same[] = {"dTLB-loads", "dTLB-load-misses", "dTLB-stores", "dTLB-store-misses",
                                       "iTLB-loads", "iTLB-load-misses", "page-faults", "walker.walk_cycles",
                                       "translation.stall_cycles", "dtlb_store_misses.rewalks"};
    for (unsigned c = 0; c < 2; c++)
        for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
            char cpu[16], pid[16];
            snprintf(cpu, sizeof cpu, "cpu%u.", c);
            snprintf(pid, sizeof pid, "pid%u.", 1000 + c);
            cr_expect_eq(get(s, "%s%s", cpu, same[i]), get(s, "%s%s", pid, same[i]), "%s%s", pid, same[i]);
        }
    expect_sums(s, "cpu", "gzip + sqlite3");
    expect_sums(s, "pid", "gzip + sqlite3");
    stats_free(s);
}

/* A trace with its own processes (fork-cow: a parent and a child taking
 * turns on one CPU, both running to the end): every count is made while
 * one of them runs, so the processes sum to the totals. */
Test(results, processes_sum_to_the_totals)
{
    mm_config cfg;
    cfg_defaults(&cfg);
    const char *t[] = {TRACES "fork-cow.trace.zst"};
    stats *s = replay_stats(&cfg, t, 1);
    expect_sums(s, "pid", "fork-cow");
    cr_expect_gt(get(s, "%s%s", "pid1001.", "page-faults"), 0);
    cr_expect_gt(get(s, "%s%s", "pid1002.", "page-faults"), 0);
    stats_free(s);
}

/* ---- metrics ------------------------------------------------------------ */

static stats *hand_stats(bool core)
{
    stats *s = stats_create();
    stats_add(s, "cycles", 200);
    stats_add(s, "instructions", 2000);
    stats_add(s, "iTLB-load-misses", 3);
    stats_add(s, "dTLB-load-misses", 5);
    stats_add(s, "dTLB-store-misses", 1);
    stats_add(s, "stlb.misses", 4);
    stats_add(s, "walker.walks", 4);
    stats_add(s, "walker.walk_cycles", 100);
    stats_add(s, "pwc.pmd.hits", 3);
    stats_add(s, "pwc.misses", 1);
    stats_add(s, "translation.stall_cycles", 50);
    if (core)
        stats_add(s, "core.translation_stall_cycles", 20);
    return s;
}

static char *json_of(const stats *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    report_opts o = {.title = "t"};
    cr_assert_eq(report_write_opts(f, REPORT_JSON, s, NULL, &o), 0);
    fclose(f);
    return buf;
}

/* 3 iTLB misses in 2000 instructions = 1.5 MPKI; 6 dTLB = 3.0; 4 STLB and
 * 4 walks = 2.0; 100 walk cycles = 50 per kilo-instruction, 25 per walk;
 * PWC: 3 hits of 4 lookups; 50 of 200 cycles stalled (the core model's 20
 * when it runs). */
Test(results, metrics_by_hand)
{
    stats *s = hand_stats(false);
    char *j = json_of(s);
    cr_expect(strstr(j, "\n  \"metrics\": {\"itlb.mpki\": 1.500000, \"dtlb.mpki\": 3.000000, \"stlb.mpki\": 2.000000, "
                        "\"walks_pki\": 2.000000, \"walk_cycles_pki\": 50.000000, \"walker.avg_walk_cycles\": "
                        "25.000000, \"pwc.hit_rate\": 0.750000, \"translation.overhead\": 0.250000}\n"),
              "%s", j);
    free(j);
    stats_free(s);
    s = hand_stats(true);
    j = json_of(s);
    cr_expect(strstr(j, "\"translation.overhead\": 0.100000}"), "%s", j);
    free(j);
    stats_free(s);
    /* No instructions, no walks: those metrics are left out. */
    s = stats_create();
    stats_add(s, "cycles", 10);
    stats_add(s, "translation.stall_cycles", 1);
    stats_add(s, "walker.walks", 0);
    j = json_of(s);
    cr_expect(strstr(j, "\n  \"metrics\": {\"translation.overhead\": 0.100000}\n"), "%s", j);
    free(j);
    stats_free(s);
}

/* ---- the trace hash ------------------------------------------------------ */

/* FNV-1a 64 test vectors: "" is the offset basis, "a" af63dc4c8601ec8c. */
Test(results, trace_hash_vectors)
{
    char path[] = "/tmp/test_results.XXXXXX", h[32];
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(report_hash_file(path, h, sizeof h), 0);
    cr_expect_str_eq(h, "fnv1a64:cbf29ce484222325");
    cr_assert_eq(write(fd, "a", 1), 1);
    close(fd);
    cr_assert_eq(report_hash_file(path, h, sizeof h), 0);
    cr_expect_str_eq(h, "fnv1a64:af63dc4c8601ec8c");
    unlink(path);
    cr_expect_eq(report_hash_file("/nonexistent/x", h, sizeof h), -1);
}

/* ---- the program ---------------------------------------------------------- */

static char out[1 << 20], errbuf[8192];

static int run(const char *args)
{
    char line[4096];
    snprintf(line, sizeof line, "\"$M\" %s", args);
    return prog_capture(line, NULL, out, sizeof out, errbuf, sizeof errbuf);
}

/* The JSON header: schema, version, one hash per trace (a pipe's null);
 * config lists as JSON lists. */
Test(results, json_header)
{
    char h[32], want[256];
    cr_assert_eq(report_hash_file(TRACES "zipf.trace.zst", h, sizeof h), 0);
    cr_assert_eq(run("run --json - " TRACES "zipf.trace.zst < " TRACES "gzip.trace.zst"), 0, "%s", errbuf);
    snprintf(want, sizeof want, "{\n  \"schema\": %d,\n  \"mmusim\": \"%s\",\n  \"title\": \"- %s\",\n  "
             "\"trace_hash\": [null, \"%s\"],\n  \"cycles\": ", REPORT_SCHEMA, mmusim_version(),
             TRACES "zipf.trace.zst", h);
    cr_expect_eq(strncmp(out, want, strlen(want)), 0, "%.300s", out);
    cr_expect(strstr(out, "\n  \"config.stlb.4k.holds\": [\"4k\", \"2m\"],\n"), "%s", out);
    cr_expect(strstr(out, "\n  \"config.itlb.1g.holds\": [],\n"), "%s", out);
}

/* The summary: these counters in this order, then the metrics, and the
 * line saying what cycles covers. */
Test(results, summary_is_the_default)
{
    cr_assert_eq(run("run " TRACES "sqlite3.trace.zst"), 0, "%s", errbuf);
    static const char *const want[] = {"instructions", "cycles", "dTLB-loads", "dTLB-load-misses", "dTLB-stores",
                                       "dTLB-store-misses", "iTLB-loads", "iTLB-load-misses", "stlb.misses",
                                       "walker.walks", "walker.walk_cycles", "page-faults",
                                       "translation.stall_cycles", "itlb.mpki", "dtlb.mpki", "stlb.mpki",
                                       "walks_pki", "walk_cycles_pki", "walker.avg_walk_cycles", "pwc.hit_rate",
                                       "translation.overhead"};
    const char *p = out;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "      %s", want[i]);
        const char *at = strstr(p, needle);
        while (at && at[strlen(needle)] != ' ' && at[strlen(needle)] != '\n')
            at = strstr(at + 1, needle);
        cr_expect_not_null(at, "%s missing or out of order:\n%s", want[i], out);
        if (at)
            p = at;
    }
    cr_expect(strstr(out, "      cycles                                   #  run time (core model first-order: "
                          "instructions, data stalls, translation stalls)\n"),
              "%s", out);
    cr_expect_eq(prog_lines(out), 3 + 13 + 1 + 8 + 1, "%s", out);
    cr_expect_null(strstr(out, "cpu0."), "%s", out);
    /* Without the core model cycles is the MMU's clock, and says so. */
    cr_assert_eq(run("run --set core.model=off " TRACES "sqlite3.trace.zst"), 0, "%s", errbuf);
    cr_expect(strstr(out, "      cycles                                   #  translation only (front end + walks), "
                          "not run time\n"),
              "%s", out);
    cr_assert_eq(run("run --all " TRACES "sqlite3.trace.zst"), 0, "%s", errbuf);
    cr_expect(strstr(out, "      cpu0.dTLB-load-misses                    #    0.30% of all dTLB cache accesses\n"),
              "%s", out);
    cr_expect(strstr(out, "      pid1000.dTLB-loads\n"), "%s", out);
    cr_expect(strstr(out, "      os.out_of_memory\n"), "%s", out);
}

/* -e: the events in the order given, patterns expanded, a process that
 * never ran "<not counted>". */
Test(results, events)
{
    cr_assert_eq(run("run -e translation.overhead,'pwc.p*.hits' -e pid7.dTLB-loads " TRACES "sqlite3.trace.zst"), 0,
                 "%s", errbuf);
    const char *a = strstr(out, " translation.overhead "), *b = strstr(out, " pwc.pgd.hits\n"),
               *c = strstr(out, " pwc.pmd.hits\n"), *d = strstr(out, "<not counted>      pid7.dTLB-loads\n");
    cr_expect(a && b && c && d && a < b && b < c && c < d, "%s", out);
    /* pwc.p*.hits: pgd, pud, pmd and pte_cache (4-level x86-64). */
    cr_expect_eq(prog_lines(out), 3 + 6 + 1, "%s", out);
}

typedef struct bad_case {
    char args[96], msg[160];
} bad_case;

ParameterizedTestParameters(results, bad_events)
{
    static bad_case cases[] = {
        {"-e frob", "mmusim: -e frob: no such counter or metric (mmusim run --all lists them)\n"},
        {"-e 'zz*'", "mmusim: -e zz*: matches no counter or metric\n"},
        {"-e pid3.frob", "mmusim: -e pid3.frob: no such counter or metric (mmusim run --all lists them)\n"},
        {"-e cpu9.cycles", "mmusim: -e cpu9.cycles: no such counter or metric (mmusim run --all lists them)\n"},
        {"-e a,,b", "mmusim: run: -e a,,b: an empty event name\n"},
        {"-e cycles --json", "mmusim: run: -e chooses the text report's lines; --json, --csv and -I carry every "
                             "counter\n"},
        {"--all -e cycles", "mmusim: run: --all and -e exclude each other\n"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, results, bad_events)
{
    char args[256];
    snprintf(args, sizeof args, "run %s " TRACES "zipf.trace.zst", c->args);
    cr_assert_eq(run(args), 2, "%s", errbuf);
    cr_expect_str_eq(errbuf, c->msg);
    cr_expect_str_eq(out, "");
}
