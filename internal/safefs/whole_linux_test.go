package safefs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWholeRootAnswersAsOSRoot opens the machine's own root both ways
// Root can read it: by absolute paths with openat2 (what Root does for
// "/" on Linux) and through os.Root's walk (what it does for any other
// root, and for a name with a link). Over a tree of every kind of file
// and link, Open, Stat, Lstat and ReadLink must give the same answers,
// names and kinds of error; and a link-free name must take the fast way.
func TestWholeRootAnswersAsOSRoot(t *testing.T) {
	dir := shortTempDir(t)
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
	link("/proc/self/root", "proc-root")      // a magic link: another namespace's root
	link("/proc/self/fd/0", "etc/own-fd")     // the agent's own descriptor
	link("../proc-root/etc", "etc/via-magic") // a plain link to a magic one
	makeSpecial(t, filepath.Join(dir, "etc/fifo"), filepath.Join(dir, "etc/sock"))

	r, err := os.OpenRoot("/")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fast := Root(r).(*rootFS)
	if !fast.whole {
		t.Fatalf("Root(/) looks names up through os.Root, want by absolute path")
	}
	walk := &rootFS{r: r, fsys: r.FS()}

	base := strings.TrimPrefix(dir, "/")
	names := []string{
		"usr", "usr/lib", "usr/lib/os-release", "lib", "lib/os-release",
		"etc/os-release", "etc/unreadable", "etc/dangling", "etc/loop-a", "etc/fifo",
		"etc/sock", "etc/missing", "usr/lib/os-release/below-a-file", "etc/../usr", "/etc", "",
		"etc/absolute", "proc-root", "proc-root/etc/passwd", "etc/own-fd", "etc/via-magic/passwd",
		"lib/os-release/x", "usr/lib/../lib/os-release",
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

	// A name without links takes the fast way: its file is named by its
	// absolute path, where os.Root names it as given.
	f, err := fast.Open(base + "/usr/lib/os-release")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.(*rootFile).Name(), "/"+base+"/usr/lib/os-release"; got != want {
		t.Errorf("a link-free name was opened as %q, want by its absolute path %q", got, want)
	}
	if fi, err := fast.Lstat(base + "/usr/lib"); err != nil {
		t.Fatal(err)
	} else if _, ok := fi.(*statInfo); !ok {
		t.Errorf("a link-free name was looked up through os.Root (%T), want by absolute path", fi)
	}
	// The info is os.Lstat's, to the owner and the time.
	fi, err := fast.Lstat(base + "/usr/lib/os-release")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.Lstat(filepath.Join(dir, "usr/lib/os-release"))
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if wst := want.Sys().(*syscall.Stat_t); !ok || *st != *wst || !fi.ModTime().Equal(want.ModTime()) || fi.Size() != want.Size() || fi.Mode() != want.Mode() || fi.Name() != want.Name() {
		t.Errorf("Lstat = %+v, os.Lstat = %+v", fi, want)
	}
	// Links in a name, even where os.Root would refuse them, are left to
	// it: the fast way never follows one.
	for _, n := range []string{"etc/absolute", "etc/own-fd", "proc-root/etc/passwd"} {
		if _, err := fs.ReadFile(fast, base+"/"+n); err == nil {
			t.Errorf("%s was read; os.Root refuses a link leaving the root", n)
		}
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
