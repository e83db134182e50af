package analyze

import (
	"cmp"
	"net/netip"
	"slices"
)

// view is one capture's part of a Result, which the models work on.
type view struct {
	res *Result
	c   *Capture
	idx int
	// attempts are the indices into res.Attempts of this capture's attempts,
	// in time order.
	attempts []int
}

func newView(res *Result, capture int) *view {
	v := &view{res: res, c: &res.Captures[capture], idx: capture}
	for i := range res.Attempts {
		if res.Attempts[i].Capture == capture {
			v.attempts = append(v.attempts, i)
		}
	}
	return v
}

func (v *view) at(i int) *Attempt { return &v.res.Attempts[i] }

// retryWindow is how soon after a failed attempt a new one from the same
// client address to the same server counts as the application's retry.
const retryWindow = 30e9

// linkRetries marks an attempt that starts, from the same client address to
// the same server, within retryWindow after an earlier attempt failed, as a
// retry of it: one failure that the application retried, not two.
func (v *view) linkRetries() {
	type key struct {
		client netip.Addr
		server netip.AddrPort
	}
	lastFailed := map[key]int{}
	for _, i := range v.attempts {
		a := v.at(i)
		k := key{a.Client.Addr(), a.Server}
		if j, ok := lastFailed[k]; ok {
			p := v.at(j)
			end := p.SYNs[len(p.SYNs)-1].Time
			if a.FirstSYN() >= p.FirstSYN() && a.FirstSYN()-end <= retryWindow && (a.Client != p.Client || a.ISN != p.ISN) {
				a.RetryOf = j
			}
		}
		if clientSawFailure(a) {
			lastFailed[k] = i
		} else {
			delete(lastFailed, k)
		}
	}
}

// clientSawFailure reports whether the client itself learned that its
// connect failed, so that an application could retry: a RST, an ICMP error,
// a reset after the handshake, or SYNs retransmitted to no avail. A single
// unanswered SYN or a half-open handshake is what a SYN flood's spoofed
// sources leave, and nobody retries those.
func clientSawFailure(a *Attempt) bool {
	switch a.Outcome {
	case Refused, ICMPUnreachable, ResetAfterACK, AnsweredByACK:
		return true
	case Unanswered:
		return len(a.SYNs) > 1
	}
	return false
}

// summarise counts the attempts per server endpoint.
func (v *view) summarise() []ServerSummary {
	byServer := map[netip.AddrPort]*ServerSummary{}
	clients := map[netip.AddrPort]map[netip.Addr]bool{}
	connect := map[netip.AddrPort][]*Attempt{}
	for _, i := range v.attempts {
		a := v.at(i)
		s := byServer[a.Server]
		if s == nil {
			s = &ServerSummary{Capture: v.idx, Server: a.Server, Outcomes: map[Outcome]int{}}
			byServer[a.Server] = s
			clients[a.Server] = map[netip.Addr]bool{}
		}
		s.Attempts++
		s.Outcomes[a.Outcome]++
		if a.Retransmissions() > 0 {
			s.Retransmitted++
		}
		if a.RetryOf >= 0 {
			s.Retries++
		}
		clients[a.Server][a.Client.Addr()] = true
		connect[a.Server] = append(connect[a.Server], a)
	}
	out := make([]ServerSummary, 0, len(byServer))
	for srv, s := range byServer {
		s.Clients = len(clients[srv])
		s.Latency = connectLatency(connect[srv])
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ServerSummary) int {
		return cmp.Or(cmp.Compare(b.Attempts, a.Attempts), a.Server.Compare(b.Server))
	})
	return out
}
