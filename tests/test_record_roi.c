/* test_record_roi.c -- `mmusim trace record` with region-of-interest
 * markers, --roi/--skip/--max, and exec followed through a script.
 *
 * The recorded program is written and compiled here: it stores one byte
 * at the start of each page of a 64 KiB array 4 times before its
 * MMUSIM_ROI_BEGIN (VALGRIND_PRINTF("mmusim-roi-begin\n"), as
 * traces/workloads/roi.h defines it), 16 times between the markers and 4
 * times after the end marker, each phase with its own value.  It writes
 * the array's address to the file named by its argument first.  The
 * array's stores are then the 1-byte stores at base + i * 4096: 4, 16 and
 * 4 of them, and nothing else in the program stores there (malloc's own
 * bookkeeping sits below base).  Every test runs valgrind (a few seconds
 * each): the program is labelled slow. */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mmusim/trace.h"

#include "support/run_prog.h"

static char dir[64], prog[128], addr_file[128];
static char out[1 << 16], err[1 << 12];

static const char prog_c[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <valgrind/valgrind.h>\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    volatile char *a = malloc(1 << 16);\n"
    "    FILE *f = argc > 1 ? fopen(argv[1], \"w\") : NULL;\n"
    "    if (!a || !f)\n"
    "        return 1;\n"
    "    fprintf(f, \"%lx\\n\", (unsigned long)a);\n"
    "    fclose(f);\n"
    "    for (int i = 0; i < 4; i++) a[i * 4096] = 1;\n"
    "    VALGRIND_PRINTF(\"mmusim-roi-begin\\n\");\n"
    "    for (int i = 0; i < 16; i++) a[i * 4096] = 2;\n"
    "    VALGRIND_PRINTF(\"mmusim-roi-end\\n\");\n"
    "    for (int i = 0; i < 4; i++) a[i * 4096] = 3;\n"
    "    return 0;\n"
    "}\n";

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mmusim_recroi_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
    char src[128], cmd[512];
    snprintf(src, sizeof src, "%s/prog.c", dir);
    snprintf(prog, sizeof prog, "%s/prog", dir);
    snprintf(addr_file, sizeof addr_file, "%s/addr", dir);
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs(prog_c, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -O1 -o '%s' '%s' 2>/dev/null", prog, src);
    if (system(cmd) != 0)
        cr_skip_test("cannot compile a program with <valgrind/valgrind.h>");
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(record_roi, .init = setup, .fini = teardown);

/* What a recorded trace holds: the array's stores (its 1-byte stores at
 * base + i * 4096) before, inside and after the ROI markers, the markers
 * in order, the instructions, and its first and last records. */
typedef struct summary {
    unsigned stores[3];      /* before the begin marker, between, after the end */
    char markers[8];         /* "be": begin then end */
    uint64_t records, instructions;
    trace_rec first, last;
} summary;

static summary read_trace(const char *path)
{
    char e[512];
    FILE *f = fopen(addr_file, "r");
    cr_assert_not_null(f, "the program wrote no address");
    unsigned long base;
    cr_assert_eq(fscanf(f, "%lx", &base), 1);
    fclose(f);
    trace_reader *r = trace_reader_open(path, e, sizeof e);
    cr_assert_not_null(r, "%s", e);
    summary s = {0};
    unsigned part = 0;
    trace_rec rec;
    int rc;
    while ((rc = trace_next(r, &rec)) == 1) {
        if (!s.records++)
            s.first = rec;
        s.last = rec;
        if (rec.kind == TR_ROI) {
            size_t n = strlen(s.markers);
            cr_assert_lt(n, sizeof s.markers - 1);
            s.markers[n] = rec.roi == TR_ROI_BEGIN ? 'b' : 'e';
            part = rec.roi == TR_ROI_BEGIN ? 1 : 2;
        } else if (rec.kind == TR_INSTR) {
            s.instructions += rec.count;
        } else if (rec.kind == TR_ACCESS && rec.acc == MM_STORE && rec.size == 1 && rec.va >= base &&
                   rec.va < base + (16u << 12) && (rec.va - base) % 4096 == 0) {
            s.stores[part]++;
        }
    }
    cr_assert_eq(rc, 0, "%s", trace_reader_error(r));
    trace_reader_close(r);
    return s;
}

/* Record `args` (options, "--", the command) into $D/t.trace. */
static int record(const char *args)
{
    return prog_capturef(dir, out, sizeof out, err, sizeof err, "\"$M\" trace record -o \"$D/t.trace\" %s", args);
}

static const char *trace_path(void)
{
    static char p[160];
    snprintf(p, sizeof p, "%s/t.trace", dir);
    return p;
}

/* The whole run: the markers where the program put them. */
Test(record_roi, markers_recorded)
{
    char args[512];
    snprintf(args, sizeof args, "-- '%s' '%s'", prog, addr_file);
    cr_assert_eq(record(args), 0, "%s", err);
    cr_expect_str_eq(err, "");
    summary s = read_trace(trace_path());
    cr_expect_str_eq(s.markers, "be");
    cr_expect_eq(s.stores[0], 4);
    cr_expect_eq(s.stores[1], 16);
    cr_expect_eq(s.stores[2], 4);
}

/* --roi: from the begin marker to the end marker, both kept: the first
 * record is the begin marker, the last the end marker, and only the
 * ROI's 16 stores are there. */
Test(record_roi, roi_only)
{
    char args[512];
    snprintf(args, sizeof args, "--roi -- '%s' '%s'", prog, addr_file);
    cr_assert_eq(record(args), 0, "%s", err);
    summary s = read_trace(trace_path());
    cr_expect_str_eq(s.markers, "be");
    cr_expect_eq(s.first.kind, TR_ROI);
    cr_expect_eq(s.first.roi, TR_ROI_BEGIN);
    cr_expect_eq(s.last.kind, TR_ROI);
    cr_expect_eq(s.last.roi, TR_ROI_END);
    cr_expect_eq(s.stores[1], 16);
    cr_expect_eq(s.stores[0] + s.stores[2], 0);
}

/* --threads with --roi: the main thread's switch of CPU 0 to pid 1000
 * comes long before the begin marker and is kept (else the region's
 * accesses would have no process), then the region as without --threads,
 * every record on CPU 0 (one thread). */
Test(record_roi, threads_switch_kept_through_roi)
{
    char args[512];
    snprintf(args, sizeof args, "--threads --roi -- '%s' '%s'", prog, addr_file);
    cr_assert_eq(record(args), 0, "%s", err);
    summary s = read_trace(trace_path());
    cr_expect_eq(s.first.kind, TR_SWITCH);
    cr_expect_eq(s.first.cpu, 0);
    cr_expect_eq(s.first.pid, 1000);
    cr_expect_str_eq(s.markers, "be");
    cr_expect_eq(s.last.kind, TR_ROI);
    cr_expect_eq(s.stores[1], 16);
    cr_expect_eq(s.stores[0] + s.stores[2], 0);
}

/* --skip and --max count instructions and split a count at their ends:
 * --max 1000 keeps exactly 1000 (the program, with the dynamic loader,
 * runs far more), --skip 5K --max 300 exactly 300; no markers (the
 * loader's first 5300 instructions come long before main). */
Test(record_roi, skip_and_max_split_counts)
{
    char args[512];
    snprintf(args, sizeof args, "--max 1000 -- '%s' '%s'", prog, addr_file);
    cr_assert_eq(record(args), 0, "%s", err);
    summary s = read_trace(trace_path());
    cr_expect_eq(s.instructions, 1000);
    cr_expect_str_eq(s.markers, "");
    snprintf(args, sizeof args, "--skip 5K --max 300 -- '%s' '%s'", prog, addr_file);
    cr_assert_eq(record(args), 0, "%s", err);
    s = read_trace(trace_path());
    cr_expect_eq(s.instructions, 300);
    snprintf(args, sizeof args, "--skip 5X -- '%s'", prog);
    cr_expect_eq(record(args), 2);
    cr_expect_str_eq(err, "mmusim: trace record: --skip 5X: expected a count: digits with an optional K, M or G "
                          "suffix (10^3, 10^6, 10^9)\n");
}

/* A script that execs the program: one warning line, and valgrind follows
 * the exec -- the program's markers and ROI stores are in the trace (with
 * --roi, nothing else would be). */
Test(record_roi, script_followed_with_a_warning)
{
    char script[160], want[512], args[512];
    snprintf(script, sizeof script, "%s/run.sh", dir);
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\nexec '%s' '%s'\n", prog, addr_file);
    fclose(f);
    cr_assert_eq(chmod(script, 0755), 0);
    snprintf(args, sizeof args, "--roi -- '%s'", script);
    cr_assert_eq(record(args), 0, "%s", err);
    snprintf(want, sizeof want,
             "mmusim: trace record: warning: %s is a script (#!): the trace holds its interpreter's accesses too "
             "(valgrind follows exec)\n",
             script);
    cr_expect_str_eq(err, want);
    summary s = read_trace(trace_path());
    cr_expect_str_eq(s.markers, "be");
    cr_expect_eq(s.stores[1], 16);
}
