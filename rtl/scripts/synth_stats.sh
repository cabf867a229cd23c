#!/bin/bash
# Synthesize the page walker with Yosys (`synth -top mmu_walker`, generic
# gates, flattened) and print its size: cells and flip-flops of the default
# configuration, and cells per page-walk-cache entry -- the difference
# between PwcEntries=4 and PwcEntries=2, divided by the entries added
# (2 per cache, Levels-1 caches).
#
# Usage: rtl/scripts/synth_stats.sh [YOSYS]     (Yosys 0.23 or later)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
yosys=${1:-yosys}
levels=4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
srcs="$here/src/mmu_walker_pkg.sv $here/src/mmu_walker_age.sv $here/src/mmu_walker_pwc.sv $here/src/mmu_walker.sv"

# synth ENTRIES -> "cells flops"
synth() {
  local log="$work/synth-$1.log"
  "$yosys" -q -l "$log" -p "read_verilog -sv $srcs; chparam -set PwcEntries $1 mmu_walker; \
      synth -top mmu_walker -flatten; tee -o $work/stat-$1.txt stat" >/dev/null 2>&1 ||
    { echo "synth_stats: yosys failed (PwcEntries=$1):" >&2; tail -20 "$log" >&2; exit 1; }
  awk '/Number of cells:/ { cells = $4 }
       /\$_.*DFF.*_/ { flops += $2 }
       END { if (cells == "") exit 1; print cells, flops + 0 }' "$work/stat-$1.txt"
}

read -r cells4 flops4 < <(synth 4)
read -r cells2 flops2 < <(synth 2)
added=$(( 2 * (levels - 1) ))
echo "configuration: Levels=4 NumWalks=4 PwcEntries=4 PwcLatency=1 PaBits=46 IdWidth=4 (yosys synth -flatten, generic cells)"
echo "cells: $cells4"
echo "flip-flops: $flops4"
echo "cells per page-walk-cache entry: $(( (cells4 - cells2) / added )) (flip-flops $(( (flops4 - flops2) / added )); PwcEntries 2 -> 4: $cells2 -> $cells4 cells)"
