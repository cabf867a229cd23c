/* sweep_cmd.c -- `mmusim sweep SPEC.yaml`: expand a sweep spec into runs
 * and replay the missing ones on a pool of worker processes (sweep.h).
 *
 * The spec is loaded and checked completely before anything runs.  Runs
 * already in OUT/runs are skipped, so re-running a spec after an
 * interruption (Ctrl-C, kill -9, a lost node) finishes it. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "sweep_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/sweep.h"

static const char sweep_usage[] =
    "usage: mmusim sweep SPEC.yaml [--jobs N] [--out DIR]\n"
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
    "  --jobs N   worker processes (default: the number of online CPUs)\n"
    "  --out DIR  output folder (default: SPEC without .yaml, plus -results)\n"
    "\n"
    "Output: DIR/runs/ID.json, one per finished run (ID: 16 hex digits hashing\n"
    "the effective config and the trace's content); DIR/results.csv and\n"
    "DIR/results.jsonl, one row per finished run, rebuilt as runs finish.  Runs\n"
    "whose file exists are skipped, so re-running an interrupted sweep finishes\n"
    "it.  A progress line is drawn on stderr when it is a terminal.\n"
    "\n"
    "Exit status: 0 every run is done; 2 bad spec, arguments or trace (one line\n"
    "on stderr); 130 interrupted by Ctrl-C (finished runs are kept).\n";

static volatile sig_atomic_t stop_flag;

static unsigned parse_jobs(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = (*s >= '0' && *s <= '9') ? strtoul(s, &end, 10) : 0;
    if (!(*s >= '0' && *s <= '9') || errno || *end || v == 0 || v > 4096)
        die("sweep: --jobs %s: expected a number of worker processes, 1..4096", s);
    return (unsigned)v;
}

static void draw(const sweep_progress *p, void *ctx)
{
    cli_progress *bar = ctx;
    cli_progress_draw(bar, p->done, p->total - p->skipped, "runs", p->done + p->skipped == p->total);
}

int cmd_sweep(int argc, char **argv)
{
    const char *spec_path = NULL, *out = NULL;
    unsigned jobs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(sweep_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--jobs") || !strcmp(a, "-j") || !strcmp(a, "--out")) {
            if (i + 1 >= argc)
                die("sweep: %s needs a value", a);
            if (a[2] == 'o')
                out = argv[++i];
            else
                jobs = parse_jobs(argv[++i]);
        } else if (!strncmp(a, "--jobs=", 7)) {
            jobs = parse_jobs(a + 7);
        } else if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else if (a[0] == '-' && a[1] != 0) {
            die("sweep: unknown option '%s' (see mmusim sweep --help)", a);
        } else if (spec_path) {
            die("sweep: one spec at a time ('%s' and '%s')", spec_path, a);
        } else {
            spec_path = a;
        }
    }
    if (!spec_path)
        die("sweep: name a spec file (see mmusim sweep --help)");
    if (out && !*out)
        die("sweep: --out needs a folder");
    if (!jobs) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (unsigned)n : 1;
    }

    char err[8192];
    sweep_spec *spec = sweep_spec_load(spec_path, err, sizeof err);
    if (!spec)
        die("%s", err);
    char *def = out ? NULL : sweep_default_out(spec_path);
    if (!out && !def)
        die("sweep: out of memory");

    cli_catch_sigint(&stop_flag);
    cli_progress bar;
    cli_progress_start(&bar);
    sweep_opts o = {
        .out_dir = out ? out : def,
        .jobs = jobs,
        .stop = &stop_flag,
        .progress = isatty(STDERR_FILENO) == 1 ? draw : NULL,
        .ctx = &bar,
    };
    sweep_progress c;
    sweep_status st = sweep_run(spec, &o, &c, err, sizeof err);
    cli_progress_erase(&bar);
    sweep_spec_free(spec);
    if (st == SWEEP_ERROR) {
        free(def);
        die("%s", err);
    }
    printf("sweep: %zu runs: %zu done now, %zu skipped (already in %s/runs)%s\n", c.total, c.done, c.skipped,
           o.out_dir, st == SWEEP_STOPPED ? ", interrupted" : "");
    free(def);
    if (st == SWEEP_STOPPED) {
        fputs("mmusim: interrupted: finished runs are kept; run the same command to finish the sweep\n", stderr);
        return EXIT_INTERRUPTED;
    }
    return 0;
}
