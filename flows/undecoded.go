package flows

import "strconv"

// A Reason says why flows did not decode a frame, or decoded only part of
// its TCP header. Its String is a stable snake_case name, fit for a JSON key.
//
// A frame is decoded when flows finds in it a TCP header with its flags (its
// own, or tunnelled) or an ICMP error that quotes at least the ports and
// sequence number of a TCP header: what the Tracker reads. Every other frame
// is counted under exactly one reason, the first problem met on the way in
// (the innermost, for a tunnel). The reasons for which Partial is true
// count decoded frames instead, whose TCP header lacks something.
type Reason uint8

// Reasons a frame is not decoded, and then reasons a decoded frame lacks
// something.
const (
	// ReasonLinkType: the frame's link type, or the one its PPI header
	// wraps, is one flows does not decode (Capture.LinkTypes names the
	// first, and a warning says how many frames it had).
	ReasonLinkType Reason = iota
	// ReasonLinkHeader: a link-layer or tunnel header is cut short or
	// invalid before the IP header (an Ethernet frame under 14 bytes, a
	// radiotap, PPI, NFLOG or GRE header whose lengths run past the frame,
	// an MPLS stack without a bottom, tunnels or VLAN tags nested more than
	// 8 deep).
	ReasonLinkHeader
	// ReasonARP: an ARP or RARP frame.
	ReasonARP
	// ReasonNotIP: the link layer carries something other than IP: an
	// EtherType, PPP protocol or address family flows does not follow
	// (LLDP, IPX, PPP control protocols, …), 802.3 without SNAP (spanning
	// tree), 802.11 management, control, null or encrypted frames.
	ReasonNotIP
	// ReasonIPHeaderCut: the capture holds fewer bytes than the IPv4 or
	// IPv6 header, or one of its IPv6 extension headers: the snap length
	// cut it.
	ReasonIPHeaderCut
	// ReasonIPBadVersion: the IP version is not the one the link layer or
	// tunnel announced (4 for IPv4, 6 for IPv6), or neither for raw IP.
	ReasonIPBadVersion
	// ReasonIPBadIHL: an IPv4 header length (IHL) under 5 words.
	ReasonIPBadIHL
	// ReasonIPBadLength: an IPv4 total length under the header length, or
	// an IPv6 extension header or IPv4 authentication header longer than
	// the packet holds though the whole packet was captured.
	ReasonIPBadLength
	// ReasonNotTCP: an IP packet that carries neither TCP nor an ICMP
	// error about TCP: UDP (other than VXLAN, Geneve, GTP-U and L2TP,
	// which are followed), ICMP echo, an ICMP error about UDP, ESP, ….
	ReasonNotTCP
	// ReasonIPFragment: an IP fragment of a TCP datagram that holds no whole
	// TCP header: a later fragment, or a first fragment too short whose
	// datagram this frame does not complete. The frame that completes
	// such a datagram is decoded, as tshark decodes it.
	ReasonIPFragment
	// ReasonTCPHeaderCut: a TCP header cut before its flags (under 14
	// bytes), or an ICMP error quoting under 8 bytes of one: the snap
	// length, or the quote, cut it.
	ReasonTCPHeaderCut
	// ReasonTCPBadOffset: a TCP data offset under 5 words, less than the
	// fixed header; tshark gives up on such a header too.
	ReasonTCPBadOffset

	// The reasons below are Partial: a decoded frame counts under one of
	// them as well, for what its TCP header lacks.

	// ReasonTCPOptionsCut: the snap length cut the TCP header after its
	// flags, so the window or options (MSS, window scale, timestamps) are
	// missing or incomplete; or the header of a first IP fragment goes on
	// in the next fragment.
	ReasonTCPOptionsCut
	// ReasonTCPOffsetPastPacket: the TCP data offset reaches past the end
	// of the IP packet: a malformed header, whose options are read as far
	// as the capture goes.
	ReasonTCPOffsetPastPacket
)

// NumReasons is the number of reasons, the length of Undecoded.
const NumReasons = int(ReasonTCPOffsetPastPacket) + 1

var reasonNames = [NumReasons]string{
	ReasonLinkType:            "link_type",
	ReasonLinkHeader:          "link_header",
	ReasonARP:                 "arp",
	ReasonNotIP:               "not_ip",
	ReasonIPHeaderCut:         "ip_header_cut",
	ReasonIPBadVersion:        "ip_bad_version",
	ReasonIPBadIHL:            "ip_bad_ihl",
	ReasonIPBadLength:         "ip_bad_length",
	ReasonNotTCP:              "not_tcp",
	ReasonIPFragment:          "ip_fragment",
	ReasonTCPHeaderCut:        "tcp_header_cut",
	ReasonTCPBadOffset:        "tcp_bad_offset",
	ReasonTCPOptionsCut:       "tcp_options_cut",
	ReasonTCPOffsetPastPacket: "tcp_offset_past_packet",
}

// String returns the reason's snake_case name, such as "not_ip".
func (r Reason) String() string {
	if int(r) < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Partial reports whether frames counted under r were decoded nonetheless,
// with a TCP header that lacks something.
func (r Reason) Partial() bool { return r >= ReasonTCPOptionsCut }

// Undecoded counts a capture's frames by Reason: index it with a Reason.
type Undecoded [NumReasons]int64

// String lists the reasons counted, such as "not_ip=2 tcp_header_cut=1",
// or returns "none".
func (u Undecoded) String() string {
	var b []byte
	for r, n := range u {
		if n == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, Reason(r).String()...)
		b = append(b, '=')
		b = strconv.AppendInt(b, n, 10)
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// Frames returns the number of frames not decoded: the counts of every
// reason that is not Partial.
func (u Undecoded) Frames() int64 {
	var n int64
	for r, c := range u {
		if !Reason(r).Partial() {
			n += c
		}
	}
	return n
}

// Partial returns the number of decoded frames whose TCP header lacks
// something: the counts of the Partial reasons.
func (u Undecoded) Partial() int64 {
	var n int64
	for r, c := range u {
		if Reason(r).Partial() {
			n += c
		}
	}
	return n
}
