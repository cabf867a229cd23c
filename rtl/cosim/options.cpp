// options.cpp -- the command line of mmusim-cosim and mmusim-cosim-sc
// (parse_options): every option, its range, and the one-line error of a
// bad value.
#include "options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "util.h"

namespace mmucosim {

namespace {

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

}  // namespace mmucosim
