/* example_platform -- a small virtual platform around MmuTlm.
 *
 *   mmusim_tlm_example [--config PRESET|FILE] [--set KEY=VALUE]... [--mhz N]
 *                      [--tables mmu|platform]
 *
 * A "CPU" (one SystemC thread, loosely timed with a tlm_quantumkeeper) runs a
 * tiny OS and program:
 *   1. the OS writes 4-level page tables, one 8-byte entry per TLM write,
 *      from its own frame allocator (nothing of the C builder is used):
 *      with `--tables mmu` (the default) into the MMU's image through the
 *      `ptmem` socket; with `--tables platform` into the platform's RAM,
 *      which the MMU's walks then read and update through its `mem`
 *      socket (each entry access costs the RAM's 20 ns);
 *   2. it loads CR3 through the `xlate` socket;
 *   3. the program fetches, loads and stores: a cold walk, L1 hits, a
 *      store that re-walks to set D, a walk the page-walk cache shortens, a
 *      2 MiB page, a user access to a kernel page (a protection fault), and
 *      a first touch of an unmapped page: not present, the OS maps a frame
 *      (charging the preset's minor-fault cost), the retry walks again;
 *   4. a debug translation (transport_dbg) and the MMU's counters.
 * Each translation prints its result, the model's cycles and the simulated
 * time.  Configuration errors end with status 2 and one line. */
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "mmusim_tlm.h"

extern "C" {
#include "mmusim/stats.h"
}

using namespace mmusim;
using sc_core::sc_time;

/* The program's address space. */
static const uint64_t CODE = 0x400000;                 /* user, read + execute */
static const uint64_t DATA = 0x600000;                 /* 4 pages, user, read/write, no execute */
static const uint64_t HEAP = 0x40000000;               /* one 2 MiB page, user, read/write */
static const uint64_t KERNEL = 0xffffffff81000000ull;  /* supervisor, global */
static const uint64_t UNMAPPED = 0x700000;             /* first touched by the program */
static const uint64_t FRAMES = 0x100000;               /* the OS's frame allocator starts here */

/* The platform's RAM for `--tables platform`: a sparse byte store with a
 * fixed access time, one target socket for the OS and one for the MMU's
 * walks (a simple target socket takes one initiator). */
class Ram : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<Ram> os_in;    /* from Cpu::mem_out */
    tlm_utils::simple_target_socket<Ram> mmu_in;   /* from MmuTlm::mem */

    Ram(sc_core::sc_module_name n, const sc_time &latency)
        : sc_module(n), os_in("os_in"), mmu_in("mmu_in"), latency_(latency)
    {
        os_in.register_b_transport(this, &Ram::b_transport);
        mmu_in.register_b_transport(this, &Ram::b_transport);
        mmu_in.register_transport_dbg(this, &Ram::transport_dbg);
    }

private:
    std::unordered_map<uint64_t, unsigned char> bytes_;
    sc_time latency_;

    void access(tlm::tlm_generic_payload &gp)
    {
        unsigned char *d = gp.get_data_ptr();
        for (unsigned i = 0; i < gp.get_data_length(); i++) {
            const uint64_t a = gp.get_address() + i;
            if (gp.is_write()) {
                bytes_[a] = d[i];
            } else {
                auto it = bytes_.find(a);
                d[i] = it == bytes_.end() ? 0 : it->second;
            }
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    void b_transport(tlm::tlm_generic_payload &gp, sc_time &delay)
    {
        access(gp);
        delay += latency_;
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &gp)
    {
        access(gp);
        return gp.get_data_length();
    }
};

class Cpu : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<Cpu> xlate_out;   /* to MmuTlm::xlate */
    tlm_utils::simple_initiator_socket<Cpu> mem_out;     /* to MmuTlm::ptmem, or the Ram */

    SC_HAS_PROCESS(Cpu);
    Cpu(sc_core::sc_module_name n, MmuTlm &target)
        : sc_module(n), xlate_out("xlate_out"), mem_out("mem_out"), mmu_(target), mode_(cfg_mode(&target.config()))
    {
        SC_THREAD(run);
    }

private:
    MmuTlm &mmu_;
    const paging_mode *mode_;
    tlm_utils::tlm_quantumkeeper qk_;
    uint64_t next_frame_ = FRAMES;
    uint64_t root_ = 0;

    /* ---- the OS: page tables over mem_out ---- */

    void mem(tlm::tlm_command cmd, uint64_t pa, unsigned char *data, unsigned len)
    {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(pa);
        gp.set_data_ptr(data);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_time d = qk_.get_local_time();
        mem_out->b_transport(gp, d);
        qk_.set(d);
        if (gp.is_response_error())
            SC_REPORT_FATAL("example", gp.get_response_string().c_str());
    }

    uint64_t read_entry(uint64_t pa)
    {
        unsigned char b[8];
        mem(tlm::TLM_READ_COMMAND, pa, b, 8);
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | b[i];
        return v;
    }

    void write_entry(uint64_t pa, uint64_t v)
    {
        unsigned char b[8];
        for (unsigned i = 0; i < 8; i++)
            b[i] = (unsigned char)(v >> (8 * i));
        mem(tlm::TLM_WRITE_COMMAND, pa, b, 8);
    }

    /* A zeroed frame: the OS clears what it hands out, as Linux does. */
    uint64_t alloc_frame()
    {
        uint64_t pa = next_frame_;
        next_frame_ += 4096;
        std::vector<unsigned char> zero(4096);
        mem(tlm::TLM_WRITE_COMMAND, pa, zero.data(), 4096);
        return pa;
    }

    /* Map one page of 1 << shift bytes, making missing tables on the way
     * (present, writable, user: permissions are decided at the leaf, as
     * Linux does). */
    void map(uint64_t va, uint64_t pa, unsigned shift, uint64_t flags)
    {
        uint64_t table = root_;
        for (unsigned level = mode_->levels;; level--) {
            uint64_t entry_pa = paging_entry_pa(mode_, level, table, va);
            if (paging_leaf_shift(mode_, level) == shift) {
                write_entry(entry_pa, pa | flags | PTE_P | (level > 1 ? PTE_PS : 0));
                return;
            }
            uint64_t e = read_entry(entry_pa);
            if (!(e & PTE_P)) {
                e = alloc_frame() | PTE_P | PTE_RW | PTE_US;
                write_entry(entry_pa, e);
            }
            table = paging_entry_addr(mode_, level, e);
        }
    }

    /* ---- the CPU side ---- */

    struct Out {
        tlm::tlm_response_status st;
        XlateExt x;
    };

    Out transact(XlateExt &x, tlm::tlm_command cmd, uint64_t address)
    {
        sc_time d = qk_.get_local_time();
        Out o{xlate_transport(xlate_out, x, cmd, address, d), x};
        qk_.set(d);
        if (qk_.need_sync())
            qk_.sync();
        return o;
    }

    void show(const char *what, uint64_t va, const Out &o)
    {
        char result[80];
        if (o.st == tlm::TLM_OK_RESPONSE) {
            std::snprintf(result, sizeof result, "pa 0x%010" PRIx64 " (%s page)", o.x.pa,
                          o.x.page_shift == 12 ? "4K" : o.x.page_shift == 30 ? "1G" : "2M");
        } else if (o.x.page_fault) {
            char ec[32];
            walker_ec_string(o.x.error_code, ec, sizeof ec);
            std::snprintf(result, sizeof result, "#PF error code 0x%x (%s)", o.x.error_code, ec);
        } else {
            tlm::tlm_generic_payload gp;
            gp.set_response_status(o.st);
            std::snprintf(result, sizeof result, "%s", gp.get_response_string().c_str());
        }
        std::printf("  %-20s 0x%016" PRIx64 "  %-43s %-8s %5" PRIu64 "  %10.2f\n", what, va, result,
                    where_name(o.x.where), o.x.latency(), qk_.get_current_time().to_seconds() * 1e9);
    }

    Out access(const char *what, uint64_t va, tlm::tlm_command cmd, mm_priv priv = MM_USER, bool ifetch = false)
    {
        XlateExt x;
        x.priv = priv;
        x.ifetch = ifetch;
        Out o = transact(x, cmd, va);
        show(what, va, o);
        return o;
    }

    void run()
    {
        qk_.reset();
        std::printf("OS: building page tables in %s (%s, %u levels)\n",
                    mmu_.platform_tables() ? "platform RAM" : "the MMU's image (ptmem)", mode_->name, mode_->levels);
        root_ = alloc_frame();
        map(CODE, 0x2000000, 12, PTE_US);
        for (uint64_t i = 0; i < 4; i++)
            map(DATA + i * 4096, 0x3000000 + i * 4096, 12, PTE_RW | PTE_US | PTE_XD);
        map(HEAP, 0x40000000, 21, PTE_RW | PTE_US | PTE_XD);
        map(KERNEL, 0x1000000, 12, PTE_RW | PTE_G);
        std::printf("OS: %" PRIu64 " table pages written\n", (next_frame_ - FRAMES) / 4096);

        XlateExt cr3;
        cr3.op = XlateOp::WriteCr3;
        cr3.pcid = 1;
        transact(cr3, tlm::TLM_WRITE_COMMAND, root_);
        std::printf("CPU: CR3 = 0x%" PRIx64 ", PCID 1\n\n", root_);

        std::printf("  %-20s %-18s  %-43s %-8s %5s  %10s\n", "access", "virtual address", "result", "served",
                    "cycles", "done (ns)");
        access("fetch code", CODE, tlm::TLM_READ_COMMAND, MM_USER, true);
        access("load data[0]", DATA, tlm::TLM_READ_COMMAND);
        access("load data[0] again", DATA + 8, tlm::TLM_READ_COMMAND);
        access("store data[0]", DATA + 16, tlm::TLM_WRITE_COMMAND);
        access("store data[0] again", DATA + 24, tlm::TLM_WRITE_COMMAND);
        access("load data[1]", DATA + 4096, tlm::TLM_READ_COMMAND);
        access("load heap (2M page)", HEAP + 0x1234, tlm::TLM_READ_COMMAND);
        access("load heap + 1M", HEAP + 0x100000, tlm::TLM_READ_COMMAND);
        access("user load of kernel", KERNEL, tlm::TLM_READ_COMMAND);
        access("kernel load", KERNEL, tlm::TLM_READ_COMMAND, MM_SUPERVISOR);

        /* A first touch: the fault goes to the OS, which maps a frame and
         * returns; the retry is a new access and walks again. */
        Out o = access("first touch", UNMAPPED, tlm::TLM_WRITE_COMMAND);
        if (o.x.page_fault && !(o.x.error_code & PF_P)) {
            map(UNMAPPED, 0x5000000, 12, PTE_RW | PTE_US | PTE_XD);
            qk_.inc(mmu_.time_of(mmu_.config().os.minor_fault_cycles));
            std::printf("  (OS: demand-zero fault handled, %u cycles)\n", mmu_.config().os.minor_fault_cycles);
            access("retry", UNMAPPED, tlm::TLM_WRITE_COMMAND);
        }

        /* A debugger's view: no time, no TLB fill, no A bit. */
        XlateExt dbg;
        sc_time unused;
        tlm::tlm_response_status st = xlate_transport(xlate_out, dbg, tlm::TLM_READ_COMMAND, DATA + 2 * 4096 + 0x10,
                                                      unused, true);
        std::printf("\ndebug translation of 0x%" PRIx64 ": %s pa 0x%" PRIx64 "\n", DATA + 2 * 4096 + 0x10,
                    st == tlm::TLM_OK_RESPONSE ? "ok," : "failed,", dbg.pa);

        qk_.sync();
        stats *s = stats_create();
        mmu_export_stats(mmu_.model(), s);
        std::printf("\nMMU counters at %.2f ns:\n", sc_core::sc_time_stamp().to_seconds() * 1e9);
        const char *shown[] = {"cycles", "translations", "dTLB-loads", "dTLB-load-misses", "dTLB-stores",
                               "dTLB-store-misses", "iTLB-loads", "iTLB-load-misses", "page-faults",
                               "walker.walks", "walker.ad_updates", "tlb.dirty_rewalks"};
        for (const char *name : shown)
            std::printf("  %-20s %" PRIu64 "\n", name, stats_get(s, name, nullptr));
        stats_free(s);
    }
};

static int usage_error(const std::string &msg)
{
    std::fprintf(stderr, "mmusim_tlm_example: %s\n", msg.c_str());
    return 2;
}

// SystemC's copyright banner goes to stderr before sc_main runs, where it
// would bury a one-line error; a static initializer runs earlier still.
// A value the user set is kept (overwrite 0).
static const int no_systemc_banner = setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);

int sc_main(int argc, char *argv[])
{
    std::string config = CFG_DEFAULT_PRESET;
    std::vector<std::string> sets;
    double mhz = 4000;   /* Skylake's i7-6700K turbo clock: the default preset's core */
    bool platform = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            return usage_error("'" + a +
                               "' needs a value (usage: [--config PRESET|FILE] [--set KEY=VALUE]... [--mhz N] "
                               "[--tables mmu|platform])");
        std::string v = argv[++i];
        if (a == "--config") {
            config = v;
        } else if (a == "--set") {
            sets.push_back(v);
        } else if (a == "--mhz") {
            char *end;
            mhz = std::strtod(v.c_str(), &end);
            if (*end || !(mhz >= 1 && mhz <= 100000))
                return usage_error("--mhz " + v + ": expected a clock of 1 to 100000 MHz");
        } else if (a == "--tables") {
            if (v != "mmu" && v != "platform")
                return usage_error("--tables " + v + ": expected mmu or platform");
            platform = v == "platform";
        } else {
            return usage_error("unknown argument '" + a + "'");
        }
    }

    mm_config cfg;
    try {
        cfg = MmuTlm::load_config(config, sets);
    } catch (const std::invalid_argument &e) {
        return usage_error(e.what());
    }
    /* The OS above writes 8-byte entries with 64-bit addresses. */
    const paging_mode *mode = cfg_mode(&cfg);
    if (mode->kind != PAGING_X86_64 && mode->kind != PAGING_LA57)
        return usage_error(std::string("cpu.mode ") + mode->name + ": the example's OS writes x86-64 or la57 tables");

    MmuTlmParams params;
    /* Whole picoseconds: the kernel's default time resolution. */
    params.period = sc_time((double)std::lround(1e6 / mhz), sc_core::SC_PS);
    params.platform_tables = platform;
    tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_time(1, sc_core::SC_US));

    MmuTlm mmu_tlm("mmu", cfg, params);
    Cpu cpu("cpu", mmu_tlm);
    cpu.xlate_out.bind(mmu_tlm.xlate);
    std::unique_ptr<Ram> ram;
    if (platform) {
        ram = std::make_unique<Ram>("ram", sc_time(20, sc_core::SC_NS));
        cpu.mem_out.bind(ram->os_in);
        mmu_tlm.mem.bind(ram->mmu_in);
    } else {
        cpu.mem_out.bind(mmu_tlm.ptmem);
    }
    std::printf("mmusim TLM example: preset %s, %.0f MHz (cycle %s)\n", cfg.name, mhz,
                params.period.to_string().c_str());
    sc_core::sc_start();
    return 0;
}
