package winpath

import (
	"testing"
	"testing/fstest"
)

func TestProgram(t *testing.T) {
	for in, want := range map[string]string{
		`"C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe" -r`: `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`,
		`C:\Program Files\Hearthward\avp.exe -r`:                       `C:\Program Files\Hearthward\avp.exe`,
		`C:\Windows\system32\svchost.exe -k netsvcs -p`:                `C:\Windows\system32\svchost.exe`,
		`system32\DRIVERS\klif.sys`:                                    `system32\DRIVERS\klif.sys`,
		`MsiExec.exe /X{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`:         `MsiExec.exe`,
		`C:\Windows\System32\shell32.dll,5`:                            `C:\Windows\System32\shell32.dll`,
		`"unterminated`:                                                `unterminated`,
		`noext arg`:                                                    `noext`,
		`  `:                                                           ``,
		// Letters whose lower case is longer or shorter in UTF-8 must not
		// shift the cut (this once panicked: index out of range).
		`Ⱥ.exe`:                    `Ⱥ.exe`,
		`C:\Ⱥȿ\İnstall\app.EXE -x`: `C:\Ⱥȿ\İnstall\app.EXE`,
	} {
		if got := Program(in); got != want {
			t.Errorf("Program(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	env := Env{SystemRoot: `C:\windows`}
	for in, want := range map[string]string{
		`\SystemRoot\System32\drivers\klif.sys`:     `C:\windows\System32\drivers\klif.sys`,
		`System32\drivers\klif.sys`:                 `C:\windows\System32\drivers\klif.sys`,
		`\??\C:\Program Files\X\x.sys`:              `C:\Program Files\X\x.sys`,
		`%SystemRoot%\system32\svchost.exe`:         `C:\windows\system32\svchost.exe`,
		`%windir%\x.exe`:                            `C:\windows\x.exe`,
		`%ProgramFiles(x86)%\Kaspersky Lab\avp.exe`: `C:\Program Files (x86)\Kaspersky Lab\avp.exe`,
		`%ProgramData%\Kaspersky Lab`:               `C:\ProgramData\Kaspersky Lab`,
		`%CommonProgramFiles(x86)%\x.dll`:           `C:\Program Files (x86)\Common Files\x.dll`,
		`%CommonProgramW6432%\x.dll`:                `C:\Program Files\Common Files\x.dll`,
		`%Unknown%\x.exe`:                           `C:\windows\%Unknown%\x.exe`,
		`\Windows\x.sys`:                            `C:\Windows\x.sys`,
		`"D:\Apps\x.exe"`:                           `D:\Apps\x.exe`,
		`\\server\share\x.exe`:                      `\\server\share\x.exe`,
		`C:/Program Files/x.exe`:                    `C:\Program Files\x.exe`,
		``:                                          ``,
		`\SystemRoot`:                               `C:\windows`,
		`%SystemRoot%\%SystemRoot%`:                 `C:\windows\C:\windows`,
		`50%`:                                       `C:\windows\50%`,
	} {
		if got := Resolve(in, env); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Resolve(`%ProgramFiles%\x`, Env{}); got != `C:\Program Files\x` {
		t.Errorf("defaults: %q", got)
	}
}

func TestDirBaseWithin(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Program Files\Hearthward\avp.exe`: `C:\Program Files\Hearthward`,
		`C:\Program Files\Hearthward\`:        `C:\Program Files`,
		`C:\x.exe`:                            `C:\`,
		`x.exe`:                               ``,
	} {
		if got := Dir(in); got != want {
			t.Errorf("Dir(%q) = %q, want %q", in, got, want)
		}
	}
	if Base(`C:\a\b.exe`) != "b.exe" || Base(`b.exe`) != "b.exe" {
		t.Error("Base")
	}
	if !Within(`c:\windows\System32\x`, `C:\Windows\`) || Within(`C:\WindowsApps`, `C:\Windows`) || !Within(`C:\Windows`, `C:\windows`) {
		t.Error("Within")
	}
}

func TestChecker(t *testing.T) {
	fsys := fstest.MapFS{
		"Windows/System32/drivers/klif.sys": {},
		"Program Files/Hearthward/avp.exe":  {},
	}
	c := NewChecker(fsys, "c:")
	for p, want := range map[string][2]bool{
		`C:\windows\system32\DRIVERS\klif.sys`:  {true, true},
		`C:\Windows\System32\drivers\klhk.sys`:  {false, true},
		`C:\Program Files\Hearthward\`:          {true, true},
		`C:\Program Files\Other\x.exe`:          {false, true},
		`C:\Program Files\Hearthward\avp.exe\x`: {false, false}, // a file used as a folder
		`D:\Program Files\Hearthward\avp.exe`:   {false, false},
		`\\server\share\x.exe`:                  {false, false},
		`C:\`:                                   {true, true},
	} {
		exists, known := c.Exists(p)
		if [2]bool{exists, known} != want {
			t.Errorf("Exists(%q) = %v, %v; want %v", p, exists, known, want)
		}
	}
	if _, known := NewChecker(nil, "C:").Exists(`C:\x`); known {
		t.Error("no filesystem, yet known")
	}
}
