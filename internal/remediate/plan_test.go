package remediate

import (
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/report"
)

func defaultCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func restricted(id, name, state string, ev ...report.Evidence) report.Product {
	return report.Product{ID: id, Vendor: "Kaspersky", Name: name, State: state, Category: report.CategoryAntivirus,
		Restricted: true, Evidence: ev}
}

// uninstallEv is the evidence of an uninstall entry as the uninstall
// source writes it: display text, and the command in its own field.
func uninstallEv(key, display, cmd string) report.Evidence {
	return uninstallQuietEv(key, display, "", cmd)
}

func uninstallQuietEv(key, display, quiet, cmd string) report.Evidence {
	return report.Evidence{Source: "uninstall", Kind: "app", Value: display + ", uninstall: " + cmd,
		UninstallCommand: cmd, QuietUninstallCommand: quiet,
		Location: `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\` + key}
}

const kesCode = "{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}"

// Hostile evidence never becomes a command; the reason is in the plan.
func TestPlanRejectsHostileEvidence(t *testing.T) {
	c := defaultCatalog(t)
	for _, tc := range []struct {
		name    string
		os      string
		product report.Product
		reason  string // in a rejection
	}{
		{"uninstall_ampersand", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Program Files\K\u.exe" & del /q C:\*`)), `holds "&"`},
		{"uninstall_huge_clipped", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Program Files\K\u.exe" `+strings.Repeat("/x ", 200)+"...")), "cut short"},
		{"uninstall_cmd", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\System32\cmd.exe /c C:\P\u.exe`)), "command interpreter"},
		{"slash_dotdot", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows/../Users/Public/evil.exe`)), "not a plain path"},
		{"backslash_dotdot_slash", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\../Users/Public/evil.exe`)), "not a plain path"},
		{"program_files_dotdot", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Program Files\..\Users\Public\evil.exe"`)), "not a plain path"},
		{"trailing_dot", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Users.\Public\evil.exe`)), "dot or space"},
		{"trailing_space", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Users \Public\evil.exe"`)), "dot or space"},
		{"program_files_trailing_dot", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Program Files.\K\u.exe"`)), "dot or space"},
		{"short_name", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\PROGRA~1\K\u.exe`)), "short name"},
		{"stream", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Program Files\K\u.exe:evil.exe"`)), "stream"},
		{"documents_and_settings", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\Documents and Settings\Public\evil.exe"`)), "not under C:\\Program Files"},
		{"users_public", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Users\Public\evil.exe`)), "not under C:\\Program Files"},
		{"programdata", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"C:\ProgramData\Kaspersky Lab\u.exe"`)), "not under C:\\Program Files"},
		{"new_root_folder", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Tools\x.exe`)), "not under C:\\Program Files"},
		{"other_drive", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `"D:\Program Files\K\u.exe"`)), "not under C:\\Program Files"},
		{"windows_folder", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\u.exe`)), "not under C:\\Program Files"},
		{"wmic", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\System32\wbem\WMIC.exe process call create calc.exe`)), "command interpreter"},
		{"reg_delete", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\System32\reg.exe delete HKLM\SOFTWARE\X /f`)), "command interpreter"},
		{"msbuild", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe C:\x.proj`)), "command interpreter"},
		{"powershell_ise", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell_ise.exe -File C:\x.ps1`)), "command interpreter"},
		{"msi_without_code", "windows", restricted("kaspersky-endpoint-security-windows", "KES", report.StateInstalled,
			uninstallEv("KES", "KES", `MsiExec.exe /I C:\x.msi`)), "without a product code"},
		{"per_user_entry", "windows", restricted("kaspersky-vpn-secure-connection", "Kaspersky VPN", report.StateInstalled,
			report.Evidence{Source: "uninstall", Kind: "app", Location: `HKU\S-1-5-21-0-0-0-1000\Software\Microsoft\Windows\CurrentVersion\Uninstall\KasperskyVPN`,
				Value:            `Kaspersky VPN Secure Connection (AO Kaspersky Lab), uninstall: "C:\Program Files\Kaspersky Lab\VPN\uninstall.exe"`,
				UninstallCommand: `"C:\Program Files\Kaspersky Lab\VPN\uninstall.exe"`}), "per-user uninstall entry"},
		// The display text imitating the uninstall command is only text:
		// the command is read from its own field.
		{"display_name_spoof", "windows", restricted("kaspersky-vpn-secure-connection", "Kaspersky VPN", report.StateInstalled,
			uninstallEv("KVPN", `Kaspersky VPN, uninstall: C:\Windows/../Users/Public/evil.exe 1.0 (AO Kaspersky Lab)`, `C:\Users\Public\evil.exe`)), "not under C:\\Program Files"},
		// A quiet uninstall command refused does not fall back to the
		// display text's.
		{"quiet_refused", "windows", restricted("kaspersky-vpn-secure-connection", "Kaspersky VPN", report.StateInstalled,
			uninstallQuietEv("KVPN", `Kaspersky VPN, quiet uninstall: C:\Tools\x.exe`, `C:\Tools\x.exe /S`, `C:\Tools\y.exe`)), "not under C:\\Program Files"},
		{"dpkg_name_shell", "linux", restricted("kaspersky-endpoint-security-linux", "KESL", report.StateInstalled,
			report.Evidence{Source: "dpkg", Kind: "package", Value: "kesl;rm 1.0 (install ok installed)", Location: "var/lib/dpkg/status"}), "not a plain package name"},
		{"dpkg_name_option", "linux", restricted("kaspersky-endpoint-security-linux", "KESL", report.StateInstalled,
			report.Evidence{Source: "dpkg", Kind: "package", Value: "--force-all 1.0", Location: "var/lib/dpkg/status"}), "not a plain package name"},
		{"launchd_label_subst", "darwin", restricted("kaspersky-anti-virus-mac", "KAV", report.StateInstalled,
			report.Evidence{Source: "launchd", Kind: "service", Value: "com.kaspersky.$(id): /x", Location: "Library/LaunchDaemons/x.plist"}), "not a plain reverse-DNS name"},
		{"launch_agent_per_user", "darwin", restricted("kaspersky-anti-virus-mac", "KAV", report.StateInstalled,
			report.Evidence{Source: "launchd", Kind: "service", Value: "com.kaspersky.kav.gui: /x", Location: "Library/LaunchAgents/com.kaspersky.kav.gui.plist"}), "each user's session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: tc.os}, Products: []report.Product{tc.product}}
			p := New(r, c, Options{})
			if len(p.Products) != 1 {
				t.Fatalf("%d products planned, want 1", len(p.Products))
			}
			pp := p.Products[0]
			if !slices.ContainsFunc(pp.Rejected, func(rj Rejected) bool { return strings.Contains(rj.Reason, tc.reason) }) {
				t.Fatalf("no rejection saying %q: %+v", tc.reason, pp.Rejected)
			}
			for _, s := range pp.Steps {
				if s.From != "catalog" { // only the catalogued uninstall script may remain
					t.Errorf("a step was derived from the hostile evidence: %+v", s)
				}
			}
		})
	}
}

// What is not restricted gets no plan, whatever its evidence; Network
// Agent goes last; MSI entries become msiexec /x with the properties a
// password-protected KES needs; another active antivirus is named.
func TestPlanOrderAndScope(t *testing.T) {
	c := defaultCatalog(t)
	r := &report.Report{Host: report.Host{OS: "windows", Hostname: "pc1"}, Products: []report.Product{
		restricted("kaspersky-network-agent", "Kaspersky Security Center Network Agent", report.StateActive,
			uninstallEv("{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}", "Kaspersky Security Center Network Agent 14.0 (AO Kaspersky Lab)", "MsiExec.exe /I{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}")),
		restricted("kaspersky-endpoint-security-windows", "Kaspersky Endpoint Security for Windows", report.StateActive,
			uninstallEv(kesCode, "Kaspersky Endpoint Security for Windows 12.1 (AO Kaspersky Lab)", "MsiExec.exe /I"+kesCode)),
		{ID: "crowdstrike-falcon", Vendor: "CrowdStrike", Name: "CrowdStrike Falcon", State: report.StateActive, Category: report.CategoryEDR,
			Evidence: []report.Evidence{uninstallEv("{B8B2E4E9-4D3E-4B4B-8F7C-1A2B3C4D5E6F}", "CrowdStrike Windows Sensor", "MsiExec.exe /X{B8B2E4E9-4D3E-4B4B-8F7C-1A2B3C4D5E6F}")}},
		{ID: "avp-game", Vendor: "Rebellion", Name: "Aliens vs. Predator", State: report.StateInstalled, Category: report.CategoryOther,
			Evidence: []report.Evidence{uninstallEv("Steam App 10680", "AvP", `"C:\Program Files (x86)\Steam\steam.exe" steam://uninstall/10680`)}},
	}}
	p := New(r, c, Options{})
	var ids []string
	for _, pp := range p.Products {
		ids = append(ids, pp.ID)
	}
	if want := []string{"kaspersky-endpoint-security-windows", "kaspersky-network-agent"}; !slices.Equal(ids, want) {
		t.Fatalf("planned %v, want %v (restricted only, Network Agent last)", ids, want)
	}
	kes := p.Products[0]
	if len(kes.Steps) != 1 {
		t.Fatalf("KES steps %+v", kes.Steps)
	}
	s := kes.Steps[0]
	if s.Action != ActionMSI || !slices.Equal(s.Argv[:4], []string{`C:\Windows\System32\msiexec.exe`, "/x", kesCode, "/qn"}) ||
		!slices.Contains(s.Argv, "/l*v") {
		t.Errorf("KES step %+v", s)
	}
	if !slices.Equal(s.Properties, []string{"KLLOGIN", "KLPASSWD"}) {
		t.Errorf("KES step properties %v, want KLLOGIN, KLPASSWD", s.Properties)
	}
	if !p.Products[1].Last || len(p.Products[1].Steps) != 1 || p.Products[1].Steps[0].Properties != nil {
		t.Errorf("Network Agent plan %+v", p.Products[1])
	}
	if !p.Protection.Protected || !slices.Equal(p.Protection.By, []string{"CrowdStrike Falcon"}) || p.Protection.Warning != "" {
		t.Errorf("protection %+v", p.Protection)
	}
	var b strings.Builder
	if err := Render(&b, p, "table"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"KLLOGIN=<value> KLPASSWD=<value>", "removed last", "protected by: CrowdStrike Falcon"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "steam") {
		t.Errorf("the table plans something for a product that is not restricted:\n%s", b.String())
	}

	// Without another antivirus: a warning naming Defender.
	r.Products = r.Products[:2]
	p = New(r, c, Options{})
	if p.Protection.Protected || p.Protection.Fallback == nil || p.Protection.Fallback.Name != "Microsoft Defender Antivirus" ||
		!strings.Contains(p.Protection.Warning, "Microsoft Defender Antivirus") {
		t.Errorf("protection without another antivirus: %+v", p.Protection)
	}
}

// An entry's quiet uninstall command (QuietUninstallString, written by the
// uninstall source before its uninstall command) is preferred when it
// passes the same checks; otherwise the uninstall command is used and the
// plan says why the quiet one was not.
func TestPlanQuietUninstall(t *testing.T) {
	c := defaultCatalog(t)
	const prog = `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3\uninstall.exe`
	const u = `"` + prog + `"`
	for _, tc := range []struct {
		name, display, quiet string
		argv                 []string
		note                 string
		rejected             string // in a rejection, or "" for none
	}{
		{"quiet preferred", "Kaspersky Total Security 21.3 (AO Kaspersky Lab)", `"` + prog + `" /s`,
			[]string{prog, "/s"}, "QuietUninstallString", ""},
		{"no quiet form", "Kaspersky Total Security 21.3 (AO Kaspersky Lab)", "",
			[]string{prog}, "no quiet form", ""},
		{"quiet with a shell character", "KTS", `"` + prog + `" /s & del /q C:\*`,
			[]string{prog}, "may ask questions", `quiet uninstall command holds "&"`},
		{"quiet in a folder users can write", "KTS", `C:\Users\Public\evil.exe /s`,
			[]string{prog}, "may ask questions", "not under C:\\Program Files"},
		{"quiet runs msiexec", "KTS", `MsiExec.exe /I C:\x.msi /qn`,
			[]string{prog}, "may ask questions", "quiet uninstall command runs msiexec"},
		// Publisher text imitating a quiet uninstall command takes
		// nothing over: no quiet form is recorded.
		{"quiet spoofed in display text", `KTS 1.0 (AO Kaspersky Lab, quiet uninstall: C:\Tools\x.exe)`, "",
			[]string{prog}, "no quiet form", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: "windows"}, Products: []report.Product{
				restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled, uninstallQuietEv("AVP21.3", tc.display, tc.quiet, u))}}
			p := New(r, c, Options{})
			if len(p.Products) != 1 {
				t.Fatalf("%d products planned", len(p.Products))
			}
			pp := p.Products[0]
			var steps []Step
			for _, s := range pp.Steps {
				if s.From != "catalog" {
					steps = append(steps, s)
				}
			}
			if len(steps) != 1 || !slices.Equal(steps[0].Argv, tc.argv) || steps[0].Action != ActionUninstall ||
				!strings.Contains(steps[0].Note, tc.note) {
				t.Fatalf("steps %+v, want one uninstall step %q noting %q", steps, tc.argv, tc.note)
			}
			switch {
			case tc.rejected == "" && len(pp.Rejected) > 0:
				t.Errorf("rejections %+v, want none", pp.Rejected)
			case tc.rejected != "" && !slices.ContainsFunc(pp.Rejected, func(rj Rejected) bool {
				return strings.Contains(rj.Reason, tc.rejected) && strings.Contains(rj.Reason, "its uninstall command is used instead")
			}):
				t.Errorf("no rejection saying %q: %+v", tc.rejected, pp.Rejected)
			}
		})
	}
}

// An HKLM entry pointing at an uninstall program the target does not
// hold is refused: a user could plant one there for the administrator
// to run. Its quiet form likewise, falling back to the uninstall command.
func TestPlanProgramNotOnDisk(t *testing.T) {
	c := defaultCatalog(t)
	const prog = `C:\Program Files\Kaspersky Lab\KTS\uninstall.exe`
	const quiet = `C:\Program Files\Kaspersky Lab\KTS\quiet.exe`
	for _, tc := range []struct {
		name   string
		exists map[string]bool
		argv   []string // of the one step, or nil for none
		reason string
	}{
		{"both_there", map[string]bool{prog: true, quiet: true}, []string{quiet, "/s"}, ""},
		{"quiet_missing", map[string]bool{prog: true}, []string{prog}, "quiet uninstall command program"},
		{"program_missing", map[string]bool{}, nil, "is not on the disk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: "windows"}, Products: []report.Product{
				restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
					uninstallQuietEv("AVP21.3", "KTS", `"`+quiet+`" /s`, `"`+prog+`"`))}}
			p := New(r, c, Options{Exists: func(p string) (bool, bool) { return tc.exists[p], true }})
			var got []string
			for _, s := range p.Products[0].Steps {
				if s.Action == ActionUninstall {
					got = s.Argv
				}
			}
			if !slices.Equal(got, tc.argv) {
				t.Errorf("step %q, want %q", got, tc.argv)
			}
			if tc.reason != "" && !slices.ContainsFunc(p.Products[0].Rejected, func(rj Rejected) bool {
				return strings.Contains(rj.Reason, tc.reason) && strings.Contains(rj.Reason, "not on the disk")
			}) {
				t.Errorf("no rejection saying %q: %+v", tc.reason, p.Products[0].Rejected)
			}
		})
	}
}

// Packages are removed by the low-level tool, which fails when an
// unrestricted package depends on them, never by a front end that would
// remove the dependents (apt-get purge, dnf remove); the tool by its
// absolute path, wherever the target keeps it.
func TestPackageCommand(t *testing.T) {
	pkgs := []string{"kesl", "klnagent64"}
	for _, tc := range []struct {
		source string
		exists map[string]bool // nil: nothing can be told
		want   []string
	}{
		{"dpkg", map[string]bool{"/usr/bin/dpkg": true, "/usr/bin/apt-get": true}, []string{"/usr/bin/dpkg", "--purge", "kesl", "klnagent64"}},
		{"dpkg", nil, []string{"/usr/bin/dpkg", "--purge", "kesl", "klnagent64"}},
		{"dpkg", map[string]bool{"/bin/dpkg": true}, []string{"/bin/dpkg", "--purge", "kesl", "klnagent64"}},
		{"rpm", map[string]bool{"/usr/bin/rpm": true, "/usr/bin/dnf": true}, []string{"/usr/bin/rpm", "-e", "kesl", "klnagent64"}},
		{"rpm", map[string]bool{"/bin/rpm": true}, []string{"/bin/rpm", "-e", "kesl", "klnagent64"}},
		{"pacman", nil, []string{"/usr/bin/pacman", "-Rn", "--noconfirm", "kesl", "klnagent64"}},
		{"apk", map[string]bool{"/sbin/apk": true}, []string{"/sbin/apk", "del", "kesl", "klnagent64"}},
		{"receipts", nil, nil},
	} {
		exists := func(p string) (bool, bool) {
			if tc.exists == nil {
				return false, false
			}
			return tc.exists[p], true
		}
		if got := packageCommand(tc.source, pkgs, exists); !slices.Equal(got, tc.want) {
			t.Errorf("%s with %v: %q, want %q", tc.source, tc.exists, got, tc.want)
		}
	}
}

// The vendor's shared leftovers (/var/opt/kaspersky, which Network Agent
// still uses after KESL is gone) are listed once, after the last
// product, never under the first; each product keeps its own.
func TestPlanSharedLeftoversAfterwards(t *testing.T) {
	c := defaultCatalog(t)
	pkg := func(name string) report.Evidence {
		return report.Evidence{Source: "rpm", Kind: "package", Value: name + " 1.0", Location: "var/lib/rpm/rpmdb.sqlite"}
	}
	r := &report.Report{Host: report.Host{OS: "linux"}, Products: []report.Product{
		restricted("kaspersky-network-agent", "Network Agent", report.StateInstalled, pkg("klnagent64")),
		restricted("kaspersky-endpoint-security-linux", "KESL", report.StateInstalled, pkg("kesl")),
	}}
	present := map[string]bool{"/var/opt/kaspersky": true, "/opt/kaspersky/kesl": true}
	p := New(r, c, Options{Exists: func(p string) (bool, bool) { return present[p], true }})
	for _, pp := range p.Products {
		for _, l := range pp.Leftovers {
			if l.Path == "/var/opt/kaspersky" {
				t.Errorf("%s lists the shared %s", pp.ID, l.Path)
			}
		}
	}
	if len(p.Afterwards) != 1 || p.Afterwards[0].Path != "/var/opt/kaspersky" || p.Afterwards[0].Present != "yes" {
		t.Errorf("afterwards %+v, want /var/opt/kaspersky once", p.Afterwards)
	}
	if kesl := p.Products[0]; kesl.ID != "kaspersky-endpoint-security-linux" || !slices.ContainsFunc(kesl.Leftovers, func(l Leftover) bool { return l.Path == "/opt/kaspersky/kesl" }) {
		t.Errorf("KESL plan %+v: want its own /opt/kaspersky/kesl", kesl)
	}
	var b strings.Builder
	if err := Render(&b, p, "table"); err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(b.String(), "removed last"), strings.Index(b.String(), "path /var/opt/kaspersky"); i < 0 || j < i {
		t.Errorf("the shared leftover is not after the last product:\n%s", b.String())
	}
}

// pkgutil --forget only follows an uninstaller: with none on the disk,
// the receipt (the record of what is still installed) is kept, and the
// plan says why.
func TestPlanReceiptKeptWithoutUninstaller(t *testing.T) {
	c := defaultCatalog(t)
	receipt := report.Evidence{Source: "receipts", Kind: "package", Value: "com.kaspersky.kav 21.0", Location: "var/db/receipts/com.kaspersky.kav.plist"}
	for _, tc := range []struct {
		name   string
		exists bool
		forget bool
	}{{"uninstaller_there", true, true}, {"no_uninstaller", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: "darwin"}, Products: []report.Product{
				restricted("kaspersky-anti-virus-mac", "KAV", report.StateInstalled, receipt)}}
			p := New(r, c, Options{Exists: func(string) (bool, bool) { return tc.exists, true }})
			pp := p.Products[0]
			forget := slices.ContainsFunc(pp.Steps, func(s Step) bool { return s.Action == ActionForgetReceipt })
			if forget != tc.forget {
				t.Errorf("steps %+v: forget %v, want %v", pp.Steps, forget, tc.forget)
			}
			if !tc.forget && !slices.ContainsFunc(pp.Rejected, func(rj Rejected) bool { return strings.Contains(rj.Reason, "kept: no uninstaller") }) {
				t.Errorf("rejections %+v, want the receipt kept with the reason", pp.Rejected)
			}
		})
	}
}

// A clean host's plan says nothing of protection: no "protected": false
// that reads as a warning.
func TestPlanCleanHostNoProtection(t *testing.T) {
	p := New(&report.Report{Host: report.Host{OS: "windows"}}, defaultCatalog(t), Options{})
	var b strings.Builder
	if err := Render(&b, p, "json"); err != nil {
		t.Fatal(err)
	}
	if p.Protection != nil || strings.Contains(b.String(), `"protection"`) {
		t.Errorf("clean host's plan:\n%s", b.String())
	}
}

// Defender running beside the restricted product may be passive: when it
// is the only protection left, the plan says to check it is active.
func TestPlanDefenderMayBePassive(t *testing.T) {
	c := defaultCatalog(t)
	defender := report.Product{ID: "microsoft-defender-antivirus", Vendor: "Microsoft", Name: "Microsoft Defender Antivirus",
		State: report.StateActive, Category: report.CategoryAntivirus}
	falcon := report.Product{ID: "crowdstrike-falcon", Vendor: "CrowdStrike", Name: "CrowdStrike Falcon", State: report.StateActive, Category: report.CategoryEDR}
	kes := restricted("kaspersky-endpoint-security-windows", "KES", report.StateActive, uninstallEv(kesCode, "KES", "MsiExec.exe /X"+kesCode))
	for _, tc := range []struct {
		name    string
		others  []report.Product
		warning bool
	}{
		{"defender_only", []report.Product{defender}, true},
		{"defender_and_falcon", []report.Product{defender, falcon}, false},
		{"falcon_only", []report.Product{falcon}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: "windows"}, Products: append([]report.Product{kes}, tc.others...)}
			p := New(r, c, Options{})
			if !p.Protection.Protected || strings.Contains(p.Protection.Warning, "passive mode") != tc.warning {
				t.Errorf("protection %+v, want a passive-mode warning: %v", p.Protection, tc.warning)
			}
		})
	}
}
