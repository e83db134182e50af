#!/bin/bash
# make.sh rebuilds the captures of testdata/path/middlebox-reset on a real
# kernel (run as root): three network namespaces, client — router — server,
#
#   sdx15a-c 198.18.150.2 — 198.18.150.1 sdx15a-r 198.18.151.1 — 198.18.151.2 sdx15a-s
#
# The server listens on port 8080 and nothing listens on 8081. The router
# rejects SYNs to port 8082 with `iptables -A FORWARD ... -j REJECT
# --reject-with tcp-reset`: netfilter's nf_send_reset answers in the
# server's name, one hop nearer the client than the server. It rejects 8083
# with `--reject-with icmp-port-unreachable`, which it sends in its own
# name (198.18.150.1): that is icmp_unreachable's, not a forged answer. tcpdump runs on
# the client's interface (client.pcap) and on the server's (server.pcap).
# A second run without the REJECT rule (client-norule.pcap) is the negative
# control: there the server's own kernel refuses 8082 as it does 8081.
#
# truth.tsv lists every connection the client made: its source port, the
# port it called, who answered, and the hops from the client's capture to
# whoever answered (initial TTL 64 minus the TTL captured at the client).
set -euo pipefail
cd "$(dirname "$0")"

C=sdx15a-c R=sdx15a-r S=sdx15a-s
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in $C $R $S; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

LISTEN=8080 CLOSED=8081 REJECTED=8082 UNREACH=8083
N_OK=3 N_CLOSED=4 N_REJECTED=5 N_UNREACH=2

setup() { # $1: "reject" or "norule"
	local mode=$1
	cleanup
	for n in $C $R $S; do ip netns add "$n"; ip -n "$n" link set lo up; done
	ip link add sdx15a-c0 netns $C type veth peer name sdx15a-r0 netns $R
	ip link add sdx15a-r1 netns $R type veth peer name sdx15a-s0 netns $S
	ip -n $C addr add 198.18.150.2/24 dev sdx15a-c0
	ip -n $R addr add 198.18.150.1/24 dev sdx15a-r0
	ip -n $R addr add 198.18.151.1/24 dev sdx15a-r1
	ip -n $S addr add 198.18.151.2/24 dev sdx15a-s0
	for l in "$C sdx15a-c0" "$R sdx15a-r0" "$R sdx15a-r1" "$S sdx15a-s0"; do
		set -- $l
		ip -n "$1" link set "$2" up
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
	done
	ip -n $C route add default via 198.18.150.1
	ip -n $S route add default via 198.18.151.1
	ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
	for n in $C $R $S; do ip netns exec "$n" sysctl -qw net.ipv4.ip_default_ttl=64; done
	if [ "$mode" = reject ]; then
		ip netns exec $R iptables -A FORWARD -p tcp --dport $REJECTED -j REJECT --reject-with tcp-reset
		ip netns exec $R iptables -A FORWARD -p tcp --dport $UNREACH -j REJECT --reject-with icmp-port-unreachable
	fi
}

# listen runs a server on LISTEN that answers each connection and closes.
listen() {
	ip netns exec $S python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.151.2", int(sys.argv[1]))); s.listen(16); s.settimeout(20)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept(); c.recv(100); c.sendall(b"ok\n"); c.close()
' $LISTEN $N_OK &
	pids+=($!)
}

# connect makes the client's connections from fixed source ports and prints
# one truth line per connection: sport dport result. The closed and the
# rejected port come first, the listener last, so that the server's capture
# holds packets from after the router's resets: a joined server capture
# that ran throughout and holds none of the rejected SYNs confirms them.
connect() {
	ip netns exec $C python3 -c '
import socket, sys, time
sport = int(sys.argv[1])
for dport, n in zip(map(int, sys.argv[2::2]), map(int, sys.argv[3::2])):
    for _ in range(n):
        s = socket.socket(); s.settimeout(3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("198.18.150.2", sport))
        try:
            s.connect(("198.18.151.2", dport)); s.sendall(b"hi\n"); s.recv(100); r = "established"
        except ConnectionRefusedError:
            r = "refused"
        except OSError as e:
            r = "unreachable" if e.errno == 113 else "error:" + type(e).__name__
        s.close(); print(sport, dport, r, flush=True); sport += 1; time.sleep(0.05)
' "$1" $CLOSED $N_CLOSED $REJECTED $N_REJECTED $UNREACH $N_UNREACH $LISTEN $N_OK
}

capture() { # $1 namespace, $2 interface, $3 file
	ip netns exec "$1" tcpdump -Z root -q -n -s 160 -U --immediate-mode -i "$2" -w "$3" tcp or icmp 2>"${3%.pcap}.log" &
	pids+=($!)
}

stopcaps() {
	sleep 1 # let tcpdump read what its filter already took
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}

run() { # $1 reject|norule, $2 client capture, $3 server capture or "", $4 first sport
	setup "$1"
	capture $C sdx15a-c0 "$2"
	[ -n "$3" ] && capture $S sdx15a-s0 "$3"
	listen
	for i in $(seq 1 50); do # wait for the listener and the captures, at most 5 s
		ip netns exec $S ss -ltn "sport = :$LISTEN" | grep -q LISTEN && break
		sleep 0.1
	done
	sleep 0.5
	connect "$4" >"run-$1.out"
	stopcaps
}

run reject client.pcap server.pcap 41000
run norule client-norule.pcap "" 42000
cleanup
trap - EXIT INT TERM

# The truth: who reset each connection, and from how many hops. The server is
# one hop (the router) from the client's capture; the router's RST is sent
# from the interface the capture sees, zero hops away.
{
	printf 'capture\tclient_port\tserver_port\tresult\treset_by\thops_from_client_capture\n'
	while read -r sport dport res; do
		by=- hops=-
		case "$dport:$res" in
		$REJECTED:refused) by=router hops=0 ;;
		$CLOSED:refused) by=server hops=1 ;;
		$UNREACH:*) by=router-icmp hops=0 ;;
		esac
		printf 'client.pcap\t%s\t%s\t%s\t%s\t%s\n' "$sport" "$dport" "$res" "$by" "$hops"
	done <run-reject.out
	while read -r sport dport res; do
		by=- hops=-
		case "$res" in
		refused) by=server hops=1 ;;
		unreachable) by=router-icmp hops=0 ;;
		esac
		printf 'client-norule.pcap\t%s\t%s\t%s\t%s\t%s\n' "$sport" "$dport" "$res" "$by" "$hops"
	done <run-norule.out
} >truth.tsv
rm -f run-reject.out run-norule.out
# Every capture must hold every packet its filter took.
for l in client.log server.log client-norule.log; do
	captured=$(sed -n "s/ packets captured//p" "$l") received=$(sed -n "s/ packets received by filter//p" "$l")
	[ "$captured" = "$received" ] || { echo "$l: $captured of $received packets written" >&2; exit 1; }
done
rm -f client.log server.log client-norule.log
