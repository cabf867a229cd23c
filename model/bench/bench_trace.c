/* bench_trace.c -- write and decode speed and size of the trace format.
 *
 * Usage:
 *   bench_trace [-n ACCESSES] [-l LEVEL] [-o PATH] [-r RUNS]
 *       Writes a synthetic trace of ACCESSES accesses (default 100,000,000)
 *       to PATH (default /tmp/bench_trace.<pid>.trace, removed afterwards;
 *       a PATH given with -o is kept) at zstd LEVEL (default: the writer's),
 *       then decodes it RUNS times (default 3) and reports the best run.
 *   bench_trace TRACE...
 *       Decodes each existing trace RUNS times (-r before the names).
 *
 * Per trace it prints the file size, records, accesses, bytes per access
 * (file size / accesses) and the decode rate in records and accesses per
 * second (trace_next over the whole file, one thread).
 *
 * The synthetic trace imitates what the lackey importer makes of a real
 * program: loops of x86 instructions (lengths 1..11 bytes) over 256 loop
 * bodies of 4..48 instructions, each instruction fetched (an ifetch), and a
 * TR_INSTR with the pending instruction count before every data access.
 * About 38% of instructions access data: 20% strided array walks (stride
 * 4..64 bytes, sizes 4..32), 12% stack slots, 6% random 8-byte loads and
 * stores over 512 MiB.  A hot set of 16 loops runs 7/8 of the time; two of
 * the 256 loops run in kernel mode; a context switch or an mmap every ~4096
 * loop runs adds the odd event.  The generator is seeded, so every run
 * writes the same trace. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mmusim/trace.h"

#include "bench_util.h"



enum { OP_NONE, OP_STREAM, OP_STACK, OP_RANDOM };

typedef struct insn {
    uint8_t len, op, acc, size;
    uint8_t array;     /* OP_STREAM: which of the loop's arrays */
    int16_t slot;      /* OP_STACK: offset from the stack pointer */
} insn;

typedef struct array {
    uint64_t base, span, cur;   /* walks [base, base+span) */
    uint32_t stride;
} array;

#define NLOOPS 256
#define MAX_BODY 48

typedef struct loop {
    uint64_t pc;
    unsigned n;
    insn body[MAX_BODY];
    array arr[3];
    bool kernel;
} loop;

static loop loops[NLOOPS];

static void make_loops(void)
{
    static const uint8_t lens[20] = {1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 7, 7, 8, 11};
    static const uint8_t strides[6] = {4, 8, 8, 8, 16, 64};
    static const uint8_t sizes[6] = {4, 8, 8, 8, 16, 32};
    for (unsigned l = 0; l < NLOOPS; l++) {
        loop *lp = &loops[l];
        lp->kernel = l % 100 == 99;
        lp->pc = (lp->kernel ? 0xffffffff81000000ull : 0x400000ull) + (uint64_t)rnd_below(1u << 20) * 16;
        lp->n = 4 + rnd_below(MAX_BODY - 4 + 1);
        for (unsigned a = 0; a < 3; a++) {
            array *ar = &lp->arr[a];
            ar->stride = strides[rnd_below(6)];
            ar->span = (uint64_t)64 << (10 + rnd_below(11));   /* 64 KiB .. 64 MiB */
            ar->base = (lp->kernel ? 0xffff888000000000ull : 0x7f0000000000ull) + (uint64_t)rnd_below(1u << 16) * 65536;
            ar->cur = ar->base;
        }
        for (unsigned i = 0; i < lp->n; i++) {
            insn *in = &lp->body[i];
            in->len = lens[rnd_below(20)];
            unsigned u = rnd_below(100);
            in->op = u < 62 ? OP_NONE : u < 82 ? OP_STREAM : u < 94 ? OP_STACK : OP_RANDOM;
            in->array = (uint8_t)rnd_below(3);
            in->size = in->op == OP_STREAM ? sizes[rnd_below(6)] : 8;
            in->slot = (int16_t)(8 * (int)rnd_below(32));
            unsigned st = in->op == OP_STREAM ? 30 : in->op == OP_STACK ? 40 : 20;
            in->acc = rnd_below(100) < st ? MM_STORE : MM_LOAD;
        }
    }
}

/* Write the synthetic trace; 0 or -1 (message printed). */
static int write_synthetic(const char *path, uint64_t accesses, int level)
{
    trace_meta meta = {0};
    snprintf(meta.source, sizeof meta.source, "gen:bench");
    snprintf(meta.command, sizeof meta.command, "bench_trace -n %" PRIu64, accesses);
    snprintf(meta.recorder, sizeof meta.recorder, "bench_trace");
    char err[512];
    trace_writer *w = trace_writer_open(path, &meta, 0, level, err, sizeof err);
    if (!w) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    make_loops();
    uint64_t n = 0, pending = 0, sp = 0x7ffffffde000ull;
    unsigned pid = 100;
    int rc = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        trace_rec r_ = {__VA_ARGS__};                                                              \
        if ((rc = trace_write(w, &r_)) != 0)                                                       \
            goto out;                                                                              \
    } while (0)
    while (n < accesses) {
        /* A hot set of 16 loops runs most of the time. */
        loop *lp = &loops[rnd_below(8) ? rnd_below(16) : rnd_below(NLOOPS)];
        unsigned iters = 1 + rnd_below(rnd_below(4) ? 64 : 1000);
        uint8_t priv = lp->kernel ? MM_SUPERVISOR : MM_USER;
        for (unsigned it = 0; it < iters && n < accesses; it++) {
            uint64_t pc = lp->pc;
            for (unsigned i = 0; i < lp->n && n < accesses; i++) {
                const insn *in = &lp->body[i];
                PUT(.kind = TR_ACCESS, .acc = MM_IFETCH, .priv = priv, .size = in->len, .va = pc);
                pc += in->len;
                pending++;
                n++;
                if (in->op == OP_NONE || n >= accesses)
                    continue;
                uint64_t va;
                if (in->op == OP_STREAM) {
                    array *ar = &lp->arr[in->array];
                    va = ar->cur;
                    ar->cur += ar->stride;
                    if (ar->cur >= ar->base + ar->span)
                        ar->cur = ar->base;
                } else if (in->op == OP_STACK) {
                    va = sp + (uint64_t)in->slot;
                } else {
                    va = 0x7f8000000000ull + (rnd() & ((512ull << 20) - 8));
                }
                PUT(.kind = TR_INSTR, .count = pending);
                pending = 0;
                PUT(.kind = TR_ACCESS, .acc = in->acc, .priv = priv, .size = in->size, .va = va);
                n++;
            }
        }
        if (rnd_below(1u << 16) < 16) {   /* ~every 4 Mi records */
            if (rnd() & 1) {
                PUT(.kind = TR_SWITCH, .pid = ++pid);
            } else {
                PUT(.kind = TR_MMAP, .pid = pid, .addr = 0x7f0000000000ull + (rnd() & 0xffffff000ull),
                    .len = 1u << 21, .prot = TR_PROT_READ | TR_PROT_WRITE, .flags = TR_MAP_ANON);
            }
        }
    }
    if (pending)
        PUT(.kind = TR_INSTR, .count = pending);
#undef PUT
out:
    if (rc) {
        fprintf(stderr, "%s\n", trace_writer_error(w));
        trace_writer_abort(w);
        return -1;
    }
    if (trace_writer_close(w, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

/* Decode `path` runs times; prints the best.  0 or -1. */
static int bench_decode(const char *path, int runs)
{
    double best = 1e30;
    uint64_t recs = 0, acc = 0, sum = 0;
    for (int run = 0; run < runs; run++) {
        char err[4400];
        double t0 = now_s();
        trace_reader *r = trace_reader_open(path, err, sizeof err);
        if (!r) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        trace_rec rec;
        int rc;
        recs = acc = 0;
        while ((rc = trace_next(r, &rec)) == 1) {
            recs++;
            acc += rec.kind == TR_ACCESS;
            sum += rec.va ^ rec.count;   /* keep the fields live */
        }
        double t = now_s() - t0;
        if (rc < 0) {
            fprintf(stderr, "%s\n", trace_reader_error(r));
            trace_reader_close(r);
            return -1;
        }
        trace_reader_close(r);
        if (t < best)
            best = t;
    }
    struct stat sb;
    uint64_t size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    printf("%s: %" PRIu64 " bytes, %" PRIu64 " records, %" PRIu64 " accesses, %.3f bytes/access\n", path, size, recs,
           acc, acc ? (double)size / (double)acc : 0.0);
    printf("  decode: %.3f s, %.1f M records/s, %.1f M accesses/s (best of %d; checksum %016" PRIx64 ")\n", best,
           (double)recs / best * 1e-6, (double)acc / best * 1e-6, runs, sum);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t accesses = 100000000;
    int level = 0, runs = 3, opt;
    const char *out = NULL;
    while ((opt = getopt(argc, argv, "n:l:o:r:h")) != -1) {
        switch (opt) {
        case 'n': accesses = strtoull(optarg, NULL, 0); break;
        case 'l': level = atoi(optarg); break;
        case 'o': out = optarg; break;
        case 'r': runs = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        default:
            fprintf(stderr, "usage: %s [-n ACCESSES] [-l LEVEL] [-o PATH] [-r RUNS]\n"
                            "       %s [-r RUNS] TRACE...\n", argv[0], argv[0]);
            return 2;
        }
    }
    if (optind < argc) {
        int status = 0;
        for (int i = optind; i < argc; i++)
            if (bench_decode(argv[i], runs))
                status = 1;
        return status;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/bench_trace.%ld.trace", (long)getpid());
    const char *path = out ? out : tmp;
    double t0 = now_s();
    if (write_synthetic(path, accesses, level))
        return 1;
    double tw = now_s() - t0;
    printf("write: %" PRIu64 " accesses in %.3f s (%.1f M accesses/s)\n", accesses, tw, (double)accesses / tw * 1e-6);
    int rc = bench_decode(path, runs);
    if (!out)
        unlink(path);
    return rc ? 1 : 0;
}
