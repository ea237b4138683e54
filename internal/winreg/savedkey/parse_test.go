//go:build !windows

// The hive writer (hivexregedit) runs on Linux; the Windows build of these
// tests, run under Wine, reads this machine's registry instead.

package savedkey

import (
	"bytes"
	"os"
	"testing"

	"github.com/avscout/avscout/internal/winreg"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
	"github.com/avscout/avscout/internal/winreg/winregtest"
)

// Both formats a key is saved in read as the .reg file it came from: the
// key Wine saved (its text), and the same entries written as a hive by an
// independent hive writer (hivexregedit), as Windows saves it.
func TestParseBothFormats(t *testing.T) {
	const key = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
	f := winreg.NewFake()
	if err := f.Import(bytes.NewReader([]byte(uninstallReg(t))), winreg.View64); err != nil {
		t.Fatal(err)
	}
	want, err := f.OpenKey(winreg.LocalMachine, key, winreg.View64)
	if err != nil {
		t.Fatal(err)
	}

	wine, err := os.ReadFile("../testdata/winesave/uninstall.txt")
	if err != nil {
		t.Fatal(err)
	}
	hive, err := os.ReadFile(regftest.Hive(t, `HKEY_LOCAL_MACHINE\`+key, uninstallReg(t)))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"Wine text": wine, "hive": hive} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(b, `HKLM\`+key)
			if err != nil {
				t.Fatal(err)
			}
			winregtest.Same(t, `HKLM\`+key, got, want, false)
		})
	}
	if _, err := Parse([]byte("Windows Registry Editor Version 5.00\n"), "K"); err == nil {
		t.Error("a .reg export parsed as a saved key")
	}
}
