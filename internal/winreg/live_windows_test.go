package winreg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The live registry and the fake read the same .reg file alike: reg.exe
// imports it into this machine's registry (under Wine on Linux, see
// scripts/go_windows_amd64_exec) in both views and HKCU, and every key and
// value is compared with the fake's.
func TestLiveMatchesFake(t *testing.T) {
	root := fmt.Sprintf(`SOFTWARE\avscout-test-%d`, os.Getpid())
	text := strings.NewReplacer("ROOT", root).Replace(`Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\ROOT\App]
"DisplayName"="Kaspersky Endpoint Security for Windows"
"Quoted"="a \"b\" \\c"
"Expand"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,74,\
  00,25,00,00,00
"Multi"=hex(7):61,00,00,00,62,00,00,00,00,00
"Dword"=dword:0000002a
"Qword"=hex(b):01,00,00,00,00,00,00,01
"Binary"=hex:00,ff
@="default"

[HKEY_LOCAL_MACHINE\ROOT\App\Sub1]

[HKEY_LOCAL_MACHINE\ROOT\App\Sub2]

[HKEY_CURRENT_USER\ROOT\User]
"DisplayName"="per user"
`)
	// Not t.TempDir: Go's RemoveAll fails under Wine 8 ("unlinkat …:
	// Invalid function"), which would fail the test.
	file := filepath.Join(os.TempDir(), fmt.Sprintf("avscout-winreg-%d.reg", os.Getpid()))
	if err := os.WriteFile(file, utf16File(text), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	for _, args := range [][]string{{"import", file, "/reg:64"}, {"import", file, "/reg:32"}} {
		if out, err := exec.Command("reg", args...).CombinedOutput(); err != nil {
			t.Skipf("reg %v: %v %s (HKLM needs an elevated prompt)", args, err, out)
		}
	}
	t.Cleanup(func() {
		for _, k := range []string{`HKLM\` + root, `HKLM\` + Redirect(LocalMachine, root, View32), `HKCU\` + root} {
			// A key the test never created is not there to delete.
			_ = exec.Command("reg", "delete", k, "/f").Run()
		}
	})

	fake := NewFake()
	for _, v := range []View{View64, View32} {
		if err := fake.Import(strings.NewReader(text), v); err != nil {
			t.Fatal(err)
		}
	}
	live := Live()
	for _, c := range []struct {
		hive Hive
		path string
		view View
	}{
		{LocalMachine, root + `\App`, View64},
		{LocalMachine, root + `\App`, View32},
		{LocalMachine, Redirect(LocalMachine, root+`\App`, View32), View64},
		{CurrentUser, root + `\User`, View64},
	} {
		name := Name(c.hive, c.path, c.view)
		lk, err := live.OpenKey(c.hive, c.path, c.view)
		if err != nil {
			t.Errorf("live %s: %v", name, err)
			continue
		}
		fk, err := fake.OpenKey(c.hive, c.path, c.view)
		if err != nil {
			t.Fatal(err)
		}
		ln, _ := lk.ValueNames()
		fn, _ := fk.ValueNames()
		slices.SortFunc(ln, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		if !slices.Equal(ln, fn) {
			t.Errorf("%s values: live %q, fake %q", name, ln, fn)
		}
		for _, v := range fn {
			lv, lerr := lk.Value(v)
			fv, _ := fk.Value(v)
			if lerr != nil || lv.Type != fv.Type || !bytes.Equal(lv.Data, fv.Data) {
				t.Errorf("%s value %q: live %v %v (%v), fake %v %v", name, v, lv.Type, lv.Data, lerr, fv.Type, fv.Data)
			}
		}
		ls, _ := lk.SubKeyNames()
		fs, _ := fk.SubKeyNames()
		slices.Sort(ls)
		if !slices.Equal(ls, fs) {
			t.Errorf("%s subkeys: live %q, fake %q", name, ls, fs)
		}
		if mt, err := lk.ModTime(); err != nil || time.Since(mt) > time.Hour || time.Until(mt) > time.Hour {
			t.Errorf("%s last write %v, %v: want about now", name, mt, err)
		}
		if _, err := lk.Value("Missing"); !errors.Is(err, ErrNotExist) {
			t.Errorf("%s missing value: %v", name, err)
		}
		lk.Close()
		fk.Close()
	}
	if _, err := live.OpenKey(LocalMachine, root+`\Nothing`, View64); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing key: %v", err)
	}
	// A subkey opened from its parent is in the parent's view.
	for _, c := range []struct {
		hive Hive
		view View
		sub  string
	}{{LocalMachine, View64, "App"}, {LocalMachine, View32, "App"}, {CurrentUser, View64, "User"}} {
		pk, err := live.OpenKey(c.hive, root, c.view)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := pk.OpenSubKey(c.sub)
		fk, _ := fake.OpenKey(c.hive, root+`\`+c.sub, c.view)
		if err != nil {
			t.Errorf("%s: open %s from its parent: %v", Name(c.hive, root, c.view), c.sub, err)
		} else {
			ls, _ := String(sk, "DisplayName")
			fs, _ := String(fk, "DisplayName")
			if ls != fs {
				t.Errorf("%s\\%s DisplayName %q, want %q", Name(c.hive, root, c.view), c.sub, ls, fs)
			}
			sk.Close()
		}
		if _, err := pk.OpenSubKey("Nothing"); !errors.Is(err, ErrNotExist) {
			t.Errorf("missing subkey: %v", err)
		}
		pk.Close()
	}
	// HKEY_USERS lists the loaded user hives.
	k, err := live.OpenKey(Users, "", View64)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if sids, err := k.SubKeyNames(); err != nil || len(sids) == 0 {
		t.Errorf("HKU subkeys %v, %v", sids, err)
	}
}
