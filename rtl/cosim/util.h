// util.h -- small helpers every part of the cross-check uses: seeded
// random streams (every random choice of the harness comes from one), a
// printf-style string, the COSIM_TRACE_ADDR debugging aid.
#ifndef MMUSIM_RTL_COSIM_UTIL_H
#define MMUSIM_RTL_COSIM_UTIL_H

#include <cstdint>
#include <string>

extern "C" {
#include "mmusim/paging.h"
}

namespace mmucosim {

// splitmix64: every random choice of the harness comes from seeded streams.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next();
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool chance(double p) { return (double)(next() >> 11) * (1.0 / 9007199254740992.0) < p; }
};
uint64_t mix64(uint64_t x);

// The entry address named by the environment variable COSIM_TRACE_ADDR
// (0 if unset): both sides then print every access to it on stderr.
uint64_t trace_addr();

// printf into a std::string (messages of at most 1023 bytes).
std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

// The bits an A/D update sets and page aging clears.
constexpr uint64_t kAD = PTE_A | PTE_D;

}  // namespace mmucosim

#endif
