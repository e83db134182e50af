package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// committed is the folder the generator's files are committed in.
const committed = ".."

// TestCommittedFilesMatchGenerator regenerates everything into a temporary
// directory through the command line and requires the committed files to be
// byte-identical, so the generator and the captures cannot drift apart.
func TestCommittedFilesMatchGenerator(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	generated := make(map[string]bool)
	for _, e := range entries {
		name := e.Name()
		generated[name] = true
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(committed, name))
			if err != nil {
				t.Fatalf("%v (run ./make.sh in testdata/paws)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("generated %s (%d bytes) differs from the committed file (%d bytes); run ./make.sh in testdata/paws", name, len(got), len(want))
			}
		})
	}
	// A capture left behind by an older generator would have no truth.
	stale, err := filepath.Glob(filepath.Join(committed, "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range stale {
		if !generated[filepath.Base(path)] {
			t.Errorf("%s is not made by the generator; remove it", path)
		}
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	a, err := generate(defaultParams())
	if err != nil {
		t.Fatal(err)
	}
	b := generatedFiles(t)
	if len(a) != len(b) {
		t.Fatalf("got %d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].name != b[i].name || !bytes.Equal(a[i].data, b[i].data) {
			t.Errorf("%s: two runs with one seed differ", a[i].name)
		}
	}
}

var (
	resultsOnce sync.Once
	resultsAll  []*result
	resultsErr  error
	filesOnce   sync.Once
	filesAll    []file
	filesErr    error
)

// defaultResults simulates every scenario once for all the tests.
func defaultResults(t *testing.T) []*result {
	t.Helper()
	resultsOnce.Do(func() {
		for _, sc := range scenarios {
			res, err := simulate(defaultParams(), sc)
			if err != nil {
				resultsErr = err
				return
			}
			resultsAll = append(resultsAll, res)
		}
	})
	if resultsErr != nil {
		t.Fatal(resultsErr)
	}
	return resultsAll
}

func generatedFiles(t *testing.T) []file {
	t.Helper()
	filesOnce.Do(func() { filesAll, filesErr = generate(defaultParams()) })
	if filesErr != nil {
		t.Fatal(filesErr)
	}
	return filesAll
}

// TestScenarioFacts checks what each scenario is for.
func TestScenarioFacts(t *testing.T) {
	tests := []struct {
		scenario string
		// wantDrops: SYNs dropped by per-host PAWS; false means none at all.
		wantDrops bool
	}{
		{"paws-nat", true},
		{"paws-nat-recycle-off", false},
		{"paws-nat-client-closes", false},
		{"paws-single-host", false},
	}
	byName := make(map[string]*result)
	for _, res := range defaultResults(t) {
		byName[res.sc.name] = res
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			res := byName[tt.scenario]
			if res == nil {
				t.Fatal("no such scenario")
			}
			per, total := figures(res)
			if tt.wantDrops {
				if total.Dropped == 0 {
					t.Fatal("got no SYN dropped by PAWS, want some")
				}
				if total.TimedOut == 0 || total.EstablishedAfterDrop == 0 {
					t.Errorf("got %d timed out and %d established after a drop, want both > 0", total.TimedOut, total.EstablishedAfterDrop)
				}
				// The host whose clock is ahead of all others is never dropped;
				// every other host is.
				for _, f := range per {
					ahead := f.Host == natHosts[0].addr().String()
					if ahead && f.Dropped != 0 {
						t.Errorf("%s (clock ahead of all): got %d SYNs dropped, want 0", f.Host, f.Dropped)
					}
					if !ahead && f.Dropped == 0 {
						t.Errorf("%s (clock behind): got no SYN dropped, want some", f.Host)
					}
				}
				return
			}
			if total.Dropped != 0 || total.TimedOut != 0 || total.SYNs != total.Attempts {
				t.Errorf("got %d dropped, %d timed out, %d SYNs for %d attempts; want no drop, no timeout, one SYN per attempt",
					total.Dropped, total.TimedOut, total.SYNs, total.Attempts)
			}
		})
	}
}

// TestNATScenariosShareTraffic: the negative controls only make sense if
// they replay paws-nat's connection starts.
func TestNATScenariosShareTraffic(t *testing.T) {
	starts := func(res *result) string {
		var b strings.Builder
		for _, a := range res.attempts {
			b.WriteString(a.private.String())
			b.WriteByte(' ')
		}
		return b.String()
	}
	all := defaultResults(t)
	want := starts(all[0])
	for _, res := range all[1:] {
		if len(res.sc.hosts) != len(natHosts) {
			continue
		}
		if got := starts(res); got != want {
			t.Errorf("%s: attempts differ from %s", res.sc.name, all[0].sc.name)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		desc string
		args []string
		want int
	}{
		{"retries too high", []string{"-syn-retries", "7"}, 2},
		{"retries zero", []string{"-syn-retries", "0"}, 2},
		{"unknown flag", []string{"-bogus"}, 2},
		{"argument", []string{"extra"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("run(%q) = %d, want %d", tt.args, got, tt.want)
			}
		})
	}
}
