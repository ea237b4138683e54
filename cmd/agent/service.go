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

	"github.com/kardianos/service"

	svcunit "github.com/avscout/avscout/internal/agent/unit"
)

// serviceConfig is the service library's description of the installed
// service: svcunit.For's, with our unit files instead of the library's.
func serviceConfig(goos, configPath string) *service.Config {
	u := svcunit.For(goos, configPath)
	return &service.Config{
		Name:        u.Name,
		DisplayName: u.DisplayName,
		Description: u.Description,
		Arguments:   u.Arguments,
		Option: service.KeyValue{
			"SystemdScript": svcunit.Systemd.Template(),
			"LaunchdConfig": svcunit.Launchd.Template(),
			// Windows: restart after a crash (30 s, counter reset daily).
			// (Delayed start is set after install: see afterInstall.)
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "30s",
			"OnFailureResetPeriod":   86400,
		},
	}
}

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
	cfg := serviceConfig(runtime.GOOS, *cfgPath)
	s, err := service.New(controlOnly{}, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "avscout service %s: %v\n", sub, err)
		return exitUsage
	}
	switch sub {
	case "status":
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled),
			// No service manager that could answer (no systemd, or no
			// systemctl or service tool), and no unit it would have read.
			err != nil && !unitInstalled(runtime.GOOS, cfg.Name):
			fmt.Fprintln(stdout, "not installed")
			return exitNotRunning
		case err != nil:
			fmt.Fprintf(stderr, "avscout service status: %v\n", err)
			return exitUsage
		case st == service.StatusRunning:
			fmt.Fprintln(stdout, "running")
			return exitOK
		case st == service.StatusStopped:
			fmt.Fprintln(stdout, "stopped")
			return exitNotRunning
		default:
			fmt.Fprintln(stdout, "unknown")
			return exitNotRunning
		}
	case "install", "uninstall", "start", "stop", "restart":
		if sub == "install" && *cfgPath != "" {
			// Refuse to install a service that could not start.
			if _, err := loadConfig(*cfgPath, true); err != nil {
				fmt.Fprintf(stderr, "avscout service install: %v\n", err)
				return exitUsage
			}
		}
		if err := service.Control(s, sub); err != nil {
			fmt.Fprintf(stderr, "avscout service %s: %v\n", sub, err)
			return exitUsage
		}
		if sub == "install" {
			if note := afterInstall(cfg.Name); note != "" {
				fmt.Fprintf(stderr, "avscout service install: note: %s\n", note)
			}
		}
		fmt.Fprintf(stdout, "avscout service %s: done (%s)\n", sub, cfg.Name)
		return exitOK
	}
	fmt.Fprintf(stderr, "avscout service: unknown command %q (want install, uninstall, start, stop, restart, status or run)\n", sub)
	return exitUsage
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

// controlOnly is what the service library needs to install, start, stop
// and query the service from the command line. It never runs the loop:
// the service manager starts `avscout service run`, which does (see
// servicerun.go and internal/agent and, on Windows, scm_windows.go).
type controlOnly struct{}

// Start implements service.Interface.
func (controlOnly) Start(service.Service) error { return nil }

// Stop implements service.Interface.
func (controlOnly) Stop(service.Service) error { return nil }
