/* wl.h -- what the workload kernels share: their command line, checked
 * allocation and the end of their output.
 *
 * Every kernel is `NAME FOOTPRINT ITERATIONS` (the graph kernels also take
 * `--dump` and `--cache FILE`, rmat.h): FOOTPRINT is the
 * bytes its main data structures may take (suffixes K, M, G, T: powers of
 * two), ITERATIONS what it repeats (updates, searches, lookups, ...; same
 * suffixes).  Bad arguments end the program with status 2 and one line on
 * stderr, like mmusim's own. */
#ifndef MMUSIM_WORKLOADS_WL_H
#define MMUSIM_WORKLOADS_WL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wl_spec {
    const char *name;        /* program name in messages, e.g. "wl-gups" */
    const char *iters;       /* what ITERATIONS counts, e.g. "UPDATES" */
    const char *about;       /* --help text after the usage line */
    uint64_t min_footprint;  /* smallest FOOTPRINT accepted, bytes */
    bool has_dump;           /* --dump and --cache FILE are accepted (graph kernels) */
} wl_spec;

typedef struct wl_args {
    uint64_t footprint;   /* bytes */
    uint64_t iters;
    bool dump;            /* print the generated input instead of running */
    const char *cache;    /* --cache FILE, or NULL */
} wl_args;

/* Parses argv per spec; exits 0 after --help, 2 on bad arguments. */
wl_args wl_parse(const wl_spec *spec, int argc, char **argv);

/* calloc that ends the program with status 1 and one line when memory is short. */
void *wl_calloc(const wl_spec *spec, size_t n, size_t size);

/* Flushes stdout: 0, or 1 after one line on stderr when it could not be written. */
int wl_finish(const wl_spec *spec);

#endif
