package scan

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/winreg"
)

// regTextHive is a HiveOpener for tests of the wiring alone: the "hive"
// file holds .reg text whose keys are written relative to the hive's
// root ([HKEY_LOCAL_MACHINE\X] is the hive's X), and a file holding
// "corrupt" fails as a broken hive would. Real hives are read by regf;
// cmd/agent's offline tests scan those.
func regTextHive(warning string) HiveOpener {
	return func(_ context.Context, fsys fs.FS, name string) (winreg.Key, string, io.Closer, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, "", nil, err
		}
		if strings.TrimSpace(string(b)) == "corrupt" {
			return nil, "", nil, errors.New(name + ": corrupt hive: bad base block checksum")
		}
		f := winreg.NewFake()
		if err := f.Import(strings.NewReader(string(b)), winreg.View64); err != nil {
			return nil, "", nil, err
		}
		k, err := f.OpenKey(winreg.LocalMachine, "", winreg.View64)
		if err != nil {
			return nil, "", nil, err
		}
		w := ""
		if strings.Contains(strings.ToUpper(name), "NTUSER") {
			w = warning
		}
		return k, w, io.NopCloser(nil), nil
	}
}

const (
	softwareReg = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Enterprise"
"DisplayVersion"="22H2"
"CurrentBuild"="19045"
"UBR"=dword:00000d2a
"SystemRoot"="C:\\Windows"

[HKEY_LOCAL_MACHINE\Microsoft\Cryptography]
"MachineGuid"="6f1f9c2a-1b7e-4a4e-9d55-3c1f0e9b2a11"

[HKEY_LOCAL_MACHINE\Microsoft\Windows NT\CurrentVersion\ProfileList\S-1-5-21-1111-2222-3333-1001]
"ProfileImagePath"=hex(2):43,00,3a,00,5c,00,55,00,73,00,65,00,72,00,73,00,5c,00,61,00,6c,00,69,00,63,00,65,00,00,00

[HKEY_LOCAL_MACHINE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\AVP21.3]
"DisplayName"="Kaspersky Total Security"
"Publisher"="AO Kaspersky Lab"
"DisplayVersion"="21.3.10.391"
"InstallDate"="20220610"
`
	systemReg = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\Select]
"Current"=dword:00000001

[HKEY_LOCAL_MACHINE\ControlSet001\Control\ComputerName\ComputerName]
"ComputerName"="FINANCE-PC-07"

[HKEY_LOCAL_MACHINE\ControlSet001\Control\Session Manager\Environment]
"PROCESSOR_ARCHITECTURE"="AMD64"

[HKEY_LOCAL_MACHINE\ControlSet001\Services\AVP21.3]
"Type"=dword:00000010
"Start"=dword:00000002
"ImagePath"="\"C:\\Program Files (x86)\\Kaspersky Lab\\Kaspersky Total Security 21.3\\avp.exe\" -r"
"DisplayName"="Kaspersky Anti-Virus Service 21.3"
`
	userReg = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\Software\Microsoft\Windows\CurrentVersion\Uninstall\KasperskyVPN]
"DisplayName"="Kaspersky VPN Secure Connection"
"Publisher"="AO Kaspersky Lab"
"DisplayVersion"="21.16.6.467"
`
)

// windowsRoot writes a Windows root: files maps slash paths to content.
func windowsRoot(t *testing.T, files map[string]string) *host.Host {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := host.OpenRoot(dir, host.Windows)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func offlineScan(t *testing.T, h *host.Host, open HiveOpener) *report.Report {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), Options{Host: h, Catalog: cat, OpenHive: open})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sourceOf(r *report.Report, name string) report.Source {
	i := slices.IndexFunc(r.Sources, func(s report.Source) bool { return s.Name == name })
	if i < 0 {
		return report.Source{}
	}
	return r.Sources[i]
}

// The wiring: hives found in any case, each source on its hives, users
// named by their SID, services installed (never active), host facts
// from the hives, and the host id the live scan of the same machine
// would give.
func TestOfflineWindowsRoot(t *testing.T) {
	h := windowsRoot(t, map[string]string{
		"WINDOWS/system32/CONFIG/software": softwareReg,
		"WINDOWS/system32/CONFIG/System":   systemReg,
		"Users/alice/NTUSER.DAT":           userReg,
		"Users/Default/NTUSER.DAT":         "corrupt", // the template: never read
		"Users/Public/desktop.ini":         "x",
	})
	r := offlineScan(t, h, regTextHive("dirty: no transaction logs to replay"))
	for _, name := range []string{"uninstall", "vendorkeys", "services"} {
		if s := sourceOf(r, name); s.Status != "ok" {
			t.Errorf("source %s: %+v", name, s)
		}
	}
	if w := sourceOf(r, "uninstall").Warnings; len(w) != 1 || !strings.Contains(w[0], `HKU\S-1-5-21-1111-2222-3333-1001 (Users/alice/NTUSER.DAT): dirty`) {
		t.Errorf("uninstall warnings %q, want the dirty user hive", w)
	}
	if w := sourceOf(r, "services").Warnings; len(w) != 0 {
		t.Errorf("services warnings %q: it reads no user hive", w)
	}
	kts := slices.IndexFunc(r.Products, func(p report.Product) bool { return p.ID == "kaspersky-total-security" })
	if kts < 0 {
		t.Fatalf("no Total Security: %+v", r.Products)
	}
	p := r.Products[kts]
	if p.State != "installed" || p.Version != "21.3.10.391" || !p.Restricted {
		t.Errorf("Total Security %+v", p)
	}
	var sawService, sawUninstall32 bool
	for _, e := range p.Evidence {
		if e.Source == "services" && strings.Contains(e.Value, "AVP21.3") {
			sawService = true
			if strings.Contains(e.Value, "running") {
				t.Errorf("an offline service said running: %+v", e)
			}
			if e.Location != `HKLM\SYSTEM\CurrentControlSet\Services\AVP21.3` {
				t.Errorf("service location %q", e.Location)
			}
		}
		if e.Source == "uninstall" && e.Location == `HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\AVP21.3` {
			sawUninstall32 = true
		}
	}
	if !sawService || !sawUninstall32 {
		t.Errorf("evidence %+v", p.Evidence)
	}
	vpn := slices.IndexFunc(r.Products, func(p report.Product) bool { return strings.Contains(p.Name, "VPN") })
	if vpn < 0 || !slices.ContainsFunc(r.Products[vpn].Evidence, func(e report.Evidence) bool {
		return e.Location == `HKU\S-1-5-21-1111-2222-3333-1001\Software\Microsoft\Windows\CurrentVersion\Uninstall\KasperskyVPN`
	}) {
		t.Errorf("the per-user install is not seen in the user's hive under its SID: %+v", r.Products)
	}
	want := report.Host{
		ID:        host.StableID("6f1f9c2a-1b7e-4a4e-9d55-3c1f0e9b2a11", ""),
		Hostname:  "FINANCE-PC-07",
		OS:        "windows",
		OSVersion: "Windows 10 Enterprise 22H2 (build 19045.3370)",
		Arch:      "amd64",
		Root:      h.Root,
	}
	if r.Host != want {
		t.Errorf("host\n%+v, want\n%+v", r.Host, want)
	}
	if r.Verdict != report.VerdictNonCompliant {
		t.Errorf("verdict %s", r.Verdict)
	}
}

// A hive that is missing or cannot be read fails the sources that read
// it, naming the hive: the verdict of a clean disk is then incomplete,
// never compliant.
func TestOfflineWindowsRootBrokenHives(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  map[string]string
		failed map[string]string // source → what its error says
	}{{
		name:  "no hives at all",
		files: map[string]string{"Windows/System32/drivers/null.sys": "x"},
		failed: map[string]string{
			"uninstall":  "registry hive SOFTWARE: not found on the disk",
			"vendorkeys": "registry hive SOFTWARE: not found on the disk",
			"services":   "registry hive SYSTEM: not found on the disk",
		},
	}, {
		name: "corrupt SYSTEM",
		files: map[string]string{
			"Windows/System32/config/SOFTWARE": "Windows Registry Editor Version 5.00\n",
			"Windows/System32/config/SYSTEM":   "corrupt",
		},
		failed: map[string]string{"services": "Windows/System32/config/SYSTEM: corrupt hive: bad base block checksum"},
	}, {
		name: "corrupt user hive",
		files: map[string]string{
			"Windows/System32/config/SOFTWARE": "Windows Registry Editor Version 5.00\n",
			"Windows/System32/config/SYSTEM":   "Windows Registry Editor Version 5.00\n",
			"Users/bob/NTUSER.DAT":             "corrupt",
		},
		failed: map[string]string{
			"uninstall":  `HKU\bob (Users/bob/NTUSER.DAT)`,
			"vendorkeys": `HKU\bob (Users/bob/NTUSER.DAT)`,
		},
	}, {
		name: "a hive that is a folder",
		files: map[string]string{
			"Windows/System32/config/SOFTWARE/x": "",
			"Windows/System32/config/SYSTEM":     "Windows Registry Editor Version 5.00\n",
		},
		failed: map[string]string{
			"uninstall":  "not a regular file",
			"vendorkeys": "not a regular file",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := offlineScan(t, windowsRoot(t, tc.files), regTextHive(""))
			for _, name := range []string{"uninstall", "vendorkeys", "services"} {
				s := sourceOf(r, name)
				want, fails := tc.failed[name]
				switch {
				case fails && (s.Status != "error" || !strings.Contains(s.Error, want)):
					t.Errorf("source %s: %s %q, want an error saying %q", name, s.Status, s.Error, want)
				case !fails && s.Status != "ok":
					t.Errorf("source %s: %s %q, want ok", name, s.Status, s.Error)
				}
			}
			if r.Verdict != report.VerdictIncomplete || r.Compliant {
				t.Errorf("verdict %s, want incomplete", r.Verdict)
			}
			if slices.ContainsFunc(r.Products, func(p report.Product) bool { return p.Restricted }) {
				t.Errorf("a broken hive reported products: %+v", r.Products)
			}
		})
	}
}
