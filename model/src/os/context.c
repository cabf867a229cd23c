/* context.c -- context switches and ASIDs: the ASID owner each address
 * space gets under the cpu.context policy (no PCIDs, one PCID per address
 * space, or Linux's few recycled ASID slots), the CR3 write of a switch and
 * the bookkeeping of which CPUs may still cache an address space's entries. */
#include "os_internal.h"

/* CTX_PCID: mmu_switch_to gives owner n the PCID n % 4095 + 1, so live
 * address spaces get distinct owner numbers below owner_limit: fresh ones
 * first, then numbers their exit freed, whose PCID is flushed everywhere at
 * reuse (the dead mm's entries may linger).  When more address spaces are
 * live than there are numbers, the extra ones share the last number and
 * are flushed at every switch-in.  The other policies key on the mm id. */
uint64_t os_owner_alloc(os *o)
{
    if (o->cfg.cpu.context != CTX_PCID)
        return o->nids;   /* the id os_register_mm is about to give */
    if (o->nowner_free) {
        uint64_t n = o->owner_free[--o->nowner_free];
        uint16_t pcid = (uint16_t)(n % PCID_OWNERS + 1);
        for (unsigned i = 0; i < o->ncpus; i++) {
            mmu_invpcid(o->cpu[i].mmu, 1, pcid, 0);
            if (o->cfg.os.kpti)
                mmu_invpcid(o->cpu[i].mmu, 1, pcid | KPTI_USER_PCID, 0);
        }
        return n;
    }
    return o->owner_next < o->owner_limit - 1 ? o->owner_next++ : o->owner_limit - 1;
}

static bool owner_shared(const os *o, const mm *m)
{
    return o->cfg.cpu.context == CTX_PCID && m->owner == o->owner_limit - 1;
}

void os_owner_release(os *o, const mm *m)
{
    if (o->cfg.cpu.context != CTX_PCID || m == o->init || owner_shared(o, m))
        return;
    mm_grow(&o->owner_free, &o->capowner_free, o->nowner_free, sizeof *o->owner_free, 64);
    o->owner_free[o->nowner_free++] = m->owner;
}

/* Make `to` current on cpu: mmu_switch_to under the PCID policy, and the
 * cpumask bookkeeping the flush policy implies. */
void os_cpu_switch(os *o, unsigned cpu, mm *to)
{
    os_cpu *c = &o->cpu[cpu];
    mm *from = c->mm;
    uint64_t bit = 1ull << cpu;
    if (from == to)
        return;
    mmu_switch_to(c->mmu, to->owner, pgtable_root(to->pt));
    uint16_t pcid = mmu_regs(c->mmu)->pcid;
    bool flushed = false;
    switch (o->cfg.cpu.context) {
    case CTX_NOPCID:
        flushed = true;   /* every non-global entry went: from's too */
        if (from)
            from->cpumask &= ~bit;
        break;
    case CTX_PCID:
        if (owner_shared(o, to)) {   /* the PCID may hold another mm's entries */
            mmu_invpcid(c->mmu, 1, pcid, 0);
            if (o->cfg.os.kpti)
                mmu_invpcid(c->mmu, 1, pcid | KPTI_USER_PCID, 0);
        }
        break;
    default: {
        /* choose_new_asid() kept this mm's slot, or took one and flushed it. */
        uint64_t *slot = &c->slot_owner[pcid - 1];
        flushed = *slot != to->id;
        if (flushed && *slot != NO_ID) {
            mm *prev = os_mm_lookup(o, *slot);
            if (prev)
                prev->cpumask &= ~bit;
        }
        *slot = to->id;
        break;
    }
    }
    if (flushed && c->user_stale)
        c->user_stale[pcid - 1] = true;
    to->cpumask |= bit;
    c->mm = to;
    c->kpcid = pcid;
    c->priv = MM_SUPERVISOR;
    os_cpu_update_ok(o, c);
}

int os_switch(os *o, unsigned cpu, uint32_t pid)
{
    int go = os_event_begin(o, cpu, "switch");
    if (go <= 0)
        return go;
    proc *p = os_proc_get(o, pid);
    if (!p)
        return 0;
    os_cpu *c = &o->cpu[cpu];
    if (c->has_pid && c->pid == pid && c->mm == p->mm)
        return 0;
    os_attribute(o, cpu);
    os_cpu_switch(o, cpu, p->mm);
    c->pid = pid;
    c->has_pid = true;
    os_charge(o, cpu, o->cfg.os.switch_cycles);
    o->c.switches++;
    return 0;
}

/* The recorded value names the recording machine's tables: reload this
 * CPU's root and PCID with the recorded no-flush bit. */
int os_reload_cr3(os *o, unsigned cpu, bool noflush)
{
    int go = os_event_begin(o, cpu, "cr3");
    if (go <= 0)
        return go;
    mmu *u = o->cpu[cpu].mmu;
    const walk_regs *g = mmu_regs(u);
    mmu_write_cr3(u, g->root, g->pcid, noflush);
    return 0;
}
