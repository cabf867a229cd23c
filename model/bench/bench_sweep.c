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
 * then, with a blocking core (frontend.max_outstanding 1), where the
 * one-pass method (onepass.h) applies to the same 16 geometries:
 *   single blocking: replay_run_multi of the blocking base alone;
 *   one-pass method: onepass_replay of the 16 blocking configurations (one
 *              tapped replay plus the LRU stacks: exact L1 counters, no
 *              cycles);
 * and prints the times and the ratios one pass / single (the issue's
 * target: at most 4), separate / single, one-pass method / single
 * blocking (target: at most 1.5), and sanity lines (the spread of L1 dTLB
 * misses over the 16 configurations; the one-pass rows checked, counter
 * for counter, against a direct pass of the blocking configurations,
 * untimed). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmusim/cfg.h"
#include "mmusim/onepass.h"
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

/* replay_run_multi (or, with one_pass, onepass_replay) of cfgs[0..k) on
 * the trace; seconds.  The counters go to out[] when out is not NULL
 * (caller frees), else are freed. */
static double run_pass(const mm_config *cfgs, unsigned k, const char *path, stats **out, bool one_pass)
{
    const char *traces[1] = {path};
    replay_opts o = {.traces = traces, .ntraces = 1};
    stats *res[NCFG];
    replay_status status[NCFG];
    char err[4608];
    bool exact = true;
    double t = now_s();
    replay_status rs = one_pass ? onepass_replay(cfgs, k, &o, res, status, &exact, err, sizeof err)
                               : replay_run_multi(cfgs, k, &o, res, status, err, sizeof err);
    t = now_s() - t;
    if (rs != REPLAY_DONE)
        fail("replay", err);
    if (!exact)
        fail("one pass", "not exact on this trace (pages reclaimed?): the sweep would replay directly");
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

static double pass(const mm_config *cfgs, unsigned k, const char *path, stats **out)
{
    return run_pass(cfgs, k, path, out, false);
}

/* Every counter of each one-pass row equals the direct row's; returns the
 * number compared (exits on a difference). */
static size_t check_rows(stats *const *one, stats *const *direct)
{
    size_t n = 0;
    for (unsigned i = 0; i < NCFG; i++)
        for (size_t j = 0; j < stats_count(one[i]); j++, n++) {
            bool found;
            uint64_t v = stats_get(direct[i], stats_name(one[i], j), &found);
            if (!found || v != stats_value(one[i], j)) {
                fprintf(stderr, "bench_sweep: config %u: %s: one pass %" PRIu64 ", direct %" PRIu64 "\n", i,
                        stats_name(one[i], j), stats_value(one[i], j), v);
                exit(1);
            }
        }
    return n;
}

/* The default preset, then KEY=VALUE assignments (NULL-terminated). */
static void make_config(mm_config *c, const char *const *sets)
{
    char err[4608];
    if (cfg_load(c, CFG_DEFAULT_PRESET, err, sizeof err) != 0)
        fail("config", err);
    for (size_t i = 0; sets[i]; i++)
        if (cfg_set(c, sets[i], err, sizeof err) != 0)
            fail("config", err);
    if (cfg_validate(c, err, sizeof err) != 0)
        fail("config", err);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : DEFAULT_TRACE;
    int runs = argc > 2 ? atoi(argv[2]) : 2;
    if (runs < 1)
        runs = 1;

    static const unsigned sets[4] = {4, 8, 16, 32}, ways[4] = {2, 4, 6, 8};
    static const char blocking[] = "frontend.max_outstanding=1";
    mm_config cfgs[NCFG], bcfgs[NCFG], base, bbase;
    for (unsigned i = 0; i < NCFG; i++) {
        char a[2][64];
        snprintf(a[0], sizeof a[0], "dtlb.4k.sets=%u", sets[i / 4]);
        snprintf(a[1], sizeof a[1], "dtlb.4k.ways=%u", ways[i % 4]);
        make_config(&cfgs[i], (const char *const[]){a[0], a[1], NULL});
        make_config(&bcfgs[i], (const char *const[]){a[0], a[1], blocking, NULL});
    }
    make_config(&base, (const char *const[]){NULL});
    make_config(&bbase, (const char *const[]){blocking, NULL});
    char why[512];
    if (!onepass_applies(bcfgs, NCFG, why, sizeof why))
        fail("one pass", why);

    double single = 0, multi = 0, separate = 0, bsingle = 0, onepass_t = 0;
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

        t = pass(&bbase, 1, path, NULL);
        bsingle = r == 0 || t < bsingle ? t : bsingle;
        t = run_pass(bcfgs, NCFG, path, NULL, true);
        onepass_t = r == 0 || t < onepass_t ? t : onepass_t;
    }
    stats *one[NCFG], *direct[NCFG];
    run_pass(bcfgs, NCFG, path, one, true);
    pass(bcfgs, NCFG, path, direct);
    size_t checked = check_rows(one, direct);
    for (unsigned i = 0; i < NCFG; i++) {
        stats_free(one[i]);
        stats_free(direct[i]);
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
    printf("single replay, blocking: %8.3f s   (frontend.max_outstanding 1)\n", bsingle);
    printf("16 configs, one-pass method: %8.3f s   %5.2fx single blocking (target <= 1.5x)\n", onepass_t,
           onepass_t / bsingle);
    printf("L1 dTLB misses over the 16 configs: %" PRIu64 " .. %" PRIu64 " of %" PRIu64 " lookups\n", lo, hi, acc);
    printf("one-pass rows vs a direct pass (blocking): %zu counters, all equal\n", checked);
    return 0;
}
