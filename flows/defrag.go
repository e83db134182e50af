package flows

// fragments reassembles just enough of fragmented TCP datagrams to read a TCP
// header that the first fragment does not hold whole, as tshark does by
// default. Such datagrams are rare (and mostly evasion attempts), so the
// table is small and its oldest entry is reused when it is full.
type fragments struct {
	entries [16]fragEntry
	next    int
}

type fragEntry struct {
	used     bool
	src, dst [16]byte
	alen     int
	id       uint32
	head     [60]byte // the first bytes of the datagram's payload: the TCP header
	headLen  int
	ranges   [16][2]int // payload ranges seen, [from, to)
	nranges  int
	total    int // payload length, known once the last fragment is seen; -1 before
	ttl      uint8
	ipid     uint16
}

// add records a fragment of a TCP datagram and returns the reassembled TCP
// header and IP header once every byte of the datagram has been seen.
func (f *fragments) add(h *ipHeader, id uint32, off int, more bool, p []byte) (tcpHeader, ipHeader, bool) {
	e := f.find(h, id)
	if off < len(e.head) {
		n := copy(e.head[off:], p)
		if off <= e.headLen {
			e.headLen = max(e.headLen, off+n)
		}
	}
	if off == 0 {
		e.ttl, e.ipid = h.ttl, h.id
	}
	e.cover(off, off+len(p))
	if !more {
		e.total = off + len(p)
	}
	if e.total < 0 || !e.complete() {
		return nil, ipHeader{}, false
	}
	e.used = false
	ip := ipHeader{src: e.src[:e.alen], dst: e.dst[:e.alen], ttl: e.ttl, id: e.ipid, payloadLen: e.total}
	return tcpHeader(e.head[:e.headLen]), ip, true
}

func (f *fragments) find(h *ipHeader, id uint32) *fragEntry {
	for i := range f.entries {
		e := &f.entries[i]
		if e.used && e.id == id && e.alen == len(h.src) && string(e.src[:e.alen]) == string(h.src) && string(e.dst[:e.alen]) == string(h.dst) {
			return e
		}
	}
	e := &f.entries[f.next]
	f.next = (f.next + 1) % len(f.entries)
	*e = fragEntry{used: true, id: id, alen: len(h.src), total: -1}
	copy(e.src[:], h.src)
	copy(e.dst[:], h.dst)
	return e
}

// cover adds [from, to) to the ranges seen, merging ranges that touch, so
// that fragments arriving in order take one slot.
func (e *fragEntry) cover(from, to int) {
	n := 0
	for _, r := range e.ranges[:e.nranges] {
		if r[1] < from || r[0] > to {
			e.ranges[n] = r
			n++
			continue
		}
		from, to = min(from, r[0]), max(to, r[1])
	}
	if n < len(e.ranges) {
		e.ranges[n] = [2]int{from, to}
		n++
	}
	e.nranges = n
}

// complete reports whether the ranges seen cover [0, total).
func (e *fragEntry) complete() bool {
	for _, r := range e.ranges[:e.nranges] {
		if r[0] == 0 && r[1] >= e.total {
			return true
		}
	}
	return false
}
