package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/detect/rpm/rpmtest"
	"github.com/avscout/avscout/internal/report"
)

const (
	kasperskyMaintainer = "AO Kaspersky Lab <support@kaspersky.com>"
	debian12OSRelease   = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
`
	rocky9OSRelease = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
`
	alpineOSRelease = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.3
PRETTY_NAME="Alpine Linux v3.20"
`
)

// newRoot makes a fixture root with an os-release, a hostname and a
// machine id, so the report's host block is stable.
func newRoot(t *testing.T, hostname, osRelease string) string {
	t.Helper()
	root := t.TempDir()
	fixtureRoots[t.Name()] = root
	writeFile(t, filepath.Join(root, "etc/os-release"), osRelease)
	writeFile(t, filepath.Join(root, "etc/hostname"), hostname+"\n")
	writeFile(t, filepath.Join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n")
	return root
}

func unit(t *testing.T, root, name, execStart string) {
	t.Helper()
	writeFile(t, filepath.Join(root, "lib/systemd/system", name),
		"[Unit]\nDescription="+name+"\n\n[Service]\nExecStart="+execStart+"\n\n[Install]\nWantedBy=multi-user.target\n")
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/lib/systemd/system/"+name, filepath.Join(wants, name)); err != nil {
		t.Fatal(err)
	}
}

// A Debian server with Kaspersky Endpoint Security for Linux and Network
// Agent installed, a removed KESL GUI left in config-files state, Defender
// and ClamAV alongside, and packages whose names only look like security
// software.
func TestScanDebianWithKaspersky(t *testing.T) {
	root := newRoot(t, "deb-kesl", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Endpoint Security for Linux",
			Files: map[string]string{
				"/opt/kaspersky/kesl/bin/kesl-control":    "#!/bin/sh\n",
				"/var/opt/kaspersky/kesl/common/kesl.ini": "[General]\n",
			}},
		{Name: "klnagent64", Version: "15.1.0-20748", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Security Center Network Agent",
			Files:       map[string]string{"/opt/kaspersky/klnagent64/bin/klnagent": "#!/bin/sh\n"}},
		{Name: "kesl-gui", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Endpoint Security for Linux GUI",
			Files:       map[string]string{"/etc/opt/kaspersky/kesl-gui.conf": "gui=1\n"},
			Conffiles:   []string{"/etc/opt/kaspersky/kesl-gui.conf"}, Remove: true},
		{Name: "mdatp", Version: "101.24082.0004", Maintainer: "Microsoft Corporation <mdatp@microsoft.com>",
			Files: map[string]string{"/opt/microsoft/mdatp/sbin/wdavdaemon": "#!/bin/sh\n"}},
		{Name: "clamav", Version: "1.0.7+dfsg-1~deb12u1", Maintainer: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>"},
		// decoys
		{Name: "clamz", Version: "0.5-11", Maintainer: "Debian Multimedia Maintainers <debian-multimedia@lists.debian.org>"},
		{Name: "klavaro", Version: "3.13-1", Maintainer: "Debian QA Group <packages@qa.debian.org>"},
		{Name: "kasumi", Version: "2.5-12", Maintainer: "Debian Input Method Team <debian-input-method@lists.debian.org>"},
		{Name: "avahi-daemon", Version: "0.8-10+deb12u1", Maintainer: "Utopia Maintenance Team <pkg-utopia-maintainers@lists.alioth.debian.org>"},
	})
	unit(t, root, "kesl.service", "/opt/kaspersky/kesl/libexec/kesl")
	unit(t, root, "avahi-daemon.service", "/usr/sbin/avahi-daemon")

	r, doc := scanJSON(t, 1, "--root", root, "--fail-on", "restricted")
	checkGolden(t, "debian-kaspersky", doc)

	if r.Compliant {
		t.Error("host with KESL installed reported compliant")
	}
	kesl, ok := product(r, "kaspersky-endpoint-security-linux")
	if !ok {
		t.Fatalf("KESL not found; products: %v", productIDs(r))
	}
	if kesl.State != "installed" || !kesl.Restricted || kesl.Version != "12.1.0-2968" || kesl.Confidence != "high" || kesl.Policy == nil {
		t.Errorf("KESL = %+v", kesl)
	}
	for _, p := range r.Products {
		for _, decoy := range []string{"clamz", "klavaro", "kasumi", "avahi"} {
			for _, e := range p.Evidence {
				if strings.Contains(e.Value, decoy) {
					t.Errorf("decoy %s is evidence of %s", decoy, p.ID)
				}
			}
		}
	}
	if s := sourceStatus(r, "processes"); s.Status != "unavailable" {
		t.Errorf("processes source on a root: %+v, want unavailable", s)
	}
	if s := sourceStatus(r, "dpkg"); s.Status != "ok" || s.Items != 9 {
		t.Errorf("dpkg source: %+v, want ok with 9 items", s)
	}

	// The same root as a table: restricted rows marked, decoys absent.
	out, stderr, code := avscout(t, "scan", "--root", root)
	if code != 0 {
		t.Fatalf("table scan: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"NOT COMPLIANT", "Kaspersky Endpoint Security for Linux", "!! yes", "Microsoft Defender"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// A Rocky Linux 9 host whose rpm database (sqlite) was written by the
// real rpm: Kaspersky by rpm Vendor, CrowdStrike Falcon, and a decoy.
func TestScanRockyWithKaspersky(t *testing.T) {
	root := newRoot(t, "rocky-kesl", rocky9OSRelease)
	rpmtest.Build(t, root, []rpmtest.Pkg{
		{Name: "kesl", Version: "12.1.0", Release: "2968", Vendor: "AO Kaspersky Lab",
			Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}},
		{Name: "kesl-addon-x", Version: "1.0", Release: "1", Vendor: "AO Kaspersky Lab",
			Files: map[string]string{"/opt/kaspersky/addon/x": "x\n"}},
		{Name: "falcon-sensor", Version: "7.18.0", Release: "17106.el9", Vendor: "CrowdStrike, Inc.",
			Files: map[string]string{"/opt/CrowdStrike/falconctl": "#!/bin/sh\n"}},
		{Name: "kasumi", Version: "2.5", Release: "36.el9", Vendor: "Rocky Enterprise Software Foundation",
			Files: map[string]string{"/usr/share/kasumi/README": "x\n"}},
	})
	r, doc := scanJSON(t, 0, "--root", root)
	checkGolden(t, "rocky-kaspersky", doc)
	if _, ok := product(r, "kaspersky-endpoint-security-linux"); !ok {
		t.Errorf("KESL not found in rpm; products: %v", productIDs(r))
	}
	// A Kaspersky package no catalog entry names is still Kaspersky.
	if p, ok := product(r, "kaspersky-kesl-addon-x"); !ok || !p.Restricted || p.State != "installed" {
		t.Errorf("unknown Kaspersky package: %+v (found %v); products: %v", p, ok, productIDs(r))
	}
	if s := sourceStatus(r, "rpm"); s.Status != "ok" || s.Items != 4 {
		t.Errorf("rpm source: %+v", s)
	}
	if s := sourceStatus(r, "dpkg"); s.Status != "unavailable" {
		t.Errorf("dpkg source on an rpm root: %+v", s)
	}
	if r.Host.OSVersion != "Rocky Linux 9.4 (Blue Onyx)" || r.Host.Hostname != "rocky-kesl" {
		t.Errorf("host = %+v", r.Host)
	}
}

// An Alpine container rootfs running ClamAV.
func TestScanAlpineClamAV(t *testing.T) {
	root := newRoot(t, "alpine", alpineOSRelease)
	writeFile(t, filepath.Join(root, "lib/apk/db/installed"), `C:Q1abcdefghijklmnopqrstuvwxyz0=
P:musl
V:1.2.5-r0
A:x86_64
m:Natanael Copa <ncopa@alpinelinux.org>
T:the musl c library (libc) implementation

C:Q1bcdefghijklmnopqrstuvwxyz01=
P:clamav-daemon
V:1.2.2-r1
A:x86_64
o:clamav
m:Leonardo Arena <rnalrd@alpinelinux.org>
T:An anti-virus toolkit for UNIX (clamd daemon)

C:Q1cdefghijklmnopqrstuvwxyz012=
P:freshclam
V:1.2.2-r1
A:x86_64
o:clamav
m:Leonardo Arena <rnalrd@alpinelinux.org>
T:Auto-updater for the Clam Antivirus scanner

`)
	r, doc := scanJSON(t, 0, "--root", root, "--fail-on", "restricted")
	checkGolden(t, "alpine-clamav", doc)
	if !r.Compliant || len(r.Products) != 1 || r.Products[0].Restricted {
		t.Errorf("products: %v, compliant %v", productIDs(r), r.Compliant)
	}
}

// Kaspersky removed: only folders and a config-files package remain. The
// host is compliant, and the leftovers are still reported.
func TestScanLeftoversOnly(t *testing.T) {
	root := newRoot(t, "deb-leftover", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "11.4.0-5096", Maintainer: kasperskyMaintainer,
			Files:     map[string]string{"/etc/opt/kaspersky/kesl.conf": "x=1\n"},
			Conffiles: []string{"/etc/opt/kaspersky/kesl.conf"}, Remove: true},
		{Name: "bash", Version: "5.2.15-2+b7", Maintainer: "Matthias Klose <doko@debian.org>"},
	})
	writeFile(t, filepath.Join(root, "var/opt/kaspersky/kesl/common/kesl.ini"), "[General]\n")
	writeFile(t, filepath.Join(root, "var/log/kaspersky/kesl/kesl.log"), "log\n")

	r, doc := scanJSON(t, 0, "--root", root, "--fail-on", "restricted")
	checkGolden(t, "debian-leftovers", doc)
	if !r.Compliant {
		t.Error("leftovers alone made the host non-compliant")
	}
	if len(r.Products) == 0 {
		t.Fatal("leftovers were not reported")
	}
	for _, p := range r.Products {
		if p.State != "leftover" || !p.Restricted {
			t.Errorf("%s: state %s restricted %v, want a restricted leftover", p.ID, p.State, p.Restricted)
		}
	}
}

// A clean Debian root: nothing found, compliant, exit 0 even with
// --fail-on.
func TestScanCleanRoot(t *testing.T) {
	root := newRoot(t, "deb-clean", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "bash", Version: "5.2.15-2+b7", Maintainer: "Matthias Klose <doko@debian.org>"},
		{Name: "coreutils", Version: "9.1-1", Maintainer: "Michael Stone <mstone@debian.org>"},
	})
	r, doc := scanJSON(t, 0, "--root", root, "--fail-on", "restricted")
	checkGolden(t, "debian-clean", doc)
	if len(r.Products) != 0 || !r.Compliant {
		t.Errorf("clean root: %v compliant %v", productIDs(r), r.Compliant)
	}
}

// Corrupt databases: each broken source reports an error, the others
// still report, and the scan completes.
func TestScanCorruptDatabases(t *testing.T) {
	root := newRoot(t, "broken", debian12OSRelease)
	writeFile(t, filepath.Join(root, "var/lib/dpkg/status"), "Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-2968\nMaintainer: "+kasperskyMaintainer+"\n\n\x00\x01\x02garbage without colon\n\n")
	writeFile(t, filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"), "SQLite format 3\x00 but truncated")
	writeFile(t, filepath.Join(root, "lib/apk/db/installed"), strings.Repeat("\xff", 4096))
	r, _ := scanJSON(t, 0, "--root", root)
	for _, name := range []string{"rpm", "apk"} {
		if s := sourceStatus(r, name); s.Status != "error" || s.Error == "" {
			t.Errorf("%s source: %+v, want an error", name, s)
		}
	}
	if s := sourceStatus(r, "dpkg"); s.Status != "error" || !strings.Contains(s.Error, "var/lib/dpkg/status") {
		t.Errorf("dpkg source: %+v, want an error naming the file", s)
	}
	// what could be read before the garbage is still reported
	if _, ok := product(r, "kaspersky-endpoint-security-linux"); !ok {
		t.Errorf("KESL before the corrupt stanza was lost; products %v", productIDs(r))
	}
	if s := sourceStatus(r, "units"); s.Status == "error" {
		t.Errorf("units source failed because others did: %+v", s)
	}
}

// A real process named like Kaspersky's engine, running from an ordinary
// folder with nothing else of Kaspersky on the host, is a name alone: it
// is not reported, and the scan stays compliant.
func TestScanLiveProcessNameAlone(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin/kesl")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatalf("this test copies /bin/sleep: %v", err)
	}
	if err := os.WriteFile(exe, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(50 * time.Millisecond) // let exec finish so /proc shows the new image

	r, _ := scanJSON(t, 0, "--sources", "processes", "--fail-on", "restricted", "--explain")
	if len(r.Products) != 0 || !r.Compliant {
		t.Errorf("a process named kesl alone was reported: %v compliant %v", productIDs(r), r.Compliant)
	}
	if s := sourceStatus(r, "processes"); s.Status != "ok" || s.Items == 0 {
		t.Errorf("processes source: %+v", s)
	}
	// --explain says what was left out and why.
	if !slices.ContainsFunc(r.Dropped, func(d report.Dropped) bool {
		return strings.Contains(d.Evidence.Value, exe) && strings.Contains(d.Reason, "nothing else on the host corroborates")
	}) {
		t.Errorf("the dropped kesl process is not explained: %+v", r.Dropped)
	}
	out, _, code := avscout(t, "scan", "--sources", "processes", "--explain")
	if code != 0 || !strings.Contains(out, "Not counted:") || !strings.Contains(out, "kesl (pid") || !strings.Contains(out, "corroborates") {
		t.Errorf("table --explain (exit %d) does not list the dropped process:\n%s", code, out)
	}
}

// --explain gives every finding its decision trace, in JSON and in the
// table; without it the report carries none.
func TestScanExplain(t *testing.T) {
	root := newRoot(t, "deb-explain", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
			Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}},
	})
	r, _ := scanJSON(t, 1, "--root", root, "--fail-on", "restricted", "--explain")
	kesl, ok := product(r, "kaspersky-endpoint-security-linux")
	if !ok {
		t.Fatalf("KESL not found: %v", productIDs(r))
	}
	for _, want := range []string{`evidence: package "kesl" matches Kaspersky Endpoint Security for Linux`, "state installed: package", "restricted: policy rule bis-icts-2021-002", "confidence high"} {
		if !slices.ContainsFunc(kesl.Explain, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("trace lacks %q:\n%s", want, strings.Join(kesl.Explain, "\n"))
		}
	}
	out, _, _ := avscout(t, "scan", "--root", root, "--explain")
	if !strings.Contains(out, "    - state installed: package") {
		t.Errorf("table --explain lacks the trace:\n%s", out)
	}
	plain, _ := scanJSON(t, 0, "--root", root)
	if p, _ := product(plain, "kaspersky-endpoint-security-linux"); len(p.Explain) != 0 || len(plain.Dropped) != 0 {
		t.Errorf("a report without --explain carries a trace: %+v", p.Explain)
	}
}

// This machine has no antivirus: a full live scan finds nothing and every
// source works. It guards against false positives on an ordinary system.
func TestScanThisMachine(t *testing.T) {
	r, _ := scanJSON(t, 0, "--fail-on", "restricted")
	if len(r.Products) != 0 {
		t.Errorf("false positives on this machine: %v", productIDs(r))
	}
	for _, s := range r.Sources {
		if s.Status == "error" || s.Status == "timeout" {
			t.Errorf("source %s: %s %s", s.Name, s.Status, s.Error)
		}
	}
	if r.Host.Root != "/" || r.Host.OS != "linux" || r.Host.Hostname == "" || r.Host.ID == "" {
		t.Errorf("host block: %+v", r.Host)
	}
}

// Every source timed out: the scan could not see, so the verdict is
// incomplete, the banner says INCOMPLETE with the reason, and only
// --fail-on incomplete fails on it.
func TestScanAllSourcesTimedOut(t *testing.T) {
	root := newRoot(t, "deb-timeout", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "bash", Version: "5.2.15-2+b7", Maintainer: "Matthias Klose <doko@debian.org>"},
	})
	r, _ := scanJSON(t, 1, "--root", root, "--timeout", "1ns", "--fail-on", "restricted,incomplete")
	if r.Verdict != report.VerdictIncomplete || r.Compliant {
		t.Errorf("verdict %q compliant %v, want incomplete and not compliant", r.Verdict, r.Compliant)
	}
	if s := sourceStatus(r, "dpkg"); s.Status != report.StatusTimeout {
		t.Errorf("dpkg: %+v, want timeout", s)
	}

	out, stderr, code := avscout(t, "scan", "--root", root, "--timeout", "1ns", "--fail-on", "restricted,incomplete")
	if code != exitRestricted {
		t.Errorf("--fail-on restricted,incomplete: exit %d, want %d: %s", code, exitRestricted, stderr)
	}
	banner := regexp.MustCompile(`(?m)^INCOMPLETE: no restricted product found, but \d+ source\(s\) could not look: .*dpkg \(timeout\)`)
	if !banner.MatchString(out) || strings.Contains(out, "COMPLIANT") {
		t.Errorf("table banner is not INCOMPLETE with the reason:\n%s", out)
	}
	for _, tt := range []struct {
		failOn string
		code   int
	}{
		{"restricted", exitOK},
		{"incomplete", exitRestricted},
		{"incomplete, restricted", exitRestricted},
		{"", exitOK},
	} {
		if _, stderr, code := avscout(t, "scan", "--root", root, "--timeout", "1ns", "--format", "jamf", "--fail-on", tt.failOn); code != tt.code {
			t.Errorf("--fail-on %q: exit %d, want %d: %s", tt.failOn, code, tt.code, stderr)
		}
	}
	jamf, _, _ := avscout(t, "scan", "--root", root, "--timeout", "1ns", "--format", "jamf")
	if !strings.HasPrefix(jamf, "<result>INCOMPLETE: ") || !strings.Contains(jamf, "dpkg (timeout)") {
		t.Errorf("jamf %q, want INCOMPLETE naming dpkg", jamf)
	}
}

// A dpkg database that cannot be read (the status file is a directory, as
// root could not be kept out by permissions) is dpkg's error, and the
// verdict is incomplete: the scan could not see the packages.
func TestScanUnreadablePackageDatabase(t *testing.T) {
	root := newRoot(t, "deb-unreadable", debian12OSRelease)
	if err := os.MkdirAll(filepath.Join(root, "var/lib/dpkg/status"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, doc := scanJSON(t, 1, "--root", root, "--fail-on", "incomplete")
	checkGolden(t, "debian-incomplete", doc)
	if s := sourceStatus(r, "dpkg"); s.Status != report.StatusError || !strings.Contains(s.Error, "var/lib/dpkg/status") {
		t.Errorf("dpkg: %+v, want an error naming the status file", s)
	}
	if r.Verdict != report.VerdictIncomplete || r.Compliant || !strings.Contains(string(doc), `"verdict": "incomplete"`) {
		t.Errorf("verdict %q compliant %v, want incomplete", r.Verdict, r.Compliant)
	}
	scanJSON(t, 0, "--root", root, "--fail-on", "restricted")
}

// Unknown --fail-on conditions are usage errors, so that a typo cannot
// silently turn the gate off.
func TestScanFailOnUsage(t *testing.T) {
	root := newRoot(t, "failon", debian12OSRelease)
	for _, v := range []string{"restricted,incompete", "compliant", "restricted,", "RESTRICTED"} {
		_, stderr, code := avscout(t, "scan", "--root", root, "--fail-on", v)
		if code != exitUsage || !strings.Contains(stderr, "unknown --fail-on") {
			t.Errorf("--fail-on %q: exit %d, stderr %q; want a usage error", v, code, stderr)
		}
	}
}
