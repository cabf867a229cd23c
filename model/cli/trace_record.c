/* trace_record.c -- `mmusim trace record`: valgrind's lackey forked and
 * exec'd, its log imported from a pipe (see trace_record.h).
 *
 * Two pipes connect the recorder and its child.  The log pipe carries
 * lackey's output (--log-fd) to trace_import_fd.  The exec-status pipe is
 * close-on-exec: it reads EOF once valgrind has started, or the child's
 * errno when execvp failed, so "valgrind is not installed" is told apart
 * from a command valgrind cannot run. */
#define _POSIX_C_SOURCE 200809L   /* fork, pipe, waitpid, strsignal */
#include "trace_record.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "mmusim/trace_import.h"

/* Records between two looks at the clock for the progress line. */
#define PROGRESS_RECORDS 65536u

/* argv joined by spaces, words with shell metacharacters in single quotes. */
static void join_command(char *const argv[], char out[TRACE_META_STR])
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+@%^-";
    size_t n = 0, cap = TRACE_META_STR - 1;
#define PUT(ch) \
    do { \
        if (n < cap) \
            out[n++] = (ch); \
    } while (0)
    for (size_t i = 0; argv[i]; i++) {
        const char *a = argv[i];
        if (i)
            PUT(' ');
        bool quote = !a[0] || strspn(a, plain) != strlen(a);
        if (quote)
            PUT('\'');
        for (; *a; a++) {
            if (*a == '\'') {   /* ' -> '\'' */
                PUT('\'');
                PUT('\\');
                PUT('\'');
            }
            PUT(*a);
        }
        if (quote)
            PUT('\'');
    }
#undef PUT
    out[n] = '\0';
}

/* The sink, counting the records it takes (before the filter: a log
 * without any is no trace) and the instructions, for the progress line. */
typedef struct counted {
    trace_sink sink;
    uint64_t records, instructions;
    cli_progress *bar;   /* NULL: no progress line */
} counted;

static int counted_put(void *ctx, const trace_rec *r)
{
    counted *c = ctx;
    if (c->sink.put(c->sink.ctx, r) < 0)
        return -1;
    c->records++;
    if (r->kind == TR_INSTR)
        c->instructions += r->count;
    if (c->bar && c->records % PROGRESS_RECORDS == 0)
        cli_progress_draw(c->bar, c->instructions, 0, "instructions", false);   /* throttled by it */
    return 0;
}

/* trace_record_opts as a filter between the importer and the sink.
 * States, in order: waiting for the begin marker (roi), dropping `skip`
 * instructions, keeping (up to `max` instructions), done (dropping the
 * rest). */
enum { F_WAIT, F_SKIP, F_KEEP, F_DONE };

typedef struct rec_filter {
    trace_sink next;
    trace_record_opts o;
    int state;
    uint64_t left;      /* instructions left in F_SKIP, or in F_KEEP with a max */
} rec_filter;

/* Enter the state after F_WAIT or F_SKIP: on through those of length 0. */
static void filter_next(rec_filter *f)
{
    if (f->state == F_WAIT) {
        f->state = F_SKIP;
        f->left = f->o.skip;
    }
    if (f->state == F_SKIP && f->left == 0) {
        f->state = F_KEEP;
        f->left = f->o.max;
    }
}

static int filter_put(void *ctx, const trace_rec *r)
{
    rec_filter *f = ctx;
    /* A thread's CPU and process (trace record --threads) hold for what is
     * kept after it: kept whatever is dropped around it. */
    if (r->kind == TR_SWITCH && f->state != F_DONE)
        return f->next.put(f->next.ctx, r);
    switch (f->state) {
    case F_WAIT:
        if (r->kind != TR_ROI || r->roi != TR_ROI_BEGIN)
            return 0;
        filter_next(f);
        return f->next.put(f->next.ctx, r);   /* the begin marker is kept */
    case F_SKIP:
        if (f->o.roi && r->kind == TR_ROI && r->roi == TR_ROI_END) {
            f->state = F_DONE;   /* the region ended inside the skip: keep its end */
            return f->next.put(f->next.ctx, r);
        }
        if (r->kind != TR_INSTR)
            return 0;
        if (r->count < f->left) {
            f->left -= r->count;
            return 0;
        }
        trace_rec rest = *r;
        rest.count = r->count - f->left;
        f->left = 0;
        filter_next(f);
        return rest.count ? filter_put(f, &rest) : 0;
    case F_KEEP:
        if (f->o.roi && r->kind == TR_ROI && r->roi == TR_ROI_END)
            f->state = F_DONE;
        else if (f->o.max && r->kind == TR_INSTR && r->count >= f->left) {
            trace_rec part = *r;
            part.count = f->left;
            f->state = F_DONE;
            return f->next.put(f->next.ctx, &part);
        } else if (f->o.max && r->kind == TR_INSTR)
            f->left -= r->count;
        return f->next.put(f->next.ctx, r);
    default:
        return 0;
    }
}

/* Programs that run another program: the trace would begin with them. */
static const char *const shims[] = {"env", "nice", "nohup", "timeout", "taskset", "numactl", "stdbuf", "chrt",
                                    "ionice", "setarch", "time", "sudo", "doas", "xargs", "exec"};

/* cmd as execvp finds it, into buf; false if it is not found. */
static bool find_in_path(const char *cmd, char *buf, size_t len)
{
    if (strchr(cmd, '/')) {
        snprintf(buf, len, "%s", cmd);
        return access(buf, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, len, "%.*s/%s", (int)n, n ? p : ".", cmd);
        if (access(buf, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* One warning line when argv[0] is a script or a shim: valgrind follows
 * its exec, and the trace holds the interpreter's or the shim's accesses
 * before the program's. */
static void warn_indirect(const char *cmd)
{
    const char *base = strrchr(cmd, '/');
    base = base ? base + 1 : cmd;
    for (size_t i = 0; i < sizeof shims / sizeof shims[0]; i++)
        if (!strcmp(base, shims[i])) {
            fprintf(stderr, "mmusim: trace record: warning: %s is a shim that runs another program: the trace "
                            "holds its accesses too (valgrind follows exec)\n", cmd);
            return;
        }
    char path[4096], head[2] = {0, 0};
    if (!find_in_path(cmd, path, sizeof path))
        return;   /* valgrind will say */
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(head, 1, 2, f);
    fclose(f);
    if (n == 2 && head[0] == '#' && head[1] == '!')
        fprintf(stderr, "mmusim: trace record: warning: %s is a script (#!): the trace holds its interpreter's "
                        "accesses too (valgrind follows exec)\n", cmd);
}

/* The child: valgrind with lackey's log on log_fd; on failure the errno
 * goes to status_fd.  Never returns. */
static void exec_valgrind(char **vargv, pid_t parent, int status_fd) __attribute__((noreturn));
static void exec_valgrind(char **vargv, pid_t parent, int status_fd)
{
    /* The recorded command gets the default SIGPIPE action, whatever its
     * recorder ignores (an ignored signal stays ignored across exec). */
    signal(SIGPIPE, SIG_DFL);
    /* A recorder killed by a signal (it has no trace to finish) takes
     * valgrind and the command with it, instead of leaving them running
     * until their next write to the closed log.  (If it died before prctl,
     * nobody waits for this child: do not start valgrind.) */
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent)
#endif
        execvp(vargv[0], vargv);
    (void)parent;
    int e = errno;
    ssize_t w = write(status_fd, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Wait for the child; its status in *st.  -1 with err when waitpid fails. */
static int wait_child(pid_t pid, int *st, bool report, char *err, size_t errlen)
{
    while (waitpid(pid, st, 0) < 0)
        if (errno != EINTR) {
            if (report)
                mm_errf(err, errlen, "trace record: waitpid: %s", strerror(errno));
            return -1;
        }
    return 0;
}

/* Start `valgrind --tool=lackey --trace-mem=yes --log-fd=N argv...`
 * (with threads, --trace-sched=yes too):
 * its pid, with *log_fd the read end of the log's pipe; -1 with err when
 * valgrind could not be started (the child is reaped). */
static pid_t start_valgrind(char *const argv[], bool threads, int *log_fd, char *err, size_t errlen)
{
    size_t argc = 0;
    while (argv[argc])
        argc++;
    enum { VG_ARGS = 6 };
    char **vargv = calloc(argc + VG_ARGS + 1, sizeof *vargv);
    int log[2] = {-1, -1}, status_pipe[2] = {-1, -1};
    pid_t pid = -1;
    if (!vargv) {
        mm_errf(err, errlen, "trace record: out of memory");
        return -1;
    }
    if (pipe(log) < 0 || pipe(status_pipe) < 0 || fcntl(log[0], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(status_pipe[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(status_pipe[1], F_SETFD, FD_CLOEXEC) < 0) {
        mm_errf(err, errlen, "trace record: pipe: %s", strerror(errno));
        goto out;
    }
    char logfd[32];
    snprintf(logfd, sizeof logfd, "--log-fd=%d", log[1]);
    vargv[0] = "valgrind";
    vargv[1] = "--tool=lackey";
    vargv[2] = "--trace-mem=yes";
    vargv[3] = "--trace-children=yes";   /* follow exec: a script's or shim's program */
    vargv[4] = logfd;
    size_t nv = 5;
    if (threads)
        vargv[nv++] = "--trace-sched=yes";   /* which thread runs: the importer's CPU (trace_import.c) */
    memcpy(vargv + nv, argv, argc * sizeof *argv);
    pid_t parent = getpid();
    if ((pid = fork()) < 0) {
        mm_errf(err, errlen, "trace record: fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(log[0]);
        close(status_pipe[0]);
        exec_valgrind(vargv, parent, status_pipe[1]);
    }
    close(status_pipe[1]);
    status_pipe[1] = -1;
    int e = 0;
    ssize_t k;
    while ((k = read(status_pipe[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    if (k == (ssize_t)sizeof e) {
        mm_errf(err, errlen, "trace record: cannot run valgrind: %s", strerror(e));
        int st;
        wait_child(pid, &st, false, err, errlen);
        pid = -1;
    }
out:
    for (int i = 0; i < 2; i++) {
        if (status_pipe[i] >= 0)
            close(status_pipe[i]);
        if (log[i] >= 0 && (i == 1 || pid < 0))
            close(log[i]);
    }
    *log_fd = pid < 0 ? -1 : log[0];
    free(vargv);
    return pid;
}

int trace_record(char *const argv[], const trace_record_opts *ro, trace_sink sink, trace_meta *meta, char *err,
                 size_t errlen)
{
    if (!argv || !argv[0]) {
        mm_errf(err, errlen, "trace record: no command to run");
        return -1;
    }
    trace_meta dummy;
    if (!meta) {
        memset(&dummy, 0, sizeof dummy);
        meta = &dummy;
    }
    snprintf(meta->source, sizeof meta->source, "lackey");
    join_command(argv, meta->command);   /* before the import: the log's Command line leaves it */

    warn_indirect(argv[0]);
    int log;
    pid_t pid = start_valgrind(argv, ro && ro->threads, &log, err, errlen);
    if (pid < 0)
        return -1;
    trace_record_opts none = {0};
    if (!ro)
        ro = &none;
    rec_filter f = {.next = sink, .o = *ro, .state = F_WAIT};
    if (!ro->roi)
        filter_next(&f);   /* no marker to wait for */
    bool filtering = ro->roi || ro->skip || ro->max;
    cli_progress bar;
    cli_progress_start(&bar);
    counted c = {filtering ? (trace_sink){filter_put, &f} : sink, 0, 0, ro->progress ? &bar : NULL};
    int rc = trace_import_fd(IMPORT_LACKEY, log, "valgrind lackey log", (trace_sink){counted_put, &c}, meta, err,
                             errlen);
    cli_progress_erase(&bar);
    if (rc < 0)
        kill(pid, SIGKILL);   /* no complete trace: do not wait for the command */
    close(log);

    int st;
    if (wait_child(pid, &st, rc >= 0, err, errlen) != 0 || rc < 0)
        return -1;
    if (WIFSIGNALED(st)) {
        mm_errf(err, errlen, "trace record: %s was killed by signal %d (%s)", argv[0], WTERMSIG(st),
                strsignal(WTERMSIG(st)));
        return -1;
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    if (c.records == 0 && code != 0) {
        mm_errf(err, errlen, "trace record: valgrind exited with status %d and no trace (see its messages)", code);
        return -1;
    }
    return code;
}
