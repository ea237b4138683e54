package main

// First-user rough edges (issue #16), each through the real binary.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	svcunit "github.com/avscout/avscout/internal/agent/unit"
	"github.com/avscout/avscout/internal/detect/dpkg/dpkgtest"
)

// --verbose logs each source's start and end, with its duration, item
// count and error, to standard error; without it a clean scan is silent.
func TestScanVerboseLogsSources(t *testing.T) {
	root := newRoot(t, "verbose", debian12OSRelease)
	dpkgtest.Build(t, root, []dpkgtest.Pkg{{Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer}})
	_, quiet, code := avscout(t, "scan", "--root", root, "--sources", "dpkg,rpm", "--format", "json")
	if code != 0 || quiet != "" {
		t.Fatalf("without --verbose: exit %d, stderr %q", code, quiet)
	}
	_, stderr, code := avscout(t, "scan", "--root", root, "--sources", "dpkg,rpm", "--format", "json", "--verbose")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, re := range []string{
		`msg="source started" source=dpkg timeout=30s`,
		`msg="source finished" source=dpkg status=ok duration=[0-9.]+[µm]?s items=1 kept=1\n`,
		`msg="source started" source=rpm`,
		// No rpm database in the root: the source says why it saw nothing.
		`msg="source finished" source=rpm status=unavailable duration=[0-9.]+[µm]?s items=0 kept=0 err=".+"`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr lacks /%s/:\n%s", re, stderr)
		}
	}
	if n := strings.Count(stderr, `msg="source finished"`); n != 2 {
		t.Errorf("%d sources finished, want 2:\n%s", n, stderr)
	}
}

// An --output in a folder that does not exist names the user's path, not
// the temporary file the report is first written to.
func TestScanOutputMissingFolder(t *testing.T) {
	root := newRoot(t, "outmissing", debian12OSRelease)
	out := filepath.Join(t.TempDir(), "missing", "r.json")
	stdout, stderr, code := avscout(t, "scan", "--root", root, "--output", out)
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	want := "avscout scan: write " + out + ": "
	if !strings.HasPrefix(stderr, want) || strings.Contains(stderr, ".tmp") || strings.Count(stderr, "r.json") != 1 {
		t.Errorf("stderr %q, want %q and the reason, naming no other file", stderr, want)
	}
}

// `scan --format jamf` and `status --format jamf` start with the same word
// for the same host, so one Jamf smart group serves both: COMPLIANT for a
// clean host, a host with other products, and one with only leftovers;
// RESTRICTED for a host running a restricted product.
func TestJamfScanAndStatusAgree(t *testing.T) {
	dpkgtest.Require(t)
	empty := newRoot(t, "jamf-empty", debian12OSRelease)
	dpkgtest.Build(t, empty, nil)
	leftover := newRoot(t, "jamf-leftover", debian12OSRelease)
	// KESL removed with dpkg -r: its conffile keeps it "deinstall ok config-files".
	dpkgtest.Build(t, leftover, []dpkgtest.Pkg{{Name: "kesl", Version: "12.1.0-2968", Maintainer: kasperskyMaintainer,
		Files: map[string]string{"/etc/opt/kaspersky/kesl.ini": "[General]\n"}, Conffiles: []string{"/etc/opt/kaspersky/kesl.ini"}, Remove: true}})
	for _, tc := range []struct {
		name, root, want string
	}{
		{"empty", empty, "COMPLIANT"},
		{"other", compliantRoot(t), "COMPLIANT"},
		{"restricted", kasperskyRoot(t), "RESTRICTED"},
		{"leftover", leftover, "COMPLIANT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scanOut, stderr, _ := avscout(t, "scan", "--root", tc.root, "--format", "jamf")
			h := scannedHost(t, tc.root)
			statusOut, _, _ := avscout(t, "status", "--format", "jamf", "--config", h.cfg)
			first := regexp.MustCompile(`^<result>([A-Z ]+)(:|</result>)`)
			s, st := first.FindStringSubmatch(scanOut), first.FindStringSubmatch(statusOut)
			if s == nil || st == nil || s[1] != tc.want || st[1] != tc.want {
				t.Errorf("scan says %q, status says %q, want both to start with %s (stderr %s)", scanOut, statusOut, tc.want, stderr)
			}
			if tc.name == "leftover" && !strings.Contains(scanOut, "Kaspersky leftover components") {
				t.Errorf("scan does not name the leftovers: %q", scanOut)
			}
		})
	}
}

// `service status` on a machine where no service manager answers (no
// systemctl, no service tool on PATH, as in a container) and no unit is
// installed says "not installed", exit 3, as the README promises.
func TestServiceStatusWithoutServiceManager(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("unit file locations checked are Linux's")
	}
	for _, f := range svcunit.Paths("linux", svcunit.Name("linux")) {
		if _, err := os.Lstat(f); err == nil {
			t.Fatalf("%s exists: this machine has avscout installed, the test needs one without", f)
		}
	}
	cmd := exec.Command(binary, "service", "status")
	cmd.Env = []string{"PATH=" + t.TempDir()} // no systemctl, no service
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != exitNotRunning || stdout.String() != "not installed\n" || stderr.String() != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 3, \"not installed\"", code, stdout.String(), stderr.String())
	}
}

// Every command's --help is written in the README's --flag style, to
// stdout, and exits 0; a bad flag says so with --flag and points at --help.
func TestCommandHelp(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		flags []string // some flags the help must list, as the README writes them
	}{
		{[]string{"scan", "--help"}, []string{"--format FORMAT", "--output FILE", "--root DIR", "--fail-on CONDITIONS", "--verbose\n", "--timeout DURATION"}},
		{[]string{"scan", "-h"}, []string{"--sources LIST"}},
		{[]string{"catalog", "--help"}, []string{"--format FORMAT", "--catalog FILE"}},
		{[]string{"status", "--help"}, []string{"--format FORMAT", "--public\n", "--config FILE"}},
		{[]string{"config", "show", "--help"}, []string{"--config FILE"}},
		{[]string{"service", "status", "--help"}, []string{"--config FILE"}},
		{[]string{"service", "run", "--help"}, []string{"--once\n", "--root DIR"}},
		{[]string{"service", "unit", "--help"}, []string{"--init INIT", "--path PATH"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := avscout(t, tt.args...)
			cmd := strings.Join(tt.args[:len(tt.args)-1], " ")
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if want := "Usage: avscout " + cmd + " [flags]\n\n"; !strings.HasPrefix(stdout, want) {
				t.Errorf("help starts %q, want %q", stdout[:min(len(stdout), 60)], want)
			}
			for _, f := range tt.flags {
				if !strings.Contains(stdout, "\n  "+f) {
					t.Errorf("help lacks %q:\n%s", f, stdout)
				}
			}
			if regexp.MustCompile(`(?m)^\s+-[a-z]`).MatchString(stdout) || strings.Contains(stdout, "Usage of") {
				t.Errorf("help in the flag package's style:\n%s", stdout)
			}
		})
	}
	stdout, stderr, code := avscout(t, "catalog", "--bogus")
	want := "avscout catalog: flag provided but not defined: --bogus\nRun 'avscout catalog --help' for its flags.\n"
	if code != exitUsage || stdout != "" || stderr != want {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q, want %q", code, stdout, stderr, want)
	}
	if _, stderr, _ := avscout(t, "scan", "--timeout", "soon"); !strings.Contains(stderr, "for flag --timeout") {
		t.Errorf("bad value: %q", stderr)
	}
}

// `service run --once` says what it delivered. With a wrong enrollment
// token the collector answers 401: the report stays queued, and the run
// exits 2 and says why. A refusal for good dead-letters the report, and
// `avscout status` shows the reason beside the dead-letter count.
func TestServiceRunOnceDeliveryFeedback(t *testing.T) {
	coll := newLoopCollector(t, "enroll-right")
	root := kasperskyRoot(t)

	cfg, _ := agentConfig(t, coll.url, "enroll-right", "")
	stdout, stderr, code := avscout(t, "service", "run", "--once", "--config", cfg, "--root", root)
	if code != 0 || stdout != "avscout service run --once: 1 report(s) delivered, 0 queued, 0 dead-lettered\n" {
		t.Errorf("right token: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}

	// A wrong token is fixed in the configuration, not in the report: the
	// report stays queued, and the run says why and fails.
	cfg, _ = agentConfig(t, coll.url, "enroll-wrong", "")
	stdout, stderr, code = avscout(t, "service", "run", "--once", "--config", cfg, "--root", root)
	if code != exitUsage || stdout != "avscout service run --once: 0 report(s) delivered, 1 queued, 0 dead-lettered\n" {
		t.Errorf("wrong token: exit %d, stdout %q; want exit 2 and the counts", code, stdout)
	}
	for _, want := range []string{"HTTP 401 Unauthorized: bad token", "check collector.token", "stay queued"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("wrong token: stderr lacks %q:\n%s", want, stderr)
		}
	}

	// A refusal for good dead-letters the report, and status says why.
	coll.mu.Lock()
	coll.refuseGone = true
	coll.mu.Unlock()
	cfg, _ = agentConfig(t, coll.url, "enroll-right", "")
	stdout, stderr, code = avscout(t, "service", "run", "--once", "--config", cfg, "--root", root)
	if code != exitUsage || stdout != "avscout service run --once: 0 report(s) delivered, 0 queued, 1 dead-lettered\n" {
		t.Errorf("refused for good: exit %d, stdout %q; want exit 2 and the counts", code, stdout)
	}
	if !strings.Contains(stderr, "refused 1 report(s)") || !strings.Contains(stderr, "HTTP 410 Gone") {
		t.Errorf("refused for good: stderr lacks the reason:\n%s", stderr)
	}
	table, _, _ := avscout(t, "status", "--config", cfg)
	if !regexp.MustCompile(`Undeliverable: +1 dead-lettered, 0 dropped.*\nDead-letter reason: +HTTP 410 Gone`).MatchString(table) {
		t.Errorf("status lacks the dead-letter reason:\n%s", table)
	}
	st, err := readStatus(t, cfg)
	if err != nil || st.LastDelivery == nil || !strings.Contains(st.LastDelivery.DeadLetterReason, "HTTP 410") {
		t.Errorf("status json: last delivery %+v, %v", st.LastDelivery, err)
	}

	cfg, _ = agentConfig(t, "", "", "")
	stdout, _, code = avscout(t, "service", "run", "--once", "--config", cfg, "--root", root)
	if code != 0 || stdout != "avscout service run --once: no collector.url configured: 1 report(s) queued\n" {
		t.Errorf("no collector: exit %d, stdout %q", code, stdout)
	}
}
