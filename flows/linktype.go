package flows

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// LinkType is a LINKTYPE_ value of the tcpdump.org registry, as stored in
// pcap headers and pcapng interface descriptions.
type LinkType uint16

// The link types that flows decodes.
const (
	LinkNull      LinkType = 0   // BSD loopback, protocol family in host byte order
	LinkEthernet  LinkType = 1   // Ethernet, with 802.1Q/802.1ad tags, MPLS, PPPoE
	LinkPPP       LinkType = 9   // PPP, with or without HDLC framing
	LinkRawBSD    LinkType = 12  // raw IP as written on some BSDs
	LinkRawBSD14  LinkType = 14  // raw IP as written on OpenBSD
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6
	LinkCHDLC     LinkType = 104 // Cisco HDLC
	LinkIEEE80211 LinkType = 105 // 802.11 data frames
	LinkLoop      LinkType = 108 // OpenBSD loopback, protocol family in network byte order
	LinkRadiotap  LinkType = 127 // 802.11 behind a radiotap header
	LinkPPI       LinkType = 192 // Per-Packet Information header, then 802.11 or Ethernet
	LinkSLL       LinkType = 113 // Linux cooked capture v1 (tcpdump -i any, older)
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkNFLOG     LinkType = 239 // Linux netfilter NFLOG
	LinkSLL2      LinkType = 276 // Linux cooked capture v2 (tcpdump -i any)
)

var linkNames = map[LinkType]string{
	LinkNull:      "NULL (BSD loopback)",
	LinkEthernet:  "Ethernet",
	LinkPPP:       "PPP",
	LinkRawBSD:    "raw IP",
	LinkRawBSD14:  "raw IP",
	LinkRaw:       "raw IP",
	LinkCHDLC:     "Cisco HDLC",
	LinkLoop:      "OpenBSD loopback",
	LinkIEEE80211: "IEEE 802.11",
	LinkRadiotap:  "802.11 radiotap",
	LinkPPI:       "PPI",
	LinkSLL:       "Linux SLL",
	LinkIPv4:      "raw IPv4",
	LinkIPv6:      "raw IPv6",
	LinkNFLOG:     "Linux NFLOG",
	LinkSLL2:      "Linux SLL2",
}

// Supported reports whether flows decodes packets of this link type.
func (lt LinkType) Supported() bool {
	_, ok := linkNames[lt]
	return ok
}

// Name names the link type without its number, e.g. "Linux SLL2", or
// "link type 147" for one with no name.
func (lt LinkType) Name() string {
	if name, ok := linkNames[lt]; ok {
		return name
	}
	if name := layers.LinkType(lt).String(); name != "UnknownLinkType" {
		return name
	}
	return fmt.Sprintf("link type %d", uint16(lt))
}

// String names the link type, with its number, e.g. "Linux SLL2 (276)".
func (lt LinkType) String() string {
	name, ok := linkNames[lt]
	if !ok {
		name = layers.LinkType(lt).String()
		if name == "UnknownLinkType" {
			name = "unknown"
		}
	}
	return fmt.Sprintf("%s (%d)", name, uint16(lt))
}
