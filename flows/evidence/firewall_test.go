package evidence

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const firewallDir = evidenceDir + "/firewall"

// fwRule finds the rule whose chain and text contain sel ("policy" for
// INPUT's policy), and fails the test if there is not exactly one.
func fwRule(t *testing.T, rules []FirewallRule, sel string) FirewallRule {
	t.Helper()
	var found []FirewallRule
	for _, r := range rules {
		if sel == "policy" && r.Policy && r.Chain == "INPUT" || sel != "policy" && strings.Contains(r.Chain+" "+r.Rule+" ", sel) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d rules match %q", len(found), sel)
	}
	return found[0]
}

// sentSYNs reads sent.tsv: the SYNs make.sh sent to each port, per round
// ("before/8081").
func sentSYNs(t *testing.T) map[string]int {
	sent := map[string]int{}
	for k, v := range tsvFigures(t, filepath.Join(firewallDir, "sent.tsv"), 2) {
		if n, err := strconv.Atoi(v); err == nil {
			sent[k] = n
		}
	}
	return sent
}

// TestFirewallDeltas reads the real before and after listings of each
// format, in both orders (the counters tell which was first), and checks
// every rule's counters and change.
func TestFirewallDeltas(t *testing.T) {
	type want struct {
		sel                  string // a piece of the rule's text, per format below
		before, after, delta string // "packets/bytes"
		single               bool
	}
	// The selectors of each rule in the three formats.
	sels := map[string][3]string{
		"policy":      {"policy", "policy", ""},
		"lo":          {"lo *", "-i lo ", `iifname "lo" `},
		"established": {"RELATED,ESTABLISHED", "RELATED,ESTABLISHED", "related,established"},
		"8080":        {"dpt:8080", "--dport 8080 ", "dport 8080 "},
		"8081":        {"dpt:8081", "--dport 8081 ", "dport 8081 "},
		"8082":        {"dpt:8082", "--dport 8082 ", "dport 8082 "},
		"8084":        {"dpt:8084", "--dport 8084 ", "dport 8084 "},
		"block":       {"SDX17-BLOCK DROP ", "-A SDX17-BLOCK ", "SDX17-BLOCK counter drop "},
		"8090":        {"dpts:8090:8092", "--dport 8090:8092 ", "dport 8090-8092 "},
		"preset":      {"dpt:9999", "--dport 9999 ", "dport 9999 "},
		"inserted":    {"198.18.172.0/24", "198.18.172.0/24", "198.18.172.0/24"},
		"8085":        {"", "", `counter name "syn8085" `},
		"8086":        {"", "", "dport 8086 "},
	}
	wants := []want{
		{"policy", "2/120", "5/300", "3/180", false},
		{"lo", "0/0", "0/0", "0/0", false},
		{"established", "4/208", "10/520", "6/312", false},
		{"8080", "2/120", "5/300", "3/180", false},
		{"8081", "2/120", "5/300", "3/180", false},
		{"8082", "2/120", "5/300", "3/180", false},
		{"8084", "2/120", "5/300", "3/180", false},
		{"block", "2/120", "5/300", "3/180", false},
		{"8090", "0/0", "18/1080", "18/1080", false},
		{"preset", "123456789/98765432100", "123456789/98765432100", "0/0", false},
		{"inserted", "", "0/0", "", true},
		{"8085", "2/120", "5/300", "3/180", false},
		{"8086", "2/120", "5/300", "3/180", false},
	}
	formats := []struct {
		name   string
		format FirewallFormat
		target map[string]string // the target of some rules
		rules  int
	}{
		{"iptables-L", FirewallList, map[string]string{"8081": "DROP", "8082": "REJECT", "8084": "SDX17-BLOCK", "policy": "DROP", "8080": "ACCEPT"}, 14},
		{"iptables-save", FirewallSave, map[string]string{"8081": "DROP", "8082": "REJECT", "8084": "SDX17-BLOCK", "policy": "DROP", "8080": "ACCEPT"}, 14},
		{"nft-a", FirewallNft, map[string]string{"8081": "drop", "8082": "reject", "8084": "jump SDX17-BLOCK", "8085": "drop", "8086": "reject", "8080": "accept"}, 13},
	}
	for fi, tf := range formats {
		for _, order := range [][2]string{{"before", "after"}, {"after", "before"}} {
			t.Run(tf.name+"/"+order[0]+"-first", func(t *testing.T) {
				h := NewHost()
				for _, o := range order {
					addFile(t, h, filepath.Join(firewallDir, tf.name+"-"+o+".txt"))
				}
				if f := h.Files[1]; f.Kind != KindFirewall || f.Ignored != 0 {
					t.Errorf("kind %s, %d lines ignored; want %s, 0", f.Kind, f.Ignored, KindFirewall)
				}
				var rules []FirewallRule
				for _, r := range h.Firewall {
					if r.Family != "ip6" {
						rules = append(rules, r)
					}
				}
				if len(rules) != tf.rules {
					t.Errorf("%d IPv4 rules and policies, want %d", len(rules), tf.rules)
				}
				for _, w := range wants {
					sel := sels[w.sel][fi]
					if sel == "" {
						continue
					}
					r := fwRule(t, rules, sel)
					got := fmt.Sprintf("%d/%d", r.Packets.N, r.Bytes.N)
					if got != w.after || r.Single != w.single || r.Format != tf.format {
						t.Errorf("%s: %s single=%v %s; want %s single=%v %s", w.sel, got, r.Single, r.Format, w.after, w.single, tf.format)
					}
					if w.single {
						continue
					}
					if b := fmt.Sprintf("%d/%d", r.Before.Packets.N, r.Before.Bytes.N); b != w.before {
						t.Errorf("%s: before %s, want %s", w.sel, b, w.before)
					}
					if d := fmt.Sprintf("%d/%d", r.DeltaPackets, r.DeltaBytes); d != w.delta || !r.DeltaExact() {
						t.Errorf("%s: delta %s (exact %v), want %s", w.sel, d, r.DeltaExact(), w.delta)
					}
					if filepath.Base(r.From) != tf.name+"-before.txt" || filepath.Base(r.To) != tf.name+"-after.txt" {
						t.Errorf("%s: from %s to %s", w.sel, r.From, r.To)
					}
					if want, ok := tf.target[w.sel]; ok && r.Target != want {
						t.Errorf("%s: target %q, want %q", w.sel, r.Target, want)
					}
				}
				wantNote := fmt.Sprintf("the firewall rules changed between %s-before.txt and %s-after.txt: 1 added, 0 removed", tf.name, tf.name)
				if notes := strings.Join(h.Notes(), "\n"); !strings.Contains(notes, wantNote) {
					t.Errorf("notes %q lack %q", notes, wantNote)
				}
			})
		}
	}
}

// TestFirewallTruth checks the counters of the rules that saw only SYNs
// against the SYNs make.sh sent (sent.tsv), 60 bytes each: before, the
// first round; the change, the second.
func TestFirewallTruth(t *testing.T) {
	sent := sentSYNs(t)
	h := NewHost()
	for _, f := range []string{"nft-a-before.txt", "nft-a-after.txt", "iptables-save-before.txt", "iptables-save-after.txt"} {
		addFile(t, h, filepath.Join(firewallDir, f))
	}
	for _, tc := range []struct{ port, sel string }{
		{"8080", "--dport 8080 "}, {"8081", "--dport 8081 "}, {"8082", "--dport 8082 "},
		{"8083", "policy"}, {"8084", "--dport 8084 "},
		{"8085", `counter name "syn8085" `}, {"8086", "tcp dport 8086 "},
	} {
		r := fwRule(t, h.Firewall, tc.sel)
		b, d := sent["before/"+tc.port], sent["after/"+tc.port]
		if r.Before.Packets.N != uint64(b) || r.DeltaPackets != int64(d) || r.Before.Bytes.N != 60*uint64(b) || r.DeltaBytes != 60*int64(d) {
			t.Errorf("port %s (%s): before %v/%v, delta %d/%d; sent %d then %d SYNs of 60 bytes", tc.port, r.Rule, r.Before.Packets, r.Before.Bytes, r.DeltaPackets, r.DeltaBytes, b, d)
		}
	}
}

// TestFirewallFormats reads the single listings: line numbers, rounded
// counts, ip6tables, nft without handles.
func TestFirewallFormats(t *testing.T) {
	tests := []struct {
		file            string
		rules           int
		family, sel     string
		packets, bytes  string // as printed
		exact           bool
		position, handl int
		id              string
	}{
		{"iptables-L-line-numbers-after.txt", 14, "ip", "dpt:8081", "5", "300", true, 5, 0, "INPUT DROP 6 -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:8081"},
		{"iptables-L-human-after.txt", 14, "ip", "dpt:9999", "123M", "99G", false, 10, 0, "INPUT DROP 6 -- * * 198.18.171.0/24 0.0.0.0/0 tcp dpt:9999"},
		{"iptables-L-human-after.txt", 14, "ip", "RELATED,ESTABLISHED", "10", "520", true, 3, 0, "INPUT ACCEPT 0 -- * * 0.0.0.0/0 0.0.0.0/0 ctstate RELATED,ESTABLISHED"},
		{"ip6tables-L-after.txt", 4, "ip6", "dpt:8081", "0", "0", true, 1, 0, "INPUT DROP 6 -- * * ::/0 ::/0 tcp dpt:8081"},
		{"nft-after.txt", 14, "ip", "dport 9999 ", "123456789", "98765432100", true, 10, 0, "ip filter INPUT ip saddr 198.18.171.0/24 tcp dport 9999 counter drop"},
		{"nft-after.txt", 14, "inet", `counter name "syn8085" `, "5", "300", true, 1, 0, `inet sdx17 input tcp dport 8085 counter name "syn8085" drop`},
		{"nft-a-after.txt", 14, "ip", "dport 8084 ", "5", "300", true, 7, 9, "ip filter INPUT handle 9"},
		{"iptables-save-after.txt", 14, "ip", "--dport 8082 ", "5", "300", true, 6, 0, "filter -A INPUT -p tcp -m tcp --dport 8082 -j REJECT --reject-with tcp-reset"},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.sel, func(t *testing.T) {
			h := readOne(t, filepath.Join(firewallDir, tc.file))
			f := h.Files[0]
			if f.Kind != KindFirewall || f.Values != tc.rules || f.Ignored != 0 || len(h.Firewall) != tc.rules {
				t.Errorf("kind %s, %d values (%d rules), %d ignored; want %s, %d, 0", f.Kind, f.Values, len(h.Firewall), f.Ignored, KindFirewall, tc.rules)
			}
			r := fwRule(t, h.Firewall, tc.sel)
			if r.Packets.String() != tc.packets || r.Bytes.String() != tc.bytes || r.Packets.Exact() != tc.exact || !r.Single || r.Family != tc.family {
				t.Errorf("%s/%s exact=%v single=%v family %s; want %s/%s exact=%v single, %s", r.Packets, r.Bytes, r.Packets.Exact(), r.Single, r.Family, tc.packets, tc.bytes, tc.exact, tc.family)
			}
			if r.Position != tc.position || r.Handle != tc.handl || r.ID != tc.id {
				t.Errorf("position %d, handle %d, id %q; want %d, %d, %q", r.Position, r.Handle, r.ID, tc.position, tc.handl, tc.id)
			}
			if len(h.Notes()) != 0 {
				t.Errorf("notes %q", h.Notes())
			}
		})
	}
	// The rounded counts are the rounded values, in units.
	r := fwRule(t, readOne(t, filepath.Join(firewallDir, "iptables-L-human-after.txt")).Firewall, "dpt:9999")
	if r.Packets != (Count{123e6, 1e6}) || r.Bytes != (Count{99e9, 1e9}) {
		t.Errorf("123M 99G read as %+v %+v", r.Packets, r.Bytes)
	}
}

// TestFirewallRounded: the change between listings without -x is not
// exact.
func TestFirewallRounded(t *testing.T) {
	const head = "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target prot opt in out source destination\n"
	h := NewHost()
	addContent(t, h, "a.txt", head+" 98000  5880K DROP  tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:80\n")
	addContent(t, h, "b.txt", head+"  103K  6180K DROP  tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:80\n")
	r := fwRule(t, h.Firewall, "dpt:80")
	if r.DeltaPackets != 5000 || r.DeltaBytes != 300000 || r.DeltaExact() || r.Target != "DROP" || !r.IsDrop() {
		t.Errorf("%+v: want a change of 5000/300000, not exact, DROP", r)
	}
}

// TestFirewallDetect: each listing is detected by its content, and near
// misses are read with a note instead of an error.
func TestFirewallDetect(t *testing.T) {
	tests := []struct {
		desc, content string
		values        int
		note          string
	}{
		{"iptables -L without -v", "Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nDROP       tcp  --  anywhere             anywhere             tcp dpt:http\n", 0, "without counters (2 rules or policies): take iptables -L -v -n -x"},
		{"iptables-save without -c", "# Generated by iptables-save v1.8.9 on Fri Dec  4 18:13:41 2026\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j DROP\nCOMMIT\n", 1, "lists 1 rules or policies without counters: take iptables-save -c"},
		{"iptables-save -c with -c at the end", "*filter\n:INPUT ACCEPT [7:420]\n-A INPUT -p tcp -m tcp --dport 80 -c 3 180 -j DROP\nCOMMIT\n", 2, ""},
		{"nft without counters", "table inet f {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 22 accept\n\t}\n}\n", 0, "without counters (2 rules or policies): take nft rules with a counter statement"},
		{"nft sets are skipped", "table inet f {\n\tset blocked {\n\t\ttype ipv4_addr\n\t\telements = { 198.18.9.9 }\n\t}\n\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr @blocked counter packets 4 bytes 240 drop\n\t}\n}\n", 1, ""},
		{"iptables-save of nothing", "*filter\nCOMMIT\n", 0, "a firewall listing without rules"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			h := NewHost()
			if err := h.Add("fw.txt", strings.NewReader(tc.content)); err != nil {
				t.Fatal(err)
			}
			if f := h.Files[0]; f.Kind != KindFirewall || f.Values != tc.values || f.Ignored != 0 {
				t.Errorf("kind %s, %d values, %d ignored; want %s, %d, 0", f.Kind, f.Values, f.Ignored, KindFirewall, tc.values)
			}
			notes := strings.Join(h.Notes(), "\n")
			if tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
	// The other kinds are not firewalls, nor the firewalls other kinds.
	for _, f := range []string{"nstat-noz.txt", "centos7-ss-lnt.txt", "proc-sys-grep.txt", "proc-version.txt", "netstat-s-unknown-lines.txt"} {
		if k := readOne(t, filepath.Join(evidenceDir, f)).Files[0].Kind; k == KindFirewall || k == KindKernelLog {
			t.Errorf("%s read as %s", f, k)
		}
	}
}

// FuzzFirewall: no content makes Add panic; a listing it accepts has a
// rule for each value, every rule an identity, unique in its ruleset, and
// counts that print and read back; a second snapshot pairs with it.
func FuzzFirewall(f *testing.F) {
	ents, _ := os.ReadDir(firewallDir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(firewallDir, e.Name())); err == nil && strings.HasSuffix(e.Name(), ".txt") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := NewHost()
		if err := h.Add("a", bytes.NewReader(b)); err != nil || h.Files[0].Kind != KindFirewall {
			return
		}
		if len(h.Firewall) != h.Files[0].Values {
			t.Errorf("%d rules, %d values", len(h.Firewall), h.Files[0].Values)
		}
		seen := map[string]bool{}
		for _, r := range h.Firewall {
			key := string(r.Format) + " " + r.Family + " " + r.ID
			if r.ID == "" || seen[key] {
				t.Errorf("rule %+v: empty or repeated identity", r)
			}
			seen[key] = true
			for _, c := range []Count{r.Packets, r.Bytes} {
				if back, ok := parseCount(c.String()); !ok || back != c {
					t.Errorf("count %+v prints as %q, reads back as %+v", c, c, back)
				}
			}
		}
		if err := h.Add("b", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		for _, r := range h.Firewall {
			if r.Single || r.DeltaPackets != 0 || r.DeltaBytes != 0 {
				t.Errorf("rule %+v: not paired, or a change between two copies of one listing", r)
			}
		}
	})
}

func BenchmarkEvidenceFirewall(b *testing.B) {
	benchmarkAdd(b, filepath.Join(firewallDir, "iptables-save-after.txt"))
}
