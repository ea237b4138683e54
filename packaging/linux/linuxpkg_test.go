//go:build linux

package linuxpkg_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/packaging/linux/linuxpkgtest"
)

const (
	v1, v2       = "0.1.40", "0.1.41"
	collectorURL = "https://collector.example:8443"
	// a fixed commit time: the packages must then be byte-identical
	sourceDateEpoch = "1796000000"
)

// build holds what the package tests share: the binaries, the rendered
// unit and two builds of the packages, the second one version higher and
// with a changed default config (as a release that edits
// config.example.yaml would ship).
type build struct {
	bin, out1, out2 string
	unit            []byte // `avscout service unit` for /usr/bin/avscout
	config1         []byte // the default config.yaml of out1
	config2         []byte // the default config.yaml of out2
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s (scripts/install-deps.sh installs it): %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test installs packages into a test root (chroot) and needs root (CI runs as root)")
	}
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildAll builds the binaries for linux/amd64 like `make cross`, then
// the packages twice with build.sh.
func buildAll(t *testing.T) *build {
	t.Helper()
	root := repoRoot(t)
	goBin := linuxpkgtest.GoBinary(t, root)
	b := &build{bin: t.TempDir(), out1: t.TempDir(), out2: t.TempDir()}
	linuxpkgtest.BuildBinaries(t, root, goBin, b.bin, v1+"+gtest")
	var err error
	if b.config1, err = os.ReadFile(filepath.Join(root, "packaging", "config.example.yaml")); err != nil {
		t.Fatal(err)
	}
	b.config2 = append(append([]byte(nil), b.config1...), "\n# a setting added in the next release\n"...)
	config2 := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config2, b.config2, 0o600); err != nil {
		t.Fatal(err)
	}
	buildSh := filepath.Join(root, "packaging", "linux", "build.sh")
	env := []string{"BIN=" + b.bin, "ARCHES=amd64", "GO=" + goBin, "SOURCE_DATE_EPOCH=" + sourceDateEpoch}
	run(t, append(env, "OUT="+b.out1, "VERSION="+v1+"+gtest", "PKG_VERSION="+v1), buildSh)
	run(t, append(env, "OUT="+b.out2, "VERSION="+v2+"+gtest", "PKG_VERSION="+v2, "AGENT_CONFIG="+config2), buildSh)
	b.unit = []byte(run(t, nil, filepath.Join(b.bin, "avscout-linux-amd64"), "service", "unit", "--init", "systemd", "--path", "/usr/bin/avscout"))
	return b
}

// newRoot makes a test root for dpkg --root and rpm --root, which chroot
// into it to run the maintainer scripts: an empty dpkg database
// (dpkgtest.InitDB), a static busybox as /bin/sh and
// the few utilities the scripts use, /dev/null, and a systemctl stand-in
// that records its arguments in /systemctl.log. systemd cannot run in a
// chroot, so that stand-in is the only fake here; with
// systemdRunning, /run/systemd/system exists as under a booted systemd
// (sd_booted(3)), so the scripts also reload, start and stop.
func newRoot(t *testing.T, systemdRunning bool) string {
	t.Helper()
	const busybox = "/bin/busybox"
	f, err := elf.Open(busybox)
	if err != nil {
		t.Fatalf("this test needs a static busybox at %s (Debian package busybox-static): %v", busybox, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked: install busybox-static, not busybox", busybox)
		}
	}
	f.Close()
	r := t.TempDir()
	dpkgtest.InitDB(t, r)
	for _, d := range []string{"bin", "usr/bin", "tmp", "dev"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r, "bin/busybox"), string(data), 0o755)
	for _, applet := range []string{"sh", "sed", "tail", "head", "tr", "rm", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(r, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mknod(filepath.Join(r, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("mknod /dev/null in the test root: %v", err)
	}
	writeFile(t, filepath.Join(r, "usr/bin/systemctl"), "#!/bin/sh\necho \"$*\" >> /systemctl.log\n", 0o755)
	if systemdRunning {
		if err := os.MkdirAll(filepath.Join(r, "run/systemd/system"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// systemctlLog returns what the stand-in recorded and empties it.
func systemctlLog(t *testing.T, r string) string {
	t.Helper()
	p := filepath.Join(r, "systemctl.log")
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	return string(b)
}

// wantFile checks a file's type, mode, owner and (if content is not nil)
// content.
func wantFile(t *testing.T, r, path string, mode os.FileMode, content []byte) {
	t.Helper()
	st, err := os.Lstat(filepath.Join(r, path))
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if st.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, st.Mode(), mode)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 0 || sys.Gid != 0 {
		t.Errorf("%s: owner %d:%d, want root:root", path, sys.Uid, sys.Gid)
	}
	if content != nil {
		got, err := os.ReadFile(filepath.Join(r, path))
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("%s: content differs from the expected %d bytes (got %d bytes, %v)", path, len(content), len(got), err)
		}
	}
}

func wantGone(t *testing.T, r string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(filepath.Join(r, p)); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v)", p, err)
		}
	}
}

func wantLog(t *testing.T, r, step, want string) {
	t.Helper()
	if got := systemctlLog(t, r); got != want {
		t.Errorf("%s: systemctl calls:\n%s\nwant:\n%s", step, got, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// adminEdit is what an admin does to the installed config: set the
// collector.
func adminEdit(t *testing.T, r string) []byte {
	t.Helper()
	p := filepath.Join(r, "etc/avscout/config.yaml")
	old := mustRead(t, p)
	edited := bytes.Replace(old, []byte("  #url: \"\"\n"), []byte("  url: "+collectorURL+"\n"), 1)
	if bytes.Equal(edited, old) {
		t.Fatal("config.example.yaml has no `  #url: \"\"` line to edit")
	}
	if err := os.WriteFile(p, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	return edited
}

func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and installs packages (-short)")
	}
	needTools(t, "dpkg", "dpkg-query", "dpkg-deb", "rpm", "systemd-analyze", "unshare")
	b := buildAll(t)
	t.Run("names and metadata", func(t *testing.T) { testMetadata(t, b) })
	t.Run("rebuild", func(t *testing.T) { testRebuild(t, b) })
	t.Run("deb agent", func(t *testing.T) { testDebAgent(t, b) })
	t.Run("deb agent with collector in /etc/default", func(t *testing.T) { testDebAgentEnvCollector(t, b) })
	t.Run("deb conffile prompt", func(t *testing.T) { testDebConffilePrompt(t, b) })
	t.Run("deb collector", func(t *testing.T) { testDebCollector(t, b) })
	t.Run("rpm agent", func(t *testing.T) { testRPMAgent(t, b) })
	t.Run("rpm collector", func(t *testing.T) { testRPMCollector(t, b) })
	t.Run("units verify", func(t *testing.T) { testUnitsVerify(t, b) })
}

func deb(out, name, version string) string {
	return filepath.Join(out, name+"_"+version+"_amd64.deb")
}

func rpmFile(out, name, version string) string {
	return filepath.Join(out, name+"-"+version+"-1.x86_64.rpm")
}

func testMetadata(t *testing.T, b *build) {
	for _, name := range []string{"avscout", "avscout-collector"} {
		got := run(t, nil, "dpkg-deb", "--show", "--showformat",
			"${Package}|${Version}|${Architecture}|${Section}|${Maintainer}|${Homepage}|${Depends}|${Pre-Depends}\n", deb(b.out1, name, v1))
		want := name + "|" + v1 + "|amd64|admin|avscout maintainers <maintainers@avscout.io>|https://github.com/avscout/avscout||\n"
		if got != want {
			t.Errorf("%s deb control: %q, want %q", name, got, want)
		}
		got = run(t, nil, "rpm", "-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{GROUP}|%{LICENSE}|%{URL}\n", rpmFile(b.out1, name, v1))
		want = name + "|" + v1 + "|1|x86_64|Applications/System|LicenseRef-avscout|https://github.com/avscout/avscout\n"
		if got != want {
			t.Errorf("%s rpm header: %q, want %q", name, got, want)
		}
		// A static binary needs nothing; rpm adds only its own rpmlib() features.
		for _, req := range strings.Split(strings.TrimSpace(run(t, nil, "rpm", "-qpR", rpmFile(b.out1, name, v1))), "\n") {
			if req != "" && !strings.HasPrefix(req, "rpmlib(") {
				t.Errorf("%s rpm requires %q", name, req)
			}
		}
	}
	conf := run(t, nil, "rpm", "-qpc", rpmFile(b.out1, "avscout", v1))
	if conf != "/etc/avscout/config.yaml\n" {
		t.Errorf("rpm -qpc: %q, want /etc/avscout/config.yaml", conf)
	}
	// %config(noreplace): rpm's file flags c (config) and n (noreplace).
	flags := run(t, nil, "rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpmFile(b.out1, "avscout", v1))
	if !strings.Contains(flags, "/etc/avscout/config.yaml cn\n") {
		t.Errorf("rpm file flags:\n%s\nwant /etc/avscout/config.yaml cn", flags)
	}
	if !strings.Contains(string(b.unit), "\nExecStart=/usr/bin/avscout \"service\" \"run\"\n") {
		t.Errorf("rendered unit's ExecStart:\n%s", b.unit)
	}
}

// testRebuild builds the packages once more, for amd64 and arm64 (the
// amd64 binaries stand in for the arm64 ones), and checks that the amd64
// ones are the same bytes as the first build and the arm64 names and
// architecture fields.
func testRebuild(t *testing.T, b *build) {
	bin, out := t.TempDir(), t.TempDir()
	for _, name := range []string{"avscout", "avscout-collector"} {
		data := string(mustRead(t, filepath.Join(b.bin, name+"-linux-amd64")))
		writeFile(t, filepath.Join(bin, name+"-linux-amd64"), data, 0o755)
		writeFile(t, filepath.Join(bin, name+"-linux-arm64"), data, 0o755)
	}
	run(t, []string{"BIN=" + bin, "OUT=" + out, "ARCHES=amd64 arm64", "VERSION=" + v1 + "+gtest", "PKG_VERSION=" + v1,
		"SOURCE_DATE_EPOCH=" + sourceDateEpoch}, filepath.Join(repoRoot(t), "packaging/linux/build.sh"))
	t.Run("reproducible", func(t *testing.T) { testReproducible(t, b, out) })
	t.Run("arm64 names", func(t *testing.T) { testArm64Names(t, out) })
}

func testReproducible(t *testing.T, b *build, out string) {
	for _, f := range []string{deb(out, "avscout", v1), rpmFile(out, "avscout", v1), deb(out, "avscout-collector", v1), rpmFile(out, "avscout-collector", v1)} {
		again := mustRead(t, f)
		first := mustRead(t, filepath.Join(b.out1, filepath.Base(f)))
		if !bytes.Equal(again, first) {
			t.Errorf("%s: a second build with the same SOURCE_DATE_EPOCH differs", filepath.Base(f))
		}
	}
}

// testArm64Names checks the arm64 file names and architecture fields.
func testArm64Names(t *testing.T, out string) {
	for _, name := range []string{"avscout", "avscout-collector"} {
		if got := run(t, nil, "dpkg-deb", "-f", filepath.Join(out, name+"_"+v1+"_arm64.deb"), "Architecture"); got != "arm64\n" {
			t.Errorf("%s arm64 deb: Architecture %q", name, got)
		}
		if got := run(t, nil, "rpm", "-qp", "--qf", "%{ARCH}\n", filepath.Join(out, name+"-"+v1+"-1.aarch64.rpm")); got != "aarch64\n" {
			t.Errorf("%s aarch64 rpm: ARCH %q", name, got)
		}
	}
}

func dpkg(t *testing.T, r string, args ...string) string {
	t.Helper()
	return run(t, nil, "dpkg", append([]string{"--root=" + r}, args...)...)
}

func dpkgQuery(t *testing.T, r, format, pkg string) (string, error) {
	out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(r, "var/lib/dpkg"), "-W", "-f", format, pkg).CombinedOutput()
	return string(out), err
}

func wantDpkgStatus(t *testing.T, r, pkg, want string) {
	t.Helper()
	got, err := dpkgQuery(t, r, "${Version} ${db:Status-Status}", pkg)
	if err != nil || got != want {
		t.Errorf("dpkg-query %s: %q (%v), want %q", pkg, got, err, want)
	}
}

func testDebAgent(t *testing.T, b *build) {
	r := newRoot(t, false)
	out := dpkg(t, r, "-i", deb(b.out1, "avscout", v1))
	if !strings.Contains(out, "avscout: no collector configured, the service was not started.") {
		t.Errorf("install without a collector says:\n%s", out)
	}
	wantLog(t, r, "install without a collector", "")
	wantDpkgStatus(t, r, "avscout", v1+" installed")
	if conf, _ := dpkgQuery(t, r, "${Conffiles}", "avscout"); !strings.HasPrefix(strings.TrimSpace(conf), "/etc/avscout/config.yaml ") {
		t.Errorf("conffiles: %q, want /etc/avscout/config.yaml", conf)
	}
	wantFile(t, r, "usr/bin/avscout", 0o755, mustRead(t, filepath.Join(b.bin, "avscout-linux-amd64")))
	wantFile(t, r, "usr/lib/systemd/system/avscout.service", 0o644, b.unit)
	wantFile(t, r, "etc/avscout", os.ModeDir|0o755, nil)
	wantFile(t, r, "etc/avscout/config.yaml", 0o600, b.config1)
	wantFile(t, r, "var/lib/avscout", os.ModeDir|0o700, nil)

	// The admin sets the collector; systemd runs from now on. The next
	// release changed the default config: dpkg keeps the admin's
	// (--force-confold answers its question as unattended upgrades do)
	// and puts the new default next to it.
	edited := adminEdit(t, r)
	if err := os.MkdirAll(filepath.Join(r, "run/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r, "var/lib/avscout/state.json"), "{}", 0o600)
	out = dpkg(t, r, "--force-confold", "-i", deb(b.out2, "avscout", v2))
	wantDpkgStatus(t, r, "avscout", v2+" installed")
	wantFile(t, r, "etc/avscout/config.yaml", 0o600, edited)
	wantFile(t, r, "etc/avscout/config.yaml.dpkg-dist", 0o600, b.config2)
	// old prerm upgrade: nothing; old postrm upgrade: reload; new postinst
	// configure: reload, enable, restart.
	wantLog(t, r, "upgrade with a collector", "daemon-reload\ndaemon-reload\nenable avscout.service\nrestart avscout.service\n")
	if strings.Contains(out, "not started") {
		t.Errorf("upgrade with a collector says:\n%s", out)
	}

	dpkg(t, r, "-r", "avscout")
	wantLog(t, r, "remove", "stop avscout.service\ndisable avscout.service\ndaemon-reload\n")
	wantDpkgStatus(t, r, "avscout", v2+" config-files")
	wantGone(t, r, "usr/bin/avscout", "usr/lib/systemd/system/avscout.service")
	wantFile(t, r, "etc/avscout/config.yaml", 0o600, edited)
	wantFile(t, r, "var/lib/avscout/state.json", 0o600, nil)

	dpkg(t, r, "-P", "avscout")
	wantLog(t, r, "purge", "daemon-reload\n")
	wantGone(t, r, "etc/avscout", "var/lib/avscout")
	if got, err := dpkgQuery(t, r, "${db:Status-Status}", "avscout"); err == nil && got != "not-installed" {
		t.Errorf("after purge dpkg-query says %q", got)
	}
}

func testDebAgentEnvCollector(t *testing.T, b *build) {
	r := newRoot(t, true)
	writeFile(t, filepath.Join(r, "etc/default/avscout"), "# set by the fleet's provisioning\nAVSCOUT_COLLECTOR_URL=\""+collectorURL+"\"\n", 0o644)
	out := dpkg(t, r, "-i", deb(b.out1, "avscout", v1))
	wantLog(t, r, "install with a collector", "daemon-reload\nenable avscout.service\nstart avscout.service\n")
	if strings.Contains(out, "not started") {
		t.Errorf("install with a collector says:\n%s", out)
	}
	// A config the agent refuses (a typo in a setting's name) starts
	// nothing, and says why.
	config := filepath.Join(r, "etc/avscout/config.yaml")
	writeFile(t, config, strings.Replace(string(mustRead(t, config)), "schedule:", "schedul:", 1), 0o600)
	out = dpkg(t, r, "--force-confold", "-i", deb(b.out2, "avscout", v2))
	if !strings.Contains(out, "avscout: the service was not started, the configuration is not valid:") || !strings.Contains(out, "schedul") {
		t.Errorf("upgrade with an invalid config says:\n%s", out)
	}
	wantLog(t, r, "upgrade with an invalid config", "daemon-reload\ndaemon-reload\n")
}

// What dpkg does without --force-confold when the admin edited the
// config and the new release changed its default: it asks, and with no
// terminal (stdin at end of file) the upgrade stops, unpacked but not configured, until
// `dpkg --configure` answers. Unattended upgrades must pass
// --force-confold (apt: -o Dpkg::Options::=--force-confold; Ansible's
// apt module does by default).
func testDebConffilePrompt(t *testing.T, b *build) {
	r := newRoot(t, false)
	dpkg(t, r, "-i", deb(b.out1, "avscout", v1))
	edited := adminEdit(t, r)
	cmd := exec.Command("dpkg", "--root="+r, "-i", deb(b.out2, "avscout", v2))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "end of file on stdin at conffile prompt") {
		t.Errorf("upgrade without a terminal or --force-confold: %v\n%s", err, out)
	}
	wantDpkgStatus(t, r, "avscout", v2+" unpacked")
	dpkg(t, r, "--force-confold", "--configure", "avscout")
	wantDpkgStatus(t, r, "avscout", v2+" installed")
	wantFile(t, r, "etc/avscout/config.yaml", 0o600, edited)
}

func testDebCollector(t *testing.T, b *build) {
	r := newRoot(t, true)
	out := dpkg(t, r, "-i", deb(b.out1, "avscout-collector", v1))
	if !strings.Contains(out, "avscout-collector: not started.") {
		t.Errorf("collector install says:\n%s", out)
	}
	wantLog(t, r, "collector install", "daemon-reload\n")
	wantDpkgStatus(t, r, "avscout-collector", v1+" installed")
	wantFile(t, r, "usr/bin/avscout-collector", 0o755, mustRead(t, filepath.Join(b.bin, "avscout-collector-linux-amd64")))
	wantFile(t, r, "usr/lib/systemd/system/avscout-collector.service", 0o644, mustRead(t, filepath.Join(repoRoot(t), "packaging/linux/avscout-collector.service")))
	wantFile(t, r, "etc/default/avscout-collector", 0o644, mustRead(t, filepath.Join(repoRoot(t), "packaging/linux/avscout-collector.default")))
	wantFile(t, r, "etc/avscout-collector", os.ModeDir|0o755, nil)
	if conf, _ := dpkgQuery(t, r, "${Conffiles}", "avscout-collector"); !strings.HasPrefix(strings.TrimSpace(conf), "/etc/default/avscout-collector ") {
		t.Errorf("collector conffiles: %q", conf)
	}
	dpkg(t, r, "-i", deb(b.out2, "avscout-collector", v2))
	wantLog(t, r, "collector upgrade", "daemon-reload\ndaemon-reload\ntry-restart avscout-collector.service\n")
	writeFile(t, filepath.Join(r, "etc/avscout-collector/admin-token"), "0123456789abcdef0123", 0o600)
	writeFile(t, filepath.Join(r, "var/lib/private/avscout-collector/avscout.db"), "", 0o600)
	dpkg(t, r, "-P", "avscout-collector")
	wantLog(t, r, "collector purge", "stop avscout-collector.service\ndisable avscout-collector.service\ndaemon-reload\ndaemon-reload\n")
	wantGone(t, r, "usr/bin/avscout-collector", "usr/lib/systemd/system/avscout-collector.service", "etc/default/avscout-collector",
		"etc/avscout-collector", "var/lib/private/avscout-collector")
}

func rpmCmd(t *testing.T, r string, args ...string) string {
	t.Helper()
	return run(t, nil, "rpm", append([]string{"--root", r, "--dbpath", "/var/lib/rpm"}, args...)...)
}

func testRPMAgent(t *testing.T, b *build) {
	r := newRoot(t, true)
	out := rpmCmd(t, r, "-i", rpmFile(b.out1, "avscout", v1))
	if !strings.Contains(out, "avscout: no collector configured, the service was not started.") {
		t.Errorf("install without a collector says:\n%s", out)
	}
	wantLog(t, r, "install without a collector", "daemon-reload\n")
	if got := rpmCmd(t, r, "-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", "avscout"); got != "avscout "+v1+"-1\n" {
		t.Errorf("rpm -q: %q", got)
	}
	wantFile(t, r, "usr/bin/avscout", 0o755, mustRead(t, filepath.Join(b.bin, "avscout-linux-amd64")))
	wantFile(t, r, "usr/lib/systemd/system/avscout.service", 0o644, b.unit)
	wantFile(t, r, "etc/avscout/config.yaml", 0o600, b.config1)
	wantFile(t, r, "var/lib/avscout", os.ModeDir|0o700, nil)
	if got := rpmCmd(t, r, "-V", "avscout"); got != "" {
		t.Errorf("rpm -V after install: %q", got)
	}

	edited := adminEdit(t, r)
	rpmCmd(t, r, "-U", rpmFile(b.out2, "avscout", v2))
	wantFile(t, r, "etc/avscout/config.yaml", 0o600, edited)
	wantFile(t, r, "etc/avscout/config.yaml.rpmnew", 0o600, b.config2)
	// new %post 2: reload, enable, restart; old %preun 1: nothing; old %postun 1: reload.
	wantLog(t, r, "upgrade with a collector", "daemon-reload\nenable avscout.service\nrestart avscout.service\ndaemon-reload\n")

	rpmCmd(t, r, "-e", "avscout")
	wantLog(t, r, "erase", "stop avscout.service\ndisable avscout.service\ndaemon-reload\n")
	wantGone(t, r, "usr/bin/avscout", "usr/lib/systemd/system/avscout.service", "etc/avscout/config.yaml")
	wantFile(t, r, "etc/avscout/config.yaml.rpmsave", 0o600, edited)
	if out, err := exec.Command("rpm", "--root", r, "--dbpath", "/var/lib/rpm", "-q", "avscout").CombinedOutput(); err == nil {
		t.Errorf("after erase rpm -q says %s", out)
	}
}

func testRPMCollector(t *testing.T, b *build) {
	r := newRoot(t, false)
	out := rpmCmd(t, r, "-i", rpmFile(b.out1, "avscout-collector", v1))
	if !strings.Contains(out, "avscout-collector: not started.") {
		t.Errorf("collector install says:\n%s", out)
	}
	wantLog(t, r, "collector install without systemd", "")
	wantFile(t, r, "usr/bin/avscout-collector", 0o755, nil)
	wantFile(t, r, "etc/default/avscout-collector", 0o644, nil)
	if conf := rpmCmd(t, r, "-qc", "avscout-collector"); conf != "/etc/default/avscout-collector\n" {
		t.Errorf("collector rpm -qc: %q", conf)
	}
	rpmCmd(t, r, "-e", "avscout-collector")
	wantLog(t, r, "collector erase without systemd", "disable avscout-collector.service\n")
	wantGone(t, r, "usr/bin/avscout-collector", "usr/lib/systemd/system/avscout-collector.service", "etc/default/avscout-collector")
}

// testUnitsVerify runs the real systemd-analyze verify on the packaged
// units. It checks that ExecStart's program exists, so it runs in a
// private mount namespace where /usr/bin is a read-only overlay of the
// packaged binaries over the host's.
func testUnitsVerify(t *testing.T, b *build) {
	x := t.TempDir()
	run(t, nil, "dpkg-deb", "-x", deb(b.out1, "avscout", v1), x)
	run(t, nil, "dpkg-deb", "-x", deb(b.out1, "avscout-collector", v1), x)
	units := filepath.Join(x, "usr/lib/systemd/system")
	script := `set -e
mount -t overlay overlay -o lowerdir=` + filepath.Join(x, "usr/bin") + `:/usr/bin /usr/bin
systemd-analyze verify ` + units + `/avscout.service ` + units + `/avscout-collector.service
systemd-analyze security --offline=true ` + units + `/avscout-collector.service | tail -n 1
`
	out := run(t, nil, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "Overall exposure level for avscout-collector.service") {
		t.Errorf("systemd-analyze verify has warnings, or security no score:\n%s", out)
	}
	t.Log(lines[len(lines)-1])
}

// Bad input is refused before anything is built, with a message naming it.
func TestBuildBadInput(t *testing.T) {
	root := repoRoot(t)
	bin := t.TempDir()
	for _, name := range []string{"avscout-linux-amd64", "avscout-collector-linux-amd64"} {
		writeFile(t, filepath.Join(bin, name), "#!/bin/sh\n", 0o755)
	}
	good := []string{"BIN=" + bin, "OUT=" + t.TempDir(), "ARCHES=amd64", "VERSION=0.1.40+gabc", "PKG_VERSION=0.1.40"}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no BIN", []string{"BIN="}, "BIN is not set"},
		{"BIN missing", []string{"BIN=" + filepath.Join(bin, "nope")}, "no such folder"},
		{"no OUT", []string{"OUT="}, "OUT is not set"},
		{"no PKG_VERSION", []string{"PKG_VERSION="}, "PKG_VERSION is not set"},
		{"two-part version", []string{"PKG_VERSION=0.1", "VERSION=0.1"}, "PKG_VERSION=0.1: want MAJOR.MINOR.BUILD"},
		{"leading zero", []string{"PKG_VERSION=0.01.2", "VERSION=0.01.2"}, "want MAJOR.MINOR.BUILD"},
		{"v prefix", []string{"PKG_VERSION=v0.1.40", "VERSION=v0.1.40"}, "want MAJOR.MINOR.BUILD"},
		{"VERSION of another build", []string{"VERSION=0.1.39+gabc"}, "does not start with PKG_VERSION"},
		{"space in VERSION", []string{"VERSION=0.1.40+g abc"}, "only letters, digits"},
		{"missing arm64 binaries", []string{"ARCHES=amd64 arm64"}, "avscout-linux-arm64: missing"},
		{"unknown arch", []string{"ARCHES=386"}, "ARCHES: 386: want amd64 or arm64"},
		{"missing config", []string{"AGENT_CONFIG=" + filepath.Join(bin, "nope.yaml")}, "AGENT_CONFIG="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(root, "packaging/linux/build.sh"))
			cmd.Env = append(append(os.Environ(), good...), tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("build.sh succeeded:\n%s", out)
			}
			if !strings.Contains(string(out), "packaging/linux/build.sh: ") || !strings.Contains(string(out), tt.want) {
				t.Errorf("build.sh says:\n%s\nwant %q", out, tt.want)
			}
		})
	}
	// A binary that is not executable.
	if err := os.Chmod(filepath.Join(bin, "avscout-collector-linux-amd64"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "packaging/linux/build.sh"))
	cmd.Env = append(os.Environ(), good...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "avscout-collector-linux-amd64: not executable") {
		t.Errorf("non-executable binary: %v\n%s", err, out)
	}
}
