#!/usr/bin/env bash
# Regenerates every experiment.  Run from anywhere; paths are relative to
# the repository root.
#   experiments/run_all.sh              full scale: writes the committed
#                                       experiments/*/fig.pdf + fig.png
#   experiments/run_all.sh --reduced    small variant (seconds per study),
#                                       outputs in experiments/*/work-reduced/
#   ... --out DIR                       results and figures under DIR/STUDY/
#   ... --jobs N                        sweep worker processes
# MMUSIM (default build/default/bin/mmusim, relative to the repo root) picks
# the binary.  Ends with "experiments: P passed, F failed"; exit 1 if F > 0.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export MMUSIM=${MMUSIM:-build/default/bin/mmusim}
STUDIES="dtlb-mpki pwc-designs ctx-switch page-sizes fork-cow stlb-reach"
ARGS=()
OUT=
while [ $# -gt 0 ]; do
    case $1 in
        --reduced) ARGS+=(--reduced) ;;
        --out) OUT=$2; shift ;;
        --jobs) ARGS+=(--jobs "$2"); shift ;;
        *) echo "run_all.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
pass=0 fail=0 failed=
t0=$(date +%s)
for s in $STUDIES; do
    t=$(date +%s)
    extra=()
    [ -n "$OUT" ] && extra=(--out "$OUT/$s")
    if bash "experiments/$s/run.sh" "${ARGS[@]}" "${extra[@]}"; then
        pass=$((pass + 1)); echo "experiments: $s ok ($(( $(date +%s) - t )) s)"
    else
        fail=$((fail + 1)); failed="$failed $s"; echo "experiments: $s FAILED" >&2
    fi
done
echo "experiments: total $(( $(date +%s) - t0 )) s${failed:+; failed:$failed}"
echo "experiments: $pass passed, $fail failed"
[ $fail = 0 ]
