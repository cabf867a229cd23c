/* sweep.c -- parameter sweeps: spec loading, run identity, run files and
 * their check, the output folder, its batches and its tables (see
 * sweep.h).  Nothing here forks: `mmusim sweep`'s pool of workers is the
 * command line's (model/cli/sweep_pool.c).
 *
 * Invariant of the output folder: this program writes runs/ID.json only
 * complete (it is renamed from a temporary name after fclose succeeded),
 * whatever was killed when.  What else can put a file there -- a full disk
 * under another writer, an editor, a copy from elsewhere, a file system
 * that lost blocks -- is not trusted: a file counts as the run finished
 * only once check_run_file accepts it as exactly what write_run_file
 * writes for that run.  The aggregates (results.csv, results.jsonl) are
 * derived data: rebuilt from the checked run files, also via a temporary
 * name, so a reader never sees half a table.
 * Temporary names are ".NAME.tmp.PID".  One sweep at a time writes to a
 * folder (a lock on DIR/.lock), so at the start every temporary there is a
 * leftover of a killed sweep and is removed. */
#define _POSIX_C_SOURCE 200809L
#include "mmusim/report.h"
#include "mmusim/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "mmusim/onepass.h"
#include "mmusim/replay.h"
#include "mmusim/stats.h"

#include "base/hash.h"
#include "base/pairmap.h"

/* Points beyond this are almost certainly a mistake in the spec (and each
 * is a validated config kept in memory). */
#define SWEEP_MAX_POINTS 1000000u

/* ---- the spec ----------------------------------------------------------- */

/* How a run replays its trace (replay.h, Phases): the spec keys
 * replay.skip, replay.warmup, replay.max (counts, replay_parse_count's
 * syntax; max 0 = no limit) and replay.roi (true/false), in set:,
 * params: and zip: like config keys.  They are not config keys -- they
 * say how a trace is replayed, not what machine replays it -- so they are
 * kept beside each point's config; a run with all four at their defaults
 * has the id and run file it had before they existed. */
typedef struct run_phases {
    uint64_t skip, warmup, max;
    bool roi;
} run_phases;

static const char *const phase_keys[] = {"replay.skip", "replay.warmup", "replay.max", "replay.roi"};
#define NPHASE_KEYS 4

/* The index of a phase key in phase_keys, or -1. */
static int phase_key(const char *key)
{
    for (int i = 0; i < NPHASE_KEYS; i++)
        if (!strcmp(key, phase_keys[i]))
            return i;
    return -1;
}

static bool phases_set(const run_phases *ph)
{
    return ph->skip || ph->warmup || ph->max || ph->roi;
}

static bool phases_equal(const run_phases *a, const run_phases *b)
{
    return a->skip == b->skip && a->warmup == b->warmup && a->max == b->max && a->roi == b->roi;
}

/* Key i of ph as text ("1000000", "true"). */
static void phase_text(const run_phases *ph, int i, char *buf, size_t len)
{
    const uint64_t v[3] = {ph->skip, ph->warmup, ph->max};
    if (i < 3)
        snprintf(buf, len, "%" PRIu64, v[i]);
    else
        snprintf(buf, len, "%s", ph->roi ? "true" : "false");
}

/* Set phase key i of *ph from its text; 0, or -1 (not a value of it). */
static int phase_set(run_phases *ph, int i, const char *value)
{
    if (i == 3) {
        if (strcmp(value, "true") && strcmp(value, "false"))
            return -1;
        ph->roi = !strcmp(value, "true");
        return 0;
    }
    uint64_t v;
    if (replay_parse_count(value, &v) != 0)
        return -1;
    *(i == 0 ? &ph->skip : i == 1 ? &ph->warmup : &ph->max) = v;
    return 0;
}

/* One swept key: its values, and the dimension it belongs to. */
typedef struct pkey {
    char *key;
    char **values;
    size_t n;
    size_t dim;
    unsigned line;      /* of its value list, for messages */
} pkey;

struct sweep_spec {
    char *path, *dir;
    char **trace_name, **trace_path;
    size_t ntraces;
    mm_config base;               /* config: then set: */
    run_phases base_ph;           /* set:'s replay.* keys */
    pkey *keys;
    size_t nkeys, keys_cap;
    size_t *dim_size, *dim_stride;
    size_t ndims;
    size_t npoints;
    bool onepass;                 /* onepass: (default true) one-pass runs where they are exact */
};

static char *join_path(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir[0])
        return mm_xstrdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = mm_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void sweep_spec_free(sweep_spec *s)
{
    if (!s)
        return;
    for (size_t t = 0; t < s->ntraces; t++) {
        free(s->trace_name[t]);
        free(s->trace_path[t]);
    }
    free(s->trace_name);
    free(s->trace_path);
    for (size_t k = 0; k < s->nkeys; k++) {
        for (size_t i = 0; i < s->keys[k].n; i++)
            free(s->keys[k].values[i]);
        free(s->keys[k].values);
        free(s->keys[k].key);
    }
    free(s->keys);
    free(s->dim_size);
    free(s->dim_stride);
    free(s->path);
    free(s->dir);
    free(s);
}

/* ---- loading ------------------------------------------------------------ *
 *
 * Loading goes on after an error wherever the rest can still be checked on
 * its own, so a spec with several mistakes shows them all at once: every
 * top-level key, every trace, every set: key, every swept key and each of
 * its values (a key cfg_set does not know is one error, not one per value),
 * every zip group.  A `config:` that cannot be loaded leaves the defaults
 * to check the keys against.  Only the points' whole configs
 * (check_points) need a spec without other errors: they combine
 * everything. */

typedef struct spec_error {
    unsigned line;
    char *text;         /* "SPEC:LINE: problem" */
} spec_error;

typedef struct loader {
    sweep_spec *s;
    yaml_document_t doc;
    spec_error *errs;   /* in the order found */
    size_t nerrs, errcap;
} loader;

static unsigned line_of(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }

/* Record an error at line `line` of the spec; returns -1. */
static int fail_line(loader *L, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_line(loader *L, unsigned line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(L->s->path) + strlen(msg) + 16;
    char *text = mm_xmalloc(n);
    snprintf(text, n, "%s:%u: %s", L->s->path, line, msg);
    mm_grow(&L->errs, &L->errcap, L->nerrs, sizeof *L->errs, 8);
    L->errs[L->nerrs++] = (spec_error){line, text};
    return -1;
}

/* Record an error at node n (line 1 if NULL); returns -1. */
#define fail(L, n, ...) fail_line((L), (n) ? line_of(n) : 1, __VA_ARGS__)

/* Every error into err, one "SPEC:LINE: problem" a line (no newline after
 * the last), sorted by line, the order found within a line; several end
 * with "SPEC: N errors".  Whole lines only: those that do not fit are left
 * out, and the summary says how many are shown. */
static void report_errors(loader *L, char *err, size_t errlen)
{
    for (size_t i = 1; i < L->nerrs; i++)   /* insertion sort: stable, and specs are short */
        for (size_t j = i; j > 0 && L->errs[j - 1].line > L->errs[j].line; j--) {
            spec_error t = L->errs[j];
            L->errs[j] = L->errs[j - 1];
            L->errs[j - 1] = t;
        }
    if (!errlen)
        return;
    err[0] = 0;
    char summary[128] = "";
    size_t room = errlen, len = 0, shown = 0;
    if (L->nerrs > 1)
        room -= room > sizeof summary + strlen(L->s->path) ? sizeof summary + strlen(L->s->path) : room;
    for (; shown < L->nerrs; shown++) {
        size_t n = strlen(L->errs[shown].text) + (shown ? 1 : 0);
        if (len + n + 1 > room && (shown || L->nerrs > 1))
            break;
        len += (size_t)snprintf(err + len, errlen - len, "%s%s", shown ? "\n" : "", L->errs[shown].text);
    }
    if (L->nerrs > 1) {
        if (shown < L->nerrs)
            snprintf(summary, sizeof summary, ": %zu errors, the first %zu shown", L->nerrs, shown);
        else
            snprintf(summary, sizeof summary, ": %zu errors", L->nerrs);
        snprintf(err + len, errlen - len, "%s%s%s", len ? "\n" : "", L->s->path, summary);
    }
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A value as cfg_set takes it: a scalar, or a flow list "[4k, 2m]" for
 * the `holds` keys (a spec's, or a run file's JSON list).  NULL if the
 * node is neither. */
static char *value_text(yaml_document_t *doc, const yaml_node_t *n)
{
    if (scalar(n))
        return mm_xstrdup(scalar(n));
    if (n->type != YAML_SEQUENCE_NODE)
        return NULL;
    size_t cap = 3, len = 1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const char *v = scalar(yaml_document_get_node(doc, *it));
        if (!v)
            return NULL;
        cap += strlen(v) + 2;
    }
    char *t = mm_xmalloc(cap);
    t[0] = '[';
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const char *v = scalar(yaml_document_get_node(doc, *it));
        len += (size_t)snprintf(t + len, cap - len, "%s%s", it == n->data.sequence.items.start ? "" : ", ", v);
    }
    snprintf(t + len, cap - len, "]");
    return t;
}

/* cfg_set KEY=VALUE on *c (a replay.* key: on *ph), an error naming the
 * spec's line. */
static int set_key(loader *L, mm_config *c, run_phases *ph, const yaml_node_t *at, const char *key,
                   const char *value)
{
    int pk = phase_key(key);
    if (pk >= 0) {
        if (phase_set(ph, pk, value) == 0)
            return 0;
        return fail(L, at, "%s: expected %s, got '%s'", key, pk == 3 ? "true or false" : "a count: " REPLAY_COUNT_SYNTAX,
                    value);
    }
    size_t n = strlen(key) + strlen(value) + 2;
    char *a = mm_xmalloc(n), why[512];
    snprintf(a, n, "%s=%s", key, value);
    int rc = cfg_set(c, a, why, sizeof why);
    free(a);
    if (rc == 0)
        return 0;
    const char *msg = strncmp(why, "--set ", 6) == 0 ? why + 6 : why;
    return fail(L, at, "%s", msg);
}

typedef struct key_search {
    const char *key;
    bool found;
} key_search;

static void match_key(const char *key, const char *value, void *p)
{
    key_search *k = p;
    (void)value;
    k->found |= !strcmp(key, k->key);
}

/* A key cfg_set knows (cfg_foreach lists them all). */
static bool known_key(const mm_config *c, const char *key)
{
    if (phase_key(key) >= 0)
        return true;
    key_search k = {key, false};
    cfg_foreach(c, match_key, &k);
    return k.found;
}

static void load_traces(loader *L, const yaml_node_t *v)
{
    sweep_spec *s = L->s;
    if (v->type != YAML_SEQUENCE_NODE) {
        fail(L, v, "traces: expected a list of trace files");
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0) {
        fail(L, v, "traces: the list is empty");
        return;
    }
    s->trace_name = mm_xcalloc(n, sizeof *s->trace_name);
    s->trace_path = mm_xcalloc(n, sizeof *s->trace_path);
    s->ntraces = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(&L->doc, v->data.sequence.items.start[i]);
        const char *name = scalar(item);
        if (!name || !*name) {
            fail(L, item, "traces: expected a file name");
            continue;
        }
        s->trace_name[i] = mm_xstrdup(name);
        s->trace_path[i] = join_path(s->dir, name);
        struct stat st;
        if (stat(s->trace_path[i], &st) != 0)
            fail(L, item, "trace %s: %s", s->trace_path[i], strerror(errno));
        else if (!S_ISREG(st.st_mode) || access(s->trace_path[i], R_OK) != 0)
            fail(L, item, "trace %s: not a readable file", s->trace_path[i]);
    }
}

/* config: a preset name, else a file beside the spec; the defaults when
 * it cannot be loaded (the keys are still checked against them). */
static void load_config_key(loader *L, const yaml_node_t *v)
{
    sweep_spec *s = L->s;
    cfg_defaults(&s->base);
    const char *name = v ? scalar(v) : CFG_DEFAULT_PRESET;
    if (!name) {
        fail(L, v, "config: expected a preset name or a YAML file");
        return;
    }
    char *path = cfg_preset_yaml(name) ? mm_xstrdup(name) : join_path(s->dir, name);
    char why[4608];
    if (cfg_load(&s->base, path, why, sizeof why) != 0)
        fail(L, v, "config: %s", why);
    free(path);
}

static void load_set(loader *L, const yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        fail(L, v, "set: expected a mapping of KEY: VALUE");
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
        const yaml_node_t *val = yaml_document_get_node(&L->doc, p->value);
        char *text = scalar(k) ? value_text(&L->doc, val) : NULL;
        if (!scalar(k))
            fail(L, k, "set: expected a config key");
        else if (!text)
            fail(L, val, "set: %s: expected a value", scalar(k));
        else
            set_key(L, &L->s->base, &L->s->base_ph, k, scalar(k), text);
        free(text);
    }
}

/* Check each of a swept key's values alone, on a scratch copy of the
 * base.  A key cfg_set does not know fails every value alike: once. */
static void check_values(loader *L, const pkey *pk, const yaml_node_t *v)
{
    for (size_t i = 0; i < pk->n; i++) {
        const yaml_node_t *item = yaml_document_get_node(&L->doc, v->data.sequence.items.start[i]);
        mm_config scratch = L->s->base;
        run_phases scratch_ph = L->s->base_ph;
        if (set_key(L, &scratch, &scratch_ph, item, pk->key, pk->values[i]) && !known_key(&L->s->base, pk->key))
            return;
    }
}

/* One swept key `k` with its value list `v`, in dimension `dim`: its
 * index in s->keys, or -1 when its name or list is unusable (an error). */
static ptrdiff_t add_key(loader *L, const yaml_node_t *k, const yaml_node_t *v, size_t dim, const char *where)
{
    sweep_spec *s = L->s;
    const char *key = scalar(k);
    if (!key)
        return fail(L, k, "%s: expected a config key", where);
    for (size_t i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i].key, key))
            return fail(L, k, "%s: %s is swept twice", where, key);
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(L, v, "%s: %s: expected a list of values", where, key);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return fail(L, v, "%s: %s: the list of values is empty", where, key);
    char **values = mm_xcalloc(n, sizeof *values);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(&L->doc, v->data.sequence.items.start[i]);
        if (!(values[i] = value_text(&L->doc, item))) {
            fail(L, item, "%s: %s: expected a value", where, key);
            ok = false;
        }
    }
    mm_grow(&s->keys, &s->keys_cap, s->nkeys, sizeof *s->keys, 8);
    pkey *pk = &s->keys[s->nkeys];
    *pk = (pkey){.key = mm_xstrdup(key), .values = values, .n = n, .dim = dim, .line = line_of(v)};
    s->nkeys++;
    if (!ok)
        return -1;   /* kept, so its values are freed with the spec */
    check_values(L, pk, v);
    return (ptrdiff_t)s->nkeys - 1;
}

static void add_dim(sweep_spec *s, size_t n)
{
    size_t cap = s->ndims;   /* exact-size growth: a spec has a handful of dimensions */
    s->dim_size = mm_xrealloc(s->dim_size, (cap + 1) * sizeof *s->dim_size);
    s->dim_stride = mm_xrealloc(s->dim_stride, (cap + 1) * sizeof *s->dim_stride);
    s->dim_size[s->ndims++] = n;
}

static void load_params(loader *L, const yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        fail(L, v, "params: expected a mapping of KEY: [VALUES]");
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        ptrdiff_t k = add_key(L, yaml_document_get_node(&L->doc, p->key), yaml_document_get_node(&L->doc, p->value),
                              L->s->ndims, "params");
        if (k >= 0)
            add_dim(L->s, L->s->keys[k].n);
    }
}

static void load_zip(loader *L, const yaml_node_t *v)
{
    sweep_spec *s = L->s;
    if (v->type != YAML_SEQUENCE_NODE) {
        fail(L, v, "zip: expected a list of mappings KEY: [VALUES]");
        return;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        const yaml_node_t *g = yaml_document_get_node(&L->doc, *it);
        if (g->type != YAML_MAPPING_NODE || g->data.mapping.pairs.top == g->data.mapping.pairs.start) {
            fail(L, g, "zip: expected a mapping KEY: [VALUES] of lists varied together");
            continue;
        }
        ptrdiff_t first = -1;   /* the group's first usable key: the others' lengths must be its */
        for (yaml_node_pair_t *p = g->data.mapping.pairs.start; p < g->data.mapping.pairs.top; p++) {
            const yaml_node_t *val = yaml_document_get_node(&L->doc, p->value);
            ptrdiff_t k = add_key(L, yaml_document_get_node(&L->doc, p->key), val, s->ndims, "zip");
            if (k < 0)
                continue;
            const pkey *a = &s->keys[first < 0 ? k : first], *b = &s->keys[k];
            if (first < 0)
                first = k;
            else if (b->n != a->n)
                fail(L, val, "zip: %s has %zu values but %s has %zu: zipped lists must have equal lengths", b->key,
                     b->n, a->key, a->n);
        }
        if (first >= 0)
            add_dim(s, s->keys[first].n);
    }
}

/* Point p's phases: set:'s, then its swept replay.* values (checked). */
static run_phases point_phases(const sweep_spec *s, size_t p)
{
    run_phases ph = s->base_ph;
    for (size_t k = 0; k < s->nkeys; k++) {
        int i = phase_key(s->keys[k].key);
        if (i >= 0 && phase_set(&ph, i, sweep_point_value(s, p, k)) != 0)
            abort();   /* check_values accepted every value */
    }
    return ph;
}

/* Apply point p's config values to *c (its replay.* keys: point_phases). */
static int apply_point(const sweep_spec *s, size_t p, mm_config *c, char *err, size_t errlen)
{
    for (size_t k = 0; k < s->nkeys; k++) {
        const pkey *pk = &s->keys[k];
        if (phase_key(pk->key) >= 0)
            continue;
        const char *v = pk->values[(p / s->dim_stride[pk->dim]) % s->dim_size[pk->dim]];
        size_t n = strlen(pk->key) + strlen(v) + 2;
        char *a = mm_xmalloc(n);
        snprintf(a, n, "%s=%s", pk->key, v);
        int rc = cfg_set(c, a, err, errlen);
        free(a);
        if (rc)
            return -1;
    }
    return 0;
}

/* Every point's config must validate: cross-field rules (a power-of-two
 * set count with a given way count, ...) are only checkable per point.
 * The first point that fails is the error (the others likely fail alike). */
static void check_points(loader *L)
{
    sweep_spec *s = L->s;
    char why[512];
    for (size_t p = 0; p < s->npoints; p++) {
        mm_config c = s->base;
        if (apply_point(s, p, &c, why, sizeof why) == 0 && cfg_validate(&c, why, sizeof why) == 0)
            continue;
        /* Name the point: KEY=VALUE for every swept key. */
        char pt[512];
        size_t len = 0;
        pt[0] = 0;
        for (size_t j = 0; j < s->nkeys && len < sizeof pt; j++)
            len += (size_t)snprintf(pt + len, sizeof pt - len, "%s%s=%s", j ? ", " : "", s->keys[j].key,
                                    sweep_point_value(s, p, j));
        fail_line(L, s->nkeys ? s->keys[s->nkeys - 1].line : 1, "%s (at the point %s)", why,
                  s->nkeys ? pt : "of the base config");
        return;
    }
}

/* The points: the product of the dimensions, first varying slowest. */
static void count_points(loader *L, const yaml_node_t *at)
{
    sweep_spec *s = L->s;
    s->npoints = 1;
    for (size_t d = s->ndims; d-- > 0;) {
        s->dim_stride[d] = s->npoints;
        if (s->npoints > SWEEP_MAX_POINTS / s->dim_size[d]) {
            fail(L, at, "more than %u points", SWEEP_MAX_POINTS);
            return;
        }
        s->npoints *= s->dim_size[d];
    }
}

static void load_root(loader *L)
{
    sweep_spec *s = L->s;
    const yaml_node_t *root = yaml_document_get_root_node(&L->doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        fail(L, root, "expected a mapping with traces:, config:, set:, params:, zip:, onepass:");
        return;
    }
    static const char *const known[] = {"traces", "config", "set", "params", "zip", "onepass"};
    enum { NKNOWN = sizeof known / sizeof *known };
    const yaml_node_t *val[NKNOWN] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
        const char *name = scalar(k);
        size_t i = 0;
        while (i < NKNOWN && !(name && !strcmp(name, known[i])))
            i++;
        if (i == NKNOWN)
            fail(L, k, "unknown key '%s' (expected traces, config, set, params, zip, onepass)", name ? name : "?");
        else if (val[i])
            fail(L, k, "%s: given twice", name);
        else
            val[i] = yaml_document_get_node(&L->doc, p->value);
    }
    if (!val[0])
        fail(L, root, "no traces: (a list of trace files) in the spec");
    else
        load_traces(L, val[0]);
    load_config_key(L, val[1]);
    if (val[2])
        load_set(L, val[2]);
    if (val[3])
        load_params(L, val[3]);
    if (val[4])
        load_zip(L, val[4]);
    s->onepass = true;
    if (val[5]) {
        const char *b = scalar(val[5]);
        if (!b || (strcmp(b, "true") && strcmp(b, "false")))
            fail(L, val[5], "onepass: expected true or false, got '%s'", b ? b : "a list or mapping");
        else
            s->onepass = !strcmp(b, "true");
    }
    size_t before = L->nerrs;
    count_points(L, val[4] ? val[4] : val[3]);
    if (!before && L->nerrs == before)
        check_points(L);
}

sweep_spec *sweep_spec_load(const char *path, char *err, size_t errlen)
{
    sweep_spec *s = mm_xcalloc(1, sizeof *s);
    s->path = mm_xstrdup(path);
    s->dir = mm_xstrdup(path);
    char *slash = strrchr(s->dir, '/');
    if (slash)
        slash[slash == s->dir ? 1 : 0] = 0;
    else
        s->dir[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        mm_errf(err, errlen, "%s: %s", path, strerror(errno));
        sweep_spec_free(s);
        return NULL;
    }
    loader L = {.s = s};
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &L.doc)) {
        mm_errf(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        fclose(f);
        sweep_spec_free(s);
        return NULL;
    }
    load_root(&L);
    yaml_document_delete(&L.doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (L.nerrs)
        report_errors(&L, err, errlen);
    for (size_t i = 0; i < L.nerrs; i++)
        free(L.errs[i].text);
    free(L.errs);
    if (L.nerrs) {
        sweep_spec_free(s);
        return NULL;
    }
    return s;
}

const char *sweep_spec_path(const sweep_spec *s) { return s->path; }
size_t sweep_trace_count(const sweep_spec *s) { return s->ntraces; }
const char *sweep_trace_name(const sweep_spec *s, size_t t) { return s->trace_name[t]; }
const char *sweep_trace_path(const sweep_spec *s, size_t t) { return s->trace_path[t]; }
size_t sweep_param_count(const sweep_spec *s) { return s->nkeys; }
const char *sweep_param_key(const sweep_spec *s, size_t j) { return s->keys[j].key; }
size_t sweep_point_count(const sweep_spec *s) { return s->npoints; }

const char *sweep_point_value(const sweep_spec *s, size_t p, size_t j)
{
    const pkey *pk = &s->keys[j];
    return pk->values[(p / s->dim_stride[pk->dim]) % s->dim_size[pk->dim]];
}

void sweep_point_config(const sweep_spec *s, size_t p, mm_config *out)
{
    *out = s->base;
    char why[512];
    if (apply_point(s, p, out, why, sizeof why) != 0)
        abort();   /* check_points accepted every point */
}

/* ---- identity ----------------------------------------------------------- */

_Static_assert(SWEEP_HASH_INIT == FNV1A64_INIT, "sweep ids use the project's FNV-1a");

uint64_t sweep_hash(uint64_t h, const void *data, size_t len)
{
    return fnv1a64(h, data, len);
}

int sweep_hash_file(const char *path, uint64_t *out, char *err, size_t errlen)
{
    if (fnv1a64_file(path, out) == 0)
        return 0;
    return errno == EIO ? mm_errf(err, errlen, "%s: read error", path)
                        : mm_errf(err, errlen, "%s: %s", path, strerror(errno));
}

/* FNV-1a of the config's YAML text: the config part of a run id. */
static uint64_t config_hash(const mm_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        abort();
    cfg_write_yaml(cfg, m);
    if (fclose(m) != 0)
        abort();
    uint64_t h = sweep_hash(SWEEP_HASH_INIT, text, len);
    free(text);
    return h;
}

static uint64_t with_trace(uint64_t config_h, uint64_t trace_hash)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(trace_hash >> (8 * i));
    return sweep_hash(config_h, le, sizeof le);
}

uint64_t sweep_run_id(const mm_config *cfg, uint64_t trace_hash)
{
    return with_trace(config_hash(cfg), trace_hash);
}

void sweep_id_text(uint64_t id, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, id);
}

char *sweep_default_out(const char *spec_path)
{
    size_t n = strlen(spec_path);
    if (n > 5 && !strcmp(spec_path + n - 5, ".yaml"))
        n -= 5;
    else if (n > 4 && !strcmp(spec_path + n - 4, ".yml"))
        n -= 4;
    char *d = malloc(n + sizeof "-results");
    if (d)
        snprintf(d, n + sizeof "-results", "%.*s-results", (int)n, spec_path);
    return d;
}

/* ---- files -------------------------------------------------------------- */

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char *p = mm_xstrdup(path);
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != 0)
            continue;
        char c = *q;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            mm_errf(err, errlen, "%s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *q = c;
        if (!c)
            break;
    }
    free(p);
    return 0;
}

/* DIR/NAME written by `write` through DIR/.NAME.tmp.PID and rename. */
static int write_atomic(const char *dir, const char *name, int (*emit)(FILE *, void *), void *ctx, char *err,
                        size_t errlen)
{
    size_t n = strlen(dir) + strlen(name) + 48;
    char *tmp = mm_xmalloc(n), *final = mm_xmalloc(n);
    snprintf(tmp, n, "%s/.%s.tmp.%ld", dir, name, (long)getpid());
    snprintf(final, n, "%s/%s", dir, name);
    int rc = -1;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        mm_errf(err, errlen, "%s: %s", tmp, strerror(errno));
    } else {
        int wr = emit(f, ctx);
        if (fclose(f) != 0 || wr != 0)
            mm_errf(err, errlen, "%s: write error: %s", tmp, strerror(errno));
        else if (rename(tmp, final) != 0)
            mm_errf(err, errlen, "%s: %s", final, strerror(errno));
        else
            rc = 0;
        if (rc)
            unlink(tmp);
    }
    free(tmp);
    free(final);
    return rc;
}

/* Remove ".NAME.tmp.PID" files in dir: called holding the folder's lock,
 * when no other sweep can be writing there, so every one is a leftover. */
static void remove_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' || !strstr(e->d_name, ".tmp."))
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = mm_xmalloc(n);
        snprintf(p, n, "%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
}

/* One sweep at a time per output folder: a write lock on DIR/.lock, held
 * by the process that opened the folder until sweep_dir_free (or its
 * death: the kernel drops it; forked workers do not inherit it).
 * Returns the descriptor, or -1 with the message in err. */
static int lock_dir(const char *dir, char *err, size_t errlen)
{
    size_t n = strlen(dir) + 8;
    char *p = mm_xmalloc(n);
    snprintf(p, n, "%s/.lock", dir);
    int fd = open(p, O_RDWR | O_CREAT, 0666);
    if (fd < 0) {
        mm_errf(err, errlen, "%s: %s", p, strerror(errno));
    } else {
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_SETLK, &l) != 0) {
            if (errno == EACCES || errno == EAGAIN)
                mm_errf(err, errlen, "%s: another sweep is writing to this folder", dir);
            else
                mm_errf(err, errlen, "%s: %s", p, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    free(p);
    return fd;
}

/* ---- runs --------------------------------------------------------------- */

typedef struct run {
    size_t trace, point;
    uint64_t id;
    bool have;          /* runs/ID.json was checked, or written by this sweep (sweep_dir only) */
} run;

struct sweep_runs {
    const sweep_spec *s;
    mm_config *pcfg;    /* each point's effective config */
    run_phases *pph;    /* and its phases */
    run *runs;          /* in run order */
    size_t n;
    bool onepass;       /* the runs are made by one pass (onepass.h) */
};

sweep_runs *sweep_runs_create(const sweep_spec *s, char *err, size_t errlen)
{
    sweep_runs *R = mm_xcalloc(1, sizeof *R);
    uint64_t *ph = mm_xmalloc((s->npoints + 1) * sizeof *ph);
    /* The ids seen, as (low 63 bits, top bit): a pair map's first key
     * must not be UINT64_MAX. */
    pairmap seen = {0};
    R->s = s;
    R->pcfg = mm_xmalloc((s->npoints + 1) * sizeof *R->pcfg);
    R->pph = mm_xmalloc((s->npoints + 1) * sizeof *R->pph);
    R->runs = mm_xmalloc((s->ntraces * s->npoints + 1) * sizeof *R->runs);
    bool phased = false;
    for (size_t p = 0; p < s->npoints; p++) {
        sweep_point_config(s, p, &R->pcfg[p]);
        ph[p] = config_hash(&R->pcfg[p]);
        R->pph[p] = point_phases(s, p);
        if (phases_set(&R->pph[p])) {
            /* The phases are part of the run's identity (the config's
             * hash, then "KEY=VALUE\n" of each). */
            phased = true;
            for (int i = 0; i < NPHASE_KEYS; i++) {
                char v[32], kv[64];
                phase_text(&R->pph[p], i, v, sizeof v);
                int n = snprintf(kv, sizeof kv, "%s=%s\n", phase_keys[i], v);
                ph[p] = sweep_hash(ph[p], kv, (size_t)n);
            }
        }
    }
    /* Decided on the whole spec, so every shard and re-run uses the same
     * method.  A one-pass replay has no phases: a phased spec runs direct. */
    R->onepass = s->onepass && !phased && s->npoints >= 2 && onepass_applies(R->pcfg, s->npoints, NULL, 0);
    int rc = 0;
    for (size_t t = 0; t < s->ntraces && rc == 0; t++) {
        uint64_t th;
        if ((rc = sweep_hash_file(s->trace_path[t], &th, err, errlen)) != 0)
            break;
        for (size_t p = 0; p < s->npoints; p++) {
            uint64_t id = with_trace(ph[p], th);
            if (pairmap_get(&seen, id & ~(1ull << 63), id >> 63, NULL))
                continue;   /* the same config and trace as an earlier run */
            pairmap_put(&seen, id & ~(1ull << 63), id >> 63, 1);
            R->runs[R->n++] = (run){.trace = t, .point = p, .id = id};
        }
    }
    free(ph);
    pairmap_free(&seen);
    if (rc) {
        sweep_runs_free(R);
        return NULL;
    }
    return R;
}

void sweep_runs_free(sweep_runs *R)
{
    if (!R)
        return;
    free(R->pcfg);
    free(R->pph);
    free(R->runs);
    free(R);
}

size_t sweep_runs_count(const sweep_runs *R) { return R->n; }
uint64_t sweep_runs_id(const sweep_runs *R, size_t i) { return R->runs[i].id; }

/* "DIR/ID.json", malloc'd. */
static char *run_path(const char *runs_dir, uint64_t id)
{
    char idt[17];
    sweep_id_text(id, idt);
    size_t n = strlen(runs_dir) + sizeof "/0123456789abcdef.json";
    char *p = mm_xmalloc(n);
    snprintf(p, n, "%s/%s.json", runs_dir, idt);
    return p;
}

/* What write_run_file needs: the run, its config, how it ended and its counters. */
typedef struct run_file_ctx {
    const sweep_spec *s;
    const run *r;
    const mm_config *cfg;
    const run_phases *ph;
    const stats *st;
    replay_status status;
    const char *method;   /* "direct" or "onepass" */
} run_file_ctx;

typedef struct cfg_emit {
    FILE *out;
    const sweep_spec *s;
    bool params;        /* pass 1: only the swept keys, as param.KEY */
} cfg_emit;

/* The run's phases, after the config's keys of the same pass: the swept
 * ones as param.replay.KEY, and (config pass) all four as
 * config.replay.KEY -- only when a phase is set, so that an unphased run's
 * file is the one it always was. */
static void emit_phases(const cfg_emit *c, const run_phases *ph)
{
    if (!phases_set(ph))
        return;
    for (int i = 0; i < NPHASE_KEYS; i++) {
        bool swept = false;
        for (size_t j = 0; j < c->s->nkeys; j++)
            swept |= !strcmp(c->s->keys[j].key, phase_keys[i]);
        if (c->params && !swept)
            continue;
        char v[32];
        phase_text(ph, i, v, sizeof v);
        fprintf(c->out, ",\n  \"%s.%s\": ", c->params ? "param" : "config", phase_keys[i]);
        report_json_value(c->out, v);
    }
}

static void emit_cfg_key(const char *key, const char *value, void *p)
{
    cfg_emit *c = p;
    if (c->params) {
        for (size_t j = 0; j < c->s->nkeys; j++)
            if (!strcmp(c->s->keys[j].key, key)) {
                fprintf(c->out, ",\n  \"param.%s\": ", key);
                report_json_cfg_value(c->out, key, value);
            }
        return;
    }
    fprintf(c->out, ",\n  \"config.%s\": ", key);
    report_json_cfg_value(c->out, key, value);
}

/* The one writer of run files; check_run_file compares a file with its output. */
static int write_run_file(FILE *f, void *p)
{
    const run_file_ctx *c = p;
    char id[17];
    sweep_id_text(c->r->id, id);
    fprintf(f, "{\n  \"id\": \"%s\",\n  \"trace\": ", id);
    report_json_string(f, c->s->trace_name[c->r->trace]);
    fprintf(f, ",\n  \"status\": \"%s\"", c->status == REPLAY_OOM ? "oom" : "done");
    cfg_emit e = {f, c->s, true};
    cfg_foreach(c->cfg, emit_cfg_key, &e);
    emit_phases(&e, c->ph);
    /* After the params (whose columns lead the tables), before the counters it qualifies. */
    fprintf(f, ",\n  \"method\": \"%s\"", c->method);
    /* The totals: a run's per-CPU and per-process counters (cpuN.*, pidN.*)
     * are `mmusim run --json`'s, not a sweep's tables'. */
    for (size_t i = 0; i < stats_count(c->st); i++) {
        if (report_is_breakdown(stats_name(c->st, i)))
            continue;
        fputs(",\n  ", f);
        report_json_string(f, stats_name(c->st, i));
        fprintf(f, ": %" PRIu64, stats_value(c->st, i));
    }
    e.params = false;
    cfg_foreach(c->cfg, emit_cfg_key, &e);
    emit_phases(&e, c->ph);
    fputs("\n}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- checking run files ------------------------------------------------- *
 *
 * A run file is checked in two steps.  First it is read back as what it
 * must be -- one flat JSON object -- and the members a reader could not
 * check otherwise are checked by value: the id, the method, each counter a
 * whole number, "cycles" present in a direct run and absent from a
 * one-pass one.  Then the file is written again from the run (its trace
 * name, params and config come from the spec) and the counters and status
 * just read, and the two texts must be equal byte for byte: that one
 * comparison covers every other member, their order, the layout and
 * anything after the closing brace, and its first difference is the
 * message.  What it cannot cover is the counter values and which counters
 * a replay exports (they depend on the trace, e.g. one per process): a
 * file edited there consistently is taken as it is. */

/* A run file is ~10 KB (a few hundred members); one far beyond is not one. */
#define RUN_FILE_MAX (64L << 20)

/* A run file's members as read back, in file order. */
typedef struct member {
    char *name, *val;
    bool quoted;        /* a JSON string (else a bare number or boolean) */
    unsigned line;
} member;

typedef struct members {
    member *m;
    size_t n;
} members;

static void members_free(members *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->m[i].name);
        free(ms->m[i].val);
    }
    free(ms->m);
    *ms = (members){0};
}

static sweep_file file_problem(sweep_file f, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sweep_file file_problem(sweep_file f, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return f;
}

/* The whole file at path into *buf (malloc'd), if it is a regular file of
 * a plausible size. */
static sweep_file read_run_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);   /* a FIFO at the name must not block the sweep */
    if (fd < 0) {
        int e = errno;
        return file_problem(e == ENOENT ? SWEEP_FILE_MISSING : SWEEP_FILE_UNREADABLE, err, errlen, "%s: %s", path,
                            strerror(e));
    }
    struct stat st;
    sweep_file f = SWEEP_FILE_DAMAGED;
    if (fstat(fd, &st) != 0)
        f = file_problem(SWEEP_FILE_UNREADABLE, err, errlen, "%s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        file_problem(f, err, errlen, "%s: a directory, not a run file", path);
    else if (!S_ISREG(st.st_mode))
        file_problem(f, err, errlen, "%s: not a regular file", path);
    else if (st.st_size == 0)
        file_problem(f, err, errlen, "%s: an empty file, not a run file", path);
    else if (st.st_size > RUN_FILE_MAX)
        file_problem(f, err, errlen, "%s: %lld bytes, too large for a run file", path, (long long)st.st_size);
    else
        f = SWEEP_FILE_OK;
    if (f == SWEEP_FILE_OK) {
        size_t cap = (size_t)st.st_size, n = 0;
        *buf = mm_xmalloc(cap + 1);
        while (n < cap) {
            ssize_t got = read(fd, *buf + n, cap - n);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                f = file_problem(SWEEP_FILE_UNREADABLE, err, errlen, "%s: read error: %s", path, strerror(errno));
            if (got <= 0)
                break;
            n += (size_t)got;
        }
        (*buf)[n] = 0;
        *len = n;
    }
    close(fd);
    return f;
}

/* The members of a flat JSON object (read as YAML, as the spec is). */
static sweep_file parse_members(const char *path, const char *buf, size_t len, members *ms, char *err,
                                size_t errlen)
{
    yaml_parser_t ps;
    yaml_document_t doc;
    yaml_parser_initialize(&ps);
    yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&ps, &doc)) {
        /* At the end of the input the object was cut short.  (libyaml's
         * mark there is a line too far when the last line is incomplete:
         * it ends the stream on a new line.) */
        if (ps.problem_mark.index >= len) {
            size_t line = 1;
            for (size_t i = 0; i < len; i++)
                line += buf[i] == '\n';
            file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%zu: the file ends inside its JSON object (truncated)",
                         path, line);
        } else {
            file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%zu: %s", path, ps.problem_mark.line + 1,
                         ps.problem ? ps.problem : "not JSON");
        }
        yaml_parser_delete(&ps);
        return SWEEP_FILE_DAMAGED;
    }
    yaml_parser_delete(&ps);
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    sweep_file f = SWEEP_FILE_OK;
    if (!root || root->type != YAML_MAPPING_NODE) {
        f = file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: not a run file (a JSON object)", path,
                         root ? line_of(root) : 1);
    } else {
        size_t m = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
        ms->m = mm_xcalloc(m + 1, sizeof *ms->m);
        for (size_t i = 0; i < m && f == SWEEP_FILE_OK; i++) {
            yaml_node_t *k = yaml_document_get_node(&doc, root->data.mapping.pairs.start[i].key);
            yaml_node_t *v = yaml_document_get_node(&doc, root->data.mapping.pairs.start[i].value);
            /* A list (a config key's) is kept as its config text, "[4k, 2m]",
             * marked quoted so that it is no counter. */
            const char *name = scalar(k);
            bool cfg = name && (!strncmp(name, "config.", 7) || !strncmp(name, "param.", 6));
            char *list = cfg && v->type == YAML_SEQUENCE_NODE ? value_text(&doc, v) : NULL;
            if (!name || (!scalar(v) && !list))
                f = file_problem(SWEEP_FILE_DAMAGED, err, errlen,
                                 "%s:%u: %s: a list or object, not a run file's member (a name and a number, "
                                 "string or config list)",
                                 path, line_of(k), name ? name : "?");
            else
                ms->m[ms->n++] = (member){mm_xstrdup(scalar(k)), list ? list : mm_xstrdup(scalar(v)),
                                          list || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, line_of(k)};
        }
    }
    yaml_document_delete(&doc);
    return f;
}

static const member *find_member(const members *ms, const char *name)
{
    for (size_t i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].name, name))
            return &ms->m[i];
    return NULL;
}

/* A counter's value: decimal digits below 2^64. */
static bool parse_count(const member *m, uint64_t *v)
{
    const char *s = m->val;
    if (m->quoted || !*s)
        return false;
    uint64_t x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

/* The members every run file has before its counters. */
static bool fixed_member(const char *name)
{
    return !strcmp(name, "id") || !strcmp(name, "trace") || !strcmp(name, "status") || !strcmp(name, "method") ||
           !strncmp(name, "param.", 6);
}

/* The line of text that starts at offset `start`, as a message quotes it:
 * without its indentation and the comma that follows a member, at most 100
 * characters. */
static void quote_line(const char *text, size_t len, size_t start, const char **q, int *qlen)
{
    size_t e = start;
    while (e < len && text[e] != '\n')
        e++;
    while (start < e && text[start] == ' ')
        start++;
    if (e > start && text[e - 1] == ',')
        e--;
    *q = text + start;
    *qlen = e - start > 100 ? 100 : (int)(e - start);
}

/* The file's text (a) against the text written for its run (b): OK if
 * equal, else DAMAGED with "PATH:LINE: problem" at the first difference. */
static sweep_file compare_text(const char *path, const char *id, const char *a, size_t alen, const char *b,
                               size_t blen, char *err, size_t errlen)
{
    size_t d = 0, start = 0;
    unsigned line = 1;
    for (; d < alen && d < blen && a[d] == b[d]; d++)
        if (a[d] == '\n') {
            line++;
            start = d + 1;
        }
    if (d == alen && d == blen)
        return SWEEP_FILE_OK;
    if (d == alen)
        return file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: the file ends before run %s's does (truncated)",
                            path, line, id);
    if (d == blen)
        return file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: text after the end of run %s's file", path,
                            line, id);
    const char *qa, *qb;
    int la, lb;
    quote_line(a, alen, start, &qa, &la);
    quote_line(b, blen, start, &qb, &lb);
    return file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: %.*s, where run %s has %.*s", path, line, la, qa,
                        id, lb, qb);
}

/* The values check_run_file checks, then the text.  ms: the file's members. */
static sweep_file check_members(const sweep_runs *R, const run *r, const char *path, const char *buf, size_t len,
                                const members *ms, char *err, size_t errlen)
{
    char id[17];
    sweep_id_text(r->id, id);
    const member *idm = find_member(ms, "id"), *method = find_member(ms, "method"),
                 *status = find_member(ms, "status");
    if (!idm)
        return file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:1: not a run file (a JSON object with an \"id\")",
                            path);
    if (strcmp(idm->val, id))
        return file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: holds run %.40s, not the run %s its name says",
                            path, idm->line, idm->val, id);
    if (!method)
        return file_problem(SWEEP_FILE_DAMAGED, err, errlen,
                            "%s: no \"method\": not a run file of this mmusim (an older one's?)", path);
    bool by_pass = !strcmp(method->val, "onepass");
    if (!by_pass && strcmp(method->val, "direct"))
        return file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: method '%.40s': expected direct or onepass",
                            path, method->line, method->val);
    /* The counters: from "method" to the first config member. */
    stats *st = stats_create();
    const member *cycles = NULL, *end = ms->m + ms->n;
    sweep_file f = SWEEP_FILE_OK;
    for (const member *m = method + 1; m < end && strncmp(m->name, "config.", 7) && f == SWEEP_FILE_OK; m++) {
        uint64_t v = 0;
        if (fixed_member(m->name))
            f = file_problem(SWEEP_FILE_DAMAGED, err, errlen, "%s:%u: \"%.40s\" among the counters", path, m->line,
                             m->name);
        else if (!parse_count(m, &v))
            f = file_problem(SWEEP_FILE_DAMAGED, err, errlen,
                             "%s:%u: counter %.60s: %s%.40s%s is not a count (a whole number below 2^64)", path,
                             m->line, m->name, m->quoted ? "\"" : "", m->val, m->quoted ? "\"" : "");
        if (!strcmp(m->name, "cycles"))
            cycles = m;
        stats_add(st, m->name, v);
    }
    /* A one-pass run carries only the counters exact for its point (onepass.h), cycles never. */
    if (f == SWEEP_FILE_OK && !by_pass && !cycles)
        f = file_problem(SWEEP_FILE_DAMAGED, err, errlen,
                         "%s:%u: method direct, but no \"cycles\" counter (a direct run has every counter)", path,
                         method->line);
    if (f == SWEEP_FILE_OK && by_pass && cycles)
        f = file_problem(SWEEP_FILE_DAMAGED, err, errlen,
                         "%s:%u: \"cycles\" in a one-pass run's file (one pass leaves it out)", path, cycles->line);
    if (f == SWEEP_FILE_OK) {
        run_file_ctx c = {R->s, r, &R->pcfg[r->point], &R->pph[r->point], st,
                          status && !strcmp(status->val, "oom") ? REPLAY_OOM : REPLAY_DONE, method->val};
        char *text = NULL;
        size_t tlen = 0;
        FILE *m = open_memstream(&text, &tlen);
        if (!m)
            abort();
        write_run_file(m, &c);
        if (fclose(m) != 0)
            abort();
        f = compare_text(path, id, buf, len, text, tlen, err, errlen);
        free(text);
    }
    stats_free(st);
    if (f == SWEEP_FILE_OK && by_pass && !R->onepass)
        f = file_problem(SWEEP_FILE_ONEPASS, err, errlen,
                         "%s: a one-pass run's file, but the spec's runs are direct (it lacks counters)", path);
    return f;
}

/* sweep_runs_check, keeping the members of an accepted file in *out
 * (may be NULL). */
static sweep_file check_run_file(const sweep_runs *R, const run *r, const char *path, members *out, char *err,
                                 size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    members ms = {0};
    sweep_file f = read_run_file(path, &buf, &len, err, errlen);
    if (f == SWEEP_FILE_OK)
        f = parse_members(path, buf, len, &ms, err, errlen);
    if (f == SWEEP_FILE_OK)
        f = check_members(R, r, path, buf, len, &ms, err, errlen);
    free(buf);
    if (f == SWEEP_FILE_OK && out)
        *out = ms;
    else
        members_free(&ms);
    return f;
}

sweep_file sweep_runs_check(const sweep_runs *R, size_t i, const char *path, char *err, size_t errlen)
{
    return check_run_file(R, &R->runs[i], path, NULL, err, errlen);
}

/* ---- the output folder -------------------------------------------------- */

/* A checked run file's members, for the aggregates. */
typedef struct row {
    bool loaded;
    size_t n;
    size_t *col;        /* column index of member i */
    char **val;
    bool *quoted;       /* a JSON string (else a bare number or boolean) */
} row;

/* A work item: runs of one trace replayed together. */
typedef struct batch {
    size_t *runs;       /* indices into sweep_dir.runs */
    size_t n;
} batch;

struct sweep_dir {
    const sweep_runs *R;
    char *dir, *runs_dir;
    int lock;           /* DIR/.lock, held until sweep_dir_free */
    run *runs;          /* the runs of this sweep (of its shard), in run order; .have: finished */
    size_t nruns, finished;
    row *rows;          /* rows[i]: run i's file, once loaded */
    stats *cols;        /* column name -> index + 1 (stats as an ordered name index) */
    char **colname;
    size_t ncols, colcap;
    size_t *order;      /* the tables' columns: column indices, first seen in run order */
    size_t norder;
    batch *batches;     /* the plan (sweep_dir_plan) */
    size_t nbatches;
};

static size_t column(sweep_dir *d, const char *name)
{
    bool found;
    uint64_t v = stats_get(d->cols, name, &found);
    if (found)
        return (size_t)v - 1;
    mm_grow(&d->colname, &d->colcap, d->ncols, sizeof *d->colname, 64);
    d->colname[d->ncols++] = mm_xstrdup(name);
    stats_add(d->cols, name, d->ncols);
    return d->ncols - 1;
}

/* Take a checked file's members as row w. */
static void adopt_row(sweep_dir *d, row *w, members *ms)
{
    w->col = mm_xcalloc(ms->n + 1, sizeof *w->col);
    w->val = mm_xcalloc(ms->n + 1, sizeof *w->val);
    w->quoted = mm_xcalloc(ms->n + 1, sizeof *w->quoted);
    for (size_t i = 0; i < ms->n; i++) {
        w->col[i] = column(d, ms->m[i].name);
        w->val[i] = ms->m[i].val;
        ms->m[i].val = NULL;
        w->quoted[i] = ms->m[i].quoted;
    }
    w->n = ms->n;
    w->loaded = true;
    members_free(ms);
}

/* Columns in the order the loaded rows show them, in run order: so the
 * tables do not depend on when each row was loaded (at the start, or as
 * its batch finished). */
static void order_columns(sweep_dir *d)
{
    bool *placed = mm_xcalloc(d->ncols + 1, sizeof *placed);
    d->order = mm_xrealloc(d->order, (d->ncols + 1) * sizeof *d->order);
    d->norder = 0;
    for (size_t i = 0; i < d->nruns; i++)
        for (size_t m = 0; d->rows[i].loaded && m < d->rows[i].n; m++)
            if (!placed[d->rows[i].col[m]]) {
                placed[d->rows[i].col[m]] = true;
                d->order[d->norder++] = d->rows[i].col[m];
            }
    free(placed);
}

static void csv_field(FILE *f, const char *v)
{
    if (!strpbrk(v, ",\" \n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static int write_csv(FILE *f, void *p)
{
    sweep_dir *d = p;
    for (size_t c = 0; c < d->norder; c++) {
        if (c)
            fputc(',', f);
        csv_field(f, d->colname[d->order[c]]);
    }
    fputc('\n', f);
    const char **cell = mm_xcalloc(d->ncols + 1, sizeof *cell);
    for (size_t i = 0; i < d->nruns; i++) {
        const row *w = &d->rows[i];
        if (!w->loaded)
            continue;
        memset(cell, 0, d->ncols * sizeof *cell);
        for (size_t m = 0; m < w->n; m++)
            cell[w->col[m]] = w->val[m];
        for (size_t c = 0; c < d->norder; c++) {
            if (c)
                fputc(',', f);
            if (cell[d->order[c]])
                csv_field(f, cell[d->order[c]]);
        }
        fputc('\n', f);
    }
    free(cell);
    return ferror(f) ? -1 : 0;
}

static int write_jsonl(FILE *f, void *p)
{
    sweep_dir *d = p;
    for (size_t i = 0; i < d->nruns; i++) {
        const row *w = &d->rows[i];
        if (!w->loaded)
            continue;
        fputc('{', f);
        for (size_t m = 0; m < w->n; m++) {
            if (m)
                fputs(", ", f);
            const char *name = d->colname[w->col[m]];
            report_json_string(f, name);
            fputs(": ", f);
            const char *key = !strncmp(name, "config.", 7) ? name + 7 : !strncmp(name, "param.", 6) ? name + 6 : NULL;
            if (key && cfg_key_is_list(key))
                report_json_cfg_value(f, key, w->val[m]);
            else if (w->quoted[m])
                report_json_string(f, w->val[m]);
            else
                fputs(w->val[m], f);
        }
        fputs("}\n", f);
    }
    return ferror(f) ? -1 : 0;
}

/* Each finished run's file is checked and parsed once (the rows stay
 * cached).  A file this sweep wrote that fails the check is an error: a
 * bug, or something else writing in the folder. */
int sweep_dir_write_tables(sweep_dir *d, char *err, size_t errlen)
{
    for (size_t i = 0; i < d->nruns; i++) {
        if (!d->runs[i].have || d->rows[i].loaded)
            continue;
        char *path = run_path(d->runs_dir, d->runs[i].id), msg[4608];
        members ms = {0};
        sweep_file f = check_run_file(d->R, &d->runs[i], path, &ms, msg, sizeof msg);
        free(path);
        if (f != SWEEP_FILE_OK)
            return mm_errf(err, errlen, "%s (a run file this sweep wrote)", msg);
        adopt_row(d, &d->rows[i], &ms);
    }
    order_columns(d);
    if (write_atomic(d->dir, "results.csv", write_csv, d, err, errlen) != 0)
        return -1;
    return write_atomic(d->dir, "results.jsonl", write_jsonl, d, err, errlen);
}

typedef struct warner {
    void (*fn)(const char *line, void *ctx);
    void *ctx;
} warner;

/* Move what sits at run r's name (path) to DIR/damaged/ID.N.json, N the
 * first free from 1, and report it with its problem: the run is then
 * missing.  Holding the folder's lock, nothing else moves files there. */
static int move_aside(const sweep_dir *d, const run *r, const char *path, const char *problem, const warner *w,
                      char *err, size_t errlen)
{
    size_t n = strlen(d->dir) + 64;
    char *dir = mm_xmalloc(n), *dst = mm_xmalloc(n), id[17];
    sweep_id_text(r->id, id);
    snprintf(dir, n, "%s/damaged", d->dir);
    int rc = mkdir_p(dir, err, errlen);
    struct stat st;
    for (unsigned k = 1; rc == 0; k++) {
        snprintf(dst, n, "%s/%s.%u.json", dir, id, k);
        if (lstat(dst, &st) != 0)
            break;
    }
    if (rc == 0 && rename(path, dst) != 0)
        rc = mm_errf(err, errlen, "%s: cannot move it to %s: %s (it is not run %s's file: %s)", path, dst,
                     strerror(errno), id, problem);
    if (rc == 0 && w->fn) {
        size_t m = strlen(problem) + n + 16;
        char *line = mm_xmalloc(m);
        snprintf(line, m, "%s; moved to %s", problem, dst);
        w->fn(line, w->ctx);
        free(line);
    }
    free(dir);
    free(dst);
    return rc;
}

/* Which runs are finished: those whose file passes the check.  A damaged
 * file is moved aside and its run replayed; a sound one-pass file in a
 * direct sweep is replayed silently (overwritten). */
static int find_finished(sweep_dir *d, const warner *w, char *err, size_t errlen)
{
    for (size_t i = 0; i < d->nruns; i++) {
        char *path = run_path(d->runs_dir, d->runs[i].id), msg[4608];
        members ms = {0};
        sweep_file f = check_run_file(d->R, &d->runs[i], path, &ms, msg, sizeof msg);
        int rc = 0;
        if (f == SWEEP_FILE_OK) {
            adopt_row(d, &d->rows[i], &ms);
            d->runs[i].have = true;
            d->finished++;
        } else if (f == SWEEP_FILE_DAMAGED) {
            rc = move_aside(d, &d->runs[i], path, msg, w, err, errlen);
        } else if (f == SWEEP_FILE_UNREADABLE) {
            rc = mm_errf(err, errlen, "%s", msg);
        }
        free(path);
        if (rc)
            return -1;
    }
    return 0;
}

sweep_dir *sweep_dir_open(const sweep_runs *r, const char *dir, unsigned shard_index, unsigned shard_count,
                          void (*warn)(const char *line, void *ctx), void *ctx, char *err, size_t errlen)
{
    sweep_dir *d = mm_xcalloc(1, sizeof *d);
    *d = (sweep_dir){.R = r, .dir = mm_xstrdup(dir), .runs_dir = join_path(dir, "runs"), .lock = -1,
                     .cols = stats_create()};
    if (mkdir_p(d->runs_dir, err, errlen) != 0 || (d->lock = lock_dir(dir, err, errlen)) < 0) {
        sweep_dir_free(d);
        return NULL;
    }
    remove_stale(d->dir);
    remove_stale(d->runs_dir);
    d->runs = mm_xmalloc((r->n + 1) * sizeof *d->runs);
    /* A shard keeps its runs round-robin, so shards get every trace alike. */
    for (size_t i = 0; i < r->n; i++)
        if (shard_count <= 1 || i % shard_count == shard_index)
            d->runs[d->nruns++] = r->runs[i];
    d->rows = mm_xcalloc(d->nruns + 1, sizeof *d->rows);
    warner w = {warn, ctx};
    if (find_finished(d, &w, err, errlen) != 0) {
        sweep_dir_free(d);
        return NULL;
    }
    return d;
}

static void free_plan(sweep_dir *d)
{
    for (size_t b = 0; b < d->nbatches; b++)
        free(d->batches[b].runs);
    free(d->batches);
    d->batches = NULL;
    d->nbatches = 0;
}

void sweep_dir_free(sweep_dir *d)
{
    if (!d)
        return;
    free_plan(d);
    for (size_t i = 0; d->rows && i < d->nruns; i++) {
        for (size_t m = 0; m < d->rows[i].n; m++)
            free(d->rows[i].val[m]);
        free(d->rows[i].val);
        free(d->rows[i].col);
        free(d->rows[i].quoted);
    }
    free(d->rows);
    for (size_t i = 0; i < d->ncols; i++)
        free(d->colname[i]);
    free(d->colname);
    free(d->order);
    stats_free(d->cols);
    free(d->runs);
    if (d->lock >= 0)
        close(d->lock);
    free(d->runs_dir);
    free(d->dir);
    free(d);
}

size_t sweep_dir_runs(const sweep_dir *d) { return d->nruns; }
size_t sweep_dir_finished(const sweep_dir *d) { return d->finished; }

/* ---- batches ------------------------------------------------------------ */

size_t sweep_dir_plan(sweep_dir *d, size_t max)
{
    free_plan(d);
    size_t bmax = max ? max : SWEEP_BATCH_MAX, cap = 0;
    if (d->R->onepass)
        bmax = d->nruns;   /* one tapped replay per trace serves all its points: one batch */
    const mm_config *pcfg = d->R->pcfg;
    bool *taken = mm_xcalloc(d->nruns + 1, sizeof *taken);
    /* Per trace, the missing runs grouped by what replay_run_multi needs
     * equal (cpu.cpus, os.quantum), in run order. */
    for (size_t i = 0; i < d->nruns; i++) {
        if (d->runs[i].have || taken[i])
            continue;
        const mm_config *a = &pcfg[d->runs[i].point];
        batch b = {mm_xmalloc(bmax * sizeof *b.runs), 0};
        for (size_t j = i; j < d->nruns && b.n < bmax; j++) {
            const mm_config *c = &pcfg[d->runs[j].point];
            const run_phases *pa = &d->R->pph[d->runs[i].point], *pc = &d->R->pph[d->runs[j].point];
            if (d->runs[j].have || taken[j] || d->runs[j].trace != d->runs[i].trace || c->cpu.cpus != a->cpu.cpus ||
                c->os.quantum != a->os.quantum || !phases_equal(pa, pc))
                continue;
            taken[j] = true;
            b.runs[b.n++] = j;
        }
        mm_grow(&d->batches, &cap, d->nbatches, sizeof *d->batches, 16);
        d->batches[d->nbatches++] = b;
    }
    free(taken);
    return d->nbatches;
}

size_t sweep_dir_batch_size(const sweep_dir *d, size_t b) { return d->batches[b].n; }

const char *sweep_dir_batch_trace(const sweep_dir *d, size_t b)
{
    return d->R->s->trace_path[d->runs[d->batches[b].runs[0]].trace];
}

void sweep_dir_batch_done(sweep_dir *d, size_t b)
{
    const batch *bt = &d->batches[b];
    for (size_t k = 0; k < bt->n; k++)
        if (!d->runs[bt->runs[k]].have) {
            d->runs[bt->runs[k]].have = true;
            d->finished++;
        }
}

/* How a replay of a batch ended, for the caller: stopped when the replay
 * was, or when *stop came after it (its counters are then not written). */
static sweep_status batch_status(replay_status rs, volatile sig_atomic_t *stop)
{
    if (rs == REPLAY_ERROR)
        return SWEEP_ERROR;
    return rs == REPLAY_STOPPED || (stop && *stop) ? SWEEP_STOPPED : SWEEP_DONE;
}

/* Write the run files of runs[0..n) (indices into d->runs), configs
 * cfgs, counters out, ends st, made by `method`. */
static sweep_status write_runs(const sweep_dir *d, const size_t *runs, const mm_config *cfgs, stats *const *out,
                               const replay_status *st, size_t n, const char *method, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const run *r = &d->runs[runs[i]];
        run_file_ctx c = {d->R->s, r, &cfgs[i], &d->R->pph[r->point], out[i], st[i], method};
        char name[32], id[17];
        sweep_id_text(r->id, id);
        snprintf(name, sizeof name, "%s.json", id);
        if (write_atomic(d->runs_dir, name, write_run_file, &c, err, errlen) != 0)
            return SWEEP_ERROR;
    }
    return SWEEP_DONE;
}

/* Replay cfgs[0..n) directly, SWEEP_BATCH_MAX per decode pass
 * (replay_run_multi), and write their run files. */
static sweep_status run_direct(const sweep_dir *d, const replay_opts *ro, const size_t *runs, const mm_config *cfgs,
                               size_t n, char *err, size_t errlen)
{
    sweep_status code = SWEEP_DONE;
    for (size_t i = 0; i < n && code == SWEEP_DONE; i += SWEEP_BATCH_MAX) {
        size_t m = n - i < SWEEP_BATCH_MAX ? n - i : SWEEP_BATCH_MAX;
        stats *out[SWEEP_BATCH_MAX];
        replay_status st[SWEEP_BATCH_MAX];
        code = batch_status(replay_run_multi(cfgs + i, (unsigned)m, ro, out, st, err, errlen), ro->stop);
        if (code == SWEEP_DONE)
            code = write_runs(d, runs + i, cfgs + i, out, st, m, "direct", err, errlen);
        for (size_t j = 0; j < m; j++)
            stats_free(out[j]);
    }
    return code;
}

/* One tapped replay for every config of the batch (onepass.h), or, when
 * that pass turns out not to be exact, direct replays. */
static sweep_status run_onepass(const sweep_dir *d, const replay_opts *ro, const size_t *runs,
                                const mm_config *cfgs, size_t n, char *err, size_t errlen)
{
    stats **out = mm_xcalloc(n, sizeof *out);
    replay_status *st = mm_xcalloc(n, sizeof *st);
    bool exact;
    sweep_status code = batch_status(onepass_replay(cfgs, n, ro, out, st, &exact, err, errlen), ro->stop);
    if (code == SWEEP_DONE)
        code = exact ? write_runs(d, runs, cfgs, out, st, n, "onepass", err, errlen)
                     : run_direct(d, ro, runs, cfgs, n, err, errlen);
    for (size_t i = 0; i < n; i++)
        stats_free(out[i]);
    free(out);
    free(st);
    return code;
}

sweep_status sweep_dir_run_batch(sweep_dir *d, size_t b, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    const batch *bt = &d->batches[b];
    if (stop && *stop)
        return SWEEP_STOPPED;
    mm_config *cfgs = mm_xmalloc(bt->n * sizeof *cfgs);
    for (size_t i = 0; i < bt->n; i++)
        cfgs[i] = d->R->pcfg[d->runs[bt->runs[i]].point];
    const char *trace = sweep_dir_batch_trace(d, b);
    const run_phases *ph = &d->R->pph[d->runs[bt->runs[0]].point];   /* the batch's (sweep_dir_plan) */
    replay_opts ro = {.traces = &trace, .ntraces = 1, .format = REPORT_JSON, .stop = stop, .skip = ph->skip,
                      .warmup = ph->warmup, .max = ph->max, .roi = ph->roi};
    sweep_status code = d->R->onepass ? run_onepass(d, &ro, bt->runs, cfgs, bt->n, err, errlen)
                                      : run_direct(d, &ro, bt->runs, cfgs, bt->n, err, errlen);
    free(cfgs);
    if (code == SWEEP_DONE)
        sweep_dir_batch_done(d, b);
    return code;
}
