package analyze

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/flows/evidence"
)

const (
	// evidenceDir holds hand-written evidence, beside the parser's tests.
	evidenceDir  = "../flows/evidence/testdata"
	scenarioDir  = "../testdata/scenarios"
	scenarioEvid = "evidence"
)

// readInput reads a capture for AnalyzeWithEvidence.
func readInput(t *testing.T, path string) Input {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := ReadCapture(path, f, flows.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return *in
}

// readEvidenceDir adds every file of a folder, in name order, as the
// command does.
func readEvidenceDir(t *testing.T, dir string) *evidence.Host {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := evidence.NewHost()
	for _, e := range ents {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err == nil {
			err = ev.Add(path, bytes.NewReader(b))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

// TestEvidenceFusionScenarios runs each real-kernel scenario's server
// capture with the evidence taken during the run and checks that the
// findings' confidence and evidence lines reflect it, with the figures of
// truth.tsv.
func TestEvidenceFusionScenarios(t *testing.T) {
	get := scenarioFigure(t)
	const nstat = "between nstat-before.txt and nstat-after.txt"
	type want struct {
		kind       Kind
		before     float64 // confidence without evidence
		confidence float64
		evidence   []string
	}
	tests := []struct {
		scenario string
		findings func(s string) []want
	}{
		{"accept-overflow-abort0", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			return []want{
				{KindAcceptQueueOverflow, 0.95, 0.99, []string{
					fmt.Sprintf("TcpExt:ListenOverflows rose by %s %s: more than the capture shows (%s SYNs and %s completed handshakes dropped)", d("ListenOverflows"), nstat, get(s, "server.pcap", "syn_unanswered_tx"), get(s, "server.pcap", "attempts_with_synack_after_ack")),
					fmt.Sprintf("TcpExt:TCPReqQFullDoCookies rose by %s %s: the SYN queue, whose limit is the same backlog, was full too", d("TCPReqQFullDoCookies"), nstat),
					"ss (ss-lnt.txt) shows the listener 198.18.2.2:8080 with Recv-Q 9 and Send-Q 8",
					"it was full when ss looked (the kernel admits one more than the limit); the limit is the backlog of about 8 the capture implies",
					"net.core.somaxconn = 4096 (sysctl.txt) is not what limits the queue: the application's listen() backlog (8) is; raise that",
					"net.ipv4.tcp_abort_on_overflow = 0 (sysctl.txt), as the capture shows",
				}},
				{KindSYNRetransmitDelay, 1, 1, nil},
			}
		}},
		{"accept-overflow-abort1", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			return []want{
				{KindAcceptQueueOverflow, 0.95, 0.99, []string{
					fmt.Sprintf("TcpExt:ListenOverflows rose by %s %s: exactly as many as the capture shows (%s SYNs and %s completed handshakes dropped)", d("ListenOverflows"), nstat, get(s, "server.pcap", "syn_unanswered_tx"), get(s, "server.pcap", "attempts_with_rst_after_ack")),
					fmt.Sprintf("TcpExt:EmbryonicRsts rose by %s %s: the kernel counts there each request it resets with tcp_abort_on_overflow=1; the capture shows %s reset handshakes", d("EmbryonicRsts"), nstat, get(s, "server.pcap", "attempts_with_rst_after_ack")),
					"net.ipv4.tcp_abort_on_overflow = 1 (sysctl.txt), as the capture shows",
				}},
				{KindSYNRetransmitDelay, 1, 1, nil},
			}
		}},
		{"synflood-nocookies", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			flood := mustInt(t, get(s, "server.pcap", "spoofed_syns")) - 9
			return []want{
				{KindSYNQueueOverflow, 0.9, 0.99, []string{
					fmt.Sprintf("TcpExt:TCPReqQFullDrop rose by %s %s: exactly as many as the capture shows (%d flood SYNs and %s SYNs of real clients without an answer)", d("TCPReqQFullDrop"), nstat, flood, get(s, "server.pcap", "syn_unanswered_tx")),
					"net.ipv4.tcp_syncookies = 0 (sysctl.txt): a full SYN queue drops SYNs instead of answering with cookies",
					"ss (ss-lnt.txt) shows the listener 198.18.2.2:8080 with Recv-Q 0 and Send-Q 8: current kernels cap the SYN queue at the same backlog (inet_csk_reqsk_queue_is_full) and admit one more, 9; the capture shows 9 half-open requests held",
					"net.ipv4.tcp_max_syn_backlog = 16 (sysctl.txt)",
				}},
				{KindSYNRetransmitDelay, 1, 1, nil},
			}
		}},
		{"synflood-cookies", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			flood := mustInt(t, get(s, "server.pcap", "spoofed_syns")) - 9
			return []want{
				{KindSYNQueueOverflow, 0.8, 0.98, []string{
					fmt.Sprintf("TcpExt:SyncookiesSent rose by %s %s: the server answered with SYN cookies — the capture shows %d flood SYN-ACKs never retransmitted; the other %d answered SYNs", d("SyncookiesSent"), nstat, flood, mustInt(t, d("SyncookiesSent"))-flood),
					fmt.Sprintf("TcpExt:SyncookiesRecv rose by %s %s: ACKs that came back with a valid cookie", d("SyncookiesRecv"), nstat),
					"net.ipv4.tcp_syncookies = 1 (sysctl.txt): cookies answer once the SYN queue is full",
				}},
			}
		}},
		{"firewall-drop-mixed", func(s string) []want {
			return []want{
				{KindServerSilentDrop, 0.8, 0.92, []string{
					fmt.Sprintf("TcpExt:ListenDrops did not move (0 %s) while %s SYNs went unanswered: the TCP stack dropped none of them — something before it did", nstat, get(s, "server.pcap", "syn_unanswered_tx")),
					"net.ipv4.tcp_syn_retries = 6 (sysctl.txt) is this host's setting for connections it opens; the clients gave up after 4 SYNs, as Linux does with tcp_syn_retries=3",
				}},
			}
		}},
		{"healthy", func(string) []want { return nil }},
		{"nat-modern-clients", func(string) []want { return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			in := readInput(t, filepath.Join(scenarioDir, tc.scenario, "server.pcap"))
			plain := Analyze([]Input{in})
			ev := readEvidenceDir(t, filepath.Join(scenarioDir, tc.scenario, scenarioEvid))
			res := AnalyzeWithEvidence([]Input{in}, ev)
			if res.Evidence.Host != ev {
				t.Error("Result.Evidence is not the evidence given")
			}
			wants := tc.findings(tc.scenario)
			var kinds, wantKinds []string
			for _, f := range res.Findings {
				kinds = append(kinds, string(f.Kind))
			}
			for _, w := range wants {
				wantKinds = append(wantKinds, string(w.kind))
			}
			if strings.Join(kinds, " ") != strings.Join(wantKinds, " ") {
				t.Fatalf("findings %v, want %v", kinds, wantKinds)
			}
			for i, w := range wants {
				f, p := res.Findings[i], plain.Findings[i]
				if p.Confidence != w.before || f.Confidence != w.confidence {
					t.Errorf("%s: confidence %.2f without evidence, %.2f with; want %.2f and %.2f", f.Kind, p.Confidence, f.Confidence, w.before, w.confidence)
				}
				all := strings.Join(f.Evidence, "\n")
				for _, s := range w.evidence {
					if !strings.Contains(all, s) {
						t.Errorf("%s: no evidence with %q in\n%s", f.Kind, s, all)
					}
				}
			}
		})
	}
}

// TestEvidencePerHostPAWS: the generated per-host PAWS capture (a Linux
// 3.10 server) with hand-written CentOS 7 evidence: counters that agree
// with the replay, counters that contradict it, and a modern kernel that
// cannot have the rule.
func TestEvidencePerHostPAWS(t *testing.T) {
	in := readInput(t, "../testdata/paws/paws-nat.pcap")
	tests := []struct {
		evidence   string
		confidence float64
		lines      []string
	}{
		{evidenceDir + "/centos7-paws", 0.99, []string{
			"the server runs Linux 3.10.0-1160.el7.x86_64 (uname.txt), older than 4.12: its kernel has the per-host PAWS check",
			"net.ipv4.tcp_tw_recycle = 1 (sysctl.txt): the rule is on",
			"TcpExt:PAWSPassive rose by 80 between netstat-s-before.txt and netstat-s-after.txt: exactly as many as the replay predicts (80 dropped SYNs)",
		}},
		{evidenceDir + "/centos7-paws-zero", 0.15, []string{
			"the counters say 0 PAWS rejects: TcpExt:PAWSPassive did not move (1000 between netstat-s-before.txt and netstat-s-after.txt): per-host PAWS is not the cause",
		}},
		{filepath.Join(scenarioDir, "healthy", scenarioEvid), 0.1, []string{
			"the server runs Linux 6.18.44-fc-v657 (uname.txt): tcp_tw_recycle and its per-host PAWS check were removed in 4.12, so this rule cannot have dropped these SYNs: per-host PAWS is not the cause here",
			"nstat-after.txt has no TcpExt:PAWSPassive counter: the kernel has no per-host PAWS check (removed in 4.12)",
		}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.evidence), func(t *testing.T) {
			res := AnalyzeWithEvidence([]Input{in}, readEvidenceDir(t, tc.evidence))
			var f *Finding
			for i := range res.Findings {
				if res.Findings[i].Kind == KindPerHostPAWS {
					f = &res.Findings[i]
				}
			}
			if f == nil {
				t.Fatal("no per_host_paws finding")
			}
			if f.Confidence != tc.confidence {
				t.Errorf("confidence %.2f, want %.2f", f.Confidence, tc.confidence)
			}
			all := strings.Join(f.Evidence, "\n")
			for _, s := range tc.lines {
				if !strings.Contains(all, s) {
					t.Errorf("no evidence with %q in\n%s", s, all)
				}
			}
		})
	}
	res := AnalyzeWithEvidence([]Input{in}, readEvidenceDir(t, evidenceDir+"/centos7-paws"))
	if notes := strings.Join(res.Evidence.Notes(), "\n"); !strings.Contains(notes, "the counter snapshots (2024-03-01 09:59:58 to 2024-03-01 10:04:01 UTC) cover the capture (2024-03-01 10:00:00 to 2024-03-01 10:03:55 UTC)") {
		t.Errorf("notes: %q", notes)
	}
}

// TestEvidenceRisks: settings and queues that drop SYNs are findings of
// their own when the capture (here a healthy one) shows no harm yet.
func TestEvidenceRisks(t *testing.T) {
	in := readInput(t, filepath.Join(scenarioDir, "healthy", "server.pcap"))
	res := AnalyzeWithEvidence([]Input{in}, readEvidenceDir(t, evidenceDir+"/risky"))
	want := map[Kind][]string{
		KindHostTWRecycle: {"warning", "net.ipv4.tcp_tw_recycle is on",
			"net.ipv4.tcp_tw_recycle = 1 (sysctl.txt): the server remembers the last timestamp of each client address",
			"the server runs Linux 3.10.0-1160.el7.x86_64 (uname.txt); the setting was removed in 4.12"},
		KindHostSyncookiesOff: {"warning", "SYN cookies are off",
			"net.ipv4.tcp_syncookies = 0 (sysctl.txt)",
			"the listeners' backlogs (ss Send-Q): 0.0.0.0:22 128, 198.18.2.2:8080 128"},
		KindHostSmallBacklog: {"warning", "a listener's accept queue was full when ss looked",
			"ss (ss-lnt.txt, 3 samples) shows the listener 198.18.2.2:8080 with Recv-Q up to 129 and Send-Q 128: its accept queue was at its limit",
			"net.core.somaxconn = 128 (sysctl.txt): no listener can queue more than that (the default before Linux 5.4)"},
		KindHostListenDrops: {"warning", "dropped 42 SYNs at listening sockets",
			"TcpExt:ListenDrops rose by 42 between nstat-before.txt and nstat-after.txt",
			"TcpExt:ListenOverflows rose by 42 between nstat-before.txt and nstat-after.txt"},
	}
	if len(res.Findings) != len(want) {
		t.Errorf("%d findings, want %d", len(res.Findings), len(want))
	}
	for _, f := range res.Findings {
		w, ok := want[f.Kind]
		if !ok {
			t.Errorf("unexpected finding %s: %s", f.Kind, f.Summary)
			continue
		}
		if f.Severity.String() != w[0] || !strings.Contains(f.Summary, w[1]) {
			t.Errorf("%s: %s %q, want %s and %q", f.Kind, f.Severity, f.Summary, w[0], w[1])
		}
		all := strings.Join(f.Evidence, "\n")
		for _, s := range w[2:] {
			if !strings.Contains(all, s) {
				t.Errorf("%s: no evidence with %q in\n%s", f.Kind, s, all)
			}
		}
		if f.Recommendation == "" || f.Capture != 0 {
			t.Errorf("%s: recommendation %q, capture %d", f.Kind, f.Recommendation, f.Capture)
		}
	}
}

// TestEvidenceClientSide: evidence a syndiag collect folder marks as the
// client's is compared only with what the client decides (tcp_syn_retries).
func TestEvidenceClientSide(t *testing.T) {
	in := readInput(t, filepath.Join(scenarioDir, "firewall-drop-mixed", "server.pcap"))
	ev := readEvidenceDir(t, filepath.Join(scenarioDir, "firewall-drop-mixed", scenarioEvid))
	if err := ev.Add("client/syndiag-side.txt", strings.NewReader("# syndiag collect\nside: client\nhost: c1\n")); err != nil {
		t.Fatal(err)
	}
	if err := ev.Add("client/sysctl.txt", strings.NewReader("net.ipv4.tcp_syn_retries = 3\n")); err != nil {
		t.Fatal(err)
	}
	res := AnalyzeWithEvidence([]Input{in}, ev)
	f := res.Findings[0]
	all := strings.Join(f.Evidence, "\n")
	if !strings.Contains(all, "net.ipv4.tcp_syn_retries = 3 (sysctl.txt) on the client: the clients gave up after 4 SYNs, as Linux does with tcp_syn_retries=3") {
		t.Errorf("no tcp_syn_retries line in\n%s", all)
	}
	if strings.Contains(all, "ListenDrops") || f.Confidence != 0.8 {
		t.Errorf("the client's counters were fused (confidence %.2f):\n%s", f.Confidence, all)
	}
	if notes := strings.Join(res.Evidence.Notes(), "\n"); !strings.Contains(notes, "the evidence was collected on the client (syndiag-side.txt)") {
		t.Errorf("notes: %q", notes)
	}
}

// TestAnalyzeWithoutEvidence: no evidence, no change.
func TestAnalyzeWithoutEvidence(t *testing.T) {
	in := readInput(t, filepath.Join(scenarioDir, "accept-overflow-abort0", "server.pcap"))
	a, b := Analyze([]Input{in}), AnalyzeWithEvidence([]Input{in}, nil)
	if !reflect.DeepEqual(a.Findings, b.Findings) || b.Evidence != nil {
		t.Error("AnalyzeWithEvidence without evidence differs from Analyze")
	}
}
