/* bench_translate.c -- translations per second of the MMU model.
 *
 * Two streams over the default preset (Skylake), each timed in this one
 * process run:
 *   l1-hit:    loads cycling over 32 pages -- every access after the first
 *              round hits the L1 dTLB (the replay hot path);
 *   stlb-miss: loads to uniformly random pages of a 4 GiB region of 4 KiB
 *              pages (1 Mi pages, far beyond the 1536-entry STLB), so nearly
 *              every access walks.
 * Prints one line per stream: accesses, seconds, translations per second,
 * and the L1/STLB hit rates that show the stream did what it says.
 * Usage: bench_translate [ACCESSES]   (default 20,000,000 / 2,000,000) */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mmusim/cfg.h"
#include "mmusim/memsys.h"
#include "mmusim/mmu.h"
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/stats.h"

#include "bench_util.h"


typedef struct rig {
    mm_config cfg;
    physmem *pm;
    pgtable *pt;
    memsys *ms;
    mmu *m;
} rig;

static void rig_init(rig *r, uint64_t base, uint64_t bytes)
{
    char err[256];
    if (cfg_load(&r->cfg, CFG_DEFAULT_PRESET, err, sizeof err) != 0 || cfg_validate(&r->cfg, err, sizeof err)) {
        fprintf(stderr, "bench: %s\n", err);
        exit(2);
    }
    if (!(r->pm = physmem_create(r->cfg.cpu.pa_bits, 1ull << 36, 1ull << 37, err, sizeof err)) ||
        !(r->pt = pgtable_create(cfg_mode(&r->cfg), r->pm, NULL, err, sizeof err)) ||
        !(r->ms = memsys_create(&r->cfg.memsys, err, sizeof err)) ||
        !(r->m = mmu_create(&r->cfg, 0, r->pm, r->ms, err, sizeof err))) {
        fprintf(stderr, "bench: %s\n", err);
        exit(2);
    }
    if (pgtable_map(r->pt, base, 0x100000000ull, bytes, 12, PTE_RW | PTE_US | PTE_A | PTE_D) != PGT_OK) {
        fprintf(stderr, "bench: cannot build the address space\n");
        exit(2);
    }
    mmu_write_cr3(r->m, pgtable_root(r->pt), 1, false);
}

static void rig_report(rig *r, const char *name, uint64_t n, double secs)
{
    stats *s = stats_create();
    mmu_export_stats(r->m, s);
    uint64_t loads = stats_get(s, "dTLB-loads", NULL), l1m = stats_get(s, "dTLB-load-misses", NULL);
    uint64_t stlbh = stats_get(s, "stlb.hits", NULL), walks = stats_get(s, "walker.walks", NULL);
    printf("%-10s %12" PRIu64 " accesses %8.3f s %14.0f translations/s  (L1 hit %.2f%%, STLB hit %.2f%% of L1 misses, %"
           PRIu64 " walks)\n", name, n, secs, (double)n / secs, 100.0 * (double)(loads - l1m) / (double)loads,
           l1m ? 100.0 * (double)stlbh / (double)l1m : 0.0, walks);
    stats_free(s);
    mmu_free(r->m);
    memsys_free(r->ms);
    pgtable_free(r->pt);
    physmem_free(r->pm);
}

int main(int argc, char **argv)
{
    uint64_t n_hit = 20000000, n_miss = 2000000;
    if (argc > 1) {
        n_hit = strtoull(argv[1], NULL, 0);
        n_miss = n_hit / 10 ? n_hit / 10 : 1;
    }
    const uint64_t base = 0x7f0000000000ull;
    mmu_result res;

    rig r;
    rig_init(&r, base, 32 * 4096);
    double t0 = now_s();
    for (uint64_t i = 0; i < n_hit; i++)
        mmu_access(r.m, base + ((i & 31) << 12) + (i & 0xff8), MM_LOAD, MM_USER, &res);
    rig_report(&r, "l1-hit", n_hit, now_s() - t0);

    rig_init(&r, base, 1ull << 32);
    uint64_t x = 88172645463325252ull;
    t0 = now_s();
    for (uint64_t i = 0; i < n_miss; i++) {
        x ^= x << 13; /* xorshift64: a fixed, seedless stream */
        x ^= x >> 7;
        x ^= x << 17;
        mmu_access(r.m, base + ((x >> 20) & 0xfffff) * 4096, MM_LOAD, MM_USER, &res);
    }
    rig_report(&r, "stlb-miss", n_miss, now_s() - t0);
    return 0;
}
