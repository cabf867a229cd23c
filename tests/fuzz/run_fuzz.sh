#!/bin/sh
# run_fuzz.sh -- build one libFuzzer target with Debian's clang and run it
# for a while on a copy of its seed corpus.
#
# Usage: tests/fuzz/run_fuzz.sh TARGET_NAME BUILD_DIR SECONDS
#   e.g. tests/fuzz/run_fuzz.sh fuzz_trace_reader /tmp/fuzz 60
#
# Conventions (one target = one file + one corpus directory):
#   source   tests/fuzz/TARGET_NAME.c, defining LLVMFuzzerTestOneInput;
#            TARGET_NAME starts with "fuzz_".
#   corpus   tests/fuzz/corpus/NAME/, NAME = TARGET_NAME without "fuzz_"
#            (fuzz_trace_reader -> corpus/trace_reader/,
#             fuzz_import_lackey -> corpus/import_lackey/).  Seeds are small
#            (< 4 KiB each).  The run works on a temporary copy, so the
#            repository is never modified; a missing directory means "no
#            seeds".
#   sources  the model files the target needs: a line
#              " * fuzz-sources: trace.c types.c"
#            in the target's source names files of model/src (the target
#            then does not depend on unrelated work in progress); without
#            that line every model/src/*.c is compiled.  Model objects go
#            into an archive, so only what the target references is linked.
#   libs     -lzstd -llzma -lz -lyaml, always (unused ones cost nothing).
#
# Build: clang -g -O1 -fsanitize=fuzzer,address,undefined (UBSan aborts, so
# undefined behaviour counts as a crash) into BUILD_DIR/TARGET_NAME.
# Crash inputs are saved as BUILD_DIR/TARGET_NAME-crash-* (and -leak-*,
# -timeout-*, -oom-*); reproduce one with BUILD_DIR/TARGET_NAME FILE.
#
# Exit status: 0 when the run ends without a finding; non-zero on a crash,
# leak, timeout, out-of-memory, a build failure or bad arguments.
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 TARGET_NAME BUILD_DIR SECONDS" >&2
    exit 2
fi
target=$1
build=$2
seconds=$3

root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/tests/fuzz/$target.c
case $target in
fuzz_*) ;;
*) echo "$0: target name must start with fuzz_: $target" >&2; exit 2 ;;
esac
if [ ! -f "$src" ]; then
    echo "$0: no target source $src" >&2
    exit 2
fi
case $seconds in
'' | *[!0-9]*) echo "$0: SECONDS must be a whole number: $seconds" >&2; exit 2 ;;
esac
corpus=$root/tests/fuzz/corpus/${target#fuzz_}

cc=${CC_FUZZ:-clang}
cflags="-std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -I$root/model/include"

# The model files: the target's "fuzz-sources:" line, or all of model/src.
# Only "name.c" words count, up to a closing "*/".
list=$(sed -n 's/^.*fuzz-sources:[[:space:]]*//p' "$src" | head -n 1 | sed 's|\*/.*||')
if [ -n "$list" ]; then
    models=
    set -f   # the words are file names, not patterns
    for f in $list; do
        case $f in
        *.c) models="$models $root/model/src/$f" ;;
        *) echo "$0: fuzz-sources: not a .c file: $f" >&2; exit 2 ;;
        esac
    done
    set +f
else
    models=$(ls "$root"/model/src/*.c)
fi

mkdir -p "$build"
objdir=$build/$target.objs
rm -rf "$objdir"
mkdir -p "$objdir"
for f in $models; do
    # shellcheck disable=SC2086 # cflags is a list of words
    $cc $cflags -c "$f" -o "$objdir/$(basename "$f" .c).o"
done
rm -f "$objdir/libmodel.a"
ar rcs "$objdir/libmodel.a" "$objdir"/*.o
# shellcheck disable=SC2086
$cc $cflags -fsanitize=fuzzer "$src" "$objdir/libmodel.a" -lzstd -llzma -lz -lyaml -o "$build/$target"

work=$(mktemp -d "${TMPDIR:-/tmp}/$target.corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
if [ -d "$corpus" ]; then
    cp -R "$corpus"/. "$work"/
fi

echo "$0: running $target for ${seconds}s on $(ls "$work" | wc -l) seeds" >&2
# -timeout: seconds for one input before it counts as a hang.
# libFuzzer's progress lines go to a log; the test output shows the final
# statistics, or the log's end when the fuzzer found something.
log="$build/$target.log"
status=0
"$build/$target" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$build/$target-" "$work" > "$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "$0: $target FAILED (status $status); full log: $log" >&2
    exit "$status"
fi
grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' "$log" >&2 || true
echo "$0: $target passed: no crash, leak or hang in ${seconds}s" >&2
