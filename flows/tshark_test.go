package flows

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// labCaptures lists the real-kernel captures of testdata/lab.
func labCaptures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.gz", "*.zst"} {
		m, err := filepath.Glob(filepath.Join("..", "testdata", "lab", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no captures in testdata/lab")
	}
	return files
}

// tsharkCount counts the frames of file that match a display filter.
func tsharkCount(t *testing.T, file, filter string) int64 {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -Y %q %s: %v: %s", filter, file, err, stderr.String())
	}
	return int64(strings.Count(string(out), "\n"))
}

// TestTsharkCrossCheck compares flows' counts on every lab capture with
// tshark's: frames, SYNs, SYN-ACKs, RSTs, and SYN retransmissions (tshark's
// tcp.analysis.retransmission on SYNs; flows counts a SYN with the ISN of an
// earlier one on the same 4-tuple, after removing copies that tcpdump -i any
// captured twice, which tshark calls retransmissions too).
func TestTsharkCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (CI installs it)")
	}
	for _, file := range labCaptures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var retx int64
			c, err := ReadCapture(f, Config{Emit: func(a *Attempt) { retx += int64(len(a.SYNs) - 1) }})
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				what   string
				filter string
				got    int64
			}{
				{"frames", "frame", c.Packets},
				{"SYN frames", "tcp.flags.syn==1 && tcp.flags.ack==0", c.SYNFrames},
				{"SYN-ACK frames", "tcp.flags.syn==1 && tcp.flags.ack==1", c.SYNACKFrames},
				{"RST frames", "tcp.flags.reset==1", c.RSTFrames},
				{"retransmitted SYNs", "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission", retx + c.DuplicateSYNs},
			}
			for _, ck := range checks {
				if want := tsharkCount(t, file, ck.filter); ck.got != want {
					t.Errorf("%s: flows counts %d, tshark %d", ck.what, ck.got, want)
				}
			}
		})
	}
}
