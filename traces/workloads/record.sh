#!/usr/bin/env bash
# Records the workload kernels (traces/workloads/*.c) with `mmusim trace record`.
#
#   traces/workloads/record.sh [MMUSIM]                  the bundled small traces,
#                                                        into traces/workloads/
#   traces/workloads/record.sh --long [--out DIR] [MMUSIM]
#                                                        long ones (>= 500 M accesses,
#                                                        >= 1 GiB footprint) into DIR
#   traces/workloads/record.sh [--long] --only NAME ...  one kernel (repeatable)
#
# MMUSIM defaults to build/default/bin/mmusim; the kernels (wl-NAME) are
# taken from the same folder, where the project's CMake builds them.  DIR
# defaults to $MMUSIM_LONG_TRACES, else ~/mmusim-long-traces: long traces
# are tens of GB of lackey output each and stay out of git.
#
# When `mmusim trace record --help` offers --roi, each kernel is recorded
# over its region of interest only (the part between MMUSIM_ROI_BEGIN and
# MMUSIM_ROI_END, see roi.h), else over its whole run (input generation
# included).  The kernels are deterministic, so a trace is reproducible for
# a given build of the kernels and mmusim; every kernel's checksum line is
# printed, and saved beside long traces as NAME.out.
#
# The graph kernels (bfs, pagerank) first run natively with --cache to
# save their graph, and the recorded run reads it back (rmat.h): their
# R-MAT generation, ~10^4 instructions per vertex, would otherwise make
# most of a whole-run trace and hours of a long recording.
#
# Each recording prints its wall time and the CPU time of valgrind and
# mmusim together (the machine may be shared: CPU time is the steadier).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
long=0
out=""
only=()
mmusim=""
while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1 ;;
    --out) out="${2:?--out needs a folder}"; shift ;;
    --only) only+=("${2:?--only needs a kernel name}"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "record.sh: unknown option '$1'" >&2; exit 2 ;;
    *) mmusim="$1" ;;
  esac
  shift
done
mmusim="${mmusim:-$here/../../build/default/bin/mmusim}"
bin="$(dirname "$mmusim")"
if [ ! -x "$mmusim" ]; then
  echo "record.sh: $mmusim is not an executable mmusim (build the project first)" >&2
  exit 2
fi

# NAME FOOTPRINT ITERATIONS.  Small: whole runs of a few MB each (sizes
# chosen from measurements, see traces/README.md).  Long: >= 1 GiB of data
# and ITERATIONS for >= 500 M accesses inside the region of interest.
small=(
  "gups     16M   1M"
  "bfs      4M    1"
  "pagerank 4M    1"
  "hashjoin 4M    128K"
  "btree    4M    32K"
  "kvstore  4M    64K"
)
big=(
  "gups     1G   64M"
  "bfs      2G   1"
  "pagerank 2G   1"
  "hashjoin 1G   32M"
  "btree    1G   2M"
  "kvstore  1G   4M"
)

roi=()
if "$mmusim" trace record --help 2>&1 | grep -q -- '--roi'; then
  roi=(--roi)
fi
if [ "$long" = 1 ]; then
  dest="${out:-${MMUSIM_LONG_TRACES:-$HOME/mmusim-long-traces}}"
  table=("${big[@]}")
else
  dest="${out:-$here}"
  table=("${small[@]}")
fi
mkdir -p "$dest"
echo "recording into $dest (${roi[*]:-whole runs: this mmusim has no trace record --roi})"

TIMEFORMAT='%R %U %S'
for row in "${table[@]}"; do
  read -r name footprint iters <<< "$row"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then
    continue
  fi
  kernel="$bin/wl-$name"
  [ -x "$kernel" ] || { echo "record.sh: $kernel is missing (build the project)" >&2; exit 2; }
  trace="$dest/$name.trace.zst"
  cache=()
  if [ "$name" = bfs ] || [ "$name" = pagerank ]; then
    # Long: kept beside the traces for the next recording; small: thrown away.
    csr="$dest/$name.csr"
    [ "$long" = 1 ] || csr="$(mktemp)"
    "$kernel" --cache "$csr" "$footprint" 0 > /dev/null
    cache=(--cache "$csr")
  fi
  log="$dest/$name.out"
  times="$(mktemp)"
  { time "$mmusim" trace record "${roi[@]}" -o "$trace" -- "$kernel" "${cache[@]}" "$footprint" "$iters" > "$log"; } 2> "$times"
  [ "$long" = 1 ] || [ ${#cache[@]} = 0 ] || rm -f "${cache[1]}"
  read -r wall user sys < <(tail -n 1 "$times")
  grep -v '^[0-9.]* [0-9.]* [0-9.]*$' "$times" >&2 || true
  rm -f "$times"
  result="$(cat "$log")"
  [ "$long" = 1 ] || rm -f "$log"
  accesses="$("$mmusim" trace info "$trace" | sed -n 's/^accesses: //p')"
  printf '%-9s %5s %5s  %s accesses  %s bytes  %ss wall  %ss cpu\n  %s\n' "$name" "$footprint" "$iters" \
    "$accesses" "$(stat -c %s "$trace")" "$wall" "$(awk "BEGIN { print $user + $sys }")" "$result"
done
