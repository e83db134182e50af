package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgressBar draws a bar: the description, the bytes done of the
// total and the percentage show (later steps are throttled to 10 a
// second), and it is cleared at the end.
func TestProgressBar(t *testing.T) {
	saved := progressDelay
	defer func() { progressDelay = saved }()
	progressDelay = 0
	var b bytes.Buffer
	p := newProgress(&b, 4000, "cases 0/2")
	p.add(1000)
	p.describe("cases 1/2")
	p.add(1000)
	for _, want := range []string{"cases 0/2", "25%", "1.0/4.0 kB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("bar lacks %q: %q", want, b.String())
		}
	}
	p.done()
	if !strings.HasSuffix(b.String(), "\x1b[2K\r") {
		t.Errorf("bar not cleared at the end: %q", b.String())
	}
}

// TestProgressWiring checks when runs draw a bar: with --progress always,
// and never on a stderr that is not a terminal, or with --progress never.
func TestProgressWiring(t *testing.T) {
	// A bar shows between reads; the capture must take several (1 MiB
	// each): the records of a small one, repeated.
	small, err := os.ReadFile(lab + "mixed-failures.pcap")
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Clone(small)
	for len(big) < 3<<20 {
		big = append(big, small[24:]...)
	}
	file := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(file, big, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		bar  bool
	}{
		{"triage, always", []string{"triage", "--progress", "always", "--format", "jsonl", file}, true},
		{"analyze, always", []string{"--progress", "always", "--format", "json", file}, true},
		{"analyze, not a terminal", []string{"--format", "json", file}, false},
		{"triage, not a terminal", []string{"triage", "--format", "jsonl", file}, false},
		{"triage, never", []string{"triage", "--progress", "never", "--format", "table", file}, false},
	}
	saved := progressDelay
	defer func() { progressDelay = saved }()
	progressDelay = 0
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, _, stderr := runCmd(t, tc.args...)
			if got := strings.Contains(stderr, "% |"); got != tc.bar {
				t.Errorf("bar drawn: %v, want %v: %q", got, tc.bar, stderr)
			}
		})
	}
}
