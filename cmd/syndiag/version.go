package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version says which syndiag this is, for a bug report: the module version
// (a tag for go install …@v1.2.3, "(devel)" for a build from a clone), the
// VCS revision and its time when go build recorded them from a clone, and
// the Go toolchain and platform.
func version(info *debug.BuildInfo, ok bool) string {
	v, goVersion := "(devel)", runtime.Version()
	var rev, at string
	modified := false
	if ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "syndiag %s", v)
	if rev != "" {
		fmt.Fprintf(&b, " revision %s", rev)
		var notes []string
		if at != "" {
			notes = append(notes, at)
		}
		if modified {
			notes = append(notes, "with uncommitted changes")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
	}
	fmt.Fprintf(&b, " %s %s/%s", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// runVersion is syndiag version, and syndiag --version.
func runVersion(stdout io.Writer) int {
	fmt.Fprintln(stdout, version(debug.ReadBuildInfo()))
	return exitOK
}
