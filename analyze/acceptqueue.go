package analyze

import (
	"net/netip"
	"slices"
)

// AcceptQueue is the accept-queue model of one listener in one capture (see
// acceptOccupancy): how many completed handshakes waited for the
// application over time, and when the kernel was seen refusing them.
type AcceptQueue struct {
	Capture int // index into Result.Captures
	Server  netip.AddrPort
	// Served is false when the server never sent payload, so that
	// acceptance, and the occupancy, cannot be seen; Steps is then empty.
	Served bool
	// Steps is the modelled occupancy, from each step's time on, in time
	// order; empty when not Served. A listener whose occupancy changed
	// more than MaxQueueSteps times keeps, per time bin, the step with the
	// highest occupancy and the last one (the level it ended the bin at),
	// so that the series stays bounded and keeps its peaks; Changes is
	// how many steps the model had.
	Steps   []QueueStep
	Changes int
	// Capacity is the model's estimate of the queue's size (0 when it has
	// none): the occupancy when the kernel was seen refusing handshakes,
	// else the size the SYNs it dropped show (fitQueueToDrops).
	Capacity int
	// Ignored and Reset are the times of the third ACKs the server ignored
	// (tcp_abort_on_overflow=0) or reset (=1), as the capture saw them:
	// the queue was full then.
	Ignored, Reset []int64
}

// QueueStep is the modelled accept-queue occupancy from Time on.
type QueueStep struct {
	Time    int64
	Waiting int // handshakes completed and not yet accepted
}

// maxAcceptQueues is how many listeners per capture the result models the
// accept queue of: those with the most attempts. The report draws them.
const maxAcceptQueues = 3

// acceptQueues models the accept queue of the busiest listeners of each
// capture that completed or lost a handshake; a joined client capture has
// none, since the server capture shows the queue.
func acceptQueues(res *Result) []AcceptQueue {
	var out []AcceptQueue
	for ci := range res.Captures {
		if res.Joined() && ci == res.Join.Client {
			continue
		}
		var v *view
		var ignored, reset map[netip.AddrPort][]int
		n := 0
		for _, sv := range res.Servers {
			if sv.Capture != ci || n == maxAcceptQueues {
				continue
			}
			if sv.Outcomes[Established]+sv.Outcomes[ResetAfterACK] == 0 && sv.Retransmitted == 0 && sv.Outcomes[Unanswered] == 0 {
				continue // nothing completed and nothing lost: no queue to show
			}
			if v == nil {
				v = newView(res, ci)
				ignored, reset = v.overflowSigns()
			}
			out = append(out, v.acceptQueueModel(sv.Server, ignored[sv.Server], reset[sv.Server]))
			n++
		}
	}
	return out
}

// acceptQueueModel models the accept queue of one listener, given the
// handshakes whose third ACK it ignored or reset (overflowSigns).
func (v *view) acceptQueueModel(server netip.AddrPort, ignored, reset []int) AcceptQueue {
	q := AcceptQueue{Capture: v.idx, Server: server}
	steps, served := v.acceptOccupancy(server)
	q.Served = served
	if served {
		q.Changes = len(steps)
		q.Steps = boundSteps(steps, MaxQueueSteps)
	}
	for _, i := range ignored {
		q.Ignored = append(q.Ignored, v.at(i).ThirdACK)
	}
	for _, i := range reset {
		q.Reset = append(q.Reset, v.at(i).ThirdACK)
	}
	if served {
		q.Capacity = queueCapacity(steps, v.overflowTimes(server, append(slices.Clone(ignored), reset...)))
		if q.Capacity == 0 {
			// Full before the SYNs came: the size the lost SYNs show.
			if fit, ok := v.fitQueueToDrops(server, steps, map[int]bool{}); ok {
				q.Capacity = fit.capacity
			}
		}
	}
	return q
}

// MaxQueueSteps bounds AcceptQueue.Steps: enough for every chart the
// reports draw (the HTML report draws at most 1,500 points), and a few
// hundred kilobytes of JSON whatever the number of handshakes.
const MaxQueueSteps = 4096

// boundSteps returns the steps, or when there are more than max of them,
// per one of max/2 equal time bins the step with the highest occupancy and
// the last one.
func boundSteps(steps []queueStep, max int) []QueueStep {
	if len(steps) <= max {
		out := make([]QueueStep, len(steps))
		for i, s := range steps {
			out[i] = QueueStep{Time: s.t, Waiting: s.n}
		}
		return out
	}
	bins := int64(max / 2)
	first, span := steps[0].t, steps[len(steps)-1].t-steps[0].t+1
	bin := func(t int64) int64 { return int64(float64(t-first) / float64(span) * float64(bins)) }
	out := make([]QueueStep, 0, max)
	for i := 0; i < len(steps); {
		b := bin(steps[i].t)
		hi, j := steps[i], i
		for ; j < len(steps) && bin(steps[j].t) == b; j++ {
			if steps[j].n > hi.n {
				hi = steps[j]
			}
		}
		out = append(out, QueueStep{Time: hi.t, Waiting: hi.n})
		if last := steps[j-1]; last != hi {
			out = append(out, QueueStep{Time: last.t, Waiting: last.n})
		}
		i = j
	}
	return out
}
