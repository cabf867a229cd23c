/* fuzz_trace_reader.c -- libFuzzer target: arbitrary bytes into the trace
 * reader (trace.c), read twice: as a seekable file (footer and seek index
 * loaded at open, then trace_seek to a few records) and as a stream on
 * standard input ("-", the pipe path).  Must never crash, leak or hang.
 *
 * Mutated zstd frames rarely survive their checksum, so the record decoder
 * behind it is fuzzed a third way: the input, when short, also becomes the
 * content of one well-formed frame of an otherwise valid trace.
 *
 * The bytes go into a memfd, opened by its /proc/self/fd path, so the reader
 * runs exactly as on a file, without an API for memory input.
 *
 * Oracles beyond the sanitizers: every record has a valid kind and access
 * fields; every error reads "NAME: offset N: ..."; a clean end means the
 * footer's record count equals the records read.
 *
 * fuzz-sources: trace.c types.c
 * (run_fuzz.sh compiles only these model/src files for this target.) */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "mmusim/trace.h"

#include <zlib.h>

/* The format's CRC-32 is zlib's (FORMAT.md). */
static uint32_t zcrc32(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0, p, (uInt)n);
}

/* A few bytes can decompress to a great many records (zstd RLE blocks);
 * reading stops after this many, so one input stays well under a second. */
#define MAX_RECORDS 2000000u

static int mfd = -1;
static char mpath[64];

static void check_error(const char *name, const char *err)
{
    size_t n = strlen(name);
    if (strncmp(err, name, n) || strncmp(err + n, ": offset ", 9)) {
        fprintf(stderr, "error without \"%s: offset N: \": %s\n", name, err);
        abort();
    }
}

static void check_rec(const trace_rec *r)
{
    if (r->kind >= TR_KIND_COUNT)
        abort();
    if (r->kind == TR_ACCESS && (r->size < 1 || r->size > 65535 || r->acc > MM_IFETCH || r->priv > MM_SUPERVISOR))
        abort();
}

/* Read from where r is to the end; returns the records read (or -1 after
 * an error, -2 when stopped at MAX_RECORDS). */
static int64_t read_on(trace_reader *r, const char *name)
{
    trace_rec rec;
    int rc;
    uint64_t n = 0;
    while ((rc = trace_next(r, &rec)) == 1) {
        check_rec(&rec);
        if (++n >= MAX_RECORDS)
            return -2;
    }
    if (rc < 0) {
        check_error(name, trace_reader_error(r));
        if (trace_next(r, &rec) != -1)   /* errors are sticky */
            abort();
        return -1;
    }
    return (int64_t)n;
}

static void read_as(const char *path, const char *name)
{
    char err[4608];
    trace_reader *r = trace_reader_open(path, err, sizeof err);
    if (!r) {
        check_error(name, err);
        return;
    }
    int64_t n = read_on(r, name);
    const trace_meta *m = trace_reader_meta(r);
    if (n >= 0 && m->records != (uint64_t)n) {
        fprintf(stderr, "clean end after %" PRId64 " records, footer says %" PRIu64 "\n", n, m->records);
        abort();
    }
    /* Seekable: every frame start, the middle of the trace, its end. */
    size_t frames = trace_frames(r);
    for (size_t i = 0; i <= frames && i < 8; i++) {
        uint64_t at = i == frames ? m->records : trace_frame_first(r, i);
        if (i && at < trace_frame_first(r, i - 1))
            abort();
        if (trace_seek(r, at) == 0)
            read_on(r, name);
        else
            check_error(name, trace_reader_error(r));
    }
    if (frames && trace_seek(r, m->records / 2) == 0)
        read_on(r, name);
    trace_reader_close(r);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}


/* Inputs up to this size are also tried as the content of one frame. */
#define WRAP_MAX 4096

/* A valid trace whose one frame holds data: a header without metadata
 * (24 bytes), the frame, a trailer claiming one record.  Its length. */
static size_t wrap(const uint8_t *data, size_t size, uint8_t *out, size_t cap)
{
    static ZSTD_CCtx *cc;
    if (!cc) {
        cc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
    }
    put32(out, 0x184D2A50);
    put32(out + 4, 16);
    memcpy(out + 8, "MMUTRACE\x01\x00\x00\x00", 12);
    put32(out + 20, zcrc32(out + 8, 12));
    size_t cs = ZSTD_compress2(cc, out + 24, cap - 24 - 88, data, size);
    if (ZSTD_isError(cs))
        abort();
    uint64_t t = 24 + cs;
    uint8_t *q = out + t, *ft = q + 32;
    memset(q, 0, 88);
    put32(q, 0x184D2A51);
    put32(q + 4, 24 + 56);
    put64(q + 8, 24);       /* entry 0: offset 24, first record 0, */
    put32(q + 24, 1);       /* one record, */
    put32(q + 28, (uint32_t)cs);   /* cs bytes */
    put64(ft, 1);           /* footer: 1 record, 1 access */
    put64(ft + 8, 1);
    put64(ft + 32, t);
    put32(ft + 40, 1);
    put32(ft + 44, zcrc32(q + 8, 24 + 44));
    memcpy(ft + 48, "MMUTREND", 8);
    return t + 88;
}

static void put_file(const uint8_t *data, size_t size)
{
    if (ftruncate(mfd, 0))
        abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(mfd, data + done, size - done, (off_t)done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
}

/* Read the memfd's bytes as a file, then as a stream on stdin (a file on
 * stdin is read like a pipe). */
static void read_both(void)
{
    read_as(mpath, mpath);
    if (dup2(mfd, STDIN_FILENO) != STDIN_FILENO || lseek(STDIN_FILENO, 0, SEEK_SET) != 0)
        abort();
    read_as("-", "<stdin>");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mfd < 0) {
        mfd = memfd_create("trace", 0);
        if (mfd < 0)
            abort();
        snprintf(mpath, sizeof mpath, "/proc/self/fd/%d", mfd);
    }
    put_file(data, size);
    read_both();
    if (size <= WRAP_MAX) {
        static uint8_t img[24 + WRAP_MAX + WRAP_MAX / 64 + 512 + 88];
        put_file(img, wrap(data, size, img, sizeof img));
        read_both();
    }
    return 0;
}
