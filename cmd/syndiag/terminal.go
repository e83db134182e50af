package main

import (
	"cmp"
	"io"
	"os"

	"github.com/syndiag/syndiag/report"
)

// stdinIsData reports whether standard input is a pipe or a file, as in
// tcpdump -w - | syndiag or syndiag < capture.pcap, and not a terminal or
// a device such as /dev/null: then it is the capture to read.
func stdinIsData(stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && (st.Mode()&os.ModeNamedPipe != 0 || st.Mode().IsRegular())
}

// reportOptions tunes a report for where it goes: colour, and names cut
// to fit, only on a terminal (output is -o's file, or "" for stdout);
// top is --top, where 0 is every row.
func reportOptions(output string, wide bool, top int, stdout io.Writer) report.Options {
	term := output == "" && isTerminal(stdout)
	return report.Options{
		Color: term && colorful(stdout),
		Top:   cmp.Or(top, -1), // 0 is all here, and the default there
		Wide:  wide || !term,
	}
}

// colorful reports whether w is a terminal that wants colour: a character
// device, and NO_COLOR (https://no-color.org) unset or empty.
func colorful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

// isTerminal reports whether w is a character device and TERM is not
// "dumb".
func isTerminal(w io.Writer) bool {
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
