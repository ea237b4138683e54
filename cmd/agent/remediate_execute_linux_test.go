//go:build linux

package main

// `avscout remediate --execute` for real, on Linux: Debian packages built
// with dpkg-deb — Kaspersky-like ones (KESL and Network Agent, maintainer
// "AO Kaspersky Lab") and a ClamAV-like decoy — installed by dpkg into a
// throwaway root, and the real avscout run *inside* that root (chroot) in
// a private mount and PID namespace (unshare) where the host's /usr is
// bound read-only, so that the dpkg it runs acts on the
// throwaway root's database and files and can touch nothing of this
// machine. The namespace and its mounts vanish with the test.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/detect/rpm/rpmtest"
	"github.com/avscout/avscout/internal/report"
)

// throwawayScript runs in the new namespaces: $1 is the root, $2… the
// avscout command line inside it. It makes every mount private first, so
// that nothing propagates back to this machine.
const throwawayScript = `set -e
root=$1; shift
mount --make-rprivate /
mount --bind /usr "$root/usr"
mount -o remount,bind,ro "$root/usr"
mount --bind /dev/null "$root/dev/null"
mount -t proc proc "$root/proc"
set +e
chroot "$root" "$@" > "$root/tmp/stdout" 2> "$root/tmp/stderr" < /dev/null
echo $? > "$root/tmp/rc"
`

func TestRemediateExecuteDebianThrowawayRoot(t *testing.T) {
	root := throwawayRoot(t, "debian12")
	const kaspersky = "AO Kaspersky Lab <support@kaspersky.com>"
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kaspersky, Description: "Kaspersky Endpoint Security for Linux",
			Files: map[string]string{
				"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n",
				"/etc/opt/kaspersky/kesl.conf":         "[General]\n",
			},
			Conffiles: []string{"/etc/opt/kaspersky/kesl.conf"}},
		{Name: "klnagent64", Version: "15.1.0-20748", Maintainer: kaspersky, Description: "Kaspersky Security Center Network Agent",
			Files: map[string]string{"/opt/kaspersky/klnagent64/sbin/klnagent": "#!/bin/sh\n"}},
		// The decoy: ClamAV's daemon package as Debian names it, its
		// configuration where ClamAV keeps it.
		{Name: "clamav-daemon", Version: "1.0.7+dfsg-1~deb12u1", Maintainer: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>",
			Description: "ClamAV daemon",
			Files:       map[string]string{"/etc/clamav/clamd.conf": "LocalSocket /run/clamav/clamd.ctl\n"},
			Conffiles:   []string{"/etc/clamav/clamd.conf"}},
	})
	installAvscout(t, root)
	hostStatus, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	inRoot := func(args ...string) (string, string, string) { t.Helper(); return runInRoot(t, root, args...) }

	// Without --yes, standard input not a terminal: nothing is done.
	_, stderr, code := inRoot("remediate", "--execute")
	if code != "2" || !strings.Contains(stderr, "not a terminal") {
		t.Fatalf("--execute without --yes: exit %s\n%s", code, stderr)
	}
	if st := dpkgStatus(t, root, "kesl"); st != "install ok installed" {
		t.Fatalf("kesl is %q after a refused run", st)
	}
	// --product names only restricted products of the plan.
	_, stderr, code = inRoot("remediate", "--execute", "--yes", "--product", "clamav")
	if code != "2" || !strings.Contains(stderr, "not a restricted product") {
		t.Fatalf("--product clamav: exit %s\n%s", code, stderr)
	}

	stdout, stderr, code := inRoot("remediate", "--execute", "--yes", "--format", "json")
	if code != "0" {
		t.Fatalf("remediate --execute --yes: exit %s\nstderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("final report: %v\n%s", err, stdout)
	}
	if report.VerdictOf(&r) != report.VerdictCompliant {
		t.Errorf("final verdict %s", report.VerdictOf(&r))
	}
	for _, p := range r.Products {
		if p.Restricted {
			t.Errorf("restricted product left: %s (%s)", p.ID, p.State)
		}
	}
	if _, ok := product(&r, "clamav"); !ok {
		t.Errorf("the decoy is gone from the report: %v", productIDs(&r))
	}
	// Exactly the restricted packages purged, Network Agent after KESL.
	for name, want := range map[string]string{"kesl": "", "klnagent64": "", "clamav-daemon": "install ok installed"} {
		if got := dpkgStatus(t, root, name); got != want {
			t.Errorf("package %s: status %q, want %q", name, got, want)
		}
	}
	for _, p := range []string{"opt/kaspersky/kesl/bin/kesl-control", "etc/opt/kaspersky/kesl.conf", "opt/kaspersky/klnagent64/sbin/klnagent"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/clamav/clamd.conf")); err != nil {
		t.Errorf("the decoy's file: %v", err)
	}
	kesl := strings.Index(stderr, "kaspersky-endpoint-security-linux: running /usr/bin/dpkg --purge kesl")
	nag := strings.Index(stderr, "kaspersky-network-agent: running /usr/bin/dpkg --purge klnagent64")
	if kesl < 0 || nag < kesl {
		t.Errorf("want KESL purged, then Network Agent:\n%s", stderr)
	}
	if !strings.Contains(stderr, "the host is compliant") {
		t.Errorf("stderr:\n%s", stderr)
	}
	// This machine's own package database was not touched.
	if after, err := os.ReadFile("/var/lib/dpkg/status"); err != nil || !bytes.Equal(after, hostStatus) {
		t.Errorf("this machine's /var/lib/dpkg/status changed (%v)", err)
	}

	// Run again: nothing left to do, still compliant.
	_, stderr, code = inRoot("remediate", "--execute")
	if code != "0" || !strings.Contains(stderr, "no restricted product found") {
		t.Errorf("second run: exit %s\n%s", code, stderr)
	}
}

// dpkgStatus is the Status of package name in root's dpkg database, ""
// when it is not there (purged).
func dpkgStatus(t *testing.T, root, name string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "--admindir", filepath.Join(root, "var/lib/dpkg"), "-W", "-f", "${Status}", name).Output()
	if err != nil {
		return "" // dpkg-query: no packages found matching name
	}
	if s := strings.TrimSpace(string(out)); s != "unknown ok not-installed" {
		return s
	}
	return ""
}

// throwawayRoot lays out a root that avscout and the package tools can
// run in, chrooted: this machine's /usr is bound into it (read-only) when
// it runs, its own /etc, /var, /opt and /tmp are its own.
func throwawayRoot(t *testing.T, release string) string {
	t.Helper()
	for _, tool := range []string{"unshare", "chroot", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s (scripts/install-deps.sh installs it): %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts in a private namespace and chroots, and needs root (CI runs as root)")
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"usr", "proc", "dev", "tmp", "etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d",
		"var/cache/apt/archives/partial", "var/lib/apt/lists/partial", "var/log/apt"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} { // merged /usr, as Debian 12
		if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "dev/null"), "")
	rel, ok := osReleases[release]
	if !ok {
		t.Fatalf("no os-release %q", release)
	}
	writeFile(t, filepath.Join(root, "etc/os-release"), rel)
	writeFile(t, filepath.Join(root, "etc/hostname"), "throwaway\n")
	writeFile(t, filepath.Join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n")
	return root
}

// installAvscout puts the test's avscout binary at /avscout in root.
func installAvscout(t *testing.T, root string) {
	t.Helper()
	bin, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, filepath.Join(root, "avscout"), bin, 0o755)
}

// runInRoot runs /avscout args... chrooted into root, in a private mount
// and PID namespace, and returns its stdout, stderr and exit code.
func runInRoot(t *testing.T, root string, args ...string) (stdout, stderr, code string) {
	t.Helper()
	cmd := exec.Command("unshare", append([]string{"--mount", "--pid", "--fork", "--propagation", "private",
		"sh", "-c", throwawayScript, "throwaway", root, "/avscout"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unshare: %v\n%s", err, out)
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(root, "tmp", name))
		return string(b)
	}
	return read("stdout"), read("stderr"), strings.TrimSpace(read("rc"))
}

// A step that fails stops the run: KESL's package refuses removal in its
// prerm script (as a product whose self-defence or password blocks the
// uninstall does), so the run stops there with the command's output,
// exits 1, and Network Agent, planned after it, is left alone.
func TestRemediateExecuteStopsAtFailure(t *testing.T) {
	root := throwawayRoot(t, "debian12")
	const kaspersky = "AO Kaspersky Lab <support@kaspersky.com>"
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "klnagent64", Version: "15.1.0-20748", Maintainer: kaspersky,
			Files: map[string]string{"/opt/kaspersky/klnagent64/sbin/klnagent": "#!/bin/sh\n"}},
		// kesl with a prerm that refuses.
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kaspersky,
			Files:   map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"},
			Scripts: map[string]string{"prerm": "#!/bin/sh\necho 'kesl: removal refused: password protection is on' >&2\nexit 1\n"}},
	})
	installAvscout(t, root)

	stdout, stderr, code := runInRoot(t, root, "remediate", "--execute", "--yes", "--format", "json")
	if code != "1" {
		t.Fatalf("exit %s, want 1\n%s", code, stderr)
	}
	for _, want := range []string{"kaspersky-endpoint-security-linux: FAILED", "removal refused: password protection is on",
		"stopped at the failed step; the host is non_compliant"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "kaspersky-network-agent: running") {
		t.Errorf("the run went on past the failure:\n%s", stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("the report after the failure: %v\n%s", err, stdout)
	}
	if report.VerdictOf(&r) != report.VerdictNonCompliant {
		t.Errorf("verdict %s after the failure", report.VerdictOf(&r))
	}
	if st := dpkgStatus(t, root, "klnagent64"); st != "install ok installed" {
		t.Errorf("Network Agent is %q: it comes after the failed step", st)
	}
}

// The same with rpm packages: built by rpmbuild, installed with their
// files by rpm into the throwaway root, whose /etc/rpm/macros points rpm
// at the root's own database as on a Red Hat system. The plan says
// rpm -e (never dnf, which would remove dependents and unneeded packages).
func TestRemediateExecuteRPMThrowawayRoot(t *testing.T) {
	root := throwawayRoot(t, "rocky9")
	writeFile(t, filepath.Join(root, "etc/rpm/macros"), "%_dbpath /var/lib/rpm\n%_db_backend sqlite\n")
	rpmtest.BuildWith(t, root, []rpmtest.Pkg{
		{Name: "kesl", Version: "12.1.0", Release: "2968", Vendor: "AO Kaspersky Lab", Summary: "Kaspersky Endpoint Security for Linux",
			Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}},
		{Name: "clamd", Version: "1.0.7", Release: "1.el9", Vendor: "Fedora Project", Summary: "The ClamAV server daemon",
			Files: map[string]string{"/etc/clamd.d/scan.conf": "LocalSocket /run/clamd.scan/clamd.sock\n"}},
	}, rpmtest.Options{Payload: true})
	installAvscout(t, root)

	stdout, stderr, code := runInRoot(t, root, "remediate", "--execute", "--yes", "--format", "json")
	if code != "0" {
		t.Fatalf("exit %s\nstderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stderr, "kaspersky-endpoint-security-linux: running /usr/bin/rpm -e kesl") {
		t.Errorf("stderr:\n%s", stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("final report: %v\n%s", err, stdout)
	}
	if report.VerdictOf(&r) != report.VerdictCompliant {
		t.Errorf("final verdict %s", report.VerdictOf(&r))
	}
	if _, ok := product(&r, "clamav"); !ok {
		t.Errorf("the decoy is gone from the report: %v", productIDs(&r))
	}
	got := rpmtest.Query(t, root, "/var/lib/rpm", "%{NAME}\n")
	if !slices.Equal(got, []string{"clamd"}) {
		t.Errorf("packages left: %v, want only the decoy clamd", got)
	}
	if _, err := os.Lstat(filepath.Join(root, "opt/kaspersky/kesl/bin/kesl-control")); err == nil {
		t.Error("kesl's file is still there")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/clamd.d/scan.conf")); err != nil {
		t.Errorf("the decoy's file: %v", err)
	}
}

// A package that is not restricted but depends on a restricted one is
// never removed with it: the plan uses dpkg --purge, which refuses
// (apt-get purge would have removed the dependent too), so the run stops
// there, exits 1, and both packages are still installed.
func TestRemediateExecuteKeepsDependents(t *testing.T) {
	root := throwawayRoot(t, "debian12")
	const kaspersky = "AO Kaspersky Lab <support@kaspersky.com>"
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kaspersky, Description: "Kaspersky Endpoint Security for Linux",
			Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}},
	})
	// An in-house connector that depends on kesl.
	dpkgtest.Build(t, root, []dpkgtest.Pkg{{Name: "acme-siem-connector", Version: "2.0", Maintainer: "ACME IT <it@acme.example>",
		Description: "ACME SIEM connector", Depends: "kesl", Files: map[string]string{"/opt/acme/connector": "#!/bin/sh\n"}}})
	installAvscout(t, root)

	_, stderr, code := runInRoot(t, root, "remediate", "--execute", "--yes", "--format", "json")
	if code != "1" || !strings.Contains(stderr, "kaspersky-endpoint-security-linux: FAILED") {
		t.Fatalf("exit %s, want 1 with the purge failed\n%s", code, stderr)
	}
	// (dpkg leaves kesl selected for purge: "purge ok installed".)
	for _, name := range []string{"acme-siem-connector", "kesl"} {
		if st := dpkgStatus(t, root, name); !strings.HasSuffix(st, " ok installed") {
			t.Errorf("package %s: status %q, want still installed", name, st)
		}
	}
	if st := dpkgStatus(t, root, "acme-siem-connector"); st != "install ok installed" {
		t.Errorf("the dependent: status %q", st)
	}
	if !strings.Contains(stderr, "dependency problems") {
		t.Errorf("stderr lacks dpkg's reason:\n%s", stderr)
	}
}
