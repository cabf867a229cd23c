/* cfg.c -- the configuration: one key table, the YAML loader, --set, the
 * cross-field checks and the YAML writer (see cfg.h).
 *
 * Everything goes through cfg_keys[] below: one row per dotted key with its
 * type, where it lives in mm_config (offsetof) and, for unsigned keys, the
 * range a single value must be in.  The loader, cfg_set, cfg_validate,
 * cfg_foreach and cfg_write_yaml all walk that table, so a key cannot be
 * known to one of them and not the others, and table order is the order of
 * `config show` and of the reports.
 *
 * Loading uses libyaml's event API: nested mappings build dotted keys
 * ("dtlb" > "4k" > "sets" = "dtlb.4k.sets"; a dotted key written in one
 * piece works too).  Every value is read by the type of its key, so quoting
 * never changes a value's meaning.  Loads and sets work on a copy that
 * replaces *c only on success: a failed call leaves *c as it was.
 *
 * Origins.  A successful load records the line of every key it set, and
 * cfg_set marks its key, in mm_config.origin (cfg.h); cfg_validate's
 * messages name those places.  Nothing else reads them.
 *
 * Derived fields.  Some mm_config fields are not keys; cfg_finalize sets
 * them from the keys after every load, set and defaults, and cfg_validate
 * checks a finalized copy, so callers never set them:
 *   {itlb,dtlb,stlb}.tlb.name       "itlb", "dtlb", "stlb"
 *   {itlb,dtlb,stlb}.tlb.narrays    MM_PS_COUNT (slots 4k, 2m, 1g; absent = ways 0)
 *   {itlb,dtlb,stlb}.tlb.large_shift 22 in x86-32 mode (4 MiB pages), else 21
 *   {itlb,dtlb,stlb}.tlb.seed, pwc.seed, memsys.seed
 *                                   splitmix64 steps of `seed`, one per structure
 *   memsys.ncaches, memsys.cache[].name   3, "l1d", "l2", "llc"
 *   memsys.l1i.name                 "l1i"
 * A program that writes mm_config fields directly should change cpu.mode
 * and seed with cfg_set, which refinalizes; the other keys derive nothing. */
#include "mmusim/cfg.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "mmusim/os.h"   /* OS_MIN_PHYS_MIB */

#include "base/rng.h"

/* The presets, generated from configs/NAME.yaml by model/embed_presets.cmake. */
extern const struct mmusim_preset {
    const char *name;
    const char *yaml;
} mmusim_presets[];
extern const size_t mmusim_preset_count;

/* ---- the names of cfg.h's enums ---------------------------------------- */

static const char *const ctx_names[CTX_COUNT] = {"nopcid", "pcid", "recycle"};
static const char *const core_model_names[CORE_MODEL_COUNT] = {"off", "first-order"};

const char *core_model_name(core_model m)
{
    return (unsigned)m < CORE_MODEL_COUNT ? core_model_names[m] : "?";
}

int core_model_by_name(const char *name)
{
    for (int i = 0; i < CORE_MODEL_COUNT; i++)
        if (strcmp(name, core_model_names[i]) == 0)
            return i;
    return -1;
}

const char *ctx_policy_name(ctx_policy p)
{
    return (unsigned)p < CTX_COUNT ? ctx_names[p] : "?";
}

/* Index of `name` in names[0..n-1], or -1. */
static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

int ctx_policy_by_name(const char *name) { return name_index(ctx_names, CTX_COUNT, name); }

static const char *const frame_names[FRAMES_POLICY_COUNT] = {"sequential", "shuffled", "buddy"};
static const char *const exhaust_names[EXHAUST_POLICY_COUNT] = {"stop", "reclaim"};
static const char *const thp_names[THP_POLICY_COUNT] = {"never", "always", "madvise"};

const char *frame_policy_name(frame_policy p)
{
    return (unsigned)p < FRAMES_POLICY_COUNT ? frame_names[p] : "?";
}
int frame_policy_by_name(const char *name) { return name_index(frame_names, FRAMES_POLICY_COUNT, name); }

const char *exhaust_policy_name(exhaust_policy p)
{
    return (unsigned)p < EXHAUST_POLICY_COUNT ? exhaust_names[p] : "?";
}
int exhaust_policy_by_name(const char *name) { return name_index(exhaust_names, EXHAUST_POLICY_COUNT, name); }

const char *thp_policy_name(thp_policy p)
{
    return (unsigned)p < THP_POLICY_COUNT ? thp_names[p] : "?";
}
int thp_policy_by_name(const char *name) { return name_index(thp_names, THP_POLICY_COUNT, name); }

/* ---- enum keys --------------------------------------------------------- */

/* An enum key's names, through the owning module's name functions. */
typedef struct cfg_enum {
    const char *what;                  /* "a paging mode", for messages */
    int count;                         /* values are 0..count-1 */
    const char *(*name)(int v);
    int (*by_name)(const char *s);     /* -1 if unknown */
} cfg_enum;

static const char *mode_name(int v)
{
    return (unsigned)v < PAGING_KIND_COUNT ? paging_mode_get((paging_kind)v)->name : "?";
}
static int mode_by_name(const char *s)
{
    const paging_mode *m = paging_mode_by_name(s);
    return m ? (int)m->kind : -1;
}
static const char *ctx_name(int v) { return ctx_policy_name((ctx_policy)v); }
static const char *repl_name_i(int v) { return repl_name((repl_policy)v); }
static const char *pwc_name(int v) { return pwc_design_name((pwc_design)v); }
static const char *memsys_name(int v) { return memsys_model_name((memsys_model)v); }
static const char *scope_name_i(int v) { return memsys_scope_name((memsys_scope)v); }
static const char *core_name_i(int v) { return core_model_name((core_model)v); }
static const char *frames_name_i(int v) { return frame_policy_name((frame_policy)v); }
static const char *exhaust_name_i(int v) { return exhaust_policy_name((exhaust_policy)v); }
static const char *thp_name_i(int v) { return thp_policy_name((thp_policy)v); }

static const cfg_enum enum_mode = {"a paging mode", PAGING_KIND_COUNT, mode_name, mode_by_name};
static const cfg_enum enum_ctx = {"a context policy", CTX_COUNT, ctx_name, ctx_policy_by_name};
static const cfg_enum enum_repl = {"a replacement policy", REPL_COUNT, repl_name_i, repl_by_name};
static const cfg_enum enum_pwc = {"a page-walk-cache design", PWC_DESIGN_COUNT, pwc_name, pwc_design_by_name};
static const cfg_enum enum_memsys = {"a memory model", MEMSYS_CACHES + 1, memsys_name, memsys_model_by_name};
static const cfg_enum enum_scope = {"a memory-system scope", MEMSYS_SCOPE_ALL + 1, scope_name_i,
                                    memsys_scope_by_name};
static const cfg_enum enum_core = {"a core model", CORE_MODEL_COUNT, core_name_i, core_model_by_name};
static const cfg_enum enum_frames = {"a frame policy", FRAMES_POLICY_COUNT, frames_name_i, frame_policy_by_name};
static const cfg_enum enum_exhaust = {"an exhaustion policy", EXHAUST_POLICY_COUNT, exhaust_name_i,
                                      exhaust_policy_by_name};
static const cfg_enum enum_thp = {"a THP policy", THP_POLICY_COUNT, thp_name_i, thp_policy_by_name};

/* Enum fields are read and written as int through memcpy. */
_Static_assert(sizeof(paging_kind) == sizeof(int) && sizeof(ctx_policy) == sizeof(int) &&
                   sizeof(repl_policy) == sizeof(int) && sizeof(pwc_design) == sizeof(int) &&
                   sizeof(memsys_model) == sizeof(int) && sizeof(memsys_scope) == sizeof(int) &&
                   sizeof(core_model) == sizeof(int) && sizeof(frame_policy) == sizeof(int) &&
                   sizeof(exhaust_policy) == sizeof(int) && sizeof(thp_policy) == sizeof(int),
               "enum fields are int-sized");
_Static_assert(sizeof(unsigned) != sizeof(uint64_t), "unsigned and uint64_t fields differ in size");

/* ---- the key table ----------------------------------------------------- */

typedef enum cfg_type {
    CFG_UINT,    /* unsigned or uint64_t, decimal or 0x hex */
    CFG_BOOL,    /* true/false, yes/no, on/off */
    CFG_STRING,  /* char array; size is the buffer size */
    CFG_ENUM,    /* int-sized enum named through a cfg_enum */
    CFG_SIZES,   /* unsigned MM_PS_BIT mask: [4k, 2m, 1g] */
} cfg_type;

typedef struct cfg_key {
    const char *key;
    cfg_type type;
    size_t off, size;          /* where the field is in mm_config */
    uint64_t min, max;         /* CFG_UINT: the range of one value */
    const cfg_enum *en;        /* CFG_ENUM */
} cfg_key;

#define FIELD(m) offsetof(mm_config, m), sizeof(((mm_config *)0)->m)
#define K_UINT(k, m, lo, hi) {k, CFG_UINT, FIELD(m), lo, hi, NULL}
#define K_BOOL(k, m) {k, CFG_BOOL, FIELD(m), 0, 1, NULL}
#define K_STRING(k, m) {k, CFG_STRING, FIELD(m), 0, 0, NULL}
#define K_ENUM(k, m, e) {k, CFG_ENUM, FIELD(m), 0, 0, &e}
#define K_SIZES(k, m) {k, CFG_SIZES, FIELD(m), 0, 0, NULL}

#define MAX_WAYS 64u           /* repl.h: a set's PLRU tree is one 64-bit word */
#define MAX_LATENCY 1000000u   /* cycles; anything larger is a typo */
#define MAX_OS_CYCLES 1000000000u  /* OS costs: 0.25 s at 4 GHz, room for a disk seek (~10 ms) */
#define MAX_PHYS_MIB (1u << 20)    /* 1 TiB: the largest memory frames.h manages */

/* One TLB slot: LVL.SLOT.{sets,ways,replacement,holds} -> LVL.tlb.array[I]. */
#define TLB_SLOT(lvl, slot, i)                                                  \
    K_UINT(#lvl "." slot ".sets", lvl.tlb.array[i].sets, 0, UINT_MAX),          \
    K_UINT(#lvl "." slot ".ways", lvl.tlb.array[i].ways, 0, MAX_WAYS),          \
    K_ENUM(#lvl "." slot ".replacement", lvl.tlb.array[i].repl, enum_repl),     \
    K_SIZES(#lvl "." slot ".holds", lvl.tlb.array[i].holds)
#define TLB_SLOTS(lvl) TLB_SLOT(lvl, "4k", 0), TLB_SLOT(lvl, "2m", 1), TLB_SLOT(lvl, "1g", 2)

/* One page-walk cache: pwc.NAME.{sets,ways,replacement} -> FIELD. */
#define PWC_ARRAY(name, f)                                        \
    K_UINT("pwc." name ".sets", f.sets, 0, UINT_MAX),             \
    K_UINT("pwc." name ".ways", f.ways, 0, MAX_WAYS),             \
    K_ENUM("pwc." name ".replacement", f.repl, enum_repl)

/* One cache: memsys.NAME.{sets,ways,latency,replacement} -> FIELD. */
#define MEMSYS_CACHE(name, f)                                                 \
    K_UINT("memsys." name ".sets", f.sets, 0, UINT_MAX),                      \
    K_UINT("memsys." name ".ways", f.ways, 0, MAX_WAYS),                      \
    K_UINT("memsys." name ".latency", f.latency, 0, MAX_LATENCY),             \
    K_ENUM("memsys." name ".replacement", f.repl, enum_repl)

static const cfg_key cfg_keys[] = {
    K_STRING("name", name),
    K_STRING("description", description),
    K_UINT("seed", seed, 0, UINT64_MAX),

    K_ENUM("cpu.mode", cpu.mode, enum_mode),
    K_UINT("cpu.pa_bits", cpu.pa_bits, 32, 52),
    K_UINT("cpu.cpus", cpu.cpus, 1, 64),
    K_ENUM("cpu.context", cpu.context, enum_ctx),
    K_UINT("cpu.nr_asids", cpu.nr_asids, 1, 4095),
    K_BOOL("cpu.wp", cpu.wp),
    K_BOOL("cpu.smep", cpu.smep),
    K_BOOL("cpu.smap", cpu.smap),

    K_UINT("frontend.issue_width", frontend.issue_width, 1, 64),
    K_UINT("frontend.max_outstanding", frontend.max_outstanding, 1, 256),

    K_UINT("itlb.latency", itlb.latency, 0, MAX_LATENCY),
    TLB_SLOTS(itlb),
    K_UINT("dtlb.latency", dtlb.latency, 0, MAX_LATENCY),
    TLB_SLOTS(dtlb),
    K_UINT("stlb.latency", stlb.latency, 0, MAX_LATENCY),
    K_BOOL("stlb.inclusive", stlb_inclusive),
    TLB_SLOTS(stlb),

    K_ENUM("pwc.design", pwc.design, enum_pwc),
    K_UINT("pwc.latency", pwc.latency, 0, 1000),
    PWC_ARRAY("pml5", pwc.level[5]),
    PWC_ARRAY("pml4", pwc.level[4]),
    PWC_ARRAY("pdpt", pwc.level[3]),
    PWC_ARRAY("pd", pwc.level[2]),
    PWC_ARRAY("unified", pwc.unified),

    K_UINT("walker.walkers", walker.walkers, 1, 64),
    K_BOOL("walker.merge", walker.merge),

    K_ENUM("memsys.model", memsys.model, enum_memsys),
    K_UINT("memsys.fixed_latency", memsys.fixed_latency, 0, MAX_LATENCY),
    K_UINT("memsys.line_bytes", memsys.line_bytes, 8, 4096),
    K_UINT("memsys.dram_latency", memsys.dram_latency, 0, MAX_LATENCY),
    K_UINT("memsys.rmw_latency", memsys.rmw_latency, 0, MAX_LATENCY),
    MEMSYS_CACHE("l1d", memsys.cache[0]),
    MEMSYS_CACHE("l2", memsys.cache[1]),
    MEMSYS_CACHE("llc", memsys.cache[2]),
    K_ENUM("memsys.scope", memsys.scope, enum_scope),
    MEMSYS_CACHE("l1i", memsys.l1i),

    K_ENUM("core.model", core.model, enum_core),
    K_UINT("core.cpi_milli", core.cpi_milli, 1, 100000),

    /* os.h: frames.h manages 4 MiB or more above the OS's reserved low memory */
    K_UINT("os.phys_mem_mib", os.phys_mem_mib, OS_MIN_PHYS_MIB, MAX_PHYS_MIB),
    K_ENUM("os.frames", os.frames, enum_frames),
    K_ENUM("os.exhaustion", os.exhaustion, enum_exhaust),
    K_ENUM("os.thp", os.thp, enum_thp),
    K_UINT("os.minor_fault_cycles", os.minor_fault_cycles, 0, MAX_OS_CYCLES),
    K_UINT("os.major_fault_cycles", os.major_fault_cycles, 0, MAX_OS_CYCLES),
    K_UINT("os.cow_fault_cycles", os.cow_fault_cycles, 0, MAX_OS_CYCLES),
    K_UINT("os.vmalloc_sync_cycles", os.vmalloc_sync_cycles, 0, MAX_OS_CYCLES),
    K_UINT("os.switch_cycles", os.switch_cycles, 0, MAX_OS_CYCLES),
    K_UINT("os.shootdown_cycles", os.shootdown_cycles, 0, MAX_OS_CYCLES),
    K_UINT("os.flush_ceiling", os.flush_ceiling, 0, UINT_MAX),
    K_BOOL("os.kpti", os.kpti),
    K_BOOL("os.kernel_global", os.kernel_global),
    K_UINT("os.quantum", os.quantum, 1, UINT_MAX),
};

#define NKEYS (sizeof cfg_keys / sizeof cfg_keys[0])
_Static_assert(NKEYS == CFG_NKEYS, "cfg.h: CFG_NKEYS must be the number of keys in cfg_keys[]");
#define KEY_MAX 128     /* longest dotted path the loader builds (keys are < 32) */
#define VALUE_MAX 64    /* longest value text other than strings */

static const cfg_key *find_key_n(const char *name, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(cfg_keys[i].key, name, len) == 0 && cfg_keys[i].key[len] == '\0')
            return &cfg_keys[i];
    return NULL;
}

/* True when `path` is a mapping on the way to some key ("dtlb", "dtlb.4k"). */
static bool is_key_prefix(const char *path)
{
    size_t len = strlen(path);
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(cfg_keys[i].key, path, len) == 0 && cfg_keys[i].key[len] == '.')
            return true;
    return false;
}

/* ---- field access ------------------------------------------------------ */

static void *field(mm_config *c, const cfg_key *k) { return (char *)c + k->off; }
static const void *cfield(const mm_config *c, const cfg_key *k) { return (const char *)c + k->off; }

static uint64_t get_uint(const mm_config *c, const cfg_key *k)
{
    if (k->size == sizeof(uint64_t)) {
        uint64_t v;
        memcpy(&v, cfield(c, k), sizeof v);
        return v;
    }
    unsigned v;
    memcpy(&v, cfield(c, k), sizeof v);
    return v;
}

static void set_uint(mm_config *c, const cfg_key *k, uint64_t v)
{
    if (k->size == sizeof(uint64_t)) {
        memcpy(field(c, k), &v, sizeof v);
    } else {
        unsigned u = (unsigned)v;
        memcpy(field(c, k), &u, sizeof u);
    }
}

static int get_int(const mm_config *c, const cfg_key *k)
{
    int v;
    memcpy(&v, cfield(c, k), sizeof v);
    return v;
}

static void set_int(mm_config *c, const cfg_key *k, int v) { memcpy(field(c, k), &v, sizeof v); }

/* ---- where values came from (cfg_origin) ------------------------------- */

/* origin.line[] values that are not lines of origin.file.  Lines start at
 * 1, and a file of at most CFG_FILE_MAX bytes has fewer than AT_EARLIER. */
#define AT_NONE 0u                    /* not loaded or set: the default, or written directly */
#define AT_SET UINT32_MAX             /* cfg_set: --set KEY=VALUE */
#define AT_EARLIER (UINT32_MAX - 1)   /* set by a file loaded before origin.file */

static bool at_file_line(uint32_t at) { return at != AT_NONE && at != AT_SET && at != AT_EARLIER; }

static size_t key_index(const cfg_key *k) { return (size_t)(k - cfg_keys); }

/* After a successful load of `name` that set key i on line key_line[i]
 * (0 = not set): a different file's lines become AT_EARLIER. */
static void origin_loaded(cfg_origin *o, const char *name, const unsigned *key_line)
{
    char kept[CFG_ORIGIN_FILE_MAX];
    size_t len = strlen(name);
    if (len < sizeof kept)
        memcpy(kept, name, len + 1);
    else   /* the end names the file; the start of a long path matters less */
        snprintf(kept, sizeof kept, "...%s", name + len - (sizeof kept - 4));
    if (strcmp(kept, o->file) != 0) {
        for (size_t i = 0; i < NKEYS; i++)
            if (at_file_line(o->line[i]))
                o->line[i] = AT_EARLIER;
        memcpy(o->file, kept, sizeof kept);
    }
    for (size_t i = 0; i < NKEYS; i++)
        if (key_line[i])
            o->line[i] = key_line[i] < AT_EARLIER ? key_line[i] : AT_EARLIER - 1;
}

/* ---- messages ---------------------------------------------------------- */


/* A value as it appears in a message: at most 40 bytes, control
 * characters shown as '?', "..." when cut. */
static void show_value(char *dst, size_t n, const char *s)
{
    size_t i = 0, max = 40;
    for (; i < max && i + 4 < n && s[i]; i++)
        dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i] && i + 4 <= n) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = '\0';
}

/* What a key's value must be, for "expected ..." messages. */
static void expected(const cfg_key *k, char *buf, size_t n)
{
    switch (k->type) {
    case CFG_UINT:
        snprintf(buf, n, "an unsigned integer");
        break;
    case CFG_BOOL:
        snprintf(buf, n, "a boolean (true/false, yes/no, on/off)");
        break;
    case CFG_STRING:
        snprintf(buf, n, "a string");
        break;
    case CFG_SIZES:
        snprintf(buf, n, "a list of page sizes (4k, 2m, 1g)");
        break;
    case CFG_ENUM: {
        size_t used = (size_t)snprintf(buf, n, "%s (", k->en->what);
        for (int v = 0; v < k->en->count && used < n; v++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", v ? ", " : "", k->en->name(v));
        if (used < n)
            snprintf(buf + used, n - used, ")");
        break;
    }
    }
}

/* ---- parsing one value ------------------------------------------------- */

/* Decimal or 0x-hex digits only, no sign, at most `cap`. */
static bool parse_uint(const char *s, uint64_t cap, uint64_t *out)
{
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (cap - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* ASCII case-insensitive comparison of s with the first len bytes of t
 * (strcasecmp is POSIX, not C11). */
static bool ieq_n(const char *s, const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)t[i]) || !s[i])
            return false;
    return true;
}

static bool ieq(const char *s, const char *t)
{
    size_t len = strlen(t);
    return strlen(s) == len && ieq_n(s, t, len);
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (ieq(s, yes[i])) {
            *out = true;
            return true;
        }
        if (ieq(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* One page-size name, case-insensitive; "4m" is the 2m slot's x86-32 name. */
static int parse_size(const char *s, size_t len)
{
    for (int ps = 0; ps < MM_PS_COUNT; ps++)
        if (len == strlen(mm_ps_name(ps)) && ieq_n(s, mm_ps_name(ps), len))
            return ps;
    if (len == 2 && ieq_n(s, "4m", 2))
        return MM_PS_2M;
    return -1;
}

/* "4k,2m", "[4k, 2m]", "[]", "" -> MM_PS_BIT mask. */
static bool parse_sizes(const char *s, unsigned *out)
{
    const char *end = s + strlen(s);
    while (*s == ' ' || *s == '\t')
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    bool open = s < end && *s == '[', close = end > s && end[-1] == ']';
    if (open != close || (open && end - s < 2))
        return false;
    if (open) {
        s++;
        end--;
    }
    unsigned mask = 0;
    const char *p = s;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p == end) {     /* empty list */
        *out = 0;
        return true;
    }
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        const char *a = p, *b = item_end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        int ps = parse_size(a, (size_t)(b - a));
        if (ps < 0)
            return false;
        mask |= MM_PS_BIT(ps);
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = mask;
    return true;
}

/* The range check of one unsigned value; `why` gets the problem. */
static bool uint_in_range(const cfg_key *k, uint64_t v, char *why, size_t n)
{
    if (v >= k->min && v <= k->max)
        return true;
    uint64_t cap = k->size == sizeof(uint64_t) ? UINT64_MAX : UINT_MAX;
    if (k->max == cap)
        snprintf(why, n, "%" PRIu64 " is out of range (at least %" PRIu64 ")", v, k->min);
    else
        snprintf(why, n, "%" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")", v, k->min, k->max);
    return false;
}

/* Parse `text` as the value of k into *c.  Returns 0, or -1 with the
 * problem (without the key) in why. */
static int parse_value(mm_config *c, const cfg_key *k, const char *text, char *why, size_t n)
{
    char shown[48], exp[96];
    show_value(shown, sizeof shown, text);
    switch (k->type) {
    case CFG_UINT: {
        uint64_t cap = k->size == sizeof(uint64_t) ? UINT64_MAX : UINT_MAX, v;
        if (!parse_uint(text, cap, &v)) {
            bool digits = text[0] && strspn(text, "0123456789") == strlen(text);
            if (digits)   /* only too large */
                snprintf(why, n, "expected an unsigned integer up to %" PRIu64 ", got '%s'", cap, shown);
            else
                snprintf(why, n, "expected an unsigned integer, got '%s'", shown);
            return -1;
        }
        if (!uint_in_range(k, v, why, n))
            return -1;
        set_uint(c, k, v);
        return 0;
    }
    case CFG_BOOL: {
        bool b;
        if (!parse_bool(text, &b)) {
            expected(k, exp, sizeof exp);
            snprintf(why, n, "expected %s, got '%s'", exp, shown);
            return -1;
        }
        memcpy(field(c, k), &b, sizeof b);
        return 0;
    }
    case CFG_STRING: {
        size_t len = strlen(text);
        if (len >= k->size) {
            snprintf(why, n, "longer than %zu characters", k->size - 1);
            return -1;
        }
        memset(field(c, k), 0, k->size);
        memcpy(field(c, k), text, len);
        return 0;
    }
    case CFG_ENUM: {
        int v = k->en->by_name(text);
        if (v < 0) {
            expected(k, exp, sizeof exp);
            snprintf(why, n, "expected %s, got '%s'", exp, shown);
            return -1;
        }
        set_int(c, k, v);
        return 0;
    }
    case CFG_SIZES: {
        unsigned mask;
        if (!parse_sizes(text, &mask)) {
            expected(k, exp, sizeof exp);
            snprintf(why, n, "expected %s, got '%s'", exp, shown);
            return -1;
        }
        memcpy(field(c, k), &mask, sizeof mask);
        return 0;
    }
    }
    return -1;
}

/* ---- derived fields ---------------------------------------------------- */

/* Set every derived field (see the top of this file) from the keys. */
static void cfg_finalize(mm_config *c)
{
    static const char *const tlb_names[3] = {"itlb", "dtlb", "stlb"};
    static const char *const cache_names[MEMSYS_MAX_CACHES] = {"l1d", "l2", "llc"};
    tlb_level_cfg *lv[3] = {&c->itlb, &c->dtlb, &c->stlb};
    for (unsigned i = 0; i < 3; i++) {
        lv[i]->tlb.name = tlb_names[i];
        lv[i]->tlb.narrays = MM_PS_COUNT;
        lv[i]->tlb.large_shift = c->cpu.mode == PAGING_X86_32 ? 22 : 21;
        lv[i]->tlb.seed = mm_splitmix64_nth(c->seed, i + 1);
    }
    c->pwc.seed = mm_splitmix64_nth(c->seed, 4);
    c->memsys.seed = mm_splitmix64_nth(c->seed, 5);
    c->memsys.ncaches = MEMSYS_MAX_CACHES;
    for (unsigned i = 0; i < MEMSYS_MAX_CACHES; i++)
        c->memsys.cache[i].name = cache_names[i];
    c->memsys.l1i.name = "l1i";
}

/* ---- defaults: the Skylake preset (configs/skylake.yaml) ---------------- */

static void tlb_slot(tlb_level_cfg *l, int ps, unsigned sets, unsigned ways, unsigned holds)
{
    l->tlb.array[ps] = (tlb_array_cfg){.sets = sets, .ways = ways, .repl = REPL_LRU, .holds = holds};
}

static void pwc_array(pwc_array_cfg *a, unsigned sets, unsigned ways)
{
    *a = (pwc_array_cfg){.sets = sets, .ways = ways, .repl = REPL_LRU};
}

static void memsys_cache(memsys_cache_cfg *m, unsigned sets, unsigned ways, unsigned lat, repl_policy r)
{
    *m = (memsys_cache_cfg){.sets = sets, .ways = ways, .latency = lat, .repl = r};
}

/* Keep in sync with configs/skylake.yaml (test_cfg checks they agree); the
 * sources of the numbers are cited there. */
void cfg_defaults(mm_config *c)
{
    const unsigned k4 = MM_PS_BIT(MM_PS_4K), m2 = MM_PS_BIT(MM_PS_2M), g1 = MM_PS_BIT(MM_PS_1G);
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "skylake");
    snprintf(c->description, sizeof c->description, "Intel Skylake client core (Core i7-6700K class)");
    c->seed = 1;

    c->cpu.mode = PAGING_X86_64;
    c->cpu.pa_bits = 39;
    c->cpu.cpus = 4;
    c->cpu.context = CTX_RECYCLE;
    c->cpu.nr_asids = 6;
    c->cpu.wp = c->cpu.smep = c->cpu.smap = true;

    c->frontend.issue_width = 3;
    c->frontend.max_outstanding = 72;

    c->itlb.latency = 1;
    tlb_slot(&c->itlb, MM_PS_4K, 16, 8, k4);
    tlb_slot(&c->itlb, MM_PS_2M, 1, 8, m2);
    tlb_slot(&c->itlb, MM_PS_1G, 1, 0, 0);
    c->dtlb.latency = 1;
    tlb_slot(&c->dtlb, MM_PS_4K, 16, 4, k4);
    tlb_slot(&c->dtlb, MM_PS_2M, 8, 4, m2);
    tlb_slot(&c->dtlb, MM_PS_1G, 1, 4, g1);
    c->stlb.latency = 9;
    c->stlb_inclusive = false;
    tlb_slot(&c->stlb, MM_PS_4K, 128, 12, k4 | m2);
    tlb_slot(&c->stlb, MM_PS_2M, 1, 0, 0);
    tlb_slot(&c->stlb, MM_PS_1G, 4, 4, g1);

    c->pwc.design = PWC_SPLIT;
    c->pwc.latency = 1;
    pwc_array(&c->pwc.level[5], 1, 0);
    pwc_array(&c->pwc.level[4], 1, 2);
    pwc_array(&c->pwc.level[3], 1, 4);
    pwc_array(&c->pwc.level[2], 8, 4);
    pwc_array(&c->pwc.unified, 1, 0);

    c->walker.walkers = 2;
    c->walker.merge = true;

    c->memsys.model = MEMSYS_CACHES;
    c->memsys.fixed_latency = 12;
    c->memsys.line_bytes = 64;
    c->memsys.dram_latency = 250;
    c->memsys.rmw_latency = 18;
    memsys_cache(&c->memsys.cache[0], 64, 8, 5, REPL_PLRU);
    memsys_cache(&c->memsys.cache[1], 1024, 4, 12, REPL_SRRIP);
    memsys_cache(&c->memsys.cache[2], 2048, 16, 42, REPL_SRRIP);
    c->memsys.scope = MEMSYS_SCOPE_ALL;
    memsys_cache(&c->memsys.l1i, 64, 8, 5, REPL_PLRU);

    c->core.model = CORE_FIRST_ORDER;
    c->core.cpi_milli = 500;

    c->os.phys_mem_mib = 16384;
    c->os.frames = FRAMES_BUDDY;
    c->os.exhaustion = EXHAUST_STOP;
    c->os.thp = THP_MADVISE;
    c->os.minor_fault_cycles = 3000;
    c->os.major_fault_cycles = 360000;
    c->os.cow_fault_cycles = 4600;
    c->os.vmalloc_sync_cycles = 2000;
    c->os.switch_cycles = 6000;
    c->os.shootdown_cycles = 8000;
    c->os.flush_ceiling = 33;
    c->os.kpti = false;
    c->os.kernel_global = true;
    c->os.quantum = 100000;

    cfg_finalize(c);
}

/* ---- the YAML loader --------------------------------------------------- */

typedef struct loader {
    yaml_parser_t parser;
    const char *origin;
    const char *text;
    size_t len;
    mm_config *c;                 /* the working copy */
    char *err;
    size_t errlen;
    unsigned key_line[NKEYS];     /* line a key was set on; 0 = not yet */
    struct {
        char path[KEY_MAX];
        unsigned line;
    } maps[NKEYS];                /* mappings opened so far (fewer than keys) */
    unsigned nmaps;
} loader;

/* True once the text has set a key or opened a section ("cpu: {}"). */
static bool loaded_any(const loader *L)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (L->key_line[i])
            return true;
    return L->nmaps > 0;
}

static unsigned line_of_offset(const loader *L, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off && i < L->len; i++)
        line += L->text[i] == '\n';
    return line;
}

static int yaml_fail(loader *L)
{
    const yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "unknown error";
    unsigned line = (unsigned)p->problem_mark.line + 1;
    if (p->error == YAML_MEMORY_ERROR)
        problem = "out of memory";
    else if (p->error == YAML_READER_ERROR)
        line = line_of_offset(L, p->problem_offset);
    if (p->context)
        mm_errf(L->err, L->errlen, "%s:%u: YAML error: %s (%s at line %u)", L->origin, line, problem,
             p->context, (unsigned)p->context_mark.line + 1);
    else
        mm_errf(L->err, L->errlen, "%s:%u: YAML error: %s", L->origin, line, problem);
    return -1;
}

static int next_event(loader *L, yaml_event_t *ev)
{
    return yaml_parser_parse(&L->parser, ev) ? 0 : yaml_fail(L);
}

static unsigned line_of(const yaml_event_t *ev) { return (unsigned)ev->start_mark.line + 1; }

static const char *node_kind(yaml_event_type_t t)
{
    switch (t) {
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_SEQUENCE_START_EVENT: return "a sequence";
    case YAML_ALIAS_EVENT: return "an alias";
    default: return "a scalar";
    }
}

static int key_fail(loader *L, unsigned line, const char *key, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    mm_errf(L->err, L->errlen, "%s:%u: %s: %s", L->origin, line, key, why);
    return -1;
}

/* No key `path`: a section given a value ("cpu: 4"), or unknown. */
static int unknown_key(loader *L, unsigned line, const char *path, bool path_ok, yaml_event_type_t got)
{
    if (path_ok && is_key_prefix(path))
        return key_fail(L, line, path, "expected a mapping of %s.* keys, got %s", path, node_kind(got));
    char shown[48];
    show_value(shown, sizeof shown, path);
    return key_fail(L, line, shown, "unknown key");
}

static int wrong_kind(loader *L, const cfg_key *k, unsigned line, yaml_event_type_t got)
{
    char exp[96];
    expected(k, exp, sizeof exp);
    return key_fail(L, line, k->key, "expected %s, got %s", exp, node_kind(got));
}

/* A key set twice is an error, also across spellings ("a.b: 1" and "a: {b: 1}"). */
static int note_key(loader *L, const cfg_key *k, unsigned line)
{
    size_t i = (size_t)(k - cfg_keys);
    if (L->key_line[i])
        return key_fail(L, line, k->key, "duplicate key (first set on line %u)", L->key_line[i]);
    L->key_line[i] = line;
    return 0;
}

static int note_mapping(loader *L, const char *path, unsigned line)
{
    for (unsigned i = 0; i < L->nmaps; i++)
        if (strcmp(L->maps[i].path, path) == 0)
            return key_fail(L, line, path, "duplicate key (first set on line %u)", L->maps[i].line);
    if (L->nmaps < NKEYS) {
        snprintf(L->maps[L->nmaps].path, KEY_MAX, "%s", path);
        L->maps[L->nmaps++].line = line;
    }
    return 0;
}

static int load_mapping(loader *L, const char *prefix);

/* A flow or block sequence of page sizes, after its SEQUENCE-START. */
static int load_sizes(loader *L, const cfg_key *k)
{
    unsigned mask = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(L, &ev))
            return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        unsigned line = line_of(&ev);
        int ps = -1;
        char shown[48] = "";
        if (ev.type == YAML_SCALAR_EVENT) {
            const char *s = (const char *)ev.data.scalar.value;
            ps = parse_size(s, strlen(s));
            show_value(shown, sizeof shown, s);
        }
        yaml_event_type_t type = ev.type;
        yaml_event_delete(&ev);
        if (type != YAML_SCALAR_EVENT)
            return key_fail(L, line, k->key, "expected a page size (4k, 2m, 1g), got %s", node_kind(type));
        if (ps < 0)
            return key_fail(L, line, k->key, "expected a page size (4k, 2m, 1g), got '%s'", shown);
        mask |= MM_PS_BIT(ps);
    }
    memcpy(field(L->c, k), &mask, sizeof mask);
    return 0;
}

/* The value of `path` (key on line kline), whose first event is *ev. */
static int load_value(loader *L, const char *path, bool path_ok, unsigned kline, const yaml_event_t *ev)
{
    const cfg_key *k = path_ok ? find_key_n(path, strlen(path)) : NULL;
    unsigned vline = line_of(ev);
    char why[256];
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (!k)
            return unknown_key(L, kline, path, path_ok, ev->type);
        if (note_key(L, k, kline))
            return -1;
        if (parse_value(L->c, k, (const char *)ev->data.scalar.value, why, sizeof why))
            return key_fail(L, vline, k->key, "%s", why);
        return 0;
    case YAML_SEQUENCE_START_EVENT:
        if (!k)
            return unknown_key(L, kline, path, path_ok, ev->type);
        if (k->type != CFG_SIZES)
            return wrong_kind(L, k, vline, ev->type);
        if (note_key(L, k, kline))
            return -1;
        return load_sizes(L, k);
    case YAML_MAPPING_START_EVENT:
        if (k)
            return wrong_kind(L, k, vline, ev->type);
        if (!path_ok || !is_key_prefix(path))
            return unknown_key(L, kline, path, false, ev->type);
        if (note_mapping(L, path, kline))
            return -1;
        return load_mapping(L, path);
    case YAML_ALIAS_EVENT:
        return key_fail(L, vline, path, "YAML aliases are not supported");
    default:
        return key_fail(L, vline, path, "unexpected YAML event");
    }
}

/* The keys of a mapping, after its MAPPING-START, through MAPPING-END. */
static int load_mapping(loader *L, const char *prefix)
{
    for (;;) {
        yaml_event_t kev, vev;
        if (next_event(L, &kev))
            return -1;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            return 0;
        }
        unsigned kline = line_of(&kev);
        if (kev.type != YAML_SCALAR_EVENT) {
            yaml_event_type_t t = kev.type;
            yaml_event_delete(&kev);
            return key_fail(L, kline, *prefix ? prefix : "(top level)", "expected a key name, got %s",
                            node_kind(t));
        }
        char path[KEY_MAX];
        int n = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                         (const char *)kev.data.scalar.value);
        bool path_ok = n > 0 && (size_t)n < sizeof path;
        yaml_event_delete(&kev);
        if (next_event(L, &vev))
            return -1;
        int rc = load_value(L, path, path_ok, kline, &vev);
        yaml_event_delete(&vev);
        if (rc)
            return -1;
    }
}

/* The stream: nothing, or one document whose root is a mapping (or empty). */
static int load_stream(loader *L)
{
    yaml_event_t ev;
    if (next_event(L, &ev))
        return -1;
    yaml_event_delete(&ev);   /* STREAM-START */
    if (next_event(L, &ev))
        return -1;
    yaml_event_type_t t = ev.type;
    yaml_event_delete(&ev);
    if (t == YAML_STREAM_END_EVENT)
        return 0;             /* empty file, or only comments: load_text says so */
    /* DOCUMENT-START, then the root node */
    if (next_event(L, &ev))
        return -1;
    int rc = 0;
    if (ev.type == YAML_MAPPING_START_EVENT)
        rc = load_mapping(L, "");
    else if (!(ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0))
        rc = key_fail(L, line_of(&ev), "(top level)", "expected a mapping of configuration keys, got %s",
                      node_kind(ev.type));
    yaml_event_delete(&ev);
    if (rc)
        return -1;
    if (next_event(L, &ev))   /* DOCUMENT-END */
        return -1;
    yaml_event_delete(&ev);
    if (next_event(L, &ev))
        return -1;
    t = ev.type;
    unsigned line = line_of(&ev);
    yaml_event_delete(&ev);
    if (t != YAML_STREAM_END_EVENT) {
        mm_errf(L->err, L->errlen, "%s:%u: only one YAML document is allowed", L->origin, line);
        return -1;
    }
    return 0;
}

static int load_text(mm_config *c, const char *text, size_t len, const char *origin, char *err, size_t errlen)
{
    loader *L = calloc(1, sizeof *L);
    if (!L) {
        mm_errf(err, errlen, "%s: out of memory", origin);
        return -1;
    }
    mm_config work = *c;
    L->origin = origin;
    L->text = text;
    L->len = len;
    L->c = &work;
    L->err = err;
    L->errlen = errlen;
    int rc = -1;
    if (!yaml_parser_initialize(&L->parser)) {
        mm_errf(err, errlen, "%s: out of memory", origin);
    } else {
        yaml_parser_set_input_string(&L->parser, (const unsigned char *)text, len);
        rc = load_stream(L);
        yaml_parser_delete(&L->parser);
    }
    if (rc == 0 && !loaded_any(L))
        rc = mm_errf(err, errlen, "%s: no configuration keys (the file is empty or only comments)", origin);
    if (rc == 0) {
        origin_loaded(&work.origin, origin, L->key_line);
        cfg_finalize(&work);
        *c = work;
    }
    free(L);
    return rc;
}

int cfg_load_string(mm_config *c, const char *yaml, const char *origin, char *err, size_t errlen)
{
    if (!origin)
        origin = "(string)";
    if (!yaml) {
        mm_errf(err, errlen, "%s: no text", origin);
        return -1;
    }
    return load_text(c, yaml, strlen(yaml), origin, err, errlen);
}

#define CFG_FILE_MAX (16u << 20)   /* configs are a few KiB; this stops /dev/zero */

int cfg_load_file(mm_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mm_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len == cap) {
            if (cap >= CFG_FILE_MAX) {
                mm_errf(err, errlen, "%s: larger than %u MiB, not a config", path, CFG_FILE_MAX >> 20);
                goto out;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                mm_errf(err, errlen, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                mm_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
                goto out;
            }
            break;
        }
    }
    rc = load_text(c, buf ? buf : "", len, path, err, errlen);
out:
    free(buf);
    fclose(f);
    return rc;
}

/* ---- presets ----------------------------------------------------------- */

size_t cfg_preset_count(void) { return mmusim_preset_count; }

const char *cfg_preset_name(size_t i)
{
    return i < mmusim_preset_count ? mmusim_presets[i].name : NULL;
}

const char *cfg_preset_yaml(const char *name)
{
    for (size_t i = 0; name && i < mmusim_preset_count; i++)
        if (strcmp(mmusim_presets[i].name, name) == 0)
            return mmusim_presets[i].yaml;
    return NULL;
}

int cfg_load(mm_config *c, const char *arg, char *err, size_t errlen)
{
    mm_config work;
    cfg_defaults(&work);
    if (!arg)
        arg = CFG_DEFAULT_PRESET;
    const char *yaml = cfg_preset_yaml(arg);
    int rc;
    if (yaml) {
        char origin[KEY_MAX];
        snprintf(origin, sizeof origin, "configs/%s.yaml", arg);
        rc = cfg_load_string(&work, yaml, origin, err, errlen);
    } else {
        rc = cfg_load_file(&work, arg, err, errlen);
    }
    if (rc == 0)
        *c = work;
    return rc;
}

/* ---- --set ------------------------------------------------------------- */

int cfg_set(mm_config *c, const char *assignment, char *err, size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        mm_errf(err, errlen, "--set %s: expected KEY=VALUE", assignment);
        return -1;
    }
    const cfg_key *k = find_key_n(assignment, (size_t)(eq - assignment));
    if (!k) {
        mm_errf(err, errlen, "--set %s: unknown key", assignment);
        return -1;
    }
    mm_config work = *c;
    char why[256];
    if (parse_value(&work, k, eq + 1, why, sizeof why)) {
        mm_errf(err, errlen, "--set %s: %s", assignment, why);
        return -1;
    }
    work.origin.line[key_index(k)] = AT_SET;
    cfg_finalize(&work);
    *c = work;
    return 0;
}

/* ---- cfg_validate ------------------------------------------------------ */

/* Every message names where the value at fault came from, as the loader
 * and cfg_set do for single values.  A rule between two keys is about the
 * one given last -- a --set over the last file loaded over a value written
 * directly (or by an earlier file) over the default; the rule's own key on
 * a tie -- so the location is the line the user changed, and the message
 * says where the other key's value came from. */

/* A location: "FILE:LINE", or "--set KEY=VALUE" with a value as long as
 * a description. */
#define AT_MAX (CFG_ORIGIN_FILE_MAX + CFG_DESC_MAX + 64)

static const char *value_text(const mm_config *c, const cfg_key *k, char *buf, size_t n);

static const cfg_key *key_named(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const cfg_key *key_named(const char *fmt, ...)
{
    char name[KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const cfg_key *k = find_key_n(name, strlen(name));
    assert(k);   /* the rules name keys of the table */
    return k;
}

static bool is_default(const mm_config *c, const cfg_key *k)
{
    mm_config def;
    cfg_defaults(&def);
    return memcmp(cfield(c, k), cfield(&def, k), k->size) == 0;
}

typedef enum where_kind { WHERE_DIRECT, WHERE_DEFAULT, WHERE_FILE, WHERE_SET } where_kind;

/* Where k's value came from; "FILE:LINE" or "--set KEY=VALUE" in buf.
 * WHERE_DIRECT: written into mm_config by a program, or set by a file
 * loaded before the last one -- no location to name. */
static where_kind where(const mm_config *c, const cfg_key *k, char *buf, size_t n)
{
    uint32_t at = c->origin.line[key_index(k)];
    if (at == AT_SET) {
        char v[VALUE_MAX];
        const char *text = value_text(c, k, v, sizeof v);
        /* a string field is bounded by its size, NUL or not */
        snprintf(buf, n, "--set %s=%.*s", k->key, (int)(k->type == CFG_STRING ? k->size : strlen(text)), text);
        return WHERE_SET;
    }
    if (at_file_line(at)) {
        snprintf(buf, n, "%s:%" PRIu32, c->origin.file, at);
        return WHERE_FILE;
    }
    return at == AT_NONE && is_default(c, k) ? WHERE_DEFAULT : WHERE_DIRECT;
}

/* How recently k's value was given (see above). */
static int given_rank(const mm_config *c, const cfg_key *k)
{
    char at[AT_MAX];
    switch (where(c, k, at, sizeof at)) {
    case WHERE_DEFAULT: return 0;
    case WHERE_DIRECT: return 1;
    case WHERE_FILE: return 2;
    case WHERE_SET: return 3;
    }
    return 0;
}

/* True when the message of a rule between keys a and b is about b. */
static bool given_later(const mm_config *c, const cfg_key *a, const cfg_key *b)
{
    return given_rank(c, b) > given_rank(c, a);
}

/* The message of a broken rule about k: "FILE:LINE: KEY: why",
 * "--set KEY=VALUE: why", "default: KEY: why" or "KEY: why", then, when
 * `other` is a key, where its value came from: " (set at line N)" in the
 * same file, " (set at FILE:LINE)", " (set by --set KEY=VALUE)" or
 * " (the default)".  why ends with the other key's name and value. */
static int fail_key(const mm_config *c, const cfg_key *k, const cfg_key *other, char *err, size_t errlen,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail_key(const mm_config *c, const cfg_key *k, const cfg_key *other, char *err, size_t errlen,
                    const char *fmt, ...)
{
    char why[256], at[AT_MAX], oat[AT_MAX], note[AT_MAX + 16] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    where_kind wk = where(c, k, at, sizeof at);
    switch (other ? where(c, other, oat, sizeof oat) : WHERE_DIRECT) {
    case WHERE_FILE:
        if (wk == WHERE_FILE)   /* one file: its name once */
            snprintf(note, sizeof note, " (set at line %" PRIu32 ")", c->origin.line[key_index(other)]);
        else
            snprintf(note, sizeof note, " (set at %s)", oat);
        break;
    case WHERE_SET:
        snprintf(note, sizeof note, " (set by %s)", oat);
        break;
    case WHERE_DEFAULT:
        snprintf(note, sizeof note, " (the default)");
        break;
    case WHERE_DIRECT:
        break;
    }
    switch (wk) {
    case WHERE_FILE:
        return mm_errf(err, errlen, "%s: %s: %s%s", at, k->key, why, note);
    case WHERE_SET:   /* the assignment names the key */
        return mm_errf(err, errlen, "%s: %s%s", at, why, note);
    case WHERE_DEFAULT:
        return mm_errf(err, errlen, "default: %s: %s%s", k->key, why, note);
    case WHERE_DIRECT:
        break;
    }
    return mm_errf(err, errlen, "%s: %s%s", k->key, why, note);
}

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* A present array (ways > 0) of PREFIX.{sets,ways} needs a power-of-two
 * number of sets, at least one. */
static int check_sets(const mm_config *c, const char *prefix, unsigned sets, unsigned ways, char *err, size_t errlen)
{
    if (ways == 0 || is_pow2(sets))
        return 0;
    const cfg_key *ks = key_named("%s.sets", prefix), *kw = key_named("%s.ways", prefix);
    if (given_later(c, ks, kw))
        return fail_key(c, kw, ks, err, errlen, "%u makes the array present, but %s is %u%s", ways, ks->key, sets,
                        sets ? ", not a power of two" : "");
    if (sets == 0)
        return fail_key(c, ks, kw, err, errlen, "0, but the array is present and needs at least one set: %s is %u",
                        kw->key, ways);
    return fail_key(c, ks, NULL, err, errlen, "%u is not a power of two", sets);
}

/* A TLB level: each present slot holds some page sizes, and no size is
 * held by two slots (a lookup would not know which to probe). */
static int check_tlb_level(const mm_config *c, const tlb_level_cfg *l, char *err, size_t errlen)
{
    unsigned owner[MM_PS_COUNT] = {0};   /* slot index + 1 holding each size */
    for (int s = 0; s < MM_PS_COUNT; s++) {
        const tlb_array_cfg *a = &l->tlb.array[s];
        char prefix[KEY_MAX];
        snprintf(prefix, sizeof prefix, "%s.%s", l->tlb.name, mm_ps_name(s));
        if (check_sets(c, prefix, a->sets, a->ways, err, errlen))
            return -1;
        if (a->ways == 0)
            continue;   /* absent: holds is unused */
        const cfg_key *kh = key_named("%s.holds", prefix);
        if (a->holds == 0) {
            const cfg_key *kw = key_named("%s.ways", prefix);
            if (given_later(c, kh, kw))
                return fail_key(c, kw, kh, err, errlen, "%u makes the array present, but %s is empty", a->ways,
                                kh->key);
            return fail_key(c, kh, kw, err, errlen, "empty, but the array is present: %s is %u", kw->key, a->ways);
        }
        for (int ps = 0; ps < MM_PS_COUNT; ps++) {
            if (!(a->holds & MM_PS_BIT(ps)))
                continue;
            if (owner[ps]) {
                const cfg_key *ko = key_named("%s.%s.holds", l->tlb.name, mm_ps_name((int)owner[ps] - 1));
                const cfg_key *at = given_later(c, kh, ko) ? ko : kh, *other = at == kh ? ko : kh;
                return fail_key(c, at, other, err, errlen, "%s is also held by %s", mm_ps_name(ps), other->key);
            }
            owner[ps] = (unsigned)s + 1;
        }
    }
    /* A backstop: the rules above and the single values cover tlb_cfg_check's. */
    const char *why = tlb_cfg_check(&l->tlb);
    if (why)
        return mm_errf(err, errlen, "%s: %s", l->tlb.name, why);
    return 0;
}

/* Physical memory: every frame must be addressable, by cpu.pa_bits, and
 * in x86-32 mode by 32-bit page-table entries (os_create's rule). */
static int check_phys_mem(const mm_config *c, char *err, size_t errlen)
{
    bool x32 = c->cpu.mode == PAGING_X86_32;
    uint64_t reach_mib = (x32 ? 1ull << 32 : 1ull << c->cpu.pa_bits) >> 20;
    if (c->os.phys_mem_mib <= reach_mib)
        return 0;
    const cfg_key *km = key_named("os.phys_mem_mib"), *kr = key_named(x32 ? "cpu.mode" : "cpu.pa_bits");
    char buf[VALUE_MAX];
    const char *by = value_text(c, kr, buf, sizeof buf);
    if (given_later(c, km, kr))
        return fail_key(c, kr, km, err, errlen, "%s %s address %" PRIu64 " MiB, less than %s %u", by,
                        x32 ? "page tables" : "bits", reach_mib, km->key, c->os.phys_mem_mib);
    return fail_key(c, km, kr, err, errlen, "%u MiB is more than the %" PRIu64 " MiB addressable with %s %s",
                    c->os.phys_mem_mib, reach_mib, kr->key, by);
}

int cfg_validate(const mm_config *c, char *err, size_t errlen)
{
    if (cfg_validate_mmu(c, err, errlen) != 0)
        return -1;
    mm_config f = *c;
    cfg_finalize(&f);
    return check_phys_mem(&f, err, errlen);
}

int cfg_validate_mmu(const mm_config *c0, char *err, size_t errlen)
{
    mm_config c = *c0;
    cfg_finalize(&c);
    char why[256];

    /* single values: the loader and cfg_set check these, a program that
     * writes mm_config directly does not */
    for (size_t i = 0; i < NKEYS; i++) {
        const cfg_key *k = &cfg_keys[i];
        if (k->type == CFG_UINT && !uint_in_range(k, get_uint(&c, k), why, sizeof why))
            return fail_key(&c, k, NULL, err, errlen, "%s", why);
        if (k->type == CFG_ENUM && (unsigned)get_int(&c, k) >= (unsigned)k->en->count)
            return fail_key(&c, k, NULL, err, errlen, "%d is not %s", get_int(&c, k), k->en->what);
        if (k->type == CFG_STRING && !memchr(cfield(&c, k), '\0', k->size))
            return fail_key(&c, k, NULL, err, errlen, "not NUL-terminated");
        if (k->type == CFG_SIZES) {
            unsigned mask;
            memcpy(&mask, cfield(&c, k), sizeof mask);
            if (mask >> MM_PS_COUNT)
                return fail_key(&c, k, NULL, err, errlen, "0x%x is not a set of page sizes (4k, 2m, 1g)", mask);
        }
    }

    /* TLB levels */
    const tlb_level_cfg *lv[3] = {&c.itlb, &c.dtlb, &c.stlb};
    for (unsigned i = 0; i < 3; i++)
        if (check_tlb_level(&c, lv[i], err, errlen))
            return -1;

    /* page-walk caches: every present array, whatever the design uses */
    static const char *const pwc_names[PAGING_MAX_LEVELS + 1] = {NULL, NULL, "pd", "pdpt", "pml4", "pml5"};
    char prefix[KEY_MAX];
    for (unsigned l = 2; l <= PAGING_MAX_LEVELS; l++) {
        snprintf(prefix, sizeof prefix, "pwc.%s", pwc_names[l]);
        if (check_sets(&c, prefix, c.pwc.level[l].sets, c.pwc.level[l].ways, err, errlen))
            return -1;
    }
    if (check_sets(&c, "pwc.unified", c.pwc.unified.sets, c.pwc.unified.ways, err, errlen))
        return -1;
    const char *w = pwc_cfg_check(&c.pwc, cfg_mode(&c));   /* a backstop, as tlb_cfg_check */
    if (w)
        return mm_errf(err, errlen, "pwc: %s", w);

    /* page-table-line caches: every present cache, whatever the model */
    if (!is_pow2(c.memsys.line_bytes))
        return fail_key(&c, key_named("memsys.line_bytes"), NULL, err, errlen, "%u is not a power of two",
                        c.memsys.line_bytes);
    for (unsigned i = 0; i < MEMSYS_MAX_CACHES; i++) {
        snprintf(prefix, sizeof prefix, "memsys.%s", c.memsys.cache[i].name);
        if (check_sets(&c, prefix, c.memsys.cache[i].sets, c.memsys.cache[i].ways, err, errlen))
            return -1;
    }
    if (check_sets(&c, "memsys.l1i", c.memsys.l1i.sets, c.memsys.l1i.ways, err, errlen))
        return -1;
    w = memsys_cfg_check(&c.memsys);   /* a backstop */
    if (w)
        return mm_errf(err, errlen, "memsys: %s", w);
    return 0;
}

/* ---- cfg_foreach, cfg_write_yaml --------------------------------------- */

/* The value of k as text: in buf, or the string field itself. */
static const char *value_text(const mm_config *c, const cfg_key *k, char *buf, size_t n)
{
    switch (k->type) {
    case CFG_UINT:
        snprintf(buf, n, "%" PRIu64, get_uint(c, k));
        return buf;
    case CFG_BOOL: {
        bool b;
        memcpy(&b, cfield(c, k), sizeof b);
        return b ? "true" : "false";
    }
    case CFG_STRING:
        return cfield(c, k);
    case CFG_ENUM:
        return k->en->name(get_int(c, k));
    case CFG_SIZES: {
        unsigned mask;
        memcpy(&mask, cfield(c, k), sizeof mask);
        size_t used = (size_t)snprintf(buf, n, "[");
        for (int ps = 0; ps < MM_PS_COUNT; ps++)
            if (mask & MM_PS_BIT(ps))
                used += (size_t)snprintf(buf + used, n - used, "%s%s", used > 1 ? ", " : "", mm_ps_name(ps));
        snprintf(buf + used, n - used, "]");
        return buf;
    }
    }
    return "?";
}

void cfg_foreach(const mm_config *c, void (*fn)(const char *key, const char *value, void *ctx), void *ctx)
{
    char buf[VALUE_MAX];
    for (size_t i = 0; i < NKEYS; i++)
        fn(cfg_keys[i].key, value_text(c, &cfg_keys[i], buf, sizeof buf), ctx);
}

static bool emit(yaml_emitter_t *em, yaml_event_t *ev, bool ok)
{
    return ok && yaml_emitter_emit(em, ev);
}

static bool emit_scalar(yaml_emitter_t *em, const char *s)
{
    yaml_event_t ev;
    int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                          YAML_ANY_SCALAR_STYLE);
    return emit(em, &ev, ok);
}

static bool emit_mapping_start(yaml_emitter_t *em)
{
    yaml_event_t ev;
    return emit(em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static bool emit_mapping_end(yaml_emitter_t *em)
{
    yaml_event_t ev;
    return emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
}

/* The value of k: a scalar, or a flow sequence of page sizes. */
static bool emit_value(yaml_emitter_t *em, const mm_config *c, const cfg_key *k)
{
    if (k->type != CFG_SIZES) {
        char buf[VALUE_MAX];
        return emit_scalar(em, value_text(c, k, buf, sizeof buf));
    }
    yaml_event_t ev;
    bool ok = emit(em, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE));
    unsigned mask;
    memcpy(&mask, cfield(c, k), sizeof mask);
    for (int ps = 0; ps < MM_PS_COUNT && ok; ps++)
        if (mask & MM_PS_BIT(ps))
            ok = emit_scalar(em, mm_ps_name(ps));
    return ok && emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
}

#define KEY_DEPTH 3   /* keys have at most three parts: dtlb.4k.sets */

void cfg_write_yaml(const mm_config *c, FILE *out)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&em))
        return;
    yaml_emitter_set_output_file(&em, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    bool ok = emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    ok = emit(&em, &ev, ok && yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    ok = ok && emit_mapping_start(&em);

    /* Table order groups keys by prefix, so one pass opens and closes the
     * nested mappings: open[] are the parts of the mappings now open. */
    char open[KEY_DEPTH][KEY_MAX];
    unsigned depth = 0;
    for (size_t i = 0; i < NKEYS && ok; i++) {
        char part[KEY_DEPTH][KEY_MAX];
        unsigned nparts = 0;
        const char *s = cfg_keys[i].key;
        while (nparts < KEY_DEPTH) {
            size_t len = strcspn(s, ".");
            snprintf(part[nparts++], KEY_MAX, "%.*s", (int)len, s);
            if (!s[len])
                break;
            s += len + 1;
        }
        unsigned common = 0;
        while (common < depth && common + 1 < nparts && strcmp(open[common], part[common]) == 0)
            common++;
        for (; depth > common && ok; depth--)
            ok = emit_mapping_end(&em);
        for (; depth + 1 < nparts && ok; depth++) {
            ok = emit_scalar(&em, part[depth]) && emit_mapping_start(&em);
            memcpy(open[depth], part[depth], KEY_MAX);
        }
        ok = ok && emit_scalar(&em, part[nparts - 1]) && emit_value(&em, c, &cfg_keys[i]);
    }
    for (; depth > 0 && ok; depth--)
        ok = emit_mapping_end(&em);
    ok = ok && emit_mapping_end(&em);
    ok = emit(&em, &ev, ok && yaml_document_end_event_initialize(&ev, 1));
    ok = emit(&em, &ev, ok && yaml_stream_end_event_initialize(&ev));
    yaml_emitter_flush(&em);
    yaml_emitter_delete(&em);
}

const paging_mode *cfg_mode(const mm_config *c)
{
    return (unsigned)c->cpu.mode < PAGING_KIND_COUNT ? paging_mode_get(c->cpu.mode) : NULL;
}

bool cfg_key_is_list(const char *key)
{
    const cfg_key *k = find_key_n(key, strlen(key));
    return k && k->type == CFG_SIZES;
}
