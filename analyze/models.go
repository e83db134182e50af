package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows"
)

// findings runs every model on the capture. The models that name a kernel
// mechanism run first and claim the SYNs they explain; what no model claims
// is left to the generic "dropped silently" finding.
func (v *view) findings() []Finding {
	claimed := map[int]bool{} // attempts explained by a mechanism
	var out []Finding
	add := func(f *Finding) {
		if f == nil {
			return
		}
		f.Capture = v.idx
		if len(f.attempts) > 0 {
			f.AffectedAttempts = len(f.attempts)
			f.AffectedSources = countSources(v.res, f.attempts)
		}
		for _, i := range f.attempts {
			claimed[i] = true
		}
		out = append(out, *f)
	}
	// The queues first: their signatures (ignored final ACKs, floods of
	// one-SYN sources) are unmistakable, and SYNs they explain are not left
	// for the per-host PAWS replay to claim by chance.
	add(v.portScan())
	for _, f := range v.acceptQueue(claimed) {
		add(f)
	}
	add(v.synQueue(claimed))
	add(v.halfOpen(claimed))
	paws := v.perHostPAWS(claimed)
	v.paws = paws.replay
	add(paws.finding)
	add(v.middleboxReset(claimed))
	add(v.refused(claimed))
	add(v.icmpUnreachable(claimed))
	add(v.staleTimeWait())
	add(v.tupleBlackhole(claimed, paws))
	add(v.silentDrop(claimed))
	add(v.retransmissionDelay())
	add(v.nonMonotonicTimestamps(paws))
	return out
}

// synAnswered says, for each SYN transmission of an attempt, whether
// something answered it (SYN-ACK, RST, ICMP error, bare ACK) before the next
// transmission.
func synAnswered(a *Attempt) []bool {
	answers := answerTimes(a.Attempt, true)
	out := make([]bool, len(a.SYNs))
	for i, s := range a.SYNs {
		end := int64(1<<63 - 1)
		if i+1 < len(a.SYNs) {
			end = a.SYNs[i+1].Time
		}
		for _, t := range answers {
			if t >= s.Time && t < end {
				out[i] = true
				break
			}
		}
	}
	return out
}

// answerTimes lists when the server's side answered an attempt's SYNs: its
// RSTs, the ICMP errors about the client's segments, its bare ACKs, and,
// with synacks, its SYN-ACKs.
func answerTimes(a *flows.Attempt, synacks bool) []int64 {
	var out []int64
	if synacks {
		for _, s := range a.SYNACKs {
			out = append(out, s.Time)
		}
	}
	for _, r := range a.Resets {
		if r.FromServer {
			out = append(out, r.Time)
		}
	}
	for _, e := range a.ICMP {
		if e.AboutClientSegment {
			out = append(out, e.Time)
		}
	}
	for _, s := range a.AckAnswers {
		out = append(out, s.Time)
	}
	return out
}

// SYNsAnswered says, for each SYN transmission of the attempt, whether
// something answered it (a SYN-ACK, a RST or ICMP error from the server's
// side, a bare ACK) before the next transmission.
func (a *Attempt) SYNsAnswered() []bool { return synAnswered(a) }

// lostSYNs says, for each SYN transmission of an attempt, whether it was
// lost: nothing answered it before the next transmission, or, for the last
// one, before the capture had run minRTO past it. A server answers a SYN at
// once; an answer still to come after the client's own first timeout would
// be news, so a capture that stops sooner says nothing about the last SYN.
func lostSYNs(a *Attempt, captureEnd int64) []bool {
	lost := synAnswered(a)
	for j := range lost {
		lost[j] = !lost[j]
	}
	if last := len(lost) - 1; lost[last] && captureEnd-a.SYNs[last].Time < int64(minRTO) {
		lost[last] = false
	}
	return lost
}

// countLost counts an attempt's lost SYN transmissions (lostSYNs).
func countLost(a *Attempt, captureEnd int64) int {
	n := 0
	for _, l := range lostSYNs(a, captureEnd) {
		if l {
			n++
		}
	}
	return n
}

// refused: SYNs answered by RST.
func (v *view) refused(claimed map[int]bool) *Finding {
	byServer := map[netip.AddrPort][]int{}
	for _, i := range v.attempts {
		if v.at(i).Outcome == Refused && !claimed[i] {
			s := v.at(i).Server
			byServer[s] = append(byServer[s], i)
		}
	}
	if len(byServer) == 0 {
		return nil
	}
	f := &Finding{Kind: KindRefused, Severity: Warning, Confidence: 1}
	var servers []string
	for _, s := range sortedKeys(byServer, netip.AddrPort.Compare) {
		idx := byServer[s]
		f.attempts = append(f.attempts, idx...)
		servers = append(servers, s.String())
		a := v.at(idx[0])
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s to %s from %s answered with RST; e.g. %s at %s, RST %s after the SYN",
			wording.Plural(len(idx), "attempt"), s, wording.Plural(countSources(v.res, idx), "client address"), a.Client, wording.Clock(a.FirstSYN()), wording.Interval(time.Duration(firstServerRST(a)-a.FirstSYN()))))
	}
	slices.Sort(f.attempts)
	f.Summary = fmt.Sprintf("%s refused with RST by %s: nothing was listening there", wording.Plural(len(f.attempts), "connection"), strings.Join(firstN(servers, 4), ", "))
	if len(f.Evidence) > 6 {
		n := len(f.Evidence) - 5
		f.Evidence = append(f.Evidence[:5], fmt.Sprintf("and refusals by %d more endpoints", n))
	}
	f.Recommendation = "Check that the service runs and listens on that address and port (`ss -ltnp 'sport = :PORT'` on the server: a listener bound to 127.0.0.1 or another address refuses the rest), and that no firewall rule answers with `REJECT --reject-with tcp-reset`. Clients that retry a refused port only add load."
	return f
}

func firstServerRST(a *Attempt) int64 {
	for _, r := range a.Resets {
		if r.FromServer {
			return r.Time
		}
	}
	return a.FirstSYN()
}

// icmpUnreachable: SYNs answered by ICMP errors, grouped by who sent them
// and what they say.
func (v *view) icmpUnreachable(claimed map[int]bool) *Finding {
	type key struct {
		reporter  netip.Addr
		v6        bool
		typ, code uint8
	}
	groups := map[key][]int{}
	var keys []key
	for _, i := range v.attempts {
		a := v.at(i)
		if a.Outcome != ICMPUnreachable || claimed[i] {
			continue
		}
		for _, e := range a.ICMP {
			if !e.AboutClientSegment {
				continue
			}
			k := key{e.Reporter, e.V6, e.Type, e.Code}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], i)
			break
		}
	}
	if len(keys) == 0 {
		return nil
	}
	f := &Finding{Kind: KindICMPUnreachable, Severity: Warning, Confidence: 1}
	var firewall, routing bool
	for _, k := range keys {
		idx := groups[k]
		f.attempts = append(f.attempts, idx...)
		a := v.at(idx[0])
		e := a.ICMP[0]
		for _, x := range a.ICMP {
			if x.AboutClientSegment {
				e = x
				break
			}
		}
		meaning := ICMPMeaning(e.V6, e.Type, e.Code)
		why := icmpWhy(e.V6, e.Type, e.Code, e.Reporter == a.Server.Addr())
		if strings.Contains(why, "firewall") {
			firewall = true
		} else {
			routing = true
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s answered by ICMP %s from %s (%s); e.g. %s → %s at %s", wording.Plural(len(idx), "attempt"), meaning, e.Reporter, why, a.Client, a.Server, wording.Clock(a.FirstSYN())))
	}
	slices.Sort(f.attempts)
	f.attempts = slices.Compact(f.attempts)
	f.Summary = fmt.Sprintf("%s rejected with ICMP errors", wording.Plural(len(f.attempts), "connection"))
	switch {
	case firewall && !routing:
		f.Summary += " by a firewall REJECT rule"
		f.Recommendation = "Find the REJECT rule on the host that sent the ICMP error (`iptables -L -v -n`, `ip6tables -L -v -n` or `nft list ruleset`, watching which counter grows) and allow the clients, or fix the client's destination."
	default:
		f.Recommendation = "The host that sent the ICMP error has no way to the destination: check routes (`ip route get DEST` on it), neighbour resolution (`ip neigh`) and, for 'administratively prohibited', its firewall rules (`iptables -L -v -n`, `nft list ruleset`)."
	}
	return f
}

// icmpWhy says what usually makes a host send this ICMP error for TCP.
func icmpWhy(v6 bool, typ, code uint8, fromServer bool) string {
	if v6 {
		switch {
		case typ == 1 && (code == 1 || code == 4 || code == 5 || code == 6):
			return "a firewall REJECT rule: Linux answers a closed TCP port with RST, not ICMPv6"
		case typ == 1:
			return "no route or neighbour for the destination"
		case typ == 3:
			return "hop limit ran out: a routing loop or a too-small hop limit"
		}
		return "see the ICMPv6 type and code"
	}
	switch {
	case typ == 3 && (code == 9 || code == 10 || code == 13):
		return "a firewall REJECT rule"
	case typ == 3 && code == 3 && fromServer:
		return "a firewall REJECT rule on the server: Linux answers a closed TCP port with RST, not ICMP"
	case typ == 3 && code == 3:
		return "a firewall REJECT rule on the way"
	case typ == 3:
		return "no route to the destination network or host"
	case typ == 11:
		return "TTL ran out: a routing loop or a too-small TTL"
	}
	return "see the ICMP type and code"
}

// staleTimeWait: SYNs answered by a bare ACK.
func (v *view) staleTimeWait() *Finding {
	var idx []int
	for _, i := range v.attempts {
		if v.at(i).Outcome == AnsweredByACK || len(v.at(i).AckAnswers) > 0 && v.at(i).Retransmissions() > 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	a := v.at(idx[0])
	for _, i := range idx {
		if len(v.at(i).AckAnswers) > 0 && v.at(i).Retransmissions() > 0 {
			a = v.at(i)
			break
		}
	}
	f := &Finding{Kind: KindStaleTimeWait, Severity: Warning, Confidence: 0.9, attempts: idx}
	f.Summary = fmt.Sprintf("%s hit a 4-tuple the server still held: it answered the SYN with a bare ACK", wording.Plural(len(idx), "connection"))
	e := fmt.Sprintf("e.g. %s → %s at %s: SYN answered by an ACK (ack %d, not ISN+1 = %d)", a.Client, a.Server, wording.Clock(a.FirstSYN()), a.AckAnswers[0].Ack, a.ISN+1)
	if resyn, ok := reSYN(a); ok {
		e += fmt.Sprintf("; the client answered it with a RST and sent its SYN again %s after that: a re-SYN armed at TCP_TIMEOUT_MIN (tcp_rcv_synsent_state_process), which costs milliseconds, not a retransmission timeout", wording.Interval(time.Duration(resyn)))
	} else {
		e += "; a Linux client answers it with a RST and sends its SYN again a few milliseconds later (TCP_TIMEOUT_MIN, tcp_rcv_synsent_state_process): the cost is small unless the server keeps answering with ACKs"
	}
	f.Evidence = append(f.Evidence, e)
	if len(idx) < 3 {
		f.Severity = Info
	}
	f.Evidence = append(f.Evidence, "a SYN that reaches a TIME_WAIT socket with an older sequence or timestamp, or an established one, gets an ACK instead of a SYN-ACK (tcp_timewait_state_process, tcp_send_challenge_ack)")
	f.Recommendation = "The client side reuses ports faster than the server forgets them: a NAT or load balancer allocating source ports round-robin, or clients binding fixed ports. Check the NAT's port allocation and timeouts; with TCP timestamps on both ends, a SYN with a newer timestamp is accepted by a TIME_WAIT socket, so keep net.ipv4.tcp_timestamps=1."
	return f
}

// reSYN returns how long after its RST to the server's first bare ACK the
// client sent its SYN again (after the ACK, where its RST was not captured).
func reSYN(a *Attempt) (int64, bool) {
	if len(a.AckAnswers) == 0 {
		return 0, false
	}
	t := a.AckAnswers[0].Time
	for _, r := range a.Resets {
		if !r.FromServer && r.Time >= t {
			t = r.Time
			break
		}
	}
	for _, s := range a.SYNs {
		if s.Time > t {
			return s.Time - t, true
		}
	}
	return 0, false
}

// retransmissionDelay: connections that succeeded only after SYN
// retransmissions: the 1, 3, 7 s hangs users feel.
func (v *view) retransmissionDelay() *Finding {
	var idx []int
	answered := 0
	extra := map[int]int{}
	for _, i := range v.attempts {
		a := v.at(i)
		if a.ConnectTime < 0 {
			continue
		}
		answered++
		// A re-SYN after a bare ACK costs milliseconds; stale_timewait
		// says so. Only timer retransmissions delay a connect.
		if n := a.Retransmissions() - a.ReSYNs; n > 0 {
			idx = append(idx, i)
			extra[n]++
		}
	}
	if len(idx) == 0 {
		return nil
	}
	// A connection or two slowed down is what any network does now and
	// then; a warning needs a few, and a share that users notice.
	sev := Info
	if len(idx) >= 3 && float64(len(idx)) >= 0.01*float64(answered) {
		sev = Warning
	}
	f := &Finding{Kind: KindSYNRetransmitDelay, Severity: sev, Confidence: 1, attempts: idx}
	worst := v.at(idx[0])
	for _, i := range idx {
		if v.at(i).ConnectTime > worst.ConnectTime {
			worst = v.at(i)
		}
	}
	f.Summary = fmt.Sprintf("%s of %d (%s) connected only after SYN retransmissions, up to %.1f s late", wording.Plural(len(idx), "connection"), answered, wording.PercentFine(len(idx), answered), worst.ConnectTime)
	for _, n := range sortedKeys(extra, cmp.Compare[int]) {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s needed %s", wording.Plural(extra[n], "connection"), wording.Plural(n, "retransmission")))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("slowest: %s → %s at %s, SYNs at %s s, connected after %.3f s (%s)", worst.Client, worst.Server, wording.Clock(worst.FirstSYN()), worst.SYNOffsets(), worst.ConnectTime, worst.Schedule))
	f.Recommendation = "Each lost SYN costs the client its retransmission timeout (1 s, then 2, 4, … on Linux). The findings above say where the SYNs were lost; if none does, they were lost on the path: compare with a capture on the other side."
	return f
}

// silentDrop: SYNs that reached the capture and got no answer, that no
// model explains.
func (v *view) silentDrop(claimed map[int]bool) *Finding {
	var idx []int
	syns := 0
	bySource := map[netip.Addr]int{}
	for _, i := range v.attempts {
		a := v.at(i)
		if claimed[i] {
			continue
		}
		// A lost SYN counts when its client felt the loss: it
		// retransmitted, or the capture ran on past its give-up. A single
		// SYN of a capture that stopped too soon proves nothing.
		if n := countLost(a, v.c.Last); n > 0 && (a.Outcome == Unanswered || a.Retransmissions() > 0) {
			idx = append(idx, i)
			syns += n
			bySource[a.Client.Addr()]++
		}
	}
	if len(idx) == 0 {
		return nil
	}
	// Sources that were answered at other times.
	answeredSources := map[netip.Addr]bool{}
	for _, i := range v.attempts {
		a := v.at(i)
		if a.Outcome == Established {
			answeredSources[a.Client.Addr()] = true
		}
	}
	var neverAnswered []string
	for _, ip := range sortedKeys(bySource, netip.Addr.Compare) {
		if !answeredSources[ip] {
			neverAnswered = append(neverAnswered, ip.String())
		}
	}
	f := &Finding{Kind: KindServerSilentDrop, Severity: Critical, attempts: idx}
	a := v.at(idx[0])
	var gaveUp, trying, other int
	for _, i := range idx {
		switch v.at(i).Outcome {
		case Unanswered:
			gaveUp++
		case Incomplete:
			trying++
		default:
			other++
		}
	}
	if gaveUp+trying == 0 {
		f.Severity = Warning
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("%s of %s got no answer: %s", wording.Plural(syns, "SYN transmission"), wording.Plural(len(idx), "attempt"), attemptFates(gaveUp, trying, other)))
	if len(neverAnswered) > 0 && len(neverAnswered) < len(answeredSources)+len(neverAnswered) && len(answeredSources) > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("never answered: %s, while %s connected: a rule that matches the former", strings.Join(firstN(neverAnswered, 5), ", "), wording.Plural(len(answeredSources), "other source")))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("e.g. %s → %s at %s: SYNs at %s s, nothing came back (%s)", a.Client, a.Server, wording.Clock(a.FirstSYN()), a.SYNOffsets(), a.Schedule))
	if s := a.Schedule; s.GaveUp && len(s.SynRetries) > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the client gave up after %s: a Linux client with net.ipv4.tcp_syn_retries=%s does that", wording.Plural(len(a.SYNs), "SYN"), wording.Or(s.SynRetries)))
	}
	f.Evidence = append(f.Evidence, "no per-host PAWS, accept-queue or SYN-queue pattern explains these SYNs")
	servers := map[netip.Addr]bool{}
	for _, i := range idx {
		servers[v.at(i).Server.Addr()] = true
	}
	switch {
	case len(servers) >= 5:
		// Many servers that do not answer: a client's (or a gateway's)
		// view of peers that are down or filtered, not one server dropping.
		f.Severity, f.Confidence = Warning, 0.6
		f.Summary = fmt.Sprintf("%s to %d different server addresses got no answer", wording.Plural(syns, "SYN"), len(servers))
		f.Recommendation = "So many servers not answering is the client's side of the story: peers that are offline, filtered, or unreachable from this network (check the client's route and egress firewall). If these are your servers, capture on one of them to see whether the SYNs arrive."
	case loopback(v, idx):
		f.Confidence = 0.6
		f.Summary = fmt.Sprintf("%s on the loopback interface got no answer: the host's own stack or firewall dropped them", wording.Plural(syns, "SYN"))
		f.Evidence = append(f.Evidence, "client and server are the same host: no network lies between them, so the SYNs died in that host's kernel")
		f.Recommendation = "On one host, a burst of connections overflowing the listener's backlog is the usual cause: check `nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop` and `ss -lnt` (Recv-Q against Send-Q), and raise the application's listen() backlog and net.core.somaxconn; otherwise a firewall rule on lo (`iptables -L -v -n`, `nft list ruleset`)."
	case v.c.Role == RoleServer:
		f.Confidence = 0.8
		f.Summary = fmt.Sprintf("%s reached the server's capture point and got no answer: dropped silently after it", wording.Plural(syns, "SYN"))
		f.Recommendation = "Something on the server drops these SYNs after tcpdump saw them: a firewall DROP rule (`iptables -L -v -n`, `nft list ruleset`: watch which counter grows), a full conntrack table (`dmesg | grep conntrack`, `conntrack -S`), reverse-path filtering (net.ipv4.conf.*.rp_filter with asymmetric routes), or a listener bound elsewhere behind a DROP policy. `netstat -s` shows whether the TCP stack itself dropped them (\"SYNs to LISTEN sockets dropped\")."
	case v.c.Role == RoleClient:
		f.Confidence = 0.5
		f.Summary = fmt.Sprintf("%s left the client and nothing came back", wording.Plural(syns, "SYN"))
		f.Recommendation = "From the client's side alone, the SYN may have been lost on the way, dropped at the server, or its SYN-ACK lost on the way back. Take a capture on the server at the same time and run `syndiag analyze --client CLIENT.pcap --server SERVER.pcap`."
	default:
		f.Confidence = 0.6
		f.Summary = fmt.Sprintf("%s got no answer", wording.Plural(syns, "SYN"))
		f.Recommendation = "If this capture was taken on the server, something there drops the SYNs after tcpdump: a firewall DROP rule (`iptables -L -v -n`, `nft list ruleset`), a full conntrack table (`conntrack -S`), rp_filter. If it was taken elsewhere, they may have been lost on the path: capture on both sides."
	}
	return f
}

// loopback reports whether every attempt runs between a host and itself.
func loopback(v *view, idx []int) bool {
	for _, i := range idx {
		a := v.at(i)
		if !a.Client.Addr().IsLoopback() && a.Client.Addr() != a.Server.Addr() {
			return false
		}
	}
	return len(idx) > 0
}

// attemptFates says what became of attempts whose SYNs were lost: how many
// failed (the client gave up), were still retransmitting when the capture
// stopped, or got through after retransmitting.
func attemptFates(gaveUp, trying, connected int) string {
	var parts []string
	if gaveUp > 0 {
		parts = append(parts, fmt.Sprintf("%d failed (the client gave up)", gaveUp))
	}
	if trying > 0 {
		parts = append(parts, fmt.Sprintf("%d still retransmitting when the capture stopped", trying))
	}
	if connected > 0 {
		parts = append(parts, fmt.Sprintf("%d answered after retransmitting", connected))
	}
	return strings.Join(parts, ", ")
}

// SYNOffsets lists when the attempt's SYNs were sent, in seconds after the
// first: "+0, 1.0, 3.0", cut after a dozen.
func (a *Attempt) SYNOffsets() string {
	var b strings.Builder
	b.WriteString("+0")
	for i, s := range a.SYNs[1:] {
		if i == 10 {
			fmt.Fprintf(&b, " … (%d more)", len(a.SYNs)-12)
			break
		}
		fmt.Fprintf(&b, ", %.1f", float64(s.Time-a.SYNs[0].Time)/1e9)
	}
	return b.String()
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// sortedKeys returns a map's keys in the order of compare, for
// deterministic output.
func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}
