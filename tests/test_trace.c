/* test_trace.c -- the compressed trace format of trace.c (traces/FORMAT.md):
 * round trips of every record kind and extreme value, frames, seeking,
 * metadata, pipes, the .tmp-then-rename rule, and every kind of bad input,
 * each with the exact "PATH: offset N: " its error must carry.
 *
 * Offsets are derived from the format, not read back from the writer: the
 * test metadata {source "t", command "", recorder ""} makes the header
 * H = 8 (skippable frame) + 8 (magic) + 4 (version) + 3 + 2 + 2 (three
 * tag/length/bytes fields) + 4 (CRC) = 31 bytes, so frame 0 starts at 31;
 * the trailer of a trace with F frames is its last 8 + 24 F + 56 bytes; and
 * frame k > 0 starts where the seek index's entry k says. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "mmusim/trace.h"
#include "support/trace_enc.h"

#define H 31u               /* header length with test_meta() */
#define TRAILER(F) (8u + 24u * (F) + 56u)

/* ---- fixture: a private directory per test -------------------------- */

static char dir[64];

static void dir_make(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_trace.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void dir_remove(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                if (rmdir(p))
                    unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

TestSuite(trace, .init = dir_make, .fini = dir_remove);

static const char *fpath(const char *name)
{
    static char bufs[4][512];
    static int i;
    char *b = bufs[i++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- helpers ------------------------------------------------------- */

static trace_meta test_meta(void)
{
    trace_meta m = {0};
    strcpy(m.source, "t");
    return m;
}

static void write_trace(const char *path, const trace_rec *recs, size_t n, unsigned frame_records)
{
    char err[512];
    trace_meta m = test_meta();
    trace_writer *w = trace_writer_open(path, &m, frame_records, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(trace_write(w, &recs[i]), 0, "record %zu: %s", i, trace_writer_error(w));
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);
}

/* Read every record of path and compare with want[0..n). */
static void expect_records(const char *path, const trace_rec *want, size_t n)
{
    char err[512];
    trace_reader *r = trace_reader_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    trace_rec got;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(trace_next(r, &got), 1, "record %zu: %s", i, trace_reader_error(r));
        cr_assert(trace_rec_equal(&got, &want[i]), "record %zu differs (kind %u/%u)", i, got.kind, want[i].kind);
    }
    cr_assert_eq(trace_next(r, &got), 0, "%s", trace_reader_error(r));
    cr_assert_eq(trace_next(r, &got), 0, "a clean end stays an end");
    trace_reader_close(r);
}

/* A deterministic mix of every kind, with wide and narrow values. */
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static trace_rec rand_rec(void)
{
    uint64_t w = rnd() & 1 ? rnd() : rnd() & 0xffff;   /* wide or small */
    unsigned k = (unsigned)(rnd() % 16);
    if (k >= TR_KIND_COUNT)
        k = rnd() & 1 ? TR_ACCESS : TR_INSTR;           /* mostly accesses and counts */
    trace_rec r = {.kind = (uint8_t)k};
    switch ((trace_kind)k) {
    case TR_ACCESS:
        r.cpu = (uint8_t)(rnd() % 3 == 0 ? rnd() : 0);
        r.acc = (uint8_t)(rnd() % 3);
        r.priv = (uint8_t)(rnd() & 1);
        r.size = (uint32_t)(rnd() & 1 ? 1u << (rnd() % 7) : 1 + rnd() % 65535);
        r.va = w;
        break;
    case TR_INSTR: r.cpu = (uint8_t)(rnd() % 4); r.count = rnd() & 1 ? rnd() % 40 : w; break;
    case TR_SWITCH: r.cpu = (uint8_t)rnd(); r.pid = (uint32_t)w; break;
    case TR_FORK: r.pid = (uint32_t)w; r.child = (uint32_t)rnd(); break;
    case TR_EXEC:
    case TR_EXIT: r.pid = (uint32_t)rnd(); break;
    case TR_MMAP:
        r.pid = (uint32_t)rnd(); r.addr = w; r.len = rnd(); r.prot = (uint32_t)(rnd() & 7);
        r.flags = (uint32_t)(rnd() & 0x1f); r.file_id = (uint32_t)rnd(); r.offset = rnd();
        break;
    case TR_MUNMAP: r.pid = (uint32_t)rnd(); r.addr = w; r.len = rnd(); break;
    case TR_MPROTECT: r.pid = (uint32_t)rnd(); r.addr = w; r.len = rnd(); r.prot = (uint32_t)(rnd() & 7); break;
    case TR_CR3: r.cpu = (uint8_t)rnd(); r.value = rnd(); r.noflush = rnd() & 1; break;
    case TR_INVLPG: r.cpu = (uint8_t)rnd(); r.addr = w; break;
    case TR_ROI: r.roi = (uint8_t)(rnd() & 1); break;
    case TR_KIND_COUNT: break;
    }
    return r;
}

static trace_rec *rand_recs(size_t n)
{
    trace_rec *v = calloc(n, sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = rand_rec();
    return v;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* Offset of frame k of a trace image with F frames: H for frame 0, else the
 * seek index's entry k. */
static uint64_t frame_off(const uint8_t *b, size_t len, unsigned F, unsigned k)
{
    uint64_t t = len - TRAILER(F);
    return k == 0 ? H : le64(b + t + 8 + 24 * k);
}

/* Every record of path (or "-"), until the end or an error.  Returns
 * trace_next's last value; the error (or "") in err. */
static int drain(const char *path, char *err, size_t errlen, uint64_t *nrec)
{
    trace_reader *r = trace_reader_open(path, err, errlen);
    *nrec = 0;
    if (!r)
        return -2;
    trace_rec rec;
    int rc;
    while ((rc = trace_next(r, &rec)) == 1)
        ++*nrec;
    snprintf(err, errlen, "%s", rc < 0 ? trace_reader_error(r) : "");
    trace_reader_close(r);
    return rc;
}

/* Make the file `path` standard input (a regular file on stdin is read as
 * a stream, like a pipe). */
static void stdin_from(const char *path)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
}

/* Opening or reading path (and "-" fed from it) fails with exactly
 * "NAME: offset OFF: " followed by text containing `what`. */
static void expect_error_as(const char *path, const char *name, uint64_t off, const char *what)
{
    char err[1024], want[600];
    uint64_t n;
    int rc = drain(path, err, sizeof err, &n);
    cr_assert(rc < 0, "%s: read %llu records and ended cleanly; expected \"%s\"", name, (unsigned long long)n, what);
    snprintf(want, sizeof want, "%s: offset %llu: ", name, (unsigned long long)off);
    cr_expect_eq(strncmp(err, want, strlen(want)), 0, "error \"%s\", expected prefix \"%s\"", err, want);
    cr_expect_not_null(strstr(err, what), "error \"%s\" lacks \"%s\"", err, what);
}

static void expect_error(const char *path, uint64_t off, const char *what)
{
    expect_error_as(path, path, off, what);
    stdin_from(path);
    expect_error_as("-", "<stdin>", off, what);
}

/* The standard test trace: 150 random records in frames of 50 (3 frames). */
static uint8_t *std_trace(const char *path, size_t *len)
{
    trace_rec *v = rand_recs(150);
    write_trace(path, v, 150, 50);
    free(v);
    return slurp(path, len);
}

/* ---- names and equality ---------------------------------------------- */

Test(trace, kind_names)
{
    static const char *const want[TR_KIND_COUNT] = {"access", "instr", "switch", "fork", "exec", "exit",
                                                      "mmap", "munmap", "mprotect", "cr3", "invlpg", "roi"};
    for (int k = 0; k < TR_KIND_COUNT; k++)
        cr_expect_str_eq(trace_kind_name((trace_kind)k), want[k]);
    cr_expect_str_eq(trace_kind_name(TR_KIND_COUNT), "?");
}

Test(trace, rec_equal_uses_only_the_kinds_fields)
{
    trace_rec a = {.kind = TR_ACCESS, .va = 5, .size = 8, .acc = MM_STORE, .cpu = 2};
    trace_rec b = a;
    b.count = 99;   /* not an access field */
    b.pid = 7;
    cr_expect(trace_rec_equal(&a, &b));
    b.va = 6;
    cr_expect_not(trace_rec_equal(&a, &b));
    trace_rec i1 = {.kind = TR_INSTR, .count = 3, .cpu = 1}, i2 = i1;
    i2.va = 1234;
    cr_expect(trace_rec_equal(&i1, &i2));
    i2.cpu = 0;
    cr_expect_not(trace_rec_equal(&i1, &i2));
    trace_rec f1 = {.kind = TR_FORK, .pid = 1, .child = 2, .cpu = 3}, f2 = f1;
    f2.cpu = 4;   /* fork has no cpu */
    cr_expect(trace_rec_equal(&f1, &f2));
    f2.child = 5;
    cr_expect_not(trace_rec_equal(&f1, &f2));
    trace_rec c1 = {.kind = TR_CR3, .value = 1, .noflush = true}, c2 = c1;
    c2.noflush = false;
    cr_expect_not(trace_rec_equal(&c1, &c2));
    trace_rec x = {.kind = TR_EXEC, .pid = 1}, y = {.kind = TR_EXIT, .pid = 1};
    cr_expect_not(trace_rec_equal(&x, &y), "different kinds");
}

/* ---- round trips ----------------------------------------------------- */

#define RT_MAX 8
typedef struct rt_case {
    char name[32];
    size_t n;
    trace_rec recs[RT_MAX];
} rt_case;

#define A(...) {.kind = TR_ACCESS, __VA_ARGS__}
ParameterizedTestParameters(trace, round_trip)
{
    static rt_case cases[] = {
        {"access extremes", 6,
         {A(.va = 0, .size = 1), A(.va = UINT64_MAX, .size = 65535, .acc = MM_STORE),
          A(.va = 0, .size = 64, .acc = MM_IFETCH), A(.va = UINT64_MAX, .size = 15, .acc = MM_IFETCH),
          A(.va = 1, .size = 2, .priv = MM_SUPERVISOR), A(.va = 0x8000000000000000ull, .size = 3)}},
        {"negative deltas", 5,
         {A(.va = 0x7fff0000, .size = 8), A(.va = 0x7ffe0000, .size = 8), A(.va = 0x10, .size = 8),
          A(.va = 0x7ffe0008, .size = 4, .acc = MM_STORE), A(.va = 0x7ffd0000, .size = 4)}},
        {"ifetch straight and back", 5,
         {A(.va = 0x400000, .size = 3, .acc = MM_IFETCH), A(.va = 0x400003, .size = 5, .acc = MM_IFETCH),
          A(.va = 0x400008, .size = 12, .acc = MM_IFETCH), A(.va = 0x400000, .size = 3, .acc = MM_IFETCH),
          A(.va = 0x3fffff, .size = 13, .acc = MM_IFETCH)}},
        {"cpus", 5,
         {A(.va = 0x1000, .size = 8, .cpu = 255), A(.va = 0x2000, .size = 8, .cpu = 0),
          A(.va = 0x1008, .size = 8, .cpu = 255), {.kind = TR_INSTR, .count = 1, .cpu = 7},
          {.kind = TR_INSTR, .count = 100, .cpu = 255}}},
        {"instr counts", 6,
         {{.kind = TR_INSTR, .count = 0}, {.kind = TR_INSTR, .count = 31}, {.kind = TR_INSTR, .count = 32},
          {.kind = TR_INSTR, .count = 1ull << 63}, {.kind = TR_INSTR, .count = UINT64_MAX},
          {.kind = TR_INSTR, .count = 1}}},
        {"process events", 5,
         {{.kind = TR_SWITCH, .cpu = 255, .pid = UINT32_MAX}, {.kind = TR_FORK, .pid = 1, .child = UINT32_MAX},
          {.kind = TR_EXEC, .pid = UINT32_MAX}, {.kind = TR_EXIT, .pid = 0}, {.kind = TR_SWITCH, .cpu = 0, .pid = 0}}},
        {"memory events", 4,
         {{.kind = TR_MMAP, .pid = UINT32_MAX, .addr = UINT64_MAX, .len = UINT64_MAX, .prot = UINT32_MAX,
           .flags = UINT32_MAX, .file_id = UINT32_MAX, .offset = UINT64_MAX},
          {.kind = TR_MMAP, .pid = 3, .addr = 0x7f0000000000, .len = 1 << 21, .prot = TR_PROT_READ | TR_PROT_WRITE,
           .flags = TR_MAP_ANON | TR_MAP_THP},
          {.kind = TR_MUNMAP, .pid = 3, .addr = 0, .len = UINT64_MAX},
          {.kind = TR_MPROTECT, .pid = 3, .addr = 0x7f0000001000, .len = 4096, .prot = TR_PROT_EXEC}}},
        {"cr3 and invlpg", 5,
         {{.kind = TR_CR3, .cpu = 1, .value = 0x8000000012345001ull, .noflush = true},
          {.kind = TR_CR3, .cpu = 1, .value = UINT64_MAX, .noflush = false},
          {.kind = TR_CR3, .cpu = 255, .value = 0},
          {.kind = TR_INVLPG, .cpu = 2, .addr = UINT64_MAX}, {.kind = TR_INVLPG, .cpu = 2, .addr = 0}}},
        {"events between accesses", 5,
         {A(.va = 0xffffffff81000000ull, .size = 4, .acc = MM_IFETCH, .priv = MM_SUPERVISOR, .cpu = 3),
          {.kind = TR_FORK, .pid = 9, .child = 10, .cpu = 0},
          A(.va = 0xffffffff81000004ull, .size = 4, .acc = MM_IFETCH, .priv = MM_SUPERVISOR, .cpu = 3),
          {.kind = TR_EXIT, .pid = 9}, A(.va = 5, .size = 7, .cpu = 3)}},
    };
    return cr_make_param_array(rt_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(rt_case *c, trace, round_trip, .init = dir_make, .fini = dir_remove)
{
    const char *p = fpath("rt.trace");
    write_trace(p, c->recs, c->n, 0);
    expect_records(p, c->recs, c->n);
    /* Also with one record per frame: every frame restarts the deltas. */
    write_trace(p, c->recs, c->n, 1);
    expect_records(p, c->recs, c->n);
    stdin_from(p);
    expect_records("-", c->recs, c->n);
}

Test(trace, every_size_of_every_access_kind)
{
    size_t n = 3 * 65535;
    trace_rec *v = calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (trace_rec){.kind = TR_ACCESS, .acc = (uint8_t)(i % 3), .size = (uint32_t)(i / 3 + 1),
                           .va = i * 0x9E3779B97F4A7C15ull, .priv = (uint8_t)(i / 7 & 1)};
    const char *p = fpath("sizes.trace");
    write_trace(p, v, n, 4096);
    expect_records(p, v, n);
    free(v);
}

Test(trace, empty_trace)
{
    const char *p = fpath("empty.trace");
    write_trace(p, NULL, 0, 0);
    size_t len;
    free(slurp(p, &len));
    cr_expect_eq(len, H + TRAILER(0), "header and an empty trailer only");
    expect_records(p, NULL, 0);
    char err[512];
    trace_reader *r = trace_reader_open(p, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(trace_frames(r), 0);
    cr_expect_eq(trace_seek(r, 0), 0);
    cr_expect_eq(trace_seek(r, 1), -1);
    trace_reader_close(r);
}

Test(trace, many_frames)
{
    size_t n = 1000;
    trace_rec *v = rand_recs(n);
    const char *p = fpath("frames.trace");
    write_trace(p, v, n, 3);
    expect_records(p, v, n);
    char err[512];
    trace_reader *r = trace_reader_open(p, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(trace_frames(r), 334, "ceil(1000 / 3)");
    for (size_t i = 0; i < 334; i++)
        cr_expect_eq(trace_frame_first(r, i), 3 * i);
    cr_expect_eq(trace_frame_first(r, 334), 1000, "past the last frame: the record count");
    trace_reader_close(r);
    free(v);
}

Test(trace, seek_to_every_record)
{
    size_t n = 200;
    trace_rec *v = rand_recs(n);
    const char *p = fpath("seek.trace");
    write_trace(p, v, n, 7);
    char err[512];
    trace_reader *r = trace_reader_open(p, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(trace_frames(r), 29, "ceil(200 / 7)");
    trace_rec got;
    /* Backwards, so every seek moves away from where reading stopped. */
    for (size_t i = n + 1; i-- > 0;) {
        cr_assert_eq(trace_seek(r, i), 0, "seek %zu: %s", i, trace_reader_error(r));
        for (size_t j = i; j < n; j++) {
            cr_assert_eq(trace_next(r, &got), 1, "seek %zu, record %zu: %s", i, j, trace_reader_error(r));
            cr_assert(trace_rec_equal(&got, &v[j]), "seek %zu, record %zu differs", i, j);
        }
        cr_assert_eq(trace_next(r, &got), 0, "seek %zu: %s", i, trace_reader_error(r));
    }
    cr_expect_eq(trace_seek(r, n + 1), -1);
    char want[600];
    snprintf(want, sizeof want, "%s: offset ", p);
    cr_expect_eq(strncmp(trace_reader_error(r), want, strlen(want)), 0, "%s", trace_reader_error(r));
    cr_expect_not_null(strstr(trace_reader_error(r), "record 201"), "%s", trace_reader_error(r));
    /* A failed seek leaves the reader where it was: at the end. */
    cr_expect_eq(trace_next(r, &got), 0);
    cr_expect_eq(trace_seek(r, 5), 0);
    cr_expect_eq(trace_next(r, &got), 1);
    cr_expect(trace_rec_equal(&got, &v[5]));
    trace_reader_close(r);
    free(v);
}

Test(trace, metadata_round_trip)
{
    trace_meta m = {0};
    memset(m.source, 's', TRACE_META_STR - 1);   /* the longest strings */
    snprintf(m.command, sizeof m.command, "ls -l 'a b' \"c\"\t\xc3\xa9");
    memset(m.recorder, 'r', TRACE_META_STR - 1);
    m.records = 12345;   /* ignored: the writer counts */
    trace_rec v[] = {
        {.kind = TR_INSTR, .count = 1ull << 62}, A(.va = 1, .size = 4), A(.va = 2, .size = 4, .acc = MM_IFETCH),
        {.kind = TR_INSTR, .count = 3}, {.kind = TR_SWITCH, .pid = 2}, {.kind = TR_EXIT, .pid = 2},
    };
    const char *p = fpath("meta.trace");
    char err[512];
    trace_writer *w = trace_writer_open(p, &m, 2, 19, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(trace_write(w, &v[i]), 0);
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);

    for (int pass = 0; pass < 2; pass++) {   /* the file, then a stream */
        if (pass)
            stdin_from(p);
        trace_reader *r = trace_reader_open(pass ? "-" : p, err, sizeof err);
        cr_assert_not_null(r, "%s", err);
        const trace_meta *g = trace_reader_meta(r);
        cr_expect_str_eq(g->source, m.source);
        cr_expect_str_eq(g->command, m.command);
        cr_expect_str_eq(g->recorder, m.recorder);
        cr_expect_eq(g->version_major, TRACE_VERSION_MAJOR);
        cr_expect_eq(g->version_minor, TRACE_VERSION_MINOR);
        /* A stream learns the counts at its end. */
        cr_expect_eq(g->records, pass ? 0 : 6);
        trace_rec got;
        while (trace_next(r, &got) == 1)
            ;
        cr_expect_str_eq(trace_reader_error(r), "");
        cr_expect_eq(g->records, 6);
        cr_expect_eq(g->accesses, 2);
        cr_expect_eq(g->instructions, (1ull << 62) + 3);
        cr_expect_eq(g->events, 2);
        trace_reader_close(r);
    }
}

/* ---- pipes ----------------------------------------------------------- */

/* Fork a child that copies fd `from` into the file `to` (or, with to NULL,
 * writes the file `src` into fd `from`), closing the pipe's other end
 * `other`; return its pid. */
static pid_t copier(int from, int other, const char *to, const char *src)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid)
        return pid;
    close(other);   /* else the reading child never sees the pipe's end */
    char buf[4096];
    ssize_t n;
    if (to) {
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        while ((n = read(from, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(1);
        _exit(close(out) ? 1 : 0);
    }
    int in = open(src, O_RDONLY);
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(from, buf, (size_t)n) != n)
            _exit(1);
    _exit(0);
}

Test(trace, write_to_a_pipe_and_read_from_one)
{
    size_t n = 5000;   /* larger than a pipe's buffer when written */
    trace_rec *v = rand_recs(n);
    const char *copy = fpath("copy.trace");

    /* Writer on "-": stdout is a pipe to a child that saves it. */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t kid = copier(fds[0], fds[1], copy, NULL);
    close(fds[0]);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    char err[512];
    trace_meta m = test_meta();
    trace_writer *w = trace_writer_open("-", &m, 64, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(trace_write(w, &v[i]), 0, "%s", trace_writer_error(w));
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);
    dup2(saved, STDOUT_FILENO);   /* closes the pipe: the child sees its end */
    close(saved);
    int status;
    cr_assert_eq(waitpid(kid, &status, 0), kid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_expect_not(exists("-.tmp"));
    cr_expect_not(exists("-"));

    /* The copy is a complete trace. */
    expect_records(copy, v, n);

    /* Reader on "-": stdin is a pipe from a child that writes the copy. */
    cr_assert_eq(pipe(fds), 0);
    kid = copier(fds[1], fds[0], NULL, copy);
    close(fds[1]);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    trace_reader *r = trace_reader_open("-", err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(trace_frames(r), 0, "a pipe has no seek index");
    cr_expect_eq(trace_seek(r, 0), -1);
    cr_expect_eq(strncmp(trace_reader_error(r), "<stdin>: offset ", 16), 0, "%s", trace_reader_error(r));
    trace_rec got;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(trace_next(r, &got), 1, "record %zu: %s", i, trace_reader_error(r));
        cr_assert(trace_rec_equal(&got, &v[i]), "record %zu", i);
    }
    cr_assert_eq(trace_next(r, &got), 0, "%s", trace_reader_error(r));
    cr_expect_eq(trace_reader_meta(r)->records, n);
    trace_reader_close(r);
    waitpid(kid, &status, 0);
    free(v);
}

/* ---- the .tmp-then-rename rule ---------------------------------------- */

Test(trace, tmp_then_rename)
{
    const char *p = fpath("x.trace"), *tmp = fpath("x.trace.tmp");
    char err[512];
    trace_meta m = test_meta();
    trace_writer *w = trace_writer_open(p, &m, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    trace_rec a = A(.va = 1, .size = 8);
    cr_assert_eq(trace_write(w, &a), 0);
    cr_expect(exists(tmp), "before close only PATH.tmp exists");
    cr_expect_not(exists(p));
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);
    cr_expect(exists(p));
    cr_expect_not(exists(tmp));

    /* Abort: nothing is left, and an existing trace of that name stays. */
    w = trace_writer_open(p, &m, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(trace_write(w, &a), 0);
    trace_writer_abort(w);
    cr_expect_not(exists(tmp));
    expect_records(p, &a, 1);
    unlink(p);
    w = trace_writer_open(p, &m, 0, 0, err, sizeof err);
    trace_writer_abort(w);
    cr_expect_not(exists(tmp));
    cr_expect_not(exists(p));
}

Test(trace, writer_errors)
{
    char err[512], want[600];
    trace_meta m = test_meta();
    /* An invalid record stops the writer; close fails and removes the tmp. */
    const char *p = fpath("bad.trace");
    trace_writer *w = trace_writer_open(p, &m, 0, 0, err, sizeof err);
    cr_assert_not_null(w);
    trace_rec ok = A(.va = 1, .size = 8), zero = A(.va = 1, .size = 0), big = A(.va = 1, .size = 65536),
              badacc = A(.va = 1, .size = 8, .acc = 3), badkind = {.kind = TR_KIND_COUNT};
    cr_expect_eq(trace_write(w, &ok), 0);
    cr_expect_eq(trace_write(w, &zero), -1);
    snprintf(want, sizeof want, "%s: offset %u: record 1: invalid access", p, H);
    cr_expect_eq(strncmp(trace_writer_error(w), want, strlen(want)), 0, "%s", trace_writer_error(w));
    cr_expect_eq(trace_write(w, &ok), -1, "sticky");
    cr_expect_eq(trace_writer_close(w, err, sizeof err), -1);
    cr_expect_not(exists(p));
    cr_expect_not(exists(fpath("bad.trace.tmp")));
    const trace_rec *bad[] = {&big, &badacc, &badkind};
    for (int i = 0; i < 3; i++) {
        w = trace_writer_open(p, &m, 0, 0, err, sizeof err);
        cr_expect_eq(trace_write(w, bad[i]), -1);
        trace_writer_abort(w);
    }
    /* Through the sink. */
    w = trace_writer_open(p, &m, 0, 0, err, sizeof err);
    trace_sink s = trace_writer_sink(w);
    cr_expect_eq(s.put(s.ctx, &ok), 0);
    cr_expect_eq(s.put(s.ctx, &big), -1);
    trace_writer_abort(w);
    /* Unwritable place, bad level. */
    cr_expect_null(trace_writer_open("/nonexistent-dir/x.trace", &m, 0, 0, err, sizeof err));
    const char *nx = "/nonexistent-dir/x.trace: offset 0: cannot create /nonexistent-dir/x.trace.tmp: ";
    cr_expect_eq(strncmp(err, nx, strlen(nx)), 0, "%s", err);
    cr_expect_null(trace_writer_open(p, &m, 0, 20, err, sizeof err));
    cr_expect_not_null(strstr(err, "level 20"), "%s", err);
    cr_expect_null(trace_writer_open(p, &m, 0, -1, err, sizeof err));
    cr_expect_not(exists(fpath("bad.trace.tmp")));
}

/* trace_writer_errno tells a failed output from a refused record;
 * trace_writer_tmp_path names the file being written. */
Test(trace, writer_errno_and_tmp_path)
{
    char err[512];
    trace_meta m = test_meta();
    trace_writer *w = trace_writer_open(fpath("e.trace"), &m, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_expect_str_eq(trace_writer_tmp_path(w), fpath("e.trace.tmp"));
    cr_expect_eq(trace_writer_errno(w), 0);
    trace_rec bad = A(.va = 1, .size = 0);
    cr_expect_eq(trace_write(w, &bad), -1);
    cr_expect_eq(trace_writer_errno(w), 0, "a refused record is not a failed output");
    trace_writer_abort(w);

    /* Standard output has no temporary file (this test's stdout is
     * /dev/null, not to print a header). */
    fflush(stdout);
    int null = open("/dev/null", O_WRONLY);
    cr_assert_geq(null, 0);
    cr_assert_eq(dup2(null, STDOUT_FILENO), STDOUT_FILENO);
    close(null);
    w = trace_writer_open("-", &m, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_expect_null(trace_writer_tmp_path(w));
    trace_writer_abort(w);

    /* A failed open says why in errno too. */
    errno = 0;
    cr_expect_null(trace_writer_open("/nonexistent-dir/x.trace", &m, 0, 0, err, sizeof err));
    cr_expect_eq(errno, ENOENT);
    errno = 0;
    cr_expect_null(trace_writer_open(fpath("e.trace"), &m, 0, 20, err, sizeof err));
    cr_expect_eq(errno, EINVAL, "a bad level");
}

/* A write that fails stops the writer with "PATH: offset N: write failed:
 * REASON" and errno, and leaves neither PATH nor PATH.tmp.  The failure is
 * EFBIG past a file-size limit with SIGXFSZ ignored: unlike a full disk,
 * deterministic.  The limit is per process, so a child writes and sends
 * back what it saw on a pipe. */
Test(trace, failed_write_leaves_nothing)
{
    const char *p = fpath("big.trace");
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t kid = fork();
    cr_assert_geq(kid, 0);
    if (kid == 0) {
        close(fds[0]);
        struct rlimit rl = {4096, 4096};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl))
            _exit(3);
        char err[1024];
        trace_meta m = test_meta();
        trace_writer *w = trace_writer_open(p, &m, 1000, 0, err, sizeof err);
        if (!w)
            _exit(4);
        int rc = 0, e = 0;
        for (int i = 0; i < 100000 && rc == 0; i++) {
            trace_rec r = rand_rec();   /* 100 frames of ~1000 random records: far over 4 KiB */
            rc = trace_write(w, &r);
        }
        if (rc) {
            e = trace_writer_errno(w);
            snprintf(err, sizeof err, "%s", trace_writer_error(w));
            trace_writer_abort(w);
        } else {
            rc = trace_writer_close(w, err, sizeof err);
            e = errno;
        }
        dprintf(fds[1], "%d %d %s", rc, e, err);
        _exit(0);
    }
    close(fds[1]);
    char got[2048] = "";
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)k;
    close(fds[0]);
    int st;
    cr_assert_eq(waitpid(kid, &st, 0), kid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    int rc, e, used;
    cr_assert_eq(sscanf(got, "%d %d %n", &rc, &e, &used), 2, "%s", got);
    cr_expect_eq(rc, -1, "the writer failed");
    cr_expect_eq(e, EFBIG, "errno %d", e);
    const char *msg = got + used;
    char want[600];
    snprintf(want, sizeof want, "%s: offset ", p);
    cr_expect_eq(strncmp(msg, want, strlen(want)), 0, "%s", msg);
    const char *tail = msg + strlen(want);
    tail += strspn(tail, "0123456789");
    cr_expect_str_eq(tail, ": write failed: File too large", "%s", msg);
    cr_expect_not(exists(p));
    cr_expect_not(exists(fpath("big.trace.tmp")));
}

/* ---- bad input: truncation ------------------------------------------- */

/* Where a cut or an expected offset is: relative to the start, to frame 0
 * (= H), frame 1, the trailer (T), or the end of the file; or a field
 * (the header's size S, the footer's magic) that an error names. */
enum { AT_ZERO, AT_F0, AT_F1, AT_T, AT_END, AT_S, AT_FOOTER_MAGIC };

typedef struct cut_case {
    char name[32];
    int cut_at;
    long cut;        /* the file keeps the bytes before cut_at + cut */
    int err_at;      /* the error names this offset */
    char what[64];
} cut_case;

ParameterizedTestParameters(trace, truncated)
{
    static cut_case cases[] = {
        {"empty file", AT_ZERO, 0, AT_ZERO, "truncated header"},
        {"inside the magic", AT_ZERO, 11, AT_ZERO, "truncated header"},
        {"inside the version", AT_ZERO, 17, AT_ZERO, "truncated header"},
        {"inside the metadata", AT_F0, -5, AT_ZERO, "truncated header"},
        {"after the header", AT_F0, 0, AT_F0, "the file ends before the footer"},
        {"inside frame 0's magic", AT_F0, 2, AT_F0, "the file ends at offset 33, before the footer"},
        {"inside frame 0", AT_F0, 12, AT_F0, "frame 0 is truncated"},
        {"frame 0 without its checksum", AT_F1, -4, AT_F0, "frame 0 is truncated"},
        {"frame 0 but its last byte", AT_F1, -1, AT_F0, "frame 0 is truncated"},
        {"after frame 0", AT_F1, 0, AT_F1, "the file ends before the footer"},
        {"inside frame 1", AT_F1, 9, AT_F1, "frame 1 is truncated"},
        {"before the trailer", AT_T, 0, AT_T, "the file ends before the footer"},
        {"inside the trailer's header", AT_T, 5, AT_T, "seek index and footer are truncated"},
        {"inside the seek index", AT_T, 8 + 24 + 3, AT_T, "seek index and footer are truncated"},
        {"inside the footer", AT_END, -20, AT_T, "seek index and footer are truncated"},
        {"the footer's last byte", AT_END, -1, AT_T, "seek index and footer are truncated"},
    };
    return cr_make_param_array(cut_case, cases, sizeof cases / sizeof cases[0]);
}

static uint64_t where(int at, const uint8_t *b, size_t len)
{
    switch (at) {
    case AT_ZERO: return 0;
    case AT_F0: return H;
    case AT_F1: return frame_off(b, len, 3, 1);
    case AT_T: return len - TRAILER(3);
    case AT_S: return 4;                    /* the header's size field */
    case AT_FOOTER_MAGIC: return len - 8;
    default: return len;
    }
}

ParameterizedTest(cut_case *c, trace, truncated, .init = dir_make, .fini = dir_remove)
{
    size_t len;
    uint8_t *b = std_trace(fpath("full.trace"), &len);
    uint64_t keep = where(c->cut_at, b, len) + (uint64_t)c->cut;
    cr_assert_lt(keep, len);
    const char *p = fpath("cut.trace");
    spit(p, b, keep);
    expect_error(p, where(c->err_at, b, len), c->what);
    free(b);
}

/* ---- bad input: flipped bytes ------------------------------------------ */

typedef struct flip_case {
    char name[32];
    int at;
    long delta;      /* byte at where(at) + delta (AT_F0 + -1: frame 0's middle) */
    int err_at;
    char what[64];
} flip_case;

#define MIDDLE (-1000)
ParameterizedTestParameters(trace, flipped_byte)
{
    static flip_case cases[] = {
        {"skippable magic", AT_ZERO, 0, AT_ZERO, "not an mmusim trace (bad magic)"},
        {"trace magic", AT_ZERO, 8, AT_ZERO, "not an mmusim trace (bad magic)"},
        {"header size", AT_ZERO, 6, AT_S, "corrupt header: size"},
        {"metadata", AT_F0, -5, AT_ZERO, "corrupt header (checksum mismatch)"},
        {"header checksum", AT_F0, -1, AT_ZERO, "corrupt header (checksum mismatch)"},
        {"frame 0's middle", AT_F0, MIDDLE, AT_F0, "frame 0 is corrupt (zstd: "},
        {"frame 0's checksum", AT_F1, -1, AT_F0, "checksum"},
        {"frame 1's magic", AT_F1, 0, AT_F1, "not a zstd frame"},
        {"a seek index entry", AT_T, 8 + 24 + 1, AT_T, "checksum mismatch"},
        {"the footer's counts", AT_END, -56, AT_T, "checksum mismatch"},
        {"the footer's magic", AT_END, -1, AT_FOOTER_MAGIC, "bad footer magic"},
    };
    return cr_make_param_array(flip_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(flip_case *c, trace, flipped_byte, .init = dir_make, .fini = dir_remove)
{
    size_t len;
    uint8_t *b = std_trace(fpath("full.trace"), &len);
    uint64_t at = c->delta == MIDDLE ? (H + frame_off(b, len, 3, 1)) / 2 : where(c->at, b, len) + (uint64_t)c->delta;
    b[at] ^= 0x5a;
    const char *p = fpath("flip.trace");
    spit(p, b, len);
    expect_error(p, where(c->err_at, b, len), c->what);
    free(b);
}

Test(trace, not_a_trace)
{
    const char *p = fpath("text");
    spit(p, "hello, world\n", 13);
    expect_error(p, 0, "bad magic");
    spit(p, "MMU", 3);
    expect_error(p, 0, "bad magic");
    /* A plain zstd stream is not a trace either. */
    uint8_t z[256];
    size_t n = ZSTD_compress(z, sizeof z, "L 0x1000 8\n", 11, 3);
    cr_assert(!ZSTD_isError(n));
    spit(p, z, n);
    expect_error(p, 0, "bad magic");
}

Test(trace, newer_major_version_refused_newer_minor_read)
{
    size_t len;
    uint8_t *b = std_trace(fpath("full.trace"), &len);
    const char *p = fpath("v.trace");
    b[16] = 2;   /* major 2: refused before anything else is looked at */
    spit(p, b, len);
    expect_error(p, 16, "format version 2.1 is newer than this reader's 1.1");   /* the writer writes 1.1 */
    b[16] = 1;
    b[18] = 7;   /* minor 7: read, once the header's CRC is fixed */
    put_le32(b + H - 4, zcrc32(b + 8, H - 12));
    /* and an unknown metadata field (tag 9) is skipped: rebuild the header */
    uint8_t *nb = malloc(len + 4);
    memcpy(nb, b, H - 4);
    memcpy(nb + H - 4, "\x09\x02hi", 4);
    put_le32(nb + 4, H - 8 + 4);
    put_le32(nb + H, zcrc32(nb + 8, H - 8));
    /* The frames and seek index move by 4 bytes: fix the offsets. */
    memcpy(nb + H + 4, b + H, len - H);
    size_t nlen = len + 4;
    uint8_t *t = nb + nlen - TRAILER(3);
    for (int k = 0; k < 3; k++)
        put_le64(t + 8 + 24 * k, le64(t + 8 + 24 * k) + 4);
    uint8_t *ft = nb + nlen - 56;
    put_le64(ft + 32, le64(ft + 32) + 4);
    put_le32(ft + 44, zcrc32(t + 8, 24 * 3 + 44));
    spit(p, nb, nlen);
    char err[512];
    uint64_t n;
    cr_expect_eq(drain(p, err, sizeof err, &n), 0, "%s", err);
    cr_expect_eq(n, 150);
    trace_reader *r = trace_reader_open(p, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(trace_reader_meta(r)->version_minor, 7);
    cr_expect_str_eq(trace_reader_meta(r)->source, "t");
    trace_reader_close(r);
    b[16] = 0;   /* there never was a version 0 */
    spit(p, b, len);
    expect_error(p, 16, "version 0.7 is not supported");
    free(nb);
    free(b);
}

Test(trace, data_after_the_footer)
{
    size_t len;
    uint8_t *b = std_trace(fpath("full.trace"), &len);
    b = realloc(b, len + 1);
    b[len] = 0;
    const char *p = fpath("long.trace");
    spit(p, b, len + 1);
    expect_error(p, len, "data after the footer");
    free(b);
}

Test(trace, unreadable)
{
    const char *p = fpath("missing.trace");
    char err[512], want[600];
    cr_expect_null(trace_reader_open(p, err, sizeof err));
    snprintf(want, sizeof want, "%s: offset 0: cannot open: No such file or directory", p);
    cr_expect_str_eq(err, want);
    cr_expect_null(trace_reader_open(dir, err, sizeof err));
    snprintf(want, sizeof want, "%s: offset 0: is a directory", dir);
    cr_expect_str_eq(err, want);
}

/* ---- bad input: hand-made frames ---------------------------------------- */

/* A trace with the test header, one frame holding `data` (len bytes)
 * and a trailer whose index and footer claim nrec records, of which
 * accesses are accesses and events events (instructions: instr), made by
 * the tests' encoder.  Returns the trailer's offset. */
static uint64_t craft(const char *path, const void *data, size_t len, uint64_t nrec, uint64_t accesses,
                      uint64_t instr, uint64_t events)
{
    tenc_trace t;
    tenc_begin(&t, "t");
    cr_assert_eq(t.hlen, H, "the encoder's header is test_meta()'s");
    tenc_recs r = {0};
    tenc_raw(&r, data, len);
    r.records = (uint32_t)nrec;
    r.accesses = accesses;
    r.instructions = instr;
    r.events = events;
    tenc_frame(&t, &r, true, 0);
    tenc_end(&t);
    cr_assert_eq(tenc_save(&t, path), 0);
    uint64_t off = t.T;
    tenc_trace_free(&t);
    return off;
}

Test(trace, format_md_example_decodes)
{
    /* The record bytes of FORMAT.md's worked example, byte for byte. */
    static const uint8_t data[] = {
        0x12, 0x80, 0xc0, 0x80, 0x04,                         /* ifetch 0x401000, 4 bytes */
        0x18, 0x00,                                           /* ifetch 0x401004, 3 bytes */
        0xa2,                                                 /* instr 2 */
        0x03, 0xa0, 0x80, 0xe0, 0xff, 0x0f,                   /* load 0x7ffc0010, 8 bytes */
        0x0b, 0x0f,                                           /* store 0x7ffc0008, 8 bytes */
        0x42, 0x01, 0x80, 0x40,                               /* cpu 1: load 0x1000, 4 bytes */
        0x81, 0x28,                                           /* cpu 1: instr 40 */
        0x86, 0x2a, 0x80, 0x80, 0x80, 0x80, 0x80, 0xe0, 0x1f, /* mmap pid 42 0x7f0000000000 */
        0x80, 0x80, 0x80, 0x01, 0x03, 0x09, 0x00, 0x00,       /*   len 2 MiB rw- anon|thp */
        0xc2, 0x00, 0x07,                                     /* cpu 0 runs pid 7 */
        0x31, 0x8d, 0xc0, 0x80, 0xf4, 0x0f,                   /* kernel ifetch 0xffffffff81000000, 2 */
    };
    const char *p = fpath("example.trace");
    craft(p, data, sizeof data, 10, 6, 42, 2);
    trace_rec want[] = {
        A(.va = 0x401000, .size = 4, .acc = MM_IFETCH),
        A(.va = 0x401004, .size = 3, .acc = MM_IFETCH),
        {.kind = TR_INSTR, .count = 2},
        A(.va = 0x7ffc0010, .size = 8),
        A(.va = 0x7ffc0008, .size = 8, .acc = MM_STORE),
        A(.va = 0x1000, .size = 4, .cpu = 1),
        {.kind = TR_INSTR, .count = 40, .cpu = 1},
        {.kind = TR_MMAP, .pid = 42, .addr = 0x7f0000000000, .len = 0x200000, .prot = 3,
         .flags = TR_MAP_ANON | TR_MAP_THP},
        {.kind = TR_SWITCH, .cpu = 0, .pid = 7},
        A(.va = 0xffffffff81000000ull, .size = 2, .acc = MM_IFETCH, .priv = MM_SUPERVISOR),
    };
    expect_records(p, want, 10);
    stdin_from(p);
    expect_records("-", want, 10);
    /* And the writer makes exactly these bytes: its frame, once
     * decompressed, is the array above. */
    const char *q = fpath("written.trace");
    write_trace(q, want, 10, 0);
    size_t len;
    uint8_t *b = slurp(q, &len);
    uint8_t out[256];
    size_t n = ZSTD_decompress(out, sizeof out, b + H, len - H - TRAILER(1));
    cr_assert(!ZSTD_isError(n), "%s", ZSTD_getErrorName(n));
    cr_assert_eq(n, sizeof data);
    cr_expect_arr_eq(out, data, sizeof data);
    free(b);
}

typedef struct bad_rec_case {
    char name[40];
    uint8_t data[24];
    size_t len;
    char what[64];
} bad_rec_case;

/* Each starts with a valid record (0xa1: instr 1), so the bad one is record
 * 1 at byte 1 of the frame's data. */
ParameterizedTestParameters(trace, malformed_record)
{
    static bad_rec_case cases[] = {
        {"event code 0", {0xa1, 0x80}, 2, "tag 0x80): bad tag"},
        {"event code 11", {0xa1, 0x8b, 0x00}, 3, "tag 0x8b): bad tag"},
        {"event code 31", {0xa1, 0x9f, 0x00}, 3, "tag 0x9f): bad tag"},
        {"cpu byte on a fork", {0xa1, 0xc3, 0x01, 0x01, 0x02}, 5, "tag 0xc3): bad tag"},
        {"varint overflow", {0xa1, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 12,
         "varint overflow"},
        {"11-byte varint", {0xa1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 13,
         "varint overflow"},
        {"size 0", {0xa1, 0x07, 0x00, 0x00}, 4, "access size out of range"},
        {"size 65536", {0xa1, 0x07, 0x80, 0x80, 0x04, 0x00}, 6, "access size out of range"},
        {"pid over 32 bits", {0xa1, 0x84, 0x80, 0x80, 0x80, 0x80, 0x10}, 7, "32-bit field"},
        {"cr3 noflush 2", {0xa1, 0x89, 0x00, 0x02}, 4, "noflush"},
        {"access past the end", {0xa1, 0x03}, 2, "runs past the end of the frame"},
        {"varint past the end", {0xa1, 0x03, 0x80}, 3, "runs past the end of the frame"},
        {"mmap past the end", {0xa1, 0x86, 0x01, 0x02, 0x03}, 5, "runs past the end of the frame"},
        /* Code 11 (roi) exists from version 1.1 on; craft() writes 1.0. */
        {"roi in a 1.0 trace", {0xa1, 0x8b, 0x00}, 3, "tag 0x8b): bad tag (an ROI marker in a version 1.0 trace)"},
    };
    return cr_make_param_array(bad_rec_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_rec_case *c, trace, malformed_record, .init = dir_make, .fini = dir_remove)
{
    const char *p = fpath("bad.trace");
    craft(p, c->data, c->len, 2, 0, 1, 1);
    expect_error(p, H, "frame 0: malformed record 1 (byte 1 of the frame's data, ");
    expect_error(p, H, c->what);
}

Test(trace, footer_disagrees)
{
    static const uint8_t data[] = {0xa1, 0x03, 0x10};   /* instr 1, load 8 */
    const char *p = fpath("counts.trace");
    /* Right record count, wrong kinds: found at the end. */
    uint64_t t = craft(p, data, sizeof data, 2, 0, 1, 1);
    /* The error names the first count that differs: accesses, in the
     * footer after the one index entry. */
    expect_error(p, t + 8 + 24 + 8,
                 "the footer counts 2 records, 0 accesses, 1 instructions, 1 events; the frames hold 2, 1, 1, 0");
    /* The index says 3 records in the frame: a file knows at the frame's
     * end, a stream at the trailer. */
    t = craft(p, data, sizeof data, 3, 2, 1, 0);
    expect_error_as(p, p, H, "frame 0 holds 2 records in");
    stdin_from(p);
    expect_error_as("-", "<stdin>", t, "the seek index (1 frames) disagrees with the 1 frames read");
}

/* ---- ROI markers (format 1.1) ------------------------------------------ */

/* Markers round-trip through the writer and reader; they count as records
 * but not as events in the footer (FORMAT.md), so a trace whose only
 * non-access records are markers still counts 0 events. */
Test(trace, roi_markers_round_trip_and_are_not_events, .init = dir_make, .fini = dir_remove)
{
    const trace_rec want[] = {
        {.kind = TR_ACCESS, .acc = MM_LOAD, .size = 8, .va = 0x1000},
        {.kind = TR_ROI, .roi = TR_ROI_BEGIN},
        {.kind = TR_INSTR, .count = 3},
        {.kind = TR_ACCESS, .acc = MM_STORE, .size = 4, .va = 0x2000},
        {.kind = TR_ROI, .roi = TR_ROI_END},
    };
    const char *p = fpath("roi.trace");
    write_trace(p, want, 5, 0);
    expect_records(p, want, 5);
    char err[512];
    trace_reader *r = trace_reader_open(p, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    const trace_meta *m = trace_reader_meta(r);
    cr_expect_eq(m->version_minor, 1);
    cr_expect_eq(m->records, 5);
    cr_expect_eq(m->accesses, 2);
    cr_expect_eq(m->instructions, 3);
    cr_expect_eq(m->events, 0);
    trace_reader_close(r);
    /* The encoding: tag 0x8b (event code 11), then the varint 0 or 1. */
    size_t len;
    uint8_t *b = slurp(p, &len);
    uint8_t out[64];
    size_t n = ZSTD_decompress(out, sizeof out, b + H, len - H - TRAILER(1));
    cr_assert(!ZSTD_isError(n), "%s", ZSTD_getErrorName(n));
    /* load 0x1000 (tag 0x03, zigzag 0x2000 = 80 40), roi begin (8b 00), ... */
    static const uint8_t head[] = {0x03, 0x80, 0x40, 0x8b, 0x00};
    cr_assert_geq(n, sizeof head + 2);
    cr_expect_arr_eq(out, head, sizeof head);
    cr_expect_eq(out[n - 2], 0x8b);
    cr_expect_eq(out[n - 1], 0x01);
    free(b);
    /* The writer refuses a marker other than begin or end. */
    trace_meta meta = test_meta();
    trace_writer *w = trace_writer_open(fpath("bad.trace"), &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    trace_rec bad = {.kind = TR_ROI, .roi = 2};
    cr_expect_eq(trace_write(w, &bad), -1);
    cr_expect_not_null(strstr(trace_writer_error(w), "record 0: invalid ROI marker 2"), "%s", trace_writer_error(w));
    trace_writer_abort(w);
}

/* In a 1.1 trace a marker's value other than 0 or 1 is malformed. */
Test(trace, roi_marker_value_checked, .init = dir_make, .fini = dir_remove)
{
    const char *p = fpath("roi2.trace");
    tenc_trace t;
    memset(&t, 0, sizeof t);
    tenc_header(&t.img, 1, 1, "t", "", "");
    t.hlen = t.img.len;
    cr_assert_eq(t.hlen, H);
    tenc_recs r = {0};
    static const uint8_t data[] = {0xa1, 0x8b, 0x02};
    tenc_raw(&r, data, sizeof data);
    r.records = 2;
    r.instructions = 1;
    tenc_frame(&t, &r, true, 0);
    tenc_end(&t);
    cr_assert_eq(tenc_save(&t, p), 0);
    tenc_trace_free(&t);
    expect_error(p, H, "frame 0: malformed record 1 (byte 1 of the frame's data, tag 0x8b): "
                       "ROI marker is not 0 (begin) or 1 (end)");
}
