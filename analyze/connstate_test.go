package analyze

import (
	"net/netip"
	"testing"

	"github.com/syndiag/syndiag/flows"
)

// TestConnState gives handshakes of every kind, built by hand, the
// conn_state that Zeek's conn.log gives the same packets.
func TestConnState(t *testing.T) {
	const ms = int64(1e6)
	syn := func(at ...int64) []flows.Transmission {
		var out []flows.Transmission
		for _, t := range at {
			out = append(out, flows.Transmission{Time: t * ms})
		}
		return out
	}
	rst := func(at int64, fromServer bool) flows.Reset {
		return flows.Reset{Time: at * ms, FromServer: fromServer, Flags: flows.RST}
	}
	established := func(a flows.Attempt) flows.Attempt {
		a.SYNACKs, a.ThirdACK = syn(1), 2*ms
		a.FirstData = [2]int64{3 * ms, 4 * ms}
		return a
	}
	tests := []struct {
		desc string
		a    flows.Attempt
		want string
	}{
		{"unanswered", flows.Attempt{SYNs: syn(0, 1000, 3000)}, "S0"},
		{"ICMP error", flows.Attempt{SYNs: syn(0), ICMP: []flows.ICMPError{{Time: ms}}}, "S0"},
		{"refused", flows.Attempt{SYNs: syn(0), Resets: []flows.Reset{rst(1, true)}}, "REJ"},
		{"half-open", flows.Attempt{SYNs: syn(0), SYNACKs: syn(1, 1000)}, "S1"},
		{"half-open, then the client's RST (a SYN scan)", flows.Attempt{SYNs: syn(0), SYNACKs: syn(1), Resets: []flows.Reset{rst(2, false)}}, "RSTO"},
		{"half-open, then the server's RST", flows.Attempt{SYNs: syn(0), SYNACKs: syn(1), Resets: []flows.Reset{rst(2, true)}}, "RSTR"},
		{"answered by a bare ACK, the client's RST", flows.Attempt{SYNs: syn(0), AckAnswers: syn(1), Resets: []flows.Reset{rst(2, false)}}, "RSTOS0"},
		{"the client gave up with a FIN", flows.Attempt{SYNs: syn(0), FirstFIN: flows.ClientSide, FINTime: 5 * ms}, "SH"},
		{"established, still open", established(flows.Attempt{SYNs: syn(0)}), "S1"},
		{"established on an unseen SYN-ACK", flows.Attempt{SYNs: syn(0), SYNACKUnseen: true, ThirdACK: 2 * ms}, "S1"},
		{"closed by both", established(flows.Attempt{SYNs: syn(0), FirstFIN: flows.ServerSide, FINTime: 10 * ms, ClosedAt: 11 * ms}), "SF"},
		{"closed by both, then a RST", established(flows.Attempt{SYNs: syn(0), FirstFIN: flows.ClientSide, FINTime: 10 * ms, ClosedAt: 11 * ms,
			Resets: []flows.Reset{rst(12, true)}}), "SF"},
		{"the client's FIN only", established(flows.Attempt{SYNs: syn(0), FirstFIN: flows.ClientSide, FINTime: 10 * ms}), "S2"},
		{"the server's FIN only", established(flows.Attempt{SYNs: syn(0), FirstFIN: flows.ServerSide, FINTime: 10 * ms}), "S3"},
		{"reset by the server after the handshake", established(flows.Attempt{SYNs: syn(0), ClosedAt: 3 * ms, Resets: []flows.Reset{rst(3, true)}}), "RSTR"},
		{"reset by the client after its FIN", established(flows.Attempt{SYNs: syn(0), FirstFIN: flows.ClientSide, FINTime: 10 * ms, ClosedAt: 11 * ms,
			Resets: []flows.Reset{rst(11, false)}}), "RSTO"},
		{"both reset, no data", flows.Attempt{SYNs: syn(0), SYNACKs: syn(1), ThirdACK: 2 * ms, ClosedAt: 3 * ms,
			Resets: []flows.Reset{rst(3, false), rst(4, true)}}, "REJ"},
		{"data from the server without a SYN-ACK, the client's RST", flows.Attempt{SYNs: syn(0), FirstData: [2]int64{0, ms},
			Resets: []flows.Reset{rst(2, false)}}, "RSTOS0"},
		{"data from the server without a SYN-ACK", flows.Attempt{SYNs: syn(0), FirstData: [2]int64{0, ms}}, "OTH"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a := tc.a
			a.Client = netip.MustParseAddrPort("198.18.1.1:40000")
			a.Server = netip.MustParseAddrPort("198.18.2.2:80")
			at := Attempt{Attempt: &a}
			if got := at.ConnState(); got != tc.want {
				t.Errorf("conn_state %s, want %s", got, tc.want)
			}
		})
	}
}
