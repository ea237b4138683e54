package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
)

// Root returns the filesystem of r as a scan reads it. Its Open opens
// without blocking and refuses, once it sees what it opened, anything but
// a regular file or a directory with an error wrapping [ErrNotRegular]
// (the named pipe is closed before anyone reads it). Stat, Lstat and
// ReadLink do not open; ReadDir and ReadFile go through Open, and
// ReadFile reads at most 64 MiB ([ErrTooLarge] past that): sources read
// with [ReadFile] and a [Kind] instead.
//
// When r is the whole filesystem of a Linux machine ("/", a live host), a
// name with no symbolic link in it is opened or looked up by its absolute
// path with openat2, which refuses any link on the way: one or three
// system calls, where os.Root opens every folder of the name in turn, and
// a scan of a live host paid hundreds of calls for those walks. A name
// with a link, and every name where openat2 is missing, goes through
// os.Root as before, so what a name resolves to does not change.
func Root(r *os.Root) fs.FS {
	return &rootFS{r: r, fsys: r.FS(), whole: isWhole(r.Name())}
}

// rootFileLimit caps fs.ReadFile on a Root, which knows no kind.
const rootFileLimit = 64 << 20

// MaxDirEntries bounds fs.ReadDir on a [Root]: a folder a user can write
// to may hold millions of entries, each costing memory once listed. Real
// folders read whole hold a few thousand; sources that may meet larger
// ones read in batches with bounds of their own.
const MaxDirEntries = 100_000

// ErrTooManyEntries means a folder holds more than [MaxDirEntries]
// entries; the first ones were read.
var ErrTooManyEntries = errors.New("too many entries")

type rootFS struct {
	r    *os.Root
	fsys fs.FS // r.FS(), for what needs no open
	// whole is set when r is the whole filesystem of this Linux machine,
	// whose link-free names are then looked up by their absolute path.
	whole bool
}

var (
	_ fs.StatFS     = (*rootFS)(nil)
	_ fs.ReadDirFS  = (*rootFS)(nil)
	_ fs.ReadFileFS = (*rootFS)(nil)
	_ fs.ReadLinkFS = (*rootFS)(nil)
)

// Open opens name with O_NONBLOCK, so that opening a named pipe returns at
// once, then refuses it unless it is a regular file or a directory.
func (r *rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	var f *os.File
	var err error
	fast := false
	if r.whole {
		f, fast, err = openWhole(name, openFlags)
	}
	if !fast {
		f, err = r.r.OpenFile(name, openFlags, 0)
	}
	if err != nil {
		// A socket cannot be opened at all (ENXIO): say what it is.
		if !errors.Is(err, fs.ErrNotExist) {
			if fi, serr := r.Stat(name); serr == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
				return nil, notRegular("open", name, fi.Mode())
			}
		}
		return nil, openErr(name, err)
	}
	m, fi, err := openedInfo(f)
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if !m.IsRegular() && !m.IsDir() {
		f.Close()
		return nil, notRegular("open", name, m)
	}
	return &rootFile{File: f, fi: fi}, nil
}

// rootFile is a file opened by a Root. Its Stat is asked once: the file
// is checked when opened and [Open] asks its size right after, and on
// Windows each Stat also queries the volume (under Wine, a round trip to
// its mount manager). The info is that of the first Stat, which on Linux
// and macOS is the one made when it was opened.
type rootFile struct {
	*os.File
	mu sync.Mutex
	fi fs.FileInfo
}

// Stat returns the file's info as first read.
func (f *rootFile) Stat() (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fi == nil {
		fi, err := f.File.Stat()
		if err != nil {
			return nil, err
		}
		f.fi = fi
	}
	return f.fi, nil
}

// openErr names the file as fs.FS callers expect, rather than with the
// root's own path and "openat".
func openErr(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: "open", Path: name, Err: pe.Err}
	}
	return &fs.PathError{Op: "open", Path: name, Err: err}
}

func (r *rootFS) Stat(name string) (fs.FileInfo, error) {
	if r.whole && fs.ValidPath(name) {
		if fi, ok, err := statWhole(name, true); ok {
			return fi, err
		}
	}
	return fs.Stat(r.fsys, name)
}

func (r *rootFS) Lstat(name string) (fs.FileInfo, error) {
	if r.whole && fs.ValidPath(name) {
		if fi, ok, err := statWhole(name, false); ok {
			return fi, err
		}
	}
	return fs.Lstat(r.fsys, name)
}

func (r *rootFS) ReadLink(name string) (string, error) {
	if r.whole && fs.ValidPath(name) {
		if target, ok, err := readLinkWhole(name); ok {
			return target, err
		}
	}
	return fs.ReadLink(r.fsys, name)
}

// ReadDir reads the directory name through Open, sorted by name, at
// most MaxDirEntries entries: with more it returns those and an error
// wrapping [ErrTooManyEntries].
func (r *rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not implemented")}
	}
	var ents []fs.DirEntry
	for {
		batch, err := d.ReadDir(1024)
		ents = append(ents, batch...)
		if len(ents) > MaxDirEntries {
			ents = sortEntries(ents[:MaxDirEntries])
			return ents, &fs.PathError{Op: "readdir", Path: name,
				Err: fmt.Errorf("%w: more than %d, the rest were not read", ErrTooManyEntries, MaxDirEntries)}
		}
		if err == io.EOF || err == nil && len(batch) == 0 {
			return sortEntries(ents), nil
		}
		if err != nil {
			return sortEntries(ents), err
		}
	}
}

func sortEntries(ents []fs.DirEntry) []fs.DirEntry {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents
}

// ReadFile reads the regular file name through Open, at most 64 MiB.
func (r *rootFS) ReadFile(name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular("read", name, fi.Mode())
	}
	b, err := io.ReadAll(io.LimitReader(f, rootFileLimit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if len(b) > rootFileLimit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: ErrTooLarge}
	}
	return b, nil
}
