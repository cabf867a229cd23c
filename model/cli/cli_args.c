/* cli_args.c -- the subcommands' argument parser (see cli_args.h).
 *
 * One pass over argv.  The first problem is kept, not reported at once: a
 * --help later on the line still wins, so it works anywhere.  Positional
 * arguments are moved to the front of argv as they come (argv[1..n]); a
 * slot is reused only once the parser has passed it, and options keep
 * pointers to the strings, not to the slots. */
#include "cli_args.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Options of one subcommand at most (trace gen has the most, ~20). */
#define CLI_OPTS_MAX 64

typedef struct parse {
    const cli_cmd *c;
    bool help;
    char problem[512];   /* the first one, or "" */
} parse;

static void problem(parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(parse *p, const char *fmt, ...)
{
    if (p->problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->problem, sizeof p->problem, fmt, ap);
    va_end(ap);
}

static bool is_help(const char *s)
{
    return !strcmp(s, "--help") || !strcmp(s, "-h");
}

/* The option spelled by the first n characters of s. */
static const cli_opt *find(const cli_cmd *c, const char *s, size_t n)
{
    for (const cli_opt *o = c->opts; o && o->name; o++)
        if ((strlen(o->name) == n && !strncmp(o->name, s, n)) ||
            (o->alias && strlen(o->alias) == n && !strncmp(o->alias, s, n)))
            return o;
    return NULL;
}

/* The option at argv[*i], its values taken from the argument itself
 * ("--opt=V", "-xV") and the ones after it (advancing *i). */
static void take_option(parse *p, bool given[], int argc, char **argv, int *i)
{
    const cli_cmd *c = p->c;
    const char *s = argv[*i], *attached = NULL;
    size_t n;
    if (s[1] == '-') {
        const char *eq = strchr(s, '=');
        n = eq ? (size_t)(eq - s) : strlen(s);
        attached = eq ? eq + 1 : NULL;
    } else {
        n = 2;
        if (s[2])
            attached = s[2] == '=' ? s + 3 : s + 2;
    }
    const cli_opt *o = find(c, s, n);
    if (!o || (o->nvals == 0 && attached && s[1] != '-')) {
        problem(p, "unknown option '%s' (see mmusim %s --help)", s, c->name);
        return;
    }
    if (o->nvals == 0 && attached) {
        problem(p, "%.*s takes no value", (int)n, s);
        return;
    }
    size_t k = (size_t)(o - c->opts);
    if (o->val && given[k])
        problem(p, "%s given twice", o->name);
    given[k] = true;
    const char *v[2] = {s, NULL};
    unsigned got = 0;
    if (attached)
        v[got++] = attached;
    while (got < o->nvals && *i + 1 < argc)
        v[got++] = argv[++*i];
    if (got < o->nvals) {
        const char *need = o->need[got] ? o->need[got] : "a value";
        if (got)
            problem(p, "%.*s %s needs %s", (int)n, s, v[0], need);
        else
            problem(p, "%.*s needs %s", (int)n, s, need);
        return;
    }
    if (o->list) {
        if (*o->count == o->max)
            problem(p, "too many %s options", o->name);
        else
            o->list[(*o->count)++] = v[0];
        return;
    }
    for (unsigned j = 0; j < (o->nvals ? o->nvals : 1); j++)
        o->val[j] = v[j];
}

int cli_parse(const cli_cmd *c, int argc, char **argv, char ***rest)
{
    parse p = {.c = c};
    bool given[CLI_OPTS_MAX] = {0};
    size_t nopts = 0;
    while (c->opts && c->opts[nopts].name)
        nopts++;
    if (nopts > CLI_OPTS_MAX)
        abort();   /* a table larger than the parser was sized for */
    int npos = 0;
    bool options = true;   /* until "--" */
    char **cmd = NULL;
    for (int i = 1; i < argc && !cmd; i++) {
        char *s = argv[i];
        if (options && is_help(s)) {
            p.help = true;
        } else if (options && !strcmp(s, "--")) {
            options = false;
            if (c->command)
                cmd = argv + i + 1;
        } else if (options && s[0] == '-' && s[1]) {
            take_option(&p, given, argc, argv, &i);
        } else if (c->command) {
            cmd = argv + i;
        } else if (c->maxpos >= 0 && npos >= c->maxpos) {
            problem(&p, "unexpected argument '%s' (see mmusim %s --help)", s, c->name);
        } else {
            argv[++npos] = s;
        }
    }
    if (p.help) {
        if (c->usage)
            fputs(c->usage, stdout);
        else
            c->usage_fn(stdout);
        exit(0);
    }
    if (p.problem[0])
        die("%s: %s", c->name, p.problem);
    if (rest)
        *rest = cmd && *cmd ? cmd : NULL;
    return npos;
}
