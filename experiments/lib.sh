# Sourced by experiments/*/run.sh: argument parsing and paths shared by the
# studies.  run.sh [--reduced] [--out DIR] [--jobs N]
#   --reduced  the small variant: spec-reduced.yaml, shorter generated traces
#   --out DIR  write results/ and fig.pdf + fig.png under DIR instead of the
#              defaults (full: STUDY/work/results and STUDY/fig.*;
#              reduced: STUDY/work-reduced/results and STUDY/work-reduced/fig.*)
# Generated traces always go to STUDY/work/traces or STUDY/work-reduced/traces
# (the specs name them relative to their own folder).  All work dirs are
# gitignored; only the full-scale default run writes the committed figure.
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
    WORK=$STUDY_DIR/work-reduced
else
    SPEC=$STUDY_DIR/spec.yaml
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
mkdir -p "$TRACES" "$RESULTS" "$FIGDIR"

# gen NAME ARGS...: mmusim trace gen ARGS -o $TRACES/NAME.trace.zst
gen() {
    local name=$1; shift
    "$MMUSIM" trace gen "$@" -o "$TRACES/$name.trace.zst"
}


run_sweep() {
    echo "$STUDY: sweep $(basename "$SPEC") -> $RESULTS"
    "$MMUSIM" sweep "$SPEC" --jobs "$JOBS" --out "$RESULTS"
}

run_plot() {
    "$PY" "$STUDY_DIR/plot.py" "$RESULTS/results.csv" "$FIGDIR"
}
