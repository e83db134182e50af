package main

import (
	"container/heap"
	"fmt"
	"net"
	"sort"
)

// Times in the simulation are microseconds since epoch; pcap stores
// microseconds, so nothing is rounded when the captures are written.

// event is something that happens at a time; seq breaks ties in the order
// the events were scheduled, which keeps runs deterministic.
type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// side names a capture point.
type side int

const (
	sideServer side = iota // tcpdump on the server: post-NAT addresses
	sideLAN                // tcpdump on the router's LAN interface: pre-NAT addresses
)

// record is one captured frame.
type record struct {
	at    int64
	seq   uint64
	frame []byte
}

// sim runs one scenario.
type sim struct {
	p      params
	sc     scenario
	now    int64
	q      eventQueue
	seq    uint64
	jitter *stream

	server *server
	nat    *nat
	hosts  []*host

	captures [2][]record
	attempts []*attempt
	err      error

	// wanFree is when each direction of the WAN path can next deliver,
	// which keeps packets in order on the path (FIFO) despite jitter.
	wanFree [2]int64
}

const (
	up   = 0 // towards the server
	down = 1 // towards the hosts
)

func (s *sim) at(t int64, fn func()) {
	s.seq++
	heap.Push(&s.q, &event{at: t, seq: s.seq, fn: fn})
}

func (s *sim) after(d int64, fn func()) { s.at(s.now+d, fn) }

func (s *sim) run() error {
	for s.q.Len() > 0 && s.err == nil {
		e := heap.Pop(&s.q).(*event)
		s.now = e.at
		e.fn()
	}
	return s.err
}

// fail stops the run; the generator refuses to write captures whose model it
// could not follow (for example a SYN that hits a TIME_WAIT 4-tuple).
func (s *sim) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *sim) capture(sd side, t int64, src, dst net.HardwareAddr, seg segment) {
	b, err := seg.frame(src, dst)
	if err != nil {
		s.fail(err)
		return
	}
	s.seq++
	s.captures[sd] = append(s.captures[sd], record{at: t, seq: s.seq, frame: b})
}

// sortedCapture returns a capture's records in time order.
func (s *sim) sortedCapture(sd side) []record {
	recs := s.captures[sd]
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].at != recs[j].at {
			return recs[i].at < recs[j].at
		}
		return recs[i].seq < recs[j].seq
	})
	return recs
}

// wanArrive returns when a packet leaving at t reaches the other end of the
// WAN path.
func (s *sim) wanArrive(dir int, t int64) int64 {
	a := t + wanOneWayUs + s.jitter.between(0, 300)
	if a <= s.wanFree[dir] {
		a = s.wanFree[dir] + 1
	}
	s.wanFree[dir] = a
	return a
}

// fromHost puts a segment that host h sends now on the LAN.
func (s *sim) fromHost(h *host, seg segment) {
	t := h.lanArrive(up, s.now)
	s.capture(sideLAN, t, h.mac, routerLANMAC, seg)
	if seg.row != nil {
		seg.row.clientTime = t
	}
	s.at(t, func() { s.routerFromLAN(h, seg) })
}

// routerFromLAN translates the source (MASQUERADE keeps ISN, TSval, IP ID)
// and forwards the segment to the server.
func (s *sim) routerFromLAN(h *host, seg segment) {
	pub, err := s.nat.outbound(seg.src, s.now, seg.has(flagSYN) && !seg.has(flagACK))
	if err != nil {
		s.fail(err)
		return
	}
	seg.src = pub
	seg.ttl -= 1 + wanHops
	if seg.row != nil {
		seg.row.attempt.public = pub
	}
	t := s.wanArrive(up, s.now+forwardUs)
	s.capture(sideServer, t, serverGWMAC, serverMAC, seg)
	if seg.row != nil {
		seg.row.serverTime = t
	}
	s.at(t, func() { s.server.receive(seg) })
}

// fromServer puts a segment that the server sends now on the WAN.
func (s *sim) fromServer(seg segment) {
	s.capture(sideServer, s.now, serverMAC, serverGWMAC, seg)
	t := s.wanArrive(down, s.now)
	s.at(t, func() { s.routerFromWAN(seg) })
}

// routerFromWAN undoes the translation and forwards to the host.
func (s *sim) routerFromWAN(seg segment) {
	priv, err := s.nat.inbound(seg.dst, s.now)
	if err != nil {
		s.fail(err)
		return
	}
	h := s.hostByAddr(priv)
	if h == nil {
		s.fail(fmt.Errorf("no host for %v", priv))
		return
	}
	seg.dst = priv
	seg.ttl -= wanHops + 1
	t := s.now + forwardUs
	s.capture(sideLAN, t, routerLANMAC, h.mac, seg)
	a := h.lanArrive(down, t)
	s.at(a, func() { h.receive(seg) })
}
