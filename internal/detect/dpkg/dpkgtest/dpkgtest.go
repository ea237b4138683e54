// Package dpkgtest builds real dpkg databases for tests: it makes .deb
// files with dpkg-deb and installs them with dpkg --root into a fixture
// root, so tests read what dpkg itself writes rather than what we think it
// writes.
//
// It needs dpkg and dpkg-deb (Debian package "dpkg"). When they are
// missing the calling test fails, never skips: CI must install them.
// Nothing here touches the machine's own dpkg database or log.
package dpkgtest

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Pkg describes a package to build.
type Pkg struct {
	Name    string // required
	Version string // required
	// Architecture defaults to "all", which dpkg installs on any machine.
	Architecture string
	// Maintainer is written as given; left out of the control file when
	// empty (dpkg-deb then warns but builds).
	Maintainer string
	// Description is the synopsis, optionally followed by lines of long
	// description after "\n". Defaults to "<name> test package".
	Description string
	// Files maps an absolute target path ("/opt/kaspersky/kesl/bin/kesl")
	// to its content. Files under a bin/ or sbin/ directory are made
	// executable; the rest are 0644.
	Files map[string]string
	// Conffiles lists target paths, each also in Files, that dpkg keeps
	// as configuration: a removed package with conffiles stays in the
	// database in config-files state.
	Conffiles []string
	// Remove runs dpkg -r after installing: with conffiles the package is
	// left "deinstall ok config-files", without it disappears.
	Remove bool
	// UnpackOnly installs with dpkg --unpack, leaving the package
	// "install ok unpacked" (files on disk, never configured).
	UnpackOnly bool
	// Depends is the control file's Depends field; left out when empty.
	Depends string
	// Scripts maps a maintainer script's name ("prerm", "postinst") to
	// its text, written executable into DEBIAN.
	Scripts map[string]string
}

// Require fails t unless dpkg and dpkg-deb are available.
func Require(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("dpkgtest: %s not found (%v): CI must install the Debian package \"dpkg\"", tool, err)
		}
	}
}

// Build installs pkgs with the real dpkg into the fixture root: the
// database goes to root/var/lib/dpkg, the payload under root. It creates
// an empty database first when there is none, so Build can be called again
// on the same root to add packages. Packages are installed in one dpkg
// call, then those marked UnpackOnly are unpacked, then those marked
// Remove are removed.
func Build(t testing.TB, root string, pkgs []Pkg) {
	t.Helper()
	Require(t)
	InitDB(t, root)
	debDir := t.TempDir()
	var install, unpack, remove []string
	for _, p := range pkgs {
		deb := BuildDeb(t, debDir, p)
		if p.UnpackOnly {
			unpack = append(unpack, deb)
		} else {
			install = append(install, deb)
		}
		if p.Remove {
			remove = append(remove, p.Name)
		}
	}
	if len(install) > 0 {
		dpkg(t, root, append([]string{"--install"}, install...)...)
	}
	if len(unpack) > 0 {
		dpkg(t, root, append([]string{"--unpack"}, unpack...)...)
	}
	if len(remove) > 0 {
		dpkg(t, root, append([]string{"--remove"}, remove...)...)
	}
}

// InitDB creates an empty dpkg database under root (the directories dpkg
// needs and an empty status file) unless one is there.
func InitDB(t testing.TB, root string) {
	t.Helper()
	admin := filepath.Join(root, "var", "lib", "dpkg")
	for _, d := range []string{"info", "updates", "triggers"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatalf("dpkgtest: %v", err)
		}
	}
	status := filepath.Join(admin, "status")
	f, err := os.OpenFile(status, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("dpkgtest: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("dpkgtest: %v", err)
	}
}

// BuildStatusD writes pkgs into root the way distroless images hold them:
// no dpkg database, but var/lib/dpkg/status.d/<name> with the package's
// control fields (`dpkg-deb --field` output, no Status), <name>.md5sums,
// and the payload extracted under root.
func BuildStatusD(t testing.TB, root string, pkgs []Pkg) {
	t.Helper()
	Require(t)
	dir := filepath.Join(root, "var", "lib", "dpkg", "status.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("dpkgtest: %v", err)
	}
	debDir := t.TempDir()
	for _, p := range pkgs {
		deb := BuildDeb(t, debDir, p)
		fields := run(t, "dpkg-deb", "--field", deb)
		write(t, filepath.Join(dir, p.Name), fields)
		write(t, filepath.Join(dir, p.Name+".md5sums"), md5sums(p))
		run(t, "dpkg-deb", "--extract", deb, root)
	}
}

// BuildDeb writes p as a .deb file in dir and returns its path.
func BuildDeb(t testing.TB, dir string, p Pkg) string {
	t.Helper()
	Require(t)
	if p.Name == "" || p.Version == "" {
		t.Fatalf("dpkgtest: package %q needs a name and a version", p.Name)
	}
	tree := filepath.Join(t.TempDir(), p.Name)
	control := filepath.Join(tree, "DEBIAN")
	if err := os.MkdirAll(control, 0o755); err != nil {
		t.Fatalf("dpkgtest: %v", err)
	}
	// dpkg-deb wants DEBIAN between 0755 and 0775, whatever the umask.
	if err := os.Chmod(control, 0o755); err != nil {
		t.Fatalf("dpkgtest: %v", err)
	}
	write(t, filepath.Join(tree, "DEBIAN", "control"), []byte(Control(p)))
	for _, name := range sortedKeys(p.Scripts) {
		if err := os.WriteFile(filepath.Join(control, name), []byte(p.Scripts[name]), 0o755); err != nil {
			t.Fatalf("dpkgtest: %v", err)
		}
	}
	for _, name := range sortedKeys(p.Files) {
		target := filepath.Join(tree, filepath.FromSlash(strings.TrimPrefix(name, "/")))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatalf("dpkgtest: %v", err)
		}
		mode := os.FileMode(0o644)
		if base := path.Base(path.Dir(name)); base == "bin" || base == "sbin" {
			mode = 0o755
		}
		if err := os.WriteFile(target, []byte(p.Files[name]), mode); err != nil {
			t.Fatalf("dpkgtest: %v", err)
		}
	}
	if len(p.Conffiles) > 0 {
		var b strings.Builder
		for _, c := range p.Conffiles {
			if _, ok := p.Files[c]; !ok {
				t.Fatalf("dpkgtest: package %s: conffile %s is not in Files", p.Name, c)
			}
			b.WriteString("/" + strings.TrimPrefix(c, "/") + "\n")
		}
		write(t, filepath.Join(tree, "DEBIAN", "conffiles"), []byte(b.String()))
	}
	arch := p.Architecture
	if arch == "" {
		arch = "all"
	}
	deb := filepath.Join(dir, fmt.Sprintf("%s_%s_%s.deb", p.Name, p.Version, arch))
	run(t, "dpkg-deb", "--root-owner-group", "--build", tree, deb)
	return deb
}

// Control returns the DEBIAN/control text BuildDeb writes for p.
func Control(p Pkg) string {
	arch := p.Architecture
	if arch == "" {
		arch = "all"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: %s\n", p.Name, p.Version, arch)
	if p.Maintainer != "" {
		fmt.Fprintf(&b, "Maintainer: %s\n", p.Maintainer)
	}
	if p.Depends != "" {
		fmt.Fprintf(&b, "Depends: %s\n", p.Depends)
	}
	b.WriteString("Section: misc\nPriority: optional\n")
	desc := p.Description
	if desc == "" {
		desc = p.Name + " test package"
	}
	synopsis, long, _ := strings.Cut(desc, "\n")
	fmt.Fprintf(&b, "Description: %s\n", synopsis)
	if long != "" {
		for l := range strings.SplitSeq(strings.TrimRight(long, "\n"), "\n") {
			if strings.TrimSpace(l) == "" {
				l = "."
			}
			fmt.Fprintf(&b, " %s\n", l)
		}
	}
	return b.String()
}

// dpkg runs dpkg on the fixture root, with a PATH dpkg accepts and no log
// file, forcing what an unprivileged test run needs.
func dpkg(t testing.TB, root string, args ...string) {
	t.Helper()
	base := []string{
		"--root=" + root,
		"--log=/dev/null",
		"--force-script-chrootless",
		"--force-not-root",
		"--force-unsafe-io",
	}
	run(t, "dpkg", append(base, args...)...)
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	// dpkg refuses to run unless ldconfig and start-stop-daemon are on
	// PATH; a test's PATH often lacks the sbin directories.
	cmd.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dpkgtest: %s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

func write(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatalf("dpkgtest: %v", err)
	}
}

// md5sums is the md5sums control file of p: "<md5>  <path without slash>".
func md5sums(p Pkg) []byte {
	var b bytes.Buffer
	for _, name := range sortedKeys(p.Files) {
		fmt.Fprintf(&b, "%x  %s\n", md5.Sum([]byte(p.Files[name])), strings.TrimPrefix(name, "/"))
	}
	return b.Bytes()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
