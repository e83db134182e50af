package evidence

// Firewall counters: iptables -L -v -n [-x] [--line-numbers] (and
// ip6tables), iptables-save -c, nft list ruleset [-a]. Each file is one
// snapshot of a ruleset; two snapshots of the same ruleset in the same
// format give each rule's change, matched by the rule's identity.

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FirewallFormat is the tool output a firewall snapshot was read from.
type FirewallFormat string

// Firewall formats.
const (
	FirewallList FirewallFormat = "iptables -L" // iptables or ip6tables -L -v -n [-x] [--line-numbers]
	FirewallSave FirewallFormat = "iptables-save"
	FirewallNft  FirewallFormat = "nft" // nft list ruleset, nft -a list ruleset
)

// Count is a packet or byte counter as the tool printed it: exact, or,
// from iptables -L without -x, rounded to a unit. xtables_print_num
// (libxtables/xtables.c) prints numbers above 99999 in K, M, G or T
// (powers of 1000), rounding half up at each step, so "123M" is 123000000
// within about half a million.
type Count struct {
	N    uint64 // the value, or the rounded value in units of 1 (123M: 123000000)
	Unit uint64 // 1 when exact; 1000 for K, 1e6 for M, 1e9 for G, 1e12 for T
}

// Exact reports whether the count is the counter's value.
func (c Count) Exact() bool { return c.Unit <= 1 }

func (c Count) String() string {
	for _, u := range countUnits {
		if c.Unit == u.size {
			return strconv.FormatUint(c.N/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatUint(c.N, 10)
}

var countUnits = []struct {
	suffix string
	size   uint64
}{{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}

// parseCount reads "123", "123M".
func parseCount(s string) (Count, bool) {
	unit := uint64(1)
	for _, u := range countUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, unit = rest, u.size
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > ^uint64(0)/unit {
		return Count{}, false
	}
	return Count{N: n * unit, Unit: unit}, true
}

// FirewallRule is one rule's counters (or a chain policy's, or an nft
// named counter's), over the snapshots of its ruleset.
type FirewallRule struct {
	Format FirewallFormat
	// Family is "ip" or "ip6" for iptables (ip6 when the listing shows
	// IPv6 addresses), the nft table's family (ip, ip6, inet, …).
	Family string
	// Table is "" for iptables -L, which does not print it (filter,
	// unless -t named another).
	Table string
	Chain string
	// ID identifies the rule across snapshots: the rule as iptables-save
	// prints it; the chain and the columns of iptables -L but the
	// counters and the line number; the nft handle when -a was used, else
	// the rule without its counter. A rule listed twice gets "#2".
	ID string
	// Rule is the rule's text as printed, without its counters.
	Rule string
	// Target is the verdict or the jump as printed: DROP, REJECT, ACCEPT,
	// a chain (iptables); drop, reject, accept, jump NAME (nft). "" for a
	// rule that only counts.
	Target string
	// Policy marks a chain's policy (Target is the policy).
	Policy bool
	// Counter is the nft named counter the rule uses (counter name "x"),
	// or the object's name for a counter no rule uses; a named counter
	// shared by rules gives each of them its total.
	Counter string
	// Position is the rule's place in its chain (1-based, as listed);
	// Handle is nft's (-a), else 0.
	Position int
	Handle   int
	// Single is set when only one snapshot has the rule: Packets and
	// Bytes are totals since the rule was made or its counters zeroed,
	// and Before and the deltas mean nothing.
	Single                   bool
	Before                   FirewallCounts // the first snapshot's
	Packets, Bytes           Count          // the last snapshot's
	DeltaPackets, DeltaBytes int64          // Packets - Before.Packets, Bytes - Before.Bytes
	From, To                 string         // files; To alone when Single
}

// FirewallCounts is a rule's counters in one snapshot.
type FirewallCounts struct{ Packets, Bytes Count }

// DeltaExact reports whether the deltas are exact: both snapshots printed
// exact counts.
func (r FirewallRule) DeltaExact() bool {
	return r.Packets.Exact() && r.Bytes.Exact() && r.Before.Packets.Exact() && r.Before.Bytes.Exact()
}

// IsDrop reports whether the rule's verdict discards the packet: DROP and
// REJECT (a reject answers with an RST or an ICMP error; the packet does
// not reach the socket either).
func (r FirewallRule) IsDrop() bool {
	verdict, _, _ := strings.Cut(r.Target, " ")
	switch strings.ToLower(verdict) {
	case "drop", "reject":
		return true
	}
	return false
}

// fwSnapshot is one firewall file.
type fwSnapshot struct {
	file   int // index into Host.Files
	format FirewallFormat
	family string
	time   time.Time
	rules  []FirewallRule // with Packets and Bytes set
}

// key groups the snapshots of one ruleset.
func (s *fwSnapshot) key() string { return string(s.format) + " " + s.family }

// byID indexes the snapshot's rules by their identity.
func (s *fwSnapshot) byID() map[string]FirewallRule {
	m := make(map[string]FirewallRule, len(s.rules))
	for _, r := range s.rules {
		m[r.ID] = r
	}
	return m
}

// numberIDs makes IDs unique in a snapshot: the second rule with the same
// identity in a chain gets "#2".
func numberIDs(rules []FirewallRule) {
	seen := map[string]int{}
	for i := range rules {
		seen[rules[i].ID]++
		if n := seen[rules[i].ID]; n > 1 {
			rules[i].ID += "#" + strconv.Itoa(n)
		}
	}
}

var (
	// iptables -L: "Chain INPUT (policy DROP 5 packets, 300 bytes)",
	// "Chain SDX17-BLOCK (1 references)", "Chain INPUT (policy ACCEPT)"
	// (without -v).
	fwChainRe = regexp.MustCompile(`^Chain (\S+) \((?:policy (\S+)(?: ([0-9]+[KMGT]?) packets, ([0-9]+[KMGT]?) bytes)?|[0-9]+ references)\)$`)
	// iptables-save -c: "[5:300] -A INPUT …" (or "-A INPUT … -c 5 300"),
	// ":INPUT DROP [5:300]".
	fwSaveRuleRe   = regexp.MustCompile(`^\[([0-9]+):([0-9]+)\] (-A \S+.*)$`)
	fwSaveRuleCRe  = regexp.MustCompile(`^(-A \S+.*?) -c ([0-9]+) ([0-9]+)(.*)$`)
	fwSaveChainRe  = regexp.MustCompile(`^:(\S+) (\S+) \[([0-9]+):([0-9]+)\]$`)
	fwSaveTableRe  = regexp.MustCompile(`^\*([a-z_]+)$`)
	fwSaveTimeRe   = regexp.MustCompile(`^# (?:Generated by|Completed on) .* on (\w{3} \w{3} [ 0-9][0-9] [0-9:]{8} [0-9]{4})$`)
	fwNftTableRe   = regexp.MustCompile(`^table (ip|ip6|inet|arp|bridge|netdev) (\S+) \{(?: # handle [0-9]+)?$`)
	fwNftChainRe   = regexp.MustCompile(`^(chain|counter) (\S+) \{(?: # handle [0-9]+)?$`)
	fwNftCounterRe = regexp.MustCompile(`(?:^| )counter packets ([0-9]+) bytes ([0-9]+)(?: |$)`)
	fwNftObjRe     = regexp.MustCompile(`^packets ([0-9]+) bytes ([0-9]+)$`)
	fwNftNamedRe   = regexp.MustCompile(`(?:^| )counter name "?([^" ]+)"?(?: |$)`)
	fwNftHandleRe  = regexp.MustCompile(` # handle ([0-9]+)$`)
	fwNftPolicyRe  = regexp.MustCompile(`(?:^|; )policy (\S+);`)
)

// isFirewallStart is detect's test for the first line of a firewall
// listing.
func isFirewallStart(t string) bool {
	return fwChainRe.MatchString(t) || fwSaveTableRe.MatchString(t) || fwNftTableRe.MatchString(t)
}

// fwParse is what a firewall parser read: the snapshot's rules, the lines
// it did not understand, and what the notes must say.
type fwParse struct {
	rules     []FirewallRule
	format    FirewallFormat
	family    string
	time      time.Time
	uncounted int // rules listed without counters
	ignored   int
}

// parseFirewall reads a firewall listing in the format its first line
// shows.
func parseFirewall(lines []string, first string) fwParse {
	var p fwParse
	switch {
	case fwChainRe.MatchString(first):
		p = parseIptablesList(lines)
	case fwSaveTableRe.MatchString(first):
		p = parseIptablesSave(lines)
	default:
		p = parseNft(lines)
	}
	numberIDs(p.rules)
	return p
}

// parseIptablesList reads iptables -L -v -n [-x] [--line-numbers]; the
// columns are: [num] pkts bytes target prot opt in out source destination
// and the matches.
func parseIptablesList(lines []string) fwParse {
	p := fwParse{format: FirewallList, family: "ip"}
	chain, numbered, verbose, pos := "", false, false, 0
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		t := strings.TrimSpace(l)
		if m := fwChainRe.FindStringSubmatch(t); m != nil {
			chain, pos = m[1], 0
			if m[2] != "" && m[3] != "" {
				pk, ok1 := parseCount(m[3])
				by, ok2 := parseCount(m[4])
				if ok1 && ok2 {
					p.rules = append(p.rules, FirewallRule{Chain: chain, ID: chain + " policy", Rule: "policy " + m[2], Target: m[2], Policy: true, Packets: pk, Bytes: by})
					continue
				}
			}
			if m[2] != "" {
				p.uncounted++ // a policy without -v
			}
			continue
		}
		f := strings.Fields(t)
		if len(f) > 0 && (f[0] == "pkts" || f[0] == "num" || f[0] == "target") {
			numbered, verbose = f[0] == "num", slices.Contains(f, "pkts")
			continue
		}
		if chain == "" {
			p.ignored++
			continue
		}
		if numbered && len(f) > 0 {
			if _, err := strconv.Atoi(f[0]); err != nil {
				p.ignored++
				continue
			}
			f = f[1:]
		}
		if !verbose {
			p.uncounted++
			continue
		}
		r, ok := iptablesListRule(chain, f)
		if !ok {
			p.ignored++
			continue
		}
		pos++
		r.Position = pos
		if strings.Contains(r.Rule, ":") && p.family == "ip" && hasIPv6(f) {
			p.family = "ip6"
		}
		p.rules = append(p.rules, r)
	}
	return p
}

// iptablesListRule reads the fields of a rule line after the line number:
// pkts bytes [target] prot [opt] in out source destination [matches].
// target is blank for a rule without -j, opt for ip6tables of some
// versions; source and destination are found as the first two addresses.
func iptablesListRule(chain string, f []string) (FirewallRule, bool) {
	if len(f) < 6 {
		return FirewallRule{}, false
	}
	pk, ok1 := parseCount(f[0])
	by, ok2 := parseCount(f[1])
	if !ok1 || !ok2 {
		return FirewallRule{}, false
	}
	cols := f[2:]
	src := -1
	for i := 2; i+1 < len(cols) && i <= 5; i++ {
		if isListAddr(cols[i]) && isListAddr(cols[i+1]) {
			src = i
			break
		}
	}
	if src < 0 {
		return FirewallRule{}, false
	}
	target := ""
	switch head := cols[:src-2]; len(head) {
	case 3: // target prot opt
		target = head[0]
	case 2: // target prot, or prot opt
		if !isListOpt(head[1]) {
			target = head[0]
		}
	case 1: // prot
	default:
		return FirewallRule{}, false
	}
	text := strings.Join(cols, " ")
	return FirewallRule{Chain: chain, ID: chain + " " + text, Rule: text, Target: target, Packets: pk, Bytes: by}, true
}

// isListAddr reports an address column of iptables -L: "0.0.0.0/0",
// "::/0", "198.18.2.2", "anywhere" (without -n).
func isListAddr(s string) bool {
	s = strings.TrimPrefix(s, "!")
	if s == "anywhere" {
		return true
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	if a, m, ok := strings.Cut(s, "/"); ok { // 10.0.0.0/255.0.0.0
		_, e1 := netip.ParseAddr(a)
		_, e2 := netip.ParseAddr(m)
		return e1 == nil && e2 == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isListOpt reports the opt column: "--", "-f", "!f".
func isListOpt(s string) bool { return s == "--" || s == "-f" || s == "!f" }

// hasIPv6 reports whether a rule's fields show an IPv6 address.
func hasIPv6(f []string) bool {
	for _, s := range f {
		if p, err := netip.ParsePrefix(strings.TrimPrefix(s, "!")); err == nil && p.Addr().Is6() {
			return true
		}
	}
	return false
}

// parseIptablesSave reads iptables-save -c: "*table", ":CHAIN POLICY
// [p:b]", "[p:b] -A CHAIN …", "COMMIT".
func parseIptablesSave(lines []string) fwParse {
	p := fwParse{format: FirewallSave, family: "ip"}
	table := ""
	pos := map[string]int{}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if m := fwSaveTimeRe.FindStringSubmatch(t); m != nil && p.time.IsZero() {
			if tm, err := time.Parse("Mon Jan _2 15:04:05 2006", m[1]); err == nil {
				p.time = tm
			}
		}
		if skippable(l) {
			continue
		}
		switch {
		case fwSaveTableRe.MatchString(t):
			table = fwSaveTableRe.FindStringSubmatch(t)[1]
			continue
		case t == "COMMIT":
			continue
		case table == "":
			p.ignored++
			continue
		}
		if m := fwSaveChainRe.FindStringSubmatch(t); m != nil {
			if m[2] == "-" { // a user chain has no policy
				continue
			}
			pk, ok1 := parseCount(m[3])
			by, ok2 := parseCount(m[4])
			if !ok1 || !ok2 {
				p.ignored++
				continue
			}
			p.rules = append(p.rules, FirewallRule{Table: table, Chain: m[1], ID: table + " " + m[1] + " policy", Rule: "policy " + m[2], Target: m[2], Policy: true, Packets: pk, Bytes: by})
			continue
		}
		var rule, pks, bys string
		if m := fwSaveRuleRe.FindStringSubmatch(t); m != nil {
			pks, bys, rule = m[1], m[2], m[3]
		} else if m := fwSaveRuleCRe.FindStringSubmatch(t); m != nil {
			rule, pks, bys = m[1]+m[4], m[2], m[3]
		} else {
			if strings.HasPrefix(t, "-A ") || strings.HasPrefix(t, ":") {
				p.uncounted++ // iptables-save without -c
			} else {
				p.ignored++
			}
			continue
		}
		pk, ok1 := parseCount(pks)
		by, ok2 := parseCount(bys)
		if !ok1 || !ok2 {
			p.ignored++
			continue
		}
		f := strings.Fields(rule)
		chain := f[1]
		pos[chain]++
		if p.family == "ip" && hasIPv6(f) {
			p.family = "ip6"
		}
		p.rules = append(p.rules, FirewallRule{Table: table, Chain: chain, ID: table + " " + rule, Rule: rule, Target: saveTarget(f), Position: pos[chain], Packets: pk, Bytes: by})
	}
	return p
}

// saveTarget returns the target of an iptables-save rule (-j, or -g for a
// goto).
func saveTarget(f []string) string {
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "-g" || f[i] == "--jump" || f[i] == "--goto" {
			return f[i+1]
		}
	}
	return ""
}

// nftVerdicts are the statements that end an nft rule's fate.
var nftVerdicts = []string{"accept", "drop", "reject", "queue", "continue", "return", "jump", "goto"}

// parseNft reads nft list ruleset (with -a, rules end in "# handle N"):
// tables, chains, rules with "counter packets N bytes M", and named
// counter objects, whose counts go to the rules that use them.
func parseNft(lines []string) fwParse {
	p := fwParse{format: FirewallNft}
	type named struct {
		family, table string
		c             FirewallCounts
		used          bool
	}
	objects := map[string]*named{} // "family table name"
	var order []string
	family, table, block, name := "", "", "", ""
	var usesNamed []int // rules that use a named counter
	pos := 0
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		t := strings.TrimSpace(l)
		switch {
		case fwNftTableRe.MatchString(t):
			m := fwNftTableRe.FindStringSubmatch(t)
			family, table, block = m[1], m[2], ""
			continue
		case t == "}":
			if block != "" {
				block = ""
			} else {
				table = ""
			}
			continue
		case table == "":
			p.ignored++
			continue
		case block == "" && fwNftChainRe.MatchString(t):
			m := fwNftChainRe.FindStringSubmatch(t)
			block, name, pos = m[1], m[2], 0
			if block == "counter" {
				key := family + " " + table + " " + name
				if objects[key] == nil {
					order = append(order, key)
				}
				// Exact zeros until its "packets N bytes M" line.
				objects[key] = &named{family: family, table: table, c: FirewallCounts{Count{0, 1}, Count{0, 1}}}
			}
			continue
		case block == "" && strings.HasSuffix(t, "{"):
			block, name = "other", "" // set, map, flowtable …
			continue
		}
		switch block {
		case "counter":
			if m := fwNftObjRe.FindStringSubmatch(t); m != nil {
				pk, ok1 := parseCount(m[1])
				by, ok2 := parseCount(m[2])
				if ok1 && ok2 {
					objects[family+" "+table+" "+name].c = FirewallCounts{pk, by}
					continue
				}
			}
			p.ignored++
			continue
		case "chain":
		default:
			continue // the elements of a set or a map
		}
		if strings.HasPrefix(t, "type ") {
			if m := fwNftPolicyRe.FindStringSubmatch(t); m != nil {
				p.uncounted++ // nft keeps no counter for a policy
			}
			continue
		}
		pos++
		handle := 0
		if m := fwNftHandleRe.FindStringSubmatch(t); m != nil {
			handle, _ = strconv.Atoi(m[1])
			t = strings.TrimSuffix(t, m[0])
		}
		r := FirewallRule{Family: family, Table: table, Chain: name, Target: nftTarget(t), Position: pos, Handle: handle}
		switch m := fwNftCounterRe.FindStringSubmatch(t); {
		case m != nil:
			var ok1, ok2 bool
			r.Packets, ok1 = parseCount(m[1])
			r.Bytes, ok2 = parseCount(m[2])
			if !ok1 || !ok2 {
				p.ignored++
				continue
			}
			r.Rule = strings.Join(strings.Fields(strings.Replace(t, strings.TrimSpace(m[0]), "counter", 1)), " ")
		case fwNftNamedRe.MatchString(t):
			r.Counter = fwNftNamedRe.FindStringSubmatch(t)[1]
			r.Rule = t
			usesNamed = append(usesNamed, len(p.rules))
		default:
			p.uncounted++
			continue
		}
		r.ID = family + " " + table + " " + name + " " + r.Rule
		if handle > 0 {
			r.ID = fmt.Sprintf("%s %s %s handle %d", family, table, name, handle)
		}
		p.rules = append(p.rules, r)
	}
	// A rule's named counter, from its table.
	var keep []FirewallRule
	for i, r := range p.rules {
		if !slices.Contains(usesNamed, i) {
			keep = append(keep, r)
			continue
		}
		o := objects[r.Family+" "+r.Table+" "+r.Counter]
		if o == nil {
			p.uncounted++ // a counter the listing does not show
			continue
		}
		o.used = true
		r.Packets, r.Bytes = o.c.Packets, o.c.Bytes
		keep = append(keep, r)
	}
	p.rules = keep
	for _, key := range order {
		if o := objects[key]; !o.used {
			n := key[len(o.family)+len(o.table)+2:]
			p.rules = append(p.rules, FirewallRule{Family: o.family, Table: o.table, ID: key + " counter", Rule: "counter " + n, Counter: n, Packets: o.c.Packets, Bytes: o.c.Bytes})
		}
	}
	if len(p.rules) > 0 {
		p.family = p.rules[0].Family
	}
	return p
}

// nftTarget returns a rule's verdict: the last verdict statement
// ("reject with tcp reset" is "reject", "jump SDX17-BLOCK" keeps the
// chain).
func nftTarget(rule string) string {
	f := strings.Fields(rule)
	for i := len(f) - 1; i >= 0; i-- {
		if slices.Contains(nftVerdicts, f[i]) {
			if (f[i] == "jump" || f[i] == "goto") && i+1 < len(f) {
				return f[i] + " " + f[i+1]
			}
			return f[i]
		}
	}
	return ""
}

// addFirewall records a snapshot and its notes.
func (h *Host) addFirewall(p fwParse, path string) {
	base := filepath.Base(path)
	take := map[FirewallFormat]string{FirewallList: "iptables -L -v -n -x", FirewallSave: "iptables-save -c", FirewallNft: "nft rules with a counter statement"}[p.format]
	switch {
	case p.uncounted > 0 && len(p.rules) == 0:
		h.Note(fmt.Sprintf("%s is a firewall listing without counters (%d rules or policies): take %s", base, p.uncounted, take))
	case len(p.rules) == 0:
		h.Note(fmt.Sprintf("%s is a firewall listing without rules", base))
	case p.uncounted > 0 && p.format != FirewallNft:
		// nft counts only the rules that ask for it; iptables counts all.
		h.Note(fmt.Sprintf("%s lists %d rules or policies without counters: take %s", base, p.uncounted, take))
	}
	family := p.family
	for i := range p.rules {
		p.rules[i].Format = p.format
		if p.rules[i].Family == "" {
			p.rules[i].Family = family
		}
	}
	h.fwSnaps = append(h.fwSnaps, &fwSnapshot{file: len(h.Files), format: p.format, family: family, time: p.time, rules: p.rules})
}

// resolveFirewall computes Firewall from the snapshots: for each ruleset
// (format and family), its first and last snapshot give each rule's
// change; a rule in only one of them is a total, and the notes say which
// rules changed.
func (h *Host) resolveFirewall() {
	h.fwNotes = nil
	h.Firewall = h.Firewall[:0]
	var keys []string
	groups := map[string][]*fwSnapshot{}
	for _, s := range h.fwSnaps {
		if groups[s.key()] == nil {
			keys = append(keys, s.key())
		}
		groups[s.key()] = append(groups[s.key()], s)
	}
	for _, k := range keys {
		snaps := h.orderFirewall(groups[k])
		last := snaps[len(snaps)-1]
		if len(snaps) == 1 {
			for _, r := range last.rules {
				r.Single, r.To = true, h.Files[last.file].Path
				h.Firewall = append(h.Firewall, r)
			}
			continue
		}
		first := snaps[0]
		from, to := h.Files[first.file].Path, h.Files[last.file].Path
		before := first.byID()
		added := 0
		for _, r := range last.rules {
			b, ok := before[r.ID]
			if !ok {
				added++
				r.Single, r.To = true, to
				h.Firewall = append(h.Firewall, r)
				continue
			}
			delete(before, r.ID)
			r.Before = FirewallCounts{b.Packets, b.Bytes}
			r.DeltaPackets, r.DeltaBytes = int64(r.Packets.N-b.Packets.N), int64(r.Bytes.N-b.Bytes.N)
			r.From, r.To = from, to
			h.Firewall = append(h.Firewall, r)
		}
		if added > 0 || len(before) > 0 {
			var gone []string
			for _, r := range first.rules {
				if _, ok := before[r.ID]; ok {
					gone = append(gone, r.Chain+": "+r.Rule)
				}
			}
			s := fmt.Sprintf("the firewall rules changed between %s and %s: %d added, %d removed", filepath.Base(from), filepath.Base(to), added, len(gone))
			if len(gone) > 0 {
				s += " (" + strings.Join(gone, "; ") + ")"
			}
			h.fwNotes = append(h.fwNotes, s+"; the added rules' counts are totals, not changes")
		}
	}
}

// orderFirewall puts the snapshots of one ruleset in the order they were
// taken: by the time inside them when all have one, else by their
// counters, which only grow.
func (h *Host) orderFirewall(snaps []*fwSnapshot) []*fwSnapshot {
	return orderTaken(snaps, func(s *fwSnapshot) time.Time { return s.time },
		func(a, b *fwSnapshot) (up, down int) {
			bb := b.byID()
			for _, ra := range a.rules {
				rb, ok := bb[ra.ID]
				switch {
				case !ok:
				case rb.Packets.N > ra.Packets.N:
					up++
				case rb.Packets.N < ra.Packets.N:
					down++
				}
			}
			return up, down
		},
		func(a, b *fwSnapshot, up, down int) {
			h.fwNotes = append(h.fwNotes, fmt.Sprintf("%s and %s disagree on which was taken first (%d firewall counters grew, %d fell): were the counters zeroed (iptables -Z) between them?",
				filepath.Base(h.Files[a.file].Path), filepath.Base(h.Files[b.file].Path), up, down))
		})
}
