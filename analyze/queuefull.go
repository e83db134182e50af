package analyze

import (
	"net/netip"
	"slices"
)

// queueFit is how well a full accept queue explains a listener's lost SYNs.
// When the queue is already full as a SYN arrives, tcp_conn_request drops
// it (sk_acceptq_is_full: ListenOverflows, ListenDrops) and sends no
// SYN-ACK, so no third ACK is ever ignored: the capture shows unanswered
// SYNs only, next to completed handshakes whose first request the server
// leaves unanswered because the application has not accept()ed them. The
// occupancy model (acceptOccupancy) counts those waiting handshakes; if the
// queue explains the drops, SYNs went unanswered exactly while it counted
// at least the queue's size, and were answered while it counted fewer.
type queueFit struct {
	capacity int // the occupancy from which SYNs went unanswered
	// lost and answered count the SYN transmissions to the listener that
	// got no answer and that got a SYN-ACK; lostFull and answeredFull
	// those that met an occupancy of capacity or more.
	lost, lostFull, answered, answeredFull int
	firstLost                              int64 // when the first SYN met a full queue
	waitedMax                              int64 // the longest a request waited for its reply
}

// Thresholds of the fit. Nearly every lost SYN met a full queue (the rest
// may be strays lost on the path), and most of them met it at exactly its
// size: a full queue is a plateau, and drops it explains sit on it. Few
// answered SYNs came while the model counted that many: it counts a
// handshake until the server's first reply, so when the application drains
// the queue and a burst of retransmitted SYNs is accepted at once, it counts
// more than the queue held — but a firewall or a path that drops SYNs while
// the server is merely slow to reply shows as many answered SYNs at that
// count as lost ones. And there are enough lost ones to tell.
const (
	fitLostShare     = 0.9
	fitPlateauShare  = 0.5
	fitAnsweredShare = 0.25
	fitMinLost       = 3
	// fitMinCapacity: one or two handshakes waiting for their reply is a
	// slow request, not a queue; listen(1) admits 2.
	fitMinCapacity = 2
)

// fitQueueToDrops estimates the queue's size from the lost SYNs and checks
// that it separates them from the answered ones.
func (v *view) fitQueueToDrops(server netip.AddrPort, steps []queueStep, claimed map[int]bool) (queueFit, bool) {
	var lost, answered []int
	var lostAt []int64
	d := v.oneWayDelay(server) // the occupancy is in the server's time
	for _, i := range v.listener(server) {
		a := v.at(i)
		if claimed[i] || a.Outcome == Refused || a.Outcome == ICMPUnreachable {
			continue
		}
		ok := synAnswered(a)
		for j, l := range lostSYNs(a, v.c.Last) {
			t := a.SYNs[j].Time + d
			switch {
			case l:
				lost = append(lost, occupancyAt(steps, t))
				lostAt = append(lostAt, a.SYNs[j].Time)
			case ok[j] && len(a.SYNACKs) > 0:
				answered = append(answered, occupancyAt(steps, t))
			}
		}
	}
	if len(lost) < fitMinLost {
		return queueFit{}, false
	}
	// At a drop the queue held exactly its size, and the model counts at
	// least that many (it keeps an accepted handshake until the server's
	// first reply, a little after accept()): the size is the smallest count
	// seen at the lost SYNs, less a few strays lost on the path.
	sorted := slices.Clone(lost)
	slices.Sort(sorted)
	best := queueFit{capacity: sorted[int(float64(len(sorted))*(1-fitLostShare))], lost: len(lost), answered: len(answered)}
	if best.capacity < fitMinCapacity {
		return queueFit{}, false
	}
	plateau := 0
	for _, n := range lost {
		if n >= best.capacity {
			best.lostFull++
		}
		if n == best.capacity {
			plateau++
		}
	}
	if float64(plateau) < fitPlateauShare*float64(best.lost) {
		return queueFit{}, false
	}
	for _, n := range answered {
		if n >= best.capacity {
			best.answeredFull++
		}
	}
	if float64(best.answeredFull) > fitAnsweredShare*float64(best.answered) {
		return queueFit{}, false
	}
	for j, n := range lost {
		if n >= best.capacity && (best.firstLost == 0 || lostAt[j] < best.firstLost) {
			best.firstLost = lostAt[j]
		}
	}
	for _, i := range v.listener(server) {
		a := v.at(i)
		if a.Established() && a.FirstData[0] != 0 && a.FirstData[1] > a.FirstData[0] {
			best.waitedMax = max(best.waitedMax, a.FirstData[1]-a.FirstData[0])
		}
	}
	return best, true
}
