// cosim_main.cpp -- mmusim-cosim: the Verilator testbench of the cross-check.
//
// Drives the Verilated walker (class Vmmu_walker, one build per parameter
// set and broken variant) with the engine of cosim_core.h: per cycle,
// drive() -> inputs -> eval with the clock low (combinational outputs) ->
// sample() -> rising edge.  On a mismatch the same seed is run again from
// the start with FST tracing on for the cycles around the mismatch, and the
// waveform's path is printed.
//
// The walker's parameters come in as COSIM_* compile definitions, the same
// values rtl/CMakeLists.txt passes to Verilator with -G.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "Vmmu_walker.h"
#include "cosim_core.h"
#include "verilated.h"
#include "verilated_fst_c.h"

namespace {

const uint64_t kWaveBefore = 200, kWaveAfter = 20;

void apply(Vmmu_walker &top, const mmucosim::PinsIn &in)
{
    top.rst_ni = in.rst_n;
    top.req_valid_i = in.req_valid;
    top.req_id_i = in.req_id;
    top.req_va_i = in.req_va;
    top.req_pcid_i = in.req_pcid;
    top.req_kind_i = in.req_kind;
    top.req_user_i = in.req_user;
    top.req_ac_i = in.req_ac;
    top.ctrl_wp_i = in.ctrl_wp;
    top.ctrl_smep_i = in.ctrl_smep;
    top.ctrl_smap_i = in.ctrl_smap;
    top.ctrl_pcide_i = in.ctrl_pcide;
    top.flush_valid_i = in.flush_valid;
    top.flush_kind_i = in.flush_kind;
    top.flush_root_i = in.flush_root;
    top.flush_pcid_i = in.flush_pcid;
    top.flush_noflush_i = in.flush_noflush;
    top.flush_va_i = in.flush_va;
    top.mem_req_ready_i = in.mem_req_ready;
    top.mem_rsp_valid_i = in.mem_rsp_valid;
    top.mem_rsp_id_i = in.mem_rsp_id;
    top.mem_rsp_rdata_i = in.mem_rsp_rdata;
    top.dbg_pwc_level_i = in.dbg_pwc_level;
    top.dbg_pwc_index_i = in.dbg_pwc_index;
}

void read(const Vmmu_walker &top, mmucosim::PinsOut &out)
{
    out.req_ready = top.req_ready_o;
    out.rsp_valid = top.rsp_valid_o;
    out.rsp_id = top.rsp_id_o;
    out.rsp_fault = top.rsp_fault_o;
    out.rsp_ec = top.rsp_ec_o;
    out.rsp_level = top.rsp_level_o;
    out.rsp_leaf = top.rsp_leaf_o;
    out.rsp_pa = top.rsp_pa_o;
    out.rsp_perm = top.rsp_perm_o;
    out.rsp_pwc_level = top.rsp_pwc_level_o;
    out.mem_req_valid = top.mem_req_valid_o;
    out.mem_req_id = top.mem_req_id_o;
    out.mem_req_addr = top.mem_req_addr_o;
    out.mem_req_write = top.mem_req_write_o;
    out.mem_req_wdata = top.mem_req_wdata_o;
    out.dbg_pwc_valid = top.dbg_pwc_valid_o;
    out.dbg_pwc_pcid = top.dbg_pwc_pcid_o;
    out.dbg_pwc_va = top.dbg_pwc_va_o;
    out.dbg_pwc_table = top.dbg_pwc_table_o;
    out.dbg_pwc_perm = top.dbg_pwc_perm_o;
    out.idle = top.idle_o;
}

struct Run {
    int status;
    bool mismatch;
    uint64_t mismatch_cycle, cycles, walks;
    double seconds;
};

// One run; with wave != NULL, trace cycles [from, to] into it and stop after `to`.
Run run(const mmucosim::Params &p, const mmucosim::Options &o, const char *wave, uint64_t from, uint64_t to)
{
    std::unique_ptr<VerilatedContext> ctx(new VerilatedContext);
    ctx->traceEverOn(wave != nullptr);
    std::unique_ptr<Vmmu_walker> top(new Vmmu_walker(ctx.get(), "mmu_walker"));
    std::unique_ptr<VerilatedFstC> tfp;
    if (wave) {
        tfp.reset(new VerilatedFstC);
        top->trace(tfp.get(), 99);
        tfp->open(wave);
    }
    mmucosim::Cosim sim(p, o);
    auto t0 = std::chrono::steady_clock::now();
    mmucosim::PinsIn in;
    mmucosim::PinsOut out;
    while (!sim.done()) {
        uint64_t c = sim.cycle();
        if (wave && c > to)
            break;
        bool dump = wave && c >= from;
        sim.drive(in);
        apply(*top, in);
        top->clk_i = 0;
        top->eval();
        if (dump)
            tfp->dump(2 * c);
        read(*top, out);
        sim.sample(out);
        top->clk_i = 1;
        top->eval();
        if (dump)
            tfp->dump(2 * c + 1);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (tfp)
        tfp->close();
    top->final();
    Run r{0, sim.mismatch(), sim.mismatch_cycle(), sim.cycle(), sim.walks_done(), secs};
    if (!wave)
        r.status = sim.finish(stdout);
    return r;
}

}  // namespace

int main(int argc, char **argv)
{
    mmucosim::Options o;
    mmucosim::Params p = mmucosim::verilated_params();
    Verilated::commandArgs(1, argv);   // the program name only: the options are ours
    try {
        if (mmucosim::parse_options(argc, argv, &o, argv[0]) == 1)
            return 0;
        if (!o.quiet)
            std::printf("mmusim-cosim %s: Levels=%u NumWalks=%u PwcEntries=%u PwcLatency=%u PaBits=%u; seed %" PRIu64
                        ", stall %.2f, window %u, delay %u%s%s\n",
                        COSIM_VARIANT, p.levels, p.num_walks, p.pwc_entries, p.pwc_latency, p.pa_bits, o.seed,
                        o.stall, o.window, o.delay, o.trace.empty() ? "" : ", trace ", o.trace.c_str());
        Run r = run(p, o, nullptr, 0, 0);
        if (o.bench)
            std::printf("bench: %" PRIu64 " walks, %" PRIu64 " cycles in %.2f s: %.0f walks/s, %.0f cycles/s\n",
                        r.walks, r.cycles, r.seconds, r.walks / r.seconds, r.cycles / r.seconds);
        if (r.mismatch) {
            std::string wave = o.wave.empty() ? "rtl-mismatch.fst" : o.wave;
            uint64_t from = r.mismatch_cycle > kWaveBefore ? r.mismatch_cycle - kWaveBefore : 0;
            mmucosim::Options q = o;
            q.quiet = true;
            run(p, q, wave.c_str(), from, r.mismatch_cycle + kWaveAfter);
            std::printf("waveform of cycles %" PRIu64 "..%" PRIu64 " (time = 2 x cycle): %s\n", from,
                        r.mismatch_cycle + kWaveAfter, wave.c_str());
        }
        return r.status;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mmusim-cosim: %s\n", e.what());
        return 2;
    }
}
