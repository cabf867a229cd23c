/* mmusim_tlm.h -- a SystemC TLM-2.0 loosely-timed wrapper of one mmusim MMU,
 * for virtual platforms.
 *
 * MmuTlm owns one CPU's MMU of the C model (mmu.h: L1 TLBs, STLB, page-walk
 * caches, walkers, memsys) and the physical memory image its walks read.
 * Two target sockets and one initiator socket:
 *
 *  - `xlate`: translation requests.  A generic payload whose address is the
 *    virtual address, command READ (load) or WRITE (store), and an XlateExt
 *    extension (mandatory) that says ifetch, privilege, and carries the
 *    result back.  b_transport runs mmu_access and annotates the delay from
 *    the model's cycle contract (see "Timing" below); transport_dbg
 *    translates from the page tables with no timing and no state change.
 *    The same socket carries the MMU's control operations (MOV to CR3,
 *    INVLPG, INVPCID, a full flush, EFLAGS.AC), chosen by XlateExt::op, so
 *    they serialize with the translations in time as the contract says.
 *
 *  - `ptmem`: the MMU's own physical memory image.  By default the page
 *    tables live there: the platform's OS model writes page-table entries
 *    here (TLM writes of any size and alignment, byte enables, streaming
 *    width) and reads back the A/D bits the walker set, and walk latencies
 *    come from the configuration's memsys.
 *
 *  - `mem` (initiator, optional): with MmuTlmParams::platform_tables the
 *    page tables live in the platform's memory instead.  Every entry read
 *    of a walk is a b_transport READ of one entry (8 bytes, 4 in x86-32
 *    mode) at its physical address; the walker uses the data as it comes
 *    (the wrapper's memory port carries it; the image is not involved), and
 *    the annotated delay, rounded up to whole cycles, is the step's
 *    latency.  A locked A/D update is a READ and then at once a b_transport
 *    WRITE of the entry with the bits ORed in (latency: the READ's delay +
 *    memsys.rmw_latency).  model/tlm/README.md, "Page tables in platform
 *    memory", has the rules.
 *
 * Timing: one core cycle is `period`; cycle c starts at time c * period.
 * A b_transport whose initiator is at local time t = sc_time_stamp() + delay
 * asks the front end to issue no earlier than cycle ceil(t / period)
 * (mmu_advance); the access then issues at cycle I >= that (program order,
 * issue width, max_outstanding) and completes at cycle D.  The returned
 * delay is D * period - sc_time_stamp(): the initiator's local time moves to
 * the completion.  An initiator that keeps its local time and sends several
 * requests at it models accesses issued together; one that adds each
 * returned delay models a blocking core.  Requests must come in program
 * order with nondecreasing local times (one initiator: the CPU); a request
 * whose time is earlier than one already issued issues after it.
 *
 * Not supported: DMI (the image is a sparse hash of frames: there is no
 * contiguous host memory to hand out) and the non-blocking transport (the
 * C model computes a whole translation at once; an AT wrapper would only
 * delay its answer). */
#ifndef MMUSIM_TLM_H
#define MMUSIM_TLM_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

/* The model's headers are C without C++ guards. */
extern "C" {
#include "mmusim/cfg.h"
#include "mmusim/mmu.h"
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/walker.h"
}

namespace mmusim {

/* What a transaction on `xlate` asks for.  The payload's address is the
 * operand: the virtual address (Translate, Invlpg, Invpcid type 0) or the
 * root table's physical address (WriteCr3). */
enum class XlateOp {
    Translate,   /* command READ: load (or fetch, with ifetch); WRITE: store */
    WriteCr3,    /* MOV to CR3: root = address, pcid, noflush (command WRITE) */
    Invlpg,      /* INVLPG address (command WRITE) */
    Invpcid,     /* INVPCID invpcid_type, pcid, address (command WRITE) */
    FlushAll,    /* every entry, global ones too: a CR4.PGE toggle (command WRITE) */
    SetAc,       /* EFLAGS.AC = ac, for SMAP (command WRITE) */
};

/* How a translation was served (mmu_where), or None when the MMU was not
 * asked (control operations, errors, debug transport). */
enum class Where { None, L1Hit, StlbHit, Walk, Merged };

const char *where_name(Where w);   /* "l1-hit", "stlb-hit", "walk", "merged", "-" */

/* The translation request and its result.  The initiator sets the request
 * fields; MmuTlm sets every result field on each transaction (a reused
 * extension carries nothing over). */
struct XlateExt : tlm::tlm_extension<XlateExt> {
    /* ---- request ---- */
    XlateOp op = XlateOp::Translate;
    bool ifetch = false;          /* Translate with READ: an instruction fetch */
    mm_priv priv = MM_USER;       /* Translate: MM_USER (CPL 3) or MM_SUPERVISOR */
    uint16_t pcid = 0;            /* WriteCr3, Invpcid: 0..4095 (ignored without PCID) */
    bool noflush = false;         /* WriteCr3: CR3 bit 63 */
    unsigned invpcid_type = 0;    /* Invpcid: 0 address, 1 context, 2 all, 3 all but global */
    bool ac = false;              /* SetAc */

    /* ---- result ---- */
    uint64_t pa = 0;              /* translated physical address (valid when OK) */
    unsigned page_shift = 0;      /* 12, 21, 22 or 30 (valid when OK) */
    bool page_fault = false;      /* #PF: error_code is valid, CR2 is the address */
    uint32_t error_code = 0;      /* PF_* bits (walker.h), Intel SDM vol. 3A 4.7 */
    bool non_canonical = false;   /* address outside the mode's linear space (#GP, not #PF) */
    Where where = Where::None;
    bool mem_error = false;       /* platform_tables: `mem` answered an entry access with an
                                   * error response (a machine check on hardware); the status
                                   * is TLM_GENERIC_ERROR_RESPONSE */
    mm_cycle issue = 0;           /* cycle the front end issued the access */
    mm_cycle done = 0;            /* cycle it completed (the fault was raised) */

    /* Cycles from issue to completion: the model's latency of this access. */
    mm_cycle latency() const { return done - issue; }

    tlm::tlm_extension_base *clone() const override { return new XlateExt(*this); }
    void copy_from(const tlm::tlm_extension_base &e) override { *this = static_cast<const XlateExt &>(e); }
};

/* Construction parameters besides the model configuration. */
struct MmuTlmParams {
    sc_core::sc_time period{1, sc_core::SC_NS};   /* one core cycle; > 0 */
    unsigned cpu = 0;                 /* CPU number: counter export, random-replacement streams */
    /* Frames [table_base, table_limit) that physmem_alloc_frame hands to the
     * C page-table builder (pgtable_create(cfg_mode(..), memory(), NULL)).
     * Both 4 KiB aligned; empty (the default) when the platform writes its
     * tables through `ptmem` with its own frame allocator. */
    uint64_t table_base = 0;
    uint64_t table_limit = 0;
    /* Delay a `ptmem` b_transport adds (the platform's RAM access time). */
    sc_core::sc_time ptmem_latency = sc_core::SC_ZERO_TIME;
    /* Where the page tables live.  false: in the MMU's image (`ptmem`,
     * memory()); `mem` must stay unbound.  true: in the platform's memory,
     * reached through `mem`, which must be bound (both are checked at the
     * end of elaboration).  An explicit flag rather than binding detection:
     * the mode is then known from construction on, and a socket bound or
     * left unbound by mistake is an error instead of a silent change of
     * where the tables are. */
    bool platform_tables = false;
};

class MmuTlm : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<MmuTlm> xlate;
    /* Both memory sockets are the simple sockets' optional-binding forms
     * (same interface): a platform binds the one its tables use.  `ptmem`
     * may be left unbound either way (a platform that builds its tables
     * with the C builder on memory() has no use for it). */
    tlm_utils::simple_target_socket_optional<MmuTlm> ptmem;
    tlm_utils::simple_initiator_socket_optional<MmuTlm> mem;

    /* cfg is copied and validated (cfg_validate): an invalid one throws
     * std::invalid_argument with the model's one-line message.  Running out
     * of host memory throws std::bad_alloc. */
    MmuTlm(sc_core::sc_module_name name, const mm_config &cfg, const MmuTlmParams &params = MmuTlmParams());
    ~MmuTlm() override;

    /* A configuration as `mmusim --config ARG --set KEY=VALUE...` builds it:
     * a preset name or a YAML file, then each assignment.  Throws
     * std::invalid_argument with the model's one-line message. */
    static mm_config load_config(const std::string &preset_or_file,
                                 const std::vector<std::string> &sets = std::vector<std::string>());

    const mm_config &config() const { return cfg_; }
    const sc_core::sc_time &period() const { return params_.period; }

    /* The first cycle starting at or after t, and the time cycle c starts. */
    mm_cycle cycle_at(const sc_core::sc_time &t) const;
    sc_core::sc_time time_of(mm_cycle c) const;

    /* The C model underneath, for what the sockets do not carry: counters
     * (mmu_export_stats), TLB inspection, and the physical memory image for
     * the C page-table builder.  Change the MMU's state through `xlate`
     * only, or its clock and the transactions' times part ways. */
    mmu *model() { return mmu_.get(); }
    physmem *memory() { return pm_.get(); }

    /* True when the page tables live behind `mem` (MmuTlmParams). */
    bool platform_tables() const { return params_.platform_tables; }

protected:
    void end_of_elaboration() override;

private:
    struct DebugPort;
    struct MmuFree { void operator()(mmu *m) const { mmu_free(m); } };
    struct MemsysFree { void operator()(memsys *m) const { memsys_free(m); } };
    struct PhysmemFree { void operator()(physmem *m) const { physmem_free(m); } };

    void xlate_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned xlate_dbg(tlm::tlm_generic_payload &gp);
    void ptmem_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned ptmem_dbg(tlm::tlm_generic_payload &gp);

    tlm::tlm_response_status translate(tlm::tlm_generic_payload &gp, XlateExt &x, mm_cycle want);
    tlm::tlm_response_status control(tlm::tlm_generic_payload &gp, XlateExt &x, mm_cycle want);
    tlm::tlm_response_status check_translate(const tlm::tlm_generic_payload &gp, XlateExt &x) const;
    void debug_walk(uint64_t va, mm_kind kind, mm_priv priv, walk_result *out);
    tlm::tlm_response_status ptmem_access(tlm::tlm_generic_payload &gp);

    /* The walker's memory port when the tables are in the platform (the
     * values travel in the `mem` transactions; the image is not used). */
    static unsigned platform_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value,
                                  unsigned *src);
    static unsigned platform_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits,
                                 uint64_t *old, unsigned *src);
    static uint64_t platform_peek(void *ctx, uint64_t pa);
    /* The debug walk's port (no time, writes nothing). */
    static unsigned debug_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value,
                               unsigned *src);
    static unsigned debug_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits,
                              uint64_t *old, unsigned *src);
    mm_cycle entry_transport(tlm::tlm_command cmd, uint64_t pa, mm_cycle at, uint64_t *value, bool *ok);
    bool fetch_entry_dbg(uint64_t pa, uint64_t *value);

    bool mem_error_ = false;   /* a `mem` error response during the current access */

    mm_config cfg_;
    MmuTlmParams params_;
    const paging_mode *mode_;
    /* Declared in creation order: the MMU refers to the image and the
     * memory model, so it is destroyed first. */
    std::unique_ptr<physmem, PhysmemFree> pm_;
    std::unique_ptr<memsys, MemsysFree> ms_;
    std::unique_ptr<mmu, MmuFree> mmu_;
};

/* Send one XlateExt transaction through an initiator socket bound to
 * `xlate` (b_transport; dbg = true: transport_dbg, delay untouched).  The
 * payload lives for this call only; its 8-byte data array is a placeholder
 * the target never reads or writes (the extension carries the result).
 * Returns the response status; for transport_dbg, OK when translated, else
 * the status MmuTlm set (ADDRESS_ERROR for a fault). */
template <class Socket>
tlm::tlm_response_status xlate_transport(Socket &socket, XlateExt &x, tlm::tlm_command cmd, uint64_t address,
                                         sc_core::sc_time &delay, bool dbg = false)
{
    unsigned char data[8] = {};
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(address);
    gp.set_data_ptr(data);
    gp.set_data_length(sizeof data);
    gp.set_streaming_width(sizeof data);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    gp.set_extension(&x);
    if (dbg) {
        /* Debug transport need not set a status: derive one from the count. */
        unsigned n = socket->transport_dbg(gp);
        if (n)
            gp.set_response_status(tlm::TLM_OK_RESPONSE);
        else if (gp.get_response_status() == tlm::TLM_OK_RESPONSE ||
                 gp.get_response_status() == tlm::TLM_INCOMPLETE_RESPONSE)
            gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    } else {
        socket->b_transport(gp, delay);
    }
    /* The payload frees its extensions when destroyed: x is the caller's. */
    gp.clear_extension(&x);
    return gp.get_response_status();
}

}  // namespace mmusim

#endif
