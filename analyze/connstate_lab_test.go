package analyze_test

import (
	"testing"

	"github.com/syndiag/syndiag/analyze"
)

// TestConnStateCaptures checks the conn_state of the attempts of real
// kernels' captures: their connections that completed were closed by both
// sides, so each outcome has one Zeek state.
func TestConnStateCaptures(t *testing.T) {
	want := map[analyze.Outcome]string{
		analyze.Established:     "SF",
		analyze.Refused:         "REJ",
		analyze.ICMPUnreachable: "S0",
		analyze.Unanswered:      "S0",
		analyze.Incomplete:      "S0",
		analyze.ResetAfterACK:   "RSTR", // tcp_abort_on_overflow=1
		analyze.HalfOpen:        "S1",   // Zeek: established at the SYN-ACK
	}
	for _, path := range []string{
		labDir + "/mixed-failures.pcap",
		labDir + "/icmp6-reject.pcap",
		"../testdata/scenarios/accept-overflow-abort1/server.pcap",
		"../testdata/scenarios/synflood-nocookies/server.pcap",
		"../testdata/scenarios/firewall-drop-mixed/client-lan.pcap",
	} {
		t.Run(path, func(t *testing.T) {
			seen := map[string]int{}
			res := read(t, path)
			for i := range res.Attempts {
				a := &res.Attempts[i]
				got := a.ConnState()
				seen[got]++
				if got != want[a.Outcome] {
					t.Errorf("%s → %s (%s): conn_state %s, want %s", a.Client, a.Server, a.Outcome, got, want[a.Outcome])
				}
			}
			t.Logf("%v", seen)
		})
	}
}
