package report

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows"
)

// DefaultTop is how many rows the long tables of the terminal and Markdown
// reports show when Options.Top is 0.
const DefaultTop = 20

// Options tune the human-readable reports.
type Options struct {
	// MaxAttempts bounds the list of failed attempts (default: Top's).
	MaxAttempts int
	// Top bounds the rows of the terminal and Markdown report's tables per
	// server endpoint and per source, for each capture (the most attempts
	// first), and says how many more there are: 0 means DefaultTop, a
	// negative number every row. A port scan of 1,000 ports is then 20
	// rows, not 1,000.
	Top int
	// Wide keeps file names whole in tables; otherwise they are cut, from
	// the front, to fit a terminal.
	Wide bool
	// Color enables ANSI colours in the terminal report.
	Color bool
}

// build lays out the report a person reads first: findings with their
// evidence and fix, then the captures, the handshakes and connect latency
// per server, the sources, and the worst attempts.
func build(res *analyze.Result, opt Options) *page {
	top := opt.Top
	if top == 0 {
		top = DefaultTop
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = top
		if top < 0 {
			opt.MaxAttempts = len(res.Attempts)
		}
	}
	p := &page{top: max(top, 0), wide: opt.Wide}
	findings(p, res)
	captures(p, res)
	join(p, res)
	hostEvidence(p, res)
	servers(p, res)
	latency(p, res)
	sources(p, res)
	failed(p, res, opt.MaxAttempts)
	return p
}

// noFindings is the headline of a report without findings: "nothing wrong"
// only where no handshake failed; failures no model explains are said to
// be unexplained, with their outcomes.
func noFindings(res *analyze.Result) string {
	failed := map[analyze.Outcome]int{}
	n, open := 0, 0
	for _, a := range res.Attempts {
		switch {
		case a.Outcome.Failed():
			failed[a.Outcome]++
			n++
		case a.Outcome == analyze.Incomplete:
			open++
		}
	}
	switch {
	case n == 0 && open == 0:
		return "Nothing wrong: every handshake in the capture completed."
	case n == 0:
		return fmt.Sprintf("Nothing wrong: every handshake in the capture completed, but for %s still going on when it ended.", wording.Plural(open, "attempt"))
	}
	var parts []string
	for _, o := range slices.Sorted(maps.Keys(failed)) {
		parts = append(parts, fmt.Sprintf("%d %s", failed[o], o))
	}
	return fmt.Sprintf("No cause found: %s failed (%s), and no model explains %s; see the attempts below.", wording.Plural(n, "handshake"), strings.Join(parts, ", "), map[bool]string{true: "it", false: "them"}[n == 1])
}

func findings(p *page, res *analyze.Result) {
	if len(res.Findings) == 0 {
		if len(res.Attempts) > 0 {
			p.heading("Findings")
			p.text(2, noFindings(res))
			p.gap()
		}
		return
	}
	p.heading(fmt.Sprintf("Findings (%d)", len(res.Findings)))
	p.gap()
	for _, f := range res.Findings {
		where := ""
		if len(res.Captures) > 1 {
			where = " in " + DisplayName(filepath.Base(res.Captures[f.Capture].Path))
		}
		label := fmt.Sprintf("%s%s, confidence %.2f", f.Kind, where, f.Confidence)
		if f.AffectedAttempts > 0 {
			label += fmt.Sprintf(", %s from %s", wording.Plural(f.AffectedAttempts, "attempt"), wording.Plural(f.AffectedSources, "source"))
		}
		p.blocks = append(p.blocks, block{kind: blockFinding, severity: f.Severity.String(), label: label, text: f.Summary, evidence: f.Evidence, action: f.Recommendation})
	}
}

func captures(p *page, res *analyze.Result) {
	p.heading("Captures")
	var rows [][]string
	for _, c := range res.Captures {
		names := make([]string, len(c.LinkTypes))
		for i, l := range c.LinkTypes {
			names[i] = l.Name()
		}
		lt := strings.Join(names, ", ")
		start, span := "-", "-"
		if c.Packets > 0 {
			start = time.Unix(0, c.First).UTC().Format("2006-01-02 15:04:05")
			span = wording.Span(time.Duration(c.Last - c.First))
		}
		rows = append(rows, []string{p.cut(DisplayName(filepath.Base(c.Path)), 26), c.Format, lt, count(c.Packets), count(c.Duplicates), start, span, string(c.Role)})
	}
	p.table([]string{"File", "Format", "Link type", "Packets", "Dups", "Start (UTC)", "Span", "Side"}, rows, 3, 4, 6)
	var notes []string
	for _, c := range res.Captures {
		if c.RoleInferred {
			notes = append(notes, fmt.Sprintf("%s: %s side, inferred: %s", DisplayName(filepath.Base(c.Path)), c.Role, c.RoleReason))
		}
		for _, w := range c.Warnings {
			notes = append(notes, fmt.Sprintf("warning: %s: %s", DisplayName(c.Path), w))
		}
		if n := orphans(c.Tracker); n != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", DisplayName(filepath.Base(c.Path)), n))
		}
		for _, n := range undecodedNotes(c.Undecoded) {
			notes = append(notes, fmt.Sprintf("%s: %s", DisplayName(filepath.Base(c.Path)), n))
		}
		if n := c.FilteredOut; n > 0 {
			notes = append(notes, fmt.Sprintf("%s: %s of %s left out by the packet selection (-Y/--filter, --since, --until); the figures are those of the rest", DisplayName(filepath.Base(c.Path)), wording.Plural(int(n), "frame"), count(c.Packets)))
		}
	}
	p.bullets(2, notes)
	p.gap()
}

// orphans says what answered no SYN of the capture, or "".
func orphans(st flows.TrackerStats) string {
	var parts []string
	if n := st.OrphanSYNACKs; n > 0 {
		parts = append(parts, wording.Plural(int(n), "SYN-ACK"))
	}
	if n := st.OrphanICMP; n > 0 {
		parts = append(parts, wording.Plural(int(n), "ICMP error"))
	}
	if len(parts) == 0 {
		return ""
	}
	why := "their SYNs came before the capture started or were not captured"
	if st.Evicted > 0 {
		why += ", or belonged to handshakes closed early by --max-open too long before"
	}
	return fmt.Sprintf("%s answered no SYN seen (orphans: %s)", strings.Join(parts, " and "), why)
}

func servers(p *page, res *analyze.Result) {
	if len(res.Servers) == 0 {
		p.text(0, "No TCP handshake (SYN) in the capture.")
		return
	}
	p.heading("Handshakes per server endpoint")
	var rows [][]string
	var capture []int
	others := map[analyze.Outcome]int{}
	for _, s := range res.Servers {
		o := s.Outcomes
		other := s.Attempts - o[analyze.Established] - o[analyze.Unanswered] - o[analyze.Refused] - o[analyze.ICMPUnreachable]
		capture = append(capture, s.Capture)
		rows = append(rows, p.withCapture(res, s.Capture, []string{
			s.Server.String(), strconv.Itoa(s.Clients), strconv.Itoa(s.Attempts),
			strconv.Itoa(o[analyze.Established]), strconv.Itoa(s.Retransmitted),
			strconv.Itoa(o[analyze.Unanswered]), strconv.Itoa(o[analyze.Refused]),
			strconv.Itoa(o[analyze.ICMPUnreachable]), strconv.Itoa(other),
		}))
		for k, n := range o {
			others[k] += n
		}
	}
	head, right := captureHeader(res, []string{"Server", "Clients", "Attempts", "Established", "SYN retx", "Unanswered", "Refused", "ICMP", "Other"}, 1, 2, 3, 4, 5, 6, 7, 8)
	rows, hidden := p.topRows(rows, capture)
	p.table(head, rows, right...)
	p.more(hidden)
	notes := []string{"SYN retx: attempts that needed at least one SYN retransmission."}
	retries := 0
	for _, s := range res.Servers {
		retries += s.Retries
	}
	if retries == 1 {
		notes = append(notes, "1 attempt followed a failure from the same host (a new port or ISN, once the client knew): the application's retry, or a new connection — the capture cannot tell intent; every failure still counts.")
	} else if retries > 1 {
		notes = append(notes, fmt.Sprintf("%d attempts followed a failure from the same host (a new port or ISN, once the client knew): the application's retries, or new connections — the capture cannot tell intent; every failure still counts.", retries))
	}
	for _, o := range []analyze.Outcome{analyze.HalfOpen, analyze.AnsweredByACK, analyze.ResetAfterACK, analyze.Incomplete} {
		if n := others[o]; n > 0 {
			notes = append(notes, fmt.Sprintf("Other: %d %s: %s.", n, o, outcomeMeaning[o]))
		}
	}
	for _, n := range notes {
		p.text(2, n)
	}
	p.gap()
}

var outcomeMeaning = map[analyze.Outcome]string{
	analyze.HalfOpen:      "the server's SYN-ACK was never acknowledged",
	analyze.AnsweredByACK: "the server answered the SYN with a bare ACK (TIME_WAIT or stale socket)",
	analyze.ResetAfterACK: "the server reset the connection right after the handshake",
	analyze.Incomplete:    "the capture ended while the handshake could still go on",
}

func latency(p *page, res *analyze.Result) {
	var rows [][]string
	var capture []int
	var notes []string
	for _, s := range res.Servers {
		l := s.Latency
		if l.Count == 0 {
			continue
		}
		capture = append(capture, s.Capture)
		rows = append(rows, p.withCapture(res, s.Capture, []string{s.Server.String(), strconv.Itoa(l.Count), wording.Latency(l.P50), wording.Latency(l.P90), wording.Latency(l.P99), wording.Latency(l.Max), fmt.Sprintf("%d (%s)", l.Retransmitted, wording.Percent(l.Retransmitted, l.Count))}))
		if l.Retransmitted > 0 {
			tail := fmt.Sprintf("%d of the %d connects at or above p99 did", l.TailRetransmitted, l.Tail)
			switch {
			case l.Tail == 1 && l.TailRetransmitted == 1:
				tail = "so did the slowest"
			case l.Tail == l.TailRetransmitted:
				tail = fmt.Sprintf("so did all %d at or above p99", l.Tail)
			}
			notes = append(notes, fmt.Sprintf("%s%s: p99 %s; %s of connects needed a SYN retransmission, and %s.", s.Server, inCapture(res, s.Capture), wording.Latency(l.P99), wording.Percent(l.Retransmitted, l.Count), tail))
		}
	}
	if len(rows) == 0 {
		return
	}
	p.heading("Connect latency (first SYN to the SYN-ACK the client took, as captured)")
	head, right := captureHeader(res, []string{"Server", "Answered", "p50", "p90", "p99", "max", "SYN retx"}, 1, 2, 3, 4, 5, 6)
	rows, hidden := p.topRows(rows, capture)
	p.table(head, rows, right...)
	p.more(hidden)
	if p.top > 0 && len(notes) > p.top {
		notes, hidden = notes[:p.top], len(notes)-p.top
		notes = append(notes, fmt.Sprintf("… and %d more such notes (--top 0 for all)", hidden))
	}
	for _, n := range notes {
		p.text(2, n)
	}
	p.gap()
}

func sources(p *page, res *analyze.Result) {
	if len(res.Sources) == 0 {
		return
	}
	p.heading(fmt.Sprintf("Sources (%s, as the capture sees them)", wording.Plural(len(res.Sources), "client address")))
	var rows [][]string
	var capture []int
	for _, s := range res.Sources {
		capture = append(capture, s.Capture)
		rows = append(rows, p.withCapture(res, s.Capture, []string{s.IP.String(), strconv.Itoa(s.Attempts), strconv.Itoa(s.Failed), strconv.Itoa(s.Retransmitted), s.Verdict}))
	}
	head, right := captureHeader(res, []string{"Address", "Attempts", "Failed", "SYN retx", "TCP timestamps"}, 1, 2, 3)
	rows, hidden := p.topRows(rows, capture)
	p.table(head, rows, right...)
	p.more(hidden)
	p.gap()
}

// failed lists the worst attempts first: the most SYNs sent (the longest
// hangs), then failures before delays, then the longest wait, then the
// earliest.
func failed(p *page, res *analyze.Result, limit int) {
	var worst []*analyze.Attempt
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if j := res.Join; res.Joined() && a.Capture == j.Server && a.Peer >= 0 {
			continue // the same attempt is listed as the client saw it
		}
		if a.Outcome.Failed() || a.Retransmissions() > 0 {
			worst = append(worst, a)
		}
	}
	slices.SortStableFunc(worst, func(a, b *analyze.Attempt) int {
		return cmp.Or(
			-cmp.Compare(len(a.SYNs), len(b.SYNs)),
			-cmp.Compare(boolInt(a.Outcome.Failed()), boolInt(b.Outcome.Failed())),
			-cmp.Compare(a.ConnectTime, b.ConnectTime),
			cmp.Compare(a.FirstSYN(), b.FirstSYN()),
		)
	})
	var list []string
	n := len(worst)
	for _, a := range worst {
		if len(list) < limit {
			head := fmt.Sprintf("%s  %s → %s  %s", wording.Clock(oneClock(res, a.Capture, a.FirstSYN())), a.Client, a.Server, a.Outcome)
			if a.Cause != analyze.NoCause && string(a.Cause) != string(a.Outcome) {
				head += " (" + string(a.Cause) + ")"
			}
			d := detail(a)
			if len(res.Captures) > 1 {
				d = DisplayName(filepath.Base(res.Captures[a.Capture].Path)) + ": " + d
			}
			list = append(list, head+"\n"+d)
		}
	}
	if n == 0 {
		return
	}
	p.heading(fmt.Sprintf("Worst attempts: failed or needed a SYN retransmission (%d)", n))
	p.bullets(2, list)
	p.more(n - len(list))
	p.gap()
}

// withCapture puts the capture's name before a table row when the report
// holds more than one capture.
func (p *page) withCapture(res *analyze.Result, capture int, row []string) []string {
	if len(res.Captures) < 2 {
		return row
	}
	return append([]string{p.cut(DisplayName(filepath.Base(res.Captures[capture].Path)), 24)}, row...)
}

// captureHeader is a table's header and right-aligned columns, with a
// Capture column first when the report holds more than one capture.
func captureHeader(res *analyze.Result, head []string, right ...int) ([]string, []int) {
	if len(res.Captures) < 2 {
		return head, right
	}
	moved := make([]int, len(right))
	for i, c := range right {
		moved[i] = c + 1
	}
	return append([]string{"Capture"}, head...), moved
}

// inCapture is " in NAME" when the report holds more than one capture.
func inCapture(res *analyze.Result, capture int) string {
	if len(res.Captures) < 2 {
		return ""
	}
	return " in " + DisplayName(filepath.Base(res.Captures[capture].Path))
}

// oneClock converts a time of a joined server capture to the client
// capture's clock, which the joined report's times are in.
func oneClock(res *analyze.Result, capture int, t int64) int64 {
	if j := res.Join; res.Joined() && capture == j.Server {
		return t - int64(j.Offset*1e9)
	}
	return t
}

// detail says in a sentence what the capture shows of an attempt.
func detail(a *analyze.Attempt) string {
	first := a.FirstSYN()
	syns := fmt.Sprintf("%d SYNs at %s s", len(a.SYNs), a.SYNOffsets())
	if len(a.SYNs) == 1 {
		syns = "1 SYN"
	}
	if a.RetryOf >= 0 {
		syns = "after a failure from the same host (a retry, or a new connection); " + syns
	}
	switch a.Outcome {
	case analyze.Refused:
		for _, r := range a.Resets {
			if r.FromServer {
				return fmt.Sprintf("%s; RST from the server %s after the first SYN: nothing listens on the port", syns, wording.Interval(time.Duration(r.Time-first)))
			}
		}
	case analyze.ICMPUnreachable:
		for _, e := range a.ICMP {
			if e.AboutClientSegment {
				return fmt.Sprintf("%s; ICMP %s from %s %s after the first SYN", syns, analyze.ICMPMeaning(e.V6, e.Type, e.Code), e.Reporter, wording.Interval(time.Duration(e.Time-first)))
			}
		}
	case analyze.Unanswered:
		s := syns + "; nothing came back"
		if sc := a.Schedule; sc.GaveUp {
			s += "; the client gave up"
			if len(sc.SynRetries) > 0 {
				s += fmt.Sprintf(" (as Linux does with tcp_syn_retries=%s)", wording.Or(sc.SynRetries))
			}
		}
		return s
	case analyze.AnsweredByACK:
		return fmt.Sprintf("%s; the server answered %d times with a bare ACK instead of a SYN-ACK (a TIME_WAIT or stale socket on this 4-tuple)", syns, len(a.AckAnswers))
	case analyze.ResetAfterACK:
		return fmt.Sprintf("%s; the handshake completed, then the server reset it", syns)
	case analyze.HalfOpen:
		return fmt.Sprintf("%s; the server sent %d SYN-ACKs, none acknowledged", syns, len(a.SYNACKs))
	case analyze.Incomplete:
		return fmt.Sprintf("%s; the capture ended %s after the first SYN", syns, wording.Interval(time.Duration(a.SYNs[len(a.SYNs)-1].Time-first)))
	case analyze.Established:
		return fmt.Sprintf("%s; connected %s after the first SYN", syns, wording.Interval(time.Duration(a.ConnectTime*1e9)))
	}
	return syns
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// shorten cuts s to n runes, keeping its end, which tells files apart.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

func count(n int64) string { return strconv.FormatInt(n, 10) }
