package evidence_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/syndiag/syndiag/flows/evidence"
)

// Two nstat snapshots, taken before and after a capture, give each
// counter's change; the files are told apart by the times in them, not by
// their names or the order they are read in.
func ExampleHost_Add() {
	h := evidence.NewHost()
	files := []struct{ name, content string }{
		{"nstat-after.txt", "# syndiag-time: 2026-11-21T07:00:10Z\n#kernel\nTcpExtListenOverflows 100 0.0\nTcpExtListenDrops 100 0.0\n"},
		{"nstat-before.txt", "# syndiag-time: 2026-11-21T07:00:00Z\n#kernel\nTcpExtListenOverflows 40 0.0\nTcpExtListenDrops 40 0.0\n"},
		{"sysctl.txt", "net.core.somaxconn = 4096\nnet.ipv4.tcp_syncookies = 1\n"},
		{"README.md", "Taken during the outage.\n"},
	}
	for _, f := range files {
		if err := h.Add(f.name, strings.NewReader(f.content)); errors.Is(err, evidence.ErrNotEvidence) {
			fmt.Println("skipped:", f.name)
		}
	}
	for _, f := range h.Files {
		fmt.Printf("%s: %s, %d values\n", f.Path, f.Kind, f.Values)
	}
	c, _ := h.Counter("TcpExt:ListenOverflows")
	fmt.Printf("%s %+d (%s → %s)\n", c.Name, c.Delta, c.From, c.To)
	s, _ := h.Sysctl("net.core.somaxconn")
	fmt.Printf("%s = %s\n", s.Name, s.Value)
	// Output:
	// skipped: README.md
	// nstat-after.txt: nstat, 2 values
	// nstat-before.txt: nstat, 2 values
	// sysctl.txt: sysctl, 2 values
	// TcpExt:ListenOverflows +60 (nstat-before.txt → nstat-after.txt)
	// net.core.somaxconn = 4096
}
