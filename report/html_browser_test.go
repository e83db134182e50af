package report

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/syndiag/syndiag/analyze"
)

// consoleLine matches a console message in chromium's log: the page writes
// none, so any is an error, a CSP violation (a blocked request) included.
var consoleLine = regexp.MustCompile(`(?m)^.*(:CONSOLE|Uncaught|Content Security Policy|Refused to).*$`)

// TestHTMLBrowser renders the report of each scenario in headless chromium
// (skipped when it is not installed): the DOM must hold the charts the
// model has, the page must log nothing (no script error, no request the
// Content-Security-Policy blocked), and the screenshot must not be blank.
// A page that breaks those rules must fail the same checks. One browser
// renders all the pages, in as many tabs as pages run at once; what they
// logged is checked twice, in the DevTools events of each tab and, once
// they are all done, in chromium's log.
func TestHTMLBrowser(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		if os.Getenv("SYNDIAG_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium not installed, and SYNDIAG_REQUIRE_BROWSER is set (CI installs it)")
		}
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	dir := t.TempDir()
	b := startBrowser(t)
	const badPage = "negative-control.html"
	var badLoaded atomic.Bool // unless -run left the negative control out
	// Cleanups run after the parallel subtests, last in first out: this
	// one after the tabs are closed and before startBrowser's.
	t.Cleanup(func() {
		log, err := b.close()
		if err != nil {
			t.Fatal(err)
		}
		var sawBad bool
		for _, line := range consoleLine.FindAllString(log, -1) {
			if strings.Contains(line, badPage) || strings.Contains(line, "192.0.2.1") {
				sawBad = true
				continue
			}
			t.Errorf("chromium's log: %s", line)
		}
		if badLoaded.Load() && !sawBad {
			t.Error("chromium's log has no console line about the negative control's blocked image: the check above would see nothing")
		}
	})
	tabs := b.openTabs(t, runtime.GOMAXPROCS(0), 1280, 2400)
	t.Run("negative-control", func(t *testing.T) {
		t.Parallel()
		page := filepath.Join(dir, badPage)
		bad := strings.Replace(htmlOf(t, htmlCase{server: "../testdata/lab/established.pcap"}), "<main>", `<main><img src="http://192.0.2.1/x.png" alt="">`, 1)
		if err := os.WriteFile(page, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		p := borrow(t, tabs)
		p.load(t, page)
		badLoaded.Store(true)
		if len(p.logged()) == 0 {
			t.Error("a page that asks for a network image logged no CSP violation: the check below would see nothing")
		}
	})
	var cases []htmlCase
	for _, c := range htmlCases(t) {
		if strings.HasPrefix(c.name, "scenarios__") || c.name == "paws__paws-nat.pcap" || c.name == "join__nat" || c.name == "lab__mixed-failures.pcap" {
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := analyzeCase(t, c)
			model := buildHTML(res, Options{})
			var html bytes.Buffer
			if err := HTML(&html, res, Options{}); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(dir, c.name+".html")
			if err := os.WriteFile(page, html.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			p := borrow(t, tabs)
			p.load(t, page)
			dom, shot := p.dom(t), p.screenshot(t)
			checkConsole(t, p)
			checkScreenshot(t, c.name, shot)
			want := map[string]int{}
			for _, s := range model.Sections {
				for _, ch := range s.Charts {
					want[ch.Kind]++
				}
			}
			for kind, n := range want {
				if got := strings.Count(dom, `<svg class="chart" data-chart="`+kind+`"`); got != n {
					t.Errorf("DOM has %d %s charts, the model %d", got, kind, n)
				}
			}
			if want["timeline"] == 0 {
				t.Error("no timeline chart")
			}
			// The script ran: it turns the table headings into buttons.
			if len(model.Tables[0].Rows) > 0 && !strings.Contains(dom, `<th scope="col"><button type="button">Address</button></th>`) {
				t.Error("the sorting script did not run")
			}
		})
	}
	// Hostile text in every string a page shows must stay text: no
	// element, script or request of its own.
	for name, write := range map[string]func(*bytes.Buffer) error{
		"hostile-report": func(b *bytes.Buffer) error { return HTML(b, hostileResult(t), Options{}) },
		"hostile-index":  func(b *bytes.Buffer) error { return HTMLIndex(b, hostile, hostileCases(), Options{}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := write(&buf); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(dir, name+".html")
			if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			p := borrow(t, tabs)
			p.load(t, page)
			checkConsole(t, p)
			var got struct{ Scripts, Styles, Foreign, Handlers, Shown int }
			if err := json.Unmarshal(p.eval(t, `({
				scripts: document.scripts.length,
				styles: document.querySelectorAll("style").length,
				foreign: document.querySelectorAll("img, iframe, object, embed, svg svg, body style, [src]").length,
				handlers: Array.prototype.filter.call(document.querySelectorAll("*"), function (e) {
					return Array.prototype.some.call(e.attributes, function (a) { return a.name.indexOf("on") === 0; });
				}).length,
				shown: document.body.textContent.split("<script>alert(1)</script>").length - 1
			})`), &got); err != nil {
				t.Fatal(err)
			}
			if got.Scripts != 1 || got.Styles != 1 || got.Foreign != 0 || got.Handlers != 0 {
				t.Errorf("the hostile text made markup: %+v", got)
			}
			if got.Shown < 2 {
				t.Errorf("the hostile text is shown %d times", got.Shown)
			}
		})
	}
	t.Run("index", func(t *testing.T) {
		t.Parallel()
		page := filepath.Join(dir, "index.html")
		var buf bytes.Buffer
		cs := []CaseSummary{{Name: "a.pcap", Attempts: 3, Report: "a.html", Findings: []CaseFinding{{Kind: analyze.KindRefused, Severity: analyze.Warning, Confidence: 1, Summary: "x"}}},
			{Name: "b.pcap", Errors: []string{"b.pcap: not a capture"}}}
		if err := HTMLIndex(&buf, "triage", cs, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		p := borrow(t, tabs)
		p.load(t, page)
		dom := p.dom(t)
		checkConsole(t, p)
		if !strings.Contains(dom, `<a href="a.html" title="a.pcap">a.pcap</a>`) {
			t.Error("no link to the case's report")
		}
	})
}

func htmlOf(t *testing.T, c htmlCase) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, analyzeCase(t, c), Options{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkConsole reports what a page logged: it logs nothing when it works.
func checkConsole(t *testing.T, p *tab) {
	t.Helper()
	for _, m := range p.logged() {
		t.Errorf("browser console: %s", m)
	}
}

// checkScreenshot decodes the PNG and wants a page that is not blank:
// enough pixels that are not the white background, and some in colour
// (the charts).
func checkScreenshot(t *testing.T, name string, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", name, err)
	}
	b := img.Bounds()
	var ink, colour int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xF000 || g < 0xF000 || bl < 0xF000 {
				ink++
			}
			if spread(r, g, bl) > 0x4000 {
				colour++
			}
		}
	}
	total := (b.Dx() / 2) * (b.Dy() / 2)
	if ink < total/100 || colour < 200 {
		t.Errorf("screenshot of %s looks blank: %d of %d sampled pixels drawn, %d in colour", name, ink, total, colour)
	}
}

func spread(r, g, b uint32) uint32 {
	return max(r, g, b) - min(r, g, b)
}
