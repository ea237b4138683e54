// Package rootpath looks paths up inside a scanned root the way the
// target OS itself would: symbolic links followed as inside a chroot,
// names matched in any case where the target does, every lookup bounded.
// It also maps the paths the catalog writes ("C:\Program Files\X",
// "/opt/x") to names inside the root, and tells which files the target
// would run as programs.
//
// It sits below the sources (internal/detect/...) and internal/winpath,
// which all read the target's filesystem through it, so that none of them
// depends on another source's package.
package rootpath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Bounds on the work one lookup may do, so a hostile or broken root (link
// loops, huge directories) cannot stall a scan.
const (
	// maxLinks is how many symbolic links one lookup follows, as Linux's
	// MAXSYMLINKS.
	maxLinks = 40
	// maxFoldEntries is how many entries of one directory a case-insensitive
	// lookup reads before giving up.
	maxFoldEntries = 8192
)

// Lookup errors. They are wrapped in an [fs.PathError] naming the path.
var (
	// ErrTooManyLinks means more than 40 symbolic links were met: a loop.
	ErrTooManyLinks = errors.New("too many levels of symbolic links")
	// ErrNotDir means a component used as a directory is something else.
	ErrNotDir = errors.New("not a directory")
)

// Options says how [Resolve] looks names up.
type Options struct {
	// FoldCase makes a component that is missing in its exact case match an
	// entry that differs only in case, as on Windows (and macOS's default
	// volumes). When several entries match, the one that sorts first wins.
	FoldCase bool
	// CaseInsensitiveFS says that the filesystem matches names in any case
	// itself (a live Windows machine): a missing name is then missing in
	// every case, and its directory is not listed to look for it.
	CaseInsensitiveFS bool
	// NoFollow leaves the last component alone when it is a symbolic link,
	// like lstat(2). Links in the other components are always followed.
	NoFollow bool
	// Cache, when not nil, remembers the components looked up, so that
	// lookups of many paths of fsys that share folders ask for each
	// folder once.
	Cache *Cache
}

// Resolve finds the target path name (slash separated, relative to the root
// of fsys, "." for the root) the way the target itself would, and returns
// the name under which fsys holds it, with every followed symbolic link
// resolved and every component in its actual case, and its [fs.FileInfo].
//
// Links are followed as inside a chroot: an absolute target starts again at
// the root of fsys, and ".." never climbs above it. This matters because
// [os.Root] refuses absolute links, yet a live Linux system has many
// (/var/run -> /run, systemd's wants links), and the links of a mounted
// image must land in the image, not on the scanning machine. Relative links
// are resolved here too, so fsys only ever sees link-free names.
//
// Errors are [fs.PathError] values: errors.Is(err, fs.ErrNotExist) when a
// component is missing, [ErrNotDir] when a component used as a directory is
// a file, [ErrTooManyLinks] on a loop, and whatever fsys returns otherwise
// (permission denied).
func Resolve(fsys fs.FS, name string, opt Options) (string, fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return "", nil, &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrInvalid}
	}
	todo := split(name)
	cur := "." // resolved so far: a link-free directory
	links := 0
	var info fs.FileInfo
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			cur = path.Dir(cur) // path.Dir(".") is "."
			info = nil
			continue
		}
		next := path.Join(cur, c)
		fi, err := opt.Cache.Lstat(fsys, next)
		if err != nil && opt.FoldCase && !opt.CaseInsensitiveFS && errors.Is(err, fs.ErrNotExist) {
			if actual, ferr := foldLookup(fsys, cur, c); ferr != nil {
				err = ferr
			} else if actual != "" {
				next = path.Join(cur, actual)
				fi, err = opt.Cache.Lstat(fsys, next)
			}
		}
		if err != nil {
			return next, nil, pathErr(name, next, err)
		}
		last := len(todo) == 0
		if fi.Mode()&fs.ModeSymlink != 0 && (!last || !opt.NoFollow) {
			if links++; links > maxLinks {
				return next, fi, pathErr(name, next, ErrTooManyLinks)
			}
			target, err := fs.ReadLink(fsys, next)
			if err != nil {
				return next, fi, pathErr(name, next, err)
			}
			target, abs := linkTarget(target)
			if abs {
				cur = "."
			}
			todo = append(split(target), todo...)
			info = nil
			continue
		}
		if !last && !fi.IsDir() {
			return next, fi, pathErr(name, next, ErrNotDir)
		}
		cur, info = next, fi
	}
	if info == nil { // the root itself, or a path ending in ".."
		fi, err := fs.Stat(fsys, cur)
		if err != nil {
			return cur, nil, pathErr(name, cur, err)
		}
		info = fi
	}
	return cur, info, nil
}

// linkTarget turns a link's target into slash form and says whether it is
// absolute. Targets written the Windows way (C:\X, \X) count as absolute on
// the root's drive, so links in a mounted Windows image resolve too.
func linkTarget(t string) (string, bool) {
	if len(t) >= 2 && t[1] == ':' && isLetter(t[0]) {
		return strings.ReplaceAll(t[2:], `\`, "/"), true
	}
	if strings.HasPrefix(t, `\`) {
		return strings.ReplaceAll(t, `\`, "/"), true
	}
	return t, strings.HasPrefix(t, "/")
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// split breaks a slash path into its non-empty components.
func split(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// foldLookup returns the name of the entry of dir that equals name but for
// case, or "" when there is none among the first maxFoldEntries entries.
func foldLookup(fsys fs.FS, dir, name string) (string, error) {
	f, err := fsys.Open(dir)
	if err != nil {
		return "", err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return "", nil
	}
	var matches []string
	for seen := 0; seen < maxFoldEntries; {
		ents, err := rd.ReadDir(512)
		for _, e := range ents {
			if strings.EqualFold(e.Name(), name) {
				matches = append(matches, e.Name())
			}
		}
		seen += len(ents)
		if err == io.EOF || len(ents) == 0 {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if len(matches) == 0 {
		return "", nil
	}
	sort.Strings(matches)
	return matches[0], nil
}

// pathErr names the looked-up path in err, and the component that failed
// when it is another (a link target, a parent), keeping the cause for
// errors.Is.
func pathErr(name, at string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if at != name {
		err = fmt.Errorf("%s: %w", at, err)
	}
	return &fs.PathError{Op: "resolve", Path: name, Err: err}
}
