package evidence

// Counter snapshots: each nstat, /proc/net or netstat -s file is one, and a
// counter's change is read between the first and the last snapshot that
// has it, once they are in the order they were taken.

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

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

// Value is the counter's change between the snapshots, or its total since
// boot.
func (c Counter) Value() int64 {
	if c.SinceBoot {
		return int64(c.After)
	}
	return c.Delta
}

// Valid reports whether Value can be used: a total, or a change that is not
// negative (a counter that went down means a reboot between the
// snapshots).
func (c Counter) Valid() bool { return c.SinceBoot || c.Delta >= 0 }

// snapshot is the counters of one file.
type snapshot struct {
	file   int // index into Host.Files
	kind   Kind
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
func (s *snapshot) index() {
	s.sections = map[string]bool{}
	for n := range s.values {
		if sec, _, ok := strings.Cut(n, ":"); ok {
			s.sections[sec] = true
		}
	}
}

// get returns a counter's value in the snapshot, and whether the snapshot
// tells it.
func (s *snapshot) get(name string) (uint64, bool) {
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

// Counter returns a counter and whether the evidence has it.
func (h *Host) Counter(name string) (Counter, bool) {
	i, found := slices.BinarySearchFunc(h.Counters, name, func(x Counter, n string) int { return strings.Compare(x.Name, n) })
	if !found {
		return Counter{}, false
	}
	return h.Counters[i], true
}

// LacksCounter reports whether the kernel has no such counter, and the file
// that shows it: a snapshot that lists every counter of its section (nstat
// -z, /proc/net/netstat) does not list it.
func (h *Host) LacksCounter(name string) (file string, lacks bool) {
	sec, _, ok := strings.Cut(name, ":")
	if !ok {
		return "", false
	}
	for _, s := range h.snaps {
		if _, has := s.values[name]; has {
			return "", false
		}
	}
	for _, s := range h.snaps {
		if len(s.zero) == 0 && s.sections[sec] {
			return h.Files[s.file].Path, true
		}
	}
	return "", false
}

// CounterSpan returns the earliest and the latest time the counter
// snapshots state; zero when none states one.
func (h *Host) CounterSpan() (from, to time.Time) {
	for _, s := range h.snaps {
		if s.time.IsZero() {
			continue
		}
		if from.IsZero() || s.time.Before(from) {
			from = s.time
		}
		if s.time.After(to) {
			to = s.time
		}
	}
	return from, to
}

// counterKinds ranks the sources of counters: nstat and /proc name every
// counter exactly, netstat -s leaves out those that are 0 and words the
// others.
var counterKinds = []Kind{KindNstat, KindProcNet, KindNetstat}

// resolveCounters computes Counters from the snapshots: for each counter,
// the first and the last snapshot of the best kind that has it twice, or
// the last one that has it, as a total since boot.
func (h *Host) resolveCounters() {
	h.orderNotes = nil
	ordered := map[Kind][]*snapshot{}
	for _, k := range counterKinds {
		var snaps []*snapshot
		for _, s := range h.snaps {
			if s.kind == k {
				snaps = append(snaps, s)
			}
		}
		ordered[k] = h.orderSnapshots(snaps)
	}
	names := map[string]bool{}
	for _, s := range h.snaps {
		for n := range s.values {
			names[n] = true
		}
		if len(s.zero) > 0 {
			for _, n := range keyCounters {
				names[n] = true
			}
		}
	}
	h.Counters = h.Counters[:0]
	for _, name := range sortedNames(names) {
		// A counter the kernel does not have is not 0 where a tool leaves
		// out zeros.
		_, lacks := h.LacksCounter(name)
		var c *Counter
		for _, k := range counterKinds {
			var obs []*snapshot
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
				c = &Counter{Name: name, Before: va, After: vb, Delta: int64(vb - va), From: h.Files[a.file].Path, To: h.Files[b.file].Path}
				break
			}
			if len(obs) == 1 && c == nil {
				v, _ := obs[0].get(name)
				c = &Counter{Name: name, SinceBoot: true, After: v, To: h.Files[obs[0].file].Path}
			}
		}
		if c != nil {
			h.Counters = append(h.Counters, *c)
		}
	}
}

// orderSnapshots puts snapshots of one kind in the order they were taken.
func (h *Host) orderSnapshots(snaps []*snapshot) []*snapshot {
	return orderTaken(snaps, func(s *snapshot) time.Time { return s.time }, growth,
		func(a, b *snapshot, up, down int) {
			h.orderNotes = append(h.orderNotes, fmt.Sprintf("%s and %s disagree on which was taken first (%d counters grew, %d fell): the host rebooted between them, they are from two hosts, or they are nstat runs without -a (increments, not totals)",
				filepath.Base(h.Files[a.file].Path), filepath.Base(h.Files[b.file].Path), up, down))
		})
}

// orderTaken puts snapshots in the order they were taken: by the time
// inside them when all have one; otherwise by their values, since
// counters only grow (growth counts those that grew and fell from a to
// b), so that a folder listed by name ("after" < "before") still gives
// before and after; otherwise as read. disagree hears of neighbours whose
// counters both grew and fell.
func orderTaken[S any](snaps []S, timeOf func(S) time.Time, growth func(a, b S) (up, down int), disagree func(a, b S, up, down int)) []S {
	if len(snaps) < 2 {
		return snaps
	}
	out := slices.Clone(snaps)
	timed := true
	for _, s := range out {
		timed = timed && !timeOf(s).IsZero()
	}
	if timed {
		slices.SortStableFunc(out, func(a, b S) int { return timeOf(a).Compare(timeOf(b)) })
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
			disagree(out[i-1], out[i], up, down)
		}
	}
	return out
}

// gauges are values in the counter files that can go down.
var gauges = map[string]bool{"Tcp:CurrEstab": true, "Tcp:MaxConn": true, "Tcp:RtoMin": true, "Tcp:RtoMax": true, "Tcp:RtoAlgorithm": true, "Ip:Forwarding": true, "Ip:DefaultTTL": true}

// growth counts the counters that grew and fell from a to b.
func growth(a, b *snapshot) (up, down int) {
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
func (h *Host) KeyCounters() []Counter { return present(keyCounters, h.Counter) }

// IsKeyCounter reports whether a counter is one of KeyCounters.
func IsKeyCounter(name string) bool { return slices.Contains(keyCounters, name) }

// present returns what get finds of names, in their order.
func present[T any](names []string, get func(string) (T, bool)) []T {
	var out []T
	for _, n := range names {
		if v, ok := get(n); ok {
			out = append(out, v)
		}
	}
	return out
}

// sortedNames returns a map's keys in order, for deterministic output.
func sortedNames[V any](m map[string]V) []string {
	names := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(names)
	return names
}
