#!/usr/bin/env bash
# dTLB / STLB MPKI against TLB geometry.  run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
run_sweep
run_plot
