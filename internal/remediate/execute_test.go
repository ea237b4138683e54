package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/avscout/avscout/internal/report"
)

// Execute's bookkeeping, over a plan of three steps: a step whose
// evidence an earlier step removed is skipped, a failing one stops the
// run with its output, and --product limits the run to one product. (The
// commands really run, and really fail, in cmd/agent's throwaway-root
// tests; here the host is a list of reports, one per scan.)
func TestExecuteBookkeeping(t *testing.T) {
	kav := report.Product{ID: "kaspersky-anti-virus-mac", Restricted: true, State: report.StateInstalled, Evidence: []report.Evidence{
		{Source: "launchd", Kind: "service", Location: "Library/LaunchDaemons/com.kaspersky.kav.plist"}}}
	nag := report.Product{ID: "kaspersky-network-agent", Restricted: true, State: report.StateInstalled, Evidence: []report.Evidence{
		{Source: "launchd", Kind: "service", Location: "Library/LaunchDaemons/com.kaspersky.klnagent.plist"}}}
	p := &Plan{OS: "darwin", Products: []ProductPlan{
		{ID: kav.ID, Steps: []Step{
			{Action: ActionUninstaller, Argv: []string{"/u1"}, From: "catalog"},
			{Action: ActionBootout, Argv: []string{"launchctl", "bootout", "system/com.kaspersky.kav"}, From: "Library/LaunchDaemons/com.kaspersky.kav.plist", MayFail: true},
		}},
		{ID: nag.ID, Last: true, Steps: []Step{
			{Action: ActionUninstaller, Argv: []string{"/u2"}, From: "catalog"},
		}},
	}}
	compliant := &report.Report{}
	for _, tc := range []struct {
		name    string
		product string
		fail    string          // argv[0] that fails
		exists  map[string]bool // the uninstall programs on the disk; nil: not checked
		scans   []*report.Report
		ran     []string
		skipped []string
		failed  string
		verdict string
	}{
		// The uninstall script unloaded the job: its bootout is skipped.
		{name: "skip_what_is_gone", scans: []*report.Report{{Products: []report.Product{nag}}, compliant, compliant},
			ran: []string{"/u1", "/u2"}, skipped: []string{"launchctl"}, verdict: report.VerdictCompliant},
		{name: "stop_at_failure", fail: "/u1", scans: []*report.Report{{Products: []report.Product{kav, nag}}},
			ran: []string{"/u1"}, failed: "/u1", verdict: report.VerdictNonCompliant},
		// The first uninstall script deleted the second.
		{name: "skip_deleted_uninstaller", exists: map[string]bool{"/u1": true}, scans: []*report.Report{{Products: []report.Product{nag}}, compliant},
			ran: []string{"/u1"}, skipped: []string{"launchctl", "/u2"}, verdict: report.VerdictCompliant},
		// launchctl bootout of a job not loaded exits non-zero: the plan
		// marks it as one that may fail, and Network Agent still goes.
		{name: "bootout_fails_harmlessly", fail: "launchctl", scans: []*report.Report{{Products: []report.Product{kav, nag}}, {Products: []report.Product{kav, nag}}, compliant, compliant},
			ran: []string{"/u1", "launchctl", "/u2"}, verdict: report.VerdictCompliant},
		// The rescan's launchd source timed out: the job missing from it
		// is not gone, and its bootout still runs.
		{name: "rescan_incomplete", scans: []*report.Report{{Products: []report.Product{nag}, Sources: []report.Source{{Name: "launchd", Status: report.StatusTimeout}}}, compliant, compliant, compliant},
			ran: []string{"/u1", "launchctl", "/u2"}, verdict: report.VerdictCompliant},
		{name: "one_product", product: nag.ID, scans: []*report.Report{{Products: []report.Product{kav}}, {Products: []report.Product{kav}}},
			ran: []string{"/u2"}, verdict: report.VerdictNonCompliant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			scans := slices.Clone(tc.scans)
			var exists func(string) (bool, bool)
			if tc.exists != nil {
				exists = func(p string) (bool, bool) { return tc.exists[p], true }
			}
			res, err := Execute(context.Background(), p, ExecOptions{
				Product: tc.product,
				Exists:  exists,
				Run: func(_ context.Context, argv []string) ([]byte, error) {
					ran = append(ran, argv[0])
					if argv[0] == tc.fail {
						return []byte("refused"), errors.New("exit status 1")
					}
					return nil, nil
				},
				Scan: func(context.Context) (*report.Report, error) {
					if len(scans) == 0 {
						t.Fatal("more scans than expected")
					}
					r := scans[0]
					scans = scans[1:]
					r.SetVerdict()
					return r, nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ran, tc.ran) {
				t.Errorf("ran %v, want %v", ran, tc.ran)
			}
			var skipped []string
			for _, s := range res.Steps {
				if s.Outcome == OutcomeSkipped {
					skipped = append(skipped, s.Step.Argv[0])
				}
			}
			if !slices.Equal(skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", skipped, tc.skipped)
			}
			switch {
			case tc.failed == "" && res.Failed != nil:
				t.Errorf("failed at %+v", res.Failed)
			case tc.failed != "" && (res.Failed == nil || res.Failed.Step.Argv[0] != tc.failed || res.Failed.Output != "refused"):
				t.Errorf("failed %+v, want at %s with its output", res.Failed, tc.failed)
			}
			if got := report.VerdictOf(res.Report); got != tc.verdict {
				t.Errorf("final verdict %s, want %s", got, tc.verdict)
			}
			if len(scans) != 0 {
				t.Errorf("%d scans not made", len(scans))
			}
		})
	}
	if _, err := Execute(context.Background(), p, ExecOptions{Product: "clamav"}); !errors.Is(err, ErrNotPlanned) {
		t.Errorf("--product clamav: %v, want ErrNotPlanned", err)
	}
}

// exitErr is a command's non-zero exit, as *exec.ExitError reports it.
type exitErr int

func (e exitErr) Error() string { return "exit status " + strconv.Itoa(int(e)) }
func (e exitErr) ExitCode() int { return int(e) }

// msiexec's "done, restart needed" (3010, 1641) is not a failure: the
// run goes on to Network Agent and says a restart is pending. The same
// codes from anything but msiexec, and msiexec's real failures, stop it.
func TestExecuteRestartNeeded(t *testing.T) {
	kes := Step{Action: ActionMSI, Argv: []string{`C:\Windows\System32\msiexec.exe`, "/x", kesCode}, From: "catalog"}
	other := Step{Action: ActionUninstall, Argv: []string{`C:\Program Files\K\uninstall.exe`}, From: "catalog"}
	nag := Step{Action: ActionMSI, Argv: []string{`C:\Windows\System32\msiexec.exe`, "/x", "{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}"}, From: "catalog"}
	for _, tc := range []struct {
		name    string
		first   Step
		err     error
		ran     int
		restart bool
		failed  bool
	}{
		{"msi_3010", kes, fmt.Errorf("msiexec: %w", exitErr(3010)), 2, true, false},
		{"msi_1641", kes, exitErr(1641), 2, true, false},
		{"msi_1603", kes, exitErr(1603), 1, false, true},
		{"msi_not_started", kes, errors.New("file not found"), 1, false, true},
		{"exe_3010", other, exitErr(3010), 1, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Plan{OS: "windows", Products: []ProductPlan{{ID: "kes", Steps: []Step{tc.first}}, {ID: "nag", Last: true, Steps: []Step{nag}}}}
			ran := 0
			res, err := Execute(context.Background(), p, ExecOptions{
				Run: func(_ context.Context, argv []string) ([]byte, error) {
					ran++
					if ran == 1 {
						return []byte("out"), tc.err
					}
					return nil, nil
				},
				Scan: func(context.Context) (*report.Report, error) { return &report.Report{}, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if ran != tc.ran || res.RestartNeeded != tc.restart || (res.Failed != nil) != tc.failed {
				t.Errorf("ran %d, restart %v, failed %+v; want %d, %v, %v", ran, res.RestartNeeded, res.Failed, tc.ran, tc.restart, tc.failed)
			}
			if tc.restart && (!res.Steps[0].RestartNeeded || res.Steps[0].Outcome != OutcomeDone) {
				t.Errorf("first step %+v, want done with a restart needed", res.Steps[0])
			}
		})
	}
}

// The live check before an uninstall entry's own program runs: a
// refused program fails its step without running, and stops the run;
// msiexec steps are not asked about.
func TestExecuteChecksProgram(t *testing.T) {
	prog := `C:\Program Files\K\uninstall.exe`
	p := &Plan{OS: "windows", Products: []ProductPlan{{ID: "k", Steps: []Step{
		{Action: ActionMSI, Argv: []string{`C:\Windows\System32\msiexec.exe`, "/x", kesCode}, From: "catalog"},
		{Action: ActionUninstall, Argv: []string{prog, "/S"}, From: "catalog"},
	}}}}
	for _, tc := range []struct {
		name   string
		check  error
		ran    int
		failed bool
	}{
		{"trusted", nil, 2, false},
		{"writable_by_users", errors.New(prog + " lets S-1-5-32-545 change it"), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			ran := 0
			res, err := Execute(context.Background(), p, ExecOptions{
				Run:  func(context.Context, []string) ([]byte, error) { ran++; return nil, nil },
				Scan: func(context.Context) (*report.Report, error) { return &report.Report{}, nil },
				CheckProgram: func(s string) error {
					asked = append(asked, s)
					return tc.check
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if ran != tc.ran || (res.Failed != nil) != tc.failed || !slices.Equal(asked, []string{prog}) {
				t.Errorf("ran %d, failed %+v, asked %v; want %d, %v, [%s]", ran, res.Failed, asked, tc.ran, tc.failed, prog)
			}
			if tc.failed && !strings.Contains(res.Failed.Err, "not run: ") {
				t.Errorf("failure %q does not say the program was not run", res.Failed.Err)
			}
		})
	}
}

// Before an msiexec step, the folder of its log is made private (or
// refused); a refusal fails the step without running it.
func TestExecutePreparesLogDir(t *testing.T) {
	c := defaultCatalog(t)
	r := &report.Report{Host: report.Host{OS: "windows"}, Products: []report.Product{
		restricted("kaspersky-endpoint-security-windows", "KES", report.StateInstalled, uninstallEv(kesCode, "KES", "MsiExec.exe /X"+kesCode))}}
	p := New(r, c, Options{})
	for _, tc := range []struct {
		name string
		err  error
		ran  int
	}{
		{"private", nil, 1},
		{"pre-created_by_a_user", errors.New(`C:\ProgramData\avscout\remediate is owned by S-1-5-21-1-2-3-1001`), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dirs []string
			ran := 0
			res, err := Execute(context.Background(), p, ExecOptions{
				Run:           func(context.Context, []string) ([]byte, error) { ran++; return nil, nil },
				Scan:          func(context.Context) (*report.Report, error) { return &report.Report{}, nil },
				PrepareLogDir: func(d string) error { dirs = append(dirs, d); return tc.err },
			})
			if err != nil {
				t.Fatal(err)
			}
			if ran != tc.ran || !slices.Equal(dirs, []string{DefaultLogDir}) || (res.Failed != nil) != (tc.err != nil) {
				t.Errorf("ran %d, dirs %q, failed %+v", ran, dirs, res.Failed)
			}
		})
	}
}

// An uninstaller without a quiet form is not started in an unattended
// run (its window would wait, invisible, until the time-out): the step
// fails at once with the reason; at the console it runs.
func TestExecuteUnattendedInteractive(t *testing.T) {
	c := defaultCatalog(t)
	const prog = `C:\Program Files\Kaspersky Lab\KTS\uninstall.exe`
	for _, tc := range []struct {
		name       string
		quiet      string
		unattended bool
		ran        int
	}{
		{"console", "", false, 1},
		{"unattended_no_quiet_form", "", true, 0},
		{"unattended_quiet_form", `"` + prog + `" /s`, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Host: report.Host{OS: "windows"}, Products: []report.Product{
				restricted("kaspersky-total-security", "KTS", report.StateInstalled, uninstallQuietEv("AVP", "KTS", tc.quiet, `"`+prog+`"`))}}
			p := New(r, c, Options{})
			ran := 0
			res, err := Execute(context.Background(), p, ExecOptions{
				Unattended: tc.unattended,
				Run:        func(context.Context, []string) ([]byte, error) { ran++; return nil, nil },
				Scan:       func(context.Context) (*report.Report, error) { return r, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if ran != tc.ran {
				t.Errorf("ran %d, want %d", ran, tc.ran)
			}
			if tc.ran == 0 && (res.Failed == nil || !strings.Contains(res.Failed.Err, "no quiet form")) {
				t.Errorf("failed %+v, want the reason", res.Failed)
			}
		})
	}
}

// A scan that fails after a failed step does not hide the step: its
// failure and output are told, then the scan's error returned.
func TestExecuteScanFailsAfterFailedStep(t *testing.T) {
	p := &Plan{OS: "linux", Products: []ProductPlan{{ID: "kesl", Steps: []Step{{Action: ActionPackages, Argv: []string{"/usr/bin/dpkg", "--purge", "kesl"}, From: "var/lib/dpkg/status"}}}}}
	var told []StepResult
	res, err := Execute(context.Background(), p, ExecOptions{
		Run: func(context.Context, []string) ([]byte, error) {
			return []byte("dpkg: error processing kesl"), exitErr(1)
		},
		Scan:     func(context.Context) (*report.Report, error) { return nil, errors.New("out of memory") },
		Progress: func(sr StepResult) { told = append(told, sr) },
	})
	if err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("error %v, want the scan's", err)
	}
	if len(told) != 2 || told[1].Outcome != OutcomeFailed || told[1].Output != "dpkg: error processing kesl" {
		t.Errorf("told %+v, want the failure with its output", told)
	}
	if res.Failed == nil || res.Failed.Output != "dpkg: error processing kesl" {
		t.Errorf("result %+v", res)
	}
}
