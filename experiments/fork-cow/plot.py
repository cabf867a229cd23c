#!/usr/bin/env python3
"""fork-cow: what copy-on-write after fork does to translation, 4 KiB pages
vs THP, against the fraction of pages the child writes.
plot.py [RESULTS_CSV [OUTDIR]]"""
import math
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import style  # noqa: E402

rows, out = style.start(__file__, sys.argv)
import matplotlib.pyplot as plt  # noqa: E402

PARENT, CHILD = 1001, 1002   # trace gen fork-write's pids
PTE_PAGE = 4096              # a split 2 MiB leaf gets one page of 512 PTEs
PER_HUGE = 512               # 4 KiB pages per 2 MiB page


def frac(r):   # run.sh names each trace fork-write-wfX.trace.zst
    return float(re.search(r"-wf([0-9.]+)$", style.trace_name(r)).group(1))


def pt_bytes(r, pid):
    return r[f"pagetable.pid{pid}.bytes"]


def splits(r):
    # The parent never writes after the fork, so its tables stay as they
    # were; the child's hold one extra PTE page per huge leaf it split.
    return (pt_bytes(r, CHILD) - pt_bytes(r, PARENT)) // PTE_PAGE


def expected_splits(huge, x):
    # Distinct 2 MiB pages among k = round(x * N) distinct 4 KiB pages drawn
    # without replacement from N = 512 * huge: huge * (1 - C(N-512, k) / C(N, k)).
    n = huge * PER_HUGE
    k = int(math.floor(x * n + 0.5))
    if k > n - PER_HUGE:
        return float(huge)
    lg = (math.lgamma(n - PER_HUGE + 1) - math.lgamma(n - PER_HUGE - k + 1)
          - math.lgamma(n + 1) + math.lgamma(n - k + 1))
    return huge * (1 - math.exp(lg))


XLAB = "fraction written by the child"
policies = [p for p in ("never", "always") if any(r["param.os.thp"] == p for r in rows)]
label = {"never": "4 KiB pages (os.thp never)", "always": "THP (os.thp always)"}
series = {p: sorted((r for r in rows if r["param.os.thp"] == p), key=frac) for p in policies}
fig, axes = plt.subplots(1, 3, figsize=style.figsize(2, 0.33))
a1, a2, a3 = axes

thp = series.get("always", [])
if thp:
    # The region in huge pages: at X = 0 nothing is split and parent and
    # child both map it with 2 MiB leaves (a gauge, so the warm-up, which
    # holds the parent's huge-page faults, does not zero it).
    huge = thp[0]["thp.bytes_2m"] // (2 * 2**21)
    x = [frac(r) for r in thp]
    a1.plot(x, [splits(r) for r in thp], color=style.color(1), marker=style.marker(1),
            linestyle="none", label="model")
    xs = [0.0] + [10 ** (e / 8 - 5) for e in range(41)]   # 1e-5 .. 1
    a1.plot(xs, [expected_splits(huge, v) for v in xs], color="0.4", linestyle=":",
            label="expected: 2 MiB\npages written")
    a1.axhline(huge, color="0.7", linewidth=0.6)
style.label(a1, XLAB, "2 MiB leaves split (count)")
a1.set_title("child's huge pages split by COW")
style.legend(a1, loc="upper left", bbox_to_anchor=(0.02, 0.9))

for i, p in enumerate(policies):
    rs = series[p]
    x = [frac(r) for r in rs]
    a2.plot(x, [style.per_kilo(r["walker.walks"], r["translations"]) for r in rs],
            color=style.color(i), marker=style.marker(i), linestyle=style.LINESTYLES[i], label=label[p])
    a3.plot(x, [pt_bytes(r, CHILD) / 1024.0 for r in rs], color=style.color(i),
            marker=style.marker(i), linestyle=style.LINESTYLES[i], label=label[p])
style.label(a2, XLAB, "walks / kilo-translation")
a2.set_title("page walks, both processes")
style.label(a3, XLAB, "child's page tables (KiB)")
a3.set_title("child's page-table memory")
for ax in axes:
    # Symmetric log: 0 (no write) sits left of the smallest fraction.
    ax.set_xscale("symlog", linthresh=1e-4, linscale=0.8)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
style.legend(fig, handles=a2.get_legend_handles_labels()[0], loc="upper center",
             ncol=len(policies), bbox_to_anchor=(0.5, 1.08))
fig.tight_layout()
style.save(fig, out)
