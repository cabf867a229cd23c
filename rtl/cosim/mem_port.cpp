// mem_port.cpp -- the RTL side's memory (mem_port.h).
#include "mem_port.h"

#include <cinttypes>
#include <cstdio>

#include "util.h"

namespace mmucosim {

void MemPort::accept(uint64_t c, uint32_t id, const Op &op)
{
    uint64_t cur = physmem_read64(pm_, op.addr);
    if (trace_addr() && trace_addr() == op.addr)
        std::fprintf(stderr, "trace: cycle %" PRIu64 ": RTL id %u %s 0x%" PRIx64 ", image 0x%016" PRIx64 "\n", c, id,
                     op.write ? "update" : "read  ", op.addr, cur);
    if (op.write)
        physmem_write64(pm_, op.addr, cur | (op.wdata & kAD));
    uint64_t d = sched_->response(c);
    pending_[d] = Pending{id, cur, c};
    outstanding_.insert(c);
}

bool MemPort::respond(uint64_t c, uint32_t *id, uint64_t *rdata, bool *out_of_order)
{
    auto it = pending_.find(c);
    if (it == pending_.end())
        return false;
    *id = it->second.id;
    *rdata = it->second.rdata;
    *out_of_order = *outstanding_.begin() < it->second.accepted;
    outstanding_.erase(outstanding_.find(it->second.accepted));
    pending_.erase(it);
    return true;
}

}  // namespace mmucosim
