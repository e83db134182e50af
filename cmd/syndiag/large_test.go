package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// BenchmarkLargeCapture runs the whole command, JSON report included, on the
// capture named by $SYNDIAG_LARGE (testdata/bench/make-large.sh); it skips
// when the variable is unset.
func BenchmarkLargeCapture(b *testing.B) {
	path := os.Getenv("SYNDIAG_LARGE")
	if path == "" {
		b.Skip("set SYNDIAG_LARGE to a large capture (testdata/bench/make-large.sh)")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if code := run([]string{"--format", "json", path}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
