/* trace.c -- the compressed trace format (traces/FORMAT.md): record
 * comparison, the streaming writer and the streaming reader.
 *
 * A trace file is a valid zstd stream: the header and the trailer (seek
 * index + footer) are zstd skippable frames, the records live in ordinary
 * zstd frames with checksums.  Each record frame restarts the delta state
 * (previous VA per cpu and stream, current cpu), so any frame decodes on its
 * own.  Everything is written in one pass, so "-" (a pipe) works as well as
 * a file; only the reader's seek needs a regular file.
 *
 * The reader's hot path is trace_next: while at least REC_MAX decompressed
 * bytes are buffered it decodes one record with no bounds checks (no record
 * is longer than REC_MAX), otherwise it drops to next_slow, which refills
 * the buffer, steps over frame boundaries and decodes a frame's last
 * records against a zeroed tail.  A clean end of the trace is only a
 * complete, consistent footer; anything else is an error "PATH: offset N:
 * problem", N the file offset of the field at fault when one field is (the
 * footer's T, a seek-index entry's first record, ...), else of the header,
 * frame or trailer at fault (FORMAT.md, Reading).  A record frame must
 * carry a checksum: zstd checks one only when the frame has it.
 * Records are handed out as zstd produces them, before it has checked the
 * frame's checksum at the frame's end: a corrupt frame may yield records
 * before its error (buffering whole frames would cost up to 50 MiB).
 *
 * A regular file opened by name has its seek index loaded at open; a file
 * without a footer, and "-" always, are read as a stream, and their
 * trailer is checked against the frames as it is met. */
#define _POSIX_C_SOURCE 200809L
#include "mmusim/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "base/compiler.h"

/* ---- layout constants (FORMAT.md) ------------------------------------ */

#define HDR_MAGIC 0x184D2A50u   /* skippable frame holding the header */
#define TRL_MAGIC 0x184D2A51u   /* skippable frame holding seek index + footer */
#define ZFRAME_MAGIC 0xFD2FB528u /* ZSTD_MAGICNUMBER: a record frame */
#define FHD_CHECKSUM 0x04u      /* Content_Checksum_flag of a zstd frame's header descriptor (RFC 8878) */
#define SKIP_MAGIC 0x184D2A50u  /* zstd skippable frames: 0x184D2A50..0x184D2A5F */
#define SKIP_MAGIC_MASK 0xFFFFFFF0u
static const uint8_t trace_magic[8] = {'M', 'M', 'U', 'T', 'R', 'A', 'C', 'E'};
static const uint8_t footer_magic[8] = {'M', 'M', 'U', 'T', 'R', 'E', 'N', 'D'};

#define HDR_FIXED 20            /* skippable header 8 + magic 8 + version 4 */
#define HDR_CONTENT_MIN 16      /* magic 8 + version 4 + crc 4 */
#define HDR_CONTENT_MAX 65536   /* far above what three 1023-byte strings need */
#define IDX_ENTRY 24            /* u64 offset, u64 first record, u32 records, u32 bytes */
#define FOOTER_SIZE 56
#define FOOTER_CRC_AT 44        /* footer bytes covered by the trailer's CRC */

enum { META_SOURCE = 1, META_COMMAND = 2, META_RECORDER = 3 };

/* Longest encoded record: TR_MMAP = tag 1 + pid 5 + addr 10 + len 10 + prot
 * 5 + flags 5 + file_id 5 + offset 10 = 51 bytes (no cpu byte: mmap has no
 * cpu).  An access is at most tag 1 + cpu 1 + size 3 + va 10 = 15. */
#define REC_MAX 64

/* Tag byte.  Bit 7 clear: an access; bits 0-4 index acc_size[] (bits 3-4
 * the access code: 0 load, 1 store, 2 ifetch, 3 ifetch with the
 * instruction-length size table; bits 0-2 the size code), bit 5 priv.  Bit
 * 7 set: bits 0-5 a code: 0x20|n = TR_INSTR with count n (0..31), else the
 * trace_kind (TR_INSTR = count as a varint).  Bit 6 (both): a cpu byte
 * follows the tag and becomes the current cpu; only kinds with a cpu. */
#define TAG_EVENT 0x80u
#define TAG_CPU 0x40u
#define TAG_INSTR_SHORT 0x20u
#define SIZE_ESCAPE 7u       /* with access codes 0..2: a varint size follows */
#define ACC_IFETCH_B 3u      /* access code 3: an ifetch sized from the second table */
#define KINDS_WITH_CPU                                                                             \
    ((1u << TR_ACCESS) | (1u << TR_INSTR) | (1u << TR_SWITCH) | (1u << TR_CR3) | (1u << TR_INVLPG))

/* Delta state per (cpu, stream), index 2 * cpu + stream: stream 0 holds
 * the VA of the previous data access, stream 1 the end (VA + size) of the
 * previous instruction fetch, where straight-line code fetches next. */
#define NPREV (256 * 2)

/* Writer: encoded records are handed to zstd in chunks of RAW_CAP bytes.
 * Reader: decompressed records are buffered OB_CAP bytes at a time (small
 * enough to stay in L2), compressed input is read IN_CAP bytes at a time. */
#define RAW_CAP (1u << 20)
#define OB_CAP (128u << 10)
#define IN_CAP (256u << 10)

/* zstd level when the caller passes 0: level 3 writes at several hundred
 * MB/s; higher levels shrink access-heavy traces by a few percent only. */
#define DEFAULT_LEVEL 3
#define MAX_LEVEL 19            /* higher levels want windows above WINDOW_LOG_MAX */
#define WINDOW_LOG_MAX 24       /* readers refuse frames needing a larger window */

#define ERR_MAX 4352            /* a path of PATH_MAX and the message */

/* ---- small helpers ------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
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
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* CRC-32 (IEEE 802.3) of the header and trailer: zlib's crc32, which the
 * project links anyway.  Chainable: start at 0.  The structures it covers
 * are small (at most a few KiB), far below uInt's range. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc, p, (uInt)n);
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* LEB128 varint of at most 10 bytes; the 10th may only hold bit 63.  NULL
 * on overflow.  Reads past p only as far as the varint goes (<= 10 bytes). */
static inline const uint8_t *get_varint(const uint8_t *p, uint64_t *v)
{
    uint64_t x = *p++;
    if (LIKELY(x < 0x80)) {
        *v = x;
        return p;
    }
    x &= 0x7f;
    for (unsigned s = 7;; s += 7) {
        uint64_t b = *p++;
        if (s == 63) {
            if (b > 1)
                return NULL;
            x |= b << 63;
            break;
        }
        x |= (b & 0x7f) << s;
        if (b < 0x80)
            break;
    }
    *v = x;
    return p;
}

static uint64_t zigzag(uint64_t delta) { return (delta << 1) ^ (0 - (delta >> 63)); }
static inline uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

/* Access size by tag bits 0-4.  Codes 0..2 (load, store, ifetch) share
 * the power-of-two sizes, 0 = SIZE_ESCAPE; code 3 is an ifetch with the
 * x86 instruction lengths that are not powers of two. */
static const uint32_t acc_size[32] = {
    1, 2, 4, 8, 16, 32, 64, 0,
    1, 2, 4, 8, 16, 32, 64, 0,
    1, 2, 4, 8, 16, 32, 64, 0,
    3, 5, 6, 7, 9, 10, 11, 12,
};

/* Tag bits 0-4 of an access (acc_size[] holds its size or escapes). */
static unsigned acc_bits(unsigned acc, uint32_t size)
{
    unsigned base = acc << 3;
    for (unsigned i = 0; i < 7; i++)
        if (acc_size[base + i] == size)
            return base + i;
    if (acc == MM_IFETCH)
        for (unsigned i = 0; i < 8; i++)
            if (acc_size[ACC_IFETCH_B * 8 + i] == size)
                return ACC_IFETCH_B * 8 + i;
    return base + SIZE_ESCAPE;
}

/* ---- records ------------------------------------------------------- */

const char *trace_kind_name(trace_kind k)
{
    static const char *const names[TR_KIND_COUNT] = {
        "access", "instr", "switch", "fork", "exec", "exit", "mmap", "munmap", "mprotect", "cr3", "invlpg", "roi",
    };
    return (unsigned)k < TR_KIND_COUNT ? names[k] : "?";
}

bool trace_rec_equal(const trace_rec *a, const trace_rec *b)
{
    if (a->kind != b->kind)
        return false;
    switch ((trace_kind)a->kind) {
    case TR_ACCESS:
        return a->va == b->va && a->size == b->size && a->acc == b->acc && a->priv == b->priv && a->cpu == b->cpu;
    case TR_INSTR: return a->count == b->count && a->cpu == b->cpu;
    case TR_SWITCH: return a->cpu == b->cpu && a->pid == b->pid;
    case TR_FORK: return a->pid == b->pid && a->child == b->child;
    case TR_EXEC:
    case TR_EXIT: return a->pid == b->pid;
    case TR_MMAP:
        return a->pid == b->pid && a->addr == b->addr && a->len == b->len && a->prot == b->prot &&
               a->flags == b->flags && a->file_id == b->file_id && a->offset == b->offset;
    case TR_MUNMAP: return a->pid == b->pid && a->addr == b->addr && a->len == b->len;
    case TR_MPROTECT: return a->pid == b->pid && a->addr == b->addr && a->len == b->len && a->prot == b->prot;
    case TR_CR3: return a->cpu == b->cpu && a->value == b->value && a->noflush == b->noflush;
    case TR_INVLPG: return a->cpu == b->cpu && a->addr == b->addr;
    case TR_ROI: return a->roi == b->roi;
    case TR_KIND_COUNT: break;
    }
    return false;   /* an invalid kind equals nothing */
}

/* ---- writer ---------------------------------------------------------- */

/* One seek-index entry: a record frame's place and contents. */
typedef struct idx_entry {
    uint64_t off;     /* file offset of the frame's first byte */
    uint64_t first;   /* index of its first record in the trace */
    uint32_t nrec;    /* records in it, >= 1 */
    uint32_t csize;   /* its compressed size in bytes */
} idx_entry;

static void idx_encode(uint8_t *b, const idx_entry *e)
{
    put64(b, e->off);
    put64(b + 8, e->first);
    put32(b + 16, e->nrec);
    put32(b + 20, e->csize);
}

struct trace_writer {
    FILE *f;
    bool to_stdout;
    char *path, *tmp;           /* tmp: "PATH.tmp"; NULL for stdout */
    const char *name;           /* path or "<stdout>", for messages */
    ZSTD_CCtx *cctx;
    unsigned frame_records;     /* records per frame, >= 1 */
    uint8_t *raw;               /* RAW_CAP: encoded records not yet given to zstd */
    size_t raw_len;
    uint8_t *zout;              /* zstd's output, written out after every call */
    size_t zout_cap;
    uint64_t off;               /* bytes written so far = offset of the next byte */
    bool in_frame;
    uint64_t frame_off;         /* offset of the current frame */
    uint32_t frame_n;           /* records in the current frame */
    uint8_t cpu;                /* delta state of the current frame (see NPREV) */
    uint64_t prev[NPREV];
    idx_entry *idx;             /* one entry per finished frame (24 bytes per 1 Mi records) */
    size_t nidx, idx_cap;
    uint64_t records, accesses, instructions, events;
    bool failed;                /* sticky: every later call fails */
    int errnum;                 /* errno of the output operation that failed, 0 if none did */
    char err[ERR_MAX];
};

static int wfail(trace_writer *w, uint64_t off, const char *fmt, ...)
{
    int n = snprintf(w->err, sizeof w->err, "%s: offset %llu: ", w->name, (unsigned long long)off);
    if (n > 0 && (size_t)n < sizeof w->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err + n, sizeof w->err - (size_t)n, fmt, ap);
        va_end(ap);
    }
    w->failed = true;
    return -1;
}

/* The output failed with errno e ("write failed", "cannot rename X"):
 * errno stays e, so that a caller writing to standard output can say why. */
static int wfail_io(trace_writer *w, uint64_t off, int e, const char *what)
{
    wfail(w, off, "%s: %s", what, strerror(e));
    w->errnum = e;
    errno = e;
    return -1;
}

static int emit(trace_writer *w, const void *buf, size_t n)
{
    if (n && fwrite(buf, 1, n, w->f) != n)
        return wfail_io(w, w->off, errno, "write failed");
    w->off += n;
    return 0;
}

/* Give the buffered records to zstd: ZSTD_e_continue keeps the frame open,
 * ZSTD_e_end closes it (flushing everything, checksum included). */
static int zpush(trace_writer *w, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {w->raw, w->raw_len, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};
        size_t ret = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        if (ZSTD_isError(ret))
            return wfail(w, w->frame_off, "zstd: %s", ZSTD_getErrorName(ret));
        if (emit(w, w->zout, out.pos))
            return -1;
        if (mode == ZSTD_e_end ? ret == 0 : in.pos == in.size)
            break;
    }
    w->raw_len = 0;
    return 0;
}

static int end_frame(trace_writer *w)
{
    if (zpush(w, ZSTD_e_end))
        return -1;
    uint64_t csize = w->off - w->frame_off;
    if (csize > UINT32_MAX || w->nidx >= UINT32_MAX)
        return wfail(w, w->frame_off, "frame too large for the seek index");
    mm_grow(&w->idx, &w->idx_cap, w->nidx, sizeof *w->idx, 64);
    w->idx[w->nidx++] = (idx_entry){.off = w->frame_off, .first = w->records - w->frame_n,
                                    .nrec = w->frame_n, .csize = (uint32_t)csize};
    w->in_frame = false;
    return 0;
}

static size_t put_meta(uint8_t *p, unsigned tag, const char *s)
{
    size_t n = s ? strnlen(s, TRACE_META_STR - 1) : 0;
    uint8_t *q = p;
    *q++ = (uint8_t)tag;
    q = put_varint(q, n);
    memcpy(q, s ? s : "", n);
    return (size_t)(q - p) + n;
}

static void writer_free(trace_writer *w)
{
    ZSTD_freeCCtx(w->cctx);
    free(w->raw);
    free(w->zout);
    free(w->idx);
    free(w->path);
    free(w->tmp);
    free(w);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

trace_writer *trace_writer_open(const char *path, const trace_meta *meta, unsigned frame_records, int level,
                                char *err, size_t errlen)
{
    trace_writer *w = mm_xcalloc(1, sizeof *w);
    w->to_stdout = strcmp(path, "-") == 0;
    w->path = mm_xstrdup(path);
    w->name = w->to_stdout ? "<stdout>" : w->path;
    w->frame_records = frame_records ? frame_records : TRACE_FRAME_RECORDS;
    if (level == 0)
        level = DEFAULT_LEVEL;
    if (level < 1 || level > MAX_LEVEL) {
        wfail(w, 0, "zstd level %d out of range 1..%d", level, MAX_LEVEL);
        goto fail;
    }
    w->cctx = ZSTD_createCCtx();
    w->raw = mm_xmalloc(RAW_CAP);
    w->zout_cap = ZSTD_CStreamOutSize();
    w->zout = mm_xmalloc(w->zout_cap);
    if (!w->cctx)
        abort();   /* zstd's own allocation: out of host memory */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1))) {
        wfail(w, 0, "zstd refuses level %d", level);
        goto fail;
    }
    if (w->to_stdout) {
        w->f = stdout;
    } else {
        size_t n = strlen(path);
        w->tmp = mm_xmalloc(n + 5);
        memcpy(w->tmp, path, n);
        memcpy(w->tmp + n, ".tmp", 5);
        w->f = fopen(w->tmp, "wb");
        if (!w->f) {
            char what[ERR_MAX];
            int e = errno;
            snprintf(what, sizeof what, "cannot create %s", w->tmp);
            wfail_io(w, 0, e, what);
            goto fail;
        }
    }

    /* Header: a skippable frame, its content ended by a CRC of the rest. */
    uint8_t hdr[HDR_FIXED + 3 * (1 + 2 + TRACE_META_STR) + 4];
    size_t n = HDR_FIXED;
    put32(hdr, HDR_MAGIC);
    memcpy(hdr + 8, trace_magic, 8);
    put16(hdr + 16, TRACE_VERSION_MAJOR);
    put16(hdr + 18, TRACE_VERSION_MINOR);
    n += put_meta(hdr + n, META_SOURCE, meta ? meta->source : NULL);
    n += put_meta(hdr + n, META_COMMAND, meta ? meta->command : NULL);
    n += put_meta(hdr + n, META_RECORDER, meta ? meta->recorder : NULL);
    put32(hdr + n, crc32_update(0, hdr + 8, n - 8));
    n += 4;
    put32(hdr + 4, (uint32_t)(n - 8));
    if (emit(w, hdr, n))
        goto fail;
    return w;

fail:
    set_err(err, errlen, w->err);
    int e = w->errnum ? w->errnum : EINVAL;
    trace_writer_abort(w);
    errno = e;
    return NULL;
}

const char *trace_writer_error(const trace_writer *w) { return w->err; }

int trace_writer_errno(const trace_writer *w) { return w->errnum; }

const char *trace_writer_tmp_path(const trace_writer *w) { return w->tmp; }

int trace_write(trace_writer *w, const trace_rec *r)
{
    if (UNLIKELY(w->failed))
        return -1;
    if (r->kind >= TR_KIND_COUNT)
        return wfail(w, w->off, "record %llu: invalid kind %u", (unsigned long long)w->records, r->kind);
    if (r->kind == TR_ROI && r->roi > TR_ROI_END)
        return wfail(w, w->off, "record %llu: invalid ROI marker %u", (unsigned long long)w->records, r->roi);
    if (r->kind == TR_ACCESS && (r->size < 1 || r->size > 65535 || r->acc > MM_IFETCH || r->priv > MM_SUPERVISOR))
        return wfail(w, w->off, "record %llu: invalid access (size %u, kind %u, priv %u)",
                     (unsigned long long)w->records, r->size, r->acc, r->priv);
    if (!w->in_frame) {
        w->in_frame = true;
        w->frame_off = w->off;
        w->frame_n = 0;
        w->cpu = 0;
        memset(w->prev, 0, sizeof w->prev);
    }
    if (w->raw_len > RAW_CAP - REC_MAX && zpush(w, ZSTD_e_continue))
        return -1;

    uint8_t *p = w->raw + w->raw_len;
    uint8_t *tag = p++;
    unsigned t;
    if ((KINDS_WITH_CPU >> r->kind & 1) && r->cpu != w->cpu) {
        *p++ = r->cpu;
        w->cpu = r->cpu;
        t = TAG_CPU;
    } else {
        t = 0;
    }
    switch ((trace_kind)r->kind) {
    case TR_ACCESS: {
        unsigned ab = acc_bits(r->acc, r->size);
        t |= ab | (unsigned)r->priv << 5;
        if (acc_size[ab] == 0)
            p = put_varint(p, r->size);
        /* Data: delta from the previous data access.  Ifetch: delta from
         * the end of the previous fetch, so straight-line code costs 0. */
        bool ifetch = r->acc == MM_IFETCH;
        uint64_t *pv = &w->prev[2u * r->cpu + ifetch];
        p = put_varint(p, zigzag(r->va - *pv));
        *pv = r->va + (ifetch ? r->size : 0);
        w->accesses++;
        break;
    }
    case TR_INSTR:
        if (r->count < 32) {
            t |= TAG_EVENT | TAG_INSTR_SHORT | (unsigned)r->count;
        } else {
            t |= TAG_EVENT | TR_INSTR;
            p = put_varint(p, r->count);
        }
        w->instructions += r->count;
        break;
    case TR_ROI:
        t |= TAG_EVENT | TR_ROI;   /* a marker, not an event: the footer does not count it */
        p = put_varint(p, r->roi);
        break;
    default:
        t |= TAG_EVENT | r->kind;
        w->events++;
        switch ((trace_kind)r->kind) {
        case TR_FORK:
            p = put_varint(p, r->pid);
            p = put_varint(p, r->child);
            break;
        case TR_MMAP:
        case TR_MUNMAP:
        case TR_MPROTECT:
            p = put_varint(p, r->pid);
            p = put_varint(p, r->addr);
            p = put_varint(p, r->len);
            if (r->kind != TR_MUNMAP)
                p = put_varint(p, r->prot);
            if (r->kind == TR_MMAP) {
                p = put_varint(p, r->flags);
                p = put_varint(p, r->file_id);
                p = put_varint(p, r->offset);
            }
            break;
        case TR_CR3:
            p = put_varint(p, r->value);
            *p++ = r->noflush ? 1 : 0;
            break;
        case TR_INVLPG: p = put_varint(p, r->addr); break;
        default: p = put_varint(p, r->pid); break;   /* switch, exec, exit */
        }
        break;
    }
    *tag = (uint8_t)t;
    w->raw_len = (size_t)(p - w->raw);
    w->records++;
    if (++w->frame_n == w->frame_records)
        return end_frame(w);
    return 0;
}

static int sink_put(void *ctx, const trace_rec *r) { return trace_write(ctx, r); }

trace_sink trace_writer_sink(trace_writer *w) { return (trace_sink){.put = sink_put, .ctx = w}; }

int trace_writer_close(trace_writer *w, char *err, size_t errlen)
{
    if (!w->failed && w->in_frame)
        end_frame(w);
    if (!w->failed) {
        /* Trailer: a skippable frame of the seek index and the footer. */
        size_t tsize = 8 + IDX_ENTRY * w->nidx + FOOTER_SIZE;
        uint8_t *t = mm_xmalloc(tsize);
        uint64_t toff = w->off;
        put32(t, TRL_MAGIC);
        put32(t + 4, (uint32_t)(tsize - 8));
        for (size_t i = 0; i < w->nidx; i++)
            idx_encode(t + 8 + IDX_ENTRY * i, &w->idx[i]);
        uint8_t *ft = t + 8 + IDX_ENTRY * w->nidx;
        put64(ft, w->records);
        put64(ft + 8, w->accesses);
        put64(ft + 16, w->instructions);
        put64(ft + 24, w->events);
        put64(ft + 32, toff);
        put32(ft + 40, (uint32_t)w->nidx);
        put32(ft + 44, crc32_update(0, t + 8, (size_t)(ft + FOOTER_CRC_AT - (t + 8))));
        memcpy(ft + 48, footer_magic, 8);
        emit(w, t, tsize);
        free(t);
    }
    if (w->to_stdout) {
        if (fflush(w->f) && !w->failed)
            wfail_io(w, w->off, errno, "write failed");
    } else {
        if (fclose(w->f) && !w->failed)
            wfail_io(w, w->off, errno, "write failed");
        w->f = NULL;
        if (!w->failed && rename(w->tmp, w->path)) {
            char what[ERR_MAX];
            int e = errno;
            snprintf(what, sizeof what, "cannot rename %s", w->tmp);
            wfail_io(w, w->off, e, what);
        }
        if (w->failed)
            unlink(w->tmp);
    }
    int rc = w->failed ? -1 : 0;
    int e = w->errnum;
    if (rc)
        set_err(err, errlen, w->err);
    writer_free(w);
    if (rc)
        errno = e;
    return rc;
}

void trace_writer_abort(trace_writer *w)
{
    if (!w)
        return;
    if (w->f && !w->to_stdout) {
        fclose(w->f);
        unlink(w->tmp);
    } else if (w->f) {
        fflush(w->f);
    }
    writer_free(w);
}

/* ---- reader ---------------------------------------------------------- */

enum { ST_BOUNDARY, ST_FRAME, ST_END, ST_ERROR };

struct trace_reader {
    /* Hot decode state.  [p, end) are the current frame's decompressed,
     * not yet decoded bytes in ob; while p < lim (lim = end - REC_MAX, or ob
     * when fewer bytes are buffered, or p itself when decoding must stop) a
     * whole record is buffered whatever its bytes say. */
    const uint8_t *p, *lim, *end;
    uint64_t frame_n;           /* records decoded from the current frame */
    uint64_t n_acc, n_instr, instr_sum, n_ev;   /* totals since the start */
    unsigned cpu;               /* current cpu of the frame's delta state */
    const char *why;            /* why the last decode failed */
    uint64_t prev[NPREV];       /* delta state of this frame (see NPREV) */

    int fd;
    bool is_stdin;
    char *path;
    const char *name;           /* path or "<stdin>", for messages */
    int st;
    bool zdone;                 /* zstd has delivered all of the current frame */
    uint8_t *ob;                /* OB_CAP + REC_MAX: the REC_MAX tail is zeroed for a frame's last records */
    uint64_t ob_base;           /* offset of ob[0] in the frame's decompressed data */
    uint8_t *in;                /* IN_CAP bytes of the file from in_base */
    size_t in_pos, in_len;
    uint64_t in_base;
    ZSTD_DCtx *dctx;
    uint64_t frame_off;         /* file offset of the current frame */
    size_t frame_k;             /* index of the current (or next) frame */
    uint64_t rec_base;          /* records in the frames before frame_k */

    uint64_t hlen;              /* the header's length H: where frame 0 starts */
    /* The seek index, for a regular file with a footer (else idx NULL). */
    idx_entry *idx;
    size_t nidx;
    uint64_t index_off;         /* T, once the trailer is known */
    uint64_t footer_off;        /* T + 8 + 24 F */
    bool seeked;                /* totals no longer cover the trace from its start */
    uint32_t obs_crc;           /* without an index: CRC of the index entries the frames read imply */

    trace_meta meta;
    char err[ERR_MAX];
};

static void rset_lim(trace_reader *r)
{
    r->lim = r->end - r->ob >= REC_MAX ? r->end - REC_MAX : r->ob;
}

static int rfail(trace_reader *r, uint64_t off, const char *fmt, ...)
{
    int n = snprintf(r->err, sizeof r->err, "%s: offset %llu: ", r->name, (unsigned long long)off);
    if (n > 0 && (size_t)n < sizeof r->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->st = ST_ERROR;
    r->lim = r->p;
    return -1;
}

/* Read into in[in_len..] until at least `want` bytes are buffered or EOF;
 * the number buffered, or -1 on a read error. */
static long rread(trace_reader *r, size_t want)
{
    while (r->in_len < want) {
        ssize_t n = read(r->fd, r->in + r->in_len, IN_CAP - r->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rfail(r, r->in_base + r->in_len, "read error: %s", strerror(errno));
        if (n == 0)
            break;
        r->in_len += (size_t)n;
    }
    return (long)r->in_len;
}

/* Make n (<= IN_CAP) bytes available at in + in_pos; returns how many are
 * (fewer only at the end of the file), -1 on a read error. */
static long need(trace_reader *r, size_t n)
{
    if (r->in_len - r->in_pos >= n)
        return (long)n;
    memmove(r->in, r->in + r->in_pos, r->in_len - r->in_pos);
    r->in_base += r->in_pos;
    r->in_len -= r->in_pos;
    r->in_pos = 0;
    long got = rread(r, n);
    return got < 0 ? -1 : got < (long)n ? got : (long)n;
}

/* The position in the file of the next unread byte. */
static uint64_t rpos(const trace_reader *r) { return r->in_base + r->in_pos; }

/* Decode one record at p.  The caller guarantees REC_MAX readable bytes.
 * Returns the byte after it, or NULL with r->why set. */
static NOINLINE const uint8_t *dec_event(trace_reader *r, const uint8_t *p, trace_rec *o);

/* Fill every field of *o.  Field by field: a compound literal of the
 * 88-byte struct makes GCC zero it with `rep stos`, which costs more than
 * the rest of the decode. */
static ALWAYS_INLINE void rec_fill(trace_rec *o, unsigned kind, unsigned cpu, unsigned acc, unsigned priv,
                                   uint32_t size, uint64_t va, uint64_t count)
{
    o->kind = (uint8_t)kind;
    o->cpu = (uint8_t)cpu;
    o->acc = (uint8_t)acc;
    o->priv = (uint8_t)priv;
    o->size = size;
    o->va = va;
    o->count = count;
    o->pid = o->child = 0;
    o->addr = o->len = o->offset = 0;
    o->prot = o->flags = o->file_id = 0;
    o->value = 0;
    o->noflush = false;
}

static ALWAYS_INLINE const uint8_t *dec_rec(trace_reader *r, const uint8_t *p, trace_rec *o)
{
    unsigned t = *p;
    if (LIKELY(t < TAG_EVENT)) {
        p++;
        if (UNLIKELY(t & TAG_CPU))
            r->cpu = *p++;
        unsigned ifetch = (t >> 4) & 1;   /* access codes 2 and 3 */
        unsigned acc = ifetch ? MM_IFETCH : (t >> 3) & 1;
        uint32_t size = acc_size[t & 0x1f];
        if (UNLIKELY(size == 0)) {
            uint64_t s;
            p = get_varint(p, &s);
            if (!p || s < 1 || s > 65535) {
                r->why = "access size out of range 1..65535";
                return NULL;
            }
            size = (uint32_t)s;
        }
        uint64_t z;
        p = get_varint(p, &z);
        if (UNLIKELY(!p)) {
            r->why = "varint overflow";
            return NULL;
        }
        uint64_t *pv = &r->prev[2 * r->cpu + ifetch];
        uint64_t va = *pv + unzigzag(z);
        *pv = va + (size & (0 - ifetch));
        rec_fill(o, TR_ACCESS, r->cpu, acc, (t >> 5) & 1, size, va, 0);
        r->n_acc++;
        return p;
    }
    if (LIKELY((t & ~0x1fu) == (TAG_EVENT | TAG_INSTR_SHORT))) {
        rec_fill(o, TR_INSTR, r->cpu, 0, 0, 0, 0, t & 0x1f);
        r->n_instr++;
        r->instr_sum += t & 0x1f;
        return p + 1;
    }
    return dec_event(r, p, o);
}

static NOINLINE const uint8_t *dec_event(trace_reader *r, const uint8_t *p, trace_rec *o)
{
    unsigned t = *p++;
    unsigned code = t & 0x3f;
    bool short_instr = (code & ~0x1fu) == TAG_INSTR_SHORT;
    unsigned kind = short_instr ? TR_INSTR : code;
    if (kind == TR_ACCESS || kind >= TR_KIND_COUNT || ((t & TAG_CPU) && !(KINDS_WITH_CPU >> kind & 1))) {
        r->why = "bad tag";
        return NULL;
    }
    if (kind == TR_ROI && r->meta.version_minor < 1) {
        r->why = "bad tag (an ROI marker in a version 1.0 trace)";
        return NULL;
    }
    if (t & TAG_CPU)
        r->cpu = *p++;
    *o = (trace_rec){.kind = (uint8_t)kind};
    if (KINDS_WITH_CPU >> kind & 1)
        o->cpu = (uint8_t)r->cpu;
    /* Every field is read as a varint; 32-bit fields must fit. */
    uint64_t v[7] = {0};
    static const uint8_t nfields[TR_KIND_COUNT] = {
        [TR_INSTR] = 1, [TR_SWITCH] = 1, [TR_FORK] = 2, [TR_EXEC] = 1, [TR_EXIT] = 1,
        [TR_MMAP] = 7, [TR_MUNMAP] = 3, [TR_MPROTECT] = 4, [TR_CR3] = 1, [TR_INVLPG] = 1, [TR_ROI] = 1,
    };
    unsigned nf = short_instr ? 0 : nfields[kind];
    for (unsigned i = 0; i < nf; i++) {
        p = get_varint(p, &v[i]);
        if (!p) {
            r->why = "varint overflow";
            return NULL;
        }
    }
    switch ((trace_kind)kind) {
    case TR_INSTR:
        o->count = short_instr ? code & 0x1f : v[0];
        r->n_instr++;
        r->instr_sum += o->count;
        return p;
    case TR_CR3:
        if (*p > 1) {
            r->why = "CR3 noflush byte is not 0 or 1";
            return NULL;
        }
        o->value = v[0];
        o->noflush = *p++;
        break;
    case TR_INVLPG: o->addr = v[0]; break;
    case TR_ROI:
        if (v[0] > TR_ROI_END) {
            r->why = "ROI marker is not 0 (begin) or 1 (end)";
            return NULL;
        }
        o->roi = (uint8_t)v[0];
        return p;   /* not an event */
    case TR_FORK:
        if (v[1] > UINT32_MAX)
            goto too_big;
        o->child = (uint32_t)v[1];
        /* fall through */
    case TR_SWITCH:
    case TR_EXEC:
    case TR_EXIT:
        if (v[0] > UINT32_MAX)
            goto too_big;
        o->pid = (uint32_t)v[0];
        break;
    case TR_MMAP:
    case TR_MUNMAP:
    case TR_MPROTECT:
        if (v[0] > UINT32_MAX || v[3] > UINT32_MAX || v[4] > UINT32_MAX || v[5] > UINT32_MAX)
            goto too_big;
        o->pid = (uint32_t)v[0];
        o->addr = v[1];
        o->len = v[2];
        o->prot = (uint32_t)v[3];
        o->flags = (uint32_t)v[4];
        o->file_id = (uint32_t)v[5];
        o->offset = v[6];
        break;
    case TR_ACCESS:
    case TR_KIND_COUNT: break;   /* excluded above */
    }
    r->n_ev++;
    return p;
too_big:
    r->why = "a 32-bit field out of range";
    return NULL;
}

static int refill(trace_reader *r);

/* A record that does not decode.  A corrupt frame decodes to garbage before
 * zstd meets its checksum at the frame's end, so the rest of the frame is
 * decompressed first: a zstd error (or a truncation) is the better
 * diagnosis and wins. */
static NOINLINE int malformed(trace_reader *r, const uint8_t *at)
{
    char msg[256];
    snprintf(msg, sizeof msg, "frame %zu: malformed record %llu (byte %llu of the frame's data, tag 0x%02x): %s",
             r->frame_k, (unsigned long long)(r->rec_base + r->frame_n),
             (unsigned long long)(r->ob_base + (uint64_t)(at - r->ob)), *at, r->why);
    while (!r->zdone) {
        r->p = r->end;
        if (refill(r))
            return -1;
    }
    return rfail(r, r->frame_off, "%s", msg);
}

/* Decompress more of the current frame into ob, keeping the undecoded tail. */
static int refill(trace_reader *r)
{
    size_t keep = (size_t)(r->end - r->p);
    r->ob_base += (uint64_t)(r->p - r->ob);
    memmove(r->ob, r->p, keep);
    ZSTD_outBuffer out = {r->ob, OB_CAP, keep};
    while (out.pos < out.size) {
        if (r->in_pos == r->in_len) {
            r->in_base += r->in_len;
            r->in_pos = r->in_len = 0;
            long got = rread(r, 1);
            if (got < 0)
                return -1;
            if (got == 0)
                return rfail(r, r->frame_off, "frame %zu is truncated (the file ends at offset %llu)",
                             r->frame_k, (unsigned long long)r->in_base);
        }
        ZSTD_inBuffer in = {r->in, r->in_len, r->in_pos};
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);
        r->in_pos = in.pos;
        if (ZSTD_isError(ret))
            return rfail(r, r->frame_off, "frame %zu is corrupt (zstd: %s)", r->frame_k, ZSTD_getErrorName(ret));
        if (ret == 0) {
            r->zdone = true;
            break;
        }
    }
    r->p = r->ob;
    r->end = r->ob + out.pos;
    rset_lim(r);
    return 0;
}

/* The current frame is fully decoded: check it against the index. */
static int finish_frame(trace_reader *r)
{
    uint64_t csize = rpos(r) - r->frame_off;
    if (r->frame_n == 0)
        return rfail(r, r->frame_off, "frame %zu holds no records", r->frame_k);
    if (r->idx) {
        const idx_entry *e = &r->idx[r->frame_k];
        if (e->nrec != r->frame_n || e->csize != csize)
            return rfail(r, r->frame_off, "frame %zu holds %llu records in %llu bytes, the seek index says %u in %u",
                         r->frame_k, (unsigned long long)r->frame_n, (unsigned long long)csize, e->nrec, e->csize);
    } else {
        if (r->frame_n > UINT32_MAX || csize > UINT32_MAX)
            return rfail(r, r->frame_off, "frame %zu is too large", r->frame_k);
        idx_entry e = {r->frame_off, r->rec_base, (uint32_t)r->frame_n, (uint32_t)csize};
        uint8_t b[IDX_ENTRY];
        idx_encode(b, &e);
        r->obs_crc = crc32_update(r->obs_crc, b, sizeof b);
    }
    r->rec_base += r->frame_n;
    r->frame_k++;
    r->st = ST_BOUNDARY;
    return 0;
}

/* The trace ended cleanly: compare the footer's counts with what was
 * read.  The error names the first count field that disagrees. */
static int clean_end(trace_reader *r)
{
    const trace_meta *m = &r->meta;
    if (!r->seeked) {
        const uint64_t want[4] = {m->records, m->accesses, m->instructions, m->events};
        const uint64_t got[4] = {r->rec_base, r->n_acc, r->instr_sum, r->n_ev};
        for (int i = 0; i < 4; i++)
            if (want[i] != got[i])
                return rfail(r, r->footer_off + 8u * (unsigned)i,
                             "the footer counts %llu records, %llu accesses, %llu instructions, %llu events; "
                             "the frames hold %llu, %llu, %llu, %llu",
                             (unsigned long long)want[0], (unsigned long long)want[1], (unsigned long long)want[2],
                             (unsigned long long)want[3], (unsigned long long)got[0], (unsigned long long)got[1],
                             (unsigned long long)got[2], (unsigned long long)got[3]);
    }
    r->st = ST_END;
    r->lim = r->p;
    return 0;
}

/* ---- the trailer ------------------------------------------------------
 *
 * A file's trailer is checked at open, a stream's when it is met; both
 * check it the same way and name the field at fault (FORMAT.md): first
 * where the trailer is (T and F against its real place), then the CRC,
 * then the seek index's chain, then the footer's totals against it. */

/* The seek index's entries, checked in order as they come: each frame
 * starts where the previous one ended (frame 0 at H), its first record
 * follows the previous frame's, and it holds records and bytes.  The first
 * problem is kept, to be reported only if the CRC holds: a damaged index
 * is better called damaged than wrong. */
typedef struct idx_chain {
    uint64_t off, first;    /* where the next entry's frame must start, its first record */
    uint64_t bad_at;        /* the offset of the first bad field, when bad[0] */
    char bad[160];
} idx_chain;

static void chain_bad(idx_chain *c, uint64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->bad, sizeof c->bad, fmt, ap);
    va_end(ap);
    c->bad_at = at;
}

/* Entry i, whose bytes are at offset `at`. */
static void idx_chain_add(idx_chain *c, const idx_entry *e, uint64_t i, uint64_t at)
{
    unsigned long long k = (unsigned long long)i;
    if (c->bad[0])
        ;
    else if (e->off != c->off)
        chain_bad(c, at, "corrupt seek index: entry %llu puts its frame at offset %llu, not %llu", k,
                  (unsigned long long)e->off, (unsigned long long)c->off);
    else if (e->first != c->first)
        chain_bad(c, at + 8, "corrupt seek index: entry %llu starts at record %llu, not %llu", k,
                  (unsigned long long)e->first, (unsigned long long)c->first);
    else if (e->nrec == 0)
        chain_bad(c, at + 16, "corrupt seek index: entry %llu has no records", k);
    else if (e->csize == 0)
        chain_bad(c, at + 20, "corrupt seek index: entry %llu has a frame of 0 bytes", k);
    c->off = e->off + e->csize;   /* wraps only in an index already found bad */
    c->first = e->first + e->nrec;
}

/* The trailer's size field: 24 bytes per index entry and the footer. */
static bool trailer_size_ok(uint32_t size)
{
    return size >= FOOTER_SIZE && (size - FOOTER_SIZE) % IDX_ENTRY == 0;
}
#define TRAILER_SIZE_BAD "corrupt trailer: size %u is not 56 + 24 * frames"

static idx_entry idx_decode(const uint8_t *b)
{
    return (idx_entry){get64(b), get64(b + 8), get32(b + 16), get32(b + 20)};
}

/* The footer `ft` of the trailer at toff with nf index entries, which the
 * chain c has checked and whose bytes have CRC crc.  Fills meta's counts,
 * index_off and footer_off; 0, or -1 naming the field at fault. */
static int check_footer(trace_reader *r, const uint8_t *ft, uint64_t toff, uint64_t nf, uint32_t crc,
                        const idx_chain *c)
{
    uint64_t fo = toff + 8 + nf * IDX_ENTRY;
    uint64_t t = get64(ft + 32), records = get64(ft), accesses = get64(ft + 8), events = get64(ft + 24);
    uint32_t f = get32(ft + 40);
    if (memcmp(ft + 48, footer_magic, 8))
        return rfail(r, fo + 48, "bad footer magic");
    if (t != toff)
        return rfail(r, fo + 32, "corrupt footer: T = %llu, but the trailer is at offset %llu",
                     (unsigned long long)t, (unsigned long long)toff);
    if (f != nf)
        return rfail(r, fo + 40, "corrupt footer: F = %u, but the trailer at offset %llu holds %llu index entries",
                     f, (unsigned long long)toff, (unsigned long long)nf);
    if (crc32_update(crc, ft, FOOTER_CRC_AT) != get32(ft + 44))
        return rfail(r, toff, "seek index or footer checksum mismatch");
    if (c->bad[0])
        return rfail(r, c->bad_at, "%s", c->bad);
    if (c->off != toff) {
        if (nf == 0)
            return rfail(r, fo + 40, "corrupt footer: F = 0, but the trailer is at offset %llu, not %llu",
                         (unsigned long long)toff, (unsigned long long)c->off);
        return rfail(r, toff + 8 + (nf - 1) * IDX_ENTRY + 20,
                     "corrupt seek index: the last frame ends at offset %llu, not at the trailer (%llu)",
                     (unsigned long long)c->off, (unsigned long long)toff);
    }
    if (records != c->first)
        return rfail(r, fo, "corrupt footer: %llu records, the seek index's frames hold %llu",
                     (unsigned long long)records, (unsigned long long)c->first);
    if (accesses > records)
        return rfail(r, fo + 8, "corrupt footer: %llu accesses in %llu records", (unsigned long long)accesses,
                     (unsigned long long)records);
    if (events > records - accesses)
        return rfail(r, fo + 24, "corrupt footer: %llu events and %llu accesses in %llu records",
                     (unsigned long long)events, (unsigned long long)accesses, (unsigned long long)records);
    r->meta.records = records;
    r->meta.accesses = accesses;
    r->meta.instructions = get64(ft + 16);
    r->meta.events = events;
    r->index_off = toff;
    r->footer_off = fo;
    return 0;
}

/* Without an index (a pipe, or a file without a footer), the trailer is
 * met in sequence: stream it, check it against the frames read, and end.
 * Constant memory: the frames read are summed up by the CRC of the index
 * entries they imply (obs_crc). */
static int read_trailer(trace_reader *r)
{
    uint64_t toff = rpos(r);
    long got = need(r, 8);
    if (got < 0)
        return -1;
    if (got < 8)
        goto truncated;
    uint32_t size = get32(r->in + r->in_pos + 4);
    if (!trailer_size_ok(size))
        return rfail(r, toff + 4, TRAILER_SIZE_BAD, size);
    uint64_t nf = (size - FOOTER_SIZE) / IDX_ENTRY;
    r->in_pos += 8;
    uint32_t crc = 0;
    idx_chain c = {.off = r->hlen};
    for (uint64_t i = 0; i < nf; i++) {
        if ((got = need(r, IDX_ENTRY)) < IDX_ENTRY)
            goto truncated_or_error;
        const uint8_t *b = r->in + r->in_pos;
        crc = crc32_update(crc, b, IDX_ENTRY);
        idx_entry e = idx_decode(b);
        idx_chain_add(&c, &e, i, toff + 8 + i * IDX_ENTRY);
        r->in_pos += IDX_ENTRY;
    }
    uint32_t icrc = crc;
    if ((got = need(r, FOOTER_SIZE)) < FOOTER_SIZE)
        goto truncated_or_error;
    if (check_footer(r, r->in + r->in_pos, toff, nf, crc, &c))
        return -1;
    r->in_pos += FOOTER_SIZE;
    if (nf != r->frame_k || icrc != r->obs_crc)
        return rfail(r, toff, "the seek index (%llu frames) disagrees with the %zu frames read",
                     (unsigned long long)nf, r->frame_k);
    if ((got = need(r, 1)) != 0)
        return got < 0 ? -1 : rfail(r, rpos(r), "data after the footer");
    return clean_end(r);
truncated_or_error:
    if (got < 0)
        return -1;
truncated:
    return rfail(r, toff, "the seek index and footer are truncated (the file ends at offset %llu)",
                 (unsigned long long)(r->in_base + r->in_len));
}

/* Between frames: start the next record frame, or reach the trailer. */
static int next_structure(trace_reader *r)
{
    uint64_t off = rpos(r);
    long got = need(r, 5);   /* a frame's magic and its frame header descriptor */
    if (got < 0)
        return -1;
    if (got == 0)
        return rfail(r, off, "truncated: the file ends before the footer");
    if (got < 4)
        return rfail(r, off, "truncated: the file ends at offset %llu, before the footer",
                     (unsigned long long)(off + (uint64_t)got));
    uint32_t magic = get32(r->in + r->in_pos);
    if (magic == TRL_MAGIC) {
        if (!r->idx)
            return read_trailer(r);
        /* Checked at open; the frames' sizes matched the index, so we are
         * exactly at index_off. */
        if (r->frame_k != r->nidx || off != r->index_off)
            return rfail(r, off, "trailer where the seek index puts frame %zu", r->frame_k);
        return clean_end(r);
    }
    if ((magic & SKIP_MAGIC_MASK) == SKIP_MAGIC)
        return rfail(r, off, "a skippable frame (magic 0x%08x) where a record frame or the trailer must be", magic);
    if (magic != ZFRAME_MAGIC)
        return rfail(r, off, "not a zstd frame (magic 0x%08x): corrupt file", magic);
    if (r->idx && (r->frame_k >= r->nidx || r->idx[r->frame_k].off != off))
        return rfail(r, off, "frame %zu is not where the seek index puts it", r->frame_k);
    if (got < 5)
        return rfail(r, off, "frame %zu is truncated (the file ends at offset %llu)", r->frame_k,
                     (unsigned long long)(off + 4));
    /* zstd checks a checksum only when the frame has one: a frame without
     * it would decode damaged records unnoticed. */
    if (!(r->in[r->in_pos + 4] & FHD_CHECKSUM))
        return rfail(r, off, "frame %zu has no content checksum", r->frame_k);
    ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
    memset(r->prev, 0, sizeof r->prev);
    r->cpu = 0;
    r->frame_off = off;
    r->frame_n = 0;
    r->zdone = false;
    r->ob_base = 0;
    r->p = r->end = r->lim = r->ob;
    r->st = ST_FRAME;
    return 0;
}

static NOINLINE int next_slow(trace_reader *r, trace_rec *out)
{
    for (;;) {
        switch (r->st) {
        case ST_END: return 0;
        case ST_ERROR: return -1;
        case ST_BOUNDARY:
            if (next_structure(r))
                return -1;
            break;
        case ST_FRAME:
            if (r->p < r->lim) {
                const uint8_t *q = dec_rec(r, r->p, out);
                if (!q)
                    return malformed(r, r->p);
                r->p = q;
                r->frame_n++;
                return 1;
            }
            if (!r->zdone) {
                if (refill(r))
                    return -1;
                break;
            }
            if (r->p == r->end) {
                if (finish_frame(r))
                    return -1;
                break;
            }
            /* The frame's last records: decode against a zeroed tail and
             * make sure the record ended inside the frame. */
            memset((uint8_t *)r->end, 0, REC_MAX);
            const uint8_t *q = dec_rec(r, r->p, out);
            if (!q)
                return malformed(r, r->p);
            if (q > r->end) {
                r->why = "the record runs past the end of the frame";
                return malformed(r, r->p);
            }
            r->p = q;
            r->frame_n++;
            return 1;
        }
    }
}

int trace_next(trace_reader *r, trace_rec *out)
{
    const uint8_t *p = r->p;
    if (LIKELY(p < r->lim)) {
        const uint8_t *q = dec_rec(r, p, out);
        if (LIKELY(q != NULL)) {
            r->p = q;
            r->frame_n++;
            return 1;
        }
        return malformed(r, p);
    }
    return next_slow(r, out);
}

const char *trace_reader_error(const trace_reader *r) { return r->err; }

const trace_meta *trace_reader_meta(const trace_reader *r) { return &r->meta; }

/* Read and check the header; 0 or -1 (r->err filled). */
static int read_header(trace_reader *r)
{
    long got = need(r, HDR_FIXED);
    if (got < 0)
        return -1;
    const uint8_t *h = r->in;
    uint8_t want[16];
    put32(want, HDR_MAGIC);
    memcpy(want + 8, trace_magic, 8);
    for (long i = 0; i < got && i < 16; i++)
        if (i >= 4 && i < 8 ? false : h[i] != want[i])
            return rfail(r, 0, "not an mmusim trace (bad magic)");
    if (got < HDR_FIXED)
        return rfail(r, 0, "truncated header (the file ends at offset %ld)", got);
    unsigned major = get16(h + 16), minor = get16(h + 18);
    if (major > TRACE_VERSION_MAJOR)
        return rfail(r, 16, "format version %u.%u is newer than this reader's %d.%d", major, minor,
                     TRACE_VERSION_MAJOR, TRACE_VERSION_MINOR);
    if (major == 0)
        return rfail(r, 16, "format version %u.%u is not supported", major, minor);
    uint32_t size = get32(h + 4);
    if (size < HDR_CONTENT_MIN || size > HDR_CONTENT_MAX)
        return rfail(r, 4, "corrupt header: size %u out of range %u..%u", size, HDR_CONTENT_MIN, HDR_CONTENT_MAX);
    size_t hlen = 8 + (size_t)size;
    if ((got = need(r, hlen)) < 0)
        return -1;
    if ((size_t)got < hlen)
        return rfail(r, 0, "truncated header (the file ends at offset %ld)", got);
    h = r->in;
    if (crc32_update(0, h + 8, hlen - 12) != get32(h + hlen - 4))
        return rfail(r, 0, "corrupt header (checksum mismatch)");
    r->meta.version_major = major;
    r->meta.version_minor = minor;
    /* Metadata fields: tag byte, varint length, bytes.  Unknown tags are
     * skipped (later minor versions may add some).  An error names the
     * field's offset. */
    const uint8_t *p = h + HDR_FIXED, *end = h + hlen - 4;
    while (p < end) {
        uint64_t at = (uint64_t)(p - h);
        unsigned tag = *p++;
        uint64_t len = 0;
        for (unsigned s = 0;; s += 7) {
            if (p >= end || s > 14)
                return rfail(r, at, "corrupt header: metadata field %u: bad length", tag);
            len |= (uint64_t)(*p & 0x7f) << s;
            if (*p++ < 0x80)
                break;
        }
        if (len > (uint64_t)(end - p))
            return rfail(r, at, "corrupt header: metadata field %u runs past the header", tag);
        char *dst = tag == META_SOURCE ? r->meta.source
                  : tag == META_COMMAND ? r->meta.command
                  : tag == META_RECORDER ? r->meta.recorder : NULL;
        if (dst) {
            if (len > TRACE_META_STR - 1 || memchr(p, 0, len))
                return rfail(r, at, "corrupt header: metadata field %u too long or holds a NUL", tag);
            memcpy(dst, p, len);
            dst[len] = 0;
        }
        p += len;
    }
    r->in_pos = hlen;
    r->hlen = hlen;
    return 0;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *b = buf;
    while (n) {
        ssize_t got = pread(fd, b, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        b += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return 0;
}

/* Is there a trailer header at `off` announcing nf index entries?  1, 0,
 * or -1 after a read error. */
static int trailer_at(trace_reader *r, uint64_t off, uint64_t nf)
{
    uint8_t th[8];
    if (pread_full(r->fd, th, sizeof th, off))
        return rfail(r, off, "read error: %s", strerror(errno));
    return get32(th) == TRL_MAGIC && get32(th + 4) == nf * IDX_ENTRY + FOOTER_SIZE;
}

/* A regular file: load the seek index from the footer at its end.  A file
 * without a footer magic there is read in sequence instead, so that its
 * truncation is reported where it happened.
 *
 * The footer's F places the trailer 8 + 24 F bytes before it, its T says
 * where the trailer is; the trailer's own header must be there.  When F
 * does not lead to a trailer but T does, F is the field at fault; when
 * both lead to the same place and no trailer is there, its header is. */
static int load_index(trace_reader *r, uint64_t fsize)
{
    uint64_t hlen = r->hlen;
    if (fsize < hlen + 8 + FOOTER_SIZE)
        return 0;
    uint8_t ft[FOOTER_SIZE];
    uint64_t fo = fsize - FOOTER_SIZE;
    if (pread_full(r->fd, ft, sizeof ft, fo))
        return rfail(r, fo, "read error: %s", strerror(errno));
    if (memcmp(ft + 48, footer_magic, 8))
        return 0;
    uint64_t t = get64(ft + 32), room = fo - 8 - hlen;   /* room: bytes for the frames and the index */
    uint32_t nf = get32(ft + 40);
    uint64_t toff = fo - 8 - (uint64_t)nf * IDX_ENTRY;
    int ok = (uint64_t)nf * IDX_ENTRY <= room ? trailer_at(r, toff, nf) : 0;
    if (ok < 0)
        return -1;
    if (!ok) {
        uint64_t tnf = (fo - 8 - t) / IDX_ENTRY;   /* the entries a trailer at T would hold */
        int at_t = t >= hlen && t <= fo - 8 && (fo - 8 - t) % IDX_ENTRY == 0 ? trailer_at(r, t, tnf) : 0;
        if (at_t < 0)
            return -1;
        if (at_t)
            return rfail(r, fo + 40, "corrupt footer: F = %u, but the trailer at offset %llu holds %llu index entries",
                         nf, (unsigned long long)t, (unsigned long long)tnf);
        if ((uint64_t)nf * IDX_ENTRY > room)
            return rfail(r, fo + 40, "corrupt footer: F = %u index entries do not fit in the file", nf);
        uint8_t th[8];
        if (pread_full(r->fd, th, sizeof th, toff))
            return rfail(r, toff, "read error: %s", strerror(errno));
        uint32_t size = get32(th + 4);
        if (get32(th) != TRL_MAGIC)
            return rfail(r, toff, "corrupt trailer: bad magic 0x%08x", get32(th));
        if (!trailer_size_ok(size))
            return rfail(r, toff + 4, TRAILER_SIZE_BAD, size);
        return rfail(r, toff + 4, "corrupt trailer: size %u, but F = %u makes it %llu", size, nf,
                     (unsigned long long)nf * IDX_ENTRY + FOOTER_SIZE);
    }
    size_t ib = (size_t)nf * IDX_ENTRY;
    uint8_t *raw = mm_xmalloc(ib);   /* ib fits in the file: the trailer's place was checked */
    r->idx = mm_xmalloc(nf * sizeof *r->idx);
    if (pread_full(r->fd, raw, ib, toff + 8)) {
        free(raw);
        return rfail(r, toff + 8, "read error: %s", strerror(errno));
    }
    idx_chain c = {.off = hlen};
    for (uint32_t i = 0; i < nf; i++) {
        r->idx[i] = idx_decode(raw + (size_t)i * IDX_ENTRY);
        idx_chain_add(&c, &r->idx[i], i, toff + 8 + (uint64_t)i * IDX_ENTRY);
    }
    uint32_t crc = crc32_update(0, raw, ib);
    free(raw);
    if (check_footer(r, ft, toff, nf, crc, &c)) {
        free(r->idx);
        r->idx = NULL;
        return -1;
    }
    r->nidx = nf;
    return 0;
}

trace_reader *trace_reader_open(const char *path, char *err, size_t errlen)
{
    trace_reader *r = mm_xcalloc(1, sizeof *r);
    r->is_stdin = strcmp(path, "-") == 0;
    r->path = mm_xstrdup(path);
    r->name = r->is_stdin ? "<stdin>" : r->path;
    r->ob = mm_xmalloc(OB_CAP + REC_MAX);
    r->in = mm_xmalloc(IN_CAP);
    r->dctx = ZSTD_createDCtx();
    if (!r->dctx)
        abort();   /* zstd's own allocation: out of host memory */
    ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
    r->p = r->end = r->lim = r->ob;
    r->st = ST_BOUNDARY;
    r->fd = r->is_stdin ? STDIN_FILENO : open(path, O_RDONLY);
    struct stat sb;
    if (r->fd < 0) {
        rfail(r, 0, "cannot open: %s", strerror(errno));
        goto fail;
    }
    if (fstat(r->fd, &sb)) {
        rfail(r, 0, "cannot stat: %s", strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        rfail(r, 0, "is a directory");
        goto fail;
    }
    if (read_header(r))
        goto fail;
    if (!r->is_stdin && S_ISREG(sb.st_mode) && load_index(r, (uint64_t)sb.st_size))
        goto fail;
    r->st = ST_BOUNDARY;
    return r;
fail:
    set_err(err, errlen, r->err);
    trace_reader_close(r);
    return NULL;
}

int trace_seek(trace_reader *r, uint64_t index)
{
    if (!r->idx) {
        snprintf(r->err, sizeof r->err, "%s: offset %llu: cannot seek: %s", r->name, (unsigned long long)rpos(r),
                 r->is_stdin ? "standard input is read as a stream"
                             : "not a regular file with a seek index (truncated?)");
        return -1;
    }
    if (index > r->meta.records) {
        snprintf(r->err, sizeof r->err, "%s: offset %llu: cannot seek to record %llu: the trace has %llu",
                 r->name, (unsigned long long)r->index_off, (unsigned long long)index,
                 (unsigned long long)r->meta.records);
        return -1;
    }
    /* The frame holding `index`: the last whose first record is <= index. */
    size_t lo = 0, hi = r->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->idx[mid].first <= index)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = index == r->meta.records ? r->nidx : lo - 1;
    uint64_t off = k < r->nidx ? r->idx[k].off : r->index_off;
    if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
        return rfail(r, off, "cannot seek: %s", strerror(errno));
    r->in_base = off;
    r->in_pos = r->in_len = 0;
    r->frame_k = k;
    r->rec_base = k < r->nidx ? r->idx[k].first : r->meta.records;
    r->seeked = true;
    r->st = ST_BOUNDARY;
    r->p = r->end = r->lim = r->ob;
    r->err[0] = 0;
    trace_rec skip;
    for (uint64_t n = index - r->rec_base; n; n--) {
        int rc = trace_next(r, &skip);
        if (rc <= 0)
            return rc < 0 ? -1 : rfail(r, off, "frame %zu ends before record %llu", k, (unsigned long long)index);
    }
    return 0;
}

size_t trace_frames(const trace_reader *r) { return r->idx ? r->nidx : 0; }

uint64_t trace_frame_first(const trace_reader *r, size_t i)
{
    return r->idx && i < r->nidx ? r->idx[i].first : r->meta.records;
}

void trace_reader_close(trace_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0 && !r->is_stdin)
        close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->idx);
    free(r->in);
    free(r->ob);
    free(r->path);
    free(r);
}
