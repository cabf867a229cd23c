#!/usr/bin/env python3
"""stlb-reach: STLB misses against STLB size and footprint, 4 KiB pages vs
THP, on GUPS; prints the compulsory share of each point's misses.
plot.py [RESULTS_CSV [OUTDIR]]"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, out = style.start(__file__, sys.argv)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

UNIT = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
SKYLAKE_SETS = 128   # skylake's STLB: 128 sets x 12 ways


def footprint(r):   # run.sh names each trace gups-SIZE.trace.zst
    m = re.search(r"-(\d+)([KMG])$", style.trace_name(r))
    return int(m.group(1)) * UNIT[m.group(2)]


def size_label(b):
    return f"{b >> 30} GiB" if b >= 1 << 30 else f"{b >> 20} MiB"


def mpki(r):
    return style.per_kilo(r["stlb.misses"], r["instructions"])


# The largest swept STLB holds every page of every footprint: it never
# evicts, so its misses are the compulsory ones (a first touch costs a walk
# that faults and the retry's walk).
never_evicts = max(r["param.stlb.4k.sets"] for r in rows)
by = {(footprint(r), r["param.os.thp"], r["param.stlb.4k.sets"]): r for r in rows}
fps = sorted({footprint(r) for r in rows})
policies = [p for p in ("never", "always") if any(r["param.os.thp"] == p for r in rows)]
WAYS = rows[0]["config.stlb.4k.ways"]   # not swept
sets = sorted(s for s in {r["param.stlb.4k.sets"] for r in rows} if s != never_evicts)
title = {"never": "4 KiB pages (os.thp never)", "always": "THP: 2 MiB pages (os.thp always)"}

print(f"{'footprint':>9} {'thp':>6} {'pages':>8} {'STLB':>6} {'misses':>9} {'compulsory':>10} {'share':>6}")
for f in fps:
    for p in policies:
        inf = by.get((f, p, never_evicts))
        for s in sets:
            r = by.get((f, p, s))
            if not r or not inf:
                continue
            # Pages touched: 4 KiB pages mapped, or 2 MiB pages mapped (gauges:
            # the warm-up, which holds most first touches, does not zero them).
            pages = r["thp.bytes_2m"] // 2**21 if p == "always" else r["rss.pages"]
            share = style.ratio(inf["stlb.misses"], r["stlb.misses"])
            print(f"{size_label(f):>9} {p:>6} {pages:>8} {s * r['config.stlb.4k.ways']:>6} "
                  f"{r['stlb.misses']:>9} {inf['stlb.misses']:>10} {100 * share:>5.1f}%")

fig, axes = plt.subplots(1, 3, figsize=style.figsize(2, 0.34))
for ax, p in zip(axes, policies):
    for i, f in enumerate(fps):
        pts = [(s * by[(f, p, s)]["config.stlb.4k.ways"], mpki(by[(f, p, s)])) for s in sets if (f, p, s) in by]
        ax.plot([q[0] for q in pts], [q[1] for q in pts], color=style.color(i), marker=style.marker(i),
                linestyle=style.LINESTYLES[i % 4], label=size_label(f))
        if (f, p, never_evicts) in by and pts:
            ax.hlines(mpki(by[(f, p, never_evicts)]), pts[0][0], pts[-1][0], color=style.color(i),
                      linestyle=":", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks([s * WAYS for s in sets])
    ax.set_xticklabels([str(s * WAYS) for s in sets])
    ax.xaxis.set_minor_formatter(NullFormatter())
    if SKYLAKE_SETS in sets:
        ax.axvline(SKYLAKE_SETS * WAYS, color="0.7", linewidth=0.6)   # skylake
    style.label(ax, f"STLB entries (sets × {WAYS} ways)", "STLB misses / kilo-instruction")
    ax.set_title(title[p])

# Right: what the misses cost at skylake's STLB (or the swept size nearest
# it), against the footprint.
ref = min(sets, key=lambda s: abs(s - SKYLAKE_SETS))
a3 = axes[2]
for j, p in enumerate(policies):
    pts = [(f, style.ratio(by[(f, p, ref)]["walker.walk_cycles"], by[(f, p, ref)]["translations"]))
           for f in fps if (f, p, ref) in by]
    a3.plot([q[0] for q in pts], [q[1] for q in pts], color="0.2" if j == 0 else "0.55",
            marker=style.marker(j), linestyle=style.LINESTYLES[j], label={"never": "4 KiB", "always": "THP"}[p])
a3.set_xscale("log", base=2)
a3.set_yscale("log")
a3.set_xticks(fps)
a3.set_xticklabels([size_label(f).replace(" ", "\n") for f in fps])
a3.xaxis.set_minor_formatter(NullFormatter())
style.label(a3, "footprint", "walk cycles / access (cycles)")
a3.set_title(f"cost at an STLB of {ref * WAYS} entries")
style.legend(a3, loc="upper left")
hs = axes[0].get_legend_handles_labels()[0]
hs.append(Line2D([], [], color="0.3", linestyle=":", linewidth=0.8, label="compulsory (STLB never evicts)"))
style.legend(fig, handles=hs, loc="upper center", ncol=len(hs), bbox_to_anchor=(0.5, 1.08))
fig.tight_layout()
style.save(fig, out)
