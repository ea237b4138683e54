// Package svcmgr installs the agent's service with the machine's service
// manager — systemd on Linux, launchd on macOS, the service control manager
// on Windows — and starts, stops and queries it.
//
// It exists so that `avscout service install|uninstall|start|stop|restart|
// status` needs no service library: such a library chooses its service
// manager when the program starts, probing the search path for a dozen
// tools on every run of every command, and a one-off scan would pay for
// it. Here nothing happens until a service command asks. systemd and
// launchd are driven through their command-line tools behind [Runner],
// so their logic is tested on any OS with recorded answers; the SCM is
// driven through its API on Windows (and tested under Wine).
package svcmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/avscout/avscout/internal/agent/unit"
)

// Status is what the service manager says of the service.
type Status int

// The states `avscout service status` reports.
const (
	StatusUnknown Status = iota
	Running
	Stopped
	NotInstalled
)

func (s Status) String() string {
	switch s {
	case Running:
		return "running"
	case Stopped:
		return "stopped"
	case NotInstalled:
		return "not installed"
	}
	return "unknown"
}

var (
	// ErrNotInstalled means the service is not installed (or, for
	// uninstall, was not installed by `service install`).
	ErrNotInstalled = errors.New("not installed")
	// ErrInstalled means install found the service already there.
	ErrInstalled = errors.New("already installed")
	// ErrNoManager means this machine runs no service manager the agent
	// knows how to drive.
	ErrNoManager = errors.New("no supported service manager")
)

// Manager installs and controls the agent's service.
type Manager interface {
	Install(ctx context.Context) error
	Uninstall(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
	Status(ctx context.Context) (Status, error)
}

// Runner runs a service manager's command-line tool. It returns what the
// command wrote to its standard output and to its standard error, and its
// exit code; err is for a command that could not be run at all (not
// found, killed at the context's end). Answers are parsed from standard
// output alone: a warning on standard error does not change them.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) (stdout, stderr []byte, code int, err error)
}

// ExecRunner runs tools found on the search path.
type ExecRunner struct{}

// maxOutput bounds what is kept of a tool's output: the answers parsed
// are a few lines.
const maxOutput = 64 << 10

// Run implements [Runner].
func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, []byte, int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return stdout.Bytes(), stderr.Bytes(), exit.ExitCode(), nil
	}
	if err != nil {
		return stdout.Bytes(), stderr.Bytes(), -1, fmt.Errorf("run %s: %w", name, err)
	}
	return stdout.Bytes(), stderr.Bytes(), 0, nil
}

// limitedBuffer keeps the first maxOutput bytes written to it. (It
// has no ReadFrom, which io.Copy would use instead of Write.)
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte { return l.b }

// New returns the service manager of this machine, whose OS is goos
// (runtime.GOOS), for the service s of the program at exe.
func New(goos string, s unit.Service, exe string) (Manager, error) {
	switch goos {
	case "linux":
		// systemd's own test (sd_booted(3)): it runs when this exists.
		if fi, err := os.Stat("/run/systemd/system"); err != nil || !fi.IsDir() {
			err := fmt.Errorf("%w: systemd is not running (no /run/systemd/system); start `%s service run` with this machine's service manager (`avscout service unit --init systemd` prints the unit for a systemd machine)", ErrNoManager, exe)
			for _, p := range unit.Paths(goos, s.Name)[1:] {
				if _, serr := os.Lstat(p); serr == nil {
					// Earlier versions, through a service library,
					// installed an init script on such machines.
					err = fmt.Errorf("%w; %s, installed by an earlier version, is this machine's to run and remove (stop it with it, then delete it and its start links)", err, p)
				}
			}
			return nil, err
		}
		return &Systemd{Service: s, Exe: exe, UnitDir: "/etc/systemd/system", Runner: ExecRunner{}}, nil
	case "darwin":
		return &Launchd{Service: s, Exe: exe, Dir: "/Library/LaunchDaemons", Runner: ExecRunner{}}, nil
	case "windows":
		return newSCM(s, exe)
	}
	return nil, fmt.Errorf("%w on %s", ErrNoManager, goos)
}

// runTool runs the tool name with args through r and fails when it
// cannot run or exits non-zero, with what it printed.
func runTool(ctx context.Context, r Runner, name string, args ...string) error {
	stdout, stderr, code, err := r.Run(ctx, name, args...)
	if err != nil {
		return err
	}
	if code != 0 {
		return toolError(name, args, code, stdout, stderr)
	}
	return nil
}

// writeUnit writes the unit file of s for init, running exe, at path,
// which must not exist yet. It is readable by all: service managers
// read them as root, and admins inspect them.
func writeUnit(init unit.Init, s unit.Service, exe, path string) error {
	text, err := unit.Render(init, s, exe)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s exists", ErrInstalled, path)
	}
	if err != nil {
		return fmt.Errorf("write unit: %w", err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write unit %s: %w", path, err)
	}
	return nil
}

// toolError says what a tool that exited non-zero printed.
func toolError(name string, args []string, code int, stdout, stderr []byte) error {
	msg := string(bytes.TrimSpace(stderr))
	if msg == "" {
		msg = string(bytes.TrimSpace(stdout))
	}
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return fmt.Errorf("%s %s: exit %d: %s", name, strings.Join(args, " "), code, msg)
}
