// world.cpp -- the address spaces of the cross-check (world.h): page
// tables built with the C page-table builder in the RTL side's image, fault
// injections poked into it, the request targets, and the copy into the C
// side's image.
#include "world.h"

#include <cinttypes>
#include <set>
#include <stdexcept>

#include "util.h"

namespace mmucosim {

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

// Three address spaces, each built in the same steps (the random choices
// are drawn in this order, so a seed gives the same world).
void World::build_random(Rng &rng)
{
    const unsigned spaces = 3;
    pgtable_alloc alloc{alloc_cb, release_cb, this};
    by_as_.assign(spaces, std::vector<std::vector<Target>>(NumClasses));

    for (unsigned as = 0; as < spaces; as++) {
        char err[256] = "";
        pgtable *pt = pgtable_create(m_, rtl_, &alloc, err, sizeof err);
        if (!pt)
            throw std::runtime_error(err);
        pts_.push_back(pt);
        std::vector<Target> mapped, np, rsvd;
        std::set<unsigned> tops = map_top_slots(rng, pt, mapped);
        add_reserved(rng, pt, tops, rsvd);
        add_not_present(rng, pt, mapped, np);
        restrict_upper_levels(rng, pt, mapped);
        keep_targets(as, pt, mapped, Mapped);
        keep_targets(as, pt, np, NotPresent);
        keep_targets(as, pt, rsvd, Reserved);
        if (by_as_[as][Mapped].empty())
            throw std::runtime_error("world: no mapped page");
    }

    copy_to_c();
}

// The first top-level index of the kernel (upper) half.
unsigned World::kernel_half() const
{
    return 1u << (m_->idx_bits[m_->levels] - 1);
}

// Mapped subtrees under three top-level slots, two user (one of them among
// the first four) and one kernel; returns the slots taken.
std::set<unsigned> World::map_top_slots(Rng &rng, pgtable *pt, std::vector<Target> &mapped)
{
    const unsigned top = m_->levels, half = kernel_half();
    std::set<unsigned> tops;
    tops.insert((unsigned)rng.below(4));
    while (tops.size() < 2)
        tops.insert((unsigned)rng.below(half));
    unsigned ktop = half + (unsigned)rng.below(half);
    tops.insert(ktop);
    for (unsigned t : tops)
        build_subtree(rng, pt, top - 1, (uint64_t)t << m_->shift[top], t >= half, mapped);
    return tops;
}

// Reserved bits at every level, each in a subtree of its own (the poked
// entry must have been absent before its mapping was made): up to six
// targets per level, alternating the variants of try_reserved.  Top-level
// slots taken are added to `tops`.
void World::add_reserved(Rng &rng, pgtable *pt, std::set<unsigned> &tops, std::vector<Target> &rsvd)
{
    const unsigned top = m_->levels, half = kernel_half();
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
            for (unsigned tries = 0; tries < 64; tries++)
                if (try_reserved(rng, pt, l, variant, rsvd_top, tops, rsvd))
                    break;
        }
    }
}

// One try at a reserved-bit target at level l: a random page (in a free
// top-level slot for the top level, else under rsvd_top) whose walk ends
// at a not-present entry at or above level l is mapped, and its level-l
// entry gets a reserved bit of the variant.  False when the page does not
// qualify (try again).
bool World::try_reserved(Rng &rng, pgtable *pt, unsigned l, unsigned variant, unsigned rsvd_top,
                         std::set<unsigned> &tops, std::vector<Target> &rsvd)
{
    const unsigned top = m_->levels, half = kernel_half();
    uint64_t va;
    if (l == top) {
        unsigned t = (unsigned)rng.below(half);
        if (tops.count(t))
            return false;
        va = (uint64_t)t << m_->shift[top];
        va |= rng.next() & ((1ull << m_->shift[top]) - 1) & ~0xfffull;
    } else {
        va = ((uint64_t)rsvd_top << m_->shift[top]) | (rng.next() & ((1ull << m_->shift[top]) - 1) & ~0xfffull);
    }
    Path pre = static_walk(m_, rtl_, pgtable_root(pt), canon(va), p_.pa_bits);
    if (pre.end != Path::NotPresent || pre.level < l)
        return false;
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
    return true;
}

// Not-present entries at every level (up to six each): a mapped page's
// path with the index at that level moved to an empty slot, or a random
// top-level slot.
void World::add_not_present(Rng &rng, pgtable *pt, const std::vector<Target> &mapped, std::vector<Target> &np)
{
    const unsigned top = m_->levels;
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
}

// Restricted upper levels: some PDPTEs and PDEs lose R/W or U/S or gain XD
// (the builder makes them permissive, as Linux does).  Not the top levels:
// their entries cover most of the world.
void World::restrict_upper_levels(Rng &rng, pgtable *pt, const std::vector<Target> &mapped)
{
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
}

// The targets of class c that still end as they were built to (later
// steps may have changed their paths) become address space as's.
void World::keep_targets(unsigned as, pgtable *pt, const std::vector<Target> &v, Class c)
{
    for (const Target &t : v) {
        Path pw = static_walk(m_, rtl_, pgtable_root(pt), t.va, p_.pa_bits);
        bool ok = c == Mapped ? pw.end == Path::Leaf
                  : c == NotPresent ? pw.end == Path::NotPresent && pw.level == t.level
                                    : pw.end == Path::Reserved && pw.level == t.level;
        if (ok)
            by_as_[as][c].push_back(t);
    }
}

void World::build_trace(const std::vector<std::pair<uint64_t, bool>> &pages)
{
    pgtable_alloc alloc{alloc_cb, release_cb, this};
    by_as_.assign(1, std::vector<std::vector<Target>>(NumClasses));
    char err[256] = "";
    pgtable *pt = pgtable_create(m_, rtl_, &alloc, err, sizeof err);
    if (!pt)
        throw std::runtime_error(err);
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

}  // namespace mmucosim
