package host

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// liveProcesses lists this Mac's processes with two sysctls: kern.proc.all
// for every process's pid and name at once, then kern.procargs2 per
// process for its executable path and arguments. gopsutil, built without
// cgo, runs ps and lsof for each process on macOS instead, which takes
// seconds for a few hundred processes.
type liveProcesses struct{}

func newLiveProcesses() ProcessLister { return liveProcesses{} }

// Processes returns every process kern.proc.all lists. A process whose
// arguments cannot be read — another user's when not running as root, a
// zombie, one that exited meanwhile — is kept with its name alone. The
// executable path is kept only when absolute: exec records it as given.
// ctx is checked between processes.
func (liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("list processes: sysctl kern.proc.all: %w", err)
	}
	out := make([]Process, 0, len(kps))
	for i := range kps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		pid := kps[i].Proc.P_pid
		p := Process{PID: pid, Name: commName(kps[i].Proc.P_comm[:])}
		if pid > 0 {
			if b, err := unix.SysctlRaw("kern.procargs2", int(pid)); err == nil {
				pa, _ := ParseProcArgs2(b) // what was read before a cut is kept
				if strings.HasPrefix(pa.Exe, "/") {
					p.Exe = pa.Exe
				}
				p.Cmdline = strings.Join(pa.Args, " ")
			}
		}
		out = append(out, p)
	}
	return out, nil
}
