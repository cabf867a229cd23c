/* pagerank.c -- PageRank on an R-MAT graph, pull style (as the GAP
 * benchmark suite's pr kernel).
 *
 * Each iteration first spreads every vertex's score over its out-edges
 * (contrib[u] = score[u] / outdeg[u], a sequential pass), then gathers for
 * every vertex v the contributions of its in-neighbours through the
 * transposed CSR: score[v] = (1 - d) / n + d * (sum of contrib + dangling / n),
 * d = 0.85, where `dangling` is the score of the vertices without out-edges
 * (spread evenly so the scores keep summing to 1).  The gather reads
 * contrib[] at random: one random access per edge.
 *
 * FOOTPRINT sets the scale: the largest 2^scale vertices whose transposed
 * CSR (8-byte offsets, 16 4-byte in-neighbours), out-degrees (4 bytes),
 * scores and contributions (8 bytes each) fit, 92 bytes per vertex.
 * ITERATIONS fixed iterations (no convergence test, so runs are equal in
 * work).  Prints the sum of the scores and the top vertex with its score.
 * --dump prints the edge list instead; --cache FILE keeps the graph in
 * FILE for the next run (rmat.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "rmat.h"
#include "roi.h"

enum { PR_BYTES_PER_VERTEX = 8 + RMAT_EDGE_FACTOR * 4 + 4 + 8 + 8 };
#define PR_SEED UINT64_C(0x70720a)
#define PR_DAMPING 0.85

static const wl_spec spec = {
    .name = "wl-pagerank",
    .iters = "ITERATIONS",
    .about = "PageRank (damping 0.85, pull style) for ITERATIONS iterations on a directed R-MAT graph\n"
             "(a,b,c,d = .57,.19,.19,.05, 16 edges per vertex) of 2^scale vertices, 92 bytes per vertex\n"
             "within FOOTPRINT.  Prints the sum of the scores and the top vertex and its score.\n"
             "--dump prints the graph's edges instead; --cache FILE keeps the graph in FILE\n"
             "(read back when it matches: recording under valgrind then skips the generation).\n",
    .min_footprint = 2 * PR_BYTES_PER_VERTEX,
    .has_dump = true,
};

int main(int argc, char **argv)
{
    wl_args a = wl_parse(&spec, argc, argv);
    unsigned scale = rmat_scale_for(a.footprint, PR_BYTES_PER_VERTEX);
    csr in;
    uint32_t *outdeg;
    if (a.dump || !a.cache || !csr_load(&spec, a.cache, scale, CSR_IN, PR_SEED, &in, &outdeg)) {
        rmat_graph g = rmat_generate(&spec, scale, PR_SEED);
        if (a.dump) {
            rmat_dump(&g);
            rmat_free(&g);
            return wl_finish(&spec);
        }
        in = csr_build(&spec, &g, CSR_IN);
        outdeg = wl_calloc(&spec, in.n, sizeof *outdeg);
        for (uint64_t e = 0; e < g.m; e++)
            outdeg[g.edges[e].src]++;
        rmat_free(&g);
        if (a.cache)
            csr_save(&spec, a.cache, scale, CSR_IN, PR_SEED, &in, outdeg);
    }
    uint64_t n = in.n;
    double *score = wl_calloc(&spec, n, sizeof *score);
    double *contrib = wl_calloc(&spec, n, sizeof *contrib);
    for (uint64_t v = 0; v < n; v++)
        score[v] = 1.0 / (double)n;
    const double base = (1 - PR_DAMPING) / (double)n;

    MMUSIM_ROI_BEGIN();
    for (uint64_t it = 0; it < a.iters; it++) {
        double dangling = 0;
        for (uint64_t u = 0; u < n; u++) {
            if (outdeg[u]) {
                contrib[u] = score[u] / outdeg[u];
            } else {
                contrib[u] = 0;
                dangling += score[u];
            }
        }
        const double share = base + PR_DAMPING * dangling / (double)n;
        for (uint64_t v = 0; v < n; v++) {
            double s = 0;
            for (uint64_t e = in.off[v]; e < in.off[v + 1]; e++)
                s += contrib[in.adj[e]];
            score[v] = share + PR_DAMPING * s;
        }
    }
    MMUSIM_ROI_END();

    double sum = 0;
    uint64_t top = 0;
    for (uint64_t v = 0; v < n; v++) {
        sum += score[v];
        if (score[v] > score[top])
            top = v;
    }
    printf("pagerank scale=%u vertices=%" PRIu64 " edges=%" PRIu64 " iterations=%" PRIu64
           " scoresum=%.9f top=%" PRIu64 " topscore=%.9f\n",
           scale, n, in.m, a.iters, sum, top, score[top]);
    free(outdeg);
    free(score);
    free(contrib);
    csr_free(&in);
    return wl_finish(&spec);
}
