package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
)

// tupleChance is how likely, at most, losing every SYN of the stuck attempt
// may be under the loss rate the same host's other attempts show, for the
// loss to count as the 4-tuple's own rather than the path's bad luck.
const tupleChance = 0.01

// stuckTuple is one attempt whose 4-tuple was black-holed, with the
// attempts of the same host to the same server that show it was only that
// 4-tuple.
type stuckTuple struct {
	attempt int
	lost    int // its SYN transmissions lost
	// connected counts the other attempts from the same host to the same
	// server, from other ports, whose first SYN was answered by a SYN-ACK
	// and that completed their handshake, started after the stuck
	// attempt's first SYN and before it gave up; between of them, before
	// its last lost SYN.
	connected, between int
	ports              []uint16 // their client ports
	firstAfter         int64    // the first one's start, after the stuck SYN
	// otherLost of otherSent SYNs of the same host's answered attempts to
	// the same server in that period were lost; chance is how likely losing
	// every SYN of the stuck attempt is at that rate.
	otherLost, otherSent int
	chance               float64
}

// tupleBlackhole: one 4-tuple black-holed. Every SYN of an attempt, the
// first and each retransmission, went unanswered while new attempts from
// the same client address to the same server endpoint, from other source
// ports, were answered at their first SYN in the same period. What drops
// one 4-tuple and passes its neighbours keeps state per 4-tuple: a stale
// conntrack entry (nf_conntrack keeps an old connection's entry, and its
// TCP state machine marks the new SYN invalid), a NAT mapping or a load
// balancer's session pinned to a dead backend, or an ECMP or LAG member
// link that the tuple's hash picks. Retransmissions keep the 4-tuple, so
// they all die; a new port is a new entry, and it passes.
//
// It is told apart from:
//   - a server down or a rule dropping everything: the other ports fail
//     too, and the silent drop stays;
//   - a SYN lost and recovered by a retransmission: that is a delay, and
//     any answer at all (SYN-ACK, RST, ICMP error, bare ACK) rules the
//     attempt out;
//   - per-host PAWS (tcp_peer_is_proven on kernels < 4.12 with
//     tcp_tw_recycle): its replay runs first and claims its SYNs, and an
//     attempt whose SYNs it would drop is left alone;
//   - a port still in TIME_WAIT on the server: that answers the SYN with a
//     bare ACK (stale_timewait);
//   - losses that strike every port alike: the rate at which the same
//     host's answered attempts lost SYNs in the period must make losing all
//     the stuck attempt's SYNs by chance unlikely (tupleChance), and more
//     new ports must have connected than failed.
//
// The other attempts must have been answered between the stuck attempt's
// first and last lost SYN, not only before it gave up: a server back from
// a short outage answers a new port after the old one's last SYN, and the
// old one would have got through too had it sent another.
func (v *view) tupleBlackhole(claimed map[int]bool, paws pawsReplay) *Finding {
	type key struct {
		client netip.Addr
		server netip.AddrPort
	}
	groups := map[key][]int{}
	for _, i := range v.attempts {
		a := v.at(i)
		k := key{a.Client.Addr(), a.Server}
		groups[k] = append(groups[k], i)
	}
	var stuck []stuckTuple
	for _, i := range v.attempts {
		a := v.at(i)
		if claimed[i] || !silentTuple(a) || pawsDrops(paws, i) {
			continue
		}
		lost := countLost(a, v.c.Last)
		if lost < 2 {
			continue
		}
		s := stuckTuple{attempt: i, lost: lost}
		first, last, end := a.FirstSYN(), a.SYNs[lost-1].Time, min(failureEnd(a), v.c.Last)
		failed := 0
		for _, j := range groups[key{a.Client.Addr(), a.Server}] {
			o := v.at(j)
			if j == i || o.Client == a.Client || o.SYNs[len(o.SYNs)-1].Time < first || o.FirstSYN() > end {
				continue
			}
			if len(o.SYNACKs) > 0 {
				s.otherLost += countLost(o, v.c.Last)
				s.otherSent += len(o.SYNs)
			}
			switch {
			case o.FirstSYN() <= first:
			case answeredAtOnce(o):
				s.connected++
				s.ports = append(s.ports, o.Client.Port())
				if s.firstAfter == 0 {
					s.firstAfter = o.FirstSYN()
				}
				if o.FirstSYN() < last {
					s.between++
				}
			case len(answerTimes(o.Attempt, true)) == 0:
				failed++
			}
		}
		// Laplace's rule keeps a handful of clean attempts from passing for
		// a loss-free path.
		p := float64(s.otherLost+1) / float64(s.otherSent+2)
		s.chance = math.Pow(p, float64(lost))
		if s.between == 0 || s.connected <= failed || s.chance > tupleChance {
			continue
		}
		stuck = append(stuck, s)
	}
	if len(stuck) == 0 {
		return nil
	}
	f := &Finding{Kind: KindTupleBlackhole, Severity: Critical}
	syns, hosts := 0, map[netip.Addr]bool{}
	for _, s := range stuck {
		f.attempts = append(f.attempts, s.attempt)
		syns += s.lost
		hosts[v.at(s.attempt).Client.Addr()] = true
	}
	f.figures = modelFigures{droppedSYNs: syns}
	s := stuck[0]
	a := v.at(s.attempt)
	if len(stuck) == 1 {
		f.Summary = fmt.Sprintf("one 4-tuple black-holed: every one of the %s of %s → %s went unanswered while %s from %s to the same server, from new ports, connected at once",
			wording.Plural(s.lost, "SYN"), a.Client, a.Server, wording.Count(s.connected, "other attempt|other attempts"), a.Client.Addr())
	} else {
		who := "host"
		if len(hosts) > 1 {
			who = "hosts"
		}
		f.Summary = fmt.Sprintf("%d 4-tuples black-holed: every SYN of each (%s in all) went unanswered while other attempts from the same %s to the same servers, from new ports, connected at once",
			len(stuck), wording.Plural(syns, "SYN"), who)
	}
	for n, s := range stuck {
		if n == 5 {
			f.Evidence = append(f.Evidence, fmt.Sprintf("and %s", wording.Count(len(stuck)-5, "more 4-tuple|more 4-tuples")))
			break
		}
		f.Evidence = append(f.Evidence, stuckEvidence(v, s))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("e.g. %s → %s: the same host's answered attempts to that server lost %d of their %s in that period; at that rate (counted as %d in %d, so few attempts prove little) losing all %s of one attempt by chance has a probability of %s",
		a.Client, a.Server, s.otherLost, wording.Plural(s.otherSent, "SYN"), s.otherLost+1, s.otherSent+2, wording.Plural(s.lost, "SYN"), chance(s.chance)))
	f.Evidence = append(f.Evidence, "no SYN-ACK, RST, ICMP error or bare ACK came back on these 4-tuples: not a port still in TIME_WAIT on the server (it answers with a bare ACK: stale_timewait), nor a loss a retransmission recovered")
	timestamps := slices.ContainsFunc(stuck, func(s stuckTuple) bool { return v.at(s.attempt).SYNs[0].Opts.Timestamps })
	side := tupleSides[RoleUnknown]
	if s, ok := tupleSides[v.c.Role]; ok {
		side = s
	}
	f.Confidence, f.Recommendation = side.confidence, side.recommendation
	f.Evidence = append(f.Evidence, side.where)
	if timestamps && side.paws != "" {
		f.Evidence = append(f.Evidence, side.paws)
	}
	return f
}

// tupleSide is what a black-holed 4-tuple means at one side of the network.
type tupleSide struct {
	confidence float64
	// where says where the SYNs died; paws, for SYNs with timestamps,
	// what per-host PAWS has to do with it.
	where, paws, recommendation string
}

// tupleSides: at the server the SYNs are seen to arrive, and only its own
// state for the 4-tuple can have dropped them; elsewhere they may have
// died anywhere after the capture point.
var tupleSides = map[Role]tupleSide{
	RoleServer: {0.8,
		"these SYNs reached the server's capture point and the server answered none of them while it answered the same host's other ports: its own state for these 4-tuples dropped them after tcpdump saw them — a conntrack entry left from an older connection (nf_conntrack's TCP tracking finds the SYN invalid for it), a netfilter rule matching the port, or a socket the stack keeps on that 4-tuple",
		"the per-host PAWS replay (tcp_peer_is_proven, kernels < 4.12 with tcp_tw_recycle) drops none of these SYNs",
		"On the server, look for state kept for the 4-tuple: `conntrack -L -p tcp --sport PORT --dport SERVERPORT` (an entry in TIME_WAIT, CLOSE or ESTABLISHED from an older connection), `conntrack -S` (invalid, drop), the counters of rules that drop INVALID packets (`iptables -L -v -n`, `nft list ruleset`), and `ss -tan 'sport = :SERVERPORT'` for a socket on that 4-tuple. Deleting the entry (`conntrack -D ...`) frees it; a client that binds a fixed source port stays stuck until then, one that retries from a new port recovers."},
	RoleClient: {0.5,
		"from the client's side the SYNs may have died anywhere on the way: a NAT, firewall or load balancer holding a stale entry for these 4-tuples, an ECMP or LAG member link their hash picks, or the server itself; a capture at the server tells whether they arrived",
		"these SYNs carry TCP timestamps: a server on Linux < 4.12 with net.ipv4.tcp_tw_recycle=1 (per-host PAWS) rejects every SYN of a connection whose timestamp lies behind the last one it stored for the client's address while connections with other timestamp offsets pass — the same picture from here; the server's capture replays that rule",
		"Find what keeps state per 4-tuple between the client and the server: `conntrack -L -p tcp --sport PORT` on NAT and firewall hosts (an entry left from an older connection), the load balancer's session table, the NAT's mapping for the port, ECMP and LAG member links (`ip route get` with the ports, the switches' hashing). Take a capture at the server at the same time and run `syndiag analyze --client CLIENT.pcap --server SERVER.pcap` to see whether the SYNs arrive. A client that binds a fixed source port stays stuck until the entry times out; one that retries from a new port recovers."},
	RoleUnknown: {0.6,
		"where this capture was taken is unknown: the SYNs died after it, on the way to the server or in the server's own state for these 4-tuples",
		"",
		"Look for state kept per 4-tuple after the capture point: `conntrack -L -p tcp --sport PORT` on NAT and firewall hosts and on the server (an entry left from an older connection), a load balancer's session table, ECMP and LAG member links. A capture on each side tells where the SYNs die. A client that binds a fixed source port stays stuck until the entry times out; one that retries from a new port recovers."},
}

// silentTuple reports whether an attempt retransmitted its SYN and nothing
// at all answered it. An attempt the tracker closed early (Evicted) may
// have been answered after that, unseen on it.
func silentTuple(a *Attempt) bool {
	return a.Retransmissions() > 0 && !a.Evicted && len(answerTimes(a.Attempt, true)) == 0
}

// pawsDrops reports whether the per-host PAWS replay drops a SYN of the
// attempt: that rule, not a 4-tuple's state, explains it.
func pawsDrops(paws pawsReplay, i int) bool {
	for k := range paws.dropped {
		if k[0] == i {
			return true
		}
	}
	return false
}

// answeredAtOnce reports whether a SYN-ACK answered the attempt's first
// SYN, before any retransmission, and the handshake completed: a SYN-ACK
// sent is not yet a connection.
func answeredAtOnce(a *Attempt) bool {
	if !a.Established() || len(a.SYNACKs) == 0 || a.SYNACKs[0].Time < a.FirstSYN() {
		return false
	}
	return len(a.SYNs) == 1 || a.SYNACKs[0].Time < a.SYNs[1].Time
}

// stuckEvidence describes one black-holed 4-tuple and the attempts that
// connected beside it.
func stuckEvidence(v *view, s stuckTuple) string {
	a := v.at(s.attempt)
	var fate string
	switch a.Outcome {
	case Unanswered:
		fate = "the client gave up"
	default:
		fate = "still retransmitting when the capture stopped"
	}
	ports := make([]string, len(s.ports))
	for i, p := range s.ports {
		ports[i] = fmt.Sprint(p)
	}
	return fmt.Sprintf("%s → %s at %s: %s lost (SYNs at %s s, none answered; %s), while %s from %s to the same server, from ports %s, connected at their first SYN, the first %s after this 4-tuple's first SYN, %d of them before its last SYN",
		a.Client, a.Server, wording.Clock(a.FirstSYN()), wording.Plural(s.lost, "SYN"), a.SYNOffsets(), fate,
		wording.Count(s.connected, "other attempt|other attempts"), a.Client.Addr(), strings.Join(firstN(ports, 6), ", "),
		wording.Interval(time.Duration(s.firstAfter-a.FirstSYN())), s.between)
}

// chance writes a small probability: "0.0002", "< 0.0001".
func chance(p float64) string {
	if p < 1e-4 {
		return "< 0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}
