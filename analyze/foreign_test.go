package analyze

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/flows"
)

// TestForeignVerdicts runs every capture of ../shared/captures-foreign (or
// $SYNDIAG_FOREIGN) through analyze and checks what no diagnosis may do on
// captures nobody here made: a critical finding without the evidence for
// one, a finding that contradicts another, or an accept-queue verdict from
// resets an application sent. It skips when the folder is absent.
func TestForeignVerdicts(t *testing.T) {
	n := eachForeign(t, func(name string, res *Result) {
		for _, fd := range res.Findings {
			if fd.Severity == Critical && fd.AffectedAttempts < criticalAttempts {
				t.Errorf("%s: critical %s on %d attempts", name, fd.Kind, fd.AffectedAttempts)
			}
			if fd.Kind == KindSYNRetransmitDelay {
				for _, ev := range fd.Evidence {
					if strings.Contains(ev, "no other finding explains") && len(res.Findings) > 1 {
						for _, other := range res.Findings {
							for _, i := range other.attempts {
								if other.Kind != fd.Kind && !symptom(other.Kind) && contains(fd.attempts, i) {
									t.Errorf("%s: the delay says no finding explains its SYNs, but %s explains %v", name, other.Kind, res.Attempts[i].Client)
								}
							}
						}
					}
				}
			}
		}
		for _, a := range res.Attempts {
			for _, r := range a.Resets {
				if a.Outcome == ResetAfterACK && r.FromServer && r.Flags&flows.ACK != 0 && r.Seq == a.SYNACKs[0].Seq+1 {
					t.Errorf("%s %v: a RST|ACK taken for an accept-queue abort", name, a.Client)
				}
			}
		}
	})
	if n < 200 {
		t.Errorf("only %d foreign captures analyzed", n)
	}
}

// eachForeign runs every capture of ../shared/captures-foreign (or
// $SYNDIAG_FOREIGN) through analyze and hands each Result to check; it
// returns how many it analyzed, and skips the test when the folder is
// absent.
func eachForeign(t *testing.T, check func(name string, res *Result)) int {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "captures-foreign")
	named := false
	if d := os.Getenv("SYNDIAG_FOREIGN"); d != "" {
		dir, named = d, true
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) && !named {
		t.Skipf("no foreign captures at %s (set SYNDIAG_FOREIGN)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".tsv") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		in, _ := ReadCapture(name, f, flows.Config{})
		f.Close()
		if in == nil {
			continue
		}
		check(name, Analyze([]Input{*in}))
		n++
	}
	return n
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
