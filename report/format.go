package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze"
)

// Format is an output format, as --format names it.
type Format string

// The formats. Not every format is written for every output: see
// ReportFormats and TriageFormats.
const (
	FormatTable    Format = "table"    // the terminal report (Text, TriageText)
	FormatJSON     Format = "json"     // one syndiag/v1 document (JSON, TriageJSON)
	FormatJSONL    Format = "jsonl"    // a line per triage case (CaseJSONL)
	FormatMarkdown Format = "markdown" // Markdown
	FormatHTML     Format = "html"     // one self-contained page (HTML, TriageHTML)
)

// ReportFormats are the formats of the report of one analysis (Write), in
// the order --help lists them.
var ReportFormats = []Format{FormatTable, FormatJSON, FormatMarkdown, FormatHTML}

// TriageFormats are the formats of a triage summary (WriteTriage), in the
// order --help lists them.
var TriageFormats = []Format{FormatTable, FormatJSONL, FormatJSON, FormatHTML}

// ParseFormat reads --format: s must be one of choices (ReportFormats or
// TriageFormats). The error lists the choices.
func ParseFormat(s string, choices []Format) (Format, error) {
	if f := Format(s); slices.Contains(choices, f) {
		return f, nil
	}
	names := make([]string, len(choices))
	for i, f := range choices {
		names[i] = string(f)
	}
	list := names[0]
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return "", fmt.Errorf("unknown --format %q: use %s", s, list)
}

// Write writes the report of res in format f, one of ReportFormats.
func (f Format) Write(w io.Writer, res *analyze.Result, opt Options) error {
	switch f {
	case FormatTable:
		return Text(w, res, opt)
	case FormatJSON:
		return JSON(w, res)
	case FormatMarkdown:
		return Markdown(w, res, opt)
	case FormatHTML:
		return HTML(w, res, opt)
	}
	return fmt.Errorf("report: no report in format %q", f)
}

// WriteTriage writes the triage summary t in format f, one of
// TriageFormats. The table and the HTML page rank t.Cases first, in place
// (RankCases); JSON and JSON lines keep their order.
func (f Format) WriteTriage(w io.Writer, t Triage, opt Options) error {
	switch f {
	case FormatTable:
		RankCases(t.Cases)
		return TriageText(w, t, opt)
	case FormatJSONL:
		for _, c := range t.Cases {
			if err := CaseJSONL(w, c); err != nil {
				return err
			}
		}
		return nil
	case FormatJSON:
		return TriageJSON(w, t)
	case FormatHTML:
		RankCases(t.Cases)
		return TriageHTML(w, t)
	}
	return fmt.Errorf("report: no triage summary in format %q", f)
}
