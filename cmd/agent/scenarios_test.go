//go:build linux

package main

// The scenario corpus of issue #12: hosts rebuilt from public facts —
// Kaspersky's package names, install trees, init scripts and uninstall
// scripts, Microsoft's allocated minifilter altitudes, Steam game files,
// Debian's look-alike packages — each described in one file under
// testdata/scenarios with the facts it rests on (and where they come
// from), how to lay the host out, and the verdict the rules of the issue
// give for it. TestScenarios builds every host, runs the real avscout on
// it (the Linux binary on a fixture root, the Windows binary under Wine
// with a real registry, services and processes), checks the report
// against the expectation and prints one table: "N of M scenarios right".
//
// The expectations follow the rules, not what avscout prints today: a
// scenario that fails tells what the matcher still gets wrong. Run one
// with -scenario REGEXP, keep the reports with -scenario-reports DIR; -v
// prints the table.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/report/schema"
)

var (
	scenarioFilter  = flag.String("scenario", "", "run only the corpus scenarios whose name matches this regular expression")
	scenarioReports = flag.String("scenario-reports", "", "write each corpus scenario's report to `DIR`/<name>.json")
)

// scenarioDir holds one YAML file per scenario, named <os>-<name>.yaml.
const scenarioDir = "testdata/scenarios"

// scenario is one host of the corpus.
type scenario struct {
	Name string `yaml:"-"` // the file name without .yaml

	OS string `yaml:"os"` // linux, windows or darwin
	// Decoy marks a host whose look-alikes must not make a restricted
	// product (games, tools, other vendors' drivers, residue).
	Decoy   bool   `yaml:"decoy"`
	Summary string `yaml:"summary"`
	Facts   []fact `yaml:"facts"`
	Setup   setup  `yaml:"setup"`
	Expect  expect `yaml:"expect"`
}

// fact is one public fact the scenario rests on and where it was read.
type fact struct {
	Fact   string `yaml:"fact"`
	Source string `yaml:"source"`
}

// Modes of running a scenario.
const (
	modeRoot    = "root"    // a fixture root scanned with --root (Linux, macOS)
	modeLive    = "live"    // real processes on this machine, scanned live (Linux)
	modeWine    = "wine"    // a Wine prefix, avscout.exe run inside it (Windows)
	modeOffline = "offline" // a Windows disk scanned from Linux with --root --os windows
)

// setup says how to lay the host out. Which fields apply depends on the
// OS; paths are absolute on the target ("/opt/…", `C:\…`).
type setup struct {
	Mode     string `yaml:"mode"`
	Hostname string `yaml:"hostname"`

	// Linux
	OSRelease   string       `yaml:"os_release"` // a name osReleases knows, or the file's text
	Dpkg        []dpkgPkg    `yaml:"dpkg"`
	Rpm         []rpmPkg     `yaml:"rpm"`
	Pacman      []pacmanPkg  `yaml:"pacman"`
	Units       []unitSpec   `yaml:"units"`
	InitScripts []initScript `yaml:"init_scripts"`

	// Every OS: files and folders, and (live Linux, Windows) the
	// executables to run.
	Files     []fileSpec `yaml:"files"`
	Processes []string   `yaml:"processes"`

	// Windows
	Registry   string        `yaml:"registry"`   // .reg text for the 64-bit view
	Registry32 string        `yaml:"registry32"` // .reg text for the 32-bit view, written without WOW6432Node
	Services   []serviceSpec `yaml:"services"`

	// macOS
	MacOS            string        `yaml:"macos"` // "14.2.1 23C71": version and build
	Apps             []appSpec     `yaml:"apps"`
	Receipts         []receiptSpec `yaml:"receipts"`
	LaunchDaemons    []jobSpec     `yaml:"launch_daemons"`
	LaunchAgents     []jobSpec     `yaml:"launch_agents"`
	SystemExtensions []sysextSpec  `yaml:"system_extensions"`
	Kexts            []kextSpec    `yaml:"kexts"`
}

// fileSpec is a file, folder or link on the target.
type fileSpec struct {
	Path string `yaml:"path"`
	// Kind: text (the default: Content), script (Content, executable),
	// elf (a real Linux executable), pe (a real Windows executable, with
	// Version and Signer), macho (a Mach-O executable signed by Team as
	// ID), dir, symlink (to Target).
	Kind    string     `yaml:"kind"`
	Content string     `yaml:"content"`
	Target  string     `yaml:"target"`
	Version *peVersion `yaml:"version"`
	Signer  string     `yaml:"signer"`  // pe: the organisation the signing certificate names
	Country string     `yaml:"country"` // pe: the signer's country, "US" when empty
	Team    string     `yaml:"team"`    // macho: Team ID, ad hoc when empty
	ID      string     `yaml:"id"`      // macho: signing identifier
}

// peVersion is a Windows executable's version resource.
type peVersion struct {
	Company          string `yaml:"company"`
	Product          string `yaml:"product"`
	Description      string `yaml:"description"`
	FileVersion      string `yaml:"file_version"`
	ProductVersion   string `yaml:"product_version"`
	OriginalFilename string `yaml:"original_filename"`
	Copyright        string `yaml:"copyright"`
}

type dpkgPkg struct {
	Name        string     `yaml:"name"`
	Version     string     `yaml:"version"`
	Arch        string     `yaml:"arch"`
	Maintainer  string     `yaml:"maintainer"`
	Description string     `yaml:"description"`
	Files       []fileSpec `yaml:"files"`
	Conffiles   []string   `yaml:"conffiles"`
	Removed     bool       `yaml:"removed"` // dpkg -r after installing: config-files with conffiles
}

type rpmPkg struct {
	Name     string     `yaml:"name"`
	Version  string     `yaml:"version"`
	Release  string     `yaml:"release"`
	Arch     string     `yaml:"arch"`
	Vendor   string     `yaml:"vendor"`
	Packager string     `yaml:"packager"`
	Summary  string     `yaml:"summary"`
	Files    []fileSpec `yaml:"files"` // also written under the root: rpm records them (--justdb)
}

// pacmanPkg is an entry of pacman's local database
// (var/lib/pacman/local/<name>-<version>/desc and files).
type pacmanPkg struct {
	Name     string     `yaml:"name"`
	Version  string     `yaml:"version"` // with the release: "12.4.0.1225-1"
	Desc     string     `yaml:"desc"`
	URL      string     `yaml:"url"`
	Arch     string     `yaml:"arch"`
	Packager string     `yaml:"packager"`
	License  string     `yaml:"license"`
	Depends  []string   `yaml:"depends"`
	Files    []fileSpec `yaml:"files"`
}

// unitSpec is a systemd unit file, enabled for multi-user.target or not.
type unitSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	ExecStart   string `yaml:"exec_start"`
	Dir         string `yaml:"dir"` // lib/systemd/system when empty
	Enabled     bool   `yaml:"enabled"`
}

// initScript is a SysV init script and the links that enable it.
type initScript struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Program     string `yaml:"program"` // the daemon the script starts
	Content     string `yaml:"content"` // the script's text; an LSB script starting Program when empty
	// Layout: debian (/etc/init.d, /etc/rcN.d), redhat (/etc/rc.d/init.d,
	// /etc/rc.d/rcN.d, and the /etc links to them) or openrc
	// (/etc/init.d, /etc/runlevels/<level>).
	Layout string `yaml:"layout"`
	// Enabled lists the runlevels with a start link: numbers for debian
	// and redhat, names ("default") for openrc.
	Enabled []string `yaml:"enabled"`
}

// serviceSpec is a Windows service registered with sc.exe.
type serviceSpec struct {
	Name    string `yaml:"name"`
	Display string `yaml:"display"`
	Exe     string `yaml:"exe"`
	Start   bool   `yaml:"start"`
}

type appSpec struct {
	Dir     string `yaml:"dir"`
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	Team    string `yaml:"team"`
	XML     bool   `yaml:"xml"` // Info.plist as XML; binary otherwise
}

type receiptSpec struct {
	ID      string `yaml:"id"`
	Version string `yaml:"version"`
	Prefix  string `yaml:"prefix"`
}

// jobSpec is a launchd job; its program, a Mach-O file signed by Team,
// is written unless Gone.
type jobSpec struct {
	Label   string `yaml:"label"`
	Program string `yaml:"program"`
	Team    string `yaml:"team"`
	Gone    bool   `yaml:"gone"`
	Dir     string `yaml:"dir"` // another folder than /Library/LaunchDaemons or /Library/LaunchAgents
}

type sysextSpec struct {
	ID       string `yaml:"id"`
	Team     string `yaml:"team"`
	Version  string `yaml:"version"`
	State    string `yaml:"state"`
	Category string `yaml:"category"`
	App      string `yaml:"app"`
	UUID     string `yaml:"uuid"`
}

// kextSpec is a kernel extension bundle.
type kextSpec struct {
	Dir     string `yaml:"dir"`
	ID      string `yaml:"id"`
	Version string `yaml:"version"`
	Team    string `yaml:"team"`
}

// expect is what the rules of issue #12 say the report must hold.
type expect struct {
	Verdict string `yaml:"verdict"` // compliant, non_compliant or incomplete
	// Exit is the exit code with --fail-on restricted: 1 for
	// non_compliant, 0 otherwise, unless given.
	Exit     *int          `yaml:"exit"`
	Products []wantProduct `yaml:"products"`
	Absent   []absentSpec  `yaml:"absent"`
	// MaxRestricted bounds the rows with restricted: true (one real
	// product, one row).
	MaxRestricted *int `yaml:"max_restricted"`
}

// selector picks products: every field given must match.
type selector struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`     // regular expression, any case
	Vendor   string `yaml:"vendor"`   // regular expression, any case
	Evidence string `yaml:"evidence"` // text in an evidence value or location, any case
}

// absentSpec is a product that must not be reported: every row the
// selector picks is wrong, or, with Restricted, every such row that is
// (or is not) restricted.
type absentSpec struct {
	selector   `yaml:",inline"`
	Restricted *bool `yaml:"restricted"`
}

// wantProduct is a product that must be reported, and how.
type wantProduct struct {
	selector   `yaml:",inline"`
	State      string `yaml:"state"`
	Restricted *bool  `yaml:"restricted"`
	WhiteLabel *bool  `yaml:"white_label"`
}

// loadScenarios reads and checks every scenario file.
func loadScenarios(t *testing.T) []*scenario {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(scenarioDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*scenario
	for _, name := range names {
		sc, err := readScenario(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		out = append(out, sc)
	}
	return out
}

func readScenario(file string) (*scenario, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	sc := &scenario{Name: strings.TrimSuffix(filepath.Base(file), ".yaml")}
	if err := dec.Decode(sc); err != nil {
		return nil, err
	}
	return sc, sc.validate()
}

// validate checks what a typo would otherwise turn into a vacuous or
// misleading scenario.
func (sc *scenario) validate() error {
	prefix := map[string]string{"linux": "linux-", "windows": "windows-", "darwin": "macos-"}[sc.OS]
	if prefix == "" {
		return fmt.Errorf("os %q: want linux, windows or darwin", sc.OS)
	}
	if !strings.HasPrefix(sc.Name, prefix) {
		return fmt.Errorf("a %s scenario's file name starts with %q", sc.OS, prefix)
	}
	if sc.Summary == "" || len(sc.Facts) == 0 {
		return fmt.Errorf("no summary or no facts")
	}
	for _, f := range sc.Facts {
		if f.Fact == "" || f.Source == "" {
			return fmt.Errorf("fact %q: every fact says where it comes from", f.Fact)
		}
	}
	modes := map[string][]string{"linux": {modeRoot, modeLive}, "darwin": {modeRoot}, "windows": {modeWine, modeOffline}}[sc.OS]
	if sc.Setup.Mode == "" {
		sc.Setup.Mode = modes[0]
	}
	if !slices.Contains(modes, sc.Setup.Mode) {
		return fmt.Errorf("mode %q: a %s scenario runs as one of %v", sc.Setup.Mode, sc.OS, modes)
	}
	switch sc.Expect.Verdict {
	case report.VerdictCompliant, report.VerdictNonCompliant, report.VerdictIncomplete:
	default:
		return fmt.Errorf("expect.verdict %q", sc.Expect.Verdict)
	}
	for _, p := range sc.Expect.Products {
		if p.selector == (selector{}) {
			return fmt.Errorf("an expected product selects nothing: %+v", p)
		}
		switch p.State {
		case "", report.StateActive, report.StateInstalled, report.StateLeftover:
		default:
			return fmt.Errorf("expected product %s: state %q", p.selector, p.State)
		}
	}
	sels := selectorsOf(sc.Expect.Products)
	for _, a := range sc.Expect.Absent {
		if a.selector == (selector{}) {
			return fmt.Errorf("an absent product selects everything: %+v", a)
		}
		sels = append(sels, a.selector)
	}
	for _, s := range sels {
		for _, re := range []string{s.Name, s.Vendor} {
			if _, err := regexp.Compile(re); err != nil {
				return err
			}
		}
	}
	return nil
}

func selectorsOf(ps []wantProduct) []selector {
	var out []selector
	for _, p := range ps {
		out = append(out, p.selector)
	}
	return out
}

func (s selector) String() string {
	var parts []string
	for _, kv := range [][2]string{{"id", s.ID}, {"name", s.Name}, {"vendor", s.Vendor}, {"evidence", s.Evidence}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"~"+kv[1])
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// The corpus itself: big enough, mixed enough, and every scenario
// readable. Cheap: builds nothing.
func TestScenarioCorpus(t *testing.T) {
	all := loadScenarios(t)
	perOS := map[string]int{}
	decoys := 0
	for _, sc := range all {
		perOS[sc.OS]++
		if sc.Decoy {
			decoys++
		}
	}
	t.Logf("%d scenarios: %v, %d decoys", len(all), perOS, decoys)
	if len(all) < 40 || perOS["linux"] < 14 || perOS["windows"] < 14 || perOS["darwin"] < 10 || decoys < 12 {
		t.Errorf("the corpus needs at least 40 scenarios (14 Linux, 14 Windows, 10 macOS) and 12 decoys: %d, %v, %d decoys",
			len(all), perOS, decoys)
	}
}

// outcome is how one scenario went.
type outcome struct {
	sc     *scenario
	reason string // why it is wrong; "" when right
}

// TestScenarios runs the corpus and fails unless every scenario is right.
// Linux and macOS hosts are built and scanned in parallel; the Windows
// hosts run one after the other (one wineserver per prefix, and the
// machine has few cores), alongside.
func TestScenarios(t *testing.T) {
	start := time.Now()
	all := loadScenarios(t)
	if *scenarioFilter != "" {
		re, err := regexp.Compile(*scenarioFilter)
		if err != nil {
			t.Fatalf("-scenario: %v", err)
		}
		all = slices.DeleteFunc(all, func(sc *scenario) bool { return !re.MatchString(sc.Name) })
	}
	if len(all) == 0 {
		t.Fatal("no scenario to run")
	}
	results := make([]*outcome, len(all))
	for i, sc := range all {
		results[i] = &outcome{sc: sc, reason: "did not finish: setup failed (see its log above)"}
	}
	run := func(t *testing.T, o *outcome) {
		t.Helper()
		doc, code := runScenario(t, o.sc)
		if *scenarioReports != "" {
			writeBytes(t, filepath.Join(*scenarioReports, o.sc.Name+".json"), doc, 0o644)
		}
		o.reason = checkScan(o.sc, doc, code)
		if o.reason != "" {
			t.Logf("wrong: %s", o.reason)
		}
	}

	// Real processes on this machine first, while no Wine process runs
	// beside them.
	var wine, rest []*outcome
	for _, o := range results {
		switch o.sc.Setup.Mode {
		case modeLive:
			t.Run(o.sc.Name, func(t *testing.T) { run(t, o) })
		case modeWine:
			wine = append(wine, o)
		default:
			rest = append(rest, o)
		}
	}
	t.Run("hosts", func(t *testing.T) {
		if len(wine) > 0 {
			t.Run("wine", func(t *testing.T) {
				t.Parallel()
				for _, o := range wine {
					t.Run(o.sc.Name, func(t *testing.T) { run(t, o) })
				}
			})
		}
		for _, o := range rest {
			t.Run(o.sc.Name, func(t *testing.T) {
				t.Parallel()
				run(t, o)
			})
		}
	})

	right := 0
	var table strings.Builder
	for _, o := range results {
		mark, decoy := "ok  ", ""
		if o.reason != "" {
			mark = "FAIL"
		} else {
			right++
		}
		if o.sc.Decoy {
			decoy = "decoy"
		}
		fmt.Fprintf(&table, "%s %-44s %-5s %s\n", mark, o.sc.Name, decoy, cmpOr(o.reason, o.sc.Expect.Verdict))
	}
	t.Logf("scenario corpus (%s):\n%s%d of %d scenarios right", time.Since(start).Round(time.Second), table.String(), right, len(results))
	if right < len(results) {
		t.Errorf("%d of %d scenarios right", right, len(results))
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// runScenario builds the host, scans it and returns the JSON report and
// the exit code of `scan --format json --fail-on restricted`.
func runScenario(t *testing.T, sc *scenario) ([]byte, int) {
	t.Helper()
	switch sc.Setup.Mode {
	case modeWine:
		return runWine(t, sc)
	case modeLive:
		return runLive(t, sc)
	}
	root := t.TempDir()
	args := []string{"scan", "--format", "json", "--fail-on", "restricted", "--root", root}
	switch sc.OS {
	case "linux":
		buildLinux(t, root, sc)
	case "darwin":
		buildMac(t, root, sc)
		args = append(args, "--os", "darwin")
	case "windows":
		buildOffline(t, root, sc)
		args = append(args, "--os", "windows")
	}
	out, stderr, code := avscout(t, args...)
	if code == 2 || out == "" {
		t.Fatalf("avscout %v: exit %d: %s", args, code, stderr)
	}
	return []byte(out), code
}

// checkScan compares a scan with the scenario's expectation and says,
// in one line, what is wrong; "" when nothing is.
func checkScan(sc *scenario, doc []byte, code int) string {
	if err := schema.Validate(doc); err != nil {
		return "report does not match the schema: " + err.Error()
	}
	var r report.Report
	if err := json.Unmarshal(doc, &r); err != nil {
		return "report: " + err.Error()
	}
	var wrong []string
	got := report.VerdictOf(&r)
	if got != sc.Expect.Verdict {
		wrong = append(wrong, fmt.Sprintf("verdict %s, want %s", got, sc.Expect.Verdict))
	}
	want := 0
	if sc.Expect.Exit != nil {
		want = *sc.Expect.Exit
	} else if sc.Expect.Verdict == report.VerdictNonCompliant {
		want = 1
	}
	if code != want {
		wrong = append(wrong, fmt.Sprintf("exit %d, want %d", code, want))
	}
	for _, w := range sc.Expect.Products {
		if msg := checkProduct(&r, w); msg != "" {
			wrong = append(wrong, msg)
		}
	}
	for _, a := range sc.Expect.Absent {
		for _, p := range r.Products {
			if a.matches(p) && (a.Restricted == nil || p.Restricted == *a.Restricted) {
				like := a.selector.String()
				if a.Restricted != nil {
					like += fmt.Sprintf(" with restricted %v", *a.Restricted)
				}
				wrong = append(wrong, fmt.Sprintf("%s reported (%s), want none like %s", describe(p), firstEvidence(p), like))
			}
		}
	}
	if m := sc.Expect.MaxRestricted; m != nil {
		var rows []string
		for _, p := range r.Products {
			if p.Restricted {
				rows = append(rows, describe(p))
			}
		}
		if len(rows) > *m {
			wrong = append(wrong, fmt.Sprintf("%d restricted rows, want at most %d: %s", len(rows), *m, strings.Join(rows, ", ")))
		}
	}
	return strings.Join(wrong, "; ")
}

func checkProduct(r *report.Report, w wantProduct) string {
	var cands []report.Product
	for _, p := range r.Products {
		if w.matches(p) {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		var all []string
		for _, p := range r.Products {
			all = append(all, describe(p))
		}
		return fmt.Sprintf("no product like %s (products: %s)", w.selector, cmpOr(strings.Join(all, ", "), "none"))
	}
	var misses []string
	for _, p := range cands {
		var m []string
		if w.State != "" && p.State != w.State {
			m = append(m, "state "+p.State+", want "+w.State)
		}
		if w.Restricted != nil && p.Restricted != *w.Restricted {
			m = append(m, fmt.Sprintf("restricted %v, want %v", p.Restricted, *w.Restricted))
		}
		if w.WhiteLabel != nil && p.WhiteLabel != *w.WhiteLabel {
			m = append(m, fmt.Sprintf("white_label %v, want %v", p.WhiteLabel, *w.WhiteLabel))
		}
		if len(m) == 0 {
			return ""
		}
		misses = append(misses, describe(p)+": "+strings.Join(m, ", "))
	}
	return strings.Join(misses, "; ")
}

func (s selector) matches(p report.Product) bool {
	if s.ID != "" && p.ID != s.ID {
		return false
	}
	if s.Name != "" && !regexp.MustCompile("(?i)"+s.Name).MatchString(p.Name) {
		return false
	}
	if s.Vendor != "" && !regexp.MustCompile("(?i)"+s.Vendor).MatchString(p.Vendor) {
		return false
	}
	if s.Evidence != "" && !slices.ContainsFunc(p.Evidence, func(e report.Evidence) bool {
		text := strings.ToLower(e.Value + " " + e.Location)
		return strings.Contains(text, strings.ToLower(s.Evidence))
	}) {
		return false
	}
	return true
}

// describe names a product in one short phrase.
func describe(p report.Product) string {
	s := fmt.Sprintf("%q [%s] %s", p.Name, p.ID, p.State)
	if p.Restricted {
		s += " restricted"
	}
	if p.WhiteLabel {
		s += " white-label"
	}
	return s
}

func firstEvidence(p report.Product) string {
	if len(p.Evidence) == 0 {
		return "no evidence"
	}
	e := p.Evidence[0]
	return e.Source + ": " + e.Value
}

// ---------------------------------------------------------------- Wine

// runWine lays the scenario out in a fresh copy of the template prefix
// and runs avscout.exe in it.
func runWine(t *testing.T, sc *scenario) ([]byte, int) {
	t.Helper()
	fx := setupWine(t)
	began := time.Now()
	w := newWinHost(t, fx)
	layOutWine(t, w, sc)
	ready := time.Now()
	out, errOut, code := w.exit("wine", fx.avscout, "scan", "--format", "json", "--fail-on", "restricted")
	if len(out) == 0 {
		t.Fatalf("avscout.exe printed nothing (exit %d); stderr:\n%s", code, errOut)
	}
	t.Logf("setup %s, scan %s", ready.Sub(began).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	return out, code
}

// layOutWine sets the scenario's host up in a Wine prefix: its registry,
// files, services and processes.
func layOutWine(t *testing.T, w *winHost, sc *scenario) {
	t.Helper()
	fx := w.fx
	s := sc.Setup
	if s.Registry != "" {
		w.importRegText(sc.Name+".reg", s.Registry, "/reg:64")
	}
	if s.Registry32 != "" {
		w.importRegText(sc.Name+"-32.reg", s.Registry32, "/reg:32")
	}
	written := map[string]bool{}
	for _, f := range s.Files {
		switch f.Kind {
		case "dir":
			if err := os.MkdirAll(w.Local(f.Path), 0o755); err != nil {
				t.Fatal(err)
			}
		case "pe":
			w.put(f.Path, peFile(t, fx, f))
		default:
			w.put(f.Path, []byte(f.Content))
		}
		written[strings.ToLower(f.Path)] = true
	}
	for _, svc := range s.Services {
		if !written[strings.ToLower(svc.Exe)] {
			w.file(svc.Exe, "")
		}
		w.register(svc.Name, svc.Display, svc.Exe, svc.Start)
	}
	for _, exe := range s.Processes {
		if !written[strings.ToLower(exe)] {
			w.file(exe, "")
		}
		w.start(exe)
	}
}

// ---------------------------------------------------------------- live Linux

// runLive starts the scenario's processes on this machine, from files
// laid out under a temporary folder as they would be on the target, and
// scans the live process list.
func runLive(t *testing.T, sc *scenario) ([]byte, int) {
	t.Helper()
	base := t.TempDir()
	for _, f := range sc.Setup.Files {
		writeLinuxFile(t, base, f)
	}
	for _, p := range sc.Setup.Processes {
		exe := filepath.Join(base, p)
		var args []string
		if slices.ContainsFunc(sc.Setup.Files, func(f fileSpec) bool { return f.Path == p && f.Kind == "elf" }) {
			args = []string{"3600"} // the ELF is sleep(1)
		}
		cmd := exec.Command(exe, args...)
		cmd.SysProcAttr = newProcessGroup()
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", exe, err)
		}
		t.Cleanup(func() { killGroup(cmd) })
		waitComm(t, cmd.Process.Pid, filepath.Base(exe))
	}
	args := []string{"scan", "--format", "json", "--fail-on", "restricted", "--sources", "processes"}
	out, stderr, code := avscout(t, args...)
	if code == 2 || out == "" {
		t.Fatalf("avscout %v: exit %d: %s", args, code, stderr)
	}
	return []byte(out), code
}

// waitComm waits until the process shows under its own name (after exec
// and, for a script, the interpreter's start).
func waitComm(t *testing.T, pid int, name string) {
	t.Helper()
	want := name
	if len(want) > 15 { // TASK_COMM_LEN - 1
		want = want[:15]
	}
	for i := 0; ; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(b)) == want {
			return
		}
		if i == 100 {
			t.Fatalf("process %d did not come up as %s (comm %q)", pid, name, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
