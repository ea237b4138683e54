// Package mactest writes macOS fixture roots for tests: property lists in
// XML (as Apple's tools write them) and in binary form made by plistutil
// (Debian package libplist-utils), an independent implementation of
// Apple's format, so the tests read files that avscout did not write
// itself; application bundles with Mach-O executables; receipts, launchd
// jobs and the system extension database.
//
// Tests that need plistutil fail, never skip, when it is missing: CI must
// install libplist-utils (scripts/install-deps.sh does).
package mactest

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	"howett.net/plist"
)

// Format is the form a property list is written in.
type Format int

// Property list forms.
const (
	XML Format = iota
	Binary
)

func (f Format) String() string {
	if f == Binary {
		return "binary"
	}
	return "xml"
}

// RequirePlistutil fails t unless plistutil is installed.
func RequirePlistutil(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("plistutil"); err != nil {
		t.Fatalf("mactest: plistutil not found (%v): install the Debian package libplist-utils (scripts/install-deps.sh)", err)
	}
}

// EncodeXML writes v (maps, slices, strings, integers, booleans, dates) as
// an XML property list, with Apple's header and tab indentation.
func EncodeXML(t testing.TB, v any) []byte {
	t.Helper()
	b, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		t.Fatalf("mactest: encode plist: %v", err)
	}
	return append(b, '\n')
}

// ToBinary converts an XML property list to a binary one with plistutil.
func ToBinary(t testing.TB, xml []byte) []byte {
	t.Helper()
	RequirePlistutil(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.plist"), filepath.Join(dir, "out.plist")
	if err := os.WriteFile(in, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command("plistutil", "-i", in, "-o", out, "-f", "bin").CombinedOutput(); err != nil {
		t.Fatalf("mactest: plistutil: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 || string(b[:8]) != "bplist00" {
		t.Fatalf("mactest: plistutil wrote no binary plist: %q", b[:min(len(b), 16)])
	}
	return b
}

// Encode writes v as a property list in form f.
func Encode(t testing.TB, v any, f Format) []byte {
	t.Helper()
	x := EncodeXML(t, v)
	if f == Binary {
		return ToBinary(t, x)
	}
	return x
}

// WriteFile writes content to name (slash separated) under root, making
// its directories.
func WriteFile(t testing.TB, root, name string, content []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, mode); err != nil {
		t.Fatal(err)
	}
}

// Symlink makes name (slash separated, under root) a symbolic link to
// target, written as given (an absolute target is absolute on the Mac).
func Symlink(t testing.TB, root, name, target string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// InfoPlist returns the keys of a typical application Info.plist, as
// Xcode writes them.
func InfoPlist(id, name, version, executable string) map[string]any {
	return map[string]any{
		"BuildMachineOSBuild":           "23C71",
		"CFBundleDevelopmentRegion":     "en",
		"CFBundleExecutable":            executable,
		"CFBundleIdentifier":            id,
		"CFBundleInfoDictionaryVersion": "6.0",
		"CFBundleName":                  name,
		"CFBundlePackageType":           "APPL",
		"CFBundleShortVersionString":    version,
		"CFBundleSupportedPlatforms":    []string{"MacOSX"},
		"CFBundleVersion":               version + ".100",
		"LSMinimumSystemVersion":        "11.0",
		"NSHumanReadableCopyright":      "Copyright © 2024",
		"NSPrincipalClass":              "NSApplication",
	}
}

// App is an application (or any other) bundle to write.
type App struct {
	// Dir is the bundle folder under the root ("Applications/Foo.app").
	Dir string
	// Info is the content of Contents/Info.plist, written in Format;
	// InfoRaw, when set, is written instead (a malformed plist).
	Info    map[string]any
	InfoRaw []byte
	Format  Format
	// Executable is written to Contents/MacOS/<CFBundleExecutable> when
	// not nil.
	Executable []byte
}

// WriteApp writes the bundle a under root.
func WriteApp(t testing.TB, root string, a App) {
	t.Helper()
	info := a.InfoRaw
	if info == nil {
		info = Encode(t, a.Info, a.Format)
	}
	WriteFile(t, root, path.Join(a.Dir, "Contents/Info.plist"), info, 0o644)
	if a.Executable != nil {
		exe, _ := a.Info["CFBundleExecutable"].(string)
		if exe == "" {
			exe = path.Base(a.Dir)
			exe = exe[:len(exe)-len(path.Ext(exe))]
		}
		WriteFile(t, root, path.Join(a.Dir, "Contents/MacOS", exe), a.Executable, 0o755)
	}
}

// Receipt returns the keys of an installer receipt as pkgutil records it
// in /var/db/receipts.
func Receipt(id, version, prefix, pkgFile string, installed time.Time) map[string]any {
	return map[string]any{
		"InstallDate":        installed.UTC(),
		"InstallPrefixPath":  prefix,
		"InstallProcessName": "installer",
		"PackageFileName":    pkgFile,
		"PackageIdentifier":  id,
		"PackageVersion":     version,
	}
}

// LaunchJob returns the keys of a launchd job definition.
func LaunchJob(label string, args ...string) map[string]any {
	return map[string]any{
		"Label":            label,
		"ProgramArguments": args,
		"RunAtLoad":        true,
		"KeepAlive":        true,
	}
}

// SystemExtension is one entry of /Library/SystemExtensions/db.plist.
type SystemExtension struct {
	ID, TeamID, Version, State string
	// Category is "com.apple.system_extension.endpoint_security",
	// "….network_extension" or "….driver_extension".
	Category string
	// App is the container application ("/Applications/Foo.app").
	App      string
	UniqueID string
}

// SystemExtensionDB returns the content of db.plist holding exts, laid
// out as sysextd writes it (the keys osquery's system_extensions table
// reads: extensions[].identifier, teamID, state, categories,
// bundleVersion, originPath, container.bundlePath, uniqueID,
// stagedBundleURL).
func SystemExtensionDB(exts ...SystemExtension) map[string]any {
	var list []any
	for _, e := range exts {
		bundle := e.ID + ".systemextension"
		list = append(list, map[string]any{
			"identifier":    e.ID,
			"teamID":        e.TeamID,
			"state":         e.State,
			"categories":    []string{e.Category},
			"bundleVersion": map[string]any{"CFBundleShortVersionString": e.Version, "CFBundleVersion": e.Version},
			"originPath":    e.App + "/Contents/Library/SystemExtensions/" + bundle,
			"container": map[string]any{
				"bundlePath": e.App,
				"bundleVersion": map[string]any{
					"CFBundleShortVersionString": e.Version, "CFBundleVersion": e.Version,
				},
			},
			"references": []any{map[string]any{"appIdentifier": e.ID + ".app", "teamID": e.TeamID}},
			"stagedBundleURL": map[string]any{
				"relative": "file:///Library/SystemExtensions/" + e.UniqueID + "/" + bundle + "/",
			},
			"stagedCdhashes": map[string]any{},
			"uniqueID":       e.UniqueID,
		})
	}
	return map[string]any{
		"bootUUID":          "8C1E2A57-3D5B-4F3A-9E55-2D1E0B6A7C11",
		"extensionPolicies": []any{},
		"extensions":        list,
		"version":           1,
	}
}

// SystemVersion returns the content of
// System/Library/CoreServices/SystemVersion.plist for a macOS release.
func SystemVersion(version, build string) map[string]any {
	return map[string]any{
		"ProductBuildVersion":       build,
		"ProductCopyright":          "1983-2024 Apple Inc.",
		"ProductName":               "macOS",
		"ProductUserVisibleVersion": version,
		"ProductVersion":            version,
		"iOSSupportVersion":         "17.2",
	}
}
