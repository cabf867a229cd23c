// c_walker.h -- the C side of the cross-check: the C walker (walker.c) with
// a memory port on the same schedule as the RTL's, and the contents of its
// page-walk caches in the form both sides report them.
#ifndef MMUSIM_RTL_COSIM_C_WALKER_H
#define MMUSIM_RTL_COSIM_C_WALKER_H

#include <cstdint>
#include <set>
#include <vector>

#include "mem_port.h"
#include "options.h"
#include "schedule.h"

extern "C" {
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/pwc.h"
#include "mmusim/walker.h"
}

namespace mmucosim {

// cycle d of a gives latency d + 1 - now.
class CWalker {
public:
    CWalker(const Params &p, Schedule *s, physmem *pm, const paging_mode *m);
    ~CWalker();
    CWalker(const CWalker &) = delete;
    CWalker &operator=(const CWalker &) = delete;
    // Walk `q` requested in cycle `when`; *ops gets its accesses in order.
    void request(const walk_regs &regs, const walk_req &q, uint64_t when, walk_result *out, std::vector<Op> *ops);
    void drain() { walker_drain(w_); }
    pwc *cache() { return pwc_; }
    uint64_t port_conflicts = 0;   // steps that waited for an older walk's reserved cycle
    uint64_t stall_waits = 0;      // steps that waited for a stalled cycle
private:
    unsigned step(uint64_t pa, bool write, uint64_t now);
    static mm_cycle last_issue_cb(void *ctx);
    Schedule *sched_;
    const paging_mode *m_;
    physmem *pm_;
    pwc *pwc_ = nullptr;
    walker *w_ = nullptr;
    std::set<uint64_t> reserved_;
    std::vector<Op> *ops_ = nullptr;
    uint64_t last_ = 0;
};

// A page-walk-cache entry as both sides report it.
struct PwcEntry {
    unsigned level;
    uint16_t pcid;
    uint64_t va;      // VA prefix shifted back to an address (not sign-extended)
    uint64_t table;   // next table's physical address
    bool operator<(const PwcEntry &o) const;
    bool operator==(const PwcEntry &o) const;
};
std::vector<PwcEntry> c_pwc_entries(pwc *c, const paging_mode *m);

}  // namespace mmucosim

#endif
