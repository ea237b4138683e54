package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/remediate"
	"github.com/avscout/avscout/internal/report"
	"github.com/avscout/avscout/internal/scan"
	"github.com/avscout/avscout/internal/text"
)

// runRemediate is `avscout remediate`. With --plan it scans this machine
// (or the filesystem under --root) and prints how to remove each
// restricted product found, running nothing but the scan. With --execute
// it runs that plan on this machine, for an administrator at it (or the
// administrator's MDM): nothing a server sends can start it.
func runRemediate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("remediate")
	var (
		plan     = fs.Bool("plan", false, "print the removal plan of the restricted products found (runs nothing)")
		execute  = fs.Bool("execute", false, "run the plan on this machine: each step in order, a scan after each, stop at the first failure")
		product  = fs.String("product", "", "with --execute: remove only the restricted product with this catalog `ID`")
		yes      = fs.Bool("yes", false, "with --execute: do not ask for confirmation (required when standard input is not a terminal)")
		format   = fs.String("format", "table", "output format: for --plan "+strings.Join(remediate.Formats(), ", ")+"; for --execute the final report's, "+strings.Join(report.Formats(), ", "))
		root     = fs.String("root", "", "with --plan: plan for `DIR` as the target's filesystem root (a mounted image, a container rootfs)")
		osName   = fs.String("os", "", "target OS: linux, windows or darwin (default: detected)")
		catFile  = fs.String("catalog", "", "load the catalog or policy from `FILE` instead of the built-in one")
		timeout  = fs.Duration("timeout", 30*time.Second, "time limit for each source of a scan")
		stepTime = fs.Duration("step-timeout", 30*time.Minute, "with --execute: time limit for each command")
	)
	if code, ok := parseFlags(fs, "Plans, or carries out, the removal of the restricted products on this machine (--plan also on the\n"+
		"filesystem under --root): the commands, in order, derived from the scan's evidence, the obstacles the\n"+
		"catalog knows of, what to delete afterwards, and whether another antivirus will still protect the host.\n"+
		"--execute exits 0 when the host is compliant at the end, 1 when it is not (or a step failed).", args, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "avscout remediate: "+format+"\n", a...)
		return exitUsage
	}
	formats := remediate.Formats()
	if *execute {
		formats = report.Formats()
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case *plan == *execute:
		return fail("say --plan (print the removal plan) or --execute (carry it out on this machine)")
	case *execute && *root != "":
		return fail("--execute acts on this machine only; plan a mounted root with --plan --root")
	case *plan && (*product != "" || *yes):
		return fail("--product and --yes go with --execute")
	case !slices.Contains(formats, *format):
		return fail("unknown --format %q (want %s)", *format, strings.Join(formats, ", "))
	}
	h, cat, err := openTarget(*root, *osName, *catFile)
	if err != nil {
		return fail("%v", err)
	}
	if *execute && *osName != "" {
		// --execute runs commands on this machine: they must be planned
		// for the OS it runs.
		if own, err := host.Live(""); err != nil || own.OS != h.OS {
			return fail("--execute acts on this machine: --os %s does not match it", h.OS)
		}
	}
	scanHost := func(ctx context.Context) (*report.Report, error) {
		return scan.Run(ctx, scan.Options{
			Host:          h,
			Catalog:       cat,
			SourceTimeout: *timeout,
			AgentVersion:  version,
			Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
			MemoryLimit:   envMemoryLimit(),
		})
	}
	r, err := scanHost(ctx)
	if err != nil {
		return fail("%v", err)
	}
	p := remediate.New(r, cat, remediate.Options{Exists: remediate.ExistsOn(h)})
	if *plan {
		if err := remediate.Render(stdout, p, *format); err != nil {
			return fail("%v", err)
		}
		return exitOK
	}
	return executePlan(ctx, p, execOptions{product: *product, yes: *yes, format: *format, stepTimeout: *stepTime, scan: scanHost,
		exists: remediate.ExistsOn(h)},
		os.Stdin, stdout, stderr)
}

type execOptions struct {
	product     string
	yes         bool
	format      string
	stepTimeout time.Duration
	scan        remediate.Scanner
	exists      func(string) (bool, bool)
}

// executePlan carries p out after the administrator's confirmation: the
// plan on stderr, the steps as they run on stderr, the final report on
// stdout.
func executePlan(ctx context.Context, p *remediate.Plan, o execOptions, stdin *os.File, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "avscout remediate: "+format+"\n", a...)
		return exitUsage
	}
	if err := remediate.Render(stderr, p, "table"); err != nil {
		return fail("%v", err)
	}
	n := 0
	for _, pp := range p.Products {
		if o.product == "" || pp.ID == o.product {
			n += len(pp.Steps)
		}
	}
	if o.product != "" && !slices.ContainsFunc(p.Products, func(pp remediate.ProductPlan) bool { return pp.ID == o.product }) {
		return fail("--product %q: %v", o.product, remediate.ErrNotPlanned)
	}
	if i := slices.IndexFunc(p.Products, func(pp remediate.ProductPlan) bool { return pp.ID == o.product }); i >= 0 && p.Products[i].Last && len(p.Products) > 1 {
		fmt.Fprintf(stderr, "avscout remediate: WARNING: %s goes last, and %d other restricted product(s) are still on this machine: "+
			"they may be managed through it; remove them first\n", o.product, len(p.Products)-1)
	}
	if n > 0 && !o.yes {
		if !isTerminal(stdin) {
			return fail("standard input is not a terminal: say --yes to run the plan without confirmation")
		}
		fmt.Fprintf(stderr, "\nRun these %d commands on this machine? [y/N] ", n)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stderr, "avscout remediate: nothing done")
			return exitRestricted
		}
	}
	res, err := remediate.Execute(ctx, p, remediate.ExecOptions{
		Run:     remediate.Command(o.stepTimeout),
		Scan:    o.scan,
		Product: o.product,
		Exists:  o.exists,
		// On Windows: the uninstall program is there and only SYSTEM,
		// Administrators and TrustedInstaller can change it.
		CheckProgram: remediate.ProgramCheck(),
		// On Windows: msiexec's log folder is private to SYSTEM and
		// Administrators.
		PrepareLogDir: remediate.PrepareLogDir(),
		// An uninstaller's questions go unanswered with --yes or without
		// a terminal (an MDM run): such steps are not started.
		Unattended: o.yes || !isTerminal(stdin),
		Progress: func(sr remediate.StepResult) {
			line := text.OneLine(remediate.CommandLine(p.OS, sr.Step.Argv))
			sr.Err = text.OneLine(sr.Err)
			switch sr.Outcome {
			case "":
				fmt.Fprintf(stderr, "avscout remediate: %s: running %s\n", sr.Product, line)
			case remediate.OutcomeSkipped:
				fmt.Fprintf(stderr, "avscout remediate: %s: skipped %s (what it removes is gone already)\n", sr.Product, line)
			case remediate.OutcomeDone:
				restart := ""
				if sr.RestartNeeded {
					restart = " (a restart is needed to finish it)"
				}
				fmt.Fprintf(stderr, "avscout remediate: %s: done%s; the host's verdict is now %s\n", sr.Product, restart, sr.Verdict)
			case remediate.OutcomeFailedHarmless:
				fmt.Fprintf(stderr, "avscout remediate: %s: failed, as it may (%s): %s; going on\n", sr.Product, sr.Step.Note, sr.Err)
			case remediate.OutcomeFailed:
				fmt.Fprintf(stderr, "avscout remediate: %s: FAILED: %s\n--- output ---\n%s\n--- end of output ---\n", sr.Product, sr.Err, sr.Output)
			}
		},
	})
	if err != nil {
		if errors.Is(err, remediate.ErrNotPlanned) {
			return fail("%v", err)
		}
		fmt.Fprintf(stderr, "avscout remediate: %v\n", err)
		return exitRestricted
	}
	if err := report.Render(stdout, res.Report, o.format); err != nil {
		return fail("write report: %v", err)
	}
	verdict := report.VerdictOf(res.Report)
	if res.RestartNeeded {
		fmt.Fprintln(stderr, "avscout remediate: Windows Installer asked for a restart: restart the host to finish the removal, then scan again")
	}
	switch {
	case res.Failed != nil:
		fmt.Fprintf(stderr, "avscout remediate: stopped at the failed step; the host is %s\n", verdict)
		return exitRestricted
	case verdict != report.VerdictCompliant:
		fmt.Fprintf(stderr, "avscout remediate: every step ran; the host is still %s\n", verdict)
		return exitRestricted
	}
	fmt.Fprintln(stderr, "avscout remediate: the host is compliant")
	return exitOK
}
