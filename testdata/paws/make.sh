#!/bin/sh
# Regenerates every file of this folder except KERNEL.md and make.sh: the
# per-host PAWS captures, truth.tsv and README.md. The output depends only on
# the generator's flags (defaults: -seed 7 -syn-retries 6 -duration 180), so
# a re-run rewrites the same bytes; go test ./testdata/paws/gen checks that.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
go run ./testdata/paws/gen -out "$here" "$@"
