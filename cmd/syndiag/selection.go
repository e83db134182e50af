package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/flows"
)

// selection holds the flags that choose which packets and attempts of a
// capture are studied, and compiles them into a flows.Config.
type selection struct {
	filter, since, until, listener string
}

// selectionFlags defines the selection flags on fs.
func selectionFlags(fs *pflag.FlagSet, s *selection) {
	fs.StringVarP(&s.filter, "filter", "Y", "", "study only the packets a pcap-filter expression selects (tcpdump's language: host, net, port, portrange, src/dst, ip/ip6/tcp/udp/icmp/icmp6, and/or/not, parentheses), tested after decoding, so through VLAN tags, tunnels and cooked headers; may also follow the files")
	fs.StringVar(&s.since, "since", "", "study only the packets from this time on: RFC 3339 (2026-01-02T15:04:05Z) or an offset from the capture start (+30s, 90s, 2m)")
	fs.StringVar(&s.until, "until", "", "study only the packets before this time: RFC 3339 or an offset from the capture start")
	fs.StringVar(&s.listener, "listener", "", "keep only the attempts to this server address, ADDR or ADDR:PORT ([ADDR]:PORT for IPv6)")
}

// filterWords are the words that start a filter expression given after the
// files, as tcpdump takes it. A capture file named like one must be given
// as ./NAME.
var filterWords = map[string]bool{
	"host": true, "net": true, "port": true, "portrange": true, "src": true, "dst": true,
	"ip": true, "ip6": true, "tcp": true, "udp": true, "icmp": true, "icmp6": true, "not": true,
}

// startsFilter reports whether a command-line argument starts a filter
// expression: its first word is a filter word, or it starts with ( or !.
func startsFilter(arg string) bool {
	if strings.HasPrefix(arg, "(") || strings.HasPrefix(arg, "!") {
		return true
	}
	w, _, _ := strings.Cut(strings.TrimLeft(arg, " \t"), " ")
	return filterWords[strings.ToLower(w)]
}

// compile splits the filter expression off the end of args, compiles the
// selection into cfg and returns the files.
func (s *selection) compile(args []string, cfg *flows.Config) ([]string, error) {
	files := args
	for i, a := range args {
		if startsFilter(a) {
			if s.filter != "" {
				return nil, fmt.Errorf("a filter is given twice, with --filter and after the files (%q): give it once", strings.Join(args[i:], " "))
			}
			files, s.filter = args[:i], strings.Join(args[i:], " ")
			break
		}
	}
	f, err := flows.ParseFilter(s.filter)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", s.filter, err)
	}
	cfg.Filter = f
	for _, b := range []struct {
		name, val string
		to        *flows.Instant
	}{{"--since", s.since, &cfg.Since}, {"--until", s.until, &cfg.Until}} {
		if b.val == "" {
			continue
		}
		if *b.to, err = flows.ParseInstant(b.val); err != nil {
			return nil, fmt.Errorf("%s %s: %w", b.name, b.val, err)
		}
	}
	if s.listener != "" {
		if cfg.Listener, err = flows.ParseListener(s.listener); err != nil {
			return nil, fmt.Errorf("--listener: %w", err)
		}
	}
	return files, nil
}
