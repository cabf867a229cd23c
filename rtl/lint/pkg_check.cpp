// pkg_check.cpp -- mmusim-pkg-check: every constant of the walker's
// SystemVerilog package (rtl/src/mmu_walker_pkg.sv) against the C model's
// value of the same thing (test rtl_pkg_constants).
//
// The package copies by hand what the C headers define: entry bits
// (paging.h PTE_*), access kinds (types.h mm_kind), error-code bits
// (walker.h PF_*), permission bits (tlb.h TLB_*), the VA bit each level's
// index starts at (paging_mode.shift[]), and the flush command encoding
// the cross-check harness drives (cosim_core.h FlushKind).  The C values
// here are the compiler's, taken from those headers, so nothing C-side is
// parsed; the package is parsed for `localparam NAME = VALUE;` lines and
// the case arms of idx_lsb().  Every localparam must be in the table below
// (a new constant cannot go unchecked) and every entry of the table must
// be in the package.
//
// Usage: mmusim-pkg-check PKG.sv
// Exit status 0: all match (one summary line); 1: a mismatch, one line per
// constant naming it and both values; 2: the file cannot be read.
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "cosim_core.h"

extern "C" {
#include "mmusim/paging.h"
#include "mmusim/tlb.h"
#include "mmusim/types.h"
#include "mmusim/walker.h"
}

namespace {

// The bit a one-bit mask sets (the package names bit positions; the C
// headers name masks).
constexpr unsigned bit(uint64_t mask)
{
    return mask & 1 ? 0 : 1 + bit(mask >> 1);
}

struct Want {
    uint64_t value;
    const char *c_name;   // what the value is in C terms, for the message
};

// Name in the package -> the C model's value.  idx_lsb(L) is keyed as
// "idx_lsb(L)" (its `default` arm is level 5).
std::map<std::string, Want> expected()
{
    std::map<std::string, Want> w = {
        {"PteP", {bit(PTE_P), "the bit of PTE_P in paging.h"}},
        {"PteRw", {bit(PTE_RW), "the bit of PTE_RW in paging.h"}},
        {"PteUs", {bit(PTE_US), "the bit of PTE_US in paging.h"}},
        {"PteA", {bit(PTE_A), "the bit of PTE_A in paging.h"}},
        {"PteD", {bit(PTE_D), "the bit of PTE_D in paging.h"}},
        {"PtePs", {bit(PTE_PS), "the bit of PTE_PS in paging.h"}},
        {"PteG", {bit(PTE_G), "the bit of PTE_G in paging.h"}},
        {"PteXd", {bit(PTE_XD), "the bit of PTE_XD in paging.h"}},
        {"KindStore", {MM_STORE, "MM_STORE in types.h"}},
        {"KindFetch", {MM_IFETCH, "MM_IFETCH in types.h"}},
        {"FlushCr3", {mmucosim::kFlushCr3, "mmucosim::kFlushCr3 in rtl/cosim/cosim_core.h"}},
        {"FlushInvlpg", {mmucosim::kFlushInvlpg, "mmucosim::kFlushInvlpg in rtl/cosim/cosim_core.h"}},
        {"FlushAll", {mmucosim::kFlushAll, "mmucosim::kFlushAll in rtl/cosim/cosim_core.h"}},
        {"EcP", {bit(PF_P), "the bit of PF_P in walker.h"}},
        {"EcWr", {bit(PF_WR), "the bit of PF_WR in walker.h"}},
        {"EcUs", {bit(PF_US), "the bit of PF_US in walker.h"}},
        {"EcRsvd", {bit(PF_RSVD), "the bit of PF_RSVD in walker.h"}},
        {"EcId", {bit(PF_ID), "the bit of PF_ID in walker.h"}},
        {"PermW", {bit(TLB_W), "the bit of TLB_W in tlb.h"}},
        {"PermU", {bit(TLB_U), "the bit of TLB_U in tlb.h"}},
        {"PermX", {bit(TLB_X), "the bit of TLB_X in tlb.h"}},
        {"PermD", {bit(TLB_D), "the bit of TLB_D in tlb.h"}},
        {"PermG", {bit(TLB_G), "the bit of TLB_G in tlb.h"}},
    };
    // LA57's shifts (x86-64's levels 1..4 are the same: main checks it).
    static const char *const shift_name[] = {"", "shift[1] of la57 in paging.c", "shift[2] of la57 in paging.c",
                                             "shift[3] of la57 in paging.c", "shift[4] of la57 in paging.c",
                                             "shift[5] of la57 in paging.c"};
    const paging_mode *la57 = paging_mode_get(PAGING_LA57);
    for (unsigned l = 1; l <= 5; l++)
        w["idx_lsb(" + std::to_string(l) + ")"] = Want{la57->shift[l], shift_name[l]};
    return w;
}

// A SystemVerilog integer literal: 12, 2'd1, 4'hf, 3'b101, 'd7.
bool parse_number(const std::string &s, uint64_t *v)
{
    static const std::regex re("^(?:[0-9]*\\s*'\\s*([dhbDHB]))?\\s*([0-9a-fA-F_]+)$");
    std::smatch m;
    if (!std::regex_match(s, m, re))
        return false;
    int base = 10;
    if (m[1].matched)
        base = std::tolower(m[1].str()[0]) == 'h' ? 16 : std::tolower(m[1].str()[0]) == 'b' ? 2 : 10;
    std::string digits;
    for (char c : m[2].str())
        if (c != '_')
            digits += c;
    errno = 0;
    char *end;
    *v = std::strtoull(digits.c_str(), &end, base);
    return !errno && *end == 0 && !digits.empty();
}

struct Found {
    uint64_t value;
    unsigned line;
};

}  // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s PKG.sv\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "mmusim-pkg-check: %s: %s\n", path, std::strerror(errno));
        return 2;
    }
    static const std::regex localparam("^\\s*localparam\\b[^=]*?\\b([A-Za-z_][A-Za-z0-9_]*)\\s*=\\s*([^;]+?)\\s*;");
    static const std::regex fn_start("^\\s*function\\b.*\\bidx_lsb\\b");
    static const std::regex fn_end("^\\s*endfunction\\b");
    static const std::regex arm("^\\s*([0-9]+|default)\\s*:\\s*idx_lsb\\s*=\\s*([^;]+?)\\s*;");
    std::map<std::string, Found> found;
    std::vector<std::string> order;   // names in the file's order, for the messages
    std::vector<std::string> errors;
    bool in_idx = false;
    std::string text;
    for (unsigned n = 1; std::getline(in, text); n++) {
        std::string code = text.substr(0, text.find("//"));
        std::smatch m;
        std::string name, value;
        if (std::regex_search(code, fn_start)) {
            in_idx = true;
            continue;
        }
        if (in_idx && std::regex_search(code, fn_end)) {
            in_idx = false;
            continue;
        }
        if (in_idx && std::regex_search(code, m, arm)) {
            name = "idx_lsb(" + (m[1].str() == "default" ? std::string("5") : m[1].str()) + ")";
            value = m[2];
        } else if (std::regex_search(code, m, localparam)) {
            name = m[1];
            value = m[2];
        } else {
            continue;
        }
        uint64_t v;
        if (!parse_number(value, &v)) {
            errors.push_back(std::string(path) + ":" + std::to_string(n) + ": " + name + " = " + value +
                             ": not a number this check can read");
            continue;
        }
        if (!found.count(name))
            order.push_back(name);
        found[name] = Found{v, n};
    }

    const std::map<std::string, Want> want = expected();
    const paging_mode *x64 = paging_mode_get(PAGING_X86_64), *la57 = paging_mode_get(PAGING_LA57);
    for (unsigned l = 1; l <= 4; l++)
        if (x64->shift[l] != la57->shift[l])
            errors.push_back("paging.c: shift[" + std::to_string(l) + "] of x86-64 and la57 differ; idx_lsb() has one");
    for (const std::string &name : order) {
        const auto f = *found.find(name);
        auto w = want.find(f.first);
        char buf[512];
        if (w == want.end()) {
            std::snprintf(buf, sizeof buf,
                          "%s:%u: %s = %llu: a constant the check does not know; give it its C counterpart in "
                          "rtl/lint/pkg_check.cpp",
                          path, f.second.line, f.first.c_str(), (unsigned long long)f.second.value);
            errors.push_back(buf);
        } else if (w->second.value != f.second.value) {
            std::snprintf(buf, sizeof buf, "%s:%u: %s = %llu, but the C model has %llu (%s)", path, f.second.line,
                          f.first.c_str(), (unsigned long long)f.second.value,
                          (unsigned long long)w->second.value, w->second.c_name);
            errors.push_back(buf);
        }
    }
    for (const auto &w : want)
        if (!found.count(w.first))
            errors.push_back(std::string(path) + ": " + w.first + " not found (the C model has " +
                             std::to_string(w.second.value) + ", " + w.second.c_name + ")");
    for (const std::string &e : errors)
        std::printf("%s\n", e.c_str());
    if (!errors.empty())
        return 1;
    std::printf("pkg-check: %zu constants of %s match the C model\n", found.size(), path);
    return 0;
}
