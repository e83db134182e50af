package flows

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by [FormatError]. Compare with errors.Is.
var (
	// ErrNotCapture means the input starts with bytes that are not a known
	// capture format or compression.
	ErrNotCapture = errors.New("not a capture file")
	// ErrUnsupportedFormat means the input is a known capture format that
	// flows does not read (snoop, ERF, bzip2-compressed, …).
	ErrUnsupportedFormat = errors.New("unsupported capture format")
	// ErrTruncated means the input ended inside a header or a record.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt means a header or block holds values that cannot be right,
	// so the rest of the file cannot be read reliably.
	ErrCorrupt = errors.New("corrupt")
)

// FormatError is a file-level problem found at a byte offset of the capture.
// Offsets count bytes of the capture as the format sees it, that is after
// decompression when the file is gzip- or zstd-compressed.
type FormatError struct {
	Offset int64  // byte offset of the header, block or record at fault
	Msg    string // what is wrong, in words
	Err    error  // one of the sentinels above, or an I/O error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(off int64, sentinel error, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}
