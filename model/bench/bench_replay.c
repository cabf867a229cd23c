/* bench_replay.c -- replay speed of `mmusim run` against the decoder's.
 *
 * Usage: bench_replay [TRACE] [RUNS] [KEY=VALUE...]
 *   KEY=VALUE: as `--set` on the default preset, e.g. the page-table-only
 *   mode: memsys.scope=pagetables core.model=off.
 *   With no TRACE (or "-g"), generates a synthetic trace of 50 M accesses
 *   into /tmp/bench_replay.<pid>.trace (removed afterwards) that looks like
 *   a lackey recording of a real program (see generate): an ifetch per
 *   instruction, a TR_INSTR before each data access, and a data stream
 *   that mostly hits the L1 dTLB (stack, streaming arrays), some STLB hits
 *   (a 2 MiB hot heap) and some walks (a 64 MiB cold heap, the arrays'
 *   page crossings).  On the Skylake preset: ~96% L1 dTLB hits (a page
 *   crossing also makes the accesses issued during its walk miss), ~100%
 *   iTLB hits, ~1.5 walks per 1000 accesses.
 *
 * In one process run it measures, RUNS times each (default 2), best run:
 *   decode:  trace_next over every record (what `mmusim trace info` reads);
 *   replay:  replay_run on the default preset, end to end (machine set-up,
 *            reading, replay, report), the report written to a memory
 *            buffer rather than a terminal;
 * and prints accesses per second of both, the ratio replay/decode, and the
 * counters that show the mix: L1 dTLB and iTLB hit rates, STLB hits,
 * walks and page faults.  The product's targets: replay >= 40 M accesses/s
 * in the page-table-only mode and >= 25 M accesses/s with the shared data
 * caches and the core model on (the default preset), and replay time <= 2x
 * decode time. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmusim/cfg.h"
#include "mmusim/replay.h"
#include "mmusim/trace.h"

#include "bench_util.h"

#define GEN_ACCESSES 50000000ull


static void fail(const char *what, const char *err)
{
    fprintf(stderr, "bench_replay: %s: %s\n", what, err);
    exit(1);
}


#define NFUNCS 64
#define TEXT_BASE 0x555555554000ull
#define HEAP_BASE 0x555555a00000ull
#define HOT_HEAP (2ull << 20)     /* 512 pages: beyond the L1 dTLB, within the STLB */
#define COLD_HEAP (64ull << 20)   /* 16 Ki pages: walks */
#define STACK_TOP 0x7ffffffde000ull

typedef struct func {
    uint64_t pc, arr, span, cur;
    unsigned n;
    uint8_t len[64];
} func;

/* What lackey makes of a program: every instruction an ifetch, and before
 * each data access a TR_INSTR with the instructions since the last one.
 * 40% of the instructions access data: 24% the stack, 15.6% a streaming
 * array (64 KiB .. 4 MiB, 8-byte stride), 0.35% a 2 MiB hot heap, 0.05%
 * a 64 MiB cold heap.  Functions of 16..64 instructions of 1..8 bytes; eight
 * hot ones run 7/8 of the time. */
static void generate(const char *path)
{
    char err[4608];
    trace_meta meta = {0};
    snprintf(meta.source, sizeof meta.source, "gen:bench_replay");
    snprintf(meta.command, sizeof meta.command, "bench_replay: lackey-like, %llu accesses", GEN_ACCESSES);
    snprintf(meta.recorder, sizeof meta.recorder, "bench_replay");
    trace_writer *w = trace_writer_open(path, &meta, 0, 0, err, sizeof err);
    if (!w)
        fail("writing the trace", err);
    static func f[NFUNCS];
    for (unsigned i = 0; i < NFUNCS; i++) {
        f[i].pc = TEXT_BASE + (uint64_t)rnd_below(1u << 16) * 16;
        f[i].n = 16 + rnd_below(49);
        for (unsigned k = 0; k < f[i].n; k++)
            f[i].len[k] = (uint8_t)(1 + rnd_below(8));
        f[i].span = 64ull << (10 + rnd_below(7));
        f[i].arr = HEAP_BASE + HOT_HEAP + COLD_HEAP + (uint64_t)i * (4ull << 20);
        f[i].cur = 0;
    }
    uint64_t n = 0, pending = 0;
    int rc = 0;
    while (n < GEN_ACCESSES && rc == 0) {
        func *fn = &f[rnd_below(8) ? rnd_below(8) : rnd_below(NFUNCS)];
        uint64_t pc = fn->pc;
        for (unsigned k = 0; k < fn->n && rc == 0; k++) {
            trace_rec r = {.kind = TR_ACCESS, .acc = MM_IFETCH, .size = fn->len[k], .va = pc};
            rc = trace_write(w, &r);
            pc += fn->len[k];
            pending++;
            n++;
            unsigned u = rnd_below(10000);
            if (u >= 4000 || rc)
                continue;
            trace_rec in = {.kind = TR_INSTR, .count = pending};
            pending = 0;
            trace_rec d = {.kind = TR_ACCESS, .acc = rnd_below(4) ? MM_LOAD : MM_STORE, .size = 8};
            if (u < 2400) {
                d.va = STACK_TOP - 8 * (1 + rnd_below(256));
            } else if (u < 3960) {
                d.va = fn->arr + fn->cur;
                fn->cur = (fn->cur + 8) % fn->span;
            } else if (u < 3995) {
                d.va = HEAP_BASE + (rnd() & (HOT_HEAP - 8));
            } else {
                d.va = HEAP_BASE + HOT_HEAP + (rnd() & (COLD_HEAP - 8));
            }
            if ((rc = trace_write(w, &in)) == 0 && (rc = trace_write(w, &d)) == 0)
                n++;
        }
    }
    if (rc == 0 && pending) {
        trace_rec in = {.kind = TR_INSTR, .count = pending};
        rc = trace_write(w, &in);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_replay: %s\n", trace_writer_error(w));
        trace_writer_abort(w);
        exit(1);
    }
    if (trace_writer_close(w, err, sizeof err) != 0)
        fail("writing the trace", err);
}

/* Decode every record; returns seconds, the counts in *records, *accesses. */
static double decode(const char *path, uint64_t *records, uint64_t *accesses)
{
    char err[4608];
    trace_reader *r = trace_reader_open(path, err, sizeof err);
    if (!r)
        fail("decode", err);
    trace_rec rec;
    uint64_t n = 0, a = 0;
    double t = now_s();
    int rc;
    while ((rc = trace_next(r, &rec)) > 0) {
        n++;
        a += rec.kind == TR_ACCESS;
    }
    t = now_s() - t;
    if (rc < 0)
        fail("decode", trace_reader_error(r));
    trace_reader_close(r);
    *records = n;
    *accesses = a;
    return t;
}

/* The value of "name": N in a JSON report. */
static uint64_t counter(const char *json, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\": ", name);
    const char *p = strstr(json, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

int main(int argc, char **argv)
{
    char gen_path[64] = "";
    const char *path = argc > 1 && strcmp(argv[1], "-g") != 0 ? argv[1] : NULL;
    int runs = argc > 2 ? atoi(argv[2]) : 2;
    if (runs < 1)
        runs = 1;
    if (!path) {
        snprintf(gen_path, sizeof gen_path, "/tmp/bench_replay.%ld.trace", (long)getpid());
        path = gen_path;
        double t = now_s();
        generate(path);
        printf("generated %s: %llu accesses in %.1f s\n", path, GEN_ACCESSES, now_s() - t);
    }

    uint64_t records = 0, accesses = 0;
    double dec = 0;
    for (int i = 0; i < runs; i++) {
        double t = decode(path, &records, &accesses);
        if (i == 0 || t < dec)
            dec = t;
    }

    mm_config cfg;
    char err[4608];
    if (cfg_load(&cfg, CFG_DEFAULT_PRESET, err, sizeof err) != 0)
        fail("config", err);
    for (int i = 3; i < argc; i++)
        if (cfg_set(&cfg, argv[i], err, sizeof err) != 0)
            fail("config", err);
    if (cfg_validate(&cfg, err, sizeof err) != 0)
        fail("config", err);
    const char *traces[1] = {path};
    char *json = NULL;
    double rep = 0;
    for (int i = 0; i < runs; i++) {
        size_t len = 0;
        char *buf = NULL;
        FILE *out = open_memstream(&buf, &len);
        if (!out)
            fail("replay", "open_memstream failed");
        replay_opts o = {.traces = traces, .ntraces = 1, .format = REPORT_JSON, .out = out, .title = "bench_replay"};
        double t = now_s();
        replay_status st = replay_run(&cfg, &o, err, sizeof err);
        t = now_s() - t;
        fclose(out);
        if (st != REPLAY_DONE)
            fail("replay", st == REPLAY_ERROR ? err : "stopped early (out of memory?)");
        if (i == 0 || t < rep)
            rep = t;
        free(json);
        json = buf;
    }

    printf("trace: %s\n", path);
    printf("records: %" PRIu64 ", accesses: %" PRIu64 " (%.2f records per access)\n", records, accesses,
           accesses ? (double)records / (double)accesses : 0.0);
    printf("decode: %7.3f s  %7.1f M accesses/s  %7.1f M records/s\n", dec, (double)accesses / dec / 1e6,
           (double)records / dec / 1e6);
    printf("replay: %7.3f s  %7.1f M accesses/s  (preset %s, memsys.scope %s, core.model %s)\n", rep,
           (double)accesses / rep / 1e6, cfg.name, memsys_scope_name(cfg.memsys.scope),
           core_model_name(cfg.core.model));
    printf("replay/decode: %.2f\n", rep / dec);

    uint64_t dl = counter(json, "dTLB-loads"), ds = counter(json, "dTLB-stores"), il = counter(json, "iTLB-loads");
    uint64_t dm = counter(json, "dTLB-load-misses") + counter(json, "dTLB-store-misses");
    uint64_t im = counter(json, "iTLB-load-misses");
    printf("mix: L1 dTLB hit rate %.3f%% (%" PRIu64 " lookups), L1 iTLB hit rate %.3f%% (%" PRIu64 " lookups)\n",
           dl + ds ? 100.0 * (double)(dl + ds - dm) / (double)(dl + ds) : 0.0, dl + ds,
           il ? 100.0 * (double)(il - im) / (double)il : 0.0, il);
    printf("mix: STLB hits %" PRIu64 ", walks %" PRIu64 ", page faults %" PRIu64 "\n", counter(json, "stlb.hits"),
           counter(json, "walker.walks"), counter(json, "page-faults"));
    uint64_t l1h = counter(json, "memsys.l1d.data.hits"), l1m = counter(json, "memsys.l1d.data.misses");
    if (l1h + l1m)
        printf("mix: L1d data hit rate %.3f%%, L1i misses %" PRIu64 ", cycles %" PRIu64 "\n",
               100.0 * (double)l1h / (double)(l1h + l1m), counter(json, "memsys.l1i.data.misses"),
               counter(json, "cycles"));
    free(json);
    if (gen_path[0])
        unlink(gen_path);
    return 0;
}
