package analyze

import (
	"net/netip"
	"slices"
)

// This file exports the models' intermediate figures that the HTML report
// draws: the per-host PAWS replay decision on each SYN and the accept
// queue's modelled occupancy. They are computed on demand, so the analysis
// itself keeps no per-SYN records it does not need.

// PAWSReplay is every step of the per-host PAWS replay over one capture
// (see perHostPAWS): the TIME_WAIT stamps the server stored and the rule's
// decision on each SYN that carried a timestamp.
type PAWSReplay struct {
	// Applies is false for a client-side capture: the rule keys on the
	// address the server sees, which a NAT hides from the client's side.
	Applies   bool
	Stamps    []PAWSStamp
	Decisions []PAWSDecision
}

// PAWSStamp is a connection the server closed first entering TIME_WAIT
// (tcp_time_wait → tcp_remember_stamp).
type PAWSStamp struct {
	Time    int64 // when the connection closed
	Source  netip.Addr
	TSval   uint32 // ts_recent: the last TSval the server received from the peer
	Attempt int    // index into Result.Attempts of the connection
	// Stored is false when the tcp_metrics entry kept an older, newer
	// stamp instead (it only moves forward while younger than 60 s).
	Stored bool
}

// PAWSDecision is what tcp_peer_is_proven decided on one SYN transmission.
type PAWSDecision struct {
	Time    int64
	Source  netip.Addr
	TSval   uint32
	Attempt int // index into Result.Attempts
	SYN     int // index into the attempt's SYNs
	// InForce is set when a stamp younger than 60 s (TCP_PAWS_MSL) was
	// remembered for the source, and Stamp is its TSval (tcpm_ts).
	InForce bool
	Stamp   uint32
	// Reject is the rule's verdict: the SYN is more than TCP_PAWS_WINDOW
	// ticks behind the stamp in force, so a kernel with tcp_tw_recycle=1
	// drops it (PAWSPassiveRejected).
	Reject bool
}

// ReplayPAWS replays a capture of res through the per-host PAWS rule of
// Linux < 4.12 with tcp_tw_recycle=1 and returns every stamp and decision,
// for every SYN with a timestamp (whether or not another finding explains
// its attempt). The replay says what the rule would do; whether the server
// ran it is the per_host_paws finding's question.
func ReplayPAWS(res *Result, capture int) PAWSReplay {
	v := newView(res, capture)
	tr := PAWSReplay{Applies: v.c.Role != RoleClient}
	v.replayPAWS(nil, &tr)
	return tr
}

func (tr *PAWSReplay) stamp(e pawsEvent, stored bool) {
	if tr != nil {
		tr.Stamps = append(tr.Stamps, PAWSStamp{Time: e.t, Source: e.ip, TSval: e.tsval, Attempt: e.attempt, Stored: stored})
	}
}

func (tr *PAWSReplay) decide(e pawsEvent, reject, inForce bool, stamp uint32) {
	if tr != nil {
		d := PAWSDecision{Time: e.t, Source: e.ip, TSval: e.tsval, Attempt: e.attempt, SYN: e.syn, InForce: inForce, Reject: reject}
		if inForce {
			d.Stamp = stamp
		}
		tr.Decisions = append(tr.Decisions, d)
	}
}

// AcceptQueue is the accept-queue model of one listener in one capture (see
// acceptOccupancy): how many completed handshakes waited for the
// application over time.
type AcceptQueue struct {
	Server netip.AddrPort
	// Steps is the modelled occupancy, from each step's time on.
	Steps []QueueStep
	// Served is false when the server never sent payload, so that
	// acceptance, and the occupancy, cannot be seen.
	Served bool
	// Capacity is the model's estimate of the queue's size (0 when it has
	// none): the occupancy when the kernel was seen refusing handshakes.
	Capacity int
	// Ignored and Reset are the times of the third ACKs the server ignored
	// (tcp_abort_on_overflow=0) or reset (=1): the queue was full then.
	Ignored, Reset []int64
}

// QueueStep is the modelled accept-queue occupancy from Time on.
type QueueStep struct {
	Time    int64
	Waiting int // handshakes completed and not yet accepted
}

// AcceptQueueModel models the accept queue of server in a capture of res.
func AcceptQueueModel(res *Result, capture int, server netip.AddrPort) AcceptQueue {
	v := newView(res, capture)
	q := AcceptQueue{Server: server}
	steps, served := v.acceptOccupancy(server)
	q.Served = served
	q.Steps = make([]QueueStep, len(steps))
	for i, s := range steps {
		q.Steps[i] = QueueStep{Time: s.t, Waiting: s.n}
	}
	ignored, reset := v.overflowSigns()
	for _, i := range ignored[server] {
		q.Ignored = append(q.Ignored, v.at(i).ThirdACK)
	}
	for _, i := range reset[server] {
		q.Reset = append(q.Reset, v.at(i).ThirdACK)
	}
	if served {
		q.Capacity = queueCapacity(steps, v.overflowTimes(server, append(slices.Clone(ignored[server]), reset[server]...)))
		if q.Capacity == 0 {
			// Full before the SYNs came: the size the lost SYNs show.
			if fit, ok := v.fitQueueToDrops(server, steps, map[int]bool{}); ok {
				q.Capacity = fit.capacity
			}
		}
	}
	return q
}

// SYNsAnswered says, for each SYN transmission of the attempt, whether
// something answered it (a SYN-ACK, a RST or ICMP error from the server's
// side, a bare ACK) before the next transmission.
func (a *Attempt) SYNsAnswered() []bool { return synAnswered(a) }
