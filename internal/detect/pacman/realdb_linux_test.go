package pacman

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/catalog"
	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/pacman/pacmantest"
	"github.com/avscout/avscout/internal/host"
)

// These tests read databases written by the real pacman (Debian 12's
// pacman-package-manager, 6.0.2). They are Linux-only because pacman is;
// without pacman, or without root (pacman -U demands it), they fail: CI
// must provide both.

// archHost imitates an Arch Linux or Manjaro machine: KESL repackaged
// from the vendor's tarball with makepkg (Kaspersky ships no pacman
// package), Network Agent under the vendor's packager, ClamAV installed as
// a dependency, a removed package, and a decoy whose name starts like
// Kaspersky's (klavaro, a typing tutor in Arch's extra repository).
func archHost() []pacmantest.Pkg {
	return []pacmantest.Pkg{
		{Name: "kesl", Version: "12.1.0.2968-1", Description: "Kaspersky Endpoint Security for Linux (repackaged)",
			URL: "https://www.kaspersky.com", Arch: "x86_64",
			Files: map[string]string{"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n"}},
		{Name: "klnagent64", Version: "15.1.0.20748-1", Description: "Kaspersky Security Center Network Agent",
			Packager: "AO Kaspersky Lab <support@kaspersky.com>", Arch: "x86_64",
			Files: map[string]string{"/opt/kaspersky/klnagent64/sbin/klnagent": "#!/bin/sh\n"}},
		{Name: "clamav", Version: "1.4.1-1", Description: "Anti-virus toolkit for Unix", URL: "https://www.clamav.net/",
			Packager: "Manjaro Build Server <build@manjaro.org>", Arch: "x86_64", AsDeps: true,
			Files: map[string]string{"/usr/bin/clamscan": "#!/bin/sh\n"}},
		{Name: "kesl-gui", Version: "12.1.0.2968-1", Description: "KESL graphical interface", Remove: true,
			Files: map[string]string{"/opt/kaspersky/kesl-gui/bin/kesl-gui": "#!/bin/sh\n"}},
		{Name: "klavaro", Version: "3.14-1", Description: "Free touch typing tutor program", Packager: "Manjaro Build Server <build@manjaro.org>",
			Files: map[string]string{"/usr/bin/klavaro": "#!/bin/sh\n"}},
	}
}

func TestRealDatabase(t *testing.T) {
	root := t.TempDir()
	before := time.Now().Add(-time.Minute)
	pacmantest.Build(t, root, archHost())
	h, err := host.OpenRoot(root, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	obs := func(name, version, vendor string) detect.Observation {
		return detect.Observation{Kind: detect.KindPackage, Status: detect.Installed, Name: name, Version: version, Vendor: vendor,
			Location: "var/lib/pacman/local/" + name + "-" + version + "/desc", Detail: name + " " + version}
	}
	want := []detect.Observation{
		obs("clamav", "1.4.1-1", "Manjaro Build Server <build@manjaro.org>"),
		obs("kesl", "12.1.0.2968-1", "Unknown Packager"),
		obs("klavaro", "3.14-1", "Manjaro Build Server <build@manjaro.org>"),
		obs("klnagent64", "15.1.0.20748-1", "AO Kaspersky Lab <support@kaspersky.com>"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%v\nwant:\n%v", got, want)
	}

	// What pacman wrote that the observation leaves out is parsed too.
	p, err := readDesc(h.FS, "var/lib/pacman/local/clamav-1.4.1-1/desc")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Dependency || p.Arch != "x86_64" || p.URL != "https://www.clamav.net/" || p.InstallDate.Before(before) {
		t.Errorf("clamav desc: %+v", p)
	}
	if p, _ := readDesc(h.FS, "var/lib/pacman/local/kesl-12.1.0.2968-1/desc"); p.Dependency {
		t.Errorf("kesl installed explicitly, read as a dependency: %+v", p)
	}

	// Through the catalog: the packages make installed products, the
	// decoy none.
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range catalog.Match(cat, "linux", got) {
		found[f.ProductID] = f.State
	}
	for _, id := range []string{"kaspersky-endpoint-security-linux", "kaspersky-network-agent", "clamav"} {
		if found[id] != "installed" {
			t.Errorf("%s: state %q, want installed (findings %v)", id, found[id], found)
		}
	}
	if len(found) != 3 {
		t.Errorf("findings %v: the decoy or the removed package found", found)
	}
}
