/* btree.c -- lookups in a B+-tree (the index probes of a database).
 *
 * n keys 0, 2, 4, ..., 2(n-1), key 2i with value i, are bulk-loaded into a
 * B+-tree of 256-byte nodes: leaves hold up to 15 keys and values, inner
 * nodes up to 16 children and the 15 separators between them (separator
 * j = the smallest key under child j + 1).  Every level is packed full, so
 * the tree has height ceil(log16(n / 15)) + 1.  LOOKUPS look up keys q
 * uniform in [0, 2n), so half of them are found: each descends from the
 * root, scanning one node per level -- a random node per level below the
 * top few, which stay cached.
 *
 * FOOTPRINT sets n: 19 bytes per key covers the leaves (256 / 15) and the
 * inner levels (1/15 of that again, and less).  Prints the keys found and
 * the sum of their values. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "roi.h"
#include "wl.h"
#include "wl_rand.h"

#define BT_SEED UINT64_C(0x62740a)

enum { BT_FANOUT = 16, BT_KEYS = BT_FANOUT - 1, BT_BYTES_PER_KEY = 19 };

typedef struct bt_node {
    uint32_t nkeys;   /* keys in use: a leaf's entries, an inner node's children - 1 */
    uint32_t leaf;
    uint64_t key[BT_KEYS];
    union {
        struct bt_node *child[BT_FANOUT];
        uint64_t value[BT_FANOUT];   /* leaves: value[i] goes with key[i] */
    } u;
} bt_node;

_Static_assert(sizeof(bt_node) == 256, "a node is four 64-byte lines");

static const wl_spec spec = {
    .name = "wl-btree",
    .iters = "LOOKUPS",
    .about = "B+-tree lookups: n keys (19 bytes per key within FOOTPRINT) in a tree of 256-byte nodes,\n"
             "LOOKUPS uniform random keys of which half are present.  Prints the keys found and the sum\n"
             "of their values.\n",
    .min_footprint = BT_BYTES_PER_KEY,
};

static uint64_t bt_min_key(const bt_node *t)
{
    while (!t->leaf)
        t = t->u.child[0];
    return t->key[0];
}

/* Bulk load from the bottom: full leaves, then full parents of the level
 * below, until one node (the root) is left.  All nodes come from `pool`. */
static bt_node *bt_load(bt_node *pool, uint64_t n, uint64_t *height)
{
    uint64_t count = (n + BT_KEYS - 1) / BT_KEYS;
    bt_node *level = pool;
    for (uint64_t l = 0; l < count; l++) {
        bt_node *t = &level[l];
        t->leaf = 1;
        for (uint64_t i = l * BT_KEYS; i < n && t->nkeys < BT_KEYS; i++) {
            t->key[t->nkeys] = 2 * i;
            t->u.value[t->nkeys++] = i;
        }
    }
    *height = 1;
    while (count > 1) {
        uint64_t parents = (count + BT_FANOUT - 1) / BT_FANOUT;
        bt_node *up = level + count;
        for (uint64_t p = 0; p < parents; p++) {
            bt_node *t = &up[p];
            uint64_t first = p * BT_FANOUT, last = first + BT_FANOUT < count ? first + BT_FANOUT : count;
            for (uint64_t c = first; c < last; c++) {
                if (c > first)
                    t->key[c - first - 1] = bt_min_key(&level[c]);
                t->u.child[c - first] = &level[c];
            }
            t->nkeys = (uint32_t)(last - first - 1);
        }
        level = up;
        count = parents;
        ++*height;
    }
    return level;
}

/* Nodes of a packed tree over n keys. */
static uint64_t bt_nodes(uint64_t n)
{
    uint64_t count = (n + BT_KEYS - 1) / BT_KEYS, total = count;
    while (count > 1) {
        count = (count + BT_FANOUT - 1) / BT_FANOUT;
        total += count;
    }
    return total;
}

static bool bt_lookup(const bt_node *t, uint64_t q, uint64_t *value)
{
    while (!t->leaf) {
        uint32_t i = 0;
        while (i < t->nkeys && q >= t->key[i])
            i++;
        t = t->u.child[i];
    }
    for (uint32_t i = 0; i < t->nkeys; i++)
        if (t->key[i] == q) {
            *value = t->u.value[i];
            return true;
        }
    return false;
}

int main(int argc, char **argv)
{
    wl_args a = wl_parse(&spec, argc, argv);
    uint64_t n = a.footprint / BT_BYTES_PER_KEY, nodes = bt_nodes(n), height;
    bt_node *pool = wl_calloc(&spec, nodes, sizeof *pool);
    const bt_node *root = bt_load(pool, n, &height);
    wl_rng rng = wl_rng_seed(BT_SEED);
    uint64_t found = 0, sum = 0;

    MMUSIM_ROI_BEGIN();
    for (uint64_t l = 0; l < a.iters; l++) {
        uint64_t v;
        if (bt_lookup(root, wl_below(&rng, 2 * n), &v)) {
            found++;
            sum += v;
        }
    }
    MMUSIM_ROI_END();

    printf("btree keys=%" PRIu64 " nodes=%" PRIu64 " height=%" PRIu64 " lookups=%" PRIu64 " found=%" PRIu64
           " valuesum=%" PRIu64 "\n",
           n, nodes, height, a.iters, found, sum);
    free(pool);
    return wl_finish(&spec);
}
