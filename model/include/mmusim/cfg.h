/* cfg.h -- the model's configuration: one plain struct, loaded from YAML.
 *
 * Every parameter has a dotted key ("dtlb.4k.sets") in one key table in
 * cfg.c; the YAML loader, `--set KEY=VALUE`, `config show` and the JSON/CSV
 * reports all go through that table, so a key cannot be known to one and not
 * the others.  The YAML tree mirrors the hardware (Ramulator 2 style):
 *
 *   name, description, seed
 *   cpu:      mode, pa_bits, cpus, context, nr_asids, wp, smep, smap
 *   frontend: issue_width, max_outstanding
 *   itlb/dtlb/stlb: latency, [stlb only: inclusive],
 *             4k/2m/1g: {sets, ways, replacement, holds}
 *   pwc:      design, latency, pml5/pml4/pdpt/pd/unified: {sets, ways, replacement}
 *   walker:   walkers, merge
 *   memsys:   model, fixed_latency, line_bytes, dram_latency, rmw_latency,
 *             l1d/l2/llc: {sets, ways, latency, replacement}
 *   os:       phys_mem_mib, frames, exhaustion, thp, minor/major/cow fault
 *             cycles, vmalloc_sync_cycles, switch_cycles, shootdown_cycles,
 *             flush_ceiling, kpti, kernel_global, quantum
 *
 * TLB arrays: each level has three slots named after the page size they
 * normally hold.  A slot with ways 0 is absent.  `holds` lists the sizes the
 * slot's array holds (e.g. Skylake's STLB 4k slot holds [4k, 2m]); a size
 * held by no slot is not cached at that level.  In x86-32 mode the 2m slot
 * holds 4 MiB pages.
 *
 * Errors: every failure writes one line "FILE:LINE: KEY: problem" (or
 * "--set KEY=VALUE: problem") into the caller's buffer; the caller prints it
 * and exits with status 2. */
#ifndef MMUSIM_CFG_H
#define MMUSIM_CFG_H

#include <stdio.h>

#include "mmusim/memsys.h"
#include "mmusim/paging.h"
#include "mmusim/pwc.h"
#include "mmusim/tlb.h"
#include "mmusim/types.h"

/* How a context switch (a CR3 write) treats the TLBs. */
typedef enum ctx_policy {
    CTX_NOPCID = 0,  /* no PCID: every CR3 write flushes all non-global entries */
    CTX_PCID,        /* one PCID per address space, CR3 writes use the no-flush bit */
    CTX_RECYCLE,     /* Linux-style: nr_asids dynamic ASIDs per CPU, reused round-robin;
                        reusing one for another address space flushes it */
    CTX_COUNT
} ctx_policy;

const char *ctx_policy_name(ctx_policy p);   /* "nopcid", "pcid", "recycle" */
int ctx_policy_by_name(const char *name);

/* Physical frame allocation (frames.h). */
typedef enum frame_policy {
    FRAMES_SEQUENTIAL = 0,  /* lowest free frame first */
    FRAMES_SHUFFLED,        /* a seeded random free frame (like page_alloc.shuffle=1) */
    FRAMES_BUDDY,           /* a binary buddy allocator: fragmentation decides 2 MiB availability */
    FRAMES_POLICY_COUNT
} frame_policy;
const char *frame_policy_name(frame_policy p);   /* "sequential", "shuffled", "buddy" */
int frame_policy_by_name(const char *name);

/* What happens when physical memory runs out. */
typedef enum exhaust_policy {
    EXHAUST_STOP = 0,   /* stop the replay and report (out of memory) */
    EXHAUST_RECLAIM,    /* evict pages (clock); touching them again is a major fault */
    EXHAUST_POLICY_COUNT
} exhaust_policy;
const char *exhaust_policy_name(exhaust_policy p);   /* "stop", "reclaim" */
int exhaust_policy_by_name(const char *name);

/* Transparent huge pages (Linux /sys/kernel/mm/transparent_hugepage/enabled). */
typedef enum thp_policy {
    THP_NEVER = 0,
    THP_ALWAYS,
    THP_MADVISE,        /* only ranges marked OS_MAP_THP (madvise) */
    THP_POLICY_COUNT
} thp_policy;
const char *thp_policy_name(thp_policy p);   /* "never", "always", "madvise" */
int thp_policy_by_name(const char *name);

typedef struct tlb_level_cfg {
    unsigned latency;   /* lookup latency in cycles (hit latency) */
    tlb_cfg tlb;        /* arrays in slot order 4k, 2m, 1g; absent slots have ways 0 */
} tlb_level_cfg;

#define CFG_NAME_MAX 64
#define CFG_DESC_MAX 256

typedef struct mm_config {
    char name[CFG_NAME_MAX];
    char description[CFG_DESC_MAX];
    uint64_t seed;                /* seeds every random choice of the model */

    struct {
        paging_kind mode;
        unsigned pa_bits;         /* MAXPHYADDR, 32..52 */
        unsigned cpus;            /* 1..64 */
        ctx_policy context;
        unsigned nr_asids;        /* CTX_RECYCLE: dynamic ASIDs per CPU, 1..4095 */
        bool wp, smep, smap;      /* CR0.WP, CR4.SMEP, CR4.SMAP */
    } cpu;

    struct {
        unsigned issue_width;     /* accesses issued per cycle, >= 1 */
        unsigned max_outstanding; /* translations in flight, 1..256 (1 = blocking) */
    } frontend;

    tlb_level_cfg itlb, dtlb, stlb;
    bool stlb_inclusive;          /* evicting from the STLB back-invalidates the L1s */

    pwc_cfg pwc;

    struct {
        unsigned walkers;         /* concurrent walks, 1..64 */
        bool merge;               /* merge walks to the same page */
    } walker;

    memsys_cfg memsys;

    /* The OS model (os.h, frames.h).  Cycle costs are charged to the CPU
     * that takes the fault or sends the IPI, as front-end stall time. */
    struct {
        unsigned phys_mem_mib;        /* physical memory, MiB (frames for pages and page tables) */
        frame_policy frames;          /* sequential | shuffled | buddy */
        exhaust_policy exhaustion;    /* stop | reclaim */
        thp_policy thp;               /* never | always | madvise */
        unsigned minor_fault_cycles;  /* demand-zero or page-cache-hit fault, handler cost */
        unsigned major_fault_cycles;  /* fault that reads a file page (or a reclaimed page) */
        unsigned cow_fault_cycles;    /* write fault that copies a page (or restores write) */
        unsigned vmalloc_sync_cycles; /* kernel fault that copies a top-level entry */
        unsigned switch_cycles;       /* context switch, besides its CR3 write */
        unsigned shootdown_cycles;    /* initiator's cost of one TLB-shootdown IPI round */
        unsigned flush_ceiling;       /* munmap: per-page INVLPG up to this many pages, else full flush
                                         (Linux tlb_single_page_flush_ceiling = 33) */
        bool kpti;                    /* separate user/kernel CR3, switched on every kernel entry/exit */
        bool kernel_global;           /* kernel mappings carry the G bit */
        unsigned quantum;             /* accesses per time slice when traces share a CPU (replay.h) */
    } os;
} mm_config;

/* The built-in default (the Skylake preset's values), without any file. */
void cfg_defaults(mm_config *c);

/* Load YAML from a file over the current contents of *c (start from
 * cfg_defaults or a preset).  Every key present must be known; keys absent
 * keep their value.  Returns 0, or -1 with one line in err. */
int cfg_load_file(mm_config *c, const char *path, char *err, size_t errlen);
/* Same from a string; `origin` names it in messages. */
int cfg_load_string(mm_config *c, const char *yaml, const char *origin, char *err, size_t errlen);

/* Presets compiled into the library from the configs folder's YAML files. */
size_t cfg_preset_count(void);
const char *cfg_preset_name(size_t i);
const char *cfg_preset_yaml(const char *name);   /* NULL if unknown */
#define CFG_DEFAULT_PRESET "skylake"

/* --config ARG: a preset name, or else a file path.  Starts from the
 * defaults. */
int cfg_load(mm_config *c, const char *arg, char *err, size_t errlen);

/* --set KEY=VALUE. */
int cfg_set(mm_config *c, const char *assignment, char *err, size_t errlen);

/* Cross-field checks (power-of-two sets, a size held twice, ranges,
 * nr_asids, ...).  Returns 0 or -1 with one line in err naming the key. */
int cfg_validate(const mm_config *c, char *err, size_t errlen);

/* Every key with its current value as text, in table order.  The callback
 * gets the dotted key and the value ("16", "lru", "[4k, 2m]", "true"). */
void cfg_foreach(const mm_config *c, void (*fn)(const char *key, const char *value, void *ctx), void *ctx);

/* Write the config as YAML (nested, in table order) -- `config show`. */
void cfg_write_yaml(const mm_config *c, FILE *out);

/* The paging mode the config selects. */
const paging_mode *cfg_mode(const mm_config *c);

#endif
