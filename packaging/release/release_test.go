package release

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// crossBuild builds the release binaries scripts/packages.sh packages,
// named as `make cross` names them.
func crossBuild(t *testing.T, repo, bin, version string) {
	t.Helper()
	goBin := "go" // go test puts its own GOROOT/bin first on PATH
	for _, p := range []struct{ os, arch, cmd, name string }{
		{"linux", "amd64", "agent", "avscout"}, {"linux", "arm64", "agent", "avscout"},
		{"linux", "amd64", "collector", "avscout-collector"}, {"linux", "arm64", "collector", "avscout-collector"},
		{"windows", "amd64", "agent", "avscout"},
		{"darwin", "amd64", "agent", "avscout"}, {"darwin", "arm64", "agent", "avscout"},
	} {
		out := filepath.Join(bin, p.name+"-"+p.os+"-"+p.arch)
		if p.os == "windows" {
			out += ".exe"
		}
		cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/"+p.cmd)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOOS="+p.os, "GOARCH="+p.arch, "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", out, err, b)
		}
	}
}

func TestPackagesScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every release artifact")
	}
	repo := repoRoot(t)
	bin, out := t.TempDir(), filepath.Join(t.TempDir(), "release")
	const pkgVersion, version = "0.1.7", "0.1.7+gabc1234"
	crossBuild(t, repo, bin, version)
	cert, key := testSigningCert(t)

	cmd := exec.Command(filepath.Join(repo, "scripts", "packages.sh"))
	cmd.Env = append(os.Environ(), "BIN="+bin, "OUT="+out, "VERSION="+version, "PKG_VERSION="+pkgVersion,
		"SOURCE_DATE_EPOCH=1764547200", "SIGN_CERT="+cert, "SIGN_KEY="+key)
	b, err := cmd.CombinedOutput()
	t.Logf("scripts/packages.sh:\n%s", b)
	if err != nil {
		t.Fatalf("scripts/packages.sh: %v", err)
	}
	// It says which artifact it is at, not minutes of silence.
	for _, step := range []string{"packaging/linux: avscout amd64 (deb, rpm)", "packaging/linux: avscout-collector arm64 (deb, rpm)",
		"packages: Windows MSI", "packages: macOS pkg", "packages: an SBOM for each artifact"} {
		if !strings.Contains(string(b), step) {
			t.Errorf("scripts/packages.sh does not say %q", step)
		}
	}

	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var artifacts []string
	sboms := map[string]bool{}
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".cdx.json"):
			sboms[strings.TrimSuffix(name, ".cdx.json")] = true
		case name != "SHA256SUMS":
			artifacts = append(artifacts, name)
		}
	}
	sort.Strings(artifacts)
	for _, want := range []string{
		"avscout_" + pkgVersion + "_amd64.deb", "avscout_" + pkgVersion + "_arm64.deb",
		"avscout-collector_" + pkgVersion + "_amd64.deb", "avscout-collector_" + pkgVersion + "_arm64.deb",
		"avscout-" + pkgVersion + "-1.x86_64.rpm", "avscout-" + pkgVersion + "-1.aarch64.rpm",
		"avscout-collector-" + pkgVersion + "-1.x86_64.rpm", "avscout-collector-" + pkgVersion + "-1.aarch64.rpm",
		"avscout-" + pkgVersion + "-windows-amd64.msi", "avscout-" + pkgVersion + ".pkg",
		"avscout-linux-amd64", "avscout-windows-amd64.exe", "avscout-darwin-arm64",
	} {
		if _, err := os.Stat(filepath.Join(out, want)); err != nil {
			t.Errorf("artifact %s missing (have %v)", want, artifacts)
		}
	}
	for _, a := range artifacts {
		if !sboms[a] {
			t.Errorf("%s has no SBOM", a)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(out, a+".cdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			BOMFormat string
			Metadata  struct {
				Component struct{ Name, Version string }
			}
			Components []struct{ Type, Name, Version string }
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Errorf("%s.cdx.json: %v", a, err)
			continue
		}
		apps := 0
		for _, c := range doc.Components {
			if c.Type == "application" {
				apps++
			}
		}
		if doc.BOMFormat != "CycloneDX" || doc.Metadata.Component.Name != a || doc.Metadata.Component.Version != pkgVersion || apps == 0 || len(doc.Components) < 5 {
			t.Errorf("%s.cdx.json: format %q, component %+v, %d components (%d applications)", a, doc.BOMFormat, doc.Metadata.Component, len(doc.Components), apps)
		}
	}

	// The Windows artifacts in the release are the signed ones.
	for _, f := range []string{"avscout-windows-amd64.exe", "avscout-" + pkgVersion + "-windows-amd64.msi"} {
		if b, err := exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", filepath.Join(out, f)).CombinedOutput(); err != nil {
			t.Errorf("%s: osslsigncode verify: %v\n%s", f, err, b)
		}
	}

	// The checksums cover every artifact and SBOM, and verify.
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(sums), "\n"); lines != len(artifacts)+len(sboms) {
		t.Errorf("SHA256SUMS has %d lines for %d files", lines, len(artifacts)+len(sboms))
	}
	check := exec.Command("sha256sum", "--check", "--strict", "SHA256SUMS")
	check.Dir = out
	if b, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum --check: %v\n%s", err, b)
	}
	// And they mean something: a changed artifact fails the check.
	if err := os.WriteFile(filepath.Join(out, "avscout-linux-amd64"), []byte("tampered"), 0o755); err != nil {
		t.Fatal(err)
	}
	check = exec.Command("sha256sum", "--check", "--quiet", "SHA256SUMS")
	check.Dir = out
	if b, err := check.CombinedOutput(); err == nil || !strings.Contains(string(b), "avscout-linux-amd64: FAILED") {
		t.Errorf("a tampered artifact passed: %v\n%s", err, b)
	}
}

// testSigningCert makes a throwaway self-signed code-signing certificate.
func testSigningCert(t *testing.T) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cs.crt"), filepath.Join(dir, "cs.key")
	b, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=avscout release test", "-addext", "extendedKeyUsage=codeSigning",
		"-keyout", key, "-out", cert).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl (apt: openssl): %v\n%s", err, b)
	}
	return cert, key
}

// TestInstallDepsPackaging runs scripts/install-deps.sh --packaging on a
// PATH with none of the tools, and an apt-get that records what it is
// asked for: packaging needs the MSI and plist tools, not the test
// toolchain (Wine, PostgreSQL, Chromium, Ansible).
func TestInstallDepsPackaging(t *testing.T) {
	repo := repoRoot(t)
	for _, tt := range []struct {
		arg       string
		want, not []string
	}{
		{"--packaging", []string{"wixl", "msitools", "osslsigncode", "libplist-utils", "git"},
			[]string{"wine", "wine64", "postgresql", "chromium", "ansible-core", "python3-apt", "gcc-mingw-w64-x86-64-win32", "rpm"}},
		// (postgresql and python3-apt are found by their files, which may exist here.)
		{"", []string{"wixl", "msitools", "wine64", "chromium", "ansible-core"}, nil},
	} {
		t.Run("arg="+tt.arg, func(t *testing.T) {
			stubs := t.TempDir()
			for _, c := range []string{"bash", "dirname", "sort", "id"} {
				p, err := exec.LookPath(c)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(p, filepath.Join(stubs, c)); err != nil {
					t.Fatal(err)
				}
			}
			log := filepath.Join(stubs, "apt.log")
			// It records the request; install fails, which stops the script there.
			stub := "#!" + filepath.Join(stubs, "bash") + "\necho \"$*\" >>" + log + "\n[ \"$1\" = update ]\n"
			if err := os.WriteFile(filepath.Join(stubs, "apt-get"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			script := filepath.Join(repo, "scripts", "install-deps.sh")
			args := []string{script}
			if tt.arg != "" {
				args = append(args, tt.arg)
			}
			cmd := exec.Command(filepath.Join(stubs, "bash"), args...)
			cmd.Env = []string{"PATH=" + stubs}
			out, _ := cmd.CombinedOutput()
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatalf("apt-get not run: %v\n%s", err, out)
			}
			var install []string
			for line := range strings.Lines(string(b)) {
				if f := strings.Fields(line); len(f) > 0 && f[0] == "install" {
					install = f
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(install, w) {
					t.Errorf("does not install %s: %v", w, install)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(install, n) {
					t.Errorf("installs %s, which packaging does not need: %v", n, install)
				}
			}
		})
	}
}
