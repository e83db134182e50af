package flows

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A Filter is a compiled pcap-filter expression (the language of tcpdump
// and pcap-filter(7)), restricted to the primitives a handshake study needs:
// host, net (CIDR or net A mask M), port, portrange, the src and dst
// qualifiers, the protocol words ip, ip6, tcp, udp, icmp and icmp6, and/or/not
// (also &&, ||, !) with parentheses.
//
// Unlike a BPF program, it is evaluated on what Decoder found, so the same
// expression selects the same packets through VLAN tags, Linux cooked
// headers, tunnels and pcapng files with several link types. The header it
// tests is the one syndiag studies: the innermost TCP segment of a
// tunnelled packet (tcpdump tests the outer one), and for an ICMP error
// both the error's own header and the TCP segment it quotes (see Match).
type Filter struct {
	root node
	// carrierOnly makes an ICMP error match on its own header only, as
	// tcpdump does; the cross-check against tcpdump sets it.
	carrierOnly bool
	text        string
}

// FilterError is a bad filter expression: Offset is the byte offset in the
// expression of the word (Word) where parsing failed.
type FilterError struct {
	Offset int
	Word   string // "" at the end of the expression
	Msg    string
}

func (e *FilterError) Error() string {
	if e.Word == "" {
		return fmt.Sprintf("flows: bad filter at offset %d (end of expression): %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("flows: bad filter at offset %d (%q): %s", e.Offset, e.Word, e.Msg)
}

// String returns the expression the filter was compiled from.
func (f *Filter) String() string { return f.text }

// nodeKind names what a node of the expression tree tests.
type nodeKind uint8

const (
	nodeAnd nodeKind = iota
	nodeOr
	nodeNot
	nodeProto // proto in p
	nodeHost  // address equal to prefix (a full-length prefix)
	nodeNet   // address in prefix
	nodePort  // port between lo and hi
)

// dir is the src/dst qualifier of a primitive.
type dir uint8

const (
	dirAny dir = iota // src or dst
	dirSrc
	dirDst
	dirBoth // src and dst
)

// Protocol selectors of nodeProto and of qualified primitives ("tcp port").
const (
	protoAny  uint8 = iota
	protoIP         // IPv4
	protoIP6        // IPv6
	protoTCP        // TCP
	protoUDP        // UDP
	protoICMP       // ICMP
	protoICMP6
)

// node is one node of the expression tree; a tree of values, not pointers
// to interfaces, so that Match allocates nothing.
type node struct {
	kind   nodeKind
	dir    dir
	proto  uint8 // of nodeProto, or the protocol qualifier of host/net/port
	prefix netip.Prefix
	lo, hi uint16
	kids   []node
}

// ParseFilter compiles a pcap-filter expression. An empty expression (only
// blanks) selects every packet and returns a nil Filter, whose Match is
// true. A bad expression returns a *FilterError.
func ParseFilter(expr string) (*Filter, error) {
	p := &filterParser{src: expr}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, nil
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errf("unexpected word (expected and, or, or the end)")
	}
	return &Filter{root: n, text: expr}, nil
}

type token struct {
	s        string // the word, lower-cased ("!" is "not", "&&" "and")
	off, end int    // where it stands in the expression
}

type filterParser struct {
	src   string
	toks  []token
	i     int
	depth int // of nested parentheses and nots
}

func (p *filterParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, token{s[i : i+1], i, i + 1})
			i++
		case c == '!':
			p.toks = append(p.toks, token{"not", i, i + 1})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return &FilterError{Offset: i, Word: s[i : i+1], Msg: "expected " + string([]byte{c, c})}
			}
			w := "and"
			if c == '|' {
				w = "or"
			}
			p.toks = append(p.toks, token{w, i, i + 2})
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!&|", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{strings.ToLower(s[i:j]), i, j})
			i = j
		}
	}
	return nil
}

func (p *filterParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].s
	}
	return ""
}

// errf returns a FilterError at the current word.
func (p *filterParser) errf(format string, a ...any) error {
	if p.i >= len(p.toks) {
		return &FilterError{Offset: len(p.src), Msg: fmt.Sprintf(format, a...)}
	}
	t := p.toks[p.i]
	return &FilterError{Offset: t.off, Word: p.src[t.off:t.end], Msg: fmt.Sprintf(format, a...)}
}

func (p *filterParser) or() (node, error) {
	return p.binary("or", nodeOr, p.and)
}

func (p *filterParser) and() (node, error) {
	return p.binary("and", nodeAnd, p.unary)
}

func (p *filterParser) binary(word string, kind nodeKind, next func() (node, error)) (node, error) {
	n, err := next()
	if err != nil {
		return n, err
	}
	if p.peek() != word {
		return n, nil
	}
	out := node{kind: kind, kids: []node{n}}
	for p.peek() == word {
		p.i++
		m, err := next()
		if err != nil {
			return m, err
		}
		out.kids = append(out.kids, m)
	}
	return out, nil
}

// maxDepth bounds nested parentheses and nots, so a hostile expression
// cannot exhaust the stack.
const maxDepth = 100

func (p *filterParser) unary() (node, error) {
	switch p.peek() {
	case "not", "(":
		if p.depth >= maxDepth {
			return node{}, p.errf("nested too deeply")
		}
		p.depth++
		defer func() { p.depth-- }()
	}
	switch p.peek() {
	case "not":
		p.i++
		n, err := p.unary()
		if err != nil {
			return n, err
		}
		return node{kind: nodeNot, kids: []node{n}}, nil
	case "(":
		open := p.i
		p.i++
		n, err := p.or()
		if err != nil {
			return n, err
		}
		if p.peek() != ")" {
			if p.i >= len(p.toks) {
				p.i = open
				return n, p.errf("unclosed parenthesis")
			}
			return n, p.errf("expected )")
		}
		p.i++
		return n, nil
	}
	return p.primitive()
}

var protoWords = map[string]uint8{
	"ip": protoIP, "ip6": protoIP6, "tcp": protoTCP, "udp": protoUDP,
	"icmp": protoICMP, "icmp6": protoICMP6,
}

// primitive parses [proto] [dir] (host|net|port|portrange) VALUE, a bare
// protocol word, or a bare address (an implicit host).
func (p *filterParser) primitive() (node, error) {
	var n node
	w := p.peek()
	if w == "" {
		return n, p.errf("expression ends early (expected a primitive)")
	}
	if pr, ok := protoWords[w]; ok {
		p.i++
		n.proto = pr
		switch p.peek() {
		case "src", "dst", "host", "net", "port", "portrange":
		default:
			n.kind = nodeProto
			return n, nil
		}
	}
	switch p.peek() {
	case "src", "dst":
		first := p.peek()
		n.dir = dirSrc
		if first == "dst" {
			n.dir = dirDst
		}
		p.i++
		if w := p.peek(); w == "or" || w == "and" {
			// "src or dst" and "src and dst": only when the other
			// direction word follows, or "or" would be the operator.
			if p.i+1 < len(p.toks) && (p.toks[p.i+1].s == "src" || p.toks[p.i+1].s == "dst") && p.toks[p.i+1].s != first {
				n.dir = dirAny
				if w == "and" {
					n.dir = dirBoth
				}
				p.i += 2
			}
		}
	}
	kw, kwAt := p.peek(), p.i
	switch kw {
	case "host", "net", "port", "portrange":
		p.i++
	default:
		if n.dir == dirAny && n.proto == protoAny {
			// A bare value: an address is an implicit host.
			if a, err := netip.ParseAddr(kw); err == nil {
				p.i++
				n.kind, n.prefix = nodeHost, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				return n, nil
			}
			return n, p.errf("unknown word (expected host, net, port, portrange, src, dst, a protocol, not or ()")
		}
		if kw == "" {
			return n, p.errf("expression ends early (expected host, net, port or portrange)")
		}
		// "src 10.0.0.1" as tcpdump takes it: an implicit host.
		if a, err := netip.ParseAddr(kw); err == nil {
			p.i++
			n.kind, n.prefix = nodeHost, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			return n, nil
		}
		return n, p.errf("expected host, net, port or portrange")
	}
	val := p.peek()
	if val == "" {
		return n, p.errf("expression ends early (expected the value of %s)", kw)
	}
	switch kw {
	case "host":
		a, err := netip.ParseAddr(val)
		if err != nil || a.Zone() != "" {
			return n, p.errf("not an IP address (host names are not resolved)")
		}
		a = a.Unmap()
		n.kind, n.prefix = nodeHost, netip.PrefixFrom(a, a.BitLen())
	case "net":
		pf, err := p.net(val)
		if err != nil {
			return n, err
		}
		n.kind, n.prefix = nodeNet, pf
	case "port":
		v, err := strconv.ParseUint(val, 10, 16)
		if err != nil {
			return n, p.errf("not a port number (0-65535; service names are not resolved)")
		}
		n.kind, n.lo, n.hi = nodePort, uint16(v), uint16(v)
	case "portrange":
		lo, hi, ok := strings.Cut(val, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return n, p.errf("not a port range (LOW-HIGH)")
		}
		if a > b {
			a, b = b, a // as pcap-filter does
		}
		n.kind, n.lo, n.hi = nodePort, uint16(a), uint16(b)
	}
	if n.kind != nodePort && n.proto != protoAny && n.proto != protoIP && n.proto != protoIP6 {
		p.i = kwAt
		return n, p.errf("%s takes no tcp, udp or icmp qualifier (only ip or ip6)", kw)
	}
	if n.kind == nodePort && n.proto != protoAny && n.proto != protoTCP && n.proto != protoUDP {
		p.i = kwAt
		return n, p.errf("%s takes only a tcp or udp qualifier", kw)
	}
	p.i++
	return n, nil
}

// net parses the value of net: A/LEN, a partial address (10.1 as 10.1/16,
// as pcap-filter reads it), or A followed by "mask M".
func (p *filterParser) net(val string) (netip.Prefix, error) {
	if strings.Contains(val, "/") {
		pf, err := netip.ParsePrefix(val)
		if err != nil {
			return pf, p.errf("not a network (A/LEN)")
		}
		if pf.Masked() != pf {
			return pf, p.errf("non-network bits set in %s", val)
		}
		if pf.Addr().Is4In6() {
			return pf, p.errf("not a network (A/LEN)")
		}
		return pf, nil
	}
	a, err := netip.ParseAddr(val)
	bits := -1
	if err != nil {
		// A dotted IPv4 network of 1 to 3 parts: 10, 10.1, 10.1.2.
		parts := strings.Split(val, ".")
		if len(parts) > 3 {
			return netip.Prefix{}, p.errf("not a network")
		}
		var b [4]byte
		for i, s := range parts {
			v, err := strconv.ParseUint(s, 10, 8)
			if err != nil {
				return netip.Prefix{}, p.errf("not a network")
			}
			b[i] = byte(v)
		}
		a, bits = netip.AddrFrom4(b), 8*len(parts)
	}
	a = a.Unmap()
	if p.i+2 < len(p.toks) && p.toks[p.i+1].s == "mask" {
		p.i += 2
		m, err := netip.ParseAddr(p.toks[p.i].s)
		if err != nil || !m.Is4() || !a.Is4() {
			return netip.Prefix{}, p.errf("not an IPv4 mask")
		}
		mb := m.As4()
		v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
		ones := 0
		for v&0x80000000 != 0 {
			ones, v = ones+1, v<<1
		}
		if v != 0 {
			return netip.Prefix{}, p.errf("mask is not contiguous")
		}
		pf := netip.PrefixFrom(a, ones)
		if pf.Masked() != pf {
			return pf, p.errf("non-network bits set in %s mask %s", a, m)
		}
		return pf, nil
	}
	if bits == -1 {
		bits = a.BitLen()
	}
	return netip.PrefixFrom(a, bits), nil
}
