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
// being read, or whose details are denied, is kept with what could be read.
func (liveProcesses) Processes(ctx context.Context) ([]Process, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make([]Process, 0, len(ps))
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		name, err := p.NameWithContext(ctx)
		if err != nil {
			continue // gone, or a kernel thread we cannot read
		}
		exe, _ := p.ExeWithContext(ctx)
		args, _ := p.CmdlineSliceWithContext(ctx)
		out = append(out, Process{PID: p.Pid, Name: name, Exe: exe, Cmdline: strings.Join(args, " ")})
	}
	return out, nil
}
