/* sa_array.c -- a small set-associative array of tagged entries (see
 * sa_array.h).
 *
 * Layout: entries of set s are e[s*ways .. s*ways+ways-1]; the set of an
 * `index` is index & set_mask, sets being a power of two.  The valid bits live
 * here; repl.c only orders the valid ways of a set, so every fill and hit is
 * reported to it. */
#include "sa_array.h"

#include <assert.h>
#include <stdlib.h>

#include "base/rng.h"

struct sa_array {
    unsigned sets, ways;
    uint64_t set_mask;   /* sets - 1 */
    repl *rp;
    sa_entry *e;         /* sets * ways */
};

bool sa_geometry_ok(unsigned sets, unsigned ways)
{
    return sa_is_pow2(sets) && ways >= 1 && ways <= SA_MAX_WAYS;
}

uint64_t sa_seed(uint64_t seed, unsigned n)
{
    /* splitmix64 of seed advanced n+1 steps: distinct arrays get unrelated,
     * never-zero-in-practice streams from one config seed. */
    return mm_splitmix64_nth(seed, (uint64_t)n + 1);
}

sa_array *sa_create(unsigned sets, unsigned ways, repl_policy p, uint64_t seed)
{
    if (!sa_geometry_ok(sets, ways) || (unsigned)p >= REPL_COUNT)
        return NULL;
    sa_array *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->sets = sets;
    a->ways = ways;
    a->set_mask = sets - 1;
    a->rp = repl_create(p, sets, ways, seed);
    a->e = calloc((size_t)sets * ways, sizeof *a->e);
    if (!a->rp || !a->e) {
        sa_free(a);
        return NULL;
    }
    return a;
}

void sa_free(sa_array *a)
{
    if (!a)
        return;
    repl_free(a->rp);
    free(a->e);
    free(a);
}

unsigned sa_sets(const sa_array *a)
{
    return a->sets;
}

unsigned sa_ways(const sa_array *a)
{
    return a->ways;
}

static unsigned sa_set_of(const sa_array *a, uint64_t index)
{
    return (unsigned)(index & a->set_mask);
}

/* Way of the valid entry tagged `tag` in `set`, or -1.  The tag first: it
 * rarely matches, and most ways are valid. */
static int sa_find(const sa_array *a, unsigned set, uint64_t tag)
{
    const sa_entry *row = &a->e[(size_t)set * a->ways];
    for (unsigned w = 0; w < a->ways; w++)
        if (row[w].tag == tag && row[w].valid)
            return (int)w;
    return -1;
}

sa_entry *sa_lookup(sa_array *a, uint64_t index, uint64_t tag)
{
    unsigned set = sa_set_of(a, index);
    int w = sa_find(a, set, tag);
    if (w < 0)
        return NULL;
    repl_touch(a->rp, set, (unsigned)w);
    return &a->e[(size_t)set * a->ways + (unsigned)w];
}

sa_entry *sa_fill(sa_array *a, uint64_t index, uint64_t tag, bool *evicted)
{
    unsigned set = sa_set_of(a, index);
    sa_entry *row = &a->e[(size_t)set * a->ways];
    bool ev = false;
    /* One pass: the way holding the tag, else the lowest invalid way. */
    int w = -1, free_way = -1;
    for (unsigned i = 0; i < a->ways; i++) {
        if (!row[i].valid) {
            if (free_way < 0)
                free_way = (int)i;
        } else if (row[i].tag == tag) {
            w = (int)i;
            break;
        }
    }
    if (w >= 0) {
        /* Same tag: overwrite in place, so a set never holds two copies. */
        repl_touch(a->rp, set, (unsigned)w);
    } else {
        w = free_way;
        if (w < 0) {
            w = (int)repl_victim(a->rp, set);
            assert((unsigned)w < a->ways);
            ev = true;
        }
        repl_fill(a->rp, set, (unsigned)w);
        row[w] = (sa_entry){.tag = tag, .valid = true};
    }
    if (evicted)
        *evicted = ev;
    return &row[w];
}

unsigned sa_invalidate(sa_array *a, uint64_t index, uint64_t tag)
{
    unsigned set = sa_set_of(a, index);
    int w = sa_find(a, set, tag);
    if (w < 0)
        return 0;
    a->e[(size_t)set * a->ways + (unsigned)w].valid = false;
    return 1;
}

unsigned sa_flush_if(sa_array *a, sa_pred pred, void *ctx)
{
    unsigned n = 0;
    size_t total = (size_t)a->sets * a->ways;
    for (size_t i = 0; i < total; i++) {
        sa_entry *e = &a->e[i];
        if (e->valid && (!pred || pred(e, ctx))) {
            e->valid = false;
            n++;
        }
    }
    return n;
}

unsigned sa_count_if(const sa_array *a, sa_pred pred, void *ctx)
{
    unsigned n = 0;
    size_t total = (size_t)a->sets * a->ways;
    for (size_t i = 0; i < total; i++)
        if (a->e[i].valid && (!pred || pred(&a->e[i], ctx)))
            n++;
    return n;
}

void sa_foreach(const sa_array *a, void (*fn)(const sa_entry *e, void *ctx), void *ctx)
{
    size_t total = (size_t)a->sets * a->ways;
    for (size_t i = 0; i < total; i++)
        if (a->e[i].valid)
            fn(&a->e[i], ctx);
}
