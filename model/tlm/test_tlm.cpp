/* test_tlm -- the TLM-2.0 wrapper against hand-derived numbers.
 *
 * A SystemC program, not a Criterion one: libsystemc supplies main() (it
 * calls sc_main), and so does Criterion.  Each case runs on its own MmuTlm,
 * in one SystemC thread, one case per 100 us slot of simulated time; the
 * last line is "[====] tlm: Tested: N | Passing: N | Failing: N" and the
 * exit status is 1 when a case failed.
 *
 * Every case uses this configuration (the Skylake preset's arrays, with
 * round latencies so each cycle count is a sum done by hand):
 *   L1 iTLB/dTLB lookup 1, STLB lookup 7, split page-walk caches with a
 *   1-cycle lookup, fixed memory latency 100 per entry read and 100 + 20 per
 *   locked A/D read-modify-write, one walker, blocking front end (one access
 *   in flight), PCID on.  Clock 1 GHz (1 ns per cycle) unless a case says.
 *
 * Derivations (model/README.md, "The cycle contract"), T = issue cycle:
 *   L1 hit                      T + 1                                 = 1
 *   STLB hit                    T + 1 + 7                             = 8
 *   walk request                R = T + 1 + 7                         (MISS = 8)
 *   cold 4 KiB walk, 4 levels, no entry's A bit set (the builder makes
 *   intermediate entries without A, and leaves carry only the flags given):
 *     R + PWC miss 1 + 4 reads x 100 + 4 A updates x 120              = 889
 *   another page under the same PMD: the PWC holds the PD entry, the walk
 *     reads the PTE only and sets its A bit: 8 + 1 + 100 + 120          = 229
 *   store to a page the load walked (cached D clear, rule 5): re-walk at
 *     T + 1, PWC hit, PTE read, A|D update: 1 + 1 + 100 + 120           = 222
 *   cold 2 MiB walk (PML4E, PDPTE, PDE leaf, A set on all three):
 *     8 + 1 + 3 x 100 + 3 x 120                                        = 669
 *   walk that finds no PTE (or a PTE the access may not use), cold:
 *     8 + 1 + 4 x 100, no A update on a fault                          = 409
 *   the same with the PD entry in the PWC (a faulting walk still fills
 *     the PWC with the present non-leaf entries it read): 8 + 1 + 100  = 109
 *   full re-walk after INVLPG / a flushing CR3 write with A bits set:
 *     8 + 1 + 4 x 100                                                  = 409
 *
 * Page tables in platform memory (the `mem` socket, platform_* cases): the
 * memsys is bypassed.  Each entry read is one b_transport on `mem`, whose
 * target (PlatformRam) annotates 40 ns = 40 cycles at 1 GHz; a locked A/D
 * update is a read on `mem` plus the configuration's rmw_latency 20:
 *   cold 4 KiB walk, no A bit set in the platform's entries:
 *     8 + 1 + 4 reads x 40 + 4 A updates x (40 + 20)                   = 409
 *     (4 READs, then 4 READ + WRITE pairs: each WRITE at once, stamped
 *     with the cycle its update completes)
 *   store to the walked page (D clear): 1 + 1 + 40 + (40 + 20)          = 102
 *   another page under the same PD: 8 + 1 + 40 + (40 + 20)              = 109
 *   after INVLPG, new leaf without A: 8 + 1 + 4 x 40 + (40 + 20)         = 229
 *   after INVLPG, leaf not present:   8 + 1 + 4 x 40                     = 169
 *   at 4 GHz (250 ps) with 10.1 ns per transaction: ceil(40.4) = 41
 *     cycles per read: 8 + 1 + 4 x 41 + 4 x (41 + 20)                   = 417 */
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "mmusim_tlm.h"

extern "C" {
#include "mmusim/stats.h"
}

using namespace mmusim;
using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::SC_US;
using sc_core::sc_time;
using tlm::TLM_READ_COMMAND;
using tlm::TLM_WRITE_COMMAND;

/* ---- checks ---- */

static unsigned g_case_failures;

static void check(bool ok, const char *what, int line)
{
    if (ok)
        return;
    g_case_failures++;
    std::fprintf(stderr, "test_tlm.cpp:%d: check failed: %s\n", line, what);
}

static void check_eq(uint64_t got, uint64_t want, const char *a, const char *b, int line)
{
    if (got == want)
        return;
    g_case_failures++;
    std::fprintf(stderr, "test_tlm.cpp:%d: %s == %s: got %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64 " (0x%" PRIx64 ")\n",
                 line, a, b, got, got, want, want);
}

static void check_time(const sc_time &got, const sc_time &want, const char *a, int line)
{
    if (got == want)
        return;
    g_case_failures++;
    std::fprintf(stderr, "test_tlm.cpp:%d: %s: got %s, want %s\n", line, a, got.to_string().c_str(),
                 want.to_string().c_str());
}

#define CHECK(e) check((e), #e, __LINE__)
#define CHECK_EQ(a, b) check_eq((uint64_t)(a), (uint64_t)(b), #a, #b, __LINE__)
#define CHECK_TIME(a, b) check_time((a), (b), #a, __LINE__)

/* ---- the rig: one MMU, a CPU socket on xlate, an OS socket on ptmem ---- */

enum : unsigned { L1 = 1, MISS = 1 + 7, PWC = 1, READ = 100, RMW = 100 + 20 };

static const char *const TEST_CONFIG =
    "cpu: {mode: x86-64, context: pcid}\n"
    "frontend: {issue_width: 1, max_outstanding: 1}\n"
    "itlb: {latency: 1}\n"
    "dtlb: {latency: 1}\n"
    "stlb: {latency: 7}\n"
    "pwc: {design: split, latency: 1}\n"
    "walker: {walkers: 1, merge: true}\n"
    "memsys: {model: fixed, fixed_latency: 100, rmw_latency: 20}\n";

static mm_config test_config(const std::vector<std::string> &sets)
{
    mm_config c;
    char err[512];
    cfg_defaults(&c);
    if (cfg_load_string(&c, TEST_CONFIG, "test_tlm", err, sizeof err) != 0)
        throw std::invalid_argument(err);
    for (const std::string &s : sets)
        if (cfg_set(&c, s.c_str(), err, sizeof err) != 0)
            throw std::invalid_argument(err);
    return c;
}

static MmuTlmParams test_params(const sc_time &period, bool platform)
{
    MmuTlmParams p;
    p.platform_tables = platform;
    p.period = period;
    p.table_base = 0x7000000;     /* the builder's table frames */
    p.table_limit = 0x8000000;
    p.ptmem_latency = sc_time(5, SC_NS);
    return p;
}

/* One transaction's outcome. */
struct Out {
    tlm::tlm_response_status st;
    XlateExt x;
};

#define F_USER (PTE_RW | PTE_US)

/* The platform's RAM behind `mem`: a sparse byte map, a fixed latency
 * added to every b_transport, an address error at and above `limit`, and a
 * count of each kind of transaction, so a case can tell whether the MMU
 * went to memory.  The test writes its page tables with put64, straight
 * into the storage, as a platform's loader would. */
struct PlatformRam : sc_core::sc_module {
    tlm_utils::simple_target_socket<PlatformRam> socket;
    std::unordered_map<uint64_t, unsigned char> bytes;
    sc_time latency{40, SC_NS};
    uint64_t limit = 0x10000000;
    unsigned reads = 0, writes = 0, dbg = 0;
    std::vector<uint64_t> written;   /* addresses of the b_transport writes */

    explicit PlatformRam(sc_core::sc_module_name n) : sc_module(n), socket("socket")
    {
        socket.register_b_transport(this, &PlatformRam::b_transport);
        socket.register_transport_dbg(this, &PlatformRam::transport_dbg);
    }

    bool access(tlm::tlm_generic_payload &gp)
    {
        const uint64_t a = gp.get_address();
        const unsigned len = gp.get_data_length();
        unsigned char *d = gp.get_data_ptr();
        if (a >= limit || len > limit - a)
            return false;
        for (unsigned i = 0; i < len; i++) {
            if (gp.is_read()) {
                auto it = bytes.find(a + i);
                d[i] = it == bytes.end() ? 0 : it->second;
            } else {
                bytes[a + i] = d[i];
            }
        }
        return true;
    }
    void b_transport(tlm::tlm_generic_payload &gp, sc_time &delay)
    {
        (gp.is_read() ? reads : writes)++;
        if (gp.is_write())
            written.push_back(gp.get_address());
        gp.set_response_status(access(gp) ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
        delay += latency;
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &gp)
    {
        dbg++;
        return access(gp) ? gp.get_data_length() : 0;
    }
    unsigned total() const { return reads + writes; }

    uint64_t get64(uint64_t pa) const
    {
        uint64_t v = 0;
        for (unsigned i = 8; i-- > 0;) {
            auto it = bytes.find(pa + i);
            v = v << 8 | (it == bytes.end() ? 0 : it->second);
        }
        return v;
    }
    void put64(uint64_t pa, uint64_t v)
    {
        for (unsigned i = 0; i < 8; i++)
            bytes[pa + i] = (unsigned char)(v >> (8 * i));
    }
};

struct Rig : sc_core::sc_module {
    MmuTlm mmu;
    tlm_utils::simple_initiator_socket<Rig> cpu;
    tlm_utils::simple_initiator_socket<Rig> os;
    /* The platform_* cases' RAM, bound to mmu.mem (elsewhere none: an
     * unbound target socket is an elaboration error). */
    std::unique_ptr<PlatformRam> ram_;
    pgtable *pt;

    Rig(sc_core::sc_module_name n, const sc_time &period, const std::vector<std::string> &sets, bool platform)
        : sc_module(n), mmu("mmu", test_config(sets), test_params(period, platform)), cpu("cpu"), os("os"),
          pt(pgtable_create(cfg_mode(&mmu.config()), mmu.memory(), nullptr, nullptr, 0))
    {
        cpu.bind(mmu.xlate);
        os.bind(mmu.ptmem);
        if (platform) {
            ram_ = std::make_unique<PlatformRam>("ram");
            mmu.mem.bind(ram_->socket);
        }
    }
    ~Rig() override { pgtable_free(pt); }

    PlatformRam &ram() { return *ram_; }

    void map(uint64_t va, uint64_t pa, unsigned shift, uint64_t flags, pgtable *in = nullptr)
    {
        CHECK_EQ(pgtable_map(in ? in : pt, va, pa, 1ull << shift, shift, flags), PGT_OK);
    }

    Out xlate(uint64_t va, tlm::tlm_command cmd, sc_time &delay, mm_priv priv = MM_USER, bool ifetch = false,
              bool dbg = false)
    {
        Out o;
        o.x.priv = priv;
        o.x.ifetch = ifetch;
        o.st = xlate_transport(cpu, o.x, cmd, va, delay, dbg);
        return o;
    }
    Out load(uint64_t va, sc_time &delay, mm_priv priv = MM_USER) { return xlate(va, TLM_READ_COMMAND, delay, priv); }
    Out store(uint64_t va, sc_time &delay, mm_priv priv = MM_USER) { return xlate(va, TLM_WRITE_COMMAND, delay, priv); }

    Out ctl(XlateOp op, uint64_t address, sc_time &delay, uint16_t pcid = 0, bool noflush = false)
    {
        Out o;
        o.x.op = op;
        o.x.pcid = pcid;
        o.x.noflush = noflush;
        o.st = xlate_transport(cpu, o.x, TLM_WRITE_COMMAND, address, delay);
        return o;
    }
    Out cr3(uint64_t root, uint16_t pcid, sc_time &delay, bool noflush = false)
    {
        return ctl(XlateOp::WriteCr3, root, delay, pcid, noflush);
    }

    /* A plain memory transaction on ptmem (b_transport, or debug). */
    tlm::tlm_response_status mem(tlm::tlm_command cmd, uint64_t pa, unsigned char *data, unsigned len,
                                 sc_time &delay, const unsigned char *be = nullptr, unsigned be_len = 0,
                                 unsigned width = 0, bool dbg = false)
    {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(pa);
        gp.set_data_ptr(data);
        gp.set_data_length(len);
        gp.set_streaming_width(width ? width : len);
        gp.set_byte_enable_ptr(const_cast<unsigned char *>(be));
        gp.set_byte_enable_length(be_len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        if (dbg)
            return os->transport_dbg(gp) == len ? tlm::TLM_OK_RESPONSE : tlm::TLM_GENERIC_ERROR_RESPONSE;
        os->b_transport(gp, delay);
        return gp.get_response_status();
    }
    uint64_t read64(uint64_t pa)
    {
        unsigned char b[8];
        sc_time d;
        CHECK_EQ(mem(TLM_READ_COMMAND, pa, b, 8, d, nullptr, 0, 0, true), tlm::TLM_OK_RESPONSE);
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | b[i];
        return v;
    }
    void write64(uint64_t pa, uint64_t v, sc_time &delay)
    {
        unsigned char b[8];
        for (unsigned i = 0; i < 8; i++)
            b[i] = (unsigned char)(v >> (8 * i));
        CHECK_EQ(mem(TLM_WRITE_COMMAND, pa, b, 8, delay), tlm::TLM_OK_RESPONSE);
    }

    /* The first cycle at or after the current time (the next request's
     * issue cycle when it carries no delay). */
    mm_cycle now_cycle() const { return mmu.cycle_at(sc_core::sc_time_stamp()); }

    uint64_t counter(const char *name)
    {
        stats *s = stats_create();
        mmu_export_stats(mmu.model(), s);
        bool found = false;
        uint64_t v = stats_get(s, name, &found);
        stats_free(s);
        CHECK(found);
        return v;
    }
};

static sc_time ns(uint64_t n) { return sc_time((double)n, SC_NS); }

/* ---- cases ---- */

/* A cold walk, L1 hits with the delay carried (loosely timed) and after a
 * wait, a PWC-assisted walk, a dirty re-walk, an STLB hit. */
static void walk_then_hits(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, F_USER);
    r.map(0x10001000, 0x5678000, 12, F_USER);
    sc_time d = sc_core::SC_ZERO_TIME;
    const mm_cycle c0 = r.now_cycle();
    CHECK_EQ(r.cr3(pgtable_root(r.pt), 1, d).st, tlm::TLM_OK_RESPONSE);
    CHECK_TIME(d, sc_core::SC_ZERO_TIME);

    Out a = r.load(0x10000abc, d);
    CHECK_EQ(a.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(a.x.pa, 0x1234abc);
    CHECK_EQ(a.x.page_shift, 12);
    CHECK(a.x.where == Where::Walk);
    CHECK_EQ(a.x.issue, c0);
    CHECK_EQ(a.x.latency(), MISS + PWC + 4 * READ + 4 * RMW);   /* 889 */
    CHECK_TIME(d, ns(889));

    /* Without waiting: the local time is the walk's end, the fill has landed. */
    Out b = r.load(0x10000abc, d);
    CHECK(b.x.where == Where::L1Hit);
    CHECK_EQ(b.x.issue, c0 + 889);
    CHECK_EQ(b.x.latency(), L1);
    CHECK_TIME(d, ns(890));

    sc_core::wait(d);
    d = sc_core::SC_ZERO_TIME;
    Out c = r.load(0x10000000, d);
    CHECK(c.x.where == Where::L1Hit);
    CHECK_EQ(c.x.issue, c0 + 890);
    CHECK_EQ(c.x.pa, 0x1234000);
    CHECK_TIME(d, ns(L1));

    Out n = r.load(0x10001008, d);
    CHECK(n.x.where == Where::Walk);
    CHECK_EQ(n.x.pa, 0x5678008);
    CHECK_EQ(n.x.latency(), MISS + PWC + READ + RMW);   /* 229 */
    CHECK_TIME(d, ns(1 + 229));

    Out s = r.store(0x10000010, d);
    CHECK_EQ(s.st, tlm::TLM_OK_RESPONSE);
    CHECK(s.x.where == Where::Walk);
    CHECK_EQ(s.x.latency(), L1 + PWC + READ + RMW);      /* 222 */
    Out s2 = r.store(0x10000018, d);
    CHECK(s2.x.where == Where::L1Hit);
    CHECK_EQ(s2.x.latency(), L1);

    /* The iTLB misses; the STLB holds the page from the data walk. */
    Out f = r.xlate(0x10000040, TLM_READ_COMMAND, d, MM_USER, true);
    CHECK_EQ(f.st, tlm::TLM_OK_RESPONSE);
    CHECK(f.x.where == Where::StlbHit);
    CHECK_EQ(f.x.latency(), MISS);
    CHECK_EQ(f.x.pa, 0x1234040);
    CHECK_TIME(d, ns(1 + 229 + 222 + 1 + 8));
    CHECK_EQ(r.counter("dTLB-loads"), 4);
    CHECK_EQ(r.counter("walker.walks"), 3);
}

static void page_2m(Rig &r)
{
    r.map(0x40000000, 0x80000000, 21, F_USER);
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(pgtable_root(r.pt), 1, d);
    Out a = r.load(0x40012345, d);
    CHECK_EQ(a.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(a.x.pa, 0x80012345);
    CHECK_EQ(a.x.page_shift, 21);
    CHECK_EQ(a.x.latency(), MISS + PWC + 3 * READ + 3 * RMW);   /* 669 */
    Out b = r.load(0x401fffff, d);
    CHECK(b.x.where == Where::L1Hit);
    CHECK_EQ(b.x.pa, 0x801fffff);
    CHECK_EQ(b.x.page_shift, 21);
    CHECK_TIME(d, ns(669 + 1));
}

/* A first touch: not present, the error code, the OS maps, the retry walks
 * again (contract rule 13). */
static void not_present_then_retry(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, F_USER);
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(pgtable_root(r.pt), 1, d);
    Out a = r.load(0x10001000, d);
    CHECK_EQ(a.st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(a.x.page_fault);
    CHECK(!a.x.non_canonical);
    CHECK_EQ(a.x.error_code, PF_US);                    /* P=0: not present; user read */
    CHECK(a.x.where == Where::Walk);
    CHECK_EQ(a.x.latency(), MISS + PWC + 4 * READ);     /* 409 */
    CHECK_TIME(d, ns(409));

    Out w = r.store(0x10002000, d);
    CHECK(w.x.page_fault);
    CHECK_EQ(w.x.error_code, PF_WR | PF_US);
    CHECK_EQ(w.x.latency(), MISS + PWC + READ);         /* 109 */

    r.map(0x10001000, 0x9000000, 12, F_USER);
    Out b = r.load(0x10001000, d);
    CHECK_EQ(b.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(b.x.pa, 0x9000000);
    /* Started from the PWC's PD entry: only the PTE is read and updated. */
    CHECK_EQ(b.x.latency(), MISS + PWC + READ + RMW);   /* 229 */
    CHECK_EQ(r.counter("page-faults"), 2);
}

/* Protection faults (error code P set) and SMAP with EFLAGS.AC. */
static void protection_faults(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, PTE_RW);                    /* supervisor only */
    r.map(0x10001000, 0x5678000, 12, PTE_US | PTE_XD);           /* user, read-only, no execute */
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(pgtable_root(r.pt), 1, d);

    Out u = r.load(0x10000000, d);
    CHECK_EQ(u.st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(u.x.page_fault);
    CHECK_EQ(u.x.error_code, PF_P | PF_US);
    CHECK_EQ(u.x.latency(), MISS + PWC + 4 * READ);     /* 409 */

    Out k = r.load(0x10000000, d, MM_SUPERVISOR);
    CHECK_EQ(k.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(k.x.pa, 0x1234000);
    CHECK_EQ(k.x.latency(), MISS + PWC + READ + RMW);   /* 229 */

    Out w = r.store(0x10001000, d);
    CHECK_EQ(w.x.error_code, PF_P | PF_WR | PF_US);
    CHECK_EQ(w.x.latency(), MISS + PWC + READ);         /* 109 */
    Out x = r.xlate(0x10001000, TLM_READ_COMMAND, d, MM_USER, true);
    CHECK_EQ(x.x.error_code, PF_P | PF_US | PF_ID);

    /* The preset turns SMAP on: a supervisor read of a user page faults
     * unless EFLAGS.AC is set. */
    Out s = r.load(0x10001000, d, MM_SUPERVISOR);
    CHECK(s.x.page_fault);
    CHECK_EQ(s.x.error_code, PF_P);
    XlateExt stac;
    stac.op = XlateOp::SetAc;
    stac.ac = true;
    CHECK_EQ(xlate_transport(r.cpu, stac, TLM_WRITE_COMMAND, 0, d), tlm::TLM_OK_RESPONSE);
    Out s2 = r.load(0x10001000, d, MM_SUPERVISOR);
    CHECK_EQ(s2.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(s2.x.pa, 0x5678000);
}

/* 4 GHz: cycles convert at 250 ps, and a request between two clock edges
 * issues at the next edge. */
static void clock_4ghz(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, F_USER);
    sc_time d = sc_core::SC_ZERO_TIME;
    const mm_cycle c0 = r.now_cycle();
    r.cr3(pgtable_root(r.pt), 1, d);
    Out a = r.load(0x10000000, d);
    CHECK_EQ(a.x.issue, c0);
    CHECK_EQ(a.x.latency(), 889);
    CHECK_TIME(d, sc_time(889 * 250.0, SC_PS));
    sc_core::wait(d);
    d = sc_time(100, SC_PS);
    Out b = r.load(0x10000000, d);
    CHECK(b.x.where == Where::L1Hit);
    CHECK_EQ(b.x.issue, c0 + 889 + 1);
    CHECK_TIME(d, sc_time(2 * 250.0, SC_PS));   /* to the next edge, then one cycle */
}

/* transport_dbg: the page tables' answer, with no time, no TLB or PWC
 * fill, no A bit, no counter. */
static void debug_transport(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, F_USER);
    r.map(0x10002000, 0x4000000, 12, PTE_RW);
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(pgtable_root(r.pt), 1, d);
    const mm_cycle before = mmu_now(r.mmu.model());

    Out a = r.xlate(0x10000abc, TLM_READ_COMMAND, d, MM_USER, false, true);
    CHECK_EQ(a.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(a.x.pa, 0x1234abc);
    CHECK_EQ(a.x.page_shift, 12);
    CHECK(a.x.where == Where::None);
    Out st = r.xlate(0x10000abc, TLM_WRITE_COMMAND, d, MM_USER, false, true);
    CHECK_EQ(st.st, tlm::TLM_OK_RESPONSE);
    Out nf = r.xlate(0x10001000, TLM_READ_COMMAND, d, MM_USER, false, true);
    CHECK(nf.x.page_fault);
    CHECK_EQ(nf.x.error_code, PF_US);
    Out pf = r.xlate(0x10002000, TLM_WRITE_COMMAND, d, MM_USER, false, true);
    CHECK_EQ(pf.st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK_EQ(pf.x.error_code, PF_P | PF_WR | PF_US);
    CHECK_EQ(r.xlate(0x10000000, TLM_WRITE_COMMAND, d, MM_USER, true, true).st, tlm::TLM_COMMAND_ERROR_RESPONSE);

    CHECK_TIME(d, sc_core::SC_ZERO_TIME);
    CHECK_EQ(mmu_now(r.mmu.model()), before);
    CHECK_EQ(r.counter("translations"), 0);
    unsigned level;
    uint64_t frame;
    uint64_t leaf = pgtable_lookup(r.pt, 0x10000000, &level, &frame);
    CHECK_EQ(leaf & (PTE_A | PTE_D), 0);
    /* Still a cold walk: nothing was cached, no A bit was set. */
    Out b = r.load(0x10000abc, d);
    CHECK_EQ(b.x.latency(), 889);
    CHECK_EQ(b.x.pa, 0x1234abc);
}

/* Page tables written by the platform over ptmem; the walker's A bit read
 * back; byte enables, streaming width and range checks. */
static void ptmem_tables(Rig &r)
{
    const uint64_t root = 0x100000, l3 = 0x101000, l2 = 0x102000, l1 = 0x103000, va = 0x10000abc;
    const paging_mode *m = cfg_mode(&r.mmu.config());
    const uint64_t up = PTE_P | PTE_RW | PTE_US;
    const uint64_t leaf = 0x7777000 | up;
    sc_time d = sc_core::SC_ZERO_TIME;
    r.write64(root + 8 * paging_index(m, 4, va), l3 | up, d);
    r.write64(l3 + 8 * paging_index(m, 3, va), l2 | up, d);
    r.write64(l2 + 8 * paging_index(m, 2, va), l1 | up, d);
    r.write64(l1 + 8 * paging_index(m, 1, va), leaf, d);
    CHECK_TIME(d, ns(4 * 5));   /* ptmem_latency per transaction */
    sc_core::wait(d);
    d = sc_core::SC_ZERO_TIME;

    CHECK_EQ(r.cr3(root, 1, d).st, tlm::TLM_OK_RESPONSE);
    Out a = r.load(va, d);
    CHECK_EQ(a.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(a.x.pa, 0x7777abc);
    CHECK_EQ(a.x.latency(), 889);
    CHECK_EQ(r.read64(l1 + 8 * paging_index(m, 1, va)), leaf | PTE_A);
    CHECK_EQ(r.read64(root + 8 * paging_index(m, 4, va)), l3 | up | PTE_A);

    /* Byte enables: every other byte of 8. */
    unsigned char data[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    const unsigned char be[2] = {0xff, 0x00};
    sc_time z;
    CHECK_EQ(r.mem(TLM_WRITE_COMMAND, 0x200000, data, 8, z, be, 2), tlm::TLM_OK_RESPONSE);
    CHECK_EQ(r.read64(0x200000), 0x0022004400660088ull);
    /* Unaligned, across a word boundary. */
    unsigned char three[3] = {0xaa, 0xbb, 0xcc};
    CHECK_EQ(r.mem(TLM_WRITE_COMMAND, 0x200003, three, 3, z), tlm::TLM_OK_RESPONSE);
    CHECK_EQ(r.read64(0x200000), 0x0022ccbbaa660088ull);
    /* Streaming width 4: bytes 4..7 land on the same 4 addresses as 0..3. */
    CHECK_EQ(r.mem(TLM_WRITE_COMMAND, 0x200100, data, 8, z, nullptr, 0, 4), tlm::TLM_OK_RESPONSE);
    CHECK_EQ(r.read64(0x200100), 0x11223344ull);
    /* Outside MAXPHYADDR. */
    const uint64_t top = 1ull << r.mmu.config().cpu.pa_bits;
    CHECK_EQ(r.mem(TLM_READ_COMMAND, top, data, 8, z), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK_EQ(r.mem(TLM_READ_COMMAND, top - 4, data, 8, z), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

/* CR3 writes with PCIDs, INVLPG, serialization, malformed requests. */
static void control_ops(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, F_USER);
    pgtable *other = pgtable_create(cfg_mode(&r.mmu.config()), r.mmu.memory(), nullptr, nullptr, 0);
    r.map(0x10000000, 0xabc000, 12, F_USER, other);
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(pgtable_root(r.pt), 1, d);
    CHECK_EQ(r.load(0x10000000, d).x.latency(), 889);
    CHECK_EQ(r.ctl(XlateOp::Invlpg, 0x10000000, d).st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(r.load(0x10000000, d).x.latency(), MISS + PWC + 4 * READ);   /* 409 */
    CHECK(r.load(0x10000000, d).x.where == Where::L1Hit);

    /* Another address space under PCID 2, then back to PCID 1 without a
     * flush: its entries are still there. */
    r.cr3(pgtable_root(other), 2, d);
    Out o = r.load(0x10000000, d);
    CHECK_EQ(o.x.pa, 0xabc000);
    CHECK_EQ(o.x.latency(), 889);
    r.cr3(pgtable_root(r.pt), 1, d, true);
    Out back = r.load(0x10000000, d);
    CHECK(back.x.where == Where::L1Hit);
    CHECK_EQ(back.x.pa, 0x1234000);
    r.cr3(pgtable_root(r.pt), 1, d, false);
    CHECK_EQ(r.load(0x10000000, d).x.latency(), 409);

    /* Serialization: an INVLPG sent at the walk's issue time takes effect
     * when the walk has completed, and the initiator's time moves there. */
    sc_core::wait(d);
    d = sc_core::SC_ZERO_TIME;
    r.ctl(XlateOp::FlushAll, 0, d);
    Out w = r.load(0x10000000, d);
    CHECK_EQ(w.x.latency(), 409);
    sc_time at = sc_core::SC_ZERO_TIME;
    Out inv = r.ctl(XlateOp::Invlpg, 0x10000000, at);
    CHECK_EQ(inv.x.done, w.x.done);
    CHECK_TIME(at, ns(409));

    /* Malformed requests: an error status, no time. */
    sc_time z = sc_core::SC_ZERO_TIME;
    XlateExt bad;
    bad.op = XlateOp::Invpcid;
    bad.invpcid_type = 4;
    CHECK_EQ(xlate_transport(r.cpu, bad, TLM_WRITE_COMMAND, 0, z), tlm::TLM_COMMAND_ERROR_RESPONSE);
    CHECK_EQ(r.xlate(0x10000000, TLM_WRITE_COMMAND, z, MM_USER, true).st, tlm::TLM_COMMAND_ERROR_RESPONSE);
    XlateExt cr3_read;
    cr3_read.op = XlateOp::WriteCr3;
    CHECK_EQ(xlate_transport(r.cpu, cr3_read, TLM_READ_COMMAND, pgtable_root(r.pt), z),
             tlm::TLM_COMMAND_ERROR_RESPONSE);
    CHECK_EQ(r.cr3(pgtable_root(r.pt) + 8, 1, z).st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK_TIME(z, sc_core::SC_ZERO_TIME);
    {
        unsigned char data[8] = {};
        tlm::tlm_generic_payload gp;
        gp.set_command(TLM_READ_COMMAND);
        gp.set_address(0x10000000);
        gp.set_data_ptr(data);
        gp.set_data_length(8);
        gp.set_streaming_width(8);
        r.cpu->b_transport(gp, z);
        CHECK_EQ(gp.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
    }
    /* Bit 47 set without sign extension: #GP territory, not a page fault. */
    Out nc = r.load(0x0000800000000000ull, z);
    CHECK_EQ(nc.st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(nc.x.non_canonical);
    CHECK(!nc.x.page_fault);
    pgtable_free(other);
}

/* Two walkers, four in flight: requests sent at the same local time issue
 * one per cycle and walk in parallel; a third to the first page merges. */
static void issue_together(Rig &r)
{
    r.map(0x10000000, 0x1234000, 12, F_USER);
    r.map(0x8000000000ull, 0x5678000, 12, F_USER);   /* another PML4 slot: no shared entry */
    sc_time d = sc_core::SC_ZERO_TIME;
    const mm_cycle c0 = r.now_cycle();
    r.cr3(pgtable_root(r.pt), 1, d);
    sc_time d1 = d, d2 = d, d3 = d;
    Out a = r.load(0x10000000, d1);
    Out b = r.load(0x8000000000ull, d2);
    Out c = r.load(0x10000008, d3);
    CHECK_EQ(a.x.issue, c0);
    CHECK_EQ(b.x.issue, c0 + 1);
    CHECK_EQ(c.x.issue, c0 + 2);
    CHECK_EQ(a.x.done, c0 + 889);
    CHECK_EQ(b.x.done, c0 + 1 + 889);
    CHECK(c.x.where == Where::Merged);
    CHECK_EQ(c.x.done, a.x.done);
    CHECK_EQ(c.x.pa, 0x1234008);
    CHECK_TIME(d1, ns(889));
    CHECK_TIME(d2, ns(890));
    CHECK_TIME(d3, ns(889));
}

/* ---- page tables in platform memory (the `mem` socket) ---- */

/* One 4-level path for va in the platform's RAM, tables at fixed frames:
 * PML4 at 0x100000, PDPT 0x101000, PD 0x102000, PT 0x103000.  Intermediate
 * entries without A, as an OS writes them. */
struct PlatformTables {
    static constexpr uint64_t root = 0x100000, l3 = 0x101000, l2 = 0x102000, l1 = 0x103000;
    static constexpr uint64_t up = PTE_P | PTE_RW | PTE_US;
    const paging_mode *m;
    PlatformRam &ram;

    PlatformTables(Rig &r) : m(cfg_mode(&r.mmu.config())), ram(r.ram()) {}
    uint64_t slot(uint64_t table, unsigned level, uint64_t va) const { return table + 8 * paging_index(m, level, va); }
    /* Map va's 4 KiB page to frame pa (re-writing the upper entries too). */
    void map(uint64_t va, uint64_t pa, uint64_t flags = up)
    {
        ram.put64(slot(root, 4, va), l3 | up);
        ram.put64(slot(l3, 3, va), l2 | up);
        ram.put64(slot(l2, 2, va), l1 | up);
        ram.put64(slot(l1, 1, va), pa | flags);
    }
};

enum : unsigned { PREAD = 40, PRMW = 40 + 20 };

/* Walks read the platform's entries over `mem`; A/D bits are written back
 * to it; hits do not touch it; the debug walk reads it by debug transport
 * only; an error response is reported as mem_error. */
static void platform_walk(Rig &r)
{
    PlatformTables t(r);
    const uint64_t va = 0x10000abc, va2 = 0x10001000;
    t.map(va, 0x7777000);
    t.map(va2, 0x5555000);
    sc_time d = sc_core::SC_ZERO_TIME;
    CHECK_EQ(r.cr3(t.root, 1, d).st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(r.ram().total(), 0);

    Out a = r.load(va, d);
    CHECK_EQ(a.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(a.x.pa, 0x7777abc);
    CHECK(a.x.where == Where::Walk);
    CHECK_EQ(a.x.latency(), MISS + PWC + 4 * PREAD + 4 * PRMW);   /* 409 */
    CHECK_TIME(d, ns(409));
    CHECK_EQ(r.ram().reads, 8);
    CHECK_EQ(r.ram().writes, 4);
    /* The A bits are in the platform's memory, on each entry of the path. */
    CHECK_EQ(r.ram().get64(t.slot(t.root, 4, va)), t.l3 | t.up | PTE_A);
    CHECK_EQ(r.ram().get64(t.slot(t.l3, 3, va)), t.l2 | t.up | PTE_A);
    CHECK_EQ(r.ram().get64(t.slot(t.l2, 2, va)), t.l1 | t.up | PTE_A);
    CHECK_EQ(r.ram().get64(t.slot(t.l1, 1, va)), 0x7777000 | t.up | PTE_A);
    CHECK_EQ(r.ram().written.size(), 4);
    if (r.ram().written.size() == 4)
        CHECK_EQ(r.ram().written[3], t.slot(t.l1, 1, va));   /* top-down, as the walk updates */

    /* A hit: no transaction. */
    Out b = r.load(va, d);
    CHECK(b.x.where == Where::L1Hit);
    CHECK_EQ(b.x.pa, 0x7777abc);
    CHECK_EQ(r.ram().total(), 12);

    /* A store re-walks for D: PWC hit, the PTE read and its locked update. */
    Out s = r.store(va, d);
    CHECK_EQ(s.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(s.x.latency(), L1 + PWC + PREAD + PRMW);   /* 102 */
    CHECK_EQ(r.ram().get64(t.slot(t.l1, 1, va)), 0x7777000 | t.up | PTE_A | PTE_D);
    CHECK_EQ(r.ram().reads, 10);
    CHECK_EQ(r.ram().writes, 5);

    /* transport_dbg reads the platform by debug transport only, and sets
     * no A bit there. */
    const unsigned before = r.ram().total();
    Out g = r.xlate(va2, TLM_READ_COMMAND, d, MM_USER, false, true);
    CHECK_EQ(g.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(g.x.pa, 0x5555000);
    CHECK_EQ(r.ram().total(), before);
    CHECK_EQ(r.ram().dbg, 4);
    CHECK_EQ(r.ram().get64(t.slot(t.l1, 1, va2)), 0x5555000 | t.up);

    /* The real access: the PD entry is in the PWC (A already set). */
    Out c = r.load(va2, d);
    CHECK_EQ(c.x.pa, 0x5555000);
    CHECK_EQ(c.x.latency(), MISS + PWC + PREAD + PRMW);   /* 109 */
    CHECK_EQ(r.ram().get64(t.slot(t.l1, 1, va2)), 0x5555000 | t.up | PTE_A);

    /* A PT outside the platform's RAM: the read is answered with an error. */
    const uint64_t bad = 0x10200000;   /* another PD slot */
    r.ram().put64(t.slot(t.l2, 2, bad), 0x20000000 | t.up);
    Out e = r.load(bad, d);
    CHECK_EQ(e.st, tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(e.x.mem_error);
    CHECK(!e.x.page_fault);
    CHECK_EQ(r.counter("walker.walks"), 4);
}

/* The OS changes an entry in platform memory: the TLB keeps the old
 * translation until INVLPG, then the walk reads the new entry. */
static void platform_invlpg(Rig &r)
{
    PlatformTables t(r);
    const uint64_t va = 0x10000abc;
    t.map(va, 0x7777000);
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(t.root, 1, d);
    CHECK_EQ(r.load(va, d).x.pa, 0x7777abc);

    r.ram().put64(t.slot(t.l1, 1, va), 0x8888000 | t.up);
    Out stale = r.load(va, d);
    CHECK(stale.x.where == Where::L1Hit);
    CHECK_EQ(stale.x.pa, 0x7777abc);

    CHECK_EQ(r.ctl(XlateOp::Invlpg, va, d).st, tlm::TLM_OK_RESPONSE);
    const unsigned before = r.ram().reads;
    Out a = r.load(va, d);
    CHECK_EQ(a.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(a.x.pa, 0x8888abc);
    CHECK_EQ(a.x.latency(), MISS + PWC + 4 * PREAD + PRMW);   /* 229 */
    CHECK_EQ(r.ram().reads - before, 5);
    CHECK_EQ(r.ram().get64(t.slot(t.l1, 1, va)), 0x8888000 | t.up | PTE_A);

    /* Unmapped: the next walk after INVLPG faults, and writes nothing. */
    r.ram().put64(t.slot(t.l1, 1, va), 0);
    r.ctl(XlateOp::Invlpg, va, d);
    const unsigned writes = r.ram().writes;
    Out f = r.load(va, d);
    CHECK_EQ(f.st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(f.x.page_fault);
    CHECK(!f.x.mem_error);
    CHECK_EQ(f.x.error_code, PF_US);
    CHECK_EQ(f.x.latency(), MISS + PWC + 4 * PREAD);   /* 169 */
    CHECK_EQ(r.ram().writes, writes);
}

/* A platform latency that is not a whole number of cycles rounds up. */
static void platform_4ghz(Rig &r)
{
    PlatformTables t(r);
    const uint64_t va = 0x10000abc;
    t.map(va, 0x7777000);
    r.ram().latency = sc_time(10100, SC_PS);   /* 40.4 cycles of 250 ps */
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(t.root, 1, d);
    Out a = r.load(va, d);
    CHECK_EQ(a.x.pa, 0x7777abc);
    CHECK_EQ(a.x.latency(), MISS + PWC + 4 * 41 + 4 * (41 + 20));   /* 417 */
    CHECK_TIME(d, sc_time(417 * 250.0, SC_PS));
}

/* A PTE cache (pwc.design: pte) keeps tags only, as in the C model: its
 * hits cost the PWC latency, send nothing on the bus and read the entry's
 * value by debug transport; INVLPG finds the entries to drop the same way.
 *   cold walk, no A set: 8 + 4 x 40 + 4 x (40 + 20)                    = 408
 *   a page under the same PT: 3 hits x 1 + 40 + (40 + 20) for its A     = 111
 *   after INVLPG of it, A bits set: a full walk 8 + 4 x 40               = 168 */
static void platform_pte_cache(Rig &r)
{
    PlatformTables t(r);
    const uint64_t va = 0x10000abc, va2 = 0x10001000;
    t.map(va, 0x7777000);
    t.map(va2, 0x5555000);
    sc_time d = sc_core::SC_ZERO_TIME;
    r.cr3(t.root, 1, d);
    Out a = r.load(va, d);
    CHECK_EQ(a.x.latency(), MISS + 4 * PREAD + 4 * PRMW);
    CHECK_EQ(r.ram().reads, 8);
    CHECK_EQ(r.ram().dbg, 0);
    Out b = r.load(va2, d);
    CHECK_EQ(b.st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(b.x.pa, 0x5555000);
    CHECK_EQ(b.x.latency(), MISS + 3 * PWC + PREAD + PRMW);
    CHECK_EQ(r.ram().reads, 10);
    CHECK_EQ(r.ram().writes, 5);
    CHECK_EQ(r.ram().dbg, 3);
    CHECK_EQ(r.counter("pwc.pte_cache.hits"), 3);
    CHECK_EQ(r.ctl(XlateOp::Invlpg, va2, d).st, tlm::TLM_OK_RESPONSE);
    CHECK_EQ(r.ram().dbg, 3 + 4);
    Out c = r.load(va2, d);
    CHECK_EQ(c.x.latency(), MISS + 4 * PREAD);
    CHECK_EQ(r.ram().reads, 14);
    CHECK_EQ(r.counter("pwc.pte_cache.hits"), 3);
}

/* ---- the runner ---- */

struct Case {
    const char *name;
    void (*fn)(Rig &);
    sc_time period;
    std::vector<std::string> sets;
    bool platform = false;   /* page tables behind `mem` */
};

struct Runner : sc_core::sc_module {
    std::vector<Case> cases;
    std::vector<std::unique_ptr<Rig>> rigs;
    unsigned passed = 0, failed = 0;

    SC_HAS_PROCESS(Runner);
    Runner(sc_core::sc_module_name n, std::vector<Case> c) : sc_module(n), cases(std::move(c))
    {
        for (const Case &k : cases)
            rigs.push_back(std::make_unique<Rig>(k.name, k.period, k.sets, k.platform));
        SC_THREAD(run);
    }

    void run()
    {
        for (size_t i = 0; i < cases.size(); i++) {
            /* Each case starts on a fresh slot boundary, a multiple of every
             * period used. */
            sc_core::wait(sc_time(100.0 * (double)(i + 1), SC_US) - sc_core::sc_time_stamp());
            g_case_failures = 0;
            cases[i].fn(*rigs[i]);
            std::printf("[%s] tlm::%s\n", g_case_failures ? "FAIL" : "PASS", cases[i].name);
            (g_case_failures ? failed : passed)++;
        }
    }
};

int sc_main(int, char *[])
{
    const sc_time ghz(1, SC_NS);
    Runner runner("tlm", {
        {"walk_then_hits", walk_then_hits, ghz, {}},
        {"page_2m", page_2m, ghz, {}},
        {"not_present_then_retry", not_present_then_retry, ghz, {}},
        {"protection_faults", protection_faults, ghz, {}},
        {"clock_4ghz", clock_4ghz, sc_time(250, SC_PS), {}},
        {"debug_transport", debug_transport, ghz, {}},
        {"ptmem_tables", ptmem_tables, ghz, {}},
        {"control_ops", control_ops, ghz, {}},
        {"issue_together", issue_together, ghz, {"frontend.max_outstanding=4", "walker.walkers=2"}},
        {"platform_walk", platform_walk, ghz, {}, true},
        {"platform_invlpg", platform_invlpg, ghz, {}, true},
        {"platform_4ghz", platform_4ghz, sc_time(250, SC_PS), {}, true},
        {"platform_pte_cache", platform_pte_cache, ghz, {"pwc.design=pte", "pwc.unified.ways=4"}, true},
    });
    sc_core::sc_start();
    unsigned total = (unsigned)runner.cases.size();
    unsigned ran = runner.passed + runner.failed;
    std::printf("[====] tlm: Tested: %u | Passing: %u | Failing: %u\n", total, runner.passed, total - runner.passed);
    return ran == total && runner.failed == 0 ? 0 : 1;
}
