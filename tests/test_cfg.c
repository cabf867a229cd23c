/* test_cfg.c -- the configuration module: key table, YAML loader, --set,
 * cross-field checks, the presets.
 *
 * Expectations are derived by hand from cfg.h, the presets' cited numbers
 * and the message formats of cfg.c; the preset key sets are checked against
 * the presets' own YAML text, parsed here with libyaml independently of
 * cfg.c's loader. */
#define _POSIX_C_SOURCE 200809L   /* open_memstream, mkstemp, mkdtemp */

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "mmusim/cfg.h"

#ifndef MMUSIM_SOURCE_DIR
#error "MMUSIM_SOURCE_DIR must name the repository root"
#endif

#define NKEYS_EXPECTED 110  /* 3 + cpu 8 + frontend 2 + itlb 13 + dtlb 13 + stlb 14 + pwc 17 + walker 2 + memsys 22 + core 2
                              + os 14 */
#define KEYLEN 48
#define VALLEN (CFG_DESC_MAX + 8)
#define MAXKEYS 128

/* ---- helpers ------------------------------------------------------------ */

/* Every key and value of a config, from cfg_foreach. */
typedef struct kvlist {
    size_t n;
    char key[MAXKEYS][KEYLEN];
    char val[MAXKEYS][VALLEN];
} kvlist;

static void collect(const char *key, const char *value, void *ctx)
{
    kvlist *l = ctx;
    cr_assert_lt(l->n, MAXKEYS);
    snprintf(l->key[l->n], KEYLEN, "%s", key);
    snprintf(l->val[l->n], VALLEN, "%s", value);
    l->n++;
}

static kvlist *snapshot(const mm_config *c)
{
    kvlist *l = calloc(1, sizeof *l);
    cr_assert_not_null(l);
    cfg_foreach(c, collect, l);
    return l;
}

/* Assert two configs have the same value for every key; name the first
 * difference. */
static void assert_same(const mm_config *a, const mm_config *b, const char *what)
{
    kvlist *la = snapshot(a), *lb = snapshot(b);
    cr_assert_eq(la->n, lb->n);
    for (size_t i = 0; i < la->n; i++) {
        cr_assert_str_eq(la->key[i], lb->key[i]);
        cr_assert_str_eq(la->val[i], lb->val[i], "%s: %s is '%s', expected '%s'", what, la->key[i], lb->val[i],
                         la->val[i]);
    }
    free(la);
    free(lb);
}

/* The value text of one key. */
static const char *value_of(const mm_config *c, const char *key)
{
    static char out[VALLEN];
    kvlist *l = snapshot(c);
    out[0] = '\0';
    bool found = false;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->key[i], key) == 0) {
            snprintf(out, sizeof out, "%s", l->val[i]);
            found = true;
        }
    free(l);
    cr_assert(found, "no key %s", key);
    return out;
}

static unsigned uint_of(const mm_config *c, const char *key)
{
    return (unsigned)strtoul(value_of(c, key), NULL, 10);
}

static void must_set(mm_config *c, const char *assignment)
{
    char err[512];
    cr_assert_eq(cfg_set(c, assignment, err, sizeof err), 0, "--set %s: %s", assignment, err);
}

/* The leaf keys (dotted) and their values of a YAML text, in document
 * order, parsed with libyaml directly.  A sequence value is written
 * "[a, b]".  Returns the number of leaves. */
typedef struct leaves {
    size_t n;
    char key[MAXKEYS][KEYLEN];
    char val[MAXKEYS][VALLEN];
} leaves;

static void parse_leaves_map(yaml_parser_t *p, const char *prefix, leaves *out)
{
    for (;;) {
        yaml_event_t k, v;
        cr_assert(yaml_parser_parse(p, &k), "YAML error: %s", p->problem);
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return;
        }
        cr_assert_eq(k.type, YAML_SCALAR_EVENT);
        char path[KEYLEN];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", (const char *)k.data.scalar.value);
        yaml_event_delete(&k);
        cr_assert(yaml_parser_parse(p, &v), "YAML error: %s", p->problem);
        if (v.type == YAML_MAPPING_START_EVENT) {
            yaml_event_delete(&v);
            parse_leaves_map(p, path, out);
            continue;
        }
        cr_assert_lt(out->n, MAXKEYS);
        snprintf(out->key[out->n], KEYLEN, "%s", path);
        if (v.type == YAML_SCALAR_EVENT) {
            snprintf(out->val[out->n], VALLEN, "%s", (const char *)v.data.scalar.value);
        } else {
            cr_assert_eq(v.type, YAML_SEQUENCE_START_EVENT, "%s: unexpected node", path);
            char *s = out->val[out->n];
            size_t used = (size_t)snprintf(s, VALLEN, "[");
            for (;;) {
                yaml_event_t e;
                cr_assert(yaml_parser_parse(p, &e));
                if (e.type == YAML_SEQUENCE_END_EVENT) {
                    yaml_event_delete(&e);
                    break;
                }
                cr_assert_eq(e.type, YAML_SCALAR_EVENT);
                used += (size_t)snprintf(s + used, VALLEN - used, "%s%s", used > 1 ? ", " : "",
                                         (const char *)e.data.scalar.value);
                yaml_event_delete(&e);
            }
            snprintf(s + used, VALLEN - used, "]");
        }
        yaml_event_delete(&v);
        out->n++;
    }
}

static leaves *parse_leaves(const char *text)
{
    leaves *out = calloc(1, sizeof *out);
    cr_assert_not_null(out);
    yaml_parser_t p;
    yaml_event_t e;
    cr_assert(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    cr_assert(yaml_parser_parse(&p, &e)); /* stream start */
    yaml_event_delete(&e);
    cr_assert(yaml_parser_parse(&p, &e)); /* document start */
    cr_assert_eq(e.type, YAML_DOCUMENT_START_EVENT);
    yaml_event_delete(&e);
    cr_assert(yaml_parser_parse(&p, &e));
    cr_assert_eq(e.type, YAML_MAPPING_START_EVENT);
    yaml_event_delete(&e);
    parse_leaves_map(&p, "", out);
    yaml_parser_delete(&p);
    return out;
}

/* cfg_write_yaml into a string (free it). */
static char *write_yaml(const mm_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cfg_write_yaml(c, f);
    fclose(f);
    return buf;
}

/* Parameters are copied into Criterion's worker processes, which do not
 * share the runner's address space: they hold text, not pointers. */
typedef struct preset_param {
    char name[16];
} preset_param;

static preset_param preset_params[] = {{"skylake"}, {"golden-cove"}, {"zen2"}, {"cortex-a76"}};
#define PRESET_PARAMS \
    cr_make_param_array(preset_param, preset_params, sizeof preset_params / sizeof preset_params[0])

static void load_preset(mm_config *c, const char *name)
{
    char err[512];
    cr_assert_eq(cfg_load(c, name, err, sizeof err), 0, "%s: %s", name, err);
}

/* ---- the key table -------------------------------------------------------- */

Test(keys, count_and_order)
{
    mm_config c;
    cfg_defaults(&c);
    kvlist *l = snapshot(&c);
    cr_assert_eq(l->n, NKEYS_EXPECTED);
    /* spot checks of table order (cfg.h, in that order) */
    static const struct {
        size_t i;
        const char *key;
    } at[] = {
        {0, "name"}, {1, "description"}, {2, "seed"}, {3, "cpu.mode"}, {10, "cpu.smap"},
        {11, "frontend.issue_width"}, {13, "itlb.latency"}, {14, "itlb.4k.sets"}, {17, "itlb.4k.holds"},
        {25, "itlb.1g.holds"}, {26, "dtlb.latency"}, {39, "stlb.latency"}, {40, "stlb.inclusive"},
        {41, "stlb.4k.sets"}, {53, "pwc.design"}, {54, "pwc.latency"}, {55, "pwc.pml5.sets"},
        {64, "pwc.pd.sets"}, {67, "pwc.unified.sets"}, {70, "walker.walkers"}, {72, "memsys.model"},
        {77, "memsys.l1d.sets"}, {88, "memsys.llc.replacement"}, {89, "memsys.scope"},
        {90, "memsys.l1i.sets"}, {94, "core.model"}, {95, "core.cpi_milli"},
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        cr_assert_str_eq(l->key[at[i].i], at[i].key);
    /* the os keys close the table, in cfg.h's order */
    static const char *const os_keys[] = {
        "os.phys_mem_mib", "os.frames", "os.exhaustion", "os.thp", "os.minor_fault_cycles",
        "os.major_fault_cycles", "os.cow_fault_cycles", "os.vmalloc_sync_cycles", "os.switch_cycles",
        "os.shootdown_cycles", "os.flush_ceiling", "os.kpti", "os.kernel_global", "os.quantum",
    };
    size_t nos = sizeof os_keys / sizeof os_keys[0];
    for (size_t i = 0; i < nos; i++)
        cr_assert_str_eq(l->key[NKEYS_EXPECTED - nos + i], os_keys[i]);
    /* keys are unique */
    for (size_t i = 0; i < l->n; i++)
        for (size_t j = i + 1; j < l->n; j++)
            cr_assert_str_neq(l->key[i], l->key[j]);
    free(l);
}

/* Every key maps to its own field: give every unsigned key a distinct
 * value through --set and read them all back.  Values come from two
 * counters that cannot meet (1.. for keys bounded by 64, 100.. for the
 * rest), so two keys sharing a field would show. */
Test(keys, distinct_fields)
{
    mm_config c;
    cfg_defaults(&c);
    kvlist *l = snapshot(&c);
    unsigned small = 1, big = 100;
    char set[128], err[512], want[MAXKEYS][16] = {{0}};
    for (size_t i = 0; i < l->n; i++) {
        const char *k = l->key[i];
        if (!l->val[i][0] || strspn(l->val[i], "0123456789") != strlen(l->val[i]))
            continue;   /* not an unsigned key */
        unsigned v;
        if (strcmp(k, "cpu.pa_bits") == 0)
            v = 40;
        else if (strcmp(k, "memsys.line_bytes") == 0)
            v = 2048;
        else {
            v = big;
            snprintf(set, sizeof set, "%s=%u", k, v);
            if (cfg_set(&c, set, err, sizeof err) == 0)
                big++;
            else
                v = small++;
        }
        snprintf(set, sizeof set, "%s=%u", k, v);
        must_set(&c, set);
        snprintf(want[i], sizeof want[i], "%u", v);
    }
    cr_assert_lt(small, 40);
    kvlist *m = snapshot(&c);
    for (size_t i = 0; i < l->n; i++)
        if (want[i][0])
            cr_assert_str_eq(m->val[i], want[i], "%s", l->key[i]);
    free(l);
    free(m);
}

Test(keys, ctx_policy_names)
{
    cr_assert_str_eq(ctx_policy_name(CTX_NOPCID), "nopcid");
    cr_assert_str_eq(ctx_policy_name(CTX_PCID), "pcid");
    cr_assert_str_eq(ctx_policy_name(CTX_RECYCLE), "recycle");
    cr_assert_eq(ctx_policy_by_name("recycle"), CTX_RECYCLE);
    cr_assert_eq(ctx_policy_by_name("asid"), -1);
    cr_assert_str_eq(ctx_policy_name(CTX_COUNT), "?");
}

/* The OS enums: every name round-trips, unknown names are -1, out-of-range
 * values print "?". */
Test(keys, os_policy_names)
{
    static const char *const frames[] = {"sequential", "shuffled", "buddy"};
    static const char *const exhaust[] = {"stop", "reclaim"};
    static const char *const thp[] = {"never", "always", "madvise"};
    cr_assert_eq(FRAMES_POLICY_COUNT, 3);
    cr_assert_eq(EXHAUST_POLICY_COUNT, 2);
    cr_assert_eq(THP_POLICY_COUNT, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(frame_policy_name((frame_policy)i), frames[i]);
        cr_assert_eq(frame_policy_by_name(frames[i]), i);
        cr_assert_str_eq(thp_policy_name((thp_policy)i), thp[i]);
        cr_assert_eq(thp_policy_by_name(thp[i]), i);
    }
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(exhaust_policy_name((exhaust_policy)i), exhaust[i]);
        cr_assert_eq(exhaust_policy_by_name(exhaust[i]), i);
    }
    cr_assert_eq(frame_policy_by_name("Buddy"), -1);   /* names are exact, as the other enums */
    cr_assert_eq(frame_policy_by_name("lifo"), -1);
    cr_assert_eq(exhaust_policy_by_name("swap"), -1);
    cr_assert_eq(thp_policy_by_name(""), -1);
    cr_assert_str_eq(frame_policy_name(FRAMES_POLICY_COUNT), "?");
    cr_assert_str_eq(exhaust_policy_name(EXHAUST_POLICY_COUNT), "?");
    cr_assert_str_eq(thp_policy_name(THP_POLICY_COUNT), "?");
}

/* ---- defaults ------------------------------------------------------------- */

Test(defaults, match_skylake_preset)
{
    mm_config def, sky;
    char err[512];
    cfg_defaults(&def);
    sky = def;
    cr_assert_eq(cfg_load_string(&sky, cfg_preset_yaml("skylake"), "skylake", err, sizeof err), 0, "%s", err);
    assert_same(&def, &sky, "skylake over defaults");
    cr_assert_eq(cfg_load(&sky, CFG_DEFAULT_PRESET, err, sizeof err), 0, "%s", err);
    assert_same(&def, &sky, "default preset");
}

Test(defaults, valid)
{
    mm_config c;
    char err[512] = "";
    cfg_defaults(&c);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
}

/* The struct fields behind the keys, and the derived fields. */
Test(defaults, struct_fields)
{
    mm_config c;
    cfg_defaults(&c);
    cr_assert_str_eq(c.name, "skylake");
    cr_assert_eq(c.cpu.mode, PAGING_X86_64);
    cr_assert_eq(c.cpu.pa_bits, 39);
    cr_assert_eq(c.cpu.context, CTX_RECYCLE);
    cr_assert_eq(c.cpu.nr_asids, 6);
    /* dTLB: 4k slot = array[0] 16x4, 2m = array[1] 8x4, 1g = array[2] 1x4 */
    cr_assert_eq(c.dtlb.tlb.array[0].sets, 16);
    cr_assert_eq(c.dtlb.tlb.array[0].ways, 4);
    cr_assert_eq(c.dtlb.tlb.array[0].holds, MM_PS_BIT(MM_PS_4K));
    cr_assert_eq(c.dtlb.tlb.array[1].sets, 8);
    cr_assert_eq(c.dtlb.tlb.array[1].holds, MM_PS_BIT(MM_PS_2M));
    cr_assert_eq(c.dtlb.tlb.array[2].ways, 4);
    cr_assert_eq(c.dtlb.tlb.array[2].holds, MM_PS_BIT(MM_PS_1G));
    /* iTLB has no 1g array */
    cr_assert_eq(c.itlb.tlb.array[2].ways, 0);
    /* STLB: 1536 = 128 x 12 shared 4K+2M; 2m slot absent; 1G 16 = 4 x 4 */
    cr_assert_eq(c.stlb.tlb.array[0].sets * c.stlb.tlb.array[0].ways, 1536);
    cr_assert_eq(c.stlb.tlb.array[0].holds, MM_PS_BIT(MM_PS_4K) | MM_PS_BIT(MM_PS_2M));
    cr_assert_eq(c.stlb.tlb.array[1].ways, 0);
    cr_assert_eq(c.stlb.tlb.array[2].sets * c.stlb.tlb.array[2].ways, 16);
    cr_assert_eq(c.stlb.latency, 9);
    cr_assert_eq(c.stlb_inclusive, false);
    /* PWC: pml5 -> level[5] .. pd -> level[2] */
    cr_assert_eq(c.pwc.design, PWC_SPLIT);
    cr_assert_eq(c.pwc.level[5].ways, 0);
    cr_assert_eq(c.pwc.level[4].ways, 2);
    cr_assert_eq(c.pwc.level[3].ways, 4);
    cr_assert_eq(c.pwc.level[2].sets * c.pwc.level[2].ways, 32);
    cr_assert_eq(c.pwc.unified.ways, 0);
    cr_assert_eq(c.walker.walkers, 2);
    /* memsys: l1d/l2/llc -> cache[0..2] */
    cr_assert_eq(c.memsys.model, MEMSYS_CACHES);
    cr_assert_eq(c.memsys.cache[0].sets * c.memsys.cache[0].ways * c.memsys.line_bytes, 32u << 10);
    cr_assert_eq(c.memsys.cache[1].sets * c.memsys.cache[1].ways * c.memsys.line_bytes, 256u << 10);
    cr_assert_eq(c.memsys.cache[2].sets * c.memsys.cache[2].ways * c.memsys.line_bytes, 2u << 20);
    cr_assert_eq(c.memsys.cache[2].latency, 42);
    cr_assert_eq(c.memsys.cache[2].repl, REPL_SRRIP);
    /* OS: configs/skylake.yaml's os section */
    cr_assert_eq(c.os.phys_mem_mib, 16384);
    cr_assert_eq(c.os.frames, FRAMES_BUDDY);
    cr_assert_eq(c.os.exhaustion, EXHAUST_STOP);
    cr_assert_eq(c.os.thp, THP_MADVISE);
    cr_assert_eq(c.os.minor_fault_cycles, 3000);     /* 0.75 us at 4 GHz */
    cr_assert_eq(c.os.major_fault_cycles, 360000);   /* 90 us */
    cr_assert_eq(c.os.cow_fault_cycles, 4600);       /* 1.15 us */
    cr_assert_eq(c.os.vmalloc_sync_cycles, 2000);    /* 0.5 us */
    cr_assert_eq(c.os.switch_cycles, 6000);          /* 1.5 us */
    cr_assert_eq(c.os.shootdown_cycles, 8000);       /* 2 us */
    cr_assert_eq(c.os.flush_ceiling, 33);
    cr_assert_eq(c.os.kpti, false);
    cr_assert_eq(c.os.kernel_global, true);
    cr_assert_eq(c.os.quantum, 100000);

    /* derived fields */
    cr_assert_str_eq(c.itlb.tlb.name, "itlb");
    cr_assert_str_eq(c.dtlb.tlb.name, "dtlb");
    cr_assert_str_eq(c.stlb.tlb.name, "stlb");
    cr_assert_eq(c.dtlb.tlb.narrays, 3);
    cr_assert_eq(c.dtlb.tlb.large_shift, 21);
    cr_assert_eq(c.memsys.ncaches, 3);
    cr_assert_str_eq(c.memsys.cache[0].name, "l1d");
    cr_assert_str_eq(c.memsys.cache[1].name, "l2");
    cr_assert_str_eq(c.memsys.cache[2].name, "llc");
    uint64_t seeds[5] = {c.itlb.tlb.seed, c.dtlb.tlb.seed, c.stlb.tlb.seed, c.pwc.seed, c.memsys.seed};
    for (int i = 0; i < 5; i++) {
        cr_assert_neq(seeds[i], 0);
        for (int j = i + 1; j < 5; j++)
            cr_assert_neq(seeds[i], seeds[j]);
    }
    cr_assert_eq(cfg_mode(&c)->kind, PAGING_X86_64);
}

Test(defaults, derived_fields_follow_keys)
{
    mm_config c;
    cfg_defaults(&c);
    uint64_t old = c.dtlb.tlb.seed;
    must_set(&c, "cpu.mode=x86-32");
    cr_assert_eq(c.itlb.tlb.large_shift, 22);
    cr_assert_eq(c.dtlb.tlb.large_shift, 22);
    cr_assert_eq(c.stlb.tlb.large_shift, 22);
    must_set(&c, "cpu.mode=pae");
    cr_assert_eq(c.dtlb.tlb.large_shift, 21);
    must_set(&c, "seed=2");
    cr_assert_neq(c.dtlb.tlb.seed, old);
    must_set(&c, "seed=1");
    cr_assert_eq(c.dtlb.tlb.seed, old);
}

/* ---- presets -------------------------------------------------------------- */

/* The four cited presets are compiled in, the list is sorted (the order of
 * `config list`), and every compiled-in preset -- including any added
 * later -- loads, validates and sets every key. */
Test(presets, listed)
{
    static const char *const names[] = {"cortex-a76", "golden-cove", "skylake", "zen2"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_not_null(cfg_preset_yaml(names[i]), "%s", names[i]);
    cr_assert_geq(cfg_preset_count(), 4);
    cr_assert_null(cfg_preset_name(cfg_preset_count()));
    cr_assert_null(cfg_preset_yaml("pentium"));
    for (size_t i = 0; i < cfg_preset_count(); i++) {
        const char *name = cfg_preset_name(i);
        if (i > 0)
            cr_assert_lt(strcmp(cfg_preset_name(i - 1), name), 0);
        mm_config c;
        char err[512] = "";
        load_preset(&c, name);
        cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s: %s", name, err);
        leaves *y = parse_leaves(cfg_preset_yaml(name));
        cr_assert_eq(y->n, NKEYS_EXPECTED, "%s sets %zu keys", name, y->n);
        free(y);
    }
}

ParameterizedTestParameters(presets, each)
{
    return PRESET_PARAMS;
}

/* Loads (over the defaults, by cfg_load), validates, has its own name. */
ParameterizedTest(preset_param *name, presets, each)
{
    mm_config c;
    char err[512] = "";
    load_preset(&c, name->name);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s: %s", name->name, err);
    cr_assert_str_eq(c.name, name->name);
    cr_assert_neq(c.description[0], '\0');
}

ParameterizedTestParameters(presets, every_key_in_table_order)
{
    return PRESET_PARAMS;
}

/* Each preset's YAML sets every key of the table, in table order, and the
 * loaded value of each is the text the preset wrote. */
ParameterizedTest(preset_param *name, presets, every_key_in_table_order)
{
    leaves *y = parse_leaves(cfg_preset_yaml(name->name));
    mm_config c;
    load_preset(&c, name->name);
    kvlist *l = snapshot(&c);
    cr_assert_eq(y->n, l->n, "%s sets %zu keys, the table has %zu", name->name, y->n, l->n);
    for (size_t i = 0; i < l->n; i++) {
        cr_assert_str_eq(y->key[i], l->key[i], "%s: key %zu", name->name, i);
        cr_assert_str_eq(y->val[i], l->val[i], "%s: %s", name->name, l->key[i]);
    }
    free(y);
    free(l);
}

ParameterizedTestParameters(presets, round_trip)
{
    return PRESET_PARAMS;
}

/* cfg_write_yaml of a preset reads back (over the defaults) unchanged. */
ParameterizedTest(preset_param *name, presets, round_trip)
{
    mm_config c, back;
    char err[512];
    load_preset(&c, name->name);
    char *text = write_yaml(&c);
    cfg_defaults(&back);
    cr_assert_eq(cfg_load_string(&back, text, "written", err, sizeof err), 0, "%s\n%s", err, text);
    assert_same(&c, &back, name->name);
    free(text);
}

/* Entries (sets x ways) of each preset's arrays, from the sources cited in
 * the preset files. */
typedef struct capacity {
    char preset[16], array[16];
    unsigned entries;
} capacity;

ParameterizedTestParameters(presets, capacities)
{
    static capacity caps[] = {
        {"skylake", "itlb.4k", 128},     {"skylake", "itlb.2m", 8},       {"skylake", "dtlb.4k", 64},
        {"skylake", "dtlb.2m", 32},      {"skylake", "dtlb.1g", 4},       {"skylake", "stlb.4k", 1536},
        {"skylake", "stlb.1g", 16},      {"skylake", "pwc.pd", 32},       {"golden-cove", "itlb.4k", 256},
        {"golden-cove", "dtlb.4k", 96},  {"golden-cove", "dtlb.2m", 32},  {"golden-cove", "dtlb.1g", 8},
        {"golden-cove", "stlb.4k", 2048}, {"golden-cove", "stlb.1g", 1024}, {"zen2", "itlb.4k", 64},
        {"zen2", "dtlb.4k", 64},         {"zen2", "stlb.4k", 2048},       {"zen2", "stlb.1g", 0},
        {"cortex-a76", "itlb.4k", 48},   {"cortex-a76", "dtlb.4k", 48},   {"cortex-a76", "stlb.4k", 1280},
        {"cortex-a76", "pwc.unified", 64}, {"cortex-a76", "stlb.2m", 0},
        /* page-table-line caches, in 64-byte lines */
        {"skylake", "memsys.l1d", 512},  {"skylake", "memsys.l2", 4096}, {"golden-cove", "memsys.l1d", 768},
        {"golden-cove", "memsys.l2", 20480}, {"zen2", "memsys.l2", 8192}, {"zen2", "memsys.llc", 262144},
        {"cortex-a76", "memsys.l1d", 1024},
    };
    return cr_make_param_array(capacity, caps, sizeof caps / sizeof caps[0]);
}

ParameterizedTest(capacity *cap, presets, capacities)
{
    mm_config c;
    char key[64];
    load_preset(&c, cap->preset);
    snprintf(key, sizeof key, "%s.sets", cap->array);
    unsigned sets = uint_of(&c, key);
    snprintf(key, sizeof key, "%s.ways", cap->array);
    unsigned ways = uint_of(&c, key);
    cr_assert_eq(sets * ways, cap->entries, "%s %s: %u x %u", cap->preset, cap->array, sets, ways);
}

Test(presets, mode_and_policies)
{
    mm_config c;
    load_preset(&c, "zen2");
    cr_assert_eq(c.cpu.context, CTX_NOPCID);
    cr_assert_eq(c.pwc.design, PWC_PTE);
    cr_assert_eq(c.dtlb.tlb.array[0].holds, MM_PS_BIT(MM_PS_4K) | MM_PS_BIT(MM_PS_2M) | MM_PS_BIT(MM_PS_1G));
    cr_assert_eq(c.walker.walkers, 2);
    load_preset(&c, "cortex-a76");
    cr_assert_eq(c.pwc.design, PWC_UNIFIED);
    cr_assert_eq(c.cpu.context, CTX_PCID);
    cr_assert_eq(c.stlb.latency, 3);
    cr_assert_eq(cfg_mode(&c)->levels, 4);
    load_preset(&c, "golden-cove");
    cr_assert_eq(c.walker.walkers, 4);
    cr_assert_eq(c.pwc.level[5].ways, 2);
}

/* The OS section: Linux's policies everywhere; costs are the same times at
 * each core's clock; arm64's flush ceiling and memory size differ. */
typedef struct os_expect {
    char preset[16];
    unsigned phys_mem_mib, minor, major, shootdown, flush_ceiling;
} os_expect;

ParameterizedTestParameters(presets, os_section)
{
    static os_expect cases[] = {
        {"skylake", 16384, 3000, 360000, 8000, 33},       /* 4.0 GHz */
        {"golden-cove", 16384, 3675, 441000, 9800, 33},   /* 4.9 GHz */
        {"zen2", 16384, 3000, 360000, 8000, 33},          /* 4.0 GHz */
        {"cortex-a76", 8192, 2130, 255600, 1420, 511},    /* 2.84 GHz; TLBI broadcast, MAX_TLBI_OPS */
    };
    return cr_make_param_array(os_expect, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(os_expect *e, presets, os_section)
{
    mm_config c;
    load_preset(&c, e->preset);
    cr_assert_eq(c.os.phys_mem_mib, e->phys_mem_mib);
    cr_assert_eq(c.os.frames, FRAMES_BUDDY);
    cr_assert_eq(c.os.exhaustion, EXHAUST_STOP);
    cr_assert_eq(c.os.thp, THP_MADVISE);
    cr_assert_eq(c.os.minor_fault_cycles, e->minor);
    cr_assert_eq(c.os.major_fault_cycles, e->major);
    cr_assert_eq(c.os.shootdown_cycles, e->shootdown);
    cr_assert_eq(c.os.flush_ceiling, e->flush_ceiling);
    /* cow = minor + a 4 KiB copy: dearer than a minor fault, far below a major one */
    cr_assert_gt(c.os.cow_fault_cycles, c.os.minor_fault_cycles);
    cr_assert_lt(c.os.vmalloc_sync_cycles, c.os.minor_fault_cycles);
    cr_assert_lt(c.os.cow_fault_cycles * 10, c.os.major_fault_cycles);
    cr_assert_eq(c.os.kpti, false);
    cr_assert_eq(c.os.kernel_global, true);
    cr_assert_eq(c.os.quantum, 100000);
    /* the memory fits the physical address width */
    cr_assert_leq((uint64_t)c.os.phys_mem_mib << 20, 1ull << c.cpu.pa_bits);
}

/* ---- cfg_write_yaml ------------------------------------------------------- */

Test(write_yaml, nested_in_table_order)
{
    mm_config c;
    cfg_defaults(&c);
    char *text = write_yaml(&c);
    cr_assert(strncmp(text, "name: skylake\n", 14) == 0, "%s", text);
    cr_assert_not_null(strstr(text, "\ndtlb:\n  latency: 1\n  4k:\n    sets: 16\n"), "%s", text);
    cr_assert_not_null(strstr(text, "    holds: [4k, 2m]\n"), "%s", text);
    cr_assert_not_null(strstr(text, "    holds: []\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nos:\n  phys_mem_mib: 16384\n  frames: buddy\n  exhaustion: stop\n  thp: madvise\n"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "  kpti: false\n  kernel_global: true\n  quantum: 100000\n"), "%s", text);
    leaves *y = parse_leaves(text);
    kvlist *l = snapshot(&c);
    cr_assert_eq(y->n, l->n);
    for (size_t i = 0; i < l->n; i++) {
        cr_assert_str_eq(y->key[i], l->key[i]);
        cr_assert_str_eq(y->val[i], l->val[i]);
    }
    free(y);
    free(l);
    free(text);
}

/* Strings that need quoting, the largest seed, unusual sets. */
Test(write_yaml, round_trip_awkward_values)
{
    static const char *const names[] = {"yes", "12", "~", "a: b", "#x", "-", "[x]", "", " padded "};
    static const char *const descs[] = {
        "L1: 64 entries # not a comment", "quotes ' and \" and \\ backslash", "line one\nline two",
        "tab\there, unicode \xc3\xa9\xe2\x80\x94", "", "{not: a mapping}, [nor, a, list]",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mm_config c, back;
        char err[512];
        load_preset(&c, "zen2");
        snprintf(c.name, sizeof c.name, "%s", names[i]);
        snprintf(c.description, sizeof c.description, "%s", descs[i % (sizeof descs / sizeof descs[0])]);
        must_set(&c, "seed=18446744073709551615");
        must_set(&c, "stlb.1g.holds=[1g]");
        must_set(&c, "walker.merge=false");
        char *text = write_yaml(&c);
        cfg_defaults(&back);
        cr_assert_eq(cfg_load_string(&back, text, "written", err, sizeof err), 0, "%s\n%s", err, text);
        assert_same(&c, &back, names[i]);
        cr_assert_str_eq(back.name, names[i]);
        free(text);
    }
}

/* ---- --set ---------------------------------------------------------------- */

Test(set, overrides)
{
    mm_config c;
    cfg_defaults(&c);
    must_set(&c, "dtlb.4k.sets=32");
    cr_assert_eq(c.dtlb.tlb.array[0].sets, 32);
    cr_assert_str_eq(value_of(&c, "dtlb.4k.sets"), "32");

    must_set(&c, "stlb.4k.holds=4k,2m");
    cr_assert_eq(c.stlb.tlb.array[0].holds, MM_PS_BIT(MM_PS_4K) | MM_PS_BIT(MM_PS_2M));
    must_set(&c, "stlb.4k.holds=[4k]");
    cr_assert_eq(c.stlb.tlb.array[0].holds, MM_PS_BIT(MM_PS_4K));
    must_set(&c, "stlb.4k.holds=[ 2m , 4k ]");
    cr_assert_eq(c.stlb.tlb.array[0].holds, MM_PS_BIT(MM_PS_4K) | MM_PS_BIT(MM_PS_2M));
    cr_assert_str_eq(value_of(&c, "stlb.4k.holds"), "[4k, 2m]");
    must_set(&c, "stlb.2m.holds=4M");   /* the 2m slot's x86-32 name */
    cr_assert_eq(c.stlb.tlb.array[1].holds, MM_PS_BIT(MM_PS_2M));
    must_set(&c, "stlb.2m.holds=");
    cr_assert_eq(c.stlb.tlb.array[1].holds, 0);
    must_set(&c, "stlb.2m.holds=[]");
    cr_assert_str_eq(value_of(&c, "stlb.2m.holds"), "[]");

    must_set(&c, "cpu.mode=la57");
    cr_assert_eq(c.cpu.mode, PAGING_LA57);
    cr_assert_eq(cfg_mode(&c)->kind, PAGING_LA57);
    cr_assert_eq(cfg_mode(&c)->levels, 5);

    must_set(&c, "walker.merge=off");
    cr_assert_eq(c.walker.merge, false);
    must_set(&c, "walker.merge=YES");
    cr_assert_eq(c.walker.merge, true);
    must_set(&c, "name=my core: v2");
    cr_assert_str_eq(c.name, "my core: v2");
    must_set(&c, "seed=0x10");
    cr_assert_eq(c.seed, 16);
    must_set(&c, "pwc.design=unified");
    cr_assert_eq(c.pwc.design, PWC_UNIFIED);
    must_set(&c, "memsys.model=fixed");
    cr_assert_eq(c.memsys.model, MEMSYS_FIXED);
    must_set(&c, "memsys.llc.replacement=random");
    cr_assert_eq(c.memsys.cache[2].repl, REPL_RANDOM);
    must_set(&c, "cpu.context=nopcid");
    cr_assert_eq(c.cpu.context, CTX_NOPCID);
    must_set(&c, "pwc.pml5.ways=4");
    cr_assert_eq(c.pwc.level[5].ways, 4);
    must_set(&c, "stlb.inclusive=true");
    cr_assert_eq(c.stlb_inclusive, true);

    /* the OS keys */
    must_set(&c, "os.frames=sequential");
    cr_assert_eq(c.os.frames, FRAMES_SEQUENTIAL);
    must_set(&c, "os.frames=shuffled");
    cr_assert_eq(c.os.frames, FRAMES_SHUFFLED);
    cr_assert_str_eq(value_of(&c, "os.frames"), "shuffled");
    must_set(&c, "os.exhaustion=reclaim");
    cr_assert_eq(c.os.exhaustion, EXHAUST_RECLAIM);
    cr_assert_str_eq(value_of(&c, "os.exhaustion"), "reclaim");
    must_set(&c, "os.thp=always");
    cr_assert_eq(c.os.thp, THP_ALWAYS);
    must_set(&c, "os.thp=never");
    cr_assert_eq(c.os.thp, THP_NEVER);
    cr_assert_str_eq(value_of(&c, "os.thp"), "never");
    must_set(&c, "os.phys_mem_mib=1048576");
    cr_assert_eq(c.os.phys_mem_mib, 1u << 20);
    must_set(&c, "os.kpti=yes");
    cr_assert_eq(c.os.kpti, true);
    must_set(&c, "os.kernel_global=off");
    cr_assert_eq(c.os.kernel_global, false);
    must_set(&c, "os.flush_ceiling=0");
    cr_assert_eq(c.os.flush_ceiling, 0);
    must_set(&c, "os.major_fault_cycles=50000000");   /* a 10 ms disk at 5 GHz */
    cr_assert_eq(c.os.major_fault_cycles, 50000000);
    must_set(&c, "os.quantum=1");
    cr_assert_eq(c.os.quantum, 1);
}

typedef struct bad_case {
    char input[128];     /* YAML text, or a --set assignment */
    char message[160];   /* the whole expected message */
} bad_case;

ParameterizedTestParameters(set, errors)
{
    static bad_case cases[] = {
        {"foo.bar=1", "--set foo.bar=1: unknown key"},
        {"dtlb.4k=1", "--set dtlb.4k=1: unknown key"},
        {"dtlb.4k.sets", "--set dtlb.4k.sets: expected KEY=VALUE"},
        {"dtlb.4k.sets=abc", "--set dtlb.4k.sets=abc: expected an unsigned integer, got 'abc'"},
        {"dtlb.4k.sets=-1", "--set dtlb.4k.sets=-1: expected an unsigned integer, got '-1'"},
        {"dtlb.4k.sets=", "--set dtlb.4k.sets=: expected an unsigned integer, got ''"},
        {"dtlb.4k.sets= 8", "--set dtlb.4k.sets= 8: expected an unsigned integer, got ' 8'"},
        {"dtlb.4k.sets=4294967296",
         "--set dtlb.4k.sets=4294967296: expected an unsigned integer up to 4294967295, got '4294967296'"},
        {"cpu.cpus=0", "--set cpu.cpus=0: 0 is out of range (1..64)"},
        {"dtlb.4k.ways=65", "--set dtlb.4k.ways=65: 65 is out of range (0..64)"},
        {"cpu.mode=x86-128",
         "--set cpu.mode=x86-128: expected a paging mode (x86-64, la57, pae, x86-32), got 'x86-128'"},
        {"stlb.4k.holds=4k,3k",
         "--set stlb.4k.holds=4k,3k: expected a list of page sizes (4k, 2m, 1g), got '4k,3k'"},
        {"stlb.4k.holds=[4k", "--set stlb.4k.holds=[4k: expected a list of page sizes (4k, 2m, 1g), got '[4k'"},
        {"stlb.4k.holds=4k,", "--set stlb.4k.holds=4k,: expected a list of page sizes (4k, 2m, 1g), got '4k,'"},
        {"seed=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--set seed=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: expected an unsigned integer, got 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"},  /* shown cut at 40 */
        {"walker.merge=2", "--set walker.merge=2: expected a boolean (true/false, yes/no, on/off), got '2'"},
        {"pwc.pd.replacement=lfu",
         "--set pwc.pd.replacement=lfu: expected a replacement policy (lru, plru, fifo, random, srrip), got 'lfu'"},
        {"os.frames=lifo", "--set os.frames=lifo: expected a frame policy (sequential, shuffled, buddy), got 'lifo'"},
        {"os.frames=", "--set os.frames=: expected a frame policy (sequential, shuffled, buddy), got ''"},
        {"os.exhaustion=swap", "--set os.exhaustion=swap: expected an exhaustion policy (stop, reclaim), got 'swap'"},
        {"os.thp=sometimes", "--set os.thp=sometimes: expected a THP policy (never, always, madvise), got 'sometimes'"},
        {"os.thp=1", "--set os.thp=1: expected a THP policy (never, always, madvise), got '1'"},
        /* at least OS_RESERVED_MIB 16 + 4 MiB of frames (os.h) */
        {"os.phys_mem_mib=4", "--set os.phys_mem_mib=4: 4 is out of range (20..1048576)"},
        {"os.phys_mem_mib=19", "--set os.phys_mem_mib=19: 19 is out of range (20..1048576)"},
        {"os.phys_mem_mib=1048577", "--set os.phys_mem_mib=1048577: 1048577 is out of range (20..1048576)"},
        {"os.quantum=0", "--set os.quantum=0: 0 is out of range (at least 1)"},
        {"os.minor_fault_cycles=1000000001",
         "--set os.minor_fault_cycles=1000000001: 1000000001 is out of range (0..1000000000)"},
        {"os.kpti=2", "--set os.kpti=2: expected a boolean (true/false, yes/no, on/off), got '2'"},
        {"os.swap=1", "--set os.swap=1: unknown key"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

/* A failed --set names the problem and leaves the config as it was. */
ParameterizedTest(bad_case *bc, set, errors)
{
    mm_config c, before;
    char err[512] = "";
    cfg_defaults(&c);
    before = c;
    cr_assert_eq(cfg_set(&c, bc->input, err, sizeof err), -1, "%s", bc->input);
    cr_assert_str_eq(err, bc->message);
    cr_assert_eq(memcmp(&c, &before, sizeof c), 0);
}

/* ---- the YAML loader ------------------------------------------------------ */

ParameterizedTestParameters(load, errors)
{
    static bad_case cases[] = {
        /* unknown keys: the key's line */
        {"cpu:\n  cpus: 2\n  bogus: 1\n", "t.yaml:3: cpu.bogus: unknown key"},
        {"seed: 1\n\n\nfoo:\n  a: 1\n", "t.yaml:4: foo: unknown key"},
        {"dtlb:\n  4k:\n    set: 8\n", "t.yaml:3: dtlb.4k.set: unknown key"},
        {"dtlb:\n  4k: {sets: 8, size: 4}\n", "t.yaml:2: dtlb.4k.size: unknown key"},
        {"cpu: 4\n", "t.yaml:1: cpu: expected a mapping of cpu.* keys, got a scalar"},
        {"dtlb:\n  4k: [1, 2]\n", "t.yaml:2: dtlb.4k: expected a mapping of dtlb.4k.* keys, got a sequence"},
        /* wrong types: the value's line */
        {"dtlb:\n  4k:\n    sets: abc\n", "t.yaml:3: dtlb.4k.sets: expected an unsigned integer, got 'abc'"},
        {"dtlb:\n  4k:\n    sets:\n      16x\n", "t.yaml:4: dtlb.4k.sets: expected an unsigned integer, got '16x'"},
        {"seed: -1\n", "t.yaml:1: seed: expected an unsigned integer, got '-1'"},
        {"seed: 1.5\n", "t.yaml:1: seed: expected an unsigned integer, got '1.5'"},
        {"seed: 18446744073709551616\n",
         "t.yaml:1: seed: expected an unsigned integer up to 18446744073709551615, got '18446744073709551616'"},
        {"dtlb:\n  latency: 4294967296\n",
         "t.yaml:2: dtlb.latency: expected an unsigned integer up to 4294967295, got '4294967296'"},
        {"seed:\n  a: 1\n", "t.yaml:2: seed: expected an unsigned integer, got a mapping"},
        {"cpu:\n  cpus: [1, 2]\n", "t.yaml:2: cpu.cpus: expected an unsigned integer, got a sequence"},
        {"name: [a, b]\n", "t.yaml:1: name: expected a string, got a sequence"},
        {"cpu:\n  wp: maybe\n", "t.yaml:2: cpu.wp: expected a boolean (true/false, yes/no, on/off), got 'maybe'"},
        {"dtlb:\n  4k:\n    ways: 65\n", "t.yaml:3: dtlb.4k.ways: 65 is out of range (0..64)"},
        {"cpu: {pa_bits: 53}\n", "t.yaml:1: cpu.pa_bits: 53 is out of range (32..52)"},
        {"name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
         "t.yaml:1: name: longer than 63 characters"},
        /* unknown enum names */
        {"cpu:\n  mode: x86-128\n",
         "t.yaml:2: cpu.mode: expected a paging mode (x86-64, la57, pae, x86-32), got 'x86-128'"},
        {"cpu:\n  context: asid\n",
         "t.yaml:2: cpu.context: expected a context policy (nopcid, pcid, recycle), got 'asid'"},
        {"stlb:\n  4k:\n    replacement: lfu\n",
         "t.yaml:3: stlb.4k.replacement: expected a replacement policy (lru, plru, fifo, random, srrip), got 'lfu'"},
        {"pwc:\n  design: skip\n",
         "t.yaml:2: pwc.design: expected a page-walk-cache design (none, split, unified, pte), got 'skip'"},
        {"memsys: {model: ideal}\n", "t.yaml:1: memsys.model: expected a memory model (fixed, caches), got 'ideal'"},
        {"os:\n  frames: lifo\n",
         "t.yaml:2: os.frames: expected a frame policy (sequential, shuffled, buddy), got 'lifo'"},
        {"os: {exhaustion: oom}\n", "t.yaml:1: os.exhaustion: expected an exhaustion policy (stop, reclaim), got 'oom'"},
        {"os:\n  phys_mem_mib: 64\n  thp: transparent\n",
         "t.yaml:3: os.thp: expected a THP policy (never, always, madvise), got 'transparent'"},
        {"os:\n  thp: [always]\n", "t.yaml:2: os.thp: expected a THP policy (never, always, madvise), got a sequence"},
        {"os:\n  frames:\n    policy: buddy\n",
         "t.yaml:3: os.frames: expected a frame policy (sequential, shuffled, buddy), got a mapping"},
        {"os:\n  phys_mem_mib: 16g\n", "t.yaml:2: os.phys_mem_mib: expected an unsigned integer, got '16g'"},
        {"os:\n  phys_mem_mib: 8\n", "t.yaml:2: os.phys_mem_mib: 8 is out of range (20..1048576)"},
        {"os: {quantum: 0}\n", "t.yaml:1: os.quantum: 0 is out of range (at least 1)"},
        {"os:\n  thp: never\n  thp: always\n", "t.yaml:3: os.thp: duplicate key (first set on line 2)"},
        {"os:\n  tlb_flush_ceiling: 33\n", "t.yaml:2: os.tlb_flush_ceiling: unknown key"},
        {"os: buddy\n", "t.yaml:1: os: expected a mapping of os.* keys, got a scalar"},
        /* page-size lists */
        {"dtlb:\n  4k:\n    holds: [4k, 3k]\n", "t.yaml:3: dtlb.4k.holds: expected a page size (4k, 2m, 1g), got '3k'"},
        {"dtlb:\n  4k:\n    holds:\n      - 4k\n      - [2m]\n",
         "t.yaml:5: dtlb.4k.holds: expected a page size (4k, 2m, 1g), got a sequence"},
        {"dtlb: {4k: {holds: 8k}}\n",
         "t.yaml:1: dtlb.4k.holds: expected a list of page sizes (4k, 2m, 1g), got '8k'"},
        /* duplicates: the second key's line, naming the first */
        {"seed: 1\nname: a\nseed: 2\n", "t.yaml:3: seed: duplicate key (first set on line 1)"},
        {"cpu:\n  cpus: 1\ncpu:\n  pa_bits: 40\n", "t.yaml:3: cpu: duplicate key (first set on line 1)"},
        {"dtlb.4k.sets: 8\ndtlb:\n  4k: {sets: 16}\n", "t.yaml:3: dtlb.4k.sets: duplicate key (first set on line 1)"},
        {"dtlb:\n  4k: {holds: [4k], holds: [2m]}\n", "t.yaml:2: dtlb.4k.holds: duplicate key (first set on line 2)"},
        /* document structure */
        {"hello\n", "t.yaml:1: (top level): expected a mapping of configuration keys, got a scalar"},
        {"- seed: 1\n", "t.yaml:1: (top level): expected a mapping of configuration keys, got a sequence"},
        {"seed: 1\n---\nseed: 2\n", "t.yaml:2: only one YAML document is allowed"},
        {"seed: &s 1\nwalker:\n  walkers: *s\n", "t.yaml:3: walker.walkers: YAML aliases are not supported"},
        {"? [a]\n: 1\n", "t.yaml:1: (top level): expected a key name, got a sequence"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

/* A failed load names FILE:LINE and the key, and leaves the config. */
ParameterizedTest(bad_case *bc, load, errors)
{
    mm_config c, before;
    char err[512] = "";
    cfg_defaults(&c);
    before = c;
    cr_assert_eq(cfg_load_string(&c, bc->input, "t.yaml", err, sizeof err), -1, "%s", bc->input);
    cr_assert_str_eq(err, bc->message);
    cr_assert_eq(memcmp(&c, &before, sizeof c), 0);
}

/* YAML syntax errors: libyaml's problem, at the line libyaml reports. */
Test(load, yaml_syntax_errors)
{
    mm_config c;
    char err[512];
    cfg_defaults(&c);
    /* flow mapping closed with ']' on line 3 */
    cr_assert_eq(cfg_load_string(&c, "seed: 1\nname: x\ndtlb: {4k: {sets: 32]}\n", "t.yaml", err, sizeof err), -1);
    cr_assert(strncmp(err, "t.yaml:3: YAML error: ", 22) == 0, "%s", err);
    cr_assert_not_null(strstr(err, "did not find expected ',' or '}'"), "%s", err);
    /* unterminated quoted scalar starting on line 3: found at the end, line 4 */
    cr_assert_eq(cfg_load_string(&c, "seed: 1\nname: x\ndescription: 'abc\n", "t.yaml", err, sizeof err), -1);
    cr_assert(strncmp(err, "t.yaml:4: YAML error: ", 22) == 0, "%s", err);
    cr_assert_not_null(strstr(err, "quoted scalar at line 3"), "%s", err);
    /* a key without ':' on line 4 */
    cr_assert_eq(cfg_load_string(&c, "seed: 1\ncpu:\n  cpus: 2\n  pa_bits 40\nname: x\n", "t.yaml", err, sizeof err),
                 -1);
    cr_assert_not_null(strstr(err, "YAML error: could not find expected ':' (while scanning a simple key at line 4)"),
                       "%s", err);
    /* a tab where indentation is expected */
    cr_assert_eq(cfg_load_string(&c, "seed: 1\n\tname: x\n", "t.yaml", err, sizeof err), -1);
    cr_assert(strncmp(err, "t.yaml:2: YAML error: ", 22) == 0, "%s", err);
    /* invalid UTF-8 on line 2: a reader error, located by byte offset */
    cr_assert_eq(cfg_load_string(&c, "seed: 1\nname: \xff\n", "t.yaml", err, sizeof err), -1);
    cr_assert(strncmp(err, "t.yaml:2: YAML error: ", 22) == 0, "%s", err);
}

/* No key at all (empty, comments, an empty document) is an error: a config
 * truncated to nothing must not pass for the defaults.  *c is unchanged. */
Test(load, empty_is_an_error)
{
    static const char *const empty[] = {"", "# only a comment\n", "---\n", "---\n...\n", "\n\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        mm_config c, before;
        char err[512];
        cfg_defaults(&c);
        before = c;
        cr_assert_eq(cfg_load_string(&c, empty[i], "t.yaml", err, sizeof err), -1, "case %zu", i);
        cr_assert_str_eq(err, "t.yaml: no configuration keys (the file is empty or only comments)");
        cr_assert_eq(memcmp(&c, &before, sizeof c), 0);
    }
}

Test(load, accepts)
{
    mm_config c, def;
    char err[512];
    cfg_defaults(&def);
    /* an empty section is a key: nothing changes */
    c = def;
    cr_assert_eq(cfg_load_string(&c, "cpu: {}\n", "t.yaml", err, sizeof err), 0, "%s", err);
    assert_same(&def, &c, "empty section");
    /* dotted keys, flow style, quoted numbers, scalar holds, bool spellings */
    c = def;
    cr_assert_eq(cfg_load_string(&c,
                                 "dtlb.4k.sets: 32\n"
                                 "stlb: {1g: {sets: '8', holds: 1g}}\n"
                                 "itlb:\n  2m:\n    holds:\n      - 2m\n"
                                 "cpu: {wp: off, smep: No, smap: ON}\n"
                                 "walker.merge: no\n"
                                 "description:\n"
                                 "seed: 0xff\n",
                                 "t.yaml", err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(c.dtlb.tlb.array[0].sets, 32);
    cr_assert_eq(c.stlb.tlb.array[2].sets, 8);
    cr_assert_eq(c.stlb.tlb.array[2].holds, MM_PS_BIT(MM_PS_1G));
    cr_assert_eq(c.itlb.tlb.array[1].holds, MM_PS_BIT(MM_PS_2M));
    cr_assert_eq(c.cpu.wp, false);
    cr_assert_eq(c.cpu.smep, false);
    cr_assert_eq(c.cpu.smap, true);
    cr_assert_eq(c.walker.merge, false);
    cr_assert_str_eq(c.description, "");
    cr_assert_eq(c.seed, 255);
    /* keys absent keep their value */
    cr_assert_eq(c.dtlb.tlb.array[1].sets, def.dtlb.tlb.array[1].sets);
    cr_assert_str_eq(c.name, "skylake");
}

/* Loading goes over the current contents: a preset then a partial file. */
Test(load, layers_over_current)
{
    mm_config c;
    char err[512];
    load_preset(&c, "zen2");
    cr_assert_eq(cfg_load_string(&c, "walker:\n  walkers: 6\n", "t.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.walker.walkers, 6);
    cr_assert_eq(c.stlb.tlb.array[0].sets, 128);     /* still zen2's */
    cr_assert_eq(c.pwc.design, PWC_PTE);
}

/* ---- files and cfg_load ----------------------------------------------------- */

static char *temp_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_cfg_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

Test(load, file)
{
    mm_config c;
    char err[512], want[600];
    cfg_defaults(&c);
    char *path = temp_file("# my machine\nname: mine\ndtlb:\n  4k:\n    sets: 64\n");
    cr_assert_eq(cfg_load_file(&c, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.dtlb.tlb.array[0].sets, 64);
    cr_assert_str_eq(c.name, "mine");
    /* cfg_load: not a preset name, so a path; starts from the defaults */
    must_set(&c, "walker.walkers=7");
    cr_assert_eq(cfg_load(&c, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.walker.walkers, 2);
    cr_assert_eq(c.dtlb.tlb.array[0].sets, 64);
    unlink(path);

    path = temp_file("name: mine\ncpu:\n  mode: x86-64\n  cpus: lots\n");
    cr_assert_eq(cfg_load_file(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:4: cpu.cpus: expected an unsigned integer, got 'lots'", path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(cfg_load(&c, path, err, sizeof err), -1);
    cr_assert_str_eq(err, want);
    unlink(path);

    cr_assert_eq(cfg_load_file(&c, "/nonexistent/mine.yaml", err, sizeof err), -1);
    cr_assert_str_eq(err, "/nonexistent/mine.yaml: cannot open: No such file or directory");
    cr_assert_eq(cfg_load(&c, "pentium", err, sizeof err), -1);
    cr_assert_str_eq(err, "pentium: cannot open: No such file or directory");
    cr_assert_eq(cfg_load_file(&c, "/", err, sizeof err), -1);
    cr_assert_str_eq(err, "/: cannot read: Is a directory");
}

/* The presets on disk are the ones compiled in. */
ParameterizedTestParameters(load, preset_file_matches_embedded)
{
    return PRESET_PARAMS;
}

ParameterizedTest(preset_param *name, load, preset_file_matches_embedded)
{
    char path[512], err[512];
    mm_config from_file, builtin;
    snprintf(path, sizeof path, "%s/configs/%s.yaml", MMUSIM_SOURCE_DIR, name->name);
    cfg_defaults(&from_file);
    cr_assert_eq(cfg_load_file(&from_file, path, err, sizeof err), 0, "%s", err);
    load_preset(&builtin, name->name);
    assert_same(&from_file, &builtin, name->name);
}

/* ---- cfg_validate ----------------------------------------------------------- */

/* The rules between keys, broken by --set on the defaults: the message
 * names the assignment, and where the other key's value came from.  Of
 * two keys, the one given last leads (a --set over the default); of two
 * --sets, the rule's own key (sets before ways, a later slot's holds,
 * os.phys_mem_mib before cpu.*). */
typedef struct invalid_case {
    char sets[3][40];    /* --set assignments applied to the defaults */
    char message[200];
} invalid_case;

ParameterizedTestParameters(validate, errors)
{
    static invalid_case cases[] = {
        {{"dtlb.4k.sets=0"},
         "--set dtlb.4k.sets=0: 0, but the array is present and needs at least one set: dtlb.4k.ways is 4 "
         "(the default)"},
        {{"dtlb.4k.sets=12"}, "--set dtlb.4k.sets=12: 12 is not a power of two"},
        {{"stlb.1g.sets=3"}, "--set stlb.1g.sets=3: 3 is not a power of two"},
        /* the default stlb.4k slot holds [4k, 2m] */
        {{"stlb.2m.ways=4", "stlb.2m.holds=[2m]"},
         "--set stlb.2m.holds=[2m]: 2m is also held by stlb.4k.holds (the default)"},
        {{"stlb.2m.ways=4"}, "--set stlb.2m.ways=4: 4 makes the array present, but stlb.2m.holds is empty (the default)"},
        {{"dtlb.1g.holds=[2m, 1g]"}, "--set dtlb.1g.holds=[2m, 1g]: 2m is also held by dtlb.2m.holds (the default)"},
        /* the earlier slot given last: the message is about it */
        {{"dtlb.4k.holds=[4k, 1g]"}, "--set dtlb.4k.holds=[4k, 1g]: 1g is also held by dtlb.1g.holds (the default)"},
        {{"dtlb.2m.holds=[]"}, "--set dtlb.2m.holds=[]: empty, but the array is present: dtlb.2m.ways is 4 (the default)"},
        {{"itlb.1g.ways=4"}, "--set itlb.1g.ways=4: 4 makes the array present, but itlb.1g.holds is empty (the default)"},
        {{"itlb.1g.holds=[1g]", "itlb.1g.ways=4", "itlb.1g.sets=0"},
         "--set itlb.1g.sets=0: 0, but the array is present and needs at least one set: itlb.1g.ways is 4 "
         "(set by --set itlb.1g.ways=4)"},
        {{"pwc.pd.sets=6"}, "--set pwc.pd.sets=6: 6 is not a power of two"},
        /* the default pml5 array is absent (ways 0) */
        {{"pwc.pml5.sets=5"}, ""},
        {{"pwc.pml5.sets=5", "pwc.pml5.ways=2"}, "--set pwc.pml5.sets=5: 5 is not a power of two"},
        {{"pwc.design=unified", "pwc.unified.ways=4", "pwc.unified.sets=0"},
         "--set pwc.unified.sets=0: 0, but the array is present and needs at least one set: pwc.unified.ways is 4 "
         "(set by --set pwc.unified.ways=4)"},
        {{"memsys.l2.sets=1000"}, "--set memsys.l2.sets=1000: 1000 is not a power of two"},
        {{"memsys.llc.sets=0"},
         "--set memsys.llc.sets=0: 0, but the array is present and needs at least one set: memsys.llc.ways is 16 "
         "(the default)"},
        {{"memsys.line_bytes=48"}, "--set memsys.line_bytes=48: 48 is not a power of two"},
        /* memory: 2^pa_bits bytes, 4 GiB in x86-32 mode whatever pa_bits is */
        {{"cpu.pa_bits=32"}, "--set cpu.pa_bits=32: 32 bits address 4096 MiB, less than os.phys_mem_mib 16384 (the default)"},
        {{"cpu.pa_bits=33", "os.phys_mem_mib=8193"},
         "--set os.phys_mem_mib=8193: 8193 MiB is more than the 8192 MiB addressable with cpu.pa_bits 33 "
         "(set by --set cpu.pa_bits=33)"},
        {{"os.phys_mem_mib=1048576"},
         "--set os.phys_mem_mib=1048576: 1048576 MiB is more than the 524288 MiB addressable with cpu.pa_bits 39 "
         "(the default)"},
        {{"cpu.mode=x86-32"},
         "--set cpu.mode=x86-32: x86-32 page tables address 4096 MiB, less than os.phys_mem_mib 16384 (the default)"},
        {{"cpu.pa_bits=52", "cpu.mode=x86-32"},
         "--set cpu.mode=x86-32: x86-32 page tables address 4096 MiB, less than os.phys_mem_mib 16384 (the default)"},
        {{"cpu.mode=x86-32", "os.phys_mem_mib=4097"},
         "--set os.phys_mem_mib=4097: 4097 MiB is more than the 4096 MiB addressable with cpu.mode x86-32 "
         "(set by --set cpu.mode=x86-32)"},
    };
    return cr_make_param_array(invalid_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(invalid_case *ic, validate, errors)
{
    mm_config c;
    char err[512] = "";
    cfg_defaults(&c);
    for (int i = 0; i < 3 && ic->sets[i][0]; i++)
        must_set(&c, ic->sets[i]);
    if (!ic->message[0]) {   /* a control: the rule does not apply */
        cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
        return;
    }
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1, "%s", ic->message);
    cr_assert_str_eq(err, ic->message);
}

/* Ranges of single values, for configs built without cfg_set. */
Test(validate, ranges)
{
    static const struct {
        size_t off;
        unsigned value;
        const char *message;
    } cases[] = {
        {offsetof(mm_config, cpu.pa_bits), 31, "cpu.pa_bits: 31 is out of range (32..52)"},
        {offsetof(mm_config, cpu.pa_bits), 53, "cpu.pa_bits: 53 is out of range (32..52)"},
        {offsetof(mm_config, cpu.cpus), 0, "cpu.cpus: 0 is out of range (1..64)"},
        {offsetof(mm_config, cpu.cpus), 65, "cpu.cpus: 65 is out of range (1..64)"},
        {offsetof(mm_config, cpu.nr_asids), 0, "cpu.nr_asids: 0 is out of range (1..4095)"},
        {offsetof(mm_config, cpu.nr_asids), 4096, "cpu.nr_asids: 4096 is out of range (1..4095)"},
        {offsetof(mm_config, frontend.issue_width), 0, "frontend.issue_width: 0 is out of range (1..64)"},
        {offsetof(mm_config, frontend.max_outstanding), 0, "frontend.max_outstanding: 0 is out of range (1..256)"},
        {offsetof(mm_config, frontend.max_outstanding), 257, "frontend.max_outstanding: 257 is out of range (1..256)"},
        {offsetof(mm_config, walker.walkers), 0, "walker.walkers: 0 is out of range (1..64)"},
        {offsetof(mm_config, walker.walkers), 65, "walker.walkers: 65 is out of range (1..64)"},
        {offsetof(mm_config, dtlb.tlb.array[1].ways), 65, "dtlb.2m.ways: 65 is out of range (0..64)"},
        {offsetof(mm_config, memsys.line_bytes), 4, "memsys.line_bytes: 4 is out of range (8..4096)"},
        {offsetof(mm_config, memsys.line_bytes), 8192, "memsys.line_bytes: 8192 is out of range (8..4096)"},
        {offsetof(mm_config, cpu.mode), 9, "cpu.mode: 9 is not a paging mode"},
        {offsetof(mm_config, os.phys_mem_mib), 7, "os.phys_mem_mib: 7 is out of range (20..1048576)"},
        {offsetof(mm_config, dtlb.tlb.array[0].holds), 8, "dtlb.4k.holds: 0x8 is not a set of page sizes (4k, 2m, 1g)"},
        {offsetof(mm_config, os.frames), 3, "os.frames: 3 is not a frame policy"},
        {offsetof(mm_config, os.exhaustion), 2, "os.exhaustion: 2 is not an exhaustion policy"},
        {offsetof(mm_config, os.thp), 99, "os.thp: 99 is not a THP policy"},
        {offsetof(mm_config, os.quantum), 0, "os.quantum: 0 is out of range (at least 1)"},
        {offsetof(mm_config, os.shootdown_cycles), 2000000000u,
         "os.shootdown_cycles: 2000000000 is out of range (0..1000000000)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mm_config c;
        char err[512] = "";
        cfg_defaults(&c);
        memcpy((char *)&c + cases[i].off, &cases[i].value, sizeof(unsigned));
        cr_assert_eq(cfg_validate(&c, err, sizeof err), -1, "%s", cases[i].message);
        cr_assert_str_eq(err, cases[i].message);
    }
}

/* Absent arrays (ways 0) are not checked; present ones at the limits are
 * valid. */
Test(validate, accepts)
{
    mm_config c;
    char err[512] = "";
    cfg_defaults(&c);
    must_set(&c, "dtlb.1g.ways=0");
    must_set(&c, "dtlb.1g.sets=3");
    must_set(&c, "dtlb.1g.holds=[4k]");
    must_set(&c, "itlb.1g.ways=64");
    must_set(&c, "itlb.1g.sets=1");
    must_set(&c, "itlb.1g.holds=1g");
    must_set(&c, "memsys.llc.ways=0");
    must_set(&c, "memsys.llc.sets=0");
    must_set(&c, "memsys.line_bytes=4096");
    must_set(&c, "os.phys_mem_mib=20");   /* the least: 16 reserved + 4 */
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
    /* memory exactly as large as the physical address width allows */
    must_set(&c, "cpu.pa_bits=32");
    must_set(&c, "os.phys_mem_mib=4096");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
    /* ... and as x86-32's 32-bit entries reach, whatever pa_bits is */
    must_set(&c, "cpu.pa_bits=52");
    must_set(&c, "cpu.mode=x86-32");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
    must_set(&c, "cpu.mode=pae");
    must_set(&c, "os.phys_mem_mib=1048576");
    must_set(&c, "os.quantum=4294967295");
    must_set(&c, "os.major_fault_cycles=1000000000");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
    /* no STLB at all is a valid machine */
    must_set(&c, "stlb.4k.ways=0");
    must_set(&c, "stlb.1g.ways=0");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
}

/* ---- where values came from: cfg_validate's locations ------------------------ */

/* A file over the defaults: the message names the line of the value at
 * fault; of two keys, the one the file set (the other keeps its default),
 * or on a tie the rule's own key, with the other's line.  Lines counted
 * by hand from the texts. */
ParameterizedTestParameters(origin, file_lines)
{
    static bad_case cases[] = {
        /* the issue's examples */
        {"dtlb: {4k: {sets: 12}}\n", "m.yaml:1: dtlb.4k.sets: 12 is not a power of two"},
        {"name: x\npwc.pd.sets: 3\n", "m.yaml:2: pwc.pd.sets: 3 is not a power of two"},
        {"memsys:\n  l2:\n    sets: 1000\n", "m.yaml:3: memsys.l2.sets: 1000 is not a power of two"},
        {"dtlb:\n  4k:\n    holds: [1g]\n", "m.yaml:3: dtlb.4k.holds: 1g is also held by dtlb.1g.holds (the default)"},
        /* both slots in the file: the later slot's line, the earlier's noted */
        {"dtlb:\n  4k:\n    holds: [1g]\n  1g:\n    holds: [1g]\n",
         "m.yaml:5: dtlb.1g.holds: 1g is also held by dtlb.4k.holds (set at line 3)"},
        /* a block sequence: the line of its key */
        {"dtlb:\n  4k:\n    holds:\n      - 4k\n      - 2m\n",
         "m.yaml:3: dtlb.4k.holds: 2m is also held by dtlb.2m.holds (the default)"},
        {"itlb: {1g: {ways: 4}}\n", "m.yaml:1: itlb.1g.ways: 4 makes the array present, but itlb.1g.holds is empty (the default)"},
        {"itlb:\n  1g:\n    ways: 4\n    holds: []\n",
         "m.yaml:4: itlb.1g.holds: empty, but the array is present: itlb.1g.ways is 4 (set at line 3)"},
        {"stlb:\n  4k:\n    sets: 0\n",
         "m.yaml:3: stlb.4k.sets: 0, but the array is present and needs at least one set: stlb.4k.ways is 12 (the default)"},
        {"pwc:\n  design: unified\n  unified:\n    ways: 4\n    sets: 0\n",
         "m.yaml:5: pwc.unified.sets: 0, but the array is present and needs at least one set: pwc.unified.ways is 4 "
         "(set at line 4)"},
        {"memsys.line_bytes: 48\n", "m.yaml:1: memsys.line_bytes: 48 is not a power of two"},
        {"cpu:\n  pa_bits: 32\n", "m.yaml:2: cpu.pa_bits: 32 bits address 4096 MiB, less than os.phys_mem_mib 16384 (the default)"},
        {"cpu:\n  pa_bits: 33\nos:\n  phys_mem_mib: 8193\n",
         "m.yaml:4: os.phys_mem_mib: 8193 MiB is more than the 8192 MiB addressable with cpu.pa_bits 33 (set at line 2)"},
        {"os: {phys_mem_mib: 600000}\n",
         "m.yaml:1: os.phys_mem_mib: 600000 MiB is more than the 524288 MiB addressable with cpu.pa_bits 39 (the default)"},
        {"cpu: {mode: x86-32}\n",
         "m.yaml:1: cpu.mode: x86-32 page tables address 4096 MiB, less than os.phys_mem_mib 16384 (the default)"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *bc, origin, file_lines)
{
    mm_config c;
    char err[512] = "";
    cfg_defaults(&c);
    cr_assert_eq(cfg_load_string(&c, bc->input, "m.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1, "%s", bc->message);
    cr_assert_str_eq(err, bc->message);
}

/* A --set over a preset or a file: the --set leads, the other value is
 * located in the preset (by the name cfg_load gives it) or the file.
 * configs/skylake.yaml: stlb's 2m slot is line 55, os.phys_mem_mib line 119. */
Test(origin, set_over_preset_and_file)
{
    mm_config c;
    char err[512] = "";
    load_preset(&c, "skylake");
    must_set(&c, "stlb.2m.ways=4");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "--set stlb.2m.ways=4: 4 makes the array present, but stlb.2m.holds is empty "
                          "(set at configs/skylake.yaml:55)");
    load_preset(&c, "skylake");
    must_set(&c, "cpu.mode=x86-32");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "--set cpu.mode=x86-32: x86-32 page tables address 4096 MiB, less than os.phys_mem_mib "
                          "16384 (set at configs/skylake.yaml:129)");
    /* ways given last, sets not a power of two (or 0) in the file */
    cfg_defaults(&c);
    cr_assert_eq(cfg_load_string(&c, "stlb:\n  2m:\n    sets: 3\n", "m.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);   /* absent: sets unused */
    must_set(&c, "stlb.2m.ways=4");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "--set stlb.2m.ways=4: 4 makes the array present, but stlb.2m.sets is 3, not a power of two "
                          "(set at m.yaml:3)");
    must_set(&c, "stlb.2m.sets=0");   /* now both --set: the rule's own key, sets */
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "--set stlb.2m.sets=0: 0, but the array is present and needs at least one set: stlb.2m.ways "
                          "is 4 (set by --set stlb.2m.ways=4)");
    /* the earlier slot's holds given last */
    cfg_defaults(&c);
    cr_assert_eq(cfg_load_string(&c, "dtlb: {2m: {holds: [2m]}}\n", "m.yaml", err, sizeof err), 0, "%s", err);
    must_set(&c, "dtlb.4k.holds=4k,2m");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "--set dtlb.4k.holds=[4k, 2m]: 2m is also held by dtlb.2m.holds (set at m.yaml:1)");
}

/* A value a program wrote into mm_config has no place to name: the key
 * only (a changed default counts as given after the default). */
Test(origin, direct_writes_name_the_key)
{
    mm_config c;
    char err[512] = "";
    cfg_defaults(&c);
    c.cpu.pa_bits = 32;
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "cpu.pa_bits: 32 bits address 4096 MiB, less than os.phys_mem_mib 16384 (the default)");
    cfg_defaults(&c);
    c.os.phys_mem_mib = 600000;
    must_set(&c, "cpu.pa_bits=38");
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "--set cpu.pa_bits=38: 38 bits address 262144 MiB, less than os.phys_mem_mib 600000");
}

/* One file name is kept: a second file over the first forgets where the
 * first one's keys were; the same file again keeps them. */
Test(origin, second_file_forgets_the_first)
{
    mm_config c;
    char err[512] = "";
    cfg_defaults(&c);
    cr_assert_eq(cfg_load_string(&c, "seed: 2\ncpu:\n  pa_bits: 32\n", "a.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_load_string(&c, "name: a2\n", "a.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "a.yaml:3: cpu.pa_bits: 32 bits address 4096 MiB, less than os.phys_mem_mib 16384 (the default)");
    cr_assert_eq(cfg_load_string(&c, "name: b\n", "b.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "cpu.pa_bits: 32 bits address 4096 MiB, less than os.phys_mem_mib 16384 (the default)");
    /* a key the second file sets is located in it */
    cr_assert_eq(cfg_load_string(&c, "name: c\nos:\n  phys_mem_mib: 5000\n", "c.yaml", err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    cr_assert_str_eq(err, "c.yaml:3: os.phys_mem_mib: 5000 MiB is more than the 4096 MiB addressable with cpu.pa_bits 32");
}

/* A file name longer than the origin buffer keeps its end. */
Test(origin, long_file_name_keeps_its_end)
{
    char name[400], want[600], err[600] = "";
    memset(name, 'd', sizeof name);
    memcpy(name + sizeof name - 8, "/m.yaml", 8);   /* 399 characters, then NUL */
    mm_config c;
    cfg_defaults(&c);
    cr_assert_eq(cfg_load_string(&c, "dtlb: {4k: {sets: 12}}\n", name, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), -1);
    /* CFG_ORIGIN_FILE_MAX 256: "..." and the last 252 characters */
    snprintf(want, sizeof want, "...%s:1: dtlb.4k.sets: 12 is not a power of two", name + 399 - 252);
    cr_assert_str_eq(err, want);
}
