// Command gen writes the per-host PAWS captures of testdata/paws.
//
// No kernel from 4.12 on drops SYNs by per-host PAWS (tcp_tw_recycle is
// gone), so these captures are simulated. A Linux 3.10 server with
// tcp_tw_recycle=1 (../KERNEL.md quotes every function it follows) serves
// HTTP to hosts behind a NAT; each host has its own timestamp clock. For each
// scenario gen writes what tcpdump on the server would see (post-NAT
// addresses) and what tcpdump on the router's LAN interface would see
// (pre-NAT addresses), plus truth.tsv (every SYN transmission and its fate)
// and README.md. The output depends only on the flags: the same seed gives
// byte-identical files.
//
// Usage:
//
//	go run ./testdata/paws/gen -out testdata/paws
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// params are the knobs of a generation; defaultParams made the committed files.
type params struct {
	seed       uint64
	synRetries int   // the clients' net.ipv4.tcp_syn_retries
	durationUs int64 // hosts start connections during this time
}

func defaultParams() params {
	return params{seed: 7, synRetries: 6, durationUs: 180_000_000}
}

// file is one generated output.
type file struct {
	name string
	data []byte
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultParams()
	out := fs.String("out", ".", "directory to write the captures, truth.tsv and README.md into")
	seed := fs.Uint64("seed", d.seed, "random seed (traffic, clocks, ports, ISNs)")
	retries := fs.Int("syn-retries", d.synRetries, "clients' net.ipv4.tcp_syn_retries (1-6)")
	seconds := fs.Int("duration", int(d.durationUs/1_000_000), "seconds during which hosts start connections")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *retries < 1 || *retries > 6 || *seconds < 1 {
		fmt.Fprintln(stderr, "gen: want -syn-retries 1..6, -duration >= 1 and no arguments")
		return 2
	}
	p := params{seed: *seed, synRetries: *retries, durationUs: int64(*seconds) * 1_000_000}
	files, err := generate(p)
	if err != nil {
		fmt.Fprintln(stderr, "gen:", err)
		return 1
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*out, f.name), f.data, 0o644); err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%8d  %s\n", len(f.data), f.name)
	}
	return 0
}

// result is what one scenario produced.
type result struct {
	sc       scenario
	attempts []*attempt
	server   []record
	lan      []record
}

// generate runs every scenario and renders all outputs.
func generate(p params) ([]file, error) {
	var results []*result
	var files []file
	for _, sc := range scenarios {
		res, err := simulate(p, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		results = append(results, res)
		srv, err := pcapBytes(res.server)
		if err != nil {
			return nil, err
		}
		lan, err := pcapBytes(res.lan)
		if err != nil {
			return nil, err
		}
		files = append(files,
			file{name: sc.name + ".pcap", data: srv},
			file{name: sc.name + "-client.pcap", data: lan})
	}
	files = append(files, file{name: "truth.tsv", data: truthTSV(results)})
	readme, err := readmeMarkdown(p, results, files)
	if err != nil {
		return nil, err
	}
	return append(files, file{name: "README.md", data: readme}), nil
}

// simulate runs one scenario to the end: every attempt established and
// closed, or timed out.
func simulate(p params, sc scenario) (*result, error) {
	s := &sim{p: p, sc: sc, jitter: newStream(p.seed, "jitter-"+sc.name), nat: newNAT(p.seed, natPublic)}
	s.server = newServer(s)
	for _, spec := range sc.hosts {
		h := newHost(s, spec)
		s.hosts = append(s.hosts, h)
		h.schedule()
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	for _, a := range s.attempts {
		if a.outcome == "" {
			return nil, fmt.Errorf("attempt %v ended without an outcome", a.private)
		}
	}
	return &result{sc: sc, attempts: s.attempts, server: s.sortedCapture(sideServer), lan: s.sortedCapture(sideLAN)}, nil
}

func (s *sim) hostByAddr(ap netip.AddrPort) *host {
	for _, h := range s.hosts {
		if h.addr == ap.Addr() {
			return h
		}
	}
	return nil
}
