package analyze

import (
	"cmp"
	"net/netip"
	"slices"
)

// PAWSReplay is what the per-host PAWS rule (see perHostPAWS) decides over
// one capture when every SYN with a timestamp is replayed through it,
// whether or not a finding explains its attempt: whether the rule could
// have dropped any SYN there and, where it could, its decision on each SYN
// of the client addresses it matters most to. The replay says what the
// rule would do; whether the server ran it is the per_host_paws finding's
// question.
type PAWSReplay struct {
	Capture int // index into Result.Captures
	Scope   PAWSScope
	// Sources are, when Scope is PAWSCanDrop, the client addresses that
	// sent SYNs with timestamps, at most maxPAWSSources of them, ranked:
	// the most SYNs the rule rejects first, then the most SYNs nothing
	// answered, then the most SYNs, then by address.
	Sources []PAWSSource
	// OtherSources counts the client addresses with timestamps that are
	// not in Sources.
	OtherSources int
}

// PAWSScope says whether the per-host PAWS rule could have dropped any SYN
// of a capture and, if not, why not.
type PAWSScope string

// Scopes of the per-host PAWS rule over a capture.
const (
	// PAWSCanDrop: a SYN came while a stamp the server stored was in force
	// and ahead of its TSval.
	PAWSCanDrop PAWSScope = "can_drop"
	// PAWSClientSide: the rule keys on the address the server sees, which
	// a NAT hides from the client's side, so it is not replayed there.
	PAWSClientSide PAWSScope = "client_side"
	// PAWSNoTimestamps: no SYN carries a TCP timestamp, which the rule
	// checks.
	PAWSNoTimestamps PAWSScope = "no_timestamps"
	// PAWSNoStamp: the server closed no connection first, so it stored no
	// timestamp to compare later SYNs with.
	PAWSNoStamp PAWSScope = "no_stamp"
	// PAWSNoneBehind: no SYN came while a stored stamp was in force and
	// ahead of it.
	PAWSNoneBehind PAWSScope = "none_behind"
)

// maxPAWSSources is how many client addresses a PAWSReplay keeps SYN by
// SYN: the report draws a chart for each.
const maxPAWSSources = 6

// PAWSSource is the replay of one client address's SYNs.
type PAWSSource struct {
	Addr netip.Addr
	// SYNs counts its SYN transmissions with a timestamp, Rejected those
	// the rule rejects, and Unanswered those nothing answered (see
	// Attempt.SYNsAnswered).
	SYNs, Rejected, Unanswered int
	// Stamps are the timestamps the server stored for the address, in
	// time order.
	Stamps []PAWSStamp
	// Decisions are the rule's decisions on each of its SYNs with a
	// timestamp, by attempt, then by transmission.
	Decisions []PAWSDecision
}

// PAWSStamp is a timestamp the server stored for a client address when a
// connection it closed first entered TIME_WAIT (tcp_time_wait →
// tcp_remember_stamp): the tcp_metrics entry's tcpm_ts. A close whose stamp
// the entry did not take (it only moves forward while younger than 60 s) is
// not one.
type PAWSStamp struct {
	Time    int64  // when the connection closed
	TSval   uint32 // ts_recent: the last TSval the server received from the peer
	Attempt int    // index into Result.Attempts of the connection
}

// PAWSDecision is what tcp_peer_is_proven decided on one SYN transmission;
// its time and TSval are the SYN's (Result.Attempts[Attempt].SYNs[SYN]).
type PAWSDecision struct {
	Attempt int // index into Result.Attempts
	SYN     int // index into the attempt's SYNs
	// Answered is set when something answered the SYN before the next
	// transmission.
	Answered bool
	// InForce is set when a stamp younger than 60 s (TCP_PAWS_MSL) was
	// stored for the source, and Stamp is its TSval.
	InForce bool
	Stamp   uint32
	// Reject is the rule's verdict: the SYN is more than TCP_PAWS_WINDOW
	// ticks behind the stamp in force, so a kernel with tcp_tw_recycle=1
	// drops it (PAWSPassiveRejected).
	Reject bool
}

// pawsRecord collects the replay's stamps and decisions, per source.
type pawsRecord struct {
	sources                 map[netip.Addr]*PAWSSource
	decided, stored, reject bool
}

func (rec *pawsRecord) source(ip netip.Addr) *PAWSSource {
	if rec.sources == nil {
		rec.sources = map[netip.Addr]*PAWSSource{}
	}
	s := rec.sources[ip]
	if s == nil {
		s = &PAWSSource{Addr: ip}
		rec.sources[ip] = s
	}
	return s
}

func (rec *pawsRecord) stamp(e pawsEvent) {
	s := rec.source(e.ip)
	s.Stamps = append(s.Stamps, PAWSStamp{Time: e.t, TSval: e.tsval, Attempt: e.attempt})
	rec.stored = true
}

func (rec *pawsRecord) decide(e pawsEvent, answered, inForce, reject bool, stamp uint32) {
	d := PAWSDecision{Attempt: e.attempt, SYN: e.syn, Answered: answered, InForce: inForce, Reject: reject}
	if inForce {
		d.Stamp = stamp
	}
	s := rec.source(e.ip)
	s.Decisions = append(s.Decisions, d)
	s.SYNs++
	rec.decided = true
	if reject {
		s.Rejected++
		rec.reject = true
	}
	if !answered {
		s.Unanswered++
	}
}

// result ranks the sources and keeps those the rule could matter to.
func (rec *pawsRecord) result(capture int) PAWSReplay {
	out := PAWSReplay{Capture: capture}
	switch {
	case !rec.decided:
		out.Scope = PAWSNoTimestamps
		return out
	case !rec.stored:
		out.Scope = PAWSNoStamp
		return out
	case !rec.reject:
		out.Scope = PAWSNoneBehind
		return out
	}
	out.Scope = PAWSCanDrop
	var srcs []*PAWSSource
	for _, s := range rec.sources {
		if s.SYNs > 0 {
			srcs = append(srcs, s)
		}
	}
	slices.SortFunc(srcs, func(a, b *PAWSSource) int {
		return cmp.Or(cmp.Compare(b.Rejected, a.Rejected), cmp.Compare(b.Unanswered, a.Unanswered), cmp.Compare(b.SYNs, a.SYNs), a.Addr.Compare(b.Addr))
	})
	if len(srcs) > maxPAWSSources {
		out.OtherSources = len(srcs) - maxPAWSSources
		srcs = srcs[:maxPAWSSources]
	}
	for _, s := range srcs {
		// The replay decides in time order; a source's SYNs are kept in
		// the order of the attempts they belong to.
		slices.SortFunc(s.Decisions, func(a, b PAWSDecision) int {
			return cmp.Or(cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.SYN, b.SYN))
		})
		out.Sources = append(out.Sources, *s)
	}
	return out
}
