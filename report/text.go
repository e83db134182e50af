package report

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/syndiag/syndiag/analyze"
)

// TextOptions tune the terminal report.
type TextOptions struct {
	// MaxAttempts bounds the list of failed attempts (default 20).
	MaxAttempts int
}

// Text writes the terminal report: the captures read, then the handshakes
// per server endpoint, then the attempts that did not complete.
func Text(w io.Writer, res *analyze.Result, opt TextOptions) error {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 20
	}
	bw := bufio.NewWriter(w)
	p := &printer{w: &trimWriter{w: bw}}
	p.captures(res)
	p.servers(res)
	p.failed(res, opt.MaxAttempts)
	if p.err != nil {
		return p.err
	}
	return bw.Flush()
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) table(header []string, rows [][]string, rightAligned ...int) {
	if p.err != nil {
		return
	}
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignLeft
	}
	for _, i := range rightAligned {
		align[i] = tw.AlignRight
	}
	t := tablewriter.NewTable(p.w,
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
		p.err = err
		return
	}
	p.err = t.Render()
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

func (p *printer) captures(res *analyze.Result) {
	p.printf("Captures\n")
	var rows [][]string
	for _, c := range res.Captures {
		lt := linkTypeSummary(c.LinkTypes)
		if len(c.LinkTypes) > 1 {
			names := make([]string, len(c.LinkTypes))
			for i, l := range c.LinkTypes {
				names[i] = l.String()
			}
			lt = strings.Join(names, ", ")
		}
		start, span := "-", "-"
		if c.Packets > 0 {
			start = time.Unix(0, c.First).UTC().Format("2006-01-02 15:04:05")
			span = duration(time.Duration(c.Last - c.First))
		}
		rows = append(rows, []string{shorten(filepath.Base(c.Path), 32), c.Format, lt, count(c.Packets), count(c.Duplicates), start, span})
	}
	p.table([]string{"File", "Format", "Link type", "Packets", "Dups", "Start (UTC)", "Span"}, rows, 3, 4, 6)
	for _, c := range res.Captures {
		for _, wng := range c.Warnings {
			p.printf("  warning: %s: %s\n", c.Path, wng)
		}
	}
	p.printf("\n")
}

func (p *printer) servers(res *analyze.Result) {
	if len(res.Servers) == 0 {
		p.printf("No TCP handshake (SYN) in the capture.\n")
		return
	}
	p.printf("Handshakes per server endpoint\n")
	var rows [][]string
	for _, s := range res.Servers {
		o := s.Outcomes
		other := s.Attempts - o[analyze.Established] - o[analyze.Unanswered] - o[analyze.Refused] - o[analyze.ICMPUnreachable]
		rows = append(rows, []string{
			s.Server.String(), strconv.Itoa(s.Clients), strconv.Itoa(s.Attempts),
			strconv.Itoa(o[analyze.Established]), strconv.Itoa(s.Retransmitted),
			strconv.Itoa(o[analyze.Unanswered]), strconv.Itoa(o[analyze.Refused]),
			strconv.Itoa(o[analyze.ICMPUnreachable]), strconv.Itoa(other),
		})
	}
	p.table([]string{"Server", "Clients", "Attempts", "Established", "SYN retx", "Unanswered", "Refused", "ICMP", "Other"}, rows, 1, 2, 3, 4, 5, 6, 7, 8)
	p.printf("  SYN retx: attempts that needed at least one SYN retransmission.\n")
	others := map[analyze.Outcome]int{}
	for _, s := range res.Servers {
		for o, n := range s.Outcomes {
			others[o] += n
		}
	}
	for _, o := range []analyze.Outcome{analyze.HalfOpen, analyze.AnsweredByACK, analyze.ResetAfterACK, analyze.Incomplete} {
		if n := others[o]; n > 0 {
			p.printf("  Other: %d %s: %s.\n", n, o, outcomeMeaning[o])
		}
	}
	p.printf("\n")
}

var outcomeMeaning = map[analyze.Outcome]string{
	analyze.HalfOpen:      "the server's SYN-ACK was never acknowledged",
	analyze.AnsweredByACK: "the server answered the SYN with a bare ACK (TIME_WAIT or stale socket)",
	analyze.ResetAfterACK: "the server reset the connection right after the handshake",
	analyze.Incomplete:    "the capture ended while the handshake could still go on",
}

// shorten cuts s to n runes, keeping its end, which tells files apart.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

func (p *printer) failed(res *analyze.Result, limit int) {
	var list []*analyze.Attempt
	n := 0
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if !a.Outcome.Failed() && a.Retransmissions() == 0 {
			continue
		}
		n++
		if len(list) < limit {
			list = append(list, a)
		}
	}
	if n == 0 {
		return
	}
	p.printf("Attempts that failed or needed a SYN retransmission (%d)\n", n)
	for _, a := range list {
		p.printf("  %s  %s → %s  %s\n", clock(a.FirstSYN()), a.Client, a.Server, a.Outcome)
		p.printf("                %s\n", detail(a))
	}
	if n > len(list) {
		p.printf("  … and %d more (all of them are in --format json)\n", n-len(list))
	}
	p.printf("\n")
}

// detail says in a sentence what the capture shows of an attempt.
func detail(a *analyze.Attempt) string {
	first := a.FirstSYN()
	syns := fmt.Sprintf("%d SYNs at %s s", len(a.SYNs), schedule(a))
	if len(a.SYNs) == 1 {
		syns = "1 SYN"
	}
	switch a.Outcome {
	case analyze.Refused:
		for _, r := range a.Resets {
			if r.FromServer {
				return fmt.Sprintf("%s; RST from the server %s after the first SYN: nothing listens on the port", syns, since(r.Time-first))
			}
		}
	case analyze.ICMPUnreachable:
		for _, e := range a.ICMP {
			if e.AboutClientSegment {
				return fmt.Sprintf("%s; ICMP %s from %s %s after the first SYN", syns, analyze.ICMPMeaning(e.V6, e.Type, e.Code), e.Reporter, since(e.Time-first))
			}
		}
	case analyze.Unanswered:
		return syns + "; nothing came back"
	case analyze.AnsweredByACK:
		return fmt.Sprintf("%s; the server answered %d times with a bare ACK instead of a SYN-ACK (a TIME_WAIT or stale socket on this 4-tuple)", syns, len(a.AckAnswers))
	case analyze.ResetAfterACK:
		return fmt.Sprintf("%s; the handshake completed, then the server reset it", syns)
	case analyze.HalfOpen:
		return fmt.Sprintf("%s; the server sent %d SYN-ACKs, none acknowledged", syns, len(a.SYNACKs))
	case analyze.Incomplete:
		return fmt.Sprintf("%s; the capture ended %s after the first SYN", syns, since(a.SYNs[len(a.SYNs)-1].Time-first))
	case analyze.Established:
		return fmt.Sprintf("%s; connected %s after the first SYN", syns, since(int64(a.ConnectTime*1e9)))
	}
	return syns
}

// since formats a short interval for a sentence: "35 µs", "2.1 ms", "230 ms", "3.1 s".
func since(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// schedule lists when each SYN was sent relative to the first: "+0, 1.0, 3.0".
func schedule(a *analyze.Attempt) string {
	var b strings.Builder
	b.WriteString("+0")
	for i, s := range a.SYNs[1:] {
		if i == 10 {
			fmt.Fprintf(&b, " … (%d more)", len(a.SYNs)-12)
			break
		}
		fmt.Fprintf(&b, ", %.1f", float64(s.Time-a.SYNs[0].Time)/1e9)
	}
	return b.String()
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

func clock(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000") }

func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
