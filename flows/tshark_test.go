package flows

import (
	"bufio"
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

// tsharkFrame is what tshark shows of one frame: the flags of every TCP
// header in it (an ICMP error quoting a segment has two) and whether one of
// them is a retransmission by tshark's TCP analysis.
type tsharkFrame struct {
	syn, ack, rst  []bool
	retransmission bool
}

// tsharkFields are the fields tsharkFrames asks for, in the order of its
// columns.
var tsharkFields = []string{"frame.number", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "tcp.analysis.retransmission"}

// tsharkFrames dissects file in one tshark pass and returns its frames, so
// that a test counts what several display filters would select without one
// tshark process (half a second of start-up) per filter.
func tsharkFrames(t *testing.T, file string) []tsharkFrame {
	t.Helper()
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,", "-E", "occurrence=a"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	var frames []tsharkFrame
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != len(tsharkFields) || cols[0] == "" {
			t.Fatalf("tshark %s: line %q does not hold the fields %v", file, sc.Text(), tsharkFields)
		}
		frames = append(frames, tsharkFrame{
			syn:            tsharkBools(t, cols[1]),
			ack:            tsharkBools(t, cols[2]),
			rst:            tsharkBools(t, cols[3]),
			retransmission: cols[4] != "",
		})
	}
	return frames
}

// tsharkBools parses the occurrences of a boolean field: "1" or "0" up to
// Wireshark 4.0, "True" or "False" after it.
func tsharkBools(t *testing.T, col string) []bool {
	t.Helper()
	if col == "" {
		return nil
	}
	var bs []bool
	for _, v := range strings.Split(col, ",") {
		switch v {
		case "1", "True":
			bs = append(bs, true)
		case "0", "False":
			bs = append(bs, false)
		default:
			t.Fatalf("tshark printed %q for a flag", v)
		}
	}
	return bs
}

// has reports whether a field has an occurrence equal to v: what a display
// filter's == means for a field that occurs several times.
func has(occurrences []bool, v bool) bool {
	for _, o := range occurrences {
		if o == v {
			return true
		}
	}
	return false
}

// TestTsharkCrossCheck compares flows' counts on every lab capture with
// tshark's: frames, SYNs, SYN-ACKs, RSTs, and SYN retransmissions (tshark's
// tcp.analysis.retransmission on SYNs; flows counts a SYN with the ISN of an
// earlier one on the same 4-tuple, after removing copies that tcpdump -i any
// captured twice, which tshark calls retransmissions too). Each count is
// that of a display filter, evaluated on the fields of one tshark pass.
func TestTsharkCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (CI installs it)")
	}
	for _, file := range labCaptures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
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
				filter string // the display filter that match stands for
				match  func(tsharkFrame) bool
				got    int64
			}{
				{"frames", "frame", func(tsharkFrame) bool { return true }, c.Packets},
				{"SYN frames", "tcp.flags.syn==1 && tcp.flags.ack==0", func(f tsharkFrame) bool {
					return has(f.syn, true) && has(f.ack, false)
				}, c.SYNFrames},
				{"SYN-ACK frames", "tcp.flags.syn==1 && tcp.flags.ack==1", func(f tsharkFrame) bool {
					return has(f.syn, true) && has(f.ack, true)
				}, c.SYNACKFrames},
				{"RST frames", "tcp.flags.reset==1", func(f tsharkFrame) bool {
					return has(f.rst, true)
				}, c.RSTFrames},
				{"retransmitted SYNs", "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission", func(f tsharkFrame) bool {
					return has(f.syn, true) && has(f.ack, false) && f.retransmission
				}, retx + c.DuplicateSYNs},
			}
			frames := tsharkFrames(t, file)
			for _, ck := range checks {
				var want int64
				for _, fr := range frames {
					if ck.match(fr) {
						want++
					}
				}
				if ck.got != want {
					t.Errorf("%s: flows counts %d, tshark (%s) %d", ck.what, ck.got, ck.filter, want)
				}
			}
		})
	}
}
