/* cli.c -- shared pieces of the mmusim command line (see cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/base/clock.h"

/* Set by die(): the exit status is EXIT_BAD_INPUT whatever else fails. */
static bool dying;
/* errno of the first failed write to standard output seen by
 * cli_stdout_failed, in case the final flush cannot tell it again. */
static int stdout_errno;

void die(const char *fmt, ...)
{
    dying = true;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (msg) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    /* A message of several lines (a sweep spec's errors): each its own. */
    for (const char *line = msg ? msg : "out of memory"; line;) {
        const char *nl = strchr(line, '\n');
        fprintf(stderr, "mmusim: %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        line = nl ? nl + 1 : NULL;
    }
    free(msg);
    exit(EXIT_BAD_INPUT);
}

/* atexit: the last word on standard output (as gnulib's close_stdout).
 * fclose flushes, and reports what the flush or the kernel's close found
 * (a deferred write error on NFS, say). */
static void close_stdout(void)
{
    /* A failed write leaves its bytes in the buffer (glibc), so the flush
     * in fclose fails again and says why; if not, the reason is unknown. */
    bool failed = ferror(stdout) != 0;
    errno = 0;
    failed |= fclose(stdout) != 0;
    if (!failed)
        return;
    int e = errno ? errno : stdout_errno;
    fprintf(stderr, "mmusim: writing standard output: %s\n", e ? strerror(e) : "a write failed");
    if (!dying)
        _exit(EXIT_OUTPUT_FAILED);
}

void cli_output_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    atexit(close_stdout);
}

bool cli_stdout_failed(void)
{
    if (!ferror(stdout))
        return false;
    if (!stdout_errno)
        stdout_errno = errno;
    return true;
}

void load_config(const common_opts *o, mm_config *cfg)
{
    char err[CFG_ERR_MAX];
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
    if ((o->mmu_only ? cfg_validate_mmu : cfg_validate)(cfg, err, sizeof err) != 0)
        die("%s", err);
}

static volatile sig_atomic_t *sigint_flag;

static void on_sigint(int sig)
{
    (void)sig;
    if (sigint_flag)
        *sigint_flag = 1;
}

void cli_catch_sigint(volatile sig_atomic_t *flag)
{
    sigint_flag = flag;
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;   /* the second Ctrl-C gets the default action */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

#define PROGRESS_PERIOD 0.25   /* seconds between redraws */

void cli_progress_start(cli_progress *p)
{
    p->t0 = mm_clock_s();
    p->t_drawn = 0;
    p->drawn = false;
}

/* A count as the bar shows it: exact below a million, else "12.3M", "1.23G". */
static void fmt_count(double v, char *buf, size_t len)
{
    if (v >= 1e9)
        snprintf(buf, len, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.1fM", v / 1e6);
    else
        snprintf(buf, len, "%.0f", v);
}

/* A rate: two decimals below 100 a second (runs/s), else as a count. */
static void fmt_rate(double v, char *buf, size_t len)
{
    if (v < 100)
        snprintf(buf, len, "%.2f", v);
    else
        fmt_count(v, buf, len);
}

void cli_progress_draw(cli_progress *p, uint64_t done, uint64_t total, const char *unit, bool force)
{
    double t = mm_clock_s();
    if (!force && p->drawn && t - p->t_drawn < PROGRESS_PERIOD)
        return;
    p->t_drawn = t;
    double el = t - p->t0, rate = el > 0 ? (double)done / el : 0;
    char d[16], n[16], r[16];
    fmt_count((double)done, d, sizeof d);
    fmt_count((double)total, n, sizeof n);
    fmt_rate(rate, r, sizeof r);
    if (!total) {
        fprintf(stderr, "\r%s %s  %s %s/s", d, unit, r, unit);
    } else {
        char bar[25];
        unsigned fill = (unsigned)(24.0 * (double)(done < total ? done : total) / (double)total);
        for (unsigned i = 0; i < 24; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[24] = 0;
        fprintf(stderr, "\r[%s] %s/%s %s  %s %s/s", bar, d, n, unit, r, unit);
        if (rate > 0 && done <= total) {
            unsigned eta = (unsigned)((double)(total - done) / rate + 0.5);
            fprintf(stderr, "  ETA %u:%02u:%02u", eta / 3600, eta / 60 % 60, eta % 60);
        }
    }
    fputs("\033[K", stderr);
    fflush(stderr);
    p->drawn = true;
}

void cli_progress_erase(cli_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = false;
    }
}
