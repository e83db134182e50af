package flows

import (
	"encoding/binary"
	"net/netip"
)

// filterView is one IP header and the ports after it, as a Filter tests it.
type filterView struct {
	ok           bool
	v6           bool
	proto        uint8 // the IP protocol number
	hasPorts     bool
	src, dst     netip.Addr
	sport, dport uint16
}

func (v *filterView) setIP(h *ipHeader) {
	v.ok, v.v6 = true, h.v6()
	if v.v6 {
		v.src, v.dst = netip.AddrFrom16([16]byte(h.src)), netip.AddrFrom16([16]byte(h.dst))
	} else {
		v.src, v.dst = netip.AddrFrom4([4]byte(h.src)), netip.AddrFrom4([4]byte(h.dst))
	}
}

func (v *filterView) setTCP(h *ipHeader, t tcpHeader) {
	v.setIP(h)
	v.proto, v.hasPorts, v.sport, v.dport = 6, true, t.srcPort(), t.dstPort()
}

// setL3 reads the outermost IP packet of a frame that holds neither a TCP
// segment nor an ICMP error about one (UDP, an ICMP echo, ...). Its IPv6
// protocol is the first next header: extension headers are not followed.
func (v *filterView) setL3(b []byte) {
	var p []byte
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		ihl := int(b[0]&0x0f) * 4
		v.ok, v.proto = true, b[9]
		v.src, v.dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		if binary.BigEndian.Uint16(b[6:])&0x1fff == 0 && ihl >= 20 && len(b) >= ihl {
			p = b[ihl:]
		}
	case len(b) >= 40 && b[0]>>4 == 6:
		v.ok, v.v6, v.proto = true, true, b[6]
		v.src, v.dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		p = b[40:]
	}
	if (v.proto == 6 || v.proto == 17) && len(p) >= 4 {
		v.hasPorts, v.sport, v.dport = true, binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
	}
}

// Match reports whether the packet last decoded by d is selected. A nil
// Filter selects every packet; a frame without an IP header matches no
// primitive.
//
// A TCP segment is tested on its innermost IP header, the one syndiag
// studies. An ICMP error about a TCP segment matches a primitive when its
// own header does or the quoted segment does: "port 8080" keeps the
// destination-unreachable about a SYN to port 8080, and "host S" keeps the
// one a router sent about a SYN to S. tcpdump tests the error's own header
// only and drops both, which would hide why the handshake failed.
func (f *Filter) Match(d *Decoder) bool {
	if f == nil {
		return true
	}
	var carrier, quote filterView
	switch {
	case d.hasTCP:
		carrier.setTCP(&d.ip, d.tcp)
	case d.hasICMP:
		carrier.setIP(&d.icmpIP)
		carrier.proto = 1
		if carrier.v6 {
			carrier.proto = 58
		}
		if !f.carrierOnly && len(d.quoteTCP) >= 4 {
			quote.setTCP(&d.quoteIP, d.quoteTCP)
		}
	case d.l3 != nil:
		carrier.setL3(d.l3)
	}
	return f.root.match(&carrier, &quote)
}

func (n *node) match(c, q *filterView) bool {
	switch n.kind {
	case nodeAnd:
		for i := range n.kids {
			if !n.kids[i].match(c, q) {
				return false
			}
		}
		return true
	case nodeOr:
		for i := range n.kids {
			if n.kids[i].match(c, q) {
				return true
			}
		}
		return false
	case nodeNot:
		return !n.kids[0].match(c, q)
	}
	return n.test(c) || n.test(q)
}

// test evaluates a primitive on one header.
func (n *node) test(v *filterView) bool {
	if !v.ok {
		return false
	}
	switch n.proto {
	case protoIP:
		if v.v6 {
			return false
		}
	case protoIP6:
		if !v.v6 {
			return false
		}
	case protoTCP:
		if v.proto != 6 {
			return false
		}
	case protoUDP:
		if v.proto != 17 {
			return false
		}
	case protoICMP:
		if v.v6 || v.proto != 1 {
			return false
		}
	case protoICMP6:
		if !v.v6 || v.proto != 58 {
			return false
		}
	}
	switch n.kind {
	case nodeProto:
		return true
	case nodeHost, nodeNet:
		return n.dir.test(n.prefix.Contains(v.src), n.prefix.Contains(v.dst))
	case nodePort:
		if !v.hasPorts {
			return false
		}
		return n.dir.test(n.lo <= v.sport && v.sport <= n.hi, n.lo <= v.dport && v.dport <= n.hi)
	}
	return false
}

func (d dir) test(src, dst bool) bool {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return src && dst
	}
	return src || dst
}
