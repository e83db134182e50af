package analyze

import (
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
	slices.SortFunc(pts, func(a, b tsPoint) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	for i := 1; i < len(pts); i++ {
		if int32(pts[i].tsval-pts[i-1].tsval) < 0 {
			e.Monotonic = false
		}
	}
	span := float64(pts[len(pts)-1].t-pts[0].t) / 1e9
	e.Clocks = len(pts) + 1
	for _, rate := range clockRates {
		// Tolerance: 20 ms of capture-time jitter plus 200 ppm of drift
		// between the capturing host's clock and the sender's.
		tol := rate * (0.02 + 2e-4*span)
		if k, multi := countLines(pts, rate, tol); k < e.Clocks {
			e.Clocks, e.Lines, e.Rate = k, multi, rate
		}
	}
	e.PerConnection = len(pts) >= 4 && float64(e.Clocks-e.Lines) >= 0.8*float64(len(pts))
	return e
}

// countLines counts the clusters of offsets TSval - rate·t, on the circle of
// 32-bit timestamp values, and those of them with more than one point.
func countLines(pts []tsPoint, rate, tol float64) (clusters, multi int) {
	t0 := pts[0].t
	offs := make([]uint32, len(pts))
	for i, p := range pts {
		ticks := math.Round(rate * float64(p.t-t0) / 1e9)
		offs[i] = p.tsval - uint32(int64(ticks))
	}
	slices.Sort(offs)
	var sizes []int
	size := 1
	for i := 1; i < len(offs); i++ {
		if float64(offs[i]-offs[i-1]) > tol {
			sizes = append(sizes, size)
			size = 0
		}
		size++
	}
	sizes = append(sizes, size)
	// The first and last clusters are one if they meet across zero.
	if len(sizes) > 1 && float64(offs[0]-offs[len(offs)-1]) <= tol {
		sizes[0] += sizes[len(sizes)-1]
		sizes = sizes[:len(sizes)-1]
	}
	for _, n := range sizes {
		if n > 1 {
			multi++
		}
	}
	return len(sizes), multi
}
