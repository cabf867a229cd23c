#!/bin/bash
# expect.sh STATUS REGEX... -- COMMAND ARGS...
# Run COMMAND, print its output, and pass only if it exits with STATUS and
# its output (stdout and stderr) has a line matching each REGEX (grep -E).
# The rtl tests use it for runs that must fail (broken variants, bad
# arguments) and for scripts whose figures must be printed.
set -u
want=$1; shift
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ "${1:-}" = "--" ] || { echo "expect.sh: missing -- before the command" >&2; exit 2; }
shift
out=$("$@" 2>&1); status=$?
printf '%s\n' "$out"
if [ "$status" != "$want" ]; then
  echo "expect.sh: exit status $status, expected $want" >&2
  exit 1
fi
for re in "${regexes[@]}"; do
  if ! grep -Eq -- "$re" <<<"$out"; then
    echo "expect.sh: no line matches '$re'" >&2
    exit 1
  fi
done
echo "expect.sh: exit status $status and ${#regexes[@]} expected line(s): ok"
