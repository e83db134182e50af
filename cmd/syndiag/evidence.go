package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/syndiag/syndiag/flows/evidence"
)

// readEvidence reads the --evidence arguments: files, whose problems stop
// the run, and folders, whose files are read in name order and skipped with
// a note when they are not evidence (a README, a capture not given as a
// capture argument). It returns nil when no evidence was given.
func readEvidence(paths, captures []string) (*evidence.Host, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	given := map[string]bool{}
	for _, c := range captures {
		given[filepath.Clean(c)] = true
	}
	ev := evidence.NewHost()
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("evidence %s: %v", p, unwrapPath(err))
		}
		if !st.IsDir() {
			if err := addEvidence(ev, p); err != nil {
				return nil, err
			}
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("evidence %s: %v", p, unwrapPath(err))
		}
		read := 0
		for _, e := range entries {
			name := filepath.Join(p, e.Name())
			switch {
			case e.IsDir():
				ev.Note(fmt.Sprintf("%s: skipped, a folder (folders are not read recursively)", name))
				continue
			case !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0:
				continue
			}
			err := addEvidence(ev, name)
			var ee *evidence.Error
			switch {
			case err == nil:
				read++
			case errors.Is(err, evidence.ErrBothSides):
				return nil, err
			case errors.Is(err, evidence.ErrCapture) && given[filepath.Clean(name)]:
			case errors.Is(err, evidence.ErrCapture):
				ev.Note(fmt.Sprintf("%s: skipped, a capture (give it as a FILE argument to analyze it)", name))
			case errors.As(err, &ee):
				ev.Note(fmt.Sprintf("%s: skipped: %v", name, ee.Err))
			default:
				ev.Note(fmt.Sprintf("%s: skipped: %v", name, err))
			}
		}
		if read == 0 {
			return nil, fmt.Errorf("evidence %s: no evidence file in this folder (netstat -s, nstat, /proc/net/netstat or snmp, sysctl, ss -lnt, uname -r, skb:kfree_skb trace, kernel log or firewall listing output)", p)
		}
	}
	return ev, nil
}

func addEvidence(ev *evidence.Host, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("evidence %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	return ev.Add(path, f)
}

// unwrapPath drops the "open PATH:" of a *fs.PathError, since the message
// names the file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
