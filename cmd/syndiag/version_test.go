package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		desc string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.4.0"}}, true,
			"syndiag v1.4.0 go1.26.1" + platform},
		{"go build in a clone", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", "24dcb11a", "vcs.time", "2026-05-01T10:00:00Z", "vcs.modified", "false")}, true,
			"syndiag (devel) revision 24dcb11a (2026-05-01T10:00:00Z) go1.26.1" + platform},
		{"uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "24dcb11a", "vcs.modified", "true")}, true,
			"syndiag (devel) revision 24dcb11a (with uncommitted changes) go1.26.1" + platform},
		{"pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.0.0-20260501100000-24dcb11a0000"}}, true,
			"syndiag v0.0.0-20260501100000-24dcb11a0000 go1.26.1" + platform},
		{"no build info", nil, false, "syndiag (devel) " + runtime.Version() + platform},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := version(tc.info, tc.ok); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestVersionCommand checks syndiag version and --version: one line on
// stdout, exit 0, whatever else is on the command line after --version.
func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"analyze", "--version"}, {"--version", "whatever.pcap"}} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "syndiag ") || strings.Count(stdout, "\n") != 1 ||
			!strings.Contains(stdout, runtime.Version()) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}
