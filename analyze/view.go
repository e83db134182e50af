package analyze

import (
	"cmp"
	"math"
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
	// byServer holds the same per server endpoint (a listener), made on
	// first use: the queue models look at one listener at a time.
	byServer map[netip.AddrPort][]int
	// paws is the per-host PAWS replay that findings made.
	paws PAWSReplay
}

// listener returns the indices of the attempts to one server endpoint, in
// time order.
func (v *view) listener(server netip.AddrPort) []int {
	if v.byServer == nil {
		v.byServer = map[netip.AddrPort][]int{}
		for _, i := range v.attempts {
			s := v.at(i).Server
			v.byServer[s] = append(v.byServer[s], i)
		}
	}
	return v.byServer[server]
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

// retryWindow is how soon after a failed attempt ended a new one from the
// same client host to the same server counts as the application's retry.
const retryWindow = 30e9

// linkRetries marks an attempt as the application's retry of an earlier
// failed one: it comes from the same client host to the same server, and
// starts after the failure ended — after the RST or ICMP error, or once the
// client had given up — and within retryWindow of it. Attempts that overlap
// are two connections, never a retry. Behind a NAT one address is many
// hosts: where its timestamp clocks show them (kernels with per-host
// offsets), the two SYNs must also carry the same clock. What the capture
// cannot tell is intent: a new connection that happens to follow a failure
// looks the same, and the reports say so.
func (v *view) linkRetries() {
	type key struct {
		client netip.Addr
		server netip.AddrPort
	}
	shared := v.sharedSources()
	rtt := v.roundTrip()
	lastFailed := map[key][]int{}
	for _, i := range v.attempts {
		a := v.at(i)
		k := key{a.Client.Addr(), a.Server}
		// The most recent failure not yet retried: each failure is
		// retried once, and a retry that fails in turn is retried next.
		for n, j := range slices.Backward(lastFailed[k]) {
			p := v.at(j)
			end := failureEnd(p) + rtt
			if a.FirstSYN() > end && a.FirstSYN()-end <= retryWindow && (a.Client != p.Client || a.ISN != p.ISN) &&
				(!shared[k.client] || sameClock(p, a)) {
				a.RetryOf = j
				lastFailed[k] = slices.Delete(lastFailed[k], n, n+1)
				break
			}
		}
		if clientSawFailure(a) {
			// Keep the failures still within reach of a retry.
			keep := lastFailed[k][:0]
			for _, j := range lastFailed[k] {
				if a.FirstSYN()-failureEnd(v.at(j)) <= retryWindow {
					keep = append(keep, j)
				}
			}
			lastFailed[k] = append(keep, i)
		}
	}
}

// failureEnd is when the client learned that its attempt failed: the first
// RST, ICMP error or bare ACK that answered it, or, when nothing did, when
// its next SYN would have been due — its connect() gave up then.
func failureEnd(a *Attempt) int64 {
	if t := answerTimes(a.Attempt, false); len(t) > 0 {
		return slices.Min(t)
	}
	last := a.SYNs[len(a.SYNs)-1].Time
	gap := int64(minRTO)
	if n := len(a.SYNs); n > 1 {
		gap = last - a.SYNs[n-2].Time
	}
	return last + gap
}

// roundTrip is how long, away from the client, a failure takes to reach it
// and its reaction to come back: the median time from the SYN-ACK a client
// acknowledged to its third ACK. At the client the capture already shows
// when it learned, and it is 0.
func (v *view) roundTrip() int64 {
	if v.c.Role == RoleClient {
		return 0
	}
	var rtts []int
	for _, i := range v.attempts {
		a := v.at(i)
		if a.Established() && len(a.SYNACKs) > 0 {
			if t := answeringSYNACK(a.Attempt); a.ThirdACK >= t {
				rtts = append(rtts, int(a.ThirdACK-t))
			}
		}
	}
	if len(rtts) == 0 {
		return 0
	}
	return int64(median(rtts))
}

// sharedSources returns the client addresses that several hosts share: more
// than one timestamp clock, each seen on several connections. Where every
// connection has an offset of its own (Linux since 4.10) the clocks cannot
// tell hosts apart, and the address stands for one host.
func (v *view) sharedSources() map[netip.Addr]bool {
	pts := map[netip.Addr][]tsPoint{}
	for _, i := range v.attempts {
		a := v.at(i)
		if o := a.SYNs[0].Opts; o.Timestamps {
			pts[a.Client.Addr()] = append(pts[a.Client.Addr()], tsPoint{t: a.SYNs[0].Time, tsval: o.TSval})
		}
	}
	out := map[netip.Addr]bool{}
	for ip, p := range pts {
		if e := estimateClocks(p); e.Lines > 1 && !e.PerConnection {
			out[ip] = true
		}
	}
	return out
}

// sameClock reports whether two attempts' first SYNs lie on one timestamp
// clock: the TSval advanced by the elapsed time at a rate in use, within
// the jitter estimateClocks allows.
func sameClock(p, a *Attempt) bool {
	x, y := p.SYNs[0].Opts, a.SYNs[0].Opts
	if !x.Timestamps || !y.Timestamps {
		return false
	}
	dt := float64(a.SYNs[0].Time-p.SYNs[0].Time) / 1e9
	dts := float64(y.TSval - x.TSval) // modulo 2^32
	for _, rate := range clockRates {
		if math.Abs(dts-rate*dt) <= rate*(0.02+200e-6*dt)+1 {
			return true
		}
	}
	return false
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
