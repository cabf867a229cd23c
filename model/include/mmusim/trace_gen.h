/* trace_gen.h -- synthetic trace generators and the trace summary.
 *
 * A generator writes a deterministic trace into a trace_sink: the same
 * pattern and options (seed included) give identical records.  Patterns:
 *
 *   sequential   one process streams through its region, `stride` bytes a
 *                step (default 64: one access per cache line), wrapping to
 *                the start.
 *   strided      the same walk at a page-sized stride (default 4096), each
 *                pass shifted by one 64-byte line, so the passes cover the
 *                region column by column (a column walk of a row-major matrix).
 *   gups         uniform random read-modify-write of `size`-byte words (the
 *                HPCC RandomAccess "GUPS" kernel): a load and a store of the
 *                same word per update.
 *   zipf         Zipf-distributed accesses over the 4 KiB pages of the region,
 *                P(rank k) = k^-s / H(n,s); ranks are scattered over the pages
 *                by a seeded permutation, the word within a page is uniform.
 *   chase        pointer chase: a random cyclic permutation of the region's
 *                64-byte lines (`size` bytes if larger), one dependent
 *                `size`-byte load at the start of each line.
 *   processes    `processes` processes, each with its own region and access
 *                pattern (`inner`), run in turn on CPU 0 with a context switch
 *                every `switch_every` accesses.
 *   fork-write   copy-on-write: a parent maps and writes every page of its
 *                region, forks, and the child writes `write_fraction` of the
 *                pages; then parent and child take turns reading the region.
 *   shared-file  `processes` processes map one file (shared, file_id 1) at
 *                addresses of their own and take turns accessing it; the hot
 *                pages (zipf) and the chain (chase) are the file's, the same
 *                in every process.
 *   vmalloc      the kernel maps a vmalloc range (TR_MAP_KERNEL); processes
 *                take turns, each mixing user accesses to its own region with
 *                supervisor accesses to the vmalloc range.
 *
 * OS story.  Every pattern starts its processes with TR_SWITCH (pids 1001,
 * 1002, ...; all on CPU 0) and declares each region with TR_MMAP before its
 * first access: anonymous private regions in the heap area (0x55xxxxxxx000),
 * file mappings in the mmap area (0x7fxxxxxxx000), the vmalloc range at
 * 0xffffc9xxxxxxx000.  Region bases are randomized from the seed (as ASLR
 * does) and 2 MiB aligned, so transparent huge pages can back them.
 *
 * Instructions.  After every `instr_every` accesses (and before every event,
 * and at the end) a TR_INSTR record counts `instr_per_access` instructions
 * per access since the previous one, so MPKI works: with the defaults (one
 * TR_INSTR per access, 3 instructions each) a memory access is about one
 * instruction in three, as in typical integer code.
 *
 * Every pattern emits exactly `count` accesses (TR_ACCESS records).
 *
 * Options have a command-line spelling ("--footprint 64M"); trace_gen_set
 * parses one, the option table lists them, and the errors name them that
 * way. */
#ifndef MMUSIM_TRACE_GEN_H
#define MMUSIM_TRACE_GEN_H

#include <stdio.h>

#include "mmusim/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum trace_gen_pattern {
    TG_SEQUENTIAL = 0,
    TG_STRIDED,
    TG_GUPS,
    TG_ZIPF,
    TG_CHASE,
    TG_PROCESSES,
    TG_FORK_WRITE,
    TG_SHARED_FILE,
    TG_VMALLOC,
    TG_PATTERN_COUNT
} trace_gen_pattern;

/* Patterns that one process can run inside a multi-process pattern. */
#define TG_IS_INNER(p) ((p) >= TG_SEQUENTIAL && (p) <= TG_CHASE)

/* First pid a generator gives its processes; the kernel's mappings use 0. */
#define TG_FIRST_PID 1001u

/* Generator options.  Start from trace_gen_defaults(); every field's unit,
 * range and default is below. */
typedef struct trace_gen_opts {
    uint64_t footprint;        /* bytes of each process's region (of the file for
                                  shared-file): a multiple of 4096, 4 KiB..1 TiB.
                                  Default 64 MiB */
    uint64_t count;            /* TR_ACCESS records in the trace.  Default 1000000 */
    uint64_t seed;             /* any value; same seed, same trace.  Default 1 */
    uint64_t stride;           /* bytes between consecutive accesses (sequential,
                                  strided), 1..footprint; 0 = the pattern's default:
                                  64 for sequential, 4096 for strided.  Default 0 */
    uint32_t size;             /* bytes per access, a power of two 1..4096.  Default 8 */
    unsigned processes;        /* number of processes of the patterns processes,
                                  shared-file and vmalloc: 1..4096.  Default 4 */
    uint64_t switch_every;     /* accesses between context switches, >= 1.  Default 10000 */
    double zipf_s;             /* Zipf exponent s, 0 < s <= 100.  Default 1.0 */
    double write_fraction;     /* 0..1: fraction of accesses that are stores (sequential,
                                  strided, zipf, and the multi-process patterns); for
                                  fork-write the fraction of pages the child writes.
                                  gups and chase ignore it.  Default 0.25 */
    int inner;                 /* the access pattern of each process in the patterns
                                  processes, shared-file and vmalloc: sequential,
                                  strided, gups, zipf or chase.  Default zipf */
    unsigned instr_per_access; /* instructions counted per access, 0..1000 (0 = no
                                  TR_INSTR records).  Default 3 */
    unsigned instr_every;      /* accesses per TR_INSTR record, >= 1.  Default 1 */
    uint64_t kernel_footprint; /* vmalloc: bytes of the vmalloc range, a multiple of
                                  4096, 4 KiB..1 TiB.  Default 16 MiB */
    double kernel_fraction;    /* vmalloc: fraction of accesses that are supervisor
                                  accesses to the vmalloc range, 0..1.  Default 0.2 */
} trace_gen_opts;

void trace_gen_defaults(trace_gen_opts *o);

/* Pattern names: "sequential", "strided", "gups", "zipf", "chase",
 * "processes", "fork-write", "shared-file", "vmalloc". */
int trace_gen_pattern_by_name(const char *name);   /* -1 if unknown */
const char *trace_gen_pattern_name(int p);          /* "?" if out of range */
/* One line describing pattern p (for help texts). */
const char *trace_gen_pattern_help(int p);

/* ---- options by name ------------------------------------------------ */

typedef enum trace_gen_param_type {
    TG_PARAM_SIZE,      /* uint64_t bytes; accepts K, M, G, T suffixes (powers of two) */
    TG_PARAM_U64,       /* uint64_t */
    TG_PARAM_UINT,      /* unsigned / uint32_t */
    TG_PARAM_DOUBLE,    /* double */
    TG_PARAM_PATTERN,   /* int, a pattern name */
} trace_gen_param_type;

typedef struct trace_gen_param {
    const char *name;            /* command-line spelling without "--": "footprint" */
    trace_gen_param_type type;
    size_t offset;               /* of the field in trace_gen_opts */
    const char *help;            /* one line: what it is and its default */
} trace_gen_param;

/* The option table, in help order; *n gets its length. */
const trace_gen_param *trace_gen_params(size_t *n);
/* Set option `name` (without "--") from its text.  0, or -1 with err
 * "--NAME VALUE: problem" (an unknown name, a value that does not parse or
 * is out of its range). */
int trace_gen_set(trace_gen_opts *o, const char *name, const char *value, char *err, size_t errlen);
/* The generator's arguments in command-line form, every option spelled out
 * ("zipf --footprint 64M --count 1000000 --seed 1 ..."), so the trace says
 * how to make it again. */
void trace_gen_describe(int pattern, const trace_gen_opts *o, char *buf, size_t len);

/* ---- generation ----------------------------------------------------- */

/* Write the trace of `pattern` with options `o` into `sink`.  If meta is
 * not NULL its source ("gen:PATTERN") and command (trace_gen_describe) are
 * set before the first record reaches the sink, and its counts when the
 * trace is complete.  0, or -1 with err filled: options out of range (the
 * option is named), or the sink stopped (err then says only that; the
 * sink's own buffer has the reason). */
int trace_gen(int pattern, const trace_gen_opts *o, trace_sink sink, trace_meta *meta, char *err, size_t errlen);

/* ---- summary -------------------------------------------------------- */

/* Read the rest of r's trace and print its summary as stable "key: value"
 * lines: the metadata strings, records by kind, accesses by kind and by
 * privilege, instructions, events by kind, the footprint in distinct 4 KiB,
 * 2 MiB and 1 GiB pages, the processes and CPUs seen, and, when `path` names
 * a regular file, its size and the bytes per access.  A page counts once
 * per address space: user pages per (process running on the access's CPU,
 * virtual page), kernel-half pages (bit 63 set) once, in the shared kernel
 * space.  Memory grows with the distinct pages only.  0, or -1 with err
 * filled from the reader's error. */
int trace_info(trace_reader *r, const char *path, FILE *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
