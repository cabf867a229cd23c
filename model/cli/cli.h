/* cli.h -- what the mmusim subcommands share: the one-line fatal error and
 * the program's version string.  Subcommands live in their own .c files
 * (mmusim.c, trace_cmd.c) and are dispatched from mmusim.c's main(). */
#ifndef MMUSIM_CLI_H
#define MMUSIM_CLI_H

#define MMUSIM_VERSION "mmusim 0.1.0"

/* Exit status of bad arguments and bad input. */
#define EXIT_BAD_INPUT 2

/* Print "mmusim: MESSAGE" as one line on stderr and exit with
 * EXIT_BAD_INPUT. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
