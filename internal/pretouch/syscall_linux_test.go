//go:build amd64 || arm64

package pretouch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The numbers this package keeps for itself must be the kernel's, which
// package syscall also has: a difference does not compile (an array of
// another length, or of a negative one). GOARCH=arm64 go vet (make vet)
// compiles the arm64 ones.
var (
	_ [0]struct{} = [sysOpenat - syscall.SYS_OPENAT]struct{}{}
	_ [0]struct{} = [sysRead - syscall.SYS_READ]struct{}{}
	_ [0]struct{} = [sysClose - syscall.SYS_CLOSE]struct{}{}
	_ [0]struct{} = [sysMadvise - syscall.SYS_MADVISE]struct{}{}
	_ [0]struct{} = [oCLOEXEC - syscall.O_CLOEXEC]struct{}{}
	_ [0]struct{} = [oRDONLY - syscall.O_RDONLY]struct{}{}
	_ [0]struct{} = [eintr - errno(syscall.EINTR)]struct{}{}
)

// TestReadFile reads through rawSyscall6: a file whole, a file cut to the
// buffer, and the errors of a missing file and a folder, which are the
// kernel's error numbers. It is the test that runs on arm64 under qemu
// (make test-arm64).
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("00400000-00c00000 r-xp 00000000 fe:00 1234 /usr/bin/avscout\n"), 100)
	name := filepath.Join(dir, "maps")
	if err := os.WriteFile(name, want, 0o600); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(want)+10)
	n, err := readFile(name, buf)
	if err != nil || !bytes.Equal(buf[:n], want) {
		t.Fatalf("readFile(whole) = %d bytes, %v; want the %d written", n, err, len(want))
	}
	short := make([]byte, 100)
	if n, err := readFile(name, short); err != nil || n != 100 || !bytes.Equal(short, want[:100]) {
		t.Errorf("readFile(100-byte buffer) = %d, %v; want its first 100 bytes", n, err)
	}
	_, err = readFile(filepath.Join(dir, "missing"), buf)
	if !sameErrno(err, syscall.ENOENT) {
		t.Errorf("readFile(missing) = %v, want errno %d (ENOENT)", err, syscall.ENOENT)
	}
	_, err = readFile(dir, buf)
	if !sameErrno(err, syscall.EISDIR) {
		t.Errorf("readFile(folder) = %v, want errno %d (EISDIR)", err, syscall.EISDIR)
	}
}

// TestMadviseRefused asks for an advice no kernel has: the error names
// the range and the advice, with EINVAL.
func TestMadviseRefused(t *testing.T) {
	b := make([]byte, 2*heapAlign)
	lo := (uintptr(unsafe.Pointer(&b[0])) + heapAlign - 1) &^ (heapAlign - 1)
	err := madvise(region{lo, lo + 4096, advice(9999)})
	if !sameErrno(err, syscall.EINVAL) {
		t.Fatalf("madvise(advice 9999) = %v, want errno %d (EINVAL)", err, syscall.EINVAL)
	}
	if got := err.Error(); !strings.Contains(got, "advice 9999") {
		t.Errorf("error %q does not name the advice", got)
	}
}

// sameErrno reports whether err wraps the error number want.
func sameErrno(err error, want syscall.Errno) bool {
	var e errno
	return errors.As(err, &e) && uintptr(e) == uintptr(want)
}
