package cases

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/syndiag/syndiag/flows"
)

// sniffLimit is how much of a file is read to tell whether it is a capture:
// enough for any capture header, and for a compressed one to yield its own.
const sniffLimit = 64 << 10

// isCapture tells from the content whether a file is meant as a capture.
// Only a file that is plainly something else is not; one that is a capture
// of a format flows cannot read (bzip2, snoop, a zip of captures), or is
// empty or cut short, is, so that its problem is reported.
func isCapture(p string, size int64) bool {
	if size == 0 {
		// Nothing to tell by; the name is all there is.
		switch path.Ext(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(p), ".gz"), ".zst")) {
		case ".pcap", ".pcapng", ".cap", ".dmp":
			return true
		}
		return false
	}
	f, err := openRegular(p)
	if err != nil {
		return true // a row with the error beats silence
	}
	defer f.Close()
	r, err := flows.NewReader(io.LimitReader(f, sniffLimit))
	if err != nil {
		return !errors.Is(err, flows.ErrNotCapture)
	}
	r.Close()
	return true
}

// Open opens the capture to read it. A file found while walking a folder
// is refused unless it is still a regular file (see openRegular); a stream
// named on the command line is opened as it is, and waits for its writer.
func (f File) Open() (*os.File, error) {
	if f.Stream {
		return os.Open(f.Path)
	}
	return openRegular(f.Path)
}

// openRegular opens a file found while walking a folder, and refuses it
// unless it is a regular file. It opens with O_NONBLOCK, so that a file
// replaced by a FIFO after the walk cannot block the run either.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (a %s): left out", fileKind(st.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// fileKind names what a file that is not a regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "not a regular file"
}

// linkProblem says why a symbolic link leads to no file.
func linkProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "dangling link"
	case errors.Is(err, syscall.ELOOP):
		return "link loop"
	}
	return "link: " + pathless(err).Error()
}
