package analyze

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
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
	truth := readTruth(t, trustDir)
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

func findingOf(res *Result, kind Kind) *Finding {
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

// TestRetryLinks: in app-retry one application on 198.18.1.11 retries a
// refused connect three times, 0.5 s apart, while another thread and
// another host connect on their own, overlapping it; 198.18.1.12 retries
// once. At the client, where the capture shows when each failure reached
// the application, the links must be the truth's count, never join two
// attempts that overlap, and never shrink the failures counted.
func TestRetryLinks(t *testing.T) {
	get := trustFigure(t)
	const s, file = "app-retry", "client-lan.pcap"
	truth := trustRows(t, s, file, "attempt_")
	res := readCapture(t, filepath.Join(trustDir, s, file))
	links, failed := 0, 0
	for _, a := range res.Attempts {
		if a.Outcome.Failed() {
			failed++
		}
		if a.RetryOf < 0 {
			continue
		}
		links++
		p := res.Attempts[a.RetryOf]
		if !p.Outcome.Failed() {
			t.Errorf("%v linked to %v, which did not fail", a.Client, p.Client)
		}
		row := truth[fmt.Sprint(a.Client.Port())]
		if strings.Contains(row, "overlaps=") && slices.Contains(strings.Split(strings.SplitN(row, "overlaps=", 2)[1], ","), fmt.Sprint(p.Client.Port())) {
			t.Errorf("%v linked as a retry of %v, which it overlaps (%s)", a.Client, p.Client, row)
		}
	}
	if want := get(s, file, "retries"); links != want {
		t.Errorf("%d retry links, want %d", links, want)
	}
	if want := get(s, file, "failed_attempts"); failed != want {
		t.Errorf("%d failed attempts, want %d", failed, want)
	}
	sum, retried := 0, 0
	for _, src := range res.Sources {
		sum += src.Failed
		retried += src.Retried
	}
	if sum != failed {
		t.Errorf("the sources count %d failures, the attempts %d: retries must not hide failures", sum, failed)
	}
	if want := get(s, file, "failed_attempts_retried"); retried != want {
		t.Errorf("%d failures retried, want %d", retried, want)
	}
}

// trustRows returns the truth rows of one capture whose metric starts with
// prefix, keyed by the rest of the metric.
func trustRows(t *testing.T, scenario, file, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	key := scenario + "/" + file + "/" + prefix
	for k, v := range readTruth(t, trustDir) {
		if rest, ok := strings.CutPrefix(k, key); ok {
			out[rest] = v
		}
	}
	return out
}

func kinds(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, string(f.Kind)+"/"+f.Severity.String())
	}
	return out
}

// TestCaptureStopped: the captures stop at 2.5 s while four clients are
// still retransmitting SYNs that a firewall drops (one sent its only SYN
// half a second before the end). None gave up within the capture: none may
// be called unanswered or said to have given up.
func TestCaptureStopped(t *testing.T) {
	get := trustFigure(t)
	const s = "capture-stopped"
	for _, file := range []string{"server.pcap", "client-lan.pcap"} {
		trying := trustRows(t, s, file, "still_trying_at_stop_")
		if len(trying) != get(s, file, "attempts_trying_at_stop") {
			t.Fatalf("%s: %d still_trying rows, truth says %d", file, len(trying), get(s, file, "attempts_trying_at_stop"))
		}
		res := readCapture(t, filepath.Join(trustDir, s, file))
		n := 0
		for _, a := range res.Attempts {
			if trying[fmt.Sprint(a.Client.Port())] != "yes" {
				continue
			}
			n++
			if a.Outcome != Incomplete || a.Schedule.GaveUp {
				t.Errorf("%s %v: outcome %s, gave up %v; the client was still trying when the capture stopped", file, a.Client, a.Outcome, a.Schedule.GaveUp)
			}
		}
		if n != len(trying) {
			t.Errorf("%s: found %d of the %d attempts still trying", file, n, len(trying))
		}
		for _, a := range res.Attempts {
			if a.Outcome == Unanswered {
				t.Errorf("%s %v: unanswered, but no client gave up within the capture (attempts_gave_up_in_capture %d)", file, a.Client, get(s, file, "attempts_gave_up_in_capture"))
			}
		}
		if f := findingOf(res, KindServerSilentDrop); f == nil || f.Severity == Critical {
			t.Errorf("%s: findings %v, want a server_silent_drop below critical (a firewall drops them; few attempts)", file, kinds(res))
		}
	}
}

// TestStaleTimeWait: a SYN that meets a connection the server still holds
// on the same 4-tuple is answered with a bare ACK; the client resets it and
// sends its SYN again after TCP_TIMEOUT_MIN. That costs milliseconds: no
// retransmission delay, no initial RTO, and the finding says how long.
func TestStaleTimeWait(t *testing.T) {
	get := trustFigure(t)
	const s = "stale-timewait"
	for _, file := range []string{"server.pcap", "client-lan.pcap"} {
		res := readCapture(t, filepath.Join(trustDir, s, file))
		f := findingOf(res, KindStaleTimeWait)
		if f == nil || f.AffectedAttempts != get(s, file, "stale_attempts") {
			t.Fatalf("%s: findings %v, want stale_timewait on %d attempts", file, kinds(res), get(s, file, "stale_attempts"))
		}
		gaps := trustRows(t, s, file, "rst_to_resyn_ms_")
		a := res.Attempts[0]
		for _, x := range res.Attempts {
			if len(x.AckAnswers) > 0 {
				a = x
				break
			}
		}
		ms, err := strconv.ParseFloat(gaps[fmt.Sprint(a.Client.Port())], 64)
		if err != nil {
			t.Fatalf("%s: no rst_to_resyn_ms for %v", file, a.Client)
		}
		if want := fmt.Sprintf("sent its SYN again %d ms after that", int(ms)); !hasEvidence(f, want) {
			t.Errorf("%s: evidence lacks %q:\n%s", file, want, strings.Join(f.Evidence, "\n"))
		}
		if findingOf(res, KindSYNRetransmitDelay) != nil {
			t.Errorf("%s: a syn_retransmission_delay finding for re-SYNs that cost milliseconds", file)
		}
		for _, x := range res.Attempts {
			if len(x.AckAnswers) > 0 && (x.ReSYNs != 1 || x.InitialRTO >= 0 || x.Outcome != Established) {
				t.Errorf("%s %v: re-SYNs %d, initial RTO %.3f, outcome %s; want 1, none, established", file, x.Client, x.ReSYNs, x.InitialRTO, x.Outcome)
			}
		}
	}
}
