package flows

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// foreignDir holds captures from other projects' test suites, with tshark's
// counts in MANIFEST.tsv. It lives beside the repository, not in it, so the
// test skips in a user's clone.
const foreignDir = "../../shared/captures-foreign"

type manifestRow struct {
	file, format, linkType, notes string
	packets, syn, synack, rst     int64
	tsharkOK                      bool
}

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(foreignDir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no foreign captures beside the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 13 {
			t.Fatalf("manifest line %q has %d columns", sc.Text(), len(c))
		}
		r := manifestRow{file: c[0], format: c[5], linkType: c[6], notes: c[12], tsharkOK: c[11] == "0"}
		r.packets, _ = strconv.ParseInt(c[7], 10, 64)
		r.syn, _ = strconv.ParseInt(c[8], 10, 64)
		r.synack, _ = strconv.ParseInt(c[9], 10, 64)
		r.rst, _ = strconv.ParseInt(c[10], 10, 64)
		rows = append(rows, r)
	}
	return rows
}

// TestForeignCaptures reads every foreign capture: none may panic, and where
// tshark read the whole file and flows decodes its link types, the frame,
// SYN, SYN-ACK and RST counts must equal tshark's.
func TestForeignCaptures(t *testing.T) {
	for _, r := range readManifest(t) {
		t.Run(r.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(foreignDir, r.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := ReadCapture(f, Config{})
			if err != nil {
				t.Logf("error: %v", err)
			}
			supported := len(c.LinkTypes) > 0
			for _, lt := range c.LinkTypes {
				supported = supported && lt.Supported()
			}
			if !r.tsharkOK || err != nil || !supported {
				return
			}
			got := [4]int64{c.Packets, c.SYNFrames, c.SYNACKFrames, c.RSTFrames}
			want := [4]int64{r.packets, r.syn, r.synack, r.rst}
			if strings.Contains(r.notes, "tshark lists") {
				got[0] = want[0] // tshark shows pcapng custom blocks as frames
			}
			if got != want {
				t.Errorf("packets, SYN, SYN-ACK, RST = %v, tshark says %v (%s; %s)", got, want, r.linkType, r.notes)
			}
		})
	}
}
