package macos

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
	"github.com/avscout/avscout/internal/rootpath"
	"github.com/avscout/avscout/internal/safefs"
)

// MaxEntries bounds the entries read from one directory. A real
// /Applications holds hundreds; a directory with more is read that far
// and reported.
const MaxEntries = 100_000

// ErrTooManyEntries means a directory held more than [MaxEntries]
// entries; the first ones were read.
var ErrTooManyEntries = errors.New("too many entries")

// lookup is how names are looked up in a macOS root: macOS volumes are
// case-insensitive by default, and links are followed inside the root.
var lookup = rootpath.Options{FoldCase: true}

// ErrNotRegular means a name that should be a regular file is something
// else: a directory, a device, a named pipe (which would block a reader
// forever). It is [safefs.ErrNotRegular].
var ErrNotRegular = safefs.ErrNotRegular

// Open opens the regular file name (slash separated, relative to the root
// of fsys) as macOS would find it, as a file of kind k (see
// [safefs.Open]: its size is capped, reads stop once ctx is done), and
// returns the name it was opened under. Anything but a regular file is
// refused with [ErrNotRegular]: before it is opened when its name says so
// already, else as soon as it is, so a named pipe cannot stall a scan.
// See [Stat] for how names are found.
func Open(ctx context.Context, fsys fs.FS, name string, k safefs.Kind) (*safefs.File, string, error) {
	real, err := find(fsys, name)
	if err != nil {
		return nil, real, err
	}
	f, err := safefs.Open(ctx, fsys, real, k)
	return f, real, via(name, real, err)
}

// find returns the name under which fsys holds the regular file name.
func find(fsys fs.FS, name string) (string, error) {
	fi, real, err := Stat(fsys, name)
	if err != nil {
		return real, err
	}
	if !fi.Mode().IsRegular() {
		return real, via(name, real, &fs.PathError{Op: "open", Path: real, Err: fmt.Errorf("%w (%s)", ErrNotRegular, safefs.TypeName(fi.Mode()))})
	}
	return real, nil
}

// via names in err the file as it was asked for, name, when it was found
// under another name, real (through a link): "open Applications/A.app/
// Contents/Info.plist: dev/zero: not a regular file (a character
// device)".
func via(name, real string, err error) error {
	if err == nil || name == real {
		return err
	}
	return &fs.PathError{Op: "open", Path: name, Err: err}
}

// Stat returns the file info of name, following links, and the name it
// was found under. The name is tried as it is first, which costs nothing
// more on a well-formed root; when that fails — an absolute symbolic
// link, which [os.Root] refuses, a name in another case, a link loop — it
// is resolved with [rootpath.Resolve], which follows links chroot-style and
// folds case. Errors are those of Resolve: errors.Is(err, fs.ErrNotExist)
// for a missing file, [rootpath.ErrTooManyLinks] for a loop.
func Stat(fsys fs.FS, name string) (fs.FileInfo, string, error) {
	if fi, err := fs.Stat(fsys, name); err == nil {
		return fi, name, nil
	}
	real, fi, err := rootpath.Resolve(fsys, name, lookup)
	return fi, real, err
}

// Exists reports whether name exists (a broken link does not). A missing
// file is not an error; a loop or a denied lookup is.
func Exists(fsys fs.FS, name string) (bool, error) {
	_, _, err := Stat(fsys, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rootpath.ErrNotDir):
		return false, nil
	}
	return false, err
}

// ReadDir lists the directory name, found as [Stat] finds files, and
// returns its link-free name (the same for every way of reaching it, so
// callers can tell a folder seen twice) and its entries sorted by name. It
// reads at most [MaxEntries] entries and checks ctx between batches; with
// more it returns those with an error wrapping [ErrTooManyEntries].
func ReadDir(ctx context.Context, fsys fs.FS, name string) (string, []fs.DirEntry, error) {
	real, fi, err := rootpath.Resolve(fsys, name, lookup)
	if err != nil {
		return real, nil, err
	}
	if !fi.IsDir() {
		return real, nil, &fs.PathError{Op: "readdir", Path: real, Err: rootpath.ErrNotDir}
	}
	f, err := fsys.Open(real)
	if err != nil {
		return real, nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return real, nil, &fs.PathError{Op: "readdir", Path: real, Err: rootpath.ErrNotDir}
	}
	var ents []fs.DirEntry
	for {
		if err := ctx.Err(); err != nil {
			return real, sorted(ents), err
		}
		batch, err := rd.ReadDir(1024)
		ents = append(ents, batch...)
		if len(ents) > MaxEntries {
			return real, sorted(ents[:MaxEntries]), fmt.Errorf("%s: %w: more than %d, the rest were not read", real, ErrTooManyEntries, MaxEntries)
		}
		if err == io.EOF || (err == nil && len(batch) == 0) {
			return real, sorted(ents), nil
		}
		if err != nil {
			return real, sorted(ents), fmt.Errorf("read directory %s: %w", real, err)
		}
	}
}

// ReadPlistDirs reads the *.plist files directly in each of dirs and
// calls each with every one read and the name it was read under. A
// missing directory is skipped, one reached again (through a link) is
// read once; directories that cannot be listed are added to errs, plists
// that cannot be read too, as warnings ([detect.Warn]: one item lost, the
// rest seen). It returns only ctx's error, when ctx is done.
func ReadPlistDirs(ctx context.Context, fsys fs.FS, dirs []string, errs *Errors, each func(d Dict, loc string)) error {
	seen := map[string]bool{}
	for _, dir := range dirs {
		real, ents, err := ReadDir(ctx, fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs.Add(err)
		if seen[real] {
			continue
		}
		seen[real] = true
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !strings.HasSuffix(e.Name(), ".plist") || e.IsDir() {
				continue
			}
			d, loc, err := ReadPlistContext(ctx, fsys, real+"/"+e.Name())
			if err != nil {
				errs.Add(detect.Warn(err))
				continue
			}
			each(d, loc)
		}
	}
	return nil
}

func sorted(ents []fs.DirEntry) []fs.DirEntry {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents
}

// Entry is a directory entry with symbolic links resolved.
type Entry struct {
	// Name is the entry's name as listed, joined to the directory it was
	// listed in ("Applications/Safari.app").
	Name string
	// Real is the link-free name it resolves to; Name when it is no link.
	Real  string
	IsDir bool
}

// Resolve follows the entry e of directory dir, whose link-free name is
// real (as [ReadDir] returns it), when e is a symbolic link. A broken link
// gives an error wrapping fs.ErrNotExist, a loop one wrapping
// [rootpath.ErrTooManyLinks].
func Resolve(fsys fs.FS, dir, real string, e fs.DirEntry) (Entry, error) {
	name := path.Join(dir, e.Name())
	if e.Type()&fs.ModeSymlink == 0 {
		return Entry{Name: name, Real: path.Join(real, e.Name()), IsDir: e.IsDir()}, nil
	}
	target, fi, err := rootpath.Resolve(fsys, name, lookup)
	if err != nil {
		return Entry{Name: name, Real: name}, err
	}
	return Entry{Name: name, Real: target, IsDir: fi.IsDir()}, nil
}
