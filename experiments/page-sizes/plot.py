#!/usr/bin/env python3
"""page-sizes: walks, walk cycles and page-table memory for 4 KiB pages,
THP (2 MiB) and 1 GiB pages.  plot.py [RESULTS_CSV [OUTDIR [WORKLOADS_CSV]]]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, wrows, out = style.start_with_workloads(__file__, sys.argv)
rows += wrows   # the workload kernels (wl-*) after the spec's own traces
import matplotlib.pyplot as plt  # noqa: E402

# Page-size variant of a run: a *-1g trace (hugetlb mmap) -> 1 GiB;
# otherwise os.thp never -> 4 KiB, always -> THP.
data = {}
for r in rows:
    name = style.trace_name(r)
    if name.endswith("-1g"):
        if r["param.os.thp"] != "never":
            continue
        base, kind = name[:-3], "1 GiB"
    else:
        base, kind = name, {"never": "4 KiB", "always": "2 MiB THP"}[r["param.os.thp"]]
    data[(base, kind)] = r
bases = [b for b in dict.fromkeys(b for b, _ in data)]
kinds = [k for k in ("4 KiB", "2 MiB THP", "1 GiB") if any(k == kk for _, kk in data)]

metrics = [
    ("walks / kilo-translation", lambda r: style.per_kilo(r["walker.walks"], r["translations"])),
    ("walk cycles / translation (cycles)", lambda r: style.ratio(r["walker.walk_cycles"], r["translations"])),
    ("page-table memory (KiB)", lambda r: r["pagetable.bytes"] / 1024.0),
]
fig, axes = plt.subplots(1, 3, figsize=style.figsize(2, 0.30))
w = 0.8 / len(kinds)
for ax, (ylab, f) in zip(axes, metrics):
    for j, k in enumerate(kinds):
        xs, ys = [], []
        for i, b in enumerate(bases):
            if (b, k) in data:
                xs.append(i + (j - (len(kinds) - 1) / 2) * w)
                ys.append(f(data[(b, k)]))
        ax.bar(xs, ys, w, color=style.color(j), hatch=style.HATCHES[j],
               edgecolor="white", linewidth=0.3, label=k)
    ax.set_yscale("log")
    ax.set_xticks(range(len(bases)))
    ax.set_xticklabels(bases, rotation=35, ha="right")
    ax.grid(axis="x", visible=False)
    style.label(ax, y=ylab)
style.legend(fig, handles=axes[0].get_legend_handles_labels()[0], loc="upper center",
             ncol=len(kinds), bbox_to_anchor=(0.5, 1.13))
fig.tight_layout()
style.save(fig, out)
