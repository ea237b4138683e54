package launchd

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

func job(t *testing.T, root, dir string, d map[string]any, f mactest.Format) {
	t.Helper()
	mactest.WriteFile(t, root, dir+"/"+d["Label"].(string)+".plist", mactest.Encode(t, d, f), 0o644)
}

func TestCollect(t *testing.T) {
	root := t.TempDir()
	bin, err := machotest.Minimal("amd64")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := machotest.Sign(bin, machotest.Options{Identifier: "kav", TeamID: "2Y8XE5CQ94"})
	if err != nil {
		t.Fatal(err)
	}
	mactest.WriteFile(t, root, "Library/Application Support/Kaspersky Lab/KAV/Binaries/kav", signed, 0o755)
	mactest.WriteFile(t, root, "usr/local/bin/helper.sh", []byte("#!/bin/sh\n"), 0o755)

	job(t, root, "Library/LaunchDaemons", mactest.LaunchJob("com.kaspersky.kav",
		"/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav", "-bl"), mactest.Binary)
	gone := mactest.LaunchJob("com.kaspersky.klnagent")
	delete(gone, "ProgramArguments")
	gone["Program"] = "/Library/Application Support/Kaspersky Lab/klnagent/Binaries/klnagent"
	job(t, root, "Library/LaunchDaemons", gone, mactest.XML)
	script := mactest.LaunchJob("com.example.helper", "/usr/local/bin/helper.sh")
	script["Disabled"] = true
	job(t, root, "Library/LaunchAgents", script, mactest.XML)
	job(t, root, "Users/alice/Library/LaunchAgents", mactest.LaunchJob("com.example.user", "sh", "-c", "true"), mactest.Binary)

	obs, err := collect(t, root)
	if err != nil {
		t.Fatal(err)
	}
	want := []detect.Observation{
		{Kind: detect.KindService, Status: detect.Installed, Name: "com.kaspersky.kav",
			Path:     "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav",
			Location: "Library/LaunchDaemons/com.kaspersky.kav.plist",
			Detail:   "com.kaspersky.kav: /Library/Application Support/Kaspersky Lab/KAV/Binaries/kav (signed by team 2Y8XE5CQ94)"},
		{Kind: detect.KindService, Status: detect.Residual, Name: "com.kaspersky.klnagent",
			Path:     "/Library/Application Support/Kaspersky Lab/klnagent/Binaries/klnagent",
			Location: "Library/LaunchDaemons/com.kaspersky.klnagent.plist",
			Detail:   "com.kaspersky.klnagent: /Library/Application Support/Kaspersky Lab/klnagent/Binaries/klnagent (program missing)"},
		{Kind: detect.KindService, Status: detect.Installed, Name: "com.example.helper", Path: "/usr/local/bin/helper.sh",
			Location: "Library/LaunchAgents/com.example.helper.plist",
			Detail:   "com.example.helper: /usr/local/bin/helper.sh (disabled)"},
		{Kind: detect.KindService, Status: detect.Installed, Name: "com.example.user", Path: "sh",
			Location: "Users/alice/Library/LaunchAgents/com.example.user.plist",
			Detail:   "com.example.user: sh (program found through PATH)"},
	}
	if !reflect.DeepEqual(obs, want) {
		t.Errorf("got:\n%v\nwant:\n%v", obs, want)
	}
}

// A program reached through an absolute link inside the image counts as
// present; a link loop is reported.
func TestCollectLinkedPrograms(t *testing.T) {
	root := t.TempDir()
	mactest.WriteFile(t, root, "opt/agent/bin/agent", []byte("#!/bin/sh\n"), 0o755)
	mactest.Symlink(t, root, "usr/local/bin/agent", "/opt/agent/bin/agent")
	mactest.Symlink(t, root, "usr/local/bin/loop", "/usr/local/bin/loop")
	job(t, root, "Library/LaunchDaemons", mactest.LaunchJob("com.example.agent", "/usr/local/bin/agent"), mactest.XML)
	job(t, root, "Library/LaunchDaemons", mactest.LaunchJob("com.example.loop", "/usr/local/bin/loop"), mactest.XML)
	obs, err := collect(t, root)
	if len(obs) != 2 || obs[0].Status != detect.Installed || obs[1].Status != detect.Installed {
		t.Errorf("obs = %v", obs)
	}
	if err == nil || !strings.Contains(err.Error(), "com.example.loop.plist: program /usr/local/bin/loop") || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("err = %v", err)
	}
}

func TestCollectBadDefinitions(t *testing.T) {
	root := t.TempDir()
	good := mactest.Encode(t, mactest.LaunchJob("com.example.good", "/bin/true"), mactest.Binary)
	mactest.WriteFile(t, root, "Library/LaunchDaemons/good.plist", good, 0o644)
	mactest.WriteFile(t, root, "Library/LaunchDaemons/truncated.plist", good[:len(good)/3], 0o644)
	mactest.WriteFile(t, root, "Library/LaunchDaemons/malformed.plist", []byte("<plist><dict><key>Label</key><string>x</string>"), 0o644)
	mactest.WriteFile(t, root, "Library/LaunchDaemons/nolabel.plist", mactest.Encode(t, map[string]any{"Program": "/bin/true"}, mactest.XML), 0o644)
	mactest.WriteFile(t, root, "Library/LaunchDaemons/README.txt", []byte("not a plist"), 0o644)
	bad := []byte("\xcf\xfa\xed\xfe\x0c\x00\x00\x01")
	mactest.WriteFile(t, root, "opt/bad", bad, 0o755)
	mactest.WriteFile(t, root, "Library/LaunchDaemons/badbin.plist", mactest.Encode(t, mactest.LaunchJob("com.example.badbin", "/opt/bad"), mactest.XML), 0o644)
	obs, err := collect(t, root)
	names := []string{}
	for _, o := range obs {
		names = append(names, o.Name)
	}
	if !reflect.DeepEqual(names, []string{"com.example.badbin", "com.example.good", "nolabel"}) {
		t.Errorf("names = %v", names)
	}
	for _, want := range []string{
		"truncated.plist: not a valid property list",
		"malformed.plist: not a valid property list",
		"nolabel.plist: no Label",
		"badbin.plist: program: opt/bad: malformed Mach-O file",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if !detect.IsWarning(err) {
		t.Errorf("bad job definitions failed the source: %v; want warnings (one job each)", err)
	}
}
