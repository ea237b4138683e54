//go:build unix

package safefs

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// MakeSpecial is makeSpecial, for the external tests.
var MakeSpecial = makeSpecial

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
