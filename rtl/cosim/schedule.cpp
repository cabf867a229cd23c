// schedule.cpp -- the seeded memory schedule both sides see (schedule.h).
#include "schedule.h"

#include <utility>

#include "util.h"

namespace mmucosim {

Schedule::Schedule(uint64_t seed, double stall, unsigned window, unsigned delay)
    : seed_(mix64(seed ^ 0x5c4ed01e5c4ed01eull)), threshold_(0), w_(window), d_(delay)
{
    if (stall > 0)
        threshold_ = (uint64_t)(stall * 18446744073709551616.0);
}

bool Schedule::stalled(uint64_t c) const
{
    return threshold_ && mix64(seed_ ^ (c * 0xd6e8feb86659fd93ull)) < threshold_;
}

uint64_t Schedule::response(uint64_t a)
{
    uint64_t w = a / w_;
    Win &e = cache_[w % 16];
    if (e.w != w) {
        // Fisher-Yates from a stream seeded by the window number.
        e.w = w;
        e.perm.resize(w_);
        for (unsigned i = 0; i < w_; i++)
            e.perm[i] = i;
        Rng r(mix64(seed_ + w * 0x2545f4914f6cdd1dull));
        for (unsigned i = w_ - 1; i > 0; i--)
            std::swap(e.perm[i], e.perm[r.below(i + 1)]);
    }
    return (w + d_) * w_ + e.perm[a % w_];
}

}  // namespace mmucosim
