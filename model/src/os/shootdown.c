/* shootdown.c -- TLB invalidation after a page-table change, as Linux does
 * it: INVLPG per page up to flush_ceiling pages over the range of leaves
 * actually changed, else a CR3 reload, on every CPU of the address space's
 * cpumask; a CPU where it is not current (its entries linger under its
 * PCID) is cleaned with INVPCID instead.  Other CPUs are one shootdown
 * round (IPIs) charged to the initiator. */
#include "os_internal.h"

/* The kernel PCID under which CPU c may hold entries of m; false when it
 * holds none. */
static bool mm_pcid_on(const os *o, const os_cpu *c, const mm *m, uint16_t *pcid)
{
    if (c->mm == m) {
        *pcid = c->kpcid;
        return true;
    }
    switch (o->cfg.cpu.context) {
    case CTX_PCID:
        *pcid = (uint16_t)(m->owner % PCID_OWNERS + 1);
        return true;
    case CTX_RECYCLE:
        for (unsigned a = 0; a < o->cfg.cpu.nr_asids; a++)
            if (c->slot_owner[a] == m->id) {
                *pcid = (uint16_t)(a + 1);
                return true;
            }
        return false;
    default:
        return false;   /* without PCIDs, switching away flushed it */
    }
}

/* Invalidate m's translations of [start, end), one per 1 << shift bytes,
 * or all of them (full), on one CPU.  Where m is current, as Linux's
 * flush_tlb_func does: INVLPG per page, or a CR3 reload; elsewhere (its
 * entries linger under its PCID) INVPCID.  With KPTI and PCIDs the user
 * PCID is cleaned too (Linux: invpcid_flush_one of the user PCID). */
static void cpu_flush(os *o, unsigned cpu, mm *m, uint64_t start, uint64_t end, unsigned shift, bool full)
{
    os_cpu *c = &o->cpu[cpu];
    uint16_t pcid;
    if (!mm_pcid_on(o, c, m, &pcid)) {
        m->cpumask &= ~(1ull << cpu);
        return;
    }
    bool both = o->cfg.os.kpti && o->pcid;
    if (c->mm == m) {
        uint64_t root = mmu_regs(c->mmu)->root;
        uint16_t cur = mmu_regs(c->mmu)->pcid, other = cur ^ KPTI_USER_PCID;
        if (full) {
            mmu_write_cr3(c->mmu, root, cur, false);
            if (both)
                mmu_invpcid(c->mmu, 1, other, 0);
        } else {
            for (uint64_t va = start; va < end; va += 1ull << shift) {
                mmu_invlpg(c->mmu, va);
                if (both)
                    mmu_invpcid(c->mmu, 0, other, va);
            }
        }
        return;
    }
    if (full) {
        mmu_invpcid(c->mmu, 1, pcid, 0);
        if (both)
            mmu_invpcid(c->mmu, 1, pcid | KPTI_USER_PCID, 0);
        m->cpumask &= ~(1ull << cpu);   /* nothing of m left there */
    } else {
        for (uint64_t va = start; va < end; va += 1ull << shift) {
            mmu_invpcid(c->mmu, 0, pcid, va);
            if (both)
                mmu_invpcid(c->mmu, 0, pcid | KPTI_USER_PCID, va);
        }
    }
}

/* Linux flush_tlb_mm_range(): the range page by page when it has at most
 * flush_ceiling pages of 1 << shift bytes, else all of m's entries; on
 * every CPU in m's cpumask.  The other CPUs are one shootdown round. */
void os_flush_mm(os *o, unsigned initiator, mm *m, uint64_t start, uint64_t end, unsigned shift, bool full)
{
    if (!full && end <= start)
        return;
    if (!full && ((end - start) >> shift) > o->cfg.os.flush_ceiling)
        full = true;
    unsigned targets = 0;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++) {
        if (!((m->cpumask >> cpu) & 1))
            continue;
        if (cpu != initiator)
            targets++;
        cpu_flush(o, cpu, m, start, end, shift, full);
    }
    if (targets) {
        o->c.shootdowns++;
        o->c.shootdown_targets += targets;
        os_charge(o, initiator, o->cfg.os.shootdown_cycles);
    }
}

/* Linux flush_tlb_kernel_range(): on every CPU, INVLPG per page up to the
 * ceiling, else flush_tlb_all.  Non-global kernel entries are cached under
 * every PCID, which INVLPG does not reach: then all non-global entries go. */
void os_flush_kernel(os *o, unsigned initiator, uint64_t start, uint64_t end)
{
    bool full = ((end - start) >> 12) > o->cfg.os.flush_ceiling;
    for (unsigned cpu = 0; cpu < o->ncpus; cpu++) {
        mmu *u = o->cpu[cpu].mmu;
        if (full)
            mmu_flush_all(u);
        else if (!o->cfg.os.kernel_global && o->pcid)
            mmu_invpcid(u, 3, 0, 0);
        else
            for (uint64_t va = start; va < end; va += PAGE)
                mmu_invlpg(u, va);
    }
    if (o->ncpus > 1) {
        o->c.shootdowns++;
        o->c.shootdown_targets += o->ncpus - 1;
        os_charge(o, initiator, o->cfg.os.shootdown_cycles);
    }
}

int os_invlpg(os *o, unsigned cpu, uint64_t va)
{
    int go = os_event_begin(o, cpu, "invlpg");
    if (go <= 0)
        return go;
    mmu_invlpg(o->cpu[cpu].mmu, va);
    return 0;
}
