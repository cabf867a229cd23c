/* sweep_slurm.h -- a sweep as a Slurm job array (sweep_slurm.c):
 * `mmusim sweep SPEC --emit slurm DIR` writes the array script and a
 * manifest, each array task runs one shard of the runs (`mmusim sweep SPEC
 * --shard K/N`, sweep_dir_open's shard_index/shard_count), and `mmusim sweep
 * collect DIR` merges the shards' run files into one result folder.
 *
 * The job folder:
 *
 *   DIR/manifest.json   what was emitted: the spec's absolute path and
 *                       content hash, the mmusim program, each shard's run ids
 *   DIR/sweep.sbatch    the job array, one task per shard
 *   DIR/logs/           each task's stdout and stderr (JOB_TASK.out|err)
 *   DIR/shards/K/       task K's output folder (runs/ID.json, its tables)
 *   DIR/results/        written by collect: runs/, results.csv, results.jsonl
 *
 * Shard K of N holds the runs i (counted from 0 in run order) with
 * i % N == K: round-robin, so every shard gets a like mix of the traces and
 * the tasks of an array take about equally long. */
#ifndef MMUSIM_SWEEP_SLURM_H
#define MMUSIM_SWEEP_SLURM_H

#include <stdbool.h>

#include "mmusim/sweep.h"

/* Array tasks --emit makes when not told: one per SWEEP_BATCH_MAX runs (a
 * task then decodes each trace about once), at most this many -- Slurm's
 * default MaxArraySize, 1001, admits task ids 0..1000. */
#define SLURM_SHARDS_MAX 1000

typedef struct slurm_emit_opts {
    const char *dir;    /* the job folder; created if needed */
    unsigned shards;    /* array tasks, 1..runs; 0 = the default above */
    unsigned cpus;      /* each task's --cpus-per-task and --jobs; 0 = 1 */
} slurm_emit_opts;

/* Write DIR/manifest.json and DIR/sweep.sbatch for a loaded spec (found at
 * spec_path) and print how to submit and collect.  Bad input (options, an
 * unusable folder) ends the program with exit status 2 and one line. */
void slurm_emit(const sweep_spec *spec, const char *spec_path, const slurm_emit_opts *o);

/* Check DIR/manifest.json and its spec, check every shard's run files as a
 * local sweep does (sweep_runs_check), then copy them into DIR/results and
 * rebuild its tables (nothing is replayed).  A run without a file is an
 * error naming its shards, unless `partial`: then the tables list the runs
 * that have one.  A damaged run file is always an error (collect cannot
 * replay it; the shard's task, run again, does).  Returns 0; bad input
 * ends the program with exit status 2 and one line naming the file. */
int slurm_collect(const char *dir, bool partial);

#endif
