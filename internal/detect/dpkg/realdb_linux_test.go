package dpkg

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/detect/internal/recfile/recfiletest"
	"github.com/avscout/avscout/internal/host"
)

// These tests read databases written by the real dpkg (see
// reference/testing-on-linux.md §2.1). They are Linux-only because dpkg
// is; on Linux a missing dpkg fails them: CI must install it.

const kasperskyMaintainer = "AO Kaspersky Lab <support@kaspersky.com>"

// realPackages imitates a fleet machine: Kaspersky products installed and
// removed, other vendors' security products, and decoys whose names look
// like security products but are not.
func realPackages() []dpkgtest.Pkg {
	return []dpkgtest.Pkg{
		{
			Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Endpoint Security for Linux\nFake package imitating KESL for discovery tests.",
			Files: map[string]string{
				"/opt/kaspersky/kesl/bin/kesl":         "#!/bin/sh\n",
				"/opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n",
				"/etc/opt/kaspersky/kesl.ini":          "[General]\n",
				"/lib/systemd/system/kesl.service":     "[Service]\nExecStart=/opt/kaspersky/kesl/bin/kesl\n",
			},
			Conffiles: []string{"/etc/opt/kaspersky/kesl.ini"},
		},
		{
			Name: "klnagent64", Version: "15.1.0-20748", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Security Center Network Agent",
			Files: map[string]string{
				"/opt/kaspersky/klnagent64/bin/klnagent":  "#!/bin/sh\n",
				"/etc/opt/kaspersky/klnagent64/agent.ini": "[Agent]\n",
			},
			Conffiles: []string{"/etc/opt/kaspersky/klnagent64/agent.ini"},
		},
		{
			// Removed, configuration left: dpkg keeps it as config-files.
			Name: "kesl-gui", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
			Description: "Kaspersky Endpoint Security for Linux graphical interface",
			Files: map[string]string{
				"/opt/kaspersky/kesl-gui/bin/kesl-gui": "#!/bin/sh\n",
				"/etc/opt/kaspersky/kesl-gui.conf":     "gui=1\n",
			},
			Conffiles: []string{"/etc/opt/kaspersky/kesl-gui.conf"},
			Remove:    true,
		},
		{
			Name: "mdatp", Version: "101.24082.0004", Maintainer: "Microsoft <mdatpsupport@microsoft.com>",
			Description: "Microsoft Defender for Endpoint",
			Files:       map[string]string{"/opt/microsoft/mdatp/sbin/wdavdaemon": "#!/bin/sh\n"},
		},
		{
			Name: "falcon-sensor", Version: "7.18.0-17106", Maintainer: "CrowdStrike Inc. <support@crowdstrike.com>",
			Description: "CrowdStrike Falcon Sensor",
			Files:       map[string]string{"/opt/CrowdStrike/falcond": "#!/bin/sh\n"},
		},
		{
			Name: "clamav", Version: "1.0.7+dfsg-1~deb12u1", Maintainer: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>",
			Description: "anti-virus utility for Unix - command-line interface",
			Files:       map[string]string{"/usr/bin/clamscan": "#!/bin/sh\n"},
		},
		{
			// Unpacked but never configured: an interrupted install.
			Name: "sophos-spl", Version: "2024.2.1.2", Maintainer: "Sophos Limited <support@sophos.com>",
			Description: "Sophos Protection for Linux",
			Files:       map[string]string{"/opt/sophos-spl/bin/sophos_managementagent": "#!/bin/sh\n"},
			UnpackOnly:  true,
		},
		// Decoys: not security products.
		{Name: "clamz", Version: "0.5-2.1", Maintainer: "Debian QA Group <packages@qa.debian.org>",
			Description: "Amazon MP3 music downloader"},
		{Name: "klavaro", Version: "3.13-2", Maintainer: "Debian QA Group <packages@qa.debian.org>",
			Description: "Flexible touch typing tutor"},
		{Name: "avahi-daemon", Version: "0.8-10+deb12u1", Maintainer: "Utopia Maintenance Team <pkg-utopia-maintainers@lists.alioth.debian.org>",
			Description: "Avahi mDNS/DNS-SD daemon"},
		{Name: "kasumi", Version: "2.5-10", Maintainer: "Debian Input Method Team <debian-input-method@lists.debian.org>",
			Description: "dictionary management tool for Anthy"},
	}
}

// wantReal is what Collect must report for realPackages, sorted by name.
func wantReal() []detect.Observation {
	obs := func(name, version, vendor string, st detect.Status, status string) detect.Observation {
		return detect.Observation{
			Kind: detect.KindPackage, Status: st, Name: name, Version: version, Vendor: vendor,
			Location: StatusPath, Detail: name + " " + version + " (" + status + ")",
		}
	}
	const ok = "install ok installed"
	return []detect.Observation{
		obs("avahi-daemon", "0.8-10+deb12u1", "Utopia Maintenance Team <pkg-utopia-maintainers@lists.alioth.debian.org>", detect.Installed, ok),
		obs("clamav", "1.0.7+dfsg-1~deb12u1", "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>", detect.Installed, ok),
		obs("clamz", "0.5-2.1", "Debian QA Group <packages@qa.debian.org>", detect.Installed, ok),
		obs("falcon-sensor", "7.18.0-17106", "CrowdStrike Inc. <support@crowdstrike.com>", detect.Installed, ok),
		obs("kasumi", "2.5-10", "Debian Input Method Team <debian-input-method@lists.debian.org>", detect.Installed, ok),
		obs("kesl", "12.1.0-2968", kasperskyMaintainer, detect.Installed, ok),
		obs("kesl-gui", "12.1.0-2968", kasperskyMaintainer, detect.Residual, "deinstall ok config-files"),
		obs("klavaro", "3.13-2", "Debian QA Group <packages@qa.debian.org>", detect.Installed, ok),
		obs("klnagent64", "15.1.0-20748", kasperskyMaintainer, detect.Installed, ok),
		obs("mdatp", "101.24082.0004", "Microsoft <mdatpsupport@microsoft.com>", detect.Installed, ok),
		obs("sophos-spl", "2024.2.1.2", "Sophos Limited <support@sophos.com>", detect.Residual, "install ok unpacked"),
	}
}

func TestCollectRealDatabase(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dpkgtest.Build(t, root, realPackages())

	// What dpkg wrote is what the rest of the test relies on.
	if _, err := os.Stat(filepath.Join(root, "opt/kaspersky/kesl/bin/kesl")); err != nil {
		t.Fatalf("dpkg did not install the payload: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/opt/kaspersky/kesl-gui.conf")); err != nil {
		t.Fatalf("dpkg -r removed the conffile of kesl-gui: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "opt/kaspersky/kesl-gui/bin/kesl-gui")); err == nil {
		t.Fatalf("dpkg -r left the binary of kesl-gui")
	}

	h := openRoot(t, root)
	got := collect(t, h)
	sortByName(got)
	recfiletest.AssertObservations(t, got, wantReal())
}

func TestCollectRealStatusD(t *testing.T) {
	t.Parallel()
	// Distroless images: one `dpkg-deb --field` file per package in
	// status.d, with <name>.md5sums beside it, and no status file.
	root := t.TempDir()
	pkgs := realPackages()
	dpkgtest.BuildStatusD(t, root, pkgs)
	if _, err := os.Stat(filepath.Join(root, StatusPath)); err == nil {
		t.Fatal("BuildStatusD wrote a status file")
	}

	got := collect(t, openRoot(t, root))
	var want []detect.Observation
	for _, w := range wantReal() {
		w.Status = detect.Installed
		w.Location = StatusDDir + "/" + w.Name
		w.Detail = w.Name + " " + w.Version
		want = append(want, w)
	}
	recfiletest.AssertObservations(t, got, want) // status.d is read in name order
}

func TestCollectRealDatabaseAndStatusD(t *testing.T) {
	t.Parallel()
	// A root with both: every record of both is reported.
	root := t.TempDir()
	dpkgtest.Build(t, root, realPackages()[:1])
	dpkgtest.BuildStatusD(t, root, realPackages()[1:2])
	got := collect(t, openRoot(t, root))
	names := make([]string, len(got))
	for i, o := range got {
		names[i] = o.Location + ":" + o.Name
	}
	want := []string{StatusPath + ":kesl", StatusDDir + "/klnagent64:klnagent64"}
	if !slices.Equal(names, want) {
		t.Errorf("got %v, want %v", names, want)
	}
}

func TestRealStatusParses(t *testing.T) {
	// The machine's own database, when it has one, must parse without
	// problems: dpkg wrote it, so every line is valid.
	f, err := os.Open("/var/lib/dpkg/status")
	if err != nil {
		t.Fatalf("this test runs on the Debian CI image, which has a dpkg database: %v", err)
	}
	defer f.Close()
	n := 0
	if err := ParseStatus(f, func(p Package) error {
		n++
		if p.Name == "" || p.Status == "" {
			t.Errorf("line %d: record without name or status: %+v", p.Line, p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no records")
	}
}

func openRoot(t *testing.T, dir string) *host.Host {
	t.Helper()
	h, err := host.OpenRoot(dir, host.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func collect(t *testing.T, h *host.Host) []detect.Observation {
	t.Helper()
	var got []detect.Observation
	if err := (Source{}).Collect(context.Background(), h, func(o detect.Observation) { got = append(got, o) }); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return got
}

func sortByName(obs []detect.Observation) {
	slices.SortFunc(obs, func(a, b detect.Observation) int {
		return strings.Compare(a.Name+"\x00"+a.Location, b.Name+"\x00"+b.Location)
	})
}

func TestCollectUnreadableStatus(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads mode-000 files; TestCollectBadInput/status_is_a_directory covers read errors")
	}
	root := t.TempDir()
	name := filepath.Join(root, StatusPath)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(kesl), 0o000); err != nil {
		t.Fatal(err)
	}
	err := Source{}.Collect(context.Background(), openRoot(t, root), func(detect.Observation) {})
	if err == nil || errors.Is(err, detect.ErrUnavailable) || !errors.Is(err, fs.ErrPermission) ||
		!strings.Contains(err.Error(), StatusPath) {
		t.Fatalf("got %v, want a permission error naming %s", err, StatusPath)
	}
}
