// cosim_core.cpp -- the RTL-vs-C cross-check engine (see cosim_core.h):
// construction, the per-cycle drive()/sample() and its phases, idle-point
// events, and the final report.
//
// Phases: reset; the first CR3 command; Run (requests offered, handshakes
// and responses checked by scoreboard.cpp); Drain until no walk is in
// flight and the memory is idle; at an idle point (every ~event_every
// walks) the page-walk caches are read through the debug port and
// compared with the C caches, then control bits change, A/D bits are
// aged and one flush command goes to both sides, and the caches are
// compared again.  Requests are given to the C walker in the cycle they
// are first offered (R), so both sides see the same requests at the same
// cycles.  The run ends by comparing the two memory images.
#include "cosim_core.h"

#include <algorithm>
#include <cinttypes>
#include <stdexcept>

#include "util.h"
#include "walk_record.h"

namespace mmucosim {

namespace {

constexpr uint64_t kAllocBase = 1ull << 20;    // table frames: [1 MiB, 1 MiB + 512 MiB)
constexpr uint64_t kAllocSize = 512ull << 20;

}  // namespace

Cosim::Cosim(const Params &p, const Options &o)
    : p_(p), o_(o), rng_(mix64(o.seed * 3 + 1)), ev_rng_(mix64(o.seed * 7 + 5))
{
    if (p.levels != 4 && p.levels != 5)
        throw std::runtime_error("Levels must be 4 or 5");
    if (p.num_walks < 1 || p.num_walks > 8 || (1u << p.id_width) <= p.num_walks + 1)
        throw std::runtime_error("NumWalks must be 1..8 with 2^IdWidth > NumWalks + 1");
    if (p.pa_bits < 32 || p.pa_bits > 52)
        throw std::runtime_error("PaBits must be 32..52");
    m_ = paging_mode_get(p.levels == 5 ? PAGING_LA57 : PAGING_X86_64);
    pm_rtl_ = physmem_create(p.pa_bits, kAllocBase, kAllocBase + kAllocSize, nullptr, 0);
    pm_c_ = physmem_create(p.pa_bits, kAllocBase, kAllocBase + kAllocSize, nullptr, 0);
    // A constructor that throws gets no destructor call: release what was
    // made (a bad trace, a world the builder cannot map) before rethrowing.
    try {
        setup(p, o);
    } catch (...) {
        release();
        throw;
    }
}

void Cosim::setup(const Params &p, const Options &o)
{
    if (!pm_rtl_ || !pm_c_)
        throw std::runtime_error("physmem_create failed");

    std::vector<std::pair<uint64_t, bool>> pages;
    if (!o.trace.empty())
        load_trace(&pages);
    world_.reset(new World(p, m_, pm_rtl_, pm_c_, o.seed, o.trace.empty() ? nullptr : &pages));
    sched_rtl_.reset(new Schedule(o.seed, o.stall, o.window, o.delay));
    sched_c_.reset(new Schedule(o.seed, o.stall, o.window, o.delay));
    mem_.reset(new MemPort(sched_rtl_.get(), pm_rtl_));
    cw_.reset(new CWalker(p, sched_c_.get(), pm_c_, m_));
    by_id_.resize(1u << p.id_width);

    add_bins(cov_, p, o);

    regs_.root = world_->root(0);
    regs_.wp = true;
    until_event_ = 1 + ev_rng_.below(2 * o_.event_every);
}

Cosim::~Cosim()
{
    release();
}

void Cosim::release()
{
    cw_.reset();
    world_.reset();
    physmem_free(pm_rtl_);
    physmem_free(pm_c_);
    pm_rtl_ = pm_c_ = nullptr;
}

void Cosim::drive(PinsIn &in)
{
    in = PinsIn();
    in.rst_n = phase_ != Reset;
    in.ctrl_wp = regs_.wp;
    in.ctrl_smep = regs_.smep;
    in.ctrl_smap = regs_.smap;
    in.ctrl_pcide = pcide_;
    if (in.rst_n) {
        in.mem_req_ready = mem_->ready(cycle_);
        bool ooo = false;
        in.mem_rsp_valid = mem_->respond(cycle_, &in.mem_rsp_id, &in.mem_rsp_rdata, &ooo);
        if (ooo)
            cov_.hit("cont.ooo_rsp");
    }
    switch (phase_) {
    case Run:
        if (!offered_)
            offer();
        if (offered_) {
            const Walk &w = *offered_;
            in.req_valid = true;
            in.req_id = w.id;
            in.req_va = w.req.va;
            in.req_pcid = w.regs.pcid;
            in.req_kind = (uint8_t)w.req.kind;
            in.req_user = w.req.priv == MM_USER;
            in.req_ac = w.regs.ac;
        }
        break;
    case DumpBefore:
    case DumpAfter:
        in.dbg_pwc_level = (uint8_t)dump_level_;
        in.dbg_pwc_index = dump_index_;
        break;
    case Start:
    case Flush:
        in.flush_valid = true;
        in.flush_kind = flush_.flush_kind;
        in.flush_root = flush_.flush_root;
        in.flush_pcid = flush_.flush_pcid;
        in.flush_noflush = flush_.flush_noflush;
        in.flush_va = flush_.flush_va;
        break;
    default:
        break;
    }
    in_ = in;
}

// At an idle point: change control bits, age A/D bits, and plan one flush.
void Cosim::plan_event()
{
    Rng &r = ev_rng_;
    bool trace = !trace_.empty();
    if (!trace) {
        if (r.chance(0.3))
            regs_.wp = !regs_.wp;
        if (r.chance(0.3))
            regs_.smep = !regs_.smep;
        if (r.chance(0.3))
            regs_.smap = !regs_.smap;
    }
    if (r.chance(0.3)) {
        if (trace_addr())
            std::fprintf(stderr, "trace: cycle %" PRIu64 ": A/D aging\n", cycle_);
        world_->age(r, 0.3);
    }
    flush_ = PinsIn();
    flush_.rst_n = true;
    flush_.flush_valid = true;
    unsigned k = (unsigned)r.below(10);
    if (k < 5) {
        // CR3 write: possibly another address space, PCIDs on or off.
        if (!trace && r.chance(0.2))
            pcide_ = !pcide_;
        unsigned as = trace ? 0 : (unsigned)r.below(world_->spaces());
        flush_.flush_kind = kFlushCr3;
        flush_.flush_root = world_->root(as);
        flush_.flush_pcid = pcide_ ? (uint16_t)(as + 1) : 0;
        flush_.flush_noflush = pcide_ && r.chance(0.4);
        as_ = as;
    } else if (k < 8) {
        flush_.flush_kind = kFlushInvlpg;
        flush_.flush_pcid = regs_.pcid;
        flush_.flush_va = recent_.empty() ? world_->targets(as_, World::Mapped)[0].va
                                          : recent_[r.below(recent_.size())] | r.below(4096);
    } else {
        flush_.flush_kind = kFlushAll;
    }
    if (!trace)
        recent_.clear();
}

void Cosim::apply_flush_c()
{
    pwc *c = cw_->cache();
    flushes_++;
    switch (flush_.flush_kind) {
    case kFlushCr3:
        regs_.root = flush_.flush_root;
        regs_.pcid = flush_.flush_pcid;
        if (!pcide_) {
            pwc_flush_all(c);
            cov_.hit("flush.cr3_nopcid");
        } else if (!flush_.flush_noflush) {
            pwc_flush_pcid(c, flush_.flush_pcid);
            cov_.hit("flush.cr3_pcid");
        } else {
            cov_.hit("flush.cr3_noflush");
        }
        break;
    case kFlushInvlpg:
        pwc_flush_va(c, flush_.flush_va, flush_.flush_pcid);
        cov_.hit("flush.invlpg");
        break;
    default:
        pwc_flush_all(c);
        cov_.hit("flush.all");
        break;
    }
}

void Cosim::finish_run()
{
    // The two images must agree: every A/D update went to both.
    for (uint64_t f : world_->frames())
        for (uint64_t off = 0; off < 4096; off += 8) {
            uint64_t a = physmem_read64(pm_rtl_, f + off), b = physmem_read64(pm_c_, f + off);
            if (a != b) {
                fail(fmt("memory images differ at 0x%" PRIx64 ": RTL side 0x%016" PRIx64 ", C side 0x%016" PRIx64,
                         f + off, a, b),
                     nullptr);
                return;
            }
        }
    phase_ = Finished;
    done_ = true;
}

void Cosim::sample(const PinsOut &out)
{
    last_out_ = out;
    if (done_)
        return;
    switch (phase_) {
    case Reset:
        if (cycle_ + 1 >= kResetCycles) {
            // The first command: CR3 of address space 0.
            flush_ = PinsIn();
            flush_.rst_n = true;
            flush_.flush_valid = true;
            flush_.flush_kind = kFlushCr3;
            flush_.flush_root = world_->root(0);
            phase_ = Start;
        }
        break;
    case Start:
    case Flush:
        apply_flush_c();
        start_dump(DumpAfter);
        break;
    case Run:
    case Drain:
        // A response frees a slot for this cycle's request: check it first.
        on_rsp(out);
        if (!done_)
            on_mem(out);
        if (!done_)
            on_accept();
        if (!done_)
            check_timeouts();
        if (done_)
            break;
        if (phase_ == Run && !offered_ && (issued_ >= o_.walks || !next_ || until_event_ == 0)) {
            final_ = issued_ >= o_.walks || !next_;
            phase_ = Drain;
        }
        if (phase_ == Drain && in_flight_ == 0) {
            if (!out.idle) {
                fail("idle_o is low with no walk in flight", nullptr);
                break;
            }
            if (mem_->idle())
                start_dump(DumpBefore);
        }
        break;
    case DumpBefore:
    case DumpAfter:
        dump_step(out);
        if (dump_level_ > p_.levels) {
            compare_pwc(phase_ == DumpBefore ? "at an idle point" : "after a flush");
            if (done_)
                break;
            if (phase_ == DumpAfter) {
                phase_ = Run;
                until_event_ = 1 + ev_rng_.below(2 * o_.event_every);
                if (!next_ && issued_ == 0)
                    next_request();
            } else if (final_) {
                finish_run();
            } else {
                plan_event();
                phase_ = Flush;
            }
        }
        break;
    default:
        break;
    }
    cycle_++;
}

int Cosim::finish(std::FILE *f)
{
    if (mismatch_)
        std::fputs(report_.c_str(), f);
    if (cw_->port_conflicts)
        cov_.hit("cont.port_conflict", cw_->port_conflicts);
    if (cw_->stall_waits)
        cov_.hit("cont.stall", cw_->stall_waits);
    bool need_cov = trace_.empty();
    if (!o_.quiet)
        cov_.print(f);
    unsigned bins = cov_.size(), empty = cov_.empty();
    std::fprintf(f,
                 "cosim: %" PRIu64 " walks, %d mismatches, coverage %u/%u bins; %" PRIu64 " cycles, %" PRIu64
                 " faults, %" PRIu64 " flushes, %" PRIu64 " cache compares, %" PRIu64 " guard holds\n",
                 completed_, mismatch_ ? 1 : 0, bins - empty, bins, cycle_, faults_, flushes_, pwc_compares_,
                 guard_holds_);
    if (mismatch_)
        return 1;
    if (need_cov && empty) {
        std::fprintf(f, "cosim: %u coverage bin%s empty (marked !)\n", empty, empty == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

}  // namespace mmucosim
