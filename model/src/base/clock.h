/* clock.h -- the one monotonic clock of mmusim (base layer): seconds since
 * an arbitrary start, from CLOCK_MONOTONIC, so wall-clock changes never make
 * time go back.  For rates, periods and benchmarks only: no result of the
 * model depends on time.  Internal header: the library, the command line
 * and the benchmarks include it, the installed headers do not. */
#ifndef MMUSIM_CLOCK_H
#define MMUSIM_CLOCK_H

double mm_clock_s(void);

#endif
