/* test_import.c -- the trace importers (lackey, ChampSim, text), the text
 * format, the text export and `trace record` (run as the mmusim program).
 *
 * Inputs are written by hand here (ChampSim records byte by byte, then
 * compressed with liblzma and zlib in the test) and the expected records
 * are derived by hand from the rules in trace_import.h: an instruction's
 * fetch goes out at once, its count joins a pending total that goes out as
 * one TR_INSTR before the next load or store and at the end.  The real
 * lackey tests compile a small loop, run it under valgrind, and check the
 * importer against counts taken from lackey's log here and against the
 * loop's own loads and stores. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, open_memstream, fork, pipe */

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "mmusim/trace.h"
#include "mmusim/trace_import.h"

#ifndef MMUSIM_SOURCE_DIR
#error "MMUSIM_SOURCE_DIR must name the repository root"
#endif

/* ---- fixture: a temporary directory and a collecting sink -------------- */

static char dir[64];
static char path_in[128];   /* dir/in: the input under test */

typedef struct coll {
    trace_rec *v;
    size_t n, cap;
    size_t stop_after;      /* refuse record number stop_after (0 = never) */
    uint64_t kinds[TR_KIND_COUNT], acc[3], instructions;
    bool keep;              /* store the records (else only count them) */
} coll;

static coll got;

static int coll_put(void *ctx, const trace_rec *r)
{
    coll *c = ctx;
    if (c->stop_after && c->n + 1 >= c->stop_after)
        return -1;
    cr_assert_lt(r->kind, TR_KIND_COUNT);
    c->kinds[r->kind]++;
    if (r->kind == TR_ACCESS) {
        cr_assert_lt(r->acc, 3);
        c->acc[r->acc]++;
    }
    if (r->kind == TR_INSTR)
        c->instructions += r->count;
    if (c->keep) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->v = realloc(c->v, c->cap * sizeof *c->v);
            cr_assert_not_null(c->v);
        }
        c->v[c->n] = *r;
    }
    c->n++;
    return 0;
}

static trace_sink sink(void)
{
    return (trace_sink){coll_put, &got};
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mmusim_import_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path_in, sizeof path_in, "%s/in", dir);
    memset(&got, 0, sizeof got);
    got.keep = true;
}

static void teardown(void)
{
    free(got.v);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(lackey, .init = setup, .fini = teardown);
TestSuite(lackey_real, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(record, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(champsim, .init = setup, .fini = teardown);
TestSuite(text, .init = setup, .fini = teardown);
TestSuite(import, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* Write data to dir/in and import it. */
static int import_bytes(import_format fmt, const void *data, size_t len, trace_meta *meta, char *err, size_t errlen)
{
    write_file(path_in, data, len);
    return trace_import(fmt, path_in, sink(), meta, err, errlen);
}

static int import_str(import_format fmt, const char *text, trace_meta *meta, char *err, size_t errlen)
{
    return import_bytes(fmt, text, strlen(text), meta, err, errlen);
}

#define ACC(a, v, s) ((trace_rec){.kind = TR_ACCESS, .acc = (a), .va = (v), .size = (s)})
#define INS(n) ((trace_rec){.kind = TR_INSTR, .count = (n)})

/* Every field equal (stricter than trace_rec_equal: importers leave the
 * fields a kind does not use zero). */
static bool rec_same(const trace_rec *a, const trace_rec *b)
{
    return a->kind == b->kind && a->cpu == b->cpu && a->acc == b->acc && a->priv == b->priv && a->size == b->size &&
           a->va == b->va && a->count == b->count && a->pid == b->pid && a->child == b->child &&
           a->addr == b->addr && a->len == b->len && a->offset == b->offset && a->prot == b->prot &&
           a->flags == b->flags && a->file_id == b->file_id && a->value == b->value && a->noflush == b->noflush && a->roi == b->roi;
}

static const char *show(const trace_rec *r)
{
    static char buf[2][TRACE_TEXT_MAX];
    static int k;
    k ^= 1;
    if (trace_text_format(r, buf[k], sizeof buf[k]) < 0)
        snprintf(buf[k], sizeof buf[k], "(kind %u acc %u priv %u size %u)", r->kind, r->acc, r->priv, r->size);
    return buf[k];
}

static void expect_records(const trace_rec *exp, size_t n)
{
    for (size_t i = 0; i < n && i < got.n; i++)
        cr_assert(rec_same(&got.v[i], &exp[i]), "record %zu is '%s', expected '%s'", i, show(&got.v[i]),
                  show(&exp[i]));
    cr_assert_eq(got.n, n, "%zu records, expected %zu", got.n, n);
}

/* ---- import: names, unreadable inputs ------------------------------------ */

Test(import, format_names)
{
    cr_assert_eq(import_format_by_name("lackey"), IMPORT_LACKEY);
    cr_assert_eq(import_format_by_name("champsim"), IMPORT_CHAMPSIM);
    cr_assert_eq(import_format_by_name("text"), IMPORT_TEXT);
    cr_assert_eq(import_format_by_name("Lackey"), -1);
    cr_assert_eq(import_format_by_name(""), -1);
    for (int f = 0; f < IMPORT_FORMAT_COUNT; f++)
        cr_assert_eq(import_format_by_name(import_format_name(f)), f);
}

/* A missing file and a directory, in every format: -1, "PATH: problem". */
Test(import, unreadable)
{
    for (int f = 0; f < IMPORT_FORMAT_COUNT; f++) {
        char err[256] = "", missing[160], expect[256];
        snprintf(missing, sizeof missing, "%s/missing", dir);
        cr_assert_eq(trace_import(f, missing, sink(), NULL, err, sizeof err), -1);
        snprintf(expect, sizeof expect, "%s: %s", missing, strerror(ENOENT));
        cr_assert_str_eq(err, expect);
        err[0] = '\0';
        cr_assert_eq(trace_import(f, dir, sink(), NULL, err, sizeof err), -1);
        cr_assert(strncmp(err, dir, strlen(dir)) == 0 && strstr(err, strerror(EISDIR)), "%s", err);
    }
    cr_assert_eq(got.n, 0);
}

/* The sink says stop: the import stops at once with -1. */
Test(import, sink_stops)
{
    char err[256] = "";
    got.stop_after = 3;
    cr_assert_eq(import_str(IMPORT_LACKEY, "I  1000,4\n L 2000,8\n L 3000,8\n L 4000,8\n", NULL, err, sizeof err),
                 -1);
    /* I -> fetch (1), L -> count (2), load (3: refused), on line 2. */
    cr_assert_eq(got.n, 2);
    cr_assert(strstr(err, ":2: stopped by the output"), "%s", err);
}

/* ---- lackey --------------------------------------------------------------- */

/* Every line type; valgrind's lines skipped; M is a load then a store;
 * counts coalesce up to the next load or store, and at the end. */
Test(lackey, every_line_type)
{
    const char *log = "==123== Lackey, an example Valgrind tool\n"
                      "==123== Command: ./prog arg\n"
                      "==123== \n"
                      "I  0400d7d4,8\n"
                      " L 0421f360,4\n"
                      "I  0400d7dc,3\n"
                      "I  0400d7df,5\n"
                      " S 7ff000278,8\n"
                      " M 04228fa0,4\n"
                      "I  04001000,2\n"
                      "==123== Counted 1 call to main()\n";
    const trace_rec exp[] = {
        ACC(MM_IFETCH, 0x400d7d4, 8), INS(1), ACC(MM_LOAD, 0x421f360, 4),
        ACC(MM_IFETCH, 0x400d7dc, 3), ACC(MM_IFETCH, 0x400d7df, 5), INS(2), ACC(MM_STORE, 0x7ff000278, 8),
        ACC(MM_LOAD, 0x4228fa0, 4), ACC(MM_STORE, 0x4228fa0, 4),
        ACC(MM_IFETCH, 0x4001000, 2), INS(1),
    };
    trace_meta meta = {0};
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_LACKEY, log, &meta, err, sizeof err), 0, "%s", err);
    expect_records(exp, sizeof exp / sizeof exp[0]);
    cr_assert_str_eq(meta.source, "lackey");
    cr_assert_str_eq(meta.command, "./prog arg");
}

/* ROI markers (a program's VALGRIND_PRINTF("mmusim-roi-begin\n")): a
 * TR_ROI each, after the count of the instructions before it (so the
 * instruction at 0x1000 counts before the begin marker, the one at 0x1004
 * before the end marker).  Trailing blanks and a CR are allowed; any other
 * "**PID**" text, and a marker name with more after it, is a valgrind line
 * and skipped. */
#define ROIREC(w) ((trace_rec){.kind = TR_ROI, .roi = (w)})
Test(lackey, roi_markers)
{
    const char *log = "I  00001000,4\n"
                      "**42** mmusim-roi-begin\n"
                      "I  00001004,4\n"
                      " L 00002000,8\n"
                      "**42** mmusim-roi-beginning\n"
                      "**42** say mmusim-roi-end\n"
                      "I  00001008,4\n"
                      "**42** mmusim-roi-end \r\n"
                      "I  0000100c,4\n";
    const trace_rec exp[] = {
        ACC(MM_IFETCH, 0x1000, 4), INS(1), ROIREC(TR_ROI_BEGIN), ACC(MM_IFETCH, 0x1004, 4), INS(1),
        ACC(MM_LOAD, 0x2000, 8), ACC(MM_IFETCH, 0x1008, 4), INS(1), ROIREC(TR_ROI_END),
        ACC(MM_IFETCH, 0x100c, 4), INS(1),
    };
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_LACKEY, log, NULL, err, sizeof err), 0, "%s", err);
    expect_records(exp, sizeof exp / sizeof exp[0]);
}

/* A threaded log (valgrind --trace-sched=yes): thread N's records on CPU
 * N-1, its first "acquired lock" line a switch of that CPU to pid 1000;
 * the instructions before a thread change are the previous thread's;
 * valgrind's other SCHED lines change nothing. */
#define SW(c) ((trace_rec){.kind = TR_SWITCH, .cpu = (c), .pid = 1000})
#define ACC_ON(c, a, v, s) ((trace_rec){.kind = TR_ACCESS, .cpu = (c), .acc = (a), .va = (v), .size = (s)})
#define INS_ON(c, n) ((trace_rec){.kind = TR_INSTR, .cpu = (c), .count = (n)})
Test(lackey, threads)
{
    const char *log = "==7== Command: ./mt\n"
                      "--7--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))\n"
                      "--7--   SCHED[1]: entering VG_(scheduler)\n"
                      "I  00001000,4\n"
                      " L 00002000,8\n"
                      "I  00001004,4\n"
                      "--7--   SCHED[1]: releasing lock (VG_(scheduler):timeslice) -> VgTs_Yielding\n"
                      "--7--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))\n"
                      "I  00003000,4\n"
                      " M 00004000,8\n"
                      "--7--   SCHED[2]: releasing lock (VG_(client_syscall)[async]) -> VgTs_WaitSys\n"
                      "--7--   SCHED[1]:  acquired lock (VG_(scheduler):timeslice)\n"
                      "I  00001008,4\n"
                      "--7--   SCHED[3]:  acquired lock (thread_wrapper(starting new thread))\n"
                      "--7--   SCHED[2]:  acquired lock (VG_(client_syscall)[async])\n"
                      " S 00004008,8\n";
    const trace_rec exp[] = {
        SW(0), ACC_ON(0, MM_IFETCH, 0x1000, 4), INS_ON(0, 1), ACC_ON(0, MM_LOAD, 0x2000, 8),
        ACC_ON(0, MM_IFETCH, 0x1004, 4), INS_ON(0, 1),
        SW(1), ACC_ON(1, MM_IFETCH, 0x3000, 4), INS_ON(1, 1), ACC_ON(1, MM_LOAD, 0x4000, 8),
        ACC_ON(1, MM_STORE, 0x4000, 8),
        ACC_ON(0, MM_IFETCH, 0x1008, 4), INS_ON(0, 1),
        SW(2),
        ACC_ON(1, MM_STORE, 0x4008, 8),
    };
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_LACKEY, log, NULL, err, sizeof err), 0, "%s", err);
    expect_records(exp, sizeof exp / sizeof exp[0]);
}

/* Thread 256 is CPU 255, the last; 257 has no CPU.  A first scheduler
 * line after accesses leaves them without a thread.  Both: FILE:LINE. */
Test(lackey, threads_refused)
{
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_LACKEY, "--7-- SCHED[256]:  acquired lock (x)\n L 10,1\n", NULL, err, sizeof err),
                 0, "%s", err);
    const trace_rec exp[] = {SW(255), ACC_ON(255, MM_LOAD, 0x10, 1)};
    expect_records(exp, 2);
    cr_assert_eq(import_str(IMPORT_LACKEY, " L 10,1\n--7-- SCHED[257]:  acquired lock (x)\n", NULL, err, sizeof err),
                 -1);
    cr_assert(strstr(err, ":2: thread number above 256"), "%s", err);
    cr_assert_eq(import_str(IMPORT_LACKEY, " L 10,1\n--7-- SCHED[1]:  acquired lock (x)\n", NULL, err, sizeof err),
                 -1);
    cr_assert(strstr(err, ":2: the first scheduler line (--trace-sched=yes) comes after accesses"), "%s", err);
}

/* An access that crosses a page keeps its size; full 64-bit addresses;
 * sizes up to 65535. */
Test(lackey, sizes_kept)
{
    const char *log = " L 0400fffe,8\n S ffffffffffffff00,65535\n M 0,1\n";
    const trace_rec exp[] = {
        ACC(MM_LOAD, 0x400fffe, 8), ACC(MM_STORE, 0xffffffffffffff00, 65535), ACC(MM_LOAD, 0, 1),
        ACC(MM_STORE, 0, 1),
    };
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_LACKEY, log, NULL, err, sizeof err), 0, "%s", err);
    expect_records(exp, sizeof exp / sizeof exp[0]);
}

/* "--PID--" and "**PID**" lines, blank lines, CRLF, no final newline, a
 * valgrind line longer than IMPORT_LINE_MAX. */
Test(lackey, tolerated_lines)
{
    size_t big = IMPORT_LINE_MAX * 3;
    char *log = malloc(big + 256);
    cr_assert_not_null(log);
    size_t n = (size_t)sprintf(log, "--77-- WARNING: something\r\n**77** client message\n\n==77== ");
    memset(log + n, 'x', big);
    n += big;
    n += (size_t)sprintf(log + n, "\nI  00001000,4\r\n\r\n S 00002000,8");
    const trace_rec exp[] = {ACC(MM_IFETCH, 0x1000, 4), INS(1), ACC(MM_STORE, 0x2000, 8)};
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_LACKEY, log, n, NULL, err, sizeof err), 0, "%s", err);
    free(log);
    expect_records(exp, sizeof exp / sizeof exp[0]);
}

/* Lines that straddle the importer's read blocks: many records, from a
 * file and from memory, give the same records. */
Test(lackey, many_lines)
{
    enum { N = 20000 };
    char *log = malloc(N * 32);
    cr_assert_not_null(log);
    size_t n = 0;
    for (unsigned i = 0; i < N; i++)
        n += (size_t)sprintf(log + n, i % 3 ? " L %08x,%u\n" : "I  %08x,%u\n", 0x400000 + 4 * i, 1 + i % 8);
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_LACKEY, log, n, NULL, err, sizeof err), 0, "%s", err);
    size_t nfile = got.n;
    trace_rec *file = got.v;
    memset(&got, 0, sizeof got);
    got.keep = true;
    cr_assert_eq(trace_import_mem(IMPORT_LACKEY, log, n, "mem", sink(), NULL, err, sizeof err), 0, "%s", err);
    free(log);
    cr_assert_eq(got.n, nfile);
    for (size_t i = 0; i < nfile; i++)
        cr_assert(rec_same(&file[i], &got.v[i]), "record %zu", i);
    free(file);
    /* N/3 rounded up fetches, each followed by its own count of 1 (every
     * fetch is followed by a load except the last, flushed at the end). */
    cr_assert_eq(got.acc[MM_IFETCH], (N + 2) / 3);
    cr_assert_eq(got.instructions, (N + 2) / 3);
    cr_assert_eq(got.acc[MM_LOAD], N - (N + 2) / 3);
}

/* Standard input ("-"): messages name "<stdin>". */
Test(lackey, from_stdin)
{
    write_file(path_in, "I  1000,4\nbad\n", 14);
    int fd = open(path_in, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
    char err[256] = "";
    cr_assert_eq(trace_import(IMPORT_LACKEY, "-", sink(), NULL, err, sizeof err), -1);
    cr_assert(strncmp(err, "<stdin>:2: ", 11) == 0, "%s", err);
    cr_assert_eq(got.n, 1);   /* the fetch went out; its count was pending */
}

typedef struct bad_line {
    char text[48];     /* inline: Criterion copies the params to another process */
    size_t len;        /* 0 = strlen(text) */
    unsigned line;
    char why[48];      /* part of the message */
} bad_line;

ParameterizedTestParameters(lackey, malformed)
{
    static bad_line p[] = {
        {"X  0400d7d4,8\n", 0, 1, "expected I, L, S or M"},
        {"I  1000,4\nI  zz,4\n", 0, 2, "bad address"},
        {"I  1000,4\n\n L 2000\n", 0, 3, "expected ','"},
        {" L 2000,0\n", 0, 1, "bad size"},
        {" L 2000,65536\n", 0, 1, "bad size"},
        {" L 2000,\n", 0, 1, "bad size"},
        {" L 2000,4x\n", 0, 1, "unexpected text"},
        {" L 10000000000000000,4\n", 0, 1, "bad address"},
        {" L,4\n", 0, 1, "expected a space"},
        {"IL 1000,4\n", 0, 1, "expected a space"},
        {" L 20\0000,4\n", 10, 1, "bad address"},
        {"= not valgrind\n", 0, 1, "expected I, L, S or M"},
    };
    return cr_make_param_array(bad_line, p, sizeof p / sizeof p[0]);
}

/* -1 with "PATH:LINE: problem". */
ParameterizedTest(bad_line *b, lackey, malformed)
{
    char err[256] = "", prefix[160];
    size_t len = b->len ? b->len : strlen(b->text);
    cr_assert_eq(import_bytes(IMPORT_LACKEY, b->text, len, NULL, err, sizeof err), -1);
    snprintf(prefix, sizeof prefix, "%s:%u: ", path_in, b->line);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'", err, prefix);
    cr_assert(strstr(err, b->why), "'%s' does not say '%s'", err, b->why);
}

Test(lackey, line_too_long)
{
    char line[IMPORT_LINE_MAX + 16];
    memset(line, ' ', sizeof line);
    memcpy(line + sizeof line - 10, "L 1000,4\n", 9);
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_LACKEY, line, sizeof line - 1, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, ":1: line too long"), "%s", err);
}

/* ---- lackey on a real program --------------------------------------------
 * loop.c loads src[] and stores dst[] LOOP_N times each, prints where the
 * arrays are to argv[1] and exits with status argv[2]. */

#define LOOP_N 1000
static const char loop_c[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "volatile long src[64], dst[64];\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    for (long i = 0; i < 1000; i++)\n"
    "        dst[i & 63] = src[i & 63] + i;\n"
    "    if (argc > 1) {\n"
    "        FILE *f = fopen(argv[1], \"w\");\n"
    "        fprintf(f, \"%lx %lx\\n\", (unsigned long)&src[0], (unsigned long)&dst[0]);\n"
    "        fclose(f);\n"
    "    }\n"
    "    return argc > 2 ? atoi(argv[2]) : 0;\n"
    "}\n";

static char loop_bin[128], loop_addrs[128];

/* Compile the C text `code` as dir/NAME.c into dir/NAME (its path in bin)
 * with cc -O1 and `flags`; skip the test without valgrind or cc. */
static void build_program(const char *name, const char *code, size_t len, const char *flags, char *bin,
                          size_t binlen)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    char src[128], cmd[512];
    snprintf(src, sizeof src, "%s/%s.c", dir, name);
    snprintf(bin, binlen, "%s/%s", dir, name);
    write_file(src, code, len);
    snprintf(cmd, sizeof cmd, "cc -O1 %s -o '%s' '%s'", flags, bin, src);
    if (system(cmd) != 0)
        cr_skip_test("cannot compile with cc %s", flags);
}

/* Compile loop.c into dir. */
static void build_loop(void)
{
    build_program("loop", loop_c, sizeof loop_c - 1, "", loop_bin, sizeof loop_bin);
    snprintf(loop_addrs, sizeof loop_addrs, "%s/addrs", dir);
}

/* Accesses of 8 bytes inside [base, base + 512) of kind acc. */
static unsigned in_array(mm_kind acc, uint64_t base)
{
    unsigned n = 0;
    for (size_t i = 0; i < got.n; i++)
        if (got.v[i].kind == TR_ACCESS && got.v[i].acc == acc && got.v[i].va >= base && got.v[i].va < base + 512)
            n += got.v[i].size == 8;
    return n;
}

/* The loop's own loads and stores, exactly: LOOP_N each in its array. */
static void check_loop_accesses(void)
{
    FILE *f = fopen(loop_addrs, "r");
    cr_assert_not_null(f);
    unsigned long src, dst;
    cr_assert_eq(fscanf(f, "%lx %lx", &src, &dst), 2);
    fclose(f);
    cr_assert_eq(in_array(MM_LOAD, src), LOOP_N);
    cr_assert_eq(in_array(MM_STORE, dst), LOOP_N);
    cr_assert_eq(in_array(MM_STORE, src) + in_array(MM_LOAD, dst), 0);
    cr_assert_geq(got.acc[MM_LOAD], LOOP_N);
    cr_assert_geq(got.acc[MM_STORE], LOOP_N);
}

/* The importer's records agree with the line counts of lackey's log. */
Test(lackey_real, loop_counts)
{
    build_loop();
    char log[160], cmd[512];
    snprintf(log, sizeof log, "%s/lackey.log", dir);
    snprintf(cmd, sizeof cmd, "valgrind --tool=lackey --trace-mem=yes --log-file='%s' '%s' '%s'", log, loop_bin,
             loop_addrs);
    cr_assert_eq(system(cmd), 0);

    /* Count the log's lines by their first three characters. */
    uint64_t nI = 0, nL = 0, nS = 0, nM = 0;
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        nI += strncmp(line, "I  ", 3) == 0;
        nL += strncmp(line, " L ", 3) == 0;
        nS += strncmp(line, " S ", 3) == 0;
        nM += strncmp(line, " M ", 3) == 0;
    }
    free(line);
    fclose(f);
    cr_assert_gt(nI, 0);

    trace_meta meta = {0};
    char err[256] = "";
    cr_assert_eq(trace_import(IMPORT_LACKEY, log, sink(), &meta, err, sizeof err), 0, "%s", err);
    cr_assert_eq(got.acc[MM_IFETCH], nI);
    cr_assert_eq(got.instructions, nI);
    cr_assert_eq(got.acc[MM_LOAD], nL + nM);
    cr_assert_eq(got.acc[MM_STORE], nS + nM);
    cr_assert_eq(got.kinds[TR_ACCESS] + got.kinds[TR_INSTR], got.n);
    check_loop_accesses();
    cr_assert(strstr(meta.command, loop_bin), "command '%s'", meta.command);
}

/* ---- trace record --------------------------------------------------------- *
 *
 * `trace record` is the command line's (it forks valgrind); these tests run
 * the mmusim program and read the trace it wrote back into the collecting
 * sink, so the same checks apply as to the importer. */

static trace_meta recorded;   /* the recorded trace's metadata */
static const char *record_opt;   /* an option of trace record before "--", or NULL */

/* Run `mmusim trace record -o dir/rec.trace -- ARGV` with stderr in
 * dir/stderr; its exit status.  On 0, its records go through the sink. */
static int record(char *const argv[])
{
    char out[160], errp[160];
    snprintf(out, sizeof out, "%s/rec.trace", dir);
    snprintf(errp, sizeof errp, "%s/stderr", dir);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        char *args[16] = {"mmusim", "trace", "record", "-o", out};
        size_t n = 5;
        if (record_opt)
            args[n++] = (char *)record_opt;
        args[n++] = "--";
        for (size_t i = 0; argv[i] && n < 15; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        int fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        dup2(fd, STDERR_FILENO);
        execv(MMUSIM_BIN_DIR "/mmusim", args);
        _exit(127);
    }
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws));
    if (WEXITSTATUS(ws) != 0)
        return WEXITSTATUS(ws);
    char err[512];
    trace_reader *r = trace_reader_open(out, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    recorded = *trace_reader_meta(r);
    trace_rec rec;
    int got_one;
    while ((got_one = trace_next(r, &rec)) == 1)
        cr_assert_eq(coll_put(&got, &rec), 0);
    cr_assert_eq(got_one, 0, "%s", trace_reader_error(r));
    trace_reader_close(r);
    return 0;
}

/* What `trace record` said on stderr. */
static char *record_stderr(void)
{
    static char text[4096];
    char errp[160];
    snprintf(errp, sizeof errp, "%s/stderr", dir);
    FILE *f = fopen(errp, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f)
        fclose(f);
    return text;
}

Test(record, bin_true)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    got.keep = false;
    char *argv[] = {"/bin/true", NULL};
    cr_assert_eq(record(argv), 0, "%s", record_stderr());
    cr_assert_str_eq(record_stderr(), "");
    cr_assert_gt(got.acc[MM_IFETCH], 1000);
    cr_assert_gt(got.acc[MM_LOAD], 0);
    cr_assert_gt(got.acc[MM_STORE], 0);
    cr_assert_eq(got.instructions, got.acc[MM_IFETCH]);
    cr_assert_str_eq(recorded.source, "lackey");
    cr_assert_str_eq(recorded.command, "/bin/true");
}

/* The loop's accesses through the pipe; the command's exit status comes
 * back as a note (the trace is complete: mmusim exits 0); the command line
 * is quoted for a shell. */
Test(record, loop_and_status)
{
    build_loop();
    char *argv[] = {loop_bin, loop_addrs, "3", NULL};
    cr_assert_eq(record(argv), 0, "%s", record_stderr());
    check_loop_accesses();
    char expect[512];
    snprintf(expect, sizeof expect, "%s %s 3", loop_bin, loop_addrs);
    cr_assert_str_eq(recorded.command, expect);
    snprintf(expect, sizeof expect, "mmusim: trace record: %s exited with status 3; the trace is complete\n",
             loop_bin);
    cr_assert_str_eq(record_stderr(), expect);
}

/* threads.c: NT threads, thread t storing THREAD_N times into its own
 * array arr[t] (the main thread only allocates them and waits); prints
 * where the arrays are to argv[1].  The workers wait for each other
 * before they store: valgrind numbers threads by slot and gives a dead
 * thread's slot to the next one created, so only threads alive together
 * have distinct numbers (CPUs). */
#define NT 3
#define THREAD_N 20000
static const char threads_c[] =
    "#include <pthread.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "static volatile long *arr[3];\n"
    "static pthread_barrier_t all;\n"
    "static void *work(void *p)\n"
    "{\n"
    "    volatile long *a = arr[(long)p];\n"
    "    pthread_barrier_wait(&all);\n"
    "    for (long k = 0; k < 20000; k++)\n"
    "        a[k & 63] = k;\n"
    "    return NULL;\n"
    "}\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    pthread_t t[3];\n"
    "    pthread_barrier_init(&all, NULL, 3);\n"
    "    for (long i = 0; i < 3; i++)\n"
    "        arr[i] = malloc(64 * sizeof(long));\n"
    "    for (long i = 0; i < 3; i++)\n"
    "        pthread_create(&t[i], NULL, work, (void *)i);\n"
    "    for (long i = 0; i < 3; i++)\n"
    "        pthread_join(t[i], NULL);\n"
    "    FILE *f = fopen(argv[1], \"w\");\n"
    "    for (long i = 0; i < 3; i++)\n"
    "        fprintf(f, \"%lx\\n\", (unsigned long)arr[i]);\n"
    "    fclose(f);\n"
    "    return 0;\n"
    "}\n";

/* `trace record --threads`: valgrind's threads 2..4 (the program's
 * workers, alive together; 1 is main) on CPUs 1..3, one process: each
 * worker's THREAD_N stores to its array come from its own CPU, none from
 * another worker's; one switch to pid 1000 per CPU, CPU 0's first. */
Test(record, threads)
{
    char bin[128], addrs[128];
    build_program("threads", threads_c, sizeof threads_c - 1, "-pthread", bin, sizeof bin);
    snprintf(addrs, sizeof addrs, "%s/addrs", dir);
    record_opt = "--threads";
    char *argv[] = {bin, addrs, NULL};
    int rc = record(argv);
    record_opt = NULL;
    cr_assert_eq(rc, 0, "%s", record_stderr());
    FILE *f = fopen(addrs, "r");
    cr_assert_not_null(f);
    unsigned long base[NT];
    for (int t = 0; t < NT; t++)
        cr_assert_eq(fscanf(f, "%lx", &base[t]), 1);
    fclose(f);
    unsigned stores[NT][NT + 1] = {{0}}, switched = 0;
    for (size_t i = 0; i < got.n; i++) {
        const trace_rec *r = &got.v[i];
        if (r->kind == TR_SWITCH) {
            cr_assert_eq(r->pid, 1000);
            cr_assert(i == 0 || r->cpu != 0, "CPU 0's switch is record %zu, not the first", i);
            cr_assert_leq(r->cpu, NT);
            cr_assert_eq(switched & (1u << r->cpu), 0, "a second switch of CPU %u", r->cpu);
            switched |= 1u << r->cpu;
        }
        for (int t = 0; t < NT; t++)
            if (r->kind == TR_ACCESS && r->acc == MM_STORE && r->va >= base[t] && r->va < base[t] + 512) {
                cr_assert_leq(r->cpu, NT);
                stores[t][r->cpu]++;
            }
    }
    cr_assert_eq(switched, (1u << (NT + 1)) - 1);
    for (int t = 0; t < NT; t++)
        for (int c = 1; c <= NT; c++)
            cr_assert_eq(stores[t][c], c == t + 1 ? THREAD_N : 0, "array %d: %u stores from CPU %d", t,
                         stores[t][c], c);
}

Test(record, quoting)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    got.keep = false;
    char *argv[] = {"/bin/true", "a b", "it's", "", "x=1,y", NULL};
    cr_assert_eq(record(argv), 0, "%s", record_stderr());
    cr_assert_str_eq(recorded.command, "/bin/true 'a b' 'it'\\''s' '' x=1,y");
}

/* A command that does not exist: valgrind fails with no trace (its own
 * complaint comes first on stderr; mmusim's line is the last). */
Test(record, missing_command)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such-program", dir);
    char *argv[] = {missing, NULL};
    cr_assert_eq(record(argv), 2);
    const char *e = record_stderr(), *last = e;
    for (const char *p = e; *p; p++)
        if (*p == '\n' && p[1])
            last = p + 1;
    static const char head[] = "mmusim: trace record: valgrind exited with status ";
    cr_assert_eq(strncmp(last, head, sizeof head - 1), 0, "%s", e);
    cr_assert(strstr(last, " and no trace (see its messages)\n"), "%s", e);
    char out[160];
    snprintf(out, sizeof out, "%s/rec.trace", dir);
    cr_assert_neq(access(out, F_OK), 0, "no trace file");
}

/* No valgrind in PATH: the exec's errno comes back. */
Test(record, no_valgrind)
{
    const char *path = getenv("PATH");
    char *saved = strdup(path ? path : "/usr/bin:/bin");
    cr_assert_eq(setenv("PATH", dir, 1), 0);
    char *argv[] = {"/bin/true", NULL};
    int rc = record(argv);
    setenv("PATH", saved, 1);   /* the teardown runs rm */
    free(saved);
    cr_assert_eq(rc, 2);
    cr_assert_str_eq(record_stderr(), "mmusim: trace record: cannot run valgrind: No such file or directory\n");
}

/* The output fails at the first record (its folder does not exist): no
 * trace, valgrind killed at once, status 1 and the writer's one line. */
Test(record, output_fails)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    char out[160], errp[160], cmd[512], want[512];
    snprintf(out, sizeof out, "%s/none/rec.trace", dir);
    snprintf(errp, sizeof errp, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' trace record -o '%s' -- /bin/true 2>'%s'", MMUSIM_BIN_DIR "/mmusim", out, errp);
    int st = system(cmd);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 1, "%s", record_stderr());
    snprintf(want, sizeof want, "mmusim: %s: offset 0: cannot create %s.tmp: No such file or directory\n", out, out);
    cr_assert_str_eq(record_stderr(), want);
}

/* ---- lackey from a file descriptor ----------------------------------------- */

/* A pipe, as `trace record` reads lackey's log: the same records as from a
 * file; the log's Command line fills an empty meta->command and leaves a
 * set one alone. */
Test(lackey, from_a_pipe)
{
    static const char log[] = "==7== Command: ./prog arg\n"
                              "I  401000,4\n"
                              " L 7ffe1000,8\n";
    const trace_rec exp[] = {ACC(MM_IFETCH, 0x401000, 4), INS(1), ACC(MM_LOAD, 0x7ffe1000, 8)};
    for (int preset = 0; preset < 2; preset++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        cr_assert_eq(write(p[1], log, sizeof log - 1), (ssize_t)(sizeof log - 1));
        close(p[1]);
        trace_meta meta = {0};
        if (preset)
            snprintf(meta.command, sizeof meta.command, "the recorder's");
        char err[256] = "";
        got.n = 0;
        cr_assert_eq(trace_import_fd(IMPORT_LACKEY, p[0], "log", sink(), &meta, err, sizeof err), 0, "%s", err);
        close(p[0]);
        expect_records(exp, sizeof exp / sizeof exp[0]);
        cr_assert_str_eq(meta.source, "lackey");
        cr_assert_str_eq(meta.command, preset ? "the recorder's" : "./prog arg");
    }
}

/* A bad descriptor is an error naming the input, not an empty trace. */
Test(lackey, bad_descriptor)
{
    char err[256] = "";
    cr_assert_eq(trace_import_fd(IMPORT_LACKEY, -1, "log", sink(), NULL, err, sizeof err), -1);
    cr_assert_str_eq(err, "log: Bad file descriptor");
}

/* ---- ChampSim -------------------------------------------------------------- */

#define CS_REC 64

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

/* One input_instr: ip at 0, destination_memory[2] at 16, source_memory[4]
 * at 32; the branch and register bytes get noise the importer ignores. */
static void cs_rec(unsigned char *p, uint64_t ip, const uint64_t srcs[4], const uint64_t dsts[2])
{
    memset(p, 0, CS_REC);
    put64(p, ip);
    for (int i = 8; i < 16; i++)
        p[i] = (unsigned char)(0x11 * i);
    for (int i = 0; i < 2; i++)
        put64(p + 16 + 8 * i, dsts ? dsts[i] : 0);
    for (int i = 0; i < 4; i++)
        put64(p + 32 + 8 * i, srcs ? srcs[i] : 0);
}

/* Four records and the records they make. */
static size_t cs_sample(unsigned char buf[4 * CS_REC])
{
    cs_rec(buf, 0x401000, NULL, NULL);
    cs_rec(buf + 64, 0x401004, (const uint64_t[4]){0x7ffe0010, 0, 0x7ffe0020, 0}, (const uint64_t[2]){0x601000, 0});
    cs_rec(buf + 128, 0x401008, NULL, (const uint64_t[2]){0, 0x601008});
    cs_rec(buf + 192, 0xffffffff81000000, NULL, NULL);
    return 4 * CS_REC;
}

static const trace_rec cs_expect[] = {
    ACC(MM_IFETCH, 0x401000, 4), ACC(MM_IFETCH, 0x401004, 4), INS(2), ACC(MM_LOAD, 0x7ffe0010, 8),
    ACC(MM_LOAD, 0x7ffe0020, 8), ACC(MM_STORE, 0x601000, 8),
    ACC(MM_IFETCH, 0x401008, 4), INS(1), ACC(MM_STORE, 0x601008, 8),
    ACC(MM_IFETCH, 0xffffffff81000000, 4), INS(1),
};

/* xz (one stream, or two concatenated) of data into *out. */
static size_t xz(const void *data, size_t len, unsigned char **out)
{
    size_t cap = lzma_stream_buffer_bound(len), n = 0;
    *out = malloc(cap);
    cr_assert_not_null(*out);
    cr_assert_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, data, len, *out, &n, cap), LZMA_OK);
    return n;
}

static size_t gz(const void *data, size_t len, unsigned char **out)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 32;
    *out = malloc(cap);
    cr_assert_not_null(*out);
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = *out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

typedef enum codec { RAW, XZ, GZ } codec;
static const char *const codec_names[] = {"raw", "xz", "gz"};

/* data in codec c, into a malloc'd *out. */
static size_t encode(codec c, const void *data, size_t len, unsigned char **out)
{
    if (c == XZ)
        return xz(data, len, out);
    if (c == GZ)
        return gz(data, len, out);
    *out = malloc(len ? len : 1);
    cr_assert_not_null(*out);
    memcpy(*out, data, len);
    return len;
}

typedef struct codec_param {
    codec c;
} codec_param;

ParameterizedTestParameters(champsim, sample)
{
    static codec_param p[] = {{RAW}, {XZ}, {GZ}};
    return cr_make_param_array(codec_param, p, sizeof p / sizeof p[0]);
}

/* The same records from raw, xz and gzip, told apart by their first bytes
 * (the file is named "in" in every case). */
ParameterizedTest(codec_param *p, champsim, sample)
{
    unsigned char raw[4 * CS_REC], *data;
    size_t n = encode(p->c, raw, cs_sample(raw), &data);
    trace_meta meta = {0};
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, data, n, &meta, err, sizeof err), 0, "%s: %s", codec_names[p->c],
                 err);
    free(data);
    expect_records(cs_expect, sizeof cs_expect / sizeof cs_expect[0]);
    cr_assert_str_eq(meta.source, "champsim");
}

ParameterizedTestParameters(champsim, truncated_record)
{
    static codec_param p[] = {{RAW}, {XZ}, {GZ}};
    return cr_make_param_array(codec_param, p, sizeof p / sizeof p[0]);
}

/* 2 records and 10 bytes: "PATH: offset 128: truncated record" (offset in
 * the decompressed data), after the two records. */
ParameterizedTest(codec_param *p, champsim, truncated_record)
{
    unsigned char raw[4 * CS_REC], *data;
    cs_sample(raw);
    size_t n = encode(p->c, raw, 2 * CS_REC + 10, &data);
    char err[256] = "", expect[256];
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, data, n, NULL, err, sizeof err), -1);
    free(data);
    snprintf(expect, sizeof expect, "%s: offset 128: truncated record", path_in);
    cr_assert_str_eq(err, expect);
    cr_assert_eq(got.n, 6);
}

ParameterizedTestParameters(champsim, many_records)
{
    static codec_param p[] = {{RAW}, {XZ}, {GZ}};
    return cr_make_param_array(codec_param, p, sizeof p / sizeof p[0]);
}

/* More records than a read block, in several xz streams / gzip members
 * back to back, from a pipe on standard input written in odd-sized
 * pieces. */
ParameterizedTest(codec_param *p, champsim, many_records)
{
    enum { N = 5000, PARTS = 3 };
    unsigned char *raw = malloc(N * CS_REC);
    cr_assert_not_null(raw);
    for (unsigned i = 0; i < N; i++)
        cs_rec(raw + (size_t)i * CS_REC, 0x400000 + 4 * i,
               (const uint64_t[4]){i % 2 ? 0x10000 + 8 * i : 0, 0, 0, i % 5 ? 0 : 0x20000 + i},
               (const uint64_t[2]){0, i % 3 ? 0 : 0x30000 + 8 * i});
    /* Expected: one fetch per record; loads for odd i and i % 5 == 0;
     * stores for i % 3 == 0. */
    uint64_t loads = 0, stores = 0;
    for (unsigned i = 0; i < N; i++) {
        loads += (i % 2 != 0) + (i % 5 == 0);
        stores += i % 3 == 0;
    }

    size_t total = 0, cap = 0;
    unsigned char *data = NULL;
    for (unsigned k = 0; k < PARTS; k++) {
        size_t from = (size_t)N * k / PARTS, to = (size_t)N * (k + 1) / PARTS;
        unsigned char *part;
        size_t n = encode(p->c, raw + from * CS_REC, (to - from) * CS_REC, &part);
        if (total + n > cap) {
            cap = 2 * (total + n);
            data = realloc(data, cap);
            cr_assert_not_null(data);
        }
        memcpy(data + total, part, n);
        total += n;
        free(part);
    }
    free(raw);

    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < total;) {
            size_t k = total - off < 1001 ? total - off : 1001;
            if (write(fds[1], data + off, k) != (ssize_t)k)
                _exit(1);
            off += k;
        }
        _exit(0);
    }
    close(fds[1]);
    cr_assert_eq(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    free(data);
    got.keep = false;
    char err[256] = "";
    int rc = trace_import(IMPORT_CHAMPSIM, "-", sink(), NULL, err, sizeof err);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert_eq(rc, 0, "%s: %s", codec_names[p->c], err);
    cr_assert_eq(got.acc[MM_IFETCH], N);
    cr_assert_eq(got.instructions, N);
    cr_assert_eq(got.acc[MM_LOAD], loads);
    cr_assert_eq(got.acc[MM_STORE], stores);
}

Test(champsim, empty)
{
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, "", 0, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(got.n, 0);
}

/* Shorter than one record, and shorter than the xz magic. */
Test(champsim, tiny)
{
    char err[256] = "", expect[256];
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, "\xfd\x37", 2, NULL, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s: offset 0: truncated record", path_in);
    cr_assert_str_eq(err, expect);
}

/* A changed byte inside the compressed data: an error with an offset,
 * never records from the damaged block beyond what was already decoded. */
ParameterizedTestParameters(champsim, corrupt)
{
    static codec_param p[] = {{XZ}, {GZ}};
    return cr_make_param_array(codec_param, p, sizeof p / sizeof p[0]);
}

ParameterizedTest(codec_param *p, champsim, corrupt)
{
    unsigned char raw[4 * CS_REC], *data;
    size_t n = encode(p->c, raw, cs_sample(raw), &data);
    data[n / 2] ^= 0x55;
    data[n / 2 + 1] ^= 0xaa;
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, data, n, NULL, err, sizeof err), -1);
    free(data);
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s: offset ", path_in);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "%s", err);
    cr_assert(strstr(err, p->c == XZ ? "xz" : "gzip"), "%s", err);
}

ParameterizedTestParameters(champsim, cut_stream)
{
    static codec_param p[] = {{XZ}, {GZ}};
    return cr_make_param_array(codec_param, p, sizeof p / sizeof p[0]);
}

/* The compressed stream cut short: "truncated xz/gzip stream". */
ParameterizedTest(codec_param *p, champsim, cut_stream)
{
    unsigned char raw[4 * CS_REC], *data;
    size_t n = encode(p->c, raw, cs_sample(raw), &data);
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, data, n - 6, NULL, err, sizeof err), -1);
    free(data);
    cr_assert(strstr(err, p->c == XZ ? "truncated xz stream" : "truncated gzip stream"), "%s", err);
}

/* Bytes after the gzip member that are not another member. */
Test(champsim, gz_trailing_garbage)
{
    unsigned char raw[4 * CS_REC], *data;
    size_t n = gz(raw, cs_sample(raw), &data);
    data = realloc(data, n + 3);
    memcpy(data + n, "abc", 3);
    char err[256] = "", expect[256];
    cr_assert_eq(import_bytes(IMPORT_CHAMPSIM, data, n + 3, NULL, err, sizeof err), -1);
    free(data);
    snprintf(expect, sizeof expect, "%s: offset %zu: trailing data after the gzip stream", path_in, n);
    cr_assert_str_eq(err, expect);
}

/* ---- the text format -------------------------------------------------------- */

typedef struct text_case {
    trace_rec r;
    char line[TRACE_TEXT_MAX];   /* what trace_text_format writes */
} text_case;

ParameterizedTestParameters(text, round_trip)
{
    static text_case p[] = {
        {{.kind = TR_ACCESS, .acc = MM_LOAD, .va = 0x7ffe1000, .size = 8}, "L 0x7ffe1000 8"},
        {{.kind = TR_ACCESS, .acc = MM_STORE, .priv = MM_SUPERVISOR, .va = 0xffffc90000001000, .size = 4, .cpu = 1},
         "S.k 0xffffc90000001000 4 @1"},
        {{.kind = TR_ACCESS, .acc = MM_IFETCH, .va = 0, .size = 65535, .cpu = 255}, "I 0x0 65535 @255"},
        {{.kind = TR_ACCESS, .acc = MM_IFETCH, .priv = MM_SUPERVISOR, .va = UINT64_MAX, .size = 1},
         "I.k 0xffffffffffffffff 1"},
        {{.kind = TR_INSTR, .count = 1}, "instr 1"},
        {{.kind = TR_INSTR, .count = UINT64_MAX, .cpu = 3}, "instr 18446744073709551615 @3"},
        {{.kind = TR_INSTR, .count = 0}, "instr 0"},
        {{.kind = TR_SWITCH, .pid = 42, .cpu = 1}, "switch 42 @1"},
        {{.kind = TR_FORK, .pid = 42, .child = 4294967295u}, "fork 42 4294967295"},
        {{.kind = TR_EXEC, .pid = 7}, "exec 7"},
        {{.kind = TR_EXIT, .pid = 0, .cpu = 2}, "exit 0 @2"},
        {{.kind = TR_MMAP, .pid = 42, .addr = 0x7f0000000000, .len = 0x200000, .prot = 3,
          .flags = TR_MAP_ANON | TR_MAP_THP},
         "mmap 42 0x7f0000000000 0x200000 rw- anon,thp"},
        {{.kind = TR_MMAP, .pid = 1, .addr = 0x400000, .len = 0x1000, .prot = 5, .flags = 0, .file_id = 3,
          .offset = 0x2000},
         "mmap 1 0x400000 0x1000 r-x - 3 0x2000"},
        {{.kind = TR_MMAP, .pid = 1, .addr = 0x1000, .len = 0x1000, .prot = 0, .flags = 0, .file_id = 0,
          .offset = 0x10},
         "mmap 1 0x1000 0x1000 --- - 0 0x10"},
        {{.kind = TR_MMAP, .pid = 9, .addr = 0, .len = 0x40000000, .prot = 7, .flags = 0x1f, .cpu = 4},
         "mmap 9 0x0 0x40000000 rwx anon,shared,huge,thp,kernel @4"},
        {{.kind = TR_MMAP, .pid = 9, .addr = 1, .len = 2, .prot = 0x10, .flags = 0x100},
         "mmap 9 0x1 0x2 0x10 0x100"},
        {{.kind = TR_MUNMAP, .pid = 42, .addr = 0x7f0000000000, .len = 0x1000}, "munmap 42 0x7f0000000000 0x1000"},
        {{.kind = TR_MPROTECT, .pid = 42, .addr = 0x7f0000000000, .len = 0x1000, .prot = 1, .cpu = 1},
         "mprotect 42 0x7f0000000000 0x1000 r-- @1"},
        {{.kind = TR_CR3, .value = 0x8000000000005001, .noflush = true, .cpu = 1},
         "cr3 0x8000000000005001 noflush @1"},
        {{.kind = TR_CR3, .value = 0x5000}, "cr3 0x5000"},
        {{.kind = TR_INVLPG, .addr = 0x7ffe1000, .cpu = 7}, "invlpg 0x7ffe1000 @7"},
        {{.kind = TR_ROI, .roi = TR_ROI_BEGIN}, "roi begin"},
        {{.kind = TR_ROI, .roi = TR_ROI_END, .cpu = 3}, "roi end @3"},
    };
    return cr_make_param_array(text_case, p, sizeof p / sizeof p[0]);
}

/* The line trace_text_format writes, and trace_text_parse of it gives the
 * record back, every field. */
ParameterizedTest(text_case *c, text, round_trip)
{
    char buf[TRACE_TEXT_MAX], err[256] = "";
    int n = trace_text_format(&c->r, buf, sizeof buf);
    cr_assert_eq(n, (int)strlen(c->line), "'%s'", buf);
    cr_assert_str_eq(buf, c->line);
    trace_rec back;
    cr_assert_eq(trace_text_parse(buf, &back, err, sizeof err), 1, "'%s': %s", buf, err);
    cr_assert(rec_same(&back, &c->r), "'%s' came back as '%s'", buf, show(&back));
    cr_assert(trace_rec_equal(&back, &c->r));
    /* A buffer one byte short: -1. */
    cr_assert_eq(trace_text_format(&c->r, buf, (size_t)n), -1);
}

/* The parser knows every kind. */
Test(text, every_kind_parses)
{
    /* The kinds, by the spellings the parser knows. */
    static const char *const lines[TR_KIND_COUNT] = {
        "L 1 1", "instr 1", "switch 1", "fork 1 2", "exec 1", "exit 1", "mmap 1 2 3 rwx -", "munmap 1 2 3",
        "mprotect 1 2 3 r--", "cr3 1", "invlpg 1", "roi begin",
    };
    for (int k = 0; k < TR_KIND_COUNT; k++) {
        trace_rec r;
        char err[256] = "";
        cr_assert_eq(trace_text_parse(lines[k], &r, err, sizeof err), 1, "%s: %s", lines[k], err);
        cr_assert_eq(r.kind, k, "%s", lines[k]);
    }
}

typedef struct parse_case {
    char line[96];
    trace_rec r;
} parse_case;

ParameterizedTestParameters(text, other_spellings)
{
    static parse_case p[] = {
        {"L.u 4096 8", {.kind = TR_ACCESS, .acc = MM_LOAD, .va = 0x1000, .size = 8}},
        {"  S.k\t0XFFFF   4  # a comment", {.kind = TR_ACCESS, .acc = MM_STORE, .priv = 1, .va = 0xffff, .size = 4}},
        {"I 0x0000000000000000000400000 0x10\r\n", {.kind = TR_ACCESS, .acc = MM_IFETCH, .va = 0x400000, .size = 16}},
        {"L 1 1#no space before the comment", {.kind = TR_ACCESS, .acc = MM_LOAD, .va = 1, .size = 1}},
        {"mmap 1 4096 8192 5 0x3 7 16",
         {.kind = TR_MMAP, .pid = 1, .addr = 4096, .len = 8192, .prot = 5, .flags = 3, .file_id = 7, .offset = 16}},
        {"mmap 1 0 1 r-x shared,anon", {.kind = TR_MMAP, .pid = 1, .len = 1, .prot = 5, .flags = 3}},
        {"mprotect 2 0 1 0x7", {.kind = TR_MPROTECT, .pid = 2, .len = 1, .prot = 7}},
        {"cr3 4096 noflush @0x3", {.kind = TR_CR3, .value = 4096, .noflush = true, .cpu = 3}},
        {"switch 0x10", {.kind = TR_SWITCH, .pid = 16}},
    };
    return cr_make_param_array(parse_case, p, sizeof p / sizeof p[0]);
}

ParameterizedTest(parse_case *c, text, other_spellings)
{
    trace_rec r;
    char err[256] = "";
    cr_assert_eq(trace_text_parse(c->line, &r, err, sizeof err), 1, "'%s': %s", c->line, err);
    cr_assert(rec_same(&r, &c->r), "'%s' parsed as '%s'", c->line, show(&r));
}

Test(text, blank_and_comment_lines)
{
    static const char *const lines[] = {"", "   ", "\t", "# comment", "   # L 0x1000 8", "\r\n", "\n", "#"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        trace_rec r;
        char err[256] = "";
        cr_assert_eq(trace_text_parse(lines[i], &r, err, sizeof err), 0, "'%s'", lines[i]);
    }
}

typedef struct bad_text {
    char line[96];
    char why[48];
} bad_text;

ParameterizedTestParameters(text, malformed)
{
    static bad_text p[] = {
        {"Q 0x10 8", "unknown record 'Q'"},
        {"load 0x10 8", "unknown record"},
        {"L.x 0x10 8", "unknown record"},
        {"l 0x10 8", "unknown record"},
        {"L 0x10", "'L' takes VA SIZE [@CPU]"},
        {"L 0x10 8 9", "takes"},
        {"L 0x10 0", "bad size '0'"},
        {"L 0x10 65536", "bad size"},
        {"L zz 8", "bad address 'zz'"},
        {"L 0x 8", "bad address"},
        {"L -1 8", "bad address"},
        {"L 0x10000000000000000 8", "bad address"},
        {"L 0x10 8 @256", "bad cpu '256'"},
        {"L 0x10 8 @", "bad cpu"},
        {"L 0x10 @1 8", "takes"},
        {"instr 18446744073709551616", "bad count"},
        {"instr", "'instr' takes COUNT"},
        {"switch 4294967296", "bad pid"},
        {"fork 1", "'fork' takes PID CHILD"},
        {"mmap 1 0 0x1000 rwz -", "bad prot 'rwz'"},
        {"mmap 1 0 0x1000 rw- anon,bogus", "unknown mmap flag 'bogus'"},
        {"mmap 1 0 0x1000 rw- anon,", "unknown mmap flag ''"},
        {"mmap 1 0 0x1000 rw- - 3", "takes"},
        {"mmap 1 0 0x1000 rw- 0x100000000", "bad flags"},
        {"mprotect 1 0 0x1000 rwxr", "bad prot"},
        {"cr3 0x10 flush", "expected 'noflush'"},
        {"exit 1 2 3 4 5 6 7 8 9 10 11", "too many fields"},
        {"@1", "unknown record"},
    };
    return cr_make_param_array(bad_text, p, sizeof p / sizeof p[0]);
}

ParameterizedTest(bad_text *b, text, malformed)
{
    trace_rec r;
    char err[256] = "";
    cr_assert_eq(trace_text_parse(b->line, &r, err, sizeof err), -1, "'%s'", b->line);
    cr_assert(strstr(err, b->why), "'%s': '%s' does not say '%s'", b->line, err, b->why);
}

/* Records trace_text_format refuses. */
Test(text, format_refuses_invalid)
{
    char buf[TRACE_TEXT_MAX];
    const trace_rec bad[] = {
        {.kind = TR_KIND_COUNT},
        {.kind = TR_ACCESS, .acc = 3, .size = 1},
        {.kind = TR_ACCESS, .priv = 2, .size = 1},
        {.kind = TR_ACCESS, .size = 0},
        {.kind = TR_ACCESS, .size = 65536},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(trace_text_format(&bad[i], buf, sizeof buf), -1, "case %zu", i);
}

/* A file: comments, blank lines, whitespace, metadata lines. */
Test(text, import_file)
{
    const char *text = "# mmusim text trace\n"
                       "# source: lackey\n"
                       "# command:   ./a.out  x  \n"
                       "\n"
                       "switch 42\n"
                       "   I 0x401000 4     # fetch\n"
                       "\tinstr 1\r\n"
                       "L 0x7ffe1000 8\n"
                       "S.k 0xffffc90000001000 4 @1";   /* no final newline */
    const trace_rec exp[] = {
        {.kind = TR_SWITCH, .pid = 42},
        ACC(MM_IFETCH, 0x401000, 4),
        INS(1),
        ACC(MM_LOAD, 0x7ffe1000, 8),
        {.kind = TR_ACCESS, .acc = MM_STORE, .priv = MM_SUPERVISOR, .va = 0xffffc90000001000, .size = 4, .cpu = 1},
    };
    trace_meta meta = {0};
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_TEXT, text, &meta, err, sizeof err), 0, "%s", err);
    expect_records(exp, sizeof exp / sizeof exp[0]);
    cr_assert_str_eq(meta.source, "lackey");
    cr_assert_str_eq(meta.command, "./a.out  x");
}

/* Without a "# source:" line (or with an empty one) the source is "text". */
Test(text, import_source_default)
{
    trace_meta meta = {0};
    char err[256] = "";
    cr_assert_eq(import_str(IMPORT_TEXT, "# source:  \n# command:\ninstr 5\n", &meta, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(meta.source, "text");
    cr_assert_str_eq(meta.command, "");
}

/* The line number of a bad line, counting blank and comment lines. */
Test(text, import_error_line)
{
    char err[256] = "", expect[256];
    cr_assert_eq(import_str(IMPORT_TEXT, "# x\n\nL 0x1000 8\nL 0x1000 0\nL 0x2000 8\n", NULL, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s:4: bad size '0' (expected 1..65535)", path_in);
    cr_assert_str_eq(err, expect);
    cr_assert_eq(got.n, 1);
}

Test(text, import_nul_and_long_lines)
{
    char err[256] = "";
    cr_assert_eq(import_bytes(IMPORT_TEXT, "L 1 1\nL 1\0 1\n", 13, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, ":2: NUL byte"), "%s", err);

    char line[IMPORT_LINE_MAX + 2];
    memset(line, '#', sizeof line);
    line[sizeof line - 1] = '\n';
    err[0] = '\0';
    cr_assert_eq(import_bytes(IMPORT_TEXT, line, sizeof line, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, ":1: line longer than"), "%s", err);
    /* One byte shorter is a comment. */
    cr_assert_eq(import_bytes(IMPORT_TEXT, line + 1, sizeof line - 1, NULL, err, sizeof err), 0, "%s", err);
}

/* trace_export_text over a written trace, and the text imported back. */
Test(text, export_and_back)
{
    static const trace_rec recs[] = {
        {.kind = TR_SWITCH, .pid = 42},
        {.kind = TR_MMAP, .pid = 42, .addr = 0x7f0000000000, .len = 0x200000, .prot = 3, .flags = TR_MAP_ANON},
        ACC(MM_IFETCH, 0x401000, 4),
        INS(1),
        ACC(MM_LOAD, 0x7ffe1000, 8),
        {.kind = TR_CR3, .value = 0x5000, .cpu = 1},
        {.kind = TR_INVLPG, .addr = 0x7ffe1000},
        {.kind = TR_EXIT, .pid = 42},
    };
    enum { NR = sizeof recs / sizeof recs[0] };
    char path[160], err[256] = "";
    snprintf(path, sizeof path, "%s/t.trace", dir);
    trace_meta meta = {0};
    snprintf(meta.source, sizeof meta.source, "lackey");
    snprintf(meta.command, sizeof meta.command, "./prog\narg");
    trace_writer *w = trace_writer_open(path, &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (size_t i = 0; i < NR; i++)
        cr_assert_eq(trace_write(w, &recs[i]), 0, "%s", trace_writer_error(w));
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);

    trace_reader *r = trace_reader_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    cr_assert_eq(trace_export_text(r, out, err, sizeof err), 0, "%s", err);
    fclose(out);
    trace_reader_close(r);

    const char *expect = "# mmusim text trace (traces/TEXT_FORMAT.md)\n"
                         "# source: lackey\n"
                         "# command: ./prog arg\n"
                         "switch 42\n"
                         "mmap 42 0x7f0000000000 0x200000 rw- anon\n"
                         "I 0x401000 4\n"
                         "instr 1\n"
                         "L 0x7ffe1000 8\n"
                         "cr3 0x5000 @1\n"
                         "invlpg 0x7ffe1000\n"
                         "exit 42\n";
    cr_assert_str_eq(text, expect);

    trace_meta back = {0};
    cr_assert_eq(import_str(IMPORT_TEXT, text, &back, err, sizeof err), 0, "%s", err);
    free(text);
    expect_records(recs, NR);
    cr_assert_str_eq(back.source, "lackey");
    cr_assert_str_eq(back.command, "./prog arg");
}

/* The example in traces/TEXT_FORMAT.md reads as it says. */
Test(text, doc_example)
{
    FILE *f = fopen(MMUSIM_SOURCE_DIR "/traces/TEXT_FORMAT.md", "r");
    cr_assert_not_null(f);
    char *text = NULL, *line = NULL;
    size_t len = 0, cap = 0;
    FILE *ex = open_memstream(&text, &len);
    cr_assert_not_null(ex);
    bool in_example = false;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "## ", 3) == 0)
            in_example = strcmp(line, "## Example\n") == 0;
        else if (in_example && strncmp(line, "    ", 4) == 0)
            fputs(line + 4, ex);
    }
    free(line);
    fclose(f);
    fclose(ex);
    trace_meta meta = {0};
    char err[256] = "";
    cr_assert_eq(trace_import_mem(IMPORT_TEXT, text, len, "TEXT_FORMAT.md", sink(), &meta, err, sizeof err), 0,
                 "%s", err);
    free(text);
    cr_assert_eq(got.n, 12);
    cr_assert_str_eq(meta.source, "lackey");
    cr_assert_str_eq(meta.command, "./prog");
    const trace_rec file_map = {.kind = TR_MMAP, .pid = 42, .addr = 0x400000, .len = 0x1000, .prot = 5, .file_id = 3};
    cr_assert(rec_same(&got.v[2], &file_map), "%s", show(&got.v[2]));
    const trace_rec kstore = {.kind = TR_ACCESS, .acc = MM_STORE, .priv = MM_SUPERVISOR, .va = 0xffffc90000001000,
                              .size = 4, .cpu = 1};
    cr_assert(rec_same(&got.v[6], &kstore), "%s", show(&got.v[6]));
}
