"""Shared plot style for every experiments/*/plot.py.

Okabe-Ito colour-blind-safe palette, paper fonts, one-column (3.5 in) and
two-column (7 in) figure sizes, a results.csv reader and an atomic
PDF + PNG writer.  Standard library + matplotlib only.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Okabe & Ito (2008), "Color Universal Design"; black first.
OKABE_ITO = [
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
]
# Order used for series: skip yellow (weak on white) until needed.
PALETTE = [OKABE_ITO[i] for i in (5, 6, 3, 1, 7, 2, 0, 4)]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]
HATCHES = ["", "//", "\\\\", "xx", "..", "oo"]

ONE_COL = 3.5   # inches
TWO_COL = 7.0   # inches


def figsize(columns=1, aspect=0.72):
    """(width, height) in inches: columns 1 -> 3.5 in wide, 2 -> 7 in."""
    w = ONE_COL if columns == 1 else TWO_COL
    return (w, w * aspect)


def apply():
    """Set the paper rcParams (call before making figures)."""
    plt.rcParams.update({
        "font.family": "serif",
        "font.serif": ["DejaVu Serif", "Times New Roman", "Times"],
        "font.size": 8,
        "axes.titlesize": 8,
        "axes.labelsize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
        "legend.frameon": False,
        "legend.handlelength": 1.8,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.5,
        "lines.linewidth": 1.2,
        "lines.markersize": 4,
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.02,
        "pdf.fonttype": 42,       # embed TrueType: editable, small
        "ps.fonttype": 42,
    })


def color(i):
    return PALETTE[i % len(PALETTE)]


def marker(i):
    return MARKERS[i % len(MARKERS)]


def read_results(path):
    """Rows of a sweep's results.csv as dicts; numeric cells become float
    (ints stay int), empty cells None.  Exits with a message if missing."""
    if not os.path.exists(path):
        sys.exit(f"plot: {path}: no such file (run the study's run.sh first)")
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append({k: _num(v) for k, v in r.items()})
    if not rows:
        sys.exit(f"plot: {path}: no rows")
    return rows


def _num(v):
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def trace_name(row):
    """'../../traces/gzip.trace.zst' -> 'gzip'; a workload kernel's trace
    is named as its program: '../../traces/workloads/gups.trace.zst' ->
    'wl-gups' (not the synthetic 'gups')."""
    path = str(row["trace"])
    b = os.path.basename(path)
    for suf in (".trace.zst", ".zst"):
        if b.endswith(suf):
            b = b[: -len(suf)]
            break
    if os.path.basename(os.path.dirname(path)) == "workloads":
        b = "wl-" + b
    return b


def per_kilo(num, den):
    return 1000.0 * num / den if den else float("nan")


def ratio(num, den):
    return num / den if den else float("nan")


def label(ax, x=None, y=None):
    """Axis labels; pass them with units, e.g. 'walk cycles / walk (cycles)'."""
    if x is not None:
        ax.set_xlabel(x)
    if y is not None:
        ax.set_ylabel(y)


def legend(ax_or_fig, **kw):
    kw.setdefault("frameon", False)
    return ax_or_fig.legend(**kw)


def save(fig, outdir, stem="fig"):
    """Write OUTDIR/STEM.pdf (vector) and OUTDIR/STEM.png (200 dpi), each to
    a temporary name first and renamed when complete."""
    os.makedirs(outdir, exist_ok=True)
    for ext, kw in (("pdf", {}), ("png", {"dpi": 200})):
        final = os.path.join(outdir, f"{stem}.{ext}")
        tmp = os.path.join(outdir, f".{stem}.{ext}.tmp.{os.getpid()}")
        try:
            fig.savefig(tmp, format=ext, metadata=_meta(ext), **kw)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        print(f"plot: wrote {final}")
    plt.close(fig)


def _meta(ext):
    # No creation date: re-running gives the same bytes where possible.
    if ext == "pdf":
        return {"CreationDate": None, "Producer": None}
    return {"Software": None}


def paths(argv, study_dir):
    """plot.py [RESULTS_CSV [OUTDIR]]: defaults work/results/results.csv and
    the study's own directory."""
    res = argv[1] if len(argv) > 1 else os.path.join(study_dir, "work", "results", "results.csv")
    out = argv[2] if len(argv) > 2 else study_dir
    return res, out


def start_with_workloads(script, argv):
    """start() for a study with a workloads spec (experiments/lib.sh):
    plot.py [RESULTS_CSV [OUTDIR [WORKLOADS_CSV]]], WORKLOADS_CSV by
    default results-workloads/results.csv beside RESULTS_CSV's folder.
    Returns (rows, workload rows, outdir)."""
    rows, out = start(script, argv)
    if len(argv) > 3:
        wres = argv[3]
    else:
        res, _ = paths(argv, os.path.dirname(os.path.abspath(script)))
        d = os.path.dirname(os.path.abspath(res))
        wres = os.path.join(d + "-workloads", "results.csv")
    return rows, read_results(wres), out


def start(script, argv):
    """The opening every plot script shares: the results rows and the
    output directory (from argv or the study's defaults), style applied."""
    res, out = paths(argv, os.path.dirname(os.path.abspath(script)))
    rows = read_results(res)
    apply()
    return rows, out
