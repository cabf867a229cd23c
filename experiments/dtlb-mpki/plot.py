#!/usr/bin/env python3
"""dtlb-mpki: dTLB and STLB misses per kilo-instruction against TLB size,
for the real programs and the workload kernels.
plot.py [RESULTS_CSV [OUTDIR [WORKLOADS_CSV]]]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, wrows, out = style.start_with_workloads(__file__, sys.argv)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402


def dmpki(r):
    return style.per_kilo(r["dTLB-load-misses"] + r["dTLB-store-misses"], r["instructions"])


def smpki(r):
    return style.per_kilo(r["stlb.misses"], r["instructions"])


# Top row: the real programs; bottom row: the workload kernels.  Per row,
# left: dTLB geometry at the middle STLB size; right: STLB size at the
# dTLB geometry closest to skylake (16 x 4).
groups = [("programs", rows), ("kernels", wrows)]
ways = sorted({r["param.dtlb.4k.ways"] for r in rows + wrows})
stlb_sets = sorted({r["param.stlb.4k.sets"] for r in rows + wrows})
dsets = sorted({r["param.dtlb.4k.sets"] for r in rows + wrows})
s_mid = stlb_sets[len(stlb_sets) // 2]
d_ref_sets = min(dsets, key=lambda s: abs(s - 16))
d_ref_ways = min(ways, key=lambda w: abs(w - 4))

from matplotlib.ticker import ScalarFormatter, NullFormatter  # noqa: E402
fig, axes = plt.subplots(2, 2, figsize=style.figsize(2, 0.66))
for (what, rs), (a1, a2) in zip(groups, axes):
    traces = list(dict.fromkeys(style.trace_name(r) for r in rs))
    for i, t in enumerate(traces):
        for j, w in enumerate(ways):
            pts = sorted((r["param.dtlb.4k.sets"] * w, dmpki(r)) for r in rs
                         if style.trace_name(r) == t and r["param.dtlb.4k.ways"] == w
                         and r["param.stlb.4k.sets"] == s_mid)
            a1.plot([p[0] for p in pts], [p[1] for p in pts], color=style.color(i),
                    marker=style.marker(j), linestyle=style.LINESTYLES[j % 4])
        pts = sorted((r["param.stlb.4k.sets"] * r["config.stlb.4k.ways"], smpki(r)) for r in rs
                     if style.trace_name(r) == t and r["param.dtlb.4k.sets"] == d_ref_sets
                     and r["param.dtlb.4k.ways"] == d_ref_ways)
        a2.set_xticks([p[0] for p in pts])
        a2.plot([p[0] for p in pts], [p[1] for p in pts], color=style.color(i),
                marker=style.marker(0), label=t)
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    style.label(a1, "dTLB 4 KiB entries (sets × ways)", "dTLB misses / kilo-instruction")
    a1.set_title(f"{what}: L1 dTLB (STLB {s_mid} × 12)")
    style.label(a2, "STLB entries (sets × ways)", "STLB misses / kilo-instruction")
    a2.set_title(f"{what}: STLB (dTLB {d_ref_sets} × {d_ref_ways})")
    style.legend(a2, loc="center left", bbox_to_anchor=(1.0, 0.5))
hs = [Line2D([], [], color="0.3", marker=style.marker(j), linestyle=style.LINESTYLES[j % 4],
             label=f"{w}-way dTLB") for j, w in enumerate(ways)]
style.legend(fig, handles=hs, loc="upper center", ncol=len(hs), bbox_to_anchor=(0.5, 1.03))
fig.tight_layout()
style.save(fig, out)
