package analyze_test

import (
	"fmt"
	"os"
	"testing"
)

func TestDumpFindings(t *testing.T) {
	p := os.Getenv("DUMP")
	if p == "" {
		t.Skip()
	}
	res := read(t, p)
	fmt.Println("role:", res.Captures[0].Role, res.Captures[0].RoleReason)
	for _, f := range res.Findings {
		fmt.Printf("[%s %s %.2f] %s\n", f.Kind, f.Severity, f.Confidence, f.Summary)
		for _, e := range f.Evidence {
			fmt.Println("   -", e)
		}
		fmt.Println("   =>", f.Recommendation)
	}
	for _, s := range res.Sources {
		fmt.Printf("src %v att %d failed %d retx %d clocks %d %s\n", s.IP, s.Attempts, s.Failed, s.Retransmitted, s.TimestampClocks, s.Verdict)
	}
}
