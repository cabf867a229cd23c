/* sweep.h -- parameter sweeps: a YAML spec expanded into runs, each run
 * identified by a hash, replayed in batches, each result written once and
 * atomically.  The library runs a batch in the calling process; `mmusim
 * sweep` runs the batches on a pool of worker processes.
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
 * Besides config keys, set:, params: and zip: take the replay's phases
 * (replay.h, Phases): replay.skip, replay.warmup, replay.max (counts as
 * `mmusim run --skip` takes them; max 0 = no limit) and replay.roi (true or
 * false).  A run with any of them set has them in its id (after the
 * config's YAML, "replay.skip=N\n" ... "replay.roi=true|false\n" go into the
 * hash) and in its run file (param.replay.KEY when swept, config.replay.KEY
 * for all four, after the config's keys); a run with none set has the id
 * and file it always had.  A spec with phases runs direct (one pass has
 * none).
 *
 * Points are the cartesian product of the dimensions -- the params keys in
 * order, then the zip groups in order -- the first dimension varying
 * slowest.  Runs are every (trace, point) pair, trace-major.  Errors (an
 * unknown key, an empty list, zipped lists of unequal length, a config key
 * or value cfg_set refuses, a point cfg_validate refuses, a missing trace)
 * are found at load time, all of them that can be told apart: each is one
 * line "SPEC:LINE: problem", sorted by line, and when there are several a
 * last line "SPEC: N errors" counts them.
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
 * files -- rows in run order, runs without a file left out
 * (sweep_dir_write_tables; `mmusim sweep` rebuilds them after finished
 * batches, at most once a second, and at the end).
 *
 * Trust.  A run file is used (skipped at resume, listed in the tables) only
 * once sweep_runs_check accepts it as its run's: a whole JSON object whose
 * id is the one its name says and whose every byte is what this sweep
 * writes for that run, its counter values aside (each a whole number; a
 * direct run has "cycles", a one-pass run has not).  A sweep moves a
 * file that fails to DIR/damaged/ID.N.json (N = 1, 2, ... the first free),
 * reports it (sweep_dir_open's warn) and replays the run.  Other files in
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

/* Load, check and expand a spec; NULL with its errors in err: one line
 * "SPEC:LINE: problem" each (lines separated by '\n', none after the
 * last), sorted by line, then "SPEC: N errors" when there are several.
 * Lines that do not fit in errlen are left out ("SPEC: N errors, the first
 * K shown").  A YAML syntax error stops loading: it is the one error. */
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
 * a sweep and its shards count runs in -- with what checking a run file
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
 * one test a sweep and `sweep collect` apply before they trust a file
 * (see Trust above).  Every outcome but SWEEP_FILE_OK puts one line in
 * err: "PATH:LINE: problem" (or "PATH: problem" when no line applies). */
sweep_file sweep_runs_check(const sweep_runs *r, size_t i, const char *path, char *err, size_t errlen);

/* "DIR/NAME.yaml" -> "DIR/NAME-results" (malloc'd; NULL if out of memory). */
char *sweep_default_out(const char *spec_path);

/* Configs replayed together on one decode of a trace (replay_run_multi):
 * more saves decoding, fewer spreads a small sweep over more workers. */
#define SWEEP_BATCH_MAX 16

/* ---- the output folder ----------------------------------------------------
 *
 * A sweep's output folder as the library keeps it: the runs of the sweep
 * (or of one shard), which of them are finished, the plan of batches that
 * replays the rest, and the tables.  Everything runs in the calling
 * process; `mmusim sweep` forks a worker per batch (its pool, in the
 * command line program) and an embedder may run the batches one after
 * another:
 *
 *     sweep_runs *r = sweep_runs_create(spec, err, n);
 *     sweep_dir *d = sweep_dir_open(r, "out", 0, 0, NULL, NULL, err, n);
 *     for (size_t b = 0, nb = sweep_dir_plan(d, 0); b < nb; b++)
 *         if (sweep_dir_run_batch(d, b, NULL, err, n) != SWEEP_DONE) ...;
 *     sweep_dir_write_tables(d, err, n);
 *     sweep_dir_free(d);
 *     sweep_runs_free(r);
 *
 * The bytes written (run files, tables) do not depend on the plan or on
 * which process ran which batch. */
typedef struct sweep_dir sweep_dir;

typedef enum sweep_status {
    SWEEP_DONE = 0,       /* the batch's runs have their files */
    SWEEP_STOPPED,        /* *stop was set: the runs finished before are kept */
    SWEEP_ERROR = -1,     /* err filled: exit status 2 */
} sweep_status;

/* Open the output folder `dir` for the runs r -- all of them, or with
 * shard_count > 1 only the runs i, counted from 0 in run order, with
 * i % shard_count == shard_index (< shard_count): `mmusim sweep --shard`, a
 * Slurm array task.  Makes DIR/runs, takes a write lock on DIR/.lock (one
 * sweep at a time writes to a folder; held until sweep_dir_free), removes
 * the temporary files a killed sweep left, and checks the file of every
 * run (sweep_runs_check): an accepted one makes its run finished; a damaged
 * one is moved to DIR/damaged/ID.N.json (see Trust above) and reported
 * through warn (may be NULL) with one line "PATH:LINE: problem; moved to
 * DIR/damaged/ID.N.json", its run then missing like one without a file.  r
 * must outlive the folder.  NULL with one line in err: a folder that cannot
 * be made, "DIR: another sweep is writing to this folder", a run file that
 * cannot be read or moved. */
sweep_dir *sweep_dir_open(const sweep_runs *r, const char *dir, unsigned shard_index, unsigned shard_count,
                          void (*warn)(const char *line, void *ctx), void *ctx, char *err, size_t errlen);
/* Releases the lock; what is written stays. */
void sweep_dir_free(sweep_dir *d);

size_t sweep_dir_runs(const sweep_dir *d);       /* the runs of this sweep (of the shard) */
size_t sweep_dir_finished(const sweep_dir *d);   /* of them, those with a run file */

/* Plan the batches that replay the missing runs; returns their number,
 * numbered from 0 (an earlier plan is dropped).  A batch is one work item:
 * runs of one trace with equal cpu.cpus and os.quantum, in run order, at
 * most `max` of them (0 = SWEEP_BATCH_MAX), replayed with
 * replay_run_multi -- or, when the spec's runs are made by one pass (see
 * Method above), every missing run of the trace, whatever `max`, in one
 * tapped replay (onepass_replay). */
size_t sweep_dir_plan(sweep_dir *d, size_t max);
size_t sweep_dir_batch_size(const sweep_dir *d, size_t b);        /* its runs */
const char *sweep_dir_batch_trace(const sweep_dir *d, size_t b);  /* its trace, as sweep_trace_path */

/* Replay batch b in this process and write its runs' files; its runs are
 * then finished.  `stop` is the replay's (replay_opts.stop; may be NULL):
 * SWEEP_STOPPED when it is set before the batch's counters are written
 * (runs of a batch of more than SWEEP_BATCH_MAX direct runs written before
 * stay, and count once the folder is opened again).  SWEEP_ERROR with one
 * line in err: a bad trace, a file that cannot be written. */
sweep_status sweep_dir_run_batch(sweep_dir *d, size_t b, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Count batch b's runs finished: another process (a worker of the pool)
 * ran sweep_dir_run_batch on it to its end. */
void sweep_dir_batch_done(sweep_dir *d, size_t b);

/* Rebuild DIR/results.csv and DIR/results.jsonl from the finished runs'
 * files (rows in run order, runs without a file left out), each through a
 * temporary name and rename.  A file that fails its check now (a file this
 * sweep trusted or wrote) is an error: -1 with one line in err. */
int sweep_dir_write_tables(sweep_dir *d, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
