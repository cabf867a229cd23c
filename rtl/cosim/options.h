// options.h -- what a run of the cross-check is: the walker's Verilated
// parameters and the run options (the command line of mmusim-cosim).
#ifndef MMUSIM_RTL_COSIM_OPTIONS_H
#define MMUSIM_RTL_COSIM_OPTIONS_H

#include <cstdint>
#include <string>

namespace mmucosim {

// The walker's parameters (rtl/README.md, "Parameters"), fixed when it was
// Verilated.
struct Params {
    unsigned levels = 4;       // 4 (x86-64) or 5 (LA57)
    unsigned num_walks = 4;    // 1..8
    unsigned pwc_entries = 4;  // per level 2..levels
    unsigned pwc_latency = 1;  // >= 1
    unsigned pa_bits = 46;     // MAXPHYADDR, 32..52
    unsigned id_width = 4;     // request id bits; 2^id_width > num_walks
};

#ifdef COSIM_LEVELS
// The parameters this testbench's walker was Verilated with: the build
// passes the same values as -G options and as COSIM_* definitions.
inline Params verilated_params()
{
    Params p;
    p.levels = COSIM_LEVELS;
    p.num_walks = COSIM_NUM_WALKS;
    p.pwc_entries = COSIM_PWC_ENTRIES;
    p.pwc_latency = COSIM_PWC_LATENCY;
    p.pa_bits = COSIM_PA_BITS;
    p.id_width = COSIM_ID_WIDTH;
    return p;
}
#endif

// Run options (the command line of mmusim-cosim).
struct Options {
    uint64_t walks = 100000;   // walks to compare (trace mode: at most this many)
    uint64_t seed = 1;         // world, requests and memory schedule
    double stall = 0.1;        // probability the memory is not ready in a cycle
    unsigned window = 8;       // latency window W
    unsigned delay = 1;        // latency delay D >= 1, in windows
    std::string trace;         // --trace FILE.trace.zst: requests from a trace
    std::string wave;          // --wave FILE: waveform of a mismatch (default rtl-mismatch.fst)
    bool quiet = false;        // summary line only
    bool guard = true;         // see "The A/D hazard guard" in rtl/README.md
    bool bench = false;        // print walks/s and cycles/s
    unsigned event_every = 48; // mean walks between idle points (flushes, control changes)
};

// Parse argv into *o.  Returns 0 to run, 1 when --help was printed, and
// throws std::runtime_error with one line for a bad argument.
int parse_options(int argc, char **argv, Options *o, const char *prog);

}  // namespace mmucosim

#endif
