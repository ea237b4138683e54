//go:build unix

package pacman

import (
	"syscall"
	"testing"
)

// mkfifo makes a named pipe at name: a file whose opening blocks until a
// writer comes, which a scan must never do.
func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}
