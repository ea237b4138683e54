// Command avscout finds antivirus and endpoint-security software on a
// machine and says, with evidence, whether anything restricted is there.
//
// This file only wires flags to the internal packages; see
// ../../README.md for usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	// Initialised among the first packages, it maps in at once the
	// program's read-only memory and the heap's first pages: see its doc
	// for why.
	_ "github.com/avscout/avscout/internal/pretouch"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, part of the CLI contract (DESIGN.md).
const (
	exitOK         = 0
	exitRestricted = 1 // also: a condition named by --fail-on holds
	exitUsage      = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "scan":
		return runScan(ctx, rest, stdout, stderr)
	case "catalog":
		err = runCatalog(rest, stdout, stderr)
	case "service":
		return interruptible(ctx, rest, stdout, stderr, runService)
	case "status":
		return runStatus(rest, stdout, stderr)
	case "config":
		return runConfig(rest, stdout, stderr)
	case "verify":
		return runVerify(rest, stdout, stderr)
	case "remediate":
		return interruptible(ctx, rest, stdout, stderr, runRemediate)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "avscout %s\n", version)
	case "help", "-h", "--help", "-help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "avscout: unknown command %q\n\n", cmd)
		usage(stderr)
		return exitUsage
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "avscout: %v\n", err)
		}
		return exitUsage
	}
	return exitOK
}

// interruptible runs cmd with a context that an interrupt (Ctrl-C)
// cancels, for the commands that act on one: remediate stops the step it
// runs and goes no further, and service hands it to the service loop and
// to the service manager's tools. Other commands keep the default, and an
// interrupt ends them at once, as it ends dpkg-query or ps: a handler
// costs every run a thread of its own, 1.9 ms of a live scan's time and
// 5 ms of its CPU on a 2-core VM (150 alternated runs), and an
// interrupted scan has nothing to save.
func interruptible(ctx context.Context, args []string, stdout, stderr io.Writer,
	cmd func(context.Context, []string, io.Writer, io.Writer) int) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return cmd(ctx, args, stdout, stderr)
}

// errReported marks an error already printed (by the flag package).
var errReported = errors.New("reported")

func usage(w io.Writer) {
	fmt.Fprint(w, `avscout finds antivirus and endpoint-security software and flags restricted
(Kaspersky, incl. white-labelled) products.

Usage:
  avscout scan [--format table|json|jamf] [--output FILE] [--root DIR] [--os linux|windows|darwin]
               [--catalog FILE] [--fail-on restricted[,incomplete]] [--sources a,b,…]
               [--sign [--config FILE]]   (with --output FILE --format json: write FILE.sig)
  avscout remediate --plan [--format table|json] [--root DIR --os linux|windows|darwin] [--catalog FILE]
                   (how to remove each restricted product found; runs nothing)
  avscout remediate --execute [--product ID] [--yes] [--format table|json|jamf]
                   (run that plan on this machine, a scan after each step; exit 0 when compliant at the end)
  avscout verify [--key FINGERPRINT] [--signature FILE.sig] FILE|BUNDLE   (check a signed report or a collector audit bundle, offline)
  avscout catalog [--format table|json] [--catalog FILE]
  avscout service install|uninstall|start|stop|restart|status [--config FILE]
  avscout service run [--config FILE] [--once]    (what the service manager runs)
  avscout service unit --init systemd|launchd --path BIN [--config FILE]   (print the unit install writes)
  avscout status [--format table|json|intune-remediation|intune-compliance|jamf] [--public] [--config FILE]
  avscout config show [--config FILE]
  avscout version

Exit codes: 0 scan completed; 1 with --fail-on when a condition it names holds
(restricted: a restricted product is installed or active; incomplete: the
verdict is incomplete, a source that could have seen one failed or timed out);
2 usage or configuration error; 1 from verify when the report is not the one
signed or not by the --key given; 3 from status commands when the service is not
running or has not scanned yet.
`)
}
