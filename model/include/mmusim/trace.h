/* trace.h -- memory-access traces: the record model, and the streaming
 * writer and reader of the compressed trace format (traces/FORMAT.md).
 *
 * A trace is a sequence of records: memory accesses, instruction-count
 * deltas, and OS events (context switch, fork, exec, exit, mmap, munmap,
 * mprotect, explicit CR3 writes, INVLPG).  Producers (importers, generators,
 * the recorder, the writer's own callers) hand records to a trace_sink;
 * consumers pull them from a trace_reader.  Both run in constant memory
 * whatever the trace's length, from a file or a pipe ("-").
 *
 * The file: a small header (magic, version, metadata), then independent
 * zstd frames (checksums on) of at most TRACE_FRAME_RECORDS records each,
 * then a seek index and a footer.  Each frame starts its delta encoding
 * afresh, so a reader can start at any frame and several threads can decode
 * one trace.
 *
 * Errors: functions that can fail write one line into the caller's buffer,
 * "FILE: offset N: problem" (N: the byte offset in the file of the field
 * at fault, or of the structure when no one field is; FORMAT.md, Reading),
 * and the command line prints it and exits with status 2.  Writers write to
 * FILE.tmp and rename to FILE only when the trace is complete. */
#ifndef MMUSIM_TRACE_H
#define MMUSIM_TRACE_H

#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Format version written by this library.  A reader refuses a file whose
 * major version is newer than TRACE_VERSION_MAJOR. */
#define TRACE_VERSION_MAJOR 1
#define TRACE_VERSION_MINOR 1   /* 1.1: TR_ROI */

/* Records per zstd frame, at most (the writer's default). */
#define TRACE_FRAME_RECORDS (1u << 20)

typedef enum trace_kind {
    TR_ACCESS = 0,   /* va, size, acc, priv, cpu */
    TR_INSTR,        /* count: instructions retired since the previous TR_INSTR, cpu */
    TR_SWITCH,       /* cpu now runs process pid */
    TR_FORK,         /* pid forks child */
    TR_EXEC,         /* pid execs (its address space is replaced) */
    TR_EXIT,         /* pid exits */
    TR_MMAP,         /* pid maps [addr, addr+len) with prot, flags, file_id, offset */
    TR_MUNMAP,       /* pid unmaps [addr, addr+len) */
    TR_MPROTECT,     /* pid changes [addr, addr+len) to prot */
    TR_CR3,          /* explicit CR3 write on cpu: value (root | PCID), noflush */
    TR_INVLPG,       /* INVLPG of addr on cpu */
    TR_ROI,          /* region-of-interest marker: roi (TR_ROI_BEGIN or TR_ROI_END); format 1.1.  A
                        marker is not an event: footers and trace_meta.events do not count it */
    TR_KIND_COUNT
} trace_kind;

const char *trace_kind_name(trace_kind k);   /* "access", "instr", "switch", ... */

/* mmap/mprotect protection bits (as PROT_*). */
#define TR_PROT_READ 1u
#define TR_PROT_WRITE 2u
#define TR_PROT_EXEC 4u

/* mmap flags. */
#define TR_MAP_ANON 0x01u     /* anonymous (else file-backed: file_id, offset) */
#define TR_MAP_SHARED 0x02u   /* shared (else private) */
#define TR_MAP_HUGE 0x04u     /* MAP_HUGETLB: 1 GiB pages where aligned */
#define TR_MAP_THP 0x08u      /* madvise(MADV_HUGEPAGE) on the range */
#define TR_MAP_KERNEL 0x10u   /* a kernel mapping (vmalloc space), in init_mm */

/* One record.  Fields not used by a kind are zero (writers may rely on it
 * when comparing records; readers always zero them). */
typedef struct trace_rec {
    uint8_t kind;       /* trace_kind */
    uint8_t cpu;        /* 0..255 */
    uint8_t acc;        /* TR_ACCESS: mm_kind (load, store, ifetch) */
    uint8_t priv;       /* TR_ACCESS: mm_priv (user, supervisor) */
    uint32_t size;      /* TR_ACCESS: bytes, 1..65535 */
    uint64_t va;        /* TR_ACCESS: virtual address */
    uint64_t count;     /* TR_INSTR: instructions */
    uint32_t pid;       /* process events; TR_SWITCH target */
    uint32_t child;     /* TR_FORK */
    uint64_t addr, len; /* TR_MMAP, TR_MUNMAP, TR_MPROTECT; TR_INVLPG: addr */
    uint64_t offset;    /* TR_MMAP: file offset */
    uint32_t prot;      /* TR_MMAP, TR_MPROTECT: TR_PROT_* */
    uint32_t flags;     /* TR_MMAP: TR_MAP_* */
    uint32_t file_id;   /* TR_MMAP with a file */
    uint64_t value;     /* TR_CR3: the value written */
    bool noflush;       /* TR_CR3: bit 63 set */
    uint8_t roi;        /* TR_ROI: TR_ROI_BEGIN or TR_ROI_END */
} trace_rec;

/* TR_ROI's roi: where the program's region of interest begins and ends
 * (MMUSIM_ROI_BEGIN() / MMUSIM_ROI_END() in traces/workloads/roi.h). */
#define TR_ROI_BEGIN 0u
#define TR_ROI_END 1u

/* True when two records are equal in every field their kind uses. */
bool trace_rec_equal(const trace_rec *a, const trace_rec *b);

/* Where producers put records.  Returns 0, or -1 to stop (with a message
 * already in the sink's own error buffer). */
typedef int (*trace_sink_fn)(void *ctx, const trace_rec *r);
typedef struct trace_sink {
    trace_sink_fn put;
    void *ctx;
} trace_sink;

/* ---- metadata ------------------------------------------------------- */

#define TRACE_META_STR 1024

typedef struct trace_meta {
    char source[TRACE_META_STR];    /* "lackey", "champsim", "text", "gen:zipf", ... */
    char command[TRACE_META_STR];   /* the recorded command line, or the generator's arguments */
    char recorder[TRACE_META_STR];  /* tool and version that produced it, e.g. "mmusim 0.1.0" */
    /* Counts, known when the writer closes (kept in the footer). */
    uint64_t records;
    uint64_t accesses;
    uint64_t instructions;          /* sum of TR_INSTR counts */
    uint64_t events;                /* records that are neither accesses, instruction counts nor ROI markers */
    uint32_t version_major, version_minor;   /* read back from the file */
} trace_meta;

/* ---- writer --------------------------------------------------------- */

typedef struct trace_writer trace_writer;

/* Open a writer on `path` ("-" = standard output, written straight
 * through).  A file is written to "PATH.tmp" and renamed on close.
 * frame_records: records per frame (0 = TRACE_FRAME_RECORDS); level: zstd
 * level (0 = the library's default, 1..19).  NULL with err filled on
 * failure, and errno set: the failed creation's, EINVAL for a bad level. */
trace_writer *trace_writer_open(const char *path, const trace_meta *meta, unsigned frame_records, int level,
                                char *err, size_t errlen);
int trace_write(trace_writer *w, const trace_rec *r);    /* 0, or -1 (see trace_writer_error) */
/* Why the writer stopped: one line "PATH: offset N: problem" (N: the
 * output's offset where it stopped), "" while it has not. */
const char *trace_writer_error(const trace_writer *w);
/* The errno of the output operation (create, write, flush, close, rename)
 * that stopped the writer; 0 while none failed, and when the writer stopped
 * on an invalid record instead.  A failing trace_write leaves errno at this
 * value too.  Callers tell a failed output (a full disk, a closed pipe)
 * from a bad record by it. */
int trace_writer_errno(const trace_writer *w);
/* "PATH.tmp", the file being written, or NULL when writing to standard
 * output: a program that removes it on a fatal signal needs its name.
 * Valid until the writer is closed or aborted. */
const char *trace_writer_tmp_path(const trace_writer *w);
/* Finish the last frame, write the seek index and footer, close, rename.
 * Frees the writer; 0, or -1 with err filled and errno as
 * trace_writer_errno said (0 if the writer had stopped on an invalid
 * record); the temporary file is removed on failure. */
int trace_writer_close(trace_writer *w, char *err, size_t errlen);
/* Give up: close and remove the temporary file, free the writer. */
void trace_writer_abort(trace_writer *w);
/* A sink that writes into w. */
trace_sink trace_writer_sink(trace_writer *w);

/* ---- reader --------------------------------------------------------- */

typedef struct trace_reader trace_reader;

/* Open `path` ("-" = standard input) and read its header.  NULL with err
 * filled for an unreadable file, a wrong magic, a newer major version, a
 * truncated or corrupt header. */
trace_reader *trace_reader_open(const char *path, char *err, size_t errlen);
/* The next record: 1, 0 at a clean end of the trace, -1 on an error (a
 * truncated file, a corrupt frame, a bad checksum, a malformed record, a
 * footer that disagrees with what was read): trace_reader_error says what,
 * with the file and byte offset. */
int trace_next(trace_reader *r, trace_rec *out);
const char *trace_reader_error(const trace_reader *r);
/* Header metadata; counts are filled once the footer is known (at once for
 * a seekable file, at the clean end for a pipe). */
const trace_meta *trace_reader_meta(const trace_reader *r);
/* Position so that the next trace_next returns record `index` (0-based),
 * using the seek index: decodes only from the frame holding it.  Files
 * only; -1 with an error for a pipe or an index past the end. */
int trace_seek(trace_reader *r, uint64_t index);
/* Number of frames and the first record index of frame i (seekable files),
 * for splitting a trace between threads. */
size_t trace_frames(const trace_reader *r);
uint64_t trace_frame_first(const trace_reader *r, size_t i);
void trace_reader_close(trace_reader *r);

#ifdef __cplusplus
}
#endif

#endif
