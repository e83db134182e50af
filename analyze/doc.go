// Package analyze is the second stage of syndiag's pipeline: it takes the
// handshake attempts that package flows read from one or more captures and
// decides what happened to each: its outcome, its SYN retransmissions and
// its connect time, summarised per server endpoint and per client source.
// Its models, each following the Linux code it cites (the accept queue, the
// SYN queue, per-host PAWS, a black-holed 4-tuple (tuple.go), a silent drop,
// a RST a middlebox forged in the server's name (middlebox.go), …), raise
// the ranked Findings. Given one capture taken on the client side and one
// on the server, it joins them (join.go): it matches attempts through NAT,
// estimates the offset between the two clocks (offset.go) and says where
// each lost SYN died (localize.go); given two captures that are not such a
// pair, it says why it did not join them (Join.Outcome). Given the server's
// host evidence, which package flows/evidence reads, it checks its findings
// against the kernel's own counters, settings, listeners and drop reasons
// (evidence_fuse.go, evidence_fuse_drops.go), its log lines, placed on the
// capture's clock where they allow (evidence_fuse_kernlog.go), and the
// firewall rules whose counters grew by the SYNs it shows unanswered or
// refused (evidence_fuse_firewall.go, what a rule matches in
// evidence_fuse_fwmatch.go), and adds the findings the evidence alone
// supports.
//
// Every decision the reports show is made here, once, and kept in the
// Result: besides the findings, the per-host PAWS replay of each capture
// (Result.PAWS) and the accept-queue model of its busiest listeners
// (Result.AcceptQueues), which the HTML report draws. Kinds, causes,
// places of loss and severities are typed (Kind, LostAt, Severity), and
// severities rank as integers.
//
// analyze knows TCP and the Linux kernel. It reads no files and prints
// nothing; package report renders its Result. ReadCapture (input.go) is the
// hand-off from flows: it reads one capture from a reader into an Input. How figures are written into
// the sentences of findings (counts, percentages, clock times, durations)
// is package analyze/wording's, which report shares.
package analyze
