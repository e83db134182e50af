#!/usr/bin/env bash
# make.sh - regenerate the capture and host evidence of analyze's firewall and kernel-log fusion
# tests (issue 17): one server capture, the firewall's counters before and after it, and the
# kernel's log lines, all from the same run.
#
# Run as root on Linux:  sudo testdata/fusion/make.sh
#
# Two network namespaces joined by a veth pair (IPv4 198.18.180.0/24; flood sources in
# 198.19.180.0/24; IPv6 off):
#   sdxfu-cl  sdxfuc0 198.18.180.2, .3  <-veth->  sdxfus0 198.18.180.1  sdxfu-srv
# The server runs listeners on 8080-8084 (backlog 64, accept and close) and 8090 (backlog 4,
# never accepts), net.ipv4.tcp_syncookies=0, and an iptables ruleset (iptables-nft, see RULES
# below: INPUT policy DROP, a DROP rule for 8081, a REJECT rule for 8082, a DROP rule for the
# source 198.18.180.3, ACCEPT for 8080, 8083 and 8090, no rule for 8084). The client
# (tcp_syn_retries=2, tcp_syn_linear_timeouts=0: SYNs at +0, +1, +3 s, gives up at +7 s)
# connects to each port; a raw socket sends 40 spoofed SYNs to 8090 so that its SYN queue
# fills and the kernel logs "Possible SYN flooding ... Dropping request". tcpdump captures on
# the server's interface (before netfilter). The firewall is listed just before tcpdump starts
# and just after it stops; each listing starts with the time it was taken, as syndiag collect
# stamps its files. truth.tsv holds the figures the tests assert, counted here without syndiag.
#
# Everything created is removed on exit. Writes server.pcap, truth.tsv and evidence/ here.
set -euo pipefail
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EV=$DIR/evidence
[[ $EUID -eq 0 ]] || { echo "make.sh: must run as root" >&2; exit 2; }
for t in ip iptables iptables-save nft tcpdump dmesg python3 timeout; do
  command -v "$t" >/dev/null || { echo "make.sh: missing $t" >&2; exit 2; }
done
SRV=sdxfu-srv CL=sdxfu-cl
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del $SRV 2>/dev/null || true
  ip netns del $CL 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns list | grep -qE "^($SRV|$CL)( |$)" && { echo "make.sh: $SRV or $CL exists already" >&2; exit 2; }
srv() { ip netns exec $SRV "$@"; }
cl() { ip netns exec $CL "$@"; }
stamp() { echo "# syndiag-time: $(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"; }

ip netns add $SRV
ip netns add $CL
ip link add sdxfus0 type veth peer name sdxfuc0
ip link set sdxfus0 netns $SRV
ip link set sdxfuc0 netns $CL
for ns in $SRV $CL; do
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
srv ip addr add 198.18.180.1/24 dev sdxfus0
cl ip addr add 198.18.180.2/24 dev sdxfuc0
cl ip addr add 198.18.180.3/24 dev sdxfuc0
srv ip link set lo up; srv ip link set sdxfus0 up
cl ip link set lo up; cl ip link set sdxfuc0 up
# The SYN-ACKs to the spoofed sources go to the client, which does not forward them: they die
# there without an answer.
srv ip route add 198.19.180.0/24 via 198.18.180.2
srv sysctl -qw net.ipv4.tcp_syncookies=0
cl sysctl -qw net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_syn_linear_timeouts=0

# RULES. The DROP rule for 8081 starts with preset counters (-c) so that iptables -L without -x
# prints them rounded (200K); the DROP rule for 198.18.180.3 names no port and also drops that
# address's UDP datagrams; 8084 has no rule and falls to the DROP policy.
srv iptables -P INPUT DROP
srv iptables -A INPUT -i lo -j ACCEPT
srv iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
srv iptables -A INPUT -p tcp --dport 8080 -j ACCEPT
srv iptables -A INPUT -p tcp --dport 8081 -j DROP -c 200000 12000000
srv iptables -A INPUT -p tcp --dport 8082 -j REJECT --reject-with tcp-reset
srv iptables -A INPUT -s 198.18.180.3 -j DROP
srv iptables -A INPUT -p tcp --dport 8083 -j ACCEPT
srv iptables -A INPUT -p tcp --dport 8090 -j ACCEPT

cat >"$WORK/server.py" <<'PY'
import socket, sys, threading
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for port, backlog in [(8080, 64), (8081, 64), (8082, 64), (8083, 64), (8084, 64), (8090, 4)]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('198.18.180.1', port)); s.listen(backlog)
    if port != 8090:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    else:
        keep = s
print('ready', flush=True)
sys.stdin.read()
PY
coproc SERVER { srv python3 "$WORK/server.py"; }
PIDS+=("$SERVER_PID")
read -r -t 10 ready <&"${SERVER[0]}" || { echo "make.sh: server did not start" >&2; exit 1; }

# Clients: "src port n delay" connects n times in parallel from src after delay seconds;
# "udp src port n" sends n datagrams.
cat >"$WORK/client.py" <<'PY'
import socket, sys, threading, time
lock = threading.Lock()
def conn(src, port):
    s = socket.socket(); s.bind((src, 0))
    try:
        s.connect(('198.18.180.1', port)); r = 'ok'
    except OSError as e:
        r = e.__class__.__name__
    s.close()
    with lock:
        sys.stdout.write('%s\t%d\t%s\n' % (src, port, r)); sys.stdout.flush()
def job(src, port, n, delay):
    time.sleep(delay)
    ts = [threading.Thread(target=conn, args=(src, port)) for _ in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()
jobs = []
for spec in sys.argv[1:]:
    f = spec.split()
    if f[0] == 'udp':
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((f[1], 0))
        for _ in range(int(f[3])):
            u.sendto(b'x', ('198.18.180.1', int(f[2])))
        continue
    jobs.append(threading.Thread(target=job, args=(f[0], int(f[1]), int(f[2]), float(f[3]))))
for j in jobs: j.start()
for j in jobs: j.join()
PY
# Spoofed SYNs: n from distinct addresses of 198.19.180.0/24 over 1 s (a fixed seed).
cat >"$WORK/flood.py" <<'PY'
import random, socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
port, n = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(17)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
d = socket.inet_aton('198.18.180.1')
for i, host in enumerate(rnd.sample(range(1, 255), n)):
    sb = socket.inet_aton('198.19.180.%d' % host)
    opts = struct.pack('!BBH', 2, 4, 1460) + b'\x04\x02' + struct.pack('!BBII', 8, 10, rnd.getrandbits(32), 0) + b'\x01\x03\x03\x07'
    tcp = struct.pack('!HHIIBBHHH', rnd.randrange(32768, 61000), port, rnd.getrandbits(32), 0, 10 << 4, 0x02, 64240, 0, 0) + opts
    c = csum(sb + d + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), rnd.getrandbits(16), 0x4000, 64, 6, 0, sb, d)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    s.sendto(ip + tcp, ('198.18.180.1', 0))
    time.sleep(1.0 / n)
PY

snapshot() {
  local when=$1
  { stamp; srv iptables -L -v -n -x; } >"$WORK/iptables-L-$when.txt"
  { stamp; srv iptables -L -v -n; } >"$WORK/iptables-L-human-$when.txt"
  { stamp; srv iptables-save -c; } >"$WORK/iptables-save-$when.txt"
  { stamp; srv nft -a list ruleset; } >"$WORK/nft-$when.txt"
}
mark=$(dmesg | tail -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
snapshot before
ip netns exec $SRV timeout 40 tcpdump -i sdxfus0 --immediate-mode -s 128 -U -n -w "$WORK/server.pcap" 'tcp or icmp' 2>"$WORK/tcpdump.log" &
TCPDUMP=$!
PIDS+=($TCPDUMP)
for _ in $(seq 50); do [[ -s $WORK/server.pcap ]] && break; sleep 0.1; done
sleep 0.5
# The firewall's part first (the clients give up 7 s after their first SYN), then the flood and
# the real clients of 8090 during it (t = 9 s), so that the SYN-queue model, which takes every
# SYN dropped during a flood as the flood's victim, does not claim the firewall's drops. A last
# connection to 8080 ends the capture after the 8090 clients gave up.
cl python3 "$WORK/client.py" "198.18.180.2 8080 3 0" "198.18.180.2 8081 2 0" "198.18.180.2 8082 3 0" \
  "198.18.180.3 8083 1 0" "udp 198.18.180.3 9 4" "198.18.180.2 8084 1 0" "198.18.180.2 8090 2 9.5" \
  "198.18.180.2 8080 1 17.5" >"$WORK/clients.tsv" &
CLIENTS=$!
PIDS+=($CLIENTS)
sleep 9
cl python3 "$WORK/flood.py" 8090 40
wait $CLIENTS
sleep 1.5
kill -INT $TCPDUMP; wait $TCPDUMP 2>/dev/null || true
snapshot after

keep() { grep -E 'Possible SYN flooding on port 198\.18\.180\.1:' || true; }
dmesg | awk -v m="$mark" '{ s=$0; sub(/^\[ */, "", s); split(s, a, "]"); if (a[1]+0 > m+0) print }' | keep >"$WORK/dmesg.txt"
n=$(wc -l <"$WORK/dmesg.txt")
[[ $n -ge 1 ]] || { echo "make.sh: no SYN flooding line in dmesg" >&2; exit 1; }
dmesg --time-format iso | keep | tail -n "$n" >"$WORK/dmesg-iso.txt"
uname -r >"$WORK/uname.txt"

# truth.tsv, counted without syndiag: SYNs (without ACK) in the capture per destination port
# and source, RST and SYN-ACK answers, and each rule's packet counter before and after.
{
  printf 'metric\tvalue\tnote\n'
  for p in 8080 8081 8082 8083 8084 8090; do
    printf 'syns_to_%s\t%s\tSYN transmissions in server.pcap to port %s\n' "$p" \
      "$(tcpdump -r "$WORK/server.pcap" -n "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port $p" 2>/dev/null | wc -l)" "$p"
  done
  printf 'syns_to_8090_real\t%s\tSYN transmissions to 8090 from the real client 198.18.180.2\n' \
    "$(tcpdump -r "$WORK/server.pcap" -n "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port 8090 and src host 198.18.180.2" 2>/dev/null | wc -l)"
  printf 'rsts_from_8082\t%s\tRSTs the REJECT rule sent for 8082\n' \
    "$(tcpdump -r "$WORK/server.pcap" -n "tcp[tcpflags] & tcp-rst != 0 and src port 8082" 2>/dev/null | wc -l)"
  printf 'udp_dropped\t4\tUDP datagrams 198.18.180.3 sent (not in the capture: its filter is tcp or icmp)\n'
  for w in before after; do
    awk -v w="$w" '
      /^Chain INPUT/ { chain = "INPUT"; gsub(/[(),]/, ""); print "policy_packets_" w "\t" $5 "\tINPUT policy DROP"; next }
      /^Chain / { chain = $2; next }
      chain == "INPUT" && $3 ~ /^(DROP|REJECT)$/ {
        id = $3; for (i = 10; i <= NF; i++) id = id "_" $i; if (NF < 10) id = id "_" $8
        print "rule_packets_" w "_" id "\t" $1 "\t" $3 " rule"
      }' "$WORK/iptables-L-$w.txt"
  done
  printf 'flood_syns\t40\tspoofed SYNs to 8090 from 40 addresses of 198.19.180.0/24\n'
  printf 'kernel_log_lines\t%s\tPossible SYN flooding lines of this run\n' "$n"
  cut -f2,3 "$WORK/clients.tsv" | sort | uniq -c | awk '{ print "clients_" $2 "_" $3 "\t" $1 "\tclient connects to that port that ended so" }'
} >"$WORK/truth.tsv"

mkdir -p "$EV"
cp "$WORK/server.pcap" "$WORK/truth.tsv" "$DIR/"
for f in iptables-L-before iptables-L-after iptables-L-human-before iptables-L-human-after \
  iptables-save-before iptables-save-after nft-before nft-after dmesg dmesg-iso uname; do
  cp "$WORK/$f.txt" "$EV/"
done
echo "make.sh: done" >&2
