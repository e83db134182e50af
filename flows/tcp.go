package flows

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// TCPFlags are the flag bits of a TCP header (byte 13).
type TCPFlags uint8

// TCP flag bits.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// String lists the flags the way tcpdump does: "S", "S.", "R.", "F.".
func (f TCPFlags) String() string {
	var b strings.Builder
	for _, c := range []struct {
		bit TCPFlags
		ch  byte
	}{{SYN, 'S'}, {FIN, 'F'}, {RST, 'R'}, {PSH, 'P'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {ACK, '.'}} {
		if f&c.bit != 0 {
			b.WriteByte(c.ch)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// Options are the TCP options syndiag cares about. The zero value means no
// option was present; WScale is -1 when absent.
type Options struct {
	MSS           uint16 `json:"mss,omitempty"`
	WScale        int8   `json:"wscale"`
	SACKPermitted bool   `json:"sack_permitted"`
	Timestamps    bool   `json:"timestamps"`
	TSval         uint32 `json:"tsval,omitempty"`
	TSecr         uint32 `json:"tsecr,omitempty"`
}

// tcpHeader is a TCP header as captured; it may be shorter than the header
// length it declares when the snap length cut it.
type tcpHeader []byte

func (h tcpHeader) srcPort() uint16 { return binary.BigEndian.Uint16(h[0:]) }
func (h tcpHeader) dstPort() uint16 { return binary.BigEndian.Uint16(h[2:]) }
func (h tcpHeader) seq() uint32     { return binary.BigEndian.Uint32(h[4:]) }
func (h tcpHeader) hasAck() bool    { return len(h) >= 12 }
func (h tcpHeader) ack() uint32     { return binary.BigEndian.Uint32(h[8:]) }
func (h tcpHeader) hasFlags() bool  { return len(h) >= 14 && h[12]>>4 >= 5 }
func (h tcpHeader) flags() TCPFlags { return TCPFlags(h[13]) }
func (h tcpHeader) headerLen() int  { return int(h[12]>>4) * 4 }
func (h tcpHeader) hasWindow() bool { return len(h) >= 16 }
func (h tcpHeader) window() uint16  { return binary.BigEndian.Uint16(h[14:]) }

// options parses the options present in the captured part of the header.
// Parsing stops at the end-of-options marker, at a malformed length, or where
// the capture was cut; what was read before counts.
func (h tcpHeader) options() Options {
	o := Options{WScale: -1}
	if len(h) < 20 || h.headerLen() < 20 {
		return o
	}
	b := h[20:min(len(h), h.headerLen())]
	for len(b) > 0 {
		kind := b[0]
		if kind == 0 {
			break
		}
		if kind == 1 {
			b = b[1:]
			continue
		}
		if len(b) < 2 || b[1] < 2 || int(b[1]) > len(b) {
			break
		}
		v := b[2:b[1]]
		switch {
		case kind == 2 && len(v) == 2:
			o.MSS = binary.BigEndian.Uint16(v)
		case kind == 3 && len(v) == 1:
			o.WScale = int8(min(v[0], 14))
		case kind == 4 && len(v) == 0:
			o.SACKPermitted = true
		case kind == 8 && len(v) == 8:
			o.Timestamps = true
			o.TSval = binary.BigEndian.Uint32(v)
			o.TSecr = binary.BigEndian.Uint32(v[4:])
		}
		b = b[b[1]:]
	}
	return o
}

// segment is one TCP segment as value types, copied out of the packet so it
// outlives the read buffer.
type segment struct {
	Time    int64 // nanoseconds since the epoch
	Frame   int64 // 1-based record number in the capture, as tshark numbers frames
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Seq     uint32
	Ack     uint32
	Flags   TCPFlags
	Window  uint16
	Payload int   // payload bytes, from the IP lengths (not cut by the snap length)
	TTL     uint8 // IPv4 TTL or IPv6 hop limit
	IPID    uint16
	Opts    Options
	// Cut is set when the snap length cut the TCP header, so options and
	// later fields may be missing.
	Cut bool
}
