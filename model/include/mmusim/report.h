/* report.h -- counters out: perf-stat-style text, JSON, CSV.
 *
 * text: perf stat's layout (right-aligned values with thousands separators,
 *       the event name, and a "#" comment with a derived ratio where perf
 *       would print one, e.g. "#  1.23% of all dTLB cache accesses").
 * json: one flat object: every counter as "name": integer, then every
 *       config key as "config.KEY": value (numbers and booleans unquoted).
 * csv:  a header line and one row, counters then config.KEY columns.
 * The writers are deterministic: order is the stats list's, then the
 * config's key-table order. */
#ifndef MMUSIM_REPORT_H
#define MMUSIM_REPORT_H

#include <stdio.h>

#include "mmusim/cfg.h"
#include "mmusim/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum report_format {
    REPORT_TEXT = 0,
    REPORT_JSON,
    REPORT_CSV,
} report_format;

/* JSON pieces shared by every JSON writer of the project: a string with
 * quotes, backslashes and control characters escaped; and a config value,
 * written bare when it is a number or a boolean, else as a string. */
void report_json_string(FILE *out, const char *s);
void report_json_value(FILE *out, const char *v);

/* title: what was measured (perf's "for 'COMMAND'"); cfg may be NULL.
 * Returns 0, or -1 if writing failed. */
int report_write(FILE *out, report_format fmt, const stats *s, const mm_config *cfg, const char *title);

#ifdef __cplusplus
}
#endif

#endif
