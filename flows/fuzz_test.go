package flows

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// fuzzSeedFiles are the captures that seed the fuzz targets: those of
// testdata/edge and ../testdata/lab, and the foreign captures (see
// foreignDir), when they are there, up to maxForeign bytes each.
func fuzzSeedFiles(tb testing.TB, maxForeign int64) []string {
	files := captureFiles(tb)
	dir, _ := foreignDir()
	foreign, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range foreign {
		switch filepath.Ext(f) {
		case ".tsv", ".md":
			continue
		}
		if st, err := os.Stat(f); err == nil && st.Size() <= maxForeign {
			files = append(files, f)
		}
	}
	return files
}

// FuzzReadCapture reads arbitrary bytes as a capture. Reading must not
// panic, must stop with nil or a *FormatError, and what it counts must hold
// together.
func FuzzReadCapture(f *testing.F) {
	for _, name := range fuzzSeedFiles(f, 16<<10) {
		if filepath.Dir(name) == edgeDir {
			continue // added below, with the files that are no captures
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, fx := range edgeFixtures {
		f.Add(fx.build(f))
	}
	// Issue 16: link type 65535 (it panicked), and zstd frames with a
	// window too large and with one of zstd --long=31.
	for _, b := range linkType65535Captures(f) {
		f.Add(b)
	}
	f.Add(zstdFrame(32, genHandshake(f)))
	f.Add(zstdFrame(31, genHandshake(f)[:100]))
	// A frame header that declares a large window makes the decoder
	// allocate it: even 16 MiB cut the fuzzer to 10 executions a second.
	// TestZstdLargeWindow reads windows up to MaxZstdWindow.
	defer func(n uint64) { zstdWindowLimit = n }(zstdWindowLimit)
	zstdWindowLimit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		var emitted, evicted int64
		c, err := ReadCapture(bytes.NewReader(data), Config{MaxOpen: 8, Emit: func(a *Attempt) {
			emitted++
			if a.Evicted {
				evicted++
			}
			if len(a.SYNs) == 0 {
				t.Errorf("attempt %v > %v without SYN", a.Client, a.Server)
			}
		}})
		checkCapture(t, data, c, err)
		if emitted != c.Tracker.Attempts || evicted != c.Tracker.Evicted {
			t.Errorf("%d attempts emitted (%d evicted), tracker counts %d (%d)", emitted, evicted, c.Tracker.Attempts, c.Tracker.Evicted)
		}
		if late := c.Tracker.AfterEviction; late.Total() > 0 && evicted == 0 || c.Tracker.AnsweredAfterEviction > evicted {
			t.Errorf("%d packets after eviction, %d answered, of %d attempts evicted", late.Total(), c.Tracker.AnsweredAfterEviction, evicted)
		}
	})
}

// checkCapture checks what ReadCapture returned for data.
func checkCapture(t *testing.T, data []byte, c *Capture, err error) {
	t.Helper()
	if c == nil {
		t.Fatal("nil Capture")
	}
	if err != c.Err {
		t.Errorf("ReadCapture returned %v, Capture.Err is %v", err, c.Err)
	}
	var fe *FormatError
	if err != nil && !errors.As(err, &fe) {
		t.Errorf("error %T %v is not a *FormatError", err, err)
	}
	// Every record takes at least 16 bytes of the (decompressed) capture: a
	// pcap record header, or a pcapng simple packet block.
	if n := decompressedLen(data); n >= 0 && c.Packets > int64(n)/16 {
		t.Errorf("%d packets from %d bytes", c.Packets, n)
	}
	if c.Duplicates > c.Packets {
		t.Errorf("%d packets, but %d duplicates", c.Packets, c.Duplicates)
	}
	// Every frame is decoded, counted under one reason, or filtered out.
	if n := c.Decoded + c.Undecoded.Frames() + c.FilteredOut; n != c.Packets {
		t.Errorf("%d packets, but %d decoded + %d undecoded %v + %d filtered out = %d", c.Packets, c.Decoded, c.Undecoded.Frames(), c.Undecoded, c.FilteredOut, n)
	}
	if c.TCPFrames > c.Decoded || c.Undecoded.Partial() > c.Decoded {
		t.Errorf("%d decoded frames, but %d TCP frames, %d decoded in part", c.Decoded, c.TCPFrames, c.Undecoded.Partial())
	}
	if c.SYNFrames > c.TCPFrames || c.SYNACKFrames > c.TCPFrames || c.RSTFrames > c.TCPFrames {
		t.Errorf("%d TCP frames, but %d SYN, %d SYN-ACK, %d RST", c.TCPFrames, c.SYNFrames, c.SYNACKFrames, c.RSTFrames)
	}
	if c.Tracker.PeakOpen > c.Tracker.MaxOpen {
		t.Errorf("%d attempts open at once, more than the cap of %d", c.Tracker.PeakOpen, c.Tracker.MaxOpen)
	}
}

// decompressedLen returns the length of data after decompression, or -1
// when it is too large to check.
func decompressedLen(data []byte) int {
	var r io.Reader
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return 0
		}
		r = zr
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return 0
		}
		defer zr.Close()
		r = zr
	default:
		return len(data)
	}
	const limit = 64 << 20
	n, _ := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	if n > limit {
		return -1
	}
	return int(n)
}

// FuzzDecode decodes arbitrary bytes as a frame of any link type. Decoding
// must not panic nor allocate, what it finds must be usable by the tracker,
// and for Ethernet frames it must agree with gopacket.
func FuzzDecode(f *testing.F) {
	for _, name := range fuzzSeedFiles(f, 1<<30) {
		for _, fr := range captureFrames(f, name, 16) {
			f.Add(fr.data, uint16(fr.lt))
		}
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte, lt uint16) {
		d.frags = nil // no state from earlier inputs
		d.Decode(data, LinkType(lt))
		checkDecoded(t, &d, LinkType(lt))
		if LinkType(lt) == LinkEthernet {
			compareGopacket(t, &d, data)
		}
		if n := testing.AllocsPerRun(4, func() { d.Decode(data, LinkType(lt)) }); n != 0 {
			t.Errorf("Decode allocates %v times per frame", n)
		}
	})
}

// checkDecoded uses the decoder's results the way the tracker does, and
// checks that a frame not decoded has a reason, and that a decoded one is
// counted in part exactly when its segment is cut.
func checkDecoded(t *testing.T, d *Decoder, lt LinkType) {
	t.Helper()
	switch {
	case !d.decoded() && (d.why.Partial() || d.partial != 0):
		t.Errorf("frame not decoded, reason %v, partial %v", d.why, d.partial)
	case !d.decoded() && d.why == ReasonLinkType && lt.Supported() && lt != LinkPPI:
		t.Errorf("frame of link type %v not decoded, without a reason", lt)
	case d.decoded() && d.partial != 0 && !d.partial.Partial():
		t.Errorf("decoded frame counted in part under %v", d.partial)
	}
	if d.hasTCP {
		if len(d.tcp) < 8 {
			t.Errorf("TCP header of %d bytes", len(d.tcp))
		}
		if d.tcp.hasFlags() {
			s := segmentOf(d, 1, 1)
			if s.Cut && d.partial == 0 || d.partial == ReasonTCPOptionsCut && !s.Cut {
				t.Errorf("segment cut %v, frame counted in part under %v", s.Cut, d.partial)
			}
			makeKey(&d.ip, d.tcp)
			filterHash(&d.ip, d.tcp)
			if s.Src.Addr().BitLen() != s.Dst.Addr().BitLen() {
				t.Errorf("segment from %v to %v", s.Src, s.Dst)
			}
		}
	}
	if d.hasICMP {
		if len(d.quoteTCP) < 8 {
			t.Errorf("quoted TCP header of %d bytes", len(d.quoteTCP))
		}
		makeKey(&d.quoteIP, d.quoteTCP)
		addrOf(d.icmpIP.src)
		d.quoteTCP.seq()
	}
	if (d.hasTCP || d.hasICMP) && d.l3 == nil {
		t.Error("a TCP segment or ICMP error without an outer IP packet")
	}
}

// compareGopacket checks, for an Ethernet frame that gopacket decodes as
// Ethernet, 802.1Q tags, IPv4 or IPv6 and TCP without error, that the
// decoder found the same addresses, ports, sequence numbers and flags.
func compareGopacket(t *testing.T, d *Decoder, data []byte) {
	t.Helper()
	if _, msg := gopacketDiff(d, data); msg != "" {
		t.Error(msg)
	}
}

// gopacketDiff reports whether gopacket's view of an Ethernet frame is one
// that is compared, and how the decoder's differs from it ("" if not).
func gopacketDiff(d *Decoder, data []byte) (compared bool, diff string) {
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	if p.ErrorLayer() != nil {
		return false, ""
	}
	var (
		src, dst net.IP
		ttl      uint8
		tcp      *layers.TCP
	)
	for i, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			// gopacket reads EtherType 0xffff as raw IP; tshark and
			// flows call it reserved.
			if i != 0 || l.EthernetType == layers.EthernetTypeRaw {
				return false, ""
			}
		case *layers.Dot1Q:
			if l.Type == layers.EthernetTypeRaw {
				return false, ""
			}
		case *layers.IPv4:
			if src != nil || l.Version != 4 {
				return false, ""
			}
			src, dst, ttl = l.SrcIP, l.DstIP, l.TTL
		case *layers.IPv6:
			if src != nil || l.Version != 6 {
				return false, ""
			}
			src, dst, ttl = l.SrcIP, l.DstIP, l.HopLimit
		case *layers.TCP:
			if src == nil {
				return false, ""
			}
			tcp = l
		case *gopacket.Payload:
		default:
			return false, "" // a tunnel, an extension header, …: not compared
		}
	}
	if tcp == nil {
		return false, ""
	}
	if !d.hasTCP {
		return true, fmt.Sprintf("gopacket finds TCP %v > %v, the decoder none", tcp.SrcPort, tcp.DstPort)
	}
	want := struct {
		src, dst         string
		ttl              uint8
		sport, dport     uint16
		seq, ack         uint32
		flags            TCPFlags
		window           uint16
		hasFlags, hasWin bool
	}{
		src.String(), dst.String(), ttl, uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Seq, tcp.Ack,
		TCPFlags(tcp.Contents[13]), tcp.Window, true, true,
	}
	got := want
	got.src, got.dst, got.ttl = addrOf(d.ip.src).String(), addrOf(d.ip.dst).String(), d.ip.ttl
	got.sport, got.dport, got.seq = d.tcp.srcPort(), d.tcp.dstPort(), d.tcp.seq()
	got.hasFlags, got.hasWin = d.tcp.hasFlags(), d.tcp.hasWindow()
	if d.tcp.hasAck() {
		got.ack = d.tcp.ack()
	}
	if got.hasFlags {
		got.flags = d.tcp.flags()
	}
	if got.hasWin {
		got.window = d.tcp.window()
	}
	if got != want {
		return true, fmt.Sprintf("decoder and gopacket differ:\n got %+v\nwant %+v", got, want)
	}
	return true, ""
}

// linkFrame is one frame of a capture and the link type it was captured on.
type linkFrame struct {
	data []byte
	lt   LinkType
}

// captureFrames returns up to max frames of a capture (all if max <= 0),
// copied out of the reader's buffer. It reads what it can of a capture that
// is cut or corrupt.
func captureFrames(tb testing.TB, path string, max int) []linkFrame {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rd, err := NewReader(f)
	if err != nil {
		return nil
	}
	defer rd.Close()
	var frames []linkFrame
	for max <= 0 || len(frames) < max {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		frames = append(frames, linkFrame{append([]byte(nil), rec.Data...), rec.LinkType})
	}
	return frames
}

// TestDecodeAllocs decodes every frame of the test captures (and of the
// foreign ones, when they are there) and checks that no frame makes the
// decoder allocate.
func TestDecodeAllocs(t *testing.T) {
	files := fuzzSeedFiles(t, 1<<30)
	var d Decoder
	frames := 0
	for _, name := range files {
		all := captureFrames(t, name, 0)
		frames += len(all)
		decodeAll := func() {
			for _, fr := range all {
				d.Decode(fr.data, fr.lt)
			}
		}
		if n := testing.AllocsPerRun(2, decodeAll); n == 0 {
			continue
		}
		for i, fr := range all {
			if n := testing.AllocsPerRun(2, func() { d.Decode(fr.data, fr.lt) }); n != 0 {
				t.Errorf("%s frame %d (%v): Decode allocates %v times", filepath.Base(name), i+1, fr.lt, n)
			}
		}
	}
	t.Logf("%d frames of %d captures", frames, len(files))
}

// TestDecodeAgreesWithGopacket compares the decoder with gopacket on every
// Ethernet frame of the test captures, as FuzzDecode does on its inputs.
func TestDecodeAgreesWithGopacket(t *testing.T) {
	var d Decoder
	compared := 0
	for _, name := range fuzzSeedFiles(t, 1<<30) {
		for i, fr := range captureFrames(t, name, 0) {
			if fr.lt != LinkEthernet {
				continue
			}
			d.Decode(fr.data, fr.lt)
			ok, msg := gopacketDiff(&d, fr.data)
			if ok {
				compared++
			}
			if msg != "" {
				t.Errorf("%s frame %d: %s", filepath.Base(name), i+1, msg)
			}
		}
	}
	if compared == 0 {
		t.Error("no frame was compared")
	}
	t.Logf("%d frames compared", compared)
}
