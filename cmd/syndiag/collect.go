package main

import (
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

const collectUsage = `syndiag collect prints a shell script that collects, on the server and on a
client at the same time, everything syndiag reads: a capture that keeps every
handshake with its TCP options and the closes around it, the kernel's counters
before and after (nstat, or /proc/net/netstat and /proc/net/snmp), the settings
(sysctl), the listeners' queues sampled during the capture (ss -lnt), the
kernel version (uname -r), the firewall's counters before and after (iptables
and ip6tables -L -v -n -x, nft list ruleset), the kernel's log during the
capture (dmesg, or journalctl -k) and the reasons it gave for the packets it
dropped (the skb:kfree_skb tracepoint in a tracefs instance of its own, or
perf), into one folder per host, with a README.txt of what it recorded and
what it could not, and why. Drop reasons need root and tracefs (mounted when
missing) or perf; each tool runs with a time limit.

Usage:
  syndiag collect [flags] > collect.sh
  sudo bash collect.sh server      (on the server)
  sudo bash collect.sh client      (on a client, at the same time)
  syndiag analyze --evidence SERVER-FOLDER SERVER-FOLDER/server.pcap CLIENT-FOLDER/client.pcap

Flags:
`

// collectOptions are collect's flags, as parseCollect checked them.
type collectOptions struct {
	side     string
	port     int
	iface    string
	duration int
	server   string
	snaplen  int
	light    bool
}

// ifaceRe accepts interface names (and "any"), which are then safe in the
// script without quoting tricks.
var ifaceRe = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,32}$`)

// collectFlags defines collect's flags, bound to opt, without parsing:
// parseCollect parses them, and the completion scripts and the man page
// describe them.
func collectFlags(opt *collectOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("syndiag collect", pflag.ContinueOnError)
	fs.StringVar(&opt.side, "side", "both", "which host the script is for: server, client, or both (the side is then its first argument)")
	fs.IntVar(&opt.port, "port", 0, "the server's TCP port (0: every TCP port, a larger capture)")
	fs.StringVar(&opt.iface, "iface", "any", "the interface to capture on")
	fs.IntVar(&opt.duration, "duration", 60, "seconds to capture (0: until Ctrl-C)")
	fs.StringVar(&opt.server, "server", "", "the server's address, to capture only its traffic on the client")
	fs.IntVar(&opt.snaplen, "snaplen", 160, "bytes kept of each packet: the headers with every option, even IPv6 on -i any, and no payload")
	fs.BoolVar(&opt.light, "light", false, "capture only SYN, FIN and RST segments and ICMP errors, for a port too busy for a header capture (the accept-queue model then cannot see ignored ACKs or when the application answered)")
	return fs
}

// runCollect is syndiag collect: it prints the script.
func runCollect(args []string, stdout, stderr io.Writer) int {
	opt, err := parseCollect(args)
	if err != nil {
		return stopped(err, "syndiag collect", collectUsage+collectFlags(new(collectOptions)).FlagUsages(), stderr)
	}
	if err := writeCollectScript(stdout, opt, args); err != nil {
		fmt.Fprintf(stderr, "syndiag collect: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// parseCollect reads collect's flags; it takes no arguments. It returns
// pflag.ErrHelp for --help, and an error that says why for a command line
// that cannot run.
func parseCollect(args []string) (collectOptions, error) {
	var opt collectOptions
	fs := collectFlags(&opt)
	if err := parseFlags(fs, args, "syndiag collect"); err != nil {
		return opt, err
	}
	if fs.NArg() > 0 {
		return opt, fmt.Errorf("unexpected argument %q (try syndiag collect --help)", fs.Arg(0))
	}
	return opt, opt.check()
}

// check checks the values of the flags.
func (o collectOptions) check() error {
	switch o.side {
	case "server", "client", "both":
	default:
		return fmt.Errorf("unknown --side %q: use server, client or both", o.side)
	}
	if o.port < 0 || o.port > 65535 {
		return fmt.Errorf("--port %d: not a TCP port", o.port)
	}
	if !ifaceRe.MatchString(o.iface) {
		return fmt.Errorf("--iface %q: not an interface name", o.iface)
	}
	if o.duration < 0 {
		return fmt.Errorf("--duration %d: use 0 for until Ctrl-C", o.duration)
	}
	if o.server != "" {
		if _, err := netip.ParseAddr(o.server); err != nil {
			return fmt.Errorf("--server %q: not an IP address", o.server)
		}
	}
	if o.snaplen < 96 || o.snaplen > 262144 {
		return fmt.Errorf("--snaplen %d: use at least 96 (Ethernet, IP and a TCP header with options)", o.snaplen)
	}
	return nil
}

// captureFilter is the tcpdump filter for a side. The models need every
// packet of a handshake (the third ACK shows an ignored ACK, the server's
// first reply when accept() took the connection), the FINs and the last
// segments before TIME_WAIT (whose TSvals tcp_metrics keeps), and ICMP
// errors; pings and neighbour discovery are left out. The light filter keeps
// SYN, FIN and RST only: tcp[tcpflags] reads IPv4 packets alone in libpcap,
// so IPv6 is matched by the flags byte behind a 40-byte header.
func (o collectOptions) captureFilter(side string) string {
	tcp := "tcp"
	if o.port > 0 {
		tcp = fmt.Sprintf("tcp port %d", o.port)
	}
	if side == "client" && o.server != "" {
		tcp = fmt.Sprintf("host %s and %s", o.server, tcp)
	}
	if o.light {
		tcp = fmt.Sprintf("(%s and (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0 or (ip6 and ip6[6] = 6 and ip6[53] & 7 != 0)))", tcp)
	} else if strings.Contains(tcp, " ") {
		tcp = "(" + tcp + ")"
	}
	return tcp + " or (icmp and icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply) or (icmp6 and ip6[40] < 128)"
}
