package analyze

// What a firewall rule matches, read from its text as iptables -L,
// iptables-save and nft print it: the protocol, the destination ports, the
// source and destination addresses and the input interface. The fusion
// needs only enough of it to tell which of a capture's SYNs a rule could
// have counted; a rule with a negation or a match it cannot read is taken
// to match more, never less.

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/flows/evidence"
)

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi uint16 }

// ruleMatch is what a rule matches; empty fields match anything.
type ruleMatch struct {
	proto      string // "tcp", or another protocol the SYNs are not ("udp")
	ports      []portRange
	srcs, dsts []netip.Prefix
	iface      string // the input interface, "lo"
	negated    bool   // a "!" or "!=": the criteria are not read
}

// namesPort reports whether the rule names destination ports.
func (m ruleMatch) namesPort() bool { return len(m.ports) > 0 }

// namesAddr reports whether the rule names addresses.
func (m ruleMatch) namesAddr() bool { return len(m.srcs)+len(m.dsts) > 0 }

// matches reports whether the rule can match a TCP SYN from client to
// server.
func (m ruleMatch) matches(client, server netip.AddrPort) bool {
	if m.negated {
		return true
	}
	if m.proto != "" && m.proto != "tcp" {
		return false
	}
	if m.iface == "lo" && !client.Addr().IsLoopback() && client.Addr() != server.Addr() {
		return false
	}
	if len(m.ports) > 0 {
		in := false
		for _, r := range m.ports {
			in = in || server.Port() >= r.lo && server.Port() <= r.hi
		}
		if !in {
			return false
		}
	}
	return inPrefixes(m.srcs, client.Addr()) && inPrefixes(m.dsts, server.Addr())
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// matchOf reads a rule's match in the format it was listed in.
func matchOf(r evidence.FirewallRule) ruleMatch {
	f := strings.Fields(r.Rule)
	var m ruleMatch
	switch r.Format {
	case evidence.FirewallList:
		m = listMatch(f)
	case evidence.FirewallSave:
		m = saveMatch(f)
	case evidence.FirewallNft:
		m = nftMatch(f)
	}
	for _, t := range f {
		if strings.HasPrefix(t, "!") {
			m.negated = true
		}
	}
	return m
}

// listMatch reads iptables -L -n's columns: [target] prot [opt] in out
// source destination, then the matches ("tcp dpt:8081", "tcp
// dpts:8090:8092", "multiport dports 80,443").
func listMatch(f []string) ruleMatch {
	var m ruleMatch
	src := listSource(f)
	if src < 0 {
		return m
	}
	m.iface = strings.Trim(f[src-2], "*")
	for _, t := range f[:src-2] {
		switch t {
		case "6", "tcp":
			m.proto = "tcp"
		case "17", "udp", "1", "icmp", "58", "ipv6-icmp", "132", "sctp":
			m.proto = t
		}
	}
	m.srcs, m.dsts = addPrefix(nil, f[src]), addPrefix(nil, f[src+1])
	for i, t := range f[src+2:] {
		switch {
		case strings.HasPrefix(t, "dpt:"):
			m.ports = addPorts(m.ports, t[4:], ":")
		case strings.HasPrefix(t, "dpts:"):
			m.ports = addPorts(m.ports, t[5:], ":")
		case t == "dports" && src+3+i < len(f):
			m.ports = addPorts(m.ports, f[src+3+i], ":")
		}
	}
	return m
}

// listSource finds the source column of iptables -L -n: the first of two
// addresses in a row after the target and the protocol; -1 when there is
// none.
func listSource(f []string) int {
	for i := 2; i+1 < len(f); i++ {
		if isPrefix(f[i]) && isPrefix(f[i+1]) {
			return i
		}
	}
	return -1
}

// saveMatch reads iptables-save's options: -p, -s, -d, -i, --dport,
// --dports.
func saveMatch(f []string) ruleMatch {
	var m ruleMatch
	for i := 0; i+1 < len(f); i++ {
		v := f[i+1]
		switch f[i] {
		case "-p", "--protocol":
			m.proto = map[string]string{"6": "tcp"}[v]
			if m.proto == "" {
				m.proto = v
			}
		case "-s", "--source":
			m.srcs = addPrefix(m.srcs, v)
		case "-d", "--destination":
			m.dsts = addPrefix(m.dsts, v)
		case "-i", "--in-interface":
			m.iface = v
		case "--dport", "--destination-port", "--dports", "--destination-ports":
			m.ports = addPorts(m.ports, v, ":")
		}
	}
	return m
}

// nftMatch reads nft's expressions: "tcp dport 8081", "tcp dport
// 8090-8092", "tcp dport { 80, 443 }", "ip saddr 198.18.0.0/15", "iifname
// "lo"", "meta l4proto udp", "udp dport 53".
func nftMatch(f []string) ruleMatch {
	var m ruleMatch
	for i := 0; i+1 < len(f); i++ {
		v := f[i+1]
		switch {
		case (f[i] == "tcp" || f[i] == "th") && v == "dport" && i+2 < len(f):
			m.ports = addPorts(m.ports, nftSet(f[i+2:]), "-")
		case f[i] == "udp" || f[i] == "sctp" || f[i] == "icmp":
			m.proto = f[i]
		case f[i] == "l4proto" || f[i] == "protocol" || f[i] == "nexthdr":
			m.proto = v
		case f[i] == "saddr" && i > 0 && (f[i-1] == "ip" || f[i-1] == "ip6"):
			m.srcs = addPrefix(m.srcs, nftSet(f[i+1:]))
		case f[i] == "daddr" && i > 0 && (f[i-1] == "ip" || f[i-1] == "ip6"):
			m.dsts = addPrefix(m.dsts, nftSet(f[i+1:]))
		case f[i] == "iifname" || f[i] == "iif":
			m.iface = strings.Trim(v, `"`)
		}
	}
	if len(m.ports) > 0 && m.proto == "" {
		m.proto = "tcp"
	}
	return m
}

// nftSet joins an anonymous set "{ 80, 443 }" into "80,443"; a single
// value is returned as it is.
func nftSet(f []string) string {
	if len(f) == 0 || f[0] != "{" {
		if len(f) == 0 {
			return ""
		}
		return f[0]
	}
	var vals []string
	for _, t := range f[1:] {
		if t == "}" {
			break
		}
		vals = append(vals, strings.TrimSuffix(t, ","))
	}
	return strings.Join(vals, ",")
}

// addPorts adds "8081", "8090:8092" (or "8090-8092" with sep "-") and
// lists of them separated by commas.
func addPorts(out []portRange, s, sep string) []portRange {
	for _, p := range strings.Split(s, ",") {
		lo, hi, rng := strings.Cut(p, sep)
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := a, error(nil)
		if rng {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 == nil && err2 == nil && a <= b {
			out = append(out, portRange{uint16(a), uint16(b)})
		}
	}
	return out
}

// addPrefix adds the addresses of "198.18.0.0/15", "198.18.180.3",
// "a,b"; "0.0.0.0/0" and "::/0" match anything and add nothing.
func addPrefix(out []netip.Prefix, s string) []netip.Prefix {
	for _, a := range strings.Split(s, ",") {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		if p.Bits() > 0 {
			out = append(out, p)
		}
	}
	return out
}

// isPrefix reports an address column of iptables -L -n.
func isPrefix(s string) bool {
	s = strings.TrimPrefix(s, "!")
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}
