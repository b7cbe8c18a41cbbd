#!/usr/bin/env bash
# make-tshark-analysis-golden.sh - regenerate testdata/tshark-analysis/ with
# the local tshark (the committed files came from TShark 4.0.17, Debian 12).
#
# For every capture in testdata/captures/ (a .gz is decompressed first) it
# writes testdata/tshark-analysis/C.tsv, for every capture of real Linux
# traffic in testdata/kernel/ testdata/tshark-analysis/kernel/C.tsv, and for
# the benchmark captures of testdata/kernel/bench/ tshark-analysis/bench/C.tsv:
# tshark's TCP sequence analysis,
# one row per TCP frame, with a header row: frame.number tcp.stream
# tcp.seq tcp.ack tcp.window_size tcp.window_size_scalefactor and every
# tcp.analysis field tcplens compares with. The preferences are pinned
# (relative sequence numbers, sequence analysis, bytes in flight) and the
# configuration directory is empty, so personal settings cannot change the
# result; tshark runs single-pass, as a first read in Wireshark does.
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caps="$here/testdata/captures"
out="$here/testdata/tshark-analysis"
command -v tshark >/dev/null || { echo "make-tshark-analysis-golden.sh: tshark not found" >&2; exit 1; }
export LC_ALL=C TZ=UTC
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export WIRESHARK_CONFIG_DIR="$tmp/cfg"
mkdir -p "$out" "$out/kernel" "$out/bench" "$WIRESHARK_CONFIG_DIR"
fields=(
  frame.number tcp.stream tcp.seq tcp.ack tcp.window_size tcp.window_size_scalefactor
  tcp.analysis.retransmission tcp.analysis.fast_retransmission tcp.analysis.spurious_retransmission
  tcp.analysis.out_of_order tcp.analysis.lost_segment tcp.analysis.ack_lost_segment
  tcp.analysis.duplicate_ack_num tcp.analysis.duplicate_ack_frame
  tcp.analysis.zero_window tcp.analysis.zero_window_probe tcp.analysis.zero_window_probe_ack
  tcp.analysis.window_update tcp.analysis.window_full tcp.analysis.keep_alive tcp.analysis.keep_alive_ack
  tcp.analysis.reused_ports tcp.analysis.ack_rtt tcp.analysis.acks_frame tcp.analysis.initial_rtt
  tcp.analysis.bytes_in_flight
)
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done
n=0
for c in "$caps"/* "$here"/testdata/kernel/*.pcap "$here"/testdata/kernel/bench/*.pcap; do
  name="$(basename "$c" .gz)"
  dst="$out/$name.tsv"
  case "$c" in
    "$here"/testdata/kernel/bench/*) dst="$out/bench/$name.tsv" ;;
    "$here"/testdata/kernel/*) dst="$out/kernel/$name.tsv" ;;
  esac
  case "$c" in
    *.gz) gzip -dc "$c" > "$tmp/cap" ;;
    *) cp "$c" "$tmp/cap" ;;
  esac
  tshark -n -r "$tmp/cap" \
    -o tcp.analyze_sequence_numbers:TRUE -o tcp.relative_sequence_numbers:TRUE \
    -o tcp.track_bytes_in_flight:TRUE -o tcp.calculate_timestamps:TRUE \
    -Y tcp -T fields -E header=y -E separator=/t -E occurrence=f -E quote=n \
    "${args[@]}" > "$dst" 2> "$tmp/err" || true
  if grep -q -v -e '^Running as user' "$tmp/err"; then
    # The temporary file's name would change the golden on every run.
    grep -v -e '^Running as user' "$tmp/err" | sed -e "s|$tmp/cap|$name|g" -e "s/^/# tshark: /" >> "$dst"
  fi
  n=$((n + 1))
done
echo "make-tshark-analysis-golden.sh: wrote $n files with $(tshark --version 2>/dev/null | head -1)" >&2
