/* version.c -- the library's release (version.h). */
#include "mmusim/version.h"

const char *mmusim_version(void)
{
    return MMUSIM_VERSION_STRING;
}
