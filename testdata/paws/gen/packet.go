package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP flags as in the header byte.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagPSH = 0x08
	flagACK = 0x10
)

// segment is one IPv4/TCP packet. Every segment carries a timestamp option,
// as Linux does once timestamps are negotiated; SYN and SYN-ACK carry the
// full Linux option set.
type segment struct {
	src, dst     netip.AddrPort
	flags        uint8
	seq, ack     uint32
	window       uint16
	tsval, tsecr uint32
	payload      []byte
	id           uint16 // IPv4 identification
	ttl          uint8

	// row is simulation bookkeeping for SYNs (never serialized): the truth
	// row that this transmission fills in as it crosses the router and
	// reaches the server.
	row *synRow
}

func (s *segment) has(f uint8) bool { return s.flags&f == f }

// seqLen is the sequence space the segment occupies (SYN and FIN count one).
func (s *segment) seqLen() uint32 {
	n := uint32(len(s.payload))
	if s.has(flagSYN) {
		n++
	}
	if s.has(flagFIN) {
		n++
	}
	return n
}

// options returns the TCP options in the order Linux writes them
// (tcp_options_write): MSS, SACK-permitted, timestamps, NOP, window scale on
// SYN and SYN-ACK; NOP, NOP, timestamps otherwise.
func (s *segment) options() []layers.TCPOption {
	ts := make([]byte, 8)
	binary.BigEndian.PutUint32(ts, s.tsval)
	binary.BigEndian.PutUint32(ts[4:], s.tsecr)
	tsOpt := layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts}
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop}
	if s.has(flagSYN) {
		return []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}, // 1460
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			tsOpt,
			nop,
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}
	}
	return []layers.TCPOption{nop, nop, tsOpt}
}

// frame serializes the segment in an Ethernet frame with valid checksums.
func (s *segment) frame(srcMAC, dstMAC net.HardwareAddr) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{
		Version:  4,
		IHL:      5,
		Id:       s.id,
		Flags:    layers.IPv4DontFragment,
		TTL:      s.ttl,
		Protocol: layers.IPProtocolTCP,
		SrcIP:    s.src.Addr().AsSlice(),
		DstIP:    s.dst.Addr().AsSlice(),
	}
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(s.src.Port()),
		DstPort: layers.TCPPort(s.dst.Port()),
		Seq:     s.seq,
		Ack:     s.ack,
		FIN:     s.has(flagFIN),
		SYN:     s.has(flagSYN),
		PSH:     s.has(flagPSH),
		ACK:     s.has(flagACK),
		Window:  s.window,
		Options: s.options(),
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(s.payload)); err != nil {
		return nil, fmt.Errorf("serializing %v -> %v: %w", s.src, s.dst, err)
	}
	return buf.Bytes(), nil
}
