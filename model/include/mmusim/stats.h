/* stats.h -- a named, ordered list of counters, the common currency of the
 * reports.
 *
 * Structures keep their counters as plain struct fields (the hot path
 * increments a field, nothing more); when a report is due, each structure
 * exports them into a stats list under user-facing names.  Adding a name
 * that exists already adds to its value, so per-CPU counters sum by
 * exporting every CPU into one list.  Insertion order is kept, so reports
 * are deterministic. */
#ifndef MMUSIM_STATS_H
#define MMUSIM_STATS_H

#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stats stats;

/* An empty list; never NULL (out of host memory aborts, as every small
 * allocation of the model does: types.h). */
stats *stats_create(void);
void stats_free(stats *s);

/* Add v to counter `name` (created at 0 at the end of the list if new). */
void stats_add(stats *s, const char *name, uint64_t v);
/* printf-style name. */
void stats_addf(stats *s, uint64_t v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

size_t stats_count(const stats *s);
const char *stats_name(const stats *s, size_t i);
uint64_t stats_value(const stats *s, size_t i);
/* Value of `name`, or 0 if absent (*found set if non-NULL). */
uint64_t stats_get(const stats *s, const char *name, bool *found);

#ifdef __cplusplus
}
#endif

#endif
