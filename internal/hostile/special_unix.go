//go:build unix

package hostile

import (
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Fifo makes name a named pipe.
func Fifo(name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return syscall.Mkfifo(name, 0o644)
}

// Socket makes name a unix socket that nothing listens on. Its path must
// be under 108 bytes.
func Socket(name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		return err
	}
	l.SetUnlinkOnClose(false)
	return l.Close()
}

// mknodZero makes name a character device like /dev/zero (1, 5).
func mknodZero(name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return unix.Mknod(name, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 5)))
}
