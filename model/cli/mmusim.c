/* mmusim.c -- the command-line program over libmmusim.
 *
 *   mmusim run    replay traces and report the counters (run_cmd.c)
 *   mmusim walk   explain one translation step by step
 *   mmusim config show | check | list
 *
 * Bad arguments and bad configs end with exit status 2 and one line on
 * stderr naming the problem; a usage error names the argument. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/cfg.h"
#include "mmusim/memsys.h"
#include "mmusim/mmu.h"
#include "mmusim/paging.h"
#include "mmusim/physmem.h"
#include "mmusim/report.h"
#include "mmusim/stats.h"
#include "cli.h"
#include "run_cmd.h"
#include "sweep_cmd.h"
#include "trace_cmd.h"


/* Page tables of `mmusim walk` are allocated from this physical range, so
 * they stay clear of the frames a user maps with --map below it. */
#define WALK_TABLES_BASE 0x70000000ull
#define WALK_TABLES_LIMIT 0x80000000ull


static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* ---- mmusim walk ---- */

static const char walk_usage[] =
    "usage: mmusim walk [--config PRESET|FILE] [--set KEY=VALUE]... [--mode x86-64|la57|pae|x86-32]\n"
    "                   --va ADDR [--map VA:PA:SIZE[:FLAGS]]... [--kind load|store|ifetch]\n"
    "                   [--priv user|supervisor] [--json|--csv]\n"
    "\n"
    "Builds page tables from the --map options, translates one access through the\n"
    "TLBs, page-walk caches and walker of the configured core, and explains every\n"
    "step: the index at each level, the entry's address and value, page-walk-cache\n"
    "hits, the cycles of each step, and the result or the page fault.\n"
    "\n"
    "  --va ADDR        virtual address to translate (decimal or 0x-hex)\n"
    "  --map VA:PA:SIZE[:FLAGS]\n"
    "                   map one page of SIZE (4k, 2m, 4m, 1g) at VA to PA.  FLAGS is a\n"
    "                   set of letters: w writable, u user, x executable (else XD),\n"
    "                   g global, a accessed, d dirty, c cache-disable, t write-through.\n"
    "                   Default FLAGS: wux.  Page tables are allocated from physical\n"
    "                   0x70000000 upward.\n"
    "  --kind K         load (default), store or ifetch\n"
    "  --priv P         user (default) or supervisor\n"
    "  --json, --csv    print the walk's counters as JSON or CSV instead of text\n"
    "  --mode M         paging mode (same as --set cpu.mode=M)\n"
    "\n"
    "Exit status: 0 translated; 1 the access faulted, or standard output could\n"
    "not be written (then one line on stderr says so); 2 bad arguments or config.\n";

typedef struct page_map {
    uint64_t va, pa, flags;
    unsigned shift;
} page_map;

static unsigned parse_size(const char *s)
{
    if (!strcmp(s, "4k") || !strcmp(s, "4K"))
        return 12;
    if (!strcmp(s, "2m") || !strcmp(s, "2M"))
        return 21;
    if (!strcmp(s, "4m") || !strcmp(s, "4M"))
        return 22;
    if (!strcmp(s, "1g") || !strcmp(s, "1G"))
        return 30;
    return 0;
}

static page_map parse_map(const char *arg)
{
    char buf[256];
    if (strlen(arg) >= sizeof buf)
        die("walk: --map %s: too long", arg);
    strcpy(buf, arg);
    char *f[4] = {0};
    unsigned n = 0;
    for (char *p = buf; n < 4; n++) {
        f[n] = p;
        p = strchr(p, ':');
        if (!p) {
            n++;
            break;
        }
        *p++ = 0;
    }
    if (n < 3)
        die("walk: --map %s: expected VA:PA:SIZE[:FLAGS]", arg);
    page_map m = {0};
    if (!parse_u64(f[0], &m.va))
        die("walk: --map %s: bad VA '%s'", arg, f[0]);
    if (!parse_u64(f[1], &m.pa))
        die("walk: --map %s: bad PA '%s'", arg, f[1]);
    if (!(m.shift = parse_size(f[2])))
        die("walk: --map %s: bad SIZE '%s' (4k, 2m, 4m or 1g)", arg, f[2]);
    const char *flags = f[3] ? f[3] : "wux";
    m.flags = PTE_XD;
    for (const char *c = flags; *c; c++) {
        switch (*c) {
        case 'w': m.flags |= PTE_RW; break;
        case 'u': m.flags |= PTE_US; break;
        case 'x': m.flags &= ~PTE_XD; break;
        case 'g': m.flags |= PTE_G; break;
        case 'a': m.flags |= PTE_A; break;
        case 'd': m.flags |= PTE_D; break;
        case 'c': m.flags |= PTE_PCD; break;
        case 't': m.flags |= PTE_PWT; break;
        case 'r': break;
        default: die("walk: --map %s: unknown flag '%c' (w u x g a d c t)", arg, *c);
        }
    }
    return m;
}

static void entry_flags(const paging_mode *m, unsigned level, uint64_t e, char *buf, size_t len)
{
    static const struct { uint64_t bit; const char *name; } names[] = {
        {PTE_P, "P"}, {PTE_RW, "RW"}, {PTE_US, "US"}, {PTE_PWT, "PWT"}, {PTE_PCD, "PCD"},
        {PTE_A, "A"}, {PTE_D, "D"}, {PTE_PS, "PS"}, {PTE_G, "G"}, {PTE_XD, "XD"},
    };
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(e & names[i].bit) || (names[i].bit == PTE_XD && !m->has_xd))
            continue;
        if (names[i].bit == PTE_PS && level == 1)
            continue; /* bit 7 of a PTE is PAT */
        o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", names[i].name);
        if (o >= len)
            break;
    }
}

static const char *kind_name(mm_kind k)
{
    return k == MM_STORE ? "store" : k == MM_IFETCH ? "ifetch" : "load";
}

static const char *page_size_name(unsigned shift)
{
    switch (shift) {
    case 12: return "4 KiB";
    case 21: return "2 MiB";
    case 22: return "4 MiB";
    case 30: return "1 GiB";
    }
    return "?";
}

static void explain_walk(const mm_config *cfg, const paging_mode *pm, const memsys *ms, const mmu_result *res,
                         const walk_result *w, unsigned va_digits)
{
    unsigned l1 = cfg->dtlb.latency, l2 = cfg->stlb.latency;
    if (res->where == MMU_L1_HIT) {
        printf("  cycle %" PRIu64 ": L1 TLB hit (%u cycle%s)\n", res->issue, l1, l1 == 1 ? "" : "s");
        return;
    }
    printf("  cycle %" PRIu64 ": L1 TLB miss (%u cycle%s), STLB miss (%u cycle%s): walk requested at cycle %" PRIu64
           "\n", res->issue, l1, l1 == 1 ? "" : "s", l2, l2 == 1 ? "" : "s", w->request);
    if (w->start != w->request)
        printf("  cycle %" PRIu64 ": walker free after %" PRIu64 " cycles in the queue\n", w->start,
               w->start - w->request);
    mm_cycle t = w->start;
    if (cfg->pwc.design == PWC_SPLIT || cfg->pwc.design == PWC_UNIFIED) {
        if (w->pwc_level)
            printf("  cycle %" PRIu64 ": page-walk cache (%s): hit on the %s (%s) entry, skipping %u level%s "
                   "(%u cycle%s)\n", t, pwc_design_name(cfg->pwc.design), pm->linux_name[w->pwc_level],
                   pm->intel_name[w->pwc_level], pm->levels - w->pwc_level + 1,
                   pm->levels - w->pwc_level + 1 == 1 ? "" : "s", cfg->pwc.latency,
                   cfg->pwc.latency == 1 ? "" : "s");
        else
            printf("  cycle %" PRIu64 ": page-walk cache (%s): miss (%u cycle%s)\n", t,
                   pwc_design_name(cfg->pwc.design), cfg->pwc.latency, cfg->pwc.latency == 1 ? "" : "s");
        t += cfg->pwc.latency;
    }
    unsigned ew = pm->entry_bytes * 2;
    for (unsigned i = 0; i < w->nsteps; i++) {
        const walk_step *s = &w->step[i];
        char flags[64];
        entry_flags(pm, s->level, s->entry, flags, sizeof flags);
        const char *src = s->src == WALK_SRC_PTE_CACHE ? "pte-cache" : memsys_source_name(ms, s->src);
        printf("  cycle %-6" PRIu64 " %-4s (%-4s) index %4u  entry @0x%09" PRIx64 " = 0x%0*" PRIx64 "  [%s]  %s, %u cycles\n",
               t, pm->linux_name[s->level], pm->intel_name[s->level], paging_index(pm, s->level, w->va),
               s->entry_pa, (int)ew, s->entry, flags, src, s->latency);
        t += s->latency;
    }
    for (unsigned i = 0; i < w->nwrites; i++) {
        const walk_write *wr = &w->write[i];
        printf("  cycle %-6" PRIu64 " A/D update: locked RMW of entry @0x%09" PRIx64 " -> 0x%0*" PRIx64 ", %u cycles\n",
               t, wr->entry_pa, (int)ew, wr->value, wr->latency);
        t += wr->latency;
    }
    if (w->fault) {
        char ec[96];
        walker_ec_string(w->error_code, ec, sizeof ec);
        printf("  cycle %" PRIu64 ": PAGE FAULT at the %s (%s) level: error code 0x%x (%s), CR2 = 0x%0*" PRIx64 "\n",
               w->end, pm->linux_name[w->fault_level], pm->intel_name[w->fault_level], w->error_code, ec,
               (int)va_digits, w->va);
    } else {
        unsigned off_bits = w->shift;
        printf("  offset 0x%" PRIx64 " (%u bits)\n", (uint64_t)(w->va & ((1ull << off_bits) - 1)), off_bits);
        printf("  cycle %" PRIu64 ": translated: pa 0x%" PRIx64 ", %s page, %s %s %s%s, walk %" PRIu64
               " cycles, access %" PRIu64 " cycles\n", w->end, w->pa, page_size_name(w->shift),
               (w->perm & TLB_W) ? "writable" : "read-only", (w->perm & TLB_U) ? "user" : "supervisor",
               (w->perm & TLB_X) ? "executable" : "no-exec", (w->perm & TLB_G) ? " global" : "",
               w->end - w->start, res->done - res->issue);
    }
}

/* `mmusim walk`'s arguments, checked. */
typedef struct walk_args {
    common_opts o;
    uint64_t va;
    mm_kind kind;
    mm_priv priv;
    report_format fmt;
    page_map maps[256];
    unsigned nmaps;
} walk_args;

static void parse_walk(int argc, char **argv, walk_args *a)
{
    const char *maps_s[sizeof a->maps / sizeof a->maps[0]];
    const char *va_s = NULL, *kind_s = "load", *priv_s = "user", *json = NULL, *csv = NULL;
    const cli_opt opts[] = {
        CLI_COMMON_OPTS(&a->o),
        {.name = "--va", .nvals = 1, .val = &va_s},
        {.name = "--map", .nvals = 1, .list = maps_s, .count = &a->nmaps, .max = sizeof maps_s / sizeof maps_s[0]},
        {.name = "--kind", .nvals = 1, .val = &kind_s},
        {.name = "--priv", .nvals = 1, .val = &priv_s},
        {.name = "--json", .val = &json},
        {.name = "--csv", .val = &csv},
        {0},
    };
    const cli_cmd cmd = {.name = "walk", .usage = walk_usage, .opts = opts};
    cli_parse(&cmd, argc, argv, NULL);
    if (json && csv)
        die("walk: --json and --csv exclude each other");
    a->fmt = json ? REPORT_JSON : csv ? REPORT_CSV : REPORT_TEXT;
    if (!va_s)
        die("walk: --va ADDR is required (see mmusim walk --help)");
    if (!parse_u64(va_s, &a->va))
        die("walk: --va %s: not an address", va_s);
    if (!strcmp(kind_s, "load")) a->kind = MM_LOAD;
    else if (!strcmp(kind_s, "store")) a->kind = MM_STORE;
    else if (!strcmp(kind_s, "ifetch")) a->kind = MM_IFETCH;
    else die("walk: --kind %s: expected load, store or ifetch", kind_s);
    if (!strcmp(priv_s, "user")) a->priv = MM_USER;
    else if (!strcmp(priv_s, "supervisor")) a->priv = MM_SUPERVISOR;
    else die("walk: --priv %s: expected user or supervisor", priv_s);
    for (unsigned i = 0; i < a->nmaps; i++)
        a->maps[i] = parse_map(maps_s[i]);
}

/* Map every --map page into pt, or die naming the one that cannot be. */
static void map_pages(pgtable *pt, const paging_mode *pm, const walk_args *a)
{
    for (unsigned i = 0; i < a->nmaps; i++) {
        const page_map *p = &a->maps[i];
        if (!paging_va_ok(pm, p->va))
            die("walk: --map 0x%" PRIx64 ":...: address out of range for %s", p->va, pm->name);
        pgtable_err e = pgtable_map(pt, p->va, p->pa, 1ull << p->shift, p->shift, p->flags);
        if (e != PGT_OK)
            die("walk: --map 0x%" PRIx64 ":0x%" PRIx64 ":%s: %s", p->va, p->pa, page_size_name(p->shift),
                pgtable_strerror(e));
    }
}

static int cmd_walk(int argc, char **argv)
{
    walk_args a = {0};
    parse_walk(argc, argv, &a);
    mm_config cfg;
    a.o.mmu_only = true;   /* no OS model: its memory need not fit the paging mode */
    load_config(&a.o, &cfg);
    const paging_mode *pm = cfg_mode(&cfg);
    unsigned va_digits = pm->va_bits > 32 ? 16 : 8;
    if (!paging_va_ok(pm, a.va))
        die("walk: --va 0x%" PRIx64 ": address out of range for %s (%u-bit%s)", a.va, pm->name, pm->va_bits,
            pm->canonical ? ", canonical" : "");

    char err[CFG_ERR_MAX];
    physmem *mem = physmem_create(cfg.cpu.pa_bits, WALK_TABLES_BASE, WALK_TABLES_LIMIT, err, sizeof err);
    pgtable *pt = mem ? pgtable_create(pm, mem, NULL, err, sizeof err) : NULL;
    memsys *ms = pt ? memsys_create(&cfg.memsys, err, sizeof err) : NULL;
    mmu *m = ms ? mmu_create(&cfg, 0, mem, ms, err, sizeof err) : NULL;
    if (!m)
        die("walk: %s", err);
    map_pages(pt, pm, &a);
    mmu_write_cr3(m, pgtable_root(pt), 1, false);

    mmu_result res;
    mmu_access(m, a.va, a.kind, a.priv, &res);
    if (a.fmt == REPORT_TEXT) {
        printf("mmusim walk: %s %s of 0x%0*" PRIx64 " in %s mode (%u levels), preset %s, CR3 0x%" PRIx64 "\n",
               a.priv == MM_USER ? "user" : "supervisor", kind_name(a.kind), (int)va_digits, a.va, pm->name,
               pm->levels, cfg.name, pgtable_root(pt));
        explain_walk(&cfg, pm, ms, &res, mmu_last_walk(m), va_digits);
        if (!res.fault) {
            /* Issued after the walk's fills land, the repeat hits the L1. */
            mmu_advance(m, res.done);
            mmu_result again;
            mmu_access(m, a.va, a.kind, a.priv, &again);
            printf("  again at cycle %" PRIu64 ": %s, done at cycle %" PRIu64 " (%" PRIu64 " cycle(s))\n", again.issue,
                   again.where == MMU_L1_HIT     ? "L1 TLB hit"
                   : again.where == MMU_STLB_HIT ? "STLB hit"
                   : again.where == MMU_MERGED   ? "merged with the walk"
                                                 : "walk",
                   again.done, again.done - again.issue);
        }
    } else {
        stats *s = stats_create();
        mmu_export_stats(m, s);
        report_write(stdout, a.fmt, s, &cfg, "mmusim walk");
        stats_free(s);
    }
    int status = res.fault ? 1 : 0;
    mmu_free(m);
    memsys_free(ms);
    pgtable_free(pt);
    physmem_free(mem);
    return status;
}

/* ---- mmusim config ---- */

static const char config_usage[] =
    "usage: mmusim config show [PRESET|FILE] [--set KEY=VALUE]...\n"
    "       mmusim config check FILE...\n"
    "       mmusim config list\n"
    "\n"
    "show   print the effective configuration as YAML (default preset: " CFG_DEFAULT_PRESET ")\n"
    "check  load and validate each file as run --config FILE would; print 'FILE: ok' or the first error\n"
    "list   list the built-in presets\n"
    "\n"
    "Exit status: 0 ok; 1 standard output could not be written (a closed pipe, a\n"
    "full disk); 2 a bad config or argument.\n";

static int config_show(int argc, char **argv)
{
    common_opts o = {0};
    const cli_opt opts[] = {CLI_COMMON_OPTS(&o), {0}};
    const cli_cmd cmd = {.name = "config show", .usage = config_usage, .opts = opts, .maxpos = 1};
    if (cli_parse(&cmd, argc, argv, NULL)) {
        if (o.config)
            die("config show: --config given twice");   /* PRESET|FILE is --config's value */
        o.config = argv[1];
    }
    mm_config cfg;
    load_config(&o, &cfg);
    cfg_write_yaml(&cfg, stdout);
    return 0;
}

/* Each file loaded and validated as `run --config FILE` does. */
static int config_check(int argc, char **argv)
{
    const cli_cmd cmd = {.name = "config check", .usage = config_usage, .maxpos = -1};
    int n = cli_parse(&cmd, argc, argv, NULL);
    if (n == 0)
        die("config check: expected FILE...");
    for (int i = 1; i <= n; i++) {
        mm_config cfg;
        char err[CFG_ERR_MAX];
        cfg_defaults(&cfg);
        if (cfg_load_file(&cfg, argv[i], err, sizeof err) != 0 || cfg_validate(&cfg, err, sizeof err) != 0)
            die("%s", err);
        printf("%s: ok\n", argv[i]);
    }
    return 0;
}

static int config_list(int argc, char **argv)
{
    const cli_cmd cmd = {.name = "config list", .usage = config_usage};
    cli_parse(&cmd, argc, argv, NULL);
    for (size_t i = 0; i < cfg_preset_count(); i++) {
        mm_config c;
        char err[512];
        if (cfg_load(&c, cfg_preset_name(i), err, sizeof err) != 0)
            die("%s", err);
        printf("%-14s %s\n", cfg_preset_name(i), c.description);
    }
    return 0;
}

static int cmd_config(int argc, char **argv)
{
    if (argc < 2)
        die("config: expected show, check or list (see mmusim config --help)");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(config_usage, stdout);
        return 0;
    }
    if (!strcmp(sub, "show"))
        return config_show(argc - 1, argv + 1);
    if (!strcmp(sub, "check"))
        return config_check(argc - 1, argv + 1);
    if (!strcmp(sub, "list"))
        return config_list(argc - 1, argv + 1);
    die("config: unknown subcommand '%s' (show, check, list)", sub);
}

static const char main_usage[] =
    "usage: mmusim COMMAND [ARGS]\n"
    "\n"
    "mmusim is a cycle-level model of a CPU's memory-management unit: TLBs,\n"
    "page-walk caches and page walkers over real x86 page tables.\n"
    "\n"
    "commands:\n"
    "  run      replay traces through the OS model and the MMUs, report counters\n"
    "  walk     explain one translation step by step\n"
    "  config   show, check or list configurations and presets\n"
    "  trace    import, export, record, generate and inspect traces\n"
    "  sweep    run every combination of a YAML sweep spec on a pool of workers\n"
    "\n"
    "Run 'mmusim COMMAND --help' for a command's options.  Every command reads\n"
    "them alike: --opt VALUE or --opt=VALUE (-I N or -IN); each option once,\n"
    "but --set and --map as often as needed; '--' ends the options; --help\n"
    "anywhere.\n";

int main(int argc, char **argv)
{
    cli_output_init();
    if (argc < 2) {
        fputs(main_usage, stderr);
        return EXIT_BAD_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        puts(CLI_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "walk"))
        return cmd_walk(argc - 1, argv + 1);
    if (!strcmp(cmd, "config"))
        return cmd_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "trace"))
        return cmd_trace(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep"))
        return cmd_sweep(argc - 1, argv + 1);
    die("unknown command '%s' (see mmusim --help)", cmd);
}
