/* cli.c -- shared pieces of the mmusim command line (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mmusim: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_BAD_INPUT);
}

bool common_option(common_opts *o, int argc, char **argv, int *i, const char *cmd)
{
    const char *a = argv[*i];
    const char *val = NULL;
    const char *names[] = {"--config", "--set", "--mode"};
    for (unsigned k = 0; k < 3; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0 || (a[n] != 0 && a[n] != '='))
            continue;
        if (a[n] == '=')
            val = a + n + 1;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else
            die("%s: %s needs a value", cmd, names[k]);
        if (k == 0)
            o->config = val;
        else if (k == 1) {
            if (o->nsets == sizeof o->sets / sizeof o->sets[0])
                die("%s: too many --set options", cmd);
            o->sets[o->nsets++] = val;
        } else
            o->mode = val;
        return true;
    }
    return false;
}

void load_config(const common_opts *o, mm_config *cfg)
{
    char err[512];
    if (cfg_load(cfg, o->config ? o->config : CFG_DEFAULT_PRESET, err, sizeof err) != 0)
        die("%s", err);
    if (o->mode) {
        char set[64];
        snprintf(set, sizeof set, "cpu.mode=%s", o->mode);
        if (cfg_set(cfg, set, err, sizeof err) != 0)
            die("--mode %s: unknown paging mode (x86-64, la57, pae, x86-32)", o->mode);
    }
    for (unsigned i = 0; i < o->nsets; i++)
        if (cfg_set(cfg, o->sets[i], err, sizeof err) != 0)
            die("%s", err);
    if (cfg_validate(cfg, err, sizeof err) != 0)
        die("%s", err);
}
