package receipts

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/detecttest"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/host"
)

func collect(t *testing.T, root string) ([]detect.Observation, error) {
	t.Helper()
	return detecttest.CollectRoot(t, New(), root, host.Darwin)
}

var installed = time.Date(2023, 5, 4, 10, 30, 0, 0, time.UTC)

func receipt(t *testing.T, root, id, version, prefix string, f mactest.Format) {
	t.Helper()
	mactest.WriteFile(t, root, "private/var/db/receipts/"+id+".plist",
		mactest.Encode(t, mactest.Receipt(id, version, prefix, id+".pkg", installed), f), 0o644)
	// The bill of materials beside it is not read.
	mactest.WriteFile(t, root, "private/var/db/receipts/"+id+".bom", []byte("BOMStore"), 0o644)
}

func TestCollect(t *testing.T) {
	root := t.TempDir()
	mactest.Symlink(t, root, "var", "private/var") // as on a Mac: read once
	// Installed into the root: taken at its word.
	receipt(t, root, "com.kaspersky.kav.core", "21.0.4.100", "/", mactest.Binary)
	// Its own folder exists / is gone.
	mactest.WriteFile(t, root, "Library/Application Support/Kaspersky Lab/klnagent/Binaries/klnagent", []byte("x"), 0o755)
	receipt(t, root, "com.kaspersky.klnagent", "15.1.0.20748", "Library/Application Support/Kaspersky Lab/klnagent", mactest.XML)
	receipt(t, root, "com.kaspersky.kav.oas", "21.0.4.100", "/Library/Application Support/Kaspersky Lab/KAV", mactest.Binary)
	receipt(t, root, "com.example.gone.app", "2.0", "Applications/Gone.app", mactest.XML)
	// A shared folder says nothing, even when missing from the image.
	receipt(t, root, "com.example.tool", "1.0", "usr/local/bin", mactest.XML)
	obs, err := collect(t, root)
	if err != nil {
		t.Fatal(err)
	}
	want := []detect.Observation{
		{Kind: detect.KindPackage, Status: detect.Residual, Name: "com.example.gone.app", Version: "2.0", Path: "/Applications/Gone.app",
			Location: "private/var/db/receipts/com.example.gone.app.plist",
			Detail:   "com.example.gone.app 2.0, installed 2023-05-04 into /Applications/Gone.app (gone: receipt left behind)"},
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "com.example.tool", Version: "1.0",
			Location: "private/var/db/receipts/com.example.tool.plist",
			Detail:   "com.example.tool 1.0, installed 2023-05-04 into /usr/local/bin"},
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "com.kaspersky.kav.core", Version: "21.0.4.100",
			Location: "private/var/db/receipts/com.kaspersky.kav.core.plist",
			Detail:   "com.kaspersky.kav.core 21.0.4.100, installed 2023-05-04 into /"},
		{Kind: detect.KindPackage, Status: detect.Residual, Name: "com.kaspersky.kav.oas", Version: "21.0.4.100",
			Path:     "/Library/Application Support/Kaspersky Lab/KAV",
			Location: "private/var/db/receipts/com.kaspersky.kav.oas.plist",
			Detail:   "com.kaspersky.kav.oas 21.0.4.100, installed 2023-05-04 into /Library/Application Support/Kaspersky Lab/KAV (gone: receipt left behind)"},
		{Kind: detect.KindPackage, Status: detect.Installed, Name: "com.kaspersky.klnagent", Version: "15.1.0.20748",
			Path:     "/Library/Application Support/Kaspersky Lab/klnagent",
			Location: "private/var/db/receipts/com.kaspersky.klnagent.plist",
			Detail:   "com.kaspersky.klnagent 15.1.0.20748, installed 2023-05-04 into /Library/Application Support/Kaspersky Lab/klnagent"},
	}
	if !reflect.DeepEqual(obs, want) {
		t.Errorf("got:\n%v\nwant:\n%v", obs, want)
	}
}

// An image copied without /private: receipts under var/db are read.
func TestCollectVarOnly(t *testing.T) {
	root := t.TempDir()
	mactest.WriteFile(t, root, "var/db/receipts/com.example.a.plist",
		mactest.Encode(t, mactest.Receipt("com.example.a", "1", "/", "a.pkg", installed), mactest.XML), 0o644)
	obs, err := collect(t, root)
	if err != nil || len(obs) != 1 || obs[0].Location != "var/db/receipts/com.example.a.plist" {
		t.Errorf("obs %v, err %v", obs, err)
	}
}

func TestCollectBadReceipts(t *testing.T) {
	root := t.TempDir()
	good := mactest.Encode(t, mactest.Receipt("com.example.good", "1", "/", "good.pkg", installed), mactest.Binary)
	noID := mactest.Encode(t, map[string]any{"PackageVersion": "1"}, mactest.XML)
	for name, content := range map[string][]byte{
		"good":      good,
		"truncated": good[:len(good)-10],
		"malformed": []byte("<?xml version=\"1.0\"?><plist><dict><key>PackageIdentifier</key>"),
		"no-id":     noID,
		"empty":     {},
	} {
		mactest.WriteFile(t, root, "private/var/db/receipts/"+name+".plist", content, 0o644)
	}
	obs, err := collect(t, root)
	if len(obs) != 1 || obs[0].Name != "com.example.good" {
		t.Errorf("obs = %v", obs)
	}
	for _, want := range []string{
		"truncated.plist: not a valid property list",
		"malformed.plist: not a valid property list",
		"no-id.plist: no PackageIdentifier",
		"empty.plist: not a valid property list: empty file",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if !detect.IsWarning(err) {
		t.Errorf("bad receipts failed the source: %v; want warnings (one receipt each)", err)
	}
}

func TestCollectNoReceipts(t *testing.T) {
	obs, err := collect(t, t.TempDir())
	if err != nil || len(obs) != 0 {
		t.Errorf("obs %v, err %v", obs, err)
	}
}

func TestInstallPrefix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		own  bool
	}{
		{"/", "", false},
		{"", "", false},
		{"Applications", "Applications", false},
		{"/applications/", "applications", false},
		{"Applications/Foo.app", "Applications/Foo.app", true},
		{"/Library/Application Support/Kaspersky Lab/KAV", "Library/Application Support/Kaspersky Lab/KAV", true},
		{"../../etc", "etc", false},
		{"./opt/x/../y", "opt/y", true},
	} {
		got, own := installPrefix(tt.in)
		if got != tt.want || own != tt.own {
			t.Errorf("installPrefix(%q) = %q, %v; want %q, %v", tt.in, got, own, tt.want, tt.own)
		}
	}
}
