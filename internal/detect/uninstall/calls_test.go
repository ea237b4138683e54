package uninstall

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
)

// readEntryAll is ReadEntry as it was before updates stopped being read
// past their ParentKeyName: every value, whatever the entry is.
func readEntryAll(k winreg.Key) (Entry, error) {
	var e Entry
	var errs []error
	text := func(name string) string {
		s, err := winreg.Text(k, name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	e.DisplayName = text("DisplayName")
	if e.DisplayName == "" {
		return e, errors.Join(errs...)
	}
	e.DisplayVersion = text("DisplayVersion")
	e.Publisher = text("Publisher")
	e.InstallLocation = text("InstallLocation")
	e.InstallDate = text("InstallDate")
	if e.InstallLocation == "" {
		e.DisplayIcon = text("DisplayIcon")
	}
	e.UninstallString = text("UninstallString")
	e.QuietUninstallString = text("QuietUninstallString")
	e.ParentKeyName = text("ParentKeyName")
	if n, err := winreg.Uint(k, "SystemComponent"); err == nil && n == 1 {
		e.SystemComponent = true
	}
	if e.InstallDate == "" && e.ParentKeyName == "" {
		e.ModTime, _ = k.ModTime()
	}
	return e, errors.Join(errs...)
}

// TestReadEntrySameObservations: every entry of the fixtures gives the
// observation (or none) that reading all its values gave.
func TestReadEntrySameObservations(t *testing.T) {
	for _, file := range []string{"testdata/host.reg", "testdata/peruser-wow64.reg"} {
		h := regHost(t, file)
		env := winpath.EnvFrom(h.Registry)
		roots := []uninstallRoot{
			{winreg.LocalMachine, `SOFTWARE\` + UninstallKey, winreg.View64},
			{winreg.LocalMachine, `SOFTWARE\` + UninstallKey, winreg.View32},
		}
		sids, _ := userHives(h.Registry)
		for _, sid := range sids {
			roots = append(roots, uninstallRoot{winreg.Users, sid + `\Software\` + UninstallKey, winreg.View64},
				uninstallRoot{winreg.Users, sid + `\Software\WOW6432Node\` + UninstallKey, winreg.View64})
		}
		n := 0
		for _, root := range roots {
			k, err := h.Registry.OpenKey(root.hive, root.path, root.view)
			if err != nil {
				continue
			}
			names, _ := k.SubKeyNames()
			for _, name := range names {
				ek, err := k.OpenSubKey(name)
				if err != nil {
					continue
				}
				n++
				old, oldErr := readEntryAll(ek)
				e, err := ReadEntry(ek)
				ek.Close()
				oo, ook := Observe(old, env)
				o, ok := Observe(e, env)
				if ok != ook || o != oo {
					t.Errorf("%s %s: observation %v %+v, reading every value gave %v %+v", file, name, ok, o, ook, oo)
				}
				if ok && fmt.Sprint(err) != fmt.Sprint(oldErr) {
					t.Errorf("%s %s: error %v, reading every value gave %v", file, name, err, oldErr)
				}
			}
			k.Close()
		}
		if n == 0 {
			t.Errorf("%s: no entries", file)
		}
	}
}

// TestRegistryCalls holds the source to its budget: per entry an open and
// one call per value it needs.
func TestRegistryCalls(t *testing.T) {
	const app = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\App%d]\n" +
		"\"DisplayName\"=\"Application %d\"\n\"Publisher\"=\"Vendor\"\n\"DisplayVersion\"=\"1.0\"\n" +
		"\"InstallLocation\"=\"C:\\\\Program Files\\\\Vendor\\\\App %d\"\n\"InstallDate\"=\"20240101\"\n" +
		"\"UninstallString\"=\"MsiExec.exe /X{%d}\"\n\n"
	// An update: its DisplayName and ParentKeyName are all that is read.
	const update = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\KB1]\n" +
		"\"DisplayName\"=\"Update\"\n\"ParentKeyName\"=\"App1\"\n\"Publisher\"=\"Vendor\"\n\"DisplayVersion\"=\"1.0\"\n\n"
	// No DisplayName: nothing else is read.
	const nameless = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Hidden]\n\"Publisher\"=\"Vendor\"\n\n"
	calls := func(apps int, extra string) int64 {
		t.Helper()
		var b strings.Builder
		b.WriteString("Windows Registry Editor Version 5.00\n\n")
		b.WriteString("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall]\n\n")
		for i := range apps {
			fmt.Fprintf(&b, app, i, i, i, i)
		}
		b.WriteString(extra)
		fake := winreg.NewFake()
		if err := fake.Import(strings.NewReader(b.String()), winreg.View64); err != nil {
			t.Fatal(err)
		}
		h := regHost(t, "testdata/host.reg")
		reg := winreg.NewCounter(fake)
		h.Registry = reg
		obs, err := collect(t, NewUninstall(), h)
		if err != nil {
			t.Fatal(err)
		}
		if want := apps + strings.Count(extra, "QuietUninstallString"); len(obs) != want {
			t.Fatalf("%d observations, want %d", len(obs), want)
		}
		return reg.Calls()
	}
	base := calls(0, "")
	// open; DisplayName, ParentKeyName, DisplayVersion, Publisher,
	// InstallLocation, InstallDate, UninstallString, SystemComponent.
	if got := calls(30, "") - base; got != 30*9 {
		t.Errorf("30 entries: %d registry calls, want %d", got, 30*9)
	}
	// An entry with its own uninstaller: its QuietUninstallString too.
	const own = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Own%d]\n" +
		"\"DisplayName\"=\"Own %d\"\n\"Publisher\"=\"Vendor\"\n\"DisplayVersion\"=\"1.0\"\n" +
		"\"InstallLocation\"=\"C:\\\\Program Files\\\\Own %d\"\n\"InstallDate\"=\"20240101\"\n" +
		"\"UninstallString\"=\"\\\"C:\\\\Program Files\\\\Own %d\\\\uninst.exe\\\"\"\n" +
		"\"QuietUninstallString\"=\"\\\"C:\\\\Program Files\\\\Own %d\\\\uninst.exe\\\" /S\"\n\n"
	var owns strings.Builder
	for i := range 10 {
		fmt.Fprintf(&owns, own, i, i, i, i, i)
	}
	if got := calls(0, owns.String()) - base; got != 10*10 {
		t.Errorf("10 entries with their own uninstaller: %d registry calls, want %d (one more each: QuietUninstallString)", got, 10*10)
	}
	if got := calls(0, update) - base; got != 3 {
		t.Errorf("an update: %d registry calls, want 3 (open, DisplayName, ParentKeyName)", got)
	}
	if got := calls(0, nameless) - base; got != 2 {
		t.Errorf("an entry without a name: %d registry calls, want 2 (open, DisplayName)", got)
	}
}
