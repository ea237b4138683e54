package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// isWhole says whether the root rootName is this machine's whole
// filesystem, whose names are then its absolute paths.
func isWhole(rootName string) bool { return rootName == "/" }

// noOpenat2 is set once openat2 is found missing (Linux before 5.6) or
// refused (a seccomp filter): every lookup then goes through os.Root.
var noOpenat2 atomic.Bool

// noLinks is how every lookup by absolute path resolves: it fails on any
// symbolic link (ELOOP), and the name is then looked up through os.Root,
// which follows links inside the root as it always did. So the fast way
// only ever sees names with no link at all, which is what
// rootpath.Resolve hands out, and never follows /proc's magic links
// (another process's root, the agent's own descriptors) as a plain open
// of an absolute path would.
const noLinks = unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openat2 opens the absolute path p as noLinks says. ok is false when
// the name must be looked up through os.Root instead: it holds a link,
// it is too long for one call, or openat2 cannot be used here.
func openat2(p string, flags int) (fd int, ok bool, err error) {
	if noOpenat2.Load() {
		return -1, false, nil
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: noLinks}
	for {
		fd, err = unix.Openat2(unix.AT_FDCWD, p, &how)
		switch {
		case err == nil:
			return fd, true, nil
		case err == unix.EINTR:
			continue
		case err == unix.ENOSYS || err == unix.EPERM || err == unix.E2BIG:
			noOpenat2.Store(true)
			return -1, false, nil
		case err == unix.ELOOP || err == unix.ENAMETOOLONG || err == unix.EXDEV || err == unix.EAGAIN:
			return -1, false, nil
		}
		return -1, true, err
	}
}

// openWhole opens name of the machine's root by its absolute path. ok is
// false when it must be opened through os.Root instead.
func openWhole(name string, flags int) (f *os.File, ok bool, err error) {
	p := "/" + name
	fd, ok, err := openat2(p, flags)
	if !ok {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), p), true, nil
}

// statWhole is the lstat of name of the machine's root (the stat when
// follow is set), found by absolute path: one fstatat for a name at the
// top, else openat2 of its folder and fstatat in it. ok is false when it
// must be looked up through os.Root: a link on the way, or a link at the
// end that follow would follow.
func statWhole(name string, follow bool) (fi fs.FileInfo, ok bool, err error) {
	op := "lstat"
	if follow {
		op = "stat"
	}
	var st unix.Stat_t
	ok, err = inFolder(name, op, func(dfd int, base string) error {
		return unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	if !ok || err != nil {
		return nil, ok, err
	}
	fi = &statInfo{name: path.Base(name), st: st}
	if follow && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, false, nil
	}
	return fi, true, nil
}

// readLinkWhole reads the link name of the machine's root by absolute
// path: readlinkat in its folder, opened as openat2 allows. ok is false
// when it must be read through os.Root.
func readLinkWhole(name string) (target string, ok bool, err error) {
	buf := make([]byte, unix.PathMax) // the longest target Linux writes, and one byte
	n := 0
	ok, err = inFolder(name, "readlink", func(dfd int, base string) (err error) {
		n, err = unix.Readlinkat(dfd, base, buf)
		return err
	})
	if !ok || err != nil {
		return "", ok, err
	}
	if n == len(buf) { // cut: os.Root reads it whole
		return "", false, nil
	}
	return string(buf[:n]), true, nil
}

// inFolder calls at with the folder of name and its last component: "/"
// itself for a name at the top (only "/" is crossed: no link can be on
// the way), else the folder opened as openat2 allows. ok is false when
// the folder must be reached through os.Root; errors name name and op.
func inFolder(name, op string, at func(dfd int, base string) error) (ok bool, err error) {
	dir, base := path.Split(name)
	dfd := unix.AT_FDCWD
	if dir == "" {
		base = "/" + base
	} else {
		fd, ok, oerr := openat2("/"+strings.TrimSuffix(dir, "/"), unix.O_PATH|unix.O_DIRECTORY)
		if !ok {
			return false, nil
		}
		if oerr != nil {
			return true, &fs.PathError{Op: op, Path: name, Err: oerr}
		}
		defer unix.Close(fd)
		dfd = fd
	}
	if err := retryEINTR(func() error { return at(dfd, base) }); err != nil {
		return true, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return true, nil
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// statInfo is the fs.FileInfo of an fstatat, as os.Lstat fills it.
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }

// Sys is a *syscall.Stat_t, as os.Lstat's, for callers that read the
// owner: x/sys/unix's Stat_t is the same kernel struct stat, field for
// field, on every Linux architecture.
func (s *statInfo) Sys() any { return (*syscall.Stat_t)(unsafe.Pointer(&s.st)) }

// Mode is the fs.FileMode os gives the same st_mode.
func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if s.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
