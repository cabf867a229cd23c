/* bench_memory.c -- peak memory of `mmusim run` and `mmusim trace info` on
 * traces that are long, or whose frames are huge, or whose footprint is.
 *
 * Usage: bench_memory [--count N] [--keep DIR]
 *
 * Writes three traces into a scratch folder (DIR with --keep, else a
 * temporary one removed at the end):
 *   (a) instr-10M   10,000,000 instruction-count records, no access;
 *   (b) frame-1G    one frame of 2^30 one-byte instruction-count records:
 *                   1 GiB once decompressed;
 *   (c) gups-64G    `trace gen gups --footprint 64G --processes 1 --count N`
 *                   (default N 20,000,000 accesses: ~7.5 M distinct 4 KiB
 *                   pages), replayed with os.phys_mem_mib = 72 GiB so that
 *                   every page fits;
 * then runs the mmusim program beside this benchmark (bin/mmusim) on each
 * and prints its peak resident set (the child's ru_maxrss), with the time.
 * For `trace info` on (c) it also prints the bytes per distinct 4 KiB page
 * of what info adds to its size on a tiny trace (its baseline).
 *
 * Targets (issue 10): run on (a) and (b) under 64 MB, and the same for
 * both (independent of the length); trace info at most 16 bytes per
 * distinct 4 KiB page. */
#define _DEFAULT_SOURCE   /* wait4 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mmusim/trace.h"
#include "mmusim/trace_gen.h"

#include "bench_util.h"

static char prog[PATH_MAX];

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "bench_memory: %s: %s\n", what, why);
    exit(1);
}

/* Run `prog args...` with its standard output into `out` (NULL: discarded);
 * its peak RSS in KiB and its wall time. */
static long run(const char *const *args, const char *out, double *secs)
{
    double t0 = now_s();
    fflush(stdout);   /* else the child's exit would print it again */
    pid_t pid = fork();
    if (pid < 0)
        fail("fork", strerror(errno));
    if (pid == 0) {
        if (!freopen(out ? out : "/dev/null", "w", stdout))
            _exit(126);
        execv(prog, (char *const *)args);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid)
        fail("wait4", strerror(errno));
    *secs = now_s() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_memory: %s %s %s ... ended with status %d\n", prog, args[1], args[2],
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        exit(1);
    }
    return ru.ru_maxrss;
}

static trace_writer *open_writer(const char *path, unsigned frame_records)
{
    char err[512];
    trace_meta m = {0};
    snprintf(m.source, sizeof m.source, "bench_memory");
    trace_writer *w = trace_writer_open(path, &m, frame_records, 0, err, sizeof err);
    if (!w)
        fail(path, err);
    return w;
}

static void close_writer(trace_writer *w, const char *path)
{
    char err[512];
    if (trace_writer_close(w, err, sizeof err) != 0)
        fail(path, err);
}

/* n instruction-count records of count 1 (one byte each in a frame). */
static void write_instrs(const char *path, uint64_t n, unsigned frame_records)
{
    trace_writer *w = open_writer(path, frame_records);
    trace_rec r = {.kind = TR_INSTR, .count = 1};
    for (uint64_t i = 0; i < n; i++)
        if (trace_write(w, &r) != 0)
            fail(path, trace_writer_error(w));
    close_writer(w, path);
}

static void write_gups(const char *path, uint64_t count)
{
    char err[512];
    trace_gen_opts o;
    trace_gen_defaults(&o);
    if (trace_gen_set(&o, "footprint", "64G", err, sizeof err) || trace_gen_set(&o, "processes", "1", err, sizeof err))
        fail("gups", err);
    o.count = count;
    trace_meta m = {0};
    trace_writer *w = open_writer(path, 0);
    if (trace_gen(trace_gen_pattern_by_name("gups"), &o, trace_writer_sink(w), &m, err, sizeof err) != 0)
        fail(path, err);
    close_writer(w, path);
}

/* The value of "key: N ..." in a trace info output file. */
static uint64_t info_value(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail(path, strerror(errno));
    char line[4096];
    size_t k = strlen(key);
    uint64_t v = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ':')
            v = strtoull(line + k + 1, NULL, 10);
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    uint64_t count = 20000000;
    const char *keep = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
            keep = argv[++i];
        else {
            fprintf(stderr, "usage: bench_memory [--count N] [--keep DIR]\n");
            return 2;
        }
    }
    ssize_t n = readlink("/proc/self/exe", prog, sizeof prog - 16);
    if (n <= 0)
        fail("/proc/self/exe", strerror(errno));
    prog[n] = 0;
    strcpy(strrchr(prog, '/') + 1, "mmusim");
    if (access(prog, X_OK) != 0)
        fail(prog, "not found (build the mmusim program)");

    char dir[PATH_MAX];
    if (keep)
        snprintf(dir, sizeof dir, "%s", keep);
    else if (snprintf(dir, sizeof dir, "/tmp/bench_memory.XXXXXX") && !mkdtemp(dir))
        fail("mkdtemp", strerror(errno));
    char a[PATH_MAX + 32], b[PATH_MAX + 32], c[PATH_MAX + 32], info[PATH_MAX + 32];
    snprintf(a, sizeof a, "%s/instr-10M.trace.zst", dir);
    snprintf(b, sizeof b, "%s/frame-1G.trace.zst", dir);
    snprintf(c, sizeof c, "%s/gups-64G.trace.zst", dir);
    snprintf(info, sizeof info, "%s/info.txt", dir);

    printf("writing the traces into %s ...\n", dir);
    fflush(stdout);
    write_instrs(a, 10000000, 0);
    write_instrs(b, 1ull << 30, 1u << 30);
    write_gups(c, count);

    double t;
    printf("%-44s %12s %9s\n", "command", "peak RSS", "time");
    const char *run_a[] = {prog, "run", "--json", a, NULL};
    long ra = run(run_a, NULL, &t);
    printf("%-44s %9.1f MB %8.2fs\n", "mmusim run (a) 10M instr records", ra / 1024.0, t);
    const char *run_b[] = {prog, "run", "--json", b, NULL};
    long rb = run(run_b, NULL, &t);
    printf("%-44s %9.1f MB %8.2fs\n", "mmusim run (b) one 1 GiB frame", rb / 1024.0, t);
    const char *run_c[] = {prog, "run", "--json", "--set", "os.phys_mem_mib=73728", c, NULL};
    long rc = run(run_c, NULL, &t);
    char label[64];
    snprintf(label, sizeof label, "mmusim run (c) gups 64G, %" PRIu64 "M accesses", count / 1000000);
    printf("%-44s %9.1f MB %8.2fs\n", label, rc / 1024.0, t);

    const char *info_a[] = {prog, "trace", "info", a, NULL};
    long base = run(info_a, NULL, &t);
    printf("%-44s %9.1f MB %8.2fs\n", "mmusim trace info (a), its baseline", base / 1024.0, t);
    const char *info_c[] = {prog, "trace", "info", c, NULL};
    long ic = run(info_c, info, &t);
    uint64_t pages = info_value(info, "footprint.4k");
    printf("%-44s %9.1f MB %8.2fs\n", "mmusim trace info (c)", ic / 1024.0, t);
    printf("trace info: %" PRIu64 " distinct 4 KiB pages, %.2f bytes per page over its baseline\n", pages,
           pages ? (double)(ic - base) * 1024.0 / (double)pages : 0.0);
    printf("targets: (a), (b) < 64 MB: %s; trace info <= 16 B/page: %s\n",
           ra < 64 * 1024 && rb < 64 * 1024 ? "met" : "MISSED",
           pages && (double)(ic - base) * 1024.0 / (double)pages <= 16 ? "met" : "MISSED");

    if (!keep) {
        unlink(a);
        unlink(b);
        unlink(c);
        unlink(info);
        rmdir(dir);
    }
    return 0;
}
