package report

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromiumFlags run Debian's chromium headless, offline and quiet; the
// logging flags put the pages' console messages (errors, CSP violations)
// on standard error too, where consoleLine finds them.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-extensions", "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"}

// browserTimeout bounds each wait for chromium, so that a browser that
// hangs fails the test instead of stalling it.
const browserTimeout = 30 * time.Second

// browser is one headless chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: JSON messages, each ended by a NUL byte,
// that chromium reads on its fd 3 and writes on its fd 4). One browser
// renders every page of a test, several at once in as many tabs: starting
// chromium takes seconds, a page a fraction of one.
type browser struct {
	cmd    *exec.Cmd
	send   *os.File // chromium's fd 3
	recv   *os.File // chromium's fd 4
	stderr syncBuffer
	gone   chan struct{} // closed when chromium's output ends

	mu      sync.Mutex
	lastID  int
	replies map[int]chan *cdpMessage // by command ID
	tabs    map[string]*tab          // by session ID
	readErr error                    // why chromium's output ended
	closed  bool
}

// cdpMessage is a DevTools protocol message: a command's reply (ID) or an
// event (Method).
type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// syncBuffer is a bytes.Buffer that chromium's stderr copier and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBrowser starts chromium; t's cleanup closes it.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	toChrome, send, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	recv, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, chromiumFlags...), "--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "about:blank")
	b := &browser{cmd: exec.Command("chromium", args...), send: send, recv: recv, gone: make(chan struct{}),
		replies: map[int]chan *cdpMessage{}, tabs: map[string]*tab{}}
	b.cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	b.cmd.Stderr = &b.stderr
	b.cmd.WaitDelay = 5 * time.Second // leftover child processes
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	toChrome.Close()
	fromChrome.Close()
	go b.read()
	t.Cleanup(func() {
		if _, err := b.close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// read passes chromium's messages on: replies to the command waiting for
// them, events to their tab.
func (b *browser) read() {
	r := bufio.NewReader(b.recv)
	var err error
	for err == nil {
		var data []byte
		if data, err = r.ReadBytes(0); err != nil {
			break
		}
		var m cdpMessage
		if err = json.Unmarshal(data[:len(data)-1], &m); err != nil {
			err = fmt.Errorf("chromium sent %q: %v", data, err)
			break
		}
		b.mu.Lock()
		reply, p := b.replies[m.ID], b.tabs[m.SessionID]
		delete(b.replies, m.ID)
		b.mu.Unlock()
		switch {
		case m.Method == "" && reply != nil:
			reply <- &m
		case m.Method != "" && p != nil:
			p.event(&m)
		}
	}
	b.mu.Lock()
	b.readErr = err
	b.mu.Unlock()
	close(b.gone)
}

// close asks chromium to quit, kills it if it does not, and returns its
// log. Closing again returns the log and no error.
func (b *browser) close() (string, error) {
	b.mu.Lock()
	closed := b.closed
	b.closed = true
	b.mu.Unlock()
	if closed {
		return b.stderr.String(), nil
	}
	_ = b.call("", "Browser.close", nil, nil) // chromium may quit before it replies
	b.send.Close()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(browserTimeout):
		b.cmd.Process.Kill()
		err = fmt.Errorf("did not quit: %v", <-done)
	}
	<-b.gone
	b.recv.Close()
	if err != nil {
		err = fmt.Errorf("chromium: %v\n%s", err, b.stderr.String())
	}
	return b.stderr.String(), err
}

// call sends a command (in a tab's session, or to the browser when session
// is empty) and waits for its reply; result, if not nil, receives the
// reply's result.
func (b *browser) call(session, method string, params, result any) error {
	reply := make(chan *cdpMessage, 1)
	b.mu.Lock()
	b.lastID++
	id := b.lastID
	b.replies[id] = reply
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	b.mu.Lock()
	_, err = b.send.Write(append(data, 0)) // under the lock: one message at a time
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %v", method, err)
	}
	timeout := time.NewTimer(browserTimeout)
	defer timeout.Stop()
	select {
	case m := <-reply:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-b.gone:
		b.mu.Lock()
		defer b.mu.Unlock()
		return fmt.Errorf("%s: chromium's output ended (%v)\n%s", method, b.readErr, b.stderr.String())
	case <-timeout.C:
		return fmt.Errorf("%s: no reply in %v", method, browserTimeout)
	}
}

// tab is a browser tab, attached in its own session.
type tab struct {
	b               *browser
	target, session string
	lifecycle       chan struct{} // signalled when loads changes

	mu sync.Mutex
	// loads are the navigations (by loader ID) whose load event fired.
	loads map[string]bool
	// console holds what the pages logged: console calls, uncaught
	// exceptions, and the browser's own messages about them (a request
	// the Content-Security-Policy blocked, a resource that failed to
	// load). The current page's messages start at from.
	console []string
	from    int
}

// event records what a page logged, and its loads.
func (p *tab) event(m *cdpMessage) {
	var msg string
	var err error
	switch m.Method {
	case "Page.lifecycleEvent":
		var ev struct{ Name, LoaderID string }
		if err = json.Unmarshal(m.Params, &ev); err == nil {
			if ev.Name == "load" {
				p.mu.Lock()
				p.loads[ev.LoaderID] = true
				p.mu.Unlock()
				select {
				case p.lifecycle <- struct{}{}:
				default:
				}
			}
			return
		}
	case "Runtime.consoleAPICalled":
		var ev struct {
			Type string
			Args []struct{ Value, Description any }
		}
		err = json.Unmarshal(m.Params, &ev)
		var args []string
		for _, a := range ev.Args {
			args = append(args, fmt.Sprint(a.Value, a.Description))
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case "Runtime.exceptionThrown":
		var ev struct {
			ExceptionDetails struct {
				Text      string
				Exception struct{ Description string }
			}
		}
		err = json.Unmarshal(m.Params, &ev)
		msg = fmt.Sprintf("exception: %s %s", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception.Description)
	case "Log.entryAdded":
		var ev struct {
			Entry struct{ Source, Level, Text, URL string }
		}
		err = json.Unmarshal(m.Params, &ev)
		msg = fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	if err != nil {
		msg = fmt.Sprintf("%s with unreadable parameters %s: %v", m.Method, m.Params, err)
	}
	p.mu.Lock()
	p.console = append(p.console, msg)
	p.mu.Unlock()
}

// openTabs opens n tabs for the pages of t's subtests to share, one page at
// a time each (see borrow): a new tab costs a renderer process, about as
// much as the page. t's cleanup closes them.
func (b *browser) openTabs(t *testing.T, n, width, height int) chan *tab {
	t.Helper()
	pool := make(chan *tab, n)
	for range n {
		pool <- b.open(t, width, height)
	}
	return pool
}

// borrow takes a tab from the pool until t ends.
func borrow(t *testing.T, pool chan *tab) *tab {
	p := <-pool
	t.Cleanup(func() { pool <- p })
	return p
}

// open opens a tab in a window of its own, with a viewport of the size
// given, and with its console messages and its loads reported; t's cleanup
// closes it.
func (b *browser) open(t *testing.T, width, height int) *tab {
	t.Helper()
	var target struct{ TargetID string }
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank", "newWindow": true}, &target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.call("", "Target.closeTarget", map[string]any{"targetId": target.TargetID}, nil); err != nil {
			t.Error(err)
		}
	})
	var attached struct{ SessionID string }
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	p := &tab{b: b, target: target.TargetID, session: attached.SessionID, lifecycle: make(chan struct{}, 1), loads: map[string]bool{}}
	b.mu.Lock()
	b.tabs[p.session] = p
	b.mu.Unlock()
	t.Cleanup(func() {
		b.mu.Lock()
		delete(b.tabs, p.session)
		b.mu.Unlock()
	})
	for _, method := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		p.call(t, method, nil, nil)
	}
	p.call(t, "Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}, nil)
	p.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	return p
}

func (p *tab) call(t *testing.T, method string, params, result any) {
	t.Helper()
	if err := p.b.call(p.session, method, params, result); err != nil {
		t.Fatal(err)
	}
}

// load navigates to a file and waits for its load event, and then for a
// script to run after it, so that what the page logged while loading has
// been reported (chromium sends a session's messages in order). What the
// tab's previous page logged after it was checked counts as this page's.
func (p *tab) load(t *testing.T, file string) {
	t.Helper()
	p.mu.Lock()
	p.from = len(p.console)
	p.mu.Unlock()
	var nav struct{ LoaderID, ErrorText string }
	p.call(t, "Page.navigate", map[string]any{"url": "file://" + file}, &nav)
	if nav.ErrorText != "" {
		t.Fatalf("loading %s: %s", file, nav.ErrorText)
	}
	timeout := time.NewTimer(browserTimeout)
	defer timeout.Stop()
	for {
		p.mu.Lock()
		loaded := p.loads[nav.LoaderID]
		p.mu.Unlock()
		if loaded {
			break
		}
		select {
		case <-p.lifecycle:
		case <-p.b.gone:
			t.Fatalf("loading %s: chromium's output ended", file)
		case <-timeout.C:
			t.Fatalf("loading %s: no load event in %v", file, browserTimeout)
		}
	}
	p.eval(t, "0")
}

// logged returns what the current page logged so far.
func (p *tab) logged() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console[p.from:]...)
}

// eval evaluates a JavaScript expression in the page and returns its value
// as JSON.
func (p *tab) eval(t *testing.T, expr string) json.RawMessage {
	t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	p.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		t.Fatalf("evaluating %s: %s", expr, res.ExceptionDetails.Text)
	}
	return res.Result.Value
}

// dom returns the page's DOM as HTML, as chromium --dump-dom prints it.
func (p *tab) dom(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(p.eval(t, "document.documentElement.outerHTML"), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// screenshot returns a PNG of the viewport.
func (p *tab) screenshot(t *testing.T) []byte {
	t.Helper()
	var shot struct{ Data string }
	p.call(t, "Page.captureScreenshot", map[string]any{"format": "png", "optimizeForSpeed": true}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	return png
}
