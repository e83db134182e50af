package analyze

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// scanPorts is how many distinct ports of one server a source must try to
// look like a port scanner rather than a client of a service.
const scanPorts = 20

// scanners returns the client addresses that tried at least scanPorts
// distinct ports of one server address: a port scan (nmap -sS and the like),
// whose unanswered and refused SYNs are the scan finding closed and
// filtered ports, not a service failing its clients.
func (v *view) scanners() map[netip.Addr]int {
	type pair struct{ client, server netip.Addr }
	ports := map[pair]map[uint16]bool{}
	for _, i := range v.attempts {
		a := v.at(i)
		k := pair{a.Client.Addr(), a.Server.Addr()}
		if ports[k] == nil {
			ports[k] = map[uint16]bool{}
		}
		ports[k][a.Server.Port()] = true
	}
	out := map[netip.Addr]int{}
	for k, ps := range ports {
		if len(ps) >= scanPorts {
			out[k.client] = max(out[k.client], len(ps))
		}
	}
	return out
}

// portScan reports, for information, the sources that scanned ports, and
// claims their attempts, so that their closed and filtered ports are not
// taken for a failing service.
func (v *view) portScan() *Finding {
	scan := v.scanners()
	if len(scan) == 0 {
		return nil
	}
	f := &Finding{Kind: KindPortScan, Severity: Info, Confidence: 0.9}
	var unanswered, refused, single, all int
	for _, i := range v.attempts {
		a := v.at(i)
		if _, ok := scan[a.Client.Addr()]; !ok {
			continue
		}
		all++
		if len(a.SYNs) == 1 {
			single++
		}
		switch a.Outcome {
		case Unanswered:
			unanswered++
			f.attempts = append(f.attempts, i)
		case Refused, ICMPUnreachable:
			refused++
			f.attempts = append(f.attempts, i)
		}
	}
	if len(f.attempts) == 0 {
		return nil
	}
	var who []string
	for _, ip := range sortedKeys(scan, netip.Addr.Compare) {
		who = append(who, fmt.Sprintf("%s (%d ports)", ip, scan[ip]))
	}
	f.Summary = fmt.Sprintf("a port scan from %s: its %d unanswered and %d refused SYNs are closed and filtered ports, not a failing service", strings.Join(firstN(who, 3), ", "), unanswered, refused)
	f.Evidence = append(f.Evidence, fmt.Sprintf("each of these sources tried %d or more ports of one server; %s of their %d attempts sent a single SYN: what a scanner does, not a client", scanPorts, wording.PercentFine(single, all), all))
	f.Recommendation = "Nothing to fix for the clients of the service. If the scan is unexpected, find its source; the ports that answered with a SYN-ACK are the ones it found open."
	return f
}
