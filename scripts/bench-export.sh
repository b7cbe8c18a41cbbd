#!/usr/bin/env bash
# bench-export.sh - time `tcplens export` against `tcplens conns` (and
# `tcplens diagnose`) on the same capture files, side by side in one run,
# and print a Markdown table for BENCHMARKS.md.
#
# Usage: scripts/bench-export.sh [-r RUNS] CAPTURE...
#
# For each capture: the file is read once to warm the page cache; then
# hyperfine times, in one invocation, RUNS times each after one warm-up
# run (default 3): `tcplens conns` (the table, to /dev/null), `tcplens
# diagnose` (to /dev/null), `tcplens export --no-findings
# --no-transitions` (the connections table alone, as Parquet), `tcplens
# export --no-findings` (the connections and transitions tables),
# `tcplens export` (with
# the findings), `tcplens export --segments --no-findings` and
# `tcplens export --segments`, each export into a fresh directory under
# /tmp. The machine may be shared: besides the wall time (mean ± standard
# deviation) the table gives the CPU time (user + system, hyperfine's
# means), which other processes disturb less, and both as ratios to
# conns's, and the exports with the findings as ratios to diagnose's,
# which runs the same diagnosis. Segments per second are the capture's
# TCP segments (the lines of tcplens read) over the wall time. Peak
# memory (max RSS) comes from one more run of each under GNU time. Needs
# hyperfine, GNU time and python3; builds tcplens from this checkout.
#
# For memory as the input grows, give the first packets of a capture as
# captures of their own: editcap -r BIG.pcap FIRST1M.pcap 1-1000000.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    -r) runs="$2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
for t in hyperfine python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench-export.sh: $t not found (apt-get install hyperfine time python3)" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -o "$tmp/tcplens" ./cmd/tcplens)
tl="$tmp/tcplens"
out="$tmp/out"

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
echo "tcplens $(cd "$here" && git rev-parse --short HEAD), $(go version | cut -d' ' -f3); runs: $runs per command (hyperfine), page cache warm; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| capture | command | wall | CPU (user+sys) | wall ÷ conns | CPU ÷ conns | wall ÷ diagnose | CPU ÷ diagnose | segments/s | max RSS |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "$@"; do
  cat "$c" > /dev/null
  segments=$("$tl" read "$c" 2>/dev/null | wc -l)
  names=(conns diagnose "export --no-findings --no-transitions" "export --no-findings" export "export --segments --no-findings" "export --segments")
  cmds=("$tl conns $c" "$tl diagnose $c" "$tl export --no-findings --no-transitions -o $out $c"
    "$tl export --no-findings -o $out $c" "$tl export -o $out $c"
    "$tl export --segments --no-findings -o $out $c" "$tl export --segments -o $out $c")
  args=()
  for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine -N --warmup 1 --runs "$runs" --prepare "rm -rf $out" --export-json "$tmp/h.json" "${args[@]}" >/dev/null 2>&1
  : > "$tmp/rss"
  for i in "${!names[@]}"; do
    rm -rf "$out"
    # shellcheck disable=SC2086
    echo "$(/usr/bin/time -f %M ${cmds[$i]} 2>&1 >/dev/null | tail -1)" >> "$tmp/rss"
  done
  python3 - "$tmp/h.json" "$tmp/rss" "$c" "$segments" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))["results"]
rss = [int(x) / 1024 for x in open(sys.argv[2]).read().split()]
name, segments = os.path.basename(sys.argv[3]), int(sys.argv[4])
base, diag = res[0], res[1]
bcpu, dcpu = base["user"] + base["system"], diag["user"] + diag["system"]
for r, m in zip(res, rss):
    cpu = r["user"] + r["system"]
    rate = f'{segments / r["mean"] / 1e6:.2f} M' if "segments" in r["command"] or r is base else ""
    vs = f'{r["mean"] / diag["mean"]:.2f}× | {cpu / dcpu:.2f}×' if "no-findings" not in r["command"] and r is not base else " | "
    print(f'| {name} | `{r["command"]}` | {r["mean"]:.2f} s ± {r["stddev"] or 0:.2f} | {cpu:.2f} s | '
          f'{r["mean"] / base["mean"]:.2f}× | {cpu / bcpu:.2f}× | {vs} | {rate} | {m:.0f} MiB |')
PY
done
