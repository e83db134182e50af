package report

import (
	"fmt"
	"math"
	"strconv"

	"github.com/syndiag/syndiag/report/internal/markup"
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

// svg writes the chart as an inline SVG element with a title and a
// description for screen readers, axes with labelled ticks, and one group
// per series that carries its name and point count as data attributes.
func (c *chart) svg(w *markup.Writer, small bool) {
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
	w.Printf(`<svg class="chart" data-chart="%s" id="%s-svg" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-labelledby="%s-t %s-d" font-size="%d">`,
		c.Kind, c.ID, n(width), n(height), n(width), n(height), c.ID, c.ID, fontPx)
	w.Printf(`<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, c.ID, c.Title, c.ID, c.Desc)
	c.grid(w, f)
	for _, s := range c.Series {
		s.svg(w, f, len(c.Lanes) > 0)
	}
	c.axes(w, f)
	w.Printf("</svg>")
}

// laneLabel cuts a lane's name to fit the margin (an IPv6 address keeps
// its end, which tells hosts apart).
func laneLabel(s string) string { return shorten(s, 38) }

func (c *chart) grid(w *markup.Writer, f frame) {
	w.Printf(`<g class="grid">`)
	if len(c.Lanes) > 0 {
		for i := range c.Lanes {
			if i%2 == 0 {
				lo, hi := f.py(c.LaneEdges[i]), f.py(c.LaneEdges[i+1])
				w.Printf(`<rect class="band" x="%s" y="%s" width="%s" height="%s"/>`, n(f.left), n(lo), n(f.w), n(hi-lo))
			}
		}
	} else {
		for _, t := range c.Y.Ticks {
			w.Printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(f.left), n(f.left+f.w), n(f.py(t.V)), n(f.py(t.V)))
		}
	}
	for _, t := range c.X.Ticks {
		w.Printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(f.px(t.V)), n(f.px(t.V)), n(f.top), n(f.top+f.h))
	}
	w.Printf(`</g>`)
}

func (c *chart) axes(w *markup.Writer, f frame) {
	bottom := f.top + f.h
	w.Printf(`<g class="axis"><path d="M%s %sV%sH%s"/>`, n(f.left), n(f.top), n(bottom), n(f.left+f.w))
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
		w.Printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(x), n(x), n(bottom), n(bottom+5))
		if i%k == 0 {
			w.Printf(`<text x="%s" y="%s" text-anchor="middle">%s</text>`, n(x), n(bottom+18), t.Label)
		}
	}
	w.Printf(`<text class="label" x="%s" y="%s" text-anchor="middle">%s</text>`, n(f.left+f.w/2), n(bottom+38), c.X.Label)
	for _, t := range c.Y.Ticks {
		y := f.py(t.V)
		label := t.Label
		if len(c.Lanes) > 0 {
			label = laneLabel(label)
		}
		w.Printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, n(f.left-5), n(f.left), n(y), n(y))
		w.Printf(`<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s`, n(f.left-8), n(y), label)
		if label != t.Label {
			w.Printf(`<title>%s</title>`, t.Label)
		}
		w.Printf(`</text>`)
	}
	if len(c.Lanes) == 0 {
		x, y := 14.0, f.top+f.h/2
		w.Printf(`<text class="label" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>`, n(x), n(y), n(x), n(y), c.Y.Label)
	}
	w.Printf(`</g>`)
}

func (s *series) svg(w *markup.Writer, f frame, lanes bool) {
	class := "s " + s.Style
	if s.Dashed {
		class += " dash"
	}
	w.Printf(`<g class="%s" data-series="%s" data-kind="%s" data-count="%d">`, class, s.Name, s.Kind, len(s.Points))
	r := 4.5
	if !lanes {
		r = 4
	}
	switch s.Kind {
	case seriesStep:
		if len(s.Points) > 0 {
			w.Printf(`<path class="ln" d="M%s %s`, n(f.px(f.c.X.Min)), n(f.py(0)))
			for _, p := range s.Points {
				w.Printf("H%sV%s", n(f.px(p.X)), n(f.py(p.Y)))
			}
			w.Printf(`H%s"/>`, n(f.px(f.c.X.Max)))
		}
	default:
		for k, p := range s.Points {
			s.element(w, f, p, r)
			if p.Text != "" {
				// Staggered, so labels of lines close together do not
				// overprint.
				w.Printf(`<text class="lbl" x="%s" y="%s">%s</text>`, n(f.px(p.X2)+3), n(f.py(p.Y2)+11+12*float64(k%3)), p.Text)
			}
		}
	}
	w.Printf(`</g>`)
}

// element draws one point of a series.
func (s *series) element(w *markup.Writer, f frame, p point, r float64) {
	x, y := f.px(p.X), f.py(p.Y)
	end := markup.Const("</line>")
	switch s.Kind {
	case seriesBars:
		x2, y2 := f.px(p.X2), f.py(p.Y2)
		width := max(x2-x-1, 1) // a pixel between bars
		w.Printf(`<rect x="%s" y="%s" width="%s" height="%s"`, n(x+0.5), n(min(y, y2)), n(width), n(max(math.Abs(y2-y), 0.8)))
		end = markup.Const("</rect>")
	case seriesSegments:
		w.Printf(`<line class="ln" x1="%s" y1="%s" x2="%s" y2="%s"`, n(x), n(y), n(f.px(p.X2)), n(f.py(p.Y2)))
	case seriesTicksUp:
		w.Printf(`<line class="ln" x1="%s" y1="%s" x2="%s" y2="%s"`, n(x), n(y-4.5), n(x), n(y-9))
	case seriesTicksDown:
		w.Printf(`<line class="ln" x1="%s" y1="%s" x2="%s" y2="%s"`, n(x), n(y+4.5), n(x), n(y+9))
	case seriesLetters:
		// Up and right of the mark it annotates, like an exponent: clear
		// of the SYN-ACK ticks, which stand straight above a mark.
		w.Printf(`<text class="lt" x="%s" y="%s">%s`, n(x+4), n(y-2.5), s.Shape)
		if p.Title != "" {
			w.Printf(`<title>%s</title>`, p.Title)
		}
		w.Printf(`</text>`)
		return
	default:
		end = shape(w, s.Shape, x, y, r, p.Hollow)
	}
	if p.Title != "" {
		w.Printf(`><title>%s</title>%s`, p.Title, end)
	} else {
		w.Printf("/>")
	}
}

// shape writes the start of an element, unclosed, for a mark centred at
// (x, y): filled shapes, or outlines when hollow; crosses and pluses are
// strokes. It returns the element's end tag.
func shape(w *markup.Writer, name string, x, y, r float64, hollow bool) markup.HTML {
	class := "mk"
	if hollow {
		class += " h"
	}
	path := func(d string) markup.HTML {
		w.Printf(`<path class="%s" d="%s"`, class, d)
		return markup.Const("</path>")
	}
	switch name {
	case "square":
		q := r * 0.85
		w.Printf(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"`, class, n(x-q), n(y-q), n(2*q), n(2*q))
		return markup.Const("</rect>")
	case "diamond":
		return path(fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sZ", n(x), n(y-r*1.2), n(x+r), n(y), n(x), n(y+r*1.2), n(x-r), n(y)))
	case "triangle":
		return path(fmt.Sprintf("M%s %sL%s %sL%s %sZ", n(x), n(y-r*1.1), n(x+r), n(y+r*0.8), n(x-r), n(y+r*0.8)))
	case "triangle-down":
		return path(fmt.Sprintf("M%s %sL%s %sL%s %sZ", n(x), n(y+r*1.1), n(x+r), n(y-r*0.8), n(x-r), n(y-r*0.8)))
	case "cross":
		w.Printf(`<path class="st" d="M%s %sL%s %sM%s %sL%s %s"`, n(x-r), n(y-r), n(x+r), n(y+r), n(x-r), n(y+r), n(x+r), n(y-r))
		return markup.Const("</path>")
	case "plus":
		w.Printf(`<path class="st" d="M%s %sH%sM%s %sV%s"`, n(x-r), n(y), n(x+r), n(x), n(y-r), n(y+r))
		return markup.Const("</path>")
	case "star":
		q := r * 0.35
		return path(fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sL%s %sL%s %sL%s %sL%s %sZ",
			n(x), n(y-r*1.2), n(x+q), n(y-q), n(x+r*1.2), n(y), n(x+q), n(y+q), n(x), n(y+r*1.2), n(x-q), n(y+q), n(x-r*1.2), n(y), n(x-q), n(y-q)))
	}
	w.Printf(`<circle class="%s" cx="%s" cy="%s" r="%s"`, class, n(x), n(y), n(r))
	return markup.Const("</circle>")
}

// key draws a series' legend symbol in a small inline SVG.
func (s *series) key(w *markup.Writer) {
	class := "s " + s.Style
	if s.Dashed {
		class += " dash"
	}
	w.Printf(`<svg class="key" width="22" height="14" viewBox="0 0 22 14" aria-hidden="true"><g class="%s">`, class)
	switch s.Kind {
	case seriesBars:
		w.Printf(`<rect x="4" y="2" width="14" height="10"/>`)
	case seriesStep, seriesSegments:
		w.Printf(`<line class="ln" x1="1" y1="7" x2="21" y2="7"/>`)
	case seriesTicksUp, seriesTicksDown:
		w.Printf(`<line class="ln" x1="11" y1="1" x2="11" y2="13"/>`)
	case seriesLetters:
		w.Printf(`<text class="lt" x="11" y="12" text-anchor="middle">%s</text>`, s.Shape)
	default:
		shape(w, s.Shape, 11, 7, 4.5, false)
		w.Printf("/>")
	}
	w.Printf(`</g></svg>`)
}
