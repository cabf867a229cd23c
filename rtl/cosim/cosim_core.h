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
// The parts are usable on their own: Schedule (stalls and latencies from a
// seed), MemPort (the walker's memory: physmem image, read value at accept,
// atomic-OR A/D updates, responses on the schedule), CWalker (the C walker
// with the same port schedule: reservations in request order), World (page
// tables built with the C builder, fault injections, targets), Coverage
// (named bins).  Errors in arguments or a trace are std::runtime_error
// (exit status 2 in the programs).
#ifndef MMUSIM_RTL_COSIM_CORE_H
#define MMUSIM_RTL_COSIM_CORE_H

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/pwc.h"
#include "mmusim/walker.h"
}

namespace mmucosim {

// ---- configuration ---------------------------------------------------------

// The walker's parameters (rtl/README.md, "Parameters"), fixed when it was
// Verilated.
struct Params {
    unsigned levels = 4;       // 4 (x86-64) or 5 (LA57)
    unsigned num_walks = 4;    // 1..8
    unsigned pwc_entries = 4;  // per level 2..levels
    unsigned pwc_latency = 1;  // >= 1
    unsigned pa_bits = 46;     // MAXPHYADDR, 32..52
    unsigned id_width = 4;     // request id bits; 2^id_width > num_walks
};

#ifdef COSIM_LEVELS
// The parameters this testbench's walker was Verilated with: the build
// passes the same values as -G options and as COSIM_* definitions.
inline Params verilated_params()
{
    Params p;
    p.levels = COSIM_LEVELS;
    p.num_walks = COSIM_NUM_WALKS;
    p.pwc_entries = COSIM_PWC_ENTRIES;
    p.pwc_latency = COSIM_PWC_LATENCY;
    p.pa_bits = COSIM_PA_BITS;
    p.id_width = COSIM_ID_WIDTH;
    return p;
}
#endif

// Run options (the command line of mmusim-cosim).
struct Options {
    uint64_t walks = 100000;   // walks to compare (trace mode: at most this many)
    uint64_t seed = 1;         // world, requests and memory schedule
    double stall = 0.1;        // probability the memory is not ready in a cycle
    unsigned window = 8;       // latency window W
    unsigned delay = 1;        // latency delay D >= 1, in windows
    std::string trace;         // --trace FILE.trace.zst: requests from a trace
    std::string wave;          // --wave FILE: waveform of a mismatch (default rtl-mismatch.fst)
    bool quiet = false;        // summary line only
    bool guard = true;         // see "The A/D hazard guard" in rtl/README.md
    bool bench = false;        // print walks/s and cycles/s
    unsigned event_every = 48; // mean walks between idle points (flushes, control changes)
};

// Parse argv into *o.  Returns 0 to run, 1 when --help was printed, and
// throws std::runtime_error with one line for a bad argument.
int parse_options(int argc, char **argv, Options *o, const char *prog);

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

// ---- the parts ----------------------------------------------------------------

// splitmix64: every random choice of the harness comes from seeded streams.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next();
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool chance(double p) { return (double)(next() >> 11) * (1.0 / 9007199254740992.0) < p; }
};
uint64_t mix64(uint64_t x);

// The entry address named by the environment variable COSIM_TRACE_ADDR
// (0 if unset): both sides then print every access to it on stderr.
uint64_t trace_addr();

// The memory schedule of rtl/README.md: a seeded stall per cycle, and a
// seeded permutation of each window of W cycles, shifted D windows later.
class Schedule {
public:
    Schedule(uint64_t seed, double stall, unsigned window, unsigned delay);
    bool stalled(uint64_t c) const;
    uint64_t response(uint64_t a);   // cycle answering a request accepted in cycle a
private:
    uint64_t seed_, threshold_;
    unsigned w_, d_;
    struct Win {
        uint64_t w = UINT64_MAX;
        std::vector<uint32_t> perm;
    };
    Win cache_[16];
};

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
// is not stalled and not reserved by an earlier walk's step; the response
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

// What a walk of va finds in an image (a walk without caches or timing).
struct Path {
    enum End { Leaf, NotPresent, Reserved } end = NotPresent;
    unsigned level = 0;            // level of the last entry read
    uint64_t leaf = 0;
    unsigned n = 0;
    uint64_t addr[PAGING_MAX_LEVELS];
    uint64_t entry[PAGING_MAX_LEVELS];
    unsigned lvl[PAGING_MAX_LEVELS];
};
Path static_walk(const paging_mode *m, const physmem *pm, uint64_t root, uint64_t va, unsigned pa_bits);

// A request target: a page and the outcome it was built for.
struct Target {
    uint64_t va;         // page base (canonical)
    unsigned shift;      // page size of a mapped target
    int cls;             // World::Class
    unsigned level;
};

// The address spaces: page tables written by the C builder into the RTL
// image, fault injections poked into it, and the whole copied into the C
// image.  Afterwards only the walkers' A/D updates and age() change them.
class World {
public:
    enum Class { Mapped, NotPresent, Reserved, NumClasses };
    // Random world from a seed (several address spaces, every page size,
    // not-present and reserved entries at every level, restricted upper
    // levels), or one address space mapping the pages of `trace_pages`.
    World(const Params &p, const paging_mode *m, physmem *rtl, physmem *c, uint64_t seed,
          const std::vector<std::pair<uint64_t, bool>> *trace_pages);
    ~World();
    World(const World &) = delete;
    World &operator=(const World &) = delete;
    unsigned spaces() const { return (unsigned)pts_.size(); }
    uint64_t root(unsigned as) const;
    const std::vector<Target> &targets(unsigned as, Class c) const { return by_as_[as][c]; }
    // Clear A (and D) in a random share of the entries, in both images (the
    // OS's page aging; only while no walk is in flight).
    void age(Rng &rng, double share);
    // Table frames (for comparing the two images).
    const std::vector<uint64_t> &frames() const { return frames_; }
private:
    static uint64_t alloc_cb(void *ctx);
    static void release_cb(void *ctx, uint64_t pa);
    void build_random(Rng &rng);
    void build_trace(const std::vector<std::pair<uint64_t, bool>> &pages);
    void copy_to_c();
    void map_leaf(Rng &rng, pgtable *pt, uint64_t va, unsigned shift, bool kernel, std::vector<Target> &out);
    void build_subtree(Rng &rng, pgtable *pt, unsigned level, uint64_t base, bool kernel, std::vector<Target> &out);
    uint64_t canon(uint64_t va) const;
    const Params p_;
    const paging_mode *m_;
    physmem *rtl_, *c_;
    std::vector<pgtable *> pts_;
    std::vector<uint64_t> frames_;
    std::vector<uint64_t> entries_;                          // present entries (for aging)
    std::vector<std::pair<uint64_t, uint64_t>> rsvd_pokes_;  // entries given reserved bits: address, value before
    std::vector<std::vector<std::vector<Target>>> by_as_;    // [as][class]
};

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
    void classify(const Walk &w);
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
