/* The workload kernels of traces/workloads, run natively at tiny sizes:
 * each prints the checksum derived here by hand or by an independent
 * computation (another algorithm over the same generated input: an
 * adjacency matrix for BFS, push-style PageRank over the dumped edges,
 * arithmetic for the hash join and the B+-tree, a plain array for the
 * key-value store); bad arguments end with status 2 and one line; and a
 * kernel recorded under lackey computes what it computes natively. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../traces/workloads/wl_rand.h"
#include "support/run_prog.h"
#include "support/scratch.h"

static char out[1 << 17], err[1 << 12];

/* Runs `BIN/wl-KERNEL ARGS`; its status, stdout and stderr in out/err. */
static int wl(const char *kernel, const char *args)
{
    return prog_capturef(NULL, out, sizeof out, err, sizeof err, "'%s/wl-%s' %s", MMUSIM_BIN_DIR, kernel, args);
}

static void expect_line(const char *kernel, const char *args, const char *line)
{
    cr_assert_eq(wl(kernel, args), 0, "wl-%s %s: %s", kernel, args, err);
    cr_expect_str_eq(out, line, "wl-%s %s", kernel, args);
    cr_expect_str_eq(err, "");
}

/* GUPS on 16 words, Table[i] = i.  ran doubles from 1 while its top bit is
 * clear: updates 1-3 are 2, 4, 8 and clear Table[2], [4], [8]; 4 and 5 are
 * 16 and 32, both at index 0: Table[0] = 48.  Sum 120 - 14 + 48 = 154 =
 * 0x9a, xor 0 ^ 2 ^ 4 ^ 8 ^ 16 ^ 32 = 0x3e.  After 2^63 (update 63) comes
 * (2^63 << 1) ^ 7 = 7, clearing Table[7]; so after 64 updates Table[0] =
 * 2^4 ^ ... ^ 2^63 = 0xff..f0, the sum is 120 - 21 - 16 = 83 = 0x53 (mod
 * 2^64) and the xor 2^1 ^ ... ^ 2^63 ^ 7 = 0xff..f9. */
Test(workloads, gups_by_hand)
{
    expect_line("gups", "128 5", "gups words=16 updates=5 sum=0x000000000000009a xor=0x000000000000003e\n");
    expect_line("gups", "128 64", "gups words=16 updates=64 sum=0x0000000000000053 xor=0xfffffffffffffff9\n");
    /* 200 bytes hold 25 words: the table is the 16 of the largest power of two. */
    expect_line("gups", "200 0", "gups words=16 updates=0 sum=0x0000000000000078 xor=0x0000000000000000\n");
}

/* The edge list and roots of `wl-KERNEL --dump`, parsed. */
typedef struct dumped {
    uint64_t n, m, nroots;
    uint32_t (*edge)[2];
    uint32_t root[16];
} dumped;

static dumped dump(const char *kernel, const char *args)
{
    char line[128];
    snprintf(line, sizeof line, "--dump %s", args);
    cr_assert_eq(wl(kernel, line), 0, "%s", err);
    dumped d = {0};
    char *p = out;
    int k;
    cr_assert_eq(sscanf(p, "vertices %" SCNu64 " edges %" SCNu64 "%n", &d.n, &d.m, &k), 2, "%s", out);
    p += k;
    cr_assert_eq(d.m, 16 * d.n, "R-MAT with 16 edges per vertex");
    d.edge = calloc(d.m, sizeof *d.edge);
    for (uint64_t e = 0; e < d.m; e++) {
        cr_assert_eq(sscanf(p, "%" SCNu32 " %" SCNu32 "%n", &d.edge[e][0], &d.edge[e][1], &k), 2, "edge %" PRIu64,
                     e);
        cr_assert(d.edge[e][0] < d.n && d.edge[e][1] < d.n);
        p += k;
    }
    while (sscanf(p, " root %" SCNu32 "%n", &d.root[d.nroots], &k) == 1) {
        d.nroots++;
        p += k;
    }
    cr_assert_str_eq(p, "\n", "nothing after the roots");
    return d;
}

/* BFS over an adjacency matrix of the dumped edges (both directions): the
 * vertices reached, their level sum and the deepest level must be what the
 * CSR kernel prints.  144 x 256 bytes fit scale 8 exactly. */
Test(workloads, bfs_against_an_adjacency_matrix)
{
    enum { N = 256, SEARCHES = 3 };
    dumped d = dump("bfs", "36864 3");
    cr_assert_eq(d.n, N);
    cr_assert_eq(d.nroots, SEARCHES);
    static bool adj[N][N];
    for (uint64_t e = 0; e < d.m; e++)
        adj[d.edge[e][0]][d.edge[e][1]] = adj[d.edge[e][1]][d.edge[e][0]] = true;
    uint64_t reached = 0, levelsum = 0;
    int deepest = 0;
    for (uint64_t s = 0; s < SEARCHES; s++) {
        int level[N];
        for (int v = 0; v < N; v++)
            level[v] = -1;
        level[d.root[s]] = 0;
        /* Level by level: every unreached neighbour of level l is level l + 1. */
        for (int l = 0, grew = 1; grew; l++) {
            grew = 0;
            for (int v = 0; v < N; v++)
                for (int w = 0; w < N && level[v] == l; w++)
                    if (adj[v][w] && level[w] < 0) {
                        level[w] = l + 1;
                        grew = 1;
                    }
        }
        for (int v = 0; v < N; v++)
            if (level[v] >= 0) {
                reached++;
                levelsum += (uint64_t)level[v];
                deepest = level[v] > deepest ? level[v] : deepest;
            }
    }
    free(d.edge);
    cr_assert(reached > SEARCHES, "the roots have edges");
    char line[256];
    snprintf(line, sizeof line,
             "bfs scale=8 vertices=256 edges=4096 searches=3 reached=%" PRIu64 " levelsum=%" PRIu64 " deepest=%d\n",
             reached, levelsum, deepest);
    expect_line("bfs", "36864 3", line);
}

/* PageRank pushed along the dumped edges (the kernel pulls through the
 * transpose): same scores to 9 digits.  92 x 64 bytes fit scale 6. */
Test(workloads, pagerank_against_push_style)
{
    enum { N = 64, ITERS = 20 };
    dumped d = dump("pagerank", "5888 20");
    cr_assert_eq(d.n, N);
    double score[N], next[N];
    unsigned outdeg[N] = {0};
    for (uint64_t e = 0; e < d.m; e++)
        outdeg[d.edge[e][0]]++;
    for (int v = 0; v < N; v++)
        score[v] = 1.0 / N;
    for (int it = 0; it < ITERS; it++) {
        double dangling = 0;
        for (int v = 0; v < N; v++)
            dangling += outdeg[v] ? 0 : score[v];
        for (int v = 0; v < N; v++)
            next[v] = (1 - 0.85) / N + 0.85 * dangling / N;
        for (uint64_t e = 0; e < d.m; e++)
            next[d.edge[e][1]] += 0.85 * score[d.edge[e][0]] / outdeg[d.edge[e][0]];
        memcpy(score, next, sizeof score);
    }
    free(d.edge);
    double sum = 0;
    int top = 0;
    for (int v = 0; v < N; v++) {
        sum += score[v];
        top = score[v] > score[top] ? v : top;
    }
    char line[256];
    snprintf(line, sizeof line,
             "pagerank scale=6 vertices=64 edges=1024 iterations=20 scoresum=%.9f top=%d topscore=%.9f\n", sum, top,
             score[top]);
    expect_line("pagerank", "5888 20", line);
}

/* 2000 bytes at 20 a tuple: R is 100 tuples, keys mix(1..100), in 64
 * buckets.  A probe of key mix(j + 1), j < 200, matches tuple j exactly
 * when j < 100 (mix is a bijection), so the join's result follows from the
 * probe stream alone. */
Test(workloads, hashjoin_by_key_arithmetic)
{
    wl_rng r = wl_rng_seed(0x686a0a);
    uint64_t matches = 0, sum = 0;
    for (int p = 0; p < 1000; p++) {
        uint64_t j = wl_below(&r, 200);
        if (j < 100) {
            matches++;
            sum += j;
        }
    }
    cr_assert(matches > 400 && matches < 600, "about half of the probes match");
    char line[256];
    snprintf(line, sizeof line,
             "hashjoin tuples=100 buckets=64 probes=1000 matches=%" PRIu64 " payloadsum=%" PRIu64 "\n", matches, sum);
    expect_line("hashjoin", "2000 1000", line);
}

/* 19000 bytes at 19 a key: 1000 keys 0, 2, ..., 1998 with values 0..999,
 * in ceil(1000 / 15) = 67 leaves, ceil(67 / 16) = 5 inner nodes and a root:
 * 73 nodes, height 3.  A lookup of q finds it exactly when q is even, with
 * value q / 2. */
Test(workloads, btree_by_key_arithmetic)
{
    wl_rng r = wl_rng_seed(0x62740a);
    uint64_t found = 0, sum = 0;
    for (int l = 0; l < 3000; l++) {
        uint64_t q = wl_below(&r, 2000);
        if (q % 2 == 0) {
            found++;
            sum += q / 2;
        }
    }
    char line[256];
    snprintf(line, sizeof line,
             "btree keys=1000 nodes=73 height=3 lookups=3000 found=%" PRIu64 " valuesum=%" PRIu64 "\n", found, sum);
    expect_line("btree", "19000 3000", line);
}

/* 1024 bytes hold 64 slots of 16: 32 records, record r holding r.  The
 * same operation stream applied to a plain array of 32 values gives the
 * gets' sum; the hash table must agree.  (The Zipf draws are tested for
 * skew, not value: the sampler is shared with the kernel.) */
Test(workloads, kvstore_against_a_plain_array)
{
    enum { N = 32, OPS = 4000 };
    uint64_t value[N], hits0 = 0;
    for (int r = 0; r < N; r++)
        value[r] = (uint64_t)r;
    wl_zipf z = wl_zipf_init(N, 0.99);
    wl_rng rng = wl_rng_seed(0x6b760a);
    uint64_t gets = 0, puts = 0, sum = 0;
    for (uint64_t op = 0; op < OPS; op++) {
        uint64_t rank = wl_zipf_next(&z, &rng);
        hits0 += rank == 0;
        uint64_t rec = wl_mix(rank + 1) % N;
        if (wl_below(&rng, 100) < 95) {
            gets++;
            sum += value[rec];
        } else {
            puts++;
            value[rec] = op;
        }
    }
    /* Zipf(0.99) over 32: P(rank 0) = 1 / zeta(32) ~ 0.245. */
    cr_assert(hits0 > OPS / 5 && hits0 < OPS * 3 / 10, "rank 0 drawn %" PRIu64 " times", hits0);
    cr_assert(puts > OPS / 40 && puts < OPS / 10);
    char line[256];
    snprintf(line, sizeof line,
             "kvstore slots=64 records=32 ops=4000 gets=%" PRIu64 " puts=%" PRIu64 " getsum=%" PRIu64 "\n", gets, puts,
             sum);
    expect_line("kvstore", "1024 4000", line);
}

/* Zipf's zeta(n) from 1024 exact terms and the Euler-Maclaurin tail
 * equals the plain sum (computed here) to 1e-9 at n = 5000. */
Test(workloads, zeta_tail_approximation)
{
    double exact = 0;
    for (int i = 1; i <= 5000; i++)
        exact += pow(i, -0.99);
    cr_assert(fabs(wl_zeta(5000, 0.99) - exact) < 1e-9 * exact, "%.12f vs %.12f", wl_zeta(5000, 0.99), exact);
}

/* Bad arguments: status 2, one line naming the program and the problem. */
typedef struct bad_case {   /* arrays, not pointers: Criterion copies parameters into the test's process */
    char kernel[16], iters[16], min[8];
} bad_case;

ParameterizedTestParameters(workloads, bad_arguments)
{
    static bad_case cases[] = {
        {"gups", "UPDATES", "8"},        {"bfs", "SEARCHES", "288"},  {"pagerank", "ITERATIONS", "184"},
        {"hashjoin", "PROBES", "20"},    {"btree", "LOOKUPS", "19"},  {"kvstore", "OPS", "64"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, workloads, bad_arguments)
{
    bool dump = strcmp(c->kernel, "bfs") == 0 || strcmp(c->kernel, "pagerank") == 0;
    char usage[128], want[256];
    snprintf(usage, sizeof usage, "(usage: wl-%s %sFOOTPRINT %s)\n", c->kernel, dump ? "[--dump] [--cache FILE] " : "", c->iters);
    struct {
        const char *args, *msg;
    } lines[] = {
        {"", "missing FOOTPRINT "},
        {"1M", "missing ITERATIONS "},
        {"12Q 5", "bad FOOTPRINT '12Q': expected bytes with an optional K, M, G or T suffix "},
        {"1M x", "bad ITERATIONS 'x': expected a count with an optional K, M, G or T suffix "},
        {"1M 99999999999999999999", "bad ITERATIONS '99999999999999999999': expected a count with an optional K, M, "
                                    "G or T suffix "},
        {"20000000T 1", "bad FOOTPRINT '20000000T': expected bytes with an optional K, M, G or T suffix "},
        {"1M 5 6", "unexpected argument '6' "},
        {"--fast 1M 5", "unknown option '--fast' "},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cr_expect_eq(wl(c->kernel, lines[i].args), 2, "wl-%s %s", c->kernel, lines[i].args);
        snprintf(want, sizeof want, "wl-%s: %s%s", c->kernel, lines[i].msg, usage);
        cr_expect_str_eq(err, want);
        cr_expect_str_eq(out, "");
    }
    /* One byte below the smallest footprint (bytes of two vertices for the
     * graphs, one tuple, one key, four 16-byte slots). */
    char args[64];
    snprintf(args, sizeof args, "%llu 1", strtoull(c->min, NULL, 10) - 1);
    cr_expect_eq(wl(c->kernel, args), 2);
    snprintf(want, sizeof want, "wl-%s: FOOTPRINT %llu is below the smallest, %s bytes\n", c->kernel,
             strtoull(c->min, NULL, 10) - 1, c->min);
    cr_expect_str_eq(err, want);
    snprintf(args, sizeof args, "%s 1", c->min);
    cr_expect_eq(wl(c->kernel, args), 0, "the smallest footprint runs: %s", err);
    if (!dump) {
        cr_expect_eq(wl(c->kernel, "--dump 1M 1"), 2);
        return;
    }
    cr_expect_eq(wl(c->kernel, "1M 1 --cache"), 2);
    snprintf(want, sizeof want, "wl-%s: --cache needs a FILE %s", c->kernel, usage);
    cr_expect_str_eq(err, want);
}

/* A graph kernel run from its --cache file prints what a run that
 * generates the graph prints; a cache made for another graph (a smaller
 * scale, the other kernel's direction) or cut short is made again. */
Test(workloads, graph_cache_gives_the_same_result)
{
    char dir[64], args[160], fresh[256], bfs_fresh[256];
    scratch_make(dir, "test_workloads");
    const char *runs[][2] = {{"bfs", "36864 3"}, {"pagerank", "5888 20"}};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(wl(runs[k][0], runs[k][1]), 0, "%s", err);
        memcpy(fresh, out, strlen(out) + 1);
        if (k == 0)
            memcpy(bfs_fresh, out, strlen(out) + 1);
        for (int pass = 0; pass < 2; pass++) {   /* saves, then loads */
            snprintf(args, sizeof args, "--cache %s/g.csr %s", dir, runs[k][1]);
            cr_assert_eq(wl(runs[k][0], args), 0, "%s", err);
            cr_expect_str_eq(out, fresh, "%s pass %d", runs[k][0], pass);
        }
        char cut[192];
        snprintf(cut, sizeof cut, "truncate -s 1000 %s/g.csr", dir);
        cr_assert_eq(system(cut), 0);
        cr_assert_eq(wl(runs[k][0], args), 0, "%s", err);
        cr_expect_str_eq(out, fresh, "%s from a cut cache", runs[k][0]);
    }
    /* g.csr now holds pagerank's graph: bfs makes its own again. */
    snprintf(args, sizeof args, "--cache %s/g.csr 36864 3", dir);
    cr_assert_eq(wl("bfs", args), 0, "%s", err);
    cr_expect_str_eq(out, bfs_fresh);
    scratch_remove(dir);
}

/* Recorded under lackey, a kernel computes what it computes natively, and
 * its trace has the ROI's accesses in it. */
Test(workloads, recorded_run_prints_the_native_checksum)
{
    char dir[64];
    scratch_make(dir, "test_workloads");
    cr_assert_eq(wl("gups", "64K 1000"), 0, "%s", err);
    char native[256];
    cr_assert_lt(strlen(out), sizeof native);
    memcpy(native, out, strlen(out) + 1);
    cr_assert_eq(prog_capturef(dir, out, sizeof out, err, sizeof err,
                               "$M trace record -o $D/g.trace.zst -- '%s/wl-gups' 64K 1000", MMUSIM_BIN_DIR),
                 0, "%s", err);
    cr_expect_str_eq(out, native);
    cr_assert_eq(prog_capture("$M trace info $D/g.trace.zst", dir, out, sizeof out, err, sizeof err), 0, "%s", err);
    /* Table init (8192 stores) and 1000 updates (a load and a store each)
     * at least: the run is recorded, not just the program's start. */
    char *s = strstr(out, "\naccesses.store: ");
    cr_assert_not_null(s, "%s", out);
    cr_expect_gt(strtoull(s + strcspn(s, "0123456789"), NULL, 10), 8192 + 1000);
    scratch_remove(dir);
}
