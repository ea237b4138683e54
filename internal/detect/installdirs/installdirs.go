// Package installdirs is the "installdirs" enricher of offline Windows
// scans: it looks in the install folder of every program the uninstall
// entries name for the executables the catalog knows by name, and reports
// those present as [detect.KindExecutable] observations.
//
// A live scan ties a white-labelled build to the engine inside it by the
// process that runs from the product's folder; a disk that is not running
// has no processes, but the engine's file is still there. The enricher
// knows no vendor: the names come from the catalog.
package installdirs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/safefs"
)

// Bounds on the work of one scan, so a hostile or broken root cannot
// stall it or make it hold a huge listing.
const (
	// maxFolders bounds the install folders one scan lists.
	maxFolders = 2000
	// maxEntries bounds the entries read from one install folder. A
	// program's folder holds tens or hundreds of files; one a user can
	// write may hold millions.
	maxEntries = 10_000
	// headSize is how much of a file is read to tell its format.
	headSize = 512
)

// Enricher is the "installdirs" enricher.
type Enricher struct {
	exes []string // lower-case path.Match globs
}

// New returns the enricher looking for executables named like exes
// (globs, compared case-insensitively). The list is copied.
func New(exes []string) *Enricher {
	e := &Enricher{}
	for _, g := range exes {
		e.exes = append(e.exes, strings.ToLower(g))
	}
	return e
}

// Name implements [detect.Enricher].
func (*Enricher) Name() string { return "installdirs" }

// Enrich implements [detect.Enricher]. For each distinct install folder
// of an app observation (an uninstall entry's), it lists the folder —
// not its subfolders — on the root and emits, per regular file named like
// a catalogued executable and starting with a PE header, an observation
// of status Installed whose Path is the file's Windows path. Only roots:
// on a live host the processes source sees what runs.
//
// It is bounded: at most maxFolders folders and maxEntries entries of
// each are looked at, and going past either is a warning. A folder or
// file that cannot be read is a warning too, and the rest are still
// looked at; only ctx's end stops the enricher with an error of its own.
func (e *Enricher) Enrich(ctx context.Context, h *host.Host, obs []detect.Observation, emit func(detect.Observation)) error {
	if h.Live || h.OS != host.Windows || h.FS == nil {
		return fmt.Errorf("installdirs: only for a Windows root: %w", detect.ErrUnavailable)
	}
	seen := map[string]bool{}
	var errs []error
	for _, o := range obs {
		if o.Kind != detect.KindApp || o.Path == "" || seen[strings.ToLower(o.Path)] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("installdirs: %w", err)
		}
		if len(seen) == maxFolders {
			errs = append(errs, detect.Warn(fmt.Errorf("more than %d install folders: the rest were not looked in", maxFolders)))
			break
		}
		seen[strings.ToLower(o.Path)] = true
		for _, err := range e.folder(ctx, h.FS, o.Path, emit) {
			errs = append(errs, detect.Warn(err))
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("installdirs: %w", err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("installdirs: %w", err)
	}
	return nil
}

// folder looks in the install folder dir (written as on the target) and
// emits the executables it holds. It returns the failures to read the
// folder or its files, each naming what failed: a file that cannot be
// read does not stop the rest of the folder.
func (e *Enricher) folder(ctx context.Context, fsys fs.FS, dir string, emit func(detect.Observation)) []error {
	rel, err := rootpath.Target(host.Windows, dir)
	if err != nil || rel == "." {
		return nil // not a path on this disk
	}
	loc, fi, err := rootpath.Resolve(fsys, rel, rootpath.Options{FoldCase: true})
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
		return nil // the folder is gone: the uninstall entry says so itself
	case err != nil:
		return []error{fmt.Errorf("install folder %s: %w", dir, err)}
	case !fi.IsDir():
		return nil
	}
	ents, err := e.list(ctx, fsys, loc)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("install folder %s: %w", dir, err))
	}
	for _, ent := range ents {
		if !ent.Type().IsRegular() || !e.named(ent.Name()) {
			continue
		}
		if ctx.Err() != nil {
			return errs
		}
		name := path.Join(loc, ent.Name())
		written := strings.TrimRight(dir, `\`) + `\` + ent.Name()
		head, err := readHead(ctx, fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("install folder %s: %w", dir, err)) // err names the file
			continue
		}
		if format := rootpath.Format(head, host.Windows); format != "" {
			emit(detect.Observation{
				Kind:     detect.KindExecutable,
				Status:   detect.Installed,
				Name:     ent.Name(),
				Path:     written,
				Location: name,
				Detail:   fmt.Sprintf("executable %s (%s) in the install folder of an uninstall entry", written, format),
			})
		}
	}
	return errs
}

// list reads the entries of the folder loc, at most maxEntries of them,
// in batches, checking ctx between them, and returns them sorted by name.
// With more entries it returns the first maxEntries read and an error
// saying the rest were not read; on a failure midway, what was read and
// the failure.
func (e *Enricher) list(ctx context.Context, fsys fs.FS, loc string) ([]fs.DirEntry, error) {
	f, err := fsys.Open(loc)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: loc, Err: rootpath.ErrNotDir}
	}
	var ents []fs.DirEntry
	for {
		if err := ctx.Err(); err != nil {
			return sorted(ents), &fs.PathError{Op: "readdir", Path: loc, Err: err}
		}
		batch, err := rd.ReadDir(min(512, maxEntries+1-len(ents)))
		ents = append(ents, batch...)
		if len(ents) > maxEntries {
			return sorted(ents[:maxEntries]), &fs.PathError{Op: "readdir", Path: loc,
				Err: fmt.Errorf("more than %d entries: the rest were not looked at", maxEntries)}
		}
		if err == io.EOF || (err == nil && len(batch) == 0) {
			return sorted(ents), nil
		}
		if err != nil {
			return sorted(ents), err
		}
	}
}

func sorted(ents []fs.DirEntry) []fs.DirEntry {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents
}

func (e *Enricher) named(name string) bool {
	n := strings.ToLower(name)
	for _, g := range e.exes {
		if ok, _ := path.Match(g, n); ok {
			return true
		}
	}
	return false
}

// readHead reads the first bytes of a file, enough to tell its format.
func readHead(ctx context.Context, fsys fs.FS, name string) ([]byte, error) {
	f, err := safefs.Open(ctx, fsys, name, safefs.Executable)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, headSize)
	n, err := io.ReadFull(f, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil // a short file: its format says it is no program
	}
	return b[:n], err
}
