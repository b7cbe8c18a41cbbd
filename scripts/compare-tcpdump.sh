#!/usr/bin/env bash
# compare-tcpdump.sh - compare `tcplens read` with tcpdump on capture files.
#
# Usage: scripts/compare-tcpdump.sh [-v] CAPTURE...
#
# For each capture, runs `tcpdump -nn -tt -r CAPTURE FILTER` and
# `tcplens read -tt CAPTURE` and compares them line by line, after cutting
# tcpdump's lines after "length N" (what its application-protocol printers
# add is out of scope). FILTER is tcpdump's "tcp" extended through up to
# three VLAN tags, because tcplens prints tagged frames and plain "tcp" does
# not match them. Prints one line per capture: "same N", or "DIFF" with the
# first differing lines (all of them with -v). Exits 1 if any capture differs.
# Needs tcpdump in PATH and builds tcplens from this checkout.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
verbose=0
if [ "${1:-}" = "-v" ]; then verbose=1; shift; fi
command -v tcpdump >/dev/null || { echo "compare-tcpdump.sh: tcpdump not found" >&2; exit 2; }
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
(cd "$here" && go build -o "$bin/tcplens" ./cmd/tcplens) || exit 2
filter='tcp or (vlan and (tcp or (vlan and (tcp or (vlan and tcp)))))'
export TZ=UTC LC_ALL=C
status=0
for c in "$@"; do
  name="$(basename "$c")"
  case "$c" in
    *.gz) gzip -dc "$c" > "$bin/cap" ;;
    *)    cp "$c" "$bin/cap" ;;
  esac
  # The vlan keyword is an error on link types without VLANs: plain "tcp" there.
  if ! tcpdump -nn -tt -r "$bin/cap" "$filter" > "$bin/raw" 2> "$bin/err" &&
     grep -q -i "vlan" "$bin/err"; then
    tcpdump -nn -tt -r "$bin/cap" tcp > "$bin/raw" 2>/dev/null
  fi
  sed -E 's/^(.*Flags \[[^]]*\].*, length [0-9]+).*$/\1/' "$bin/raw" > "$bin/want"
  "$bin/tcplens" read -tt "$c" > "$bin/got" 2>/dev/null
  if cmp -s "$bin/want" "$bin/got"; then
    echo "same $(wc -l < "$bin/got") $name"
  else
    status=1
    echo "DIFF $name (tcpdump $(wc -l < "$bin/want") lines, tcplens $(wc -l < "$bin/got"))"
    if [ $verbose = 1 ]; then
      diff "$bin/want" "$bin/got" | sed 's/^/    /'
    else
      diff "$bin/want" "$bin/got" | head -6 | sed 's/^/    /'
    fi
  fi
done
exit $status
