/* report.c -- counters out as perf-stat text, JSON or CSV (see report.h). */
#include "mmusim/report.h"

#include <inttypes.h>
#include <string.h>

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

/* The ratios perf prints beside an event: event -> (base event, text). */
static const struct {
    const char *event, *base, *what;
} ratios[] = {
    {"dTLB-load-misses", "dTLB-loads", "of all dTLB cache accesses"},
    {"dTLB-store-misses", "dTLB-stores", "of all dTLB cache accesses"},
    {"iTLB-load-misses", "iTLB-loads", "of all iTLB cache accesses"},
    {"stlb.misses", "stlb.hits", NULL},
};

static void text_comment(const stats *s, size_t i, char *buf, size_t len)
{
    buf[0] = 0;
    const char *name = stats_name(s, i);
    uint64_t v = stats_value(s, i);
    for (size_t r = 0; r < sizeof ratios / sizeof ratios[0]; r++) {
        if (strcmp(name, ratios[r].event) != 0)
            continue;
        uint64_t base = stats_get(s, ratios[r].base, NULL);
        if (!ratios[r].what) /* misses over hits + misses */
            base += v;
        if (base)
            snprintf(buf, len, "#  %6.2f%% %s", 100.0 * (double)v / (double)base,
                     ratios[r].what ? ratios[r].what : "of all STLB lookups");
        return;
    }
}

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
        report_json_value(c->out, value);
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

int report_write(FILE *out, report_format fmt, const stats *s, const mm_config *cfg, const char *title)
{
    size_t n = stats_count(s);
    emit_ctx ctx = {out, fmt, 0};
    switch (fmt) {
    case REPORT_TEXT:
        fprintf(out, "\n Performance counter stats for '%s'%s%s:\n\n", title ? title : "mmusim",
                cfg ? " on " : "", cfg ? cfg->name : "");
        for (size_t i = 0; i < n; i++) {
            char num[40], comment[96];
            thousands(stats_value(s, i), num, sizeof num);
            text_comment(s, i, comment, sizeof comment);
            if (comment[0])
                fprintf(out, " %18s      %-40s %s\n", num, stats_name(s, i), comment);
            else
                fprintf(out, " %18s      %s\n", num, stats_name(s, i));
        }
        fputc('\n', out);
        break;
    case REPORT_JSON:
        fputs("{\n  \"title\": ", out);
        report_json_string(out, title ? title : "mmusim");
        for (size_t i = 0; i < n; i++) {
            fputs(",\n  ", out);
            report_json_string(out, stats_name(s, i));
            fprintf(out, ": %" PRIu64, stats_value(s, i));
        }
        if (cfg)
            cfg_foreach(cfg, emit_cfg, &ctx);
        fputs("\n}\n", out);
        break;
    case REPORT_CSV:
        fputs("title", out);
        for (size_t i = 0; i < n; i++)
            fprintf(out, ",%s", stats_name(s, i));
        if (cfg)
            cfg_foreach(cfg, emit_cfg, &ctx);
        fputc('\n', out);
        /* Values: title, counters, then config values. */
        fprintf(out, "\"%s\"", title ? title : "mmusim");
        for (size_t i = 0; i < n; i++)
            fprintf(out, ",%" PRIu64, stats_value(s, i));
        if (cfg) {
            ctx.phase = 1;
            cfg_foreach(cfg, emit_cfg, &ctx);
        }
        fputc('\n', out);
        break;
    }
    return ferror(out) ? -1 : 0;
}
