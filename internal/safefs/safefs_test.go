package safefs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/avscout/avscout/internal/safefs"
)

// openRoot returns dir as a scan's filesystem.
func openRoot(t *testing.T, dir string) fs.FS {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return safefs.Root(r)
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRootOpensFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/os-release", []byte("ID=debian\n"))
	fsys := openRoot(t, dir)
	if b, err := fs.ReadFile(fsys, "etc/os-release"); err != nil || string(b) != "ID=debian\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	ents, err := fs.ReadDir(fsys, "etc")
	if err != nil || len(ents) != 1 || ents[0].Name() != "os-release" {
		t.Errorf("ReadDir = %v, %v", ents, err)
	}
	if _, err := fsys.Open("etc/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := fsys.Open("../x"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("path leaving the root: %v, want fs.ErrInvalid", err)
	}
	if err := fstest.TestFS(fsys, "etc/os-release"); err != nil {
		t.Error(err)
	}
}

// A device — /dev/zero, which never ends — is refused once opened, before
// anything is read from it.
func TestRootRefusesDevices(t *testing.T) {
	fsys := openRoot(t, "/dev")
	safefs.Within(t, 5*time.Second, func() {
		_, err := fsys.Open("zero")
		if !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), "zero: not a regular file (a character device)") {
			t.Errorf("open /dev/zero: %v", err)
		}
		if _, err := fs.ReadFile(fsys, "zero"); !errors.Is(err, safefs.ErrNotRegular) {
			t.Errorf("ReadFile /dev/zero: %v", err)
		}
		if _, err := safefs.ReadFile(context.Background(), fsys, "zero", safefs.Small); !errors.Is(err, safefs.ErrNotRegular) {
			t.Errorf("safefs.ReadFile /dev/zero: %v", err)
		}
	})
}

func TestOpenChecksSize(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ok.plist", bytes.Repeat([]byte("x"), 100))
	// A sparse file of 2 GiB costs no disk: the cap must refuse it before
	// reading a byte.
	f, err := os.Create(filepath.Join(dir, "sparse.plist"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fsys := openRoot(t, dir)
	ctx := context.Background()
	if b, err := safefs.ReadFile(ctx, fsys, "ok.plist", safefs.Plist); err != nil || len(b) != 100 {
		t.Errorf("ReadFile = %d bytes, %v", len(b), err)
	}
	_, err = safefs.Open(ctx, fsys, "sparse.plist", safefs.Plist)
	if !errors.Is(err, safefs.ErrTooLarge) {
		t.Fatalf("2 GiB plist: %v, want ErrTooLarge", err)
	}
	if want := "sparse.plist: too large: 2147483648 bytes, over the 5 MiB limit of a property list"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// A package database may be larger, and reads at random stay within
	// the size seen at open.
	rf, err := safefs.Open(ctx, fsys, "sparse.plist", safefs.RPMDB)
	if err == nil {
		var b [8]byte
		if n, err := rf.ReadAt(b[:], 2<<30-4); n != 4 || err != io.EOF {
			t.Errorf("ReadAt at the end = %d, %v; want 4, EOF", n, err)
		}
		rf.Close()
	} else if !errors.Is(err, safefs.ErrTooLarge) {
		t.Error(err)
	}
}

// A file that grows past its cap after it was opened (on a filesystem
// whose Stat lies, here) fails the read rather than filling memory.
func TestReadStopsAtCap(t *testing.T) {
	big := bytes.Repeat([]byte("y"), int(safefs.Small.Limit())+10)
	fsys := lyingFS{fstest.MapFS{"f": &fstest.MapFile{Data: big}}}
	_, err := safefs.ReadFile(context.Background(), fsys, "f", safefs.Small)
	if !errors.Is(err, safefs.ErrTooLarge) || !strings.Contains(err.Error(), "more than 65536 bytes, over the 64 KiB limit") {
		t.Errorf("err = %v", err)
	}
	exact := fstest.MapFS{"f": &fstest.MapFile{Data: big[:safefs.Small.Limit()]}}
	if b, err := safefs.ReadFile(context.Background(), exact, "f", safefs.Small); err != nil || int64(len(b)) != safefs.Small.Limit() {
		t.Errorf("a file exactly at the cap: %d bytes, %v", len(b), err)
	}
}

// lyingFS reports every file as empty.
type lyingFS struct{ fstest.MapFS }

func (l lyingFS) Open(name string) (fs.File, error) {
	f, err := l.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return lyingFile{f}, nil
}

type lyingFile struct{ fs.File }

func (f lyingFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return emptyInfo{fi}, err
}

type emptyInfo struct{ fs.FileInfo }

func (emptyInfo) Size() int64 { return 0 }

func TestReadStopsWhenCancelled(t *testing.T) {
	fsys := fstest.MapFS{"f": &fstest.MapFile{Data: bytes.Repeat([]byte("z"), 1<<20)}}
	ctx, cancel := context.WithCancel(context.Background())
	f, err := safefs.Open(ctx, fsys, "f", safefs.Text)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [100]byte
	if _, err := f.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := f.Read(b[:]); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
	if _, err := safefs.Open(ctx, fsys, "f", safefs.Text); !errors.Is(err, context.Canceled) {
		t.Errorf("open after cancel: %v", err)
	}
}

// On any filesystem, not only a Root, a directory is not a file.
func TestOpenRefusesDirectories(t *testing.T) {
	fsys := fstest.MapFS{"d/f": &fstest.MapFile{Data: []byte("x")}}
	_, err := safefs.Open(context.Background(), fsys, "d", safefs.Text)
	if !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), "d: not a regular file (a directory)") {
		t.Errorf("err = %v", err)
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[int64]string{64 << 10: "64 KiB", 5 << 20: "5 MiB", 4 << 30: "4 GiB", 1000: "1000 bytes", 1<<20 + 1: "1048577 bytes"} {
		if got := safefs.SizeString(n); got != want {
			t.Errorf("SizeString(%d) = %q, want %q", n, got, want)
		}
	}
}

// A folder a user filled with entries is listed as far as the bound.
func TestRootReadDirBounded(t *testing.T) {
	dir := t.TempDir()
	for i := range safefs.MaxDirEntries + 5 {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := fs.ReadDir(openRoot(t, dir), ".")
	if !errors.Is(err, safefs.ErrTooManyEntries) || len(ents) != safefs.MaxDirEntries {
		t.Errorf("%d entries, %v", len(ents), err)
	}
}
