package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units (px at 100% zoom).
const (
	chartWidth      = 960
	smallChartWidth = 560
	marginTop       = 14
	marginRight     = 18
	marginBottom    = 46
	fontPx          = 12
)

// frame maps axis units to SVG coordinates.
type frame struct {
	left, top, w, h float64
	c               *chart
}

func (f frame) px(x float64) float64 {
	ax := f.c.X
	return f.left + (x-ax.Min)/(ax.Max-ax.Min)*f.w
}

// py maps a y value: lanes run from the top, values from the bottom.
func (f frame) py(y float64) float64 {
	ay := f.c.Y
	if len(f.c.Lanes) > 0 {
		return f.top + (y-ay.Min)/(ay.Max-ay.Min)*f.h
	}
	return f.top + (ay.Max-y)/(ay.Max-ay.Min)*f.h
}

// n formats a coordinate with one decimal, which is finer than a pixel.
func n(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func esc(s string) string { return html.EscapeString(s) }

// svg writes the chart as an inline SVG element with a title and a
// description for screen readers, axes with labelled ticks, and one group
// per series that carries its name and point count as data attributes.
func (c *chart) svg(b *strings.Builder, small bool) {
	width := float64(chartWidth)
	if small {
		width = smallChartWidth
	}
	left := 0.0
	if len(c.Lanes) > 0 {
		for _, t := range c.Y.Ticks {
			left = max(left, float64(len([]rune(laneLabel(t.Label)))))
		}
		left = min(max(left*6.8+14, 60), 280)
	} else {
		for _, t := range c.Y.Ticks {
			left = max(left, float64(len(t.Label)))
		}
		left = left*7 + 34
	}
	f := frame{left: left, top: marginTop, w: width - left - marginRight, h: float64(c.Height), c: c}
	height := f.top + f.h + marginBottom
	fmt.Fprintf(b, `<svg class="chart" data-chart="%s" id="%s-svg" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-labelledby="%s-t %s-d" font-size="%d">`,
		esc(c.Kind), esc(c.ID), n(width), n(height), n(width), n(height), esc(c.ID), esc(c.ID), fontPx)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
	c.grid(b, f)
	for _, s := range c.Series {
		s.svg(b, f, len(c.Lanes) > 0)
	}
	c.axes(b, f)
	b.WriteString("</svg>")
}

// laneLabel cuts a lane's name to fit the margin (an IPv6 address keeps
// its end, which tells hosts apart).
func laneLabel(s string) string { return shorten(s, 38) }

func (c *chart) grid(b *strings.Builder, f frame) {
	b.WriteString(`<g class="grid">`)
	if len(c.Lanes) > 0 {
		for i := range c.Lanes {
			if i%2 == 0 {
				lo, hi := f.py(c.LaneEdges[i]), f.py(c.LaneEdges[i+1])
				fmt.Fprintf(b, `<rect class="band" x="%s" y="%s" width="%s" height="%s"/>`, n(f.left), n(lo), n(f.w), n(hi-lo))
			}
		}
	} else {
		for _, t := range c.Y.Ticks {
			fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(f.left), n(f.left+f.w), n(f.py(t.V)), n(f.py(t.V)))
		}
	}
	for _, t := range c.X.Ticks {
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(f.px(t.V)), n(f.px(t.V)), n(f.top), n(f.top+f.h))
	}
	b.WriteString(`</g>`)
}

func (c *chart) axes(b *strings.Builder, f frame) {
	bottom := f.top + f.h
	fmt.Fprintf(b, `<g class="axis"><path d="M%s %sV%sH%s"/>`, n(f.left), n(f.top), n(bottom), n(f.left+f.w))
	// Label every k-th tick when they would crowd (about 7 px per
	// character).
	k := 1
	if len(c.X.Ticks) > 1 {
		longest := 0
		for _, t := range c.X.Ticks {
			longest = max(longest, len([]rune(t.Label)))
		}
		gap := f.px(c.X.Ticks[1].V) - f.px(c.X.Ticks[0].V)
		for gap*float64(k) < float64(longest)*7+10 {
			k++
		}
	}
	for i, t := range c.X.Ticks {
		x := f.px(t.V)
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(x), n(x), n(bottom), n(bottom+5))
		if i%k == 0 {
			fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, n(x), n(bottom+18), esc(t.Label))
		}
	}
	fmt.Fprintf(b, `<text class="label" x="%s" y="%s" text-anchor="middle">%s</text>`, n(f.left+f.w/2), n(bottom+38), esc(c.X.Label))
	for _, t := range c.Y.Ticks {
		y := f.py(t.V)
		label := t.Label
		if len(c.Lanes) > 0 {
			label = laneLabel(label)
		}
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(f.left-5), n(f.left), n(y), n(y))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s`, n(f.left-8), n(y), esc(label))
		if label != t.Label {
			fmt.Fprintf(b, `<title>%s</title>`, esc(t.Label))
		}
		b.WriteString(`</text>`)
	}
	if len(c.Lanes) == 0 {
		x, y := 14.0, f.top+f.h/2
		fmt.Fprintf(b, `<text class="label" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>`, n(x), n(y), n(x), n(y), esc(c.Y.Label))
	}
	b.WriteString(`</g>`)
}

func (s *series) svg(b *strings.Builder, f frame, lanes bool) {
	class := "s " + s.Style
	if s.Dashed {
		class += " dash"
	}
	fmt.Fprintf(b, `<g class="%s" data-series="%s" data-kind="%s" data-count="%d">`, esc(class), esc(s.Name), esc(s.Kind), len(s.Points))
	r := 4.5
	if !lanes {
		r = 4
	}
	switch s.Kind {
	case seriesStep:
		if len(s.Points) > 0 {
			fmt.Fprintf(b, `<path class="ln" d="M%s %s`, n(f.px(f.c.X.Min)), n(f.py(0)))
			for _, p := range s.Points {
				fmt.Fprintf(b, "H%sV%s", n(f.px(p.X)), n(f.py(p.Y)))
			}
			fmt.Fprintf(b, `H%s"/>`, n(f.px(f.c.X.Max)))
		}
	default:
		for k, p := range s.Points {
			s.element(b, f, p, r)
			if p.Text != "" {
				// Staggered, so labels of lines close together do not
				// overprint.
				fmt.Fprintf(b, `<text class="lbl" x="%s" y="%s">%s</text>`, n(f.px(p.X2)+3), n(f.py(p.Y2)+11+12*float64(k%3)), esc(p.Text))
			}
		}
	}
	b.WriteString(`</g>`)
}

// element draws one point of a series.
func (s *series) element(b *strings.Builder, f frame, p point, r float64) {
	x, y := f.px(p.X), f.py(p.Y)
	var el string
	switch s.Kind {
	case seriesBars:
		x2, y2 := f.px(p.X2), f.py(p.Y2)
		w := max(x2-x-1, 1) // a pixel between bars
		el = fmt.Sprintf(`<rect x="%s" y="%s" width="%s" height="%s"`, n(x+0.5), n(min(y, y2)), n(w), n(max(math.Abs(y2-y), 0.8)))
	case seriesSegments:
		el = fmt.Sprintf(`<line class="ln" x1="%s" y1="%s" x2="%s" y2="%s"`, n(x), n(y), n(f.px(p.X2)), n(f.py(p.Y2)))
	case seriesTicksUp:
		el = fmt.Sprintf(`<line class="ln" x1="%s" y1="%s" x2="%s" y2="%s"`, n(x), n(y-4.5), n(x), n(y-9))
	case seriesTicksDown:
		el = fmt.Sprintf(`<line class="ln" x1="%s" y1="%s" x2="%s" y2="%s"`, n(x), n(y+4.5), n(x), n(y+9))
	case seriesLetters:
		// Up and right of the mark it annotates, like an exponent: clear
		// of the SYN-ACK ticks, which stand straight above a mark.
		fmt.Fprintf(b, `<text class="lt" x="%s" y="%s">%s`, n(x+4), n(y-2.5), esc(s.Shape))
		if p.Title != "" {
			fmt.Fprintf(b, `<title>%s</title>`, esc(p.Title))
		}
		b.WriteString(`</text>`)
		return
	default:
		el = shape(s.Shape, x, y, r, p.Hollow)
	}
	b.WriteString(el)
	if p.Title != "" {
		fmt.Fprintf(b, `><title>%s</title></%s>`, esc(p.Title), tagOf(el))
	} else {
		b.WriteString("/>")
	}
}

func tagOf(el string) string {
	el = strings.TrimPrefix(el, "<")
	if i := strings.IndexByte(el, ' '); i > 0 {
		return el[:i]
	}
	return el
}

// shape returns an unclosed element for a mark centred at (x, y): filled
// shapes, or outlines when hollow; crosses and pluses are strokes.
func shape(name string, x, y, r float64, hollow bool) string {
	class := "mk"
	if hollow {
		class += " h"
	}
	p := func(d string) string { return fmt.Sprintf(`<path class="%s" d="%s"`, class, d) }
	switch name {
	case "square":
		q := r * 0.85
		return fmt.Sprintf(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"`, class, n(x-q), n(y-q), n(2*q), n(2*q))
	case "diamond":
		return p(fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sZ", n(x), n(y-r*1.2), n(x+r), n(y), n(x), n(y+r*1.2), n(x-r), n(y)))
	case "triangle":
		return p(fmt.Sprintf("M%s %sL%s %sL%s %sZ", n(x), n(y-r*1.1), n(x+r), n(y+r*0.8), n(x-r), n(y+r*0.8)))
	case "triangle-down":
		return p(fmt.Sprintf("M%s %sL%s %sL%s %sZ", n(x), n(y+r*1.1), n(x+r), n(y-r*0.8), n(x-r), n(y-r*0.8)))
	case "cross":
		return fmt.Sprintf(`<path class="st" d="M%s %sL%s %sM%s %sL%s %s"`, n(x-r), n(y-r), n(x+r), n(y+r), n(x-r), n(y+r), n(x+r), n(y-r))
	case "plus":
		return fmt.Sprintf(`<path class="st" d="M%s %sH%sM%s %sV%s"`, n(x-r), n(y), n(x+r), n(x), n(y-r), n(y+r))
	case "star":
		q := r * 0.35
		return p(fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sL%s %sL%s %sL%s %sL%s %sZ",
			n(x), n(y-r*1.2), n(x+q), n(y-q), n(x+r*1.2), n(y), n(x+q), n(y+q), n(x), n(y+r*1.2), n(x-q), n(y+q), n(x-r*1.2), n(y), n(x-q), n(y-q)))
	}
	return fmt.Sprintf(`<circle class="%s" cx="%s" cy="%s" r="%s"`, class, n(x), n(y), n(r))
}

// key draws a series' legend symbol in a small inline SVG.
func (s *series) key(b *strings.Builder) {
	class := "s " + s.Style
	if s.Dashed {
		class += " dash"
	}
	fmt.Fprintf(b, `<svg class="key" width="22" height="14" viewBox="0 0 22 14" aria-hidden="true"><g class="%s">`, esc(class))
	switch s.Kind {
	case seriesBars:
		b.WriteString(`<rect x="4" y="2" width="14" height="10"/>`)
	case seriesStep, seriesSegments:
		b.WriteString(`<line class="ln" x1="1" y1="7" x2="21" y2="7"/>`)
	case seriesTicksUp, seriesTicksDown:
		b.WriteString(`<line class="ln" x1="11" y1="1" x2="11" y2="13"/>`)
	case seriesLetters:
		fmt.Fprintf(b, `<text class="lt" x="11" y="12" text-anchor="middle">%s</text>`, esc(s.Shape))
	default:
		b.WriteString(shape(s.Shape, 11, 7, 4.5, false) + "/>")
	}
	b.WriteString(`</g></svg>`)
}
