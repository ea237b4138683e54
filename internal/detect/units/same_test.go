package units

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// plainFS hides everything but fs.FS's own methods: its files are no
// files of this machine and it opens no sub-roots, so a host over it is
// read the plain way, folder listings through fs.ReadDir and every file
// through safefs — what the source did before it listed folders and read
// files itself.
type plainFS struct{ fsys fs.FS }

type plainFile struct{ fs.File }

func (p plainFS) Open(name string) (fs.File, error) {
	f, err := p.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return plainFile{f}, nil
}

func (p plainFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(p.fsys, name) }
func (p plainFS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(p.fsys, name) }
func (p plainFS) Lstat(name string) (fs.FileInfo, error)     { return fs.Lstat(p.fsys, name) }
func (p plainFS) ReadLink(name string) (string, error)       { return fs.ReadLink(p.fsys, name) }

// collectAll is every observation Collect emits, in order, and the
// messages of the warnings and errors it returns, sorted, with the name
// an open failed on left out: a file read in a sub-root of its folder is
// named there by its base name, in the whole root by its full name.
func collectAll(t *testing.T, h *host.Host) ([]detect.Observation, []string) {
	t.Helper()
	var obs []detect.Observation
	err := New().Collect(context.Background(), h, func(o detect.Observation) { obs = append(obs, o) })
	openName := regexp.MustCompile(`open [^:]*: `)
	var msgs []string
	if err != nil {
		for _, e := range leaves(err) {
			msgs = append(msgs, openName.ReplaceAllString(e.Error(), "open: "))
		}
	}
	slices.Sort(msgs)
	return obs, msgs
}

// checkSame collects h as the source does and over plainFS, and fails
// when the observations or the warnings differ.
func checkSame(t *testing.T, h *host.Host) {
	t.Helper()
	plain := &host.Host{OS: h.OS, Root: h.Root, FS: plainFS{h.FS}}
	got, gotErrs := collectAll(t, h)
	want, wantErrs := collectAll(t, plain)
	if len(got) == 0 {
		t.Error("no observations")
	}
	if !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			switch {
			case i >= len(got):
				t.Errorf("missing %+v", want[i])
			case i >= len(want):
				t.Errorf("extra %+v", got[i])
			case got[i] != want[i]:
				t.Errorf("observation %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
	}
	if !slices.Equal(gotErrs, wantErrs) {
		t.Errorf("warnings:\n got %q\nwant %q", gotErrs, wantErrs)
	}
	t.Logf("%d observations, %d warnings, the same both ways", len(got), len(gotErrs))
}

// TestSameAsPlainFixtures: on the fixture roots, reading folders and
// files directly gives exactly what the plain fs.FS path gives.
func TestSameAsPlainFixtures(t *testing.T) {
	trees := map[string]map[string]string{
		"merged usr": mergedUsr,
		"split usr": {
			"lib/systemd/system/kesl.service":             "file:" + keslUnit,
			"usr/lib/systemd/system/kesl.service":         "file:[Service]\nExecStart=/usr/bin/other\n",
			"lib/systemd/system/ssh.service":              "file:" + sshUnit,
			"usr/sbin/sshd":                               elf,
			"etc/init.d/kesl":                             "file:" + keslInit,
			"opt/kaspersky/kesl/libexec/kesl_launcher.sh": elf,
		},
		"aliases and wants": {
			"usr/lib/systemd/system/kesl.service":                           "file:" + keslUnit,
			"usr/lib/systemd/system/kesl-alias.service":                     "link:kesl.service",
			"usr/lib/systemd/system/kesl-abs.service":                       "link:/usr/lib/systemd/system/kesl.service",
			"usr/lib/systemd/system/dangling.service":                       "link:nothere.service",
			"usr/lib/systemd/system/loop.service":                           "link:loop.service",
			"usr/lib/systemd/system/empty.service":                          "file:",
			"usr/lib/systemd/system/generic.service":                        "file:[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl_launcher.sh\n",
			"usr/lib/systemd/system/sub.service.d/override.conf":            "file:[Service]\nExecStart=\n",
			"etc/systemd/system/multi-user.target.wants/kesl.service":       "link:/usr/lib/systemd/system/kesl.service",
			"etc/systemd/system/multi-user.target.wants/getty@tty1.service": "link:/usr/lib/systemd/system/getty@.service",
			"etc/systemd/system/linked.target.wants":                        "link:/nowhere",
			"usr/lib/systemd/system/getty@.service":                         "file:[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --noclear - $TERM\n",
			"opt/kaspersky/kesl/libexec/kesl_launcher.sh":                   elf,
			"etc/init.d/klnagent64":                                         "file:" + readFixture(t, "klnagent64.lsb"),
			"etc/init.d/alias":                                              "link:klnagent64",
			"etc/rc.d/init.d":                                               "link:../init.d",
			"etc/rc2.d/S01klnagent64":                                       "link:../init.d/klnagent64",
			"etc/runlevels/default/klnagent64":                              "link:/etc/init.d/klnagent64",
		},
	}
	for name, tree := range trees {
		t.Run(name, func(t *testing.T) {
			checkSame(t, openRoot(t, fixture(t, tree)))
		})
	}
}

// TestSameAsPlainHostile: named pipes, a file over the limit, a link
// loop and an unreadable folder are reported alike both ways, and never
// block.
func TestSameAsPlainHostile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("named pipes")
	}
	dir := fixture(t, map[string]string{
		"usr/lib/systemd/system/huge.service":                      "file:[Service]\nExecStart=/usr/bin/x\n" + strings.Repeat("#", MaxFile),
		"usr/lib/systemd/system/edge.service":                      "file:[Service]\nExecStart=/usr/bin/x\n" + strings.Repeat("#", MaxFile-len("[Service]\nExecStart=/usr/bin/x\n")),
		"usr/lib/systemd/system/loopy.service":                     "file:[Service]\nExecStart=/opt/loop/bin/agent\n",
		"etc/systemd/system/multi-user.target.wants/loopy.service": "link:/usr/lib/systemd/system/loopy.service",
		"opt/loop":                             "link:/opt/loop",
		"usr/lib/systemd/system/good.service":  "file:[Service]\nExecStart=/usr/bin/good\n",
		"usr/lib/systemd/system/dir.service/x": "file:",
		"usr/bin/good":                         elf,
		"etc/init.d/secret":                    "file:#!/bin/sh\n/usr/bin/good\n",
		// Programs of every kind, looked up in their open folder.
		"usr/lib/systemd/system/p-dir.service":      "file:[Service]\nExecStart=/usr/bin/adir\n",
		"usr/bin/adir/x":                            "file:",
		"usr/lib/systemd/system/p-fifo.service":     "file:[Service]\nExecStart=/usr/bin/fifo\n",
		"usr/lib/systemd/system/p-rel.service":      "file:[Service]\nExecStart=/usr/bin/rel\n",
		"usr/bin/rel":                               "link:good",
		"usr/lib/systemd/system/p-abs.service":      "file:[Service]\nExecStart=/usr/bin/abs\n",
		"usr/bin/abs":                               "link:/usr/bin/good",
		"usr/lib/systemd/system/p-dangling.service": "file:[Service]\nExecStart=/usr/bin/dangling\n",
		"usr/bin/dangling":                          "link:nothere",
		"usr/lib/systemd/system/p-up.service":       "file:[Service]\nExecStart=/usr/bin/up\n",
		"usr/bin/up":                                "link:../../usr/bin/good",
		"usr/lib/systemd/system/p-missing.service":  "file:[Service]\nExecStart=/usr/bin/missing\n",
		"usr/lib/systemd/system/p-bare.service":     "file:[Service]\nExecStart=good --x\n",
		"usr/lib/systemd/system/p-dot.service":      "file:[Service]\nExecStart=/usr/bin/.\n",
		"usr/lib/systemd/system/p-dotdot.service":   "file:[Service]\nExecStart=/usr/bin/..\n",
		"usr/lib/systemd/system/p-root.service":     "file:[Service]\nExecStart=/\n",
	})
	for _, fifo := range []string{"usr/lib/systemd/system/pipe.service", "etc/init.d/pipe", "usr/lib/systemd/system/pipe-link.service", "usr/bin/fifo"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, fifo)), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(fifo, "link") {
			if err := os.Symlink("pipe.service", filepath.Join(dir, fifo)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mkfifo(t, filepath.Join(dir, fifo))
	}
	if os.Geteuid() != 0 { // root reads it whatever its mode
		if err := os.Chmod(filepath.Join(dir, "etc/init.d/secret"), 0); err != nil {
			t.Fatal(err)
		}
	}
	checkSame(t, openRoot(t, dir))
}

// TestSameAsPlainLive: on this machine's units and init scripts too.
func TestSameAsPlainLive(t *testing.T) {
	if _, err := os.Stat("/usr/lib/systemd/system"); err != nil {
		t.Skip("no systemd units on this machine")
	}
	h, err := host.Live(host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, h)
}

// TestListDir: the listing read from the folder's records is fs.ReadDir's,
// names and types, on this machine's folders of every kind of file.
func TestListDir(t *testing.T) {
	h, err := host.Live(host.OS(runtime.GOOS))
	if err != nil || h.FS == nil {
		t.Skip("no live filesystem")
	}
	for _, dir := range []string{"usr/lib/systemd/system", "etc", "dev", "run", "usr/bin", "proc/self"} {
		want, werr := fs.ReadDir(h.FS, dir)
		got, gerr := listDir(h.FS, dir, nil)
		if errors.Is(werr, fs.ErrNotExist) && errors.Is(gerr, fs.ErrNotExist) {
			continue
		}
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%s: error %v, want %v", dir, gerr, werr)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d entries, want %d", dir, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].Name() != want[i].Name() || got[i].Type() != want[i].Type() {
				t.Errorf("%s: entry %d is %s %v, want %s %v", dir, i, got[i].Name(), got[i].Type(), want[i].Name(), want[i].Type())
			}
		}
	}
}

// TestSameAsPlainCopiedRoot: a root holding a copy of this machine's
// unit folders, init scripts and rc links (links kept as links, /lib and
// /sbin linking into /usr as on a merged-/usr system, with a catalogued
// agent under a generic unit name) is read alike both ways.
func TestSameAsPlainCopiedRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("copies this machine's units")
	}
	if _, err := os.Stat("/usr/lib/systemd/system"); err != nil {
		t.Skip("no systemd units on this machine")
	}
	root := fixture(t, map[string]string{
		"lib":                                  "link:usr/lib",
		"sbin":                                 "link:usr/sbin",
		"bin":                                  "link:usr/bin",
		"usr/lib/systemd/system/agent.service": "file:[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl_launcher.sh\n",
		"opt/kaspersky/kesl/libexec/kesl_launcher.sh":              elf,
		"etc/systemd/system/multi-user.target.wants/agent.service": "link:/lib/systemd/system/agent.service",
	})
	copied := 0
	for _, dir := range []string{"usr/lib/systemd/system", "etc/systemd/system", "etc/init.d", "etc/rcS.d", "etc/rc2.d", "etc/rc3.d", "etc/rc5.d"} {
		err := filepath.WalkDir("/"+dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil //nolint:nilerr // what cannot be read is left out of the copy
			}
			dst := filepath.Join(root, p)
			switch {
			case d.IsDir():
				return os.MkdirAll(dst, 0o755)
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return nil //nolint:nilerr // as above
				}
				copied++
				return os.Symlink(target, dst)
			case d.Type().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return nil //nolint:nilerr // as above
				}
				copied++
				return os.WriteFile(dst, b, 0o644)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if copied < 10 {
		t.Skipf("only %d unit files to copy", copied)
	}
	h := openRoot(t, root)
	checkSame(t, h)
	got, _ := collectAll(t, h)
	for _, o := range got {
		if o.Name == "agent.service" && o.Path != "/opt/kaspersky/kesl/libexec/kesl_launcher.sh" {
			t.Errorf("agent.service: %+v", o)
		}
	}
}
