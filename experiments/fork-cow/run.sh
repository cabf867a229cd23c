#!/usr/bin/env bash
# fork + copy-on-write against the fraction of pages written.
# run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
# The fractions, region and length must match the trace names in the spec.
if [ $REDUCED = 1 ]; then WF="0.00 0.25 0.50 1.00"; FP=8M; COUNT=50000
else WF="0.00 0.05 0.10 0.25 0.50 0.75 0.90 1.00"; FP=32M; COUNT=250000; fi
for x in $WF; do
    gen fork-write-wf$x fork-write --footprint $FP --count $COUNT --write-fraction $x --seed 1
done
run_sweep
run_plot
