//go:build linux

package main

// End-to-end tests of the Windows agent: the real avscout.exe, cross-
// compiled, scans Wine prefixes set up like Windows hosts — registry
// fixtures imported into both views and a user hive, services registered
// with sc.exe and started through the service control manager, fake
// security executables running under their real names and folders — and
// its JSON report is checked and compared with testdata/golden/windows-*.
//
// Wine 8 and the mingw-w64 cross compiler are required: without them the
// test fails, so CI cannot pass without running it (scripts/install-deps.sh
// installs both). See scripts/wine-prefix.sh and
// shared/reference/testing-on-linux.md §1 for the Wine facts used here.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/avscout/avscout/internal/detect/pe/petest"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
	"github.com/avscout/avscout/internal/winetest"
)

// winFixtures holds what every scenario shares: the binaries and a
// template prefix each scenario copies.
type winFixtures struct {
	avscout, fakeav, template string
}

// wineSetup is what setupWine made, once per run of the test binary: the
// Windows binaries and the template prefix are shared by every test that
// runs Windows programs.
var wineSetup struct {
	once sync.Once
	fx   winFixtures
	err  string // why setup failed, reported to every caller
}

// setupWine builds avscout.exe and the fake security executable and
// makes the template prefix, the first time it is called in a run, and
// returns them.
func setupWine(t *testing.T) winFixtures {
	t.Helper()
	wineSetup.once.Do(func() { wineSetup.fx, wineSetup.err = buildWine() })
	if wineSetup.err != "" {
		t.Fatal(wineSetup.err)
	}
	return wineSetup.fx
}

func buildWine() (winFixtures, string) {
	if missing := winetest.Missing(); len(missing) > 0 {
		return winFixtures{}, fmt.Sprintf("the Windows end-to-end test needs Wine and mingw-w64 (missing: %s): CI must install them "+
			"(scripts/install-deps.sh does: apt-get install wine wine64 gcc-mingw-w64-x86-64-win32)", strings.Join(missing, ", "))
	}
	dir, err := os.MkdirTemp(testDir, "windows-")
	if err != nil {
		return winFixtures{}, err.Error()
	}
	fx := winFixtures{avscout: filepath.Join(dir, "avscout.exe"), fakeav: filepath.Join(dir, "fakeav.exe")}
	for out, pkg := range map[string]string{fx.avscout: ".", fx.fakeav: "./testdata/fakeav"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			return winFixtures{}, fmt.Sprintf("build %s for Windows: %v\n%s", pkg, err, b)
		}
	}
	// One prefix is booted (wineboot takes 10-50 s) and kept in the
	// repository's .cache; each scenario works on a copy of it.
	repo, err := filepath.Abs("../..")
	if err != nil {
		return winFixtures{}, err.Error()
	}
	fx.template = filepath.Join(repo, ".cache", "wine", "e2e-template")
	mk := exec.Command(filepath.Join(repo, "scripts", "wine-prefix.sh"), fx.template)
	if b, err := mk.CombinedOutput(); err != nil {
		return winFixtures{}, fmt.Sprintf("scripts/wine-prefix.sh: %v\n%s", err, b)
	}
	return fx, ""
}

// winHost is one scenario's Wine prefix.
type winHost struct {
	*winetest.Prefix
	t     *testing.T
	fx    winFixtures
	procs []*exec.Cmd
}

func newWinHost(t *testing.T, fx winFixtures) *winHost {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "prefix")
	// A plain copy: hard links would share system.reg, which wineserver
	// rewrites in place.
	if b, err := exec.Command("cp", "-a", fx.template, prefix).CombinedOutput(); err != nil {
		t.Fatalf("copy the template prefix: %v\n%s", err, b)
	}
	w := &winHost{Prefix: winetest.Start(t, prefix), t: t, fx: fx}
	t.Cleanup(w.close)
	return w
}

// exit runs a command as Output does and returns its exit code; a
// command that could not run at all fails the test.
func (w *winHost) exit(name string, args ...string) (stdout, stderr []byte, code int) {
	w.t.Helper()
	stdout, stderr, err := w.Output(w.Cmd(name, args...))
	if ee, ok := err.(*exec.ExitError); ok {
		return stdout, stderr, ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return stdout, stderr, 0
}

// wine runs a Windows program to completion and fails the test on error.
func (w *winHost) wine(args ...string) string {
	w.t.Helper()
	out, errOut, err := w.Output(w.Cmd("wine", args...))
	if err != nil {
		w.t.Fatalf("wine %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return string(out)
}

func (w *winHost) close() {
	for _, c := range w.procs {
		c.Process.Kill()
	}
	// Both fail when no wineserver runs, which is what close wants anyway.
	_ = w.Cmd("wineserver", "-k").Run()
	for _, c := range w.procs {
		c.Wait()
	}
	_ = w.Cmd("wineserver", "-w").Run()
}

// file creates a file at a C:\ path: a copy of the fake executable (a
// real PE image) for .exe and .sys names, else the given content.
func (w *winHost) file(winPath, content string) {
	w.t.Helper()
	data := []byte(content)
	if ext := strings.ToLower(filepath.Ext(winPath)); ext == ".exe" || ext == ".sys" {
		var err error
		if data, err = os.ReadFile(w.fx.fakeav); err != nil {
			w.t.Fatal(err)
		}
	}
	w.put(winPath, data)
}

// The version resources of the programs the scenarios run, which name
// their makers as every vendor's build does.
var (
	// The brand's build of the engine: its version resource names the
	// brand, as OEM builds do.
	hearthwardEngine = petest.Version{CompanyName: "Hearthward Labs", ProductName: "Hearthward Home Guard",
		FileDescription: "Hearthward Home Guard", FileVersion: "21.3.10.391", ProductVersion: "21.3.10.391", OriginalFilename: "avp.exe"}
	// MsMpEng.exe describes itself as Microsoft's "Antimalware Service
	// Executable".
	defenderEngine = petest.Version{CompanyName: "Microsoft Corporation", ProductName: "Microsoft® Windows® Operating System",
		FileDescription: "Antimalware Service Executable", FileVersion: "4.18.24090.11", ProductVersion: "4.18.24090.11", OriginalFilename: "MsMpEng.exe"}
)

// program writes the fake program to a C:\ path with the version
// resource v, as every vendor's build carries one, and starts it.
func (w *winHost) program(winPath string, v petest.Version) {
	w.t.Helper()
	b, err := os.ReadFile(w.fx.fakeav)
	if err != nil {
		w.t.Fatal(err)
	}
	if b, err = petest.WithVersion(b, v); err != nil {
		w.t.Fatal(err)
	}
	w.put(winPath, b)
	w.start(winPath)
}

// put writes data to a C:\ path, making its folders.
func (w *winHost) put(winPath string, data []byte) {
	w.t.Helper()
	p := w.Local(winPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o755); err != nil {
		w.t.Fatal(err)
	}
}

// importReg imports testdata/windows/NAME.reg into the 64-bit view and
// NAME-32.reg, when present, into the 32-bit view, re-encoded as the
// UTF-16LE regedit writes (Wine reads hex(2) data of an ASCII file as ANSI).
func (w *winHost) importReg(name string) {
	w.t.Helper()
	found := false
	for _, v := range []struct{ file, view string }{{name + ".reg", "/reg:64"}, {name + "-32.reg", "/reg:32"}} {
		text, err := os.ReadFile(filepath.Join("testdata", "windows", v.file))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			w.t.Fatal(err)
		}
		found = true
		w.importRegText(v.file, string(text), v.view)
	}
	if !found {
		w.t.Fatalf("no fixture testdata/windows/%s.reg", name)
	}
}

// importRegText imports .reg text into the registry view ("/reg:64" or
// "/reg:32") through Wine's reg.exe, as UTF-16, the encoding regedit
// exports.
func (w *winHost) importRegText(file, text, view string) {
	w.t.Helper()
	u := utf16.Encode([]rune(text))
	b := []byte{0xff, 0xfe}
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	tmp := filepath.Join(w.Dir, "drive_c", "import-"+file)
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
	// Wine's reg.exe has failed an import now and then on a loaded
	// machine, with exit status 1 and no message; an import is
	// idempotent, so a failed one is tried again.
	for try := 1; ; try++ {
		out, errOut, err := w.Output(w.Cmd("wine", "reg", "import", `C:\import-`+file, view))
		if err == nil {
			break
		}
		if try == 3 {
			w.t.Fatalf("wine reg import %s %s (%d tries): %v\n%s%s", file, view, try, err, out, errOut)
		}
		w.t.Logf("wine reg import %s %s: %v (%s%s); trying again", file, view, err, out, errOut)
		time.Sleep(time.Second)
	}
	os.Remove(tmp)
}

// service registers a demand-start service running exe as a Windows
// service (the fake answers the SCM), and starts it when start is true.
// Demand start matters: an auto-start service whose binary is no real
// service makes every wineserver start wait 10 s.
func (w *winHost) service(name, display, exe string, start bool) {
	w.t.Helper()
	w.file(exe, "")
	w.register(name, display, exe, start)
}

// register is service for an exe already in place.
func (w *winHost) register(name, display, exe string, start bool) {
	w.t.Helper()
	w.wine("sc", "create", name, "binpath=", fmt.Sprintf(`"%s" -service %s`, exe, name), "displayname=", display, "start=", "demand")
	if start {
		w.wine("sc", "start", name)
		w.waitRunning(name)
	}
}

func (w *winHost) waitRunning(name string) {
	w.t.Helper()
	for i := 0; ; i++ {
		out, _, _ := w.Output(w.Cmd("wine", "sc", "query", name))
		if strings.Contains(string(out), "RUNNING") {
			return
		}
		if i == 50 {
			w.t.Fatalf("service %s did not start:\n%s", name, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run starts exe (copied from the fake) as a process that runs until the
// scenario ends, and waits until it does run.
func (w *winHost) run(exe string) {
	w.t.Helper()
	w.file(exe, "")
	w.start(exe)
}

// start is run for an exe already in place.
func (w *winHost) start(exe string) {
	w.t.Helper()
	ready := fmt.Sprintf(`C:\ready-%d`, len(w.procs))
	c := w.Cmd("wine", exe, "-ready", ready) // output to /dev/null: no pipes
	if err := c.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.procs = append(w.procs, c)
	for i := 0; ; i++ {
		if _, err := os.Stat(w.Local(ready)); err == nil {
			return
		}
		if i == 100 {
			w.t.Fatalf("%s did not start", exe)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scan runs `wine avscout.exe scan --format json --fail-on restricted`,
// checks the exit code and the schema, and returns the report.
func (w *winHost) scan(wantCode int) (*report.Report, []byte) {
	w.t.Helper()
	args := []string{w.fx.avscout, "scan", "--format", "json", "--fail-on", "restricted"}
	out, errOut, code := w.exit("wine", args...)
	if len(out) == 0 && len(errOut) == 0 && code != 0 {
		// Once in several hundred runs on a loaded CI machine, Wine ends
		// the process before it writes a byte (exit 5: an access violation
		// Wine reports modulo 256; Go's own crash handler would have
		// printed a trace). Such a run says nothing about the scan: it is
		// run again, once, and a second silent failure fails the test.
		w.t.Logf("avscout.exe exited %d without a word; running it again", code)
		out, errOut, code = w.exit("wine", args...)
	}
	stdout, stderr := bytes.NewBuffer(out), bytes.NewBuffer(errOut)
	// A Windows binary Wine cannot run exits 0 without a word (no 32-bit
	// Wine, a missing DLL): only the output proves the scan ran.
	if stdout.Len() == 0 {
		w.t.Fatalf("avscout.exe printed nothing (exit %d); stderr:\n%s", code, stderr.String())
	}
	if code != wantCode {
		w.t.Errorf("avscout.exe exit %d, want %d; stderr:\n%s", code, wantCode, stderr.String())
	}
	if err := schema.Validate(stdout.Bytes()); err != nil {
		w.t.Fatalf("report does not match the schema: %v\n%s", err, stdout.String())
	}
	var r report.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		w.t.Fatal(err)
	}
	for _, s := range r.Sources {
		// Wine has no WMI: Security Center must say unavailable, not fail.
		if s.Name == "securitycenter" && s.Status == "unavailable" {
			continue
		}
		if s.Status != "ok" {
			w.t.Errorf("source %s: %s %s", s.Name, s.Status, s.Error)
		}
	}
	if s := sourceStatus(&r, "securitycenter"); s.Status != "unavailable" {
		w.t.Errorf("securitycenter under Wine: %+v, want unavailable", s)
	}
	if r.Host.OS != "windows" || !strings.Contains(r.Host.OSVersion, "Windows") {
		w.t.Errorf("host %+v", r.Host)
	}
	return &r, stdout.Bytes()
}

var (
	pidRE     = regexp.MustCompile(`\(pid \d+\)`)
	processRE = regexp.MustCompile(`process \d+`)
	writtenRE = regexp.MustCompile(`entry written \d{4}-\d\d-\d\d`)
)

// redactWindows replaces what changes from run to run in a report of a
// Wine prefix: ids, times, the Linux hostname, Wine's process ids, and the
// number of Wine's own processes.
func redactWindows(t *testing.T, doc []byte) []byte {
	t.Helper()
	doc = pidRE.ReplaceAll(doc, []byte("(pid N)"))
	doc = processRE.ReplaceAll(doc, []byte("process N"))
	doc = writtenRE.ReplaceAll(doc, []byte("entry written DATE"))
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	m["report_id"], m["generated_at"], m["duration_ms"] = "REDACTED", "REDACTED", 0
	m["agent"].(map[string]any)["version"] = "REDACTED"
	h := m["host"].(map[string]any)
	h["id"], h["hostname"] = "REDACTED", "REDACTED"
	for _, s := range m["sources"].([]any) {
		s := s.(map[string]any)
		s["duration_ms"] = 0
		switch s["name"] {
		case "processes":
			s["items"] = 0 // Wine starts helper processes of its own
		case "pe":
			// pe examines every executable anything points at: its count
			// was 2 in every scenario, the clean host too, so it counts
			// Wine's own helper executables, of which one sometimes is not
			// running yet on a loaded machine.
			s["items"] = 0
		}
	}
	for _, p := range m["products"].([]any) {
		ev := p.(map[string]any)["evidence"].([]any)
		slices.SortFunc(ev, func(a, b any) int {
			x, _ := json.Marshal(a)
			y, _ := json.Marshal(b)
			return bytes.Compare(x, y)
		})
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func checkWindowsGolden(t *testing.T, name string, doc []byte) {
	t.Helper()
	got := redactWindows(t, doc)
	file := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/agent -run Wine -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (rerun with -update if the change is intended):\n%s", file, diff(string(want), string(got)))
	}
}

// hasEvidence reports whether p has evidence from source whose value
// contains s.
func hasEvidence(p report.Product, source, s string) bool {
	return slices.ContainsFunc(p.Evidence, func(e report.Evidence) bool {
		return e.Source == source && strings.Contains(e.Value, s)
	})
}

const (
	kesDir     = `C:\Program Files (x86)\Kaspersky Lab\KES.12.1.0`
	naDir      = `C:\Program Files (x86)\Kaspersky Lab\NetworkAgent`
	ktsDir     = `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3`
	driversDir = `C:\windows\system32\drivers`
)

func TestWindowsUnderWine(t *testing.T) {
	start := time.Now()
	fx := setupWine(t)
	t.Logf("setup (builds, template prefix): %s", time.Since(start).Round(time.Millisecond))

	for _, sc := range []struct {
		name  string
		setup func(w *winHost)
		code  int
		check func(t *testing.T, r *report.Report)
	}{{
		name: "kes-active",
		setup: func(w *winHost) {
			w.importReg("kes")
			w.file(driversDir+`\klif.sys`, "MZ not really a driver")
			w.file(kesDir+`\avpui.exe`, "")
			w.service("AVP", "Kaspersky Endpoint Security Service", kesDir+`\avp.exe`, true)
		},
		code: 1,
		check: func(t *testing.T, r *report.Report) {
			p, ok := product(r, "kaspersky-endpoint-security-windows")
			if !ok || p.State != "active" || !p.Restricted || p.WhiteLabel || p.Version != "12.1.0.506" || p.Confidence != "high" || r.Compliant {
				t.Errorf("KES: %+v (found %v), compliant %v", p, ok, r.Compliant)
			}
			for _, want := range [][2]string{
				{"uninstall", "Kaspersky Endpoint Security for Windows 12.1.0.506 (AO Kaspersky Lab)"},
				{"vendorkeys", "bases 2024-09-28"},
				{"services", `service AVP "Kaspersky Endpoint Security Service"`},
				{"services", "running"},
				{"services", "driver klif"},
				{"services", "altitude 320400"},
				{"processes", `KES.12.1.0\avp.exe`},
			} {
				if !hasEvidence(p, want[0], want[1]) {
					t.Errorf("KES lacks %s evidence %q: %+v", want[0], want[1], p.Evidence)
				}
			}
			if len(r.Products) != 1 {
				t.Errorf("products %v", productIDs(r))
			}
		},
	}, {
		name: "network-agent-only",
		setup: func(w *winHost) {
			w.importReg("netagent")
			w.service("klnagent", "Kaspersky Security Center Network Agent", naDir+`\klnagent.exe`, false)
			w.run(naDir + `\klnagent.exe`)
		},
		code: 1,
		check: func(t *testing.T, r *report.Report) {
			p, ok := product(r, "kaspersky-network-agent")
			if !ok || p.State != "active" || !p.Restricted || p.Category != "management-agent" {
				t.Errorf("Network Agent: %+v (found %v)", p, ok)
			}
			if !hasEvidence(p, "uninstall", "14.0.0.10902") || !hasEvidence(p, "vendorkeys", `WOW6432Node\KasperskyLab\Components\34\1103`) {
				t.Errorf("Network Agent evidence: %+v", p.Evidence)
			}
			if _, ok := product(r, "kaspersky-endpoint-security-windows"); ok || len(r.Products) != 1 {
				t.Errorf("products %v", productIDs(r))
			}
		},
	}, {
		name: "consumer-32bit",
		setup: func(w *winHost) {
			w.importReg("consumer")
			w.file(ktsDir+`\avp.exe`, "")
			w.file(ktsDir+`\avpui.exe`, "")
		},
		code: 1,
		check: func(t *testing.T, r *report.Report) {
			p, ok := product(r, "kaspersky-total-security")
			if !ok || p.State != "installed" || !p.Restricted || p.Version != "21.3.10.391" {
				t.Errorf("Total Security: %+v (found %v)", p, ok)
			}
			if !slices.ContainsFunc(p.Evidence, func(e report.Evidence) bool {
				return e.Source == "uninstall" && strings.HasPrefix(e.Location, `HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\`)
			}) {
				t.Errorf("the 32-bit uninstall entry is not in the evidence: %+v", p.Evidence)
			}
			if !hasEvidence(p, "services", "AVP21.3") {
				t.Errorf("the AVP21.3 service is not in the evidence: %+v", p.Evidence)
			}
		},
	}, {
		name: "per-user",
		setup: func(w *winHost) {
			w.importReg("peruser")
			w.file(`C:\users\Public\AppData\Local\Programs\Kaspersky VPN 21.16\ksde.exe`, "")
		},
		code: 1,
		check: func(t *testing.T, r *report.Report) {
			p, ok := product(r, "kaspersky-vpn-secure-connection")
			if !ok || p.State != "installed" || !p.Restricted {
				t.Errorf("per-user VPN: %+v (found %v)", p, ok)
			}
			if !slices.ContainsFunc(p.Evidence, func(e report.Evidence) bool {
				return strings.HasPrefix(e.Location, `HKU\S-1-5-21-`) && strings.HasSuffix(e.Location, `\Uninstall\KasperskyVPN`)
			}) {
				t.Errorf("evidence does not point into the user's hive: %+v", p.Evidence)
			}
		},
	}, {
		name: "white-label",
		setup: func(w *winHost) {
			w.importReg("whitelabel")
			w.file(`C:\Program Files\Hearthward\uninstall.exe`, "")
			w.program(`C:\Program Files\Hearthward\avp.exe`, hearthwardEngine)
		},
		code: 1,
		check: func(t *testing.T, r *report.Report) {
			if len(r.Products) != 1 {
				t.Fatalf("products %v", productIDs(r))
			}
			p := r.Products[0]
			if p.Name != "Hearthward Home Guard" || p.Vendor != "Hearthward Labs" || !p.WhiteLabel || !p.Restricted || p.State != "active" || r.Compliant {
				t.Errorf("white-labelled build: %+v", p)
			}
			if !hasEvidence(p, "processes", `C:\Program Files\Hearthward\avp.exe`) {
				t.Errorf("the engine that gave it away is not in the evidence: %+v", p.Evidence)
			}
		},
	}, {
		name: "leftovers",
		setup: func(w *winHost) {
			w.importReg("leftovers")
			w.file(`C:\ProgramData\Kaspersky Lab\AVP21.3\Data\settings.dat`, "x")
		},
		code: 0,
		check: func(t *testing.T, r *report.Report) {
			if !r.Compliant || len(r.Products) == 0 {
				t.Fatalf("leftovers: compliant %v, products %v", r.Compliant, productIDs(r))
			}
			for _, p := range r.Products {
				if p.State != "leftover" || !p.Restricted {
					t.Errorf("%s: state %s restricted %v, want a restricted leftover", p.ID, p.State, p.Restricted)
				}
			}
			all := slices.Concat(evidenceOf(r)...)
			for _, want := range []string{"image missing", `C:\ProgramData\Kaspersky Lab`, `HKLM\SOFTWARE\WOW6432Node\KasperskyLab`, "(folder missing); bases 2024-09-18"} {
				if !slices.ContainsFunc(all, func(e report.Evidence) bool { return strings.Contains(e.Value, want) }) {
					t.Errorf("no evidence shows %q", want)
				}
			}
		},
	}, {
		name: "ultraav-migrated",
		setup: func(w *winHost) {
			w.importReg("ultraav")
			w.importReg("leftovers")
			w.file(`C:\ProgramData\Kaspersky Lab\AVP21.3\Data\settings.dat`, "x")
			w.run(`C:\Program Files\UltraAV\UltraAV.exe`)
		},
		code: 0,
		check: func(t *testing.T, r *report.Report) {
			// UltraAV.exe runs from UltraAV's install folder: active.
			u, ok := product(r, "ultraav")
			if !ok || u.Restricted || u.WhiteLabel || u.State != "active" {
				t.Errorf("UltraAV: %+v (found %v)", u, ok)
			}
			if !r.Compliant {
				t.Error("UltraAV with Kaspersky leftovers reported non-compliant")
			}
			var left int
			for _, p := range r.Products {
				if p.Restricted {
					left++
					if p.State != "leftover" {
						t.Errorf("%s: %s, want leftover", p.ID, p.State)
					}
				}
			}
			if left == 0 {
				t.Errorf("Kaspersky leftovers not reported beside UltraAV: %v", productIDs(r))
			}
		},
	}, {
		name: "defender-crowdstrike",
		setup: func(w *winHost) {
			w.importReg("defender-crowdstrike")
			w.file(driversDir+`\CrowdStrike\CSAgent.sys`, "MZ")
			w.program(`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, defenderEngine)
		},
		code: 0,
		check: func(t *testing.T, r *report.Report) {
			d, ok := product(r, "microsoft-defender-antivirus")
			if !ok || d.State != "active" || d.Restricted {
				t.Errorf("Defender: %+v (found %v)", d, ok)
			}
			c, ok := product(r, "crowdstrike-falcon")
			if !ok || c.State != "installed" || c.Restricted || c.Confidence != "high" {
				t.Errorf("CrowdStrike: %+v (found %v)", c, ok)
			}
			if !r.Compliant || len(r.Products) != 2 {
				t.Errorf("products %v compliant %v", productIDs(r), r.Compliant)
			}
		},
	}, {
		name:  "clean",
		setup: func(w *winHost) {},
		code:  0,
		check: func(t *testing.T, r *report.Report) {
			if len(r.Products) != 0 || !r.Compliant {
				t.Errorf("false positives on a clean Wine prefix: %v", productIDs(r))
			}
			for _, name := range []string{"uninstall", "vendorkeys", "services", "paths", "processes"} {
				if s := sourceStatus(r, name); s.Status != "ok" {
					t.Errorf("source %s: %+v", name, s)
				}
			}
			if s := sourceStatus(r, "services"); s.Items < 10 {
				t.Errorf("services source saw %d of Wine's own services", s.Items)
			}
		},
	}} {
		t.Run(sc.name, func(t *testing.T) {
			began := time.Now()
			w := newWinHost(t, fx)
			sc.setup(w)
			ready := time.Now()
			r, doc := w.scan(sc.code)
			t.Logf("setup %s, scan %s (agent: %d ms)", ready.Sub(began).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond), r.DurationMS)
			sc.check(t, r)
			checkWindowsGolden(t, "windows-"+sc.name, doc)
		})
	}
	t.Logf("Wine end-to-end: %s", time.Since(start).Round(time.Millisecond))
}

func evidenceOf(r *report.Report) [][]report.Evidence {
	var out [][]report.Evidence
	for _, p := range r.Products {
		out = append(out, p.Evidence)
	}
	return out
}

// TestWindowsUnderWinePerformance measures a live scan of a host the size
// of a typical Windows machine: hundreds of uninstall entries (both views
// and a user hive), hundreds of services and drivers, and many processes.
// It only logs the figures, since timings on a shared 2-core machine say
// little; run it with AVSCOUT_WINE_PERF=1, or =APPS,SERVICES,PROCESSES for
// another size than the default 600 uninstall entries, 500 services and
// drivers (besides Wine's own) and 60 processes. AVSCOUT_WINE_PERF_RUNS
// sets the number of scans (7), AVSCOUT_WINE_PERF_BASELINE another
// avscout.exe to take turns with, AVSCOUT_WINE_PERF_ALONE=0 skips the
// scans of one source at a time, and AVSCOUT_WINE_PERF_TRACE=1 adds the
// count of wineserver requests per source, which unlike a duration does
// not depend on the machine's load.
func TestWindowsUnderWinePerformance(t *testing.T) {
	size := os.Getenv("AVSCOUT_WINE_PERF")
	if size == "" {
		t.Skip("set AVSCOUT_WINE_PERF=1 to measure a scan of a large Wine host")
	}
	apps, services, procs := 600, 500, 60
	if size != "1" {
		if _, err := fmt.Sscanf(size, "%d,%d,%d", &apps, &services, &procs); err != nil {
			t.Fatalf("AVSCOUT_WINE_PERF=%q: want 1 or APPS,SERVICES,PROCESSES", size)
		}
	}
	fx := setupWine(t)
	w := newWinHost(t, fx)
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\n\n")
	for i := range apps {
		root := `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
		switch i % 3 {
		case 1:
			root = `HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`
		case 2:
			root = `HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Uninstall`
		}
		fmt.Fprintf(&b, "[%s\\{%08X-0000-4000-8000-000000000000}]\n\"DisplayName\"=\"Application %d\"\n\"Publisher\"=\"Vendor %d\"\n"+
			"\"DisplayVersion\"=\"%d.0.%d\"\n\"InstallLocation\"=\"C:\\\\Program Files\\\\Vendor %d\\\\App %d\"\n\"InstallDate\"=\"20240101\"\n"+
			"\"UninstallString\"=\"MsiExec.exe /X{%08X-0000-4000-8000-000000000000}\"\n\n", root, i, i, i%40, i%9, i, i%40, i, i)
	}
	for i := range services {
		kind, image := 0x10, fmt.Sprintf(`"C:\\Program Files\\Vendor %d\\svc%d.exe" -k`, i%40, i)
		if i%2 == 1 {
			kind, image = 1, fmt.Sprintf(`\\SystemRoot\\System32\\drivers\\drv%d.sys`, i)
		}
		fmt.Fprintf(&b, "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Svc%d]\n\"Type\"=dword:%08x\n\"Start\"=dword:00000003\n"+
			"\"ImagePath\"=\"%s\"\n\"DisplayName\"=\"Service %d\"\n\n", i, kind, strings.ReplaceAll(image, `\`, `\\`), i)
	}
	w.importRegText("perf.reg", b.String(), "/reg:64")
	w.importReg("kes")
	startProcs := func() {
		for i := range procs {
			w.run(fmt.Sprintf(`C:\Program Files\Vendor %d\proc%d.exe`, i%40, i))
		}
		w.run(kesDir + `\avp.exe`)
	}
	startProcs()
	t.Logf("host: %d uninstall entries, %d services and drivers besides Wine's, %d processes besides Wine's", apps, services, procs+1)
	runs := 7
	if n, err := strconv.Atoi(os.Getenv("AVSCOUT_WINE_PERF_RUNS")); err == nil && n > 0 {
		runs = n
	}
	// Another build to compare with, on the same host: the two take turns,
	// so that both see the same load.
	exes, labels := []string{fx.avscout}, []string{"this build"}
	if base := os.Getenv("AVSCOUT_WINE_PERF_BASELINE"); base != "" {
		exes, labels = []string{base, fx.avscout}, []string{"baseline", "this build"}
	}
	total := make([][]int64, len(exes))
	perSource := make([]map[string][]int64, len(exes))
	for j := range exes {
		perSource[j] = map[string][]int64{}
	}
	for range runs {
		for j, exe := range exes {
			r := w.scanWith(exe)
			total[j] = append(total[j], r.DurationMS)
			var per []string
			for _, s := range r.Sources {
				per = append(per, fmt.Sprintf("%s %d ms (%d items)", s.Name, s.DurationMS, s.Items))
				perSource[j][s.Name] = append(perSource[j][s.Name], s.DurationMS)
			}
			t.Logf("%s: scan %d ms: %s", labels[j], r.DurationMS, strings.Join(per, ", "))
		}
	}
	median := func(ms []int64) int64 { slices.Sort(ms); return ms[len(ms)/2] }
	for j := range exes {
		var per []string
		for name, ms := range perSource[j] {
			per = append(per, fmt.Sprintf("%s %d", name, median(ms)))
		}
		slices.Sort(per)
		ms := total[j]
		t.Logf("%s: median of %d scans %d ms (min %d, max %d); per source, median ms: %s", labels[j], len(ms), median(ms), ms[0], ms[len(ms)-1], strings.Join(per, ", "))
	}
	// Each source alone: under Wine they all queue on one wineserver.
	alone := []string{"uninstall", "vendorkeys", "services", "paths", "processes"}
	if os.Getenv("AVSCOUT_WINE_PERF_ALONE") == "0" {
		alone = nil
	}
	for _, src := range alone {
		for j, exe := range exes {
			var ms []int64
			for range 3 {
				r := w.scanWith(exe, "--sources", src)
				// The source, and pe after it when it points at executables.
				i := slices.IndexFunc(r.Sources, func(s report.Source) bool { return s.Name == src })
				if i < 0 {
					t.Fatalf("scan --sources %s: sources %+v", src, r.Sources)
				}
				ms = append(ms, r.Sources[i].DurationMS)
			}
			t.Logf("%s: %s alone: %d ms (median of 3)", labels[j], src, median(ms))
		}
	}
	if os.Getenv("AVSCOUT_WINE_PERF_TRACE") != "" {
		w.countServerRequests(exes, labels, []string{"uninstall", "vendorkeys", "services", "paths", "processes"}, startProcs)
	}
}

// scanWith runs a JSON scan with the avscout.exe at exe and returns its
// report.
func (w *winHost) scanWith(exe string, args ...string) *report.Report {
	w.t.Helper()
	out, errOut, err := w.Output(w.Cmd("wine", append([]string{exe, "scan", "--format", "json"}, args...)...))
	var r report.Report
	if _, exit := err.(*exec.ExitError); err != nil && !exit || json.Unmarshal(out, &r) != nil {
		w.t.Fatalf("%s scan %q: %v\n%s", exe, args, err, errOut)
	}
	return &r
}

// countServerRequests logs how many wineserver requests (registry, handle,
// process …) each source alone makes, and how many of them are registry
// requests (open_key, enum_key, get_key_value …: one per registry call
// avscout makes, but for closing keys, which is a close_handle): counts
// that, unlike a duration, do not depend on what else the machine is
// doing. The server is
// restarted with request tracing (wineserver -d1), the processes started
// again, and a run of `avscout
// version` gives the cost of starting the program, which is subtracted.
func (w *winHost) countServerRequests(exes, labels, sources []string, restart func()) {
	w.t.Helper()
	for _, c := range w.procs { // the processes die with the server
		c.Process.Kill()
	}
	// Both fail when no wineserver runs, which is what is wanted anyway.
	_ = w.Cmd("wineserver", "-k").Run()
	for _, c := range w.procs {
		c.Wait()
	}
	w.procs = nil
	_ = w.Cmd("wineserver", "-w").Run()
	trace := filepath.Join(w.t.TempDir(), "trace")
	f, err := os.Create(trace)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	srv := w.Cmd("wineserver", "-f", "-p", "-d1")
	srv.Stderr = f
	if err := srv.Start(); err != nil {
		w.t.Fatal(err)
	}
	defer func() {
		_ = w.Cmd("wineserver", "-k").Run() // fails only when the server is gone already
		srv.Wait()
	}()
	time.Sleep(time.Second) // the server's socket
	restart()
	req := regexp.MustCompile(`^[0-9a-f]{4}: ([a-z_]+)\(`)
	const registry = "registry requests" // not a request's name: no spaces there
	count := func(exe string, args ...string) map[string]int {
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			w.t.Fatal(err)
		}
		if out, errOut, err := w.Output(w.Cmd("wine", append([]string{exe}, args...)...)); err != nil {
			w.t.Fatalf("wine %s %s: %v\n%s%s", exe, strings.Join(args, " "), err, out, errOut)
		}
		time.Sleep(200 * time.Millisecond) // let the trace of the exit land
		b, err := os.ReadFile(trace)
		if err != nil {
			w.t.Fatal(err)
		}
		n := map[string]int{}
		for _, line := range strings.Split(string(b[off:]), "\n") {
			if m := req.FindStringSubmatch(line); m != nil && !strings.Contains(line, ") = ") {
				n[m[1]]++
				n[""]++
				if strings.Contains(m[1], "_key") || strings.Contains(m[1], "registry") {
					n[registry]++ // open_key, enum_key, get_key_value, enum_key_value …
				}
			}
		}
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			w.t.Fatal(err)
		}
		return n
	}
	count(exes[0], "version") // the first run starts Wine's services
	for j, exe := range exes {
		base := count(exe, "version")
		all, allReg := 0, 0
		for _, src := range sources {
			n := count(exe, "scan", "--format", "json", "--sources", src)
			var top []string
			for k, v := range n {
				if k != "" && k != registry && v-base[k] >= 50 {
					top = append(top, fmt.Sprintf("%s %d", k, v-base[k]))
				}
			}
			slices.Sort(top)
			all += n[""] - base[""]
			allReg += n[registry] - base[registry]
			w.t.Logf("%s: %s: %d wineserver requests, %d of them registry requests (%s)", labels[j], src, n[""]-base[""], n[registry]-base[registry], strings.Join(top, ", "))
		}
		n := count(exe, "scan", "--format", "json")
		w.t.Logf("%s: whole scan: %d wineserver requests, %d of them registry requests (the sources alone: %d, %d)", labels[j], n[""]-base[""], n[registry]-base[registry], all, allReg)
	}
}
