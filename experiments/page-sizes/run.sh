#!/usr/bin/env bash
# 4 KiB vs THP vs 1 GiB pages.  run.sh [--reduced] [--out DIR] [--jobs N]
. "$(dirname "$0")/../lib.sh"
# NAME-1g: the bundled trace with each mmap widened to whole 1 GiB-aligned
# gigabytes and flagged huge (TR_MAP_HUGE): export as text, rewrite the
# mmap lines, import.  Accesses, instructions and switches are unchanged.
if [ $REDUCED = 1 ]; then NAMES="gups"; else NAMES="gups zipf chase"; fi
for n in $NAMES; do
    "$MMUSIM" trace export --text "$ROOT/traces/$n.trace.zst" |
    "$PY" -c '
import sys
G = 1 << 30
for line in sys.stdin:
    f = line.split()
    if f and f[0] == "mmap" and "anon" in f[5].split(","):
        a, n = int(f[2], 0), int(f[3], 0)
        lo, hi = a & ~(G - 1), (a + n + G - 1) & ~(G - 1)
        f[2], f[3], f[5] = hex(lo), hex(hi - lo), f[5] + ",huge"
        line = " ".join(f) + "\n"
    sys.stdout.write(line)
' | "$MMUSIM" trace import --from text - -o "$TRACES/$n-1g.trace.zst"
done
run_sweep
run_plot
