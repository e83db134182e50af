package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// pawsSection draws, per client source address that sent TCP timestamps,
// each SYN's TSval against time, with the per-host PAWS replay's decision:
// hosts behind one NAT address show as parallel clock lines, and the SYNs
// the rule drops sit below the stamp the server remembered. The shape is
// the rule's decision, the colour what happened to the SYN, so a server
// that runs the rule shows only red crosses and blue circles.
func pawsSection(res *analyze.Result, tb timebase) htmlSection {
	s := htmlSection{ID: "paws", Title: "TCP timestamps per source address (per-host PAWS)", Small: true,
		Intro: "Each SYN's TSval against the time it was captured, one chart per client address. Several hosts behind one NAT address show as parallel lines, one per timestamp clock. The shape is what the per-host PAWS rule of Linux < 4.12 with net.ipv4.tcp_tw_recycle=1 decides when the capture is replayed through it (a circle: accepted, a cross: rejected, because the SYN's TSval is behind the stamp the server stored when it closed a connection from that address less than 60 s before; the stamp is the black line); the colour is what happened to the SYN (blue: answered, red: no answer). Crosses that were answered mean the server did not run the rule."}
	var order []int
	for _, ci := range captureOrder(res) {
		if joined(res) && ci == res.Join.Client {
			continue // the rule keys on the addresses the server sees
		}
		order = append(order, ci)
	}
	// The captures share the page's points, so that many do not make it
	// large.
	limit := maxPAWSPoints / max(len(order), 1)
	for _, ci := range order {
		i := slices.IndexFunc(res.PAWS, func(r analyze.PAWSReplay) bool { return r.Capture == ci })
		if i < 0 {
			continue
		}
		// Charts only where the rule could have dropped a SYN: a server
		// side with stamps stored and SYNs behind them. Elsewhere the
		// page says plainly why it cannot apply.
		replay := res.PAWS[i]
		if replay.Scope != analyze.PAWSCanDrop {
			s.Notes = append(s.Notes, captureName(res.Captures[ci].Path)+": "+pawsCannotApply[replay.Scope])
			continue
		}
		s.Charts = append(s.Charts, pawsCharts(res, tb, replay, limit, &s)...)
	}
	found := map[int]bool{}
	for _, f := range res.Findings {
		if f.Kind == analyze.KindPerHostPAWS {
			found[f.Capture] = true
			s.Notes = append(s.Notes, "Finding per_host_paws: "+f.Summary+".")
		}
	}
	if len(found) == 0 && len(s.Charts) > 0 {
		s.Notes = append(s.Notes, "No per_host_paws finding: the SYNs the rule would reject are not the ones that went unanswered, so the server did not apply it, or too few SYNs were lost to tell.")
	}
	return s
}

// pawsCannotApply says why the per-host PAWS rule cannot have dropped any
// SYN of a capture.
var pawsCannotApply = map[analyze.PAWSScope]string{
	analyze.PAWSClientSide:   "a client-side capture: the per-host PAWS rule keys on the address the server sees, so it is not replayed here.",
	analyze.PAWSNoTimestamps: "no SYN carries a TCP timestamp, so the per-host PAWS rule (it checks the TSval) cannot drop any.",
	analyze.PAWSNoStamp:      "the server closed no connection first, so it stored no timestamp to compare later SYNs with: the per-host PAWS rule cannot drop any SYN here.",
	analyze.PAWSNoneBehind:   "no SYN came while a stored timestamp was in force and ahead of it: the per-host PAWS rule, even where it runs (Linux < 4.12 with net.ipv4.tcp_tw_recycle=1), would not have dropped any.",
}

// pawsPoint is one SYN of a TSval chart.
type pawsPoint struct {
	t     int64
	tsval uint32
	analyze.PAWSDecision
}

// pawsCharts draws a chart per source of the replay.
func pawsCharts(res *analyze.Result, tb timebase, replay analyze.PAWSReplay, limit int, s *htmlSection) []chart {
	if n := replay.OtherSources; n > 0 {
		k := len(replay.Sources)
		s.Notes = append(s.Notes, fmt.Sprintf("%s: %d more client addresses with timestamps are not drawn (the %d shown have the most SYNs the rule rejects, then unanswered, then the most SYNs).", captureName(res.Captures[replay.Capture].Path), n, k))
	}
	var out []chart
	for k, src := range replay.Sources {
		out = append(out, pawsChart(res, tb, replay.Capture, k, src, limit))
	}
	return out
}

// pawsKinds are the four combinations of the rule's decision and the SYN's
// fate, each a series.
var pawsKinds = []struct {
	reject, answered bool
	name, style      string
	shape            string
}{
	{false, true, "rule accepts, answered", "paws-ok", "circle"},
	{false, false, "rule accepts, no answer", "paws-lost", "circle"},
	{true, false, "rule rejects, no answer", "paws-lost", "cross"},
	{true, true, "rule rejects, but answered: not in force", "paws-ok", "cross"},
}

func pawsChart(res *analyze.Result, tb timebase, ci, k int, src analyze.PAWSSource, limit int) chart {
	ch := chart{ID: fmt.Sprintf("paws-%d-%d", ci, k), Kind: "paws", X: timeAxis(tb.span), Height: 170}
	ch.Title = fmt.Sprintf("%s: %s, %d rejected by the rule, %d unanswered", src.Addr, wording.Plural(src.SYNs, "SYN"), src.Rejected, src.Unanswered)
	pts := make([]pawsPoint, len(src.Decisions))
	for i, d := range src.Decisions {
		syn := res.Attempts[d.Attempt].SYNs[d.SYN]
		pts[i] = pawsPoint{t: syn.Time, tsval: syn.Opts.TSval, PAWSDecision: d}
	}
	if len(pts) > limit {
		pts = samplePAWS(pts, limit)
		ch.Notes = append(ch.Notes, fmt.Sprintf("%d of the %d SYNs drawn: all that the rule rejects or nobody answered, and an even sample of the rest.", len(pts), len(src.Decisions)))
	}
	lo, hi := float64(pts[0].tsval), float64(pts[0].tsval)
	for _, p := range pts {
		lo, hi = min(lo, float64(p.tsval)), max(hi, float64(p.tsval))
	}
	for _, st := range src.Stamps {
		lo, hi = min(lo, float64(st.TSval)), max(hi, float64(st.TSval))
	}
	pad := max((hi-lo)*0.08, 500)
	ch.Y = linearAxis("TSval (timestamp ticks)", max(lo-pad, 0), min(hi+pad, 1<<32-1), 5, tsvalNumber)
	for _, kind := range pawsKinds {
		s := series{Name: kind.name, Style: kind.style, Kind: seriesMarks, Shape: kind.shape}
		for _, p := range pts {
			if p.Reject != kind.reject || p.Answered != kind.answered {
				continue
			}
			a := &res.Attempts[p.Attempt]
			t := fmt.Sprintf("%s → %s SYN %d, TSval %d at %s s", a.Client, a.Server, p.SYN+1, p.tsval, num(tb.x(ci, p.t)))
			if p.InForce {
				switch behind := int32(p.Stamp - p.tsval); {
				case behind > 0:
					t += fmt.Sprintf("; stamp in force %d, %d ticks behind it", p.Stamp, behind)
				case behind < 0:
					t += fmt.Sprintf("; stamp in force %d, %d ticks ahead of it", p.Stamp, -int64(behind))
				default:
					t += fmt.Sprintf("; stamp in force %d, equal to it", p.Stamp)
				}
			}
			s.Points = append(s.Points, point{X: tb.x(ci, p.t), Y: float64(p.tsval), Hollow: !p.Answered && !kind.reject, Title: t})
		}
		if len(s.Points) > 0 {
			ch.Series = append(ch.Series, s)
		}
	}
	if stamps := src.Stamps; len(stamps) > 0 {
		// A stored stamp holds until the next replaces it; it drops SYNs
		// only while it is younger than 60 s (TCP_PAWS_MSL).
		line := series{Name: "stamp stored at TIME_WAIT (tcpm_ts), in force for 60 s", Style: "stamp", Kind: seriesSegments}
		for i, st := range stamps {
			end := st.Time + 60e9
			if i+1 < len(stamps) && stamps[i+1].Time < end {
				end = stamps[i+1].Time
			}
			end = min(end, tb.t0+int64(tb.span*1e9)+tb.shift[ci])
			line.Points = append(line.Points, point{X: tb.x(ci, st.Time), Y: float64(st.TSval), X2: tb.x(ci, end), Y2: float64(st.TSval),
				Title: fmt.Sprintf("TSval %d stored at %s s when the server closed %s first", st.TSval, num(tb.x(ci, st.Time)), res.Attempts[st.Attempt].Client)})
		}
		ch.Series = append(ch.Series, line)
	}
	ch.Desc = fmt.Sprintf("TSval against time for %s in %s: %s.", src.Addr, captureName(res.Captures[ci].Path), ch.Title)
	return ch
}

// samplePAWS keeps every SYN that the rule rejects or nobody answered and
// an even sample of the others, up to limit.
func samplePAWS(pts []pawsPoint, limit int) []pawsPoint {
	var keep []pawsPoint
	var rest []int
	for i, p := range pts {
		if !p.Answered || p.Reject {
			keep = append(keep, p)
		} else {
			rest = append(rest, i)
		}
	}
	room := max(limit-len(keep), 0)
	if len(keep) > limit {
		step := float64(len(keep)) / float64(limit)
		var k []pawsPoint
		for i := 0; i < limit; i++ {
			k = append(k, keep[int(float64(i)*step)])
		}
		keep, room = k, 0
	}
	if room > 0 && len(rest) > 0 {
		step := float64(len(rest)) / float64(room)
		for i := 0; i < room && int(float64(i)*step) < len(rest); i++ {
			keep = append(keep, pts[rest[int(float64(i)*step)]])
		}
	}
	slices.SortFunc(keep, func(a, b pawsPoint) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.SYN, b.SYN))
	})
	return keep
}
