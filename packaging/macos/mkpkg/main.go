// Command mkpkg assembles the avscout macOS installer package (a flat
// product archive) from the two darwin agent binaries, the launchd plist
// and the install scripts. packaging/macos/build.sh runs it; it exists
// so the .pkg is built on Linux without Apple's tools (see
// packaging/macos/macpkg).
//
// Layout installed (all root:wheel, uid 0 gid 0 as on every Mac):
//
//	/opt/avscout/bin/avscout                      0755 universal binary (x86_64 + arm64)
//	/Library/LaunchDaemons/io.avscout.agent.plist 0644 what `avscout service install` writes
//
// The binary is not under /usr/local/bin: Homebrew makes that directory
// user-writable, and a root daemon must never run a user-writable file.
// The postinstall script adds the /usr/local/bin/avscout symlink.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/avscout/avscout/packaging/macos/macpkg"
)

// Shared with the MDM profiles and `avscout service install`.
const (
	identifier = "io.avscout.agent"
	binaryPath = "opt/avscout/bin/avscout"
	plistPath  = "Library/LaunchDaemons/io.avscout.agent.plist"
	title      = "avscout endpoint agent"
	// defaultMin: Go 1.25 and later need macOS 12 Monterey (Go 1.24
	// release notes); build checks it against each binary's LC_BUILD_VERSION.
	defaultMin = "12.0"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fl := flag.NewFlagSet("mkpkg", flag.ContinueOnError)
	amd64 := fl.String("amd64", "", "darwin/amd64 agent `binary`")
	arm64 := fl.String("arm64", "", "darwin/arm64 agent `binary`")
	plist := fl.String("plist", "", "launchd plist `file` (output of `avscout service unit --init launchd`)")
	scripts := fl.String("scripts", "", "`dir` holding preinstall and postinstall")
	version := fl.String("version", "", "package version, numeric MAJOR.MINOR.BUILD")
	minOS := fl.String("min-os", defaultMin, "oldest macOS `version` the package installs on")
	epoch := fl.Int64("epoch", 0, "modification time of every entry, Unix `seconds` (SOURCE_DATE_EPOCH)")
	out := fl.String("out", "", "output .pkg `file`")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *amd64 == "" || *arm64 == "" || *plist == "" || *scripts == "" || *version == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "mkpkg: want -amd64, -arm64, -plist, -scripts, -version and -out")
		return 2
	}
	if err := build(*amd64, *arm64, *plist, *scripts, *version, *minOS, time.Unix(*epoch, 0).UTC(), *out); err != nil {
		fmt.Fprintf(os.Stderr, "mkpkg: %v\n", err)
		return 1
	}
	return 0
}

func build(amd64, arm64, plist, scripts, version, minOS string, mtime time.Time, out string) error {
	var slices [][]byte
	for _, p := range []string{amd64, arm64} {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		need, err := macpkg.MinOS(b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if macpkg.VersionLess(minOS, need) {
			return fmt.Errorf("%s needs macOS %s, above -min-os %s", p, need, minOS)
		}
		slices = append(slices, b)
	}
	fat, err := macpkg.Universal(slices...)
	if err != nil {
		return err
	}
	unit, err := os.ReadFile(plist)
	if err != nil {
		return err
	}
	sc := map[string][]byte{}
	for _, n := range []string{"preinstall", "postinstall"} {
		b, err := os.ReadFile(filepath.Join(scripts, n))
		if err != nil {
			return err
		}
		sc[n] = b
	}
	dir := func(p string) macpkg.File {
		return macpkg.File{Path: p, Mode: fs.ModeDir | 0o755, ModTime: mtime}
	}
	p := macpkg.Product{
		Identifier: identifier, Version: version, Title: title, MinOS: minOS, Scripts: sc, ModTime: mtime,
		Files: []macpkg.File{
			dir("."),
			dir("Library"),
			dir("Library/LaunchDaemons"),
			{Path: plistPath, Mode: 0o644, ModTime: mtime, Data: unit},
			dir("opt"),
			dir("opt/avscout"),
			dir("opt/avscout/bin"),
			{Path: binaryPath, Mode: 0o755, ModTime: mtime, Data: fat},
		},
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".mkpkg-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := p.Write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	slog.Info("wrote macOS package", "file", out, "version", version, "bytes", fileSize(out))
	return nil
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}
