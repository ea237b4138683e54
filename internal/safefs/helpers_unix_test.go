//go:build unix

package safefs

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// MakeSpecial and ShortTempDir are makeSpecial and shortTempDir, for the
// external tests.
var (
	MakeSpecial  = makeSpecial
	ShortTempDir = shortTempDir
)

// shortTempDir makes a folder for the test with a short path, with no
// link in it (macOS's /var is one): a socket's path has at most 108
// bytes, which t.TempDir's long names can pass.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "safefs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dir, err = filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// makeSpecial makes a named pipe without a writer at fifo and a socket
// nobody listens on at sock, in a folder with a short path (a socket's
// has at most 108 bytes).
func makeSpecial(t *testing.T, fifo, sock string) {
	t.Helper()
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatal(err)
	}
}
