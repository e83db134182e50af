package flows

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// trackerRun feeds hand-made segments to a Tracker, as raw IP frames
// through a Decoder, and keeps what the tracker emits.
type trackerRun struct {
	t       *testing.T
	tr      *Tracker
	d       Decoder
	frame   int64
	emitted []*Attempt
}

func newTrackerRun(t *testing.T, maxOpen int) *trackerRun {
	r := &trackerRun{t: t}
	r.tr = NewTracker(maxOpen, func(a *Attempt) { r.emitted = append(r.emitted, a) })
	return r
}

// send observes segment s at now, a time in microseconds after edgeT0.
func (r *trackerRun) send(us int64, s tcpSpec) {
	r.t.Helper()
	r.frame++
	r.d.Decode(s.ipPacket(r.t), LinkRaw)
	r.tr.Observe(&r.d, at(us), r.frame)
}

// tick moves capture time to us with a packet of a connection nobody tracks.
func (r *trackerRun) tick(us int64) {
	r.t.Helper()
	r.send(us, tcpSpec{src: ap(rtr4, 179), dst: ap(srv4, 50000), seq: 1, ack: 1, flags: ACK})
}

// clients returns the client ports of the emitted attempts, in order.
func (r *trackerRun) clients() []string {
	var c []string
	for _, a := range r.emitted {
		c = append(c, a.Client.String())
	}
	return c
}

// spoofed returns the i-th of a flood of SYNs from different sources.
func spoofed(i int) tcpSpec {
	src := netip.AddrFrom4([4]byte{198, 18, byte(1 + i/250), byte(1 + i%250)})
	return tcpSpec{src: ap(src, uint16(1024+i)), dst: ap(srv4, 80), seq: uint32(1000 * i), flags: SYN, window: 64240}
}

func TestTrackerEviction(t *testing.T) {
	r := newTrackerRun(t, 3)
	for i := range 5 {
		r.send(int64(i)*1000, spoofed(i))
		if n := len(r.tr.conns); n > 3 {
			t.Fatalf("after SYN %d: %d attempts open, cap 3", i, n)
		}
	}
	if got, want := r.clients(), []string{"198.18.1.1:1024", "198.18.1.2:1025"}; !slices.Equal(got, want) {
		t.Errorf("evicted %v, want the two oldest %v", got, want)
	}
	r.tr.Flush()
	want := []string{"198.18.1.1:1024", "198.18.1.2:1025", "198.18.1.3:1026", "198.18.1.4:1027", "198.18.1.5:1028"}
	if got := r.clients(); !slices.Equal(got, want) {
		t.Errorf("emitted %v, want each once: %v", got, want)
	}
	for i, a := range r.emitted {
		if a.Evicted != (i < 2) {
			t.Errorf("attempt %v: Evicted = %v", a.Client, a.Evicted)
		}
	}
	st := r.tr.Stats
	if st.Evicted != 2 || st.Attempts != 5 || st.PeakOpen != 3 || st.MaxOpen != 3 {
		t.Errorf("stats %+v, want 5 attempts, 2 evicted, peak 3 of 3", st)
	}
}

// TestTrackerEvictsIdlest checks that eviction picks the attempt idle the
// longest, not the one that started first: a client that keeps
// retransmitting must not lose its attempt to a flood that arrived later.
func TestTrackerEvictsIdlest(t *testing.T) {
	r := newTrackerRun(t, 3)
	r.send(0, spoofed(0))
	r.send(1000, spoofed(1))
	r.send(2000, spoofed(2))
	r.send(1_000_000, spoofed(0)) // retransmission: 0 is now the most recent
	r.send(1_500_000, spoofed(3))
	if got, want := r.clients(), []string{"198.18.1.2:1025"}; !slices.Equal(got, want) {
		t.Fatalf("evicted %v, want %v", got, want)
	}
	r.tr.Flush()
	for _, a := range r.emitted {
		if a.Client.Port() == 1024 && len(a.SYNs) != 2 {
			t.Errorf("%v: %d SYNs, want 2 in one attempt", a.Client, len(a.SYNs))
		}
	}
	if len(r.emitted) != 4 {
		t.Errorf("%d attempts emitted, want 4: %v", len(r.emitted), r.clients())
	}
}

// TestTrackerFlushOrder checks that Flush emits the open attempts in the
// order they started, whatever the map order, and that attempts that
// finished earlier are not emitted again.
func TestTrackerFlushOrder(t *testing.T) {
	var first []string
	for round := range 3 {
		r := newTrackerRun(t, 0)
		var want []string
		for i := range 200 {
			s := spoofed(i)
			r.send(int64(i)*10, s)
			if i%7 == 3 {
				// Refused: closed at once, emitted 5 s later.
				r.send(int64(i)*10+1, tcpSpec{src: s.dst, dst: s.src, ack: s.seq + 1, flags: RST | ACK})
				continue
			}
			want = append(want, s.src.String())
		}
		r.tick(10_000_000)
		closed := len(r.emitted)
		if closed != 29 {
			t.Fatalf("%d refused attempts emitted after their linger, want 29", closed)
		}
		r.tr.Flush()
		got := r.clients()[closed:]
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: Flush emitted %d attempts, not in the order they started", round, len(got))
		}
		if round == 0 {
			first = r.clients()
		} else if !slices.Equal(r.clients(), first) {
			t.Fatalf("round %d emitted in another order than round 0", round)
		}
		r.tr.Flush()
		if len(r.emitted) != 200 {
			t.Errorf("a second Flush emitted %d more", len(r.emitted)-200)
		}
	}
}

func TestTrackerTimeouts(t *testing.T) {
	syn := spoofed(0)
	synack := tcpSpec{src: syn.dst, dst: syn.src, seq: 77, ack: syn.seq + 1, flags: SYN | ACK}
	ack := tcpSpec{src: syn.src, dst: syn.dst, seq: syn.seq + 1, ack: 78, flags: ACK}
	fin := func(s tcpSpec) tcpSpec { s.flags = FIN | ACK; return s }
	tests := []struct {
		desc string
		// run sends segments; times are in µs.
		run func(r *trackerRun)
		// The attempt must still be open at quiet and emitted by done,
		// both in seconds of capture time.
		quiet, done int64
	}{
		{"half-open handshake: 180 s after the SYN", func(r *trackerRun) { r.send(0, syn) }, 179, 180},
		{"retransmission restarts the clock", func(r *trackerRun) {
			r.send(0, syn)
			r.send(100e6, syn)
		}, 279, 280},
		{"SYN-ACK without third ACK: 180 s after the SYN-ACK", func(r *trackerRun) {
			r.send(0, syn)
			r.send(1e6, synack)
		}, 180, 181},
		{"one FIN: 120 s", func(r *trackerRun) {
			r.send(0, syn)
			r.send(100, synack)
			r.send(200, ack)
			r.send(10e6, fin(ack))
		}, 129, 130},
		{"both FINs: 5 s after the second", func(r *trackerRun) {
			r.send(0, syn)
			r.send(100, synack)
			r.send(200, ack)
			r.send(10e6, fin(ack))
			r.send(10e6+100, fin(synack))
		}, 15, 16},
		{"refused: 5 s after the RST", func(r *trackerRun) {
			r.send(0, syn)
			r.send(100, tcpSpec{src: syn.dst, dst: syn.src, ack: syn.seq + 1, flags: RST | ACK})
		}, 5, 6},
		{"established: only at Flush", func(r *trackerRun) {
			r.send(0, syn)
			r.send(100, synack)
			r.send(200, ack)
		}, 3600, -1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := newTrackerRun(t, 0)
			tc.run(r)
			// Capture time moves on in steps of a second.
			for s := int64(1); s <= tc.quiet; s++ {
				r.tick(s * 1e6)
			}
			if len(r.emitted) != 0 {
				t.Fatalf("emitted by %d s", tc.quiet)
			}
			if tc.done < 0 {
				r.tr.Flush()
			} else {
				for s := tc.quiet + 1; s <= tc.done; s++ {
					r.tick(s * 1e6)
				}
			}
			if len(r.emitted) != 1 || r.tr.Stats.Evicted != 0 {
				t.Fatalf("%d attempts emitted by %d s (%d evicted), want 1", len(r.emitted), tc.done, r.tr.Stats.Evicted)
			}
		})
	}
}

func TestTrackerAnswers(t *testing.T) {
	syn := spoofed(0)
	tests := []struct {
		desc  string
		segs  []tcpSpec
		check func(a *Attempt) string
		stats TrackerStats
	}{
		{
			desc: "refused: RST from the server before any SYN-ACK",
			segs: []tcpSpec{syn, {src: syn.dst, dst: syn.src, ack: syn.seq + 1, flags: RST | ACK}},
			check: func(a *Attempt) string {
				if len(a.Resets) != 1 || !a.Resets[0].FromServer || a.Resets[0].Flags != RST|ACK || a.ClosedAt != 0 || a.Established() {
					return fmt.Sprintf("resets %+v, closed at %d", a.Resets, a.ClosedAt)
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1},
		},
		{
			desc: "simultaneous open: a SYN-ACK from the client is not an answer",
			segs: []tcpSpec{syn, {src: syn.src, dst: syn.dst, seq: syn.seq, ack: 5, flags: SYN | ACK}},
			check: func(a *Attempt) string {
				if len(a.SYNACKs) != 0 {
					return fmt.Sprintf("SYN-ACKs %+v", a.SYNACKs)
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1},
		},
		{
			desc: "a third ACK for another SYN-ACK does not establish",
			segs: []tcpSpec{
				syn,
				{src: syn.dst, dst: syn.src, seq: 77, ack: syn.seq + 1, flags: SYN | ACK},
				{src: syn.src, dst: syn.dst, seq: syn.seq + 1, ack: 99, flags: ACK},
			},
			check: func(a *Attempt) string {
				if a.Established() {
					return "established"
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1},
		},
		{
			desc: "a client ACK after its SYN: the handshake completed on a SYN-ACK the capture missed",
			segs: []tcpSpec{syn, {src: syn.src, dst: syn.dst, seq: syn.seq + 1, ack: 78, flags: ACK}},
			check: func(a *Attempt) string {
				if !a.Established() || !a.SYNACKUnseen || len(a.SYNACKs) != 0 || len(a.AckAnswers) != 0 {
					return fmt.Sprintf("established %v, unseen %v, SYN-ACKs %d, ACK answers %d", a.Established(), a.SYNACKUnseen, len(a.SYNACKs), len(a.AckAnswers))
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1, UnseenSYNACKs: 1},
		},
		{
			desc: "server data acknowledging the SYN: not a stale-tuple ACK but a missed SYN-ACK",
			segs: []tcpSpec{syn, {src: syn.dst, dst: syn.src, seq: 78, ack: syn.seq + 1, flags: ACK | PSH, payload: 82}},
			check: func(a *Attempt) string {
				if !a.SYNACKUnseen || len(a.AckAnswers) != 0 || a.FirstData[1] == 0 {
					return fmt.Sprintf("unseen %v, ACK answers %d, server data at %d", a.SYNACKUnseen, len(a.AckAnswers), a.FirstData[1])
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1, UnseenSYNACKs: 1},
		},
		{
			desc: "a bare ACK for another sequence number answers the SYN (TIME_WAIT, challenge ACK)",
			segs: []tcpSpec{syn, {src: syn.dst, dst: syn.src, seq: 5000, ack: 12345, flags: ACK}},
			check: func(a *Attempt) string {
				if a.Established() || a.SYNACKUnseen || len(a.AckAnswers) != 1 {
					return fmt.Sprintf("established %v, unseen %v, ACK answers %d", a.Established(), a.SYNACKUnseen, len(a.AckAnswers))
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1},
		},
		{
			desc: "a cumulative third ACK: the bare ACK missed, the client acknowledges the server's data",
			segs: []tcpSpec{
				syn,
				{src: syn.dst, dst: syn.src, seq: 77, ack: syn.seq + 1, flags: SYN | ACK},
				{src: syn.dst, dst: syn.src, seq: 78, ack: syn.seq + 1, flags: ACK | PSH, payload: 21},
				{src: syn.src, dst: syn.dst, seq: syn.seq + 1, ack: 99, flags: ACK},
			},
			check: func(a *Attempt) string {
				if !a.Established() || a.SYNACKUnseen {
					return fmt.Sprintf("established %v, unseen %v", a.Established(), a.SYNACKUnseen)
				}
				return ""
			},
			stats: TrackerStats{Attempts: 1, MaxOpen: DefaultMaxOpen, PeakOpen: 1},
		},
		{
			desc:  "a SYN-ACK of no SYN is an orphan",
			segs:  []tcpSpec{{src: syn.dst, dst: syn.src, seq: 77, ack: 1, flags: SYN | ACK}},
			stats: TrackerStats{MaxOpen: DefaultMaxOpen, OrphanSYNACKs: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := newTrackerRun(t, 0)
			for i, s := range tc.segs {
				r.send(int64(i)*100, s)
			}
			r.tr.Flush()
			if r.tr.Stats != tc.stats {
				t.Errorf("stats %+v, want %+v", r.tr.Stats, tc.stats)
			}
			if tc.check == nil {
				return
			}
			if len(r.emitted) != 1 {
				t.Fatalf("%d attempts, want 1", len(r.emitted))
			}
			if msg := tc.check(r.emitted[0]); msg != "" {
				t.Error(msg)
			}
		})
	}
}
