#!/usr/bin/env bash
# memory.sh [N] : peak RSS and wall time of syndiag on issue 12's synthetic
# captures (testdata/bench/synth: spoofed SYNs, SYNs answered and never
# ACKed, healthy handshakes, reused 4-tuples), N handshakes each (default
# 1,000,000), in every --format and under triage --jobs 2. The captures are
# written to $WORK (default a temporary folder, removed afterwards) and never
# committed: 10 M spoofed SYNs are about 900 MB.
#
# Env: SYNDIAG (binary; default: built from this clone), WORK, KINDS, FORMATS.
set -euo pipefail
N=${1:-1000000}
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TIME=/usr/bin/time
"$TIME" -v true >/dev/null 2>&1 || apt-get install -y time >/dev/null 2>&1 || { echo "need GNU time at $TIME" >&2; exit 2; }
WORK=${WORK:-$(mktemp -d /tmp/syndiag-mem.XXXXXX)}
KEEP=${WORK_KEEP:-}
trap '[[ -n $KEEP ]] || rm -rf "$WORK"' EXIT
SYNDIAG=${SYNDIAG:-$WORK/syndiag}
[[ -x $SYNDIAG ]] || (cd "$DIR" && go build -o "$SYNDIAG" ./cmd/syndiag)
(cd "$DIR" && go build -o "$WORK/synth" ./testdata/bench/synth)
KINDS=${KINDS:-spoofed halfopen healthy reuse}
FORMATS=${FORMATS:-table json markdown html}
printf '%-9s %-10s %10s %12s %9s\n' kind format handshakes "peak RSS MB" "wall s"
measure() { # label... -- command
  local kind=$1 what=$2; shift 2
  "$TIME" -f '%M %e' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || true
  read -r kb secs <"$WORK/time"
  printf '%-9s %-10s %10d %12.0f %9s\n' "$kind" "$what" "$N" "$((kb / 1024))" "$secs"
}
for kind in $KINDS; do
  f=$WORK/$kind.pcap
  "$WORK/synth" -kind "$kind" -n "$N" -out "$f"
  for fmt in $FORMATS; do
    measure "$kind" "$fmt" "$SYNDIAG" analyze --format "$fmt" --progress never "$f"
  done
  mkdir -p "$WORK/tri-$kind" && ln -sf "$f" "$WORK/tri-$kind/$kind.pcap"
  measure "$kind" "triage-j2" "$SYNDIAG" triage --jobs 2 --format jsonl --progress never "$WORK/tri-$kind"
  rm -f "$f"
done
