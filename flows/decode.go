package flows

import (
	"encoding/binary"
)

// marks say which kinds of TCP header a frame carries anywhere, its own,
// tunnelled or quoted in an ICMP error, the way tshark's display filters
// count frames. They exist to cross-check flows against tshark.
type marks uint8

// Frame marks.
const (
	markSYN    marks = 1 << iota // a header with SYN and without ACK
	markSYNACK                   // a header with SYN and ACK
	markRST                      // a header with RST
	markTCP                      // any TCP header with flags
)

// maxEncapsulation bounds how many headers deep the decoder follows tunnels,
// so a crafted packet cannot make it loop.
const maxEncapsulation = 8

// ipHeader is the part of an IPv4 or IPv6 header flows keeps.
type ipHeader struct {
	src, dst []byte // 4 or 16 bytes
	ttl      uint8
	id       uint16
	// payloadLen is the length of the IP payload that the header declares,
	// which is more than was captured when the snap length cut the packet.
	payloadLen int
}

func (h *ipHeader) v6() bool { return len(h.src) == 16 }

// Decoder finds the TCP segment or ICMP error in a frame without allocating.
// Its results describe the last frame passed to Decode and point into that
// frame's bytes.
type Decoder struct {
	marks marks
	// why is the reason the frame is not decoded, when it is not (see
	// decoded); partial, when not 0, what the TCP header of a decoded
	// frame lacks. Both are set where decoding stops, so the innermost
	// problem of a tunnelled frame wins.
	why, partial Reason

	// The innermost TCP segment that is not quoted in an ICMP error.
	hasTCP bool
	ip     ipHeader
	tcp    tcpHeader

	// An ICMP or ICMPv6 error and the TCP header it quotes.
	hasICMP  bool
	icmpIP   ipHeader // the header of the packet that carried the error
	icmpType uint8
	icmpCode uint8
	quoteIP  ipHeader
	quoteTCP tcpHeader

	l3 []byte // the outermost IP packet, for duplicate detection

	frags *fragments // state kept across frames
}

// Decode decodes one frame of the given link type.
func (d *Decoder) Decode(data []byte, lt LinkType) {
	// Reset only what a decode sets, not the whole struct: this runs for
	// every packet.
	d.marks, d.hasTCP, d.hasICMP, d.quoteTCP, d.l3 = 0, false, false, nil, nil
	// A link type not decoded below keeps ReasonLinkType.
	d.why, d.partial = ReasonLinkType, 0
	switch lt {
	case LinkEthernet:
		d.ethernet(data, 0)
	case LinkSLL:
		if len(data) < 16 {
			d.why = ReasonLinkHeader
			return
		}
		d.ethertype(binary.BigEndian.Uint16(data[14:]), data[16:], 0)
	case LinkSLL2:
		if len(data) < 20 {
			d.why = ReasonLinkHeader
			return
		}
		d.ethertype(binary.BigEndian.Uint16(data), data[20:], 0)
	case LinkRaw, LinkRawBSD, LinkRawBSD14:
		d.ipAny(data, 0)
	case LinkIPv4:
		d.ipv4(data, 0, false)
	case LinkIPv6:
		d.ipv6(data, 0, false)
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			d.why = ReasonLinkHeader
			return
		}
		fam := binary.BigEndian.Uint32(data)
		if lt == LinkNull && fam > 0xffff {
			fam = binary.LittleEndian.Uint32(data)
		}
		switch fam {
		case 2:
			d.ipv4(data[4:], 0, false)
		case 10, 24, 28, 30:
			d.ipv6(data[4:], 0, false)
		default:
			d.why = ReasonNotIP
		}
	case LinkPPP:
		d.ppp(data, 0)
	case LinkCHDLC:
		if len(data) < 4 {
			d.why = ReasonLinkHeader
			return
		}
		d.ethertype(binary.BigEndian.Uint16(data[2:]), data[4:], 0)
	case LinkNFLOG:
		d.nflog(data)
	case LinkIEEE80211:
		d.wlan(data, 0)
	case LinkRadiotap:
		d.radiotap(data)
	case LinkPPI:
		d.ppi(data)
	}
}

func (d *Decoder) ethernet(b []byte, depth int) {
	if len(b) < 14 {
		d.why = ReasonLinkHeader
		return
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	if et <= 1500 {
		// 802.3 with an LLC/SNAP header carrying an EtherType; without
		// SNAP, LLC carries spanning tree, NetBIOS, IPX: not IP.
		if len(b) < 8 || b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 {
			d.why = ReasonNotIP
			return
		}
		et, b = binary.BigEndian.Uint16(b[6:]), b[8:]
	}
	d.ethertype(et, b, depth)
}

func (d *Decoder) ethertype(et uint16, b []byte, depth int) {
	for range maxEncapsulation {
		switch et {
		case 0x0800:
			d.ipv4(b, depth, false)
			return
		case 0x86dd:
			d.ipv6(b, depth, false)
			return
		case 0x8100, 0x88a8, 0x9100: // 802.1Q, 802.1ad (QinQ), old QinQ
			if len(b) < 4 {
				d.why = ReasonLinkHeader
				return
			}
			et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		case 0x8847, 0x8848: // MPLS: pop labels to the bottom of the stack
			d.mpls(b, depth)
			return
		case 0x8864: // PPPoE session
			if len(b) < 8 {
				d.why = ReasonLinkHeader
				return
			}
			d.ppp(b[6:], depth)
			return
		case 0x8903: // Cisco FabricPath: a 2-byte tag, then the original frame
			if len(b) < 2 {
				d.why = ReasonLinkHeader
				return
			}
			d.ethernet(b[2:], depth)
			return
		case 0x0806, 0x8035: // ARP, RARP
			d.why = ReasonARP
			return
		default:
			d.why = ReasonNotIP
			return
		}
	}
	d.why = ReasonLinkHeader // tags nested too deep
}

func (d *Decoder) mpls(b []byte, depth int) {
	for range 16 {
		if len(b) < 4 {
			break
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if bottom {
			d.ipAny(b, depth)
			return
		}
	}
	d.why = ReasonLinkHeader
}

func (d *Decoder) ppp(b []byte, depth int) {
	if len(b) >= 4 && (b[0] == 0x0f || b[0] == 0x8f) && b[1] == 0 {
		// Cisco HDLC framing in a PPP capture, as Cisco routers write it.
		d.ethertype(binary.BigEndian.Uint16(b[2:]), b[4:], depth)
		return
	}
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		d.why = ReasonLinkHeader
		return
	}
	if b[0]&1 != 0 { // protocol field compressed to one byte
		d.pppProto(uint16(b[0]), b[1:], depth)
		return
	}
	if len(b) < 2 {
		d.why = ReasonLinkHeader
		return
	}
	d.pppProto(binary.BigEndian.Uint16(b), b[2:], depth)
}

func (d *Decoder) pppProto(p uint16, b []byte, depth int) {
	switch p {
	case 0x0021:
		d.ipv4(b, depth, false)
	case 0x0057:
		d.ipv6(b, depth, false)
	case 0x0281:
		d.mpls(b, depth)
	default:
		d.why = ReasonNotIP
	}
}

// nflog finds the packet payload TLV (NFULA_PAYLOAD) of a Linux NFLOG
// record. TLV lengths and types are in the capturing host's byte order.
func (d *Decoder) nflog(b []byte) {
	d.why = ReasonLinkHeader // unless the payload is found
	if len(b) < 4 {
		return
	}
	fam := b[0]
	b = b[4:]
	var order binary.ByteOrder = binary.LittleEndian
	if len(b) >= 4 {
		if l := order.Uint16(b); l < 4 || int(l) > len(b) {
			order = binary.BigEndian
		}
	}
	for len(b) >= 4 {
		l, typ := int(order.Uint16(b)), order.Uint16(b[2:])&0x7fff
		if l < 4 || l > len(b) {
			return
		}
		if typ == 9 {
			v := b[4:l]
			switch fam {
			case 2:
				d.ipv4(v, 0, false)
			case 10:
				d.ipv6(v, 0, false)
			default:
				d.ipAny(v, 0)
			}
			return
		}
		b = b[min((l+3)&^3, len(b)):]
	}
}

func (d *Decoder) ipAny(b []byte, depth int) {
	if len(b) == 0 {
		d.why = ReasonIPHeaderCut
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.ipv4(b, depth, false)
	case 6:
		d.ipv6(b, depth, false)
	default:
		d.why = ReasonIPBadVersion
	}
}

// startsIP reports whether b starts with the given IP version and holds
// at least n bytes, the header's fixed part; when not, it sets d.why.
func (d *Decoder) startsIP(b []byte, version byte, n int) bool {
	switch {
	case len(b) > 0 && b[0]>>4 != version:
		d.why = ReasonIPBadVersion
	case len(b) < n:
		d.why = ReasonIPHeaderCut
	default:
		return true
	}
	return false
}

func (d *Decoder) ipv4(b []byte, depth int, quoted bool) {
	if !d.startsIP(b, 4, 20) {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	switch {
	case ihl < 20:
		d.why = ReasonIPBadIHL
		return
	case len(b) < ihl:
		d.why = ReasonIPHeaderCut
		return
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total == 0 && !quoted {
		total = len(b) // TSO: the length field is left zero on capture
	}
	if total < ihl {
		d.why = ReasonIPBadLength
		return
	}
	h := ipHeader{src: b[12:16], dst: b[16:20], ttl: b[8], id: binary.BigEndian.Uint16(b[4:]), payloadLen: total - ihl}
	d.sawIP(b, quoted)
	p := b[ihl:min(total, len(b))]
	if fl := binary.BigEndian.Uint16(b[6:]); fl&0x3fff != 0 { // a fragment
		d.fragment(b[9], &h, uint32(h.id), int(fl&0x1fff)*8, fl&0x2000 != 0, p, quoted)
		return
	}
	d.transport(b[9], p, &h, depth, quoted)
}

func (d *Decoder) ipv6(b []byte, depth int, quoted bool) {
	if !d.startsIP(b, 6, 40) {
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	if plen == 0 {
		plen = len(b) - 40 // jumbogram or TSO
	}
	h := ipHeader{src: b[8:24], dst: b[24:40], ttl: b[7], payloadLen: plen}
	d.sawIP(b, quoted)
	next := b[6]
	p := b[40:min(40+plen, len(b))]
	// An extension header that runs past p is cut when the capture holds
	// less than the packet, and malformed when it holds it all.
	short := ReasonIPBadLength
	if len(b) < 40+plen {
		short = ReasonIPHeaderCut
	}
	for range maxEncapsulation {
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			if len(p) < 8 {
				d.why = short
				return
			}
			n := (int(p[1]) + 1) * 8
			if n > len(p) {
				d.why = short
				return
			}
			next, p = p[0], p[n:]
			h.payloadLen -= n
		case 44: // fragment
			if len(p) < 8 {
				d.why = short
				return
			}
			fo := binary.BigEndian.Uint16(p[2:])
			id := binary.BigEndian.Uint32(p[4:])
			next, p = p[0], p[8:]
			h.payloadLen -= 8
			d.fragment(next, &h, id, int(fo&0xfff8), fo&1 != 0, p, quoted)
			return
		case 51: // authentication header
			if len(p) < 8 {
				d.why = short
				return
			}
			n := (int(p[1]) + 2) * 4
			if n > len(p) {
				d.why = short
				return
			}
			next, p = p[0], p[n:]
			h.payloadLen -= n
		default:
			d.transport(next, p, &h, depth, quoted)
			return
		}
	}
	d.why = ReasonLinkHeader // extension headers nested too deep
}

// fragment handles an IP fragment. The first fragment is decoded as it is
// when it holds the whole TCP header; otherwise the header is reassembled and
// counted on the frame that completes the datagram, as tshark does.
func (d *Decoder) fragment(proto uint8, h *ipHeader, id uint32, off int, more bool, p []byte, quoted bool) {
	switch {
	case off == 0 && (!more || proto != 6 || quoted || len(p) >= 20):
		// An atomic fragment, a first fragment of something other than TCP,
		// or one that holds the fixed TCP header: decode it as it is. The
		// options of a first fragment may go on in the next one: that
		// header is cut, not malformed.
		d.transport(proto, p, h, 0, quoted)
		if more && d.partial == ReasonTCPOffsetPastPacket {
			d.partial = ReasonTCPOptionsCut
		}
	case proto == 6 && !quoted:
		if d.frags == nil {
			d.frags = new(fragments)
		}
		// Only datagrams whose first fragment was short get here, so a
		// completed one is a TCP header no single frame held.
		if tcp, ip, ok := d.frags.add(h, id, off, more, p); ok {
			d.tcpSegment(tcp, &ip, false)
			return
		}
		d.why = ReasonIPFragment
	case proto == 6:
		d.why = ReasonIPFragment // a later fragment quoted in an ICMP error
	default:
		d.why = ReasonNotTCP
	}
}

// sawIP remembers the outermost IP packet of the frame.
func (d *Decoder) sawIP(b []byte, quoted bool) {
	if d.l3 == nil && !quoted {
		d.l3 = b
	}
}

func (d *Decoder) transport(proto uint8, p []byte, h *ipHeader, depth int, quoted bool) {
	switch proto {
	case 6:
		d.tcpSegment(p, h, quoted)
		return
	}
	if depth >= maxEncapsulation {
		d.why = ReasonLinkHeader
		return
	}
	if quoted {
		d.why = ReasonNotTCP
		return
	}
	switch proto {
	case 1:
		if h.v6() {
			d.why = ReasonNotTCP
			return
		}
		d.icmpError(p, h, false, depth)
	case 58:
		if !h.v6() {
			d.why = ReasonNotTCP
			return
		}
		d.icmpError(p, h, true, depth)
	case 4:
		d.ipv4(p, depth+1, false)
	case 41:
		d.ipv6(p, depth+1, false)
	case 47:
		d.gre(p, depth+1)
	case 51: // IPv4 authentication header
		if len(p) < 8 || (int(p[1])+2)*4 > len(p) {
			d.why = ReasonIPBadLength
			if len(p) < h.payloadLen {
				d.why = ReasonIPHeaderCut
			}
			return
		}
		n := (int(p[1]) + 2) * 4
		h.payloadLen -= n
		d.transport(p[0], p[n:], h, depth+1, false)
	case 17:
		d.udpTunnel(p, depth+1)
	default:
		d.why = ReasonNotTCP
	}
}

func (d *Decoder) tcpSegment(p []byte, h *ipHeader, quoted bool) {
	t := tcpHeader(p)
	if len(t) < 8 {
		// Not even ports and sequence number: nothing to attach.
		d.why = ReasonTCPHeaderCut
		return
	}
	if t.hasFlags() {
		f := t.flags()
		m := markTCP
		if f&SYN != 0 {
			if f&ACK != 0 {
				m |= markSYNACK
			} else {
				m |= markSYN
			}
		}
		if f&RST != 0 {
			m |= markRST
		}
		d.marks |= m
	}
	if quoted {
		d.quoteIP, d.quoteTCP = *h, t
		return
	}
	d.hasTCP, d.ip, d.tcp = true, *h, t
	switch {
	case len(t) < 14:
		d.why = ReasonTCPHeaderCut
	case !t.hasFlags():
		d.why = ReasonTCPBadOffset
	case t.headerLen() > h.payloadLen:
		d.partial = ReasonTCPOffsetPastPacket
	case len(t) < t.headerLen():
		d.partial = ReasonTCPOptionsCut
	}
}

// decoded reports whether the frame holds what the tracker reads: a TCP
// header with flags, or an ICMP error quoting a TCP header. When it does
// not, d.why says why.
func (d *Decoder) decoded() bool {
	return d.hasICMP || d.hasTCP && d.tcp.hasFlags()
}

// icmpError decodes an ICMP or ICMPv6 error message and the packet it quotes.
func (d *Decoder) icmpError(p []byte, h *ipHeader, v6 bool, depth int) {
	d.why = ReasonNotTCP // unless it quotes TCP
	if len(p) < 8 {
		return
	}
	typ := p[0]
	var isErr bool
	if v6 {
		isErr = typ >= 1 && typ <= 4 // unreachable, too big, time exceeded, parameter problem
	} else {
		switch typ {
		case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
			isErr = true
		}
	}
	if !isErr {
		return
	}
	q := p[8:]
	if v6 {
		d.ipv6(q, depth+1, true)
	} else {
		d.ipv4(q, depth+1, true)
	}
	if d.quoteTCP != nil {
		d.hasICMP, d.icmpIP, d.icmpType, d.icmpCode = true, *h, typ, p[1]
	}
}

func (d *Decoder) gre(p []byte, depth int) {
	d.why = ReasonLinkHeader // until the header is read
	if len(p) < 4 {
		return
	}
	fl := binary.BigEndian.Uint16(p)
	if fl&0x4007 != 0 { // routing present, or a version other than 0
		d.why = ReasonNotTCP // PPTP's enhanced GRE (version 1), or source routing
		return
	}
	proto := binary.BigEndian.Uint16(p[2:])
	n := 4
	for _, bit := range []uint16{0x8000, 0x2000, 0x1000} { // checksum, key, sequence
		if fl&bit != 0 {
			n += 4
		}
	}
	if n > len(p) {
		return
	}
	p = p[n:]
	switch proto {
	case 0x6558: // transparent Ethernet bridging
		d.ethernet(p, depth)
	case 0x88be: // ERSPAN type II has an 8-byte header when a sequence is present
		if fl&0x1000 != 0 {
			if len(p) < 8 {
				return
			}
			p = p[8:]
		}
		d.ethernet(p, depth)
	case 0x8200, 0x8210: // Aruba: 802.11 frames from access points
		d.wlan(p, depth)
	case 0x22eb: // ERSPAN type III
		if len(p) < 12 {
			return
		}
		o := p[11]&1 != 0
		p = p[12:]
		if o {
			if len(p) < 8 {
				return
			}
			p = p[8:]
		}
		d.ethernet(p, depth)
	default:
		d.ethertype(proto, p, depth)
	}
}

// udpTunnel follows the UDP encapsulations that tshark decodes by default
// on their registered ports: VXLAN, Geneve and GTP-U.
func (d *Decoder) udpTunnel(p []byte, depth int) {
	d.why = ReasonNotTCP // unless a tunnel is found below
	if len(p) < 8 {
		return
	}
	sp, dp := binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
	b := p[8:]
	switch {
	case sp == 4789 || dp == 4789:
		if len(b) < 8 {
			d.why = ReasonLinkHeader
			return
		}
		d.ethernet(b[8:], depth)
	case sp == 6081 || dp == 6081:
		n := 8
		if len(b) >= 8 {
			n += int(b[0]&0x3f) * 4
		}
		if n > len(b) {
			d.why = ReasonLinkHeader
			return
		}
		if proto := binary.BigEndian.Uint16(b[2:]); proto == 0x6558 {
			d.ethernet(b[n:], depth)
		} else {
			d.ethertype(proto, b[n:], depth)
		}
	case sp == 2152 || dp == 2152:
		d.gtpu(b, depth)
	case sp == 1701 || dp == 1701:
		d.l2tp(b, depth)
	}
}

// l2tp follows an L2TPv2 data message to the PPP frame it carries.
func (d *Decoder) l2tp(b []byte, depth int) {
	d.why = ReasonLinkHeader // until the header is read
	if len(b) < 6 {
		return
	}
	fl := binary.BigEndian.Uint16(b)
	if fl&0x8000 != 0 || fl&0x000f != 2 { // a control message, or not version 2
		d.why = ReasonNotTCP
		return
	}
	n := 6
	if fl&0x4000 != 0 { // length present
		n += 2
	}
	if fl&0x0800 != 0 { // Ns and Nr present
		n += 4
	}
	if fl&0x0200 != 0 { // offset size and padding
		if len(b) < n+2 {
			return
		}
		n += 2 + int(binary.BigEndian.Uint16(b[n:]))
	}
	if n > len(b) {
		return
	}
	d.ppp(b[n:], depth)
}

// wlan follows an 802.11 data frame through its LLC/SNAP header.
func (d *Decoder) wlan(b []byte, depth int) {
	d.why = ReasonLinkHeader // until the header is read
	if len(b) < 24 {
		return
	}
	fc0, fc1 := b[0], b[1]
	if fc0&0x0c != 0x08 || fc1&0x40 != 0 { // not a data frame, or encrypted
		d.why = ReasonNotIP
		return
	}
	n := 24
	if fc1&0x03 == 0x03 { // to and from the distribution system: a 4th address
		n += 6
	}
	if fc0&0x80 != 0 { // QoS data
		n += 2
		if fc1&0x80 != 0 { // +HTC
			n += 4
		}
	}
	if fc0&0x40 != 0 { // a "null" subtype carries no data
		d.why = ReasonNotIP
		return
	}
	if len(b) < n+8 {
		return
	}
	b = b[n:]
	if b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 {
		d.why = ReasonNotIP
		return
	}
	d.ethertype(binary.BigEndian.Uint16(b[6:]), b[8:], depth)
}

// radiotap skips a radiotap header (its length is little-endian at byte 2).
func (d *Decoder) radiotap(b []byte) {
	d.why = ReasonLinkHeader // until the header is read
	if len(b) < 8 {
		return
	}
	n := int(binary.LittleEndian.Uint16(b[2:]))
	if n < 8 || n > len(b) {
		return
	}
	fcs := false
	if binary.LittleEndian.Uint32(b[4:])&(1<<1) != 0 && n >= 9 {
		// The flags field follows the TSFT field when both are present.
		off := 8
		if binary.LittleEndian.Uint32(b[4:])&1 != 0 {
			off = 16
		}
		fcs = off < n && b[off]&0x10 != 0
	}
	b = b[n:]
	if fcs && len(b) >= 4 {
		b = b[:len(b)-4]
	}
	d.wlan(b, 0)
}

// ppi skips a Per-Packet Information header and decodes what it wraps.
func (d *Decoder) ppi(b []byte) {
	d.why = ReasonLinkHeader // until the header is read
	if len(b) < 8 {
		return
	}
	n := int(binary.LittleEndian.Uint16(b[2:]))
	if n < 8 || n > len(b) {
		return
	}
	switch LinkType(binary.LittleEndian.Uint32(b[4:])) {
	case LinkIEEE80211:
		d.wlan(b[n:], 0)
	case LinkEthernet:
		d.ethernet(b[n:], 0)
	default:
		d.why = ReasonLinkType
	}
}

func (d *Decoder) gtpu(b []byte, depth int) {
	d.why = ReasonLinkHeader // until the header is read
	if len(b) < 8 {
		return
	}
	if b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xff { // not a G-PDU of GTPv1
		d.why = ReasonNotTCP
		return
	}
	n := 8
	if b[0]&0x07 != 0 {
		if len(b) < 12 {
			return
		}
		next := b[11]
		n = 12
		for next != 0 {
			if n >= len(b) {
				return
			}
			l := int(b[n]) * 4
			if l == 0 || n+l > len(b) {
				return
			}
			next = b[n+l-1]
			n += l
		}
	}
	d.ipAny(b[n:], depth)
}
