package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/syndiag/syndiag/report"
)

// portScan writes, in dir, a capture taken at a server, 198.18.2.2, that
// one scanner, 198.18.7.7, sweeps over ports 1 to 1000 (RST from the
// closed ports, a SYN-ACK and the scanner's RST from the four open ones),
// while 30 clients, 198.18.1.10 to .39, connect to port 8080 as usual.
// It returns the capture's path.
func portScan(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "port-scan.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	server := net.IPv4(198, 18, 2, 2).To4()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	write := func(at time.Duration, src, dst net.IP, sport, dport uint16, seq, ack uint32, set func(*layers.TCP)) {
		t.Helper()
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, src[3]}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, dst[3]}, EthernetType: layers.EthernetTypeIPv4}
		ttl := uint8(63)
		if src.Equal(server) {
			ttl = 64
		}
		ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 64240}
		set(tcp)
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: now.Add(at), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	open := map[uint16]bool{22: true, 80: true, 443: true, 8080: true}
	scanner := net.IPv4(198, 18, 7, 7).To4()
	for port := uint16(1); port <= 1000; port++ {
		at := time.Duration(port) * time.Millisecond
		isn := 1000 + uint32(port)
		write(at, scanner, server, 40000, port, isn, 0, func(t *layers.TCP) { t.SYN = true })
		if open[port] {
			write(at+100*time.Microsecond, server, scanner, port, 40000, 7, isn+1, func(t *layers.TCP) { t.SYN, t.ACK = true, true })
			write(at+200*time.Microsecond, scanner, server, 40000, port, isn+1, 0, func(t *layers.TCP) { t.RST = true })
			continue
		}
		write(at+100*time.Microsecond, server, scanner, port, 40000, 0, isn+1, func(t *layers.TCP) { t.RST, t.ACK = true, true })
	}
	for i := range 30 {
		client := net.IPv4(198, 18, 1, byte(10+i)).To4()
		at := 2*time.Second + time.Duration(i)*10*time.Millisecond
		isn, sisn := uint32(5000+i), uint32(9000+i)
		port := uint16(41000 + i)
		write(at, client, server, port, 8080, isn, 0, func(t *layers.TCP) { t.SYN = true })
		write(at+time.Millisecond, server, client, 8080, port, sisn, isn+1, func(t *layers.TCP) { t.SYN, t.ACK = true, true })
		write(at+2*time.Millisecond, client, server, port, 8080, isn+1, sisn+1, func(t *layers.TCP) { t.ACK = true })
	}
	return path
}

// TestTop checks --top on a port scan of 1,000 ports beside 30 clients:
// the tables per server endpoint and per source show the most attempts
// first, as many rows as --top says, and how many more there are; the
// JSON keeps them all.
func TestTop(t *testing.T) {
	path := portScan(t, t.TempDir())
	tests := []struct {
		desc     string
		args     []string
		maxLines int
		has      []string
		hasNot   []string
	}{
		{"default", []string{path}, 150,
			[]string{"198.18.2.2:8080 30 30 30", "198.18.2.2:19 1 1", "… and 981 more (--top 0 for all)", "198.18.7.7 1000 1000", "… and 11 more (--top 0 for all)", "… and 980 more (--top 0 for all)"},
			[]string{"198.18.2.2:20 1 1", "198.18.1.29 1"}},
		{"top 3", []string{"--top", "3", path}, 80,
			[]string{"198.18.2.2:8080 30 30 30", "198.18.2.2:2 1 1", "… and 998 more (--top 0 for all)", "… and 28 more (--top 0 for all)", "… and 997 more (--top 0 for all)"},
			[]string{"198.18.2.2:3 1 1", "198.18.1.12 1"}},
		{"markdown", []string{"--format", "markdown", "--top", "3", path}, 80,
			[]string{"| 198.18.2.2:2 | 1 | 1 |", "… and 998 more (--top 0 for all)"},
			[]string{"| 198.18.2.2:3 |"}},
		{"all", []string{"--top", "0", path}, 0,
			[]string{"198.18.2.2:1000 1 1", "198.18.1.39 1"},
			[]string{"more (--top 0 for all)"}},
		{"json keeps all", []string{"--format", "json", "--top", "3", path}, 0,
			[]string{`"server": "198.18.2.2:1000"`},
			[]string{"--top"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if n := strings.Count(stdout, "\n"); tc.maxLines > 0 && n > tc.maxLines {
				t.Errorf("%d lines, want at most %d:\n%s", n, tc.maxLines, stdout)
			}
			folded := strings.Join(strings.Fields(stdout), " ")
			for _, s := range tc.has {
				if !strings.Contains(folded, s) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(folded, s) {
					t.Errorf("output has %q", s)
				}
			}
		})
	}
	if code, _, stderr := runCmd(t, "--top", "-1", path); code != exitUsage || !strings.Contains(stderr, "--top -1: use a number of rows, or 0 for all") {
		t.Errorf("--top -1: exit %d, stderr %q", code, stderr)
	}
}

// TestReportOptions checks where names are cut and colour used: only on a
// terminal (a character device here), never into a file or a pipe, and
// not with --wide; --top 0 is every row.
func TestReportOptions(t *testing.T) {
	dev, w := terminalAndPipe(t)
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	tests := []struct {
		desc string
		opt  analyzeOptions
		out  *os.File
		want report.Options
	}{
		{"terminal", analyzeOptions{top: 20}, dev, report.Options{Top: 20, Color: true}},
		{"terminal, --wide", analyzeOptions{top: 20, wide: true}, dev, report.Options{Top: 20, Color: true, Wide: true}},
		{"terminal, -o", analyzeOptions{top: 20, output: "r.txt"}, dev, report.Options{Top: 20, Wide: true}},
		{"pipe", analyzeOptions{top: 20}, w, report.Options{Top: 20, Wide: true}},
		{"--top 0", analyzeOptions{top: 0}, w, report.Options{Top: -1, Wide: true}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := reportOptions(tc.opt.output, tc.opt.wide, tc.opt.top, tc.out); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
