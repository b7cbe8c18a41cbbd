#!/usr/bin/env bash
# bench-compare.sh - time `tcplens compare A B` against `tcplens conns A`
# and `tcplens conns B`, side by side in one run: compare must take at most
# the time of the two conns runs. Prints a Markdown row for BENCHMARKS.md.
#
# Usage: scripts/bench-compare.sh [-r RUNS] A B
#
# The files are read once to warm the page cache; then hyperfine times, in
# one invocation, `tcplens compare A B`, `tcplens conns A` and `tcplens
# conns B` (each to /dev/null), RUNS times each after one warm-up run
# (default 3). Wall time is hyperfine's mean ± its standard deviation; CPU
# time (user + system) its mean of each run's; the machine is shared, so
# the CPU time is the steadier figure. Peak memory (max RSS) comes from one
# more run of each under GNU time. Needs hyperfine, GNU time, capinfos and
# python3; builds tcplens from this checkout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
if [ "${1:-}" = -r ]; then runs="$2"; shift 2; fi
[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
a="$1" b="$2"
for t in hyperfine capinfos python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench-compare.sh: $t not found (apt-get install hyperfine time tshark python3)" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -o "$tmp/tcplens" ./cmd/tcplens)

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
echo "tcplens $(cd "$here" && git rev-parse --short HEAD), $(go version | cut -d' ' -f3); runs: $runs per command (hyperfine), page cache warm; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
cat "$a" "$b" > /dev/null
hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
  -n compare "$tmp/tcplens compare $a $b" \
  -n conns-a "$tmp/tcplens conns $a" \
  -n conns-b "$tmp/tcplens conns $b" >/dev/null
for n in compare conns-a conns-b; do
  case $n in
    compare) cmd=("$tmp/tcplens" compare "$a" "$b") ;;
    conns-a) cmd=("$tmp/tcplens" conns "$a") ;;
    conns-b) cmd=("$tmp/tcplens" conns "$b") ;;
  esac
  /usr/bin/time -f '%M' -o "$tmp/$n.rss" "${cmd[@]}" > /dev/null
done
pa=$(capinfos -M -c -T "$a" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
pb=$(capinfos -M -c -T "$b" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
python3 - "$tmp" "$a" "$b" "$pa" "$pb" <<'EOF'
import json, os, sys
tmp, a, b, pa, pb = sys.argv[1:]
r = {x["command"]: x for x in json.load(open(f"{tmp}/h.json"))["results"]}
rss = {n: int(open(f"{tmp}/{n}.rss").read().split()[-1]) // 1024 for n in ("compare", "conns-a", "conns-b")}
def wall(n): return f'{r[n]["mean"]:.2f} s ± {r[n]["stddev"]:.2f}'
def cpu(n): return r[n]["user"] + r[n]["system"]
w2 = r["conns-a"]["mean"] + r["conns-b"]["mean"]
c2 = cpu("conns-a") + cpu("conns-b")
mb = lambda p: os.stat(p).st_size / 1e6
print("| pair | packets A / B | compare | conns A | conns B | compare ÷ (conns A + conns B), wall | CPU: compare / conns A + conns B | CPU ratio | max RSS compare / conns A / conns B |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
print(f'| {a} ({mb(a):.0f} MB), {b} ({mb(b):.0f} MB) | {int(pa):,} / {int(pb):,} | {wall("compare")} | {wall("conns-a")} | {wall("conns-b")} | '
      f'**{r["compare"]["mean"] / w2:.2f}** | {cpu("compare"):.2f} s / {c2:.2f} s | **{cpu("compare") / c2:.2f}** | '
      f'{rss["compare"]} / {rss["conns-a"]} / {rss["conns-b"]} MiB |')
EOF
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
