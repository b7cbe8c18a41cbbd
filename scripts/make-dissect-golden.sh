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
#
# And for each link-type capture L of testdata/links, testdata/tshark-link/
# L.tsv: the same comment and header, then per frame the fields of its link
# layer that tshark decodes (the list below), every occurrence joined by ';'
# (an MPLS stack's labels): internal/dissect's TestLinkFieldsMatchTshark
# compares them with the fields of dissect.Frame's link layers.
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

# The link-layer fields of each link-type capture: capture, then fields.
linkout="$here/testdata/tshark-link"
mkdir -p "$linkout"
while read -r name fields; do
  [ -n "$name" ] || continue
  args=()
  for f in $fields; do args+=(-e "$f"); done
  {
    printf '# %s\n' "$version"
    tshark -n -r "$here/testdata/links/$name" -T fields -E header=y -E separator=/t \
      -E occurrence=a -E aggregator=';' -E quote=n -e frame.number "${args[@]}" 2> "$tmp/err"
  } > "$linkout/$name.tsv"
  if grep -v '^Running as user' "$tmp/err" | grep -q .; then
    echo "make-dissect-golden.sh: $name: tshark said:" >&2
    grep -v '^Running as user' "$tmp/err" | sed 's/^/    /' >&2
  fi
done <<'FIELDS'
link-ethernet-llc-snap.pcap eth.len vlan.id llc.dsap llc.ssap llc.control llc.oui llc.type
link-ethernet-mpls.pcap vlan.id mpls.label mpls.exp mpls.bottom mpls.ttl
link-ethernet-pppoe.pcap pppoe.version pppoe.type pppoe.code pppoe.session_id pppoe.payload_length ppp.protocol
link-pppoe.pcap pppoe.version pppoe.type pppoe.code pppoe.session_id pppoe.payload_length ppp.protocol
link-ppp.pcap ppp.address ppp.control ppp.protocol
link-ppp-hdlc.pcap ppp.address ppp.control ppp.protocol chdlc.address chdlc.protocol
link-chdlc.pcap chdlc.address chdlc.protocol
link-fddi.pcap fddi.fc fddi.dst fddi.src llc.dsap llc.type
link-token-ring.pcap tr.ac tr.fc tr.dst tr.src tr.rif_bytes llc.type
link-ieee802-11.pcap wlan.fc.ds wlan.duration wlan.ra wlan.ta wlan.da wlan.sa wlan.seq llc.type
link-ieee802-11-radiotap.pcap radiotap.length radiotap.flags radiotap.channel.freq radiotap.dbm_antsignal wlan.seq llc.type
link-ieee802-11-prism.pcap prism.msgcode prism.msglen prism.devname wlan.seq
link-ieee802-11-avs.pcap wlancap.length wlancap.phytype wlancap.antenna wlancap.ssi_type wlan.seq
link-pflog.pcap pflog.length pflog.af pflog.action pflog.reason pflog.ifname pflog.ruleset pflog.rulenr pflog.subrulenr pflog.dir
link-enc.pcap enc.af enc.spi enc.flags
link-ipnet.pcap ipnet.version ipnet.family ipnet.htype ipnet.pktlen ipnet.ifindex ipnet.grifindex ipnet.zsrc ipnet.zdst
link-nflog.pcap nflog.family nflog.version nflog.res_id nflog.prefix
link-juniper-ether.pcap juniper.magic-number juniper.ext_total_len eth.dst eth.src
link-netanalyzer.pcap netanalyzer.port netanalyzer.framelen eth.dst eth.src
link-frelay.pcap fr.dlci fr.nlpid
link-ipfc.pcap llc.dsap llc.type
link-sunatm.pcap atm.vpi atm.vci llc.type
link-ap1394.pcap ap1394.type
link-ipoib.pcap ipoib.type
link-loop.pcap null.family
link-sll-encap.pcap sll.pkttype sll.hatype sll.halen vlan.id mpls.label pppoe.session_id llc.type
link-sll2-encap.pcap sll.pkttype sll.hatype sll.halen sll.ifindex vlan.id mpls.label pppoe.session_id llc.type
FIELDS
echo "make-dissect-golden.sh: wrote $(ls "$linkout" | wc -l) files to testdata/tshark-link/" >&2
