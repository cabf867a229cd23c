/* cli.h -- what the mmusim subcommands share: the one-line fatal error,
 * the program's version string, the --config/--set/--mode options of the
 * commands that build a machine from a configuration (run, walk, config
 * show), Ctrl-C and the progress bar.  Subcommands live in their own .c
 * files (mmusim.c, trace_cmd.c, run_cmd.c, sweep_cmd.c) and are dispatched
 * from mmusim.c's main(); they parse their arguments with cli_args.h. */
#ifndef MMUSIM_CLI_H
#define MMUSIM_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli_args.h"
#include "mmusim/cfg.h"
#include "mmusim/version.h"

#define CLI_VERSION "mmusim " MMUSIM_VERSION_STRING   /* --version, and the recorder of traces it writes */

/* Exit status of bad arguments and bad input. */
#define EXIT_BAD_INPUT 2

/* Exit status after Ctrl-C: 128 + SIGINT, as a shell reports it. */
#define EXIT_INTERRUPTED 130

/* Exit status when standard output could not be written (a full disk, a
 * closed pipe, an I/O error): the output is incomplete. */
#define EXIT_OUTPUT_FAILED 1

/* Print "mmusim: MESSAGE" as one line on stderr and exit with
 * EXIT_BAD_INPUT.  A MESSAGE of several lines (the errors of a sweep spec)
 * is printed a line at a time, each with the prefix. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Called first by main(): every write to standard output is then checked,
 * whichever way the program ends.  SIGPIPE is ignored, so a write to a
 * closed pipe fails with EPIPE instead of killing the program; at exit
 * standard output is flushed and closed, and if any write, the flush or the
 * close failed, "mmusim: writing standard output: REASON" is printed and
 * the exit status becomes EXIT_OUTPUT_FAILED (unless the program was already
 * exiting with EXIT_BAD_INPUT through die(): the first problem stands).
 * A child that execs another program (trace record's valgrind) restores
 * SIGPIPE's default first. */
void cli_output_init(void);

/* True once a write to standard output has failed: loops that write a lot
 * (trace cat) stop early instead of producing output nobody receives.
 * Called right after the write that failed, it also keeps its errno for
 * the message at exit. */
bool cli_stdout_failed(void);

/* The configuration options, as given. */
typedef struct common_opts {
    const char *config;      /* --config PRESET|FILE; NULL = CFG_DEFAULT_PRESET */
    const char *sets[64];    /* --set KEY=VALUE, in order */
    unsigned nsets;
    const char *mode;        /* --mode M = --set cpu.mode=M, applied before the --sets */
    bool mmu_only;           /* the command builds an MMU, no OS model: cfg_validate_mmu */
} common_opts;

/* The rows of a subcommand's option table (cli_args.h) for the
 * configuration options, filling *o. */
#define CLI_COMMON_OPTS(o)                                                                                    \
    {.name = "--config", .nvals = 1, .val = &(o)->config},                                                   \
        {.name = "--set", .nvals = 1, .list = (o)->sets, .count = &(o)->nsets,                               \
         .max = (unsigned)(sizeof(o)->sets / sizeof(o)->sets[0])},                                            \
        {.name = "--mode", .nvals = 1, .val = &(o)->mode}

/* Load the preset or file, apply --mode and the --sets, validate: the
 * effective configuration, or die with the one-line error. */
void load_config(const common_opts *o, mm_config *cfg);

/* Ctrl-C: the first SIGINT sets *flag (the command stops at its next check
 * and keeps what is finished); the handler is reset when it runs, so a
 * second Ctrl-C kills the program at once. */
void cli_catch_sigint(volatile sig_atomic_t *flag);

/* The one progress bar of the program, a line on stderr (the caller checks
 * it is a terminal): "[#####...] 37/128 runs  2.30 runs/s  ETA 0:00:40",
 * or with total 0 (unknown) "12.3M accesses  25.1M accesses/s"; redrawn at
 * most 4 times a second unless forced, erased at the end.  done and total
 * count this invocation's work; the rate is done over the time since
 * start.  `sweep` draws runs, `run` accesses (replay_opts.progress). */
typedef struct cli_progress {
    double t0, t_drawn;
    bool drawn;
} cli_progress;
void cli_progress_start(cli_progress *p);
void cli_progress_draw(cli_progress *p, uint64_t done, uint64_t total, const char *unit, bool force);
void cli_progress_erase(cli_progress *p);

#endif
