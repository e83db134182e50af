package evidence

// The evidence of one host: the files read, their kinds detected from their
// content, and what they say merged over the files. parse.go reads each
// kind, trace.go the drop traces, counters.go the counter snapshots.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind names what an evidence file holds, as detected from its content
// (never from its name).
type Kind string

// Kinds of evidence files.
const (
	KindNetstat Kind = "netstat-s" // netstat -s (net-tools), any version
	KindNstat   Kind = "nstat"     // nstat -az, or nstat
	KindProcNet Kind = "proc-net"  // /proc/net/netstat, /proc/net/snmp
	KindSysctl  Kind = "sysctl"    // sysctl -a (or a part of it), or grep . /proc/sys/...
	KindSS      Kind = "ss"        // ss -lnt, ss -ltn, ss -nt ... (one or many samples)
	KindUname   Kind = "uname"     // uname -r, uname -a, or /proc/version
	KindCollect Kind = "collect"   // the side marker that syndiag collect writes
	KindTrace   Kind = "trace"     // skb:kfree_skb drop reasons: tracefs trace or trace_pipe, perf script
	// KindKernelLog: dmesg (-T, --time-format iso), journalctl -k, or a
	// syslog file (/var/log/kern.log, /var/log/messages).
	KindKernelLog Kind = "kernel-log"
	// KindFirewall: iptables or ip6tables -L -v -n [-x], iptables-save -c,
	// nft list ruleset.
	KindFirewall Kind = "firewall"
)

// Side is the end of the connections the evidence was collected on.
type Side string

// Sides.
const (
	SideServer  Side = "server"
	SideClient  Side = "client"
	SideUnknown Side = "unknown" // no syndiag collect marker: taken as the server
)

// collectMarker starts the file in which syndiag collect says which side
// (server or client) its folder was collected on.
const collectMarker = "# syndiag collect"

// maxFileSize bounds what is read of one evidence file; the outputs of
// these commands are kilobytes, ss on a busy host a few megabytes.
const maxFileSize = 64 << 20

// Errors about evidence files, wrapped in an *Error that names the file.
var (
	// ErrNotEvidence means the content is none of the outputs syndiag reads.
	ErrNotEvidence = errors.New("not host evidence: syndiag reads the output of netstat -s, nstat, cat /proc/net/netstat or /proc/net/snmp, sysctl, ss -lnt, uname -r, skb:kfree_skb traces, kernel logs (dmesg, journalctl -k, syslog) and firewall listings (iptables -L -v -n -x, iptables-save -c, nft list ruleset)")
	// ErrCapture means the file is a packet capture.
	ErrCapture = errors.New("a packet capture, not host evidence: give it as a capture FILE argument")
	// ErrTooLarge means the file is larger than any of these outputs.
	ErrTooLarge = fmt.Errorf("larger than %d MiB: not the output of a command syndiag reads", maxFileSize>>20)
	// ErrBothSides means the files were collected on both sides.
	ErrBothSides = errors.New("evidence from both the server and the client: give one host's evidence (the server's)")
)

// Error reports a problem with one evidence file.
type Error struct {
	File string
	Err  error
	// Start quotes the beginning of the content, when it was not recognised.
	Start string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("evidence %s: %v", e.File, e.Err)
	if e.Start != "" {
		s += fmt.Sprintf(": it starts with %q", e.Start)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// File is one file that was read.
type File struct {
	Path string
	Kind Kind
	// Time is when the file was taken, if it says so (a line with an RFC
	// 3339 time, as syndiag collect writes, or the output of date);
	// zero otherwise.
	Time time.Time
	// Values counts what was read: counters, settings, sockets, or 1 for
	// a kernel version.
	Values int
	// Ignored counts the lines that were not understood.
	Ignored int
}

// Sysctl is one kernel setting.
type Sysctl struct {
	Name  string // net.ipv4.tcp_syncookies
	Value string // as printed, tabs between fields
	File  string
}

// Listener is a listening socket as ss printed it. For a listener, Recv-Q
// is the accept queue's length (connections waiting for accept()) and
// Send-Q its limit, min(listen backlog, net.core.somaxconn).
type Listener struct {
	Local string     // the local address as ss printed it
	Addr  netip.Addr // invalid for a wildcard address
	Port  uint16
	RecvQ int // the highest over the samples
	SendQ int // in the sample with the highest Recv-Q
	// Samples is how many times the listener appears in the file (ss run
	// in a loop during the capture).
	Samples int
	File    string
}

// Host is everything read from one host: counters, settings, listeners,
// kernel version and drop reasons, and which files said what.
type Host struct {
	// Side is where the evidence was collected, when a syndiag collect
	// folder says so (SideFile says it); SideUnknown otherwise.
	Side     Side
	SideFile string
	Files    []File    // in the order they were read
	Counters []Counter // by name
	Sysctls  []Sysctl  // by name
	// Kernel is the release (uname -r), "" when unknown.
	Kernel     string
	KernelFile string
	Listeners  []Listener // by port, then address
	// Sockets counts the other sockets ss listed, by state ("unknown" when
	// the file has no State column).
	Sockets map[string]int
	// Drops are the kernel's drop reasons, one per trace file.
	Drops []DropTrace
	// KernelLog are the kernel log lines about dropped SYNs and
	// connections, and suppressed messages, in the order of the files and
	// their lines (a line given twice, in two files, once).
	KernelLog []KernelEvent
	// Firewall are the counters of the firewall rules, by ruleset (format
	// and family) in the order the files were read, then as listed.
	Firewall []FirewallRule

	snaps      []*snapshot
	fwSnaps    []*fwSnapshot
	notes      []string // files skipped, and doubts about the files read
	orderNotes []string // from resolveCounters
	fwNotes    []string // from resolveFirewall
}

// NewHost returns an empty Host to Add files to.
func NewHost() *Host {
	return &Host{Side: SideUnknown, Sockets: map[string]int{}}
}

// Note records something about the evidence for the report, such as a file
// of a folder that was skipped.
func (h *Host) Note(s string) { h.notes = append(h.notes, s) }

// Notes returns the notes: those added with Note or by Add, and doubts
// about the order in which the counter snapshots were taken.
func (h *Host) Notes() []string { return slices.Concat(h.notes, h.orderNotes, h.fwNotes) }

// Add reads one evidence file. The kind is detected from the content; lines
// that are not understood are counted and skipped. The error is an *Error
// wrapping ErrNotEvidence when nothing in the content is recognised,
// ErrCapture for a capture, ErrTooLarge, ErrBothSides, or the read error.
func (h *Host) Add(path string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return &Error{File: path, Err: err}
	}
	if len(data) > maxFileSize {
		return &Error{File: path, Err: ErrTooLarge}
	}
	if isCapture(data) {
		return &Error{File: path, Err: ErrCapture}
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return &Error{File: path, Err: ErrNotEvidence, Start: quoteStart(string(data))}
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	kind, first := detect(lines)
	if kind == "" {
		return &Error{File: path, Err: ErrNotEvidence, Start: quoteStart(first)}
	}
	f := File{Path: path, Kind: kind, Time: fileTime(lines)}
	switch kind {
	case KindNstat, KindNetstat, KindProcNet:
		var s *snapshot
		switch kind {
		case KindNstat:
			s, f.Ignored = parseNstat(lines)
		case KindNetstat:
			s, f.Ignored = parseNetstat(lines)
		default:
			s, f.Ignored = parseProcNet(lines)
		}
		s.file, s.kind, s.time = len(h.Files), kind, f.Time
		s.index()
		f.Values = len(s.values)
		h.snaps = append(h.snaps, s)
	case KindSysctl:
		var ss []Sysctl
		ss, f.Ignored = parseSysctl(lines)
		f.Values = len(ss)
		h.setSysctls(ss, path)
	case KindSS:
		var ls []Listener
		var others map[string]int
		ls, others, f.Ignored = parseSS(lines)
		f.Values = len(ls)
		for st, n := range others {
			h.Sockets[st] += n
			f.Values += n
		}
		h.addListeners(ls, path)
	case KindUname:
		var rel string
		rel, f.Ignored = parseUname(lines)
		if rel != "" {
			f.Values = 1
			if h.Kernel != "" && h.Kernel != rel {
				h.Note(fmt.Sprintf("two kernel versions: %s (%s) and %s (%s): is the evidence from two hosts? %s is used", h.Kernel, filepath.Base(h.KernelFile), rel, filepath.Base(path), rel))
			}
			h.Kernel, h.KernelFile = rel, path
		}
	case KindTrace:
		d, ignored := parseTrace(lines)
		d.File, f.Ignored, f.Values = path, ignored, d.Events
		if f.Time.IsZero() {
			f.Time = d.First // zero when the trace clock is not tied to the wall clock
		}
		if d.Events == 0 {
			h.Note(fmt.Sprintf("%s is a kernel trace without skb:kfree_skb drop reasons (%s): was the tracepoint enabled, on Linux 5.17 or later?", filepath.Base(path), countLines(len(lines)-ignored)))
		}
		h.Drops = append(h.Drops, d)
	case KindKernelLog:
		kl, ignored := parseKernelLog(lines, path)
		f.Ignored = ignored
		h.addKernelLog(kl, &f)
	case KindFirewall:
		p := parseFirewall(lines, first)
		// iptables-save's date line has no zone: it orders the
		// snapshots but is no File.Time.
		f.Ignored, f.Values = p.ignored, len(p.rules)
		h.addFirewall(p, path)
	case KindCollect:
		var side Side
		side, f.Ignored = parseCollectInfo(lines)
		if side != SideUnknown {
			f.Values = 1
			if h.Side != SideUnknown && h.Side != side {
				return &Error{File: path, Err: fmt.Errorf("%w: %s says %s, %s says %s", ErrBothSides, filepath.Base(h.SideFile), h.Side, filepath.Base(path), side)}
			}
			h.Side, h.SideFile = side, path
		}
	}
	h.Files = append(h.Files, f)
	h.resolveCounters()
	h.resolveFirewall()
	return nil
}

// countLines returns "1 line" or "3 lines".
func countLines(n int) string {
	if n == 1 {
		return "1 line"
	}
	return fmt.Sprintf("%d lines", n)
}

// setSysctls adds the settings of a file; a later file wins.
func (h *Host) setSysctls(ss []Sysctl, path string) {
	at := make(map[string]int, len(h.Sysctls))
	for i, s := range h.Sysctls {
		at[s.Name] = i
	}
	for _, s := range ss {
		s.File = path
		if i, ok := at[s.Name]; ok {
			h.Sysctls[i] = s
			continue
		}
		at[s.Name] = len(h.Sysctls)
		h.Sysctls = append(h.Sysctls, s)
	}
	slices.SortStableFunc(h.Sysctls, func(a, b Sysctl) int { return strings.Compare(a.Name, b.Name) })
}

// addListeners merges the listeners of a file: the samples add up, and the
// sample with the highest Recv-Q is kept.
func (h *Host) addListeners(ls []Listener, path string) {
	at := make(map[string]int, len(h.Listeners))
	for i, l := range h.Listeners {
		at[l.Local] = i
	}
	for _, l := range ls {
		l.File = path
		i, ok := at[l.Local]
		if !ok {
			at[l.Local] = len(h.Listeners)
			h.Listeners = append(h.Listeners, l)
			continue
		}
		x := &h.Listeners[i]
		x.Samples += l.Samples
		if l.RecvQ > x.RecvQ {
			x.RecvQ, x.SendQ, x.File = l.RecvQ, l.SendQ, l.File
		}
	}
	slices.SortStableFunc(h.Listeners, func(a, b Listener) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), a.Addr.Compare(b.Addr), strings.Compare(a.Local, b.Local))
	})
}

// Sysctl returns a setting and whether the evidence has it.
func (h *Host) Sysctl(name string) (Sysctl, bool) {
	i, found := slices.BinarySearchFunc(h.Sysctls, name, func(x Sysctl, n string) int { return strings.Compare(x.Name, n) })
	if !found {
		return Sysctl{}, false
	}
	return h.Sysctls[i], true
}

// KernelVersion returns the major and minor version of Kernel, and whether
// it could be read.
func (h *Host) KernelVersion() (major, minor int, ok bool) {
	n, _ := fmt.Sscanf(h.Kernel, "%d.%d", &major, &minor)
	return major, minor, n == 2
}

// keySysctls are the settings that decide how the kernel treats SYNs.
var keySysctls = []string{
	"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_timestamps",
	"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries",
	"net.ipv4.tcp_syn_linear_timeouts",
}

// KeySysctls returns the settings that decide how the kernel treats SYNs,
// those the evidence has, in a fixed order.
func (h *Host) KeySysctls() []Sysctl { return present(keySysctls, h.Sysctl) }

// IsRelevantSysctl reports whether a setting concerns TCP connection setup:
// the JSON report lists these and leaves out the rest of sysctl -a.
func IsRelevantSysctl(name string) bool {
	switch name {
	case "net.core.somaxconn", "net.core.netdev_max_backlog", "net.ipv4.ip_local_port_range",
		"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_count",
		"net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter":
		return true
	}
	return strings.HasPrefix(name, "net.ipv4.tcp_")
}

// isCapture recognises the magic numbers of the capture formats (and the
// compressions) that package flows reads.
func isCapture(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "\xa1\xb2\xc3\xd4", "\xd4\xc3\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x4d\x3c\xb2\xa1", "\xa1\xb2\xcd\x34", "\x34\xcd\xb2\xa1", "\x0a\x0d\x0d\x0a", "\x28\xb5\x2f\xfd":
		return true
	}
	return b[0] == 0x1f && b[1] == 0x8b
}

// quoteStart returns the beginning of a text for an error message.
func quoteStart(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return s
}
