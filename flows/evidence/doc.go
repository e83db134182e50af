// Package evidence reads host evidence: what the server's own tools printed
// about the handshakes a capture shows. Packets show symptoms; the kernel's
// counters (netstat -s, nstat, /proc/net/netstat and /proc/net/snmp), its
// settings (sysctl), its listeners (ss -lnt), its version (uname -r), the
// reasons it gave for freeing packets (the skb:kfree_skb tracepoint, from
// tracefs or perf script), what it logged about dropped SYNs and
// connections (dmesg, journalctl -k, syslog: "Possible SYN flooding",
// "nf_conntrack: table full", "time wait bucket table overflow",
// "net_ratelimit: N callbacks suppressed") and the firewall's counters
// (iptables -L -v -n -x, iptables-save -c, nft list ruleset) confirm or
// refute a cause.
//
// It sits beside package flows in syndiag's pipeline: flows reads the
// captures, evidence reads the text files taken on the same host, and
// package analyze checks its findings against both. [Host.Add] reads one
// file into a [Host]; the kind of a file is detected from its content,
// never its name, and lines that are not understood are counted and
// skipped. Over the files, a [Host] holds typed values: [Counter] changes
// between the first and the last snapshot (ordered by the times the files
// state, or else by the counters, which only grow), [Sysctl] settings,
// [Listener] queues, [DropTrace] drop reasons tied to the wall clock,
// [KernelEvent] log lines with their time as the line gives it (since
// boot, or a wall clock with or without its zone and year) and
// [FirewallRule] counters per rule (table, chain, identity, verdict),
// whose change between two snapshots of one ruleset is matched by the
// rule's identity, with a note when rules were added or removed between
// them. A file that is no evidence is an [*Error] that names it; a file
// that nearly is one of these (a kernel log without the lines syndiag
// reads, a firewall listing without counters) is read with a note; doubts
// about the files read are [Host.Notes].
//
// evidence knows the output of these tools and the kernel's names for its
// counters. It does not judge what they mean for the handshakes; that is
// the job of package analyze.
package evidence
