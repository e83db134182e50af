// Package analyze is the second stage of syndiag's pipeline: it takes the
// handshake attempts that package flows read from one or more captures and
// decides what happened to each: its outcome, its SYN retransmissions and
// its connect time, summarised per server endpoint.
//
// analyze knows TCP and the Linux kernel. It reads no files and prints
// nothing; package report renders its Result.
package analyze
