package analyze

import (
	"cmp"
	"net/netip"
	"slices"

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
	Role     Role
	Capture  *flows.Capture
	Attempts []*flows.Attempt
}

// Capture is an input capture as the result describes it.
type Capture struct {
	Path string
	Role Role
	*flows.Capture
}

// Attempt is a handshake attempt with what analyze made of it.
type Attempt struct {
	*flows.Attempt
	Capture int // index into Result.Captures
	Outcome Outcome
	// ConnectTime is the first SYN to the first SYN-ACK, in seconds; -1
	// when no SYN-ACK was seen.
	ConnectTime float64
	// InitialRTO is the interval between the first SYN and its first
	// retransmission, in seconds; -1 when the SYN was not retransmitted.
	InitialRTO float64
}

// Retransmissions is the number of SYNs sent after the first.
func (a *Attempt) Retransmissions() int { return len(a.SYNs) - 1 }

// ServerSummary counts the attempts to one server endpoint.
type ServerSummary struct {
	Server        netip.AddrPort
	Attempts      int
	Retransmitted int // attempts that needed at least one SYN retransmission
	Outcomes      map[Outcome]int
	Clients       int // distinct client IP addresses
}

// Result is everything analyze found, in a deterministic order.
type Result struct {
	Captures []Capture
	Attempts []Attempt // by first SYN time
	Servers  []ServerSummary
}

// Analyze classifies every attempt of the inputs and summarises them.
func Analyze(inputs []Input) *Result {
	res := &Result{}
	for i, in := range inputs {
		res.Captures = append(res.Captures, Capture{Path: in.Path, Role: in.Role, Capture: in.Capture})
		for _, a := range in.Attempts {
			at := Attempt{Attempt: a, Capture: i, Outcome: classify(a, in.Capture.Last), ConnectTime: -1, InitialRTO: -1}
			if len(a.SYNACKs) > 0 {
				at.ConnectTime = seconds(a.SYNACKs[0].Time - a.SYNs[0].Time)
			}
			if len(a.SYNs) > 1 {
				at.InitialRTO = seconds(a.SYNs[1].Time - a.SYNs[0].Time)
			}
			res.Attempts = append(res.Attempts, at)
		}
	}
	slices.SortStableFunc(res.Attempts, compareAttempts)
	res.Servers = summarise(res.Attempts)
	return res
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

func summarise(attempts []Attempt) []ServerSummary {
	byServer := map[netip.AddrPort]*ServerSummary{}
	clients := map[netip.AddrPort]map[netip.Addr]bool{}
	for i := range attempts {
		a := &attempts[i]
		s := byServer[a.Server]
		if s == nil {
			s = &ServerSummary{Server: a.Server, Outcomes: map[Outcome]int{}}
			byServer[a.Server] = s
			clients[a.Server] = map[netip.Addr]bool{}
		}
		s.Attempts++
		s.Outcomes[a.Outcome]++
		if a.Retransmissions() > 0 {
			s.Retransmitted++
		}
		clients[a.Server][a.Client.Addr()] = true
	}
	out := make([]ServerSummary, 0, len(byServer))
	for srv, s := range byServer {
		s.Clients = len(clients[srv])
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ServerSummary) int {
		return cmp.Or(cmp.Compare(b.Attempts, a.Attempts), a.Server.Compare(b.Server))
	})
	return out
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }
