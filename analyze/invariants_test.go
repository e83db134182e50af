package analyze

import (
	"path/filepath"
	"testing"
)

// TestFindingAttempts checks, on every test capture, that a finding lists
// each attempt it explains once: its count can never exceed the attempts
// of its capture (a per-host PAWS finding once counted an attempt per
// dropped SYN whenever the SYNs of several attempts interleaved).
func TestFindingAttempts(t *testing.T) {
	var files []string
	for _, pat := range []string{"lab/*.pcap", "paws/*.pcap", "scenarios/*/*.pcap", "join/*.pcap"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no test captures")
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			res := readCapture(t, file)
			for _, f := range res.Findings {
				seen := map[int]bool{}
				for _, i := range f.attempts {
					if seen[i] {
						t.Errorf("%s lists attempt %d twice", f.Kind, i)
					}
					seen[i] = true
				}
				if f.AffectedAttempts > len(res.Attempts) {
					t.Errorf("%s affects %d attempts of %d", f.Kind, f.AffectedAttempts, len(res.Attempts))
				}
			}
		})
	}
}
