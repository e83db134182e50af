//go:build unix

package main

import (
	"os"
	"syscall"
)

// openRegular opens a file found while walking a folder, and refuses it
// unless it is a regular file. O_NONBLOCK makes opening a FIFO return at
// once instead of waiting for a writer, so that a file replaced by a FIFO
// after the walk cannot block the run either; it changes nothing for a
// regular file.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
