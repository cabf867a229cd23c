/* test_cxx_api.cpp -- the public API from C++: the umbrella header compiles
 * as C++17 (-Wall -Wextra -pedantic) and every layer links and works: the
 * version, a configuration, the OS model over its MMUs, and a trace written
 * and replayed.  Expected counts are derived by hand as in test_os.c. */
#include <criterion/criterion.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <mmusim/mmusim.h>

Test(cxx_api, version)
{
    cr_expect_str_eq(mmusim_version(), MMUSIM_VERSION_STRING);
    cr_expect_eq(MMUSIM_VERSION_NUMBER,
                 10000 * MMUSIM_VERSION_MAJOR + 100 * MMUSIM_VERSION_MINOR + MMUSIM_VERSION_PATCH);
}

/* Skylake with a blocking front end (each access issues after the previous
 * one completed): a first touch is an L1 miss, an STLB miss, a walk that
 * faults, the handler, and a retry that misses both TLBs again and walks. */
static mm_config blocking_skylake()
{
    mm_config c;
    char err[CFG_ERR_MAX] = "";
    cr_assert_eq(cfg_load(&c, "skylake", err, sizeof err), 0, "%s", err);
    for (const char *set : {"frontend.max_outstanding=1", "os.thp=never", "cpu.cpus=1"})
        cr_assert_eq(cfg_set(&c, set, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_validate(&c, err, sizeof err), 0, "%s", err);
    return c;
}

static uint64_t counter(os *o, const char *name)
{
    stats *s = stats_create();
    os_export_stats(o, s);
    bool found = false;
    uint64_t v = stats_get(s, name, &found);
    stats_free(s);
    cr_assert(found, "no counter %s", name);
    return v;
}

/* Four pages mapped and loaded twice: the first pass takes 4 faults and
 * 8 dTLB lookups that all miss (2 per page); the second pass's 4 lookups
 * hit the 4 different sets of the dTLB's 4 KiB array. */
Test(cxx_api, os_model_over_its_mmus)
{
    mm_config c = blocking_skylake();
    char err[256] = "";
    os *o = os_create(&c, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    const uint64_t base = 0x40000000;
    os_mapping map = {};
    map.addr = base;
    map.len = 4 * 4096;
    map.prot = OS_PROT_READ | OS_PROT_WRITE;
    map.flags = OS_MAP_ANON;
    cr_assert_eq(os_switch(o, 0, 7), 0, "%s", os_error(o));
    cr_assert_eq(os_mmap(o, 0, 7, &map), 0, "%s", os_error(o));
    mmu_result r;
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t p = 0; p < 4; p++)
            cr_assert_eq(os_access(o, 0, base + p * 4096, 8, MM_LOAD, MM_USER, &r), OS_OK);
    cr_expect_eq(counter(o, "page-faults"), 4);
    cr_expect_eq(counter(o, "dTLB-loads"), 12);
    cr_expect_eq(counter(o, "dTLB-load-misses"), 8);
    cr_expect_eq(counter(o, "dtlb_load_misses.walk_completed"), 4);
    cr_expect_eq(os_switch(o, 2, 7), -1);
    cr_expect_str_eq(os_error(o), "switch on cpu 2, but the machine has 1 CPU (cpu.cpus)");
    os_free(o);
}

/* A trace written through the API and replayed: one process, 3 stores to
 * one page, 5 instructions after each; JSON has the counts. */
Test(cxx_api, trace_written_and_replayed)
{
    char path[] = "/tmp/mmusim-cxx-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    std::string trace = std::string(path) + ".trace.zst";
    trace_meta meta = {};
    std::snprintf(meta.source, sizeof meta.source, "test_cxx_api");
    char err[4608] = "";
    trace_writer *w = trace_writer_open(trace.c_str(), &meta, 0, 0, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    for (int i = 0; i < 3; i++) {
        trace_rec a = {};
        a.kind = TR_ACCESS;
        a.acc = MM_STORE;
        a.size = 8;
        a.va = 0x10000 + 8u * (unsigned)i;
        trace_rec n = {};
        n.kind = TR_INSTR;
        n.count = 5;
        cr_assert_eq(trace_write(w, &a), 0);
        cr_assert_eq(trace_write(w, &n), 0);
    }
    cr_assert_eq(trace_writer_close(w, err, sizeof err), 0, "%s", err);

    mm_config c = blocking_skylake();
    const char *traces[] = {trace.c_str()};
    FILE *out = fdopen(fd, "w+");
    cr_assert_not_null(out);
    replay_opts o = {};
    o.traces = traces;
    o.ntraces = 1;
    o.format = REPORT_JSON;
    o.out = out;
    o.title = "cxx";
    cr_assert_eq(replay_run(&c, &o, err, sizeof err), REPLAY_DONE, "%s", err);
    std::fflush(out);
    std::rewind(out);
    std::string json;
    char buf[4096];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, out)) > 0)
        json.append(buf, got);
    std::fclose(out);
    std::remove(path);
    std::remove(trace.c_str());
    /* The first store faults and retries (2 lookups), the others hit. */
    cr_expect_neq(json.find("\n  \"instructions\": 15,"), std::string::npos, "%s", json.c_str());
    cr_expect_neq(json.find("\n  \"dTLB-stores\": 4,"), std::string::npos, "%s", json.c_str());
    cr_expect_neq(json.find("\n  \"page-faults\": 1,"), std::string::npos, "%s", json.c_str());
}
