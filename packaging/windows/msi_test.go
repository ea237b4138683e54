//go:build linux

package winpkg_test

import (
	"bytes"
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agent/unit"
)

// The service as internal/agent/unit describes it; the MSI must create the
// same one (TestMSI checks both agree with these).
const (
	serviceName        = "avscout"
	serviceDisplayName = "avscout endpoint agent"
	serviceDescription = "Finds antivirus and endpoint-security software, flags restricted (Kaspersky) products and reports to the fleet collector."
	imagePath          = `"C:\Program Files\avscout\avscout.exe" service run --scm`
)

var buildTools = []string{"wixl", "msibuild", "msiinfo", "msiextract", "osslsigncode", "openssl"}

type fixture struct {
	repo, bin, out string
	cert, key      string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	var missing []string
	for _, tool := range buildTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the MSI tests need %s (apt: wixl msitools osslsigncode openssl)", strings.Join(missing, ", "))
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{repo: repo, bin: t.TempDir(), out: t.TempDir()}
	start := time.Now()
	gobin := "go" // go test puts its own GOROOT/bin first on PATH
	build := exec.Command(gobin, "build", "-trimpath", "-o", filepath.Join(f.bin, "avscout-windows-amd64.exe"), "./cmd/agent")
	build.Dir = repo
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-build avscout.exe: %v\n%s", err, b)
	}
	t.Logf("cross-built avscout.exe in %s", time.Since(start).Round(time.Millisecond))
	f.cert, f.key = makeCert(t)
	return f
}

// makeCert makes a throwaway self-signed code-signing certificate.
func makeCert(t *testing.T) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cmd := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=avscout test code signing", "-keyout", key, "-out", cert,
		"-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=codeSigning")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, b)
	}
	return cert, key
}

// build runs build.sh; extra env entries override.
func (f *fixture) build(t *testing.T, version string, extra ...string) (path string, out []byte, err error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(f.repo, "packaging", "windows", "build.sh"))
	cmd.Env = append(os.Environ(), "BIN="+f.bin, "OUT="+f.out, "PKG_VERSION="+version,
		"VERSION="+version+"+gtest", "SIGN_CERT="+f.cert, "SIGN_KEY="+f.key)
	cmd.Env = append(cmd.Env, extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return strings.TrimSpace(stdout.String()), append(stdout.Bytes(), stderr.Bytes()...), err
}

func (f *fixture) mustBuild(t *testing.T, version string) string {
	t.Helper()
	start := time.Now()
	path, out, err := f.build(t, version)
	if err != nil {
		t.Fatalf("build.sh %s: %v\n%s", version, err, out)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("build.sh printed %q: %v", path, err)
	}
	t.Logf("built %s in %s: %d bytes (%.1f MiB)", filepath.Base(path), time.Since(start).Round(time.Millisecond), fi.Size(), float64(fi.Size())/(1<<20))
	return path
}

// table returns an MSI table's rows (msiinfo export: a header of three
// lines, tab-separated CRLF lines).
func table(t *testing.T, msi, name string) [][]string {
	t.Helper()
	b, err := exec.Command("msiinfo", "export", msi, name).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v", name, err)
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n")
	var rows [][]string
	for i, l := range lines {
		if i < 3 || l == "" {
			continue
		}
		rows = append(rows, strings.Split(l, "\t"))
	}
	return rows
}

// row returns the first row whose column col is key.
func row(rows [][]string, col int, key string) []string {
	for _, r := range rows {
		if len(r) > col && r[col] == key {
			return r
		}
	}
	return nil
}

func productCode(t *testing.T, msi string) string {
	t.Helper()
	r := row(table(t, msi, "Property"), 0, "ProductCode")
	if r == nil {
		t.Fatal("no ProductCode")
	}
	return r[1]
}

func verify(msiOrExe, cert string) ([]byte, error) {
	return exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", msiOrExe).CombinedOutput()
}

func TestMSI(t *testing.T) {
	f := newFixture(t)
	msi := f.mustBuild(t, "1.2.3")

	t.Run("service matches the agent's own", func(t *testing.T) {
		// What `avscout service install` registers on Windows.
		u := unit.For("windows", "")
		got := []string{u.Name, u.DisplayName, u.Description, strings.Join(u.Arguments, " ")}
		want := []string{serviceName, serviceDisplayName, serviceDescription, "service run --scm"}
		if !slices.Equal(got, want) {
			t.Errorf("the agent installs its service as %q, avscout.wxs as %q: update avscout.wxs and this test together", got, want)
		}
	})

	t.Run("tables", func(t *testing.T) {
		svc := row(table(t, msi, "ServiceInstall"), 1, serviceName)
		// ServiceType 16 own process, StartType 2 auto, ErrorControl 1 normal.
		want := []string{"AgentService", serviceName, serviceDisplayName, "16", "2", "1", "", "", "LocalSystem", "", "service run --scm", "Agent", serviceDescription}
		if fmt.Sprint(svc) != fmt.Sprint(want) {
			t.Errorf("ServiceInstall:\n got %q\nwant %q", svc, want)
		}
		// 163 = start on install (1) + stop on install and uninstall (2|32)
		// + delete on uninstall (128); Wait 1.
		if ctl := row(table(t, msi, "ServiceControl"), 1, serviceName); fmt.Sprint(ctl) != fmt.Sprint([]string{"AgentService", serviceName, "163", "", "1", "Agent"}) {
			t.Errorf("ServiceControl: %q", ctl)
		}
		reg := table(t, msi, "Registry")
		for name, value := range map[string]string{
			"Version": "1.2.3", "InstallDir": "[INSTALLDIR]",
			"EventMessageFile": `#%%SystemRoot%\System32\EventCreate.exe`, "TypesSupported": "#7",
		} {
			r := row(reg, 3, name)
			if r == nil || r[4] != value || r[1] != "2" { // 2 = HKLM
				t.Errorf("Registry %s: %q, want HKLM value %q", name, r, value)
			}
		}
		props := table(t, msi, "Property")
		for name, value := range map[string]string{
			"ALLUSERS": "1", "Manufacturer": "avscout", "ProductVersion": "1.2.3", "MsiHiddenProperties": "COLLECTOR_TOKEN",
			"UpgradeCode": "{29B449B6-0D9F-4F9F-A6E8-2E5330A3FED4}", "ARPNOMODIFY": "1",
			"ARPURLINFOABOUT": "https://github.com/avscout/avscout",
		} {
			if r := row(props, 0, name); r == nil || r[1] != value {
				t.Errorf("Property %s: %q, want %q", name, r, value)
			}
		}
		up := table(t, msi, "Upgrade")
		if len(up) != 2 || row(up, 6, "WIX_UPGRADE_DETECTED") == nil || row(up, 6, "WIX_DOWNGRADE_DETECTED") == nil {
			t.Errorf("Upgrade: %q", up)
		}
		if lc := table(t, msi, "LaunchCondition"); len(lc) != 1 || lc[0][0] != "NOT WIX_DOWNGRADE_DETECTED" {
			t.Errorf("LaunchCondition: %q", lc)
		}
		// 11282 = exe from an installed file, deferred, not impersonated,
		// target hidden from the log.
		if ca := row(table(t, msi, "CustomAction"), 0, "AvscoutSetup"); ca == nil || ca[1] != "11282" || ca[2] != "msisetup.exe" {
			t.Errorf("CustomAction AvscoutSetup: %q", ca)
		}
		seq := table(t, msi, "InstallExecuteSequence")
		n := func(action string) string {
			if r := row(seq, 0, action); r != nil {
				return r[2]
			}
			return "missing"
		}
		// Old version removed before anything is installed; the helper
		// between InstallServices and StartServices.
		if n("InstallValidate") != "1400" || n("RemoveExistingProducts") != "1401" || n("AvscoutSetup") != "5850" ||
			n("InstallServices") != "5800" || n("StartServices") != "5900" || n("ForgetToken") != "6601" ||
			n("DeleteServices") != "2000" || n("AvscoutWaitExit") != "1901" || n("AvscoutPurge") != "2002" || n("RemoveFiles") != "3500" {
			t.Errorf("InstallExecuteSequence:\n%q", seq)
		}
		files := table(t, msi, "File")
		if row(files, 2, "avscout.exe") == nil || row(files, 2, "avscout-msi-setup.exe") == nil || len(files) != 2 {
			t.Errorf("File: %q", files)
		}
	})

	t.Run("signatures", func(t *testing.T) {
		if out, err := verify(msi, f.cert); err != nil || !bytes.Contains(out, []byte("Signature verification: ok")) {
			t.Errorf("MSI signature: %v\n%s", err, out)
		}
		dir := t.TempDir()
		if b, err := exec.Command("msiextract", "-C", dir, msi).CombinedOutput(); err != nil {
			t.Fatalf("msiextract: %v\n%s", err, b)
		}
		for _, p := range []string{filepath.Join(dir, "avscout", "avscout.exe"), filepath.Join(dir, "avscout", "avscout-msi-setup.exe"),
			filepath.Join(f.out, "avscout-windows-amd64.exe")} {
			exe := filepath.Base(p)
			if out, err := verify(p, f.cert); err != nil || !bytes.Contains(out, []byte("Signature verification: ok")) {
				t.Errorf("%s signature: %v\n%s", exe, err, out)
			}
		}
		// The install helper runs as SYSTEM in repairs any user can start:
		// as a console program it would open a SYSTEM console on the
		// user's desktop.
		if pf, err := pe.Open(filepath.Join(dir, "avscout", "avscout-msi-setup.exe")); err != nil {
			t.Error(err)
		} else {
			if oh, ok := pf.OptionalHeader.(*pe.OptionalHeader64); !ok || oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
				t.Errorf("avscout-msi-setup.exe is not a GUI-subsystem program (-H windowsgui): %#v", pf.OptionalHeader)
			}
			pf.Close()
		}
		// One byte changed inside the embedded cabinet (a file's data).
		b, err := os.ReadFile(msi)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte("MSCF"))
		if i < 0 || i+100000 >= len(b) {
			t.Fatalf("no cabinet in the MSI")
		}
		b[i+100000] ^= 0xff
		bad := filepath.Join(t.TempDir(), "tampered.msi")
		if err := os.WriteFile(bad, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := verify(bad, f.cert); err == nil {
			t.Errorf("a tampered MSI verifies:\n%s", out)
		}
		// Another certificate is not trusted.
		other, _ := makeCert(t)
		if out, err := verify(msi, other); err == nil {
			t.Errorf("the MSI verifies against an unrelated CA:\n%s", out)
		}
	})

	t.Run("unsigned without a certificate", func(t *testing.T) {
		outDir := t.TempDir()
		path, out, err := f.build(t, "1.2.3", "SIGN_CERT=", "SIGN_KEY=", "OUT="+outDir)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if ents, _ := os.ReadDir(outDir); len(ents) != 1 {
			t.Errorf("an unsigned build wrote %v, want only the MSI", ents)
		}
		if out, err := verify(path, f.cert); err == nil {
			t.Errorf("an MSI built without SIGN_CERT has a signature:\n%s", out)
		}
	})

	t.Run("bad input fails clearly", func(t *testing.T) {
		wxs, err := os.ReadFile(filepath.Join(f.repo, "packaging", "windows", "avscout.wxs"))
		if err != nil {
			t.Fatal(err)
		}
		// Package/@Platform is an attribute wixl 0.101 ignores with a
		// warning (mdm-and-packaging reference, B2).
		warned := filepath.Join(t.TempDir(), "warned.wxs")
		if err := os.WriteFile(warned, bytes.Replace(wxs, []byte("<Package "), []byte(`<Package Platform="x64" `), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, version string
			env           []string
			want          string
		}{
			{"wixl warning", "1.2.3", []string{"WXS=" + warned}, "wixl printed warnings"},
			{"two-part version", "1.2", nil, "is not MAJOR.MINOR.BUILD"},
			{"version out of range", "256.0.1", nil, "out of the MSI range"},
			{"certificate without key", "1.2.3", []string{"SIGN_KEY="}, "set both SIGN_CERT and SIGN_KEY"},
			{"no binary", "1.2.3", []string{"BIN=" + t.TempDir()}, "avscout-windows-amd64.exe does not exist"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				outDir := t.TempDir()
				_, out, err := f.build(t, tc.version, append(tc.env, "OUT="+outDir)...)
				if err == nil || !bytes.Contains(out, []byte(tc.want)) {
					t.Errorf("err %v, want a failure saying %q:\n%s", err, tc.want, out)
				}
				if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
					t.Errorf("a failed build left %s", ents[0].Name())
				}
			})
		}
	})

	if testing.Short() {
		t.Skip("-short: the Wine install/upgrade/uninstall run is skipped")
	}
	t.Run("wine", func(t *testing.T) { testUnderWine(t, f, msi) })
}

var regLine = regexp.MustCompile(`^\s+(\S+)\s+(REG_\w+)\s+(.*)$`)
