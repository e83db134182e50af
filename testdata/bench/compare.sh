#!/usr/bin/env bash
# compare.sh FILE.pcap
#
# Whole-process wall time and peak RSS (GNU /usr/bin/time -v) of syndiag and
# reference tools on the same capture, in the same run, all reading from the
# page cache:
#   syndiag analyze FILE --format json            (binary: $SYNDIAG, default
#                                                  `syndiag` on PATH; skipped
#                                                  with a message if missing)
#   tcpdump -r FILE -w /dev/null 'tcp[tcpflags] & (tcp-syn|tcp-rst) != 0'
#   tshark -r FILE -Y 'tcp.flags.syn==1' -T fields -e frame.number
#   zcat FILE.gz                                  (FILE.gz made with gzip -1 -k
#   syndiag analyze FILE.gz --format json          if absent/stale; skipped if the
#                                                  disk is short)
# Every command's stdout goes to /dev/null. MB/s is always the size of the
# uncompressed FILE divided by the wall time (so .gz rows compare directly);
# packets/s uses the packet count from capinfos.
#
# Env: SYNDIAG (binary), RUNS (runs per command, best wall time kept, default
# 1), SKIP_TSHARK=1 (tshark is slow: minutes on a 15M-packet file), NO_GZ=1.
set -uo pipefail

FILE=${1:?usage: compare.sh FILE.pcap}
[[ -r $FILE ]] || { echo "cannot read $FILE" >&2; exit 2; }
SYNDIAG=${SYNDIAG:-syndiag}
RUNS=${RUNS:-1}
TIME=/usr/bin/time
if ! "$TIME" -v true >/dev/null 2>&1; then
  echo "GNU time missing: installing the 'time' package" >&2
  apt-get install -y time >/dev/null 2>&1 || { echo "need GNU time at $TIME (apt-get install -y time)" >&2; exit 2; }
fi
for t in capinfos tcpdump tshark gzip zcat; do
  command -v "$t" >/dev/null || echo "note: $t not found; its rows will be skipped" >&2
done

have_syndiag=1
if ! command -v "$SYNDIAG" >/dev/null 2>&1; then
  have_syndiag=0
  echo "note: syndiag binary '$SYNDIAG' not found (set SYNDIAG=/path/to/syndiag): skipping syndiag rows" >&2
fi

size=$(stat -c %s "$FILE")
echo "warming the page cache with $FILE ($(( size / 1000000 )) MB)..." >&2
cat "$FILE" > /dev/null
packets=$(capinfos -c -M "$FILE" 2>/dev/null | awk '/Number of packets/{print $NF}')
if [[ -z $packets ]]; then
  packets=$(tcpdump -nn -r "$FILE" 2>/dev/null | wc -l)
fi

GZ="$FILE.gz"
use_gz=0
if [[ ${NO_GZ:-0} != 1 ]] && command -v gzip >/dev/null; then
  if [[ -r $GZ && ! $FILE -nt $GZ ]]; then
    use_gz=1
  else
    avail=$(df -PB1 "$(dirname "$GZ")" | awk 'NR==2{print $4}')
    # gzip -1 of a snaplen-96 capture is well under half the size; keep 1 GB spare.
    if (( avail > size / 2 + 1000000000 )); then
      echo "creating $GZ (gzip -1 -k)..." >&2
      rm -f "$GZ"   # absent, or older than FILE
      if gzip -1 -k "$FILE"; then use_gz=1; else rm -f "$GZ"; fi
    else
      echo "note: not enough free disk for $GZ: skipping gzip rows" >&2
    fi
  fi
  if (( use_gz )); then cat "$GZ" > /dev/null; fi
fi

TMPT=$(mktemp /tmp/sdb-compare.XXXXXX)
trap 'rm -f "$TMPT"' EXIT
ROWS=()

# run_case LABEL CMD... : stdout of CMD goes to /dev/null.
run_case() {
  local label=$1; shift
  local best="" rss=0 status=0 r s m e t0 t1
  for (( r = 0; r < RUNS; r++ )); do
    # wall time taken here in ns (time -v only resolves 10 ms); RSS from time -v
    t0=$(date +%s%N)
    "$TIME" -v -o "$TMPT" "$@" > /dev/null 2>/dev/null
    t1=$(date +%s%N)
    e=$(awk -F': ' '/Exit status/{print $2}' "$TMPT")
    [[ ${e:-1} == 0 ]] || status=${e:-1}
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
    m=$(awk -F': ' '/Maximum resident set size/{print $2}' "$TMPT")
    if [[ -z $best ]] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; fi
    (( m > rss )) && rss=$m
  done
  local note=""
  (( status != 0 )) && note="  (exit status $status)"
  ROWS+=("$(awk -v l="$label" -v s="$best" -v p="$packets" -v z="$size" -v k="$rss" -v n="$note" 'BEGIN{
    if (s <= 0) s = 0.001
    printf "%-44s %9.3f %12.0f %9.1f %10.1f%s", l, s, p/s, z/1e6/s, k/1024, n }')")
  echo "done: $label (${best}s)" >&2
}

skip_row() { ROWS+=("$(printf '%-44s %s' "$1" "skipped: $2")"); }

if (( have_syndiag )); then
  run_case "syndiag analyze --format json" "$SYNDIAG" analyze "$FILE" --format json
else
  skip_row "syndiag analyze --format json" "no syndiag binary"
fi
run_case "tcpdump -r -w /dev/null 'syn|rst'" tcpdump -r "$FILE" -w /dev/null 'tcp[tcpflags] & (tcp-syn|tcp-rst) != 0'
if [[ ${SKIP_TSHARK:-0} == 1 ]]; then
  skip_row "tshark -Y tcp.flags.syn==1 -T fields" "SKIP_TSHARK=1"
else
  run_case "tshark -Y tcp.flags.syn==1 -T fields" tshark -r "$FILE" -Y 'tcp.flags.syn==1' -T fields -e frame.number
fi
if (( use_gz )); then
  run_case "zcat FILE.gz" zcat "$GZ"
  if (( have_syndiag )); then
    run_case "syndiag analyze FILE.gz --format json" "$SYNDIAG" analyze "$GZ" --format json
  else
    skip_row "syndiag analyze FILE.gz --format json" "no syndiag binary"
  fi
else
  skip_row "zcat FILE.gz" "no FILE.gz"
  skip_row "syndiag analyze FILE.gz --format json" "no FILE.gz"
fi

echo
echo "file: $FILE  ($(( size / 1000000 )) MB, $packets packets$( (( use_gz )) && echo ", .gz $(( $(stat -c %s "$GZ") / 1000000 )) MB"))  runs per command: $RUNS"
printf '%-44s %9s %12s %9s %10s\n' "command" "seconds" "packets/s" "MB/s" "peakRSS_MB"
for r in "${ROWS[@]}"; do echo "$r"; done
