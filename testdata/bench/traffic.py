#!/usr/bin/env python3
"""Traffic generator for testdata/bench/make-large.sh (stdlib only).

Runs inside the sdb-* network namespaces that make-large.sh creates; it
only ever talks to the 198.18.0.0/15 addresses given on the command line.
Every mode is bounded in time and/or count.

  serve  ADDR BULKPORT SHORTPORT SYNDROPPORTS... -- MAXSECONDS
        accept loop: bulk port is drained, short port answers each
        request with a small reply, the SYN-drop ports behave like short.
  bulk   SRC DST PORT SECONDS [MBIT]      one bulk stream (0 = unlimited)
  short  SRCS DST PORT COUNT              sequential connect/send/recv/close;
                                          SRCS is a comma list of source IPs
  refused SRCS DST PORT COUNT             connect to a closed port (RST)
  synloss SRCS DST PORT COUNT PARALLEL HOLD
        non-blocking connects in batches of PARALLEL, each socket kept for
        HOLD seconds then closed (SYNs dropped by iptables => retransmits)
"""
import errno
import os
import selectors
import socket
import sys
import time

REQ = b"GET /x HTTP/1.0\r\nHost: bench\r\n\r\n" + b"q" * 160
REPLY = b"HTTP/1.0 200 OK\r\n\r\n" + b"r" * 700


def serve(addr, ports_bulk, ports_short, max_seconds):
    sel = selectors.DefaultSelector()
    for p in [ports_bulk] + ports_short:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, p))
        ls.listen(4096)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, ("listen", p == ports_bulk))
    buf = bytearray(1 << 20)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            kind, bulk = key.data
            s = key.fileobj
            if kind == "listen":
                while True:
                    try:
                        c, _ = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, ("conn", bulk))
                continue
            try:
                n = s.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                n = 0
            if n == 0:
                sel.unregister(s)
                s.close()
            elif not bulk:
                try:
                    s.send(REPLY)
                except OSError:
                    pass


def bulk(src, dst, port, seconds, mbit):
    s = socket.create_connection((dst, port), timeout=10, source_address=(src, 0))
    s.settimeout(5)
    chunk = b"\xa5" * (256 * 1024)
    end = time.monotonic() + seconds
    start = time.monotonic()
    sent = 0
    try:
        while time.monotonic() < end:
            if mbit > 0:
                allowed = (time.monotonic() - start) * mbit * 125000
                if sent > allowed:
                    time.sleep(0.002)
                    continue
                s.sendall(chunk[:65536])
                sent += 65536
            else:
                s.sendall(chunk)
                sent += len(chunk)
    except OSError:
        pass  # the server went away (capture finished): stop quietly
    finally:
        s.close()
    print(f"bulk {src}->{dst}:{port} sent {sent} bytes", file=sys.stderr)


def short(srcs, dst, port, count):
    ok = fail = 0
    for i in range(count):
        src = srcs[i % len(srcs)]
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(3)
            s.bind((src, 0))
            s.connect((dst, port))
            s.sendall(REQ)
            got = 0
            while got < len(REPLY):
                b = s.recv(4096)
                if not b:
                    break
                got += len(b)
            s.close()
            ok += 1
        except OSError:
            fail += 1
            s.close()
    print(f"short {dst}:{port} ok={ok} fail={fail}", file=sys.stderr)


def refused(srcs, dst, port, count):
    n = 0
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        s.bind((srcs[i % len(srcs)], 0))
        try:
            s.connect((dst, port))
        except ConnectionRefusedError:
            n += 1
        except OSError:
            pass
        s.close()
    print(f"refused {dst}:{port} refused={n}/{count}", file=sys.stderr)


def synloss(srcs, dst, port, count, parallel, hold):
    done = established = 0
    while done < count:
        batch = []
        for i in range(min(parallel, count - done)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((srcs[(done + i) % len(srcs)], 0))
            err = s.connect_ex((dst, port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                continue
            batch.append(s)
        deadline = time.monotonic() + hold
        pending = set(batch)
        sel = selectors.DefaultSelector()
        for s in batch:
            sel.register(s, selectors.EVENT_WRITE)
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                s = key.fileobj
                sel.unregister(s)
                pending.discard(s)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    established += 1
                    try:
                        s.send(REQ)
                    except OSError:
                        pass
        # let replies arrive for the established ones, then close everything
        time.sleep(0.05)
        for s in batch:
            s.close()
        sel.close()
        done += max(len(batch), 1)
    print(f"synloss {dst}:{port} tried={count} established={established}", file=sys.stderr)


def main(a):
    mode = a[0]
    if mode == "serve":
        sep = a.index("--")
        ports = [int(x) for x in a[2:sep]]
        serve(a[1], ports[0], ports[1:], float(a[sep + 1]))
    elif mode == "bulk":
        bulk(a[1], a[2], int(a[3]), float(a[4]), float(a[5]) if len(a) > 5 else 0)
    elif mode == "short":
        short(a[1].split(","), a[2], int(a[3]), int(a[4]))
    elif mode == "refused":
        refused(a[1].split(","), a[2], int(a[3]), int(a[4]))
    elif mode == "synloss":
        synloss(a[1].split(","), a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
