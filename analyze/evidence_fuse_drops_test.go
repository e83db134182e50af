package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/flows/evidence"
)

// fuseTrace analyzes a trust scenario's server capture with one trace as
// the only evidence, and returns the result and the result without it.
func fuseTrace(t *testing.T, scenario, trace string) (with, without *Result) {
	t.Helper()
	in := readInput(t, filepath.Join(trustDir, scenario, "server.pcap"))
	in.Role = RoleServer
	ev := evidence.NewHost()
	if err := ev.Add("trace.txt", strings.NewReader(trace)); err != nil {
		t.Fatal(err)
	}
	return AnalyzeWithEvidence([]Input{in}, ev), Analyze([]Input{in})
}

func readTrace(t *testing.T, scenario string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(trustDir, scenario, "evidence", "trace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDropReasonFusion: the real traces name the cause of the trust
// scenarios' findings, with the figures of truth.tsv.
func TestDropReasonFusion(t *testing.T) {
	get := trustFigure(t)
	tests := []struct {
		scenario string
		kind     Kind
		want     string
		raised   bool // the confidence goes up
	}{
		{"capture-stopped", KindServerSilentDrop, fmt.Sprintf("show %d NETFILTER_DROP drops at nft_do_chain while the capture ran, and the capture shows %d SYN transmissions without an answer", get("capture-stopped", "server.pcap", "dropreason_NETFILTER_DROP_until_stop"), get("capture-stopped", "server.pcap", "dropreason_NETFILTER_DROP_until_stop")) + " (5 in these attempts): exactly as many — a netfilter rule dropped them", true},
		{"app-retry", KindRefused, fmt.Sprintf("show %d NO_SOCKET drops at tcp_v4_rcv while the capture ran: exactly as many as the refused attempts (%d)", get("app-retry", "evidence/trace", "dropreason_NO_SOCKET"), get("app-retry", "evidence/trace", "dropreason_NO_SOCKET")), false},
		{"stale-timewait", KindStaleTimeWait, fmt.Sprintf("show %d TCP_INVALID_SYN drops at tcp_validate_incoming while the capture ran, for %d attempts answered by a bare ACK: these SYNs met a connection the server still held as ESTABLISHED", get("stale-timewait", "evidence/trace", "dropreason_TCP_INVALID_SYN"), get("stale-timewait", "server.pcap", "stale_attempts")), true},
		{"accept-full-nat", KindAcceptQueueOverflow, "show no TCP_LISTEN_OVERFLOW while the capture ran; a SYN dropped because the listen queue is full is freed with consume_skb and carries no reason on this kernel, so the trace's silence about these SYNs proves nothing", false},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			with, without := fuseTrace(t, tc.scenario, readTrace(t, tc.scenario))
			f, b := findingOf(with, tc.kind), findingOf(without, tc.kind)
			if f == nil || b == nil {
				t.Fatalf("findings %v, want %s", kinds(with), tc.kind)
			}
			if !hasEvidence(f, tc.want) {
				t.Errorf("evidence lacks %q:\n%s", tc.want, strings.Join(f.Evidence, "\n"))
			}
			if tc.raised && f.Confidence <= b.Confidence || !tc.raised && f.Confidence != b.Confidence {
				t.Errorf("confidence %.2f, %.2f without the trace; raised %v", f.Confidence, b.Confidence, tc.raised)
			}
			if f := findingOf(with, KindRefused); tc.scenario == "app-retry" && len(f.attempts) != get(tc.scenario, "evidence/trace", "trace_tcp_send_reset") {
				t.Errorf("%d refused attempts; want %d, the RSTs the kernel sent", len(f.attempts), get(tc.scenario, "evidence/trace", "trace_tcp_send_reset"))
			}
		})
	}
}

// TestDropReasonClocks: a trace whose clock counts seconds since boot gives
// only totals; a trace from another time is said not to cover the capture
// and is not used.
func TestDropReasonClocks(t *testing.T) {
	get := trustFigure(t)
	const s = "capture-stopped"
	// Seconds since boot: the marker gone, 1796400000 s taken off.
	sinceBoot := regexp.MustCompile(` 179640([0-9]{4}\.[0-9]+): `).ReplaceAllString(readTrace(t, s), " $1: ")
	sinceBoot = regexp.MustCompile(`(?m)^.*tracing_mark_write.*\n`).ReplaceAllString(sinceBoot, "")
	with, without := fuseTrace(t, s, sinceBoot)
	f, b := findingOf(with, KindServerSilentDrop), findingOf(without, KindServerSilentDrop)
	want := fmt.Sprintf("show %d NETFILTER_DROP drops at nft_do_chain over the whole trace (its clock is not tied to the capture's)", get(s, "evidence/trace", "dropreason_NETFILTER_DROP"))
	if !hasEvidence(f, want) || f.Confidence <= b.Confidence {
		t.Errorf("confidence %.2f (%.2f without); evidence lacks %q:\n%s", f.Confidence, b.Confidence, want, strings.Join(f.Evidence, "\n"))
	}
	if notes := strings.Join(with.Evidence.Notes(), "\n"); !strings.Contains(notes, "the trace cannot be tied to the capture: only its totals (32 drops) are used") {
		t.Errorf("notes: %s", notes)
	}

	// Another time: app-retry's trace ended before capture-stopped began.
	with, without = fuseTrace(t, s, readTrace(t, "app-retry"))
	f, b = findingOf(with, KindServerSilentDrop), findingOf(without, KindServerSilentDrop)
	if f.Confidence != b.Confidence || len(f.Evidence) != len(b.Evidence) {
		t.Errorf("a trace of another time moved the finding: %.2f (%.2f without):\n%s", f.Confidence, b.Confidence, strings.Join(f.Evidence, "\n"))
	}
	if notes := strings.Join(with.Evidence.Notes(), "\n"); !strings.Contains(notes, "does not cover the capture") {
		t.Errorf("notes: %s", notes)
	}
}
