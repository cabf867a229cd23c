/* run_cmd.h -- `mmusim run` (run_cmd.c), dispatched from mmusim.c's main(). */
#ifndef MMUSIM_RUN_CMD_H
#define MMUSIM_RUN_CMD_H

/* argv[0] is "run".  Returns the exit status: 0 the traces were replayed,
 * 3 physical memory ran out (exhaustion: stop; the report is printed), 130
 * interrupted by Ctrl-C (the report so far is printed); bad arguments,
 * configs and traces end the program with status 2 and one line on
 * stderr. */
int cmd_run(int argc, char **argv);

#endif
