// Package processes is the "processes" source: what runs on the live host.
//
// A running process is the strongest evidence there is: it makes a product
// "active" whatever the package databases say, and it catches software
// installed outside any package manager, or under another brand but still
// running Kaspersky's binaries (avp.exe, kesl). The source only maps the
// process list of [host.Host.Processes] to observations; it knows no vendor.
// It is unavailable when scanning a root directory, which has no processes.
package processes

import (
	"context"
	"fmt"
	"strings"

	"github.com/avscout/avscout/internal/detect"
	"github.com/avscout/avscout/internal/host"
	"github.com/avscout/avscout/internal/text"
)

// MaxCmdline is how many bytes of a command line go into an observation's
// detail; longer ones are cut at a character boundary and end in "…".
const MaxCmdline = 512

// commLen is the length at which process names may have been truncated:
// Linux keeps 15 bytes of the executable's name (TASK_COMM_LEN - 1),
// macOS 16 (MAXCOMLEN).
const commLen = 15

// deletedSuffix is what Linux appends to /proc/<pid>/exe when the running
// executable was deleted or replaced (an upgrade, an uninstall).
const deletedSuffix = " (deleted)"

// Source lists running processes.
type Source struct{}

// New returns the processes source.
func New() *Source { return &Source{} }

// Name implements [detect.Source].
func (*Source) Name() string { return "processes" }

// Collect implements [detect.Source]. It emits one [detect.KindProcess]
// observation, status Running, per process, leaving out kernel threads
// (no executable and no command line). When the lister fails part way, what
// it listed is emitted and its error returned.
func (s *Source) Collect(ctx context.Context, h *host.Host, emit func(detect.Observation)) error {
	if h.Processes == nil {
		return fmt.Errorf("processes: %w: %w", detect.ErrUnavailable, host.ErrNotLive)
	}
	list, lerr := h.Processes.Processes(ctx)
	for _, p := range list {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("processes: %w", err)
		}
		if o, ok := Observe(h.OS, p); ok {
			emit(o)
		}
	}
	if lerr != nil {
		return fmt.Errorf("processes: list: %w", lerr)
	}
	return nil
}

// Observe maps one process of a target running o to an observation. It
// returns false for kernel threads, which have neither an executable nor a
// command line.
//
// The observation's Name is the process name, except that a name the
// kernel truncated (15 bytes on Linux, 16 on macOS) is replaced by the base
// name of the executable it is a prefix of: comm "klnagent_srv_da" of
// /opt/kaspersky/klnagent_srv_daemon is reported as "klnagent_srv_daemon",
// so the catalog can match full names. A Linux executable that was deleted
// while running keeps its path in Path, and the detail says "(deleted)".
func Observe(o host.OS, p host.Process) (detect.Observation, bool) {
	exe := p.Exe
	deleted := false
	if o == host.Linux && strings.HasSuffix(exe, deletedSuffix) {
		exe, deleted = strings.TrimSuffix(exe, deletedSuffix), true
	}
	cmdline := strings.TrimSpace(p.Cmdline)
	if exe == "" && cmdline == "" {
		return detect.Observation{}, false
	}
	name := fullName(o, p.Name, exe)

	var b strings.Builder
	fmt.Fprintf(&b, "%s (pid %d)", name, p.PID)
	if exe != "" {
		b.WriteString(" ")
		b.WriteString(exe)
		if deleted {
			b.WriteString(deletedSuffix)
		}
	}
	if cmdline != "" {
		b.WriteString(": ")
		b.WriteString(text.Clip(clean(cmdline), MaxCmdline))
	}
	return detect.Observation{
		Kind:     detect.KindProcess,
		Status:   detect.Running,
		Name:     name,
		Path:     exe,
		Location: fmt.Sprintf("process %d", p.PID),
		Detail:   b.String(),
	}, true
}

// fullName undoes the kernel's truncation of name using the executable's
// base name, and names a process without a name after its executable.
func fullName(o host.OS, name, exe string) string {
	base := baseName(o, exe)
	switch {
	case name == "":
		return base
	case len(name) >= commLen && len(base) > len(name) && strings.HasPrefix(base, name):
		return base
	}
	return name
}

// baseName is the last element of an executable path of a target running
// o: Windows paths use either separator, others only "/".
func baseName(o host.OS, exe string) string {
	seps := "/"
	if o == host.Windows {
		seps = `/\`
	}
	return exe[strings.LastIndexAny(exe, seps)+1:]
}

// clean turns control characters (newlines in a command line) into spaces
// so a detail stays on one line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
