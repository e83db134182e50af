package report

import (
	"fmt"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// queueSection draws, per listener, the SYNs answered and unanswered in
// each time bin against the accept queue's modelled occupancy: a full
// queue shows as a band of unanswered SYNs from every client while
// completed handshakes wait for the application.
func queueSection(res *analyze.Result, tb timebase) htmlSection {
	s := htmlSection{ID: "queue", Title: "Accept queue: unanswered SYNs against handshakes waiting for accept()",
		Intro: "Bars count the SYN transmissions to the listener in each time bin, answered (blue) and unanswered (red, on top). The black line is the accept-queue model: handshakes the server completed and the application has not yet served (it has not sent its first reply). A full queue shows as red bars while the line stays at its ceiling; triangles mark third ACKs the server ignored or reset because the queue was full."}
	// analyze models the busiest listeners of each capture; the page
	// draws the first of them, its captures in their order.
	n := 0
	for _, ci := range captureOrder(res) {
		for _, q := range res.AcceptQueues {
			if q.Capture != ci || n == maxQueueCharts {
				continue
			}
			s.Charts = append(s.Charts, queueChart(res, tb, q, n))
			n++
		}
	}
	total := 0
	for _, sv := range res.Servers {
		if !joined(res) || sv.Capture != res.Join.Client {
			total++
		}
	}
	if n > 0 && total > n {
		s.Notes = append(s.Notes, fmt.Sprintf("Drawn for the %d server endpoints with the most attempts; %d more are not.", n, total-n))
	}
	return s
}

func queueChart(res *analyze.Result, tb timebase, q analyze.AcceptQueue, k int) chart {
	ci := q.Capture
	width := binWidth(tb.span, 120)
	nb := int(tb.span/width) + 1
	ok, lost := make([]int, nb), make([]int, nb)
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Capture != ci || a.Server != q.Server {
			continue
		}
		for j, ans := range a.SYNsAnswered() {
			b := min(int(tb.x(ci, a.SYNs[j].Time)/width), nb-1)
			if ans {
				ok[b]++
			} else {
				lost[b]++
			}
		}
	}
	ch := chart{ID: fmt.Sprintf("queue-%d", k), Kind: "queue", X: timeAxis(tb.span), Height: 220}
	ch.Title = fmt.Sprintf("%s in %s", q.Server, captureName(res.Captures[ci].Path))
	answered := series{Name: "SYNs answered", Style: "q-ok", Kind: seriesBars}
	unanswered := series{Name: "SYNs unanswered", Style: "q-lost", Kind: seriesBars}
	top, totalLost := 0.0, 0
	for b := range nb {
		x0, x1 := round4(float64(b)*width), round4(float64(b+1)*width)
		if ok[b] > 0 {
			answered.Count += ok[b]
			answered.Points = append(answered.Points, point{X: x0, X2: x1, Y: 0, Y2: float64(ok[b]), Title: fmt.Sprintf("%s answered between %s and %s s", wording.Plural(ok[b], "SYN"), num(x0), num(x1))})
		}
		if lost[b] > 0 {
			unanswered.Points = append(unanswered.Points, point{X: x0, X2: x1, Y: float64(ok[b]), Y2: float64(ok[b] + lost[b]), Title: fmt.Sprintf("%s unanswered between %s and %s s", wording.Plural(lost[b], "SYN"), num(x0), num(x1))})
			totalLost += lost[b]
			unanswered.Count += lost[b]
		}
		top = max(top, float64(ok[b]+lost[b]))
	}
	for _, sr := range []series{answered, unanswered} {
		if len(sr.Points) > 0 {
			ch.Series = append(ch.Series, sr)
		}
	}
	waiting := series{Name: "handshakes waiting for accept() (model)", Style: "q-wait", Kind: seriesStep}
	if q.Served {
		steps := q.Steps
		if len(steps) > maxStepPoints {
			steps = envelope(steps, tb, ci)
			ch.Notes = append(ch.Notes, fmt.Sprintf("The occupancy changes %d times; drawn at its highest per %s s.", q.Changes, num(stepBin(tb))))
		}
		for _, st := range steps {
			waiting.Points = append(waiting.Points, point{X: tb.x(ci, st.Time), Y: float64(st.Waiting)})
			top = max(top, float64(st.Waiting))
		}
		ch.Series = append(ch.Series, waiting)
	} else {
		ch.Notes = append(ch.Notes, "The server never sent data first, so when the application accepted a connection cannot be seen: no occupancy line.")
	}
	if q.Capacity > 0 {
		x1 := round4(tb.span)
		ch.Series = append(ch.Series, series{Name: fmt.Sprintf("queue full at about %d (model)", q.Capacity), Style: "q-cap", Kind: seriesSegments, Dashed: true,
			Points: []point{{X: 0, Y: float64(q.Capacity), X2: x1, Y2: float64(q.Capacity), Title: fmt.Sprintf("the model's accept queue size: %d", q.Capacity)}}})
	}
	top = max(top*1.12, 4)
	// The marks are what the accept-queue model looks for; "queue full" is
	// said only where analyze found the overflow: a SYN-ACK resent after
	// a third ACK also follows a SYN retransmission crossing it.
	ignored, reset := "third ACK ignored (the server resent its SYN-ACK)", "third ACK answered with RST"
	for _, f := range res.Findings {
		if f.Kind == analyze.KindAcceptQueueOverflow && f.Capture == ci {
			ignored, reset = "third ACK ignored (queue full)", "third ACK reset (queue full)"
		}
	}
	for _, ev := range []struct {
		times []int64
		name  string
	}{{q.Ignored, ignored}, {q.Reset, reset}} {
		if len(ev.times) == 0 {
			continue
		}
		s := series{Name: ev.name, Style: "q-full", Kind: seriesMarks, Shape: "triangle-down"}
		times := ev.times
		if len(times) > maxQueueMarks {
			// An even sample: the marks show when the queue was full, which
			// a sample shows as well, and the legend counts them all.
			times = make([]int64, maxQueueMarks)
			for i := range times {
				times[i] = ev.times[i*len(ev.times)/maxQueueMarks]
			}
			s.Count = len(ev.times)
			ch.Notes = append(ch.Notes, fmt.Sprintf("%d of the %d times a %s are marked, evenly spread.", maxQueueMarks, len(ev.times), ev.name))
		}
		for _, t := range times {
			s.Points = append(s.Points, point{X: tb.x(ci, t), Y: round4(top * 0.97), Title: fmt.Sprintf("%s at %s s", ev.name, num(tb.x(ci, t)))})
		}
		ch.Series = append(ch.Series, s)
	}
	ch.Y = linearAxis(fmt.Sprintf("SYNs per %s s; handshakes", num(width)), 0, top, 5, plainNumber)
	ch.Desc = fmt.Sprintf("Accept queue of %s: %d SYN transmissions unanswered; %d third ACKs ignored and %d reset; modelled queue size %d.", q.Server, totalLost, len(q.Ignored), len(q.Reset), q.Capacity)
	return ch
}

// stepBin is the time resolution of an envelope: the span in maxStepPoints/2
// bins.
func stepBin(tb timebase) float64 { return binWidth(tb.span, maxStepPoints/2) }

// envelope keeps, per bin, the step with the highest occupancy and the last
// one, so a long step line keeps its peaks and its level.
func envelope(steps []analyze.QueueStep, tb timebase, ci int) []analyze.QueueStep {
	w := stepBin(tb)
	var out []analyze.QueueStep
	for i := 0; i < len(steps); {
		b := int(tb.x(ci, steps[i].Time) / w)
		hi, j := steps[i], i
		for ; j < len(steps) && int(tb.x(ci, steps[j].Time)/w) == b; j++ {
			if steps[j].Waiting > hi.Waiting {
				hi = steps[j]
			}
		}
		last := steps[j-1]
		out = append(out, hi)
		if last != hi {
			out = append(out, last)
		}
		i = j
	}
	return out
}
