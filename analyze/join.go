package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// LostAt is where a SYN transmission or an attempt was lost, as the JSON
// contract names it.
type LostAt string

// Places of loss. An attempt's LostAt is "" when only one capture saw it.
const (
	LostNone           LostAt = "none"
	LostClientToServer LostAt = "client_to_server"
	LostServer         LostAt = "server"
	LostServerToClient LostAt = "server_to_client"
	LostUnknown        LostAt = "unknown"
)

// Join is what joining a client-side and a server-side capture found, or,
// for two captures that are not such a pair, why they were not joined.
type Join struct {
	// Outcome says whether the captures were joined, and if not, why not;
	// Problem says it in a sentence ("" when they were joined).
	Outcome JoinOutcome
	Problem string
	// Client and Server are the indices into Result.Captures of the
	// client-side and the server-side capture; -1 both when the two
	// captures are not one of each.
	Client, Server int
	// Offset is the server capture's clock minus the client capture's, in
	// seconds, and Uncertainty how far off it may be.
	Offset      float64
	Uncertainty float64
	// Matched counts the attempts seen in both captures; Handshakes those
	// whose SYN and SYN-ACK were both matched, which the offset comes from.
	Matched    int
	Handshakes int
	NAT        []NATEntry
}

// JoinOutcome says whether two captures were joined and, if not, why not:
// when they were not, the result holds a single-capture analysis of each
// and nothing else of Join but its Outcome and Problem.
type JoinOutcome string

// Outcomes of a join.
const (
	Joined JoinOutcome = "joined"
	// JoinSameSide: both captures were taken on the same side.
	JoinSameSide JoinOutcome = "same_side"
	// JoinSideUnknown: the packets do not tell on which side a capture
	// was taken.
	JoinSideUnknown JoinOutcome = "side_unknown"
	// JoinNoOverlap: a client-side and a server-side capture that share
	// fewer than minMatches handshakes, so are not of the same traffic.
	JoinNoOverlap JoinOutcome = "no_overlap"
)

// Joined reports whether the result holds a joined client-side and
// server-side capture.
func (r *Result) Joined() bool { return r.Join != nil && r.Join.Outcome == Joined }

// NATEntry is one translation: a client host's address and port as the
// client capture saw them, and as the server saw them.
type NATEntry struct {
	Private netip.AddrPort
	Public  netip.AddrPort
	// SharedWith counts the other private hosts seen behind the same public
	// address.
	SharedWith int
}

// minMatches is how many attempts both captures must share before their
// clocks and losses are compared: fewer is as likely a coincidence of
// unrelated captures.
const minMatches = 2

// joinCaptures joins the result's one client-role and one server-role
// capture, if it has exactly those; of two captures that are not such a
// pair, it says why they are not joined.
func joinCaptures(res *Result) {
	ci, si, pair := -1, -1, true
	for i, c := range res.Captures {
		switch c.Role {
		case RoleClient:
			pair = pair && ci < 0
			ci = i
		case RoleServer:
			pair = pair && si < 0
			si = i
		}
	}
	if !pair || ci < 0 || si < 0 {
		if len(res.Captures) == 2 {
			res.Join = notPaired(res.Captures[0], res.Captures[1])
		}
		return
	}
	var cl, sv []int
	for i := range res.Attempts {
		switch res.Attempts[i].Capture {
		case ci:
			cl = append(cl, i)
		case si:
			sv = append(sv, i)
		}
	}
	j := &Join{Outcome: Joined, Client: ci, Server: si}
	res.Join = j
	pairs, off := matchAttempts(res.Attempts, cl, sv)
	j.Matched, j.Offset, j.Uncertainty, j.Handshakes = len(pairs), off.offset, off.uncertainty, off.n
	if len(pairs) < minMatches {
		j.Outcome = JoinNoOverlap
		j.Problem = fmt.Sprintf("the captures share %s (by ISN, server port and TCP timestamp): they do not overlap in time or hold different traffic, so each is reported on its own", wording.Plural(len(pairs), "handshake attempt"))
		j.Offset, j.Uncertainty = 0, 0
		return
	}
	localize(res, j, pairs, cl)
	// The delay is felt at the client: the server capture's count of late
	// connects starts at the first SYN that reached it, which hides the loss.
	// Where the SYN-ACKs died the join sees (path_drop_to_client); each
	// capture's own guess at it goes.
	res.Findings = slices.DeleteFunc(res.Findings, func(f Finding) bool {
		return f.Capture == ci && serverSideKinds[f.Kind] || f.Capture != ci && f.Kind == KindSYNRetransmitDelay || f.Kind == KindSYNACKUnacknowledged
	})
	j.NAT = natTable(res, pairs)
	res.Findings = append(res.Findings, pathFindings(res, j)...)
	confirmMiddlebox(res, j)
	namePAWSHosts(res, pairs)
}

// notPaired says why two captures that are not one client-side and one
// server-side capture are not joined.
func notPaired(a, b Capture) *Join {
	j := &Join{Client: -1, Server: -1}
	if a.Role == b.Role && a.Role != RoleUnknown {
		how := ""
		if a.RoleInferred || b.RoleInferred {
			how = ", by their TTLs"
		}
		j.Outcome, j.Problem = JoinSameSide, fmt.Sprintf("both captures are %s-side%s; each is reported on its own", a.Role, how)
		return j
	}
	j.Outcome, j.Problem = JoinSideUnknown, "a join needs one client-side and one server-side capture, and the TTLs do not tell which is which; each is reported on its own"
	return j
}

// serverSideKinds are the findings about the server's kernel that the client
// capture can only guess at: a SYN-ACK lost on the way back looks to the
// client like an accept queue that ignored its ACK. With the server capture
// joined, its models decide these, and the client capture's guesses go.
var serverSideKinds = map[Kind]bool{
	KindPerHostPAWS:         true,
	KindAcceptQueueOverflow: true,
	KindSYNQueueOverflow:    true,
	KindServerSilentDrop:    true,
}

// shareCauses gives a joined attempt the cause that the other capture, or
// the join itself, found, where its own capture found none or only the
// delay, which says that SYNs were lost but not why: the server-side twin's
// cause first (the server's kernel dropped it), else the path on which the
// join saw it lost.
func shareCauses(res *Result) {
	if !res.Joined() {
		return
	}
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Cause == KindPathDropToServer || a.Cause == KindPathDropToClient {
			// Lost both ways: the cause is where it was lost first.
			a.Cause = NoCause
		}
		if a.Peer < 0 || (a.Cause != NoCause && a.Cause != KindSYNRetransmitDelay) {
			continue
		}
		if c := res.Attempts[a.Peer].Cause; a.Capture == res.Join.Client && c != NoCause && c != KindSYNRetransmitDelay {
			a.Cause = c
			continue
		}
		switch a.LostAt {
		case LostClientToServer:
			a.Cause = KindPathDropToServer
		case LostServerToClient:
			a.Cause = KindPathDropToClient
		}
	}
}

// attemptPair is a client-side attempt and the server-side one it became.
type attemptPair struct{ c, s int }

// matchAttempts pairs client-side and server-side attempts. A NAT may rewrite
// the client's address and port, but it keeps the ISN, the server port and
// the TCP timestamp option, so two attempts are one only if their ISN and
// server port are equal and, when both carry timestamps, they share a SYN
// TSval (the first SYN may have been lost on the way). The clock offset is
// estimated from those pairs; then, of several candidates, the one closest
// in time after the offset wins. Attempts with different ISNs are never
// paired.
func matchAttempts(atts []Attempt, cl, sv []int) ([]attemptPair, offsetEstimate) {
	type key struct {
		isn  uint32
		port uint16
	}
	byKey := map[key][]int{}
	for _, s := range sv {
		a := &atts[s]
		k := key{a.ISN, a.Server.Port()}
		byKey[k] = append(byKey[k], s)
	}
	cands := make([][]int, len(cl))
	for i, c := range cl {
		a := &atts[c]
		for _, s := range byKey[key{a.ISN, a.Server.Port()}] {
			if sameTimestamps(a, &atts[s]) {
				cands[i] = append(cands[i], s)
			}
		}
	}
	// The offset from the unambiguous candidates first.
	var sure []attemptPair
	for i, c := range cl {
		if len(cands[i]) == 1 {
			sure = append(sure, attemptPair{c, cands[i][0]})
		}
	}
	off := estimateOffset(atts, sure)
	// Then every candidate, nearest in time first, one to one.
	type edge struct {
		c, s int
		gap  int64
	}
	var edges []edge
	limit := int64(maxPairGap*1e9) + int64(off.uncertainty*1e9)
	for i, c := range cl {
		for _, s := range cands[i] {
			gap := atts[s].FirstSYN() - int64(off.offset*1e9) - atts[c].FirstSYN()
			if gap < 0 {
				gap = -gap
			}
			if gap <= limit {
				edges = append(edges, edge{c, s, gap})
			}
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		return cmp.Or(cmp.Compare(a.gap, b.gap), cmp.Compare(a.c, b.c), cmp.Compare(a.s, b.s))
	})
	usedC, usedS := map[int]bool{}, map[int]bool{}
	var pairs []attemptPair
	for _, e := range edges {
		if usedC[e.c] || usedS[e.s] {
			continue
		}
		usedC[e.c], usedS[e.s] = true, true
		pairs = append(pairs, attemptPair{e.c, e.s})
	}
	slices.SortFunc(pairs, func(a, b attemptPair) int { return cmp.Compare(a.c, b.c) })
	return pairs, estimateOffset(atts, pairs)
}

// maxPairGap is how far apart, in seconds after the clock offset, the first
// SYNs of one attempt may be in the two captures: the first SYN may be lost
// and the server see only a retransmission, up to about a minute later.
const maxPairGap = 130

// sameTimestamps reports whether two attempts can be one as far as TCP
// timestamps tell: either lacks them, or a SYN TSval appears in both.
func sameTimestamps(c, s *Attempt) bool {
	if !c.SYNs[0].Opts.Timestamps || !s.SYNs[0].Opts.Timestamps {
		return c.SYNs[0].Opts.Timestamps == s.SYNs[0].Opts.Timestamps
	}
	for _, x := range c.SYNs {
		for _, y := range s.SYNs {
			if x.Opts.TSval == y.Opts.TSval {
				return true
			}
		}
	}
	return false
}

// natTable lists each translation once, by private address.
func natTable(res *Result, pairs []attemptPair) []NATEntry {
	seen := map[NATEntry]bool{}
	hosts := map[netip.Addr]map[netip.Addr]bool{}
	var out []NATEntry
	for _, p := range pairs {
		c, s := &res.Attempts[p.c], &res.Attempts[p.s]
		e := NATEntry{Private: c.Client, Public: s.Client}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
		if hosts[s.Client.Addr()] == nil {
			hosts[s.Client.Addr()] = map[netip.Addr]bool{}
		}
		hosts[s.Client.Addr()][c.Client.Addr()] = true
	}
	for i := range out {
		out[i].SharedWith = len(hosts[out[i].Public.Addr()]) - 1
	}
	slices.SortFunc(out, func(a, b NATEntry) int {
		return cmp.Or(a.Private.Compare(b.Private), a.Public.Compare(b.Public))
	})
	return out
}

// namePAWSHosts adds to each per-host PAWS finding of the server capture the
// private client hosts behind the NAT whose SYNs it explains.
func namePAWSHosts(res *Result, pairs []attemptPair) {
	private := map[int]netip.Addr{}
	for _, p := range pairs {
		private[p.s] = res.Attempts[p.c].Client.Addr()
	}
	for fi := range res.Findings {
		f := &res.Findings[fi]
		if f.Kind != KindPerHostPAWS {
			continue
		}
		n := map[netip.Addr]int{}
		for _, i := range f.attempts {
			if h, ok := private[i]; ok {
				n[h]++
			}
		}
		if len(n) == 0 {
			continue
		}
		f.LockedOut = sortedKeys(n, func(a, b netip.Addr) int { return a.Compare(b) })
		var parts []string
		for _, h := range f.LockedOut {
			parts = append(parts, fmt.Sprintf("%s (%s)", h, wording.Plural(n[h], "attempt")))
		}
		f.Evidence = append(f.Evidence, "private hosts locked out, from the client capture: "+strings.Join(parts, ", "))
		// The hosts behind the same public addresses that were never
		// dropped are those whose timestamp clock runs ahead of the others:
		// their closes set the stamps the others fall behind.
		public := map[netip.Addr]bool{}
		for _, i := range f.attempts {
			public[res.Attempts[i].Client.Addr()] = true
		}
		ahead := map[netip.Addr]bool{}
		for _, p := range pairs {
			h := res.Attempts[p.c].Client.Addr()
			if public[res.Attempts[p.s].Client.Addr()] && n[h] == 0 {
				ahead[h] = true
			}
		}
		if len(ahead) > 0 {
			var hs []string
			for _, h := range sortedKeys(ahead, netip.Addr.Compare) {
				hs = append(hs, h.String())
			}
			f.Evidence = append(f.Evidence, "never locked out behind the same address, so their timestamp clocks run ahead of the others': "+strings.Join(hs, ", "))
		}
	}
}
