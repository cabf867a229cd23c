/* test_replay_multi.c -- one-pass replay of several configurations
 * (replay_run_multi, replay.h).
 *
 * The property under test is that the one pass changes nothing: for every
 * configuration, the counters replay_run_multi hands back are those
 * replay_run reports for that configuration alone.  The comparison is of
 * whole reports: the multi-pass counters are written with report_write in
 * JSON beside replay_run's JSON report for the same configuration and
 * title, so every counter is compared by name, value and position (and a
 * counter present in one and not the other is a difference too).  The
 * workloads are bundled traces, alone and in pairs (time-shared on one CPU,
 * one per CPU, and two traces with their own processes whose pids clash),
 * on four configurations that differ in the L1 dTLB, the STLB, the
 * page-walk caches and THP.  Then the edges: a machine that runs out of
 * memory among machines that do not, every machine out of memory, *stop,
 * configurations that disagree on the keys that decide the schedule, and a
 * truncated trace. */
#define _POSIX_C_SOURCE 200809L   /* open_memstream, mkdtemp */

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/cfg.h"
#include "mmusim/replay.h"
#include "mmusim/report.h"
#include "mmusim/stats.h"
#include "mmusim/trace.h"

#ifndef MMUSIM_SOURCE_DIR
#error "MMUSIM_SOURCE_DIR must name the repository root"
#endif

#define TRACES MMUSIM_SOURCE_DIR "/traces/"
#define K 4
#define TITLE "test_replay_multi"

/* The four configurations: the Skylake preset with these changes (after
 * the workload's own, which every configuration shares). */
static const char *const variant[K][6] = {
    {NULL},
    {"dtlb.4k.sets=8", "dtlb.4k.ways=2", "stlb.4k.sets=64", "stlb.4k.ways=8", NULL},
    {"dtlb.4k.sets=32", "dtlb.4k.ways=8", "pwc.design=none", "os.thp=always", NULL},
    {"dtlb.4k.ways=6", "stlb.4k.sets=256", "stlb.4k.ways=6", "pwc.design=unified", "pwc.unified.ways=16", NULL},
};

/* The Skylake preset, then `common` (KEY=VALUE assignments separated by
 * spaces, or ""), then sets. */
static void make_config(mm_config *c, const char *common, const char *const *sets)
{
    char err[4608], a[128];
    cr_assert_eq(cfg_load(c, CFG_DEFAULT_PRESET, err, sizeof err), 0, "%s", err);
    for (const char *p = common; p && *p; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        snprintf(a, sizeof a, "%.*s", (int)len, p);
        cr_assert_eq(cfg_set(c, a, err, sizeof err), 0, "%s", err);
        p += len;
    }
    for (size_t i = 0; sets && sets[i]; i++)
        cr_assert_eq(cfg_set(c, sets[i], err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(c, err, sizeof err), 0, "%s", err);
}

/* Memory stream helpers: the text written to a FILE. */
typedef struct mem {
    char *buf;
    size_t len;
    FILE *f;
} mem;

static void mem_open(mem *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    cr_assert_not_null(m->f);
}

static char *mem_close(mem *m)
{
    fclose(m->f);
    return m->buf;
}

/* replay_run of c alone: its JSON report (caller frees), its status. */
static char *replay_alone(const mm_config *c, const char *const *traces, unsigned n, replay_status *st)
{
    char err[4608];
    mem m;
    mem_open(&m);
    replay_opts o = {.traces = traces, .ntraces = n, .format = REPORT_JSON, .out = m.f, .title = TITLE};
    *st = replay_run(c, &o, err, sizeof err);
    char *json = mem_close(&m);
    cr_assert_neq(*st, REPLAY_ERROR, "%s", err);
    return json;
}

/* Counters in the same JSON form as replay_run's report, with the traces'
 * hashes (those of files: these tests replay no pipe). */
static char *as_json(const stats *s, const mm_config *c, const char *const *traces, unsigned n)
{
    char hash[8][32];
    const char *hp[8];
    cr_assert_leq(n, 8);
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(report_hash_file(traces[i], hash[i], sizeof hash[i]), 0, "%s", traces[i]);
        hp[i] = hash[i];
    }
    report_opts o = {.title = TITLE, .trace_hash = hp, .ntraces = n};
    mem m;
    mem_open(&m);
    cr_assert_eq(report_write_opts(m.f, REPORT_JSON, s, c, &o), 0);
    return mem_close(&m);
}

/* Expect the two reports equal; name the first line that differs. */
static void expect_same_report(const char *alone, const char *multi, unsigned i, const char *what)
{
    if (!strcmp(alone, multi))
        return;
    const char *a = alone, *b = multi;
    unsigned line = 1;
    while (*a && *a == *b) {
        line += *a == '\n';
        a++;
        b++;
    }
    while (a > alone && a[-1] != '\n') {
        a--;
        b--;
    }
    int la = (int)strcspn(a, "\n"), lb = (int)strcspn(b, "\n");
    cr_expect_fail("%s, configuration %u: line %u differs: alone \"%.*s\", one pass \"%.*s\"", what, i, line, la, a,
                   lb, b);
}

/* Replay traces on the configurations cfgs[0..k) both ways and compare
 * every configuration's counters and status. */
static void check_same(const mm_config *cfgs, unsigned k, const char *const *traces, unsigned n, const char *what)
{
    stats *out[16];
    replay_status status[16];
    char err[4608];
    cr_assert_leq(k, 16);
    replay_opts o = {.traces = traces, .ntraces = n};
    cr_assert_eq(replay_run_multi(cfgs, k, &o, out, status, err, sizeof err), REPLAY_DONE, "%s: %s", what, err);
    for (unsigned i = 0; i < k; i++) {
        replay_status st;
        char *alone = replay_alone(&cfgs[i], traces, n, &st);
        cr_assert_not_null(out[i]);
        cr_expect_gt(stats_count(out[i]), 10);
        char *multi = as_json(out[i], &cfgs[i], traces, n);
        expect_same_report(alone, multi, i, what);
        cr_expect_eq(status[i], st, "%s, configuration %u: status %d, alone %d", what, i, status[i], st);
        free(alone);
        free(multi);
        stats_free(out[i]);
    }
}

/* ---- every counter equal, on bundled workloads ------------------------------ */

/* Text inline: Criterion copies the parameters into the test's process. */
typedef struct workload {
    char traces[2][32];   /* names under traces/ */
    unsigned n;
    char common[64];      /* KEY=VALUE ... every configuration gets, or "" */
} workload;

ParameterizedTestParameters(multi, same_counters)
{
    static workload w[] = {
        {{"gzip.trace.zst"}, 1, ""},
        {{"fork-cow.trace.zst"}, 1, ""},
        {{"procs-rr.trace.zst"}, 1, ""},
        {{"vmalloc.trace.zst"}, 1, ""},
        /* Two plain traces sharing CPU 0, switching every 50 k accesses. */
        {{"gzip.trace.zst", "chase.trace.zst"}, 2, "cpu.cpus=1 os.quantum=50000"},
        /* Two plain traces on CPUs 0 and 1, record by record. */
        {{"gzip.trace.zst", "chase.trace.zst"}, 2, ""},
        /* Traces with their own processes: clashing pids are renamed. */
        {{"procs-rr.trace.zst", "fork-cow.trace.zst"}, 2, ""},
    };
    return cr_make_param_array(workload, w, sizeof w / sizeof w[0]);
}

ParameterizedTest(workload *w, multi, same_counters)
{
    char paths[2][256], what[192];
    const char *t[2];
    for (unsigned i = 0; i < w->n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s%s", TRACES, w->traces[i]);
        t[i] = paths[i];
    }
    snprintf(what, sizeof what, "%s%s%s %s", w->traces[0], w->n > 1 ? " + " : "", w->n > 1 ? w->traces[1] : "",
             w->common);
    mm_config cfgs[K];
    for (unsigned i = 0; i < K; i++)
        make_config(&cfgs[i], w->common, variant[i]);
    check_same(cfgs, K, t, w->n, what);
}

/* One configuration: the one pass is replay_run without the report. */
Test(multi, one_configuration)
{
    const char *t[] = {TRACES "sqlite3.trace.zst"};
    mm_config c;
    make_config(&c, "", NULL);
    check_same(&c, 1, t, 1, "sqlite3, k = 1");
}

/* ---- out of memory ---------------------------------------------------------- */

/* GUPS touches 1 GiB; 32 MiB (16 reserved) hold 4096 frames: under
 * exhaustion=stop that machine stops early (status REPLAY_OOM, as
 * replay_run's), and the machines around it -- before and after it in the
 * array -- replay to the end with the counters they have alone. */
Test(multi, out_of_memory_stops_one)
{
    const char *t[] = {TRACES "gups.trace.zst"};
    mm_config cfgs[K];
    for (unsigned i = 0; i < K; i++)
        make_config(&cfgs[i], "", variant[i]);
    char err[4608];
    cr_assert_eq(cfg_set(&cfgs[1], "os.phys_mem_mib=32", err, sizeof err), 0, "%s", err);
    check_same(cfgs, K, t, 1, "gups, configuration 1 out of memory");

    stats *out[K];
    replay_status status[K];
    replay_opts o = {.traces = t, .ntraces = 1};
    cr_assert_eq(replay_run_multi(cfgs, K, &o, out, status, err, sizeof err), REPLAY_DONE, "%s", err);
    for (unsigned i = 0; i < K; i++) {
        cr_expect_eq(status[i], i == 1 ? REPLAY_OOM : REPLAY_DONE, "configuration %u", i);
        cr_expect_eq(stats_get(out[i], "os.out_of_memory", NULL), i == 1, "configuration %u", i);
        stats_free(out[i]);
    }
}

/* Every machine out of memory (at different points): the pass ends when
 * the last one stops, REPLAY_DONE, each status REPLAY_OOM. */
Test(multi, out_of_memory_all)
{
    const char *t[] = {TRACES "gups.trace.zst"};
    static const char *const mib[K] = {"os.phys_mem_mib=32", "os.phys_mem_mib=24", "os.phys_mem_mib=40",
                                       "os.phys_mem_mib=20"};
    mm_config cfgs[K];
    for (unsigned i = 0; i < K; i++)
        make_config(&cfgs[i], mib[i], variant[i]);
    check_same(cfgs, K, t, 1, "gups, all out of memory");
    stats *out[K];
    replay_status status[K];
    char err[4608];
    replay_opts o = {.traces = t, .ntraces = 1};
    cr_assert_eq(replay_run_multi(cfgs, K, &o, out, status, err, sizeof err), REPLAY_DONE, "%s", err);
    for (unsigned i = 0; i < K; i++) {
        cr_expect_eq(status[i], REPLAY_OOM, "configuration %u", i);
        stats_free(out[i]);
    }
}

/* ---- stop, bad input -------------------------------------------------------- */

/* *stop already set: REPLAY_STOPPED before any record, every machine's
 * counters (nothing replayed) handed back. */
Test(multi, stop_flag)
{
    volatile sig_atomic_t stop = 1;
    const char *t[] = {TRACES "zipf.trace.zst"};
    mm_config cfgs[2];
    make_config(&cfgs[0], "", variant[0]);
    make_config(&cfgs[1], "", variant[1]);
    stats *out[2];
    replay_status status[2];
    char err[4608];
    replay_opts o = {.traces = t, .ntraces = 1, .stop = &stop};
    cr_assert_eq(replay_run_multi(cfgs, 2, &o, out, status, err, sizeof err), REPLAY_STOPPED, "%s", err);
    for (unsigned i = 0; i < 2; i++) {
        cr_assert_not_null(out[i]);
        cr_expect_eq(status[i], REPLAY_STOPPED);
        cr_expect_eq(stats_get(out[i], "dTLB-loads", NULL), 0);
        stats_free(out[i]);
    }
}

/* cpu.cpus and os.quantum decide the schedule: configurations that differ
 * in them cannot share a pass.  The message names the key and the
 * configuration; nothing is handed back. */
ParameterizedTestParameters(multi, schedule_keys_must_agree)
{
    static char keys[][32] = {"cpu.cpus=2", "os.quantum=1000"};
    return cr_make_param_array(char[32], keys, sizeof keys / sizeof keys[0]);
}

ParameterizedTest(char (*set)[32], multi, schedule_keys_must_agree)
{
    const char *t[] = {TRACES "gzip.trace.zst"};
    mm_config cfgs[3];
    for (unsigned i = 0; i < 3; i++)
        make_config(&cfgs[i], i == 2 ? *set : "", variant[i]);
    stats *out[3];
    replay_status status[3];
    char err[4608] = "", key[32];
    snprintf(key, sizeof key, "%.*s", (int)strcspn(*set, "="), *set);
    replay_opts o = {.traces = t, .ntraces = 1};
    cr_assert_eq(replay_run_multi(cfgs, 3, &o, out, status, err, sizeof err), REPLAY_ERROR);
    cr_expect(strstr(err, key) && strstr(err, "configuration 2"), "%s", err);
    for (unsigned i = 0; i < 3; i++) {
        cr_expect_null(out[i]);
        cr_expect_eq(status[i], REPLAY_ERROR);
    }
}

/* A record the OS model cannot apply (a fork to a pid that exists), after
 * 1000 accesses: the same message as replay_run's, naming the file and
 * the record, though the machines see it in a batch. */
Test(multi, bad_event_names_record)
{
    char dir[] = "/tmp/mmusim_multi_XXXXXX", path[64], err[4608] = "", err1[4608] = "";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bad.trace", dir);
    trace_meta meta = {0};
    snprintf(meta.source, sizeof meta.source, "test");
    trace_writer *w = trace_writer_open(path, &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(trace_write(w, &(trace_rec){.kind = TR_SWITCH, .pid = 1}), 0);
    cr_assert_eq(trace_write(w, &(trace_rec){.kind = TR_FORK, .pid = 1, .child = 2}), 0);
    for (uint64_t i = 0; i < 1000; i++)
        cr_assert_eq(trace_write(w, &(trace_rec){.kind = TR_ACCESS, .acc = MM_LOAD, .size = 8, .va = 0x10000 + 64 * i}),
                     0);
    cr_assert_eq(trace_write(w, &(trace_rec){.kind = TR_FORK, .pid = 1, .child = 2}), 0);
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);

    const char *t[] = {path};
    mm_config cfgs[2];
    make_config(&cfgs[0], "", variant[0]);
    make_config(&cfgs[1], "", variant[1]);
    mem m;
    mem_open(&m);
    replay_opts o1 = {.traces = t, .ntraces = 1, .format = REPORT_JSON, .out = m.f};
    cr_expect_eq(replay_run(&cfgs[0], &o1, err1, sizeof err1), REPLAY_ERROR);
    free(mem_close(&m));
    stats *res[2];
    replay_status status[2];
    replay_opts o = {.traces = t, .ntraces = 1};
    cr_expect_eq(replay_run_multi(cfgs, 2, &o, res, status, err, sizeof err), REPLAY_ERROR);
    cr_expect_str_eq(err, err1);
    cr_expect(strstr(err, "record 1002"), "%s", err);
    cr_expect_null(res[0]);
    unlink(path);
    rmdir(dir);
}

/* A trace cut in the middle of a frame: REPLAY_ERROR, the message names
 * the file; nothing is handed back. */
Test(multi, truncated_trace)
{
    char dir[] = "/tmp/mmusim_multi_XXXXXX", path[64], err[4608] = "";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cut.trace.zst", dir);
    FILE *in = fopen(TRACES "gzip.trace.zst", "rb"), *out = fopen(path, "wb");
    cr_assert(in && out);
    char buf[4096];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && total < 400000) {
        fwrite(buf, 1, n, out);
        total += n;
    }
    fclose(in);
    fclose(out);

    const char *t[] = {path};
    mm_config cfgs[2];
    make_config(&cfgs[0], "", variant[0]);
    make_config(&cfgs[1], "", variant[1]);
    stats *res[2];
    replay_status status[2];
    replay_opts o = {.traces = t, .ntraces = 1};
    cr_expect_eq(replay_run_multi(cfgs, 2, &o, res, status, err, sizeof err), REPLAY_ERROR);
    cr_expect(strstr(err, path) != NULL, "%s", err);
    cr_expect_null(res[0]);
    cr_expect_null(res[1]);
    unlink(path);
    rmdir(dir);
}
