package main

import (
	"fmt"
	"net/netip"
)

// conntrackHoldUs is how long a mapping's public port stays taken after its
// last packet: nf_conntrack_tcp_timeout_time_wait (120 s). Holding ports at
// least this long also means no public 4-tuple is reused while the server
// may still hold it in TIME_WAIT (at most 60 s), so every SYN reaches
// tcp_v4_conn_request with isn == 0 (see ../KERNEL.md, section 6).
const conntrackHoldUs = 120_000_000

// natMapping is one conntrack entry of the router (all to the one server).
type natMapping struct {
	private  netip.AddrPort
	public   netip.AddrPort
	lastSeen int64
}

// nat is Linux MASQUERADE --random-fully: every new connection gets a
// pseudo-random public port (NF_NAT_RANGE_PROTO_RANDOM_FULLY), skipping ports
// that an entry still holds; only address and port are rewritten. The port
// is drawn from the seed and the private address:port, so the scenarios that
// share their traffic also share their translations.
type nat struct {
	seed     uint64
	public   netip.Addr
	byPriv   map[netip.AddrPort]*natMapping
	byPublic map[uint16]*natMapping
}

func newNAT(seed uint64, public netip.Addr) *nat {
	return &nat{
		seed:     seed,
		public:   public,
		byPriv:   make(map[netip.AddrPort]*natMapping),
		byPublic: make(map[uint16]*natMapping),
	}
}

func (n *nat) taken(port uint16, now int64) bool {
	m := n.byPublic[port]
	return m != nil && now-m.lastSeen < conntrackHoldUs
}

// outbound translates the source of a packet from the LAN. Only a SYN may
// create a mapping.
func (n *nat) outbound(src netip.AddrPort, now int64, syn bool) (netip.AddrPort, error) {
	if m := n.byPriv[src]; m != nil && now-m.lastSeen < conntrackHoldUs {
		m.lastSeen = now
		return m.public, nil
	}
	if !syn {
		return netip.AddrPort{}, fmt.Errorf("nat: no mapping for %v", src)
	}
	a4 := src.Addr().As4()
	r := newStream(n.seed, "nat-port", uint64(a4[3]), uint64(src.Port()))
	port := uint16(r.between(1024, 65535))
	for tries := 0; n.taken(port, now); tries++ {
		if tries > 64512 {
			return netip.AddrPort{}, fmt.Errorf("nat: no free port for %v", src)
		}
		port = uint16(r.between(1024, 65535))
	}
	m := &natMapping{private: src, public: netip.AddrPortFrom(n.public, port), lastSeen: now}
	if old := n.byPublic[port]; old != nil {
		delete(n.byPriv, old.private)
	}
	n.byPriv[src] = m
	n.byPublic[port] = m
	return m.public, nil
}

// inbound translates the destination of a packet from the WAN back.
func (n *nat) inbound(dst netip.AddrPort, now int64) (netip.AddrPort, error) {
	m := n.byPublic[dst.Port()]
	if dst.Addr() != n.public || m == nil {
		return netip.AddrPort{}, fmt.Errorf("nat: no mapping for %v", dst)
	}
	m.lastSeen = now
	return m.private, nil
}
