#!/usr/bin/env bash
# make-captures.sh - regenerate syndiag's real-kernel test captures.
#
# Run as root on Linux:  sudo testdata/lab/make-captures.sh
#
# Every capture is taken with tcpdump from real kernel TCP stacks that talk to each other
# across network namespaces. Nothing is crafted or edited except the format conversions
# (editcap to pcapng, gzip, zstd). The script builds its namespaces (all named sd-*),
# runs the scenarios, stops every process it started, deletes the namespaces (also on
# failure: trap cleanup EXIT), analyses the captures with tshark and writes the capture
# files, truth.tsv, attempts.tsv and README.md into this folder. Nothing in this folder is
# touched unless every scenario and every check succeeded.
#
# Addresses: IPv4 198.18.0.0/15 and IPv6 2001:2::/48 only (RFC 2544 / RFC 5180 benchmarking).
#
#   sd-cli                      sd-rtr                               sd-srv
#   sdc0 198.18.1.2   <--veth-->  sdr1 198.18.1.1
#        2001:2:0:1::2              2001:2:0:1::1
#                                 sdbr0 (bridge) 198.18.2.1           sds0 198.18.2.2
#                                   2001:2:0:2::1 , port sdr2 <--veth--> 2001:2:0:2::2
#
#   sd-vcli sdv0 198.18.100.1 <--veth, 802.1Q 100 on the wire-->        sdv1 198.18.100.2 sd-vsrv
#   sd-vcli sdq0 198.18.200.1 <--veth, 802.1ad 200 + 802.1Q 300-->      sdq1 198.18.200.2 sd-vsrv
#
# The server (python, port 8080 on every address) answers a one-line request
# "<sc|cc> <bytes>\n" with <bytes> bytes; "sc" = the server closes first, "cc" = the client
# closes first. Port 8081 has no listener (closed). In sd-srv, iptables/ip6tables drop SYNs
# to 8082 and reject 8083/8084/8085 (see setup_main). Client source ports are fixed per
# attempt so that the truth tables are reproducible.
#
# Neighbour entries are static (no ARP/ND on the wire) and, outside the VLAN captures,
# tcpdump uses the filter in $FILTER (TCP plus ICMP/ICMPv6 errors) so that the packet counts
# do not depend on IPv6 multicast listener reports and similar background chatter.
set -euo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $EUID -ne 0 ]]; then echo "make-captures.sh: must run as root" >&2; exit 2; fi
for tool in ip tcpdump tshark editcap capinfos iptables ip6tables gzip zstd ss nstat sysctl; do
  command -v "$tool" >/dev/null || { echo "make-captures.sh: missing $tool" >&2; exit 2; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

NAMESPACES=(sd-cli sd-rtr sd-srv sd-vcli sd-vsrv)
FILTER='tcp or icmp or (icmp6 and ip6[40] < 128)'
WORK=$(mktemp -d /tmp/sdlab.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT"
HELPER=$WORK/lab.py
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

# Kill whatever still runs inside our own namespaces (by pid), then delete them.
remove_namespaces() {
  local ns pid
  for ns in "${NAMESPACES[@]}"; do
    [[ -e /run/netns/$ns ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$? p
  set +e
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  PIDS=()
  remove_namespaces
  rm -rf "$WORK"
  if [[ $rc -ne 0 ]]; then log "failed (exit $rc); $LAB left unchanged"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Python helper: test server, test client, VLAN tagging with eBPF (tcx), analysis.
# ---------------------------------------------------------------------------------------
cat >"$HELPER" <<'PYEOF'
import concurrent.futures, ctypes, errno, gzip, os, select, socket, struct, subprocess, sys, time

# ---- server: "<sc|cc> <n>\n" -> n bytes; sc: server closes first, cc: waits for client FIN
def server(port, lifetime):
    deadline = time.time() + float(lifetime)
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(('::', int(port)))
    ls.listen(16)
    while time.time() < deadline:
        if not select.select([ls], [], [], 0.5)[0]:
            continue
        c, _ = ls.accept()
        c.settimeout(5)
        try:
            buf = b''
            while not buf.endswith(b'\n') and len(buf) < 256:
                d = c.recv(256)
                if not d:
                    break
                buf += d
            parts = buf.split()
            if len(parts) >= 2:
                n = max(3, min(int(parts[1]), 1200))
                c.sendall((b'ok ' + b'x' * n)[:n - 1] + b'\n')
                if parts[0] == b'cc':
                    while c.recv(256):
                        pass
        except (OSError, ValueError):
            pass
        finally:
            c.close()

# ---- client: one connection attempt from a fixed source port; appends a line to log
def client(logf, scenario, expect, src, sport, dst, dport, mode, n, syncnt=None):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if syncnt:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, int(syncnt))
    s.bind((src, int(sport)))
    s.settimeout(60)
    t0 = time.monotonic()
    ctime = None
    try:
        s.connect((dst, int(dport)))
        ctime = time.monotonic() - t0
        result = 'connected'
        s.sendall(('%s %s\n' % (mode, n)).encode())
        data = b''
        while not data.endswith(b'\n'):
            d = s.recv(4096)
            if not d:
                break
            data += d
        if mode == 'sc':
            while s.recv(4096):
                pass
    except OSError as e:
        ctime = time.monotonic() - t0
        result = errno.errorcode.get(e.errno, 'TIMEOUT') if e.errno else 'TIMEOUT'
    finally:
        s.close()
    with open(logf, 'a') as f:
        f.write('\t'.join([scenario, expect, src, sport, dst, dport, result, '%.3f' % ctime]) + '\n')
    print('%s %s:%s -> %s:%s %s after %.3fs' % (scenario, src, sport, dst, dport, result, ctime))

# ---- tcx: attach a tiny eBPF program to a device (no 8021q module on this kernel).
# egress: bpf_skb_vlan_push(skb, proto, vid) for each tag (inner first); ingress: pop N tags.
def tcx(dev, direction, spec):
    libc = ctypes.CDLL(None, use_errno=True)
    def bpf(cmd, attr):
        buf = ctypes.create_string_buffer(attr, 128)
        r = libc.syscall(321, cmd, buf, 128)   # __NR_bpf on x86_64
        if r < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return r
    def ins(code, dst=0, src=0, off=0, imm=0):
        return struct.pack('<BBhi', code, (src << 4) | dst, off, imm)
    code = ins(0xbf, 6, 1)                                  # r6 = skb
    if direction == 'ingress':
        for _ in range(int(spec)):
            code += ins(0xbf, 1, 6) + ins(0x85, imm=19)      # bpf_skb_vlan_pop(skb)
    else:
        for tag in spec.split(','):
            proto, vid = tag.split(':')
            code += ins(0xbf, 1, 6) + ins(0xb7, 2, imm=socket.htons(int(proto, 0)))
            code += ins(0xb7, 3, imm=int(vid)) + ins(0x85, imm=18)  # bpf_skb_vlan_push
    code += ins(0xb7, 0, imm=0) + ins(0x95)                 # return TC_ACT_OK
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b'GPL')
    logbuf = ctypes.create_string_buffer(65536)
    attr = struct.pack('<IIQQIIQII16s', 3, len(code) // 8, ctypes.addressof(insns),
                       ctypes.addressof(lic), 1, len(logbuf), ctypes.addressof(logbuf), 0, 0,
                       b'sd_vlan')                           # BPF_PROG_TYPE_SCHED_CLS
    try:
        fd = bpf(5, attr)                                    # BPF_PROG_LOAD
    except OSError:
        sys.stderr.write(logbuf.value.decode() + '\n')
        raise
    kind = 46 if direction == 'ingress' else 47              # BPF_TCX_INGRESS / EGRESS
    bpf(8, struct.pack('<IIIIIIQ', socket.if_nametoindex(dev), fd, kind, 0, 0, 0, 0))

# ---- analysis ---------------------------------------------------------------------------
def raw_bytes(path):
    if path.endswith('.gz'):
        return gzip.open(path).read()
    if path.endswith('.zst'):
        return subprocess.run(['zstd', '-dc', path], check=True, capture_output=True).stdout
    return open(path, 'rb').read()

def read_capture(path):
    """Minimal pcap/pcapng reader: format, ts resolution, link type, frame bytes."""
    b = raw_bytes(path)
    frames = []
    m = b[:4]
    if m in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        fmt, res = 'pcap', ('microsecond' if m == b'\xd4\xc3\xb2\xa1' else 'nanosecond')
        link = struct.unpack_from('<I', b, 20)[0]
        off = 24
        while off + 16 <= len(b):
            incl = struct.unpack_from('<I', b, off + 8)[0]
            frames.append(b[off + 16:off + 16 + incl])
            off += 16 + incl
        return fmt, res, link, frames
    if m == b'\x0a\x0d\x0d\x0a':
        assert b[8:12] == b'\x4d\x3c\x2b\x1a', 'big-endian pcapng not handled'
        off, link, res = 0, None, None
        while off + 12 <= len(b):
            btype, blen = struct.unpack_from('<II', b, off)
            body = b[off + 8:off + blen - 4]
            if btype == 1:                                   # IDB
                link = struct.unpack_from('<H', body, 0)[0]
                res, o = 6, 8
                while o + 4 <= len(body):
                    code, olen = struct.unpack_from('<HH', body, o)
                    if code == 0:
                        break
                    if code == 9:
                        res = body[o + 4]
                    o += 4 + (olen + 3) // 4 * 4
            elif btype == 6:                                 # EPB
                caplen = struct.unpack_from('<I', body, 12)[0]
                frames.append(body[20:20 + caplen])
            off += blen
        return 'pcapng', {6: 'microsecond', 9: 'nanosecond'}.get(res, 'if_tsresol=%s' % res), link, frames
    raise SystemExit('%s: unknown capture format' % path)

def l3(frame, link):
    if link == 276:                                          # LINUX_SLL2
        return frame[20:]
    off = 12
    while frame[off:off + 2] in (b'\x81\x00', b'\x88\xa8'):
        off += 4
    return frame[off + 2:]

def masked(p):
    if p and p[0] >> 4 == 4 and len(p) >= 20:
        return p[:8] + b'\0' + p[9:10] + b'\0\0' + p[12:]    # TTL and header checksum
    if p and p[0] >> 4 == 6 and len(p) >= 40:
        return p[:7] + b'\0' + p[8:]                         # hop limit
    return p

def duplicates(frames, link):
    exact = ttl = 0
    prev = None
    for f in frames:
        p = l3(f, link)
        if prev is not None and p == prev:
            exact += 1
        elif prev is not None and masked(p) == masked(prev):
            ttl += 1
        prev = p
    return exact, ttl

def tshark_count(path, flt):
    r = subprocess.run(['tshark', '-n', '-r', path, '-Y', flt, '-T', 'fields', '-e', 'frame.number'],
                       check=True, capture_output=True, text=True)
    return len(r.stdout.splitlines())

COUNT_FILTERS = ['frame', 'tcp.flags.syn==1 && tcp.flags.ack==0', 'tcp.flags.syn==1 && tcp.flags.ack==1',
                 'tcp.flags.reset==1', 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission']

FIELDS = ['frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
          'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw',
          'tcp.options.timestamp.tsval', 'icmp.type', 'icmp.code', 'icmpv6.type', 'icmpv6.code']

def ep(ip, port):
    return ('[%s]:%s' % (ip, port)) if ':' in ip else ('%s:%s' % (ip, port))

def attempts_of(path):
    cmd = ['tshark', '-n', '-r', path, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a',
           '-E', 'aggregator=,']
    for f in FIELDS:
        cmd += ['-e', f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split('\t')))
        rows.append(v)
    att, order = {}, []
    for v in rows:
        if v['icmp.type'] or v['icmpv6.type'] or not v['tcp.flags']:
            continue
        flags = int(v['tcp.flags'], 16)
        if flags & 0x12 != 0x02:
            continue
        src = v['ip.src'] or v['ipv6.src']
        dst = v['ip.dst'] or v['ipv6.dst']
        key = (src, int(v['tcp.srcport']), dst, int(v['tcp.dstport']), int(v['tcp.seq_raw']))
        if key not in att:
            att[key] = dict(key=key, tx={}, outcome='unanswered', detail='', answer_t=None)
            order.append(key)
        ts = v['tcp.options.timestamp.tsval'] or v['frame.number']
        att[key]['tx'].setdefault(ts, float(v['frame.time_epoch']))
    for v in rows:
        t = float(v['frame.time_epoch'])
        if v['icmp.type'] or v['icmpv6.type']:
            six = bool(v['icmpv6.type'])
            typ, code = int((v['icmpv6.type'] if six else v['icmp.type']).split(',')[0]), \
                int((v['icmpv6.code'] if six else v['icmp.code']).split(',')[0])
            if (six and typ != 1) or (not six and typ != 3) or not v['tcp.srcport']:
                continue
            inner = (v['ipv6.src'] if six else v['ip.src']).split(',')[-1]
            for a in att.values():
                c, cp, s, sp, isn = a['key']
                if (c, cp, sp) == (inner, int(v['tcp.srcport']), int(v['tcp.dstport'])) \
                        and a['outcome'] == 'unanswered':
                    a['outcome'] = 'icmp_unreachable'
                    a['detail'] = '%s type %d code %d' % ('ICMPv6' if six else 'ICMP', typ, code)
                    a['answer_t'] = t
            continue
        if not v['tcp.flags']:
            continue
        flags = int(v['tcp.flags'], 16)
        src = v['ip.src'] or v['ipv6.src']
        dst = v['ip.dst'] or v['ipv6.dst']
        for a in att.values():
            c, cp, s, sp, isn = a['key']
            if (src, int(v['tcp.srcport']), dst, int(v['tcp.dstport'])) != (s, sp, c, cp):
                continue
            if a['outcome'] != 'unanswered':
                continue
            if flags & 0x12 == 0x12 and int(v['tcp.ack_raw']) == (isn + 1) % 2**32:
                a['outcome'], a['detail'], a['answer_t'] = 'established', 'SYN-ACK', t
            elif flags & 0x04:
                a['outcome'], a['detail'], a['answer_t'] = 'refused', 'RST,ACK' if flags & 0x10 else 'RST', t
    res = []
    for k in order:
        a = att[k]
        times = sorted(a['tx'].values())
        a['syn_tx'] = len(times)
        a['offsets'] = ','.join('%.3f' % (x - times[0]) for x in times)
        a['answer_after'] = '' if a['answer_t'] is None else '%.3f' % (a['answer_t'] - times[0])
        res.append(a)
    return res

def analyze(work, out):
    env = dict(l.rstrip('\n').split('\t', 1) for l in open(os.path.join(work, 'env.tsv')))
    files = [l.rstrip('\n').split('\t') for l in open(os.path.join(work, 'files.tsv'))]
    clients = [l.rstrip('\n').split('\t') for l in open(os.path.join(work, 'clients.tsv'))]
    truth = [['file', 'packets', 'syn', 'synack', 'rst', 'syn_retrans', 'attempts', 'established',
              'refused', 'icmp', 'unanswered', 'duplicates', 'dup_ttl']]
    att_rows = [['file', 'client', 'server', 'isn', 'outcome', 'detail', 'syn_tx', 'syn_offsets_s',
                 'answer_after_s']]
    info, problems = [], []
    for name, side, scenario, desc in files:
        path = os.path.join(out, name)
        fmt, res, link, frames = read_capture(path)
        tpath = path
        if path.endswith('.zst'):
            tpath = os.path.join(work, 'tshark-' + name[:-4])
            open(tpath, 'wb').write(raw_bytes(path))
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            counts = list(pool.map(lambda f: tshark_count(tpath, f), COUNT_FILTERS))
        if counts[0] != len(frames):
            problems.append('%s: tshark counts %d frames, reader %d' % (name, counts[0], len(frames)))
        exact, ttl = duplicates(frames, link)
        atts = attempts_of(tpath)
        by = {}
        for a in atts:
            by[a['outcome']] = by.get(a['outcome'], 0) + 1
        truth.append([name] + [str(c) for c in counts] + [str(len(atts))] +
                     [str(by.get(o, 0)) for o in ('established', 'refused', 'icmp_unreachable', 'unanswered')] +
                     [str(exact), str(ttl)])
        mine = [c for c in clients if c[0] == scenario]
        seen = {}
        for a in atts:
            c, cp, s, sp, isn = a['key']
            seen[(c, str(cp), s, str(sp))] = a
            att_rows.append([name, ep(c, cp), ep(s, sp), str(isn), a['outcome'], a['detail'],
                             str(a['syn_tx']), a['offsets'], a['answer_after']])
        for c in mine:
            _, expect, src, sport, dst, dport, result, ctime = c
            a = seen.get((src, sport, dst, dport))
            if a is None:
                problems.append('%s: attempt %s -> %s missing' % (name, ep(src, sport), ep(dst, dport)))
            elif a['outcome'] != expect:
                problems.append('%s: %s -> %s is %s, expected %s' % (name, ep(src, sport), ep(dst, dport),
                                                                     a['outcome'], expect))
            else:
                a['client'] = '%s after %ss' % (result, ctime)
        if len(seen) != len(mine):
            problems.append('%s: %d attempts in capture, %d client runs' % (name, len(seen), len(mine)))
        info.append(dict(name=name, side=side, desc=desc, fmt=fmt, res=res, link=link,
                         frames=len(frames), counts=counts, exact=exact, ttl=ttl, atts=atts,
                         size=os.path.getsize(path)))
    if problems:
        sys.stderr.write('\n'.join(problems) + '\n')
        sys.exit(1)
    with open(os.path.join(out, 'truth.tsv'), 'w') as f:
        f.writelines('\t'.join(r) + '\n' for r in truth)
    with open(os.path.join(out, 'attempts.tsv'), 'w') as f:
        f.writelines('\t'.join(r) + '\n' for r in att_rows)
    write_readme(out, env, info)

LINK = {1: 'Ethernet', 276: 'LINUX_SLL2'}

def write_notes(w, env, info):
    def att(fname, port):
        for i in info:
            if i['name'] == fname:
                for a in i['atts']:
                    if a['key'][1] == port:
                        return a
        raise SystemExit('no attempt %s in %s' % (port, fname))
    a1, a2, a3 = att('firewall-drop.pcap', 41001), att('firewall-drop.pcap', 41002), \
        att('mixed-failures.pcap', 41304)
    w('## Kernel behaviour seen in these captures')
    w('')
    w('- `net.ipv4.tcp_syn_linear_timeouts` exists on this kernel (added in 6.5), default %s.'
      % env['linear'])
    w('  While a SYN_SENT socket has made no more than that many retransmissions the RTO stays at')
    w('  the initial 1 s, then it doubles. The kernel also allows `tcp_syn_retries +')
    w('  tcp_syn_linear_timeouts` retransmissions (net/ipv4/tcp_timer.c, tcp_write_timeout), and gives')
    w('  up earlier if (2^(retries+1) - 1) s have passed since the first SYN (retransmits_timed_out),')
    w('  checked each time the retransmission timer fires. Measured here:')
    w('  - `firewall-drop` 41001, linear_timeouts=0, syn_retries=3: %d SYNs at +%s s; %s.'
      % (a1['syn_tx'], a1['offsets'].replace(',', ', +'), a1.get('client', '')))
    w('  - `firewall-drop` 41002, linear_timeouts=%s, syn_retries=3: %d SYNs at +%s s; %s.'
      % (env['linear'], a2['syn_tx'], a2['offsets'].replace(',', ', +'), a2.get('client', '')))
    w('  - `mixed-failures` 41304, linear_timeouts=%s, TCP_SYNCNT=2: %d SYNs at +%s s; %s.'
      % (env['linear'], a3['syn_tx'], a3['offsets'].replace(',', ', +'), a3.get('client', '')))
    w('  - Consequence (from the source, not captured here): with all defaults (syn_retries=6,')
    w('    linear_timeouts=4) a 6.5+ client sends 11 SYNs (+0, +1, +2, +3, +4, +5, +7, +11, +19, +35,')
    w('    +67 s) and connect() fails after about 131 s, not 7 SYNs / 127 s as before 6.5.')
    w('- The firewall (nf_tables INPUT hook) acts after the AF_PACKET tap, so server captures contain')
    w('  every dropped or rejected SYN; the ICMP errors are sent by the server namespace itself.')
    w('- An ICMP/ICMPv6 destination unreachable aborts connect() in SYN_SENT (port unreachable ->')
    w('  ECONNREFUSED, admin/host prohibited -> EHOSTUNREACH, ICMPv6 admin prohibited -> EACCES),')
    w('  but only if the socket is not locked by its owner at that moment. The lab round trip is')
    w('  ~0.1 ms, so the error comes back while connect() is still inside the kernel holding the')
    w('  socket lock: tcp_v4_err/tcp_v6_err then only store a soft error and count')
    w('  `TcpExtLockDroppedIcmps` (client counter this run: %s in `icmp-reject`, %s in'
      % (env['lockdrops_icmp4'], env['lockdrops_icmp6']))
    w('  `icmp6-reject`). IPv6: the SYN is retransmitted after ~1 s and the second ICMPv6 error')
    w('  aborts, so each attempt in `icmp6-reject*.pcap` has 2 SYNs and 2 ICMPv6 errors. IPv4: the')
    w('  client (a non-blocking connect() + poll) still picks the soft error up at once through')
    w('  SO_ERROR, so 1 SYN; a manual test showed a blocking connect() over IPv4 also retransmits')
    w('  after 1 s. Analyzer lesson: an ICMP error followed by a retransmitted SYN (same ISN) and a')
    w('  second ICMP error is a legitimate pattern; the outcome is still icmp_unreachable.')
    i = [x for x in info if x['name'] == 'any-sll2.pcap'][0]
    w('- `any-sll2.pcap`: `tcpdump -i any` writes LINKTYPE_LINUX_SLL2 (276). The router namespace')
    w('  routes between `sdr1` and a bridge `sdbr0` whose port is `sdr2` (the docker0 + veth')
    w('  layout), so every packet is recorded three times: %d frames = 3 x %d packets.'
      % (i['frames'], i['frames'] // 3))
    w('  Client->server: sdr1 (in, TTL 64), sdbr0 (out, TTL 63), sdr2 (out, TTL 63);')
    w('  server->client: sdr2 (in), sdbr0 (in), sdr1 (out, TTL decremented). Copies are adjacent.')
    w('  %d records are byte-identical to the previous one after the 20-byte SLL2 header (they'
      % i['exact'])
    w('  differ only in the SLL2 interface index / packet type), and %d more differ from the previous'
      % i['ttl'])
    w('  one only in TTL / hop limit and the IPv4 header checksum. tshark marks the copies of a SYN as')
    w('  retransmissions (syn_retrans %d for %d SYN transmissions).' % (i['counts'][4], i['counts'][1] // 3))
    w('- VLAN tags are pushed with eBPF (`bpf_skb_vlan_push` on tcx egress, popped on tcx ingress)')
    w('  because this kernel is built without the 8021q module, so `ip link add ... type vlan` is')
    w('  not available. The tags are kernel skb VLAN tags; tcpdump shows them (the outer one via')
    w('  PACKET_AUXDATA, as with NIC VLAN offload), `tshark -V` decodes 802.1Q VLAN 100, and for')
    w('  QinQ 802.1ad (0x88a8) ID 200 followed by 802.1Q ID 300.')

def write_readme(out, env, info):
    L = []
    w = L.append
    w('# Real-kernel test captures (generated)')
    w('')
    w('Generated by `make-captures.sh` in this folder; do not edit by hand, re-run the script as')
    w('root instead (it takes about two minutes and rewrites every file listed here, this README included).')
    w('Every packet comes from real Linux TCP stacks talking across network namespaces (client')
    w('`sd-cli` -> router `sd-rtr` -> server `sd-srv`, and a direct pair `sd-vcli`/`sd-vsrv` for')
    w('VLANs); see the header of the script for the topology and the scenario comments in it.')
    w('')
    w('Generated on: kernel %s, %s, %s.' % (env['kernel'], env['tcpdump'], env['tshark']))
    w('Kernel defaults in a fresh namespace: `net.ipv4.tcp_syn_retries=%s`, '
      '`net.ipv4.tcp_syn_linear_timeouts=%s`, `net.ipv4.tcp_timestamps=%s`.'
      % (env['syn_retries'], env['linear'], env['timestamps']))
    w('')
    w('Facts that hold for every file:')
    w('')
    w('- Addresses: client 198.18.1.2 / 2001:2:0:1::2 (VLAN clients 198.18.100.1, 198.18.200.1),')
    w('  server 198.18.2.2 / 2001:2:0:2::2 (VLAN servers 198.18.100.2, 198.18.200.2). Server port')
    w('  8080 listens; 8081 is closed (RST); in the server namespace a firewall drops SYNs to 8082')
    w('  and REJECTs 8083 (port unreachable), 8084 (admin prohibited), 8085 (v4: host prohibited).')
    w('- Client source ports are fixed per attempt (401xx, 402xx ... one block per scenario), so')
    w('  attempts are identical on every regeneration; ISNs, TSvals and times are not.')
    w('- Server-side captures are on the server\'s interface (`sds0`, TTL 63 / hop limit 63 on')
    w('  client packets: they crossed the router); client-side captures are on `sdc0`.')
    w('  A client and a server capture of the same run come from the same clock.')
    w('- Neighbour entries are static, so there is no ARP/ND; except for the VLAN captures (no filter')
    w('  needed there, IPv6 is disabled in those namespaces) tcpdump ran with the filter')
    w('  `tcp or icmp or (icmp6 and ip6[40] < 128)`, so files hold only TCP and ICMP(v6) errors.')
    w('- TCP timestamps are on (kernel default), SACK and window scaling too. Payloads are tiny.')
    w('- All captures use tcpdump\'s default snaplen (262144), `-U -n`.')
    w('')
    w('## Files')
    w('')
    w('| file | bytes | format | ts resolution | link type | side | contents |')
    w('|---|---|---|---|---|---|---|')
    for i in info:
        w('| `%s` | %d | %s | %s | %d (%s) | %s | %s |' % (i['name'], i['size'], i['fmt'], i['res'],
          i['link'], LINK.get(i['link'], '?'), i['side'], i['desc']))
    w('')
    w('## Counts (the truth a test can assert)')
    w('')
    w('`frames`, `syn`, `synack`, `rst` and `syn_retrans` are tshark 4.0 counts:')
    w('`tshark -n -r FILE -Y FILTER -T fields -e frame.number | wc -l` with the filters `frame`,')
    w('`tcp.flags.syn==1 && tcp.flags.ack==0`, `tcp.flags.syn==1 && tcp.flags.ack==1`,')
    w('`tcp.flags.reset==1` and `tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission`')
    w('(for `.zst`, on the decompressed file: tshark 4.0 cannot read zstd). Note that tshark also')
    w('counts the SYN quoted inside an ICMP error as a SYN, and in `any-sll2.pcap` it counts every copy.')
    w('`attempts`... `unanswered` come from the script\'s own analysis: one attempt per (client ip,')
    w('client port, server ip, server port, ISN), SYN copies and retransmissions collapsed (a')
    w('retransmission is a SYN with the same ISN and a new TSval). Each attempt was checked against')
    w('what the client program saw. `dup_exact` = records whose network-layer bytes (after the')
    w('Ethernet/VLAN or SLL2 header) equal the previous record\'s; `dup_ttl` = records that equal the')
    w('previous one except TTL/hop limit (and IPv4 header checksum). The same numbers are in')
    w('`truth.tsv` (columns `duplicates` = `dup_exact` and `dup_ttl`), one row per attempt in `attempts.tsv`.')
    w('')
    w('| file | frames | syn | synack | rst | syn_retrans | attempts | established | refused | icmp | unanswered | dup_exact | dup_ttl |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for i in info:
        by = {}
        for a in i['atts']:
            by[a['outcome']] = by.get(a['outcome'], 0) + 1
        w('| `%s` | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |' % tuple(
            [i['name']] + i['counts'] + [len(i['atts'])] +
            [by.get(o, 0) for o in ('established', 'refused', 'icmp_unreachable', 'unanswered')] +
            [i['exact'], i['ttl']]))
    w('')
    w('## Attempts')
    w('')
    w('Outcome as the capture shows it; `SYNs` = transmissions of that SYN (1 = no retransmission);')
    w('offsets in seconds from the first SYN (from this generation; expect some ms of jitter);')
    w('`answer` = seconds from the first SYN to the SYN-ACK / RST / ICMP error; `client saw` =')
    w('the connect() result and its duration in the client program.')
    w('')
    w('| file | client -> server | outcome | answer | SYNs | SYN offsets (s) | client saw |')
    w('|---|---|---|---|---|---|---|')
    for i in info:
        for a in i['atts']:
            c, cp, s, sp, isn = a['key']
            w('| `%s` | %s -> %s | %s (%s) | %s | %d | %s | %s |' % (
                i['name'], ep(c, cp), ep(s, sp), a['outcome'], a['detail'] or 'no answer',
                a['answer_after'] or '-', a['syn_tx'], a['offsets'], a.get('client', '')))
    w('')
    write_notes(w, env, info)
    with open(os.path.join(out, 'README.md'), 'w') as f:
        f.write('\n'.join(L) + '\n')

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'server': server, 'client': client, 'tcx': tcx, 'analyze': analyze}[cmd](*args)
PYEOF

# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
ns_add() {
  local ns=$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # No DAD, no router solicitations, no RA processing on interfaces created later.
  nsx "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
    net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0
}

# cap_start NS IFACE FILE [tcpdump args...] : start tcpdump, wait until it is capturing.
cap_start() {
  local ns=$1 ifc=$2 file=$3 err pid i
  shift 3
  err=$WORK/$(basename "$file").tcpdump.err
  : >"$err"
  # Not through nsx: a function would run in a subshell and $! would not be tcpdump itself.
  ip netns exec "$ns" tcpdump -U -n -Z root -i "$ifc" -w "$file" "$@" 2>"$err" &
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

# cap_stop: let the last packets arrive, stop every running tcpdump with SIGINT.
cap_stop() {
  local p
  sleep 1
  for p in "${CAPS[@]}"; do kill -INT "$p"; done
  for p in "${CAPS[@]}"; do wait "$p" || die "tcpdump $p exited with $?"; forget_pid "$p"; done
  CAPS=()
}

start_server() {
  local ns=$1 pid i
  ip netns exec "$ns" "$PY" "$HELPER" server 8080 900 >"$WORK/server-$ns.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for i in $(seq 1 50); do
    nsx "$ns" ss -Hltn 'sport = :8080' | grep 8080 >/dev/null && return 0
    sleep 0.1
  done
  die "server in $ns did not start: $(cat "$WORK/server-$ns.log")"
}

# cli NS SCENARIO EXPECTED_OUTCOME SRC SPORT DST DPORT sc|cc BYTES [TCP_SYNCNT]
cli() {
  local ns=$1
  shift
  nsx "$ns" "$PY" "$HELPER" client "$WORK/clients.tsv" "$@"
  sleep 0.2
}

# Client-side counter of ICMP errors that arrived while the socket was locked by its owner.
lockdrops() { nsx sd-cli nstat -saz TcpExtLockDroppedIcmps | awk '$1 == "TcpExtLockDroppedIcmps" {print $2}'; }

# describe FILE SIDE SCENARIO TEXT : one README row; attempts of SCENARIO must be in FILE.
describe() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$WORK/files.tsv"; }

C4=198.18.1.2 S4=198.18.2.2 C6=2001:2:0:1::2 S6=2001:2:0:2::2

setup_main() {
  local ns
  for ns in sd-cli sd-rtr sd-srv; do ns_add "$ns"; done
  ip -n sd-cli link add sdc0 address 02:5d:00:01:00:02 type veth peer name sdr1 address 02:5d:00:01:00:01 netns sd-rtr
  ip -n sd-rtr link add sdr2 address 02:5d:00:02:00:fe type veth peer name sds0 address 02:5d:00:02:00:02 netns sd-srv
  # Router: sdr1 routed, the server side is a bridge (like docker0) with port sdr2.
  ip -n sd-rtr link add sdbr0 address 02:5d:00:02:00:01 type bridge stp_state 0
  nsx sd-rtr sysctl -qw net.ipv6.conf.sdr2.disable_ipv6=1 net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n sd-rtr link set sdr2 master sdbr0
  ip -n sd-cli addr add $C4/24 dev sdc0
  ip -n sd-cli addr add $C6/64 dev sdc0 nodad
  ip -n sd-rtr addr add 198.18.1.1/24 dev sdr1
  ip -n sd-rtr addr add 2001:2:0:1::1/64 dev sdr1 nodad
  ip -n sd-rtr addr add 198.18.2.1/24 dev sdbr0
  ip -n sd-rtr addr add 2001:2:0:2::1/64 dev sdbr0 nodad
  ip -n sd-srv addr add $S4/24 dev sds0
  ip -n sd-srv addr add $S6/64 dev sds0 nodad
  ip -n sd-cli link set sdc0 up
  ip -n sd-rtr link set sdr1 up
  ip -n sd-rtr link set sdr2 up
  ip -n sd-rtr link set sdbr0 up
  ip -n sd-srv link set sds0 up
  ip -n sd-cli route add default via 198.18.1.1
  ip -n sd-cli -6 route add default via 2001:2:0:1::1
  ip -n sd-srv route add default via 198.18.2.1
  ip -n sd-srv -6 route add default via 2001:2:0:2::1
  # Static neighbours: no ARP / neighbour discovery in the captures.
  ip -n sd-cli neigh replace 198.18.1.1 lladdr 02:5d:00:01:00:01 dev sdc0 nud permanent
  ip -n sd-cli neigh replace 2001:2:0:1::1 lladdr 02:5d:00:01:00:01 dev sdc0 nud permanent
  ip -n sd-rtr neigh replace $C4 lladdr 02:5d:00:01:00:02 dev sdr1 nud permanent
  ip -n sd-rtr neigh replace $C6 lladdr 02:5d:00:01:00:02 dev sdr1 nud permanent
  ip -n sd-rtr neigh replace $S4 lladdr 02:5d:00:02:00:02 dev sdbr0 nud permanent
  ip -n sd-rtr neigh replace $S6 lladdr 02:5d:00:02:00:02 dev sdbr0 nud permanent
  ip -n sd-srv neigh replace 198.18.2.1 lladdr 02:5d:00:02:00:01 dev sds0 nud permanent
  ip -n sd-srv neigh replace 2001:2:0:2::1 lladdr 02:5d:00:02:00:01 dev sds0 nud permanent
  # Server host firewall (nf_tables backend). The server capture point (AF_PACKET on sds0)
  # sees packets before the INPUT hook, so dropped/rejected SYNs are in the server capture.
  nsx sd-srv iptables -A INPUT -p tcp --dport 8082 --syn -j DROP
  nsx sd-srv iptables -A INPUT -p tcp --dport 8083 -j REJECT --reject-with icmp-port-unreachable
  nsx sd-srv iptables -A INPUT -p tcp --dport 8084 -j REJECT --reject-with icmp-admin-prohibited
  nsx sd-srv iptables -A INPUT -p tcp --dport 8085 -j REJECT --reject-with icmp-host-prohibited
  nsx sd-srv ip6tables -A INPUT -p tcp --dport 8083 -j REJECT --reject-with icmp6-port-unreachable
  nsx sd-srv ip6tables -A INPUT -p tcp --dport 8084 -j REJECT --reject-with icmp6-adm-prohibited
  # Client baseline: short SYN retry budget unless a scenario says otherwise.
  nsx sd-cli sysctl -qw net.ipv4.tcp_syn_retries=3
  start_server sd-srv
}

# The kernel has no 8021q module (CONFIG_VLAN_8021Q unset), so VLAN sub-interfaces cannot be
# created. Instead a 6-instruction eBPF program (tcx egress) calls bpf_skb_vlan_push() on
# every frame leaving the veth and one on tcx ingress pops the tags again. On the wire (and
# in tcpdump, which re-inserts the offloaded outer tag from PACKET_AUXDATA exactly as with a
# NIC doing rx-vlan-offload) the frames carry real 802.1Q / 802.1ad tags.
setup_vlan() {
  local ns
  for ns in sd-vcli sd-vsrv; do
    ns_add "$ns"
    nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n sd-vcli link add sdv0 address 02:5d:00:64:00:01 type veth peer name sdv1 address 02:5d:00:64:00:02 netns sd-vsrv
  ip -n sd-vcli link add sdq0 address 02:5d:00:c8:00:01 type veth peer name sdq1 address 02:5d:00:c8:00:02 netns sd-vsrv
  ip -n sd-vcli addr add 198.18.100.1/24 dev sdv0
  ip -n sd-vsrv addr add 198.18.100.2/24 dev sdv1
  ip -n sd-vcli addr add 198.18.200.1/24 dev sdq0
  ip -n sd-vsrv addr add 198.18.200.2/24 dev sdq1
  ip -n sd-vcli neigh replace 198.18.100.2 lladdr 02:5d:00:64:00:02 dev sdv0 nud permanent
  ip -n sd-vsrv neigh replace 198.18.100.1 lladdr 02:5d:00:64:00:01 dev sdv1 nud permanent
  ip -n sd-vcli neigh replace 198.18.200.2 lladdr 02:5d:00:c8:00:02 dev sdq0 nud permanent
  ip -n sd-vsrv neigh replace 198.18.200.1 lladdr 02:5d:00:c8:00:01 dev sdq1 nud permanent
  nsx sd-vcli "$PY" "$HELPER" tcx sdv0 egress 0x8100:100
  nsx sd-vcli "$PY" "$HELPER" tcx sdv0 ingress 1
  nsx sd-vsrv "$PY" "$HELPER" tcx sdv1 egress 0x8100:100
  nsx sd-vsrv "$PY" "$HELPER" tcx sdv1 ingress 1
  # QinQ: inner C-tag 802.1Q 300 pushed first, then outer S-tag 802.1ad 200.
  nsx sd-vcli "$PY" "$HELPER" tcx sdq0 egress 0x8100:300,0x88a8:200
  nsx sd-vcli "$PY" "$HELPER" tcx sdq0 ingress 2
  nsx sd-vsrv "$PY" "$HELPER" tcx sdq1 egress 0x8100:300,0x88a8:200
  nsx sd-vsrv "$PY" "$HELPER" tcx sdq1 ingress 2
  for ns in sdv0 sdq0; do ip -n sd-vcli link set "$ns" up; done
  for ns in sdv1 sdq1; do ip -n sd-vsrv link set "$ns" up; done
  start_server sd-vsrv
}

# ---------------------------------------------------------------------------------------
# Start from a clean slate (a previous run killed with SIGKILL may have left namespaces).
remove_namespaces
: >"$WORK/files.tsv"
: >"$WORK/clients.tsv"

ns_add sd-cli
LINEAR_DEFAULT=absent
if nsx sd-cli test -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts; then
  LINEAR_DEFAULT=$(nsx sd-cli sysctl -n net.ipv4.tcp_syn_linear_timeouts)
fi
{
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'tcpdump\t%s\n' "$(tcpdump --version 2>&1 | head -1)"
  printf 'tshark\t%s\n' "$(tshark --version 2>/dev/null | head -1 | sed 's/ (Git.*//')"
  printf 'linear\t%s\n' "$LINEAR_DEFAULT"
  printf 'syn_retries\t%s\n' "$(nsx sd-cli sysctl -n net.ipv4.tcp_syn_retries)"
  printf 'timestamps\t%s\n' "$(nsx sd-cli sysctl -n net.ipv4.tcp_timestamps)"
} >"$WORK/env.tsv"
ip netns del sd-cli
log "kernel $(uname -r), tcp_syn_linear_timeouts default: $LINEAR_DEFAULT"

setup_main
setup_vlan
log "topology ready"

# 1. established.pcap (+ established-client.pcap): five good connections with a little data.
#    40101/40103/40105: the server closes first (its FIN first; server socket -> TIME_WAIT);
#    40102/40104: the client closes first. Classic pcap, microseconds, Ethernet.
log "scenario: established"
cap_start sd-srv sds0 "$OUT/established.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/established-client.pcap" "$FILTER"
cli sd-cli established established $C4 40101 $S4 8080 sc 32
cli sd-cli established established $C4 40102 $S4 8080 cc 32
cli sd-cli established established $C4 40103 $S4 8080 sc 48
cli sd-cli established established $C4 40104 $S4 8080 cc 48
cli sd-cli established established $C4 40105 $S4 8080 sc 64
cap_stop
describe established.pcap server established "5 established connections to 198.18.2.2:8080 from ports 40101-40105; server closes first on 40101/40103/40105, client first on 40102/40104"
describe established-client.pcap client established "client side of the same run as established.pcap (same clock)"

# 2. established-ns.pcapng: nanosecond timestamps. tcpdump writes a nanosecond pcap
#    (magic a1b23c4d); editcap converts it to pcapng keeping if_tsresol=9.
log "scenario: established-ns"
cap_start sd-srv sds0 "$WORK/established-ns.pcap" --time-stamp-precision=nano "$FILTER"
cli sd-cli established-ns established $C4 40201 $S4 8080 cc 600
cli sd-cli established-ns established $C4 40202 $S4 8080 sc 600
cli sd-cli established-ns established $C4 40203 $S4 8080 cc 600
cap_stop
editcap -F pcapng "$WORK/established-ns.pcap" "$OUT/established-ns.pcapng"
capinfos "$OUT/established-ns.pcapng" | grep 'nanoseconds' >/dev/null || die "established-ns.pcapng is not nanosecond"
describe established-ns.pcapng server established-ns "3 established connections (ports 40201-40203, 600-byte replies), nanosecond pcapng converted by editcap from tcpdump --time-stamp-precision=nano"

# 3. any-sll2.pcap: tcpdump -i any in the router namespace (LINUX_SLL2). Every packet is
#    seen three times: on sdr1 (routed side, TTL 64 towards the server), and on the bridge
#    sdbr0 and its port sdr2 (TTL 63, byte-identical network layer). Return packets: on sdr2
#    and sdbr0 (TTL 64, identical), then on sdr1 (TTL 63). Same as docker0 + veth + eth0.
log "scenario: any-sll2"
cap_start sd-rtr any "$OUT/any-sll2.pcap" "$FILTER"
cli sd-cli any-sll2 established $C4 40301 $S4 8080 sc 32
cli sd-cli any-sll2 established $C4 40302 $S4 8080 cc 32
cli sd-cli any-sll2 refused $C4 40303 $S4 8081 sc 32
cli sd-cli any-sll2 established $C4 40304 $S4 8080 sc 32
cap_stop
describe any-sll2.pcap "router (-i any)" any-sll2 "tcpdump -i any in the router: 3 established (40301, 40302, 40304) + 1 refused (40303 -> 8081); every packet recorded 3 times (sdr1, sdbr0, sdr2)"

# 4. Compressed captures: established.pcap.gz (gzip -n, server side) and
#    ok-and-refused-client.pcap.zst (zstd, client side), different runs.
log "scenario: compressed"
cap_start sd-srv sds0 "$WORK/established-gz.pcap" "$FILTER"
cli sd-cli gz established $C4 40401 $S4 8080 sc 16
cli sd-cli gz established $C4 40402 $S4 8080 cc 16
cli sd-cli gz established $C4 40403 $S4 8080 sc 16
cap_stop
gzip -n -9 -c "$WORK/established-gz.pcap" >"$OUT/established.pcap.gz"
describe established.pcap.gz server gz "gzip (-n) of a server capture: 3 established connections, ports 40401-40403 (not the same run as established.pcap)"
cap_start sd-cli sdc0 "$WORK/zst.pcap" "$FILTER"
cli sd-cli zst established $C4 40501 $S4 8080 cc 16
cli sd-cli zst refused $C4 40502 $S4 8081 cc 16
cli sd-cli zst established $C4 40503 $S4 8080 sc 16
cap_stop
zstd -q -19 -c "$WORK/zst.pcap" >"$OUT/ok-and-refused-client.pcap.zst"
describe ok-and-refused-client.pcap.zst client zst "zstd of a client capture: 40501/40503 established, 40502 -> 8081 refused"

# 5. vlan.pcap / vlan-qinq.pcap: captured on the server's veth (the "trunk"), so the tags are
#    visible (tcpdump re-inserts the offloaded outer tag).
log "scenario: vlan"
cap_start sd-vsrv sdv1 "$OUT/vlan.pcap"
cli sd-vcli vlan established 198.18.100.1 40601 198.18.100.2 8080 sc 32
cli sd-vcli vlan established 198.18.100.1 40602 198.18.100.2 8080 cc 32
cli sd-vcli vlan refused 198.18.100.1 40603 198.18.100.2 8081 cc 32
cap_stop
[[ $(tshark -n -r "$OUT/vlan.pcap" -Y 'vlan.id==100' -T fields -e frame.number | wc -l) -gt 0 ]] || die "no 802.1Q tags in vlan.pcap"
describe vlan.pcap server vlan "every frame 802.1Q-tagged, VLAN 100; 40601/40602 established, 40603 -> 8081 refused (no capture filter)"
cap_start sd-vsrv sdq1 "$OUT/vlan-qinq.pcap"
cli sd-vcli qinq established 198.18.200.1 40701 198.18.200.2 8080 sc 32
cli sd-vcli qinq established 198.18.200.1 40702 198.18.200.2 8080 cc 32
cli sd-vcli qinq refused 198.18.200.1 40703 198.18.200.2 8081 cc 32
cap_stop
[[ $(tshark -n -r "$OUT/vlan-qinq.pcap" -Y 'ieee8021ad.id==200 && vlan.id==300' -T fields -e frame.number | wc -l) -gt 0 ]] || die "no QinQ tags in vlan-qinq.pcap"
describe vlan-qinq.pcap server qinq "every frame double-tagged: outer 802.1ad (0x88a8) S-VLAN 200, inner 802.1Q C-VLAN 300; 40701/40702 established, 40703 -> 8081 refused (no capture filter)"

# 6. ipv6.pcap (+ ipv6-client.pcap): IPv6 handshakes through the router, one to a closed port.
log "scenario: ipv6"
cap_start sd-srv sds0 "$OUT/ipv6.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/ipv6-client.pcap" "$FILTER"
cli sd-cli ipv6 established $C6 40801 $S6 8080 sc 32
cli sd-cli ipv6 established $C6 40802 $S6 8080 cc 32
cli sd-cli ipv6 refused $C6 40803 $S6 8081 cc 32
cli sd-cli ipv6 established $C6 40804 $S6 8080 sc 32
cap_stop
describe ipv6.pcap server ipv6 "IPv6: 40801/40802/40804 established, 40803 -> 8081 refused by RST"
describe ipv6-client.pcap client ipv6 "client side of the same run as ipv6.pcap"

# 7a. closed-port: nothing listens on 8081, the server kernel answers SYN with RST,ACK.
log "scenario: closed-port"
cap_start sd-srv sds0 "$OUT/closed-port.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/closed-port-client.pcap" "$FILTER"
cli sd-cli closed refused $C4 40901 $S4 8081 cc 16
cli sd-cli closed refused $C4 40902 $S4 8081 cc 16
cap_stop
describe closed-port.pcap server closed "2 attempts to closed port 8081 (40901, 40902): SYN -> RST,ACK"
describe closed-port-client.pcap client closed "client side of the same run as closed-port.pcap"

# 7b. firewall-drop: iptables in sd-srv drops SYNs to 8082 after the capture point; the
#     client retransmits the same SYN and finally connect() fails with ETIMEDOUT.
#     41001: tcp_syn_linear_timeouts=0, tcp_syn_retries=3 -> classic backoff 1,2,4 s:
#            SYNs at +0 +1 +3 +7, gives up at ~15 s.
#     41002: default tcp_syn_linear_timeouts (4 on 6.5+), tcp_syn_retries=3: retransmissions
#            1 s apart, then exponential: +0 +1 +2 +3 +4 +5 +7 +11; the kernel allows
#            tcp_syn_retries + tcp_syn_linear_timeouts retransmissions, gives up at ~19 s.
log "scenario: firewall-drop (about 35 s)"
cap_start sd-srv sds0 "$OUT/firewall-drop.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/firewall-drop-client.pcap" "$FILTER"
if [[ $LINEAR_DEFAULT != absent ]]; then nsx sd-cli sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0; fi
nsx sd-cli sysctl -qw net.ipv4.tcp_syn_retries=3
cli sd-cli firewall unanswered $C4 41001 $S4 8082 cc 16
if [[ $LINEAR_DEFAULT != absent ]]; then nsx sd-cli sysctl -qw "net.ipv4.tcp_syn_linear_timeouts=$LINEAR_DEFAULT"; fi
cli sd-cli firewall unanswered $C4 41002 $S4 8082 cc 16
cap_stop
describe firewall-drop.pcap server firewall "SYNs to 8082 dropped by iptables INPUT after the capture point: 41001 with tcp_syn_linear_timeouts=0, tcp_syn_retries=3; 41002 with tcp_syn_linear_timeouts=$LINEAR_DEFAULT (default), tcp_syn_retries=3"
describe firewall-drop-client.pcap client firewall "client side of the same run as firewall-drop.pcap"

# 7c. icmp-reject: iptables REJECT answers the SYN with ICMP destination unreachable
#     (code 3 port, 13 administratively prohibited, 10 host prohibited); the client's
#     connect() fails at once (ECONNREFUSED / EHOSTUNREACH).
log "scenario: icmp-reject"
L0=$(lockdrops)
cap_start sd-srv sds0 "$OUT/icmp-reject.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/icmp-reject-client.pcap" "$FILTER"
cli sd-cli icmp4 icmp_unreachable $C4 41101 $S4 8083 cc 16
cli sd-cli icmp4 icmp_unreachable $C4 41102 $S4 8084 cc 16
cli sd-cli icmp4 icmp_unreachable $C4 41103 $S4 8085 cc 16
cap_stop
describe icmp-reject.pcap server icmp4 "iptables REJECT: 41101 -> 8083 ICMP port unreachable (3/3), 41102 -> 8084 admin prohibited (3/13), 41103 -> 8085 host prohibited (3/10)"
describe icmp-reject-client.pcap client icmp4 "client side of the same run as icmp-reject.pcap"

# 7d. icmp6-reject: ip6tables REJECT with ICMPv6 destination unreachable
#     (type 1 code 4 port unreachable, code 1 administratively prohibited).
L1=$(lockdrops)
log "scenario: icmp6-reject"
cap_start sd-srv sds0 "$OUT/icmp6-reject.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/icmp6-reject-client.pcap" "$FILTER"
cli sd-cli icmp6 icmp_unreachable $C6 41201 $S6 8083 cc 16
cli sd-cli icmp6 icmp_unreachable $C6 41202 $S6 8084 cc 16
cap_stop
L2=$(lockdrops)
printf 'lockdrops_icmp4\t%s\nlockdrops_icmp6\t%s\n' $((L1 - L0)) $((L2 - L1)) >>"$WORK/env.tsv"
describe icmp6-reject.pcap server icmp6 "ip6tables REJECT: 41201 -> 8083 ICMPv6 port unreachable (1/4), 41202 -> 8084 administratively prohibited (1/1)"
describe icmp6-reject-client.pcap client icmp6 "client side of the same run as icmp6-reject.pcap"

# 7e. mixed-failures: successes and every failure kind in one capture. The dropped attempt
#     (41304, TCP_SYNCNT=2 with the default linear timeouts: SYNs at +0 +1 +2 +3 +4 +5, then
#     ETIMEDOUT at ~7 s = (2^3 - 1) s) runs in the background while the next attempts go on,
#     so its retransmissions interleave with them.
log "scenario: mixed-failures"
cap_start sd-srv sds0 "$OUT/mixed-failures.pcap" "$FILTER"
cap_start sd-cli sdc0 "$OUT/mixed-failures-client.pcap" "$FILTER"
cli sd-cli mixed established $C4 41301 $S4 8080 sc 16
cli sd-cli mixed refused $C4 41302 $S4 8081 cc 16
cli sd-cli mixed established $C4 41303 $S4 8080 cc 16
ip netns exec sd-cli "$PY" "$HELPER" client "$WORK/clients.tsv" mixed unanswered $C4 41304 $S4 8082 cc 16 2 &
BG=$!
PIDS+=("$BG")
sleep 0.3
cli sd-cli mixed icmp_unreachable $C4 41305 $S4 8083 cc 16
cli sd-cli mixed established $C4 41306 $S4 8080 sc 16
cli sd-cli mixed icmp_unreachable $C4 41307 $S4 8084 cc 16
cli sd-cli mixed established $C4 41308 $S4 8080 cc 16
cli sd-cli mixed established $C6 41309 $S6 8080 sc 16
cli sd-cli mixed refused $C6 41310 $S6 8081 cc 16
wait "$BG" || die "background client failed"
forget_pid "$BG"
cap_stop
describe mixed-failures.pcap server mixed "mix: established 41301/41303/41306/41308 (v4) + 41309 (v6); refused 41302 (v4), 41310 (v6); ICMP 41305 (port unreach), 41307 (admin prohibited); 41304 dropped (TCP_SYNCNT=2: 6 SYNs over ~7 s, interleaved with the later attempts)"
describe mixed-failures-client.pcap client mixed "client side of the same run as mixed-failures.pcap"

# ---------------------------------------------------------------------------------------
log "stopping servers, removing namespaces"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
PIDS=()
remove_namespaces

log "analysing captures"
"$PY" "$HELPER" analyze "$WORK" "$OUT"

# Replace the generated files in the lab folder (only now that everything succeeded).
log "writing into $LAB"
find "$LAB" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' \
  -o -name '*.pcap.zst' -o -name truth.tsv -o -name attempts.tsv -o -name README.md \) -delete
cp "$OUT"/* "$LAB"/
chmod 0644 "$LAB"/*.pcap "$LAB"/*.pcapng "$LAB"/*.gz "$LAB"/*.zst "$LAB"/*.tsv "$LAB"/README.md
ls -l "$LAB" >&2
log "done"
