/* test_hostile_trace.c -- hostile inputs and hostile conditions for the
 * trace I/O of the mmusim program.
 *
 * Files: each case is a trace that the tests' own encoder
 * (support/trace_enc.h, written from traces/FORMAT.md) makes valid and then
 * breaks in one place: a frame without its checksum, flipped and cut
 * bytes, magic and version, header fields, the trailer's T, F and size,
 * seek-index entries that do not chain, counts that disagree, malformed
 * records, a window too large, a skippable frame where none may be, bytes
 * after the footer.  `mmusim run FILE` must end with status 2 and exactly
 * one line, "mmusim: FILE: offset N: PROBLEM", N derived from the format
 * (FORMAT.md, Reading); representatives of each kind also go through
 * `mmusim trace info FILE` and a pipe (`cat FILE | mmusim run -`, named
 * "<stdin>").  The unbroken image is checked too, with status 0, so that a
 * case fails for its damage and not for the encoder.
 *
 * Signals: SIGINT, SIGTERM or SIGHUP to `trace gen`, to `trace import`
 * blocked on its input pipe, and (with valgrind) to `trace record`: the
 * program dies of that signal (a shell's status 128 + N), leaving neither
 * OUT nor OUT.tmp, and record's valgrind goes with it.
 *
 * Output failures: standard output on /dev/full or a closed pipe, a file
 * over the file-size limit (EFBIG, deterministic where a full disk is not),
 * a file that cannot be created: status 1, one line saying why, no OUT and
 * no OUT.tmp. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/run_prog.h"
#include "support/scratch.h"
#include "support/trace_enc.h"

static char dir[64];
static char out[1 << 16], err[1 << 12];

static void setup(void) { scratch_make(dir, "test_hostile_trace"); }
static void teardown(void) { scratch_remove(dir); }

TestSuite(hostile, .init = setup, .fini = teardown);

/* Run a shell line ($M the program, $D the scratch directory); its
 * status, with stdout and stderr in out and err. */
#define sh(...) prog_capturef(dir, out, sizeof out, err, sizeof err, __VA_ARGS__)

static const char *path_in(const char *name)
{
    static char bufs[4][256];
    static int i;
    char *b = bufs[i++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static bool exists(const char *name)
{
    struct stat st;
    return stat(path_in(name), &st) == 0;
}

/* ---- the standard image ------------------------------------------------- */

/* Places in the unbroken image an offset is relative to. */
enum place { P_NONE, P_ZERO, P_H, P_F1, P_T, P_FOOT, P_END };

typedef struct spot {
    int at;      /* enum place */
    long d;
} spot;

typedef struct layout {
    uint64_t at[P_END + 1];
} layout;

static uint64_t spot_off(const layout *l, spot s) { return l->at[s.at] + (uint64_t)s.d; }

/* How frame 0 and frame 1 are made.  The standard frames:
 *   frame 0: switch to pid 7, load 0x1000 (8 bytes), instr 3, store 0x1008 (4)
 *   frame 1: ifetch 0x401000 (4), load 0x2000 (8)
 * 6 records, 4 accesses, 3 instructions, 1 event; cpu 0, user. */
typedef struct frames_spec {
    bool no_checksum;            /* frame 0 without the checksum flag */
    unsigned window_log;         /* frame 0's window: 2^window_log bytes (0: the smallest) */
    uint8_t rec[16];             /* when rec_len: frame 0 is instr 1 and these bytes, said to be 2 records */
    uint8_t rec_len;
    bool empty_f1;               /* frame 1 holds no bytes; its entry says 2 records */
    bool skippable;              /* a skippable frame (magic 0x184D2A5E, 4 bytes) before the trailer */
} frames_spec;

static void build(tenc_trace *t, const frames_spec *f, layout *l)
{
    tenc_begin(t, "hostile");
    tenc_recs r = {0};
    if (f->rec_len) {
        tenc_instr(&r, 0, 1);
        tenc_raw(&r, f->rec, f->rec_len);
        r.records = 2;
    } else {
        tenc_switch(&r, 0, 7);
        tenc_access(&r, 0, TENC_LOAD, 0, 8, 0x1000);
        tenc_instr(&r, 0, 3);
        tenc_access(&r, 0, TENC_STORE, 0, 4, 0x1008);
    }
    tenc_frame(t, &r, !f->no_checksum, f->window_log);
    if (f->empty_f1) {
        r.records = 2;
        r.accesses = 2;
    } else {
        tenc_access(&r, 0, TENC_IFETCH, 0, 4, 0x401000);
        tenc_access(&r, 0, TENC_LOAD, 0, 8, 0x2000);
    }
    tenc_frame(t, &r, true, 0);
    if (f->skippable) {
        tenc_u32(&t->img, 0x184D2A5E);
        tenc_u32(&t->img, 4);
        tenc_u32(&t->img, 0);
    }
    tenc_end(t);
    *l = (layout){.at = {[P_ZERO] = 0, [P_H] = t->hlen, [P_F1] = t->e[1].off, [P_T] = t->T, [P_FOOT] = t->foot,
                         [P_END] = t->img.len}};
}

/* The unbroken image reads back as its records, replays, and comes
 * through a pipe; its window may be 2^24 bytes, the largest allowed. */
Test(hostile, the_unbroken_image_is_a_trace)
{
    static const frames_spec specs[] = {{0}, {.window_log = 24}};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        tenc_trace t;
        layout l;
        build(&t, &specs[i], &l);
        cr_assert_eq(tenc_save(&t, path_in("ok.trace")), 0);
        tenc_trace_free(&t);
        cr_assert_eq(sh("$M trace cat $D/ok.trace"), 0, "%s", err);
        cr_assert_str_eq(out, "switch 7\nL 0x1000 8\ninstr 3\nS 0x1008 4\nI 0x401000 4\nL 0x2000 8\n");
        cr_assert_eq(sh("$M trace info $D/ok.trace"), 0, "%s", err);
        cr_assert_not_null(strstr(out, "\nrecords: 6\n"), "%s", out);
        cr_assert_not_null(strstr(out, "\naccesses: 4\n"), "%s", out);
        cr_assert_not_null(strstr(out, "\ninstructions: 3\n"), "%s", out);
        cr_assert_not_null(strstr(out, "\nevents.switch: 1\n"), "%s", out);
        cr_assert_eq(sh("$M run $D/ok.trace"), 0, "%s", err);
        cr_assert_str_eq(err, "");
        cr_assert_eq(sh("cat $D/ok.trace | $M run -"), 0, "%s", err);
        cr_assert_str_eq(err, "");
    }
}

/* ---- broken files ------------------------------------------------------- */

enum op { E_NONE, E_XOR, E_SET8, E_SET16, E_SET32, E_SET64, E_ADD32, E_ADD64 };

typedef struct edit {
    int op;
    spot where;
    uint64_t v;      /* the byte to xor, the value to set or add (mod 2^32 or 2^64) */
} edit;

typedef struct hostile_case {
    char name[48];
    frames_spec f;
    edit ed[3];
    bool fix_crcs;   /* recompute the header's and the trailer's CRC after the edits */
    spot cut;        /* keep the bytes before it (P_NONE: all) */
    long append;     /* zero bytes added after the end */
    /* The one line, "FILE: offset N: " then what, a format whose %llu
     * take the offsets args (at most 2). */
    spot at;
    char what[128];
    spot args[2];
    bool pipe;       /* a representative: also `trace info FILE` and `cat FILE | mmusim run -` */
    /* The stream's error when it differs (pwhat[0]): a file's trailer is
     * checked at open, a stream meets the damage first. */
    spot pat;
    char pwhat[128];
    spot pargs[2];
} hostile_case;

#define MALFORMED "frame 0: malformed record 1 (byte 1 of the frame's data, "
#define COUNTS "the footer counts 6 records, "
#define CHECKSUM_MISMATCH "seek index or footer checksum mismatch"
#define NOT_HDR_CRC "corrupt header (checksum mismatch)"

ParameterizedTestParameters(hostile, broken_file)
{
    static hostile_case cases[] = {
        /* Record frames.  Byte 9 of a frame is its first data byte (magic 4,
         * header descriptor 1, window descriptor 1, block header 3): frame
         * 0's records are the switch, 82 07, then the load, 03 80 40, whose
         * VA byte 40 (byte 13) becomes 50 (0x1000 -> 0x1400) when flipped. */
        {.name = "frame 0 without checksum", .f = {.no_checksum = true}, .at = {P_H},
         .what = "frame 0 has no content checksum", .pipe = true},
        {.name = "no checksum and a flipped VA byte", .f = {.no_checksum = true},
         .ed = {{E_XOR, {P_H, 13}, 0x10}}, .at = {P_H}, .what = "frame 0 has no content checksum", .pipe = true},
        {.name = "a flipped VA byte", .ed = {{E_XOR, {P_H, 13}, 0x10}}, .at = {P_H},
         .what = "frame 0 is corrupt (zstd: Restored data doesn't match checksum)", .pipe = true},
        {.name = "a flipped checksum byte", .ed = {{E_XOR, {P_F1, -1}, 0x01}}, .at = {P_H},
         .what = "frame 0 is corrupt (zstd: Restored data doesn't match checksum)"},
        {.name = "reserved bit of the frame header", .ed = {{E_XOR, {P_H, 4}, 0x08}}, .at = {P_H},
         .what = "frame 0 is corrupt (zstd: Unsupported frame parameter)"},
        {.name = "a window of 32 MiB", .f = {.window_log = 25}, .at = {P_H},
         .what = "frame 0 is corrupt (zstd: Frame requires too much memory for decoding)", .pipe = true},
        {.name = "frame 1's magic", .ed = {{E_XOR, {P_F1, 0}, 0x5a}}, .at = {P_F1},
         .what = "not a zstd frame (magic 0xfd2fb572): corrupt file"},
        {.name = "frame 1 holds no records", .f = {.empty_f1 = true}, .at = {P_F1},
         .what = "frame 1 holds no records", .pipe = true},
        {.name = "a skippable frame before the trailer", .f = {.skippable = true}, .at = {P_T, 8 + 24 + 20},
         .what = "corrupt seek index: the last frame ends at offset %llu, not at the trailer (%llu)",
         .args = {{P_T, -12}, {P_T}}, .pipe = true, .pat = {P_T, -12},
         .pwhat = "a skippable frame (magic 0x184d2a5e) where a record frame or the trailer must be"},

        /* Malformed records, after instr 1 (byte 0). */
        {.name = "bad tag", .f = {.rec = {0x8c, 0x00}, .rec_len = 2}, .at = {P_H},
         .what = MALFORMED "tag 0x8c): bad tag", .pipe = true},
        /* Code 11 is the ROI marker of format 1.1; this encoder writes 1.0. */
        {.name = "roi in 1.0", .f = {.rec = {0x8b, 0x00}, .rec_len = 2}, .at = {P_H},
         .what = MALFORMED "tag 0x8b): bad tag (an ROI marker in a version 1.0 trace)", .pipe = true},
        {.name = "cpu byte on a fork", .f = {.rec = {0xc3, 0x01, 0x01, 0x02}, .rec_len = 4}, .at = {P_H},
         .what = MALFORMED "tag 0xc3): bad tag"},
        {.name = "varint overflow",
         .f = {.rec = {0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, .rec_len = 11},
         .at = {P_H}, .what = MALFORMED "tag 0x03): varint overflow"},
        {.name = "access size 0", .f = {.rec = {0x07, 0x00, 0x00}, .rec_len = 3}, .at = {P_H},
         .what = MALFORMED "tag 0x07): access size out of range 1..65535"},
        {.name = "pid 2^32", .f = {.rec = {0x84, 0x80, 0x80, 0x80, 0x80, 0x10}, .rec_len = 6}, .at = {P_H},
         .what = MALFORMED "tag 0x84): a 32-bit field out of range"},
        {.name = "cr3 noflush 2", .f = {.rec = {0x89, 0x00, 0x02}, .rec_len = 3}, .at = {P_H},
         .what = MALFORMED "tag 0x89): CR3 noflush byte is not 0 or 1", .pipe = true},
        {.name = "a record past the frame's end", .f = {.rec = {0x03, 0x80}, .rec_len = 2}, .at = {P_H},
         .what = MALFORMED "tag 0x03): the record runs past the end of the frame"},

        /* Truncation. */
        {.name = "empty file", .cut = {P_ZERO, 0}, .at = {P_ZERO},
         .what = "truncated header (the file ends at offset 0)"},
        {.name = "cut in the magic", .cut = {P_ZERO, 2}, .at = {P_ZERO},
         .what = "truncated header (the file ends at offset 2)"},
        {.name = "cut in the metadata", .cut = {P_H, -3}, .at = {P_ZERO},
         .what = "truncated header (the file ends at offset %llu)", .args = {{P_H, -3}}},
        {.name = "cut after frame 0", .cut = {P_F1}, .at = {P_F1}, .what = "truncated: the file ends before the footer",
         .pipe = true},
        {.name = "cut in frame 1's magic", .cut = {P_F1, 2}, .at = {P_F1},
         .what = "truncated: the file ends at offset %llu, before the footer", .args = {{P_F1, 2}}},
        {.name = "cut after frame 1's magic", .cut = {P_F1, 4}, .at = {P_F1},
         .what = "frame 1 is truncated (the file ends at offset %llu)", .args = {{P_F1, 4}}},
        {.name = "cut in frame 1's block", .cut = {P_F1, 12}, .at = {P_F1},
         .what = "frame 1 is truncated (the file ends at offset %llu)", .args = {{P_F1, 12}}, .pipe = true},
        {.name = "cut before the trailer", .cut = {P_T}, .at = {P_T},
         .what = "truncated: the file ends before the footer"},
        {.name = "cut in the seek index", .cut = {P_T, 8 + 24 + 3}, .at = {P_T},
         .what = "the seek index and footer are truncated (the file ends at offset %llu)", .args = {{P_T, 35}}},
        {.name = "cut before the last byte", .cut = {P_END, -1}, .at = {P_T},
         .what = "the seek index and footer are truncated (the file ends at offset %llu)", .args = {{P_END, -1}},
         .pipe = true},

        /* The header. */
        {.name = "skippable-frame magic", .ed = {{E_XOR, {P_ZERO, 0}, 0x01}}, .at = {P_ZERO},
         .what = "not an mmusim trace (bad magic)"},
        {.name = "trace magic", .ed = {{E_XOR, {P_ZERO, 8}, 0x01}}, .at = {P_ZERO},
         .what = "not an mmusim trace (bad magic)", .pipe = true},
        {.name = "major version 2", .ed = {{E_SET16, {P_ZERO, 16}, 2}}, .at = {P_ZERO, 16},
         .what = "format version 2.0 is newer than this reader's 1.1", .pipe = true},
        {.name = "version 0.0", .ed = {{E_SET16, {P_ZERO, 16}, 0}}, .at = {P_ZERO, 16},
         .what = "format version 0.0 is not supported"},
        {.name = "header size 15", .ed = {{E_SET32, {P_ZERO, 4}, 15}}, .at = {P_ZERO, 4},
         .what = "corrupt header: size 15 out of range 16..65536"},
        {.name = "header CRC", .ed = {{E_XOR, {P_H, -4}, 0x01}}, .at = {P_ZERO}, .what = NOT_HDR_CRC, .pipe = true},
        {.name = "a metadata byte", .ed = {{E_XOR, {P_ZERO, 22}, 0x20}}, .at = {P_ZERO}, .what = NOT_HDR_CRC},
        {.name = "metadata past the header", .ed = {{E_SET8, {P_ZERO, 21}, 100}}, .fix_crcs = true,
         .at = {P_ZERO, 20}, .what = "corrupt header: metadata field 1 runs past the header"},
        {.name = "NUL in the source", .ed = {{E_SET8, {P_ZERO, 22}, 0}}, .fix_crcs = true, .at = {P_ZERO, 20},
         .what = "corrupt header: metadata field 1 too long or holds a NUL"},

        /* The trailer: T, F, its size, its magic, its CRC. */
        {.name = "T + 1", .ed = {{E_ADD64, {P_FOOT, FT_T}, 1}}, .fix_crcs = true, .at = {P_FOOT, FT_T},
         .what = "corrupt footer: T = %llu, but the trailer is at offset %llu", .args = {{P_T, 1}, {P_T}},
         .pipe = true},
        {.name = "T + 1, CRC not fixed", .ed = {{E_ADD64, {P_FOOT, FT_T}, 1}}, .at = {P_FOOT, FT_T},
         .what = "corrupt footer: T = %llu, but the trailer is at offset %llu", .args = {{P_T, 1}, {P_T}},
         .pipe = true},
        {.name = "T - 1", .ed = {{E_ADD64, {P_FOOT, FT_T}, UINT64_MAX}}, .fix_crcs = true, .at = {P_FOOT, FT_T},
         .what = "corrupt footer: T = %llu, but the trailer is at offset %llu", .args = {{P_T, -1}, {P_T}}},
        {.name = "F + 1", .ed = {{E_ADD32, {P_FOOT, FT_F}, 1}}, .fix_crcs = true, .at = {P_FOOT, FT_F},
         .what = "corrupt footer: F = 3, but the trailer at offset %llu holds 2 index entries", .args = {{P_T}},
         .pipe = true},
        {.name = "F 0", .ed = {{E_SET32, {P_FOOT, FT_F}, 0}}, .fix_crcs = true, .at = {P_FOOT, FT_F},
         .what = "corrupt footer: F = 0, but the trailer at offset %llu holds 2 index entries", .args = {{P_T}}},
        {.name = "F 2^32 - 1", .ed = {{E_SET32, {P_FOOT, FT_F}, UINT32_MAX}}, .fix_crcs = true,
         .at = {P_FOOT, FT_F},
         .what = "corrupt footer: F = 4294967295, but the trailer at offset %llu holds 2 index entries",
         .args = {{P_T}}},
        {.name = "trailer size 81", .ed = {{E_SET32, {P_T, 4}, 81}}, .at = {P_T, 4},
         .what = "corrupt trailer: size 81 is not 56 + 24 * frames", .pipe = true},
        {.name = "trailer magic", .ed = {{E_XOR, {P_T, 0}, 0x01}}, .at = {P_T},
         .what = "corrupt trailer: bad magic 0x184d2a50", .pipe = true, .pat = {P_T},
         .pwhat = "a skippable frame (magic 0x184d2a50) where a record frame or the trailer must be"},
        {.name = "footer CRC", .ed = {{E_XOR, {P_FOOT, FT_CRC}, 0x01}}, .at = {P_T}, .what = CHECKSUM_MISMATCH,
         .pipe = true},
        {.name = "a footer count byte", .ed = {{E_XOR, {P_FOOT, FT_ACCESSES}, 0x01}}, .at = {P_T},
         .what = CHECKSUM_MISMATCH},
        {.name = "a seek index byte", .ed = {{E_XOR, {P_T, 8 + 24 + IE_CSIZE}, 0x01}}, .at = {P_T},
         .what = CHECKSUM_MISMATCH},
        {.name = "footer magic", .ed = {{E_XOR, {P_FOOT, FT_MAGIC}, 0x01}}, .at = {P_FOOT, FT_MAGIC},
         .what = "bad footer magic", .pipe = true},

        /* Seek-index entries that do not chain (FORMAT.md, Trailer). */
        {.name = "entry 0 not at H", .ed = {{E_ADD64, {P_T, 8 + IE_OFF}, 1}}, .fix_crcs = true, .at = {P_T, 8},
         .what = "corrupt seek index: entry 0 puts its frame at offset %llu, not %llu", .args = {{P_H, 1}, {P_H}},
         .pipe = true},
        {.name = "entry 1 not after frame 0", .ed = {{E_ADD64, {P_T, 32 + IE_OFF}, 1}}, .fix_crcs = true,
         .at = {P_T, 32}, .what = "corrupt seek index: entry 1 puts its frame at offset %llu, not %llu",
         .args = {{P_F1, 1}, {P_F1}}},
        {.name = "entry 1's first record", .ed = {{E_ADD64, {P_T, 32 + IE_FIRST}, 1}}, .fix_crcs = true,
         .at = {P_T, 40}, .what = "corrupt seek index: entry 1 starts at record 5, not 4", .pipe = true},
        {.name = "entry 1 without records", .ed = {{E_SET32, {P_T, 32 + IE_NREC}, 0}}, .fix_crcs = true,
         .at = {P_T, 48}, .what = "corrupt seek index: entry 1 has no records"},
        {.name = "entry 1 of 0 bytes", .ed = {{E_SET32, {P_T, 32 + IE_CSIZE}, 0}}, .fix_crcs = true,
         .at = {P_T, 52}, .what = "corrupt seek index: entry 1 has a frame of 0 bytes"},
        {.name = "the last frame past the trailer", .ed = {{E_ADD32, {P_T, 32 + IE_CSIZE}, 1}}, .fix_crcs = true,
         .at = {P_T, 52}, .what = "corrupt seek index: the last frame ends at offset %llu, not at the trailer (%llu)",
         .args = {{P_T, 1}, {P_T}}},
        /* Entries that chain but split the records 3 + 3 where the frames
         * hold 4 + 2: a file finds it at frame 0's end, a stream at the
         * trailer.  Frame 0 is 21 bytes: 13 of frame (magic, descriptors,
         * block header, checksum) and 8 of records (switch 2, load 3,
         * instr 1, store 2). */
        {.name = "entries that disagree with the frames",
         .ed = {{E_ADD32, {P_T, 8 + IE_NREC}, UINT32_MAX}, {E_ADD64, {P_T, 32 + IE_FIRST}, UINT64_MAX},
                {E_ADD32, {P_T, 32 + IE_NREC}, 1}},
         .fix_crcs = true, .at = {P_H},
         .what = "frame 0 holds 4 records in 21 bytes, the seek index says 3 in 21", .pipe = true, .pat = {P_T},
         .pwhat = "the seek index (2 frames) disagrees with the 2 frames read"},

        /* Counts. */
        {.name = "footer records + 1", .ed = {{E_ADD64, {P_FOOT, FT_RECORDS}, 1}}, .fix_crcs = true, .at = {P_FOOT},
         .what = "corrupt footer: 7 records, the seek index's frames hold 6", .pipe = true},
        {.name = "footer accesses + 1", .ed = {{E_ADD64, {P_FOOT, FT_ACCESSES}, 1}}, .fix_crcs = true,
         .at = {P_FOOT, FT_ACCESSES}, .what = COUNTS "5 accesses, 3 instructions, 1 events; the frames hold 6, 4, 3, 1",
         .pipe = true},
        {.name = "footer instructions + 1", .ed = {{E_ADD64, {P_FOOT, FT_INSTR}, 1}}, .fix_crcs = true,
         .at = {P_FOOT, FT_INSTR},
         .what = COUNTS "4 accesses, 4 instructions, 1 events; the frames hold 6, 4, 3, 1"},
        {.name = "footer events 0", .ed = {{E_SET64, {P_FOOT, FT_EVENTS}, 0}}, .fix_crcs = true,
         .at = {P_FOOT, FT_EVENTS}, .what = COUNTS "4 accesses, 3 instructions, 0 events; the frames hold 6, 4, 3, 1"},
        {.name = "more accesses than records", .ed = {{E_SET64, {P_FOOT, FT_ACCESSES}, 7}}, .fix_crcs = true,
         .at = {P_FOOT, FT_ACCESSES}, .what = "corrupt footer: 7 accesses in 6 records"},

        /* After the footer. */
        {.name = "a byte after the footer", .append = 1, .at = {P_END}, .what = "data after the footer", .pipe = true},
    };
    return cr_make_param_array(hostile_case, cases, sizeof cases / sizeof cases[0]);
}

static void apply(tenc_trace *t, const layout *l, const edit *e)
{
    static const size_t width[] = {[E_XOR] = 1, [E_SET8] = 1, [E_SET16] = 2, [E_SET32] = 4, [E_SET64] = 8,
                                   [E_ADD32] = 4, [E_ADD64] = 8};
    if (e->op == E_NONE)
        return;
    uint64_t at = spot_off(l, e->where);
    cr_assert_leq(at + width[e->op], t->img.len, "an edit past the image");
    uint8_t *p = t->img.b + at;
    switch (e->op) {
    case E_XOR: *p ^= (uint8_t)e->v; break;
    case E_SET8: *p = (uint8_t)e->v; break;
    case E_SET16: put_le16(p, (uint16_t)e->v); break;
    case E_SET32: put_le32(p, (uint32_t)e->v); break;
    case E_SET64: put_le64(p, e->v); break;
    case E_ADD32: put_le32(p, le32(p) + (uint32_t)e->v); break;
    case E_ADD64: put_le64(p, le64(p) + e->v); break;
    default: break;
    }
}

/* "mmusim: NAME: offset N: WHAT\n", WHAT with its offsets filled in. */
static void expected(char *buf, size_t len, const char *name, const layout *l, spot at, const char *what,
                     const spot args[2])
{
    char w[256];
    snprintf(w, sizeof w, what, (unsigned long long)spot_off(l, args[0]), (unsigned long long)spot_off(l, args[1]));
    snprintf(buf, len, "mmusim: %s: offset %llu: %s\n", name, (unsigned long long)spot_off(l, at), w);
}

/* Status 2, exactly the line `want` on stderr, nothing on stdout. */
static void expect_refused(const char *cmd, const char *want)
{
    cr_expect_eq(sh("%s", cmd), 2, "%s: %s", cmd, err);
    cr_expect_str_eq(err, want, "%s:\n got: %s want: %s", cmd, err, want);
    cr_expect_str_eq(out, "", "%s", cmd);
}

ParameterizedTest(hostile_case *c, hostile, broken_file)
{
    tenc_trace t;
    layout l;
    build(&t, &c->f, &l);
    for (int i = 0; i < 3; i++)
        apply(&t, &l, &c->ed[i]);
    if (c->fix_crcs) {
        tenc_header_crc(&t);
        tenc_trailer_crc(&t);
    }
    if (c->cut.at != P_NONE)
        t.img.len = spot_off(&l, c->cut);
    for (long i = 0; i < c->append; i++)
        tenc_u8(&t.img, 0);
    const char *p = path_in("h.trace");
    cr_assert_eq(tenc_save(&t, p), 0);
    tenc_trace_free(&t);

    char want[512];
    expected(want, sizeof want, p, &l, c->at, c->what, c->args);
    expect_refused("$M run $D/h.trace", want);
    if (c->pipe) {
        expect_refused("$M trace info $D/h.trace", want);
        if (c->pwhat[0])
            expected(want, sizeof want, "<stdin>", &l, c->pat, c->pwhat, c->pargs);
        else
            expected(want, sizeof want, "<stdin>", &l, c->at, c->what, c->args);
        expect_refused("cat $D/h.trace | $M run -", want);
    }
}

/* ---- fatal signals while OUT.tmp exists ----------------------------------- */

/* Start mmusim with argv, standard input from fd `in` (-1: /dev/null),
 * stdout to /dev/null, stderr to $D/sig.err; with the default action and
 * unblocked for every signal whatever the test runner set; in its own
 * process group when own_group (as a shell's foreground job). */
static pid_t start(char *const argv[], int in, int close_in_child, bool own_group)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid)
        return pid;
    if (own_group)
        setpgid(0, 0);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDWR);
    int e = open(path_in("sig.err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null < 0 || e < 0)
        _exit(126);
    dup2(in >= 0 ? in : null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    if (close_in_child >= 0)
        close(close_in_child);
    execv(MMUSIM_PROG, argv);
    _exit(127);
}

/* Poll every 10 ms until pred(arg) has held `times` polls in a row; false
 * once `seconds` have passed.  A bound against hanging, not a measure. */
static bool wait_until(bool (*pred)(const void *), const void *arg, int times, int seconds)
{
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += seconds;
    for (int held = 0;;) {
        held = pred(arg) ? held + 1 : 0;
        if (held == times)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec > end.tv_nsec))
            return false;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
}

static bool file_exists(const void *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The program died of sig, said nothing, and left neither OUT nor OUT.tmp. */
static void expect_killed(pid_t pid, int sig, const char *outname)
{
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == sig, "status 0x%x, expected death by signal %d (128 + %d)", st,
              sig, sig);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s.tmp", outname);
    cr_expect_not(exists(outname), "%s left", outname);
    cr_expect_not(exists(tmp), "%s left", tmp);
    char *e = scratch_slurp(path_in("sig.err"));
    cr_expect_str_eq(e ? e : "", "", "nothing on stderr");
    free(e);
}

typedef struct sig_case {
    char name[40];
    bool import;     /* trace import from a pipe mmusim blocks on; else trace gen */
    int sig;
} sig_case;

ParameterizedTestParameters(hostile, fatal_signal)
{
    static sig_case cases[] = {
        {"gen, SIGINT", false, SIGINT},
        {"gen, SIGTERM", false, SIGTERM},
        {"gen, SIGHUP", false, SIGHUP},
        {"import blocked on a pipe, SIGINT", true, SIGINT},
        {"import blocked on a pipe, SIGTERM", true, SIGTERM},
    };
    return cr_make_param_array(sig_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(sig_case *c, hostile, fatal_signal)
{
    char outp[256];
    snprintf(outp, sizeof outp, "%s", path_in("out.trace"));
    char tmp[260];
    snprintf(tmp, sizeof tmp, "%s.tmp", outp);
    pid_t pid;
    int fds[2] = {-1, -1};
    if (c->import) {
        /* One record, then the pipe stays open: the import has OUT.tmp
         * and waits in read(). */
        cr_assert_eq(pipe(fds), 0);
        char *argv[] = {"mmusim", "trace", "import", "--from", "text", "-", "-o", outp, NULL};
        pid = start(argv, fds[0], fds[1], false);
        close(fds[0]);
        cr_assert_eq(write(fds[1], "L 0x1000 8\n", 11), 11);
    } else {
        /* A billion accesses: far from done when the signal comes. */
        char *argv[] = {"mmusim", "trace", "gen", "sequential", "--count", "1000000000", "-o", outp, NULL};
        pid = start(argv, -1, -1, false);
    }
    cr_assert(wait_until(file_exists, tmp, 1, 60), "%s never appeared", tmp);
    cr_assert_eq(kill(pid, c->sig), 0);
    expect_killed(pid, c->sig, "out.trace");
    if (fds[1] >= 0)
        close(fds[1]);
}

/* The states of the live processes of group pgid (a zombie has
 * finished): how many there are, and how many of them are asleep. */
static void group_states(pid_t pgid, int *live, int *asleep)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    struct dirent *e;
    *live = *asleep = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p[300], buf[512];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *rp = strrchr(buf, ')');   /* the command name may hold anything */
        char state;
        int ppid, pgrp;
        if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid && state != 'Z') {
            ++*live;
            *asleep += state == 'S';
        }
    }
    closedir(d);
}

static bool group_gone(const void *arg)
{
    int live, asleep;
    group_states(*(const pid_t *)arg, &live, &asleep);
    return live == 0;
}

/* mmusim waits on an empty log pipe and valgrind in the command's sleep:
 * nobody writes, so only a signal can stop valgrind now. */
static bool group_asleep(const void *arg)
{
    int live, asleep;
    group_states(*(const pid_t *)arg, &live, &asleep);
    return live == 2 && asleep == 2;
}

/* trace record: Ctrl-C reaches mmusim, valgrind and the command (one
 * process group); SIGTERM to mmusim alone must stop valgrind too, which
 * sleeps and would not notice the closed log before its next write.
 * Either way mmusim dies of the signal and leaves no OUT.tmp. */
Test(hostile, record_killed)
{
    if (sh("valgrind --version") != 0)
        cr_skip_test("valgrind is not installed");
    const int sigs[2] = {SIGINT, SIGTERM};
    const bool whole_group[2] = {true, false};
    char outp[256], tmp[260];
    snprintf(outp, sizeof outp, "%s", path_in("rec.trace"));
    snprintf(tmp, sizeof tmp, "%s.tmp", outp);
    for (int i = 0; i < 2; i++) {
        char *argv[] = {"mmusim", "trace", "record", "-o", outp, "--", "sleep", "600", NULL};
        pid_t pid = start(argv, -1, -1, true);
        /* Asleep for 20 polls in a row: in its sleep, not between two
         * writes of lackey's start-up.  (On failure the group, this test's
         * own, is killed: no sleep 600 outlives the test.) */
        bool ready = wait_until(file_exists, tmp, 1, 60) && wait_until(group_asleep, &pid, 20, 60);
        if (!ready)
            kill(-pid, SIGKILL);
        cr_assert(ready, "no %s, or the command never got to its sleep", tmp);
        cr_assert_eq(kill(whole_group[i] ? -pid : pid, sigs[i]), 0);
        expect_killed(pid, sigs[i], "rec.trace");
        bool gone = wait_until(group_gone, &pid, 1, 30);
        if (!gone)
            kill(-pid, SIGKILL);
        cr_expect(gone, "valgrind outlived mmusim (signal %d)", sigs[i]);
    }
}

/* ---- failed outputs --------------------------------------------------- */

typedef struct out_case {
    char name[48];
    char setup[160];   /* run first, must succeed */
    char cmd[200];     /* must end with status 1 */
    /* The one line on stderr, $D for the scratch directory and # for a
     * number (the offset where a write failed depends on stdio's
     * buffering, not on the format). */
    char want[200];
    char gone[2][24];  /* files that must not exist */
} out_case;

#define IN_TRACE "$M trace gen zipf --count 20000 -o $D/in.trace"
#define IN_TEXT IN_TRACE " && $M trace export --text $D/in.trace -o $D/in.txt"
#define FULL "mmusim: writing standard output: No space left on device\n"
#define PIPE "mmusim: writing standard output: Broken pipe\n"
/* mmusim's own status, not head's; head leaves after 100 bytes of output
 * far larger than a pipe's buffer. */
#define CLOSED(c) "(" c "; echo $? > $D/st) | head -c 100 > /dev/null; exit $(cat $D/st)"
/* A file-size limit of 8 blocks (4 KiB in sh, 8 KiB in bash); SIGXFSZ
 * ignored, so a write past it fails with EFBIG. */
#define LIMITED(c) "ulimit -f 8; trap '' XFSZ; " c
#define EFBIG_TRACE "mmusim: $D/out.trace: offset #: write failed: File too large\n"

ParameterizedTestParameters(hostile, failed_output)
{
    static out_case cases[] = {
        {"gen -o - on a full disk", "", "$M trace gen zipf --count 100000 -o - > /dev/full", FULL, {""}},
        {"import -o - on a full disk", IN_TEXT, "$M trace import --from text $D/in.txt -o - > /dev/full", FULL, {""}},
        {"export on a full disk", IN_TRACE, "$M trace export --text $D/in.trace > /dev/full", FULL, {""}},
        {"cat on a full disk", IN_TRACE, "$M trace cat $D/in.trace > /dev/full", FULL, {""}},
        {"info on a full disk", IN_TRACE, "$M trace info $D/in.trace > /dev/full", FULL, {""}},
        {"gen -o - into a closed pipe", "", CLOSED("$M trace gen zipf --count 1000000 -o -"), PIPE, {""}},
        {"import -o - into a closed pipe", IN_TEXT, CLOSED("$M trace import --from text $D/in.txt -o -"), PIPE, {""}},
        {"export into a closed pipe", IN_TRACE, CLOSED("$M trace export --text $D/in.trace"), PIPE, {""}},
        {"cat into a closed pipe", IN_TRACE, CLOSED("$M trace cat $D/in.trace"), PIPE, {""}},
        {"gen -o FILE over the size limit", "", LIMITED("$M trace gen zipf --count 20000 -o $D/out.trace"),
         EFBIG_TRACE, {"out.trace", "out.trace.tmp"}},
        {"import -o FILE over the size limit", IN_TEXT,
         LIMITED("$M trace import --from text $D/in.txt -o $D/out.trace"), EFBIG_TRACE,
         {"out.trace", "out.trace.tmp"}},
        {"export -o FILE over the size limit", IN_TRACE,
         LIMITED("$M trace export --text $D/in.trace -o $D/out.txt"),
         "mmusim: $D/out.txt: write failed: File too large\n", {"out.txt", "out.txt.tmp"}},
        {"gen -o FILE in no directory", "", "$M trace gen zipf --count 10 -o $D/none/out.trace",
         "mmusim: $D/none/out.trace: offset 0: cannot create $D/none/out.trace.tmp: No such file or directory\n", {""}},
        {"export -o FILE in no directory", IN_TRACE, "$M trace export --text $D/in.trace -o $D/none/out.txt",
         "mmusim: $D/none/out.txt: cannot create $D/none/out.txt.tmp: No such file or directory\n", {""}},
    };
    return cr_make_param_array(out_case, cases, sizeof cases / sizeof cases[0]);
}

/* s matches pattern: "$D" stands for the scratch directory, "#" for one or
 * more digits, every other byte for itself. */
static bool matches(const char *s, const char *pat)
{
    size_t dl = strlen(dir);
    while (*pat) {
        if (!strncmp(pat, "$D", 2)) {
            if (strncmp(s, dir, dl))
                return false;
            s += dl;
            pat += 2;
        } else if (*pat == '#') {
            size_t n = strspn(s, "0123456789");
            if (!n)
                return false;
            s += n;
            pat++;
        } else if (*s++ != *pat++) {
            return false;
        }
    }
    return *s == 0;
}

ParameterizedTest(out_case *c, hostile, failed_output)
{
    if (c->setup[0])
        cr_assert_eq(sh("%s", c->setup), 0, "%s: %s", c->setup, err);
    cr_expect_eq(sh("%s", c->cmd), 1, "%s: %s", c->cmd, err);
    cr_expect(matches(err, c->want), "%s: stderr \"%s\", expected \"%s\"", c->cmd, err, c->want);
    for (int i = 0; i < 2; i++)
        if (c->gone[i][0])
            cr_expect_not(exists(c->gone[i]), "%s: %s left", c->cmd, c->gone[i]);
}
