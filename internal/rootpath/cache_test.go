package rootpath

import (
	"fmt"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
)

// lstatCounter counts the lstats of each name.
type lstatCounter struct {
	fs.FS
	n map[string]int
}

func (c *lstatCounter) Lstat(name string) (fs.FileInfo, error) {
	c.n[name]++
	return fs.Lstat(c.FS, name)
}

func (c *lstatCounter) ReadLink(name string) (string, error) { return fs.ReadLink(c.FS, name) }

// TestResolveCache checks that lookups through a Cache give the answers
// of lookups without one, and lstat each name once.
func TestResolveCache(t *testing.T) {
	dir := fixture(t, map[string]string{
		"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe": "file:MZ",
		"Program Files (x86)/Kaspersky Lab/NetworkAgent":       "dir",
		"Program Files (x86)/file":                             "file:f",
		"ProgramData":                                          "link:Program Files (x86)",
		"var/run":                                              "link:/run",
		"run/kesl":                                             "dir",
		"loop":                                                 "link:loop",
	})
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	names := []string{
		"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe",
		"Program Files (x86)/Kaspersky Lab/NetworkAgent",
		"Program Files (x86)/Kaspersky Lab/Endpoint Agent",
		"Program Files (x86)/kaspersky lab/KES.12.1.0",
		"Program Files (x86)/file/x",
		"ProgramData/Kaspersky Lab/NetworkAgent",
		"ProgramData",
		"var/run/kesl",
		"loop",
		"missing/x",
		".",
	}
	opts := []Options{{}, {NoFollow: true}, {FoldCase: true}, {FoldCase: true, CaseInsensitiveFS: true}}
	counter := &lstatCounter{FS: r.FS(), n: map[string]int{}}
	describe := func(loc string, fi fs.FileInfo, err error) string {
		if err != nil {
			return "error " + err.Error()
		}
		return fmt.Sprintf("%s %v", loc, fi.Mode())
	}
	for _, opt := range opts {
		cached := opt
		cached.Cache = NewCache()
		for range 2 {
			for _, name := range names {
				want := describe(Resolve(r.FS(), name, opt))
				if got := describe(Resolve(counter, name, cached)); got != want {
					t.Errorf("Resolve(%q, %+v) = %s; without a cache %s", name, opt, got, want)
				}
			}
		}
		for name, n := range counter.n {
			if n > 1 {
				t.Errorf("%+v: %s looked up %d times", opt, name, n)
			}
		}
		clear(counter.n)
	}
}

// readDirCounter is a MapFS that counts the folders it lists.
type readDirCounter struct {
	fstest.MapFS
	lists int
}

func (c *readDirCounter) ReadDir(name string) ([]fs.DirEntry, error) {
	c.lists++
	return c.MapFS.ReadDir(name)
}

// TestCacheReadDir checks that a Cache lists a folder once, and stops
// keeping listings past its bound.
func TestCacheReadDir(t *testing.T) {
	fsys := &readDirCounter{MapFS: fstest.MapFS{"a/x": {}, "a/y": {}}}
	for i := range maxCachedEntries {
		fsys.MapFS[fmt.Sprintf("big/f%06d", i)] = &fstest.MapFile{}
	}
	c := NewCache()
	for range 2 {
		ents, err := c.ReadDir(fsys, "a")
		if err != nil || len(ents) != 2 || ents[0].Name() != "x" {
			t.Fatalf("ReadDir(a) = %v, %v", ents, err)
		}
		if _, err := c.ReadDir(fsys, "missing"); err == nil {
			t.Fatal("ReadDir(missing): no error")
		}
	}
	if fsys.lists != 2 {
		t.Errorf("%d listings, want 2 (a, missing)", fsys.lists)
	}
	for range 2 {
		if ents, err := c.ReadDir(fsys, "big"); err != nil || len(ents) != maxCachedEntries {
			t.Fatalf("ReadDir(big) = %d entries, %v", len(ents), err)
		}
	}
	if fsys.lists != 4 {
		t.Errorf("%d listings, want 4: big is past the bound and listed each time", fsys.lists)
	}
}

// TestResolveCacheWithSub checks that lookups in sub-roots of their
// folders give the answers, errors included, of lookups in the whole
// root, and open each folder once.
func TestResolveCacheWithSub(t *testing.T) {
	dir := fixture(t, map[string]string{
		"opt/kaspersky/kesl/bin/kesl": "file:ELF",
		"opt/kaspersky/klnagent64":    "dir",
		"opt/file":                    "file:f",
		"opt/abs":                     "link:/opt/kaspersky",
		"opt/rel":                     "link:kaspersky/kesl",
		"var/run":                     "link:/run",
		"run/kesl":                    "dir",
		"etc/opt":                     "link:../opt",
		"loop":                        "link:loop",
		"opt/kaspersky/loop":          "link:loop2",
		"opt/kaspersky/loop2":         "link:loop",
		"usr/local/etc":               "dir",
	})
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	names := []string{
		"opt/kaspersky/kesl/bin/kesl", "opt/kaspersky/klnagent64", "opt/kaspersky/missing", "opt/file/x",
		"opt/abs/kesl/bin/kesl", "opt/rel/bin", "var/run/kesl", "etc/opt/kaspersky/kesl", "loop", "opt/kaspersky/loop/x",
		"usr/local/etc/kav", "missing/x", "opt/missing/x", ".",
	}
	opened := map[string]int{}
	sub := func(d string) (fs.FS, func(), error) {
		opened[d]++
		s, err := r.OpenRoot(d)
		if err != nil {
			return nil, nil, err
		}
		return s.FS(), func() { s.Close() }, nil
	}
	describe := func(loc string, fi fs.FileInfo, err error) string {
		if err != nil {
			return "error " + err.Error()
		}
		return fmt.Sprintf("%s %v", loc, fi.Mode())
	}
	for _, opt := range []Options{{}, {NoFollow: true}} {
		cached := opt
		cached.Cache = NewCacheWithSub(sub)
		for range 2 {
			for _, name := range names {
				want := describe(Resolve(r.FS(), name, opt))
				if got := describe(Resolve(r.FS(), name, cached)); got != want {
					t.Errorf("Resolve(%q, %+v) = %s; without sub-roots %s", name, opt, got, want)
				}
				_, werr := fs.Lstat(r.FS(), name)
				if _, gerr := cached.Cache.Lstat(r.FS(), name); fmt.Sprint(gerr) != fmt.Sprint(werr) {
					t.Errorf("Lstat(%q) error %v, want %v", name, gerr, werr)
				}
			}
		}
		cached.Cache.Close()
		for d, n := range opened {
			if n > 1 {
				t.Errorf("%s opened %d times", d, n)
			}
		}
		if len(opened) == 0 {
			t.Error("no sub-root opened")
		}
		clear(opened)
	}
}
