package flows

import (
	"bytes"
	"encoding/binary"
	"errors"
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
	var window uint64 // of the first zstd frame, when there is one
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
		head, _ := src.peek(6)
		window = zstdWindow(head)
		zr, err := zstd.NewReader(readerOf(src), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(zstdWindowLimit), zstd.WithDecoderMaxMemory(zstdWindowLimit))
		if err != nil {
			return nil, formatErr(0, ErrCorrupt, "zstd header: %v", err)
		}
		rd.closers = append(rd.closers, zr.Close)
		rd.compression = "zstd"
		src = newByteSource(zstdReader{zr, window})
	}
	rd.src = src
	if rd.compression != "" {
		magic, err = src.peek(4)
		if err != nil {
			rd.Close()
			return nil, compressedHeaderErr(rd.compression, src.err, len(magic), window)
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

// MaxZstdWindow is the largest zstd window flows decodes: 128 MiB, the
// zstd command's own default limit for decompression (--memory). The
// decoder allocates the whole window a frame declares before it reads a
// byte of data, so a few kilobytes that declare zstd --long=31's 2 GiB would
// cost 2 GiB per file — in a triage of uploads, per job. Larger windows are
// refused with an error that says how to proceed (decompress with
// zstd -d --long=31, or recompress without --long).
const MaxZstdWindow = 128 << 20

// zstdWindowLimit is MaxZstdWindow, but for the fuzz target, which must not
// reserve 128 MiB for each mutated frame header.
var zstdWindowLimit uint64 = MaxZstdWindow

// compressedHeaderErr describes a compressed stream that gave fewer than the
// n < 4 bytes of a capture header: cause is the decompressor's own error
// (io.EOF at a clean end), window the first frame's zstd window, or 0.
func compressedHeaderErr(compression string, cause error, n int, window uint64) error {
	switch {
	case cause == io.ErrUnexpectedEOF:
		return formatErr(0, ErrTruncated, "%s stream cut short before the capture header: the file was not copied whole", compression)
	case errors.As(cause, new(*zstdWindowError)):
		return &FormatError{Offset: 0, Msg: cause.Error(), Err: cause}
	case cause == io.EOF && n == 0:
		return formatErr(0, ErrTruncated, "%s stream holds no capture header: it is empty", compression)
	case cause == io.EOF:
		return formatErr(0, ErrTruncated, "%s stream holds no capture header: %d bytes, cut short", compression, n)
	}
	return formatErr(0, ErrCorrupt, "%s stream: %v", compression, cause)
}

// zstdReader names the problem when a zstd frame needs a larger window
// than MaxZstdWindow: the decoder says only "window size exceeded".
type zstdReader struct {
	zr     *zstd.Decoder
	window uint64 // of the first frame, or 0
}

func (z zstdReader) Read(p []byte) (int, error) {
	n, err := z.zr.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = &zstdWindowError{z.window, err}
	}
	return n, err
}

// zstdWindowError is a zstd frame whose window is larger than MaxZstdWindow.
type zstdWindowError struct {
	window uint64 // as the first frame declares it; 0 if unknown
	err    error  // the decoder's
}

func (e *zstdWindowError) Error() string {
	need := "more than " + formatBytes(MaxZstdWindow)
	if e.window > MaxZstdWindow {
		need = formatBytes(e.window)
	}
	return fmt.Sprintf("zstd window of %s, larger than the %s syndiag decodes (the zstd command's own default; a window is allocated whole before any data): decompress it first (zstd -d --long=31 FILE), or recompress without --long",
		need, formatBytes(MaxZstdWindow))
}

// Unwrap returns ErrUnsupportedFormat and the decoder's error.
func (e *zstdWindowError) Unwrap() []error { return []error{ErrUnsupportedFormat, e.err} }

// zstdWindow returns the window size the zstd frame header at the start of
// b declares (RFC 8878, section 3.1.1.1.2), or 0 when b is too short or the
// frame is a single segment, whose window is its content size.
func zstdWindow(b []byte) uint64 {
	if len(b) < 6 || b[4]&0x20 != 0 {
		return 0
	}
	exp, mantissa := uint64(b[5]>>3), uint64(b[5]&7)
	base := uint64(1) << (10 + exp)
	return base + base/8*mantissa
}

// formatBytes writes a size in GiB or MiB, as the zstd command does.
func formatBytes(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%g GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%g MiB", float64(n)/(1<<20))
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
