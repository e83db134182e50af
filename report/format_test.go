package report

import (
	"bytes"
	"testing"

	"github.com/syndiag/syndiag/analyze"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		desc    string
		s       string
		choices []Format
		want    Format
		err     string
	}{
		{"table", "table", ReportFormats, FormatTable, ""},
		{"markdown", "markdown", ReportFormats, FormatMarkdown, ""},
		{"jsonl for triage", "jsonl", TriageFormats, FormatJSONL, ""},
		{"jsonl for a report", "jsonl", ReportFormats, "", `unknown --format "jsonl": use table, json, markdown or html`},
		{"markdown for triage", "markdown", TriageFormats, "", `unknown --format "markdown": use table, jsonl, json or html`},
		{"case matters", "JSON", ReportFormats, "", `unknown --format "JSON": use table, json, markdown or html`},
		{"empty", "", TriageFormats, "", `unknown --format "": use table, jsonl, json or html`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseFormat(tc.s, tc.choices)
			if got != tc.want {
				t.Errorf("ParseFormat(%q) = %q, want %q", tc.s, got, tc.want)
			}
			if msg := errString(err); msg != tc.err {
				t.Errorf("ParseFormat(%q) error %q, want %q", tc.s, msg, tc.err)
			}
		})
	}
}

// TestFormatWrite checks that each format writes what its function does.
func TestFormatWrite(t *testing.T) {
	res := analyze.Analyze([]analyze.Input{readInput(t, "../testdata/lab/closed-port.pcap", analyze.RoleUnknown)})
	opt := Options{Top: 5}
	direct := map[Format]func(*bytes.Buffer) error{
		FormatTable:    func(b *bytes.Buffer) error { return Text(b, res, opt) },
		FormatJSON:     func(b *bytes.Buffer) error { return JSON(b, res) },
		FormatMarkdown: func(b *bytes.Buffer) error { return Markdown(b, res, opt) },
		FormatHTML:     func(b *bytes.Buffer) error { return HTML(b, res, opt) },
	}
	for _, f := range ReportFormats {
		t.Run(string(f), func(t *testing.T) {
			var got, want bytes.Buffer
			if err := f.Write(&got, res, opt); err != nil {
				t.Fatal(err)
			}
			if err := direct[f](&want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("Format(%q).Write differs from its function", f)
			}
		})
	}
	if err := FormatJSONL.Write(&bytes.Buffer{}, res, opt); err == nil {
		t.Error("jsonl wrote a report of one analysis")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
