/* hash.c -- FNV-1a of a file's bytes (hash.h). */
#include "hash.h"

#include <errno.h>
#include <stdio.h>

int fnv1a64_file(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static _Thread_local unsigned char buf[1 << 16];   /* sweep workers hash in threads */
    uint64_t h = FNV1A64_INIT;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        h = fnv1a64(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        errno = EIO;
        return -1;
    }
    *out = h;
    return 0;
}
