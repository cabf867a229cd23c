/* access.c -- accesses, the replay's hot path: os_access tests one per-CPU
 * bit mask (the CPU has a current address space, the right KPTI CR3 is
 * loaded, memory is not exhausted) and that the access stays in one page,
 * calls mmu_access, and returns when the L1 TLB hit.  A miss or fault
 * continues in access_resume; everything else goes to access_slow.  A
 * fault is handled and the access retried, walking again.
 *
 * A translated access then reads or writes its data: through the shared
 * caches by physical address (memsys_data, memsys scope all) at the cycle
 * its translation completed, and the core model (core.h) accounts for it.
 * A faulting access (SEGV, out of memory) touches no data. */
#include "os_internal.h"

/* The data access and the core's accounting after a translation; called
 * only when c->timed (either is on). */
static inline void access_data(os_cpu *c, mm_kind kind, const mmu_result *out)
{
    unsigned lat = c->data ? memsys_data(c->os->ms, out->pa, kind, out->done) : 0;
    if (c->core)
        core_access(c->core, kind, out, lat);
}

/* The `tries`-th fault of one access, timed or skipped: OS_OK when the
 * handler fixed the page table (try again), else how the access ends. */
static os_status fault(os *o, unsigned cpu, uint64_t va, uint32_t ec, mm_kind kind, mm_priv priv, unsigned tries)
{
    fres r = F_SEGV;
    if (tries < MAX_FAULT_RETRIES)
        r = os_handle_fault(o, cpu, va, ec, kind, priv);
    else
        assert(!"page fault not resolved by the handler");
    if (r == F_OOM) {
        os_set_oom(o);
        return OS_OOM;
    }
    if (r == F_SEGV) {
        o->c.faults_segv++;
        return OS_SEGV;
    }
    return OS_OK;
}

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
        os_status s = fault(o, cpu, va, out->error_code, kind, priv, tries);
        if (s != OS_OK) {
            if (s == OS_SEGV)
                c->stall += out->done - first - c->l1lat[kind];
            return s;
        }
        mmu_access(c->mmu, va, kind, priv, out);
    }
    c->stall += out->done - first - c->l1lat[kind];
    if (c->timed)
        access_data(c, kind, out);
    return OS_OK;
}

/* Make the CPU ready for an access at priv: its first process (a CPU
 * that never switched runs pid 0), the KPTI CR3.  OS_OK or OS_OOM. */
static os_status cpu_ready(os *o, unsigned cpu, mm_priv priv)
{
    os_cpu *c = &o->cpu[cpu];
    if (o->oom)
        return OS_OOM;
    o->cur_cpu = cpu;
    if (!c->mm) {
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
    return OS_OK;
}

/* The last byte of an access of size bytes at va (the end of the address
 * space for one that wraps). */
static uint64_t access_last(uint64_t va, uint32_t size)
{
    uint64_t last = va + (size ? size - 1 : 0);
    return last < va ? UINT64_MAX : last;
}

/* The page after the one holding a, or 0 past the end of the space. */
static uint64_t next_page(uint64_t a)
{
    return (a | (PAGE - 1)) + 1;
}

/* Everything but a single-page access on a prepared CPU: make the CPU
 * ready, then translate page by page. */
__attribute__((noinline)) static os_status access_slow(os *o, unsigned cpu, uint64_t va, uint32_t size,
                                                       mm_kind kind, mm_priv priv, mmu_result *out)
{
    os_status s = cpu_ready(o, cpu, priv);
    if (s != OS_OK)
        return s;
    uint64_t last = access_last(va, size);
    for (uint64_t a = va;;) {
        if ((s = translate(o, cpu, a, kind, priv, out, false)) != OS_OK)
            return s;
        uint64_t next = next_page(a);
        if (next == 0 || next > last)
            return OS_OK;
        a = next;
    }
}

/* One page of a skipped access (os_touch): look the leaf up where the
 * CPU's CR3 points (the KPTI user table for a user access under KPTI),
 * and fault as the walker would until the leaf allows the access.  The
 * error code is the walker's: P when a leaf is there but forbids, W, U,
 * and I for a fetch when XD or SMEP make fetches special. */
static os_status touch_page(os *o, unsigned cpu, uint64_t va, mm_kind kind, mm_priv priv)
{
    os_cpu *c = &o->cpu[cpu];
    uint32_t ec = (kind == MM_STORE ? PF_WR : 0) | (priv == MM_USER ? PF_US : 0);
    if (kind == MM_IFETCH && (o->xd || mmu_regs(c->mmu)->smep))
        ec |= PF_ID;
    for (unsigned tries = 0;; tries++) {
        const pgtable *pt = c->priv == MM_USER && c->mm->upt ? c->mm->upt : c->mm->pt;
        unsigned level;
        uint64_t pa;
        uint64_t leaf = pgtable_lookup(pt, va, &level, &pa);
        if (leaf && os_leaf_allows(o, cpu, leaf, kind, priv))
            return OS_OK;
        os_status s = fault(o, cpu, va, ec | (leaf ? PF_P : 0), kind, priv, tries);
        if (s != OS_OK)
            return s;
    }
}

os_status os_touch(os *o, unsigned cpu, uint64_t va, uint32_t size, mm_kind kind, mm_priv priv)
{
    assert(cpu < o->ncpus);
    os_status s = cpu_ready(o, cpu, priv);
    if (s != OS_OK)
        return s;
    uint64_t last = access_last(va, size);
    for (uint64_t a = va;;) {
        if ((s = touch_page(o, cpu, a, kind, priv)) != OS_OK)
            return s;
        uint64_t next = next_page(a);
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
    if (__builtin_expect(out->where == MMU_L1_HIT, 1)) {
        if (c->timed)
            access_data(c, (mm_kind)c->pend_kind, out);
        return OS_OK;
    }
    return access_resume(c, out);
}

void os_instructions(os *o, unsigned cpu, uint64_t n)
{
    assert(cpu < o->ncpus);
    os_cpu *c = &o->cpu[cpu];
    c->instructions += n;
    if (c->core && !o->untimed)   /* skipped instructions take no time */
        core_instructions(c->core, n);
}
