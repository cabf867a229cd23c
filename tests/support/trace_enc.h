/* trace_enc.h -- the tests' own writer of the trace format, written from
 * traces/FORMAT.md and not from model/src/trace.c, so that a test of the
 * reader does not share the writer's mistakes (test_trace, the hostile
 * inputs of test_hostile_trace).
 *
 * Layers, each usable alone:
 *   bytes    little-endian fields, LEB128 varints, zigzag, CRC-32;
 *   records  a frame's content, record by record, with the delta state
 *            (tenc_recs);
 *   frames   a zstd frame built byte by byte: frame header with or without
 *            the checksum flag and with any window, raw blocks, the
 *            checksum (tenc_zframe);
 *   traces   header, frames, seek index and footer, with the offset of
 *            every structure kept (tenc_trace), so that a test breaks one
 *            field and derives the offset its error must name.
 *
 * Memory: buffers grow with realloc; tenc_trace_free releases one. */
#ifndef MMUSIM_TESTS_TRACE_ENC_H
#define MMUSIM_TESTS_TRACE_ENC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* ---- bytes ----------------------------------------------------------- */

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The format's CRC-32 is zlib's (FORMAT.md, Conventions). */
static inline uint32_t zcrc32(const void *p, size_t n) { return (uint32_t)crc32(0, p, (uInt)n); }

/* zigzag(d) = (d << 1) ^ (d >> 63), arithmetic shift. */
static inline uint64_t tenc_zigzag(uint64_t d) { return (d << 1) ^ (0 - (d >> 63)); }

/* A growing byte string. */
typedef struct tenc_buf {
    uint8_t *b;
    size_t len, cap;
} tenc_buf;

static inline void tenc_put(tenc_buf *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 64;
        t->b = realloc(t->b, t->cap);
        if (!t->b)
            abort();
    }
    if (n)
        memcpy(t->b + t->len, p, n);
    t->len += n;
}
static inline void tenc_u8(tenc_buf *t, unsigned v)
{
    uint8_t b = (uint8_t)v;
    tenc_put(t, &b, 1);
}
static inline void tenc_u32(tenc_buf *t, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    tenc_put(t, b, 4);
}
static inline void tenc_u64(tenc_buf *t, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    tenc_put(t, b, 8);
}
/* Unsigned LEB128, shortest form. */
static inline void tenc_varint(tenc_buf *t, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        tenc_u8(t, (unsigned)(v & 0x7f) | 0x80);
    tenc_u8(t, (unsigned)v);
}

/* ---- records (FORMAT.md, "Record frames") ------------------------------ */

enum { TENC_LOAD, TENC_STORE, TENC_IFETCH };

/* One frame's content as it is built, and the counts the footer needs. */
typedef struct tenc_recs {
    tenc_buf data;
    unsigned cpu;                /* the current cpu of the delta state */
    uint64_t prev[256][2];       /* [cpu][0 data, 1 ifetch] */
    uint32_t records;
    uint64_t accesses, instructions, events;
} tenc_recs;

/* The tag's C bit and cpu byte when cpu is not the current one. */
static inline unsigned tenc_cpu(tenc_recs *r, unsigned cpu, tenc_buf *after)
{
    if (cpu == r->cpu)
        return 0;
    r->cpu = cpu;
    tenc_u8(after, cpu);
    return 0x40;
}

/* An access: tag (acc and size code, P, C), [cpu], [varint size], varint
 * zigzag delta against the stream's previous address.  Sizes come from
 * the tables (ifetches of x86 lengths from the second), else escape. */
static inline void tenc_access(tenc_recs *r, unsigned cpu, unsigned acc, unsigned priv, uint32_t size, uint64_t va)
{
    static const uint32_t pow2[7] = {1, 2, 4, 8, 16, 32, 64};
    static const uint32_t x86[8] = {3, 5, 6, 7, 9, 10, 11, 12};
    tenc_buf tail = {0};
    unsigned tag = tenc_cpu(r, cpu, &tail) | priv << 5;
    unsigned bits = acc << 3 | 7;   /* escape */
    for (unsigned i = 0; i < 7; i++)
        if (pow2[i] == size)
            bits = acc << 3 | i;
    for (unsigned i = 0; i < 8 && acc == TENC_IFETCH; i++)
        if (x86[i] == size)
            bits = 3 << 3 | i;
    tag |= bits;
    if ((bits & 7) == 7 && bits >> 3 != 3)
        tenc_varint(&tail, size);
    uint64_t *prev = &r->prev[cpu][acc == TENC_IFETCH];
    tenc_varint(&tail, tenc_zigzag(va - *prev));
    *prev = va + (acc == TENC_IFETCH ? size : 0);
    tenc_u8(&r->data, tag);
    tenc_put(&r->data, tail.b, tail.len);
    free(tail.b);
    r->records++;
    r->accesses++;
}

static inline void tenc_instr(tenc_recs *r, unsigned cpu, uint64_t count)
{
    tenc_buf tail = {0};
    unsigned tag = 0x80 | tenc_cpu(r, cpu, &tail);
    if (count < 32)
        tag |= 0x20 | (unsigned)count;
    else {
        tag |= 1;
        tenc_varint(&tail, count);
    }
    tenc_u8(&r->data, tag);
    tenc_put(&r->data, tail.b, tail.len);
    free(tail.b);
    r->records++;
    r->instructions += count;
}

/* switch (code 2): cpu now runs pid. */
static inline void tenc_switch(tenc_recs *r, unsigned cpu, uint32_t pid)
{
    tenc_buf tail = {0};
    unsigned tag = 0x80 | tenc_cpu(r, cpu, &tail) | 2;
    tenc_varint(&tail, pid);
    tenc_u8(&r->data, tag);
    tenc_put(&r->data, tail.b, tail.len);
    free(tail.b);
    r->records++;
    r->events++;
}

/* Bytes made by hand (a malformed record, say): not counted. */
static inline void tenc_raw(tenc_recs *r, const void *p, size_t n) { tenc_put(&r->data, p, n); }

/* ---- frames (RFC 8878, section 3.1.1) --------------------------------- */

#define TENC_ZSTD_MAGIC 0xFD2FB528u

/* A zstd frame holding `data` in raw blocks, built field by field:
 * magic; frame header descriptor with Content_Checksum_flag (bit 2) as
 * `checksum` says, Single_Segment_flag 0, no content size, no dictionary;
 * a window descriptor for 2^window_log bytes (10..41; 0 = the smallest
 * that holds one block of data); raw blocks of at most
 * min(window, 128 KiB) bytes, the last one flagged; then, with checksum,
 * the low 4 bytes of XXH64(data), little-endian.  zstd does not export
 * XXH64, so the checksum is taken from the end of a frame zstd itself
 * makes of the same data with its checksum flag on. */
static inline void tenc_zframe(tenc_buf *t, const void *data, size_t len, bool checksum, unsigned window_log)
{
    if (!window_log)
        for (window_log = 10; window_log < 17 && ((size_t)1 << window_log) < len; window_log++)
            ;
    size_t block_max = window_log >= 17 ? 128u << 10 : (size_t)1 << window_log;
    tenc_u32(t, TENC_ZSTD_MAGIC);
    tenc_u8(t, checksum ? 0x04 : 0x00);
    tenc_u8(t, (window_log - 10) << 3);   /* exponent; mantissa 0 */
    const uint8_t *p = data;
    size_t left = len;
    do {
        size_t n = left < block_max ? left : block_max;
        uint32_t bh = (uint32_t)(n << 3) | (0u << 1) | (n == left);   /* size, raw, last */
        tenc_u8(t, bh & 0xff);
        tenc_u8(t, (bh >> 8) & 0xff);
        tenc_u8(t, (bh >> 16) & 0xff);
        tenc_put(t, p, n);
        p += n;
        left -= n;
    } while (left);
    if (checksum) {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
        size_t cap = ZSTD_compressBound(len);
        uint8_t *z = malloc(cap);
        size_t zn = z ? ZSTD_compress2(cc, z, cap, data, len) : 0;
        if (!z || ZSTD_isError(zn) || zn < 4)
            abort();
        tenc_put(t, z + zn - 4, 4);
        free(z);
        ZSTD_freeCCtx(cc);
    }
}

/* ---- traces (FORMAT.md, "Layout") ------------------------------------- */

#define TENC_HDR_MAGIC 0x184D2A50u
#define TENC_TRL_MAGIC 0x184D2A51u
#define TENC_MAX_FRAMES 16

/* Field offsets within a seek-index entry and within the footer. */
enum { IE_OFF = 0, IE_FIRST = 8, IE_NREC = 16, IE_CSIZE = 20, IE_SIZE = 24 };
enum { FT_RECORDS = 0, FT_ACCESSES = 8, FT_INSTR = 16, FT_EVENTS = 24, FT_T = 32, FT_F = 40, FT_CRC = 44,
       FT_MAGIC = 48, FT_SIZE = 56 };

/* A trace image.  H, the frames' places and, after tenc_end, T and the
 * footer's offset are kept for the tests' expected offsets. */
typedef struct tenc_trace {
    tenc_buf img;
    uint64_t hlen;                   /* H, the header's length: frame 0's offset */
    unsigned nf;
    struct {
        uint64_t off, first;
        uint32_t nrec, csize;
    } e[TENC_MAX_FRAMES];
    uint64_t records, accesses, instructions, events;
    uint64_t T, foot;                /* the trailer's and the footer's offsets */
} tenc_trace;

/* The header: magic, S, MMUTRACE, version, the three metadata fields
 * (tag, varint length, bytes), CRC-32 of bytes 8 .. H-5. */
static inline void tenc_header(tenc_buf *t, unsigned major, unsigned minor, const char *source, const char *command,
                               const char *recorder)
{
    size_t start = t->len;
    tenc_u32(t, TENC_HDR_MAGIC);
    tenc_u32(t, 0);   /* S, below */
    tenc_put(t, "MMUTRACE", 8);
    uint8_t v[4];
    put_le16(v, (uint16_t)major);
    put_le16(v + 2, (uint16_t)minor);
    tenc_put(t, v, 4);
    const char *f[3] = {source, command, recorder};
    for (unsigned i = 0; i < 3; i++) {
        tenc_u8(t, i + 1);
        tenc_varint(t, strlen(f[i]));
        tenc_put(t, f[i], strlen(f[i]));
    }
    tenc_u32(t, zcrc32(t->b + start + 8, t->len - start - 8));
    put_le32(t->b + start + 4, (uint32_t)(t->len - start - 8));
}

/* A trace of version 1.0 with metadata source, "", "". */
static inline void tenc_begin(tenc_trace *t, const char *source)
{
    memset(t, 0, sizeof *t);
    tenc_header(&t->img, 1, 0, source, "", "");
    t->hlen = t->img.len;
}

/* A record frame of r's records (r is consumed); its entry and counts. */
static inline void tenc_frame(tenc_trace *t, tenc_recs *r, bool checksum, unsigned window_log)
{
    if (t->nf == TENC_MAX_FRAMES)
        abort();
    uint64_t off = t->img.len;
    tenc_zframe(&t->img, r->data.b, r->data.len, checksum, window_log);
    t->e[t->nf].off = off;
    t->e[t->nf].first = t->records;
    t->e[t->nf].nrec = r->records;
    t->e[t->nf].csize = (uint32_t)(t->img.len - off);
    t->nf++;
    t->records += r->records;
    t->accesses += r->accesses;
    t->instructions += r->instructions;
    t->events += r->events;
    free(r->data.b);
    memset(r, 0, sizeof *r);
}

/* CRC-32 of the seek index and footer bytes 0..43, into the footer. */
static inline void tenc_trailer_crc(tenc_trace *t)
{
    put_le32(t->img.b + t->foot + FT_CRC, zcrc32(t->img.b + t->T + 8, t->foot + FT_CRC - (t->T + 8)));
}

/* The header's CRC, after a change to its bytes. */
static inline void tenc_header_crc(tenc_trace *t)
{
    put_le32(t->img.b + t->hlen - 4, zcrc32(t->img.b + 8, t->hlen - 12));
}

/* The trailer: skippable frame header, one entry per frame, the footer. */
static inline void tenc_end(tenc_trace *t)
{
    t->T = t->img.len;
    tenc_u32(&t->img, TENC_TRL_MAGIC);
    tenc_u32(&t->img, IE_SIZE * t->nf + FT_SIZE);
    for (unsigned i = 0; i < t->nf; i++) {
        tenc_u64(&t->img, t->e[i].off);
        tenc_u64(&t->img, t->e[i].first);
        tenc_u32(&t->img, t->e[i].nrec);
        tenc_u32(&t->img, t->e[i].csize);
    }
    t->foot = t->img.len;
    tenc_u64(&t->img, t->records);
    tenc_u64(&t->img, t->accesses);
    tenc_u64(&t->img, t->instructions);
    tenc_u64(&t->img, t->events);
    tenc_u64(&t->img, t->T);
    tenc_u32(&t->img, t->nf);
    tenc_u32(&t->img, 0);   /* CRC, below */
    tenc_put(&t->img, "MMUTREND", 8);
    tenc_trailer_crc(t);
}

/* The image into `path`; 0 or -1. */
static inline int tenc_save(const tenc_trace *t, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(t->img.b, 1, t->img.len, f);
    return (fclose(f) == 0 && n == t->img.len) ? 0 : -1;
}

static inline void tenc_trace_free(tenc_trace *t)
{
    free(t->img.b);
    memset(t, 0, sizeof *t);
}

#endif
