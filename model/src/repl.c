/* repl.c -- replacement state of a set-associative structure (see repl.h).
 *
 * State per policy:
 *   LRU, FIFO: one 64-bit stamp per way, from a per-structure clock that
 *              increments on every touch/fill, so stamps are unique and the
 *              victim (smallest stamp) is never a tie.
 *   PLRU:      one bit per tree node, nodes of a set packed in a uint64_t
 *              (so ways <= 64), heap order: node n's children are 2n+1, 2n+2.
 *   SRRIP:     one RRPV (0..3) per way in a byte.
 *   random:    the xorshift64* state. */
#include "repl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct repl {
    repl_policy policy;
    unsigned sets, ways;
    unsigned tree_leaves;   /* PLRU: ways rounded up to a power of two */
    uint64_t clock;         /* LRU/FIFO stamp source */
    uint64_t rng;           /* random: xorshift64* state, never 0 */
    uint64_t *stamp;        /* LRU/FIFO: sets*ways */
    uint64_t *tree;         /* PLRU: one word per set */
    uint8_t *rrpv;          /* SRRIP: sets*ways */
};

static const char *const repl_names[REPL_COUNT] = {"lru", "plru", "fifo", "random", "srrip"};

const char *repl_name(repl_policy p)
{
    return (unsigned)p < REPL_COUNT ? repl_names[p] : "?";
}

int repl_by_name(const char *name)
{
    for (int i = 0; i < REPL_COUNT; i++)
        if (strcmp(name, repl_names[i]) == 0)
            return i;
    return -1;
}

#define SRRIP_MAX 3u     /* 2-bit RRPV: "distant" re-reference */
#define SRRIP_INSERT 2u  /* "long" re-reference interval on fill */

repl *repl_create(repl_policy p, unsigned sets, unsigned ways, uint64_t seed)
{
    assert(sets >= 1 && ways >= 1 && ways <= 64);
    repl *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->policy = p;
    r->sets = sets;
    r->ways = ways;
    r->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
    size_t n = (size_t)sets * ways;
    switch (p) {
    case REPL_LRU:
    case REPL_FIFO:
        r->stamp = calloc(n, sizeof *r->stamp);
        if (!r->stamp)
            goto fail;
        break;
    case REPL_PLRU:
        r->tree_leaves = 1;
        while (r->tree_leaves < ways)
            r->tree_leaves <<= 1;
        r->tree = calloc(sets, sizeof *r->tree);
        if (!r->tree)
            goto fail;
        break;
    case REPL_SRRIP:
        r->rrpv = malloc(n);
        if (!r->rrpv)
            goto fail;
        memset(r->rrpv, SRRIP_MAX, n);
        break;
    default:
        break;
    }
    return r;
fail:
    repl_free(r);
    return NULL;
}

void repl_free(repl *r)
{
    if (!r)
        return;
    free(r->stamp);
    free(r->tree);
    free(r->rrpv);
    free(r);
}

repl_policy repl_get_policy(const repl *r)
{
    return r->policy;
}

/* Point every node on the path from the root to leaf `way` away from it. */
static void plru_point_away(repl *r, unsigned set, unsigned way)
{
    uint64_t bits = r->tree[set];
    unsigned node = 0;
    for (unsigned span = r->tree_leaves; span > 1; span >>= 1) {
        bool right = (way & (span >> 1)) != 0;
        /* bit 0 = victim on the left; we went right, so victim stays left (0),
         * and vice versa. */
        if (right)
            bits &= ~(1ull << node);
        else
            bits |= 1ull << node;
        node = 2 * node + 1 + (right ? 1u : 0u);
    }
    r->tree[set] = bits;
}

void repl_touch(repl *r, unsigned set, unsigned way)
{
    switch (r->policy) {
    case REPL_LRU:
        r->stamp[(size_t)set * r->ways + way] = ++r->clock;
        break;
    case REPL_PLRU:
        plru_point_away(r, set, way);
        break;
    case REPL_SRRIP:
        r->rrpv[(size_t)set * r->ways + way] = 0;
        break;
    default: /* FIFO and random ignore hits */
        break;
    }
}

void repl_fill(repl *r, unsigned set, unsigned way)
{
    switch (r->policy) {
    case REPL_LRU:
    case REPL_FIFO:
        r->stamp[(size_t)set * r->ways + way] = ++r->clock;
        break;
    case REPL_PLRU:
        plru_point_away(r, set, way);
        break;
    case REPL_SRRIP:
        r->rrpv[(size_t)set * r->ways + way] = SRRIP_INSERT;
        break;
    default:
        break;
    }
}

static uint64_t xorshift64star(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

unsigned repl_victim(repl *r, unsigned set)
{
    switch (r->policy) {
    case REPL_LRU:
    case REPL_FIFO: {
        const uint64_t *s = &r->stamp[(size_t)set * r->ways];
        unsigned v = 0;
        for (unsigned w = 1; w < r->ways; w++)
            if (s[w] < s[v])
                v = w;
        return v;
    }
    case REPL_PLRU: {
        uint64_t bits = r->tree[set];
        unsigned node = 0, way = 0;
        for (unsigned span = r->tree_leaves; span > 1; span >>= 1) {
            bool right = (bits >> node) & 1;
            if (right)
                way += span >> 1;
            node = 2 * node + 1 + (right ? 1u : 0u);
        }
        return way < r->ways ? way : r->ways - 1;
    }
    case REPL_RANDOM:
        return (unsigned)(xorshift64star(&r->rng) % r->ways);
    case REPL_SRRIP: {
        uint8_t *v = &r->rrpv[(size_t)set * r->ways];
        for (;;) {
            for (unsigned w = 0; w < r->ways; w++)
                if (v[w] >= SRRIP_MAX)
                    return w;
            for (unsigned w = 0; w < r->ways; w++)
                v[w]++;
        }
    }
    default:
        assert(0);
        return 0;
    }
}
