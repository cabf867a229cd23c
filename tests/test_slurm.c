/* mmusim sweep --emit slurm / --shard / collect: the job array on a real
 * single-node Slurm cluster (munged, slurmctld and slurmd from Debian's
 * packages, started by scripts/slurm-local.sh in a scratch folder), the
 * same array's tasks run by hand, and collect's errors: missing shards, a
 * damaged manifest or run file, a changed spec, bad arguments.
 *
 * Whatever way the shards ran, the merged results.csv and results.jsonl
 * must be byte for byte those of one local `mmusim sweep` of the spec.
 * The sweeps that run use two small generated traces (a few seconds even
 * in the sanitizer build); the bundled smoke spec is only emitted. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/run_prog.h"
#include "support/scratch.h"

#define SMOKE MMUSIM_SOURCE_DIR "/experiments/smoke/spec.yaml"
#define SLURM_LOCAL MMUSIM_SOURCE_DIR "/scripts/slurm-local.sh"
#define SMOKE_RUNS 8
#define SMALL_RUNS 4   /* small_spec's */

static char out[1 << 16], err[1 << 16];

#define scratch(dir) scratch_make(dir, "test_slurm")
#define rm_rf scratch_remove
#define slurp scratch_slurp
#define write_text scratch_write

static unsigned count_files(const char *dir)
{
    unsigned n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Run a shell line in dir ($M the program, $D the folder); it must succeed. */
static void run_ok(const char *line, const char *dir)
{
    int rc = prog_capture(line, dir, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s\nexit %d\nstdout:\n%s\nstderr:\n%s", line, rc, out, err);
}

/* Run a shell line that must fail as bad input: exit 2 and one line
 * "mmusim: ..." on stderr holding `want`. */
static void run_bad(const char *line, const char *dir, const char *want)
{
    int rc = prog_capture(line, dir, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "%s\nexit %d\nstdout:\n%s\nstderr:\n%s", line, rc, out, err);
    cr_assert_eq(prog_lines(err), 1, "%s\nnot one line:\n%s", line, err);
    cr_assert_eq(strncmp(err, "mmusim: ", 8), 0, "%s", err);
    cr_assert_not_null(strstr(err, want), "%s\nwant '%s' in:\n%s", line, want, err);
}

/* The two tables of $D/a and $D/b are equal byte for byte, with `runs` rows. */
static void assert_same_tables(const char *dir, const char *a, const char *b, unsigned runs)
{
    static const char *const tables[] = {"results.csv", "results.jsonl"};
    for (unsigned t = 0; t < 2; t++) {
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "%s/%s/%s", dir, a, tables[t]);
        snprintf(pb, sizeof pb, "%s/%s/%s", dir, b, tables[t]);
        char *x = slurp(pa), *y = slurp(pb);
        cr_assert_not_null(x, "%s", pa);
        cr_assert_not_null(y, "%s", pb);
        cr_assert_str_eq(x, y, "%s and %s differ", pa, pb);
        if (t == 0)
            cr_assert_eq(prog_lines(x), runs + 1, "%s:\n%s", pa, x);
        free(x);
        free(y);
    }
}

/* $D/spec.yaml: two generated traces x three points, the third point the
 * first again (one run, as sweep.h says, which emit's shard lists must
 * agree with): 6 pairs, SMALL_RUNS runs.  $D/local: its local sweep. */
static void small_spec(const char *dir)
{
    run_ok("\"$M\" trace gen gups --count 20000 --footprint 4M -o \"$D/gups.trace.zst\" && "
           "\"$M\" trace gen sequential --count 20000 --footprint 4M -o \"$D/seq.trace.zst\" && "
           "printf 'traces: [gups.trace.zst, seq.trace.zst]\\nparams:\\n  dtlb.4k.ways: [4, 8, 4]\\n' "
           ">\"$D/spec.yaml\" && \"$M\" sweep \"$D/spec.yaml\" --out \"$D/local\" --jobs 2",
           dir);
    cr_assert_not_null(strstr(out, "sweep: 4 runs: 4 done now"), "%s", out);
}

/* Emit $D/spec.yaml to $D/job in `shards` shards. */
static void emit(const char *dir, unsigned shards)
{
    char line[256];
    snprintf(line, sizeof line, "\"$M\" sweep \"$D/spec.yaml\" --emit slurm \"$D/job\" --shards %u", shards);
    run_ok(line, dir);
}

/* Run the array's tasks by hand: sh sweep.sbatch as Slurm would start it,
 * for each task in `tasks` (a shell word list). */
static void run_tasks(const char *dir, const char *tasks)
{
    char line[256];
    snprintf(line, sizeof line,
             "for k in %s; do SLURM_ARRAY_TASK_ID=$k SLURM_CPUS_PER_TASK=1 sh \"$D/job/sweep.sbatch\" || exit; done",
             tasks);
    run_ok(line, dir);
}

/* ---- emit ----------------------------------------------------------------- */

Test(slurm, emit_writes_the_array_and_the_manifest)
{
    char dir[64];
    scratch(dir);
    run_ok("\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --shards 3 --cpus-per-task 2", dir);
    cr_assert_not_null(strstr(out, "sweep: 8 runs in 3 shards"), "%s", out);
    cr_assert_not_null(strstr(out, "submit:  sbatch "), "%s", out);
    char path[128];
    snprintf(path, sizeof path, "%s/job/sweep.sbatch", dir);
    char *script = slurp(path);
    cr_assert_not_null(script, "%s", path);
    static const char *const want[] = {"#SBATCH --array=0-2\n", "#SBATCH --cpus-per-task=2\n",
                                       "/logs/%A_%a.out\n", "--shard \"${SLURM_ARRAY_TASK_ID:?not a Slurm array task}/3\"",
                                       "/shards/\"$SLURM_ARRAY_TASK_ID\" --jobs \"${SLURM_CPUS_PER_TASK:-1}\""};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(script, want[i]), "want '%s' in:\n%s", want[i], script);
    free(script);
    snprintf(path, sizeof path, "%s/job/manifest.json", dir);
    char *m = slurp(path);
    cr_assert_not_null(m, "%s", path);
    cr_assert_not_null(strstr(m, "\"format\": \"mmusim-sweep-slurm 1\""), "%s", m);
    cr_assert_not_null(strstr(m, "\"spec\": \"" SMOKE "\""), "%s", m);
    cr_assert_not_null(strstr(m, "\"runs\": 8,"), "%s", m);
    /* 8 runs round-robin over 3 shards: 3, 3 and 2 ids. */
    unsigned quotes = 0;
    for (const char *p = strstr(m, "\"shards\""); *p; p++)
        quotes += *p == '"';
    cr_assert_eq(quotes, 2 + 2 * SMOKE_RUNS, "%s", m);
    free(m);
    snprintf(path, sizeof path, "%s/job/logs", dir);
    cr_assert_eq(access(path, W_OK), 0, "emit must create %s: Slurm does not", path);
    /* Emitting again gives the same bytes. */
    snprintf(path, sizeof path, "%s/job/manifest.json", dir);
    m = slurp(path);
    run_ok("\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --shards 3 --cpus-per-task 2", dir);
    char *again = slurp(path);
    cr_assert_str_eq(m, again);
    free(m);
    free(again);
    rm_rf(dir);
}

/* ---- the array's tasks run by hand, and collect -------------------------- */

Test(slurm, tasks_run_by_hand_collect_to_what_a_local_sweep_writes)
{
    char dir[64];
    scratch(dir);
    small_spec(dir);
    emit(dir, 3);
    run_tasks(dir, "0 1 2");
    cr_assert_not_null(strstr(out, "sweep: shard 0/3: 2 runs: 2 done now"), "%s", out);
    cr_assert_not_null(strstr(out, "sweep: shard 2/3: 1 runs: 1 done now"), "%s", out);
    /* Each shard ran exactly the runs the manifest gives it: the repeated
     * point was dropped alike by emit and by the tasks. */
    char path[128];
    snprintf(path, sizeof path, "%s/job/manifest.json", dir);
    char *m = slurp(path);
    cr_assert_not_null(m);
    unsigned listed = 0;
    for (unsigned k = 0; k < 3; k++) {
        const char *line = m;
        for (unsigned skip = 0; skip <= k; skip++)
            line = strstr(line + 1, "\n    [");
        cr_assert_not_null(line, "%s", m);
        for (const char *q = strchr(line, '"'); q && q < strchr(line, ']'); q = strchr(q + 18, '"')) {
            snprintf(path, sizeof path, "%s/job/shards/%u/runs/%.16s.json", dir, k, q + 1);
            cr_assert_eq(access(path, F_OK), 0, "%s: missing; manifest:\n%s", path, m);
            listed++;
        }
        snprintf(path, sizeof path, "%s/job/shards/%u/runs", dir, k);
        cr_assert_eq(count_files(path), k == 0 ? 2u : 1u, "%s", path);
    }
    cr_assert_eq(listed, SMALL_RUNS);
    free(m);

    run_ok("\"$M\" sweep collect \"$D/job\"", dir);
    cr_assert_not_null(strstr(out, "collect: 4 of 4 runs from 3 shards"), "%s", out);
    cr_assert_eq(err[0], 0, "%s", err);
    assert_same_tables(dir, "local", "job/results", SMALL_RUNS);
    snprintf(path, sizeof path, "%s/job/results/runs", dir);
    cr_assert_eq(count_files(path), SMALL_RUNS);
    /* Collecting again changes nothing. */
    run_ok("\"$M\" sweep collect \"$D/job\"", dir);
    assert_same_tables(dir, "local", "job/results", SMALL_RUNS);
    rm_rf(dir);
}

Test(slurm, collect_names_the_shards_with_missing_runs)
{
    char dir[64];
    scratch(dir);
    small_spec(dir);
    emit(dir, 4);
    run_tasks(dir, "0 3");
    run_bad("\"$M\" sweep collect \"$D/job\"", dir, "2 of 4 runs have no result, in shards 1-2 (the first: ");
    cr_assert_not_null(strstr(err, "/job/shards/1/runs/"), "%s", err);
    cr_assert_not_null(strstr(err, "sbatch --array=1-2 "), "%s", err);
    char path[128];
    snprintf(path, sizeof path, "%s/job/results/results.csv", dir);
    cr_assert_neq(access(path, F_OK), 0, "a failed collect wrote %s", path);

    /* --partial merges the 2 finished runs and replays nothing. */
    run_ok("\"$M\" sweep collect \"$D/job\" --partial", dir);
    cr_assert_not_null(strstr(out, "collect: 2 of 4 runs from 4 shards"), "%s", out);
    cr_assert_not_null(strstr(err, "2 runs have no result (shards 1-2)"), "%s", err);
    char *csv = slurp(path);
    cr_assert_not_null(csv, "%s", path);
    cr_assert_eq(prog_lines(csv), 1 + 2, "%s", csv);
    free(csv);
    snprintf(path, sizeof path, "%s/job/results/runs", dir);
    cr_assert_eq(count_files(path), 2);

    /* The missing tasks, run later, complete it. */
    run_tasks(dir, "1 2");
    run_ok("\"$M\" sweep collect \"$D/job\"", dir);
    assert_same_tables(dir, "local", "job/results", SMALL_RUNS);
    rm_rf(dir);
}

/* ---- collect's bad input ------------------------------------------------- */

/* Arrays, not pointers: Criterion runs each test in a new process image,
 * where a pointer into the parent's string literals means nothing. */
typedef struct bad_manifest {
    char find[32], repl[64];   /* the damage: the first `find` replaced; find "": the whole file */
    char where[24];            /* "manifest.json:LINE:" */
    char problem[64];          /* a piece of the message */
} bad_manifest;

ParameterizedTestParameters(slurm, damaged_manifest_names_file_and_line)
{
    static bad_manifest cases[] = {
        {"", "", "manifest.json:1:", "expected the JSON object"},
        {"\n  ]\n}\n", "\n", "manifest.json:10:", "did not find expected"},
        {"mmusim-sweep-slurm 1", "mmusim-sweep-slurm 9", "manifest.json:2:", "format 'mmusim-sweep-slurm 9'"},
        {"\"spec\": \"/", "\"spec\": \"", "manifest.json:3:", "spec: expected the spec's absolute path"},
        {"\"spec_hash\": \"", "\"spec_hash\": \"x", "manifest.json:4:", "spec_hash: expected 16 hex digits"},
        {"\"runs\": 8", "\"runz\": 8", "manifest.json:6:", "unknown member 'runz'"},
        {"\"runs\": 8", "\"runs\": 9", "manifest.json:6:", "runs: 9, but the shards list 8"},
        {"\"shards\": [\n    [", "\"shards\": [\n    [\"../../x\", ", "manifest.json:8:",
         "shard 0: '../../x' is not a run id"},
        {"\"shards\": [\n    [", "\"shards\": [\n    {\"a\": 1}, [", "manifest.json:8:",
         "shards: shard 0: expected a list of run ids"},
    };
    return cr_make_param_array(bad_manifest, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_manifest *b, slurm, damaged_manifest_names_file_and_line)
{
    char dir[64], path[128];
    scratch(dir);
    run_ok("\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --shards 2", dir);
    snprintf(path, sizeof path, "%s/job/manifest.json", dir);
    char *m = slurp(path);
    cr_assert_not_null(m);
    char damaged[8192] = "";
    if (b->find[0]) {
        char *at = strstr(m, b->find);
        cr_assert_not_null(at, "no '%s' in:\n%s", b->find, m);
        snprintf(damaged, sizeof damaged, "%.*s%s%s", (int)(at - m), m, b->repl, at + strlen(b->find));
    } else {
        snprintf(damaged, sizeof damaged, "%s", b->repl);
    }
    write_text(path, damaged);
    char want[160];
    snprintf(want, sizeof want, "mmusim: %s/job/%s", dir, b->where);
    run_bad("\"$M\" sweep collect \"$D/job\"", dir, b->problem);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "want %s, got:\n%s\nmanifest:\n%s", want, err, damaged);
    free(m);
    rm_rf(dir);
}

Test(slurm, damaged_run_file_is_named)
{
    char dir[64], path[320];
    scratch(dir);
    small_spec(dir);
    emit(dir, 2);
    run_tasks(dir, "0 1");
    snprintf(path, sizeof path, "%s/job/shards/1/runs", dir);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s", path);
    struct dirent *e;
    while ((e = readdir(d)) && e->d_name[0] == '.')
        ;
    cr_assert_not_null(e);
    snprintf(path, sizeof path, "%s/job/shards/1/runs/%.40s", dir, e->d_name);
    closedir(d);

    write_text(path, "{\n  \"id\": \"0123456789abcdef\",\n  \"status\": \"done\"\n}\n");
    run_bad("\"$M\" sweep collect \"$D/job\"", dir, "holds run 0123456789abcdef, not the run");
    cr_assert_not_null(strstr(err, path), "want %s in: %s", path, err);

    write_text(path, "{\n  \"id\": \"0123\",\n  \"status\": [\"done\"\n}\n");
    char want[384];
    snprintf(want, sizeof want, "mmusim: %s:4:", path);
    run_bad("\"$M\" sweep collect \"$D/job\"", dir, want);
    rm_rf(dir);
}

Test(slurm, changed_spec_is_refused)
{
    char dir[64];
    scratch(dir);
    small_spec(dir);
    run_ok("\"$M\" sweep \"$D/spec.yaml\" --emit slurm \"$D/job\"", dir);
    cr_assert_not_null(strstr(out, "4 runs in 1 shard:"), "%s", out);
    run_tasks(dir, "0");
    run_ok("echo 'set: {os.thp: never}' >>\"$D/spec.yaml\"", dir);
    run_bad("\"$M\" sweep collect \"$D/job\"", dir, "/spec.yaml: changed since it was emitted");
    rm_rf(dir);
}

/* The spec's text is the same, but a trace's content (so its runs' ids)
 * is not: the run files no longer are the spec's runs. */
Test(slurm, changed_trace_is_refused)
{
    char dir[64];
    scratch(dir);
    small_spec(dir);
    emit(dir, 2);
    run_tasks(dir, "0 1");
    run_ok("\"$M\" trace gen gups --count 20000 --footprint 4M --seed 2 -o \"$D/gups.trace.zst\"", dir);
    run_bad("\"$M\" sweep collect \"$D/job\"", dir, "are not those of");
    rm_rf(dir);
}

/* ---- bad arguments --------------------------------------------------------- */

typedef struct bad_args {
    char line[256];    /* run in a scratch folder $D */
    char problem[128]; /* a piece of the message */
} bad_args;

ParameterizedTestParameters(slurm, bad_arguments)
{
    static bad_args cases[] = {
        {"\"$M\" sweep '" SMOKE "' --emit", "--emit needs a kind and a folder"},
        {"\"$M\" sweep '" SMOKE "' --emit pbs \"$D/job\"", "--emit pbs: unknown kind"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm", "--emit slurm needs a folder"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --shards 0", "--shards 0: expected a number"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --shards 9", "more shards than the spec's 8 runs"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --cpus-per-task x", "--cpus-per-task x: expected"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --out \"$D/o\"", "--emit slurm takes no --out"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job\" --shard 0/2", "--emit slurm takes no --shard"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job x\"", "cannot be named in #SBATCH --output"},
        {"\"$M\" sweep '" SMOKE "' --emit slurm \"$D/job%x\"", "'%'"},
        {"\"$M\" sweep '" SMOKE "' --shards 2 --out \"$D/job\"", "--shards goes with --emit slurm"},
        {"\"$M\" sweep '" SMOKE "' --shard 2/2 --out \"$D/job\"", "--shard 2/2: expected K/N"},
        {"\"$M\" sweep '" SMOKE "' --shard 1 --out \"$D/job\"", "--shard 1: expected K/N"},
        {"\"$M\" sweep '" SMOKE "' --shard 0/x --out \"$D/job\"", "--shard 0/x: expected K/N"},
        {"\"$M\" sweep collect", "collect: name the folder"},
        {"\"$M\" sweep collect job other",
         "mmusim: sweep collect: unexpected argument 'other' (see mmusim sweep collect --help)\n"},
        {"\"$M\" sweep collect \"$D/job\" --all", "collect: unknown option '--all'"},
        {"\"$M\" sweep collect \"$D/job\"", "/job/manifest.json: No such file or directory"},
    };
    return cr_make_param_array(bad_args, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_args *b, slurm, bad_arguments)
{
    char dir[64];
    scratch(dir);
    run_bad(b->line, dir, b->problem);
    cr_assert_eq(count_files(dir), 0, "%s wrote in %s", b->line, dir);
    rm_rf(dir);
}

/* ---- a real Slurm cluster ------------------------------------------------- */

static char cluster[64];   /* this test's scratch folder; the cluster in cluster/ */

static void cluster_stop(void)
{
    if (!cluster[0])
        return;
    char o[4096], e[4096];
    prog_capture("bash '" SLURM_LOCAL "' stop \"$D/cluster\"", cluster, o, sizeof o, e, sizeof e);
    rm_rf(cluster);
}

/* The whole path a cluster user takes: emit, sbatch the array, collect.
 * A cluster that cannot start fails the test with its daemons' logs. */
Test(slurm, job_array_on_a_single_node_cluster, .fini = cluster_stop)
{
    scratch(cluster);
    const char *dir = cluster;
    int rc = prog_capture("bash '" SLURM_LOCAL "' start \"$D/cluster\"", dir, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "scripts/slurm-local.sh start: exit %d\n%s%s", rc, out, err);
    cr_assert_not_null(strstr(out, "export SLURM_CONF="), "%s", out);

    small_spec(dir);
    run_ok("\"$M\" sweep \"$D/spec.yaml\" --emit slurm \"$D/job\" --shards 3 --cpus-per-task 1", dir);
    /* sbatch --wait exits with the highest exit status of the tasks; on
     * failure the job's state and every log go to stderr. */
    run_ok("export SLURM_CONF=\"$D/cluster/slurm.conf\"; "
           "timeout 120 sbatch --wait \"$D/job/sweep.sbatch\" || { rc=$?; echo \"sbatch: exit $rc\"; "
           "sinfo; squeue; scontrol show job; tail -n 30 \"$D\"/cluster/log/*.log \"$D\"/job/logs/*; exit 1; } >&2",
           dir);
    unsigned job = 0;
    cr_assert_eq(sscanf(out, "Submitted batch job %u", &job), 1, "%s", out);

    /* One log pair per task: its shard's summary, and nothing on stderr.
     * Shard 0 holds runs 0 and 3, shards 1 and 2 one run each. */
    char path[192];
    for (unsigned k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/job/logs/%u_%u.out", dir, job, k);
        char *log = slurp(path), want[64];
        cr_assert_not_null(log, "%s", path);
        unsigned n = k == 0 ? 2 : 1;
        snprintf(want, sizeof want, "sweep: shard %u/3: %u runs: %u done now", k, n, n);
        cr_assert_not_null(strstr(log, want), "%s:\n%s", path, log);
        free(log);
        snprintf(path, sizeof path, "%s/job/logs/%u_%u.err", dir, job, k);
        log = slurp(path);
        cr_assert_not_null(log, "%s", path);
        cr_assert_str_empty(log, "%s:\n%s", path, log);
        free(log);
    }

    run_ok("\"$M\" sweep collect \"$D/job\"", dir);
    cr_assert_not_null(strstr(out, "collect: 4 of 4 runs from 3 shards"), "%s", out);
    assert_same_tables(dir, "local", "job/results", SMALL_RUNS);
}
