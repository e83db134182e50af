#!/usr/bin/env bash
# make-join.sh - regenerate the two-sided (client LAN + server) captures through a NAT.
#
# Run as root on Linux:  sudo testdata/join/make-join.sh
#
# Real kernels in network namespaces (all named sdj-*), addresses in 198.18.0.0/15 only:
#
#   sdj-c1..sdj-c3                      sdj-rtr                              sdj-srv
#   sdjc0 198.18.30.11..13 <-veth-> ports of bridge sdjbr0 198.18.30.1
#                                       sdjr2 198.18.31.1  <----veth---->  sdjs0 198.18.31.2
#
# The router masquerades (--random-fully, so ports are rewritten) everything leaving sdjr2 and,
# in its FORWARD chain, drops deterministically (-m statistic --mode nth) every 4th SYN going to
# the server and every 3rd SYN-ACK coming back. tcpdump runs on the router's LAN bridge (the
# "client" capture: every client host, before NAT) and on the server's interface. The server
# capture's clock is then shifted by +3.25 s with editcap -t. truth.tsv says, per SYN
# transmission, where it died, worked out from both captures before the shift (ISN and TSval
# identify a transmission on both sides of the NAT) and checked against the router's iptables
# drop counters. Nothing in this folder changes unless every step and check succeeds.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $EUID -ne 0 ]]; then echo "make-join.sh: must run as root" >&2; exit 2; fi
for tool in ip tcpdump tshark editcap iptables; do
  command -v "$tool" >/dev/null || { echo "make-join.sh: missing $tool" >&2; exit 2; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

SHIFT=3.25
NAMESPACES=(sdj-c1 sdj-c2 sdj-c3 sdj-rtr sdj-srv)
WORK=$(mktemp -d /tmp/sdjoin.XXXXXX)
PIDS=()

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
  local rc=$? p ns pid
  set +e
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  for ns in "${NAMESPACES[@]}"; do
    [[ -e /run/netns/$ns ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [[ $rc -ne 0 ]] && cat "$WORK"/c*.log "$WORK"/counters.txt "$WORK"/truth.tsv >&2 2>/dev/null
  [[ -n ${SDJ_KEEP:-} ]] || rm -rf "$WORK"
  [[ $rc -ne 0 ]] && log "failed (exit $rc); $DIR left unchanged"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in "${NAMESPACES[@]}"; do
  [[ -e /run/netns/$ns ]] && ip netns del "$ns"
  ip netns add "$ns"
  nsx "$ns" ip link set lo up
  nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done

# Router: LAN bridge and WAN veth, NAT and the drops.
nsx sdj-rtr ip link add sdjbr0 type bridge
nsx sdj-rtr ip addr add 198.18.30.1/24 dev sdjbr0
nsx sdj-rtr ip link set sdjbr0 up
for i in 1 2 3; do
  ip link add sdjc0 netns "sdj-c$i" type veth peer name "sdjr1$i" netns sdj-rtr
  nsx "sdj-c$i" ip addr add "198.18.30.1$i/24" dev sdjc0
  nsx "sdj-c$i" ip link set sdjc0 up
  nsx "sdj-c$i" ip route add default via 198.18.30.1
  nsx sdj-rtr ip link set "sdjr1$i" master sdjbr0 up
done
ip link add sdjr2 netns sdj-rtr type veth peer name sdjs0 netns sdj-srv
nsx sdj-rtr ip addr add 198.18.31.1/24 dev sdjr2
nsx sdj-rtr ip link set sdjr2 up
nsx sdj-srv ip addr add 198.18.31.2/24 dev sdjs0
nsx sdj-srv ip link set sdjs0 up
nsx sdj-srv ip route add default via 198.18.31.1
nsx sdj-rtr sysctl -qw net.ipv4.ip_forward=1
nsx sdj-rtr iptables -t nat -A POSTROUTING -o sdjr2 -j MASQUERADE --random-fully
nsx sdj-rtr iptables -A FORWARD -i sdjbr0 -o sdjr2 -p tcp --syn -m statistic --mode nth --every 4 --packet 1 -j DROP
nsx sdj-rtr iptables -A FORWARD -i sdjr2 -o sdjbr0 -p tcp --tcp-flags SYN,ACK SYN,ACK -m statistic --mode nth --every 3 --packet 2 -j DROP

cat >"$WORK/j.py" <<'PYEOF'
import socket, sys, time, select
def server(port, lifetime):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('0.0.0.0', int(port))); ls.listen(64)
    end = time.time() + float(lifetime)
    while time.time() < end:
        if not select.select([ls], [], [], 0.5)[0]:
            continue
        c, _ = ls.accept(); c.settimeout(3)
        try:
            c.recv(64); c.sendall(b'ok\n')
        except OSError:
            pass
        c.close()
def client(dst, port, n):
    for _ in range(int(n)):
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 3)
        s.settimeout(20)
        try:
            s.connect((dst, int(port))); s.sendall(b'hi\n'); s.recv(64)
            print('ok', flush=True)
        except OSError as e:
            print('fail', e, flush=True)
        s.close(); time.sleep(0.3)
globals()[sys.argv[1]](*sys.argv[2:])
PYEOF

ip netns exec sdj-srv "$PY" "$WORK/j.py" server 8080 120 & PIDS+=($!)
ip netns exec sdj-rtr tcpdump -i sdjbr0 -s 128 -U -n -w "$WORK/client.pcap" tcp 2>/dev/null & PIDS+=($!)
ip netns exec sdj-srv tcpdump -i sdjs0 -s 128 -U -n -w "$WORK/server-raw.pcap" tcp 2>/dev/null & PIDS+=($!)
sleep 1.5
log "traffic"
CLI=()
for i in 1 2 3; do
  nsx "sdj-c$i" "$PY" "$WORK/j.py" client 198.18.31.2 8080 ${SDJ_N:-8} >"$WORK/c$i.log" & CLI+=($!)
  sleep 0.1
done
for p in "${CLI[@]}"; do wait "$p"; done
sleep 2
nsx sdj-rtr iptables -L FORWARD -v -x -n >"$WORK/counters.txt"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
editcap -t "$SHIFT" "$WORK/server-raw.pcap" "$WORK/server.pcap"

# Truth: a SYN is identified by (ISN, TSval) on both sides, a SYN-ACK by (ISN, TSval).
fields() { tshark -n -r "$1" -Y "$2" -T fields -E separator=$'\t' -e frame.time_epoch -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw -e tcp.options.timestamp.tsval; }
fields "$WORK/client.pcap" 'tcp.flags.syn==1 && tcp.flags.ack==0' >"$WORK/c-syn"
fields "$WORK/server-raw.pcap" 'tcp.flags.syn==1 && tcp.flags.ack==0' >"$WORK/s-syn"
fields "$WORK/client.pcap" 'tcp.flags.syn==1 && tcp.flags.ack==1' >"$WORK/c-sa"
fields "$WORK/server-raw.pcap" 'tcp.flags.syn==1 && tcp.flags.ack==1' >"$WORK/s-sa"
"$PY" - "$WORK" "$SHIFT" >"$WORK/truth.tsv" <<'PYEOF'
import sys, re
w, shift = sys.argv[1], sys.argv[2]
def rows(n):
    return [l.rstrip('\n').split('\t') for l in open(w + '/' + n) if l.strip()]
csyn, ssyn, csa, ssa = rows('c-syn'), rows('s-syn'), rows('c-sa'), rows('s-sa')
sset = {(r[5], r[7]) for r in ssyn}
# SYN-ACKs by the client ISN they acknowledge (ack-1), each with the server time.
ssa_by = {}
for r in ssa:
    ssa_by.setdefault((int(r[6]) - 1) & 0xffffffff, []).append(r)
# Server SYN-ACK copies reach the client in order: the k-th client copy of a
# (seq, TSval) is the k-th server copy (a SYN-ACK retransmitted in the same
# millisecond carries the same TSval).
left = {}
for r in csa:
    left[(r[5], r[7])] = left.get((r[5], r[7]), 0) + 1
arrived = set()
for j, r in enumerate(ssa):
    k = (r[5], r[7])
    if left.get(k, 0) > 0:
        left[k] -= 1
        arrived.add(j)
print('# clock_shift_s\t%s' % shift)
print('client\tserver\tisn\ttsval\ttime\tlost_at')
drops = {'client_to_server': 0, 'server': 0}
sa_lost = 0
for i, r in enumerate(csyn):
    isn, tsv, t = int(r[5]), r[7], float(r[0])
    nxt = min([float(x[0]) for x in csyn[i+1:] if int(x[5]) == isn] or [1e18])
    if (r[5], tsv) not in sset:
        lost = 'client_to_server'
    else:
        # The SYN-ACKs the server sent between this SYN and the next one of the attempt.
        st = [float(x[0]) for x in ssyn if (x[5], x[7]) == (r[5], tsv)][0]
        nxt_s = min([float(x[0]) for x in ssyn if int(x[5]) == isn and float(x[0]) > st] or [1e18])
        answers = [j for j, x in enumerate(ssa) if (int(x[6]) - 1) & 0xffffffff == isn and st <= float(x[0]) < nxt_s]
        if not answers:
            lost = 'server'
        elif answers[0] in arrived:  # the server's first answer to this SYN
            lost = 'none'
        else:
            lost = 'server_to_client'
    print('%s:%s\t%s:%s\t%d\t%s\t%s\t%s' % (r[1], r[2], r[3], r[4], isn, tsv, r[0], lost))
sa_lost = len(ssa) - len(arrived)
print('# synacks_lost_on_way_back\t%d' % sa_lost)
print('# syns_lost_on_way_in\t%d' % sum(1 for r in csyn if (r[5], r[7]) not in sset))
PYEOF
cat "$WORK/counters.txt" >&2
in_drops=$(awk '/DROP/ && /sdjbr0 +sdjr2/ {print $1}' "$WORK/counters.txt")
back_drops=$(awk '/DROP/ && /sdjr2 +sdjbr0/ {print $1}' "$WORK/counters.txt")
t_in=$(awk -F'\t' '/syns_lost_on_way_in/ {print $2}' "$WORK/truth.tsv")
t_back=$(awk -F'\t' '/synacks_lost_on_way_back/ {print $2}' "$WORK/truth.tsv")
log "iptables drops in=$in_drops back=$back_drops; captures in=$t_in back=$t_back"
[[ $in_drops == "$t_in" && $back_drops == "$t_back" ]] || { log "counters and captures disagree"; exit 1; }
printf '# iptables_drops_to_server\t%s\n# iptables_drops_to_client\t%s\n' "$in_drops" "$back_drops" >>"$WORK/truth.tsv"
cp "$WORK/client.pcap" "$DIR/nat-client.pcap"
cp "$WORK/server.pcap" "$DIR/nat-server.pcap"
cp "$WORK/truth.tsv" "$DIR/truth.tsv"
log "done: $(grep -vc '^#' "$DIR/truth.tsv") lines of truth"
