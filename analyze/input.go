package analyze

import (
	"io"

	"github.com/syndiag/syndiag/flows"
)

// ReadCapture reads a capture from r with cfg's selection and cap, as the
// input of one capture to Analyze: the hand-off from flows to analyze. path
// names the capture in the result; r is read, path never opened. The role
// is RoleUnknown, for Analyze to infer; a caller that knows it sets it.
//
// Like flows.ReadCapture, it returns what was read before a problem
// together with the error (a *flows.FormatError). It returns a nil Input
// when nothing could be read: r is not a capture of a format flows knows.
// cfg.Emit is replaced.
func ReadCapture(path string, r io.Reader, cfg flows.Config) (*Input, error) {
	in := &Input{Path: path, Role: RoleUnknown}
	cfg.Emit = func(a *flows.Attempt) { in.Attempts = append(in.Attempts, a) }
	c, err := flows.ReadCapture(r, cfg)
	if c.Format == "" {
		return nil, err
	}
	in.Capture = c
	return in, err
}
