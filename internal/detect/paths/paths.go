// Package paths is the "paths" source: it reports which of a fixed list of
// well-known paths exist on the target, and which programs and drivers
// named in a second list sit in the program folders of a third.
//
// Install and data directories outlive the software that made them: an
// uninstaller that failed, a product removed without its data, a build sold
// under another brand but still writing to /opt/kaspersky. Checking a short
// list of paths is cheap, works on a mounted image as well as on the live
// machine, and gives evidence no package database holds. A folder alone
// is residue as much as an install, though; the executables in it are
// what runs, so finding them where a product runs them from shows the
// product installed where nothing else records it (a tarball install on
// Arch Linux, a mounted Windows disk whose registry is not read). The
// lists come from the catalog (vendor data); this package knows no vendor.
//
// Paths are written as on the target: "/opt/kaspersky" for Linux and macOS,
// `C:\Program Files (x86)\Kaspersky Lab` for Windows. Windows paths are
// looked up on the target's root filesystem, which is its system drive: the
// drive letter is dropped, so `C:\X` means "X on the system drive" whatever
// its letter, and other drives are not scanned. Environment variables
// (%ProgramData%) and UNC paths are not accepted: write the plain path.
package paths

import (
	"context"
	"errors"
	"fmt"
	"github.com/avscout/avscout/internal/rootpath"
	"io"
	"io/fs"
	"path"
	"slices"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// maxCount bounds the entries counted in one directory for the detail text.
const maxCount = 100_000

// Source checks the paths listed for the target's OS and searches its
// program folders.
type Source struct {
	list     map[host.OS][]string
	programs map[host.OS]Programs
}

// New returns a source that checks, on a target running OS o, the paths
// list[o], written as on that target. The list is copied.
func New(list map[host.OS][]string) *Source {
	s := &Source{list: make(map[host.OS][]string, len(list)), programs: map[host.OS]Programs{}}
	for o, ps := range list {
		s.list[o] = append([]string(nil), ps...)
	}
	return s
}

// Name implements [detect.Source].
func (*Source) Name() string { return "paths" }

// Collect implements [detect.Source]. It emits one [detect.KindPath]
// observation, status Present, per listed path that exists (a symbolic
// link counts, even a broken one). Missing paths are skipped silently; a
// path that cannot be checked (permission denied, a file where a
// directory should be, a link loop on the way) is reported in the
// returned error, as one item's failure ([detect.Warn]), without stopping
// the others. A path listed twice, or written two ways that lead to the
// same place, is reported once.
//
// Then it searches the program folders given by [Source.WithPrograms],
// breadth first, at most 6 levels deep and 20,000 entries per scan over
// all of them, without descending into linked folders (a linked file is
// followed, inside the root). Each regular file named like one of the
// programs whose content is an executable for the target (see [rootpath.Format])
// is a [detect.KindExecutable] observation, status Installed: Name is
// the file's name, Path its path written as on the target
// (`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`), Location
// its name in the root, Detail "executable <path> (PE)". On Windows a
// <driver>.sys file named like one of the drivers is a
// [detect.KindDriver] observation, status Installed, Name the driver's
// name without ".sys" (as the services source names it), Detail "driver
// <path> (PE)". Only files whose names match are opened, and only their
// first 4 KiB are read, so a drivers folder of hundreds of files costs
// one listing.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.FS == nil {
		return fmt.Errorf("paths: no filesystem: %w", detect.ErrUnavailable)
	}
	list := s.list[h.OS]
	if len(list) == 0 && len(s.programs[h.OS].Dirs) == 0 {
		return nil
	}
	if _, err := fs.Stat(h.FS, "."); err != nil {
		return fmt.Errorf("paths: root %s: %w", h.Root, err)
	}
	// Windows volumes are case-insensitive, and so are macOS's by default;
	// a root mounted on Linux may not be.
	// On a live Windows machine a missing path costs one lookup, not a
	// listing of its folder: each listing there also asks the volume's
	// serial number, which under Wine is a round trip to its mount manager.
	// The paths share their first folders, which one cache looks up once
	// for the whole scan.
	opt := rootpath.Options{FoldCase: h.OS == host.Windows || h.OS == host.Darwin, NoFollow: true, CaseInsensitiveFS: h.CaseInsensitiveFS,
		Cache: newCache(h)}
	defer opt.Cache.Close()
	seen := make(map[string]bool)
	var errs []error
	for _, p := range list {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		concrete := []string{p}
		if isPattern(p) {
			var err error
			if concrete, err = expand(h.FS, h.OS, p, opt); err != nil {
				errs = append(errs, detect.Warn(fmt.Errorf("path %s: %w", p, err)))
				continue
			}
		}
		for _, p := range concrete {
			o, ok, err := check(h.FS, h.OS, p, opt)
			if err != nil {
				errs = append(errs, detect.Warn(fmt.Errorf("path %s: %w", p, err)))
			}
			if !ok || seen[o.Location] {
				continue
			}
			seen[o.Location] = true
			emit(o)
		}
	}
	if err := ctx.Err(); err != nil {
		if !slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, err) }) {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	if err := s.collectPrograms(ctx, h, opt, emit); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// check looks p up and describes it when it exists.
func check(fsys fs.FS, o host.OS, p string, opt rootpath.Options) (detect.Observation, bool, error) {
	rel, err := rootpath.Target(o, p)
	if err != nil {
		return detect.Observation{}, false, err
	}
	loc, fi, err := rootpath.Resolve(fsys, rel, opt)
	if errors.Is(err, fs.ErrNotExist) {
		return detect.Observation{}, false, nil
	}
	if err != nil {
		return detect.Observation{}, false, err
	}
	var what string
	if fi.Mode()&fs.ModeSymlink != 0 {
		what = describeLink(fsys, loc, opt)
	} else {
		what = describe(fsys, loc, fi)
	}
	return detect.Observation{
		Kind:     detect.KindPath,
		Status:   detect.Present,
		Name:     baseName(rel, p),
		Path:     p,
		Location: loc,
		Detail:   fmt.Sprintf("%s (%s)", p, what),
	}, true, nil
}

// baseName is the last element of the path as written.
func baseName(rel, written string) string {
	if rel == "." {
		return written
	}
	return path.Base(rel)
}

// describe says what loc is: "directory, 3 entries", "file, 120 bytes".
func describe(fsys fs.FS, loc string, fi fs.FileInfo) string {
	switch {
	case fi.IsDir():
		n, err := countEntries(fsys, loc)
		switch {
		case err != nil:
			return "directory, entries unreadable: " + cause(err)
		case n >= maxCount:
			return fmt.Sprintf("directory, %d+ entries", maxCount)
		case n == 1:
			return "directory, 1 entry"
		}
		return fmt.Sprintf("directory, %d entries", n)
	case fi.Mode().IsRegular():
		if fi.Size() == 1 {
			return "file, 1 byte"
		}
		return fmt.Sprintf("file, %d bytes", fi.Size())
	}
	return "special file " + fi.Mode().String()
}

// describeLink says where the link at loc points and what is there.
func describeLink(fsys fs.FS, loc string, opt rootpath.Options) string {
	target, err := fs.ReadLink(fsys, loc)
	if err != nil {
		return "symbolic link, unreadable: " + cause(err)
	}
	what := "symlink to " + target
	opt.NoFollow = false
	dest, fi, err := rootpath.Resolve(fsys, loc, opt)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return what + ", broken"
	case err != nil:
		return what + ", unresolvable: " + cause(err)
	}
	return what + "; " + describe(fsys, dest, fi)
}

// countEntries counts a directory's entries without sorting them.
func countEntries(fsys fs.FS, dir string) (int, error) {
	f, err := fsys.Open(dir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		ents, err := fs.ReadDir(fsys, dir)
		return len(ents), err
	}
	n := 0
	for n < maxCount {
		ents, err := rd.ReadDir(1024)
		n += len(ents)
		if err == io.EOF || (err == nil && len(ents) == 0) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// cause is the innermost message of err, without the path an
// fs.PathError repeats.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// newCache returns the lookup cache of one Collect. On a Linux target it
// looks names up in sub-roots of their folders (see
// [rootpath.NewCacheWithSub]): each catalogued name then costs one lstat
// rather than an open of each folder above it.
func newCache(h *host.Host) *rootpath.Cache {
	if h.OS != host.Linux {
		return rootpath.NewCache()
	}
	return rootpath.NewCacheWithSub(h.Sub)
}
