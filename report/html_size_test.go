package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
)

// synthCapture builds a capture's attempts directly, for inputs no test
// capture has: each source sends, in each of bins time slots spread over
// span, one attempt of each of outcomes kinds.
type synthCapture struct {
	sources  []netip.Addr
	bins     int
	span     time.Duration
	outcomes []analyze.Outcome
}

// synthT0 is the start of every synthetic capture.
var synthT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

func (c synthCapture) input(path string) analyze.Input {
	server := netip.MustParseAddrPort("198.18.31.2:8080")
	var atts []*flows.Attempt
	port := uint16(1024)
	isn := uint32(1)
	step := int64(c.span) / int64(max(c.bins, 1))
	for b := range c.bins {
		for si, src := range c.sources {
			for oi, o := range c.outcomes {
				t := synthT0 + int64(b)*step + int64(si*len(c.outcomes)+oi)*int64(time.Millisecond)
				port++
				if port == 0 {
					port = 1024
				}
				isn++
				ts := uint32(si)<<24 + uint32(t/int64(time.Millisecond))
				if oi%2 == 1 {
					// A second host behind the address, its clock 5 s
					// behind: what the per-host PAWS rule rejects.
					ts -= 5000
				}
				a := &flows.Attempt{Client: netip.AddrPortFrom(src, port), Server: server, ISN: isn}
				syn := func(dt time.Duration) flows.Transmission {
					return flows.Transmission{Time: t + int64(dt), Seq: isn, Opts: flows.Options{Timestamps: true, TSval: ts + uint32(dt/time.Millisecond)}}
				}
				answer := func(dt time.Duration) flows.Transmission {
					return flows.Transmission{Time: t + int64(dt), Seq: 7, Ack: isn + 1}
				}
				a.SYNs = []flows.Transmission{syn(0)}
				switch o {
				case analyze.Established:
					a.SYNACKs = []flows.Transmission{answer(time.Millisecond)}
					a.ThirdACK = t + int64(2*time.Millisecond)
					// Closed by the server first: a stamp for the rule.
					a.FirstFIN, a.FINTime, a.ClosedAt = flows.ServerSide, t+int64(5*time.Millisecond), t+int64(6*time.Millisecond)
					a.LastTSval[0] = flows.TSvalSeen{Valid: true, TSval: ts + 5, Time: t + int64(5*time.Millisecond)}
				case analyze.ResetAfterACK:
					a.SYNACKs = []flows.Transmission{answer(time.Millisecond)}
					a.ThirdACK = t + int64(2*time.Millisecond)
					// tcp_abort_on_overflow's bare RST: seq = the server's ISN+1.
					a.Resets = []flows.Reset{{Time: t + int64(3*time.Millisecond), FromServer: true, Flags: flows.RST, Seq: 8}}
				case analyze.HalfOpen:
					a.SYNACKs = []flows.Transmission{answer(time.Millisecond), answer(time.Second)}
				case analyze.Refused:
					a.Resets = []flows.Reset{{Time: t + int64(time.Millisecond), FromServer: true, Ack: isn + 1}}
				case analyze.ICMPUnreachable:
					a.ICMP = []flows.ICMPError{{Time: t + int64(time.Millisecond), Reporter: server.Addr(), Type: 3, Code: 3, AboutClientSegment: true, QuotedSeq: isn}}
				case analyze.AnsweredByACK:
					a.AckAnswers = []flows.Transmission{answer(time.Millisecond)}
				default: // unanswered: the SYN and its retransmissions
					a.SYNs = append(a.SYNs, syn(time.Second), syn(3*time.Second))
				}
				atts = append(atts, a)
			}
		}
	}
	last := synthT0 + int64(c.span) + int64(10*time.Second)
	cp := &flows.Capture{Format: "pcap", Packets: int64(len(atts) * 3), First: synthT0, Last: last}
	return analyze.Input{Path: path, Role: analyze.RoleServer, Capture: cp, Attempts: atts}
}

// manySources returns n IPv6 addresses, long names being the worst case.
func manySources(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.MustParseAddr(fmt.Sprintf("2001:db8:1234:5678:9abc:def0:%x:%x", 0x1000+i/7, 0xa000+i))
	}
	return out
}

var allOutcomes = []analyze.Outcome{analyze.Established, analyze.Unanswered, analyze.Refused, analyze.ICMPUnreachable,
	analyze.HalfOpen, analyze.AnsweredByACK, analyze.ResetAfterACK}

// TestHTMLSizeBound renders synthetic worst cases, a day of every outcome
// from many sources, in one capture and in two, and SYNs up to what the
// timeline draws one by one: every page must stay under 2 MB and say what
// it counted in bins, gathered in one lane, sampled or left out.
func TestHTMLSizeBound(t *testing.T) {
	day := func(path string) analyze.Input {
		return synthCapture{manySources(40), 150, 24 * time.Hour, allOutcomes}.input(path)
	}
	tests := []struct {
		desc string
		in   []analyze.Input
		says []string
	}{
		{"a day, every outcome, 40 sources", []analyze.Input{day("day.pcap")},
			[]string{"too many to draw one by one", "17 other addresses", "The bins are 3600 s wide instead of 600 s", "of the 6000 times a third ACK reset (queue full) are marked", "34 more client addresses with timestamps are not drawn"}},
		{"two such captures", []analyze.Input{day("a.pcap"), day("b.pcap")},
			[]string{"too many to draw one by one", "17 other addresses", "The bins are 7200 s wide instead of 600 s"}},
		{"unanswered SYNs up to the marks' limit", []analyze.Input{synthCapture{manySources(40), 29, time.Hour, []analyze.Outcome{analyze.Unanswered}}.input("hour.pcap")},
			[]string{"17 other addresses"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			res := analyze.Analyze(tt.in)
			var b bytes.Buffer
			if err := HTML(&b, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if n := b.Len(); n > 2<<20 {
				t.Errorf("page of %d bytes, want at most 2 MiB", n)
			}
			t.Logf("%d attempts: page of %d bytes", len(res.Attempts), b.Len())
			for _, want := range tt.says {
				if !strings.Contains(b.String(), want) {
					t.Errorf("the page does not say %q", want)
				}
			}
		})
	}
}

// TestBinWidth checks the bin widths the timelines and queue charts use.
func TestBinWidth(t *testing.T) {
	tests := []struct {
		span float64
		n    int
		want float64
	}{
		{13.5, 150, 0.1},
		{86400, 150, 600},
		{86400, 12, 7200},
		{30 * 86400, 150, 28800}, // past the round widths: doubled
	}
	for _, tt := range tests {
		if got := binWidth(tt.span, tt.n); got != tt.want {
			t.Errorf("binWidth(%v, %d) = %v, want %v", tt.span, tt.n, got, tt.want)
		}
	}
	for _, w := range []float64{0.01, 1, 600, 7200} {
		if got := widerBin(w); got <= w {
			t.Errorf("widerBin(%v) = %v", w, got)
		}
	}
}
