package analyze

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// localize says, for every SYN transmission of a client-side attempt, where
// it died: never reached the server capture (client_to_server), reached it
// and got no answer before the next SYN (server), got a SYN-ACK (the first
// the server sent after it) that never reached the client capture
// (server_to_client), or none. An attempt is lost
// where its first lost transmission was.
func localize(res *Result, j *Join, pairs []attemptPair, cl []int) {
	off := int64(j.Offset * 1e9)
	matched := map[int]bool{}
	for _, p := range pairs {
		c, s := &res.Attempts[p.c], &res.Attempts[p.s]
		matched[p.c] = true
		c.Peer, s.Peer = p.s, p.c
		if c.Client != s.Client {
			c.ClientSeenAs = s.Client
		}
		sm := matchSYNs(c, s, off, true)
		am := matchSYNACKs(c, s, off, true)
		c.SYNLostAt = make([]LostAt, len(c.SYNs))
		for i, k := range sm {
			c.SYNLostAt[i] = synFate(s, k, am)
		}
		c.LostAt = attemptFate(c.SYNLostAt)
		s.LostAt = c.LostAt
	}
	srv := res.Captures[j.Server].Capture
	for _, i := range cl {
		if matched[i] {
			continue
		}
		c := &res.Attempts[i]
		c.LostAt = LostUnknown
		// Unseen at the server while it was capturing: lost on the way in.
		if t := c.FirstSYN() + off; t >= srv.First && t <= srv.Last {
			c.SYNLostAt = make([]LostAt, len(c.SYNs))
			for k := range c.SYNLostAt {
				c.SYNLostAt[k] = LostClientToServer
			}
			c.LostAt = LostClientToServer
		}
	}
}

// synFate says where the client SYN that is the server's SYN k (or -1) died.
func synFate(s *Attempt, k int, am []int) LostAt {
	if k < 0 {
		return LostClientToServer
	}
	from, until := s.SYNs[k].Time, int64(1<<62)
	if k+1 < len(s.SYNs) {
		until = s.SYNs[k+1].Time
	}
	// The server's first answer decides: if it was lost, the client had to
	// wait, even when a later SYN-ACK of the server's own timer got through.
	answered, arrived := false, false
	for j, a := range s.SYNACKs {
		if a.Time >= from && a.Time < until {
			answered, arrived = true, am[j] >= 0
			break
		}
	}
	other := false
	for _, a := range s.AckAnswers {
		other = other || a.Time >= from && a.Time < until
	}
	for _, r := range s.Resets {
		other = other || r.FromServer && r.Time >= from && r.Time < until
	}
	switch {
	case arrived || (!answered && other):
		return LostNone
	case answered:
		return LostServerToClient
	}
	return LostServer
}

func attemptFate(syns []LostAt) LostAt {
	for _, f := range syns {
		if f != LostNone {
			return f
		}
	}
	return LostNone
}

// pathFindings reports the SYNs and SYN-ACKs lost between the two captures.
func pathFindings(res *Result, j *Join) []Finding {
	var out []Finding
	for _, dir := range []LostAt{LostClientToServer, LostServerToClient} {
		var idx []int
		hosts := map[netip.Addr]int{}
		n := 0
		var first, last int64
		for i := range res.Attempts {
			a := &res.Attempts[i]
			if a.Capture != j.Client || a.SYNLostAt == nil {
				continue
			}
			if dir == LostClientToServer && a.Peer < 0 && (a.Outcome == Refused || a.Outcome == ICMPUnreachable) {
				// None of its SYNs reached the server, and something
				// on the path answered them (a RST forged in the
				// server's name, a router's ICMP error): stopped, not
				// lost, and middlebox_reset or icmp_unreachable says by
				// what.
				continue
			}
			if dir == LostServerToClient && a.Retransmissions() == 0 && a.Schedule.GaveUp {
				// A SYN-ACK lost on the way back makes a real client
				// retransmit its SYN; one that never did, though it was
				// due, is a spoofed or crafted SYN: nobody waited.
				continue
			}
			hit := false
			for k, f := range a.SYNLostAt {
				if f != dir {
					continue
				}
				t := a.SYNs[k].Time
				if n == 0 || t < first {
					first = t
				}
				last = max(last, t)
				n++
				hit = true
			}
			if hit {
				idx = append(idx, i)
				hosts[a.Client.Addr()]++
			}
		}
		if n == 0 {
			continue
		}
		var hs []string
		for _, h := range sortedKeys(hosts, func(a, b netip.Addr) int { return a.Compare(b) }) {
			hs = append(hs, fmt.Sprintf("%s (%s)", h, wording.Plural(hosts[h], "attempt")))
		}
		f := Finding{Kind: KindPathDropToServer, Severity: Warning, Confidence: 0.9, Capture: j.Client,
			AffectedAttempts: len(idx), AffectedSources: len(hosts), attempts: idx}
		span := fmt.Sprintf("between %s and %s (client clock)", wording.Clock(first), wording.Clock(last))
		if dir == LostClientToServer {
			f.Summary = fmt.Sprintf("%s left the client but never reached the server capture", wording.Plural(n, "SYN"))
			f.Evidence = []string{fmt.Sprintf("%s seen in the client capture and not in the server capture, %s", wording.Plural(n, "SYN transmission"), span)}
			f.Recommendation = "Something between the two capture points drops SYNs on the way in: a firewall or NAT (conntrack table full, rate limit), a load balancer or a lossy link. Check the drop counters of each hop (iptables -L -v -x, conntrack -S, interface errors)."
		} else {
			f.Kind = KindPathDropToClient
			f.Summary = fmt.Sprintf("%s reached the server, which answered, but the SYN-ACK never reached the client", wording.Plural(n, "SYN"))
			f.Evidence = []string{fmt.Sprintf("%s answered by SYN-ACKs seen in the server capture and not in the client capture, %s", wording.Plural(n, "SYN transmission"), span)}
			f.Recommendation = "Something between the two capture points drops SYN-ACKs on the way back: asymmetric routing, a stateful firewall or NAT that did not see the SYN, or a lossy link. Check the return path's drop counters."
		}
		f.Evidence = append(f.Evidence, "client hosts affected: "+strings.Join(hs, ", "))
		out = append(out, f)
	}
	return out
}
