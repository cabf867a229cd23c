/* mmusim sweep: spec expansion, spec errors with their file:line, run
 * identity, a real sweep checked against `mmusim run`, resuming, and a
 * sweep killed with SIGKILL and finished by a re-run. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <limits.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmusim/report.h"
#include "mmusim/sweep.h"
#include "support/run_prog.h"
#include "support/scratch.h"

#define TRACES MMUSIM_SOURCE_DIR "/traces"
#define SEQ TRACES "/seq-stream.trace.zst"
#define GUPS TRACES "/gups.trace.zst"

static char out[1 << 16], err[1 << 12];

#define scratch(dir) scratch_make(dir, "test_sweep")
#define rm_rf scratch_remove
#define write_text scratch_write

/* A whole file, malloc'd ("" if missing). */
static char *slurp(const char *path)
{
    char *b = scratch_slurp(path);
    return b ? b : calloc(1, 1);
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Entries of dir: finished run files (ID.json) and temporaries (.*.tmp.*). */
static void count_dir(const char *dir, unsigned *runs, unsigned *tmps)
{
    *runs = *tmps = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strstr(e->d_name, ".tmp."))
            ++*tmps;
        else if (e->d_name[0] != '.' && n == 21 && !strcmp(e->d_name + 16, ".json"))
            ++*runs;
    }
    closedir(d);
}

static sweep_spec *load_text(const char *dir, const char *text, char *msg, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/spec.yaml", dir);
    write_text(path, text);
    return sweep_spec_load(path, msg, len);
}

/* ---- expansion ---------------------------------------------------------- */

Test(sweep, expansion_is_cartesian_times_zip)
{
    char dir[64], msg[1024];
    scratch(dir);
    sweep_spec *s = load_text(dir,
                              "traces: [" SEQ ", " GUPS "]\n"
                              "params:\n"
                              "  dtlb.4k.ways: [4, 8, 16]\n"
                              "  walker.walkers: [1, 2]\n"
                              "zip:\n"
                              "  - stlb.4k.sets: [128, 256]\n"
                              "    stlb.4k.ways: [12, 6]\n"
                              "  - pwc.latency: [1, 2, 3]\n"
                              "    memsys.dram_latency: [100, 200, 300]\n",
                              msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    cr_assert_eq(sweep_trace_count(s), 2);
    cr_assert_eq(sweep_param_count(s), 6);
    cr_assert_eq(sweep_point_count(s), 3 * 2 * 2 * 3);
    const char *keys[] = {"dtlb.4k.ways", "walker.walkers", "stlb.4k.sets", "stlb.4k.ways", "pwc.latency",
                          "memsys.dram_latency"};
    for (size_t j = 0; j < 6; j++)
        cr_assert_str_eq(sweep_param_key(s, j), keys[j]);
    /* The first dimension varies slowest; zipped keys move together. */
    const char *w[] = {"4", "8", "16"}, *k[] = {"1", "2"}, *zs[] = {"128", "256"}, *zw[] = {"12", "6"},
               *pl[] = {"1", "2", "3"}, *dl[] = {"100", "200", "300"};
    size_t p = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++)
                for (int d = 0; d < 3; d++, p++) {
                    cr_assert_str_eq(sweep_point_value(s, p, 0), w[a]);
                    cr_assert_str_eq(sweep_point_value(s, p, 1), k[b]);
                    cr_assert_str_eq(sweep_point_value(s, p, 2), zs[c]);
                    cr_assert_str_eq(sweep_point_value(s, p, 3), zw[c]);
                    cr_assert_str_eq(sweep_point_value(s, p, 4), pl[d]);
                    cr_assert_str_eq(sweep_point_value(s, p, 5), dl[d]);
                }
    mm_config c;
    sweep_point_config(s, 1 * 12 + 1 * 6 + 1 * 3 + 2, &c);   /* 8 ways, 2 walkers, 256x6, latency 3 */
    cr_assert_eq(c.dtlb.tlb.array[0].ways, 8);
    cr_assert_eq(c.walker.walkers, 2);
    cr_assert_eq(c.stlb.tlb.array[0].sets, 256);
    cr_assert_eq(c.stlb.tlb.array[0].ways, 6);
    cr_assert_eq(c.pwc.latency, 3);
    sweep_spec_free(s);
    rm_rf(dir);
}

Test(sweep, no_params_is_one_point_of_the_base)
{
    char dir[64], msg[1024];
    scratch(dir);
    sweep_spec *s = load_text(dir, "traces: [" SEQ "]\nconfig: zen2\nset: {walker.walkers: 3}\n", msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    cr_assert_eq(sweep_point_count(s), 1);
    mm_config c;
    sweep_point_config(s, 0, &c);
    cr_assert_str_eq(c.name, "zen2");
    cr_assert_eq(c.walker.walkers, 3);
    sweep_spec_free(s);
    rm_rf(dir);
}

/* ---- bad specs ---------------------------------------------------------- */

/* Arrays, not pointers: Criterion runs each test in a new process image,
 * where a pointer into the parent's string literals means nothing. */
typedef struct bad_spec {
    char text[320];
    char where[24];     /* "spec.yaml:LINE:" */
    char problem[64];   /* a piece of the message */
} bad_spec;

ParameterizedTestParameters(sweep, bad_spec_names_file_and_line)
{
    static bad_spec cases[] = {
        {"traces: [" SEQ "]\nparams:\n  dtlb.4k.ways: [4]\nsweep: 3\n", "spec.yaml:4:", "unknown key 'sweep'"},
        {"traces: [" SEQ "]\nparams:\n  dtlb.4k.ways: [4]\n  walker.walkers: []\n", "spec.yaml:4:",
         "walker.walkers: the list of values is empty"},
        {"traces: [" SEQ "]\nzip:\n  - stlb.4k.sets: [128, 256]\n    stlb.4k.ways: [12, 6, 4]\n", "spec.yaml:4:",
         "equal lengths"},
        {"traces: [" SEQ "]\nparams:\n  dtlb.4k.ways: [4]\n  dtlb.4k.colour: [1, 2]\n", "spec.yaml:4:",
         "dtlb.4k.colour=1: unknown key"},
        {"traces: [" SEQ "]\nset:\n  walker.walkers: 2\n  no.such.key: 1\n", "spec.yaml:4:",
         "no.such.key=1: unknown key"},
        {"params:\n  dtlb.4k.ways: [4]\ntraces:\n  - " SEQ "\n  - no-such.trace.zst\n", "spec.yaml:5:",
         "no-such.trace.zst: No such file"},
        {"traces: [" SEQ "]\nparams:\n  dtlb.4k.ways: [4, eight]\n", "spec.yaml:3:", "eight"},
        {"traces: [" SEQ "]\nparams:\n  dtlb.4k.sets: [16, 24]\n", "spec.yaml:3:", "power of two"},
        {"traces: [" SEQ "]\nconfig: no-such-preset\n", "spec.yaml:2:", "no-such-preset"},
        {"params:\n  dtlb.4k.ways: [4]\n", "spec.yaml:1:", "no traces"},
        {"traces: [" SEQ "\n", "spec.yaml:2:", "expected ','"},
    };
    return cr_make_param_array(bad_spec, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_spec *b, sweep, bad_spec_names_file_and_line)
{
    char dir[64], msg[1024];
    scratch(dir);
    msg[0] = 0;
    sweep_spec *s = load_text(dir, b->text, msg, sizeof msg);
    cr_assert_null(s, "accepted:\n%s", b->text);
    char where[160];
    snprintf(where, sizeof where, "%s/%s", dir, b->where);
    cr_assert_eq(strncmp(msg, where, strlen(where)), 0, "want %s, got: %s", where, msg);
    cr_assert_not_null(strstr(msg, b->problem), "want '%s' in: %s", b->problem, msg);
    cr_assert_null(strchr(msg, '\n'), "%s", msg);
    rm_rf(dir);
}

Test(sweep, bad_spec_exits_2_with_one_line_before_running)
{
    char dir[64], spec[128];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/spec.yaml", dir);
    write_text(spec, "traces: [" SEQ "]\nparams:\n  dtlb.4k.ways: []\n");
    char line[512];
    snprintf(line, sizeof line, "\"$M\" sweep '%s' --jobs 1", spec);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_eq(prog_lines(err), 1, "%s", err);
    cr_assert_not_null(strstr(err, "spec.yaml:3:"), "%s", err);
    char results[128];
    snprintf(results, sizeof results, "%s/spec-results", dir);
    cr_assert_neq(access(results, F_OK), 0, "the output folder was made");
    rm_rf(dir);
}

/* A spec with ten independent errors: every one, one line each, sorted by
 * line (two on line 9, in the order of the values), an unknown key once
 * however many values it has, then the count. */
static const char many_errors[] = "traces:\n"                          /* 1 */
                                  "  - " SEQ "\n"                      /* 2 */
                                  "  - no-such.trace.zst\n"            /* 3 */
                                  "config: skylake\n"                  /* 4 */
                                  "set:\n"                             /* 5 */
                                  "  os.thp: sometimes\n"              /* 6 */
                                  "  no.such.key: 1\n"                 /* 7 */
                                  "params:\n"                          /* 8 */
                                  "  dtlb.4k.ways: [4, eight, 9x]\n"   /* 9 */
                                  "  dtlb.4k.colour: [1, 2]\n"         /* 10 */
                                  "  walker.walkers: []\n"             /* 11 */
                                  "zip:\n"                             /* 12 */
                                  "  - stlb.4k.sets: [128, 256]\n"     /* 13 */
                                  "    stlb.4k.ways: [12, 6, 4]\n"     /* 14 */
                                  "sweep: 3\n"                         /* 15 */
                                  "onepass: maybe\n";                  /* 16 */

/* The expected lines, each "PREFIXSPEC:...", joined by sep. */
static void many_errors_text(char *buf, size_t len, const char *dir, const char *prefix, const char *sep)
{
    snprintf(buf, len,
             "%s%s/spec.yaml:3: trace %s/no-such.trace.zst: No such file or directory%s"
             "%s%s/spec.yaml:6: os.thp=sometimes: expected a THP policy (never, always, madvise), got 'sometimes'%s"
             "%s%s/spec.yaml:7: no.such.key=1: unknown key%s"
             "%s%s/spec.yaml:9: dtlb.4k.ways=eight: expected an unsigned integer, got 'eight'%s"
             "%s%s/spec.yaml:9: dtlb.4k.ways=9x: expected an unsigned integer, got '9x'%s"
             "%s%s/spec.yaml:10: dtlb.4k.colour=1: unknown key%s"
             "%s%s/spec.yaml:11: params: walker.walkers: the list of values is empty%s"
             "%s%s/spec.yaml:14: zip: stlb.4k.ways has 3 values but stlb.4k.sets has 2: zipped lists must have "
             "equal lengths%s"
             "%s%s/spec.yaml:15: unknown key 'sweep' (expected traces, config, set, params, zip, onepass)%s"
             "%s%s/spec.yaml:16: onepass: expected true or false, got 'maybe'%s"
             "%s%s/spec.yaml: 10 errors",
             prefix, dir, dir, sep, prefix, dir, sep, prefix, dir, sep, prefix, dir, sep, prefix, dir, sep, prefix,
             dir, sep, prefix, dir, sep, prefix, dir, sep, prefix, dir, sep, prefix, dir, sep, prefix, dir);
}

Test(sweep, bad_spec_reports_every_error)
{
    char dir[64], msg[8192], want[8192];
    scratch(dir);
    cr_assert_null(load_text(dir, many_errors, msg, sizeof msg));
    many_errors_text(want, sizeof want, dir, "", "\n");
    cr_assert_str_eq(msg, want);

    /* The command: each line with its prefix, exit 2, nothing made. */
    char line[512];
    snprintf(line, sizeof line, "\"$M\" sweep '%s/spec.yaml' --jobs 1", dir);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, err, sizeof err), 2, "%s", err);
    many_errors_text(want, sizeof want, dir, "mmusim: ", "\n");
    strcat(want, "\n");
    cr_assert_str_eq(err, want);
    cr_assert_str_eq(out, "");
    char results[128];
    snprintf(results, sizeof results, "%s/spec-results", dir);
    cr_assert_neq(access(results, F_OK), 0, "the output folder was made");
    rm_rf(dir);
}

/* What does not fit is left out whole, and the count says so. */
Test(sweep, bad_spec_errors_cut_to_whole_lines)
{
    char dir[64], msg[400], want[8192];
    scratch(dir);
    cr_assert_null(load_text(dir, many_errors, msg, sizeof msg));
    many_errors_text(want, sizeof want, dir, "", "\n");
    /* As many whole lines of the full text as fit with the count. */
    size_t lines = 0;
    for (const char *p = msg; (p = strchr(p, '\n')); p++)
        lines++;
    cr_assert_geq(lines, 1, "%s", msg);
    const char *last = strrchr(msg, '\n') + 1;
    cr_assert_eq(strncmp(msg, want, (size_t)(last - msg)), 0, "%s", msg);
    char count[160];
    snprintf(count, sizeof count, "%s/spec.yaml: 10 errors, the first %zu shown", dir, lines);
    cr_assert_str_eq(last, count);
    rm_rf(dir);
}

/* A config that cannot be loaded is one error; the set: keys are still
 * checked (against the defaults), the points are not. */
Test(sweep, bad_config_does_not_hide_other_errors)
{
    char dir[64], msg[4096], want[4096];
    scratch(dir);
    cr_assert_null(load_text(dir,
                             "traces: [" SEQ "]\nconfig: nope\nset: {os.thp: sometimes}\nparams:\n"
                             "  dtlb.4k.sets: [16, 24]\n",
                             msg, sizeof msg));
    snprintf(want, sizeof want,
             "%s/spec.yaml:2: config: %s/nope: cannot open: No such file or directory\n"
             "%s/spec.yaml:3: os.thp=sometimes: expected a THP policy (never, always, madvise), got 'sometimes'\n"
             "%s/spec.yaml: 2 errors",
             dir, dir, dir, dir);
    cr_assert_str_eq(msg, want);
    rm_rf(dir);
}

/* ---- identity ----------------------------------------------------------- */

Test(sweep, run_id_names_config_and_trace)
{
    mm_config a, b;
    char msg[512];
    cr_assert_eq(cfg_load(&a, "skylake", msg, sizeof msg), 0, "%s", msg);
    b = a;
    uint64_t th1, th2;
    cr_assert_eq(sweep_hash_file(SEQ, &th1, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(sweep_hash_file(GUPS, &th2, msg, sizeof msg), 0, "%s", msg);
    cr_assert_neq(th1, th2);
    cr_assert_eq(sweep_run_id(&a, th1), sweep_run_id(&b, th1));
    cr_assert_neq(sweep_run_id(&a, th1), sweep_run_id(&a, th2));
    cr_assert_eq(cfg_set(&b, "dtlb.4k.ways=8", msg, sizeof msg), 0, "%s", msg);
    cr_assert_neq(sweep_run_id(&a, th1), sweep_run_id(&b, th1));
    cr_assert_eq(cfg_set(&b, "dtlb.4k.ways=4", msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(sweep_run_id(&a, th1), sweep_run_id(&b, th1), "setting the value back gives the id back");
    /* FNV-1a-64 test vectors. */
    cr_assert_eq(sweep_hash(SWEEP_HASH_INIT, "", 0), 0xcbf29ce484222325ull);
    cr_assert_eq(sweep_hash(SWEEP_HASH_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
    char text[17];
    sweep_id_text(0xabcull, text);
    cr_assert_str_eq(text, "0000000000000abc");
}

/* ---- real sweeps -------------------------------------------------------- */

/* 2 bundled traces x 4 configs. */
static const char small_spec[] = "traces:\n"
                                 "  - " SEQ "\n"
                                 "  - " GUPS "\n"
                                 "config: skylake\n"
                                 "set:\n"
                                 "  os.thp: never\n"
                                 "params:\n"
                                 "  dtlb.4k.ways: [4, 8]\n"
                                 "zip:\n"
                                 "  - stlb.4k.sets: [128, 256]\n"
                                 "    stlb.4k.ways: [12, 6]\n";

static int sweep_cmd(const char *dir, const char *spec, const char *outdir, unsigned jobs)
{
    char line[1024];
    snprintf(line, sizeof line, "\"$M\" sweep '%s' --jobs %u --out '%s'", spec, jobs, outdir);
    return prog_capture(line, dir, out, sizeof out, err, sizeof err);
}

/* The first line of text holding `s`, without its trailing comma. */
static bool has_member(const char *text, const char *line, size_t len)
{
    for (const char *p = text; (p = strstr(p, "\n")); p++) {
        if (!strncmp(p + 1, line, len) && (p[1 + len] == '\n' || (p[1 + len] == ',' && p[2 + len] == '\n')))
            return true;
    }
    return false;
}

/* Every counter and config line of a `run --json` report is a member
 * of the run file `run` (named `what` in messages), except what run files
 * leave out: the report's header (schema, version, title, trace hash), its
 * metrics and its per-CPU and per-process counters. */
static void expect_report_in_run(const char *report, const char *run, const char *what)
{
    static const char *const header[] = {"  \"schema\"", "  \"mmusim\"", "  \"title\"", "  \"trace_hash\"",
                                         "  \"metrics\"", "}"};
    unsigned checked = 0;
    for (const char *l = strchr(report, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        const char *e = strchr(l + 1, '\n');
        size_t len = (size_t)(e - (l + 1));
        if (len && l[len] == ',')
            len--;
        bool skip = len > 3 && report_is_breakdown(l + 4);
        for (size_t h = 0; h < sizeof header / sizeof header[0]; h++)
            skip = skip || !strncmp(l + 1, header[h], strlen(header[h]));
        if (skip)
            continue;
        cr_assert(has_member(run, l + 1, len), "%.*s: not in %s", (int)len, l + 1, what);
        checked++;
    }
    cr_assert_gt(checked, 50);
}

Test(sweep, small_sweep_matches_mmusim_run)
{
    char dir[64], spec[128], res[128], path[256];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/small.yaml", dir);
    write_text(spec, small_spec);
    snprintf(res, sizeof res, "%s/small-results", dir);   /* the default --out */
    char line[512];
    snprintf(line, sizeof line, "\"$M\" sweep '%s' --jobs 2", spec);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(err, "", "not a terminal: no progress output");
    cr_assert_not_null(strstr(out, "8 runs: 8 done now, 0 skipped"), "%s", out);

    snprintf(path, sizeof path, "%s/results.csv", res);
    char *csv = slurp(path);
    cr_assert_eq(count_lines(csv), 1 + 8, "%s", csv);
    cr_assert_eq(strncmp(csv, "id,trace,status,param.dtlb.4k.ways,param.stlb.4k.sets,param.stlb.4k.ways,", 72), 0);
    snprintf(path, sizeof path, "%s/results.jsonl", res);
    char *jsonl = slurp(path);
    cr_assert_eq(count_lines(jsonl), 8);
    unsigned runs, tmps;
    snprintf(path, sizeof path, "%s/runs", res);
    count_dir(path, &runs, &tmps);
    cr_assert_eq(runs, 8);
    cr_assert_eq(tmps, 0);

    /* Run 2 of gups (8 ways, 128x12) against mmusim run --json. */
    char msg[1024];
    sweep_spec *s = sweep_spec_load(spec, msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    mm_config c;
    sweep_point_config(s, 2, &c);
    uint64_t th;
    cr_assert_eq(sweep_hash_file(GUPS, &th, msg, sizeof msg), 0);
    char id[17];
    sweep_id_text(sweep_run_id(&c, th), id);
    sweep_spec_free(s);
    snprintf(path, sizeof path, "%s/runs/%s.json", res, id);
    char *run = slurp(path);
    cr_assert_not_null(strstr(run, "\"param.dtlb.4k.ways\": 8,"), "%s", path);
    cr_assert_not_null(strstr(run, "\"trace\": \"" GUPS "\""), "%s", run);
    cr_assert_not_null(strstr(csv, id), "%s not in the CSV", id);

    cr_assert_eq(prog_capture("\"$M\" run --json --set os.thp=never --set dtlb.4k.ways=8 --set stlb.4k.sets=128 "
                              "--set stlb.4k.ways=12 " GUPS,
                              dir, out, sizeof out, err, sizeof err),
                 0, "%s", err);
    expect_report_in_run(out, run, path);
    free(run);
    free(csv);
    free(jsonl);
    rm_rf(dir);
}

static int not_dot(const struct dirent *e) { return e->d_name[0] != '.'; }

Test(sweep, rerun_skips_everything_and_changes_nothing)
{
    char dir[64], spec[128], res[128], path[256];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/small.yaml", dir);
    write_text(spec, small_spec);
    snprintf(res, sizeof res, "%s/res", dir);
    cr_assert_eq(sweep_cmd(dir, spec, res, 2), 0, "%s", err);
    snprintf(path, sizeof path, "%s/results.csv", res);
    char *csv1 = slurp(path);
    snprintf(path, sizeof path, "%s/results.jsonl", res);
    char *jsonl1 = slurp(path);
    struct dirent **names;
    snprintf(path, sizeof path, "%s/runs", res);
    int n = scandir(path, &names, not_dot, alphasort);
    cr_assert_eq(n, 8);
    char *files1[8];
    for (int i = 0; i < n; i++) {
        char f[512];
        snprintf(f, sizeof f, "%s/runs/%s", res, names[i]->d_name);
        files1[i] = slurp(f);
    }

    cr_assert_eq(sweep_cmd(dir, spec, res, 2), 0, "%s", err);
    cr_assert_not_null(strstr(out, "8 runs: 0 done now, 8 skipped"), "%s", out);
    snprintf(path, sizeof path, "%s/results.csv", res);
    char *csv2 = slurp(path);
    cr_assert_str_eq(csv1, csv2);
    snprintf(path, sizeof path, "%s/results.jsonl", res);
    char *jsonl2 = slurp(path);
    cr_assert_str_eq(jsonl1, jsonl2);
    for (int i = 0; i < n; i++) {
        char f[512];
        snprintf(f, sizeof f, "%s/runs/%s", res, names[i]->d_name);
        char *again = slurp(f);
        cr_assert_str_eq(files1[i], again, "%s changed", f);
        free(again);
        free(files1[i]);
        free(names[i]);
    }
    free(names);
    free(csv1);
    free(csv2);
    free(jsonl1);
    free(jsonl2);
    rm_rf(dir);
}

Test(sweep, results_do_not_depend_on_jobs)
{
    char dir[64], spec[128], r1[128], r2[128];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/small.yaml", dir);
    write_text(spec, small_spec);
    snprintf(r1, sizeof r1, "%s/j1", dir);
    snprintf(r2, sizeof r2, "%s/j3", dir);
    cr_assert_eq(sweep_cmd(dir, spec, r1, 1), 0, "%s", err);
    cr_assert_eq(sweep_cmd(dir, spec, r2, 3), 0, "%s", err);
    char line[512];
    snprintf(line, sizeof line, "diff -r '%s' '%s'", r1, r2);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, err, sizeof err), 0, "%s", out);
    rm_rf(dir);
}

Test(sweep, kill_9_then_rerun_loses_and_duplicates_nothing)
{
    char dir[64], spec[128], res[128], runs_dir[160];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/big.yaml", dir);
    /* 2 traces x 24 points = 48 runs: 6 batches of up to 16 configs. */
    write_text(spec, "traces: [" SEQ ", " GUPS "]\n"
                     "params:\n"
                     "  dtlb.4k.sets: [1, 2, 4, 8, 16, 32]\n"
                     "  stlb.4k.ways: [4, 6, 8, 12]\n");
    const unsigned N = 48;
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", res);

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        setpgid(0, 0);   /* the sweep and its workers: one process group */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(MMUSIM_PROG, "mmusim", "sweep", spec, "--jobs", "2", "--out", res, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    unsigned runs = 0, tmps = 0;
    struct timespec ts = {0, 2000000};
    for (int i = 0; i < 60000 && runs == 0; i++) {   /* up to 2 minutes */
        nanosleep(&ts, NULL);
        count_dir(runs_dir, &runs, &tmps);
    }
    cr_assert_gt(runs, 0, "no run finished");
    cr_assert_eq(kill(-pid, SIGKILL), 0);
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "the sweep ended before the kill: make it longer");
    /* kill() returns before the workers are gone: a worker inside its
     * rename() can still complete it.  Count once the directory has been
     * unchanged for 200 ms (at most 5 s). */
    unsigned prev = UINT_MAX;
    struct timespec settle = {0, 50000000};
    for (int stable = 0, i = 0; stable < 4 && i < 100; i++) {
        nanosleep(&settle, NULL);
        count_dir(runs_dir, &runs, &tmps);
        stable = runs == prev ? stable + 1 : 0;
        prev = runs;
    }
    cr_assert_lt(runs, N, "the sweep ended before the kill: make it longer");

    cr_assert_eq(sweep_cmd(dir, spec, res, 2), 0, "%s", err);
    char want[64];
    snprintf(want, sizeof want, "%u runs: %u done now, %u skipped", N, N - runs, runs);
    cr_assert_not_null(strstr(out, want), "want '%s' in: %s", want, out);

    count_dir(runs_dir, &runs, &tmps);
    cr_assert_eq(runs, N);
    cr_assert_eq(tmps, 0);
    unsigned top_runs, top_tmps;
    count_dir(res, &top_runs, &top_tmps);
    cr_assert_eq(top_tmps, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/results.csv", res);
    char *csv = slurp(path);
    cr_assert_eq(count_lines(csv), 1 + N);
    /* Every row's id is distinct. */
    char ids[48][17];
    unsigned nid = 0;
    for (char *l = strchr(csv, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        cr_assert_lt(nid, N);
        memcpy(ids[nid], l + 1, 16);
        ids[nid][16] = 0;
        for (unsigned j = 0; j < nid; j++)
            cr_assert_str_neq(ids[j], ids[nid], "duplicate id %s", ids[j]);
        nid++;
    }
    cr_assert_eq(nid, N);
    snprintf(path, sizeof path, "%s/results.jsonl", res);
    char *jsonl = slurp(path);
    cr_assert_eq(count_lines(jsonl), N);
    free(csv);
    free(jsonl);
    rm_rf(dir);
}

/* ---- the library's output folder, in this process ------------------------ */

/* An embedder's sweep: the library API alone, in this process, no worker
 * forked.  Its folder is the command's byte for byte (run files and
 * tables), and opening it again finds every run finished. */
Test(sweep, in_process_batches_equal_the_pool)
{
    char dir[64], spec[128], r1[128], r2[128], msg[1024];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/small.yaml", dir);
    write_text(spec, small_spec);
    snprintf(r1, sizeof r1, "%s/pool", dir);
    snprintf(r2, sizeof r2, "%s/lib", dir);
    cr_assert_eq(sweep_cmd(dir, spec, r1, 2), 0, "%s", err);

    sweep_spec *s = sweep_spec_load(spec, msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    sweep_runs *r = sweep_runs_create(s, msg, sizeof msg);
    cr_assert_not_null(r, "%s", msg);
    sweep_dir *d = sweep_dir_open(r, r2, 0, 0, NULL, NULL, msg, sizeof msg);
    cr_assert_not_null(d, "%s", msg);
    cr_assert_eq(sweep_dir_runs(d), 8);
    cr_assert_eq(sweep_dir_finished(d), 0);
    /* 4 direct runs per trace, at most 16 a batch: one batch per trace. */
    cr_assert_eq(sweep_dir_plan(d, 0), 2);
    cr_assert_eq(sweep_dir_batch_size(d, 0), 4);
    cr_assert_str_eq(sweep_dir_batch_trace(d, 0), SEQ);
    cr_assert_str_eq(sweep_dir_batch_trace(d, 1), GUPS);
    /* At most 3 a batch: 3 + 1 per trace. */
    cr_assert_eq(sweep_dir_plan(d, 3), 4);
    cr_assert_eq(sweep_dir_batch_size(d, 0), 3);
    cr_assert_eq(sweep_dir_batch_size(d, 1), 1);
    for (size_t b = 0; b < 4; b++)
        cr_assert_eq(sweep_dir_run_batch(d, b, NULL, msg, sizeof msg), SWEEP_DONE, "%s", msg);
    cr_assert_eq(sweep_dir_finished(d), 8);
    cr_assert_eq(sweep_dir_write_tables(d, msg, sizeof msg), 0, "%s", msg);
    sweep_dir_free(d);

    char line[512];
    snprintf(line, sizeof line, "diff -r '%s' '%s'", r1, r2);
    cr_assert_eq(prog_capture(line, dir, out, sizeof out, err, sizeof err), 0, "%s", out);

    d = sweep_dir_open(r, r2, 0, 0, NULL, NULL, msg, sizeof msg);
    cr_assert_not_null(d, "%s", msg);
    cr_assert_eq(sweep_dir_finished(d), 8);
    cr_assert_eq(sweep_dir_plan(d, 0), 0);
    sweep_dir_free(d);
    sweep_runs_free(r);
    sweep_spec_free(s);
    rm_rf(dir);
}

/* A stop flag set before a batch: nothing is replayed or written. */
Test(sweep, in_process_stop_writes_nothing)
{
    char dir[64], spec[128], res[128], msg[1024];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/small.yaml", dir);
    write_text(spec, small_spec);
    snprintf(res, sizeof res, "%s/res", dir);
    sweep_spec *s = sweep_spec_load(spec, msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    sweep_runs *r = sweep_runs_create(s, msg, sizeof msg);
    cr_assert_not_null(r, "%s", msg);
    sweep_dir *d = sweep_dir_open(r, res, 0, 0, NULL, NULL, msg, sizeof msg);
    cr_assert_not_null(d, "%s", msg);
    cr_assert_eq(sweep_dir_plan(d, 0), 2);
    volatile sig_atomic_t stop = 1;
    cr_assert_eq(sweep_dir_run_batch(d, 0, &stop, msg, sizeof msg), SWEEP_STOPPED);
    cr_assert_eq(sweep_dir_finished(d), 0);
    sweep_dir_free(d);
    unsigned runs, tmps;
    char path[160];
    snprintf(path, sizeof path, "%s/runs", res);
    count_dir(path, &runs, &tmps);
    cr_assert_eq(runs + tmps, 0);
    sweep_runs_free(r);
    sweep_spec_free(s);
    rm_rf(dir);
}

/* One sweep at a time per folder: while this process holds it open, the
 * command refuses it with one line and changes nothing. */
Test(sweep, a_folder_in_use_is_refused)
{
    char dir[64], spec[128], res[128], msg[1024];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/small.yaml", dir);
    write_text(spec, small_spec);
    snprintf(res, sizeof res, "%s/res", dir);
    sweep_spec *s = sweep_spec_load(spec, msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    sweep_runs *r = sweep_runs_create(s, msg, sizeof msg);
    cr_assert_not_null(r, "%s", msg);
    sweep_dir *d = sweep_dir_open(r, res, 0, 0, NULL, NULL, msg, sizeof msg);
    cr_assert_not_null(d, "%s", msg);
    cr_assert_eq(sweep_cmd(dir, spec, res, 2), 2, "%s", err);
    char want[256];
    snprintf(want, sizeof want, "mmusim: %s: another sweep is writing to this folder\n", res);
    cr_assert_str_eq(err, want);
    cr_assert_str_eq(out, "");
    sweep_dir_free(d);
    /* Released: the command now runs. */
    cr_assert_eq(sweep_cmd(dir, spec, res, 2), 0, "%s", err);
    cr_assert_not_null(strstr(out, "8 runs: 8 done now, 0 skipped"), "%s", out);
    sweep_runs_free(r);
    sweep_spec_free(s);
    rm_rf(dir);
}

/* ---- the pool: Ctrl-C ------------------------------------------------------ */

/* Ctrl-C (SIGINT to the sweep and its workers) once a run has finished:
 * the sweep exits 130 saying so, keeps exactly the runs it counted done,
 * leaves no temporary, and a re-run replays only the rest. */
Test(sweep, ctrl_c_keeps_finished_runs_and_rerun_finishes)
{
    char dir[64], spec[128], res[128], runs_dir[160], so[160], se[160];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/big.yaml", dir);
    write_text(spec, "traces: [" SEQ ", " GUPS "]\n"
                     "params:\n"
                     "  dtlb.4k.sets: [1, 2, 4, 8, 16, 32]\n"
                     "  stlb.4k.ways: [4, 6, 8, 12]\n");
    const unsigned N = 48;
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", res);
    snprintf(so, sizeof so, "%s/stdout", dir);
    snprintf(se, sizeof se, "%s/stderr", dir);

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        setpgid(0, 0);   /* the sweep and its workers: one process group, as a terminal's */
        int o = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0666), e = open(se, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        dup2(o, 1);
        dup2(e, 2);
        execl(MMUSIM_PROG, "mmusim", "sweep", spec, "--jobs", "2", "--out", res, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    unsigned runs = 0, tmps = 0;
    struct timespec ts = {0, 2000000};
    for (int i = 0; i < 60000 && runs == 0; i++) {   /* up to 2 minutes */
        nanosleep(&ts, NULL);
        count_dir(runs_dir, &runs, &tmps);
    }
    cr_assert_gt(runs, 0, "no run finished");
    cr_assert_eq(kill(-pid, SIGINT), 0);
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws), "killed by signal %d", WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    cr_assert_eq(WEXITSTATUS(ws), 130, "the sweep ended before Ctrl-C: make it longer");
    /* The workers are the sweep's children: it has waited for them all. */
    count_dir(runs_dir, &runs, &tmps);
    cr_assert_lt(runs, N);
    cr_assert_eq(tmps, 0);
    char *o = slurp(so), *e = slurp(se), want[512];
    snprintf(want, sizeof want, "sweep: %u runs: %u done now, 0 skipped (already in %s/runs), interrupted\n", N, runs,
             res);
    cr_assert_str_eq(o, want);
    cr_assert_str_eq(e, "mmusim: interrupted: finished runs are kept; run the same command to finish the sweep\n");
    free(o);
    free(e);
    char path[256];
    snprintf(path, sizeof path, "%s/results.csv", res);
    char *csv = slurp(path);
    cr_assert_eq(count_lines(csv), 1 + runs, "the tables list the finished runs");
    free(csv);

    cr_assert_eq(sweep_cmd(dir, spec, res, 2), 0, "%s", err);
    snprintf(want, sizeof want, "%u runs: %u done now, %u skipped", N, N - runs, runs);
    cr_assert_not_null(strstr(out, want), "want '%s' in: %s", want, out);
    count_dir(runs_dir, &runs, &tmps);
    cr_assert_eq(runs, N);
    rm_rf(dir);
}

/* ---- replay phases in a spec (replay.skip/warmup/max/roi) ---------------- */

/* set: replay.skip, params: replay.warmup [0, 20K]: two runs, each equal
 * to `mmusim run --skip 10K --warmup W` (every counter and config line of
 * its report is in the run file), the phases recorded in the run file
 * (param.replay.warmup for the swept key, config.replay.* for all four),
 * and a re-run accepts both files as finished.  A bad value is a spec
 * error naming its line. */
Test(sweep, replay_phase_keys)
{
    char dir[64], spec[128], res[128], path[512];
    scratch(dir);
    snprintf(spec, sizeof spec, "%s/ph.yaml", dir);
    write_text(spec, "traces: [" SEQ "]\n"
                     "set:\n"
                     "  os.thp: never\n"
                     "  replay.skip: 10K\n"
                     "params:\n"
                     "  replay.warmup: [0, 20K]\n");
    snprintf(res, sizeof res, "%s/ph-results", dir);
    cr_assert_eq(sweep_cmd(dir, spec, res, 1), 0, "%s", err);
    cr_assert_not_null(strstr(out, "2 runs: 2 done now, 0 skipped"), "%s", out);
    static const char *const warm[] = {"0", "20K"}, *const warm_n[] = {"0", "20000"};
    char runs_dir[256];
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", res);
    struct dirent **ents;
    int n = scandir(runs_dir, &ents, not_dot, alphasort);
    cr_assert_eq(n, 2);
    for (int w = 0; w < 2; w++) {
        /* The run file of this warm-up. */
        char *run = NULL, want[128];
        snprintf(want, sizeof want, "\n  \"param.replay.warmup\": %s,\n", warm_n[w]);
        for (int i = 0; i < n && !run; i++) {
            snprintf(path, sizeof path, "%s/%s", runs_dir, ents[i]->d_name);
            char *t = slurp(path);
            if (strstr(t, want))
                run = t;
            else
                free(t);
        }
        cr_assert_not_null(run, "no run file with %s", want);
        cr_expect_not_null(strstr(run, "\n  \"config.replay.skip\": 10000,\n"), "%s", run);
        cr_expect_not_null(strstr(run, "\n  \"config.replay.max\": 0,\n"), "%s", run);
        cr_expect_not_null(strstr(run, "\n  \"config.replay.roi\": false\n"), "%s", run);
        char line[512];
        snprintf(line, sizeof line, "\"$M\" run --json --set os.thp=never --skip 10K --warmup %s " SEQ, warm[w]);
        cr_assert_eq(prog_capture(line, dir, out, sizeof out, err, sizeof err), 0, "%s", err);
        expect_report_in_run(out, run, warm[w]);
        free(run);
    }
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    /* The run files check out: a re-run has nothing to do. */
    cr_assert_eq(sweep_cmd(dir, spec, res, 1), 0, "%s", err);
    cr_expect_not_null(strstr(out, "2 runs: 0 done now, 2 skipped"), "%s", out);

    char msg[1024], want[512];
    sweep_spec *s = load_text(dir, "traces: [" SEQ "]\nparams:\n  replay.max: [1X]\n  replay.roi: [yes]\n", msg,
                              sizeof msg);
    cr_assert_null(s);
    snprintf(want, sizeof want,
             "%s/spec.yaml:3: replay.max: expected a count: digits with an optional K, M or G suffix (10^3, 10^6, "
             "10^9), got '1X'\n%s/spec.yaml:4: replay.roi: expected true or false, got 'yes'",
             dir, dir);
    cr_expect_not_null(strstr(msg, want), "%s", msg);
    rm_rf(dir);
}
