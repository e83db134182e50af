package expect

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/report"
)

func TestDiff(t *testing.T) {
	finding := func(kind, sev string) report.CaseFinding {
		severity, err := analyze.ParseSeverity(sev)
		if err != nil {
			t.Fatal(err)
		}
		return report.CaseFinding{Kind: analyze.Kind(kind), Severity: severity, Capture: "a.pcap", Summary: kind + " summary"}
	}
	one := func(fs ...report.CaseFinding) []report.CaseSummary {
		return []report.CaseSummary{{Name: "a.pcap", Findings: fs}}
	}
	tests := []struct {
		desc      string
		want, got []report.CaseSummary
		inShard   func(string) bool
		diff      []string
	}{
		{"same", one(finding("refused", "warning")), one(finding("refused", "warning")), nil, nil},
		{"appeared", one(), one(finding("refused", "warning")), nil,
			[]string{"+ a.pcap: refused (warning) appeared: refused summary"}},
		{"disappeared", one(finding("refused", "warning")), one(), nil,
			[]string{"- a.pcap: refused (warning) disappeared; it said: refused summary"}},
		{"severity", one(finding("refused", "warning")), one(finding("refused", "critical")), nil,
			[]string{"~ a.pcap: refused: severity critical, expected warning"}},
		{"count", one(finding("refused", "warning")), one(finding("refused", "warning"), finding("refused", "info")), nil,
			[]string{"~ a.pcap: refused: 2 found (info, warning), expected 1 (warning)"}},
		{"case gone", one(), nil, nil, []string{"- case a.pcap: expected, but not in this run"}},
		{"case gone, other shard", one(finding("refused", "warning")), nil, func(string) bool { return false }, nil},
		{"case new", nil, one(), nil, []string{"+ case a.pcap: new, not in the expectation"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			diff := OfCases(tc.want).Diff(OfCases(tc.got), tc.inShard)
			if !slices.Equal(diff, tc.diff) {
				t.Errorf("diff\n%q\nwant\n%q", diff, tc.diff)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		desc, content string
		triage        bool
		err           string // a substring of the error, or "" for none
	}{
		{"analyze report", `{"schema":"syndiag/v1","captures":[{"path":"a.pcap"}],"findings":[{"kind":"refused","severity":"warning","capture":0}]}`, false, ""},
		{"triage lines", `{"case":"a.pcap","findings":[]}` + "\n", true, ""},
		{"empty", " \n", false, "the file is empty (save one with --format json"},
		{"capture out of range", `{"schema":"syndiag/v1","captures":[],"findings":[{"kind":"x","capture":3}]}`, false, "finding 1 names capture 3, which is not in the report"},
		{"bad field", `{"schema":"syndiag/v1","findings":[{"kind":7}]}`, false, "cannot unmarshal number"},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			path := filepath.Join(dir, strings.Repeat("x", i+1))
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "--expect "+path+": ") {
					t.Fatalf("Load: error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Triage() != tc.triage {
				t.Errorf("Triage() = %v, want %v", f.Triage(), tc.triage)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || err.Error() != "--expect "+filepath.Join(dir, "missing")+": no such file or directory" {
		t.Errorf("Load of a missing file: %v", err)
	}
}
