package analyze

import (
	"fmt"
	"math"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
)

// Schedule is what the times of an attempt's SYNs say about the client's
// retransmission timer.
type Schedule struct {
	// InitialRTO is the first interval, rounded to what stacks use (1 s or
	// 3 s); 0 when the SYN was not retransmitted.
	InitialRTO time.Duration
	// Linear counts the intervals equal to the initial RTO before the
	// doubling starts: 1 for the classic exponential backoff, N+1 for Linux
	// 6.5+ with tcp_syn_linear_timeouts=N.
	Linear int
	// Exponential is set when every interval after the linear ones doubles
	// the previous one, within timer jitter.
	Exponential bool
	// Stack names the family of TCP stacks whose timer fits.
	Stack Stack
	// GaveUp is set when the capture went on long enough after the last SYN
	// that the client would have sent another had it not given up.
	GaveUp bool
	// SynRetries lists the values of tcp_syn_retries for which the kernel's
	// give-up rule (tcp_write_timeout) ends after exactly these SYNs, given
	// the fitted linear count; empty when unknown.
	SynRetries []int
}

// Stack names the family of TCP stacks whose SYN retransmission timer fits
// an attempt's schedule: one of the Stack constants, or, where the schedule
// or the SYN tells less (a single retransmission, a sender that is not
// Linux), a description of what it does tell.
type Stack string

// Stack families that a SYN schedule can tell apart.
const (
	StackLinuxClassic Stack = "Linux exponential backoff (kernel < 6.5, or tcp_syn_linear_timeouts=0)"
	StackLinuxLinear  Stack = "1 s linear retries, then exponential (Linux 6.5+ with tcp_syn_linear_timeouts, or macOS)"
	StackRTO3         Stack = "3 s initial RTO (Linux < 3.1, or Windows)"
	StackUnknown      Stack = "no known stack's timer"
)

// timerSlack is how late a retransmission timer due after d may fire. Since
// Linux 4.8 the timer wheel files a timer in a level whose granularity grows
// with the timeout (a level 8 times coarser for every factor 8, starting at
// one jiffy below 64 jiffies) and rounds its expiry up to it; the lab saw a
// 4 s SYN timer fire 280 ms late. The slack is the coarsest granularity for
// the usual HZ (100, 250, 1000), plus 60 ms for the capture itself.
func timerSlack(d time.Duration) time.Duration {
	worst := time.Duration(0)
	for _, hz := range []int64{100, 250, 1000} {
		jiffies := int64(d) * hz / int64(time.Second)
		gran := int64(1)
		for limit := int64(64); jiffies >= limit && gran < 1<<24; limit *= 8 {
			gran *= 8
		}
		worst = max(worst, time.Duration(gran*int64(time.Second)/hz))
	}
	return 60*time.Millisecond + worst
}

// fitSchedule fits the classic and linear backoffs to the SYN times of an
// attempt. captureEnd is the time of the capture's last packet; answered
// says whether anything answered the SYNs (then the client did not give up).
func fitSchedule(synTimes []int64, captureEnd int64, answered bool) Schedule {
	var s Schedule
	if len(synTimes) < 2 {
		s.GaveUp = !answered && captureEnd-synTimes[0] > int64(3*time.Second+timerSlack(3*time.Second))
		if s.GaveUp {
			s.Stack = StackUnknown
		}
		return s
	}
	first := time.Duration(synTimes[1] - synTimes[0])
	switch {
	case near(first, time.Second):
		s.InitialRTO = time.Second
	case near(first, 3*time.Second):
		s.InitialRTO = 3 * time.Second
	default:
		s.InitialRTO = first.Round(10 * time.Millisecond)
		s.Stack = StackUnknown
	}
	// Walk the intervals: the kernel arms each retransmission timer when it
	// sends, so an interval is measured from the previous SYN as sent, and
	// one late timer does not shift the rest. Linear steps of the initial
	// RTO while the intervals stay at it, then doubling.
	rto := s.InitialRTO
	s.Linear = 0
	s.Exponential = true
	linear := true
	for i := 1; i < len(synTimes); i++ {
		got := time.Duration(synTimes[i] - synTimes[i-1])
		if linear && near(got, rto) {
			s.Linear++
			continue
		}
		if linear {
			linear = false
			rto *= 2
		}
		if !near(got, rto) {
			s.Exponential = false
			break
		}
		rto *= 2
	}
	if s.Stack == "" {
		switch {
		case !s.Exponential:
			s.Stack = StackUnknown
		case s.InitialRTO == 3*time.Second && s.Linear == 1:
			s.Stack = StackRTO3
		case s.InitialRTO == time.Second && s.Linear == 1:
			s.Stack = StackLinuxClassic
		case s.InitialRTO == time.Second && s.Linear > 1:
			s.Stack = StackLinuxLinear
		default:
			s.Stack = StackUnknown
		}
	}
	// The interval the next SYN would have come after. While every
	// interval so far equals the initial RTO, the next may repeat it (a
	// linear phase going on) or double it (the backoff starting): two SYNs
	// 1 s apart prove no linear schedule, so the client is only known to
	// have given up once the later of the two has passed.
	next := rto
	if linear {
		next = 2 * s.InitialRTO
	}
	s.GaveUp = !answered && time.Duration(captureEnd-synTimes[len(synTimes)-1]) > next+timerSlack(next)
	if len(synTimes) == 2 && s.Stack != StackUnknown {
		// One interval cannot tell a linear start from a doubling one.
		s.Stack = Stack(fmt.Sprintf("%s initial RTO (one retransmission: too few to tell the backoff)", wording.Seconds(s.InitialRTO)))
	}
	if s.GaveUp && s.InitialRTO == time.Second && s.Exponential {
		linearTimeouts := max(s.Linear-1, 0)
		if linear && s.Linear > 1 {
			// The linear phase never ended: assume the 6.5+ default.
			linearTimeouts = max(linearTimeouts, 4)
		}
		s.SynRetries = linuxSynRetries(len(synTimes), linearTimeouts)
	}
	return s
}

// near reports whether an interval matches an expected one within timer
// jitter.
func near(got, want time.Duration) bool {
	return got >= want-20*time.Millisecond && got <= want+timerSlack(want)
}

// linuxSynRetries returns the values of net.ipv4.tcp_syn_retries for which a
// Linux client with the given tcp_syn_linear_timeouts (0 before 6.5) gives up
// after exactly n SYNs.
//
// It replays tcp_retransmit_timer and tcp_write_timeout (net/ipv4/tcp_timer.c):
// in SYN_SENT the attempt expires when icsk_retransmits reaches
// tcp_syn_retries + tcp_syn_linear_timeouts, or when the time since the first
// SYN reaches tcp_model_timeout(tcp_syn_retries): ((2 << retries) - 1) s
// while that stays below TCP_RTO_MAX (120 s) per step.
func linuxSynRetries(n, linearTimeouts int) []int {
	var out []int
	for retries := 1; retries <= 16; retries++ {
		if simulateLinuxSYNs(retries, linearTimeouts) == n {
			out = append(out, retries)
		}
	}
	return out
}

// simulateLinuxSYNs returns how many SYNs a Linux client sends before it
// gives up, for the given tcp_syn_retries and tcp_syn_linear_timeouts.
func simulateLinuxSYNs(retries, linearTimeouts int) int {
	const rtoMax = 120.0
	limit := modelTimeout(retries)
	rto, t := 1.0, 0.0
	sent := 1
	for retransmits := 0; ; {
		t += rto
		if retransmits >= retries+linearTimeouts || t >= limit {
			return sent
		}
		sent++
		retransmits++
		if retransmits > linearTimeouts {
			rto = math.Min(rto*2, rtoMax)
		}
	}
}

// modelTimeout is tcp_model_timeout for a 1 s initial RTO: the time the
// exponential backoff takes to make `boundary` retransmissions.
func modelTimeout(boundary int) float64 {
	const rtoMax = 120.0
	thresh := 6 // ilog2(TCP_RTO_MAX / TCP_TIMEOUT_INIT)
	if boundary <= thresh {
		return float64(int(2)<<boundary - 1)
	}
	return float64(int(2)<<thresh-1) + float64(boundary-thresh)*rtoMax
}

// String describes the schedule in a phrase.
func (s Schedule) String() string {
	if s.InitialRTO == 0 {
		return "not retransmitted"
	}
	return fmt.Sprintf("%v initial RTO; %s", wording.Seconds(s.InitialRTO), s.Stack)
}
