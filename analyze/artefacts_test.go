package analyze

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/syndiag/syndiag/flows"
)

// ms is a capture time n milliseconds after an arbitrary start.
func ms(n int) int64 { return 1_700_000_000e9 + int64(n)*int64(time.Millisecond) }

func synAt(t int64, ttl uint8) flows.Transmission {
	return flows.Transmission{Time: t, TTL: ttl, Seq: 1000}
}

// TestOverflowReset: only the bare RST that tcp_v4_send_reset answers the
// third ACK with (no ACK flag, seq = the server's ISN+1) is an accept-queue
// abort; an application's RST|ACK after it read the request is not.
func TestOverflowReset(t *testing.T) {
	base := func() *flows.Attempt {
		return &flows.Attempt{ISN: 1000,
			SYNs:     []flows.Transmission{synAt(ms(0), 64)},
			SYNACKs:  []flows.Transmission{{Time: ms(1), Seq: 5000, Ack: 1001}},
			ThirdACK: ms(2)}
	}
	tests := []struct {
		desc  string
		reset flows.Reset
		data  bool
		want  Outcome
	}{
		{"bare RST, seq ISN+1", flows.Reset{Time: ms(3), FromServer: true, Flags: flows.RST, Seq: 5001}, false, ResetAfterACK},
		{"RST|ACK acknowledging the request", flows.Reset{Time: ms(3), FromServer: true, Flags: flows.RST | flows.ACK, Seq: 5001, Ack: 1100}, false, Established},
		{"bare RST with another sequence number", flows.Reset{Time: ms(3), FromServer: true, Flags: flows.RST, Seq: 7777}, false, Established},
		{"bare RST after the server's data", flows.Reset{Time: ms(3), FromServer: true, Flags: flows.RST, Seq: 5001}, true, Established},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a := base()
			a.Resets = []flows.Reset{tc.reset}
			if tc.data {
				a.FirstData[1] = ms(2)
			}
			if got := classify(a, ms(10000), Schedule{}); got != tc.want {
				t.Errorf("outcome %s, want %s", got, tc.want)
			}
		})
	}
}

// TestIgnoredACK: a SYN-ACK after the third ACK shows an ignored ACK only
// when the request timer sent it, about a second or more after the one
// before; a SYN-ACK milliseconds after another answered a retransmitted SYN.
func TestIgnoredACK(t *testing.T) {
	tests := []struct {
		desc    string
		synacks []int // ms
		ack     int
		want    bool
	}{
		{"timer retransmission after the ACK", []int{1, 1001}, 50, true},
		{"race: the answer to a retransmitted SYN follows the timer's", []int{1000, 1004}, 1002, false},
		{"no SYN-ACK after the ACK", []int{1, 1001}, 1100, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a := &flows.Attempt{ThirdACK: ms(tc.ack)}
			for _, x := range tc.synacks {
				a.SYNACKs = append(a.SYNACKs, flows.Transmission{Time: ms(x)})
			}
			if got := ignoredACK(a); got != tc.want {
				t.Errorf("ignored %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNotLinux: a client whose SYNs left with TTL 128 (Windows) gets no
// Linux tcp_syn_retries implied, however Linux-like its timer looks.
func TestNotLinux(t *testing.T) {
	for _, ttl := range []uint8{64, 128} {
		a := &flows.Attempt{ISN: 1000,
			Client: netip.MustParseAddrPort("198.18.1.11:40000"), Server: netip.MustParseAddrPort("198.18.2.2:8080")}
		for _, off := range []int{0, 1000, 3000, 7000} {
			a.SYNs = append(a.SYNs, synAt(ms(off), ttl))
		}
		at := newAttempt(a, 0, ms(30000))
		linux := len(at.Schedule.SynRetries) > 0 && strings.HasPrefix(string(at.Schedule.Stack), "Linux")
		if linux != (ttl == 64) {
			t.Errorf("TTL %d: stack %q, implied tcp_syn_retries %v", ttl, at.Schedule.Stack, at.Schedule.SynRetries)
		}
		if at.Outcome != Unanswered || !at.Schedule.GaveUp {
			t.Errorf("TTL %d: outcome %s, gave up %v", ttl, at.Outcome, at.Schedule.GaveUp)
		}
	}
}

// TestLoopbackDrop: SYNs lost on loopback are the host's own doing; the
// finding says so instead of blaming a path or a remote firewall.
func TestLoopbackDrop(t *testing.T) {
	var in []*flows.Attempt
	for i := range 4 {
		a := &flows.Attempt{ISN: uint32(1000 + i),
			Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(40000+i)), Server: netip.MustParseAddrPort("127.0.0.1:7000")}
		for _, off := range []int{0, 1000, 3000, 7000} {
			a.SYNs = append(a.SYNs, synAt(ms(i*10+off), 64))
		}
		in = append(in, a)
	}
	res := Analyze([]Input{{Path: "lo.pcap", Role: RoleUnknown, Capture: &flows.Capture{First: ms(0), Last: ms(40000)}, Attempts: in}})
	f := findingOf(res, KindServerSilentDrop)
	if f == nil || !strings.Contains(f.Summary, "loopback") || !strings.Contains(f.Recommendation, "backlog") {
		t.Fatalf("findings %v; want a loopback silent drop", kinds(res))
	}
}
