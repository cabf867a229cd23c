/* cli.h -- what the mmusim subcommands share: the one-line fatal error,
 * the program's version string, and the --config/--set/--mode options of
 * the commands that build a machine from a configuration (run, walk,
 * config show).  Subcommands live in their own .c files (mmusim.c,
 * trace_cmd.c, run_cmd.c) and are dispatched from mmusim.c's main(). */
#ifndef MMUSIM_CLI_H
#define MMUSIM_CLI_H

#include <stdbool.h>

#include "mmusim/cfg.h"

#define MMUSIM_VERSION "mmusim 0.1.0"

/* Exit status of bad arguments and bad input. */
#define EXIT_BAD_INPUT 2

/* Print "mmusim: MESSAGE" as one line on stderr and exit with
 * EXIT_BAD_INPUT. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The configuration options, as given. */
typedef struct common_opts {
    const char *config;      /* --config PRESET|FILE; NULL = CFG_DEFAULT_PRESET */
    const char *sets[64];    /* --set KEY=VALUE, in order */
    unsigned nsets;
    const char *mode;        /* --mode M = --set cpu.mode=M, applied before the --sets */
} common_opts;

/* Consume a common option ("--config X", "--config=X", likewise --set and
 * --mode) at argv[*i], advancing *i past its value; true if it was one.
 * `cmd` names the subcommand in messages ("walk"); a missing value dies. */
bool common_option(common_opts *o, int argc, char **argv, int *i, const char *cmd);

/* Load the preset or file, apply --mode and the --sets, validate: the
 * effective configuration, or die with the one-line error. */
void load_config(const common_opts *o, mm_config *cfg);

#endif
