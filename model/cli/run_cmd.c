/* run_cmd.c -- `mmusim run`: replay traces through the OS model and the
 * MMUs of a configured machine, then print the counters (replay.h).
 *
 * With no TRACE it replays the bundled default trace (DEFAULT_TRACE), found
 * in MMUSIM_TRACES_DIR (set at build time to the source tree's traces/),
 * then beside an installed binary (PREFIX/share/mmusim/traces), then in
 * ./traces.
 *
 * Ctrl-C: the first one stops the replay at the next check (every 64 Ki
 * records), prints the counters so far and exits with 130; the handler is
 * reset when it runs, so a second Ctrl-C kills the program at once. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "run_cmd.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/cfg.h"
#include "mmusim/replay.h"

#define DEFAULT_TRACE "sqlite3.trace.zst"
#define EXIT_OOM 3

/* Library messages: a path of PATH_MAX and the problem. */
#define ERR_LEN 4608

static const char run_usage[] =
    "usage: mmusim run [--config PRESET|FILE] [--set KEY=VALUE]... [--mode MODE]\n"
    "                  [--all | -e EVENT,...] [--json|--csv] [-I N] [--skip N]\n"
    "                  [--warmup N] [--max N] [--roi] [TRACE...]\n"
    "\n"
    "Replays the traces through the OS model (processes, page tables, page\n"
    "faults) and the MMUs of the configured machine and prints a summary of the\n"
    "counters and derived metrics in perf stat's layout.  Several traces are\n"
    "one workload: a trace with its own process events (switch, fork, mmap,\n"
    "...) keeps them; any other trace is one process (the i-th trace is pid 1000+i), on CPU i when there are enough\n"
    "CPUs (cpu.cpus), else time-sharing CPU 0 with a switch every os.quantum\n"
    "accesses.  With no TRACE, the bundled " DEFAULT_TRACE " is replayed.\n"
    "\n"
    "  --config X       a preset (mmusim config list) or a YAML file; default " CFG_DEFAULT_PRESET "\n"
    "  --set KEY=VALUE  override one configuration key (mmusim config show lists them)\n"
    "  --mode M         paging mode x86-64, la57, pae or x86-32 (= --set cpu.mode=M)\n"
    "  --all            print every counter (also per CPU, cpuN.*, and per process,\n"
    "                   pidN.*) and every derived metric\n"
    "  -e EVENT,...     print these counters or metrics, in this order, as perf stat\n"
    "                   -e does (repeatable; a pattern such as 'pwc.*' prints every\n"
    "                   one it matches); an unknown one is an error\n"
    "  --json, --csv    print every counter, metric and the configuration as JSON\n"
    "                   or CSV (model/README.md, \"Report schema\")\n"
    "  -I N             instead, print CSV rows: one every N accesses with the\n"
    "                   counters of that interval (columns interval, accesses and\n"
    "                   cycles are running totals), the last row for the rest\n"
    "  --skip N         first N units drive only the OS model (page tables built,\n"
    "                   faults handled; no TLB or cache state, no time, no counters)\n"
    "  --warmup N       then N units run the full model; their counters are dropped\n"
    "  --max N          then measure at most N units, and stop\n"
    "  --roi            skip everything before the trace's ROI begin marker (then\n"
    "                   --skip, --warmup, --max count from it); the ROI end marker\n"
    "                   ends the run; a trace without a begin marker is an error\n"
    "  TRACE            a trace file (mmusim trace ...); '-' reads standard input\n"
    "\n"
    "Units are instructions when every trace carries instruction counts (lackey\n"
    "traces do), else accesses; N takes the suffixes K, M, G (10^3, 10^6, 10^9).\n"
    "The report, and -I's rows, cover only the measured part.  The traces ending\n"
    "before it begins is an error.\n"
    "\n"
    "A progress line is drawn on stderr when it is a terminal.  Ctrl-C stops the\n"
    "replay and prints the counters so far; a second Ctrl-C kills it.\n"
    "\n"
    "Exit status: 0 replayed; 1 the report could not be written to standard\n"
    "output (a closed pipe, a full disk); 2 bad arguments, configuration or trace\n"
    "(one line on stderr); 3 physical memory ran out under os.exhaustion=stop (the\n"
    "counters up to that access are printed); 130 interrupted (the counters so\n"
    "far are printed).\n";

static volatile sig_atomic_t stop_flag;

/* replay_opts.progress: the bar, erased before the report is written. */
static void draw(const replay_progress *p, void *ctx)
{
    if (p->end)
        cli_progress_erase(ctx);
    else
        cli_progress_draw(ctx, p->accesses, p->total, "accesses", false);
}

static bool readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The bundled default trace, or die naming where it was looked for. */
static const char *default_trace(char *buf, size_t len)
{
#ifdef MMUSIM_TRACES_DIR
    snprintf(buf, len, "%s/%s", MMUSIM_TRACES_DIR, DEFAULT_TRACE);
    if (readable(buf))
        return buf;
#endif
    /* An installed binary: PREFIX/bin/mmusim -> PREFIX/share/mmusim/traces. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, len, "%s/../share/mmusim/traces/%s", exe, DEFAULT_TRACE);
            if (readable(buf))
                return buf;
        }
    }
    snprintf(buf, len, "traces/%s", DEFAULT_TRACE);
    if (readable(buf))
        return buf;
    die("run: the default trace %s is not installed; name a trace (see mmusim run --help)", DEFAULT_TRACE);
}

static uint64_t parse_interval(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = (*s >= '0' && *s <= '9') ? strtoull(s, &end, 0) : 0;
    if (!(*s >= '0' && *s <= '9') || errno || *end || v == 0)
        die("run: -I %s: expected a number of accesses, at least 1", s);
    return v;
}

/* --skip/--warmup/--max N (replay_parse_count); --max must be at least 1. */
static uint64_t parse_phase(const char *opt, const char *s)
{
    uint64_t v;
    if (replay_parse_count(s, &v) != 0)
        die("run: %s %s: expected a count: " REPLAY_COUNT_SYNTAX, opt, s);
    if (v == 0 && !strcmp(opt, "--max"))
        die("run: --max 0: expected a count of at least 1");
    return v;
}

/* The report's title: the traces, as perf names the command it ran. */
static char *join_title(const char *const *traces, unsigned n)
{
    size_t len = 1;
    for (unsigned i = 0; i < n; i++)
        len += strlen(traces[i]) + 1;
    char *title = malloc(len);
    if (!title)
        die("run: out of memory");
    title[0] = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            strcat(title, " ");
        strcat(title, traces[i]);
    }
    return title;
}

/* The -e values split at commas, in order: an array of names (its
 * strings in *buf, one allocation). */
#define MAX_EVENT_OPTS 64

static const char **split_events(const char *const *vals, unsigned n, unsigned *count, char **buf)
{
    size_t len = 1;
    for (unsigned i = 0; i < n; i++)
        len += strlen(vals[i]) + 1;
    char *b = malloc(len);
    const char **ev = malloc(len * sizeof *ev);   /* at most one name per byte */
    if (!b || !ev)
        die("run: out of memory");
    unsigned k = 0;
    char *p = b;
    for (unsigned i = 0; i < n; i++) {
        strcpy(p, vals[i]);
        for (char *name = p;; ) {
            char *comma = strchr(name, ',');
            if (comma)
                *comma = 0;
            if (!*name)
                die("run: -e %s: an empty event name", vals[i]);
            ev[k++] = name;
            if (!comma)
                break;
            name = comma + 1;
        }
        p += strlen(vals[i]) + 1;
    }
    *count = k;
    *buf = b;
    return ev;
}

int cmd_run(int argc, char **argv)
{
    common_opts co = {0};
    const char *json = NULL, *csv = NULL, *interval_s = NULL, *skip_s = NULL, *warmup_s = NULL, *max_s = NULL,
               *roi = NULL;
    const char *all = NULL;
    const char *event_vals[MAX_EVENT_OPTS];
    unsigned nevent_vals = 0;
    const cli_opt opts[] = {
        CLI_COMMON_OPTS(&co),
        {.name = "--all", .val = &all},
        {.name = "-e", .alias = "--event", .nvals = 1, .list = event_vals, .count = &nevent_vals,
         .max = MAX_EVENT_OPTS, .need = {"event names (EVENT,...)"}},
        {.name = "--json", .val = &json},
        {.name = "--csv", .val = &csv},
        {.name = "-I", .alias = "--interval", .nvals = 1, .val = &interval_s, .need = {"a number of accesses"}},
        {.name = "--skip", .nvals = 1, .val = &skip_s, .need = {"a count"}},
        {.name = "--warmup", .nvals = 1, .val = &warmup_s, .need = {"a count"}},
        {.name = "--max", .nvals = 1, .val = &max_s, .need = {"a count"}},
        {.name = "--roi", .val = &roi},
        {0},
    };
    const cli_cmd cmd = {.name = "run", .usage = run_usage, .opts = opts, .maxpos = -1};
    unsigned ntraces = (unsigned)cli_parse(&cmd, argc, argv, NULL);
    if (json && csv)
        die("run: --json and --csv exclude each other");
    report_format fmt = json ? REPORT_JSON : csv ? REPORT_CSV : REPORT_TEXT;
    uint64_t interval = interval_s ? parse_interval(interval_s) : 0;
    if (interval && json)
        die("run: -I writes CSV rows; it cannot be combined with --json");
    uint64_t skip = skip_s ? parse_phase("--skip", skip_s) : 0;
    uint64_t warmup = warmup_s ? parse_phase("--warmup", warmup_s) : 0;
    uint64_t max = max_s ? parse_phase("--max", max_s) : 0;
    if (all && nevent_vals)
        die("run: --all and -e exclude each other");
    if ((all || nevent_vals) && (json || csv || interval))
        die("run: %s chooses the text report's lines; --json, --csv and -I carry every counter",
            all ? "--all" : "-e");
    char *event_buf = NULL;
    unsigned nevents = 0;
    const char **events = nevent_vals ? split_events(event_vals, nevent_vals, &nevents, &event_buf) : NULL;

    mm_config cfg;
    load_config(&co, &cfg);
    /* The traces: the positional arguments, or the bundled default. */
    char def[PATH_MAX + 64];
    const char *def_trace[1];
    const char *const *traces = (const char *const *)argv + 1;
    if (!ntraces) {
        def_trace[0] = default_trace(def, sizeof def);
        traces = def_trace;
        ntraces = 1;
    }

    char *title = join_title(traces, ntraces);

    cli_catch_sigint(&stop_flag);
    cli_progress bar;
    cli_progress_start(&bar);

    replay_opts o = {
        .traces = traces,
        .ntraces = ntraces,
        .format = interval ? REPORT_CSV : fmt,
        .interval = interval,
        .progress = isatty(STDERR_FILENO) == 1 ? draw : NULL,
        .progress_ctx = &bar,
        .out = stdout,
        .stop = &stop_flag,
        .title = title,
        .skip = skip,
        .warmup = warmup,
        .max = max,
        .roi = roi != NULL,
        .view = events ? REPORT_EVENTS : all ? REPORT_ALL : REPORT_SUMMARY,
        .events = events,
        .nevents = nevents,
    };
    char err[ERR_LEN];
    replay_status st = replay_run(&cfg, &o, err, sizeof err);
    cli_progress_erase(&bar);   /* a replay that failed before its loop */
    free(title);
    free(events);
    free(event_buf);
    switch (st) {
    case REPLAY_DONE:
        return 0;
    case REPLAY_STOPPED:
        fputs("mmusim: interrupted: the counters above are those up to the interruption\n", stderr);
        return EXIT_INTERRUPTED;
    case REPLAY_OOM:
        /* Under reclaim this means nothing evictable was left (kernel,
         * page-table and shared pages are not reclaimed). */
        fprintf(stderr,
                "mmusim: out of physical memory (os.phys_mem_mib=%u, os.exhaustion=%s%s): the replay stopped; "
                "the counters above are those up to that access\n",
                cfg.os.phys_mem_mib, exhaust_policy_name(cfg.os.exhaustion),
                cfg.os.exhaustion == EXHAUST_RECLAIM ? ", nothing left to reclaim" : "");
        return EXIT_OOM;
    case REPLAY_ERROR:
    default:
        if (cli_stdout_failed())
            exit(EXIT_OUTPUT_FAILED);   /* the report was cut short: said at exit (cli.h) */
        die("%s", err);
    }
}
