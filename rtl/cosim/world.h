// world.h -- the address spaces of the cross-check: page tables built with
// the C page-table builder in the RTL side's image, fault injections, the
// request targets, and the copy into the C side's image.
#ifndef MMUSIM_RTL_COSIM_WORLD_H
#define MMUSIM_RTL_COSIM_WORLD_H

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "options.h"
#include "util.h"

extern "C" {
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
}

namespace mmucosim {

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
    // build_random's steps, in the order they draw random numbers.
    void build_random(Rng &rng);
    unsigned kernel_half() const;
    std::set<unsigned> map_top_slots(Rng &rng, pgtable *pt, std::vector<Target> &mapped);
    void add_reserved(Rng &rng, pgtable *pt, std::set<unsigned> &tops, std::vector<Target> &rsvd);
    bool try_reserved(Rng &rng, pgtable *pt, unsigned l, unsigned variant, unsigned rsvd_top,
                      std::set<unsigned> &tops, std::vector<Target> &rsvd);
    void add_not_present(Rng &rng, pgtable *pt, const std::vector<Target> &mapped, std::vector<Target> &np);
    void restrict_upper_levels(Rng &rng, pgtable *pt, const std::vector<Target> &mapped);
    void keep_targets(unsigned as, pgtable *pt, const std::vector<Target> &v, Class c);
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

}  // namespace mmucosim

#endif
