// cosim_core.h -- the RTL-vs-C cross-check, independent of how the walker
// is simulated (library mmusim_cosim_core, C++17).
//
// The cross-check runs the RTL walker (rtl/src/mmu_walker.sv) and the C
// walker (model/src/walker.c) on the same page tables, the same requests at
// the same cycles and the same memory schedule, and compares every walk
// (rtl/README.md, "The cycle contract" and "Running the cross-check").
//
// A testbench (the Verilator one in cosim_main.cpp, or a SystemC one) owns
// the walker and a clock; it talks to this library through one plain struct
// of pin values per direction and two calls per clock cycle:
//
//     mmucosim::Cosim sim(params, options);     // params: the Verilated parameters
//     while (!sim.done()) {
//         mmucosim::PinsIn in;
//         sim.drive(in);           // inputs for this cycle (before the edge)
//         ... apply `in` to the walker, settle combinational logic ...
//         mmucosim::PinsOut out;   // ... read the walker's outputs ...
//         sim.sample(out);         // handshakes, scoreboard, coverage; next cycle
//         ... rising clock edge ...
//     }
//     int status = sim.finish(stdout);   // report; 0 pass, 1 mismatch or empty coverage bin
//
// Every output the walker drives is sampled after the inputs of the same
// cycle are applied and before the edge (the debug port is combinational;
// the library reads one page-walk-cache entry per cycle while the walker is
// idle).  Cycle 0 is the first call; the first Cosim::kResetCycles cycles
// hold rst_ni low.  The engine is deterministic: the same Params and Options
// give the same cycles, so a testbench can re-run a failing seed with
// waveform tracing from mismatch_cycle() - N (see cosim_main.cpp).
//
// The parts are usable on their own, one file pair each:
//   options.h     Params (the Verilated parameters), Options, parse_options
//   util.h        Rng (seeded streams), fmt, COSIM_TRACE_ADDR
//   schedule.h    Schedule: stalls and latencies from a seed
//   mem_port.h    MemPort: the RTL side's memory (physmem image, read value
//                 at accept, atomic-OR A/D updates, responses on the schedule)
//   c_walker.h    CWalker: the C walker on the same schedule (reservations in
//                 request order); PwcEntry, the C caches' contents
//   world.h       World: page tables built with the C builder, fault
//                 injections, targets; static_walk
//   coverage.h    Coverage: named bins, the bins a configuration can reach,
//                 what a walk hits
// and the engine (class Cosim below) is split by what it does:
//   cosim_core.cpp  construction, the per-cycle drive/sample and its phases,
//                   idle-point events (control changes, aging, flushes), the
//                   final report
//   stimulus.cpp    the requests (random or from a trace), the A/D hazard guard
//   scoreboard.cpp  every comparison of the two sides, the mismatch report
// The testbenches (cosim_main.cpp for Verilator --cc, with the waveform
// re-run of a mismatch; rtl/systemc/cosim_sc.cpp) only drive pins.  Errors
// in arguments or a trace are std::runtime_error (exit status 2 in the
// programs).
#ifndef MMUSIM_RTL_COSIM_CORE_H
#define MMUSIM_RTL_COSIM_CORE_H

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "c_walker.h"
#include "coverage.h"
#include "mem_port.h"
#include "options.h"
#include "schedule.h"
#include "util.h"
#include "world.h"

namespace mmucosim {

// ---- pins -------------------------------------------------------------------

// The flush command encoding of flush_kind_i (rtl/README.md, "Ports";
// mmu_walker_pkg.sv Flush*, checked against these by mmusim-pkg-check).
enum FlushKind : uint8_t { kFlushCr3 = 0, kFlushInvlpg = 1, kFlushAll = 2 };

// Inputs of the walker for one cycle (names as the ports, without _i).
struct PinsIn {
    bool rst_n = false;
    bool req_valid = false;
    uint32_t req_id = 0;
    uint64_t req_va = 0;
    uint16_t req_pcid = 0;
    uint8_t req_kind = 0;
    bool req_user = false;
    bool req_ac = false;
    bool ctrl_wp = false, ctrl_smep = false, ctrl_smap = false, ctrl_pcide = false;
    bool flush_valid = false;
    uint8_t flush_kind = 0;
    uint64_t flush_root = 0;
    uint16_t flush_pcid = 0;
    bool flush_noflush = false;
    uint64_t flush_va = 0;
    bool mem_req_ready = false;
    bool mem_rsp_valid = false;
    uint32_t mem_rsp_id = 0;
    uint64_t mem_rsp_rdata = 0;
    uint8_t dbg_pwc_level = 0;
    uint32_t dbg_pwc_index = 0;
};

// Outputs of the walker in one cycle (names as the ports, without _o).
struct PinsOut {
    bool req_ready = false;
    bool rsp_valid = false;
    uint32_t rsp_id = 0;
    bool rsp_fault = false;
    uint8_t rsp_ec = 0;
    uint8_t rsp_level = 0;
    uint64_t rsp_leaf = 0;
    uint64_t rsp_pa = 0;
    uint8_t rsp_perm = 0;
    uint8_t rsp_pwc_level = 0;
    bool mem_req_valid = false;
    uint32_t mem_req_id = 0;
    uint64_t mem_req_addr = 0;
    bool mem_req_write = false;
    uint64_t mem_req_wdata = 0;
    bool dbg_pwc_valid = false;
    uint16_t dbg_pwc_pcid = 0;
    uint64_t dbg_pwc_va = 0;
    uint64_t dbg_pwc_table = 0;
    uint8_t dbg_pwc_perm = 0;
    bool idle = false;
};


// ---- the engine -----------------------------------------------------------

class Cosim {
public:
    static constexpr uint64_t kResetCycles = 4;

    Cosim(const Params &p, const Options &o);
    ~Cosim();
    Cosim(const Cosim &) = delete;
    Cosim &operator=(const Cosim &) = delete;

    void drive(PinsIn &in);
    void sample(const PinsOut &out);
    bool done() const { return done_; }
    uint64_t cycle() const { return cycle_; }
    bool mismatch() const { return mismatch_; }
    uint64_t mismatch_cycle() const { return mismatch_cycle_; }
    uint64_t walks_done() const { return completed_; }
    // Print the mismatch report (if any), the coverage and the summary
    // line; returns the exit status: 0 pass, 1 mismatch or empty bin.
    int finish(std::FILE *f);

private:
    struct Walk;
    enum Phase { Reset, Start, Run, Drain, DumpBefore, Flush, DumpAfter, Finished };

    void setup(const Params &p, const Options &o);   // the constructor's work after the images
    void load_trace(std::vector<std::pair<uint64_t, bool>> *pages);
    void release();                                   // free the C-side objects and images
    void next_request();
    bool guard_ok(Walk &w);
    void offer();
    void on_accept();
    void on_mem(const PinsOut &out);
    void on_rsp(const PinsOut &out);
    void check_timeouts();
    void start_dump(Phase ph);
    void dump_step(const PinsOut &out);
    void compare_pwc(const char *when);
    void plan_event();
    void apply_flush_c();
    void finish_run();
    void fail(const std::string &what, const Walk *w);
    std::string describe(const Walk &w) const;

    const Params p_;
    const Options o_;
    const paging_mode *m_;
    physmem *pm_rtl_ = nullptr, *pm_c_ = nullptr;
    std::unique_ptr<Schedule> sched_rtl_, sched_c_;
    std::unique_ptr<MemPort> mem_;
    std::unique_ptr<CWalker> cw_;
    std::unique_ptr<World> world_;
    Coverage cov_;
    Rng rng_, ev_rng_;

    // trace mode
    struct TraceReq {
        uint64_t va;
        uint8_t kind, priv;
    };
    std::vector<TraceReq> trace_;
    size_t trace_pos_ = 0;

    uint64_t cycle_ = 0;
    Phase phase_ = Reset;
    bool done_ = false, mismatch_ = false;
    uint64_t mismatch_cycle_ = 0;
    std::string report_;
    PinsIn in_;          // inputs driven this cycle
    PinsOut last_out_;   // outputs sampled this cycle

    // control state
    walk_regs regs_{};
    bool pcide_ = false;
    unsigned as_ = 0;
    uint16_t pcid_ = 0;

    // requests
    std::vector<std::unique_ptr<Walk>> by_id_;
    std::unique_ptr<Walk> next_;     // generated, not yet offered
    Walk *offered_ = nullptr;        // offered, not yet accepted
    unsigned in_flight_ = 0;
    uint64_t issued_ = 0, completed_ = 0, faults_ = 0, seq_ = 0;
    uint64_t next_offer_ = 0;
    unsigned burst_left_ = 0;
    uint64_t burst_va_ = 0;
    uint64_t until_event_ = 0;
    uint64_t guard_holds_ = 0;
    std::vector<uint64_t> recent_;

    // idle points
    PinsIn flush_{};
    bool final_ = false;
    unsigned dump_level_ = 0, dump_index_ = 0;
    std::vector<PwcEntry> dump_;
    uint64_t pwc_compares_ = 0, flushes_ = 0;
};

}  // namespace mmucosim

#endif
