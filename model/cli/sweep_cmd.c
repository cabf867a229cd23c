/* sweep_cmd.c -- `mmusim sweep SPEC.yaml`: expand a sweep spec into runs
 * and replay the missing ones on a pool of worker processes (sweep.h).
 *
 * The spec is loaded and checked completely before anything runs.  Runs
 * already in OUT/runs are skipped, so re-running a spec after an
 * interruption (Ctrl-C, kill -9, a lost node) finishes it.  `--shard K/N`
 * runs one shard of the runs; `--emit slurm DIR` and `collect DIR` (a sweep
 * as a Slurm job array of shards) live in sweep_slurm.c. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "sweep_cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/sweep.h"
#include "sweep_pool.h"
#include "sweep_slurm.h"

static const char sweep_usage[] =
    "usage: mmusim sweep SPEC.yaml [--jobs N] [--out DIR] [--shard K/N]\n"
    "       mmusim sweep SPEC.yaml --emit slurm DIR [--shards N] [--cpus-per-task N]\n"
    "       mmusim sweep collect DIR [--partial]\n"
    "\n"
    "Replays every trace of the spec on every point of its parameter space and\n"
    "writes one result per run.  The spec (experiments/README.md):\n"
    "\n"
    "  traces: [a.trace.zst, ...]    trace files, relative to the spec's folder\n"
    "  config: PRESET|FILE           the base configuration (default " CFG_DEFAULT_PRESET ")\n"
    "  set:    {KEY: VALUE, ...}     overrides of the base\n"
    "  params: {KEY: [V1, V2], ...}  swept keys: the cartesian product\n"
    "  zip:    [{K1: [..], K2: [..]}, ...]\n"
    "                                groups of equal-length lists varied together,\n"
    "                                each group one more dimension of the product\n"
    "\n"
    "  --jobs N     worker processes (default: the number of online CPUs)\n"
    "  --out DIR    output folder (default: SPEC without .yaml, plus -results)\n"
    "  --shard K/N  only shard K (0..N-1) of N: the runs i, counted from 0 in run\n"
    "               order, with i mod N = K (what one Slurm array task runs)\n"
    "\n"
    "Output: DIR/runs/ID.json, one per finished run (ID: 16 hex digits hashing\n"
    "the effective config and the trace's content); DIR/results.csv and\n"
    "DIR/results.jsonl, one row per finished run, rebuilt as runs finish.  Runs\n"
    "whose file exists are skipped, so re-running an interrupted sweep finishes\n"
    "it.  A run file that is not its run's (truncated, edited, another run's)\n"
    "is moved to DIR/damaged/ID.N.json with a warning, and its run replayed.\n"
    "A progress line is drawn on stderr when it is a terminal.\n"
    "\n"
    "On a Slurm cluster (experiments/README.md, \"Running a sweep on a Slurm\n"
    "cluster\"); the spec, its traces and this program must be at the same\n"
    "paths on the compute nodes:\n"
    "\n"
    "  --emit slurm DIR    run nothing; write DIR/sweep.sbatch, a job array with\n"
    "                      one task per shard, and DIR/manifest.json (the spec's\n"
    "                      path and content hash, each shard's run ids).  Task K\n"
    "                      runs `mmusim sweep SPEC --shard K/N --out DIR/shards/K\n"
    "                      --jobs CPUS`, logging to DIR/logs/JOBID_K.out|err.\n"
    "                      Submit with `sbatch DIR/sweep.sbatch`.\n"
    "  --shards N          array tasks (default: one per 16 runs, at most 1000)\n"
    "  --cpus-per-task N   each task's CPUs and worker processes (default 1)\n"
    "  collect DIR         check DIR/manifest.json, then merge the shards' run\n"
    "                      files into DIR/results: runs/, results.csv and\n"
    "                      results.jsonl, the same bytes a local sweep writes.\n"
    "                      Runs without a result are an error naming their\n"
    "                      shards, unless --partial (the tables leave them out);\n"
    "                      a damaged run file is an error (run its task again).\n"
    "\n"
    "Exit status: 0 every run is done (collect: merged); 1 standard output could\n"
    "not be written; 2 bad spec, arguments, trace, manifest or run file, or a file\n"
    "in DIR that could not be written (one line on stderr; a spec's errors one\n"
    "line each, all of them, then their count); 130 interrupted by Ctrl-C\n"
    "(finished runs are kept).\n";

static volatile sig_atomic_t stop_flag;

/* A whole number 1..max given to option `opt`. */
static unsigned parse_count(const char *opt, const char *s, unsigned long max, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = (*s >= '0' && *s <= '9') ? strtoul(s, &end, 10) : 0;
    if (!(*s >= '0' && *s <= '9') || errno || *end || v == 0 || v > max)
        die("sweep: %s %s: expected %s, 1..%lu", opt, s, what, max);
    return (unsigned)v;
}

/* --shard K/N: 0 <= K < N. */
static void parse_shard(const char *s, unsigned *k, unsigned *n)
{
    char *end;
    unsigned long a = 0, b = 0;
    bool ok = *s >= '0' && *s <= '9';
    if (ok) {
        errno = 0;
        a = strtoul(s, &end, 10);
        ok = !errno && *end == '/' && end[1] >= '0' && end[1] <= '9';
    }
    if (ok) {
        b = strtoul(end + 1, &end, 10);
        ok = !errno && !*end && b >= 1 && b <= 1000000 && a < b;
    }
    if (!ok)
        die("sweep: --shard %s: expected K/N, shard K (0..N-1) of N shards", s);
    *k = (unsigned)a;
    *n = (unsigned)b;
}

static void draw(const sweep_pool_counts *p, void *ctx)
{
    cli_progress *bar = ctx;
    cli_progress_draw(bar, p->done, p->total - p->skipped, "runs", p->done + p->skipped == p->total);
}

/* sweep_pool_opts.warn: a damaged run file, moved aside; its run is replayed. */
static void warn_damaged(const char *line, void *ctx)
{
    cli_progress_erase(ctx);
    fprintf(stderr, "mmusim: warning: %s and run again\n", line);
}

/* `mmusim sweep collect DIR [--partial]` */
static int sweep_collect(int argc, char **argv)
{
    const char *partial = NULL;
    const cli_opt opts[] = {{.name = "--partial", .val = &partial}, {0}};
    const cli_cmd cmd = {.name = "sweep collect", .usage = sweep_usage, .opts = opts, .maxpos = 1};
    if (!cli_parse(&cmd, argc, argv, NULL) || !*argv[1])
        die("sweep collect: name the folder of `--emit slurm DIR` (see mmusim sweep --help)");
    return slurm_collect(argv[1], partial != NULL);
}

/* `mmusim sweep SPEC ...`'s arguments, checked. */
typedef struct sweep_args {
    const char *spec;
    const char *out;                /* NULL: the default beside the spec */
    unsigned jobs;                  /* >= 1 */
    unsigned shard_k, shard_n;      /* --shard K/N; 0/0: every run */
    bool emit;                      /* --emit slurm DIR: eo is what to write */
    slurm_emit_opts eo;
} sweep_args;

static void parse_sweep(int argc, char **argv, sweep_args *a)
{
    const char *jobs_s = NULL, *shard_s = NULL, *shards_s = NULL, *cpus_s = NULL;
    const char *emit[2] = {NULL, NULL};   /* --emit KIND DIR: KIND first, so another cluster's kind can follow */
    const cli_opt opts[] = {
        {.name = "--jobs", .alias = "-j", .nvals = 1, .val = &jobs_s},
        {.name = "--out", .nvals = 1, .val = &a->out},
        {.name = "--shard", .nvals = 1, .val = &shard_s},
        {.name = "--shards", .nvals = 1, .val = &shards_s},
        {.name = "--cpus-per-task", .nvals = 1, .val = &cpus_s},
        {.name = "--emit", .nvals = 2, .val = emit,
         .need = {"a kind and a folder: --emit slurm DIR", "a folder: --emit slurm DIR"}},
        {0},
    };
    const cli_cmd cmd = {.name = "sweep", .usage = sweep_usage, .opts = opts, .maxpos = 1};
    if (!cli_parse(&cmd, argc, argv, NULL))
        die("sweep: name a spec file (see mmusim sweep --help)");
    a->spec = argv[1];
    a->jobs = jobs_s ? parse_count("--jobs", jobs_s, 4096, "a number of worker processes") : 0;
    if (shard_s)
        parse_shard(shard_s, &a->shard_k, &a->shard_n);
    a->emit = emit[0] != NULL;
    a->eo = (slurm_emit_opts){
        .dir = emit[1],
        .shards = shards_s ? parse_count("--shards", shards_s, 1000000, "a number of array tasks") : 0,
        .cpus = cpus_s ? parse_count("--cpus-per-task", cpus_s, 4096, "a number of CPUs") : 0,
    };
    if (a->emit && strcmp(emit[0], "slurm"))
        die("sweep: --emit %s: unknown kind (the one kind is slurm: --emit slurm DIR)", emit[0]);
    if (a->emit && !*emit[1])
        die("sweep: --emit slurm needs a folder: --emit slurm DIR");
    if (a->out && !*a->out)
        die("sweep: --out needs a folder");
    if (a->emit && (a->out || a->jobs || a->shard_n))
        die("sweep: --emit slurm takes no %s: the tasks write to DIR/shards, with --jobs = --cpus-per-task",
            a->out ? "--out" : a->jobs ? "--jobs" : "--shard");
    if (!a->emit && (a->eo.shards || a->eo.cpus))
        die("sweep: %s goes with --emit slurm DIR", a->eo.shards ? "--shards" : "--cpus-per-task");
    if (!a->jobs) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a->jobs = n > 0 ? (unsigned)n : 1;
    }
}

/* Run the spec's missing runs here, on the pool; the exit status. */
static int sweep_local(const sweep_spec *spec, const sweep_args *a)
{
    char *def = a->out ? NULL : sweep_default_out(a->spec);
    if (!a->out && !def)
        die("sweep: out of memory");
    cli_catch_sigint(&stop_flag);
    cli_progress bar;
    cli_progress_start(&bar);
    sweep_pool_opts o = {
        .out_dir = a->out ? a->out : def,
        .jobs = a->jobs,
        .stop = &stop_flag,
        .progress = isatty(STDERR_FILENO) == 1 ? draw : NULL,
        .warn = warn_damaged,
        .ctx = &bar,
        .shard_index = a->shard_k,
        .shard_count = a->shard_n,
    };
    sweep_pool_counts c;
    char err[8192];
    sweep_status st = sweep_pool_run(spec, &o, &c, err, sizeof err);
    cli_progress_erase(&bar);
    if (st == SWEEP_ERROR)
        die("%s", err);
    char shard[48] = "";
    if (a->shard_n)
        snprintf(shard, sizeof shard, " shard %u/%u:", a->shard_k, a->shard_n);
    printf("sweep:%s %zu runs: %zu done now, %zu skipped (already in %s/runs)%s\n", shard, c.total, c.done,
           c.skipped, o.out_dir, st == SWEEP_STOPPED ? ", interrupted" : "");
    free(def);
    if (st == SWEEP_STOPPED) {
        fputs("mmusim: interrupted: finished runs are kept; run the same command to finish the sweep\n", stderr);
        return EXIT_INTERRUPTED;
    }
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "collect"))
        return sweep_collect(argc - 1, argv + 1);
    sweep_args a = {0};
    parse_sweep(argc, argv, &a);
    char err[8192];
    sweep_spec *spec = sweep_spec_load(a.spec, err, sizeof err);
    if (!spec)
        die("%s", err);
    int status = 0;
    if (a.emit)
        slurm_emit(spec, a.spec, &a.eo);
    else
        status = sweep_local(spec, &a);
    sweep_spec_free(spec);
    return status;
}
