package flows

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// Capture is what reading one capture file found, apart from the attempts,
// which go to the Config's Emit function as they finish.
type Capture struct {
	Format    string     // see Reader.Format
	LinkTypes []LinkType // in order of first appearance
	// Packets counts every record read, as tshark counts frames.
	Packets int64
	// Duplicates counts records dropped because they repeat the previous
	// IP packet within DuplicateWindow, as tcpdump -i any does for a packet
	// that crosses two interfaces (TTL and IPv4 checksum may differ).
	Duplicates int64
	// DuplicateSYNs counts the duplicates that were SYNs.
	DuplicateSYNs int64
	First         int64 // time of the earliest record, ns since the epoch
	Last          int64 // time of the latest record
	// Frames with a SYN, a SYN-ACK, a RST in any TCP header they carry
	// (tunnelled or quoted in ICMP too), counted like tshark's display
	// filters tcp.flags.syn==1 && tcp.flags.ack==0, …ack==1, tcp.flags.reset==1.
	SYNFrames, SYNACKFrames, RSTFrames int64
	// TCPFrames counts frames with a TCP header that has flags, anywhere
	// in them, as tshark's display filter tcp.flags does.
	TCPFrames int64
	// Decoded counts the frames flows decoded: those with a TCP header
	// with flags (their own or tunnelled), or with an ICMP error quoting
	// a TCP header. Undecoded counts the others, by Reason, and the
	// decoded frames whose TCP header lacks something (the Partial
	// reasons). Every record counts once in Decoded, in a reason that is
	// not Partial, or in FilteredOut:
	//
	//	Packets == Decoded + Undecoded.Frames() + FilteredOut
	Decoded   int64
	Undecoded Undecoded
	// FilteredOut counts the frames that Config.Filter or the time window
	// left out; the counts above leave them out too, but for frames of a
	// link type flows does not decode, which count in Undecoded (the
	// filter cannot test them). Packets counts them, and First and Last
	// span every record.
	FilteredOut int64
	Tracker     TrackerStats
	// Warnings are non-fatal problems, each once. A file-level error that
	// stopped the reading is the last one.
	Warnings []string
	// Err is the file-level error that stopped reading before the end, if
	// any; everything before it was read and counted.
	Err error
	// leftOut holds the Warnings that say part of a capture read to its end
	// is missing from the attempts: see LeftOut.
	leftOut []string
}

// DuplicateWindow is how close in time two records must be for the second
// to count as a copy of the first.
const DuplicateWindow = 10e6 // 10 ms

// Config tunes ReadCapture.
type Config struct {
	// MaxOpen caps attempts tracked at once; see NewTracker.
	MaxOpen int
	// Emit receives every attempt when it is finished. It may keep it.
	Emit func(*Attempt)
	// Filter, when not nil, selects the packets the tracker sees; the
	// others count in Capture.FilteredOut. See Filter.Match.
	Filter *Filter
	// Since and Until, when set, keep the packets from Since (included) to
	// Until (excluded); the others count in Capture.FilteredOut.
	Since, Until Instant
	// Listener, when its address is valid, keeps only the attempts to that
	// address (and port, unless 0); the others are tracked but not emitted.
	Listener Listener
}

// ReadCapture reads a whole capture from r in one pass. The returned Capture
// is never nil: when the capture cannot be read to its end, it holds what was
// read before the problem, and the error (a *FormatError) is returned too.
func ReadCapture(r io.Reader, cfg Config) (*Capture, error) {
	c := &Capture{}
	rd, err := NewReader(r)
	if err != nil {
		c.Err = err
		return c, err
	}
	defer rd.Close()
	c.Format = rd.Format()
	emit := cfg.Emit
	if emit == nil {
		emit = func(*Attempt) {}
	}
	if l := cfg.Listener; l.Addr.IsValid() {
		all := emit
		emit = func(a *Attempt) {
			if l.keeps(a.Server) {
				all(a)
			}
		}
	}
	window := !cfg.Since.IsZero() || !cfg.Until.IsZero()
	var since, until int64
	tr := NewTracker(cfg.MaxOpen, emit)
	var (
		dec       Decoder
		prev      [dupPrefix]byte // the start of the previous IP packet
		prevLen   int             // and its whole length
		prevTime  int64
		havePrev  bool
		lastLT    LinkType
		ltCounts  []int64 // parallel to c.LinkTypes
		ltCount   *int64  // of lastLT; nil before the first record
		supported bool
	)
	for {
		rec, err := rd.Next()
		if err != nil {
			if err != io.EOF {
				c.Err = err
			}
			break
		}
		c.Packets++
		frame := c.Packets
		if c.Packets == 1 || rec.Time < c.First {
			c.First = rec.Time
		}
		if c.Packets == 1 && window {
			// Offsets count from the first record, as tshark's
			// frame.time_relative does.
			since, until = cfg.Since.resolve(rec.Time), cfg.Until.resolve(rec.Time)
		}
		if rec.Time > c.Last {
			c.Last = rec.Time
		}
		if ltCount == nil || rec.LinkType != lastLT {
			lastLT = rec.LinkType
			i := slices.Index(c.LinkTypes, lastLT)
			if i < 0 {
				i = len(c.LinkTypes)
				c.LinkTypes = append(c.LinkTypes, lastLT)
				ltCounts = append(ltCounts, 0)
			}
			ltCount = &ltCounts[i]
			supported = lastLT.Supported()
		}
		*ltCount++
		if !supported {
			c.Undecoded[ReasonLinkType]++
			havePrev = false
			continue
		}
		dec.Decode(rec.Data, rec.LinkType)
		if window && (!cfg.Since.IsZero() && rec.Time < since || !cfg.Until.IsZero() && rec.Time >= until) || !cfg.Filter.Match(&dec) {
			c.FilteredOut++
			havePrev = false
			continue
		}
		if dec.decoded() {
			c.Decoded++
			if dec.partial != 0 {
				c.Undecoded[dec.partial]++
			}
		} else {
			c.Undecoded[dec.why]++
		}
		m := dec.marks
		if m&markTCP != 0 {
			c.TCPFrames++
		}
		if m&markSYN != 0 {
			c.SYNFrames++
		}
		if m&markSYNACK != 0 {
			c.SYNACKFrames++
		}
		if m&markRST != 0 {
			c.RSTFrames++
		}
		if dec.l3 == nil {
			havePrev = false
			continue
		}
		n := min(len(dec.l3), dupPrefix)
		if havePrev && len(dec.l3) == prevLen && rec.Time-prevTime <= DuplicateWindow && rec.Time >= prevTime && sameIPPacket(prev[:n], dec.l3[:n]) {
			c.Duplicates++
			if m&markSYN != 0 {
				c.DuplicateSYNs++
			}
			continue
		}
		copy(prev[:], dec.l3[:n])
		prevLen = len(dec.l3)
		prevTime, havePrev = rec.Time, true
		tr.Observe(&dec, rec.Time, frame)
	}
	tr.Flush()
	c.Tracker = tr.Stats
	c.Warnings = rd.Warnings()
	for i, lt := range c.LinkTypes {
		if !lt.Supported() {
			c.leftOut = append(c.leftOut, fmt.Sprintf("link type %v is not decoded: %d packets skipped", lt, ltCounts[i]))
		}
	}
	if w := c.EvictionWarning(); w != "" {
		c.leftOut = append(c.leftOut, w)
	}
	if n := c.Tracker.UnseenSYNACKs; n > 0 {
		what := fmt.Sprintf("%d handshakes completed", n)
		if n == 1 {
			what = "1 handshake completed"
		}
		c.leftOut = append(c.leftOut, what+" on a SYN-ACK the capture does not hold (the client acknowledged it, or the server already sent data): the capture misses packets of one direction (asymmetric routing, a tap or SPAN port that sees one side, a capture filter), so what it shows as unanswered may have been answered")
	}
	c.Warnings = append(c.Warnings, c.leftOut...)
	if c.Err != nil {
		c.Warnings = append(c.Warnings, "stopped early: "+c.Err.Error()+"; everything before it was analyzed")
	}
	return c, c.Err
}

// LeftOut returns the warnings that say the attempts leave out part of the
// capture though it was read to its end: packets of link types flows does
// not decode, and handshakes closed early by the cap on open attempts (see
// EvictionWarning). They are among Warnings too.
func (c *Capture) LeftOut() []string { return c.leftOut }

// EvictionWarning returns the warning of a capture whose attempts
// outnumbered Config.MaxOpen, one of its Warnings, or "" when none was
// evicted.
func (c *Capture) EvictionWarning() string {
	st := c.Tracker
	if st.Evicted == 0 {
		return ""
	}
	msg := fmt.Sprintf("more than %d handshakes were open at once: %d were closed early and may look incomplete (raise --max-open)", st.MaxOpen, st.Evicted)
	if late := st.AfterEviction; late.Total() > 0 {
		msg += fmt.Sprintf("; %d packets arrived for them afterwards (%d SYN retransmissions, %d SYN-ACKs, %d client ACKs, %d RSTs, %d ICMP errors), %d of them answered",
			late.Total(), late.SYNs, late.SYNACKs, late.ACKs, late.RSTs, late.ICMP, st.AnsweredAfterEviction)
	}
	return msg
}

// dupPrefix is how much of an IP packet the duplicate check compares: the
// IP and TCP headers up to and past the TCP checksum (offset 36 after an
// IPv4 header, 56 after an IPv6 one), which stands for the payload. Copying
// a fixed prefix of every packet is cheaper than copying the packet.
const dupPrefix = 64

// sameIPPacket reports whether b repeats the start a of an IP packet of the
// same length, allowing for the TTL or hop limit (and so the IPv4 header
// checksum) that a router changes.
func sameIPPacket(a, b []byte) bool {
	if len(a) != len(b) || len(a) < 20 {
		return false
	}
	// The first 8 bytes hold the IPv4 ID, which differs between almost any
	// two packets: compare them as one word before anything else.
	if a[0]>>4 == 4 {
		return binary.LittleEndian.Uint64(a) == binary.LittleEndian.Uint64(b) && a[9] == b[9] && bytes.Equal(a[12:], b[12:])
	}
	return len(a) >= 40 && binary.LittleEndian.Uint64(a)&0x00ffffffffffffff == binary.LittleEndian.Uint64(b)&0x00ffffffffffffff && bytes.Equal(a[8:], b[8:])
}
