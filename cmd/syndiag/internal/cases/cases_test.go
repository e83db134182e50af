package cases

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/syndiag/syndiag/analyze"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		want string // String() of the shard, or "" for every case
		err  bool
	}{
		{"", "", false},
		{"1/1", "1/1", false},
		{"3/16", "3/16", false},
		{"0/3", "", true},
		{"4/3", "", true},
		{"1/0", "", true},
		{"1", "", true},
		{"a/b", "", true},
		{"-1/3", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			s, err := ParseShard(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("ParseShard(%q) error %v, want error %v", tc.in, err, tc.err)
			}
			if s.String() != tc.want {
				t.Errorf("ParseShard(%q) = %q, want %q", tc.in, s, tc.want)
			}
		})
	}
}

// TestShardHas checks that the shards of n split the cases between them,
// each case in exactly one.
func TestShardHas(t *testing.T) {
	names := []string{"a.pcap", "b/c.pcap", "uploads/acme-1234", "x", ""}
	for _, n := range []uint32{1, 2, 3, 16} {
		for _, name := range names {
			in := 0
			for i := uint32(1); i <= n; i++ {
				if (Shard{i, n}).Has(name) {
					in++
				}
			}
			if in != 1 {
				t.Errorf("%q is in %d shards of %d", name, in, n)
			}
		}
	}
	if !(Shard{}).Has("anything") {
		t.Error("the zero Shard leaves a case out")
	}
}

// TestDiscover walks a tree: a folder of two captures named by side is a
// joined pair with its evidence, a folder of three is three cases, a lone
// capture has the files beside it as evidence, and a missing path is a
// case with its problem.
func TestDiscover(t *testing.T) {
	capture, err := os.ReadFile("../../../../testdata/lab/closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	for name, data := range map[string][]byte{
		"up/pair/server.pcap":    capture,
		"up/pair/client-1.pcap":  capture,
		"up/pair/nstat.txt":      []byte("#kernel\n"),
		"up/three/a.pcap":        capture,
		"up/three/b.cap":         capture,
		"up/three/c":             capture,
		"up/one/x.pcapng":        capture,
		"up/one/notes.md":        []byte("notes\n"),
		"up/.git/config.pcap":    capture,
		"up/empty/nothing.pcap":  nil,
		"up/empty/nothing.jpeg":  nil,
		"up/three/.hidden.pcap":  capture,
		"up/three/readme.txt":    []byte("hello\n"),
		"up/one/more/other.pcap": capture,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := Discover([]string{"up", "missing"})
	u := analyze.RoleUnknown
	file := func(p string, role analyze.Role, size int) File {
		return File{Path: p, Role: role, Size: int64(size)}
	}
	n := len(capture)
	want := Found{
		Cases: []Case{
			{Name: "missing", Problem: "no such file or directory"},
			{Name: "up/empty/nothing.pcap", Files: []File{file("up/empty/nothing.pcap", u, 0)}, Evidence: []string{"up/empty/nothing.jpeg"}},
			{Name: "up/one/more/other.pcap", Files: []File{file("up/one/more/other.pcap", u, n)}},
			{Name: "up/one/x.pcapng", Files: []File{file("up/one/x.pcapng", u, n)}, Evidence: []string{"up/one/notes.md"}},
			{Name: "up/pair", Files: []File{file("up/pair/client-1.pcap", analyze.RoleClient, n), file("up/pair/server.pcap", analyze.RoleServer, n)}, Evidence: []string{"up/pair/nstat.txt"}},
			{Name: "up/three/a.pcap", Files: []File{file("up/three/a.pcap", u, n)}},
			{Name: "up/three/b.cap", Files: []File{file("up/three/b.cap", u, n)}},
			{Name: "up/three/c", Files: []File{file("up/three/c", u, n)}},
		},
		Skipped: []string{"up/empty/nothing.jpeg", "up/one/notes.md", "up/pair/nstat.txt", "up/three/readme.txt"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Discover:\n got %+v\nwant %+v", got, want)
	}
}
