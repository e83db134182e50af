package analyze

// Fusion of the firewall's counters (iptables -L -v -n -x, iptables-save
// -c, nft list ruleset) into findings: a DROP rule, or a chain's DROP
// policy, whose counter grew by the SYNs a capture shows unanswered names
// the cause of a silent drop; a REJECT rule that grew explains refusals.
// A rule counts every packet it matches, so its growth is compared with
// the SYN transmissions its match covers: exactly as many, more (it also
// matched other traffic) or fewer (something else dropped the rest). Two
// listings give the change between them; one gives totals since the rule
// was made, which say nothing about when.

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows/evidence"
)

// fwSlack is how far the listings' times may miss the capture's span: the
// times syndiag collect writes have seconds.
const fwSlack = time.Second

// inputChain reports whether SYNs to a local socket pass the chain: every
// chain but those of forwarded and outgoing packets.
func inputChain(chain string) bool {
	switch strings.ToLower(chain) {
	case "forward", "output", "postrouting":
		return false
	}
	return true
}

// xtablesTables are the tables of iptables-nft, which nft list ruleset
// shows too.
var xtablesTables = []string{"filter", "raw", "mangle", "nat", "security"}

// fwRules returns the rules that SYNs of one address family pass, one view
// of each ruleset: nft's listing holds iptables-nft's tables (but counts no
// chain policy), and iptables-save every table iptables -L shows, so those
// are not counted twice.
func (fz *fuser) fwRules(v6 bool) []evidence.FirewallRule {
	fam := "ip"
	if v6 {
		fam = "ip6"
	}
	nftXtables, save := false, false
	for _, r := range fz.ev.Firewall {
		nftXtables = nftXtables || r.Format == evidence.FirewallNft && r.Family == fam && slices.Contains(xtablesTables, r.Table)
		save = save || r.Format == evidence.FirewallSave && r.Family == fam
	}
	var out []evidence.FirewallRule
	for _, r := range fz.ev.Firewall {
		switch {
		case r.Family != fam && r.Family != "inet", !inputChain(r.Chain):
		case r.Format != evidence.FirewallNft && nftXtables && !r.Policy:
			// nft counts no policy: iptables' listing of it is the only one.
		case r.Format == evidence.FirewallList && save:
		default:
			out = append(out, r)
		}
	}
	return out
}

// fwSpan says when a rule's listings were taken against a capture.
type fwSpan int

const (
	fwUntimed fwSpan = iota // the listings do not say
	fwCovers                // around the whole capture
	fwPartial               // over a part of it
	fwOther                 // another time
)

// fileTime returns the time an evidence file states.
func (fz *fuser) fileTime(path string) time.Time {
	for _, f := range fz.ev.Files {
		if f.Path == path {
			return f.Time
		}
	}
	return time.Time{}
}

// fwSpanOf places a rule's two listings against a capture.
func (fz *fuser) fwSpanOf(r evidence.FirewallRule, capture int) fwSpan {
	from, to := fz.fileTime(r.From), fz.fileTime(r.To)
	c := fz.res.Captures[capture]
	if r.Single || from.IsZero() || to.IsZero() || c.Capture == nil || c.Packets == 0 {
		return fwUntimed
	}
	first, last := time.Unix(0, c.First), time.Unix(0, c.Last)
	switch {
	case to.Add(fwSlack).Before(first) || from.Add(-fwSlack).After(last):
		return fwOther
	case from.Add(-fwSlack).After(first) || to.Add(fwSlack).Before(last):
		return fwPartial
	}
	return fwCovers
}

// ruleText is a rule as the report quotes it: iptables -L's columns
// read out ("tcp dpt:8081", "from 198.18.180.3"), nft's rule without its
// counter statement, iptables-save's as printed.
func ruleText(r evidence.FirewallRule) string {
	f := strings.Fields(r.Rule)
	switch r.Format {
	case evidence.FirewallSave:
		return r.Rule
	case evidence.FirewallNft:
		f = slices.DeleteFunc(f, func(t string) bool { return t == "counter" })
	case evidence.FirewallList:
		f = listWords(f)
	}
	return r.Chain + ": " + strings.Join(f, " ")
}

// listWords reads out iptables -L's columns: the protocol, the interfaces
// and addresses that are not "any", then the matches.
func listWords(f []string) []string {
	src := listSource(f)
	if src < 0 {
		return f
	}
	var out []string
	m := listMatch(f)
	if m.proto != "" && (len(f) == src+2 || f[src+2] != m.proto) {
		out = append(out, m.proto)
	}
	for i, w := range []string{"in", "out", "from", "to"} {
		if v := f[src-2+i]; v != "*" && v != "0.0.0.0/0" && v != "::/0" {
			out = append(out, w, v)
		}
	}
	return append(out, f[src+2:]...)
}

// describeRule names a rule and the listing it comes from.
func describeRule(r evidence.FirewallRule) string {
	what := "the " + strings.ToUpper(r.Target) + " rule"
	if r.Policy {
		what = fmt.Sprintf("the %s policy of %s", strings.ToUpper(r.Target), r.Chain)
		return fmt.Sprintf("%s (%s)", what, r.Format)
	}
	return fmt.Sprintf("%s “%s” (%s)", what, ruleText(r), r.Format)
}

// fwPrecision is how far a rule's packet delta may be from the truth: 0
// for exact counts, else half of each listing's rounding unit.
func fwPrecision(r evidence.FirewallRule) int64 {
	if r.DeltaExact() || r.Single {
		if r.Packets.Exact() {
			return 0
		}
		return int64(r.Packets.Unit / 2)
	}
	return int64(r.Before.Packets.Unit/2 + r.Packets.Unit/2)
}

// describeGrowth says how a rule's packet counter moved, with its files
// and, for rounded counts, their precision.
func describeGrowth(r evidence.FirewallRule) string {
	if r.Single {
		since := "it was added"
		if r.Policy {
			since = "the chain was made"
		}
		s := fmt.Sprintf("has counted %s packets since %s or its counters were zeroed (%s, one listing: a total that cannot be tied to the capture's time)", r.Packets, since, base(r.To))
		if !r.Packets.Exact() {
			s += fmt.Sprintf("; %s is rounded (iptables -L without -x)", r.Packets)
		}
		return s
	}
	if !r.DeltaExact() {
		return fmt.Sprintf("went from %s to %s packets between %s and %s: about %d, ±%d as iptables -L without -x rounds its counts (take iptables -L -v -n -x for exact ones)", r.Before.Packets, r.Packets, base(r.From), base(r.To), r.DeltaPackets, fwPrecision(r))
	}
	if r.DeltaPackets == 0 {
		return fmt.Sprintf("did not grow between %s and %s (%d packets)", base(r.From), base(r.To), r.Packets.N)
	}
	return fmt.Sprintf("grew by %s between %s and %s", wording.Plural(int(r.DeltaPackets), "packet"), base(r.From), base(r.To))
}

// fwCompare is how a rule's growth compares with the SYNs it could have
// counted.
type fwCompare int

const (
	fwSame    fwCompare = iota // as many, within the counts' precision
	fwMore                     // more: it matched other traffic too
	fwFewer                    // fewer: something else dropped the rest
	fwUnclear                  // rounded counts that cannot tell
)

// compareGrowth compares a rule's growth (or total) with n SYNs.
func compareGrowth(r evidence.FirewallRule, n int) (fwCompare, string) {
	d, prec := r.DeltaPackets, fwPrecision(r)
	if r.Single {
		d = int64(r.Packets.N)
	}
	switch {
	case r.Single && d >= int64(n):
		return fwMore, "at least as many as these, at some time"
	case r.Single:
		return fwFewer, "fewer than these, so it did not drop them all"
	case prec > 0 && d-prec <= int64(n) && d+prec >= int64(n):
		return fwUnclear, fmt.Sprintf("within the listing's precision of these %d, so it cannot tell", n)
	case d == int64(n):
		return fwSame, "exactly as many"
	case d > int64(n):
		return fwMore, "more: the rule also matched packets the capture does not show (other traffic, or before or after it)"
	}
	return fwFewer, fmt.Sprintf("%d fewer: the rule is not the whole story, something else dropped the rest", int64(n)-d)
}

// synCount is the SYN transmissions of a capture that a rule could have
// counted.
type synCount struct {
	n         int
	endpoints map[netip.AddrPort]bool
}

func (c synCount) where() string {
	var s []string
	for _, e := range sortedKeys(c.endpoints, netip.AddrPort.Compare) {
		s = append(s, e.String())
	}
	return strings.Join(firstN(s, 4), ", ")
}

// synsMatched counts the SYN transmissions of some attempts that a rule
// matches: the unanswered ones (answered false) or those answered by a
// RST or an ICMP error (answered true).
func (fz *fuser) synsMatched(attempts []int, m ruleMatch, answered bool) synCount {
	c := synCount{endpoints: map[netip.AddrPort]bool{}}
	for _, i := range attempts {
		a := &fz.res.Attempts[i]
		if !m.matches(a.Client, a.Server) {
			continue
		}
		for _, ok := range synAnswered(a) {
			if ok == answered {
				c.n++
				c.endpoints[a.Server] = true
			}
		}
	}
	return c
}

// jumpMatch adds to a rule of a user chain the match of the rule that
// jumps to it (the first one listed): "-p tcp --dport 8084 -j BLOCK"
// narrows BLOCK's "-j DROP".
func (fz *fuser) jumpMatch(r evidence.FirewallRule, rules []evidence.FirewallRule, m ruleMatch) ruleMatch {
	for _, j := range rules {
		if j.Format != r.Format || j.Family != r.Family || j.Table != r.Table {
			continue
		}
		if j.Target == r.Chain || j.Target == "jump "+r.Chain || j.Target == "goto "+r.Chain {
			jm := matchOf(j)
			if m.proto == "" {
				m.proto = jm.proto
			}
			if len(m.ports) == 0 {
				m.ports = jm.ports
			}
			if len(m.srcs) == 0 {
				m.srcs = jm.srcs
			}
			if len(m.dsts) == 0 {
				m.dsts = jm.dsts
			}
			m.negated = m.negated || jm.negated
			return m
		}
	}
	return m
}

// firewallGrowth is the firewall's answer about some SYNs.
type firewallGrowth struct {
	named bool // a rule or policy that grew names a cause
	// all: rules and policies that grew by at least as many account for
	// every attempt of the finding.
	all bool
	// noneGrew: exact listings around the capture, and no DROP rule that
	// matches the SYNs, nor a DROP policy, grew; files names them.
	noneGrew bool
	files    string
	syns     synCount
}

// isReject reports a REJECT verdict (iptables REJECT, nft reject).
func isReject(r evidence.FirewallRule) bool {
	return strings.HasPrefix(strings.ToLower(r.Target), "reject")
}

// grew reports whether a rule's counter moved, or may have: rounded
// counts and totals cannot say it did not.
func grew(r evidence.FirewallRule) bool {
	return r.Single || !r.DeltaExact() || r.DeltaPackets != 0
}

// silentDropFirewall names the DROP rules and policies whose counters grew
// by the SYNs a finding shows unanswered, per rule, and says when none
// grew. The SYNs compared are every unanswered transmission of the
// capture's attempts to the finding's endpoints that the rule matches.
func (fz *fuser) silentDropFirewall(f *Finding, adj *adjustment, serverSide bool) firewallGrowth {
	var g firewallGrowth
	server, ok := fz.serverOf(f)
	if !ok {
		return g
	}
	rules := fz.fwRules(server.Addr().Unmap().Is6())
	endpoints := map[netip.AddrPort]bool{}
	for _, i := range f.attempts {
		endpoints[fz.res.Attempts[i].Server] = true
	}
	var attempts []int
	for i := range fz.res.Attempts {
		if a := &fz.res.Attempts[i]; a.Capture == f.Capture && endpoints[a.Server] {
			attempts = append(attempts, i)
		}
	}
	add := func(s string) { f.Evidence = append(f.Evidence, s) }
	covered := map[int]bool{} // attempts a rule that grew matches
	read, moved, partial := false, false, false
	var policies []evidence.FirewallRule
	for _, r := range rules {
		span := fz.fwSpanOf(r, f.Capture)
		if !r.IsDrop() || span == fwOther {
			continue
		}
		if r.Policy {
			policies = append(policies, r)
			continue
		}
		m := fz.jumpMatch(r, rules, matchOf(r))
		c := fz.synsMatched(attempts, m, false)
		if c.n == 0 {
			continue
		}
		read, partial = true, partial || span == fwPartial
		g.files = base(r.From) + " and " + base(r.To)
		if !grew(r) {
			continue
		}
		moved = true
		if isReject(r) {
			add(fmt.Sprintf("%s %s: a REJECT rule answers the SYNs it matches with a RST or an ICMP error, so it explains refused connections, not these unanswered ones", describeRule(r), describeGrowth(r)))
			continue
		}
		cmp := fz.silentDropRule(f, adj, r, m, c, span, serverSide)
		if cmp != fwFewer {
			for _, i := range attempts {
				if a := &fz.res.Attempts[i]; m.matches(a.Client, a.Server) {
					covered[i] = true
				}
			}
		}
		g.named = g.named || cmp == fwSame || cmp == fwMore
	}
	for _, p := range policies {
		read, moved = true, moved || grew(p)
		partial = partial || fz.fwSpanOf(p, f.Capture) == fwPartial
	}
	fz.silentDropPolicies(f, adj, policies, attempts, covered, serverSide, &g)
	if !g.all {
		g.all = len(f.attempts) > 0
		for _, i := range f.attempts {
			g.all = g.all && covered[i]
		}
	}
	if read && !moved && !partial {
		g.noneGrew, g.syns = true, fz.synsMatched(attempts, ruleMatch{}, false)
	}
	return g
}

// silentDropRule words one DROP rule that grew against the unanswered SYNs
// it matches, and moves the confidence: a rule that names the port is the
// strongest evidence, one that names the clients' addresses next.
func (fz *fuser) silentDropRule(f *Finding, adj *adjustment, r evidence.FirewallRule, m ruleMatch, c synCount, span fwSpan, serverSide bool) fwCompare {
	cmp, words := compareGrowth(r, c.n)
	s := fmt.Sprintf("%s %s, and the capture shows %s to %s without an answer that it matches: %s", describeRule(r), describeGrowth(r), wording.Plural(c.n, "SYN transmission"), c.where(), words)
	strength := 0.5
	switch {
	case m.namesPort():
		s += " — a rule that names the port dropped them"
		strength = 0.8
	case m.namesAddr():
		s += " — a rule that names these clients' addresses dropped them"
		strength = 0.6
	default:
		s += " — a rule that names neither port nor address dropped them, with more besides"
	}
	if cmp == fwUnclear || r.Single {
		s = strings.Replace(s, " dropped them", " may have dropped them", 1)
	}
	if span == fwUntimed && !r.Single {
		s += fmt.Sprintf(" (%s and %s do not say when they were taken: the change is read as the capture's)", base(r.From), base(r.To))
	}
	if span == fwPartial {
		s += " (the listings do not span the whole capture)"
	}
	f.Evidence = append(f.Evidence, s)
	// A count that matches exactly ties the rule to these SYNs wherever
	// the capture was taken: they reached the server and its firewall
	// dropped them. Otherwise only a server-side capture saw what the
	// server's rules saw.
	if !serverSide && (cmp != fwSame || r.Single || span == fwPartial) {
		return cmp
	}
	switch {
	case r.Single || cmp == fwUnclear:
		adj.raise(0.1)
	case cmp == fwFewer:
		adj.raise(0.3 * strength)
	case span == fwPartial:
		adj.raise(strength / 2)
	default:
		adj.raise(strength)
	}
	return cmp
}

// silentDropPolicies compares a DROP policy's growth with the unanswered
// SYNs no rule that grew accounts for: those fell through to the policy.
func (fz *fuser) silentDropPolicies(f *Finding, adj *adjustment, policies []evidence.FirewallRule, attempts []int, covered map[int]bool, serverSide bool, g *firewallGrowth) {
	var rest []int
	for _, i := range attempts {
		if !covered[i] {
			rest = append(rest, i)
		}
	}
	c := fz.synsMatched(rest, ruleMatch{}, false)
	for _, p := range policies {
		if c.n == 0 {
			return
		}
		if !grew(p) {
			continue
		}
		cmp, words := compareGrowth(p, c.n)
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s, and the capture shows %s to %s without an answer that no rule that grew accounts for: %s — packets no rule accepts fall to the policy", describeRule(p), describeGrowth(p), wording.Plural(c.n, "SYN transmission"), c.where(), words))
		g.named = g.named || cmp == fwSame || cmp == fwMore
		g.all = g.all || (cmp == fwSame || cmp == fwMore) && !p.Single
		if serverSide && !p.Single {
			switch cmp {
			case fwSame:
				adj.raise(0.5)
			case fwMore:
				adj.raise(0.3)
			default:
				adj.raise(0.1)
			}
		}
	}
}

// refusedFirewall checks refusals and ICMP errors against REJECT rules:
// a REJECT rule that grew by the SYNs answered says the firewall, not a
// closed port or a router, answered them.
func (fz *fuser) refusedFirewall(f *Finding, adj *adjustment) {
	server, ok := fz.serverOf(f)
	if !ok {
		return
	}
	rules := fz.fwRules(server.Addr().Unmap().Is6())
	var growing []string
	for _, r := range rules {
		if !isReject(r) || r.Policy || fz.fwSpanOf(r, f.Capture) == fwOther {
			continue
		}
		m := fz.jumpMatch(r, rules, matchOf(r))
		c := fz.synsMatched(f.attempts, m, true)
		if c.n == 0 {
			continue
		}
		if !grew(r) {
			growing = append(growing, fmt.Sprintf("%s did not grow", describeRule(r)))
			continue
		}
		cmp, words := compareGrowth(r, c.n)
		s := fmt.Sprintf("%s %s, and the capture shows %s to %s answered with a RST or an ICMP error that it matches: %s", describeRule(r), describeGrowth(r), wording.Plural(c.n, "SYN transmission"), c.where(), words)
		if cmp == fwSame || cmp == fwMore && !r.Single {
			s += " — the firewall answered these SYNs, not a closed port: a listener may well be there"
			if m.namesPort() {
				adj.raise(0.5)
			}
			if f.Kind == KindRefused && fz.matchesAll(f.attempts, m) {
				// The model's "nothing was listening there" no longer
				// holds: say who answered.
				f.Summary = fmt.Sprintf("%s refused with RST by the server's firewall: %s answered them, not a closed port", wording.Plural(len(f.attempts), "connection"), describeRule(r))
				f.Recommendation = "The server's firewall rejects these SYNs. If these clients should connect, allow them in that rule or remove it (`iptables -L -v -n -x --line-numbers`, `nft -a list ruleset`: its counter grows with each refusal); if they should not, the clients are misconfigured and their retries only add load."
			}
		}
		f.Evidence = append(f.Evidence, s)
	}
	for _, s := range growing {
		f.Evidence = append(f.Evidence, s+", so these answers came from elsewhere (no listener, or a device on the path)")
	}
}

// firewallCoverage notes, for each pair of listings, whether they were
// taken around the captures.
func (fz *fuser) firewallCoverage() {
	first, last := fz.captureBounds()
	if first == 0 {
		return
	}
	cf, cl := time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	layout := "2006-01-02 15:04:05"
	seen := map[string]bool{}
	for _, r := range fz.ev.Firewall {
		key := r.From + "\x00" + r.To
		if seen[key] {
			continue
		}
		seen[key] = true
		from, to := fz.fileTime(r.From), fz.fileTime(r.To)
		switch {
		case r.Single:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s is the only listing of its ruleset (%s): its counts are totals since each rule was added, which cannot be tied to the capture's time; take one listing before the capture and one after", base(r.To), r.Format))
		case from.IsZero() || to.IsZero():
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s and %s do not say when they were taken: their changes are read as the capture's (syndiag collect stamps its files with the time)", base(r.From), base(r.To)))
		case to.Add(fwSlack).Before(cf) || from.Add(-fwSlack).After(cl):
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s and %s (%s to %s UTC) do not cover the capture (%s to %s UTC): they are from another time, and their changes are not used", base(r.From), base(r.To), from.Format(layout), to.Format(layout), cf.Format(layout), cl.Format(layout)))
		case from.Add(-fwSlack).After(cf) || to.Add(fwSlack).Before(cl):
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s and %s (%s to %s UTC) do not cover the whole capture (%s to %s UTC): drops outside them are not in the changes", base(r.From), base(r.To), from.Format(layout), to.Format(layout), cf.Format(layout), cl.Format(layout)))
		default:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s and %s (%s to %s UTC) cover the capture (%s to %s UTC)", base(r.From), base(r.To), from.Format(layout), to.Format(layout), cf.Format(layout), cl.Format(layout)))
		}
	}
}

// FirewallRuleText is a rule as the findings quote it: the chain, then the
// rule as listed (iptables -L's columns read out, nft's without its
// counter statement); a policy is "INPUT: policy DROP".
func FirewallRuleText(r evidence.FirewallRule) string {
	if r.Policy {
		return r.Chain + ": policy " + r.Target
	}
	return ruleText(r)
}

// matchesAll reports whether a rule matches every attempt of idx.
func (fz *fuser) matchesAll(idx []int, m ruleMatch) bool {
	for _, i := range idx {
		if a := &fz.res.Attempts[i]; !m.matches(a.Client, a.Server) {
			return false
		}
	}
	return len(idx) > 0
}
