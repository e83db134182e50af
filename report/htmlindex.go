package report

import (
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/report/internal/markup"
)

// HTMLIndex writes triage's index page: a row per case, in the order given
// (triage ranks them), with its worst severity, its findings, its counts,
// and a link to the case's own HTML report when there is one; cases whose
// files could not be read show their errors. The page is self-contained,
// like HTML's, and loads nothing.
func HTMLIndex(w io.Writer, title string, cases []CaseSummary, opt Options) error {
	mw := markup.NewWriter(w)
	if title == "" {
		title = "syndiag triage"
	}
	writeHead(mw, title)
	mw.Printf("<header>\n<h1>%s</h1>\n<ul class=\"facts\">\n", title)
	root := commonDir(cases)
	facts := indexFacts(cases)
	if root != "" {
		facts = append([]string{"under " + DisplayName(root)}, facts...)
	}
	for _, s := range facts {
		mw.Printf("<li>%s</li>\n", s)
	}
	mw.Printf("</ul>\n</header>\n<main>\n<section id=\"cases\">\n<h2>Cases, most severe first</h2>\n")
	mw.Printf("<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\">Case</th><th scope=\"col\">Worst</th><th scope=\"col\">Findings</th><th scope=\"col\" class=\"num\">Attempts</th><th scope=\"col\" class=\"num\">Failed</th><th scope=\"col\" class=\"num\">SYN retx</th><th scope=\"col\">Captures</th></tr></thead>\n<tbody>\n")
	for i, c := range cases {
		indexRow(mw, i+1, c, root)
	}
	mw.Printf("</tbody></table></div>\n</section>\n</main>\n")
	writeFoot(mw)
	return mw.Flush()
}

// indexFacts counts the cases by worst severity.
func indexFacts(cases []CaseSummary) []string {
	by := map[analyze.Severity]int{}
	errs := 0
	for _, c := range cases {
		by[c.Worst()]++
		if len(c.Errors) > 0 {
			errs++
		}
	}
	out := []string{fmt.Sprintf("%s: %d critical, %d warning, %d info, %d without findings", wording.Plural(len(cases), "case"), by[analyze.Critical], by[analyze.Warning], by[analyze.Info], by[analyze.NoSeverity])}
	if errs > 0 {
		out = append(out, fmt.Sprintf("%s with files that could not be read in full", wording.Plural(errs, "case")))
	}
	return out
}

// indexSeverityKey sorts the Worst column: critical first when descending
// ("3" to "0" for none).
func indexSeverityKey(s analyze.Severity) string { return strconv.Itoa(int(s - analyze.NoSeverity)) }

// indexRow writes a case's row. Names are shown without the folder all
// cases share (root), and files without their case's folder, so that the
// columns hold what tells cases apart; the full name is the link's title.
// Names, and the messages that hold them, are shown as the terminal shows
// them (DisplayName).
func indexRow(w *markup.Writer, rank int, c CaseSummary, root string) {
	sev := c.Worst().String()
	label := strings.ToUpper(sev)
	if c.Worst() == analyze.NoSeverity {
		label = "OK"
	}
	class := "sev-" + sev
	if len(c.Errors) > 0 {
		class += " error"
	}
	w.Printf("<tr class=\"%s\"><td class=\"num\">%d</td><td>", class, rank)
	if c.Report != "" {
		w.Printf("<a href=\"%s\" title=\"%s\">%s</a>", relativeLink(c.Report), DisplayName(c.Name), DisplayName(strings.TrimPrefix(c.Name, root)))
	} else {
		w.Printf("<span title=\"%s\">%s</span>", DisplayName(c.Name), DisplayName(strings.TrimPrefix(c.Name, root)))
	}
	if c.Joined {
		w.Printf(" <span class=\"note\">(client and server joined)</span>")
	}
	if c.NotJoined != "" {
		w.Printf(" <span class=\"note\">(not joined: %s)</span>", DisplayName(c.NotJoined))
	}
	for _, e := range c.Errors {
		w.Printf("<br><span class=\"err\">error: %s</span>", DisplayName(e))
	}
	w.Printf("</td><td data-sort=\"%s\"><span class=\"badge\">%s</span></td><td>", indexSeverityKey(c.Worst()), label)
	for i, f := range c.Findings {
		if i == 3 {
			w.Printf("<br>and %d more", len(c.Findings)-3)
			break
		}
		if i > 0 {
			w.Printf("<br>")
		}
		w.Printf("<span class=\"kind\">%s</span> (%s, %.2f", string(f.Kind), f.Severity.String(), f.Confidence)
		if f.AffectedAttempts > 0 {
			w.Printf(", %s", wording.Plural(f.AffectedAttempts, "attempt"))
		}
		w.Printf(")")
		if i == 0 {
			// The top finding says what happened; the others are named.
			w.Printf("<span class=\"summary\">: %s</span>", f.Summary)
		}
	}
	w.Printf("</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>", c.Attempts, c.Failed, c.Retransmitted)
	for i, f := range c.Files {
		if i > 0 {
			w.Printf("<br>")
		}
		name := strings.TrimPrefix(strings.TrimPrefix(f.Path, c.Name+"/"), root)
		if f.Path == c.Name {
			name = path.Base(f.Path) // the case is this file
		}
		w.Printf("<span title=\"%s\">%s</span> (%s", DisplayName(f.Path), DisplayName(name), f.Role)
		if f.Format != "" {
			w.Printf(", %s, %s packets", f.Format, count(f.Packets))
		}
		w.Printf(")")
		if f.Error != "" {
			w.Printf(" <span class=\"err\">%s</span>", DisplayName(f.Error))
		}
	}
	w.Printf("</td></tr>\n")
}

// relativeLink makes a report path a relative URL: its characters escaped
// (a space, a '#'), and never read as a scheme ("c:x.html" → "./c:x.html").
func relativeLink(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	return (&url.URL{Path: p}).String()
}
