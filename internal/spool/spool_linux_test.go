package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/reporttest"
)

// mountTmpfs mounts a private tmpfs of the given size on a new directory
// and unmounts it at the end of the test. It needs root with
// CAP_SYS_ADMIN, which CI has; callers take another way for other users,
// and as root without the capability the test fails and says so.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v (this test needs root with CAP_SYS_ADMIN, as in CI; run it with sudo)", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestPutReadOnlyDir: a spool whose file system turned read-only (as a
// failing disk does) refuses Put with an error naming the directory and
// keeps what it had. Root ignores mode bits, so as root the file system
// is remounted read-only; other users get a directory of mode 0500.
func TestPutReadOnlyDir(t *testing.T) {
	asRoot := os.Geteuid() == 0
	dir, wantErr := t.TempDir(), error(fs.ErrPermission)
	if asRoot {
		dir, wantErr = mountTmpfs(t, "1m"), syscall.EROFS
	}
	s := open(t, dir, Limits{MaxReports: 1})
	first := report.NewID()
	gz := reporttest.Gzip(t, first, 100)
	put(t, s, first, gz)
	if asRoot {
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount %s read-only: %v", dir, err)
		}
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Error(err)
			}
		})
	}
	id := report.NewID()
	dropped, err := s.Put(id, reporttest.Gzip(t, id, 100))
	if err == nil {
		t.Fatal("Put into an unwritable directory succeeded")
	}
	if !errors.Is(err, wantErr) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Put: %v; want %v naming %s", err, wantErr, dir)
	}
	if len(dropped) != 0 {
		t.Fatalf("a failed Put dropped %v", dropped)
	}
	got, err := s.Read(first)
	if err != nil || !bytes.Equal(got, gz) {
		t.Fatalf("earlier report after the failed Put: %v", err)
	}
}

// TestPutDiskFull fills a small tmpfs: the Put that does not fit fails
// with ENOSPC naming the directory, leaves no partial file, and every
// earlier report reads back intact. Without root it takes the
// RLIMIT_FSIZE way of TestPutFileSizeLimit instead.
func TestPutDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Log("not root, cannot mount a tmpfs: filling the disk through RLIMIT_FSIZE instead")
		checkFileSizeLimit(t)
		return
	}
	dir := mountTmpfs(t, "256k")
	s := open(t, dir, Limits{})
	stored := map[string][]byte{}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		id := report.NewID()
		gz := reporttest.Gzip(t, id, 60_000) // about 30 KiB of gzip
		if _, err = s.Put(id, gz); err == nil {
			stored[id] = gz
		}
	}
	if err == nil {
		t.Fatal("100 reports of 30 KiB fit on a 256 KiB tmpfs")
	}
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Put on a full disk: %v; want ENOSPC naming %s", err, dir)
	}
	if len(stored) == 0 {
		t.Fatal("not even one report fit; the tmpfs is too small for the test")
	}
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Fatalf("partial files left: %v", tf)
	}
	es, err := s.Pending()
	if err != nil || len(es) != len(stored) {
		t.Fatalf("Pending: %d entries (%v), want %d", len(es), err, len(stored))
	}
	for id, want := range stored {
		got, err := s.Read(id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Read(%s) after disk full: %v", id, err)
		}
	}
	// Room made by delivery is usable again.
	for id := range stored {
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
		break
	}
	id := report.NewID()
	put(t, s, id, reporttest.Gzip(t, id, 60_000))
}

// TestPutFileSizeLimit is disk-full seen through RLIMIT_FSIZE, which needs
// no privileges: a child process limited to 32 KiB files puts a small
// report, then one too big; the write fails with EFBIG (Go ignores
// SIGXFSZ), the error names the directory, and nothing partial remains.
func TestPutFileSizeLimit(t *testing.T) {
	checkFileSizeLimit(t)
}

func checkFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	small, big := report.NewID(), report.NewID()
	cmd := child(t, "fsize", dir)
	cmd.Env = append(cmd.Env, "SPOOL_TEST_IDS="+small+","+big)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != "small ok" || !strings.HasPrefix(lines[1], "big error ") {
		t.Fatalf("child said:\n%s", out)
	}
	if msg := lines[1]; !strings.Contains(msg, "file too large") || !strings.Contains(msg, dir) {
		t.Fatalf("error %q should say the file is too large and name %s", msg, dir)
	}
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Fatalf("partial files left: %v", tf)
	}
	s := open(t, dir, Limits{})
	if got := pendingIDs(t, s); len(got) != 1 || got[0] != small {
		t.Fatalf("Pending = %v, want only %s", got, small)
	}
	if _, err := s.Read(small); err != nil {
		t.Fatalf("Read(%s): %v", small, err)
	}
}

// osChild runs the Linux-only child roles.
func osChild(role, dir string) bool {
	if role != "fsize" {
		return false
	}
	small, big, _ := strings.Cut(os.Getenv("SPOOL_TEST_IDS"), ",")
	s, err := Open(dir, Limits{}, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	lim := unix.Rlimit{Cur: 32 << 10, Max: 32 << 10}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("error setrlimit:", err)
		os.Exit(3)
	}
	if _, err := s.Put(small, reporttest.Gzip(nopTB{}, small, 1000)); err != nil {
		fmt.Println("small error", err)
	} else {
		fmt.Println("small ok")
	}
	if _, err := s.Put(big, reporttest.Gzip(nopTB{}, big, 200_000)); err != nil {
		fmt.Println("big error", err)
	} else {
		fmt.Println("big ok")
	}
	s.Close()
	return true
}
