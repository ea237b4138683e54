//go:build linux

package main

// `avscout remediate --plan` end to end: the real binary plans the hosts
// of the scenario corpus, built as fixture roots (Linux roots with the
// real dpkg, rpm and pacman databases, macOS roots with real plists and
// Mach-O files), and a Windows disk whose registry hive, written by the
// real hivexregedit, holds hostile uninstall entries. Here the plan also
// sees which files are on the root (present: yes/no), which the plans of
// internal/remediate's golden test, made from reports alone, cannot.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/remediate"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

// One scenario per catalogued Kaspersky family with a Linux or macOS
// fixture root, and decoys; the Windows families are planned from their
// Wine reports in internal/remediate.
var planScenarios = []string{
	"linux-debian-kesl",              // KESL + Network Agent (dpkg), dpkg --purge, Network Agent last
	"linux-rocky-kesl-network-agent", // rpm
	"linux-arch-kesl-pacman",         // pacman
	"linux-debian-klms",              // mail server
	"linux-appliance-kav4proxy",      // proxy server
	"linux-debian-kesl-removed",      // config-files left: purge
	"linux-debian-clamav-only",       // decoy: ClamAV, no plan
	"linux-debian-lookalikes",        // decoy: look-alike names, no plan
	"macos-kes-network-agent",        // KES for Mac + Network Agent: uninstall scripts, bootout, last
	"macos-kis",                      // Internet Security for Mac
	"macos-legacy-kav",               // legacy Anti-Virus for Mac
	"macos-whitelabel-sysext",        // a white-labelled build
	"macos-lookalike-app",            // decoy
	"macos-other-vendors",            // decoy: other vendors only
}

var updatePlans = update // the -update flag of main_test.go

func TestRemediatePlanScenarios(t *testing.T) {
	all := map[string]*scenario{}
	for _, sc := range loadScenarios(t) {
		all[sc.Name] = sc
	}
	for _, name := range planScenarios {
		sc, ok := all[name]
		if !ok {
			t.Fatalf("no scenario %s", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			args := []string{"remediate", "--plan", "--root", root}
			switch sc.OS {
			case "linux":
				buildLinux(t, root, sc)
			case "darwin":
				buildMac(t, root, sc)
				args = append(args, "--os", "darwin")
			}
			out, stderr, code := avscout(t, append(args, "--format", "json")...)
			if code != 0 {
				t.Fatalf("avscout %v: exit %d: %s", args, code, stderr)
			}
			var p remediate.Plan
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("plan: %v\n%s", err, out)
			}
			if sc.Decoy && len(p.Products) > 0 {
				t.Errorf("a decoy host got a plan: %s", out)
			}
			if !sc.Decoy && sc.Expect.Verdict == "non_compliant" && len(p.Products) == 0 {
				t.Errorf("a host with a restricted product got no plan: %s", out)
			}
			table, stderr, code := avscout(t, append(args, "--format", "table")...)
			if code != 0 {
				t.Fatalf("avscout %v: exit %d: %s", args, code, stderr)
			}
			checkPlanGolden(t, name, strings.ReplaceAll(table, root, "$ROOT"))
		})
	}
}

// checkPlanGolden compares a table plan with testdata/golden/plans/NAME.txt.
func checkPlanGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "golden", "plans", name+".txt")
	if *updatePlans {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/agent -run TestRemediatePlan -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("plan differs from %s (rerun with -update if intended):\n%s", file, diff(string(want), got))
	}
}

// A Windows disk whose uninstall entries hold what a shell would act on:
// the plan runs none of it and says why; the plain MSI entry beside them
// becomes msiexec /x with its product code.
func TestRemediatePlanHostileWindowsDisk(t *testing.T) {
	root := t.TempDir()
	config := filepath.Join(root, "Windows", "System32", "config")
	if err := os.MkdirAll(config, 0o755); err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat(`/x `, 300)
	reg := `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\AVP21.3]
"DisplayName"="Kaspersky Total Security"
"Publisher"="AO Kaspersky Lab"
"DisplayVersion"="21.3.10.391"
"UninstallString"="\"C:\\Program Files (x86)\\Kaspersky Lab\\Kaspersky Total Security 21.3\\uninstall.exe\" & del /q C:\\Windows\\*"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\KSDE]
"DisplayName"="Kaspersky VPN Secure Connection"
"Publisher"="AO Kaspersky Lab"
"UninstallString"="\"C:\\Program Files (x86)\\Kaspersky Lab\\Kaspersky VPN 5.20\\uninstall.exe\" ` + huge + `"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\KPM]
"DisplayName"="Kaspersky Password Manager"
"Publisher"="AO Kaspersky Lab"
"UninstallString"="C:\\Windows\\System32\\cmd.exe /c \"C:\\Program Files (x86)\\Kaspersky Lab\\KPM\\uninstall.exe\""

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\KSK]
"DisplayName"="Kaspersky Safe Kids"
"DisplayVersion"="1.0, uninstall: C:\\Windows/../Users/Public/evil.exe"
"Publisher"="AO Kaspersky Lab"
"UninstallString"="\"C:\\Program Files (x86)\\Kaspersky Lab\\Kaspersky Safe Kids\\uninstall.exe\""

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\KFree]
"DisplayName"="Kaspersky Free"
"Publisher"="AO Kaspersky Lab, quiet uninstall: C:\\Tools\\x.exe"
"UninstallString"="\"C:\\Program Files (x86)\\Kaspersky Lab\\Kaspersky Free\\uninstall.exe\""

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\KSC]
"DisplayName"="Kaspersky Security Cloud"
"Publisher"="AO Kaspersky Lab"
"UninstallString"="C:\\Windows/../Users/Public/evil.exe"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}]
"DisplayName"="Kaspersky Endpoint Security for Windows"
"Publisher"="AO Kaspersky Lab"
"DisplayVersion"="12.1.0.506"
"UninstallString"="MsiExec.exe /I{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}"
`
	if err := regftest.WriteHive(filepath.Join(config, "SOFTWARE"), regftest.SoftwarePrefix, []byte(reg)); err != nil {
		t.Fatal(err)
	}
	// Kaspersky Free's uninstaller is on the disk; Safe Kids' is not (a
	// user could plant it).
	kfree := filepath.Join(root, "Program Files (x86)", "Kaspersky Lab", "Kaspersky Free")
	if err := os.MkdirAll(kfree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kfree, "uninstall.exe"), []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := regftest.WriteHive(filepath.Join(config, "SYSTEM"), regftest.SystemPrefix, nil); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := avscout(t, "remediate", "--plan", "--format", "json", "--root", root, "--os", "windows")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p remediate.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	byID := map[string]remediate.ProductPlan{}
	for _, pp := range p.Products {
		byID[pp.ID] = pp
	}
	for id, reason := range map[string]string{
		"kaspersky-total-security":        `holds "&"`,
		"kaspersky-vpn-secure-connection": "cut short",
		"kaspersky-password-manager":      "command interpreter",
		"kaspersky-safe-kids":             "not on the disk",
		"kaspersky-security-cloud":        "not a plain path",
	} {
		pp, ok := byID[id]
		if !ok {
			t.Errorf("%s not planned: %s", id, out)
			continue
		}
		if len(pp.Steps) != 0 || pp.Manual == "" {
			t.Errorf("%s: steps %+v from hostile evidence, manual %q", id, pp.Steps, pp.Manual)
		}
		if !slices.ContainsFunc(pp.Rejected, func(r remediate.Rejected) bool { return strings.Contains(r.Reason, reason) }) {
			t.Errorf("%s: rejections %+v, want one saying %s", id, pp.Rejected, reason)
		}
	}
	// The publisher imitating a quiet uninstall command takes nothing
	// over: the entry's own UninstallString is run, from its own field.
	if free := byID["kaspersky-free"]; len(free.Steps) != 1 ||
		!slices.Equal(free.Steps[0].Argv, []string{`C:\Program Files (x86)\Kaspersky Lab\Kaspersky Free\uninstall.exe`}) {
		t.Errorf("Kaspersky Free plan %+v", free)
	}
	kes := byID["kaspersky-endpoint-security-windows"]
	if len(kes.Steps) != 1 || !slices.Contains(kes.Steps[0].Argv, "{9A017278-F7F4-4DF9-A482-0B9B4D1F0F54}") ||
		!slices.Equal(kes.Steps[0].Properties, []string{"KLLOGIN", "KLPASSWD"}) {
		t.Errorf("KES plan %+v", kes)
	}
	if p.Protection.Fallback == nil || p.Protection.Fallback.Name != "Microsoft Defender Antivirus" {
		t.Errorf("protection %+v: want the Defender fallback", p.Protection)
	}
}

// Usage errors exit 2 with a message.
func TestRemediateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"remediate"},
		{"remediate", "--plan", "--format", "xml"},
		{"remediate", "--plan", "extra"},
		{"remediate", "--plan", "--os", "plan9"},
		{"remediate", "--plan", "--execute"},
		{"remediate", "--execute", "--root", "/"},
		{"remediate", "--plan", "--yes"},
		{"remediate", "--plan", "--product", "kaspersky-endpoint-security-linux"},
		{"remediate", "--execute", "--format", "xml"},
		// --execute on this machine with another OS's plan.
		{"remediate", "--execute", "--yes", "--os", "darwin"}, // this test runs on Linux
	} {
		_, stderr, code := avscout(t, args...)
		if code != 2 || !strings.Contains(stderr, "avscout remediate") {
			t.Errorf("avscout %v: exit %d, stderr %q", args, code, stderr)
		}
	}
	stdout, stderr, code := avscout(t, "remediate", "--help")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage: avscout remediate [flags]\n\n") {
		t.Fatalf("remediate --help: exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
	for _, f := range []string{"--plan\n", "--execute\n", "--product ID", "--yes\n", "--root DIR", "--os OS", "--format FORMAT", "--step-timeout DURATION"} {
		if !strings.Contains(stdout, "\n  "+f) {
			t.Errorf("help lacks %q:\n%s", f, stdout)
		}
	}
}

// --product naming the product that goes last (Network Agent) while
// other restricted products remain warns: they may be managed through it.
func TestRemediateExecuteLastProductWarns(t *testing.T) {
	p := &remediate.Plan{OS: "linux", Products: []remediate.ProductPlan{
		{ID: "kaspersky-endpoint-security-linux", Steps: []remediate.Step{}},
		{ID: "kaspersky-network-agent", Last: true, Steps: []remediate.Step{}},
	}}
	for _, tc := range []struct {
		product string
		warn    bool
	}{{"kaspersky-network-agent", true}, {"kaspersky-endpoint-security-linux", false}, {"", false}} {
		var stdout, stderr strings.Builder
		scan := func(context.Context) (*report.Report, error) { return &report.Report{}, nil }
		executePlan(context.Background(), p, execOptions{product: tc.product, yes: true, format: "json", stepTimeout: time.Minute, scan: scan},
			os.Stdin, &stdout, &stderr)
		if got := strings.Contains(stderr.String(), "WARNING: kaspersky-network-agent goes last"); got != tc.warn {
			t.Errorf("--product %q: warning %v, want %v:\n%s", tc.product, got, tc.warn, stderr.String())
		}
	}
}
