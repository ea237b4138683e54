package extensions

import (
	"reflect"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/detecttest"
	"github.com/avscout/avscout/internal/detect/macho/machotest"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/host"
)

func collect(t *testing.T, root string) ([]detect.Observation, error) {
	t.Helper()
	return detecttest.CollectRoot(t, New(), root, host.Darwin)
}

const endpointSecurity = "com.apple.system_extension.endpoint_security"

func TestStatus(t *testing.T) {
	for state, want := range map[string]detect.Status{
		"activated_enabled":                           detect.Running,
		"activated enabled":                           detect.Running,
		"activated_waiting_for_user":                  detect.Installed,
		"activated_disabled":                          detect.Installed,
		"activated_waiting_to_upgrade":                detect.Installed,
		"terminating_for_disable":                     detect.Installed,
		"validating_by_category":                      detect.Installed,
		"terminated_waiting_to_uninstall_on_reboot":   detect.Residual,
		"terminating_for_uninstall_but_still_running": detect.Residual,
		"uninstalled":                                 detect.Residual,
		"something_new_in_2030":                       detect.Installed,
		"":                                            detect.Installed,
	} {
		if got := Status(state); got != want {
			t.Errorf("Status(%q) = %v, want %v", state, got, want)
		}
	}
}

func TestCollect(t *testing.T) {
	for _, f := range []mactest.Format{mactest.XML, mactest.Binary} {
		t.Run(f.String(), func(t *testing.T) {
			root := t.TempDir()
			db := mactest.SystemExtensionDB(
				mactest.SystemExtension{ID: "com.kaspersky.kav.sysext", TeamID: "2Y8XE5CQ94", Version: "21.0.4", State: "activated_enabled",
					Category: endpointSecurity, App: "/Applications/Kaspersky Internet Security.app", UniqueID: "A1B2C3D4-0000-4000-8000-000000000001"},
				mactest.SystemExtension{ID: "com.crowdstrike.falcon.Agent", TeamID: "X9E956P446", Version: "7.10", State: "activated_waiting_for_user",
					Category: endpointSecurity, App: "/Applications/Falcon.app", UniqueID: "A1B2C3D4-0000-4000-8000-000000000002"},
				mactest.SystemExtension{ID: "com.sophos.endpoint.networkextension", TeamID: "2H5GFH3774", Version: "1.0", State: "terminated_waiting_to_uninstall_on_reboot",
					Category: "com.apple.system_extension.network_extension", App: "/Applications/Sophos/Sophos Network Extension.app", UniqueID: "A1B2C3D4-0000-4000-8000-000000000003"},
			)
			mactest.WriteFile(t, root, DBPath, mactest.Encode(t, db, f), 0o644)
			obs, err := collect(t, root)
			if err != nil {
				t.Fatal(err)
			}
			want := []detect.Observation{
				{Kind: detect.KindDriver, Status: detect.Running, Name: "com.kaspersky.kav.sysext", Version: "21.0.4", Signer: "2Y8XE5CQ94",
					Display:  "Kaspersky Internet Security",
					Path:     "/Applications/Kaspersky Internet Security.app/Contents/Library/SystemExtensions/com.kaspersky.kav.sysext.systemextension",
					Location: DBPath,
					Detail:   "system extension com.kaspersky.kav.sysext 21.0.4 (team 2Y8XE5CQ94): activated_enabled, endpoint_security, from /Applications/Kaspersky Internet Security.app"},
				{Kind: detect.KindDriver, Status: detect.Installed, Name: "com.crowdstrike.falcon.Agent", Version: "7.10", Signer: "X9E956P446",
					Display:  "Falcon",
					Path:     "/Applications/Falcon.app/Contents/Library/SystemExtensions/com.crowdstrike.falcon.Agent.systemextension",
					Location: DBPath,
					Detail:   "system extension com.crowdstrike.falcon.Agent 7.10 (team X9E956P446): activated_waiting_for_user, endpoint_security, from /Applications/Falcon.app"},
				{Kind: detect.KindDriver, Status: detect.Residual, Name: "com.sophos.endpoint.networkextension", Version: "1.0", Signer: "2H5GFH3774",
					Display:  "Sophos Network Extension",
					Path:     "/Applications/Sophos/Sophos Network Extension.app/Contents/Library/SystemExtensions/com.sophos.endpoint.networkextension.systemextension",
					Location: DBPath,
					Detail:   "system extension com.sophos.endpoint.networkextension 1.0 (team 2H5GFH3774): terminated_waiting_to_uninstall_on_reboot, network_extension, from /Applications/Sophos/Sophos Network Extension.app"},
			}
			if !reflect.DeepEqual(obs, want) {
				t.Errorf("got:\n%v\nwant:\n%v", obs, want)
			}
		})
	}
}

func TestCollectKexts(t *testing.T) {
	root := t.TempDir()
	bin, err := machotest.Minimal("amd64")
	if err != nil {
		t.Fatal(err)
	}
	klif, err := machotest.Sign(bin, machotest.Options{Identifier: "com.kaspersky.kext.klif", TeamID: "2Y8XE5CQ94"})
	if err != nil {
		t.Fatal(err)
	}
	kext := func(dir, id, exe string, content []byte, f mactest.Format) {
		info := map[string]any{"CFBundleIdentifier": id, "CFBundleExecutable": exe, "CFBundlePackageType": "KEXT",
			"CFBundleShortVersionString": "3.0.1", "CFBundleVersion": "3.0.1", "OSBundleRequired": "Root"}
		mactest.WriteApp(t, root, mactest.App{Dir: dir, Info: info, Format: f, Executable: content})
	}
	kext("Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "klif", klif, mactest.Binary)
	kext("Library/StagedExtensions/Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "klif", klif, mactest.XML)
	kext("Library/StagedExtensions/Applications/Foo.app/Contents/Library/Extensions/FooNet.kext", "com.example.foonet", "FooNet", bin, mactest.XML)
	// A kext's plug-ins are part of it, not listed on their own.
	kext("Library/Extensions/klif.kext/Contents/PlugIns/plug.kext", "com.kaspersky.kext.plug", "plug", bin, mactest.XML)
	mactest.WriteFile(t, root, "Library/Extensions/broken.kext/Contents/Info.plist", []byte("<plist"), 0o644)
	mactest.Symlink(t, root, "Library/StagedExtensions/loop", "/Library/StagedExtensions")

	obs, err := collect(t, root)
	if err == nil || !strings.Contains(err.Error(), "Library/Extensions/broken.kext/Contents/Info.plist: not a valid property list") {
		t.Errorf("err = %v", err)
	}
	want := []detect.Observation{
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "broken.kext", Path: "/Library/Extensions/broken.kext",
			Location: "Library/Extensions/broken.kext/Contents/Info.plist",
			Detail:   "kernel extension broken.kext at /Library/Extensions/broken.kext (no executable)"},
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "com.kaspersky.kext.klif", Version: "3.0.1", Signer: "2Y8XE5CQ94",
			Path: "/Library/Extensions/klif.kext", Location: "Library/Extensions/klif.kext/Contents/Info.plist",
			Detail: "kernel extension com.kaspersky.kext.klif 3.0.1 at /Library/Extensions/klif.kext (team 2Y8XE5CQ94)"},
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "com.example.foonet", Version: "3.0.1",
			Path:     "/Library/StagedExtensions/Applications/Foo.app/Contents/Library/Extensions/FooNet.kext",
			Location: "Library/StagedExtensions/Applications/Foo.app/Contents/Library/Extensions/FooNet.kext/Contents/Info.plist",
			Detail:   "staged kernel extension com.example.foonet 3.0.1 at /Library/StagedExtensions/Applications/Foo.app/Contents/Library/Extensions/FooNet.kext (unsigned)"},
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "com.kaspersky.kext.klif", Version: "3.0.1", Signer: "2Y8XE5CQ94",
			Path:     "/Library/StagedExtensions/Library/Extensions/klif.kext",
			Location: "Library/StagedExtensions/Library/Extensions/klif.kext/Contents/Info.plist",
			Detail:   "staged kernel extension com.kaspersky.kext.klif 3.0.1 at /Library/StagedExtensions/Library/Extensions/klif.kext (team 2Y8XE5CQ94)"},
	}
	if !reflect.DeepEqual(obs, want) {
		t.Errorf("got:\n%v\nwant:\n%v", obs, want)
	}
}

func TestCollectBadDatabase(t *testing.T) {
	good := mactest.SystemExtensionDB(mactest.SystemExtension{ID: "com.example.ext", TeamID: "ABCDE12345", Version: "1", State: "activated_enabled",
		Category: endpointSecurity, App: "/Applications/Example.app", UniqueID: "U"})
	goodBin := mactest.Encode(t, good, mactest.Binary)
	for _, tt := range []struct {
		name    string
		content []byte
		want    string
		n       int
		warning bool // only entries were lost, the database was read
	}{
		{"truncated_binary", goodBin[:len(goodBin)-30], "db.plist: not a valid property list", 0, false},
		{"truncated_xml", mactest.Encode(t, good, mactest.XML)[:300], "db.plist: not a valid property list", 0, false},
		{"not_an_array", mactest.Encode(t, map[string]any{"extensions": "none"}, mactest.XML), "extensions is not an array", 0, false},
		{"bad_entries", mactest.Encode(t, map[string]any{"extensions": []any{"x", map[string]any{"state": "activated_enabled"}, good["extensions"].([]any)[0]}}, mactest.Binary),
			"extensions[0] is not a dictionary", 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mactest.WriteFile(t, root, DBPath, tt.content, 0o644)
			obs, err := collect(t, root)
			if err == nil || !strings.Contains(err.Error(), tt.want) || len(obs) != tt.n {
				t.Errorf("obs %v, err %v; want %d observations and %q", obs, err, tt.n, tt.want)
			}
			if detect.IsWarning(err) != tt.warning {
				t.Errorf("warning only = %v, want %v: %v", detect.IsWarning(err), tt.warning, err)
			}
		})
	}
}

func TestCollectNothing(t *testing.T) {
	if obs, err := collect(t, t.TempDir()); err != nil || len(obs) != 0 {
		t.Errorf("obs %v err %v", obs, err)
	}
}

// TestCollectSystemKexts: legacy security kexts lived in
// /System/Library/Extensions beside Apple's own (before OS X 10.11; the
// klif.kext and klnke.kext names are those a legacy uninstaller removes
// [KAVMAC-UNINST in the catalog]). A vendor kext there is Installed, as in
// /Library/Extensions; Apple's kexts (com.apple.*) are the OS and are not
// reported, nor is their signature read.
func TestCollectSystemKexts(t *testing.T) {
	root := t.TempDir()
	bin, err := machotest.Minimal("amd64")
	if err != nil {
		t.Fatal(err)
	}
	signed := func(id string) []byte {
		b, err := machotest.Sign(bin, machotest.Options{Identifier: id, TeamID: "2Y8XE5CQ94"})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kext := func(dir, id, exe string, content []byte) {
		info := map[string]any{"CFBundleIdentifier": id, "CFBundleExecutable": exe, "CFBundlePackageType": "KEXT",
			"CFBundleShortVersionString": "8.0.0", "CFBundleVersion": "8.0.0", "OSBundleRequired": "Root"}
		mactest.WriteApp(t, root, mactest.App{Dir: dir, Info: info, Format: mactest.XML, Executable: content})
	}
	kext("System/Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "klif", signed("com.kaspersky.kext.klif"))
	kext("System/Library/Extensions/klnke.kext", "com.kaspersky.nke", "klnke", signed("com.kaspersky.nke"))
	// Apple's own: skipped, even with an executable that is no Mach-O (its
	// signature would be an error if it were read).
	kext("System/Library/Extensions/AppleACPIPlatform.kext", "com.apple.driver.AppleACPIPlatform", "AppleACPIPlatform", []byte("not mach-o"))
	kext("System/Library/Extensions/IOUSBFamily.kext", "com.apple.iokit.IOUSBFamily", "IOUSBFamily", []byte("not mach-o"))
	// Not a kext, and a file: ignored.
	mactest.WriteFile(t, root, "System/Library/Extensions/AppleKextExcludeList.kext.txt", []byte("x"), 0o644)

	obs, err := collect(t, root)
	if err != nil {
		t.Fatal(err)
	}
	want := []detect.Observation{
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "com.kaspersky.kext.klif", Version: "8.0.0", Signer: "2Y8XE5CQ94",
			Path: "/System/Library/Extensions/klif.kext", Location: "System/Library/Extensions/klif.kext/Contents/Info.plist",
			Detail: "kernel extension com.kaspersky.kext.klif 8.0.0 at /System/Library/Extensions/klif.kext (team 2Y8XE5CQ94)"},
		{Kind: detect.KindDriver, Status: detect.Installed, Name: "com.kaspersky.nke", Version: "8.0.0", Signer: "2Y8XE5CQ94",
			Path: "/System/Library/Extensions/klnke.kext", Location: "System/Library/Extensions/klnke.kext/Contents/Info.plist",
			Detail: "kernel extension com.kaspersky.nke 8.0.0 at /System/Library/Extensions/klnke.kext (team 2Y8XE5CQ94)"},
	}
	if !reflect.DeepEqual(obs, want) {
		t.Errorf("got:\n%v\nwant:\n%v", obs, want)
	}
}

func TestAppName(t *testing.T) {
	for _, tt := range []struct{ container, origin, want string }{
		{"/Applications/Kaspersky Internet Security.app", "", "Kaspersky Internet Security"},
		// A white-label build: the brand is the app's, not the extension's identifier.
		{"", "/Applications/Acme Secure.app/Contents/Library/SystemExtensions/com.kaspersky.kav.sysext.systemextension", "Acme Secure"},
		{"/Applications/Vendor/Agent.APP", "", "Agent"},
		// The outermost app: a helper app inside the main one is not the product.
		{"", "/Applications/Main.app/Contents/Helpers/Helper.app/Contents/Library/SystemExtensions/x.systemextension", "Main"},
		{"", "/Library/SystemExtensions/1234/x.systemextension", ""},
		{"", "", ""},
		{"/Applications/.app", "", ""},
	} {
		if got := AppName(tt.container, tt.origin); got != tt.want {
			t.Errorf("AppName(%q, %q) = %q, want %q", tt.container, tt.origin, got, tt.want)
		}
	}
}
