package cases

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/report"
)

// Case is one case before it is analyzed: a capture, or the two captures
// of a folder that holds exactly two.
type Case struct {
	Name  string // the file's path, or the folder's for a pair
	Files []File
	// Evidence lists the other files of the case's own folder, to try as
	// host evidence (syndiag collect leaves them next to the capture).
	Evidence []string
	// Problem is why the case could not even be opened (a path that does
	// not exist).
	Problem string
}

// File is a capture of a case.
type File struct {
	Path string
	Role analyze.Role // from the name, or RoleUnknown to infer it
	Size int64
	// Stream is set for a FIFO or a device named on the command line: it
	// is read once, as its data comes, and not sniffed first.
	Stream bool
}

// Found is what walking the paths found.
type Found struct {
	Cases   []Case   // sorted by name
	Skipped []string // files that are not captures, sorted
	// Special lists what the walk found that is not a regular file (a
	// FIFO, a socket, a device, a link to nowhere or into a loop): never
	// opened, since opening a FIFO waits for a writer.
	Special []report.SpecialFile
}

// Discover walks the paths, keeps the files whose content is a capture
// (compressed or not, whatever their names) and groups them into cases: a
// folder with exactly two captures is one case, any other capture is a
// case of its own. A path that cannot be read is a case with its Problem.
func Discover(paths []string) Found {
	w := walk{dirs: map[string]*dirFiles{}, seen: map[string]bool{}}
	for _, root := range paths {
		w.root(root)
	}
	return w.group()
}

// walk gathers the files of the paths, folder by folder.
type walk struct {
	found Found // the cases with a problem, and the special files
	dirs  map[string]*dirFiles
	order []string // the folders in the order first met
	seen  map[string]bool
}

// dirFiles are the files of one folder.
type dirFiles struct {
	captures []File
	others   []string
}

// root adds a path given on the command line: a file, or a folder walked
// recursively.
func (w *walk) root(root string) {
	st, err := os.Stat(root)
	if err != nil {
		w.problem(root, pathless(err).Error())
		return
	}
	if !st.IsDir() {
		// Named on the command line: a FIFO or a device is read as a
		// stream (it waits for its writer, as cat would).
		w.add(root, st.Size(), !st.Mode().IsRegular())
		return
	}
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		return w.visit(root, p, e, err)
	})
	if err != nil {
		w.problem(root, err.Error())
	}
}

// problem adds a case that could not be opened.
func (w *walk) problem(name, problem string) {
	w.found.Cases = append(w.found.Cases, Case{Name: filepath.ToSlash(name), Problem: problem})
}

// visit adds a file met walking a folder given as root, and skips hidden
// files and folders and what is not a regular file.
func (w *walk) visit(root, p string, e fs.DirEntry, err error) error {
	if err != nil {
		// An unreadable folder is a case of its own, with its error, and
		// the walk goes on.
		w.problem(p, pathless(err).Error())
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
	info, kind := w.info(p, e)
	switch {
	case kind != "":
		w.found.Special = append(w.found.Special, report.SpecialFile{Path: filepath.ToSlash(p), Kind: kind})
	case info != nil:
		w.add(p, info.Size(), false)
	}
	return nil
}

// info is what a walked file is: a regular file (or a link to one) to add,
// or the kind of special file it is. A link to a folder is neither: it is
// not followed.
func (w *walk) info(p string, e fs.DirEntry) (fs.FileInfo, string) {
	info, err := e.Info()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "vanished while the folder was read"
		}
		return nil, pathless(err).Error()
	}
	if e.Type()&fs.ModeSymlink != 0 {
		// A link to a capture is read; one to a folder is not followed.
		if info, err = os.Stat(p); err != nil {
			return nil, linkProblem(err)
		}
		if info.IsDir() {
			return nil, ""
		}
	}
	if !info.Mode().IsRegular() {
		return nil, fileKind(info.Mode())
	}
	return info, ""
}

// add files a file under its folder, as a capture or as another file.
func (w *walk) add(p string, size int64, stream bool) {
	p = filepath.ToSlash(filepath.Clean(p))
	if w.seen[p] {
		return
	}
	w.seen[p] = true
	dir := path.Dir(p)
	df := w.dirs[dir]
	if df == nil {
		df = &dirFiles{}
		w.dirs[dir] = df
		w.order = append(w.order, dir)
	}
	if stream || isCapture(p, size) {
		df.captures = append(df.captures, File{Path: p, Role: analyze.RoleUnknown, Size: size, Stream: stream})
	} else {
		df.others = append(df.others, p)
	}
}

// group makes the cases of each folder's captures, with the folder's other
// files as their evidence, and sorts what was found.
func (w *walk) group() Found {
	d := w.found
	for _, dir := range w.order {
		df := w.dirs[dir]
		d.Skipped = append(d.Skipped, df.others...)
		if len(df.captures) == 2 {
			pair := slices.Clone(df.captures)
			roleByName(pair)
			d.Cases = append(d.Cases, Case{Name: dir, Files: pair, Evidence: df.others})
			continue
		}
		for _, c := range df.captures {
			cs := Case{Name: c.Path, Files: []File{c}}
			if len(df.captures) == 1 {
				cs.Evidence = df.others
			}
			d.Cases = append(d.Cases, cs)
		}
	}
	slices.SortFunc(d.Cases, func(a, b Case) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(d.Skipped)
	slices.SortFunc(d.Special, func(a, b report.SpecialFile) int { return strings.Compare(a.Path, b.Path) })
	return d
}

// roleByName gives a pair its sides when the names tell them: one name
// starting with "client" and the other with "server". Otherwise the roles
// stay unknown and analyze infers them from the TTLs.
func roleByName(pair []File) {
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
	a, b := side(pair[0].Path), side(pair[1].Path)
	if a != analyze.RoleUnknown && b != analyze.RoleUnknown && a != b {
		pair[0].Role, pair[1].Role = a, b
	}
}

// pathless drops the "open PATH:" of a *fs.PathError, since the case or
// the row names the file already.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
