/* process.c -- processes: the pid table (sorted, binary search), creating a
 * process on first mention, exec (a new address space) and exit. */
#include "os_internal.h"

static size_t proc_pos(const os *o, uint32_t pid)
{
    size_t lo = 0, hi = o->nprocs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->procs[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

proc *os_proc_find(os *o, uint32_t pid)
{
    size_t i = proc_pos(o, pid);
    return i < o->nprocs && o->procs[i].pid == pid ? &o->procs[i] : NULL;
}

proc *os_proc_insert(os *o, uint32_t pid, mm *m)
{
    size_t i = proc_pos(o, pid);
    mm_grow(&o->procs, &o->capprocs, o->nprocs, sizeof *o->procs, 16);
    memmove(&o->procs[i + 1], &o->procs[i], (o->nprocs - i) * sizeof *o->procs);
    o->procs[i] = (proc){pid, m};
    o->nprocs++;
    return &o->procs[i];
}

/* The process, created with an empty address space if unknown (NULL when
 * memory is exhausted: the replay stops). */
proc *os_proc_get(os *o, uint32_t pid)
{
    proc *p = os_proc_find(o, pid);
    if (p)
        return p;
    mm *m = os_mm_new(o);
    if (!m) {
        os_set_oom(o);
        return NULL;
    }
    return os_proc_insert(o, pid, m);
}

static void proc_remove(os *o, uint32_t pid)
{
    size_t i = proc_pos(o, pid);
    memmove(&o->procs[i], &o->procs[i + 1], (o->nprocs - i - 1) * sizeof *o->procs);
    o->nprocs--;
}

int os_exec(os *o, unsigned cpu, uint32_t pid)
{
    int go = os_event_begin(o, cpu, "exec");
    if (go <= 0)
        return go;
    proc *p = os_proc_get(o, pid);
    if (!p)
        return 0;
    mm *old = p->mm, *m = os_mm_new(o);
    if (!m) {
        os_set_oom(o);
        return 0;
    }
    p->mm = m;
    for (unsigned c = 0; c < o->ncpus; c++)
        if (o->cpu[c].has_pid && o->cpu[c].pid == pid)
            os_cpu_switch(o, c, m);
    os_mm_put(o, old);
    o->c.execs++;
    return 0;
}

int os_exit(os *o, unsigned cpu, uint32_t pid)
{
    int go = os_event_begin(o, cpu, "exit");
    if (go <= 0)
        return go;
    o->c.exits++;
    proc *p = os_proc_find(o, pid);
    if (!p)
        return 0;
    mm *m = p->mm;
    proc_remove(o, pid);
    for (unsigned k = 0; k < o->ncpus; k++) {
        os_cpu *c = &o->cpu[k];
        if (c->has_pid && c->pid == pid) {
            os_attribute(o, k);
            c->has_pid = false;
            os_cpu_switch(o, k, o->init);
        }
    }
    os_mm_put(o, m);
    return 0;
}
