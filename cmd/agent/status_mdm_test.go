package main

// The MDM outputs of `avscout status` and the MDM kit's shell scripts, run
// against state files that the real service wrote (`service run --once`
// over fixture roots) for compliant, restricted and never-scanned hosts,
// and against states written by the real agent.StateFile for stale,
// failed and unreadable ones.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avscout/avscout/internal/agent"
	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
	"github.com/avscout/avscout/internal/status"
	"github.com/avscout/avscout/packaging/mdm"
)

const mdmKit = "../../packaging/mdm"

// mdmHost is a host whose service state a check reads.
type mdmHost struct {
	cfg, stateDir string
}

// scannedHost runs the real service once over root, with no collector, so
// the state file is the service's own.
func scannedHost(t *testing.T, root string) mdmHost {
	t.Helper()
	cfg, stateDir := agentConfig(t, "", "", "")
	if _, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root); code != 0 {
		t.Fatalf("service run --once: exit %d: %s", code, stderr)
	}
	return mdmHost{cfg, stateDir}
}

// compliantRoot is a Debian root with ClamAV only.
func compliantRoot(t *testing.T) string {
	t.Helper()
	root := newRoot(t, "mdm-ok", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{
		{Name: "clamav", Version: "1.0.7+dfsg-1~deb12u1", Maintainer: "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>",
			Description: "anti-virus utility for Unix"},
	})
	return root
}

// incompleteRoot is a Debian root whose dpkg database cannot be read: the
// status file is a directory.
func incompleteRoot(t *testing.T) string {
	t.Helper()
	root := newRoot(t, "mdm-incomplete", debian12OSRelease)
	if err := os.MkdirAll(filepath.Join(root, "var/lib/dpkg/status"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// stateHost writes a state with the real agent.StateFile.
func stateHost(t *testing.T, scan *agent.ScanState) mdmHost {
	t.Helper()
	cfg, stateDir := agentConfig(t, "", "", "")
	agent.OpenState(filepath.Join(stateDir, agent.StateFileName), nil).Update(func(s *agent.State) { s.LastScan = scan })
	return mdmHost{cfg, stateDir}
}

var (
	whenRE = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((\d+h)?\d+m ago\)`
	kesl   = "Kaspersky Endpoint Security for Linux"
)

func TestStatusMDMFormats(t *testing.T) {
	dpkgtest.Require(t)
	hosts := map[string]mdmHost{
		"compliant":  scannedHost(t, compliantRoot(t)),
		"restricted": scannedHost(t, kasperskyRoot(t)),
		"never":      func() mdmHost { cfg, dir := agentConfig(t, "", "", ""); return mdmHost{cfg, dir} }(),
		"stale": stateHost(t, &agent.ScanState{At: time.Now().Add(-30 * time.Hour).UTC(), Compliant: true, Products: 2,
			Restricted: []string{}}),
		"stale-restricted": stateHost(t, &agent.ScanState{At: time.Now().Add(-30 * time.Hour).UTC(), Products: 1,
			Restricted: []string{kesl}}),
		"failed": stateHost(t, &agent.ScanState{At: time.Now().UTC(), Error: "host: open root: permission denied"}),
		// The real service over a root whose dpkg database is a directory.
		"incomplete": scannedHost(t, incompleteRoot(t)),
		// A state an older agent wrote: compliant with a failed source.
		"old-incomplete": stateHost(t, &agent.ScanState{At: time.Now().UTC(), ReportID: "r1", Compliant: true, Products: 1,
			Restricted: []string{}, FailedSources: []string{"units"}}),
	}
	// A config that group and others may write is refused: the checks say
	// so on stdout, in their format.
	bad := hosts["compliant"]
	badCfg := filepath.Join(t.TempDir(), "config.yaml")
	b, err := os.ReadFile(bad.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badCfg, b, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(badCfg, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	hosts["badconfig"] = mdmHost{cfg: badCfg}

	for _, tc := range []struct {
		host, format string
		code         int
		out          string // a regexp of the whole stdout
	}{
		{"compliant", "intune-remediation", 0, `COMPLIANT: no restricted product installed, 1 product\(s\) found; last scan ` + whenRE + `\n`},
		{"restricted", "intune-remediation", 1, `RESTRICTED: ` + kesl + `; last scan ` + whenRE + `\n`},
		{"never", "intune-remediation", 1, `NOT SCANNED: the avscout service has not completed a scan yet\n`},
		{"stale", "intune-remediation", 1, `STALE: last scan ` + whenRE + `, older than 12h32m: is the avscout service running\?\n`},
		{"stale-restricted", "intune-remediation", 1, `RESTRICTED: ` + kesl + `; last scan ` + whenRE + `\n`},
		{"failed", "intune-remediation", 1, `SCAN FAILED: host: open root: permission denied; last attempt ` + whenRE + `\n`},
		{"badconfig", "intune-remediation", 1, `ERROR: cannot read the avscout status: .*writable by group or others.*\n`},
		{"incomplete", "intune-remediation", 1, `INCOMPLETE: no restricted product found, but dpkg could not look; last scan ` + whenRE + `\n`},
		{"old-incomplete", "intune-remediation", 1, `INCOMPLETE: no restricted product found, but units could not look; last scan ` + whenRE + `\n`},

		{"compliant", "jamf", 0, `<result>COMPLIANT</result>\n`},
		{"restricted", "jamf", 0, `<result>RESTRICTED: ` + kesl + `</result>\n`},
		{"never", "jamf", 0, `<result>NOT SCANNED</result>\n`},
		{"stale", "jamf", 0, `<result>STALE: last scan \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ</result>\n`},
		{"failed", "jamf", 0, `<result>SCAN FAILED: host: open root: permission denied</result>\n`},
		{"badconfig", "jamf", 0, `<result>ERROR: .*</result>\n`},
		{"incomplete", "jamf", 0, `<result>INCOMPLETE: dpkg</result>\n`},
		{"old-incomplete", "jamf", 0, `<result>INCOMPLETE: units</result>\n`},

		{"compliant", "intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":1,"LastScanAgeHours":0,"FailedSourceCount":0,"ScanStatus":"Ok","Verdict":"compliant","AgentVersion":"0.0.0"\}\n`},
		{"restricted", "intune-compliance", 0, `\{"RestrictedProductPresent":true,"RestrictedProducts":"` + kesl + `","ProductCount":1,"LastScanAgeHours":0,"FailedSourceCount":0,"ScanStatus":"Ok","Verdict":"non_compliant","AgentVersion":"0.0.0"\}\n`},
		{"never", "intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":0,"LastScanAgeHours":-1,"FailedSourceCount":0,"ScanStatus":"NeverScanned","Verdict":"","AgentVersion":"0.0.0"\}\n`},
		{"stale-restricted", "intune-compliance", 0, `\{"RestrictedProductPresent":true,"RestrictedProducts":"` + kesl + `","ProductCount":1,"LastScanAgeHours":30,"FailedSourceCount":0,"ScanStatus":"Stale","Verdict":"non_compliant","AgentVersion":"0.0.0"\}\n`},
		{"failed", "intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":0,"LastScanAgeHours":0,"FailedSourceCount":0,"ScanStatus":"Failed","Verdict":"","AgentVersion":"0.0.0"\}\n`},
		{"badconfig", "intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":0,"LastScanAgeHours":-1,"FailedSourceCount":0,"ScanStatus":"Error","Verdict":"","AgentVersion":"0.0.0"\}\n`},
		{"incomplete", "intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":0,"LastScanAgeHours":0,"FailedSourceCount":1,"ScanStatus":"Incomplete","Verdict":"incomplete","AgentVersion":"0.0.0"\}\n`},
		{"old-incomplete", "intune-compliance", 0, `\{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":1,"LastScanAgeHours":0,"FailedSourceCount":1,"ScanStatus":"Incomplete","Verdict":"incomplete","AgentVersion":"0.0.0"\}\n`},
	} {
		t.Run(tc.host+"/"+tc.format, func(t *testing.T) {
			out, stderr, code := avscout(t, "status", "--config", hosts[tc.host].cfg, "--format", tc.format)
			if code != tc.code || stderr != "" || !regexp.MustCompile(`^`+tc.out+`$`).MatchString(out) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout matching %q and no stderr", code, out, stderr, tc.code, tc.out)
			}
			if strings.Count(out, "\n") != 1 {
				t.Errorf("not one line: %q", out)
			}
		})
	}

	// The Jamf extension attribute prints what the agent says, and NOT
	// INSTALLED without the agent.
	for host, want := range map[string]string{
		"compliant":  "<result>COMPLIANT</result>\n",
		"restricted": "<result>RESTRICTED: " + kesl + "</result>\n",
		"never":      "<result>NOT SCANNED</result>\n",
		"incomplete": "<result>INCOMPLETE: dpkg</result>\n",
	} {
		script := kitScript(t, "jamf/extension-attribute.sh", "AVSCOUT=/opt/avscout/bin/avscout", wrapper(t, "--config", hosts[host].cfg))
		if out, code := runSh(t, script); out != want || code != 0 {
			t.Errorf("jamf EA on the %s host: exit %d, %q; want 0, %q", host, code, out, want)
		}
	}
	script := kitScript(t, "jamf/extension-attribute.sh", "AVSCOUT=/opt/avscout/bin/avscout", filepath.Join(t.TempDir(), "missing"))
	if out, code := runSh(t, script); out != "<result>NOT INSTALLED</result>\n" || code != 0 {
		t.Errorf("jamf EA without the agent: exit %d, %q", code, out)
	}
}

// kitScript copies a script of the MDM kit into a temporary folder with
// its agent path line replaced (the one line a test may change).
func kitScript(t *testing.T, name, line, bin string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mdmKit, name))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"+line+"\n"); n != 1 {
		t.Fatalf("%s: line %q found %d times, want once", name, line, n)
	}
	s := strings.Replace(string(b), "\n"+line+"\n", "\n"+strings.SplitN(line, "=", 2)[0]+"="+bin+"\n", 1)
	out := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(out, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// wrapper is an executable that runs the real agent with extra arguments
// after the script's own.
func wrapper(t *testing.T, extra ...string) string {
	t.Helper()
	w := filepath.Join(t.TempDir(), "avscout")
	q := make([]string, len(extra))
	for i, e := range extra {
		q[i] = "'" + strings.ReplaceAll(e, "'", `'\''`) + "'"
	}
	if err := os.WriteFile(w, []byte("#!/bin/sh\nexec '"+binary+"' \"$@\" "+strings.Join(q, " ")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// runSh runs a script with sh (dash on Debian, a POSIX shell) and returns
// its stdout and exit code; it fails the test on any stderr.
func runSh(t *testing.T, script string, prefix ...string) (string, int) {
	t.Helper()
	args := append(prefix, "sh", script)
	cmd := exec.Command(args[0], args[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if stderr.Len() > 0 {
		t.Errorf("%s wrote to stderr: %s", script, stderr.String())
	}
	return string(out), code
}

// complianceKeys returns the keys of one line of compliance JSON, in order.
func complianceKeys(t *testing.T, line string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("compliance output %q: %v", line, err)
	}
	for k, v := range m {
		switch v.(type) {
		case bool, float64, string:
		default:
			t.Errorf("compliance key %s holds %T: only flat scalars are allowed", k, v)
		}
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil { // the opening brace
		t.Fatalf("compliance output %q: %v", line, err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("compliance output %q: %v", line, err)
		}
		keys = append(keys, k.(string))
		var skip any
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("compliance output %q: %v", line, err)
		}
	}
	return keys
}

// The compliance rules judge keys the agent writes, and the fallbacks of
// the discovery scripts (agent not installed) write the same keys.
func TestComplianceRulesMatchTheOutput(t *testing.T) {
	cfg, _ := agentConfig(t, "", "", "")
	out, _, _ := avscout(t, "status", "--config", cfg, "--format", "intune-compliance")
	keys := complianceKeys(t, strings.TrimSpace(out))

	f, err := os.Open(filepath.Join(mdmKit, mdm.ComplianceRulesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules, err := mdm.ParseComplianceRules(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !slices.Contains(keys, r.SettingName) {
			t.Errorf("rule on %q: the agent writes no such key (it writes %v)", r.SettingName, keys)
		}
	}

	script := kitScript(t, "intune/compliance-discovery.sh", "AVSCOUT=/usr/bin/avscout", filepath.Join(t.TempDir(), "missing"))
	fallback, code := runSh(t, script)
	if code != 0 || !slices.Equal(complianceKeys(t, strings.TrimSpace(fallback)), keys) || !strings.Contains(fallback, `"ScanStatus":"NotInstalled"`) {
		t.Errorf("Linux discovery without the agent: exit %d, %q; want the keys %v with ScanStatus NotInstalled", code, fallback, keys)
	}

	ps, err := os.ReadFile(filepath.Join(mdmKit, "intune/compliance-discovery.ps1"))
	if err != nil {
		t.Fatal(err)
	}
	psKeys := regexp.MustCompile(`(?m)^\s+(\w+)\s+= `).FindAllStringSubmatch(string(ps), -1)
	var got []string
	for _, m := range psKeys {
		got = append(got, m[1])
	}
	if !slices.Equal(got, keys) {
		t.Errorf("compliance-discovery.ps1 fallback keys %v, want %v", got, keys)
	}
}

// On Linux the discovery script runs as the logged-in user: it reads the
// summary the service publishes, which is world-readable, holds no
// secret, and says the same as the private state.
func TestLinuxComplianceDiscoveryUnprivileged(t *testing.T) {
	dpkgtest.Require(t)
	for _, tc := range []struct {
		name string
		root func(*testing.T) string
		want string
	}{
		{"compliant", compliantRoot, `{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":1,"LastScanAgeHours":0,"FailedSourceCount":0,"ScanStatus":"Ok","Verdict":"compliant","AgentVersion":"0.0.0"}` + "\n"},
		{"restricted", kasperskyRoot, `{"RestrictedProductPresent":true,"RestrictedProducts":"` + kesl + `","ProductCount":1,"LastScanAgeHours":0,"FailedSourceCount":0,"ScanStatus":"Ok","Verdict":"non_compliant","AgentVersion":"0.0.0"}` + "\n"},
		{"incomplete", incompleteRoot, `{"RestrictedProductPresent":false,"RestrictedProducts":"","ProductCount":0,"LastScanAgeHours":0,"FailedSourceCount":1,"ScanStatus":"Incomplete","Verdict":"incomplete","AgentVersion":"0.0.0"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := scannedHost(t, tc.root(t))
			// Publish as the service does at start, from its state file.
			pubDir := publicDir(t)
			pub := filepath.Join(pubDir, "avscout", "status.json")
			agent.OpenState(filepath.Join(h.stateDir, agent.StateFileName), nil).Publish(pub, 12*time.Hour)
			fi, err := os.Stat(pub)
			if err != nil {
				t.Fatal(err)
			}
			di, _ := os.Stat(filepath.Dir(pub))
			if fi.Mode().Perm() != 0o644 || di.Mode().Perm() != 0o755 {
				t.Errorf("summary mode %v in a folder of mode %v, want 0644 in 0755", fi.Mode().Perm(), di.Mode().Perm())
			}
			b, _ := os.ReadFile(pub)
			st, _ := agent.ReadState(filepath.Join(h.stateDir, agent.StateFileName))
			if strings.Contains(string(b), st.LastScan.ReportID) || strings.Contains(string(b), h.stateDir) {
				t.Errorf("the public summary holds the report id or the state folder:\n%s", b)
			}

			bin := publicCopy(t, pubDir)
			w := filepath.Join(pubDir, "avscout-wrapper")
			if err := os.WriteFile(w, []byte("#!/bin/sh\nexec '"+bin+"' \"$@\" --public-file '"+pub+"'\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			script := kitScript(t, "intune/compliance-discovery.sh", "AVSCOUT=/usr/bin/avscout", w)
			copyTo := filepath.Join(pubDir, "discovery.sh")
			sb, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copyTo, sb, 0o755); err != nil {
				t.Fatal(err)
			}
			var prefix []string
			if os.Geteuid() == 0 {
				// As nobody: the private state is out of reach.
				prefix = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}
				if _, err := exec.LookPath("setpriv"); err != nil {
					t.Fatal("setpriv (util-linux) not found")
				}
			}
			out, code := runSh(t, copyTo, prefix...)
			if code != 0 || out != tc.want {
				t.Errorf("discovery: exit %d, %q; want 0, %q", code, out, tc.want)
			}
		})
	}
	// Without the service's summary the user-run check says Error.
	out, stderr, code := avscout(t, "status", "--format", "intune-compliance", "--public-file", filepath.Join(t.TempDir(), "none.json"))
	if code != 0 || stderr != "" || !strings.Contains(out, `"ScanStatus":"Error"`) {
		t.Errorf("no summary: exit %d, %q, stderr %q", code, out, stderr)
	}
}

// publicDir is a temporary folder every user may enter (t.TempDir is
// private to the test's user).
func publicDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/" && strings.HasPrefix(p, os.TempDir()); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// publicCopy copies the agent binary into dir, executable by everyone.
func publicCopy(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "avscout-bin")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// statusDoc is what `avscout status --format json` prints, for the tests
// that read it.
type statusDoc = status.Doc

// `avscout status` tells an incomplete last scan apart from a compliant
// one, in the table and in JSON, also for a state an older agent wrote
// (whose verdict is derived from its failed sources).
func TestStatusShowsTheVerdict(t *testing.T) {
	dpkgtest.Require(t)
	for _, tc := range []struct {
		name    string
		host    mdmHost
		verdict string
		table   string // the Result line, after its label
	}{
		{"incomplete", scannedHost(t, incompleteRoot(t)), "incomplete", "INCOMPLETE: no restricted product found, but source(s) could not look: dpkg"},
		{"compliant", scannedHost(t, compliantRoot(t)), "compliant", "compliant, 1 product(s)"},
		{"old-state", stateHost(t, &agent.ScanState{At: time.Now().UTC(), ReportID: "r1", Compliant: true, Products: 2,
			Restricted: []string{}, FailedSources: []string{"units", "rpm"}}), "incomplete",
			"INCOMPLETE: no restricted product found, but source(s) could not look: units, rpm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := avscout(t, "status", "--config", tc.host.cfg, "--format", "json")
			if code != 0 {
				t.Fatalf("status json: exit %d: %s", code, stderr)
			}
			var doc statusDoc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.LastScan == nil || doc.LastScan.Verdict != tc.verdict || doc.LastScan.Compliant != (tc.verdict == "compliant") {
				t.Errorf("status json last scan %+v, want verdict %s", doc.LastScan, tc.verdict)
			}
			table, _, _ := avscout(t, "status", "--config", tc.host.cfg)
			if !regexp.MustCompile(`(?m)^Result: +` + regexp.QuoteMeta(tc.table) + `$`).MatchString(table) {
				t.Errorf("status table lacks the result %q:\n%s", tc.table, table)
			}
		})
	}
}
