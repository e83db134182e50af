package analyze

import (
	"fmt"
	"net/netip"
	"slices"
)

// Source sums up one client source IP as the capture sees it (behind a NAT,
// that is the NAT's address, shared by several hosts).
type Source struct {
	Capture  int
	IP       netip.Addr
	Attempts int
	// Failed counts failed attempts, each one, retried or not.
	Failed int
	// Retried counts the failed attempts that the application retried
	// (another attempt's RetryOf).
	Retried       int
	Retransmitted int // attempts that needed a SYN retransmission
	First, Last   int64
	// TSvalMonotonic is nil when the SYNs carried no timestamps.
	TSvalMonotonic *bool
	// TimestampClocks estimates how many timestamp clocks share the IP: 0
	// without timestamps, and not a host count when PerConnectionOffsets.
	TimestampClocks int
	// ClockLines counts the clocks seen on more than one connection.
	ClockLines           int
	ClockRate            float64
	PerConnectionOffsets bool
	Verdict              string
}

func (v *view) sources() []Source {
	by := map[netip.Addr]*Source{}
	pts := map[netip.Addr][]tsPoint{}
	for _, i := range v.attempts {
		a := v.at(i)
		ip := a.Client.Addr()
		s := by[ip]
		if s == nil {
			s = &Source{Capture: v.idx, IP: ip, First: a.FirstSYN()}
			by[ip] = s
		}
		s.Attempts++
		if a.Outcome.Failed() {
			s.Failed++
		}
		if a.RetryOf >= 0 && v.at(a.RetryOf).Outcome.Failed() {
			by[v.at(a.RetryOf).Client.Addr()].Retried++
		}
		if a.Retransmissions() > 0 {
			s.Retransmitted++
		}
		s.Last = max(s.Last, a.SYNs[len(a.SYNs)-1].Time)
		if o := a.SYNs[0].Opts; o.Timestamps {
			pts[ip] = append(pts[ip], tsPoint{t: a.SYNs[0].Time, tsval: o.TSval})
		}
	}
	out := make([]Source, 0, len(by))
	for ip, s := range by {
		if p := pts[ip]; len(p) > 0 {
			e := estimateClocks(p)
			mono := e.Monotonic
			s.TSvalMonotonic = &mono
			s.TimestampClocks, s.ClockLines, s.ClockRate, s.PerConnectionOffsets = e.Clocks, e.Lines, e.Rate, e.PerConnection
		}
		s.Verdict = s.verdict()
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Source) int {
		if a.Attempts != b.Attempts {
			return b.Attempts - a.Attempts
		}
		return a.IP.Compare(b.IP)
	})
	return out
}

// verdict says in a phrase what the source's timestamps show.
func (s *Source) verdict() string {
	switch {
	case s.TSvalMonotonic == nil:
		return "no TCP timestamps"
	case s.Attempts == 1:
		return "one connection"
	case s.PerConnectionOffsets:
		return "per-connection offsets (modern kernel)"
	case s.ClockLines > 1:
		return fmt.Sprintf("%d clocks: at least %d hosts behind a NAT", s.TimestampClocks, s.ClockLines)
	case s.TimestampClocks == 1 && *s.TSvalMonotonic:
		return "one timestamp clock, monotonic"
	case s.TimestampClocks == 1:
		return "one timestamp clock"
	}
	return "too few connections to count clocks"
}
