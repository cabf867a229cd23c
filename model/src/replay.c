/* replay.c -- trace replay: the loop behind `mmusim run` (see replay.h).
 *
 * Every trace is a source.  Before the replay each source is read up to its
 * first access (those records are kept, in a small buffer, and replayed
 * first): a trace with an event record there, or with events counted in its
 * footer, carries its own processes; any other trace is "plain" and becomes
 * one process, pid 1000+i.  (From a pipe the footer comes at the end, so
 * only the records before the first access decide: a plain-looking trace
 * that shows an event later is an error.)
 *
 * Scheduling.  With one source, the replay reads it straight through.  With
 * several, plain sources run one per CPU (the k-th plain trace on CPU k)
 * when there are enough CPUs, and the sources take turns record by record;
 * otherwise the plain sources share CPU 0 and every source runs for
 * `os.quantum` accesses in turn (round robin; a source that ends gives its
 * turn to the next).  Sources that carry their own processes keep their
 * CPUs and pids.  Because several sources can run processes on one CPU, the
 * replay remembers which pid each source last put on each CPU and which pid
 * the OS model runs there; when they differ at an access, it first feeds
 * the OS a TR_SWITCH to the source's pid -- this is how time sharing makes
 * its context switches, lazily, at a turn's first access.  A pid belongs
 * to one source (pid 0, the kernel's, to all): when a trace names a pid
 * that another trace of the workload has (two copies of one generated
 * trace, or a generated trace's pid 1001 beside plain trace 1), the later
 * one's process gets pid (i+1)*1000000 + pid instead, so the traces'
 * processes stay apart instead of sharing an address space.
 *
 * The hot path is slice(): trace_next, a switch on the kind with the access
 * first, os_access, and two counters (records left before the next look at
 * the clock and *stop, accesses left before the next interval row or end of
 * turn).  It is instantiated once per kind of source (plain or not, alone
 * or in a workload of several) so that the common single-trace replay pays
 * for neither the CPU remapping nor the pid bookkeeping. */
#define _POSIX_C_SOURCE 200809L
#include "mmusim/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmusim/os.h"
#include "mmusim/stats.h"
#include "mmusim/trace.h"

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EXPECT(x, v) __builtin_expect((x), (v))
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define EXPECT(x, v) (x)
#define NOINLINE
#define ALWAYS_INLINE inline
#endif

/* Records between two looks at *stop and the clock: 64 Ki records take a
 * millisecond or two, so Ctrl-C answers at once and the progress bar's
 * clock reads cost nothing. */
#define CHECK_RECORDS 65536u
/* Progress redraws at most every 1/4 s. */
#define PROGRESS_PERIOD 0.25

#define PLAIN_PID_BASE 1000u
#define NO_PID UINT32_MAX
/* A trace's pid that another trace of the workload has: (i+1)*PID_SPACE + pid. */
#define PID_SPACE 1000000u

typedef struct source {
    trace_reader *rd;
    const char *path;
    uint64_t records;      /* records taken from the source so far (pre included) */
    trace_rec *pre;        /* records read ahead, up to and including the first access */
    size_t npre, pre_next, pre_cap;
    bool plain;            /* no process events of its own: one process, pid, cpu */
    bool done;
    unsigned index;        /* position on the command line */
    unsigned cpu;          /* plain: the CPU it runs on */
    uint32_t pid;          /* plain: its pid */
    uint32_t *view;        /* not plain, in a workload: pid it last switched to, per CPU */
} source;

/* A map of 64-bit keys to 64-bit values: open addressing, linear probing,
 * load <= 1/2; key 0 marks a free slot (callers store keys + 1). */
typedef struct u64map {
    uint64_t *k, *v;
    size_t cap, n;
} u64map;

static size_t map_slot(const u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (m->k[i] && m->k[i] != key)
        i = (i + 1) & mask;
    return i;
}

static bool map_get(const u64map *m, uint64_t key, uint64_t *v)
{
    if (!m->cap)
        return false;
    size_t i = map_slot(m, key);
    if (!m->k[i])
        return false;
    *v = m->v[i];
    return true;
}

static int map_put(u64map *m, uint64_t key, uint64_t v)
{
    if (2 * (m->n + 1) > m->cap) {
        u64map old = *m;
        m->cap = old.cap ? 2 * old.cap : 64;
        m->k = calloc(m->cap, sizeof *m->k);
        m->v = calloc(m->cap, sizeof *m->v);
        if (!m->k || !m->v) {
            free(m->k);
            free(m->v);
            *m = old;
            return -1;
        }
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.k[i])
                map_put(m, old.k[i], old.v[i]);
        free(old.k);
        free(old.v);
    }
    size_t i = map_slot(m, key);
    m->n += !m->k[i];
    m->k[i] = key;
    m->v[i] = v;
    return 0;
}

static void map_free(u64map *m)
{
    free(m->k);
    free(m->v);
}

typedef struct replay {
    const mm_config *cfg;
    const replay_opts *o;
    os *os;
    unsigned ncpus;
    source *src;
    unsigned nsrc;
    bool multi;            /* several sources: pid bookkeeping on */
    bool timeshare;        /* plain sources share CPU 0 */
    uint32_t *cur;         /* per CPU: the pid the OS model runs there (as fed), NO_PID */
    u64map taken;          /* pid + 1 -> the source that owns it */
    u64map alias;          /* (source + 1) << 32 | pid -> the pid the OS model knows it as */

    uint64_t accesses;     /* replayed so far */
    uint64_t total;        /* accesses of every trace, from the footers; 0 = unknown */

    /* interval rows */
    stats *prev;           /* counters at the last row */
    char **names;          /* the CSV header's counter names, fixed by the first row */
    uint64_t *last;        /* their values at the last row */
    size_t nnames;
    uint64_t rows;
    bool header_done;

    /* progress */
    double t0, t_drawn;
    bool drawn;

    char *err;
    size_t errlen;
} replay;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prefix R->err (which holds the OS model's message) with "FILE: record N: ". */
static NOINLINE int fail_at(replay *R, const source *s, uint64_t index)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", R->err);
    return mm_errf(R->err, R->errlen, "%s: record %" PRIu64 ": %s", s->path, index, msg);
}

/* ---- pids --------------------------------------------------------------- */

/* Give pid p of source s its pid in the workload: p itself unless another
 * source has it, else (i+1)*1000000 + p mod 1000000 (the next free one
 * from there).  Pid 0 (the kernel's mappings) is everyone's.  0, or -1 out
 * of host memory. */
static int pid_map(replay *R, const source *s, uint32_t p, uint32_t *out)
{
    uint64_t v, key = ((uint64_t)s->index + 1) << 32 | p;
    if (p == 0 || !R->multi) {
        *out = p;
        return 0;
    }
    if (map_get(&R->alias, key, &v)) {
        *out = (uint32_t)v;
        return 0;
    }
    uint64_t cand = p;
    if (map_get(&R->taken, cand + 1, &v)) {
        cand = ((uint64_t)s->index + 1) * PID_SPACE + p % PID_SPACE;
        while (cand >= NO_PID || map_get(&R->taken, cand + 1, &v))
            cand = cand >= NO_PID ? PID_SPACE : cand + 1;
    }
    if (map_put(&R->taken, cand + 1, s->index) != 0 || map_put(&R->alias, key, cand) != 0)
        return mm_errf(R->err, R->errlen, "out of host memory");
    *out = (uint32_t)cand;
    return 0;
}

/* ---- records ------------------------------------------------------------ */

/* Put `pid` on `cpu` (a switch the replay makes, not the trace). */
static NOINLINE int switch_to(replay *R, unsigned cpu, uint32_t pid)
{
    trace_rec sw = {.kind = TR_SWITCH, .cpu = (uint8_t)cpu, .pid = pid};
    if (os_event(R->os, &sw, R->err, R->errlen) != 0)
        return -1;
    R->cur[cpu] = pid;
    return 0;
}

/* An event record: in a workload, give its pids their workload pids and
 * keep the books of switches; hand it to the OS model.  0 or -1 (err
 * filled, without the record's place). */
static NOINLINE int event(replay *R, source *s, const trace_rec *r)
{
    if (r->kind >= TR_KIND_COUNT)
        return mm_errf(R->err, R->errlen, "unknown record kind %u", r->kind);
    if (s->plain)
        return mm_errf(R->err, R->errlen,
                       "a %s event in a trace that had none before its first access (read from a pipe, "
                       "a trace's processes must be set up before it accesses memory)",
                       trace_kind_name((trace_kind)r->kind));
    if (!R->multi)
        return os_event(R->os, r, R->err, R->errlen);
    trace_rec e = *r;
    switch (r->kind) {
    case TR_FORK:
        if (pid_map(R, s, r->child, &e.child) != 0)
            return -1;
        /* fall through */
    case TR_SWITCH:
    case TR_EXEC:
    case TR_EXIT:
    case TR_MMAP:
    case TR_MUNMAP:
    case TR_MPROTECT:
        if (pid_map(R, s, r->pid, &e.pid) != 0)
            return -1;
        break;
    default:
        break;
    }
    if (os_event(R->os, &e, R->err, R->errlen) != 0)
        return -1;
    if (e.kind == TR_SWITCH) {
        s->view[e.cpu] = e.pid;
        R->cur[e.cpu] = e.pid;
    }
    return 0;
}

static NOINLINE int bad_cpu(replay *R, const trace_rec *r)
{
    return mm_errf(R->err, R->errlen, "CPU %u, but the configuration has %u (cpu.cpus)", r->cpu, R->ncpus);
}

enum { A_OK = 0, A_ACCESS = 1, A_OOM = 2, A_ERROR = -1 };

/* Apply one record of source s.  A_ACCESS for an access, A_OK for anything
 * else, A_OOM when the OS model ran out of memory, A_ERROR (err filled,
 * without the record's place). */
static ALWAYS_INLINE int apply(replay *R, os *sys, unsigned ncpus, source *s, const trace_rec *r, const bool plain,
                               const bool multi)
{
    if (!plain && UNLIKELY(r->cpu >= ncpus))
        return bad_cpu(R, r);
    unsigned cpu = plain ? s->cpu : r->cpu;
    switch (EXPECT(r->kind, TR_ACCESS)) {
    case TR_ACCESS: {
        if (multi) {
            uint32_t want = plain ? s->pid : s->view[cpu];
            if (UNLIKELY(R->cur[cpu] != want) && want != NO_PID && switch_to(R, cpu, want) != 0)
                return A_ERROR;
        }
        mmu_result res;
        if (UNLIKELY(os_access(sys, cpu, r->va, r->size, (mm_kind)r->acc, (mm_priv)r->priv, &res) == OS_OOM))
            return A_OOM;   /* OS_SEGV: counted by the OS model; the replay goes on */
        return A_ACCESS;
    }
    case TR_INSTR:
        os_instructions(sys, cpu, r->count);
        return A_OK;
    default:
        return event(R, s, r) == 0 ? A_OK : A_ERROR;
    }
}

typedef enum slice_end {
    SL_LIMIT = 0,   /* max_rec records or max_acc accesses taken */
    SL_END,         /* the source ended */
    SL_OOM,
    SL_ERROR,       /* err filled */
} slice_end;

/* Replay records of s until max_rec records or max_acc accesses (both >= 1)
 * are taken, or the source ends; the counts taken are added to s->records
 * and R->accesses. */
static ALWAYS_INLINE slice_end slice_body(replay *R, source *s, uint64_t max_acc, uint64_t max_rec, const bool plain,
                                          const bool multi)
{
    uint64_t left = max_rec, acc_left = max_acc;
    slice_end end = SL_LIMIT;
    trace_rec r;
    int a = A_OK;
    os *const sys = R->os;
    const unsigned ncpus = R->ncpus;

    /* Records read ahead when the replay began (rare: once per source). */
    while (UNLIKELY(s->pre_next < s->npre) && left && acc_left) {
        left--;
        a = apply(R, sys, ncpus, s, &s->pre[s->pre_next++], plain, multi);
        if (a == A_ACCESS)
            acc_left--;
        else if (a != A_OK)
            goto stop;
    }
    if (UNLIKELY(s->pre != NULL) && s->pre_next == s->npre) {
        free(s->pre);
        s->pre = NULL;
    }

    trace_reader *const rd = s->rd;
    while (left && acc_left) {
        int rc = trace_next(rd, &r);
        if (UNLIKELY(rc <= 0)) {
            if (rc < 0) {
                mm_errf(R->err, R->errlen, "%s", trace_reader_error(rd));
                end = SL_ERROR;
            } else {
                end = SL_END;
            }
            break;
        }
        left--;
        a = apply(R, sys, ncpus, s, &r, plain, multi);
        if (LIKELY(a == A_ACCESS))
            acc_left--;
        else if (UNLIKELY(a != A_OK))
            goto stop;
    }
    s->records += max_rec - left;
    R->accesses += max_acc - acc_left;
    return end;

stop:
    s->records += max_rec - left;
    if (a == A_OOM) {
        R->accesses += max_acc - acc_left + 1;   /* the access that found no memory */
        return SL_OOM;
    }
    R->accesses += max_acc - acc_left;
    fail_at(R, s, s->records - 1);
    return SL_ERROR;
}

static NOINLINE slice_end slice_own(replay *R, source *s, uint64_t ma, uint64_t mr)
{
    return slice_body(R, s, ma, mr, false, false);
}
static NOINLINE slice_end slice_plain(replay *R, source *s, uint64_t ma, uint64_t mr)
{
    return slice_body(R, s, ma, mr, true, false);
}
static NOINLINE slice_end slice_own_multi(replay *R, source *s, uint64_t ma, uint64_t mr)
{
    return slice_body(R, s, ma, mr, false, true);
}
static NOINLINE slice_end slice_plain_multi(replay *R, source *s, uint64_t ma, uint64_t mr)
{
    return slice_body(R, s, ma, mr, true, true);
}

static slice_end slice(replay *R, source *s, uint64_t max_acc, uint64_t max_rec)
{
    if (R->multi)
        return s->plain ? slice_plain_multi(R, s, max_acc, max_rec) : slice_own_multi(R, s, max_acc, max_rec);
    return s->plain ? slice_plain(R, s, max_acc, max_rec) : slice_own(R, s, max_acc, max_rec);
}

/* ---- output ------------------------------------------------------------- */

/* One CSV row of the counters accumulated since the last row (the header
 * first).  Columns: interval (1, 2, ...), accesses and cycles (running
 * totals: accesses replayed, os_cycles), then every counter of
 * os_export_stats as a signed difference (gauges such as the RSS can go
 * down; the rows of a counter sum to its final value).  The header's names
 * are those of the first row, in export order; a later export is matched
 * to them by position, or by name if its order differs. */
static int interval_row(replay *R)
{
    FILE *out = R->o->out;
    stats *now = stats_create();
    os_export_stats(R->os, now);
    size_t n = stats_count(now);
    if (!R->header_done) {
        R->nnames = n;
        R->names = calloc(n ? n : 1, sizeof *R->names);
        R->last = calloc(n ? n : 1, sizeof *R->last);
        if (!R->names || !R->last) {
            stats_free(now);
            return mm_errf(R->err, R->errlen, "out of host memory");
        }
        fputs("interval,accesses,cycles", out);
        for (size_t i = 0; i < n; i++) {
            if (!(R->names[i] = strdup(stats_name(now, i)))) {
                stats_free(now);
                return mm_errf(R->err, R->errlen, "out of host memory");
            }
            /* A counter named like a running column ("cycles": the MMUs'
             * summed clocks) keeps its name with ".delta" added. */
            bool clash = !strcmp(R->names[i], "interval") || !strcmp(R->names[i], "accesses") ||
                         !strcmp(R->names[i], "cycles");
            fprintf(out, ",%s%s", R->names[i], clash ? ".delta" : "");
        }
        fputc('\n', out);
        R->header_done = true;
    }
    fprintf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, ++R->rows, R->accesses, (uint64_t)os_cycles(R->os));
    for (size_t i = 0; i < R->nnames; i++) {
        uint64_t v = (i < n && !strcmp(stats_name(now, i), R->names[i])) ? stats_value(now, i)
                                                                          : stats_get(now, R->names[i], NULL);
        fprintf(out, ",%" PRId64, (int64_t)(v - R->last[i]));
        R->last[i] = v;
    }
    fputc('\n', out);
    stats_free(now);
    if (ferror(out))
        return mm_errf(R->err, R->errlen, "writing the report: %s", strerror(errno));
    return 0;
}

/* The last interval row, for whatever happened since the row before (none
 * if nothing did and a row was written). */
static int interval_last(replay *R, uint64_t acc_at_last_row)
{
    if (!R->header_done || R->accesses != acc_at_last_row)
        return interval_row(R);
    stats *now = stats_create();
    os_export_stats(R->os, now);
    bool changed = false;
    for (size_t i = 0; i < R->nnames && !changed; i++)
        changed = stats_get(now, R->names[i], NULL) != R->last[i];
    stats_free(now);
    return changed ? interval_row(R) : 0;
}

static int final_report(replay *R)
{
    stats *s = stats_create();
    os_export_stats(R->os, s);
    int rc = report_write(R->o->out, R->o->format, s, R->cfg, R->o->title ? R->o->title : "mmusim run");
    stats_free(s);
    if (rc != 0 || fflush(R->o->out) != 0 || ferror(R->o->out))
        return mm_errf(R->err, R->errlen, "writing the report: %s", strerror(errno));
    return 0;
}

/* ---- progress ----------------------------------------------------------- */

/* 12345678 -> "12.3M". */
static void fmt_count(double v, char *buf, size_t len)
{
    if (v >= 1e9)
        snprintf(buf, len, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.1fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%.1fk", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
}

static void progress(replay *R, bool force)
{
    double t = now_s();
    if (!force && t - R->t_drawn < PROGRESS_PERIOD)
        return;
    R->t_drawn = t;
    double el = t - R->t0, rate = el > 0 ? (double)R->accesses / el : 0;
    char r[32], d[32];
    fmt_count(rate, r, sizeof r);
    fmt_count((double)R->accesses, d, sizeof d);
    if (R->total && R->accesses <= R->total) {
        double f = (double)R->accesses / (double)R->total;
        char bar[25];
        unsigned fill = (unsigned)(f * 24);
        for (unsigned i = 0; i < 24; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[24] = 0;
        unsigned eta = rate > 0 ? (unsigned)((double)(R->total - R->accesses) / rate + 0.5) : 0;
        fprintf(stderr, "\r[%s] %5.1f%%  %s accesses/s  ETA %u:%02u:%02u\033[K", bar, 100 * f, r, eta / 3600,
                eta / 60 % 60, eta % 60);
    } else {
        fprintf(stderr, "\r%s accesses  %s accesses/s\033[K", d, r);
    }
    fflush(stderr);
    R->drawn = true;
}

static void progress_erase(replay *R)
{
    if (R->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* ---- set-up ------------------------------------------------------------- */

/* Open the sources and read each up to its first access. */
static int open_sources(replay *R)
{
    const replay_opts *o = R->o;
    R->src = calloc(o->ntraces, sizeof *R->src);
    if (!R->src)
        return mm_errf(R->err, R->errlen, "out of host memory");
    R->nsrc = o->ntraces;
    unsigned stdin_seen = 0, plain = 0;
    bool total_known = true;
    for (unsigned i = 0; i < o->ntraces; i++) {
        source *s = &R->src[i];
        s->path = o->traces[i];
        s->index = i;
        if (!strcmp(s->path, "-") && stdin_seen++)
            return mm_errf(R->err, R->errlen, "-: standard input can be replayed only once");
        if (!(s->rd = trace_reader_open(s->path, R->err, R->errlen)))
            return -1;
        bool events = false;
        for (;;) {
            trace_rec r;
            if (s->npre == s->pre_cap)
                mm_grow(&s->pre, &s->pre_cap, s->npre, sizeof *s->pre, 16);
            int rc = trace_next(s->rd, &r);
            if (rc < 0)
                return mm_errf(R->err, R->errlen, "%s", trace_reader_error(s->rd));
            if (rc == 0)
                break;
            s->pre[s->npre++] = r;
            if (r.kind == TR_ACCESS)
                break;
            if (r.kind != TR_INSTR)
                events = true;
        }
        const trace_meta *m = trace_reader_meta(s->rd);
        if (m->events)
            events = true;
        if (!m->records && !m->accesses)
            total_known = false;   /* a pipe (or an empty trace): counts unknown */
        R->total += m->accesses;
        s->plain = !events;
        if (s->plain) {
            s->pid = PLAIN_PID_BASE + i;
            s->cpu = plain++;   /* the CPU in per-CPU mode; fixed below for time sharing */
        }
    }
    if (!total_known)
        R->total = 0;
    R->timeshare = plain > R->ncpus;
    if (R->timeshare)
        for (unsigned i = 0; i < R->nsrc; i++)
            R->src[i].cpu = 0;
    return 0;
}

static void free_replay(replay *R)
{
    for (unsigned i = 0; R->src && i < R->nsrc; i++) {
        if (R->src[i].rd)
            trace_reader_close(R->src[i].rd);
        free(R->src[i].pre);
        free(R->src[i].view);
    }
    free(R->src);
    free(R->cur);
    map_free(&R->taken);
    map_free(&R->alias);
    for (size_t i = 0; i < R->nnames; i++)
        free(R->names ? R->names[i] : NULL);
    free(R->names);
    free(R->last);
    if (R->os)
        os_free(R->os);
}

replay_status replay_run(const mm_config *cfg, const replay_opts *o, char *err, size_t errlen)
{
    if (!o->ntraces || !o->traces || !o->out) {
        mm_errf(err, errlen, "replay: no trace or no output");
        return REPLAY_ERROR;
    }
    replay R = {.cfg = cfg, .o = o, .err = err, .errlen = errlen, .multi = o->ntraces > 1};
    replay_status status = REPLAY_ERROR;
    if (!(R.os = os_create(cfg, err, errlen)))
        goto out;
    R.ncpus = os_cpus(R.os);
    if (!(R.cur = malloc(R.ncpus * sizeof *R.cur))) {
        mm_errf(err, errlen, "out of host memory");
        goto out;
    }
    for (unsigned c = 0; c < R.ncpus; c++)
        R.cur[c] = NO_PID;
    if (open_sources(&R) != 0)
        goto out;
    for (unsigned i = 0; i < R.nsrc; i++) {
        source *s = &R.src[i];
        if (s->plain && R.multi && map_put(&R.taken, (uint64_t)s->pid + 1, i) != 0) {
            mm_errf(err, errlen, "out of host memory");
            goto out;
        }
        if (!s->plain && R.multi) {
            if (!(s->view = malloc(R.ncpus * sizeof *s->view))) {
                mm_errf(err, errlen, "out of host memory");
                goto out;
            }
            for (unsigned c = 0; c < R.ncpus; c++)
                s->view[c] = NO_PID;
        }
    }
    /* Alone, a plain trace's process is put on its CPU once; in a workload
     * the first access of each turn does it (apply). */
    if (!R.multi && R.src[0].plain && switch_to(&R, R.src[0].cpu, R.src[0].pid) != 0)
        goto out;

    const uint64_t quantum = cfg->os.quantum ? cfg->os.quantum : 1;
    const bool interleave = R.multi && !R.timeshare;
    uint64_t ivl_left = o->interval ? o->interval : UINT64_MAX;
    uint64_t turn_left = R.timeshare ? quantum : UINT64_MAX;
    uint64_t check_left = CHECK_RECORDS, acc_at_row = 0;
    unsigned active = R.nsrc, cur = 0;
    if (o->progress)
        R.t0 = R.t_drawn = now_s();

    status = o->stop && *o->stop ? REPLAY_STOPPED : REPLAY_DONE;
    while (active && status == REPLAY_DONE) {
        source *s = &R.src[cur];
        uint64_t max_acc = ivl_left < turn_left ? ivl_left : turn_left;
        uint64_t rec0 = s->records, acc0 = R.accesses;
        slice_end e = slice(&R, s, max_acc, interleave ? 1 : check_left);
        uint64_t nacc = R.accesses - acc0;
        check_left -= s->records - rec0;
        if (e == SL_ERROR) {
            status = REPLAY_ERROR;
            break;
        }
        if (e == SL_OOM) {
            status = REPLAY_OOM;
            break;
        }
        if (o->interval && (ivl_left -= nacc) == 0) {
            if (interval_row(&R) != 0) {
                status = REPLAY_ERROR;
                break;
            }
            ivl_left = o->interval;
            acc_at_row = R.accesses;
        }
        if (check_left == 0) {
            check_left = CHECK_RECORDS;
            if (o->stop && *o->stop)
                status = REPLAY_STOPPED;
            if (o->progress)
                progress(&R, false);
        }
        bool next = interleave;
        if (e == SL_END) {
            s->done = true;
            active--;
            next = true;
        } else if (R.timeshare && (turn_left -= nacc) == 0) {
            next = true;
        }
        if (next && active) {
            do
                cur = (cur + 1) % R.nsrc;
            while (R.src[cur].done);
            turn_left = R.timeshare ? quantum : UINT64_MAX;
        }
    }
    if (o->progress)
        progress_erase(&R);
    if (status != REPLAY_ERROR) {
        int rc = o->interval ? interval_last(&R, acc_at_row) : final_report(&R);
        if (rc == 0 && o->interval && (fflush(o->out) != 0 || ferror(o->out)))
            rc = mm_errf(err, errlen, "writing the report: %s", strerror(errno));
        if (rc != 0)
            status = REPLAY_ERROR;
    }
out:
    free_replay(&R);
    return status;
}
