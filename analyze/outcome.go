package analyze

import (
	"time"

	"github.com/syndiag/syndiag/flows"
)

// Outcome is what became of a handshake attempt, as far as the capture shows.
type Outcome string

// Outcomes, in the vocabulary of the JSON contract.
const (
	// Established: the server answered with a SYN-ACK and the client's
	// third ACK was seen.
	Established Outcome = "established"
	// Refused: the server answered the SYN with a RST (a closed port).
	Refused Outcome = "refused"
	// ICMPUnreachable: an ICMP or ICMPv6 error answered the SYN (a REJECT
	// rule, no route, a TTL that ran out).
	ICMPUnreachable Outcome = "icmp_unreachable"
	// Unanswered: nothing came back, and the client gave up: the capture
	// runs clearly past the time its next SYN was due under its fitted
	// schedule (Schedule.GaveUp).
	Unanswered Outcome = "unanswered"
	// AnsweredByACK: the server answered a SYN with a bare ACK, as a socket
	// in TIME_WAIT or a stale connection on the same 4-tuple does.
	AnsweredByACK Outcome = "answered_by_ack"
	// ResetAfterACK: the handshake completed and the server reset it at
	// once, as a full accept queue does with tcp_abort_on_overflow=1.
	ResetAfterACK Outcome = "reset_after_ack"
	// HalfOpen: the server sent a SYN-ACK that the client never
	// acknowledged (lost on the way back, or a spoofed SYN).
	HalfOpen Outcome = "half_open"
	// Incomplete: the capture ended while the handshake could still go on.
	Incomplete Outcome = "incomplete"
)

// resetAfterACKWindow is how soon after the third ACK a server RST counts as
// the handshake being thrown away rather than a connection ending later.
const resetAfterACKWindow = 200 * time.Millisecond

// classify decides an attempt's outcome. captureEnd is the time of the last
// packet of the capture the attempt came from, and sched the fit of its SYN
// times, which says whether the client gave up before the capture ended.
func classify(a *flows.Attempt, captureEnd int64, sched Schedule) Outcome {
	switch {
	case a.Established():
		for _, r := range a.Resets {
			if overflowReset(a, r) {
				return ResetAfterACK
			}
		}
		return Established
	case len(a.SYNACKs) > 0:
		if captureEnd-a.SYNACKs[0].Time < int64(minRTO) && !a.Evicted {
			return Incomplete
		}
		return HalfOpen
	}
	for _, r := range a.Resets {
		if r.FromServer {
			return Refused
		}
	}
	for _, e := range a.ICMP {
		if e.AboutClientSegment {
			return ICMPUnreachable
		}
	}
	if len(a.AckAnswers) > 0 {
		return AnsweredByACK
	}
	if !a.Evicted && !sched.GaveUp {
		return Incomplete
	}
	return Unanswered
}

// overflowReset reports whether a RST is the one a full accept queue sends
// with tcp_abort_on_overflow=1: tcp_check_req answers the client's third ACK
// (or its first data) through tcp_v4_send_reset / tcp_v6_send_reset, which
// for a segment carrying an ACK sends a bare RST (no ACK flag) whose
// sequence number is that segment's acknowledgment, the server's ISN+1. A
// RST|ACK, one that acknowledges the client's data, or one after the server
// sent data or a FIN comes from an established socket: the application
// closing with SO_LINGER 0, not the queue.
func overflowReset(a *flows.Attempt, r flows.Reset) bool {
	return r.FromServer && r.Flags&flows.ACK == 0 &&
		r.Time >= a.ThirdACK && r.Time-a.ThirdACK <= int64(resetAfterACKWindow) &&
		len(a.SYNACKs) > 0 && r.Seq == a.SYNACKs[0].Seq+1 &&
		a.FirstData[1] == 0 && (a.FirstFIN == flows.NoSide || a.FINTime > r.Time)
}

// minRTO is the initial retransmission timeout of RFC 6298 and Linux: an
// answer later than that means the client already felt the loss. Before it,
// a capture that ends tells nothing.
const minRTO = time.Second

// Failed reports whether the outcome is a handshake that did not complete.
func (o Outcome) Failed() bool {
	switch o {
	case Established, Incomplete:
		return false
	}
	return true
}
