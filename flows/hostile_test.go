package flows

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/zstd"
)

// linkType65535Captures are captures whose link type is 65535, the value
// the reader used to start from as "no link type yet" (issue 16): a pcap
// header with 0xFFFF, one with 0xFFFFFFFF (the upper bits are the FCS
// length, the link type the low 16), and a pcapng interface with 0xFFFF.
func linkType65535Captures(tb testing.TB) map[string][]byte {
	frames := handshakeFrames(tb)
	pcap := writePcap(tb, false, 262144, layers.LinkTypeEthernet, frames)
	ffff := slices.Clone(pcap)
	binary.LittleEndian.PutUint32(ffff[20:], 0xffff)
	ffffffff := slices.Clone(pcap)
	binary.LittleEndian.PutUint32(ffffffff[20:], 0xffffffff)
	var b ngBuilder
	b.section(binary.LittleEndian)
	b.iface(0xffff, 262144)
	for i, f := range frames {
		b.epb(0, uint64(f.t/1e3)+uint64(i), f.data, len(f.data))
	}
	// A second interface that is decoded, after the undecoded one.
	b.iface(LinkEthernet, 262144)
	b.epb(1, uint64(frames[0].t/1e3), frames[0].data, len(frames[0].data))
	return map[string][]byte{"pcap-ffff": ffff, "pcap-ffffffff": ffffffff, "pcapng-ffff": b.bytes()}
}

// TestLinkType65535 reads captures of link type 65535: they are counted
// and skipped like any unknown link type, with a warning, not a panic.
func TestLinkType65535(t *testing.T) {
	for name, data := range linkType65535Captures(t) {
		t.Run(name, func(t *testing.T) {
			c, err := ReadCapture(bytes.NewReader(data), Config{})
			if err != nil {
				t.Fatalf("error %v", err)
			}
			want := "link type unknown (65535) is not decoded: 8 packets skipped"
			if !slices.Contains(c.Warnings, want) {
				t.Errorf("warnings %q, want %q", c.Warnings, want)
			}
			if c.Undecoded[ReasonLinkType] != 8 || c.LinkTypes[0] != 0xffff {
				t.Errorf("%d undecoded of %d packets, link types %v; want 8 of link type 65535 first", c.Undecoded[ReasonLinkType], c.Packets, c.LinkTypes)
			}
			if strings.HasPrefix(name, "pcapng") && (c.Packets != 9 || c.SYNFrames != 1) {
				t.Errorf("%d packets, %d SYNs: want the Ethernet interface's SYN decoded after the others", c.Packets, c.SYNFrames)
			}
		})
	}
}

// zstdFrame writes a zstd frame by hand, with the window the header
// declares (windowLog 10..41) and data in raw blocks: the zstd command
// would need gigabytes of input to write a frame with a large window.
func zstdFrame(windowLog int, data []byte) []byte {
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, byte(windowLog-10) << 3}
	for len(data) > 0 {
		n := min(len(data), 128<<10)
		hdr := uint32(n) << 3 // raw block
		if n == len(data) {
			hdr |= 1 // last block
		}
		b = append(b, byte(hdr), byte(hdr>>8), byte(hdr>>16))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}

// TestZstdLargeWindow reads zstd frames with a window up to the limit
// (128 MiB, zstd's own default) and refuses larger ones, up to --long=31's
// 2 GiB, before the decoder allocates them, saying what to do.
func TestZstdLargeWindow(t *testing.T) {
	pcap := genHandshake(t)
	t.Run("long=27", func(t *testing.T) {
		c, err := ReadCapture(bytes.NewReader(zstdFrame(27, pcap)), Config{})
		if err != nil || c.Packets != 8 || c.Format != "pcap+zstd" {
			t.Fatalf("%d packets of %s, error %v; want 8 of pcap+zstd", c.Packets, c.Format, err)
		}
	})
	t.Run("long=31", func(t *testing.T) {
		// A few kilobytes that would make the decoder allocate 2 GiB.
		c, err := ReadCapture(bytes.NewReader(zstdFrame(31, pcap)), Config{})
		checkFormatErr(t, err, ErrUnsupportedFormat, 0, "offset 0: zstd window of 2 GiB, larger than the 128 MiB syndiag decodes (the zstd command's own default; a window is allocated whole before any data): decompress it first (zstd -d --long=31 FILE), or recompress without --long")
		if c.Packets != 0 {
			t.Errorf("%d packets", c.Packets)
		}
	})
	t.Run("second frame", func(t *testing.T) {
		// The first frame is fine; the second asks for too much.
		data := append(zstdFrame(20, pcap[:24+16+74]), zstdFrame(33, pcap[24+16+74:])...)
		c, err := ReadCapture(bytes.NewReader(data), Config{})
		var we *zstdWindowError
		if !errors.As(err, &we) || !strings.Contains(err.Error(), "zstd window of more than 128 MiB") {
			t.Errorf("error %v; want the window named", err)
		}
		if c.Packets != 1 {
			t.Errorf("%d packets, want the first frame's 1", c.Packets)
		}
	})
}

// TestCompressedCutShort cuts gzip and zstd streams before their capture
// header is whole: the error says the stream was cut short.
func TestCompressedCutShort(t *testing.T) {
	pcap := genHandshake(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pcap)
	zw.Close()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	zst := enc.EncodeAll(pcap, nil)
	emptyZst := enc.EncodeAll(nil, nil)
	enc.Close()
	var emptyGz bytes.Buffer
	zw = gzip.NewWriter(&emptyGz)
	zw.Close()
	for _, tc := range []struct {
		name     string
		data     []byte
		sentinel error
		msg      string
	}{
		{"zstd frame header only", zst[:6], ErrTruncated, "offset 0: zstd stream cut short before the capture header: the file was not copied whole"},
		{"zstd half", zst[:len(zst)/2], ErrTruncated, "offset 0: zstd stream cut short before the capture header: the file was not copied whole"},
		{"zstd last byte missing", zst[:len(zst)-1], ErrTruncated, "offset 0: zstd stream cut short before the capture header: the file was not copied whole"},
		{"gzip header only", gz.Bytes()[:10], ErrTruncated, "offset 0: gzip stream cut short before the capture header: the file was not copied whole"},
		{"gzip header cut", gz.Bytes()[:5], ErrTruncated, "offset 0: gzip header cut short"},
		{"zstd empty", emptyZst, ErrTruncated, "offset 0: zstd stream holds no capture header: it is empty"},
		{"gzip empty", emptyGz.Bytes(), ErrTruncated, "offset 0: gzip stream holds no capture header: it is empty"},
		{"zstd corrupt", append(slices.Clone(zst[:4]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrCorrupt, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadCapture(bytes.NewReader(tc.data), Config{})
			if tc.msg == "" {
				if !errors.Is(err, tc.sentinel) {
					t.Errorf("error %v, want %v", err, tc.sentinel)
				}
			} else {
				checkFormatErr(t, err, tc.sentinel, 0, tc.msg)
			}
			if c == nil || c.Packets != 0 {
				t.Errorf("capture %+v", c)
			}
		})
	}
}

// TestTrackerAfterEviction checks that what arrives for an evicted attempt
// is counted on it, not taken for an orphan or a new attempt, and that the
// tracker forgets the oldest evicted attempts past its bound.
func TestTrackerAfterEviction(t *testing.T) {
	r := newTrackerRun(t, 2)
	for i := range 3 {
		r.send(int64(i)*1000, spoofed(i)) // 0 is evicted by 2
	}
	if len(r.emitted) != 1 || !r.emitted[0].Evicted || r.emitted[0].EvictedAt != at(2000) {
		t.Fatalf("emitted %v, want the first attempt evicted at the third SYN", r.clients())
	}
	first := r.emitted[0]
	syn := spoofed(0)
	synack := tcpSpec{src: syn.dst, dst: syn.src, seq: 5000, ack: syn.seq + 1, flags: SYN | ACK, window: 65160}
	ack := tcpSpec{src: syn.src, dst: syn.dst, seq: syn.seq + 1, ack: 5001, flags: ACK, window: 502}
	r.send(1_000_000, syn)    // its retransmission
	r.send(1_000_100, synack) // the answer
	r.send(1_000_200, ack)    // the third ACK: in the per-packet filter
	r.send(1_000_300, tcpSpec{src: syn.dst, dst: syn.src, seq: 5001, ack: syn.seq + 1, flags: ACK, window: 509})
	want := Late{SYNs: 1, SYNACKs: 1, ACKs: 1, Last: at(1_000_200)}
	if first.AfterEviction != want {
		t.Errorf("after eviction: %+v, want %+v", first.AfterEviction, want)
	}
	st := r.tr.Stats
	if st.AfterEviction != want || st.AnsweredAfterEviction != 1 || st.OrphanSYNACKs != 0 || st.Attempts != 3 {
		t.Errorf("stats %+v: want %+v after eviction, 1 answered, no orphan, 3 attempts", st, want)
	}
	// A new ISN on the 4-tuple is a new attempt, which evicts attempt 1.
	again := syn
	again.seq += 7
	r.send(2_000_000, again)
	if st := r.tr.Stats; st.Attempts != 4 || st.Evicted != 2 || first.AfterEviction.SYNs != 1 {
		t.Errorf("after a SYN with a new ISN: %+v, and the evicted attempt counts %d SYNs; want 4 attempts, 2 evicted, 1 SYN", st, first.AfterEviction.SYNs)
	}
	// Only MinRecentEvicted evicted attempts are remembered (the cap is
	// smaller): evict that many more, and the SYN-ACK of the attempt
	// evicted first is an orphan.
	for i := range MinRecentEvicted {
		r.send(3_000_000+int64(i), spoofed(3+i))
	}
	one := spoofed(1)
	r.send(4_000_000, tcpSpec{src: one.dst, dst: one.src, seq: 6000, ack: one.seq + 1, flags: SYN | ACK})
	if st := r.tr.Stats; st.OrphanSYNACKs != 1 || st.AfterEviction.SYNACKs != 1 {
		t.Errorf("stats %+v: want the forgotten attempt's SYN-ACK as an orphan", st)
	}
	if n := len(r.tr.recent); n != MinRecentEvicted {
		t.Errorf("%d evicted attempts remembered, want %d", n, MinRecentEvicted)
	}
	r.tr.Flush()
	if want := 4 + MinRecentEvicted; len(r.emitted) != want {
		t.Errorf("%d attempts emitted, want %d", len(r.emitted), want)
	}
}

// TestEvictionWarning reads a capture with more handshakes than the cap
// whose SYN-ACKs come after eviction: the warning counts them.
func TestEvictionWarning(t *testing.T) {
	var frames []frame
	for i := range 4 {
		syn := spoofed(i)
		frames = append(frames, frame{t: at(int64(i) * 1000), data: syn.ipPacket(t)})
	}
	for i := range 4 {
		syn := spoofed(i)
		sa := tcpSpec{src: syn.dst, dst: syn.src, seq: 9000, ack: syn.seq + 1, flags: SYN | ACK, window: 65160}
		frames = append(frames, frame{t: at(1_000_000 + int64(i)*1000), data: sa.ipPacket(t)})
	}
	data := writePcap(t, false, 262144, layers.LinkTypeRaw, frames)
	c, err := ReadCapture(bytes.NewReader(data), Config{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := "more than 2 handshakes were open at once: 2 were closed early and may look incomplete (raise --max-open); 2 packets arrived for them afterwards (0 SYN retransmissions, 2 SYN-ACKs, 0 client ACKs, 0 RSTs, 0 ICMP errors), 2 of them answered"
	if !slices.Contains(c.Warnings, want) {
		t.Errorf("warnings %q\nwant %q", c.Warnings, want)
	}
	if got := fmt.Sprint(c.Tracker.OrphanSYNACKs, c.Tracker.AnsweredAfterEviction); got != "0 2" {
		t.Errorf("orphan SYN-ACKs, answered after eviction: %s, want 0 2", got)
	}
}

// panicky reads its data, then panics, as a decompressor with a bug would.
type panicky struct{ r io.Reader }

func (p *panicky) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		panic("decompressor bug")
	}
	return n, nil
}

// TestReadPanic checks that a panic of the read-ahead goroutine reaches
// the goroutine that reads, where it can be recovered, as a *ReadPanic.
func TestReadPanic(t *testing.T) {
	frames := handshakeFrames(t)
	var big bytes.Buffer
	big.Write(writePcap(t, false, 262144, layers.LinkTypeEthernet, nil))
	for big.Len() < 3*sourceBufSize {
		big.Write(writePcap(t, false, 262144, layers.LinkTypeEthernet, frames)[24:])
	}
	var got any
	func() {
		defer func() { got = recover() }()
		ReadCapture(&panicky{bytes.NewReader(big.Bytes())}, Config{})
	}()
	p, ok := got.(*ReadPanic)
	if !ok || p.Value != "decompressor bug" || !bytes.Contains(p.Stack, []byte("panicky")) {
		t.Fatalf("recovered %v (%T), want a *ReadPanic with the reader's stack", got, got)
	}
}
