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

// foreignEnv names the folder of captures from other projects' test
// suites, with tshark's counts in MANIFEST.tsv. Without it the tests look
// beside the repository (defaultForeignDir), and skip when the folder is
// not there, as in a user's clone; a folder named in foreignEnv must exist.
const foreignEnv = "SYNDIAG_FOREIGN"

// defaultForeignDir is ../shared/captures-foreign beside the repository,
// from the flows folder the tests run in.
const defaultForeignDir = "../../shared/captures-foreign"

// foreignDir returns the foreign captures' folder, and whether foreignEnv
// named it.
func foreignDir() (dir string, named bool) {
	if d := os.Getenv(foreignEnv); d != "" {
		return d, true
	}
	return defaultForeignDir, false
}

type manifestRow struct {
	file, format, linkType, notes string
	packets, syn, synack, rst     int64
	tsharkOK                      bool
}

// readManifest reads MANIFEST.tsv of the foreign captures' folder, and
// returns the folder with its rows.
func readManifest(t *testing.T) (string, []manifestRow) {
	t.Helper()
	dir, named := foreignDir()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) && !named {
		t.Skipf("no foreign captures beside the repository (%s), and %s is not set", defaultForeignDir, foreignEnv)
	}
	if err != nil && named {
		t.Fatalf("%s=%s: %v (a relative path starts from the flows folder)", foreignEnv, dir, err)
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
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return dir, rows
}

// TestForeignCaptures reads every foreign capture: none may panic, and where
// tshark read the whole file and flows decodes its link types, the frame,
// SYN, SYN-ACK and RST counts must equal tshark's.
func TestForeignCaptures(t *testing.T) {
	dir, rows := readManifest(t)
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, r.file))
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
