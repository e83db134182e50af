package analyze

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scenarioTruth reads testdata/scenarios/truth.tsv: per scenario and file,
// the figures the script measured (tshark, the clients, the server's
// counters).
func scenarioTruth(t *testing.T) map[string]string {
	return readTruth(t, filepath.Join("..", "testdata", "scenarios"))
}

// readTruth reads the truth.tsv that make-scenarios.sh writes in dir, keyed
// "scenario/file/metric".
func readTruth(t *testing.T, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) >= 4 && !strings.HasPrefix(c[0], "#") {
			truth[c[0]+"/"+c[1]+"/"+c[2]] = c[3]
		}
	}
	return truth
}

// scenarioFigure returns a lookup of truth.tsv's figures by scenario, file
// and metric that fails the test when one is missing.
func scenarioFigure(t *testing.T) func(scenario, file, metric string) string {
	truth := scenarioTruth(t)
	return func(s, file, metric string) string {
		t.Helper()
		v, ok := truth[s+"/"+file+"/"+metric]
		if !ok {
			t.Fatalf("truth.tsv has no %s/%s/%s", s, file, metric)
		}
		return v
	}
}

// TestScenarios runs the real-kernel diagnosis scenarios and checks every
// finding and its figures against what the scenario did.
func TestScenarios(t *testing.T) {
	get := scenarioFigure(t)
	type want struct {
		kind     Kind
		severity string
		summary  []string // substrings of the summary
		evidence []string // substrings of some evidence line
	}
	tests := []struct {
		scenario, file string
		role           Role
		findings       func(s, f string) []want
	}{
		{"accept-overflow-abort0", "server.pcap", RoleServer, func(s, f string) []want {
			return []want{
				{KindAcceptQueueOverflow, "critical", []string{
					fmt.Sprintf("dropped %s SYNs and ignored the final ACK of %s completed handshakes", get(s, f, "syn_unanswered_tx"), get(s, f, "attempts_with_synack_after_ack")),
				}, []string{"the accept queue holds about 9, so the listen backlog is about 8", "tcp_abort_on_overflow=0"}},
				{KindSYNRetransmitDelay, "warning", []string{fmt.Sprintf("%s connections of 80", get(s, f, "attempts_retransmitted"))}, []string{"by accept_queue_overflow"}},
			}
		}},
		{"accept-overflow-abort0", "client-lan.pcap", RoleClient, func(s, f string) []want {
			return []want{
				{KindAcceptQueueOverflow, "critical", []string{
					fmt.Sprintf("dropped %s SYNs and ignored the final ACK of %s completed handshakes", get(s, f, "syn_unanswered_tx"), get(s, f, "attempts_with_synack_after_ack")),
				}, []string{"seen from the client's side"}},
				{KindSYNRetransmitDelay, "warning", nil, nil},
			}
		}},
		{"accept-overflow-abort1", "server.pcap", RoleServer, func(s, f string) []want {
			return []want{
				{KindAcceptQueueOverflow, "critical", []string{
					fmt.Sprintf("dropped %s SYNs and reset %s completed handshakes", get(s, f, "syn_unanswered_tx"), get(s, f, "attempts_with_rst_after_ack")),
				}, []string{"tcp_abort_on_overflow=1", "the listen backlog is about 8"}},
				{KindSYNRetransmitDelay, "warning", nil, []string{"by accept_queue_overflow"}},
			}
		}},
		{"synflood-nocookies", "server.pcap", RoleServer, func(s, f string) []want {
			return []want{
				{KindSYNQueueOverflow, "critical", []string{
					fmt.Sprintf("a flood of %s SYNs", get(s, f, "spoofed_syns")),
					fmt.Sprintf("%s SYNs from real clients were dropped", get(s, f, "syn_unanswered_tx")),
				}, []string{
					fmt.Sprintf("9 left half-open (SYN-ACK sent, never acknowledged), %d unanswered", mustInt(t, get(s, f, "spoofed_syns"))-9),
					"9 half-open handshakes had their SYN-ACK retransmitted",
				}},
				{KindSYNRetransmitDelay, "warning", nil, []string{"by syn_queue_overflow"}},
			}
		}},
		{"synflood-cookies", "server.pcap", RoleServer, func(s, f string) []want {
			return []want{
				{KindSYNQueueOverflow, "warning", []string{"SYN flood absorbed by SYN cookies", fmt.Sprintf("%s SYNs", get(s, f, "spoofed_syns"))},
					[]string{fmt.Sprintf("%d SYN-ACKs were never retransmitted", mustInt(t, get(s, f, "spoofed_syns"))-9)}},
			}
		}},
		{"healthy", "server.pcap", RoleServer, func(s, f string) []want { return nil }},
		{"nat-modern-clients", "server.pcap", RoleServer, func(s, f string) []want { return nil }},
		{"nat-modern-clients", "client-lan.pcap", RoleClient, func(s, f string) []want { return nil }},
		{"firewall-drop-mixed", "server.pcap", RoleServer, func(s, f string) []want {
			return []want{
				// Four blocked attempts are a handful: a warning that says
				// so, not a critical finding (issue 11, mechanism 8).
				{KindServerSilentDrop, "warning", []string{"24 SYNs reached the server's capture point and got no answer"},
					[]string{"never answered: 198.18.1.11, while 3 other sources connected", "net.ipv4.tcp_syn_retries=3", "how sure: 4 attempts of clients that retransmitted on a known stack's schedule"}},
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.scenario+"/"+tc.file, func(t *testing.T) {
			res := readCapture(t, filepath.Join("..", "testdata", "scenarios", tc.scenario, tc.file))
			if got := res.Captures[0].Role; got != tc.role {
				t.Errorf("role %s, want %s", got, tc.role)
			}
			wants := tc.findings(tc.scenario, tc.file)
			var kinds []string
			for _, f := range res.Findings {
				kinds = append(kinds, string(f.Kind))
			}
			var wantKinds []string
			for _, w := range wants {
				wantKinds = append(wantKinds, string(w.kind))
			}
			if strings.Join(kinds, " ") != strings.Join(wantKinds, " ") {
				t.Fatalf("findings %v, want %v", kinds, wantKinds)
			}
			for i, w := range wants {
				f := res.Findings[i]
				if f.Severity.String() != w.severity {
					t.Errorf("%s: severity %s, want %s", f.Kind, f.Severity, w.severity)
				}
				for _, s := range w.summary {
					if !strings.Contains(f.Summary, s) {
						t.Errorf("%s: summary %q lacks %q", f.Kind, f.Summary, s)
					}
				}
				for _, s := range w.evidence {
					if !strings.Contains(strings.Join(f.Evidence, "\n"), s) {
						t.Errorf("%s: no evidence with %q in\n%s", f.Kind, s, strings.Join(f.Evidence, "\n"))
					}
				}
			}
		})
	}
}

func mustInt(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
