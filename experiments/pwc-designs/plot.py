#!/usr/bin/env python3
"""pwc-designs: cycles and memory reads per page walk by PWC design.
plot.py [RESULTS_CSV [OUTDIR [WORKLOADS_CSV]]]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, wrows, out = style.start_with_workloads(__file__, sys.argv)
rows += wrows   # the workload kernels (wl-*) after the spec's own traces
import matplotlib.pyplot as plt  # noqa: E402

MEM = ("l1d", "l2", "llc", "dram")   # where a walk's PTE reads went: memory hierarchy
traces = list(dict.fromkeys(style.trace_name(r) for r in rows))
designs = list(dict.fromkeys(r["param.pwc.design"] for r in rows))
by = {(style.trace_name(r), r["param.pwc.design"]): r for r in rows}

metrics = [
    ("walk cycles / walk (cycles)", lambda r: style.ratio(r["walker.walk_cycles"], r["walker.walks"])),
    ("memory reads / walk", lambda r: style.ratio(sum(r["walker.pte_reads." + k] for k in MEM),
                                                  r["walker.walks"])),
]
fig, axes = plt.subplots(1, 2, figsize=style.figsize(2, 0.33))
w = 0.8 / len(designs)
for ax, (ylab, f) in zip(axes, metrics):
    for j, d in enumerate(designs):
        xs = [i + (j - (len(designs) - 1) / 2) * w for i in range(len(traces))]
        ys = [f(by[(t, d)]) if (t, d) in by else float("nan") for t in traces]
        ax.bar(xs, ys, w, color=style.color(j), hatch=style.HATCHES[j],
               edgecolor="white", linewidth=0.3, label=d)
    ax.set_xticks(range(len(traces)))
    ax.set_xticklabels(traces, rotation=35, ha="right")
    ax.grid(axis="x", visible=False)
    style.label(ax, y=ylab)
axes[0].set_title("cost of a walk")
axes[1].set_title("PTE reads that reach the cache hierarchy")
style.legend(fig, handles=axes[0].get_legend_handles_labels()[0],
             labels=[f"pwc.design = {d}" for d in designs],
             loc="upper center", ncol=len(designs), bbox_to_anchor=(0.5, 1.08))
fig.tight_layout()
style.save(fig, out)
