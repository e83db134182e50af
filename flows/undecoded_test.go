package flows

import (
	"encoding/binary"
	"testing"
)

// undecodedFrame is a hand-made frame that flows does not decode, or
// decodes only in part, for one reason.
type undecodedFrame struct {
	desc    string
	lt      LinkType
	data    []byte
	orig    int // length on the wire, when the snap length cut the frame
	want    Reason
	decoded bool // the frame is decoded, and counted under want as well
}

// Link types of the interfaces of undecoded.pcapng, in order.
var undecodedLinkTypes = []LinkType{LinkEthernet, 147, LinkIEEE80211, LinkNull}

// undecodedFrames returns, for every Reason, one or two frames that flows
// counts under it. The TCP segments are ACKs, so that no attempt starts.
func undecodedFrames(tb testing.TB) []undecodedFrame {
	c, s := ap(cli4, 40100), ap(srv4, 80)
	ack := tcpSpec{src: c, dst: s, seq: 100, ack: 200, flags: ACK, window: 502, opts: tsOpts(1, 2), ipid: 0x7001}
	ip4 := ack.ipPacket(tb) // 20 bytes of IPv4, 32 of TCP
	ack6 := ack
	ack6.src, ack6.dst = ap(cli6, 40100), ap(srv6, 80)
	ip6 := ack6.ipPacket(tb) // 40 bytes of IPv6, 32 of TCP
	// edit returns a copy of an IP packet changed by f.
	edit := func(b []byte, f func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		return b
	}
	eth4 := func(ip []byte) []byte { return etherFrame(tb, false, true, ip) }
	udp := edit(ip4, func(b []byte) { b[9] = 17 }) // port 40100 to 80: no tunnel
	echo := edit(ip4, func(b []byte) { b[9], b[20], b[21] = 1, 8, 0 })
	stp := etherWith(38, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0})
	binary.BigEndian.PutUint16(stp[12:], uint16(len(stp)-14))
	beacon := make([]byte, 36)
	beacon[0] = 0x80                                 // management, beacon
	null := binary.LittleEndian.AppendUint32(nil, 7) // AF_OSI
	return []undecodedFrame{
		{desc: "link type 147 (USER0)", lt: 147, data: []byte{1, 2, 3, 4}, want: ReasonLinkType},
		{desc: "Ethernet frame of 10 bytes", lt: LinkEthernet, data: eth4(ip4)[:10], orig: 86, want: ReasonLinkHeader},
		{desc: "802.1Q tag cut after 2 bytes", lt: LinkEthernet, data: etherWith(0x8100, []byte{0, 1}), orig: 86, want: ReasonLinkHeader},
		{desc: "ARP request", lt: LinkEthernet, data: etherWith(0x0806, make([]byte, 28)), want: ReasonARP},
		{desc: "LLDP", lt: LinkEthernet, data: etherWith(0x88cc, make([]byte, 32)), want: ReasonNotIP},
		{desc: "spanning tree (802.3 LLC, no SNAP)", lt: LinkEthernet, data: stp, want: ReasonNotIP},
		{desc: "802.11 beacon", lt: LinkIEEE80211, data: beacon, want: ReasonNotIP},
		{desc: "BSD loopback, family AF_OSI", lt: LinkNull, data: append(null, ip4...), want: ReasonNotIP},
		{desc: "IPv4 header cut after 16 bytes", lt: LinkEthernet, data: eth4(ip4)[:14+16], orig: 86, want: ReasonIPHeaderCut},
		{desc: "IPv6 in an IPv4 EtherType", lt: LinkEthernet, data: eth4(ip6), want: ReasonIPBadVersion},
		{desc: "IPv4 IHL 4", lt: LinkEthernet, data: eth4(edit(ip4, func(b []byte) { b[0] = 0x44 })), want: ReasonIPBadIHL},
		{desc: "IPv4 total length 16", lt: LinkEthernet, data: eth4(edit(ip4, func(b []byte) { binary.BigEndian.PutUint16(b[2:], 16) })), want: ReasonIPBadLength},
		{desc: "IPv6 hop-by-hop header longer than the packet", lt: LinkEthernet, data: etherFrame(tb, true, true, edit(ip6, func(b []byte) { b[6], b[41] = 0, 200 })), want: ReasonIPBadLength},
		{desc: "UDP", lt: LinkEthernet, data: eth4(udp), want: ReasonNotTCP},
		{desc: "ICMP echo request", lt: LinkEthernet, data: eth4(echo), want: ReasonNotTCP},
		{desc: "later IPv4 fragment of TCP", lt: LinkEthernet, data: eth4(edit(ip4, func(b []byte) { binary.BigEndian.PutUint16(b[6:], 1) })), want: ReasonIPFragment},
		{desc: "TCP header cut after 12 bytes", lt: LinkEthernet, data: eth4(ip4)[:14+20+12], orig: 86, want: ReasonTCPHeaderCut},
		{desc: "ICMP error quoting 4 bytes of TCP", lt: LinkEthernet, data: eth4(icmpError(tb, srv4, cli4, 3, 3, ip4[:24])), want: ReasonTCPHeaderCut},
		{desc: "TCP data offset 4", lt: LinkEthernet, data: eth4(edit(ip4, func(b []byte) { b[32] = 4 << 4 })), want: ReasonTCPBadOffset},
		{desc: "TCP options cut after 6 bytes", lt: LinkEthernet, data: eth4(ip4)[:14+20+26], orig: 86, want: ReasonTCPOptionsCut, decoded: true},
		{desc: "TCP data offset 15 in a 32-byte segment", lt: LinkEthernet, data: eth4(edit(ip4, func(b []byte) { b[32] = 15 << 4 })), want: ReasonTCPOffsetPastPacket, decoded: true},
	}
}

// etherWith returns an Ethernet header with the given EtherType (or
// 802.3 length), followed by payload.
func etherWith(et uint16, payload []byte) []byte {
	b := append(append([]byte(nil), srvMAC...), cliMAC...)
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, payload...)
}

// TestUndecodedReasons decodes each frame of undecodedFrames on its own
// and checks the reason it is counted under.
func TestUndecodedReasons(t *testing.T) {
	seen := make(map[Reason]bool)
	for _, tc := range undecodedFrames(t) {
		t.Run(tc.desc, func(t *testing.T) {
			var d Decoder
			d.Decode(tc.data, tc.lt)
			got := d.why
			if d.decoded() {
				got = d.partial
			}
			if d.decoded() != tc.decoded || got != tc.want {
				t.Errorf("decoded %v, reason %v; want %v, %v", d.decoded(), got, tc.decoded, tc.want)
			}
			checkDecoded(t, &d, tc.lt)
			seen[tc.want] = true
		})
	}
	for r := range Reason(NumReasons) {
		if !seen[r] {
			t.Errorf("no frame for reason %v", r)
		}
	}
}

// TestReasonNames checks that every reason has a distinct snake_case name.
func TestReasonNames(t *testing.T) {
	names := make(map[string]Reason)
	for r := range Reason(NumReasons) {
		n := r.String()
		for _, c := range n {
			if (c < 'a' || c > 'z') && c != '_' {
				t.Errorf("reason %d: name %q is not snake_case", r, n)
				break
			}
		}
		if o, dup := names[n]; dup || n == "" {
			t.Errorf("reasons %d and %d are both named %q", o, r, n)
		}
		names[n] = r
	}
	if got := Reason(NumReasons).String(); got != "unknown" {
		t.Errorf("Reason(NumReasons) is %q, want \"unknown\"", got)
	}
	u := Undecoded{ReasonNotIP: 2, ReasonTCPHeaderCut: 1, ReasonTCPOptionsCut: 4}
	if got, want := u.String(), "not_ip=2 tcp_header_cut=1 tcp_options_cut=4"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if u.Frames() != 3 || u.Partial() != 4 {
		t.Errorf("Frames() = %d, Partial() = %d; want 3, 4", u.Frames(), u.Partial())
	}
}

// genUndecoded writes the frames of undecodedFrames, 1 ms apart, on four
// interfaces: Ethernet, link type 147, 802.11 and BSD loopback.
func genUndecoded(tb testing.TB) []byte {
	var b ngBuilder
	b.section(binary.LittleEndian)
	for _, lt := range undecodedLinkTypes {
		b.iface(lt, 262144)
	}
	for i, f := range undecodedFrames(tb) {
		ifc := 0
		for j, lt := range undecodedLinkTypes {
			if lt == f.lt {
				ifc = j
			}
		}
		orig := f.orig
		if orig == 0 {
			orig = len(f.data)
		}
		b.epb(uint32(ifc), uint64(at(int64(i)*1000)/1e3), f.data, orig)
	}
	return b.bytes()
}
