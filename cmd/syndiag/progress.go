package main

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows bytes read on stderr while a long run goes on. It is made
// only for a terminal (see wantProgress) and shows nothing for a run that
// ends within progressDelay, so that short runs stay quiet.
type progress struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	start   time.Time
	desc    string
	n       int64 // bytes read so far
	visible bool
}

// progressDelay is how long a run goes before its bar appears.
var progressDelay = 700 * time.Millisecond

func newProgress(w io.Writer, total int64, desc string) *progress {
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionSetRenderBlankState(false),
		progressbar.OptionSetVisibility(false),
	)
	// The clock of rate and ETA starts now, not when the bar appears.
	bar.StartWithoutRender()
	return &progress{bar: bar, start: time.Now(), desc: desc}
}

// add counts n more bytes read.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if !p.visible && time.Since(p.start) >= progressDelay {
		// An invisible bar counts nothing, so it is made visible (an
		// option set again) and then set to the bytes read so far.
		p.visible = true
		progressbar.OptionSetVisibility(true)(p.bar)
	}
	if p.visible {
		p.bar.Set64(p.n)
	}
}

// describe changes the text before the bar ("cases 12/230").
func (p *progress) describe(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s != p.desc {
		p.desc = s
		p.bar.Describe(s)
	}
}

// done clears the bar, before the report is written.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.visible {
		p.bar.Finish()
		p.bar.Clear()
		p.visible = false
	}
}

// counting passes reads through and counts them on a progress bar.
type counting struct {
	r io.Reader
	p *progress
}

func (c counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// wantProgress decides whether to draw a progress bar: "always", "never",
// or "auto", which draws one when stderr is a terminal.
func wantProgress(mode string, stderr io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(stderr)
}
