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
	// order.
	Steps []QueueStep
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
	q.Steps = make([]QueueStep, len(steps))
	for i, s := range steps {
		q.Steps[i] = QueueStep{Time: s.t, Waiting: s.n}
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
