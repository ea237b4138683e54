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

func uninstallEv(key, value string) report.Evidence {
	return report.Evidence{Source: "uninstall", Kind: "app", Value: value,
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
			uninstallEv("AVP21.3", `Kaspersky Total Security 21.3 (AO Kaspersky Lab), uninstall: "C:\P\u.exe" & del /q C:\*`)), `holds "&"`},
		{"uninstall_marker_twice", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `Evil, uninstall: C:\x\a.exe (AO Kaspersky Lab), uninstall: "C:\P\u.exe"`)), "ambiguous"},
		{"uninstall_huge_clipped", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `KTS, uninstall: "C:\P\u.exe" `+strings.Repeat("/x ", 200)+"...")), "cut short"},
		{"uninstall_cmd", "windows", restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled,
			uninstallEv("AVP21.3", `KTS, uninstall: C:\Windows\System32\cmd.exe /c C:\P\u.exe`)), "command interpreter"},
		{"msi_without_code", "windows", restricted("kaspersky-endpoint-security-windows", "KES", report.StateInstalled,
			uninstallEv("KES", `KES, uninstall: MsiExec.exe /I C:\x.msi`)), "without a product code"},
		{"per_user_entry", "windows", restricted("kaspersky-vpn-secure-connection", "Kaspersky VPN", report.StateInstalled,
			report.Evidence{Source: "uninstall", Kind: "app", Location: `HKU\S-1-5-21-0-0-0-1000\Software\Microsoft\Windows\CurrentVersion\Uninstall\KasperskyVPN`,
				Value: `Kaspersky VPN Secure Connection (AO Kaspersky Lab), uninstall: "C:\Program Files\Kaspersky Lab\VPN\uninstall.exe"`}), "per-user uninstall entry"},
		{"display_name_spoof", "windows", restricted("kaspersky-vpn-secure-connection", "Kaspersky VPN", report.StateInstalled,
			uninstallEv("KVPN", `Kaspersky VPN, uninstall: C:\Users\Public\evil.exe 1.0 (AO Kaspersky Lab), installed 2024-03-01`)), "folder users can write"},
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
			uninstallEv("{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}", "Kaspersky Security Center Network Agent 14.0 (AO Kaspersky Lab), uninstall: MsiExec.exe /I{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}")),
		restricted("kaspersky-endpoint-security-windows", "Kaspersky Endpoint Security for Windows", report.StateActive,
			uninstallEv(kesCode, "Kaspersky Endpoint Security for Windows 12.1 (AO Kaspersky Lab), uninstall: MsiExec.exe /I"+kesCode)),
		{ID: "crowdstrike-falcon", Vendor: "CrowdStrike", Name: "CrowdStrike Falcon", State: report.StateActive, Category: report.CategoryEDR,
			Evidence: []report.Evidence{uninstallEv("{B8B2E4E9-4D3E-4B4B-8F7C-1A2B3C4D5E6F}", "CrowdStrike Windows Sensor, uninstall: MsiExec.exe /X{B8B2E4E9-4D3E-4B4B-8F7C-1A2B3C4D5E6F}")}},
		{ID: "avp-game", Vendor: "Rebellion", Name: "Aliens vs. Predator", State: report.StateInstalled, Category: report.CategoryOther,
			Evidence: []report.Evidence{uninstallEv("Steam App 10680", `AvP, uninstall: "C:\Program Files (x86)\Steam\steam.exe" steam://uninstall/10680`)}},
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
	const u = `, uninstall: "` + prog + `"`
	for _, tc := range []struct {
		name, value string
		argv        []string
		note        string
		rejected    string // in a rejection, or "" for none
	}{
		{"quiet preferred", `Kaspersky Total Security 21.3 (AO Kaspersky Lab), quiet uninstall: "` + prog + `" /s` + u,
			[]string{prog, "/s"}, "QuietUninstallString", ""},
		{"no quiet form", `Kaspersky Total Security 21.3 (AO Kaspersky Lab)` + u,
			[]string{prog}, "no quiet form", ""},
		{"quiet with a shell character", `KTS, quiet uninstall: "` + prog + `" /s & del /q C:\*` + u,
			[]string{prog}, "may ask questions", `quiet uninstall command holds "&"`},
		{"quiet in a folder users can write", `KTS, quiet uninstall: C:\Users\Public\evil.exe /s` + u,
			[]string{prog}, "may ask questions", "folder users can write"},
		{"quiet runs msiexec", `KTS, quiet uninstall: MsiExec.exe /I C:\x.msi /qn` + u,
			[]string{prog}, "may ask questions", "quiet uninstall command runs msiexec"},
		{"quiet marker twice", `KTS, quiet uninstall: C:\a\a.exe, quiet uninstall: "` + prog + `" /s` + u,
			[]string{prog}, "may ask questions", "ambiguous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: "windows"}, Products: []report.Product{
				restricted("kaspersky-total-security", "Kaspersky Total Security", report.StateInstalled, uninstallEv("AVP21.3", tc.value))}}
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
