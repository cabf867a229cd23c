/* mmusim sweep against run files it did not write: each case damages one
 * run file of a finished sweep (an edited id, config, param, trace or
 * counter, a truncation, garbage, another run's file, a directory...) and
 * checks both readers of run files.
 *
 * A local sweep run again must warn in one line naming the file, the line
 * and the problem, move the file to DIR/damaged/ID.1.json, replay the run
 * and exit 0, its tables byte for byte those of the undamaged sweep.
 * `sweep collect`, which cannot replay, must stop with exit status 2 and
 * the same problem for the same damage in a shard's file.
 *
 * The specs use two small generated traces: a sweep of 4 runs takes a
 * fraction of a second, so every case builds its own folders. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmusim/sweep.h"
#include "support/run_prog.h"
#include "support/scratch.h"

static char out[1 << 14], err[1 << 14];

#define scratch(dir) scratch_make(dir, "test_hostile_sweep")
#define rm_rf scratch_remove
#define slurp scratch_slurp

/* Two traces x two points: 4 direct runs (the preset's core is not
 * blocking, so no one-pass method).  The one-pass spec: 2 runs of one
 * trace on a blocking core, which one pass serves. */
#define DIRECT_SPEC "traces: [gups.trace.zst, seq.trace.zst]\\nparams:\\n  dtlb.4k.ways: [4, 8]\\n"
#define ONEPASS_SPEC                                                                                               \
    "traces: [gups.trace.zst]\\nset: {frontend.max_outstanding: 1}\\nparams:\\n  dtlb.4k.ways: [4, 8]\\n"

/* Run a shell line in dir; it must succeed. */
static void run_ok(const char *line, const char *dir)
{
    int rc = prog_capture(line, dir, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s\nexit %d\nstdout:\n%s\nstderr:\n%s", line, rc, out, err);
}

/* $D/spec.yaml (a DIRECT_SPEC or ONEPASS_SPEC text for printf) on two
 * generated traces, swept into $D/res. */
static void first_sweep(const char *dir, const char *spec)
{
    char line[512];
    snprintf(line, sizeof line,
             "\"$M\" trace gen gups --count 5000 --footprint 4M -o \"$D/gups.trace.zst\" && "
             "\"$M\" trace gen sequential --count 5000 --footprint 4M -o \"$D/seq.trace.zst\" && "
             "printf '%s' >\"$D/spec.yaml\" && \"$M\" sweep \"$D/spec.yaml\" --out \"$D/res\" --jobs 2",
             spec);
    run_ok(line, dir);
}

/* The ids of runs 0 and 1 of $D/spec.yaml, in run order. */
static void run_ids(const char *dir, char victim[17], char other[17])
{
    char path[128], msg[1024];
    snprintf(path, sizeof path, "%s/spec.yaml", dir);
    sweep_spec *s = sweep_spec_load(path, msg, sizeof msg);
    cr_assert_not_null(s, "%s", msg);
    sweep_runs *r = sweep_runs_create(s, msg, sizeof msg);
    cr_assert_not_null(r, "%s", msg);
    cr_assert_geq(sweep_runs_count(r), 2);
    sweep_id_text(sweep_runs_id(r, 0), victim);
    sweep_id_text(sweep_runs_id(r, 1), other);
    sweep_runs_free(r);
    sweep_spec_free(s);
}

/* ---- the corpus ------------------------------------------------------------ */

typedef enum damage_kind {
    LINE,        /* the line holding `find` replaced by `text` (without its newline) */
    KEEP,        /* only the first `keep` bytes kept (keep <= 0: all but -keep; HALF: half) */
    WHOLE,       /* the file is `text` */
    APPEND,      /* `text` appended */
    OTHER_RUN,   /* run 1's file, copied under run 0's name */
    DIRECTORY,   /* an empty directory instead of the file */
} damage_kind;

#define HALF 1000000

/* Arrays, not pointers: Criterion runs each test in a new process image,
 * where a pointer into the parent's string literals means nothing. */
typedef struct damage {
    damage_kind kind;
    bool onepass;       /* on ONEPASS_SPEC (else DIRECT_SPEC) */
    char find[40];
    char text[64];
    long keep;
    /* The message after the file's path: "{L}" is the line of the damage
     * (1 + the newlines before its first byte), "{L+1}" the line after it,
     * "{I}" the run's id, "{O}" run 1's id. */
    char problem[128];
} damage;

ParameterizedTestParameters(hostile, damaged_run_file_is_moved_aside_and_run_again)
{
    static damage cases[] = {
        /* Another run's identity. */
        {LINE, false, "\"id\": ", "  \"id\": \"ffffffffffffffff\",", 0,
         ":{L}: holds run ffffffffffffffff, not the run {I} its name says"},
        {OTHER_RUN, false, "", "", 0, ":2: holds run {O}, not the run {I} its name says"},
        {WHOLE, false, "", "{\"trace\": \"gups.trace.zst\"}\n", 0,
         ":1: not a run file (a JSON object with an \"id\")"},
        /* Fields of the run that do not match it. */
        {LINE, false, "\"config.walker.walkers\": ", "  \"config.walker.walkers\": 3,", 0,
         ":{L}: \"config.walker.walkers\": 3, where run {I} has \"config.walker.walkers\": 2"},
        {LINE, false, "\"param.dtlb.4k.ways\": ", "  \"param.dtlb.4k.ways\": 8,", 0,
         ":{L}: \"param.dtlb.4k.ways\": 8, where run {I} has \"param.dtlb.4k.ways\": 4"},
        {LINE, false, "\"trace\": ", "  \"trace\": \"seq.trace.zst\",", 0,
         ":{L}: \"trace\": \"seq.trace.zst\", where run {I} has \"trace\": \"gups.trace.zst\""},
        {LINE, false, "\"status\": ", "  \"status\": \"finished\",", 0,
         ":{L}: \"status\": \"finished\", where run {I} has \"status\": \"done\""},
        /* Counters. */
        {LINE, false, "\"cycles\": ", "  \"cycles\": many,", 0,
         ":{L}: counter cycles: many is not a count (a whole number below 2^64)"},
        {LINE, false, "\"cycles\": ", "  \"cycles\": \"12\",", 0,
         ":{L}: counter cycles: \"12\" is not a count (a whole number below 2^64)"},
        {LINE, false, "\"cycles\": ", "  \"cycles\": 18446744073709551616,", 0,
         ":{L}: counter cycles: 18446744073709551616 is not a count (a whole number below 2^64)"},
        {LINE, false, "\"cycles\": ", "  \"cycles\": [12],", 0,
         ":{L}: cycles: a list or object, not a run file's member (a name and a number, string or config list)"},
        /* A config list (JSON list, schema 2): another value, a nested list. */
        {LINE, false, "\"config.stlb.4k.holds\": ", "  \"config.stlb.4k.holds\": [\"4k\"],", 0,
         ":{L}: \"config.stlb.4k.holds\": [\"4k\"], where run {I} has \"config.stlb.4k.holds\": [\"4k\", \"2m\"]"},
        {LINE, false, "\"config.stlb.4k.holds\": ", "  \"config.stlb.4k.holds\": [[\"4k\"]],", 0,
         ":{L}: config.stlb.4k.holds: a list or object, not a run file's member (a name and a number, string or config "
         "list)"},
        /* The method and the counters it implies. */
        {LINE, false, "\"method\": ", "  \"method\": \"onepass\",", 0,
         ":{L+1}: \"cycles\" in a one-pass run's file (one pass leaves it out)"},
        {LINE, true, "\"method\": ", "  \"method\": \"direct\",", 0,
         ":{L}: method direct, but no \"cycles\" counter (a direct run has every counter)"},
        {LINE, false, "\"method\": ", "  \"methods\": \"direct\",", 0,
         ": no \"method\": not a run file of this mmusim (an older one's?)"},
        {LINE, false, "\"method\": ", "  \"method\": \"guess\",", 0,
         ":{L}: method 'guess': expected direct or onepass"},
        /* Truncations: inside the id, at the end of a line, halfway, before
         * the closing brace, and just the final newline lost. */
        {KEEP, false, "", "", 12, ":{L}: the file ends inside its JSON object (truncated)"},
        {KEEP, false, "", "", 30, ":{L}: the file ends inside its JSON object (truncated)"},
        {KEEP, false, "", "", HALF, ":{L}: the file ends inside its JSON object (truncated)"},
        {KEEP, false, "", "", -2, ":{L}: the file ends inside its JSON object (truncated)"},
        {KEEP, false, "", "", -1, ":{L}: the file ends before run {I}'s does (truncated)"},
        /* Not a run file at all. */
        {WHOLE, false, "", "", 0, ": an empty file, not a run file"},
        {WHOLE, false, "", "\x7f" "ELF\x02\x01\x01\x03\xff\xfe\x80", 0, ":1: control characters are not allowed"},
        {WHOLE, false, "", "[1, 2]\n", 0, ":1: not a run file (a JSON object)"},
        {APPEND, false, "", "garbage\n", 0, ":{L}: text after the end of run {I}'s file"},
        {APPEND, false, "", "{}\n", 0, ":{L}: text after the end of run {I}'s file"},
        {DIRECTORY, false, "", "", 0, ": a directory, not a run file"},
    };
    return cr_make_param_array(damage, cases, sizeof cases / sizeof cases[0]);
}

/* The bytes damage d makes of run 0's text `orig` (`other`: run 1's), in
 * a malloc'd buffer of *len bytes; *at is the offset of the first damaged
 * byte, or -1 when the damage has no line.  DIRECTORY: NULL. */
static char *damaged(const damage *d, const char *orig, const char *other, size_t *len, long *at)
{
    size_t n = strlen(orig);
    char *b = NULL;
    *at = -1;
    FILE *f = open_memstream(&b, len);
    cr_assert_not_null(f);
    switch (d->kind) {
    case LINE: {
        const char *hit = strstr(orig, d->find);
        cr_assert_not_null(hit, "no '%s' in the run file", d->find);
        const char *start = hit;
        while (start > orig && start[-1] != '\n')
            start--;
        *at = start - orig;
        fprintf(f, "%.*s%s%s", (int)*at, orig, d->text, strchr(hit, '\n'));
        break;
    }
    case KEEP:
        *at = d->keep == HALF ? (long)n / 2 : d->keep > 0 ? d->keep : (long)n + d->keep;
        fwrite(orig, 1, (size_t)*at, f);
        break;
    case WHOLE:
        fputs(d->text, f);
        break;
    case APPEND:
        *at = (long)n;
        fprintf(f, "%s%s", orig, d->text);
        break;
    case OTHER_RUN:
        fputs(other, f);
        break;
    case DIRECTORY:
        break;
    }
    cr_assert_eq(fclose(f), 0);
    if (d->kind == DIRECTORY) {
        free(b);
        return NULL;
    }
    return b;
}

/* Put the damage at path (a run file). */
static void apply(const char *path, const char *bytes, size_t len)
{
    cr_assert_eq(unlink(path), 0, "%s", path);
    if (!bytes) {
        cr_assert_eq(mkdir(path, 0777), 0, "%s", path);
        return;
    }
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* d->problem with its placeholders filled. */
static void expand(const damage *d, const char *orig, long at, const char *victim, const char *other_id, char *buf,
                   size_t len)
{
    unsigned line = 1;
    for (long i = 0; i < at; i++)
        line += orig[i] == '\n';
    size_t o = 0;
    for (const char *p = d->problem; *p && o + 1 < len;) {
        if (!strncmp(p, "{L}", 3)) {
            o += (size_t)snprintf(buf + o, len - o, "%u", line);
            p += 3;
        } else if (!strncmp(p, "{L+1}", 5)) {
            o += (size_t)snprintf(buf + o, len - o, "%u", line + 1);
            p += 5;
        } else if (!strncmp(p, "{I}", 3)) {
            o += (size_t)snprintf(buf + o, len - o, "%s", victim);
            p += 3;
        } else if (!strncmp(p, "{O}", 3)) {
            o += (size_t)snprintf(buf + o, len - o, "%s", other_id);
            p += 3;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = 0;
    cr_assert_null(strchr(buf, '{'), "unexpanded: %s", buf);
}

static void assert_file_eq(const char *path, const char *want, const char *what)
{
    char *got = slurp(path);
    cr_assert_not_null(got, "%s: missing", path);
    cr_assert_str_eq(got, want, "%s: not %s", path, what);
    free(got);
}

ParameterizedTest(damage *d, hostile, damaged_run_file_is_moved_aside_and_run_again)
{
    char dir[64], path[256], victim[17], other_id[17];
    scratch(dir);
    first_sweep(dir, d->onepass ? ONEPASS_SPEC : DIRECT_SPEC);
    const unsigned nruns = d->onepass ? 2 : 4;
    run_ids(dir, victim, other_id);
    snprintf(path, sizeof path, "%s/res/results.csv", dir);
    char *csv = slurp(path);
    snprintf(path, sizeof path, "%s/res/results.jsonl", dir);
    char *jsonl = slurp(path);
    snprintf(path, sizeof path, "%s/res/runs/%s.json", dir, victim);
    char *orig = slurp(path);
    snprintf(path, sizeof path, "%s/res/runs/%s.json", dir, other_id);
    char *other = slurp(path);
    cr_assert(csv && jsonl && orig && other);

    /* collect: the same damage in a shard's file (a one-shard job whose
     * shard holds the local sweep's files: the bytes its task writes). */
    run_ok("\"$M\" sweep \"$D/spec.yaml\" --emit slurm \"$D/job\" --shards 1 && mkdir -p \"$D/job/shards/0\" && "
           "cp -r \"$D/res/runs\" \"$D/job/shards/0/\"",
           dir);
    char shard_file[256], want[2048], problem[512];
    snprintf(shard_file, sizeof shard_file, "%s/job/shards/0/runs/%s.json", dir, victim);
    size_t len;
    long at;
    char *bytes = damaged(d, orig, other, &len, &at);
    expand(d, orig, at, victim, other_id, problem, sizeof problem);
    apply(shard_file, bytes, len);
    int rc = prog_capture("\"$M\" sweep collect \"$D/job\"", dir, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "collect: exit %d\n%s%s", rc, out, err);
    snprintf(want, sizeof want,
             "mmusim: %s%s; run its task again (sbatch --array=0 %s/job/sweep.sbatch) to replay it\n", shard_file,
             problem, dir);
    cr_assert_str_eq(err, want);
    snprintf(path, sizeof path, "%s/job/results/results.csv", dir);
    cr_assert_neq(access(path, F_OK), 0, "a failed collect wrote %s", path);

    /* The local sweep, run again: a warning, the file moved aside, the run replayed. */
    snprintf(path, sizeof path, "%s/res/runs/%s.json", dir, victim);
    apply(path, bytes, len);
    rc = prog_capture("\"$M\" sweep \"$D/spec.yaml\" --out \"$D/res\" --jobs 2", dir, out, sizeof out, err,
                      sizeof err);
    cr_assert_eq(rc, 0, "exit %d\n%s%s", rc, out, err);
    char moved[256];
    snprintf(moved, sizeof moved, "%s/res/damaged/%s.1.json", dir, victim);
    snprintf(want, sizeof want, "mmusim: warning: %s%s; moved to %s and run again\n", path, problem, moved);
    cr_assert_str_eq(err, want);
    snprintf(want, sizeof want, "sweep: %u runs: 1 done now, %u skipped (already in %s/res/runs)\n", nruns,
             nruns - 1, dir);
    cr_assert_str_eq(out, want);

    /* Moved, not changed. */
    struct stat st;
    cr_assert_eq(stat(moved, &st), 0, "%s: missing", moved);
    if (!bytes) {
        cr_assert(S_ISDIR(st.st_mode), "%s: not the directory", moved);
    } else {
        char *got = slurp(moved);
        cr_assert_not_null(got, "%s", moved);
        cr_assert(S_ISREG(st.st_mode) && (size_t)st.st_size == len && !memcmp(got, bytes, len),
                  "%s: not the damaged file", moved);
        free(got);
    }
    /* Replayed: the run's file is the one the first sweep wrote (the
     * damaged one always differs from it), and the tables are the
     * undamaged sweep's, byte for byte. */
    assert_file_eq(path, orig, "the replayed run's file");
    snprintf(path, sizeof path, "%s/res/results.csv", dir);
    assert_file_eq(path, csv, "the undamaged sweep's results.csv");
    snprintf(path, sizeof path, "%s/res/results.jsonl", dir);
    assert_file_eq(path, jsonl, "the undamaged sweep's results.jsonl");

    /* And a third run trusts every file again. */
    rc = prog_capture("\"$M\" sweep \"$D/spec.yaml\" --out \"$D/res\" --jobs 2", dir, out, sizeof out, err,
                      sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_empty(err);
    snprintf(want, sizeof want, "sweep: %u runs: 0 done now, %u skipped", nruns, nruns);
    cr_assert_not_null(strstr(out, want), "%s", out);
    free(bytes);
    free(csv);
    free(jsonl);
    free(orig);
    free(other);
    rm_rf(dir);
}

/* ---- what is not a run file of the spec ------------------------------------ */

/* Files in runs/ that are no run's of this spec -- notes, copies, a
 * folder, a run file of a configuration the spec no longer has (here: a
 * garbage one) -- are neither read, reported nor moved. */
Test(hostile, stray_files_in_runs_are_left_alone)
{
    char dir[64], victim[17], other_id[17];
    scratch(dir);
    first_sweep(dir, DIRECT_SPEC);
    run_ids(dir, victim, other_id);
    char line[512];
    char path[256];
    snprintf(path, sizeof path, "%s/res/runs/notes.txt", dir);
    scratch_write(path, "hello\n");
    snprintf(line, sizeof line,
             "cd \"$D/res/runs\" && echo '{' >0000000000000000.json && cp %s.json %s.json.orig && mkdir old && "
             "echo x >old/%s.json",
             victim, victim, victim);
    run_ok(line, dir);
    run_ok("\"$M\" sweep \"$D/spec.yaml\" --out \"$D/res\" --jobs 2", dir);
    cr_assert_str_empty(err);
    cr_assert_not_null(strstr(out, "sweep: 4 runs: 0 done now, 4 skipped"), "%s", out);
    snprintf(line, sizeof line,
             "cd \"$D/res\" && test ! -e damaged && test \"$(cat runs/notes.txt)\" = hello && "
             "test \"$(cat runs/0000000000000000.json)\" = '{' && cmp runs/%s.json runs/%s.json.orig && "
             "test \"$(cat runs/old/%s.json)\" = x",
             victim, victim, victim);
    run_ok(line, dir);
    rm_rf(dir);
}

/* A run file damaged again after its replay goes to the next free name:
 * nothing moved aside is overwritten. */
Test(hostile, repeated_damage_keeps_every_damaged_file)
{
    char dir[64], victim[17], other_id[17], want[768];
    scratch(dir);
    first_sweep(dir, DIRECT_SPEC);
    run_ids(dir, victim, other_id);
    for (unsigned k = 1; k <= 2; k++) {
        char line[256];
        snprintf(line, sizeof line, "echo 'damage %u' >\"$D/res/runs/%s.json\"", k, victim);
        run_ok(line, dir);
        run_ok("\"$M\" sweep \"$D/spec.yaml\" --out \"$D/res\" --jobs 2", dir);
        snprintf(want, sizeof want,
                 "mmusim: warning: %s/res/runs/%s.json:1: not a run file (a JSON object); moved to "
                 "%s/res/damaged/%s.%u.json and run again\n",
                 dir, victim, dir, victim, k);
        cr_assert_str_eq(err, want);
    }
    for (unsigned k = 1; k <= 2; k++) {
        char path[256], text[16];
        snprintf(path, sizeof path, "%s/res/damaged/%s.%u.json", dir, victim, k);
        snprintf(text, sizeof text, "damage %u\n", k);
        assert_file_eq(path, text, "the damaged file");
    }
    rm_rf(dir);
}

/* collect refuses a damaged shard file and says to run its task again;
 * doing so (the task is a local sweep of the shard) moves the file aside
 * and replays the run, and collect then merges the tables a local sweep
 * writes. */
Test(hostile, shard_task_run_again_repairs_what_collect_refused)
{
    char dir[64], victim[17], other_id[17];
    scratch(dir);
    first_sweep(dir, DIRECT_SPEC);
    run_ids(dir, victim, other_id);
    /* Run 0 is shard 0's first run (round-robin). */
    char line[512];
    snprintf(line, sizeof line,
             "\"$M\" sweep \"$D/spec.yaml\" --emit slurm \"$D/job\" --shards 2 && "
             "for k in 0 1; do SLURM_ARRAY_TASK_ID=$k SLURM_CPUS_PER_TASK=1 sh \"$D/job/sweep.sbatch\" || exit; "
             "done && cd \"$D/job/shards/0/runs\" && head -c 100 %s.json >cut && mv cut %s.json",
             victim, victim);
    run_ok(line, dir);
    int rc = prog_capture("\"$M\" sweep collect \"$D/job\"", dir, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "%s", err);
    cr_assert_eq(prog_lines(err), 1, "%s", err);
    cr_assert_not_null(strstr(err, "(truncated); run its task again (sbatch --array=0 "), "%s", err);

    run_ok("SLURM_ARRAY_TASK_ID=0 SLURM_CPUS_PER_TASK=1 sh \"$D/job/sweep.sbatch\"", dir);
    cr_assert_not_null(strstr(out, "sweep: shard 0/2: 2 runs: 1 done now, 1 skipped"), "%s", out);
    char want[768];
    snprintf(want, sizeof want, "/job/shards/0/damaged/%s.1.json and run again\n", victim);
    cr_assert_not_null(strstr(err, want), "%s", err);
    run_ok("\"$M\" sweep collect \"$D/job\"", dir);
    cr_assert_str_empty(err);
    static const char *const tables[] = {"results.csv", "results.jsonl"};
    for (unsigned t = 0; t < 2; t++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/res/%s", dir, tables[t]);
        snprintf(b, sizeof b, "%s/job/results/%s", dir, tables[t]);
        char *local = slurp(a);
        cr_assert_not_null(local, "%s", a);
        assert_file_eq(b, local, "the local sweep's");
        free(local);
    }
    rm_rf(dir);
}
