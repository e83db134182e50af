package flows

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Addresses of the hand-made captures, all in the benchmarking ranges of
// RFC 2544 (198.18.0.0/15) and RFC 5180 (2001:2::/48).
var (
	cli4 = netip.MustParseAddr("198.18.0.10")
	srv4 = netip.MustParseAddr("198.19.0.80")
	rtr4 = netip.MustParseAddr("198.18.0.1")
	cli6 = netip.MustParseAddr("2001:2::10")
	srv6 = netip.MustParseAddr("2001:2::80")

	cliMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	srvMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x50}
)

// tcpSpec describes one TCP segment of a hand-made capture.
type tcpSpec struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    TCPFlags
	window   uint16
	opts     []layers.TCPOption
	payload  int   // bytes of payload, filled with a fixed pattern
	ttl      uint8 // IPv4 TTL or IPv6 hop limit; 64 when zero
	ipid     uint16
	// raw writes the TCP header as given: dataOffset and the option lengths
	// are not fixed up, so malformed headers can be built.
	raw        bool
	dataOffset uint8
	padding    []byte
}

// ipPacket returns the segment as an IPv4 or IPv6 packet with correct
// lengths and checksums (except what raw asks to leave as given).
func (s tcpSpec) ipPacket(tb testing.TB) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	fixed := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	tcp := s.tcpLayer()
	ip := s.ipLayer(tb, layers.IPProtocolTCP)
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		tb.Fatal(err)
	}
	tcpOpts := fixed
	if s.raw {
		tcpOpts.FixLengths = false
	}
	if err := gopacket.Payload(fill(s.payload)).SerializeTo(buf, fixed); err != nil {
		tb.Fatal(err)
	}
	if err := tcp.SerializeTo(buf, tcpOpts); err != nil {
		tb.Fatal(err)
	}
	if err := ip.SerializeTo(buf, fixed); err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// ether returns the segment in an Ethernet frame.
func (s tcpSpec) ether(tb testing.TB) []byte {
	tb.Helper()
	return etherFrame(tb, s.src.Addr().Is6(), s.src.Addr() == cli4 || s.src.Addr() == cli6, s.ipPacket(tb))
}

func (s tcpSpec) tcpLayer() *layers.TCP {
	t := &layers.TCP{
		SrcPort: layers.TCPPort(s.src.Port()),
		DstPort: layers.TCPPort(s.dst.Port()),
		Seq:     s.seq,
		Ack:     s.ack,
		Window:  s.window,
		Options: s.opts,
		FIN:     s.flags&FIN != 0,
		SYN:     s.flags&SYN != 0,
		RST:     s.flags&RST != 0,
		PSH:     s.flags&PSH != 0,
		ACK:     s.flags&ACK != 0,
		URG:     s.flags&URG != 0,
		ECE:     s.flags&ECE != 0,
		CWR:     s.flags&CWR != 0,
	}
	if s.raw {
		t.DataOffset, t.Padding = s.dataOffset, s.padding
	}
	return t
}

// ipNetLayer is an IPv4 or IPv6 layer.
type ipNetLayer interface {
	gopacket.NetworkLayer
	gopacket.SerializableLayer
}

func (s tcpSpec) ipLayer(tb testing.TB, proto layers.IPProtocol) ipNetLayer {
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	return ipLayer(tb, s.src.Addr(), s.dst.Addr(), proto, ttl, s.ipid)
}

func ipLayer(tb testing.TB, src, dst netip.Addr, proto layers.IPProtocol, ttl uint8, id uint16) ipNetLayer {
	if src.Is4() != dst.Is4() {
		tb.Fatalf("mixed address families %v, %v", src, dst)
	}
	if src.Is4() {
		return &layers.IPv4{
			Version: 4, IHL: 5, TTL: ttl, Id: id, Flags: layers.IPv4DontFragment,
			Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(),
		}
	}
	return &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

// etherFrame puts an IP packet in an Ethernet frame between the client's and
// the server's MAC addresses.
func etherFrame(tb testing.TB, v6, fromClient bool, ip []byte) []byte {
	tb.Helper()
	eth := &layers.Ethernet{SrcMAC: srvMAC, DstMAC: cliMAC, EthernetType: layers.EthernetTypeIPv4}
	if fromClient {
		eth.SrcMAC, eth.DstMAC = cliMAC, srvMAC
	}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, gopacket.Payload(ip)); err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// sll2Frame puts an IP packet behind a Linux cooked v2 header, as tcpdump -i
// any writes it (gopacket cannot serialize LinuxSLL2).
func sll2Frame(ip []byte, v6 bool, ifindex uint32, pktType uint8) []byte {
	h := make([]byte, 20, 20+len(ip))
	proto := uint16(0x0800)
	if v6 {
		proto = 0x86dd
	}
	binary.BigEndian.PutUint16(h[0:], proto)
	binary.BigEndian.PutUint32(h[4:], ifindex)
	binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
	h[10] = pktType
	h[11] = 6
	copy(h[12:], srvMAC)
	return append(h, ip...)
}

// icmpError returns an IP packet carrying an ICMP (IPv4) or ICMPv6 error
// from reporter to dst that quotes the given bytes of an offending packet.
func icmpError(tb testing.TB, reporter, dst netip.Addr, typ, code uint8, quoted []byte) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if reporter.Is4() {
		ip := ipLayer(tb, reporter, dst, layers.IPProtocolICMPv4, 64, 0x1c3)
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}
		err = gopacket.SerializeLayers(buf, opts, ip, ic, gopacket.Payload(quoted))
	} else {
		ip := ipLayer(tb, reporter, dst, layers.IPProtocolICMPv6, 64, 0)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
		if err := ic.SetNetworkLayerForChecksum(ip); err != nil {
			tb.Fatal(err)
		}
		// ICMPv6 errors have 4 unused bytes before the quoted packet.
		err = gopacket.SerializeLayers(buf, opts, ip, ic, gopacket.Payload(append(make([]byte, 4), quoted...)))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// fill returns n bytes of a fixed pattern.
func fill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// TCP options in the order Linux writes them in a SYN.
func optMSS(v uint16) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: binary.BigEndian.AppendUint16(nil, v)}
}

func optSACKPermitted() layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}
}

func optTS(val, ecr uint32) layers.TCPOption {
	d := binary.BigEndian.AppendUint32(nil, val)
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: binary.BigEndian.AppendUint32(d, ecr)}
}

func optNOP() layers.TCPOption { return layers.TCPOption{OptionType: layers.TCPOptionKindNop} }

func optWS(shift uint8) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{shift}}
}

// synOpts are a Linux SYN's options: MSS, SACK permitted, timestamps, NOP,
// window scale (20 bytes).
func synOpts(mss uint16, tsval, tsecr uint32, ws uint8) []layers.TCPOption {
	return []layers.TCPOption{optMSS(mss), optSACKPermitted(), optTS(tsval, tsecr), optNOP(), optWS(ws)}
}

// tsOpts are the options of a segment after the handshake (12 bytes).
func tsOpts(tsval, tsecr uint32) []layers.TCPOption {
	return []layers.TCPOption{optNOP(), optNOP(), optTS(tsval, tsecr)}
}
