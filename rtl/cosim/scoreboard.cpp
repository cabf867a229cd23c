// scoreboard.cpp -- the comparison of the two sides: each request
// handshake against the C walk's start, each memory handshake against the
// C walk's next access, each response against the C result and end cycle,
// accesses and ends the RTL has not made by the C cycle, the page-walk
// caches read through the debug port against the C caches; and the
// mismatch report.
#include <algorithm>
#include <cinttypes>

#include "util.h"
#include "walk_record.h"

namespace mmucosim {

namespace {

const char *kind_name(unsigned k)
{
    return k == MM_LOAD ? "load" : k == MM_STORE ? "store" : k == MM_IFETCH ? "fetch" : "?";
}

}  // namespace

void Cosim::fail(const std::string &what, const Walk *w)
{
    if (mismatch_)
        return;
    mismatch_ = true;
    mismatch_cycle_ = cycle_;
    report_ = fmt("MISMATCH in cycle %" PRIu64 ": ", cycle_) + what + "\n";
    if (w)
        report_ += describe(*w);
    done_ = true;
}

std::string Cosim::describe(const Walk &w) const
{
    char ec[64];
    std::string s;
    s += fmt("  request #%" PRIu64 ": id %u va 0x%016" PRIx64 " %s %s ac=%d pcid %u\n", w.seq, w.id, w.req.va,
             kind_name(w.req.kind), w.req.priv == MM_USER ? "user" : "supervisor", w.regs.ac, w.regs.pcid);
    s += fmt("  control: root 0x%" PRIx64 " wp=%d smep=%d smap=%d pcide=%d\n", w.regs.root, w.regs.wp,
             w.regs.smep, w.regs.smap, pcide_);
    s += fmt("  offered in cycle %" PRIu64 " (R); C start %" PRIu64 ", RTL accepted ", w.R, w.c.start);
    s += w.accepted == UINT64_MAX ? std::string("-") : fmt("%" PRIu64, w.accepted);
    s += "\n";
    walker_ec_string(w.c.error_code, ec, sizeof ec);
    s += fmt("  C   result: end %" PRIu64 " (latency %" PRIu64 ") fault=%d ec=0x%02x (%s) level=%u leaf=0x%016" PRIx64
             " pa=0x%" PRIx64 " perm=0x%02x pwc_level=%u\n",
             w.c.end, w.c.end - w.R, w.c.fault, w.c.fault ? w.c.error_code : 0, w.c.fault ? ec : "-",
             w.c.fault ? w.c.fault_level : w.c.leaf_level, w.c.leaf, w.c.pa, w.c.perm, w.c.pwc_level);
    if (w.responded)
        s += fmt("  RTL result: end %" PRIu64 " (latency %" PRIu64 ") fault=%d ec=0x%02x level=%u leaf=0x%016" PRIx64
                 " pa=0x%" PRIx64 " perm=0x%02x pwc_level=%u\n",
                 w.rsp_cycle, w.rsp_cycle - w.R, w.rsp.rsp_fault, w.rsp.rsp_ec, w.rsp.rsp_level, w.rsp.rsp_leaf,
                 w.rsp.rsp_pa, w.rsp.rsp_perm, w.rsp.rsp_pwc_level);
    else
        s += "  RTL result: (none yet)\n";
    auto ops = [&](const char *who, const std::vector<Op> &v) {
        s += fmt("  %s accesses:", who);
        if (v.empty())
            s += " none";
        s += "\n";
        for (const Op &op : v) {
            if (op.write)
                s += fmt("    cycle %8" PRIu64 "  update 0x%012" PRIx64 " <- 0x%016" PRIx64 "\n", op.cycle, op.addr,
                         op.wdata);
            else
                s += fmt("    cycle %8" PRIu64 "  read   0x%012" PRIx64 "\n", op.cycle, op.addr);
        }
    };
    ops("C  ", w.c_ops);
    ops("RTL", w.rtl_ops);
    return s;
}

void Cosim::on_accept()
{
    if (!in_.req_valid || !offered_)
        return;
    Walk *w = offered_;
    if (!last_out_.req_ready) {
        w->waited = true;
        if (cycle_ >= w->c.start)
            fail(fmt("request not accepted; the C walker starts it in cycle %" PRIu64, w->c.start), w);
        return;
    }
    w->accepted = cycle_;
    offered_ = nullptr;
    if (w->waited)
        cov_.hit("cont.slots_full");
    if (cycle_ != w->c.start)
        fail(fmt("request accepted in cycle %" PRIu64 "; the C walker starts it in cycle %" PRIu64, cycle_, w->c.start),
             w);
}

void Cosim::on_mem(const PinsOut &out)
{
    if (!out.mem_req_valid || !in_.mem_req_ready)
        return;
    Op op;
    op.addr = out.mem_req_addr;
    op.write = out.mem_req_write;
    op.wdata = out.mem_req_write ? out.mem_req_wdata : 0;
    op.cycle = cycle_;
    Walk *w = out.mem_req_id < by_id_.size() ? by_id_[out.mem_req_id].get() : nullptr;
    if (!w || w->accepted == UINT64_MAX) {
        fail(fmt("memory request with id %u, which no walk in flight has (address 0x%" PRIx64 ")", out.mem_req_id,
                 op.addr),
             nullptr);
        return;
    }
    size_t k = w->rtl_ops.size();
    w->rtl_ops.push_back(op);
    mem_->accept(cycle_, out.mem_req_id, op);
    if (k >= w->c_ops.size()) {
        fail("the RTL makes a memory access the C walker does not", w);
        return;
    }
    const Op &c = w->c_ops[k];
    if (c.addr != op.addr || c.write != op.write || c.cycle != op.cycle || (c.write && c.wdata != op.wdata))
        fail(fmt("memory access %zu of the walk differs", k + 1), w);
}

void Cosim::on_rsp(const PinsOut &out)
{
    if (!out.rsp_valid)
        return;
    Walk *w = out.rsp_id < by_id_.size() ? by_id_[out.rsp_id].get() : nullptr;
    if (!w || w->accepted == UINT64_MAX) {
        fail(fmt("response with id %u, which no walk in flight has", out.rsp_id), nullptr);
        return;
    }
    w->responded = true;
    w->rsp_cycle = cycle_;
    w->rsp = out;
    const walk_result &c = w->c;
    std::string diff;
    if (cycle_ != c.end)
        diff += fmt(" end cycle (latency E-R: RTL %" PRIu64 ", C %" PRIu64 ")", cycle_ - w->R, c.end - w->R);
    if (w->rtl_ops.size() != w->c_ops.size())
        diff += fmt(" number of accesses (RTL %zu, C %zu)", w->rtl_ops.size(), w->c_ops.size());
    if (out.rsp_fault != c.fault)
        diff += " fault";
    if (out.rsp_fault && c.fault && out.rsp_ec != c.error_code)
        diff += " error code";
    if (out.rsp_level != (c.fault ? c.fault_level : c.leaf_level))
        diff += " level";
    if (out.rsp_leaf != c.leaf)
        diff += " leaf";
    if (out.rsp_pa != c.pa)
        diff += " pa";
    if (out.rsp_perm != c.perm)
        diff += " perm";
    if (out.rsp_pwc_level != c.pwc_level)
        diff += " pwc level";
    if (!diff.empty()) {
        fail("walk result differs:" + diff, w);
        return;
    }
    cover_walk(cov_, m_, w->req, w->regs, w->c);
    completed_++;
    faults_ += c.fault;
    by_id_[out.rsp_id].reset();
    in_flight_--;
}

void Cosim::check_timeouts()
{
    for (const auto &p : by_id_) {
        const Walk *w = p.get();
        if (!w || w->accepted == UINT64_MAX)
            continue;
        size_t k = w->rtl_ops.size();
        if (k < w->c_ops.size() && w->c_ops[k].cycle <= cycle_) {
            fail(fmt("the C walker makes memory access %zu in cycle %" PRIu64 "; the RTL has not", k + 1,
                     w->c_ops[k].cycle),
                 w);
            return;
        }
        if (!w->responded && w->c.end <= cycle_) {
            fail(fmt("the C walk ends in cycle %" PRIu64 "; the RTL has not responded", w->c.end), w);
            return;
        }
    }
}

void Cosim::start_dump(Phase ph)
{
    phase_ = ph;
    dump_level_ = 2;
    dump_index_ = 0;
    dump_.clear();
}

void Cosim::dump_step(const PinsOut &out)
{
    if (out.dbg_pwc_valid)
        dump_.push_back(PwcEntry{dump_level_, out.dbg_pwc_pcid, out.dbg_pwc_va, out.dbg_pwc_table});
    if (++dump_index_ == p_.pwc_entries) {
        dump_index_ = 0;
        dump_level_++;
    }
}

void Cosim::compare_pwc(const char *when)
{
    cw_->drain();
    std::vector<PwcEntry> c = c_pwc_entries(cw_->cache(), m_);
    std::vector<PwcEntry> r = dump_;
    std::sort(r.begin(), r.end());
    pwc_compares_++;
    if (c == r)
        return;
    std::string s = fmt("page-walk-cache contents differ %s:\n", when);
    auto list = [&](const char *who, const std::vector<PwcEntry> &v, const std::vector<PwcEntry> &other) {
        for (const PwcEntry &e : v)
            if (!std::binary_search(other.begin(), other.end(), e))
                s += fmt("  only in %s: level %u pcid %u va 0x%016" PRIx64 " table 0x%" PRIx64 "\n", who, e.level,
                         e.pcid, e.va, e.table);
    };
    list("RTL", r, c);
    list("C", c, r);
    fail(s, nullptr);
}

}  // namespace mmucosim
