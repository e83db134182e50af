#!/usr/bin/env bash
# make-large.sh OUT.pcap [PACKETS]
#
# Builds a large classic pcap (Ethernet, microsecond timestamps, snaplen 96)
# for whole-process benchmarks of syndiag. Default: 15,000,000 packets into
# /tmp/syndiag-large.pcap (~1.7 GB). The capture is never committed.
#
# Path 1 (normal): real kernel traffic. Two network namespaces (sdb-cli,
# sdb-srv) joined by a veth pair with TSO/GSO/GRO and tx checksum offload off
# on both ends, so every packet on the wire is MTU-sized (the count is real)
# and carries a valid checksum. tcpdump -s 96 -B 262144 -c PACKETS captures in
# sdb-srv while:
#   phase 1: a rate-limited bulk stream runs alongside
#            - tens of thousands of short connect/send/recv/close connections,
#            - connections to a closed port (SYN -> RST),
#            - connections whose SYNs are all dropped by iptables in sdb-srv
#              (retransmitted SYNs, never answered),
#            - connections whose SYNs are dropped with probability 0.5
#              (retransmitted SYNs that then succeed);
#   phase 2: two full-speed bulk streams until tcpdump has PACKETS packets
#            (tcpdump -c stops by itself).
# tcpdump may drop packets under load (it reports how many); that is fine.
#
# Path 2 (fallback): if the real-kernel capture has not reached PACKETS within
# SDB_MAX_SECONDS (default 600), the partial capture becomes a sample and
# replicate/main.go writes copies of it with timestamps shifted forward each
# copy and the client addresses moved to a fresh 198.18/15 /24 per copy, so the
# result still reads as one continuous capture with distinct connections.
# SDB_FORCE_REPLICATE=N forces path 2 with an N-packet real sample.
#
# Needs root, iproute2, ethtool, iptables, tcpdump, capinfos, python3, go.
# Only namespaces named sdb-* and addresses in 198.18.0.0/15 are used; the
# root namespace's firewall and routes are never touched.
set -euo pipefail

OUT=${1:-/tmp/syndiag-large.pcap}
PACKETS=${2:-15000000}
MAX_SECS=${SDB_MAX_SECONDS:-600}
FORCE_REPL=${SDB_FORCE_REPLICATE:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
TRAFFIC="$HERE/traffic.py"

[[ $PACKETS =~ ^[0-9]+$ ]] && (( PACKETS >= 1000 )) || { echo "PACKETS must be an integer >= 1000" >&2; exit 2; }
(( EUID == 0 )) || { echo "must run as root (network namespaces)" >&2; exit 2; }
for t in ip ethtool iptables tcpdump capinfos python3 timeout; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }
done

CLI=sdb-cli SRV=sdb-srv
VC=sdb-c VS=sdb-s                      # veth ends (client side, server side)
SADDR=198.18.0.1
CADDRS=(198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5 198.18.0.6 198.18.0.7)
P_BULK=5001 P_SHORT=8080 P_BLACKHOLE=7001 P_LOSSY=7002 P_CLOSED=9

OUTDIR=$(dirname "$OUT")
mkdir -p "$OUTDIR"
need_mb=$(( PACKETS * 115 / 1000000 + 200 ))
avail_mb=$(df -Pm "$OUTDIR" | awk 'NR==2{print $4}')
if (( avail_mb < need_mb )); then
  echo "not enough space in $OUTDIR: need ~${need_mb} MB, have ${avail_mb} MB" >&2
  exit 1
fi

TMP=$(mktemp -d /tmp/sdb-make-large.XXXXXX)
CAP="$TMP/capture.pcap"
PIDS=()
# Background jobs are started as `ip netns exec NS timeout ... CMD &` (never
# through a shell function, which would make $! a subshell), so $! is the
# timeout process; its child is CMD. Both are killed by id.
cleanup() {
  set +e
  local all=() p c
  for p in "${PIDS[@]}"; do
    all+=("$p")
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do all+=("$c"); done
  done
  for p in "${all[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$CLI" 2>/dev/null
  ip netns del "$SRV" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
log() { printf '[make-large %4ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }
cx() { ip netns exec "$CLI" "$@"; }
sx() { ip netns exec "$SRV" "$@"; }

# ---- namespaces and veth ---------------------------------------------------
for ns in "$CLI" "$SRV"; do
  if ip netns list | grep -qw "$ns"; then ip netns del "$ns"; fi
  ip netns add "$ns"
done
log "setting up namespaces $CLI, $SRV"
ip link add "$VC" netns "$CLI" type veth peer name "$VS" netns "$SRV"
for ns in "$CLI" "$SRV"; do   # IPv4 only: no router solicitations etc.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
cx ip link set lo up
sx ip link set lo up
sx ip addr add "$SADDR/24" dev "$VS"
for a in "${CADDRS[@]}"; do cx ip addr add "$a/24" dev "$VC"; done
cx ip link set "$VC" up
sx ip link set "$VS" up
cx ethtool -K "$VC" tx off tso off gso off gro off >/dev/null
sx ethtool -K "$VS" tx off tso off gso off gro off >/dev/null
cx sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
sx sysctl -qw net.core.somaxconn=4096
# SYN drops live only in the server namespace.
sx iptables -A INPUT -p tcp --dport "$P_BLACKHOLE" --syn -j DROP
sx iptables -A INPUT -p tcp --dport "$P_LOSSY" --syn -m statistic --mode random --probability 0.5 -j DROP
for i in $(seq 1 50); do [[ $(cx cat /sys/class/net/$VC/operstate) == up ]] && break; sleep 0.1; done

log "namespaces ready"
# ---- server + capture --------------------------------------------------------
ip netns exec "$SRV" timeout $(( MAX_SECS + 120 )) python3 "$TRAFFIC" serve "$SADDR" "$P_BULK" "$P_SHORT" "$P_BLACKHOLE" "$P_LOSSY" -- $(( MAX_SECS + 100 )) &
PIDS+=($!)

target=$PACKETS
(( FORCE_REPL > 0 && FORCE_REPL < PACKETS )) && target=$FORCE_REPL
ip netns exec "$SRV" timeout "$MAX_SECS" tcpdump -i "$VS" -n -s 96 -B 262144 -c "$target" -Z root -w "$CAP" 2>"$TMP/tcpdump.err" &
TCPDUMP=$!
PIDS+=($TCPDUMP)
for i in $(seq 1 100); do grep -q 'listening on' "$TMP/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on' "$TMP/tcpdump.err" || { cat "$TMP/tcpdump.err" >&2; echo "tcpdump did not start" >&2; exit 1; }
for i in $(seq 1 50); do sx ss -ltn | grep -q ":$P_SHORT " && break; sleep 0.1; done
log "capturing up to $target packets on $VS (path 1: real kernel traffic)"

# ---- phase 1: many short / failing connections next to a paced bulk stream --
clamp() { local v=$1; (( v < $2 )) && v=$2; (( v > $3 )) && v=$3; echo "$v"; }
N_SHORT=$(clamp $(( target / 375 )) 40 40000)   # ~9 packets each
N_REFUSED=$(clamp $(( N_SHORT / 20 )) 5 2000)
N_BLACKHOLE=$(clamp $(( N_SHORT / 80 )) 2 500)
N_LOSSY=$(clamp $(( N_SHORT / 40 )) 4 1000)
SRCS_A=$(IFS=,; echo "${CADDRS[*]:0:3}")
SRCS_B=$(IFS=,; echo "${CADDRS[*]:3:3}")
log "phase 1: $N_SHORT short, $N_REFUSED refused, $N_BLACKHOLE black-holed, $N_LOSSY lossy-SYN connections + paced bulk"

ip netns exec "$CLI" timeout "$MAX_SECS" python3 "$TRAFFIC" bulk "${CADDRS[5]}" "$SADDR" "$P_BULK" "$MAX_SECS" 300 &
PACED=$!; PIDS+=($PACED)
P1=()
ip netns exec "$CLI" timeout "$MAX_SECS" python3 "$TRAFFIC" short "$SRCS_A" "$SADDR" "$P_SHORT" $(( N_SHORT / 2 )) & P1+=($!)
ip netns exec "$CLI" timeout "$MAX_SECS" python3 "$TRAFFIC" short "$SRCS_B" "$SADDR" "$P_SHORT" $(( N_SHORT - N_SHORT / 2 )) & P1+=($!)
ip netns exec "$CLI" timeout "$MAX_SECS" python3 "$TRAFFIC" refused "$SRCS_B" "$SADDR" "$P_CLOSED" "$N_REFUSED" & P1+=($!)
# hold 3.5 s: SYN at 0 s, then retransmits (1, 2, 3 s with Linux 6.x tcp_syn_linear_timeouts=4; 1, 3 s on older kernels)
ip netns exec "$CLI" timeout "$MAX_SECS" python3 "$TRAFFIC" synloss "$SRCS_A" "$SADDR" "$P_BLACKHOLE" "$N_BLACKHOLE" 250 3.5 & P1+=($!)
ip netns exec "$CLI" timeout "$MAX_SECS" python3 "$TRAFFIC" synloss "$SRCS_B" "$SADDR" "$P_LOSSY" "$N_LOSSY" 250 3.5 & P1+=($!)
PIDS+=("${P1[@]}")
for p in "${P1[@]}"; do wait "$p" || true; done
kill "$PACED" 2>/dev/null || true
wait "$PACED" 2>/dev/null || true

# ---- phase 2: full-speed bulk until tcpdump has its packets ------------------
if kill -0 "$TCPDUMP" 2>/dev/null; then
  left=$(( MAX_SECS - ($(date +%s) - T0) ))
  (( left < 5 )) && left=5
  log "phase 2: two full-speed bulk streams (at most ${left}s)"
  BULKS=()
  ip netns exec "$CLI" timeout "$left" python3 "$TRAFFIC" bulk "${CADDRS[0]}" "$SADDR" "$P_BULK" "$left" & BULKS+=($!)
  ip netns exec "$CLI" timeout "$left" python3 "$TRAFFIC" bulk "${CADDRS[3]}" "$SADDR" "$P_BULK" "$left" & BULKS+=($!)
  PIDS+=("${BULKS[@]}")
  # bounded wait: tcpdump itself is under `timeout MAX_SECS`
  for i in $(seq 1 $(( (MAX_SECS + 30) * 10 ))); do
    kill -0 "$TCPDUMP" 2>/dev/null || break
    sleep 0.1
  done
  for p in "${BULKS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BULKS[@]}"; do wait "$p" 2>/dev/null || true; done
fi
wait "$TCPDUMP" 2>/dev/null || true
GEN_SECS=$(( $(date +%s) - T0 ))
grep -E 'captured|received|dropped' "$TMP/tcpdump.err" | sed 's/^/[tcpdump] /' >&2 || true

got=$(capinfos -c -M "$CAP" 2>/dev/null | awk '/Number of packets/{print $NF}')
got=${got:-0}
log "real-kernel capture: $got packets in ${GEN_SECS}s"
(( got > 0 )) || { echo "capture is empty" >&2; exit 1; }

if (( got >= PACKETS )); then
  PATH_TAKEN="path 1 (real kernel traffic only)"
  mv "$CAP" "$OUT"
else
  PATH_TAKEN="path 2 (real-kernel sample of $got packets, replicated with shifted timestamps)"
  command -v go >/dev/null || { echo "go is needed for the replication fallback" >&2; exit 1; }
  log "fewer than $PACKETS packets: replicating the sample"
  (cd "$HERE/replicate" && go build -o "$TMP/replicate" .)
  "$TMP/replicate" -in "$CAP" -out "$OUT" -packets "$PACKETS"
fi

log "done: $PATH_TAKEN"
capinfos -c -M -s -u "$OUT" | sed 's/^/  /' >&2
log "total time $(( $(date +%s) - T0 ))s -> $OUT"
