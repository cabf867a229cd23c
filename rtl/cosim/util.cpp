// util.cpp -- small helpers every part of the cross-check uses: seeded
// random streams, printf-style strings, the COSIM_TRACE_ADDR debugging aid.
#include "util.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace mmucosim {

std::string fmt(const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// COSIM_TRACE_ADDR=0x...: print every access of both sides to that entry
// (a debugging aid; 0 when unset).
uint64_t trace_addr()
{
    static const uint64_t a = getenv("COSIM_TRACE_ADDR") ? strtoull(getenv("COSIM_TRACE_ADDR"), nullptr, 0) : 0;
    return a;
}

uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t Rng::next()
{
    s += 0x9e3779b97f4a7c15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace mmucosim
