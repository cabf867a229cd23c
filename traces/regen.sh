#!/usr/bin/env bash
# Regenerates every bundled trace in traces/ from scratch.
#
#   traces/regen.sh [MMUSIM]      (default: build/default/bin/mmusim)
#
# Real programs are recorded on this platform (Debian 12, x86-64) with
# valgrind's lackey through `mmusim trace record` (streamed, no temporary
# log).  Their workloads are kept small so each trace stays at a few MB:
# every instruction is an instruction-fetch access, and the dynamic loader
# alone runs ~300k instructions.  python3's startup is ~29M accesses, so
# only its first 3M lines of lackey output are kept (lackey piped through
# head into the importer).  Synthetic traces come from `mmusim trace gen`
# with fixed seeds.  Recorded traces depend on the exact binaries and
# libraries installed, so a regeneration on another machine differs in
# detail; synthetic ones are byte-identical.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mmusim="${1:-$here/../build/default/bin/mmusim}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Inputs: fixed text, generated here so the workloads are reproducible.
seq 1 1600 | awk '{ printf "line %05d %s\n", ($1 * 7919) % 10007, "the quick brown fox" }' > "$work/in.txt"

record() {   # NAME CMD ARGS...
  local name="$1"; shift
  echo "recording $name: $*"
  "$mmusim" trace record -o "$here/$name.trace.zst" -- "$@" > /dev/null
}

record gzip   /usr/bin/gzip -c -6 "$work/in.txt"
record sort   /usr/bin/sort "$work/in.txt"
record sqlite3 /usr/bin/sqlite3 :memory: \
  "create table t(k integer primary key, v text); \
   insert into t(v) select printf('row %d', value) from generate_series(1, 200); \
   create index iv on t(v); select count(*), max(v) from t where v like 'row 1%';"

echo "recording python3 (first 3M lackey lines)"
{ valgrind --tool=lackey --trace-mem=yes --log-fd=3 /usr/bin/python3 -S -c 'import json; json.dumps(list(range(100)))' \
    3>&1 1>/dev/null 2>/dev/null || true; } | head -n 3000000 |
  "$mmusim" trace import --from lackey - -o "$here/python3.trace.zst"

gen() {   # NAME PATTERN ARGS...
  local name="$1" pattern="$2"; shift 2
  echo "generating $name"
  "$mmusim" trace gen "$pattern" --seed 1 "$@" -o "$here/$name.trace.zst"
}

gen seq-stream   sequential --footprint 64M --count 1000000
gen gups         gups       --footprint 1G  --count 250000
gen zipf         zipf       --footprint 256M --count 250000
gen chase        chase      --footprint 16M --count 250000
gen procs-rr     processes  --footprint 32M --count 250000
gen fork-cow     fork-write --footprint 32M --count 250000
gen shared-file  shared-file --footprint 64M --count 250000
gen vmalloc      vmalloc    --footprint 16M --count 250000

ls -l "$here"/*.trace.zst
