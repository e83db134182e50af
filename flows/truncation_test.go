package flows

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/zstd"
)

// captureFiles lists the captures of testdata/edge and ../testdata/lab. The
// lab folder is globbed when the test runs, so captures added to it are
// tested without a change here.
func captureFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, dir := range []string{edgeDir, filepath.Join("..", "testdata", "lab")} {
		m, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range m {
			switch ext := filepath.Ext(strings.TrimSuffix(strings.TrimSuffix(f, ".gz"), ".zst")); ext {
			case ".pcap", ".pcapng", ".cap":
				files = append(files, f)
			}
		}
	}
	return files
}

// unit is a piece of a capture that a cut can fall into: the pcap file
// header, a pcap record, or a pcapng block.
type unit struct {
	start, end int64
	hdrLen     int64 // length of its fixed header
	packet     bool  // whether it is a record that Reader returns
}

// captureUnits splits an uncompressed capture into its units. It is written
// apart from Reader (and simpler: it assumes the capture is valid) so that
// the tests below do not take Reader's word for where records are.
func captureUnits(b []byte) ([]unit, error) {
	if len(b) < 4 {
		return nil, errors.New("too short")
	}
	if binary.BigEndian.Uint32(b) == ngSHB {
		return ngUnits(b)
	}
	var order binary.ByteOrder = binary.LittleEndian
	hdr := int64(16)
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	case 0xa1b2cd34:
		hdr = 24
	case 0x34cdb2a1:
		order, hdr = binary.BigEndian, 24
	default:
		return nil, errors.New("not pcap")
	}
	units := []unit{{0, 24, 24, false}}
	for off := int64(24); off < int64(len(b)); {
		if off+hdr > int64(len(b)) {
			return nil, fmt.Errorf("record header at %d cut short", off)
		}
		end := off + hdr + int64(order.Uint32(b[off+8:]))
		if end > int64(len(b)) {
			return nil, fmt.Errorf("record at %d cut short", off)
		}
		units = append(units, unit{off, end, hdr, true})
		off = end
	}
	return units, nil
}

func ngUnits(b []byte) ([]unit, error) {
	var (
		units  []unit
		order  binary.ByteOrder
		ifaces uint32
	)
	for off := int64(0); off < int64(len(b)); {
		if off+12 > int64(len(b)) {
			return nil, fmt.Errorf("block header at %d cut short", off)
		}
		h := b[off:]
		if binary.BigEndian.Uint32(h) == ngSHB {
			order = binary.BigEndian
			if binary.LittleEndian.Uint32(h[8:]) == 0x1a2b3c4d {
				order = binary.LittleEndian
			}
			ifaces = 0
		}
		typ, n := order.Uint32(h), int64(order.Uint32(h[4:]))
		if n < 12 || off+n > int64(len(b)) {
			return nil, fmt.Errorf("block at %d has length %d", off, n)
		}
		u := unit{start: off, end: off + n, hdrLen: 12}
		switch typ {
		case ngSHB:
			u.hdrLen = 16
		case ngIDB:
			ifaces++
		case ngEPB:
			u.packet = order.Uint32(h[8:]) < ifaces
		case ngPB:
			u.packet = uint32(order.Uint16(h[8:])) < ifaces
		case ngSPB:
			u.packet = ifaces > 0
		}
		units = append(units, u)
		off += n
	}
	return units, nil
}

// packetsBefore returns, for each unit, how many packets come before it.
func packetsBefore(units []unit) []int64 {
	n := make([]int64, len(units)+1)
	for i, u := range units {
		n[i+1] = n[i]
		if u.packet {
			n[i+1]++
		}
	}
	return n
}

// insideCuts are offsets inside u at which to cut: in its fixed header,
// right after it, and before its last byte.
func insideCuts(u unit) []int64 {
	var cuts []int64
	for _, c := range []int64{u.start + u.hdrLen/2, u.start + u.hdrLen, u.end - 1} {
		if c > u.start && c < u.end && !slices.Contains(cuts, c) {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// TestReadTruncation cuts every capture that reads cleanly at every
// boundary between its units and at offsets inside each. A cut at a boundary
// must read cleanly, with the packets before it; a cut inside a unit must
// stop with ErrTruncated at the unit's offset, after the packets before it.
// Compressed captures are cut after decompression.
func TestReadTruncation(t *testing.T) {
	for _, path := range captureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data := decompressed(t, path, raw)
			if _, err := ReadCapture(bytes.NewReader(data), Config{}); err != nil {
				t.Skipf("does not read cleanly: %v", err)
			}
			units, err := captureUnits(data)
			if err != nil {
				t.Fatalf("splitting into records: %v", err)
			}
			before := packetsBefore(units)
			read := func(cut int64) (*Capture, error) {
				t.Helper()
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("cut at %d: panic: %v", cut, p)
					}
				}()
				return ReadCapture(bytes.NewReader(data[:cut]), Config{})
			}
			for i, u := range units {
				if u.start > 0 {
					c, err := read(u.start)
					if err != nil || c.Packets != before[i] {
						t.Errorf("cut at boundary %d: %d packets, error %v; want %d packets, no error", u.start, c.Packets, err, before[i])
					}
				}
				cuts := insideCuts(u)
				if u.start == 0 {
					// An empty file, or one shorter than a magic number, is a
					// file header cut short.
					cuts = append(cuts, 0, 1)
				}
				for _, cut := range cuts {
					c, err := read(cut)
					var fe *FormatError
					if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Offset != u.start || c.Packets != before[i] {
						t.Errorf("cut at %d inside [%d,%d): %d packets, error %v; want %d packets, ErrTruncated at %d",
							cut, u.start, u.end, c.Packets, err, before[i], u.start)
					}
				}
			}
			c, err := read(int64(len(data)))
			if err != nil || c.Packets != before[len(units)] {
				t.Errorf("whole file: %d packets, error %v; want %d packets", c.Packets, err, before[len(units)])
			}
		})
	}
}

// TestReadCompressedTruncation cuts the compressed bytes of every gzip and
// zstd capture. A decompressor meets the end of its input early, so every
// cut must stop with ErrTruncated at the offset of a record (in the
// decompressed stream, or its end) after the packets before that record,
// and none may read as a clean end of the capture.
func TestReadCompressedTruncation(t *testing.T) {
	for _, path := range captureFiles(t) {
		if ext := filepath.Ext(path); ext != ".gz" && ext != ".zst" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data := decompressed(t, path, raw)
			units, err := captureUnits(data)
			if err != nil {
				t.Fatalf("splitting into records: %v", err)
			}
			before := packetsBefore(units)
			// Where a record may start: at a unit, or after the last one.
			starts := make([]int64, 0, len(units)+1)
			for _, u := range units {
				starts = append(starts, u.start)
			}
			starts = append(starts, int64(len(data)))
			// Every offset of a small file; 200 of a large one, and its last 16.
			step := max(1, len(raw)/200)
			for cut := 1; cut < len(raw); cut += step {
				if cut+16 >= len(raw) {
					step = 1
				}
				c, err := ReadCapture(bytes.NewReader(raw[:cut]), Config{})
				var fe *FormatError
				if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) {
					t.Errorf("cut at %d of %d: %d packets, error %v; want ErrTruncated", cut, len(raw), c.Packets, err)
					continue
				}
				i := slices.Index(starts, fe.Offset)
				if i < 0 || c.Packets != before[i] {
					t.Errorf("cut at %d of %d: %d packets, error %v; want a record's offset and the packets before it", cut, len(raw), c.Packets, err)
				}
			}
		})
	}
}

// TestReadCompressedTruncationLarge cuts compressed captures larger than
// the reader's first synchronous buffer, so that the cut is met by the
// read-ahead goroutine: a gzip stream that lacks its trailer, or a zstd
// frame that lacks its end, must still stop with ErrTruncated.
func TestReadCompressedTruncationLarge(t *testing.T) {
	frames := handshakeFrames(t)
	var raw bytes.Buffer
	raw.Write(writePcap(t, false, 262144, layers.LinkTypeEthernet, nil))
	for i := range 4000 {
		for _, f := range frames {
			f.t += int64(i) * 1e9
			raw.Write(writePcap(t, false, 262144, layers.LinkTypeEthernet, []frame{f})[24:])
		}
	}
	data := raw.Bytes()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	zst := enc.EncodeAll(data, nil)
	enc.Close()
	for _, tc := range []struct {
		name string
		z    []byte
	}{{"gzip", gz.Bytes()}, {"zstd", zst}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadCapture(bytes.NewReader(tc.z), Config{})
			if err != nil || c.Packets != 32000 {
				t.Fatalf("whole stream: %d packets, error %v; want 32000 packets", c.Packets, err)
			}
			for _, cut := range []int{len(tc.z) - 1, len(tc.z) - 4, len(tc.z) / 2} {
				c, err := ReadCapture(bytes.NewReader(tc.z[:cut]), Config{})
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("cut at %d of %d: %d packets, error %v; want ErrTruncated", cut, len(tc.z), c.Packets, err)
				}
			}
		})
	}
}
