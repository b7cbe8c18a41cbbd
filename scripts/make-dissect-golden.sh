#!/usr/bin/env bash
# make-dissect-golden.sh - regenerate testdata/tshark-checksum/ with the local
# tshark (the committed files came from TShark (Wireshark) 4.0.17, Debian 12).
#
# Usage: scripts/make-dissect-golden.sh
#
# For each capture C in the list below (a .gz is decompressed to a temporary
# file first), writes testdata/tshark-checksum/C.tsv (C without .gz): a
# comment line naming the tshark version, a header line, then one
# tab-separated line per frame: frame.number, ip.checksum.status and
# tcp.checksum.status, as numbers (0 bad, 1 good, 2 unverified; empty when
# the frame has no such header). internal/dissect's TestChecksumsMatchTshark
# compares them with the verdicts of dissect.Frame, frame by frame.
#
# Checksum verification is on for IPv4 and TCP, and IP reassembly is off, so
# that tshark dissects the first fragment of a datagram as TCP in its own
# frame, as tcplens does. An empty WIRESHARK_CONFIG_DIR keeps the user's
# preferences out of the output. The first occurrence of a field is kept
# (the outer header of an ICMP error).
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caps="$here/testdata/captures"
out="$here/testdata/tshark-checksum"
command -v tshark >/dev/null || { echo "make-dissect-golden.sh: tshark not found" >&2; exit 1; }
export LC_ALL=C TZ=UTC
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/config"
export WIRESHARK_CONFIG_DIR="$tmp/config"

# A handful of captures that between them hold every checksum case:
# correct, corrupted, all-zero (offload), sent by the capturing host (SLL
# outgoing), Linux loopback's partial sums, TSO with IP length 0, truncated
# by the snaplen, IP fragments, IPv6 with extension headers, BSD loopback,
# VLAN tags, MPTCP and TFO.
captures="
gopacket-linux_sll_oversized_addr.pcapng
gopacket-test_loopback.pcap
lwerdna-simple_http_sll2.pcap
suri-tcp-fastopen-10-syn-data-ignore.pcap
tcpdump-bigtcp-ipv4.pcap
tcpdump-mptcp-v1.pcap
tcpdump-tcp_rst_data-trunc.pcap
zeek-http-get.pcap
zeek-http-qinq-0.pcap
zeek-ipv4-fragmented-4.pcap
zeek-ipv4-fragmented-syn.pcap
zeek-ipv6-http-atomic-frag.pcap
zeek-tcp-retransmit-fast009.pcap
zeek-tcp-tcp-fast-open.pcap
zeek-tcp-truncated-header.pcap
gopacket-test301.pcapng.gz
"

version="$(tshark --version 2>/dev/null | head -1)"
for c in $captures; do
  name="$(basename "$c" .gz)"
  case "$c" in
    *.gz) gzip -dc "$caps/$c" > "$tmp/cap"; f="$tmp/cap" ;;
    *) f="$caps/$c" ;;
  esac
  {
    printf '# %s -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o ip.defragment:FALSE -o ipv6.defragment:FALSE\n' "$version"
    tshark -n -r "$f" \
      -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
      -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
      -T fields -E header=y -E separator=/t -E occurrence=f -E quote=n \
      -e frame.number -e ip.checksum.status -e tcp.checksum.status 2> "$tmp/err"
  } > "$out/$name.tsv"
  if grep -v '^Running as user' "$tmp/err" | grep -q .; then
    echo "make-dissect-golden.sh: $name: tshark said:" >&2
    grep -v '^Running as user' "$tmp/err" | sed 's/^/    /' >&2
  fi
done
echo "make-dissect-golden.sh: wrote $(ls "$out" | wc -l) files to testdata/tshark-checksum/ with $version" >&2
