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
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/paths"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// maxFolders bounds the install folders one scan lists.
const maxFolders = 2000

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
		if err := e.folder(ctx, h.FS, o.Path, emit); err != nil {
			errs = append(errs, detect.Warn(err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("installdirs: %w", err)
	}
	return nil
}

func (e *Enricher) folder(ctx context.Context, fsys fs.FS, dir string, emit func(detect.Observation)) error {
	rel, err := paths.Target(host.Windows, dir)
	if err != nil || rel == "." {
		return nil // not a path on this disk
	}
	loc, fi, err := paths.Resolve(fsys, rel, paths.Options{FoldCase: true})
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, paths.ErrNotDir):
		return nil // the folder is gone: the uninstall entry says so itself
	case err != nil:
		return fmt.Errorf("install folder %s: %w", dir, err)
	case !fi.IsDir():
		return nil
	}
	ents, err := fs.ReadDir(fsys, loc)
	if err != nil {
		return fmt.Errorf("install folder %s: %w", dir, err)
	}
	for _, ent := range ents {
		if !ent.Type().IsRegular() || !e.named(ent.Name()) {
			continue
		}
		name := path.Join(loc, ent.Name())
		head, err := readHead(ctx, fsys, name)
		if err != nil {
			return fmt.Errorf("install folder %s: %w", dir, err)
		}
		if format := paths.Format(head, host.Windows); format != "" {
			written := strings.TrimRight(dir, `\`) + `\` + ent.Name()
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
	return nil
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
	b := make([]byte, 512)
	n, err := f.Read(b)
	if n > 0 {
		return b[:n], nil
	}
	return nil, err
}
