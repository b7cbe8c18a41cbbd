#!/usr/bin/env bash
# bench-goals.sh - every figure of the speed and memory goals (issue 13 and
# issue 15's SYN flood), side by side in one run, as Markdown tables for
# BENCHMARKS.md.
#
# Usage: scripts/bench-goals.sh [-r RUNS] HDR96 FULL MID49
#
# HDR96, FULL and MID49 are the captures of BENCHMARKS.md ("The captures"):
# 1 GB of headers, 1 GB of whole frames, 49 MB of headers. For each, after
# a read that warms the page cache, one hyperfine invocation times (RUNS
# runs each, default 3, one warm-up) side by side: tcplens read against
# tcpdump -nn -r; tcplens conns against tcptrace -l -n; tcplens diagnose,
# the overview (tcplens FILE) and tcplens report against tcplens conns;
# and conns and diagnose on one core (--threads 1) against the default
# (every core). Every output goes to /dev/null. The tables give the mean
# wall times, the ratios the goals are about, and, for conns, the CPU time
# (user + system, from hyperfine) per packet. Then one run of each tcplens
# command under GNU time for its peak memory (max RSS); the same for conns,
# diagnose and the overview on the first 1, 3 and 6 million packets of
# HDR96 (editcap -r), to show memory flat as the capture grows; and the
# same for conns, conns --json, diagnose and report on a flood of a
# million SYNs from a million sources (scripts/make-synflood.py).
#
# Needs hyperfine, GNU time, tcpdump, tcptrace, editcap, capinfos and
# python3; builds tcplens from this checkout; writes its scratch files
# (the prefixes, the flood, the report pages) to a temporary directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
if [ "${1:-}" = "-r" ]; then runs="$2"; shift 2; fi
[ $# -eq 3 ] || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
hdr96=$1 full=$2 mid49=$3
for t in hyperfine tcpdump tcptrace editcap capinfos python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench-goals.sh: $t not found (apt-get install hyperfine time tcpdump tcptrace tshark python3)" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tl="$tmp/tcplens"
(cd "$here" && go build -trimpath -o "$tl" ./cmd/tcplens)
# A checkout from before --threads (to measure what was) runs on its own
# terms: the one-core columns stay empty.
threads=yes
"$tl" conns --help 2>/dev/null | grep -q -- --threads || threads=

packets() { capinfos -M -c -T "$1" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}'; }
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'; }

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
echo "Tools: tcplens $(cd "$here" && git rev-parse --short HEAD), $(tcpdump --version 2>&1 | head -1), tcptrace $(tcptrace -v 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1), $(go version | cut -d' ' -f3)"
echo "Load average at the start (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg); runs: $runs per command (hyperfine, 1 warm-up), page cache warm"
echo
echo "## Speed (mean wall time of $runs runs; ratios of the means)"
echo
echo "| capture | packets | tcplens read | tcpdump -nn -r | **tcpdump ÷ read** | tcplens conns | tcptrace -l -n | **tcptrace ÷ conns** | **conns CPU per packet** | diagnose | overview | report | **diagnose, overview, report ÷ conns** | conns, diagnose on 1 core | **1 core ÷ all** |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "$hdr96" "$full" "$mid49"; do
  cat "$c" > /dev/null
  n=$(packets "$c")
  one=()
  [ -n "$threads" ] && one=(-n conns1 "$tl conns --threads 1 $c" -n diagnose1 "$tl diagnose --threads 1 $c")
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
    -n read "$tl read $c" \
    -n tcpdump "tcpdump -nn -r $c" \
    -n conns "$tl conns $c" \
    -n tcptrace "tcptrace -l -n $c" \
    -n diagnose "$tl diagnose $c" \
    -n overview "$tl $c" \
    -n report "$tl report -o $tmp/page.html $c" \
    "${one[@]}" >/dev/null 2>&1
  python3 - "$tmp/h.json" "$c" "$n" <<'PY'
import json, os, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
path, n = sys.argv[2], int(sys.argv[3] or 0)
m = {k: v["mean"] for k, v in res.items()}
cpu = res["conns"]["user"] + res["conns"]["system"]
print(f'| {os.path.basename(path)} | {n:,} | {m["read"]:.2f} s | {m["tcpdump"]:.2f} s | **{m["tcpdump"]/m["read"]:.1f}×** '
      f'| {m["conns"]:.2f} s | {m["tcptrace"]:.2f} s | **{m["tcptrace"]/m["conns"]:.2f}×** | **{cpu/n*1e9:.0f} ns** '
      f'| {m["diagnose"]:.2f} s | {m["overview"]:.2f} s | {m["report"]:.2f} s '
      f'| **{m["diagnose"]/m["conns"]:.2f} / {m["overview"]/m["conns"]:.2f} / {m["report"]/m["conns"]:.2f}** '
      + (f'| {m["conns1"]:.2f} s, {m["diagnose1"]:.2f} s | **{m["conns1"]/m["conns"]:.2f} / {m["diagnose1"]/m["diagnose"]:.2f}** |'
         if "conns1" in m else '| | |'))
PY
done

echo
echo "## Memory (max RSS, MiB, one run each)"
echo
echo "| capture | packets | read | conns | conns --json | diagnose | overview | report | tcptrace -l -n |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "$hdr96" "$full" "$mid49"; do
  echo "| $(basename "$c") | $(packets "$c" | python3 -c 'print(f"{int(input()):,}")') | $(rss "$tl" read "$c") | $(rss "$tl" conns "$c") | $(rss "$tl" conns --json "$c") | $(rss "$tl" diagnose "$c") | $(rss "$tl" "$c") | $(rss "$tl" report -o "$tmp/page.html" "$c") | $(rss tcptrace -l -n "$c") |"
done

echo
echo "## Memory as the capture grows (the first packets of $(basename "$hdr96"), max RSS, MiB)"
echo
echo "| packets | conns | diagnose | overview |"
echo "| ---: | ---: | ---: | ---: |"
for k in 1000000 3000000 6000000; do
  editcap -r "$hdr96" "$tmp/prefix.pcap" "1-$k" 2>/dev/null
  echo "| first $(python3 -c "print(f'{$k:,}')") | $(rss "$tl" conns "$tmp/prefix.pcap") | $(rss "$tl" diagnose "$tmp/prefix.pcap") | $(rss "$tl" "$tmp/prefix.pcap") |"
done
rm -f "$tmp/prefix.pcap"
echo "| all $(packets "$hdr96" | python3 -c 'print(f"{int(input()):,}")') | $(rss "$tl" conns "$hdr96") | $(rss "$tl" diagnose "$hdr96") | $(rss "$tl" "$hdr96") |"

echo
echo "## A flood of 1,000,000 SYNs from 1,000,000 sources (scripts/make-synflood.py; time and max RSS of one run)"
echo
python3 "$here/scripts/make-synflood.py" 1000000 "$tmp/syn1M.pcap"
echo "| command | time | max RSS |"
echo "| --- | ---: | ---: |"
for cmd in "conns" "conns --json" "diagnose" "report -o $tmp/page.html"; do
  /usr/bin/time -f '%e %M' "$tl" $cmd "$tmp/syn1M.pcap" 2>"$tmp/t" >/dev/null || true
  read -r secs kib < <(tail -1 "$tmp/t")
  echo "| tcplens ${cmd%% -o*} | ${secs} s | $((kib / 1024)) MiB |"
done
