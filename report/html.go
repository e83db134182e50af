package report

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/report/internal/markup"
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
	mw := markup.NewWriter(w)
	writeHead(mw, p.Title)
	p.body(mw)
	writeFoot(mw)
	return mw.Flush()
}

// csp allows the page's own style and script, by hash, and data: images;
// everything else, and every request, is refused.
var csp = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'", hash(pageCSS), hash(pageScript))

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

func writeHead(w *markup.Writer, title string) {
	w.Printf(`<!DOCTYPE html>
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
`, csp, title, markup.Const(pageCSS))
}

func writeFoot(w *markup.Writer) {
	w.Printf("<footer><p>Written by syndiag from the captures named above; it decides nothing the JSON report (<code>--format json</code>) does not hold. Colours follow the Okabe–Ito palette, which stays distinct with colour-blindness; every colour also has its own shape or label.</p></footer>\n<script>%s</script>\n</body>\n</html>\n", markup.Const(pageScript))
}

func (p *htmlPage) body(w *markup.Writer) {
	w.Printf("<header>\n<h1>%s</h1>\n<ul class=\"files\">\n", p.Title)
	for _, s := range p.Subtitle {
		w.Printf("<li>%s</li>\n", s)
	}
	w.Printf("</ul>\n<ul class=\"facts\">\n")
	for _, s := range p.Summary {
		w.Printf("<li>%s</li>\n", s)
	}
	w.Printf("</ul>\n<nav aria-label=\"Contents\"><a href=\"#findings\">Findings</a>")
	for _, s := range p.Sections {
		w.Printf(" · <a href=\"#%s\">%s</a>", s.ID, navName(s.ID))
	}
	w.Printf(" · <a href=\"#sources\">Sources</a> · <a href=\"#attempts\">Attempts</a> · <a href=\"#details\">Details</a></nav>\n</header>\n<main>\n")
	p.findings(w)
	for _, s := range p.Sections {
		s.html(w)
	}
	for _, t := range p.Tables {
		t.html(w)
	}
	if len(p.Details) > 0 {
		w.Printf("<section id=\"details\">\n<h2>Details</h2>\n")
		detailBlocks(w, p.Details)
		w.Printf("</section>\n")
	}
	w.Printf("</main>\n")
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

func (p *htmlPage) findings(w *markup.Writer) {
	w.Printf("<section id=\"findings\">\n<h2>Findings (%d)</h2>\n", len(p.Findings))
	if len(p.Findings) == 0 {
		w.Printf("<p>%s</p>\n", p.NoFindings)
	}
	for _, f := range p.Findings {
		w.Printf("<article class=\"finding sev-%s\">\n<h3><span class=\"badge\">%s</span> <span class=\"kind\">%s</span></h3>\n<p class=\"meta\">confidence %.2f", f.Severity, strings.ToUpper(f.Severity), f.Kind, f.Confidence)
		if f.Affected != "" {
			w.Printf(" · %s", f.Affected)
		}
		if f.Where != "" {
			w.Printf(" · in %s", f.Where)
		}
		w.Printf("</p>\n<p class=\"what\">")
		codeSpans(w, f.Summary, false)
		w.Printf("</p>\n")
		if len(f.Evidence) > 0 {
			w.Printf("<h4>Evidence</h4>\n<ul>\n")
			for _, e := range f.Evidence {
				w.Printf("<li>")
				codeSpans(w, e, false)
				w.Printf("</li>\n")
			}
			w.Printf("</ul>\n")
		}
		if f.Recommendation != "" {
			w.Printf("<h4>What to do</h4>\n<p class=\"fix\">")
			codeSpans(w, f.Recommendation, false)
			w.Printf("</p>\n")
		}
		w.Printf("</article>\n")
	}
	w.Printf("</section>\n")
}

// codeSpans writes s as text with its `quoted` commands in code, and with
// br, its line breaks as <br>.
func codeSpans(w *markup.Writer, s string, br bool) {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		parts = []string{s} // unbalanced: leave the backticks be
	}
	for i, part := range parts {
		if i%2 == 1 {
			w.Printf("<code>")
		}
		if br {
			for j, line := range strings.Split(part, "\n") {
				if j > 0 {
					w.Printf("<br>")
				}
				w.Text(line)
			}
		} else {
			w.Text(part)
		}
		if i%2 == 1 {
			w.Printf("</code>")
		}
	}
}

func (s *htmlSection) html(w *markup.Writer) {
	small := s.Small && len(s.Charts) > 1 // one chart takes the width
	w.Printf("<section id=\"%s\">\n<h2>%s</h2>\n<p class=\"intro\">%s</p>\n", s.ID, s.Title, s.Intro)
	if small {
		w.Printf("<div class=\"multiples\">\n")
	}
	for i := range s.Charts {
		s.Charts[i].figure(w, small)
	}
	if small {
		w.Printf("</div>\n")
	}
	for _, n := range s.Notes {
		w.Printf("<p class=\"note\">%s</p>\n", n)
	}
	w.Printf("</section>\n")
}

// figure writes a chart with its heading, legend and notes.
func (c *chart) figure(w *markup.Writer, small bool) {
	w.Printf("<figure class=\"fig\" id=\"%s\">\n<figcaption>%s</figcaption>\n<ul class=\"legend\">", c.ID, c.Title)
	for i := range c.Series {
		s := &c.Series[i]
		if s.NoLegend {
			continue
		}
		w.Printf("<li>")
		s.key(w)
		w.Text(s.Name)
		switch {
		case s.Count > 0:
			w.Printf(" <span class=\"count\">(%d)</span>", s.Count)
		case s.Kind == seriesMarks || s.Kind == seriesTicksUp || s.Kind == seriesTicksDown || s.Kind == seriesLetters:
			w.Printf(" <span class=\"count\">(%d)</span>", len(s.Points))
		}
		w.Printf("</li>")
	}
	if c.Kind == "timeline" && !c.binned() {
		w.Printf(`<li><svg class="key" width="22" height="14" viewBox="0 0 22 14" aria-hidden="true"><g class="s o-none">`)
		shape(w, "circle", 11, 7, 4.5, true)
		w.Printf(`/></g></svg>outline: that SYN got no answer</li>`)
	}
	w.Printf("</ul>\n<div class=\"plot\">")
	c.svg(w, small)
	w.Printf("</div>\n")
	for _, n := range c.Notes {
		w.Printf("<p class=\"note\">%s</p>\n", n)
	}
	w.Printf("</figure>\n")
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

func (t *htmlTable) html(w *markup.Writer) {
	w.Printf("<section id=\"%s\">\n<h2>%s</h2>\n", t.ID, t.Title)
	if len(t.Rows) == 0 {
		w.Printf("<p>None.</p>\n</section>\n")
		return
	}
	w.Printf("<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr>")
	for i, h := range t.Header {
		w.Printf("<th scope=\"col\"%s>%s</th>", numClass(t.Numeric[i]), h)
	}
	w.Printf("</tr></thead>\n<tbody>\n")
	for _, r := range t.Rows {
		w.Printf("<tr>")
		for i, c := range r {
			w.Printf("<td%s", numClass(t.Numeric[i]))
			if c.Sort != "" {
				w.Printf(` data-sort="%s"`, c.Sort)
			}
			w.Printf(">%s</td>", c.Text)
		}
		w.Printf("</tr>\n")
	}
	w.Printf("</tbody></table></div>\n")
	for _, n := range t.Notes {
		w.Printf("<p class=\"note\">%s</p>\n", n)
	}
	w.Printf("</section>\n")
}

// detailBlocks renders the blocks the terminal report shares.
func detailBlocks(w *markup.Writer, blocks []block) {
	for _, b := range blocks {
		switch b.kind {
		case blockHeading:
			w.Printf("<h3>%s</h3>\n", b.text)
		case blockText:
			w.Printf("<p>")
			codeSpans(w, b.text, false)
			w.Printf("</p>\n")
		case blockBullets:
			w.Printf("<ul>\n")
			for _, it := range b.items {
				w.Printf("<li>")
				codeSpans(w, it, true)
				w.Printf("</li>\n")
			}
			w.Printf("</ul>\n")
		case blockTable:
			right := map[int]bool{}
			for _, i := range b.right {
				right[i] = true
			}
			w.Printf("<div class=\"scroll\"><table>\n<thead><tr>")
			for i, h := range b.header {
				w.Printf("<th scope=\"col\"%s>%s</th>", numClass(right[i]), h)
			}
			w.Printf("</tr></thead>\n<tbody>\n")
			for _, r := range b.rows {
				w.Printf("<tr>")
				for i, c := range r {
					w.Printf("<td%s>%s</td>", numClass(right[i]), c)
				}
				w.Printf("</tr>\n")
			}
			w.Printf("</tbody></table></div>\n")
		}
	}
}

// numClass is the class of a cell that holds a number.
func numClass(right bool) markup.HTML {
	if right {
		return markup.Const(` class="num"`)
	}
	return markup.HTML{}
}
