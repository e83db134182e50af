package main

import (
	"fmt"
	"net"
	"net/netip"
)

// host is one client machine behind the NAT, a Linux older than 4.10.
type host struct {
	s        *sim
	spec     hostSpec
	addr     netip.Addr
	mac      net.HardwareAddr
	uptimeUs int64 // uptime at epoch
	nextPort uint16
	conns    map[uint16]*clientConn
	lanFree  [2]int64
}

func newHost(s *sim, spec hostSpec) *host {
	r := newStream(s.p.seed, "host", uint64(spec.last))
	h := &host{
		s:        s,
		spec:     spec,
		addr:     spec.addr(),
		mac:      spec.mac(),
		uptimeUs: spec.uptimeDays*86_400_000_000 + r.between(0, 86_399_999_999),
		nextPort: uint16(r.between(32768, 60999)),
		conns:    make(map[uint16]*clientConn),
	}
	return h
}

// jiffies is the host's jiffies at time t. Linux starts jiffies at
// INITIAL_JIFFIES, five minutes before wrapping; the TSval is the low 32 bits.
func (h *host) jiffies(t int64) int64 {
	return (h.uptimeUs+t)*h.spec.hz/1_000_000 - 300*h.spec.hz
}

// tick is when the host's jiffies reach j.
func (h *host) tick(j int64) int64 {
	n := (j + 300*h.spec.hz) * 1_000_000
	return (n+h.spec.hz-1)/h.spec.hz - h.uptimeUs
}

func (h *host) tsval(t int64) uint32 { return uint32(h.jiffies(t)) }

// lanArrive returns when a frame leaving at t crosses the host's LAN link.
func (h *host) lanArrive(dir int, t int64) int64 {
	a := t + lanOneWayUs + h.s.jitter.between(0, 15)
	if a <= h.lanFree[dir] {
		a = h.lanFree[dir] + 1
	}
	h.lanFree[dir] = a
	return a
}

// schedule plans the host's connections: sessions at exponential gaps (a
// Poisson process) until the scenario's duration, each a burst of one to
// three connections a fraction of a second to a few seconds apart, as a
// client loading a page or calling an API a few times does. Each connection
// has its own random stream, so every scenario with this host sees the same
// traffic.
func (h *host) schedule() {
	arrivals := newStream(h.s.p.seed, "arrivals", uint64(h.spec.last))
	t := int64(0)
	idx := 0
	for {
		gap := arrivals.expMillis(h.spec.meanGap)
		t += max(gap, 50)*1000 + arrivals.between(0, 999)
		if t >= h.s.p.durationUs {
			return
		}
		n := arrivals.between(1, 3)
		at := t
		for k := int64(0); k < n; k++ {
			i := idx
			h.s.at(at, func() { h.connect(i) })
			idx++
			at += arrivals.between(200_000, 3_000_000)
		}
		t = at
	}
}

type clientState int

const (
	synSent clientState = iota
	established
	closeWait
	lastAck
	finWait1
	closed
)

// clientConn is the client end of one attempt.
type clientConn struct {
	h      *host
	r      *stream
	a      *attempt
	port   uint16
	isn    uint32
	id     uint16 // inet_id
	state  clientState
	j0     int64 // retrans_stamp: jiffies of the first SYN
	rtoJ   int64 // icsk_rto in jiffies
	sndNxt uint32
	rcvNxt uint32
	// tsRecent is the server's last TSval, echoed as TSecr.
	tsRecent uint32
}

func (c *clientConn) local() netip.AddrPort { return netip.AddrPortFrom(c.h.addr, c.port) }

// connect is tcp_v4_connect + tcp_connect: pick a port, an ISN, send the SYN.
func (h *host) connect(idx int) {
	s := h.s
	r := newStream(s.p.seed, "conn", uint64(h.spec.last), uint64(idx))
	// __inet_hash_connect walks ports from a per-destination offset plus a
	// global hint, so a host's successive connections to one server get
	// nearly consecutive ports; other traffic moves the hint a little.
	port := h.nextPort
	h.nextPort += uint16(1 + r.between(0, 3))
	if h.nextPort > 60999 || h.nextPort < 32768 {
		h.nextPort = 32768 + h.nextPort%1024
	}
	c := &clientConn{h: h, r: r, port: port, rtoJ: h.spec.hz} // TCP_TIMEOUT_INIT = 1 s
	c.isn = secureSeq(s.p.seed, c.local(), serverAddr, s.now)
	c.j0 = h.jiffies(s.now)
	c.id = uint16(c.isn ^ uint32(c.j0)) // inet->inet_id = tp->write_seq ^ jiffies
	c.sndNxt = c.isn + 1
	c.a = &attempt{host: h.spec, private: c.local(), isn: c.isn}
	s.attempts = append(s.attempts, c.a)
	h.conns[port] = c
	c.sendSYN()
	c.armSYNTimer(c.j0 + c.rtoJ)
}

func (c *clientConn) seg(flags uint8, payload []byte) segment {
	s := c.h.s
	seg := segment{
		src: c.local(), dst: serverAddr,
		flags: flags, seq: c.sndNxt, ack: c.rcvNxt,
		window: 229, // 29200 >> 7
		tsval:  c.h.tsval(s.now), tsecr: c.tsRecent,
		payload: payload, id: c.id, ttl: hostTTL,
	}
	c.id++
	return seg
}

func (c *clientConn) send(seg segment) {
	c.sndNxt = seg.seq + seg.seqLen()
	c.h.s.fromHost(c.h, seg)
}

// ackSoon sends a pure ACK of rcvNxt after d microseconds.
func (c *clientConn) ackSoon(d int64, rcvNxt uint32) {
	c.h.s.after(d, func() {
		seg := c.seg(flagACK, nil)
		seg.ack = rcvNxt
		c.send(seg)
	})
}

func (c *clientConn) sendSYN() {
	s := c.h.s
	seg := c.seg(flagSYN, nil)
	seg.seq, seg.ack, seg.window = c.isn, 0, 29200
	row := &synRow{attempt: c.a, n: len(c.a.syns), tsval: seg.tsval, sent: s.now}
	c.a.syns = append(c.a.syns, row)
	seg.row = row
	c.h.s.fromHost(c.h, seg)
}

// armSYNTimer sets the retransmit timer to fire at jiffy j; timers run from
// the timer softirq shortly after the tick.
func (c *clientConn) armSYNTimer(j int64) {
	t := c.h.tick(j) + c.r.between(3, 40)
	c.h.s.at(t, func() { c.synTimer(j) })
}

// synTimer is tcp_retransmit_timer in SYN_SENT: give up once
// retransmits_timed_out(sk, tcp_syn_retries, 0, true), else retransmit the
// SYN (same ISN, new TSval) and double the RTO.
func (c *clientConn) synTimer(j int64) {
	if c.state != synSent {
		return
	}
	limit := ((int64(2) << c.h.s.p.synRetries) - 1) * c.h.spec.hz
	if len(c.a.syns) > 1 && j-c.j0 >= limit {
		c.state = closed
		c.a.outcome = outcomeTimedOut
		return
	}
	c.sendSYN()
	c.rtoJ *= 2
	c.armSYNTimer(j + c.rtoJ)
}

var (
	httpRequestClose = []byte("GET /api/v1/status HTTP/1.1\r\nHost: 198.18.50.10\r\nUser-Agent: curl/7.29.0\r\nAccept: */*\r\nConnection: close\r\n\r\n")
	httpRequest      = []byte("GET /api/v1/status HTTP/1.1\r\nHost: 198.18.50.10\r\nUser-Agent: curl/7.29.0\r\nAccept: */*\r\n\r\n")
)

// delayedAckUs is the first delayed-ACK timeout, TCP_ATO_MIN (HZ/25).
const delayedAckUs = 40_000

func (h *host) receive(seg segment) {
	c := h.conns[seg.dst.Port()]
	if c == nil {
		h.s.fail(fmt.Errorf("%v: segment for unknown port %d", h.addr, seg.dst.Port()))
		return
	}
	c.receive(seg)
}

func (c *clientConn) receive(seg segment) {
	s := c.h.s
	switch c.state {
	case synSent:
		if !seg.has(flagSYN|flagACK) || seg.ack != c.isn+1 {
			s.fail(fmt.Errorf("%v: unexpected segment in SYN_SENT", c.local()))
			return
		}
		c.rcvNxt = seg.seq + 1
		c.tsRecent = seg.tsval
		c.state = established
		c.a.outcome = outcomeEstablished
		req := httpRequestClose
		if !s.sc.serverClosesFirst {
			req = httpRequest
		}
		c.ackSoon(c.r.between(15, 40), c.rcvNxt)
		s.after(c.r.between(60, 180), func() { c.send(c.seg(flagPSH|flagACK, req)) })
	case established:
		c.tsRecent = seg.tsval
		if len(seg.payload) > 0 {
			c.rcvNxt = seg.seq + uint32(len(seg.payload))
			// Quick ACK (the connection is young, icsk_ack.quick), sent
			// from this softirq: it acks the data even if the FIN follows
			// before it leaves.
			c.ackSoon(c.r.between(15, 40), c.rcvNxt)
			if !s.sc.serverClosesFirst {
				// The application reads the response and closes.
				s.after(c.r.between(1_000, 20_000), func() {
					c.state = finWait1
					c.send(c.seg(flagFIN|flagACK, nil))
				})
			}
			return
		}
		if seg.has(flagFIN) {
			// tcp_fin: CLOSE_WAIT, pingpong on, so the ACK is delayed.
			c.rcvNxt = seg.seq + 1
			c.state = closeWait
			closeAfter := c.r.between(1_000, 10_000)
			if c.r.between(0, 1) == 1 {
				closeAfter = c.r.between(60_000, 400_000)
			}
			if closeAfter > delayedAckUs {
				s.after(delayedAckUs+c.r.between(0, 3_999), func() { c.send(c.seg(flagACK, nil)) })
			}
			s.after(closeAfter, func() {
				c.state = lastAck
				c.send(c.seg(flagFIN|flagACK, nil))
			})
		}
	case closeWait:
		// Nothing more comes from the server before our FIN.
		s.fail(fmt.Errorf("%v: unexpected segment in CLOSE_WAIT", c.local()))
	case lastAck:
		if seg.ack == c.sndNxt {
			c.state = closed
			delete(c.h.conns, c.port)
		}
	case finWait1:
		// The server's FIN+ACK: FIN_WAIT2, then tcp_fin sends the last ACK
		// and the client enters TIME_WAIT (its own business).
		if seg.has(flagFIN) && seg.ack == c.sndNxt {
			c.tsRecent = seg.tsval
			c.rcvNxt = seg.seq + 1
			s.after(c.r.between(10, 30), func() {
				c.send(c.seg(flagACK, nil))
				c.state = closed
			})
		}
	case closed:
		s.fail(fmt.Errorf("%v: segment after close", c.local()))
	}
}
