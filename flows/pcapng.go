package flows

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// ngReader reads pcapng (draft-ietf-opsawg-pcapng): any number of sections,
// each with its own byte order and interfaces, and Enhanced, Simple and
// (obsolete) Packet Blocks. Other blocks are skipped.
type ngReader struct {
	src    *byteSource
	order  binary.ByteOrder
	ifaces []ngInterface
	warn   *warnings
	inSHB  bool
}

type ngInterface struct {
	linkType LinkType
	snapLen  uint32
	// Timestamps are in units of 1/unitsPerSec seconds; mul is the factor to
	// nanoseconds when that is a whole number (the usual 10^-6 and 10^-9).
	unitsPerSec uint64
	mul         uint64
	offsetSec   int64
}

const (
	ngSHB = 0x0a0d0d0a
	ngIDB = 0x00000001
	ngPB  = 0x00000002
	ngSPB = 0x00000003
	ngEPB = 0x00000006
)

func (g *ngReader) next(rec *Record) error {
	for {
		off := g.src.off
		h, err := g.src.peek(12)
		if err != nil {
			if err == io.EOF {
				if !g.inSHB {
					return formatErr(0, ErrCorrupt, "pcapng file holds no section header")
				}
				return io.EOF
			}
			return readErr(err, off, "block header cut short: %d of 12 bytes", len(h))
		}
		typ := binary.BigEndian.Uint32(h)
		if typ == ngSHB {
			if err := g.sectionHeader(h, off); err != nil {
				return err
			}
			// sectionHeader peeked further, which may have moved the bytes.
			if h, err = g.src.peek(12); err != nil {
				return readErr(err, off, "block header cut short")
			}
		} else if !g.inSHB {
			return formatErr(off, ErrCorrupt, "pcapng block 0x%08x before any section header", typ)
		} else {
			typ = g.order.Uint32(h)
		}
		blen := g.order.Uint32(h[4:])
		if blen < 12 || blen%4 != 0 || blen > maxBlockLen {
			return formatErr(off, ErrCorrupt, "pcapng block 0x%08x has impossible length %d", typ, blen)
		}
		b, err := g.src.peek(int(blen))
		if err != nil {
			return readErr(err, off, "last pcapng block cut short: %d of %d bytes", len(b), blen)
		}
		if trail := g.order.Uint32(b[blen-4:]); trail != blen {
			return formatErr(off, ErrCorrupt, "pcapng block 0x%08x: length %d at its start but %d at its end", typ, blen, trail)
		}
		body := b[8 : blen-4]
		var ok bool
		switch typ {
		case ngIDB:
			err = g.interfaceDescription(body, off)
		case ngEPB:
			ok, err = g.enhancedPacket(body, off, rec)
		case ngSPB:
			ok, err = g.simplePacket(body, off, rec)
		case ngPB:
			ok, err = g.obsoletePacket(body, off, rec)
		}
		if err != nil {
			return err
		}
		g.src.discard(int(blen))
		if ok {
			return nil
		}
	}
}

func (g *ngReader) sectionHeader(h []byte, off int64) error {
	switch binary.BigEndian.Uint32(h[8:]) {
	case 0x1a2b3c4d:
		g.order = binary.BigEndian
	case 0x4d3c2b1a:
		g.order = binary.LittleEndian
	default:
		return formatErr(off, ErrCorrupt, "pcapng section header has no valid byte-order magic")
	}
	b, err := g.src.peek(16)
	if err != nil {
		return readErr(err, off, "pcapng section header cut short")
	}
	if major := g.order.Uint16(b[12:]); major != 1 {
		return formatErr(off, ErrUnsupportedFormat, "pcapng section version %d.%d (only 1.x is defined)", major, g.order.Uint16(b[14:]))
	}
	g.inSHB = true
	g.ifaces = g.ifaces[:0]
	return nil
}

func (g *ngReader) interfaceDescription(body []byte, off int64) error {
	if len(body) < 8 {
		return formatErr(off, ErrCorrupt, "pcapng interface description block too short")
	}
	ifc := ngInterface{
		linkType:    LinkType(g.order.Uint16(body)),
		snapLen:     g.order.Uint32(body[4:]),
		unitsPerSec: 1e6,
		mul:         1e3,
	}
	for opts := body[8:]; len(opts) >= 4; {
		code, olen := g.order.Uint16(opts), int(g.order.Uint16(opts[2:]))
		if code == 0 || 4+olen > len(opts) {
			break
		}
		val := opts[4 : 4+olen]
		switch {
		case code == 9 && olen >= 1: // if_tsresol
			g.setResolution(&ifc, val[0], off)
		case code == 14 && olen >= 8: // if_tsoffset, seconds
			ifc.offsetSec = int64(g.order.Uint64(val))
		}
		opts = opts[4+(olen+3)&^3:]
	}
	g.ifaces = append(g.ifaces, ifc)
	return nil
}

func (g *ngReader) setResolution(ifc *ngInterface, r byte, off int64) {
	exp := uint(r & 0x7f)
	if r&0x80 != 0 {
		if exp > 63 {
			g.warn.add("interface at offset %d: timestamp resolution 2^-%d is out of range; assuming microseconds", off, exp)
			return
		}
		ifc.unitsPerSec, ifc.mul = 1<<exp, 0
		return
	}
	if exp > 19 {
		g.warn.add("interface at offset %d: timestamp resolution 10^-%d is out of range; assuming microseconds", off, exp)
		return
	}
	ups := uint64(1)
	for range exp {
		ups *= 10
	}
	ifc.unitsPerSec, ifc.mul = ups, 0
	if exp <= 9 {
		ifc.mul = 1e9 / ups
	}
}

// nanos converts a pcapng timestamp of an interface to nanoseconds since the
// epoch.
func (ifc *ngInterface) nanos(ts uint64) int64 {
	var ns int64
	if ifc.mul != 0 {
		ns = int64(ts * ifc.mul)
	} else {
		sec, frac := ts/ifc.unitsPerSec, ts%ifc.unitsPerSec
		hi, lo := bits.Mul64(frac, 1e9)
		f, _ := bits.Div64(hi, lo, ifc.unitsPerSec)
		ns = int64(sec)*1e9 + int64(f)
	}
	return ns + ifc.offsetSec*1e9
}

func (g *ngReader) iface(id uint32, off int64) (*ngInterface, bool) {
	if int(id) >= len(g.ifaces) {
		g.warn.add("packet blocks name interface %d, which the section does not describe; skipped", id)
		return nil, false
	}
	return &g.ifaces[id], true
}

func (g *ngReader) enhancedPacket(body []byte, off int64, rec *Record) (bool, error) {
	if len(body) < 20 {
		return false, formatErr(off, ErrCorrupt, "pcapng enhanced packet block too short")
	}
	capLen := g.order.Uint32(body[12:])
	if uint64(capLen) > uint64(len(body)-20) {
		return false, formatErr(off, ErrCorrupt, "pcapng enhanced packet block claims %d captured bytes but holds %d", capLen, len(body)-20)
	}
	ifc, ok := g.iface(g.order.Uint32(body), off)
	if !ok {
		return false, nil
	}
	ts := uint64(g.order.Uint32(body[4:]))<<32 | uint64(g.order.Uint32(body[8:]))
	rec.Time = ifc.nanos(ts)
	rec.OrigLen = int(max(g.order.Uint32(body[16:]), capLen))
	rec.LinkType = ifc.linkType
	rec.Interface = int(g.order.Uint32(body))
	rec.Offset = off
	rec.Data = body[20 : 20+capLen]
	return true, nil
}

func (g *ngReader) simplePacket(body []byte, off int64, rec *Record) (bool, error) {
	if len(body) < 4 {
		return false, formatErr(off, ErrCorrupt, "pcapng simple packet block too short")
	}
	ifc, ok := g.iface(0, off)
	if !ok {
		return false, nil
	}
	orig := g.order.Uint32(body)
	capLen := min(uint64(orig), uint64(len(body)-4))
	if ifc.snapLen != 0 {
		capLen = min(capLen, uint64(ifc.snapLen))
	}
	// A simple packet block has no timestamp; it inherits the previous one.
	rec.OrigLen = int(orig)
	rec.LinkType = ifc.linkType
	rec.Interface = 0
	rec.Offset = off
	rec.Data = body[4 : 4+capLen]
	return true, nil
}

func (g *ngReader) obsoletePacket(body []byte, off int64, rec *Record) (bool, error) {
	if len(body) < 20 {
		return false, formatErr(off, ErrCorrupt, "pcapng packet block too short")
	}
	capLen := g.order.Uint32(body[12:])
	if uint64(capLen) > uint64(len(body)-20) {
		return false, formatErr(off, ErrCorrupt, "pcapng packet block claims %d captured bytes but holds %d", capLen, len(body)-20)
	}
	id := uint32(g.order.Uint16(body))
	ifc, ok := g.iface(id, off)
	if !ok {
		return false, nil
	}
	ts := uint64(g.order.Uint32(body[4:]))<<32 | uint64(g.order.Uint32(body[8:]))
	rec.Time = ifc.nanos(ts)
	rec.OrigLen = int(max(g.order.Uint32(body[16:]), capLen))
	rec.LinkType = ifc.linkType
	rec.Interface = int(id)
	rec.Offset = off
	rec.Data = body[20 : 20+capLen]
	return true, nil
}
