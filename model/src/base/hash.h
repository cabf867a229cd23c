/* hash.h -- 64-bit FNV-1a (Fowler, Noll, Vo), the project's one non-keyed
 * hash of bytes:
 *
 * counter names in stats.c, run ids and trace files in sweep.c and the
 * report (hash.c).
 *
 * Streaming: h = fnv1a64(FNV1A64_INIT, first part); h = fnv1a64(h, next
 * part) ... gives the hash of the concatenation, so a file can be hashed in
 * blocks.  Not for hostile input (no seed), and not a checksum against
 * deliberate tampering: a fingerprint that tells two inputs apart. */
#ifndef MMUSIM_BASE_HASH_H
#define MMUSIM_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 14695981039346656037ull   /* the offset basis */

static inline uint64_t fnv1a64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;     /* the 64-bit FNV prime */
    return h;
}

/* The hash of a file's bytes: 0, or -1 with errno set (open or read). */
int fnv1a64_file(const char *path, uint64_t *out);

#endif
