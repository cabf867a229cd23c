/* counters.c -- the counters the OS model exports (os_export_stats): the
 * MMUs' summed over CPUs, faults by kind, RSS, page-table memory by level
 * and process, huge-page coverage, events, and the frame allocator's; and
 * their breakdown by CPU and by process (os_export_breakdown).
 *
 * Attribution to processes.  Every CPU keeps a copy of its counts (instructions,
 * translation stall and walk cycles, the MMU's counts per access kind) taken
 * when its current process began running.  Whenever the process a CPU runs
 * changes (a switch, an exit, the CPU's first process) the difference since
 * that copy is credited to the outgoing process and the copy is taken anew;
 * a report adds to each running process its difference so far.  So a
 * process is charged with what its CPU counted while it ran -- cheap (a few
 * dozen additions per switch, nothing on the access path) and exact for
 * everything done on its behalf, including the switch's own costs charged
 * after it.  Counts made while a CPU runs no process (before its first
 * switch, after its process exited) belong to no process. */
#include "os_internal.h"

static void cpu_counts(const os *o, unsigned cpu, proc_counts *out)
{
    const os_cpu *c = &o->cpu[cpu];
    out->instructions = c->instructions;
    out->stall = c->stall;
    out->walk_cycles = walker_get_counters(mmu_walker(c->mmu))->walk_cycles;
    for (unsigned k = 0; k < 3; k++)
        mmu_kind_counts_get(c->mmu, (mm_kind)k, &out->k[k]);
}

/* acc += now - since, field by field (every field is a uint64_t count). */
static void counts_add_delta(proc_counts *acc, const proc_counts *now, const proc_counts *since)
{
    _Static_assert(sizeof(proc_counts) % sizeof(uint64_t) == 0, "proc_counts holds only uint64_t counts");
    uint64_t a[sizeof(proc_counts) / sizeof(uint64_t)], n[sizeof a / sizeof a[0]], s0[sizeof a / sizeof a[0]];
    memcpy(a, acc, sizeof a);
    memcpy(n, now, sizeof n);
    memcpy(s0, since, sizeof s0);
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        a[i] += n[i] - s0[i];
    memcpy(acc, a, sizeof a);
}

static proc_stat *pstat_of(os *o, uint32_t pid)
{
    uint64_t at;
    if (pairmap_get(&o->pstat_at, pid, 0, &at))
        return &o->pstat[at];
    mm_grow(&o->pstat, &o->cappstat, o->npstat, sizeof *o->pstat, 16);
    pairmap_put(&o->pstat_at, pid, 0, o->npstat);
    o->pstat[o->npstat] = (proc_stat){.pid = pid};
    return &o->pstat[o->npstat++];
}

void os_attribute(os *o, unsigned cpu)
{
    os_cpu *c = &o->cpu[cpu];
    proc_counts now;
    cpu_counts(o, cpu, &now);
    if (c->has_pid)
        counts_add_delta(&pstat_of(o, c->pid)->c, &now, &c->since);
    c->since = now;
}

static void export_pagetables(const os *o, stats *s)
{
    const paging_mode *pm = o->mode;
    uint64_t per_level[PAGING_MAX_LEVELS + 1] = {0}, bytes = 0;
    for (size_t id = 0; id < o->nids; id++) {
        const mm *m = o->by_id[id];
        if (!m)
            continue;
        for (unsigned l = 1; l <= pm->levels; l++)
            per_level[l] += pgtable_pages(m->pt, l) + (m->upt ? pgtable_pages(m->upt, l) : 0);
        bytes += pgtable_bytes(m->pt) + (m->upt ? pgtable_bytes(m->upt) : 0);
    }
    stats_add(s, "pagetable.bytes", bytes);
    for (unsigned l = pm->levels; l >= 1; l--)
        stats_addf(s, per_level[l], "pagetable.%s.pages", pm->linux_name[l]);
    for (size_t i = 0; i < o->nprocs; i++) {
        const mm *m = o->procs[i].mm;
        stats_addf(s, pgtable_bytes(m->pt) + (m->upt ? pgtable_bytes(m->upt) : 0), "pagetable.pid%" PRIu32 ".bytes",
                   o->procs[i].pid);
    }
}

void os_reset_stats(os *o)
{
    for (unsigned i = 0; i < o->ncpus; i++) {
        mmu_reset_stats(o->cpu[i].mmu);
        if (o->cpu[i].core)
            core_reset_stats(o->cpu[i].core);
        o->cpu[i].instructions = 0;
        o->cpu[i].stall = 0;
    }
    o->c = (os_counters){.rss_pages_peak = o->rss_total};
    frames_reset_stats(o->fr);
    memsys_reset_stats(o->ms);
    os_breakdown_reset(o);   /* after the MMUs: each CPU's counts start from zero */
}

void os_set_untimed(os *o, bool untimed)
{
    o->untimed = untimed;
}

/* One CPU's MMU counters; `cycles` is run time under the core model when
 * there is one. */
static void export_cpu_mmu(const os_cpu *cpu, stats *s)
{
    if (cpu->core)
        mmu_export_stats_at(cpu->mmu, s, core_cycles(cpu->core));
    else
        mmu_export_stats(cpu->mmu, s);
}

void os_export_stats(const os *o, stats *s)
{
    const os_counters *c = &o->c;
    uint64_t instructions = 0, stall = 0;
    for (unsigned i = 0; i < o->ncpus; i++) {
        const os_cpu *cpu = &o->cpu[i];
        export_cpu_mmu(cpu, s);
        instructions += cpu->instructions;
        stall += cpu->stall;
    }
    stats_add(s, "instructions", instructions);
    stats_add(s, "translation.stall_cycles", stall);
    for (unsigned i = 0; i < o->ncpus; i++)
        if (o->cpu[i].core)
            core_export_stats(o->cpu[i].core, s);
    memsys_export_stats(o->ms, s);

    stats_add(s, "minor-faults", c->faults_demand_zero + c->faults_cow + c->faults_cow_reuse + c->faults_file_minor +
                                     c->faults_vmalloc_sync);
    stats_add(s, "major-faults", c->faults_file_major + c->faults_reclaimed);
    stats_add(s, "faults.demand_zero", c->faults_demand_zero);
    stats_add(s, "faults.cow", c->faults_cow);
    stats_add(s, "faults.cow_reuse", c->faults_cow_reuse);
    stats_add(s, "faults.file_minor", c->faults_file_minor);
    stats_add(s, "faults.file_major", c->faults_file_major);
    stats_add(s, "faults.reclaimed", c->faults_reclaimed);
    stats_add(s, "faults.vmalloc_sync", c->faults_vmalloc_sync);
    stats_add(s, "faults.segv", c->faults_segv);
    stats_add(s, "faults.handler_cycles", c->fault_cycles);

    stats_add(s, "rss.pages", o->rss_total);
    stats_add(s, "rss.pages_peak", c->rss_pages_peak);
    export_pagetables(o, s);

    uint64_t huge[PAGING_MAX_LEVELS + 1] = {0};
    for (size_t id = 0; id < o->nids; id++)
        if (o->by_id[id])
            for (unsigned l = 2; l <= o->mode->levels; l++)
                huge[l] += o->by_id[id]->huge[l];
    uint64_t b2m = huge[2] * level_size(o, 2), b1g = o->mode->levels >= 3 ? huge[3] * level_size(o, 3) : 0;
    uint64_t mapped = o->rss_total * PAGE;
    stats_add(s, "thp.bytes_2m", b2m);
    stats_add(s, "thp.bytes_1g", b1g);
    stats_add(s, "thp.coverage_permille", mapped ? (b2m + b1g) * 1000 / mapped : 0);
    stats_add(s, "thp.faults_2m", c->thp_2m);
    stats_add(s, "thp.faults_1g", c->thp_1g);
    stats_add(s, "thp.fallbacks", c->thp_fallbacks);

    uint64_t vmas = 0;
    for (size_t id = 1; id < o->nids; id++)
        if (o->by_id[id])
            vmas += o->by_id[id]->vmas.n;
    stats_add(s, "os.processes", o->nprocs);
    stats_add(s, "os.vmas", vmas);
    stats_add(s, "os.switches", c->switches);
    stats_add(s, "os.forks", c->forks);
    stats_add(s, "os.execs", c->execs);
    stats_add(s, "os.exits", c->exits);
    stats_add(s, "os.mmaps", c->mmaps);
    stats_add(s, "os.mmap_failures", c->mmap_failures);
    stats_add(s, "os.munmaps", c->munmaps);
    stats_add(s, "os.mprotects", c->mprotects);
    stats_add(s, "os.implicit_vmas", c->implicit_vmas);
    stats_add(s, "os.shootdowns", c->shootdowns);
    stats_add(s, "os.shootdown_targets", c->shootdown_targets);
    stats_add(s, "os.reclaims", c->reclaims);
    stats_add(s, "os.kpti_cr3_writes", c->kpti_cr3_writes);
    stats_add(s, "os.page_cache_pages", o->cache.n);
    stats_add(s, "os.out_of_memory", o->oom);

    const frames_counters *f = frames_get_counters(o->fr);
    static const char *const order_name[3] = {"4k", "2m", "1g"};
    stats_add(s, "frames.total", f->total);
    stats_add(s, "frames.free", f->free);
    for (unsigned i = 0; i < 3; i++)
        stats_addf(s, f->allocs[i], "frames.allocs_%s", order_name[i]);
    for (unsigned i = 0; i < 3; i++)
        stats_addf(s, f->failures[i], "frames.failures_%s", order_name[i]);
    stats_add(s, "frames.frees", f->frees);
}

void os_breakdown_reset(os *o)
{
    o->npstat = 0;
    pairmap_free(&o->pstat_at);
    for (unsigned i = 0; i < o->ncpus; i++)
        cpu_counts(o, i, &o->cpu[i].since);
}

/* Every name `src` holds, with its value, added to dst as PREFIX.NAME. */
static void add_prefixed(stats *dst, const stats *src, const char *prefix)
{
    for (size_t i = 0; i < stats_count(src); i++)
        stats_addf(dst, stats_value(src, i), "%s.%s", prefix, stats_name(src, i));
}

static int by_pid(const void *a, const void *b)
{
    uint32_t x = ((const proc_stat *)a)->pid, y = ((const proc_stat *)b)->pid;
    return (x > y) - (x < y);
}

static void export_proc(stats *s, const proc_stat *p)
{
    static const char *const perf[3][2] = {
        {"dTLB-loads", "dTLB-load-misses"}, {"dTLB-stores", "dTLB-store-misses"}, {"iTLB-loads", "iTLB-load-misses"}};
    static const char *const intel[3] = {"dtlb_load_misses", "dtlb_store_misses", "itlb_misses"};
    static const mm_kind order[3] = {MM_LOAD, MM_STORE, MM_IFETCH};
    const proc_counts *c = &p->c;
    uint32_t pid = p->pid;
    uint64_t faults = 0;
    stats_addf(s, c->instructions, "pid%" PRIu32 ".instructions", pid);
    for (unsigned i = 0; i < 3; i++) {
        const mmu_kind_counts *k = &c->k[order[i]];
        stats_addf(s, k->lookups, "pid%" PRIu32 ".%s", pid, perf[i][0]);
        stats_addf(s, k->misses, "pid%" PRIu32 ".%s", pid, perf[i][1]);
        faults += k->faults;
    }
    stats_addf(s, faults, "pid%" PRIu32 ".page-faults", pid);
    for (unsigned i = 0; i < 3; i++) {
        const mmu_kind_counts *k = &c->k[order[i]];
        stats_addf(s, k->stlb_hits, "pid%" PRIu32 ".%s.stlb_hit", pid, intel[i]);
        stats_addf(s, k->walks_completed, "pid%" PRIu32 ".%s.walk_completed", pid, intel[i]);
        stats_addf(s, k->merged, "pid%" PRIu32 ".%s.merged", pid, intel[i]);
        stats_addf(s, k->faults, "pid%" PRIu32 ".%s.faults", pid, intel[i]);
        stats_addf(s, k->rewalks, "pid%" PRIu32 ".%s.rewalks", pid, intel[i]);
    }
    stats_addf(s, c->walk_cycles, "pid%" PRIu32 ".walker.walk_cycles", pid);
    stats_addf(s, c->stall, "pid%" PRIu32 ".translation.stall_cycles", pid);
}

void os_proc_counter_names(stats *s)
{
    export_proc(s, &(proc_stat){.pid = 0});
}

void os_export_breakdown(const os *o, stats *s)
{
    for (unsigned i = 0; i < o->ncpus; i++) {
        stats *one = stats_create();
        export_cpu_mmu(&o->cpu[i], one);
        stats_add(one, "instructions", o->cpu[i].instructions);
        stats_add(one, "translation.stall_cycles", o->cpu[i].stall);
        if (o->cpu[i].core)
            core_export_stats(o->cpu[i].core, one);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "cpu%u", i);
        add_prefixed(s, one, prefix);
        stats_free(one);
    }
    /* The processes' counts, with what the running ones counted since they
     * began running (a copy: exporting changes nothing), by pid. */
    size_t n = o->npstat;
    proc_stat *ps = mm_xmalloc((n + o->ncpus + 1) * sizeof *ps);
    if (n)
        memcpy(ps, o->pstat, n * sizeof *ps);   /* pstat is NULL while no process stopped running */
    for (unsigned i = 0; i < o->ncpus; i++) {
        const os_cpu *c = &o->cpu[i];
        if (!c->has_pid)
            continue;
        size_t j = 0;
        while (j < n && ps[j].pid != c->pid)
            j++;
        if (j == n)
            ps[n++] = (proc_stat){.pid = c->pid};
        proc_counts now;
        cpu_counts(o, i, &now);
        counts_add_delta(&ps[j].c, &now, &c->since);
    }
    qsort(ps, n, sizeof *ps, by_pid);
    for (size_t j = 0; j < n; j++)
        export_proc(s, &ps[j]);
    free(ps);
}
