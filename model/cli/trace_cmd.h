/* trace_cmd.h -- `mmusim trace import|export|record|gen|info|cat`
 * (trace_cmd.c), dispatched from mmusim.c's main(). */
#ifndef MMUSIM_TRACE_CMD_H
#define MMUSIM_TRACE_CMD_H

/* argv[0] is "trace".  Returns the exit status: 0 done, 1 the standard
 * output was closed early (a broken pipe); bad arguments and bad input end
 * the program with status 2 and one line on stderr. */
int cmd_trace(int argc, char **argv);

#endif
