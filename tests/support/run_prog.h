/* run_prog.h -- run a shell line from a test and capture what it says.
 *
 * The tests of the mmusim program (test_cli, test_trace_cli, test_replay)
 * run it through the shell: prog_capture runs `LINE` with $M set to the
 * built program and $D to the test's scratch directory, standard input
 * from /dev/null, and returns its exit status (-1 if it was killed), with
 * its standard output and error in the caller's buffers. */
#ifndef MMUSIM_TESTS_RUN_PROG_H
#define MMUSIM_TESTS_RUN_PROG_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MMUSIM_PROG MMUSIM_BIN_DIR "/mmusim"

static inline void prog_slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

/* dir: a scratch directory for the capture files and $D ("/tmp" if NULL). */
static inline int prog_capture(const char *line, const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
    char o[256], e[256], cmd[8192];
    if (!dir)
        dir = "/tmp";
    snprintf(o, sizeof o, "%s/.prog-stdout.%ld", dir, (long)getpid());
    snprintf(e, sizeof e, "%s/.prog-stderr.%ld", dir, (long)getpid());
    snprintf(cmd, sizeof cmd, "M='%s'; D='%s'; (%s) >'%s' 2>'%s' </dev/null", MMUSIM_PROG, dir, line, o, e);
    int st = system(cmd);
    prog_slurp(o, out, outlen);
    prog_slurp(e, err, errlen);
    unlink(o);
    unlink(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* prog_capture of a printf-formatted line. */
static inline int prog_capturef(const char *dir, char *out, size_t outlen, char *err, size_t errlen,
                                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static inline int prog_capturef(const char *dir, char *out, size_t outlen, char *err, size_t errlen,
                                const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return prog_capture(line, dir, out, outlen, err, errlen);
}

static inline unsigned prog_lines(const char *s)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#endif
