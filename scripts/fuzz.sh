#!/usr/bin/env bash
# fuzz.sh - run every Go fuzz target of the repository for a bounded time
# each, and say how fast each ran.
#
# Usage: scripts/fuzz.sh [-t DURATION] [-m DURATION] [PACKAGE...]
#
#   -t  how long each target fuzzes (default 30s; $FUZZTIME)
#   -m  how much the fuzzer may minimize one new input (default 10x: ten
#       attempts; $FUZZMINIMIZETIME). Go's default is 60s, and the workers
#       that minimize an "interesting" input do not fuzz meanwhile: with
#       it, FuzzPipeline ran 98 inputs in a minute, at 0 execs/s while it
#       minimized. A count, not a time, so a slow target is not starved
#       more than a fast one.
#
# The targets are found, not listed: `go test -list '^Fuzz'` on every
# package (./... unless packages are given), so a target anyone adds runs
# too. Each runs alone (`go test -run '^$' -fuzz '^NAME$'`), with Go's
# default workers (GOMAXPROCS), from its seeds and its testdata/fuzz
# corpus only: the inputs Go keeps from earlier runs in $GOCACHE/fuzz are
# set aside (a fresh directory per run), so every run, here or on CI's
# fresh machine, measures the same thing. Prints one line per target: its package,
# name, executions, seconds and executions per second over the whole run
# (baseline coverage and minimization included), and the new interesting
# inputs it found. A target that fails leaves its crasher under its
# package's testdata/fuzz/NAME/ (go test's layout), which is how a crasher
# is committed with its fix; the script prints the failure, goes on with
# the other targets and exits 1 at the end.
#
# Go 1.26's fuzzing coordinator can report "context deadline exceeded" as
# a failure when -fuzztime ends while a worker is busy, on a loaded machine
# (go.dev/issue/75804, fixed in Go 1.27): no input failed and none is
# written. Such a run is reported as a flake, not a failure; any failure
# that writes a crasher, or says anything else, fails.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here" || exit 2
fuzztime="${FUZZTIME:-30s}"
minimize="${FUZZMINIMIZETIME:-10x}"
while getopts t:m: opt; do
  case "$opt" in
    t) fuzztime="$OPTARG" ;;
    m) minimize="$OPTARG" ;;
    *) echo "usage: scripts/fuzz.sh [-t DURATION] [-m DURATION] [PACKAGE...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- ./...
# Targets that write files (export's datasets: three per input) spend
# most of their time in the file system's system calls; on tmpfs
# FuzzExport runs about five times as many inputs (38 against 181 a
# second here).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log="$tmp/log"

pkgs="$(go list "$@")" || exit 2
status=0
count=0
start=$SECONDS
printf '%-42s %-24s %12s %8s %10s %6s\n' PACKAGE TARGET EXECS SECONDS EXECS/S NEW
for pkg in $pkgs; do
  # -list builds the (uninstrumented) test binary; packages without tests
  # list nothing.
  targets="$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)"
  for t in $targets; do
    count=$((count + 1))
    rm -rf "$tmp/cache"
    dir="$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$t"
    before="$(ls "$dir" 2>/dev/null)"
    go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg" \
      -args -test.fuzzcachedir="$tmp/cache" > "$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] && [ "$(ls "$dir" 2>/dev/null)" = "$before" ] &&
      [ "$(grep -v -e '^fuzz: elapsed' -e '^--- FAIL' -e '^FAIL' -e '^exit status' "$log" | sed 's/^[[:space:]]*//')" = "context deadline exceeded" ]; then
      echo "fuzz.sh: $t in $pkg: \"context deadline exceeded\" at the end of -fuzztime with no failing input: Go's coordinator race (go.dev/issue/75804), not a failure" >&2
      rc=0
    fi
    # The last progress line: "fuzz: elapsed: 31s, execs: 123456 (4000/sec), new interesting: 3 (total: 170)".
    last="$(grep -E '^fuzz: elapsed: [0-9]+s, execs: ' "$log" | tail -1)"
    secs="$(printf '%s' "$last" | sed -nE 's/^fuzz: elapsed: ([0-9]+)s.*/\1/p')"
    execs="$(printf '%s' "$last" | sed -nE 's/.*execs: ([0-9]+) .*/\1/p')"
    new="$(printf '%s' "$last" | sed -nE 's/.*new interesting: ([0-9]+).*/\1/p')"
    rate=-
    if [ -n "$secs" ] && [ "$secs" -gt 0 ]; then rate=$((execs / secs)); fi
    printf '%-42s %-24s %12s %8s %10s %6s\n' "${pkg#github.com/tcplens/tcplens/}" "$t" "${execs:--}" "${secs:--}" "$rate" "${new:--}"
    if [ $rc -ne 0 ]; then
      status=1
      echo "fuzz.sh: $t in $pkg failed:" >&2
      grep -v '^fuzz: elapsed' "$log" | sed 's/^/    /' >&2
    fi
  done
done
echo "fuzz.sh: $count targets in $((SECONDS - start)) s, $fuzztime each" >&2
exit $status
