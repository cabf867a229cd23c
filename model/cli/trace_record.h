/* trace_record.h -- `mmusim trace record`'s process control
 * (trace_record.c): a command run under valgrind's lackey, its log read
 * from a pipe by the library's lackey importer (trace_import_fd). */
#ifndef MMUSIM_TRACE_RECORD_H
#define MMUSIM_TRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmusim/trace.h"

/* What to keep of the recording.  All zero: everything. */
typedef struct trace_record_opts {
    bool roi;          /* only the first region of interest: from the first ROI begin marker to the
                          first end marker after it, both kept (nothing is kept without a begin) */
    uint64_t skip;     /* then drop this many instructions (with roi: counted from the begin marker) */
    uint64_t max;      /* then keep at most this many instructions and drop the rest; 0 = no limit */
    bool progress;     /* draw a progress line on stderr (the caller checks it is a terminal) */
    bool threads;      /* valgrind --trace-sched=yes: each thread N's records on CPU N-1, one process
                          (trace_import.c); switch records are kept through roi/skip */
} trace_record_opts;

/* Run argv (argv[0] is looked up in PATH) under `valgrind --tool=lackey
 * --trace-mem=yes --trace-children=yes` (exec is followed: a script's or
 * shim's program is traced too, in the same log), with lackey's log on a
 * pipe read straight into the lackey importer, through the filter of *ro
 * (may be NULL), and into the sink (no temporary file).  When argv[0] is a
 * script (#!) or a known shim (env, nice, timeout, ...), one warning line
 * on stderr says the trace includes it; the recording goes on.  A dropped
 * instruction-count record at a --skip/--max boundary is split, so exactly
 * `max` instructions are kept when the program runs that many.  The command's
 * standard streams are mmusim's own; it gets SIGPIPE's default action
 * back, and dies with mmusim (PR_SET_PDEATHSIG) if mmusim is killed.  Sets
 * meta->source to "lackey" and meta->command to argv joined by spaces
 * (shell-quoted where needed).
 *
 * Returns the command's exit status (0..255) once it has run to its end
 * and the whole trace is in the sink; a nonzero status still means a
 * complete trace.  -1 with one line in err when there is no complete trace:
 * valgrind cannot be started, the command cannot be run (valgrind fails and
 * the log has no trace), the command is killed by a signal, the log is
 * malformed, or the sink stops (valgrind is then killed).  The caller must
 * have no other children it waits for with waitpid(-1). */
int trace_record(char *const argv[], const trace_record_opts *ro, trace_sink sink, trace_meta *meta, char *err,
                 size_t errlen);

#endif
