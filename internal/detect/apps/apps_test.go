package apps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/detecttest"
	"github.com/avscout/avscout/internal/detect/macho/machotest"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/host"
)

const kasperskyTeam = "2Y8XE5CQ94"

func collect(t testing.TB, root string) ([]detect.Observation, error) {
	t.Helper()
	return detecttest.CollectRoot(t, New(), root, host.Darwin)
}

// exe returns a small executable signed with team (ad-hoc when empty).
func exe(t testing.TB, ident, team string) []byte {
	t.Helper()
	bin, err := machotest.Minimal("arm64")
	if err != nil {
		t.Fatal(err)
	}
	out, err := machotest.Sign(bin, machotest.Options{Identifier: ident, TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func byPath(obs []detect.Observation) map[string]detect.Observation {
	m := map[string]detect.Observation{}
	for _, o := range obs {
		m[o.Path] = o
	}
	return m
}

func TestCollectBundles(t *testing.T) {
	root := t.TempDir()
	// A universal binary of two real Go executables, signed by Kaspersky.
	var slices [][]byte
	for _, arch := range []string{"amd64", "arm64"} {
		s, err := machotest.Sign(machotest.Build(t, arch), machotest.Options{Identifier: "com.kaspersky.kav", TeamID: kasperskyTeam})
		if err != nil {
			t.Fatal(err)
		}
		slices = append(slices, s)
	}
	universal, err := machotest.Fat(slices...)
	if err != nil {
		t.Fatal(err)
	}
	kis := mactest.InfoPlist("com.kaspersky.kav", "Kaspersky Internet Security", "21.0.4", "Kaspersky Internet Security")
	kis["CFBundleDisplayName"] = "Kaspersky Internet Security"
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/Kaspersky Internet Security.app", Info: kis, Format: mactest.Binary, Executable: universal})

	// White label: another brand, Kaspersky's team.
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/SafeGuard Pro.app", Format: mactest.XML,
		Info:       mactest.InfoPlist("com.acme.safeguard", "SafeGuard Pro", "3.1", "SafeGuard"),
		Executable: exe(t, "com.acme.safeguard", kasperskyTeam)})

	// No display name nor name: the folder names it. Version only as an
	// integer CFBundleVersion.
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/Utilities/Bare Tool.app", Format: mactest.Binary,
		Info:       map[string]any{"CFBundleIdentifier": "org.example.bare", "CFBundleExecutable": "bare", "CFBundleVersion": 42},
		Executable: exe(t, "org.example.bare", "")})

	// Apps one folder down, in Application Support and in a user's
	// Applications; no executable at all for one.
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/Sophos/Sophos Endpoint.app", Format: mactest.XML,
		Info:       mactest.InfoPlist("com.sophos.endpoint.uiserver", "Sophos Endpoint", "1.2", "Sophos Endpoint"),
		Executable: exe(t, "com.sophos.endpoint.uiserver", "2H5GFH3774")})
	helper := mactest.InfoPlist("com.kaspersky.helper", "Kaspersky Helper", "1.0", "")
	delete(helper, "CFBundleExecutable")
	mactest.WriteApp(t, root, mactest.App{Dir: "Library/Application Support/Kaspersky Lab/Kaspersky Helper.app", Format: mactest.XML, Info: helper})
	mactest.WriteApp(t, root, mactest.App{Dir: "Users/alice/Applications/Personal.app", Format: mactest.Binary,
		Info:       mactest.InfoPlist("com.example.personal", "Personal", "2.0", "Personal"),
		Executable: exe(t, "com.example.personal", "")})

	// Not listed: two folders down, and a helper inside a bundle.
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/A/B/Deep.app", Format: mactest.XML,
		Info: mactest.InfoPlist("com.example.deep", "Deep", "1", "Deep")})
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/SafeGuard Pro.app/Contents/Library/LoginItems/Helper.app", Format: mactest.XML,
		Info: mactest.InfoPlist("com.acme.safeguard.helper", "Helper", "1", "Helper")})

	obs, err := collect(t, root)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	want := []detect.Observation{
		{Kind: detect.KindApp, Status: detect.Installed, Name: "com.kaspersky.kav", Display: "Kaspersky Internet Security", Version: "21.0.4",
			Path: "/Applications/Kaspersky Internet Security.app", Signer: kasperskyTeam,
			Location: "Applications/Kaspersky Internet Security.app/Contents/Info.plist",
			Detail:   "Kaspersky Internet Security 21.0.4 (com.kaspersky.kav) at /Applications/Kaspersky Internet Security.app, Kaspersky Internet Security signed by team 2Y8XE5CQ94"},
		{Kind: detect.KindApp, Status: detect.Installed, Name: "com.acme.safeguard", Display: "SafeGuard Pro", Version: "3.1",
			Path: "/Applications/SafeGuard Pro.app", Signer: kasperskyTeam,
			Location: "Applications/SafeGuard Pro.app/Contents/Info.plist",
			Detail:   "SafeGuard Pro 3.1 (com.acme.safeguard) at /Applications/SafeGuard Pro.app, SafeGuard signed by team 2Y8XE5CQ94"},
		{Kind: detect.KindApp, Status: detect.Installed, Name: "com.sophos.endpoint.uiserver", Display: "Sophos Endpoint", Version: "1.2",
			Path: "/Applications/Sophos/Sophos Endpoint.app", Signer: "2H5GFH3774",
			Location: "Applications/Sophos/Sophos Endpoint.app/Contents/Info.plist",
			Detail:   "Sophos Endpoint 1.2 (com.sophos.endpoint.uiserver) at /Applications/Sophos/Sophos Endpoint.app, Sophos Endpoint signed by team 2H5GFH3774"},
		{Kind: detect.KindApp, Status: detect.Installed, Name: "org.example.bare", Display: "Bare Tool", Version: "42",
			Path: "/Applications/Utilities/Bare Tool.app", Location: "Applications/Utilities/Bare Tool.app/Contents/Info.plist",
			Detail: "Bare Tool 42 (org.example.bare) at /Applications/Utilities/Bare Tool.app, bare ad-hoc signed"},
		{Kind: detect.KindApp, Status: detect.Installed, Name: "com.kaspersky.helper", Display: "Kaspersky Helper", Version: "1.0",
			Path: "/Library/Application Support/Kaspersky Lab/Kaspersky Helper.app", Location: "Library/Application Support/Kaspersky Lab/Kaspersky Helper.app/Contents/Info.plist",
			Detail: "Kaspersky Helper 1.0 (com.kaspersky.helper) at /Library/Application Support/Kaspersky Lab/Kaspersky Helper.app, no executable"},
		{Kind: detect.KindApp, Status: detect.Installed, Name: "com.example.personal", Display: "Personal", Version: "2.0",
			Path: "/Users/alice/Applications/Personal.app", Location: "Users/alice/Applications/Personal.app/Contents/Info.plist",
			Detail: "Personal 2.0 (com.example.personal) at /Users/alice/Applications/Personal.app, Personal ad-hoc signed"},
	}
	if !reflect.DeepEqual(obs, want) {
		t.Errorf("got:\n%s\nwant:\n%s", dump(obs), dump(want))
	}
}

func dump(obs []detect.Observation) string {
	var b strings.Builder
	for _, o := range obs {
		fmt.Fprintf(&b, "%+v\n", o)
	}
	return b.String()
}

// The helper app's executable is missing although its Info.plist names
// it: the bundle is reported, and so is the error.
func TestCollectReportsMissingExecutable(t *testing.T) {
	root := t.TempDir()
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/Broken.app", Format: mactest.XML,
		Info: mactest.InfoPlist("com.example.broken", "Broken", "1", "Broken")})
	obs, err := collect(t, root)
	if len(obs) != 1 || err == nil || !strings.Contains(err.Error(), "Applications/Broken.app/Contents/MacOS/Broken") {
		t.Errorf("obs %v, err %v", obs, err)
	}
}

func TestCollectLinks(t *testing.T) {
	root := t.TempDir()
	mactest.WriteApp(t, root, mactest.App{Dir: "opt/Real.app", Format: mactest.XML,
		Info: mactest.InfoPlist("com.example.real", "Real", "1", "Real"), Executable: exe(t, "com.example.real", "")})
	mactest.WriteApp(t, root, mactest.App{Dir: "Applications/Local.app", Format: mactest.XML,
		Info: mactest.InfoPlist("com.example.local", "Local", "1", "Local"), Executable: exe(t, "com.example.local", "")})
	mactest.Symlink(t, root, "Applications/Linked.app", "/opt/Real.app") // absolute, resolved inside the root
	mactest.Symlink(t, root, "Applications/Again.app", "Local.app")      // the same bundle twice
	mactest.Symlink(t, root, "Applications/loop", "/Applications")       // a folder loop
	mactest.Symlink(t, root, "Applications/Self.app", "Self.app")        // a link loop
	mactest.Symlink(t, root, "Applications/Gone.app", "/Applications/Removed.app")
	mactest.Symlink(t, root, "Users/bob/Applications", "../../Applications") // seen already

	done := make(chan struct{})
	var obs []detect.Observation
	var err error
	go func() {
		defer close(done)
		obs, err = collect(t, root)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Collect hangs on link loops")
	}
	got := byPath(obs)
	if len(obs) != 2 || got["/Applications/Linked.app"].Name != "com.example.real" || got["/Applications/Again.app"].Name != "com.example.local" {
		t.Errorf("got %s", dump(obs))
	}
	if got["/Applications/Linked.app"].Location != "opt/Real.app/Contents/Info.plist" {
		t.Errorf("location %q", got["/Applications/Linked.app"].Location)
	}
	if err == nil || !strings.Contains(err.Error(), "Applications/Self.app") || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("err = %v, want the link loop reported", err)
	}
	if !detect.IsWarning(err) {
		t.Errorf("a link loop failed the source: %v; want a warning", err)
	}
	if strings.Contains(fmt.Sprint(err), "Gone.app") {
		t.Errorf("a dangling link is reported as an error: %v", err)
	}
}

func TestCollectBadInput(t *testing.T) {
	mactest.RequirePlistutil(t)
	root := t.TempDir()
	good := mactest.InfoPlist("com.example.good", "Good", "1.0", "Good")
	bin := mactest.Encode(t, good, mactest.Binary)
	xml := mactest.Encode(t, good, mactest.XML)
	script := []byte("#!/bin/sh\nexec /usr/bin/true\n")
	signed := exe(t, "com.example.trunc", kasperskyTeam)
	for _, tt := range []struct {
		name string
		info []byte
		exe  []byte
		want string // in the source's error
	}{
		{"malformed_xml", []byte("<?xml version=\"1.0\"?>\n<plist><dict><key>CFBundleIdentifier</key><string>x"), nil, "malformed_xml.app/Contents/Info.plist: not a valid property list"},
		{"truncated_binary", bin[:len(bin)/2], nil, "truncated_binary.app/Contents/Info.plist: not a valid property list"},
		{"empty", []byte{}, nil, "empty.app/Contents/Info.plist: not a valid property list: empty file"},
		{"array_top_level", mactest.Encode(t, []any{"a"}, mactest.Binary), nil, "top level is an array"},
		{"garbage", []byte("\x00\x01\x02bplist00\xff\xff"), nil, "garbage.app/Contents/Info.plist"},
		{"script_executable", xml, script, `script_executable.app/Contents/MacOS/Good: not a Mach-O file: starts with "#!/b"`},
		{"truncated_signature", xml, signed[:len(signed)-200], "truncated_signature.app/Contents/MacOS/Good: malformed Mach-O file: code signature"},
		{"empty_executable", xml, []byte{}, "empty_executable.app/Contents/MacOS/Good: not a Mach-O file: only 0 bytes"},
	} {
		mactest.WriteApp(t, root, mactest.App{Dir: "Applications/" + tt.name + ".app", InfoRaw: tt.info, Info: good, Executable: tt.exe})
	}
	obs, err := collect(t, root)
	if err == nil {
		t.Fatal("no error for broken bundles")
	}
	if !detect.IsWarning(err) {
		t.Errorf("broken bundles failed the source: %v\nwant warnings only (each bundle is one item; the rest were seen)", err)
	}
	if len(obs) != 8 {
		t.Errorf("%d observations, want every bundle reported:\n%s", len(obs), dump(obs))
	}
	for _, want := range []string{
		"malformed_xml.app/Contents/Info.plist: not a valid property list",
		"truncated_binary.app/Contents/Info.plist: not a valid property list",
		"empty.app/Contents/Info.plist: not a valid property list: empty file",
		"top level is an array",
		"garbage.app/Contents/Info.plist",
		`script_executable.app/Contents/MacOS/Good: not a Mach-O file: starts with "#!/b"`,
		"truncated_signature.app/Contents/MacOS/Good: malformed Mach-O file: code signature",
		"empty_executable.app/Contents/MacOS/Good: not a Mach-O file: only 0 bytes",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// A bundle whose plist is broken is still named after its folder.
	if o := byPath(obs)["/Applications/empty.app"]; o.Display != "empty" || o.Name != "" {
		t.Errorf("broken bundle: %+v", o)
	}
}

// Ten thousand bundles in /Applications: all read, in bounded time, and a
// cancelled context stops the scan.
func TestCollectTenThousandApps(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 bundles")
	}
	mactest.RequirePlistutil(t)
	root := t.TempDir()
	info := mactest.Encode(t, mactest.InfoPlist("com.example.app", "App", "1.0", "App"), mactest.Binary)
	bin := exe(t, "com.example.app", "")
	for i := range 10_000 {
		dir := filepath.Join(root, "Applications", fmt.Sprintf("App %05d.app", i), "Contents")
		if err := os.MkdirAll(filepath.Join(dir, "MacOS"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Info.plist"), info, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "MacOS", "App"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	obs, err := collect(t, root)
	elapsed := time.Since(start)
	if err != nil || len(obs) != 10_000 {
		t.Fatalf("%d observations, err %v", len(obs), err)
	}
	t.Logf("10,000 bundles in %v", elapsed)
	if elapsed > 20*time.Second {
		t.Errorf("10,000 bundles took %v", elapsed)
	}

	h, err := host.OpenRoot(root, host.Darwin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = New().Collect(ctx, h, func(detect.Observation) {
		if n++; n == 100 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || n != 100 {
		t.Errorf("after cancel: %d observations, err %v", n, err)
	}
}

// BenchmarkCollect500 scans a root with 500 bundles (binary Info.plists,
// small signed Mach-O executables). Target: under 300 ms per scan.
func BenchmarkCollect500(b *testing.B) {
	mactest.RequirePlistutil(b)
	root := b.TempDir()
	bin, err := machotest.Minimal("arm64")
	if err != nil {
		b.Fatal(err)
	}
	info := mactest.Encode(b, mactest.InfoPlist("com.example.app", "App", "1.0", "App"), mactest.Binary)
	for i := range 500 {
		team := ""
		if i%10 == 0 {
			team = kasperskyTeam
		}
		signed, err := machotest.Sign(bin, machotest.Options{Identifier: fmt.Sprintf("com.example.app%d", i), TeamID: team})
		if err != nil {
			b.Fatal(err)
		}
		dir := fmt.Sprintf("Applications/App %03d.app", i)
		mactest.WriteFile(b, root, dir+"/Contents/Info.plist", info, 0o644)
		mactest.WriteFile(b, root, dir+"/Contents/MacOS/App", signed, 0o755)
	}
	h, err := host.OpenRoot(root, host.Darwin)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := New().Collect(context.Background(), h, func(detect.Observation) { n++ }); err != nil || n != 500 {
			b.Fatalf("%d observations, err %v", n, err)
		}
	}
}
