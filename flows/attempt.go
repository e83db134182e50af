package flows

import "net/netip"

// Transmission is one SYN or SYN-ACK as it was captured.
type Transmission struct {
	Time   int64 // nanoseconds since the epoch
	Frame  int64 // 1-based record number in the capture
	Seq    uint32
	Ack    uint32
	TTL    uint8 // IPv4 TTL or IPv6 hop limit as captured
	IPID   uint16
	Window uint16
	Opts   Options
}

// Reset is a RST seen on an attempt's 4-tuple.
type Reset struct {
	Time       int64
	Frame      int64
	FromServer bool
	Flags      TCPFlags
	Seq        uint32
	Ack        uint32
	// TTL, IPID and Window are the RST's fingerprint, to tell whether the
	// host that sent it is the one that sent the server's other packets.
	TTL    uint8 // IPv4 TTL or IPv6 hop limit as captured
	IPID   uint16
	Window uint16
}

// ICMPError is an ICMP or ICMPv6 error that quotes a segment of the attempt.
type ICMPError struct {
	Time     int64
	Frame    int64
	Reporter netip.Addr // who sent the error: the server, a router, a firewall
	V6       bool
	Type     uint8
	Code     uint8
	// AboutClientSegment is set when the quoted segment went client→server
	// (a SYN or the third ACK), so the error went back to the client.
	AboutClientSegment bool
	QuotedSeq          uint32
	// TTL is the TTL or hop limit of the packet that carried the error, as
	// captured: how far away its sender was.
	TTL uint8
}

// Side names an end of a connection.
type Side uint8

// Sides of a connection.
const (
	NoSide Side = iota
	ClientSide
	ServerSide
)

func (s Side) String() string {
	switch s {
	case ClientSide:
		return "client"
	case ServerSide:
		return "server"
	}
	return "none"
}

// TSvalSeen is the last TCP timestamp value one side received from the
// other, and when.
type TSvalSeen struct {
	Valid bool
	TSval uint32
	Time  int64
}

// Attempt is one TCP handshake attempt: the SYNs of one client ISN on one
// 4-tuple and everything that answered them. A SYN with a new ISN on the same
// 4-tuple starts a new Attempt. For connections that were established, the
// Attempt also records how they closed, which the per-host PAWS model needs.
type Attempt struct {
	Client netip.AddrPort // the side that sent the SYN
	Server netip.AddrPort
	ISN    uint32

	SYNs    []Transmission // every SYN, the first and its retransmissions
	SYNACKs []Transmission // every SYN-ACK the server sent for this ISN
	// AckAnswers are bare ACKs the server sent instead of a SYN-ACK, as a
	// socket in TIME_WAIT or a stale connection on the 4-tuple does.
	AckAnswers []Transmission
	// ThirdACK is the first client ACK of the server's SYN-ACK.
	ThirdACK      int64
	ThirdACKFrame int64
	// SYNACKUnseen is set when the handshake completed on a SYN-ACK the
	// capture does not hold: the client acknowledged it, or the server
	// sent data or acknowledged exactly the SYN. SYNACKs is then empty,
	// and ThirdACK is the first packet that showed the handshake done.
	SYNACKUnseen bool
	Resets       []Reset
	ICMP         []ICMPError

	// FirstData holds when payload was first seen from the client [0] and
	// from the server [1]; 0 if never.
	FirstData [2]int64

	// FirstFIN is the side that sent the first FIN, and FINTime when.
	FirstFIN Side
	FINTime  int64
	// LastTSval holds the last timestamp the server received from the
	// client [0] and the client from the server [1], tracked from the first
	// FIN on. When the server closed first, LastTSval[0] is what the kernel
	// stores in tcp_metrics as tcpm_ts when the socket enters TIME_WAIT.
	LastTSval [2]TSvalSeen
	// ClosedAt is when both FINs, or a RST after the handshake, were seen.
	ClosedAt int64

	// Evicted is set when the tracker dropped the attempt early because it
	// held too many open ones (Config.MaxOpen); what it saw until then is
	// kept. EvictedAt is the capture time it was dropped: the attempt was
	// followed from its first SYN until then, so its fate after that is
	// unknown, not a give-up.
	Evicted   bool
	EvictedAt int64
	// AfterEviction counts the packets of an evicted attempt that arrived
	// after it was dropped, while it was among the last attempts evicted
	// (see TrackerStats.AfterEviction). The tracker adds to it after the
	// attempt was emitted, up to the end of the capture: read it once
	// ReadCapture (or Tracker.Flush) has returned.
	AfterEviction Late
}

// Late counts packets that belonged to an attempt the tracker had already
// evicted: what the cap on open attempts would otherwise hide.
type Late struct {
	SYNs    int64 // retransmissions of the attempt's SYN (same ISN)
	SYNACKs int64 // the server's SYN-ACKs: answers, or their retransmissions
	ACKs    int64 // client segments without SYN, such as the third ACK
	RSTs    int64 // resets from either side
	ICMP    int64 // ICMP errors quoting a segment of the attempt
	Last    int64 // capture time of the last of them; 0 if none
}

// Total returns the number of packets counted.
func (l Late) Total() int64 { return l.SYNs + l.SYNACKs + l.ACKs + l.RSTs + l.ICMP }

func (l *Late) add(kind *int64, now int64) {
	*kind++
	l.Last = max(l.Last, now)
}

// Established reports whether the client's third ACK was seen.
func (a *Attempt) Established() bool { return a.ThirdACK != 0 }

// FirstSYN returns the time of the first SYN.
func (a *Attempt) FirstSYN() int64 { return a.SYNs[0].Time }
