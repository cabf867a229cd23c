#!/bin/bash
# Lint the page walker with `verilator --lint-only -Wall`: as it is, in a
# second parameter set, and every broken variant (each rtl/teeth/*.patch
# applied to a copy of rtl/src, as the build does), with every waiver in
# rtl/lint/waivers.vlt.  Exits non-zero on the first warning or on a patch
# that does not apply.
#
# Usage: rtl/scripts/lint.sh [VERILATOR]
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")/.." && pwd)
verilator=${1:-verilator}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Sources in dependency order, from src_dir.
srcs() {
  local d=$1
  echo "$d/mmu_walker_pkg.sv" "$d/mmu_walker_age.sv" "$d/mmu_walker_pwc.sv" "$d/mmu_walker.sv"
}

run() {
  local what=$1 dir=$2; shift 2
  # shellcheck disable=SC2046
  if "$verilator" --lint-only -Wall --top-module mmu_walker "$here/lint/waivers.vlt" "$@" $(srcs "$dir"); then
    echo "lint: $what: clean"
  else
    echo "lint: $what: warnings" >&2
    exit 1
  fi
}

run "mmu_walker" "$here/src"
# A second shape: LA57, one walk, two-entry caches, two-cycle lookups.
run "mmu_walker (Levels=5 NumWalks=1 PwcEntries=2 PwcLatency=2 PaBits=52)" "$here/src" \
  -GLevels=5 -GNumWalks=1 -GPwcEntries=2 -GPwcLatency=2 -GPaBits=52
n=0
for p in "$here"/teeth/*.patch; do
  name=$(basename "$p" .patch)
  bash "$here/scripts/apply_tooth.sh" "$p" "$tmp/$name"
  run "mmu_walker + teeth/$name.patch" "$tmp/$name/src"
  n=$((n + 1))
done
echo "lint: $n broken variants and 2 configurations clean"
