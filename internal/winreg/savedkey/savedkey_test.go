package savedkey

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/winregtest"
)

// uninstallReg is the .reg text behind ../testdata/winesave: Wine saved
// its key as uninstall.txt.
func uninstallReg(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/winesave/uninstall.reg")
	if err != nil {
		t.Fatal(err)
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 2; i+1 < len(b); i += 2 { // after the BOM
		u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
	}
	return string(utf16.Decode(u))
}

// A registry that cannot save keys is read key by key.
func TestOpenTreeFallsBack(t *testing.T) {
	f := winreg.NewFake()
	if err := f.Import(bytes.NewReader([]byte(uninstallReg(t))), winreg.View64); err != nil {
		t.Fatal(err)
	}
	const key = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
	if _, err := Open(f, winreg.LocalMachine, key, winreg.View64); err != ErrNotSaver {
		t.Errorf("Open of a Fake: %v, want ErrNotSaver", err)
	}
	k, err := OpenTree(f, winreg.LocalMachine, key, winreg.View64)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.OpenKey(winreg.LocalMachine, key, winreg.View64)
	winregtest.Same(t, key, k, want, true)
}

// savingFake is a Fake that hands out a fixed saved copy, as Wine's
// RegSaveKey would have written it, or an error; it fails the test when
// asked for a copy it should not be asked for.
type savingFake struct {
	*winreg.Fake
	t    *testing.T
	copy []byte
	err  error
}

func (s savingFake) Save(hive winreg.Hive, path string, view winreg.View) ([]byte, error) {
	if hive != winreg.LocalMachine {
		s.t.Errorf("saved %s: a user's hive is never saved", winreg.Name(hive, path, view))
	}
	return s.copy, s.err
}

func TestOpenTree(t *testing.T) {
	const key = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
	const kes = "{7A4192A1-84C4-4E90-A31B-B4847CA8E23A}"
	wine, err := os.ReadFile("../testdata/winesave/uninstall.txt")
	if err != nil {
		t.Fatal(err)
	}
	live := func() *winreg.Fake {
		f := winreg.NewFake()
		if err := f.Import(bytes.NewReader([]byte(uninstallReg(t))), winreg.View64); err != nil {
			t.Fatal(err)
		}
		// Changed since the copy was made: the copy is what is read.
		f.Set(winreg.LocalMachine, key+`\`+kes, winreg.View64, "DisplayVersion", winreg.Value{Type: winreg.SZ, Data: utf16z("live")})
		return f
	}
	version := func(k winreg.Key) string {
		sub, err := k.OpenSubKey(kes)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := winreg.String(sub, "DisplayVersion")
		return s
	}

	t.Run("the copy when it is complete", func(t *testing.T) {
		k, err := OpenTree(savingFake{live(), t, wine, nil}, winreg.LocalMachine, key, winreg.View64)
		if err != nil {
			t.Fatal(err)
		}
		if v := version(k); v != "12.1.0.506" {
			t.Errorf("DisplayVersion %q, want the copy's", v)
		}
	})
	t.Run("a volatile subkey the copy lacks is read live", func(t *testing.T) {
		f := live()
		f.Set(winreg.LocalMachine, key+`\Volatile`, winreg.View64, "DisplayName", winreg.Value{Type: winreg.SZ, Data: utf16z("Volatile AV")})
		k, err := OpenTree(savingFake{f, t, wine, nil}, winreg.LocalMachine, key, winreg.View64)
		if err != nil {
			t.Fatal(err)
		}
		names, _ := k.SubKeyNames()
		if !slices.Contains(names, "Volatile") {
			t.Fatalf("subkeys %q: no Volatile", names)
		}
		sub, err := k.OpenSubKey("Volatile")
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := winreg.String(sub, "DisplayName"); s != "Volatile AV" {
			t.Errorf("Volatile DisplayName %q", s)
		}
		if v := version(k); v != "12.1.0.506" {
			t.Errorf("DisplayVersion %q, want the copy's for a subkey it has", v)
		}
	})
	for name, sf := range map[string]savingFake{
		"a failed save":  {err: errors.New("privilege not held")},
		"a corrupt copy": {copy: []byte("WINE REGISTRY Version 2\n[a\n")},
		"a hive cut off": {copy: []byte("regf")},
	} {
		t.Run(name+" is read live", func(t *testing.T) {
			sf.Fake, sf.t = live(), t
			k, err := OpenTree(sf, winreg.LocalMachine, key, winreg.View64)
			if err != nil {
				t.Fatal(err)
			}
			if v := version(k); v != "live" {
				t.Errorf("DisplayVersion %q, want the live one", v)
			}
		})
	}
	t.Run("a user's hive is read live", func(t *testing.T) {
		f := live()
		f.Set(winreg.Users, `S-1-5-21-1\Software\X`, winreg.View64, "a", winreg.Value{Type: winreg.SZ, Data: utf16z("b")})
		if _, err := OpenTree(savingFake{f, t, wine, nil}, winreg.Users, `S-1-5-21-1\Software`, winreg.View64); err != nil {
			t.Fatal(err)
		}
	})
}

func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return append(b, 0, 0)
}
