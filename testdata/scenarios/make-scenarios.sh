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
# Second set: `make-scenarios.sh trust` (or SDX_SET=trust) runs only the scenarios S = 8..12
# (accept-full-nat, synack-race, capture-stopped, app-retry, stale-timewait) and writes
# ../trust (README.md, truth.tsv, one folder per scenario); this folder is not touched. They add
# tracefs evidence (a tracefs instance of their own), per-connection client options, the server
# policy "stall" and the delay-line option "dropfirst_synack"; see ../trust/README.md.
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

# Scenario set: the default set writes this folder; "trust" (argument or SDX_SET=trust) runs
# only the second set and writes ../trust (its own README.md and truth.tsv).
SET=${SDX_SET:-default}
case ${1:-} in
  '') ;;
  trust|default) SET=$1 ;;
  *) echo "usage: make-scenarios.sh [trust]" >&2; exit 2 ;;
esac
if [[ $SET == trust ]]; then
  ALL_SCENARIOS=(accept-full-nat synack-race capture-stopped app-retry stale-timewait)
  SETDIR=$(cd "$DIR/.." && pwd)/trust
elif [[ $SET == default ]]; then
  ALL_SCENARIOS=(accept-overflow-abort0 accept-overflow-abort1 synflood-nocookies synflood-cookies
                 healthy nat-modern-clients firewall-drop-mixed)
  SETDIR=$DIR
else
  echo "make-scenarios.sh: unknown set $SET" >&2; exit 2
fi
# The trust scenarios depend on the python server, clients and delay line keeping time on a
# machine that may be busy: they run (the script and everything it starts) at nice -10.
if [[ $SET == trust ]]; then renice -n -10 -p $$ >/dev/null; fi
read -r -a SCENARIOS <<<"${SDX_ONLY:-${ALL_SCENARIOS[*]}}"
DEST=${SDX_OUT:-$SETDIR}
for s in "${SCENARIOS[@]}"; do
  [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || { echo "make-scenarios.sh: $s is not in the $SET set" >&2; exit 2; }
done
if [[ -n ${SDX_ONLY:-} && -z ${SDX_OUT:-} ]]; then
  echo "make-scenarios.sh: SDX_ONLY needs SDX_OUT (only a full run writes $SETDIR)" >&2; exit 2
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
  if declare -F trace_remove >/dev/null; then trace_remove; fi
  [[ -z ${TRACE_MOUNTED:-} ]] || umount /sys/kernel/tracing 2>/dev/null
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
# listen(backlog) on port; accept policy: "fast" (accept as soon as possible), "every:MS"
# (accept one connection, then sleep MS milliseconds: a slow application) or
# "stall:OFF:DUR:T0" (accept at once, but call no accept() at all from epoch T0+OFF for DUR
# seconds, then drain the queue; logs "stall_begin"/"stall_end" lines). Each accepted
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
    stall = None
    if policy.startswith('stall:'):
        _, off, dur, st0 = policy.split(':')
        stall = [float(st0) + float(off), float(st0) + float(off) + float(dur)]
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
        tmo = 0.2
        if stall:
            now = time.time()
            if now >= stall[0]:
                lf.write('stall_begin\t%.6f\n' % now)
                while not stop[0] and time.time() < stall[1]:
                    time.sleep(min(0.01, max(0.0, stall[1] - time.time())))
                lf.write('stall_end\t%.6f\n' % time.time())
                stall = None
                continue
            tmo = min(tmo, stall[0] - now)
        try:
            r = select.select([ls], [], [], tmo)[0]
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
# plan file lines: group src sport dst dport start_offset_s mode bytes [options]
# All connections of the plan start at t0 + offset (t0 = common wall-clock epoch given by the
# caller, so that plans run in different namespaces line up). Results appended to logf, one
# line per connect() (a retry is a line of its own):
# group src sport result connect_s total_s dport start_s end_s retry_of
#   result: ok | connect:<ERR> | io:<ERR> | short; start_s / end_s: wall clock relative to t0
#   just before connect() and just after close(); retry_of: the source port of the attempt this
#   one retries, or "-".
# options (comma-separated, optional): timeout=S (this connection's own socket timeout instead
# of maxwait), hold=S (after the reply keep the socket open S seconds before closing),
# linger0 (close with SO_LINGER 0: a RST instead of a FIN), retry=N:D (after a failed
# connect(), wait D seconds and try again from the next source port, up to N times).
def clients(logf, t0, planf, maxwait):
    t0, maxwait = float(t0), float(maxwait)
    plan = [l.split() for l in open(planf) if l.strip() and not l.startswith('#')]
    lock = threading.Lock()
    rows = []

    def attempt(group, src, sport, dst, dport, mode, nbytes, o, retry_of):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, int(sport)))
        s.settimeout(float(o.get('timeout', maxwait)))
        ts = time.time() - t0
        t1 = time.monotonic()
        cs = ''
        failed = False
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
                if 'hold' in o:
                    time.sleep(float(o['hold']))
            except socket.timeout:
                result = 'io:TIMEOUT'
            except OSError as e:
                result = 'io:' + errno.errorcode.get(e.errno, str(e.errno))
        except OSError as e:
            result = 'connect:' + errno.errorcode.get(e.errno, str(e.errno))
            failed = True
        finally:
            if 'linger0' in o:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.close()
        with lock:
            rows.append([group, src, sport, result, cs, '%.3f' % (time.monotonic() - t1), dport,
                         '%.6f' % ts, '%.6f' % (time.time() - t0), retry_of])
        return failed

    def one(group, src, sport, dst, dport, off, mode, nbytes, opts=''):
        o = dict((kv.split('=', 1) + [''])[:2] for kv in opts.split(',') if kv)
        start = t0 + float(off)
        d = start - time.time()
        if d > 0:
            time.sleep(d)
        tries, pause = 0, 0.0
        if 'retry' in o:
            tries, pause = int(o['retry'].split(':')[0]), float(o['retry'].split(':')[1])
        prev = '-'
        for k in range(tries + 1):
            port = str(int(sport) + k)
            if not attempt(group, src, port, dst, dport, mode, nbytes, o, prev):
                break
            prev = port
            if k < tries:
                time.sleep(pause)

    th = [threading.Thread(target=one, args=p) for p in plan]
    for t in th:
        t.start()
    for t in th:
        t.join()
    with open(logf, 'a') as f:
        for r in sorted(rows, key=lambda r: (r[1], int(r[2]), float(r[7]))):
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
# opts (optional): "dropfirst_synack=LOGFILE": discard the first SYN-ACK of every 4-tuple that
# comes from dev_b (the server's side), and log each discarded frame (epoch, 4-tuple).
def wire(dev_a, ns_b, dev_b, delay_ms, readyf, opts=''):
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
    o = dict(kv.split('=', 1) for kv in opts.split(',') if kv)
    droplog = open(o['dropfirst_synack'], 'a', buffering=1) if 'dropfirst_synack' in o else None
    synack_seen = set()

    def drop_frame(fr):
        # only frames from the server side: IPv4 TCP with SYN and ACK, first of its 4-tuple
        if len(fr) < 54 or fr[12:14] != b'\x08\x00' or fr[23] != 6:
            return False
        ihl = (fr[14] & 15) * 4
        tcp = fr[14 + ihl:]
        if len(tcp) < 14 or tcp[13] & 0x12 != 0x12:
            return False
        k4 = (socket.inet_ntoa(fr[26:30]), struct.unpack('!H', tcp[0:2])[0],
              socket.inet_ntoa(fr[30:34]), struct.unpack('!H', tcp[2:4])[0])
        if k4 in synack_seen:
            return False
        synack_seen.add(k4)
        droplog.write('%.6f\t%s\t%d\t%s\t%d\n' % ((time.time(),) + k4))
        return True

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
                if droplog and fd == fb and drop_frame(fr):
                    continue
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

# ---- cut a capture at an instant: keep the records with a timestamp <= epoch -------------------
def cutpcap(path, epoch):
    b = open(path, 'rb').read()
    assert b[:4] == b'\xd4\xc3\xb2\xa1', path + ': not a little-endian microsecond pcap'
    epoch, off, keep, n, cut = float(epoch), 24, [b[:24]], 0, 0
    while off + 16 <= len(b):
        sec, usec, incl, orig = struct.unpack_from('<IIII', b, off)
        rec = b[off:off + 16 + incl]
        off += 16 + incl
        if sec + usec / 1e6 <= epoch:
            keep.append(rec); n += 1
        else:
            cut += 1
    open(path, 'wb').write(b''.join(keep))
    print('%s: kept %d records, cut %d' % (path, n, cut))

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

def attempts(path, server_port=8080, refused=False):
    """One record per handshake attempt (client ip, client port, server ip, server port, ISN).
    server_port: a port or a list of ports; refused=True: an attempt answered by a RST and no
    SYN-ACK is 'refused' (else 'unanswered', as before)."""
    ports = set(server_port) if isinstance(server_port, (list, tuple, set)) else {server_port}
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
        if f & SYN and not f & ACK and p['dport'] in ports:
            k4 = (p['src'], p['sport'], p['dst'], p['dport'])
            a = None
            for x in by4.get(k4, []):
                if x['isn'] == p['seq']:
                    a = x
            if a is None:
                a = dict(client=p['src'], cport=p['sport'], server=p['dst'], sport=p['dport'],
                         isn=p['seq'], syns=[], syn_ts=[], synacks=[], synack_opts=None,
                         first_ack=None, srv_rst=[], cli_rst=[], srv_data=0, cli_data=0,
                         srv_fin=None, cli_fin=None, srv_isn=None, ttl=p['ttl'],
                         cli_data_t=None, srv_data_t=None, srv_bare_ack=[], last_t=None)
                att.append(a)
                by4.setdefault(k4, []).append(a)
            a['syns'].append(p['t'])
            a['syn_ts'].append(p['opts'].get('tsval'))
            a['last_t'] = p['t']
            continue
        # other packets: find the attempt by 4-tuple (latest attempt started before the packet)
        if p['dport'] in ports:
            k4, frm = (p['src'], p['sport'], p['dst'], p['dport']), 'c'
        elif p['sport'] in ports:
            k4, frm = (p['dst'], p['dport'], p['src'], p['sport']), 's'
        else:
            continue
        cands = [x for x in by4.get(k4, []) if x['syns'][0] <= p['t']]
        if not cands:
            continue
        a = cands[-1]
        a['last_t'] = p['t']
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
                if p['plen'] > 0 and a['srv_data_t'] is None:
                    a['srv_data_t'] = p['t']
                if a['srv_isn'] is None and not p['plen'] and f == ACK:
                    a['srv_bare_ack'].append(p['t'])
                if f & FIN and a['srv_fin'] is None:
                    a['srv_fin'] = p['t']
        else:
            if f & RST:
                a['cli_rst'].append(p['t'])
            elif f & ACK and a['srv_isn'] is not None:
                if a['first_ack'] is None and p['ack'] == (a['srv_isn'] + 1) % 2**32:
                    a['first_ack'] = p['t']
                a['cli_data'] += max(0, p['plen'])
                if p['plen'] > 0 and a['cli_data_t'] is None:
                    a['cli_data_t'] = p['t']
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
        if not a['synacks'] and refused and a['srv_rst']:
            a['outcome'] = 'refused'
        elif not a['synacks']:
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

# ---- second scenario set "trust" (make-scenarios.sh trust -> ../trust) ---------------------
# Each scenario has a hook that adds its own truth rows and per-attempt columns (TRUST_COLS in
# attempts.tsv; times in seconds relative to the attempt's first SYN unless said otherwise).
TRUST_COLS = ['client_start_s', 'client_end_s', 'retry_of', 'overlaps', 'first_ack_s', 'request_s',
              'reply_s', 'waiting_at_first_drop', 'still_trying_at_stop', 'next_syn_due_s',
              'ack_to_next_synack_us', 'challenge_ack_s', 'rst_to_resyn_us']
TRUST_COUNTERS = ['TcpExtTCPChallengeACK', 'TcpExtTCPSYNChallenge', 'TcpExtTCPACKSkippedSynRecv',
                  'TcpActiveOpens', 'TcpInSegs', 'TcpOutSegs']

def env_of(swork):
    return dict(load_tsv(os.path.join(swork, 'env.tsv')))

def first_packet_time(path):
    pk = read_pcap(path)
    return (pk[0][0], pk[-1][0]) if pk else (0.0, 0.0)

def match_client_rows(legit, cl):
    # client log rows <-> attempts: by source port; a port used twice in order of time
    byp = {}
    for r in sorted(cl, key=lambda r: float(r[7]) if len(r) > 7 else 0.0):
        byp.setdefault(r[2], []).append(r)
    seen = {}
    for x in sorted(legit, key=lambda x: x['syns'][0]):
        l = byp.get(str(x['cport']), [])
        i = seen.get(x['cport'], 0)
        seen[x['cport']] = i + 1
        if i < len(l):
            x['row'] = l[i]

def unanswered_syn_times(x):
    out = []
    for i, t in enumerate(x['syns']):
        nxt = x['syns'][i + 1] if i + 1 < len(x['syns']) else float('inf')
        if not any(t <= s < nxt for s in x['synacks']):
            out.append(t)
    return out

def rel(t, t0, fmt='%.3f'):
    return '' if t is None else fmt % (t - t0)

def trace_truth(sc, c, T, sdir):
    # kfree_skb reasons (IPv4 only, the whole machine during the scenario: the scenario's
    # namespaces were the only IPv4 traffic), the server's SYN-ACK retransmissions and RSTs.
    path = os.path.join(sdir, 'evidence', 'trace.txt')
    if not os.path.exists(path):
        return
    import re
    reasons, synrtx, sent_rst, rcv_rst, rst_reasons = {}, 0, 0, 0, {}
    lines = open(path).read().splitlines()
    off = None     # trace clock minus wall clock, from the script's marker
    for l in lines:
        m = re.search(r'\s(\d+\.\d+): tracing_mark_write: sdx-epoch (\d+\.\d+)', l)
        if m:
            off = float(m.group(1)) - float(m.group(2))
    c['DRT'] = []  # (epoch, reason) of every kfree_skb event, when the marker is there
    for l in lines:
        if ' kfree_skb: ' in l and 'reason: ' in l:
            r = l.rsplit('reason: ', 1)[1].strip()
            m = re.search(r'\s(\d+\.\d+): kfree_skb: ', l)
            if m and off is not None:
                c['DRT'].append((float(m.group(1)) - off, r))
            loc = l.split('location=', 1)[1].split()[0].split('+')[0] if 'location=' in l else '?'
            reasons.setdefault(r, {}).setdefault(loc, 0)
            reasons[r][loc] += 1
        elif ' tcp_retransmit_synack: ' in l:
            synrtx += 1
        elif ' tcp_send_reset: ' in l and ' src=198.18.' in l:
            sent_rst += 1
            r = l.rsplit('reason=', 1)[1].strip()
            rst_reasons[r] = rst_reasons.get(r, 0) + 1
        elif ' tcp_receive_reset: ' in l and ' saddr=198.18.' in l:
            rcv_rst += 1
    c['DR'] = {r: sum(v.values()) for r, v in reasons.items()}
    for r in sorted(reasons):
        T('evidence/trace', 'dropreason_' + r, sum(reasons[r].values()),
          'skb/kfree_skb events with this reason (IPv4), at: ' + ', '.join('%s %d' % kv for kv in sorted(reasons[r].items())))
    for r in sc.get('dropreasons_expected', []):
        if r not in reasons:
            T('evidence/trace', 'dropreason_' + r, 0, 'skb/kfree_skb events with this reason (IPv4)')
            c['DR'][r] = 0
    c['TR'] = dict(synack_retransmits=synrtx, send_reset=sent_rst, receive_reset=rcv_rst)
    T('evidence/trace', 'trace_tcp_retransmit_synack', synrtx, 'tcp/tcp_retransmit_synack events (port 8080): SYN-ACKs the server kernel sent again (timer or retransmitted SYN)')
    T('evidence/trace', 'trace_tcp_send_reset', sent_rst, 'tcp/tcp_send_reset events from 198.18.x (any of our namespaces), by reason: '
      + (', '.join('%s %d' % kv for kv in sorted(rst_reasons.items())) or 'none'))
    T('evidence/trace', 'trace_tcp_receive_reset', rcv_rst, 'tcp/tcp_receive_reset events of 198.18.x sockets (a socket reset by a RST it received)')

def client_times(x, t_first, t0):
    r = x.get('row')
    if r and len(r) > 8:
        x['X']['client_start_s'] = '%.3f' % (t0 + float(r[7]) - t_first)
        x['X']['client_end_s'] = '%.3f' % (t0 + float(r[8]) - t_first)

def hook_accept_full(sc, c, T, fname, legit, stats, swork, sdir):
    env = env_of(swork)
    t_first, t_last = first_packet_time(os.path.join(sdir, fname))
    t0 = float(env['plans_t0_epoch'])
    drops = sorted(t for x in legit for t in unanswered_syn_times(x))
    fd = drops[0] if drops else None
    # waiting: the client's third ACK seen, the server did not ignore it (no SYN-ACK after it),
    # no reply from the server yet: the connection sits in the accept queue.
    def waiting(t):
        return [x for x in legit if x['first_ack'] is not None and x['first_ack'] < t and not x['synack_after_ack']
                and (x['srv_data_t'] is None or x['srv_data_t'] > t)]
    W = waiting(fd) if fd else []
    Wr = [x for x in W if x['cli_data_t'] is not None and x['cli_data_t'] < fd]
    long = [x for x in legit if x['cli_data_t'] and x['srv_data_t'] and x['srv_data_t'] - x['cli_data_t'] > 1.0]
    c.setdefault('W', {})[fname] = dict(first=len(W), long=len(long), long_acked=len([x for x in long if not x['synack_after_ack']]))
    T('waiting_at_first_drop', len(W), 'handshakes completed (third ACK not ignored: no SYN-ACK after it) and not answered by '
      'the server when the first SYN went unanswered: the accept queue, full (backlog + 1)')
    T('waiting_with_request_at_first_drop', len(Wr), 'of those, the ones whose request had been sent too (the client program '
      'sends it right after connect(); a busy client may lag)')
    T('requests_waiting_over_1s', len(long), 'attempts whose request waited more than 1 s for the reply (the queued ones, and '
      'any whose third ACK was ignored)')
    T('first_drop_s', rel(fd, t_first), 'first unanswered SYN, s after the first packet of this capture')
    T('last_drop_s', rel(drops[-1] if drops else None, t_first), 'last unanswered SYN, s after the first packet')
    sb, se = float(env['stall_begin_epoch']), float(env['stall_end_epoch'])
    T('stall_begin_s', rel(sb, t_first), 'the application stopped calling accept(), s after the first packet (server log)')
    T('stall_end_s', rel(se, t_first), 'the application called accept() again, s after the first packet (server log)')
    rep = [x['srv_data_t'] for x in W if x['srv_data_t']]
    T('drain_first_reply_s', rel(min(rep) if rep else None, t_first), 'first reply to a waiting request, s after the first packet')
    waits = [x['srv_data_t'] - x['cli_data_t'] for x in W if x['srv_data_t']]
    T('waiting_request_wait_min_ms', '%.0f' % (1000 * min(waits)) if waits else '', 'shortest wait of the waiting requests for their reply')
    after = sum(1 for t in drops if t > se)
    T('syn_unanswered_after_stall_end', after, 'unanswered SYN transmissions after the application resumed accept() '
      '(the burst of retransmitted SYNs refilling the small queue)')
    c.setdefault('DT', {})[fname] = dict(fd=fd, ld=drops[-1] if drops else None, sb=sb, se=se,
                                         drain=min(rep) if rep else None, after=after, n=len(drops))
    per = {}
    for x in legit:
        ip = x['row'][1] if x.get('row') else x['client']
        per[ip] = per.get(ip, 0) + x['syn_unanswered_tx']
    c.setdefault('PER', {})[fname] = per
    for ip in sorted(per, key=ipkey):
        T('syn_unanswered_tx_host_' + ip, per[ip], 'unanswered SYN transmissions of LAN host %s (from the client program log: in server.pcap all are 198.18.2.1)' % ip)
    T('attempts_dropped', sum(1 for x in legit if x['syn_unanswered_tx']), 'attempts with at least one unanswered SYN')
    ws = {id(x) for x in W}
    for x in legit:
        s0 = x['syns'][0]
        X = x['X']
        X['first_ack_s'] = rel(x['first_ack'], s0)
        X['request_s'] = rel(x['cli_data_t'], s0)
        X['reply_s'] = rel(x['srv_data_t'], s0)
        X['waiting_at_first_drop'] = 'yes' if id(x) in ws else 'no'
        client_times(x, t_first, t0)

def hook_synack_race(sc, c, T, fname, legit, stats, swork, sdir):
    env = env_of(swork)
    t_first, _ = first_packet_time(os.path.join(sdir, fname))
    gaps = []
    for x in legit:
        fa = x['first_ack']
        nxt = [s for s in x['synacks'] if fa is not None and s > fa]
        if nxt:
            g = (nxt[0] - fa) * 1e6
            gaps.append(g)
            x['X']['ack_to_next_synack_us'] = '%.0f' % g
        x['X']['first_ack_s'] = rel(fa, x['syns'][0])
        client_times(x, t_first, float(env['plans_t0_epoch']))
    c.setdefault('GAPS', {})[fname] = gaps
    T('ack_to_next_synack_max_us', '%.0f' % max(gaps) if gaps else '', 'largest gap between a client ACK and the SYN-ACK after it')
    T('ack_to_next_synack_min_us', '%.0f' % min(gaps) if gaps else '', 'smallest such gap')
    # pairs of SYN-ACKs close together (< 100 ms): timer SYN-ACK and the answer to the retransmitted SYN
    pairs = []
    for x in legit:
        sa = x['synacks']
        d = [(b - a) * 1e6 for a, b in zip(sa, sa[1:]) if b - a < 0.1]
        if d:
            pairs.append(min(d))
    c.setdefault('PAIRS', {})[fname] = pairs
    T('attempts_with_close_synack_pair', len(pairs), 'attempts with two SYN-ACKs less than 100 ms apart')
    T('close_synack_pair_gap_max_us', '%.0f' % max(pairs) if pairs else '', 'largest gap of such a pair')
    n = {}
    for x in legit:
        n[len(x['synacks'])] = n.get(len(x['synacks']), 0) + 1
    c.setdefault('NSA', {})[fname] = n
    T('synacks_per_attempt', ' '.join('%d=%d' % kv for kv in sorted(n.items())), 'SYN-ACKs per attempt in this capture: count=attempts')
    rt = [x['syns'][1] - x['syns'][0] for x in legit if len(x['syns']) > 1]
    T('syn_retransmit_after_ms_max', '%.0f' % (1000 * max(rt)) if rt else '', 'client SYN retransmission, ms after its first SYN (largest)')
    T('syn_retransmit_after_ms_min', '%.0f' % (1000 * min(rt)) if rt else '', 'client SYN retransmission, ms after its first SYN (smallest)')

SCHED_NOMINAL = {'classic': [0, 1, 3, 7, 15, 31, 63, 127], 'linear': [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]}

def hook_capture_stopped(sc, c, T, fname, legit, stats, swork, sdir):
    env = env_of(swork)
    t_first, t_last = first_packet_time(os.path.join(sdir, fname))
    stop = float(env['capture_stop_epoch'])
    t0 = float(env['plans_t0_epoch'])
    sent = set(env.get('syn_sent_at_stop', '').split(','))
    T('capture_stop_s', rel(stop, t_first), 'tcpdump was stopped (SIGINT), s after the first packet')
    T('last_packet_s', rel(t_last, t_first), 'last packet of the file, s after the first')
    un = [x for x in legit if not x['synacks']]
    if fname == 'server.pcap':
        c['STOPPED'] = [','.join(str(round(o)) for o in x['offsets']) for x in sorted(un, key=lambda x: x['cport'])]
    nf = sum(1 for t, r in c.get('DRT', []) if r == 'NETFILTER_DROP' and t <= stop)
    c.setdefault('NF', {})[fname] = nf
    T('dropreason_NETFILTER_DROP_until_stop', nf, 'kfree_skb NETFILTER_DROP events until the capture stopped (trace timestamps mapped to the wall clock)')
    T('attempts_trying_at_stop', sum(1 for x in un if str(x['cport']) in sent),
      'unanswered attempts whose socket was still in SYN-SENT when the capture stopped (ss in the client namespaces)')
    T('attempts_gave_up_in_capture', sum(1 for x in un if x.get('row') and t0 + float(x['row'][8]) < stop),
      'unanswered attempts whose connect() ended before the capture stopped')
    for x in sorted(un, key=lambda x: x['cport']):
        s0 = x['syns'][0]
        g = group_of(sc, x['row'][1], x['cport']) if x.get('row') else ''
        nom = SCHED_NOMINAL['classic' if 'classic' in g else 'linear']
        due = [o for o in nom if o > round(x['syns'][-1] - s0)]
        X = x['X']
        X['still_trying_at_stop'] = 'yes' if str(x['cport']) in sent else 'no'
        X['next_syn_due_s'] = '%d' % due[0] if due else ''
        c.setdefault('DUE', []).append(s0 + due[0] - stop if due else -1)
        T('syn_offsets_%d' % x['cport'], fmt_off(x['offsets']), 'SYN times of attempt %s:%d, s after its first SYN (group %s)' % (x['client'], x['cport'], g))
        T('first_syn_s_%d' % x['cport'], rel(s0, t_first), 'its first SYN, s after the first packet of the file')
        T('next_syn_due_s_%d' % x['cport'], X['next_syn_due_s'], 'when its next SYN was due (nominal %s schedule, s after its first SYN): after the capture stopped' % ('classic' if 'classic' in g else 'linear'))
        T('still_trying_at_stop_%d' % x['cport'], X['still_trying_at_stop'], 'its socket was in SYN-SENT when the capture stopped')
        T('capture_after_first_syn_s_%d' % x['cport'], rel(stop, s0), 'the capture stopped this long after its first SYN (before next_syn_due_s)')
        T('last_packet_after_first_syn_s_%d' % x['cport'], rel(t_last, s0), 'the file\'s last packet, this long after its first SYN')
    for x in legit:
        client_times(x, t_first, t0)

def hook_app_retry(sc, c, T, fname, legit, stats, swork, sdir):
    env = env_of(swork)
    t_first, _ = first_packet_time(os.path.join(sdir, fname))
    t0 = float(env['plans_t0_epoch'])
    cl = load_tsv(os.path.join(swork, 'clients.tsv'))
    iv = [(r[1], r[2], float(r[7]), float(r[8])) for r in cl]
    for x in legit:
        r = x.get('row')
        if not r:
            continue
        me = (r[1], r[2], float(r[7]), float(r[8]))
        ov = sorted(int(o[1]) for o in iv if o[0] == me[0] and o[1] != me[1] and o[2] < me[3] and me[2] < o[3])
        x['X']['retry_of'] = r[9]
        x['X']['overlaps'] = ','.join(map(str, ov)) or '-'
        c.setdefault('OV', {})[r[2]] = x['X']['overlaps']
        client_times(x, t_first, t0)
    retries = [x for x in legit if x['X'].get('retry_of', '-') != '-']
    firsts = {x['X']['retry_of'] for x in retries}
    chains = [x for x in legit if x['X'].get('retry_of') == '-' and str(x['cport']) in firsts]
    T('retries', len(retries), 'attempts that the program made as a retry of an earlier failed one (client log)')
    T('retry_chains', len(chains), 'first attempts that were retried')
    T('attempts_overlapping', sum(1 for x in legit if x['X'].get('overlaps', '-') != '-'),
      'attempts that overlap in time with another attempt of the same host (client log: connect() to close())')
    T('retries_overlapping', sum(1 for x in retries if x['X'].get('overlaps', '-') != '-'),
      'retries that overlap another attempt of the same host (never the one they retry)')
    fails = [x for x in legit if x['outcome'] != 'served']
    retried = {x['X']['retry_of'] for x in retries}
    T('failed_attempts', len(fails), 'attempts that failed (refused or not served)')
    T('failed_attempts_retried', sum(1 for x in fails if str(x['cport']) in retried), 'failed attempts the program retried')
    T('failed_operations', sum(1 for x in fails if str(x['cport']) not in retried), 'failed attempts not retried (a chain counts once: its last attempt)')
    c.setdefault('RT', {})[fname] = dict(retries=len(retries), chains=len(chains), fails=len(fails))
    for x in sorted(legit, key=lambda x: x['cport']):
        T('attempt_%d' % x['cport'], '%s dport=%d retry_of=%s overlaps=%s' % (x['outcome'], x['sport'], x['X'].get('retry_of', ''),
          x['X'].get('overlaps', '')), 'attempt from %s: outcome, server port, retry_of, overlapping attempts of the same host' % x['client'])

def hook_stale(sc, c, T, fname, legit, stats, swork, sdir):
    env = env_of(swork)
    t_first, _ = first_packet_time(os.path.join(sdir, fname))
    st = []
    for x in legit:
        client_times(x, t_first, float(env['plans_t0_epoch']))
        if not x['srv_bare_ack']:
            continue
        s0, ca = x['syns'][0], x['srv_bare_ack'][0]
        rst = [t for t in x['cli_rst'] if t >= ca]
        resyn = [t for t in x['syns'] if rst and t > rst[0]]
        X = x['X']
        X['challenge_ack_s'] = rel(ca, s0, '%.6f')
        if rst and resyn:
            X['rst_to_resyn_us'] = '%.0f' % ((resyn[0] - rst[0]) * 1e6)
            st.append((x, (resyn[0] - rst[0]) * 1e6, (rst[0] - ca) * 1e6, x['outcome']))
    c.setdefault('ST', {})[fname] = st
    T('stale_attempts', len(st), 'attempts whose SYN was answered with a bare ACK, then the client RST and re-SYN')
    T('stale_attempts_served', sum(1 for s in st if s[3] == 'served'), 'of those: served')
    if st:
        T('rst_to_resyn_us_max', '%.0f' % max(s[1] for s in st), 'client RST to its re-SYN, largest')
        T('rst_to_resyn_us_min', '%.0f' % min(s[1] for s in st), 'client RST to its re-SYN, smallest')
        T('challenge_ack_to_rst_us_max', '%.0f' % max(s[2] for s in st), 'bare ACK to the client RST, largest')
    for x, g, r, o in st:
        T('rst_to_resyn_ms_%d' % x['cport'], '%.1f' % (g / 1000), 'client %s:%d RST to re-SYN (ms); outcome %s' % (x['client'], x['cport'], o))
        T('outcome_stale_%d' % x['cport'], o, 'outcome of the attempt that hit the stale connection')

G_HOSTS = [dict(name='host%d' % k, ips=['198.18.1.1%d' % k], desc='LAN host 198.18.1.1%d' % k) for k in (1, 2, 3, 4)]
# stable: the same value on every run (checked by comparing runs); these are timing dependent
TRUST_UNSTABLE = ['*_epoch', 'delta_TcpInSegs', 'delta_TcpOutSegs', 'dropreason_QUEUE_PURGE', '*_s', '*_s_*',
                  '*_us*', '*_ms*']
META_TRUST = []
META_TRUST = [
 dict(name='accept-full-nat', set='trust', port_base=48000, groups=G_HOSTS, nat=True, hook=hook_accept_full,
      counters_extra=TRUST_COUNTERS, dropreasons_expected=['TCP_LISTEN_OVERFLOW'],
      unstable=TRUST_UNSTABLE + ['packets', 'syn_packets', 'synack_packets', 'syn_tx', 'syn_retrans', 'syn_unanswered_tx',
                                 'synack_tx', 'synack_after_ack', 'attempts_retransmitted', 'attempts_with_synack_after_ack',
                                 'schedules_*', 'syn_offsets_*', 'tsval_decreases_*', 'delta_TcpExtListen*',
                                 'delta_TcpExtTCPReqQFullDoCookies', 'delta_TcpExtSyncookies*', 'delta_TcpRetransSegs',
                                 'delta_TcpExtTCPSynRetrans', 'delta_TcpExtTCPACKSkippedSynRecv', 'outcome_synack_only',
                                 'waiting_with_request_at_first_drop', 'requests_waiting_over_1s', 'attempts_dropped',
                                 'syn_unanswered_tx_host_*', 'syn_unanswered_after_stall_end', 'dropreason_*',
                                 'trace_tcp_retransmit_synack'],
      checks=[("ListenOverflows moved", "c['d']['TcpExtListenOverflows'] > 0"),
              ("ListenDrops == ListenOverflows", "c['d']['TcpExtListenDrops'] == c['d']['TcpExtListenOverflows']"),
              ("no SYN-queue drop", "c['d']['TcpExtTCPReqQFullDrop'] == 0"),
              ("5 handshakes waiting at the first drop (listen(4): backlog + 1), in both captures", "c['W']['server.pcap']['first'] == 5 and c['W']['client-lan.pcap']['first'] == 5"),
              ("the 5 are the requests that waited over 1 s (besides any whose ACK was ignored)", "c['W']['server.pcap']['long_acked'] == 5 and c['W']['client-lan.pcap']['long_acked'] == 5"),
              ("accept queue seen full: Recv-Q 5", "c['ENV'].get('ss_recvq_max') == '5'"),
              ("overflows = unanswered SYNs (consumed, not traced) + cookie ACKs and ACKs that met a full queue (traced)", "c['d']['TcpExtListenOverflows'] == c['S']['server.pcap']['syn_unanswered_tx'] + c['DR'].get('NO_SOCKET', 0) + c['DR'].get('TCP_LISTEN_OVERFLOW', 0)"),
              ("no cookie failed", "c['d']['TcpExtSyncookiesFailed'] == 0"),
              ("every connection served", "c['R'].get('ok', 0) == c['N'] and c['O']['server.pcap'].get('served', 0) == c['N'] and c['O']['client-lan.pcap'].get('served', 0) == c['N']"),
              ("SYNs of every host dropped", "len(c['PER']['client-lan.pcap']) == 4 and min(c['PER']['client-lan.pcap'].values()) > 0"),
              ("drops begin after the stall began; at most 15 % of them after it ended", "all(v['sb'] < v['fd'] and v['after'] <= 0.15 * v['n'] for v in c['DT'].values())"),
              ("few SYN-ACKs after ACK", "c['S']['server.pcap']['synack_after_ack'] <= 6"),
              ("one source IP after NAT, four before", "c['IPS']['server.pcap'] == ['198.18.2.1'] and len(c['IPS']['client-lan.pcap']) == 4"),
              ("client capture = server capture", "c['P']['server.pcap'] == c['P']['client-lan.pcap']")]), dict(name='synack-race', set='trust', port_base=49000, hook=hook_synack_race, counters_extra=TRUST_COUNTERS,
      groups=[dict(name='all', ips=['198.18.1.11', '198.18.1.12', '198.18.1.13', '198.18.1.14'], desc='default sysctls')],
      unstable=TRUST_UNSTABLE + ['packets', 'synack_packets', 'synack_tx', 'synack_after_ack', 'attempts_with_synack_after_ack',
                                 'attempts_with_close_synack_pair', 'synacks_per_attempt', 'delta_TcpRetransSegs',
                                 'delta_TcpExtTCPSynRetrans', 'dropreason_TCP_INVALID_SYN', 'trace_tcp_retransmit_synack'],
      checks=[("the wire dropped one SYN-ACK per connection", "c['ENV'].get('wire_synacks_dropped') == str(c['N'])"),
              ("no listener drop", "c['d']['TcpExtListenOverflows'] == 0 and c['d']['TcpExtListenDrops'] == 0"),
              ("all served", "c['R'].get('ok', 0) == c['N'] and c['O']['server.pcap'].get('served', 0) == c['N']"),
              ("every client retransmitted its SYN once", "c['S']['client-lan.pcap']['syn_retrans'] == c['N'] and c['S']['server.pcap']['syn_retrans'] == c['N']"),
              ("races seen: SYN-ACK after the ACK in the client capture", "c['S']['client-lan.pcap']['attempts_with_synack_after_ack'] > 0"),
              ("never in the server capture (the SYN-ACK pair leaves before the ACK arrives)", "c['S']['server.pcap']['synack_after_ack'] == 0"),
              ("SYN-ACK retransmissions = tracepoint = TCPSynRetrans", "c['S']['server.pcap']['synack_tx'] - c['N'] == c['d']['TcpExtTCPSynRetrans'] == c['TR']['synack_retransmits']"),
              ("each race: 3 SYN-ACKs in the server capture (the lost one, the timer's, the answer to the SYN), else 2", "c['NSA']['server.pcap'].get(3, 0) == c['S']['client-lan.pcap']['attempts_with_synack_after_ack'] and c['NSA']['server.pcap'].get(3, 0) + c['NSA']['server.pcap'].get(2, 0) == c['N']"),
              ("client capture: gap ACK -> SYN-ACK under 100 ms", "max(c['GAPS']['client-lan.pcap']) < 100000")]),
 dict(name='capture-stopped', set='trust', port_base=50000, hook=hook_capture_stopped, counters_extra=TRUST_COUNTERS,
      groups=[dict(name='blocked-classic', ips=['198.18.1.11'], desc='198.18.1.11, dropped by iptables, tcp_syn_linear_timeouts=0'),
              dict(name='blocked-linear', ips=['198.18.1.12'], ports=[50200], desc='198.18.1.12, dropped by iptables, default tcp_syn_linear_timeouts=4'),
              dict(name='blocked-late', ips=['198.18.1.12'], ports=[50250], desc='198.18.1.12, dropped, started 0.5 s before the capture stopped'),
              dict(name='served', ips=['198.18.1.13', '198.18.1.14'], desc='not blocked')],
      dropreasons_expected=['NETFILTER_DROP'],
      unstable=TRUST_UNSTABLE + ['syn_offsets_5*', 'iptables_drop_packets*', 'dropreason_NETFILTER_DROP'],
      stable_keep=['next_syn_due_s_*'],
      checks=[("4 attempts unanswered, 18 served", "c['O']['server.pcap'].get('unanswered', 0) == 4 and c['O']['server.pcap'].get('served', 0) == 18"),
              ("all 4 still in SYN-SENT at the stop", "c['ENV'].get('syn_sent_at_stop') == '50100,50101,50200,50250'"),
              ("SYNs in the capture: classic +0 +1, linear +0 +1 +2, late +0", "[a for a in c['STOPPED']] == ['0,1', '0,1', '0,1,2', '0']"),
              ("firewall drops until the stop (trace) = unanswered SYNs in server.pcap", "c['NF']['server.pcap'] == c['S']['server.pcap']['syn_unanswered_tx']"),
              ("the programs gave up after the stop (python timeout)", "c['R'].get('connect:ETIMEDOUT', 0) == 4"),
              ("every blocked attempt's next SYN was due after the capture stopped", "all(d > 0 for d in c['DUE'])"),
              ("no listener drop", "c['d']['TcpExtListenDrops'] == 0")]),
 dict(name='app-retry', set='trust', port_base=51000, hook=hook_app_retry, counters_extra=TRUST_COUNTERS,
      ports=[8080, 8081], refused=True,
      groups=[dict(name='host1', ips=['198.18.1.11'], desc='198.18.1.11'), dict(name='host2', ips=['198.18.1.12'], desc='198.18.1.12')],
      dropreasons_expected=['NO_SOCKET'],
      unstable=TRUST_UNSTABLE,
      checks=[("7 refused, 3 served", "c['O']['server.pcap'].get('refused', 0) == 7 and c['O']['server.pcap'].get('served', 0) == 3"),
              ("4 retries in 2 chains", "c['RT']['server.pcap']['retries'] == 4 and c['RT']['server.pcap']['chains'] == 2"),
              ("the independent refusal overlaps the first attempt of the chain", "c['OV'].get('51110') == '51100'"),
              ("the held connection overlaps two retries", "c['OV'].get('51111') == '51101,51102'"),
              ("RSTs = refused SYNs (tracepoint)", "c['TR']['send_reset'] == 7")]),
 dict(name='stale-timewait', set='trust', port_base=52000, hook=hook_stale, counters_extra=TRUST_COUNTERS,
      groups=[dict(name='stale', ips=['198.18.1.11', '198.18.1.12'], desc='reconnects from the port of a connection the server still holds'),
              dict(name='control', ips=['198.18.1.13'], desc='an ordinary connection')],
      unstable=TRUST_UNSTABLE,
      checks=[("2 stale attempts, both served", "c['ST']['server.pcap'] and len(c['ST']['server.pcap']) == 2 and all(s[3] == 'served' for s in c['ST']['server.pcap']) and len(c['ST']['client-lan.pcap']) == 2"),
              ("re-SYN milliseconds after the RST (TCP_TIMEOUT_MIN = 2 jiffies = 8 ms; < 100 ms even under load), client capture", "all(4000 <= s[1] <= 100000 for s in c['ST']['client-lan.pcap'])"),
              ("the client answered the bare ACK at once with its RST", "all(s[2] < 2000 for s in c['ST']['client-lan.pcap'])"),
              ("server: SYN challenged and its connection reset", "c['d']['TcpExtTCPSYNChallenge'] == 2 and c['d']['TcpEstabResets'] >= 2"),
              ("the first connections' RSTs were dropped by the clients", "c['ENV'].get('client_c1_output_drops') == '1' and c['ENV'].get('client_c2_output_drops') == '1'"),
              ("all 5 connections ok", "c['R'].get('ok', 0) == 5")]),
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
    for sc in META + META_TRUST:
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
        counters = COUNTERS + sc.get('counters_extra', [])
        d = {k: a.get(k, 0) - b.get(k, 0) for k in counters}
        c['d'] = d
        for k in counters:
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
        c['N'] = len(cl)
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
                 'rst_after_ack', 'closed_first', 'syn_tsval', 'client_result'] + (TRUST_COLS if sc.get('hook') else [])]
        if sc.get('hook'):
            trace_truth(sc, c, T, sdir)
        for fname, side in (('server.pcap', 'server'), ('client-lan.pcap', 'client')):
            path = os.path.join(sdir, fname)
            stats, at = attempts(path, sc.get('ports', 8080), refused=sc.get('refused', False))
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
            for k, note in ((('served', 'SYN-ACK, and the server application answered (server sent data)'),
                            ('reset_after_ack', 'server RST after the client ACKed the SYN-ACK, no data'),
                            ('unanswered', 'no SYN-ACK at all'),
                            ('synack_only', 'SYN-ACK, but never served within the capture'))
                            + ((('refused', 'no SYN-ACK, the server answered the SYN with a RST (closed port)'),) if sc.get('refused') else ())):
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
            if sc.get('hook'):
                for x in legit:
                    x['X'] = {}
                match_client_rows(legit, cl)
                def HT(m, v, n='', fname=fname):
                    c.setdefault('HT', {}).setdefault(fname, []).append((m, v))
                    T(fname, m, v, n)
                sc['hook'](sc, c, HT, fname, legit, stats, swork, sdir)
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
                r = x.get('row') or byport.get(str(x['cport']))
                rows.append([fname, x['client'], str(x['cport']), x['server'], str(x['sport']),
                             group_of(sc, r[1], x['cport']) if r else '', str(x['isn']), x['outcome'],
                             str(len(x['syns'])), str(x['syn_unanswered_tx']), fmt_off(x['offsets']),
                             sched_name(x['offsets']), '' if x['connect_s'] is None else '%.3f' % x['connect_s'],
                             str(len(x['synacks'])), str(x['synack_after_ack']), str(x['rst_after_ack']),
                             x['closed_first'], '' if x['syn_ts'][0] is None else str(x['syn_ts'][0]),
                             r[3] if r else ''] + ([str(x['X'].get(k, '')) for k in TRUST_COLS] if sc.get('hook') else []))
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
          .replace('@DATE@', env['date']).replace('@LINEAR@', env['linear']).replace('@DEFAULTS@', env['defaults'])
          .replace('@HZ@', env.get('hz') or 'unknown'))
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
        for fname, l in sorted(c.get('HT', {}).items(), key=lambda kv: kv[0] != 'server.pcap'):
            w('- `%s`, this scenario\'s own figures: %s.' % (fname, '; '.join('`%s` %s' % (m, v if v != '' else '-') for m, v in l)))
        if c.get('DR') is not None:
            w('- Kernel drop reasons (tracefs `skb/kfree_skb`, IPv4, during the run): %s; `tcp_retransmit_synack` %d, `tcp_send_reset` %d, `tcp_receive_reset` %d.'
              % (', '.join('`%s` %d' % kv for kv in sorted(c['DR'].items())) or 'none', c['TR']['synack_retransmits'],
                 c['TR']['send_reset'], c['TR']['receive_reset']))
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
     'analyze': analyze, 'cutpcap': cutpcap}[cmd](*args)
PYEOF

# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
SRV=198.18.2.2
DELAY_MS=10     # one-way delay router <-> server: every scenario has a 20 ms RTT
RTR_WAN=198.18.2.1
WIRE_OPTS=      # options of the delay line (python wire()); empty: a plain delay line
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
  ip netns exec sdx-rtr "$PY" "$HELPER" wire sdxr2 sdx-srv sdxs0 "$DELAY_MS" "$SW/wire.ready" ${WIRE_OPTS:+"$WIRE_OPTS"} >"$SW/wire.out" 2>&1 &
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

# Kernel tracing (trust set): a tracefs instance of our own records skb/kfree_skb (IPv4 only:
# the drop reason) and tcp_retransmit_synack / tcp_send_reset / tcp_receive_reset while a
# scenario runs; the events are machine-wide (tracepoints know no namespace), the scenario's
# namespaces being the only IPv4 traffic. SDX_NOTRACE=1 skips it.
TRACE_INST=
TRACE_MOUNTED=
TRACE_EVENTS="skb/kfree_skb tcp/tcp_retransmit_synack tcp/tcp_send_reset tcp/tcp_receive_reset"
trace_start() {
  local T=/sys/kernel/tracing e
  [[ -z ${SDX_NOTRACE:-} ]] || return 0
  if [[ ! -e $T/instances ]]; then
    if mount -t tracefs nodev "$T" 2>/dev/null; then TRACE_MOUNTED=1; else log "no tracefs: no drop reasons"; return 0; fi
  fi
  TRACE_INST=$T/instances/sdx-$$
  mkdir "$TRACE_INST" || { TRACE_INST=; log "no tracefs instance: no drop reasons"; return 0; }
  echo 4096 >"$TRACE_INST/buffer_size_kb"
  # CLOCK_TAI timestamps, and a marker with the wall clock: the analysis maps events to epochs.
  echo tai >"$TRACE_INST/trace_clock" 2>/dev/null || true
  echo "sdx-epoch $(now_plus 0)" >"$TRACE_INST/trace_marker"
  echo 'protocol == 2048' >"$TRACE_INST/events/skb/kfree_skb/filter"
  echo 'sport == 8080' >"$TRACE_INST/events/tcp/tcp_retransmit_synack/filter"
  for e in $TRACE_EVENTS; do echo 1 >"$TRACE_INST/events/$e/enable"; done
}
trace_remove() {
  local e
  [[ -n $TRACE_INST ]] || return 0
  for e in $TRACE_EVENTS; do echo 0 >"$TRACE_INST/events/$e/enable" 2>/dev/null; done
  rmdir "$TRACE_INST" 2>/dev/null || log "could not remove $TRACE_INST"
  TRACE_INST=
}
trace_stop() {
  [[ -n $TRACE_INST ]] || return 0
  echo 0 >"$TRACE_INST/tracing_on"
  grep -v '^#' "$TRACE_INST/trace" >"$EV/trace.txt" || true
  trace_remove
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

# plan GROUP NS_INDEX FIRST_PORT COUNT START STEP MODE [OPTIONS] : append COUNT connections from
# client k (198.18.1.1k) on ports FIRST_PORT.., starting at START s, STEP s apart; MODE sc|cc|alt
# (alt: sc on even, cc on odd ports); OPTIONS: per-connection options of the python clients.
plan() {
  local g=$1 k=$2 p0=$3 n=$4 start=$5 step=$6 mode=$7 opts=${8:-} i m
  for i in $(seq 0 $((n - 1))); do
    m=$mode
    if [[ $mode == alt ]]; then m=$([[ $(( (p0 + i) % 2 )) -eq 0 ]] && echo sc || echo cc); fi
    printf '%s\t198.18.1.%d\t%d\t%s\t8080\t%s\t%s\t16%s\n' "$g" $((10 + k)) $((p0 + i)) $SRV \
      "$(awk -v s="$start" -v d="$step" -v i="$i" 'BEGIN{printf "%.3f", s + d * i}')" "$m" "${opts:+	$opts}" >>"$SW/plan-c$k.tsv"
  done
}
# plan_one GROUP NS_INDEX PORT DPORT START MODE [OPTIONS] : one connection to $SRV:DPORT.
plan_one() {
  printf '%s\t198.18.1.%d\t%d\t%s\t%d\t%s\t%s\t16%s\n' "$1" $((10 + $2)) "$3" $SRV "$4" "$5" "$6" "${7:+	$7}" >>"$SW/plan-c$2.tsv"
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

# ---------------------------------------------------------------------------------------
# Second set, "trust" (make-scenarios.sh trust): scenarios S = 8.. written into ../trust.
# ---------------------------------------------------------------------------------------
# t0_check T0 : fail if the common start time has passed already (the plans would bunch up).
t0_check() {
  awk -v t="$1" -v n="$(now_plus 0)" 'BEGIN{exit !(n < t)}' || die "$SC: start time passed during the setup"
}
# sleep_until EPOCH
sleep_until() { sleep "$(awk -v t="$1" -v n="$(now_plus 0)" 'BEGIN{d = t - n; printf "%.3f", (d > 0 ? d : 0)}')"; }
plus() { awk -v t="$1" -v d="$2" 'BEGIN{printf "%.3f", t + d}'; }

# accept-full-nat (S=8): 4 LAN hosts behind a masquerading router; listen(4); the application
# calls no accept() from t=1.5 s to t=6.5 s, then drains the queue.
scen_accept_full_nat() {
  local t0
  begin_scenario accept-full-nat
  setup_topo 4
  nsx sdx-rtr iptables -t nat -A POSTROUTING -o sdxr2 -j MASQUERADE
  plan host1 1 48100 60 0.00 0.15 alt
  plan host2 2 48200 45 0.04 0.20 alt
  plan host3 3 48300 36 0.08 0.25 alt
  plan host4 4 48400 50 0.12 0.18 alt
  ev_before
  trace_start
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  t0=$(now_plus 4)
  start_server 4 "stall:1.5:5.0:$t0"
  ss_watch "$(awk -v t="$t0" -v n="$(now_plus 0)" 'BEGIN{printf "%.1f", t - n + 8}')"
  t0_check "$t0"
  run_plans 60 "$t0"
  ss_wait
  cap_stop
  trace_stop
  ev_after
  {
    printf 'plans_t0_epoch\t%s\n' "$t0"
    awk -F'\t' '$1 == "stall_begin" {print "stall_begin_epoch\t" $2} $1 == "stall_end" {print "stall_end_epoch\t" $2}' "$SW/server.log"
    printf 'router_masquerade_packets\t%s\n' "$(nsx sdx-rtr iptables -t nat -L POSTROUTING -nvx | awk '/MASQUERADE/ {print $1}')"
    printf 'ss_recvq_max\t%s\n' "$(awk '$4 ~ /:8080$/ {print $2}' "$EV/ss-lnt.txt")"
  } >"$SW/env.tsv"
  end_scenario
}

# synack-race (S=9): the delay line discards the first SYN-ACK of every connection; listen(128),
# fast application; 4 clients x 8 connections, 300 ms apart.
scen_synack_race() {
  local k t0
  begin_scenario synack-race
  : >"$SW/wire-drops.log"
  WIRE_OPTS="dropfirst_synack=$SW/wire-drops.log"
  setup_topo 4
  WIRE_OPTS=
  start_server 128 fast
  for k in 1 2 3 4; do plan all $k $((49000 + 100 * k)) 8 "$(awk -v k=$k 'BEGIN{print 0.075 * (k - 1)}')" 0.3 alt; done
  ev_before
  trace_start
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  ( sleep 3; ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  t0=$(now_plus 3)
  run_plans 60 "$t0"
  ss_wait
  cap_stop
  trace_stop
  ev_after
  cp "$SW/wire-drops.log" "$EV/wire-drops.tsv"
  {
    printf 'plans_t0_epoch\t%s\n' "$t0"
    printf 'wire_synacks_dropped\t%s\n' "$(wc -l <"$SW/wire-drops.log")"
  } >"$SW/env.tsv"
  end_scenario
}

# capture-stopped (S=10): the server's firewall drops the SYNs of 198.18.1.11 (classic schedule)
# and 198.18.1.12 (default linear); .13 and .14 are served; both captures are stopped at
# t=2.5 s while the blocked clients are still retransmitting (their programs give up at
# 4.5 s): tcpdump runs on, and both files are cut at the stop instant afterwards.
scen_capture_stopped() {
  local t0 stopper k
  begin_scenario capture-stopped
  setup_topo 4
  nsx sdx-srv iptables -A INPUT -s 198.18.1.11 -p tcp --syn -j DROP
  nsx sdx-srv iptables -A INPUT -s 198.18.1.12 -p tcp --syn -j DROP
  nsx sdx-c1 sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
  start_server 128 fast
  plan blocked-classic 1 50100 2 0 0.3 alt timeout=4.5
  plan blocked-linear 2 50200 1 0 0 alt timeout=4.5
  plan blocked-late 2 50250 1 2.0 0 alt timeout=2.5
  plan served 3 50300 9 0.1 0.25 alt
  plan served 4 50400 9 0.2 0.25 alt
  ev_before
  trace_start
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  t0=$(now_plus 3)
  # The capture ends at t=2.5 s exactly (the files are cut there afterwards); then note which
  # client sockets are still in SYN-SENT (the blocked ones stay so until their programs give
  # up at t=4.5 s).
  ( sleep_until "$(plus "$t0" 2.5)"
    printf 'capture_stop_epoch\t%s\n' "$(plus "$t0" 2.5)" >"$SW/stop.tsv"
    printf 'iptables_drop_packets_at_stop\t%s\n' "$(ip netns exec sdx-srv iptables -L INPUT -nvx | awk '$3 == "DROP" {s += $1} END {print s}')" >>"$SW/stop.tsv"
    for k in 1 2 3 4; do
      printf '# sdx-c%d: ss -tn state syn-sent, at the capture stop\n' $k
      ip netns exec sdx-c$k ss -Htn state syn-sent
    done >"$EV/ss-syn-sent-at-stop.txt"
    printf 'syn_sent_at_stop\t%s\n' "$(awk '!/^#/ {n = split($3, a, ":"); print a[n]}' "$EV/ss-syn-sent-at-stop.txt" | sort -n | paste -sd, -)" >>"$SW/stop.tsv"
  ) &
  stopper=$!; PIDS+=("$stopper")
  run_plans 60 "$t0"
  wait "$stopper" || die "capture stopper failed"; forget_pid "$stopper"
  cap_stop
  # The capture ends at the stop: every record after capture_stop_epoch goes (SIGINT at that
  # instant could lose what tcpdump had not read yet on a busy machine).
  for f in server client-lan; do
    "$PY" "$HELPER" cutpcap "$OUT/$SC/$f.pcap" "$(awk -F'\t' '$1 == "capture_stop_epoch" {print $2}' "$SW/stop.tsv")" >>"$SW/cut.out"
  done
  trace_stop
  ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt"
  ev_after
  {
    printf 'plans_t0_epoch\t%s\n' "$t0"
    cat "$SW/stop.tsv"
    printf 'iptables_drop_packets\t%s\n' "$(nsx sdx-srv iptables -L INPUT -nvx | awk '$3 == "DROP" {s += $1} END {print s}')"
  } >"$SW/env.tsv"
  end_scenario
}

# app-retry (S=11): the program on 198.18.1.11 connects to the closed port 8081 and retries
# 3 times, 0.5 s after each refusal, from the next source port; other threads of the same host
# and of 198.18.1.12 connect independently (to 8080 and 8081) at overlapping times.
scen_app_retry() {
  local t0
  begin_scenario app-retry
  setup_topo 2
  start_server 128 fast
  plan_one chain 1 51100 8081 0.000 cc retry=3:0.5
  plan_one independent 1 51110 8081 0.005 cc
  plan_one independent 1 51111 8080 0.300 cc hold=1.0
  plan_one independent 2 51200 8080 0.100 sc
  plan_one chain 2 51201 8081 0.510 cc retry=1:0.5
  plan_one independent 2 51210 8080 0.800 cc hold=0.6
  ev_before
  trace_start
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  ( sleep 1.5; ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  t0=$(now_plus 3)
  run_plans 30 "$t0"
  ss_wait
  cap_stop
  trace_stop
  ev_after
  printf 'plans_t0_epoch\t%s\n' "$t0" >"$SW/env.tsv"
  end_scenario
}

# stale-timewait (S=12): 198.18.1.11 and .12 close a connection with a RST that their own
# OUTPUT chain drops (the server keeps it ESTABLISHED), then connect again from the same port
# (at t=2.5 s).
scen_stale() {
  local t0 k rules
  begin_scenario stale-timewait
  setup_topo 3
  for k in 1 2; do
    nsx sdx-c$k iptables -A OUTPUT -p tcp --dport 8080 --tcp-flags RST RST -j DROP
    nsx sdx-c$k iptables -A OUTPUT -p tcp --dport 8080 --tcp-flags FIN FIN -j DROP
  done
  start_server 128 fast
  plan_one first 1 52100 8080 0.000 cc linger0
  plan_one stale 1 52100 8080 2.500 cc
  plan_one first 2 52200 8080 0.050 cc linger0
  plan_one stale 2 52200 8080 2.550 cc
  plan_one control 3 52300 8080 1.000 cc
  ev_before
  trace_start
  cap_start sdx-srv sdxs0 "$OUT/$SC/server.pcap"
  cap_start sdx-rtr sdxbr1 "$OUT/$SC/client-lan.pcap"
  t0=$(now_plus 3)
  # From t=0.5 s, once both first connections are closed (their RSTs dropped; at most until
  # t=2.3 s): what the server holds, the clients' drop counters, then the rules go.
  ( sleep_until "$(plus "$t0" 0.5)"
    for k in $(seq 1 18); do
      [[ $(ip netns exec sdx-c1 iptables -L OUTPUT -nvx | awk '$3 == "DROP" {s += $1} END {print s + 0}') -ge 1 &&
         $(ip netns exec sdx-c2 iptables -L OUTPUT -nvx | awk '$3 == "DROP" {s += $1} END {print s + 0}') -ge 1 ]] && break
      sleep 0.1
    done
    ip netns exec sdx-srv ss -tn >"$EV/ss-tn-server-before-reconnect.txt"
    ip netns exec sdx-srv ss -lnt >"$EV/ss-lnt.txt"
    for k in 1 2; do
      printf 'client_c%d_output_drops\t%s\n' $k "$(ip netns exec sdx-c$k iptables -L OUTPUT -nvx | awk '$3 == "DROP" {s += $1} END {print s}')"
      ip netns exec sdx-c$k iptables -F OUTPUT
    done >"$SW/rules.tsv" ) &
  SSW_PID=$!; PIDS+=("$SSW_PID")
  run_plans 30 "$t0"
  ss_wait
  cap_stop
  trace_stop
  ev_after
  { printf 'plans_t0_epoch\t%s\n' "$t0"; cat "$SW/rules.tsv"; } >"$SW/env.tsv"
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

write_readme_template_trust() {
cat >"$WORK/readme.md" <<'MDEOF'
@@head
# Real-kernel scenarios for trust (generated)

Generated by `../scenarios/make-scenarios.sh trust` (run as root, about 2 minutes): the second
scenario set of that script. It rebuilds every scenario folder here, `truth.tsv` and this README,
and replaces them only if every scenario ran and every check passed; the first set in
`../scenarios` is not touched. Do not edit these files by hand.

Generated on: kernel @KERNEL@ (`CONFIG_HZ=@HZ@`), @TCPDUMP@, @DATE@.
Kernel defaults in a fresh network namespace: @DEFAULTS@.

Each scenario proves one diagnosis mechanism of issue 11 on real Linux TCP stacks in network
namespaces (no packet here is forged; the only help from outside the kernel is the delay line
that, in `synack-race`, discards one SYN-ACK per connection).

## Setup

The topology, the python server and clients, the 10 ms each-way delay line, the captures and the
evidence files are those of `../scenarios/README.md` ("Setup shared by all scenarios"):
`sdx-c1..4` = 198.18.1.11-14 on the router's LAN bridge (`client-lan.pcap`, TTL 64), the router
`sdx-rtr`, the server `sdx-srv` 198.18.2.2 (`server.pcap` on its interface, before its netfilter
hooks; client packets TTL 63). Port 8080 is the listener; 8081 is closed. Source ports are
fixed: 40000 + 1000*S + 100*k + i with S = 8..12 for the scenarios of this set in the order of
this file, k = client 1..4.

Additions in this set:

- The clients log one line per connect() with the wall-clock start and end (just before
  connect(), just after close()) and, for an application retry, the port of the attempt it
  retries. Options per connection: a socket timeout of its own (the program gives up), `hold`
  (keep the connection open after the reply), `linger0` (close with a RST), `retry=N:D`.
- Server policy `stall`: the application calls no accept() at all for a while.
- Delay-line option `dropfirst_synack`: the first SYN-ACK of every 4-tuple coming from the server
  is discarded (logged in `evidence/wire-drops.tsv`).
- `evidence/trace.txt`: kernel tracepoints recorded with a tracefs instance of the script's own
  during the run: `skb/kfree_skb` (IPv4; the drop reason and the function that freed the
  packet), `tcp/tcp_retransmit_synack` (server port 8080), `tcp/tcp_send_reset`,
  `tcp/tcp_receive_reset`; trace clock CLOCK_TAI, and a marker line `sdx-epoch <wall clock>`
  written at the start maps event times to the captures' clock. Tracepoints know no network
  namespace: the events are
  machine-wide, filtered by protocol (and for the RST events by 198.18.x addresses); the
  machine had no other IPv4 traffic worth naming. In every scenario `QUEUE_PURGE` at
  `sk_stream_kill_queues` counts about one skb per closed socket (normal teardown, not a drop
  on the path).

## truth.tsv and attempts.tsv

As in `../scenarios/README.md` (same columns; `stable` = `yes`: the same value in every run
(the set was generated three times and compared), `no`: timing dependent, the value of the files
here), plus:

- `file` = `evidence/trace` rows: `dropreason_<REASON>` (kfree_skb events with that reason;
  the note says where they were freed), `trace_tcp_retransmit_synack`, `trace_tcp_send_reset`
  (with the reset reasons in the note), `trace_tcp_receive_reset`.
- `env` rows: the epochs of the clients' common start (`plans_t0_epoch`) and the events of the
  scenario (the same clock as the captures' timestamps), counters read in the namespaces.
- Each scenario's own figures (named in its section below), per capture file.
- `attempts.tsv` has 13 more columns: `client_start_s`, `client_end_s` (the client program's
  connect() call and close(), s after the first packet of that capture file), `retry_of` (the
  source port of the attempt this one retries, from the program's log; `-` none), `overlaps`
  (source ports of the same host's attempts whose connect()..close() overlaps this one's),
  `first_ack_s`, `request_s`, `reply_s` (the client's third ACK, its first data byte, the
  server's first data byte: s after the attempt's first SYN), `waiting_at_first_drop`,
  `still_trying_at_stop`, `next_syn_due_s`, `ack_to_next_synack_us`, `challenge_ack_s`,
  `rst_to_resyn_us` (see the scenarios). Empty where it does not apply.
@@accept-full-nat
Mechanism 1: the accept queue is already full when the SYNs arrive (the common production
form). S = 8, ports 48k00-.

- Router: masquerades everything towards the server (as in `nat-modern-clients`): the four LAN
  hosts share 198.18.2.1 in `server.pcap`; source ports are unique and kept.
- Server: `listen(4)` (accept-queue limit 4, so 5 admitted), default sysctls. The application
  accepts at once, but calls no accept() at all from t=1.5 s to t=6.5 s (policy
  `stall:1.5:5.0`, logged: `stall_begin_epoch` / `stall_end_epoch`), then drains the queue and
  serves as before.
- Clients: default sysctls (linear SYN schedule, `tcp_syn_retries=6`). Host 1 opens a connection
  every 150 ms (60), host 2 every 200 ms (45), host 3 every 250 ms (36), host 4 every 180 ms (50),
  from t=0 (hosts 40 ms apart), alternately `sc` / `cc`; each sends its request right after
  connect() and waits for the reply (191 connections in ~9 s).
- What happens: the first five connections that complete after the stall began sit in the accept
  queue: handshake done, request sent and ACKed by the kernel, no reply (`waiting_at_first_drop`
  = 5 in both captures: backlog + 1; `ss -lnt` Recv-Q 5, Send-Q 4; counted from the capture as
  third ACK seen, no SYN-ACK after it, no server data yet, at the first unanswered SYN;
  `waiting_with_request_at_first_drop` also requires the request to have been sent by then,
  which a busy client program can miss by a few ms). From then on every SYN, from
  every host, is dropped in `tcp_conn_request()` (net/ipv4/tcp_input.c) by the
  `sk_acceptq_is_full()` check (`ListenOverflows` and `ListenDrops` + 1 each, no SYN-ACK), so
  no handshake completes and no third ACK is ignored: the drops happen at SYN time
  (`synack_after_ack` 0, or a few when two SYNs got in just before the queue filled and the
  second one's ACK found it full: that request stays in SYN-RECV and its SYN-ACK is
  retransmitted, the accept-overflow-abort0 form; it varies from run to run). The clients
  retransmit their SYNs (+1, +2, +3, +4, +5, +7 s ...). At 6.5 s the application accepts the five, answers their requests ~5 s late, and the next retransmitted
  SYNs get through: drops and waiting end together. Every connection is served.
- The checked facts: `ListenOverflows` = `ListenDrops` = the unanswered SYN transmissions in
  `server.pcap` + the traced `NO_SOCKET` (cookie ACKs that met a full queue, below) +
  `TCP_LISTEN_OVERFLOW` (ACKs or requests of a SYN-RECV request that met a full queue),
  `TCPReqQFullDrop` 0, every host's SYNs dropped, first drop after the
  stall began, at most 15 % of the drops after its end (`syn_unanswered_after_stall_end`, below),
  5 waiting requests, the same 5 are the requests that waited over 1 s.
- Kernel drop reasons: no SYN drop is traced. A SYN dropped for a full accept
  queue is not freed with kfree_skb: `tcp_conn_request()` returns 0 after `tcp_listendrop()`
  and `tcp_rcv_state_process()` frees the SYN with `consume_skb()` exactly as an accepted SYN
  (the reason `TCP_LISTEN_OVERFLOW` is only set by `tcp_check_req()` for an ACK that meets a
  full queue). The counters are the only kernel-side evidence of these drops.
- Also real, varying from run to run: when the drain lets the retransmitted SYNs in, the
  synchronised retransmissions (timer-wheel rounding) arrive in a burst that exceeds the SYN
  queue's limit (the same backlog, 4), and the kernel answers some with syncookies
  (`TCPReqQFullDoCookies` = `SyncookiesSent`). A cookie's ACK (or the request after it) that
  finds the accept queue full again during that burst is counted in `SyncookiesRecv` and
  `ListenOverflows` and dropped (drop reason `NO_SOCKET` at `cookie_v4_check()`: no request
  was kept, so no SYN-ACK is retransmitted; the client's data retransmission completes it
  later). So right after the drain some SYNs can still be dropped: every client waiting during
  the stall retransmits about once a second, and their SYNs arrive faster than the python
  application accepts behind a queue of 5 (`syn_unanswered_after_stall_end`, `last_drop_s` up
  to ~2 s after `stall_end_s` on a busy machine), and a few ACKs or requests may meet a full queue
  (`TCP_LISTEN_OVERFLOW` at `tcp_v4_rcv`, the same ignored-ACK path as in the first set; when the
  client's next data retransmission gets in before the SYN-ACK timer fires, no SYN-ACK after the
  ACK shows in the capture). Every connection is served.
@@synack-race
Mechanism 2: a SYN-ACK that follows the client's third ACK closely is the answer to the
client's retransmitted SYN racing the server's own SYN-ACK timer, not an ignored ACK.
S = 9, ports 49k00-49k07.

- Server: `listen(128)`, an application that accepts at once, default sysctls: the accept
  queue never fills (`ListenOverflows` 0, checked).
- The delay line discards the first SYN-ACK of every connection on its way from the server to
  the router (`dropfirst_synack`; `wire_synacks_dropped` = one per connection, checked; the
  discarded SYN-ACK is in `server.pcap`, not in `client-lan.pcap`).
- Clients: 4 x 8 connections, one every 300 ms per client (clients 75 ms apart), default
  sysctls, alternately `sc` / `cc`.
- What happens: both sides arm a 1 s timer at almost the same moment: the client's SYN
  retransmission timer (`tcp_connect()`, `TCP_TIMEOUT_INIT`) and, 10 ms later, the server's
  request timer (`reqsk_timer_handler()` / `inet_rtx_syn_ack()`). With this kernel's HZ=250 a
  1 s timer sits in the timer wheel's level of 8 jiffies = 32 ms granularity (expiry rounded
  up), so both usually expire in the same 32 ms slot. When they do, the
  server's timer SYN-ACK and the client's retransmitted SYN cross on the wire; the server answers
  that SYN too (`tcp_check_req()`: a retransmitted SYN for a request gets `inet_rtx_syn_ack()`)
  and discards it (`NOT_SPECIFIED` at `tcp_v4_rcv`, one per retransmitted SYN). The client
  ACKs the first SYN-ACK, sends its request, and the second SYN-ACK arrives a few ms after its
  ACK (`ack_to_next_synack_*_us` in `client-lan.pcap`: one-way-delay scale here; on a LAN it is
  microseconds); the client's `tcp_validate_incoming()` drops it (`TCP_INVALID_SYN`) and
  answers with a duplicate (challenge) ACK. When the client's timer expires a tick earlier, its
  SYN arrives first, gets the only SYN-ACK (the request timer is pushed back) and there is no
  race (`synacks_per_attempt`: 2 at the server instead of 3).
- What the captures show: in `client-lan.pcap` every first SYN is unanswered (its SYN-ACK was
  lost), and raced attempts have a SYN-ACK after the ACK (`synack_after_ack`), all served at
  once. In `server.pcap` nothing is after an ACK: both SYN-ACKs of a race leave the server
  before the ACK arrives (`attempts_with_close_synack_pair`: two SYN-ACKs < 100 ms apart; the
  first SYN-ACK ~1 s before them: the timer's retransmission `+1 s` after the lost one).
  An ACK the server ignores (full accept queue) looks different: the SYN-ACK retransmissions
  then come from the timer, 1 s and more after the previous one, doubling.
- Kernel figures (checked): SYN-ACK retransmissions in `server.pcap` = `TCPSynRetrans` =
  `tcp_retransmit_synack` events (timer and retransmitted-SYN answers alike).
@@capture-stopped
Mechanism 3: a capture that ends while clients are still retransmitting shows attempts that are
`incomplete`, not `unanswered` (given up). S = 10, ports 50k00-.

- Server: `listen(128)`, fast application; in `sdx-srv`
  `iptables -A INPUT -s 198.18.1.11 -p tcp --syn -j DROP` and the same for 198.18.1.12 (as in
  `firewall-drop-mixed`: the SYNs are in `server.pcap`, the rule drops them after the capture
  point; `NETFILTER_DROP` at `nft_do_chain` in the trace, one per SYN).
- Blocked clients: 198.18.1.11 with `tcp_syn_linear_timeouts=0` (group `blocked-classic`:
  SYNs at +0, +1, +3, +7 s ...) opens ports 50100 and 50101 at t=0 and 0.3 s; 198.18.1.12 with
  the default 4 (group `blocked-linear`: +0, +1, +2, +3, +4, +5, +7 s ...) opens 50200 at t=0,
  and port 50250 at t=2.0 s (group `blocked-late`: a single SYN, its retransmission due at
  +1 s). Their programs give up by themselves (socket timeout) at t=4.5 s, long after the
  capture: `connect:ETIMEDOUT` in the client log is the program's timeout, not the kernel's.
- Served clients: 198.18.1.13 and .14, 9 connections each every 250 ms from t=0.1 / 0.2 s (the
  last one ends at about 2.3 s).
- Both captures stop at t=2.5 s (`capture_stop_epoch`, `capture_stop_s`): tcpdump runs on and
  both files are cut at that instant afterwards (every record with a later kernel timestamp is
  removed: the same as stopping tcpdump exactly then, without losing what a busy tcpdump had not
  read yet). At that instant the four blocked sockets are in SYN-SENT: right after the
  stop `ss -tn state syn-sent` in the client namespaces lists exactly them
  (`evidence/ss-syn-sent-at-stop.txt`, `syn_sent_at_stop`, checked). So no attempt gave up
  within the capture: the classic attempts show SYNs at +0 and +1 s only (the same as the start
  of the linear schedule: two SYNs 1 s apart prove no schedule), the linear one +0, +1, +2 s, the
  late one a single SYN; each one's next SYN was due after the capture stopped
  (`next_syn_due_s`, nominal schedule, s after the attempt's first SYN, compared with
  `capture_after_first_syn_s_<port>`, checked). A capture reader sees even less: the file's last
  packet (`last_packet_s`) is the end of the last served connection, before the stop.
- Counters: nothing at the listener moves (the firewall drops the SYNs before TCP);
  `NETFILTER_DROP` events in the trace until the stop (`dropreason_NETFILTER_DROP_until_stop`)
  = the unanswered SYNs in `server.pcap` (checked); `dropreason_NETFILTER_DROP` (the whole
  run) and the rule's counter, read just after the stop (`iptables_drop_packets_at_stop`) and
  at the end (`iptables_drop_packets`), also count SYNs sent after the capture stopped.
@@app-retry
Mechanism 4: application retries versus independent attempts that overlap. S = 11, ports
51k00-. Port 8081 of the server is closed (no listener: the kernel answers a SYN with RST/ACK,
`tcp_v4_send_reset()` from `tcp_v4_rcv()`, drop reason `NO_SOCKET`).

- Host 198.18.1.11 (`sdx-c1`), one program, threads:
  - the retry chain (client-log group `chain`): connect to 8081 from port 51100 at t=0; on each
    refusal wait 0.5 s and retry from the next port: 51101, 51102, 51103 (`retry_of` = the port
    retried). All refused: one failed operation after 4 attempts.
  - independent: port 51110 to 8081 at t=0.005 s (in flight together with 51100: both SYNs
    leave before the first RST comes back; refused, not retried), and port 51111 to 8080 at
    t=0.3 s, served and then held open for 1 s (`hold=1.0`): it overlaps the retries 51101 and
    51102.
- Host 198.18.1.12 (`sdx-c2`): port 51200 to 8080 at t=0.1 s (served); a chain of its own,
  port 51201 to 8081 at t=0.51 s, retried once from 51202 0.5 s after the refusal; port 51210 to
  8080 at t=0.8 s, held 0.6 s, overlapping that retry.
- No NAT: the two hosts have their own addresses in both captures. The client programs' log is
  the truth: `retry_of` and `overlaps` (same host, connect() to close() intervals intersect) per
  attempt in `attempts.tsv` and as `attempt_<port>` rows; `retries` 4, `retry_chains` 2,
  `failed_attempts` 7 (all refusals), of which `failed_attempts_retried` 4, and
  `failed_operations` 3 (the failures the programs reported after their retries: 51103, 51110,
  51202). Overlapping attempts are never retries of each other; a retry starts after the attempt
  it retries ended, from the same host. `TcpOutRsts` = 7 = the refusals (checked with
  `tcp_send_reset`).
@@stale-timewait
Mechanism 5: a SYN that meets a connection the server still holds on the same 4-tuple; the
client's RST and re-SYN cost milliseconds. S = 12, ports 52k00-.

- Clients 198.18.1.11 (port 52100) and 198.18.1.12 (port 52200): a `cc` connection at t=0 / 0.05 s,
  closed with `SO_LINGER` 0 (a RST instead of a FIN), while the client namespace's own
  `iptables -A OUTPUT -p tcp --dport 8080 --tcp-flags RST RST -j DROP` (and the same for FIN)
  drops that RST (`client_c1_output_drops` = `client_c2_output_drops` = 1, checked;
  `NETFILTER_DROP` in the trace; the RST never reaches either capture). The server application
  waits for the client's FIN (`cc`): the server keeps the connection ESTABLISHED
  (`evidence/ss-tn-server-before-reconnect.txt`). Once both RSTs were dropped the rules are
  removed; at t=2.5 / 2.55 s the same programs connect again from the same source port (the old
  socket is gone, so bind() and connect() succeed). 198.18.1.13 makes one ordinary connection at
  t=1 s (group `control`).
- What happens: the new SYN reaches the established socket; `tcp_validate_incoming()` answers a
  SYN in a synchronised state with a challenge ACK (RFC 5961 4.2, `tcp_send_challenge_ack()`:
  `TCPSYNChallenge`, `TCPChallengeACK`; drop reason `TCP_INVALID_SYN`): a bare ACK whose
  acknowledgement number belongs to the old connection (`challenge_ack_s` after the SYN: one
  RTT). The client in SYN-SENT finds the ACK unacceptable in `tcp_rcv_synsent_state_process()`
  and answers with a RST carrying that sequence number (`tcp_send_reset` reason
  `TCP_INVALID_ACK_SEQUENCE`), which resets the server's stale connection (`TcpEstabResets`,
  `tcp_receive_reset`); and since the SYN had not been retransmitted yet it re-arms the
  retransmission timer at `TCP_TIMEOUT_MIN` (2 jiffies = 8 ms at HZ 250, plus the timer's
  rounding): the re-SYN follows the RST after ~8-12 ms (`rst_to_resyn_us`; checked: 4-100 ms),
  finds no connection any more, and is served normally. Cost: one RTT plus ~10 ms, not 1 s; the
  re-SYN is the same attempt (same ISN), not an initial-RTO retransmission.
- In the captures: SYN, bare ACK (no SYN-ACK: `syn_unanswered_tx` counts the first SYN),
  RST from the client, re-SYN, SYN-ACK, served (`schedules_stale`: `other`, offsets +0, +0.03 s).
@@tail

## Observations on this kernel worth knowing

- A SYN dropped because the accept queue is full leaves no drop reason: `tcp_conn_request()`
  counts `ListenOverflows`/`ListenDrops` and returns 0, and `tcp_rcv_state_process()` then frees
  the SYN with `consume_skb()`, the same call as for an accepted SYN. Only the counters show these
  drops; `TCP_LISTEN_OVERFLOW` (kfree_skb at `tcp_v4_rcv`) appears only for an ACK or data
  segment of a SYN-RECV request that meets a full queue, and `NO_SOCKET` at `cookie_v4_check`
  for a syncookie ACK that does (`accept-full-nat`: the overflow counter is exactly their sum
  with the unanswered SYNs, checked).
- Even with the accept queue as the only problem, a small backlog (4) also limits the SYN queue,
  and the synchronised SYN retransmissions that follow a drain exceed it: syncookies appear
  (`TCPReqQFullDoCookies`) although nobody floods.
- `CONFIG_HZ=250` here: `TCP_TIMEOUT_MIN` (2 jiffies) is 8 ms, and a re-armed SYN
  retransmission fires 8-12 ms later (`stale-timewait`); 1 s timers (SYN, SYN-ACK
  retransmission) are rounded up to 32 ms slots of the timer wheel, so a client's and a server's
  1 s timers armed ~10-20 ms apart often fire together (`synack-race`: 40-70 % of the
  connections race, varying from run to run).
- `TCPSynRetrans` and `TcpRetransSegs` of the server count its SYN-ACK retransmissions, both the
  timer's and the answers to retransmitted SYNs (`tcp_rtx_synack()`), one-to-one with the
  `tcp_retransmit_synack` tracepoint.
- A tcpdump stopped with SIGINT on a busy machine loses the packets it had not read yet (without
  counting them as dropped): `capture-stopped` therefore cuts its files at the stop instant
  instead. On a busy machine the python delay line also adds jitter (a few ms, tens of ms under
  heavy load) to its 10 ms, and the python server and clients lag; the script runs at nice -10
  and its checks (see `META_TRUST` in the script) hold on every run, while the timing figures
  are marked `stable` = `no`.
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
  printf 'hz\t%s\n' "$( (zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null) | awk -F= '$1 == "CONFIG_HZ" {print $2}')"
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
    accept-full-nat) scen_accept_full_nat ;;
    synack-race) scen_synack_race ;;
    capture-stopped) scen_capture_stopped ;;
    app-retry) scen_app_retry ;;
    stale-timewait) scen_stale ;;
    *) die "unknown scenario $s" ;;
  esac
  echo "$s" >>"$WORK/ran.txt"
done
[[ -z $(our_namespaces) ]] || die "namespaces left: $(our_namespaces)"

if [[ $SET == trust ]]; then write_readme_template_trust; else write_readme_template; fi
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
