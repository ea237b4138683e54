package paths

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/rootpath"
)

// peImage is the start of a PE image as linkers write it: the DOS header
// ("MZ", e_lfanew at 0x3c pointing past the DOS stub), the stub, and the
// "PE\0\0" signature followed by a COFF header for x86-64.
func peImage() string {
	b := make([]byte, 0x200)
	copy(b, "MZ\x90\x00")
	binary.LittleEndian.PutUint32(b[0x3c:], 0xf8)
	copy(b[0x40:], "This program cannot be run in DOS mode.\r\r\n$")
	copy(b[0xf8:], "PE\x00\x00\x64\x86")
	return string(b)
}

// elfImage is the start of an x86-64 ELF executable.
const elfImage = "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"

// testPrograms names programs and drivers as the catalog does, for the
// program folders a test lists.
func testPrograms(o host.OS, dirs ...string) map[host.OS]Programs {
	return map[host.OS]Programs{o: {
		Dirs:        dirs,
		Executables: []string{"avp.exe", "avpui.exe", "avp.com", "klnagent.exe", "kesl", "kesl-control", "klnagent", "kav", "falcond"},
		Drivers:     []string{"klif", "klflt", "klhk", "klim6", "klupd_klif_*"},
	}}
}

// windowsDisk is a mounted Windows system drive with KES 12 installed,
// laid out as a KES install is (the KES.<version> folder, avp.exe and
// avpui.exe beside each other [KES-PATH-SCRIPTS in the catalog]; its
// drivers in System32\drivers), with decoys: a game whose executable is
// called AvP.exe outside every program folder, a text file and an empty
// placeholder named like programs, Microsoft's own drivers, and a program
// deeper than the search goes.
var windowsDisk = map[string]string{
	"Windows/System32/drivers/klif.sys":              "file:" + peImage(),
	"Windows/System32/drivers/klflt.sys":             "file:" + peImage(),
	"Windows/System32/drivers/klupd_klif_arkmon.sys": "file:" + peImage(),
	"Windows/System32/drivers/klim6.sys":             "file:", // a zero-length placeholder
	"Windows/System32/drivers/ntfs.sys":              "file:" + peImage(),
	"Windows/System32/drivers/WdFilter.sys":          "file:" + peImage(),
	"Windows/System32/drivers/klif.sys.bak":          "file:" + peImage(),
	"Windows/System32/drivers/en-US/klif.sys.mui":    "file:" + peImage(),
	"Windows/System32/drivers/etc/hosts":             "file:127.0.0.1 localhost\r\n",

	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe":        "file:" + peImage(),
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/AVPUI.EXE":      "file:" + peImage(),
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.com":        "file:not a PE image, a placeholder\r\n",
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/x64/klif.sys":   "file:" + peImage(),
	"Program Files (x86)/Kaspersky Lab/NetworkAgent/klnagent.exe": "file:" + peImage(),
	// Six folders down: avp.exe is seven levels below the program folder.
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/a/b/c/d/e/f/avp.exe": "file:" + peImage(),
	// Five folders down: the deepest that is searched.
	"Program Files (x86)/Kaspersky Lab/KES.12.1.0/a/b/c/d/e/avp.exe": "file:" + peImage(),

	"Program Files (x86)/Steam/steamapps/common/Aliens vs Predator/AvP.exe": "file:" + peImage(),
}

func TestProgramsWindows(t *testing.T) {
	h := openRoot(t, fixture(t, windowsDisk), host.Windows)
	src := New(map[host.OS][]string{host.Windows: {`C:\Program Files (x86)\Kaspersky Lab`}}).
		WithPrograms(testPrograms(host.Windows,
			`C:\Program Files (x86)\Kaspersky Lab\KES.*`,
			`C:\Program Files (x86)\Kaspersky Lab`, // covers the one above: each file once
			`C:\windows\system32\DRIVERS`,          // written in another case
			`C:\Program Files\Kaspersky Lab`,       // missing: silent
		))
	got, err := collect(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path     string
		kind     detect.Kind
		name     string
		location string
		detail   string
	}{
		{`C:\Program Files (x86)\Kaspersky Lab`, detect.KindPath, "Kaspersky Lab", "Program Files (x86)/Kaspersky Lab",
			`C:\Program Files (x86)\Kaspersky Lab (directory, 2 entries)`},
		{`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`, detect.KindExecutable, "avp.exe",
			"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe",
			`executable C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe (PE)`},
		{`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\AVPUI.EXE`, detect.KindExecutable, "AVPUI.EXE",
			"Program Files (x86)/Kaspersky Lab/KES.12.1.0/AVPUI.EXE",
			`executable C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\AVPUI.EXE (PE)`},
		{`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\a\b\c\d\e\avp.exe`, detect.KindExecutable, "avp.exe",
			"Program Files (x86)/Kaspersky Lab/KES.12.1.0/a/b/c/d/e/avp.exe",
			`executable C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\a\b\c\d\e\avp.exe (PE)`},
		{`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\x64\klif.sys`, detect.KindDriver, "klif",
			"Program Files (x86)/Kaspersky Lab/KES.12.1.0/x64/klif.sys",
			`driver C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\x64\klif.sys (PE)`},
		{`C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe`, detect.KindExecutable, "klnagent.exe",
			"Program Files (x86)/Kaspersky Lab/NetworkAgent/klnagent.exe",
			`executable C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe (PE)`},
		{`C:\windows\system32\DRIVERS\klif.sys`, detect.KindDriver, "klif", "Windows/System32/drivers/klif.sys",
			`driver C:\windows\system32\DRIVERS\klif.sys (PE)`},
		{`C:\windows\system32\DRIVERS\klflt.sys`, detect.KindDriver, "klflt", "Windows/System32/drivers/klflt.sys",
			`driver C:\windows\system32\DRIVERS\klflt.sys (PE)`},
		{`C:\windows\system32\DRIVERS\klupd_klif_arkmon.sys`, detect.KindDriver, "klupd_klif_arkmon",
			"Windows/System32/drivers/klupd_klif_arkmon.sys", `driver C:\windows\system32\DRIVERS\klupd_klif_arkmon.sys (PE)`},
	}
	for _, tt := range tests {
		o, ok := got[tt.path]
		if !ok {
			t.Errorf("%s: not reported", tt.path)
			continue
		}
		delete(got, tt.path)
		wantStatus := detect.Installed
		if tt.kind == detect.KindPath {
			wantStatus = detect.Present
		}
		if o.Kind != tt.kind || o.Status != wantStatus || o.Name != tt.name || o.Location != tt.location || o.Detail != tt.detail {
			t.Errorf("%s:\n got %s %s name %q location %q detail %q\nwant %s %s name %q location %q detail %q",
				tt.path, o.Kind, o.Status, o.Name, o.Location, o.Detail, tt.kind, wantStatus, tt.name, tt.location, tt.detail)
		}
	}
	for p, o := range got {
		t.Errorf("unexpected observation for %s: %+v", p, o)
	}
}

// archRoot is an Arch Linux root with KESL installed from its tarball
// distribution rather than a package, modelled on issue #12's case: the
// program tree under /opt/kaspersky/kesl and a versioned install folder
// under /var/opt/kaspersky/kesl (the names of the binaries, kesl and
// kesl-control, are those of KESL's kit [KL-KESL-KIT in the catalog]). Decoys: a
// kesl-control that is a dangling link, one linking out of the root, a
// named pipe called kesl, and a "kesl" man page.
func archRoot(t *testing.T) string {
	t.Helper()
	root := fixture(t, map[string]string{
		"etc/os-release":                             "file:NAME=\"Arch Linux\"\nID=arch\n",
		"opt/kaspersky/kesl/libexec/kesl":            "file:" + elfImage,
		"opt/kaspersky/kesl/bin/kesl-control":        "link:../libexec/kesl-control.sh",
		"opt/kaspersky/kesl/libexec/kesl-control.sh": "file:#!/bin/sh\nexec /opt/kaspersky/kesl/libexec/kesl \"$@\"\n",
		"opt/kaspersky/kesl/share/man/man1/kesl":     "file:.TH KESL 1\n",
		"opt/kaspersky/kesl/lib/loop":                "link:../lib",

		"var/opt/kaspersky/kesl/install_12.1.0.1297/bin/kesl":         "file:" + elfImage,
		"var/opt/kaspersky/kesl/install_12.1.0.1297/bin/kesl-control": "link:/usr/bin/kesl-control-gone",
		"var/opt/kaspersky/kesl/install_12.1.0.1297/bin/klnagent":     "link:/../../../../bin/true",
		"var/opt/kaspersky/kesl/install_12.1.0.1297/bases/kesl.kdc":   "file:bases",
		"var/opt/kaspersky/kesl/install_12.1.0.1297/sbin/falcond":     "file:" + peImage(), // no Linux executable
		"var/opt/kaspersky/kesl/common/kesl.ini":                      "file:[General]\n",
	})
	fifo := filepath.Join(root, "var/opt/kaspersky/kesl/common/kesl")
	mkfifo(t, fifo)
	return root
}

func TestProgramsLinux(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("named pipes and links of a Linux root")
	}
	h := openRoot(t, archRoot(t), host.Linux)
	src := New(nil).WithPrograms(testPrograms(host.Linux, "/opt/kaspersky/kesl", "/var/opt/kaspersky/kesl/install_*", "/var/opt/kaspersky/kesl/common"))
	done := make(chan struct{})
	var got map[string]detect.Observation
	var err error
	go func() {
		defer close(done)
		got, err = collect(t, src, h)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the search hangs (a named pipe opened?)")
	}
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/opt/kaspersky/kesl/libexec/kesl":                     "executable /opt/kaspersky/kesl/libexec/kesl (ELF)",
		"/opt/kaspersky/kesl/bin/kesl-control":                 "executable /opt/kaspersky/kesl/bin/kesl-control (script)",
		"/var/opt/kaspersky/kesl/install_12.1.0.1297/bin/kesl": "executable /var/opt/kaspersky/kesl/install_12.1.0.1297/bin/kesl (ELF)",
	}
	for p, detail := range want {
		o, ok := got[p]
		if !ok {
			t.Errorf("%s: not reported", p)
			continue
		}
		delete(got, p)
		if o.Kind != detect.KindExecutable || o.Status != detect.Installed || o.Detail != detail || o.Location != strings.TrimPrefix(p, "/") {
			t.Errorf("%s: %+v", p, o)
		}
	}
	for p, o := range got {
		t.Errorf("unexpected observation for %s: %+v", p, o)
	}
}

// A drivers folder as large as a real one is listed once; only the files
// named like catalogued drivers are opened.
func TestProgramsDriversFolderCheap(t *testing.T) {
	fsys := &openCounter{MapFS: fstest.MapFS{"Windows/System32/drivers/klif.sys": {Data: []byte(peImage())}}}
	for i := range 600 {
		fsys.MapFS[fmt.Sprintf("Windows/System32/drivers/ms%03d.sys", i)] = &fstest.MapFile{Data: []byte(peImage())}
	}
	h := &host.Host{OS: host.Windows, FS: fsys}
	got, err := collect(t, New(nil).WithPrograms(testPrograms(host.Windows, `C:\Windows\System32\drivers`)), h)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[`C:\Windows\System32\drivers\klif.sys`].Kind != detect.KindDriver {
		t.Errorf("got %v", keys(got))
	}
	// The folder listed, klif.sys read: not one open per driver.
	if fsys.opens > 3 {
		t.Errorf("%d files opened for one drivers folder of 601 entries", fsys.opens)
	}
}

func TestProgramsBounded(t *testing.T) {
	fsys := fstest.MapFS{}
	// Wider than the entry bound: 21 folders of 1,000 files.
	for i := range 21 {
		for j := range 1000 {
			fsys[fmt.Sprintf("opt/vendor/d%02d/f%04d", i, j)] = &fstest.MapFile{}
		}
	}
	fsys["opt/vendor/d20/zz/kesl"] = &fstest.MapFile{Data: []byte(elfImage)} // beyond the bound
	fsys["opt/vendor/kesl"] = &fstest.MapFile{Data: []byte(elfImage)}        // at the top: found first
	h := &host.Host{OS: host.Linux, FS: fsys}
	got, err := collect(t, New(nil).WithPrograms(testPrograms(host.Linux, "/opt/vendor")), h)
	if _, ok := got["/opt/vendor/kesl"]; !ok || len(got) != 1 {
		t.Errorf("got %v, want /opt/vendor/kesl only", keys(got))
	}
	var item *detect.ItemError
	if !errors.Is(err, ErrTooManyEntries) || !errors.As(err, &item) {
		t.Errorf("error %v: want a warning that the bound was reached", err)
	}
}

// A folder that cannot be read, a bad name pattern: warnings, and the
// rest is still searched.
func TestProgramsWarnings(t *testing.T) {
	dir := fixture(t, map[string]string{
		"opt/vendor/kesl":    "file:" + elfImage,
		"opt/other/bin/kesl": "file:" + elfImage,
	})
	h := openRoot(t, dir, host.Linux)
	progs := testPrograms(host.Linux, "/opt/vendor", "/opt/other", "/opt/[")
	p := progs[host.Linux]
	p.Executables = append(p.Executables, "[bad")
	progs[host.Linux] = p
	got, err := collect(t, New(nil).WithPrograms(progs), h)
	if len(got) != 2 {
		t.Errorf("got %v", keys(got))
	}
	if err == nil || !strings.Contains(err.Error(), `"[bad"`) || !strings.Contains(err.Error(), "/opt/[") {
		t.Fatalf("error %v: want the bad pattern and the bad folder named", err)
	}
	for _, e := range leaves(err) {
		var item *detect.ItemError
		if !errors.As(e, &item) {
			t.Errorf("%v is not a per-item warning", e)
		}
	}
}

func TestProgramsNotForOtherOS(t *testing.T) {
	h := openRoot(t, fixture(t, windowsDisk), host.Windows)
	// Linux program folders on a Windows root: nothing is searched.
	got, err := collect(t, New(nil).WithPrograms(testPrograms(host.Linux, "/Windows")), h)
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v", keys(got), err)
	}
	// Drivers are Windows files only: on Linux a klif.sys is nothing.
	lh := openRoot(t, fixture(t, map[string]string{"opt/vendor/klif.sys": "file:" + elfImage}), host.Linux)
	got, err = collect(t, New(nil).WithPrograms(testPrograms(host.Linux, "/opt/vendor")), lh)
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v", keys(got), err)
	}
}

func TestProgramsCanceled(t *testing.T) {
	h := openRoot(t, fixture(t, windowsDisk), host.Windows)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	err := New(nil).WithPrograms(testPrograms(host.Windows, `C:\Windows\System32\drivers`)).Collect(ctx, h, func(detect.Observation) { n++ })
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("%d observations, error %v", n, err)
	}
}

// leaves flattens joined errors down to the ones that join nothing, or
// are warnings.
func leaves(err error) []error {
	var item *detect.ItemError
	if errors.As(err, &item) && item == err {
		return []error{err}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// openCounter is a MapFS that counts the files opened.
type openCounter struct {
	fstest.MapFS
	opens int
}

func (c *openCounter) Open(name string) (fs.File, error) {
	c.opens++
	return c.MapFS.Open(name)
}

// Patterns pass a case-insensitive filesystem on to the literal
// components they resolve: no folder is listed to match another case.
func TestExpandCaseInsensitiveFS(t *testing.T) {
	fsys := &openCounter{MapFS: fstest.MapFS{"Program Files/App/x.exe": {}}}
	const pattern = `C:\program files\app\*.exe`
	if got, err := expand(fsys, host.Windows, pattern, rootpath.Options{FoldCase: true}); len(got) != 1 || err != nil {
		t.Errorf("folding expand(%q) = %q, %v", pattern, got, err)
	}
	fsys.opens = 0
	if got, err := expand(fsys, host.Windows, pattern, rootpath.Options{FoldCase: true, CaseInsensitiveFS: true}); len(got) != 0 || err != nil || fsys.opens != 0 {
		t.Errorf("expand on a case-insensitive filesystem = %q, %v after %d listings; want nothing after none", got, err, fsys.opens)
	}
}

// lookupCounter is a MapFS that counts the lstats and listings of each
// name.
type lookupCounter struct {
	fstest.MapFS
	lstats, lists map[string]int
}

func (c *lookupCounter) Lstat(name string) (fs.FileInfo, error) {
	c.lstats[name]++
	return c.MapFS.Lstat(name)
}

func (c *lookupCounter) ReadDir(name string) ([]fs.DirEntry, error) {
	c.lists[name]++
	return c.MapFS.ReadDir(name)
}

// One scan looks each folder up once, however many listed paths, patterns
// and program folders share it.
func TestCollectLooksUpOnce(t *testing.T) {
	fsys := &lookupCounter{MapFS: fstest.MapFS{
		"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe":    {Data: []byte(peImage())},
		"Program Files (x86)/Kaspersky Lab/NetworkAgent/klnagent": {Data: []byte("x")},
		"ProgramData/Kaspersky Lab/KES.12.1.0":                    {Mode: fs.ModeDir},
	}, lstats: map[string]int{}, lists: map[string]int{}}
	dirs := []string{
		`C:\Program Files (x86)\Kaspersky Lab`,
		`C:\Program Files (x86)\Kaspersky Lab\KES.*`,
		`C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security*`,
		`C:\Program Files (x86)\Kaspersky Lab\NetworkAgent`,
		`C:\Program Files (x86)\Kaspersky Lab\Endpoint Agent`,
		`C:\Program Files\Kaspersky Lab`,
	}
	list := append(slices.Clone(dirs), `C:\ProgramData\Kaspersky Lab\KES.*`, `C:\ProgramData\Kaspersky Lab`)
	h := &host.Host{OS: host.Windows, Root: `C:\`, FS: fsys, CaseInsensitiveFS: true}
	src := New(map[host.OS][]string{host.Windows: list}).WithPrograms(testPrograms(host.Windows, dirs...))
	got, err := collect(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`, `C:\ProgramData\Kaspersky Lab\KES.12.1.0`,
		`C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`} {
		if _, ok := got[want]; !ok {
			t.Errorf("%s not reported; got %v", want, keys(got))
		}
	}
	for what, counts := range map[string]map[string]int{"looked up": fsys.lstats, "listed": fsys.lists} {
		for name, n := range counts {
			if n > 1 {
				t.Errorf("%s %s %d times", name, what, n)
			}
		}
	}
}
