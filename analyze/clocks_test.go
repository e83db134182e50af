package analyze

import (
	"math/rand/v2"
	"testing"
)

func TestEstimateClocks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const t0 = int64(1_700_000_000e9)
	// hosts returns n points from each of the given clocks, at random times
	// over span seconds, with up to 2 ms of capture jitter.
	hosts := func(rate float64, span float64, n int, offsets ...uint32) []tsPoint {
		var pts []tsPoint
		for _, off := range offsets {
			for range n {
				sec := r.Float64() * span
				pts = append(pts, tsPoint{t: t0 + int64(sec*1e9), tsval: off + uint32(rate*(sec+r.Float64()*0.002))})
			}
		}
		return pts
	}
	perConn := func(n int) []tsPoint {
		var pts []tsPoint
		for range n {
			sec := r.Float64() * 300
			pts = append(pts, tsPoint{t: t0 + int64(sec*1e9), tsval: r.Uint32()})
		}
		return pts
	}
	tests := []struct {
		desc      string
		pts       []tsPoint
		clocks    int
		rate      float64
		monotonic bool
		perConn   bool
	}{
		{"one host", hosts(1000, 300, 40, 12345), 1, 1000, true, false},
		{"one host, wrapping", hosts(1000, 300, 40, 0xffff0000), 1, 1000, true, false},
		{"three hosts behind NAT", hosts(1000, 300, 30, 1e6, 5e8, 3e9), 3, 1000, false, false},
		{"two hosts at 250 Hz", hosts(250, 600, 30, 7e6, 9e8), 2, 250, false, false},
		{"per-connection offsets", perConn(60), 60, 1000, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			e := estimateClocks(tc.pts)
			if e.Clocks != tc.clocks || e.Monotonic != tc.monotonic || e.PerConnection != tc.perConn || tc.clocks < 10 && e.Rate != tc.rate {
				t.Errorf("got clocks %d rate %g monotonic %v per-connection %v; want %d %g %v %v", e.Clocks, e.Rate, e.Monotonic, e.PerConnection, tc.clocks, tc.rate, tc.monotonic, tc.perConn)
			}
		})
	}
}
