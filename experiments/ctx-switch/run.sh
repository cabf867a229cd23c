#!/usr/bin/env bash
# Translation overhead against context-switch interval.
# run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
# The switch intervals and lengths must match the trace names in the spec.
if [ $REDUCED = 1 ]; then SW="500 5000 50000"; COUNT=100000
else SW="250 1000 4000 16000 64000 256000"; COUNT=500000; fi
for s in $SW; do
    gen vmalloc-sw$s vmalloc --processes 4 --footprint 1M --kernel-footprint 2M \
        --kernel-fraction 0.2 --count $COUNT --switch-every $s --seed 1
done
run_sweep
run_plot
