/* access.c -- accesses, the replay's hot path: os_access tests one per-CPU
 * bit mask (the CPU has a current address space, the right KPTI CR3 is
 * loaded, memory is not exhausted) and that the access stays in one page,
 * calls mmu_access, and returns when the L1 TLB hit.  A miss or fault
 * continues in access_resume; everything else goes to access_slow.  A
 * fault is handled and the access retried, walking again. */
#include "os_internal.h"

/* Translate the page of va, handling faults; issued: out already holds the
 * first attempt's result. */
static os_status translate(os *o, unsigned cpu, uint64_t va, mm_kind kind, mm_priv priv, mmu_result *out,
                           bool issued)
{
    os_cpu *c = &o->cpu[cpu];
    if (!issued)
        mmu_access(c->mmu, va, kind, priv, out);
    mm_cycle first = out->issue;
    for (unsigned tries = 0; out->fault; tries++) {
        /* The fault is an exception: the handler and the retry start after
         * everything in flight has completed, so the retry cannot merge
         * with the walk that faulted. */
        os_charge(o, cpu, 0);
        fres r = F_SEGV;
        if (tries < MAX_FAULT_RETRIES)
            r = os_handle_fault(o, cpu, va, out->error_code, kind, priv);
        else
            assert(!"page fault not resolved by the handler");
        if (r == F_OOM) {
            os_set_oom(o);
            return OS_OOM;
        }
        if (r == F_SEGV) {
            o->c.faults_segv++;
            c->stall += out->done - first - c->l1lat[kind];
            return OS_SEGV;
        }
        mmu_access(c->mmu, va, kind, priv, out);
    }
    c->stall += out->done - first - c->l1lat[kind];
    return OS_OK;
}

/* Everything but a single-page access on a prepared CPU: make the CPU
 * ready (its first process, the KPTI CR3), then translate page by page. */
__attribute__((noinline)) static os_status access_slow(os *o, unsigned cpu, uint64_t va, uint32_t size,
                                                       mm_kind kind, mm_priv priv, mmu_result *out)
{
    os_cpu *c = &o->cpu[cpu];
    if (o->oom)
        return OS_OOM;
    o->cur_cpu = cpu;
    if (!c->mm) {
        /* A CPU that never switched runs pid 0. */
        proc *p = os_proc_get(o, 0);
        if (!p)
            return OS_OOM;
        os_attribute(o, cpu);
        os_cpu_switch(o, cpu, p->mm);
        c->pid = 0;
        c->has_pid = true;
    }
    if (o->cfg.os.kpti && c->priv != priv)
        os_kpti_enter(o, c, priv);
    uint64_t last = va + (size ? size - 1 : 0);
    if (last < va)
        last = UINT64_MAX;
    for (uint64_t a = va;;) {
        os_status s = translate(o, cpu, a, kind, priv, out, false);
        if (s != OS_OK)
            return s;
        uint64_t next = (a | (PAGE - 1)) + 1;
        if (next == 0 || next > last)
            return OS_OK;
        a = next;
    }
}

/* The hot path's access missed the L1 TLB or faulted: finish it. */
__attribute__((noinline)) static os_status access_resume(os_cpu *c, mmu_result *out)
{
    os *o = c->os;
    o->cur_cpu = c->index;
    return translate(o, c->index, c->pend_va, (mm_kind)c->pend_kind, (mm_priv)c->pend_priv, out, true);
}

/* Only c and out live across the call (the rest is parked in c), so the
 * L1-hit path saves two registers, not seven. */
os_status os_access(os *o, unsigned cpu, uint64_t va, uint32_t size, mm_kind kind, mm_priv priv, mmu_result *out)
{
    assert(cpu < o->ncpus);
    os_cpu *c = &o->cpu[cpu];
    if (__builtin_expect(!((c->ok >> priv) & 1) || (va & (PAGE - 1)) + size > PAGE, 0))
        return access_slow(o, cpu, va, size, kind, priv, out);
    c->pend_va = va;
    c->pend_kind = (uint8_t)kind;
    c->pend_priv = (uint8_t)priv;
    mmu_access(c->mmu, va, kind, priv, out);
    if (__builtin_expect(out->where == MMU_L1_HIT, 1))
        return OS_OK;
    return access_resume(c, out);
}

void os_instructions(os *o, unsigned cpu, uint64_t n)
{
    assert(cpu < o->ncpus);
    o->cpu[cpu].instructions += n;
}
