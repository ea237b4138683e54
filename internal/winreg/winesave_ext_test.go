package winreg_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/winregtest"
)

// TestParseWineSave reads a key Wine saved (testdata/winesave) and
// compares it, key by key and value by value, with the .reg file it was
// imported from, read into a Fake: the two formats must say the same.
func TestParseWineSave(t *testing.T) {
	b, err := os.ReadFile("testdata/winesave/uninstall.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !winreg.IsWineSave(b) {
		t.Fatal("winreg.IsWineSave = false for a key Wine saved")
	}
	got, err := winreg.ParseWineSave(bytes.NewReader(b), `HKLM\Uninstall`)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := os.Open("testdata/winesave/uninstall.reg")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	f := winreg.NewFake()
	if err := f.Import(reg, winreg.View64); err != nil {
		t.Fatal(err)
	}
	want, err := f.OpenKey(winreg.LocalMachine, `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`, winreg.View64)
	if err != nil {
		t.Fatal(err)
	}
	winregtest.Same(t, `HKLM\Uninstall`, got, want, false)

	kes, err := got.OpenSubKey("{7A4192A1-84C4-4E90-A31B-B4847CA8E23A}")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"DisplayName":            "Kaspersky Endpoint Security for Windows",
		"Unicode":                "Лаборатория Касперского – ü ☃ 1",
		`Quote "and" back\slash`: "tab\there \"q\" back\\",
		"DisplayIcon":            `%ProgramFiles%\a.exe`,
		"":                       "default value",
	} {
		if s, err := winreg.String(kes, name); s != want || err != nil {
			t.Errorf("%q = %q, %v; want %q", name, s, err, want)
		}
	}
	if n, err := winreg.Uint(kes, "EstimatedSize"); n != 0x7a120 || err != nil {
		t.Errorf("EstimatedSize = %d, %v", n, err)
	}
	mt, err := kes.ModTime()
	if err != nil || mt.Year() != 2026 {
		t.Errorf("ModTime = %v, %v; want the #time of the save, in 2026", mt, err)
	}
}
