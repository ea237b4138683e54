package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/avscout/avscout/internal/report"
)

// Runner runs one command (argv, never through a shell) on the host and
// returns what it printed, standard output and error together; err is
// non-nil when it could not start or exited non-zero.
type Runner func(ctx context.Context, argv []string) (output []byte, err error)

// Scanner scans the host afresh.
type Scanner func(ctx context.Context) (*report.Report, error)

// Outcomes of a step.
const (
	OutcomeDone    = "done"
	OutcomeSkipped = "skipped" // the evidence it came from is gone already
	OutcomeFailed  = "failed"
	// OutcomeFailedHarmless is a step that failed but may (its plan
	// says so): the run goes on.
	OutcomeFailedHarmless = "failed-harmless"
)

// StepResult is what became of one step.
type StepResult struct {
	Product string `json:"product"`
	Step    Step   `json:"step"`
	Outcome string `json:"outcome"`
	// Output is what the command printed (its end, when long); Err why it
	// failed.
	Output string `json:"output,omitempty"`
	Err    string `json:"error,omitempty"`
	// Verdict is that of the scan after the step.
	Verdict string `json:"verdict,omitempty"`
	// RestartNeeded is true when the step is done but Windows must
	// restart to finish it (msiexec exited 3010 or 1641).
	RestartNeeded bool `json:"restart_needed,omitempty"`
}

// Result is what an execution did, and the host's report at its end.
type Result struct {
	Steps  []StepResult   `json:"steps"`
	Report *report.Report `json:"report"`
	// Failed is the first step that failed; execution stopped there.
	Failed *StepResult `json:"failed,omitempty"`
	// RestartNeeded is true when a step asked for a restart to finish:
	// the host may still show the product until it restarts.
	RestartNeeded bool `json:"restart_needed,omitempty"`
}

// ExecOptions configure [Execute].
type ExecOptions struct {
	Run  Runner
	Scan Scanner
	// Product limits execution to one planned product; empty means all.
	Product string
	// Progress, when set, is told of each step before it runs and after.
	Progress func(StepResult)
	// Exists, when set, says whether a path on the host exists: an
	// uninstall program an earlier step deleted (one product's uninstall
	// script removing its siblings' tree) is skipped, not run.
	Exists func(targetPath string) (exists, known bool)
	// CheckProgram, when set, is asked right before an uninstall
	// entry's own program runs whether it is safe to run as
	// administrator ([ProgramCheck] on Windows: the file is there, and
	// only SYSTEM, Administrators and TrustedInstaller can change it); a
	// step it refuses fails without running.
	CheckProgram func(program string) error
	// PrepareLogDir, when set, is given the folder an msiexec step
	// writes its log in, right before the step runs: [PrepareLogDir] on
	// Windows makes it private to SYSTEM and Administrators, or refuses
	// one that is not; a step it refuses fails without running.
	PrepareLogDir func(dir string) error
	// Unattended is true when no one is there to answer an uninstaller's
	// questions (--yes, or no terminal: an MDM run in session 0, where
	// its window is invisible): a step marked Interactive fails without
	// running, rather than wait until its time-out.
	Unattended bool
}

// ErrNotPlanned is returned when ExecOptions.Product names no product of
// the plan: one that is not restricted, or not on the host.
var ErrNotPlanned = errors.New("not a restricted product of this host's plan")

// Execute runs the steps of p in order, product by product, scanning the
// host again after each step. A step derived from evidence that the last
// scan no longer shows (its uninstall entry, package or job is gone: an
// earlier step removed it), or one running an uninstall program no longer
// on the disk, is skipped. It stops at the first step that
// fails, with the command's output. The report of the last scan (a scan
// is made at the end in any case) says whether the host is compliant.
//
// Only the plan's steps run, and the plan holds only restricted
// products: nothing else is ever acted on.
func Execute(ctx context.Context, p *Plan, opts ExecOptions) (*Result, error) {
	if opts.Product != "" && !planned(p, opts.Product) {
		return nil, fmt.Errorf("product %q: %w", opts.Product, ErrNotPlanned)
	}
	res := &Result{Steps: []StepResult{}}
	var last *report.Report
	for _, pp := range p.Products {
		if opts.Product != "" && pp.ID != opts.Product {
			continue
		}
		for _, s := range pp.Steps {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			sr := StepResult{Product: pp.ID, Step: s}
			if gone(s, pp.ID, last, opts.Exists) {
				sr.Outcome = OutcomeSkipped
				res.Steps = append(res.Steps, sr)
				tell(opts.Progress, sr)
				continue
			}
			tell(opts.Progress, sr)
			var out []byte
			var err error
			if s.Interactive && opts.Unattended {
				err = errors.New("not run: this uninstaller has no quiet form and may wait for answers no one can give in an unattended run; run it at the console (remediate --execute without --yes), or remove the product by hand")
			}
			if err == nil {
				err = checkProgram(s, opts.CheckProgram)
			}
			if err == nil {
				err = prepareLog(s, opts.PrepareLogDir)
			}
			if err == nil {
				out, err = opts.Run(ctx, s.Argv)
			}
			sr.Output = tail(out, 16<<10)
			switch {
			case err == nil:
				sr.Outcome = OutcomeDone
			case restartPending(s, err):
				sr.Outcome, sr.RestartNeeded = OutcomeDone, true
				res.RestartNeeded = true
			case s.MayFail:
				sr.Outcome, sr.Err = OutcomeFailedHarmless, err.Error()
			default:
				sr.Outcome, sr.Err = OutcomeFailed, err.Error()
			}
			r, serr := opts.Scan(ctx)
			if serr != nil {
				// The step's own outcome (and a failure's output) is
				// still told before the scan's error.
				res.Steps = append(res.Steps, sr)
				tell(opts.Progress, sr)
				if sr.Outcome == OutcomeFailed {
					res.Failed = &res.Steps[len(res.Steps)-1]
				}
				return res, fmt.Errorf("scan after %s: %w", s.Action, serr)
			}
			last = r
			sr.Verdict = report.VerdictOf(r)
			res.Steps = append(res.Steps, sr)
			tell(opts.Progress, sr)
			if sr.Outcome == OutcomeFailed {
				res.Failed = &res.Steps[len(res.Steps)-1]
				res.Report = last
				return res, nil
			}
		}
	}
	r, err := opts.Scan(ctx)
	if err != nil {
		return res, fmt.Errorf("final scan: %w", err)
	}
	res.Report = r
	return res, nil
}

// Windows Installer's exit codes for a success that needs a restart:
// ERROR_SUCCESS_REBOOT_REQUIRED, and ERROR_SUCCESS_REBOOT_INITIATED
// (https://learn.microsoft.com/en-us/windows/win32/msi/error-codes).
const (
	msiRebootRequired  = 3010
	msiRebootInitiated = 1641
)

// restartPending reports whether err, the failure of step s, is msiexec
// saying it succeeded but a restart must finish the job: a product with
// drivers (KES) says so, and the run goes on to the next step.
func restartPending(s Step, err error) bool {
	if s.Action != ActionMSI {
		return false
	}
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) {
		return false
	}
	code := ec.ExitCode()
	return code == msiRebootRequired || code == msiRebootInitiated
}

// checkProgram asks check whether the program of step s, an uninstall
// entry's own, may run.
func checkProgram(s Step, check func(string) error) error {
	if check == nil || s.Action != ActionUninstall || len(s.Argv) == 0 {
		return nil
	}
	if err := check(s.Argv[0]); err != nil {
		return fmt.Errorf("not run: %w", err)
	}
	return nil
}

// prepareLog gives prepare the folder of the verbose log an msiexec
// step writes ("/l*v PATH").
func prepareLog(s Step, prepare func(string) error) error {
	if prepare == nil || s.Action != ActionMSI {
		return nil
	}
	i := slices.Index(s.Argv, "/l*v")
	if i < 0 || i+1 >= len(s.Argv) {
		return nil
	}
	log := s.Argv[i+1]
	if err := prepare(log[:max(strings.LastIndexByte(log, '\\'), 0)]); err != nil {
		return fmt.Errorf("not run: %w", err)
	}
	return nil
}

// gone reports whether what step s acts on is gone already: the
// evidence it was derived from is not in the last scan, or the uninstall
// program it runs is no longer on the disk.
func gone(s Step, id string, last *report.Report, exists func(string) (bool, bool)) bool {
	if s.Action == ActionUninstaller && exists != nil && len(s.Argv) > 0 {
		ok, known := exists(s.Argv[0])
		return known && !ok
	}
	return last != nil && s.From != "catalog" && readFully(last, s.Action) && !evidenceAt(last, id, s.From)
}

// readFully reports whether the sources a step of action is derived
// from all read the host in full in r: evidence missing from a source
// that failed or timed out is not evidence gone.
func readFully(r *report.Report, action string) bool {
	var names []string
	switch action {
	case ActionMSI, ActionUninstall:
		names = []string{"uninstall"}
	case ActionPackages:
		names = []string{"dpkg", "rpm", "pacman", "apk"}
	case ActionBootout:
		names = []string{"launchd"}
	case ActionForgetReceipt:
		names = []string{"receipts"}
	}
	for _, src := range r.Sources {
		if slices.Contains(names, src.Name) && src.Status != report.StatusOK && src.Status != report.StatusUnavailable {
			return false
		}
	}
	return true
}

// tell passes sr to the progress function, when there is one.
func tell(f func(StepResult), sr StepResult) {
	if f != nil {
		f(sr)
	}
}

func planned(p *Plan, id string) bool {
	for _, pp := range p.Products {
		if pp.ID == id {
			return true
		}
	}
	return false
}

// evidenceAt reports whether r still holds evidence of product id read
// at location.
func evidenceAt(r *report.Report, id, location string) bool {
	for _, p := range r.Products {
		if p.ID != id {
			continue
		}
		for _, e := range p.Evidence {
			if e.Location == location {
				return true
			}
		}
	}
	return false
}

// tail is the end of b, at most max bytes, as text.
func tail(b []byte, max int) string {
	if len(b) > max {
		b = b[len(b)-max:]
		return "..." + strings.ToValidUTF8(string(b), "")
	}
	return strings.ToValidUTF8(string(b), "")
}
