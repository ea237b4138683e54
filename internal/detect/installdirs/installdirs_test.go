package installdirs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/pe/petest"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/safefs"
)

// file is a file of a test root: its content, or, when size is set, a
// sparse file of that size (a file too large to read, cheaply made).
type file struct {
	data []byte
	size int64
}

// images are the file contents the tests put on a root.
type images struct {
	engine []byte // a Windows program with a version resource, as an OEM build ships the engine
	other  []byte // a program for the OS running the test (ELF or Mach-O): not a Windows program
}

func newImages(t *testing.T) images {
	t.Helper()
	engine, err := petest.WithVersion(petest.WindowsProgram(t), petest.Version{
		CompanyName:      "Acme Security Inc.",
		ProductName:      "Acme Internet Security",
		FileDescription:  "Acme Internet Security",
		FileVersion:      "21.3.10.391",
		ProductVersion:   "21.3.10.391",
		OriginalFilename: "avp.exe",
	})
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	return images{engine: engine, other: other[:4096]}
}

// windowsNames are the catalog's program names for Windows: the enricher
// as the scan makes it.
func windowsNames(t *testing.T) []string {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	names := cat.ExecutableNames("windows")
	for _, want := range []string{"avp.exe", "avpui.exe"} {
		found := false
		for _, n := range names {
			found = found || strings.EqualFold(n, want)
		}
		if !found {
			t.Fatalf("the catalog names no %s among its Windows programs: the tests need another name", want)
		}
	}
	return names
}

// makeRoot writes files (slash paths) under a temporary folder and opens
// it as a Windows root, as `avscout scan --root DIR --os windows` does.
func makeRoot(t *testing.T, files map[string]file) *host.Host {
	t.Helper()
	dir := t.TempDir()
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if f.size > 0 {
			if err := os.Truncate(p, f.size); err != nil {
				t.Fatal(err)
			}
		}
	}
	h, err := host.OpenRoot(dir, host.Windows)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// app is the observation of an uninstall entry whose install folder is dir.
func app(name, dir string) detect.Observation {
	return detect.Observation{Kind: detect.KindApp, Status: detect.Installed, Name: name, Display: name, Path: dir,
		Location: `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\` + name}
}

// found is what the tests compare of an emitted observation.
type found struct{ Name, Path, Location string }

func enrich(t *testing.T, e *Enricher, h *host.Host, obs []detect.Observation) ([]found, error) {
	t.Helper()
	var got []found
	err := e.Enrich(context.Background(), h, obs, func(o detect.Observation) {
		if o.Kind != detect.KindExecutable || o.Status != detect.Installed {
			t.Errorf("emitted %s/%s, want an installed executable: %+v", o.Kind, o.Status, o)
		}
		if !strings.Contains(o.Detail, "(PE)") || !strings.Contains(o.Detail, o.Path) {
			t.Errorf("detail %q does not name the file and its format", o.Detail)
		}
		got = append(got, found{o.Name, o.Path, o.Location})
	})
	return got, err
}

// checkWarnings checks that err is nothing but warnings (the source is
// still complete) whose texts hold the substrings of want, one each.
func checkWarnings(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want warnings %q", want)
	}
	if !detect.IsWarning(err) {
		t.Fatalf("error %v is not only warnings: the source would be reported as failed", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestEnrich(t *testing.T) {
	img := newImages(t)
	const (
		// A white-labelled suite: the uninstall entry names the brand's
		// folder, which is in no catalogued program folder; the engine's
		// avp.exe is inside.
		brandDir = `C:\Program Files\Acme\Acme Internet Security\`
		brandLoc = "Program Files/Acme/Acme Internet Security"
	)
	tests := []struct {
		name  string
		files map[string]file
		obs   []detect.Observation
		want  []found
		warn  []string
	}{{
		name: "white-label folder holding the engine",
		files: map[string]file{
			brandLoc + "/avp.exe":           {data: img.engine},
			brandLoc + "/acmeui.exe":        {data: img.engine}, // the brand's own, uncatalogued
			brandLoc + "/readme.txt":        {data: []byte("Acme Internet Security\r\n")},
			brandLoc + "/Bases/avpui.exe":   {data: img.engine}, // a subfolder: not looked in
			"Program Files/Other/avpui.exe": {data: img.engine}, // no uninstall entry names it
		},
		obs:  []detect.Observation{app("Acme Internet Security", brandDir)},
		want: []found{{"avp.exe", brandDir + "avp.exe", brandLoc + "/avp.exe"}},
	}, {
		name: "folder written in another case than on the disk, named twice",
		files: map[string]file{
			brandLoc + "/AVP.EXE":   {data: img.engine},
			brandLoc + "/avpui.exe": {data: img.engine},
		},
		obs: []detect.Observation{
			app("Acme Internet Security", `c:\program files\acme\acme internet security`),
			app("Acme Internet Security (x64)", `C:\PROGRAM FILES\ACME\ACME INTERNET SECURITY`),
		},
		want: []found{
			{"AVP.EXE", `c:\program files\acme\acme internet security\AVP.EXE`, brandLoc + "/AVP.EXE"},
			{"avpui.exe", `c:\program files\acme\acme internet security\avpui.exe`, brandLoc + "/avpui.exe"},
		},
	}, {
		name: "decoys named like the engine that are no Windows program",
		files: map[string]file{
			"Program Files/Aliens vs Predator/avp.exe":   {data: []byte("This is not a program: the installer wrote a placeholder.\r\n")},
			"Program Files/Aliens vs Predator/avpui.exe": {data: img.other},                            // an ELF or Mach-O program
			"Program Files/Aliens vs Predator/avp.com":   {data: []byte("MZ\x90\x00\x03\x00\x00\x00")}, // a DOS header and nothing else
		},
		obs: []detect.Observation{app("Aliens vs Predator", `C:\Program Files\Aliens vs Predator`)},
	}, {
		name:  "folder gone, or a file where the folder should be",
		files: map[string]file{"Program Files/Acme/Acme Internet Security": {data: img.engine}},
		obs: []detect.Observation{
			app("Removed", `C:\Program Files\Removed Suite\`),
			app("Acme Internet Security", brandDir),
			app("Inside a file", brandDir+`avp.exe\`),
		},
	}, {
		name:  "paths that are not on this disk",
		files: map[string]file{brandLoc + "/avp.exe": {data: img.engine}},
		obs: []detect.Observation{
			app("Variable", `%ProgramFiles%\Acme\Acme Internet Security`),
			app("Share", `\\fileserver\apps\Acme\Acme Internet Security`),
			app("Relative", `Acme\Acme Internet Security`),
			app("The drive itself", `C:\`),
		},
	}, {
		name:  "only uninstall entries' folders",
		files: map[string]file{brandLoc + "/avp.exe": {data: img.engine}},
		obs: []detect.Observation{
			{Kind: detect.KindService, Status: detect.Installed, Name: "AVP", Path: brandDir + "avp.exe"},
			{Kind: detect.KindPath, Status: detect.Installed, Path: brandDir},
			{Kind: detect.KindApp, Status: detect.Installed, Name: "No folder"},
		},
	}, {
		name: "a file too large to read does not hide the rest of the folder",
		files: map[string]file{
			brandLoc + "/avp.com":   {data: []byte("MZ"), size: safefs.Executable.Limit() + 1}, // sparse
			brandLoc + "/avp.exe":   {data: img.engine},
			brandLoc + "/avpui.exe": {data: img.engine},
		},
		obs: []detect.Observation{app("Acme Internet Security", brandDir)},
		want: []found{
			{"avp.exe", brandDir + "avp.exe", brandLoc + "/avp.exe"},
			{"avpui.exe", brandDir + "avpui.exe", brandLoc + "/avpui.exe"},
		},
		warn: []string{`install folder ` + brandDir + `: read ` + brandLoc + `/avp.com: too large`},
	}}
	e := New(windowsNames(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := enrich(t, e, makeRoot(t, tc.files), tc.obs)
			checkWarnings(t, err, tc.warn)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("found\n %v\nwant\n %v", got, tc.want)
			}
		})
	}
}

// The enricher is for Windows roots only: a live host's processes show
// what runs, and other systems have no uninstall entries.
func TestUnavailable(t *testing.T) {
	fsys := fstest.MapFS{"Program Files/Acme/avp.exe": {Data: []byte("MZ")}}
	obs := []detect.Observation{app("Acme", `C:\Program Files\Acme`)}
	for _, h := range []*host.Host{
		{OS: host.Windows, FS: fsys, Live: true},
		{OS: host.Linux, FS: fsys},
		{OS: host.Darwin, FS: fsys},
		{OS: host.Windows},
	} {
		err := New([]string{"avp.exe"}).Enrich(context.Background(), h, obs, func(o detect.Observation) {
			t.Errorf("emitted %+v", o)
		})
		if !errors.Is(err, detect.ErrUnavailable) {
			t.Errorf("%s (live %v, fs %v): error %v, want unavailable", h.OS, h.Live, h.FS != nil, err)
		}
	}
}

// More install folders than the bound: the first maxFolders are looked
// in, and the scan says the rest were not.
func TestTooManyFolders(t *testing.T) {
	fsys := fstest.MapFS{}
	var obs []detect.Observation
	for i := range maxFolders + 1 {
		dir := fmt.Sprintf("Program Files/Suite %04d", i)
		fsys[dir+"/avp.exe"] = &fstest.MapFile{Data: peHead()}
		obs = append(obs, app(fmt.Sprint("Suite ", i), `C:\`+strings.ReplaceAll(dir, "/", `\`)))
	}
	e := New([]string{"avp.exe"})
	for _, tc := range []struct {
		folders int
		warn    []string
	}{
		{maxFolders, nil},
		{maxFolders + 1, []string{fmt.Sprintf("more than %d install folders", maxFolders)}},
	} {
		n := 0
		err := e.Enrich(context.Background(), &host.Host{OS: host.Windows, FS: fsys}, obs[:tc.folders], func(detect.Observation) { n++ })
		checkWarnings(t, err, tc.warn)
		if n != maxFolders {
			t.Errorf("%d folders: %d executables found, want %d", tc.folders, n, maxFolders)
		}
	}
}

// peHead is the smallest file rootpath.Format takes for a PE image.
func peHead() []byte {
	b := make([]byte, 0x48)
	copy(b, "MZ")
	b[0x3c] = 0x40
	copy(b[0x40:], "PE\x00\x00")
	return b
}

// endless is a filesystem whose one folder, "Program Files/Acme", lists
// names without end, as a hostile share or a broken image could; the
// folder's listing counts the entries handed out.
type endless struct {
	fstest.MapFS
	handed *int
}

const endlessName = "Program Files/Acme"

func (e endless) Open(name string) (fs.File, error) {
	if name != endlessName {
		return e.MapFS.Open(name)
	}
	f, err := e.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &endlessDir{File: f, handed: e.handed}, nil
}

func (e endless) ReadDir(string) ([]fs.DirEntry, error) {
	panic("the whole folder was asked for at once: nothing bounds it")
}

type endlessDir struct {
	fs.File
	handed *int
}

func (d *endlessDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		panic("the whole folder was asked for at once: nothing bounds it")
	}
	ents := make([]fs.DirEntry, n)
	for i := range ents {
		*d.handed++
		ents[i] = fs.FileInfoToDirEntry(dirent(fmt.Sprintf("setup-%09d.tmp", *d.handed)))
	}
	return ents, nil
}

type dirent string

func (d dirent) Name() string     { return string(d) }
func (dirent) Size() int64        { return 0 }
func (dirent) Mode() fs.FileMode  { return 0o644 }
func (dirent) ModTime() time.Time { return time.Time{} }
func (dirent) IsDir() bool        { return false }
func (dirent) Sys() any           { return nil }
func (d dirent) String() string   { return string(d) }

// A folder of endless entries: the enricher reads a bounded number,
// says so, and goes on to the next folder.
func TestHugeFolder(t *testing.T) {
	handed := 0
	fsys := endless{MapFS: fstest.MapFS{
		endlessName:                    {Mode: fs.ModeDir | 0o755},
		"Program Files/Next/avpui.exe": {Data: peHead()},
	}, handed: &handed}
	obs := []detect.Observation{app("Acme", `C:\Program Files\Acme`), app("Next", `C:\Program Files\Next`)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got []string
	err := New([]string{"avp.exe", "avpui.exe"}).Enrich(ctx, &host.Host{OS: host.Windows, FS: fsys}, obs, func(o detect.Observation) {
		got = append(got, o.Path)
	})
	checkWarnings(t, err, []string{`install folder C:\Program Files\Acme`, fmt.Sprintf("more than %d entries", maxEntries)})
	if handed > maxEntries+1 {
		t.Errorf("%d entries read, want at most %d", handed, maxEntries+1)
	}
	if len(got) != 1 || got[0] != `C:\Program Files\Next\avpui.exe` {
		t.Errorf("found %q, want the next folder's program", got)
	}
}

// unreadable is a filesystem on which some files cannot be opened, as
// files whose ACL shuts out the account that mounted the image.
type unreadable struct {
	fstest.MapFS
	denied map[string]bool
}

func (u unreadable) Open(name string) (fs.File, error) {
	if u.denied[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return u.MapFS.Open(name)
}

// A file that cannot be opened is a warning naming it; the folder's
// other programs and the other folders are still looked at.
func TestUnreadableFile(t *testing.T) {
	fsys := unreadable{MapFS: fstest.MapFS{
		"Program Files/Acme/avp.com":   {Data: peHead()},
		"Program Files/Acme/avp.exe":   {Data: peHead()},
		"Program Files/Acme/avpui.exe": {Data: peHead()},
		"Program Files/Other/avp.exe":  {Data: peHead()},
	}, denied: map[string]bool{"Program Files/Acme/avp.exe": true}}
	obs := []detect.Observation{app("Acme", `C:\Program Files\Acme`), app("Other", `C:\Program Files\Other`)}
	var got []string
	err := New([]string{"avp.exe", "avp.com", "avpui.exe"}).Enrich(context.Background(), &host.Host{OS: host.Windows, FS: fsys}, obs,
		func(o detect.Observation) { got = append(got, o.Path) })
	checkWarnings(t, err, []string{`install folder C:\Program Files\Acme: open Program Files/Acme/avp.exe: permission denied`})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("error %v does not keep its cause", err)
	}
	want := []string{`C:\Program Files\Acme\avp.com`, `C:\Program Files\Acme\avpui.exe`, `C:\Program Files\Other\avp.exe`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("found %q, want %q", got, want)
	}
}

// A cancelled scan stops the enricher with the context's error, not a
// warning that would leave the result looking complete.
func TestCancelled(t *testing.T) {
	fsys := fstest.MapFS{"Program Files/Acme/avp.exe": {Data: peHead()}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := New([]string{"avp.exe"}).Enrich(ctx, &host.Host{OS: host.Windows, FS: fsys},
		[]detect.Observation{app("Acme", `C:\Program Files\Acme`)}, func(o detect.Observation) { t.Errorf("emitted %+v", o) })
	if !errors.Is(err, context.Canceled) || detect.IsWarning(err) {
		t.Errorf("error %v, want the context's, not a warning", err)
	}
}
