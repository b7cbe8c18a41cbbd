#!/usr/bin/env bash
# Writes tcplens's man pages (one per command, from the commands' own
# help, with cobra/doc) to DIR (default: ./man). The binary carries none.
#   scripts/make-man.sh [DIR] && man -l man/tcplens-read.1
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="$(realpath -m "${1:-man}")"
go test ./internal/cli -run '^TestManPages$' -count 1 -man "$dir"
echo "man pages in $dir"
