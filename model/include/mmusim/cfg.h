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
 *   memsys:   model, scope, fixed_latency, line_bytes, dram_latency, rmw_latency,
 *             l1d/l2/llc/l1i: {sets, ways, latency, replacement}
 *   core:     model, cpi_milli (core.h: the first-order core model)
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
 * and exits with status 2.  The loader and cfg_set check one value at a
 * time; cfg_validate checks the rules between values, and names the same
 * locations: a config remembers where each key's value came from (see
 * cfg_origin). */
#ifndef MMUSIM_CFG_H
#define MMUSIM_CFG_H

#include <stdio.h>

#include "mmusim/memsys.h"
#include "mmusim/paging.h"
#include "mmusim/pwc.h"
#include "mmusim/tlb.h"
#include "mmusim/types.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* The core model that turns accesses into run time (core.h). */
typedef enum core_model {
    CORE_OFF = 0,        /* `cycles` is the MMU front end's clock (translation only) */
    CORE_FIRST_ORDER,    /* base CPI + cache-miss stalls + translation stalls (core.h) */
    CORE_MODEL_COUNT
} core_model;
const char *core_model_name(core_model m);   /* "off", "first-order" */
int core_model_by_name(const char *name);

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

#define CFG_NKEYS 110          /* keys in cfg.c's table (checked there at build time) */
#define CFG_ORIGIN_FILE_MAX 256

/* An err buffer this large holds every message whole: a file name, a key,
 * the problem, and where another key was set ("--set description=..." is
 * the longest). */
#define CFG_ERR_MAX 1024

/* Where each key's value came from, for cfg_validate's messages only: the
 * model never reads it, and nothing but cfg.c writes it.  line[] is in
 * key-table order; cfg.c encodes "not loaded or set" (the default, or a
 * value a program wrote into mm_config), "--set" and "set by a file loaded
 * before `file`" as values no line has.  One file name is kept: loading a
 * second file over a config forgets where the first one's keys were (their
 * messages then name the key only).  A name longer than the buffer keeps
 * its end, after "...".  A program that writes a field after a load
 * leaves the loaded value's origin in place. */
typedef struct cfg_origin {
    char file[CFG_ORIGIN_FILE_MAX];   /* the file or preset loaded last, as messages name it */
    uint32_t line[CFG_NKEYS];         /* the line of `file` that set the key, or a marker */
} cfg_origin;

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

    struct {
        core_model model;
        unsigned cpi_milli;       /* base cycles per 1000 instructions (CPI x 1000), 1..100000 */
    } core;

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

    cfg_origin origin;                /* last: out of the way of the fields the model reads */
} mm_config;

/* The built-in default (the Skylake preset's values), without any file. */
void cfg_defaults(mm_config *c);

/* Load YAML from a file over the current contents of *c (start from
 * cfg_defaults or a preset).  Every key present must be known; keys absent
 * keep their value; a file with no key at all (empty, or only comments)
 * is an error, so a config truncated to nothing does not pass for the
 * defaults.  Returns 0, or -1 with one line in err. */
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

/* Every rule a config must keep for the model to build a machine from it:
 * ranges and names of single values (for fields written directly), and
 * the rules between values (power-of-two sets of a present array, a
 * present array's page sizes, a size held twice at one level, memory the
 * paging mode and cpu.pa_bits can address, ...): os_create, tlb_create,
 * pwc_create and memsys_create check no rule a validated config breaks
 * (config check and run call this same function).
 * Returns 0, or -1 with one line in err: "FILE:LINE: KEY: problem",
 * "--set KEY=VALUE: problem", "default: KEY: problem", or "KEY: problem"
 * for a value written into mm_config directly.  A rule between two keys
 * names the one set last (--set over a file over the default) and says
 * where the other was set: "t.yaml:3: dtlb.4k.holds: 1g is also held by
 * dtlb.1g.holds (the default)". */
int cfg_validate(const mm_config *c, char *err, size_t errlen);
/* The rules an MMU alone needs: cfg_validate without the OS model's (the
 * physical memory os.phys_mem_mib must be addressable by the paging mode and
 * cpu.pa_bits), for programs that build an MMU without the OS model:
 * `mmusim walk`, a host simulator's core (model/examples). */
int cfg_validate_mmu(const mm_config *c, char *err, size_t errlen);

/* Every key with its current value as text, in table order.  The callback
 * gets the dotted key and the value ("16", "lru", "[4k, 2m]", "true"). */
void cfg_foreach(const mm_config *c, void (*fn)(const char *key, const char *value, void *ctx), void *ctx);
/* Whether key's value is a list (written "[a, b]" by cfg_foreach). */
bool cfg_key_is_list(const char *key);

/* Write the config as YAML (nested, in table order) -- `config show`. */
void cfg_write_yaml(const mm_config *c, FILE *out);

/* The paging mode the config selects. */
const paging_mode *cfg_mode(const mm_config *c);

#ifdef __cplusplus
}
#endif

#endif
