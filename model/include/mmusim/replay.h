/* replay.h -- trace replay: the loop behind `mmusim run`.
 *
 * Reads one or more traces (trace_reader), feeds OS-event records to the OS
 * model as calls of its API (os_switch, os_fork, os_mmap, ...), instruction
 * counts to os_instructions and accesses to os_access, then writes the
 * report.  The OS model knows nothing of the trace format.
 *
 * Several traces are one workload.  A trace that carries its own process
 * events (switch/fork/exec/exit/mmap) is replayed as it is (a file's footer
 * says whether it does; a pipe shows it before its first access, and a
 * plain-looking pipe that shows an event later is an error).  A trace without
 * them (lackey, ChampSim) becomes one process: trace i is pid 1000+i.  When
 * there are at least as many CPUs as such traces, trace i runs on CPU i and
 * the traces are interleaved record by record; otherwise they time-share
 * CPU 0, switching every `os.quantum` accesses, round robin.  Processes of
 * different traces stay apart: a pid that an earlier trace (or a plain
 * trace's 1000+i) has already is renamed (i+1)*1000000 + pid in trace i.
 *
 * Memory: constant in the length of the traces.  (A pipe's instruction
 * counts before its first access are summed per CPU while the replay looks
 * for that access; in a workload of several traces they are then credited
 * at the pipe's first turns, which an interval row or an out-of-memory stop
 * before its first access shows.)
 *
 * Output: the report (text, JSON or CSV, report.h) of os_export_stats and
 * os_export_breakdown, with every trace file's hash, on `out` when the
 * replay ends -- at the end of the traces, at an OOM stop, or
 * when *stop becomes nonzero (Ctrl-C: the counters so far).  With
 * interval > 0, instead, one CSV header and then one row every `interval`
 * accesses (counters accumulated during that interval, plus the running
 * access count and cycle), the last row for the remainder.  The columns:
 * interval, accesses, cycles, then the counters in export order as of the
 * first row (the counter "cycles" as "cycles.delta"; a per-process counter
 * of a process created later has no column).
 *
 * Progress: when `progress` is set, it is called with the accesses replayed
 * so far every REPLAY_PROGRESS_RECORDS records (a millisecond or two of
 * replay: the callback throttles what it draws), then once more when the
 * replay loop ends, however it ends, with `end` set and before the report
 * is written.  The counts never go down.  The library writes nothing to a
 * terminal; `mmusim run` draws its progress bar from these calls.
 *
 * Phases (skip, warmup, max, roi; `mmusim run --skip/--warmup/--max/--roi`).
 * A replay runs through these, in order:
 *   1. with roi: every record before the first ROI begin marker (TR_ROI)
 *      of the workload is skipped (as in 2);
 *   2. `skip` units are skipped: accesses drive only the OS model
 *      (os_touch: page tables built, faults handled; no TLB, page-walk
 *      cache or memory-model state, no walks, no accessed/dirty bits),
 *      events are applied as usual (their CR3 writes and invalidations
 *      reach the MMUs), instruction counts are counted, and no simulated
 *      time passes (os_set_untimed);
 *   3. `warmup` units run the full model;
 *   4. the counters are zeroed (os_reset_stats: state stays, "cycles"
 *      counts from here) and the measurement runs for at most `max` units
 *      (0: no limit) -- to the end of the traces, or, with roi, to the
 *      first ROI end marker after the begin marker, whichever comes first.
 *      The report and the interval rows (-I: their accesses and cycles
 *      columns count from here too) cover only this part.
 * A unit is an instruction when every trace of the workload carries
 * instruction counts (its footer counts some; a pipe: it has one before its
 * first access), else an access.  In instructions, a phase ends inside an
 * instruction-count record when the count crosses its end: the record is
 * split, the rest credited to the next phase (so a measurement of `max`
 * instructions retires exactly that many if the trace has them).  In
 * accesses, a phase ends with its last access; the records after it belong
 * to the next phase.  With several traces the counts are the workload's
 * (every trace together, in the replay's order).  The traces ending (or,
 * with roi, the ROI's end marker coming) before the measurement begins is
 * an error: with roi and no begin marker, "FILE: --roi: no ROI begin marker
 * in the trace"; else "FILE: the trace ends during --skip (after N of its
 * M instructions): nothing is measured".  An end marker before the first
 * begin marker, and any marker after it but the first end, change nothing;
 * without roi, markers change nothing.  With none of the four set the
 * replay measures everything, as before. */
#ifndef MMUSIM_REPLAY_H
#define MMUSIM_REPLAY_H

#include <signal.h>
#include <stdio.h>

#include "mmusim/cfg.h"
#include "mmusim/mmu.h"
#include "mmusim/report.h"
#include "mmusim/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records between two progress calls (and two looks at *stop). */
#define REPLAY_PROGRESS_RECORDS 65536u

typedef struct replay_progress {
    uint64_t accesses;   /* replayed so far, every trace together */
    uint64_t total;      /* accesses of every trace, from the footers; 0 = unknown (a pipe) */
    bool end;            /* the last call: the replay loop has ended */
} replay_progress;

typedef struct replay_opts {
    const char *const *traces;   /* paths; "-" = stdin (at most one) */
    unsigned ntraces;            /* >= 1 */
    report_format format;
    uint64_t interval;           /* accesses per interval row; 0 = one report */
    /* Called with the progress (see Progress above), progress_ctx passed
     * along; NULL: none. */
    void (*progress)(const replay_progress *p, void *ctx);
    FILE *out;
    volatile sig_atomic_t *stop; /* may be NULL */
    const char *title;           /* the report's title, e.g. the command line */
    const mmu_tap *tap;          /* installed on every CPU's MMU of the first configuration's
                                    machine (onepass.h); NULL: none */
    void *progress_ctx;          /* for progress */
    /* Phases (see Phases above); all 0/false: measure everything. */
    uint64_t skip;               /* units skipped (OS model only) */
    uint64_t warmup;             /* units that warm the model, counters discarded */
    uint64_t max;                /* units measured at most; 0 = no limit */
    bool roi;                    /* start at the first ROI begin marker, end at the end marker */
    /* The text report's lines (report.h); events: names or patterns of
     * counters and metrics, checked against the configured machine's
     * counters before the replay starts (an unknown one: REPLAY_ERROR). */
    report_view view;
    const char *const *events;
    unsigned nevents;
} replay_opts;

typedef enum replay_status {
    REPLAY_DONE = 0,      /* every trace replayed */
    REPLAY_STOPPED,       /* *stop was set: the report has the counters so far */
    REPLAY_OOM,           /* physical memory ran out under exhaustion: stop */
    REPLAY_ERROR = -1,    /* bad input (err filled): exit status 2 */
} replay_status;

/* A phase length as `mmusim run --skip` and sweep specs take it: decimal
 * digits and an optional suffix K, M or G (10^3, 10^6, 10^9: counts of
 * instructions or accesses, not sizes).  0 and *v set, or -1 for anything
 * else (a bad suffix, a sign, a value over 2^64 - 1). */
#define REPLAY_COUNT_SYNTAX "digits with an optional K, M or G suffix (10^3, 10^6, 10^9)"
int replay_parse_count(const char *s, uint64_t *v);

/* Replay and report.  On REPLAY_ERROR nothing more is written to out than
 * was already written (with interval rows, earlier rows stay). */
replay_status replay_run(const mm_config *cfg, const replay_opts *o, char *err, size_t errlen);

/* Replay the same workload (o->traces) on k configurations in one pass:
 * every record is decoded once and fed to k independent machines (one
 * os_create each), so k configurations cost far less than k replays.  No
 * report is written (o->format, interval, out, title are ignored;
 * progress and stop are honoured): out[i] receives machine i's counters,
 * exactly as replay_run would have reported them for cfgs[i] (a test
 * checks counter-for-counter equality), and status[i] how machine i
 * ended (a machine that runs out of memory under `exhaustion: stop` stops
 * while the others go on).  The k configurations must agree on cpu.cpus and
 * os.quantum, which decide the workload's schedule (else REPLAY_ERROR).
 * Each out[i] is a new list the caller frees (all NULL on REPLAY_ERROR).
 * Returns REPLAY_ERROR (err filled) for bad input, else REPLAY_STOPPED if
 * *stop was set, else REPLAY_DONE.  The counters are os_export_stats's
 * then os_export_breakdown's (cpuN.*, pidN.*), as the report has them. */
replay_status replay_run_multi(const mm_config *cfgs, unsigned k, const replay_opts *o, stats **out,
                               replay_status *status, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
