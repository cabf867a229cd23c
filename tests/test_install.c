/* test_install.c -- what `cmake --install` leaves, and that a program finds
 * and links the library with pkg-config alone.
 *
 * The build is installed into a scratch prefix.  The public headers are
 * there (the umbrella mmusim/mmusim.h and the generated version.h), the
 * internal ones are not; both libraries are there; and a C program and a
 * C++ program built with nothing but `pkg-config --cflags --libs mmusim`
 * (shared library) or `--static` compile, link and run. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/version.h"
#include "support/run_prog.h"
#include "support/scratch.h"

static char dir[64];
static char out[1 << 14], err[1 << 14];

static int sh(const char *line)
{
    return prog_capture(line, dir, out, sizeof out, err, sizeof err);
}

static void install(void)
{
    scratch_make(dir, "mmusim-install");
    char line[1024];
    snprintf(line, sizeof line, "cmake --install '%s' --prefix \"$D\" >/dev/null", MMUSIM_BUILD_DIR);
    cr_assert_eq(sh(line), 0, "%s", err);
}

static void uninstall(void)
{
    scratch_remove(dir);
}

TestSuite(install, .init = install, .fini = uninstall);

static bool exists(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

Test(install, public_headers_only)
{
    static const char *const pub[] = {"mmusim.h", "version.h", "types.h", "cfg.h", "mmu.h", "walker.h", "os.h",
                                      "trace.h", "replay.h", "sweep.h"};
    static const char *const internal[] = {"repl.h", "sa_array.h", "vma.h", "frames.h", "pageset.h", "pairmap.h",
                                           "os_internal.h", "version.h.in"};
    char rel[128];
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        snprintf(rel, sizeof rel, "include/mmusim/%s", pub[i]);
        cr_expect(exists(rel), "%s is not installed", rel);
    }
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++) {
        snprintf(rel, sizeof rel, "include/mmusim/%s", internal[i]);
        cr_expect(!exists(rel), "%s is installed", rel);
    }
    cr_expect(exists(MMUSIM_INSTALL_LIBDIR "/libmmusim.a"));
    cr_expect(exists(MMUSIM_INSTALL_LIBDIR "/libmmusim.so"));
    cr_expect(exists(MMUSIM_INSTALL_LIBDIR "/pkgconfig/mmusim.pc"));
}

#if !defined(__SANITIZE_ADDRESS__)
/* Build `src` (a file in $D) with COMPILER and pkg-config's flags (FLAGS:
 * "" or "--static"), run it, and expect it to print the library's version. */
static void build_and_run(const char *compiler, const char *src, const char *flags)
{
    char line[2048];
    snprintf(line, sizeof line,
             "export PKG_CONFIG_PATH=\"$D/%s/pkgconfig\"; %s -o \"$D/prog\" \"$D/%s\" "
             "$(pkg-config --cflags mmusim) $(pkg-config %s --libs mmusim) && "
             "LD_LIBRARY_PATH=\"$D/%s\" \"$D/prog\"",
             MMUSIM_INSTALL_LIBDIR, compiler, src, flags, MMUSIM_INSTALL_LIBDIR);
    cr_assert_eq(sh(line), 0, "%s %s %s: %s", compiler, src, flags, err);
    char want[64];
    snprintf(want, sizeof want, "mmusim %s\n", MMUSIM_VERSION_STRING);
    cr_expect_str_eq(out, want);
}

/* A program using three layers: the version, a preset, and a walk of a
 * table it builds (the translation it prints is checked by the caller). */
static const char program[] =
    "#include <mmusim/mmusim.h>\n"
    "#include <stdio.h>\n"
    "int main(void)\n"
    "{\n"
    "    mm_config c;\n"
    "    char err[CFG_ERR_MAX];\n"
    "    if (cfg_load(&c, \"skylake\", err, sizeof err) || cfg_validate(&c, err, sizeof err)) {\n"
    "        fprintf(stderr, \"%s\\n\", err);\n"
    "        return 1;\n"
    "    }\n"
    "    os *o = os_create(&c, err, sizeof err);\n"
    "    if (!o) {\n"
    "        fprintf(stderr, \"%s\\n\", err);\n"
    "        return 1;\n"
    "    }\n"
    "    mmu_result r;\n"
    "    int st = os_access(o, 0, 0x10000, 8, MM_LOAD, MM_USER, &r);\n"
    "    os_free(o);\n"
    "    if (st != OS_OK)\n"
    "        return 1;\n"
    "    printf(\"mmusim %s\\n\", mmusim_version());\n"
    "    return 0;\n"
    "}\n";

static void write_program(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    scratch_write(p, program);
}
#endif

Test(install, c_program_links_with_pkg_config)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("the installed library is instrumented: a plain program cannot link it");
#else
    write_program("p.c");
    build_and_run("cc -std=c11 -Wall -Wextra -Werror", "p.c", "");
    build_and_run("cc -std=c11", "p.c", "--static");
#endif
}

Test(install, cxx_program_links_with_pkg_config)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("the installed library is instrumented: a plain program cannot link it");
#else
    write_program("p.cpp");
    build_and_run("c++ -std=c++17 -Wall -Wextra -pedantic -Werror", "p.cpp", "");
#endif
}

/* The embedding example, built as a user builds it: its own directory, the
 * installed headers and library, pkg-config's flags alone. */
Test(install, embedding_example_builds_against_the_install)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("the installed library is instrumented: a plain program cannot link it");
#else
    char line[2048];
    snprintf(line, sizeof line,
             "export PKG_CONFIG_PATH=\"$D/%s/pkgconfig\"; cc -std=c11 -Wall -Wextra -Werror -o \"$D/embed\" "
             "'%s/model/examples/embed_core.c' $(pkg-config --cflags --libs mmusim) && "
             "LD_LIBRARY_PATH=\"$D/%s\" \"$D/embed\"",
             MMUSIM_INSTALL_LIBDIR, MMUSIM_SOURCE_DIR, MMUSIM_INSTALL_LIBDIR);
    cr_assert_eq(sh(line), 0, "%s", err);
    cr_expect_eq(strncmp(out, "pass 1: 32 loads, 32 faults, 64 dTLB misses, 39524 cycles\n", 57), 0, "%s", out);
#endif
}

