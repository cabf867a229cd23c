/* rmat.h -- R-MAT graphs in CSR form for the graph kernels (bfs, pagerank).
 *
 * R-MAT (Chakrabarti, Zhan & Faloutsos, SDM 2004) places each edge by
 * descending `scale` times into one quadrant of the adjacency matrix with
 * probabilities a, b, c, d = 0.57, 0.19, 0.19, 0.05 (Graph500's values),
 * giving a skewed, power-law-like degree distribution.  As in Graph500 the
 * vertex labels are then permuted at random so that the high-degree
 * vertices do not all sit at small indices.  Duplicate edges and self-loops
 * are kept (Graph500's kernels see them too). */
#ifndef MMUSIM_WORKLOADS_RMAT_H
#define MMUSIM_WORKLOADS_RMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "wl.h"

enum { RMAT_EDGE_FACTOR = 16 };   /* edges per vertex, Graph500's default */

typedef struct rmat_edge {
    uint32_t src, dst;
} rmat_edge;

typedef struct rmat_graph {
    unsigned scale;      /* 2^scale vertices */
    uint64_t n, m;       /* vertices, edges */
    rmat_edge *edges;    /* m edges */
} rmat_graph;

/* Compressed sparse rows: the neighbours of v are adj[off[v] .. off[v+1]). */
typedef struct csr {
    uint64_t n, m;       /* vertices, adjacency entries */
    uint64_t *off;       /* n + 1 */
    uint32_t *adj;       /* m */
} csr;

typedef enum csr_dir {
    CSR_OUT,   /* v's out-neighbours */
    CSR_IN,    /* v's in-neighbours (the transpose: pull-style kernels) */
    CSR_SYM,   /* both: every edge in both directions (undirected traversal) */
} csr_dir;

/* The largest scale (>= 1) whose graph takes at most `footprint` bytes at
 * `bytes_per_vertex`; 0 when even scale 1 does not fit. */
unsigned rmat_scale_for(uint64_t footprint, uint64_t bytes_per_vertex);

/* 2^scale vertices and RMAT_EDGE_FACTOR * 2^scale edges from `seed`. */
rmat_graph rmat_generate(const wl_spec *spec, unsigned scale, uint64_t seed);
void rmat_free(rmat_graph *g);

/* Prints "vertices N edges M" and then one "SRC DST" line per edge. */
void rmat_dump(const rmat_graph *g);

csr csr_build(const wl_spec *spec, const rmat_graph *g, csr_dir dir);
void csr_free(csr *c);

/* A graph cache (--cache FILE): generating a big R-MAT graph costs ~10^4
 * instructions per vertex, which under lackey means hours of recording
 * before the region of interest.  A native run saves the CSR (and `extra`,
 * n 32-bit values per vertex, if given) with csr_save; a recorded run loads
 * it with read(2), whose copying the kernel does and lackey does not trace.
 * The file is a cache: csr_load returns false (and the caller generates
 * and saves again) when it is missing, short, or was made for another
 * scale, direction or seed.  A failed save ends the program with status 1. */
bool csr_load(const wl_spec *spec, const char *path, unsigned scale, csr_dir dir, uint64_t seed, csr *c,
              uint32_t **extra);
void csr_save(const wl_spec *spec, const char *path, unsigned scale, csr_dir dir, uint64_t seed, const csr *c,
              const uint32_t *extra);

#endif
