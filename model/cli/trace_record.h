/* trace_record.h -- `mmusim trace record`'s process control
 * (trace_record.c): a command run under valgrind's lackey, its log read
 * from a pipe by the library's lackey importer (trace_import_fd). */
#ifndef MMUSIM_TRACE_RECORD_H
#define MMUSIM_TRACE_RECORD_H

#include <stddef.h>

#include "mmusim/trace.h"

/* Run argv (argv[0] is looked up in PATH) under `valgrind --tool=lackey
 * --trace-mem=yes`, with lackey's log on a pipe read straight into the
 * lackey importer and the sink (no temporary file).  The command's
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
int trace_record(char *const argv[], trace_sink sink, trace_meta *meta, char *err, size_t errlen);

#endif
