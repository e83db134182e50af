package flows

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite the generated captures in testdata/edge")

const edgeDir = "testdata/edge"

// edgeT0 is when every hand-made capture starts: 2023-11-14T22:13:20Z.
const edgeT0 = int64(1_700_000_000) * 1e9

// at returns edgeT0 plus us microseconds, in nanoseconds.
func at(us int64) int64 { return edgeT0 + us*1e3 }

// edgeFixtures lists the hand-made captures of testdata/edge and how to make
// each. TestEdgeFixtures keeps the files and this list in step.
var edgeFixtures = []struct {
	name  string
	build func(testing.TB) []byte
}{
	{"handshake.pcap", genHandshake},
	{"handshake.pcap.gz", genHandshakeGzip},
	{"handshake.pcap.zst", genHandshakeZstd},
	{"handshake-be.pcap", genHandshakeBigEndian},
	{"handshake-modified.pcap", genHandshakeModified},
	{"truncated-record.pcap", genTruncatedRecord},
	{"truncated-header.pcap", genTruncatedHeader},
	{"corrupt-length.pcap", genCorruptLength},
	{"pcapng-corrupt-block.pcapng", genNgCorruptBlock},
	{"mixed-linktypes.pcapng", genMixedLinkTypes},
	{"two-sections.pcapng", genTwoSections},
	{"undescribed-interface.pcapng", genUndescribedInterface},
	{"duplicates.pcap", genDuplicates},
	{"icmp.pcap", genICMP},
	{"tcp-options.pcap", genTCPOptions},
	{"snaplen-cut.pcap", genSnaplenCut},
	{"ack-answer.pcap", genAckAnswer},
	{"isn-reuse.pcap", genISNReuse},
	{"undecoded.pcapng", genUndecoded},
	{"not-a-capture.txt", func(testing.TB) []byte { return []byte("This is not a capture file.\n") }},
	{"empty.pcap", func(testing.TB) []byte { return []byte{} }},
	{"capture.pcap.bz2", func(testing.TB) []byte { return []byte("BZh91AY&SY\x4e\xec\xe8\x36\x00\x00\x02\x51\x80\x00") }},
	{"short-header.pcap", func(testing.TB) []byte { return []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0} }},
}

// TestEdgeFixtures checks that testdata/edge holds exactly what the
// generators write, so that the files and the code that explains them cannot
// drift apart. With -update it rewrites the files instead.
func TestEdgeFixtures(t *testing.T) {
	if *update {
		if err := os.MkdirAll(edgeDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range edgeFixtures {
		t.Run(f.name, func(t *testing.T) {
			want := f.build(t)
			path := filepath.Join(edgeDir, f.name)
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./flows -run TestEdgeFixtures -update)", err)
			}
			// Compressed files are compared by their content: a new version of
			// the compressor may encode the same bytes differently.
			got, want = decompressed(t, path, got), decompressed(t, path, want)
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what its generator writes (run go test ./flows -run TestEdgeFixtures -update)", path)
			}
		})
	}
}

// decompressed returns the content of a .gz or .zst file, and other files as
// they are.
func decompressed(tb testing.TB, name string, b []byte) []byte {
	tb.Helper()
	var r io.Reader
	switch filepath.Ext(name) {
	case ".gz":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		r = zr
	case ".zst":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		defer zr.Close()
		r = zr
	default:
		return b
	}
	out, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return out
}

// frame is one record of a hand-made capture.
type frame struct {
	t    int64  // ns since the epoch
	data []byte // captured bytes
	orig int    // length on the wire; len(data) when zero
}

// writePcap writes a classic pcap with microsecond or nanosecond timestamps.
func writePcap(tb testing.TB, nanos bool, snapLen uint32, lt layers.LinkType, frames []frame) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(snapLen, lt); err != nil {
		tb.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WritePacket(captureInfo(f), f.data); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

func captureInfo(f frame) gopacket.CaptureInfo {
	orig := f.orig
	if orig == 0 {
		orig = len(f.data)
	}
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, f.t).UTC(), CaptureLength: len(f.data), Length: orig}
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// handshakeFrames is a whole connection to port 80: the handshake, 20 bytes
// from the client, 100 from the server, and the server closing first.
//
//	frame  µs    bytes  segment
//	1      0     74     SYN        seq 1000
//	2      200   74     SYN-ACK    seq 9000 ack 1001
//	3      400   66     ACK
//	4      500   86     PSH,ACK    20 bytes
//	5      1000  166    PSH,ACK    100 bytes from the server
//	6      2000  66     FIN,ACK    from the server
//	7      3000  66     FIN,ACK    from the client
//	8      3200  66     ACK
func handshakeFrames(tb testing.TB) []frame {
	c, s := ap(cli4, 40001), ap(srv4, 80)
	segs := []struct {
		us   int64
		spec tcpSpec
	}{
		{0, tcpSpec{src: c, dst: s, seq: 1000, flags: SYN, window: 64240, opts: synOpts(1460, 100, 0, 7), ipid: 0x0101}},
		{200, tcpSpec{src: s, dst: c, seq: 9000, ack: 1001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 7000, 100, 7)}},
		{400, tcpSpec{src: c, dst: s, seq: 1001, ack: 9001, flags: ACK, window: 502, opts: tsOpts(101, 7000), ipid: 0x0102}},
		{500, tcpSpec{src: c, dst: s, seq: 1001, ack: 9001, flags: PSH | ACK, window: 502, opts: tsOpts(101, 7000), payload: 20, ipid: 0x0103}},
		{1000, tcpSpec{src: s, dst: c, seq: 9001, ack: 1021, flags: PSH | ACK, window: 509, opts: tsOpts(7001, 101), payload: 100, ipid: 0x5a01}},
		{2000, tcpSpec{src: s, dst: c, seq: 9101, ack: 1021, flags: FIN | ACK, window: 509, opts: tsOpts(7002, 101), ipid: 0x5a02}},
		{3000, tcpSpec{src: c, dst: s, seq: 1021, ack: 9102, flags: FIN | ACK, window: 502, opts: tsOpts(103, 7002), ipid: 0x0104}},
		{3200, tcpSpec{src: s, dst: c, seq: 9102, ack: 1022, flags: ACK, window: 509, opts: tsOpts(7003, 103), ipid: 0x5a03}},
	}
	frames := make([]frame, len(segs))
	for i, sg := range segs {
		frames[i] = frame{t: at(sg.us), data: sg.spec.ether(tb)}
	}
	return frames
}

func genHandshake(tb testing.TB) []byte {
	return writePcap(tb, false, 262144, layers.LinkTypeEthernet, handshakeFrames(tb))
}

func genHandshakeGzip(tb testing.TB) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // no name and no time in the header
	zw.Write(genHandshake(tb))
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func genHandshakeZstd(tb testing.TB) []byte {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		tb.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(genHandshake(tb), nil)
}

// genHandshakeBigEndian is handshake.pcap as a big-endian machine writes
// it: every header field in network byte order.
func genHandshakeBigEndian(tb testing.TB) []byte {
	return reencodePcap(genHandshake(tb), binary.BigEndian, 0xa1b2c3d4, 0)
}

// genHandshakeModified is handshake.pcap in the "modified" format of
// Kuznetzov's patched libpcap: 8 more bytes per record header (interface
// index, protocol, packet type), which flows must skip.
func genHandshakeModified(tb testing.TB) []byte {
	return reencodePcap(genHandshake(tb), binary.LittleEndian, 0xa1b2cd34, 8)
}

// reencodePcap rewrites a little-endian microsecond pcap in another byte
// order, with another magic number and extra bytes after each record header.
func reencodePcap(le []byte, order byteOrder, magic uint32, extra int) []byte {
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, binary.LittleEndian.Uint16(le[4:]))
	b = order.AppendUint16(b, binary.LittleEndian.Uint16(le[6:]))
	for i := 8; i < 24; i += 4 {
		b = order.AppendUint32(b, binary.LittleEndian.Uint32(le[i:]))
	}
	for off := 24; off < len(le); {
		for i := 0; i < 16; i += 4 {
			b = order.AppendUint32(b, binary.LittleEndian.Uint32(le[off+i:]))
		}
		if extra > 0 {
			x := order.AppendUint32(nil, 2) // ifindex
			x = order.AppendUint16(x, 0x0800)
			b = append(b, append(x, 0, 0)[:extra]...)
		}
		n := int(binary.LittleEndian.Uint32(le[off+8:]))
		b = append(b, le[off+16:off+16+n]...)
		off += 16 + n
	}
	return b
}

// genTruncatedRecord is the first four frames of handshake.pcap with the
// fourth record (at offset 24+90+90+82 = 286) cut after 40 of its 86 bytes.
func genTruncatedRecord(tb testing.TB) []byte {
	b := writePcap(tb, false, 262144, layers.LinkTypeEthernet, handshakeFrames(tb)[:4])
	return b[:len(b)-46]
}

// genTruncatedHeader is the first three frames of handshake.pcap and 10 of
// the 16 bytes of the fourth record's header, at offset 286.
func genTruncatedHeader(tb testing.TB) []byte {
	b := writePcap(tb, false, 262144, layers.LinkTypeEthernet, handshakeFrames(tb)[:4])
	return b[:286+10]
}

// genCorruptLength is handshake.pcap with the third record's captured
// length (at offset 24+90+90 = 204, field at 212) set to 4 MiB.
func genCorruptLength(tb testing.TB) []byte {
	b := genHandshake(tb)
	binary.LittleEndian.PutUint32(b[204+8:], 4<<20)
	binary.LittleEndian.PutUint32(b[204+12:], 4<<20)
	return b
}

// genNgCorruptBlock writes handshake.pcap's frames with pcapgo.NgWriter and
// then breaks the trailing length of the third packet block. The blocks are
// the section header (44 bytes), the interface (40), then packet blocks of
// 108, 108 and 100 bytes at offsets 84, 192 and 300.
func genNgCorruptBlock(tb testing.TB) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf,
		pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 262144},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "syndiag"}})
	if err != nil {
		tb.Fatal(err)
	}
	var third [2]int
	for i, f := range handshakeFrames(tb) {
		if i == 2 {
			w.Flush()
			third[0] = buf.Len()
		}
		if err := w.WritePacket(captureInfo(f), f.data); err != nil {
			tb.Fatal(err)
		}
		if i == 2 {
			w.Flush()
			third[1] = buf.Len()
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	if third[0] != 300 {
		tb.Fatalf("third packet block at offset %d, want 300", third[0])
	}
	binary.LittleEndian.PutUint32(b[third[1]-4:], uint32(third[1]-third[0])+4)
	return b
}

// genMixedLinkTypes is one handshake seen on three interfaces of different
// link types and timestamp resolutions, as tcpdump -i any or a merge of
// captures writes it:
//
//	if 0: Ethernet, if_tsresol 10^-6: the SYN, ts 1700000000000100 µs
//	if 1: Linux SLL2, if_tsresol 10^-9: the SYN-ACK, ts 1700000000000350123 ns
//	if 2: raw IPv4, if_tsresol 2^-20, if_tsoffset 1700000000 s: the ACK,
//	      ts 1024 = 0.0009765625 s, so edgeT0 + 976562 ns (rounded down)
func genMixedLinkTypes(tb testing.TB) []byte {
	c, s := ap(cli4, 40080), ap(srv4, 80)
	syn := tcpSpec{src: c, dst: s, seq: 8000, flags: SYN, window: 64240, opts: synOpts(1460, 100, 0, 7), ipid: 0x0801}
	synack := tcpSpec{src: s, dst: c, seq: 18000, ack: 8001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 7000, 100, 7)}
	ack := tcpSpec{src: c, dst: s, seq: 8001, ack: 18001, flags: ACK, window: 502, opts: tsOpts(101, 7000), ipid: 0x0802}
	var b ngBuilder
	b.section(binary.LittleEndian)
	b.iface(LinkEthernet, 262144, ngOption{ngOptIfName, []byte("eth0")}, ngOption{ngOptIfTsresol, []byte{6}})
	b.iface(LinkSLL2, 262144, ngOption{ngOptIfName, []byte("any")}, ngOption{ngOptIfTsresol, []byte{9}})
	b.iface(LinkIPv4, 262144, ngOption{ngOptIfName, []byte("tun0")}, ngOption{ngOptIfTsresol, []byte{0x80 | 20}},
		ngOption{ngOptIfTsoffset, b.u64(1_700_000_000)})
	d := syn.ether(tb)
	b.epb(0, 1_700_000_000_000_100, d, len(d))
	d = sll2Frame(synack.ipPacket(tb), false, 2, 4)
	b.epb(1, 1_700_000_000_000_350_123, d, len(d))
	d = ack.ipPacket(tb)
	b.epb(2, 1024, d, len(d))
	return b.bytes()
}

// genTwoSections is a handshake split over two sections whose interface 0
// differ, so that a reader that did not restart interface numbering would
// decode the SYN-ACK as Ethernet and miss it:
//
//	section 1, little-endian: if 0 Ethernet (no if_tsresol: µs), if 1 raw IPv4 (ns);
//	  packet block on if 1 at edgeT0+1000 ns: the SYN
//	section 2, big-endian: if 0 raw IP, if_tsresol 10^-3;
//	  packet block on if 0 at edgeT0+2 ms: the SYN-ACK
//	  a custom block (type 0x00000bad), skipped
//	  a simple packet block (no timestamp): the ACK, at the SYN-ACK's time
func genTwoSections(tb testing.TB) []byte {
	c, s := ap(cli4, 40070), ap(srv4, 80)
	syn := tcpSpec{src: c, dst: s, seq: 7000, flags: SYN, window: 64240, opts: synOpts(1460, 100, 0, 7), ipid: 0x0701}
	synack := tcpSpec{src: s, dst: c, seq: 17000, ack: 7001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 7000, 100, 7)}
	ack := tcpSpec{src: c, dst: s, seq: 7001, ack: 17001, flags: ACK, window: 502, opts: tsOpts(101, 7000), ipid: 0x0702}
	var b ngBuilder
	b.section(binary.LittleEndian)
	b.iface(LinkEthernet, 0, ngOption{ngOptIfName, []byte("eth0")})
	b.iface(LinkIPv4, 0, ngOption{ngOptIfName, []byte("tun0")}, ngOption{ngOptIfTsresol, []byte{9}})
	d := syn.ipPacket(tb)
	b.epb(1, uint64(edgeT0+1000), d, len(d))
	b.section(binary.BigEndian)
	b.iface(LinkRaw, 0, ngOption{ngOptIfName, []byte("wg0")}, ngOption{ngOptIfTsresol, []byte{3}})
	d = synack.ipPacket(tb)
	b.epb(0, 1_700_000_000_002, d, len(d))
	b.block(0x00000bad, append(binary.BigEndian.AppendUint32(nil, 32473), "syndiag\x00"...))
	d = ack.ipPacket(tb)
	b.spb(d, len(d))
	return b.bytes()
}

// genUndescribedInterface has a packet block on interface 3 of a section
// that describes only interface 0 (tshark calls the file damaged; flows
// skips the block and warns), between a SYN and its retransmission.
func genUndescribedInterface(tb testing.TB) []byte {
	syn := tcpSpec{src: ap(cli4, 40090), dst: ap(srv4, 80), seq: 9000, flags: SYN, window: 64240, opts: synOpts(1460, 100, 0, 7), ipid: 0x0901}
	var b ngBuilder
	b.section(binary.LittleEndian)
	b.iface(LinkEthernet, 262144, ngOption{ngOptIfTsresol, []byte{6}})
	d := syn.ether(tb)
	b.epb(0, 1_700_000_000_000_000, d, len(d))
	b.epb(3, 1_700_000_000_500_000, d, len(d))
	b.epb(0, 1_700_000_001_000_000, d, len(d))
	return b.bytes()
}

// genDuplicates is what tcpdump -i any on a router writes: a packet seen on
// the way in and again on the way out, TTL one lower, 50 µs later
// (nanosecond pcap).
//
//	frames 1-6   40010: SYN, SYN-ACK, ACK, each followed by its copy: 3 duplicates
//	frames 7-8   40011: a SYN at 10 ms and the same bytes at 1.01 s, a real
//	             retransmission: not a duplicate
//	frames 9-10  40012: a SYN at 2 s and its copy exactly 10 ms later: a duplicate
//	frames 11-12 40013: a SYN at 3 s and its copy 10 ms + 1 ns later: not one
func genDuplicates(tb testing.TB) []byte {
	s := ap(srv4, 80)
	var frames []frame
	twice := func(t int64, sp tcpSpec, gap int64) {
		frames = append(frames, frame{t: t, data: sp.ether(tb)})
		sp.ttl = 63
		frames = append(frames, frame{t: t + gap, data: sp.ether(tb)})
	}
	c := ap(cli4, 40010)
	twice(at(0), tcpSpec{src: c, dst: s, seq: 1000, flags: SYN, window: 64240, opts: synOpts(1460, 100, 0, 7), ttl: 64, ipid: 0x1001}, 50e3)
	twice(at(300), tcpSpec{src: s, dst: c, seq: 9000, ack: 1001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 7000, 100, 7), ttl: 64}, 50e3)
	twice(at(500), tcpSpec{src: c, dst: s, seq: 1001, ack: 9001, flags: ACK, window: 502, opts: tsOpts(101, 7000), ttl: 64, ipid: 0x1002}, 50e3)
	retrans := tcpSpec{src: ap(cli4, 40011), dst: s, seq: 2000, flags: SYN, window: 64240, opts: synOpts(1460, 200, 0, 7), ipid: 0x1101}
	frames = append(frames, frame{t: at(10_000), data: retrans.ether(tb)}, frame{t: at(1_010_000), data: retrans.ether(tb)})
	twice(at(2_000_000), tcpSpec{src: ap(cli4, 40012), dst: s, seq: 3000, flags: SYN, window: 64240, opts: synOpts(1460, 300, 0, 7), ipid: 0x1201}, DuplicateWindow)
	twice(at(3_000_000), tcpSpec{src: ap(cli4, 40013), dst: s, seq: 4000, flags: SYN, window: 64240, opts: synOpts(1460, 400, 0, 7), ipid: 0x1301}, DuplicateWindow+1)
	return writePcap(tb, true, 262144, layers.LinkTypeEthernet, frames)
}

// genICMP has SYNs answered by ICMP errors:
//
//	frames 1-2  40020 -> 198.19.0.80:8081, port unreachable (3/3) from the
//	            server quoting the whole SYN
//	frames 3-4  40021 -> 198.19.0.81:8084, host unreachable (3/1) from a
//	            router quoting only the IP header and 8 bytes (RFC 792)
//	frames 5-6  IPv6 40022 -> [2001:2::80]:8083, ICMPv6 administratively
//	            prohibited (1/1) from the server quoting the whole SYN
//	frame 7     port unreachable quoting a SYN (40023) the capture never saw
func genICMP(tb testing.TB) []byte {
	var frames []frame
	add := func(us int64, v6, fromClient bool, ip []byte) {
		frames = append(frames, frame{t: at(us), data: etherFrame(tb, v6, fromClient, ip)})
	}
	synA := tcpSpec{src: ap(cli4, 40020), dst: ap(srv4, 8081), seq: 3000, flags: SYN, window: 64240, opts: synOpts(1460, 200, 0, 7), ipid: 0x2001}.ipPacket(tb)
	add(0, false, true, synA)
	add(200, false, false, icmpError(tb, srv4, cli4, 3, 3, synA))
	synB := tcpSpec{src: ap(cli4, 40021), dst: ap(netip.MustParseAddr("198.19.0.81"), 8084), seq: 3100, flags: SYN, window: 64240, opts: synOpts(1460, 201, 0, 7), ipid: 0x2002}.ipPacket(tb)
	add(1000, false, true, synB)
	add(1500, false, false, icmpError(tb, rtr4, cli4, 3, 1, synB[:28]))
	synC := tcpSpec{src: ap(cli6, 40022), dst: ap(srv6, 8083), seq: 3200, flags: SYN, window: 64800, opts: synOpts(1440, 202, 0, 7)}.ipPacket(tb)
	add(2000, true, true, synC)
	add(2200, true, false, icmpError(tb, srv6, cli6, 1, 1, synC))
	synD := tcpSpec{src: ap(cli4, 40023), dst: ap(srv4, 8081), seq: 3300, flags: SYN, window: 64240, opts: synOpts(1460, 203, 0, 7), ipid: 0x2004}.ipPacket(tb)
	add(3000, false, false, icmpError(tb, srv4, cli4, 3, 3, synD))
	return writePcap(tb, false, 262144, layers.LinkTypeEthernet, frames)
}

// genTCPOptions has TCP headers whose options test the parser:
//
//	frames 1-3  40030: SYN with MSS, SACK permitted, timestamps, NOP, window
//	            scale 7; SYN-ACK with window scale 15 (read as 14, RFC 7323
//	            2.3); ACK
//	frame 4     40031: SYN with MSS 1360, then an option of kind 30 whose
//	            length byte is 1 (malformed), then window scale: only the MSS counts
//	frame 5     40032: a SYN whose data offset is 4 (less than the 5 words of
//	            a TCP header): no flags, counted nowhere
func genTCPOptions(tb testing.TB) []byte {
	s := ap(srv4, 80)
	c := ap(cli4, 40030)
	specs := []struct {
		us   int64
		spec tcpSpec
	}{
		{0, tcpSpec{src: c, dst: s, seq: 4000, flags: SYN, window: 64240, opts: synOpts(1460, 100, 0, 7), ipid: 0x3001}},
		{200, tcpSpec{src: s, dst: c, seq: 14000, ack: 4001, flags: SYN | ACK, window: 65160, opts: synOpts(1400, 7000, 100, 15)}},
		{400, tcpSpec{src: c, dst: s, seq: 4001, ack: 14001, flags: ACK, window: 502, opts: tsOpts(101, 7000), ipid: 0x3002}},
		{1000, tcpSpec{src: ap(cli4, 40031), dst: s, seq: 4100, flags: SYN, window: 64240, ipid: 0x3101,
			raw: true, dataOffset: 8, padding: []byte{0, 0},
			opts: []layers.TCPOption{optMSS(1360), {OptionType: 30, OptionLength: 1}, optWS(7), optNOP()}}},
		{2000, tcpSpec{src: ap(cli4, 40032), dst: s, seq: 4200, flags: SYN, window: 64240, ipid: 0x3201, raw: true, dataOffset: 4}},
	}
	var frames []frame
	for _, sp := range specs {
		frames = append(frames, frame{t: at(sp.us), data: sp.spec.ether(tb)})
	}
	return writePcap(tb, false, 262144, layers.LinkTypeEthernet, frames)
}

// genSnaplenCut is a handshake and 20 bytes of data captured with snap
// length 62 (tcpdump -s 62): 28 bytes of each TCP header survive, so the
// SYN's options end inside the timestamp option and the ACKs' inside theirs.
func genSnaplenCut(tb testing.TB) []byte {
	const snap = 62
	c, s := ap(cli4, 40040), ap(srv4, 80)
	specs := []struct {
		us   int64
		spec tcpSpec
	}{
		{0, tcpSpec{src: c, dst: s, seq: 4500, flags: SYN, window: 64240, opts: synOpts(1460, 300, 0, 7), ipid: 0x4501}},
		{200, tcpSpec{src: s, dst: c, seq: 14500, ack: 4501, flags: SYN | ACK, window: 65160, opts: synOpts(1400, 8000, 300, 9)}},
		{400, tcpSpec{src: c, dst: s, seq: 4501, ack: 14501, flags: ACK, window: 502, opts: tsOpts(301, 8000), ipid: 0x4502}},
		{600, tcpSpec{src: c, dst: s, seq: 4501, ack: 14501, flags: PSH | ACK, window: 502, opts: tsOpts(301, 8000), payload: 20, ipid: 0x4503}},
	}
	var frames []frame
	for _, sp := range specs {
		d := sp.spec.ether(tb)
		frames = append(frames, frame{t: at(sp.us), data: d[:min(len(d), snap)], orig: len(d)})
	}
	return writePcap(tb, false, snap, layers.LinkTypeEthernet, frames)
}

// genAckAnswer is a SYN that hit a stale connection on its 4-tuple (as after
// NAT port reuse): the server answers with a bare ACK for the old sequence
// space, the client resets, and its retransmitted SYN 1 s later succeeds.
//
//	1 0 µs SYN 5000; 2 200 µs ACK 90000/123456; 3 300 µs RST 123456;
//	4 1 s SYN 5000 again; 5 SYN-ACK; 6 ACK
func genAckAnswer(tb testing.TB) []byte {
	c, s := ap(cli4, 40050), ap(srv4, 80)
	specs := []struct {
		us   int64
		spec tcpSpec
	}{
		{0, tcpSpec{src: c, dst: s, seq: 5000, flags: SYN, window: 64240, opts: synOpts(1460, 400, 0, 7), ipid: 0x5001}},
		{200, tcpSpec{src: s, dst: c, seq: 90000, ack: 123456, flags: ACK, window: 509, opts: tsOpts(9000, 350)}},
		{300, tcpSpec{src: c, dst: s, seq: 123456, flags: RST, ipid: 0x5002}},
		{1_000_000, tcpSpec{src: c, dst: s, seq: 5000, flags: SYN, window: 64240, opts: synOpts(1460, 1400, 0, 7), ipid: 0x5003}},
		{1_000_200, tcpSpec{src: s, dst: c, seq: 8000, ack: 5001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 9500, 1400, 7)}},
		{1_000_400, tcpSpec{src: c, dst: s, seq: 5001, ack: 8001, flags: ACK, window: 502, opts: tsOpts(1401, 9500), ipid: 0x5004}},
	}
	var frames []frame
	for _, sp := range specs {
		frames = append(frames, frame{t: at(sp.us), data: sp.spec.ether(tb)})
	}
	return writePcap(tb, false, 262144, layers.LinkTypeEthernet, frames)
}

// genISNReuse is a connection on port 40060 that the server closes first,
// then 2 s later a new connection on the same 4-tuple with a new ISN.
//
//	1-3 handshake ISN 6000; 4 FIN from the server at 10 ms; 5 FIN from the
//	client at 11 ms; 6 last ACK; 7-9 handshake ISN 7000000 at 2 s
func genISNReuse(tb testing.TB) []byte {
	c, s := ap(cli4, 40060), ap(srv4, 80)
	specs := []struct {
		us   int64
		spec tcpSpec
	}{
		{0, tcpSpec{src: c, dst: s, seq: 6000, flags: SYN, window: 64240, opts: synOpts(1460, 500, 0, 7), ipid: 0x6001}},
		{200, tcpSpec{src: s, dst: c, seq: 9000, ack: 6001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 7000, 500, 7)}},
		{400, tcpSpec{src: c, dst: s, seq: 6001, ack: 9001, flags: ACK, window: 502, opts: tsOpts(501, 7000), ipid: 0x6002}},
		{10_000, tcpSpec{src: s, dst: c, seq: 9001, ack: 6001, flags: FIN | ACK, window: 509, opts: tsOpts(7010, 501)}},
		{11_000, tcpSpec{src: c, dst: s, seq: 6001, ack: 9002, flags: FIN | ACK, window: 502, opts: tsOpts(511, 7010), ipid: 0x6003}},
		{11_200, tcpSpec{src: s, dst: c, seq: 9002, ack: 6002, flags: ACK, window: 509, opts: tsOpts(7011, 511)}},
		{2_000_000, tcpSpec{src: c, dst: s, seq: 7_000_000, flags: SYN, window: 64240, opts: synOpts(1460, 2500, 0, 7), ipid: 0x6101}},
		{2_000_200, tcpSpec{src: s, dst: c, seq: 12000, ack: 7_000_001, flags: SYN | ACK, window: 65160, opts: synOpts(1460, 9000, 2500, 7)}},
		{2_000_400, tcpSpec{src: c, dst: s, seq: 7_000_001, ack: 12001, flags: ACK, window: 502, opts: tsOpts(2501, 9000), ipid: 0x6102}},
	}
	var frames []frame
	for _, sp := range specs {
		frames = append(frames, frame{t: at(sp.us), data: sp.spec.ether(tb)})
	}
	return writePcap(tb, false, 262144, layers.LinkTypeEthernet, frames)
}
