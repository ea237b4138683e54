//go:build linux

package main

// The offline Windows scan checked against the live one: each host is set
// up in a Wine prefix (the .reg fixtures of the Wine end-to-end test and
// the Windows decoy scenarios), scanned live by avscout.exe, then its
// registry is exported by Wine's reg.exe (HKLM\SOFTWARE, HKLM\SYSTEM and
// the user's HKCU), written into real hive files by hivexregedit
// (libwin-hivex-perl, through regftest) where Windows keeps them on its
// disk — Windows\System32\config\SOFTWARE and SYSTEM, and
// users\<name>\NTUSER.DAT — and the prefix's drive_c is scanned by the
// Linux binary with --root --os windows. The two reports must name the
// same products, with the same versions and evidence, except what only a
// running system shows: processes, and services' running state.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
	"github.com/avscout/avscout/internal/winreg/regf/regftest"
)

func TestWindowsOfflineMatchesWine(t *testing.T) {
	fx := setupWine(t)
	type host struct {
		name  string
		setup func(w *winHost)
	}
	hosts := []host{
		{"consumer-32bit", func(w *winHost) {
			w.importReg("consumer")
			w.file(ktsDir+`\avp.exe`, "")
			w.file(ktsDir+`\avpui.exe`, "")
		}},
		{"kes-network-agent", func(w *winHost) {
			w.importReg("kes")
			w.importReg("netagent")
			w.file(driversDir+`\klif.sys`, "MZ not really a driver")
			w.file(kesDir+`\avpui.exe`, "")
			w.service("AVP", "Kaspersky Endpoint Security Service", kesDir+`\avp.exe`, true)
			w.service("klnagent", "Kaspersky Security Center Network Agent", naDir+`\klnagent.exe`, false)
		}},
		{"white-label", func(w *winHost) {
			w.importReg("whitelabel")
			w.file(`C:\Program Files\Hearthward\uninstall.exe`, "")
			w.program(`C:\Program Files\Hearthward\avp.exe`, hearthwardEngine)
		}},
		{"per-user", func(w *winHost) {
			w.importReg("peruser")
			w.file(`C:\users\Public\AppData\Local\Programs\Kaspersky VPN 21.16\ksde.exe`, "")
		}},
		{"ultraav-migrated", func(w *winHost) {
			w.importReg("ultraav")
			w.importReg("leftovers")
			w.file(`C:\ProgramData\Kaspersky Lab\AVP21.3\Data\settings.dat`, "x")
			w.run(`C:\Program Files\UltraAV\UltraAV.exe`)
		}},
		{"defender-crowdstrike", func(w *winHost) {
			w.importReg("defender-crowdstrike")
			w.file(driversDir+`\CrowdStrike\CSAgent.sys`, "MZ")
			w.program(`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, defenderEngine)
		}},
	}
	for _, sc := range loadScenarios(t) {
		if sc.OS == "windows" && sc.Decoy && sc.Setup.Mode == modeWine {
			hosts = append(hosts, host{"decoy-" + strings.TrimPrefix(sc.Name, "windows-"), func(w *winHost) { layOutWine(t, w, sc) }})
		}
	}
	for _, hc := range hosts {
		t.Run(hc.name, func(t *testing.T) {
			w := newWinHost(t, fx)
			hc.setup(w)
			began := time.Now()
			out, errOut, code := w.exit("wine", fx.avscout, "scan", "--format", "json")
			if code != 0 && len(out) == 0 && len(strings.TrimSpace(string(errOut))) == 0 {
				// avscout explains every failure on stderr; a silent exit
				// is Wine failing to start the process (seen on loaded
				// machines). Once more, and only once.
				t.Logf("avscout.exe exited %d without a word; running it again", code)
				out, errOut, code = w.exit("wine", fx.avscout, "scan", "--format", "json")
			}
			liveTook := time.Since(began)
			if len(out) == 0 || code != 0 {
				t.Fatalf("avscout.exe: exit %d\n%s", code, errOut)
			}
			live := decodeReport(t, out)
			root := exportDisk(t, w)
			began = time.Now()
			doc, stderr, code := avscout(t, "scan", "--format", "json", "--root", root, "--os", "windows")
			offTook := time.Since(began)
			if code != 0 {
				t.Fatalf("offline scan: exit %d\n%s", code, stderr)
			}
			off := decodeReport(t, []byte(doc))
			t.Logf("live scan under Wine %s, offline scan of its disk %s (agent: %d ms)", liveTook.Round(time.Millisecond), offTook.Round(time.Millisecond), off.DurationMS)
			for _, name := range []string{"uninstall", "vendorkeys", "services"} {
				if s := sourceStatus(off, name); s.Status != "ok" || len(s.Warnings) > 0 {
					t.Errorf("offline source %s: %+v", name, s)
				}
				if l, o := sourceStatus(live, name), sourceStatus(off, name); name != "services" && l.Items != o.Items {
					t.Errorf("source %s saw %d items live, %d offline", name, l.Items, o.Items)
				}
			}
			if s := sourceStatus(off, "processes"); s.Status != "unavailable" {
				t.Errorf("offline processes: %+v", s)
			}
			if off.Host.OSVersion != live.Host.OSVersion || off.Host.ID != live.Host.ID || off.Host.Hostname == "" {
				t.Errorf("host offline %+v, live %+v: same version and id wanted, and a hostname", off.Host, live.Host)
			}
			want, got := comparable(live), comparable(off)
			if want != got {
				t.Errorf("offline scan differs from the live one (besides running state):\n%s", diff(want, got))
			}
			for _, p := range off.Products {
				if p.State == "active" {
					t.Errorf("%s active offline", p.ID)
				}
			}
		})
	}
}

func decodeReport(t testing.TB, doc []byte) *report.Report {
	t.Helper()
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("report does not match the schema: %v\n%s", err, doc)
	}
	var r report.Report
	if err := json.Unmarshal(doc, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// exportDisk writes the registry of a Wine prefix into hive files where
// Windows keeps them in its drive_c, and returns drive_c.
func exportDisk(t *testing.T, w *winHost) string {
	t.Helper()
	root := filepath.Join(w.Dir, "drive_c")
	users, err := os.ReadDir(filepath.Join(root, "users"))
	if err != nil {
		t.Fatal(err)
	}
	var user string
	for _, u := range users {
		if u.IsDir() && !strings.EqualFold(u.Name(), "Public") {
			user = u.Name()
		}
	}
	if user == "" {
		t.Fatal("no user profile in drive_c/users")
	}
	config := filepath.Join(root, "windows", "system32", "config")
	if err := os.MkdirAll(config, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct{ key, prefix, file string }{
		{`HKLM\SOFTWARE`, regftest.SoftwarePrefix, filepath.Join(config, "SOFTWARE")},
		{`HKLM\SYSTEM`, regftest.SystemPrefix, filepath.Join(config, "SYSTEM")},
		{`HKCU`, `HKEY_CURRENT_USER`, filepath.Join(root, "users", user, "NTUSER.DAT")},
	} {
		tmp := `C:\export-` + filepath.Base(e.file) + ".reg"
		// reg.exe now and then fails under load with no word said:
		// it is asked again.
		for try := 1; ; try++ {
			out, errOut, code := w.exit("wine", "reg", "export", e.key, tmp, "/y")
			if code == 0 {
				break
			}
			if try == 3 {
				t.Fatalf("wine reg export %s: exit %d\n%s%s", e.key, code, out, errOut)
			}
			time.Sleep(time.Second)
		}
		text, err := os.ReadFile(w.Local(tmp))
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(w.Local(tmp))
		if err := regftest.WriteHive(e.file, e.prefix, text); err != nil {
			t.Fatalf("%s: %v", e.key, err)
		}
	}
	return root
}

var runningRE = regexp.MustCompile(`(, )?\b(running|stopped|start pending|stop pending)\b(, )?`)

// comparable writes what an offline scan must share with a live one:
// per product its identity, version and evidence, without the running
// state (active is installed), the processes seen, and a service's state.
//
// Locations are compared without case: a live scan under Wine names a
// file as the catalog writes it (Windows/System32/drivers/klif.sys), the
// offline one as the disk spells it (windows/system32/…). Products are
// compared in name order, since a report lists active ones first.
func comparable(r *report.Report) string {
	var blocks []string
	for _, p := range r.Products {
		var b strings.Builder
		state := p.State
		if state == "active" {
			state = "installed"
		}
		fmt.Fprintf(&b, "%s %q %q version %q restricted %v white-label %v %s\n", p.ID, p.Name, p.Vendor, p.Version, p.Restricted, p.WhiteLabel, state)
		var ev []string
		for _, e := range p.Evidence {
			if e.Source == "processes" || e.Source == "installdirs" { // what runs; what an offline scan sees instead
				continue
			}
			v := e.Value
			if e.Source == "services" {
				v = strings.ReplaceAll(runningRE.ReplaceAllStringFunc(v, func(m string) string {
					if strings.HasPrefix(m, ", ") && strings.HasSuffix(m, ", ") {
						return ", "
					}
					return ""
				}), " ()", "")
			}
			ev = append(ev, fmt.Sprintf("  %s %s %s @ %s", e.Source, e.Kind, v, strings.ToLower(e.Location)))
		}
		slices.Sort(ev)
		b.WriteString(strings.Join(slices.Compact(ev), "\n") + "\n")
		blocks = append(blocks, b.String())
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "")
}
