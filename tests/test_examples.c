/* test_examples.c -- the embedding examples (model/examples) run and print
 * exactly the counts their header comments derive by hand. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "mmusim/version.h"
#include "support/run_prog.h"

static char out[1 << 14], err[1 << 12];

/* embed_core.c: a host core with its own page tables in its own memory,
 * through mmu_create_with_port (the derivation is in its comment). */
Test(examples, embed_core)
{
    int st = prog_capture("\"" MMUSIM_BIN_DIR "/embed_core\"", NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(st, 0, "%s", err);
    cr_expect_str_eq(out,
                     "pass 1: 32 loads, 32 faults, 64 dTLB misses, 39524 cycles\n"
                     "pass 2: 32 loads, 0 faults, 0 dTLB misses, 32 cycles\n"
                     "walks 64, faulting 32; page-table reads 67 (port: 67), A/D updates 35; tables 16 KiB\n"
                     "mmusim " MMUSIM_VERSION_STRING ", preset skylake\n");
    cr_expect_str_eq(err, "");
}

Test(examples, embed_core_bad_preset)
{
    int st = prog_capture("\"" MMUSIM_BIN_DIR "/embed_core\" nosuch", NULL, out, sizeof out, err, sizeof err);
    cr_expect_eq(st, 2);
    cr_expect_str_eq(err, "embed_core: nosuch: cannot open: No such file or directory\n");
}
