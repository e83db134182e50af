// Command syndiag reads tcpdump captures and explains why TCP connections to
// a server fail or hang at the handshake. Run `syndiag --help` for usage.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
