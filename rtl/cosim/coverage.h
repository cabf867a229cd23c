// coverage.h -- the coverage bins of the cross-check (rtl/README.md,
// "Coverage"): named counters, the bins a configuration can reach, and what
// a completed walk hits.
#ifndef MMUSIM_RTL_COSIM_COVERAGE_H
#define MMUSIM_RTL_COSIM_COVERAGE_H

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "options.h"

extern "C" {
#include "mmusim/paging.h"
#include "mmusim/walker.h"
}

namespace mmucosim {

// Named coverage bins, printed in registration order.
class Coverage {
public:
    void add(const std::string &name);      // register an (empty) bin
    void hit(const std::string &name, uint64_t n = 1);
    unsigned empty() const;
    unsigned size() const { return (unsigned)order_.size(); }
    void print(std::FILE *f) const;
private:
    std::vector<std::string> order_;
    std::map<std::string, uint64_t> count_;
};

// Register the bins configuration p and options o can reach (a bin no walk
// of it can hit is not registered: rsvd.l1 with PaBits=52, the contention
// bins with one walk), in report order.
void add_bins(Coverage &cov, const Params &p, const Options &o);

// Count what one completed walk (request req under control state regs, C
// result c) hits: the levels it read, page size or fault kind and level,
// the permission rule that faulted or the override that allowed it, A/D
// updates, the page-walk-cache hit.
void cover_walk(Coverage &cov, const paging_mode *m, const walk_req &req, const walk_regs &regs,
                const walk_result &c);

}  // namespace mmucosim

#endif
