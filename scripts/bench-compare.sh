#!/usr/bin/env bash
# bench-compare.sh - time `tcplens compare A B` against `tcplens conns A`
# and `tcplens conns B`, side by side in one run: compare must take at most
# the time of the two conns runs. Prints a Markdown row for BENCHMARKS.md.
#
# Usage: scripts/bench-compare.sh [-r RUNS] A B
#
# The files are read once to warm the page cache; then RUNS rounds
# (default 5) each run `tcplens compare A B`, `tcplens conns A` and
# `tcplens conns B` in turn (to /dev/null) under GNU time: the three are
# interleaved, so that a machine shared with others loads them alike.
# Each figure is the median of its runs: wall time, CPU time (user +
# system: the steadier figure on a shared machine) and peak memory (max
# RSS). Needs GNU time, capinfos and python3; builds tcplens from this
# checkout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=5
if [ "${1:-}" = -r ]; then runs="$2"; shift 2; fi
[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
a="$1" b="$2"
for t in capinfos python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench-compare.sh: $t not found (apt-get install time tshark python3)" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -o "$tmp/tcplens" ./cmd/tcplens)

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
echo "tcplens $(cd "$here" && git rev-parse --short HEAD), $(go version | cut -d' ' -f3); $runs interleaved rounds, page cache warm; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
cat "$a" "$b" > /dev/null
for i in $(seq "$runs"); do
  /usr/bin/time -a -f '%e %U %S %M' -o "$tmp/compare" "$tmp/tcplens" compare "$a" "$b" > /dev/null
  /usr/bin/time -a -f '%e %U %S %M' -o "$tmp/conns-a" "$tmp/tcplens" conns "$a" > /dev/null
  /usr/bin/time -a -f '%e %U %S %M' -o "$tmp/conns-b" "$tmp/tcplens" conns "$b" > /dev/null
done
pa=$(capinfos -M -c -T "$a" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
pb=$(capinfos -M -c -T "$b" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
python3 - "$tmp" "$a" "$b" "$pa" "$pb" <<'EOF'
import os, statistics, sys
tmp, a, b, pa, pb = sys.argv[1:]
def runs(n):
    rows = [l.split() for l in open(f"{tmp}/{n}") if l.strip() and not l.startswith("Command")]
    wall = [float(r[0]) for r in rows]
    cpu = [float(r[1]) + float(r[2]) for r in rows]
    rss = [int(r[3]) // 1024 for r in rows]
    return statistics.median(wall), min(wall), max(wall), statistics.median(cpu), statistics.median(rss)
c, x, y = runs("compare"), runs("conns-a"), runs("conns-b")
mb = lambda p: os.stat(p).st_size / 1e6
w = lambda r: f"{r[0]:.2f} s ({r[1]:.1f}-{r[2]:.1f})"
print("| pair | packets A / B | compare: wall | conns A | conns B | compare ÷ (conns A + conns B), wall | CPU: compare / conns A + conns B | CPU ratio | max RSS compare / conns A / conns B |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
print(f"| {a} ({mb(a):.0f} MB), {b} ({mb(b):.0f} MB) | {int(pa):,} / {int(pb):,} | {w(c)} | {w(x)} | {w(y)} | "
      f"**{c[0] / (x[0] + y[0]):.2f}** | {c[3]:.2f} s / {x[3] + y[3]:.2f} s | **{c[3] / (x[3] + y[3]):.2f}** | "
      f"{c[4]} / {x[4]} / {y[4]} MiB |")
EOF
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
