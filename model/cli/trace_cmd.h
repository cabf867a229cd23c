/* trace_cmd.h -- `mmusim trace import|export|record|gen|info|cat`
 * (trace_cmd.c), dispatched from mmusim.c's main(). */
#ifndef MMUSIM_TRACE_CMD_H
#define MMUSIM_TRACE_CMD_H

/* argv[0] is "trace".  Returns the exit status: 0 done, 1 the standard
 * output was closed early (a broken pipe).  A failed output ends the
 * program with status 1, bad arguments and bad input with status 2, each
 * with one line on stderr; SIGINT, SIGTERM and SIGHUP remove OUT.tmp
 * before they kill it. */
int cmd_trace(int argc, char **argv);

#endif
