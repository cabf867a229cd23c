// cosim_core.cpp -- the RTL-vs-C cross-check engine (see cosim_core.h).
//
// Per cycle the engine drives the walker's inputs (the offered request, the
// memory's ready and response, a flush command or a debug-port address) and
// samples its outputs: a request handshake is checked against the C walk's
// start cycle, each memory handshake against the C walk's next access
// (address, kind, write data, issue cycle), each response against the C
// result and end cycle; a C walk whose next access or end has passed
// without the RTL doing it is a mismatch too.  Requests are given to the C
// walker in the cycle they are first offered (R), so both sides see the
// same requests at the same cycles.
//
// At idle points (every ~event_every walks) the engine waits for idle_o,
// reads every page-walk-cache entry through the debug port, compares them
// with the C caches, then changes control bits, ages A/D bits, and issues
// one flush command to both sides, and compares the caches again.
#include "cosim_core.h"

#include <algorithm>
#include <cinttypes>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

extern "C" {
#include "mmusim/trace.h"
}

namespace mmucosim {

namespace {

constexpr uint64_t kAllocBase = 1ull << 20;    // table frames: [1 MiB, 1 MiB + 512 MiB)
constexpr uint64_t kAllocSize = 512ull << 20;
constexpr uint64_t kAD = PTE_A | PTE_D;

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

const char *kind_name(unsigned k)
{
    return k == MM_LOAD ? "load" : k == MM_STORE ? "store" : k == MM_IFETCH ? "fetch" : "?";
}

unsigned fold(uint64_t e, unsigned perm)
{
    if (!(e & PTE_RW))
        perm &= ~TLB_W;
    if (!(e & PTE_US))
        perm &= ~TLB_U;
    if (e & PTE_XD)
        perm &= ~TLB_X;
    return perm;
}

uint64_t parse_u64(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (!*v || *end || errno || v[0] == '-')
        throw std::runtime_error(fmt("%s: not a number: '%s'", opt, v));
    return x;
}

// A number in lo..hi.
unsigned parse_range(const char *opt, const char *v, unsigned lo, unsigned hi)
{
    uint64_t x = parse_u64(opt, v);
    if (x < lo || x > hi)
        throw std::runtime_error(std::string(opt) + ": must be " + std::to_string(lo) + ".." + std::to_string(hi));
    return (unsigned)x;
}

double parse_double(const char *opt, const char *v)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end)
        throw std::runtime_error(fmt("%s: not a number: '%s'", opt, v));
    return x;
}

}  // namespace

// COSIM_TRACE_ADDR=0x...: print every access of both sides to that entry
// (a debugging aid; 0 when unset).
uint64_t trace_addr()
{
    static const uint64_t a = getenv("COSIM_TRACE_ADDR") ? strtoull(getenv("COSIM_TRACE_ADDR"), nullptr, 0) : 0;
    return a;
}

// ---- options ------------------------------------------------------------------

int parse_options(int argc, char **argv, Options *o, const char *prog)
{
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&]() -> const char * {
            if (i + 1 >= argc)
                throw std::runtime_error(a + ": needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::printf(
                "usage: %s [--walks N] [--seed S] [--stall P] [--window W] [--delay D]\n"
                "       [--trace FILE.trace.zst] [--wave FILE.fst] [--event-every N]\n"
                "       [--no-guard] [--bench] [--quiet]\n"
                "Runs the Verilated RTL walker and the C walker on the same page tables,\n"
                "requests and memory schedule and compares every walk (rtl/README.md).\n"
                "  --walks N        walks to compare (default 100000; trace: at most N)\n"
                "  --seed S         seed of the world, the requests and the schedule (default 1)\n"
                "  --stall P        probability the memory is not ready in a cycle (default 0.1)\n"
                "  --window W       latency window in cycles (default 8)\n"
                "  --delay D        latency delay in windows, >= 1 (default 1)\n"
                "  --trace FILE     walk the load/store/fetch addresses of an mmusim trace\n"
                "  --wave FILE      waveform written on a mismatch (default rtl-mismatch.fst)\n"
                "  --event-every N  mean walks between idle points: flushes, control changes\n"
                "  --no-guard       offer requests without the A/D hazard guard (README)\n"
                "  --bench          print walks/s and simulated cycles/s\n"
                "  --quiet          print only the summary line (and a mismatch report)\n"
                "Exit status: 0 pass, 1 mismatch or empty coverage bin, 2 bad arguments.\n",
                prog);
            return 1;
        } else if (a == "--walks") {
            o->walks = parse_u64("--walks", val());
            if (o->walks == 0)
                throw std::runtime_error("--walks: must be at least 1");
        } else if (a == "--seed") {
            o->seed = parse_u64("--seed", val());
        } else if (a == "--stall") {
            o->stall = parse_double("--stall", val());
            if (!(o->stall >= 0 && o->stall <= 0.9))
                throw std::runtime_error("--stall: must be between 0 and 0.9");
        } else if (a == "--window") {
            o->window = parse_range("--window", val(), 1, 4096);
        } else if (a == "--delay") {
            o->delay = parse_range("--delay", val(), 1, 64);
        } else if (a == "--trace") {
            o->trace = val();
        } else if (a == "--wave") {
            o->wave = val();
        } else if (a == "--event-every") {
            o->event_every = parse_range("--event-every", val(), 1, 1000000);
        } else if (a == "--no-guard") {
            o->guard = false;
        } else if (a == "--bench") {
            o->bench = true;
        } else if (a == "--quiet") {
            o->quiet = true;
        } else {
            throw std::runtime_error("unknown argument '" + a + "' (try --help)");
        }
    }
    return 0;
}

// ---- random numbers ---------------------------------------------------------

uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t Rng::next()
{
    s += 0x9e3779b97f4a7c15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// ---- schedule -------------------------------------------------------------------

Schedule::Schedule(uint64_t seed, double stall, unsigned window, unsigned delay)
    : seed_(mix64(seed ^ 0x5c4ed01e5c4ed01eull)), threshold_(0), w_(window), d_(delay)
{
    if (stall > 0)
        threshold_ = (uint64_t)(stall * 18446744073709551616.0);
}

bool Schedule::stalled(uint64_t c) const
{
    return threshold_ && mix64(seed_ ^ (c * 0xd6e8feb86659fd93ull)) < threshold_;
}

uint64_t Schedule::response(uint64_t a)
{
    uint64_t w = a / w_;
    Win &e = cache_[w % 16];
    if (e.w != w) {
        // Fisher-Yates from a stream seeded by the window number.
        e.w = w;
        e.perm.resize(w_);
        for (unsigned i = 0; i < w_; i++)
            e.perm[i] = i;
        Rng r(mix64(seed_ + w * 0x2545f4914f6cdd1dull));
        for (unsigned i = w_ - 1; i > 0; i--)
            std::swap(e.perm[i], e.perm[r.below(i + 1)]);
    }
    return (w + d_) * w_ + e.perm[a % w_];
}

// ---- the RTL side's memory --------------------------------------------------------

void MemPort::accept(uint64_t c, uint32_t id, const Op &op)
{
    uint64_t cur = physmem_read64(pm_, op.addr);
    if (trace_addr() && trace_addr() == op.addr)
        std::fprintf(stderr, "trace: cycle %" PRIu64 ": RTL id %u %s 0x%" PRIx64 ", image 0x%016" PRIx64 "\n", c, id,
                     op.write ? "update" : "read  ", op.addr, cur);
    if (op.write)
        physmem_write64(pm_, op.addr, cur | (op.wdata & kAD));
    uint64_t d = sched_->response(c);
    pending_[d] = Pending{id, cur, c};
    outstanding_.insert(c);
}

bool MemPort::respond(uint64_t c, uint32_t *id, uint64_t *rdata, bool *out_of_order)
{
    auto it = pending_.find(c);
    if (it == pending_.end())
        return false;
    *id = it->second.id;
    *rdata = it->second.rdata;
    *out_of_order = *outstanding_.begin() < it->second.accepted;
    outstanding_.erase(outstanding_.find(it->second.accepted));
    pending_.erase(it);
    return true;
}

// ---- the C walker on the same schedule ---------------------------------------------

CWalker::CWalker(const Params &p, Schedule *s, physmem *pm, const paging_mode *m) : sched_(s), m_(m), pm_(pm)
{
    pwc_cfg pc;
    std::memset(&pc, 0, sizeof pc);
    pc.design = PWC_SPLIT;
    pc.latency = p.pwc_latency;
    for (unsigned l = 2; l <= m->levels; l++) {
        pc.level[l].sets = 1;
        pc.level[l].ways = p.pwc_entries;
        pc.level[l].repl = REPL_LRU;
    }
    pwc_ = pwc_create(&pc, m);
    walker_cfg wc;
    std::memset(&wc, 0, sizeof wc);
    wc.walkers = p.num_walks;
    wc.merge = false;
    wc.pa_bits = p.pa_bits;
    wc.pwc_latency = p.pwc_latency;
    // The C side's image serves the values (an update is an OR into it, as
    // MemPort does for the RTL side); the schedule serves the latencies.
    walker_mem mem;
    std::memset(&mem, 0, sizeof mem);
    mem.read = [](void *ctx, uint64_t pa, unsigned, mm_cycle now, uint64_t *value, unsigned *src) -> unsigned {
        CWalker *c = static_cast<CWalker *>(ctx);
        *src = 0;
        *value = paging_read_entry(c->m_, c->pm_, pa);
        return c->step(pa, false, now);
    };
    mem.rmw = [](void *ctx, uint64_t pa, unsigned, mm_cycle now, uint64_t bits, uint64_t *old,
                 unsigned *src) -> unsigned {
        CWalker *c = static_cast<CWalker *>(ctx);
        *src = 0;
        *old = paging_read_entry(c->m_, c->pm_, pa);
        unsigned lat = c->step(pa, true, now);
        paging_write_entry(c->m_, c->pm_, pa, *old | bits);
        return lat;
    };
    mem.ctx = this;
    mem.last_issue = &CWalker::last_issue_cb;
    if (!pwc_)
        throw std::runtime_error("pwc_create failed");
    w_ = walker_create(&wc, m, pwc_, &mem);
    if (!w_)
        throw std::runtime_error("walker_create failed");
}

CWalker::~CWalker()
{
    walker_free(w_);
    pwc_free(pwc_);
}

unsigned CWalker::step(uint64_t pa, bool write, uint64_t now)
{
    uint64_t a = now;
    for (;; a++) {
        if (sched_->stalled(a)) {
            stall_waits++;
            continue;
        }
        if (reserved_.count(a)) {
            port_conflicts++;
            continue;
        }
        break;
    }
    reserved_.insert(a);
    last_ = a;
    if (trace_addr() && trace_addr() == pa)
        std::fprintf(stderr, "trace: cycle %" PRIu64 ": C   walk %s 0x%" PRIx64 ", image 0x%016" PRIx64 " (wanted from %" PRIu64 ")\n",
                     a, write ? "update" : "read  ", pa, physmem_read64(pm_, pa), now);
    Op op;
    op.addr = pa;
    op.write = write;
    op.cycle = a;
    ops_->push_back(op);
    return (unsigned)(sched_->response(a) + 1 - now);
}

mm_cycle CWalker::last_issue_cb(void *ctx)
{
    return static_cast<CWalker *>(ctx)->last_;
}

void CWalker::request(const walk_regs &regs, const walk_req &q, uint64_t when, walk_result *out,
                      std::vector<Op> *ops)
{
    // Every step of this and later walks is wanted at or after `when`.
    reserved_.erase(reserved_.begin(), reserved_.lower_bound(when));
    ops->clear();
    ops_ = ops;
    walker_request(w_, &regs, &q, when, out);
    ops_ = nullptr;
    unsigned j = 0;
    for (Op &op : *ops)
        if (op.write && j < out->nwrites)
            op.wdata = out->write[j++].value;
}

// ---- page-walk-cache contents ---------------------------------------------------------

bool PwcEntry::operator<(const PwcEntry &o) const
{
    if (level != o.level)
        return level < o.level;
    if (pcid != o.pcid)
        return pcid < o.pcid;
    if (va != o.va)
        return va < o.va;
    return table < o.table;
}

bool PwcEntry::operator==(const PwcEntry &o) const
{
    return level == o.level && pcid == o.pcid && va == o.va && table == o.table;
}

std::vector<PwcEntry> c_pwc_entries(pwc *c, const paging_mode *m)
{
    struct Ctx {
        const paging_mode *m;
        std::vector<PwcEntry> v;
    } ctx{m, {}};
    pwc_foreach(
        c,
        [](unsigned level, uint16_t pcid, uint64_t va, uint64_t entry, void *p) {
            Ctx *x = static_cast<Ctx *>(p);
            x->v.push_back(PwcEntry{level, pcid, va, paging_entry_addr(x->m, level, entry)});
        },
        &ctx);
    std::sort(ctx.v.begin(), ctx.v.end());
    return ctx.v;
}

// ---- static walks ---------------------------------------------------------------------

Path static_walk(const paging_mode *m, const physmem *pm, uint64_t root, uint64_t va, unsigned pa_bits)
{
    Path p;
    uint64_t table = root;
    for (unsigned l = m->levels; l >= 1; l--) {
        uint64_t addr = paging_entry_pa(m, l, table, va);
        uint64_t e = paging_read_entry(m, pm, addr);
        p.addr[p.n] = addr;
        p.entry[p.n] = e;
        p.lvl[p.n] = l;
        p.n++;
        p.level = l;
        if (!(e & PTE_P)) {
            p.end = Path::NotPresent;
            return p;
        }
        if (e & paging_rsvd_mask(m, l, e, pa_bits)) {
            p.end = Path::Reserved;
            return p;
        }
        if (paging_is_leaf(m, l, e)) {
            p.end = Path::Leaf;
            p.leaf = e;
            return p;
        }
        table = paging_entry_addr(m, l, e);
    }
    return p;
}

// ---- the world --------------------------------------------------------------------------

uint64_t World::alloc_cb(void *ctx)
{
    World *w = static_cast<World *>(ctx);
    uint64_t pa = physmem_alloc_frame(w->rtl_);
    if (pa != UINT64_MAX)
        w->frames_.push_back(pa);
    return pa;
}

void World::release_cb(void *ctx, uint64_t pa)
{
    World *w = static_cast<World *>(ctx);
    physmem_release_frame(w->rtl_, pa);
}

uint64_t World::canon(uint64_t va) const
{
    unsigned vb = m_->va_bits;
    return (uint64_t)((int64_t)(va << (64 - vb)) >> (64 - vb));
}

World::World(const Params &p, const paging_mode *m, physmem *rtl, physmem *c, uint64_t seed,
             const std::vector<std::pair<uint64_t, bool>> *trace_pages)
    : p_(p), m_(m), rtl_(rtl), c_(c)
{
    Rng rng(mix64(seed ^ 0x3017d0c5u));
    if (trace_pages)
        build_trace(*trace_pages);
    else
        build_random(rng);
}

World::~World()
{
    // The builder frees tables by following entries: undo the reserved
    // bits first (a table address above MAXPHYADDR is not in the image).
    for (const auto &p : rsvd_pokes_)
        physmem_write64(rtl_, p.first, p.second);
    for (pgtable *pt : pts_)
        pgtable_free(pt);
}

uint64_t World::root(unsigned as) const
{
    return pgtable_root(pts_[as]);
}

void World::map_leaf(Rng &rng, pgtable *pt, uint64_t va, unsigned shift, bool kernel, std::vector<Target> &out)
{
    uint64_t flags = 0;
    if (rng.chance(0.7))
        flags |= PTE_RW;
    if (rng.chance(kernel ? 0.1 : 0.9))
        flags |= PTE_US;
    if (rng.chance(0.25))
        flags |= PTE_XD;
    if (rng.chance(0.15))
        flags |= PTE_G;
    if (rng.chance(0.5)) {
        flags |= PTE_A;
        if (rng.chance(0.5))
            flags |= PTE_D;
    }
    uint64_t pa = (rng.next() & ((1ull << p_.pa_bits) - 1)) & ~((1ull << shift) - 1);
    pgtable_err e = pgtable_map(pt, canon(va), pa, 1ull << shift, shift, flags);
    if (e != PGT_OK)
        throw std::runtime_error(fmt("page-table builder: %s", pgtable_strerror(e)));
    unsigned level = shift == 12 ? 1 : shift == 21 ? 2 : 3;
    out.push_back(Target{canon(va), shift, Mapped, level});
}

// Map a random subtree below `base` (whose level-`level` table is being
// filled): a few entries per level, each a large page (levels 3 and 2) or
// a table of smaller ones.
void World::build_subtree(Rng &rng, pgtable *pt, unsigned level, uint64_t base, bool kernel, std::vector<Target> &out)
{
    unsigned n = level == 1 ? 4 + (unsigned)rng.below(13) : level == 2 ? 3 + (unsigned)rng.below(2) : 2 + (unsigned)rng.below(2);
    std::set<unsigned> idx;
    unsigned first = (unsigned)rng.below(512);
    while (idx.size() < n) {
        // Neighbours and strangers: walks of nearby pages share upper entries.
        unsigned i = rng.chance(0.5) ? (first + (unsigned)rng.below(8)) % 512 : (unsigned)rng.below(512);
        idx.insert(i);
    }
    for (unsigned i : idx) {
        uint64_t va = base | ((uint64_t)i << m_->shift[level]);
        if (level == 3 && rng.chance(0.3))
            map_leaf(rng, pt, va, 30, kernel, out);
        else if (level == 2 && rng.chance(0.3))
            map_leaf(rng, pt, va, 21, kernel, out);
        else if (level == 1)
            map_leaf(rng, pt, va, 12, kernel, out);
        else
            build_subtree(rng, pt, level - 1, va, kernel, out);
    }
}

void World::build_random(Rng &rng)
{
    const unsigned top = m_->levels;
    const unsigned half = 1u << (m_->idx_bits[top] - 1);
    const unsigned spaces = 3;
    pgtable_alloc alloc{alloc_cb, release_cb, this};
    by_as_.assign(spaces, std::vector<std::vector<Target>>(NumClasses));

    for (unsigned as = 0; as < spaces; as++) {
        pgtable *pt = pgtable_create(m_, rtl_, &alloc);
        if (!pt)
            throw std::runtime_error("pgtable_create failed");
        pts_.push_back(pt);
        std::vector<Target> mapped, np, rsvd;

        // Top-level slots: two user, one kernel.
        std::set<unsigned> tops;
        tops.insert((unsigned)rng.below(4));
        while (tops.size() < 2)
            tops.insert((unsigned)rng.below(half));
        unsigned ktop = half + (unsigned)rng.below(half);
        tops.insert(ktop);
        for (unsigned t : tops)
            build_subtree(rng, pt, top - 1, (uint64_t)t << m_->shift[top], t >= half, mapped);

        // Reserved bits at every level, each in a subtree of its own: the
        // poked entry must have been absent before its mapping was made.
        unsigned rsvd_top = 0;
        do
            rsvd_top = 4 + (unsigned)rng.below(half - 4);
        while (tops.count(rsvd_top));
        tops.insert(rsvd_top);
        const bool hi_ok = p_.pa_bits < 52;
        for (unsigned l = 1; l <= top; l++) {
            for (unsigned k = 0; k < 6; k++) {
                // Variants: 0 = a PA bit above MAXPHYADDR; 1 = the large-page
                // frame bits (levels 2, 3) or PS (levels 4, 5).
                unsigned variant = (k & 1) && l >= 2 ? 1 : 0;
                if (variant == 0 && !hi_ok) {
                    if (l < 2)
                        break;
                    variant = 1;
                }
                for (unsigned tries = 0; tries < 64; tries++) {
                    uint64_t va;
                    if (l == top) {
                        unsigned t = (unsigned)rng.below(half);
                        if (tops.count(t))
                            continue;
                        va = (uint64_t)t << m_->shift[top];
                        va |= rng.next() & ((1ull << m_->shift[top]) - 1) & ~0xfffull;
                    } else {
                        va = ((uint64_t)rsvd_top << m_->shift[top]) |
                             (rng.next() & ((1ull << m_->shift[top]) - 1) & ~0xfffull);
                    }
                    Path pre = static_walk(m_, rtl_, pgtable_root(pt), canon(va), p_.pa_bits);
                    if (pre.end != Path::NotPresent || pre.level < l)
                        continue;
                    unsigned shift = 12;
                    if (variant == 1 && l == 2)
                        shift = 21;
                    if (variant == 1 && l == 3)
                        shift = 30;
                    va &= ~((1ull << shift) - 1);
                    std::vector<Target> tmp;
                    map_leaf(rng, pt, va, shift, false, tmp);
                    if (l == top)
                        tops.insert((unsigned)((va >> m_->shift[top]) & ((1u << m_->idx_bits[top]) - 1)));
                    Path after = static_walk(m_, rtl_, pgtable_root(pt), canon(va), p_.pa_bits);
                    unsigned i = after.n - 1;
                    while (after.lvl[i] != l)
                        i--;
                    uint64_t bit;
                    if (variant == 0)
                        bit = 1ull << (p_.pa_bits + (unsigned)rng.below(52 - p_.pa_bits));
                    else if (l >= 4)
                        bit = PTE_PS;
                    else
                        bit = 1ull << (13 + (unsigned)rng.below(m_->shift[l] - 13));
                    physmem_write64(rtl_, after.addr[i], after.entry[i] | bit);
                    rsvd_pokes_.emplace_back(after.addr[i], after.entry[i]);
                    rsvd.push_back(Target{canon(va), shift, Reserved, l});
                    break;
                }
            }
        }

        // Not-present entries at every level: a mapped page's path with the
        // index at that level moved to an empty slot.
        for (unsigned l = 1; l <= top; l++) {
            for (unsigned k = 0, tries = 0; k < 6 && tries < 400; tries++) {
                uint64_t va;
                if (l == top) {
                    va = ((uint64_t)rng.below(1u << m_->idx_bits[top]) << m_->shift[top]) |
                         (rng.next() & ((1ull << m_->shift[top]) - 1) & ~0xfffull);
                } else {
                    const Target &t = mapped[rng.below(mapped.size())];
                    if (t.level > l)
                        continue;
                    va = (t.va & ~(511ull << m_->shift[l])) | (rng.below(512) << m_->shift[l]);
                    va &= ~0xfffull;
                }
                Path pw = static_walk(m_, rtl_, pgtable_root(pt), canon(va), p_.pa_bits);
                if (pw.end == Path::NotPresent && pw.level == l) {
                    np.push_back(Target{canon(va), 12, NotPresent, l});
                    k++;
                }
            }
        }

        // Restricted upper levels: some PDPTEs and PDEs lose R/W or U/S or
        // gain XD (the builder makes them permissive, as Linux does).  Not
        // the top levels: their entries cover most of the world.
        for (unsigned k = 0; k < mapped.size() / 16 + 1; k++) {
            const Target &t = mapped[rng.below(mapped.size())];
            Path pw = static_walk(m_, rtl_, pgtable_root(pt), t.va, p_.pa_bits);
            std::vector<unsigned> upper;
            for (unsigned i = 0; i + 1 < pw.n; i++)
                if (pw.lvl[i] == 2 || pw.lvl[i] == 3)
                    upper.push_back(i);
            if (upper.empty())
                continue;
            unsigned i = upper[rng.below(upper.size())];
            uint64_t e = pw.entry[i];
            switch (rng.below(3)) {
            case 0: e &= ~PTE_RW; break;
            case 1: e &= ~PTE_US; break;
            default: e |= PTE_XD; break;
            }
            physmem_write64(rtl_, pw.addr[i], e);
        }

        // Keep the targets that still end as they were built to.
        auto keep = [&](std::vector<Target> &v, Class c) {
            for (const Target &t : v) {
                Path pw = static_walk(m_, rtl_, pgtable_root(pt), t.va, p_.pa_bits);
                bool ok = c == Mapped ? pw.end == Path::Leaf
                          : c == NotPresent ? pw.end == Path::NotPresent && pw.level == t.level
                                            : pw.end == Path::Reserved && pw.level == t.level;
                if (ok)
                    by_as_[as][c].push_back(t);
            }
        };
        keep(mapped, Mapped);
        keep(np, NotPresent);
        keep(rsvd, Reserved);
        if (by_as_[as][Mapped].empty())
            throw std::runtime_error("world: no mapped page");
    }

    copy_to_c();
}

void World::build_trace(const std::vector<std::pair<uint64_t, bool>> &pages)
{
    pgtable_alloc alloc{alloc_cb, release_cb, this};
    by_as_.assign(1, std::vector<std::vector<Target>>(NumClasses));
    pgtable *pt = pgtable_create(m_, rtl_, &alloc);
    if (!pt)
        throw std::runtime_error("pgtable_create failed");
    pts_.push_back(pt);
    Rng rng(0x7ace);
    for (const auto &pg : pages) {
        uint64_t flags = PTE_RW | (pg.second ? PTE_US : 0);
        uint64_t pa = (rng.next() & ((1ull << p_.pa_bits) - 1)) & ~0xfffull;
        pgtable_err e = pgtable_map(pt, pg.first, pa, 4096, 12, flags);
        if (e != PGT_OK)
            throw std::runtime_error(fmt("page-table builder: 0x%" PRIx64 ": %s", pg.first, pgtable_strerror(e)));
        by_as_[0][Mapped].push_back(Target{pg.first, 12, Mapped, 1});
    }
    copy_to_c();
}

// The C side gets a copy of the tables; present entries are remembered for
// aging.
void World::copy_to_c()
{
    for (uint64_t f : frames_)
        for (uint64_t off = 0; off < 4096; off += 8) {
            uint64_t v = physmem_read64(rtl_, f + off);
            physmem_write64(c_, f + off, v);
            if (v & PTE_P)
                entries_.push_back(f + off);
        }
}

void World::age(Rng &rng, double share)
{
    for (uint64_t a : entries_) {
        if (!rng.chance(share))
            continue;
        physmem_write64(rtl_, a, physmem_read64(rtl_, a) & ~kAD);
        physmem_write64(c_, a, physmem_read64(c_, a) & ~kAD);
    }
}

// ---- coverage ---------------------------------------------------------------------------

void Coverage::add(const std::string &name)
{
    if (!count_.count(name)) {
        order_.push_back(name);
        count_[name] = 0;
    }
}

void Coverage::hit(const std::string &name, uint64_t n)
{
    auto it = count_.find(name);
    if (it != count_.end())
        it->second += n;
}

unsigned Coverage::empty() const
{
    unsigned n = 0;
    for (const auto &kv : count_)
        n += kv.second == 0;
    return n;
}

void Coverage::print(std::FILE *f) const
{
    std::fprintf(f, "coverage bins:\n");
    unsigned col = 0;
    for (const std::string &name : order_) {
        uint64_t n = count_.at(name);
        std::fprintf(f, "  %-22s %10" PRIu64 "%s", name.c_str(), n, n ? "  " : " !");
        if (++col % 3 == 0)
            std::fprintf(f, "\n");
    }
    if (col % 3)
        std::fprintf(f, "\n");
}

// ---- the engine -------------------------------------------------------------------------

struct Cosim::Walk {
    uint64_t seq = 0;
    uint32_t id = 0;
    walk_req req{};
    walk_regs regs{};
    uint64_t R = 0;
    uint64_t accepted = UINT64_MAX;
    bool waited = false;
    walk_result c{};
    std::vector<Op> c_ops, rtl_ops;
    bool responded = false;
    uint64_t rsp_cycle = 0;
    PinsOut rsp{};
    Path path;               // the guard's view of the walk (see guard_ok)
    uint64_t path_root = 0;
    bool path_valid = false;
};

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
    pm_rtl_ = physmem_create(p.pa_bits, kAllocBase, kAllocBase + kAllocSize);
    pm_c_ = physmem_create(p.pa_bits, kAllocBase, kAllocBase + kAllocSize);
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
    if (!o.trace.empty()) {
        // Requests: the trace's accesses, without back-to-back repeats of
        // one page, kind and privilege (a TLB would hit those).
        char err[512];
        trace_reader *tr = trace_reader_open(o.trace.c_str(), err, sizeof err);
        if (!tr)
            throw std::runtime_error(err);
        trace_rec r;
        int rc;
        std::set<uint64_t> seen;
        uint64_t last_page = UINT64_MAX;
        unsigned last_kind = 9, last_priv = 9;
        while (trace_.size() < o.walks && (rc = trace_next(tr, &r)) == 1) {
            if (r.kind != TR_ACCESS || !paging_va_ok(m_, r.va) || r.acc > MM_IFETCH)
                continue;
            uint64_t page = r.va & ~0xfffull;
            if (page == last_page && r.acc == last_kind && r.priv == last_priv)
                continue;
            last_page = page;
            last_kind = r.acc;
            last_priv = r.priv;
            trace_.push_back(TraceReq{r.va, r.acc, r.priv});
            if (seen.insert(page).second)
                pages.emplace_back(page, (int64_t)page >= 0);
        }
        if (rc < 0) {
            std::string e = trace_reader_error(tr);
            trace_reader_close(tr);
            throw std::runtime_error(e);
        }
        trace_reader_close(tr);
        if (trace_.empty())
            throw std::runtime_error(o.trace + ": no accesses to walk");
    }
    world_.reset(new World(p, m_, pm_rtl_, pm_c_, o.seed, o.trace.empty() ? nullptr : &pages));
    sched_rtl_.reset(new Schedule(o.seed, o.stall, o.window, o.delay));
    sched_c_.reset(new Schedule(o.seed, o.stall, o.window, o.delay));
    mem_.reset(new MemPort(sched_rtl_.get(), pm_rtl_));
    cw_.reset(new CWalker(p, sched_c_.get(), pm_c_, m_));
    by_id_.resize(1u << p.id_width);

    // Coverage bins (only those this configuration can reach).
    const unsigned L = p.levels;
    for (unsigned l = 1; l <= L; l++)
        cov_.add(fmt("walk.level%u", l));
    cov_.add("page.4k");
    cov_.add("page.2m");
    cov_.add("page.1g");
    for (unsigned l = 1; l <= L; l++)
        cov_.add(fmt("np.l%u", l));
    for (unsigned l = p.pa_bits < 52 ? 1 : 2; l <= L; l++)
        cov_.add(fmt("rsvd.l%u", l));
    cov_.add("rsvd.large.l2");
    cov_.add("rsvd.large.l3");
    for (unsigned l = 4; l <= L; l++)
        cov_.add(fmt("rsvd.ps.l%u", l));
    for (const char *b : {"perm.user_sup", "perm.user_write_ro", "perm.user_fetch_xd", "perm.sup_fetch_xd",
                          "perm.smep", "perm.wp_write", "perm.smap", "perm.nowp_write_ok", "perm.smap_ac_ok",
                          "perm.upper_level", "ad.a", "ad.d"})
        cov_.add(b);
    for (unsigned l = 2; l <= L; l++)
        cov_.add(fmt("pwc.hit.l%u", l));
    cov_.add("pwc.miss");
    for (const char *b : {"flush.cr3_nopcid", "flush.cr3_pcid", "flush.cr3_noflush", "flush.invlpg", "flush.all"})
        cov_.add(b);
    cov_.add("cont.slots_full");
    if (p.num_walks > 1) {
        cov_.add("cont.port_conflict");
        cov_.add("cont.same_page");
        if (o.window > 1)
            cov_.add("cont.ooo_rsp");
    }
    if (o.stall > 0)
        cov_.add("cont.stall");

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

// The next request (random or from the trace), not yet offered.
void Cosim::next_request()
{
    next_.reset();
    if (seq_ >= o_.walks || (!trace_.empty() && trace_pos_ >= trace_.size()))
        return;
    std::unique_ptr<Walk> w(new Walk);
    w->seq = seq_++;
    uint64_t gap;
    if (!trace_.empty()) {
        const TraceReq &t = trace_[trace_pos_++];
        w->req.va = t.va;
        w->req.kind = (mm_kind)t.kind;
        w->req.priv = (mm_priv)t.priv;
        gap = rng_.chance(0.7) ? 0 : rng_.below(12);
    } else {
        uint64_t va;
        if (burst_left_) {
            // A burst: several walks of one page back to back.
            burst_left_--;
            va = (burst_va_ & ~0xfffull) | (rng_.below(512) << 3);
            gap = 0;
        } else {
            const auto &mapped = world_->targets(as_, World::Mapped);
            const auto &np = world_->targets(as_, World::NotPresent);
            const auto &rs = world_->targets(as_, World::Reserved);
            double u = (double)rng_.below(1000) / 1000.0;
            const Target *t;
            if (u < 0.08 && !np.empty())
                t = &np[rng_.below(np.size())];
            else if (u < 0.16 && !rs.empty())
                t = &rs[rng_.below(rs.size())];
            else
                t = &mapped[rng_.below(mapped.size())];
            va = t->va | (rng_.next() & ((1ull << t->shift) - 1));
            if (!recent_.empty() && rng_.chance(0.3))
                va = recent_[rng_.below(recent_.size())] | (rng_.below(4096));
            if (rng_.chance(0.04)) {
                burst_left_ = 1 + (unsigned)rng_.below(4);
                burst_va_ = va;
            }
            double g = (double)rng_.below(1000) / 1000.0;
            gap = g < 0.5 ? 0 : g < 0.9 ? 1 + rng_.below(8) : 20 + rng_.below(120);
        }
        w->req.va = va;
        unsigned k = (unsigned)rng_.below(100);
        w->req.kind = k < 45 ? MM_LOAD : k < 80 ? MM_STORE : MM_IFETCH;
        bool kernel = (int64_t)va < 0;
        w->req.priv = rng_.chance(kernel ? 0.1 : 0.75) ? MM_USER : MM_SUPERVISOR;
        w->regs.ac = rng_.chance(0.5);
        if (recent_.size() < 16)
            recent_.push_back(va & ~0xfffull);
        else
            recent_[rng_.below(16)] = va & ~0xfffull;
    }
    next_offer_ = cycle_ + gap;
    next_ = std::move(w);
}

// The A/D hazard guard (rtl/README.md): hold a request whose walk may set
// an A or D bit in an entry that an older walk still in flight reads later.
// The C walker computes walks in request order and cannot let an older walk
// see a younger walk's update; the RTL would.
bool Cosim::guard_ok(Walk &w)
{
    if (!o_.guard || in_flight_ == 0)
        return true;
    // The path's addresses stay while the root does (tables never move);
    // the A/D bits are read afresh each cycle.
    if (!w.path_valid || w.path_root != regs_.root) {
        w.path = static_walk(m_, pm_rtl_, regs_.root, w.req.va, p_.pa_bits);
        w.path_root = regs_.root;
        w.path_valid = true;
    }
    const Path &pw = w.path;
    for (unsigned i = 0; i < pw.n; i++) {
        uint64_t want = PTE_A;
        if (i == pw.n - 1 && w.req.kind == MM_STORE)
            want |= PTE_D;
        if ((physmem_read64(pm_rtl_, pw.addr[i]) & want) == want)
            continue;
        for (const auto &o : by_id_) {
            if (!o)
                continue;
            for (const Op &op : o->c_ops)
                if (!op.write && op.addr == pw.addr[i] && op.cycle >= cycle_)
                    return false;
        }
    }
    return true;
}

void Cosim::offer()
{
    if (!next_ || cycle_ < next_offer_)
        return;
    if (!guard_ok(*next_)) {
        guard_holds_++;
        return;
    }
    std::unique_ptr<Walk> w = std::move(next_);
    uint32_t id = 0;
    while (by_id_[id])
        id++;
    w->id = id;
    w->R = cycle_;
    bool ac = w->regs.ac;
    w->regs = regs_;
    w->regs.ac = ac;
    cw_->request(w->regs, w->req, w->R, &w->c, &w->c_ops);
    // Two walks of one page in flight at once.
    for (const auto &o : by_id_)
        if (o && o->regs.pcid == w->regs.pcid && (o->req.va >> 12) == (w->req.va >> 12))
            cov_.hit("cont.same_page");
    offered_ = w.get();
    by_id_[id] = std::move(w);
    in_flight_++;
    issued_++;
    if (until_event_)
        until_event_--;
    if (issued_ < o_.walks)
        next_request();
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

void Cosim::fail(const std::string &what, const Walk *w)
{
    if (mismatch_)
        return;
    mismatch_ = true;
    mismatch_cycle_ = cycle_;
    report_ = fmt("MISMATCH in cycle %" PRIu64 ": ", cycle_) + what + "\n";
    if (w)
        report_ += describe(*w);
    done_ = true;
}

std::string Cosim::describe(const Walk &w) const
{
    char ec[64];
    std::string s;
    s += fmt("  request #%" PRIu64 ": id %u va 0x%016" PRIx64 " %s %s ac=%d pcid %u\n", w.seq, w.id, w.req.va,
             kind_name(w.req.kind), w.req.priv == MM_USER ? "user" : "supervisor", w.regs.ac, w.regs.pcid);
    s += fmt("  control: root 0x%" PRIx64 " wp=%d smep=%d smap=%d pcide=%d\n", w.regs.root, w.regs.wp,
             w.regs.smep, w.regs.smap, pcide_);
    s += fmt("  offered in cycle %" PRIu64 " (R); C start %" PRIu64 ", RTL accepted ", w.R, w.c.start);
    s += w.accepted == UINT64_MAX ? std::string("-") : fmt("%" PRIu64, w.accepted);
    s += "\n";
    walker_ec_string(w.c.error_code, ec, sizeof ec);
    s += fmt("  C   result: end %" PRIu64 " (latency %" PRIu64 ") fault=%d ec=0x%02x (%s) level=%u leaf=0x%016" PRIx64
             " pa=0x%" PRIx64 " perm=0x%02x pwc_level=%u\n",
             w.c.end, w.c.end - w.R, w.c.fault, w.c.fault ? w.c.error_code : 0, w.c.fault ? ec : "-",
             w.c.fault ? w.c.fault_level : w.c.leaf_level, w.c.leaf, w.c.pa, w.c.perm, w.c.pwc_level);
    if (w.responded)
        s += fmt("  RTL result: end %" PRIu64 " (latency %" PRIu64 ") fault=%d ec=0x%02x level=%u leaf=0x%016" PRIx64
                 " pa=0x%" PRIx64 " perm=0x%02x pwc_level=%u\n",
                 w.rsp_cycle, w.rsp_cycle - w.R, w.rsp.rsp_fault, w.rsp.rsp_ec, w.rsp.rsp_level, w.rsp.rsp_leaf,
                 w.rsp.rsp_pa, w.rsp.rsp_perm, w.rsp.rsp_pwc_level);
    else
        s += "  RTL result: (none yet)\n";
    auto ops = [&](const char *who, const std::vector<Op> &v) {
        s += fmt("  %s accesses:", who);
        if (v.empty())
            s += " none";
        s += "\n";
        for (const Op &op : v) {
            if (op.write)
                s += fmt("    cycle %8" PRIu64 "  update 0x%012" PRIx64 " <- 0x%016" PRIx64 "\n", op.cycle, op.addr,
                         op.wdata);
            else
                s += fmt("    cycle %8" PRIu64 "  read   0x%012" PRIx64 "\n", op.cycle, op.addr);
        }
    };
    ops("C  ", w.c_ops);
    ops("RTL", w.rtl_ops);
    return s;
}

void Cosim::on_accept()
{
    if (!in_.req_valid || !offered_)
        return;
    Walk *w = offered_;
    if (!last_out_.req_ready) {
        w->waited = true;
        if (cycle_ >= w->c.start)
            fail(fmt("request not accepted; the C walker starts it in cycle %" PRIu64, w->c.start), w);
        return;
    }
    w->accepted = cycle_;
    offered_ = nullptr;
    if (w->waited)
        cov_.hit("cont.slots_full");
    if (cycle_ != w->c.start)
        fail(fmt("request accepted in cycle %" PRIu64 "; the C walker starts it in cycle %" PRIu64, cycle_, w->c.start),
             w);
}

void Cosim::on_mem(const PinsOut &out)
{
    if (!out.mem_req_valid || !in_.mem_req_ready)
        return;
    Op op;
    op.addr = out.mem_req_addr;
    op.write = out.mem_req_write;
    op.wdata = out.mem_req_write ? out.mem_req_wdata : 0;
    op.cycle = cycle_;
    Walk *w = out.mem_req_id < by_id_.size() ? by_id_[out.mem_req_id].get() : nullptr;
    if (!w || w->accepted == UINT64_MAX) {
        fail(fmt("memory request with id %u, which no walk in flight has (address 0x%" PRIx64 ")", out.mem_req_id,
                 op.addr),
             nullptr);
        return;
    }
    size_t k = w->rtl_ops.size();
    w->rtl_ops.push_back(op);
    mem_->accept(cycle_, out.mem_req_id, op);
    if (k >= w->c_ops.size()) {
        fail("the RTL makes a memory access the C walker does not", w);
        return;
    }
    const Op &c = w->c_ops[k];
    if (c.addr != op.addr || c.write != op.write || c.cycle != op.cycle || (c.write && c.wdata != op.wdata))
        fail(fmt("memory access %zu of the walk differs", k + 1), w);
}

void Cosim::on_rsp(const PinsOut &out)
{
    if (!out.rsp_valid)
        return;
    Walk *w = out.rsp_id < by_id_.size() ? by_id_[out.rsp_id].get() : nullptr;
    if (!w || w->accepted == UINT64_MAX) {
        fail(fmt("response with id %u, which no walk in flight has", out.rsp_id), nullptr);
        return;
    }
    w->responded = true;
    w->rsp_cycle = cycle_;
    w->rsp = out;
    const walk_result &c = w->c;
    std::string diff;
    if (cycle_ != c.end)
        diff += fmt(" end cycle (latency E-R: RTL %" PRIu64 ", C %" PRIu64 ")", cycle_ - w->R, c.end - w->R);
    if (w->rtl_ops.size() != w->c_ops.size())
        diff += fmt(" number of accesses (RTL %zu, C %zu)", w->rtl_ops.size(), w->c_ops.size());
    if (out.rsp_fault != c.fault)
        diff += " fault";
    if (out.rsp_fault && c.fault && out.rsp_ec != c.error_code)
        diff += " error code";
    if (out.rsp_level != (c.fault ? c.fault_level : c.leaf_level))
        diff += " level";
    if (out.rsp_leaf != c.leaf)
        diff += " leaf";
    if (out.rsp_pa != c.pa)
        diff += " pa";
    if (out.rsp_perm != c.perm)
        diff += " perm";
    if (out.rsp_pwc_level != c.pwc_level)
        diff += " pwc level";
    if (!diff.empty()) {
        fail("walk result differs:" + diff, w);
        return;
    }
    classify(*w);
    completed_++;
    faults_ += c.fault;
    by_id_[out.rsp_id].reset();
    in_flight_--;
}

void Cosim::classify(const Walk &w)
{
    const walk_result &c = w.c;
    for (unsigned i = 0; i < c.nsteps; i++)
        cov_.hit(fmt("walk.level%u", c.step[i].level));
    cov_.hit(c.pwc_level ? fmt("pwc.hit.l%u", c.pwc_level) : std::string("pwc.miss"));
    const bool user = w.req.priv == MM_USER, store = w.req.kind == MM_STORE, fetch = w.req.kind == MM_IFETCH;
    unsigned perm = c.pwc_level ? c.pwc_perm : (TLB_W | TLB_U | TLB_X);
    for (unsigned i = 0; i < c.nsteps; i++)
        if (c.step[i].entry & PTE_P)
            perm = fold(c.step[i].entry, perm);
    if (!c.fault) {
        cov_.hit(c.leaf_level == 1 ? "page.4k" : c.leaf_level == 2 ? "page.2m" : "page.1g");
        for (unsigned j = 0; j < c.nwrites; j++) {
            cov_.hit("ad.a");
            if (store && c.write[j].entry_pa == c.step[c.nsteps - 1].entry_pa && !(c.step[c.nsteps - 1].entry & PTE_D))
                cov_.hit("ad.d");
        }
        if (!user && store && !w.regs.wp && !(perm & TLB_W))
            cov_.hit("perm.nowp_write_ok");
        if (!user && !fetch && w.regs.smap && (perm & TLB_U) && w.regs.ac)
            cov_.hit("perm.smap_ac_ok");
        return;
    }
    const unsigned l = c.fault_level;
    const uint64_t e = c.step[c.nsteps - 1].entry;
    if (!(c.error_code & PF_P)) {
        cov_.hit(fmt("np.l%u", l));
    } else if (c.error_code & PF_RSVD) {
        cov_.hit(fmt("rsvd.l%u", l));
        if (l >= 4 && (e & PTE_PS))
            cov_.hit(fmt("rsvd.ps.l%u", l));
        if ((l == 2 || l == 3) && (e & PTE_PS) && (e & (((1ull << m_->shift[l]) - 1) & ~0x1fffull)))
            cov_.hit(fmt("rsvd.large.l%u", l));
    } else {
        // Which rule of walk_perm_fault fired (first arm in its order).
        const char *rule = "?";
        if (user)
            rule = !(perm & TLB_U) ? "perm.user_sup" : store && !(perm & TLB_W) ? "perm.user_write_ro" : "perm.user_fetch_xd";
        else if (fetch)
            rule = !(perm & TLB_X) ? "perm.sup_fetch_xd" : "perm.smep";
        else
            rule = store && w.regs.wp && !(perm & TLB_W) ? "perm.wp_write" : "perm.smap";
        cov_.hit(rule);
        // The leaf alone would allow it: an upper level's bits denied it.
        if (!walk_perm_fault(&w.regs, w.req.kind, w.req.priv, fold(e, TLB_W | TLB_U | TLB_X)))
            cov_.hit("perm.upper_level");
    }
}

void Cosim::check_timeouts()
{
    for (const auto &p : by_id_) {
        const Walk *w = p.get();
        if (!w || w->accepted == UINT64_MAX)
            continue;
        size_t k = w->rtl_ops.size();
        if (k < w->c_ops.size() && w->c_ops[k].cycle <= cycle_) {
            fail(fmt("the C walker makes memory access %zu in cycle %" PRIu64 "; the RTL has not", k + 1,
                     w->c_ops[k].cycle),
                 w);
            return;
        }
        if (!w->responded && w->c.end <= cycle_) {
            fail(fmt("the C walk ends in cycle %" PRIu64 "; the RTL has not responded", w->c.end), w);
            return;
        }
    }
}

void Cosim::start_dump(Phase ph)
{
    phase_ = ph;
    dump_level_ = 2;
    dump_index_ = 0;
    dump_.clear();
}

void Cosim::dump_step(const PinsOut &out)
{
    if (out.dbg_pwc_valid)
        dump_.push_back(PwcEntry{dump_level_, out.dbg_pwc_pcid, out.dbg_pwc_va, out.dbg_pwc_table});
    if (++dump_index_ == p_.pwc_entries) {
        dump_index_ = 0;
        dump_level_++;
    }
}

void Cosim::compare_pwc(const char *when)
{
    cw_->drain();
    std::vector<PwcEntry> c = c_pwc_entries(cw_->cache(), m_);
    std::vector<PwcEntry> r = dump_;
    std::sort(r.begin(), r.end());
    pwc_compares_++;
    if (c == r)
        return;
    std::string s = fmt("page-walk-cache contents differ %s:\n", when);
    auto list = [&](const char *who, const std::vector<PwcEntry> &v, const std::vector<PwcEntry> &other) {
        for (const PwcEntry &e : v)
            if (!std::binary_search(other.begin(), other.end(), e))
                s += fmt("  only in %s: level %u pcid %u va 0x%016" PRIx64 " table 0x%" PRIx64 "\n", who, e.level,
                         e.pcid, e.va, e.table);
    };
    list("RTL", r, c);
    list("C", c, r);
    fail(s, nullptr);
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
