// Package pacman is the "pacman" source: the packages recorded in the
// local database of pacman, the package manager of Arch Linux and the
// distributions built on it (Manjaro, EndeavourOS, SteamOS).
//
// pacman keeps one folder per installed package in
// var/lib/pacman/local/<name>-<version>/, whose desc file describes it
// (see [ParseDesc]). A removed package's folder goes with it, so every
// package found is installed. The source reports each as written and
// judges nothing: which packager or name means Kaspersky is the catalog's
// call. Software installed without pacman (a vendor's tarball under /opt)
// is not in this database; other sources see it.
package pacman

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
	"github.com/avscout/avscout/internal/detect/internal/workers"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/safefs"
)

// LocalDB is where pacman keeps its local database, relative to the root
// (pacman.conf's default DBPath, /var/lib/pacman/, plus "local").
const LocalDB = "var/lib/pacman/local"

// Bounds on the work.
const (
	// MaxPackages bounds the package folders read. An Arch desktop has
	// one or two thousand packages.
	MaxPackages = 100_000
	// maxWorkers is how many desc files are read at once.
	maxWorkers = 4
)

// ErrTooManyPackages means the database held more than [MaxPackages]
// package folders; the first ones were read.
var ErrTooManyPackages = errors.New("too many packages")

// Source reads pacman's local database. Its zero value is ready.
type Source struct{}

var _ detect.Source = Source{}

// Name is "pacman".
func (Source) Name() string { return "pacman" }

// Collect emits one [detect.KindPackage] observation per package folder
// of the local database, in folder order, with Status Installed, Name and
// Version from its desc file, Vendor its %PACKAGER%, Location the desc
// file ("var/lib/pacman/local/kesl-12.1.0.2968-1/desc") and Detail
// "<name> <version>". A folder whose desc file cannot be read — missing,
// no regular file, larger than [MaxDesc], not a desc file — is one
// item's failure: a warning ([detect.Warn]). More than [MaxPackages]
// folders is an error: the rest were not read.
//
// It returns an error wrapping [detect.ErrUnavailable] when the target is
// not Linux or has no var/lib/pacman/local.
func (Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h == nil || h.FS == nil {
		return fmt.Errorf("pacman: no filesystem: %w", detect.ErrUnavailable)
	}
	real, fi, err := rootpath.Resolve(h.FS, LocalDB, rootpath.Options{})
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
		return fmt.Errorf("no %s: %w", LocalDB, detect.ErrUnavailable)
	case err != nil:
		return fmt.Errorf("pacman: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("pacman: %s: %w", LocalDB, rootpath.ErrNotDir)
	}
	ents, listErr := readDir(ctx, h.FS, real)
	if err := ctx.Err(); err != nil {
		return err
	}
	type result struct {
		obs  detect.Observation
		ok   bool
		warn error
	}
	results := make([]result, len(ents))
	workers.ForEach(ctx, len(ents), maxWorkers, func(i int) {
		e := ents[i]
		if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			return // ALPM_DB_VERSION and other files
		}
		loc := path.Join(LocalDB, e.Name(), "desc")
		p, err := readDesc(h.FS, path.Join(real, e.Name(), "desc"))
		if err != nil {
			results[i].warn = detect.Warn(fmt.Errorf("pacman: %s: %w", loc, err))
			return
		}
		results[i] = result{obs: observe(p, loc), ok: true}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	if listErr != nil {
		errs = append(errs, listErr)
	}
	for _, r := range results {
		if r.ok {
			emit(r.obs)
		}
		if r.warn != nil {
			errs = append(errs, r.warn)
		}
	}
	return errors.Join(errs...)
}

// observe maps a package read from loc to its observation.
func observe(p Package, loc string) detect.Observation {
	d := p.Name
	if p.Version != "" {
		d += " " + p.Version
	}
	return detect.Observation{
		Kind:     detect.KindPackage,
		Status:   detect.Installed,
		Name:     p.Name,
		Version:  p.Version,
		Vendor:   p.Packager,
		Location: loc,
		Detail:   d,
	}
}

// readDir lists the database folder real, at most MaxPackages entries,
// sorted by name (fs.ReadDir's order).
func readDir(ctx context.Context, fsys fs.FS, real string) ([]fs.DirEntry, error) {
	f, err := fsys.Open(real)
	if err != nil {
		return nil, fmt.Errorf("pacman: %w", err)
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, fmt.Errorf("pacman: %s: %w", LocalDB, rootpath.ErrNotDir)
	}
	var ents []fs.DirEntry
	for ctx.Err() == nil {
		batch, err := rd.ReadDir(1024)
		ents = append(ents, batch...)
		if len(ents) > MaxPackages {
			sortEntries(ents)
			return ents[:MaxPackages], fmt.Errorf("pacman: %s: %w: more than %d, the rest were not read", LocalDB, ErrTooManyPackages, MaxPackages)
		}
		if len(batch) == 0 || err != nil {
			if err != nil && !errors.Is(err, io.EOF) {
				sortEntries(ents)
				return ents, fmt.Errorf("pacman: read %s: %w", LocalDB, err)
			}
			break
		}
	}
	sortEntries(ents)
	return ents, nil
}

// readDesc reads and parses the desc file name, following links inside
// the root. Anything but a regular file is refused before it is opened,
// so a named pipe cannot stall the scan.
func readDesc(fsys fs.FS, name string) (Package, error) {
	real, fi, err := rootpath.Resolve(fsys, name, rootpath.Options{})
	if err != nil {
		return Package{}, err
	}
	if !fi.Mode().IsRegular() {
		return Package{}, errNotRegular
	}
	if fi.Size() > MaxDesc {
		return Package{}, ErrTooLarge
	}
	f, err := safefs.Open(context.Background(), fsys, real, safefs.PackageDB) // the type again, once open
	if err != nil {
		return Package{}, err
	}
	defer f.Close()
	return ParseDesc(f)
}

// errNotRegular means a desc file is a folder, a device or a named pipe.
var errNotRegular = safefs.ErrNotRegular

func sortEntries(ents []fs.DirEntry) {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}
