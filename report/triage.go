package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// CaseSummary is what triage keeps of one case (a capture, or a client and
// a server capture analyzed together) once its analysis is done: enough to
// rank it, print a row or a JSON line, and link to its own report, and small,
// so that triage's memory does not grow with the attempts of its cases.
type CaseSummary struct {
	// Name identifies the case: the capture's path, or the folder's for a
	// pair, as the files were given (slash-separated).
	Name  string
	Files []CaseFile
	// Joined is true when a client and a server capture were joined;
	// NotJoined says why two captures of a case were not.
	Joined    bool
	NotJoined string
	Findings  []CaseFinding // ranked, most severe first
	// Attempts counts handshake attempts; Failed those that never
	// completed; Retransmitted those that needed a SYN retransmission.
	Attempts, Failed, Retransmitted int
	// Evidence lists the files read as the server's host evidence.
	Evidence []string
	// Errors holds the problems met reading the case's files, each naming
	// the file.
	Errors []string
	// Warnings holds what made the figures of a capture incomplete though
	// it was read to its end (packets of a link type not decoded, the
	// --max-open cap), each naming the file.
	Warnings []string
	// Internal is the internal error (a panic) that stopped the case's
	// analysis, naming the file, or "": a bug in syndiag, not in the input.
	Internal string
	// Report is the case's own report file, relative to the triage index,
	// or "" when none was written.
	Report string
}

// CaseFile is one capture of a case.
type CaseFile struct {
	Path    string
	Role    string // client, server or unknown
	Format  string // "" when the file could not be read at all
	Packets int64
	Bytes   int64 // the file's size
	Error   string
	// Evicted counts handshakes closed early by the --max-open cap.
	Evicted int64
}

// CaseFinding is a finding as triage shows it: without its evidence.
type CaseFinding struct {
	Kind             analyze.Kind
	Severity         analyze.Severity
	Confidence       float64
	Capture          string // the path of the capture it is about
	Summary          string
	AffectedAttempts int
}

// Summarize keeps of an analysis what triage shows: the captures, the
// findings without their evidence, and the handshake counts. An attempt
// seen in both captures of a join counts once, as its client saw it.
func Summarize(res *analyze.Result) CaseSummary {
	var c CaseSummary
	for _, cp := range res.Captures {
		f := CaseFile{Path: cp.Path, Role: string(cp.Role), Format: cp.Format, Packets: cp.Packets, Evicted: cp.Tracker.Evicted}
		if cp.Err != nil {
			f.Error = "stopped early: " + cp.Err.Error()
		}
		c.Files = append(c.Files, f)
		for _, w := range cp.LeftOut() {
			c.Warnings = append(c.Warnings, cp.Path+": "+w)
		}
	}
	c.Joined = res.Joined()
	if j := res.Join; j != nil && !c.Joined {
		c.NotJoined = j.Problem
		if j.Outcome == analyze.JoinSideUnknown {
			// How triage is told the sides: by the files' names.
			c.NotJoined += " (name them client… and server…)"
		}
	}
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if !countedOnce(res, a) {
			continue
		}
		c.Attempts++
		if a.Outcome.Failed() {
			c.Failed++
		}
		if a.Retransmissions() > 0 {
			c.Retransmitted++
		}
	}
	for _, f := range res.Findings {
		c.Findings = append(c.Findings, CaseFinding{
			Kind:             f.Kind,
			Severity:         f.Severity,
			Confidence:       f.Confidence,
			Capture:          res.Captures[f.Capture].Path,
			Summary:          f.Summary,
			AffectedAttempts: f.AffectedAttempts,
		})
	}
	return c
}

// Worst is the most severe finding's severity, or analyze.NoSeverity when
// the case has none.
func (c *CaseSummary) Worst() analyze.Severity {
	worst := analyze.NoSeverity
	for _, f := range c.Findings {
		worst = max(worst, f.Severity)
	}
	return worst
}

// countedOnce reports whether a is counted where a handshake seen in both
// captures of a join is counted once, as its client saw it.
func countedOnce(res *analyze.Result, a *analyze.Attempt) bool {
	return a.Peer < 0 || res.Captures[a.Capture].Role == analyze.RoleClient
}

// Unreadable reports whether no capture of the case could be read at all.
// A case stopped by an internal error is not: see Internal.
func (c *CaseSummary) Unreadable() bool {
	if c.Internal != "" {
		return false
	}
	for _, f := range c.Files {
		if f.Format != "" {
			return false
		}
	}
	return true
}

// RankCases orders cases as the triage table shows them: the most severe
// finding first, then the most failed handshakes, then by name.
func RankCases(cs []CaseSummary) {
	slices.SortStableFunc(cs, func(a, b CaseSummary) int {
		return cmp.Or(
			cmp.Compare(b.Worst(), a.Worst()),
			cmp.Compare(b.Failed, a.Failed),
			strings.Compare(a.Name, b.Name),
		)
	})
}

// TriageSchema names the layout of triage's JSON and JSON lines.
const TriageSchema = "syndiag/triage/v1"

type caseJSON struct {
	Case          string           `json:"case"`
	Worst         analyze.Severity `json:"worst"`
	Attempts      int              `json:"attempts"`
	Failed        int              `json:"failed"`
	Retransmitted int              `json:"retransmitted"`
	Joined        bool             `json:"joined"`
	NotJoined     string           `json:"not_joined,omitempty"`
	Findings      []findingLine    `json:"findings"`
	Files         []fileLine       `json:"files"`
	Evidence      []string         `json:"evidence"`
	Errors        []string         `json:"errors"`
	Warnings      []string         `json:"warnings"`
	InternalError string           `json:"internal_error,omitempty"`
	Report        string           `json:"report,omitempty"`
}

type findingLine struct {
	Kind             analyze.Kind     `json:"kind"`
	Severity         analyze.Severity `json:"severity"`
	Confidence       float64          `json:"confidence"`
	Capture          string           `json:"capture"`
	Summary          string           `json:"summary"`
	AffectedAttempts int              `json:"affected_attempts"`
}

type fileLine struct {
	Path    string `json:"path"`
	Role    string `json:"role"`
	Format  string `json:"format"`
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
	Error   string `json:"error,omitempty"`
	Evicted int64  `json:"evicted"`
}

// caseLine is a case as its JSON line holds it. Names, and the messages
// that hold them, are written with EscapeName, so that ReadCases gives back
// their bytes.
func caseLine(c CaseSummary) caseJSON {
	j := caseJSON{
		Case: EscapeName(c.Name), Worst: c.Worst(),
		Attempts: c.Attempts, Failed: c.Failed, Retransmitted: c.Retransmitted,
		Joined: c.Joined, NotJoined: EscapeName(c.NotJoined),
		Findings: []findingLine{}, Files: []fileLine{},
		Evidence: escapeAll(c.Evidence), Errors: escapeAll(c.Errors), Warnings: escapeAll(c.Warnings),
		InternalError: EscapeName(c.Internal),
		Report:        c.Report,
	}
	for _, f := range c.Findings {
		f.Capture = EscapeName(f.Capture)
		j.Findings = append(j.Findings, findingLine(f))
	}
	for _, f := range c.Files {
		f.Path, f.Error = EscapeName(f.Path), EscapeName(f.Error)
		j.Files = append(j.Files, fileLine(f))
	}
	return j
}

// escapeAll escapes names, or messages that hold them, for JSON: never
// null.
func escapeAll(s []string) []string { return mapAll(s, EscapeName) }

// unescapeAll reverses escapeAll.
func unescapeAll(s []string) ([]string, error) {
	if s == nil {
		return nil, nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		var err error
		if out[i], err = UnescapeName(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CaseJSONL writes a case as one line of JSON. The "case" key comes first,
// so that the lines of several shards, concatenated and sorted, are in the
// order one run would have written them.
func CaseJSONL(w io.Writer, c CaseSummary) error {
	b, err := json.Marshal(caseLine(c))
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Triage is a whole triage run, for the table and the JSON document.
type Triage struct {
	Cases []CaseSummary // in the order to show
	// Skipped lists the files that are not captures.
	Skipped []string
	// Special lists the paths in the folders walked that are not regular
	// files, and so were not opened (a FIFO would block the run).
	Special []SpecialFile
	// Interrupted counts the cases not analyzed because the run was
	// stopped.
	Interrupted int
	// Shard is "i/n" when the run analyzed one shard of the cases.
	Shard string
}

// SpecialFile is a path found in a folder that is not a regular file: a
// FIFO, a socket, a device, a link that leads nowhere or into a loop.
type SpecialFile struct {
	Path string
	Kind string // "FIFO", "socket", "device", "dangling link", "link loop", …
}

// TriageJSON writes a triage run as one JSON document.
func TriageJSON(w io.Writer, t Triage) error {
	type special struct {
		Path string `json:"path"`
		Kind string `json:"kind"`
	}
	doc := struct {
		Schema      string     `json:"schema"`
		Shard       string     `json:"shard,omitempty"`
		Cases       []caseJSON `json:"cases"`
		Skipped     []string   `json:"skipped"`
		NotRegular  []special  `json:"not_regular"`
		Interrupted int        `json:"interrupted"`
	}{Schema: TriageSchema, Shard: t.Shard, Cases: []caseJSON{}, Skipped: escapeAll(t.Skipped), NotRegular: []special{}, Interrupted: t.Interrupted}
	for _, f := range t.Special {
		doc.NotRegular = append(doc.NotRegular, special{EscapeName(f.Path), f.Kind})
	}
	for _, c := range t.Cases {
		doc.Cases = append(doc.Cases, caseLine(c))
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// TriageText writes the triage summary for the terminal: one row a case,
// ranked, then the files that could not be read and those skipped.
func TriageText(w io.Writer, t Triage, opt Options) error {
	p := &page{wide: opt.Wide}
	root := commonDir(t.Cases)
	var rows [][]string
	var bad, crashed []string
	counts := map[analyze.Severity]int{}
	for _, c := range t.Cases {
		if c.Internal != "" {
			crashed = append(crashed, c.Internal)
			continue
		}
		if c.Unreadable() {
			bad = append(bad, c.Errors...)
			continue
		}
		counts[c.Worst()]++
		top := "none"
		if len(c.Findings) > 0 {
			f := c.Findings[0]
			top = fmt.Sprintf("%s %.0f%%", f.Kind, 100*f.Confidence)
			if n := len(c.Findings) - 1; n > 0 {
				top += fmt.Sprintf(" (+%d)", n)
			}
		}
		name := p.cut(DisplayName(strings.TrimPrefix(c.Name, root)), 34)
		if len(c.Errors) > 0 {
			name += " !"
		}
		if len(c.Warnings) > 0 {
			name += " *"
		}
		severity := strings.ToUpper(c.Worst().String())
		if c.Worst() == analyze.NoSeverity {
			severity = "OK"
		}
		rows = append(rows, []string{
			severity, name,
			strconv.Itoa(c.Attempts), strconv.Itoa(c.Failed), top,
		})
	}
	head := fmt.Sprintf("Triage: %s", wording.Plural(len(t.Cases), "case"))
	if root != "" {
		head = fmt.Sprintf("Triage of %s: %s", DisplayName(root), wording.Plural(len(t.Cases), "case"))
	}
	if t.Shard != "" {
		head += ", shard " + t.Shard
	}
	var parts []string
	for _, s := range []struct {
		key   analyze.Severity
		label string
	}{
		{analyze.Critical, "critical"}, {analyze.Warning, "warning"}, {analyze.Info, "info"}, {analyze.NoSeverity, "without findings"},
	} {
		if counts[s.key] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s.key], s.label))
		}
	}
	if len(bad) > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable", len(t.Cases)-len(rows)-len(crashed)))
	}
	if len(crashed) > 0 {
		parts = append(parts, wording.Plural(len(crashed), "internal error"))
	}
	if len(parts) > 0 {
		head += " (" + strings.Join(parts, ", ") + ")"
	}
	p.heading(head)
	p.gap()
	if len(rows) > 0 {
		p.table([]string{"SEVERITY", "CASE", "HANDSHAKES", "FAILED", "TOP FINDING"}, rows, 2, 3)
		p.gap()
	}
	var errs, cut []string
	for _, c := range t.Cases {
		if c.Internal == "" && !c.Unreadable() {
			errs = append(errs, c.Errors...)
			cut = append(cut, c.Warnings...)
		}
	}
	if len(errs) > 0 {
		p.text(0, "! read only in part (everything before the problem was analyzed):")
		p.bullets(2, displayAll(errs))
		p.gap()
	}
	if len(cut) > 0 {
		p.text(0, "* read to the end, but not all of it is in the figures:")
		p.bullets(2, displayAll(cut))
		p.gap()
	}
	var apart []string
	for _, c := range t.Cases {
		if c.NotJoined != "" {
			apart = append(apart, DisplayName(strings.TrimPrefix(c.Name, root)+": "+c.NotJoined))
		}
	}
	if len(apart) > 0 {
		p.text(0, "Pairs not joined:")
		p.bullets(2, apart)
		p.gap()
	}
	if len(bad) > 0 {
		p.text(0, "Could not be read:")
		p.bullets(2, displayAll(bad))
		p.gap()
	}
	if len(crashed) > 0 {
		p.text(0, "Internal errors (a bug in syndiag, not in the file: please report it with the file; the other cases are complete):")
		p.bullets(2, displayAll(crashed))
		p.gap()
	}
	if n := len(t.Skipped); n > 0 {
		show := displayAll(t.Skipped[:min(n, 5)])
		more := ""
		if n > len(show) {
			more = fmt.Sprintf(", and %d more", n-len(show))
		}
		p.text(0, fmt.Sprintf("Skipped %s that are not captures: %s%s.", wording.Plural(n, "file"), strings.Join(show, ", "), more))
	}
	if n := len(t.Special); n > 0 {
		var show []string
		for _, f := range t.Special[:min(n, 5)] {
			show = append(show, fmt.Sprintf("%s (%s)", DisplayName(f.Path), f.Kind))
		}
		more := ""
		if n > len(show) {
			more = fmt.Sprintf(", and %d more", n-len(show))
		}
		p.text(0, fmt.Sprintf("Left out, not regular files (never opened): %s%s.", strings.Join(show, ", "), more))
	}
	if t.Interrupted > 0 {
		p.text(0, fmt.Sprintf("Interrupted: %s not analyzed.", wording.Plural(t.Interrupted, "case")))
	}
	return textPage(w, p, opt.Color)
}

// displayAll applies DisplayName to names, or messages that hold them.
func displayAll(s []string) []string { return mapAll(s, DisplayName) }

// mapAll returns f of each of s, never nil.
func mapAll(s []string, f func(string) string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// commonDir is the folder all case names start with ("uploads/"), or "",
// so that the table shows the part of each name that tells cases apart.
func commonDir(cs []CaseSummary) string {
	if len(cs) < 2 {
		return ""
	}
	prefix := cs[0].Name
	for _, c := range cs[1:] {
		n := 0
		for n < len(prefix) && n < len(c.Name) && prefix[n] == c.Name[n] {
			n++
		}
		prefix = prefix[:n]
	}
	return prefix[:strings.LastIndexByte(prefix, '/')+1]
}

// ReadCases reads triage output back: JSON lines (of one run, or of
// several shards concatenated) or a JSON document. Cases come back in name
// order; a case named twice is an error, since shards never share one.
func ReadCases(r io.Reader) ([]CaseSummary, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	trimmed := bytes.TrimSpace(data)
	var doc struct {
		Schema string            `json:"schema"`
		Cases  []json.RawMessage `json:"cases"`
	}
	if bytes.HasPrefix(trimmed, []byte("{")) && json.Unmarshal(trimmed, &doc) == nil && doc.Schema != "" {
		if doc.Schema != TriageSchema {
			return nil, fmt.Errorf("schema %q is not syndiag triage output (%s)", doc.Schema, TriageSchema)
		}
		for _, c := range doc.Cases {
			lines = append(lines, c)
		}
	} else {
		for l := range bytes.SplitSeq(data, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				lines = append(lines, l)
			}
		}
	}
	var cs []CaseSummary
	seen := map[string]bool{}
	for i, l := range lines {
		var j caseJSON
		if err := json.Unmarshal(l, &j); err != nil {
			return nil, fmt.Errorf("case %d: %v", i+1, err)
		}
		if j.Case == "" {
			return nil, fmt.Errorf("case %d: no \"case\": not syndiag triage output", i+1)
		}
		if seen[j.Case] {
			return nil, fmt.Errorf("case %q appears twice", j.Case)
		}
		seen[j.Case] = true
		c, err := caseOf(j)
		if err != nil {
			return nil, fmt.Errorf("case %d: %v", i+1, err)
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b CaseSummary) int { return strings.Compare(a.Name, b.Name) })
	return cs, nil
}

// caseOf reads a case back from its JSON line, names unescaped.
func caseOf(j caseJSON) (CaseSummary, error) {
	var errs []error
	un := func(s string) string {
		v, err := UnescapeName(s)
		errs = append(errs, err)
		return v
	}
	unAll := func(s []string) []string {
		v, err := unescapeAll(s)
		errs = append(errs, err)
		return v
	}
	c := CaseSummary{
		Name: un(j.Case), Joined: j.Joined, NotJoined: un(j.NotJoined),
		Attempts: j.Attempts, Failed: j.Failed, Retransmitted: j.Retransmitted,
		Evidence: unAll(j.Evidence), Errors: unAll(j.Errors), Warnings: unAll(j.Warnings),
		Internal: un(j.InternalError), Report: j.Report,
	}
	for _, f := range j.Findings {
		f.Capture = un(f.Capture)
		c.Findings = append(c.Findings, CaseFinding(f))
	}
	for _, f := range j.Files {
		f.Path, f.Error = un(f.Path), un(f.Error)
		c.Files = append(c.Files, CaseFile(f))
	}
	return c, errors.Join(errs...)
}

// TriageStatus is what a triage run says on standard error at its end: the
// cases it analyzed (verb: "analyzed", or "read" for saved output), unless
// the table said so already, and the cases an interrupt left undone.
func TriageStatus(t Triage, verb string, table bool) []string {
	var out []string
	if !table {
		line := fmt.Sprintf("%s %s", wording.Plural(len(t.Cases), "case"), verb)
		unreadable := 0
		for _, c := range t.Cases {
			if c.Unreadable() {
				unreadable++
			}
		}
		if unreadable > 0 {
			line += fmt.Sprintf(", %d of them unreadable", unreadable)
		}
		if len(t.Skipped) > 0 {
			line += fmt.Sprintf("; %s skipped, not captures", wording.Plural(len(t.Skipped), "file"))
		}
		if len(t.Special) > 0 {
			line += fmt.Sprintf("; %s left out, not regular files", wording.Plural(len(t.Special), "path"))
		}
		out = append(out, line)
	}
	// A crash is said on every output: it is a bug to report.
	for _, c := range t.Cases {
		if c.Internal != "" {
			out = append(out, "internal error (a bug in syndiag: please report it): "+DisplayName(c.Internal))
		}
	}
	if t.Interrupted > 0 {
		out = append(out, fmt.Sprintf("interrupted: %s not analyzed", wording.Plural(t.Interrupted, "case")))
	}
	return out
}

// TriageHTML writes the index page of a triage run.
func TriageHTML(w io.Writer, t Triage) error {
	title := "syndiag triage: " + wording.Plural(len(t.Cases), "case")
	if t.Shard != "" {
		title += ", shard " + t.Shard
	}
	return HTMLIndex(w, title, t.Cases, Options{})
}
