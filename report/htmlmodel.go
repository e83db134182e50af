package report

import (
	"math"
	"strconv"
)

// The HTML report is built in two steps: the figures become a plain data
// model (htmlPage: sections of charts, each with axes and series of points,
// and tables), and a renderer turns the model into HTML and SVG. The golden
// tests check the model, which holds every number drawn, instead of pixels.

// htmlPage is the HTML report as data.
type htmlPage struct {
	Title    string
	Subtitle []string // the captures, their span and sides
	Summary  []string // one-line facts under the title
	Findings []htmlFinding
	// NoFindings is the headline when there are no findings.
	NoFindings string
	Sections   []htmlSection
	Tables     []htmlTable
	// Details are the sections shared with the terminal report (captures,
	// join, host evidence, handshakes and latency per server).
	Details []block
}

// htmlFinding is a finding as the page shows it.
type htmlFinding struct {
	Kind, Severity string
	Confidence     float64
	Where          string // the capture, when there are several
	Affected       string
	Summary        string
	Evidence       []string
	Recommendation string
}

// htmlSection is a heading, a paragraph saying how to read its charts, the
// charts, and notes on what was left out.
type htmlSection struct {
	ID, Title string
	Intro     string
	Charts    []chart
	Notes     []string
	// Small lays the charts out side by side (small multiples).
	Small bool
}

// chart is one SVG figure: two axes and series of points in axis units.
type chart struct {
	ID    string // unique in the page
	Kind  string // timeline, paws, queue or latency: the data-chart attribute
	Title string
	Desc  string // the text alternative
	X, Y  axis
	// Lanes name the lanes of a timeline, drawn from the top: lane i spans
	// y from LaneEdges[i] to LaneEdges[i+1].
	Lanes     []string
	LaneEdges []float64
	Series    []series
	Notes     []string
	Height    int // of the plot area, in px
}

// axis is a linear axis from Min to Max with labelled ticks.
type axis struct {
	Label    string
	Min, Max float64
	Ticks    []tick
}

type tick struct {
	V     float64
	Label string
}

// Series kinds: how the points are drawn.
const (
	seriesMarks     = "marks"      // a shape at (X, Y)
	seriesBars      = "bars"       // a rectangle [X, X2] × [Y, Y2]
	seriesStep      = "step"       // a step line through (X, Y), each value holding until the next X
	seriesSegments  = "segments"   // a line from (X, Y) to (X2, Y2)
	seriesTicksUp   = "ticks-up"   // a short vertical line above (X, Y)
	seriesTicksDown = "ticks-down" // a short vertical line below (X, Y)
	seriesLetters   = "letters"    // Shape, a letter or sign, above and right of (X, Y)
)

// series is a set of points drawn alike; Style names its colour (a CSS
// class), Shape its marks, and Name its legend entry.
type series struct {
	Name   string
	Style  string
	Kind   string
	Shape  string // marks: circle, square, diamond, triangle, triangle-down, cross; letters: the letter
	Dashed bool
	Points []point
	// NoLegend keeps the series out of the legend (lines that join marks).
	NoLegend bool
	// Count is what the legend counts when the points are not the things
	// counted (bars of SYNs); 0 for marks, whose points are.
	Count int
}

type point struct {
	X, Y   float64
	X2, Y2 float64
	Hollow bool   // marks: drawn as an outline (a SYN nothing answered)
	Title  string // the tooltip
	Text   string // a label drawn at (X2, Y2), for segments
}

// num formats an axis value: the shortest form that reads back the same.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// round4 rounds to 4 decimals (0.1 ms on a time axis), so that the model,
// and the page, do not carry float noise.
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// niceTicks returns about n round tick values covering [lo, hi], and the
// step between them.
func niceTicks(lo, hi float64, n int) ([]float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out, step
}

// linearAxis makes an axis over [lo, hi] with about n ticks labelled by
// format.
func linearAxis(label string, lo, hi float64, n int, format func(v, step float64) string) axis {
	if hi <= lo {
		hi = lo + 1
	}
	vs, step := niceTicks(lo, hi, n)
	a := axis{Label: label, Min: round4(lo), Max: round4(hi)}
	for _, v := range vs {
		a.Ticks = append(a.Ticks, tick{V: round4(v), Label: format(v, step)})
	}
	return a
}

// plainNumber labels a tick with as many decimals as the step needs (2.5
// needs one).
func plainNumber(v, step float64) string {
	return strconv.FormatFloat(v+0, 'f', decimals(step), 64)
}

// decimals is how many decimals show every multiple of step exactly.
func decimals(step float64) int {
	for d := 0; d < 8; d++ {
		x := step * math.Pow10(d)
		if math.Abs(x-math.Round(x)) < 1e-6*x {
			return d
		}
	}
	return 8
}

// tsvalNumber labels a TSval tick, in millions when the values are large.
func tsvalNumber(v, step float64) string {
	if math.Abs(v) < 1e7 && step < 1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v/1e6, 'f', decimals(step/1e6), 64) + "M"
}

// timeAxis is the x axis of every time chart: seconds since the start of
// the captures, over [0, span].
func timeAxis(span float64) axis {
	return linearAxis("time since capture start (s)", 0, max(span, 1), 10, plainNumber)
}
