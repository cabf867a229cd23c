/* report.c -- counters out as perf-stat text, JSON or CSV (see report.h). */
#define _POSIX_C_SOURCE 200809L
#include "mmusim/report.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <string.h>

#include "mmusim/version.h"

#include "base/hash.h"

/* 1234567 -> "1,234,567", as perf stat prints. */
static void thousands(uint64_t v, char *buf, size_t len)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < len; i++) {
        buf[o++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i != n - 1)
            buf[o++] = ',';
    }
    buf[o] = 0;
}

bool report_is_breakdown(const char *name)
{
    bool cpu = !strncmp(name, "cpu", 3), pid = !strncmp(name, "pid", 3);
    if (!cpu && !pid)
        return false;
    const char *p = name + 3;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '.';
}

/* ---- derived metrics ---------------------------------------------------- */

/* Each metric: its name, the formula in words, and how to compute it. */
typedef enum metric_kind {
    M_PKI,        /* 1000 * sum(num) / instructions */
    M_PER,        /* sum(num) / den (den > 0) */
    M_RATE,       /* hits / (hits + misses) */
    M_OVERHEAD,   /* stall / cycles */
} metric_kind;

static const struct metric_def {
    const char *name, *what;
    metric_kind kind;
    const char *num[3];   /* summed; NULL-terminated */
    const char *den;      /* M_PER */
} metric_defs[] = {
    {"itlb.mpki", "iTLB-load-misses per 1000 instructions", M_PKI, {"iTLB-load-misses"}, NULL},
    {"dtlb.mpki", "dTLB load and store misses per 1000 instructions", M_PKI,
     {"dTLB-load-misses", "dTLB-store-misses"}, NULL},
    {"stlb.mpki", "stlb.misses per 1000 instructions", M_PKI, {"stlb.misses"}, NULL},
    {"walks_pki", "walker.walks per 1000 instructions", M_PKI, {"walker.walks"}, NULL},
    {"walk_cycles_pki", "walker.walk_cycles per 1000 instructions", M_PKI, {"walker.walk_cycles"}, NULL},
    {"walker.avg_walk_cycles", "walker.walk_cycles / walker.walks", M_PER, {"walker.walk_cycles"}, "walker.walks"},
    {"pwc.hit_rate", "page-walk-cache hits / lookups", M_RATE, {NULL}, NULL},
    {"translation.overhead", "share of cycles stalled on translation", M_OVERHEAD, {NULL}, NULL},
};
#define NMETRIC_DEFS (sizeof metric_defs / sizeof metric_defs[0])
_Static_assert(NMETRIC_DEFS <= REPORT_MAX_METRICS, "REPORT_MAX_METRICS holds every metric");

bool report_is_metric(const char *name)
{
    for (size_t i = 0; i < NMETRIC_DEFS; i++)
        if (!strcmp(name, metric_defs[i].name))
            return true;
    return false;
}

/* Page-walk-cache hits and lookups: the translation caches' (pwc.LEVEL.hits,
 * pwc.misses: one lookup per walk) and the PTE cache's (one per entry
 * read); a design has one kind or none. */
static void pwc_counts(const stats *s, uint64_t *hits, uint64_t *lookups)
{
    *hits = *lookups = 0;
    for (size_t i = 0; i < stats_count(s); i++) {
        const char *n = stats_name(s, i);
        size_t len = strlen(n);
        if (strncmp(n, "pwc.", 4) != 0)
            continue;
        bool hit = len > 5 && !strcmp(n + len - 5, ".hits"), miss = len > 7 && !strcmp(n + len - 7, ".misses");
        if (hit)
            *hits += stats_value(s, i);
        if (hit || miss)
            *lookups += stats_value(s, i);
    }
}

unsigned report_metrics(const stats *s, report_metric m[REPORT_MAX_METRICS])
{
    unsigned n = 0;
    uint64_t instructions = stats_get(s, "instructions", NULL);
    for (size_t i = 0; i < NMETRIC_DEFS; i++) {
        const struct metric_def *d = &metric_defs[i];
        uint64_t num = 0, den = 0;
        bool have = true;
        for (unsigned j = 0; j < 3 && d->num[j]; j++) {
            bool found;
            num += stats_get(s, d->num[j], &found);
            have = have && found;
        }
        switch (d->kind) {
        case M_PKI:
            den = instructions;
            num *= 1000;
            break;
        case M_PER:
            den = stats_get(s, d->den, NULL);
            break;
        case M_RATE:
            pwc_counts(s, &num, &den);
            break;
        case M_OVERHEAD: {
            /* The core model's stall when it runs (its cycles are run time),
             * else the MMUs' own stall against their cycles. */
            bool core;
            num = stats_get(s, "core.translation_stall_cycles", &core);
            if (!core)
                num = stats_get(s, "translation.stall_cycles", &have);
            den = stats_get(s, "cycles", NULL);
            break;
        }
        }
        if (have && den)
            m[n++] = (report_metric){d->name, (double)num / (double)den, d->what};
    }
    return n;
}

/* ---- text --------------------------------------------------------------- */

/* The ratios perf prints beside an event: event -> (base event, text). */
static const struct {
    const char *event, *base, *what;
} ratios[] = {
    {"dTLB-load-misses", "dTLB-loads", "of all dTLB cache accesses"},
    {"dTLB-store-misses", "dTLB-stores", "of all dTLB cache accesses"},
    {"iTLB-load-misses", "iTLB-loads", "of all iTLB cache accesses"},
    {"stlb.misses", "stlb.hits", NULL},
};

/* The counters of the summary: the figures a TLB paper quotes. */
static const char *const summary[] = {
    "instructions", "cycles", "dTLB-loads", "dTLB-load-misses", "dTLB-stores", "dTLB-store-misses",
    "iTLB-loads", "iTLB-load-misses", "stlb.misses", "walker.walks", "walker.walk_cycles", "page-faults",
    "translation.stall_cycles",
};

typedef struct text_ctx {
    FILE *out;
    const stats *s;
    const report_metric *m;
    unsigned nm;
    const char *cycles_note;
} text_ctx;

/* What `cycles` covers, from the configuration: run time when a core model
 * (the key core.model) runs, else the MMUs' clocks. */
typedef struct core_probe {
    bool present;
    char value[64];
} core_probe;

static void probe_core(const char *key, const char *value, void *p)
{
    core_probe *c = p;
    if (!strcmp(key, "core.model")) {
        c->present = true;
        snprintf(c->value, sizeof c->value, "%s", value);
    }
}

static const char *cycles_note(const mm_config *cfg, char *buf, size_t len)
{
    core_probe c = {0};
    if (cfg)
        cfg_foreach(cfg, probe_core, &c);
    bool off = !c.present || !strcmp(c.value, "off") || !strcmp(c.value, "false") || !strcmp(c.value, "none");
    if (off)
        return "translation only (front end + walks), not run time";
    snprintf(buf, len, "run time (core model %s: instructions, data stalls, translation stalls)", c.value);
    return buf;
}

static void text_comment(const text_ctx *t, const char *name, uint64_t v, char *buf, size_t len)
{
    buf[0] = 0;
    /* cpuN.X and pidN.X take their base from the same CPU or process. */
    size_t plen = report_is_breakdown(name) ? (size_t)(strchr(name, '.') - name) + 1 : 0;
    const char *bare = name + plen;
    if (!strcmp(bare, "cycles") && t->cycles_note) {
        snprintf(buf, len, "#  %s", t->cycles_note);
        return;
    }
    for (size_t r = 0; r < sizeof ratios / sizeof ratios[0]; r++) {
        if (strcmp(bare, ratios[r].event) != 0)
            continue;
        char base_name[256];
        snprintf(base_name, sizeof base_name, "%.*s%s", (int)plen, name, ratios[r].base);
        bool found;
        uint64_t base = stats_get(t->s, base_name, &found);
        if (!ratios[r].what) /* misses over hits + misses */
            base += v;
        if (found && base)
            snprintf(buf, len, "#  %6.2f%% %s", 100.0 * (double)v / (double)base,
                     ratios[r].what ? ratios[r].what : "of all STLB lookups");
        return;
    }
}

static void text_counter(const text_ctx *t, const char *name, uint64_t v)
{
    char num[40], comment[160];
    thousands(v, num, sizeof num);
    text_comment(t, name, v, comment, sizeof comment);
    if (comment[0])
        fprintf(t->out, " %18s      %-40s %s\n", num, name, comment);
    else
        fprintf(t->out, " %18s      %s\n", num, name);
}

static void text_metric(const text_ctx *t, const report_metric *m)
{
    fprintf(t->out, " %18.3f      %-40s #  %s\n", m->value, m->name, m->what);
}

/* The lines of one -e event: the counter or metric of that name, or every
 * one a pattern matches; perf's "<not counted>" for a name with no value
 * (a process that never ran). */
static void text_event(const text_ctx *t, const char *ev)
{
    bool pattern = strpbrk(ev, "*?[") != NULL, any = false;
    for (size_t i = 0; i < stats_count(t->s); i++)
        if (pattern ? !fnmatch(ev, stats_name(t->s, i), 0) : !strcmp(ev, stats_name(t->s, i))) {
            text_counter(t, stats_name(t->s, i), stats_value(t->s, i));
            any = true;
        }
    for (unsigned i = 0; i < t->nm; i++)
        if (pattern ? !fnmatch(ev, t->m[i].name, 0) : !strcmp(ev, t->m[i].name)) {
            text_metric(t, &t->m[i]);
            any = true;
        }
    if (!any && !pattern)
        fprintf(t->out, " %18s      %s\n", "<not counted>", ev);
}

static void write_text(FILE *out, const stats *s, const mm_config *cfg, const report_opts *o)
{
    report_metric m[REPORT_MAX_METRICS];
    char note[160];
    text_ctx t = {out, s, m, report_metrics(s, m), cycles_note(cfg, note, sizeof note)};
    fprintf(out, "\n Performance counter stats for '%s'%s%s:\n\n", o->title ? o->title : "mmusim",
            cfg ? " on " : "", cfg ? cfg->name : "");
    switch (o->view) {
    case REPORT_SUMMARY:
        for (size_t i = 0; i < sizeof summary / sizeof summary[0]; i++) {
            bool found;
            uint64_t v = stats_get(s, summary[i], &found);
            if (found)
                text_counter(&t, summary[i], v);
        }
        fputc('\n', out);
        for (unsigned i = 0; i < t.nm; i++)
            text_metric(&t, &m[i]);
        break;
    case REPORT_ALL:
        for (size_t i = 0; i < stats_count(s); i++)
            text_counter(&t, stats_name(s, i), stats_value(s, i));
        fputc('\n', out);
        for (unsigned i = 0; i < t.nm; i++)
            text_metric(&t, &m[i]);
        break;
    case REPORT_EVENTS:
        for (unsigned i = 0; i < o->nevents; i++)
            text_event(&t, o->events[i]);
        break;
    }
    fputc('\n', out);
}

/* ---- JSON and CSV --------------------------------------------------------- */

void report_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* A config value is written bare in JSON when it is a number or boolean. */
static bool bare_value(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "false"))
        return true;
    if (!*v)
        return false;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

void report_json_value(FILE *out, const char *v)
{
    if (bare_value(v))
        fputs(v, out);
    else
        report_json_string(out, v);
}

void report_json_cfg_value(FILE *out, const char *key, const char *v)
{
    size_t len = strlen(v);
    if (!cfg_key_is_list(key) || len < 2 || v[0] != '[' || v[len - 1] != ']') {
        report_json_value(out, v);
        return;
    }
    /* "[a, b]": items are names without commas or brackets (page sizes). */
    fputc('[', out);
    const char *p = v + 1, *end = v + len - 1;
    for (bool first = true; p < end; first = false) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        char item[64];
        snprintf(item, sizeof item, "%.*s", (int)(stop - p), p);
        fputs(first ? "" : ", ", out);
        report_json_string(out, item);
        p = comma ? comma + 1 : end;
        while (p < end && *p == ' ')
            p++;
    }
    fputc(']', out);
}

typedef struct emit_ctx {
    FILE *out;
    report_format fmt;
    int phase;     /* CSV: 0 header, 1 values */
} emit_ctx;

static void emit_cfg(const char *key, const char *value, void *p)
{
    emit_ctx *c = p;
    if (c->fmt == REPORT_JSON) {
        fprintf(c->out, ",\n  \"config.%s\": ", key);
        report_json_cfg_value(c->out, key, value);
    } else if (c->phase == 0) {
        fprintf(c->out, ",config.%s", key);
    } else {
        /* RFC 4180: quote a field holding a comma, quote or space. */
        fputc(',', c->out);
        if (strpbrk(value, ",\" ")) {
            fputc('"', c->out);
            for (const char *q = value; *q; q++) {
                if (*q == '"')
                    fputc('"', c->out);
                fputc(*q, c->out);
            }
            fputc('"', c->out);
        } else {
            fputs(value, c->out);
        }
    }
}

/* Metrics in JSON and CSV: fixed six decimals, so the text of a value
 * depends only on the counters (IEEE division is correctly rounded). */
#define METRIC_FMT "%.6f"

static void write_json(FILE *out, const stats *s, const mm_config *cfg, const report_opts *o)
{
    size_t n = stats_count(s);
    report_metric m[REPORT_MAX_METRICS];
    unsigned nm = report_metrics(s, m);
    fprintf(out, "{\n  \"schema\": %d,\n  \"mmusim\": ", REPORT_SCHEMA);
    report_json_string(out, mmusim_version());
    fputs(",\n  \"title\": ", out);
    report_json_string(out, o->title ? o->title : "mmusim");
    fputs(",\n  \"trace_hash\": [", out);
    for (unsigned i = 0; i < o->ntraces; i++) {
        fputs(i ? ", " : "", out);
        if (o->trace_hash && o->trace_hash[i])
            report_json_string(out, o->trace_hash[i]);
        else
            fputs("null", out);
    }
    fputc(']', out);
    for (size_t i = 0; i < n; i++) {
        fputs(",\n  ", out);
        report_json_string(out, stats_name(s, i));
        fprintf(out, ": %" PRIu64, stats_value(s, i));
    }
    fputs(",\n  \"metrics\": {", out);
    for (unsigned i = 0; i < nm; i++) {
        fputs(i ? ", " : "", out);
        report_json_string(out, m[i].name);
        fprintf(out, ": " METRIC_FMT, m[i].value);
    }
    fputc('}', out);
    if (cfg) {
        emit_ctx ctx = {out, REPORT_JSON, 0};
        cfg_foreach(cfg, emit_cfg, &ctx);
    }
    fputs("\n}\n", out);
}

static void write_csv(FILE *out, const stats *s, const mm_config *cfg, const report_opts *o)
{
    size_t n = stats_count(s);
    report_metric m[REPORT_MAX_METRICS];
    unsigned nm = report_metrics(s, m);
    emit_ctx ctx = {out, REPORT_CSV, 0};
    fputs("title", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, ",%s", stats_name(s, i));
    for (unsigned i = 0; i < nm; i++)
        fprintf(out, ",metric.%s", m[i].name);
    if (cfg)
        cfg_foreach(cfg, emit_cfg, &ctx);
    fputc('\n', out);
    /* Values: title, counters, metrics, then config values. */
    fprintf(out, "\"%s\"", o->title ? o->title : "mmusim");
    for (size_t i = 0; i < n; i++)
        fprintf(out, ",%" PRIu64, stats_value(s, i));
    for (unsigned i = 0; i < nm; i++)
        fprintf(out, "," METRIC_FMT, m[i].value);
    if (cfg) {
        ctx.phase = 1;
        cfg_foreach(cfg, emit_cfg, &ctx);
    }
    fputc('\n', out);
}

int report_write_opts(FILE *out, report_format fmt, const stats *s, const mm_config *cfg, const report_opts *o)
{
    switch (fmt) {
    case REPORT_TEXT:
        write_text(out, s, cfg, o);
        break;
    case REPORT_JSON:
        write_json(out, s, cfg, o);
        break;
    case REPORT_CSV:
        write_csv(out, s, cfg, o);
        break;
    }
    return ferror(out) ? -1 : 0;
}

int report_write(FILE *out, report_format fmt, const stats *s, const mm_config *cfg, const char *title)
{
    report_opts o = {.title = title, .view = REPORT_ALL};
    return report_write_opts(out, fmt, s, cfg, &o);
}

int report_hash_file(const char *path, char *buf, size_t len)
{
    uint64_t h;
    if (fnv1a64_file(path, &h) != 0)
        return -1;
    snprintf(buf, len, "fnv1a64:%016" PRIx64, h);
    return 0;
}
