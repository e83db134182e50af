#!/usr/bin/env bash
# make-scenarios.sh - regenerate syndiag's real-kernel diagnosis scenarios.
#
# Run as root on Linux:  sudo testdata/scenarios/make-scenarios.sh
#
# Each scenario builds its own network namespaces (all named sdx-*), configures the server's
# kernel (sysctls per namespace), runs a python test server and python clients (and, for the
# SYN floods, a raw-socket sender of spoofed SYNs), captures with tcpdump on the server's
# interface and on the clients' LAN, records the server namespace's counters (nstat, netstat
# -s, /proc/net/{netstat,snmp}), `ss -lnt` during the overload, sysctls and `uname -r`, then
# deletes the namespaces. Afterwards the captures are analysed (a small pcap reader in the
# embedded python) and README.md, truth.tsv and <scenario>/attempts.tsv are written. Nothing in
# this folder is replaced unless every scenario ran and every check passed (trap cleanup EXIT
# removes the namespaces and processes also on failure).
#
# Addresses: IPv4 198.18.0.0/15 only.
#
#   sdx-c1..sdx-c4                 sdx-rtr                                        sdx-srv
#   sdxc0 198.18.1.11..14 <-veth-> sdxr1N (ports of bridge sdxbr1 198.18.1.1)
#                                  sdxr2 198.18.2.1   <--------veth-------->  sdxs0 198.18.2.2
#   sdx-fl (SYN floods only)
#   sdxf0 198.18.3.2      <-veth-> sdxr3 198.18.3.1
#                                  blackhole route 198.19.0.0/16 (spoofed flood sources)
#
# In nat-modern-clients the router masquerades everything leaving sdxr2 (source 198.18.2.1).
# Server: port 8080, answers "<sc|cc> <n>\n" with n bytes; sc = server closes first,
# cc = client closes first. Client source ports are fixed per connection (see README).
# Neighbour entries are static (no ARP), IPv6 is disabled, tcpdump uses `-s 128 -U -n` with
# the filter "tcp or icmp".
#
# Development: SDX_ONLY="scenario ..." runs a subset and SDX_OUT=DIR writes there instead of
# into this folder (the folder itself is only written by a full run); SDX_KEEP_WORK=1 keeps
# the temporary work folder.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $EUID -ne 0 ]]; then echo "make-scenarios.sh: must run as root" >&2; exit 2; fi
for tool in ip tcpdump tshark iptables ss nstat sysctl netstat; do
  command -v "$tool" >/dev/null || { echo "make-scenarios.sh: missing $tool (apt-get install -y iproute2 net-tools tcpdump tshark iptables)" >&2; exit 2; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

ALL_SCENARIOS=(accept-overflow-abort0 accept-overflow-abort1 synflood-nocookies synflood-cookies
               healthy nat-modern-clients firewall-drop-mixed)
read -r -a SCENARIOS <<<"${SDX_ONLY:-${ALL_SCENARIOS[*]}}"
DEST=${SDX_OUT:-$DIR}
if [[ -n ${SDX_ONLY:-} && -z ${SDX_OUT:-} ]]; then
  echo "make-scenarios.sh: SDX_ONLY needs SDX_OUT (only a full run writes $DIR)" >&2; exit 2
fi

FILTER='tcp or icmp'
SNAP=128
WORK=$(mktemp -d /tmp/sdxscen.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT"
HELPER=$WORK/scen.py
export NSTAT_HISTORY=$WORK/nstat.history   # keep nstat's history file out of /tmp/.nstat.u0
PIDS=()   # background processes started by this script and still running
CAPS=()   # running tcpdump processes (subset of PIDS)

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

forget_pid() {
  local p keep=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# Our namespaces: every sdx-* namespace (only this script creates them).
our_namespaces() { ip netns list 2>/dev/null | awk '$1 ~ /^sdx-/ {print $1}'; }

# Kill whatever still runs inside our own namespaces (by pid), then delete them.
remove_namespaces() {
  local ns pid
  for ns in $(our_namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

stop_all() {
  local p
  # Children of our own background subshells first (e.g. their sleep), then the processes.
  for p in "${PIDS[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill -INT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  PIDS=(); CAPS=()
}

cleanup() {
  local rc=$?
  set +e
  stop_all
  remove_namespaces
  if [[ -n ${SDX_KEEP_WORK:-} ]]; then log "work files kept in $WORK"; else rm -rf "$WORK"; fi
  if [[ $rc -ne 0 ]]; then log "failed (exit $rc); $DEST left unchanged"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Python helper: server, clients, spoofed-SYN flooder, capture analysis, README writer.
# ---------------------------------------------------------------------------------------
cat >"$HELPER" <<'PYEOF'
import errno, ipaddress, json, os, random, select, signal, socket, struct, sys, threading, time

# ---- server -----------------------------------------------------------------------------
# listen(backlog) on port; accept policy: "fast" (accept as soon as possible) or "every:MS"
# (accept one connection, then sleep MS milliseconds: a slow application). Each accepted
# connection is served in a thread: read "<sc|cc> <n>\n", send n bytes, then close first
# (sc) or wait for the client's FIN (cc). One line per accept in logf.
def server(addr, port, backlog, policy, lifetime, logf):
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *a: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *a: stop.__setitem__(0, True))
    deadline = time.time() + float(lifetime)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(int(backlog))
    pause = float(policy.split(':')[1]) / 1000 if policy.startswith('every:') else 0.0
    lf = open(logf, 'a', buffering=1)

    def serve(c):
        c.settimeout(15)
        try:
            buf = b''
            while not buf.endswith(b'\n') and len(buf) < 256:
                d = c.recv(256)
                if not d:
                    break
                buf += d
            parts = buf.split()
            if len(parts) >= 2:
                n = max(3, min(int(parts[1]), 1000))
                c.sendall((b'ok ' + b'x' * n)[:n - 1] + b'\n')
                if parts[0] == b'cc':
                    while c.recv(256):
                        pass
        except (OSError, ValueError):
            pass
        finally:
            c.close()

    while not stop[0] and time.time() < deadline:
        try:
            r = select.select([ls], [], [], 0.2)[0]
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            c, peer = ls.accept()
        except OSError:
            continue
        lf.write('accept\t%.6f\t%s\t%d\n' % (time.time(), peer[0], peer[1]))
        threading.Thread(target=serve, args=(c,), daemon=True).start()
        if pause:
            time.sleep(pause)
    ls.close()

# ---- clients ----------------------------------------------------------------------------
# plan file lines: group src sport dst dport start_offset_s mode bytes
# All connections of the plan start at t0 + offset (t0 = common wall-clock epoch given by the
# caller, so that plans run in different namespaces line up). Results appended to logf:
# group src sport result connect_s total_s   (result: ok | connect:<ERR> | io:<ERR> | short)
def clients(logf, t0, planf, maxwait):
    t0, maxwait = float(t0), float(maxwait)
    plan = [l.split() for l in open(planf) if l.strip() and not l.startswith('#')]
    lock = threading.Lock()
    rows = []

    def one(group, src, sport, dst, dport, off, mode, nbytes):
        start = t0 + float(off)
        d = start - time.time()
        if d > 0:
            time.sleep(d)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, int(sport)))
        s.settimeout(maxwait)
        t1 = time.monotonic()
        cs = ''
        try:
            try:
                s.connect((dst, int(dport)))
            except socket.timeout:
                raise OSError(errno.ETIMEDOUT, 'python timeout')
            except OSError as e:
                raise OSError(e.errno, 'connect') from None
            cs = '%.3f' % (time.monotonic() - t1)
            try:
                s.sendall(('%s %s\n' % (mode, nbytes)).encode())
                data = b''
                while not data.endswith(b'\n'):
                    x = s.recv(4096)
                    if not x:
                        break
                    data += x
                if mode == 'sc' and data.endswith(b'\n'):
                    while s.recv(4096):
                        pass
                result = 'ok' if data.endswith(b'\n') else 'short'
            except socket.timeout:
                result = 'io:TIMEOUT'
            except OSError as e:
                result = 'io:' + errno.errorcode.get(e.errno, str(e.errno))
        except OSError as e:
            result = 'connect:' + errno.errorcode.get(e.errno, str(e.errno))
        finally:
            s.close()
        with lock:
            rows.append([group, src, sport, result, cs, '%.3f' % (time.monotonic() - t1)])

    th = [threading.Thread(target=one, args=p) for p in plan]
    for t in th:
        t.start()
    for t in th:
        t.join()
    with open(logf, 'a') as f:
        for r in sorted(rows, key=lambda r: (r[1], int(r[2]))):
            f.write('\t'.join(r) + '\n')
    bad = sum(1 for r in rows if r[3] != 'ok')
    print('clients %s: %d connections, %d not ok' % (planf, len(rows), bad))

# ---- spoofed SYN flood (raw socket, IP_HDRINCL) ------------------------------------------
# count SYNs to dst:dport spread evenly over duration seconds, from random addresses in net
# and random ports (random.Random(seed): the same sources on every run). The SYNs look like
# Linux's: MSS 1460, SACK permitted, timestamps, NOP, window scale 7; window 64240; DF; TTL 64.
def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def flood(dst, dport, count, duration, seed, net, logf, start_epoch):
    rnd = random.Random(int(seed))
    d0 = float(start_epoch) - time.time()
    if d0 > 0:
        time.sleep(d0)
    net = ipaddress.ip_network(net)
    count, duration, dport = int(count), float(duration), int(dport)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    d = socket.inet_aton(dst)
    t0 = time.time()
    srcs = set()
    for i in range(count):
        src = net[rnd.randrange(1, net.num_addresses - 1)]
        srcs.add(src)
        sport = rnd.randrange(32768, 61000)
        isn, tsval, ipid = rnd.getrandbits(32), rnd.getrandbits(32), rnd.getrandbits(16)
        opts = struct.pack('!BBH', 2, 4, 1460) + b'\x04\x02' + struct.pack('!BBII', 8, 10, tsval, 0) \
            + b'\x01\x03\x03\x07'
        tcp = struct.pack('!HHIIBBHHH', sport, dport, isn, 0, 10 << 4, 0x02, 64240, 0, 0) + opts
        sb = socket.inet_aton(str(src))
        c = csum(sb + d + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), ipid, 0x4000, 64, 6, 0, sb, d)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        due = t0 + duration * i / count
        w = due - time.time()
        if w > 0:
            time.sleep(w)
        s.sendto(ip + tcp, (dst, 0))
    with open(logf, 'w') as f:
        f.write('flood_syns_sent\t%d\nflood_sources\t%d\nflood_seconds\t%.3f\n'
                % (count, len(srcs), time.time() - t0))

# ---- delay line: joins TAP device dev_a (in the current namespace) and TAP device dev_b in
# namespace ns_b; every frame is forwarded after delay_ms (each direction, FIFO), so the link
# behaves like a cable with a fixed one-way delay (this kernel has no netem).
def wire(dev_a, ns_b, dev_b, delay_ms, readyf):
    import ctypes, fcntl, heapq
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *a: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *a: stop.__setitem__(0, True))
    def opentap(name):
        fd = os.open('/dev/net/tun', os.O_RDWR)
        fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', name.encode(), 0x0002 | 0x1000))  # TUNSETIFF, IFF_TAP|IFF_NO_PI
        os.set_blocking(fd, False)
        return fd
    fa = opentap(dev_a)
    libc = ctypes.CDLL(None, use_errno=True)
    nsfd = os.open('/run/netns/' + ns_b, os.O_RDONLY)
    if libc.setns(nsfd, 0x40000000) != 0:                  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), 'setns')
    fb = opentap(dev_b)
    other = {fa: fb, fb: fa}
    delay = float(delay_ms) / 1000
    q, seq = [], 0
    open(readyf, 'w').write('ready\n')
    while not stop[0]:
        now = time.monotonic()
        tmo = max(0.0, q[0][0] - now) if q else 0.5
        try:
            r = select.select([fa, fb], [], [], tmo)[0]
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in r:
            for _ in range(256):
                try:
                    fr = os.read(fd, 65536)
                except BlockingIOError:
                    break
                heapq.heappush(q, (now + delay, seq, other[fd], fr))
                seq += 1
        now = time.monotonic()
        while q and q[0][0] <= now:
            _, _, fd, fr = heapq.heappop(q)
            try:
                os.write(fd, fr)
            except OSError:
                pass

# ---- ss watcher: keep the `ss -lnt` output with the highest Recv-Q on the port ---------------
def sswatch(port, seconds, out, extra_out):
    import subprocess
    best, best_txt, t_end = -1, '', time.time() + float(seconds)
    synrecv_best, synrecv_txt = -1, ''
    while time.time() < t_end:
        txt = subprocess.run(['ss', '-lnt'], capture_output=True, text=True).stdout
        q = -1
        for line in txt.splitlines()[1:]:
            f = line.split()
            if len(f) >= 4 and f[3].endswith(':' + port):
                q = int(f[1])
        if q > best:
            best, best_txt = q, txt
        if extra_out != '-':
            sr = subprocess.run(['ss', '-nt', 'state', 'syn-recv', 'sport', '=', ':' + port],
                                capture_output=True, text=True).stdout
            n = max(0, len(sr.splitlines()) - 1)
            if n > synrecv_best:
                synrecv_best, synrecv_txt = n, sr
        time.sleep(0.05)
    open(out, 'w').write(best_txt)
    if extra_out != '-':
        open(extra_out, 'w').write(synrecv_txt)

# ---- capture analysis -----------------------------------------------------------------------
def read_pcap(path):
    b = open(path, 'rb').read()
    assert b[:4] == b'\xd4\xc3\xb2\xa1', path + ': not a little-endian microsecond pcap'
    link = struct.unpack_from('<I', b, 20)[0]
    assert link == 1, path + ': not Ethernet'
    off, pk = 24, []
    while off + 16 <= len(b):
        sec, usec, incl, orig = struct.unpack_from('<IIII', b, off)
        fr = b[off + 16:off + 16 + incl]
        off += 16 + incl
        pk.append((sec + usec / 1e6, fr))
    return pk

def parse(t, fr):
    if len(fr) < 34 or fr[12:14] != b'\x08\x00':
        return None
    ip = fr[14:]
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack_from('!H', ip, 2)[0]
    if ip[9] != 6:
        return dict(t=t, proto=ip[9], src=socket.inet_ntoa(ip[12:16]), dst=socket.inet_ntoa(ip[16:20]))
    tcp = ip[ihl:]
    sp, dp, seq, ack, offf, flags, win = struct.unpack_from('!HHIIBBH', tcp, 0)
    thl = (offf >> 4) * 4
    opts, o = {}, 20
    while o < min(thl, len(tcp)):
        k = tcp[o]
        if k == 0:
            break
        if k == 1:
            opts.setdefault('order', []).append('NOP'); o += 1; continue
        if o + 1 >= len(tcp):
            break
        ln = tcp[o + 1]
        if ln < 2:
            break
        v = tcp[o + 2:o + ln]
        name = {2: 'MSS', 3: 'WS', 4: 'SACK_PERM', 5: 'SACK', 8: 'TS'}.get(k, 'opt%d' % k)
        opts.setdefault('order', []).append(name)
        if k == 2 and len(v) == 2:
            opts['mss'] = struct.unpack('!H', v)[0]
        elif k == 3 and len(v) == 1:
            opts['ws'] = v[0]
        elif k == 8 and len(v) == 8:
            opts['tsval'], opts['tsecr'] = struct.unpack('!II', v)
        o += ln
    return dict(t=t, proto=6, src=socket.inet_ntoa(ip[12:16]), dst=socket.inet_ntoa(ip[16:20]),
                ttl=ip[8], sport=sp, dport=dp, seq=seq, ack=ack, flags=flags, win=win,
                plen=tot - ihl - thl, opts=opts)

SYN, ACK, RST, FIN = 0x02, 0x10, 0x04, 0x01

def attempts(path, server_port=8080):
    """One record per handshake attempt (client ip, client port, server ip, server port, ISN)."""
    pk = [p for p in (parse(t, f) for t, f in read_pcap(path)) if p]
    att, by4 = [], {}
    stats = dict(packets=len(pk), tcp=0, syn=0, synack=0, rst=0, icmp=0)
    for p in pk:
        if p['proto'] != 6:
            stats['icmp'] += p['proto'] == 1
            continue
        stats['tcp'] += 1
        f = p['flags']
        if f & SYN and not f & ACK:
            stats['syn'] += 1
        if f & SYN and f & ACK:
            stats['synack'] += 1
        if f & RST:
            stats['rst'] += 1
        if f & SYN and not f & ACK and p['dport'] == server_port:
            k4 = (p['src'], p['sport'], p['dst'], p['dport'])
            a = None
            for x in by4.get(k4, []):
                if x['isn'] == p['seq']:
                    a = x
            if a is None:
                a = dict(client=p['src'], cport=p['sport'], server=p['dst'], sport=p['dport'],
                         isn=p['seq'], syns=[], syn_ts=[], synacks=[], synack_opts=None,
                         first_ack=None, srv_rst=[], cli_rst=[], srv_data=0, cli_data=0,
                         srv_fin=None, cli_fin=None, srv_isn=None, ttl=p['ttl'])
                att.append(a)
                by4.setdefault(k4, []).append(a)
            a['syns'].append(p['t'])
            a['syn_ts'].append(p['opts'].get('tsval'))
            continue
        # other packets: find the attempt by 4-tuple (latest attempt started before the packet)
        if p['dport'] == server_port:
            k4, frm = (p['src'], p['sport'], p['dst'], p['dport']), 'c'
        elif p['sport'] == server_port:
            k4, frm = (p['dst'], p['dport'], p['src'], p['sport']), 's'
        else:
            continue
        cands = [x for x in by4.get(k4, []) if x['syns'][0] <= p['t']]
        if not cands:
            continue
        a = cands[-1]
        if frm == 's':
            if f & SYN and f & ACK:
                if p['ack'] == (a['isn'] + 1) % 2**32:
                    a['synacks'].append(p['t'])
                    a['srv_isn'] = p['seq']
                    if a['synack_opts'] is None:
                        a['synack_opts'] = p['opts']
                        a['synack_win'] = p['win']
            elif f & RST:
                a['srv_rst'].append(p['t'])
            else:
                a['srv_data'] += max(0, p['plen'])
                if f & FIN and a['srv_fin'] is None:
                    a['srv_fin'] = p['t']
        else:
            if f & RST:
                a['cli_rst'].append(p['t'])
            elif f & ACK and a['srv_isn'] is not None:
                if a['first_ack'] is None and p['ack'] == (a['srv_isn'] + 1) % 2**32:
                    a['first_ack'] = p['t']
                a['cli_data'] += max(0, p['plen'])
                if f & FIN and a['cli_fin'] is None:
                    a['cli_fin'] = p['t']
    for a in att:
        syns = a['syns']
        # a SYN transmission is "unanswered" if no SYN-ACK came before the next transmission
        un = 0
        for i, t in enumerate(syns):
            nxt = syns[i + 1] if i + 1 < len(syns) else float('inf')
            if not any(t <= s < nxt for s in a['synacks']):
                un += 1
        a['syn_unanswered_tx'] = un
        fa = a['first_ack']
        a['synack_after_ack'] = sum(1 for s in a['synacks'] if fa is not None and s > fa)
        a['rst_after_ack'] = sum(1 for s in a['srv_rst'] if fa is not None and s > fa)
        if not a['synacks']:
            a['outcome'] = 'unanswered'
        elif a['rst_after_ack'] and not a['srv_data']:
            a['outcome'] = 'reset_after_ack'
        elif a['srv_data'] or a['srv_fin']:
            a['outcome'] = 'served'
        else:
            a['outcome'] = 'synack_only'
        if a['srv_fin'] and (not a['cli_fin'] or a['srv_fin'] < a['cli_fin']):
            a['closed_first'] = 'server'
        elif a['cli_fin']:
            a['closed_first'] = 'client'
        else:
            a['closed_first'] = 'none'
        a['offsets'] = [s - syns[0] for s in syns]
        a['connect_s'] = (a['synacks'][0] - syns[0]) if a['synacks'] else None
    return stats, att

def fmt_off(offs):
    return ','.join('%.3f' % x for x in offs)

def sched_name(offs):
    """Name the retransmission schedule from the rounded offsets of the SYN transmissions."""
    r = [round(x) for x in offs]
    if len(r) < 2:
        return 'none'
    gaps = [b - a for a, b in zip(r, r[1:])]
    if gaps == [1]:
        return 'one-retry'       # +0 +1: both schedules start like this
    if gaps[:2] == [1, 1]:
        return 'linear'          # 1 s apart first (tcp_syn_linear_timeouts > 0)
    if gaps[:2] == [1, 2]:
        return 'classic'         # 1, 2, 4 ... (exponential from the start)
    return 'other'

def load_tsv(path):
    if not os.path.exists(path):
        return []
    return [l.rstrip('\n').split('\t') for l in open(path) if l.strip()]

def nstat_file(path):
    d = {}
    for l in open(path):
        f = l.split()
        if len(f) >= 2 and f[0][:1].isalpha() and f[1].isdigit():
            d[f[0]] = int(f[1])
    return d

COUNTERS = ['TcpExtListenOverflows', 'TcpExtListenDrops', 'TcpExtTCPReqQFullDrop',
            'TcpExtTCPReqQFullDoCookies', 'TcpExtSyncookiesSent', 'TcpExtSyncookiesRecv',
            'TcpExtSyncookiesFailed', 'TcpExtEmbryonicRsts', 'TcpExtPAWSPassiveRejected',
            'TcpExtPAWSEstabRejected', 'TcpExtTW', 'TcpExtTCPTimeWaitOverflow',
            'TcpPassiveOpens', 'TcpAttemptFails', 'TcpEstabResets', 'TcpOutRsts', 'TcpRetransSegs',
            'TcpExtTCPSynRetrans', 'TcpExtTCPBacklogDrop', 'TcpExtTCPAbortOnData']

SPOOF = ipaddress.ip_network('198.19.0.0/16')
def spoofed(ip):
    return ipaddress.ip_address(ip) in SPOOF

def ipkey(ip):
    return ipaddress.ip_address(ip)

# ---- what each scenario is, what must hold on every run, what is timing dependent ----------
# 'unstable': fnmatch patterns of metric names whose value depends on timing (the value in
# truth.tsv is the one of the committed files). 'checks': invariants that must hold on every
# run (the script fails otherwise); c = context (see analyze).
G_CLASSIC = dict(name='classic', ips=['198.18.1.11', '198.18.1.12'], desc='tcp_syn_linear_timeouts=0: 1, 2, 4 s ...')
G_LINEAR = dict(name='linear', ips=['198.18.1.13', '198.18.1.14'], desc='default tcp_syn_linear_timeouts=4: 1 s apart first')
OVERFLOW_UNSTABLE = ['packets', 'syn_packets', 'synack_packets', 'rst_packets', 'syn_tx', 'syn_retrans',
                     'syn_unanswered_tx', 'synack_tx', 'synack_after_ack', 'rst_after_ack',
                     'attempts_retransmitted', 'attempts_with_*', 'outcome_*', 'schedules_*',
                     'syn_offsets_*', 'delta_*', 'client_result_*', 'server_accepts',
                     'server_closed_first', 'client_closed_first']

META = [
 dict(name='accept-overflow-abort0', port_base=41000, groups=[G_CLASSIC, G_LINEAR],
      unstable=OVERFLOW_UNSTABLE,
      stable_keep=['client_result_ok', 'outcome_served', 'server_accepts', 'rst_packets', 'rst_after_ack',
                   'attempts_with_rst_after_ack', 'outcome_reset_after_ack', 'outcome_unanswered',
                   'outcome_synack_only', 'delta_TcpPassiveOpens', 'delta_TcpExtTCPReqQFullDrop',
                   'delta_TcpExtEmbryonicRsts', 'delta_TcpExtPAWS*', 'delta_TcpAttemptFails', 'delta_TcpEstabResets',
                   'delta_TcpOutRsts', 'delta_TcpExtSyncookiesFailed', 'delta_TcpExtTCPTimeWaitOverflow',
                   'delta_TcpExtTCPBacklogDrop', 'delta_TcpExtTCPAbortOnData'],
      checks=[("ListenOverflows moved", "c['d']['TcpExtListenOverflows'] > 0"),
              ("ListenDrops == ListenOverflows (no other drop)", "c['d']['TcpExtListenDrops'] == c['d']['TcpExtListenOverflows']"),
              ("no SYN-queue drop", "c['d']['TcpExtTCPReqQFullDrop'] == 0"),
              ("SYNs dropped", "c['S']['server.pcap']['syn_unanswered_tx'] > 20"),
              ("SYN-ACK retransmitted to ACKed clients", "c['S']['server.pcap']['attempts_with_synack_after_ack'] > 0"),
              ("no RST", "c['S']['server.pcap']['rst_after_ack'] == 0 and c['P']['server.pcap']['rst'] == 0"),
              ("every connection served", "c['R'].get('ok', 0) == 80 and c['O']['server.pcap'].get('served', 0) == 80"),
              ("both schedules", "'classic' in c['sched']['classic'] and 'linear' in c['sched']['linear'] and 'linear' not in c['sched']['classic'] and 'classic' not in c['sched']['linear']"),
              ("client capture = server capture", "c['P']['server.pcap'] == c['P']['client-lan.pcap']")]),
 dict(name='accept-overflow-abort1', port_base=42000, groups=[G_CLASSIC, G_LINEAR],
      unstable=OVERFLOW_UNSTABLE + ['delta_TcpPassiveOpens'],
      stable_keep=['synack_after_ack', 'attempts_with_synack_after_ack', 'outcome_unanswered', 'outcome_synack_only',
                   'delta_TcpExtTCPReqQFullDrop', 'delta_TcpExtPAWS*', 'delta_TcpExtSyncookiesFailed',
                   'delta_TcpExtTCPTimeWaitOverflow', 'delta_TcpExtTCPBacklogDrop'],
      checks=[("ListenOverflows moved", "c['d']['TcpExtListenOverflows'] > 0"),
              ("ListenDrops == ListenOverflows", "c['d']['TcpExtListenDrops'] == c['d']['TcpExtListenOverflows']"),
              ("RSTs after ACK", "c['S']['server.pcap']['attempts_with_rst_after_ack'] > 0"),
              ("EmbryonicRsts == reset attempts", "c['d']['TcpExtEmbryonicRsts'] == c['O']['server.pcap'].get('reset_after_ack', 0)"),
              ("no SYN-ACK after ACK", "c['S']['server.pcap']['synack_after_ack'] == 0"),
              ("SYNs dropped", "c['S']['server.pcap']['syn_unanswered_tx'] > 20"),
              ("resets seen by clients", "c['R'].get('io:ECONNRESET', 0) == c['O']['server.pcap'].get('reset_after_ack', 0)"),
              ("served + reset = 80", "c['O']['server.pcap'].get('served', 0) + c['O']['server.pcap'].get('reset_after_ack', 0) == 80"),
              ("both schedules", "'classic' in c['sched']['classic'] and 'linear' in c['sched']['linear'] and 'linear' not in c['sched']['classic'] and 'classic' not in c['sched']['linear']"),
              ("client capture = server capture", "c['P']['server.pcap'] == c['P']['client-lan.pcap']")]),
 dict(name='synflood-nocookies', port_base=43000, groups=[G_CLASSIC, G_LINEAR], flood=True,
      unstable=[],
      checks=[("TCPReqQFullDrop == ListenDrops", "c['d']['TcpExtTCPReqQFullDrop'] == c['d']['TcpExtListenDrops'] > 0"),
              ("no cookies", "c['d']['TcpExtSyncookiesSent'] == 0 and c['d']['TcpExtTCPReqQFullDoCookies'] == 0"),
              ("9 spoofed SYNs queued (backlog 8 + 1)", "c['F']['server.pcap']['spoofed_attempts_synacked'] == 9"),
              ("drops = unanswered spoofed + unanswered legit SYNs", "c['d']['TcpExtListenDrops'] == c['F']['server.pcap']['spoofed_syns'] - 9 + c['S']['server.pcap']['syn_unanswered_tx']"),
              ("legit SYNs dropped", "c['S']['server.pcap']['syn_unanswered_tx'] > 0"),
              ("all legit served", "c['R'].get('ok', 0) == 16"),
              ("legit retransmissions got through at +7 s", "c['offs']['classic'] == '0,1,3,7' and c['offs']['linear'] == '0,1,2,3,4,5,7'"),
              ("half-open requests: SYN-ACK +0 +1 +3 (+7), then expired", "27 <= c['F']['server.pcap']['spoofed_synacks'] <= 36")]),
 dict(name='synflood-cookies', port_base=44000, groups=[G_CLASSIC, G_LINEAR], flood=True,
      unstable=[],
      checks=[("cookies sent for every SYN beyond the queue", "c['d']['TcpExtSyncookiesSent'] == c['F']['server.pcap']['spoofed_syns'] - 9 + 12"),
              ("cookies received = 12 legit during the flood", "c['d']['TcpExtSyncookiesRecv'] == 12"),
              ("no drop", "c['d']['TcpExtListenDrops'] == 0 and c['d']['TcpExtTCPReqQFullDrop'] == 0"),
              ("every SYN answered", "c['S']['server.pcap']['syn_retrans'] == 0 and c['F']['server.pcap']['spoofed_attempts_synacked'] == c['F']['server.pcap']['spoofed_attempts']"),
              ("all legit served", "c['R'].get('ok', 0) == 16"),
              ("cookie SYN-ACKs look like ordinary ones", "c['SAOPTS']['server.pcap'] == ['MSS SACK_PERM TS NOP WS'] and len(c['SAWIN']['server.pcap']) == 1")]),
 dict(name='healthy', port_base=45000, groups=[dict(name='all', ips=['198.18.1.11', '198.18.1.12', '198.18.1.13', '198.18.1.14'], desc='default sysctls')],
      unstable=['delta_TcpRetransSegs', 'tsval_decreases_*'],
      checks=[("nothing dropped", "c['d']['TcpExtListenDrops'] == 0 and c['S']['server.pcap']['syn_retrans'] == 0"),
              ("100 served", "c['O']['server.pcap'].get('served', 0) == 100 and c['R'].get('ok', 0) == 100"),
              ("server closed first on 52", "c['S']['server.pcap']['server_closed_first'] == 52")]),
 dict(name='nat-modern-clients', port_base=46000,
      groups=[dict(name='host%d' % k, ips=['198.18.1.1%d' % k], desc='LAN host 198.18.1.1%d' % k) for k in (1, 2, 3, 4)],
      nat=True, unstable=['tsval_decreases_*', 'delta_TcpRetransSegs'],
      checks=[("nothing dropped", "c['d']['TcpExtListenDrops'] == 0 and c['d']['TcpExtPAWSPassiveRejected'] == 0 and c['S']['server.pcap']['syn_retrans'] == 0"),
              ("160 served, server closed first on all", "c['O']['server.pcap'].get('served', 0) == 160 and c['S']['server.pcap']['server_closed_first'] == 160"),
              ("one source IP after NAT", "c['IPS']['server.pcap'] == ['198.18.2.1']"),
              ("four before NAT", "len(c['IPS']['client-lan.pcap']) == 4"),
              ("TSval not monotonic per source IP", "c['E'].get('tsval_monotonic_198.18.2.1') == 'no'"),
              ("no tcp_tw_recycle", "c['ENV'].get('tcp_tw_recycle_exists') == 'no' and c['ENV'].get('server_tcp_timestamps') == '1'")]),
 dict(name='firewall-drop-mixed', port_base=47000,
      groups=[dict(name='blocked-classic', ips=['198.18.1.11'], ports=[47100, 47101], desc='198.18.1.11, dropped by iptables, tcp_syn_linear_timeouts=0, tcp_syn_retries=3'),
              dict(name='blocked-linear', ips=['198.18.1.11'], ports=[47150, 47151], desc='198.18.1.11, dropped by iptables, default tcp_syn_linear_timeouts=4, tcp_syn_retries=3'),
              dict(name='classic', ips=['198.18.1.12'], desc='tcp_syn_linear_timeouts=0, tcp_syn_retries=3, not blocked'),
              dict(name='linear', ips=['198.18.1.13', '198.18.1.14'], desc='default, tcp_syn_retries=3, not blocked')],
      unstable=['delta_TcpRetransSegs'],
      checks=[("blocked attempts unanswered", "c['O']['server.pcap'].get('unanswered', 0) == 4 and c['R'].get('connect:ETIMEDOUT', 0) == 4"),
              ("others served", "c['O']['server.pcap'].get('served', 0) == 36"),
              ("classic schedule", "c['offs']['blocked-classic'] == '0,1,3,7'"),
              ("linear schedule", "c['offs']['blocked-linear'] == '0,1,2,3,4,5,7,11'"),
              ("no listener drop", "c['d']['TcpExtListenDrops'] == 0"),
              ("firewall counted the drops", "c['ENV'].get('iptables_drop_packets') == '24'")]),
]

def group_of(sc, ip, port):
    for g in sc['groups']:
        if 'ports' in g:
            if int(port) in g['ports']:
                return g['name']
        elif ip in g['ips']:
            return g['name']
    return ''

def analyze(work, out):
    import fnmatch
    work, out = os.path.abspath(work), os.path.abspath(out)
    ran = open(os.path.join(work, 'ran.txt')).read().split()
    truth = [['scenario', 'file', 'metric', 'value', 'stable', 'note']]
    problems, done = [], []
    for sc in META:
        if sc['name'] not in ran:
            continue
        name = sc['name']
        sdir, swork = os.path.join(out, name), os.path.join(work, name)
        unstable = sc.get('unstable', [])
        keep = sc.get('stable_keep', [])
        def T(file, metric, value, note=''):
            st = not any(fnmatch.fnmatch(metric, u) for u in unstable) or any(fnmatch.fnmatch(metric, k) for k in keep)
            truth.append([name, file, metric, str(value), 'yes' if st else 'no', note])
        c = dict(S={}, O={}, P={}, F={}, E={}, IPS={}, sched={}, offs={})
        # counters
        b = nstat_file(os.path.join(sdir, 'evidence', 'nstat-before.txt'))
        a = nstat_file(os.path.join(sdir, 'evidence', 'nstat-after.txt'))
        d = {k: a.get(k, 0) - b.get(k, 0) for k in COUNTERS}
        c['d'] = d
        for k in COUNTERS:
            T('evidence/nstat', 'delta_' + k, d[k], 'server namespace: nstat-after.txt minus nstat-before.txt')
        env = dict(load_tsv(os.path.join(swork, 'env.tsv')))
        c['ENV'] = env
        for k, v in env.items():
            T('env', k, v, 'fact recorded by the script in the namespaces')
        # client programs
        cl = load_tsv(os.path.join(swork, 'clients.tsv'))
        byport = {r[2]: r for r in cl}
        res = {}
        for r in cl:
            res[r[3]] = res.get(r[3], 0) + 1
        c['R'] = res
        T('clients', 'client_connections', len(cl), 'connections made by the client programs')
        for k in sorted(res):
            T('clients', 'client_result_' + k, res[k], 'ok = reply received; connect:ERR = connect() failed; io:ERR = error after connect()')
        acc = [l for l in load_tsv(os.path.join(swork, 'server.log')) if l[0] == 'accept']
        T('server-app', 'server_accepts', len(acc), 'connections the server application accept()ed')
        fl = dict(load_tsv(os.path.join(swork, 'flood.log')))
        if fl:
            T('flood', 'flood_syns_sent', fl['flood_syns_sent'], 'spoofed SYNs sent (seeded, same sources and ports every run)')
            T('flood', 'flood_sources', fl['flood_sources'], 'distinct spoofed source addresses in 198.19.0.0/16')
        finfo = []
        rows = [['file', 'client', 'client_port', 'server', 'server_port', 'group', 'isn', 'outcome', 'syn_tx',
                 'syn_unanswered_tx', 'syn_offsets_s', 'schedule', 'connect_s', 'synack_tx', 'synack_after_ack',
                 'rst_after_ack', 'closed_first', 'syn_tsval', 'client_result']]
        for fname, side in (('server.pcap', 'server'), ('client-lan.pcap', 'client')):
            path = os.path.join(sdir, fname)
            stats, at = attempts(path)
            legit = [x for x in at if not spoofed(x['client'])]
            fake = [x for x in at if spoofed(x['client'])]
            c['P'][fname] = stats
            T(fname, 'packets', stats['packets'], 'records in the file')
            for k in ('syn', 'synack', 'rst'):
                T(fname, k + '_packets', stats[k], 'segments with SYN (no ACK) / SYN+ACK / RST, spoofed included')
            T(fname, 'attempts', len(legit), 'handshake attempts (client ip, port, ISN) of the real clients')
            ips = sorted({x['client'] for x in legit}, key=ipkey)
            c['IPS'][fname] = ips
            T(fname, 'client_ips', len(ips), 'distinct client source addresses in this capture (spoofed excluded)')
            for ip in ips:
                T(fname, 'attempts_from_' + ip, sum(1 for x in legit if x['client'] == ip), '')
            oc = {}
            for x in legit:
                oc[x['outcome']] = oc.get(x['outcome'], 0) + 1
            c['O'][fname] = oc
            for k, note in (('served', 'SYN-ACK, and the server application answered (server sent data)'),
                            ('reset_after_ack', 'server RST after the client ACKed the SYN-ACK, no data'),
                            ('unanswered', 'no SYN-ACK at all'),
                            ('synack_only', 'SYN-ACK, but never served within the capture')):
                T(fname, 'outcome_' + k, oc.get(k, 0), note)
            S = dict(syn_tx=0, syn_retrans=0, syn_unanswered_tx=0, synack_tx=0, synack_after_ack=0, rst_after_ack=0,
                     attempts_retransmitted=0, attempts_with_synack_after_ack=0, attempts_with_rst_after_ack=0,
                     server_closed_first=0, client_closed_first=0)
            for x in legit:
                S['syn_tx'] += len(x['syns'])
                S['syn_retrans'] += len(x['syns']) - 1
                S['syn_unanswered_tx'] += x['syn_unanswered_tx']
                S['synack_tx'] += len(x['synacks'])
                S['synack_after_ack'] += x['synack_after_ack']
                S['rst_after_ack'] += x['rst_after_ack']
                S['attempts_retransmitted'] += len(x['syns']) > 1
                S['attempts_with_synack_after_ack'] += x['synack_after_ack'] > 0
                S['attempts_with_rst_after_ack'] += x['rst_after_ack'] > 0
                S['server_closed_first'] += x['closed_first'] == 'server'
                S['client_closed_first'] += x['closed_first'] == 'client'
            c['S'][fname] = S
            c.setdefault('SAOPTS', {})[fname] = sorted({' '.join(x['synack_opts'].get('order', [])) for x in legit if x['synack_opts']})
            c.setdefault('SAWIN', {})[fname] = sorted({x.get('synack_win') for x in legit if x['synack_opts']})
            notes = dict(syn_tx='SYN transmissions of the real clients', syn_retrans='SYN retransmissions (same ISN, new TSval)',
                         syn_unanswered_tx='SYN transmissions not followed by a SYN-ACK before the next transmission (dropped by the server or the firewall)',
                         synack_tx='SYN-ACKs to real clients, retransmissions included',
                         synack_after_ack='SYN-ACKs sent after the client had already ACKed a SYN-ACK (ACK ignored: accept queue full)',
                         rst_after_ack='server RSTs after the client\'s ACK (tcp_abort_on_overflow=1: one for the ACK, one for the request data)',
                         attempts_retransmitted='attempts with more than one SYN',
                         attempts_with_synack_after_ack='attempts that got a SYN-ACK after their ACK',
                         attempts_with_rst_after_ack='attempts reset after their ACK',
                         server_closed_first='attempts whose first FIN came from the server',
                         client_closed_first='attempts whose first FIN came from the client')
            for k, v in S.items():
                T(fname, k, v, notes[k])
            F = {}
            if sc.get('flood'):
                F = dict(spoofed_syns=sum(len(x['syns']) for x in fake), spoofed_attempts=len(fake),
                         spoofed_sources=len({x['client'] for x in fake}),
                         spoofed_attempts_synacked=sum(1 for x in fake if x['synacks']),
                         spoofed_synacks=sum(len(x['synacks']) for x in fake))
                fnotes = dict(spoofed_syns='SYNs from the spoofed 198.19.0.0/16 sources', spoofed_attempts='spoofed (ip, port, ISN) handshakes',
                              spoofed_sources='distinct spoofed source addresses',
                              spoofed_attempts_synacked='spoofed SYNs that got a SYN-ACK (half-open, never ACKed)',
                              spoofed_synacks='SYN-ACKs to spoofed sources, retransmissions included')
                if fname == 'server.pcap':
                    for k, v in F.items():
                        T(fname, k, v, fnotes[k])
            c['F'][fname] = F
            # schedules per group
            for g in sc['groups']:
                mine = [x for x in legit if str(x['cport']) in byport and
                        group_of(sc, byport[str(x['cport'])][1], x['cport']) == g['name']]
                if not mine:
                    continue
                sch = {}
                for x in mine:
                    k = sched_name(x['offsets'])
                    sch[k] = sch.get(k, 0) + 1
                c['sched'].setdefault(g['name'], set()).update(sch)
                T(fname, 'schedules_' + g['name'], ' '.join('%s=%d' % kv for kv in sorted(sch.items())),
                  'attempts per SYN schedule in group %s (%s); none = 1 SYN; one-retry = +0 +1' % (g['name'], g['desc']))
                pats = sorted({','.join(str(round(o)) for o in x['offsets']) for x in mine if len(x['syns']) > 1},
                              key=lambda p: (len(p), p))
                if pats:
                    T(fname, 'syn_offsets_' + g['name'], ' '.join(pats),
                      'distinct SYN offset patterns (s, rounded) of the retransmitted attempts in group %s' % g['name'])
                    if fname == 'server.pcap':
                        c['offs'][g['name']] = ' '.join(pats)
            # timestamps per source IP
            if sc.get('nat') or name == 'healthy':
                for ip in ips:
                    l = sorted((x['syns'][0], x['syn_ts'][0]) for x in legit if x['client'] == ip)
                    dec = sum(1 for p, q in zip(l, l[1:]) if q[1] < p[1])
                    T(fname, 'tsval_monotonic_' + ip, 'no' if dec else 'yes', 'TSval of first SYNs in time order never decreases')
                    T(fname, 'tsval_decreases_' + ip, dec, 'times the first-SYN TSval went backwards (of %d attempts); '
                      'the same on every run of one boot (TS offsets are a keyed hash of the 4-tuple), not across boots' % len(l))
                    c['E']['tsval_monotonic_' + ip] = 'no' if dec else 'yes'
            for x in at:
                if spoofed(x['client']):
                    continue
                r = byport.get(str(x['cport']))
                rows.append([fname, x['client'], str(x['cport']), x['server'], str(x['sport']),
                             group_of(sc, r[1], x['cport']) if r else '', str(x['isn']), x['outcome'],
                             str(len(x['syns'])), str(x['syn_unanswered_tx']), fmt_off(x['offsets']),
                             sched_name(x['offsets']), '' if x['connect_s'] is None else '%.3f' % x['connect_s'],
                             str(len(x['synacks'])), str(x['synack_after_ack']), str(x['rst_after_ack']),
                             x['closed_first'], '' if x['syn_ts'][0] is None else str(x['syn_ts'][0]),
                             r[3] if r else ''])
            seen = {str(x['cport']) for x in legit}
            for r in cl:
                if r[2] not in seen:
                    problems.append('%s/%s: client %s:%s not in the capture' % (name, fname, r[1], r[2]))
            if len(legit) != len(cl):
                problems.append('%s/%s: %d attempts, %d client connections' % (name, fname, len(legit), len(cl)))
            size = os.path.getsize(path)
            if size > 300 * 1024:
                problems.append('%s/%s: %d bytes (over 300 KiB)' % (name, fname, size))
            finfo.append(dict(file=fname, side=side, size=size, n=len(legit), stats=stats, S=S, oc=oc, F=F, at=at))
        with open(os.path.join(sdir, 'attempts.tsv'), 'w') as f:
            f.writelines('\t'.join(r) + '\n' for r in rows)
        for what, expr in sc['checks']:
            try:
                ok = eval(expr, {}, {'c': c})
            except Exception as e:
                ok = 'error %r' % e
            if ok is not True:
                problems.append('%s: check "%s" failed (%s): %s' % (name, what, ok, expr))
        sc.update(_c=c, _finfo=finfo, _res=res, _fl=fl, _acc=len(acc), _env=env)
        done.append(sc)
    with open(os.path.join(out, 'truth.tsv'), 'w') as f:
        f.writelines('\t'.join(r) + '\n' for r in truth)
    if problems:
        sys.stderr.write('\n'.join(problems) + '\n')
        sys.exit(1)
    write_readme(work, out, done)

def write_readme(work, out, done):
    env = dict(load_tsv(os.path.join(work, 'env.tsv')))
    text = open(os.path.join(work, 'readme.md')).read()
    parts = {}
    cur = None
    for line in text.splitlines():
        if line.startswith('@@'):
            cur = line[2:].strip()
            parts[cur] = []
        else:
            parts[cur].append(line)
    L = []
    w = L.append
    for line in parts['head']:
        w(line.replace('@KERNEL@', env['kernel']).replace('@TCPDUMP@', env['tcpdump'])
          .replace('@DATE@', env['date']).replace('@LINEAR@', env['linear']).replace('@DEFAULTS@', env['defaults']))
    for sc in done:
        c = sc['_c']
        w('')
        w('## `%s`' % sc['name'])
        w('')
        L.extend(parts[sc['name']])
        w('')
        w('Files (captures: tcpdump `-s 128 -U -n`, filter `tcp or icmp`, pcap, microseconds, Ethernet):')
        w('')
        w('| file | bytes | packets | side |')
        w('|---|---|---|---|')
        for fi in sc['_finfo']:
            w('| `%s/%s` | %d | %d | %s |' % (sc['name'], fi['file'], fi['size'], fi['stats']['packets'],
              'server: `sdxs0` in `sdx-srv` (client packets TTL 63)' if fi['side'] == 'server' else
              'clients: the router\'s LAN bridge `sdxbr1` (what the clients sent and received, TTL 64)'))
        w('')
        w('Truth of this generation (all of it, with stability, in `truth.tsv`; per attempt in `%s/attempts.tsv`):' % sc['name'])
        w('')
        d = c['d']
        moved = ['`%s` %d' % (k, v) for k, v in d.items() if v]
        w('- Server counters that moved (nstat deltas): ' + (', '.join(moved) or 'none') + '.')
        w('- Client programs: %s; server application accepted %d.' % (
            ', '.join('%s %d' % kv for kv in sorted(sc['_res'].items())), sc['_acc']))
        if sc['_fl']:
            w('- Flood: %s spoofed SYNs from %s distinct addresses in 198.19.0.0/16 over %s s.'
              % (sc['_fl']['flood_syns_sent'], sc['_fl']['flood_sources'], sc['_fl']['flood_seconds']))
        for fi in sc['_finfo']:
            S, oc = fi['S'], fi['oc']
            w('- `%s`: %d attempts from %s; outcomes %s; %d SYN transmissions (%d retransmissions, %d unanswered); '
              '%d SYN-ACKs, %d of them after the client\'s ACK (%d attempts); %d RSTs after ACK (%d attempts); '
              'server closed first on %d.' % (
                fi['file'], fi['n'], ', '.join(c['IPS'][fi['file']]),
                ', '.join('%s %d' % kv for kv in sorted(oc.items())), S['syn_tx'], S['syn_retrans'],
                S['syn_unanswered_tx'], S['synack_tx'], S['synack_after_ack'], S['attempts_with_synack_after_ack'],
                S['rst_after_ack'], S['attempts_with_rst_after_ack'], S['server_closed_first']))
            if fi['F'] and fi['F']['spoofed_syns']:
                F = fi['F']
                w('  Spoofed: %d SYNs (%d sources); %d got a SYN-ACK (half-open, never ACKed); %d SYN-ACKs to them in all.'
                  % (F['spoofed_syns'], F['spoofed_sources'], F['spoofed_attempts_synacked'], F['spoofed_synacks']))
        for g in sc['groups']:
            if g['name'] in c['offs']:
                w('- SYN offsets (s, rounded) of retransmitted attempts, group %s (%s): %s.'
                  % (g['name'], g['desc'], c['offs'][g['name']].replace(' ', '; ')))
        if sc['name'] + '/notes' in parts:
            w('')
            L.extend(l.replace('@', '') for l in parts[sc['name'] + '/notes'])
    L.extend(parts['tail'])
    with open(os.path.join(out, 'README.md'), 'w') as f:
        f.write('\n'.join(L).rstrip('\n') + '\n')

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'server': server, 'clients': clients, 'flood': flood, 'sswatch': sswatch, 'wire': wire,
     'analyze': analyze}[cmd](*args)
PYEOF

# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
SRV=198.18.2.2
DELAY_MS=10     # one-way delay router <-> server: every scenario has a 20 ms RTT
RTR_WAN=198.18.2.1
ns_add() {
  local ns=$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# setup_topo NCLIENTS [flood]: sdx-srv, sdx-rtr, sdx-c1..N on the router's LAN bridge, and
# with "flood" the flooder namespace sdx-fl with a blackhole route for 198.19.0.0/16 in the router.
setup_topo() {
  local n=$1 flood=${2:-} k
  ns_add sdx-srv; ns_add sdx-rtr
  nsx sdx-rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  # Router <-> server: two TAP devices joined by the python delay line ($DELAY_MS each way).
  ip -n sdx-rtr tuntap add dev sdxr2 mode tap
  ip -n sdx-srv tuntap add dev sdxs0 mode tap
  ip -n sdx-rtr link set sdxr2 address 02:5e:00:02:00:01
  ip -n sdx-srv link set sdxs0 address 02:5e:00:02:00:02
  rm -f "$SW/wire.ready"
  ip netns exec sdx-rtr "$PY" "$HELPER" wire sdxr2 sdx-srv sdxs0 "$DELAY_MS" "$SW/wire.ready" >"$SW/wire.out" 2>&1 &
  WIRE_PID=$!
  PIDS+=("$WIRE_PID")
  for k in $(seq 1 50); do [[ -e $SW/wire.ready ]] && break; sleep 0.1; done
  [[ -e $SW/wire.ready ]] || die "delay line did not start: $(cat "$SW/wire.out")"
  ip -n sdx-rtr addr add $RTR_WAN/24 dev sdxr2
  ip -n sdx-srv addr add $SRV/24 dev sdxs0
  ip -n sdx-rtr link set sdxr2 up
  ip -n sdx-srv link set sdxs0 up
  ip -n sdx-srv route add default via $RTR_WAN
  ip -n sdx-srv neigh replace $RTR_WAN lladdr 02:5e:00:02:00:01 dev sdxs0 nud permanent
  ip -n sdx-rtr neigh replace $SRV lladdr 02:5e:00:02:00:02 dev sdxr2 nud permanent
  ip -n sdx-rtr link add sdxbr1 address 02:5e:00:01:00:01 type bridge stp_state 0 forward_delay 0
  ip -n sdx-rtr addr add 198.18.1.1/24 dev sdxbr1
  ip -n sdx-rtr link set sdxbr1 up
  for k in $(seq 1 "$n"); do
    ns_add sdx-c$k
    ip -n sdx-c$k link add sdxc0 address 02:5e:00:01:00:$((10 + k)) type veth peer name sdxr1$k address 02:5e:00:01:01:0$k netns sdx-rtr
    ip -n sdx-rtr link set sdxr1$k master sdxbr1
    ip -n sdx-rtr link set sdxr1$k up
    ip -n sdx-c$k addr add 198.18.1.$((10 + k))/24 dev sdxc0
    ip -n sdx-c$k link set sdxc0 up
    ip -n sdx-c$k route add default via 198.18.1.1
    ip -n sdx-c$k neigh replace 198.18.1.1 lladdr 02:5e:00:01:00:01 dev sdxc0 nud permanent
    ip -n sdx-rtr neigh replace 198.18.1.$((10 + k)) lladdr 02:5e:00:01:00:$((10 + k)) dev sdxbr1 nud permanent
  done
  if [[ $flood == flood ]]; then
    ns_add sdx-fl
    ip -n sdx-fl link add sdxf0 address 02:5e:00:03:00:02 type veth peer name sdxr3 address 02:5e:00:03:00:01 netns sdx-rtr
    ip -n sdx-fl addr add 198.18.3.2/24 dev sdxf0
    ip -n sdx-rtr addr add 198.18.3.1/24 dev sdxr3
    ip -n sdx-fl link set sdxf0 up
    ip -n sdx-rtr link set sdxr3 up
    ip -n sdx-fl route add default via 198.18.3.1
    ip -n sdx-fl neigh replace 198.18.3.1 lladdr 02:5e:00:03:00:01 dev sdxf0 nud permanent
    ip -n sdx-rtr neigh replace 198.18.3.2 lladdr 02:5e:00:03:00:02 dev sdxr3 nud permanent
    # SYN-ACKs to the spoofed sources are discarded silently (no ICMP, no RST).
    ip -n sdx-rtr route add blackhole 198.19.0.0/16
  fi
}

# cap_start NS IFACE FILE : start tcpdump (-s 128, filter $FILTER), wait until it captures.
cap_start() {
  local ns=$1 ifc=$2 file=$3 err pid i
  err=$WORK/$(basename "$(dirname "$file")")-$(basename "$file").tcpdump.err
  : >"$err"
  ip netns exec "$ns" tcpdump -U -n -s $SNAP -Z root -i "$ifc" -w "$file" "$FILTER" 2>"$err" &
  pid=$!
  PIDS+=("$pid"); CAPS+=("$pid")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$err" && break
    kill -0 "$pid" 2>/dev/null || die "tcpdump on $ns/$ifc died: $(cat "$err")"
    sleep 0.1
  done
  grep -q 'listening on' "$err" || die "tcpdump on $ns/$ifc not ready"
  sleep 0.5
}

# cap_stop: let the last packets arrive, stop every running tcpdump with SIGINT, check drops.
cap_stop() {
  local p
  sleep 1
  for p in "${CAPS[@]}"; do kill -INT "$p"; done
  for p in "${CAPS[@]}"; do wait "$p" || die "tcpdump $p exited with $?"; forget_pid "$p"; done
  CAPS=()
  if grep -h 'dropped by kernel' "$WORK"/*.tcpdump.err | grep -qv '^0 packets'; then
    die "tcpdump dropped packets: $(grep -h 'dropped by kernel' "$WORK"/*.tcpdump.err)"
  fi
  rm -f "$WORK"/*.tcpdump.err
}

# start_server BACKLOG POLICY : python server on $SRV:8080 in sdx-srv.
SERVER_PID=
WIRE_PID=
start_server() {
  local backlog=$1 policy=$2 i
  ip netns exec sdx-srv "$PY" "$HELPER" server $SRV 8080 "$backlog" "$policy" 300 "$SW/server.log" >"$SW/server.out" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for i in $(seq 1 50); do
    nsx sdx-srv ss -Hltn 'sport = :8080' | grep -q 8080 && return 0
    sleep 0.1
  done
  die "server did not start: $(cat "$SW/server.out")"
}
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  forget_pid "$SERVER_PID"
}

# Evidence from the server namespace (counters are per network namespace).
ev_before() {
  mkdir -p "$EV"
  nsx sdx-srv nstat -az >"$EV/nstat-before.txt"
  nsx sdx-srv netstat -s >"$EV/netstat-s-before.txt"
}
ev_after() {
  nsx sdx-srv nstat -az >"$EV/nstat-after.txt"
  nsx sdx-srv netstat -s >"$EV/netstat-s-after.txt"
  nsx sdx-srv cat /proc/net/netstat >"$EV/proc-net-netstat.txt"
  nsx sdx-srv cat /proc/net/snmp >"$EV/proc-net-snmp.txt"
  nsx sdx-srv sysctl -a 2>/dev/null | grep -E '^net\.(ipv4\.tcp|core\.somaxconn|ipv4\.ip_local)' >"$EV/sysctl.txt" || true
  uname -r >"$EV/uname.txt"
  [[ -s $EV/ss-lnt.txt ]] || die "$SC: no ss-lnt.txt"
}
# ss_watch SECONDS [synrecv] : sample `ss -lnt` in the server namespace in the background and
# keep the sample with the highest Recv-Q on :8080 (with synrecv also the largest SYN-RECV list).
SSW_PID=
ss_watch() {
  local extra=-
  [[ ${2:-} == synrecv ]] && extra=$EV/ss-syn-recv.txt
  ip netns exec sdx-srv "$PY" "$HELPER" sswatch 8080 "$1" "$EV/ss-lnt.txt" "$extra" &
  SSW_PID=$!
  PIDS+=("$SSW_PID")
}
ss_wait() { wait "$SSW_PID" || die "ss watcher failed"; forget_pid "$SSW_PID"; }

# plan GROUP NS_INDEX FIRST_PORT COUNT START STEP MODE : append COUNT connections from client
# k (198.18.1.1k) on ports FIRST_PORT.., starting at START s, STEP s apart; MODE sc|cc|alt
# (alt: sc on even, cc on odd ports).
plan() {
  local g=$1 k=$2 p0=$3 n=$4 start=$5 step=$6 mode=$7 i m
  for i in $(seq 0 $((n - 1))); do
    m=$mode
    if [[ $mode == alt ]]; then m=$([[ $(( (p0 + i) % 2 )) -eq 0 ]] && echo sc || echo cc); fi
    printf '%s\t198.18.1.%d\t%d\t%s\t8080\t%s\t%s\t16\n' "$g" $((10 + k)) $((p0 + i)) $SRV \
      "$(awk -v s="$start" -v d="$step" -v i="$i" 'BEGIN{printf "%.3f", s + d * i}')" "$m" >>"$SW/plan-c$k.tsv"
  done
}

# run_plans MAXWAIT : run every client namespace's plan concurrently (common t0 = now + 1 s).
now_plus() { "$PY" -c 'import sys, time; print("%.3f" % (time.time() + float(sys.argv[1])))' "$1"; }
run_plans() {
  local maxwait=$1 t0=${2:-} k pids=() p
  [[ -n $t0 ]] || t0=$(now_plus 1)
  for f in "$SW"/plan-c*.tsv; do
    k=$(basename "$f" .tsv); k=${k#plan-c}
    ip netns exec sdx-c$k "$PY" "$HELPER" clients "$SW/clients-c$k.tsv" "$t0" "$f" "$maxwait" >>"$SW/clients.out" 2>&1 &
    p=$!; pids+=("$p"); PIDS+=("$p")
  done
  for p in "${pids[@]}"; do wait "$p" || die "clients failed: $(cat "$SW/clients.out")"; forget_pid "$p"; done
  cat "$SW"/clients-c*.tsv >"$SW/clients.tsv"
}

begin_scenario() {
  SC=$1
  SW=$WORK/$SC; EV=$OUT/$SC/evidence
  mkdir -p "$SW" "$EV"
  remove_namespaces
  log "scenario: $SC"
}
end_scenario() {
  stop_server
  kill -TERM "$WIRE_PID" 2>/dev/null || true
  wait "$WIRE_PID" 2>/dev/null || true
  forget_pid "$WIRE_PID"
  remove_namespaces
}

# ---------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------
# port P(S, k, i) = 40000 + 1000*S + 100*k + i  (scenario S, client k)

scen_accept_overflow() {
  local abort=$1 S=$((1 + $1)) k g
  begin_scenario accept-overflow-abort$abort
  setup_topo 4
  nsx sdx-srv sysctl -qw net.ipv4.tcp_abort_on_overflow="$abort"
  for k in 1 2; do nsx sdx-c$k sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0; done
  start_server 8 every:200
  for k in 1 2 3 4; do
    g=$([[ $k -le 2 ]] && echo classic || echo linear)
    plan $g $k $((40000 + 1000 * S + 100 * k)) 10 0 0.03 alt
    plan $g $k $((40000 + 1000 * S + 100 * k + 50)) 10 4 0.03 alt
  done
  ev_before
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  ss_watch 8
  run_plans 100
  ss_wait
  cap_stop
  ev_after
  end_scenario
}

# SYN flood: 1000 spoofed SYNs in 2 s from 198.19.0.0/16 (seeded) while 4 real clients connect.
scen_synflood() {
  local cookies=$1 S k g t0 name
  name=$([[ $cookies == 0 ]] && echo synflood-nocookies || echo synflood-cookies)
  S=$((3 + cookies))
  begin_scenario "$name"
  setup_topo 4 flood
  nsx sdx-srv sysctl -qw net.ipv4.tcp_syncookies="$cookies" net.ipv4.tcp_max_syn_backlog=16
  for k in 1 2; do nsx sdx-c$k sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0; done
  start_server 8 fast
  for k in 1 2 3 4; do
    g=$([[ $k -le 2 ]] && echo classic || echo linear)
    plan $g $k $((40000 + 1000 * S + 100 * k)) 1 0 0 alt                     # before the flood
    plan $g $k $((40000 + 1000 * S + 100 * k + 10)) 3 "$(awk -v k=$k 'BEGIN{print 1.5 + 0.05 * k}')" 0.5 alt  # during
  done
  ev_before
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  t0=$(now_plus 1.5)
  ip netns exec sdx-fl "$PY" "$HELPER" flood $SRV 8080 1000 2.0 2026 198.19.0.0/16 "$SW/flood.log" \
    "$(awk -v t="$t0" 'BEGIN{printf "%.3f", t + 1.0}')" &
  FLOOD_PID=$!; PIDS+=("$FLOOD_PID")
  ( sleep 2.6; ip netns exec sdx-srv "$PY" "$HELPER" sswatch 8080 1.5 "$EV/ss-lnt.txt" "$EV/ss-syn-recv.txt" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  run_plans 100 "$t0"
  wait "$FLOOD_PID" || die "flood failed"; forget_pid "$FLOOD_PID"
  ss_wait
  sleep "$(awk -v t="$t0" -v n="$(now_plus 0)" 'BEGIN{d = t + 10.5 - n; print (d > 0 ? d : 0)}')"
  cap_stop
  ev_after
  end_scenario
}

# healthy: 4 clients x 25 connections, listen(128), fast accept; nothing dropped.
scen_healthy() {
  local k
  begin_scenario healthy
  setup_topo 4
  start_server 128 fast
  for k in 1 2 3 4; do plan all $k $((45000 + 100 * k)) 25 "$(awk -v k=$k 'BEGIN{print 0.05 * k}')" 0.2 alt; done
  ev_before
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  ( sleep 3; ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  run_plans 60
  ss_wait
  cap_stop
  ev_after
  end_scenario
}

# nat-modern-clients: 4 hosts behind a masquerading router, 40 connections each, interleaved,
# the server closes first every time, timestamps on (per-connection random TSval offsets).
scen_nat() {
  local k
  begin_scenario nat-modern-clients
  setup_topo 4
  nsx sdx-rtr iptables -t nat -A POSTROUTING -o sdxr2 -j MASQUERADE
  start_server 128 fast
  for k in 1 2 3 4; do plan host$k $k $((46000 + 100 * k)) 40 "$(awk -v k=$k 'BEGIN{print 0.025 * (k - 1)}')" 0.1 sc; done
  ev_before
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  ( sleep 3; ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  run_plans 60
  ss_wait
  cap_stop
  ev_after
  {
    printf 'server_tcp_timestamps\t%s\n' "$(nsx sdx-srv sysctl -n net.ipv4.tcp_timestamps)"
    printf 'client_tcp_timestamps\t%s\n' "$(nsx sdx-c1 sysctl -n net.ipv4.tcp_timestamps)"
    printf 'tcp_tw_recycle_exists\t%s\n' "$(nsx sdx-srv test -e /proc/sys/net/ipv4/tcp_tw_recycle && echo yes || echo no)"
    printf 'router_masquerade_packets\t%s\n' "$(nsx sdx-rtr iptables -t nat -L POSTROUTING -nvx | awk '/MASQUERADE/ {print $1}')"
  } >"$SW/env.tsv"
  end_scenario
}

# firewall-drop-mixed: iptables INPUT on the server drops SYNs from 198.18.1.11 only.
# 198.18.1.11 (sdx-c1): phase A (t=0) two attempts with tcp_syn_linear_timeouts=0, phase B
# (t=17 s) two attempts with the default 4. Everyone has tcp_syn_retries=3.
scen_firewall() {
  local k t0
  begin_scenario firewall-drop-mixed
  setup_topo 4
  nsx sdx-srv iptables -A INPUT -s 198.18.1.11 -p tcp --syn -j DROP
  for k in 1 2 3 4; do nsx sdx-c$k sysctl -qw net.ipv4.tcp_syn_retries=3; done
  nsx sdx-c1 sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
  nsx sdx-c2 sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
  start_server 128 fast
  plan blocked-classic 1 47100 2 0 0.3 alt
  plan blocked-linear 1 47150 2 17 0.3 alt
  plan classic 2 47200 12 0.5 3 alt
  plan linear 3 47300 12 1.0 3 alt
  plan linear 4 47400 12 1.5 3 alt
  ev_before
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  t0=$(now_plus 1)
  # Between the phases (no SYN_SENT socket in sdx-c1): back to the default linear timeouts.
  ( sleep "$(awk -v t="$t0" -v n="$(now_plus 0)" 'BEGIN{print t + 16.2 - n}')"
    ip netns exec sdx-c1 sysctl -qw net.ipv4.tcp_syn_linear_timeouts="$LINEAR_DEFAULT"
    ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  run_plans 60 "$t0"
  ss_wait
  cap_stop
  ev_after
  printf 'iptables_drop_packets\t%s\n' "$(nsx sdx-srv iptables -L INPUT -nvx | awk '$3 == "DROP" {print $1}')" >"$SW/env.tsv"
  end_scenario
}

# README template: "@@section" lines start sections (head, <scenario>, <scenario>/notes, tail);
# the analysis inserts the measured truth after each scenario's text.
write_readme_template() {
cat >"$WORK/readme.md" <<'MDEOF'
@@head
# Real-kernel diagnosis scenarios (generated)

Generated by `make-scenarios.sh` in this folder: run it as root (about 3 minutes); it rebuilds
every scenario folder, `truth.tsv` and this README, and replaces them only if every scenario
ran and every check passed. Do not edit these files by hand.

Generated on: kernel @KERNEL@, @TCPDUMP@, @DATE@.
Kernel defaults in a fresh network namespace: @DEFAULTS@; `net.ipv4.tcp_tw_recycle` does not exist.

Every packet comes from real Linux TCP stacks in network namespaces, except the spoofed SYNs
of the two `synflood-*` scenarios, which a raw-socket sender builds (the server kernel's
answers to them are real).

## Setup shared by all scenarios

```
sdx-c1..sdx-c4                     sdx-rtr                                             sdx-srv
sdxc0 198.18.1.11..14 <--veth--> sdxr11..sdxr14 (ports of bridge sdxbr1 198.18.1.1)
                                   sdxr2 198.18.2.1 <--TAP, 10 ms delay line, TAP--> sdxs0 198.18.2.2
sdx-fl (floods only)
sdxf0 198.18.3.2      <--veth--> sdxr3 198.18.3.1;  blackhole route 198.19.0.0/16
```

- Each scenario builds these namespaces afresh (fresh counters, sysctls, TIME_WAIT and
  tcp_metrics state) and deletes them afterwards.
- Server `sdx-srv`, 198.18.2.2:8080: a python listener. A client sends `"<sc|cc> 16\n"`; the
  server answers 16 bytes; `sc`: the server closes first, `cc`: the server waits for the
  client's FIN. Clients send `sc` on even source ports and `cc` on odd ones unless said otherwise.
- Router `sdx-rtr` forwards between the client LAN (bridge `sdxbr1`) and the server link.
  The server link is two TAP devices joined by a python delay line that forwards every frame
  after 10 ms in each direction (this kernel has no netem): every path has a 20 ms RTT, so
  client packets are seen in `client-lan.pcap` ~10 ms before `server.pcap` and server packets
  ~10 ms after.
- Clients `sdx-c1..4` = 198.18.1.11..14, python programs that run every planned connection
  in its own thread from a fixed source port: port = 40000 + 1000*S + 100*k + i (S = scenario
  number 1..7 in the order of this file, k = client 1..4), so the attempts are the same on
  every regeneration (ISNs, TSvals and times are not).
- Neighbour entries are static (no ARP); IPv6 is disabled; tcpdump runs with `-s 128 -U -n`
  and the filter `tcp or icmp` and wrote no kernel drops.
- Captures, both taken with the same clock: `server.pcap` on the server's interface `sdxs0`
  (before its netfilter INPUT hook and TCP stack; client packets have TTL 63) and
  `client-lan.pcap` on the router's LAN bridge `sdxbr1`: every client's packets as sent and
  received (TTL 64), i.e. the client-side view of all clients in one file. In the flood
  scenarios the spoofed SYNs enter the router on `sdxr3`, so they are only in `server.pcap`.
- Evidence, `<scenario>/evidence/`, all from inside the server namespace (the counters are per
  network namespace): `nstat-before.txt` / `nstat-after.txt` (`nstat -az`), `netstat-s-before.txt`
  / `netstat-s-after.txt` (`netstat -s`), `proc-net-netstat.txt` and `proc-net-snmp.txt` (after),
  `sysctl.txt` (`sysctl -a | grep -E '^net\.(ipv4\.tcp|core\.somaxconn|ipv4\.ip_local)'`, with the
  scenario's settings), `ss-lnt.txt` (`ss -lnt` during the run: in the accept-queue scenarios the
  sample with the highest Recv-Q of 50 ms samples over the overload; in the floods a sample during
  the flood, plus `ss-syn-recv.txt`, the largest `ss -nt state syn-recv sport = :8080` list; elsewhere
  one sample mid-run) and `uname.txt`.

## truth.tsv and attempts.tsv

`truth.tsv` (tab-separated, one header line) holds everything a test can assert, one fact per row:
`scenario`, `file` (`server.pcap`, `client-lan.pcap`, `evidence/nstat`, `clients` = what the
client programs saw, `server-app` = the server application's log, `flood` = the flood sender,
`env` = facts read in the namespaces), `metric`, `value`, `stable`, `note`.
`stable` = `yes`: the same value on every regeneration (checked by running the script twice);
`no`: it depends on timing (accept-queue races), and the value is the one of the files in this
folder. Capture metrics (spoofed sources excluded unless named `spoofed_*`):

- `attempts`: handshake attempts = (client ip, client port, server ip, server port, ISN); SYN
  retransmissions (same ISN, new TSval) are one attempt. `attempts_from_<ip>` per source address.
- `outcome_served` (SYN-ACK and the server application sent its reply), `outcome_reset_after_ack`
  (server RST after the client's ACK, no data), `outcome_unanswered` (no SYN-ACK at all),
  `outcome_synack_only` (SYN-ACK but never served within the capture).
- `syn_tx` / `syn_retrans`: SYN transmissions / retransmissions. `syn_unanswered_tx`: SYN
  transmissions with no SYN-ACK before the attempt's next SYN (or the end): the SYNs the server
  (or its firewall) dropped. `synack_tx`: SYN-ACKs including retransmissions.
  `synack_after_ack`: SYN-ACKs sent after the client had already ACKed a SYN-ACK (the server
  ignored the ACK). `rst_after_ack`: server RSTs after the client's ACK. `attempts_with_*`: the
  number of attempts with at least one of those. `server_closed_first` / `client_closed_first`:
  who sent the first FIN.
- `schedules_<group>`: attempts per SYN schedule: `none` (1 SYN), `one-retry` (+0 +1: both
  schedules start so), `classic` (gaps 1, 2, ...), `linear` (gaps 1, 1, ...), `other`.
  `syn_offsets_<group>`: the distinct rounded SYN offset patterns (s) of retransmitted attempts.
- `tsval_monotonic_<ip>` / `tsval_decreases_<ip>`: whether the first-SYN TSvals of a source, in
  time order, ever go backwards, and how often.
- `delta_<counter>`: nstat counter of the server namespace, after minus before.

`<scenario>/attempts.tsv`: one row per attempt and capture (spoofed SYNs only counted):
`file client client_port server server_port group isn outcome syn_tx syn_unanswered_tx
syn_offsets_s schedule connect_s synack_tx synack_after_ack rst_after_ack closed_first syn_tsval
client_result`, where `syn_offsets_s` are the SYN times relative to the first (s), `connect_s`
is first SYN to first SYN-ACK, `client_result` what the client program saw (`ok`,
`connect:ETIMEDOUT`, `io:ECONNRESET`, ...).

## Which counter moves for which drop (Linux 6.18)

A SYN to a listener goes through `tcp_conn_request()` (net/ipv4/tcp_input.c), in this order:

1. `inet_csk_reqsk_queue_is_full()`: more than `sk_max_ack_backlog` (= min(listen backlog,
   somaxconn)) requests in SYN-RECV (the SYN queue; its limit is the listen backlog, not
   `tcp_max_syn_backlog`), unless the SYN hit a TIME_WAIT socket that hands over its ISN. Then `tcp_syn_flood_action()`: with `tcp_syncookies=1` it counts
   `TCPReqQFullDoCookies` and goes on with a syncookie (no request kept; `SyncookiesSent` when the
   SYN-ACK is sent); with `tcp_syncookies=0` it counts `TCPReqQFullDrop` and drops
   (`ListenDrops`). No SYN-ACK.
2. `sk_acceptq_is_full()`: more than `sk_max_ack_backlog` connections wait for accept() (so
   listen(8) admits 9: `ss -lnt` shows Recv-Q 9 and Send-Q 8). Drop: `ListenOverflows` +
   `ListenDrops`. No SYN-ACK. (Step 1 may already have counted `TCPReqQFullDoCookies`.)
3. Only with `tcp_syncookies=0`: if fewer than a quarter of `tcp_max_syn_backlog` is free
   (`max_syn_backlog - qlen < max_syn_backlog >> 2`) and the peer is not "proven" (no RTT in
   tcp_metrics), drop: `ListenDrops` only. (Not reached in these scenarios: with listen(8)
   step 1 stops the queue at 9 before qlen 13 of tcp_max_syn_backlog=16.)

The third ACK (or any segment) for a request goes through `tcp_check_req()` ->
`tcp_v4_syn_recv_sock()`; if the accept queue is full: `ListenOverflows` + `ListenDrops`, then
with `tcp_abort_on_overflow=0` the request is marked acked and the segment ignored (the SYN-ACK
timer keeps retransmitting the SYN-ACK; the client answers each with an ACK), with `=1` a RST is
sent and the request dropped (`EmbryonicRsts`). A syncookie ACK is checked by
`cookie_v4_check()` (`SyncookiesRecv` valid, `SyncookiesFailed` invalid) and then meets the same
accept-queue check. A SYN dropped by iptables moves none of these counters (only the rule's).
MDEOF
cat >>"$WORK/readme.md" <<'MDEOF'
@@accept-overflow-abort0
Scenario 1. A slow application behind a small backlog; `tcp_abort_on_overflow=0` (default).

- Server: `listen(8)` (somaxconn 4096: accept-queue limit 8, 9 admitted); the application
  accepts one connection, then sleeps 200 ms (5 accepts/s) and serves each accepted connection at
  once in a thread. All other sysctls default (`tcp_syncookies=1`).
- Clients: 4 client namespaces, 20 connections each in two bursts: ports 41k00-41k09 from
  t=0 s and 41k50-41k59 from t=4 s (k = 1..4), one new connection every 30 ms per client, the
  four clients in step (about 133 connections/s during a burst against 5 accepts/s).
  Group `classic` = 198.18.1.11, .12 with `tcp_syn_linear_timeouts=0` (SYNs at +0, +1, +3, +7 s);
  group `linear` = 198.18.1.13, .14 with the default 4 (+0, +1, +2, +3, +4, +5, +7 s).
  `tcp_syn_retries` default (6): no client gives up.
- What happens: the accept queue is full within the first burst. While it is full every SYN
  is dropped without SYN-ACK (step 2 above) and its client retransmits it. A client whose SYN
  got in while there was room but whose ACK arrives after the queue filled is ignored: it
  believes it is connected and sends its request, the server keeps the request in SYN-RECV and
  retransmits the SYN-ACK (+1, +3 s ...), the client answers each with a duplicate ACK
  (`synack_after_ack`); when accept() makes room, its next ACK or data retransmission completes
  it. All 80 connections are served in the end; drops hit all four sources alike, in bursts.
- Also real, and varying from run to run: ACKed requests waiting in SYN-RECV count against
  the SYN-queue limit, which is the same backlog (8); when it is exceeded the kernel (syncookies
  on by default) answers a SYN with a syncookie (`TCPReqQFullDoCookies`, `SyncookiesSent`); a
  cookie ACK that then meets a full accept queue is counted in `SyncookiesRecv` and
  `ListenOverflows` each time it is retried, and gets no SYN-ACK retransmission (no state).
@@accept-overflow-abort1
Scenario 2. Same as scenario 1 (ports 42k00-42k09, 42k50-42k59; same groups), but
`net.ipv4.tcp_abort_on_overflow=1` on the server.

- When the third ACK finds the accept queue full the server answers it with RST and drops the
  request (`EmbryonicRsts`); the request data the client sent right after its ACK is answered
  with a second RST (no socket any more), so a reset attempt shows 2 RSTs. The client program
  sees connect() succeed and then ECONNRESET (it does not retry). SYNs arriving while the queue
  is full are still dropped silently, exactly as in scenario 1. No SYN-ACK is ever retransmitted
  to a client that ACKed.
@@synflood-nocookies
Scenario 3. SYN flood against a small SYN queue without syncookies.

- Server: `listen(8)`, an application that accepts at once, `net.ipv4.tcp_syncookies=0`,
  `net.ipv4.tcp_max_syn_backlog=16`.
- Flood: `sdx-fl` sends 1000 spoofed SYNs, evenly over 2 s from t=1 s, from random addresses in
  198.19.0.0/16 and random ports (python `random.Random(2026)`: the same packets every run);
  raw socket, IPv4 DF, TTL 64, window 64240, options MSS 1460, SACK_PERM, TS, NOP, WS 7 like
  Linux. The server's SYN-ACKs to them reach the router and die in its blackhole route (no RST,
  no ICMP): half-open handshakes that are never ACKed.
- Real clients: each of the 4 makes 1 connection at t=0 (before the flood, port 43k00) and 3
  during it at t = 1.5, 2.0, 2.5 s + 0.05*k (ports 43k10-43k12). Group `classic` = .11, .12
  (`tcp_syn_linear_timeouts=0`), group `linear` = .13, .14 (default).
- What happens: the first 9 spoofed SYNs fill the SYN queue; from then on every SYN, spoofed or
  real, is dropped by step 1 (`TCPReqQFullDrop` = `ListenDrops` = spoofed SYNs without SYN-ACK +
  real SYN transmissions without SYN-ACK, checked). The 9 requests get SYN-ACKs at +0, about
  +1 and +3 s, and at about +7 s most of them expire while some get one more SYN-ACK
  (`reqsk_timer_handler()` lowers the SYN-ACK retry limit from 5 towards 2 when the queue is
  more than half full of requests that already timed out; how many expire at +7 s depends on
  its "young" accounting: `spoofed_synacks` in truth.tsv). Until then the real clients' SYNs are
  dropped; their retransmissions about 7 s after the flood began get through: classic SYNs at +0, +1, +3, +7 s, linear at +0, +1, +2, +3, +4, +5,
  +7 s. The accept queue stays empty (Recv-Q 0); `ss-syn-recv.txt` lists the 9 half-open requests.
@@synflood-cookies
Scenario 4. The same flood and clients (ports 44k00, 44k10-44k12) with `net.ipv4.tcp_syncookies=1`
(default); `listen(8)`, `tcp_max_syn_backlog=16`.

- Once 9 requests are queued, every further SYN gets a syncookie SYN-ACK and no state (step 1:
  `TCPReqQFullDoCookies` = `SyncookiesSent` = spoofed SYNs beyond the 9 + the 12 real SYNs sent
  during the flood, checked). The real clients' ACKs are validated as cookies (`SyncookiesRecv`
  = 12) and they connect at once: no SYN is dropped or retransmitted. Every spoofed SYN is
  answered; only the 9 queued requests get SYN-ACK retransmissions (about +1 and +3 s, some of
  them also +7 s, as in scenario 3); cookie SYN-ACKs are never retransmitted.
- What a cookie SYN-ACK looks like in the capture (checked on every run): nothing tells it apart.
  It has the same options in the same order as an ordinary SYN-ACK (MSS 1460, SACK_PERM, TS,
  NOP, WS) and the same window. The cookie encodes the client's WS/SACK/ECN in the low 6 bits of
  the TSval, but this kernel adds the connection's random TS offset on top, so no fixed low-bit
  pattern is visible; MSS is the cookie table's 1460, equal to the real one here.
@@healthy
Scenario 5. Nothing wrong: `listen(128)`, an application that accepts at once, default sysctls.

- 4 clients x 25 connections (ports 45k00-45k24), client k starts at 0.05*k s, one connection
  every 200 ms. Even ports `sc`: the server closes first on 52 connections, the client on 48.
- Every SYN is answered at once, nothing is dropped or retransmitted. Note: even without NAT the
  TSvals of one source go backwards (this kernel gives every connection its own random TS offset).
@@nat-modern-clients
Scenario 6. Negative control for the per-host PAWS model: NAT'd modern clients, the server
closing first, timestamps on, and no drop.

- 4 LAN hosts 198.18.1.11-14 (`sdx-c1..4`, group `host1..4`) behind `sdx-rtr`, which masquerades
  everything leaving towards the server (`iptables -t nat -A POSTROUTING -o sdxr2 -j MASQUERADE`:
  source 198.18.2.1). Source ports are unique (46k00-46k39), so the NAT keeps them.
- Each host makes 40 short connections, one every 100 ms, hosts 25 ms apart (interleaved h1, h2,
  h3, h4, h1, ...); every one is `sc`: the server closes first and so holds 160 TIME_WAIT
  sockets for 198.18.2.1. Server `listen(128)`, fast application, defaults
  (`tcp_timestamps=1`).
- `server.pcap` sees one source, 198.18.2.1 (post-NAT); `client-lan.pcap` sees the four hosts
  (pre-NAT). The first-SYN TSvals of 198.18.2.1 go backwards again and again (and so do each
  host's own: per-connection random offsets), yet every SYN is answered at once and no counter
  of a drop moves (`PAWSPassiveRejected` 0): `net.ipv4.tcp_tw_recycle` does not exist on this
  kernel (removed in 4.12), so the per-host PAWS rejection cannot happen.
@@firewall-drop-mixed
Scenario 7. A host firewall on the server drops one client's SYNs; the listener is healthy.

- Server: `listen(128)`, fast application; in `sdx-srv`
  `iptables -A INPUT -s 198.18.1.11 -p tcp --syn -j DROP` (nf_tables backend). The capture point
  is before the INPUT hook, so `server.pcap` shows every dropped SYN, unanswered, and no
  listener counter moves (`server_silent_drop`).
- All clients: `tcp_syn_retries=3`. 198.18.1.11 (blocked): phase A at t=0, ports 47100 and 47101
  (0.3 s apart) with `tcp_syn_linear_timeouts=0` (group `blocked-classic`): SYNs at +0, +1, +3,
  +7 s, connect() fails with ETIMEDOUT after ~15 s; at t=16.2 s (no SYN_SENT socket left) the
  sysctl goes back to the default 4 and phase B at t=17 s, ports 47150 and 47151 (group
  `blocked-linear`): SYNs at +0, +1, +2, +3, +4, +5, +7, +11 s, ETIMEDOUT after ~19 s (the kernel
  allows tcp_syn_retries + tcp_syn_linear_timeouts = 7 retransmissions).
- Meanwhile 198.18.1.12 (`tcp_syn_linear_timeouts=0`, group `classic`) and 198.18.1.13, .14
  (default, group `linear`) make 12 connections each, one every 3 s (ports 47k00-47k11): all served
  without retransmission. The DROP rule's packet counter is recorded in truth.tsv
  (`iptables_drop_packets` = 2 x 4 + 2 x 8 = 24).
@@tail

## Observations on this kernel worth knowing

- TCP timestamps: every connection gets its own TSval offset, also between the same two hosts
  (see `tsval_decreases_*` in `healthy` and on the pre-NAT side of `nat-modern-clients`). The
  offset is a keyed hash that includes the ports: within one boot the same 4-tuple gets the same
  offset (TSval minus elapsed milliseconds was identical for ports 46100, 46101, 46200 in two
  runs 131.6 s apart), so `tsval_decreases_*` repeats between runs of one boot, but not across
  boots. ISNs differ on every run. A per-source TSval that goes backwards is normal and proves
  nothing.
- `listen(8)` admits 9 connections to the accept queue and 9 requests to the SYN queue (both
  checks are `>`): `ss -lnt` shows Recv-Q 9 and Send-Q 8 in `accept-overflow-*` of this
  generation, and 9 spoofed requests are kept in the floods. (In a trial run without the delay
  line we once saw Recv-Q 10: the lockless full-check and the enqueue are not atomic, so two
  CPUs can both pass it.)
- The half-open flood requests get SYN-ACK retransmissions at about +1 and +3 s and mostly
  expire at +7 s instead of after the 5 retries of `tcp_synack_retries`, because the queue is
  full of requests that already timed out (`reqsk_timer_handler()`). The request timers fire
  together (timer-wheel rounding), so the retransmissions come in bursts.
- With the default `tcp_syn_linear_timeouts=4` a client sends SYNs at +0, +1, +2, +3, +4, +5, +7,
  +11 ... s and makes tcp_syn_retries + 4 retransmissions before giving up.
- In the accept-queue scenarios the exact counts (dropped SYNs, SYN-ACKs after ACK, RSTs, the
  few syncookies) depend on thread and packet timing and differ on every run (`stable` = `no` in
  `truth.tsv`); the attempts, sources, ports, and the facts checked by the script (see
  `META` in the script: e.g. `ListenDrops` == `ListenOverflows`, SYN-ACKs after ACK > 0 with
  abort 0, RSTs after ACK > 0 and `EmbryonicRsts` == reset attempts with abort 1, both schedules
  present) hold on every run.
MDEOF
}

# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
remove_namespaces            # a previous run killed with SIGKILL may have left namespaces
ns_add sdx-probe
LINEAR_DEFAULT=$(nsx sdx-probe sysctl -n net.ipv4.tcp_syn_linear_timeouts)
{
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'tcpdump\t%s\n' "$(tcpdump --version 2>&1 | head -1)"
  printf 'date\t%s\n' "$(date -u +%Y-%m-%d)"
  printf 'linear\t%s\n' "$LINEAR_DEFAULT"
  printf 'defaults\t%s\n' "$(for k in tcp_syncookies tcp_max_syn_backlog tcp_abort_on_overflow tcp_syn_retries tcp_synack_retries tcp_syn_linear_timeouts tcp_timestamps; do printf '`net.ipv4.%s=%s`, ' $k "$(nsx sdx-probe sysctl -n net.ipv4.$k)"; done; printf '`net.core.somaxconn=%s`' "$(nsx sdx-probe sysctl -n net.core.somaxconn)")"
} >"$WORK/env.tsv"
ip netns del sdx-probe
log "kernel $(uname -r); scenarios: ${SCENARIOS[*]}"

: >"$WORK/ran.txt"
for s in "${SCENARIOS[@]}"; do
  case $s in
    accept-overflow-abort0) scen_accept_overflow 0 ;;
    accept-overflow-abort1) scen_accept_overflow 1 ;;
    synflood-nocookies) scen_synflood 0 ;;
    synflood-cookies) scen_synflood 1 ;;
    healthy) scen_healthy ;;
    nat-modern-clients) scen_nat ;;
    firewall-drop-mixed) scen_firewall ;;
    *) die "unknown scenario $s" ;;
  esac
  echo "$s" >>"$WORK/ran.txt"
done
[[ -z $(our_namespaces) ]] || die "namespaces left: $(our_namespaces)"

write_readme_template
log "analysing captures"
"$PY" "$HELPER" analyze "$WORK" "$OUT"

# Replace the generated files (only now that every scenario and every check succeeded).
log "writing into $DEST"
mkdir -p "$DEST"
for s in "${SCENARIOS[@]}"; do rm -rf "${DEST:?}/$s"; done
rm -f "$DEST/truth.tsv" "$DEST/README.md"
cp -r "$OUT"/. "$DEST"/
find "$DEST" -type f \( -name '*.pcap' -o -name '*.tsv' -o -name '*.txt' -o -name README.md \) -exec chmod 0644 {} +
du -sh "$DEST" >&2
log "done"
