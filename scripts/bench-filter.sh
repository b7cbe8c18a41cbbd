#!/usr/bin/env bash
# bench-filter.sh - time `tcplens read FILE FILTER` against
# `tcpdump -nn -r FILE FILTER` side by side in one run, for a few filters,
# and print a Markdown table for BENCHMARKS.md.
#
# Usage: scripts/bench-filter.sh [-r RUNS] CAPTURE...
#
# For each capture (read once first to warm the page cache) and each
# filter, hyperfine times the two commands, each writing its lines to
# /dev/null, and `tcplens read FILE` without a filter for the cost of the
# filter itself; and the CPU time (user + system) of each, which a busy
# machine disturbs less than the wall clock, and the fastest run's wall
# clock, the one the machine's other work disturbed least. The load
# average is printed before each capture. Needs hyperfine and tcpdump;
# builds tcplens from this checkout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
if [ "${1:-}" = "-r" ]; then runs="$2"; shift 2; fi
[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
for t in hyperfine tcpdump python3; do
  command -v "$t" >/dev/null || { echo "bench-filter.sh: $t not found" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -o "$tmp/tcplens" ./cmd/tcplens)
filters=(
  "tcp"
  "tcp port 80 or tcp port 443"
  "host 10.88.0.2 and (port 80 or port 8080)"
  "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0"
  "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420"
)
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, Linux $(uname -r)"
echo "Tools: tcplens $(cd "$here" && git rev-parse --short HEAD), $(tcpdump --version 2>&1 | head -1), $(go version | cut -d' ' -f3)"
echo "Runs: $runs per command (hyperfine, 1 warm-up), page cache warm"
echo
echo "| capture | filter | lines | tcplens read, no filter | tcplens read FILTER | tcpdump -nn -r FILTER | tcpdump ÷ tcplens, mean | fastest runs | tcpdump ÷ tcplens, fastest | CPU s tcplens / tcpdump |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "$@"; do
  echo "<!-- $(basename "$c"): load average $(cut -d' ' -f1-3 /proc/loadavg) -->"
  cat "$c" > /dev/null
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/base.json" -n base "$tmp/tcplens read $c" >/dev/null 2>&1
  for f in "${filters[@]}"; do
    printf '%s\n' "$f" > "$tmp/filter"
    lines=$("$tmp/tcplens" read -F "$tmp/filter" "$c" 2>/dev/null | wc -l)
    hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
      -n tcplens "$tmp/tcplens read -F $tmp/filter $c" \
      -n tcpdump "tcpdump -nn -r $c -F $tmp/filter" >/dev/null 2>&1
    python3 - "$tmp/base.json" "$tmp/h.json" "$c" "$f" "$lines" <<'PY'
import json, os, sys
base = json.load(open(sys.argv[1]))["results"][0]
res = {r["command"]: r for r in json.load(open(sys.argv[2]))["results"]}
t, d = res["tcplens"], res["tcpdump"]
fmt = lambda r: f'{r["mean"]:.3f} s ± {r["stddev"]:.3f}'
cpu = lambda r: r["user"] + r["system"]
print(f'| {os.path.basename(sys.argv[3])} | `{sys.argv[4]}` | {int(sys.argv[5]):,} | {fmt(base)} | {fmt(t)} | {fmt(d)} | **{d["mean"]/t["mean"]:.1f}×** | {t["min"]:.3f} / {d["min"]:.3f} s | **{d["min"]/t["min"]:.1f}×** | {cpu(t):.2f} / {cpu(d):.2f} ({cpu(d)/cpu(t):.1f}×) |')
PY
  done
done
