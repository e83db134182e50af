package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/report"
)

// caseSpec is one triage case before it is analyzed: a capture, or the two
// captures of a folder that holds exactly two.
type caseSpec struct {
	name  string // the file's path, or the folder's for a pair
	files []caseInput
	// evidence lists the other files of the case's own folder, tried as
	// host evidence (syndiag collect leaves them next to the capture).
	evidence []string
	// problem is why the case could not even be opened (a path that does
	// not exist).
	problem string
}

type caseInput struct {
	path string
	role analyze.Role // from the name, or RoleUnknown to infer it
	size int64
	// stream is set for a FIFO or a device named on the command line: it
	// is read once, as its data comes, and not sniffed first.
	stream bool
}

// discovery is what walking the paths found.
type discovery struct {
	cases   []caseSpec // sorted by name
	skipped []string   // files that are not captures
	// special lists what the walk found that is not a regular file (a
	// FIFO, a socket, a device, a link to nowhere or into a loop): never
	// opened, since opening a FIFO waits for a writer.
	special []report.SpecialFile
}

// discover walks the paths, keeps the files whose content is a capture
// (compressed or not, whatever their names) and groups them into cases: a
// folder with exactly two captures is one case, any other capture is a
// case of its own.
func discover(paths []string) discovery {
	var d discovery
	type dirFiles struct {
		captures []caseInput
		others   []string
	}
	dirs := map[string]*dirFiles{}
	var order []string
	seen := map[string]bool{}
	add := func(p string, size int64, stream bool) {
		p = filepath.ToSlash(filepath.Clean(p))
		if seen[p] {
			return
		}
		seen[p] = true
		dir := path.Dir(p)
		df := dirs[dir]
		if df == nil {
			df = &dirFiles{}
			dirs[dir] = df
			order = append(order, dir)
		}
		if stream || isCapture(p, size) {
			df.captures = append(df.captures, caseInput{path: p, role: analyze.RoleUnknown, size: size, stream: stream})
		} else {
			df.others = append(df.others, p)
		}
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			d.cases = append(d.cases, caseSpec{name: filepath.ToSlash(root), problem: unwrapPath(err).Error()})
			continue
		}
		if !st.IsDir() {
			// Named on the command line: a FIFO or a device is read as a
			// stream (it waits for its writer, as cat would).
			add(root, st.Size(), !st.Mode().IsRegular())
			continue
		}
		err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				// An unreadable folder is a case of its own, with its
				// error, and the walk goes on.
				d.cases = append(d.cases, caseSpec{name: filepath.ToSlash(p), problem: unwrapPath(err).Error()})
				return nil
			}
			if p != root && strings.HasPrefix(e.Name(), ".") {
				if e.IsDir() {
					return filepath.SkipDir // .git, .cache and their like
				}
				return nil
			}
			if e.IsDir() {
				return nil
			}
			special := func(kind string) error {
				d.special = append(d.special, report.SpecialFile{Path: filepath.ToSlash(p), Kind: kind})
				return nil
			}
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return special("vanished while the folder was read")
				}
				return special(unwrapPath(err).Error())
			}
			if e.Type()&fs.ModeSymlink != 0 {
				// A link to a capture is read; one to a folder is not
				// followed.
				if info, err = os.Stat(p); err != nil {
					return special(linkProblem(err))
				}
				if info.IsDir() {
					return nil
				}
			}
			if !info.Mode().IsRegular() {
				return special(fileKind(info.Mode()))
			}
			add(p, info.Size(), false)
			return nil
		})
		if err != nil {
			d.cases = append(d.cases, caseSpec{name: filepath.ToSlash(root), problem: err.Error()})
		}
	}
	for _, dir := range order {
		df := dirs[dir]
		d.skipped = append(d.skipped, df.others...)
		if len(df.captures) == 2 {
			pair := slices.Clone(df.captures)
			roleByName(pair)
			d.cases = append(d.cases, caseSpec{name: dir, files: pair, evidence: df.others})
			continue
		}
		for _, c := range df.captures {
			cs := caseSpec{name: c.path, files: []caseInput{c}}
			if len(df.captures) == 1 {
				cs.evidence = df.others
			}
			d.cases = append(d.cases, cs)
		}
	}
	slices.SortFunc(d.cases, func(a, b caseSpec) int { return strings.Compare(a.name, b.name) })
	slices.Sort(d.skipped)
	slices.SortFunc(d.special, func(a, b report.SpecialFile) int { return strings.Compare(a.Path, b.Path) })
	return d
}

// fileKind names what a file that is not a regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "not a regular file"
}

// linkProblem says why a symbolic link leads to no file.
func linkProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "dangling link"
	case errors.Is(err, syscall.ELOOP):
		return "link loop"
	}
	return "link: " + unwrapPath(err).Error()
}

// openRegular opens a file found while walking a folder, and refuses it
// unless it is a regular file. It opens with O_NONBLOCK, so that a file
// replaced by a FIFO after the walk cannot block the run either.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (a %s): left out", fileKind(st.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// roleByName gives a pair its sides when the names tell them: one name
// starting with "client" and the other with "server". Otherwise the roles
// stay unknown and analyze infers them from the TTLs.
func roleByName(pair []caseInput) {
	side := func(p string) analyze.Role {
		b := strings.ToLower(path.Base(p))
		switch {
		case strings.HasPrefix(b, "client"):
			return analyze.RoleClient
		case strings.HasPrefix(b, "server"):
			return analyze.RoleServer
		}
		return analyze.RoleUnknown
	}
	a, b := side(pair[0].path), side(pair[1].path)
	if a != analyze.RoleUnknown && b != analyze.RoleUnknown && a != b {
		pair[0].role, pair[1].role = a, b
	}
}

// sniffLimit is how much of a file is read to tell whether it is a capture:
// enough for any capture header, and for a compressed one to yield its own.
const sniffLimit = 64 << 10

// isCapture tells from the content whether a file is meant as a capture.
// Only a file that is plainly something else is not; one that is a capture
// of a format flows cannot read (bzip2, snoop, a zip of captures), or is
// empty or cut short, is, so that its problem is reported.
func isCapture(p string, size int64) bool {
	if size == 0 {
		// Nothing to tell by; the name is all there is.
		switch path.Ext(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(p), ".gz"), ".zst")) {
		case ".pcap", ".pcapng", ".cap", ".dmp":
			return true
		}
		return false
	}
	f, err := openRegular(p)
	if err != nil {
		return true // a row with the error beats silence
	}
	defer f.Close()
	r, err := flows.NewReader(io.LimitReader(f, sniffLimit))
	if err != nil {
		return !errors.Is(err, flows.ErrNotCapture)
	}
	r.Close()
	return true
}
