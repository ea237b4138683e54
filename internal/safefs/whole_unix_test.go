//go:build unix

package safefs

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWholeRootAnswersAsOSRoot opens the machine's own root both ways
// Root can read it: by absolute paths (what Root does for "/") and
// through os.Root's walk (what it does for any other root). Over a tree
// of every kind of file, Open, Stat, Lstat and ReadLink must give the
// same answers, names and kinds of error, but for the one difference the fast
// way exists to make: an absolute link resolves as the machine resolves
// it, where os.Root refuses it as leaving the root.
func TestWholeRootAnswersAsOSRoot(t *testing.T) {
	dir, err := os.MkdirTemp("", "whole") // short: a socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dir, err = filepath.EvalSymlinks(dir) // a temporary folder behind a link (macOS's /var)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/lib/os-release", "ID=debian\n")
	mk("etc/unreadable", "secret\n")
	if err := os.Chmod(filepath.Join(dir, "etc/unreadable"), 0); err != nil {
		t.Fatal(err)
	}
	link("../usr/lib/os-release", "etc/os-release")
	link("usr/lib", "lib")
	link("missing", "etc/dangling")
	link("loop-b", "etc/loop-a")
	link("loop-a", "etc/loop-b")
	link(filepath.Join(dir, "usr/lib/os-release"), "etc/absolute")
	if err := syscall.Mkfifo(filepath.Join(dir, "etc/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "etc/sock"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()

	r, err := os.OpenRoot("/")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fast := Root(r).(*rootFS)
	if fast.whole != "/" {
		t.Fatalf("Root(/) looks names up through os.Root, want by absolute path")
	}
	walk := &rootFS{r: r, fsys: r.FS()}

	base := strings.TrimPrefix(dir, "/")
	names := []string{
		"usr", "usr/lib", "usr/lib/os-release", "lib", "lib/os-release",
		"etc/os-release", "etc/unreadable", "etc/dangling", "etc/loop-a", "etc/fifo",
		"etc/sock", "etc/missing", "usr/lib/os-release/below-a-file", "etc/../usr", "/etc", "",
	}
	for _, n := range names {
		name := base + "/" + n
		if n == "/etc" || n == "" {
			name = n // not valid fs.FS names
		}
		t.Run(n, func(t *testing.T) {
			within(t, 5*time.Second, func() {
				got, want := describeOpen(fast, name), describeOpen(walk, name)
				if got != want {
					t.Errorf("Open:\n by path %s\n os.Root %s", got, want)
				}
			})
			for _, op := range []struct {
				name string
				fn   func(*rootFS, string) string
			}{
				{"Stat", func(f *rootFS, n string) string { fi, err := f.Stat(n); return describeInfo(fi, err) }},
				{"Lstat", func(f *rootFS, n string) string { fi, err := f.Lstat(n); return describeInfo(fi, err) }},
				{"ReadLink", func(f *rootFS, n string) string { s, err := f.ReadLink(n); return s + " " + describeErr(err) }},
			} {
				if got, want := op.fn(fast, name), op.fn(walk, name); got != want {
					t.Errorf("%s:\n by path %s\n os.Root %s", op.name, got, want)
				}
			}
		})
	}

	// The difference: an absolute link is followed as on the machine.
	abs := base + "/etc/absolute"
	if b, err := fs.ReadFile(fast, abs); err != nil || string(b) != "ID=debian\n" {
		t.Errorf("by path, ReadFile of an absolute link = %q, %v; want the file it names", b, err)
	}
	if _, err := fs.ReadFile(walk, abs); err == nil {
		t.Errorf("os.Root read an absolute link: the test no longer shows the difference")
	}
}

func describeOpen(f *rootFS, name string) string {
	file, err := f.Open(name)
	if err != nil {
		return describeErr(err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return "stat: " + describeErr(err)
	}
	s := describeInfo(fi, nil)
	if fi.Mode().IsRegular() {
		b, err := io.ReadAll(file)
		s += " " + string(b) + describeErr(err)
	}
	return s
}

func describeInfo(fi fs.FileInfo, err error) string {
	if err != nil {
		return describeErr(err)
	}
	return fi.Name() + " " + fi.Mode().String()
}

// describeErr is the name an error gives and the classes callers test
// for. Not its Op: os.Root's say "statat" and "readlinkat" for what the
// fast way says "stat", "lstat" and "readlink".
func describeErr(err error) string {
	if err == nil {
		return "ok"
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return "not a PathError: " + err.Error()
	}
	return strings.Join([]string{pe.Path, "exist:", boolWord(!errors.Is(err, fs.ErrNotExist)),
		"invalid:", boolWord(errors.Is(err, fs.ErrInvalid)), "regular:", boolWord(!errors.Is(err, ErrNotRegular)),
		"permission:", boolWord(errors.Is(err, fs.ErrPermission))}, " ")
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// within runs fn and fails the test when it has not returned after d.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still blocked after %s", d)
	}
}
