#!/usr/bin/env python3
"""fork-cow: copy-on-write faults and cycles against the fraction of pages
the child writes after fork.  plot.py [RESULTS_CSV [OUTDIR]]"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, out = style.start(__file__, sys.argv)
import matplotlib.pyplot as plt  # noqa: E402


def frac(r):   # run.sh names each trace fork-write-wfX.trace.zst
    return float(re.search(r"-wf([0-9.]+)$", style.trace_name(r)).group(1))


rows.sort(key=frac)
x = [frac(r) for r in rows]
fig, (a1, a2) = plt.subplots(1, 2, figsize=style.figsize(2, 0.36))
for i, (key, lab) in enumerate((("faults.cow", "COW copy (faults.cow)"),
                                ("faults.cow_reuse", "COW reuse (faults.cow_reuse)"),
                                ("faults.demand_zero", "demand-zero"))):
    a1.plot(x, [r[key] for r in rows], color=style.color(i), marker=style.marker(i),
            linestyle=style.LINESTYLES[i], label=lab)
style.label(a1, "fraction of pages written by the child", "faults (count)")
a1.set_ylim(bottom=0)
style.legend(a1, loc="upper left", bbox_to_anchor=(0.0, 0.92))
a2.plot(x, [r["cycles"] / 1e6 for r in rows], color=style.color(0), marker=style.marker(0),
        label="total cycles")
a2.plot(x, [r["faults.handler_cycles"] / 1e6 for r in rows], color=style.color(1),
        marker=style.marker(1), linestyle="--", label="fault-handler cycles")
style.label(a2, "fraction of pages written by the child", "cycles (millions)")
a2.set_ylim(bottom=0)
style.legend(a2, loc="upper left")
fig.tight_layout()
style.save(fig, out)
