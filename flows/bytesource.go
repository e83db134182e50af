package flows

import "io"

// byteSource is a buffered reader that hands out slices of its own buffer
// instead of copying, so that a record is read from the file exactly once.
// A slice returned by peek is valid until the next call to peek.
type byteSource struct {
	r      io.Reader
	buf    []byte
	lo, hi int   // unread bytes are buf[lo:hi]
	off    int64 // stream offset of buf[lo]
	err    error // sticky error of r (io.EOF included)
}

const sourceBufSize = 1 << 20

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

// discard consumes n bytes that a previous peek made available.
func (s *byteSource) discard(n int) {
	s.lo += n
	s.off += int64(n)
}
