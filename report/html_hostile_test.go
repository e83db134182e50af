package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows/evidence"
)

// hostile is text an uploader controls (a capture's name, and through it a
// finding's, a note's, a case's) written to break out of wherever a page
// puts it: an element, a quoted attribute, the style sheet, a CDATA
// section, a template, a code span; control characters and bytes that are
// not UTF-8.
const hostile = "<script>alert(1)</script> \"><img src=x onerror=alert(1)> '><svg onload=alert(1)> </style><script>alert(2)</script> ]]><!-- {{.}} `<b>code</b>` ctl\x00\x01\x1b[31m\x7f\u0085\u202e bad\xff\xfe javascript:alert(3) &amp;"

// hostileShown is hostile's first probe as a page must show it: escaped.
const hostileShown = "&lt;script&gt;alert(1)&lt;/script&gt;"

// hostileResult analyzes a joined scenario with host evidence, then makes
// every string the page shows that a capture's name or an analysis could
// carry hostile: the captures' paths and warnings, the findings' kind,
// texts and evidence, the evidence files' paths and notes.
func hostileResult(t *testing.T) *analyze.Result {
	t.Helper()
	dir := "../testdata/scenarios/accept-overflow-abort0"
	host := evidence.NewHost()
	files, err := filepath.Glob(filepath.Join(dir, "evidence", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no evidence in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := host.Add(hostile+"/"+filepath.Base(f), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	host.Note(hostile)
	res := analyze.AnalyzeWithEvidence([]analyze.Input{
		readInput(t, filepath.Join(dir, "client-lan.pcap"), analyze.RoleClient),
		readInput(t, filepath.Join(dir, "server.pcap"), analyze.RoleServer),
	}, host)
	if len(res.Findings) == 0 {
		t.Fatal("no findings to make hostile")
	}
	for i := range res.Captures {
		res.Captures[i].Path = "uploads/" + hostile + "/side" + string(rune('a'+i)) + ".pcap"
		res.Captures[i].Warnings = append(res.Captures[i].Warnings, hostile)
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		f.Kind = analyze.Kind(hostile)
		f.Summary, f.Recommendation = hostile, hostile
		f.Evidence = append(f.Evidence, hostile, "`"+hostile+"`", "line\n"+hostile)
	}
	return res
}

// hostileCases are triage cases whose names, files, errors and findings are
// hostile, one linked to a report whose name would be a URL's scheme.
func hostileCases() []CaseSummary {
	return []CaseSummary{
		{Name: "uploads/" + hostile, Report: "javascript:alert(1)//" + hostile + ".html", Joined: true,
			Files:    []CaseFile{{Path: "uploads/" + hostile + "/client.pcap", Role: hostile, Format: hostile, Packets: 3}, {Path: "uploads/" + hostile + "/server.pcap", Role: "server", Error: hostile}},
			Findings: []CaseFinding{{Kind: analyze.Kind(hostile), Severity: analyze.Critical, Confidence: 0.9, Summary: hostile, AffectedAttempts: 2}, {Kind: analyze.Kind(hostile), Severity: analyze.Warning, Summary: hostile}},
			Errors:   []string{hostile}, NotJoined: hostile},
		{Name: hostile, Files: []CaseFile{{Path: hostile, Role: "unknown"}}, NotJoined: hostile},
	}
}

// TestHTMLHostile writes hostile text through every way into an HTML page
// (the report of an analysis, triage's index, HTMLIndex) and checks that
// the page still holds only the elements and attributes the renderer
// writes: the text is shown, escaped, and changes nothing around it.
func TestHTMLHostile(t *testing.T) {
	pages := map[string]func(*bytes.Buffer) error{
		"report": func(b *bytes.Buffer) error { return HTML(b, hostileResult(t), Options{}) },
		"index": func(b *bytes.Buffer) error {
			return HTMLIndex(b, hostile, hostileCases(), Options{})
		},
		"triage": func(b *bytes.Buffer) error {
			return TriageHTML(b, Triage{Cases: hostileCases(), Shard: hostile})
		},
	}
	for name, write := range pages {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			if err := pageProblem(page); err != nil {
				t.Error(err)
			}
			if n := strings.Count(page, hostileShown); n < 2 {
				t.Errorf("the hostile text is shown escaped %d times", n)
			}
			// Names are shown as the terminal shows them.
			if !strings.Contains(page, `ctl\x00\x01\x1b[31m\x7f\u0085\u202e bad\xff\xfe`) {
				t.Error("no name shown with its control characters and bytes that are not UTF-8 escaped (DisplayName)")
			}
		})
	}
}

// The elements and attributes the renderer writes, and what a tag looks
// like: every attribute's value quoted, holding no quote or angle bracket.
var (
	pageElements = strings.Fields(`html head meta title style body header h1 h2 h3 h4 ul li nav a main section article
		span p code br div figure figcaption table thead tbody tr th td footer script
		svg g rect line path circle text desc`)
	pageAttributes = strings.Fields(`lang charset name content http-equiv class id href title aria-label aria-labelledby
		aria-hidden role scope data-sort data-chart data-series data-kind data-count viewBox width height font-size
		x y x1 x2 y1 y2 cx cy r d text-anchor dominant-baseline transform`)
	tagPattern  = regexp.MustCompile(`^<(/?)([a-z0-9]+)((?: [a-zA-Z0-9-]+="[^"<>]*")*)(/?)>`)
	attrPattern = regexp.MustCompile(` ([a-zA-Z0-9-]+)="([^"]*)"`)
	entity      = regexp.MustCompile(`^&(amp|lt|gt|#34|#39);`)
)

// pageProblem tokenizes a page as the renderer writes it and returns the
// first thing it would not write: a style sheet or script that is not the
// page's own, a '<' that does not start one of its tags, an element or
// attribute it does not write, a link with a scheme, a '>' or '&' that is
// not markup or an entity, a control character, a byte that is not UTF-8.
func pageProblem(page string) error {
	if !utf8.ValidString(page) {
		return errors.New("the page is not UTF-8")
	}
	for _, r := range page {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
			return fmt.Errorf("control character %U in the page", r)
		}
	}
	for _, own := range []struct{ open, body, end string }{{"<style>", pageCSS, "</style>"}, {"<script>", pageScript, "</script>"}} {
		if strings.Count(page, own.open[:len(own.open)-1]) != 1 || strings.Count(page, own.end[:len(own.end)-1]) != 1 || !strings.Contains(page, own.open+own.body+own.end) {
			return fmt.Errorf("the page's %s is not its own", own.open)
		}
		page = strings.Replace(page, own.open+own.body+own.end, own.open+own.end, 1)
	}
	page, ok := strings.CutPrefix(page, "<!DOCTYPE html>\n")
	if !ok {
		return errors.New("no doctype first")
	}
	for i := 0; i < len(page); {
		switch page[i] {
		case '<':
			m := tagPattern.FindStringSubmatch(page[i:])
			if m == nil {
				return fmt.Errorf("a '<' that starts no tag: %q", near(page, i))
			}
			if !slices.Contains(pageElements, m[2]) {
				return fmt.Errorf("element %s: %q", m[2], near(page, i))
			}
			for _, a := range attrPattern.FindAllStringSubmatch(m[3], -1) {
				if !slices.Contains(pageAttributes, a[1]) {
					return fmt.Errorf("attribute %s: %q", a[1], near(page, i))
				}
				if a[1] == "href" && !strings.HasPrefix(a[2], "#") && strings.ContainsRune(strings.SplitN(a[2], "/", 2)[0], ':') {
					return fmt.Errorf("link with a scheme: %q", a[2])
				}
				if err := entitiesOnly(a[2]); err != nil {
					return err
				}
			}
			i += len(m[0])
		case '>':
			return fmt.Errorf("a '>' outside a tag: %q", near(page, i))
		case '&':
			if !entity.MatchString(page[i:]) {
				return fmt.Errorf("an '&' that starts no entity: %q", near(page, i))
			}
			i++
		default:
			i++
		}
	}
	return nil
}

// entitiesOnly checks that each '&' in s starts one of the entities the
// renderer writes.
func entitiesOnly(s string) error {
	for i := strings.IndexByte(s, '&'); i >= 0; i = strings.IndexByte(s, '&') {
		if !entity.MatchString(s[i:]) {
			return fmt.Errorf("an '&' that starts no entity: %q", s)
		}
		s = s[i+1:]
	}
	return nil
}

func near(s string, i int) string { return s[max(i-60, 0):min(i+80, len(s))] }

// TestPageProblem runs pageProblem on the page of every test capture, so
// that what it accepts is what the renderer writes, and on pages broken
// as a forgotten escape would break them, which it must refuse.
func TestPageProblem(t *testing.T) {
	for _, c := range htmlCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if err := pageProblem(htmlOf(t, c)); err != nil {
				t.Error(err)
			}
		})
	}
	page := htmlOf(t, htmlCase{server: "../testdata/lab/mixed-failures.pcap"})
	for _, tt := range []struct{ desc, old, new string }{
		{"an element", "<main>", `<main><img src=x onerror=alert(1)>`},
		{"an element in a title", "<title>", "<title></title><script>alert(1)</script><title>"},
		{"an attribute", `<section id="findings"`, `<section id="findings" onclick="alert(1)"`},
		{"out of an attribute", `<section id="findings"`, `<section id="findings"><b x="`},
		{"an unquoted attribute", `<section id="findings"`, `<section id=findings`},
		{"a link with a scheme", `href="#findings"`, `href="javascript:alert(1)"`},
		{"a bare '>'", "<h2>Findings", "<h2>a > b Findings"},
		{"a bare '&'", "<h2>Findings", "<h2>a & b Findings"},
		{"an end of style", "</style>", "</style></style>"},
		{"a style sheet not the page's", "<style>", "<style>*{}"},
		{"a control character", "<h2>Findings", "<h2>\x1b[31mFindings"},
		{"not UTF-8", "<h2>Findings", "<h2>\xffFindings"},
	} {
		t.Run("refuses "+tt.desc, func(t *testing.T) {
			bad := strings.Replace(page, tt.old, tt.new, 1)
			if bad == page {
				t.Fatalf("no %q in the page", tt.old)
			}
			if pageProblem(bad) == nil {
				t.Errorf("a page with %q passes", tt.new)
			}
		})
	}
}
