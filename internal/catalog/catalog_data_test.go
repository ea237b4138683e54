package catalog

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
)

// Tests over the built-in catalog data (catalog.yaml). They use only the
// schema and path.Match, not the matcher, so they say what the data must
// be whatever Match does with it.

func builtinCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	return c
}

// pattern is one fingerprint pattern with where it came from.
type pattern struct {
	owner string // "product X" or "vendor X technology"
	os    string
	kind  string // "packages", "apps", …
	value string // as written
}

func (p pattern) String() string {
	return fmt.Sprintf("%s %s %s %q", p.owner, p.os, p.kind, p.value)
}

func patternsOf(owner string, fps map[string]Fingerprints) []pattern {
	var out []pattern
	for os, fp := range fps {
		for kind, list := range fp.byKind() {
			for _, v := range list {
				out = append(out, pattern{owner, os, fpKind(kind).String(), v})
			}
		}
	}
	return out
}

func productPatterns(c *Catalog) []pattern {
	var out []pattern
	for _, p := range c.Products {
		out = append(out, patternsOf("product "+p.ID, p.Fingerprints)...)
	}
	return out
}

func technologyPatterns(c *Catalog) []pattern {
	var out []pattern
	for _, v := range c.Vendors {
		out = append(out, patternsOf("vendor "+v.ID+" technology", v.Technology)...)
	}
	return out
}

// canon writes a pattern or a value the way the catalog means it to be
// compared: lower case; paths and keys with forward slashes and without a
// drive letter; drivers without ".sys". It is deliberately independent of
// the matcher's own normalisation.
func canon(kind, s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch kind {
	case "paths", "keys":
		s = strings.ReplaceAll(s, `\`, "/")
		if len(s) >= 2 && s[1] == ':' {
			s = s[2:]
		}
		s = strings.TrimSuffix(s, "/")
	case "drivers":
		s = strings.TrimSuffix(s, ".sys")
	}
	return s
}

func isGlob(s string) bool { return strings.ContainsAny(s, `*?[`) }

// matches reports whether pattern p (of the given kind) matches value v,
// both canonical. Paths and keys also match everything beneath them.
func matches(kind, p, v string) bool {
	if ok, _ := path.Match(p, v); ok {
		return true
	}
	if kind != "paths" && kind != "keys" {
		return false
	}
	// Compare p with v cut to as many components as p has.
	n := strings.Count(p, "/")
	parts := strings.Split(v, "/")
	if len(parts) <= n+1 {
		return false
	}
	ok, _ := path.Match(p, strings.Join(parts[:n+1], "/"))
	return ok
}

func TestDefaultCatalogParses(t *testing.T) {
	c := builtinCatalog(t)
	if c.Version == "" {
		t.Error("version is empty")
	}
	if _, ok := c.Vendor("kaspersky"); !ok {
		t.Fatal("no vendor kaspersky")
	}
}

func TestDefaultCatalogVendors(t *testing.T) {
	c := builtinCatalog(t)
	others := 0
	for _, v := range c.Vendors {
		if v.ID != "kaspersky" {
			others++
		}
	}
	if others < 16 {
		t.Errorf("%d vendors besides Kaspersky, want at least 16", others)
	}
	// Every vendor besides the OEM-only one ships a product of its own.
	withProducts := map[string]bool{}
	for _, p := range c.Products {
		withProducts[p.Vendor] = true
	}
	for _, v := range c.Vendors {
		if !withProducts[v.ID] {
			t.Errorf("vendor %q has no product", v.ID)
		}
	}
}

func TestDefaultCatalogKasperskyOnEveryOS(t *testing.T) {
	c := builtinCatalog(t)
	for _, o := range host.OSes() {
		os := string(o)
		n := 0
		for _, p := range c.Products {
			if p.Vendor != "kaspersky" {
				continue
			}
			if fp, ok := p.Fingerprints[os]; ok && len(patternsOf("", map[string]Fingerprints{os: fp})) > 0 {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no Kaspersky product has fingerprints on %s", os)
		}
		k, _ := c.Vendor("kaspersky")
		if len(patternsOf("", map[string]Fingerprints{os: k.Technology[os]})) == 0 {
			t.Errorf("Kaspersky has no technology on %s", os)
		}
	}
}

func TestDefaultCatalogPolicy(t *testing.T) {
	c := builtinCatalog(t)
	if c.Policy.ID != "default" {
		t.Errorf("policy id = %q, want default", c.Policy.ID)
	}
	var restricted []string
	for _, r := range c.Policy.Rules {
		restricted = append(restricted, r.Vendors...)
		if len(r.Sources) == 0 {
			t.Errorf("rule %q cites no source", r.ID)
		}
	}
	slices.Sort(restricted)
	restricted = slices.Compact(restricted)
	if !slices.Equal(restricted, []string{"kaspersky"}) {
		t.Errorf("restricted vendors = %v, want [kaspersky]", restricted)
	}
	i := slices.IndexFunc(c.Policy.Rules, func(r Rule) bool { return r.ID == "bis-icts-2021-002" })
	if i < 0 {
		t.Fatal("no rule bis-icts-2021-002")
	}
	for _, s := range []string{"ICTS-2021-002", "89 FR 52434", "2024-07-20", "2024-09-29"} {
		if !strings.Contains(c.Policy.Rules[i].Reason, s) {
			t.Errorf("rule reason does not mention %q", s)
		}
	}
}

func TestDefaultCatalogCitesSources(t *testing.T) {
	c := builtinCatalog(t)
	for _, v := range c.Vendors {
		if len(v.Sources) == 0 {
			t.Errorf("vendor %q cites no source", v.ID)
		}
	}
	for _, p := range c.Products {
		if len(p.Sources) == 0 {
			t.Errorf("product %q cites no source", p.ID)
		}
	}
	for k, ref := range c.Sources {
		if strings.TrimSpace(ref) == "" {
			t.Errorf("source %q is empty", k)
		}
	}
}

func TestDefaultCatalogWhiteLabel(t *testing.T) {
	c := builtinCatalog(t)
	var oem []string
	for _, p := range c.Products {
		if p.WhiteLabel {
			oem = append(oem, p.ID)
			if p.Vendor == p.Technology {
				t.Errorf("product %q: white-label of its own vendor", p.ID)
			}
		} else if p.Technology != "" {
			t.Errorf("product %q: technology %q without white_label", p.ID, p.Technology)
		}
	}
	if !slices.Contains(oem, "parallels-internet-security") {
		t.Errorf("white-label products = %v, want the Parallels OEM build among them", oem)
	}
}

// UltraAV replaced Kaspersky on US consumers' machines but is not Kaspersky
// technology: nothing that identifies Pango's products may be Kaspersky's.
func TestDefaultCatalogUltraAVIsNotKaspersky(t *testing.T) {
	c := builtinCatalog(t)
	k, _ := c.Vendor("kaspersky")
	kasp := patternsOf("kaspersky", k.Technology)
	for _, p := range c.Products {
		if p.Vendor == "kaspersky" {
			kasp = append(kasp, patternsOf(p.ID, p.Fingerprints)...)
		}
	}
	for _, p := range c.Products {
		if p.Vendor != "pango" {
			continue
		}
		if p.WhiteLabel || p.Technology != "" {
			t.Errorf("product %q is marked as carrying %q technology", p.ID, p.Technology)
		}
		for _, mine := range patternsOf("product "+p.ID, p.Fingerprints) {
			for _, theirs := range kasp {
				if mine.os == theirs.os && mine.kind == theirs.kind &&
					(matches(mine.kind, canon(mine.kind, theirs.value), canon(mine.kind, mine.value)) ||
						matches(mine.kind, canon(mine.kind, mine.value), canon(mine.kind, theirs.value))) {
					t.Errorf("%v overlaps Kaspersky's %v", mine, theirs)
				}
			}
		}
	}
}

// Names of unrelated software that loosely resemble AV names. No pattern of
// the catalog, product or vendor technology, may match them.
var (
	decoyPackages = []string{
		"clamz", "klavaro", "kasumi", "kdeconnect", "avahi-daemon", "sentinel-py",
		"falcon", "python3-falcon", "esetroot", "kwin", "kwin-x11", "libclamav12",
		"kasperskyish", "avast-theme", "mcafee-dummy",
	}
	decoyProcesses = []string{
		"kworker", "kworker/0:1", "avahi-daemon", "kthreadd", "systemd", "sshd",
		"svchost.exe", "explorer.exe", "agent.exe", "launcher", "kswapd0", "klogd",
		"sentinel", "falcon", "esets", "avp", "kav.exe",
	}
	decoyServices = []string{
		"avahi-daemon.service", "ssh.service", "systemd-journald.service", "kwin",
		"sentinel.service", "falcon.service", "clamz", "klogd", "kerneloops.service",
		"WinHttpAutoProxySvc", "wuauserv", "WSearch",
	}
	decoyApps = []string{
		"Falcon", "Sentinel", "KDE Connect", "Klavaro", "Kasumi", "7-Zip 23.01 (x64)",
		"Microsoft Edge", "GlobalProtect", "Parallels Tools", "Parallels Desktop",
		"Kaspersky Anti-Virus 6.0 for Windows Workstations",
	}
)

func TestDefaultCatalogIgnoresDecoys(t *testing.T) {
	c := builtinCatalog(t)
	decoys := map[string][]string{
		"packages": decoyPackages, "processes": decoyProcesses,
		"services": decoyServices, "apps": decoyApps,
	}
	all := append(productPatterns(c), technologyPatterns(c)...)
	for _, p := range all {
		for _, d := range decoys[p.kind] {
			if p.kind == "apps" && strings.HasPrefix(d, "Kaspersky Anti-Virus 6.0") {
				// a Kaspersky name: only the legacy product may claim it
				if p.owner == "product kaspersky-anti-virus" && matches(p.kind, canon(p.kind, p.value), canon(p.kind, d)) {
					t.Errorf("%v matches the legacy name %q", p, d)
				}
				continue
			}
			if matches(p.kind, canon(p.kind, p.value), canon(p.kind, d)) {
				t.Errorf("%v matches decoy %q", p, d)
			}
		}
	}
}

// No pattern may be so broad that its first character is a wildcard, and
// none may end with a separator (which path.Match would read as an escape).
func TestDefaultCatalogPatternsAreAnchored(t *testing.T) {
	c := builtinCatalog(t)
	for _, p := range append(productPatterns(c), technologyPatterns(c)...) {
		v := p.value
		if strings.ContainsAny(v[:1], `*?[`) {
			t.Errorf("%v starts with a wildcard", p)
		}
		if strings.HasSuffix(v, `\`) || (strings.HasSuffix(v, "/") && v != "/") {
			t.Errorf("%v ends with a separator", p)
		}
		switch p.kind {
		case "paths":
			switch p.os {
			case "windows":
				if len(v) < 3 || v[1] != ':' || v[2] != '\\' || strings.Contains(v, "/") {
					t.Errorf(`%v: want an absolute C:\ path with backslashes`, p)
				}
			default:
				if !strings.HasPrefix(v, "/") || strings.Contains(v, `\`) {
					t.Errorf("%v: want an absolute path with slashes", p)
				}
				if strings.Count(v, "/") < 2 && !strings.HasPrefix(v, "/opt/") {
					t.Errorf("%v: too close to the root", p)
				}
			}
		case "keys":
			if !strings.HasPrefix(v, `HKLM\`) || strings.ContainsAny(v, "/[]") && !strings.HasSuffix(v, "*") {
				t.Errorf(`%v: want an HKLM\ key without optional parts`, p)
			}
		case "drivers":
			if p.os == "windows" && strings.HasSuffix(strings.ToLower(v), ".sys") {
				t.Errorf("%v: write drivers without .sys", p)
			}
		case "services":
			if p.os == "darwin" && !strings.Contains(v, ".") {
				t.Errorf("%v: want a launchd label", p)
			}
		}
	}
}

// Two products must not share a fingerprint on one OS: which of them an
// observation belongs to would be a guess. Components several products
// share belong in vendor.technology. A literal of one product matched by a
// glob of another is the same mistake in disguise.
func TestDefaultCatalogProductsDoNotOverlap(t *testing.T) {
	c := builtinCatalog(t)
	type slot struct{ os, kind, value string }
	seen := map[slot]string{}
	ps := productPatterns(c)
	sort.Slice(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
	for _, p := range ps {
		s := slot{p.os, p.kind, canon(p.kind, p.value)}
		if other, dup := seen[s]; dup && other != p.owner {
			t.Errorf("%v is also in %s", p, other)
		}
		seen[s] = p.owner
	}
	for _, a := range ps {
		if isGlob(a.value) {
			continue
		}
		for _, b := range ps {
			if a.owner == b.owner || a.os != b.os || a.kind != b.kind ||
				canon(a.kind, a.value) == canon(b.kind, b.value) { // reported above
				continue
			}
			if matches(a.kind, canon(a.kind, b.value), canon(a.kind, a.value)) {
				t.Errorf("%v is matched by %v", a, b)
			}
		}
	}
}

// A vendor's technology must not claim another vendor's product: it would
// make that product look white-labelled.
func TestDefaultCatalogTechnologyIsVendorOwn(t *testing.T) {
	c := builtinCatalog(t)
	vendorOf := map[string]string{}
	for _, p := range c.Products {
		vendorOf["product "+p.ID] = p.Vendor
	}
	for _, v := range c.Vendors {
		for _, tp := range patternsOf("vendor "+v.ID+" technology", v.Technology) {
			for _, pp := range productPatterns(c) {
				if vendorOf[pp.owner] == v.ID || tp.os != pp.os || tp.kind != pp.kind || isGlob(pp.value) {
					continue
				}
				if matches(tp.kind, canon(tp.kind, tp.value), canon(tp.kind, pp.value)) {
					t.Errorf("%v claims %v", tp, pp)
				}
			}
		}
	}
}

// Real names the catalog must attribute to the right Kaspersky product, or
// to Kaspersky technology, on the right OS.
func TestDefaultCatalogKnownNames(t *testing.T) {
	c := builtinCatalog(t)
	owners := func(os, kind, value string) []string {
		var out []string
		for _, p := range append(productPatterns(c), technologyPatterns(c)...) {
			if p.os == os && p.kind == kind && matches(kind, canon(kind, p.value), canon(kind, value)) {
				out = append(out, p.owner)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	const tech = "vendor kaspersky technology"
	for _, tt := range []struct {
		os, kind, value string
		want            []string
	}{
		{"linux", "packages", "kesl", []string{"product kaspersky-endpoint-security-linux"}},
		{"linux", "packages", "KESL-GUI", []string{"product kaspersky-endpoint-security-linux"}},
		{"linux", "services", "kesl.service", []string{"product kaspersky-endpoint-security-linux"}},
		{"linux", "services", "kesl", []string{"product kaspersky-endpoint-security-linux"}},
		{"linux", "packages", "klnagent64", []string{"product kaspersky-network-agent"}},
		{"linux", "paths", "/opt/kaspersky/kesl/libexec/launcher", []string{"product kaspersky-endpoint-security-linux", tech}},
		{"linux", "paths", "/var/opt/kaspersky/Kaspersky 24.0/bases", []string{"product kaspersky-for-linux", tech}},
		{"linux", "processes", "kavhttpd", []string{tech}},
		{"linux", "packages", "clamav-daemon", []string{"product clamav"}},
		{"linux", "services", "clamav-freshclam.service", []string{"product clamav"}},
		{"linux", "packages", "mdatp", []string{"product microsoft-defender-endpoint"}},
		{"windows", "services", "AVP.KES.12.1.0", []string{"product kaspersky-endpoint-security-windows"}},
		{"windows", "services", "AVP", []string{"product kaspersky-endpoint-security-windows"}},
		{"windows", "services", "AVP21.3", []string{tech}},
		{"windows", "services", "klnagent", []string{"product kaspersky-network-agent"}},
		// KSWS and Embedded Systems Security share their services: which one
		// runs them, the uninstall entry or the folder says.
		{"windows", "services", "KAVFS", []string{tech}},
		{"windows", "processes", "kavfsgt.exe", []string{tech}},
		{"windows", "apps", "Kaspersky Security 11 for Windows Server", []string{"product kaspersky-security-windows-server"}},
		{"windows", "apps", "Kaspersky Embedded Systems Security for Windows", []string{"product kaspersky-embedded-systems-security-windows"}},
		{"windows", "paths", `C:\ProgramData\Kaspersky Lab\Kaspersky Embedded Systems Security\3.3\Reports`, []string{"product kaspersky-embedded-systems-security-windows", tech}},
		{"windows", "paths", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Security for Windows Server\kavfs.exe`, []string{"product kaspersky-security-windows-server", tech}},
		{"windows", "drivers", "klif.sys", []string{tech}},
		{"windows", "drivers", "klupd_klif_arkmon", []string{tech}},
		{"windows", "processes", "avp.exe", []string{tech}},
		{"windows", "apps", "Kaspersky Endpoint Security for Windows", []string{"product kaspersky-endpoint-security-windows"}},
		{"windows", "apps", "Kaspersky Total Security 21.2", []string{"product kaspersky-total-security"}},
		{"windows", "apps", "Kaspersky Anti-Virus 2012", []string{"product kaspersky-anti-virus"}},
		{"windows", "apps", "Kaspersky Anti-Virus 21.3", []string{"product kaspersky-anti-virus"}},
		{"windows", "apps", "Kaspersky Anti-Virus SOS", []string{"product kaspersky-anti-virus-sos"}},
		{"windows", "apps", "Kaspersky Endpoint Security 8 for Windows Console Plug-in", []string{"product kaspersky-kes8-console-plugin"}},
		{"windows", "apps", "Kaspersky", []string{"product kaspersky-standard-plus-premium"}},
		{"windows", "apps", "Parallels Internet Security Powered by Kaspersky", []string{"product parallels-internet-security"}},
		{"windows", "apps", "UltraAV", []string{"product ultraav"}},
		{"windows", "paths", `C:\Program Files (x86)\Kaspersky Lab\KES.12.2.0\avp.com`, []string{"product kaspersky-endpoint-security-windows", tech}},
		{"windows", "paths", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky 21.20\avpui.exe`, []string{"product kaspersky-standard-plus-premium", tech}},
		{"windows", "paths", `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky\avp.exe`, []string{"product parallels-internet-security"}},
		{"windows", "keys", `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES\environment`, []string{"product kaspersky-endpoint-security-windows", tech}},
		{"windows", "keys", `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState`, []string{"product kaspersky-network-agent", tech}},
		{"windows", "keys", `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\AVP21.3\environment`, []string{tech}},
		{"windows", "services", "WinDefend", []string{"product microsoft-defender-antivirus"}},
		{"darwin", "drivers", "com.kaspersky.kav.sysext", []string{tech}},
		{"darwin", "packages", "com.kaspersky.kav.core", []string{"product kaspersky-anti-virus-mac", tech}},
		{"darwin", "apps", "com.kaspersky.kav.downloader", []string{"product kaspersky-downloader-mac", tech}},
		{"darwin", "paths", "/Library/Application Support/Kaspersky Lab/klnagent/Binaries/klnagent", []string{"product kaspersky-network-agent", tech}},
		{"darwin", "paths", "/Applications/Kaspersky Endpoint Security for Mac.app/Contents", []string{"product kaspersky-endpoint-security-mac"}},
		{"darwin", "processes", "kav", []string{tech}},
		{"darwin", "drivers", "com.crowdstrike.falcon.Agent", []string{"product crowdstrike-falcon"}},
	} {
		if got := owners(tt.os, tt.kind, tt.value); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s %q: owners %v, want %v", tt.os, tt.kind, tt.value, got, tt.want)
		}
	}
}

// The built-in data through the matcher: the cases that matter most for
// compliance. Only what the data decides is checked (which products, whether
// restricted or white-label), not how the matcher merges or grades evidence.
func TestDefaultCatalogThroughMatch(t *testing.T) {
	c := builtinCatalog(t)
	pkg := func(name string) detect.Observation {
		return detect.Observation{Source: "dpkg", Kind: detect.KindPackage, Name: name, Status: detect.Installed}
	}
	proc := func(name, exe string) detect.Observation {
		return detect.Observation{Source: "processes", Kind: detect.KindProcess, Name: name, Path: exe, Status: detect.Running}
	}
	app := func(display, publisher, location string) detect.Observation {
		return detect.Observation{Source: "winapps", Kind: detect.KindApp, Display: display, Vendor: publisher, Path: location, Status: detect.Installed}
	}
	type want struct {
		id                     string
		restricted, whiteLabel bool
	}
	for _, tt := range []struct {
		name string
		os   string
		obs  []detect.Observation
		want []want // every finding, in any order; id "" matches any id
	}{
		{"KESL by package name alone", "linux",
			[]detect.Observation{pkg("kesl"), proc("kesl", "/opt/kaspersky/kesl/libexec/kesl")},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"decoys find nothing", "linux",
			[]detect.Observation{pkg("clamz"), pkg("klavaro"), pkg("kasumi"), pkg("sentinel-py"), pkg("falcon"),
				proc("kworker/0:1", ""), proc("avahi-daemon", "/usr/sbin/avahi-daemon"), proc("sshd", "/usr/sbin/sshd")},
			nil},
		{"other vendors are not restricted", "linux",
			[]detect.Observation{pkg("mdatp"), pkg("clamav-daemon"), proc("clamd", "/usr/sbin/clamd")},
			[]want{{"microsoft-defender-endpoint", false, false}, {"clamav", false, false}}},
		{"UltraAV alone is not Kaspersky", "windows",
			[]detect.Observation{app("UltraAV", "Pango", `C:\Program Files\UltraAV`)},
			[]want{{"ultraav", false, false}}},
		{"the Parallels OEM build is restricted white-label", "windows",
			[]detect.Observation{
				app("Parallels Internet Security Powered by Kaspersky", "Parallels", `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky`),
				proc("avp.exe", `C:\Program Files\Parallels\Parallels Internet Security Powered by Kaspersky\avp.exe`),
			},
			[]want{{"parallels-internet-security", true, true}}},
		{"an unknown brand running the Kaspersky-signed engine is restricted white-label", "windows",
			[]detect.Observation{
				app("AcmeShield Antivirus", "Acme Security Inc.", `C:\Program Files\AcmeShield`),
				proc("avp.exe", `C:\Program Files\AcmeShield\avp.exe`),
				{Source: "pe", Kind: detect.KindSigner, Name: "avp.exe", Path: `C:\Program Files\AcmeShield\avp.exe`,
					Signer: "CN=AO Kaspersky Lab, O=AO Kaspersky Lab, L=Moscow, C=RU", Status: detect.Running},
			},
			[]want{{"", true, true}}},
		{"ZoneAlarm alone is not Kaspersky", "windows",
			[]detect.Observation{
				app("ZoneAlarm Free Firewall", "Check Point Software Technologies LTD", `C:\Program Files (x86)\CheckPoint\ZoneAlarm`),
				{Source: "services", Kind: detect.KindService, Name: "vsmon", Status: detect.Running},
			},
			[]want{{"zonealarm", false, false}}},
		{"ZoneAlarm with the Kaspersky SDK engine is one restricted white-label product", "windows",
			[]detect.Observation{
				app("ZoneAlarm Extreme Security", "Check Point Software Technologies LTD", `C:\Program Files (x86)\CheckPoint\ZoneAlarm`),
				{Source: "services", Kind: detect.KindService, Name: "vsmon", Status: detect.Running},
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\sdk\AVP10`, Status: detect.Present},
				{Source: "paths", Kind: detect.KindPath, Path: `C:\ProgramData\CheckPoint\ZoneAlarm\Data\avsys`, Status: detect.Present},
			},
			[]want{{"zonealarm", true, true}}},
		{"a game's AvP.exe is not Kaspersky", "windows",
			[]detect.Observation{
				proc("AvP.exe", `C:\Program Files (x86)\Steam\steamapps\common\Aliens vs Predator\AvP.exe`),
				{Source: "pe", Kind: detect.KindSigner, Name: "AvP.exe", Path: `C:\Program Files (x86)\Steam\steamapps\common\Aliens vs Predator\AvP.exe`,
					Vendor: "Rebellion", Display: "Aliens vs Predator", Status: detect.Running},
			},
			nil},
		{"KES for Windows by its service", "windows",
			[]detect.Observation{{Source: "winsvc", Kind: detect.KindService, Name: "AVP.KES.12.2.0", Path: `C:\Program Files (x86)\Kaspersky Lab\KES.12.2.0\avp.exe`, Status: detect.Running}},
			[]want{{"kaspersky-endpoint-security-windows", true, false}}},
		// A service is named by whoever installs it: its name alone is
		// no product, unless its program lies in the product's folder or
		// the host holds other evidence of the vendor.
		{"a SysV script called kesl whose program is unknown", "linux",
			[]detect.Observation{{Source: "units", Kind: detect.KindService, Name: "kesl", Path: "/etc/init.d/kesl", Status: detect.Installed}},
			nil},
		{"a systemd unit called klnagent64 that runs a user's program", "linux",
			[]detect.Observation{{Source: "units", Kind: detect.KindService, Name: "klnagent64.service", Path: "/usr/local/bin/klnagent64", Status: detect.Running}},
			nil},
		{"a Windows service called AVP whose program is a stranger's", "windows",
			[]detect.Observation{{Source: "services", Kind: detect.KindService, Name: "AVP", Path: `C:\Program Files\Contoso\avpsvc.exe`, Status: detect.Running}},
			nil},
		{"KESL's init script beside the KESL package", "linux",
			[]detect.Observation{
				{Source: "units", Kind: detect.KindService, Name: "kesl", Path: "/etc/init.d/kesl", Status: detect.Installed},
				{Source: "rpm", Kind: detect.KindPackage, Name: "kesl", Vendor: "AO Kaspersky Lab", Version: "12.1.0.1543", Status: detect.Installed},
			},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"Network Agent's unit running from its folder", "linux",
			[]detect.Observation{{Source: "units", Kind: detect.KindService, Name: "klnagent64.service", Path: "/opt/kaspersky/klnagent64/sbin/klnagent", Status: detect.Running}},
			[]want{{"", true, false}}},
		// Kaspersky builds its own packages: one named like them that
		// another organisation maintains is a look-alike or a rebuild, and
		// counts only beside other Kaspersky evidence.
		{"a package called kesl that someone else maintains", "linux",
			[]detect.Observation{{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Version: "1.0-1",
				Vendor: "Bob Example <bob@example.org>", Status: detect.Installed}},
			nil},
		{"an rpm called klnagent64 of another vendor", "linux",
			[]detect.Observation{{Source: "rpm", Kind: detect.KindPackage, Name: "klnagent64", Version: "2.0",
				Vendor: "Example Corp", Packager: "Example Corp <build@example.com>", Status: detect.Installed}},
			nil},
		{"a package called kesl that someone else maintains, with KESL's program", "linux",
			[]detect.Observation{
				{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Version: "12.1.0-2968", Vendor: "Packaging Team <pkg@example.org>", Status: detect.Installed},
				{Source: "executables", Kind: detect.KindExecutable, Name: "kesl-control", Path: "/opt/kaspersky/kesl/bin/kesl-control", Status: detect.Present},
			},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"KESL's package maintained under a form of Kaspersky's name the catalog does not list", "linux",
			[]detect.Observation{{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Version: "12.1.0-2968",
				Vendor: "Kaspersky Lab Ltd.", Status: detect.Installed}},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"KESL's package maintained from Kaspersky's Russian domain", "linux",
			[]detect.Observation{{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Version: "12.1.0-2968",
				Vendor: "KL Build <build@kaspersky.ru>", Status: detect.Installed}},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"KESL's package as Kaspersky builds it", "linux",
			[]detect.Observation{{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Version: "12.1.0-2968",
				Vendor: "AO Kaspersky Lab <support@kaspersky.com>", Status: detect.Installed}},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"a package called kesl that records no maintainer (plain rpmbuild writes no Vendor)", "linux",
			[]detect.Observation{pkg("kesl")},
			nil},
		{"KESL's package recording no maintainer, with KESL's running daemon", "linux",
			[]detect.Observation{pkg("kesl"),
				{Source: "processes", Kind: detect.KindProcess, Name: "kesl", Path: "/opt/kaspersky/kesl/libexec/kesl", Status: detect.Running}},
			[]want{{"kaspersky-endpoint-security-linux", true, false}}},
		{"ClamAV as a distribution packages it", "linux",
			[]detect.Observation{{Source: "dpkg", Kind: detect.KindPackage, Name: "clamav-daemon", Version: "1.4.3+dfsg-1~deb12u2",
				Vendor: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>", Status: detect.Installed}},
			[]want{{"clamav", false, false}}},
		// An uninstall entry named like a Kaspersky product but published
		// by another company (a remover, a plug-in) is a look-alike too.
		{"an uninstall entry named like KIS, published by another company", "windows",
			[]detect.Observation{app("Kaspersky Internet Security Remover", "Fabrikam, Inc.", `C:\Program Files\Fabrikam\KIS Remover`)},
			nil},
		{"KIS's own uninstall entry", "windows",
			[]detect.Observation{app("Kaspersky Internet Security", "AO Kaspersky Lab", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Internet Security 21.3`)},
			[]want{{"kaspersky-internet-security", true, false}}},
		{"KIS's entry under a publisher that shows the brand", "windows",
			[]detect.Observation{app("Kaspersky Internet Security", "Kaspersky Lab ZAO Moscow", `D:\Apps\KIS`)},
			[]want{{"kaspersky-internet-security", true, false}}},
		{"an entry named like KIS by another publisher, beside Kaspersky's running driver", "windows",
			[]detect.Observation{app("Kaspersky Internet Security", "Reseller Packaging Ltd", `D:\Apps\KIS`),
				{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running}},
			[]want{{"kaspersky-internet-security", true, false}}},
		{"Kaspersky system extension on a Mac", "darwin",
			[]detect.Observation{{Source: "macapps", Kind: detect.KindDriver, Name: "com.kaspersky.kav.sysext", Status: detect.Running}},
			[]want{{"", true, false}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Match(c, tt.os, tt.obs)
			if len(got) != len(tt.want) {
				var ids []string
				for _, f := range got {
					ids = append(ids, f.ProductID)
				}
				t.Fatalf("got findings %v, want %d", ids, len(tt.want))
			}
			for _, w := range tt.want {
				i := slices.IndexFunc(got, func(f Finding) bool {
					return (w.id == "" || f.ProductID == w.id) && f.Restricted == w.restricted && f.WhiteLabel == w.whiteLabel
				})
				if i < 0 {
					t.Errorf("no finding %+v in %+v", w, got)
				}
			}
		})
	}
}

// fieldOwner is one product's or vendor technology's fingerprints on one OS.
type fieldOwner struct {
	owner string // "product X" or "vendor X technology"
	os    string
	fp    Fingerprints
	// whiteLabel and technology are the product's, empty for technology.
	whiteLabel bool
	technology string
}

func fieldOwners(c *Catalog) []fieldOwner {
	var out []fieldOwner
	for _, p := range c.Products {
		for os, fp := range p.Fingerprints {
			out = append(out, fieldOwner{"product " + p.ID, os, fp, p.WhiteLabel, p.Technology})
		}
	}
	for _, v := range c.Vendors {
		for os, fp := range v.Technology {
			out = append(out, fieldOwner{"vendor " + v.ID + " technology", os, fp, false, ""})
		}
	}
	return out
}

// Program dirs are where programs and drivers run from: absolute, anchored,
// and never a data folder, where residue outlives an uninstall.
func TestDefaultCatalogProgramDirs(t *testing.T) {
	c := builtinCatalog(t)
	dataPrefixes := []string{
		"/programdata", "/var/log", "/var/lib", "/var/cache", "/home/", "/users/",
		"/library/logs", "/library/caches", "/library/preferences", "/library/receipts",
	}
	for _, o := range fieldOwners(c) {
		for _, d := range o.fp.ProgramDirs {
			what := fmt.Sprintf("%s %s program_dirs %q", o.owner, o.os, d)
			if strings.TrimSpace(d) == "" || strings.ContainsAny(d[:1], `*?[`) {
				t.Errorf("%s: empty or starts with a wildcard", what)
				continue
			}
			if o.os == "windows" {
				if len(d) < 3 || d[1] != ':' || d[2] != '\\' || strings.Contains(d, "/") || strings.HasSuffix(d, `\`) {
					t.Errorf(`%s: want an absolute C:\ path with backslashes`, what)
				}
			} else if !strings.HasPrefix(d, "/") || strings.Contains(d, `\`) || strings.HasSuffix(d, "/") {
				t.Errorf("%s: want an absolute path with slashes", what)
			}
			cd := canon("paths", d)
			if strings.Count(cd, "/") < 2 {
				t.Errorf("%s: too close to the root", what)
			}
			if _, err := path.Match(cd, ""); err != nil {
				t.Errorf("%s: bad pattern: %v", what, err)
			}
			for _, pre := range dataPrefixes {
				if strings.HasPrefix(cd, pre) {
					t.Errorf("%s: a data folder (%s) is not a program dir", what, pre)
				}
			}
			for _, part := range strings.Split(cd, "/") {
				if part == "bases" {
					t.Errorf("%s: a bases folder is not a program dir", what)
				}
			}
			// /var/opt holds data; the only program trees there are
			// versioned install folders (KESL's install_<version>).
			if strings.HasPrefix(cd, "/var/opt/") && !strings.Contains(cd, "/install") {
				t.Errorf("%s: /var/opt is data unless it is an install_<version> tree", what)
			}
		}
	}

	k, _ := c.Vendor("kaspersky")
	for _, o := range host.OSes() {
		os := string(o)
		if len(k.Technology[os].ProgramDirs) == 0 {
			t.Errorf("Kaspersky technology has no program_dirs on %s", os)
		}
	}

	// Where executables are found, by owner.
	under := func(os, file string) []string {
		var out []string
		for _, o := range fieldOwners(c) {
			if o.os != os {
				continue
			}
			for _, d := range o.fp.ProgramDirs {
				if matches("paths", canon("paths", d), canon("paths", file)) {
					out = append(out, o.owner)
					break
				}
			}
		}
		slices.Sort(out)
		return out
	}
	const tech = "vendor kaspersky technology"
	for _, tt := range []struct {
		os, file string
		want     []string // owners that must be among those found; nil: none at all
	}{
		{"linux", "/var/opt/kaspersky/kesl/install_12.1.0.1274/opt/kaspersky/kesl/libexec/kesl", []string{"product kaspersky-endpoint-security-linux"}},
		{"linux", "/opt/kaspersky/klnagent64/sbin/klnagent", []string{"product kaspersky-network-agent", tech}},
		{"linux", "/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver", []string{"product kaspersky-anti-virus-proxy-server", tech}},
		{"linux", "/opt/kaspersky/klms/bin/klms-control", []string{"product kaspersky-linux-mail-server", tech}},
		{"linux", "/opt/kav/5.6/kavmilter/bin/kavmilter", []string{"product kaspersky-anti-virus-sendmail-milter", tech}},
		{"linux", "/var/opt/kaspersky/kesl/common/kesl.ini", nil},
		{"linux", "/var/log/kaspersky/kesl/kesl.log", nil},
		{"windows", `C:\Program Files (x86)\Kaspersky Lab\KES.12.2.0\avp.exe`, []string{"product kaspersky-endpoint-security-windows", tech}},
		{"windows", `C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klpsm.exe`, []string{"product kaspersky-network-agent", tech}},
		{"windows", `C:\Windows\System32\drivers\klif.sys`, []string{tech}},
		{"windows", `C:\ProgramData\Kaspersky Lab\AVP21.3\Bases\klids.sys`, nil},
		{"windows", `C:\Program Files (x86)\CheckPoint\ZoneAlarm\zatray.exe`, []string{"product zonealarm"}},
		{"darwin", "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav", []string{tech}},
		{"darwin", "/Library/Logs/Kaspersky Lab/kav.log", nil},
	} {
		got := under(tt.os, tt.file)
		if tt.want == nil {
			if len(got) > 0 {
				t.Errorf("%s %q lies in program dirs of %v, want none (data)", tt.os, tt.file, got)
			}
			continue
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s %q: program dirs of %v, want %s among them", tt.os, tt.file, got, w)
			}
		}
	}
}

// Altitudes are Microsoft's allocations [MS-ALT]: numbers, on Windows only,
// and each one allocated to one company, so listed by one owner only.
func TestDefaultCatalogAltitudes(t *testing.T) {
	c := builtinCatalog(t)
	seen := map[string]string{}
	for _, o := range fieldOwners(c) {
		if o.os != "windows" && len(o.fp.Altitudes) > 0 {
			t.Errorf("%s %s: altitudes exist only on Windows", o.owner, o.os)
		}
		// Allocations are per company: the matcher reads them from vendor
		// technology only.
		if strings.HasPrefix(o.owner, "product ") && len(o.fp.Altitudes) > 0 {
			t.Errorf("%s: altitudes belong under the vendor's technology", o.owner)
		}
		for _, a := range o.fp.Altitudes {
			digits := strings.Trim(a, "0123456789")
			if a == "" || (digits != "" && !(digits == "." || isGlob(a))) || strings.HasPrefix(a, "0") {
				t.Errorf("%s: altitude %q is not a number", o.owner, a)
			}
			if _, err := path.Match(a, ""); err != nil {
				t.Errorf("%s: altitude %q: %v", o.owner, a, err)
			}
			if other, dup := seen[a]; dup && other != o.owner {
				t.Errorf("altitude %s is listed by %s and %s", a, other, o.owner)
			}
			seen[a] = o.owner
		}
	}
	k, _ := c.Vendor("kaspersky")
	alt := k.Technology["windows"].Altitudes
	for _, want := range []string{"320400", "320401", "328650", "320450", "320350", "389510", "87200", "44890"} {
		if !slices.Contains(alt, want) {
			t.Errorf("Kaspersky technology lacks altitude %s (klif, klam, klboot, klsec, klbackupflt)", want)
		}
	}
	if len(alt) != 26 {
		t.Errorf("Kaspersky technology has %d altitudes, want the 26 rows of MS-ALT", len(alt))
	}
}

// A ZoneAlarm without Kaspersky's engine is not a white-label product: the
// ZoneAlarm name, folders, services and keys belong to a product that is
// not, and only the Kaspersky pieces (the KAV SDK key) to one that is.
func TestDefaultCatalogZoneAlarmLayout(t *testing.T) {
	c := builtinCatalog(t)
	byID := map[string]Product{}
	for _, p := range c.Products {
		byID["product "+p.ID] = p
	}
	owners := func(kind, value string) []string {
		var out []string
		for _, p := range append(productPatterns(c), technologyPatterns(c)...) {
			if p.os == "windows" && p.kind == kind && matches(kind, canon(kind, p.value), canon(kind, value)) {
				out = append(out, p.owner)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for _, own := range []struct{ kind, value string }{
		{"apps", "ZoneAlarm Free Firewall"},
		{"apps", "ZoneAlarm Extreme Security"},
		{"services", "vsmon"},
		{"processes", "zatray.exe"},
		{"drivers", "vsdatant.sys"},
		{"paths", `C:\Program Files (x86)\CheckPoint\ZoneAlarm\vsmon.exe`},
		{"keys", `HKLM\SOFTWARE\Zone Labs\ZoneAlarm`},
	} {
		got := owners(own.kind, own.value)
		if !slices.Equal(got, []string{"product zonealarm"}) {
			t.Errorf("ZoneAlarm's own %s %q: owners %v, want only product zonealarm", own.kind, own.value, got)
		}
	}
	if p := byID["product zonealarm"]; p.WhiteLabel || p.Technology != "" || c.Restricts(p) {
		t.Errorf("product zonealarm is white-label or restricted: %+v", p)
	}
	got := owners("keys", `HKLM\SOFTWARE\KasperskyLab\sdk\AVP8\environment`)
	want := []string{"product zonealarm-kaspersky-engine", "vendor kaspersky technology"}
	if !slices.Equal(got, want) {
		t.Errorf("the KAV SDK key: owners %v, want %v", got, want)
	}
	if p := byID["product zonealarm-kaspersky-engine"]; !p.WhiteLabel || p.Technology != "kaspersky" || p.Vendor != "check-point" || !c.Restricts(p) {
		t.Errorf("product zonealarm-kaspersky-engine is not a restricted Check Point white-label of Kaspersky: %+v", p)
	}
}

// The server and legacy products of issue #12, by the names their packages,
// init scripts and processes carry.
func TestDefaultCatalogServerProducts(t *testing.T) {
	c := builtinCatalog(t)
	for _, tt := range []struct{ kind, value, want string }{
		{"packages", "klms", "product kaspersky-linux-mail-server"},
		{"services", "klms", "product kaspersky-linux-mail-server"},
		{"services", "klmsdb", "product kaspersky-linux-mail-server"},
		{"packages", "kav4proxy", "product kaspersky-anti-virus-proxy-server"},
		{"services", "kav4proxy", "product kaspersky-anti-virus-proxy-server"},
		{"processes", "kav4proxy-kavicapserver", "product kaspersky-anti-virus-proxy-server"},
		{"paths", "/etc/opt/kaspersky/kav4proxy.conf", "product kaspersky-anti-virus-proxy-server"},
		{"services", "kav4lms", "product kaspersky-anti-virus-linux-mail-server"},
		{"services", "kavmilterd", "product kaspersky-anti-virus-sendmail-milter"},
		{"paths", "/var/db/kav/5.6/kavmilter/bases", "product kaspersky-anti-virus-sendmail-milter"},
		{"paths", "/opt/kaspersky/khse/libexec/libframework.so", "product kaspersky-khse-metascanner"},
		{"services", "klnagent64", "product kaspersky-network-agent"},
		{"services", "klnagent", "product kaspersky-network-agent"},
	} {
		var got []string
		for _, p := range productPatterns(c) {
			if p.os == "linux" && p.kind == tt.kind && matches(tt.kind, canon(tt.kind, p.value), canon(tt.kind, tt.value)) {
				got = append(got, p.owner)
			}
		}
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, []string{tt.want}) {
			t.Errorf("linux %s %q: products %v, want [%s]", tt.kind, tt.value, got, tt.want)
		}
	}
}

// The Russian-language editions name their publisher in Russian, quoted in
// any of the styles legal names use; each names Kaspersky, and a name
// that only looks alike names no one.
func TestDefaultCatalogRussianPublisher(t *testing.T) {
	m := builtinCatalog(t).Matcher("windows")
	for _, tt := range []struct {
		publisher string
		want      bool
	}{
		{"АО Лаборатория Касперского", true},
		{`АО "Лаборатория Касперского"`, true},
		{"АО «Лаборатория Касперского»", true},
		{"ао  лаборатория  касперского", true},
		{"ООО Лаборатория Касперского Тест", false},
		{"АО «Лаборатория Кодов»", false},
	} {
		o := detect.Observation{Kind: detect.KindApp, Display: "Утилита", Name: "{0}", Vendor: tt.publisher}
		if got := m.Relevant(o); got != tt.want {
			t.Errorf("publisher %q: Relevant = %v, want %v", tt.publisher, got, tt.want)
		}
	}
}
