package analyze

import (
	"math"
	"slices"
)

// Latency sums up connect times (first SYN to first SYN-ACK, as the capture
// saw them) of the attempts that got a SYN-ACK.
type Latency struct {
	Count         int
	P50, P90, P99 float64 // seconds
	Max           float64
	// Retransmitted counts the answered attempts whose SYN had to be
	// retransmitted first; TailRetransmitted, those of them at or above P99.
	Retransmitted     int
	Tail              int // answered attempts at or above P99
	TailRetransmitted int
}

func connectLatency(attempts []*Attempt) Latency {
	var l Latency
	var ct []float64
	for _, a := range attempts {
		if a.ConnectTime < 0 {
			continue
		}
		ct = append(ct, a.ConnectTime)
		if a.Retransmissions() > 0 {
			l.Retransmitted++
		}
	}
	l.Count = len(ct)
	if l.Count == 0 {
		return l
	}
	slices.Sort(ct)
	l.P50, l.P90, l.P99 = percentile(ct, 50), percentile(ct, 90), percentile(ct, 99)
	l.Max = ct[len(ct)-1]
	for _, a := range attempts {
		if a.ConnectTime >= l.P99 && a.ConnectTime >= 0 {
			l.Tail++
			if a.Retransmissions() > 0 {
				l.TailRetransmitted++
			}
		}
	}
	return l
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
