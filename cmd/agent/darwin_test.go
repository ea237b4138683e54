package main

// End-to-end tests of macOS detection: the real avscout binary scans
// fixture roots laid out like a Mac's disk — Info.plists, receipts and
// launchd jobs in XML and in binary form (made by plistutil), sysextd's
// db.plist, and Mach-O executables cross-built by Go and signed with
// chosen Team IDs — as it would scan a mounted image with --root.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/detect/macho/machotest"
	"github.com/avscout/avscout/internal/detect/macos/mactest"
	"github.com/avscout/avscout/internal/report"
)

// Apple developer Team IDs, from shared/reference/fingerprints.md and the
// catalog. The Team IDs of Apple's and Google's apps are what any Mac
// shows.
const (
	teamKaspersky   = "2Y8XE5CQ94"
	teamMicrosoft   = "UBF8T346G9"
	teamCrowdStrike = "X9E956P446"
	teamSentinelOne = "4AYE5J54KN"
	teamSophos      = "2H5GFH3774"
	teamMalwarebyte = "GVZRY6KDKR"
	teamGoogle      = "EQHXZ8M8AV"

	endpointSecurity = "com.apple.system_extension.endpoint_security"
	networkExtension = "com.apple.system_extension.network_extension"
)

// mac builds a macOS fixture root.
type mac struct {
	t    *testing.T
	root string
}

// newMac makes a root with what every Mac has: SystemVersion.plist (so
// the OS is detected), /var as a link to private/var, Apple's own apps
// and receipts, and a third-party app and daemon that are no security
// software — so each scenario's report shows only its products.
func newMac(t *testing.T) *mac {
	t.Helper()
	mactest.RequirePlistutil(t)
	m := &mac{t: t, root: t.TempDir()}
	fixtureRoots[t.Name()] = m.root
	mactest.WriteFile(t, m.root, "System/Library/CoreServices/SystemVersion.plist",
		mactest.Encode(t, mactest.SystemVersion("14.2.1", "23C71"), mactest.XML), 0o644)
	mactest.Symlink(t, m.root, "var", "private/var")
	m.app("Applications/Safari.app", "com.apple.Safari", "Safari", "17.2.1", "", mactest.Binary)
	m.app("Applications/Utilities/Terminal.app", "com.apple.Terminal", "Terminal", "2.14", "", mactest.Binary)
	m.app("Applications/Google Chrome.app", "com.google.Chrome", "Google Chrome", "120.0.6099.199", teamGoogle, mactest.XML)
	m.receipt("com.apple.pkg.MobileAssets", "14.2.1.1.1", "/", mactest.Binary)
	m.receipt("com.google.pkg.Keystone", "1.3.16.180", "/", mactest.XML)
	m.daemon("com.google.keystone.daemon", "/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle/Contents/Helpers/GoogleSoftwareUpdateDaemon", teamGoogle, mactest.XML)
	return m
}

// exe returns a Go-built darwin executable signed by team (ad-hoc when
// empty) under identifier: universal (x86_64 and arm64) when fat.
func (m *mac) exe(identifier, team string, fat bool) []byte {
	m.t.Helper()
	sign := func(arch string) []byte {
		b, err := machotest.Sign(machotest.Build(m.t, arch), machotest.Options{Identifier: identifier, TeamID: team})
		if err != nil {
			m.t.Fatal(err)
		}
		return b
	}
	if !fat {
		return sign("arm64")
	}
	b, err := machotest.Fat(sign("amd64"), sign("arm64"))
	if err != nil {
		m.t.Fatal(err)
	}
	return b
}

// app writes an application bundle whose executable is signed by team.
func (m *mac) app(dir, id, name, version, team string, f mactest.Format) {
	m.t.Helper()
	exe := strings.TrimSuffix(filepath.Base(dir), ".app")
	mactest.WriteApp(m.t, m.root, mactest.App{Dir: dir, Info: mactest.InfoPlist(id, name, version, exe), Format: f,
		Executable: m.exe(id, team, f == mactest.Binary)})
}

func (m *mac) receipt(id, version, prefix string, f mactest.Format) {
	m.t.Helper()
	r := mactest.Receipt(id, version, prefix, id+".pkg", time.Date(2024, 2, 12, 9, 41, 0, 0, time.UTC))
	mactest.WriteFile(m.t, m.root, "private/var/db/receipts/"+id+".plist", mactest.Encode(m.t, r, f), 0o644)
	mactest.WriteFile(m.t, m.root, "private/var/db/receipts/"+id+".bom", []byte("BOMStore"), 0o644)
}

// daemon writes a LaunchDaemon running program, and the program, a
// Mach-O file signed by team, unless team is "gone".
func (m *mac) daemon(label, program, team string, f mactest.Format) {
	m.t.Helper()
	mactest.WriteFile(m.t, m.root, "Library/LaunchDaemons/"+label+".plist", mactest.Encode(m.t, mactest.LaunchJob(label, program), f), 0o644)
	if team != "gone" {
		mactest.WriteFile(m.t, m.root, strings.TrimPrefix(program, "/"), m.exe(label, team, false), 0o755)
	}
}

func (m *mac) sysexts(f mactest.Format, exts ...mactest.SystemExtension) {
	m.t.Helper()
	mactest.WriteFile(m.t, m.root, "Library/SystemExtensions/db.plist", mactest.Encode(m.t, mactest.SystemExtensionDB(exts...), f), 0o644)
}

// scan scans the root with --os darwin and again letting avscout detect
// the OS, checks both give the same report, and returns it.
func (m *mac) scan(wantCode int, golden string) *report.Report {
	m.t.Helper()
	r, doc := scanJSON(m.t, wantCode, "--root", m.root, "--os", "darwin", "--fail-on", "restricted")
	_, detected := scanJSON(m.t, wantCode, "--root", m.root, "--fail-on", "restricted")
	if a, b := redact(m.t, doc), redact(m.t, detected); !bytes.Equal(a, b) {
		m.t.Errorf("report with the OS detected differs from --os darwin:\n%s", diff(string(a), string(b)))
	}
	checkGolden(m.t, golden, doc)
	if r.Host.OS != "darwin" || r.Host.OSVersion != "macOS 14.2.1" {
		m.t.Errorf("host = %+v", r.Host)
	}
	for _, name := range []string{"apps", "receipts", "launchd", "extensions", "paths"} {
		if s := sourceStatus(r, name); s.Status != "ok" {
			m.t.Errorf("source %s: %+v", name, s)
		}
	}
	if s := sourceStatus(r, "processes"); s.Status != "unavailable" {
		m.t.Errorf("processes on a root: %+v", s)
	}
	for _, p := range r.Products {
		for _, e := range p.Evidence {
			for _, noise := range []string{"Safari", "Terminal", "Chrome", "keystone", "MobileAssets"} {
				if strings.Contains(e.Value, noise) {
					m.t.Errorf("%s is evidence of %s: %+v", noise, p.ID, e)
				}
			}
		}
	}
	return r
}

// jamf returns the --format jamf output, checking it is one line.
func (m *mac) jamf() string {
	m.t.Helper()
	out, stderr, code := avscout(m.t, "scan", "--root", m.root, "--format", "jamf")
	if code != 0 {
		m.t.Fatalf("jamf: exit %d: %s", code, stderr)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "<result>") || !strings.HasSuffix(out, "</result>\n") {
		m.t.Errorf("jamf output is not one <result> line: %q", out)
	}
	return strings.TrimSpace(out)
}

func evidenceSources(p report.Product) []string {
	var s []string
	for _, e := range p.Evidence {
		if !slices.Contains(s, e.Source) {
			s = append(s, e.Source)
		}
	}
	slices.Sort(s)
	return s
}

func wantProducts(t *testing.T, r *report.Report, want ...string) {
	t.Helper()
	if got := productIDs(r); !slices.Equal(got, want) {
		t.Errorf("products = %v, want %v", got, want)
	}
}

// Kaspersky Internet Security for Mac, running: its app (universal
// binary signed by Kaspersky's team), its enabled Endpoint Security
// system extension, its daemon, its receipt and its data folder.
func TestScanMacKasperskyInternetSecurity(t *testing.T) {
	m := newMac(t)
	// The bundle id and receipt id are illustrative: Kaspersky's current
	// ones are not public (reference §6); the catalog matches any
	// com.kaspersky.* and, above all, the Team ID.
	m.app("Applications/Kaspersky Internet Security.app", "com.kaspersky.kis", "Kaspersky Internet Security", "21.0.4", teamKaspersky, mactest.Binary)
	m.sysexts(mactest.Binary, mactest.SystemExtension{ID: "com.kaspersky.kav.sysext", TeamID: teamKaspersky, Version: "21.0.4",
		State: "activated_enabled", Category: endpointSecurity, App: "/Applications/Kaspersky Internet Security.app",
		UniqueID: "6F0B5C1E-2A44-4C1D-9E1B-0D7A3B2C9E51"})
	m.daemon("com.kaspersky.kav", "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav", teamKaspersky, mactest.Binary)
	m.receipt("com.kaspersky.kis.pkg", "21.0.4.100", "/", mactest.Binary)

	r := m.scan(1, "darwin-kis")
	wantProducts(t, r, "kaspersky-internet-security-mac(active)")
	p, _ := product(r, "kaspersky-internet-security-mac")
	if !p.Restricted || p.Confidence != "high" || p.Version != "21.0.4" || r.Compliant || p.WhiteLabel {
		t.Errorf("KIS = %+v", p)
	}
	if got := evidenceSources(p); !slices.Equal(got, []string{"apps", "extensions", "launchd", "paths", "receipts"}) {
		t.Errorf("evidence from %v", got)
	}
	if got := m.jamf(); got != "<result>RESTRICTED: Kaspersky Internet Security for Mac 21.0.4 (active)</result>" {
		t.Errorf("jamf = %s", got)
	}
}

// Kaspersky Endpoint Security for Mac waiting for the user to approve its
// system extension, and Kaspersky Security Center's Network Agent.
func TestScanMacKESAndNetworkAgent(t *testing.T) {
	m := newMac(t)
	m.app("Applications/Kaspersky Endpoint Security for Mac.app", "com.kaspersky.kes", "Kaspersky Endpoint Security for Mac", "12.1.0.417", teamKaspersky, mactest.XML)
	m.sysexts(mactest.XML, mactest.SystemExtension{ID: "com.kaspersky.kav.sysext", TeamID: teamKaspersky, Version: "12.1.0",
		State: "activated_waiting_for_user", Category: endpointSecurity, App: "/Applications/Kaspersky Endpoint Security for Mac.app",
		UniqueID: "0C6E8D2B-7F1A-4E55-A2C3-5B8F9D1E4A70"})
	m.daemon("com.kaspersky.kav", "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav", teamKaspersky, mactest.XML)
	m.daemon("com.kaspersky.klnagent", "/Library/Application Support/Kaspersky Lab/klnagent/Binaries/klnagent", teamKaspersky, mactest.Binary)
	m.receipt("com.kaspersky.klnagent", "15.1.0.20748", "Library/Application Support/Kaspersky Lab/klnagent", mactest.XML)

	r := m.scan(1, "darwin-kes-network-agent")
	wantProducts(t, r, "kaspersky-endpoint-security-mac(installed)", "kaspersky-network-agent(installed)")
	for _, id := range []string{"kaspersky-endpoint-security-mac", "kaspersky-network-agent"} {
		if p, _ := product(r, id); !p.Restricted || p.Confidence != "high" {
			t.Errorf("%s = %+v", id, p)
		}
	}
	if p, _ := product(r, "kaspersky-network-agent"); p.Version != "15.1.0.20748" {
		t.Errorf("network agent version %q", p.Version)
	}
	if got := m.jamf(); !strings.HasPrefix(got, "<result>RESTRICTED: Kaspersky Endpoint Security for Mac 12.1.0.417 (installed); Kaspersky Security Center Network Agent") {
		t.Errorf("jamf = %s", got)
	}
}

// A product sold under another brand but signed by Kaspersky's team.
func TestScanMacWhiteLabel(t *testing.T) {
	m := newMac(t)
	m.app("Applications/SafeGuard Pro.app", "com.acme.safeguard", "SafeGuard Pro", "3.1", teamKaspersky, mactest.Binary)
	r := m.scan(1, "darwin-whitelabel")
	wantProducts(t, r, "kaspersky-safeguard-pro(installed)")
	p, _ := product(r, "kaspersky-safeguard-pro")
	if !p.WhiteLabel || !p.Restricted || p.Technology != "Kaspersky" || p.Name != "SafeGuard Pro" || p.Confidence != "high" || r.Compliant {
		t.Errorf("SafeGuard Pro = %+v", p)
	}
	if got := m.jamf(); got != "<result>RESTRICTED: SafeGuard Pro 3.1 (installed, Kaspersky white-label)</result>" {
		t.Errorf("jamf = %s", got)
	}
}

// Kaspersky removed: its data folder, a daemon whose program is gone and
// a receipt whose install folder is gone remain. Reported, restricted,
// but the host is compliant.
func TestScanMacLeftovers(t *testing.T) {
	m := newMac(t)
	mactest.WriteFile(t, m.root, "Library/Application Support/Kaspersky Lab/KAV/Data/settings.dat", []byte("x"), 0o644)
	mactest.WriteFile(t, m.root, "Library/Application Support/Kaspersky Lab/KAV/Logs/kav.log", []byte("log\n"), 0o644)
	m.daemon("com.kaspersky.kav", "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav", "gone", mactest.Binary)
	m.receipt("com.kaspersky.kav.webav", "21.0.4.100", "Library/Application Support/Kaspersky Lab/KAV/Binaries", mactest.XML)

	r := m.scan(0, "darwin-leftovers")
	if !r.Compliant || len(r.Products) == 0 {
		t.Fatalf("compliant %v, products %v", r.Compliant, productIDs(r))
	}
	for _, p := range r.Products {
		if p.State != "leftover" || !p.Restricted || p.Vendor != "Kaspersky" {
			t.Errorf("%s: %+v, want a restricted Kaspersky leftover", p.ID, p)
		}
	}
	if got := m.jamf(); got != "<result>COMPLIANT: Kaspersky leftover components</result>" {
		t.Errorf("jamf = %s", got)
	}
}

// Other vendors' products, each as it installs on a Mac.
func TestScanMacOtherVendors(t *testing.T) {
	m := newMac(t)
	m.app("Applications/Microsoft Defender.app", "com.microsoft.wdav", "Microsoft Defender", "101.23112.0021", teamMicrosoft, mactest.Binary)
	m.app("Applications/Falcon.app", "com.crowdstrike.falcon.App", "Falcon", "7.10.17706", teamCrowdStrike, mactest.XML)
	m.app("Applications/SentinelOne/SentinelOne Extensions.app", "com.sentinelone.extensions-wrapper", "SentinelOne Extensions", "23.4.2.14", teamSentinelOne, mactest.Binary)
	m.app("Applications/Sophos/Sophos Endpoint.app", "com.sophos.endpoint.uiserver", "Sophos Endpoint", "11.1.4", teamSophos, mactest.XML)
	m.app("Applications/Malwarebytes.app", "com.malwarebytes.mbam.frontend.application", "Malwarebytes", "4.21.9", teamMalwarebyte, mactest.Binary)
	m.sysexts(mactest.Binary,
		mactest.SystemExtension{ID: "com.microsoft.wdav.epsext", TeamID: teamMicrosoft, Version: "101.23112.0021", State: "activated_enabled",
			Category: endpointSecurity, App: "/Applications/Microsoft Defender.app", UniqueID: "11111111-1111-4111-8111-111111111111"},
		mactest.SystemExtension{ID: "com.crowdstrike.falcon.Agent", TeamID: teamCrowdStrike, Version: "7.10.17706", State: "activated_enabled",
			Category: endpointSecurity, App: "/Applications/Falcon.app", UniqueID: "22222222-2222-4222-8222-222222222222"},
		mactest.SystemExtension{ID: "com.sentinelone.network-monitoring", TeamID: teamSentinelOne, Version: "23.4.2.14", State: "activated_enabled",
			Category: networkExtension, App: "/Applications/SentinelOne/SentinelOne Extensions.app", UniqueID: "33333333-3333-4333-8333-333333333333"},
		mactest.SystemExtension{ID: "com.sophos.endpoint.scanextension", TeamID: teamSophos, Version: "11.1.4", State: "activated_enabled",
			Category: endpointSecurity, App: "/Applications/Sophos/Sophos Endpoint.app", UniqueID: "44444444-4444-4444-8444-444444444444"},
		mactest.SystemExtension{ID: "com.malwarebytes.mbam.engine.sys.ext", TeamID: teamMalwarebyte, Version: "4.21.9", State: "activated_enabled",
			Category: endpointSecurity, App: "/Applications/Malwarebytes.app", UniqueID: "55555555-5555-4555-8555-555555555555"},
	)
	mactest.WriteFile(t, m.root, "Library/Sentinel/sentinel-agent.bundle/Contents/MacOS/sentinelctl", m.exe("sentinelctl", teamSentinelOne, false), 0o755)
	m.receipt("com.microsoft.wdav", "101.23112.0021", "/", mactest.XML)

	r := m.scan(0, "darwin-other-vendors")
	wantProducts(t, r,
		"crowdstrike-falcon(active)",
		"malwarebytes(active)",
		"microsoft-defender-endpoint(active)",
		"sentinelone-agent(active)",
		"sophos-endpoint(active)",
	)
	if !r.Compliant {
		t.Error("other vendors made the host non-compliant")
	}
	for _, p := range r.Products {
		if p.Restricted || p.WhiteLabel || p.Confidence != "high" {
			t.Errorf("%s: %+v", p.ID, p)
		}
	}
	got := m.jamf()
	for _, name := range []string{"CrowdStrike Falcon", "Malwarebytes", "Microsoft Defender for Endpoint", "SentinelOne", "Sophos"} {
		if !strings.Contains(got, name) {
			t.Errorf("jamf lacks %s: %s", name, got)
		}
	}
	if !strings.HasPrefix(got, "<result>COMPLIANT: ") {
		t.Errorf("jamf = %s", got)
	}
}

// A Mac with no security software at all.
func TestScanMacClean(t *testing.T) {
	m := newMac(t)
	r := m.scan(0, "darwin-clean")
	if len(r.Products) != 0 || !r.Compliant {
		t.Errorf("clean Mac: %v", productIDs(r))
	}
	if s := sourceStatus(r, "apps"); s.Items != 3 {
		t.Errorf("apps source saw %d bundles, want 3", s.Items)
	}
	if got := m.jamf(); got != "<result>COMPLIANT</result>" {
		t.Errorf("jamf = %s", got)
	}
}

// One broken bundle on an otherwise clean Mac: the apps source read every
// other bundle, so its failure is a warning, the verdict stays compliant
// and even --fail-on incomplete passes; the table shows the warning.
func TestScanMacOneBadBundle(t *testing.T) {
	m := newMac(t)
	info := mactest.Encode(t, mactest.InfoPlist("com.example.notes", "Notes Plus", "2.1", "Notes Plus"), mactest.Binary)
	mactest.WriteFile(t, m.root, "Applications/Notes Plus.app/Contents/Info.plist", info[:len(info)/2], 0o644)

	r, _ := scanJSON(t, 0, "--root", m.root, "--fail-on", "restricted,incomplete")
	s := sourceStatus(r, "apps")
	if s.Status != "ok" || s.Error != "" || len(s.Warnings) != 1 ||
		!strings.Contains(s.Warnings[0], "Applications/Notes Plus.app/Contents/Info.plist: not a valid property list") {
		t.Errorf("apps: %+v, want ok with one warning naming the bundle's Info.plist", s)
	}
	if s.Items != 4 {
		t.Errorf("apps saw %d bundles, want 4 (the broken one is still listed)", s.Items)
	}
	if r.Verdict != "compliant" || !r.Compliant {
		t.Errorf("verdict %q compliant %v, want compliant", r.Verdict, r.Compliant)
	}
	out, _, code := avscout(t, "scan", "--root", m.root)
	if code != 0 || !strings.Contains(out, "\nCOMPLIANT\n") || !regexp.MustCompile(`(?m)^  apps +ok +4 items .* 1 warning\(s\): Applications/Notes Plus\.app`).MatchString(out) {
		t.Errorf("table (exit %d) lacks COMPLIANT or the apps warning:\n%s", code, out)
	}
}

// Broken input everywhere: malformed and truncated plists (XML and
// binary), link loops, executables that are not Mach-O or whose
// signature is cut short. Every source reports what is wrong by name,
// nothing crashes, and what can be read still finds Kaspersky. One bad
// bundle, job or receipt is a warning (the source saw the rest); the
// corrupt system extension database is the extensions source's error.
func TestScanMacBrokenInput(t *testing.T) {
	m := newMac(t)
	info := mactest.Encode(t, mactest.InfoPlist("com.example.x", "X", "1", "X"), mactest.Binary)
	mactest.WriteFile(t, m.root, "Applications/Truncated.app/Contents/Info.plist", info[:len(info)/2], 0o644)
	mactest.WriteFile(t, m.root, "Applications/Malformed.app/Contents/Info.plist", []byte("<?xml version=\"1.0\"?><plist><dict><key>CFBundleIdentifier"), 0o644)
	mactest.WriteApp(t, m.root, mactest.App{Dir: "Applications/Script.app", Format: mactest.XML,
		Info: mactest.InfoPlist("com.example.script", "Script", "1", "Script"), Executable: []byte("#!/bin/sh\nexec true\n")})
	kav := m.exe("com.kaspersky.kis", teamKaspersky, false)
	mactest.WriteApp(t, m.root, mactest.App{Dir: "Applications/Kaspersky Internet Security.app", Format: mactest.Binary,
		Info:       mactest.InfoPlist("com.kaspersky.kis", "Kaspersky Internet Security", "21.0.4", "Kaspersky Internet Security"),
		Executable: kav[:len(kav)-5000]})
	mactest.Symlink(t, m.root, "Applications/Loop.app", "Loop.app")
	mactest.Symlink(t, m.root, "Applications/Again", "/Applications")
	mactest.WriteFile(t, m.root, "Library/SystemExtensions/db.plist", []byte("bplist00\x00\x01garbage"), 0o644)
	job := mactest.Encode(t, mactest.LaunchJob("com.kaspersky.kav", "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav"), mactest.XML)
	mactest.WriteFile(t, m.root, "Library/LaunchDaemons/com.kaspersky.kav.plist", job[:len(job)-40], 0o644)
	mactest.WriteFile(t, m.root, "private/var/db/receipts/com.kaspersky.kis.pkg.plist", []byte{}, 0o644)

	r, _ := scanJSON(t, 1, "--root", m.root, "--fail-on", "restricted")
	for name, tt := range map[string]struct {
		status string
		wants  []string
	}{
		"apps": {"ok", []string{
			"Applications/Truncated.app/Contents/Info.plist: not a valid property list",
			"Applications/Malformed.app/Contents/Info.plist: not a valid property list",
			`Applications/Script.app/Contents/MacOS/Script: not a Mach-O file`,
			"Applications/Kaspersky Internet Security.app/Contents/MacOS/Kaspersky Internet Security: malformed Mach-O file",
			"Applications/Loop.app: too many levels of symbolic links",
		}},
		"extensions": {"error", []string{"Library/SystemExtensions/db.plist: not a valid property list"}},
		"launchd":    {"ok", []string{"Library/LaunchDaemons/com.kaspersky.kav.plist: not a valid property list"}},
		"receipts":   {"ok", []string{"com.kaspersky.kis.pkg.plist: not a valid property list: empty file"}},
	} {
		s := sourceStatus(r, name)
		if s.Status != tt.status {
			t.Errorf("source %s: %+v, want status %s", name, s, tt.status)
		}
		told := s.Error
		if tt.status == "ok" {
			told = strings.Join(s.Warnings, "\n")
			if s.Error != "" {
				t.Errorf("source %s: ok with an error %q", name, s.Error)
			}
		}
		for _, want := range tt.wants {
			if !strings.Contains(told, want) {
				t.Errorf("source %s lacks %q:\n%s", name, want, told)
			}
		}
	}
	// KIS is found, so the verdict is non_compliant despite the failed
	// extensions source.
	if r.Verdict != "non_compliant" || r.Compliant {
		t.Errorf("verdict %q compliant %v, want non_compliant", r.Verdict, r.Compliant)
	}
	// The bundle with the cut signature is still found by its name.
	if p, ok := product(r, "kaspersky-internet-security-mac"); !ok || p.State != "installed" {
		t.Errorf("KIS with a broken signature: %+v (products %v)", p, productIDs(r))
	}
}

// Many applications, some in folders, scanned end to end within the
// per-source timeout.
func TestScanMacManyApps(t *testing.T) {
	m := newMac(t)
	info := mactest.Encode(t, mactest.InfoPlist("com.example.app", "App", "1.0", "App"), mactest.Binary)
	bin, err := machotest.Minimal("arm64")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		dir := filepath.Join(m.root, "Applications", fmt.Sprintf("Folder %d", i%20), fmt.Sprintf("App %04d.app", i), "Contents")
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
	r, _ := scanJSON(t, 0, "--root", m.root)
	if s := sourceStatus(r, "apps"); s.Status != "ok" || s.Items != 2003 {
		t.Errorf("apps source: %+v", s)
	}
	t.Logf("2,003 bundles scanned end to end in %v", time.Since(start))
}
