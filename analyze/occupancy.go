package analyze

import (
	"net/netip"
	"slices"
	"time"
)

// queueStep is the accept-queue occupancy from time t on.
type queueStep struct {
	t int64
	n int
}

// acceptOccupancy models a listener's accept queue from the capture: a
// handshake enters it when the server takes the client's final ACK, and
// leaves it when the application has accepted it, which shows as the
// server's first payload (or the connection ending first). A handshake whose
// ACK the server ignored entered only after its last SYN-ACK was answered.
// It returns the steps in time order, and false when the server never sent
// payload, so that acceptance cannot be seen.
func (v *view) acceptOccupancy(server netip.AddrPort) ([]queueStep, bool) {
	type delta struct {
		t int64
		d int
	}
	var ds []delta
	served := false
	d := v.oneWayDelay(server)
	for _, i := range v.listener(server) {
		a := v.at(i)
		if !a.Established() || a.Outcome == ResetAfterACK {
			continue
		}
		enter := a.ThirdACK
		if n := len(a.SYNACKs); n > 0 && a.SYNACKs[n-1].Time > enter {
			enter = a.SYNACKs[n-1].Time
		}
		leave := int64(0)
		if a.FirstData[1] != 0 {
			leave = a.FirstData[1]
			served = true
		}
		for _, end := range []int64{a.ClosedAt, firstReset(a)} {
			if end != 0 && (leave == 0 || end < leave) {
				leave = end
			}
		}
		// At the client, the server took the ACK one way later and
		// replied one way before the reply arrived.
		enter += d
		if leave != 0 {
			leave -= d
		}
		if leave != 0 && leave < enter {
			continue
		}
		ds = append(ds, delta{enter, +1})
		if leave != 0 {
			ds = append(ds, delta{leave, -1})
		}
	}
	// At equal times, leaving first: the queue does not hold both.
	slices.SortFunc(ds, func(a, b delta) int {
		switch {
		case a.t != b.t:
			if a.t < b.t {
				return -1
			}
			return 1
		}
		return a.d - b.d
	})
	var steps []queueStep
	n := 0
	for _, d := range ds {
		n += d.d
		steps = append(steps, queueStep{d.t, n})
	}
	return steps, served
}

// oneWayDelay is, for a capture taken at the clients, half the median round
// trip from a SYN to the SYN-ACK that answered it: how much later the server
// sees what the capture shows a client send. It is 0 elsewhere: at the
// server, or where the side is unknown, the capture's times are the
// server's.
func (v *view) oneWayDelay(server netip.AddrPort) int64 {
	if v.c.Role != RoleClient {
		return 0
	}
	var rtts []int
	for _, i := range v.listener(server) {
		a := v.at(i)
		if len(a.SYNACKs) == 0 {
			continue
		}
		s := a.SYNACKs[0].Time
		for k := len(a.SYNs) - 1; k >= 0; k-- {
			if a.SYNs[k].Time <= s {
				rtts = append(rtts, int(s-a.SYNs[k].Time))
				break
			}
		}
	}
	if len(rtts) == 0 {
		return 0
	}
	return int64(median(rtts)) / 2
}

func firstReset(a *Attempt) int64 {
	if len(a.Resets) == 0 {
		return 0
	}
	return a.Resets[0].Time
}

// occupancyAt returns the modelled occupancy at time t.
func occupancyAt(steps []queueStep, t int64) int {
	i, _ := slices.BinarySearchFunc(steps, t, func(s queueStep, t int64) int {
		switch {
		case s.t < t:
			return -1
		case s.t > t:
			return 1
		}
		return 0
	})
	// steps[i-1] is the last step strictly before t.
	if i == 0 {
		return 0
	}
	return steps[i-1].n
}

// fullPeriods returns the spans during which the modelled occupancy was at
// least capacity, widened by slack for the timing of the capture.
func fullPeriods(steps []queueStep, capacity int, slack time.Duration) []period {
	var out []period
	var cur *period
	for _, s := range steps {
		switch {
		case s.n >= capacity && cur == nil:
			out = append(out, period{from: s.t - int64(slack), to: s.t})
			cur = &out[len(out)-1]
		case s.n < capacity && cur != nil:
			cur.to = s.t + int64(slack)
			cur = nil
		}
	}
	if cur != nil {
		cur.to = 1<<63 - 1
	}
	return mergePeriods(out)
}
