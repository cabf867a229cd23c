/* The mmusim program: exit statuses, one-line errors, and the walk
 * explanation of the worked example. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/run_prog.h"

static char out[1 << 16], err[1 << 12];


/* Run `mmusim ARGS`; returns its exit status, stdout and stderr in out/err. */
static int run(const char *args)
{
    char line[2048];
    snprintf(line, sizeof line, "\"$M\" %s", args);
    return prog_capture(line, NULL, out, sizeof out, err, sizeof err);
}


Test(cli, x86_32_worked_example)
{
    /* x86-32's 32-bit entries reach 4 GiB: the default preset's 16 GiB does not fit */
    cr_assert_eq(run("walk --mode x86-32 --set os.phys_mem_mib=4096 --va 0x00403004 --map 0x00403000:0x01234000:4k"), 0,
                 "%s", err);
    /* directory index 1, table index 3, offset 4 */
    cr_assert_not_null(strstr(out, "pgd  (PD  ) index    1"), "%s", out);
    cr_assert_not_null(strstr(out, "pte  (PT  ) index    3"), "%s", out);
    cr_assert_not_null(strstr(out, "offset 0x4 (12 bits)"), "%s", out);
    cr_assert_not_null(strstr(out, "pa 0x1234004"), "%s", out);
    cr_assert_not_null(strstr(out, "L1 TLB hit"), "%s", out);
}

Test(cli, fault_exits_1_with_error_code)
{
    /* A user store to a supervisor, read-only page: P|W|U = 0x7. */
    cr_assert_eq(run("walk --va 0x400000 --map 0x400000:0x5000:4k:x --kind store"), 1, "%s", err);
    cr_assert_not_null(strstr(out, "error code 0x7"), "%s", out);
    cr_assert_not_null(strstr(out, "CR2 = 0x0000000000400000"), "%s", out);
}

Test(cli, json_has_counters_and_config)
{
    cr_assert_eq(run("walk --va 0x1000 --map 0x1000:0x2000:4k --json"), 0, "%s", err);
    cr_assert_not_null(strstr(out, "\"dTLB-loads\": 1"), "%s", out);
    cr_assert_not_null(strstr(out, "\"dtlb_load_misses.walk_completed\": 1"), "%s", out);
    cr_assert_not_null(strstr(out, "\"config.cpu.mode\": \"x86-64\""), "%s", out);
}

Test(cli, csv_is_two_lines_of_equal_width)
{
    cr_assert_eq(run("walk --va 0x1000 --map 0x1000:0x2000:4k --csv"), 0, "%s", err);
    cr_assert_eq(prog_lines(out), 2);
    unsigned commas[2] = {0, 0}, row = 0;
    bool quoted = false;
    for (const char *p = out; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ',' && !quoted)
            commas[row]++;
        else if (*p == '\n')
            row++;
    }
    cr_assert_eq(commas[0], commas[1]);
}

typedef struct bad_case {
    char args[200];
    char want[80];   /* a piece of the one-line message */
} bad_case;

ParameterizedTestParameters(cli, bad_input)
{
    static bad_case cases[] = {
        {"walk --va 0x100000000 --mode x86-32 --set os.phys_mem_mib=4096", "out of range for x86-32"},
        {"walk --va 0x1000 --mode x86-32", "--set cpu.mode=x86-32: x86-32 page tables address 4096 MiB"},
        {"walk --va 0x0000800000000000", "out of range for x86-64"},
        {"walk --va zz", "not an address"},
        {"walk", "--va ADDR is required"},
        {"walk --va 0x1000 --frobnicate", "unknown argument"},
        {"walk --va 0x1000 --map 0x1000:0x2000", "expected VA:PA:SIZE"},
        {"walk --va 0x1000 --map 0x1000:0x2000:3k", "bad SIZE"},
        {"walk --va 0x1000 --map 0x1001:0x2000:4k", "not aligned"},
        {"walk --va 0x1000 --map 0x1000:0x2000:4m", "page size not supported"},
        {"walk --va 0x1000 --mode vax", "unknown paging mode"},
        {"walk --va 0x1000 --set dtlb.4k.sets=12", "dtlb.4k.sets"},
        {"walk --va 0x1000 --set dtlb.4k.sets=0", "dtlb.4k.sets"},
        {"walk --va 0x1000 --set no.such.key=1", "no.such.key"},
        {"walk --va 0x1000 --set walker.walkers=lots", "walker.walkers"},
        {"walk --va 0x1000 --config /nonexistent.yaml", "/nonexistent.yaml"},
        {"config show nosuchpreset", "nosuchpreset"},
        {"config frob", "unknown subcommand"},
        {"frob", "unknown command"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, cli, bad_input)
{
    cr_assert_eq(run(c->args), 2, "mmusim %s: %s", c->args, err);
    cr_assert_eq(prog_lines(err), 1, "one line expected: %s", err);
    cr_assert_not_null(strstr(err, c->want), "'%s' not in: %s", c->want, err);
    cr_assert_eq(out[0], 0, "nothing on stdout: %s", out);
}

Test(cli, config_file_errors_name_file_and_line)
{
    char path[] = "/tmp/mmusim-cfgXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *yaml = "name: test\ndtlb:\n  latency: 1\n  bogus: 3\n";
    cr_assert_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    char args[256];
    snprintf(args, sizeof args, "config check %s", path);
    cr_assert_eq(run(args), 2);
    char want[128];
    snprintf(want, sizeof want, "%s:4:", path);   /* the unknown key is on line 4 */
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_not_null(strstr(err, "dtlb.bogus"), "%s", err);
    cr_assert_eq(prog_lines(err), 1);
    unlink(path);
}

Test(cli, config_show_round_trips_through_check)
{
    for (const char *const *p = (const char *const[]){"skylake", "golden-cove", "zen2", "cortex-a76", NULL}; *p; p++) {
        char args[256], path[] = "/tmp/mmusim-showXXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        close(fd);
        snprintf(args, sizeof args, "config show %s > %s", *p, path);
        cr_assert_eq(run(args), 0, "%s", err);
        snprintf(args, sizeof args, "config check %s", path);
        cr_assert_eq(run(args), 0, "%s: %s", *p, err);
        cr_assert_not_null(strstr(out, ": ok"));
        unlink(path);
    }
}

Test(cli, help_everywhere)
{
    const char *cmds[] = {"--help", "walk --help", "config --help", "config show --help"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(run(cmds[i]), 0, "%s", cmds[i]);
        cr_assert_not_null(strstr(out, "usage: mmusim"), "%s: %s", cmds[i], out);
    }
}
