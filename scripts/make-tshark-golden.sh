#!/usr/bin/env bash
# make-tshark-golden.sh - regenerate testdata/tshark/ from the captures in
# testdata/captures/ with the local tshark. The committed files came from
# TShark (Wireshark) 4.0.17 (Debian 12 package 4.0.17-0+deb12u3).
#
# Usage: scripts/make-tshark-golden.sh
#
# Writes, for every capture C of testdata/captures (a .gz is decompressed
# to a temporary file first) and of testdata/links, testdata/tshark/C.tsv
# (C without .gz): one header line, then one
# tab-separated line per frame tshark dissects as TCP (-Y tcp), with the
# fields that internal/wire's TestMatchesTshark compares against
# wire.Decode. A field that occurs more than once (the inner header of an
# ICMP error, several SACK blocks, the option kinds) has its values joined
# by ';'. Sequence numbers are raw (relative numbering and sequence
# analysis off); an empty WIRESHARK_CONFIG_DIR keeps the user's preferences
# out, and LC_ALL=C TZ=UTC the locale and zone.
#
# tshark gives up at a corrupt or cut-short record, where tcplens's pcap
# reader resynchronises or reports the cut; the rows before it are kept and
# a last line "# tshark stopped after frame N: MESSAGE" records where.
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caps="$here/testdata/captures"
out="$here/testdata/tshark"
command -v tshark >/dev/null || { echo "make-tshark-golden.sh: tshark not found" >&2; exit 1; }
export LC_ALL=C TZ=UTC
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/config"
export WIRESHARK_CONFIG_DIR="$tmp/config"

fields="frame.number ip.src ip.dst ipv6.src ipv6.dst ip.ttl ipv6.hlim ip.id
ip.dsfield.ecn tcp.srcport tcp.dstport tcp.seq_raw tcp.ack_raw tcp.flags
tcp.len tcp.hdr_len tcp.window_size_value tcp.urgent_pointer tcp.checksum
tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm
tcp.options.sack_le tcp.options.sack_re tcp.options.timestamp.tsval
tcp.options.timestamp.tsecr tcp.option_kind"
args=()
for f in $fields; do args+=(-e "$f"); done

for c in "$caps"/* "$here"/testdata/links/*; do
  name="$(basename "$c" .gz)"
  case "$c" in
    *.gz) gzip -dc "$c" > "$tmp/cap"; f="$tmp/cap" ;;
    *) f="$c" ;;
  esac
  if ! tshark -n -r "$f" -Y tcp \
    -o tcp.relative_sequence_numbers:FALSE \
    -o tcp.analyze_sequence_numbers:FALSE \
    -T fields -E header=y -E separator=/t -E occurrence=a \
    -E aggregator=';' -E quote=n "${args[@]}" > "$out/$name.tsv" 2> "$tmp/err"; then
    msg="$(grep -v '^Running as user' "$tmp/err" | sed "s|$f|$name|" | tr '\n' ' ' | sed 's/ *$//')"
    [ -n "$msg" ] || { echo "make-tshark-golden.sh: $name: tshark failed" >&2; cat "$tmp/err" >&2; exit 1; }
    last="$(tshark -n -r "$f" -T fields -e frame.number 2>/dev/null | tail -1 || true)"
    printf '# tshark stopped after frame %s: %s\n' "${last:-0}" "$msg" >> "$out/$name.tsv"
    echo "make-tshark-golden.sh: $name: $msg (after frame ${last:-0})" >&2
  elif grep -v '^Running as user' "$tmp/err" | grep -q .; then
    echo "make-tshark-golden.sh: $name: tshark said:" >&2
    grep -v '^Running as user' "$tmp/err" | sed 's/^/    /' >&2
  fi
done
echo "make-tshark-golden.sh: wrote $(ls "$out" | wc -l) files to testdata/tshark/ with $(tshark --version 2>/dev/null | head -1)" >&2
