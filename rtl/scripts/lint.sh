#!/bin/bash
# Lint the page walker with `verilator --lint-only -Wall`, once as it is and
# once per broken variant (rtl/README.md, "Broken variants"), with every
# waiver in rtl/lint/waivers.vlt.  Exits non-zero on the first warning.
#
# Usage: rtl/scripts/lint.sh [VERILATOR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
verilator=${1:-verilator}
srcs=("$here/src/mmu_walker_pkg.sv" "$here/src/mmu_walker_age.sv"
      "$here/src/mmu_walker_pwc.sv" "$here/src/mmu_walker.sv")
bugs=(IDX_L2 PS_PDPT NO_A CR3_NOFLUSH LAT EC_US)

run() {
  local what=$1; shift
  if "$verilator" --lint-only -Wall --top-module mmu_walker "$here/lint/waivers.vlt" "$@" "${srcs[@]}"; then
    echo "lint: $what: clean"
  else
    echo "lint: $what: warnings" >&2
    exit 1
  fi
}

run "mmu_walker"
# A second shape: LA57, one walk, two-entry caches, two-cycle lookups.
run "mmu_walker (Levels=5 NumWalks=1 PwcEntries=2 PwcLatency=2 PaBits=52)" \
  -GLevels=5 -GNumWalks=1 -GPwcEntries=2 -GPwcLatency=2 -GPaBits=52
for b in "${bugs[@]}"; do
  run "mmu_walker +define+MMU_BUG_$b" "+define+MMU_BUG_$b"
done
echo "lint: ${#bugs[@]} broken variants and 2 configurations clean"
