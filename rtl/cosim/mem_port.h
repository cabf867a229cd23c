// mem_port.h -- the RTL side's memory: the walker's memory port answered
// from the RTL side's physical image on the schedule.
#ifndef MMUSIM_RTL_COSIM_MEM_PORT_H
#define MMUSIM_RTL_COSIM_MEM_PORT_H

#include <cstdint>
#include <map>
#include <set>

#include "schedule.h"

extern "C" {
#include "mmusim/physmem.h"
}

namespace mmucosim {

// One memory access of a walk: an entry read or a locked A/D update.
struct Op {
    uint64_t addr = 0;
    bool write = false;
    uint64_t wdata = 0;   // updates only
    uint64_t cycle = 0;   // accept (issue) cycle
};

// The RTL side's memory: serves reads from its own physmem image with the
// value at accept time, applies updates at accept time as an atomic OR of
// the A and D bits of wdata, and answers on the Schedule.
class MemPort {
public:
    MemPort(Schedule *s, physmem *pm) : sched_(s), pm_(pm) {}
    bool ready(uint64_t c) const { return !sched_->stalled(c); }
    void accept(uint64_t c, uint32_t id, const Op &op);
    // The response due in cycle c, if any (call once per cycle).
    bool respond(uint64_t c, uint32_t *id, uint64_t *rdata, bool *out_of_order);
    bool idle() const { return pending_.empty(); }
private:
    struct Pending {
        uint32_t id;
        uint64_t rdata, accepted;
    };
    Schedule *sched_;
    physmem *pm_;
    std::map<uint64_t, Pending> pending_;   // by response cycle
    std::multiset<uint64_t> outstanding_;    // accept cycles of pending requests
};

// The C walker (walker_request, merge off) with a walker_mem on the same
// Schedule: a step wanted at `now` issues at the first cycle a >= now that

}  // namespace mmucosim

#endif
