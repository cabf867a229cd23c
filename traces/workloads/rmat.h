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

#endif
