/* sweep.h -- parameter sweeps: a YAML spec expanded into runs, each run
 * identified by a hash, executed by a pool of worker processes, each
 * result written once and atomically (`mmusim sweep`).
 *
 * The spec (experiments/README.md has the full description):
 *
 *   traces: [a.trace.zst, b.trace.zst]   # paths relative to the spec's folder
 *   config: skylake                      # base preset or YAML file (default skylake)
 *   set:    {os.thp: never}              # overrides of the base
 *   params:                              # cartesian product, one dimension per key
 *     dtlb.4k.sets: [16, 32]
 *   zip:                                 # each group: lists varied together,
 *     - {stlb.4k.sets: [64, 128], stlb.4k.ways: [12, 6]}   # one more dimension
 *   onepass: true                        # (default) one-pass runs where exact; false: direct
 *
 * Points are the cartesian product of the dimensions -- the params keys in
 * order, then the zip groups in order -- the first dimension varying
 * slowest.  Runs are every (trace, point) pair, trace-major.  Every error
 * (an unknown key, an empty list, zipped lists of unequal length, a config
 * key or value cfg_set refuses, a point cfg_validate refuses, a missing
 * trace) is found at load time and reported as one line "SPEC:LINE: problem".
 *
 * Identity: a run's id is FNV-1a-64 over the effective config's YAML text
 * (cfg_write_yaml) followed by the trace's content hash as 8 little-endian
 * bytes, where the trace's content hash is FNV-1a-64 over the file's bytes.
 * So the id names what was simulated, not where it sits in a spec: the same
 * config and trace give the same id in any spec, with any --jobs.  Points
 * whose effective configs are equal are one run.
 *
 * Method.  When the points differ only in the sets and ways of the L1
 * TLBs and the one-pass conditions hold (onepass.h: blocking core, LRU,
 * non-inclusive STLB), each trace is replayed once, with a tap, for all
 * its points, and each point's row comes from exact LRU stack simulation:
 * the run file's "method" is "onepass", and it carries only the counters
 * that are exact for its point (onepass.h lists them: the L1 misses, hits
 * and evictions, lookups, faults, flush events, the OS's counters -- no
 * cycles, STLB, walk or page-walk-cache counters).  A trace whose pass
 * turns out not to be exact (pages reclaimed: onepass.h, 5-6) has its
 * points replayed directly, silently.  Direct runs have "method":
 * "direct" and every counter.  `onepass: false` asks for direct runs.  The
 * method is decided for the whole spec, so every shard and re-run uses the
 * same one.  A direct sweep does not count a one-pass run file as finished
 * (it lacks counters): it replays the run; a one-pass sweep takes a direct
 * run file as finished.
 *
 * Output folder: runs/ID.json (one per finished run, written to a temporary
 * name and renamed), and results.csv / results.jsonl rebuilt from the run
 * files -- rows in run order, runs without a file left out -- after each
 * finished batch (at most once a second) and at the end.
 *
 * Trust.  A run file is used (skipped at resume, listed in the tables) only
 * once sweep_runs_check accepts it as its run's: a whole JSON object whose
 * id is the one its name says and whose every byte is what this sweep
 * writes for that run, its counter values aside (each a whole number; a
 * direct run has "cycles", a one-pass run has not).  A sweep moves a
 * file that fails to DIR/damaged/ID.N.json (N = 1, 2, ... the first free),
 * reports it through sweep_opts.warn and replays the run.  Other files in
 * runs/ (run files of configurations no longer in the spec, anything else)
 * are neither read nor moved. */
#ifndef MMUSIM_SWEEP_H
#define MMUSIM_SWEEP_H

#include <signal.h>
#include <stddef.h>

#include "mmusim/cfg.h"
#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sweep_spec sweep_spec;

/* Load, check and expand a spec; NULL with "SPEC:LINE: problem" in err. */
sweep_spec *sweep_spec_load(const char *path, char *err, size_t errlen);
void sweep_spec_free(sweep_spec *s);

const char *sweep_spec_path(const sweep_spec *s);
size_t sweep_trace_count(const sweep_spec *s);
const char *sweep_trace_name(const sweep_spec *s, size_t t);   /* as written in the spec */
const char *sweep_trace_path(const sweep_spec *s, size_t t);   /* resolved against the spec's folder */

/* The swept keys (params keys, then zip keys), in spec order. */
size_t sweep_param_count(const sweep_spec *s);
const char *sweep_param_key(const sweep_spec *s, size_t j);

/* Points: the value of swept key j at point p, as written in the spec. */
size_t sweep_point_count(const sweep_spec *s);
const char *sweep_point_value(const sweep_spec *s, size_t p, size_t j);
/* The effective config of point p: base, then set:, then the point's
 * values.  Cannot fail for a loaded spec (every point was validated). */
void sweep_point_config(const sweep_spec *s, size_t p, mm_config *out);

/* FNV-1a-64 (offset basis SWEEP_HASH_INIT) over len more bytes. */
#define SWEEP_HASH_INIT 14695981039346656037ull
uint64_t sweep_hash(uint64_t h, const void *data, size_t len);
/* FNV-1a-64 of a file's bytes; -1 with "PATH: problem" in err. */
int sweep_hash_file(const char *path, uint64_t *out, char *err, size_t errlen);
/* The run id of a config and a trace content hash (see above). */
uint64_t sweep_run_id(const mm_config *cfg, uint64_t trace_hash);
/* As 16 lower-case hex digits. */
void sweep_id_text(uint64_t id, char out[17]);

/* The spec's distinct runs in run order: every (trace, point) pair,
 * trace-major, less each pair whose id an earlier pair has -- the order
 * sweep_run and its shards count runs in -- with what checking a run file
 * needs (each run's trace, config and the method of the spec's runs).
 * Listing hashes every trace file.  NULL with "PATH: problem" in err (a
 * trace that cannot be read).  The spec must outlive it. */
typedef struct sweep_runs sweep_runs;
sweep_runs *sweep_runs_create(const sweep_spec *s, char *err, size_t errlen);
void sweep_runs_free(sweep_runs *r);
size_t sweep_runs_count(const sweep_runs *r);
uint64_t sweep_runs_id(const sweep_runs *r, size_t i);

/* What a file found at a run's name is (sweep_runs_check). */
typedef enum sweep_file {
    SWEEP_FILE_OK = 0,        /* the run's file: trusted */
    SWEEP_FILE_MISSING,       /* nothing at that name */
    SWEEP_FILE_ONEPASS,       /* a sound one-pass run's file, but the spec's runs are direct:
                               * it lacks counters, so a sweep replays the run */
    SWEEP_FILE_DAMAGED,       /* not the run's file (truncated, edited, another run's, not a file) */
    SWEEP_FILE_UNREADABLE,    /* it could not be read (permissions, I/O) */
} sweep_file;

/* Check the file at `path` as the run file of run i (in run order): the
 * one test sweep_run and `sweep collect` apply before they trust a file
 * (see Trust above).  Every outcome but SWEEP_FILE_OK puts one line in
 * err: "PATH:LINE: problem" (or "PATH: problem" when no line applies). */
sweep_file sweep_runs_check(const sweep_runs *r, size_t i, const char *path, char *err, size_t errlen);

/* "DIR/NAME.yaml" -> "DIR/NAME-results" (malloc'd; NULL if out of memory). */
char *sweep_default_out(const char *spec_path);

typedef struct sweep_progress {
    size_t total;     /* distinct runs of the spec (of the shard) */
    size_t skipped;   /* found finished in runs/ before starting */
    size_t done;      /* finished by this invocation */
    size_t running;   /* runs in batches being replayed now */
} sweep_progress;

typedef struct sweep_opts {
    const char *out_dir;           /* the output folder (created if needed) */
    unsigned jobs;                 /* worker processes, >= 1 */
    unsigned batch;                /* configs per work item, 0 = SWEEP_BATCH_MAX */
    volatile sig_atomic_t *stop;   /* set (by a SIGINT handler): stop; may be NULL */
    /* Called with the counts: once before the first batch (skipped known),
     * about 10 times a second while running, and once at the end. */
    void (*progress)(const sweep_progress *p, void *ctx);
    /* Called with one line, "PATH:LINE: problem; moved to
     * DIR/damaged/ID.N.json", for each run file found damaged at the start
     * (its run is then replayed like a missing one); may be NULL. */
    void (*warn)(const char *line, void *ctx);
    void *ctx;                     /* passed to progress and warn */
    /* One shard of the runs (`mmusim sweep --shard`, a Slurm array task):
     * with shard_count > 1 only the runs i, counted from 0 in run order,
     * with i % shard_count == shard_index (< shard_count); the counts and
     * tables cover those.  0 = every run. */
    unsigned shard_index, shard_count;
} sweep_opts;

/* Configs replayed together on one decode of a trace (replay_run_multi):
 * more saves decoding, fewer keeps the workers busy on small sweeps. */
#define SWEEP_BATCH_MAX 16

typedef enum sweep_status {
    SWEEP_DONE = 0,       /* every run has its file */
    SWEEP_STOPPED,        /* *stop was set: finished runs are kept */
    SWEEP_ERROR = -1,     /* err filled: exit status 2 */
} sweep_status;

/* Run what is missing: runs without a file, or whose file
 * sweep_runs_check does not accept (a damaged one is moved aside, see
 * Trust above; one that cannot be read is an error).  Workers are forked; each batch (one trace, up to
 * `batch` configs with equal cpu.cpus and os.quantum; by one pass: every
 * missing run of the trace) is one child that replays with
 * replay_run_multi (or onepass_replay) and writes its runs' files.  The caller
 * must not have other children it waits for with waitpid(-1). */
sweep_status sweep_run(const sweep_spec *s, const sweep_opts *o, sweep_progress *counts, char *err,
                       size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
