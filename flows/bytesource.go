package flows

import (
	"fmt"
	"io"
	"runtime/debug"
)

// byteSource is a buffered reader that hands out slices of its own buffer
// instead of copying, so that a record is read from the file exactly once.
// A slice returned by peek is valid until the next call to peek.
//
// After startAsync, a goroutine reads ahead into a ring of large chunks while
// the caller decodes the previous ones, so that I/O (or decompression) and
// decoding run on two cores. Each chunk keeps room in front of its data for
// the unread tail of the previous chunk, so that a record that straddles two
// chunks is joined by copying only that tail.
type byteSource struct {
	r      io.Reader
	buf    []byte
	lo, hi int   // unread bytes are buf[lo:hi]
	off    int64 // stream offset of buf[lo]
	err    error // sticky error of r (io.EOF included)
	async  *chunker
	// wantAsync asks for the read-ahead goroutine once the input proves
	// larger than the first buffer, so small files cost no goroutine and no
	// chunk buffers.
	wantAsync bool
	fills     int
}

const (
	sourceBufSize = 1 << 20
	chunkData     = 1 << 20
	chunkReserve  = maxRecordLen + 64 // room for a straddling record
	chunkDepth    = 3
)

func newByteSource(r io.Reader) *byteSource {
	return &byteSource{r: r, buf: make([]byte, sourceBufSize)}
}

// peek returns the next n bytes without consuming them. At the end of the
// input it returns io.EOF if no byte is left and io.ErrUnexpectedEOF with the
// bytes that are left otherwise. Other read errors are returned as they are.
func (s *byteSource) peek(n int) ([]byte, error) {
	if s.hi-s.lo >= n {
		return s.buf[s.lo : s.lo+n], nil
	}
	if s.async == nil && s.wantAsync && s.fills > 0 && s.err == nil {
		s.startChunker()
	}
	if s.async != nil {
		s.fillAsync(n)
	} else {
		s.fill(n)
	}
	if s.hi-s.lo >= n {
		return s.buf[s.lo : s.lo+n], nil
	}
	err := s.err
	if err == io.EOF {
		if s.hi == s.lo {
			return nil, io.EOF
		}
		err = io.ErrUnexpectedEOF
	}
	return s.buf[s.lo:s.hi], err
}

func (s *byteSource) fill(n int) {
	s.fills++
	if s.lo+n > len(s.buf) {
		if n > len(s.buf) {
			nb := make([]byte, max(n, 2*len(s.buf)))
			s.hi = copy(nb, s.buf[s.lo:s.hi])
			s.buf = nb
		} else {
			s.hi = copy(s.buf, s.buf[s.lo:s.hi])
		}
		s.lo = 0
	}
	for s.hi-s.lo < n && s.err == nil {
		m, err := s.r.Read(s.buf[s.hi:])
		s.hi += m
		if err != nil {
			s.err = err
		} else if m == 0 {
			// A reader that returns neither data nor an error must not spin us.
			s.err = io.ErrNoProgress
		}
	}
}

// discard consumes n bytes that a previous peek made available.
func (s *byteSource) discard(n int) {
	s.lo += n
	s.off += int64(n)
}

// startAsync hands the rest of the input to a read-ahead goroutine as soon
// as the input is larger than the first buffer.
func (s *byteSource) startAsync() { s.wantAsync = true }

func (s *byteSource) startChunker() {
	c := &chunker{full: make(chan chunk, chunkDepth), free: make(chan []byte, chunkDepth+2), done: make(chan struct{})}
	s.async = c
	go c.run(s.r)
}

// fillAsync takes chunks from the goroutine until n bytes are buffered.
func (s *byteSource) fillAsync(n int) {
	c := s.async
	for s.hi-s.lo < n && s.err == nil {
		ck := <-c.full
		left := s.buf[s.lo:s.hi]
		old := s.buf
		switch {
		case len(ck.data) == 0:
			// Nothing new: only the error matters.
		case len(left) <= chunkReserve:
			start := chunkReserve - len(left)
			copy(ck.buf[start:], left)
			s.buf, s.lo, s.hi = ck.buf, start, chunkReserve+len(ck.data)
			c.release(old)
		default:
			// A record larger than the reserve (a big pcapng block):
			// join the two in a buffer of its own.
			nb := make([]byte, len(left)+len(ck.data))
			copy(nb, left)
			copy(nb[len(left):], ck.data)
			s.buf, s.lo, s.hi = nb, 0, len(nb)
			c.release(old)
			c.release(ck.buf)
		}
		if len(ck.data) == 0 {
			c.release(ck.buf)
		}
		if ck.err != nil {
			s.err = ck.err
		}
		if ck.panic != nil {
			panic(ck.panic)
		}
	}
}

// close stops the read-ahead goroutine, if any.
func (s *byteSource) close() {
	if s.async != nil {
		s.async.stop()
	}
}

type chunker struct {
	full chan chunk
	free chan []byte
	done chan struct{}
}

type chunk struct {
	buf   []byte // the whole buffer, reserve included
	data  []byte // the bytes read, buf[chunkReserve:][:n]
	err   error
	panic *ReadPanic // a panic of the read-ahead goroutine, raised again by the reader
}

// ReadPanic is the value a Reader panics with when reading (or
// decompressing) its input panicked in the read-ahead goroutine: a panic
// there would end the process where no caller could recover it, so it is
// raised again in the goroutine that called Next.
type ReadPanic struct {
	Value any    // what the read panicked with
	Stack []byte // the read-ahead goroutine's stack when it panicked
}

func (p *ReadPanic) String() string { return fmt.Sprintf("%v (in the read-ahead goroutine)", p.Value) }

func (c *chunker) run(r io.Reader) {
	defer func() {
		if v := recover(); v != nil {
			select {
			case c.full <- chunk{err: io.ErrNoProgress, panic: &ReadPanic{v, debug.Stack()}}:
			case <-c.done:
			}
		}
	}()
	allocated := 0
	for {
		var b []byte
		if allocated <= chunkDepth {
			// Buffers are made as they are first needed.
			select {
			case b = <-c.free:
			default:
				b = make([]byte, chunkReserve+chunkData)
				allocated++
			}
		} else {
			select {
			case b = <-c.free:
			case <-c.done:
				return
			}
		}
		n, err := readChunk(r, b[chunkReserve:])
		select {
		case c.full <- chunk{buf: b, data: b[chunkReserve : chunkReserve+n], err: err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// readChunk reads until b is full or r fails, and returns r's own error. It
// is not io.ReadFull, which reports a short read as io.ErrUnexpectedEOF and
// so cannot be told apart from a decompressor's io.ErrUnexpectedEOF, the
// error of a compressed stream that was cut short.
func readChunk(r io.Reader, b []byte) (int, error) {
	n, empty := 0, 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty == 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

// release gives a chunk buffer back to the goroutine; other buffers (the
// first, synchronous one, or a joined one) are left to the garbage collector.
func (c *chunker) release(b []byte) {
	if len(b) == chunkReserve+chunkData {
		select {
		case c.free <- b:
		default:
		}
	}
}

func (c *chunker) stop() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}
