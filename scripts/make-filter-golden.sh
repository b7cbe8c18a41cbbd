#!/usr/bin/env bash
# Reruns tcpdump on every test capture with every expression of
# internal/bpf's differential table and rewrites
# internal/bpf/testdata/tcpdump-matches.txt, the frames tcpdump accepts,
# which TestFilterMatchesTcpdump holds tcplens to where tcpdump is missing.
# Needs tcpdump (4.99 with libpcap 1.10 made the committed file).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tcpdump --version 2>&1 | head -2
go test ./internal/bpf -run '^TestFilterMatchesTcpdump$' -count 1 -timeout 60m -update "$@"
