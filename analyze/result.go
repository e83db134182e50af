package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/flows"
)

// Role says on which side of the network a capture was taken.
type Role string

// Capture roles.
const (
	RoleClient  Role = "client"
	RoleServer  Role = "server"
	RoleUnknown Role = "unknown"
)

// Input is one capture as package flows read it.
type Input struct {
	Path     string
	Role     Role // RoleUnknown to let analyze infer it
	Capture  *flows.Capture
	Attempts []*flows.Attempt
}

// Capture is an input capture as the result describes it.
type Capture struct {
	Path string
	Role Role
	// RoleInferred is set when analyze inferred Role from the packets, and
	// RoleReason says how.
	RoleInferred bool
	RoleReason   string
	*flows.Capture
}

// Attempt is a handshake attempt with what analyze made of it.
type Attempt struct {
	*flows.Attempt
	Capture int // index into Result.Captures
	Outcome Outcome
	// ConnectTime is the first SYN to the SYN-ACK the client acknowledged
	// (the last before its third ACK; the first when it never ACKed), in
	// seconds; -1 when no SYN-ACK was seen. At the server, a SYN-ACK lost
	// on the way back is not the one that connected.
	ConnectTime float64
	// InitialRTO is the interval between the first SYN and its first
	// retransmission, in seconds; -1 when the SYN was not retransmitted.
	InitialRTO float64
	Schedule   Schedule
	// ReSYNs counts the SYNs sent again at TCP_TIMEOUT_MIN after a bare ACK
	// answered the previous one (tcp_rcv_synsent_state_process): among the
	// retransmissions, but costing milliseconds, not a timeout.
	ReSYNs int
	// RetryOf is the index in Result.Attempts of the failed attempt this one
	// retries (same client address and server, a new port or ISN, soon
	// after), or -1.
	RetryOf int
	// Cause is the kind of the finding that explains the attempt's failure
	// or delay, or NoCause.
	Cause Kind

	// With a client and a server capture joined (see Join): Peer is the
	// index in Result.Attempts of the same attempt in the other capture, or
	// -1; ClientSeenAs the client's address after NAT, when it differs;
	// LostAt where the attempt was first lost ("" when not joined), and
	// SYNLostAt the same per SYN transmission, for client-side attempts.
	Peer         int
	ClientSeenAs netip.AddrPort
	LostAt       LostAt
	SYNLostAt    []LostAt
}

// Retransmissions is the number of SYNs sent after the first.
func (a *Attempt) Retransmissions() int { return len(a.SYNs) - 1 }

// ServerSummary counts the attempts to one server endpoint in one capture.
type ServerSummary struct {
	Capture       int
	Server        netip.AddrPort
	Attempts      int
	Retransmitted int // attempts that needed at least one SYN retransmission
	// Retries counts attempts that were the application's retry of an
	// earlier failed one (see Attempt.RetryOf).
	Retries  int
	Outcomes map[Outcome]int
	Clients  int // distinct client IP addresses
	Latency  Latency
}

// Result is everything analyze found, in a deterministic order.
type Result struct {
	Captures []Capture
	Attempts []Attempt // by first SYN time
	Servers  []ServerSummary
	Sources  []Source
	Findings []Finding // ranked, most severe first
	// Evidence is the host evidence AnalyzeWithEvidence was given, or nil.
	Evidence *HostEvidence
	// PAWS holds the per-host PAWS replay of each capture, in capture
	// order.
	PAWS []PAWSReplay
	// AcceptQueues holds the accept-queue model of the busiest listeners
	// of each capture (at most 3 each) that completed or lost handshakes,
	// by capture, then as Servers lists them; none for a joined client
	// capture.
	AcceptQueues []AcceptQueue
	// Join is set when one client-side and one server-side capture were
	// given, joined or found not to belong together, and for any two
	// captures, to say why they were not joined (Join.Outcome; see
	// Joined).
	Join *Join
}

// Analyze classifies every attempt of the inputs, runs the models on each
// capture, and ranks what they found.
func Analyze(inputs []Input) *Result {
	res := &Result{}
	n := 0
	for _, in := range inputs {
		n += len(in.Attempts)
	}
	res.Attempts = make([]Attempt, 0, n)
	for i, in := range inputs {
		c := Capture{Path: in.Path, Role: in.Role, Capture: in.Capture}
		for _, a := range in.Attempts {
			res.Attempts = append(res.Attempts, newAttempt(a, i, in.Capture.Last))
		}
		res.Captures = append(res.Captures, c)
	}
	slices.SortStableFunc(res.Attempts, compareAttempts)
	for i := range res.Captures {
		v := newView(res, i)
		v.inferRole()
		v.linkRetries()
		res.Servers = append(res.Servers, v.summarise()...)
		res.Sources = append(res.Sources, v.sources()...)
		res.Findings = append(res.Findings, v.findings()...)
		res.PAWS = append(res.PAWS, v.paws)
	}
	joinCaptures(res)
	res.AcceptQueues = acceptQueues(res)
	for i := range res.Findings {
		weigh(res, &res.Findings[i])
	}
	rankFindings(res.Findings)
	assignCauses(res)
	shareCauses(res)
	explainDelays(res)
	return res
}

// explainDelays adds to each retransmission-delay finding which other
// findings explain the SYNs that had to be retransmitted.
func explainDelays(res *Result) {
	for fi := range res.Findings {
		f := &res.Findings[fi]
		if f.Kind != KindSYNRetransmitDelay {
			continue
		}
		by := map[Kind]int{}
		for _, i := range f.attempts {
			if c := res.Attempts[i].Cause; c != KindSYNRetransmitDelay {
				by[c]++
			}
		}
		if len(by) == 0 {
			f.Evidence = append(f.Evidence, "no other finding explains these lost SYNs")
			continue
		}
		var parts []string
		for _, k := range sortedKeys(by, cmp.Compare[Kind]) {
			parts = append(parts, fmt.Sprintf("%d by %s", by[k], k))
		}
		f.Evidence = append(f.Evidence, "of these, explained: "+strings.Join(parts, ", "))
	}
}

func newAttempt(a *flows.Attempt, capture int, captureEnd int64) Attempt {
	at := Attempt{Attempt: a, Capture: capture, ConnectTime: -1, InitialRTO: -1, RetryOf: -1, Peer: -1, Cause: NoCause}
	if len(a.SYNACKs) > 0 {
		at.ConnectTime = seconds(answeringSYNACK(a) - a.SYNs[0].Time)
	}
	// A SYN sent again right after the server answered the previous one
	// with a bare ACK was re-armed at TCP_TIMEOUT_MIN once the client had
	// reset the stale 4-tuple (tcp_rcv_synsent_state_process): it is no
	// timer retransmission, and the timer's schedule starts over from it.
	var times []int64
	for i, s := range a.SYNs {
		if i > 0 && ackAnswered(a, a.SYNs[i-1].Time, s.Time) {
			times = times[:0]
			at.ReSYNs++
		}
		times = append(times, s.Time)
	}
	if len(times) > 1 {
		at.InitialRTO = seconds(times[1] - times[0])
	}
	answered := len(a.SYNACKs) > 0 || len(a.Resets) > 0 || len(a.ICMP) > 0 || len(a.AckAnswers) > 0
	at.Schedule = fitSchedule(times, captureEnd, answered)
	if ttl := initialTTL(a.SYNs[0].TTL); ttl != 64 {
		// Linux sends with TTL 64: a client that started at 128 (Windows)
		// or 255 is not Linux, whatever its timer looks like, and Linux's
		// sysctls say nothing about it.
		at.Schedule.SynRetries = nil
		if strings.HasPrefix(string(at.Schedule.Stack), "Linux") {
			at.Schedule.Stack = Stack(fmt.Sprintf("1 s initial RTO, doubling (initial TTL %d: not Linux)", ttl))
		}
	}
	at.Outcome = classify(a, captureEnd, at.Schedule)
	return at
}

// answeringSYNACK returns when the SYN-ACK that completed the handshake was
// sent or seen: the last one before the client's third ACK, or the first
// when the client never acknowledged one.
func answeringSYNACK(a *flows.Attempt) int64 {
	t := a.SYNACKs[0].Time
	if a.Established() {
		for _, s := range a.SYNACKs {
			if s.Time <= a.ThirdACK {
				t = s.Time
			}
		}
	}
	return t
}

// ackAnswered reports whether the server answered a SYN with a bare ACK
// between from and to.
func ackAnswered(a *flows.Attempt, from, to int64) bool {
	for _, x := range a.AckAnswers {
		if x.Time >= from && x.Time < to {
			return true
		}
	}
	return false
}

func compareAttempts(a, b Attempt) int {
	return cmp.Or(
		cmp.Compare(a.FirstSYN(), b.FirstSYN()),
		cmp.Compare(a.Capture, b.Capture),
		a.Client.Compare(b.Client),
		a.Server.Compare(b.Server),
		cmp.Compare(a.ISN, b.ISN),
	)
}

// assignCauses gives each attempt the kind of the highest-ranked finding that
// explains it; a symptom (the delay itself) only where no cause does.
func assignCauses(res *Result) {
	for _, symptoms := range []bool{false, true} {
		for _, f := range res.Findings {
			if symptom(f.Kind) != symptoms {
				continue
			}
			for _, i := range f.attempts {
				if res.Attempts[i].Cause == NoCause {
					res.Attempts[i].Cause = f.Kind
				}
			}
		}
	}
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }
