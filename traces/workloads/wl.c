/* wl.c -- the workload kernels' command line, allocation and output (wl.h). */
#include "wl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const wl_spec *s, FILE *f)
{
    fprintf(f, "usage: %s %sFOOTPRINT %s\n", s->name, s->has_dump ? "[--dump] [--cache FILE] " : "", s->iters);
}

static _Noreturn void bad(const wl_spec *s, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", s->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (usage: %s %sFOOTPRINT %s)\n", s->name, s->has_dump ? "[--dump] [--cache FILE] " : "", s->iters);
    exit(2);
}

/* Decimal digits with an optional K, M, G or T (powers of two); false on
 * anything else or on overflow. */
static bool parse_count(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    unsigned shift = 0;
    if (*end) {
        const char *units = "KMGT", *u = strchr(units, *end);
        if (!u || !*u || end[1])
            return false;
        shift = 10 * (unsigned)(u - units + 1);
    }
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

wl_args wl_parse(const wl_spec *spec, int argc, char **argv)
{
    wl_args a = {0};
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(spec, stdout);
            fputs(spec->about, stdout);
            exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1);
        } else if (spec->has_dump && strcmp(arg, "--dump") == 0) {
            a.dump = true;
        } else if (spec->has_dump && strcmp(arg, "--cache") == 0) {
            if (i + 1 == argc)
                bad(spec, "%s", "--cache needs a FILE");
            a.cache = argv[++i];
        } else if (arg[0] == '-' && arg[1]) {
            bad(spec, "unknown option '%s'", arg);
        } else if (npos == 2) {
            bad(spec, "unexpected argument '%s'", arg);
        } else {
            pos[npos++] = arg;
        }
    }
    if (npos < 2)
        bad(spec, "%s", npos == 0 ? "missing FOOTPRINT" : "missing ITERATIONS");
    if (!parse_count(pos[0], &a.footprint))
        bad(spec, "bad FOOTPRINT '%s': expected bytes with an optional K, M, G or T suffix", pos[0]);
    if (!parse_count(pos[1], &a.iters))
        bad(spec, "bad ITERATIONS '%s': expected a count with an optional K, M, G or T suffix", pos[1]);
    if (a.footprint < spec->min_footprint) {
        char min[64];
        snprintf(min, sizeof min, "%llu", (unsigned long long)spec->min_footprint);
        fprintf(stderr, "%s: FOOTPRINT %s is below the smallest, %s bytes\n", spec->name, pos[0], min);
        exit(2);
    }
    return a;
}

void *wl_calloc(const wl_spec *spec, size_t n, size_t size)
{
    void *p = n && size ? calloc(n, size) : NULL;
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu x %zu bytes)\n", spec->name, n, size);
        exit(1);
    }
    return p;
}

int wl_finish(const wl_spec *spec)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write standard output: %s\n", spec->name, strerror(errno));
        return 1;
    }
    return 0;
}
