// Package rpmtest builds real rpm package databases for tests: it writes
// spec files for fake packages, builds them with rpmbuild and records them
// with rpm --root --justdb, so tests read a database made by rpm itself
// rather than one made by the code under test.
//
// rpm on Debian writes only the sqlite format. The tools come from the
// Debian package "rpm"; when they are missing the test fails (never skips),
// so CI cannot silently stop testing rpm databases.
package rpmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Pkg describes a fake package.
type Pkg struct {
	Name    string // required
	Version string // required
	Release string // required
	Epoch   int    // 0: no Epoch tag
	Arch    string // BuildArch; "" means x86_64; "noarch" allowed

	Vendor   string // "": no Vendor tag
	Packager string // "": no Packager tag
	Summary  string // "": a generic summary

	// Files maps absolute target paths ("/opt/kaspersky/kesl/bin/kesl")
	// to their content. Paths may not contain spaces, quotes or '%'.
	Files map[string]string
}

// Options say where and how packages are installed.
type Options struct {
	// DBPath is the database directory inside the root; "" means
	// /var/lib/rpm. Use /usr/lib/sysimage/rpm for a Fedora ≥ 36 layout.
	DBPath string
	// Payload also unpacks the packages' files under the root. rpm then
	// chowns them to root, which needs root privileges.
	Payload bool
}

// Build builds pkgs and records them in the sqlite database of root at
// /var/lib/rpm, creating root's directories as needed. The files are not
// unpacked (rpm --justdb); see [BuildWith].
func Build(t testing.TB, root string, pkgs []Pkg) {
	t.Helper()
	BuildWith(t, root, pkgs, Options{})
}

// BuildWith is [Build] with options.
func BuildWith(t testing.TB, root string, pkgs []Pkg, opt Options) {
	t.Helper()
	RequireTools(t)
	dir := t.TempDir()
	specs := make([]string, 0, len(pkgs))
	for i, p := range pkgs {
		specs = append(specs, writeSpec(t, filepath.Join(dir, fmt.Sprintf("src%d", i)), p))
	}
	Install(t, root, opt, BuildRPMs(t, specs)...)
}

// BuildSpecs builds the hand-written spec files and records the packages in
// root as [BuildWith] does. A spec's %install may write files into
// %{buildroot}; it needs no sources.
func BuildSpecs(t testing.TB, root string, specs []string, opt Options) {
	t.Helper()
	Install(t, root, opt, BuildRPMs(t, specs)...)
}

var buildArch = regexp.MustCompile(`(?m)^BuildArch:\s*(\S+)`)

// BuildRPMs runs rpmbuild -bb on each spec file and returns the paths of
// the binary packages, which live in a directory removed when the test
// ends.
func BuildRPMs(t testing.TB, specs []string) []string {
	t.Helper()
	RequireTools(t)
	top := t.TempDir()
	for _, d := range []string{"BUILD", "BUILDROOT", "RPMS", "SOURCES", "SPECS", "SRPMS"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, spec := range specs {
		text, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{
			"--define", "_topdir " + escapeMacros(top),
			// Build no debuginfo, strip nothing, make no build-id links:
			// fast, and the same on every machine.
			"--define", "__os_install_post %{nil}",
			"--define", "debug_package %{nil}",
			"--define", "_build_id_links none",
			"--quiet", "-bb",
		}
		if m := buildArch.FindSubmatch(text); m != nil && string(m[1]) != "noarch" {
			args = append(args, "--target", string(m[1])) // lets an arm64 runner build x86_64 packages
		}
		run(t, top, "rpmbuild", append(args, spec)...)
	}
	rpms, err := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rpms) == 0 {
		t.Fatalf("rpmbuild made no packages from %v", specs)
	}
	slices.Sort(rpms)
	return rpms
}

// Install records the rpm files in root's sqlite database with rpm --root,
// without dependencies or scriptlets.
func Install(t testing.TB, root string, opt Options, rpms ...string) {
	t.Helper()
	RequireTools(t)
	dbpath := opt.DBPath
	if dbpath == "" {
		dbpath = "/var/lib/rpm"
	}
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(dbpath)), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--root", root,
		// Always say where: Debian's rpm defaults to $HOME/.rpmdb.
		"--dbpath", dbpath,
		"--define", "_db_backend sqlite",
		"-i", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos",
	}
	if !opt.Payload {
		args = append(args, "--justdb")
	}
	run(t, root, "rpm", append(args, rpms...)...)
}

// Query runs rpm -qa with the query format qf on root's database and
// returns its output lines, for checking a fixture against rpm itself.
func Query(t testing.TB, root, dbpath, qf string) []string {
	t.Helper()
	RequireTools(t)
	out := run(t, root, "rpm", "--root", root, "--dbpath", dbpath, "-qa", "--qf", qf)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// RequireTools fails the test when rpm or rpmbuild is not installed.
func RequireTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: these tests build real rpm databases; "+
				"CI must install the rpm tools (Debian/Ubuntu: apt-get install -y --no-install-recommends rpm)", tool)
		}
	}
}

// writeSpec writes the spec (and the sources) of p into dir and returns
// the spec's path.
func writeSpec(t testing.TB, dir string, p Pkg) string {
	t.Helper()
	if p.Name == "" || p.Version == "" || p.Release == "" {
		t.Fatalf("rpmtest: package %+v needs a name, version and release", p)
	}
	for _, v := range []string{p.Name, p.Version, p.Release, p.Arch, p.Vendor, p.Packager, p.Summary} {
		if strings.ContainsAny(v, "\n%") {
			t.Fatalf("rpmtest: package %s: field %q may not contain a newline or %%", p.Name, v)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	arch := p.Arch
	if arch == "" {
		arch = "x86_64"
	}
	summary := p.Summary
	if summary == "" {
		summary = "Fake " + p.Name + " package for tests"
	}
	var b strings.Builder
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	field("Name", p.Name)
	if p.Epoch > 0 {
		field("Epoch", fmt.Sprint(p.Epoch))
	}
	field("Version", p.Version)
	field("Release", p.Release)
	field("Summary", summary)
	field("License", "Proprietary")
	field("Vendor", p.Vendor)
	field("Packager", p.Packager)
	field("BuildArch", arch)
	field("AutoReqProv", "no")

	paths := make([]string, 0, len(p.Files))
	for f := range p.Files {
		if !path.IsAbs(f) || path.Clean(f) != f || strings.ContainsAny(f, " \t\n'\"%\\*?[") {
			t.Fatalf("rpmtest: package %s: file path %q must be absolute, clean and plain", p.Name, f)
		}
		paths = append(paths, f)
	}
	slices.Sort(paths)
	for i, f := range paths {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%d", i)), []byte(p.Files[f]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Fprintf(&b, "\n%%description\n%s\n\n%%install\n", summary)
	for i, f := range paths {
		src := filepath.Join(dir, fmt.Sprintf("file%d", i))
		fmt.Fprintf(&b, "install -D -m 0644 %s '%%{buildroot}%s'\n", shellQuote(src), f)
	}
	b.WriteString("\n%files\n")
	for _, f := range paths {
		b.WriteString(f + "\n")
	}
	spec := filepath.Join(dir, p.Name+".spec")
	if err := os.WriteFile(spec, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return spec
}

// escapeMacros keeps rpm from expanding a '%' in s.
func escapeMacros(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// shellQuote quotes s for the shell of a spec's %install section.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(escapeMacros(s), "'", `'\''`) + "'"
}

// run runs a tool with a private HOME, so no ~/.rpmmacros changes the
// result, and fails the test with its output when it fails.
func run(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
