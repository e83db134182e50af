// Command replicate grows a small classic pcap into a large one for
// benchmarks (used by testdata/bench/make-large.sh when the real-kernel
// capture cannot reach the packet target in time).
//
// It writes the sample's records again and again until -packets records were
// written. Each copy k is shifted forward in time by k*(span+gap), where span
// is the sample's duration, so timestamps keep increasing like one continuous
// capture. In copy k (k >= 1) every IPv4 address in 198.18.0.0/24 other than
// the server (-server, default 198.18.0.1) is moved to the /24 number k inside
// 198.18.0.0/15, with the IPv4 header and TCP/UDP checksums updated, so every
// copy holds connections with 4-tuples distinct from the other copies.
//
// Only classic pcap (either byte order, micro- or nanosecond) is accepted; the
// output keeps the input's header. Standard library only.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
)

type record struct {
	sec, frac uint32 // timestamp as stored
	origLen   uint32
	data      []byte
}

func main() {
	in := flag.String("in", "", "sample pcap")
	out := flag.String("out", "", "output pcap")
	packets := flag.Int64("packets", 15_000_000, "records to write")
	gapUS := flag.Int64("gap-us", 20_000, "pause between copies, microseconds")
	server := flag.String("server", "198.18.0.1", "address left unchanged in every copy")
	flag.Parse()
	if *in == "" || *out == "" || *packets <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	srv, err := netip.ParseAddr(*server)
	if err != nil || !srv.Is4() {
		fatal(fmt.Errorf("bad -server %q", *server))
	}
	if err := run(*in, *out, *packets, *gapUS, srv.As4()); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "replicate:", err)
	os.Exit(1)
}

func run(inPath, outPath string, packets, gapUS int64, server [4]byte) error {
	f, err := os.Open(inPath)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("reading pcap header: %w", err)
	}
	var bo binary.ByteOrder
	var nano bool
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return errors.New("not a classic pcap file")
	}
	linkType := bo.Uint32(hdr[20:]) & 0x0fffffff
	unit := int64(1_000_000) // fractions per second
	if nano {
		unit = 1_000_000_000
	}

	var recs []record
	rh := make([]byte, 16)
	for {
		if _, err := io.ReadFull(r, rh); err != nil {
			if err == io.EOF {
				break
			}
			if err == io.ErrUnexpectedEOF {
				break // truncated last record (capture killed): drop it
			}
			return err
		}
		incl := bo.Uint32(rh[8:])
		if incl > 1<<18 {
			return fmt.Errorf("record %d: implausible length %d", len(recs)+1, incl)
		}
		d := make([]byte, incl)
		if _, err := io.ReadFull(r, d); err != nil {
			break
		}
		recs = append(recs, record{bo.Uint32(rh[0:]), bo.Uint32(rh[4:]), bo.Uint32(rh[12:]), d})
	}
	if len(recs) == 0 {
		return errors.New("sample has no packets")
	}
	ts := func(rc record) int64 { return int64(rc.sec)*unit + int64(rc.frac) }
	first, last := ts(recs[0]), ts(recs[0])
	for _, rc := range recs {
		t := ts(rc)
		first, last = min(first, t), max(last, t)
	}
	step := last - first + gapUS*(unit/1_000_000)

	o, err := os.Create(outPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(o, 4<<20)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<18)
	var written int64
	for k := int64(0); written < packets; k++ {
		if k > 1<<16 {
			return errors.New("too many copies (sample too small?)")
		}
		for _, rc := range recs {
			if written >= packets {
				break
			}
			t := ts(rc) + k*step
			binary.Write(w, bo, [4]uint32{uint32(t / unit), uint32(t % unit), uint32(len(rc.data)), rc.origLen})
			buf = append(buf[:0], rc.data...)
			if k > 0 && linkType == 1 {
				rewrite(buf, int(k), server)
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
			written++
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := o.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "replicate: %d sample packets, %d records written to %s\n", len(recs), written, outPath)
	return nil
}

// rewrite moves client addresses (198.18.0.x, x != server) of an Ethernet
// frame to 198.(18+k/256%2).(k%256).x and patches the checksums incrementally
// (RFC 1624). Frames that are not IPv4, or are too short, are left alone.
func rewrite(p []byte, k int, server [4]byte) {
	if len(p) < 14 {
		return
	}
	off := 14
	et := binary.BigEndian.Uint16(p[12:14])
	if et == 0x8100 && len(p) >= 18 { // one VLAN tag
		et, off = binary.BigEndian.Uint16(p[16:18]), 18
	}
	if et != 0x0800 || len(p) < off+20 || p[off]>>4 != 4 {
		return
	}
	ihl := int(p[off]&0x0f) * 4
	if ihl < 20 || len(p) < off+ihl {
		return
	}
	ip := p[off:]
	newOct2 := byte(18 + (k/256)%2)
	newOct3 := byte(k % 256)
	var l4 []byte
	l4csum := -1
	fragOff := binary.BigEndian.Uint16(ip[6:8]) & 0x1fff
	if fragOff == 0 {
		switch ip[9] {
		case 6:
			l4csum = 16
		case 17:
			l4csum = 6
		}
		l4 = ip[ihl:]
	}
	for _, at := range []int{12, 16} {
		a := ip[at : at+4]
		if a[0] != 198 || a[1] != 18 || a[2] != 0 || [4]byte(a) == server {
			continue
		}
		oldHi, oldLo := binary.BigEndian.Uint16(a[0:2]), binary.BigEndian.Uint16(a[2:4])
		a[1], a[2] = newOct2, newOct3
		newHi, newLo := binary.BigEndian.Uint16(a[0:2]), binary.BigEndian.Uint16(a[2:4])
		patch(ip[10:12], oldHi, newHi)
		patch(ip[10:12], oldLo, newLo)
		if l4csum >= 0 && len(l4) >= l4csum+2 {
			c := l4[l4csum : l4csum+2]
			if ip[9] == 17 && c[0] == 0 && c[1] == 0 {
				continue // UDP without checksum
			}
			patch(c, oldHi, newHi)
			patch(c, oldLo, newLo)
		}
	}
}

// patch updates a 16-bit Internet checksum in place for one changed 16-bit
// word: HC' = ~(~HC + ~m + m') (RFC 1624 eqn. 3).
func patch(c []byte, oldW, newW uint16) {
	sum := uint32(^binary.BigEndian.Uint16(c)) + uint32(^oldW) + uint32(newW)
	sum = (sum & 0xffff) + (sum >> 16)
	sum = (sum & 0xffff) + (sum >> 16)
	binary.BigEndian.PutUint16(c, ^uint16(sum))
}
