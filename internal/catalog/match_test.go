package catalog

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/report/enum"
)

func loadTestCatalog(t *testing.T) *Catalog {
	t.Helper()
	f, err := os.Open("testdata/match-catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		t.Fatalf("parse test catalog: %v", err)
	}
	return c
}

// want is the part of a Finding a case checks.
type want struct {
	id, vendor, name, version, state, confidence, technology string
	restricted, whiteLabel                                   bool
	evidence                                                 int
}

func TestMatch(t *testing.T) {
	c := loadTestCatalog(t)
	pkg := func(name, version, maintainer string, st detect.Status) detect.Observation {
		return detect.Observation{Source: "dpkg", Kind: detect.KindPackage, Name: name, Version: version, Vendor: maintainer, Status: st}
	}
	proc := func(name, exe string) detect.Observation {
		return detect.Observation{Source: "processes", Kind: detect.KindProcess, Name: name, Path: exe, Status: detect.Running}
	}
	path := func(p string) detect.Observation {
		return detect.Observation{Source: "paths", Kind: detect.KindPath, Path: p, Status: detect.Present}
	}
	app := func(display, publisher, version, location string) detect.Observation {
		return detect.Observation{Source: "winapps", Kind: detect.KindApp, Display: display, Vendor: publisher, Version: version, Path: location, Status: detect.Installed}
	}
	const kl = "AO Kaspersky Lab <support@kaspersky.com>"
	tests := []struct {
		name string
		os   string
		obs  []detect.Observation
		want []want
	}{
		{
			name: "KESL installed and running merges into one product",
			os:   "linux",
			obs: []detect.Observation{
				pkg("kesl", "12.1.0-2968", kl, detect.Installed),
				proc("kesl", "/opt/kaspersky/kesl/libexec/kesl"),
				path("/opt/kaspersky/kesl"),
				path("/opt/kaspersky"),
			},
			want: []want{{id: "kesl", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Linux", version: "12.1.0-2968",
				state: enum.StateActive, confidence: enum.ConfidenceHigh, restricted: true, evidence: 4}},
		},
		{
			name: "package in config-files state is a leftover",
			os:   "linux",
			obs:  []detect.Observation{pkg("kesl", "12.1.0-2968", kl, detect.Residual)},
			want: []want{{id: "kesl", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Linux", version: "12.1.0-2968",
				state: enum.StateLeftover, confidence: enum.ConfidenceHigh, restricted: true, evidence: 1}},
		},
		{
			name: "Kaspersky maintainer on an unknown package name is still Kaspersky",
			os:   "linux",
			obs:  []detect.Observation{pkg("kics4lin", "3.0.1", "Kaspersky Lab <dev@kaspersky.com>", detect.Installed)},
			want: []want{{id: "kaspersky-kics4lin", vendor: "Kaspersky", name: "kics4lin", version: "3.0.1",
				state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 1}},
		},
		{
			name: "maintainer e-mail domain identifies the vendor",
			os:   "linux",
			obs:  []detect.Observation{pkg("kwts", "6.1", "Build Robot <robot@build.kaspersky.com>", detect.Installed)},
			want: []want{{id: "kaspersky-kwts", vendor: "Kaspersky", name: "kwts", version: "6.1",
				state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 1}},
		},
		{
			name: "vendor folders alone are Kaspersky components, leftover",
			os:   "linux",
			obs:  []detect.Observation{path("/opt/kaspersky"), path("/var/opt/kaspersky")},
			want: []want{{id: "kaspersky-components", vendor: "Kaspersky", name: "Kaspersky components",
				state: enum.StateLeftover, confidence: enum.ConfidenceLow, restricted: true, evidence: 2}},
		},
		{
			name: "a running engine known only by its name is not counted",
			os:   "linux",
			obs:  []detect.Observation{proc("kavhttpd", "/usr/local/scanner/kavhttpd")},
			want: nil,
		},
		{
			name: "a running engine in the vendor's folder is active",
			os:   "linux",
			obs:  []detect.Observation{proc("kavhttpd", "/opt/kaspersky/ScanEngine/bin/kavhttpd")},
			want: []want{{id: "kaspersky-components", vendor: "Kaspersky", name: "Kaspersky components",
				state: enum.StateActive, confidence: enum.ConfidenceMedium, restricted: true, evidence: 1}},
		},
		{
			name: "vendor residue joins the vendor's installed product",
			os:   "linux",
			obs:  []detect.Observation{pkg("kesl", "12.1.0-2968", kl, detect.Installed), path("/var/opt/kaspersky")},
			want: []want{{id: "kesl", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Linux", version: "12.1.0-2968",
				state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 2}},
		},
		{
			name: "decoys and other vendors",
			os:   "linux",
			obs: []detect.Observation{
				pkg("clamz", "0.5-3", "Debian Multimedia Maintainers <debian-multimedia@lists.debian.org>", detect.Installed),
				pkg("keslx", "1.0", "Someone <someone@example.org>", detect.Installed),
				proc("avahi-daemon", "/usr/sbin/avahi-daemon"),
				path("/opt/kasperskyish"),
				pkg("mdatp", "101.24", "Microsoft Corporation <mdatp@microsoft.com>", detect.Installed),
				pkg("powershell", "7.4.1", "Microsoft Corporation <pwsh@microsoft.com>", detect.Installed),
			},
			want: []want{{id: "defender", vendor: "Microsoft", name: "Microsoft Defender", version: "101.24",
				state: enum.StateInstalled, confidence: enum.ConfidenceHigh, evidence: 1}},
		},
		{
			name: "white-label: an unknown brand with the Kaspersky engine in its folder, signed by Kaspersky",
			os:   "windows",
			obs: []detect.Observation{
				app("AcmeShield Antivirus", "Acme Security Inc.", "5.2", `C:\Program Files\AcmeShield`),
				proc("avp.exe", `C:\Program Files\AcmeShield\bin\avp.exe`),
				{Source: "pe", Kind: detect.KindSigner, Name: "avp.exe", Path: `C:\Program Files\AcmeShield\bin\avp.exe`,
					Vendor: "Acme Security Inc.", Signer: "CN=AO Kaspersky Lab, O=AO Kaspersky Lab", Status: detect.Running},
				app("7-Zip 23.01 (x64)", "Igor Pavlov", "23.01", `C:\Program Files\7-Zip`),
			},
			want: []want{{id: "unknown-acmeshield-antivirus", vendor: "Acme Security Inc.", name: "AcmeShield Antivirus", version: "5.2",
				state: enum.StateActive, confidence: enum.ConfidenceHigh, restricted: true, whiteLabel: true, technology: "Kaspersky", evidence: 3}},
		},
		{
			name: "an engine's name alone in an unknown brand's folder is no white label",
			os:   "windows",
			obs: []detect.Observation{
				app("AcmeShield Antivirus", "Acme Security Inc.", "5.2", `C:\Program Files\AcmeShield`),
				proc("avp.exe", `C:\Program Files\AcmeShield\bin\avp.exe`),
			},
			want: nil,
		},
		{
			name: "white-label: a Kaspersky signature beneath another brand's folder",
			os:   "windows",
			obs: []detect.Observation{
				app("AcmeShield Antivirus", "Acme Security Inc.", "5.2", `C:\Program Files\AcmeShield`),
				{Source: "pe", Kind: detect.KindSigner, Path: `C:\Program Files\AcmeShield\shield.exe`, Signer: "CN=AO Kaspersky Lab, O=AO Kaspersky Lab, L=Moscow, C=RU", Status: detect.Present},
			},
			want: []want{{id: "unknown-acmeshield-antivirus", vendor: "Acme Security Inc.", name: "AcmeShield Antivirus", version: "5.2",
				state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, whiteLabel: true, technology: "Kaspersky", evidence: 2}},
		},
		{
			// An unsigned file's CompanyName is anyone's to write: it makes
			// the white label, but no signer confirms it.
			name: "white-label: only an unsigned file's version information names Kaspersky",
			os:   "windows",
			obs: []detect.Observation{
				app("AcmeShield Antivirus", "Acme Security Inc.", "5.2", `C:\Program Files\AcmeShield`),
				{Source: "pe", Kind: detect.KindSigner, Path: `C:\Program Files\AcmeShield\shield.exe`, Vendor: "AO Kaspersky Lab", Status: detect.Present},
			},
			want: []want{{id: "unknown-acmeshield-antivirus", vendor: "Acme Security Inc.", name: "AcmeShield Antivirus", version: "5.2",
				state: enum.StateInstalled, confidence: enum.ConfidenceMedium, restricted: true, whiteLabel: true, technology: "Kaspersky", evidence: 2}},
		},
		{
			name: "white-label: Kaspersky publisher on an app that shows another brand",
			os:   "windows",
			obs:  []detect.Observation{app("Hearthward Home Guard", "AO Kaspersky Lab", "21.3", `C:\Program Files (x86)\Hearthward`)},
			want: []want{{id: "kaspersky-hearthward-home-guard", vendor: "Kaspersky", name: "Hearthward Home Guard", version: "21.3",
				state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, whiteLabel: true, technology: "Kaspersky", evidence: 1}},
		},
		{
			name: "catalogued OEM build is white-label",
			os:   "windows",
			obs:  []detect.Observation{app("Parallels Internet Security Powered by Kaspersky", "Parallels", "7.0", `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky`)},
			want: []want{{id: "parallels-is", vendor: "Parallels", name: "Parallels Internet Security Powered by Kaspersky", version: "7.0",
				state: enum.StateInstalled, confidence: enum.ConfidenceMedium, restricted: true, whiteLabel: true, technology: "Kaspersky", evidence: 1}},
		},
		{
			name: "UltraAV migration: UltraAV and Kaspersky leftovers side by side",
			os:   "windows",
			obs: []detect.Observation{
				app("UltraAV", "Pango", "1.2", `C:\Program Files\UltraAV`),
				{Source: "winsvc", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Present},
				{Source: "winreg", Kind: detect.KindKey, Path: `HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\KasperskyLab`, Status: detect.Present},
			},
			want: []want{
				{id: "kaspersky-components", vendor: "Kaspersky", name: "Kaspersky components", state: enum.StateLeftover,
					confidence: enum.ConfidenceMedium, restricted: true, evidence: 2},
				{id: "ultraav", vendor: "Pango Group", name: "UltraAV", version: "1.2", state: enum.StateInstalled, confidence: enum.ConfidenceMedium, evidence: 1},
			},
		},
		{
			name: "an executable many suites share goes to the suite found",
			os:   "windows",
			obs: []detect.Observation{
				app("Kaspersky Internet Security 21.3", "AO Kaspersky Lab", "21.3.10.391", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Internet Security 21.3`),
				proc("avp.exe", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Internet Security 21.3\avp.exe`),
			},
			want: []want{{id: "kis", vendor: "Kaspersky", name: "Kaspersky Internet Security", version: "21.3.10.391",
				state: enum.StateActive, confidence: enum.ConfidenceHigh, restricted: true, evidence: 2}},
		},
		{
			name: "KES found by its versioned folder and service",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "winsvc", Kind: detect.KindService, Name: "AVP.KES.12.1.0", Path: `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0\avp.exe`, Status: detect.Running},
			},
			want: []want{{id: "kes-windows", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Windows",
				state: enum.StateActive, confidence: enum.ConfidenceMedium, restricted: true, evidence: 1}},
		},
		{
			name: "a running Kaspersky driver outside the product folder joins the product",
			os:   "windows",
			obs: []detect.Observation{
				app("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab", "12.1.0.506", `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`),
				{Source: "winsvc", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running},
			},
			want: []want{{id: "kes-windows", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Windows", version: "12.1.0.506",
				state: enum.StateActive, confidence: enum.ConfidenceHigh, restricted: true, evidence: 2}},
		},
		{
			name: "a service known only by its signer joins the signer's product",
			os:   "windows",
			obs: []detect.Observation{
				app("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab", "12.1.0.506", `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`),
				{Source: "services", Kind: detect.KindService, Name: "klsvc", Path: `C:\Windows\System32\klsvc.exe`, Signer: "CN=AO Kaspersky Lab, O=AO Kaspersky Lab", Status: detect.Running},
			},
			want: []want{{id: "kes-windows", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Windows", version: "12.1.0.506",
				state: enum.StateActive, confidence: enum.ConfidenceHigh, restricted: true, evidence: 2}},
		},
		{
			name: "the vendor folder above two products' folders is theirs, not a third row",
			os:   "windows",
			obs: []detect.Observation{
				app("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab", "12.1.0.506", `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`),
				app("Kaspersky Internet Security", "AO Kaspersky Lab", "21.3.10.391", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Internet Security 21.3`),
				path(`C:\Program Files (x86)\Kaspersky Lab`),
			},
			want: []want{
				{id: "kes-windows", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Windows", version: "12.1.0.506",
					state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 2},
				{id: "kis", vendor: "Kaspersky", name: "Kaspersky Internet Security", version: "21.3.10.391",
					state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 2},
			},
		},
		{
			name: "a vendor folder above none of the products found stays apart",
			os:   "windows",
			obs: []detect.Observation{
				app("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab", "12.1.0.506", `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`),
				app("Kaspersky Internet Security", "AO Kaspersky Lab", "21.3.10.391", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Internet Security 21.3`),
				path(`C:\ProgramData\Kaspersky Lab`),
			},
			want: []want{
				{id: "kes-windows", vendor: "Kaspersky", name: "Kaspersky Endpoint Security for Windows", version: "12.1.0.506",
					state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 1},
				{id: "kis", vendor: "Kaspersky", name: "Kaspersky Internet Security", version: "21.3.10.391",
					state: enum.StateInstalled, confidence: enum.ConfidenceHigh, restricted: true, evidence: 1},
				{id: "kaspersky-components", vendor: "Kaspersky", name: "Kaspersky components",
					state: enum.StateLeftover, confidence: enum.ConfidenceLow, restricted: true, evidence: 1},
			},
		},
		{
			name: "nothing observed",
			os:   "linux",
			obs:  nil,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Match(c, tt.os, tt.obs)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tt.want), describe(got))
			}
			for i, w := range tt.want {
				g := got[i]
				gw := want{id: g.ProductID, vendor: g.Vendor, name: g.Name, version: g.Version, state: g.State,
					confidence: g.Confidence, technology: g.Technology, restricted: g.Restricted, whiteLabel: g.WhiteLabel, evidence: len(g.Evidence)}
				if gw != w {
					t.Errorf("finding %d:\n got %+v\nwant %+v", i, gw, w)
				}
				if g.Restricted != (g.Rule != nil) {
					t.Errorf("finding %d: restricted=%v but rule=%v", i, g.Restricted, g.Rule)
				}
			}
		})
	}
}

func describe(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.ProductID + " " + f.Name + " " + f.State + "\n")
	}
	return b.String()
}

func TestRelevant(t *testing.T) {
	m := loadTestCatalog(t).Matcher("linux")
	for _, tt := range []struct {
		o    detect.Observation
		want bool
	}{
		{detect.Observation{Kind: detect.KindPackage, Name: "kesl"}, true},
		{detect.Observation{Kind: detect.KindPackage, Name: "KESL"}, true},
		{detect.Observation{Kind: detect.KindPackage, Name: "bash", Vendor: "AO Kaspersky Lab"}, true},
		{detect.Observation{Kind: detect.KindPackage, Name: "bash", Vendor: "Debian Bash Maintainers <bash@packages.debian.org>"}, false},
		{detect.Observation{Kind: detect.KindProcess, Name: "sshd", Path: "/usr/sbin/sshd"}, true}, // may run from a found product's folder
		{detect.Observation{Kind: detect.KindProcess, Name: "kworker/0:1"}, false},
		// An enricher describes only files kept observations point at:
		// what it says confirms or contradicts them, whatever the name.
		{detect.Observation{Kind: detect.KindSigner, Name: "AvP.exe", Path: `C:\Games\AvP.exe`, Vendor: "Rebellion"}, true},
		{detect.Observation{Kind: detect.KindProcess, Name: "x", Path: "/opt/kaspersky/kesl/libexec/kesl"}, true},
		{detect.Observation{Kind: detect.KindApp, Display: "7-Zip", Path: `C:\Program Files\7-Zip`}, true},
	} {
		if got := m.Relevant(tt.o); got != tt.want {
			t.Errorf("Relevant(%+v) = %v, want %v", tt.o, got, tt.want)
		}
	}
}

func TestNormalisation(t *testing.T) {
	for _, tt := range []struct {
		f        func(string) string
		in, want string
	}{
		{normPath, `C:\Program Files (x86)\Kaspersky Lab\`, "/program files (x86)/kaspersky lab"},
		{normPath, "/opt/Kaspersky/../kaspersky/kesl", "/opt/kaspersky/kesl"},
		{normPath, "", ""},
		{normKey, `HKEY_LOCAL_MACHINE\SOFTWARE\KasperskyLab`, "/hklm/software/kasperskylab"},
		{normKey, `HKLM\SOFTWARE\KasperskyLab\`, "/hklm/software/kasperskylab"},
		{normOrg, "AO  Kaspersky Lab <support@kaspersky.com>", "ao kaspersky lab"},
		{normOrg, "\t ÄO\u00a0Kaspersky\nLab ", "äo kaspersky lab"},
		{normOrg, "<only@mail>", ""},
		{normOrg, `АО "Лаборатория Касперского"`, "ао лаборатория касперского"},
		{normOrg, "АО «Лаборатория  Касперского»", "ао лаборатория касперского"},
		{normOrg, `Fabrikam "Labs"Inc`, "fabrikam labs inc"},
		{emailDomain, "A <x@Build.Kaspersky.com>", "build.kaspersky.com"},
		{emailDomain, "no mail", ""},
		{normDriver, "KLIF.SYS", "klif"},
		{slug, "Kaspersky Total Security 21.3!", "kaspersky-total-security-21-3"},
	} {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%q → %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := signerNames(`CN="AO Kaspersky Lab", O=AO Kaspersky Lab, L=Moscow`); strings.Join(got, "|") != "AO Kaspersky Lab|AO Kaspersky Lab" {
		t.Errorf("signerNames = %q", got)
	}
}

func TestParseRejectsBadCatalogs(t *testing.T) {
	for _, tt := range []struct{ name, doc, wantErr string }{
		{"empty", "", "empty"},
		{"unknown field", "version: x\nbogus: 1\n", "bogus"},
		{"bad vendor ref", "version: x\npolicy: {id: p}\nvendors: []\nproducts: [{id: a, vendor: nope, name: A, category: antivirus, fingerprints: {linux: {packages: [a]}}}]\n", `unknown vendor "nope"`},
		{"bad category", "version: x\npolicy: {id: p}\nvendors: [{id: v, name: V, brands: [V], category: toaster}]\n", `category "toaster"`},
		{"bad glob", "version: x\npolicy: {id: p}\nvendors: [{id: v, name: V, brands: [V], category: antivirus}]\nproducts: [{id: a, vendor: v, name: A, category: antivirus, fingerprints: {linux: {packages: ['a[']}}}]\n", "bad pattern"},
		{"bad os", "version: x\npolicy: {id: p}\nvendors: [{id: v, name: V, brands: [V], category: antivirus}]\nproducts: [{id: a, vendor: v, name: A, category: antivirus, fingerprints: {beos: {packages: [a]}}}]\n", `unknown OS "beos"`},
		{"rule vendor", "version: x\npolicy: {id: p, rules: [{id: r, reason: x, vendors: [ghost]}]}\n", `unknown vendor "ghost"`},
		{"missing source", "version: x\npolicy: {id: p}\nvendors: [{id: v, name: V, brands: [V], category: antivirus, sources: [NOPE]}]\n", `source "NOPE"`},
		{"not yaml", "\x00\x01\x02{{{", "decode"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/match-catalog.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("version: x\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Parse(strings.NewReader(string(doc)))
		if err != nil {
			return
		}
		// Whatever parses must be usable without panicking.
		for _, o := range host.OSes() {
			os := string(o)
			m := c.Matcher(os)
			m.Match([]detect.Observation{{Kind: detect.KindPackage, Name: "kesl", Vendor: "x <a@b>"}, {Kind: detect.KindPath, Path: "/opt/x"}})
		}
	})
}

// Software of a known vendor whose name slug is a catalogued product's id
// is that product: it must not create a second finding under the same id.
func TestMatchDynamicNameIsCatalogued(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(c.Products, func(p Product) bool { return p.ID == "crowdstrike-falcon" })
	if i < 0 {
		t.Fatal("catalog has no crowdstrike-falcon product")
	}
	v, _ := c.Vendor("crowdstrike")
	if len(v.Publishers) == 0 {
		t.Fatal("crowdstrike has no publisher to identify it by")
	}
	got := Match(c, "darwin", []detect.Observation{
		{Source: "apps", Kind: detect.KindApp, Display: "Falcon", Name: "com.example.unlisted", Vendor: v.Publishers[0], Path: "/Applications/Falcon.app", Status: detect.Installed},
	})
	if len(got) != 1 || got[0].ProductID != "crowdstrike-falcon" || got[0].Name != c.Products[i].Name {
		t.Errorf("got %s", describe(got))
	}
}
