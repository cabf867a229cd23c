// c_walker.cpp -- the C side of the cross-check (c_walker.h): the C walker
// on the schedule, and its page-walk caches' contents.
#include "c_walker.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "util.h"

namespace mmucosim {

CWalker::CWalker(const Params &p, Schedule *s, physmem *pm, const paging_mode *m) : sched_(s), m_(m), pm_(pm)
{
    pwc_cfg pc;
    std::memset(&pc, 0, sizeof pc);
    pc.design = PWC_SPLIT;
    pc.latency = p.pwc_latency;
    for (unsigned l = 2; l <= m->levels; l++) {
        pc.level[l].sets = 1;
        pc.level[l].ways = p.pwc_entries;
        pc.level[l].repl = REPL_LRU;
    }
    char err[256] = "";
    pwc_ = pwc_create(&pc, m, err, sizeof err);
    walker_cfg wc;
    std::memset(&wc, 0, sizeof wc);
    wc.walkers = p.num_walks;
    wc.merge = false;
    wc.pa_bits = p.pa_bits;
    wc.pwc_latency = p.pwc_latency;
    // The C side's image serves the values (an update is an OR into it, as
    // MemPort does for the RTL side); the schedule serves the latencies.
    walker_mem mem;
    std::memset(&mem, 0, sizeof mem);
    mem.read = [](void *ctx, uint64_t pa, unsigned, mm_cycle now, uint64_t *value, unsigned *src) -> unsigned {
        CWalker *c = static_cast<CWalker *>(ctx);
        *src = 0;
        *value = paging_read_entry(c->m_, c->pm_, pa);
        return c->step(pa, false, now);
    };
    mem.rmw = [](void *ctx, uint64_t pa, unsigned, mm_cycle now, uint64_t bits, uint64_t *old,
                 unsigned *src) -> unsigned {
        CWalker *c = static_cast<CWalker *>(ctx);
        *src = 0;
        *old = paging_read_entry(c->m_, c->pm_, pa);
        unsigned lat = c->step(pa, true, now);
        paging_write_entry(c->m_, c->pm_, pa, *old | bits);
        return lat;
    };
    mem.ctx = this;
    mem.last_issue = &CWalker::last_issue_cb;
    if (!pwc_)
        throw std::runtime_error(err);
    w_ = walker_create(&wc, m, pwc_, &mem, err, sizeof err);
    if (!w_)
        throw std::runtime_error(err);
}

CWalker::~CWalker()
{
    walker_free(w_);
    pwc_free(pwc_);
}

unsigned CWalker::step(uint64_t pa, bool write, uint64_t now)
{
    uint64_t a = now;
    for (;; a++) {
        if (sched_->stalled(a)) {
            stall_waits++;
            continue;
        }
        if (reserved_.count(a)) {
            port_conflicts++;
            continue;
        }
        break;
    }
    reserved_.insert(a);
    last_ = a;
    if (trace_addr() && trace_addr() == pa)
        std::fprintf(stderr, "trace: cycle %" PRIu64 ": C   walk %s 0x%" PRIx64 ", image 0x%016" PRIx64 " (wanted from %" PRIu64 ")\n",
                     a, write ? "update" : "read  ", pa, physmem_read64(pm_, pa), now);
    Op op;
    op.addr = pa;
    op.write = write;
    op.cycle = a;
    ops_->push_back(op);
    return (unsigned)(sched_->response(a) + 1 - now);
}

mm_cycle CWalker::last_issue_cb(void *ctx)
{
    return static_cast<CWalker *>(ctx)->last_;
}

void CWalker::request(const walk_regs &regs, const walk_req &q, uint64_t when, walk_result *out,
                      std::vector<Op> *ops)
{
    // Every step of this and later walks is wanted at or after `when`.
    reserved_.erase(reserved_.begin(), reserved_.lower_bound(when));
    ops->clear();
    ops_ = ops;
    walker_request(w_, &regs, &q, when, out);
    ops_ = nullptr;
    unsigned j = 0;
    for (Op &op : *ops)
        if (op.write && j < out->nwrites)
            op.wdata = out->write[j++].value;
}

bool PwcEntry::operator<(const PwcEntry &o) const
{
    if (level != o.level)
        return level < o.level;
    if (pcid != o.pcid)
        return pcid < o.pcid;
    if (va != o.va)
        return va < o.va;
    return table < o.table;
}

bool PwcEntry::operator==(const PwcEntry &o) const
{
    return level == o.level && pcid == o.pcid && va == o.va && table == o.table;
}

std::vector<PwcEntry> c_pwc_entries(pwc *c, const paging_mode *m)
{
    struct Ctx {
        const paging_mode *m;
        std::vector<PwcEntry> v;
    } ctx{m, {}};
    pwc_foreach(
        c,
        [](unsigned level, uint16_t pcid, uint64_t va, uint64_t entry, void *p) {
            Ctx *x = static_cast<Ctx *>(p);
            x->v.push_back(PwcEntry{level, pcid, va, paging_entry_addr(x->m, level, entry)});
        },
        &ctx);
    std::sort(ctx.v.begin(), ctx.v.end());
    return ctx.v;
}

}  // namespace mmucosim
