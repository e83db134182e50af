package analyze

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trustDir holds the real-kernel scenarios of issue 11 (make-scenarios.sh
// trust): each one a mechanism the diagnosis once got wrong.
var trustDir = filepath.Join("..", "testdata", "trust")

// trustFigure returns a lookup of testdata/trust/truth.tsv by scenario, file
// and metric that fails the test when one is missing.
func trustFigure(t *testing.T) func(scenario, file, metric string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(trustDir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) >= 4 {
			truth[c[0]+"/"+c[1]+"/"+c[2]] = c[3]
		}
	}
	return func(s, file, metric string) int {
		t.Helper()
		v, ok := truth[s+"/"+file+"/"+metric]
		if !ok {
			t.Fatalf("truth.tsv has no %s/%s/%s", s, file, metric)
		}
		return mustInt(t, v)
	}
}

// trustViews analyzes a trust scenario from the server capture alone, the
// client capture alone and the two joined.
func trustViews(t *testing.T, scenario string) map[string]*Result {
	t.Helper()
	server := filepath.Join(trustDir, scenario, "server.pcap")
	client := filepath.Join(trustDir, scenario, "client-lan.pcap")
	s, c := readInput(t, server), readInput(t, client)
	s.Role, c.Role = RoleServer, RoleClient
	return map[string]*Result{
		"server.pcap":     Analyze([]Input{s}),
		"client-lan.pcap": Analyze([]Input{c}),
		"joined":          joined(t, client, server),
	}
}

func findingOf(res *Result, kind string) *Finding {
	for i := range res.Findings {
		if res.Findings[i].Kind == kind {
			return &res.Findings[i]
		}
	}
	return nil
}

func hasEvidence(f *Finding, s string) bool {
	for _, e := range f.Evidence {
		if strings.Contains(e, s) {
			return true
		}
	}
	return false
}

// TestTrustAcceptQueueFull: the application stops calling accept() while
// four hosts behind one NAT address keep connecting to a listen(4) socket.
// The queue fills with 5 handshakes whose requests wait, then every SYN is
// dropped in tcp_conn_request with no SYN-ACK (ListenOverflows = the
// unanswered SYNs), until the application drains the queue. No third ACK
// is ever ignored: the diagnosis must come from the waiting handshakes, in
// every view, and never be "a firewall".
func TestTrustAcceptQueueFull(t *testing.T) {
	get := trustFigure(t)
	const s = "accept-full-nat"
	if n := get(s, "server.pcap", "synack_after_ack"); n != 0 {
		t.Fatalf("the scenario ignored %d third ACKs: it no longer shows the queue full at SYN time", n)
	}
	for view, res := range trustViews(t, s) {
		t.Run(view, func(t *testing.T) {
			file := view
			if view == "joined" {
				file = "server.pcap"
			}
			if len(res.Findings) == 0 || res.Findings[0].Kind != KindAcceptQueueOverflow {
				t.Fatalf("findings %v, want accept_queue_overflow first", kinds(res))
			}
			f := &res.Findings[0]
			if f.Severity != Critical {
				t.Errorf("severity %s, want critical", f.Severity)
			}
			if want := fmt.Sprintf("dropped %d SYNs", get(s, file, "syn_unanswered_tx")); !strings.Contains(f.Summary, want) {
				t.Errorf("summary %q lacks %q", f.Summary, want)
			}
			if want := fmt.Sprintf("the accept queue holds about %d", get(s, file, "waiting_at_first_drop")); !hasEvidence(f, want) {
				t.Errorf("evidence lacks %q:\n%s", want, strings.Join(f.Evidence, "\n"))
			}
			if f.AffectedAttempts != get(s, file, "attempts_dropped") {
				t.Errorf("%d attempts affected, want %d", f.AffectedAttempts, get(s, file, "attempts_dropped"))
			}
			if findingOf(res, KindServerSilentDrop) != nil {
				t.Errorf("a server_silent_drop finding beside the accept queue: %v", kinds(res))
			}
			for _, a := range res.Attempts {
				if a.Retransmissions() > 0 && a.Cause != KindAcceptQueueOverflow {
					t.Errorf("%v: cause %s, want accept_queue_overflow", a.Client, a.Cause)
				}
				if a.Outcome != Established {
					t.Errorf("%v: outcome %s, want established (all %d were served)", a.Client, a.Outcome, get(s, file, "outcome_served"))
				}
			}
		})
	}
}

// TestTrustSYNACKRace: the wire drops the first SYN-ACK of every connection;
// the client's SYN retransmission then crosses the server's SYN-ACK timer,
// the client gets two SYN-ACKs a few milliseconds apart and the second
// follows its ACK. Nothing overflows (ListenOverflows 0): no view may say
// accept queue, and the server capture alone must say the SYN-ACKs were lost
// on the way back.
func TestTrustSYNACKRace(t *testing.T) {
	get := trustFigure(t)
	const s = "synack-race"
	if get(s, "client-lan.pcap", "attempts_with_synack_after_ack") == 0 {
		t.Fatal("no SYN-ACK followed an ACK in the client capture: the scenario no longer shows the race")
	}
	if get(s, "evidence/nstat", "delta_TcpExtListenOverflows") != 0 {
		t.Fatal("the scenario's listener overflowed")
	}
	views := trustViews(t, s)
	for view, res := range views {
		if f := findingOf(res, KindAcceptQueueOverflow); f != nil {
			t.Errorf("%s: accept_queue_overflow: %s", view, f.Summary)
		}
	}
	f := findingOf(views["server.pcap"], KindSYNACKUnacknowledged)
	if f == nil {
		t.Fatalf("server.pcap: findings %v, want synack_unacknowledged", kinds(views["server.pcap"]))
	}
	if want := get(s, "env", "wire_synacks_dropped"); f.AffectedAttempts != want {
		t.Errorf("synack_unacknowledged: %d attempts, want %d (the SYN-ACKs the wire dropped)", f.AffectedAttempts, want)
	}
	j := views["joined"]
	if f := findingOf(j, KindPathDropToClient); f == nil || f.AffectedAttempts != get(s, "env", "wire_synacks_dropped") {
		t.Errorf("joined: findings %v, want path_drop_to_client on every attempt", kinds(j))
	}
	if findingOf(j, KindSYNACKUnacknowledged) != nil {
		t.Error("joined: synack_unacknowledged beside the join's own path_drop_to_client")
	}
}

func kinds(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Kind+"/"+f.Severity.String())
	}
	return out
}

// TestNoRetryLinks: in accept-overflow-abort1 the client programs never
// retry (connect() succeeds, then ECONNRESET ends the connection), and in
// firewall-drop-mixed the blocked host's second phase is planned, not a
// retry: attempts that overlap, or from a source whose timestamp clocks
// cannot tell hosts apart, must not be linked — and failures are counted
// each, linked or not.
func TestNoRetryLinks(t *testing.T) {
	for _, sc := range []string{"accept-overflow-abort1", "firewall-drop-mixed"} {
		for _, file := range []string{"server.pcap", "client-lan.pcap"} {
			res := readCapture(t, filepath.Join("..", "testdata", "scenarios", sc, file))
			failed := 0
			for _, a := range res.Attempts {
				if a.RetryOf >= 0 {
					t.Errorf("%s/%s: %v linked as a retry of %v", sc, file, a.Client, res.Attempts[a.RetryOf].Client)
				}
				if a.Outcome.Failed() {
					failed++
				}
			}
			sum := 0
			for _, s := range res.Sources {
				sum += s.Failed
			}
			if sum != failed {
				t.Errorf("%s/%s: sources count %d failures, the attempts %d", sc, file, sum, failed)
			}
		}
	}
}
