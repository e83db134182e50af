package analyze

// Host evidence: what the server's own tools say about the handshakes the
// capture shows. Packets show symptoms; the kernel's counters (netstat -s,
// nstat, /proc/net/netstat and /proc/net/snmp), its settings (sysctl), its
// listeners (ss -lnt) and its version (uname -r) confirm or refute a cause.
// This file holds the types and reads files by content; evidence_parse.go
// parses each kind, and evidence_fuse.go maps the evidence into findings.

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

	"github.com/syndiag/syndiag/analyze/wording"
)

// EvidenceKind names what an evidence file holds, as detected from its
// content (never from its name).
type EvidenceKind string

// Evidence kinds.
const (
	EvidenceNetstat EvidenceKind = "netstat-s" // netstat -s (net-tools), any version
	EvidenceNstat   EvidenceKind = "nstat"     // nstat -az, or nstat
	EvidenceProcNet EvidenceKind = "proc-net"  // /proc/net/netstat, /proc/net/snmp
	EvidenceSysctl  EvidenceKind = "sysctl"    // sysctl -a (or a part of it), or grep . /proc/sys/...
	EvidenceSS      EvidenceKind = "ss"        // ss -lnt, ss -ltn, ss -nt ... (one or many samples)
	EvidenceUname   EvidenceKind = "uname"     // uname -r, uname -a, or /proc/version
	EvidenceCollect EvidenceKind = "collect"   // the side marker that syndiag collect writes
	EvidenceTrace   EvidenceKind = "trace"     // skb:kfree_skb drop reasons: tracefs trace or trace_pipe, perf script
)

// collectMarker starts the file in which syndiag collect says which side
// (server or client) its folder was collected on.
const collectMarker = "# syndiag collect"

// maxEvidenceSize bounds what is read of one evidence file; the outputs of
// these commands are kilobytes, ss on a busy host a few megabytes.
const maxEvidenceSize = 64 << 20

// Errors about evidence files, wrapped in an *EvidenceError that names the
// file.
var (
	// ErrNotEvidence: the content is none of the outputs syndiag reads.
	ErrNotEvidence = errors.New("not host evidence: syndiag reads the output of netstat -s, nstat, cat /proc/net/netstat or /proc/net/snmp, sysctl, ss -lnt, uname -r and skb:kfree_skb traces")
	// ErrCaptureNotEvidence: the file is a packet capture.
	ErrCaptureNotEvidence = errors.New("a packet capture, not host evidence: give it as a capture FILE argument")
	// ErrEvidenceTooLarge: the file is larger than any of these outputs.
	ErrEvidenceTooLarge = fmt.Errorf("larger than %d MiB: not the output of a command syndiag reads", maxEvidenceSize>>20)
	// ErrEvidenceHosts: the files were collected on both sides.
	ErrEvidenceHosts = errors.New("evidence from both the server and the client: give one host's evidence (the server's)")
)

// EvidenceError reports a problem with one evidence file.
type EvidenceError struct {
	File string
	Err  error
	// Start quotes the beginning of the content, when it was not recognised.
	Start string
}

func (e *EvidenceError) Error() string {
	s := fmt.Sprintf("evidence %s: %v", e.File, e.Err)
	if e.Start != "" {
		s += fmt.Sprintf(": it starts with %q", e.Start)
	}
	return s
}

func (e *EvidenceError) Unwrap() error { return e.Err }

// EvidenceFile is one file that was read.
type EvidenceFile struct {
	Path string
	Kind EvidenceKind
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

// Counter is one kernel counter (SNMP MIB) as the evidence shows it, by the
// kernel's own name as /proc/net/netstat and /proc/net/snmp spell it,
// "TcpExt:ListenOverflows" (nstat's TcpExtListenOverflows, netstat -s's
// "times the listen queue of a socket overflowed").
type Counter struct {
	Name string
	// SinceBoot is set when only one snapshot had the counter: After is
	// then the total since boot (or since the network namespace was made),
	// and Before and Delta mean nothing.
	SinceBoot bool
	Before    uint64
	After     uint64
	Delta     int64 // After - Before
	// From and To are the files of the two snapshots; To alone when
	// SinceBoot.
	From, To string
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

// HostEvidence is everything read from one host: counters, settings,
// listeners and kernel version, and which files said what.
type HostEvidence struct {
	// Side is where the evidence was collected, when a syndiag collect
	// folder says so; RoleUnknown otherwise, which is taken as the server.
	Side     Role
	Files    []EvidenceFile // in the order they were read
	Notes    []string       // files skipped, and doubts about the files read
	Counters []Counter      // by name
	Sysctls  []Sysctl       // by name
	// Kernel is the release (uname -r), "" when unknown.
	Kernel     string
	KernelFile string
	Listeners  []Listener // by port, then address
	// Sockets counts the other sockets ss listed, by state ("" when the
	// file has no State column).
	Sockets map[string]int
	// Drops are the kernel's drop reasons, one per trace file.
	Drops []DropTrace

	snaps       []*counterSnapshot
	orderNotes  []string // from resolveCounters
	fusionNotes []string // from fuseEvidence
	sideFile    string
}

// counterSnapshot is the counters of one file.
type counterSnapshot struct {
	file   int // index into HostEvidence.Files
	kind   EvidenceKind
	time   time.Time
	values map[string]uint64
	// zero lists the sections ("TcpExt:") whose counters the tool prints
	// only when they are not zero, so that a missing one is 0; "*" for
	// all of them.
	zero []string
	// sections are the sections ("TcpExt") the snapshot has counters of.
	sections map[string]bool
}

// index notes the sections of the snapshot's counters.
func (s *counterSnapshot) index() {
	s.sections = map[string]bool{}
	for n := range s.values {
		if sec, _, ok := strings.Cut(n, ":"); ok {
			s.sections[sec] = true
		}
	}
}

// get returns a counter's value in the snapshot, and whether the snapshot
// tells it.
func (s *counterSnapshot) get(name string) (uint64, bool) {
	if v, ok := s.values[name]; ok {
		return v, true
	}
	for _, z := range s.zero {
		if z == "*" || strings.HasPrefix(name, z) {
			return 0, true
		}
	}
	return 0, false
}

// NewHostEvidence returns an empty HostEvidence to Add files to.
func NewHostEvidence() *HostEvidence {
	return &HostEvidence{Side: RoleUnknown, Sockets: map[string]int{}}
}

// Note records something about the evidence for the report, such as a file
// of a folder that was skipped.
func (ev *HostEvidence) Note(s string) { ev.Notes = append(ev.Notes, s) }

// AllNotes returns the notes: those added with Note, doubts about the order
// of snapshots, and what the analysis found about the evidence as a whole.
func (ev *HostEvidence) AllNotes() []string {
	return slices.Concat(ev.Notes, ev.orderNotes, ev.fusionNotes)
}

// Add reads one evidence file. The kind is detected from the content; lines
// that are not understood are counted and skipped. The error is an
// *EvidenceError wrapping ErrNotEvidence when nothing in the content is
// recognised, ErrCaptureNotEvidence for a capture, or the read error.
func (ev *HostEvidence) Add(path string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, maxEvidenceSize+1))
	if err != nil {
		return &EvidenceError{File: path, Err: err}
	}
	if len(data) > maxEvidenceSize {
		return &EvidenceError{File: path, Err: ErrEvidenceTooLarge}
	}
	if isCapture(data) {
		return &EvidenceError{File: path, Err: ErrCaptureNotEvidence}
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return &EvidenceError{File: path, Err: ErrNotEvidence, Start: quoteStart(string(data))}
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	kind, first := detectEvidence(lines)
	if kind == "" {
		return &EvidenceError{File: path, Err: ErrNotEvidence, Start: quoteStart(first)}
	}
	f := EvidenceFile{Path: path, Kind: kind, Time: fileTime(lines)}
	switch kind {
	case EvidenceNstat, EvidenceNetstat, EvidenceProcNet:
		var s *counterSnapshot
		switch kind {
		case EvidenceNstat:
			s, f.Ignored = parseNstat(lines)
		case EvidenceNetstat:
			s, f.Ignored = parseNetstat(lines)
		default:
			s, f.Ignored = parseProcNet(lines)
		}
		s.file, s.kind, s.time = len(ev.Files), kind, f.Time
		s.index()
		f.Values = len(s.values)
		ev.snaps = append(ev.snaps, s)
	case EvidenceSysctl:
		var ss []Sysctl
		ss, f.Ignored = parseSysctl(lines)
		f.Values = len(ss)
		ev.setSysctls(ss, path)
	case EvidenceSS:
		var ls []Listener
		var others map[string]int
		ls, others, f.Ignored = parseSS(lines)
		f.Values = len(ls)
		for st, n := range others {
			ev.Sockets[st] += n
			f.Values += n
		}
		ev.addListeners(ls, path)
	case EvidenceUname:
		var rel string
		rel, f.Ignored = parseUname(lines)
		if rel != "" {
			f.Values = 1
			if ev.Kernel != "" && ev.Kernel != rel {
				ev.Note(fmt.Sprintf("two kernel versions: %s (%s) and %s (%s): is the evidence from two hosts? %s is used", ev.Kernel, filepath.Base(ev.KernelFile), rel, filepath.Base(path), rel))
			}
			ev.Kernel, ev.KernelFile = rel, path
		}
	case EvidenceTrace:
		d, ignored := parseTrace(lines)
		d.File, f.Ignored, f.Values = path, ignored, d.Events
		if f.Time.IsZero() {
			f.Time = d.First // zero when the trace clock is not tied to the wall clock
		}
		if d.Events == 0 {
			ev.Note(fmt.Sprintf("%s is a kernel trace without skb:kfree_skb drop reasons (%s): was the tracepoint enabled, on Linux 5.17 or later?", filepath.Base(path), wording.Plural(len(lines)-ignored, "line")))
		}
		ev.Drops = append(ev.Drops, d)
	case EvidenceCollect:
		var side Role
		side, f.Ignored = parseCollectInfo(lines)
		if side != RoleUnknown {
			f.Values = 1
			if ev.Side != RoleUnknown && ev.Side != side {
				return &EvidenceError{File: path, Err: fmt.Errorf("%w: %s says %s, %s says %s", ErrEvidenceHosts, filepath.Base(ev.sideFile), ev.Side, filepath.Base(path), side)}
			}
			ev.Side, ev.sideFile = side, path
		}
	}
	ev.Files = append(ev.Files, f)
	ev.resolveCounters()
	return nil
}

// setSysctls adds the settings of a file; a later file wins.
func (ev *HostEvidence) setSysctls(ss []Sysctl, path string) {
	at := make(map[string]int, len(ev.Sysctls))
	for i, s := range ev.Sysctls {
		at[s.Name] = i
	}
	for _, s := range ss {
		s.File = path
		if i, ok := at[s.Name]; ok {
			ev.Sysctls[i] = s
			continue
		}
		at[s.Name] = len(ev.Sysctls)
		ev.Sysctls = append(ev.Sysctls, s)
	}
	slices.SortStableFunc(ev.Sysctls, func(a, b Sysctl) int { return strings.Compare(a.Name, b.Name) })
}

// addListeners merges the listeners of a file: the samples add up, and the
// sample with the highest Recv-Q is kept.
func (ev *HostEvidence) addListeners(ls []Listener, path string) {
	at := make(map[string]int, len(ev.Listeners))
	for i, l := range ev.Listeners {
		at[l.Local] = i
	}
	for _, l := range ls {
		l.File = path
		i, ok := at[l.Local]
		if !ok {
			at[l.Local] = len(ev.Listeners)
			ev.Listeners = append(ev.Listeners, l)
			continue
		}
		x := &ev.Listeners[i]
		x.Samples += l.Samples
		if l.RecvQ > x.RecvQ {
			x.RecvQ, x.SendQ, x.File = l.RecvQ, l.SendQ, l.File
		}
	}
	slices.SortStableFunc(ev.Listeners, func(a, b Listener) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), a.Addr.Compare(b.Addr), strings.Compare(a.Local, b.Local))
	})
}

// Sysctl returns a setting's value and whether the evidence has it.
func (ev *HostEvidence) Sysctl(name string) (Sysctl, bool) {
	i, found := slices.BinarySearchFunc(ev.Sysctls, name, func(x Sysctl, n string) int { return strings.Compare(x.Name, n) })
	if !found {
		return Sysctl{}, false
	}
	return ev.Sysctls[i], true
}

// Counter returns a counter and whether the evidence has it.
func (ev *HostEvidence) Counter(name string) (Counter, bool) {
	i, found := slices.BinarySearchFunc(ev.Counters, name, func(x Counter, n string) int { return strings.Compare(x.Name, n) })
	if !found {
		return Counter{}, false
	}
	return ev.Counters[i], true
}

// lacksCounter reports whether the kernel has no such counter: a snapshot
// that lists every counter of its section (nstat -z, /proc/net/netstat)
// does not list it.
func (ev *HostEvidence) lacksCounter(name string) (file string, lacks bool) {
	sec, _, ok := strings.Cut(name, ":")
	if !ok {
		return "", false
	}
	for _, s := range ev.snaps {
		if _, has := s.values[name]; has {
			return "", false
		}
	}
	for _, s := range ev.snaps {
		if len(s.zero) == 0 && s.sections[sec] {
			return ev.Files[s.file].Path, true
		}
	}
	return "", false
}

// KernelVersion returns the major and minor version of Kernel, and whether
// it could be read.
func (ev *HostEvidence) KernelVersion() (major, minor int, ok bool) {
	return kernelVersion(ev.Kernel)
}

func kernelVersion(rel string) (major, minor int, ok bool) {
	n, _ := fmt.Sscanf(rel, "%d.%d", &major, &minor)
	return major, minor, n == 2
}

// counterKinds ranks the sources of counters: nstat and /proc name every
// counter exactly, netstat -s leaves out those that are 0 and words the
// others.
var counterKinds = []EvidenceKind{EvidenceNstat, EvidenceProcNet, EvidenceNetstat}

// resolveCounters computes Counters from the snapshots: for each counter,
// the first and the last snapshot of the best kind that has it twice, or
// the last one that has it, as a total since boot.
func (ev *HostEvidence) resolveCounters() {
	ev.orderNotes = nil
	ordered := map[EvidenceKind][]*counterSnapshot{}
	for _, k := range counterKinds {
		var snaps []*counterSnapshot
		for _, s := range ev.snaps {
			if s.kind == k {
				snaps = append(snaps, s)
			}
		}
		ordered[k] = ev.orderSnapshots(snaps)
	}
	names := map[string]bool{}
	for _, s := range ev.snaps {
		for n := range s.values {
			names[n] = true
		}
		if len(s.zero) > 0 {
			for _, n := range keyCounters {
				names[n] = true
			}
		}
	}
	ev.Counters = ev.Counters[:0]
	for _, name := range sortedKeys(names, strings.Compare) {
		// A counter the kernel does not have is not 0 where a tool leaves
		// out zeros.
		_, lacks := ev.lacksCounter(name)
		var c *Counter
		for _, k := range counterKinds {
			var obs []*counterSnapshot
			for _, s := range ordered[k] {
				_, explicit := s.values[name]
				_, implied := s.get(name)
				if explicit || implied && !lacks {
					obs = append(obs, s)
				}
			}
			if len(obs) >= 2 {
				a, b := obs[0], obs[len(obs)-1]
				va, _ := a.get(name)
				vb, _ := b.get(name)
				c = &Counter{Name: name, Before: va, After: vb, Delta: int64(vb - va), From: ev.Files[a.file].Path, To: ev.Files[b.file].Path}
				break
			}
			if len(obs) == 1 && c == nil {
				v, _ := obs[0].get(name)
				c = &Counter{Name: name, SinceBoot: true, After: v, To: ev.Files[obs[0].file].Path}
			}
		}
		if c != nil {
			ev.Counters = append(ev.Counters, *c)
		}
	}
}

// orderSnapshots puts snapshots of one kind in the order they were taken:
// by the time inside them when all have one; otherwise by their values,
// since counters only grow, so that a folder listed by name
// ("after" < "before") still gives before and after; otherwise as read.
func (ev *HostEvidence) orderSnapshots(snaps []*counterSnapshot) []*counterSnapshot {
	if len(snaps) < 2 {
		return snaps
	}
	out := slices.Clone(snaps)
	timed := true
	for _, s := range out {
		timed = timed && !s.time.IsZero()
	}
	if timed {
		slices.SortStableFunc(out, func(a, b *counterSnapshot) int { return a.time.Compare(b.time) })
		return out
	}
	// Insertion sort: growth is not a total order when files disagree.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0; j-- {
			up, down := growth(out[j-1], out[j])
			if down <= up {
				break
			}
			out[j-1], out[j] = out[j], out[j-1]
		}
	}
	for i := 1; i < len(out); i++ {
		if up, down := growth(out[i-1], out[i]); up > 0 && down > 0 {
			ev.orderNotes = append(ev.orderNotes, fmt.Sprintf("%s and %s disagree on which was taken first (%d counters grew, %d fell): the host rebooted between them, they are from two hosts, or they are nstat runs without -a (increments, not totals)",
				filepath.Base(ev.Files[out[i-1].file].Path), filepath.Base(ev.Files[out[i].file].Path), up, down))
		}
	}
	return out
}

// gauges are values in the counter files that can go down.
var gauges = map[string]bool{"Tcp:CurrEstab": true, "Tcp:MaxConn": true, "Tcp:RtoMin": true, "Tcp:RtoMax": true, "Tcp:RtoAlgorithm": true, "Ip:Forwarding": true, "Ip:DefaultTTL": true}

// growth counts the counters that grew and fell from a to b.
func growth(a, b *counterSnapshot) (up, down int) {
	for n, va := range a.values {
		if gauges[n] {
			continue
		}
		vb, ok := b.values[n]
		switch {
		case !ok:
		case vb > va:
			up++
		case vb < va:
			down++
		}
	}
	return up, down
}

// keyCounters are the counters that tell how the kernel treated SYNs, in
// the order the report lists them.
var keyCounters = []string{
	"TcpExt:ListenOverflows", "TcpExt:ListenDrops",
	"TcpExt:TCPReqQFullDrop", "TcpExt:TCPReqQFullDoCookies",
	"TcpExt:SyncookiesSent", "TcpExt:SyncookiesRecv", "TcpExt:SyncookiesFailed",
	"TcpExt:PAWSPassive", "TcpExt:PAWSActive", "TcpExt:PAWSEstab",
	"TcpExt:TW", "TcpExt:TWRecycled", "TcpExt:TCPTimeWaitOverflow",
	"TcpExt:EmbryonicRsts", "TcpExt:TCPBacklogDrop", "TcpExt:TCPSynRetrans",
	"Tcp:PassiveOpens", "Tcp:ActiveOpens", "Tcp:AttemptFails", "Tcp:EstabResets",
	"Tcp:OutRsts", "Tcp:RetransSegs",
}

// KeyCounters returns the counters that tell how the kernel treated SYNs,
// those the evidence has, in a fixed order.
func (ev *HostEvidence) KeyCounters() []Counter {
	var out []Counter
	for _, n := range keyCounters {
		if c, ok := ev.Counter(n); ok {
			out = append(out, c)
		}
	}
	return out
}

// IsKeyCounter reports whether a counter is one of KeyCounters.
func IsKeyCounter(name string) bool { return slices.Contains(keyCounters, name) }

// keySysctls are the settings that decide how the kernel treats SYNs.
var keySysctls = []string{
	"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_timestamps",
	"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries",
	"net.ipv4.tcp_syn_linear_timeouts",
}

// KeySysctls returns the settings that decide how the kernel treats SYNs,
// those the evidence has, in a fixed order.
func (ev *HostEvidence) KeySysctls() []Sysctl {
	var out []Sysctl
	for _, n := range keySysctls {
		if s, ok := ev.Sysctl(n); ok {
			out = append(out, s)
		}
	}
	return out
}

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
