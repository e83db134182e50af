package analyze

import (
	"fmt"
	"slices"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows"
)

// halfOpen: handshakes whose SYN-ACK the client never acknowledged, that no
// queue model claimed. What it means depends on where the capture was taken
// and on what the client did after the SYN-ACK went out. A client that
// never got the SYN-ACK retransmits its SYN on its own timer, and the server
// answers each with another SYN-ACK (tcp_check_req → inet_rtx_syn_ack): the
// SYN-ACKs are lost on the way back. A client that got it acknowledges at
// once; one that does neither sent one SYN and went away (a scanner, a
// spoofed source, a crafted packet) or the capture missed its packets. At
// the client itself, a SYN-ACK that arrived and was not acknowledged was
// thrown away by the client's own stack.
func (v *view) halfOpen(claimed map[int]bool) *Finding {
	var idx []int
	waited := 0
	half := 0
	for _, i := range v.attempts {
		a := v.at(i)
		if claimed[i] {
			continue
		}
		// A client that retransmitted its SYN after a SYN-ACK had gone
		// out did not get that SYN-ACK, even if a later one got through.
		late := retransmittedAfterSYNACK(a)
		if a.Outcome != HalfOpen && !late {
			continue
		}
		idx = append(idx, i)
		if late {
			waited++
		}
		if a.Outcome == HalfOpen {
			half++
		}
	}
	if len(idx) == 0 {
		return nil
	}
	f := &Finding{Kind: KindSYNACKUnacknowledged, Severity: Warning, Confidence: 0.6, attempts: idx}
	a := v.at(idx[0])
	for _, i := range idx {
		if retransmittedAfterSYNACK(v.at(i)) {
			a = v.at(i)
			break
		}
	}
	if half > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s never completed: the server sent a SYN-ACK and no ACK came back", wording.Plural(half, "handshake")))
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("e.g. %s → %s at %s: SYNs at %s s, SYN-ACKs at %s", a.Client, a.Server, wording.Clock(a.FirstSYN()), a.SYNOffsets(), synackOffsets(a)))
	switch {
	case v.c.Role == RoleClient:
		f.Confidence = 0.4
		f.Summary = fmt.Sprintf("%s: a SYN-ACK reached the client, which did not acknowledge it", wording.Plural(len(idx), "handshake"))
		f.Evidence = append(f.Evidence, "at the client, a SYN-ACK that arrives and is not acknowledged — the client sent its SYN again, or nothing — was discarded by the client's own stack (a bad checksum, an acknowledgment number or timestamp it rejects) or belongs to a socket already gone; or the capture missed the ACKs")
		f.Recommendation = "Check the client's counters (`nstat -az TcpExtPAWSActive TcpInCsumErrors TcpExtTCPACKSkippedSynRecv`) and whether something on the client side rewrites the SYN-ACK; a capture at the server shows what it sent."
	case waited > 0:
		f.Summary = fmt.Sprintf("%s: the server's SYN-ACK did not reach the client, which retransmitted its SYN", wording.Plural(waited, "handshake"))
		f.Evidence = append(f.Evidence, fmt.Sprintf("in %s the client sent its SYN again after the server's SYN-ACK had gone out: it had not received it, so the SYN-ACK was lost (or delayed past the client's timeout) on the way back; the server answered the retransmitted SYN with another SYN-ACK (tcp_check_req → inet_rtx_syn_ack)", wording.Plural(waited, "attempt")))
		f.Recommendation = "Something between the server and the clients drops SYN-ACKs: asymmetric routing, a stateful firewall or NAT that did not see the SYN, a lossy link. Capture at a client at the same time and run `syndiag analyze --client CLIENT.pcap --server SERVER.pcap` to see where."
	default:
		f.Confidence = 0.4
		f.Summary = fmt.Sprintf("%s left half-open: the server's SYN-ACK was never acknowledged, and the client sent no other SYN", wording.Plural(len(idx), "handshake"))
		f.Evidence = append(f.Evidence, "a client that does not get the SYN-ACK retransmits its SYN, and one that does acknowledges it at once; these did neither: a scanner, a spoofed or crafted SYN, a client that gave up within its first timeout, or a capture that missed packets")
		f.Recommendation = "Nothing points at the server. If the sources are real clients, capture at one of them; if they are many one-SYN sources, see whether a SYN flood is going on (`nstat -az TcpExtTCPReqQFullDoCookies TcpExtListenDrops`)."
	}
	slices.Sort(f.attempts)
	return f
}

// retransmittedAfterSYNACK reports whether the client sent its SYN again
// after the server's first SYN-ACK: it had not received it.
func retransmittedAfterSYNACK(a *Attempt) bool {
	if len(a.SYNACKs) == 0 {
		return false
	}
	return slices.ContainsFunc(a.SYNs, func(s flows.Transmission) bool { return s.Time > a.SYNACKs[0].Time })
}
