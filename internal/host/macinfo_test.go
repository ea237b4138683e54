package host

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/avscout/avscout/internal/detect/macho/machotest"
)

// preferences is the shape of a Mac's SystemConfiguration
// preferences.plist (keys as macOS 14 writes them; values made up).
const preferences = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>NetworkServices</key>
	<dict><key>2F1A7C1E-0B7E-4C1B-9E3A-5D0C7B9A1E22</key><dict><key>UserDefinedName</key><string>Wi-Fi</string></dict></dict>
	<key>System</key>
	<dict>
		<key>Network</key>
		<dict><key>HostNames</key><dict><key>LocalHostName</key><string>Design-MBP</string></dict></dict>
		<key>System</key>
		<dict><key>ComputerName</key><string>Design MacBook Pro</string><key>ComputerNameEncoding</key><integer>0</integer></dict>
	</dict>
</dict>
</plist>
`

const systemVersion = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>ProductName</key><string>macOS</string><key>ProductVersion</key><string>14.2.1</string></dict></plist>
`

func machO(t *testing.T, goarch ...string) []byte {
	t.Helper()
	var thin [][]byte
	for _, a := range goarch {
		b, err := machotest.Minimal(a)
		if err != nil {
			t.Fatal(err)
		}
		thin = append(thin, b)
	}
	if len(thin) == 1 {
		return thin[0]
	}
	b, err := machotest.Fat(thin...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOfflineMacFacts(t *testing.T) {
	base := func() fstest.MapFS {
		return fstest.MapFS{
			"System/Library/CoreServices/SystemVersion.plist": {Data: []byte(systemVersion)},
			macPreferences: {Data: []byte(preferences)},
		}
	}
	universal := machO(t, "amd64", "arm64")
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		arch  string
	}{
		{"thin arm64", fstest.MapFS{"usr/bin/true": {Data: machO(t, "arm64")}}, "arm64"},
		{"thin amd64 in bin/ls", fstest.MapFS{"bin/ls": {Data: machO(t, "amd64")}}, "amd64"},
		{"universal, arm64e cache only", fstest.MapFS{"usr/bin/true": {Data: universal},
			"System/Volumes/Preboot/Cryptexes/OS/System/Library/dyld/dyld_shared_cache_arm64e":    {Data: []byte("x")},
			"System/Volumes/Preboot/Cryptexes/OS/System/Library/dyld/dyld_shared_cache_arm64e.01": {Data: []byte("x")}}, "arm64"},
		{"universal, x86_64 caches only", fstest.MapFS{"usr/bin/true": {Data: universal},
			"System/Library/dyld/dyld_shared_cache_x86_64":  {Data: []byte("x")},
			"System/Library/dyld/dyld_shared_cache_x86_64h": {Data: []byte("x")}}, "amd64"},
		{"universal, both caches: not guessed", fstest.MapFS{"usr/bin/true": {Data: universal},
			"System/Library/dyld/dyld_shared_cache_x86_64": {Data: []byte("x")},
			"System/Library/dyld/dyld_shared_cache_arm64e": {Data: []byte("x")}}, ""},
		{"no system binary", fstest.MapFS{"usr/bin/true": {Data: []byte("#!/bin/sh\n")}}, ""},
	} {
		fsys := base()
		for k, v := range tc.files {
			fsys[k] = v
		}
		h := &Host{OS: Darwin, FS: fsys, Root: "/mnt/mac"}
		info := h.Describe()
		if info.Arch != tc.arch || info.Hostname != "Design MacBook Pro" || info.OSVersion != "macOS 14.2.1" {
			t.Errorf("%s: %+v, want arch %q", tc.name, info, tc.arch)
		}
	}
}

func TestOfflineMacHostname(t *testing.T) {
	for _, tc := range []struct{ prefs, want string }{
		{preferences, "Design MacBook Pro"},
		{`<plist version="1.0"><dict><key>System</key><dict><key>System</key><dict><key>HostName</key><string>build-07.example.com</string></dict></dict></dict></plist>`, "build-07.example.com"},
		{`<plist version="1.0"><dict><key>System</key><dict><key>Network</key><dict><key>HostNames</key><dict><key>LocalHostName</key><string>Lab-Mac</string></dict></dict></dict></dict></plist>`, "Lab-Mac"},
		{`not a plist`, ""},
	} {
		got := macHostname(fstest.MapFS{macPreferences: {Data: []byte(tc.prefs)}})
		if got != tc.want {
			t.Errorf("hostname %q, want %q", got, tc.want)
		}
	}
}

func TestOfflineMacID(t *testing.T) {
	const hw = "564D8F2E-6A1B-4C3D-9E8F-0A1B2C3D4E5F"
	image := func(extra fstest.MapFS) fstest.MapFS {
		m := fstest.MapFS{
			"System/Library/CoreServices/SystemVersion.plist": {Data: []byte(systemVersion)},
			macPreferences: {Data: []byte(preferences)},
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	id := func(fsys fstest.MapFS) string { return (&Host{OS: Darwin, FS: fsys}).Describe().ID }

	withUUID := image(fstest.MapFS{
		"Users/ann/Library/Preferences/ByHost/com.apple.screensaver." + hw + ".plist":   {Data: []byte("x")},
		"Users/ann/Library/Preferences/ByHost/com.apple.controlcenter." + hw + ".plist": {Data: []byte("x")},
		// A disk moved from another Mac keeps a file of the old one.
		"Library/Preferences/ByHost/com.apple.loginwindow.00000000-1111-2222-3333-444444444444.plist": {Data: []byte("x")},
	})
	if got, want := macVolumeID(withUUID), "mac-hardware-uuid:"+hw; got != want {
		t.Errorf("volume id %q, want %q", got, want)
	}
	// The same image, the same id; another install, another id.
	other := image(nil)
	other[macPreferences] = &fstest.MapFile{Data: []byte(preferences[:len(preferences)-10] + "</plist>\n")}
	plain := image(nil)
	if id(plain) != id(image(nil)) || id(plain) == id(other) || id(plain) == id(withUUID) {
		t.Errorf("ids: plain %s (again %s), other %s, with uuid %s", id(plain), id(image(nil)), id(other), id(withUUID))
	}
	// Two images of different Macs with byte-identical system files
	// differ by their hardware UUIDs.
	a := image(fstest.MapFS{"Library/Preferences/ByHost/x." + hw + ".plist": {Data: []byte("x")}})
	b := image(fstest.MapFS{"Library/Preferences/ByHost/x.11111111-2222-3333-4444-555555555555.plist": {Data: []byte("x")}})
	if id(a) == id(b) {
		t.Error("two Macs with identical system files share an id")
	}
	if macVolumeID(fstest.MapFS{}) != "" {
		t.Error("an empty volume has an id of its own")
	}
}

// hardwareUUID accepts what the regular expression it replaced matched,
// and returns the same submatch.
func TestHardwareUUIDAsRegexp(t *testing.T) {
	re := regexp.MustCompile(`\.([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\.plist$`)
	const id = "564D8F2E-1B2c-4d3E-9f00-0123456789aB"
	names := []string{
		"com.apple.screensaver." + id + ".plist", "." + id + ".plist", id + ".plist", "x" + id + ".plist",
		"a." + id + ".plist.bak", "a." + id + ".PLIST", "a." + id + "0.plist", "a." + id[1:] + ".plist",
		"a." + strings.Replace(id, "-", "_", 1) + ".plist", "a." + strings.Replace(id, "D", "G", 1) + ".plist",
		"a." + strings.Replace(id, "4", "-", 1) + ".plist", "", ".plist", "..plist", "a.." + id + ".plist",
		"a." + id + ".plist" + "\n", "é." + id + ".plist",
	}
	for _, name := range names {
		got, ok := hardwareUUID(name)
		m := re.FindStringSubmatch(name)
		if ok != (m != nil) || ok && got != m[1] {
			t.Errorf("%q: %q, %v; the regexp: %q", name, got, ok, m)
		}
	}
}

func FuzzHardwareUUID(f *testing.F) {
	f.Add("com.apple.screensaver.564D8F2E-1B2C-4D3E-9F00-0123456789AB.plist")
	re := regexp.MustCompile(`\.([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\.plist$`)
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := hardwareUUID(name)
		m := re.FindStringSubmatch(name)
		if ok != (m != nil) || ok && got != m[1] {
			t.Errorf("%q: %q, %v; the regexp: %q", name, got, ok, m)
		}
	})
}
