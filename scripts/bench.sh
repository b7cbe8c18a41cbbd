#!/usr/bin/env bash
# bench.sh - time `tcplens read` against `tcpdump -nn -r` and `tshark -n -r`
# on the same capture files, side by side in one run, and print a Markdown
# table for BENCHMARKS.md.
#
# Usage: scripts/bench.sh [-r RUNS] CAPTURE...
#
# For each capture: the file is read once to warm the page cache; then
# hyperfine times, in one invocation, the floor (cat FILE to /dev/null:
# reading the file from the page cache), `tcplens read FILE`,
# `tcpdump -nn -r FILE` and `tshark -n -r FILE`, each writing its one line
# per packet to /dev/null with its default (local time) timestamps. The
# ratios are tcpdump's and tshark's mean time over tcplens's. Peak memory
# (max RSS) comes from one more run of each under GNU time. Needs
# hyperfine, GNU time, tcpdump, tshark and capinfos; builds tcplens from
# this checkout. tshark keeps every frame's state in memory: on a capture
# of ten million packets it takes minutes and gigabytes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=5
if [ "${1:-}" = "-r" ]; then runs="$2"; shift 2; fi
[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
for t in hyperfine tcpdump tshark capinfos python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t not found (apt-get install hyperfine time tcpdump tshark python3)" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -o "$tmp/tcplens" ./cmd/tcplens)

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
echo "Tools: tcplens $(cd "$here" && git rev-parse --short HEAD), $(tcpdump --version 2>&1 | head -1), $(tshark --version 2>/dev/null | head -1 | sed 's/ (Wireshark)//; s/ (.*//'), $(go version | cut -d' ' -f3)"
echo "Runs: $runs per command (hyperfine, 1 warm-up), page cache warm"
echo
echo "| capture | size | packets | floor: cat | tcplens read | tcpdump -nn -r | tshark -n -r | tcpdump ÷ tcplens | tshark ÷ tcplens | tcplens packets/s | max RSS tcplens / tcpdump / tshark |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "$@"; do
  cat "$c" > /dev/null
  size=$(stat -c %s "$c")
  packets=$(capinfos -M -c -T "$c" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
    -n floor "cat $c" \
    -n tcplens "$tmp/tcplens read $c" \
    -n tcpdump "tcpdump -nn -r $c" \
    -n tshark "tshark -n -r $c" >/dev/null 2>&1
  rss_tl=$(/usr/bin/time -f %M "$tmp/tcplens" read "$c" 2>&1 >/dev/null | tail -1)
  rss_td=$(/usr/bin/time -f %M tcpdump -nn -r "$c" 2>&1 >/dev/null | tail -1)
  rss_ts=$(/usr/bin/time -f %M tshark -n -r "$c" 2>&1 >/dev/null | tail -1)
  python3 - "$tmp/h.json" "$c" "$size" "$packets" "$rss_tl" "$rss_td" "$rss_ts" <<'PY'
import json, os, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
path, size, packets = sys.argv[2], int(sys.argv[3]), int(sys.argv[4] or 0)
rss_tl, rss_td, rss_ts = (int(x) / 1024 for x in sys.argv[5:8])
def t(name):
    r = res[name]
    return f'{r["mean"]:.3f} s ± {r["stddev"]:.3f}'
tl, td, ts = res["tcplens"]["mean"], res["tcpdump"]["mean"], res["tshark"]["mean"]
print(f'| {os.path.basename(path)} | {size/1e6:.0f} MB | {packets:,} | {t("floor")} | {t("tcplens")} | {t("tcpdump")} | {t("tshark")} '
      f'| **{td/tl:.1f}×** | **{ts/tl:.0f}×** | {packets/tl/1e6:.2f} M | {rss_tl:.0f} / {rss_td:.0f} / {rss_ts:.0f} MiB |')
PY
done
