#!/usr/bin/env bash
# STLB reach: STLB misses against STLB size and footprint, 4 KiB pages vs
# THP, on GUPS.  run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
# The footprints and length must match the trace names in the spec.
if [ $REDUCED = 1 ]; then FPS="8M 1G"; COUNT=400000
else FPS="4M 16M 64M 256M 1G 4G"; COUNT=16000000; fi
for f in $FPS; do
    gen gups-$f gups --footprint $f --count $COUNT --seed 1
done
run_sweep
run_plot
