//go:build linux

package main

// `avscout.exe remediate --execute --yes` under Wine: a Kaspersky-like
// product installed from a real Windows Installer package (built by wixl
// from testdata/windows/kes-like.wxs), with its service, is removed
// through msiexec /x by the plan avscout derives from its uninstall
// entry; the entry and the service are gone afterwards, and the exit code
// says the host is compliant.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/remediate"
	"github.com/avscout/avscout/internal/report"
)

const kesLikeCode = "{6B1C6D52-6C8B-4E1B-9C3A-0A1B2C3D4E5F}"

func TestRemediateExecuteWineMSI(t *testing.T) {
	if _, err := exec.LookPath("wixl"); err != nil {
		t.Fatalf("this test needs wixl (apt: wixl; scripts/install-deps.sh installs it): %v", err)
	}
	fx := setupWine(t)
	work := t.TempDir()
	wxs, err := os.ReadFile("testdata/windows/kes-like.wxs")
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, filepath.Join(work, "kes-like.wxs"), wxs, 0o644)
	fake, err := os.ReadFile(fx.fakeav)
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, filepath.Join(work, "fakeav.exe"), fake, 0o644)
	build := exec.Command("wixl", "-a", "x64", "-D", "FakeExe=fakeav.exe", "-o", "kes.msi", "kes-like.wxs")
	build.Dir = work // wixl finds sources relative to the current folder
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("wixl: %v\n%s", err, out)
	}
	msi, err := os.ReadFile(filepath.Join(work, "kes.msi"))
	if err != nil {
		t.Fatal(err)
	}

	w := newWinHost(t, fx)
	w.put(`C:\kes-like.msi`, msi)
	w.wine("msiexec", "/i", `C:\kes-like.msi`, "/qn")
	const uninstallKey = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\` + kesLikeCode
	if _, _, code := w.exit("wine", "reg", "query", uninstallKey); code != 0 {
		t.Fatalf("the package registered no uninstall entry %s", uninstallKey)
	}
	if out, _, code := w.exit("wine", "sc", "query", "AVP"); code != 0 {
		t.Fatalf("the package installed no service AVP:\n%s", out)
	}

	// The plan: msiexec /x with the product code and a log, and the
	// properties a password-protected KES needs named.
	out, errOut, code := w.exit("wine", fx.avscout, "remediate", "--plan", "--format", "json")
	if code != 0 {
		t.Fatalf("remediate --plan: exit %d\n%s", code, errOut)
	}
	var p remediate.Plan
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	if len(p.Products) != 1 || p.Products[0].ID != "kaspersky-endpoint-security-windows" || len(p.Products[0].Steps) != 1 {
		t.Fatalf("plan: %s", out)
	}
	step := p.Products[0].Steps[0]
	if step.Action != remediate.ActionMSI || !slices.Contains(step.Argv, kesLikeCode) || !slices.Contains(step.Argv, "/qn") ||
		!slices.Equal(step.Properties, []string{"KLLOGIN", "KLPASSWD"}) {
		t.Errorf("step %+v", step)
	}

	out, errOut, code = w.exit("wine", fx.avscout, "remediate", "--execute", "--yes", "--format", "json")
	if code != 0 {
		t.Fatalf("remediate --execute --yes: exit %d, want 0 (compliant)\nstderr:\n%s\nstdout:\n%s", code, errOut, out)
	}
	t.Logf("remediate --execute --yes:\n%s", errOut)
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("final report: %v\n%s", err, out)
	}
	if report.VerdictOf(&r) != report.VerdictCompliant {
		t.Errorf("final verdict %s", report.VerdictOf(&r))
	}
	if !strings.Contains(string(errOut), "msiexec.exe /x "+kesLikeCode) {
		t.Errorf("stderr does not show the msiexec command:\n%s", errOut)
	}
	if _, _, code := w.exit("wine", "reg", "query", uninstallKey); code == 0 {
		t.Errorf("the uninstall entry %s is still there", uninstallKey)
	}
	if out, _, code := w.exit("wine", "sc", "query", "AVP"); code == 0 && strings.Contains(string(out), "AVP") {
		t.Errorf("the service AVP is still there:\n%s", out)
	}
	if _, err := os.Stat(w.Local(`C:\ProgramData\avscout\remediate\avscout-remove-` + strings.Trim(kesLikeCode, "{}") + ".log")); err != nil {
		t.Errorf("msiexec's verbose log: %v", err)
	}
}
