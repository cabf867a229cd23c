/* test_hostile_output.c -- every command's standard output, lost.
 *
 * Each command runs with standard output on /dev/full (every write fails
 * with ENOSPC) and on a pipe whose reading end is already closed (EPIPE;
 * mmusim ignores SIGPIPE, so the write fails instead of killing it).  Each
 * must end with exit status 1 and exactly one line on stderr saying why
 * (cli_output_init), never status 0 with nothing written.  The pipe is made
 * here, closed before the command starts, so the case cannot race. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/run_prog.h"

#define MAX_ARGS 12
#define T MMUSIM_SOURCE_DIR "/traces/"

/* Criterion copies parameters into its workers: text, no pointers. */
typedef struct out_case {
    char args[256];   /* after the program's name, separated by '|' */
} out_case;

/* Run mmusim with `args`, stdout on fd, stderr into err; the exit status
 * (-1 when killed by a signal: *sig says which). */
static int run_to(int fd, const char *const *args, char *err, size_t errlen, int *sig)
{
    char errpath[64];
    snprintf(errpath, sizeof errpath, "/tmp/hostile-output-err.%ld", (long)getpid());
    char *argv[MAX_ARGS + 2] = {MMUSIM_PROG};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = (char *)args[i];
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e < 0 || dup2(fd, 1) < 0 || dup2(e, 2) < 0)
            _exit(99);
        signal(SIGPIPE, SIG_DFL);   /* as a shell leaves it: mmusim must ignore it itself */
        execv(MMUSIM_PROG, argv);
        _exit(98);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    prog_slurp(errpath, err, errlen);
    unlink(errpath);
    *sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}


ParameterizedTestParameters(output, lost)
{
    static out_case cases[] = {
        {"--help"},
        {"--version"},
        {"config|list"},
        {"config|show"},
        {"config|show|zen2|--set|dtlb.latency=2"},
        {"config|check|" MMUSIM_SOURCE_DIR "/configs/skylake.yaml"},
        {"config|--help"},
        {"walk|--va|0x1000|--map|0x1000:0x2000:4k"},
        {"walk|--va|0x1000|--map|0x1000:0x2000:4k|--json"},
        {"walk|--va|0x1000|--map|0x1000:0x2000:4k|--csv"},
        {"walk|--help"},
        {"run|--help"},
        {"run|" T "fork-cow.trace.zst"},
        {"run|--json|" T "fork-cow.trace.zst"},
        {"run|--csv|" T "fork-cow.trace.zst"},
        {"run|-I|1000|" T "fork-cow.trace.zst"},
        {"sweep|--help"},
        {"trace|--help"},
        {"trace|info|" T "gzip.trace.zst"},
        {"trace|cat|" T "gzip.trace.zst"},
        {"trace|export|--text|" T "fork-cow.trace.zst"},
        {"trace|gen|zipf|--count|1000|-o|-"},
    };
    return cr_make_param_array(out_case, cases, sizeof cases / sizeof cases[0]);
}

/* The case's arguments, split at '|' into buf; argv NULL-ended. */
static void split(const out_case *c, char *buf, size_t len, const char *argv[MAX_ARGS + 1])
{
    snprintf(buf, len, "%s", c->args);
    int n = 0;
    for (char *tok = strtok(buf, "|"); tok && n < MAX_ARGS; tok = strtok(NULL, "|"))
        argv[n++] = tok;
    argv[n] = NULL;
}

ParameterizedTest(out_case *c, output, lost)
{
    char buf[256], err[4096];
    const char *args[MAX_ARGS + 1];
    split(c, buf, sizeof buf, args);
    const char *what = c->args;
    int sig;

    int full = open("/dev/full", O_WRONLY);
    cr_assert_geq(full, 0);
    int st = run_to(full, args, err, sizeof err, &sig);
    close(full);
    cr_expect_eq(st, 1, "mmusim %s > /dev/full: status %d (signal %d), stderr: %s", what, st, sig, err);
    cr_expect_str_eq(err, "mmusim: writing standard output: No space left on device\n", "mmusim %s > /dev/full", what);

    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    st = run_to(p[1], args, err, sizeof err, &sig);
    close(p[1]);
    cr_expect_eq(st, 1, "mmusim %s | (closed): status %d (signal %d), stderr: %s", what, st, sig, err);
    cr_expect_str_eq(err, "mmusim: writing standard output: Broken pipe\n", "mmusim %s | (closed)", what);
}

/* The control: the same commands to a working file succeed. */
Test(output, written_when_it_can_be)
{
    char err[4096];
    int sig;
    const char *args[] = {"run", "--json", T "fork-cow.trace.zst", NULL};
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(run_to(fileno(f), args, err, sizeof err, &sig), 0, "%s", err);
    cr_expect_str_eq(err, "");
    cr_expect_gt(lseek(fileno(f), 0, SEEK_END), 100, "the report was written");
    fclose(f);
}
