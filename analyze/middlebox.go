package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// A RST that answers a SYN in the server's name need not come from the
// server: a firewall rule (`iptables -j REJECT --reject-with tcp-reset`,
// nft `reject with tcp reset`), a load balancer or an IPS on the path can
// forge one. Linux builds both kinds alike: netfilter's nf_send_reset
// (nf_reject_iphdr_put: IP ID 0, DF, TTL ip4_dst_hoplimit, the
// net.ipv4.ip_default_ttl sysctl unless a route says otherwise;
// nf_reject_ip_tcphdr_put: window 0) and the kernel's own answer for a closed
// port, tcp_v4_send_reset through ip_send_unicast_reply (a per-netns control
// socket with IP_PMTUDISC_DO and no peer, so ip_select_ident_segs gives it
// IP ID 0 with DF; TTL from the same sysctl; window 0). Its SYN-ACKs
// (ip_build_and_send_pkt) also carry IP ID 0 with DF. So IP ID and window
// rarely tell a Linux firewall from a Linux server: what does is where the
// packet started. Every hop decrements the TTL, so the initial TTL (the
// nearest of 64, 128, 255 at or above the captured one) minus the captured
// TTL is how many routers the packet crossed before the capture point, and
// a RST that crossed fewer than the server's own packets was sent nearer.
//
// What else makes such packets is ruled out before the finding is raised:
//   - a server that answers from another stack or host (a load balancer's
//     VIP): its SYN-ACKs then come from there too, at the RST's distance;
//   - a closed port on the server itself: that RST has the server's hop
//     count and stays `refused`;
//   - several hosts or paths behind the address (anycast, ECMP, a route
//     change, a NAT that rewrites TTLs): the server's own packets then show
//     more than one hop count, and nothing is said;
//   - no packet of the server's own in the capture: no fingerprint, nothing
//     said;
//   - resets after the handshake (the application's): only RSTs and ICMP
//     errors that answered a SYN, before any SYN-ACK, count;
//   - a host that forwards to the server (a NAT gateway, a Docker or
//     Kubernetes node) refusing a port it does not forward sends the same
//     nearer RST: it is on the path, and the recommendation names it;
//   - a RST from farther than the server: not on the path between the
//     capture and the server, so not this finding;
//   - a RST with another initial TTL than the server's packets: a socket
//     may set its own TTL (IP_TTL: a BGP speaker's listener answers with
//     TTL 255 for GTSM, RFC 5082, while the kernel's RSTs for its closed
//     ports take the sysctl's 64), and some stacks send RSTs with another
//     TTL than their segments (VirtualBox's NAT, slirp, sends its RSTs
//     with 255, its SYN-ACKs with 64, from one IP ID counter). So only a
//     RST with the server's initial TTL and fewer hops counts: a bridging
//     firewall, which decrements no TTL, goes unnoticed.

// serverFingerprint is what a server address's own packets (SYN-ACKs and
// bare ACK answers) looked like at the capture point.
type serverFingerprint struct {
	packets int
	synacks int // of packets, SYN-ACKs; the rest are bare ACK answers
	initial int // initial TTL, when all agree
	hops    int // initial − captured TTL, when all agree
	mixed   bool
	ipIDs   int // how many had IP ID 0
}

func (fp *serverFingerprint) add(ttl uint8, ipID uint16) {
	init, hops := initialTTL(ttl), initialTTL(ttl)-int(ttl)
	switch {
	case fp.packets == 0:
		fp.initial, fp.hops = init, hops
	case init != fp.initial || hops != fp.hops:
		fp.mixed = true
	}
	fp.packets++
	if ipID == 0 {
		fp.ipIDs++
	}
}

// maxPathHops is the most routers a fingerprint's packets may have crossed
// for their distance to be believed: Internet paths are shorter. More means
// a socket that set its own TTL (eBGP's TTL 1) and started below the
// initial TTL the count assumes.
const maxPathHops = 32

// usable says whether the fingerprint can place the server: it rests on at
// least one packet, all at one distance, and a plausible one.
func (fp *serverFingerprint) usable() bool {
	return fp.packets > 0 && !fp.mixed && fp.hops <= maxPathHops
}

// describe names the packets behind the fingerprint: "3 SYN-ACKs", "2
// SYN-ACKs and 1 bare ACK".
func (fp *serverFingerprint) describe() string {
	var parts []string
	if fp.synacks > 0 {
		parts = append(parts, wording.Plural(fp.synacks, "SYN-ACK"))
	}
	if n := fp.packets - fp.synacks; n > 0 {
		parts = append(parts, wording.Plural(n, "bare ACK"))
	}
	return strings.Join(parts, " and ")
}

// forgedAnswer is the RST or ICMP error that answered an attempt's SYN in
// the server's name.
type forgedAnswer struct {
	icmp   bool
	ttl    uint8
	ipID   uint16
	window uint16
}

// middleboxReset: SYNs answered, in the server's name, by a RST or an ICMP
// error that started from the same initial TTL as the server's own packets
// but crossed fewer routers. It runs before refused and icmpUnreachable and
// claims the attempts it explains.
func (v *view) middleboxReset(claimed map[int]bool) *Finding {
	fps := map[netip.Addr]*serverFingerprint{}
	for _, i := range v.attempts {
		a := v.at(i)
		fp := fps[a.Server.Addr()]
		if fp == nil {
			fp = &serverFingerprint{}
			fps[a.Server.Addr()] = fp
		}
		for _, s := range a.SYNACKs {
			fp.add(s.TTL, s.IPID)
			fp.synacks++
		}
		for _, s := range a.AckAnswers {
			fp.add(s.TTL, s.IPID)
		}
	}
	type key struct {
		server  netip.AddrPort
		icmp    bool
		initial int
		hops    int
	}
	groups := map[key][]int{}
	first := map[key]forgedAnswer{}
	for _, i := range v.attempts {
		a := v.at(i)
		if claimed[i] || (a.Outcome != Refused && a.Outcome != ICMPUnreachable) {
			continue
		}
		fp := fps[a.Server.Addr()]
		if !fp.usable() {
			continue
		}
		ans, ok := answerInServersName(a)
		if !ok {
			continue
		}
		init, hops := initialTTL(ans.ttl), initialTTL(ans.ttl)-int(ans.ttl)
		if init != fp.initial || hops >= fp.hops {
			continue
		}
		k := key{a.Server, ans.icmp, init, hops}
		if _, seen := groups[k]; !seen {
			first[k] = ans
		}
		groups[k] = append(groups[k], i)
	}
	if len(groups) == 0 {
		return nil
	}
	keys := sortedKeys(groups, func(a, b key) int {
		return cmp.Or(a.server.Compare(b.server), cmpBool(a.icmp, b.icmp), cmp.Compare(a.initial, b.initial), cmp.Compare(a.hops, b.hops))
	})
	f := &Finding{Kind: KindMiddleboxReset}
	fpPackets, nearest := 0, 0 // the weakest fingerprint behind the finding
	var servers []string
	inFinding := map[netip.Addr]bool{}
	for _, k := range keys {
		idx := groups[k]
		f.attempts = append(f.attempts, idx...)
		fp := fps[k.server.Addr()]
		if fpPackets == 0 || fp.packets < fpPackets {
			fpPackets = fp.packets
		}
		inFinding[k.server.Addr()] = true
		servers = append(servers, k.server.String())
		a, ans := v.at(idx[0]), first[k]
		what, aWhat, fields := "RST", "a RST", fmt.Sprintf(", IP ID %d, window %d", ans.ipID, ans.window)
		if k.icmp {
			what, aWhat, fields = "ICMP error", "an ICMP error", ""
		}
		nearest = max(nearest, fp.hops-k.hops)
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s to %s answered in the server's name by %s with TTL %d (initial %d: %s from the capture point)%s; the server's own %s came with TTL %d (%s), IP ID 0 in %d of them: the %s was sent %s nearer the capture point than the server; e.g. %s at %s",
			wording.Plural(len(idx), "attempt"), k.server, aWhat, ans.ttl, k.initial, wording.Plural(k.hops, "hop"), fields,
			fp.describe(), fp.initial-fp.hops, wording.Plural(fp.hops, "hop"), fp.ipIDs, what, wording.Plural(fp.hops-k.hops, "hop"), a.Client, wording.Clock(a.FirstSYN())))
	}
	for _, s := range sortedKeys(inFinding, netip.Addr.Compare) {
		if own := v.serverOwnResets(s, fps[s], claimed, f.attempts); own > 0 {
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s from %s came from the server's own distance (%s): the server sent those (see `refused`)", wording.Plural(own, "other RST"), s, wording.Plural(fps[s].hops, "hop")))
		}
	}
	slices.Sort(f.attempts)
	n := len(f.attempts)
	// How sure: the fingerprint is only as good as the number of the
	// server's packets behind it, and one odd RST may be a route change.
	switch {
	case fpPackets >= 3 && n >= 2:
		f.Severity, f.Confidence = Warning, 0.9
	case fpPackets >= 2 || n >= 2:
		f.Severity, f.Confidence = Warning, 0.7
		f.Evidence = append(f.Evidence, fmt.Sprintf("how sure: %s against %s of the server's own", wording.Plural(n, "answer"), wording.Plural(fpPackets, "packet")))
	default:
		f.Severity, f.Confidence = Info, 0.5
		f.Evidence = append(f.Evidence, "how sure: one answer against one packet of the server's own — a route change would look the same; informational")
	}
	f.Summary = fmt.Sprintf("%s to %s reset by something on the path, not by the server", wording.Plural(n, "connection"), strings.Join(firstN(servers, 4), ", "))
	f.Summary += fmt.Sprintf(" (%s nearer the capture point)", wording.Plural(nearest, "hop"))
	f.Recommendation = "Something between the capture point and the server answers these SYNs in the server's name, and the server never saw them: a firewall, load balancer or IPS, or a host that forwards to the server (a NAT gateway, a Docker or Kubernetes node) refusing a port it does not forward. Find the device at that distance (`traceroute -T -p PORT SERVER` from the client's side) and its rule (`iptables -L FORWARD -v -n` or `nft list ruleset` on a Linux router: a `REJECT --reject-with tcp-reset` / `reject with tcp reset` counter that grows with the attempts; on a forwarding host, its DNAT or published ports). Checking the service on the server will not help."
	return f
}

// answerInServersName returns the first RST from the server's address, or
// ICMP error from it about the client's segment, that answered the attempt.
func answerInServersName(a *Attempt) (forgedAnswer, bool) {
	if a.Outcome == Refused {
		for _, r := range a.Resets {
			if r.FromServer {
				return forgedAnswer{ttl: r.TTL, ipID: r.IPID, window: r.Window}, true
			}
		}
		return forgedAnswer{}, false
	}
	for _, e := range a.ICMP {
		if e.AboutClientSegment {
			// An ICMP error from a router is icmpUnreachable's: it names
			// its sender. Only one in the server's name is forged.
			return forgedAnswer{icmp: true, ttl: e.TTL}, e.Reporter == a.Server.Addr()
		}
	}
	return forgedAnswer{}, false
}

// serverOwnResets counts the refused attempts to a server address, outside
// the finding, whose RST came at the server's own distance.
func (v *view) serverOwnResets(s netip.Addr, fp *serverFingerprint, claimed map[int]bool, taken []int) int {
	if !fp.usable() {
		return 0
	}
	n := 0
	for _, i := range v.attempts {
		a := v.at(i)
		if claimed[i] || a.Outcome != Refused || a.Server.Addr() != s || slices.Contains(taken, i) {
			continue
		}
		if ans, ok := answerInServersName(a); ok && initialTTL(ans.ttl) == fp.initial && initialTTL(ans.ttl)-int(ans.ttl) == fp.hops {
			n++
		}
	}
	return n
}

// confirmMiddlebox checks a client capture's middlebox_reset against the
// server capture joined to it. A forged RST stands in for a SYN the server
// never saw: the server capture, running while they were sent, holds none
// of them. If it holds some, the server saw those SYNs and the difference in
// hops came from elsewhere (a route or a NAT that rewrote the TTL): the
// finding says so and is no more than information.
func confirmMiddlebox(res *Result, j *Join) {
	sc := res.Captures[j.Server]
	// The server capture's span in the client capture's clock.
	off := int64(j.Offset * 1e9)
	from, to := sc.First-off, sc.Last-off
	for fi := range res.Findings {
		f := &res.Findings[fi]
		if f.Kind != KindMiddleboxReset || f.Capture != j.Client {
			continue
		}
		var seen, during int
		for _, i := range f.attempts {
			a := &res.Attempts[i]
			if a.Peer >= 0 {
				seen++
			}
			if t := a.FirstSYN(); t >= from && t <= to {
				during++
			}
		}
		switch {
		case seen > 0:
			f.Severity, f.Confidence = Info, min(f.Confidence, 0.3)
			f.Evidence = append(f.Evidence, fmt.Sprintf("but the server's capture holds %s of these SYNs: the server saw them, so the hops may differ for another reason (a route change, a NAT that rewrote the TTL) — informational", strconv.Itoa(seen)))
		case during == len(f.attempts):
			f.Confidence = max(f.Confidence, 0.95)
			f.Evidence = append(f.Evidence, fmt.Sprintf("the server's capture, joined, ran throughout and holds none of these %s: they never reached the server", wording.Plural(len(f.attempts), "SYN")))
		}
	}
}
