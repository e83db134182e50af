package main

import (
	"net"
	"net/netip"
	"time"
)

// Topology: hosts on a LAN behind a NAT router, the server across the WAN.
// Only 198.18.0.0/15 (RFC 2544 benchmarking space) is used.
var (
	serverAddr = netip.MustParseAddrPort("198.18.50.10:80")
	natPublic  = netip.MustParseAddr("198.18.40.1")

	serverMAC    = net.HardwareAddr{0x02, 0x00, 0x00, 0x32, 0x00, 0x0a}
	serverGWMAC  = net.HardwareAddr{0x02, 0x00, 0x00, 0x32, 0x00, 0x01}
	routerLANMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x3c, 0x00, 0x01}
)

// epoch is when every scenario starts; both captures use this one clock.
var epoch = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

const (
	hostTTL     = 64
	serverTTL   = 64
	wanHops     = 4      // routers between the NAT router and the server
	lanOneWayUs = 100    // host <-> router LAN interface
	wanOneWayUs = 10_000 // router <-> server, so the RTT is about 20 ms
	forwardUs   = 8      // router forwarding and NAT time
)

// hostSpec describes one client host: a Linux older than 4.10, whose TSval
// is its own jiffies (tcp_time_stamp), so one clock per host.
type hostSpec struct {
	last       byte    // 198.18.60.<last>
	hz         int64   // CONFIG_HZ: the TSval rate
	uptimeDays int64   // sets where the host's jiffies (and TSval) stand
	meanGap    float64 // mean seconds between the host's connections
}

func (h hostSpec) addr() netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 60, h.last}) }

func (h hostSpec) mac() net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x00, 0x00, 0x3c, 0x00, h.last}
}

// natHosts are the four hosts behind the NAT. Their clocks are days apart,
// so the order of their TSvals never changes during a scenario:
// .11 > .14 > .13 > .12. A host is locked out whenever a host with a clock
// ahead of its own closed a connection to the server in the last minute.
var natHosts = []hostSpec{
	{last: 11, hz: 1000, uptimeDays: 12, meanGap: 70},
	{last: 12, hz: 250, uptimeDays: 3, meanGap: 40},
	{last: 13, hz: 1000, uptimeDays: 5, meanGap: 45},
	{last: 14, hz: 250, uptimeDays: 40, meanGap: 60},
}

// singleHost is 198.18.60.12 (same clock as in natHosts, the one furthest
// behind) connecting more often, alone behind the NAT.
var singleHost = hostSpec{last: 12, hz: 250, uptimeDays: 3, meanGap: 12}

// scenario is one pair of captures.
type scenario struct {
	name    string
	summary string
	hosts   []hostSpec
	// twRecycle is the server's net.ipv4.tcp_tw_recycle.
	twRecycle bool
	// serverClosesFirst: the server sends the first FIN (HTTP Connection:
	// close); otherwise the client does and the server goes through LAST_ACK.
	serverClosesFirst bool
}

var scenarios = []scenario{
	{
		name:              "paws-nat",
		summary:           "Four hosts behind one NAT address. SYNs from a host whose timestamp clock is behind another host's are dropped for up to 60 s after that host's connection closes",
		hosts:             natHosts,
		twRecycle:         true,
		serverClosesFirst: true,
	},
	{
		name:              "paws-nat-recycle-off",
		summary:           "Negative control: the same traffic with tcp_tw_recycle=0. TSval is just as non-monotonic per source IP, but no stamp is kept and nothing is dropped",
		hosts:             natHosts,
		twRecycle:         false,
		serverClosesFirst: true,
	},
	{
		name:              "paws-nat-client-closes",
		summary:           "Negative control: the same traffic with tcp_tw_recycle=1, but the clients close first, so the server goes through LAST_ACK, never TIME_WAIT, stores no stamp and drops nothing",
		hosts:             natHosts,
		twRecycle:         true,
		serverClosesFirst: false,
	},
	{
		name:              "paws-single-host",
		summary:           "Negative control: only 198.18.60.12 behind the NAT, tcp_tw_recycle=1. One host's TSval only moves forward, so its stamp never blocks it and nothing is dropped",
		hosts:             []hostSpec{singleHost},
		twRecycle:         true,
		serverClosesFirst: true,
	},
}
