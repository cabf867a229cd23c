/* rmat.c -- R-MAT generation and CSR construction (rmat.h). */
#include "rmat.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "wl_rand.h"

/* Quadrant thresholds in 1/65536: a = 0.57, a + b = 0.76, a + b + c = 0.95
 * (rounded to the nearest 1/65536; d = 3277/65536 = 0.05000).  Each level
 * takes 16 bits of a 64-bit draw, so one draw places four levels: the
 * generator is a quarter of the instructions a draw per level would be,
 * which matters when its run is recorded. */
enum { RMAT_A = 37355, RMAT_AB = 49807, RMAT_ABC = 62259, RMAT_LEVELS_PER_DRAW = 4 };

unsigned rmat_scale_for(uint64_t footprint, uint64_t bytes_per_vertex)
{
    unsigned s = 0;
    while (s < 31 && (bytes_per_vertex << (s + 1)) <= footprint)
        s++;
    return s;
}

rmat_graph rmat_generate(const wl_spec *spec, unsigned scale, uint64_t seed)
{
    rmat_graph g = {.scale = scale, .n = UINT64_C(1) << scale};
    g.m = g.n * RMAT_EDGE_FACTOR;
    g.edges = wl_calloc(spec, g.m, sizeof *g.edges);
    wl_rng r = wl_rng_seed(seed);
    for (uint64_t e = 0; e < g.m; e++) {
        uint32_t src = 0, dst = 0;
        uint64_t bits = 0;
        for (unsigned bit = 0; bit < scale; bit++) {
            if (bit % RMAT_LEVELS_PER_DRAW == 0)
                bits = wl_next(&r);
            uint64_t q = bits & 0xFFFF;
            bits >>= 16;
            src = src << 1 | (q >= RMAT_AB);
            dst = dst << 1 | ((q >= RMAT_A && q < RMAT_AB) || q >= RMAT_ABC);
        }
        g.edges[e] = (rmat_edge){src, dst};
    }
    /* Fisher-Yates shuffle of the labels, then relabel every edge. */
    uint32_t *perm = wl_calloc(spec, g.n, sizeof *perm);
    for (uint64_t v = 0; v < g.n; v++)
        perm[v] = (uint32_t)v;
    for (uint64_t v = g.n - 1; v > 0; v--) {
        uint64_t w = wl_below(&r, v + 1);
        uint32_t t = perm[v];
        perm[v] = perm[w];
        perm[w] = t;
    }
    for (uint64_t e = 0; e < g.m; e++)
        g.edges[e] = (rmat_edge){perm[g.edges[e].src], perm[g.edges[e].dst]};
    free(perm);
    return g;
}

void rmat_free(rmat_graph *g)
{
    free(g->edges);
    g->edges = NULL;
}

void rmat_dump(const rmat_graph *g)
{
    printf("vertices %" PRIu64 " edges %" PRIu64 "\n", g->n, g->m);
    for (uint64_t e = 0; e < g->m; e++)
        printf("%" PRIu32 " %" PRIu32 "\n", g->edges[e].src, g->edges[e].dst);
}

/* Adds edge (from, to) at from's next free slot; next[v] runs from off[v]. */
static void csr_put(csr *c, uint64_t *next, uint32_t from, uint32_t to)
{
    c->adj[next[from]++] = to;
}

csr csr_build(const wl_spec *spec, const rmat_graph *g, csr_dir dir)
{
    csr c = {.n = g->n, .m = dir == CSR_SYM ? 2 * g->m : g->m};
    c.off = wl_calloc(spec, c.n + 1, sizeof *c.off);
    c.adj = wl_calloc(spec, c.m, sizeof *c.adj);
    /* Degrees into off[v + 1], prefix sums, then a second pass fills the
     * rows in edge order (so each row lists its edges in input order). */
    for (uint64_t e = 0; e < g->m; e++) {
        const rmat_edge *ed = &g->edges[e];
        if (dir != CSR_IN)
            c.off[ed->src + 1]++;
        if (dir != CSR_OUT)
            c.off[ed->dst + 1]++;
    }
    for (uint64_t v = 0; v < c.n; v++)
        c.off[v + 1] += c.off[v];
    uint64_t *next = wl_calloc(spec, c.n, sizeof *next);
    for (uint64_t v = 0; v < c.n; v++)
        next[v] = c.off[v];
    for (uint64_t e = 0; e < g->m; e++) {
        const rmat_edge *ed = &g->edges[e];
        if (dir != CSR_IN)
            csr_put(&c, next, ed->src, ed->dst);
        if (dir != CSR_OUT)
            csr_put(&c, next, ed->dst, ed->src);
    }
    free(next);
    return c;
}

void csr_free(csr *c)
{
    free(c->off);
    free(c->adj);
    c->off = NULL;
    c->adj = NULL;
}
