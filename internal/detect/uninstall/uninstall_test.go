package uninstall

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/detecttest"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/winpath"
	"github.com/avscout/avscout/internal/winreg"
)

// fixtureHost is a live-looking Windows host whose registry is the fake
// loaded from testdata/host.reg, and whose system drive holds the KES
// folder only.
func fixtureHost(t *testing.T) (*host.Host, *winreg.Fake) {
	t.Helper()
	fsys := fstest.MapFS{
		"Program Files (x86)/Kaspersky Lab/KES.12.1.0/avp.exe": {},
		"Windows/System32/drivers/klif.sys":                    {},
	}
	return detecttest.RegistryHost(t, "testdata/host.reg", fsys, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
}

// regHost is a live-looking Windows host with an empty system drive and
// the registry of the .reg file.
func regHost(t *testing.T, file string) *host.Host {
	t.Helper()
	h, _ := detecttest.RegistryHost(t, file, fstest.MapFS{}, time.Time{})
	return h
}

func collect(t *testing.T, src detect.Source, h *host.Host) ([]detect.Observation, error) {
	t.Helper()
	return detecttest.Collect(t, src, h)
}

func byName(obs []detect.Observation) map[string]detect.Observation {
	m := map[string]detect.Observation{}
	for _, o := range obs {
		m[o.Name] = o
	}
	return m
}

func TestUninstall(t *testing.T) {
	h, _ := fixtureHost(t)
	obs, err := collect(t, NewUninstall(), h)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(obs)
	if len(obs) != 6 {
		for _, o := range obs {
			t.Logf("%+v", o)
		}
		t.Fatalf("%d observations, want 6 (KES once, Network Agent, Hearthward, hidden, odd, VPN)", len(obs))
	}
	kes := got["{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}"]
	want := detect.Observation{
		Kind: detect.KindApp, Status: detect.Installed,
		Name:     "{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}",
		Display:  "Kaspersky Endpoint Security for Windows",
		Version:  "12.1.0.506",
		Vendor:   "AO Kaspersky Lab",
		Path:     `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\`,
		Location: `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`,
		Detail:   "Kaspersky Endpoint Security for Windows 12.1.0.506 (AO Kaspersky Lab), installed 2024-01-15, uninstall: MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}",

		UninstallCommand: "MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}",
	}
	if kes != want {
		t.Errorf("KES\n got %+v\nwant %+v", kes, want)
	}
	na := got["{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}"]
	if na.Location != `HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}` ||
		na.Path != `C:\Program Files (x86)\Kaspersky Lab\NetworkAgent` {
		t.Errorf("Network Agent (32-bit view, folder of its icon): %+v", na)
	}
	if !strings.Contains(na.Detail, "entry written 2024-03-01") {
		t.Errorf("no InstallDate: the key's last write should show: %q", na.Detail)
	}
	if sn := got["Hearthward Home Guard"]; sn.Path != `C:\Program Files\Hearthward` || sn.Vendor != "Hearthward Labs" {
		t.Errorf("Hearthward (folder of its uninstaller): %+v", sn)
	}
	if hc := got["{11111111-2222-3333-4444-555555555555}"]; hc.Path != "" || !strings.Contains(hc.Detail, "hidden (SystemComponent)") {
		t.Errorf("hidden component: %+v (System32 is no install folder)", hc)
	}
	if odd := got["Odd"]; odd.Version != "7" || odd.Path != "" {
		t.Errorf("odd types: %+v", odd)
	}
	vpn := got["KasperskyVPN"]
	if vpn.Location != `HKU\S-1-5-21-0-0-0-1000\Software\Microsoft\Windows\CurrentVersion\Uninstall\KasperskyVPN` ||
		vpn.Path != `C:\Users\alice\AppData\Local\Programs\Kaspersky VPN` {
		t.Errorf("per-user entry: %+v", vpn)
	}
	for _, skipped := range []string{"NoName", "KB123456", "NotAUser"} {
		if _, ok := got[skipped]; ok {
			t.Errorf("%s was reported", skipped)
		}
	}
}

func TestUninstallBadValues(t *testing.T) {
	h, reg := fixtureHost(t)
	key := `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Huge`
	reg.Set(winreg.LocalMachine, key, winreg.View64, "DisplayName", winreg.Value{Type: winreg.SZ, Data: []byte("B\x00i\x00g\x00\x00\x00")})
	reg.Set(winreg.LocalMachine, key, winreg.View64, "Publisher", winreg.Value{Type: winreg.SZ, Data: make([]byte, winreg.MaxValueSize+2)})
	reg.Set(winreg.LocalMachine, key, winreg.View64, "DisplayVersion", winreg.Value{Type: winreg.SZ, Data: []byte(strings.Repeat("9\x00", 4000))})
	obs, err := collect(t, NewUninstall(), h)
	if err == nil || !errors.Is(err, winreg.ErrTooLarge) || !strings.Contains(err.Error(), `Uninstall\Huge value "Publisher"`) {
		t.Errorf("error %v: want the huge value named", err)
	}
	o, ok := byName(obs)["Huge"]
	if !ok || o.Display != "Big" || o.Vendor != "" || len(o.Version) > winreg.MaxText+len("…") {
		t.Errorf("entry with a huge value: %+v, reported %v", o, ok)
	}
	if len(obs) != 7 {
		t.Errorf("%d observations: the other entries must still be reported", len(obs))
	}
}

func TestUninstallUnavailable(t *testing.T) {
	_, err := collect(t, NewUninstall(), &host.Host{OS: host.Windows})
	if !errors.Is(err, detect.ErrUnavailable) {
		t.Errorf("no registry: %v", err)
	}
}

func TestInstallDir(t *testing.T) {
	env := winpath.Env{SystemRoot: `C:\Windows`}
	for _, tt := range []struct {
		e    Entry
		want string
	}{
		{Entry{InstallLocation: `"C:\Program Files\Vendor\App"`}, `C:\Program Files\Vendor\App`},
		{Entry{InstallLocation: `%ProgramFiles%\Vendor`}, `C:\Program Files\Vendor`},
		{Entry{InstallLocation: `C:\Program Files`}, ""},
		{Entry{InstallLocation: `C:\Program Files (x86)\`}, ""},
		{Entry{InstallLocation: `C:\ProgramData`}, ""},
		{Entry{InstallLocation: `C:\Program Files\Common Files`}, ""},
		{Entry{InstallLocation: `C:\Windows\System32`}, ""},
		{Entry{InstallLocation: `C:\`}, ""},
		{Entry{InstallLocation: `D:\Games\X`}, `D:\Games\X`},
		{Entry{InstallLocation: `C:\Users\bob`}, ""},
		{Entry{InstallLocation: `C:\Users\bob\AppData\Local`}, ""},
		{Entry{InstallLocation: `C:\Users\bob\AppData\Local\Programs`}, ""},
		{Entry{InstallLocation: `relative\dir`}, ""},
		{Entry{DisplayIcon: `C:\Program Files\Vendor\app.exe,0`}, `C:\Program Files\Vendor`},
		{Entry{DisplayIcon: `C:\Windows\System32\shell32.dll,5`, UninstallString: `"C:\Program Files\V\u.exe" /S`}, `C:\Program Files\V`},
		{Entry{UninstallString: `MsiExec.exe /X{GUID}`}, ""},
		{Entry{UninstallString: `rundll32.exe C:\Program Files\V\x.dll,Uninstall`}, ""},
		{Entry{UninstallString: `C:\Windows\unins000.exe`}, ""},
		{Entry{UninstallString: `uninstall.exe`}, ""},
	} {
		if got := InstallDir(tt.e, env); got != tt.want {
			t.Errorf("InstallDir(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// deniedRegistry refuses to open one key, as a product's self-defence may.
type deniedRegistry struct {
	winreg.Registry
	path string
}

func (d deniedRegistry) OpenKey(h winreg.Hive, p string, v winreg.View) (winreg.Key, error) {
	if strings.EqualFold(p, d.path) {
		return nil, errors.New("open HKLM\\" + p + ": Access is denied.")
	}
	return d.Registry.OpenKey(h, p, v)
}

// Entries under a user's Software\WOW6432Node are read too, and one that
// is in both of the user's keys is reported once.
func TestUninstallPerUser32Bit(t *testing.T) {
	h := regHost(t, "testdata/peruser-wow64.reg")
	obs, err := collect(t, NewUninstall(), h)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 2 {
		t.Fatalf("%d observations, want 2: %+v", len(obs), obs)
	}
	kpm := byName(obs)["Kaspersky Password Manager"]
	if kpm.Location != `HKU\S-1-5-21-0-0-0-1000\Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\Kaspersky Password Manager` ||
		kpm.Version != "24.0.0.427" || kpm.Path != `C:\Users\alice\AppData\Local\Kaspersky Lab\Kaspersky Password Manager 24.0` {
		t.Errorf("per-user 32-bit entry: %+v", kpm)
	}
	if tw := byName(obs)["Twice"]; !strings.HasPrefix(tw.Location, `HKU\S-1-5-21-0-0-0-1000\Software\Microsoft\`) {
		t.Errorf("an entry in both keys is reported from the first: %+v", tw)
	}
}

// A denied uninstall entry is a warning: the source saw the others.
// A denied Uninstall key itself fails the source.
func TestDeniedEntriesAreWarnings(t *testing.T) {
	h, reg := fixtureHost(t)
	entries := `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
	names := subKeys(t, reg, entries)
	if len(names) < 2 {
		t.Fatalf("the fixture has %d uninstall entries, want at least 2", len(names))
	}
	h.Registry = deniedSubKey{reg, names[0]}
	obs, err := collect(t, NewUninstall(), h)
	if err == nil || !detect.IsWarning(err) || !strings.Contains(err.Error(), "Access is denied") || len(obs) == 0 {
		t.Errorf("one denied uninstall entry: %d observations, %v; want the others and a warning", len(obs), err)
	}

	h.Registry = deniedRegistry{reg, entries}
	if _, err := collect(t, NewUninstall(), h); err == nil || detect.IsWarning(err) {
		t.Errorf("denied Uninstall key: %v; want the source's failure", err)
	}
}

// subKeys lists the subkeys of an HKLM key of the 64-bit view.
func subKeys(t *testing.T, r winreg.Registry, path string) []string {
	t.Helper()
	k, err := r.OpenKey(winreg.LocalMachine, path, winreg.View64)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	names, err := k.SubKeyNames()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// deniedSubKey refuses to open one subkey by name through its parent, as
// Windows does for a key whose ACL shuts out the caller.
type deniedSubKey struct {
	winreg.Registry
	name string
}

func (d deniedSubKey) OpenKey(h winreg.Hive, p string, v winreg.View) (winreg.Key, error) {
	k, err := d.Registry.OpenKey(h, p, v)
	if err != nil {
		return nil, err
	}
	return deniedKey{k, d.name}, nil
}

type deniedKey struct {
	winreg.Key
	name string
}

func (k deniedKey) OpenSubKey(name string) (winreg.Key, error) {
	if strings.EqualFold(name, k.name) {
		return nil, errors.New(`open ` + name + `: Access is denied.`)
	}
	return k.Key.OpenSubKey(name)
}

// The quiet uninstall command is shown before the uninstall command,
// and only for an entry with its own uninstaller: an MSI entry's is
// neither read nor shown. Both commands are also kept in their own
// fields, which is where internal/remediate reads them: a display name
// that imitates the text ("X, quiet uninstall: C:\Tools\x.exe") is only
// display text.
func TestObserveQuietUninstall(t *testing.T) {
	for _, tc := range []struct {
		e             Entry
		want          string
		cmd, quietCmd string
	}{
		{Entry{DisplayName: "Kaspersky Free", UninstallString: `"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free 21.3\uninstall.exe"`,
			QuietUninstallString: `"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free 21.3\uninstall.exe" /s`},
			`Kaspersky Free, quiet uninstall: "C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free 21.3\uninstall.exe" /s, uninstall: "C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free 21.3\uninstall.exe"`,
			`"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free 21.3\uninstall.exe"`, `"C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free 21.3\uninstall.exe" /s`},
		{Entry{DisplayName: "KES", UninstallString: `MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`, QuietUninstallString: `MsiExec.exe /X{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54} /qn`},
			`KES, uninstall: MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`, `MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}`, ""},
		{Entry{DisplayName: "Only quiet", QuietUninstallString: `C:\P\u.exe /S`}, `Only quiet`, "", ""},
		{Entry{DisplayName: `Kaspersky VPN, quiet uninstall: C:\Tools\x.exe`, DisplayVersion: `1, uninstall: C:\Tools\y.exe`,
			Publisher: `AO Kaspersky Lab, quiet uninstall: C:\Tools\z.exe`, UninstallString: `"C:\Program Files\Kaspersky Lab\VPN\uninstall.exe"`},
			`Kaspersky VPN, quiet uninstall: C:\Tools\x.exe 1, uninstall: C:\Tools\y.exe (AO Kaspersky Lab, quiet uninstall: C:\Tools\z.exe), uninstall: "C:\Program Files\Kaspersky Lab\VPN\uninstall.exe"`,
			`"C:\Program Files\Kaspersky Lab\VPN\uninstall.exe"`, ""},
	} {
		o, ok := Observe(tc.e, winpath.Env{})
		if !ok || o.Detail != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.e, o.Detail, tc.want)
		}
		if o.UninstallCommand != tc.cmd || o.QuietUninstallCommand != tc.quietCmd {
			t.Errorf("%+v: commands %q, %q; want %q, %q", tc.e, o.UninstallCommand, o.QuietUninstallCommand, tc.cmd, tc.quietCmd)
		}
	}
	// ReadEntry reads the value only where it is shown.
	reg := winreg.NewFake()
	if err := reg.Import(strings.NewReader("Windows Registry Editor Version 5.00\n\n"+
		"[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n\"DisplayName\"=\"A\"\n\"UninstallString\"=\"C:\\\\P\\\\u.exe\"\n\"QuietUninstallString\"=\"C:\\\\P\\\\u.exe /S\"\n\n"+
		"[HKEY_LOCAL_MACHINE\\SOFTWARE\\B]\n\"DisplayName\"=\"B\"\n\"UninstallString\"=\"MsiExec.exe /X{1}\"\n\"QuietUninstallString\"=\"MsiExec.exe /X{1} /qn\"\n\n"),
		winreg.View64); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"A": `C:\P\u.exe /S`, "B": ""} {
		k, err := reg.OpenKey(winreg.LocalMachine, `SOFTWARE\`+key, winreg.View64)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ReadEntry(k)
		k.Close()
		if err != nil || e.QuietUninstallString != want {
			t.Errorf("%s: QuietUninstallString %q (%v), want %q", key, e.QuietUninstallString, err, want)
		}
	}
}
