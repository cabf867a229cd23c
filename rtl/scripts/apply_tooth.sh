#!/bin/bash
# Make one broken variant of the walker (rtl/README.md, "Broken variants"):
# rtl/src/*.sv with PATCH (a unified diff against rtl/, paths a/src/...
# b/src/...) applied, in OUTDIR/src.  The patch must apply exactly: no
# fuzz, no rejects.  A file of OUTDIR/src is rewritten only when its
# contents change, so a CMake re-configuration leaves the variant's
# Verilated model alone.  Used by rtl/CMakeLists.txt (at configure and
# build time) and by lint.sh.
#
# Usage: rtl/scripts/apply_tooth.sh PATCH OUTDIR
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 PATCH OUTDIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
patch_file=$(realpath "$1") out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$out/src"
cp "$here"/src/*.sv "$work/src/"
if ! log=$(patch --batch --forward --fuzz=0 --no-backup-if-mismatch --reject-file=- -s -p1 \
             -d "$work" -i "$patch_file" 2>&1); then
  echo "$1: does not apply to rtl/src: $(echo "$log" | head -n 1)" >&2
  exit 1
fi
for f in "$work"/src/*.sv; do
  t="$out/src/$(basename "$f")"
  cmp -s "$f" "$t" || cp "$f" "$t"
done
