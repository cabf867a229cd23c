/* bfs.c -- breadth-first search on an R-MAT graph (Graph500's kernel 2).
 *
 * The graph (rmat.h) is made undirected in CSR form; each of SEARCHES
 * searches starts at a random vertex with at least one edge and runs a
 * top-down, queue-based BFS that records every reached vertex's level.
 * The queue is read in order, but the adjacency rows it names and the
 * level of every neighbour are scattered: one random access per edge.
 *
 * FOOTPRINT sets the scale: the largest 2^scale vertices whose CSR (8-byte
 * row offsets, 2 x 16 4-byte neighbours), levels and queue (4 bytes each)
 * fit, 144 bytes per vertex.  The edge list the graph is built from is
 * freed before the searches.  Prints, over all searches, the vertices
 * reached, the sum of their levels and the deepest level.  --dump prints
 * the edge list and the search roots instead; --cache FILE keeps the CSR
 * in FILE for the next run (rmat.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmat.h"
#include "roi.h"
#include "wl_rand.h"

enum { BFS_BYTES_PER_VERTEX = 8 + 2 * RMAT_EDGE_FACTOR * 4 + 4 + 4, BFS_ROOT_TRIES = 64 };
#define BFS_SEED UINT64_C(0x6266730a)

static const wl_spec spec = {
    .name = "wl-bfs",
    .iters = "SEARCHES",
    .about = "Breadth-first searches from random roots of an undirected R-MAT graph (a,b,c,d = .57,.19,.19,.05,\n"
             "16 edges per vertex) of 2^scale vertices, 144 bytes per vertex within FOOTPRINT.\n"
             "Prints the vertices reached, the sum of their levels and the deepest level over all searches.\n"
             "--dump prints the graph's edges and the roots instead; --cache FILE keeps the graph in FILE\n"
             "(read back when it matches: recording under valgrind then skips the generation).\n",
    .min_footprint = 2 * BFS_BYTES_PER_VERTEX,
    .has_dump = true,
};

/* A random vertex with an edge (after BFS_ROOT_TRIES misses, any vertex). */
static uint32_t pick_root(wl_rng *r, const csr *g)
{
    uint64_t v = 0;
    for (int t = 0; t < BFS_ROOT_TRIES; t++) {
        v = wl_below(r, g->n);
        if (g->off[v + 1] > g->off[v])
            break;
    }
    return (uint32_t)v;
}

int main(int argc, char **argv)
{
    wl_args a = wl_parse(&spec, argc, argv);
    unsigned scale = rmat_scale_for(a.footprint, BFS_BYTES_PER_VERTEX);
    csr c;
    if (a.dump || !a.cache || !csr_load(&spec, a.cache, scale, CSR_SYM, BFS_SEED, &c, NULL)) {
        rmat_graph g = rmat_generate(&spec, scale, BFS_SEED);
        c = csr_build(&spec, &g, CSR_SYM);
        if (a.dump)
            rmat_dump(&g);
        else if (a.cache)
            csr_save(&spec, a.cache, scale, CSR_SYM, BFS_SEED, &c, NULL);
        rmat_free(&g);
    }
    wl_rng r = wl_rng_seed(BFS_SEED + 1);
    if (a.dump) {
        for (uint64_t s = 0; s < a.iters; s++)
            printf("root %" PRIu32 "\n", pick_root(&r, &c));
        csr_free(&c);
        return wl_finish(&spec);
    }
    int32_t *level = wl_calloc(&spec, c.n, sizeof *level);
    uint32_t *queue = wl_calloc(&spec, c.n, sizeof *queue);
    uint64_t reached = 0, levelsum = 0;
    int32_t deepest = 0;

    MMUSIM_ROI_BEGIN();
    for (uint64_t s = 0; s < a.iters; s++) {
        memset(level, 0xff, c.n * sizeof *level);   /* -1: not reached */
        uint32_t root = pick_root(&r, &c);
        uint64_t head = 0, tail = 0;
        level[root] = 0;
        queue[tail++] = root;
        while (head < tail) {   /* invariant: queue[head..tail) in nondecreasing level order */
            uint32_t v = queue[head++];
            int32_t next = level[v] + 1;
            for (uint64_t e = c.off[v]; e < c.off[v + 1]; e++) {
                uint32_t w = c.adj[e];
                if (level[w] < 0) {
                    level[w] = next;
                    queue[tail++] = w;
                }
            }
        }
        /* The queue holds exactly the reached vertices. */
        reached += tail;
        for (uint64_t i = 0; i < tail; i++)
            levelsum += (uint64_t)level[queue[i]];
        if (level[queue[tail - 1]] > deepest)
            deepest = level[queue[tail - 1]];
    }
    MMUSIM_ROI_END();

    printf("bfs scale=%u vertices=%" PRIu64 " edges=%" PRIu64 " searches=%" PRIu64 " reached=%" PRIu64
           " levelsum=%" PRIu64 " deepest=%" PRId32 "\n",
           scale, c.n, c.m / 2, a.iters, reached, levelsum, deepest);
    free(level);
    free(queue);
    csr_free(&c);
    return wl_finish(&spec);
}
