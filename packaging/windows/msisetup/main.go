// Command avscout-msi-setup does the two install steps of the avscout MSI
// that Windows Installer tables written by wixl cannot express: it writes
// the agent's first configuration from the MSI properties COLLECTOR_URL,
// COLLECTOR_TOKEN and TAGS, and it gives the service the recovery actions
// and delayed start that `avscout service install` sets.
//
// It exists because wixl (msitools 0.101, the MSI compiler available on
// Debian 12) has no way to write a file from property values, ignores
// Component/@NeverOverwrite (the MSI must seed the config on the first
// install only and keep it on upgrades and reinstalls) and has no
// util:ServiceConfig. The MSI carries this
// program in its Binary table (it is not installed) and runs it as a
// deferred, non-impersonated custom action, i.e. as LocalSystem, before the
// service starts (between InstallServices and StartServices). See
// packaging/windows/README.md.
//
// Configuration:
//   - the config file already exists: nothing is changed (exit 0);
//   - no property was given: nothing is written, the agent runs on its
//     defaults (scan and keep state, no delivery) (exit 0);
//   - else the token goes to a token file next to the config, the config
//     names it, both get a private ACL (SYSTEM and Administrators only),
//     and the result is checked with the agent's own config loader; on a
//     bad value both files are removed again (exit 1, the install fails
//     and rolls back, the reason is on stderr and in the MSI log's
//     custom-action return code; see main for where the reason goes).
//   - the config folder exists but is a junction or symbolic link, or is
//     not owned by SYSTEM or Administrators, or a kept config or token file
//     is not: refused (exit 1), nothing is trusted or changed; a value
//     with a double quote or a trailing backslash, which the custom
//     action's command line cannot carry: refused (exit 1).
//
// Service (with --service NAME): restart 30 s after a failure, failure
// count reset after a day, as internal/agent/svcmgr sets them; a failure to set
// them fails the install. Delayed automatic start is asked for too, and a
// refusal (Wine) is only reported, as `avscout service install` does.
//
// Removal (with --wait-exit LIMIT [--service NAME], run between
// StopServices and DeleteServices): stops the service if it still runs,
// then waits until no process runs the agent's executable, so that its file
// can be deleted; after LIMIT it gives up with a note (the file goes at the
// next reboot) rather than fail the removal.
//
// Purge (with --purge, run on removal when PURGE=1, not in an upgrade):
// deletes the config folder with everything in it, the enrollment token
// included; a state_dir or log file configured elsewhere is not chased.
//
// Exit codes: 0 done, 1 bad value or I/O or SCM error, 2 usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/avscout/avscout/internal/config"
	"github.com/avscout/avscout/internal/winpath"
)

func main() {
	// The helper is built for the GUI subsystem (-H windowsgui): as a
	// console program, run as SYSTEM in a repair that any user can start
	// (msiexec /fa), it would open a SYSTEM console on the user's desktop.
	// It has no console then, and Windows Installer does not capture an
	// EXE custom action's output anyway (the MSI log has its exit code):
	// what it says also goes to the Application event log, source avscout.
	stdout, stderr, done := outputs()
	code := run(os.Args[1:], stdout, stderr)
	done()
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("avscout-msi-setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s seed
	fs.StringVar(&s.configPath, "config", config.DefaultPath(config.Windows), "config `FILE` to create")
	fs.StringVar(&s.url, "url", "", "collector `URL` (MSI property COLLECTOR_URL)")
	fs.StringVar(&s.token, "token", "", "enrollment `TOKEN` (MSI property COLLECTOR_TOKEN)")
	fs.StringVar(&s.tags, "tags", "", "report tags `k=v,k2=v2` (MSI property TAGS)")
	service := fs.String("service", "", "service `NAME` to give recovery actions and delayed start (empty: none)")
	wait := fs.Duration("wait-exit", 0, "on removal: stop --service, wait up to `LIMIT` for it and the agent's processes to exit, and do nothing else")
	purgeFlag := fs.Bool("purge", false, "on removal with PURGE=1: delete the config folder "+winpath.Dir(config.DefaultPath(config.Windows))+" (config, token, state, spool, logs), and do nothing else")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "avscout-msi-setup: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *wait > 0 {
		// One limit for both steps. A service that cannot be stopped
		// (or is already stopping) does not skip the wait for its
		// process: that wait is what lets RemoveFiles delete the file.
		deadline := time.Now().Add(*wait)
		code := 0
		if *service != "" {
			res, err := stopService(*service, *wait)
			if err != nil {
				fmt.Fprintf(stderr, "avscout-msi-setup: %v\n", err)
				code = 1
			} else {
				fmt.Fprintf(stdout, "avscout-msi-setup: %s\n", res)
			}
		}
		res, err := waitExit(max(time.Until(deadline), time.Second))
		if err != nil {
			fmt.Fprintf(stderr, "avscout-msi-setup: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "avscout-msi-setup: %s\n", res)
		return code
	}
	if *purgeFlag {
		dir := winpath.Dir(s.configPath)
		if err := purge(dir); err != nil {
			fmt.Fprintf(stderr, "avscout-msi-setup: purge %s: %v\n", dir, err)
			return 1
		}
		fmt.Fprintf(stdout, "avscout-msi-setup: purged %s\n", dir)
		return 0
	}
	if err := checkCommandLine(rawCommandLine()); err != nil {
		fmt.Fprintf(stderr, "avscout-msi-setup: %v\n", err)
		return 1
	}
	res, err := s.apply(osFS{})
	if err != nil {
		fmt.Fprintf(stderr, "avscout-msi-setup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "avscout-msi-setup: %s\n", res)
	if *service != "" {
		note, err := configureService(*service)
		if err != nil {
			fmt.Fprintf(stderr, "avscout-msi-setup: service %s: %v\n", *service, err)
			return 1
		}
		if note != "" {
			fmt.Fprintf(stderr, "avscout-msi-setup: service %s: note: %s\n", *service, note)
		}
		fmt.Fprintf(stdout, "avscout-msi-setup: service %s: recovery actions set\n", *service)
	}
	return 0
}
