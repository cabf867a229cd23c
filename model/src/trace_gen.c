/* trace_gen.c -- synthetic trace generators and trace_info (trace_gen.h).
 *
 * A generator is a set of processes, each with one region and one access
 * stream, run in turn on CPU 0.  A stream is a small state machine that
 * yields the next (va, load/store) of its pattern; the drivers at the end
 * add the OS story (switches, mmaps, fork) around the streams.
 *
 * Randomness: each stream and each layout decision has its own xoshiro256**
 * generator, seeded by splitmix64 from (seed, pid, purpose), so changing one
 * process's pattern does not move another's addresses.  Bounded integers use
 * Lemire's multiply-shift with rejection (exactly uniform).
 *
 * Permutations of lines (chase) and of Zipf ranks onto pages (zipf) are
 * computed, not stored: a 4-round Feistel network over the smallest power of
 * two >= n, "cycle-walked" (re-encrypted until the value falls below n) to
 * a bijection on [0, n).  The power of two is < 2n, so a lookup takes fewer
 * than two encryptions on average, and memory stays constant whatever the
 * footprint.  The chase visits perm(0), perm(1), ..., perm(n-1), perm(0):
 * the successor map perm(i) -> perm(i+1) is one n-cycle over the lines.
 *
 * Zipf ranks come from the rejection-inversion sampler of W. Hormann and
 * G. Derflinger, "Rejection-inversion to generate variates from monotone
 * discrete distributions", ACM TOMACS 6(3), 1996 -- exact, O(1) time and
 * memory per sample for any s > 0 (the form used by Apache Commons RNG's
 * RejectionInversionZipfSampler). */
#define _POSIX_C_SOURCE 200809L
#include "mmusim/trace_gen.h"

#include "base/pairmap.h"
#include "base/rng.h"
#include "pageset.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__extension__ typedef unsigned __int128 u128;

#define PAGE 4096ull
#define MIB (1ull << 20)
#define MAX_REGION (1ull << 40)   /* 1 TiB: fits the heap, mmap and vmalloc areas below */

/* Where regions go (x86-64 Linux, 4-level paging).  Bases are 2 MiB aligned
 * and randomized over the span as ASLR does. */
#define HEAP_AREA 0x550000000000ull      /* PIE + brk: 0x55xxxxxxx000 */
#define HEAP_SLOTS (1ull << 19)          /* x 2 MiB = 1 TiB of base positions */
#define MMAP_TOP 0x7f0000000000ull       /* mmap_base: just below the stack */
#define MMAP_SLOTS (1ull << 18)          /* x 2 MiB = 512 GiB of top positions */
#define VMALLOC_AREA 0xffffc90000000000ull
#define VMALLOC_SLOTS (1ull << 15)       /* x 2 MiB = 64 GiB of base positions */

/* ---- random numbers ------------------------------------------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

/* Purposes of the generators derived from one seed. */
enum { RNG_LAYOUT = 1, RNG_STREAM, RNG_PERM, RNG_KERNEL, RNG_CHILD };

static void rng_init(rng *r, uint64_t seed, uint64_t pid, uint64_t purpose)
{
    uint64_t x = seed;
    x = mm_splitmix64(&x) ^ (pid * 0x100000001b3ull) ^ (purpose << 56);
    for (int i = 0; i < 4; i++)
        r->s[i] = mm_splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), n >= 1. */
static inline uint64_t rng_below(rng *r, uint64_t n)
{
    u128 m = (u128)rng_next(r) * n;
    if ((uint64_t)m < n) {
        uint64_t t = -n % n;
        while ((uint64_t)m < t)
            m = (u128)rng_next(r) * n;
    }
    return (uint64_t)(m >> 64);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double rng_double(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* A probability as a threshold on 53 random bits: 0 never, 1 always. */
static uint64_t chance_threshold(double p)
{
    return (uint64_t)(p * 0x1.0p53);
}

static inline bool rng_chance(rng *r, uint64_t threshold)
{
    return threshold && (rng_next(r) >> 11) < threshold;
}

/* ---- permutations: cycle-walked Feistel network ------------------------ */

typedef struct perm {
    uint64_t n;
    unsigned lo_bits;
    uint64_t lo_mask, hi_mask;
    uint64_t key[4];
} perm;

static void perm_init(perm *p, uint64_t n, rng *r)
{
    unsigned b = 2;
    while (b < 64 && (1ull << b) < n)
        b++;
    p->n = n;
    p->lo_bits = b / 2;
    p->lo_mask = (1ull << p->lo_bits) - 1;
    p->hi_mask = (1ull << (b - p->lo_bits)) - 1;
    for (int i = 0; i < 4; i++)
        p->key[i] = rng_next(r);
}

static inline uint64_t mix64(uint64_t x)   /* MurmurHash3's finalizer */
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The round function: a keyed multiplicative hash of one half (at most 32
 * bits), whose high product bits are the best mixed.  One multiply a round
 * keeps the chain of a lookup short (zipf and chase do one per access). */
static inline uint64_t perm_f(uint64_t half, uint64_t key)
{
    return ((half ^ key) * 0x9e3779b97f4a7c15ull ^ key) >> 32;
}

/* One encryption: each round xors one half with a keyed hash of the other,
 * which is invertible whatever the halves' widths. */
static inline uint64_t perm_encrypt(const perm *p, uint64_t x)
{
    uint64_t lo = x & p->lo_mask, hi = x >> p->lo_bits;
    lo ^= perm_f(hi, p->key[0]) & p->lo_mask;
    hi ^= perm_f(lo, p->key[1]) & p->hi_mask;
    lo ^= perm_f(hi, p->key[2]) & p->lo_mask;
    hi ^= perm_f(lo, p->key[3]) & p->hi_mask;
    return hi << p->lo_bits | lo;
}

/* The i-th element (i < n) of the permutation of [0, n). */
static inline uint64_t perm_at(const perm *p, uint64_t i)
{
    if (p->n <= 1)
        return 0;
    do
        i = perm_encrypt(p, i);
    while (i >= p->n);
    return i;
}

/* ---- Zipf ranks: rejection-inversion (Hormann & Derflinger 1996) ------- */

/* The sampler draws x from the continuous density h(x) = x^-s over
 * [0.5, n+0.5] by inverting its integral H, rounds it to k, and accepts
 * when k lies under the hat (the squeeze `threshold` accepts most samples
 * without a second evaluation).  helper1/helper2 are log1p(x)/x and
 * expm1(x)/x, evaluated stably near 0 so s = 1 needs no special case. */
typedef struct zipf {
    double s, n;
    double h_x1, h_n, threshold;
} zipf;

static double helper1(double x)
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - x * 0.25));
}

static double helper2(double x)
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + x * 0.25));
}

static double zipf_hint(const zipf *z, double x)   /* H(x) */
{
    double lx = log(x);
    return helper2((1 - z->s) * lx) * lx;
}

static double zipf_h(const zipf *z, double x)
{
    return exp(-z->s * log(x));
}

static double zipf_hinv(const zipf *z, double x)
{
    double t = x * (1 - z->s);
    if (t < -1)
        t = -1;   /* rounding can push it just below the domain */
    return exp(helper1(t) * x);
}

static void zipf_init(zipf *z, uint64_t n, double s)
{
    z->s = s;
    z->n = (double)n;
    z->h_x1 = zipf_hint(z, 1.5) - 1;
    z->h_n = zipf_hint(z, z->n + 0.5);
    z->threshold = 2 - zipf_hinv(z, zipf_hint(z, 2.5) - zipf_h(z, 2));
}

/* A rank in 1..n. */
static uint64_t zipf_sample(const zipf *z, rng *r)
{
    for (;;) {
        double u = z->h_n + rng_double(r) * (z->h_x1 - z->h_n);
        double x = zipf_hinv(z, u);
        double kd = floor(x + 0.5);
        if (kd < 1)
            kd = 1;
        else if (kd > z->n)
            kd = z->n;
        if (kd - x <= z->threshold || u >= zipf_hint(z, kd + 0.5) - zipf_h(z, kd))
            return (uint64_t)kd;
    }
}

/* ---- access streams ------------------------------------------------- */

/* An internal stream kind besides the inner patterns: uniform random words,
 * stores with the stream's write chance (fork-write's readers, vmalloc's
 * kernel accesses). */
#define S_UNIFORM TG_PATTERN_COUNT

typedef struct stream {
    int kind;
    uint64_t base, bytes;
    uint32_t size;
    uint64_t wthresh;         /* store chance (chance_threshold) */
    uint64_t stride, per_pass, pos, shift, line;   /* sequential, strided */
    uint64_t n;               /* words (gups, uniform), lines (chase), pages (zipf) */
    uint64_t page_words;      /* zipf: words of `size` bytes in a page */
    perm perm;                /* chase: line order; zipf: rank -> page */
    zipf z;
    uint64_t pending_va;      /* gups: the word whose store comes next */
    bool pending;
    rng rng;
} stream;

/* A stream of `kind` over [base, base+bytes).  Its random choices come from
 * (seed, pid, purpose); its permutation (chase, zipf) from (seed, owner):
 * the pid for a private region, 0 for a shared file, whose hot pages and
 * chain are the same in every process that maps it. */
static void stream_init(stream *st, int kind, const trace_gen_opts *o, uint64_t base, uint64_t bytes,
                        double write_fraction, uint32_t pid, uint32_t owner, uint64_t purpose)
{
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->base = base;
    st->bytes = bytes;
    st->size = o->size;
    st->wthresh = chance_threshold(write_fraction);
    st->line = o->size > 64 ? o->size : 64;
    rng_init(&st->rng, o->seed, pid, purpose);
    switch (kind) {
    case TG_SEQUENTIAL:
    case TG_STRIDED: {
        uint64_t def = kind == TG_SEQUENTIAL ? 64 : PAGE;
        st->stride = o->stride ? o->stride : def > o->size ? def : o->size;
        st->per_pass = bytes / st->stride;
        break;
    }
    case TG_GUPS:
    case S_UNIFORM:
        st->n = bytes / o->size;
        break;
    case TG_ZIPF: {
        st->n = bytes / PAGE;
        st->page_words = PAGE / o->size;
        zipf_init(&st->z, st->n, o->zipf_s);
        rng pr;
        rng_init(&pr, o->seed, owner, RNG_PERM);
        perm_init(&st->perm, st->n, &pr);
        break;
    }
    case TG_CHASE: {
        st->n = bytes / st->line;
        rng pr;
        rng_init(&pr, o->seed, owner, RNG_PERM);
        perm_init(&st->perm, st->n, &pr);
        break;
    }
    }
}

static inline uint8_t stream_rw(stream *st)
{
    return rng_chance(&st->rng, st->wthresh) ? MM_STORE : MM_LOAD;
}

static inline uint64_t stream_next(stream *st, uint8_t *acc)
{
    uint64_t va;
    switch (st->kind) {
    case TG_SEQUENTIAL:
    case TG_STRIDED:
        va = st->base + st->pos * st->stride + st->shift;
        if (++st->pos == st->per_pass) {
            st->pos = 0;
            if (st->kind == TG_STRIDED)
                st->shift = (st->shift + st->line) % st->stride;
        }
        *acc = stream_rw(st);
        return va;
    case TG_GUPS:
        if (st->pending) {
            st->pending = false;
            *acc = MM_STORE;
            return st->pending_va;
        }
        st->pending = true;
        st->pending_va = st->base + rng_below(&st->rng, st->n) * st->size;
        *acc = MM_LOAD;
        return st->pending_va;
    case TG_ZIPF: {
        uint64_t page = perm_at(&st->perm, zipf_sample(&st->z, &st->rng) - 1);
        va = st->base + page * PAGE + rng_below(&st->rng, st->page_words) * st->size;
        *acc = stream_rw(st);
        return va;
    }
    case TG_CHASE:
        va = st->base + perm_at(&st->perm, st->pos) * st->line;
        if (++st->pos == st->n)
            st->pos = 0;
        *acc = MM_LOAD;
        return va;
    default: /* S_UNIFORM */
        va = st->base + rng_below(&st->rng, st->n) * st->size;
        *acc = stream_rw(st);
        return va;
    }
}

/* ---- record output -------------------------------------------------- */

typedef struct gen {
    trace_sink sink;
    const trace_gen_opts *o;
    trace_rec access;         /* the access record, reused: only va, acc, priv change */
    trace_rec instr;          /* the TR_INSTR record, reused: only count changes */
    unsigned since;           /* accesses since the last TR_INSTR */
    uint64_t records, accesses, instructions, events;
    stream *kernel;           /* vmalloc: the supervisor stream, else NULL */
    uint64_t kthresh;         /* chance of a kernel access */
    bool stopped;             /* the sink returned -1 */
} gen;

static int put(gen *g, const trace_rec *r)
{
    g->records++;
    if (g->sink.put(g->sink.ctx, r) == 0)
        return 0;
    g->stopped = true;
    return -1;
}

static int flush_instr(gen *g)
{
    if (!g->since || !g->o->instr_per_access)
        return 0;
    g->instr.count = (uint64_t)g->since * g->o->instr_per_access;
    g->since = 0;
    g->instructions += g->instr.count;
    return put(g, &g->instr);
}

static inline int put_access(gen *g, uint64_t va, uint8_t acc, uint8_t priv)
{
    g->access.va = va;
    g->access.acc = acc;
    g->access.priv = priv;
    if (put(g, &g->access))
        return -1;
    g->accesses++;
    if (++g->since == g->o->instr_every)
        return flush_instr(g);
    return 0;
}

static int put_event(gen *g, const trace_rec *r)
{
    if (flush_instr(g))
        return -1;
    g->events++;
    return put(g, r);
}

/* ---- processes ------------------------------------------------------ */

typedef struct proc {
    uint32_t pid;
    bool started;          /* has run: its mapping is declared */
    trace_rec mmap;        /* its region's TR_MMAP (kind 0 = none to declare) */
    stream st;
} proc;

/* Region bases.  The layout generator of each process is its own, so the
 * bases do not depend on the other options. */
static uint64_t heap_base(const trace_gen_opts *o, uint32_t pid)
{
    rng r;
    rng_init(&r, o->seed, pid, RNG_LAYOUT);
    return HEAP_AREA + rng_below(&r, HEAP_SLOTS) * (2 * MIB);
}

static uint64_t mmap_base(const trace_gen_opts *o, uint32_t pid, uint64_t len)
{
    rng r;
    rng_init(&r, o->seed, pid, RNG_LAYOUT);
    uint64_t top = MMAP_TOP + rng_below(&r, MMAP_SLOTS) * (2 * MIB);
    return top - ((len + 2 * MIB - 1) & ~(2 * MIB - 1));
}

static trace_rec mmap_rec(uint32_t pid, uint64_t addr, uint64_t len, uint32_t flags, uint32_t file_id)
{
    return (trace_rec){.kind = TR_MMAP, .pid = pid, .addr = addr, .len = len,
                       .prot = TR_PROT_READ | TR_PROT_WRITE, .flags = flags, .file_id = file_id};
}

/* A process with an anonymous private heap region of the footprint. */
static void proc_heap(proc *p, const trace_gen_opts *o, uint32_t pid, int kind, double wf)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    uint64_t base = heap_base(o, pid);
    p->mmap = mmap_rec(pid, base, o->footprint, TR_MAP_ANON, 0);
    stream_init(&p->st, kind, o, base, o->footprint, wf, pid, pid, RNG_STREAM);
}

/* Put `p` on CPU 0 (a TR_SWITCH) and declare its region on its first run. */
static int switch_to(gen *g, proc *p)
{
    trace_rec sw = {.kind = TR_SWITCH, .pid = p->pid};
    if (put_event(g, &sw))
        return -1;
    if (!p->started && p->mmap.kind == TR_MMAP && put_event(g, &p->mmap))
        return -1;
    p->started = true;
    return 0;
}

static inline int proc_access(gen *g, proc *p)
{
    uint8_t acc;
    if (g->kernel && rng_chance(&g->kernel->rng, g->kthresh)) {
        uint64_t va = stream_next(g->kernel, &acc);
        return put_access(g, va, acc, MM_SUPERVISOR);
    }
    uint64_t va = stream_next(&p->st, &acc);
    return put_access(g, va, acc, MM_USER);
}

/* Run `n` accesses of the processes in turn, `switch_every` each, starting
 * with procs[0].  `running` is the process already on the CPU (no switch
 * needed to continue it), or NULL. */
static int run_turns(gen *g, proc *procs, unsigned nprocs, uint64_t n, const proc *running)
{
    unsigned cur = 0;
    while (n) {
        proc *p = &procs[cur];
        if (p != running && switch_to(g, p))
            return -1;
        running = p;
        uint64_t slice = nprocs == 1 || g->o->switch_every > n ? n : g->o->switch_every;
        for (uint64_t i = 0; i < slice; i++)
            if (proc_access(g, p))
                return -1;
        n -= slice;
        cur = cur + 1 == nprocs ? 0 : cur + 1;
    }
    return 0;
}

/* ---- the patterns --------------------------------------------------- */

static int gen_single(gen *g, int kind)
{
    proc p;
    proc_heap(&p, g->o, TG_FIRST_PID, kind, g->o->write_fraction);
    if (switch_to(g, &p))
        return -1;
    return run_turns(g, &p, 1, g->o->count, &p);
}

static proc *procs_alloc(unsigned n, char *err, size_t errlen)
{
    proc *p = calloc(n, sizeof *p);
    if (!p)
        snprintf(err, errlen, "trace gen: out of memory for %u processes", n);
    return p;
}

static int gen_processes(gen *g, char *err, size_t errlen)
{
    const trace_gen_opts *o = g->o;
    proc *ps = procs_alloc(o->processes, err, errlen);
    if (!ps)
        return -1;
    for (unsigned i = 0; i < o->processes; i++)
        proc_heap(&ps[i], o, TG_FIRST_PID + i, o->inner, o->write_fraction);
    int rc = run_turns(g, ps, o->processes, o->count, NULL);
    free(ps);
    return rc;
}

static int gen_shared_file(gen *g, char *err, size_t errlen)
{
    const trace_gen_opts *o = g->o;
    proc *ps = procs_alloc(o->processes, err, errlen);
    if (!ps)
        return -1;
    for (unsigned i = 0; i < o->processes; i++) {
        uint32_t pid = TG_FIRST_PID + i;
        uint64_t base = mmap_base(o, pid, o->footprint);
        ps[i].pid = pid;
        ps[i].mmap = mmap_rec(pid, base, o->footprint, TR_MAP_SHARED, 1);
        stream_init(&ps[i].st, o->inner, o, base, o->footprint, o->write_fraction, pid, 0, RNG_STREAM);
    }
    int rc = run_turns(g, ps, o->processes, o->count, NULL);
    free(ps);
    return rc;
}

static int gen_vmalloc(gen *g, char *err, size_t errlen)
{
    const trace_gen_opts *o = g->o;
    rng r;
    rng_init(&r, o->seed, 0, RNG_LAYOUT);
    uint64_t kbase = VMALLOC_AREA + rng_below(&r, VMALLOC_SLOTS) * (2 * MIB);
    stream kst;
    stream_init(&kst, S_UNIFORM, o, kbase, o->kernel_footprint, o->write_fraction, 0, 0, RNG_KERNEL);
    g->kernel = &kst;
    g->kthresh = chance_threshold(o->kernel_fraction);
    trace_rec km = mmap_rec(0, kbase, o->kernel_footprint, TR_MAP_KERNEL | TR_MAP_ANON, 0);
    if (put_event(g, &km))
        return -1;
    int rc = gen_processes(g, err, errlen);
    g->kernel = NULL;
    return rc;
}

/* Pages the child of fork-write writes: write_fraction of them, rounded. */
static uint64_t fork_child_pages(const trace_gen_opts *o)
{
    return (uint64_t)llround(o->write_fraction * (double)(o->footprint / PAGE));
}

static int gen_fork_write(gen *g)
{
    const trace_gen_opts *o = g->o;
    uint64_t pages = o->footprint / PAGE, k = fork_child_pages(o);
    proc ps[2];   /* parent, child: after the fork both read the region */
    proc_heap(&ps[0], o, TG_FIRST_PID, S_UNIFORM, 0.0);
    uint64_t base = ps[0].mmap.addr;
    /* The child inherits the parent's address space: no mapping of its own. */
    memset(&ps[1], 0, sizeof ps[1]);
    ps[1].pid = TG_FIRST_PID + 1;
    ps[1].started = true;
    stream_init(&ps[1].st, S_UNIFORM, o, base, o->footprint, 0.0, ps[1].pid, ps[1].pid, RNG_STREAM);

    /* The parent maps the region and writes every page (demand-zero faults). */
    if (switch_to(g, &ps[0]))
        return -1;
    for (uint64_t i = 0; i < pages; i++)
        if (put_access(g, base + i * PAGE, MM_STORE, MM_USER))
            return -1;
    trace_rec fork = {.kind = TR_FORK, .pid = ps[0].pid, .child = ps[1].pid};
    if (put_event(g, &fork) || switch_to(g, &ps[1]))
        return -1;
    /* The child writes k distinct pages in random order: copy-on-write faults. */
    rng r;
    rng_init(&r, o->seed, ps[1].pid, RNG_CHILD);
    perm pm;
    perm_init(&pm, pages, &r);
    for (uint64_t i = 0; i < k; i++) {
        uint64_t va = base + perm_at(&pm, i) * PAGE + rng_below(&r, PAGE / o->size) * o->size;
        if (put_access(g, va, MM_STORE, MM_USER))
            return -1;
    }
    /* Then both read the region in turns, the parent first. */
    return run_turns(g, ps, 2, o->count - pages - k, &ps[1]);
}

/* ---- options -------------------------------------------------------- */

static const char *const pattern_names[TG_PATTERN_COUNT] = {
    "sequential", "strided", "gups", "zipf", "chase", "processes", "fork-write", "shared-file", "vmalloc",
};

static const char *const pattern_help[TG_PATTERN_COUNT] = {
    "stream through the region, --stride bytes a step, wrapping",
    "page-stride walk, each pass shifted by a cache line",
    "random read-modify-write of --size words (HPCC RandomAccess)",
    "Zipf(--zipf-s) over the region's 4 KiB pages",
    "pointer chase: a random cyclic permutation of the cache lines",
    "--processes processes running --inner in turns (--switch-every)",
    "parent writes its region and forks; the child writes some pages",
    "--processes processes share one file mapping",
    "user accesses mixed with supervisor ones to a vmalloc range",
};

void trace_gen_defaults(trace_gen_opts *o)
{
    *o = (trace_gen_opts){
        .footprint = 64 * MIB,
        .count = 1000000,
        .seed = 1,
        .stride = 0,
        .size = 8,
        .processes = 4,
        .switch_every = 10000,
        .zipf_s = 1.0,
        .write_fraction = 0.25,
        .inner = TG_ZIPF,
        .instr_per_access = 3,
        .instr_every = 1,
        .kernel_footprint = 16 * MIB,
        .kernel_fraction = 0.2,
    };
}

int trace_gen_pattern_by_name(const char *name)
{
    for (int i = 0; i < TG_PATTERN_COUNT; i++)
        if (!strcmp(name, pattern_names[i]))
            return i;
    return -1;
}

const char *trace_gen_pattern_name(int p)
{
    return p >= 0 && p < TG_PATTERN_COUNT ? pattern_names[p] : "?";
}

const char *trace_gen_pattern_help(int p)
{
    return p >= 0 && p < TG_PATTERN_COUNT ? pattern_help[p] : "?";
}

#define P(name, type, field, help) {name, type, offsetof(trace_gen_opts, field), help}
static const trace_gen_param params[] = {
    P("footprint", TG_PARAM_SIZE, footprint, "bytes of each process's region; default 64M"),
    P("count", TG_PARAM_U64, count, "memory accesses; default 1000000"),
    P("seed", TG_PARAM_U64, seed, "random seed; default 1"),
    P("stride", TG_PARAM_SIZE, stride, "step in bytes; default 64 sequential, 4096 strided"),
    P("size", TG_PARAM_UINT, size, "bytes per access, a power of two <= 4096; default 8"),
    P("processes", TG_PARAM_UINT, processes, "number of processes; default 4"),
    P("switch-every", TG_PARAM_U64, switch_every, "accesses between context switches; default 10000"),
    P("zipf-s", TG_PARAM_DOUBLE, zipf_s, "Zipf exponent s > 0; default 1"),
    P("write-fraction", TG_PARAM_DOUBLE, write_fraction, "share of stores (fork-write: of pages); default 0.25"),
    P("inner", TG_PARAM_PATTERN, inner, "each process's pattern (multi-process); default zipf"),
    P("instr-per-access", TG_PARAM_UINT, instr_per_access, "instructions per access (0: no counts); default 3"),
    P("instr-every", TG_PARAM_UINT, instr_every, "accesses per instruction-count record; default 1"),
    P("kernel-footprint", TG_PARAM_SIZE, kernel_footprint, "bytes of the vmalloc range; default 16M"),
    P("kernel-fraction", TG_PARAM_DOUBLE, kernel_fraction, "share of accesses to the vmalloc range; default 0.2"),
};
#undef P

/* TG_PARAM_UINT fields are unsigned or uint32_t: one width for both. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned options are 32-bit");

const trace_gen_param *trace_gen_params(size_t *n)
{
    *n = sizeof params / sizeof params[0];
    return params;
}

static bool parse_u64(const char *s, uint64_t *out, bool suffixes)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    if (suffixes && *end) {
        static const char units[] = "kmgt";
        const char *u = strchr(units, end[0] | 0x20);
        if (!u || !end[0])
            return false;
        unsigned shift = 10 * (unsigned)(u - units + 1);
        end++;
        if (!strcmp(end, "iB") || !strcmp(end, "B"))
            end += strlen(end);
        if (v > (UINT64_MAX >> shift))
            return false;
        v <<= shift;
    }
    if (*end)
        return false;
    *out = v;
    return true;
}

int trace_gen_set(trace_gen_opts *o, const char *name, const char *value, char *err, size_t errlen)
{
    const trace_gen_param *p = NULL;
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (!strcmp(params[i].name, name))
            p = &params[i];
    if (!p) {
        snprintf(err, errlen, "--%s: unknown option", name);
        return -1;
    }
    void *f = (char *)o + p->offset;
    uint64_t v;
    switch (p->type) {
    case TG_PARAM_SIZE:
    case TG_PARAM_U64:
        if (!parse_u64(value, &v, p->type == TG_PARAM_SIZE)) {
            snprintf(err, errlen, "--%s %s: expected %s", name, value,
                     p->type == TG_PARAM_SIZE ? "a size in bytes (suffixes K, M, G, T)" : "a non-negative integer");
            return -1;
        }
        *(uint64_t *)f = v;
        return 0;
    case TG_PARAM_UINT:
        if (!parse_u64(value, &v, false) || v > UINT32_MAX) {
            snprintf(err, errlen, "--%s %s: expected a non-negative integer below 2^32", name, value);
            return -1;
        }
        *(uint32_t *)f = (uint32_t)v;
        return 0;
    case TG_PARAM_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(d)) {
            snprintf(err, errlen, "--%s %s: expected a number", name, value);
            return -1;
        }
        *(double *)f = d;
        return 0;
    }
    case TG_PARAM_PATTERN: {
        int k = trace_gen_pattern_by_name(value);
        if (k < 0) {
            snprintf(err, errlen, "--%s %s: unknown pattern", name, value);
            return -1;
        }
        *(int *)f = k;
        return 0;
    }
    }
    return -1;
}

/* A size in the shortest exact suffix form: "64M", "4K", "1000". */
static void fmt_size(uint64_t v, char *buf, size_t len)
{
    static const char units[] = "TGMK";
    for (int i = 0; i < 4; i++) {
        unsigned shift = 10 * (unsigned)(4 - i);
        if (v && !(v & ((1ull << shift) - 1))) {
            snprintf(buf, len, "%" PRIu64 "%c", v >> shift, units[i]);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64, v);
}

/* A double in the shortest form that reads back exactly. */
static void fmt_double(double d, char *buf, size_t len)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

void trace_gen_describe(int pattern, const trace_gen_opts *o, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "%s", trace_gen_pattern_name(pattern));
    for (size_t i = 0; i < sizeof params / sizeof params[0] && at < len; i++) {
        const trace_gen_param *p = &params[i];
        const void *f = (const char *)o + p->offset;
        char v[64];
        switch (p->type) {
        case TG_PARAM_SIZE: fmt_size(*(const uint64_t *)f, v, sizeof v); break;
        case TG_PARAM_U64: snprintf(v, sizeof v, "%" PRIu64, *(const uint64_t *)f); break;
        case TG_PARAM_UINT: snprintf(v, sizeof v, "%" PRIu32, *(const uint32_t *)f); break;
        case TG_PARAM_DOUBLE: fmt_double(*(const double *)f, v, sizeof v); break;
        case TG_PARAM_PATTERN: snprintf(v, sizeof v, "%s", trace_gen_pattern_name(*(const int *)f)); break;
        }
        at += (size_t)snprintf(buf + at, len - at, " --%s %s", p->name, v);
    }
}


static int check_region(const char *name, uint64_t v, char *err, size_t errlen)
{
    if (v < PAGE || v > MAX_REGION || v % PAGE)
        return mm_errf(err, errlen, "trace gen: --%s %" PRIu64 ": must be a multiple of 4096 from 4K to 1T", name, v);
    return 0;
}

static int check_fraction(const char *name, double v, char *err, size_t errlen)
{
    if (!(v >= 0 && v <= 1))
        return mm_errf(err, errlen, "trace gen: --%s %g: must be between 0 and 1", name, v);
    return 0;
}

static int check_opts(int pattern, const trace_gen_opts *o, char *err, size_t errlen)
{
    if (pattern < 0 || pattern >= TG_PATTERN_COUNT)
        return mm_errf(err, errlen, "trace gen: unknown pattern %d", pattern);
    if (check_region("footprint", o->footprint, err, errlen) ||
        check_region("kernel-footprint", o->kernel_footprint, err, errlen) ||
        check_fraction("write-fraction", o->write_fraction, err, errlen) ||
        check_fraction("kernel-fraction", o->kernel_fraction, err, errlen))
        return -1;
    if (o->size < 1 || o->size > PAGE || (o->size & (o->size - 1)))
        return mm_errf(err, errlen, "trace gen: --size %" PRIu32 ": must be a power of two from 1 to 4096", o->size);
    if (o->stride && (o->stride % o->size || o->stride > o->footprint))
        return mm_errf(err, errlen,
                   "trace gen: --stride %" PRIu64 ": must be a multiple of --size %" PRIu32 " and at most --footprint",
                   o->stride, o->size);
    if (o->processes < 1 || o->processes > 4096)
        return mm_errf(err, errlen, "trace gen: --processes %u: must be from 1 to 4096", o->processes);
    if (o->switch_every < 1)
        return mm_errf(err, errlen, "trace gen: --switch-every 0: must be at least 1");
    if (!(o->zipf_s > 0 && o->zipf_s <= 100))
        return mm_errf(err, errlen, "trace gen: --zipf-s %g: must be above 0 and at most 100", o->zipf_s);
    if (!TG_IS_INNER(o->inner))
        return mm_errf(err, errlen, "trace gen: --inner %s: must be sequential, strided, gups, zipf or chase",
                   trace_gen_pattern_name(o->inner));
    if (o->instr_per_access > 1000)
        return mm_errf(err, errlen, "trace gen: --instr-per-access %u: must be at most 1000", o->instr_per_access);
    if (o->instr_every < 1)
        return mm_errf(err, errlen, "trace gen: --instr-every 0: must be at least 1");
    if (pattern == TG_FORK_WRITE) {
        uint64_t need = o->footprint / PAGE + fork_child_pages(o);
        if (o->count < need)
            return mm_errf(err, errlen,
                       "trace gen: fork-write: --count %" PRIu64 " is too small: the parent's writes and the "
                       "child's need %" PRIu64 " accesses",
                       o->count, need);
    }
    return 0;
}

int trace_gen(int pattern, const trace_gen_opts *o, trace_sink sink, trace_meta *meta, char *err, size_t errlen)
{
    if (check_opts(pattern, o, err, errlen))
        return -1;
    if (meta) {
        snprintf(meta->source, sizeof meta->source, "gen:%s", trace_gen_pattern_name(pattern));
        trace_gen_describe(pattern, o, meta->command, sizeof meta->command);
    }
    gen g = {.sink = sink, .o = o, .access = {.kind = TR_ACCESS, .size = o->size}, .instr = {.kind = TR_INSTR}};
    int rc;
    switch (pattern) {
    case TG_PROCESSES: rc = gen_processes(&g, err, errlen); break;
    case TG_FORK_WRITE: rc = gen_fork_write(&g); break;
    case TG_SHARED_FILE: rc = gen_shared_file(&g, err, errlen); break;
    case TG_VMALLOC: rc = gen_vmalloc(&g, err, errlen); break;
    default: rc = gen_single(&g, pattern); break;
    }
    if (rc == 0)
        rc = flush_instr(&g);
    if (rc) {
        if (g.stopped)
            snprintf(err, errlen, "trace gen: %s: the output stopped", trace_gen_pattern_name(pattern));
        return -1;
    }
    if (meta) {
        meta->records = g.records;
        meta->accesses = g.accesses;
        meta->instructions = g.instructions;
        meta->events = g.events;
    }
    return 0;
}

/* ---- trace_info ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct info {
    uint64_t kinds[TR_KIND_COUNT];
    uint64_t acc[3], priv[2];
    uint64_t instructions;
    uint64_t roi[2];         /* ROI markers: [TR_ROI_BEGIN], [TR_ROI_END] */
    pageset *pages;          /* distinct pages touched, by address space */
    pairmap pids;            /* (pid, 0): the processes named */
    bool cpu_seen[256];
    uint32_t running[256];   /* pid on each CPU, from TR_SWITCH */
} info;

static const unsigned page_shift[MM_PS_COUNT] = {12, 21, 30};

static int info_add(info *in, const trace_rec *r)
{
    in->kinds[r->kind < TR_KIND_COUNT ? r->kind : 0]++;
    switch (r->kind) {
    case TR_ACCESS: {
        in->acc[r->acc < 3 ? r->acc : 0]++;
        in->priv[r->priv ? 1 : 0]++;
        in->cpu_seen[r->cpu] = true;
        /* user space: pid + 1; the kernel half: 0 */
        uint64_t space = r->va >> 63 ? 0 : (uint64_t)in->running[r->cpu] + 1;
        return pageset_add(in->pages, space, r->va);
    }
    case TR_INSTR:
        in->instructions += r->count;
        in->cpu_seen[r->cpu] = true;
        return 0;
    case TR_SWITCH:
        in->running[r->cpu] = r->pid;
        in->cpu_seen[r->cpu] = true;
        pairmap_put(&in->pids, r->pid, 0, 1);
        return 0;
    case TR_FORK:
        pairmap_put(&in->pids, r->pid, 0, 1);
        pairmap_put(&in->pids, r->child, 0, 1);
        return 0;
    case TR_MMAP:
        if (r->flags & TR_MAP_KERNEL)
            return 0;
        pairmap_put(&in->pids, r->pid, 0, 1);
        return 0;
    case TR_EXEC:
    case TR_EXIT:
    case TR_MUNMAP:
    case TR_MPROTECT:
        pairmap_put(&in->pids, r->pid, 0, 1);
        return 0;
    case TR_CR3:
    case TR_INVLPG:
        in->cpu_seen[r->cpu] = true;
        return 0;
    case TR_ROI:
        in->roi[r->roi == TR_ROI_END]++;
        return 0;
    }
    return 0;
}

static void info_free(info *in)
{
    pageset_free(in->pages);
    pairmap_free(&in->pids);
    free(in);
}

/* "64 MiB", "1.5 GiB", "12 KiB". */
static void fmt_bytes(double b, char *buf, size_t len)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    if (b == floor(b))
        snprintf(buf, len, "%.0f %s", b, units[u]);
    else
        snprintf(buf, len, "%.1f %s", b, units[u]);
}

static void info_print(const info *in, const trace_meta *m, const char *path, FILE *out)
{
    fprintf(out, "source: %s\n", m->source);
    fprintf(out, "command: %s\n", m->command);
    fprintf(out, "recorder: %s\n", m->recorder);
    fprintf(out, "version: %" PRIu32 ".%" PRIu32 "\n", m->version_major, m->version_minor);
    uint64_t total = 0;
    for (int k = 0; k < TR_KIND_COUNT; k++)
        total += in->kinds[k];
    /* ROI markers are records but not events (FORMAT.md). */
    uint64_t events = total - in->kinds[TR_ACCESS] - in->kinds[TR_INSTR] - in->kinds[TR_ROI];
    fprintf(out, "records: %" PRIu64 "\n", total);
    fprintf(out, "records.access: %" PRIu64 "\n", in->kinds[TR_ACCESS]);
    fprintf(out, "records.instr: %" PRIu64 "\n", in->kinds[TR_INSTR]);
    fprintf(out, "records.event: %" PRIu64 "\n", events);
    fprintf(out, "accesses: %" PRIu64 "\n", in->kinds[TR_ACCESS]);
    fprintf(out, "accesses.load: %" PRIu64 "\n", in->acc[MM_LOAD]);
    fprintf(out, "accesses.store: %" PRIu64 "\n", in->acc[MM_STORE]);
    fprintf(out, "accesses.ifetch: %" PRIu64 "\n", in->acc[MM_IFETCH]);
    fprintf(out, "accesses.user: %" PRIu64 "\n", in->priv[MM_USER]);
    fprintf(out, "accesses.supervisor: %" PRIu64 "\n", in->priv[MM_SUPERVISOR]);
    fprintf(out, "instructions: %" PRIu64 "\n", in->instructions);
    fprintf(out, "events: %" PRIu64 "\n", events);
    for (int k = TR_SWITCH; k < TR_KIND_COUNT; k++)
        if (k != TR_ROI)
            fprintf(out, "events.%s: %" PRIu64 "\n", trace_kind_name((trace_kind)k), in->kinds[k]);
    /* Only a trace with markers has these lines (older traces cannot). */
    if (in->kinds[TR_ROI]) {
        fprintf(out, "records.roi: %" PRIu64 "\n", in->kinds[TR_ROI]);
        fprintf(out, "roi.begin: %" PRIu64 "\n", in->roi[TR_ROI_BEGIN]);
        fprintf(out, "roi.end: %" PRIu64 "\n", in->roi[TR_ROI_END]);
    }
    for (int ps = 0; ps < MM_PS_COUNT; ps++) {
        char b[32];
        uint64_t n = pageset_count(in->pages, page_shift[ps]);
        fmt_bytes((double)n * (double)(1ull << page_shift[ps]), b, sizeof b);
        fprintf(out, "footprint.%s: %" PRIu64 " pages (%s)\n", mm_ps_name(ps), n, b);
    }
    /* The pids, sorted; the first 16 are listed. */
    uint64_t *pid = malloc((in->pids.n + 1) * sizeof *pid);
    size_t npid = 0;
    for (size_t i = 0; pid && i < in->pids.cap; i++)
        if (in->pids.s[i].a != PAIRMAP_EMPTY)
            pid[npid++] = in->pids.s[i].a;
    qsort(pid, npid, sizeof *pid, cmp_u64);
    fprintf(out, "processes: %zu", in->pids.n);
    for (size_t i = 0; i < npid && i < 16; i++)
        fprintf(out, "%s%" PRIu64, i ? " " : " (pids ", pid[i]);
    fputs(npid > 16 ? " ...)\n" : npid ? ")\n" : "\n", out);
    free(pid);
    unsigned ncpu = 0;
    for (int c = 0; c < 256; c++)
        ncpu += in->cpu_seen[c];
    fprintf(out, "cpus: %u\n", ncpu);
    struct stat st;
    if (path && strcmp(path, "-") && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        fprintf(out, "file.bytes: %jd\n", (intmax_t)st.st_size);
        if (in->kinds[TR_ACCESS])
            fprintf(out, "file.bytes_per_access: %.3f\n", (double)st.st_size / (double)in->kinds[TR_ACCESS]);
    }
}

int trace_info(trace_reader *r, const char *path, FILE *out, char *err, size_t errlen)
{
    info *in = calloc(1, sizeof *in);
    if (!in || !(in->pages = pageset_create())) {
        free(in);
        return mm_errf(err, errlen, "%s: out of memory", path ? path : "-");
    }
    trace_rec rec;
    int rc;
    while ((rc = trace_next(r, &rec)) == 1)
        if (info_add(in, &rec)) {
            info_free(in);
            return mm_errf(err, errlen, "%s: out of memory counting distinct pages", path ? path : "-");
        }
    if (rc < 0) {
        snprintf(err, errlen, "%s", trace_reader_error(r));
        info_free(in);
        return -1;
    }
    info_print(in, trace_reader_meta(r), path, out);
    info_free(in);
    return 0;
}
