// stimulus.cpp -- the requests of the cross-check: random ones over the
// world's targets (mapped, not present, reserved; recent pages and bursts;
// every kind and privilege; gaps), or a trace's accesses; and the A/D
// hazard guard that holds a request back (rtl/README.md).
#include <set>
#include <stdexcept>
#include <string>

#include "walk_record.h"

extern "C" {
#include "mmusim/trace.h"
}

namespace mmucosim {

// Trace mode: the requests are the trace's accesses, without back-to-back
// repeats of one page, kind and privilege (a TLB would hit those); *pages
// gets each page they touch once, with whether it is a user page, for the
// world to map.
void Cosim::load_trace(std::vector<std::pair<uint64_t, bool>> *pages)
{
    char err[512];
    trace_reader *tr = trace_reader_open(o_.trace.c_str(), err, sizeof err);
    if (!tr)
        throw std::runtime_error(err);
    trace_rec r;
    int rc;
    std::set<uint64_t> seen;
    uint64_t last_page = UINT64_MAX;
    unsigned last_kind = 9, last_priv = 9;
    while (trace_.size() < o_.walks && (rc = trace_next(tr, &r)) == 1) {
        if (r.kind != TR_ACCESS || !paging_va_ok(m_, r.va) || r.acc > MM_IFETCH)
            continue;
        uint64_t page = r.va & ~0xfffull;
        if (page == last_page && r.acc == last_kind && r.priv == last_priv)
            continue;
        last_page = page;
        last_kind = r.acc;
        last_priv = r.priv;
        trace_.push_back(TraceReq{r.va, r.acc, r.priv});
        if (seen.insert(page).second)
            pages->emplace_back(page, (int64_t)page >= 0);
    }
    if (rc < 0) {
        std::string e = trace_reader_error(tr);
        trace_reader_close(tr);
        throw std::runtime_error(e);
    }
    trace_reader_close(tr);
    if (trace_.empty())
        throw std::runtime_error(o_.trace + ": no accesses to walk");
}

// The next request (random or from the trace), not yet offered.
void Cosim::next_request()
{
    next_.reset();
    if (seq_ >= o_.walks || (!trace_.empty() && trace_pos_ >= trace_.size()))
        return;
    std::unique_ptr<Walk> w(new Walk);
    w->seq = seq_++;
    uint64_t gap;
    if (!trace_.empty()) {
        const TraceReq &t = trace_[trace_pos_++];
        w->req.va = t.va;
        w->req.kind = (mm_kind)t.kind;
        w->req.priv = (mm_priv)t.priv;
        gap = rng_.chance(0.7) ? 0 : rng_.below(12);
    } else {
        uint64_t va;
        if (burst_left_) {
            // A burst: several walks of one page back to back.
            burst_left_--;
            va = (burst_va_ & ~0xfffull) | (rng_.below(512) << 3);
            gap = 0;
        } else {
            const auto &mapped = world_->targets(as_, World::Mapped);
            const auto &np = world_->targets(as_, World::NotPresent);
            const auto &rs = world_->targets(as_, World::Reserved);
            double u = (double)rng_.below(1000) / 1000.0;
            const Target *t;
            if (u < 0.08 && !np.empty())
                t = &np[rng_.below(np.size())];
            else if (u < 0.16 && !rs.empty())
                t = &rs[rng_.below(rs.size())];
            else
                t = &mapped[rng_.below(mapped.size())];
            va = t->va | (rng_.next() & ((1ull << t->shift) - 1));
            if (!recent_.empty() && rng_.chance(0.3))
                va = recent_[rng_.below(recent_.size())] | (rng_.below(4096));
            if (rng_.chance(0.04)) {
                burst_left_ = 1 + (unsigned)rng_.below(4);
                burst_va_ = va;
            }
            double g = (double)rng_.below(1000) / 1000.0;
            gap = g < 0.5 ? 0 : g < 0.9 ? 1 + rng_.below(8) : 20 + rng_.below(120);
        }
        w->req.va = va;
        unsigned k = (unsigned)rng_.below(100);
        w->req.kind = k < 45 ? MM_LOAD : k < 80 ? MM_STORE : MM_IFETCH;
        bool kernel = (int64_t)va < 0;
        w->req.priv = rng_.chance(kernel ? 0.1 : 0.75) ? MM_USER : MM_SUPERVISOR;
        w->regs.ac = rng_.chance(0.5);
        if (recent_.size() < 16)
            recent_.push_back(va & ~0xfffull);
        else
            recent_[rng_.below(16)] = va & ~0xfffull;
    }
    next_offer_ = cycle_ + gap;
    next_ = std::move(w);
}

// The A/D hazard guard (rtl/README.md): hold a request whose walk may set
// an A or D bit in an entry that an older walk still in flight reads later.
// The C walker computes walks in request order and cannot let an older walk
// see a younger walk's update; the RTL would.
bool Cosim::guard_ok(Walk &w)
{
    if (!o_.guard || in_flight_ == 0)
        return true;
    // The path's addresses stay while the root does (tables never move);
    // the A/D bits are read afresh each cycle.
    if (!w.path_valid || w.path_root != regs_.root) {
        w.path = static_walk(m_, pm_rtl_, regs_.root, w.req.va, p_.pa_bits);
        w.path_root = regs_.root;
        w.path_valid = true;
    }
    const Path &pw = w.path;
    for (unsigned i = 0; i < pw.n; i++) {
        uint64_t want = PTE_A;
        if (i == pw.n - 1 && w.req.kind == MM_STORE)
            want |= PTE_D;
        if ((physmem_read64(pm_rtl_, pw.addr[i]) & want) == want)
            continue;
        for (const auto &o : by_id_) {
            if (!o)
                continue;
            for (const Op &op : o->c_ops)
                if (!op.write && op.addr == pw.addr[i] && op.cycle >= cycle_)
                    return false;
        }
    }
    return true;
}

void Cosim::offer()
{
    if (!next_ || cycle_ < next_offer_)
        return;
    if (!guard_ok(*next_)) {
        guard_holds_++;
        return;
    }
    std::unique_ptr<Walk> w = std::move(next_);
    uint32_t id = 0;
    while (by_id_[id])
        id++;
    w->id = id;
    w->R = cycle_;
    bool ac = w->regs.ac;
    w->regs = regs_;
    w->regs.ac = ac;
    cw_->request(w->regs, w->req, w->R, &w->c, &w->c_ops);
    // Two walks of one page in flight at once.
    for (const auto &o : by_id_)
        if (o && o->regs.pcid == w->regs.pcid && (o->req.va >> 12) == (w->req.va >> 12))
            cov_.hit("cont.same_page");
    offered_ = w.get();
    by_id_[id] = std::move(w);
    in_flight_++;
    issued_++;
    if (until_event_)
        until_event_--;
    if (issued_ < o_.walks)
        next_request();
}

}  // namespace mmucosim
