/* sweep_cmd.h -- `mmusim sweep` (sweep_cmd.c), dispatched from mmusim.c's main(). */
#ifndef MMUSIM_SWEEP_CMD_H
#define MMUSIM_SWEEP_CMD_H

/* argv[0] is "sweep".  Returns the exit status: 0 every run of the spec
 * has its result, 130 interrupted by Ctrl-C (finished runs are kept); a bad
 * spec, argument or trace ends the program with status 2 and one line on
 * stderr. */
int cmd_sweep(int argc, char **argv);

#endif
