package flows

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"testing"
)

// patterned returns n bytes that depend on the record number i, so that a
// record read from the wrong place or half from a stale buffer shows.
func patterned(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j + j>>8)
	}
	return b
}

// largePcap builds a pcap of records whose lengths cycle through awkward
// values up to the largest a pcap record may have, cycles times over, and
// returns it with its units.
func largePcap(cycles int) ([]byte, []unit) {
	lengths := []int{0, 1, 59, 1514, 9000, 65535, 131073, maxRecordLen, maxRecordLen - 1, 4097}
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, maxRecordLen)
	b = binary.LittleEndian.AppendUint32(b, uint32(LinkEthernet))
	units := []unit{{0, 24, 24, false}}
	for i := range cycles * len(lengths) {
		n := lengths[i%len(lengths)]
		start := int64(len(b))
		b = binary.LittleEndian.AppendUint32(b, uint32(1_700_000_000+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = append(b, patterned(i, n)...)
		units = append(units, unit{start, int64(len(b)), 16, true})
	}
	return b, units
}

// largePcapng builds a pcapng whose packet blocks cycle through lengths up
// to several MiB, larger than the reader's chunks, and returns it with its
// units.
func largePcapng(cycles int) ([]byte, []unit) {
	lengths := []int{60, 1 << 20, 3, 3<<20 + 5, 1514, 6 << 20, 70000}
	var nb ngBuilder
	nb.section(binary.LittleEndian)
	nb.iface(LinkEthernet, 0)
	units, err := captureUnits(nb.bytes())
	if err != nil {
		panic(err)
	}
	for i := range cycles * len(lengths) {
		n := lengths[i%len(lengths)]
		start := nb.epb(0, uint64(1_700_000_000_000_000+i), patterned(i, n), n)
		units = append(units, unit{start, int64(nb.buf.Len()), 12, true})
	}
	return nb.bytes(), units
}

// trickle returns at most n bytes a Read, as a pipe or a slow disk may.
type trickle struct {
	r io.Reader
	n int
}

func (t trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), t.n)]) }

// TestReaderLargeCaptures reads captures much larger than the reader's
// buffers, with records that straddle its chunks or are larger than them,
// plain, in small reads and gzip-compressed, and checks that every record
// comes out at its offset with its own bytes.
func TestReaderLargeCaptures(t *testing.T) {
	pcap, pcapUnits := largePcap(20)
	ng, ngUnits := largePcapng(3)
	for _, c := range []struct {
		name   string
		data   []byte
		units  []unit
		lenAt  int64 // where a record's captured length is in its unit
		dataAt int64 // where its data starts
	}{
		{"pcap", pcap, pcapUnits, 8, 16},
		{"pcapng", ng, ngUnits, 20, 28},
	} {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		zw.Write(c.data)
		zw.Close()
		for _, in := range []struct {
			name string
			r    io.Reader
		}{
			{"plain", bytes.NewReader(c.data)},
			{"trickle", trickle{bytes.NewReader(c.data), 7919}},
			{"gzip", bytes.NewReader(gz.Bytes())},
		} {
			t.Run(c.name+"/"+in.name, func(t *testing.T) {
				rd, err := NewReader(in.r)
				if err != nil {
					t.Fatal(err)
				}
				defer rd.Close()
				i := 0
				for _, u := range c.units {
					if !u.packet {
						continue
					}
					rec, err := rd.Next()
					if err != nil {
						t.Fatalf("record %d at %d: %v", i, u.start, err)
					}
					n := int64(binary.LittleEndian.Uint32(c.data[u.start+c.lenAt:]))
					want := c.data[u.start+c.dataAt : u.start+c.dataAt+n]
					if rec.Offset != u.start || !bytes.Equal(rec.Data, want) || !bytes.Equal(rec.Data, patterned(i, int(n))) {
						t.Fatalf("record %d: %d bytes at offset %d, want its own bytes at %d", i, len(rec.Data), rec.Offset, u.start)
					}
					i++
				}
				if _, err := rd.Next(); err != io.EOF {
					t.Errorf("after %d records: %v, want io.EOF", i, err)
				}
			})
		}
	}
}
