package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/syndiag/syndiag/analyze"
)

// HTML writes the report as one self-contained HTML page: the findings with
// their evidence and fix, then charts of the evidence (a timeline of the
// attempts, TSval per source with the per-host PAWS replay, the accept
// queue, connect latency), the source and attempt tables, and the details
// of the terminal report. Styles, the table-sorting script and the charts
// (inline SVG) are in the page, which loads nothing: a Content-Security-
// Policy forbids any request. The same result gives the same bytes.
func HTML(w io.Writer, res *analyze.Result, opt Options) error {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 20
	}
	p := buildHTML(res, opt)
	bw := bufio.NewWriter(w)
	writeHead(bw, p.Title)
	p.body(bw)
	writeFoot(bw)
	return bw.Flush()
}

// csp allows the page's own style and script, by hash, and data: images;
// everything else, and every request, is refused.
var csp = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'", hash(pageCSS), hash(pageScript))

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

func writeHead(w *bufio.Writer, title string) {
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="%s">
<meta name="generator" content="syndiag">
<title>%s</title>
<style>%s</style>
</head>
<body>
`, esc(csp), esc(title), pageCSS)
}

func writeFoot(w *bufio.Writer) {
	fmt.Fprintf(w, "<footer><p>Written by syndiag from the captures named above; it decides nothing the JSON report (<code>--format json</code>) does not hold. Colours follow the Okabe–Ito palette, which stays distinct with colour-blindness; every colour also has its own shape or label.</p></footer>\n<script>%s</script>\n</body>\n</html>\n", pageScript)
}

func (p *htmlPage) body(w *bufio.Writer) {
	fmt.Fprintf(w, "<header>\n<h1>%s</h1>\n<ul class=\"files\">\n", esc(p.Title))
	for _, s := range p.Subtitle {
		fmt.Fprintf(w, "<li>%s</li>\n", esc(s))
	}
	w.WriteString("</ul>\n<ul class=\"facts\">\n")
	for _, s := range p.Summary {
		fmt.Fprintf(w, "<li>%s</li>\n", esc(s))
	}
	w.WriteString("</ul>\n<nav aria-label=\"Contents\"><a href=\"#findings\">Findings</a>")
	for _, s := range p.Sections {
		fmt.Fprintf(w, " · <a href=\"#%s\">%s</a>", esc(s.ID), esc(navName(s.ID)))
	}
	w.WriteString(" · <a href=\"#sources\">Sources</a> · <a href=\"#attempts\">Attempts</a> · <a href=\"#details\">Details</a></nav>\n</header>\n<main>\n")
	p.findings(w)
	for _, s := range p.Sections {
		s.html(w)
	}
	for _, t := range p.Tables {
		t.html(w)
	}
	if len(p.Details) > 0 {
		w.WriteString("<section id=\"details\">\n<h2>Details</h2>\n")
		detailBlocks(w, p.Details)
		w.WriteString("</section>\n")
	}
	w.WriteString("</main>\n")
}

func navName(id string) string {
	switch id {
	case "timeline":
		return "Timeline"
	case "paws":
		return "Timestamps"
	case "queue":
		return "Accept queue"
	case "latency":
		return "Latency"
	}
	return id
}

func (p *htmlPage) findings(w *bufio.Writer) {
	fmt.Fprintf(w, "<section id=\"findings\">\n<h2>Findings (%d)</h2>\n", len(p.Findings))
	if len(p.Findings) == 0 {
		fmt.Fprintf(w, "<p>%s</p>\n", esc(p.NoFindings))
	}
	for _, f := range p.Findings {
		fmt.Fprintf(w, "<article class=\"finding sev-%s\">\n<h3><span class=\"badge\">%s</span> <span class=\"kind\">%s</span></h3>\n<p class=\"meta\">confidence %.2f", esc(f.Severity), esc(strings.ToUpper(f.Severity)), esc(f.Kind), f.Confidence)
		if f.Affected != "" {
			fmt.Fprintf(w, " · %s", esc(f.Affected))
		}
		if f.Where != "" {
			fmt.Fprintf(w, " · in %s", esc(f.Where))
		}
		fmt.Fprintf(w, "</p>\n<p class=\"what\">%s</p>\n", codeSpans(f.Summary))
		if len(f.Evidence) > 0 {
			w.WriteString("<h4>Evidence</h4>\n<ul>\n")
			for _, e := range f.Evidence {
				fmt.Fprintf(w, "<li>%s</li>\n", codeSpans(e))
			}
			w.WriteString("</ul>\n")
		}
		if f.Recommendation != "" {
			fmt.Fprintf(w, "<h4>What to do</h4>\n<p class=\"fix\">%s</p>\n", codeSpans(f.Recommendation))
		}
		w.WriteString("</article>\n")
	}
	w.WriteString("</section>\n")
}

// codeSpans escapes s and sets its `quoted` commands in code.
func codeSpans(s string) string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		return esc(s) // unbalanced: leave the backticks be
	}
	var b strings.Builder
	for i, part := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + esc(part) + "</code>")
		} else {
			b.WriteString(esc(part))
		}
	}
	return b.String()
}

func (s *htmlSection) html(w *bufio.Writer) {
	small := s.Small && len(s.Charts) > 1 // one chart takes the width
	fmt.Fprintf(w, "<section id=\"%s\">\n<h2>%s</h2>\n<p class=\"intro\">%s</p>\n", esc(s.ID), esc(s.Title), esc(s.Intro))
	if small {
		w.WriteString("<div class=\"multiples\">\n")
	}
	for i := range s.Charts {
		s.Charts[i].figure(w, small)
	}
	if small {
		w.WriteString("</div>\n")
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "<p class=\"note\">%s</p>\n", esc(n))
	}
	w.WriteString("</section>\n")
}

// figure writes a chart with its heading, legend and notes.
func (c *chart) figure(w *bufio.Writer, small bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "<figure class=\"fig\" id=\"%s\">\n<figcaption>%s</figcaption>\n<ul class=\"legend\">", esc(c.ID), esc(c.Title))
	for i := range c.Series {
		s := &c.Series[i]
		if s.NoLegend {
			continue
		}
		b.WriteString("<li>")
		s.key(&b)
		b.WriteString(esc(s.Name))
		switch {
		case s.Count > 0:
			fmt.Fprintf(&b, " <span class=\"count\">(%d)</span>", s.Count)
		case s.Kind == seriesMarks || s.Kind == seriesTicksUp || s.Kind == seriesTicksDown || s.Kind == seriesLetters:
			fmt.Fprintf(&b, " <span class=\"count\">(%d)</span>", len(s.Points))
		}
		b.WriteString("</li>")
	}
	if c.Kind == "timeline" && !c.binned() {
		b.WriteString(`<li><svg class="key" width="22" height="14" viewBox="0 0 22 14" aria-hidden="true"><g class="s o-none">` + shape("circle", 11, 7, 4.5, true) + `/></g></svg>outline: that SYN got no answer</li>`)
	}
	b.WriteString("</ul>\n<div class=\"plot\">")
	c.svg(&b, small)
	b.WriteString("</div>\n")
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "<p class=\"note\">%s</p>\n", esc(n))
	}
	b.WriteString("</figure>\n")
	w.WriteString(b.String())
}

// binned reports whether a timeline counts SYNs in bins instead of marks.
func (c *chart) binned() bool {
	for _, s := range c.Series {
		if s.Kind == seriesBars {
			return true
		}
	}
	return false
}

func (t *htmlTable) html(w *bufio.Writer) {
	fmt.Fprintf(w, "<section id=\"%s\">\n<h2>%s</h2>\n", esc(t.ID), esc(t.Title))
	if len(t.Rows) == 0 {
		w.WriteString("<p>None.</p>\n</section>\n")
		return
	}
	w.WriteString("<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr>")
	for i, h := range t.Header {
		if t.Numeric[i] {
			fmt.Fprintf(w, "<th scope=\"col\" class=\"num\">%s</th>", esc(h))
		} else {
			fmt.Fprintf(w, "<th scope=\"col\">%s</th>", esc(h))
		}
	}
	w.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range t.Rows {
		w.WriteString("<tr>")
		for i, c := range r {
			attrs := ""
			if t.Numeric[i] {
				attrs = ` class="num"`
			}
			if c.Sort != "" {
				attrs += fmt.Sprintf(` data-sort="%s"`, esc(c.Sort))
			}
			fmt.Fprintf(w, "<td%s>%s</td>", attrs, esc(c.Text))
		}
		w.WriteString("</tr>\n")
	}
	w.WriteString("</tbody></table></div>\n")
	for _, n := range t.Notes {
		fmt.Fprintf(w, "<p class=\"note\">%s</p>\n", esc(n))
	}
	w.WriteString("</section>\n")
}

// detailBlocks renders the blocks the terminal report shares.
func detailBlocks(w *bufio.Writer, blocks []block) {
	for _, b := range blocks {
		switch b.kind {
		case blockHeading:
			fmt.Fprintf(w, "<h3>%s</h3>\n", esc(b.text))
		case blockText:
			fmt.Fprintf(w, "<p>%s</p>\n", codeSpans(b.text))
		case blockBullets:
			w.WriteString("<ul>\n")
			for _, it := range b.items {
				fmt.Fprintf(w, "<li>%s</li>\n", strings.ReplaceAll(codeSpans(it), "\n", "<br>"))
			}
			w.WriteString("</ul>\n")
		case blockTable:
			right := map[int]bool{}
			for _, i := range b.right {
				right[i] = true
			}
			w.WriteString("<div class=\"scroll\"><table>\n<thead><tr>")
			for i, h := range b.header {
				fmt.Fprintf(w, "<th scope=\"col\"%s>%s</th>", numClass(right[i]), esc(h))
			}
			w.WriteString("</tr></thead>\n<tbody>\n")
			for _, r := range b.rows {
				w.WriteString("<tr>")
				for i, c := range r {
					fmt.Fprintf(w, "<td%s>%s</td>", numClass(right[i]), esc(c))
				}
				w.WriteString("</tr>\n")
			}
			w.WriteString("</tbody></table></div>\n")
		}
	}
}

func numClass(right bool) string {
	if right {
		return ` class="num"`
	}
	return ""
}
