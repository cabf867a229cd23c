// coverage.cpp -- the coverage bins of the cross-check (coverage.h): which
// bins a configuration can reach, and what each completed walk hits.
#include "coverage.h"

#include <cinttypes>

#include "util.h"

namespace mmucosim {

namespace {

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

}  // namespace

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

void add_bins(Coverage &cov, const Params &p, const Options &o)
{
    const unsigned L = p.levels;
    for (unsigned l = 1; l <= L; l++)
        cov.add(fmt("walk.level%u", l));
    cov.add("page.4k");
    cov.add("page.2m");
    cov.add("page.1g");
    for (unsigned l = 1; l <= L; l++)
        cov.add(fmt("np.l%u", l));
    for (unsigned l = p.pa_bits < 52 ? 1 : 2; l <= L; l++)
        cov.add(fmt("rsvd.l%u", l));
    cov.add("rsvd.large.l2");
    cov.add("rsvd.large.l3");
    for (unsigned l = 4; l <= L; l++)
        cov.add(fmt("rsvd.ps.l%u", l));
    for (const char *b : {"perm.user_sup", "perm.user_write_ro", "perm.user_fetch_xd", "perm.sup_fetch_xd",
                          "perm.smep", "perm.wp_write", "perm.smap", "perm.nowp_write_ok", "perm.smap_ac_ok",
                          "perm.upper_level", "ad.a", "ad.d"})
        cov.add(b);
    for (unsigned l = 2; l <= L; l++)
        cov.add(fmt("pwc.hit.l%u", l));
    cov.add("pwc.miss");
    for (const char *b : {"flush.cr3_nopcid", "flush.cr3_pcid", "flush.cr3_noflush", "flush.invlpg", "flush.all"})
        cov.add(b);
    cov.add("cont.slots_full");
    if (p.num_walks > 1) {
        cov.add("cont.port_conflict");
        cov.add("cont.same_page");
        if (o.window > 1)
            cov.add("cont.ooo_rsp");
    }
    if (o.stall > 0)
        cov.add("cont.stall");
}

void cover_walk(Coverage &cov, const paging_mode *m, const walk_req &req, const walk_regs &regs,
                const walk_result &c)
{
    for (unsigned i = 0; i < c.nsteps; i++)
        cov.hit(fmt("walk.level%u", c.step[i].level));
    cov.hit(c.pwc_level ? fmt("pwc.hit.l%u", c.pwc_level) : std::string("pwc.miss"));
    const bool user = req.priv == MM_USER, store = req.kind == MM_STORE, fetch = req.kind == MM_IFETCH;
    unsigned perm = c.pwc_level ? c.pwc_perm : (TLB_W | TLB_U | TLB_X);
    for (unsigned i = 0; i < c.nsteps; i++)
        if (c.step[i].entry & PTE_P)
            perm = fold(c.step[i].entry, perm);
    if (!c.fault) {
        cov.hit(c.leaf_level == 1 ? "page.4k" : c.leaf_level == 2 ? "page.2m" : "page.1g");
        for (unsigned j = 0; j < c.nwrites; j++) {
            cov.hit("ad.a");
            if (store && c.write[j].entry_pa == c.step[c.nsteps - 1].entry_pa && !(c.step[c.nsteps - 1].entry & PTE_D))
                cov.hit("ad.d");
        }
        if (!user && store && !regs.wp && !(perm & TLB_W))
            cov.hit("perm.nowp_write_ok");
        if (!user && !fetch && regs.smap && (perm & TLB_U) && regs.ac)
            cov.hit("perm.smap_ac_ok");
        return;
    }
    const unsigned l = c.fault_level;
    const uint64_t e = c.step[c.nsteps - 1].entry;
    if (!(c.error_code & PF_P)) {
        cov.hit(fmt("np.l%u", l));
    } else if (c.error_code & PF_RSVD) {
        cov.hit(fmt("rsvd.l%u", l));
        if (l >= 4 && (e & PTE_PS))
            cov.hit(fmt("rsvd.ps.l%u", l));
        if ((l == 2 || l == 3) && (e & PTE_PS) && (e & (((1ull << m->shift[l]) - 1) & ~0x1fffull)))
            cov.hit(fmt("rsvd.large.l%u", l));
    } else {
        // Which rule of walk_perm_fault fired (first arm in its order).
        const char *rule = "?";
        if (user)
            rule = !(perm & TLB_U) ? "perm.user_sup" : store && !(perm & TLB_W) ? "perm.user_write_ro" : "perm.user_fetch_xd";
        else if (fetch)
            rule = !(perm & TLB_X) ? "perm.sup_fetch_xd" : "perm.smep";
        else
            rule = store && regs.wp && !(perm & TLB_W) ? "perm.wp_write" : "perm.smap";
        cov.hit(rule);
        // The leaf alone would allow it: an upper level's bits denied it.
        if (!walk_perm_fault(&regs, req.kind, req.priv, fold(e, TLB_W | TLB_U | TLB_X)))
            cov.hit("perm.upper_level");
    }
}

}  // namespace mmucosim
