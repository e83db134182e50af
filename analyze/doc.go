// Package analyze is the second stage of syndiag's pipeline: it takes the
// handshake attempts that package flows read from one or more captures and
// decides what happened to each: its outcome, its SYN retransmissions and
// its connect time, summarised per server endpoint. Given one capture taken
// on the client side and one on the server, it joins them (join.go): it
// matches attempts through NAT, estimates the offset between the two clocks
// (offset.go) and says where each lost SYN died (localize.go). Given the
// server's host evidence, which package flows/evidence reads, it checks its
// findings against the kernel's own counters, settings, listeners and drop
// reasons, and adds the findings the evidence alone supports
// (evidence_fuse.go).
//
// analyze knows TCP and the Linux kernel. It reads no files and prints
// nothing; package report renders its Result. ReadCapture (input.go) is the
// hand-off from flows: it reads one capture from a reader into an Input.
package analyze
