/* embed_core.c -- mmusim's MMU inside another simulator.
 *
 * A host simulator has its own memory, builds its own page tables in it and
 * times its own memory accesses.  It embeds an MMU (TLBs, page-walk caches,
 * walkers of a real core's configuration) with mmu_create_with_port: the
 * walker reads and updates the tables only through the port below, and the
 * host calls mmu_access for every access its core makes.  A translation
 * that faults comes back as res.fault with the x86 error code; the host's
 * OS maps the page in its tables and the core retries.
 *
 * The host here is a toy: 16 MiB of RAM, an x86-64 4-level page-table
 * builder, memory reads of READ_CYCLES and locked updates of RMW_CYCLES, a
 * blocking in-order core (each access issues when the previous one is
 * done), demand paging that costs FAULT_CYCLES.  The workload loads 32
 * pages in order, twice; it prints what the host and the MMU counted.  On
 * the skylake preset (L1 1 cycle, STLB 9, page-walk caches 1):
 *
 *   first pass: 32 faults; each page walks twice (the walk that faults,
 *     then the retry's): 64 dTLB misses.  Page 0: the walk finds the PML4
 *     entry empty, 10 + 1 + 60 cycles; the fault, 1000; the retry's walk
 *     reads and sets A in all four levels, 10 + 1 + 4 x 60 + 4 x 80: 1642.
 *     Pages 1-31: the PD entry is in the page-walk cache, so each walk reads
 *     the PTE alone: 71 + 1000 + (10 + 1 + 60 + 80) = 1222.  39,524 cycles,
 *     page-table reads 1 + 4 + 31 x 2 = 67, A updates 4 + 31 = 35.
 *   second pass: 32 L1 hits of 1 cycle (32 pages fit the 64-entry dTLB).
 *
 * Build: cc embed_core.c $(pkg-config --cflags --libs mmusim)
 * Run:   ./a.out [PRESET]   (default skylake) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmusim/mmusim.h>

#define RAM_BYTES (16u << 20)
#define READ_CYCLES 60          /* a page-table read from the host's memory */
#define RMW_CYCLES 80           /* a locked A/D update */
#define FAULT_CYCLES 1000       /* the host OS's page-fault handler */
#define HEAP 0x40000000ull      /* where the workload's pages are */
#define PAGES 32

/* ---- the host's memory and page tables ---- */

typedef struct host {
    uint8_t *ram;
    uint64_t next_table;        /* bump allocator for table pages */
    uint64_t next_frame;        /* data frames: numbers only, never touched */
    uint64_t root;              /* the PML4's physical address (CR3) */
    uint64_t reads, rmws, faults;
} host;

static uint64_t ram_read(const host *h, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, h->ram + pa, 8);   /* x86 is little-endian, as is this host */
    return v;
}

static void ram_write(host *h, uint64_t pa, uint64_t v)
{
    memcpy(h->ram + pa, &v, 8);
}

static uint64_t new_table(host *h)
{
    uint64_t pa = h->next_table;
    h->next_table += 4096;   /* RAM is zeroed: the table is empty */
    return pa;
}

/* Map the 4 KiB page at va to a new frame: present, writable, user; the
 * tables on the way are made as needed. */
static void map_page(host *h, uint64_t va)
{
    uint64_t table = h->root;
    for (unsigned level = 4; level > 1; level--) {
        uint64_t epa = table + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
        uint64_t e = ram_read(h, epa);
        if (!(e & PTE_P)) {
            e = new_table(h) | PTE_P | PTE_RW | PTE_US;
            ram_write(h, epa, e);
        }
        table = e & 0x000ffffffffff000ull;
    }
    ram_write(h, table + ((va >> 12) & 511) * 8, h->next_frame | PTE_P | PTE_RW | PTE_US);
    h->next_frame += 4096;
}

/* ---- the MMU's memory port on the host's memory ---- */

static unsigned port_read(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t *value, unsigned *src)
{
    host *h = ctx;
    (void)level;
    (void)now;
    h->reads++;
    *value = ram_read(h, pa);
    *src = 0;
    return READ_CYCLES;
}

/* Set A/D: one atomic OR (this host has one core, so nothing interleaves). */
static unsigned port_rmw(void *ctx, uint64_t pa, unsigned level, mm_cycle now, uint64_t bits, uint64_t *old,
                         unsigned *src)
{
    host *h = ctx;
    (void)level;
    (void)now;
    h->rmws++;
    *old = ram_read(h, pa);
    ram_write(h, pa, *old | bits);
    *src = 0;
    return RMW_CYCLES;
}

static uint64_t port_peek(void *ctx, uint64_t pa)
{
    return ram_read(ctx, pa);
}

/* ---- the core ---- */

/* One load, faults handled by the host: the cycle it is done. */
static mm_cycle load(mmu *m, host *h, uint64_t va)
{
    mmu_result r;
    for (;;) {
        mmu_access(m, va, MM_LOAD, MM_USER, &r);
        mmu_advance(m, r.done);   /* blocking core: the next access waits for this one */
        if (!r.fault)
            return r.done;
        if (r.error_code & PF_P) {
            fprintf(stderr, "embed_core: protection fault at 0x%" PRIx64 "\n", va);
            exit(1);
        }
        h->faults++;
        map_page(h, va);
        mmu_advance(m, r.done + FAULT_CYCLES);
    }
}

static uint64_t counter(mmu *m, const char *name)
{
    stats *s = stats_create();
    mmu_export_stats(m, s);
    uint64_t v = stats_get(s, name, NULL);
    stats_free(s);
    return v;
}

int main(int argc, char **argv)
{
    const char *preset = argc > 1 ? argv[1] : "skylake";
    char err[CFG_ERR_MAX];
    mm_config cfg;
    if (cfg_load(&cfg, preset, err, sizeof err) != 0) {
        fprintf(stderr, "embed_core: %s\n", err);
        return 2;
    }
    host h = {.ram = calloc(1, RAM_BYTES), .next_table = 0x1000, .next_frame = 0x100000000ull};
    if (!h.ram)
        return 1;
    h.root = new_table(&h);
    walker_mem port = {.read = port_read, .rmw = port_rmw, .peek = port_peek, .ctx = &h};
    mmu *m = mmu_create_with_port(&cfg, 0, &port, err, sizeof err);
    if (!m) {
        fprintf(stderr, "embed_core: %s\n", err);
        return 2;
    }
    mmu_write_cr3(m, h.root, 1, false);

    mm_cycle t = 0;
    for (int pass = 1; pass <= 2; pass++) {
        uint64_t misses0 = counter(m, "dTLB-load-misses"), faults0 = h.faults;
        mm_cycle t0 = t;
        for (uint64_t p = 0; p < PAGES; p++)
            t = load(m, &h, HEAP + p * 4096 + 8 * p);
        printf("pass %d: %d loads, %" PRIu64 " faults, %" PRIu64 " dTLB misses, %" PRIu64 " cycles\n", pass, PAGES,
               h.faults - faults0, counter(m, "dTLB-load-misses") - misses0, t - t0);
    }
    printf("walks %" PRIu64 ", faulting %" PRIu64 "; page-table reads %" PRIu64 " (port: %" PRIu64
           "), A/D updates %" PRIu64 "; tables %" PRIu64 " KiB\n",
           counter(m, "walker.walks"), counter(m, "walker.faults"), h.reads, counter(m, "walker.pte_reads.port"),
           h.rmws, (h.next_table - 0x1000) / 1024);
    printf("mmusim %s, preset %s\n", mmusim_version(), cfg.name);
    mmu_free(m);
    free(h.ram);
    return 0;
}
