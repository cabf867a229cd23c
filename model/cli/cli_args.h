/* cli_args.h -- the one argument parser of the mmusim subcommands
 * (cli_args.c).  Each subcommand describes its options in a table; the
 * parser applies the same rules to all of them:
 *
 *   --name VALUE, --name=VALUE   a long option with a value
 *   -x VALUE, -xVALUE, -x=VALUE  a short one ("-I 1000", "-I1000", "-o out")
 *   --flag                       an option without a value
 *   --                           the end of the options: what follows is
 *                                positional (or, for trace record, the
 *                                command to run)
 *   -                            a positional argument (standard input)
 *
 * A value is the next argument whatever it looks like ("--count -1").  An
 * option that is not repeatable may be given once.  --help or -h anywhere
 * among the options prints the usage and exits 0, whatever else the line
 * holds.  Otherwise the first problem ends the program (exit status 2) with
 * one line, always one of:
 *
 *   mmusim: CMD: unknown option '--x' (see mmusim CMD --help)
 *   mmusim: CMD: --x needs a value            (or what the table says it needs)
 *   mmusim: CMD: --x takes no value           (--flag=VALUE)
 *   mmusim: CMD: --x given twice
 *   mmusim: CMD: too many --x options         (a repeatable option's limit)
 *   mmusim: CMD: unexpected argument 'A' (see mmusim CMD --help)
 *
 * What the values mean (numbers, names, required options, options that
 * exclude each other) is the subcommand's to check, after parsing. */
#ifndef MMUSIM_CLI_ARGS_H
#define MMUSIM_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

/* One option.  Exactly one of val and list is set. */
typedef struct cli_opt {
    const char *name;       /* "--jobs", "-o" */
    const char *alias;      /* a second spelling of the same option ("-j"), or NULL */
    unsigned nvals;         /* values it takes: 0 (a flag), 1, or 2 ("--emit slurm DIR") */
    const char **val;       /* once: its values, val[0..nvals) (a flag: val[0] = the
                             * spelling given); left as they are when it is absent */
    const char **list;      /* repeatable (nvals 1): its values in order, list[0..*count) */
    unsigned *count, max;   /* ... at most max of them */
    const char *need[2];    /* for a missing value: what is missing after 0 and after 1
                             * value ("a number of accesses"); NULL = "a value" */
} cli_opt;

/* A subcommand's grammar. */
typedef struct cli_cmd {
    const char *name;           /* "run", "trace gen": the CMD of messages */
    const char *usage;          /* printed by --help ... */
    void (*usage_fn)(FILE *);   /* ... or written by this when usage is NULL */
    const cli_opt *opts;        /* ended by an option whose name is NULL */
    int maxpos;                 /* positional arguments it takes; -1: any number */
    bool command;               /* the first positional argument, or what follows
                                 * "--", starts a command line of its own (rest) */
} cli_cmd;

/* Parse argv[1..argc) (argv[0] names the subcommand) against c, filling the
 * options' val and list.  Returns the number of positional arguments,
 * moved in order to argv[1..n] (argv is permuted; the strings stay).  With
 * c->command, *rest is the command's argv (NULL-ended), or NULL if there is
 * none.  --help and every error end the program as said above. */
int cli_parse(const cli_cmd *c, int argc, char **argv, char ***rest);

#endif
