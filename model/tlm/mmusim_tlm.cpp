/* mmusim_tlm.cpp -- the TLM-2.0 wrapper of one MMU (see mmusim_tlm.h).
 *
 * Invariant: the MMU's cycle clock and SystemC time agree through `period`:
 * every request reaches the model with mmu_advance(cycle_at(its time)), and
 * the returned delay is the model's completion cycle converted back.  The
 * model is never asked to go back in time; a late request issues later. */
#include "mmusim_tlm.h"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <utility>

namespace mmusim {

using sc_core::sc_time;
using tlm::tlm_generic_payload;
using tlm::tlm_response_status;

const char *where_name(Where w)
{
    switch (w) {
    case Where::L1Hit: return "l1-hit";
    case Where::StlbHit: return "stlb-hit";
    case Where::Walk: return "walk";
    case Where::Merged: return "merged";
    case Where::None: break;
    }
    return "-";
}

static Where where_of(mmu_where w)
{
    switch (w) {
    case MMU_L1_HIT: return Where::L1Hit;
    case MMU_STLB_HIT: return Where::StlbHit;
    case MMU_WALK: return Where::Walk;
    case MMU_MERGED: return Where::Merged;
    }
    return Where::None;
}

/* Results are written afresh on every transaction. */
static void clear_result(XlateExt &x)
{
    x.pa = 0;
    x.page_shift = 0;
    x.page_fault = false;
    x.error_code = 0;
    x.non_canonical = false;
    x.mem_error = false;
    x.where = Where::None;
    x.issue = x.done = 0;
}

mm_config MmuTlm::load_config(const std::string &preset_or_file, const std::vector<std::string> &sets)
{
    mm_config c;
    char err[512];
    if (cfg_load(&c, preset_or_file.c_str(), err, sizeof err) != 0)
        throw std::invalid_argument(err);
    for (const std::string &s : sets)
        if (cfg_set(&c, s.c_str(), err, sizeof err) != 0)
            throw std::invalid_argument(err);
    return c;
}

MmuTlm::MmuTlm(sc_core::sc_module_name name, const mm_config &cfg, const MmuTlmParams &params)
    : sc_module(name), xlate("xlate"), ptmem("ptmem"), mem("mem"), cfg_(cfg), params_(params), mode_(nullptr)
{
    char err[512];
    if (cfg_validate(&cfg_, err, sizeof err) != 0)
        throw std::invalid_argument(err);
    if (params_.period == sc_core::SC_ZERO_TIME)
        throw std::invalid_argument(std::string(this->name()) + ": the clock period must be > 0");
    mode_ = cfg_mode(&cfg_);
    pm_.reset(physmem_create(cfg_.cpu.pa_bits, params_.table_base, params_.table_limit));
    ms_.reset(memsys_create(&cfg_.memsys));
    if (pm_ && ms_)
        mmu_.reset(mmu_create(&cfg_, params_.cpu, pm_.get(), ms_.get()));
    if (!mmu_)
        throw std::bad_alloc();
    xlate.register_b_transport(this, &MmuTlm::xlate_b_transport);
    xlate.register_transport_dbg(this, &MmuTlm::xlate_dbg);
    ptmem.register_b_transport(this, &MmuTlm::ptmem_b_transport);
    ptmem.register_transport_dbg(this, &MmuTlm::ptmem_dbg);
    if (params_.platform_tables) {
        /* The walker copies the port, so a local is enough. */
        walker_mem port{};
        port.read = platform_read;
        port.rmw = platform_rmw;
        port.ctx = this;
        mmu_set_walker_mem(mmu_.get(), &port);
    }
}

MmuTlm::~MmuTlm() = default;

/* The socket's binding must match the flag: sending on an unbound socket
 * would fail at the first walk, and a bound socket that is never used
 * means the platform thinks the tables are somewhere they are not. */
void MmuTlm::end_of_elaboration()
{
    const bool bound = mem.size() > 0;
    if (params_.platform_tables && !bound)
        SC_REPORT_ERROR("/mmusim/MmuTlm", (std::string(name()) + ": platform_tables is set but `mem` is not bound").c_str());
    if (!params_.platform_tables && bound)
        SC_REPORT_ERROR("/mmusim/MmuTlm",
                        (std::string(name()) + ": `mem` is bound but platform_tables is not set").c_str());
}

/* Integer arithmetic on the kernel's time unit: a double would lose cycles
 * past 2^53 resolution units. */
mm_cycle MmuTlm::cycle_at(const sc_time &t) const
{
    sc_time::value_type p = params_.period.value();
    return (t.value() + p - 1) / p;
}

sc_time MmuTlm::time_of(mm_cycle c) const
{
    return sc_time::from_value(c * params_.period.value());
}

/* ---- xlate: translations and control operations ---- */

void MmuTlm::xlate_b_transport(tlm_generic_payload &gp, sc_time &delay)
{
    XlateExt *x = gp.get_extension<XlateExt>();
    if (!x) {
        /* A translation has nowhere else to put its result. */
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    clear_result(*x);
    const mm_cycle want = cycle_at(sc_core::sc_time_stamp() + delay);
    tlm_response_status st = x->op == XlateOp::Translate ? translate(gp, *x, want) : control(gp, *x, want);
    /* Malformed requests (command or operand errors) take no time; faults
     * and everything done take until their completion.  The kernel's time
     * is read again: a `mem` target may have wait()ed during the walk.
     * Only a target that waits past the completion (a write-back it syncs
     * on) puts the kernel beyond it; the delay is then zero. */
    if (st == tlm::TLM_OK_RESPONSE || x->page_fault || x->non_canonical || x->mem_error) {
        const sc_time now = sc_core::sc_time_stamp(), end = time_of(x->done);
        delay = end > now ? end - now : sc_core::SC_ZERO_TIME;
    }
    gp.set_response_status(st);
}

/* The checks made before an access reaches the TLBs: a command the
 * translation can use, and a linear address of the paging mode. */
tlm_response_status MmuTlm::check_translate(const tlm_generic_payload &gp, XlateExt &x) const
{
    tlm::tlm_command cmd = gp.get_command();
    if (cmd == tlm::TLM_IGNORE_COMMAND || (x.ifetch && cmd != tlm::TLM_READ_COMMAND))
        return tlm::TLM_COMMAND_ERROR_RESPONSE;
    if (!paging_va_ok(mode_, gp.get_address())) {
        x.non_canonical = true;
        return tlm::TLM_ADDRESS_ERROR_RESPONSE;
    }
    return tlm::TLM_OK_RESPONSE;
}

static mm_kind kind_of(const tlm_generic_payload &gp, const XlateExt &x)
{
    if (x.ifetch)
        return MM_IFETCH;
    return gp.get_command() == tlm::TLM_WRITE_COMMAND ? MM_STORE : MM_LOAD;
}

tlm_response_status MmuTlm::translate(tlm_generic_payload &gp, XlateExt &x, mm_cycle want)
{
    tlm_response_status st = check_translate(gp, x);
    if (st != tlm::TLM_OK_RESPONSE) {
        /* A non-canonical address faults in address generation, before the
         * MMU: it completes when asked, at no cost. */
        if (x.non_canonical)
            x.issue = x.done = want;
        return st;
    }
    mmu_advance(mmu_.get(), want);
    mmu_result r;
    pending_.clear();
    mem_error_ = false;
    mmu_access(mmu_.get(), gp.get_address(), kind_of(gp, x), x.priv, &r);
    if (!pending_.empty())
        write_back();
    x.issue = r.issue;
    x.done = r.done;
    x.where = where_of(r.where);
    if (mem_error_) {
        /* The walk ran on an entry the platform could not supply: its
         * result (a not-present fault, or a fill) is not a translation the
         * platform can use. */
        x.mem_error = true;
        return tlm::TLM_GENERIC_ERROR_RESPONSE;
    }
    if (r.fault) {
        x.page_fault = true;
        x.error_code = r.error_code;
        return tlm::TLM_ADDRESS_ERROR_RESPONSE;
    }
    x.pa = r.pa;
    x.page_shift = r.shift;
    return tlm::TLM_OK_RESPONSE;
}

/* MOV to CR3, INVLPG and INVPCID serialize (contract rule 14): the model
 * makes the next access wait for every earlier one; the operation itself
 * costs no cycles (a context switch's cost belongs to the platform's OS).
 * It takes effect at the later of the request's cycle and the completion
 * of everything issued before it, and the initiator's time moves there. */
tlm_response_status MmuTlm::control(tlm_generic_payload &gp, XlateExt &x, mm_cycle want)
{
    if (gp.get_command() != tlm::TLM_WRITE_COMMAND)
        return tlm::TLM_COMMAND_ERROR_RESPONSE;
    const uint64_t a = gp.get_address();
    mmu *m = mmu_.get();
    switch (x.op) {
    case XlateOp::WriteCr3: {
        /* The root must be a table's address: 4 KiB aligned, or 32 bytes
         * for PAE's PDPT, and inside the physical address space. */
        uint64_t align = mode_->kind == PAGING_PAE ? 32 : 4096;
        if ((a & (align - 1)) || (a >> cfg_.cpu.pa_bits) || x.pcid > 4095)
            return tlm::TLM_ADDRESS_ERROR_RESPONSE;
        mmu_advance(m, want);
        mmu_write_cr3(m, a, x.pcid, x.noflush);
        break;
    }
    case XlateOp::Invlpg:
        mmu_advance(m, want);
        mmu_invlpg(m, a);
        break;
    case XlateOp::Invpcid:
        if (x.invpcid_type > 3 || x.pcid > 4095)
            return tlm::TLM_COMMAND_ERROR_RESPONSE;
        mmu_advance(m, want);
        mmu_invpcid(m, x.invpcid_type, x.pcid, a);
        break;
    case XlateOp::FlushAll:
        mmu_advance(m, want);
        mmu_flush_all(m);
        break;
    case XlateOp::SetAc:
        /* Not serializing (STAC/CLAC): takes effect at once. */
        mmu_set_ac(m, x.ac);
        x.issue = x.done = want;
        return tlm::TLM_OK_RESPONSE;
    case XlateOp::Translate:
        return tlm::TLM_COMMAND_ERROR_RESPONSE;
    }
    x.issue = want;
    x.done = std::max(want, mmu_now(m));
    return tlm::TLM_OK_RESPONSE;
}

/* ---- debug translation ---- */

/* The debug walk's memory port: every access is free, and each locked
 * update first saves the entry's value so the walk can be undone.  With
 * the tables in the platform, each read first copies the entry from `mem`
 * by debug transport (no time, no side effect in the platform). */
struct MmuTlm::DebugPort {
    MmuTlm *owner;
    std::vector<std::pair<uint64_t, uint64_t>> saved;   /* (entry pa, value before) */
};

unsigned MmuTlm::debug_read(void *ctx, uint64_t pa, unsigned, mm_cycle, unsigned *src)
{
    DebugPort *p = static_cast<DebugPort *>(ctx);
    MmuTlm *o = p->owner;
    if (o->params_.platform_tables) {
        /* The image's old value goes back afterwards too: a PTE-cache hit
         * of a later real walk uses the value its own fetch left there. */
        p->saved.emplace_back(pa, paging_read_entry(o->mode_, o->pm_.get(), pa));
        o->fetch_entry_dbg(pa);
    }
    *src = 0;
    return 0;
}

/* The entry was fetched by the read of the same step: the image holds the
 * platform's value, which is what gets put back. */
unsigned MmuTlm::debug_rmw(void *ctx, uint64_t pa, unsigned, mm_cycle, unsigned *src)
{
    DebugPort *p = static_cast<DebugPort *>(ctx);
    MmuTlm *o = p->owner;
    p->saved.emplace_back(pa, paging_read_entry(o->mode_, o->pm_.get(), pa));
    *src = 0;
    return 0;
}

/* The model has no side-effect-free translation (walker_walk_now sets A/D
 * bits; pgtable_lookup needs the builder that made the tables, which a
 * platform writing through `ptmem` does not have).  So the debug walk runs
 * the model's own walk loop -- same permission rules, same error codes --
 * on a private walker without page-walk caches, and puts back every entry
 * its A/D updates changed.  The MMU, its TLBs, caches, counters and clock
 * are not touched; with the tables in the platform, neither is the
 * platform's memory (its entries are only read, by debug transport). */
void MmuTlm::debug_walk(uint64_t va, mm_kind kind, mm_priv priv, walk_result *out)
{
    DebugPort port{this, {}};
    walker_mem dport{};   /* value-initialised: optional callbacks stay NULL */
    dport.read = debug_read;
    dport.rmw = debug_rmw;
    dport.ctx = &port;
    walker_cfg wc{};
    wc.walkers = 1;
    wc.merge = false;
    wc.pa_bits = cfg_.cpu.pa_bits;
    wc.pwc_latency = 0;
    walker *w = walker_create(&wc, mode_, pm_.get(), nullptr, &dport);
    if (!w)
        throw std::bad_alloc();
    walk_req req{va, kind, priv};
    walker_walk_now(w, mmu_regs(mmu_.get()), &req, 0, out);
    walker_free(w);
    /* Newest first: an entry updated twice gets its oldest value back. */
    for (auto it = port.saved.rbegin(); it != port.saved.rend(); ++it)
        paging_write_entry(mode_, pm_.get(), it->first, it->second);
}

/* What the page tables say now, with the current CR3 and control bits:
 * the TLBs are not consulted, so a stale TLB entry does not show.  Returns
 * the data length when translated, 0 otherwise (fault, bad request). */
unsigned MmuTlm::xlate_dbg(tlm_generic_payload &gp)
{
    XlateExt *x = gp.get_extension<XlateExt>();
    if (!x || x->op != XlateOp::Translate) {
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return 0;
    }
    clear_result(*x);
    tlm_response_status st = check_translate(gp, *x);
    if (st != tlm::TLM_OK_RESPONSE) {
        gp.set_response_status(st);
        return 0;
    }
    walk_result r;
    debug_walk(gp.get_address(), kind_of(gp, *x), x->priv, &r);
    if (r.fault) {
        x->page_fault = true;
        x->error_code = r.error_code;
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return 0;
    }
    x->pa = r.pa;
    x->page_shift = r.shift;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    return gp.get_data_length();
}

/* ---- ptmem: the physical memory image ---- */

/* Byte i of the payload is the byte at address + i % streaming width, in
 * x86 (little-endian) order, which is TLM's host order on x86 hosts.  The
 * image has aligned 4-byte accessors only below 8 bytes, so each byte is a
 * read-modify-write of its word: page-table traffic is small. */
tlm_response_status MmuTlm::ptmem_access(tlm_generic_payload &gp)
{
    const tlm::tlm_command cmd = gp.get_command();
    const uint64_t base = gp.get_address();
    unsigned char *data = gp.get_data_ptr();
    const unsigned len = gp.get_data_length();
    unsigned width = gp.get_streaming_width();
    const unsigned char *be = gp.get_byte_enable_ptr();
    const unsigned be_len = gp.get_byte_enable_length();
    if (width == 0 || width > len)
        width = len;
    if (cmd == tlm::TLM_IGNORE_COMMAND || len == 0)
        return tlm::TLM_OK_RESPONSE;
    if (!data || (be && be_len == 0))
        return tlm::TLM_GENERIC_ERROR_RESPONSE;
    /* The whole range must lie inside the physical address space. */
    const uint64_t span = 1ull << cfg_.cpu.pa_bits;
    if (base >= span || width > span - base)
        return tlm::TLM_ADDRESS_ERROR_RESPONSE;
    physmem *pm = pm_.get();
    for (unsigned i = 0; i < len; i++) {
        if (be && be[i % be_len] == TLM_BYTE_DISABLED)
            continue;
        const uint64_t a = base + i % width;
        const uint64_t word = a & ~3ull;
        const unsigned shift = (unsigned)(a & 3) * 8;
        uint32_t v = physmem_read32(pm, word);
        if (cmd == tlm::TLM_READ_COMMAND) {
            data[i] = (unsigned char)(v >> shift);
        } else {
            v = (v & ~(0xffu << shift)) | ((uint32_t)data[i] << shift);
            physmem_write32(pm, word, v);
        }
    }
    return tlm::TLM_OK_RESPONSE;
}

void MmuTlm::ptmem_b_transport(tlm_generic_payload &gp, sc_time &delay)
{
    gp.set_response_status(ptmem_access(gp));
    delay += params_.ptmem_latency;
}

unsigned MmuTlm::ptmem_dbg(tlm_generic_payload &gp)
{
    return ptmem_access(gp) == tlm::TLM_OK_RESPONSE ? gp.get_data_length() : 0;
}

/* ---- mem: page tables in the platform's memory ---- */

namespace {

/* One page-table entry's worth of payload: x86 entries are little-endian,
 * which is TLM's host order on the x86 hosts this targets (as for ptmem). */
struct EntryPayload {
    unsigned char data[8] = {};
    tlm::tlm_generic_payload gp;

    EntryPayload(tlm::tlm_command cmd, uint64_t pa, unsigned bytes)
    {
        gp.set_command(cmd);
        gp.set_address(pa);
        gp.set_data_ptr(data);
        gp.set_data_length(bytes);
        gp.set_streaming_width(bytes);
        gp.set_byte_enable_ptr(nullptr);
        gp.set_dmi_allowed(false);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    }
    uint64_t value(unsigned bytes) const
    {
        uint64_t v = 0;
        for (unsigned i = bytes; i-- > 0;)
            v = v << 8 | data[i];
        return v;
    }
    void set_value(uint64_t v, unsigned bytes)
    {
        for (unsigned i = 0; i < bytes; i++)
            data[i] = (unsigned char)(v >> (8 * i));
    }
};

}  // namespace

/* One entry read at cycle `now` on `mem`.  The request carries the
 * initiator's local time offset of that cycle (loosely timed: the walk runs
 * ahead of the kernel inside the CPU's b_transport); the target adds its
 * latency to the delay, or wait()s and returns a smaller one.  Either way
 * the access ends at sc_time_stamp() + delay, and the step's latency is the
 * number of whole cycles from `now` to then.  The value goes into the image,
 * where the walker reads it right after this returns.  An error response
 * makes the entry read as 0 (not present), so the walk stops here and
 * fills nothing; the access then reports mem_error. */
unsigned MmuTlm::fetch_entry(uint64_t pa, mm_cycle now)
{
    const unsigned bytes = mode_->entry_bytes;
    EntryPayload p(tlm::TLM_READ_COMMAND, pa, bytes);
    const sc_time start = time_of(now), stamp = sc_core::sc_time_stamp();
    sc_time delay = start > stamp ? start - stamp : sc_core::SC_ZERO_TIME;
    mem->b_transport(p.gp, delay);
    uint64_t v = 0;
    if (p.gp.is_response_ok())
        v = p.value(bytes);
    else
        mem_error_ = true;
    paging_write_entry(mode_, pm_.get(), pa, v);
    const mm_cycle end = cycle_at(sc_core::sc_time_stamp() + delay);
    return end > now ? (unsigned)(end - now) : 0;
}

/* For the debug walk: the entry by debug transport, into the image.  A
 * target without debug transport (it returns fewer bytes) makes the entry
 * read as not present. */
bool MmuTlm::fetch_entry_dbg(uint64_t pa)
{
    const unsigned bytes = mode_->entry_bytes;
    EntryPayload p(tlm::TLM_READ_COMMAND, pa, bytes);
    const bool ok = mem->transport_dbg(p.gp) == bytes;
    paging_write_entry(mode_, pm_.get(), pa, ok ? p.value(bytes) : 0);
    return ok;
}

/* The platform's memory is not the model's memsys: its reads go to "memory",
 * the last of the memsys sources (the walker counts reads by source). */
unsigned MmuTlm::platform_read(void *ctx, uint64_t pa, unsigned, mm_cycle now, unsigned *src)
{
    MmuTlm *t = static_cast<MmuTlm *>(ctx);
    *src = memsys_nsources(t->ms_.get()) - 1;
    return t->fetch_entry(pa, now);
}

/* A locked update: the read half goes to the platform now (the walker ORs
 * its bits into the image after this returns); the write half is sent by
 * write_back once the access is done, because the updated value exists
 * only then.  The lock's cost is the configuration's rmw_latency, as in
 * memsys_rmw. */
unsigned MmuTlm::platform_rmw(void *ctx, uint64_t pa, unsigned, mm_cycle now, unsigned *src)
{
    MmuTlm *t = static_cast<MmuTlm *>(ctx);
    *src = memsys_nsources(t->ms_.get()) - 1;
    const unsigned lat = t->fetch_entry(pa, now) + t->cfg_.memsys.rmw_latency;
    t->pending_.push_back(PendingWrite{pa, now + lat});
    return lat;
}

/* Write the entries the access's A/D updates changed back to the platform,
 * with the image's values (the platform's value with the bits ORed in).
 * These are real b_transport WRITEs, not debug transport: the platform must
 * see them as bus writes (a memory that counts or checks accesses, a
 * watchpoint, a cache model), and debug transport is meant to have no such
 * effects and may not be implemented at all.  Each carries the local time
 * offset of the cycle its locked update completed, so the target sees it
 * when it happened; the delay it returns is dropped, because the whole
 * read-modify-write was already charged to the walk by platform_rmw.  A
 * target that wait()s here moves the kernel on; xlate_b_transport measures
 * the returned delay from wherever the kernel is then.  An error response
 * is reported like a read's. */
void MmuTlm::write_back()
{
    const unsigned bytes = mode_->entry_bytes;
    for (const PendingWrite &w : pending_) {
        EntryPayload p(tlm::TLM_WRITE_COMMAND, w.pa, bytes);
        p.set_value(paging_read_entry(mode_, pm_.get(), w.pa), bytes);
        const sc_time at = time_of(w.at), stamp = sc_core::sc_time_stamp();
        sc_time delay = at > stamp ? at - stamp : sc_core::SC_ZERO_TIME;
        mem->b_transport(p.gp, delay);
        if (!p.gp.is_response_ok())
            mem_error_ = true;
    }
    pending_.clear();
}

}  // namespace mmusim
