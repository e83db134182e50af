package analyze_test

import (
	"fmt"
	"log"
	"os"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
)

// Analyze takes the handshake attempts package flows read from a capture
// and says what went wrong with them, most severe first.
func ExampleAnalyze() {
	f, err := os.Open("../testdata/lab/mixed-failures.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	in := analyze.Input{Path: f.Name(), Role: analyze.RoleUnknown}
	in.Capture, err = flows.ReadCapture(f, flows.Config{Emit: func(a *flows.Attempt) { in.Attempts = append(in.Attempts, a) }})
	if err != nil {
		log.Fatal(err)
	}
	res := analyze.Analyze([]analyze.Input{in})
	fmt.Printf("%d attempts, taken on the %s side\n", len(res.Attempts), res.Captures[0].Role)
	for _, finding := range res.Findings {
		fmt.Printf("%s %s: %d of them\n", finding.Severity, finding.Kind, finding.AffectedAttempts)
	}
	// Output:
	// 10 attempts, taken on the server side
	// warning icmp_unreachable: 2 of them
	// warning refused: 2 of them
	// warning server_silent_drop: 1 of them
}
