package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// dump writes the model as stable text, for the golden files.
func (p *htmlPage) dump(w io.Writer) {
	fmt.Fprintf(w, "title %q\n", p.Title)
	for _, s := range p.Subtitle {
		fmt.Fprintf(w, "subtitle %q\n", s)
	}
	for _, s := range p.Summary {
		fmt.Fprintf(w, "summary %q\n", s)
	}
	for _, f := range p.Findings {
		fmt.Fprintf(w, "finding %s %s %.2f %q %q (%d evidence)\n", f.Severity, f.Kind, f.Confidence, f.Where, f.Affected, len(f.Evidence))
	}
	for _, s := range p.Sections {
		fmt.Fprintf(w, "\nsection %s %q (%d charts)\n", s.ID, s.Title, len(s.Charts))
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  note %q\n", n)
		}
		for _, c := range s.Charts {
			c.dump(w)
		}
	}
	for _, t := range p.Tables {
		fmt.Fprintf(w, "\ntable %s %q %d rows\n", t.ID, t.Title, len(t.Rows))
		fmt.Fprintf(w, "  header %s\n", strings.Join(t.Header, " | "))
		for _, r := range t.Rows {
			cells := make([]string, len(r))
			for i, c := range r {
				cells[i] = c.Text
			}
			fmt.Fprintf(w, "  row %s\n", strings.Join(cells, " | "))
		}
		for _, n := range t.Notes {
			fmt.Fprintf(w, "  note %q\n", n)
		}
	}
	for _, b := range p.Details {
		if b.kind == blockHeading {
			fmt.Fprintf(w, "\ndetail %q\n", b.text)
		}
	}
}

func (c *chart) dump(w io.Writer) {
	fmt.Fprintf(w, "  chart %s %s %q\n", c.ID, c.Kind, c.Title)
	fmt.Fprintf(w, "    desc %q\n", c.Desc)
	for _, a := range []struct {
		name string
		ax   axis
	}{{"x", c.X}, {"y", c.Y}} {
		var ts []string
		for _, t := range a.ax.Ticks {
			ts = append(ts, num(t.V)+"="+t.Label)
		}
		fmt.Fprintf(w, "    %s %q [%s, %s] ticks %s\n", a.name, a.ax.Label, num(a.ax.Min), num(a.ax.Max), strings.Join(ts, " "))
	}
	if len(c.Lanes) > 0 {
		fmt.Fprintf(w, "    lanes %s\n", strings.Join(c.Lanes, " | "))
		var es []string
		for _, e := range c.LaneEdges {
			es = append(es, num(e))
		}
		fmt.Fprintf(w, "    lane edges %s\n", strings.Join(es, " "))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "    note %q\n", n)
	}
	for _, s := range c.Series {
		fmt.Fprintf(w, "    series %q %s %s %s: %d points", s.Name, s.Kind, s.Style, s.Shape, len(s.Points))
		if s.Count > 0 {
			fmt.Fprintf(w, ", counting %d", s.Count)
		}
		fmt.Fprintln(w)
		for k, pt := range s.Points {
			line := "      " + num(pt.X) + " " + num(pt.Y)
			if s.Kind == seriesBars || s.Kind == seriesSegments {
				line += " " + num(pt.X2) + " " + num(pt.Y2)
			}
			if pt.Hollow {
				line += " hollow"
			}
			if pt.Text != "" {
				line += " label " + strconv.Quote(pt.Text)
			}
			// Tooltips repeat what the points say; a few show their form.
			if pt.Title != "" && k < 3 {
				line += " " + strconv.Quote(pt.Title)
			}
			fmt.Fprintln(w, line)
		}
	}
}
