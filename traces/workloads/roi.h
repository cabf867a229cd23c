/* roi.h -- region-of-interest markers for programs traced by mmusim.
 *
 * MMUSIM_ROI_BEGIN() and MMUSIM_ROI_END() bracket the part of a program a
 * trace should cover (the kernel, not its input generation).  Under
 * valgrind they print "mmusim-roi-begin" / "mmusim-roi-end" through a
 * client request; lackey's --log-fd stream carries them as
 * "**PID** mmusim-roi-begin" lines, in order with the memory records, and
 * `mmusim trace record` turns them into ROI events.  Outside valgrind the
 * client request is a few no-op instructions, so a native run is unchanged.
 *
 * Built without valgrind's headers (MMUSIM_NO_VALGRIND) the markers vanish. */
#ifndef MMUSIM_WORKLOADS_ROI_H
#define MMUSIM_WORKLOADS_ROI_H

#ifdef MMUSIM_NO_VALGRIND
#define MMUSIM_ROI_BEGIN() ((void)0)
#define MMUSIM_ROI_END() ((void)0)
#else
#include <valgrind/valgrind.h>
#define MMUSIM_ROI_BEGIN() ((void)VALGRIND_PRINTF("mmusim-roi-begin\n"))
#define MMUSIM_ROI_END() ((void)VALGRIND_PRINTF("mmusim-roi-end\n"))
#endif

#endif
