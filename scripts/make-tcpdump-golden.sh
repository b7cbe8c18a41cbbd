#!/usr/bin/env bash
# make-tcpdump-golden.sh - regenerate testdata/tcpdump/ from the captures in
# testdata/captures/ with the local tcpdump (the committed files came from
# tcpdump 4.99.3 / libpcap 1.10.3, Debian 12).
#
# Usage: scripts/make-tcpdump-golden.sh
#
# Writes, for every capture C (a .gz is decompressed first):
#   testdata/tcpdump/C.txt          tcpdump -nn -tt -r C FILTER
# where FILTER is "tcp" extended through up to three VLAN tags (plain "tcp"
# on link types without VLANs), because tcplens also prints tagged frames;
# and for every link-type capture L of testdata/links/ (made by
# scripts/linkcaps, only TCP in them, in link layers the "tcp" filter does
# not look through: MPLS, PPPoE, LLC, 802.11):
#   testdata/tcpdump/L.txt          tcpdump -nn -tt -r L
# And the variants the tests check, listed in testdata/tcpdump/VARIANTS:
#   other timestamp formats and time zones, -S, --nano;
#   C.resync.txt for the two captures with a corrupt record header: tcpdump
#     -S on the frames before the corrupt header, followed by tcpdump -S on a
#     file made of the pcap header and the bytes from the offset where
#     tcplens resumes; tcpdump reading that second file to its end without
#     complaint shows the resume point is a true record boundary;
#   zeek-ipv6-http-atomic-frag.pcap.protochain.txt: tcpdump with the filter
#     "tcp or ip6 protochain 6", which follows IPv6 extension headers;
#   zeek-ldap-gap-data-missing.pcapng.extracted.txt: tcpdump on the TCP frames
#     of that file rewritten as a classic pcap (libpcap refuses pcapng files
#     whose interfaces have different link types; tcplens reads them).
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caps="$here/testdata/captures"
out="$here/testdata/tcpdump"
command -v tcpdump >/dev/null || { echo "make-tcpdump-golden.sh: tcpdump not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "make-tcpdump-golden.sh: python3 not found" >&2; exit 1; }
export LC_ALL=C TZ=UTC
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
filter='tcp or (vlan and (tcp or (vlan and (tcp or (vlan and tcp)))))'

# plain CAPFILE: decompressed copy of a testdata capture
plain() {
  case "$1" in
    *.gz) gzip -dc "$1" > "$tmp/cap" ;;
    *) cp "$1" "$tmp/cap" ;;
  esac
}

# run_tcpdump FILE ARGS...: tcpdump with the VLAN-extended filter, or plain
# "tcp" where the link type has no VLANs.
run_tcpdump() {
  local f="$1"; shift
  if ! tcpdump "$@" -r "$f" "$filter" 2> "$tmp/err"; then
    if grep -qi vlan "$tmp/err"; then
      tcpdump "$@" -r "$f" tcp 2>/dev/null || true
    fi
  fi
}

for c in "$caps"/*; do
  name="$(basename "$c" .gz)"
  plain "$c"
  run_tcpdump "$tmp/cap" -nn -tt > "$out/$name.txt"
done

for c in "$here"/testdata/links/*.pcap; do
  tcpdump -nn -tt -r "$c" > "$out/$(basename "$c").txt" 2>/dev/null
done

# Variants: file, tcplens/tcpdump flags, time zone.
cat > "$out/VARIANTS" <<'EOF'
# capture	flags	TZ	(each gives testdata/tcpdump/CAPTURE.VARIANT.txt; VARIANT is the flags without dashes and spaces, plus the zone)
zeek-tcp-retransmit-fast009.pcap	-nn	America/New_York
zeek-tcp-retransmit-fast009.pcap	-nn	Asia/Kolkata
zeek-tcp-retransmit-fast009.pcap	-nn -t	UTC
zeek-tcp-retransmit-fast009.pcap	-nn -ttt	UTC
zeek-tcp-retransmit-fast009.pcap	-nn -tttt	Europe/Berlin
zeek-tcp-retransmit-fast009.pcap	-nn -ttttt	UTC
zeek-tcp-retransmit-fast009.pcap	-nn -tt -S	UTC
suri-bug-4376-syn_retransmit_with_ts.pcap	-nn -tt -S	UTC
tcpdump-tcp-handshake-nano.pcap	-nn -tt --nano	UTC
tcpdump-tcp-handshake-nano.pcap	-nn -ttt --nano	UTC
zeek-ftp-ipv6.pcap	-nn -tttt	America/New_York
EOF
grep -v '^#' "$out/VARIANTS" | while IFS=$'\t' read -r name flags zone; do
  c="$caps/$name"; [ -f "$c" ] || c="$c.gz"
  plain "$c"
  variant="$(printf '%s' "$flags" | tr -d ' -').$(printf '%s' "$zone" | tr '/' '-')"
  # shellcheck disable=SC2086
  TZ="$zone" run_tcpdump "$tmp/cap" $flags > "$out/$name.$variant.txt"
done

# Resynchronisation checks: capture, offset of the corrupt record header,
# offset where the next true record starts.
resync() {
  local name="$1" bad="$2" resume="$3"
  plain "$caps/$name"
  tcpdump -nn -tt -S -r "$tmp/cap" tcp 2>/dev/null > "$out/$name.resync.txt" || true
  { head -c 24 "$tmp/cap"; tail -c +"$((resume + 1))" "$tmp/cap"; } > "$tmp/rest"
  if ! tcpdump -nn -tt -S -r "$tmp/rest" tcp >> "$out/$name.resync.txt" 2> "$tmp/err"; then
    echo "make-tcpdump-golden.sh: $name: tcpdump cannot read from offset $resume:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
  : "$bad"
}
resync suri-bug-1450-04-tls_DER-incomplete-header.pcap 5035 5033
resync suri-smtp-to-comma.pcap 3695 3698

# TCP behind IPv6 extension headers: libpcap's "ip6 protochain" walks them.
plain "$caps/zeek-ipv6-http-atomic-frag.pcap"
tcpdump -nn -tt -r "$tmp/cap" 'tcp or ip6 protochain 6' 2>/dev/null > "$out/zeek-ipv6-http-atomic-frag.pcap.protochain.txt"

# The TCP frames of a pcapng with mixed link types, as a classic pcap.
plain "$caps/zeek-ldap-gap-data-missing.pcapng"
python3 - "$tmp/cap" "$tmp/extracted.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out, ifaces, link, off, order = [], [], None, 0, "<"
while off + 12 <= len(data):
    typ = struct.unpack_from("<I", data, off)[0]
    if typ == 0x0A0D0D0A:
        order = "<" if struct.unpack_from("<I", data, off + 8)[0] == 0x1A2B3C4D else ">"
        ifaces = []
    typ, blen = struct.unpack_from(order + "II", data, off)
    body = data[off + 8: off + blen - 4]
    if typ == 1:
        lt, units, o = struct.unpack_from(order + "H", body, 0)[0], 10**6, 8
        while o + 4 <= len(body):
            code, n = struct.unpack_from(order + "HH", body, o)
            if code == 0:
                break
            if code == 9 and n == 1:
                r = body[o + 4]
                units = 2 ** (r & 0x7f) if r & 0x80 else 10 ** r
            o += 4 + (n + 3) // 4 * 4
        ifaces.append((lt, units))
    elif typ == 6:
        ifid, hi, lo, caplen, wlen = struct.unpack_from(order + "IIIII", body, 0)
        pkt = body[20:20 + caplen]
        lt, units = ifaces[ifid]
        if lt != 1 or len(pkt) < 14:
            off += blen
            continue
        e, et = 12, pkt[12:14]
        while et in (b"\x81\x00", b"\x88\xa8") and len(pkt) >= e + 6:
            e += 4
            et = pkt[e:e + 2]
        ip = e + 2
        if (et == b"\x08\x00" and len(pkt) > ip + 9 and pkt[ip + 9] == 6) or \
           (et == b"\x86\xdd" and len(pkt) > ip + 6 and pkt[ip + 6] == 6):
            t = (hi << 32) | lo
            sec, frac = divmod(t, units)
            out.append(struct.pack("<IIII", sec, frac * 10**6 // units, caplen, wlen) + pkt)
            link = lt
    off += blen
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, link))
    for rec in out:
        f.write(rec)
PY
run_tcpdump "$tmp/extracted.pcap" -nn -tt > "$out/zeek-ldap-gap-data-missing.pcapng.extracted.txt"

echo "make-tcpdump-golden.sh: wrote $(ls "$out" | wc -l) files to testdata/tcpdump/ with $(tcpdump --version 2>&1 | head -1)" >&2
