package flows

import "io"

// readahead runs a decompressor in its own goroutine, a few chunks ahead of
// the consumer, so that inflating and decoding use two cores.
type readahead struct {
	full chan chunk
	free chan []byte
	done chan struct{}
	cur  chunk
	pos  int
}

type chunk struct {
	b   []byte
	err error
}

const (
	readaheadChunk = 1 << 20
	readaheadDepth = 4
)

func newReadahead(r io.Reader) *readahead {
	ra := &readahead{
		full: make(chan chunk, readaheadDepth),
		free: make(chan []byte, readaheadDepth+1),
		done: make(chan struct{}),
	}
	for range readaheadDepth + 1 {
		ra.free <- make([]byte, readaheadChunk)
	}
	go ra.fill(r)
	return ra
}

func (ra *readahead) fill(r io.Reader) {
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := io.ReadFull(r, b)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case ra.full <- chunk{b: b[:n], err: err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readahead) Read(p []byte) (int, error) {
	for ra.pos == len(ra.cur.b) {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.b != nil {
			ra.free <- ra.cur.b[:cap(ra.cur.b)]
		}
		var ok bool
		ra.cur, ok = <-ra.full
		if !ok {
			return 0, errClosed
		}
		ra.pos = 0
	}
	n := copy(p, ra.cur.b[ra.pos:])
	ra.pos += n
	return n, nil
}

// close stops the goroutine; Read must not be called afterwards.
func (ra *readahead) close() {
	select {
	case <-ra.done:
	default:
		close(ra.done)
	}
}
