/* report.h -- counters out: perf-stat-style text, JSON, CSV.
 *
 * text: perf stat's layout (right-aligned values with thousands separators,
 *       the event name, and a "#" comment with a derived ratio where perf
 *       would print one, e.g. "#  1.23% of all dTLB cache accesses").  The
 *       view decides which lines: the summary (REPORT_SUMMARY: the figures
 *       a TLB paper quotes, then the derived metrics), every counter and
 *       metric (REPORT_ALL), or the events named (REPORT_EVENTS, as perf's
 *       -e).  The cycles line says what `cycles` covers.
 * json: one object (schema REPORT_SCHEMA, model/README.md "Report
 *       schema"): "schema", "mmusim" (the version), "title",
 *       "trace_hash" (a list, one per trace), every counter as
 *       "name": integer, "metrics": {name: number}, then every config key
 *       as "config.KEY": value (numbers and booleans bare, lists as lists).
 * csv:  a header line and one row: title, counters, metric.NAME columns,
 *       config.KEY columns.
 * The writers are deterministic: order is the stats list's, then the
 * metrics' (report_metrics), then the config's key-table order. */
#ifndef MMUSIM_REPORT_H
#define MMUSIM_REPORT_H

#include <stdio.h>

#include "mmusim/cfg.h"
#include "mmusim/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The JSON report's schema.  Bumped when a member is removed or changes
 * meaning or type; adding members (counters, metrics) does not bump it.
 * A report without "schema" is schema 1 (config lists as strings). */
#define REPORT_SCHEMA 2

typedef enum report_format {
    REPORT_TEXT = 0,
    REPORT_JSON,
    REPORT_CSV,
} report_format;

typedef enum report_view {
    REPORT_SUMMARY = 0,   /* text: the summary */
    REPORT_ALL,           /* text: every counter and metric */
    REPORT_EVENTS,        /* text: the events named (report_opts.events) */
} report_view;

typedef struct report_opts {
    const char *title;              /* what was measured (perf's "for 'COMMAND'"); NULL: "mmusim" */
    report_view view;               /* text only; JSON and CSV always carry everything */
    const char *const *events;      /* REPORT_EVENTS: names or fnmatch(3) patterns of counters and metrics */
    unsigned nevents;
    const char *const *trace_hash;  /* JSON: per trace, "fnv1a64:HEX" (report_hash_file) or NULL (unknown) */
    unsigned ntraces;
} report_opts;

/* JSON pieces shared by every JSON writer of the project: a string with
 * quotes, backslashes and control characters escaped; a value, written
 * bare when it is a number or a boolean, else as a string; and config
 * key's value: a list key's ("[4k, 2m]", cfg_key_is_list) as a JSON list
 * of strings (["4k", "2m"]), any other as report_json_value. */
void report_json_string(FILE *out, const char *s);
void report_json_value(FILE *out, const char *v);
void report_json_cfg_value(FILE *out, const char *key, const char *v);

/* Write the report.  cfg may be NULL.  Returns 0, or -1 if writing failed. */
int report_write_opts(FILE *out, report_format fmt, const stats *s, const mm_config *cfg, const report_opts *o);
/* The same with only a title, text view REPORT_ALL and no trace hash. */
int report_write(FILE *out, report_format fmt, const stats *s, const mm_config *cfg, const char *title);

/* ---- derived metrics ---- */

#define REPORT_MAX_METRICS 16

typedef struct report_metric {
    const char *name;    /* e.g. "dtlb.mpki" */
    double value;
    const char *what;    /* one line: the formula, for the text report */
} report_metric;

/* The metrics s allows, in their fixed order (model/README.md "Derived
 * metrics"); a metric whose inputs are missing or zero (no instructions,
 * no walks) is left out.  Returns how many were written to m. */
unsigned report_metrics(const stats *s, report_metric m[REPORT_MAX_METRICS]);
/* Whether `name` is one of the metrics' names. */
bool report_is_metric(const char *name);
/* Whether `name` is a per-CPU or per-process counter (cpuN.*, pidN.*). */
bool report_is_breakdown(const char *name);

/* The hash a report gives a trace: 64-bit FNV-1a of the file's bytes (the
 * trace content hash of a sweep's run ids, sweep_hash_file), as "fnv1a64:"
 * and 16 lowercase hex digits, in buf (>= 25 bytes).  0, or -1 with errno
 * set when the file cannot be read. */
int report_hash_file(const char *path, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
