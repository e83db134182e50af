package flows

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
)

// flowKey identifies a 4-tuple regardless of direction: endpoint a is the
// lower of the two (address, then port). IPv4 addresses are stored in their
// IPv4-mapped IPv6 form.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

// connState is where a tracked connection stands.
type connState uint8

const (
	stSYNSent     connState = iota // SYN seen, no SYN-ACK yet
	stSYNReceived                  // SYN-ACK seen, no third ACK yet
	stEstablished                  // third ACK seen
	stClosing                      // a FIN seen
	stClosed                       // both FINs, or a RST, seen: lingering for stragglers
)

// conn is the tracker's state for one attempt.
type conn struct {
	*Attempt   // allocated apart, so the tracker's bookkeeping is freed once it is emitted
	key        flowKey
	clientIsA  bool
	state      connState
	seq        uint64 // creation order, for deterministic flushing
	lastActive int64
	queue      *fifo
	stamp      uint32 // matches the conn's live entry in queue
	filterSlot uint16
	inFilter   bool
	afterEst   int // packets looked at since the third ACK
	// srvNext is the sequence number after the server's data seen before
	// the third ACK (0 when none): how far a cumulative third ACK reaches.
	srvNext uint32
	fin     [2]bool
	gone    bool
}

// Timeouts in capture time. Linux gives up a SYN after ~127 s with the
// default tcp_syn_retries=6, and a SYN-ACK after ~63 s with
// tcp_synack_retries=5, so a handshake idle for 3 minutes is over.
const (
	handshakeIdle = 180e9
	closingIdle   = 120e9
	closedLinger  = 5e9
	// A connection leaves the per-packet filter this many packets after its
	// third ACK if payload did not flow both ways by then.
	filterPackets = 32
	// expireEvery is how often, in capture time, timed-out states are looked for.
	expireEvery = 100e6
)

// TrackerStats counts what the tracker did.
type TrackerStats struct {
	Attempts int64 // attempts started (SYNs with a new ISN)
	Evicted  int64 // attempts emitted early because MaxOpen was reached
	MaxOpen  int   // the cap in force
	PeakOpen int   // most attempts open at once
	// OrphanSYNACKs counts SYN-ACKs of no attempt the tracker knows: the
	// SYN came before the capture started, was not captured, or belonged
	// to an attempt evicted too long ago to be remembered.
	OrphanSYNACKs int64
	// OrphanICMP counts ICMP errors quoting TCP of no known attempt.
	OrphanICMP int64
	// UnseenSYNACKs counts handshakes that completed on a SYN-ACK the
	// capture does not hold (Attempt.SYNACKUnseen).
	UnseenSYNACKs int64
	// AfterEviction counts the packets that arrived for attempts already
	// evicted, while they were among the last evicted (see
	// MaxRecentEvicted): they
	// are added to the evicted Attempt's own AfterEviction, and are not
	// orphans. AnsweredAfterEviction counts the evicted attempts that got
	// a SYN-ACK, a RST or an ICMP error after they were evicted.
	AfterEviction         Late
	AnsweredAfterEviction int64
}

// Tracker turns decoded TCP segments into Attempts. It holds state only for
// attempts that are open: half-open handshakes, connections not yet closed,
// and closed ones for a few seconds. Finished attempts are handed to the emit
// function in a deterministic order.
type Tracker struct {
	conns      map[flowKey]*conn
	queues     [4]fifo // handshake, established, closing, closed
	filter     [1 << 16]uint16
	nextSeq    uint64
	now        int64
	lastExpire int64
	emit       func(*Attempt)
	// recent remembers the attempts evicted last, in a ring, so that what
	// arrives for them afterwards is counted on them instead of passing
	// for orphans or starting new attempts.
	recent     map[flowKey]*conn
	recentRing []*conn
	recentNext int
	recentMax  int
	Stats      TrackerStats
}

// MaxRecentEvicted bounds the evicted attempts a Tracker remembers, so that
// a flood cannot grow it much past the cap: a remembered attempt costs less
// than an open one, since its Attempt is the caller's already. It
// remembers MaxOpen of them, but at least MinRecentEvicted, since a small
// cap under a flood evicts many attempts in the second before their
// SYN-ACKs are retransmitted.
const (
	MaxRecentEvicted = 1 << 16
	MinRecentEvicted = 4096
)

// DefaultMaxOpen is the default cap on attempts tracked at once. An open
// attempt costs a few hundred bytes, so the cap bounds the tracker near
// 50 MB even under a SYN flood of spoofed sources.
const DefaultMaxOpen = 100_000

// NewTracker returns a Tracker that calls emit for every finished attempt.
// maxOpen caps the attempts tracked at once (DefaultMaxOpen if <= 0); when it
// is reached, the attempt idle the longest is emitted early with Evicted set.
func NewTracker(maxOpen int, emit func(*Attempt)) *Tracker {
	if maxOpen <= 0 {
		maxOpen = DefaultMaxOpen
	}
	t := &Tracker{conns: make(map[flowKey]*conn), emit: emit}
	t.Stats.MaxOpen = maxOpen
	t.recentMax = min(max(maxOpen, MinRecentEvicted), MaxRecentEvicted)
	t.queues[0].timeout = handshakeIdle
	t.queues[1].timeout = math.MaxInt64
	t.queues[2].timeout = closingIdle
	t.queues[3].timeout = closedLinger
	return t
}

func (t *Tracker) handshakeQ() *fifo   { return &t.queues[0] }
func (t *Tracker) establishedQ() *fifo { return &t.queues[1] }
func (t *Tracker) closingQ() *fifo     { return &t.queues[2] }
func (t *Tracker) closedQ() *fifo      { return &t.queues[3] }

// Observe takes the frame the decoder just decoded, captured at time now as
// record number frame.
func (t *Tracker) Observe(d *Decoder, now, frame int64) {
	if now > t.now {
		t.now = now
		if now-t.lastExpire >= expireEvery {
			t.lastExpire = now
			t.expire()
		}
	}
	if d.hasICMP {
		t.icmp(d, now, frame)
		return
	}
	if !d.hasTCP || !d.tcp.hasFlags() {
		return
	}
	f := d.tcp.flags()
	if f&(SYN|FIN|RST) == 0 {
		// The hot path: most packets are data and ACKs of connections that
		// are not in a handshake. Look them up only if the filter says one
		// of the tracked connections may match.
		if t.filter[filterHash(&d.ip, d.tcp)] == 0 {
			return
		}
	}
	key, srcIsA := makeKey(&d.ip, d.tcp)
	c := t.conns[key]
	switch {
	case c == nil && t.recent[key] != nil && t.late(t.recent[key], srcIsA, f, d.tcp.seq(), now):
		return
	case f&SYN != 0 && f&ACK == 0:
		t.syn(c, key, srcIsA, d, now, frame)
		return
	case c == nil:
		if f&SYN != 0 {
			t.Stats.OrphanSYNACKs++
		}
		return
	}
	fromClient := srcIsA == c.clientIsA
	seg := segmentOf(d, now, frame)
	c.lastActive = now
	switch {
	case f&SYN != 0: // SYN-ACK
		if fromClient {
			return // simultaneous open; not a handshake we model
		}
		c.SYNACKs = append(c.SYNACKs, seg.transmission())
		if c.state == stSYNSent {
			t.setState(c, stSYNReceived)
		}
	case f&RST != 0:
		c.Resets = append(c.Resets, Reset{Time: now, Frame: frame, FromServer: !fromClient, Flags: f, Seq: seg.Seq, Ack: seg.Ack, TTL: seg.TTL, IPID: seg.IPID, Window: seg.Window})
		if c.state >= stEstablished || !fromClient {
			if c.ClosedAt == 0 && c.state >= stEstablished {
				c.ClosedAt = now
			}
			t.setState(c, stClosed)
		}
	default:
		t.follow(c, &seg, fromClient)
	}
	t.noteTSval(c, &seg, fromClient)
}

// syn handles a SYN without ACK: a new attempt or a retransmission.
func (t *Tracker) syn(c *conn, key flowKey, srcIsA bool, d *Decoder, now, frame int64) {
	seq := d.tcp.seq()
	seg := segmentOf(d, now, frame)
	if c != nil && srcIsA == c.clientIsA && c.ISN == seq {
		c.SYNs = append(c.SYNs, seg.transmission())
		c.lastActive = now
		return
	}
	if c != nil {
		t.finish(c, false)
	}
	if len(t.conns) >= t.Stats.MaxOpen {
		t.evict()
	}
	c = &conn{Attempt: &Attempt{}, key: key, clientIsA: srcIsA, seq: t.nextSeq, lastActive: now}
	t.nextSeq++
	c.Client, c.Server, c.ISN = seg.Src, seg.Dst, seq
	c.SYNs = []Transmission{seg.transmission()}
	t.conns[key] = c
	t.Stats.Attempts++
	t.Stats.PeakOpen = max(t.Stats.PeakOpen, len(t.conns))
	c.filterSlot = filterHash(&d.ip, d.tcp)
	t.setFilter(c, true)
	t.setState(c, stSYNSent)
}

// follow handles a segment without SYN or RST on a tracked connection.
func (t *Tracker) follow(c *conn, s *segment, fromClient bool) {
	dir := 0
	if !fromClient {
		dir = 1
	}
	if s.Payload > 0 && c.FirstData[dir] == 0 {
		c.FirstData[dir] = s.Time
	}
	switch {
	case c.state == stSYNSent && s.Flags&ACK != 0 && (fromClient || s.Payload > 0 || s.Ack == c.ISN+1):
		// A SYN-ACK the capture does not hold: the client acknowledges
		// it, or the server sends data or acknowledges exactly the SYN,
		// as only an end that completed this handshake does. One
		// direction of the capture is missing packets (asymmetric routing,
		// a tap or SPAN port that sees one side, a filter), or the SYN-ACK
		// was captured before the SYN.
		c.SYNACKUnseen = true
		c.ThirdACK, c.ThirdACKFrame = s.Time, s.Frame
		t.Stats.UnseenSYNACKs++
		t.setState(c, stEstablished)
	case c.state == stSYNSent && !fromClient && s.Flags&ACK != 0 && s.Flags&FIN == 0:
		c.AckAnswers = append(c.AckAnswers, s.transmission())
	case c.state == stSYNReceived && fromClient && s.Flags&ACK != 0 && c.acks(s.Ack):
		c.ThirdACK, c.ThirdACKFrame = s.Time, s.Frame
		t.setState(c, stEstablished)
	case c.state == stSYNReceived && !fromClient && s.Payload > 0:
		if end := s.Seq + uint32(s.Payload); c.srvNext == 0 || end-c.srvNext < 1<<31 {
			c.srvNext = end
		}
	}
	if c.state == stEstablished {
		c.afterEst++
		if c.FirstData[0] != 0 && c.FirstData[1] != 0 || c.afterEst > filterPackets {
			t.setFilter(c, false)
		}
	}
	if s.Flags&FIN != 0 {
		if c.FirstFIN == NoSide {
			c.FirstFIN, c.FINTime = ClientSide, s.Time
			if !fromClient {
				c.FirstFIN = ServerSide
			}
		}
		c.fin[dir] = true
		if c.fin[0] && c.fin[1] {
			if c.ClosedAt == 0 {
				c.ClosedAt = s.Time
			}
			t.setState(c, stClosed)
		} else if c.state < stClosing {
			t.setState(c, stClosing)
		}
	}
}

// acks reports whether a client's acknowledgment number is the third ACK
// of the last SYN-ACK: ISN+1, or further when the capture missed the bare
// third ACK and the client segment it holds already acknowledges data the
// server sent (a cumulative ACK) — but never past that data.
func (c *conn) acks(ack uint32) bool {
	next := c.SYNACKs[len(c.SYNACKs)-1].Seq + 1
	if ack == next {
		return true
	}
	return c.srvNext != 0 && ack-next <= c.srvNext-next
}

// noteTSval tracks the last timestamp each side received, from the first FIN
// on; before that only the handshake's are kept, which is all the per-host
// PAWS model reads.
func (t *Tracker) noteTSval(c *conn, s *segment, fromClient bool) {
	if !s.Opts.Timestamps {
		return
	}
	i := 0
	if !fromClient {
		i = 1
	}
	c.LastTSval[i] = TSvalSeen{Valid: true, TSval: s.Opts.TSval, Time: s.Time}
}

// late counts a segment on the 4-tuple of an evicted attempt g, and
// reports whether it belonged to g: a SYN with another ISN starts a new
// attempt instead, and g is forgotten.
func (t *Tracker) late(g *conn, srcIsA bool, f TCPFlags, seq uint32, now int64) bool {
	fromClient := srcIsA == g.clientIsA
	l := &g.AfterEviction
	switch {
	case f&SYN != 0 && f&ACK == 0:
		if !fromClient || seq != g.ISN {
			t.forget(g)
			return false
		}
		l.add(&l.SYNs, now)
		t.Stats.AfterEviction.add(&t.Stats.AfterEviction.SYNs, now)
	case f&SYN != 0:
		if fromClient {
			return true // simultaneous open; not counted, as for open attempts
		}
		t.answeredLate(g)
		l.add(&l.SYNACKs, now)
		t.Stats.AfterEviction.add(&t.Stats.AfterEviction.SYNACKs, now)
	case f&RST != 0:
		t.answeredLate(g)
		l.add(&l.RSTs, now)
		t.Stats.AfterEviction.add(&t.Stats.AfterEviction.RSTs, now)
	case fromClient:
		l.add(&l.ACKs, now)
		t.Stats.AfterEviction.add(&t.Stats.AfterEviction.ACKs, now)
	}
	return true
}

// answeredLate counts g among the evicted attempts answered afterwards, once.
func (t *Tracker) answeredLate(g *conn) {
	l := g.AfterEviction
	if l.SYNACKs+l.RSTs+l.ICMP == 0 {
		t.Stats.AnsweredAfterEviction++
	}
}

// remember keeps an evicted attempt among the recent ones, forgetting the
// oldest when the ring is full. Its 4-tuple stays in the per-packet filter
// meanwhile, so that the third ACK of a handshake cut by the cap is seen.
func (t *Tracker) remember(c *conn) {
	n := t.recentMax
	if n == 0 {
		return
	}
	if t.recent == nil {
		t.recent = make(map[flowKey]*conn)
		t.recentRing = make([]*conn, 0, min(n, 1024))
	}
	if len(t.recentRing) < n {
		t.recentRing = append(t.recentRing, c)
	} else {
		t.forget(t.recentRing[t.recentNext])
		t.recentRing[t.recentNext] = c
	}
	t.recentNext = (t.recentNext + 1) % n
	if old := t.recent[c.key]; old != nil {
		t.forget(old)
	}
	t.recent[c.key] = c
	t.setFilter(c, true)
}

// forget drops an evicted attempt from the recent ones; its ring slot is
// reused later.
func (t *Tracker) forget(g *conn) {
	if g == nil || t.recent[g.key] != g {
		return
	}
	delete(t.recent, g.key)
	t.setFilter(g, false)
}

func (t *Tracker) icmp(d *Decoder, now, frame int64) {
	key, srcIsA := makeKey(&d.quoteIP, d.quoteTCP)
	c := t.conns[key]
	if c == nil {
		if g := t.recent[key]; g != nil {
			t.answeredLate(g)
			g.AfterEviction.add(&g.AfterEviction.ICMP, now)
			t.Stats.AfterEviction.add(&t.Stats.AfterEviction.ICMP, now)
			return
		}
		t.Stats.OrphanICMP++
		return
	}
	c.ICMP = append(c.ICMP, ICMPError{
		Time: now, Frame: frame,
		Reporter:           addrOf(d.icmpIP.src),
		V6:                 d.icmpIP.v6(),
		Type:               d.icmpType,
		Code:               d.icmpCode,
		AboutClientSegment: srcIsA == c.clientIsA,
		QuotedSeq:          d.quoteTCP.seq(),
		TTL:                d.icmpIP.ttl,
	})
	c.lastActive = now
}

// setState moves c to a state and to the queue that times that state out.
func (t *Tracker) setState(c *conn, s connState) {
	c.state = s
	q := t.handshakeQ()
	switch s {
	case stEstablished:
		q = t.establishedQ()
	case stClosing:
		q = t.closingQ()
		t.setFilter(c, true)
	case stClosed:
		q = t.closedQ()
	}
	c.queue = q
	c.stamp++
	q.push(c, c.lastActive)
}

func (t *Tracker) setFilter(c *conn, on bool) {
	if c.inFilter == on {
		return
	}
	c.inFilter = on
	if on {
		t.filter[c.filterSlot]++
	} else {
		t.filter[c.filterSlot]--
	}
}

// expire emits attempts whose state timed out by capture time t.now. An
// entry whose connection was active after it entered its queue goes to the
// back of the queue instead.
func (t *Tracker) expire() {
	for i := range t.queues {
		q := &t.queues[i]
		if q.timeout == math.MaxInt64 {
			continue
		}
		for {
			it, ok := q.head()
			if !ok || it.enter+q.timeout > t.now {
				break
			}
			q.pop()
			c := it.c
			if c.lastActive+q.timeout > t.now {
				c.stamp++
				q.push(c, c.lastActive)
				continue
			}
			t.finish(c, false)
		}
	}
}

// evict emits the open attempt that has been idle the longest. A queue is in
// the order its connections entered it, so a head that was active since goes
// to the back first, as in expire; then each head is its queue's idlest.
func (t *Tracker) evict() {
	var victim *conn
	for i := range t.queues {
		q := &t.queues[i]
		it, ok := q.head()
		for ok && it.c.lastActive > it.enter {
			q.pop()
			it.c.stamp++
			q.push(it.c, it.c.lastActive)
			it, ok = q.head()
		}
		if ok && (victim == nil || it.c.lastActive < victim.lastActive) {
			victim = it.c
		}
	}
	if victim == nil {
		return
	}
	victim.queue.pop()
	t.Stats.Evicted++
	t.finish(victim, true)
}

func (t *Tracker) finish(c *conn, evicted bool) {
	if c.gone {
		return
	}
	c.gone = true
	c.Evicted = evicted
	t.setFilter(c, false)
	delete(t.conns, c.key)
	if evicted {
		c.EvictedAt = t.now
		t.remember(c)
	}
	t.emit(c.Attempt)
}

// Flush emits every attempt still open, in the order they started. Call it
// at the end of the capture.
func (t *Tracker) Flush() {
	open := make([]*conn, 0, len(t.conns))
	for _, c := range t.conns {
		open = append(open, c)
	}
	slices.SortFunc(open, func(a, b *conn) int { return cmp.Compare(a.seq, b.seq) })
	for _, c := range open {
		t.finish(c, false)
	}
	for i := range t.queues {
		t.queues[i] = fifo{timeout: t.queues[i].timeout}
	}
}

// fifo is a queue of connections in the order they entered a state. Entries
// go stale when a connection moves on; head skips them. A connection that
// was active after it entered is moved to the back instead of timing out.
type fifo struct {
	items   []fifoItem
	start   int
	timeout int64
}

type fifoItem struct {
	c     *conn
	stamp uint32
	enter int64 // capture time the entry was made
}

func (q *fifo) push(c *conn, enter int64) { q.items = append(q.items, fifoItem{c, c.stamp, enter}) }

// head returns the oldest live entry.
func (q *fifo) head() (fifoItem, bool) {
	for q.start < len(q.items) {
		it := q.items[q.start]
		if !it.c.gone && it.c.queue == q && it.c.stamp == it.stamp {
			return it, true
		}
		q.items[q.start] = fifoItem{}
		q.start++
		q.compact()
	}
	return fifoItem{}, false
}

func (q *fifo) pop() {
	q.items[q.start] = fifoItem{}
	q.start++
	q.compact()
}

// compact reclaims the consumed front of the queue once it is half of it.
func (q *fifo) compact() {
	if q.start >= 1024 && q.start*2 >= len(q.items) {
		n := copy(q.items, q.items[q.start:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.start = 0
	}
}

// makeKey builds the direction-free key of a segment's 4-tuple and reports
// whether the segment's source is endpoint a.
func makeKey(ip *ipHeader, tcp tcpHeader) (flowKey, bool) {
	var k flowKey
	var s, d [16]byte
	putAddr(&s, ip.src)
	putAddr(&d, ip.dst)
	sp, dp := tcp.srcPort(), tcp.dstPort()
	if c := compareAddr(&s, &d); c < 0 || c == 0 && sp <= dp {
		k.a, k.b, k.pa, k.pb = s, d, sp, dp
		return k, true
	}
	k.a, k.b, k.pa, k.pb = d, s, dp, sp
	return k, false
}

func putAddr(dst *[16]byte, src []byte) {
	if len(src) == 4 {
		dst[10], dst[11] = 0xff, 0xff
		copy(dst[12:], src)
		return
	}
	copy(dst[:], src)
}

func compareAddr(a, b *[16]byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// filterHash hashes a 4-tuple symmetrically, so that both directions of a
// connection land in the same slot, from the last 4 bytes of each address
// and the ports: cheap enough to run on every packet.
func filterHash(ip *ipHeader, tcp tcpHeader) uint16 {
	s, d := ip.src, ip.dst
	a := uint32(s[len(s)-4])<<24 | uint32(s[len(s)-3])<<16 | uint32(s[len(s)-2])<<8 | uint32(s[len(s)-1])
	b := uint32(d[len(d)-4])<<24 | uint32(d[len(d)-3])<<16 | uint32(d[len(d)-2])<<8 | uint32(d[len(d)-1])
	pa, pb := uint32(tcp.srcPort()), uint32(tcp.dstPort())
	x := (a + b) ^ (a^b)*0x9e3779b1 ^ ((pa+pb)<<16 | (pa ^ pb))
	x *= 0x85ebca6b
	return uint16(x >> 16)
}

func addrOf(b []byte) netip.Addr {
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b))
	}
	return netip.AddrFrom16([16]byte(b))
}

// segmentOf copies the decoder's TCP segment into value types.
func segmentOf(d *Decoder, now, frame int64) segment {
	t := d.tcp
	s := segment{
		Time:  now,
		Frame: frame,
		Src:   netip.AddrPortFrom(addrOf(d.ip.src), t.srcPort()),
		Dst:   netip.AddrPortFrom(addrOf(d.ip.dst), t.dstPort()),
		Seq:   t.seq(),
		TTL:   d.ip.ttl,
		IPID:  d.ip.id,
		Opts:  Options{WScale: -1},
		Cut:   true,
	}
	if t.hasAck() {
		s.Ack = t.ack()
	}
	if t.hasFlags() {
		s.Flags = t.flags()
		s.Payload = max(d.ip.payloadLen-t.headerLen(), 0)
	}
	if t.hasWindow() {
		s.Window = t.window()
	}
	if len(t) >= 20 {
		s.Opts = t.options()
		s.Cut = len(t) < t.headerLen()
	}
	return s
}

func (s *segment) transmission() Transmission {
	return Transmission{Time: s.Time, Frame: s.Frame, Seq: s.Seq, Ack: s.Ack, TTL: s.TTL, IPID: s.IPID, Window: s.Window, Opts: s.Opts}
}
