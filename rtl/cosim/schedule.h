// schedule.h -- the memory schedule of the cross-check (rtl/README.md,
// "The harness's memory schedule"): which cycles the memory stalls and
// when it answers, from a seed, the same for both sides.
#ifndef MMUSIM_RTL_COSIM_SCHEDULE_H
#define MMUSIM_RTL_COSIM_SCHEDULE_H

#include <cstdint>
#include <vector>

namespace mmucosim {

// The memory schedule of rtl/README.md: a seeded stall per cycle, and a
// seeded permutation of each window of W cycles, shifted D windows later.
class Schedule {
public:
    Schedule(uint64_t seed, double stall, unsigned window, unsigned delay);
    bool stalled(uint64_t c) const;
    uint64_t response(uint64_t a);   // cycle answering a request accepted in cycle a
private:
    uint64_t seed_, threshold_;
    unsigned w_, d_;
    struct Win {
        uint64_t w = UINT64_MAX;
        std::vector<uint32_t> perm;
    };
    Win cache_[16];
};

}  // namespace mmucosim

#endif
