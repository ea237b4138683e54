package units

import (
	"io/fs"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirents reads the records of the open folder f with getdents64 into
// buf and calls each with every entry until it returns false. ok is false
// when f is not a file of this machine: nothing was read.
func dirents(f fs.File, buf []byte, each func(name string, typ fs.FileMode, known bool) bool) (ok bool, err error) {
	sc, isSys := f.(syscall.Conn)
	if !isSys {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	stop := false
	for !stop {
		var n int
		var rerr error
		if cerr := rc.Control(func(fd uintptr) {
			for {
				n, rerr = syscall.ReadDirent(int(fd), buf)
				if rerr != syscall.EINTR {
					return
				}
			}
		}); cerr != nil {
			return true, cerr
		}
		if rerr != nil {
			return true, rerr
		}
		if n <= 0 {
			return true, nil
		}
		if err := parseDirents(buf[:n], func(name string, typ fs.FileMode, known bool) {
			if !stop && !each(name, typ, known) {
				stop = true
			}
		}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// folderFD is the descriptor of the open folder f, for readIn, or -1
// when f is not a file of this machine. It stays valid while f is open:
// the caller closes f only after every read in it is done.
func folderFD(f fs.File) int {
	sc, isSys := f.(syscall.Conn)
	if !isSys {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := rc.Control(func(d uintptr) { fd = int(d) }); err != nil {
		return -1
	}
	return fd
}

// readIn reads the regular file name of the open folder dfd (a name its
// listing gave: one component) whole when it holds at most max bytes,
// with one open, one fstat and one read, into r's buffer: os.Root's open
// costs a poller registration and safefs's checks a second fstat on top,
// and a fresh buffer per file fresh memory. It opens without following a
// link and without blocking, and reads only a regular file, and as much
// of it as its size said when it was opened (as readSized does). ok is
// false when it read nothing — a link, a special file, a file too large,
// any failure: the caller then reads the file as it always did, and so
// says why it cannot. data is r's until its next read.
func readIn(dfd int, name string, r *reader, max int) (data []byte, ok bool) {
	if dfd < 0 {
		return nil, false
	}
	fd, err := r.openat(dfd, name)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size > int64(max) {
		return nil, false
	}
	// As readSized: the size it had when opened, shorter when it shrank;
	// an empty file (as /proc's say) is read the old way.
	if st.Size == 0 {
		return nil, false
	}
	buf := r.grow(int(st.Size))
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], true
}

// openat opens name in the folder dfd as readIn reads it, the name made
// a C string in r's name buffer rather than a fresh one per file.
func (r *reader) openat(dfd int, name string) (int, error) {
	r.name = append(append(r.name[:0], name...), 0)
	for i := range len(name) {
		if name[i] == 0 {
			return -1, syscall.EINVAL
		}
	}
	for {
		fd, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dfd), uintptr(unsafe.Pointer(&r.name[0])),
			syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0, 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case syscall.EINTR:
			continue
		}
		return -1, errno
	}
}

// statIn is the type of the entry name of the open folder dfd, a link
// not followed: one fstatat.
func statIn(dfd int, name string) (fs.FileMode, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return modeType(st.Mode), nil
	}
}

// modeType is the fs.FileMode type of a stat's st_mode.
func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// reader is one worker's buffers for reading definitions: the file's
// content and its name as a C string. Reused from one file to the next,
// they cost fresh memory once per scan rather than once per file.
type reader struct {
	buf  []byte
	name []byte
}

// grow returns r's buffer with n bytes (at most MaxFile), made larger
// when it holds fewer.
func (r *reader) grow(n int) []byte {
	if cap(r.buf) < n {
		r.buf = make([]byte, max(n, min(2*cap(r.buf), MaxFile), 4<<10))
	}
	return r.buf[:n]
}
