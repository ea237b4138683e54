package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// A hive that opens but whose cells are broken further in — here the
// DisplayName of the one uninstall entry that names a restricted product — must
// not let a scan say compliant: the sources that met the damage fail,
// naming the hive, and the verdict is incomplete. Live, one unreadable
// entry is a warning (a key a product's self-defence denies); offline, a
// corrupt hive could hide any number of entries.
func TestOfflineCorruptCells(t *testing.T) {
	const software = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Enterprise"
"CurrentBuild"="19045"
"SystemRoot"="C:\\Windows"

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\AVP21.3]
"DisplayName"="Kaspersky Total Security"
"Publisher"="AO Kaspersky Lab"
"DisplayVersion"="21.3.10.391"

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\7-Zip]
"DisplayName"="7-Zip 23.01"
"Publisher"="Igor Pavlov"
`
	const system = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\Select]
"Current"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\ComputerName\ComputerName]
"ComputerName"="FINANCE-PC-07"
`
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sw := []byte(read(regftest.Hive(t, regftest.SoftwarePrefix, software)))
	// The data cell of the entry's DisplayName: make its size positive,
	// as an unallocated cell's is.
	name := []byte(string(utf16le("Kaspersky Total Security")))
	at := bytes.Index(sw, name)
	if at < 4 || int32(binary.LittleEndian.Uint32(sw[at-4:])) >= 0 {
		t.Fatalf("no allocated cell holding the DisplayName in the hive hivex wrote")
	}
	binary.LittleEndian.PutUint32(sw[at-4:], uint32(-int32(binary.LittleEndian.Uint32(sw[at-4:]))))

	h := windowsRoot(t, map[string]string{
		"Windows/System32/config/SOFTWARE": string(sw),
		"Windows/System32/config/SYSTEM":   read(regftest.Hive(t, regftest.SystemPrefix, system)),
	})
	r := offlineScan(t, h, nil)
	s := sourceOf(r, "uninstall")
	if s.Status != "error" || !strings.Contains(s.Error, "Windows/System32/config/SOFTWARE") || !strings.Contains(s.Error, "corrupt hive") ||
		strings.Count(s.Error, "uninstall:") != 1 {
		t.Errorf("uninstall: %s %q %q, want an error naming the corrupt hive", s.Status, s.Error, s.Warnings)
	}
	if r.Verdict != report.VerdictIncomplete || r.Compliant {
		t.Errorf("verdict %s, want incomplete", r.Verdict)
	}
	if sourceOf(r, "services").Status != "ok" {
		t.Errorf("services: %+v, want ok: SYSTEM is sound", sourceOf(r, "services"))
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// A hive that cannot be read fails the sources that read it, but they
// still read the hives that could be: a restricted product found there
// makes the verdict non-compliant, as on a live host where a source
// failed after seeing one.
func TestOfflineBrokenHiveKeepsWhatTheOthersShow(t *testing.T) {
	h := windowsRoot(t, map[string]string{
		"Windows/System32/config/SOFTWARE": softwareReg, // Kaspersky Total Security, in HKLM
		"Windows/System32/config/SYSTEM":   "Windows Registry Editor Version 5.00\n",
		"Users/alice/NTUSER.DAT":           "corrupt",
	})
	r := offlineScan(t, h, regTextHive(""))
	for _, name := range []string{"uninstall", "vendorkeys"} {
		if s := sourceOf(r, name); s.Status != "error" || !strings.Contains(s.Error, "Users/alice/NTUSER.DAT") {
			t.Errorf("%s: %s %q, want an error naming the broken hive", name, s.Status, s.Error)
		}
	}
	if r.Verdict != report.VerdictNonCompliant || len(r.Products) != 1 || r.Products[0].Name != "Kaspersky Total Security" {
		t.Errorf("verdict %s, products %+v: want Kaspersky Total Security found in HKLM", r.Verdict, r.Products)
	}
}

// A corrupt key node among SOFTWARE's subkeys, ahead of where a vendor's
// key would be, makes looking that key up fail. Live, a key that exists
// but cannot be opened is a product's self-defence; offline it is the
// hive's damage, and no vendor's key may be reported from it.
func TestOfflineCorruptSibling(t *testing.T) {
	const software = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Igor Pavlov\7-Zip]
"Path"="C:\\Program Files\\7-Zip\\"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Enterprise"
"CurrentBuild"="19045"
`
	sw, err := os.ReadFile(regftest.Hive(t, regftest.SoftwarePrefix, software))
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(sw, []byte("Igor Pavlov"))
	if at < 80 || string(sw[at-76:at-74]) != "nk" {
		t.Fatalf("no key node named Igor Pavlov in the hive hivex wrote")
	}
	copy(sw[at-76:], "xx")
	sys, err := os.ReadFile(regftest.Hive(t, regftest.SystemPrefix, "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := offlineScan(t, windowsRoot(t, map[string]string{
		"Windows/System32/config/SOFTWARE": string(sw),
		"Windows/System32/config/SYSTEM":   string(sys),
	}), nil)
	if len(r.Products) != 0 {
		t.Errorf("a corrupt hive reported products: %+v", r.Products)
	}
	if s := sourceOf(r, "vendorkeys"); s.Status != "error" || !strings.Contains(s.Error, "corrupt hive") {
		t.Errorf("vendorkeys: %s %q, want an error saying the hive is corrupt", s.Status, s.Error)
	}
	if r.Verdict != report.VerdictIncomplete {
		t.Errorf("verdict %s, want incomplete", r.Verdict)
	}
}

// endlessUsers is a root whose Users folder lists profile folders
// without end; handed counts them.
type endlessUsers struct {
	fstest.MapFS
	handed *int
}

// profile says whether name is one of the listed profile folders, which
// are empty.
func profile(name string) (profileDir, bool) {
	rest, ok := strings.CutPrefix(name, "Users/user")
	return profileDir(strings.TrimPrefix(name, "Users/")), ok && !strings.Contains(rest, "/")
}

func (e endlessUsers) Stat(name string) (fs.FileInfo, error) {
	if p, ok := profile(name); ok {
		return p, nil
	}
	return e.MapFS.Stat(name)
}

func (e endlessUsers) Lstat(name string) (fs.FileInfo, error) { return e.Stat(name) }

func (endlessUsers) ReadDir(string) ([]fs.DirEntry, error) {
	panic("the whole Users folder was asked for at once: nothing bounds it")
}

func (e endlessUsers) Open(name string) (fs.File, error) {
	if p, ok := profile(name); ok {
		return emptyDir{p}, nil
	}
	f, err := e.MapFS.Open(name)
	if err != nil || name != "Users" {
		return f, err
	}
	return &endlessProfiles{File: f, handed: e.handed}, nil
}

type endlessProfiles struct {
	fs.File
	handed *int
}

func (d *endlessProfiles) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		panic("the whole Users folder was asked for at once: nothing bounds it")
	}
	ents := make([]fs.DirEntry, n)
	for i := range ents {
		*d.handed++
		ents[i] = fs.FileInfoToDirEntry(profileDir(fmt.Sprintf("user%07d", *d.handed)))
	}
	return ents, nil
}

type emptyDir struct{ profileDir }

func (d emptyDir) Stat() (fs.FileInfo, error)       { return d.profileDir, nil }
func (emptyDir) Read([]byte) (int, error)           { return 0, io.EOF }
func (emptyDir) Close() error                       { return nil }
func (emptyDir) ReadDir(int) ([]fs.DirEntry, error) { return nil, io.EOF }

type profileDir string

func (p profileDir) Name() string     { return string(p) }
func (profileDir) Size() int64        { return 0 }
func (profileDir) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (profileDir) ModTime() time.Time { return time.Time{} }
func (profileDir) IsDir() bool        { return true }
func (profileDir) Sys() any           { return nil }

// A Users folder of endless profiles: a bounded number is read, and the
// user hives fail, naming the folder.
func TestOfflineEndlessUsers(t *testing.T) {
	handed := 0
	fsys := endlessUsers{MapFS: fstest.MapFS{"Users": {Mode: fs.ModeDir | 0o755}}, handed: &handed}
	reg, closers := OpenOffline(context.Background(), fsys, regTextHive(""))
	if len(closers) != 0 {
		t.Errorf("%d hives opened, want none", len(closers))
	}
	if handed > maxProfiles+256 {
		t.Errorf("%d profiles read, want at most %d", handed, maxProfiles+256)
	}
	failed, _ := reg.Check(winreg.HiveUsers)
	if failed == nil || !strings.Contains(failed.Error(), fmt.Sprintf("more than %d entries", maxProfiles)) {
		t.Errorf("Check(users): %v, want the Users folder's bound", failed)
	}
}
