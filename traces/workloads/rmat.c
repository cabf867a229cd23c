/* rmat.c -- R-MAT generation and CSR construction (rmat.h). */
#define _POSIX_C_SOURCE 200809L   /* open, read, write */
#include "rmat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Cache file: CSR_HEADER_WORDS u64 (magic, scale, dir, seed, n, m, has
 * extra), then off (n + 1 u64), adj (m u32), extra (n u32), host order. */
#define CSR_MAGIC UINT64_C(0x5253434c57554d4d)   /* "MMUWLCSR" */
enum { CSR_HEADER_WORDS = 7 };

/* All of len bytes, in pieces (read(2) moves at most ~2 GiB a call). */
static bool read_all(int fd, void *buf, size_t len)
{
    for (char *p = buf; len;) {
        ssize_t k = read(fd, p, len);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            return false;
        }
        p += k;
        len -= (size_t)k;
    }
    return true;
}

static bool write_all(int fd, const void *buf, size_t len)
{
    for (const char *p = buf; len;) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += k;
        len -= (size_t)k;
    }
    return true;
}

bool csr_load(const wl_spec *spec, const char *path, unsigned scale, csr_dir dir, uint64_t seed, csr *c,
              uint32_t **extra)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    uint64_t h[CSR_HEADER_WORDS];
    uint64_t n = UINT64_C(1) << scale, m = n * RMAT_EDGE_FACTOR * (dir == CSR_SYM ? 2 : 1);
    bool ok = read_all(fd, h, sizeof h) && h[0] == CSR_MAGIC && h[1] == scale && h[2] == (uint64_t)dir &&
              h[3] == seed && h[4] == n && h[5] == m && h[6] == (extra != NULL);
    if (ok) {
        *c = (csr){.n = n, .m = m};
        c->off = wl_calloc(spec, n + 1, sizeof *c->off);
        c->adj = wl_calloc(spec, m, sizeof *c->adj);
        ok = read_all(fd, c->off, (n + 1) * sizeof *c->off) && read_all(fd, c->adj, m * sizeof *c->adj);
        if (ok && extra) {
            *extra = wl_calloc(spec, n, sizeof **extra);
            ok = read_all(fd, *extra, n * sizeof **extra);
            if (!ok)
                free(*extra);
        }
        if (!ok)
            csr_free(c);
    }
    close(fd);
    return ok;
}

void csr_save(const wl_spec *spec, const char *path, unsigned scale, csr_dir dir, uint64_t seed, const csr *c,
              const uint32_t *extra)
{
    /* Written to PATH.tmp and renamed: a cache file is always complete. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint64_t h[CSR_HEADER_WORDS] = {CSR_MAGIC, scale, (uint64_t)dir, seed, c->n, c->m, extra != NULL};
    bool ok = fd >= 0 && write_all(fd, h, sizeof h) && write_all(fd, c->off, (c->n + 1) * sizeof *c->off) &&
              write_all(fd, c->adj, c->m * sizeof *c->adj) && (!extra || write_all(fd, extra, c->n * sizeof *extra));
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        fprintf(stderr, "%s: cannot write the graph cache %s: %s\n", spec->name, path, strerror(e));
        exit(1);
    }
}
