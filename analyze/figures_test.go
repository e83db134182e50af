package analyze

import (
	"cmp"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
)

// TestPAWSReplay checks the per-host PAWS replay the result keeps for the
// reports: why the rule cannot apply where it cannot, and, where it can,
// the decision on every SYN of each source, consistent with its counts
// and with the finding's own replay.
func TestPAWSReplay(t *testing.T) {
	paws, lab := filepath.Join("..", "testdata", "paws"), filepath.Join("..", "testdata", "lab")
	tests := []struct {
		path                       string
		scope                      PAWSScope
		source                     string // the first source, when the rule can drop
		syns, rejected, unanswered int
	}{
		{filepath.Join(paws, "paws-nat.pcap"), PAWSCanDrop, "198.18.40.1", 99, 80, 80},
		{filepath.Join(paws, "paws-nat-recycle-off.pcap"), PAWSCanDrop, "198.18.40.1", 24, 13, 0},
		{filepath.Join(paws, "paws-nat-client-closes.pcap"), PAWSNoStamp, "", 0, 0, 0},
		{filepath.Join(paws, "paws-single-host.pcap"), PAWSNoneBehind, "", 0, 0, 0},
		{filepath.Join(paws, "paws-nat-client.pcap"), PAWSClientSide, "", 0, 0, 0},
		{filepath.Join(lab, "closed-port.pcap"), PAWSNoStamp, "", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			res := readCapture(t, tc.path)
			if len(res.PAWS) != 1 {
				t.Fatalf("%d PAWS replays for one capture", len(res.PAWS))
			}
			r := res.PAWS[0]
			if r.Capture != 0 || r.Scope != tc.scope {
				t.Fatalf("capture %d, scope %q; want 0, %q", r.Capture, r.Scope, tc.scope)
			}
			if tc.scope != PAWSCanDrop {
				if len(r.Sources) != 0 || r.OtherSources != 0 {
					t.Errorf("%d sources kept (%d others) where the rule cannot drop", len(r.Sources), r.OtherSources)
				}
				return
			}
			s := r.Sources[0]
			if s.Addr != netip.MustParseAddr(tc.source) || s.SYNs != tc.syns || s.Rejected != tc.rejected || s.Unanswered != tc.unanswered {
				t.Errorf("first source %s: %d SYNs, %d rejected, %d unanswered; want %s: %d, %d, %d", s.Addr, s.SYNs, s.Rejected, s.Unanswered, tc.source, tc.syns, tc.rejected, tc.unanswered)
			}
			v := newView(res, 0)
			dropped := v.perHostPAWS(nil).dropped
			for _, s := range r.Sources {
				if len(s.Decisions) != s.SYNs || len(s.Stamps) == 0 {
					t.Errorf("%s: %d decisions for %d SYNs, %d stamps", s.Addr, len(s.Decisions), s.SYNs, len(s.Stamps))
				}
				if !slices.IsSortedFunc(s.Decisions, func(a, b PAWSDecision) int {
					return cmp.Or(cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.SYN, b.SYN))
				}) {
					t.Errorf("%s: decisions not in attempt order", s.Addr)
				}
				rejected, unanswered := 0, 0
				for _, d := range s.Decisions {
					a := &res.Attempts[d.Attempt]
					if a.Client.Addr() != s.Addr || !a.SYNs[d.SYN].Opts.Timestamps || a.SYNsAnswered()[d.SYN] != d.Answered {
						t.Errorf("%s: decision %+v is not its SYN's", s.Addr, d)
					}
					if d.Reject != dropped[[2]int{d.Attempt, d.SYN}] {
						t.Errorf("%s: decision %+v, the finding's replay says %v", s.Addr, d, !d.Reject)
					}
					if d.Reject && !d.InForce {
						t.Errorf("%s: rejected without a stamp in force: %+v", s.Addr, d)
					}
					rejected += boolInt(d.Reject)
					unanswered += boolInt(!d.Answered)
				}
				if rejected != s.Rejected || unanswered != s.Unanswered {
					t.Errorf("%s: counts %d rejected, %d unanswered; the decisions say %d, %d", s.Addr, s.Rejected, s.Unanswered, rejected, unanswered)
				}
			}
		})
	}
}

// TestAcceptQueues checks the accept-queue models the result keeps for the
// reports: the listeners modelled, and the queue's size where the
// scenario's application let it overflow (9, as the finding says).
func TestAcceptQueues(t *testing.T) {
	tests := []struct {
		scenario       string
		capacity       int
		ignored, reset int
	}{
		{"accept-overflow-abort0", 9, 10, 0},
		{"accept-overflow-abort1", 9, 0, 24},
		{"healthy", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			res := readCapture(t, filepath.Join(scenarioDir, tc.scenario, "server.pcap"))
			if len(res.AcceptQueues) != 1 {
				t.Fatalf("%d accept queues modelled, want the one listener", len(res.AcceptQueues))
			}
			q := res.AcceptQueues[0]
			if q.Capture != 0 || q.Server != res.Servers[0].Server || !q.Served {
				t.Errorf("capture %d, server %s, served %v; want 0, %s, true", q.Capture, q.Server, q.Served, res.Servers[0].Server)
			}
			if q.Capacity != tc.capacity || len(q.Ignored) != tc.ignored || len(q.Reset) != tc.reset {
				t.Errorf("capacity %d, %d ignored, %d reset; want %d, %d, %d", q.Capacity, len(q.Ignored), len(q.Reset), tc.capacity, tc.ignored, tc.reset)
			}
			if !slices.IsSortedFunc(q.Steps, func(a, b QueueStep) int { return cmp.Compare(a.Time, b.Time) }) || len(q.Steps) == 0 || q.Steps[len(q.Steps)-1].Waiting < 0 {
				t.Errorf("%d steps, not a time-ordered occupancy", len(q.Steps))
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
