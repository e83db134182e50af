package expect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/report"
)

// Findings are the findings of a run or of a saved output: which kinds
// were found, at which severity, in which capture of which case.
type Findings struct {
	triage  bool     // from triage (its cases are compared too)
	cases   []string // triage's cases, in the output's order
	found   map[key][]string
	summary map[key]string // the first summary, for the diff
}

// A key is where a finding was made, and its kind. An analyze report has
// no case: caseName is "".
type key struct{ caseName, capture, kind string }

func newFindings() *Findings {
	return &Findings{found: map[key][]string{}, summary: map[key]string{}}
}

func (e *Findings) add(k key, severity, summary string) {
	e.found[k] = append(e.found[k], severity)
	if _, ok := e.summary[k]; !ok {
		e.summary[k] = summary
	}
}

// Triage reports whether the findings are triage's: read from a triage
// output, or taken from triaged cases.
func (e *Findings) Triage() bool { return e.triage }

// OfResult takes the findings of an analysis.
func OfResult(res *analyze.Result) *Findings {
	e := newFindings()
	for _, f := range res.Findings {
		e.add(key{"", res.Captures[f.Capture].Path, string(f.Kind)}, f.Severity.String(), f.Summary)
	}
	return e
}

// OfCases takes the findings of triaged cases.
func OfCases(cases []report.CaseSummary) *Findings {
	e := newFindings()
	e.triage = true
	for _, c := range cases {
		e.cases = append(e.cases, c.Name)
		for _, f := range c.Findings {
			e.add(key{c.Name, f.Capture, string(f.Kind)}, f.Severity.String(), f.Summary)
		}
	}
	return e
}

// Load reads the findings of a saved output: an analyze JSON report, a
// triage JSON document, or triage JSON lines. Its errors start with
// "--expect PATH:".
func Load(path string) (*Findings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the file already
		}
		return nil, fmt.Errorf("--expect %s: %v", path, err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("--expect %s: %s (save one with --format json, or with syndiag triage --format jsonl)", path, fmt.Sprintf(format, a...))
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, bad("the file is empty")
	}
	// An analyze report has its own schema; anything else must be triage
	// output. JSON lines are not one JSON value: nothing is decoded.
	var doc report.JSONReport
	if err := json.Unmarshal(trimmed, &doc); doc.Schema == report.Schema {
		if err != nil {
			return nil, bad("%v", err)
		}
		return ofReport(doc, bad)
	}
	cases, err := report.ReadCases(bytes.NewReader(data))
	if err != nil {
		return nil, bad("%v", err)
	}
	return OfCases(cases), nil
}

// ofReport takes the findings of a saved analyze report.
func ofReport(doc report.JSONReport, bad func(string, ...any) error) (*Findings, error) {
	e := newFindings()
	for i, f := range doc.Findings {
		if f.Capture < 0 || f.Capture >= len(doc.Captures) {
			return nil, bad("finding %d names capture %d, which is not in the report", i+1, f.Capture)
		}
		// Paths are written escaped (report.EscapeName): compare bytes.
		path, err := report.UnescapeName(doc.Captures[f.Capture].Path)
		if err != nil {
			return nil, bad("%v", err)
		}
		e.add(key{"", path, f.Kind}, f.Severity, f.Summary)
	}
	return e, nil
}
