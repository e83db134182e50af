package analyze

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readCapture runs a capture through flows and analyze.
func readCapture(t *testing.T, path string) *Result {
	t.Helper()
	return Analyze([]Input{readInput(t, path)})
}

// TestPerHostPAWS replays the generated per-host PAWS captures (testdata/
// paws, made by a generator that follows Linux 3.10) and checks that the
// model drops exactly the SYNs the generator's kernel dropped, and that the
// negative controls raise no per_host_paws finding.
func TestPerHostPAWS(t *testing.T) {
	dir := filepath.Join("..", "testdata", "paws")
	truth := map[string][]string{} // scenario → "public syn-index" of dropped SYNs
	f, err := os.Open(filepath.Join(dir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	scenarios := map[string]bool{}
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		scenarios[c[0]] = true
		if c[9] == "true" {
			truth[c[0]] = append(truth[c[0]], c[3]+" "+c[5])
		}
	}
	want := map[string]struct {
		finding bool
		summary string
	}{
		"paws-nat":               {true, "per-host PAWS (tcp_tw_recycle) dropped 80 SYNs from 198.18.40.1 (80)"},
		"paws-nat-recycle-off":   {false, ""},
		"paws-nat-client-closes": {false, ""},
		"paws-single-host":       {false, ""},
	}
	for name := range scenarios {
		t.Run(name, func(t *testing.T) {
			res := readCapture(t, filepath.Join(dir, name+".pcap"))
			v := newView(res, 0)
			r := v.perHostPAWS(nil)
			var got []string
			for k := range r.dropped {
				a := v.at(k[0])
				got = append(got, fmt.Sprintf("%s %d", a.Client, k[1]))
			}
			slices.Sort(got)
			w := slices.Clone(truth[name])
			slices.Sort(w)
			// Where the server runs no tcp_tw_recycle, the replay still says
			// what the rule would drop; only paws-nat's kernel applied it.
			if name == "paws-nat" && !slices.Equal(got, w) {
				t.Errorf("the model drops %d SYNs, the generator's kernel %d:\n got %v\nwant %v", len(got), len(w), got, w)
			}
			var found *Finding
			for i := range res.Findings {
				if res.Findings[i].Kind == KindPerHostPAWS {
					found = &res.Findings[i]
				}
			}
			tc := want[name]
			switch {
			case tc.finding && found == nil:
				t.Fatal("no per_host_paws finding")
			case !tc.finding && found != nil:
				t.Fatalf("per_host_paws finding on a negative control: %s", found.Summary)
			case found != nil && !strings.HasPrefix(found.Summary, tc.summary):
				t.Errorf("summary %q, want it to start with %q", found.Summary, tc.summary)
			}
			if found != nil && !strings.Contains(found.Evidence[0], "predicted 80 of 80 dropped SYNs, 0 false drops (precision 1.00, recall 1.00)") {
				t.Errorf("evidence %q", found.Evidence[0])
			}
		})
	}
}
