#!/usr/bin/env bash
# make.sh - regenerate the real firewall and kernel-log evidence of flows/evidence's tests.
#
# Run as root on Linux:  sudo flows/evidence/testdata/firewall/make.sh
#
# Two network namespaces joined by a veth pair (IPv4 198.18.170.0/24 only):
#   sdx17-cl  sdx17c0 198.18.170.2  <-veth->  sdx17f0 198.18.170.1  sdx17-fw
# sdx17-fw gets an iptables ruleset (iptables-nft: INPUT policy DROP, ACCEPT, DROP, REJECT, a
# user chain, a rule with preset counters) and a native nft table (a named counter, an
# anonymous one). The client sends SYNs to each port in two rounds (2, then 3 per port); the
# firewall is listed between the rounds (before) and after them, and one rule is inserted
# between the listings. Listeners with a backlog of 2 on 8090-8092 get more SYNs than their
# SYN queue holds (the client drops the SYN-ACKs, so requests stay), and the kernel logs
# "Possible SYN flooding"; only those lines are kept from dmesg (the host's other lines are
# not). sent.tsv records the SYNs each port was sent per round.
#
# Writes into this folder and ../kernel-log. Everything created is removed on exit.
set -euo pipefail
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KDIR=$(cd "$DIR/../kernel-log" && pwd)
[[ $EUID -eq 0 ]] || { echo "make.sh: must run as root" >&2; exit 2; }
for t in ip iptables iptables-save ip6tables nft dmesg python3; do
  command -v "$t" >/dev/null || { echo "make.sh: missing $t" >&2; exit 2; }
done
FW=sdx17-fw CL=sdx17-cl
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del $FW 2>/dev/null || true
  ip netns del $CL 2>/dev/null || true
}
trap cleanup EXIT
ip netns list | grep -qE "^($FW|$CL)( |$)" && { echo "make.sh: $FW or $CL exists already" >&2; exit 2; }
fw() { ip netns exec $FW "$@"; }
cl() { ip netns exec $CL "$@"; }

ip netns add $FW
ip netns add $CL
ip link add sdx17f0 type veth peer name sdx17c0
ip link set sdx17f0 netns $FW
ip link set sdx17c0 netns $CL
fw ip addr add 198.18.170.1/24 dev sdx17f0
cl ip addr add 198.18.170.2/24 dev sdx17c0
fw ip link set lo up; fw ip link set sdx17f0 up
cl ip link set lo up; cl ip link set sdx17c0 up
fw sysctl -qw net.ipv4.tcp_syncookies=1

# The server's firewall. iptables here is iptables-nft; nft list ruleset shows its tables too.
fw iptables -P INPUT DROP
fw iptables -A INPUT -i lo -j ACCEPT
fw iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
fw iptables -A INPUT -p tcp --dport 8080 -j ACCEPT
fw iptables -A INPUT -p tcp --dport 8081 -j DROP
fw iptables -A INPUT -p tcp --dport 8082 -j REJECT --reject-with tcp-reset
fw iptables -N SDX17-BLOCK
fw iptables -A SDX17-BLOCK -j DROP
fw iptables -A INPUT -p tcp --dport 8084 -j SDX17-BLOCK
fw iptables -A INPUT -p tcp --dport 8090:8092 -j ACCEPT
fw iptables -A INPUT -p tcp --dport 8085:8086 -j ACCEPT
# Preset counters (-c) so that iptables -L without -x prints K/M/G suffixes; no packet matches.
fw iptables -A INPUT -s 198.18.171.0/24 -p tcp --dport 9999 -j DROP -c 123456789 98765432100
fw ip6tables -A INPUT -p tcp --dport 8081 -j DROP
# A native nft table before iptables' (priority -10): a named counter and an anonymous one.
fw nft -f - <<'NFT'
table inet sdx17 {
	counter syn8085 {
	}
	chain input {
		type filter hook input priority -10; policy accept;
		tcp dport 8085 counter name "syn8085" drop
		tcp dport 8086 counter reject with tcp reset
	}
}
NFT

# Listeners: 8080 accepts and closes; 8090 (IPv4) and 8092 ([::], dual-stack) and 8091 never
# accept, with a backlog of 2.
cat >"$DIR/.server.py" <<'PY'
import socket, sys, threading
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
socks = []
for fam, addr, port, backlog in [(socket.AF_INET, '198.18.170.1', 8080, 64), (socket.AF_INET, '198.18.170.1', 8090, 2),
                                 (socket.AF_INET, '198.18.170.1', 8091, 2), (socket.AF_INET6, '::', 8092, 2)]:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port)); s.listen(backlog); socks.append(s)
threading.Thread(target=serve, args=(socks[0],), daemon=True).start()
print('ready', flush=True)
sys.stdin.read()
PY
coproc SERVER { fw python3 "$DIR/.server.py"; }
PIDS+=("$SERVER_PID")
read -r -t 10 ready <&"${SERVER[0]}" || { echo "make.sh: server did not start" >&2; exit 1; }

# One SYN per connect: a 0.5 s timeout ends it before the first retransmission (1 s).
cat >"$DIR/.client.py" <<'PY'
import socket, sys
n = int(sys.argv[1])
for port in map(int, sys.argv[2:]):
    for _ in range(n):
        s = socket.socket(); s.settimeout(0.5)
        try:
            s.connect(('198.18.170.1', port))
        except OSError:
            pass
        s.close()
PY
PORTS=(8080 8081 8082 8083 8084 8085 8086)
snapshot() {
  local when=$1
  fw iptables -L -v -n -x >"$DIR/iptables-L-$when.txt"
  fw iptables-save -c >"$DIR/iptables-save-$when.txt"
  fw nft -a list ruleset >"$DIR/nft-a-$when.txt"
}
printf 'round\tport\tsyns\n' >"$DIR/sent.tsv"
cl python3 "$DIR/.client.py" 2 "${PORTS[@]}"
for p in "${PORTS[@]}"; do printf 'before\t%s\t2\n' "$p" >>"$DIR/sent.tsv"; done
snapshot before
# A rule added between the listings (it sees no packet).
fw iptables -I INPUT 1 -s 198.18.172.0/24 -j DROP
cl python3 "$DIR/.client.py" 3 "${PORTS[@]}"
for p in "${PORTS[@]}"; do printf 'after\t%s\t3\n' "$p" >>"$DIR/sent.tsv"; done

# SYN floods: the client drops the SYN-ACKs, so every request stays in the SYN queue.
cl iptables -A INPUT -p tcp --sport 8090:8092 --tcp-flags SYN,ACK SYN,ACK -j DROP
mark=$(dmesg | tail -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
cat >"$DIR/.flood.py" <<'PY'
import socket, sys, time
socks = []
for port in map(int, sys.argv[1:]):
    for _ in range(6):
        s = socket.socket(); s.setblocking(False)
        s.connect_ex(('198.18.170.1', port)); socks.append(s)
time.sleep(1)
PY
cl python3 "$DIR/.flood.py" 8090 8092
fw sysctl -qw net.ipv4.tcp_syncookies=0
cl python3 "$DIR/.flood.py" 8091
sleep 0.5
snapshot after
fw iptables -L -v -n -x --line-numbers >"$DIR/iptables-L-line-numbers-after.txt"
fw iptables -L -v -n >"$DIR/iptables-L-human-after.txt"
fw ip6tables -L -v -n -x >"$DIR/ip6tables-L-after.txt"
fw nft list ruleset >"$DIR/nft-after.txt"

# The kernel's lines about our listeners, after the mark: dmesg (seconds since boot), -T, iso.
keep() { awk -v m="$mark" '{ s=$0; sub(/^\[ */, "", s); split(s, a, "]"); if (a[1]+0 > m+0) print }' | grep -E 'Possible SYN flooding on port [^ ]*:(8090|8091|8092)\.' || true; }
dmesg | keep >"$KDIR/dmesg.txt"
dmesg -T | grep -E 'Possible SYN flooding on port [^ ]*:(8090|8091|8092)\.' | tail -n "$(wc -l <"$KDIR/dmesg.txt")" >"$KDIR/dmesg-T.txt"
dmesg --time-format iso | grep -E 'Possible SYN flooding on port [^ ]*:(8090|8091|8092)\.' | tail -n "$(wc -l <"$KDIR/dmesg.txt")" >"$KDIR/dmesg-iso.txt"
uname -r >"$KDIR/uname.txt"
rm -f "$DIR/.server.py" "$DIR/.client.py" "$DIR/.flood.py"
[[ -s $KDIR/dmesg.txt ]] || { echo "make.sh: no SYN flooding line in dmesg" >&2; exit 1; }
echo "make.sh: done" >&2
