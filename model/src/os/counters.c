/* counters.c -- the counters the OS model exports (os_export_stats): the
 * MMUs' summed over CPUs, faults by kind, RSS, page-table memory by level
 * and process, huge-page coverage, events, and the frame allocator's. */
#include "os_internal.h"

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
}

void os_set_untimed(os *o, bool untimed)
{
    o->untimed = untimed;
}

void os_export_stats(const os *o, stats *s)
{
    const os_counters *c = &o->c;
    uint64_t instructions = 0, stall = 0;
    for (unsigned i = 0; i < o->ncpus; i++) {
        const os_cpu *cpu = &o->cpu[i];
        if (cpu->core)   /* `cycles` is run time under the core model */
            mmu_export_stats_at(cpu->mmu, s, core_cycles(cpu->core));
        else
            mmu_export_stats(cpu->mmu, s);
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
