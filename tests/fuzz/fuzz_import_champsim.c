/* fuzz_import_champsim.c -- libFuzzer target: any bytes as a ChampSim trace
 * (raw, xz or gzip by the first bytes).  The import must end in 0 or -1
 * with a "PATH: offset N: " message, and every record it gives out must be
 * valid (the sink checks and discards them).
 * fuzz-sources: trace_import.c trace.c types.c */
#include <stdlib.h>
#include <string.h>

#include "mmusim/trace_import.h"

static int check(void *ctx, const trace_rec *r)
{
    (void)ctx;
    if (r->kind == TR_ACCESS) {
        if (r->acc == MM_IFETCH ? r->size != 4 : (r->size != 8 || r->va == 0))
            abort();
        if (r->acc > MM_IFETCH || r->priv != MM_USER || r->cpu != 0)
            abort();
    } else if (r->kind != TR_INSTR || r->count == 0) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char err[512] = "";
    int rc = trace_import_mem(IMPORT_CHAMPSIM, data, size, "fuzz", (trace_sink){check, NULL}, NULL, err, sizeof err);
    if (rc != 0 && (rc != -1 || strncmp(err, "fuzz: offset ", 13) != 0 || strchr(err, '\n')))
        abort();
    /* Raw input: a whole number of records imports, a partial one does not. */
    if (size >= 2 && !(data[0] == 0x1f && data[1] == 0x8b) && !(size >= 6 && memcmp(data, "\xfd" "7zXZ", 6) == 0))
        if ((rc == 0) != (size % 64 == 0))
            abort();
    return 0;
}
