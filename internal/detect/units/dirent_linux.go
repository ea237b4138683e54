package units

import (
	"io/fs"
	"syscall"
)

// dirents reads the records of the open folder f with getdents64 and
// calls each with every entry until it returns false. ok is false when f
// is not a file of this machine: nothing was read.
func dirents(f fs.File, each func(name string, typ fs.FileMode, known bool) bool) (ok bool, err error) {
	sc, isSys := f.(syscall.Conn)
	if !isSys {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	buf := make([]byte, 8192)
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

// readIn reads the regular file name of the open folder dir (a name its
// listing gave: one component) whole when it holds at most max bytes,
// with one open, one fstat and one read: os.Root's open costs a poller
// registration and safefs's checks a second fstat on top. It opens
// without following a link and without blocking, and reads only a
// regular file, and as much of it as its size said when it was opened
// (as readSized does). ok is false when it read nothing — a link, a special
// file, a file too large, any failure: the caller then reads the file as
// it always did, and so says why it cannot.
func readIn(dir fs.File, name string, max int) (data []byte, ok bool) {
	sc, isSys := dir.(syscall.Conn)
	if !isSys {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	cerr := rc.Control(func(dfd uintptr) {
		fd, err := openat(int(dfd), name)
		if err != nil {
			return
		}
		defer syscall.Close(fd)
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size > int64(max) {
			return
		}
		// As readSized: the size it had when opened, shorter when it
		// shrank; an empty file (as /proc's say) is read the old way.
		if st.Size == 0 {
			return
		}
		buf := make([]byte, int(st.Size))
		n := 0
		for n < len(buf) {
			m, err := syscall.Read(fd, buf[n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return
			}
			if m == 0 {
				break
			}
			n += m
		}
		data, ok = buf[:n], true
	})
	if cerr != nil {
		return nil, false
	}
	return data, ok
}

func openat(dfd int, name string) (int, error) {
	for {
		fd, err := syscall.Openat(dfd, name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
