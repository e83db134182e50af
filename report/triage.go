package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/analyze"
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
	// Worst is the most severe finding's severity ("critical", "warning",
	// "info"), or "" when there is none.
	Worst    string
	Findings []CaseFinding // ranked, most severe first
	// Attempts counts handshake attempts; Failed those that never
	// completed; Retransmitted those that needed a SYN retransmission.
	Attempts, Failed, Retransmitted int
	// Evidence lists the files read as the server's host evidence.
	Evidence []string
	// Errors holds the problems met reading the case's files, each naming
	// the file.
	Errors []string
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
}

// CaseFinding is a finding as triage shows it: without its evidence.
type CaseFinding struct {
	Kind             string
	Severity         string
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
		f := CaseFile{Path: cp.Path, Role: string(cp.Role), Format: cp.Format, Packets: cp.Packets}
		if cp.Err != nil {
			f.Error = "stopped early: " + cp.Err.Error()
		}
		c.Files = append(c.Files, f)
	}
	c.Joined = res.Join != nil && res.Join.Problem == ""
	if len(res.Captures) == 2 && !c.Joined {
		a, b := res.Captures[0].Role, res.Captures[1].Role
		switch {
		case res.Join != nil:
			c.NotJoined = res.Join.Problem
		case a == b && a != analyze.RoleUnknown:
			c.NotJoined = fmt.Sprintf("both captures are %s-side, by their TTLs; each is reported on its own", a)
		default:
			c.NotJoined = "a join needs one client-side and one server-side capture, and the TTLs do not tell which is which (name them client… and server…); each is reported on its own"
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
			Severity:         f.Severity.String(),
			Confidence:       f.Confidence,
			Capture:          res.Captures[f.Capture].Path,
			Summary:          f.Summary,
			AffectedAttempts: f.AffectedAttempts,
		})
	}
	if len(c.Findings) > 0 {
		c.Worst = c.Findings[0].Severity
	}
	return c
}

// countedOnce reports whether a is counted where a handshake seen in both
// captures of a join is counted once, as its client saw it.
func countedOnce(res *analyze.Result, a *analyze.Attempt) bool {
	return a.Peer < 0 || res.Captures[a.Capture].Role == analyze.RoleClient
}

// Unreadable reports whether no capture of the case could be read at all.
func (c *CaseSummary) Unreadable() bool {
	for _, f := range c.Files {
		if f.Format != "" {
			return false
		}
	}
	return true
}

// severityRank orders severities for ranking: critical first.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "warning":
		return 1
	case "info":
		return 2
	}
	return 3
}

// RankCases orders cases as the triage table shows them: the most severe
// finding first, then the most failed handshakes, then by name.
func RankCases(cs []CaseSummary) {
	slices.SortStableFunc(cs, func(a, b CaseSummary) int {
		return cmp.Or(
			cmp.Compare(severityRank(a.Worst), severityRank(b.Worst)),
			cmp.Compare(b.Failed, a.Failed),
			strings.Compare(a.Name, b.Name),
		)
	})
}

// TriageSchema names the layout of triage's JSON and JSON lines.
const TriageSchema = "syndiag/triage/v1"

type caseJSON struct {
	Case          string        `json:"case"`
	Worst         string        `json:"worst"`
	Attempts      int           `json:"attempts"`
	Failed        int           `json:"failed"`
	Retransmitted int           `json:"retransmitted"`
	Joined        bool          `json:"joined"`
	NotJoined     string        `json:"not_joined,omitempty"`
	Findings      []findingLine `json:"findings"`
	Files         []fileLine    `json:"files"`
	Evidence      []string      `json:"evidence"`
	Errors        []string      `json:"errors"`
	Report        string        `json:"report,omitempty"`
}

type findingLine struct {
	Kind             string  `json:"kind"`
	Severity         string  `json:"severity"`
	Confidence       float64 `json:"confidence"`
	Capture          string  `json:"capture"`
	Summary          string  `json:"summary"`
	AffectedAttempts int     `json:"affected_attempts"`
}

type fileLine struct {
	Path    string `json:"path"`
	Role    string `json:"role"`
	Format  string `json:"format"`
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
	Error   string `json:"error,omitempty"`
}

func caseLine(c CaseSummary) caseJSON {
	j := caseJSON{
		Case: c.Name, Worst: cmp.Or(c.Worst, "none"),
		Attempts: c.Attempts, Failed: c.Failed, Retransmitted: c.Retransmitted,
		Joined: c.Joined, NotJoined: c.NotJoined,
		Findings: []findingLine{}, Files: []fileLine{},
		Evidence: orEmpty(c.Evidence), Errors: orEmpty(c.Errors),
		Report: c.Report,
	}
	for _, f := range c.Findings {
		j.Findings = append(j.Findings, findingLine(f))
	}
	for _, f := range c.Files {
		j.Files = append(j.Files, fileLine(f))
	}
	return j
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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
	// Interrupted counts the cases not analyzed because the run was
	// stopped.
	Interrupted int
	// Shard is "i/n" when the run analyzed one shard of the cases.
	Shard string
}

// TriageJSON writes a triage run as one JSON document.
func TriageJSON(w io.Writer, t Triage) error {
	doc := struct {
		Schema      string     `json:"schema"`
		Shard       string     `json:"shard,omitempty"`
		Cases       []caseJSON `json:"cases"`
		Skipped     []string   `json:"skipped"`
		Interrupted int        `json:"interrupted"`
	}{Schema: TriageSchema, Shard: t.Shard, Cases: []caseJSON{}, Skipped: orEmpty(t.Skipped), Interrupted: t.Interrupted}
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
	p := &page{}
	root := commonDir(t.Cases)
	var rows [][]string
	var bad []string
	counts := map[string]int{}
	for _, c := range t.Cases {
		if c.Unreadable() {
			bad = append(bad, c.Errors...)
			continue
		}
		counts[cmp.Or(c.Worst, "none")]++
		top := "none"
		if len(c.Findings) > 0 {
			f := c.Findings[0]
			top = fmt.Sprintf("%s %.0f%%", f.Kind, 100*f.Confidence)
			if n := len(c.Findings) - 1; n > 0 {
				top += fmt.Sprintf(" (+%d)", n)
			}
		}
		name := shorten(strings.TrimPrefix(c.Name, root), 34)
		if len(c.Errors) > 0 {
			name += " !"
		}
		rows = append(rows, []string{
			strings.ToUpper(cmp.Or(c.Worst, "ok")), name,
			strconv.Itoa(c.Attempts), strconv.Itoa(c.Failed), top,
		})
	}
	head := fmt.Sprintf("Triage: %s", plural(len(t.Cases), "case"))
	if root != "" {
		head = fmt.Sprintf("Triage of %s: %s", root, plural(len(t.Cases), "case"))
	}
	if t.Shard != "" {
		head += ", shard " + t.Shard
	}
	var parts []string
	for _, s := range []struct{ key, label string }{
		{"critical", "critical"}, {"warning", "warning"}, {"info", "info"}, {"none", "without findings"},
	} {
		if counts[s.key] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s.key], s.label))
		}
	}
	if len(bad) > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable", len(t.Cases)-len(rows)))
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
	var errs []string
	for _, c := range t.Cases {
		if !c.Unreadable() && len(c.Errors) > 0 {
			errs = append(errs, c.Errors...)
		}
	}
	if len(errs) > 0 {
		p.text(0, "! read only in part (everything before the problem was analyzed):")
		p.bullets(2, errs)
		p.gap()
	}
	var apart []string
	for _, c := range t.Cases {
		if c.NotJoined != "" {
			apart = append(apart, strings.TrimPrefix(c.Name, root)+": "+c.NotJoined)
		}
	}
	if len(apart) > 0 {
		p.text(0, "Pairs not joined:")
		p.bullets(2, apart)
		p.gap()
	}
	if len(bad) > 0 {
		p.text(0, "Could not be read:")
		p.bullets(2, bad)
		p.gap()
	}
	if n := len(t.Skipped); n > 0 {
		show := t.Skipped[:min(n, 5)]
		more := ""
		if n > len(show) {
			more = fmt.Sprintf(", and %d more", n-len(show))
		}
		p.text(0, fmt.Sprintf("Skipped %s that are not captures: %s%s.", plural(n, "file"), strings.Join(show, ", "), more))
	}
	if t.Interrupted > 0 {
		p.text(0, fmt.Sprintf("Interrupted: %s not analyzed.", plural(t.Interrupted, "case")))
	}
	return textPage(w, p, opt.Color)
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
		c := CaseSummary{
			Name: j.Case, Joined: j.Joined, NotJoined: j.NotJoined,
			Attempts: j.Attempts, Failed: j.Failed, Retransmitted: j.Retransmitted,
			Evidence: j.Evidence, Errors: j.Errors, Report: j.Report,
		}
		if j.Worst != "none" {
			c.Worst = j.Worst
		}
		for _, f := range j.Findings {
			c.Findings = append(c.Findings, CaseFinding(f))
		}
		for _, f := range j.Files {
			c.Files = append(c.Files, CaseFile(f))
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b CaseSummary) int { return strings.Compare(a.Name, b.Name) })
	return cs, nil
}

// TriageStatus is what a triage run says on standard error at its end: the
// cases it analyzed (verb: "analyzed", or "read" for saved output), unless
// the table said so already, and the cases an interrupt left undone.
func TriageStatus(t Triage, verb string, table bool) []string {
	var out []string
	if !table {
		line := fmt.Sprintf("%s %s", plural(len(t.Cases), "case"), verb)
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
			line += fmt.Sprintf("; %s skipped, not captures", plural(len(t.Skipped), "file"))
		}
		out = append(out, line)
	}
	if t.Interrupted > 0 {
		out = append(out, fmt.Sprintf("interrupted: %s not analyzed", plural(t.Interrupted, "case")))
	}
	return out
}

// TriageHTML writes the index page of a triage run.
func TriageHTML(w io.Writer, t Triage) error {
	title := "syndiag triage: " + plural(len(t.Cases), "case")
	if t.Shard != "" {
		title += ", shard " + t.Shard
	}
	return HTMLIndex(w, title, t.Cases, Options{})
}
