//go:build linux

package main

// Builders of the corpus scenarios' hosts (scenarios_test.go): Linux roots
// with package databases written by the real dpkg and rpm, pacman's local
// database, systemd units and SysV init scripts; macOS roots of real
// property lists and signed Mach-O files; Windows disks and Wine prefixes
// holding executables that carry a version resource and an Authenticode
// signature.

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/detect/macho/machotest"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/detect/pe/petest"
	"github.com/avscout/avscout/internal/detect/rpm/rpmtest"
)

// osReleases are the /etc/os-release files of the distributions the
// corpus uses, as each ships it (abridged to the fields avscout reads).
var osReleases = map[string]string{
	"debian12": debian12OSRelease,
	"debian5": `PRETTY_NAME="Debian GNU/Linux 5.0 (lenny)"
NAME="Debian GNU/Linux"
VERSION_ID="5.0"
ID=debian
`,
	"rocky9": rocky9OSRelease,
	"arch": `NAME="Arch Linux"
PRETTY_NAME="Arch Linux"
ID=arch
BUILD_ID=rolling
`,
	"gentoo": `NAME=Gentoo
ID=gentoo
PRETTY_NAME="Gentoo Linux"
VERSION_ID="2.15"
`,
	"centos7": `NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
`,
	"ubuntu22": `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
ID_LIKE=debian
`,
}

// buildLinux lays a Linux scenario out under root.
func buildLinux(t *testing.T, root string, sc *scenario) {
	t.Helper()
	s := sc.Setup
	rel, ok := osReleases[s.OSRelease]
	if !ok {
		rel = s.OSRelease
	}
	if rel == "" {
		t.Fatal("a Linux scenario needs os_release")
	}
	writeFile(t, filepath.Join(root, "etc/os-release"), rel)
	writeFile(t, filepath.Join(root, "etc/hostname"), cmpOr(s.Hostname, sc.Name)+"\n")
	writeFile(t, filepath.Join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n")

	if len(s.Dpkg) > 0 {
		buildDpkg(t, root, s.Dpkg)
	}
	if len(s.Rpm) > 0 {
		var pkgs []rpmtest.Pkg
		for _, p := range s.Rpm {
			files := map[string]string{}
			for _, f := range p.Files {
				files[f.Path] = string(linuxContent(t, f))
				writeLinuxFile(t, root, f) // rpm --justdb records, the payload is laid here
			}
			pkgs = append(pkgs, rpmtest.Pkg{Name: p.Name, Version: p.Version, Release: p.Release, Arch: p.Arch,
				Vendor: p.Vendor, Packager: p.Packager, Summary: p.Summary, Files: files})
		}
		rpmtest.Build(t, root, pkgs)
	}
	for _, p := range s.Pacman {
		buildPacman(t, root, p)
	}
	for _, f := range s.Files {
		writeLinuxFile(t, root, f)
	}
	for _, u := range s.Units {
		dir := cmpOr(u.Dir, "lib/systemd/system")
		writeFile(t, filepath.Join(root, dir, u.Name), fmt.Sprintf("[Unit]\nDescription=%s\n\n[Service]\nExecStart=%s\n\n[Install]\nWantedBy=multi-user.target\n",
			cmpOr(u.Description, u.Name), u.ExecStart))
		if u.Enabled {
			link(t, root, "etc/systemd/system/multi-user.target.wants/"+u.Name, "/"+dir+"/"+u.Name)
		}
	}
	for _, is := range s.InitScripts {
		buildInitScript(t, root, is)
	}
}

// buildDpkg installs the packages with the real dpkg, then gives the
// files the modes the real packages give them (dpkgtest makes only bin/
// and sbin/ executable).
func buildDpkg(t *testing.T, root string, pkgs []dpkgPkg) {
	t.Helper()
	dpkgtest.InitDB(t, root)
	var out []dpkgtest.Pkg
	var foreign []string
	for _, p := range pkgs {
		files := map[string]string{}
		for _, f := range p.Files {
			files[f.Path] = string(linuxContent(t, f))
		}
		if p.Arch != "" && p.Arch != "all" && p.Arch != "amd64" && !slices.Contains(foreign, p.Arch) {
			foreign = append(foreign, p.Arch)
		}
		out = append(out, dpkgtest.Pkg{Name: p.Name, Version: p.Version, Architecture: p.Arch, Maintainer: p.Maintainer,
			Description: p.Description, Files: files, Conffiles: p.Conffiles, Remove: p.Removed})
	}
	for _, arch := range foreign {
		cmd := exec.Command("dpkg", "--root="+root, "--log=/dev/null", "--force-not-root", "--add-architecture", arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg --add-architecture %s: %v\n%s", arch, err, b)
		}
	}
	dpkgtest.Build(t, root, out)
	for _, p := range pkgs {
		for _, f := range p.Files {
			if f.Kind == "elf" || f.Kind == "script" {
				if err := os.Chmod(filepath.Join(root, f.Path), 0o755); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
		}
	}
}

// buildPacman writes p into pacman's local database as pacman 6 does
// (ALPM_DB_VERSION 9; desc and files per package) and lays its files.
func buildPacman(t *testing.T, root string, p pacmanPkg) {
	t.Helper()
	local := filepath.Join(root, "var/lib/pacman/local")
	writeFile(t, filepath.Join(local, "ALPM_DB_VERSION"), "9\n")
	var b strings.Builder
	field := func(k string, vs ...string) {
		var set []string
		for _, v := range vs {
			if v != "" {
				set = append(set, v)
			}
		}
		if len(set) > 0 {
			fmt.Fprintf(&b, "%%%s%%\n%s\n\n", k, strings.Join(set, "\n"))
		}
	}
	field("NAME", p.Name)
	field("VERSION", p.Version)
	field("BASE", p.Name)
	field("DESC", p.Desc)
	field("URL", p.URL)
	field("ARCH", cmpOr(p.Arch, "x86_64"))
	field("BUILDDATE", "1729000000")
	field("INSTALLDATE", "1729000600")
	field("PACKAGER", cmpOr(p.Packager, "Unknown Packager"))
	field("SIZE", "1048576")
	field("REASON", "")
	field("LICENSE", p.License)
	field("VALIDATION", "sha256")
	field("DEPENDS", p.Depends...)
	dir := filepath.Join(local, p.Name+"-"+p.Version)
	writeFile(t, filepath.Join(dir, "desc"), b.String())
	var files strings.Builder
	files.WriteString("%FILES%\n")
	var list []string
	for _, f := range p.Files {
		writeLinuxFile(t, root, f)
		for d := path.Dir(f.Path); d != "/"; d = path.Dir(d) {
			list = append(list, strings.TrimPrefix(d, "/")+"/")
		}
		list = append(list, strings.TrimPrefix(f.Path, "/"))
	}
	slices.Sort(list)
	for _, l := range slices.Compact(list) {
		files.WriteString(l + "\n")
	}
	writeFile(t, filepath.Join(dir, "files"), files.String()+"\n")
}

// buildInitScript writes a SysV init script and the links that enable it.
func buildInitScript(t *testing.T, root string, is initScript) {
	t.Helper()
	text := is.Content
	if text == "" {
		text = fmt.Sprintf(`#!/bin/sh
### BEGIN INIT INFO
# Provides:          %[1]s
# Required-Start:    $remote_fs $syslog $network
# Required-Stop:     $remote_fs $syslog $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: %[2]s
### END INIT INFO

DAEMON=%[3]s
[ -x "$DAEMON" ] || exit 0

case "$1" in
start)   start-stop-daemon --start --quiet --exec "$DAEMON" ;;
stop)    start-stop-daemon --stop --quiet --exec "$DAEMON" ;;
restart) "$0" stop; "$0" start ;;
*)       echo "Usage: $0 {start|stop|restart}" >&2; exit 3 ;;
esac
`, is.Name, cmpOr(is.Description, is.Name), is.Program)
	}
	switch cmpOr(is.Layout, "debian") {
	case "debian":
		writeExec(t, filepath.Join(root, "etc/init.d", is.Name), text)
		for _, lvl := range is.Enabled {
			link(t, root, fmt.Sprintf("etc/rc%s.d/S01%s", lvl, is.Name), "../init.d/"+is.Name)
		}
		if len(is.Enabled) > 0 {
			for _, lvl := range []string{"0", "1", "6"} {
				link(t, root, fmt.Sprintf("etc/rc%s.d/K01%s", lvl, is.Name), "../init.d/"+is.Name)
			}
		}
	case "redhat":
		writeExec(t, filepath.Join(root, "etc/rc.d/init.d", is.Name), text)
		if _, err := os.Lstat(filepath.Join(root, "etc/init.d")); os.IsNotExist(err) {
			link(t, root, "etc/init.d", "rc.d/init.d")
		}
		for _, lvl := range []string{"0", "1", "2", "3", "4", "5", "6"} {
			if err := os.MkdirAll(filepath.Join(root, "etc/rc.d/rc"+lvl+".d"), 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(root, "etc/rc"+lvl+".d")); os.IsNotExist(err) {
				link(t, root, "etc/rc"+lvl+".d", "rc.d/rc"+lvl+".d")
			}
			prefix := "K20"
			if slices.Contains(is.Enabled, lvl) {
				prefix = "S80"
			}
			link(t, root, fmt.Sprintf("etc/rc.d/rc%s.d/%s%s", lvl, prefix, is.Name), "../init.d/"+is.Name)
		}
	case "openrc":
		writeExec(t, filepath.Join(root, "etc/init.d", is.Name), text)
		for _, lvl := range is.Enabled {
			link(t, root, "etc/runlevels/"+lvl+"/"+is.Name, "/etc/init.d/"+is.Name)
		}
	default:
		t.Fatalf("init script %s: layout %q", is.Name, is.Layout)
	}
}

// writeLinuxFile writes f under root (a Linux or macOS target).
func writeLinuxFile(t *testing.T, root string, f fileSpec) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(f.Path, "/")))
	switch f.Kind {
	case "dir":
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	case "symlink":
		link(t, root, strings.TrimPrefix(f.Path, "/"), f.Target)
	case "elf", "script", "macho":
		writeBytes(t, p, linuxContent(t, f), 0o755)
	default:
		writeBytes(t, p, linuxContent(t, f), 0o644)
	}
}

// linuxContent is the content of a file of the Linux or macOS target.
func linuxContent(t *testing.T, f fileSpec) []byte {
	t.Helper()
	switch f.Kind {
	case "", "text", "script":
		return []byte(f.Content)
	case "elf":
		return elfExecutable(t)
	case "macho":
		return machoExecutable(t, f.ID, f.Team)
	}
	t.Fatalf("file %s: kind %q has no content here", f.Path, f.Kind)
	return nil
}

var elf struct {
	once sync.Once
	b    []byte
	err  error
}

// elfExecutable is a real Linux executable: this machine's sleep(1),
// which also runs as a process that lasts.
func elfExecutable(t *testing.T) []byte {
	t.Helper()
	elf.once.Do(func() { elf.b, elf.err = os.ReadFile("/bin/sleep") })
	if elf.err != nil {
		t.Fatalf("the corpus copies /bin/sleep as a Linux executable: %v", elf.err)
	}
	return elf.b
}

// machoExecutable is a minimal arm64 Mach-O executable signed as id by
// team (ad hoc when team is empty).
func machoExecutable(t *testing.T, id, team string) []byte {
	t.Helper()
	bin, err := machotest.Minimal("arm64")
	if err != nil {
		t.Fatal(err)
	}
	b, err := machotest.Sign(bin, machotest.Options{Identifier: cmpOr(id, "a.out"), TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBytes(t *testing.T, name string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, mode); err != nil {
		t.Fatal(err)
	}
}

func writeExec(t *testing.T, name, text string) {
	t.Helper()
	writeBytes(t, name, []byte(text), 0o755)
}

// link makes root/name a symbolic link to target.
func link(t *testing.T, root, name, target string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------- macOS

// buildMac lays a macOS scenario out under root: SystemVersion.plist,
// /var → private/var, and the scenario's bundles, receipts, jobs and
// extensions.
func buildMac(t *testing.T, root string, sc *scenario) {
	t.Helper()
	mactest.RequirePlistutil(t)
	s := sc.Setup
	version, build, _ := strings.Cut(cmpOr(s.MacOS, "14.2.1 23C71"), " ")
	mactest.WriteFile(t, root, "System/Library/CoreServices/SystemVersion.plist",
		mactest.Encode(t, mactest.SystemVersion(version, build), mactest.XML), 0o644)
	mactest.Symlink(t, root, "var", "private/var")
	format := func(xml bool) mactest.Format {
		if xml {
			return mactest.XML
		}
		return mactest.Binary
	}
	for _, a := range s.Apps {
		exe := strings.TrimSuffix(path.Base(a.Dir), ".app")
		mactest.WriteApp(t, root, mactest.App{Dir: strings.TrimPrefix(a.Dir, "/"), Info: mactest.InfoPlist(a.ID, a.Name, a.Version, exe),
			Format: format(a.XML), Executable: machoExecutable(t, a.ID, a.Team)})
	}
	for _, r := range s.Receipts {
		rec := mactest.Receipt(r.ID, r.Version, r.Prefix, r.ID+".pkg", time.Date(2023, 3, 14, 10, 12, 0, 0, time.UTC))
		mactest.WriteFile(t, root, "private/var/db/receipts/"+r.ID+".plist", mactest.Encode(t, rec, mactest.XML), 0o644)
		mactest.WriteFile(t, root, "private/var/db/receipts/"+r.ID+".bom", []byte("BOMStore"), 0o644)
	}
	jobs := func(dir string, js []jobSpec) {
		for _, j := range js {
			d := strings.TrimPrefix(cmpOr(j.Dir, dir), "/")
			mactest.WriteFile(t, root, d+"/"+j.Label+".plist", mactest.Encode(t, mactest.LaunchJob(j.Label, j.Program), mactest.XML), 0o644)
			if !j.Gone {
				mactest.WriteFile(t, root, strings.TrimPrefix(j.Program, "/"), machoExecutable(t, j.Label, j.Team), 0o755)
			}
		}
	}
	jobs("Library/LaunchDaemons", s.LaunchDaemons)
	jobs("Library/LaunchAgents", s.LaunchAgents)
	if len(s.SystemExtensions) > 0 {
		var exts []mactest.SystemExtension
		for _, e := range s.SystemExtensions {
			exts = append(exts, mactest.SystemExtension{ID: e.ID, TeamID: e.Team, Version: e.Version, State: e.State,
				Category: e.Category, App: e.App, UniqueID: e.UUID})
		}
		mactest.WriteFile(t, root, "Library/SystemExtensions/db.plist", mactest.Encode(t, mactest.SystemExtensionDB(exts...), mactest.Binary), 0o644)
	}
	for _, k := range s.Kexts {
		exe := strings.TrimSuffix(path.Base(k.Dir), ".kext")
		info := map[string]any{
			"CFBundleDevelopmentRegion":     "English",
			"CFBundleExecutable":            exe,
			"CFBundleIdentifier":            k.ID,
			"CFBundleInfoDictionaryVersion": "6.0",
			"CFBundleName":                  exe,
			"CFBundlePackageType":           "KEXT",
			"CFBundleShortVersionString":    k.Version,
			"CFBundleVersion":               k.Version,
			"OSBundleLibraries":             map[string]any{"com.apple.kpi.bsd": "8.0.0", "com.apple.kpi.libkern": "8.0.0"},
		}
		mactest.WriteApp(t, root, mactest.App{Dir: strings.TrimPrefix(k.Dir, "/"), Info: info, Format: mactest.XML,
			Executable: machoExecutable(t, k.ID, k.Team)})
	}
	for _, f := range s.Files {
		writeLinuxFile(t, root, f)
	}
}

// ---------------------------------------------------------------- Windows

// buildOffline lays a Windows scenario out as a mounted disk: C:\ is root.
func buildOffline(t *testing.T, root string, sc *scenario) {
	t.Helper()
	var fx winFixtures
	for _, f := range sc.Setup.Files {
		rel, ok := strings.CutPrefix(f.Path, `C:\`)
		if !ok {
			t.Fatalf("%s: not a C:\\ path", f.Path)
		}
		p := filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(rel, `\`, "/")))
		switch f.Kind {
		case "dir":
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case "pe":
			if fx.fakeav == "" {
				fx = setupWine(t)
			}
			writeBytes(t, p, peFile(t, fx, f), 0o644)
		default:
			writeBytes(t, p, []byte(f.Content), 0o644)
		}
	}
}

// peFile is a real Windows executable for f: the fake security program,
// with f's version resource and signed by f's signer when given.
func peFile(t *testing.T, fx winFixtures, f fileSpec) []byte {
	t.Helper()
	b, err := os.ReadFile(fx.fakeav)
	if err != nil {
		t.Fatal(err)
	}
	if v := f.Version; v != nil {
		b, err = petest.WithVersion(b, petest.Version{CompanyName: v.Company, ProductName: v.Product, FileDescription: v.Description,
			FileVersion: v.FileVersion, ProductVersion: v.ProductVersion, OriginalFilename: v.OriginalFilename,
			InternalName: strings.TrimSuffix(v.OriginalFilename, filepath.Ext(v.OriginalFilename)), LegalCopyright: v.Copyright})
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
	}
	if f.Signer != "" {
		b = petest.Sign(t, b, signer(t, f.Signer, cmpOr(f.Country, "US")))
	}
	return b
}

// signers are the throwaway code-signing identities of a run, one per
// organisation, shared by the scenarios that run in parallel.
var signers struct {
	sync.Mutex
	m map[string]petest.Signer
}

func signer(t *testing.T, org, country string) petest.Signer {
	t.Helper()
	signers.Lock()
	defer signers.Unlock()
	if s, ok := signers.m[org]; ok {
		return s
	}
	if signers.m == nil {
		signers.m = map[string]petest.Signer{}
	}
	s := petest.NewSigner(t, filepath.Join(testDir, "signers"), org, country)
	signers.m[org] = s
	return s
}

// ---------------------------------------------------------------- processes

func newProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup ends a process started in its own group, with its children.
func killGroup(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
}
