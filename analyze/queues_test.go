package analyze

import (
	"net/netip"
	"testing"
	"time"

	"github.com/syndiag/syndiag/flows"
)

// TestMostQueued: a long flood whose half-open requests expire and are
// replaced queues many requests in all but never more than the queue holds
// at one time; the size is that, not the total.
func TestMostQueued(t *testing.T) {
	res := &Result{Captures: []Capture{{Capture: &flows.Capture{}}}}
	server := netip.MustParseAddrPort("198.18.2.2:8080")
	const size, rounds = 5, 6 // 30 requests, 5 at a time
	for r := range rounds {
		for k := range size {
			t0 := int64(r)*int64(10*time.Second) + int64(k)*int64(time.Millisecond)
			a := &flows.Attempt{Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(r), byte(k)}), 1000), Server: server, ISN: uint32(r*size + k)}
			a.SYNs = []flows.Transmission{{Time: t0}}
			for _, d := range []time.Duration{0, time.Second, 3 * time.Second} {
				a.SYNACKs = append(a.SYNACKs, flows.Transmission{Time: t0 + int64(d)})
			}
			res.Attempts = append(res.Attempts, Attempt{Attempt: a, RetryOf: -1, Peer: -1})
		}
	}
	v := newView(res, 0)
	if got := v.mostQueued(v.attempts); got != size {
		t.Errorf("at most %d queued at a time, want %d (of %d in all)", got, size, size*rounds)
	}
}
