/* fuzz_import_lackey.c -- libFuzzer target: any bytes as a valgrind lackey
 * log.  The import must end in 0 or -1 with a one-line "PATH:LINE: "
 * message, and every record it gives out must be valid (the sink checks and
 * discards them).
 * fuzz-sources: trace_import.c trace.c types.c */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/trace_import.h"

/* CPUs switched to pid 1000 so far: a threaded log's (--trace-sched=yes)
 * accesses and counts are on CPU 0 before any switch, else on a CPU that
 * was switched, each CPU switched once. */
typedef struct seen {
    uint64_t cpus[4];
    bool any;
} seen;

static bool switched(const seen *s, unsigned cpu)
{
    return (s->cpus[cpu / 64] >> (cpu % 64)) & 1;
}

static int check(void *ctx, const trace_rec *r)
{
    seen *s = ctx;
    bool cpu_ok = s->any ? switched(s, r->cpu) : r->cpu == 0;
    if (r->kind == TR_ACCESS) {
        if (r->size < 1 || r->size > 65535 || r->acc > MM_IFETCH || r->priv != MM_USER || !cpu_ok)
            abort();
    } else if (r->kind == TR_ROI) {   /* '**PID** mmusim-roi-begin|end' */
        if (r->roi > TR_ROI_END)
            abort();
    } else if (r->kind == TR_SWITCH) {   /* '--PID--   SCHED[N]:  acquired lock', N's first */
        if (r->pid != 1000 || switched(s, r->cpu))
            abort();
        s->cpus[r->cpu / 64] |= 1ull << (r->cpu % 64);
        s->any = true;
    } else if (r->kind != TR_INSTR || r->count == 0 || !cpu_ok) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    trace_meta meta = {0};
    char err[512] = "";
    seen s = {{0}, false};
    int rc = trace_import_mem(IMPORT_LACKEY, data, size, "fuzz", (trace_sink){check, &s}, &meta, err, sizeof err);
    if (rc != 0 && (rc != -1 || strncmp(err, "fuzz:", 5) != 0 || strchr(err, '\n')))
        abort();
    if (strlen(meta.command) >= TRACE_META_STR || strcmp(meta.source, "lackey") != 0)
        abort();
    return 0;
}
