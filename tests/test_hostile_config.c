/* test_hostile_config.c -- hostile configurations through the mmusim program.
 *
 * Every case goes to every command that loads a configuration: a file to
 * `config check FILE`, `config show FILE`, `run --config FILE` on a tiny
 * trace and `walk --config FILE`; a --set (alone or over a file) to
 * `config show`, `run` and `walk` (which builds an MMU without the OS model,
 * so the OS model's machine rules do not apply to it: the _MACHINE cases
 * must walk there).  Each must end with exit status 2,
 * nothing on standard output, and exactly the same one line on standard
 * error -- so `config check` runs every check `run` runs, and the line names
 * the file and line of the value at fault.  Line numbers are counted by
 * hand from the texts; locations in the presets are the lines of
 * configs/skylake.yaml (stlb's 2m slot on line 55, os.phys_mem_mib on 129). */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/run_prog.h"

static char out[1 << 16], err[1 << 12];
static char dir[64];   /* this test's scratch directory ($D) */

/* The tiny trace every run replays: 64 accesses, so a config that wrongly
 * passed would run to the end (status 0) instead of failing the case. */
#define TINY "$D/tiny.trace.zst"

static int sh(const char *line)
{
    return prog_capture(line, dir, out, sizeof out, err, sizeof err);
}

static void scratch_init(void)
{
    snprintf(dir, sizeof dir, "/tmp/mmusim-hostile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(sh("\"$M\" trace gen sequential --count 64 --footprint 64K -o " TINY), 0, "%s", err);
}

static void scratch_fini(void)
{
    char line[256];
    snprintf(line, sizeof line, "rm -rf '%s'", dir);
    cr_assert_eq(system(line), 0);
}

typedef enum hostile_kind {
    H_FILE,       /* text is the config file */
    H_DIR,        /* the config path is a directory */
    H_MISSING,    /* the config path does not exist */
    H_SET,        /* --set on the default preset */
    H_FILE_SET,   /* --set over the file */
} hostile_kind;

/* Criterion copies parameters into its workers: text, no pointers. */
typedef struct hostile {
    hostile_kind kind;
    char text[160];
    char set[48];
    char want[240];   /* the message after "mmusim: "; '@' stands for the config's path */
    bool machine;     /* a rule of the OS model's machine (memory the paging mode must address):
                         `walk`, which builds an MMU alone, accepts the config and walks */
} hostile;

#define F(text, want) {H_FILE, text, "", want, false}
#define S(set, want) {H_SET, "", set, want, false}
#define FS(text, set, want) {H_FILE_SET, text, set, want, false}
#define F_MACHINE(text, want) {H_FILE, text, "", want, true}
#define S_MACHINE(set, want) {H_SET, "", set, want, true}
#define FS_MACHINE(text, set, want) {H_FILE_SET, text, set, want, true}

ParameterizedTestParameters(hostile, config)
{
    static hostile cases[] = {
        /* the five */
        F("dtlb: {4k: {sets: 12}}\n", "@:1: dtlb.4k.sets: 12 is not a power of two"),
        F("# pwc\nname: bad-pwc\n\npwc.pd.sets: 3\n", "@:4: pwc.pd.sets: 3 is not a power of two"),
        F("memsys:\n  l2:\n    sets: 1000\n", "@:3: memsys.l2.sets: 1000 is not a power of two"),
        F("dtlb:\n  latency: 1\n  4k:\n    holds: [1g]\n",
          "@:4: dtlb.4k.holds: 1g is also held by dtlb.1g.holds (the default)"),
        F("os:\n  phys_mem_mib: 8\n", "@:2: os.phys_mem_mib: 8 is out of range (20..1048576)"),

        /* every rule between keys (cfg_validate), and os_create's */
        F("stlb:\n  4k:\n    sets: 0\n",
          "@:3: stlb.4k.sets: 0, but the array is present and needs at least one set: stlb.4k.ways is 12 (the default)"),
        F("stlb:\n  2m: {ways: 2}\n", "@:2: stlb.2m.ways: 2 makes the array present, but stlb.2m.holds is empty (the default)"),
        F("itlb:\n  2m:\n    holds: []\n", "@:3: itlb.2m.holds: empty, but the array is present: itlb.2m.ways is 8 (the default)"),
        F("stlb:\n  4k:\n    holds: [4k]\n  2m:\n    ways: 4\n    holds: [2m, 4k]\n",
          "@:6: stlb.2m.holds: 4k is also held by stlb.4k.holds (set at line 3)"),
        F("pwc:\n  pdpt:\n    sets: 0\n",
          "@:3: pwc.pdpt.sets: 0, but the array is present and needs at least one set: pwc.pdpt.ways is 4 (the default)"),
        F("pwc:\n  pml5:\n    sets: 6\n    ways: 2\n", "@:3: pwc.pml5.sets: 6 is not a power of two"),
        F("pwc:\n  design: unified\n  unified: {ways: 4, sets: 0}\n",
          "@:3: pwc.unified.sets: 0, but the array is present and needs at least one set: pwc.unified.ways is 4 "
          "(set at line 3)"),
        F("memsys:\n  llc: {sets: 0}\n",
          "@:2: memsys.llc.sets: 0, but the array is present and needs at least one set: memsys.llc.ways is 16 "
          "(the default)"),
        F("memsys:\n  line_bytes: 48\n", "@:2: memsys.line_bytes: 48 is not a power of two"),
        F_MACHINE("cpu:\n  pa_bits: 33\n", "@:2: cpu.pa_bits: 33 bits address 8192 MiB, less than os.phys_mem_mib 16384 (the default)"),
        F_MACHINE("os:\n  phys_mem_mib: 600000\n",
          "@:2: os.phys_mem_mib: 600000 MiB is more than the 524288 MiB addressable with cpu.pa_bits 39 (the default)"),
        F_MACHINE("cpu:\n  mode: x86-32\n",
          "@:2: cpu.mode: x86-32 page tables address 4096 MiB, less than os.phys_mem_mib 16384 (the default)"),
        F_MACHINE("cpu:\n  mode: x86-32\n  pa_bits: 52\nos:\n  phys_mem_mib: 5000\n",
          "@:5: os.phys_mem_mib: 5000 MiB is more than the 4096 MiB addressable with cpu.mode x86-32 (set at line 2)"),
        F("os:\n  phys_mem_mib: 19\n", "@:2: os.phys_mem_mib: 19 is out of range (20..1048576)"),

        /* YAML syntax: libyaml's problem, at the line it reports */
        F("seed: 1\nname: x\ndtlb: {4k: {sets: 32]}\n",
          "@:3: YAML error: did not find expected ',' or '}' (while parsing a flow mapping at line 3)"),
        F("seed: 1\n\tname: x\n",
          "@:2: YAML error: found a tab character that violates indentation (while scanning a plain scalar at line 1)"),
        F("name: 'abc\n", "@:2: YAML error: found unexpected end of stream (while scanning a quoted scalar at line 1)"),
        F("seed: 1\nname: \xff\n", "@:2: YAML error: invalid leading UTF-8 octet"),
        F("seed: 1\ncpu:\n  cpus: 2\n  pa_bits 40\nname: x\n",
          "@:5: YAML error: could not find expected ':' (while scanning a simple key at line 4)"),
        F("seed: 1\n---\nseed: 2\n", "@:2: only one YAML document is allowed"),
        F("seed: &s 1\nwalker:\n  walkers: *s\n", "@:3: walker.walkers: YAML aliases are not supported"),

        /* wrong types */
        F("cpu:\n  cpus: [1, 2]\n", "@:2: cpu.cpus: expected an unsigned integer, got a sequence"),
        F("cpu: 4\n", "@:1: cpu: expected a mapping of cpu.* keys, got a scalar"),
        F("walker:\n  merge: maybe\n", "@:2: walker.merge: expected a boolean (true/false, yes/no, on/off), got 'maybe'"),
        F("dtlb: {4k: {holds: 8k}}\n", "@:1: dtlb.4k.holds: expected a list of page sizes (4k, 2m, 1g), got '8k'"),
        F("pwc:\n  design: skip\n",
          "@:2: pwc.design: expected a page-walk-cache design (none, split, unified, pte), got 'skip'"),
        F("seed: 1.5\n", "@:1: seed: expected an unsigned integer, got '1.5'"),
        F("- seed: 1\n", "@:1: (top level): expected a mapping of configuration keys, got a sequence"),
        F("just words\n", "@:1: (top level): expected a mapping of configuration keys, got a scalar"),

        /* unknown and duplicate keys */
        F("cpu:\n  cpus: 2\n  bogus: 1\n", "@:3: cpu.bogus: unknown key"),
        F("name: x\ntlb:\n  sets: 4\n", "@:2: tlb: unknown key"),
        F("os:\n  thp: never\n  thp: always\n", "@:3: os.thp: duplicate key (first set on line 2)"),
        F("dtlb.4k.sets: 8\ndtlb:\n  4k: {sets: 16}\n", "@:3: dtlb.4k.sets: duplicate key (first set on line 1)"),
        F("cpu:\n  cpus: 1\ncpu:\n  pa_bits: 40\n", "@:3: cpu: duplicate key (first set on line 1)"),

        /* huge and negative numbers */
        F("seed: 18446744073709551616\n",
          "@:1: seed: expected an unsigned integer up to 18446744073709551615, got '18446744073709551616'"),
        F("dtlb:\n  4k:\n    sets: 99999999999999999999999\n",
          "@:3: dtlb.4k.sets: expected an unsigned integer up to 4294967295, got '99999999999999999999999'"),
        F("dtlb:\n  4k:\n    sets: 4294967295\n", "@:3: dtlb.4k.sets: 4294967295 is not a power of two"),
        F("os:\n  phys_mem_mib: 1048577\n", "@:2: os.phys_mem_mib: 1048577 is out of range (20..1048576)"),
        F("cpu:\n  cpus: -1\n", "@:2: cpu.cpus: expected an unsigned integer, got '-1'"),
        F("frontend: {issue_width: -3}\n", "@:1: frontend.issue_width: expected an unsigned integer, got '-3'"),

        /* nothing in it */
        F("", "@: no configuration keys (the file is empty or only comments)"),
        F("# to do\n\n", "@: no configuration keys (the file is empty or only comments)"),

        /* not a file */
        {H_DIR, "", "", "@: cannot read: Is a directory", false},
        {H_MISSING, "", "", "@: cannot open: No such file or directory", false},

        /* --set: bad keys and values, and rules broken by a --set over a
         * preset or a file */
        S("no.such.key=1", "--set no.such.key=1: unknown key"),
        S("dtlb.4k=1", "--set dtlb.4k=1: unknown key"),
        S("dtlb.4k.sets", "--set dtlb.4k.sets: expected KEY=VALUE"),
        S("dtlb.4k.sets=lots", "--set dtlb.4k.sets=lots: expected an unsigned integer, got 'lots'"),
        S("dtlb.4k.sets=-4", "--set dtlb.4k.sets=-4: expected an unsigned integer, got '-4'"),
        S("os.phys_mem_mib=8", "--set os.phys_mem_mib=8: 8 is out of range (20..1048576)"),
        S("dtlb.4k.sets=12", "--set dtlb.4k.sets=12: 12 is not a power of two"),
        S("stlb.2m.ways=4",
          "--set stlb.2m.ways=4: 4 makes the array present, but stlb.2m.holds is empty (set at configs/skylake.yaml:55)"),
        S_MACHINE("cpu.mode=x86-32",
          "--set cpu.mode=x86-32: x86-32 page tables address 4096 MiB, less than os.phys_mem_mib 16384 "
          "(set at configs/skylake.yaml:129)"),
        FS("dtlb:\n  1g:\n    holds: [1g]\n", "dtlb.4k.holds=[1g]",
           "--set dtlb.4k.holds=[1g]: 1g is also held by dtlb.1g.holds (set at @:3)"),
        FS_MACHINE("os:\n  phys_mem_mib: 8192\n", "cpu.pa_bits=32",
           "--set cpu.pa_bits=32: 32 bits address 4096 MiB, less than os.phys_mem_mib 8192 (set at @:2)"),
        FS("name: ok\n", "walker.walkers=0", "--set walker.walkers=0: 0 is out of range (1..64)"),
        /* the shared data caches and the core model (issue 12) */
        F("memsys:\n  scope: everything\n",
          "@:2: memsys.scope: expected a memory-system scope (pagetables, all), got 'everything'"),
        F("memsys:\n  l1i: {sets: 48}\n", "@:2: memsys.l1i.sets: 48 is not a power of two"),
        F("core:\n  cpi_milli: 0\n", "@:2: core.cpi_milli: 0 is out of range (1..100000)"),
        S("core.model=fast", "--set core.model=fast: expected a core model (off, first-order), got 'fast'"),
        FS("memsys:\n  l1i: {ways: 0, sets: 6}\n", "memsys.l1i.ways=2",
           "--set memsys.l1i.ways=2: 2 makes the array present, but memsys.l1i.sets is 6, not a power of two "
           "(set at @:2)"),
    };
    return cr_make_param_array(hostile, cases, sizeof cases / sizeof cases[0]);
}

/* The line on stderr: "mmusim: ", want with every '@' replaced by path,
 * a newline. */
static void expand(char *dst, size_t n, const char *want, const char *path)
{
    size_t used = (size_t)snprintf(dst, n, "mmusim: "), plen = strlen(path);
    for (const char *p = want; *p; p++) {
        size_t len = *p == '@' ? plen : 1;
        cr_assert_lt(used + len + 1, n);
        memcpy(dst + used, *p == '@' ? path : p, len);
        used += len;
    }
    cr_assert_lt(used + 1, n);
    memcpy(dst + used, "\n", 2);
}

ParameterizedTest(hostile *h, hostile, config, .init = scratch_init, .fini = scratch_fini)
{
    char path[128], want[512], line[1024];
    snprintf(path, sizeof path, "%s/%s", dir, h->kind == H_DIR ? "dir.yaml" : "c.yaml");
    if (h->kind == H_FILE || h->kind == H_FILE_SET) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(h->text, f);
        cr_assert_eq(fclose(f), 0);
    } else if (h->kind == H_DIR) {
        cr_assert_eq(mkdir(path, 0755), 0);
    }
    expand(want, sizeof want, h->want, path);

    /* the commands, with $P the config's path and $S the --set */
    static const char *const with_file[] = {
        "\"$M\" config check \"$P\"",
        "\"$M\" config show \"$P\"",
        "\"$M\" run --config \"$P\" " TINY,
        "\"$M\" walk --config \"$P\" --va 0x1000",
    };
    static const char *const with_set[] = {
        "\"$M\" config show --set \"$S\"",
        "\"$M\" run --set \"$S\" " TINY,
        "\"$M\" walk --set \"$S\" --va 0x1000",
    };
    static const char *const with_file_set[] = {
        "\"$M\" config show \"$P\" --set \"$S\"",
        "\"$M\" run --config \"$P\" --set \"$S\" " TINY,
        "\"$M\" walk --config \"$P\" --set \"$S\" --va 0x1000",
    };
    const char *const *cmds = h->kind == H_SET ? with_set : h->kind == H_FILE_SET ? with_file_set : with_file;
    size_t ncmds = h->kind == H_SET || h->kind == H_FILE_SET ? 3 : 4;
    for (size_t i = 0; i < ncmds; i++) {
        snprintf(line, sizeof line, "P='%s'; S='%s'; %s", path, h->set, cmds[i]);
        if (h->machine && strstr(cmds[i], " walk ")) {
            /* nothing maps 0x1000: the walk faults, status 1, and says so */
            cr_assert_eq(sh(line), 1, "%s: status, stderr: %s", cmds[i], err);
            cr_assert_not_null(strstr(out, "PAGE FAULT"), "%s: %s", cmds[i], out);
            cr_assert_str_eq(err, "");
            continue;
        }
        cr_assert_eq(sh(line), 2, "%s: status, stderr: %s", cmds[i], err);
        cr_assert_str_eq(err, want, "%s\n got: %s\nwant: %s", cmds[i], err, want);
        cr_assert_eq(prog_lines(err), 1);
        cr_assert_str_eq(out, "", "%s: nothing on stdout", cmds[i]);
    }
}

/* Controls: the tiny trace runs, and the same commands accept a good
 * file, so the cases above fail on their configs. */
Test(hostile, good_config_passes_everywhere, .init = scratch_init, .fini = scratch_fini)
{
    char path[128], line[512], ok[160];
    snprintf(path, sizeof path, "%s/good.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("dtlb:\n  4k: {sets: 32}\nos:\n  phys_mem_mib: 20\n", f);   /* the least memory */
    cr_assert_eq(fclose(f), 0);
    snprintf(line, sizeof line, "\"$M\" config check '%s'", path);
    cr_assert_eq(sh(line), 0, "%s", err);
    snprintf(ok, sizeof ok, "%s: ok\n", path);
    cr_assert_str_eq(out, ok);
    snprintf(line, sizeof line, "\"$M\" run --config '%s' " TINY, path);
    cr_assert_eq(sh(line), 0, "%s", err);
    cr_assert_not_null(strstr(out, "dTLB-loads"), "%s", out);
    snprintf(line, sizeof line, "\"$M\" walk --config '%s' --va 0x1000 --map 0x1000:0x2000:4k", path);
    cr_assert_eq(sh(line), 0, "%s", err);
    cr_assert_eq(sh("\"$M\" run --mode x86-32 --set os.phys_mem_mib=4096 " TINY), 0, "%s", err);
}
