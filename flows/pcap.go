package flows

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// pcapReader reads the classic libpcap format
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html) in both
// byte orders, with microsecond or nanosecond timestamps, and the
// "modified" (Kuznetzov) variant whose record headers carry 8 more bytes.
type pcapReader struct {
	src      *byteSource
	order    binary.ByteOrder
	swapped  bool // order is big-endian
	nanos    bool
	hdrLen   int
	linkType LinkType
	format   string
	warn     *warnings
}

const pcapFileHeaderLen = 24

func newPcapReader(src *byteSource, warn *warnings) (*pcapReader, error) {
	hdr, err := src.peek(pcapFileHeaderLen)
	if len(hdr) >= 4 && !isPcapMagic(hdr[:4]) {
		return nil, notCaptureErr(hdr)
	}
	if err != nil {
		return nil, headerErr(err, 0, "pcap file header cut short")
	}
	p := &pcapReader{src: src, hdrLen: 16, format: "pcap", warn: warn}
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4:
		p.order = binary.LittleEndian
	case 0xd4c3b2a1:
		p.order = binary.BigEndian
	case 0xa1b23c4d:
		p.order, p.nanos, p.format = binary.LittleEndian, true, "pcap-ns"
	case 0x4d3cb2a1:
		p.order, p.nanos, p.format = binary.BigEndian, true, "pcap-ns"
	case 0xa1b2cd34:
		p.order, p.hdrLen, p.format = binary.LittleEndian, 24, "pcap-modified"
	case 0x34cdb2a1:
		p.order, p.hdrLen, p.format = binary.BigEndian, 24, "pcap-modified"
	}
	if major := p.order.Uint16(hdr[4:]); major != 2 {
		return nil, formatErr(4, ErrUnsupportedFormat, "pcap version %d.%d (only 2.x exists)", major, p.order.Uint16(hdr[6:]))
	}
	// The upper bits of the link-type field may carry the FCS length; the
	// link type itself is the low 16 bits.
	p.swapped = p.order == binary.ByteOrder(binary.BigEndian)
	p.linkType = LinkType(p.order.Uint32(hdr[20:]) & 0xffff)
	src.discard(pcapFileHeaderLen)
	return p, nil
}

func isPcapMagic(b []byte) bool {
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1:
		return true
	}
	return false
}

func (p *pcapReader) next(rec *Record) error {
	off := p.src.off
	hdr, err := p.src.peek(p.hdrLen)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return readErr(err, off, "record header cut short: %d of %d bytes", len(hdr), p.hdrLen)
	}
	// Read the header as little-endian and swap if needed: a call through
	// the binary.ByteOrder interface per field costs more than the rest.
	sec := binary.LittleEndian.Uint32(hdr[0:])
	frac := binary.LittleEndian.Uint32(hdr[4:])
	capLen := binary.LittleEndian.Uint32(hdr[8:])
	origLen := binary.LittleEndian.Uint32(hdr[12:])
	if p.swapped {
		sec, frac = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac)
		capLen, origLen = bits.ReverseBytes32(capLen), bits.ReverseBytes32(origLen)
	}
	if capLen > maxRecordLen {
		return formatErr(off, ErrCorrupt, "record claims %d captured bytes (more than the %d any capture tool writes)", capLen, maxRecordLen)
	}
	total := p.hdrLen + int(capLen)
	b, err := p.src.peek(total)
	if err != nil {
		return readErr(err, off, "last record cut short: %d of %d bytes", max(len(b)-p.hdrLen, 0), capLen)
	}
	ns := int64(frac)
	if !p.nanos {
		ns *= 1000
	}
	if ns >= 1e9 {
		p.warn.add("timestamp fraction out of range (%d)", frac)
	}
	rec.Time = int64(sec)*1e9 + ns
	rec.OrigLen = int(max(origLen, capLen))
	rec.LinkType = p.linkType
	rec.Interface = 0
	rec.Offset = off
	rec.Data = b[p.hdrLen:total]
	p.src.discard(total)
	return nil
}

// readErr turns an error of byteSource.peek into a FormatError: running out
// of input mid-record is ErrTruncated; anything else is the I/O error itself.
func readErr(err error, off int64, format string, args ...any) error {
	if err == io.ErrUnexpectedEOF {
		return formatErr(off, ErrTruncated, format, args...)
	}
	return &FormatError{Offset: off, Msg: err.Error(), Err: err}
}
