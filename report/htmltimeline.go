package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// outcomeStyle is how an outcome is drawn: a colour (CSS class o-KIND, from
// a colour-blind safe palette) and a shape of its own, so that colour is
// never the only cue.
type outcomeStyle struct {
	outcome analyze.Outcome
	shape   string
	label   string
}

var outcomeStyles = []outcomeStyle{
	{analyze.Established, "circle", "established"},
	{analyze.Unanswered, "cross", "unanswered"},
	{analyze.Refused, "square", "refused (RST)"},
	{analyze.ICMPUnreachable, "diamond", "ICMP unreachable"},
	{analyze.HalfOpen, "triangle-down", "half-open (SYN-ACK never acknowledged)"},
	{analyze.AnsweredByACK, "triangle", "answered by a bare ACK"},
	{analyze.ResetAfterACK, "plus", "reset after the handshake"},
	{analyze.Incomplete, "star", "incomplete (capture ended)"},
}

// lossStyles are the signs beside a SYN of a joined client capture that
// say where it was lost (Attempt.SYNLostAt): arrows in the direction of the
// packet that died, so the sign reads without its colour.
var lossStyles = []struct {
	at          analyze.LostAt
	sign, label string
}{
	{analyze.LostClientToServer, "→", "lost client_to_server: the SYN never reached the server capture"},
	{analyze.LostServer, "S", "lost at the server: it saw the SYN and sent no SYN-ACK"},
	{analyze.LostServerToClient, "←", "lost server_to_client: the SYN-ACK never reached the client capture"},
	{analyze.LostUnknown, "?", "lost, where is unknown"},
}

// timelineSection draws a timeline per capture: a lane per client source
// address, each SYN transmission a mark shaped and coloured by the
// attempt's outcome (an outline when nothing answered that transmission),
// SYN-ACKs and RSTs as ticks. Joined captures share one clock.
func timelineSection(res *analyze.Result, tb timebase) htmlSection {
	s := htmlSection{ID: "timeline", Title: "Timeline of handshake attempts",
		Intro: "One lane per client address; each mark is one SYN transmission, placed at the time it was captured, with the shape and colour of the attempt's outcome. A filled mark was answered before the next transmission, an outline was not: a retransmission schedule shows as a row of outlines 1, 2, 4 s apart. Ticks above a lane are SYN-ACKs, below it RSTs and ICMP errors. Hover a mark for its attempt."}
	if len(res.Attempts) == 0 {
		return s
	}
	order := captureOrder(res)
	// The timelines share the page's marks and bars, so that many
	// captures do not make it large.
	charted := 0
	for _, ci := range order {
		if slices.ContainsFunc(res.Attempts, func(a analyze.Attempt) bool { return a.Capture == ci }) {
			charted++
		}
	}
	share := budget{marks: maxMarks / max(charted, 1), bars: maxBars / max(charted, 1)}
	for _, ci := range order {
		c := timeline(res, tb, ci, share)
		if c != nil {
			s.Charts = append(s.Charts, *c)
		}
	}
	if joined(res) {
		j := res.Join
		s.Notes = append(s.Notes, fmt.Sprintf("The server capture's times are moved onto the client capture's clock: server minus client is %+.3f s ± %.3f s, from %s seen in both.", j.Offset, j.Uncertainty, wording.Plural(j.Matched, "attempt")))
	}
	return s
}

// captureOrder lists the captures to chart: the client side first when two
// were joined.
func captureOrder(res *analyze.Result) []int {
	var order []int
	if joined(res) {
		order = append(order, res.Join.Client, res.Join.Server)
		for i := range res.Captures {
			if i != res.Join.Client && i != res.Join.Server {
				order = append(order, i)
			}
		}
		return order
	}
	for i := range res.Captures {
		order = append(order, i)
	}
	return order
}

// lanes assigns the attempts of a capture to lanes by client address: the
// busiest maxLanes-1 addresses (then those with the most failures) get their own, in address
// order, and the rest share the last.
func lanes(res *analyze.Result, capture int) (names []string, lane map[netip.Addr]int, attempts []int) {
	type src struct {
		ip               netip.Addr
		attempts, failed int
	}
	by := map[netip.Addr]*src{}
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Capture != capture {
			continue
		}
		attempts = append(attempts, i)
		s := by[a.Client.Addr()]
		if s == nil {
			s = &src{ip: a.Client.Addr()}
			by[s.ip] = s
		}
		s.attempts++
		if a.Outcome.Failed() {
			s.failed++
		}
	}
	all := make([]*src, 0, len(by))
	for _, s := range by {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *src) int {
		return cmp.Or(cmp.Compare(b.attempts, a.attempts), cmp.Compare(b.failed, a.failed), a.ip.Compare(b.ip))
	})
	keep := all
	if len(all) > maxLanes {
		keep = all[:maxLanes-1]
	}
	slices.SortFunc(keep, func(a, b *src) int { return a.ip.Compare(b.ip) })
	lane = map[netip.Addr]int{}
	for i, s := range keep {
		lane[s.ip] = i
		names = append(names, s.ip.String())
	}
	if len(all) > len(keep) {
		rest := len(all) - len(keep)
		for _, s := range all[len(keep):] {
			lane[s.ip] = len(keep)
		}
		names = append(names, fmt.Sprintf("%d other addresses", rest))
	}
	return names, lane, attempts
}

// budget is what one timeline may draw: SYN marks, then bars.
type budget struct{ marks, bars int }

func timeline(res *analyze.Result, tb timebase, ci int, share budget) *chart {
	names, lane, idx := lanes(res, ci)
	if len(idx) == 0 {
		return nil
	}
	c := res.Captures[ci]
	ch := &chart{ID: fmt.Sprintf("timeline-%d", ci), Kind: "timeline", X: timeAxis(tb.span), Lanes: names}
	ch.Title = fmt.Sprintf("%s (%s side)", captureName(c.Path), c.Role)
	if joined(res) && ci == res.Join.Server {
		ch.Title += ", on the client's clock"
	}
	syns := 0
	for _, i := range idx {
		syns += len(res.Attempts[i].SYNs)
	}
	outcomes := map[analyze.Outcome]int{}
	for _, i := range idx {
		outcomes[res.Attempts[i].Outcome]++
	}
	var parts []string
	for _, st := range outcomeStyles {
		if n := outcomes[st.outcome]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st.outcome))
		}
	}
	ch.Desc = fmt.Sprintf("Timeline of %s and %s from %s in %s: %s.", wording.Plural(len(idx), "attempt"), wording.Plural(syns, "SYN transmission"), wording.Plural(len(by(res, idx)), "client address"), captureName(c.Path), strings.Join(parts, ", "))
	// Each lane is as tall as the rows its overlapping attempts need, two
	// at least; a row is 12 px.
	var row map[int]int
	rows := make([]int, len(names))
	// A tick costs the page about half what a SYN's mark does: past its
	// share, the timeline counts SYNs in bins.
	ticks := 0
	for _, i := range idx {
		a := &res.Attempts[i]
		ticks += len(a.SYNACKs) + len(a.Resets) + len(a.ICMP)
	}
	binned := syns+ticks/2 > share.marks
	if binned {
		for i := range rows {
			rows[i] = 2
		}
	} else {
		row, rows = subRows(res, idx, lane, len(names))
	}
	ch.LaneEdges = []float64{0}
	ch.Y = axis{Label: "client address"}
	for i, n := range names {
		lo := ch.LaneEdges[i]
		hi := lo + float64(max(rows[i], 2))
		ch.LaneEdges = append(ch.LaneEdges, hi)
		ch.Y.Ticks = append(ch.Y.Ticks, tick{V: (lo + hi) / 2, Label: n})
	}
	ch.Y.Max = ch.LaneEdges[len(names)]
	ch.Height = max(int(12*ch.Y.Max), 60)
	if binned {
		binnedTimeline(res, tb, ch, idx, lane, syns, share.bars)
	} else {
		markTimeline(res, tb, ch, idx, lane, row, rows)
	}
	if joined(res) && ci == res.Join.Client {
		ch.Notes = append(ch.Notes, lossNotes(res, idx, binned)...)
	}
	if len(names) > 0 && strings.HasSuffix(names[len(names)-1], "other addresses") {
		ch.Notes = append(ch.Notes, fmt.Sprintf("The last lane gathers the %s: lanes are kept for the %d addresses with the most attempts, then failures.", names[len(names)-1], maxLanes-1))
	}
	return ch
}

// lossNotes says where the SYNs of a joined client capture were lost: in
// words when the timeline is binned and draws no signs, and how many
// attempts the server capture could not tell about.
func lossNotes(res *analyze.Result, idx []int, binned bool) []string {
	n := map[analyze.LostAt]int{}
	unknown := 0
	for _, i := range idx {
		a := &res.Attempts[i]
		if a.SYNLostAt == nil && a.LostAt == analyze.LostUnknown {
			unknown++
		}
		for _, at := range a.SYNLostAt {
			n[at]++
		}
	}
	var out []string
	if binned {
		var parts []string
		for _, st := range lossStyles {
			if n[st.at] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n[st.at], st.at))
			}
		}
		if len(parts) > 0 {
			out = append(out, "Where the SYNs were lost, from both captures (not drawn in bins): "+strings.Join(parts, ", ")+".")
		}
	}
	if unknown > 0 {
		out = append(out, fmt.Sprintf("%s began while the server capture was not running: where their SYNs were lost is not known.", wording.Plural(unknown, "attempt")))
	}
	return out
}

// by returns the distinct client addresses of the attempts.
func by(res *analyze.Result, idx []int) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for _, i := range idx {
		m[res.Attempts[i].Client.Addr()] = true
	}
	return m
}

// maxRows is how many rows a lane splits into for attempts that overlap.
const maxRows = 8

// subRows spreads the attempts of each lane over rows, so that attempts
// that overlap in time do not hide each other: each goes to the first row
// whose last attempt ended before it began (rows wrap past maxRows). It
// returns the row of each attempt and the rows each lane needed.
func subRows(res *analyze.Result, idx []int, lane map[netip.Addr]int, lanes int) (map[int]int, []int) {
	ends := make([][]int64, lanes) // per lane, the end of each row's last attempt
	row := map[int]int{}
	wrap := make([]int, lanes)
	for _, i := range idx {
		a := &res.Attempts[i]
		l := lane[a.Client.Addr()]
		end := a.SYNs[len(a.SYNs)-1].Time
		if n := len(a.SYNACKs); n > 0 {
			end = max(end, a.SYNACKs[n-1].Time)
		}
		r := slices.IndexFunc(ends[l], func(e int64) bool { return e < a.FirstSYN() })
		switch {
		case r >= 0:
		case len(ends[l]) < maxRows:
			ends[l] = append(ends[l], 0)
			r = len(ends[l]) - 1
		default:
			r = wrap[l] % maxRows
			wrap[l]++
		}
		// A gap of 50 ms keeps marks of neighbouring attempts apart.
		ends[l][r] = end + 50e6
		row[i] = r
	}
	rows := make([]int, lanes)
	for l := range rows {
		rows[l] = max(len(ends[l]), 1)
	}
	return row, rows
}

// markTimeline draws every SYN, SYN-ACK, RST and ICMP error, each
// attempt in its row of its lane.
func markTimeline(res *analyze.Result, tb timebase, ch *chart, idx []int, lane map[netip.Addr]int, row map[int]int, rows []int) {
	marks := map[analyze.Outcome]*series{}
	joins := series{Name: "SYNs of one attempt", Style: "join", Kind: seriesSegments, NoLegend: true}
	synacks := series{Name: "SYN-ACK", Style: "synack", Kind: seriesTicksUp}
	rsts := series{Name: "RST", Style: "rst", Kind: seriesTicksDown}
	icmps := series{Name: "ICMP error", Style: "icmp", Kind: seriesTicksDown, Dashed: true}
	lost := map[analyze.LostAt]*series{}
	for _, st := range lossStyles {
		lost[st.at] = &series{Name: st.label, Style: "lost-" + string(st.at), Kind: seriesLetters, Shape: st.sign}
	}
	for _, i := range idx {
		a := &res.Attempts[i]
		l := lane[a.Client.Addr()]
		lo, hi := ch.LaneEdges[l], ch.LaneEdges[l+1]
		y := round4(lo + (hi-lo)*(float64(row[i])+0.5)/float64(rows[l]))
		m := marks[a.Outcome]
		if m == nil {
			st := styleOf(a.Outcome)
			m = &series{Name: st.label, Style: "o-" + string(a.Outcome), Kind: seriesMarks, Shape: st.shape}
			marks[a.Outcome] = m
		}
		m.Count++ // the legend counts connections, not SYN transmissions
		who := fmt.Sprintf("%s → %s", a.Client, a.Server)
		if a.ClientSeenAs.IsValid() {
			who = fmt.Sprintf("%s (seen as %s) → %s", a.Client, a.ClientSeenAs, a.Server)
		}
		cause := ""
		if a.Cause != analyze.NoCause && string(a.Cause) != string(a.Outcome) {
			cause = ", " + string(a.Cause)
		}
		answered := a.SYNsAnswered()
		for k, s := range a.SYNs {
			t := fmt.Sprintf("%s: SYN %d of %d at %s s (%s%s)", who, k+1, len(a.SYNs), num(tb.x(a.Capture, s.Time)), a.Outcome, cause)
			if !answered[k] {
				t += ", no answer"
			}
			m.Points = append(m.Points, point{X: tb.x(a.Capture, s.Time), Y: y, Hollow: !answered[k], Title: t})
			if k < len(a.SYNLostAt) && a.SYNLostAt[k] != analyze.LostNone {
				l := lost[a.SYNLostAt[k]]
				if l == nil {
					l = lost[analyze.LostUnknown]
				}
				m.Points[len(m.Points)-1].Title += ", lost at " + string(a.SYNLostAt[k])
				l.Points = append(l.Points, point{X: tb.x(a.Capture, s.Time), Y: y, Title: t + ", lost at " + string(a.SYNLostAt[k])})
			}
		}
		if len(a.SYNs) > 1 {
			joins.Points = append(joins.Points, point{X: tb.x(a.Capture, a.FirstSYN()), Y: y, X2: tb.x(a.Capture, a.SYNs[len(a.SYNs)-1].Time), Y2: y})
		}
		for k, s := range a.SYNACKs {
			synacks.Points = append(synacks.Points, point{X: tb.x(a.Capture, s.Time), Y: y, Title: fmt.Sprintf("%s: SYN-ACK %d at %s s", who, k+1, num(tb.x(a.Capture, s.Time)))})
		}
		for _, r := range a.Resets {
			from := "client"
			if r.FromServer {
				from = "server"
			}
			rsts.Points = append(rsts.Points, point{X: tb.x(a.Capture, r.Time), Y: y, Title: fmt.Sprintf("%s: RST from the %s at %s s", who, from, num(tb.x(a.Capture, r.Time)))})
		}
		for _, e := range a.ICMP {
			icmps.Points = append(icmps.Points, point{X: tb.x(a.Capture, e.Time), Y: y, Title: fmt.Sprintf("%s: ICMP %s from %s at %s s", who, analyze.ICMPMeaning(e.V6, e.Type, e.Code), e.Reporter, num(tb.x(a.Capture, e.Time)))})
		}
	}
	if len(joins.Points) > 0 {
		ch.Series = append(ch.Series, joins)
	}
	for _, st := range outcomeStyles {
		if m := marks[st.outcome]; m != nil {
			ch.Series = append(ch.Series, *m)
		}
	}
	for _, s := range []series{synacks, rsts, icmps} {
		if len(s.Points) > 0 {
			ch.Series = append(ch.Series, s)
		}
	}
	for _, st := range lossStyles {
		if l := lost[st.at]; len(l.Points) > 0 {
			ch.Series = append(ch.Series, *l)
		}
	}
}

// binnedTimeline counts the SYNs per lane, time bin and outcome, and draws
// each count as a bar in the lane, stacked by outcome: a capture with more
// SYNs than its share of maxMarks stays readable and small. Bins are about
// 150 to a chart, fewer and wider when that would draw more bars than
// maxBars, the timeline's share of maxBars.
func binnedTimeline(res *analyze.Result, tb timebase, ch *chart, idx []int, lane map[netip.Addr]int, syns, maxBars int) {
	type key struct{ lane, bin int }
	width := binWidth(tb.span, 150)
	var counts map[analyze.Outcome]map[key]int
	var total map[key]int
	var nb, bars int
	attempts := map[analyze.Outcome]int{} // the legend counts connections
	for _, i := range idx {
		attempts[res.Attempts[i].Outcome]++
	}
	for {
		nb = int(tb.span/width) + 1
		counts, total, bars = map[analyze.Outcome]map[key]int{}, map[key]int{}, 0
		for _, i := range idx {
			a := &res.Attempts[i]
			l := lane[a.Client.Addr()]
			for _, s := range a.SYNs {
				b := min(int(tb.x(a.Capture, s.Time)/width), nb-1)
				if counts[a.Outcome] == nil {
					counts[a.Outcome] = map[key]int{}
				}
				if counts[a.Outcome][key{l, b}] == 0 {
					bars++
				}
				counts[a.Outcome][key{l, b}]++
				total[key{l, b}]++
			}
		}
		if bars <= maxBars || nb == 1 {
			break
		}
		width = widerBin(width)
	}
	usual := binWidth(tb.span, 150)
	peak := 0
	for _, n := range total {
		peak = max(peak, n)
	}
	base := map[key]float64{}
	for _, st := range outcomeStyles {
		m := counts[st.outcome]
		if m == nil {
			continue
		}
		s := series{Name: st.label, Style: "o-" + string(st.outcome), Kind: seriesBars, Shape: st.shape}
		keys := make([]key, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.lane, b.lane), cmp.Compare(a.bin, b.bin)) })
		for _, k := range keys {
			n := m[k]
			// Bars fill up to 0.8 of the lane, bottom up.
			lo, hi := ch.LaneEdges[k.lane], ch.LaneEdges[k.lane+1]
			h := 0.8 * (hi - lo) * float64(n) / float64(peak)
			y0 := hi - 0.1*(hi-lo) - base[k]
			base[k] += h
			x := round4(float64(k.bin) * width)
			s.Points = append(s.Points, point{X: x, X2: round4(x + width), Y: round4(y0), Y2: round4(y0 - h),
				Title: fmt.Sprintf("%s: %s (%s) between %s and %s s", ch.Lanes[k.lane], wording.Plural(n, "SYN"), st.outcome, num(x), num(round4(x+width)))})
		}
		s.Count = attempts[st.outcome]
		ch.Series = append(ch.Series, s)
	}
	ch.Notes = append(ch.Notes, fmt.Sprintf("%s are too many to draw one by one: each bar counts the SYNs of its lane in a %s s bin, stacked by outcome; a full-height bar is %s. SYN-ACKs and RSTs are not drawn.", wording.Plural(syns, "SYN transmission"), num(width), wording.Plural(peak, "SYN")))
	if width > usual {
		ch.Notes = append(ch.Notes, fmt.Sprintf("The bins are %s s wide instead of %s s: narrower ones would draw more than %d bars, too large a page.", num(width), num(usual), maxBars))
	}
}

func styleOf(o analyze.Outcome) outcomeStyle {
	for _, s := range outcomeStyles {
		if s.outcome == o {
			return s
		}
	}
	return outcomeStyle{o, "circle", string(o)}
}

// binWidths are the round bin widths, in seconds.
var binWidths = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200}

// binWidth picks a round bin width that splits span seconds into at most n
// bins.
func binWidth(span float64, n int) float64 {
	for _, w := range binWidths {
		if span/w <= float64(n) {
			return w
		}
	}
	w := binWidths[len(binWidths)-1]
	for span/w > float64(n) {
		w *= 2
	}
	return w
}

// widerBin is the next round bin width after w.
func widerBin(w float64) float64 {
	for _, v := range binWidths {
		if v > w {
			return v
		}
	}
	return w * 2
}
