/* sweep_pool.h -- `mmusim sweep`'s pool of worker processes (sweep_pool.c):
 * the batches of a sweep's output folder (sweep.h, sweep_dir) replayed by
 * forked workers, several at a time, with progress and Ctrl-C. */
#ifndef MMUSIM_SWEEP_POOL_H
#define MMUSIM_SWEEP_POOL_H

#include <signal.h>
#include <stddef.h>

#include "mmusim/sweep.h"

typedef struct sweep_pool_counts {
    size_t total;     /* distinct runs of the spec (of the shard) */
    size_t skipped;   /* found finished in runs/ before starting */
    size_t done;      /* finished by this invocation */
    size_t running;   /* runs in batches being replayed now */
} sweep_pool_counts;

typedef struct sweep_pool_opts {
    const char *out_dir;           /* the output folder (created if needed) */
    unsigned jobs;                 /* worker processes, >= 1 */
    volatile sig_atomic_t *stop;   /* set (by a SIGINT handler): stop; may be NULL */
    /* Called with the counts: once before the first batch (skipped known),
     * about 10 times a second while running, and once at the end. */
    void (*progress)(const sweep_pool_counts *c, void *ctx);
    /* A damaged run file moved aside (sweep_dir_open's warn); may be NULL. */
    void (*warn)(const char *line, void *ctx);
    void *ctx;                     /* passed to progress and warn */
    unsigned shard_index, shard_count;   /* as sweep_dir_open's; 0 = every run */
} sweep_pool_opts;

/* Replay what is missing in the output folder, a worker process per batch,
 * at most o->jobs at a time: batches of up to SWEEP_BATCH_MAX runs, fewer
 * when that keeps every worker busy on a small sweep.  Each worker runs
 * sweep_dir_run_batch and exits; its error message comes back on a pipe.
 * The tables are rebuilt after finished batches (at most once a second)
 * and at the end.  When *stop is set, the workers get SIGINT, finish or
 * drop their batch, and SWEEP_STOPPED comes back with the finished runs
 * kept.  SWEEP_ERROR with one line in err: the first error (the finished
 * runs stay in the tables).  *counts (may be NULL) gets the final counts.
 * The caller must have no other children it waits for with waitpid(-1). */
sweep_status sweep_pool_run(const sweep_spec *s, const sweep_pool_opts *o, sweep_pool_counts *counts, char *err,
                            size_t errlen);

#endif
