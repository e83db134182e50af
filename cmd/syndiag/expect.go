package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/report"
)

// expectation is the findings of a saved output, for --expect: which kinds
// were found, at which severity, in which capture of which case. Evidence
// and wording are not compared; they may improve without the diagnosis
// changing.
type expectation struct {
	triage   bool // read from a triage output (jsonl or json)
	cases    []string
	findings map[findingKey][]string // severities, sorted
	summary  map[findingKey]string   // the first summary, for the diff
}

type findingKey struct {
	caseName, capture string
	kind              analyze.Kind
}

func newExpectation() *expectation {
	return &expectation{findings: map[findingKey][]string{}, summary: map[findingKey]string{}}
}

func (e *expectation) add(k findingKey, severity, summary string) {
	e.findings[k] = append(e.findings[k], severity)
	if _, ok := e.summary[k]; !ok {
		e.summary[k] = summary
	}
}

// expectationOf takes the findings of an analysis.
func expectationOf(caseName string, res *analyze.Result) *expectation {
	e := newExpectation()
	for _, f := range res.Findings {
		e.add(findingKey{caseName, res.Captures[f.Capture].Path, f.Kind}, f.Severity.String(), f.Summary)
	}
	return e
}

// expectationOfCases takes the findings of triaged cases.
func expectationOfCases(cases []report.CaseSummary) *expectation {
	e := newExpectation()
	e.triage = true
	for _, c := range cases {
		e.cases = append(e.cases, c.Name)
		for _, f := range c.Findings {
			e.add(findingKey{c.Name, f.Capture, f.Kind}, f.Severity.String(), f.Summary)
		}
	}
	return e
}

// loadExpectation reads a saved output: an analyze JSON report, a triage
// JSON document, or triage JSON lines.
func loadExpectation(path string) (*expectation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--expect %s: %v", path, unwrapPath(err))
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("--expect %s: %s (save one with --format json, or with syndiag triage --format jsonl)", path, fmt.Sprintf(format, a...))
	}
	var head struct {
		Schema string `json:"schema"`
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, bad("the file is empty")
	}
	// An analyze report has its own schema; anything else must be triage
	// output.
	if json.Unmarshal(trimmed, &head) == nil && head.Schema == report.Schema {
		return loadReport(trimmed, bad)
	}
	cases, err := report.ReadCases(bytes.NewReader(data))
	if err != nil {
		return nil, bad("%v", err)
	}
	return expectationOfCases(cases), nil
}

func loadReport(data []byte, bad func(string, ...any) error) (*expectation, error) {
	var doc struct {
		Captures []struct {
			Path string `json:"path"`
		} `json:"captures"`
		Findings []struct {
			Kind     analyze.Kind `json:"kind"`
			Severity string       `json:"severity"`
			Capture  int          `json:"capture"`
			Summary  string       `json:"summary"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, bad("%v", err)
	}
	e := newExpectation()
	for i, f := range doc.Findings {
		if f.Capture < 0 || f.Capture >= len(doc.Captures) {
			return nil, bad("finding %d names capture %d, which is not in the report", i+1, f.Capture)
		}
		// Paths are written escaped (report.EscapeName): compare bytes.
		path, err := report.UnescapeName(doc.Captures[f.Capture].Path)
		if err != nil {
			return nil, bad("%v", err)
		}
		e.add(findingKey{"", path, f.Kind}, f.Severity, f.Summary)
	}
	return e, nil
}

// compare lists how got differs from the expectation, a line each: "+" a
// finding that appeared, "-" one that disappeared, "~" one whose severity
// changed. inShard, when not nil, limits the expected cases to those this
// run analyzed.
func (e *expectation) compare(got *expectation, inShard func(string) bool) []string {
	var diff []string
	where := func(k findingKey) string {
		if k.caseName == "" || k.caseName == k.capture {
			return k.capture
		}
		return k.caseName + ": " + k.capture
	}
	if e.triage {
		have := map[string]bool{}
		for _, c := range got.cases {
			have[c] = true
		}
		want := map[string]bool{}
		for _, c := range e.cases {
			want[c] = true
			if !have[c] && (inShard == nil || inShard(c)) {
				diff = append(diff, fmt.Sprintf("- case %s: expected, but not in this run", c))
			}
		}
		for _, c := range got.cases {
			if !want[c] {
				diff = append(diff, fmt.Sprintf("+ case %s: new, not in the expectation", c))
			}
		}
	}
	keys := map[findingKey]bool{}
	for k := range e.findings {
		if inShard == nil || !e.triage || inShard(k.caseName) {
			keys[k] = true
		}
	}
	for k := range got.findings {
		keys[k] = true
	}
	sorted := make([]findingKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b findingKey) int {
		return cmp.Or(strings.Compare(a.caseName, b.caseName), strings.Compare(a.capture, b.capture), cmp.Compare(a.kind, b.kind))
	})
	for _, k := range sorted {
		want, have := slices.Sorted(slices.Values(e.findings[k])), slices.Sorted(slices.Values(got.findings[k]))
		switch {
		case slices.Equal(want, have):
		case len(want) == 0:
			diff = append(diff, fmt.Sprintf("+ %s: %s (%s) appeared: %s", where(k), k.kind, strings.Join(have, ", "), got.summary[k]))
		case len(have) == 0:
			diff = append(diff, fmt.Sprintf("- %s: %s (%s) disappeared; it said: %s", where(k), k.kind, strings.Join(want, ", "), e.summary[k]))
		case len(want) == len(have):
			diff = append(diff, fmt.Sprintf("~ %s: %s: severity %s, expected %s", where(k), k.kind, strings.Join(have, ", "), strings.Join(want, ", ")))
		default:
			diff = append(diff, fmt.Sprintf("~ %s: %s: %d found (%s), expected %d (%s)", where(k), k.kind, len(have), strings.Join(have, ", "), len(want), strings.Join(want, ", ")))
		}
	}
	return diff
}
