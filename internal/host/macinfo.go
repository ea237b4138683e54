package host

import (
	"context"
	"crypto/sha256"
	"debug/macho"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/plist"
	"github.com/avscout/avscout/internal/safefs"
)

// The facts of a macOS volume that is not running (a mounted disk, an
// image), read from its files.

// macPreferences is where macOS keeps the computer's names.
const macPreferences = "Library/Preferences/SystemConfiguration/preferences.plist"

// macHostname reads the computer's name from preferences.plist: System →
// System → ComputerName (the name Sharing shows), else HostName (set only
// when someone set one), else Network → HostNames → LocalHostName (the
// Bonjour name).
func macHostname(fsys fs.FS) string {
	sys := macSystemPrefs(readPlist(fsys, macPreferences))
	system, _ := sys["System"].(map[string]any)
	network, _ := sys["Network"].(map[string]any)
	names, _ := network["HostNames"].(map[string]any)
	for _, s := range []any{system["ComputerName"], system["HostName"], names["LocalHostName"]} {
		if s, _ := s.(string); strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// macSystemPrefs is preferences.plist's System dictionary.
func macSystemPrefs(v any) map[string]any {
	d, _ := v.(map[string]any)
	sys, _ := d["System"].(map[string]any)
	if sys == nil {
		return map[string]any{}
	}
	return sys
}

func readPlist(fsys fs.FS, name string) any {
	b, err := safefs.ReadFile(context.Background(), fsys, name, safefs.Plist)
	if err != nil {
		return nil
	}
	v, err := plist.Decode(b, plist.Limits{})
	if err != nil {
		return nil
	}
	return v
}

// macSystemBinaries are the programs whose Mach-O header tells a volume's
// architecture: every macOS has them.
var macSystemBinaries = []string{"usr/bin/true", "bin/ls", "bin/sh", "usr/lib/dyld"}

// macDyldCaches are the folders of the dyld shared cache, which holds one
// cache per architecture the machine runs natively (macOS 11-12, then
// the cryptex of macOS 13 and later).
var macDyldCaches = []string{
	"System/Library/dyld",
	"System/Volumes/Preboot/Cryptexes/OS/System/Library/dyld",
	"System/Cryptexes/OS/System/Library/dyld",
}

// machOArch tells a macOS volume's architecture from a system binary's
// Mach-O header. A thin binary says it at once. The universal binaries of
// macOS 11 and later hold both x86_64 and arm64e whatever the machine, so
// for them: 32-bit slices (i386, ppc) are ignored, a single remaining one
// is the answer, and otherwise the dyld shared caches on the volume decide
// when they name exactly one of the candidates (dyld_shared_cache_arm64e
// only, or x86_64 only); else the architecture stays unknown ("") rather
// than guessed.
func machOArch(fsys fs.FS) string {
	for _, name := range macSystemBinaries {
		archs, ok := machOArchs(fsys, name)
		if !ok {
			continue
		}
		if len(archs) == 1 {
			return archs[0]
		}
		cached := dyldCacheArchs(fsys)
		var both []string
		for _, a := range archs {
			if slices.Contains(cached, a) {
				both = append(both, a)
			}
		}
		if len(both) == 1 {
			return both[0]
		}
		return ""
	}
	return ""
}

// machOArchs lists the 64-bit architectures of a Mach-O file, as Go
// names them.
func machOArchs(fsys fs.FS, name string) ([]string, bool) {
	f, err := safefs.Open(context.Background(), fsys, name, safefs.Executable)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if !f.RandomAccess() {
		return nil, false
	}
	var cpus []macho.Cpu
	if fat, err := macho.NewFatFile(f); err == nil {
		for _, a := range fat.Arches {
			cpus = append(cpus, a.Cpu)
		}
	} else if m, err := macho.NewFile(f); err == nil {
		cpus = append(cpus, m.Cpu)
	} else {
		return nil, false
	}
	var out []string
	for _, c := range cpus {
		var a string
		switch c {
		case macho.CpuAmd64:
			a = "amd64"
		case macho.CpuArm64:
			a = "arm64"
		case macho.CpuPpc64:
			a = "ppc64"
		}
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(cpus) > 0 {
		// Only 32-bit slices: an old Mac of one of them.
		switch cpus[0] {
		case macho.Cpu386:
			out = []string{"386"}
		case macho.CpuPpc:
			out = []string{"ppc"}
		}
	}
	return out, len(out) > 0
}

// dyldCacheArchs lists the architectures of the dyld shared caches on
// the volume (dyld_shared_cache_arm64e, dyld_shared_cache_x86_64h …).
func dyldCacheArchs(fsys fs.FS) []string {
	var out []string
	for _, dir := range macDyldCaches {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			rest, ok := strings.CutPrefix(e.Name(), "dyld_shared_cache_")
			if !ok || strings.Contains(rest, ".") {
				continue // a map or a sub-cache (.01, .map)
			}
			var a string
			switch {
			case strings.HasPrefix(rest, "arm64"):
				a = "arm64"
			case strings.HasPrefix(rest, "x86_64"):
				a = "amd64"
			}
			if a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// hardwareUUID returns the machine's hardware UUID (IOPlatformUUID) as it
// ends the name of a by-host preference file,
// com.apple.screensaver.564D8F2E-….plist: a dot, 8-4-4-4-12 hex digits,
// ".plist". (A function rather than a regular expression compiled when
// the package is initialised, in every agent process.)
func hardwareUUID(name string) (string, bool) {
	const n = 36
	rest, ok := strings.CutSuffix(name, ".plist")
	if !ok || len(rest) < n+1 || rest[len(rest)-n-1] != '.' {
		return "", false
	}
	id := rest[len(rest)-n:]
	for i := range n {
		c := id[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return "", false
		}
	}
	return id, true
}

// maxProfiles bounds the user folders looked at for by-host preferences.
const maxProfiles = 200

// macVolumeID is what a macOS volume's host id is derived from:
//
//   - the machine's hardware UUID (IOPlatformUUID, what the live machine's
//     id comes from), which macOS writes into the names of by-host
//     preference files (Library/Preferences/ByHost, and each user's); the
//     one most files carry, the least in sort order on a tie, since a disk
//     moved between machines keeps the old one's files;
//   - else a digest of the volume's SystemVersion.plist and its
//     SystemConfiguration preferences.plist, which holds the network
//     service UUIDs generated when the system was set up: the same image
//     gives the same id, two installs different ones;
//   - else "" (the id then comes from the hostname, as elsewhere).
func macVolumeID(fsys fs.FS) string {
	count := map[string]int{}
	dirs := []string{"Library/Preferences/ByHost"}
	if users, err := fs.ReadDir(fsys, "Users"); err == nil {
		for i, u := range users {
			if i == maxProfiles {
				break
			}
			if u.IsDir() {
				dirs = append(dirs, path.Join("Users", u.Name(), "Library/Preferences/ByHost"))
			}
		}
	}
	for _, dir := range dirs {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if id, ok := hardwareUUID(e.Name()); ok {
				count[strings.ToUpper(id)]++
			}
		}
	}
	best := ""
	for id, n := range count {
		if best == "" || n > count[best] || n == count[best] && id < best {
			best = id
		}
	}
	if best != "" {
		return "mac-hardware-uuid:" + best
	}
	version := readSmall(fsys, "System/Library/CoreServices/SystemVersion.plist")
	prefs, _ := safefs.ReadFile(context.Background(), fsys, macPreferences, safefs.Plist)
	if len(version) == 0 && len(prefs) == 0 {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d:", len(version))
	h.Write(version)
	h.Write(prefs)
	return fmt.Sprintf("mac-volume:%x", h.Sum(nil))
}
