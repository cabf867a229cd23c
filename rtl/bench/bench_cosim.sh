#!/bin/bash
# Throughput of the cross-check: walks/s and simulated cycles/s of each
# Verilated configuration of the C++ harness (mmusim-cosim --bench) and of
# the SystemC harness (mmusim-cosim-sc, the default configuration), on one
# core.
#
# Usage: rtl/bench/bench_cosim.sh [BIN_DIR] [WALKS]
set -euo pipefail
bin=${1:-build/default/bin}
walks=${2:-200000}
for prog in mmusim-cosim mmusim-cosim-la57 mmusim-cosim-w8 mmusim-cosim-sc; do
  printf '%-20s ' "$prog"
  SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$bin/$prog" --quiet --bench --walks "$walks" --seed 1 | grep '^bench:'
done
