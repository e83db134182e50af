package analyze

import (
	"encoding/json"
	"testing"
)

// TestSeverityNames checks that a severity's name reads back to it, in
// JSON too, and that the order of severities is their rank.
func TestSeverityNames(t *testing.T) {
	for _, s := range []Severity{NoSeverity, Info, Warning, Critical} {
		t.Run(s.String(), func(t *testing.T) {
			got, err := ParseSeverity(s.String())
			if err != nil || got != s {
				t.Errorf("ParseSeverity(%q) = %v, %v; want %v", s.String(), got, err, s)
			}
			b, err := json.Marshal(s)
			if err != nil || string(b) != `"`+s.String()+`"` {
				t.Errorf("JSON %s, %v; want %q", b, err, s.String())
			}
			var back Severity
			if err := json.Unmarshal(b, &back); err != nil || back != s {
				t.Errorf("JSON %s reads back as %v, %v", b, back, err)
			}
		})
	}
	if !(NoSeverity < Info && Info < Warning && Warning < Critical) {
		t.Error("severities are not in rank order")
	}
	if _, err := ParseSeverity("fatal"); err == nil {
		t.Error(`ParseSeverity("fatal"): no error`)
	}
}
