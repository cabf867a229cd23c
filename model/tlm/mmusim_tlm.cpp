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
    pm_.reset(physmem_create(cfg_.cpu.pa_bits, params_.table_base, params_.table_limit, err, sizeof err));
    if (pm_)
        ms_.reset(memsys_create(&cfg_.memsys, err, sizeof err));
    if (ms_)
        mmu_.reset(mmu_create(&cfg_, params_.cpu, pm_.get(), ms_.get(), err, sizeof err));
    if (!mmu_)
        throw std::invalid_argument(std::string(this->name()) + ": " + err);
    xlate.register_b_transport(this, &MmuTlm::xlate_b_transport);
    xlate.register_transport_dbg(this, &MmuTlm::xlate_dbg);
    ptmem.register_b_transport(this, &MmuTlm::ptmem_b_transport);
    ptmem.register_transport_dbg(this, &MmuTlm::ptmem_dbg);
    if (params_.platform_tables) {
        /* The walker copies the port, so a local is enough. */
        walker_mem port{};
        port.read = platform_read;
        port.rmw = platform_rmw;
        port.peek = platform_peek;
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
     * Only a target that waits past the completion (in the A/D WRITE of
     * the walk's last step, synced on) puts the kernel beyond it; the
     * delay is then zero. */
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
    mem_error_ = false;
    mmu_access(mmu_.get(), gp.get_address(), kind_of(gp, x), x.priv, &r);
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

/* The debug walk's memory port: every access is free and nothing is
 * written.  Reads come from the image, or with the tables in the platform
 * from `mem` by debug transport (no time, no side effect there); a locked
 * update changes nothing and answers with the value the same step read. */
struct MmuTlm::DebugPort {
    MmuTlm *owner;
    std::vector<std::pair<uint64_t, uint64_t>> read;   /* (entry pa, value) of the walk's reads */
};

unsigned MmuTlm::debug_read(void *ctx, uint64_t pa, unsigned, mm_cycle, uint64_t *value, unsigned *src)
{
    DebugPort *p = static_cast<DebugPort *>(ctx);
    MmuTlm *o = p->owner;
    if (o->params_.platform_tables)
        o->fetch_entry_dbg(pa, value);
    else
        *value = paging_read_entry(o->mode_, o->pm_.get(), pa);
    p->read.emplace_back(pa, *value);
    *src = 0;
    return 0;
}

/* A walk updates only entries it read (each once), so the value is there. */
unsigned MmuTlm::debug_rmw(void *ctx, uint64_t pa, unsigned, mm_cycle, uint64_t, uint64_t *old, unsigned *src)
{
    DebugPort *p = static_cast<DebugPort *>(ctx);
    auto it = std::find_if(p->read.begin(), p->read.end(),
                           [pa](const std::pair<uint64_t, uint64_t> &e) { return e.first == pa; });
    *old = it != p->read.end() ? it->second : 0;
    *src = 0;
    return 0;
}

/* The model has no side-effect-free translation of its own (an MMU's walk
 * sets A/D bits and changes its caches and counters; pgtable_lookup needs
 * the builder that made the tables, which a platform writing through
 * `ptmem` does not have).  So the debug walk runs the model's own walk
 * loop -- same permission rules, same error codes -- on a private walker
 * without page-walk caches, through a port that writes nothing.  The MMU,
 * its TLBs, caches, counters and clock are not touched, nor is the image
 * or the platform's memory. */
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
    char err[256];
    walker *w = walker_create(&wc, mode_, nullptr, &dport, err, sizeof err);
    if (!w)
        throw std::logic_error(err);   /* the port is complete and walkers 1: cannot happen */
    walk_req req{va, kind, priv};
    walker_walk_now(w, mmu_regs(mmu_.get()), &req, 0, out);
    walker_free(w);
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

/* One entry access on `mem` (b_transport) at cycle `at`: *value is read
 * into, or written from.  The request carries the initiator's local time
 * offset of that cycle (loosely timed: the walk runs ahead of the kernel
 * inside the CPU's b_transport); the target adds its latency to the delay,
 * or wait()s and returns a smaller one.  Either way the access ends at
 * sc_time_stamp() + delay: returns that cycle.  An error response sets
 * mem_error_ and, for a read, *value to 0 (not present, so the walk stops
 * there and fills nothing); *ok tells which. */
mm_cycle MmuTlm::entry_transport(tlm::tlm_command cmd, uint64_t pa, mm_cycle at, uint64_t *value, bool *ok)
{
    const unsigned bytes = mode_->entry_bytes;
    EntryPayload p(cmd, pa, bytes);
    if (cmd == tlm::TLM_WRITE_COMMAND)
        p.set_value(*value, bytes);
    const sc_time start = time_of(at), stamp = sc_core::sc_time_stamp();
    sc_time delay = start > stamp ? start - stamp : sc_core::SC_ZERO_TIME;
    mem->b_transport(p.gp, delay);
    *ok = p.gp.is_response_ok();
    if (!*ok)
        mem_error_ = true;
    if (cmd == tlm::TLM_READ_COMMAND)
        *value = *ok ? p.value(bytes) : 0;
    return cycle_at(sc_core::sc_time_stamp() + delay);
}

/* For the debug walk and PTE-cache hits: the entry by debug transport.  A
 * target without debug transport (it returns fewer bytes) makes the entry
 * read as 0, not present. */
bool MmuTlm::fetch_entry_dbg(uint64_t pa, uint64_t *value)
{
    const unsigned bytes = mode_->entry_bytes;
    EntryPayload p(tlm::TLM_READ_COMMAND, pa, bytes);
    const bool ok = mem->transport_dbg(p.gp) == bytes;
    *value = ok ? p.value(bytes) : 0;
    return ok;
}

/* The platform's memory is not the model's memsys: its reads go to "memory",
 * the last of the memsys sources (the walker counts reads by source).  The
 * step's latency is the number of whole cycles from `now` to the end of the
 * transaction. */
unsigned MmuTlm::platform_read(void *ctx, uint64_t pa, unsigned, mm_cycle now, uint64_t *value, unsigned *src)
{
    MmuTlm *t = static_cast<MmuTlm *>(ctx);
    *src = memsys_nsources(t->ms_.get()) - 1;
    bool ok;
    const mm_cycle end = t->entry_transport(tlm::TLM_READ_COMMAND, pa, now, value, &ok);
    return end > now ? (unsigned)(end - now) : 0;
}

/* A locked update: a READ of the entry, then at once a WRITE of it with
 * the bits ORed in.  Its cost is the read's plus the configuration's
 * rmw_latency (the lock), as in memsys_rmw.  The WRITE is a real bus
 * write, not debug transport: the platform must see it as one (a memory
 * that counts or checks accesses, a watchpoint, a cache model), and debug
 * transport is meant to have no such effects and may not be implemented
 * at all.  It carries the local time offset of the cycle the update
 * completes, so the target sees it when it happened; the delay it returns
 * is dropped, because the whole read-modify-write is already charged.
 * Atomicity (walker.h): nothing else runs between the two transactions
 * unless the target wait()s in the READ.  After an error response on the
 * READ nothing is written. */
unsigned MmuTlm::platform_rmw(void *ctx, uint64_t pa, unsigned, mm_cycle now, uint64_t bits, uint64_t *old,
                              unsigned *src)
{
    MmuTlm *t = static_cast<MmuTlm *>(ctx);
    *src = memsys_nsources(t->ms_.get()) - 1;
    bool ok;
    const mm_cycle end = t->entry_transport(tlm::TLM_READ_COMMAND, pa, now, old, &ok);
    const unsigned lat = (end > now ? (unsigned)(end - now) : 0) + t->cfg_.memsys.rmw_latency;
    if (ok) {
        uint64_t v = *old | bits;
        t->entry_transport(tlm::TLM_WRITE_COMMAND, pa, now + lat, &v, &ok);
    }
    return lat;
}

/* A PTE-cache hit (pwc.design: pte) takes the entry's current value, as
 * the model's PTE cache keeps tags only.  A target without debug transport
 * cannot supply it: the access then reports mem_error. */
uint64_t MmuTlm::platform_peek(void *ctx, uint64_t pa)
{
    MmuTlm *t = static_cast<MmuTlm *>(ctx);
    uint64_t v;
    if (!t->fetch_entry_dbg(pa, &v))
        t->mem_error_ = true;
    return v;
}

}  // namespace mmusim
