/* `mmusim trace`: round trips through the built program, pipes, and the
 * one-line errors (exit 2, file and line or offset named, no output file
 * left behind). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/run_prog.h"

static char out[1 << 20], err[1 << 12];
static char dir[64];    /* this test's scratch directory */


/* Run a shell command line in which $M is the mmusim program and $D the
 * scratch directory; its exit status, stdout and stderr in out/err. */
#define sh(...) prog_capturef(dir, out, sizeof out, err, sizeof err, __VA_ARGS__)


static bool exists(const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Every record kind in canonical form (what export writes), and the same
 * records spelled otherwise: decimal numbers, .u suffixes, @0, numeric
 * PROT, comments, tabs, a CRLF line. */
static const char canonical[] =
    "switch 42 @1\n"
    "mmap 42 0x7f0000000000 0x200000 rw- anon,thp\n"
    "I 0x401000 4\n"
    "instr 1\n"
    "L 0x7ffe1000 8\n"
    "S.k 0xffffc90000001000 4 @1\n"
    "cr3 0x8000000000005001 noflush @1\n"
    "fork 42 43\n"
    "exec 43\n"
    "mmap 43 0x7f1000000000 0x1000 r-- shared 7 0x2000\n"
    "mprotect 43 0x7f1000000000 0x1000 rw-\n"
    "munmap 43 0x7f1000000000 0x1000\n"
    "invlpg 0x7f1000000000\n"
    "exit 43\n";

static const char messy[] =
    "# source: handmade\n"
    "\n"
    "switch\t42 @1   # the first process\n"
    "mmap 42 0x7f0000000000 2097152 rw- anon,thp\n"
    "I.u 4198400 4 @0\n"
    "instr 1\r\n"
    "L.u 0x7ffe1000 8\n"
    "S.k 0xffffc90000001000 4 @1\n"
    "cr3 0x8000000000005001 noflush @1\n"
    "fork 42 43\n"
    "exec 43\n"
    "mmap 43 0x7f1000000000 4096 1 shared 7 8192\n"
    "mprotect 43 0x7f1000000000 0x1000 3\n"
    "munmap 43 0x7f1000000000 0x1000\n"
    "invlpg 0x7f1000000000\n"
    "exit 43\n";

/* The fixture: a scratch directory with a generated trace, a truncated copy,
 * a file that is not a trace, and bad text and lackey inputs. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mmusim-trace-cliXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(sh("$M trace gen zipf --footprint 1M --count 20000 -o $D/z.trace.zst"), 0, "%s", err);
    cr_assert_eq(sh("head -c $(( $(wc -c < $D/z.trace.zst) / 2 )) $D/z.trace.zst > $D/cut.trace.zst"), 0);
    write_file("magic.trace.zst", "this is not a trace, just some text\n");
    write_file("bad.txt", "L 0x1000 8\nS 0x2000 8\nS 0x3000 eight\nL 0x4000 8\n");
    write_file("bad.lackey", "I  04001000,4\n X 1234,8\n");
    write_file("canonical.txt", canonical);
    write_file("messy.txt", messy);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(trace_cli, .init = setup, .fini = teardown);

/* The value of "key: value" in out, as a number (-1 if absent). */
static long long info_value(const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\n%s: ", key);
    const char *p = strstr(out, k);
    return p ? atoll(p + strlen(k)) : -1;
}

/* The lines of s that are not comments, in a malloc'd string. */
static char *records_only(const char *s)
{
    char *r = malloc(strlen(s) + 1), *w = r;
    cr_assert_not_null(r);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s + 1) : strlen(s);
        if (s[0] != '#') {
            memcpy(w, s, n);
            w += n;
        }
        s += n;
    }
    *w = 0;
    return r;
}

Test(trace_cli, gen_info_cat_round_trip)
{
    cr_assert_not(exists("z.trace.zst.tmp"), "no temporary file left");
    cr_assert_eq(sh("$M trace info $D/z.trace.zst"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "source: gen:zipf\n"), "%s", out);
    cr_assert_not_null(strstr(out, "command: zipf --footprint 1M --count 20000 --seed 1 "), "%s", out);
    cr_assert_eq(info_value("accesses"), 20000, "%s", out);
    cr_assert_eq(info_value("records.instr"), 20000);
    cr_assert_eq(info_value("instructions"), 60000);
    cr_assert_eq(info_value("events.mmap"), 1);
    cr_assert_eq(info_value("processes"), 1);
    cr_assert_eq(info_value("cpus"), 1);
    long long pages = info_value("footprint.4k");
    cr_assert(pages > 0 && pages <= 256, "a 1 MiB region has at most 256 pages: %lld", pages);
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "%s/z.trace.zst", dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(info_value("file.bytes"), (long long)st.st_size);
    long long records = info_value("records");
    cr_assert_eq(records, 40002, "switch + mmap + 20000 x (access + instr)");

    /* cat prints every record; --from/--count a window of it, from a file
     * (seek index) or from a pipe (skipping). */
    cr_assert_eq(sh("$M trace cat $D/z.trace.zst"), 0, "%s", err);
    cr_assert_eq(prog_lines(out), (unsigned)records);
    cr_assert_eq(strncmp(out, "switch 1001\nmmap 1001 0x55", 26), 0, "%.60s", out);
    char *all = strdup(out);
    const char *p = all;
    for (int i = 0; i < 30001; i++)
        p = strchr(p, '\n') + 1;
    char window[256];
    snprintf(window, sizeof window, "%.*s", (int)(strchr(strchr(strchr(p, '\n') + 1, '\n') + 1, '\n') + 1 - p), p);
    cr_assert_eq(sh("$M trace cat $D/z.trace.zst --from 30001 --count 3"), 0, "%s", err);
    cr_assert_str_eq(out, window);
    cr_assert_eq(sh("$M trace cat - --from=30001 --count=3 < $D/z.trace.zst"), 0, "%s", err);
    cr_assert_str_eq(out, window);
    cr_assert_eq(sh("$M trace cat $D/z.trace.zst --from 40002"), 0, "%s", err);
    cr_assert_str_eq(out, "", "from the end: nothing");
    free(all);
}

Test(trace_cli, gen_is_deterministic)
{
    cr_assert_eq(sh("$M trace gen zipf --footprint 1M --count 20000 -o $D/again.trace.zst && "
                    "cmp $D/z.trace.zst $D/again.trace.zst"),
                 0, "same arguments, same bytes: %s", err);
    cr_assert_neq(sh("$M trace gen zipf --footprint 1M --count 20000 --seed 2 -o $D/other.trace.zst && "
                     "cmp -s $D/z.trace.zst $D/other.trace.zst"),
                  0, "another seed, another trace");
}

Test(trace_cli, text_import_export_is_canonical)
{
    cr_assert_eq(sh("$M trace import --from text $D/canonical.txt -o $D/c.trace.zst"), 0, "%s", err);
    cr_assert_eq(sh("$M trace export --text $D/c.trace.zst"), 0, "%s", err);
    char *rec = records_only(out);
    cr_assert_str_eq(rec, canonical);
    free(rec);

    cr_assert_eq(sh("$M trace import --from text $D/messy.txt -o $D/m.trace.zst"), 0, "%s", err);
    cr_assert_eq(sh("$M trace export --text $D/m.trace.zst"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "# source: handmade\n"), "%s", out);
    rec = records_only(out);
    cr_assert_str_eq(rec, canonical);
    free(rec);

    /* export -o writes the same text to a file, renamed when complete */
    cr_assert_eq(sh("$M trace export --text $D/m.trace.zst -o $D/m.txt && $M trace export --text $D/m.trace.zst | "
                    "cmp - $D/m.txt"),
                 0, "%s", err);
    cr_assert_not(exists("m.txt.tmp"));
}

Test(trace_cli, dash_reads_stdin_and_writes_stdout)
{
    cr_assert_eq(sh("$M trace import --from text - -o - < $D/messy.txt | $M trace export --text -"), 0, "%s", err);
    char *rec = records_only(out);
    cr_assert_str_eq(rec, canonical);
    free(rec);
    cr_assert_eq(sh("$M trace gen gups --count 500 -o - | $M trace info -"), 0, "%s", err);
    cr_assert_eq(info_value("accesses.load"), 250, "%s", out);
    cr_assert_eq(info_value("accesses.store"), 250);
    cr_assert_null(strstr(out, "file.bytes"), "no file size for a pipe");
    cr_assert_eq(sh("$M trace gen gups --count 500 -o $D/g.trace.zst && $M trace gen gups --count 500 -o - | "
                    "cmp - $D/g.trace.zst"),
                 0, "a trace written to stdout is the same as to a file");
}

Test(trace_cli, closed_stdout_is_reported)
{
    /* mmusim ignores SIGPIPE itself (a shell's default would kill it with
     * status 141): the write fails with EPIPE, status 1, one line. */
    cr_assert_eq(sh("($M trace cat $D/z.trace.zst; echo $? > $D/st) | head -n 1 >/dev/null; cat $D/st"), 0);
    cr_assert_str_eq(out, "1\n");
    cr_assert_str_eq(err, "mmusim: writing standard output: Broken pipe\n");
    cr_assert_eq(sh("($M trace export --text $D/z.trace.zst; echo $? > $D/st) | head -n 1 >/dev/null; cat $D/st"), 0);
    cr_assert_str_eq(out, "1\n");
    cr_assert_str_eq(err, "mmusim: writing standard output: Broken pipe\n");
}

typedef struct bad_case {
    char cmd[160];     /* shell command line ($M, $D) */
    char want[64];     /* a piece of the one-line message */
} bad_case;

ParameterizedTestParameters(trace_cli, bad_input)
{
    static bad_case cases[] = {
        {"$M trace info $D/nonexistent.trace.zst", "nonexistent.trace.zst: offset 0:"},
        {"$M trace info $D/cut.trace.zst", "cut.trace.zst: offset"},
        {"$M trace cat $D/cut.trace.zst", "cut.trace.zst: offset"},
        {"$M trace export --text $D/cut.trace.zst -o $D/out.txt", "cut.trace.zst: offset"},
        {"$M trace info - < $D/cut.trace.zst", "offset"},
        {"$M trace info $D/magic.trace.zst", "magic.trace.zst: offset 0:"},
        {"$M trace cat $D/magic.trace.zst", "magic.trace.zst: offset 0:"},
        {"$M trace import --from text $D/bad.txt -o $D/out.trace.zst", "bad.txt:3:"},
        {"$M trace import --from text - -o $D/out.trace.zst < $D/bad.txt", ":3:"},
        {"$M trace import --from lackey $D/bad.lackey -o $D/out.trace.zst", "bad.lackey:2:"},
        {"$M trace import --from text $D/nonexistent.txt -o $D/out.trace.zst", "nonexistent.txt"},
        {"$M trace import --from ascii $D/bad.txt -o $D/out.trace.zst", "--from ascii"},
        {"$M trace import --from text $D/canonical.txt", "-o OUT is required"},
        {"$M trace gen frobnicate -o $D/out.trace.zst", "unknown pattern 'frobnicate'"},
        {"$M trace gen zipf --count abc -o $D/out.trace.zst", "--count abc"},
        {"$M trace gen zipf --count -1 -o $D/out.trace.zst", "--count -1"},
        {"$M trace gen zipf --count", "--count needs a value"},
        {"$M trace gen zipf --footprint 1000 -o $D/out.trace.zst", "--footprint 1000"},
        {"$M trace gen zipf --footprint 3X -o $D/out.trace.zst", "--footprint 3X"},
        {"$M trace gen zipf --zipf-s 0 -o $D/out.trace.zst", "--zipf-s 0"},
        {"$M trace gen fork-write --count 10 -o $D/out.trace.zst", "too small"},
        {"$M trace gen zipf --colour red -o $D/out.trace.zst", "unknown option '--colour'"},
        {"$M trace cat $D/z.trace.zst --from 99999999", "z.trace.zst: offset"},
        {"$M trace cat - --from 99999999 < $D/z.trace.zst", "fewer records"},
        {"$M trace cat $D/z.trace.zst --count 1x", "--count 1x"},
        {"$M trace export $D/z.trace.zst", "--text"},
        {"$M trace info", "expected one trace FILE"},
        {"$M trace frobnicate", "unknown subcommand"},
        {"$M trace", "expected import, export"},
        {"$M trace record -o $D/out.trace.zst", "CMD"},
        {"$M trace record -o - -- /bin/true", "-o - is not possible"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

/* Exit 2, one line "mmusim: ..." naming the problem, nothing on stdout,
 * and no output file or temporary file left. */
ParameterizedTest(bad_case *c, trace_cli, bad_input)
{
    cr_assert_eq(sh("%s", c->cmd), 2, "%s: %s", c->cmd, err);
    cr_assert_eq(prog_lines(err), 1, "%s: one line expected: %s", c->cmd, err);
    cr_assert_eq(strncmp(err, "mmusim: ", 8), 0, "%s", err);
    cr_assert_not_null(strstr(err, c->want), "%s: '%s' not in: %s", c->cmd, c->want, err);
    cr_assert_eq(out[0], 0, "%s: nothing on stdout: %s", c->cmd, out);
    cr_assert_not(exists("out.trace.zst"), "%s left its output", c->cmd);
    cr_assert_not(exists("out.trace.zst.tmp"), "%s left its temporary file", c->cmd);
    cr_assert_not(exists("out.txt"));
    cr_assert_not(exists("out.txt.tmp"));
}

/* A failure after many records were written removes the temporary file,
 * and leaves an existing OUT as it was. */
Test(trace_cli, failed_import_leaves_no_output)
{
    cr_assert_eq(sh("awk 'BEGIN { for (i = 0; i < 300000; i++) printf \"L 0x%%x 8\\n\", i * 64; print \"L oops\" }' "
                    "> $D/long.txt"),
                 0, "%s", err);
    cr_assert_eq(sh("$M trace import --from text $D/long.txt -o $D/out.trace.zst"), 2);
    cr_assert_not_null(strstr(err, "long.txt:300001:"), "%s", err);
    cr_assert_not(exists("out.trace.zst"));
    cr_assert_not(exists("out.trace.zst.tmp"));
    cr_assert_eq(sh("cp $D/z.trace.zst $D/keep.trace.zst && $M trace import --from text $D/bad.txt -o "
                    "$D/keep.trace.zst"),
                 2);
    cr_assert_eq(sh("cmp $D/z.trace.zst $D/keep.trace.zst"), 0, "an existing OUT is untouched");
}

Test(trace_cli, record_runs_a_command_under_lackey)
{
    if (sh("valgrind --version") != 0)
        cr_skip_test("valgrind is not installed");
    cr_assert_eq(sh("$M trace record -o $D/true.trace.zst -- /bin/true"), 0, "%s", err);
    cr_assert_eq(sh("$M trace info $D/true.trace.zst"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "source: lackey\n"), "%s", out);
    cr_assert_not_null(strstr(out, "command: /bin/true\n"), "%s", out);
    cr_assert_gt(info_value("accesses.ifetch"), 1000);
}

Test(trace_cli, help_everywhere)
{
    const char *cmds[] = {"--help", "trace --help", "trace import --help", "trace export --help",
                          "trace record --help", "trace gen --help", "trace info --help", "trace cat -h"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(sh("$M %s", cmds[i]), 0, "%s", cmds[i]);
        cr_assert_not_null(strstr(out, "usage: mmusim"), "%s: %s", cmds[i], out);
    }
    cr_assert_eq(sh("$M --help"), 0);
    cr_assert_not_null(strstr(out, "trace"), "the main help lists trace");
    cr_assert_eq(sh("$M trace gen --help"), 0);
    for (const char *const *p = (const char *const[]){"sequential", "zipf", "fork-write", "vmalloc",
                                                      "--footprint SIZE", "--zipf-s", NULL};
         *p; p++)
        cr_assert_not_null(strstr(out, *p), "gen --help names %s", *p);
}
