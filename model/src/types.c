/* types.c -- names of the shared value types. */
#include "mmusim/types.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mm_ps_name(int ps)
{
    static const char *const names[MM_PS_COUNT] = {"4k", "2m", "1g"};
    return ps >= 0 && ps < MM_PS_COUNT ? names[ps] : "?";
}

void mm_grow(void *base, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return;
    void *p;
    memcpy(&p, base, sizeof p);
    size_t c = *cap ? 2 * *cap : first;
    p = realloc(p, c * elem);
    if (!p)
        abort();   /* out of host memory */
    memcpy(base, &p, sizeof p);
    *cap = c;
}

int mm_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void *mm_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        abort();   /* out of host memory */
    return p;
}

void *mm_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

void *mm_xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p)
        abort();
    return p;
}

char *mm_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(mm_xmalloc(n), s, n);
}
