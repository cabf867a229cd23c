/* Trace generators: exact access counts, determinism, and each pattern's
 * defining property checked against values derived by hand. */
#define _POSIX_C_SOURCE 200809L   /* strtok_r */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmusim/trace_gen.h"

/* ---- fixture: options at their defaults, a sink that keeps every record ---- */

typedef struct capture {
    trace_rec *r;
    size_t n, cap;
} capture;

static capture cap;
static trace_gen_opts opts;

static int capture_put(void *ctx, const trace_rec *r)
{
    capture *c = ctx;
    mm_grow(&c->r, &c->cap, c->n, sizeof *c->r, 4096);
    c->r[c->n++] = *r;
    return 0;
}

static void setup(void)
{
    trace_gen_defaults(&opts);
    opts.footprint = 1u << 20;
    cap = (capture){0};
}

static void teardown(void)
{
    free(cap.r);
}

TestSuite(gen, .init = setup, .fini = teardown);

/* Generate `name` with `opts` into `c` (emptied first). */
static void generate_into(capture *c, const char *name)
{
    int p = trace_gen_pattern_by_name(name);
    cr_assert_geq(p, 0, "pattern %s", name);
    char err[256] = "";
    c->n = 0;
    cr_assert_eq(trace_gen(p, &opts, (trace_sink){capture_put, c}, NULL, err, sizeof err), 0, "%s: %s", name, err);
}

static void generate(const char *name)
{
    generate_into(&cap, name);
}

/* The accesses of the capture, in order, copied out (caller frees). */
static trace_rec *accesses(size_t *n)
{
    trace_rec *a = malloc((cap.n + 1) * sizeof *a);
    cr_assert_not_null(a);
    *n = 0;
    for (size_t i = 0; i < cap.n; i++)
        if (cap.r[i].kind == TR_ACCESS)
            a[(*n)++] = cap.r[i];
    return a;
}

/* The first TR_MMAP of pid. */
static const trace_rec *mmap_of(uint32_t pid)
{
    for (size_t i = 0; i < cap.n; i++)
        if (cap.r[i].kind == TR_MMAP && cap.r[i].pid == pid)
            return &cap.r[i];
    cr_assert_fail("no TR_MMAP for pid %u", pid);
    return NULL;
}

/* ---- every pattern: exact count, declared regions, determinism ---- */

typedef struct gen_case {
    char pattern[24];
    char inner[24];      /* "" = the default */
    uint64_t count;
} gen_case;

static gen_case gen_cases[] = {
    {"sequential", "", 12345}, {"strided", "", 12345},   {"gups", "", 12345},       {"zipf", "", 12345},
    {"chase", "", 12345},      {"processes", "", 12345}, {"processes", "gups", 12345},
    {"processes", "chase", 12345}, {"processes", "sequential", 12345}, {"processes", "strided", 12345},
    {"fork-write", "", 12345}, {"shared-file", "", 12345}, {"vmalloc", "", 12345},
    {"vmalloc", "gups", 777},  {"sequential", "", 0},     {"gups", "", 1},           {"shared-file", "chase", 5000},
};

ParameterizedTestParameters(gen, exact_count_in_declared_regions)
{
    return cr_make_param_array(gen_case, gen_cases, sizeof gen_cases / sizeof gen_cases[0]);
}

static void apply_case(const gen_case *c)
{
    opts.count = c->count;
    opts.switch_every = 1000;
    if (c->inner[0]) {
        char err[128];
        cr_assert_eq(trace_gen_set(&opts, "inner", c->inner, err, sizeof err), 0, "%s", err);
    }
}

/* Every access lies inside a region declared before it: a TR_MMAP of the
 * process running on its CPU (or of the fork parent), or, for supervisor
 * accesses, a TR_MAP_KERNEL mapping.  Accesses are size-aligned and so never
 * straddle a page.  The TR_INSTR counts add up to instr_per_access each. */
ParameterizedTest(gen_case *c, gen, exact_count_in_declared_regions)
{
    apply_case(c);
    generate(c->pattern);
    struct { uint32_t pid; uint64_t addr, len; bool kernel; } reg[64];
    size_t nreg = 0;
    uint32_t running = 0;
    uint64_t n = 0, instr = 0;
    for (size_t i = 0; i < cap.n; i++) {
        const trace_rec *r = &cap.r[i];
        switch (r->kind) {
        case TR_SWITCH: running = r->pid; break;
        case TR_MMAP:
            cr_assert_lt(nreg, 64);
            reg[nreg].pid = r->pid;
            reg[nreg].addr = r->addr;
            reg[nreg].len = r->len;
            reg[nreg++].kernel = (r->flags & TR_MAP_KERNEL) != 0;
            break;
        case TR_FORK:
            for (size_t k = 0, m = nreg; k < m; k++)
                if (reg[k].pid == r->pid && !reg[k].kernel) {
                    cr_assert_lt(nreg, 64);
                    reg[nreg] = reg[k];
                    reg[nreg++].pid = r->child;
                }
            break;
        case TR_INSTR: instr += r->count; break;
        case TR_ACCESS: {
            n++;
            cr_assert_eq(r->size, opts.size);
            cr_assert_eq(r->va % r->size, 0, "unaligned access 0x%lx", (unsigned long)r->va);
            bool inside = false;
            for (size_t k = 0; k < nreg && !inside; k++)
                inside = r->va >= reg[k].addr && r->va + r->size <= reg[k].addr + reg[k].len &&
                         (r->priv == MM_SUPERVISOR ? reg[k].kernel : !reg[k].kernel && reg[k].pid == running);
            cr_assert(inside, "%s: access %lu at 0x%lx (pid %u) outside every declared region", c->pattern,
                      (unsigned long)n, (unsigned long)r->va, running);
            break;
        }
        default: break;
        }
    }
    cr_assert_eq(n, c->count, "%s: %lu accesses, expected %lu", c->pattern, (unsigned long)n,
                 (unsigned long)c->count);
    cr_assert_eq(instr, c->count * opts.instr_per_access);
}

ParameterizedTestParameters(gen, deterministic)
{
    return cr_make_param_array(gen_case, gen_cases, sizeof gen_cases / sizeof gen_cases[0]);
}

ParameterizedTest(gen_case *c, gen, deterministic)
{
    apply_case(c);
    capture again = {0}, other = {0};
    generate(c->pattern);
    generate_into(&again, c->pattern);
    opts.seed++;
    generate_into(&other, c->pattern);
    cr_assert_eq(cap.n, again.n);
    for (size_t i = 0; i < cap.n; i++)
        cr_assert(trace_rec_equal(&cap.r[i], &again.r[i]), "%s: record %zu differs with the same seed", c->pattern,
                  i);
    bool differs = cap.n != other.n;
    for (size_t i = 0; i < cap.n && !differs; i++)
        differs = !trace_rec_equal(&cap.r[i], &other.r[i]);
    cr_assert(differs, "%s: another seed gave the same trace", c->pattern);
    free(again.r);
    free(other.r);
}

/* ---- sequential and strided ---- */

/* 64 KiB at 64 bytes a step is 1024 lines: access i is line i mod 1024. */
Test(gen, sequential_covers_lines_in_order_and_wraps)
{
    opts.footprint = 64 << 10;
    opts.count = 2500;
    generate("sequential");
    size_t n;
    trace_rec *a = accesses(&n);
    uint64_t base = mmap_of(TG_FIRST_PID)->addr;
    cr_assert_eq(base % (2 << 20), 0, "regions are 2 MiB aligned");
    cr_assert_eq(base >> 40, 0x55, "the heap is at 0x55xxxxxxx000: 0x%lx", (unsigned long)base);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(a[i].va, base + (i % 1024) * 64, "access %zu", i);
    free(a);
}

/* 64 KiB at 4096 bytes a step is 16 accesses a pass; pass p starts at line
 * p mod 64 of the first page (64 lines a page), so 64 passes cover every line. */
Test(gen, strided_steps_by_the_stride_and_shifts_by_a_line)
{
    opts.footprint = 64 << 10;
    opts.count = 16 * 70;
    generate("strided");
    size_t n;
    trace_rec *a = accesses(&n);
    uint64_t base = mmap_of(TG_FIRST_PID)->addr;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(a[i].va, base + (i % 16) * 4096 + (i / 16 % 64) * 64, "access %zu", i);
        if (i % 16)
            cr_assert_eq(a[i].va - a[i - 1].va, 4096);
    }
    free(a);
}

Test(gen, strided_honours_a_given_stride)
{
    opts.footprint = 64 << 10;
    opts.stride = 512;
    opts.count = 300;
    generate("strided");
    size_t n;
    trace_rec *a = accesses(&n);
    for (size_t i = 1; i < n; i++)
        if (i % 128)   /* 65536 / 512 = 128 a pass */
            cr_assert_eq(a[i].va - a[i - 1].va, 512, "access %zu", i);
    free(a);
}

/* ---- gups ---- */

Test(gen, gups_pairs_a_load_and_a_store_of_one_word)
{
    opts.count = 10000;
    generate("gups");
    size_t n;
    trace_rec *a = accesses(&n);
    const trace_rec *m = mmap_of(TG_FIRST_PID);
    unsigned moved = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        cr_assert_eq(a[i].acc, MM_LOAD, "access %zu", i);
        cr_assert_eq(a[i + 1].acc, MM_STORE, "access %zu", i + 1);
        cr_assert_eq(a[i].va, a[i + 1].va, "update %zu: load and store of different words", i / 2);
        cr_assert_eq(a[i].size, 8);
        cr_assert(a[i].va >= m->addr && a[i].va + 8 <= m->addr + m->len);
        moved += i && a[i].va != a[i - 2].va;
    }
    /* 131072 words: two updates in a row hit the same word with chance 1/131072. */
    cr_assert_geq(moved, n / 2 - 2);
    free(a);
}

/* ---- chase ---- */

/* 256 KiB is 4096 lines: each block of 4096 steps visits every line once,
 * and the blocks repeat the same cycle. */
Test(gen, chase_is_a_cyclic_permutation_of_the_lines)
{
    enum { LINES = 4096 };
    opts.footprint = LINES * 64;
    opts.count = 3 * LINES;
    generate("chase");
    size_t n;
    trace_rec *a = accesses(&n);
    cr_assert_eq(n, 3 * LINES);
    uint64_t base = mmap_of(TG_FIRST_PID)->addr;
    static bool seen[LINES];
    memset(seen, 0, sizeof seen);
    unsigned adjacent = 0;
    for (size_t i = 0; i < LINES; i++) {
        cr_assert_eq(a[i].acc, MM_LOAD);
        cr_assert_eq((a[i].va - base) % 64, 0, "loads are at the start of a line");
        uint64_t line = (a[i].va - base) / 64;
        cr_assert_lt(line, LINES);
        cr_assert_not(seen[line], "line %lu visited twice in one cycle", (unsigned long)line);
        seen[line] = true;
        adjacent += i && (a[i].va == a[i - 1].va + 64);
        cr_assert_eq(a[i].va, a[i + LINES].va);
        cr_assert_eq(a[i].va, a[i + 2 * LINES].va);
    }
    /* A random order steps to the next line with chance about 1/4096. */
    cr_assert_lt(adjacent, 10, "the order looks sequential (%u adjacent steps)", adjacent);
    free(a);
}

/* ---- zipf ---- */

typedef struct zipf_case {
    double s;
} zipf_case;

ParameterizedTestParameters(gen, zipf_rank_frequencies)
{
    static zipf_case cases[] = {{0.6}, {1.0}, {1.4}};
    return cr_make_param_array(zipf_case, cases, sizeof cases / sizeof cases[0]);
}

/* n = 1024 pages, N = 200000 accesses.  The hottest page is rank 1 with
 * probability p1 = 1/H(n,s), H(n,s) = sum_{k=1..n} k^-s; its count is
 * Binomial(N, p1), standard deviation sqrt(N p1 (1-p1)).  A tolerance of 5
 * standard deviations fails a correct sampler with probability < 1e-6 (and
 * the seed is fixed, so the test is deterministic anyway); a sampler off by
 * a few percent in p1 fails it: for s = 1, p1 = 0.133, 5 sigma is 2.9% of p1.
 * Rank 2 (p1 / 2^s) is checked the same way: its count is far from rank 1's
 * and rank 3's, so the second-hottest page is rank 2. */
ParameterizedTest(zipf_case *c, gen, zipf_rank_frequencies)
{
    enum { PAGES = 1024, N = 200000 };
    opts.footprint = PAGES * 4096;
    opts.count = N;
    opts.zipf_s = c->s;
    generate("zipf");
    size_t n;
    trace_rec *a = accesses(&n);
    uint64_t base = mmap_of(TG_FIRST_PID)->addr;
    static unsigned hits[PAGES];
    memset(hits, 0, sizeof hits);
    for (size_t i = 0; i < n; i++) {
        uint64_t page = (a[i].va - base) / 4096;
        cr_assert_lt(page, PAGES);
        hits[page]++;
    }
    unsigned first = 0, second = 0;
    for (unsigned p = 0; p < PAGES; p++) {
        if (hits[p] > first) {
            second = first;
            first = hits[p];
        } else if (hits[p] > second)
            second = hits[p];
    }
    double h = 0;
    for (unsigned k = 1; k <= PAGES; k++)
        h += pow(k, -c->s);
    double p1 = 1 / h, p2 = p1 / pow(2, c->s);
    double tol1 = 5 * sqrt(N * p1 * (1 - p1)), tol2 = 5 * sqrt(N * p2 * (1 - p2));
    cr_assert_leq(fabs(first - N * p1), tol1, "s=%g: rank 1 hit %u times, expected %.0f +- %.0f", c->s, first,
                  N * p1, tol1);
    cr_assert_leq(fabs(second - N * p2), tol2, "s=%g: rank 2 hit %u times, expected %.0f +- %.0f", c->s, second,
                  N * p2, tol2);
    free(a);
}

/* ---- processes ---- */

Test(gen, processes_switch_round_robin_every_n_accesses)
{
    opts.processes = 3;
    opts.switch_every = 100;
    opts.count = 1000;
    generate("processes");
    unsigned switches = 0, since = 0;
    uint32_t expect = TG_FIRST_PID;
    bool mapped[3] = {false};
    for (size_t i = 0; i < cap.n; i++) {
        const trace_rec *r = &cap.r[i];
        if (r->kind == TR_SWITCH) {
            cr_assert(switches == 0 || since == 100, "switch after %u accesses", since);
            cr_assert_eq(r->pid, expect, "switch %u to %u", switches, r->pid);
            expect = expect == TG_FIRST_PID + 2 ? TG_FIRST_PID : expect + 1;
            switches++;
            since = 0;
        } else if (r->kind == TR_MMAP) {
            cr_assert_eq(since, 0, "a process declares its region before its accesses");
            cr_assert_eq(r->flags, TR_MAP_ANON);
            mapped[r->pid - TG_FIRST_PID] = true;
        } else if (r->kind == TR_ACCESS) {
            cr_assert_gt(switches, 0);
            cr_assert(mapped[(expect == TG_FIRST_PID ? TG_FIRST_PID + 2 : expect - 1) - TG_FIRST_PID]);
            since++;
        }
    }
    cr_assert_eq(switches, 10);
    cr_assert_eq(since, 100);
}

/* ---- fork-write ---- */

typedef struct fork_case {
    double write_fraction;
    unsigned child_pages;   /* of 256 */
} fork_case;

ParameterizedTestParameters(gen, fork_write_child_writes_a_fraction)
{
    static fork_case cases[] = {{0.0, 0}, {0.25, 64}, {0.5, 128}, {0.3, 77}, {1.0, 256}};
    return cr_make_param_array(fork_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fork_case *c, gen, fork_write_child_writes_a_fraction)
{
    enum { PAGES = 256 };
    opts.footprint = PAGES * 4096;
    opts.write_fraction = c->write_fraction;
    opts.count = 2000;
    generate("fork-write");
    uint32_t parent = TG_FIRST_PID, child = TG_FIRST_PID + 1, running = 0;
    bool forked = false;
    static bool parent_wrote[PAGES], child_wrote[PAGES];
    memset(parent_wrote, 0, sizeof parent_wrote);
    memset(child_wrote, 0, sizeof child_wrote);
    unsigned child_stores = 0;
    uint64_t base = mmap_of(parent)->addr;
    for (size_t i = 0; i < cap.n; i++) {
        const trace_rec *r = &cap.r[i];
        if (r->kind == TR_SWITCH)
            running = r->pid;
        else if (r->kind == TR_FORK) {
            cr_assert_eq(r->pid, parent);
            cr_assert_eq(r->child, child);
            for (unsigned p = 0; p < PAGES; p++)
                cr_assert(parent_wrote[p], "the parent wrote every page before forking (page %u)", p);
            forked = true;
        } else if (r->kind == TR_ACCESS && r->acc == MM_STORE) {
            uint64_t page = (r->va - base) / 4096;
            cr_assert_lt(page, PAGES);
            if (running == parent) {
                cr_assert_not(forked, "the parent only writes before the fork");
                parent_wrote[page] = true;
            } else {
                cr_assert_eq(running, child);
                cr_assert(forked, "TR_FORK comes before the child's stores");
                cr_assert_not(child_wrote[page], "the child writes each page once");
                child_wrote[page] = true;
                child_stores++;
            }
        }
    }
    cr_assert(forked);
    cr_assert_eq(child_stores, c->child_pages, "child wrote %u pages, expected %u", child_stores, c->child_pages);
}

/* ---- shared-file ---- */

Test(gen, shared_file_maps_one_file_in_every_process)
{
    opts.processes = 4;
    opts.switch_every = 50;
    opts.count = 1000;
    generate("shared-file");
    uint32_t file_id = 0, running = 0;
    uint64_t addr[4] = {0};
    unsigned touched[4] = {0};
    for (size_t i = 0; i < cap.n; i++) {
        const trace_rec *r = &cap.r[i];
        if (r->kind == TR_SWITCH)
            running = r->pid;
        else if (r->kind == TR_MMAP) {
            cr_assert_neq(r->file_id, 0);
            cr_assert(file_id == 0 || r->file_id == file_id, "one file in every process");
            file_id = r->file_id;
            cr_assert_eq(r->flags, TR_MAP_SHARED, "a shared file mapping (not anonymous)");
            cr_assert_eq(r->len, opts.footprint);
            cr_assert_eq(r->addr >> 40, 0x7f, "file mappings are in the mmap area: 0x%lx", (unsigned long)r->addr);
            addr[r->pid - TG_FIRST_PID] = r->addr;
        } else if (r->kind == TR_ACCESS) {
            unsigned p = running - TG_FIRST_PID;
            cr_assert(r->va >= addr[p] && r->va < addr[p] + opts.footprint);
            touched[p]++;
        }
    }
    for (unsigned p = 0; p < 4; p++)
        cr_assert_gt(touched[p], 0, "process %u touches the file", p);
    cr_assert(addr[0] != addr[1] || addr[1] != addr[2], "each process maps the file at its own address");
}

/* ---- vmalloc ---- */

Test(gen, vmalloc_has_supervisor_accesses_from_every_process)
{
    opts.processes = 3;
    opts.switch_every = 200;
    opts.count = 3000;
    generate("vmalloc");
    const trace_rec *km = NULL;
    uint32_t running = 0;
    unsigned sup[3] = {0}, user = 0, total_sup = 0;
    for (size_t i = 0; i < cap.n; i++) {
        const trace_rec *r = &cap.r[i];
        if (r->kind == TR_MMAP && (r->flags & TR_MAP_KERNEL)) {
            km = r;
            cr_assert_geq(r->addr, 0xffffc90000000000ull);
        } else if (r->kind == TR_SWITCH)
            running = r->pid;
        else if (r->kind == TR_ACCESS && r->priv == MM_SUPERVISOR) {
            cr_assert_not_null(km, "the TR_MAP_KERNEL mapping comes before supervisor accesses");
            cr_assert(r->va >= km->addr && r->va < km->addr + km->len, "0x%lx", (unsigned long)r->va);
            sup[running - TG_FIRST_PID]++;
            total_sup++;
        } else if (r->kind == TR_ACCESS) {
            cr_assert_lt(r->va, 0x800000000000ull, "user accesses are in user space");
            user++;
        }
    }
    for (unsigned p = 0; p < 3; p++)
        cr_assert_gt(sup[p], 0, "process %u makes supervisor accesses", p);
    /* 3000 accesses at kernel_fraction 0.2: 600 +- 5 sqrt(3000 * 0.2 * 0.8) = 600 +- 110. */
    cr_assert(total_sup > 490 && total_sup < 710, "%u supervisor accesses", total_sup);
    cr_assert_eq(user + total_sup, 3000);
}

/* ---- instruction counts ---- */

Test(gen, instr_records_every_n_accesses)
{
    opts.count = 1002;
    opts.instr_every = 4;
    generate("sequential");
    unsigned nrec = 0, since = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < cap.n; i++) {
        if (cap.r[i].kind == TR_INSTR) {
            cr_assert_eq(cap.r[i].count, 3u * since);
            total += cap.r[i].count;
            since = 0;
            nrec++;
        } else if (cap.r[i].kind == TR_ACCESS)
            since++;
    }
    cr_assert_eq(nrec, 251, "250 full groups of 4 and the last 2");
    cr_assert_eq(total, 3006);
    cr_assert_eq(cap.r[cap.n - 1].kind, TR_INSTR, "the last accesses are counted too");
}

Test(gen, no_instr_records_at_zero_instructions)
{
    opts.count = 100;
    opts.instr_per_access = 0;
    generate("zipf");
    for (size_t i = 0; i < cap.n; i++)
        cr_assert_neq(cap.r[i].kind, TR_INSTR);
}

/* ---- names, options, errors ---- */

Test(gen, pattern_names_round_trip)
{
    for (int p = 0; p < TG_PATTERN_COUNT; p++)
        cr_assert_eq(trace_gen_pattern_by_name(trace_gen_pattern_name(p)), p);
    cr_assert_eq(trace_gen_pattern_by_name("random"), -1);
    cr_assert_str_eq(trace_gen_pattern_name(TG_PATTERN_COUNT), "?");
}

Test(gen, sizes_take_binary_suffixes)
{
    static const struct { const char *text; uint64_t v; } ok[] = {
        {"4K", 4096}, {"4k", 4096}, {"2M", 2u << 20}, {"1G", 1u << 30}, {"1T", 1ull << 40},
        {"0x1000", 4096}, {"8192", 8192}, {"64MiB", 64u << 20},
    };
    char err[128];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cr_assert_eq(trace_gen_set(&opts, "footprint", ok[i].text, err, sizeof err), 0, "%s", err);
        cr_assert_eq(opts.footprint, ok[i].v, "%s", ok[i].text);
    }
    const char *bad[] = {"", "abc", "-1", "4X", "1Q", "4 K", "99999999999999999999", "20000000T"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(trace_gen_set(&opts, "footprint", bad[i], err, sizeof err), -1, "'%s' accepted", bad[i]);
        cr_assert_not_null(strstr(err, "--footprint"), "%s", err);
    }
    cr_assert_eq(trace_gen_set(&opts, "count", "1K", err, sizeof err), -1, "counts take no suffix");
    cr_assert_eq(trace_gen_set(&opts, "colour", "red", err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "unknown option"), "%s", err);
}

/* trace_gen_describe spells out every option; reading it back with
 * trace_gen_set gives the same options (and so the same trace). */
Test(gen, describe_reads_back)
{
    char err[128];
    cr_assert_eq(trace_gen_set(&opts, "zipf-s", "0.3", err, sizeof err), 0);
    cr_assert_eq(trace_gen_set(&opts, "write-fraction", "0.1", err, sizeof err), 0);
    cr_assert_eq(trace_gen_set(&opts, "inner", "chase", err, sizeof err), 0);
    cr_assert_eq(trace_gen_set(&opts, "footprint", "3M", err, sizeof err), 0);
    cr_assert_eq(trace_gen_set(&opts, "seed", "18446744073709551615", err, sizeof err), 0);
    char buf[TRACE_META_STR];
    trace_gen_describe(TG_VMALLOC, &opts, buf, sizeof buf);
    cr_assert_not_null(strstr(buf, "vmalloc --footprint 3M "), "%s", buf);
    trace_gen_opts back;
    trace_gen_defaults(&back);
    char *save, *tok = strtok_r(buf, " ", &save);
    cr_assert_str_eq(tok, "vmalloc");
    while ((tok = strtok_r(NULL, " ", &save))) {
        cr_assert_eq(strncmp(tok, "--", 2), 0, "%s", tok);
        char *val = strtok_r(NULL, " ", &save);
        cr_assert_not_null(val);
        cr_assert_eq(trace_gen_set(&back, tok + 2, val, err, sizeof err), 0, "%s", err);
    }
    size_t np;
    const trace_gen_param *p = trace_gen_params(&np);
    for (size_t i = 0; i < np; i++) {
        size_t w = p[i].type == TG_PARAM_SIZE || p[i].type == TG_PARAM_U64 ? 8
                 : p[i].type == TG_PARAM_DOUBLE                         ? sizeof(double)
                                                                        : 4;
        cr_assert_eq(memcmp((char *)&opts + p[i].offset, (char *)&back + p[i].offset, w), 0, "--%s", p[i].name);
    }
}

typedef struct bad_opt {
    char pattern[24];
    char name[24];
    char value[24];
    char want[48];      /* a piece of the message */
} bad_opt;

ParameterizedTestParameters(gen, bad_options_are_named)
{
    static bad_opt cases[] = {
        {"zipf", "footprint", "1000", "--footprint 1000"},
        {"zipf", "footprint", "2T", "--footprint"},
        {"zipf", "size", "3", "--size 3"},
        {"zipf", "size", "8192", "--size"},
        {"zipf", "zipf-s", "0", "--zipf-s 0"},
        {"zipf", "zipf-s", "-1", "--zipf-s"},
        {"zipf", "write-fraction", "1.5", "--write-fraction 1.5"},
        {"vmalloc", "kernel-fraction", "-0.1", "--kernel-fraction"},
        {"vmalloc", "kernel-footprint", "0", "--kernel-footprint 0"},
        {"processes", "processes", "0", "--processes 0"},
        {"processes", "switch-every", "0", "--switch-every"},
        {"processes", "inner", "processes", "--inner processes"},
        {"strided", "stride", "12", "--stride 12"},
        {"sequential", "stride", "4M", "--stride"},
        {"sequential", "instr-every", "0", "--instr-every"},
        {"sequential", "instr-per-access", "5000", "--instr-per-access"},
        {"fork-write", "count", "10", "too small"},
    };
    return cr_make_param_array(bad_opt, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_opt *c, gen, bad_options_are_named)
{
    char err[256] = "";
    cr_assert_eq(trace_gen_set(&opts, c->name, c->value, err, sizeof err), 0, "%s", err);
    cr_assert_eq(trace_gen(trace_gen_pattern_by_name(c->pattern), &opts, (trace_sink){capture_put, &cap}, NULL, err,
                           sizeof err),
                 -1);
    cr_assert_not_null(strstr(err, c->want), "'%s' not in: %s", c->want, err);
    cr_assert_eq(cap.n, 0, "no records before the options are checked");
}

static int stop_after_10(void *ctx, const trace_rec *r)
{
    (void)r;
    return ++*(unsigned *)ctx > 10 ? -1 : 0;
}

Test(gen, a_stopping_sink_stops_the_generator)
{
    unsigned seen = 0;
    char err[256];
    trace_meta meta;
    memset(&meta, 0, sizeof meta);
    cr_assert_eq(trace_gen(TG_GUPS, &opts, (trace_sink){stop_after_10, &seen}, &meta, err, sizeof err), -1);
    cr_assert_eq(seen, 11);
    cr_assert_not_null(strstr(err, "stopped"), "%s", err);
    cr_assert_str_eq(meta.source, "gen:gups");
}

Test(gen, meta_names_the_generator_and_counts)
{
    trace_meta meta;
    memset(&meta, 0, sizeof meta);
    char err[256];
    opts.count = 500;
    cr_assert_eq(trace_gen(TG_CHASE, &opts, (trace_sink){capture_put, &cap}, &meta, err, sizeof err), 0);
    cr_assert_str_eq(meta.source, "gen:chase");
    cr_assert_eq(strncmp(meta.command, "chase --footprint 1M --count 500 --seed 1 ", 42), 0, "%s", meta.command);
    cr_assert_eq(meta.accesses, 500);
    cr_assert_eq(meta.instructions, 1500);
    cr_assert_eq(meta.records, cap.n);
    cr_assert_eq(meta.events, 2, "a switch and an mmap");
}

/* ---- trace_info ---- */

/* A hand-made trace through the writer and reader.  Pages count once per
 * address space: 0x1000 in pids 1 and 2 is two pages, the vmalloc page
 * touched from both is one (the kernel's), 0x1008 is 0x1000's page again.
 * 4 KiB: (1,0x1) (2,0x1) (k,vmalloc) (1,0x200) = 4; 2 MiB: (1,0) (2,0)
 * (k,..) (1,1) = 4; 1 GiB: (1,0) (2,0) (k,..) = 3. */
Test(gen, info_counts_pages_per_address_space)
{
    char path[] = "/tmp/mmusim-infoXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    const uint64_t vm = 0xffffc90000000000ull;
    const trace_rec recs[] = {
        {.kind = TR_SWITCH, .pid = 1},
        {.kind = TR_ACCESS, .va = 0x1000, .size = 8, .acc = MM_LOAD},
        {.kind = TR_ACCESS, .va = 0x1008, .size = 8, .acc = MM_STORE},
        {.kind = TR_INSTR, .count = 7},
        {.kind = TR_SWITCH, .pid = 2},
        {.kind = TR_ACCESS, .va = 0x1000, .size = 8, .acc = MM_LOAD},
        {.kind = TR_ACCESS, .va = vm, .size = 8, .acc = MM_LOAD, .priv = MM_SUPERVISOR},
        {.kind = TR_SWITCH, .pid = 1},
        {.kind = TR_ACCESS, .va = vm + 8, .size = 8, .acc = MM_STORE, .priv = MM_SUPERVISOR},
        {.kind = TR_ACCESS, .va = 0x200000, .size = 4, .acc = MM_IFETCH},
        {.kind = TR_FORK, .pid = 1, .child = 7},
        {.kind = TR_INSTR, .count = 5, .cpu = 2},
    };
    trace_meta meta;
    memset(&meta, 0, sizeof meta);
    strcpy(meta.source, "test");
    char err[512];
    trace_writer *w = trace_writer_open(path, &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        cr_assert_eq(trace_write(w, &recs[i]), 0, "%s", trace_writer_error(w));
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);

    trace_reader *r = trace_reader_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(trace_info(r, path, f, err, sizeof err), 0, "%s", err);
    fclose(f);
    trace_reader_close(r);
    unlink(path);
    static const char *const want[] = {
        "source: test\n", "records: 12\n", "records.access: 6\n", "records.instr: 2\n", "records.event: 4\n",
        "accesses.load: 3\n", "accesses.store: 2\n", "accesses.ifetch: 1\n", "accesses.user: 4\n",
        "accesses.supervisor: 2\n", "instructions: 12\n", "events.switch: 3\n", "events.fork: 1\n",
        "footprint.4k: 4 pages (16 KiB)\n", "footprint.2m: 4 pages (8 MiB)\n", "footprint.1g: 3 pages (3 GiB)\n",
        "processes: 3 (pids 1 2 7)\n", "cpus: 2\n", "file.bytes: ", "file.bytes_per_access: ",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(text, want[i]), "'%s' not in:\n%s", want[i], text);
    free(text);
}
