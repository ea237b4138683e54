package macos

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/avscout/avscout/internal/detect"
)

// BundleWalk finds bundles — folders whose names end in Ext, such as
// ".app" or ".kext" — in folders of a macOS root, following symbolic
// links inside the root and reading each bundle and folder once however
// many links lead to it. The apps and extensions sources both walk this
// way. One BundleWalk may walk several folders; what was seen in one is
// not read again in the next.
type BundleWalk struct {
	FS  fs.FS
	Ext string // the bundle extension, matched in any case
	// SkipHidden leaves out entries whose names start with ".".
	SkipHidden bool
	// MaxBundles bounds the bundles visited; past it the walk ends with
	// TooManyBundles. MaxDirs, when positive, bounds the folders listed;
	// past it the walk ends with TooManyDirs.
	MaxBundles     int
	TooManyBundles error
	MaxDirs        int
	TooManyDirs    error
	// Errs collects what does not end the walk: folders that cannot be
	// listed (as given), link loops (as warnings).
	Errs *Errors
	// Visit is called once per bundle: name as listed, joined to its
	// folder ("Applications/Foo.app"), and real, its link-free name.
	Visit func(name, real string)

	seen    map[string]bool // link-free names of folders listed and bundles visited
	bundles int
	dirs    int
}

// Walk visits the bundles in dir and, depth levels further, in its
// subfolders. Bundles are not descended into: what a bundle holds belongs
// to it. A missing dir is no error. Walk returns only errors that end the
// walk: a cancelled context and the bounds.
func (w *BundleWalk) Walk(ctx context.Context, dir string, depth int) error {
	return w.walk(ctx, dir, "", depth)
}

// walk is Walk for a folder whose link-free name is real, when known.
func (w *BundleWalk) walk(ctx context.Context, dir, real string, depth int) error {
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if real != "" && w.seen[real] {
		return nil // reached again through a link
	}
	if w.dirs++; w.MaxDirs > 0 && w.dirs > w.MaxDirs {
		return w.TooManyDirs
	}
	real, ents, err := ReadDir(ctx, w.FS, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		w.Errs.Add(err)
	}
	if w.seen[real] {
		return nil
	}
	w.seen[real] = true
	for _, de := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if w.SkipHidden && strings.HasPrefix(de.Name(), ".") {
			continue
		}
		// Only entries that may be folders need a look behind links.
		if !de.IsDir() && de.Type()&fs.ModeSymlink == 0 {
			continue
		}
		isBundle := strings.EqualFold(path.Ext(de.Name()), w.Ext)
		if !isBundle && depth == 0 {
			continue
		}
		e, err := Resolve(w.FS, dir, real, de)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // a dangling link: nothing installed there
		case err != nil:
			w.Errs.Add(detect.Warn(err)) // a link loop: one entry lost
			continue
		case !e.IsDir:
			continue
		case !isBundle:
			if err := w.walk(ctx, e.Name, e.Real, depth-1); err != nil {
				return err
			}
			continue
		case w.seen[e.Real]:
			continue
		}
		w.seen[e.Real] = true
		if w.bundles++; w.bundles > w.MaxBundles {
			return w.TooManyBundles
		}
		w.Visit(e.Name, e.Real)
	}
	return nil
}
