/* scratch.h -- scratch folders and whole files for the tests that run
 * sweeps (test_sweep, test_onepass, test_slurm).
 *
 * Criterion runs tests in parallel, so each test makes its own folder
 * (scratch_make) and removes it (scratch_remove).  Failures to make or
 * remove one are test failures. */
#ifndef MMUSIM_TESTS_SCRATCH_H
#define MMUSIM_TESTS_SCRATCH_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* dir = "/tmp/NAME.XXXXXX", created. */
static inline void scratch_make(char dir[64], const char *name)
{
    snprintf(dir, 64, "/tmp/%s.XXXXXX", name);
    cr_assert_not_null(mkdtemp(dir));
}

static inline void scratch_remove(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static inline void scratch_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* A whole file, malloc'd and NUL-terminated; NULL if it cannot be read. */
static inline char *scratch_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

#endif
