/* bench_sweep.c -- what a 16-configuration sweep costs against one replay.
 *
 * Usage: bench_sweep [TRACE] [RUNS]
 *   TRACE defaults to the bundled traces/sqlite3.trace.zst, found relative
 *   to the current directory (run it from the repository root), or under
 *   MMUSIM_SOURCE_DIR when the build defines it.  RUNS (default 2): each
 *   measurement is the best of that many.
 *   Build: the CMake target bench_sweep (model/CMakeLists.txt), or by hand
 *     cc -std=c11 -O2 -Imodel/include model/bench/bench_sweep.c LIBMMUSIM \
 *        -lyaml -lzstd -llzma -lz -lm
 *   Run:   ./build/model/bench_sweep [TRACE] [RUNS]   (from the repo root)
 *
 * In one process run it times, on the default preset:
 *   single:    replay_run_multi with one configuration (one replay, no
 *              report: machine set-up, reading, replay, the counters);
 *   one pass:  replay_run_multi with 16 configurations, dtlb.4k.sets in
 *              {4, 8, 16, 32} x dtlb.4k.ways in {2, 4, 6, 8}, the trace
 *              decoded once for all 16;
 *   separate:  the same 16 configurations as 16 replays of one each;
 * and prints the times and the ratios one pass / single (the issue's
 * target: at most 4) and separate / single, and a sanity line (the spread
 * of L1 dTLB misses over the 16 configurations). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmusim/cfg.h"
#include "mmusim/replay.h"
#include "mmusim/stats.h"

#include "bench_util.h"

#ifdef MMUSIM_SOURCE_DIR
#define DEFAULT_TRACE MMUSIM_SOURCE_DIR "/traces/sqlite3.trace.zst"
#else
#define DEFAULT_TRACE "traces/sqlite3.trace.zst"
#endif

#define NCFG 16


static void fail(const char *what, const char *err)
{
    fprintf(stderr, "bench_sweep: %s: %s\n", what, err);
    exit(1);
}

/* replay_run_multi of cfgs[0..k) on the trace; seconds.  The counters go
 * to out[] when out is not NULL (caller frees), else are freed. */
static double pass(const mm_config *cfgs, unsigned k, const char *path, stats **out)
{
    const char *traces[1] = {path};
    replay_opts o = {.traces = traces, .ntraces = 1};
    stats *res[NCFG];
    replay_status status[NCFG];
    char err[4608];
    double t = now_s();
    if (replay_run_multi(cfgs, k, &o, res, status, err, sizeof err) != REPLAY_DONE)
        fail("replay", err);
    t = now_s() - t;
    for (unsigned i = 0; i < k; i++) {
        if (status[i] != REPLAY_DONE)
            fail("replay", "a configuration stopped early (out of memory?)");
        if (out)
            out[i] = res[i];
        else
            stats_free(res[i]);
    }
    return t;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : DEFAULT_TRACE;
    int runs = argc > 2 ? atoi(argv[2]) : 2;
    if (runs < 1)
        runs = 1;

    static const unsigned sets[4] = {4, 8, 16, 32}, ways[4] = {2, 4, 6, 8};
    mm_config cfgs[NCFG];
    char err[4608];
    for (unsigned i = 0; i < NCFG; i++) {
        char a[64];
        if (cfg_load(&cfgs[i], CFG_DEFAULT_PRESET, err, sizeof err) != 0)
            fail("config", err);
        snprintf(a, sizeof a, "dtlb.4k.sets=%u", sets[i / 4]);
        if (cfg_set(&cfgs[i], a, err, sizeof err) != 0)
            fail("config", err);
        snprintf(a, sizeof a, "dtlb.4k.ways=%u", ways[i % 4]);
        if (cfg_set(&cfgs[i], a, err, sizeof err) != 0 || cfg_validate(&cfgs[i], err, sizeof err) != 0)
            fail("config", err);
    }
    mm_config base;
    if (cfg_load(&base, CFG_DEFAULT_PRESET, err, sizeof err) != 0 || cfg_validate(&base, err, sizeof err) != 0)
        fail("config", err);

    double single = 0, multi = 0, separate = 0;
    stats *out[NCFG] = {0};
    for (int r = 0; r < runs; r++) {
        double t = pass(&base, 1, path, NULL);
        single = r == 0 || t < single ? t : single;

        for (unsigned i = 0; i < NCFG; i++) {
            stats_free(out[i]);
            out[i] = NULL;
        }
        t = pass(cfgs, NCFG, path, out);
        multi = r == 0 || t < multi ? t : multi;

        t = 0;
        for (unsigned i = 0; i < NCFG; i++)
            t += pass(&cfgs[i], 1, path, NULL);
        separate = r == 0 || t < separate ? t : separate;
    }

    uint64_t lo = UINT64_MAX, hi = 0;
    uint64_t acc = stats_get(out[0], "dTLB-loads", NULL) + stats_get(out[0], "dTLB-stores", NULL);
    for (unsigned i = 0; i < NCFG; i++) {
        uint64_t m = stats_get(out[i], "dTLB-load-misses", NULL) + stats_get(out[i], "dTLB-store-misses", NULL);
        lo = m < lo ? m : lo;
        hi = m > hi ? m : hi;
        stats_free(out[i]);
    }

    printf("trace: %s (best of %d)\n", path, runs);
    printf("single replay:           %8.3f s\n", single);
    printf("16 configs, one pass:    %8.3f s   %5.2fx single (target <= 4x)\n", multi, multi / single);
    printf("16 configs, 16 replays:  %8.3f s   %5.2fx single\n", separate, separate / single);
    printf("one pass / 16 replays:   %8.2f\n", multi / separate);
    printf("L1 dTLB misses over the 16 configs: %" PRIu64 " .. %" PRIu64 " of %" PRIu64 " lookups\n", lo, hi, acc);
    return 0;
}
