package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/report/enum"
)

// Observations as the sources report them, for the rule tests below.
func running(kind detect.Kind, name, path string) detect.Observation {
	return detect.Observation{Source: "processes", Kind: kind, Name: name, Path: path, Status: detect.Running}
}

// fileSaysNothing is the pe enricher's word on a file with no signature
// and no company in its version resource.
func fileSaysNothing(path, product string, st detect.Status) detect.Observation {
	o := fileSays(path, "", product, "", st)
	o.NoMaker = true
	return o
}

func fileSays(path, company, product, signer string, st detect.Status) detect.Observation {
	return detect.Observation{Source: "pe", Kind: detect.KindSigner, Name: baseName(path), Path: path,
		Vendor: company, Display: product, Signer: signer, Status: st}
}

const klSigner = "CN=AO Kaspersky Lab, O=AO Kaspersky Lab, L=Moscow, C=RU"

// row is what a rule test checks of a finding.
type row struct {
	name, state            string
	restricted, whiteLabel bool
}

func rows(fs []Finding) []row {
	var out []row
	for _, f := range fs {
		out = append(out, row{f.Name, f.State, f.Restricted, f.WhiteLabel})
	}
	return out
}

// TestMatchRules checks the rules of issue #12 class by class: a name
// alone is never a restricted product; installed means installed and
// leftover only residue; one real product is one row.
func TestMatchRules(t *testing.T) {
	c := loadTestCatalog(t)
	steam := `C:\Program Files (x86)\Steam\steamapps\common\Aliens vs Predator\AvP.exe`
	tests := []struct {
		name        string
		os          string
		obs         []detect.Observation
		want        []row
		wantDropped []string // a word of each drop reason, in order
		wantTrace   []string // words some finding's trace must hold
	}{
		// 1. A file or process name alone is never a restricted product.
		{
			name:        "a game's AvP.exe whose version info names its publisher",
			os:          "windows",
			obs:         []detect.Observation{running(detect.KindProcess, "AvP.exe", steam), fileSays(steam, "Rebellion", "Aliens vs Predator", "", detect.Running)},
			wantDropped: []string{`version info names "Rebellion"`},
		},
		{
			name:        "a game's AvP.exe signed by its publisher",
			os:          "windows",
			obs:         []detect.Observation{running(detect.KindProcess, "AvP.exe", steam), fileSays(steam, "", "", "CN=Rebellion Developments Ltd, O=Rebellion Developments Ltd", detect.Running)},
			wantDropped: []string{`signer names "Rebellion Developments Ltd"`},
		},
		{
			name:        "avp.exe with nothing to say about it",
			os:          "windows",
			obs:         []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\Games\avp.exe`)},
			wantDropped: []string{"nothing else on the host corroborates"},
		},
		{
			name: "avp.exe whose version info names Kaspersky",
			os:   "windows",
			obs: []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\Tools\avp.exe`),
				fileSays(`C:\Tools\avp.exe`, "AO Kaspersky Lab", "Kaspersky Anti-Virus", "", detect.Running)},
			want:      []row{{"Kaspersky components", enum.StateActive, true, false}},
			wantTrace: []string{"its version info names Kaspersky"},
		},
		{
			name: "avp.exe corroborated by a vendor key on the host",
			os:   "windows",
			obs: []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\Tools\avp.exe`),
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\KasperskyLab`, Status: detect.Present}},
			want:      []row{{"Kaspersky components", enum.StateActive, true, false}},
			wantTrace: []string{"the host holds other Kaspersky evidence: key"},
		},
		{
			// KES removed, its key left; a developer's unsigned build
			// called avp.exe (pion/ion's media node) runs. The key may be
			// residue and the file names no maker: not Kaspersky's.
			name: "avp.exe that names no maker, beside a vendor key only",
			os:   "windows",
			obs: []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\ion\avp.exe`),
				fileSaysNothing(`C:\ion\avp.exe`, "ion", detect.Running),
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES\environment`, Status: detect.Present}},
			want:        []row{{"Kaspersky components", enum.StateLeftover, true, false}},
			wantDropped: []string{"its file names no maker"},
		},
		{
			// The same for a service called like Kaspersky's whose
			// program, named otherwise, names no maker.
			name: "service AVP.KES whose program names no maker, beside a vendor key only",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "services", Kind: detect.KindService, Name: "AVP.KES.12.1.0", Path: `C:\ion\server.exe`, Status: detect.Running},
				fileSaysNothing(`C:\ion\server.exe`, "", detect.Running),
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\KasperskyLab`, Status: detect.Present}},
			want:        []row{{"Kaspersky components", enum.StateLeftover, true, false}},
			wantDropped: []string{"its file names no maker"},
		},
		{
			// A product key whose folder exists says installed: a
			// brand's build in that folder counts, whatever its file says.
			name: "avp.exe that names no maker, in the folder a product key names",
			os:   "windows",
			obs: []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\Program Files\Hearthward\avp.exe`),
				fileSaysNothing(`C:\Program Files\Hearthward\avp.exe`, "", detect.Running),
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\KasperskyLab`, Status: detect.Present},
				{Source: "vendorkeys", Kind: detect.KindApp, Name: "Hearthward", Display: "Hearthward Home Guard", Path: `C:\Program Files\Hearthward`,
					Location: `HKLM\SOFTWARE\KasperskyLab\protected\Hearthward\environment`, Status: detect.Present}}, // as vendorkeys reports them
			want:      []row{{"Hearthward Home Guard", enum.StateActive, true, true}},
			wantTrace: []string{"registry names its folder as an installed product's"},
		},
		{
			name: "avp.exe that names no maker, beside Kaspersky's running driver",
			os:   "windows",
			obs: []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\Tools\avp.exe`),
				fileSaysNothing(`C:\Tools\avp.exe`, "", detect.Running),
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\KasperskyLab`, Status: detect.Present},
				{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running}},
			want:      []row{{"Kaspersky components", enum.StateActive, true, false}},
			wantTrace: []string{"the host holds other Kaspersky evidence: driver klif"},
		},
		{
			name: "avp.exe beside Kaspersky's running driver",
			os:   "windows",
			obs: []detect.Observation{running(detect.KindProcess, "avp.exe", `C:\Tools\avp.exe`),
				{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running}},
			want:      []row{{"Kaspersky components", enum.StateActive, true, false}},
			wantTrace: []string{"the host holds other Kaspersky evidence: driver klif"},
		},
		{
			name:        "a Linux script called kesl in a home folder",
			os:          "linux",
			obs:         []detect.Observation{running(detect.KindProcess, "kesl", "/home/user/bin/kesl")},
			wantDropped: []string{"nothing else on the host corroborates"},
		},
		{
			// KESL removed: its unit stays behind, the program it runs is
			// gone (the units source says Present); a user's own script
			// called kesl runs. Residue corroborates no name.
			name: "a Linux script called kesl beside KESL's leftover unit",
			os:   "linux",
			obs: []detect.Observation{
				{Source: "units", Kind: detect.KindService, Name: "kesl.service", Path: "/opt/kaspersky/kesl/libexec/kesl", Status: detect.Present},
				{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Vendor: "AO Kaspersky Lab", Status: detect.Residual},
				{Source: "paths", Kind: detect.KindPath, Path: "/var/opt/kaspersky", Status: detect.Present},
				running(detect.KindProcess, "kesl", "/home/user/bin/kesl"),
			},
			want:        []row{{"Kaspersky Endpoint Security for Linux", enum.StateLeftover, true, false}},
			wantDropped: []string{"nothing else on the host corroborates"},
		},
		{
			// A unit is named by whoever writes it: one called kesl that
			// runs a script of a user's is no KESL.
			name: "a systemd unit called kesl that runs a user's script",
			os:   "linux",
			obs: []detect.Observation{{Source: "units", Kind: detect.KindService, Name: "kesl.service",
				Path: "/home/user/kesl/kesl.py", Status: detect.Installed, Detail: "kesl.service: enabled, runs /home/user/kesl/kesl.py"}},
			wantDropped: []string{"nothing else on the host corroborates"},
		},
		{
			// The real KESL unit runs its program from KESL's folder.
			name: "KESL's unit, running its program from KESL's folder",
			os:   "linux",
			obs: []detect.Observation{{Source: "units", Kind: detect.KindService, Name: "kesl.service",
				Path: "/opt/kaspersky/kesl/libexec/kesl", Status: detect.Installed}},
			want: []row{{"Kaspersky Endpoint Security for Linux", enum.StateInstalled, true, false}},
		},
		{
			// KESL installed where its package put it; its unit's program
			// is elsewhere (a packager's wrapper): the package corroborates.
			name: "a unit called kesl beside the KESL package",
			os:   "linux",
			obs: []detect.Observation{
				{Source: "units", Kind: detect.KindService, Name: "kesl.service", Path: "/usr/local/sbin/kesl-wrapper", Status: detect.Installed},
				{Source: "dpkg", Kind: detect.KindPackage, Name: "kesl", Vendor: "AO Kaspersky Lab", Status: detect.Installed},
			},
			want:      []row{{"Kaspersky Endpoint Security for Linux", enum.StateInstalled, true, false}},
			wantTrace: []string{"the host holds other Kaspersky evidence: package kesl"},
		},
		{
			name: "a Windows tool called avp.exe beside a stale Kaspersky driver registration",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Present},
				running(detect.KindProcess, "avp.exe", `C:\Tools\avp.exe`),
			},
			want:        []row{{"Kaspersky components", enum.StateLeftover, true, false}},
			wantDropped: []string{"nothing else on the host corroborates"},
		},
		{
			name: "a Mac app named like a Kaspersky product but signed by another team",
			os:   "darwin",
			obs: []detect.Observation{{Source: "apps", Kind: detect.KindApp, Name: "com.example.kis", Display: "Kaspersky Internet Security",
				Signer: "ABCDE12345", Path: "/Applications/Kaspersky Internet Security.app", Status: detect.Installed}},
			wantDropped: []string{`signer names "ABCDE12345"`},
		},
		{
			name: "the folder of a look-alike Mac app goes with it",
			os:   "darwin",
			obs: []detect.Observation{
				{Source: "apps", Kind: detect.KindApp, Name: "com.example.kis", Display: "Kaspersky Internet Security",
					Signer: "ABCDE12345", Path: "/Applications/Kaspersky Internet Security.app", Status: detect.Installed},
				{Source: "paths", Kind: detect.KindPath, Path: "/Applications/Kaspersky Internet Security.app", Status: detect.Present},
			},
			wantDropped: []string{`signer names "ABCDE12345"`, "whose own signer or version information names another company"},
		},
		{
			name: "a driver called klif signed by another company",
			os:   "windows",
			obs: []detect.Observation{{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running},
				fileSays(`C:\Windows\System32\drivers\klif.sys`, "Contoso Ltd", "Contoso Filter", "CN=Contoso Ltd", detect.Running)},
			wantDropped: []string{`signer names "Contoso Ltd"`},
		},
		{
			name: "a driver at a minifilter altitude allocated to Kaspersky, whatever its name",
			os:   "windows",
			obs: []detect.Observation{{Source: "services", Kind: detect.KindDriver, Name: "sngrd", Path: `C:\Windows\System32\drivers\sngrd.sys`,
				Altitude: "320400", Status: detect.Running}},
			want:      []row{{"Kaspersky components", enum.StateActive, true, false}},
			wantTrace: []string{"allocated to Kaspersky"},
		},
		{
			name: "an executable known only by name does not make a white label",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "uninstall", Kind: detect.KindApp, Display: "AcmeShield", Vendor: "Acme", Path: `C:\Program Files\AcmeShield`, Status: detect.Installed},
				{Source: "paths", Kind: detect.KindExecutable, Name: "avp.exe", Path: `C:\Program Files\AcmeShield\avp.exe`, Status: detect.Installed},
			},
			wantDropped: []string{"nothing else on the host corroborates"},
		},
		{
			name: "the brand's own version info on a Kaspersky-signed engine is no contradiction",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "uninstall", Kind: detect.KindApp, Display: "AcmeShield", Vendor: "Acme", Path: `C:\Program Files\AcmeShield`, Status: detect.Installed},
				running(detect.KindProcess, "avp.exe", `C:\Program Files\AcmeShield\avp.exe`),
				fileSays(`C:\Program Files\AcmeShield\avp.exe`, "Acme", "AcmeShield", klSigner, detect.Running),
			},
			want:      []row{{"AcmeShield", enum.StateActive, true, true}},
			wantTrace: []string{"white_label: presents Acme but carries Kaspersky technology"},
		},

		// 2. Installed means installed; leftover means only residue.
		{
			name: "KESL's program tree without a package database is installed",
			os:   "linux",
			obs: []detect.Observation{
				{Source: "paths", Kind: detect.KindExecutable, Name: "kesl", Path: "/var/opt/kaspersky/kesl/install_12.1.0.1297/opt/kaspersky/kesl/libexec/kesl", Status: detect.Installed},
				{Source: "paths", Kind: detect.KindPath, Path: "/var/opt/kaspersky/kesl", Status: detect.Present},
			},
			want:      []row{{"Kaspersky Endpoint Security for Linux", enum.StateInstalled, true, false}},
			wantTrace: []string{"state installed: executable"},
		},
		{
			name: "a unit whose program is gone is residue",
			os:   "linux",
			obs: []detect.Observation{
				{Source: "units", Kind: detect.KindService, Name: "kesl.service", Path: "/opt/kaspersky/kesl/libexec/kesl", Status: detect.Present},
			},
			want:      []row{{"Kaspersky Endpoint Security for Linux", enum.StateLeftover, true, false}},
			wantTrace: []string{"state leftover: only residue"},
		},
		{
			name: "a Kaspersky product description key whose files are gone beside UltraAV",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "uninstall", Kind: detect.KindApp, Display: "UltraAV", Vendor: "Pango", Path: `C:\Program Files\UltraAV`, Status: detect.Installed},
				{Source: "vendorkeys", Kind: detect.KindApp, Name: "AVP21.3", Display: "Kaspersky Total Security", Path: `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3`,
					Location: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\AVP21.3\environment`, Status: detect.Present},
				{Source: "vendorkeys", Kind: detect.KindKey, Path: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab`, Status: detect.Present},
			},
			want: []row{{"Kaspersky Total Security", enum.StateLeftover, true, false}, {"UltraAV", enum.StateInstalled, false, false}},
		},

		// 3. One real product, one row.
		{
			name: "a Mac with an uncatalogued Kaspersky app, a rebranded Kaspersky extension and an orphaned receipt",
			os:   "darwin",
			obs: []detect.Observation{
				{Source: "apps", Kind: detect.KindApp, Name: "com.kaspersky.secureconnection", Display: "Kaspersky Secure Connection", Signer: "2Y8XE5CQ94",
					Path: "/Applications/Kaspersky Secure Connection.app", Status: detect.Installed},
				running(detect.KindProcess, "Kaspersky Secure Connection", "/Applications/Kaspersky Secure Connection.app/Contents/MacOS/Kaspersky Secure Connection"),
				{Source: "extensions", Kind: detect.KindDriver, Name: "com.hearthward.guard.netext", Display: "Hearthward Guard", Signer: "2Y8XE5CQ94", Status: detect.Running},
				{Source: "receipts", Kind: detect.KindPackage, Name: "com.kaspersky.kav.legacy", Path: "/Applications/Kaspersky Anti-Virus.app", Status: detect.Residual},
			},
			want: []row{
				{"Kaspersky Secure Connection", enum.StateActive, true, false},
				{"Hearthward Guard", enum.StateActive, true, true},
				{"Kaspersky components", enum.StateLeftover, true, false},
			},
			wantTrace: []string{"residue of a removal"},
		},
		{
			name: "a white-label build's driver in System32 joins the only product on that technology",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "uninstall", Kind: detect.KindApp, Display: "Hearthward Home Guard", Vendor: "Hearthward Labs", Path: `C:\Program Files\Hearthward`, Status: detect.Installed},
				fileSays(`C:\Program Files\Hearthward\guard.exe`, "Hearthward Labs", "Hearthward Home Guard", klSigner, detect.Installed),
				{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running},
			},
			want:      []row{{"Hearthward Home Guard", enum.StateActive, true, true}},
			wantTrace: []string{"the only product on Kaspersky technology"},
		},
		{
			name: "a vendor driver beside two products joins the engine product",
			os:   "windows",
			obs: []detect.Observation{
				{Source: "uninstall", Kind: detect.KindApp, Display: "Kaspersky Endpoint Security for Windows", Vendor: "AO Kaspersky Lab", Status: detect.Installed},
				{Source: "uninstall", Kind: detect.KindApp, Display: "Kaspersky Security Center Network Agent", Vendor: "AO Kaspersky Lab", Status: detect.Installed},
				{Source: "services", Kind: detect.KindDriver, Name: "klif", Path: `C:\Windows\System32\drivers\klif.sys`, Status: detect.Running},
			},
			want: []row{
				{"Kaspersky Endpoint Security for Windows", enum.StateActive, true, false},
				{"Kaspersky Security Center Network Agent", enum.StateInstalled, true, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := c.Matcher(tt.os).Judge(tt.obs)
			got := rows(j.Findings)
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n got %+v\nwant %+v\ntraces:\n%s", got, tt.want, traces(j.Findings))
			}
			if len(j.Dropped) != len(tt.wantDropped) {
				t.Errorf("dropped %d, want %d: %+v", len(j.Dropped), len(tt.wantDropped), j.Dropped)
			}
			for i, w := range tt.wantDropped {
				if i < len(j.Dropped) && !strings.Contains(j.Dropped[i].Reason, w) {
					t.Errorf("dropped[%d] reason %q lacks %q", i, j.Dropped[i].Reason, w)
				}
			}
			all := traces(j.Findings)
			for _, w := range tt.wantTrace {
				if !strings.Contains(all, w) {
					t.Errorf("no trace says %q:\n%s", w, all)
				}
			}
		})
	}
}

func traces(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Name + ":\n")
		for _, l := range f.Trace {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}
