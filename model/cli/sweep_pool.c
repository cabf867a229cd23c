/* sweep_pool.c -- `mmusim sweep`'s pool of worker processes (see
 * sweep_pool.h).
 *
 * The library keeps the output folder (sweep_dir: which runs are finished,
 * the plan of batches, the run files and tables); this file only decides
 * who replays which batch when.  Each batch is one forked worker that runs
 * sweep_dir_run_batch and exits: 0 when its run files are written,
 * WORKER_STOPPED when SIGINT stopped it, 2 with its one-line message
 * written to a pipe.  The parent polls its workers (waitpid WNOHANG every
 * POLL_NS), counts a batch finished only when its worker exited 0, and
 * stays the only process that writes the tables.  A worker killed halfway
 * leaves at most complete run files (they are renamed into place), which
 * the next sweep trusts after their check. */
#define _POSIX_C_SOURCE 200809L
#include "sweep_pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../src/base/clock.h"

#define REFRESH_PERIOD 1.0    /* seconds between rebuilds of the tables */
#define PROGRESS_PERIOD 0.1   /* seconds between progress callbacks */
#define POLL_NS 20000000L     /* the wait between two looks at the workers */
#define WORKER_STOPPED 3      /* a worker's exit status when SIGINT stopped it */
#define MSG_MAX 4608          /* a worker's message: a path of PATH_MAX and the problem */

typedef struct worker {
    pid_t pid;
    int fd;             /* read end of the worker's error pipe */
    size_t batch;
} worker;

typedef struct pool {
    const sweep_pool_opts *o;
    sweep_dir *d;
    sweep_pool_counts c;
    unsigned jobs;
    worker *w;          /* the running workers, w[0..nw) */
    size_t nw;
    size_t nbatches, next;   /* batches planned; the next one to start */
    bool stopping;      /* start no more workers; the running ones have had SIGINT */
    bool failed;        /* err holds the first error */
    bool dirty;         /* batches finished since the tables were written */
    double t_refresh, t_progress;
    char *err;
    size_t errlen;
} pool;

/* ---- the worker (a child process) --------------------------------------- */

static volatile sig_atomic_t worker_stop;

static void on_worker_sigint(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* Replay batch b, write its run files; the exit status: 0,
 * WORKER_STOPPED, or 2 with the message written to fd. */
static int worker_main(pool *P, size_t b, int fd)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_worker_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (P->o->stop && *P->o->stop)
        return WORKER_STOPPED;
    char err[MSG_MAX];
    sweep_status st = sweep_dir_run_batch(P->d, b, &worker_stop, err, sizeof err);
    if (st == SWEEP_STOPPED)
        return WORKER_STOPPED;
    if (st == SWEEP_ERROR) {
        ssize_t w = write(fd, err, strlen(err));
        (void)w;   /* without the message, the parent says the worker failed */
        return 2;
    }
    return 0;
}

/* ---- the parent --------------------------------------------------------- */

/* The first error ends the sweep: keep its message, start nothing more,
 * and stop the running workers (a later error is a consequence). */
static void pool_fail(pool *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pool_fail(pool *P, const char *fmt, ...)
{
    if (!P->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(P->err, P->errlen, fmt, ap);
        va_end(ap);
    }
    P->failed = true;
    if (!P->stopping)
        for (size_t i = 0; i < P->nw; i++)
            kill(P->w[i].pid, SIGINT);
    P->stopping = true;
}

/* Fork a worker for the next batch. */
static void pool_start(pool *P)
{
    int fds[2];
    if (pipe(fds) != 0) {
        pool_fail(P, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);   /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        _exit(worker_main(P, P->next, fds[1]));
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        pool_fail(P, "fork: %s", strerror(errno));
        return;
    }
    P->w[P->nw++] = (worker){pid, fds[0], P->next};
    P->c.running += sweep_dir_batch_size(P->d, P->next);
    P->next++;
}

/* Worker w has ended (waitpid returned r, status ws). */
static void worker_ended(pool *P, const worker *w, pid_t r, int ws)
{
    size_t n = sweep_dir_batch_size(P->d, w->batch);
    P->c.running -= n;
    int code = r > 0 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    if (code == 0) {
        sweep_dir_batch_done(P->d, w->batch);
        P->c.done += n;
        P->dirty = true;
        return;
    }
    if (code == WORKER_STOPPED || P->stopping)
        return;
    /* An error: the worker's message, or how it died. */
    char msg[MSG_MAX];
    ssize_t len = read(w->fd, msg, sizeof msg - 1);
    msg[len > 0 ? len : 0] = 0;
    const char *trace = sweep_dir_batch_trace(P->d, w->batch);
    if (len > 0)
        pool_fail(P, "%s", msg);
    else if (r > 0 && WIFSIGNALED(ws))
        pool_fail(P, "%s: the worker replaying it was killed by signal %d", trace, WTERMSIG(ws));
    else
        pool_fail(P, "%s: the worker replaying it failed", trace);
}

/* Reap the workers that have ended; true if there was one. */
static bool pool_reap(pool *P)
{
    bool reaped = false;
    for (size_t i = 0; i < P->nw;) {
        int ws;
        pid_t r = waitpid(P->w[i].pid, &ws, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) {
            i++;
            continue;
        }
        worker_ended(P, &P->w[i], r, ws);
        close(P->w[i].fd);
        P->w[i] = P->w[--P->nw];
        reaped = true;
    }
    return reaped;
}

static void pool_write_tables(pool *P)
{
    char msg[MSG_MAX];
    if (sweep_dir_write_tables(P->d, msg, sizeof msg) != 0)
        pool_fail(P, "%s", msg);
    P->dirty = false;
}

/* The periodic work: the tables after finished batches (at most once per
 * REFRESH_PERIOD), progress (after a reap, else once per PROGRESS_PERIOD). */
static void pool_tick(pool *P, bool reaped)
{
    double t = mm_clock_s();
    if (P->dirty && t - P->t_refresh >= REFRESH_PERIOD) {
        pool_write_tables(P);
        P->t_refresh = t;
    }
    if (P->o->progress && (reaped || t - P->t_progress >= PROGRESS_PERIOD)) {
        P->o->progress(&P->c, P->o->ctx);
        P->t_progress = t;
    }
}

static bool pool_busy(const pool *P)
{
    return (!P->stopping && P->next < P->nbatches) || P->nw > 0;
}

/* Run the planned batches to the end, a stop or the first error. */
static void pool_loop(pool *P)
{
    P->t_refresh = P->t_progress = mm_clock_s();
    while (pool_busy(P)) {
        if (!P->stopping && P->o->stop && *P->o->stop) {
            for (size_t i = 0; i < P->nw; i++)
                kill(P->w[i].pid, SIGINT);
            P->stopping = true;
        }
        while (!P->stopping && P->nw < P->jobs && P->next < P->nbatches)
            pool_start(P);
        bool reaped = pool_reap(P);
        pool_tick(P, reaped);
        if (!reaped && pool_busy(P)) {
            struct timespec ts = {0, POLL_NS};
            nanosleep(&ts, NULL);
        }
    }
}

/* Batches of at most SWEEP_BATCH_MAX runs, fewer when there are fewer
 * missing runs than that per worker: a small sweep keeps every worker busy. */
static size_t batch_max(size_t missing, unsigned jobs)
{
    size_t even = (missing + jobs - 1) / jobs;
    return even == 0 ? 1 : even < SWEEP_BATCH_MAX ? even : SWEEP_BATCH_MAX;
}

sweep_status sweep_pool_run(const sweep_spec *s, const sweep_pool_opts *o, sweep_pool_counts *counts, char *err,
                            size_t errlen)
{
    pool P = {.o = o, .jobs = o->jobs ? o->jobs : 1, .err = err, .errlen = errlen};
    sweep_status status = SWEEP_ERROR;
    sweep_runs *R = sweep_runs_create(s, err, errlen);
    if (R)
        P.d = sweep_dir_open(R, o->out_dir, o->shard_index, o->shard_count, o->warn, o->ctx, err, errlen);
    if (P.d) {
        P.c.total = sweep_dir_runs(P.d);
        P.c.skipped = sweep_dir_finished(P.d);
        P.nbatches = sweep_dir_plan(P.d, batch_max(P.c.total - P.c.skipped, P.jobs));
        if (!(P.w = calloc(P.jobs, sizeof *P.w)))
            abort();
        if (o->progress)
            o->progress(&P.c, o->ctx);
        pool_loop(&P);
        /* The finished runs are listed even after an error; the first
         * error is the one reported. */
        pool_write_tables(&P);
        if (!P.failed && o->progress)
            o->progress(&P.c, o->ctx);
        if (!P.failed)
            status = P.stopping || P.next < P.nbatches ? SWEEP_STOPPED : SWEEP_DONE;
    }
    if (counts)
        *counts = P.c;
    free(P.w);
    sweep_dir_free(P.d);
    sweep_runs_free(R);
    return status;
}
