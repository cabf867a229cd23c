// cosim_sc.cpp -- mmusim-cosim-sc: the RTL-vs-C cross-check with the walker
// Verilated for SystemC (--sc) and clocked by an sc_clock.
//
// The same engine as the C++ harness (cosim_core.h: stimulus, memory
// schedule, C walker, scoreboard, coverage) drives the walker's ports
// through sc_signals, once per clock cycle:
//
//   falling edge:  drive() -> write every input signal for this cycle
//   + 1/10 period: the Verilated model has evaluated (inputs -> outputs
//                  through its combinational logic); read every output,
//                  sample() checks handshakes and the scoreboard
//   rising edge:   the walker's flops take the cycle's values
//
// So a cycle here is exactly a cycle of the C++ harness, and the two
// harnesses see the same walks for the same seed.  Options are those of
// mmusim-cosim (parse_options); a mismatch ends the simulation with the
// report (the waveform of a mismatch comes from the C++ harness: re-run
// the seed there with --wave).
#include <systemc>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "cosim_core.h"
#include "Vmmu_walker_sc.h"

namespace {

using sc_core::sc_signal;

SC_MODULE(CosimBench) {
    sc_core::sc_clock clk;
    // Inputs of the walker.  Verilator maps 1-bit ports to bool, 2..32 bits
    // to uint32_t and 33..64 bits to uint64_t.
    sc_signal<bool> rst_n, req_valid, req_user, req_ac;
    sc_signal<uint32_t> req_id, req_pcid, req_kind;
    sc_signal<uint64_t> req_va;
    sc_signal<bool> ctrl_wp, ctrl_smep, ctrl_smap, ctrl_pcide;
    sc_signal<bool> flush_valid, flush_noflush;
    sc_signal<uint32_t> flush_kind, flush_pcid;
    sc_signal<uint64_t> flush_root, flush_va;
    sc_signal<bool> mem_req_ready, mem_rsp_valid;
    sc_signal<uint32_t> mem_rsp_id;
    sc_signal<uint64_t> mem_rsp_rdata;
    sc_signal<uint32_t> dbg_pwc_level, dbg_pwc_index;
    // Outputs.
    sc_signal<bool> req_ready, rsp_valid, rsp_fault, mem_req_valid, mem_req_write, dbg_pwc_valid, idle;
    sc_signal<uint32_t> rsp_id, rsp_ec, rsp_level, rsp_perm, rsp_pwc_level, mem_req_id, dbg_pwc_pcid, dbg_pwc_perm;
    sc_signal<uint64_t> rsp_leaf, rsp_pa, mem_req_addr, mem_req_wdata, dbg_pwc_va, dbg_pwc_table;

    Vmmu_walker_sc dut;
    mmucosim::Cosim &sim;

    SC_HAS_PROCESS(CosimBench);
    CosimBench(sc_core::sc_module_name name, mmucosim::Cosim &s)
        : sc_module(name), clk("clk", 10, sc_core::SC_NS), dut("dut"), sim(s)
    {
        dut.clk_i(clk);
        dut.rst_ni(rst_n);
        dut.req_valid_i(req_valid);
        dut.req_ready_o(req_ready);
        dut.req_id_i(req_id);
        dut.req_va_i(req_va);
        dut.req_pcid_i(req_pcid);
        dut.req_kind_i(req_kind);
        dut.req_user_i(req_user);
        dut.req_ac_i(req_ac);
        dut.ctrl_wp_i(ctrl_wp);
        dut.ctrl_smep_i(ctrl_smep);
        dut.ctrl_smap_i(ctrl_smap);
        dut.ctrl_pcide_i(ctrl_pcide);
        dut.flush_valid_i(flush_valid);
        dut.flush_kind_i(flush_kind);
        dut.flush_root_i(flush_root);
        dut.flush_pcid_i(flush_pcid);
        dut.flush_noflush_i(flush_noflush);
        dut.flush_va_i(flush_va);
        dut.rsp_valid_o(rsp_valid);
        dut.rsp_id_o(rsp_id);
        dut.rsp_fault_o(rsp_fault);
        dut.rsp_ec_o(rsp_ec);
        dut.rsp_level_o(rsp_level);
        dut.rsp_leaf_o(rsp_leaf);
        dut.rsp_pa_o(rsp_pa);
        dut.rsp_perm_o(rsp_perm);
        dut.rsp_pwc_level_o(rsp_pwc_level);
        dut.mem_req_valid_o(mem_req_valid);
        dut.mem_req_ready_i(mem_req_ready);
        dut.mem_req_id_o(mem_req_id);
        dut.mem_req_addr_o(mem_req_addr);
        dut.mem_req_write_o(mem_req_write);
        dut.mem_req_wdata_o(mem_req_wdata);
        dut.mem_rsp_valid_i(mem_rsp_valid);
        dut.mem_rsp_id_i(mem_rsp_id);
        dut.mem_rsp_rdata_i(mem_rsp_rdata);
        dut.dbg_pwc_level_i(dbg_pwc_level);
        dut.dbg_pwc_index_i(dbg_pwc_index);
        dut.dbg_pwc_valid_o(dbg_pwc_valid);
        dut.dbg_pwc_pcid_o(dbg_pwc_pcid);
        dut.dbg_pwc_va_o(dbg_pwc_va);
        dut.dbg_pwc_table_o(dbg_pwc_table);
        dut.dbg_pwc_perm_o(dbg_pwc_perm);
        dut.idle_o(idle);
        SC_THREAD(run);
    }

    void drive(const mmucosim::PinsIn &in)
    {
        rst_n.write(in.rst_n);
        req_valid.write(in.req_valid);
        req_id.write(in.req_id);
        req_va.write(in.req_va);
        req_pcid.write(in.req_pcid);
        req_kind.write(in.req_kind);
        req_user.write(in.req_user);
        req_ac.write(in.req_ac);
        ctrl_wp.write(in.ctrl_wp);
        ctrl_smep.write(in.ctrl_smep);
        ctrl_smap.write(in.ctrl_smap);
        ctrl_pcide.write(in.ctrl_pcide);
        flush_valid.write(in.flush_valid);
        flush_kind.write(in.flush_kind);
        flush_root.write(in.flush_root);
        flush_pcid.write(in.flush_pcid);
        flush_noflush.write(in.flush_noflush);
        flush_va.write(in.flush_va);
        mem_req_ready.write(in.mem_req_ready);
        mem_rsp_valid.write(in.mem_rsp_valid);
        mem_rsp_id.write(in.mem_rsp_id);
        mem_rsp_rdata.write(in.mem_rsp_rdata);
        dbg_pwc_level.write(in.dbg_pwc_level);
        dbg_pwc_index.write(in.dbg_pwc_index);
    }

    mmucosim::PinsOut outputs() const
    {
        mmucosim::PinsOut o;
        o.req_ready = req_ready.read();
        o.rsp_valid = rsp_valid.read();
        o.rsp_id = rsp_id.read();
        o.rsp_fault = rsp_fault.read();
        o.rsp_ec = (uint8_t)rsp_ec.read();
        o.rsp_level = (uint8_t)rsp_level.read();
        o.rsp_leaf = rsp_leaf.read();
        o.rsp_pa = rsp_pa.read();
        o.rsp_perm = (uint8_t)rsp_perm.read();
        o.rsp_pwc_level = (uint8_t)rsp_pwc_level.read();
        o.mem_req_valid = mem_req_valid.read();
        o.mem_req_id = mem_req_id.read();
        o.mem_req_addr = mem_req_addr.read();
        o.mem_req_write = mem_req_write.read();
        o.mem_req_wdata = mem_req_wdata.read();
        o.dbg_pwc_valid = dbg_pwc_valid.read();
        o.dbg_pwc_pcid = (uint16_t)dbg_pwc_pcid.read();
        o.dbg_pwc_va = dbg_pwc_va.read();
        o.dbg_pwc_table = dbg_pwc_table.read();
        o.dbg_pwc_perm = (uint8_t)dbg_pwc_perm.read();
        o.idle = idle.read();
        return o;
    }

    // One iteration per clock cycle; see the file comment for the phases.
    void run()
    {
        const sc_core::sc_time settle = clk.period() / 10;
        while (!sim.done()) {
            wait(clk.negedge_event());
            mmucosim::PinsIn in;
            sim.drive(in);
            drive(in);
            wait(settle);
            sim.sample(outputs());
        }
        sc_core::sc_stop();
    }
};

}  // namespace

// SystemC's copyright banner goes to stderr before sc_main runs, where it
// would bury a one-line error; a static initializer runs earlier still.
// A value the user set is kept (overwrite 0).
static const int no_systemc_banner = setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);

int sc_main(int argc, char **argv)
{
    mmucosim::Options o;
    try {
        if (mmucosim::parse_options(argc, argv, &o, "mmusim-cosim-sc") == 1)
            return 0;
        // The kernel's "Simulation stopped by user" note would land in the
        // middle of the report.
        sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
        mmucosim::Params p = mmucosim::verilated_params();
        mmucosim::Cosim sim(p, o);
        CosimBench bench("bench", sim);
        auto t0 = std::chrono::steady_clock::now();
        sc_core::sc_start();
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        int status = sim.finish(stdout);
        if (o.bench)   // the same line as mmusim-cosim --bench
            std::printf("bench: %" PRIu64 " walks, %" PRIu64 " cycles in %.2f s: %.0f walks/s, %.0f cycles/s\n",
                        sim.walks_done(), sim.cycle(), secs, sim.walks_done() / secs, sim.cycle() / secs);
        return status;
    } catch (const std::runtime_error &e) {
        std::fprintf(stderr, "mmusim-cosim-sc: %s\n", e.what());
        return 2;
    }
}
