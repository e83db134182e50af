// Command syndiag reads tcpdump captures and explains why TCP connections to
// a server fail or hang at the handshake. Run `syndiag --help` for usage.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	// The live heap is the handshake attempts kept for the report; the
	// packets themselves allocate nothing. Half the default headroom keeps
	// peak memory near 1.5x that heap (60 MB instead of 75 MB on a
	// 15-million-packet capture) for a few more, short GC cycles. GOGC in
	// the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
