package report

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// maxMarks is how many SYN transmissions the timelines of a page draw one
// by one, shared among them, a SYN-ACK, RST or ICMP error counting half;
// past its share, a timeline counts its SYNs in time bins. A variable, so
// tests can bin small captures.
var maxMarks = 3500

// maxBars is how many bars the binned timelines of a page draw, shared
// among them: past its share, a timeline widens its bins. With a lane per
// source, an outcome per colour and 150 bins, a day of SYNs from many
// sources would draw 29,000 bars, 4 MB of page.
var maxBars = 5000

// Limits that keep the page readable and small whatever the capture.
const (
	// maxLanes is how many sources a timeline gives a lane of their own.
	maxLanes = 24
	// maxPAWSPoints is how many SYNs a TSval chart draws (shared by the
	// charts of one source when there are several captures).
	maxPAWSPoints = 400
	// maxQueueCharts and maxLatencyCharts bound the charts per kind.
	maxQueueCharts   = 3
	maxLatencyCharts = 4
	// maxStepPoints bounds a step line (the accept queue's occupancy).
	maxStepPoints = 1500
	// maxQueueMarks bounds the marks of third ACKs a full queue ignored or
	// reset, per kind and chart.
	maxQueueMarks = 300
	// maxSourceRows and maxAttemptRows bound the tables.
	maxSourceRows  = 200
	maxAttemptRows = 100
)

// timebase puts the times of every capture on one axis: seconds since the
// earliest packet, with a joined server capture's times moved onto the
// client capture's clock (minus the clock offset).
type timebase struct {
	t0    int64
	shift []int64 // per capture, ns subtracted from its times
	span  float64 // seconds
}

func newTimebase(res *analyze.Result) timebase {
	tb := timebase{shift: make([]int64, len(res.Captures))}
	if j := res.Join; res.Joined() {
		tb.shift[j.Server] = int64(j.Offset * 1e9)
	}
	first, last, any := int64(0), int64(0), false
	for i, c := range res.Captures {
		if c.Packets == 0 {
			continue
		}
		f, l := c.First-tb.shift[i], c.Last-tb.shift[i]
		if !any || f < first {
			first = f
		}
		if !any || l > last {
			last = l
		}
		any = true
	}
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if t := a.FirstSYN() - tb.shift[a.Capture]; !any || t < first {
			first, any = t, true
		}
	}
	tb.t0 = first
	tb.span = round4(float64(last-first) / 1e9)
	return tb
}

// x is a capture time on the common axis, in seconds.
func (tb timebase) x(capture int, t int64) float64 {
	return round4(float64(t-tb.shift[capture]-tb.t0) / 1e9)
}

// joined reports whether res holds a joined client and server capture.
func joined(res *analyze.Result) bool { return res.Joined() }

// buildHTML lays out the HTML report as data: findings first, then the
// charts that show the evidence, the tables, and the details the terminal
// report also has.
func buildHTML(res *analyze.Result, opt Options) *htmlPage {
	tb := newTimebase(res)
	p := &htmlPage{Title: "syndiag report"}
	for _, c := range res.Captures {
		s := fmt.Sprintf("%s (%s side", DisplayName(c.Path), c.Role)
		if c.RoleInferred {
			s += ", inferred"
		}
		s += ")"
		if c.Packets > 0 {
			s += fmt.Sprintf(": %s packets from %s UTC, %s", count(c.Packets), time.Unix(0, c.First).UTC().Format("2006-01-02 15:04:05"), wording.Span(time.Duration(c.Last-c.First)))
		}
		p.Subtitle = append(p.Subtitle, s)
	}
	if len(res.Captures) == 1 {
		p.Title = "syndiag report: " + captureName(res.Captures[0].Path)
	}
	p.Summary = htmlSummary(res)
	p.NoFindings = noFindings(res)
	for _, f := range res.Findings {
		hf := htmlFinding{Kind: string(f.Kind), Severity: f.Severity.String(), Confidence: f.Confidence, Summary: f.Summary, Evidence: f.Evidence, Recommendation: f.Recommendation}
		if len(res.Captures) > 1 {
			hf.Where = captureName(res.Captures[f.Capture].Path)
		}
		if f.AffectedAttempts > 0 {
			hf.Affected = fmt.Sprintf("%s from %s", wording.Plural(f.AffectedAttempts, "attempt"), wording.Plural(f.AffectedSources, "source"))
		}
		p.Findings = append(p.Findings, hf)
	}
	sections := []htmlSection{timelineSection(res, tb), queueSection(res, tb), latencySection(res), pawsSection(res, tb)}
	// The timestamp charts come second when they show the diagnosis, last
	// when they only show timestamps.
	for _, f := range res.Findings {
		if f.Kind == analyze.KindPerHostPAWS {
			sections = []htmlSection{sections[0], sections[3], sections[1], sections[2]}
			break
		}
	}
	for _, s := range sections {
		if len(s.Charts) > 0 || len(s.Notes) > 0 {
			p.Sections = append(p.Sections, s)
		}
	}
	p.Tables = append(p.Tables, sourceTable(res), attemptTable(res, tb))
	d := &page{}
	captures(d, res)
	join(d, res)
	hostEvidence(d, res)
	servers(d, res)
	latency(d, res)
	p.Details = d.blocks
	return p
}

// captureName is a capture's file name as the page shows it: as the
// terminal report does, with its control characters and bytes that are not
// UTF-8 written as escapes (DisplayName).
func captureName(path string) string { return DisplayName(filepath.Base(path)) }

// htmlSummary counts what the captures hold, in a few phrases.
func htmlSummary(res *analyze.Result) []string {
	if len(res.Attempts) == 0 {
		return []string{"No TCP handshake (SYN) in the capture."}
	}
	// Counted as triage counts them: a handshake seen in both captures of
	// a join once, as its client saw it.
	c := Summarize(res)
	syns := 0
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if countedOnce(res, a) {
			syns += len(a.SYNs)
		}
	}
	failed, retx := c.Failed, c.Retransmitted
	out := []string{
		fmt.Sprintf("%s (%s), %d failed, %d needed a SYN retransmission", wording.Plural(c.Attempts, "handshake attempt"), wording.Plural(syns, "SYN transmission"), failed, retx),
		fmt.Sprintf("%s, %s", wording.Plural(len(res.Sources), "client source address"), wording.Plural(len(res.Servers), "server endpoint")),
	}
	if len(res.Findings) == 0 {
		out = append(out, "no findings: every handshake completed at the first SYN, or no model found a cause")
	}
	return out
}
