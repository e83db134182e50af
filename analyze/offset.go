package analyze

import (
	"math"
	"slices"
)

// offsetEstimate is the clock offset between two captures.
type offsetEstimate struct {
	offset      float64 // server minus client, seconds
	uncertainty float64
	n           int // handshakes matched in both directions
}

// estimateOffset estimates the server capture's clock minus the client
// capture's the way NTP does, one estimate per handshake whose SYN and
// SYN-ACK were both matched: the SYN gives t_server - t_client = offset + d1,
// the SYN-ACK t_client - t_server = -offset + d2, so ((ts1 - tc1) - (tc2 -
// ts2)) / 2 is the offset, off by at most (d1 - d2) / 2, which the round trip
// d1 + d2 bounds. The median of the estimates resists retransmissions and
// odd handshakes; the uncertainty is half the shortest round trip or the
// median deviation of the estimates, whichever is larger. With no handshake
// matched both ways, the shortest one-way gap is taken, with the one-way
// delay unknown.
func estimateOffset(atts []Attempt, pairs []attemptPair) offsetEstimate {
	var est, rtts, oneWay []float64
	for _, p := range pairs {
		c, s := &atts[p.c], &atts[p.s]
		sm := matchSYNs(c, s, 0, false)
		ci, si := -1, -1
		for i, k := range sm {
			if k >= 0 {
				ci, si = i, k
				break
			}
		}
		if ci < 0 {
			continue
		}
		d1 := seconds(s.SYNs[si].Time - c.SYNs[ci].Time)
		oneWay = append(oneWay, d1)
		am := matchSYNACKs(c, s, 0, false)
		for j, m := range am {
			if m < 0 || s.SYNACKs[j].Time < s.SYNs[si].Time {
				continue
			}
			d2 := seconds(c.SYNACKs[m].Time - s.SYNACKs[j].Time)
			est = append(est, (d1-d2)/2)
			rtts = append(rtts, d1+d2)
			break
		}
	}
	if len(est) == 0 {
		if len(oneWay) == 0 {
			return offsetEstimate{}
		}
		return offsetEstimate{offset: slices.Min(oneWay), uncertainty: math.Max(1, medianF(oneWay)-slices.Min(oneWay))}
	}
	off := medianF(est)
	dev := make([]float64, len(est))
	for i, e := range est {
		dev[i] = math.Abs(e - off)
	}
	return offsetEstimate{offset: off, uncertainty: math.Max(math.Max(slices.Min(rtts), 0)/2, medianF(dev)), n: len(est)}
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// syncSlack is how much earlier than the client sent it a packet may appear
// to reach the server once the offset is applied, for the offset's error.
const syncSlack = 5e6

// matchSYNs returns, per SYN of the client-side attempt c, the index of the
// same transmission among the server-side attempt s's SYNs, or -1 when the
// server never saw it. With timestamps a transmission is its TSval; without,
// the order and the times after the offset (off, in nanoseconds, used only
// when timed is set) decide.
func matchSYNs(c, s *Attempt, off int64, timed bool) []int {
	out := make([]int, len(c.SYNs))
	used := make([]bool, len(s.SYNs))
	for i := range out {
		out[i] = -1
	}
	if c.SYNs[0].Opts.Timestamps && s.SYNs[0].Opts.Timestamps {
		for i, x := range c.SYNs {
			for k, y := range s.SYNs {
				if !used[k] && x.Opts.TSval == y.Opts.TSval {
					out[i], used[k] = k, true
					break
				}
			}
		}
		return out
	}
	if !timed {
		// No clock yet: only when no SYN was lost is the order enough.
		if len(c.SYNs) == len(s.SYNs) {
			for i := range out {
				out[i] = i
			}
		}
		return out
	}
	// Each server SYN is the latest client SYN sent before it arrived.
	for k, y := range s.SYNs {
		best := -1
		for i, x := range c.SYNs {
			if x.Time <= y.Time-off+syncSlack && out[i] < 0 {
				best = i
			}
		}
		if best >= 0 {
			out[best] = k
		}
	}
	return out
}

// matchSYNACKs returns, per SYN-ACK of the server-side attempt s, the index
// of the same transmission among the client-side attempt c's SYN-ACKs, or -1
// when it never reached the client. A SYN-ACK is its sequence number and
// TSval; copies of one (a retransmission in the same millisecond) pair up in
// order.
func matchSYNACKs(c, s *Attempt, off int64, timed bool) []int {
	out := make([]int, len(s.SYNACKs))
	used := make([]bool, len(c.SYNACKs))
	ts := len(s.SYNACKs) > 0 && s.SYNACKs[0].Opts.Timestamps
	for j, y := range s.SYNACKs {
		out[j] = -1
		for m, x := range c.SYNACKs {
			if used[m] || x.Seq != y.Seq {
				continue
			}
			if ts && x.Opts.TSval != y.Opts.TSval {
				continue
			}
			if !ts && timed && x.Time < y.Time-off-syncSlack {
				continue
			}
			if !ts && !timed && len(c.SYNACKs) != len(s.SYNACKs) {
				continue
			}
			out[j], used[m] = m, true
			break
		}
	}
	return out
}
