package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/syndiag/syndiag/analyze"
)

// width is the terminal width the report is laid out for.
const width = 100

// Text writes the terminal report.
func Text(w io.Writer, res *analyze.Result, opt Options) error {
	return textPage(w, build(res, opt), opt.Color)
}

// textPage writes a laid-out page for the terminal.
func textPage(w io.Writer, p *page, color bool) error {
	bw := bufio.NewWriter(w)
	r := &textRenderer{w: &trimWriter{w: bw}, color: color}
	for _, b := range p.blocks {
		r.block(b)
	}
	if r.err != nil {
		return r.err
	}
	return bw.Flush()
}

type textRenderer struct {
	w     io.Writer
	color bool
	err   error
}

const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[36m"
	ansiReset  = "\x1b[0m"
)

func (r *textRenderer) paint(code, s string) string {
	if !r.color {
		return s
	}
	return code + s + ansiReset
}

func (r *textRenderer) printf(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, args...)
	}
}

func (r *textRenderer) block(b block) {
	switch b.kind {
	case blockHeading:
		r.printf("%s\n", r.paint(ansiBold, b.text))
	case blockText:
		r.wrapped(b.indent, b.indent, b.text)
	case blockBullets:
		for _, it := range b.items {
			lines := strings.Split(it, "\n")
			r.wrapped(b.indent, b.indent+2, "- "+lines[0])
			for _, l := range lines[1:] {
				r.wrapped(b.indent+2, b.indent+2, l)
			}
		}
	case blockTable:
		r.table(b.header, b.rows, b.right)
	case blockBreak:
		r.printf("\n")
	case blockFinding:
		code := map[string]string{"critical": ansiRed, "warning": ansiYellow, "info": ansiCyan}[b.severity]
		r.printf("%s  %s\n", r.paint(code, strings.ToUpper(b.severity)), b.label)
		r.wrapped(2, 2, b.text)
		if len(b.evidence) > 0 {
			r.printf("  Evidence:\n")
			for _, e := range b.evidence {
				r.wrapped(4, 6, "- "+e)
			}
		}
		if b.action != "" {
			r.printf("  What to do:\n")
			r.wrapped(4, 4, b.action)
		}
		r.printf("\n")
	}
}

// wrapped writes s wrapped at the report width, the first line indented by
// first spaces and the others by rest.
func (r *textRenderer) wrapped(first, rest int, s string) {
	for i, line := range wrap(s, width-first, width-rest) {
		ind := rest
		if i == 0 {
			ind = first
		}
		r.printf("%s%s\n", strings.Repeat(" ", ind), line)
	}
}

// wrap breaks s into lines of at most w1 (first) and w runes at spaces; a
// word longer than a line stays whole.
func wrap(s string, w1, w int) []string {
	var lines []string
	var cur strings.Builder
	limit := w1
	for _, word := range strings.Fields(s) {
		if cur.Len() > 0 && utf8.RuneCountInString(cur.String())+1+utf8.RuneCountInString(word) > limit {
			lines = append(lines, cur.String())
			cur.Reset()
			limit = w
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

func (r *textRenderer) table(header []string, rows [][]string, right []int) {
	if r.err != nil {
		return
	}
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignLeft
	}
	for _, i := range right {
		align[i] = tw.AlignRight
	}
	var buf strings.Builder
	t := tablewriter.NewTable(&buf,
		// A quiet style: no borders, a line under the header, two spaces
		// between columns, so that wide tables still fit 100 columns.
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleLight),
			Settings: tw.Settings{
				Separators: tw.Separators{ShowHeader: tw.On, BetweenColumns: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On},
			},
		})),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "  ", Overwrite: true}),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		r.err = err
		return
	}
	if r.err = t.Render(); r.err != nil {
		return
	}
	// The line under the header spans the padding after the last column
	// too; cut it to the widest line of text.
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	widest := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "─") {
			widest = max(widest, utf8.RuneCountInString(strings.TrimRight(l, " ")))
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "─") && utf8.RuneCountInString(l) > widest {
			l = string([]rune(l)[:widest])
		}
		r.printf("%s\n", l)
	}
}

// trimWriter drops the spaces that pad the last column of a table line.
type trimWriter struct {
	w       io.Writer
	pending []byte
}

func (t *trimWriter) Write(b []byte) (int, error) {
	for _, c := range b {
		switch c {
		case ' ':
			t.pending = append(t.pending, c)
			continue
		case '\n':
			t.pending = t.pending[:0]
		}
		if len(t.pending) > 0 {
			if _, err := t.w.Write(t.pending); err != nil {
				return 0, err
			}
			t.pending = t.pending[:0]
		}
		if _, err := t.w.Write([]byte{c}); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
