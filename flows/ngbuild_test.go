package flows

import (
	"bytes"
	"encoding/binary"
)

// ngBuilder writes pcapng by hand, for what pcapgo.NgWriter cannot write:
// sections in big-endian byte order, if_tsresol other than 10^-9, if_tsoffset,
// Simple Packet Blocks and blocks of unknown type.
type ngBuilder struct {
	buf   bytes.Buffer
	order byteOrder
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngOption is one option of a pcapng block.
type ngOption struct {
	code uint16
	val  []byte
}

// pcapng option codes and block types used by the fixtures.
const (
	ngOptIfName     = 2
	ngOptIfTsresol  = 9
	ngOptIfTsoffset = 14
)

// section starts a new section in the given byte order.
func (b *ngBuilder) section(order byteOrder) {
	b.order = order
	body := order.AppendUint32(nil, 0x1a2b3c4d)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, 0xffffffffffffffff) // section length not given
	b.block(ngSHB, body)
}

// iface adds an Interface Description Block.
func (b *ngBuilder) iface(lt LinkType, snapLen uint32, opts ...ngOption) {
	body := b.order.AppendUint16(nil, uint16(lt))
	body = b.order.AppendUint16(body, 0)
	body = b.order.AppendUint32(body, snapLen)
	b.block(ngIDB, append(body, b.options(opts)...))
}

// epb adds an Enhanced Packet Block and returns its offset.
func (b *ngBuilder) epb(ifc uint32, ts uint64, data []byte, origLen int) int64 {
	body := b.order.AppendUint32(nil, ifc)
	body = b.order.AppendUint32(body, uint32(ts>>32))
	body = b.order.AppendUint32(body, uint32(ts))
	body = b.order.AppendUint32(body, uint32(len(data)))
	body = b.order.AppendUint32(body, uint32(origLen))
	return b.block(ngEPB, pad4(append(body, data...)))
}

// spb adds a Simple Packet Block and returns its offset.
func (b *ngBuilder) spb(data []byte, origLen int) int64 {
	body := b.order.AppendUint32(nil, uint32(origLen))
	return b.block(ngSPB, pad4(append(body, data...)))
}

// block adds a block of any type around body (whose length must be a
// multiple of 4) and returns its offset.
func (b *ngBuilder) block(typ uint32, body []byte) int64 {
	off := int64(b.buf.Len())
	n := uint32(12 + len(body))
	h := b.order.AppendUint32(nil, typ)
	h = b.order.AppendUint32(h, n)
	b.buf.Write(h)
	b.buf.Write(body)
	b.buf.Write(b.order.AppendUint32(nil, n))
	return off
}

func (b *ngBuilder) options(opts []ngOption) []byte {
	if len(opts) == 0 {
		return nil
	}
	var out []byte
	for _, o := range opts {
		out = b.order.AppendUint16(out, o.code)
		out = b.order.AppendUint16(out, uint16(len(o.val)))
		out = pad4(append(out, o.val...))
	}
	return append(out, 0, 0, 0, 0) // opt_endofopt
}

func (b *ngBuilder) bytes() []byte { return b.buf.Bytes() }

// u64 encodes an option value in the section's byte order.
func (b *ngBuilder) u64(v uint64) []byte { return b.order.AppendUint64(nil, v) }

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
