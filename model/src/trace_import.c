/* trace_import.c -- the importers (lackey, ChampSim, text), the text format
 * and its export (see trace_import.h).  `trace record`'s valgrind is the
 * command line's (model/cli/trace_record.c): it hands its log's pipe to
 * trace_import_fd.
 *
 * The text format (also in traces/TEXT_FORMAT.md).  One record per line;
 * fields are separated by spaces or tabs; '#' starts a comment that runs to
 * the end of the line; blank and comment-only lines are skipped; a trailing
 * CR is allowed.  The first field names the record, the rest are its
 * fields in a fixed order, and an optional last field @CPU (0..255, default
 * 0) gives the cpu of any kind:
 *
 *   L VA SIZE          load        (L.k at supervisor privilege, L.u = L)
 *   S VA SIZE          store       (S.k, S.u)
 *   I VA SIZE          instruction fetch (I.k, I.u)
 *   instr COUNT        COUNT instructions retired since the previous instr
 *   switch PID         the cpu now runs process PID
 *   fork PID CHILD     PID forks CHILD
 *   exec PID           PID's address space is replaced
 *   exit PID           PID exits
 *   mmap PID ADDR LEN PROT FLAGS [FILE_ID OFFSET]
 *                      PID maps [ADDR, ADDR+LEN); FILE_ID and OFFSET go
 *                      together and default to 0
 *   munmap PID ADDR LEN
 *   mprotect PID ADDR LEN PROT
 *   cr3 VALUE [noflush]   a CR3 write; "noflush" sets the record's noflush
 *                      flag (normally bit 63 of VALUE; both are kept as
 *                      written)
 *   invlpg ADDR
 *
 * Numbers are decimal or 0x-hexadecimal (at most 64 bits); SIZE is 1..65535,
 * PID, CHILD, FILE_ID 32-bit.  PROT is three characters "rwx" with '-' for a
 * missing permission ("r-x", "---"), or a number (TR_PROT_*).  FLAGS is "-"
 * for none, or names joined by commas: anon, shared, huge, thp, kernel
 * (TR_MAP_*), or a number.  Example:
 *
 *   # source: lackey
 *   switch 42 @1
 *   mmap 42 0x7f0000000000 0x200000 rw- anon,thp
 *   I 0x401000 4
 *   instr 1
 *   L 0x7ffe1000 8
 *   S.k 0xffffc90000001000 4 @1
 *   cr3 0x8000000000005001 noflush @1
 *
 * trace_text_format writes addresses, lengths, offsets and CR3 values in
 * hexadecimal, other numbers in decimal, PROT as "rwx" when it has no other
 * bits and FLAGS as names when it has no other bits, and leaves out @0, and
 * FILE_ID and OFFSET when both are 0; every field of every kind comes back from
 * trace_text_parse unchanged, and the cpu of every kind too.
 *
 * Input is read in IMPORT_BUF-byte blocks; lines are parsed in place in the
 * block (no allocation per line), and ChampSim records are decoded from a
 * block of decompressed data. */
#define _POSIX_C_SOURCE 200809L   /* read, open */

#include "mmusim/trace_import.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Bytes read from the input at a time; also the ChampSim decompression
 * block (a multiple of the 64-byte record). */
#define IMPORT_BUF (64u * 1024)
_Static_assert(IMPORT_BUF > IMPORT_LINE_MAX + 1, "a whole line must fit in the read buffer");
_Static_assert(IMPORT_BUF % 64 == 0, "whole ChampSim records per block");

#define CS_RECORD 64        /* sizeof(struct input_instr) */
#define CS_IFETCH_SIZE 4    /* ChampSim keeps no instruction length */
#define CS_DATA_SIZE 8      /* ChampSim keeps no access sizes */


/* Copy n bytes of s into a meta string, cut to fit. */
static void meta_set(char dst[TRACE_META_STR], const char *s, size_t n)
{
    if (n > TRACE_META_STR - 1)
        n = TRACE_META_STR - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* ---- format names ------------------------------------------------------ */

static const char *const format_names[IMPORT_FORMAT_COUNT] = {"lackey", "champsim", "text"};

int import_format_by_name(const char *name)
{
    for (int i = 0; i < IMPORT_FORMAT_COUNT; i++)
        if (name && strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

const char *import_format_name(import_format f)
{
    return (unsigned)f < IMPORT_FORMAT_COUNT ? format_names[f] : "?";
}

/* ---- input: a file descriptor or bytes in memory ----------------------- */

typedef struct imp_src {
    int fd;                     /* -1: read from mem */
    const unsigned char *mem;
    size_t memlen, mempos;
} imp_src;

/* Up to n bytes into buf: the count, 0 at the end, -1 with errno. */
static ptrdiff_t src_read(imp_src *s, void *buf, size_t n)
{
    if (s->fd < 0) {
        size_t k = s->memlen - s->mempos;
        if (k > n)
            k = n;
        if (k)
            memcpy(buf, s->mem + s->mempos, k);
        s->mempos += k;
        return (ptrdiff_t)k;
    }
    for (;;) {
        ssize_t k = read(s->fd, buf, n);
        if (k >= 0 || errno != EINTR)
            return k;
    }
}

/* ---- output: records to the sink, instruction counts coalesced --------- */

typedef struct imp_out {
    trace_sink sink;
    uint64_t pending;   /* instructions not yet sent as a TR_INSTR */
    uint8_t cpu;        /* of the accesses and counts sent (0 but for a threaded lackey log) */
} imp_out;

static int out_put(imp_out *o, const trace_rec *r)
{
    return o->sink.put(o->sink.ctx, r) < 0 ? -1 : 0;
}

/* Send the pending instruction count, if any. */
static int out_flush(imp_out *o)
{
    if (o->pending == 0)
        return 0;
    trace_rec r = {.kind = TR_INSTR, .cpu = o->cpu, .count = o->pending};
    o->pending = 0;
    return out_put(o, &r);
}

/* One user-mode access on o->cpu; a load or store sends the pending count
 * first (see "Instruction counts" in trace_import.h). */
static int out_access(imp_out *o, mm_kind acc, uint64_t va, uint32_t size)
{
    if (acc != MM_IFETCH && out_flush(o) < 0)
        return -1;
    trace_rec r = {.kind = TR_ACCESS, .cpu = o->cpu, .acc = (uint8_t)acc, .priv = MM_USER, .size = size, .va = va};
    return out_put(o, &r);
}

/* ---- lines ---------------------------------------------------------------
 * lines_next hands out one line at a time, NUL-terminated in place in the
 * block.  A line longer than IMPORT_LINE_MAX is handed out cut, flagged,
 * and the rest of it is skipped. */

typedef struct line_in {
    imp_src src;
    uint64_t lineno;    /* of the line last handed out */
    size_t pos, end;    /* unread bytes are buf[pos, end) */
    bool eof;
    bool skip;          /* dropping the rest of a line handed out cut */
    char buf[IMPORT_BUF + 1];
} line_in;

/* 1 with the line (without its newline, NUL-terminated) in *line, *len,
 * valid until the next call; 0 at the end; -1 on a read error (errno). */
static int lines_next(line_in *in, char **line, size_t *len, bool *too_long)
{
    *too_long = false;
    for (;;) {
        char *s = in->buf + in->pos;
        size_t avail = in->end - in->pos;
        char *nl = memchr(s, '\n', avail);
        if (in->skip) {
            if (nl) {
                in->pos = (size_t)(nl + 1 - in->buf);
                in->skip = false;
                continue;
            }
            in->pos = in->end = 0;
        } else {
            size_t n = nl ? (size_t)(nl - s) : avail;
            /* A whole line, the last one (no newline), or the start of a
             * line too long for the buffer.  The buffer holds more than
             * IMPORT_LINE_MAX + 1 bytes, so a full buffer always ends here. */
            if (nl || n > IMPORT_LINE_MAX || (in->eof && n > 0)) {
                if (n > IMPORT_LINE_MAX) {
                    n = IMPORT_LINE_MAX;
                    *too_long = true;
                    in->skip = !nl;
                }
                s[n] = '\0';
                *line = s;
                *len = n;
                in->pos = nl ? (size_t)(nl + 1 - in->buf) : in->end;
                in->lineno++;
                return 1;
            }
        }
        if (in->eof)
            return 0;
        if (in->pos > 0) {
            memmove(in->buf, in->buf + in->pos, in->end - in->pos);
            in->end -= in->pos;
            in->pos = 0;
        }
        ptrdiff_t k = src_read(&in->src, in->buf + in->end, IMPORT_BUF - in->end);
        if (k < 0)
            return -1;
        if (k == 0)
            in->eof = true;
        in->end += (size_t)k;
    }
}

/* ---- number fields -------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hexadecimal digits [p, e), at most 64 bits of value. */
static bool parse_hex(const char *p, const char *e, uint64_t *v)
{
    if (p == e)
        return false;
    while (e - p > 1 && *p == '0')
        p++;
    if (e - p > 16)
        return false;
    uint64_t x = 0;
    for (; p < e; p++) {
        int d = hexval((unsigned char)*p);
        if (d < 0)
            return false;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return true;
}

/* Decimal digits [p, e), at most UINT64_MAX. */
static bool parse_dec(const char *p, const char *e, uint64_t *v)
{
    if (p == e)
        return false;
    uint64_t x = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

/* Decimal, or hexadecimal after 0x. */
static bool parse_num(const char *p, const char *e, uint64_t *v)
{
    if (e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return parse_hex(p + 2, e, v);
    return parse_dec(p, e, v);
}

/* ---- lackey --------------------------------------------------------------- */

/* A threaded lackey log (valgrind --trace-sched=yes): valgrind runs one
 * thread at a time, and "--PID--   SCHED[N]:  acquired lock (...)" is
 * written when thread N starts to run, so every record after it is thread
 * N's until the next such line.  Thread N (1, 2, ...) becomes CPU N-1, all
 * of them one process, LACKEY_PID; a thread's first line sends a TR_SWITCH
 * of its CPU to that pid, which makes the trace carry its own processes
 * (mmusim run then needs cpu.cpus >= the threads). */
#define LACKEY_PID 1000u
#define LACKEY_THREADS 256u     /* CPUs 0..255: a trace record's cpu is a u8 */

typedef struct lackey_in {
    line_in in;
    imp_out out;
    trace_meta *meta;
    bool want_command;   /* take meta->command from the log's Command line (it is empty) */
    bool threaded;       /* a scheduler line was seen */
    bool accessed;       /* an access was sent */
    uint64_t started[LACKEY_THREADS / 64];   /* CPUs whose switch was sent */
} lackey_in;

/* "==PID== ", "--PID-- " or "**PID** ": valgrind's own lines. */
static bool is_valgrind_line(const char *s, size_t len)
{
    return len >= 2 && (s[0] == '=' || s[0] == '-' || s[0] == '*') && s[1] == s[0];
}

/* "**PID** mmusim-roi-begin" / "**PID** mmusim-roi-end" (a program's
 * VALGRIND_PRINTF, traces/workloads/roi.h; trailing blanks and a CR
 * allowed): TR_ROI_BEGIN or TR_ROI_END, else -1. */
static int roi_marker_line(const char *s, const char *e)
{
    const char *q = s + 2;
    while (q < e && *q >= '0' && *q <= '9')
        q++;
    static const char head[] = "** mmusim-roi-";
    if ((size_t)(e - q) < sizeof head - 1 || memcmp(q, head, sizeof head - 1) != 0)
        return -1;
    q += sizeof head - 1;
    while (e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    if (e - q == 5 && !memcmp(q, "begin", 5))
        return TR_ROI_BEGIN;
    if (e - q == 3 && !memcmp(q, "end", 3))
        return TR_ROI_END;
    return -1;
}

/* "--PID--   SCHED[N]:  acquired lock (...)": N, else 0 (any other line,
 * including valgrind's other SCHED lines). */
static uint64_t sched_acquire_line(const char *s, const char *e)
{
    const char *q = s + 2;
    while (q < e && *q >= '0' && *q <= '9')
        q++;
    if (e - q < 2 || q[0] != '-' || q[1] != '-')
        return 0;
    q += 2;
    while (q < e && *q == ' ')
        q++;
    static const char head[] = "SCHED[";
    if ((size_t)(e - q) < sizeof head - 1 || memcmp(q, head, sizeof head - 1) != 0)
        return 0;
    const char *d = q += sizeof head - 1;
    while (q < e && *q >= '0' && *q <= '9')
        q++;
    uint64_t n;
    if (q == d || q - d > 9 || !parse_dec(d, q, &n) || e - q < 2 || q[0] != ']' || q[1] != ':')
        return 0;
    q += 2;
    while (q < e && *q == ' ')
        q++;
    static const char acq[] = "acquired lock";
    return (size_t)(e - q) >= sizeof acq - 1 && !memcmp(q, acq, sizeof acq - 1) ? n : 0;
}

/* Thread n starts to run: what came before was the previous thread's
 * (its pending instruction count included); n's first time, its CPU's
 * switch to the process. */
static int lackey_thread(lackey_in *lk, uint64_t n, const char **why)
{
    if (n > LACKEY_THREADS) {
        *why = "thread number above 256 (a trace has CPUs 0..255, one per thread)";
        return -1;
    }
    if (!lk->threaded && lk->accessed) {
        *why = "the first scheduler line (--trace-sched=yes) comes after accesses, which then have no thread";
        return -1;
    }
    lk->threaded = true;
    uint8_t cpu = (uint8_t)(n - 1);
    if (out_flush(&lk->out) < 0)
        return -1;
    lk->out.cpu = cpu;
    uint64_t bit = 1ull << (cpu % 64);
    if (lk->started[cpu / 64] & bit)
        return 0;
    lk->started[cpu / 64] |= bit;
    trace_rec r = {.kind = TR_SWITCH, .cpu = cpu, .pid = LACKEY_PID};
    return out_put(&lk->out, &r);
}

/* One line: records into the sink; 0, or -1 with *why set (NULL = the sink
 * stopped). */
static int lackey_line(lackey_in *lk, char *s, size_t len, bool too_long, const char **why)
{
    const char *p = s, *e = s + len;
    *why = NULL;
    if (is_valgrind_line(s, len)) {
        int roi = s[0] == '*' && !too_long ? roi_marker_line(s, e) : -1;
        if (roi >= 0) {
            /* The instructions before the marker count before it. */
            trace_rec r = {.kind = TR_ROI, .roi = (uint8_t)roi};
            return out_flush(&lk->out) < 0 ? -1 : out_put(&lk->out, &r);
        }
        uint64_t thread = s[0] == '-' && !too_long ? sched_acquire_line(s, e) : 0;
        if (thread)
            return lackey_thread(lk, thread, why);
        if (lk->want_command && s[0] == '=') {
            /* "==PID== Command: CMD" */
            const char *q = s + 2;
            while (q < e && *q >= '0' && *q <= '9')
                q++;
            static const char tag[] = "== Command: ";
            if ((size_t)(e - q) >= sizeof tag - 1 && memcmp(q, tag, sizeof tag - 1) == 0) {
                q += sizeof tag - 1;
                meta_set(lk->meta->command, q, strnlen(q, (size_t)(e - q)));
                lk->want_command = false;
            }
        }
        return 0;
    }
    if (too_long) {
        *why = "line too long";
        return -1;
    }
    while (p < e && *p == ' ')
        p++;
    if (p == e || (*p == '\r' && p + 1 == e))
        return 0;   /* blank */
    char kind = *p++;
    if (kind != 'I' && kind != 'L' && kind != 'S' && kind != 'M') {
        *why = "not a lackey line (expected I, L, S or M)";
        return -1;
    }
    if (p == e || *p != ' ') {
        *why = "expected a space after the access type";
        return -1;
    }
    while (p < e && *p == ' ')
        p++;
    const char *a = p;
    while (p < e && *p != ',')
        p++;
    uint64_t va, size;
    if (!parse_hex(a, p, &va)) {
        *why = "bad address (expected hexadecimal digits, at most 64 bits)";
        return -1;
    }
    if (p == e) {
        *why = "expected ',' and a size after the address";
        return -1;
    }
    a = ++p;
    while (p < e && *p >= '0' && *p <= '9')
        p++;
    if (!parse_dec(a, p, &size) || size < 1 || size > 65535) {
        *why = "bad size (expected 1..65535)";
        return -1;
    }
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    if (p != e) {
        *why = "unexpected text after the size";
        return -1;
    }
    uint32_t sz = (uint32_t)size;
    lk->accessed = true;
    switch (kind) {
    case 'I':
        lk->out.pending++;
        return out_access(&lk->out, MM_IFETCH, va, sz);
    case 'L':
        return out_access(&lk->out, MM_LOAD, va, sz);
    case 'S':
        return out_access(&lk->out, MM_STORE, va, sz);
    default: /* 'M' */
        if (out_access(&lk->out, MM_LOAD, va, sz) < 0)
            return -1;
        return out_access(&lk->out, MM_STORE, va, sz);
    }
}

/* The whole of lk->in; name is PATH in messages. */
static int lackey_run(lackey_in *lk, const char *name, char *err, size_t errlen)
{
    char *line;
    size_t len;
    bool too_long;
    int got;
    while ((got = lines_next(&lk->in, &line, &len, &too_long)) > 0) {
        const char *why;
        if (lackey_line(lk, line, len, too_long, &why) < 0) {
            if (why)
                mm_errf(err, errlen, "%s:%" PRIu64 ": %s", name, lk->in.lineno, why);
            else
                mm_errf(err, errlen, "%s:%" PRIu64 ": stopped by the output", name, lk->in.lineno);
            return -1;
        }
    }
    if (got < 0) {
        mm_errf(err, errlen, "%s:%" PRIu64 ": read error: %s", name, lk->in.lineno + 1, strerror(errno));
        return -1;
    }
    if (out_flush(&lk->out) < 0) {
        mm_errf(err, errlen, "%s:%" PRIu64 ": stopped by the output", name, lk->in.lineno);
        return -1;
    }
    return 0;
}

/* ---- the text format ------------------------------------------------------ */

/* Non-access kinds: the first field and the fields after it. */
typedef struct text_kind {
    const char *name;
    const char *usage;      /* for messages */
    uint8_t nmin, nmax;     /* fields after the name, @CPU not counted */
} text_kind;

_Static_assert(TR_KIND_COUNT == 12, "a new trace_kind needs a row in text_kinds and a case in the text format");
static const text_kind text_kinds[TR_KIND_COUNT] = {
    [TR_ACCESS] = {"L", "VA SIZE", 2, 2},   /* also S and I, with .k or .u */
    [TR_INSTR] = {"instr", "COUNT", 1, 1},
    [TR_SWITCH] = {"switch", "PID", 1, 1},
    [TR_FORK] = {"fork", "PID CHILD", 2, 2},
    [TR_EXEC] = {"exec", "PID", 1, 1},
    [TR_EXIT] = {"exit", "PID", 1, 1},
    [TR_MMAP] = {"mmap", "PID ADDR LEN PROT FLAGS [FILE_ID OFFSET]", 5, 7},
    [TR_MUNMAP] = {"munmap", "PID ADDR LEN", 3, 3},
    [TR_MPROTECT] = {"mprotect", "PID ADDR LEN PROT", 4, 4},
    [TR_CR3] = {"cr3", "VALUE [noflush]", 1, 2},
    [TR_INVLPG] = {"invlpg", "ADDR", 1, 1},
    [TR_ROI] = {"roi", "begin|end", 1, 1},
};

static const char acc_letter[3] = {[MM_LOAD] = 'L', [MM_STORE] = 'S', [MM_IFETCH] = 'I'};

/* TR_MAP_* bit i is named map_flag_names[i]. */
static const char *const map_flag_names[] = {"anon", "shared", "huge", "thp", "kernel"};
#define MAP_FLAG_COUNT (sizeof map_flag_names / sizeof map_flag_names[0])
#define MAP_FLAG_KNOWN ((1u << MAP_FLAG_COUNT) - 1)

/* "rwx" / "r--" for prot with no other bits, else hexadecimal. */
static void format_prot(uint32_t prot, char out[16])
{
    if (prot & ~7u) {
        snprintf(out, 16, "0x%" PRIx32, prot);
        return;
    }
    out[0] = prot & TR_PROT_READ ? 'r' : '-';
    out[1] = prot & TR_PROT_WRITE ? 'w' : '-';
    out[2] = prot & TR_PROT_EXEC ? 'x' : '-';
    out[3] = '\0';
}

static void format_flags(uint32_t flags, char out[48])
{
    if (flags & ~MAP_FLAG_KNOWN) {
        snprintf(out, 48, "0x%" PRIx32, flags);
        return;
    }
    if (flags == 0) {
        strcpy(out, "-");
        return;
    }
    size_t n = 0;
    for (unsigned i = 0; i < MAP_FLAG_COUNT; i++)
        if (flags & 1u << i)
            n += (size_t)snprintf(out + n, 48 - n, "%s%s", n ? "," : "", map_flag_names[i]);
}

int trace_text_format(const trace_rec *r, char *buf, size_t len)
{
    char cpu[8] = "", prot[16], flags[48];
    if (r->cpu)
        snprintf(cpu, sizeof cpu, " @%u", r->cpu);
    int n;
    switch (r->kind) {
    case TR_ACCESS:
        if (r->acc > MM_IFETCH || r->priv > MM_SUPERVISOR || r->size < 1 || r->size > 65535)
            return -1;
        n = snprintf(buf, len, "%c%s 0x%" PRIx64 " %" PRIu32 "%s", acc_letter[r->acc],
                     r->priv == MM_SUPERVISOR ? ".k" : "", r->va, r->size, cpu);
        break;
    case TR_INSTR:
        n = snprintf(buf, len, "instr %" PRIu64 "%s", r->count, cpu);
        break;
    case TR_SWITCH:
    case TR_EXEC:
    case TR_EXIT:
        n = snprintf(buf, len, "%s %" PRIu32 "%s", text_kinds[r->kind].name, r->pid, cpu);
        break;
    case TR_FORK:
        n = snprintf(buf, len, "fork %" PRIu32 " %" PRIu32 "%s", r->pid, r->child, cpu);
        break;
    case TR_MMAP: {
        char file[48] = "";
        if (r->file_id || r->offset)
            snprintf(file, sizeof file, " %" PRIu32 " 0x%" PRIx64, r->file_id, r->offset);
        format_prot(r->prot, prot);
        format_flags(r->flags, flags);
        n = snprintf(buf, len, "mmap %" PRIu32 " 0x%" PRIx64 " 0x%" PRIx64 " %s %s%s%s", r->pid, r->addr, r->len,
                     prot, flags, file, cpu);
        break;
    }
    case TR_MUNMAP:
        n = snprintf(buf, len, "munmap %" PRIu32 " 0x%" PRIx64 " 0x%" PRIx64 "%s", r->pid, r->addr, r->len, cpu);
        break;
    case TR_MPROTECT:
        format_prot(r->prot, prot);
        n = snprintf(buf, len, "mprotect %" PRIu32 " 0x%" PRIx64 " 0x%" PRIx64 " %s%s", r->pid, r->addr, r->len,
                     prot, cpu);
        break;
    case TR_CR3:
        n = snprintf(buf, len, "cr3 0x%" PRIx64 "%s%s", r->value, r->noflush ? " noflush" : "", cpu);
        break;
    case TR_INVLPG:
        n = snprintf(buf, len, "invlpg 0x%" PRIx64 "%s", r->addr, cpu);
        break;
    case TR_ROI:
        if (r->roi > TR_ROI_END)
            return -1;
        n = snprintf(buf, len, "roi %s%s", r->roi == TR_ROI_BEGIN ? "begin" : "end", cpu);
        break;
    default:
        return -1;
    }
    return n < 0 || (size_t)n >= len ? -1 : n;
}

typedef struct tok {
    const char *p;
    size_t n;
} tok;

static bool tok_is(tok t, const char *s)
{
    return strlen(s) == t.n && memcmp(t.p, s, t.n) == 0;
}

/* A number field no larger than max; 0 or -1 with "bad NAME 'TEXT'". */
static int field_num(tok t, const char *name, uint64_t max, uint64_t *v, char *err, size_t errlen)
{
    if (!parse_num(t.p, t.p + t.n, v) || *v > max) {
        mm_errf(err, errlen, "bad %s '%.*s' (expected a number up to %" PRIu64 ")", name, (int)(t.n > 40 ? 40 : t.n),
                t.p, max);
        return -1;
    }
    return 0;
}

static int field_prot(tok t, uint32_t *prot, char *err, size_t errlen)
{
    if (t.n == 3 && (t.p[0] == 'r' || t.p[0] == '-') && (t.p[1] == 'w' || t.p[1] == '-') &&
        (t.p[2] == 'x' || t.p[2] == '-')) {
        *prot = (t.p[0] == 'r' ? TR_PROT_READ : 0) | (t.p[1] == 'w' ? TR_PROT_WRITE : 0) |
                (t.p[2] == 'x' ? TR_PROT_EXEC : 0);
        return 0;
    }
    uint64_t v;
    if (!parse_num(t.p, t.p + t.n, &v) || v > UINT32_MAX) {
        mm_errf(err, errlen, "bad prot '%.*s' (expected rwx, r-x, ... or a number)", (int)(t.n > 40 ? 40 : t.n), t.p);
        return -1;
    }
    *prot = (uint32_t)v;
    return 0;
}

static int field_flags(tok t, uint32_t *flags, char *err, size_t errlen)
{
    uint64_t v;
    if (t.n == 1 && t.p[0] == '-') {
        *flags = 0;
        return 0;
    }
    if (t.p[0] >= '0' && t.p[0] <= '9') {
        if (!parse_num(t.p, t.p + t.n, &v) || v > UINT32_MAX) {
            mm_errf(err, errlen, "bad flags '%.*s'", (int)(t.n > 40 ? 40 : t.n), t.p);
            return -1;
        }
        *flags = (uint32_t)v;
        return 0;
    }
    uint32_t f = 0;
    const char *p = t.p, *e = t.p + t.n;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(e - p));
        tok name = {p, (size_t)((c ? c : e) - p)};
        unsigned i = 0;
        while (i < MAP_FLAG_COUNT && !tok_is(name, map_flag_names[i]))
            i++;
        if (i == MAP_FLAG_COUNT) {
            mm_errf(err, errlen, "unknown mmap flag '%.*s' (expected anon, shared, huge, thp, kernel or -)",
                    (int)(name.n > 40 ? 40 : name.n), name.p);
            return -1;
        }
        f |= 1u << i;
        if (!c)
            break;
        p = c + 1;
    }
    *flags = f;
    return 0;
}

#define TEXT_MAX_FIELDS 10   /* mmap: name + 7 + @CPU, and one more to see excess */

int trace_text_parse(const char *line, trace_rec *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    tok t[TEXT_MAX_FIELDS];
    size_t n = 0;
    for (const char *p = line;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '\0' || *p == '#')
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
            p++;
        if (n == TEXT_MAX_FIELDS) {
            mm_errf(err, errlen, "too many fields");
            return -1;
        }
        t[n++] = (tok){s, (size_t)(p - s)};
    }
    if (n == 0)
        return 0;

    uint64_t v;
    if (n > 1 && t[n - 1].p[0] == '@') {
        tok c = {t[n - 1].p + 1, t[n - 1].n - 1};
        if (field_num(c, "cpu", 255, &v, err, errlen) < 0)
            return -1;
        r->cpu = (uint8_t)v;
        n--;
    }

    int kind = -1;
    tok k = t[0];
    if ((k.n == 1 || (k.n == 3 && k.p[1] == '.' && (k.p[2] == 'k' || k.p[2] == 'u'))) &&
        (k.p[0] == 'L' || k.p[0] == 'S' || k.p[0] == 'I')) {
        kind = TR_ACCESS;
        r->acc = k.p[0] == 'L' ? MM_LOAD : k.p[0] == 'S' ? MM_STORE : MM_IFETCH;
        r->priv = k.n == 3 && k.p[2] == 'k' ? MM_SUPERVISOR : MM_USER;
    } else {
        for (int i = TR_INSTR; i < TR_KIND_COUNT; i++)
            if (tok_is(k, text_kinds[i].name))
                kind = i;
    }
    if (kind < 0) {
        mm_errf(err, errlen, "unknown record '%.*s' (expected L, S, I, instr, switch, fork, exec, exit, mmap, "
                             "munmap, mprotect, cr3, invlpg or roi)", (int)(k.n > 40 ? 40 : k.n), k.p);
        return -1;
    }
    const text_kind *tk = &text_kinds[kind];
    size_t nf = n - 1;
    if (nf < tk->nmin || nf > tk->nmax || (kind == TR_MMAP && nf == 6)) {
        mm_errf(err, errlen, "'%.*s' takes %s [@CPU]", (int)k.n, k.p, tk->usage);
        return -1;
    }
    r->kind = (uint8_t)kind;
    const tok *f = t + 1;
    switch (kind) {
    case TR_ACCESS:
        if (field_num(f[0], "address", UINT64_MAX, &r->va, err, errlen) < 0)
            return -1;
        if (field_num(f[1], "size", 65535, &v, err, errlen) < 0)
            return -1;
        if (v == 0) {
            mm_errf(err, errlen, "bad size '0' (expected 1..65535)");
            return -1;
        }
        r->size = (uint32_t)v;
        return 1;
    case TR_INSTR:
        return field_num(f[0], "count", UINT64_MAX, &r->count, err, errlen) < 0 ? -1 : 1;
    case TR_CR3:
        if (field_num(f[0], "value", UINT64_MAX, &r->value, err, errlen) < 0)
            return -1;
        if (nf == 2) {
            if (!tok_is(f[1], "noflush")) {
                mm_errf(err, errlen, "expected 'noflush' after the CR3 value, not '%.*s'",
                        (int)(f[1].n > 40 ? 40 : f[1].n), f[1].p);
                return -1;
            }
            r->noflush = true;
        }
        return 1;
    case TR_INVLPG:
        return field_num(f[0], "address", UINT64_MAX, &r->addr, err, errlen) < 0 ? -1 : 1;
    case TR_ROI:
        if (!tok_is(f[0], "begin") && !tok_is(f[0], "end")) {
            mm_errf(err, errlen, "expected 'begin' or 'end' after 'roi', not '%.*s'", (int)(f[0].n > 40 ? 40 : f[0].n),
                    f[0].p);
            return -1;
        }
        r->roi = tok_is(f[0], "begin") ? TR_ROI_BEGIN : TR_ROI_END;
        return 1;
    default:
        break;
    }
    /* The process events: PID first. */
    if (field_num(f[0], "pid", UINT32_MAX, &v, err, errlen) < 0)
        return -1;
    r->pid = (uint32_t)v;
    if (kind == TR_FORK) {
        if (field_num(f[1], "child", UINT32_MAX, &v, err, errlen) < 0)
            return -1;
        r->child = (uint32_t)v;
    }
    if (kind == TR_MMAP || kind == TR_MUNMAP || kind == TR_MPROTECT) {
        if (field_num(f[1], "address", UINT64_MAX, &r->addr, err, errlen) < 0 ||
            field_num(f[2], "length", UINT64_MAX, &r->len, err, errlen) < 0)
            return -1;
    }
    if ((kind == TR_MMAP || kind == TR_MPROTECT) && field_prot(f[3], &r->prot, err, errlen) < 0)
        return -1;
    if (kind == TR_MMAP) {
        if (field_flags(f[4], &r->flags, err, errlen) < 0)
            return -1;
        if (nf == 7) {
            if (field_num(f[5], "file id", UINT32_MAX, &v, err, errlen) < 0 ||
                field_num(f[6], "offset", UINT64_MAX, &r->offset, err, errlen) < 0)
                return -1;
            r->file_id = (uint32_t)v;
        }
    }
    return 1;
}

typedef struct text_in {
    line_in in;
    imp_out out;
    trace_meta *meta;
} text_in;

/* "# source: X" / "# command: Y": copy a nonempty value into dst. */
static bool meta_line(const char *s, size_t len, const char *tag, char dst[TRACE_META_STR])
{
    size_t t = strlen(tag);
    if (len < t || memcmp(s, tag, t) != 0)
        return false;
    s += t;
    len -= t;
    while (len && (s[0] == ' ' || s[0] == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    if (len)
        meta_set(dst, s, len);
    return true;
}

static int text_run(text_in *ti, const char *name, char *err, size_t errlen)
{
    char *line;
    size_t len;
    bool too_long;
    int got;
    while ((got = lines_next(&ti->in, &line, &len, &too_long)) > 0) {
        uint64_t ln = ti->in.lineno;
        if (too_long) {
            mm_errf(err, errlen, "%s:%" PRIu64 ": line longer than %u bytes", name, ln, IMPORT_LINE_MAX);
            return -1;
        }
        if (memchr(line, '\0', len)) {
            mm_errf(err, errlen, "%s:%" PRIu64 ": NUL byte in the line", name, ln);
            return -1;
        }
        if (line[0] == '#') {
            if (!meta_line(line, len, "# source:", ti->meta->source))
                meta_line(line, len, "# command:", ti->meta->command);
            continue;
        }
        trace_rec r;
        char msg[256];
        int k = trace_text_parse(line, &r, msg, sizeof msg);
        if (k < 0) {
            mm_errf(err, errlen, "%s:%" PRIu64 ": %s", name, ln, msg);
            return -1;
        }
        if (k > 0 && out_put(&ti->out, &r) < 0) {
            mm_errf(err, errlen, "%s:%" PRIu64 ": stopped by the output", name, ln);
            return -1;
        }
    }
    if (got < 0) {
        mm_errf(err, errlen, "%s:%" PRIu64 ": read error: %s", name, ti->in.lineno + 1, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- ChampSim --------------------------------------------------------------
 * cs_in turns the input into decompressed bytes (raw, xz or gzip, by the
 * first bytes); champsim_run cuts them into 64-byte records. */

typedef enum cs_codec { CS_RAW, CS_XZ, CS_GZ } cs_codec;

typedef struct cs_in {
    imp_src src;
    imp_out out;
    cs_codec codec;
    const char *name;
    unsigned char in[IMPORT_BUF];   /* compressed bytes: in[pos, end) unread */
    size_t pos, end;
    bool eof;
    uint64_t read;                  /* bytes read from src so far */
    lzma_stream xz;
    z_stream gz;
    bool gz_member_end;             /* inflate finished a gzip member */
    bool done;                      /* the decoder reached its clean end */
    unsigned char out_buf[IMPORT_BUF];
} cs_in;

/* Offset in the file of the next byte the decoder will take. */
static uint64_t cs_file_off(const cs_in *c)
{
    return c->read - (c->end - c->pos);
}

/* Make at least k bytes unread in c->in, unless the input ends first.
 * 0, or -1 on a read error (errno). */
static int cs_need(cs_in *c, size_t k)
{
    while (c->end - c->pos < k && !c->eof) {
        if (c->pos > 0) {
            memmove(c->in, c->in + c->pos, c->end - c->pos);
            c->end -= c->pos;
            c->pos = 0;
        }
        ptrdiff_t n = src_read(&c->src, c->in + c->end, sizeof c->in - c->end);
        if (n < 0)
            return -1;
        if (n == 0)
            c->eof = true;
        c->end += (size_t)n;
        c->read += (uint64_t)n;
    }
    return 0;
}

static const char *xz_problem(lzma_ret r)
{
    switch (r) {
    case LZMA_MEM_ERROR: return "out of memory decoding xz";
    case LZMA_MEMLIMIT_ERROR: return "xz stream needs more than IMPORT_XZ_MEMLIMIT (256 MiB) to decode";
    case LZMA_FORMAT_ERROR: return "corrupt xz stream (bad stream header)";
    case LZMA_OPTIONS_ERROR: return "unsupported xz options";
    case LZMA_DATA_ERROR: return "corrupt xz data";
    case LZMA_BUF_ERROR: return "truncated xz stream";
    default: return "xz decoder error";
    }
}

/* Up to n decompressed bytes into dst: *got, 0 at the end; 0, or -1 with
 * err. */
static int cs_produce(cs_in *c, unsigned char *dst, size_t n, size_t *got, char *err, size_t errlen)
{
    *got = 0;
    if (c->done)
        return 0;
    if (c->codec == CS_RAW) {
        if (c->pos < c->end) {   /* the bytes read to look at the magic */
            size_t k = c->end - c->pos < n ? c->end - c->pos : n;
            memcpy(dst, c->in + c->pos, k);
            c->pos += k;
            *got = k;
            return 0;
        }
        ptrdiff_t k = src_read(&c->src, dst, n);
        if (k < 0)
            goto read_error;
        c->read += (uint64_t)k;
        if (k == 0)
            c->done = true;
        *got = (size_t)k;
        return 0;
    }
    while (*got == 0 && !c->done) {
        if (c->pos == c->end && cs_need(c, 1) < 0)
            goto read_error;
        if (c->codec == CS_XZ) {
            c->xz.next_in = c->in + c->pos;
            c->xz.avail_in = c->end - c->pos;
            c->xz.next_out = dst;
            c->xz.avail_out = n;
            lzma_ret r = lzma_code(&c->xz, c->eof ? LZMA_FINISH : LZMA_RUN);
            c->pos = c->end - c->xz.avail_in;
            *got = n - c->xz.avail_out;
            if (r == LZMA_STREAM_END)
                c->done = true;
            else if (r != LZMA_OK) {
                mm_errf(err, errlen, "%s: offset %" PRIu64 ": %s", c->name, cs_file_off(c), xz_problem(r));
                return -1;
            }
            continue;
        }
        /* gzip: one member after another */
        if (c->gz_member_end) {
            if (cs_need(c, 2) < 0)
                goto read_error;
            if (c->pos == c->end) {
                c->done = true;
                break;
            }
            if (c->end - c->pos < 2 || c->in[c->pos] != 0x1f || c->in[c->pos + 1] != 0x8b) {
                mm_errf(err, errlen, "%s: offset %" PRIu64 ": trailing data after the gzip stream", c->name,
                        cs_file_off(c));
                return -1;
            }
            inflateReset(&c->gz);
            c->gz_member_end = false;
        }
        if (c->pos == c->end) {   /* cs_need found the end of the input */
            mm_errf(err, errlen, "%s: offset %" PRIu64 ": truncated gzip stream", c->name, cs_file_off(c));
            return -1;
        }
        c->gz.next_in = c->in + c->pos;
        c->gz.avail_in = (uInt)(c->end - c->pos);
        c->gz.next_out = dst;
        c->gz.avail_out = (uInt)n;
        int r = inflate(&c->gz, Z_NO_FLUSH);
        c->pos = c->end - c->gz.avail_in;
        *got = n - c->gz.avail_out;
        if (r == Z_STREAM_END)
            c->gz_member_end = true;
        else if (r == Z_BUF_ERROR && c->gz.avail_in == 0)
            continue;   /* wants more input */
        else if (r != Z_OK) {
            mm_errf(err, errlen, "%s: offset %" PRIu64 ": corrupt gzip data (%s)", c->name, cs_file_off(c),
                    r == Z_MEM_ERROR ? "out of memory" : c->gz.msg ? c->gz.msg : "inflate failed");
            return -1;
        }
    }
    return 0;
read_error:
    mm_errf(err, errlen, "%s: offset %" PRIu64 ": read error: %s", c->name, c->read, strerror(errno));
    return -1;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* One input_instr: see trace_import.h. */
static int champsim_record(imp_out *o, const unsigned char *p)
{
    o->pending++;
    if (out_access(o, MM_IFETCH, le64(p), CS_IFETCH_SIZE) < 0)
        return -1;
    for (int i = 0; i < 4; i++) {   /* source_memory[4] at 32 */
        uint64_t a = le64(p + 32 + 8 * i);
        if (a && out_access(o, MM_LOAD, a, CS_DATA_SIZE) < 0)
            return -1;
    }
    for (int i = 0; i < 2; i++) {   /* destination_memory[2] at 16 */
        uint64_t a = le64(p + 16 + 8 * i);
        if (a && out_access(o, MM_STORE, a, CS_DATA_SIZE) < 0)
            return -1;
    }
    return 0;
}

static int champsim_run(cs_in *c, char *err, size_t errlen)
{
    static const unsigned char xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    if (cs_need(c, sizeof xz_magic) < 0) {
        mm_errf(err, errlen, "%s: offset 0: read error: %s", c->name, strerror(errno));
        return -1;
    }
    size_t have = c->end - c->pos;
    if (have >= sizeof xz_magic && memcmp(c->in, xz_magic, sizeof xz_magic) == 0) {
        c->codec = CS_XZ;
        lzma_ret r = lzma_stream_decoder(&c->xz, IMPORT_XZ_MEMLIMIT, LZMA_CONCATENATED);
        if (r != LZMA_OK) {
            mm_errf(err, errlen, "%s: offset 0: %s", c->name, xz_problem(r));
            return -1;
        }
    } else if (have >= 2 && c->in[0] == 0x1f && c->in[1] == 0x8b) {
        c->codec = CS_GZ;
        if (inflateInit2(&c->gz, 15 + 16) != Z_OK) {   /* 15: largest window; +16: gzip wrapper */
            mm_errf(err, errlen, "%s: offset 0: out of memory", c->name);
            return -1;
        }
    }

    uint64_t off = 0;   /* decompressed offset of out_buf[0] */
    size_t have_out = 0;
    for (;;) {
        size_t got;
        if (cs_produce(c, c->out_buf + have_out, sizeof c->out_buf - have_out, &got, err, errlen) < 0)
            return -1;
        if (got == 0 && c->done)
            break;
        have_out += got;
        size_t whole = have_out / CS_RECORD * CS_RECORD;
        for (size_t i = 0; i < whole; i += CS_RECORD)
            if (champsim_record(&c->out, c->out_buf + i) < 0) {
                mm_errf(err, errlen, "%s: offset %" PRIu64 ": stopped by the output", c->name, off + i);
                return -1;
            }
        memmove(c->out_buf, c->out_buf + whole, have_out - whole);
        have_out -= whole;
        off += whole;
    }
    if (have_out) {
        mm_errf(err, errlen, "%s: offset %" PRIu64 ": truncated record", c->name, off);
        return -1;
    }
    if (out_flush(&c->out) < 0) {
        mm_errf(err, errlen, "%s: offset %" PRIu64 ": stopped by the output", c->name, off);
        return -1;
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------- */

/* Run the importer for fmt over src. */
static int import_src(import_format fmt, imp_src src, const char *name, trace_sink sink, trace_meta *meta,
                      char *err, size_t errlen)
{
    trace_meta dummy;
    if (!meta) {
        memset(&dummy, 0, sizeof dummy);
        meta = &dummy;
    }
    int rc = -1;
    switch (fmt) {
    case IMPORT_LACKEY: {
        lackey_in *lk = calloc(1, sizeof *lk);
        if (!lk)
            break;
        lk->in.src = src;
        lk->out.sink = sink;
        lk->meta = meta;
        lk->want_command = !meta->command[0];
        meta_set(meta->source, "lackey", 6);
        rc = lackey_run(lk, name, err, errlen);
        free(lk);
        return rc;
    }
    case IMPORT_TEXT: {
        text_in *ti = calloc(1, sizeof *ti);
        if (!ti)
            break;
        ti->in.src = src;
        ti->out.sink = sink;
        ti->meta = meta;
        meta_set(meta->source, "text", 4);
        rc = text_run(ti, name, err, errlen);
        free(ti);
        return rc;
    }
    case IMPORT_CHAMPSIM: {
        cs_in *c = calloc(1, sizeof *c);
        if (!c)
            break;
        c->src = src;
        c->out.sink = sink;
        c->name = name;
        /* calloc: c->xz is LZMA_STREAM_INIT, all zero */
        meta_set(meta->source, "champsim", 8);
        rc = champsim_run(c, err, errlen);
        if (c->codec == CS_XZ)
            lzma_end(&c->xz);
        else if (c->codec == CS_GZ)
            inflateEnd(&c->gz);
        free(c);
        return rc;
    }
    default:
        mm_errf(err, errlen, "%s: unknown trace format %d", name, (int)fmt);
        return -1;
    }
    mm_errf(err, errlen, "%s: out of memory", name);
    return -1;
}

int trace_import(import_format fmt, const char *path, trace_sink sink, trace_meta *meta, char *err, size_t errlen)
{
    bool std = strcmp(path, "-") == 0;
    int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mm_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = trace_import_fd(fmt, fd, std ? "<stdin>" : path, sink, meta, err, errlen);
    if (!std)
        close(fd);
    return rc;
}

int trace_import_fd(import_format fmt, int fd, const char *name, trace_sink sink, trace_meta *meta, char *err,
                    size_t errlen)
{
    if (fd < 0) {
        mm_errf(err, errlen, "%s: %s", name, strerror(EBADF));
        return -1;
    }
    imp_src src = {.fd = fd};
    return import_src(fmt, src, name, sink, meta, err, errlen);
}

int trace_import_mem(import_format fmt, const void *data, size_t size, const char *name, trace_sink sink,
                     trace_meta *meta, char *err, size_t errlen)
{
    imp_src src = {.fd = -1, .mem = data, .memlen = size};
    return import_src(fmt, src, name, sink, meta, err, errlen);
}

/* ---- text export ---------------------------------------------------------- */

/* "# TAG VALUE" with line breaks in the value made spaces. */
static void export_meta_line(FILE *out, const char *tag, const char *value)
{
    if (!value[0])
        return;
    fprintf(out, "# %s ", tag);
    for (const char *p = value; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, out);
    fputc('\n', out);
}

int trace_export_text(trace_reader *r, FILE *out, char *err, size_t errlen)
{
    const trace_meta *m = trace_reader_meta(r);
    fputs("# mmusim text trace (traces/TEXT_FORMAT.md)\n", out);
    export_meta_line(out, "source:", m->source);
    export_meta_line(out, "command:", m->command);
    trace_rec rec;
    char line[TRACE_TEXT_MAX];
    uint64_t i = 0;
    int got;
    while ((got = trace_next(r, &rec)) > 0) {
        int n = trace_text_format(&rec, line, sizeof line);
        if (n < 0) {
            mm_errf(err, errlen, "record %" PRIu64 ": not a valid record (kind %u)", i, rec.kind);
            return -1;
        }
        line[n] = '\n';
        if (fwrite(line, 1, (size_t)n + 1, out) != (size_t)n + 1)
            break;
        i++;
    }
    if (got < 0) {
        mm_errf(err, errlen, "%s", trace_reader_error(r));
        return -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        mm_errf(err, errlen, "write error: %s", strerror(errno));
        return -1;
    }
    return 0;
}
