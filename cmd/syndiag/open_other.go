//go:build !unix

package main

import "os"

// openRegular opens a file found while walking a folder, and refuses it
// unless it is a regular file.
func openRegular(p string) (*os.File, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
