/* sweep_slurm.c -- `mmusim sweep SPEC --emit slurm DIR` and `mmusim sweep
 * collect DIR` (see sweep_slurm.h).
 *
 * Nothing here replays a trace or writes a run file of its own: the array
 * tasks are plain `mmusim sweep --shard` runs, and collect opens the merged
 * run files as a sweep's output folder (sweep_dir) and only rebuilds its
 * tables -- the same code, hence the same bytes, as a local sweep.  Each
 * shard's run file is checked first by the check a local sweep applies
 * (sweep_runs_check).  Files are written to a temporary name
 * (".NAME.tmp.PID", as sweep.c names them) and renamed when complete.
 *
 * The manifest is JSON (read back with libyaml, as sweep.c reads run
 * files), so a damaged one is reported with its line. */
#define _XOPEN_SOURCE 700   /* realpath: POSIX 2008 with the XSI part glibc declares it under */
#include "sweep_slurm.h"

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

#include "cli.h"
#include "mmusim/report.h"

#define MANIFEST "manifest.json"
#define SCRIPT "sweep.sbatch"
/* The manifest's "format": changed whenever a reader of the old text
 * would misread the new one. */
#define MANIFEST_FORMAT "mmusim-sweep-slurm 1"

/* ---- small helpers ------------------------------------------------------ */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("sweep: out of memory");
    return p;
}

/* printf into a new string. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

/* mkdir -p, then check that path is a folder. */
static void make_dirs(const char *path)
{
    char *p = fmt("%s", path);
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != 0)
            continue;
        char c = *q;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            die("%s: %s", p, strerror(errno));
        *q = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        die("%s: not a folder", p);
    free(p);
}

/* DIR/NAME := data, through DIR/.NAME.tmp.PID and rename, so the name never
 * shows a partial file. */
static void write_atomic(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
    char *tmp = fmt("%s/.%s.tmp.%ld", dir, name, (long)getpid()), *final = fmt("%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        die("%s: %s", tmp, strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            die("%s: write error: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        die("%s: write error: %s", tmp, strerror(e));
    }
    if (rename(tmp, final) != 0) {
        int e = errno;
        unlink(tmp);
        die("%s: %s", final, strerror(e));
    }
    free(tmp);
    free(final);
}

/* A whole file, NUL-terminated; NULL with errno set. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = 0, cap = 4096;
    char *b = xmalloc(cap);
    for (;;) {
        n += fread(b + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb)
            die("sweep: out of memory");
        b = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        errno = EIO;
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

/* A JSON text (the manifest) as a libyaml document, or the end:
 * "PATH:LINE: problem". */
static void load_json(const char *path, const char *buf, size_t len, yaml_document_t *doc)
{
    yaml_parser_t ps;
    yaml_parser_initialize(&ps);
    yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&ps, doc))
        die("%s:%zu: %s", path, ps.problem_mark.line + 1, ps.problem ? ps.problem : "syntax error");
    yaml_parser_delete(&ps);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static unsigned line_of(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }

/* A run id as sweep_id_text writes it: 16 lower-case hex digits.  (Ids
 * become file names, so nothing else may pass.) */
static bool is_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 16;
}

/* ---- emit --------------------------------------------------------------- */

/* The spec's runs (sweep_runs_create), or the end. */
static sweep_runs *spec_runs(const sweep_spec *s)
{
    char err[4608];
    sweep_runs *r = sweep_runs_create(s, err, sizeof err);
    if (!r)
        die("%s", err);
    return r;
}

/* A word for sh: single-quoted, a quote inside as '\''. */
static void sh_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* The job folder appears in #SBATCH --output/--error, where Slurm splits
 * at blanks, expands '%' patterns and turns patterns off at a backslash:
 * refuse what it would change rather than guess at its quoting. */
static void check_sbatch_path(const char *dir)
{
    for (const char *c = dir; *c; c++) {
        char what[40] = "a blank or control character";
        if ((unsigned char)*c > ' ')
            snprintf(what, sizeof what, "'%c'", *c);
        if ((unsigned char)*c <= ' ' || strchr("\"'\\%", *c))
            die("sweep: --emit slurm %s: a job folder whose path has %s cannot be named in #SBATCH --output; "
                "choose another folder",
                dir, what);
    }
}

static void write_manifest(const char *dir, const char *spec, uint64_t spec_hash, const char *self,
                           const sweep_runs *runs, size_t nshards)
{
    char *text = NULL, id[17];
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        die("sweep: out of memory");
    fprintf(m, "{\n  \"format\": \"%s\",\n  \"spec\": ", MANIFEST_FORMAT);
    report_json_string(m, spec);
    sweep_id_text(spec_hash, id);
    fprintf(m, ",\n  \"spec_hash\": \"%s\",\n  \"mmusim\": ", id);
    report_json_string(m, self);
    size_t nruns = sweep_runs_count(runs);
    fprintf(m, ",\n  \"runs\": %zu,\n  \"shards\": [", nruns);
    for (size_t k = 0; k < nshards; k++) {
        fprintf(m, "%s\n    [", k ? "," : "");
        for (size_t i = k; i < nruns; i += nshards) {
            sweep_id_text(sweep_runs_id(runs, i), id);
            fprintf(m, "%s\"%s\"", i == k ? "" : ", ", id);
        }
        fputc(']', m);
    }
    fputs("\n  ]\n}\n", m);
    if (fclose(m) != 0)
        die("sweep: out of memory");
    write_atomic(dir, MANIFEST, text, len, 0666);
    free(text);
}

static void write_script(const char *dir, const char *spec, const char *self, size_t nshards, unsigned cpus)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        die("sweep: out of memory");
    fprintf(f,
            "#!/bin/sh\n"
            "# A Slurm job array written by `mmusim sweep SPEC --emit slurm DIR`: task K\n"
            "# runs shard K of the sweep's runs (DIR/manifest.json lists them) into\n"
            "# DIR/shards/K.  Submit it with `sbatch DIR/sweep.sbatch` (options given to\n"
            "# sbatch override these lines), then merge with `mmusim sweep collect DIR`.\n"
            "# Finished runs are skipped, so submitting again -- all of it, or some\n"
            "# tasks: sbatch --array=1,3 DIR/sweep.sbatch -- finishes a failed sweep.\n"
            "#SBATCH --job-name=mmusim-sweep\n"
            "#SBATCH --array=0-%zu\n"
            "#SBATCH --ntasks=1\n"
            "#SBATCH --cpus-per-task=%u\n"
            "#SBATCH --output=%s/logs/%%A_%%a.out\n"
            "#SBATCH --error=%s/logs/%%A_%%a.err\n"
            "exec ",
            nshards - 1, cpus, dir, dir);
    sh_quote(f, self);
    fputs(" sweep ", f);
    sh_quote(f, spec);
    fprintf(f, " --shard \"${SLURM_ARRAY_TASK_ID:?not a Slurm array task}/%zu\" \\\n    --out ", nshards);
    sh_quote(f, dir);
    fputs("/shards/\"$SLURM_ARRAY_TASK_ID\" --jobs \"${SLURM_CPUS_PER_TASK:-1}\"\n", f);
    if (fclose(f) != 0)
        die("sweep: out of memory");
    write_atomic(dir, SCRIPT, text, len, 0777);
    free(text);
}

void slurm_emit(const sweep_spec *spec, const char *spec_path, const slurm_emit_opts *o)
{
    sweep_runs *runs = spec_runs(spec);
    size_t nruns = sweep_runs_count(runs), nshards = o->shards;
    if (nshards > nruns)
        die("sweep: --shards %u: more shards than the spec's %zu runs", o->shards, nruns);
    if (!nshards) {
        nshards = (nruns + SWEEP_BATCH_MAX - 1) / SWEEP_BATCH_MAX;
        nshards = nshards > SLURM_SHARDS_MAX ? SLURM_SHARDS_MAX : nshards ? nshards : 1;
    }

    /* Absolute paths: the tasks start in whatever folder Slurm gives them,
     * on other machines that see the same file system. */
    char *spec_abs = realpath(spec_path, NULL);
    if (!spec_abs)
        die("%s: %s", spec_path, strerror(errno));
    char *self = realpath("/proc/self/exe", NULL);
    if (!self)
        die("sweep: --emit slurm: cannot find this program's path (/proc/self/exe: %s)", strerror(errno));
    uint64_t spec_hash;
    char err[4608];
    if (sweep_hash_file(spec_abs, &spec_hash, err, sizeof err) != 0)
        die("%s", err);
    /* The path checked before anything is made, and again once symbolic
     * links are resolved. */
    char *cwd = o->dir[0] == '/' ? NULL : getcwd(NULL, 0);
    char *given = cwd ? fmt("%s/%s", cwd, o->dir) : fmt("%s", o->dir);
    check_sbatch_path(given);
    make_dirs(o->dir);
    char *dir = realpath(o->dir, NULL);
    if (!dir)
        die("%s: %s", o->dir, strerror(errno));
    check_sbatch_path(dir);
    free(given);
    free(cwd);
    /* Slurm does not create the folder of --output: a task whose log
     * cannot be opened fails without a word. */
    char *logs = fmt("%s/logs", dir);
    make_dirs(logs);

    write_manifest(dir, spec_abs, spec_hash, self, runs, nshards);
    write_script(dir, spec_abs, self, nshards, o->cpus ? o->cpus : 1);
    printf("sweep: %zu runs in %zu shard%s: %s/" SCRIPT ", %s/" MANIFEST "\n"
           "submit:  sbatch %s/" SCRIPT "\n"
           "then:    mmusim sweep collect %s\n",
           nruns, nshards, nshards > 1 ? "s" : "", dir, dir, dir, dir);
    free(logs);
    free(dir);
    free(self);
    free(spec_abs);
    sweep_runs_free(runs);
}

/* ---- collect ------------------------------------------------------------ */

typedef struct manifest {
    char *path;          /* DIR/manifest.json, for messages */
    char *spec;
    uint64_t spec_hash;
    size_t nruns, nshards;
    char (*ids)[17];     /* every shard's run ids, shard after shard */
    size_t *first;       /* shard k's: ids[first[k]] .. ids[first[k + 1] - 1] */
} manifest;

static void bad(const manifest *m, const yaml_node_t *n, const char *f, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void bad(const manifest *m, const yaml_node_t *n, const char *f, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(msg, sizeof msg, f, ap);
    va_end(ap);
    die("%s:%u: %s", m->path, n ? line_of(n) : 1, msg);
}

static void read_shards(manifest *m, yaml_document_t *doc, const yaml_node_t *v)
{
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
        bad(m, v, "shards: expected a list of shards, each a list of run ids");
    size_t ns = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start), total = 0;
    for (size_t k = 0; k < ns; k++) {
        const yaml_node_t *sh = yaml_document_get_node(doc, v->data.sequence.items.start[k]);
        if (sh->type != YAML_SEQUENCE_NODE)
            bad(m, sh, "shards: shard %zu: expected a list of run ids", k);
        total += (size_t)(sh->data.sequence.items.top - sh->data.sequence.items.start);
    }
    m->nshards = ns;
    m->ids = xmalloc(total * sizeof *m->ids);
    m->first = xmalloc((ns + 1) * sizeof *m->first);
    size_t n = 0;
    for (size_t k = 0; k < ns; k++) {
        const yaml_node_t *sh = yaml_document_get_node(doc, v->data.sequence.items.start[k]);
        m->first[k] = n;
        for (yaml_node_item_t *it = sh->data.sequence.items.start; it < sh->data.sequence.items.top; it++) {
            const yaml_node_t *idn = yaml_document_get_node(doc, *it);
            const char *id = scalar(idn);
            if (!id || !is_id(id))
                bad(m, idn, "shards: shard %zu: '%s' is not a run id (16 hex digits)", k, id ? id : "?");
            memcpy(m->ids[n++], id, 17);
        }
    }
    m->first[ns] = n;
}

/* Parse and check DIR/manifest.json; every problem ends the program. */
static void read_manifest(const char *dir, manifest *m)
{
    m->path = fmt("%s/" MANIFEST, dir);
    size_t len;
    char *buf = read_all(m->path, &len);
    if (!buf)
        die("%s: %s (not a folder written by `mmusim sweep SPEC --emit slurm DIR`?)", m->path, strerror(errno));
    yaml_document_t doc;
    load_json(m->path, buf, len, &doc);
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        bad(m, root, "expected the JSON object `mmusim sweep --emit slurm` writes");
    static const char *const keys[] = {"format", "spec", "spec_hash", "mmusim", "runs", "shards"};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    const yaml_node_t *val[NKEYS] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        size_t i = 0;
        while (i < NKEYS && !(scalar(k) && !strcmp(scalar(k), keys[i])))
            i++;
        if (i == NKEYS)
            bad(m, k, "unknown member '%s'", scalar(k) ? scalar(k) : "?");
        if (val[i])
            bad(m, k, "%s: given twice", keys[i]);
        val[i] = yaml_document_get_node(&doc, p->value);
    }
    for (size_t i = 0; i < NKEYS; i++)
        if (!val[i])
            bad(m, root, "no \"%s\": not a manifest as `mmusim sweep --emit slurm` writes it", keys[i]);
    if (!scalar(val[0]) || strcmp(scalar(val[0]), MANIFEST_FORMAT))
        bad(m, val[0], "format '%s': not one this mmusim reads ('" MANIFEST_FORMAT "'); emit the sweep again",
            scalar(val[0]) ? scalar(val[0]) : "?");
    if (!scalar(val[1]) || scalar(val[1])[0] != '/')
        bad(m, val[1], "spec: expected the spec's absolute path");
    m->spec = fmt("%s", scalar(val[1]));
    if (!scalar(val[2]) || !is_id(scalar(val[2])))
        bad(m, val[2], "spec_hash: expected 16 hex digits");
    m->spec_hash = strtoull(scalar(val[2]), NULL, 16);
    if (!scalar(val[3]))
        bad(m, val[3], "mmusim: expected the program's path");
    const char *runs = scalar(val[4]);
    char *end = NULL;
    if (runs && *runs >= '0' && *runs <= '9')
        m->nruns = (size_t)strtoull(runs, &end, 10);
    if (!end || *end)
        bad(m, val[4], "runs: expected the number of runs");
    read_shards(m, &doc, val[5]);
    if (m->first[m->nshards] != m->nruns)
        bad(m, val[4], "runs: %zu, but the shards list %zu", m->nruns, m->first[m->nshards]);
    yaml_document_delete(&doc);
    free(buf);
}

/* Copy a shard's run file, checked already, to DST/ID.json. */
static void copy_run(const char *src, const char *dst, const char *id)
{
    size_t len;
    char *buf = read_all(src, &len);
    if (!buf)
        die("%s: %s", src, strerror(errno));
    char name[32];
    snprintf(name, sizeof name, "%s.json", id);
    write_atomic(dst, name, buf, len, 0666);
    free(buf);
}

/* Shard numbers, ascending, as sbatch --array takes them: "1,3-5,9". */
static char *ranges(const size_t *k, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        die("sweep: out of memory");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && k[j + 1] == k[j] + 1)
            j++;
        fprintf(f, j > i ? "%s%zu-%zu" : "%s%zu", i ? "," : "", k[i], k[j]);
        i = j + 1;
    }
    if (fclose(f) != 0)
        die("sweep: out of memory");
    return text;
}

/* sweep_dir_open's warn: a damaged file in DIR/results/runs of a run that no
 * shard has a file for (a stale copy: the fresh ones were checked). */
static void warn_left_out(const char *line, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "mmusim: warning: %s; the tables leave its run out\n", line);
}

int slurm_collect(const char *dir, bool partial)
{
    manifest m = {0};
    read_manifest(dir, &m);
    char err[8192];
    uint64_t h;
    if (sweep_hash_file(m.spec, &h, err, sizeof err) != 0)
        die("%s (the spec of %s)", err, m.path);
    if (h != m.spec_hash)
        die("%s: changed since it was emitted to %s: emit and run the sweep again", m.spec, dir);
    sweep_spec *spec = sweep_spec_load(m.spec, err, sizeof err);
    if (!spec)
        die("%s", err);
    /* The spec's runs must be the manifest's, shard k holding the runs
     * k, k + N, k + 2N, ... (as emit listed them). */
    sweep_runs *listed = spec_runs(spec);
    bool same = sweep_runs_count(listed) == m.nruns;
    for (size_t k = 0; k < m.nshards && same; k++)
        for (size_t i = m.first[k], r = k; i < m.first[k + 1] && same; i++, r += m.nshards) {
            char id[17];
            if ((same = r < m.nruns)) {
                sweep_id_text(sweep_runs_id(listed, r), id);
                same = !strcmp(id, m.ids[i]);
            }
        }
    if (!same)
        die("collect: %s: the runs of %s are not those of %s any more (a trace or a config file changed?): "
            "emit and run the sweep again",
            dir, m.spec, m.path);

    /* Which runs have their file: a shard's folder holds only finished
     * ones.  Each is checked as a local sweep checks it (sweep_runs_check);
     * collect cannot replay, so a damaged one is an error, and the shard's
     * task, run again, moves it aside and replays the run. */
    bool *have = calloc(m.nruns + 1, sizeof *have);
    size_t *bad_shard = calloc(m.nshards + 1, sizeof *bad_shard);
    if (!have || !bad_shard)
        die("sweep: out of memory");
    size_t missing = 0, nbad = 0, first_missing = 0;
    for (size_t k = 0; k < m.nshards; k++) {
        size_t before = missing;
        for (size_t i = m.first[k], r = k; i < m.first[k + 1]; i++, r += m.nshards) {
            char *src = fmt("%s/shards/%zu/runs/%s.json", dir, k, m.ids[i]);
            sweep_file f = sweep_runs_check(listed, r, src, err, sizeof err);
            if (f != SWEEP_FILE_OK && f != SWEEP_FILE_MISSING)
                die("%s; run its task again (sbatch --array=%zu %s/" SCRIPT ") to replay it", err, k, dir);
            have[i] = f == SWEEP_FILE_OK;
            free(src);
            if (!have[i] && missing++ == 0)
                first_missing = i;
        }
        if (missing > before)
            bad_shard[nbad++] = k;
    }
    char *shard_list = ranges(bad_shard, nbad);
    if (missing && !partial)
        die("collect: %s: %zu of %zu runs have no result, in shard%s %s (the first: %s/shards/%zu/runs/%s.json; "
            "task logs in %s/logs): run them again with `sbatch --array=%s %s/" SCRIPT
            "`, or merge what is there with --partial",
            dir, missing, m.nruns, nbad > 1 ? "s" : "", shard_list, dir, bad_shard[0], m.ids[first_missing], dir,
            shard_list, dir);

    char *out = fmt("%s/results", dir), *runs = fmt("%s/results/runs", dir);
    make_dirs(runs);
    for (size_t k = 0; k < m.nshards; k++)
        for (size_t i = m.first[k]; i < m.first[k + 1]; i++)
            if (have[i]) {
                char *src = fmt("%s/shards/%zu/runs/%s.json", dir, k, m.ids[i]);
                copy_run(src, runs, m.ids[i]);
                free(src);
            }

    /* Every run that has a file is finished; the missing ones (--partial)
     * are left out of results.csv and results.jsonl. */
    sweep_dir *d = sweep_dir_open(listed, out, 0, 0, warn_left_out, NULL, err, sizeof err);
    if (!d || sweep_dir_write_tables(d, err, sizeof err) != 0)
        die("%s", err);
    sweep_dir_free(d);
    sweep_runs_free(listed);
    printf("collect: %zu of %zu runs from %zu shards: %s/results.csv, %s/results.jsonl\n", m.nruns - missing,
           m.nruns, m.nshards, out, out);
    if (missing)
        fprintf(stderr, "mmusim: collect: %zu runs have no result (shard%s %s): the tables leave them out\n",
                missing, nbad > 1 ? "s" : "", shard_list);
    sweep_spec_free(spec);
    free(shard_list);
    free(bad_shard);
    free(have);
    free(out);
    free(runs);
    free(m.path);
    free(m.spec);
    free(m.ids);
    free(m.first);
    return 0;
}
