// walk_record.h -- what the engine keeps of one walk in flight (private to
// the engine's files: stimulus.cpp, scoreboard.cpp, cosim_core.cpp): the
// request, the C walk's result and accesses, the RTL's accesses and
// response as they come.
#ifndef MMUSIM_RTL_COSIM_WALK_RECORD_H
#define MMUSIM_RTL_COSIM_WALK_RECORD_H

#include "cosim_core.h"

namespace mmucosim {

struct Cosim::Walk {
    uint64_t seq = 0;
    uint32_t id = 0;
    walk_req req{};
    walk_regs regs{};
    uint64_t R = 0;
    uint64_t accepted = UINT64_MAX;
    bool waited = false;
    walk_result c{};
    std::vector<Op> c_ops, rtl_ops;
    bool responded = false;
    uint64_t rsp_cycle = 0;
    PinsOut rsp{};
    Path path;               // the guard's view of the walk (see guard_ok)
    uint64_t path_root = 0;
    bool path_valid = false;
};

}  // namespace mmucosim

#endif
