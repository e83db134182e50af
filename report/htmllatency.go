package report

import (
	"fmt"
	"math"
	"strconv"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// latencyEdges are the histogram's bucket edges in seconds, in a 1-2-5
// sequence: connect times span from tens of microseconds on a LAN to a
// minute of SYN retransmissions, so equal-width buckets would hide one end.
var latencyEdges = func() []float64 {
	var e []float64
	for exp := -5; exp <= 2; exp++ {
		for _, m := range []float64{1, 2, 5} {
			e = append(e, m*math.Pow10(exp))
		}
	}
	return e
}()

// latencySection draws the connect-time histogram per server endpoint,
// with the attempts that needed a SYN retransmission apart: the 1, 3, 7 s
// steps of the retransmission timer show as separate humps.
func latencySection(res *analyze.Result) htmlSection {
	s := htmlSection{ID: "latency", Title: "Connect latency (first SYN to the SYN-ACK the client took, as captured)",
		Intro: "How many attempts connected within each time bucket; buckets grow by 1-2-5 steps, so the axis is logarithmic. Blue: the first SYN was answered; orange, on top: only a retransmitted SYN was. Dashed lines mark p50, p90 and p99."}
	n, total := 0, 0
	for _, sv := range res.Servers {
		if sv.Latency.Count == 0 {
			continue
		}
		total++
		if n < maxLatencyCharts {
			s.Charts = append(s.Charts, latencyChart(res, sv, n))
			n++
		}
	}
	if total > n {
		s.Notes = append(s.Notes, fmt.Sprintf("Drawn for %d server endpoints; %d more are in the table below.", n, total-n))
	}
	return s
}

func latencyChart(res *analyze.Result, sv analyze.ServerSummary, k int) chart {
	var first, retx []float64
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Capture != sv.Capture || a.Server != sv.Server || a.ConnectTime < 0 {
			continue
		}
		if a.Retransmissions() > 0 {
			retx = append(retx, a.ConnectTime)
		} else {
			first = append(first, a.ConnectTime)
		}
	}
	lo, hi := len(latencyEdges)-2, 0
	for _, v := range append(append([]float64{}, first...), retx...) {
		b := bucket(v)
		lo, hi = min(lo, b), max(hi, b)
	}
	// Show a bucket either side, so a lone bar is not on the frame.
	lo, hi = max(lo-1, 0), min(hi+1, len(latencyEdges)-2)
	nb := hi - lo + 1
	cf, cr := make([]int, nb), make([]int, nb)
	for _, v := range first {
		cf[bucket(v)-lo]++
	}
	for _, v := range retx {
		cr[bucket(v)-lo]++
	}
	ch := chart{ID: fmt.Sprintf("latency-%d", k), Kind: "latency", Height: 200}
	ch.Title = fmt.Sprintf("%s in %s: %s answered", sv.Server, captureName(res.Captures[sv.Capture].Path), wording.Plural(sv.Latency.Count, "attempt"))
	ch.X = axis{Label: "connect time (log scale)", Min: 0, Max: float64(nb)}
	for i := 0; i <= nb; i++ {
		e := latencyEdges[lo+i]
		// Label the decades, and every edge when there are few.
		if nb <= 8 || isDecade(e) {
			ch.X.Ticks = append(ch.X.Ticks, tick{V: float64(i), Label: edgeLabel(e)})
		}
	}
	a := series{Name: "first SYN answered", Style: "l-first", Kind: seriesBars}
	b := series{Name: "answered after SYN retransmission", Style: "l-retx", Kind: seriesBars}
	top := 0
	for i := range nb {
		from, to := edgeLabel(latencyEdges[lo+i]), edgeLabel(latencyEdges[lo+i+1])
		a.Count += cf[i]
		b.Count += cr[i]
		if cf[i] > 0 {
			a.Points = append(a.Points, point{X: float64(i), X2: float64(i + 1), Y: 0, Y2: float64(cf[i]), Title: fmt.Sprintf("%s connected in %s to %s at the first SYN", wording.Plural(cf[i], "attempt"), from, to)})
		}
		if cr[i] > 0 {
			b.Points = append(b.Points, point{X: float64(i), X2: float64(i + 1), Y: float64(cf[i]), Y2: float64(cf[i] + cr[i]), Title: fmt.Sprintf("%s connected in %s to %s after SYN retransmissions", wording.Plural(cr[i], "attempt"), from, to)})
		}
		top = max(top, cf[i]+cr[i])
	}
	ch.Series = append(ch.Series, a)
	if len(b.Points) > 0 {
		ch.Series = append(ch.Series, b)
	}
	ymax := max(float64(top)*1.15, 3)
	ch.Y = linearAxis("attempts", 0, ymax, 5, plainNumber)
	l := sv.Latency
	pct := series{Name: "p50, p90, p99", Style: "l-pct", Kind: seriesSegments, Dashed: true}
	for _, q := range []struct {
		name string
		v    float64
	}{{"p50", l.P50}, {"p90", l.P90}, {"p99", l.P99}} {
		x := round4(logPosition(q.v) - float64(lo))
		pct.Points = append(pct.Points, point{X: x, Y: 0, X2: x, Y2: round4(ymax), Text: q.name, Title: fmt.Sprintf("%s %s", q.name, wording.Latency(q.v))})
	}
	ch.Series = append(ch.Series, pct)
	ch.Desc = fmt.Sprintf("Connect-time histogram of %s: p50 %s, p90 %s, p99 %s, max %s; %d of %d needed a SYN retransmission.", sv.Server, wording.Latency(l.P50), wording.Latency(l.P90), wording.Latency(l.P99), wording.Latency(l.Max), l.Retransmitted, l.Count)
	return ch
}

// bucket is the index of the bucket [edge i, edge i+1) that holds v.
func bucket(v float64) int {
	for i := len(latencyEdges) - 2; i >= 0; i-- {
		if v >= latencyEdges[i] {
			return i
		}
	}
	return 0
}

// logPosition places v on the bucket axis, log-interpolated in its bucket.
func logPosition(v float64) float64 {
	b := bucket(v)
	lo, hi := latencyEdges[b], latencyEdges[b+1]
	f := (math.Log(max(v, lo)) - math.Log(lo)) / (math.Log(hi) - math.Log(lo))
	return float64(b) + min(f, 1)
}

func isDecade(v float64) bool {
	l := math.Log10(v)
	return math.Abs(l-math.Round(l)) < 1e-9
}

// edgeLabel names a bucket edge: "20 µs", "5 ms", "2 s".
func edgeLabel(v float64) string {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }
	switch {
	case v < 1e-3:
		return g(v*1e6) + " µs"
	case v < 1:
		return g(v*1e3) + " ms"
	}
	return g(v) + " s"
}
