//go:build !darwin && !windows

package host

import (
	"context"
	"fmt"
	"strings"

	"github.com/shirou/gopsutil/v3/process"
)

// liveProcesses lists this machine's processes through gopsutil.
type liveProcesses struct{}

func newLiveProcesses() ProcessLister { return liveProcesses{} }

// Processes returns every process it can see. A process that exits while
// being read, or whose name is denied, is left out; one whose executable or
// command line is denied is kept with what could be read.
//
// It lists process ids and reads each one through a bare process.Process
// rather than calling process.Processes: that one also checks that each pid
// exists and reads its creation time, and so the boot time, for every
// process (on Linux: a pidfd, four stats and two more file reads each),
// which more than doubles the cost of a listing that needs none of it.
func (liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make([]Process, 0, len(pids))
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		p := &process.Process{Pid: pid}
		name, err := p.NameWithContext(ctx)
		if err != nil {
			continue // gone, or a process we may not read at all
		}
		exe, _ := p.ExeWithContext(ctx)
		args, _ := p.CmdlineSliceWithContext(ctx)
		out = append(out, Process{PID: pid, Name: name, Exe: exe, Cmdline: strings.Join(args, " ")})
	}
	return out, nil
}
