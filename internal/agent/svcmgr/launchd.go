package svcmgr

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/avscout/avscout/internal/agent/unit"
)

// Launchd installs the service as a launch daemon (a property list in
// Dir) and controls it in launchd's system domain with launchctl's
// bootstrap, bootout, kickstart and print (launchctl(1)).
type Launchd struct {
	Service unit.Service
	Exe     string // the agent binary's absolute path
	Dir     string // where install writes the plist: /Library/LaunchDaemons
	Runner  Runner
}

func (l *Launchd) plistPath() string { return filepath.Join(l.Dir, l.Service.Name+".plist") }

// target is the service in the system domain, as launchctl names it.
func (l *Launchd) target() string { return "system/" + l.Service.Name }

func (l *Launchd) launchctl(ctx context.Context, args ...string) error {
	return runTool(ctx, l.Runner, "launchctl", args...)
}

// Install writes the daemon's plist, which must not exist. launchd loads
// it at the next boot; Start loads it now.
func (l *Launchd) Install(context.Context) error {
	return writeUnit(unit.Launchd, l.Service, l.Exe, l.plistPath())
}

// Uninstall unloads the daemon when launchd has it and removes the plist.
func (l *Launchd) Uninstall(ctx context.Context) error {
	if _, err := os.Lstat(l.plistPath()); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no %s", ErrNotInstalled, l.plistPath())
	}
	loaded, _, err := l.print(ctx)
	if err != nil {
		return err
	}
	if loaded {
		if err := l.launchctl(ctx, "bootout", l.target()); err != nil {
			return err
		}
	}
	if err := os.Remove(l.plistPath()); err != nil {
		return fmt.Errorf("remove plist: %w", err)
	}
	return nil
}

// Start loads the daemon (which runs it: the plist says RunAtLoad), or
// starts it when launchd has it loaded already.
func (l *Launchd) Start(ctx context.Context) error { return l.kickstart(ctx) }

// Restart kills and starts the loaded daemon, or loads it.
func (l *Launchd) Restart(ctx context.Context) error { return l.kickstart(ctx, "-k") }

// kickstart runs launchctl kickstart with flags on the loaded daemon, or
// loads it.
func (l *Launchd) kickstart(ctx context.Context, flags ...string) error {
	loaded, _, err := l.print(ctx)
	switch {
	case err != nil:
		return err
	case loaded:
		return l.launchctl(ctx, append(append([]string{"kickstart"}, flags...), l.target())...)
	}
	return l.load(ctx)
}

// load loads the installed daemon, enabled (`launchctl disable` keeps a
// label from loading, across reboots, until it is enabled again).
func (l *Launchd) load(ctx context.Context) error {
	if _, err := os.Lstat(l.plistPath()); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no %s", ErrNotInstalled, l.plistPath())
	}
	if err := l.launchctl(ctx, "enable", l.target()); err != nil {
		return err
	}
	return l.launchctl(ctx, "bootstrap", "system", l.plistPath())
}

// Stop unloads the daemon: launchd would restart a process merely killed
// (KeepAlive). One that is not loaded is stopped already.
func (l *Launchd) Stop(ctx context.Context) error {
	loaded, _, err := l.print(ctx)
	if err != nil || !loaded {
		return err
	}
	return l.launchctl(ctx, "bootout", l.target())
}

// Status implements [Manager]: running when launchd has the daemon loaded
// in state running; stopped when loaded otherwise, or when only its plist
// is there; not installed else.
func (l *Launchd) Status(ctx context.Context) (Status, error) {
	loaded, running, err := l.print(ctx)
	switch {
	case err != nil:
		return StatusUnknown, err
	case running:
		return Running, nil
	case loaded:
		return Stopped, nil
	}
	if _, err := os.Lstat(l.plistPath()); err == nil {
		return Stopped, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return StatusUnknown, fmt.Errorf("plist: %w", err)
	}
	return NotInstalled, nil
}

// notFound is launchctl's exit code for a service the domain does not
// have (113, "Could not find service").
const notFound = 113

// print asks launchctl print for the daemon: whether launchd has it
// loaded, and whether it runs.
func (l *Launchd) print(ctx context.Context) (loaded, running bool, err error) {
	out, stderr, code, err := l.Runner.Run(ctx, "launchctl", "print", l.target())
	switch {
	case err != nil:
		return false, false, err
	case code == notFound:
		return false, false, nil
	case code != 0:
		return false, false, toolError("launchctl", []string{"print", l.target()}, code, out, stderr)
	}
	return true, printState(out) == "running", nil
}

// printState is the service's state in launchctl print's output: the
// first "state = …" line of its top-level block.
func printState(out []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		// Top-level properties are indented by one tab; nested blocks
		// (endpoints, environment) by more.
		if !strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "\t\t") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && k == "state" {
			return v
		}
	}
	return ""
}
