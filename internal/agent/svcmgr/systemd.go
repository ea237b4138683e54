package svcmgr

import (
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

// Systemd installs the service as a systemd unit file in UnitDir and
// controls it with systemctl.
type Systemd struct {
	Service unit.Service
	Exe     string // the agent binary's absolute path
	UnitDir string // where install writes the unit: /etc/systemd/system
	Runner  Runner
}

func (d *Systemd) unitName() string { return d.Service.Name + ".service" }

func (d *Systemd) unitPath() string { return filepath.Join(d.UnitDir, d.unitName()) }

// systemctl runs systemctl with args and fails when it does.
func (d *Systemd) systemctl(ctx context.Context, args ...string) error {
	return runTool(ctx, d.Runner, "systemctl", args...)
}

// Install writes the unit, which must not exist, and enables it (start
// at boot); it does not start it. A unit that systemd then refuses is
// removed again.
func (d *Systemd) Install(ctx context.Context) error {
	if err := writeUnit(unit.Systemd, d.Service, d.Exe, d.unitPath()); err != nil {
		return err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", d.unitName()}} {
		if err := d.systemctl(ctx, args...); err != nil {
			_ = d.systemctl(ctx, "disable", d.unitName()) // links a half-done enable made
			if rerr := os.Remove(d.unitPath()); rerr == nil {
				_ = d.systemctl(ctx, "daemon-reload") // forget it again; the error above says what failed
			}
			return err
		}
	}
	return nil
}

// Uninstall stops the service when it runs, disables it and removes the
// unit install wrote. A unit installed by a package (in /usr/lib) is the
// package's to remove: ErrNotInstalled.
func (d *Systemd) Uninstall(ctx context.Context) error {
	if _, err := os.Lstat(d.unitPath()); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no %s (a unit a package installed is removed with the package)", ErrNotInstalled, d.unitPath())
	}
	// Stop it first: systemd would keep running a unit whose file is
	// gone. When its state cannot be told, stop is tried all the same
	// (stopping a stopped unit does nothing).
	switch st, err := d.Status(ctx); {
	case err == nil && st == Running:
		if err := d.systemctl(ctx, "stop", d.unitName()); err != nil {
			return err
		}
	case err != nil:
		_ = d.systemctl(ctx, "stop", d.unitName()) // its state unknown; disable below says whether systemctl works
	}
	if err := d.systemctl(ctx, "disable", d.unitName()); err != nil {
		return err
	}
	if err := os.Remove(d.unitPath()); err != nil {
		return fmt.Errorf("remove unit: %w", err)
	}
	return d.systemctl(ctx, "daemon-reload")
}

// Start implements [Manager].
func (d *Systemd) Start(ctx context.Context) error { return d.systemctl(ctx, "start", d.unitName()) }

// Stop implements [Manager].
func (d *Systemd) Stop(ctx context.Context) error { return d.systemctl(ctx, "stop", d.unitName()) }

// Restart implements [Manager].
func (d *Systemd) Restart(ctx context.Context) error {
	return d.systemctl(ctx, "restart", d.unitName())
}

// Status asks systemctl is-active (which exits 3 for a unit that does not
// run), then, for one that does not run, whether systemd knows the unit at
// all: a LoadState of not-found is a unit that is not installed.
func (d *Systemd) Status(ctx context.Context) (Status, error) {
	out, _, _, err := d.Runner.Run(ctx, "systemctl", "is-active", d.unitName())
	if err != nil {
		return StatusUnknown, err
	}
	switch string(bytes.TrimSpace(out)) {
	case "active", "activating", "reloading", "refreshing":
		return Running, nil
	}
	// show -p prints "LoadState=…" (--value, which drops the name, is
	// systemd 230's: RHEL 7 has 219).
	args := []string{"show", "--property=LoadState", d.unitName()}
	out, stderr, code, err := d.Runner.Run(ctx, "systemctl", args...)
	if err != nil {
		return StatusUnknown, err
	}
	if code != 0 {
		return StatusUnknown, toolError("systemctl", args, code, out, stderr)
	}
	state, ok := strings.CutPrefix(string(bytes.TrimSpace(out)), "LoadState=")
	if !ok {
		return StatusUnknown, fmt.Errorf("systemctl %s: unexpected answer %q", strings.Join(args, " "), out)
	}
	switch state {
	case "not-found":
		return NotInstalled, nil
	case "loaded", "masked", "bad-setting", "error", "merged", "stub":
		return Stopped, nil
	default:
		return StatusUnknown, fmt.Errorf("systemctl: unit %s has load state %q", d.unitName(), state)
	}
}
