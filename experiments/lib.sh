# Sourced by experiments/*/run.sh: argument parsing and paths shared by the
# studies.  run.sh [--reduced] [--out DIR] [--jobs N]
#   --reduced  the small variant: spec-reduced.yaml, shorter generated traces
#   --out DIR  write results/ and fig.pdf + fig.png under DIR instead of the
#              defaults (full: STUDY/work/results and STUDY/fig.*;
#              reduced: STUDY/work-reduced/results and STUDY/work-reduced/fig.*)
# Generated traces always go to STUDY/work/traces or STUDY/work-reduced/traces
# (the specs name them relative to their own folder).  All work dirs are
# gitignored; only the full-scale default run writes the committed figure.
# A study may also sweep the workload kernels' traces (traces/workloads/):
# they need a warm-up of their own (a sweep's replay.* keys hold for all of
# its traces), so they have their own spec, spec-workloads.yaml (reduced:
# spec-workloads-reduced.yaml), with results beside the first spec's, in
# results-workloads/.
set -euo pipefail
STUDY_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
STUDY=$(basename "$STUDY_DIR")
ROOT=$(cd "$STUDY_DIR/../.." && pwd)
MMUSIM=${MMUSIM:-build/default/bin/mmusim}
case $MMUSIM in /*) ;; *) MMUSIM=$ROOT/$MMUSIM ;; esac
PY=${PYTHON:-/usr/bin/python3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
REDUCED=0
OUT=
while [ $# -gt 0 ]; do
    case $1 in
        --reduced) REDUCED=1 ;;
        --out) OUT=$2; shift ;;
        --jobs) JOBS=$2; shift ;;
        -h|--help) sed -n '2,13p' "$ROOT/experiments/lib.sh"; exit 0 ;;
        *) echo "$STUDY/run.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$MMUSIM" ] || { echo "$STUDY/run.sh: $MMUSIM: not an executable (set MMUSIM)" >&2; exit 2; }
if [ $REDUCED = 1 ]; then
    SPEC=$STUDY_DIR/spec-reduced.yaml
    WSPEC=$STUDY_DIR/spec-workloads-reduced.yaml
    WORK=$STUDY_DIR/work-reduced
else
    SPEC=$STUDY_DIR/spec.yaml
    WSPEC=$STUDY_DIR/spec-workloads.yaml
    WORK=$STUDY_DIR/work
fi
TRACES=$WORK/traces
if [ -n "$OUT" ]; then
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
    RESULTS=$OUT/results
    FIGDIR=$OUT
else
    RESULTS=$WORK/results
    if [ $REDUCED = 1 ]; then FIGDIR=$WORK; else FIGDIR=$STUDY_DIR; fi
fi
WRESULTS=$RESULTS-workloads
mkdir -p "$TRACES" "$RESULTS" "$FIGDIR"

# gen NAME ARGS...: mmusim trace gen ARGS -o $TRACES/NAME.trace.zst
gen() {
    local name=$1; shift
    "$MMUSIM" trace gen "$@" -o "$TRACES/$name.trace.zst"
}


run_sweep() {
    echo "$STUDY: sweep $(basename "$SPEC") -> $RESULTS"
    "$MMUSIM" sweep "$SPEC" --jobs "$JOBS" --out "$RESULTS"
    if [ -f "$WSPEC" ]; then
        echo "$STUDY: sweep $(basename "$WSPEC") -> $WRESULTS"
        "$MMUSIM" sweep "$WSPEC" --jobs "$JOBS" --out "$WRESULTS"
    fi
}

run_plot() {
    local w=()
    [ -f "$WSPEC" ] && w=("$WRESULTS/results.csv")
    "$PY" "$STUDY_DIR/plot.py" "$RESULTS/results.csv" "$FIGDIR" "${w[@]}"
}
