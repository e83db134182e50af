#!/usr/bin/env bash
# make.sh - regenerate the "one 4-tuple black-holed" captures (issue 15, tuple_blackhole).
#
# Run as root on Linux:  sudo testdata/path/tuple-blackhole/make.sh
#
# Real kernels in network namespaces (all named sdx15b-*), addresses in 198.18.152.0/24 and
# 198.18.153.0/24 only:
#
#   sdx15b-cli                    sdx15b-rtr                          sdx15b-srv
#   sdxc0 198.18.152.2 <-veth-> sdxr1 198.18.152.1
#                               sdxr2 198.18.153.1 <-----veth-----> sdxs0 198.18.153.2
#
# The server listens on 8080 and 8081; its own INPUT chain drops every SYN to 8081 (the
# negative control: a server that answers nobody there, server_silent_drop) and everything of
# the 4-tuple 198.18.152.2:41100 -> 198.18.153.2:8080 (a stand-in for the server's own stale
# conntrack entry for that 4-tuple: its SYNs reach server.pcap and die after it). On the router,
# `iptables -A FORWARD -p tcp --sport 41000 --dport 8080 -j DROP` drops everything of the one
# 4-tuple 198.18.152.2:41000 -> 198.18.153.2:8080: it stands in for a stale NAT, conntrack or
# load-balancer entry that black-holes one 4-tuple while every other one passes. The client
# binds fixed source ports (python, TCP_SYNCNT=3, net.ipv4.tcp_syn_linear_timeouts=0, so its
# SYNs go at +0, 1, 3, 7 s and it gives up at +15 s):
#
#   41000 -> 8080 at +0 s      black-holed on the router: 4 SYNs, no answer, connect() times out
#   41100 -> 8080 at +1.2 s    black-holed on the server: the same
#   41001..41006 -> 8080       at +0.5, 2, 4, 5.5, 8, 10 s: connected at once
#   41007, 41008 -> 8080       at +16, 22 s (after 41000 gave up): connected at once
#   42000, 42001 -> 8081       at +0.2, 2.2 s: dropped by the server, time out
#
# tcpdump (-s 160) runs on the client's interface (client.pcap) and on the server's
# (server.pcap, where the black-holed SYNs never arrive). truth.tsv lists, per attempt, what
# the client saw, its SYNs in each capture, and the iptables counters, which must agree with
# the captures. Nothing in this folder changes unless every step and check succeeds.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $EUID -ne 0 ]]; then echo "make.sh: must run as root" >&2; exit 2; fi
for tool in ip tcpdump tshark iptables; do
  command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 2; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

NAMESPACES=(sdx15b-cli sdx15b-rtr sdx15b-srv)
WORK=$(mktemp -d /tmp/sdx15b.XXXXXX)
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
  [[ $rc -ne 0 ]] && cat "$WORK"/client.log "$WORK"/counters-*.txt "$WORK"/truth.tsv >&2 2>/dev/null
  [[ -n ${SDX_KEEP:-} ]] || rm -rf "$WORK"
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
ip link add sdxc0 netns sdx15b-cli type veth peer name sdxr1 netns sdx15b-rtr
ip link add sdxr2 netns sdx15b-rtr type veth peer name sdxs0 netns sdx15b-srv
nsx sdx15b-cli ip addr add 198.18.152.2/24 dev sdxc0
nsx sdx15b-rtr ip addr add 198.18.152.1/24 dev sdxr1
nsx sdx15b-rtr ip addr add 198.18.153.1/24 dev sdxr2
nsx sdx15b-srv ip addr add 198.18.153.2/24 dev sdxs0
nsx sdx15b-cli ip link set sdxc0 up
nsx sdx15b-rtr ip link set sdxr1 up
nsx sdx15b-rtr ip link set sdxr2 up
nsx sdx15b-srv ip link set sdxs0 up
nsx sdx15b-cli ip route add default via 198.18.152.1
nsx sdx15b-srv ip route add default via 198.18.153.1
nsx sdx15b-rtr sysctl -qw net.ipv4.ip_forward=1
nsx sdx15b-cli sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
# The black-holed 4-tuple (a stand-in for a stale NAT/conntrack/load-balancer entry) and the
# negative control (the server drops everything to 8081).
nsx sdx15b-rtr iptables -A FORWARD -p tcp --sport 41000 --dport 8080 -j DROP
nsx sdx15b-srv iptables -A INPUT -p tcp --dport 8081 -j DROP
nsx sdx15b-srv iptables -A INPUT -p tcp --sport 41100 --dport 8080 -j DROP

cat >"$WORK/t.py" <<'PYEOF'
import socket, sys, time, select, threading
def server(lifetime):
    socks = []
    for port in (8080, 8081):
        ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(('0.0.0.0', port)); ls.listen(64); socks.append(ls)
    end = time.time() + float(lifetime)
    while time.time() < end:
        for ls in select.select(socks, [], [], 0.5)[0]:
            c, _ = ls.accept(); c.settimeout(3)
            try:
                c.recv(64); c.sendall(b'ok\n')
            except OSError:
                pass
            c.close()
def one(start, sport, dport, t0):
    time.sleep(max(0, t0 + start - time.time()))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 3)
    s.bind(('198.18.152.2', sport)); s.settimeout(30)
    t = time.time()
    try:
        s.connect(('198.18.153.2', dport)); s.sendall(b'hi\n'); s.recv(64)
        r = 'ok'
    except OSError as e:
        r = 'fail:' + type(e).__name__
    print('%d\t%d\t%.3f\t%.3f\t%s' % (sport, dport, t - t0, time.time() - t, r), flush=True)
    s.close()
def client():
    plan = [(0, 41000, 8080), (0.2, 42000, 8081), (1.2, 41100, 8080), (0.5, 41001, 8080), (2, 41002, 8080),
            (2.2, 42001, 8081), (4, 41003, 8080), (5.5, 41004, 8080), (8, 41005, 8080),
            (10, 41006, 8080), (16, 41007, 8080), (22, 41008, 8080)]
    t0 = time.time() + 0.2
    th = [threading.Thread(target=one, args=(a, b, c, t0)) for a, b, c in plan]
    for x in th: x.start()
    for x in th: x.join(40)
globals()[sys.argv[1]](*sys.argv[2:])
PYEOF

nsx sdx15b-srv "$PY" "$WORK/t.py" server 60 & PIDS+=($!)
nsx sdx15b-cli tcpdump -i sdxc0 -s 160 -U -n -w "$WORK/client.pcap" tcp 2>/dev/null & PIDS+=($!)
nsx sdx15b-srv tcpdump -i sdxs0 -s 160 -U -n -w "$WORK/server.pcap" tcp 2>/dev/null & PIDS+=($!)
sleep 1.5
log "traffic (about 23 s)"
timeout 60 ip netns exec sdx15b-cli "$PY" "$WORK/t.py" client >"$WORK/client.log"
sleep 2
nsx sdx15b-rtr iptables -L FORWARD -v -x -n >"$WORK/counters-router.txt"
nsx sdx15b-srv iptables -L INPUT -v -x -n >"$WORK/counters-server.txt"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()

# Truth: per attempt, what the client's connect() said and its SYNs in each capture.
syns() { tshark -n -r "$1" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.srcport==$2" 2>/dev/null | wc -l; }
{
  printf 'client\tserver\tstarted_s\tclient_result\tsyns_client_pcap\tsyns_server_pcap\texpected\n'
  sort -n "$WORK/client.log" | while IFS=$'\t' read -r sport dport start took result; do
    case $sport in
      41000 | 41100) want=tuple_blackhole ;;
      42*) want=server_silent_drop ;;
      *) want=established ;;
    esac
    printf '198.18.152.2:%s\t198.18.153.2:%s\t%s\t%s\t%s\t%s\t%s\n' "$sport" "$dport" "$start" "$result" \
      "$(syns "$WORK/client.pcap" "$sport")" "$(syns "$WORK/server.pcap" "$sport")" "$want"
  done
} >"$WORK/truth.tsv"
cat "$WORK/client.log" "$WORK/counters-router.txt" "$WORK/counters-server.txt" >&2
rtr_drops=$(awk '/DROP/ && /spt:41000/ {print $1}' "$WORK/counters-router.txt")
srv_drops=$(awk '/DROP/ && /dpt:8081/ {print $1}' "$WORK/counters-server.txt")
tup_drops=$(awk '/DROP/ && /spt:41100/ {print $1}' "$WORK/counters-server.txt")
t_rtr=$(awk -F'\t' '$1 ~ /:41000$/ {print $5 - $6}' "$WORK/truth.tsv")
t_srv=$(awk -F'\t' '$2 ~ /:8081$/ {n += $6} END {print n}' "$WORK/truth.tsv")
t_tup=$(awk -F'\t' '$1 ~ /:41100$/ && $5 == $6 {print $6}' "$WORK/truth.tsv")
log "router drops $rtr_drops (captures: $t_rtr); server drops $srv_drops, $tup_drops (captures: $t_srv, $t_tup)"
[[ $rtr_drops == "$t_rtr" && $srv_drops == "$t_srv" && $tup_drops == "$t_tup" ]] || { log "counters and captures disagree"; exit 1; }
# Every attempt did what the plan says.
awk -F'\t' 'NR > 1 && (($7 == "established") != ($4 == "ok")) {bad = 1} END {exit bad}' "$WORK/truth.tsv" ||
  { log "an attempt did not do what the plan says"; exit 1; }
printf '# router_drops_41000\t%s\n# server_drops_8081\t%s\n# server_drops_41100\t%s\n# kernel\t%s\n' "$rtr_drops" "$srv_drops" "$tup_drops" "$(uname -r)" >>"$WORK/truth.tsv"
cp "$WORK/client.pcap" "$WORK/server.pcap" "$WORK/truth.tsv" "$DIR/"
log "done"
