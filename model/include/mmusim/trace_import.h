/* trace_import.h -- foreign traces into mmusim records: valgrind lackey
 * logs, ChampSim binary traces, and mmusim's own text format; and the text
 * export.  (`mmusim trace record` runs a command under lackey -- process
 * control, the command line's -- and imports the log from its pipe with
 * trace_import_fd.)
 *
 * Importers stream: they read their input in fixed buffers and hand each
 * record to a trace_sink as soon as it is decoded, in constant memory
 * whatever the input's length, from a file or a pipe ("-" = standard
 * input).  They never write files; the command line connects the sink to
 * a trace_writer.
 *
 * Instruction counts.  Both lackey and ChampSim describe one instruction at
 * a time; the importers coalesce them.  Each instruction's fetch becomes a
 * TR_ACCESS (MM_IFETCH) at once, and its count of 1 is added to a pending
 * total, which goes out as one TR_INSTR just before the next record that is
 * not an instruction fetch (a load or a store) and at the end of the input.
 * So a data access is always preceded by the count of every instruction up
 * to and including the one that makes it, and a run of instructions without
 * data accesses costs one TR_INSTR, not one per instruction.
 *
 * valgrind lackey (--tool=lackey --trace-mem=yes):
 *   "I  ADDR,SIZE"  an instruction: an ifetch of SIZE bytes, and a count
 *   " L ADDR,SIZE"  a load;  " S ADDR,SIZE" a store
 *   " M ADDR,SIZE"  a modify: a load, then a store, of the same bytes
 *   "**PID** mmusim-roi-begin", "**PID** mmusim-roi-end": a TR_ROI marker
 *                   (the program's MMUSIM_ROI_BEGIN()/END(), which are
 *                   VALGRIND_PRINTF; traces/workloads/roi.h), after the
 *                   count of the instructions before it
 *   "==PID== ..."   valgrind's own lines ("--PID--" and "**PID**" too):
 *                   skipped, except that the first "==PID== Command: CMD"
 *                   sets meta->command when it is empty (`trace record`
 *                   sets it from the command's argv first).
 * ADDR is hexadecimal without "0x", SIZE decimal (1..65535) and kept as
 * given, also when the access straddles a page.  Every access is user
 * privilege on cpu 0.  Anything else is an error "PATH:LINE: problem".
 *
 * ChampSim (ChampSim's inc/trace_instruction.h, struct input_instr): 64-byte
 * little-endian records { u64 ip; u8 is_branch, branch_taken; u8
 * destination_registers[2], source_registers[4]; u64 destination_memory[2],
 * source_memory[4]; }, raw, xz or gzip, told apart by the first bytes (xz:
 * FD 37 7A 58 5A 00, gzip: 1F 8B), not by the name.  Concatenated xz
 * streams and gzip members are read one after another.  Each record: an
 * ifetch of ip of 4 bytes (ChampSim keeps no instruction length; 4 is the
 * common fixed length), a count of 1, then a load of 8 bytes for each
 * nonzero source_memory slot and a store of 8 bytes for each nonzero
 * destination_memory slot, in slot order, duplicates kept (ChampSim keeps no
 * access sizes; 8 is a machine word).  User privilege, cpu 0.  Errors are
 * "PATH: offset N: problem": for a record (a file whose length is not a
 * multiple of 64 ends with a "truncated record"), N is the record's offset
 * in the decompressed data; for a corrupt or truncated xz or gzip stream, N
 * is the offset in the file where decoding stopped.  An xz stream that needs
 * more than IMPORT_XZ_MEMLIMIT bytes to decode is refused.
 *
 * The text format: one record per line, "L 0x7ffe1000 8", "S.k
 * 0xffffc90000001000 4 @1", "mmap 42 0x7f0000000000 0x200000 rw- anon,thp";
 * see the comment at the top of trace_import.c and traces/TEXT_FORMAT.md.
 * Lines "# source: X" and "# command: Y" set meta->source and
 * meta->command; trace_export_text writes them. */
#ifndef MMUSIM_TRACE_IMPORT_H
#define MMUSIM_TRACE_IMPORT_H

#include <stdio.h>

#include "mmusim/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum import_format {
    IMPORT_LACKEY,
    IMPORT_CHAMPSIM,
    IMPORT_TEXT,
    IMPORT_FORMAT_COUNT
} import_format;

/* Memory an xz decoder may use (a stream made with xz -9 needs 65 MiB). */
#define IMPORT_XZ_MEMLIMIT (256u << 20)

/* Longest line of a lackey or text input, newline excluded (a longer
 * line is an error, except valgrind's own lines in a lackey log). */
#define IMPORT_LINE_MAX 4095

/* Longest line trace_text_format writes, with its NUL (a buffer of this
 * size always suffices for a valid record). */
#define TRACE_TEXT_MAX 192

/* "lackey", "champsim", "text"; -1 for an unknown name. */
int import_format_by_name(const char *name);
const char *import_format_name(import_format f);

/* Read `path` ("-" = standard input) in format fmt and put its records into
 * sink.  Sets meta->source ("lackey", "champsim", "text" or what a text
 * file's "# source:" line says) and meta->command when the input names the
 * command; other fields of meta are left alone.  0, or -1 with one line in
 * err: "PATH:LINE: problem" for the line formats, "PATH: offset N: problem"
 * for ChampSim, "PATH: problem" for an unreadable file.  When the sink
 * stops (returns -1), the import stops with -1 and err says where; the
 * sink's own error says why. */
int trace_import(import_format fmt, const char *path, trace_sink sink, trace_meta *meta, char *err, size_t errlen);

/* The same from an open file descriptor (a pipe: `trace record` reads
 * lackey's log this way), read to its end and left open; `name` stands
 * for PATH in messages. */
int trace_import_fd(import_format fmt, int fd, const char *name, trace_sink sink, trace_meta *meta, char *err,
                    size_t errlen);

/* The same from `size` bytes in memory; `name` stands for PATH in messages.
 * For tests and fuzzers. */
int trace_import_mem(import_format fmt, const void *data, size_t size, const char *name, trace_sink sink,
                     trace_meta *meta, char *err, size_t errlen);

/* One record as a line of the text format, without a newline, into buf
 * (TRACE_TEXT_MAX always suffices).  The length, or -1 when buf is too
 * small or the record is not valid (kind, acc or priv out of range, an
 * access size outside 1..65535). */
int trace_text_format(const trace_rec *r, char *buf, size_t len);

/* Parse one line of the text format (a trailing newline is allowed) into *r
 * (every field not set by the line is zero).  1 = a record, 0 = a blank or
 * comment-only line, -1 = malformed, with the problem in err (no file or
 * line prefix). */
int trace_text_parse(const char *line, trace_rec *r, char *err, size_t errlen);

/* `mmusim trace export --text`: a header comment with the trace's source
 * and command, then every remaining record of r as a text line, to out.
 * 0, or -1 with err (the reader's error, or a write error). */
int trace_export_text(trace_reader *r, FILE *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
