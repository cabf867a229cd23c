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
    cr_assert_eq(run("walk --mode x86-32 --va 0x00403004 --map 0x00403000:0x01234000:4k"), 0, "%s", err);
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
    char want[120];  /* a piece of the one-line message */
} bad_case;

ParameterizedTestParameters(cli, bad_input)
{
    static bad_case cases[] = {
        {"walk --va 0x100000000 --mode x86-32", "out of range for x86-32"},
        {"walk --va 0x0000800000000000", "out of range for x86-64"},
        {"walk --va zz", "not an address"},
        {"walk", "--va ADDR is required"},
        {"walk --va 0x1000 --frobnicate", "walk: unknown option '--frobnicate' (see mmusim walk --help)"},
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
    const char *cmds[] = {"--help", "walk --help", "config --help", "config show --help", "config check -h",
                          "config list --help"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(run(cmds[i]), 0, "%s", cmds[i]);
        cr_assert_not_null(strstr(out, "usage: mmusim"), "%s: %s", cmds[i], out);
    }
}

/* ---- the argument parser (cli_args.h): the same rules in every subcommand ---- */

typedef struct parse_case {
    char args[160];
    char line[160];   /* the whole of stderr */
} parse_case;

ParameterizedTestParameters(cli, parser_rules)
{
    static parse_case cases[] = {
        /* run: the configuration options, flags, -I and --interval */
        {"run --frob", "mmusim: run: unknown option '--frob' (see mmusim run --help)\n"},
        {"run --config", "mmusim: run: --config needs a value\n"},
        {"run -I", "mmusim: run: -I needs a number of accesses\n"},
        {"run --interval", "mmusim: run: --interval needs a number of accesses\n"},
        {"run --config skylake --config=zen2", "mmusim: run: --config given twice\n"},
        {"run --mode la57 --mode=pae", "mmusim: run: --mode given twice\n"},
        {"run -I 5 --interval=6", "mmusim: run: -I given twice\n"},
        {"run -I5 -I 6", "mmusim: run: -I given twice\n"},
        {"run --csv --csv", "mmusim: run: --csv given twice\n"},
        {"run --json=yes", "mmusim: run: --json takes no value\n"},
        {"run -Ix", "mmusim: run: -I x: expected a number of accesses, at least 1\n"},
        {"run --json --csv", "mmusim: run: --json and --csv exclude each other\n"},
        /* "--" ends the options: what follows is a trace, even --help */
        {"run -- --help", "mmusim: --help: offset 0: cannot open: No such file or directory\n"},
        /* walk */
        {"walk --va 0x1000 --va 0x2000", "mmusim: walk: --va given twice\n"},
        {"walk --va", "mmusim: walk: --va needs a value\n"},
        {"walk --va 0x1000 --kind store --kind=load", "mmusim: walk: --kind given twice\n"},
        {"walk --va 0x1000 extra", "mmusim: walk: unexpected argument 'extra' (see mmusim walk --help)\n"},
        {"walk --va 0x1000 --csv --json", "mmusim: walk: --json and --csv exclude each other\n"},
        /* config */
        {"config show skylake zen2",
         "mmusim: config show: unexpected argument 'zen2' (see mmusim config show --help)\n"},
        {"config show skylake --config zen2", "mmusim: config show: --config given twice\n"},
        {"config show --set", "mmusim: config show: --set needs a value\n"},
        {"config list extra", "mmusim: config list: unexpected argument 'extra' (see mmusim config list --help)\n"},
        {"config check --frob", "mmusim: config check: unknown option '--frob' (see mmusim config check --help)\n"},
        /* trace */
        {"trace import --from text --from lackey in -o out", "mmusim: trace import: --from given twice\n"},
        {"trace import --from", "mmusim: trace import: --from needs a value\n"},
        {"trace export --text --text in", "mmusim: trace export: --text given twice\n"},
        {"trace gen zipf -o a -o=b", "mmusim: trace gen: -o given twice\n"},
        {"trace gen zipf --count 5 --count=6 -o a", "mmusim: trace gen: --count given twice\n"},
        {"trace cat a b", "mmusim: trace cat: unexpected argument 'b' (see mmusim trace cat --help)\n"},
        {"trace cat -- --from", "mmusim: --from: offset 0: cannot open: No such file or directory\n"},
        {"trace info --frob x", "mmusim: trace info: unknown option '--frob' (see mmusim trace info --help)\n"},
        {"trace record -o a -o b -- /bin/true", "mmusim: trace record: -o given twice\n"},
        {"trace record -o", "mmusim: trace record: -o needs a value\n"},
        /* sweep */
        {"sweep a.yaml b.yaml", "mmusim: sweep: unexpected argument 'b.yaml' (see mmusim sweep --help)\n"},
        {"sweep a.yaml --jobs 2 -j3", "mmusim: sweep: --jobs given twice\n"},
        {"sweep a.yaml --out", "mmusim: sweep: --out needs a value\n"},
        {"sweep a.yaml --out=x --out y", "mmusim: sweep: --out given twice\n"},
        {"sweep a.yaml --frob", "mmusim: sweep: unknown option '--frob' (see mmusim sweep --help)\n"},
        {"sweep a.yaml --emit", "mmusim: sweep: --emit needs a kind and a folder: --emit slurm DIR\n"},
        {"sweep a.yaml --emit=slurm", "mmusim: sweep: --emit slurm needs a folder: --emit slurm DIR\n"},
        {"sweep collect d --partial --partial", "mmusim: sweep collect: --partial given twice\n"},
        {"sweep collect d e", "mmusim: sweep collect: unexpected argument 'e' (see mmusim sweep collect --help)\n"},
        /* the first problem is the one reported */
        {"run --frob --config", "mmusim: run: unknown option '--frob' (see mmusim run --help)\n"},
    };
    return cr_make_param_array(parse_case, cases, sizeof cases / sizeof cases[0]);
}

/* Exit 2, exactly the one line, nothing on stdout, before anything runs. */
ParameterizedTest(parse_case *c, cli, parser_rules)
{
    cr_assert_eq(run(c->args), 2, "mmusim %s: %s", c->args, err);
    cr_assert_str_eq(err, c->line, "mmusim %s", c->args);
    cr_assert_eq(out[0], 0, "nothing on stdout: %s", out);
}

/* --help anywhere among the options wins over every problem on the line;
 * after "--" it is not an option. */
Test(cli, help_wins_anywhere)
{
    const char *lines[] = {"run --frob --help",         "run --config skylake --config zen2 -h",
                           "walk --va 0x1000 --help",   "config show skylake zen2 --help",
                           "trace gen zipf --count 5 --count 6 -h",
                           "trace record -o x --help -- /bin/true",
                           "sweep a.yaml b.yaml --help", "sweep collect d e --help"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cr_assert_eq(run(lines[i]), 0, "%s: %s", lines[i], err);
        cr_assert_eq(strncmp(out, "usage: mmusim ", 14), 0, "%s: %s", lines[i], out);
        cr_assert_str_eq(err, "", "%s", lines[i]);
    }
}

/* --opt=value is --opt value; -IN is -I N is --interval=N. */
Test(cli, value_spellings_are_equal)
{
    static char first[1 << 16];
    cr_assert_eq(run("walk --va 0x1000 --map 0x1000:0x2000:4k --kind store --json"), 0, "%s", err);
    snprintf(first, sizeof first, "%s", out);
    cr_assert_eq(run("walk --va=0x1000 --map=0x1000:0x2000:4k --kind=store --json"), 0, "%s", err);
    cr_assert_str_eq(out, first);

    const char *forms[] = {"-I 300000", "-I300000", "--interval 300000", "--interval=300000"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char args[256];
        snprintf(args, sizeof args, "run --csv %s " MMUSIM_SOURCE_DIR "/traces/seq-stream.trace.zst", forms[i]);
        cr_assert_eq(run(args), 0, "%s: %s", forms[i], err);
        cr_assert_eq(prog_lines(out), 5, "%s: a header and 4 rows of 1000000 accesses:\n%s", forms[i], out);
        if (i == 0)
            snprintf(first, sizeof first, "%s", out);
        else
            cr_assert_str_eq(out, first, "%s", forms[i]);
    }
}
