/* replay.c -- trace replay: the loop behind `mmusim run` (see replay.h).
 *
 * Every trace is a source.  A trace with events (any record that is neither
 * an access nor an instruction count) carries its own processes; any other
 * trace is "plain" and becomes one process, pid 1000+i.  A file's footer
 * says which at once (its event count).  From a pipe the footer comes at the
 * end, so the records before the first access decide: the source is read
 * ahead up to its first access or event (kept, and replayed first); the
 * instruction counts on the way are folded into one sum per CPU, so the
 * read-ahead takes constant memory however many there are (read_ahead).  A
 * plain-looking pipe that shows an event later is an error.
 *
 * Scheduling.  With one source, the replay reads it straight through.  With
 * several, plain sources run one per CPU (the k-th plain trace on CPU k)
 * when there are enough CPUs, and the sources take turns record by record;
 * otherwise the plain sources share CPU 0 and every source runs for
 * `os.quantum` accesses in turn (round robin; a source that ends gives its
 * turn to the next).  Sources that carry their own processes keep their
 * CPUs and pids.  Because several sources can run processes on one CPU, the
 * replay remembers which pid each source last put on each CPU and which pid
 * the OS model runs there; when they differ at an access, it first feeds
 * the OS a TR_SWITCH to the source's pid -- this is how time sharing makes
 * its context switches, lazily, at a turn's first access.  A pid belongs
 * to one source (pid 0, the kernel's, to all): when a trace names a pid
 * that another trace of the workload has (two copies of one generated
 * trace, or a generated trace's pid 1001 beside plain trace 1), the later
 * one's process gets pid (i+1)*1000000 + pid instead, so the traces'
 * processes stay apart instead of sharing an address space.
 *
 * Machines.  The loop drives k machines (one os each, one per
 * configuration): replay_run is k = 1 plus the report, replay_run_multi
 * k >= 1 without one.  Everything above -- reading, the schedule, the pid
 * map, the lazy switches -- is done once per record and its result fed
 * (through a batch, see BATCH) to every machine still running, in the same
 * order, so each machine sees exactly the records (and replay-made
 * switches) that a replay of its configuration alone would give it.  That
 * holds because the schedule does not depend on the machines: the only
 * configuration keys it reads are cpu.cpus (per-CPU or time-shared, the
 * check of a record's CPU) and os.quantum (the turns), so replay_run_multi
 * requires those two equal in every configuration; the per-CPU pid the OS
 * model runs (cur) is then the same for every machine and kept once.  A
 * machine that runs out of memory under `exhaustion: stop` leaves the set
 * of running machines (its counters stay as they were at that access, as a
 * replay of it alone would end); the replay ends when none is left.
 *
 * The hot path is slice(): trace_next, a switch on the kind with the access
 * first, os_access, and two counters (records left before the next look at
 * the clock and *stop, accesses left before the next interval row or end of
 * turn).  It is instantiated once per kind of source (plain or not, alone
 * or in a workload of several) and per fan-out (one machine or several) so
 * that the common single-trace, single-configuration replay pays for
 * neither the CPU remapping, the pid bookkeeping nor the machine loop. */
#define _POSIX_C_SOURCE 200809L
#include "mmusim/replay.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/os.h"
#include "mmusim/stats.h"
#include "mmusim/trace.h"

#include "base/compiler.h"
#include "base/pairmap.h"

/* Records between two looks at *stop and two progress calls: 64 Ki
 * records take a millisecond or two, so Ctrl-C answers at once and the
 * calls cost nothing. */
#define CHECK_RECORDS REPLAY_PROGRESS_RECORDS

/* With several machines, the records the machines are to see are collected
 * (decoded, scheduled, their pids mapped, the replay's switches added) into
 * a batch, and each machine then runs through the batch in turn: the batch
 * (512 records, ~40 KiB) stays in L1/L2 while each machine's own TLBs and
 * caches stay warm for 512 records instead of one.  (The size is not
 * critical: 128 to 8192 time the same.)  A record can add two entries (a
 * switch and the access): flush with room for both. */
#define BATCH 512u
#define BATCH_FLUSH (BATCH - 2)

#define PLAIN_PID_BASE 1000u
#define NO_PID UINT32_MAX
/* A trace's pid that another trace of the workload has: (i+1)*PID_SPACE + pid. */
#define PID_SPACE 1000000u

typedef struct source {
    trace_reader *rd;
    const char *path;
    uint64_t records;      /* records taken from the source so far (pre included) */
    /* A pipe's records read ahead (read_ahead), replayed first: pre[0,
     * nfold) the instruction counts folded per CPU, then pre_idle turns
     * without effect (the rest of the records they fold, so that every
     * later record keeps its place in the turns of a workload), then
     * pre[nfold], the first access or event, if the trace has one. */
    trace_rec *pre;
    size_t npre, nfold, pre_next;
    uint64_t pre_idle;
    bool footer_says;      /* plain because the footer counts no events (else: the read-ahead) */
    bool plain;            /* no process events of its own: one process, pid, cpu */
    bool done;
    unsigned index;        /* position on the command line */
    unsigned cpu;          /* plain: the CPU it runs on */
    uint32_t pid;          /* plain: its pid */
    uint32_t *view;        /* not plain, in a workload: pid it last switched to, per CPU */
    bool has_instr;        /* carries instruction counts (footer; a pipe: before its first access) */
    /* The rest of an instruction count a phase boundary split (phased
     * replays): applied first at the source's next slice, in the next
     * phase; not a record of its own. */
    trace_rec carry;
    bool has_carry;
} source;

/* A record for the machines: as fed to os_access/os_instructions/os_apply
 * (cpu resolved, pids mapped), and where it came from, for messages. */
typedef struct batch_rec {
    trace_rec r;
    uint64_t index;        /* record number in the source */
    unsigned src;
} batch_rec;

/* A machine still running: its os and its index among the configurations. */
typedef struct machine {
    os *os;
    unsigned index;
} machine;

typedef struct replay {
    const mm_config *cfgs;
    const replay_opts *o;
    unsigned k;            /* machines (configurations) */
    os **oses;             /* [k]: machine i, built from cfgs[i] */
    replay_status *ended;  /* [k]: REPLAY_DONE while running (or at the end), REPLAY_OOM once stopped */
    machine *live;         /* the machines still running, in no particular order */
    unsigned nlive;
    unsigned ncpus;        /* cpu.cpus, the same for every machine */
    uint64_t interval;     /* accesses per interval row, 0 = none (replay_run only) */
    batch_rec *batch;      /* [BATCH]: records for the machines, when several run */
    unsigned nbatch;
    bool batching;         /* records go to the batch (a slice with several machines) */
    uint64_t at_index;     /* batching: the record being applied, and its source */
    unsigned at_src;
    source *src;
    unsigned nsrc;
    bool multi;            /* several sources: pid bookkeeping on */
    bool timeshare;        /* plain sources share CPU 0 */
    uint32_t *cur;         /* per CPU: the pid the OS model runs there (as fed), NO_PID */
    pairmap taken;         /* (pid, 0) -> the source that owns it */
    pairmap alias;         /* (source + 1, pid) -> the pid the OS model knows it as */

    uint64_t accesses;     /* replayed so far */
    uint64_t total;        /* accesses of every trace, from the footers; 0 = unknown */

    /* Phases (replay.h, Phases): only when phased; otherwise the replay
     * measures everything from the first record and none of this is
     * looked at (the unphased slices do not test it). */
    bool phased;
    bool unit_instr;       /* phase lengths count instructions, else accesses */
    int phase;             /* PH_* */
    uint64_t phase_len;    /* units of the current phase (PHASE_ALL: until the traces or the ROI end) */
    uint64_t phase_left;   /* units of it still to go */
    bool phase_hit;        /* a record ended the phase (a count reached its end, a marker): stop the slice */
    bool roi_ended;        /* the ROI's end marker was met */
    bool skipping;         /* accesses go to os_touch (PH_ROI, PH_SKIP) */
    uint64_t acc_base;     /* accesses when the measurement began (interval rows count from there) */
    mm_cycle cycle_base;   /* machine 0's os_cycles then */

    /* interval rows */
    stats *prev;           /* counters at the last row */
    char **names;          /* the CSV header's counter names, fixed by the first row */
    uint64_t *last;        /* their values at the last row */
    size_t nnames;
    uint64_t rows;
    bool header_done;

    char *err;
    size_t errlen;
    bool err_located;      /* err already names its place (a reader's message): fail_at leaves it */
} replay;

/* Prefix R->err (which holds the OS model's message) with "FILE: record N: ". */
static NOINLINE int fail_at(replay *R, const source *s, uint64_t index)
{
    if (R->err_located) {
        R->err_located = false;
        return -1;   /* the reader's own message: it names the offset */
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%s", R->err);
    return mm_errf(R->err, R->errlen, "%s: record %" PRIu64 ": %s", s->path, index, msg);
}

/* ---- records to the OS model ---------------------------------------------- */

/* The trace format's protection and mapping bits are the OS model's: an
 * mmap record's fields pass through unchanged. */
_Static_assert(TR_PROT_READ == OS_PROT_READ && TR_PROT_WRITE == OS_PROT_WRITE && TR_PROT_EXEC == OS_PROT_EXEC,
               "trace and OS protection bits");
_Static_assert(TR_MAP_ANON == OS_MAP_ANON && TR_MAP_SHARED == OS_MAP_SHARED && TR_MAP_HUGE == OS_MAP_HUGE &&
                   TR_MAP_THP == OS_MAP_THP && TR_MAP_KERNEL == OS_MAP_KERNEL,
               "trace and OS mapping flags");

/* An event record (not an access or an instruction count) as a call of the
 * OS model's API.  0, or -1 with err filled (without the record's place). */
static int os_apply(os *sys, const trace_rec *r, char *err, size_t errlen)
{
    int rc;
    switch (r->kind) {
    case TR_SWITCH:
        rc = os_switch(sys, r->cpu, r->pid);
        break;
    case TR_FORK:
        rc = os_fork(sys, r->cpu, r->pid, r->child);
        break;
    case TR_EXEC:
        rc = os_exec(sys, r->cpu, r->pid);
        break;
    case TR_EXIT:
        rc = os_exit(sys, r->cpu, r->pid);
        break;
    case TR_MMAP: {
        os_mapping m = {.addr = r->addr, .len = r->len, .prot = r->prot, .flags = r->flags, .file = r->file_id,
                        .offset = r->offset};
        rc = os_mmap(sys, r->cpu, r->pid, &m);
        break;
    }
    case TR_MUNMAP:
        rc = os_munmap(sys, r->cpu, r->pid, r->addr, r->len);
        break;
    case TR_MPROTECT:
        rc = os_mprotect(sys, r->cpu, r->pid, r->addr, r->len, r->prot);
        break;
    case TR_CR3:
        rc = os_reload_cr3(sys, r->cpu, r->noflush);
        break;
    case TR_INVLPG:
        rc = os_invlpg(sys, r->cpu, r->addr);
        break;
    default:
        return mm_errf(err, errlen, "unknown record kind %u", r->kind);
    }
    return rc ? mm_errf(err, errlen, "%s", os_error(sys)) : 0;
}

/* ---- pids --------------------------------------------------------------- */

/* Give pid p of source s its pid in the workload: p itself unless another
 * source has it, else (i+1)*1000000 + p mod 1000000 (the next free one
 * from there).  Pid 0 (the kernel's mappings) is everyone's. */
static uint32_t pid_map(replay *R, const source *s, uint32_t p)
{
    uint64_t v;
    if (p == 0 || !R->multi)
        return p;
    if (pairmap_get(&R->alias, (uint64_t)s->index + 1, p, &v))
        return (uint32_t)v;
    uint64_t cand = p;
    if (pairmap_get(&R->taken, cand, 0, NULL)) {
        cand = ((uint64_t)s->index + 1) * PID_SPACE + p % PID_SPACE;
        while (cand >= NO_PID || pairmap_get(&R->taken, cand, 0, NULL))
            cand = cand >= NO_PID ? PID_SPACE : cand + 1;
    }
    pairmap_put(&R->taken, cand, 0, s->index);
    pairmap_put(&R->alias, (uint64_t)s->index + 1, p, cand);
    return (uint32_t)cand;
}

/* ---- records ------------------------------------------------------------ */

typedef enum slice_end {
    SL_LIMIT = 0,   /* max_rec records or max_acc accesses taken */
    SL_END,         /* the source ended */
    SL_OOM,         /* no machine left running */
    SL_ERROR,       /* err filled */
} slice_end;

/* Phases, in order; a replay starts at PH_ROI with o->roi, else PH_SKIP. */
enum { PH_ROI, PH_SKIP, PH_WARM, PH_MEASURE, PH_DONE };
#define PHASE_ALL UINT64_MAX

/* Machine live[i] ran out of memory: it stops, the others go on. */
static NOINLINE void drop(replay *R, unsigned i)
{
    R->ended[R->live[i].index] = REPLAY_OOM;
    R->live[i] = R->live[--R->nlive];
}

/* Add a record for the machines to the batch, on `cpu`.  An access or an
 * instruction count is copied field by field, only the fields its kind
 * uses: trace_next has just written *r with narrow stores, and a struct
 * copy's 16-byte loads of it would wait for them (no store forwarding
 * across several stores: that cost 15% of a 2-machine replay). */
static ALWAYS_INLINE void batch_put(replay *R, const trace_rec *r, unsigned cpu)
{
    batch_rec *b = &R->batch[R->nbatch++];
    if (r->kind == TR_ACCESS) {
        b->r.kind = TR_ACCESS;
        b->r.acc = r->acc;
        b->r.priv = r->priv;
        b->r.size = r->size;
        b->r.va = r->va;
    } else if (r->kind == TR_INSTR) {
        b->r.kind = TR_INSTR;
        b->r.count = r->count;
    } else {
        b->r = *r;
    }
    b->r.cpu = (uint8_t)cpu;
    b->index = R->at_index;
    b->src = R->at_src;
}

/* Run every running machine through the batch; a machine that runs out
 * of memory stops at that access.  SL_LIMIT (go on), SL_OOM (no machine
 * left) or SL_ERROR (err filled, with the record's place). */
static NOINLINE slice_end batch_flush(replay *R)
{
    for (unsigned m = 0; m < R->nlive;) {
        os *const sys = R->live[m].os;
        bool oom = false;
        for (unsigned j = 0; j < R->nbatch && !oom; j++) {
            const trace_rec *r = &R->batch[j].r;
            mmu_result res;
            switch (EXPECT(r->kind, TR_ACCESS)) {
            case TR_ACCESS:
                if (UNLIKELY(R->skipping))
                    oom = os_touch(sys, r->cpu, r->va, r->size, (mm_kind)r->acc, (mm_priv)r->priv) == OS_OOM;
                else
                    oom = os_access(sys, r->cpu, r->va, r->size, (mm_kind)r->acc, (mm_priv)r->priv, &res) ==
                          OS_OOM;
                break;
            case TR_INSTR:
                os_instructions(sys, r->cpu, r->count);
                break;
            default:
                if (os_apply(sys, r, R->err, R->errlen) != 0) {
                    R->nbatch = 0;
                    fail_at(R, &R->src[R->batch[j].src], R->batch[j].index);
                    return SL_ERROR;
                }
            }
        }
        if (oom)
            drop(R, m);   /* live[m] is now another machine */
        else
            m++;
    }
    R->nbatch = 0;
    return R->nlive ? SL_LIMIT : SL_OOM;
}

/* Hand an event record to every running machine.  0 or -1 (err filled). */
static int event_all(replay *R, const trace_rec *r)
{
    if (R->batching) {
        batch_put(R, r, r->cpu);
        return 0;
    }
    for (unsigned i = 0; i < R->nlive; i++)
        if (os_apply(R->live[i].os, r, R->err, R->errlen) != 0)
            return -1;
    return 0;
}

/* Put `pid` on `cpu` (a switch the replay makes, not the trace). */
static NOINLINE int switch_to(replay *R, unsigned cpu, uint32_t pid)
{
    trace_rec sw = {.kind = TR_SWITCH, .cpu = (uint8_t)cpu, .pid = pid};
    if (event_all(R, &sw) != 0)
        return -1;
    R->cur[cpu] = pid;
    return 0;
}

/* A trace whose footer counts no events shows one: the footer or the record
 * is damaged.  Read on to the end, so that the reader's check of the counts
 * names the footer's field and its offset, as reading from a pipe would;
 * if it finds nothing, name the record.  -1, err filled. */
static NOINLINE int footer_lied(replay *R, source *s, const trace_rec *r)
{
    trace_rec rest;
    int rc;
    while ((rc = trace_next(s->rd, &rest)) > 0)
        continue;
    if (rc < 0) {
        R->err_located = true;
        return mm_errf(R->err, R->errlen, "%s", trace_reader_error(s->rd));
    }
    return mm_errf(R->err, R->errlen, "a %s event, but the trace's footer counts none",
                   trace_kind_name((trace_kind)r->kind));
}

/* An event record: in a workload, give its pids their workload pids and
 * keep the books of switches; hand it to the OS model.  0 or -1 (err
 * filled, without the record's place). */
static NOINLINE int event(replay *R, source *s, const trace_rec *r)
{
    if (r->kind >= TR_KIND_COUNT)
        return mm_errf(R->err, R->errlen, "unknown record kind %u", r->kind);
    if (s->plain && s->footer_says)
        return footer_lied(R, s, r);
    if (s->plain)
        return mm_errf(R->err, R->errlen,
                       "a %s event in a trace that had none before its first access (read from a pipe, "
                       "a trace's processes must be set up before it accesses memory)",
                       trace_kind_name((trace_kind)r->kind));
    if (!R->multi)
        return event_all(R, r);
    trace_rec e = *r;
    switch (r->kind) {
    case TR_FORK:
        e.child = pid_map(R, s, r->child);
        /* fall through */
    case TR_SWITCH:
    case TR_EXEC:
    case TR_EXIT:
    case TR_MMAP:
    case TR_MUNMAP:
    case TR_MPROTECT:
        e.pid = pid_map(R, s, r->pid);
        break;
    default:
        break;
    }
    if (event_all(R, &e) != 0)
        return -1;
    if (e.kind == TR_SWITCH) {
        s->view[e.cpu] = e.pid;
        R->cur[e.cpu] = e.pid;
    }
    return 0;
}

static NOINLINE int bad_cpu(replay *R, const trace_rec *r)
{
    return mm_errf(R->err, R->errlen, "CPU %u, but the configuration has %u (cpu.cpus)", r->cpu, R->ncpus);
}

enum { A_OK = 0, A_ACCESS = 1, A_OOM = 2, A_ERROR = -1 };

/* An ROI marker in a phased replay with o->roi: the first begin marker
 * ends PH_ROI, the first end marker after it ends the run (phase_next).
 * Other markers -- an end before any begin, a begin inside the region --
 * change nothing. */
static NOINLINE void roi_marker(replay *R, const trace_rec *r)
{
    if (!R->o->roi)
        return;
    if (r->roi == TR_ROI_BEGIN && R->phase == PH_ROI)
        R->phase_hit = true;
    else if (r->roi == TR_ROI_END && R->phase > PH_ROI && R->phase < PH_DONE)
        R->phase_hit = R->roi_ended = true;
}

/* The part of an instruction count r that the current phase still takes
 * (all of it when the phase has room); the rest waits in s->carry for the
 * next phase and the phase ends. */
static NOINLINE uint64_t instr_phased(replay *R, source *s, const trace_rec *r)
{
    if (R->phase_left == PHASE_ALL || r->count < R->phase_left) {
        if (R->phase_left != PHASE_ALL)
            R->phase_left -= r->count;
        return r->count;
    }
    uint64_t take = R->phase_left;
    R->phase_left = 0;
    R->phase_hit = true;
    s->carry = *r;
    s->carry.count = r->count - take;
    s->has_carry = s->carry.count != 0;
    return take;
}

/* Apply one record of source s to the running machines: to sys, the only
 * one, or (fan) to the batch.  A_ACCESS for an access, A_OK for anything
 * else, A_OOM when the last running machine ran out of memory, A_ERROR
 * (err filled, without the record's place). */
static ALWAYS_INLINE int apply(replay *R, os *sys, unsigned ncpus, source *s, const trace_rec *r, const bool plain,
                               const bool multi, const bool fan, const bool phased)
{
    if (!plain && UNLIKELY(r->cpu >= ncpus))
        return bad_cpu(R, r);
    unsigned cpu = plain ? s->cpu : r->cpu;
    switch (EXPECT(r->kind, TR_ACCESS)) {
    case TR_ACCESS: {
        if (multi) {
            uint32_t want = plain ? s->pid : s->view[cpu];
            if (UNLIKELY(R->cur[cpu] != want) && want != NO_PID && switch_to(R, cpu, want) != 0)
                return A_ERROR;
        }
        mmu_result res;
        /* OS_SEGV: counted by the OS model; the replay goes on. */
        if (!fan) {
            os_status st;
            if (phased && R->skipping)
                st = os_touch(sys, cpu, r->va, r->size, (mm_kind)r->acc, (mm_priv)r->priv);
            else
                st = os_access(sys, cpu, r->va, r->size, (mm_kind)r->acc, (mm_priv)r->priv, &res);
            if (UNLIKELY(st == OS_OOM)) {
                drop(R, 0);
                return A_OOM;
            }
            return A_ACCESS;
        }
        batch_put(R, r, cpu);   /* out of memory: found by batch_flush */
        return A_ACCESS;
    }
    case TR_INSTR:
        if (phased && R->unit_instr) {
            trace_rec part = *r;
            part.count = instr_phased(R, s, r);
            if (!fan)
                os_instructions(sys, cpu, part.count);
            else
                batch_put(R, &part, cpu);
            return A_OK;
        }
        if (!fan)
            os_instructions(sys, cpu, r->count);
        else
            batch_put(R, r, cpu);
        return A_OK;
    case TR_ROI:
        /* A marker is not an event: unphased, nothing; phased, roi_marker. */
        if (phased)
            roi_marker(R, r);
        return A_OK;
    default:
        return event(R, s, r) == 0 ? A_OK : A_ERROR;
    }
}

/* The next record read ahead (see source), or NULL for a turn without
 * effect. */
static inline const trace_rec *pre_take(source *s)
{
    if (s->pre_next < s->nfold || !s->pre_idle)
        return &s->pre[s->pre_next++];
    s->pre_idle--;
    return NULL;
}

/* Replay records of s until max_rec records or max_acc accesses (both >= 1)
 * are taken, or the source ends; the counts taken are added to s->records
 * and R->accesses.  With fan (several machines), the records go to the
 * batch, run when it is full (here) and at the end of the replay
 * (replay_loop): a batch spans slices, which with interleaved sources are
 * one record long. */
static ALWAYS_INLINE slice_end slice_body(replay *R, source *s, uint64_t max_acc, uint64_t max_rec, const bool plain,
                                          const bool multi, const bool fan, const bool phased)
{
    uint64_t left = max_rec, acc_left = max_acc;
    slice_end end = SL_LIMIT;
    trace_rec r;
    int a = A_OK;
    os *const sys = fan ? NULL : R->live[0].os;
    const unsigned ncpus = R->ncpus;

    /* The rest of a count split at a phase boundary: this phase's first. */
    if (phased && UNLIKELY(s->has_carry)) {
        s->has_carry = false;
        trace_rec c = s->carry;
        apply(R, sys, ncpus, s, &c, plain, multi, fan, phased);   /* an instruction count: A_OK */
        if (R->phase_hit)
            goto flushed;
    }

    /* Records read ahead when the replay began (rare: a pipe, once). */
    while (UNLIKELY(s->pre_next < s->npre || s->pre_idle) && left && acc_left) {
        left--;
        const trace_rec *p = pre_take(s);
        if (!p)
            continue;   /* the turn of a folded instruction count */
        if (fan)
            R->at_index = s->records + (max_rec - left) - 1;
        a = apply(R, sys, ncpus, s, p, plain, multi, fan, phased);
        if (a == A_ACCESS)
            acc_left--;
        else if (a != A_OK)
            goto stop;
        if (fan && R->nbatch >= BATCH_FLUSH && (end = batch_flush(R)) != SL_LIMIT)
            goto flushed;
        if (phased && R->phase_hit)
            goto flushed;
    }
    if (UNLIKELY(s->pre != NULL) && s->pre_next == s->npre && !s->pre_idle) {
        free(s->pre);
        s->pre = NULL;
    }

    trace_reader *const rd = s->rd;
    while (left && acc_left) {
        int rc = trace_next(rd, &r);
        if (UNLIKELY(rc <= 0)) {
            if (rc < 0) {
                mm_errf(R->err, R->errlen, "%s", trace_reader_error(rd));
                end = SL_ERROR;
            } else {
                end = SL_END;
            }
            break;
        }
        left--;
        if (fan)
            R->at_index = s->records + (max_rec - left) - 1;
        a = apply(R, sys, ncpus, s, &r, plain, multi, fan, phased);
        if (LIKELY(a == A_ACCESS))
            acc_left--;
        else if (UNLIKELY(a != A_OK))
            goto stop;
        if (fan && UNLIKELY(R->nbatch >= BATCH_FLUSH) && (end = batch_flush(R)) != SL_LIMIT)
            break;
        if (phased && UNLIKELY(R->phase_hit))
            break;
    }
flushed:
    s->records += max_rec - left;
    R->accesses += max_acc - acc_left;
    return end;

stop:
    R->nbatch = 0;
    s->records += max_rec - left;
    if (a == A_OOM) {
        R->accesses += max_acc - acc_left + 1;   /* the access that found no memory */
        return SL_OOM;
    }
    R->accesses += max_acc - acc_left;
    fail_at(R, s, s->records - 1);
    return SL_ERROR;
}

/* One instance per kind of source (plain or not), of workload (one source
 * or several), of fan-out (one machine or several) and of phasing (a
 * replay with --skip/--warmup/--max/--roi, or one that measures all: its
 * hot path does not look at phases at all). */
#define SLICE_FN(name, plain, multi, fan, phased)                                          \
    static NOINLINE slice_end name(replay *R, source *s, uint64_t max_acc, uint64_t max_rec) \
    {                                                                                      \
        return slice_body(R, s, max_acc, max_rec, plain, multi, fan, phased);              \
    }
SLICE_FN(slice_own, false, false, false, false)
SLICE_FN(slice_plain, true, false, false, false)
SLICE_FN(slice_own_multi, false, true, false, false)
SLICE_FN(slice_plain_multi, true, true, false, false)
SLICE_FN(slice_own_fan, false, false, true, false)
SLICE_FN(slice_plain_fan, true, false, true, false)
SLICE_FN(slice_own_multi_fan, false, true, true, false)
SLICE_FN(slice_plain_multi_fan, true, true, true, false)
SLICE_FN(slice_own_ph, false, false, false, true)
SLICE_FN(slice_plain_ph, true, false, false, true)
SLICE_FN(slice_own_multi_ph, false, true, false, true)
SLICE_FN(slice_plain_multi_ph, true, true, false, true)
SLICE_FN(slice_own_fan_ph, false, false, true, true)
SLICE_FN(slice_plain_fan_ph, true, false, true, true)
SLICE_FN(slice_own_multi_fan_ph, false, true, true, true)
SLICE_FN(slice_plain_multi_fan_ph, true, true, true, true)

typedef slice_end (*slice_fn)(replay *R, source *s, uint64_t max_acc, uint64_t max_rec);
/* [phased][fan][multi][plain] */
static const slice_fn slices[2][2][2][2] = {
    {{{slice_own, slice_plain}, {slice_own_multi, slice_plain_multi}},
     {{slice_own_fan, slice_plain_fan}, {slice_own_multi_fan, slice_plain_multi_fan}}},
    {{{slice_own_ph, slice_plain_ph}, {slice_own_multi_ph, slice_plain_multi_ph}},
     {{slice_own_fan_ph, slice_plain_fan_ph}, {slice_own_multi_fan_ph, slice_plain_multi_fan_ph}}},
};

static slice_end slice(replay *R, source *s, uint64_t max_acc, uint64_t max_rec)
{
    bool fan = R->nlive > 1;
    R->batching = fan;
    R->at_src = s->index;
    slice_end e = slices[R->phased][fan][R->multi][s->plain](R, s, max_acc, max_rec);
    R->batching = false;
    return e;
}

/* ---- output ------------------------------------------------------------- */

/* One CSV row of the counters accumulated since the last row (the header
 * first).  Columns: interval (1, 2, ...), accesses and cycles (running
 * totals: accesses replayed, os_cycles), then every counter of
 * os_export_stats as a signed difference (gauges such as the RSS can go
 * down; the rows of a counter sum to its final value).  The header's names
 * are those of the first row, in export order; a later export is matched
 * to them by position, or by name if its order differs. */
static int interval_row(replay *R)
{
    FILE *out = R->o->out;
    stats *now = stats_create();
    os_export_stats(R->oses[0], now);
    size_t n = stats_count(now);
    if (!R->header_done) {
        R->nnames = n;
        R->names = mm_xcalloc(n, sizeof *R->names);
        R->last = mm_xcalloc(n, sizeof *R->last);
        fputs("interval,accesses,cycles", out);
        for (size_t i = 0; i < n; i++) {
            R->names[i] = mm_xstrdup(stats_name(now, i));
            /* A counter named like a running column ("cycles": the MMUs'
             * summed clocks) keeps its name with ".delta" added. */
            bool clash = !strcmp(R->names[i], "interval") || !strcmp(R->names[i], "accesses") ||
                         !strcmp(R->names[i], "cycles");
            fprintf(out, ",%s%s", R->names[i], clash ? ".delta" : "");
        }
        fputc('\n', out);
        R->header_done = true;
    }
    fprintf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, ++R->rows, R->accesses - R->acc_base,
            (uint64_t)(os_cycles(R->oses[0]) - R->cycle_base));
    for (size_t i = 0; i < R->nnames; i++) {
        uint64_t v = (i < n && !strcmp(stats_name(now, i), R->names[i])) ? stats_value(now, i)
                                                                          : stats_get(now, R->names[i], NULL);
        fprintf(out, ",%" PRId64, (int64_t)(v - R->last[i]));
        R->last[i] = v;
    }
    fputc('\n', out);
    stats_free(now);
    if (ferror(out))
        return mm_errf(R->err, R->errlen, "writing the report: %s", strerror(errno));
    return 0;
}

/* The last interval row, for whatever happened since the row before (none
 * if nothing did and a row was written). */
static int interval_last(replay *R, uint64_t acc_at_last_row)
{
    if (!R->header_done || R->accesses != acc_at_last_row)
        return interval_row(R);
    stats *now = stats_create();
    os_export_stats(R->oses[0], now);
    bool changed = false;
    for (size_t i = 0; i < R->nnames && !changed; i++)
        changed = stats_get(now, R->names[i], NULL) != R->last[i];
    stats_free(now);
    return changed ? interval_row(R) : 0;
}

/* The counters of a report: the totals, then per CPU and per process. */
static stats *export_all(const os *sys)
{
    stats *s = stats_create();
    os_export_stats(sys, s);
    os_export_breakdown(sys, s);
    return s;
}

static int final_report(replay *R)
{
    stats *s = export_all(R->oses[0]);
    /* The traces' hashes, which only JSON prints: of the files' bytes,
     * read again now (about 5% of a replay's time: FNV-1a is one multiply
     * per byte in a chain); standard input's is unknown. */
    char (*hash)[32] = mm_xcalloc(R->nsrc, sizeof *hash);
    const char **hp = mm_xcalloc(R->nsrc, sizeof *hp);
    for (unsigned i = 0; R->o->format == REPORT_JSON && i < R->nsrc; i++)
        if (strcmp(R->o->traces[i], "-") != 0 && report_hash_file(R->o->traces[i], hash[i], sizeof hash[i]) == 0)
            hp[i] = hash[i];
    report_opts ro = {.title = R->o->title ? R->o->title : "mmusim run", .view = R->o->view,
                      .events = R->o->events, .nevents = R->o->nevents, .trace_hash = hp, .ntraces = R->nsrc};
    int rc = report_write_opts(R->o->out, R->o->format, s, &R->cfgs[0], &ro);
    free(hp);
    free(hash);
    stats_free(s);
    if (rc != 0 || fflush(R->o->out) != 0 || ferror(R->o->out))
        return mm_errf(R->err, R->errlen, "writing the report: %s", strerror(errno));
    return 0;
}

/* ---- progress ----------------------------------------------------------- */

static void report_progress(const replay *R, bool end)
{
    replay_progress p = {R->accesses, R->total, end};
    R->o->progress(&p, R->o->progress_ctx);
}

/* ---- set-up ------------------------------------------------------------- */

/* A pipe's first records, up to its first access or event: whether it
 * carries its own processes (*events).  The instruction counts on the way
 * are folded into one record per CPU: os_instructions only adds to that
 * CPU's counter, so their sums give the same counters, and the read-ahead
 * takes constant memory (one record per CPU that retired some, and the
 * first access or event) however many counts precede the first access.
 * An ROI marker is neither: it is kept in its place, after the sums of the
 * counts before it (which are folded separately from those after it, so
 * a phase boundary at the marker sees the same counts on each side).
 * Each record still takes its own turn in a workload (pre_idle); what moves
 * is only when the counts are added, which a workload's interval rows (-I)
 * can show: there, the counts a pipe retires before its first access are
 * all credited at its first turns.  0 or -1 (err filled). */
static int read_ahead(replay *R, source *s, bool *events)
{
    enum { NCPU = 256 };   /* a record's cpu is 8 bits */
    uint64_t sum[NCPU] = {0}, first[NCPU] = {0}, n = 0;
    bool seen[NCPU] = {false}, ever[NCPU] = {false}, held = false;
    size_t cap = 0;
    trace_rec r;
    for (;;) {
        int rc = trace_next(s->rd, &r);
        if (rc < 0)
            return mm_errf(R->err, R->errlen, "%s", trace_reader_error(s->rd));
        bool marker = rc > 0 && r.kind == TR_ROI;
        if (rc == 0 || marker) {
            /* The sums so far (and the marker) go to pre, in order. */
            size_t need = s->npre + NCPU + 2;
            if (need > cap) {
                cap = need * 2;
                s->pre = mm_xrealloc(s->pre, cap * sizeof *s->pre);
            }
            for (unsigned c = 0; c < NCPU; c++)
                if (seen[c])
                    s->pre[s->npre++] = (trace_rec){.kind = TR_INSTR, .cpu = (uint8_t)c, .count = sum[c]};
            memset(seen, 0, sizeof seen);
            memset(sum, 0, sizeof sum);
            if (rc == 0)
                break;
            s->pre[s->npre++] = r;
            n++;
            continue;
        }
        n++;
        if (r.kind != TR_INSTR) {
            held = true;
            break;
        }
        if (!ever[r.cpu])
            first[r.cpu] = n - 1;
        seen[r.cpu] = ever[r.cpu] = true;
        s->has_instr = true;
        sum[r.cpu] += r.count;   /* modulo 2^64, as the counter itself adds */
    }
    if (held) {
        /* Flush the sums before the held record, as at the end. */
        size_t need = s->npre + NCPU + 1;
        if (need > cap)
            s->pre = mm_xrealloc(s->pre, need * sizeof *s->pre);
        for (unsigned c = 0; c < NCPU; c++)
            if (seen[c])
                s->pre[s->npre++] = (trace_rec){.kind = TR_INSTR, .cpu = (uint8_t)c, .count = sum[c]};
    }
    *events = held && r.kind != TR_ACCESS;
    uint64_t bad = UINT64_MAX;
    unsigned bad_cpu_no = 0;
    for (unsigned c = 0; c < NCPU; c++) {
        /* A trace with its own processes names real CPUs: the first record
         * on a CPU the machine lacks is the error apply() would report. */
        if (ever[c] && *events && c >= R->ncpus && first[c] < bad) {
            bad = first[c];
            bad_cpu_no = c;
        }
    }
    if (bad != UINT64_MAX) {
        mm_errf(R->err, R->errlen, "CPU %u, but the configuration has %u (cpu.cpus)", bad_cpu_no, R->ncpus);
        return fail_at(R, s, bad);
    }
    s->nfold = s->npre;
    s->pre_idle = n - held - s->nfold;
    if (held)
        s->pre[s->npre++] = r;
    return 0;
}

/* Open the sources and find which carry their own processes. */
static int open_sources(replay *R)
{
    const replay_opts *o = R->o;
    R->src = mm_xcalloc(o->ntraces, sizeof *R->src);
    R->nsrc = o->ntraces;
    unsigned stdin_seen = 0, plain = 0;
    bool total_known = true;
    for (unsigned i = 0; i < o->ntraces; i++) {
        source *s = &R->src[i];
        bool is_stdin = !strcmp(o->traces[i], "-");
        s->path = is_stdin ? "<stdin>" : o->traces[i];   /* as the reader's messages name it */
        s->index = i;
        if (is_stdin && stdin_seen++)
            return mm_errf(R->err, R->errlen, "-: standard input can be replayed only once");
        if (!(s->rd = trace_reader_open(o->traces[i], R->err, R->errlen)))
            return -1;
        const trace_meta *m = trace_reader_meta(s->rd);
        bool events = false;
        if (m->records) {
            /* The footer is known (a file with records): it says. */
            events = m->events != 0;
            s->footer_says = !events;
        } else if (read_ahead(R, s, &events) != 0) {
            return -1;
        }
        if (m->events)
            events = true;   /* a pipe that ended during the read-ahead: its footer says too */
        if (m->instructions)
            s->has_instr = true;
        if (!m->records && !m->accesses)
            total_known = false;   /* a pipe (or an empty trace): counts unknown */
        R->total += m->accesses;
        s->plain = !events;
        if (s->plain) {
            s->pid = PLAIN_PID_BASE + i;
            s->cpu = plain++;   /* the CPU in per-CPU mode; fixed below for time sharing */
        }
    }
    if (!total_known)
        R->total = 0;
    R->timeshare = plain > R->ncpus;
    if (R->timeshare)
        for (unsigned i = 0; i < R->nsrc; i++)
            R->src[i].cpu = 0;
    return 0;
}

static void free_replay(replay *R)
{
    for (unsigned i = 0; R->src && i < R->nsrc; i++) {
        if (R->src[i].rd)
            trace_reader_close(R->src[i].rd);
        free(R->src[i].pre);
        free(R->src[i].view);
    }
    free(R->src);
    free(R->cur);
    pairmap_free(&R->taken);
    pairmap_free(&R->alias);
    for (size_t i = 0; i < R->nnames; i++)
        free(R->names ? R->names[i] : NULL);
    free(R->names);
    free(R->last);
    for (unsigned i = 0; R->oses && i < R->k; i++)
        if (R->oses[i])
            os_free(R->oses[i]);
    free(R->oses);
    free(R->ended);
    free(R->live);
    free(R->batch);
}

/* Every -e event must name a counter the report can have, or be a pattern
 * that matches one: a counter of the machine as built (totals and per
 * CPU), a metric, or any pidN.NAME whose NAME a process's counters have
 * (which processes run is known only at the end: one that never ran is
 * "<not counted>", as perf says).  0 or -1 (err filled). */
static int check_events(replay *R)
{
    stats *s = export_all(R->oses[0]);
    os_proc_counter_names(s);
    int rc = 0;
    for (unsigned e = 0; e < R->o->nevents && rc == 0; e++) {
        const char *ev = R->o->events[e];
        bool pattern = strpbrk(ev, "*?[") != NULL, ok = report_is_metric(ev);
        char as_pid0[256];
        if (!pattern && !strncmp(ev, "pid", 3) && report_is_breakdown(ev)) {
            snprintf(as_pid0, sizeof as_pid0, "pid0%s", strchr(ev, '.'));
            ev = as_pid0;
        }
        for (size_t i = 0; i < stats_count(s) && !ok; i++)
            ok = pattern ? !fnmatch(ev, stats_name(s, i), 0) : !strcmp(ev, stats_name(s, i));
        if (!ok)
            rc = mm_errf(R->err, R->errlen, "-e %s: %s", R->o->events[e],
                         pattern ? "matches no counter or metric"
                                 : "no such counter or metric (mmusim run --all lists them)");
    }
    stats_free(s);
    return rc;
}

/* Build the k machines, open the sources, set up the pid books.  0 or -1
 * (err filled). */
static int replay_open(replay *R)
{
    const replay_opts *o = R->o;
    if (!o->ntraces || !o->traces)
        return mm_errf(R->err, R->errlen, "replay: no trace");
    if (!R->k)
        return mm_errf(R->err, R->errlen, "replay: no configuration");
    /* The schedule is the same for every machine only if these agree
     * (see the top of the file). */
    for (unsigned i = 1; i < R->k; i++) {
        const mm_config *a = &R->cfgs[0], *b = &R->cfgs[i];
        const char *key = NULL;
        unsigned va = 0, vb = 0;
        if (a->cpu.cpus != b->cpu.cpus)
            key = "cpu.cpus", va = a->cpu.cpus, vb = b->cpu.cpus;
        else if (a->os.quantum != b->os.quantum)
            key = "os.quantum", va = a->os.quantum, vb = b->os.quantum;
        if (key)
            return mm_errf(R->err, R->errlen,
                           "configuration %u (%s) has %s %u, configuration 0 (%s) %u: the configurations of one "
                           "replay must agree on cpu.cpus and os.quantum (they decide the workload's schedule)",
                           i, b->name, key, vb, a->name, va);
    }
    R->oses = mm_xcalloc(R->k, sizeof *R->oses);
    R->ended = mm_xcalloc(R->k, sizeof *R->ended);
    R->live = mm_xcalloc(R->k, sizeof *R->live);
    for (unsigned i = 0; i < R->k; i++) {
        if (!(R->oses[i] = os_create(&R->cfgs[i], R->err, R->errlen))) {
            if (R->k > 1) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", R->err);
                mm_errf(R->err, R->errlen, "configuration %u (%s): %s", i, R->cfgs[i].name, msg);
            }
            return -1;
        }
        R->ended[i] = REPLAY_DONE;
        R->live[i] = (machine){R->oses[i], i};
    }
    R->nlive = R->k;
    if (o->nevents && check_events(R) != 0)
        return -1;
    for (unsigned c = 0; o->tap && c < os_cpus(R->oses[0]); c++)
        mmu_set_tap(os_mmu(R->oses[0], c), o->tap);
    if (R->k > 1)
        R->batch = mm_xmalloc(BATCH * sizeof *R->batch);
    R->ncpus = os_cpus(R->oses[0]);
    R->multi = o->ntraces > 1;
    R->cur = mm_xmalloc(R->ncpus * sizeof *R->cur);
    for (unsigned c = 0; c < R->ncpus; c++)
        R->cur[c] = NO_PID;
    if (open_sources(R) != 0)
        return -1;
    for (unsigned i = 0; i < R->nsrc; i++) {
        source *s = &R->src[i];
        if (s->plain && R->multi)
            pairmap_put(&R->taken, s->pid, 0, i);
        if (!s->plain && R->multi) {
            s->view = mm_xmalloc(R->ncpus * sizeof *s->view);
            for (unsigned c = 0; c < R->ncpus; c++)
                s->view[c] = NO_PID;
        }
    }
    /* Alone, a plain trace's process is put on its CPU once; in a workload
     * the first access of each turn does it (apply). */
    if (!R->multi && R->src[0].plain && switch_to(R, R->src[0].cpu, R->src[0].pid) != 0)
        return -1;
    R->phased = o->skip || o->warmup || o->max || o->roi;
    if (R->phased) {
        R->unit_instr = true;
        for (unsigned i = 0; i < R->nsrc; i++)
            R->unit_instr &= R->src[i].has_instr;
        R->phase = o->roi ? PH_ROI : PH_SKIP;
        R->phase_len = R->phase_left = o->roi ? PHASE_ALL : o->skip;
        R->skipping = true;
        for (unsigned i = 0; i < R->k; i++)
            os_set_untimed(R->oses[i], true);
    }
    return 0;
}

/* ---- phases ------------------------------------------------------------- */

int replay_parse_count(const char *s, uint64_t *v)
{
    uint64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (p == s)
        return -1;
    uint64_t mult = 1;
    if (*p) {
        mult = *p == 'K' ? 1000ull : *p == 'M' ? 1000000ull : *p == 'G' ? 1000000000ull : 0;
        if (!mult || p[1])
            return -1;
    }
    if (n > UINT64_MAX / mult)
        return -1;
    *v = n * mult;
    return 0;
}

static const char *const phase_name[] = {"--roi", "--skip", "--warmup", "the measurement", ""};

/* The traces' names for a message about the workload: "a.trace", or
 * "a.trace, b.trace". */
static void workload_name(const replay *R, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < R->nsrc && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", R->src[i].path);
}

/* Enter the next phase, and on through those of length 0, until one has
 * records to take (or the run is done).  The batch is run first, so the
 * machines see every record of the ended phase under its rules.  SL_LIMIT,
 * or SL_OOM / SL_ERROR from the batch, or SL_ERROR when the ROI ends
 * before the measurement begins. */
static NOINLINE slice_end phase_next(replay *R)
{
    const replay_opts *o = R->o;
    if (R->nbatch) {
        slice_end f = batch_flush(R);
        if (f != SL_LIMIT)
            return f;
    }
    R->phase_hit = false;
    if (R->roi_ended) {
        if (R->phase == PH_MEASURE) {
            R->phase = PH_DONE;
            return SL_LIMIT;
        }
        char names[256];
        workload_name(R, names, sizeof names);
        mm_errf(R->err, R->errlen, "%s: the ROI ends during %s (after %" PRIu64 " of its %" PRIu64 " %s): "
                "nothing is measured", names, phase_name[R->phase], R->phase_len - R->phase_left, R->phase_len,
                R->unit_instr ? "instructions" : "accesses");
        return SL_ERROR;
    }
    do {
        switch (R->phase) {
        case PH_ROI:
            R->phase = PH_SKIP;
            R->phase_len = o->skip;
            break;
        case PH_SKIP:
            R->phase = PH_WARM;
            R->phase_len = o->warmup;
            R->skipping = false;
            for (unsigned i = 0; i < R->k; i++)
                os_set_untimed(R->oses[i], false);
            break;
        case PH_WARM:
            R->phase = PH_MEASURE;
            R->phase_len = o->max ? o->max : PHASE_ALL;
            for (unsigned i = 0; i < R->k; i++)
                os_reset_stats(R->oses[i]);
            R->acc_base = R->accesses;
            R->cycle_base = os_cycles(R->oses[0]);
            break;
        default:
            R->phase = PH_DONE;
            break;
        }
        R->phase_left = R->phase_len;
    } while (R->phase != PH_DONE && R->phase_left == 0);
    return SL_LIMIT;
}

/* The traces ended before the measurement began: an error. */
static int phase_short(replay *R)
{
    char names[256];
    workload_name(R, names, sizeof names);
    if (R->phase == PH_ROI)
        return mm_errf(R->err, R->errlen, "%s: --roi: no ROI begin marker in the trace%s", names,
                       R->nsrc > 1 ? "s" : "");
    return mm_errf(R->err, R->errlen, "%s: the trace%s end%s during %s (after %" PRIu64 " of its %" PRIu64 " %s): "
                   "nothing is measured", names, R->nsrc > 1 ? "s" : "", R->nsrc > 1 ? "" : "s",
                   phase_name[R->phase], R->phase_len - R->phase_left, R->phase_len,
                   R->unit_instr ? "instructions" : "accesses");
}

/* The replay proper: every source, turn by turn, to every running machine.
 * REPLAY_DONE at the end of the traces, REPLAY_STOPPED (*stop),
 * REPLAY_OOM when no machine is left running, REPLAY_ERROR (err filled). */
static replay_status replay_loop(replay *R)
{
    const replay_opts *o = R->o;
    const uint64_t quantum = R->cfgs[0].os.quantum ? R->cfgs[0].os.quantum : 1;
    const bool interleave = R->multi && !R->timeshare;
    uint64_t ivl_left = R->interval ? R->interval : UINT64_MAX;
    uint64_t turn_left = R->timeshare ? quantum : UINT64_MAX;
    uint64_t check_left = CHECK_RECORDS, acc_at_row = 0;
    unsigned active = R->nsrc, cur = 0;

    replay_status status = o->stop && *o->stop ? REPLAY_STOPPED : REPLAY_DONE;
    if (R->phased) {
        /* Interval rows start with the measurement. */
        ivl_left = UINT64_MAX;
        if (R->phase != PH_ROI && R->phase_left == 0)
            phase_next(R);   /* nothing to skip: nothing batched, cannot fail */
        if (R->phase == PH_MEASURE && R->interval)
            ivl_left = R->interval;
    }
    while (active && status == REPLAY_DONE && (!R->phased || R->phase != PH_DONE)) {
        source *s = &R->src[cur];
        uint64_t max_acc = ivl_left < turn_left ? ivl_left : turn_left;
        /* Counted in accesses, a phase ends after its last access. */
        if (R->phased && !R->unit_instr && R->phase_left < max_acc)
            max_acc = R->phase_left;
        uint64_t rec0 = s->records, acc0 = R->accesses;
        slice_end e = slice(R, s, max_acc, interleave ? 1 : check_left);
        uint64_t nacc = R->accesses - acc0;
        check_left -= s->records - rec0;
        if (e == SL_ERROR) {
            status = REPLAY_ERROR;
            break;
        }
        if (e == SL_OOM) {
            status = REPLAY_OOM;
            break;
        }
        if (R->phased && !R->unit_instr && R->phase_left != PHASE_ALL && (R->phase_left -= nacc) == 0)
            R->phase_hit = true;
        if (R->phased && R->phase_hit) {
            bool measuring = R->phase == PH_MEASURE;
            slice_end f = phase_next(R);
            if (f == SL_ERROR) {
                status = REPLAY_ERROR;
                break;
            }
            if (f == SL_OOM) {
                status = REPLAY_OOM;
                break;
            }
            if (!measuring && R->phase == PH_MEASURE && R->interval)
                ivl_left = R->interval + nacc;   /* the slice's accesses were not measured */
        }
        if (R->interval && (ivl_left -= nacc) == 0) {
            if (interval_row(R) != 0) {
                status = REPLAY_ERROR;
                break;
            }
            ivl_left = R->interval;
            acc_at_row = R->accesses;
        }
        if (check_left == 0) {
            check_left = CHECK_RECORDS;
            if (o->stop && *o->stop)
                status = REPLAY_STOPPED;
            if (o->progress)
                report_progress(R, false);
        }
        bool next = interleave;
        if (e == SL_END) {
            s->done = true;
            active--;
            next = true;
        } else if (R->timeshare && (turn_left -= nacc) == 0) {
            next = true;
        }
        if (next && active) {
            do
                cur = (cur + 1) % R->nsrc;
            while (R->src[cur].done);
            turn_left = R->timeshare ? quantum : UINT64_MAX;
        }
    }
    if (status != REPLAY_ERROR && R->nbatch) {
        slice_end f = batch_flush(R);
        if (f == SL_ERROR)
            status = REPLAY_ERROR;
        else if (f == SL_OOM && status == REPLAY_DONE)
            status = REPLAY_OOM;
    }
    if (status == REPLAY_DONE && R->phased && R->phase < PH_MEASURE && phase_short(R) != 0)
        status = REPLAY_ERROR;
    if (o->progress)
        report_progress(R, true);
    for (unsigned c = 0; o->tap && status != REPLAY_ERROR && c < R->ncpus; c++)
        mmu_tap_end(os_mmu(R->oses[0], c));
    if (status != REPLAY_ERROR && R->interval && interval_last(R, acc_at_row) != 0)
        status = REPLAY_ERROR;
    return status;
}

replay_status replay_run(const mm_config *cfg, const replay_opts *o, char *err, size_t errlen)
{
    if (!o->out) {
        mm_errf(err, errlen, "replay: no output");
        return REPLAY_ERROR;
    }
    replay R = {.cfgs = cfg, .k = 1, .o = o, .interval = o->interval, .err = err, .errlen = errlen};
    replay_status status = REPLAY_ERROR;
    if (replay_open(&R) == 0)
        status = replay_loop(&R);
    if (status != REPLAY_ERROR) {
        int rc = o->interval ? 0 : final_report(&R);
        if (rc == 0 && o->interval && (fflush(o->out) != 0 || ferror(o->out)))
            rc = mm_errf(err, errlen, "writing the report: %s", strerror(errno));
        if (rc != 0)
            status = REPLAY_ERROR;
    }
    free_replay(&R);
    return status;
}

replay_status replay_run_multi(const mm_config *cfgs, unsigned k, const replay_opts *o, stats **out,
                               replay_status *status, char *err, size_t errlen)
{
    for (unsigned i = 0; i < k; i++) {
        out[i] = NULL;
        status[i] = REPLAY_ERROR;
    }
    replay R = {.cfgs = cfgs, .k = k, .o = o, .err = err, .errlen = errlen};
    replay_status st = REPLAY_ERROR;
    if (replay_open(&R) == 0)
        st = replay_loop(&R);
    if (st == REPLAY_OOM)
        st = REPLAY_DONE;   /* every machine stopped: status[] says so */
    for (unsigned i = 0; i < k && st != REPLAY_ERROR; i++) {
        out[i] = export_all(R.oses[i]);
        status[i] = R.ended[i] == REPLAY_OOM ? REPLAY_OOM : st;
    }
    if (st == REPLAY_ERROR) {
        for (unsigned i = 0; i < k; i++) {
            stats_free(out[i]);
            out[i] = NULL;
            status[i] = REPLAY_ERROR;
        }
    }
    free_replay(&R);
    return st;
}
