#!/usr/bin/env bash
# bench-conns.sh - time `tcplens conns` against `tcptrace -l -n` and
# `tshark -q -n -z conv,tcp` on the same capture files, side by side in one
# run, and print a Markdown table for BENCHMARKS.md.
#
# Usage: scripts/bench-conns.sh [-r RUNS] [-t TSHARK_RUNS] CAPTURE...
#
# Each of the three reads the whole capture and reports per connection:
# tcplens its full analysis (both endpoints' state machines, the
# tshark-compatible segment analysis, Zeek's history) as the conns table;
# tcptrace its long per-connection statistics; tshark its TCP
# conversation table after a full dissection with its own TCP analysis.
# All write to /dev/null.
#
# For each capture: the file is read once to warm the page cache; then
# hyperfine times, in one invocation, the floor (cat FILE to /dev/null:
# reading the file from the page cache), `tcplens conns FILE`,
# `tcptrace -l -n FILE` and `tshark -q -n -z conv,tcp -r FILE`, RUNS times
# each after one warm-up run (default 5). tshark takes minutes and
# gigabytes on a capture of millions of packets: -t TSHARK_RUNS times it
# that many times instead, in a second hyperfine invocation right after
# the first and without a warm-up; the table's footnote says so. The
# ratios are tcptrace's and tshark's mean time over tcplens's; ± is
# hyperfine's standard deviation. Peak memory (max RSS) comes from one more
# run of each under GNU time. Needs hyperfine, GNU time, tcptrace, tshark,
# capinfos and python3; builds tcplens from this checkout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=5
truns=""
while [ $# -gt 0 ]; do
  case "$1" in
    -r) runs="$2"; shift 2 ;;
    -t) truns="$2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
for t in hyperfine tcptrace tshark capinfos python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench-conns.sh: $t not found (apt-get install hyperfine time tcptrace tshark python3)" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -o "$tmp/tcplens" ./cmd/tcplens)

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
echo "Tools: tcplens $(cd "$here" && git rev-parse --short HEAD), tcptrace $(tcptrace -v 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1), $(tshark --version 2>/dev/null | head -1 | sed 's/ (Wireshark)//; s/ (.*//'), $(go version | cut -d' ' -f3)"
echo "Runs: $runs per command${truns:+, tshark $truns} (hyperfine), page cache warm"
echo
echo "| capture | size | packets | floor: cat | tcplens conns | tcptrace -l -n | tshark -z conv,tcp | tcptrace ÷ tcplens | tshark ÷ tcplens | tcplens packets/s | max RSS tcplens / tcptrace / tshark |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "$@"; do
  cat "$c" > /dev/null
  size=$(stat -c %s "$c")
  packets=$(capinfos -M -c -T "$c" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
  tshark_cmd=(-n tshark "tshark -q -n -z conv,tcp -r $c")
  if [ -n "$truns" ]; then tshark_cmd=(); fi
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
    -n floor "cat $c" \
    -n tcplens "$tmp/tcplens conns $c" \
    -n tcptrace "tcptrace -l -n $c" \
    "${tshark_cmd[@]}" >/dev/null 2>&1
  if [ -n "$truns" ]; then
    hyperfine -N --runs "$truns" --export-json "$tmp/t.json" \
      -n tshark "tshark -q -n -z conv,tcp -r $c" >/dev/null 2>&1
  else
    echo '{"results": []}' > "$tmp/t.json"
  fi
  rss_tl=$(/usr/bin/time -f %M "$tmp/tcplens" conns "$c" 2>&1 >/dev/null | tail -1)
  rss_tt=$(/usr/bin/time -f %M tcptrace -l -n "$c" 2>&1 >/dev/null | tail -1)
  rss_ts=$(/usr/bin/time -f %M tshark -q -n -z conv,tcp -r "$c" 2>&1 >/dev/null | tail -1)
  python3 - "$tmp/h.json" "$tmp/t.json" "$c" "$size" "$packets" "$rss_tl" "$rss_tt" "$rss_ts" "$truns" <<'PY'
import json, os, sys
res = {r["command"]: r for f in sys.argv[1:3] for r in json.load(open(f))["results"]}
path, size, packets = sys.argv[3], int(sys.argv[4]), int(sys.argv[5] or 0)
rss_tl, rss_tt, rss_ts = (int(x) / 1024 for x in sys.argv[6:9])
truns = sys.argv[9]
def t(name):
    r = res[name]
    return f'{r["mean"]:.3f} s ± {r["stddev"] or 0:.3f}'
tl, tt, ts = res["tcplens"]["mean"], res["tcptrace"]["mean"], res["tshark"]["mean"]
mark = " ¹" if truns else ""
print(f'| {os.path.basename(path)} | {size/1e6:.0f} MB | {packets:,} | {t("floor")} | {t("tcplens")} | {t("tcptrace")} | {t("tshark")}{mark} '
      f'| **{tt/tl:.1f}×** | **{ts/tl:.0f}×** | {packets/tl/1e6:.2f} M | {rss_tl:.0f} / {rss_tt:.0f} / {rss_ts:.0f} MiB |')
PY
done
if [ -n "$truns" ]; then
  echo
  echo "¹ tshark: $truns run(s), timed right after the others by a second hyperfine, without a warm-up run."
fi
