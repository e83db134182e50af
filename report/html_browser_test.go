package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumFlags run Debian's chromium headless, offline and quiet; the
// logging flags put the page's console messages (errors, CSP violations)
// on standard error.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-extensions", "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"}

// consoleLine matches a console message in chromium's log: the page writes
// none, so any is an error, a CSP violation (a blocked request) included.
var consoleLine = regexp.MustCompile(`(?m)^.*(:CONSOLE|Uncaught|Content Security Policy|Refused to).*$`)

// runChromium runs chromium on a file with extra flags, bounded in time,
// and returns its standard output and error.
func runChromium(t *testing.T, page string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir()), extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, "chromium", args...)
	cmd.WaitDelay = 5 * time.Second // leftover child processes
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(extra, " "), err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestHTMLBrowser renders the report of each scenario in headless chromium
// (skipped when it is not installed): the DOM must hold the charts the
// model has, the page must log nothing (no script error, no request the
// Content-Security-Policy blocked), and the screenshot must not be blank.
// A page that breaks those rules must fail the same checks.
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
	t.Run("negative-control", func(t *testing.T) {
		page := filepath.Join(dir, "bad.html")
		bad := strings.Replace(htmlOf(t, htmlCase{server: "../testdata/lab/established.pcap"}), "<main>", `<main><img src="http://192.0.2.1/x.png" alt="">`, 1)
		if err := os.WriteFile(page, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr := runChromium(t, page, "--dump-dom")
		if !consoleLine.MatchString(stderr) {
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
			res := analyzeCase(t, c)
			model := buildHTML(res, Options{})
			page := filepath.Join(dir, c.name+".html")
			if err := os.WriteFile(page, []byte(htmlOf(t, c)), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, stderr := runChromium(t, page, "--dump-dom")
			checkConsole(t, stderr)
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
			shot := filepath.Join(dir, c.name+".png")
			_, stderr = runChromium(t, page, "--window-size=1280,2400", "--screenshot="+shot)
			checkConsole(t, stderr)
			checkScreenshot(t, shot)
		})
	}
	t.Run("index", func(t *testing.T) {
		page := filepath.Join(dir, "index.html")
		var b bytes.Buffer
		cs := []CaseSummary{{Name: "a.pcap", Worst: "critical", Attempts: 3, Report: "a.html", Findings: []CaseFinding{{Kind: "refused", Severity: "warning", Confidence: 1, Summary: "x"}}},
			{Name: "b.pcap", Errors: []string{"b.pcap: not a capture"}}}
		if err := HTMLIndex(&b, "triage", cs, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, stderr := runChromium(t, page, "--dump-dom")
		checkConsole(t, stderr)
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

func checkConsole(t *testing.T, stderr string) {
	t.Helper()
	for _, m := range consoleLine.FindAllString(stderr, 5) {
		t.Errorf("browser console: %s", m)
	}
}

// checkScreenshot decodes the PNG and wants a page that is not blank:
// enough pixels that are not the white background, and some in colour
// (the charts).
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
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
		t.Errorf("screenshot %s looks blank: %d of %d sampled pixels drawn, %d in colour", path, ink, total, colour)
	}
}

func spread(r, g, b uint32) uint32 {
	return max(r, g, b) - min(r, g, b)
}
