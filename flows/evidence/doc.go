// Package evidence reads host evidence: what the server's own tools printed
// about the handshakes a capture shows. Packets show symptoms; the kernel's
// counters (netstat -s, nstat, /proc/net/netstat and /proc/net/snmp), its
// settings (sysctl), its listeners (ss -lnt), its version (uname -r) and
// the reasons it gave for freeing packets (the skb:kfree_skb tracepoint,
// from tracefs or perf script) confirm or refute a cause.
//
// It sits beside package flows in syndiag's pipeline: flows reads the
// captures, evidence reads the text files taken on the same host, and
// package analyze checks its findings against both. [Host.Add] reads one
// file into a [Host]; the kind of a file is detected from its content,
// never its name, and lines that are not understood are counted and
// skipped. Over the files, a [Host] holds typed values: [Counter] changes
// between the first and the last snapshot (ordered by the times the files
// state, or else by the counters, which only grow), [Sysctl] settings,
// [Listener] queues and [DropTrace] drop reasons tied to the wall clock.
// A file that is no evidence is an [*Error] that names it; doubts about
// the files read are [Host.Notes].
//
// evidence knows the output of these tools and the kernel's names for its
// counters. It does not judge what they mean for the handshakes; that is
// the job of package analyze.
package evidence
