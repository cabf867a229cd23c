/* trace_cmd.c -- `mmusim trace`: make, convert and look at trace files.
 *
 *   mmusim trace import   lackey, ChampSim or text into a trace file
 *   mmusim trace export   a trace as text
 *   mmusim trace record   run a command under valgrind's lackey into a trace file
 *   mmusim trace gen      a synthetic trace
 *   mmusim trace info     a trace's summary
 *   mmusim trace cat      records of a trace as text
 *
 * Every reader takes "-" for standard input and every writer "-o -" for
 * standard output.  A trace file is written to OUT.tmp and renamed to OUT
 * when complete; on any error the temporary file is removed, so no OUT is
 * left that looks complete and is not.  Trace writers are opened at the
 * first record (or at the end of an empty trace), once the producer has set
 * the metadata the header carries, so an input that cannot be read leaves
 * no file at all.
 *
 * Errors end with exit status 2 and one line on stderr; the library's
 * messages name the file and the offset or line.  An output that fails (a
 * closed pipe, a full disk, a file that cannot be created) ends with status
 * 1 and one line saying why: for stdout, cli_output_init's at exit.
 *
 * SIGINT, SIGTERM and SIGHUP while OUT.tmp exists remove it and then kill
 * the program with the same signal (status 128 + N, as a shell reports
 * it): the handler unlinks the one registered path and re-raises, so it
 * works wherever the program is, blocked reading a pipe included. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "trace_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmusim/trace.h"
#include "mmusim/replay.h"
#include "mmusim/trace_gen.h"
#include "mmusim/trace_import.h"
#include "trace_record.h"

#define RECORDER CLI_VERSION

/* Library messages: a path of PATH_MAX and the problem. */
#define ERR_LEN 4608


/* ---- usage texts ---- */

static const char trace_usage[] =
    "usage: mmusim trace import --from lackey|champsim|text IN -o OUT\n"
    "       mmusim trace export --text IN [-o OUT]\n"
    "       mmusim trace record -o OUT -- CMD [ARGS...]\n"
    "       mmusim trace gen PATTERN [OPTIONS] -o OUT\n"
    "       mmusim trace info FILE\n"
    "       mmusim trace cat FILE [--from N] [--count M]\n"
    "\n"
    "import  convert a valgrind lackey log, a ChampSim trace or a text trace\n"
    "export  write a trace as text (the format 'import --from text' reads)\n"
    "record  run a command under valgrind's lackey and keep its accesses\n"
    "gen     generate a synthetic trace (see mmusim trace gen --help)\n"
    "info    summarize a trace: records, accesses, footprint, processes\n"
    "cat     print records of a trace as text\n"
    "\n"
    "IN, FILE: '-' reads standard input.  OUT: '-' writes standard output (not\n"
    "with record); a file is written to OUT.tmp and renamed to OUT when complete.\n"
    "\n"
    "Exit status: 0 ok; 1 the output could not be written (a closed pipe, a full\n"
    "disk, OUT cannot be created); 2 bad arguments or input; 128+N killed by\n"
    "signal N (SIGINT 130, SIGTERM 143).  No OUT.tmp remains, and OUT is only\n"
    "ever complete: on status 1 or 2 it is left as it was.\n";

static const char import_usage[] =
    "usage: mmusim trace import --from lackey|champsim|text IN -o OUT\n"
    "\n"
    "Converts IN ('-' = standard input) into the trace file OUT ('-' = standard\n"
    "output):\n"
    "  lackey    valgrind --tool=lackey --trace-mem=yes output\n"
    "  champsim  a ChampSim binary trace, raw, xz or gzip\n"
    "  text      mmusim's text format, as 'trace export --text' writes it\n"
    "\n"
    "Exit status: 0 ok; 1 the output could not be written (a closed pipe, a full\n"
    "disk, OUT cannot be created); 2 bad arguments or input (the message names\n"
    "the line or offset); 128+N killed by signal N (SIGINT 130, SIGTERM 143).\n"
    "No OUT.tmp remains, and OUT is only ever complete: on status 1 or 2 it is\n"
    "left as it was.\n";

static const char export_usage[] =
    "usage: mmusim trace export --text IN [-o OUT]\n"
    "\n"
    "Writes the trace IN ('-' = standard input) as text: one record per line,\n"
    "after comment lines with its source and command.  The output goes to\n"
    "standard output, or to OUT (written to OUT.tmp, renamed when complete).\n"
    "\n"
    "Exit status: 0 ok; 1 the output could not be written (a closed pipe, a full\n"
    "disk, OUT cannot be created); 2 bad arguments or input; 128+N killed by\n"
    "signal N (SIGINT 130, SIGTERM 143).  No OUT.tmp remains, and OUT is only\n"
    "ever complete: on status 1 or 2 it is left as it was.\n";

static const char record_usage[] =
    "usage: mmusim trace record -o OUT [--roi] [--skip N] [--max N] [--threads] -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD under valgrind --tool=lackey --trace-mem=yes --trace-children=yes\n"
    "and streams its memory accesses into the trace file OUT.  CMD's standard\n"
    "streams are mmusim's own (so OUT cannot be '-').  A command that exits with\n"
    "a nonzero status still gives a complete trace (a note says so on stderr).\n"
    "valgrind follows exec, so a script's (#!) or a shim's (env, nice, ...)\n"
    "program is traced too -- after the interpreter or the shim itself, in the\n"
    "same trace: a warning on stderr says so.  The program's region-of-interest\n"
    "markers (VALGRIND_PRINTF \"mmusim-roi-begin\" / \"mmusim-roi-end\", see\n"
    "traces/workloads/roi.h) become ROI records (mmusim run --roi uses them).\n"
    "\n"
    "  --roi      keep only the first region of interest, from its begin marker\n"
    "             to its end marker (both kept); nothing without a begin marker\n"
    "  --skip N   drop the first N instructions (with --roi: after the begin)\n"
    "  --max N    then keep at most N instructions and drop the rest\n"
    "  --threads  one CPU per thread: valgrind's thread N (1 = main) on CPU N-1,\n"
    "             all in one process (valgrind --trace-sched=yes says which thread\n"
    "             runs; valgrind runs one at a time, so the trace is its serial\n"
    "             schedule); replay with --set cpu.cpus=T or more for T threads\n"
    "N takes the suffixes K, M, G (10^3, 10^6, 10^9) and counts the instructions\n"
    "of every thread.  What is dropped is lost to\n"
    "the replay (its pages are first touched later); to warm up on it instead,\n"
    "record everything and use mmusim run --roi/--skip/--warmup.  A progress line\n"
    "is drawn on stderr when it is a terminal.\n"
    "\n"
    "Exit status: 0 ok (whatever CMD's own status); 1 OUT could not be written\n"
    "(a full disk, OUT cannot be created); 2 bad arguments, valgrind or CMD could\n"
    "not run, CMD was killed by a signal, or lackey's log is malformed; 128+N\n"
    "mmusim was killed by signal N (SIGINT 130, SIGTERM 143; valgrind and CMD\n"
    "are killed too).  No OUT.tmp remains, and OUT is only ever complete: on\n"
    "status 1 or 2 it is left as it was.\n";

static const char info_usage[] =
    "usage: mmusim trace info FILE\n"
    "\n"
    "Reads the whole trace FILE ('-' = standard input) and prints 'key: value'\n"
    "lines: its metadata, records by kind, accesses by kind and privilege,\n"
    "instructions, events by kind, the footprint in distinct 4 KiB, 2 MiB and\n"
    "1 GiB pages (per address space), the processes and CPUs seen, and for a\n"
    "file its size and bytes per access.\n"
    "\n"
    "Exit status: 0 ok; 1 standard output could not be written (a closed pipe,\n"
    "a full disk); 2 bad arguments or input.\n";

static const char cat_usage[] =
    "usage: mmusim trace cat FILE [--from N] [--count M]\n"
    "\n"
    "Prints records of the trace FILE ('-' = standard input) in the text format,\n"
    "one per line: M records (default: all) from record N (0-based, default 0).\n"
    "A file is positioned with its seek index; standard input is read up to N.\n"
    "\n"
    "Exit status: 0 ok; 1 standard output could not be written (a closed pipe,\n"
    "a full disk: printing stops there); 2 bad arguments or input.\n";

/* gen's usage: the patterns and options come from trace_gen's tables. */
static void gen_usage(FILE *f)
{
    fputs("usage: mmusim trace gen PATTERN [--OPTION VALUE]... -o OUT\n"
          "\n"
          "Writes a synthetic trace to OUT ('-' = standard output).  The same\n"
          "pattern and options (--seed included) give the same trace.\n"
          "\n"
          "patterns:\n",
          f);
    for (int p = 0; p < TG_PATTERN_COUNT; p++)
        fprintf(f, "  %-13s%s\n", trace_gen_pattern_name(p), trace_gen_pattern_help(p));
    fputs("\noptions (SIZE takes the suffixes K, M, G, T: powers of two):\n", f);
    size_t n;
    const trace_gen_param *params = trace_gen_params(&n);
    for (size_t i = 0; i < n; i++) {
        static const char *const meta[] = {"SIZE", "N", "N", "X", "PATTERN"};
        char lhs[48];
        snprintf(lhs, sizeof lhs, "--%s %s", params[i].name, meta[params[i].type]);
        fprintf(f, "  %-26s%s\n", lhs, params[i].help);
    }
    fputs("\nExit status: 0 ok; 1 the output could not be written (a closed pipe, a full\n"
          "disk, OUT cannot be created); 2 bad arguments; 128+N killed by signal N\n"
          "(SIGINT 130, SIGTERM 143).  No OUT.tmp remains, and OUT is only ever\n"
          "complete: on status 1 or 2 it is left as it was.\n",
          f);
}

/* ---- argument parsing, shared by the subcommands ---- */

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Parse (cli_args.h); the one positional argument, named `what`. */
static const char *one_input(const cli_cmd *c, int argc, char **argv, const char *what)
{
    if (cli_parse(c, argc, argv, NULL) != 1)
        die("%s: expected one %s (see mmusim %s --help)", c->name, what, c->name);
    return argv[1];
}

static uint64_t parse_count(const char *cmd, const char *name, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = (*s >= '0' && *s <= '9') ? strtoull(s, &end, 0) : 0;
    if (!(*s >= '0' && *s <= '9') || errno || *end)
        die("%s: %s %s: expected a non-negative integer", cmd, name, s);
    return v;
}

static trace_reader *open_reader(const char *path)
{
    char err[ERR_LEN];
    trace_reader *r = trace_reader_open(path, err, sizeof err);
    if (!r)
        die("%s", err);
    return r;
}

/* The exit status once a text output to stdout is done: 1 if it failed
 * (a closed pipe, a full disk); the message comes at exit (cli.h). */
static int stdout_status(void)
{
    fflush(stdout);
    return cli_stdout_failed() ? EXIT_OUTPUT_FAILED : 0;
}

/* The output failed (status 1, one line): for standard output the line
 * comes at exit (cli_output_init) with the reason e, else it is msg. */
static void output_failed(bool to_stdout, int e, const char *msg) __attribute__((noreturn));
static void output_failed(bool to_stdout, int e, const char *msg)
{
    if (to_stdout) {
        errno = e;
        if (cli_stdout_failed())
            exit(EXIT_OUTPUT_FAILED);
    }
    fprintf(stderr, "mmusim: %s\n", msg);
    exit(EXIT_OUTPUT_FAILED);
}

/* ---- OUT.tmp and fatal signals ----
 *
 * While a temporary file exists, SIGINT, SIGTERM and SIGHUP run
 * tmp_signal, which removes it and re-raises the signal with its default
 * action.  Creating the file and registering it happen with those signals
 * blocked (tmp_block), and so do completing it (rename) and unregistering
 * it, so that no signal finds the file unregistered or the name already
 * reused; a signal that comes while the file is completed kills the
 * program once OUT is complete.  A signal ignored when mmusim started
 * (nohup, a background job) stays ignored. */

static const int tmp_sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGS (sizeof tmp_sigs / sizeof tmp_sigs[0])
static char tmp_name[ERR_LEN];
static volatile sig_atomic_t tmp_armed;
static struct sigaction tmp_old[NSIGS];

/* Only async-signal-safe calls: unlink, sigaction, raise. */
static void tmp_signal(int sig)
{
    if (tmp_armed)
        unlink(tmp_name);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);   /* blocked until the handler returns, then fatal */
}

static void tmp_block(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < NSIGS; i++)
        sigaddset(&set, tmp_sigs[i]);
    sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* Register `path` (NULL: nothing to remove); call with tmp_block(true). */
static void tmp_register(const char *path)
{
    if (!path)
        return;
    snprintf(tmp_name, sizeof tmp_name, "%s", path);
    struct sigaction sa = {.sa_handler = tmp_signal};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGS; i++)
        sigaddset(&sa.sa_mask, tmp_sigs[i]);
    for (size_t i = 0; i < NSIGS; i++) {
        sigaction(tmp_sigs[i], NULL, &tmp_old[i]);
        if (tmp_old[i].sa_handler != SIG_IGN)
            sigaction(tmp_sigs[i], &sa, NULL);
    }
    tmp_armed = 1;
}

/* The file is gone (renamed or removed): restore the signals' actions. */
static void tmp_unregister(void)
{
    if (!tmp_armed)
        return;
    tmp_armed = 0;
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(tmp_sigs[i], &tmp_old[i], NULL);
}

/* ---- trace file output: opened at the first record ---- */

typedef struct trace_out {
    const char *path;
    trace_meta *meta;
    trace_writer *w;
    bool failed;            /* err holds why */
    int io_errno;           /* the output itself failed (trace_writer_errno) */
    char err[ERR_LEN];
} trace_out;

static bool out_is_stdout(const trace_out *o) { return !strcmp(o->path, "-"); }

static int trace_out_open(trace_out *o)
{
    tmp_block(true);
    o->w = trace_writer_open(o->path, o->meta, 0, 0, o->err, sizeof o->err);
    if (o->w)
        tmp_register(trace_writer_tmp_path(o->w));
    else
        o->io_errno = errno;   /* the parameters are valid: the output failed */
    tmp_block(false);
    o->failed = !o->w;
    return o->w ? 0 : -1;
}

static int trace_out_put(void *ctx, const trace_rec *r)
{
    trace_out *o = ctx;
    if (!o->w && trace_out_open(o))
        return -1;
    if (trace_write(o->w, r) == 0)
        return 0;
    /* Standard output's errno is kept at once (cli_stdout_failed). */
    o->io_errno = trace_writer_errno(o->w);
    if (o->io_errno && out_is_stdout(o))
        cli_stdout_failed();
    snprintf(o->err, sizeof o->err, "%s", trace_writer_error(o->w));
    o->failed = true;
    return -1;
}

static trace_sink trace_out_sink(trace_out *o)
{
    return (trace_sink){trace_out_put, o};
}

static void meta_init(trace_meta *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->recorder, sizeof m->recorder, "%s", RECORDER);
}

/* After the producer: on failure (rc < 0) remove what was written and end
 * with the output's error if it failed (status 1, or 2 for a record the
 * writer refused), else the producer's (2); on success complete the file. */
static void trace_out_finish(trace_out *o, int rc, const char *producer_err)
{
    if (rc < 0) {
        trace_writer_abort(o->w);
        tmp_unregister();
        if (o->failed && o->io_errno)
            output_failed(out_is_stdout(o), o->io_errno, o->err);
        die("%s", o->failed ? o->err : producer_err);
    }
    if (!o->w && trace_out_open(o))
        output_failed(out_is_stdout(o), o->io_errno, o->err);
    tmp_block(true);
    rc = trace_writer_close(o->w, o->err, sizeof o->err);
    int e = errno;
    tmp_unregister();
    tmp_block(false);
    if (rc)
        output_failed(out_is_stdout(o), e, o->err);
}

static const char *require_output(const char *cmd, const char *out)
{
    if (!out)
        die("%s: -o OUT is required (see mmusim %s --help)", cmd, cmd);
    return out;
}

#define OPT_OUT(out) {.name = "-o", .nvals = 1, .val = &(out)}

/* ---- the subcommands ---- */

static int trace_import_cmd(int argc, char **argv)
{
    const char *from = NULL, *out = NULL;
    const cli_opt opts[] = {{.name = "--from", .nvals = 1, .val = &from}, OPT_OUT(out), {0}};
    const cli_cmd cmd = {.name = "trace import", .usage = import_usage, .opts = opts, .maxpos = 1};
    const char *in = one_input(&cmd, argc, argv, "input file IN");
    if (!from)
        die("trace import: --from lackey|champsim|text is required");
    int fmt = import_format_by_name(from);
    if (fmt < 0)
        die("trace import: --from %s: unknown format (lackey, champsim, text)", from);
    trace_meta meta;
    meta_init(&meta);
    trace_out o = {.path = require_output(cmd.name, out), .meta = &meta};
    char err[ERR_LEN] = "";
    int rc = trace_import((import_format)fmt, in, trace_out_sink(&o), &meta, err, sizeof err);
    trace_out_finish(&o, rc, err);
    return 0;
}

static int trace_export_cmd(int argc, char **argv)
{
    const char *out = NULL, *text = NULL;
    const cli_opt opts[] = {{.name = "--text", .val = &text}, OPT_OUT(out), {0}};
    const cli_cmd cmd = {.name = "trace export", .usage = export_usage, .opts = opts, .maxpos = 1};
    const char *in = one_input(&cmd, argc, argv, "trace IN");
    if (!text)
        die("trace export: --text is required (the one export format)");
    trace_reader *r = open_reader(in);
    char err[ERR_LEN] = "";
    if (!out || !strcmp(out, "-")) {
        int rc = trace_export_text(r, stdout, err, sizeof err);
        int st = stdout_status();
        trace_reader_close(r);
        if (st)
            return st;
        if (rc)
            die("%s", err);
        return 0;
    }
    /* A file: OUT.tmp, renamed when complete.  A failed write stops the
     * export (trace_export_text checks every line). */
    char tmp[ERR_LEN], msg[3 * ERR_LEN];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp)
        die("trace export: %s: path too long", out);
    tmp_block(true);
    FILE *f = fopen(tmp, "w");
    int e = errno;
    if (f)
        tmp_register(tmp);
    tmp_block(false);
    if (!f) {
        snprintf(msg, sizeof msg, "%s: cannot create %s: %s", out, tmp, strerror(e));
        output_failed(false, e, msg);
    }
    int rc = trace_export_text(r, f, err, sizeof err);
    e = errno;
    bool write_failed = ferror(f) != 0;
    trace_reader_close(r);
    tmp_block(true);
    if (fclose(f) != 0 && !write_failed) {
        write_failed = true;
        e = errno;
    }
    char what[ERR_LEN + 16] = "";
    if (write_failed) {
        snprintf(what, sizeof what, "write failed");
    } else if (!rc && rename(tmp, out) != 0) {
        e = errno;
        snprintf(what, sizeof what, "cannot rename %s", tmp);
    }
    if (rc || what[0])
        unlink(tmp);
    tmp_unregister();
    tmp_block(false);
    if (what[0]) {
        snprintf(msg, sizeof msg, "%s: %s: %s", out, what, strerror(e));
        output_failed(false, e, msg);
    }
    if (rc)
        die("%s", err);
    return 0;
}

/* --skip/--max of trace record (replay_parse_count's syntax). */
static uint64_t parse_instructions(const char *opt, const char *s)
{
    uint64_t v;
    if (replay_parse_count(s, &v) != 0)
        die("trace record: %s %s: expected a count: " REPLAY_COUNT_SYNTAX, opt, s);
    return v;
}

static int trace_record_cmd(int argc, char **argv)
{
    const char *out = NULL, *roi = NULL, *skip = NULL, *max = NULL, *threads = NULL;
    const cli_opt opts[] = {
        OPT_OUT(out),
        {.name = "--roi", .val = &roi},
        {.name = "--threads", .val = &threads},
        {.name = "--skip", .nvals = 1, .val = &skip, .need = {"a count of instructions"}},
        {.name = "--max", .nvals = 1, .val = &max, .need = {"a count of instructions"}},
        {0},
    };
    const cli_cmd cmd = {.name = "trace record", .usage = record_usage, .opts = opts, .command = true};
    char **command;
    cli_parse(&cmd, argc, argv, &command);
    if (!command)
        die("trace record: expected -- CMD [ARGS...] (see mmusim trace record --help)");
    if (out && !strcmp(out, "-"))
        die("trace record: -o - is not possible: the command's own output goes to standard output");
    trace_record_opts ro = {
        .roi = roi != NULL,
        .skip = skip ? parse_instructions("--skip", skip) : 0,
        .max = max ? parse_instructions("--max", max) : 0,
        .progress = isatty(STDERR_FILENO) == 1,
        .threads = threads != NULL,
    };
    if (max && !ro.max)
        die("trace record: --max 0: expected a count of at least 1");
    trace_meta meta;
    meta_init(&meta);
    trace_out o = {.path = require_output(cmd.name, out), .meta = &meta};
    char err[ERR_LEN] = "";
    int status = trace_record(command, &ro, trace_out_sink(&o), &meta, err, sizeof err);
    trace_out_finish(&o, status < 0 ? -1 : 0, err);
    if (status > 0)
        fprintf(stderr, "mmusim: trace record: %s exited with status %d; the trace is complete\n", command[0],
                status);
    return 0;
}

static int trace_gen_cmd(int argc, char **argv)
{
    /* Options: -o and one "--NAME" per trace_gen parameter. */
    size_t nparams;
    const trace_gen_param *params = trace_gen_params(&nparams);
    const char *out = NULL;
    const char **values = calloc(nparams, sizeof *values);
    cli_opt *opts = calloc(nparams + 2, sizeof *opts);
    char(*names)[40] = calloc(nparams, sizeof *names);
    if (!values || !opts || !names)
        die("trace gen: out of memory");
    opts[0] = (cli_opt)OPT_OUT(out);
    for (size_t i = 0; i < nparams; i++) {
        snprintf(names[i], sizeof names[i], "--%s", params[i].name);
        opts[i + 1] = (cli_opt){.name = names[i], .nvals = 1, .val = &values[i]};
    }
    const cli_cmd cmd = {.name = "trace gen", .usage_fn = gen_usage, .opts = opts, .maxpos = 1};
    const char *pat = one_input(&cmd, argc, argv, "PATTERN");
    int pattern = trace_gen_pattern_by_name(pat);
    if (pattern < 0)
        die("trace gen: unknown pattern '%s' (see mmusim trace gen --help)", pat);
    trace_gen_opts go;
    trace_gen_defaults(&go);
    char err[ERR_LEN] = "";
    for (size_t i = 0; i < nparams; i++)
        if (values[i] && trace_gen_set(&go, params[i].name, values[i], err, sizeof err))
            die("trace gen: %s", err);
    free(values);
    free(opts);
    free(names);

    trace_meta meta;
    meta_init(&meta);
    trace_out o = {.path = require_output(cmd.name, out), .meta = &meta};
    int rc = trace_gen(pattern, &go, trace_out_sink(&o), &meta, err, sizeof err);
    trace_out_finish(&o, rc, err);
    return 0;
}

static int trace_info_cmd(int argc, char **argv)
{
    const cli_cmd cmd = {.name = "trace info", .usage = info_usage, .maxpos = 1};
    const char *in = one_input(&cmd, argc, argv, "trace FILE");
    trace_reader *r = open_reader(in);
    char err[ERR_LEN] = "";
    int rc = trace_info(r, in, stdout, err, sizeof err);
    trace_reader_close(r);
    if (rc)
        die("%s", err);
    return stdout_status();
}

static int trace_cat_cmd(int argc, char **argv)
{
    const char *from_s = NULL, *count_s = NULL;
    const cli_opt opts[] = {
        {.name = "--from", .nvals = 1, .val = &from_s},
        {.name = "--count", .nvals = 1, .val = &count_s},
        {0},
    };
    const cli_cmd cmd = {.name = "trace cat", .usage = cat_usage, .opts = opts, .maxpos = 1};
    const char *in = one_input(&cmd, argc, argv, "trace FILE");
    uint64_t from = from_s ? parse_count(cmd.name, "--from", from_s) : 0;
    uint64_t count = count_s ? parse_count(cmd.name, "--count", count_s) : UINT64_MAX;
    trace_reader *r = open_reader(in);
    trace_rec rec;
    int got = 1;
    struct stat st;
    if (from && strcmp(in, "-") && stat(in, &st) == 0 && S_ISREG(st.st_mode)) {
        if (trace_seek(r, from))
            die("%s", trace_reader_error(r));
    } else {
        for (uint64_t i = 0; i < from && (got = trace_next(r, &rec)) == 1; i++)
            continue;
        if (got == 0)
            die("%s: --from %" PRIu64 ": the trace has fewer records", !strcmp(in, "-") ? "<stdin>" : in, from);
    }
    char line[TRACE_TEXT_MAX + 1];
    for (uint64_t i = 0; got == 1 && i < count; i++) {
        if ((got = trace_next(r, &rec)) != 1)
            break;
        int n = trace_text_format(&rec, line, sizeof line - 1);
        if (n < 0)
            die("%s: record %" PRIu64 ": not a valid record (kind %u)", in, from + i, rec.kind);
        line[n] = '\n';
        if (fwrite(line, 1, (size_t)n + 1, stdout) != (size_t)n + 1 && cli_stdout_failed())
            break;
    }
    int status = stdout_status();
    if (!status && got < 0)
        die("%s", trace_reader_error(r));
    trace_reader_close(r);
    return status;
}

int cmd_trace(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        {"import", trace_import_cmd}, {"export", trace_export_cmd}, {"record", trace_record_cmd},
        {"gen", trace_gen_cmd},       {"info", trace_info_cmd},     {"cat", trace_cat_cmd},
    };
    if (argc < 2)
        die("trace: expected import, export, record, gen, info or cat (see mmusim trace --help)");
    if (is_help(argv[1])) {
        fputs(trace_usage, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].run(argc - 1, argv + 1);
    die("trace: unknown subcommand '%s' (import, export, record, gen, info, cat)", argv[1]);
}
