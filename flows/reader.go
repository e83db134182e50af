package flows

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Record is one packet record of a capture. Data points into the Reader's
// buffer and is valid only until the next call to Next.
type Record struct {
	Time      int64    // nanoseconds since the Unix epoch, UTC
	OrigLen   int      // length of the packet on the wire
	LinkType  LinkType // of the interface the packet was captured on
	Interface int      // pcapng interface index within its section; 0 for pcap
	Offset    int64    // byte offset of the record's header in the capture
	Data      []byte   // the captured bytes (len(Data) is the captured length)
}

// Reader reads the records of one capture in order. It is created by
// NewReader, which detects the format; Next returns io.EOF at the clean end of
// the capture and a *FormatError when the capture cannot be read further. An
// error, once returned, is returned by every later call.
type Reader struct {
	src         *byteSource
	format      string
	compression string
	next        func(*Record) error
	warnings    warnings
	closers     []func()
	err         error
	rec         Record
}

// maxRecordLen bounds a single record, like libpcap's and wireshark's
// maximum snapshot length: anything larger is a corrupt length field, not a
// packet, and reading on would only allocate garbage.
const maxRecordLen = 262144

// maxBlockLen bounds a pcapng block, as wireshark does (16 MiB).
const maxBlockLen = 16 << 20

// NewReader detects the capture format of r from its first bytes and returns a
// Reader positioned at the first record. gzip and zstd compression are
// removed transparently; offsets then count bytes of the decompressed stream.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{}
	src := newByteSource(r)
	magic, err := src.peek(4)
	if err != nil {
		return nil, headerErr(err, 0, "file is empty or shorter than any capture header")
	}
	switch {
	case magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(readerOf(src))
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, formatErr(0, ErrTruncated, "gzip header cut short")
		}
		if err != nil {
			return nil, formatErr(0, ErrCorrupt, "gzip header: %v", err)
		}
		rd.compression = "gzip"
		src = newByteSource(zr)
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(readerOf(src), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, formatErr(0, ErrCorrupt, "zstd header: %v", err)
		}
		rd.closers = append(rd.closers, zr.Close)
		rd.compression = "zstd"
		src = newByteSource(zr)
	}
	rd.src = src
	if rd.compression != "" {
		magic, err = src.peek(4)
		if err != nil {
			rd.Close()
			return nil, headerErr(err, 0, rd.compression+" stream holds no capture header")
		}
	}
	switch m := binary.BigEndian.Uint32(magic); m {
	case 0x0a0d0d0a:
		rd.format = "pcapng"
		ng := &ngReader{src: src, warn: &rd.warnings}
		rd.next = ng.next
	default:
		pr, err := newPcapReader(src, &rd.warnings)
		if err != nil {
			rd.Close()
			return nil, err
		}
		rd.format = pr.format
		rd.next = pr.next
	}
	src.startAsync()
	rd.closers = append(rd.closers, src.close)
	return rd, nil
}

// headerErr describes a failure to read a file header.
func headerErr(err error, off int64, msg string) error {
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		return formatErr(off, ErrTruncated, "%s", msg)
	}
	return &FormatError{Offset: off, Msg: err.Error(), Err: err}
}

// Next returns the next record. The record and its Data are valid until the
// next call.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.next(&r.rec); err != nil {
		r.err = err
		return nil, err
	}
	return &r.rec, nil
}

// Format names the capture format: "pcap" (microsecond), "pcap-ns"
// (nanosecond), "pcap-modified" or "pcapng", followed by "+gzip" or "+zstd"
// when the file was compressed.
func (r *Reader) Format() string {
	if r.compression != "" {
		return r.format + "+" + r.compression
	}
	return r.format
}

// Warnings returns the non-fatal problems met so far, each once, with how
// often it occurred.
func (r *Reader) Warnings() []string { return r.warnings.list() }

// Offset returns the stream offset of the next unread byte.
func (r *Reader) Offset() int64 { return r.src.off }

// Close stops the read-ahead goroutine and releases the decompressor. It
// does not close the underlying reader.
func (r *Reader) Close() error {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
	return nil
}

// readerOf exposes what is left of a byteSource as an io.Reader, so that a
// decompressor can consume the bytes that format detection peeked at.
func readerOf(s *byteSource) io.Reader { return sourceReader{s} }

type sourceReader struct{ s *byteSource }

func (r sourceReader) Read(p []byte) (int, error) {
	b, err := r.s.peek(min(len(p), len(r.s.buf)))
	n := copy(p, b)
	r.s.discard(n)
	if n > 0 {
		return n, nil
	}
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return 0, err
}

// warnings collects non-fatal problems, each message once with a count, so
// that a capture with a million bad packets gives one line, not a million.
type warnings struct {
	order []string
	count map[string]int
}

const maxDistinctWarnings = 32

func (w *warnings) add(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if w.count == nil {
		w.count = make(map[string]int)
	}
	if _, ok := w.count[msg]; !ok {
		if len(w.order) >= maxDistinctWarnings {
			msg = "further warnings suppressed"
			if _, ok := w.count[msg]; !ok {
				w.order = append(w.order, msg)
			}
		} else {
			w.order = append(w.order, msg)
		}
	}
	w.count[msg]++
}

func (w *warnings) list() []string {
	out := make([]string, 0, len(w.order))
	for _, m := range w.order {
		if n := w.count[m]; n > 1 {
			out = append(out, fmt.Sprintf("%s (%d times)", m, n))
		} else {
			out = append(out, m)
		}
	}
	return out
}
