package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/avscout/avscout/internal/agent/svcmgr"
	svcunit "github.com/avscout/avscout/internal/agent/unit"
)

// runService handles `avscout service …`.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "avscout service: want install, uninstall, start, stop, restart, status or run")
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "run":
		return runServiceRun(ctx, rest, stdout, stderr)
	case "unit":
		return runServiceUnit(rest, stdout, stderr)
	}
	fs := newFlags("service " + sub)
	cfgPath := fs.String("config", "", "config `FILE` the installed service reads (default: the OS's standard path)")
	if code, ok := parseFlags(fs, serviceSummary(sub), rest, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "avscout service %s: unexpected argument %q\n", sub, fs.Arg(0))
		return exitUsage
	}
	action := serviceAction(sub)
	if sub != "status" && action == nil {
		fmt.Fprintf(stderr, "avscout service: unknown command %q (want install, uninstall, start, stop, restart, status or run)\n", sub)
		return exitUsage
	}
	svc := svcunit.For(runtime.GOOS, *cfgPath)
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "avscout service %s: this program's path: %v\n", sub, err)
		return exitUsage
	}
	m, err := svcmgr.New(runtime.GOOS, svc, exe)
	if sub == "status" {
		var st svcmgr.Status
		if err == nil {
			st, err = m.Status(ctx)
		}
		switch {
		// No service manager that could answer (no systemd), and no unit
		// it would have read.
		case err != nil && !unitInstalled(runtime.GOOS, svc.Name):
			st = svcmgr.NotInstalled
		case err != nil:
			fmt.Fprintf(stderr, "avscout service status: %v\n", err)
			return exitUsage
		}
		fmt.Fprintln(stdout, st)
		if st == svcmgr.Running {
			return exitOK
		}
		return exitNotRunning
	}
	if err != nil {
		fmt.Fprintf(stderr, "avscout service %s: %v\n", sub, err)
		return exitUsage
	}
	if sub == "install" && *cfgPath != "" {
		// Refuse to install a service that could not start.
		if _, err := loadConfig(*cfgPath, true); err != nil {
			fmt.Fprintf(stderr, "avscout service install: %v\n", err)
			return exitUsage
		}
	}
	if err := action(m, ctx); err != nil {
		fmt.Fprintf(stderr, "avscout service %s: %v\n", sub, err)
		return exitUsage
	}
	if sub == "install" {
		if note := afterInstall(svc.Name); note != "" {
			fmt.Fprintf(stderr, "avscout service install: note: %s\n", note)
		}
	}
	fmt.Fprintf(stdout, "avscout service %s: done (%s)\n", sub, svc.Name)
	return exitOK
}

// serviceAction is the Manager method of the `service` command sub that
// acts on the installed service, nil for none.
func serviceAction(sub string) func(svcmgr.Manager, context.Context) error {
	switch sub {
	case "install":
		return svcmgr.Manager.Install
	case "uninstall":
		return svcmgr.Manager.Uninstall
	case "start":
		return svcmgr.Manager.Start
	case "stop":
		return svcmgr.Manager.Stop
	case "restart":
		return svcmgr.Manager.Restart
	}
	return nil
}

// runServiceUnit handles `avscout service unit --init systemd|launchd`:
// it prints the unit file `service install` writes, for packages that
// install the file themselves (the .deb and .rpm ship the systemd unit,
// the macOS .pkg the launchd plist).
func runServiceUnit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("service unit")
	initSystem := fs.String("init", "", "service manager: systemd or launchd")
	path := fs.String("path", "", "absolute `PATH` of the installed agent binary")
	cfgPath := fs.String("config", "", "config `FILE` the service reads (default: the OS's standard path)")
	if code, ok := parseFlags(fs, "Prints the unit file `service install` writes.", args, stdout, stderr); !ok {
		return code
	}
	init, err := svcunit.ParseInit(*initSystem)
	if err != nil {
		fmt.Fprintf(stderr, "avscout service unit: --init: %v\n", err)
		return exitUsage
	}
	if !strings.HasPrefix(*path, "/") || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "avscout service unit: want --path with the binary's absolute path, and no arguments")
		return exitUsage
	}
	out, err := svcunit.Render(init, svcunit.For(init.GOOS(), *cfgPath), *path)
	if err != nil {
		fmt.Fprintf(stderr, "avscout service unit: %v\n", err)
		return exitUsage
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		fmt.Fprintf(stderr, "avscout service unit: write the unit: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// serviceSummary says what `avscout service <sub>` does, for its help.
func serviceSummary(sub string) string {
	switch sub {
	case "status":
		return "Says whether the service is running, stopped or not installed (exit 0, 3, 3)."
	case "install":
		return "Installs the service with the OS's service manager (systemd, launchd, the Windows SCM)."
	}
	return "Runs " + sub + " on the installed service through the OS's service manager."
}

// unitInstalled reports whether a unit file for name exists, or cannot be
// ruled out (an OS without unit files).
func unitInstalled(goos, name string) bool {
	files := svcunit.Paths(goos, name)
	if files == nil {
		return true
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// exitNotRunning is `service status`'s answer for a service that is
// installed but stopped, or not installed (the LSB convention is 3).
const exitNotRunning = 3
