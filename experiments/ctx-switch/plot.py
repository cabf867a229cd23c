#!/usr/bin/env python3
"""ctx-switch: translation overhead against context-switch interval, by
cpu.context and os.kernel_global.  plot.py [RESULTS_CSV [OUTDIR]]"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, out = style.start(__file__, sys.argv)
import matplotlib.pyplot as plt  # noqa: E402


def interval(r):
    # Accesses between switches: measured from the run (accesses / switches),
    # falling back to the trace name's -swN when the run switched <= 1 time.
    m = re.search(r"-sw(\d+)", style.trace_name(r))
    return int(m.group(1)) if m else style.ratio(r["translations"], r["os.switches"])


series = list(dict.fromkeys((r["param.cpu.context"], str(r["param.os.kernel_global"]).lower())
                            for r in rows))
metrics = [
    ("walks / kilo-translation", lambda r: style.per_kilo(r["walker.walks"], r["translations"])),
    ("translation stall / translation (cycles)",
     lambda r: style.ratio(r["translation.stall_cycles"], r["translations"])),
]
fig, axes = plt.subplots(1, 2, figsize=style.figsize(2, 0.36))
for ax, (ylab, f) in zip(axes, metrics):
    for i, (ctx, kg) in enumerate(series):
        pts = sorted((interval(r), f(r)) for r in rows
                     if r["param.cpu.context"] == ctx and str(r["param.os.kernel_global"]).lower() == kg)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=style.color(i),
                marker=style.marker(i), linestyle=style.LINESTYLES[i % 4],
                label=f"{ctx}, kernel global {kg}")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    style.label(ax, "accesses between context switches", ylab)
style.legend(fig, handles=axes[0].get_legend_handles_labels()[0], loc="upper center",
             ncol=len(series), bbox_to_anchor=(0.5, 1.07))
fig.tight_layout()
style.save(fig, out)
