package analyze

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/flows/evidence"
)

// fusionDir holds the capture and the host evidence of one run of
// testdata/fusion/make.sh: a firewall and a SYN flood.
var fusionDir = filepath.Join("..", "testdata", "fusion")

// fusionTruth reads testdata/fusion/truth.tsv (metric, value, note), and
// returns a lookup that fails the test when a metric is missing.
func fusionTruth(t *testing.T) func(metric string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(fusionDir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if v, err := strconv.Atoi(c[1]); err == nil && len(c) == 3 {
			truth[c[0]] = v
		}
	}
	return func(metric string) int {
		t.Helper()
		v, ok := truth[metric]
		if !ok {
			t.Fatalf("truth.tsv has no %s", metric)
		}
		return v
	}
}

// evFile is an evidence file: a name and its content.
type evFile struct{ name, content string }

// fusionFile reads a file of testdata/fusion/evidence.
func fusionFile(t *testing.T, name string) evFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fusionDir, "evidence", name))
	if err != nil {
		t.Fatal(err)
	}
	return evFile{name, string(b)}
}

// fuseFusion analyzes testdata/fusion/server.pcap as the server's capture
// with the given evidence, and without it.
func fuseFusion(t *testing.T, files ...evFile) (with, without *Result) {
	t.Helper()
	in := readInput(t, filepath.Join(fusionDir, "server.pcap"))
	in.Role = RoleServer
	ev := evidence.NewHost()
	for _, f := range files {
		if err := ev.Add(f.name, strings.NewReader(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	return AnalyzeWithEvidence([]Input{in}, ev), Analyze([]Input{in})
}

// pair finds a finding with and without the evidence.
func pair(t *testing.T, with, without *Result, kind Kind) (f, b *Finding) {
	t.Helper()
	f, b = findingOf(with, kind), findingOf(without, kind)
	if f == nil || b == nil {
		t.Fatalf("findings %v (%v without the evidence), want %s", kinds(with), kinds(without), kind)
	}
	return f, b
}

// TestFirewallFusion: the firewall's real counters, taken around the
// capture, name the rule that dropped each port's SYNs, with the figures
// of truth.tsv, in each listing format.
func TestFirewallFusion(t *testing.T) {
	get := fusionTruth(t)
	d8081 := get("rule_packets_after_DROP_tcp_dpt:8081") - get("rule_packets_before_DROP_tcp_dpt:8081")
	d3 := get("rule_packets_after_DROP_198.18.180.3") - get("rule_packets_before_DROP_198.18.180.3")
	dPolicy := get("policy_packets_after") - get("policy_packets_before")
	d8082 := get("rule_packets_after_REJECT_tcp_dpt:8082_reject-with_tcp-reset") - get("rule_packets_before_REJECT_tcp_dpt:8082_reject-with_tcp-reset")
	if d8081 != get("syns_to_8081") || d3 != get("syns_to_8083")+get("udp_dropped") || dPolicy != get("syns_to_8084") || d8082 != get("rsts_from_8082") {
		t.Fatalf("truth.tsv: deltas 8081 %d, 198.18.180.3 %d, policy %d, 8082 %d do not match the SYNs sent", d8081, d3, dPolicy, d8082)
	}
	tests := []struct {
		name, before, after     string
		format                  evidence.FirewallFormat
		rule8081, rule3, reject string
		policy                  bool // the listing counts the INPUT policy (nft does not)
	}{
		{"iptables -L -x", "iptables-L-before.txt", "iptables-L-after.txt", evidence.FirewallList, "“INPUT: tcp dpt:8081”", "“INPUT: from 198.18.180.3”", "“INPUT: tcp dpt:8082 reject-with tcp-reset”", true},
		{"iptables-save -c", "iptables-save-before.txt", "iptables-save-after.txt", evidence.FirewallSave, "“-A INPUT -p tcp -m tcp --dport 8081 -j DROP”", "“-A INPUT -s 198.18.180.3/32 -j DROP”", "“-A INPUT -p tcp -m tcp --dport 8082 -j REJECT --reject-with tcp-reset”", true},
		{"nft list ruleset", "nft-before.txt", "nft-after.txt", evidence.FirewallNft, "“INPUT: tcp dport 8081 drop”", "“INPUT: ip saddr 198.18.180.3 drop”", "“INPUT: tcp dport 8082 reject with tcp reset”", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			with, without := fuseFusion(t, fusionFile(t, tc.before), fusionFile(t, tc.after))
			between := fmt.Sprintf("between %s and %s", tc.before, tc.after)
			want := []string{
				fmt.Sprintf("the DROP rule %s (%s) grew by %d packets %s, and the capture shows %d SYN transmissions to 198.18.180.1:8081 without an answer that it matches: exactly as many — a rule that names the port dropped them", tc.rule8081, tc.format, d8081, between, get("syns_to_8081")),
				fmt.Sprintf("the DROP rule %s", tc.rule3),
				fmt.Sprintf("grew by %d packets %s, and the capture shows %d SYN transmissions to 198.18.180.1:8083 without an answer that it matches: more: the rule also matched packets the capture does not show (other traffic, or before or after it) — a rule that names these clients' addresses dropped them", d3, between, get("syns_to_8083")),
			}
			if tc.policy {
				want = append(want, fmt.Sprintf("the DROP policy of INPUT (%s) grew by %d packets %s, and the capture shows %d SYN transmissions to 198.18.180.1:8084 without an answer that no rule that grew accounts for: exactly as many", tc.format, dPolicy, between, get("syns_to_8084")))
			}
			f, b := pair(t, with, without, KindServerSilentDrop)
			for _, w := range want {
				if !hasEvidence(f, w) {
					t.Errorf("server_silent_drop lacks %q:\n%s", w, strings.Join(f.Evidence, "\n"))
				}
			}
			// The summary names the firewall only when the rules and the
			// policy account for every attempt (nft counts no policy, so
			// the SYNs to 8084 stay unexplained there).
			if named := strings.HasSuffix(f.Summary, ": the server's firewall dropped them (its DROP rules grew by as many, below)"); named != tc.policy {
				t.Errorf("server_silent_drop summary %q: names the firewall %v, want %v", f.Summary, named, tc.policy)
			}
			if f.Confidence <= b.Confidence {
				t.Errorf("server_silent_drop confidence %.2f, %.2f without the firewall: want it raised", f.Confidence, b.Confidence)
			}
			r, rb := pair(t, with, without, KindRefused)
			w := fmt.Sprintf("the REJECT rule %s", tc.reject)
			w2 := fmt.Sprintf("grew by %d packets %s, and the capture shows %d SYN transmissions to 198.18.180.1:8082 answered with a RST or an ICMP error that it matches: exactly as many — the firewall answered these SYNs, not a closed port", d8082, between, get("syns_to_8082"))
			if !hasEvidence(r, w) || !hasEvidence(r, w2) || r.Confidence != rb.Confidence {
				t.Errorf("refused (confidence %.2f, %.2f without) lacks %q, %q:\n%s", r.Confidence, rb.Confidence, w, w2, strings.Join(r.Evidence, "\n"))
			}
			if want := fmt.Sprintf("%d connections refused with RST by the server's firewall: the REJECT rule %s (%s) answered them, not a closed port", get("syns_to_8082"), tc.reject, tc.format); r.Summary != want || rb.Summary == want {
				t.Errorf("refused summary %q (without the firewall %q), want %q", r.Summary, rb.Summary, want)
			}
			if notes := strings.Join(with.Evidence.Notes(), "\n"); !strings.Contains(notes, tc.before+" and "+tc.after) || !strings.Contains(notes, ") cover the capture (") {
				t.Errorf("notes: %s", notes)
			}
		})
	}
}

// TestFirewallPrecisionAndTime: counts rounded by iptables -L without -x
// are compared with their precision; one listing gives totals that cannot
// be tied to the capture; listings of another time are not used; and when
// no rule grew while SYNs went unanswered, the firewall did not drop them.
func TestFirewallPrecisionAndTime(t *testing.T) {
	get := fusionTruth(t)
	before, after := fusionFile(t, "iptables-L-before.txt"), fusionFile(t, "iptables-L-after.txt")
	stamp := func(f evFile) string { return strings.SplitN(f.content, "\n", 2)[0] }

	t.Run("rounded", func(t *testing.T) {
		with, without := fuseFusion(t, fusionFile(t, "iptables-L-human-before.txt"), fusionFile(t, "iptables-L-human-after.txt"))
		f, _ := pair(t, with, without, KindServerSilentDrop)
		want := fmt.Sprintf("the DROP rule “INPUT: tcp dpt:8081” (iptables -L) went from 200K to 200K packets between iptables-L-human-before.txt and iptables-L-human-after.txt: about 0, ±1000 as iptables -L without -x rounds its counts (take iptables -L -v -n -x for exact ones), and the capture shows %d SYN transmissions to 198.18.180.1:8081 without an answer that it matches: within the listing's precision of these %d, so it cannot tell — a rule that names the port may have dropped them", get("syns_to_8081"), get("syns_to_8081"))
		if !hasEvidence(f, want) || hasEvidence(f, "no DROP or REJECT rule") {
			t.Errorf("evidence lacks %q:\n%s", want, strings.Join(f.Evidence, "\n"))
		}
	})

	t.Run("one listing", func(t *testing.T) {
		with, without := fuseFusion(t, after)
		f, _ := pair(t, with, without, KindServerSilentDrop)
		want := fmt.Sprintf("the DROP rule “INPUT: tcp dpt:8081” (iptables -L) has counted %d packets since it was added or its counters were zeroed (iptables-L-after.txt, one listing: a total that cannot be tied to the capture's time), and the capture shows %d SYN transmissions", get("rule_packets_after_DROP_tcp_dpt:8081"), get("syns_to_8081"))
		if !hasEvidence(f, want) {
			t.Errorf("evidence lacks %q:\n%s", want, strings.Join(f.Evidence, "\n"))
		}
		if notes := strings.Join(with.Evidence.Notes(), "\n"); !strings.Contains(notes, "iptables-L-after.txt is the only listing of its ruleset (iptables -L): its counts are totals since each rule was added, which cannot be tied to the capture's time") {
			t.Errorf("notes: %s", notes)
		}
	})

	t.Run("another time", func(t *testing.T) {
		// The same listings, stamped a day earlier.
		dayEarlier := func(f evFile) evFile {
			return evFile{f.name, strings.Replace(f.content, "2026-12-04T", "2026-12-03T", 1)}
		}
		with, without := fuseFusion(t, dayEarlier(before), dayEarlier(after))
		f, b := pair(t, with, without, KindServerSilentDrop)
		if f.Confidence != b.Confidence || len(f.Evidence) != len(b.Evidence) {
			t.Errorf("listings of another time moved the finding: %.2f (%.2f without):\n%s", f.Confidence, b.Confidence, strings.Join(f.Evidence, "\n"))
		}
		if notes := strings.Join(with.Evidence.Notes(), "\n"); !strings.Contains(notes, "do not cover the capture") || !strings.Contains(notes, "they are from another time, and their changes are not used") {
			t.Errorf("notes: %s", notes)
		}
	})

	t.Run("every listing", func(t *testing.T) {
		// iptables -L, iptables-save and nft of the same iptables-nft
		// rules: each rule is read once, from nft, and the policy, which
		// nft does not count, from iptables-save.
		var files []evFile
		for _, n := range []string{"iptables-L", "iptables-save", "nft"} {
			files = append(files, fusionFile(t, n+"-before.txt"), fusionFile(t, n+"-after.txt"))
		}
		with, without := fuseFusion(t, files...)
		f, _ := pair(t, with, without, KindServerSilentDrop)
		n := 0
		for _, e := range f.Evidence {
			if strings.Contains(e, "198.18.180.1:8081 without an answer") {
				n++
			}
		}
		want := fmt.Sprintf("the DROP policy of INPUT (iptables-save) grew by %d packets", get("policy_packets_after")-get("policy_packets_before"))
		if n != 1 || !hasEvidence(f, "“INPUT: tcp dport 8081 drop” (nft)") || !hasEvidence(f, want) {
			t.Errorf("%d lines about 8081 (want 1, from nft), and %q:\n%s", n, want, strings.Join(f.Evidence, "\n"))
		}
	})

	t.Run("no rule grew", func(t *testing.T) {
		// The first listing twice, the second copy stamped when the real
		// second listing was taken: no counter moved around the capture.
		still := evFile{"iptables-L-still.txt", stamp(after) + "\n" + strings.SplitN(before.content, "\n", 2)[1]}
		with, without := fuseFusion(t, before, still)
		f, b := pair(t, with, without, KindServerSilentDrop)
		n := get("syns_to_8081") + get("syns_to_8083") + get("syns_to_8084")
		want := fmt.Sprintf("no DROP or REJECT rule that matches these SYNs, nor a DROP policy, grew between iptables-L-before.txt and iptables-L-still.txt while the capture shows %d SYN transmissions to 198.18.180.1:8081, 198.18.180.1:8083, 198.18.180.1:8084 without an answer: a rule that dropped them would have counted them, so the firewall's listed tables did not drop them", n)
		if !hasEvidence(f, want) || f.Confidence >= b.Confidence {
			t.Errorf("confidence %.2f (%.2f without); evidence lacks %q:\n%s", f.Confidence, b.Confidence, want, strings.Join(f.Evidence, "\n"))
		}
	})
}

// TestRuleMatch reads the matches of the three listing formats.
func TestRuleMatch(t *testing.T) {
	client, server := netip.MustParseAddrPort("198.18.180.3:40000"), netip.MustParseAddrPort("198.18.180.1:8091")
	tests := []struct {
		format evidence.FirewallFormat
		rule   string
		want   bool
	}{
		{evidence.FirewallList, "DROP 6 -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpts:8090:8092", true},
		{evidence.FirewallList, "DROP 17 -- * * 0.0.0.0/0 0.0.0.0/0 udp dpt:8091", false},
		{evidence.FirewallList, "DROP 0 -- * * 198.18.171.0/24 0.0.0.0/0", false},
		{evidence.FirewallList, "DROP 0 -- * * !198.18.171.0/24 0.0.0.0/0", true},
		{evidence.FirewallList, "ACCEPT 0 -- lo * 0.0.0.0/0 0.0.0.0/0", false},
		{evidence.FirewallList, "DROP 6 -- * * 0.0.0.0/0 0.0.0.0/0 multiport dports 80,8091", true},
		{evidence.FirewallSave, "-A INPUT -s 198.18.180.0/24 -p tcp -m tcp --dport 8090:8092 -j DROP", true},
		{evidence.FirewallSave, "-A INPUT -d 198.18.181.1/32 -j DROP", false},
		{evidence.FirewallNft, "tcp dport { 80, 8091 } drop", true},
		{evidence.FirewallNft, "tcp dport 8080-8090 drop", false},
		{evidence.FirewallNft, "ip saddr 198.18.180.0/24 tcp dport 8091 counter drop", true},
		{evidence.FirewallNft, "udp dport 8091 drop", false},
	}
	for _, tc := range tests {
		m := matchOf(evidence.FirewallRule{Format: tc.format, Rule: tc.rule})
		if got := m.matches(client, server); got != tc.want {
			t.Errorf("%s %q matches %s → %s: %v, want %v (%+v)", tc.format, tc.rule, client, server, got, tc.want, m)
		}
	}
}
