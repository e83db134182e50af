package flows

import (
	"os"
	"testing"
)

// BenchmarkLargeCapture reads the capture named by $SYNDIAG_LARGE (made by
// testdata/bench/make-large.sh); it skips when the variable is unset.
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
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ReadCapture(f, Config{}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
