package report

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// HTMLIndex writes triage's index page: a row per case, in the order given
// (triage ranks them), with its worst severity, its findings, its counts,
// and a link to the case's own HTML report when there is one; cases whose
// files could not be read show their errors. The page is self-contained,
// like HTML's, and loads nothing.
func HTMLIndex(w io.Writer, title string, cases []CaseSummary, opt Options) error {
	bw := bufio.NewWriter(w)
	if title == "" {
		title = "syndiag triage"
	}
	writeHead(bw, title)
	fmt.Fprintf(bw, "<header>\n<h1>%s</h1>\n<ul class=\"facts\">\n", esc(title))
	root := commonDir(cases)
	facts := indexFacts(cases)
	if root != "" {
		facts = append([]string{"under " + root}, facts...)
	}
	for _, s := range facts {
		fmt.Fprintf(bw, "<li>%s</li>\n", esc(s))
	}
	bw.WriteString("</ul>\n</header>\n<main>\n<section id=\"cases\">\n<h2>Cases, most severe first</h2>\n")
	bw.WriteString("<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\">Case</th><th scope=\"col\">Worst</th><th scope=\"col\">Findings</th><th scope=\"col\" class=\"num\">Attempts</th><th scope=\"col\" class=\"num\">Failed</th><th scope=\"col\" class=\"num\">SYN retx</th><th scope=\"col\">Captures</th></tr></thead>\n<tbody>\n")
	for i, c := range cases {
		indexRow(bw, i+1, c, root)
	}
	bw.WriteString("</tbody></table></div>\n</section>\n</main>\n")
	writeFoot(bw)
	return bw.Flush()
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
func indexRow(w *bufio.Writer, rank int, c CaseSummary, root string) {
	sev := c.Worst().String()
	label := strings.ToUpper(sev)
	if c.Worst() == analyze.NoSeverity {
		label = "OK"
	}
	class := "sev-" + sev
	if len(c.Errors) > 0 {
		class += " error"
	}
	fmt.Fprintf(w, "<tr class=\"%s\"><td class=\"num\">%d</td><td>", esc(class), rank)
	if c.Report != "" {
		fmt.Fprintf(w, "<a href=\"%s\" title=\"%s\">%s</a>", esc(relativeLink(c.Report)), esc(c.Name), esc(strings.TrimPrefix(c.Name, root)))
	} else {
		fmt.Fprintf(w, "<span title=\"%s\">%s</span>", esc(c.Name), esc(strings.TrimPrefix(c.Name, root)))
	}
	if c.Joined {
		w.WriteString(" <span class=\"note\">(client and server joined)</span>")
	}
	if c.NotJoined != "" {
		fmt.Fprintf(w, " <span class=\"note\">(not joined: %s)</span>", esc(c.NotJoined))
	}
	for _, e := range c.Errors {
		fmt.Fprintf(w, "<br><span class=\"err\">error: %s</span>", esc(e))
	}
	fmt.Fprintf(w, "</td><td data-sort=\"%s\"><span class=\"badge\">%s</span></td><td>", indexSeverityKey(c.Worst()), esc(label))
	for i, f := range c.Findings {
		if i == 3 {
			fmt.Fprintf(w, "<br>and %d more", len(c.Findings)-3)
			break
		}
		if i > 0 {
			w.WriteString("<br>")
		}
		fmt.Fprintf(w, "<span class=\"kind\">%s</span> (%s, %.2f", esc(string(f.Kind)), esc(f.Severity.String()), f.Confidence)
		if f.AffectedAttempts > 0 {
			fmt.Fprintf(w, ", %s", wording.Plural(f.AffectedAttempts, "attempt"))
		}
		w.WriteString(")")
		if i == 0 {
			// The top finding says what happened; the others are named.
			fmt.Fprintf(w, "<span class=\"summary\">: %s</span>", esc(f.Summary))
		}
	}
	fmt.Fprintf(w, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>", c.Attempts, c.Failed, c.Retransmitted)
	for i, f := range c.Files {
		if i > 0 {
			w.WriteString("<br>")
		}
		name := strings.TrimPrefix(strings.TrimPrefix(f.Path, c.Name+"/"), root)
		if f.Path == c.Name {
			name = path.Base(f.Path) // the case is this file
		}
		fmt.Fprintf(w, "<span title=\"%s\">%s</span> (%s", esc(f.Path), esc(name), esc(f.Role))
		if f.Format != "" {
			fmt.Fprintf(w, ", %s, %s packets", esc(f.Format), count(f.Packets))
		}
		w.WriteString(")")
		if f.Error != "" {
			fmt.Fprintf(w, " <span class=\"err\">%s</span>", esc(f.Error))
		}
	}
	w.WriteString("</td></tr>\n")
}

// relativeLink makes a report path a relative URL: its characters escaped
// (a space, a '#'), and never read as a scheme ("c:x.html" → "./c:x.html").
func relativeLink(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	return (&url.URL{Path: p}).String()
}
