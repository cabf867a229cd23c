/* fuzz_import_lackey.c -- libFuzzer target: any bytes as a valgrind lackey
 * log.  The import must end in 0 or -1 with a one-line "PATH:LINE: "
 * message, and every record it gives out must be valid (the sink checks and
 * discards them).
 * fuzz-sources: trace_import.c trace.c types.c */
#include <stdlib.h>
#include <string.h>

#include "mmusim/trace_import.h"

static int check(void *ctx, const trace_rec *r)
{
    (void)ctx;
    if (r->kind == TR_ACCESS) {
        if (r->size < 1 || r->size > 65535 || r->acc > MM_IFETCH || r->priv != MM_USER || r->cpu != 0)
            abort();
    } else if (r->kind == TR_ROI) {   /* '**PID** mmusim-roi-begin|end' */
        if (r->roi > TR_ROI_END)
            abort();
    } else if (r->kind != TR_INSTR || r->count == 0) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    trace_meta meta = {0};
    char err[512] = "";
    int rc = trace_import_mem(IMPORT_LACKEY, data, size, "fuzz", (trace_sink){check, NULL}, &meta, err, sizeof err);
    if (rc != 0 && (rc != -1 || strncmp(err, "fuzz:", 5) != 0 || strchr(err, '\n')))
        abort();
    if (strlen(meta.command) >= TRACE_META_STR || strcmp(meta.source, "lackey") != 0)
        abort();
    return 0;
}
