/* fuzz_import_text.c -- libFuzzer target: any bytes as a text trace.  The
 * import must end in 0 or -1 with a "PATH:LINE: " message, and every record
 * it gives out must survive trace_text_format and trace_text_parse
 * unchanged, every field.
 * fuzz-sources: trace_import.c trace.c types.c */
#include <stdlib.h>
#include <string.h>

#include "mmusim/trace_import.h"

static bool same(const trace_rec *a, const trace_rec *b)
{
    return a->kind == b->kind && a->cpu == b->cpu && a->acc == b->acc && a->priv == b->priv && a->size == b->size &&
           a->va == b->va && a->count == b->count && a->pid == b->pid && a->child == b->child &&
           a->addr == b->addr && a->len == b->len && a->offset == b->offset && a->prot == b->prot &&
           a->flags == b->flags && a->file_id == b->file_id && a->value == b->value && a->noflush == b->noflush &&
           a->roi == b->roi;
}

static int round_trip(void *ctx, const trace_rec *r)
{
    (void)ctx;
    char line[TRACE_TEXT_MAX], err[256];
    trace_rec back;
    int n = trace_text_format(r, line, sizeof line);
    if (n < 0 || (size_t)n != strlen(line) || trace_text_parse(line, &back, err, sizeof err) != 1 || !same(r, &back))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    trace_meta meta = {0};
    char err[512] = "";
    int rc = trace_import_mem(IMPORT_TEXT, data, size, "fuzz", (trace_sink){round_trip, NULL}, &meta, err,
                              sizeof err);
    if (rc != 0 && (rc != -1 || strncmp(err, "fuzz:", 5) != 0 || strchr(err, '\n')))
        abort();
    return 0;
}
