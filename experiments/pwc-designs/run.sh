#!/usr/bin/env bash
# Page-walk cost by page-walk-cache design.  run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
run_sweep
run_plot
