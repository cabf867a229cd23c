/* types.c -- names of the shared value types. */
#include "mmusim/types.h"

const char *mm_ps_name(int ps)
{
    static const char *const names[MM_PS_COUNT] = {"4k", "2m", "1g"};
    return ps >= 0 && ps < MM_PS_COUNT ? names[ps] : "?";
}
