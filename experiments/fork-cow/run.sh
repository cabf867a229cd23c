#!/usr/bin/env bash
# fork + copy-on-write against the fraction of pages written, 4 KiB pages
# vs THP.  run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
# The fractions, region and length must match the trace names in the spec.
# Small fractions on purpose: with THP one written 4 KiB page splits the
# child's whole 2 MiB leaf, so the effect saturates near 1/512.
if [ $REDUCED = 1 ]; then WF="0.00 0.001 0.01 1.00"; FP=32M; COUNT=200000
else WF="0.00 0.0001 0.0003 0.001 0.003 0.01 0.10 1.00"; FP=256M; COUNT=2000000; fi
for x in $WF; do
    gen fork-write-wf$x fork-write --footprint $FP --count $COUNT --write-fraction $x --seed 1
done
run_sweep
run_plot
