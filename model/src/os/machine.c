/* machine.c -- one machine: building and freeing it (frames, the physical
 * memory image, the memory model, init_mm and one MMU per CPU), and what
 * every part of the OS model shares: the costs charged to a CPU, frame
 * references, the out-of-memory state, and the prologue of every event. */
#include "os_internal.h"

uint64_t os_frames_free_now(const os *o)
{
    return frames_get_counters(o->fr)->free;
}

void os_put_frames(os *o, uint64_t pa, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        frames_put(o->fr, pa + i * PAGE);
}

void os_get_frames(os *o, uint64_t pa, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        frames_get(o->fr, pa + i * PAGE);
}

/* Page-table frames come from the frame allocator too. */
static uint64_t table_alloc(void *ctx)
{
    os *o = ctx;
    uint64_t pa = frames_alloc(o->fr, 0);
    if (pa == FRAMES_NONE)
        return UINT64_MAX;
    physmem_zero_frame(o->pm, pa);
    return pa;
}

static void table_release(void *ctx, uint64_t pa)
{
    os *o = ctx;
    frames_put(o->fr, pa);
}

/* Cycles spent by `cpu` (front-end stall): costs charged back to back add
 * up, after everything issued so far. */
void os_charge(os *o, unsigned cpu, uint64_t cycles)
{
    if (o->untimed)
        return;
    os_cpu *c = &o->cpu[cpu];
    if (c->core) {   /* the core waits for the MMU, then works: core.h */
        c->charged = core_charge(c->core, cycles);
        return;
    }
    mm_cycle t = mmu_now(c->mmu);
    if (c->charged > t)
        t = c->charged;
    c->charged = t + cycles;
    mmu_advance(c->mmu, c->charged);
}

void os_charge_fault(os *o, unsigned cpu, uint64_t cycles)
{
    os_charge(o, cpu, cycles);
    o->c.fault_cycles += cycles;
}

void os_cpu_update_ok(const os *o, os_cpu *c)
{
    if (o->oom || !c->mm)
        c->ok = 0;
    else if (o->cfg.os.kpti)
        c->ok = 1u << c->priv;
    else
        c->ok = 3;
}

void os_set_oom(os *o)
{
    o->oom = true;
    for (unsigned i = 0; i < o->ncpus; i++)
        os_cpu_update_ok(o, &o->cpu[i]);
}

/* The flag bits of a leaf as pgtable_map/protect take them. */
uint64_t os_entry_flags(const os *o, uint64_t e)
{
    uint64_t f = e & PTE_FLAG_MASK;
    return o->mode->entry_bytes == 4 ? (f & 0xfffu) : f;
}

os *os_create(const mm_config *cfg, char *err, size_t errlen)
{
    const paging_mode *mode = cfg_mode(cfg);
    unsigned mib = cfg->os.phys_mem_mib;
    if (cfg->cpu.cpus < 1 || cfg->cpu.cpus > MAX_CPUS) {
        mm_errf(err, errlen, "cpu.cpus: %u CPUs (the OS model handles 1..%d)", cfg->cpu.cpus, MAX_CPUS);
        return NULL;
    }
    if (mib < OS_MIN_PHYS_MIB) {
        mm_errf(err, errlen, "os.phys_mem_mib: %u MiB is too small (at least %d: %d are reserved for the kernel)",
                mib, OS_MIN_PHYS_MIB, OS_RESERVED_MIB);
        return NULL;
    }
    uint64_t pa_limit = mode->kind == PAGING_X86_32 ? 1ull << 32 : 1ull << cfg->cpu.pa_bits;
    if (((uint64_t)mib << 20) > pa_limit) {
        mm_errf(err, errlen, "os.phys_mem_mib: %u MiB does not fit the physical address space (%s%" PRIu64 " MiB)",
                mib, mode->kind == PAGING_X86_32 ? "x86-32 page tables reach " : "cpu.pa_bits gives ",
                pa_limit >> 20);
        return NULL;
    }
    os *o = mm_xcalloc(1, sizeof *o);
    o->cfg = *cfg;
    o->mode = mode;
    o->ncpus = cfg->cpu.cpus;
    o->pcid = cfg->cpu.context != CTX_NOPCID;
    o->xd = mode->has_xd ? PTE_XD : 0;
    if (mode->canonical) {
        o->user_top = 1ull << (mode->va_bits - 1);
        o->kernel_base = ~0ull << (mode->va_bits - 1);
        o->kernel_end = 0ull - PAGE;   /* the last page stays out: areas' ends must not wrap */
    } else {
        o->user_top = o->kernel_base = 0xC0000000ull;   /* the 3G/1G split */
        o->kernel_end = 1ull << 32;
    }
    o->owner_next = 1;   /* 0 is init_mm's */
    o->owner_limit = cfg->os.kpti ? KPTI_PCID_OWNERS : PCID_OWNERS;
    o->kidx_first = paging_index(mode, mode->levels, o->kernel_base);
    o->kidx_end = 1u << mode->idx_bits[mode->levels];
    o->talloc = (pgtable_alloc){table_alloc, table_release, o};
    o->cpu = mm_xcalloc(o->ncpus, sizeof *o->cpu);
    if (!(o->pm = physmem_create(cfg->cpu.pa_bits, 0, 0, err, errlen)) ||
        !(o->ms = memsys_create(&cfg->memsys, err, errlen))) {
        os_free(o);
        return NULL;
    }
    if (!(o->fr = frames_create(cfg->os.frames, mib, OS_RESERVED_MIB, cfg->seed))) {
        mm_errf(err, errlen, "os: %u MiB of frames: out of host memory", mib);
        os_free(o);
        return NULL;
    }
    for (unsigned i = 0; i < o->ncpus; i++) {
        os_cpu *c = &o->cpu[i];
        char why[512];
        c->mmu = mmu_create(cfg, i, o->pm, o->ms, why, sizeof why);
        if (!c->mmu) {
            mm_errf(err, errlen, "%s", why);   /* the config's rule, named as cfg_validate names it */
            os_free(o);
            return NULL;
        }
        c->os = o;
        c->index = i;
        c->data = memsys_has_data(o->ms);
        if (cfg->core.model == CORE_FIRST_ORDER)
            c->core = core_create(cfg, c->mmu, o->ms);
        c->timed = c->data || c->core;
        c->l1lat[MM_LOAD] = c->l1lat[MM_STORE] = cfg->dtlb.latency;
        c->l1lat[MM_IFETCH] = cfg->itlb.latency;
        c->priv = MM_SUPERVISOR;
        if (cfg->cpu.context == CTX_RECYCLE) {
            c->slot_owner = mm_xcalloc(cfg->cpu.nr_asids ? cfg->cpu.nr_asids : 1, sizeof *c->slot_owner);
            for (unsigned a = 0; a < cfg->cpu.nr_asids; a++)
                c->slot_owner[a] = NO_ID;
            if (cfg->os.kpti)
                c->user_stale = mm_xcalloc(cfg->cpu.nr_asids ? cfg->cpu.nr_asids : 1, sizeof *c->user_stale);
        }
    }
    o->init = os_mm_new(o);
    if (!o->init) {
        mm_errf(err, errlen, "os: no frame for init_mm's page table");
        os_free(o);
        return NULL;
    }
    return o;
}

void os_free(os *o)
{
    if (!o)
        return;
    for (size_t id = 1; id < o->nids; id++)
        if (o->by_id[id])
            os_mm_destroy(o, o->by_id[id]);
    if (o->init)
        os_mm_destroy(o, o->init);
    for (unsigned i = 0; o->cpu && i < o->ncpus; i++) {
        core_free(o->cpu[i].core);
        mmu_free(o->cpu[i].mmu);
        free(o->cpu[i].slot_owner);
        free(o->cpu[i].user_stale);
    }
    free(o->cpu);
    free(o->by_id);
    free(o->procs);
    free(o->res);
    free(o->owner_free);
    pairmap_free(&o->cache);
    pairmap_free(&o->swapped);
    pairmap_free(&o->pstat_at);
    free(o->pstat);
    memsys_free(o->ms);
    frames_free(o->fr);
    physmem_free(o->pm);
    free(o);
}

mm_cycle os_cycles(const os *o)
{
    mm_cycle t = 0;
    for (unsigned i = 0; i < o->ncpus; i++) {
        const os_cpu *c = &o->cpu[i];
        mm_cycle n = c->core ? core_clock(c->core) : mmu_now(c->mmu);
        if (n > t)
            t = n;
    }
    return t;
}

unsigned os_cpus(const os *o)
{
    return o->ncpus;
}

mmu *os_mmu(os *o, unsigned cpu)
{
    assert(cpu < o->ncpus);
    return o->cpu[cpu].mmu;
}

const os_counters *os_get_counters(const os *o)
{
    return &o->c;
}

/* The prologue of every event (os.h): 1 to apply it on `cpu`, 0 to ignore
 * it (memory ran out under `exhaustion: stop`: the replay is ending), -1
 * for a CPU the machine lacks (o->err filled). */
int os_event_begin(os *o, unsigned cpu, const char *event)
{
    if (cpu >= o->ncpus) {
        mm_errf(o->err, sizeof o->err, "%s on cpu %u, but the machine has %u CPU%s (cpu.cpus)", event, cpu,
                o->ncpus, o->ncpus == 1 ? "" : "s");
        return -1;
    }
    if (o->oom)
        return 0;
    o->cur_cpu = cpu;
    return 1;
}

const char *os_error(const os *o)
{
    return o->err;
}
