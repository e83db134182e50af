package analyze

import (
	"cmp"
	"math"
	"slices"
)

// tsPoint is one SYN's TCP timestamp and when it was captured.
type tsPoint struct {
	t     int64  // ns since the epoch
	tsval uint32 // TSval of the SYN
}

// clockEstimate is what the SYN timestamps of one source IP say about the
// timestamp clocks behind it. A clock is a line TSval ≈ offset + rate·t:
// hosts behind one NAT address show as parallel lines, one per host, and
// kernels that randomise the offset per connection (Linux 4.10, and again
// since 2026) show as a new line for nearly every connection.
type clockEstimate struct {
	Points int     // attempts with a timestamp
	Rate   float64 // ticks per second of the best-fitting rate
	Clocks int     // distinct lines at that rate
	// Lines counts the clocks seen on at least two connections: only
	// those show a host, as one connection fits any line.
	Lines     int
	Monotonic bool // TSval never went backwards from one SYN to the next
	// PerConnection is set when nearly every attempt has a line of its own:
	// per-connection offsets, which hide how many hosts there are.
	PerConnection bool
}

// clockRates are the TSval tick rates in use: 1 kHz (Linux since 4.13,
// macOS, Windows), and the jiffies rates of older Linux (HZ).
var clockRates = []float64{1000, 250, 300, 100}

// estimateClocks groups the points into clock lines.
func estimateClocks(pts []tsPoint) clockEstimate {
	e := clockEstimate{Points: len(pts), Monotonic: true}
	if len(pts) == 0 {
		return e
	}
	slices.SortFunc(pts, func(a, b tsPoint) int { return cmp.Compare(a.t, b.t) })
	for i := 1; i < len(pts); i++ {
		if int32(pts[i].tsval-pts[i-1].tsval) < 0 {
			e.Monotonic = false
		}
	}
	span := float64(pts[len(pts)-1].t-pts[0].t) / 1e9
	// Hosts may tick at different rates (1 kHz and an old kernel's 250 Hz
	// behind one NAT), so lines are taken rate by rate: the points on a line
	// of at least two at one rate are explained, and the rest are tried at
	// the next rate. Points left alone are clocks seen once.
	left := pts
	for _, rate := range clockRates {
		if len(left) < 2 {
			break
		}
		// Tolerance: 20 ms of capture-time jitter plus 200 ppm of drift
		// between the capturing host's clock and the sender's.
		tol := rate * (0.02 + 2e-4*span)
		lines, rest := splitLines(left, rate, tol)
		if lines > 0 && e.Rate == 0 {
			e.Rate = rate
		}
		e.Lines += lines
		left = rest
	}
	if e.Rate == 0 {
		e.Rate = clockRates[0]
	}
	e.Clocks = e.Lines + len(left)
	e.PerConnection = len(pts) >= 4 && float64(len(left)) >= 0.8*float64(len(pts))
	return e
}

// splitLines finds the lines of at least two points at one rate: the
// clusters of offsets TSval - rate·t on the circle of 32-bit timestamp
// values. It returns how many there are and the points on none of them.
func splitLines(pts []tsPoint, rate, tol float64) (lines int, rest []tsPoint) {
	t0 := pts[0].t
	type off struct {
		v uint32
		i int
	}
	offs := make([]off, len(pts))
	for i, p := range pts {
		ticks := math.Round(rate * float64(p.t-t0) / 1e9)
		offs[i] = off{p.tsval - uint32(int64(ticks)), i}
	}
	slices.SortFunc(offs, func(a, b off) int { return cmp.Compare(a.v, b.v) })
	// Cluster ids along the sorted circle; the first and last clusters are
	// one if they meet across zero.
	id := make([]int, len(offs))
	for i := 1; i < len(offs); i++ {
		id[i] = id[i-1]
		if float64(offs[i].v-offs[i-1].v) > tol {
			id[i]++
		}
	}
	last := id[len(id)-1]
	if last > 0 && float64(offs[0].v-offs[len(offs)-1].v) <= tol {
		for i := range id {
			if id[i] == last {
				id[i] = 0
			}
		}
	}
	size := map[int]int{}
	for _, c := range id {
		size[c]++
	}
	for _, n := range size {
		if n > 1 {
			lines++
		}
	}
	for k, o := range offs {
		if size[id[k]] == 1 {
			rest = append(rest, pts[o.i])
		}
	}
	slices.SortFunc(rest, func(a, b tsPoint) int { return cmp.Compare(a.t, b.t) })
	return lines, rest
}
