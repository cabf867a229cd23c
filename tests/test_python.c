/* test_python.c -- the mmusim Python package (model/python): its unittest
 * tests, one Criterion test per Python TestCase, each run by the
 * interpreter the package was built for (Debian's /usr/bin/python3 unless
 * the build chose another) with the build tree's package on PYTHONPATH.
 *
 * The Python tests hold the expectations (model/python/tests: records read
 * back field by field, run()'s counters against `mmusim run --json`, sweeps
 * against the program's files, errors against its messages); this program
 * runs them and shows their output when one fails.  Without the package
 * (no Python headers or numpy at configure time: model/python/CMakeLists.txt
 * writes build/python/interpreter only when it builds the module) every test
 * is skipped. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/run_prog.h"

typedef struct py_case {
    char name[64];   /* MODULE.CLASS under model/python/tests */
} py_case;

/* Every TestCase of model/python/tests, sorted (test_every_case_is_listed
 * checks this list against the Python files). */
static py_case cases[] = {
    {"test_install.TestInstall"},   {"test_run.TestConfig"},       {"test_run.TestErrors"},
    {"test_run.TestIntervals"},     {"test_run.TestRunMany"},      {"test_run.TestRunMatchesCLI"},
    {"test_sweep.TestLoadSweep"},   {"test_sweep.TestSweep"},      {"test_trace.TestBadFiles"},
    {"test_trace.TestBundledTraces"}, {"test_trace.TestKnownRecords"},
};
#define NCASES (sizeof cases / sizeof cases[0])

static char out[1 << 16], err[1 << 16];

/* The interpreter's path from build/python/interpreter, or skip the test. */
static void interpreter(char *buf, size_t len)
{
    FILE *f = fopen(MMUSIM_BUILD_DIR "/python/interpreter", "r");
    if (!f)
        cr_skip_test("the mmusim Python package was not built (Python headers or numpy missing at configure time)");
    char *ok = fgets(buf, (int)len, f);
    fclose(f);
    cr_assert_not_null(ok);
    buf[strcspn(buf, "\n")] = 0;
}

/* Run `python3 ARGS` from the source tree with the build tree's package
 * and program: its exit status, output in out/err. */
static int python(const char *args)
{
    char py[512], line[2048];
    interpreter(py, sizeof py);
    /* A sanitized build's module needs the sanitizer runtimes loaded first;
     * CPython's own allocations at exit are not leaks of ours. */
    const char *asan = "";
#if defined(__SANITIZE_ADDRESS__)
    asan = "LD_PRELOAD=\"$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)\" "
           "ASAN_OPTIONS=detect_leaks=0 ";
#endif
    snprintf(line, sizeof line,
             "cd '%s' && %sPYTHONPATH='%s/python' MMUSIM_PROGRAM=\"$M\" MMUSIM_BUILD_DIR='%s' "
             "PYTHONDONTWRITEBYTECODE=1 '%s' %s",
             MMUSIM_SOURCE_DIR, asan, MMUSIM_BUILD_DIR, MMUSIM_BUILD_DIR, py, args);
    return prog_capture(line, NULL, out, sizeof out, err, sizeof err);
}

ParameterizedTestParameters(python, unittest)
{
    return cr_make_param_array(py_case, cases, NCASES);
}

/* One TestCase: every test in it passes (unittest exits 0 and says OK). */
ParameterizedTest(py_case *c, python, unittest)
{
    char args[256];
    snprintf(args, sizeof args, "-m unittest -v model.python.tests.%s", c->name);
    int rc = python(args);
    cr_assert_eq(rc, 0, "%s: python3 -m unittest exited with %d\n%s%s", c->name, rc, out, err);
    cr_assert(strstr(err, "\nOK") != NULL, "%s: no OK from unittest\n%s%s", c->name, out, err);
}

/* The list above is every TestCase the Python files define. */
Test(python, every_case_is_listed)
{
    int rc = python("-m model.python.tests.cases");
    cr_assert_eq(rc, 0, "listing the Python test cases failed (%d)\n%s%s", rc, out, err);
    char want[4096] = "";
    for (size_t i = 0; i < NCASES; i++) {
        strcat(want, cases[i].name);
        strcat(want, "\n");
    }
    cr_assert_str_eq(out, want, "the Python tests define these cases (tests/test_python.c lists them):\n%s", out);
}
